//! Who owns each membership list (teams and queues), and what the roster wants of a
//! user's list under that ownership: the roster's list whole (`authoritative`), the
//! roster's entries added to what is there (`additive`), or nothing (`ignore`).

use std::collections::BTreeMap;

use foldhash::HashMap;

use super::{Capabilities, Field};
use crate::config::{Membership, Roster};
use crate::model::Names;

/// The ownership of every list, resolved from the roster: the user's over the team's or
/// queue's over the policy's.
pub(super) struct Ownership {
    teams: Membership,
    queues: Membership,
    team: HashMap<String, Membership>,
    queue: HashMap<String, Membership>,
    /// Removals are planned but held back (`policy.removals: hold`, `--hold-removals`).
    pub hold: bool,
}

/// What a user's list should become.
pub(super) struct Wanted {
    /// The list apply writes.
    pub applied: Names,
    /// Members the roster removes, held back.
    pub held: Names,
}

impl Ownership {
    /// The ownership the roster states.
    pub fn of(roster: &Roster, hold: bool) -> Ownership {
        Ownership {
            teams: roster.policy.membership.teams,
            queues: roster.policy.membership.queues,
            team: roster
                .teams
                .iter()
                .filter_map(|t| Some((t.name.clone(), t.membership?)))
                .collect(),
            queue: roster
                .queues
                .iter()
                .filter_map(|q| Some((q.name().to_string(), q.membership()?)))
                .collect(),
            hold,
        }
    }

    /// The ownership of member `name` of `list` ("teams" or "queues") for a user.
    fn mode(&self, list: &str, name: &str, user: Option<Membership>) -> Membership {
        let (default, each) = match list {
            "teams" => (self.teams, &self.team),
            _ => (self.queues, &self.queue),
        };
        user.or_else(|| each.get(name).copied()).unwrap_or(default)
    }

    /// A user's `list` as the roster wants it: declared members the list does not
    /// ignore, and live ones the roster does not own; removals are held when asked.
    pub fn wanted(
        &self,
        list: &str,
        declared: &[String],
        live: &Names,
        user: Option<Membership>,
    ) -> Wanted {
        let mode = |name: &str| self.mode(list, name, user);
        let mut applied: Names = declared
            .iter()
            .filter(|d| mode(d) != Membership::Ignore)
            .cloned()
            .collect();
        applied.extend(
            live.iter()
                .filter(|l| mode(l) != Membership::Authoritative)
                .cloned(),
        );
        let held: Names = if self.hold {
            live.difference(&applied).cloned().collect()
        } else {
            Names::new()
        };
        applied.extend(held.iter().cloned());
        Wanted { applied, held }
    }

    /// Which ownership each list ran in, for the plan's header: the account-wide modes
    /// and every override.
    pub fn header(&self, caps: &Capabilities) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (field, mode, each) in [
            (Field::Teams, self.teams, &self.team),
            (Field::Queues, self.queues, &self.queue),
        ] {
            let list = field.as_str();
            let text = if caps.write_only.contains(&field) {
                "additive (members cannot be read: they are set on create only)".to_string()
            } else if !caps.manages(field) {
                "not managed by this provider".to_string()
            } else {
                mode.as_str().to_string()
            };
            out.insert(list.to_string(), text);
            for (name, m) in each {
                let singular = list.trim_end_matches('s');
                out.insert(format!("{singular} {name}"), m.as_str().to_string());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(text: &str, hold: bool) -> Ownership {
        let roster: Roster = serde_saphyr::from_str(&format!(
            "version: 1\nprovider: {{ kind: talkdesk, account: acme }}\n{text}"
        ))
        .unwrap();
        Ownership::of(&roster, hold)
    }

    fn set(items: &[&str]) -> Names {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_supervisors_move_survives_additive_and_is_undone_by_authoritative() {
        let declared = ["billing".to_string()];
        let live = set(&["sales"]);
        let additive = own("policy: { membership: { queues: additive } }", false);
        assert_eq!(
            additive.wanted("queues", &declared, &live, None).applied,
            set(&["billing", "sales"])
        );
        let authoritative = own("", false);
        assert_eq!(
            authoritative
                .wanted("queues", &declared, &live, None)
                .applied,
            set(&["billing"])
        );
        // A per-queue override beats the policy, and a user's beats both.
        let mixed = own(
            "queues: [billing, { name: sales, membership: additive }]",
            false,
        );
        assert_eq!(
            mixed.wanted("queues", &declared, &live, None).applied,
            set(&["billing", "sales"])
        );
        assert_eq!(
            mixed
                .wanted("queues", &declared, &live, Some(Membership::Authoritative))
                .applied,
            set(&["billing"])
        );
        let ignored = own("policy: { membership: { queues: ignore } }", false);
        assert_eq!(
            ignored.wanted("queues", &declared, &live, None).applied,
            live
        );
    }

    #[test]
    fn held_removals_stay_in_the_list() {
        let held = own("", true).wanted("teams", &["A".to_string()], &set(&["A", "B"]), None);
        assert_eq!((held.applied, held.held), (set(&["A", "B"]), set(&["B"])));
    }
}
