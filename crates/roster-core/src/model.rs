//! The normalized account: what a provider reads and what the planner compares.
//!
//! Everything here refers to roles, teams and queues by *name*. Providers translate
//! names to the vendor's account-specific IDs at the edge, so plans stay readable and
//! never carry IDs from one account to another.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Whether a user holds a seat.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Can log in and holds a billable seat.
    Active,
    /// Deactivated: keeps its history, holds no seat.
    Inactive,
}

impl Status {
    /// The lowercase wire and roster spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Inactive => "inactive",
        }
    }
}

/// Per-user Talkdesk Phone settings; every field is optional so that a roster manages
/// only what it declares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneSettings {
    /// Phone extension (digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    /// Outbound caller ID, an E.164 number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_id: Option<String>,
    /// Assigned numbers (DIDs), E.164.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numbers: Option<Vec<String>>,
    /// Assigned SIP phone IDs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_phones: Option<Vec<String>>,
    /// Call waiting on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_waiting: Option<bool>,
    /// Call forwarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_forward: Option<CallForward>,
    /// ISO 3166-1 alpha-2 country used to read local numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_country_code: Option<String>,
    /// Do not disturb on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub do_not_disturb: Option<bool>,
}

/// Call forwarding: on needs a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallForward {
    /// Whether calls are forwarded.
    pub enabled: bool,
    /// Destination, an E.164 number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
}

/// A live user as the planner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// The vendor's immutable ID.
    pub id: String,
    /// Login email, unique in the account.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role name (None when the provider cannot read roles).
    pub role: Option<String>,
    /// Seat status.
    pub status: Status,
    /// Invited and not confirmed yet: holds a seat, cannot log in.
    #[serde(default)]
    pub pending: bool,
    /// Team names.
    pub teams: Names,
    /// Queue names.
    pub queues: Names,
    /// Extension.
    pub extension: Option<String>,
    /// IANA time zone.
    pub time_zone: Option<String>,
    /// BCP 47 language tag.
    pub language: Option<String>,
    /// Add-on licenses held.
    pub addons: Names,
    /// Phone settings, read only for users whose roster declares them.
    pub phone: Option<Box<PhoneSettings>>,
    /// Set when another system (an IdP over SCIM) manages this user.
    pub external_id: Option<String>,
    /// The vendor's last-modified stamp, used as the change precondition.
    pub updated_at: Option<String>,
}

/// A role, team or queue as read from the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Named {
    /// The vendor's ID.
    pub id: String,
    /// The display name that rosters refer to.
    pub name: String,
}

/// An add-on license and its entitlement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addon {
    /// Add-on name, e.g. `salesforce`.
    pub name: String,
    /// Seats the contract allows.
    pub entitlement: u32,
}

/// The live account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// Roles (empty when the provider cannot read them).
    pub roles: Vec<Named>,
    /// Teams.
    pub teams: Vec<Named>,
    /// Queues.
    pub queues: Vec<Named>,
    /// Every user, active or not.
    pub users: Vec<User>,
    /// Add-on entitlements known to the account.
    pub addons: Vec<Addon>,
    /// Purchased numbers (DIDs) that can be assigned, E.164; read only when a roster
    /// declares phone settings.
    pub phone_numbers: Vec<String>,
    /// SIP phone IDs that can be assigned; read only when a roster declares phone
    /// settings.
    pub phone_devices: Vec<String>,
}

/// A sorted set of names (a user's teams, queues or add-ons), kept as a sorted vector.
///
/// Most users hold one or two of each; a `BTreeSet` spends a 280-byte node on that,
/// which is 28 MiB per field at 100,000 users. Serialized as a list, like a set.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Names(Vec<String>);

impl Names {
    /// No names.
    pub const fn new() -> Names {
        Names(Vec::new())
    }

    /// Whether `name` is held.
    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    /// Adds `name`; false when it was already held.
    pub fn insert(&mut self, name: String) -> bool {
        match self.find(&name) {
            Ok(_) => false,
            Err(at) => {
                // Grown one at a time: most users hold one or two names.
                self.0.reserve_exact(1);
                self.0.insert(at, name);
                true
            }
        }
    }

    /// Removes `name`; false when it was not held.
    pub fn remove(&mut self, name: &str) -> bool {
        match self.find(name) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    /// The names in order.
    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }

    /// How many names.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The names held here and not in `other`, in order.
    pub fn difference<'a>(&'a self, other: &'a Names) -> impl Iterator<Item = &'a String> + 'a {
        self.0.iter().filter(|n| !other.contains(n))
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|n| n.as_str().cmp(name))
    }
}

impl FromIterator<String> for Names {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Names {
        let mut v: Vec<String> = iter.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        v.shrink_to_fit();
        Names(v)
    }
}

impl Extend<String> for Names {
    fn extend<I: IntoIterator<Item = String>>(&mut self, iter: I) {
        for name in iter {
            self.insert(name);
        }
    }
}

impl<'a> IntoIterator for &'a Names {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Names {
    type Item = String;
    type IntoIter = std::vec::IntoIter<String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<T: Into<String>, const N: usize> From<[T; N]> for Names {
    fn from(names: [T; N]) -> Names {
        names.into_iter().map(Into::into).collect()
    }
}

impl<'de> Deserialize<'de> for Names {
    /// Any list; sorted and deduplicated, as a set would be.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Names, D::Error> {
        Vec::<String>::deserialize(d).map(Names::from_iter)
    }
}

#[cfg(test)]
mod tests {
    use super::Names;

    #[test]
    fn names_stay_sorted_and_unique() {
        let mut n: Names = ["sales", "billing", "sales"].into();
        assert_eq!(n.iter().collect::<Vec<_>>(), ["billing", "sales"]);
        assert!(n.insert("care".into()));
        assert!(!n.insert("care".into()));
        assert_eq!(n.iter().collect::<Vec<_>>(), ["billing", "care", "sales"]);
        assert!(n.remove("billing") && !n.remove("billing"));
        assert!(n.contains("sales") && !n.contains("billing"));
        let other: Names = ["sales"].into();
        assert_eq!(n.difference(&other).collect::<Vec<_>>(), ["care"]);
        let json = serde_json::to_string(&n).unwrap();
        assert_eq!(json, r#"["care","sales"]"#);
        let back: Names = serde_json::from_str(r#"["sales","care","care"]"#).unwrap();
        assert_eq!(back, n);
    }
}
