//! The floors apply keeps at run time, counting only changes that surely happened: the
//! roster's administrators (`min_admins` over its `admin: true` roles), Talkdesk's
//! built-in `Administrator` role, which at least one active user must keep whatever the
//! roster declares, and each team's or queue's `min_agents`. The plan simulated them;
//! apply checks again, since a promotion or an addition may fail and the removal after
//! it must not go through then.

use std::sync::Mutex;

use crate::model::{Account, Status, User};
use crate::plan::{Action, Change, Field, Plan, StaffingFloor};

/// Which users a floor counts.
#[derive(Debug, Clone, Copy)]
pub(super) enum Counts<'p> {
    /// Holders of the roles the plan marks administrative.
    RosterRoles,
    /// Holders of Talkdesk's built-in `Administrator` role.
    BuiltinAdministrator,
    /// Members of a team or queue with a staffing floor, of any role.
    Members(&'p StaffingFloor),
}

/// Talkdesk's built-in administrator role (support.talkdesk.com, "Roles and
/// Permissions", https://support.talkdesk.com/hc/en-us/articles/11114473839643).
const BUILTIN: &str = "Administrator";

/// One floor: who counts, how many are active now, and the fewest allowed.
pub(super) struct Floor<'p> {
    counts: Counts<'p>,
    now: Mutex<usize>,
    min: usize,
}

impl<'p> Floor<'p> {
    /// The floor of `counts` over the live account, at least `min`.
    pub(super) fn new(counts: Counts<'p>, plan: &Plan, live: &Account, min: usize) -> Self {
        let now = live
            .users
            .iter()
            .filter(|u| u.status == Status::Active && !u.pending)
            .filter(|u| counts.held_by(plan, u))
            .count();
        Floor {
            counts,
            now: Mutex::new(now),
            min,
        }
    }

    /// Whether `c` takes a counted user away, and whether it adds one.
    pub(super) fn effect(&self, plan: &Plan, c: &Change, live: Option<&User>) -> (bool, bool) {
        // A pending user cannot log in, so taking one away costs nothing.
        let before = live.is_some_and(|u| {
            u.status == Status::Active && !u.pending && self.counts.held_by(plan, u)
        });
        let active_after = match c.action {
            Action::Deactivate | Action::Offboard => false,
            Action::Create | Action::Reactivate => true,
            _ => live.is_some_and(|u| u.status == Status::Active && !u.pending),
        };
        let after = active_after && self.counts.held_after(plan, c, live);
        (before && !after, !before && after)
    }

    /// Counts one away before it is sent, unless that would go below the floor: then
    /// the reason to refuse the change.
    pub(super) fn take(&self) -> Result<(), String> {
        let mut n = self.now.lock().unwrap_or_else(|p| p.into_inner());
        if *n <= self.min {
            return Err(match self.counts {
                Counts::RosterRoles => format!(
                    "refused: it would leave fewer than {} active administrator(s)",
                    self.min
                ),
                Counts::BuiltinAdministrator => format!(
                    "refused: it would leave no active user with the built-in {BUILTIN} role"
                ),
                Counts::Members(f) => format!(
                    "refused: it would leave {} `{}` with fewer than {} active member(s) (its min_agents)",
                    f.of.as_str(),
                    f.names[0],
                    self.min
                ),
            });
        }
        *n -= 1;
        Ok(())
    }

    /// Counts one back (a take whose change surely did not happen, or an addition).
    pub(super) fn give(&self) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    }
}

impl Counts<'_> {
    /// Whether the live user `u` holds what this floor counts.
    fn held_by(self, plan: &Plan, u: &User) -> bool {
        match self {
            Counts::Members(f) => {
                let list = f.of.list(&u.teams, &u.queues);
                f.names.iter().any(|n| list.contains(n))
            }
            _ => self.role_counts(plan, u.role.as_deref()),
        }
    }

    /// Whether the user holds it once `c` is applied: the change's role or list where
    /// it changes them, the live user's otherwise.
    fn held_after(self, plan: &Plan, c: &Change, live: Option<&User>) -> bool {
        match self {
            Counts::Members(f) => match c.fields.get(&f.of.field()).and_then(|v| v.to.as_array()) {
                Some(list) => list
                    .iter()
                    .filter_map(|v| v.as_str())
                    .any(|m| f.names.iter().any(|n| n == m)),
                None => live.is_some_and(|u| self.held_by(plan, u)),
            },
            _ => {
                let role = c
                    .fields
                    .get(&Field::Role)
                    .and_then(|f| f.to.as_str())
                    .or(live.and_then(|u| u.role.as_deref()));
                self.role_counts(plan, role)
            }
        }
    }

    fn role_counts(self, plan: &Plan, role: Option<&str>) -> bool {
        role.is_some_and(|r| match self {
            Counts::RosterRoles => plan.admin_roles.contains(&r.to_lowercase()),
            Counts::BuiltinAdministrator => r.eq_ignore_ascii_case(BUILTIN),
            Counts::Members(_) => false,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, role: &str) -> User {
        serde_json::from_value(serde_json::json!({
            "id": id, "email": format!("{id}@acme.example"), "name": id, "role": role,
            "status": "active", "pending": false, "teams": [], "queues": [],
            "extension": null, "time_zone": null, "language": null, "addons": [],
            "phone": null, "external_id": null
        }))
        .unwrap()
    }

    /// A plan of no changes counting `admin_roles` as administrative, with `floors`.
    fn plan(admin_roles: &[&str], floors: serde_json::Value) -> Plan {
        serde_json::from_value(serde_json::json!({
            "format_version": 1, "provider": "talkdesk", "account": "acme", "checksum": "",
            "summary": {"create": 0, "update": 1, "reactivate": 0, "deactivate": 0, "offboard": 0,
                "create_team": 0, "seats_before": 3, "seats_after": 3, "monthly_cost_delta": 0.0,
                "currency": null, "welcome_emails": 0},
            "guards": [], "warnings": [], "manual_steps": [], "notes": [],
            "admin_roles": admin_roles, "min_admins": 1, "team_aliases": {},
            "floors": floors, "changes": []
        }))
        .unwrap()
    }

    fn demote(id: &str, to: &str) -> Change {
        serde_json::from_value(serde_json::json!({
            "action": "update", "kind": "user", "key": format!("{id}@acme.example"),
            "id": id, "phase": "demotions", "precondition": null,
            "fields": {"role": {"from": "Administrator", "to": to}}
        }))
        .unwrap()
    }

    /// A roster that calls Supervisor administrative: its own floor lets the last
    /// Administrator be demoted to Supervisor, the built-in one does not.
    #[test]
    fn the_builtin_administrator_keeps_one_holder_whatever_the_roster_counts() {
        let plan = plan(&["administrator", "supervisor"], serde_json::json!([]));
        let live = Account {
            users: vec![user("a1", "Administrator"), user("s1", "Supervisor")],
            ..Account::default()
        };
        let roster = Floor::new(Counts::RosterRoles, &plan, &live, 1);
        let builtin = Floor::new(Counts::BuiltinAdministrator, &plan, &live, 1);
        let change = demote("a1", "Supervisor");
        let a1 = &live.users[0];
        assert_eq!(roster.effect(&plan, &change, Some(a1)), (false, false));
        assert_eq!(builtin.effect(&plan, &change, Some(a1)), (true, false));
        assert!(
            builtin
                .take()
                .unwrap_err()
                .contains("built-in Administrator")
        );
        // A second holder, promoted first, lets the demotion through.
        builtin.give();
        assert_eq!(builtin.take(), Ok(()));
    }

    /// A queue of two with a floor of two: a move out of it is refused at run time,
    /// and a move into it (once done) makes room for one.
    #[test]
    fn a_staffing_floor_counts_members_moving_out_and_in() {
        let floors = serde_json::json!([{"of": "queue", "names": ["spanish"], "min_agents": 2}]);
        let plan = plan(&["administrator"], floors);
        let mut live = Account {
            users: vec![
                user("s1", "Agent"),
                user("s2", "Agent"),
                user("e1", "Agent"),
            ],
            ..Account::default()
        };
        for u in &mut live.users[..2] {
            u.queues.insert("spanish".into());
        }
        let floor = Floor::new(Counts::Members(&plan.floors[0]), &plan, &live, 2);
        let moved = |id: &str, to: &str| -> Change {
            serde_json::from_value(serde_json::json!({
                "action": "update", "kind": "user", "key": format!("{id}@acme.example"),
                "id": id, "phase": "updates", "precondition": null,
                "fields": {"queues": {"from": [], "to": [to]}}
            }))
            .unwrap()
        };
        let out = moved("s1", "english");
        assert_eq!(
            floor.effect(&plan, &out, Some(&live.users[0])),
            (true, false)
        );
        let err = floor.take().unwrap_err();
        assert!(err.contains("queue `spanish` with fewer than 2"), "{err}");
        let into = moved("e1", "spanish");
        assert_eq!(
            floor.effect(&plan, &into, Some(&live.users[2])),
            (false, true)
        );
        floor.give();
        assert_eq!(floor.take(), Ok(()));
        // A role change leaves membership alone.
        let role = demote("s2", "Supervisor");
        assert_eq!(
            floor.effect(&plan, &role, Some(&live.users[1])),
            (false, false)
        );
    }
}
