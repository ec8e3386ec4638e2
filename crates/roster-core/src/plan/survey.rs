//! Which optional fields any declared user sets, found in one pass. At 100,000 users a
//! pass over the declared users streams them from memory, so the checks that look for
//! rare fields (dates, phone settings, fields a provider cannot plan) share this one
//! instead of taking a pass each.

use crate::config::UserDecl;

/// The optional user fields the plan asks about, by their roster names.
const FIELDS: [&str; 7] = [
    "phone",
    "addons",
    "teams",
    "queues",
    "extension",
    "time_zone",
    "language",
];

/// What the declared users set, taken together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Survey {
    /// Some user has `active_from` or `active_until`.
    pub dated: bool,
    /// Whether some user sets each of [`FIELDS`], in its order.
    set: [bool; FIELDS.len()],
}

impl Survey {
    /// Reads each user once.
    pub(super) fn of(users: &[UserDecl]) -> Survey {
        let mut s = Survey {
            dated: false,
            set: [false; FIELDS.len()],
        };
        for u in users {
            s.dated |= u.active_from.is_some() || u.active_until.is_some();
            let set = [
                u.phone.is_some(),
                u.addons.is_some(),
                u.teams.is_some(),
                u.queues.is_some(),
                u.extension.is_some(),
                u.time_zone.is_some(),
                u.language.is_some(),
            ];
            for (seen, now) in s.set.iter_mut().zip(set) {
                *seen |= now;
            }
        }
        s
    }

    /// Whether some user sets `field` (a name in [`FIELDS`]; any other is never set).
    pub(super) fn declares(&self, field: &str) -> bool {
        FIELDS
            .iter()
            .zip(self.set)
            .any(|(f, set)| set && *f == field)
    }
}

#[cfg(test)]
mod tests {
    use super::Survey;
    use crate::config::UserDecl;

    fn user(yaml: &str) -> UserDecl {
        serde_saphyr::from_str(yaml).expect("a user")
    }

    #[test]
    fn a_field_counts_when_any_user_sets_it() {
        let users = [
            user("{ email: ana@acme.example, name: Ana, role: Agent, teams: [Support] }"),
            user(
                "{ email: bo@acme.example, name: Bo, role: Agent, language: en-US, active_until: 2026-12-24 }",
            ),
        ];
        let s = Survey::of(&users);
        assert!(s.dated);
        assert!(s.declares("teams") && s.declares("language"));
        assert!(!s.declares("phone") && !s.declares("queues") && !s.declares("addons"));
        assert!(
            !s.declares("status"),
            "a name outside the list is never set"
        );
        assert!(!Survey::of(&users[..1]).dated);
    }
}
