//! The scheduled plan: only what a date in the roster causes today. The dates were
//! reviewed when the roster merged; anything else the account differs in (a role
//! edited by hand) was not, so a scheduled run must not apply it.

use chrono::NaiveDate;
use foldhash::{HashMap, HashMapExt};

use super::planned::Planned;
use super::seat::is_builtin_admin;
use crate::config::{Roster, UserDecl};
use crate::plan::{Action, Field, Kind};

/// How many of the differences left out are named; the rest are counted.
const LISTED: usize = 20;

/// Keeps the changes a user's `active_from` (reached: create, or reactivate changing
/// only the status) or `active_until` (passed: deactivate) causes on `today`; returns
/// them with a line per difference left out.
pub(super) fn only_dated(
    planned: Vec<Planned>,
    roster: &Roster,
    today: NaiveDate,
) -> (Vec<Planned>, Vec<String>) {
    let mut dated: HashMap<String, &UserDecl> = HashMap::new();
    for u in roster.users.iter() {
        if u.active_from.is_some() || u.active_until.is_some() {
            dated.insert(u.email.to_lowercase(), u);
        }
    }
    let mut kept = Vec::new();
    let mut left = Vec::new();
    for mut p in planned {
        let decl = (p.change.kind == Kind::User)
            .then(|| dated.get(&p.change.key.to_lowercase()))
            .flatten();
        match decl.and_then(|u| caused(p.change.action, u, today)) {
            Some(true) => {
                // Only the status: other fields differ for reasons of their own.
                p.change.fields.retain(|k, _| *k == Field::Status);
                if let Some(before) = &p.before {
                    p.after = before.clone();
                    p.after.active = true;
                    // Back with the live role, whatever the roster declares.
                    p.after.builtin_admin = is_builtin_admin(p.role.as_deref());
                }
                kept.push(p);
            }
            Some(false) => kept.push(p),
            None => left.push(format!("{} {}", p.change.action.as_str(), p.change.key)),
        }
    }
    let mut lines: Vec<String> = left
        .iter()
        .take(LISTED)
        .map(|l| format!("not applied (not caused by a date: open a pull request): {l}"))
        .collect();
    if left.len() > LISTED {
        lines.push(format!(
            "not applied (not caused by a date: open a pull request): {} more difference(s); `roster plan` lists them all",
            left.len() - LISTED
        ));
    }
    (kept, lines)
}

/// Whether `user`'s dates cause `action` today: `Some(true)` for a reactivation (to be
/// reduced to its status), `Some(false)` for a create or deactivation kept whole,
/// `None` when no date causes it.
fn caused(action: Action, user: &UserDecl, today: NaiveDate) -> Option<bool> {
    let (from, until) = user.dates();
    let started = from.is_some_and(|f| f <= today) && until.is_none_or(|u| today <= u);
    let ended = until.is_some_and(|u| today > u);
    match action {
        Action::Create if started => Some(false),
        Action::Reactivate if started => Some(true),
        Action::Deactivate | Action::Offboard if ended => Some(false),
        _ => None,
    }
}
