//! The normalized account: what a provider reads and what the planner compares.
//!
//! Everything here refers to roles, teams and queues by *name*. Providers translate
//! names to the vendor's account-specific IDs at the edge, so plans stay readable and
//! never carry IDs from one account to another.

use std::collections::BTreeSet;

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
    pub teams: BTreeSet<String>,
    /// Queue names.
    pub queues: BTreeSet<String>,
    /// Extension.
    pub extension: Option<String>,
    /// IANA time zone.
    pub time_zone: Option<String>,
    /// BCP 47 language tag.
    pub language: Option<String>,
    /// Add-on licenses held.
    pub addons: BTreeSet<String>,
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
