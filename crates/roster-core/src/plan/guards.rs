//! The guards a plan must pass before apply: the administrator floors, required
//! administrators, the deactivation limit, the seat limit and add-on entitlements,
//! judged on the simulated apply.

use std::collections::BTreeMap;

use super::seat::BUILTIN_ADMIN;
use super::simulate::{Simulation, Tally};
use super::{Capabilities, DEFAULT_MAX_DEACTIVATIONS_PERCENT, Guard, Options, Summary};
use crate::config::{MaxDeactivations, Roster};
use crate::model::Account;

/// Every guard of the plan but the built-in Administrator's ([`builtin_admin_guard`]).
pub(super) fn guards(
    roster: &Roster,
    live: &Account,
    opts: &Options,
    summary: &Summary,
    sim: &Simulation,
    pending_admins: usize,
) -> Vec<Guard> {
    let policy = &roster.policy;
    let mut out = vec![admin_floor(
        policy.min_admins.max(1) as usize,
        sim,
        pending_admins,
    )];
    let missing: Vec<&String> = policy
        .required_admins
        .iter()
        .filter(|e| sim.final_admin.get(&e.to_lowercase()) != Some(&true))
        .collect();
    if !policy.required_admins.is_empty() {
        out.push(Guard {
            name: "required_admins".into(),
            ok: missing.is_empty(),
            detail: if missing.is_empty() {
                format!(
                    "{} required admin(s) stay active administrators",
                    policy.required_admins.len()
                )
            } else {
                format!(
                    "not active administrators after the plan: {}",
                    join(&missing)
                )
            },
        });
    }
    out.push(deactivation_guard(roster, opts, summary, sim));
    if let Some(limit) = policy.seats.as_ref().and_then(|s| s.limit) {
        out.push(Guard {
            name: "seat_limit".into(),
            ok: sim.seats_highest <= limit as usize,
            detail: format!(
                "active seats {} → {} (highest {} during apply), limit {limit}",
                summary.seats_before, summary.seats_after, sim.seats_highest
            ),
        });
    }
    let mut entitlements: BTreeMap<String, u32> = live
        .addons
        .iter()
        .map(|a| (a.name.clone(), a.entitlement))
        .collect();
    // The smaller of the contract the roster states and the one the account reports.
    for (name, ent) in &policy.addons {
        let e = entitlements.entry(name.clone()).or_insert(*ent);
        *e = (*e).min(*ent);
    }
    for (name, ent) in entitlements {
        let high = sim.addons_highest.get(&name).copied().unwrap_or(0);
        out.push(Guard {
            name: "addon_entitlement".into(),
            ok: high <= ent as usize,
            detail: format!("{name}: {high} seat(s) at most during apply, entitlement {ent}"),
        });
    }
    out
}

/// At most `policy.max_deactivations` deactivations and offboards, unless
/// `--allow-deactivations` covers them; the message says how the limit was reached.
fn deactivation_guard(
    roster: &Roster,
    opts: &Options,
    summary: &Summary,
    sim: &Simulation,
) -> Guard {
    let active = summary.seats_before;
    let share = |pct: usize| pct * active / 100;
    let rounded = |pct: usize| {
        if !(pct * active).is_multiple_of(100) {
            format!(" (rounded down from {:.1})", (pct * active) as f64 / 100.0)
        } else {
            String::new()
        }
    };
    let (limit, basis) = match &roster.policy.max_deactivations {
        Some(MaxDeactivations::Count(n)) => (*n as usize, format!("max_deactivations {n}")),
        Some(MaxDeactivations::Percent(p)) => {
            let pct: usize = p.trim_end_matches('%').parse().unwrap_or(0);
            (
                share(pct),
                format!("max_deactivations {p} of {active} active{}", rounded(pct)),
            )
        }
        Some(MaxDeactivations::Share(s)) => {
            let pct = s.percent as usize;
            (
                share(pct).max(s.at_least as usize),
                format!(
                    "max_deactivations {pct}% of {active} active, at least {}",
                    s.at_least
                ),
            )
        }
        None => {
            let pct = DEFAULT_MAX_DEACTIVATIONS_PERCENT as usize;
            (
                share(pct),
                format!("default {pct}% of {active} active{}", rounded(pct)),
            )
        }
    };
    let allowed = opts.allow_deactivations.map(|n| n as usize);
    let n = sim.deactivations;
    let (ok, detail) = if n <= limit {
        (
            true,
            format!("{n} deactivation(s), limit {limit} ({basis})"),
        )
    } else if let Some(a) = allowed.filter(|a| *a >= n) {
        (
            true,
            format!(
                "{n} deactivation(s) over the limit {limit} ({basis}), allowed by --allow-deactivations {a}"
            ),
        )
    } else {
        let small = if limit == 0 {
            "; a small team can opt into `max_deactivations: { percent: 10, at_least: 1 }`"
        } else {
            ""
        };
        (
            false,
            format!(
                "{n} deactivation(s) exceed the limit {limit} ({basis}); pass --allow-deactivations {n} if they are intended{small}"
            ),
        )
    };
    Guard {
        name: "max_deactivations".into(),
        ok,
        detail,
    }
}

/// The admin floor forbids making things worse: no step may take an administrator
/// away at or below the floor, and the plan may not end below it unless it raises the
/// count (an account bootstrapped from none, or one that starts below its floor).
fn admin_floor(floor: usize, sim: &Simulation, pending_admins: usize) -> Guard {
    let lost_below = sim.lowest_after_loss.is_some_and(|n| n < floor);
    let ends_below = sim.admins_after < floor && sim.admins_after <= sim.admins_before;
    let ok = !lost_below && !ends_below;
    let mut detail = format!(
        "active admins {} → {} (lowest {} during apply), floor {floor}",
        sim.admins_before, sim.admins_after, sim.admins_lowest
    );
    if sim.admins_before < floor {
        detail.push_str(if ok {
            "; the account starts below its floor and this plan raises it"
        } else {
            "; the account is below its floor: a plan must add an active administrator"
        });
    }
    if pending_admins > 0 {
        detail.push_str(&format!(
            "; {pending_admins} pending administrator(s) not counted (invited, not confirmed: they cannot sign in)"
        ));
    }
    Guard {
        name: "admin_floor".into(),
        ok,
        detail,
    }
}

/// At every step at least one active user holds Talkdesk's built-in Administrator
/// role, whatever the roster declares of its roles: a roster cannot redefine its way
/// past the floor. An account with none may still gain one. Where roles cannot be
/// read, the guard says so and passes: it rests on what the vendor keeps.
pub(super) fn builtin_admin_guard(caps: &Capabilities, t: &Tally) -> Guard {
    let name = "administrator_role".to_string();
    if !caps.roles {
        return Guard {
            name,
            ok: true,
            detail: format!(
                "roles cannot be read through this provider's API, so roster cannot count who holds the built-in {BUILTIN_ADMIN} role: keep one in the vendor's console"
            ),
        };
    }
    let lost_all = t.lowest_after_loss == Some(0);
    let ends_without = t.now == 0 && t.before > 0;
    let ok = !lost_all && !ends_without;
    let mut detail = format!(
        "holders of the built-in {BUILTIN_ADMIN} role {} → {}; at least one stays active at every step",
        t.before, t.now
    );
    if !ok {
        detail.push_str(": the plan would leave a moment with none");
    } else if t.before == 0 {
        detail.push_str("; the account has none now");
    }
    Guard { name, ok, detail }
}

/// The roles the admin floor counts, for its guard's line.
pub(super) fn counted_roles(roster: &Roster, caps: &Capabilities) -> String {
    let roles: Vec<&str> = roster
        .roles
        .iter()
        .filter(|r| r.admin)
        .map(|r| r.name.as_str())
        .collect();
    let listed = if roles.is_empty() {
        "none declared `admin: true`".to_string()
    } else {
        roles.join(", ")
    };
    if caps.roles {
        format!("; counting roles {listed}")
    } else {
        format!(
            "; counting roles {listed}: live roles cannot be read through this provider's API, so only users the roster declares with such a role count, as it declares them"
        )
    }
}

/// The items, comma-separated.
fn join(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
