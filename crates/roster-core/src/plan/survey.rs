//! Which optional fields any declared user sets, gathered in the pass that plans the
//! users. At 100,000 users a pass over the declared users streams them from memory, so
//! the checks that look for rare fields (dates, phone settings, fields a provider cannot
//! plan) take no pass of their own.

use crate::config::UserDecl;

/// Whether one user sets a field.
type Sets = fn(&UserDecl) -> bool;

/// The optional user fields the plan asks about: each roster name with how to tell
/// whether a user sets it.
const FIELDS: [(&str, Sets); 7] = [
    ("phone", |u| u.phone.is_some()),
    ("addons", |u| u.addons.is_some()),
    ("teams", |u| u.teams.is_some()),
    ("queues", |u| u.queues.is_some()),
    ("extension", |u| u.extension.is_some()),
    ("time_zone", |u| u.time_zone.is_some()),
    ("language", |u| u.language.is_some()),
];

/// What the declared users set, taken together.
#[derive(Default)]
pub(super) struct Survey {
    /// Some user has `active_from` or `active_until`.
    pub dated: bool,
    /// Whether some user sets each of [`FIELDS`], in its order.
    set: [bool; FIELDS.len()],
}

impl Survey {
    /// Adds what one user sets.
    pub(super) fn add(&mut self, u: &UserDecl) {
        self.dated |= u.active_from.is_some() || u.active_until.is_some();
        for (seen, (_, sets)) in self.set.iter_mut().zip(FIELDS) {
            *seen |= sets(u);
        }
    }

    /// Whether some user sets `field` (a name in [`FIELDS`]; any other is never set).
    pub(super) fn declares(&self, field: &str) -> bool {
        FIELDS
            .iter()
            .zip(self.set)
            .any(|((name, _), set)| set && *name == field)
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
        let mut s = Survey::default();
        users.iter().for_each(|u| s.add(u));
        assert!(s.dated);
        assert!(s.declares("teams") && s.declares("language"));
        assert!(!s.declares("phone") && !s.declares("queues") && !s.declares("addons"));
        assert!(
            !s.declares("status"),
            "a name outside the list is never set"
        );
        let mut first = Survey::default();
        first.add(&users[0]);
        assert!(!first.dated);
    }
}
