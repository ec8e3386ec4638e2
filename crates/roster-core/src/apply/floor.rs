//! The administrator floors apply keeps at run time, counting only changes that surely
//! happened: the roster's own (`min_admins` over its `admin: true` roles) and Talkdesk's
//! built-in `Administrator` role, which at least one active user must keep whatever the
//! roster declares. The plan simulated both; apply checks again, since a promotion may
//! fail and the demotion after it must not go through then.

use std::sync::Mutex;

use crate::model::{Account, Status, User};
use crate::plan::{Action, Change, Field, Plan};

/// Which users a floor counts.
#[derive(Debug, Clone, Copy)]
pub(super) enum Counts {
    /// Holders of the roles the plan marks administrative.
    RosterRoles,
    /// Holders of Talkdesk's built-in `Administrator` role.
    BuiltinAdministrator,
}

/// Talkdesk's built-in administrator role (support.talkdesk.com, "Roles and
/// Permissions", https://support.talkdesk.com/hc/en-us/articles/11114473839643).
const BUILTIN: &str = "Administrator";

/// One floor: who counts, how many are active now, and the fewest allowed.
pub(super) struct Floor {
    counts: Counts,
    now: Mutex<usize>,
    min: usize,
}

impl Floor {
    /// The floor of `counts` over the live account, at least `min`.
    pub(super) fn new(counts: Counts, plan: &Plan, live: &Account, min: usize) -> Floor {
        let now = live
            .users
            .iter()
            .filter(|u| u.status == Status::Active && !u.pending)
            .filter(|u| counts.holds(plan, u.role.as_deref()))
            .count();
        Floor {
            counts,
            now: Mutex::new(now),
            min,
        }
    }

    /// Whether `c` takes a counted user away, and whether it adds one.
    pub(super) fn effect(&self, plan: &Plan, c: &Change, live: Option<&User>) -> (bool, bool) {
        // A pending administrator cannot log in, so taking one away costs nothing.
        let before = live.is_some_and(|u| {
            u.status == Status::Active && !u.pending && self.counts.holds(plan, u.role.as_deref())
        });
        let role_after = c
            .fields
            .get(&Field::Role)
            .and_then(|f| f.to.as_str())
            .or(live.and_then(|u| u.role.as_deref()));
        let active_after = match c.action {
            Action::Deactivate | Action::Offboard => false,
            Action::Create | Action::Reactivate => true,
            _ => live.is_some_and(|u| u.status == Status::Active && !u.pending),
        };
        let after = active_after && self.counts.holds(plan, role_after);
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

impl Counts {
    fn holds(self, plan: &Plan, role: Option<&str>) -> bool {
        role.is_some_and(|r| match self {
            Counts::RosterRoles => plan.admin_roles.contains(&r.to_lowercase()),
            Counts::BuiltinAdministrator => r.eq_ignore_ascii_case(BUILTIN),
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
        let plan: Plan = serde_json::from_value(serde_json::json!({
            "format_version": 1, "provider": "talkdesk", "account": "acme", "checksum": "",
            "summary": {"create": 0, "update": 1, "reactivate": 0, "deactivate": 0, "offboard": 0,
                "create_team": 0, "seats_before": 3, "seats_after": 3, "monthly_cost_delta": 0.0,
                "currency": null, "welcome_emails": 0},
            "guards": [], "warnings": [], "manual_steps": [], "notes": [],
            "admin_roles": ["administrator", "supervisor"], "min_admins": 1, "team_aliases": {},
            "changes": []
        }))
        .unwrap();
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
}
