//! The fields roster manages, as a type: what a change's field map is keyed by, what a
//! provider's capabilities name, and what the providers write. Their JSON names are
//! the saved plan's (format 1) and the approval's change lines, so they never change.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};

/// A field of a user that a change can set. Ordered as its JSON name, so a plan's field
/// map keeps the order (and bytes) it had when it was keyed by strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Field {
    /// Add-on licenses, a set.
    Addons,
    /// The email: the user's key.
    Email,
    /// The extension (Talkdesk reads it; CloudTalk sets it on create only).
    Extension,
    /// The language.
    Language,
    /// The display name.
    Name,
    /// Phone: call forwarding.
    PhoneCallForward,
    /// Phone: call waiting.
    PhoneCallWaiting,
    /// Phone: the caller ID.
    PhoneCallerId,
    /// Phone: the default country code.
    PhoneDefaultCountryCode,
    /// Phone: do not disturb.
    PhoneDoNotDisturb,
    /// Phone: the extension.
    PhoneExtension,
    /// Phone: the numbers, a set.
    PhoneNumbers,
    /// Phone: the SIP phones, a set.
    PhoneSipPhones,
    /// Queue memberships, a set.
    Queues,
    /// The role.
    Role,
    /// Active or inactive.
    Status,
    /// Team memberships, a set.
    Teams,
    /// The time zone.
    TimeZone,
}

impl Field {
    /// Every field.
    pub const ALL: [Field; 18] = [
        Field::Addons,
        Field::Email,
        Field::Extension,
        Field::Language,
        Field::Name,
        Field::PhoneCallForward,
        Field::PhoneCallWaiting,
        Field::PhoneCallerId,
        Field::PhoneDefaultCountryCode,
        Field::PhoneDoNotDisturb,
        Field::PhoneExtension,
        Field::PhoneNumbers,
        Field::PhoneSipPhones,
        Field::Queues,
        Field::Role,
        Field::Status,
        Field::Teams,
        Field::TimeZone,
    ];

    /// Its name in the plan, the roster and the approval.
    pub const fn as_str(self) -> &'static str {
        match self {
            Field::Addons => "addons",
            Field::Email => "email",
            Field::Extension => "extension",
            Field::Language => "language",
            Field::Name => "name",
            Field::PhoneCallForward => "phone.call_forward",
            Field::PhoneCallWaiting => "phone.call_waiting",
            Field::PhoneCallerId => "phone.caller_id",
            Field::PhoneDefaultCountryCode => "phone.default_country_code",
            Field::PhoneDoNotDisturb => "phone.do_not_disturb",
            Field::PhoneExtension => "phone.extension",
            Field::PhoneNumbers => "phone.numbers",
            Field::PhoneSipPhones => "phone.sip_phones",
            Field::Queues => "queues",
            Field::Role => "role",
            Field::Status => "status",
            Field::Teams => "teams",
            Field::TimeZone => "time_zone",
        }
    }

    /// A phone setting's name without `phone.`, or `None` for other fields.
    pub fn phone_setting(self) -> Option<&'static str> {
        self.as_str().strip_prefix("phone.")
    }

    /// The field named `name`.
    pub fn named(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

impl From<Field> for &'static str {
    fn from(f: Field) -> Self {
        f.as_str()
    }
}

impl TryFrom<String> for Field {
    type Error = String;

    fn try_from(name: String) -> Result<Self, String> {
        Field::named(&name).ok_or_else(|| format!("`{name}` is not a field roster manages"))
    }
}

/// The JSON Schema of a field name: one of [`Field::ALL`]'s names, from the same
/// [`Field::as_str`] that serializes it, so the two cannot drift.
impl schemars::JsonSchema for Field {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Field".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Field::ALL.iter().map(|f| f.as_str()).collect();
        schemars::json_schema!({
            "description": "A field roster manages, by its name in the roster.",
            "type": "string",
            "enum": names,
        })
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialOrd for Field {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Field {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_named_as_it_serializes_and_orders_as_its_name() {
        for f in Field::ALL {
            assert_eq!(serde_json::to_value(f).unwrap(), f.as_str());
            assert_eq!(
                serde_json::from_value::<Field>(f.as_str().into()).unwrap(),
                f
            );
        }
        assert!(serde_json::from_value::<Field>("custom.x".into()).is_err());
        let mut by_name: Vec<&str> = Field::ALL.iter().map(|f| f.as_str()).collect();
        by_name.sort_unstable();
        let mut by_field = Field::ALL.to_vec();
        by_field.sort();
        let by_field: Vec<&str> = by_field.iter().map(|f| f.as_str()).collect();
        assert_eq!(by_field, by_name);
    }
}
