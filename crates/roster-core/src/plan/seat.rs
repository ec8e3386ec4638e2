//! Seats: one user's guard-relevant state, and the live account's counts the guards
//! start from.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};

use super::ownership::Ownership;
use super::{Capabilities, Field};
use crate::config::UserDecl;
use crate::model::{Names, Status, User};

/// One user's state before and after, as the guards see it.
#[derive(Debug, Clone)]
pub(super) struct Seat {
    pub email: String,
    pub active: bool,
    /// Active and signed in (not pending): counts toward staffing floors.
    pub staffed: bool,
    pub admin: bool,
    /// Holds Talkdesk's built-in Administrator role, active and not pending.
    pub builtin_admin: bool,
    pub addons: Names,
    pub teams: Names,
    pub queues: Names,
}

impl Seat {
    pub(super) fn none() -> Self {
        Seat {
            email: String::new(),
            active: false,
            staffed: false,
            admin: false,
            builtin_admin: false,
            addons: Names::new(),
            teams: Names::new(),
            queues: Names::new(),
        }
    }
}

/// The state a declared user reaches once its change is applied.
pub(super) fn desired_seat(
    decl: &UserDecl,
    live: Option<&User>,
    caps: &Capabilities,
    own: &Ownership,
    is_admin: &dyn Fn(Option<&str>) -> bool,
) -> Seat {
    let keep = |d: &Option<Vec<String>>, l: Option<&Names>| match d {
        Some(v) => v.iter().cloned().collect(),
        None => l.cloned().unwrap_or_default(),
    };
    // Memberships as apply writes them: under their ownership, removals held or not.
    let list = |name: &str, d: &Option<Vec<String>>, l: Option<&Names>| match (d, l) {
        (Some(d), Some(l)) => own.wanted(name, d, l, decl.membership).applied,
        _ => keep(d, l),
    };
    let signs_in = !decl.expects_pending() && !live.is_some_and(|l| l.pending);
    let active = decl.status() == Status::Active;
    Seat {
        email: decl.email.to_lowercase(),
        active,
        staffed: active && signs_in,
        // A pending administrator cannot log in yet: it does not count toward the floor.
        admin: is_admin(Some(&decl.role)) && signs_in,
        builtin_admin: active && signs_in && is_builtin_admin(Some(&decl.role)),
        addons: if caps.addons {
            keep(&decl.addons, live.map(|l| &l.addons))
        } else {
            live.map(|l| l.addons.clone()).unwrap_or_default()
        },
        teams: list("teams", &decl.teams, live.map(|l| &l.teams)),
        queues: if caps.manages(Field::Queues) {
            list("queues", &decl.queues, live.map(|l| &l.queues))
        } else {
            live.map(|l| l.queues.clone()).unwrap_or_default()
        },
    }
}

/// Talkdesk's built-in administrator role: created with every account, it holds every
/// permission and cannot be renamed, deactivated or changed (support.talkdesk.com,
/// "Roles and Permissions": https://support.talkdesk.com/hc/en-us/articles/11114473839643).
pub(super) const BUILTIN_ADMIN: &str = "Administrator";

/// Whether `role` is [`BUILTIN_ADMIN`], whatever the roster says of it.
pub(super) fn is_builtin_admin(role: Option<&str>) -> bool {
    role.is_some_and(|r| r.eq_ignore_ascii_case(BUILTIN_ADMIN))
}

/// The live account's counts before any change: what the guards start from.
#[derive(Default)]
pub(super) struct Baseline {
    pub seats: usize,
    pub admins: usize,
    /// Active, signed-in holders of [`BUILTIN_ADMIN`].
    pub builtin_admins: usize,
    pub addons: BTreeMap<String, usize>,
    /// (is a team, name) → active members; counted only when there are changes.
    pub members: HashMap<(bool, String), isize>,
    /// Lowercased email → whether an active administrator, for `required_admins`.
    pub admin_by_email: HashMap<String, bool>,
}

impl Baseline {
    /// Counts one live user's seat, administrator status and add-ons. Called from the
    /// planning passes as they read each live user, so the baseline costs no pass of
    /// its own.
    pub(super) fn count(&mut self, u: &User, is_admin: &dyn Fn(Option<&str>) -> bool) {
        if u.status != Status::Active {
            return;
        }
        self.seats += 1;
        if !u.pending && is_builtin_admin(u.role.as_deref()) {
            self.builtin_admins += 1;
        }
        if !u.pending && is_admin(u.role.as_deref()) {
            self.admins += 1;
            self.admin_by_email.insert(u.email.to_lowercase(), true);
        }
        for a in &u.addons {
            match self.addons.get_mut(a.as_str()) {
                Some(n) => *n += 1,
                None => {
                    self.addons.insert(a.clone(), 1);
                }
            }
        }
    }

    /// Counts the active users' team and queue memberships: they matter only for
    /// warnings about changes, so a plan with none skips this pass.
    pub(super) fn count_members(&mut self, users: &[User]) {
        let mut members: HashMap<(bool, &str), isize> = HashMap::new();
        for u in users.iter().filter(|u| u.status == Status::Active) {
            for t in &u.teams {
                *members.entry((true, t)).or_default() += 1;
            }
            for g in &u.queues {
                *members.entry((false, g)).or_default() += 1;
            }
        }
        self.members = members
            .into_iter()
            .map(|((t, k), v)| ((t, k.to_string()), v))
            .collect();
    }
}
