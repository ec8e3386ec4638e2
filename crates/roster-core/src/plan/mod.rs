//! `diff(desired, live) -> Plan`: matching, changes, apply order, guards and checksum.
//! Pure: no I/O, so every planner test runs without a network.

mod calendar;
mod capabilities;
mod catalog;
mod dated;
mod diff;
mod fields;
mod licenses;
mod ownership;
mod seat;
mod survey;
#[cfg(test)]
mod tests;
mod types;

use std::collections::BTreeMap;

use foldhash::HashMap;

use sha2::{Digest, Sha256};

pub use capabilities::Capabilities;
pub use capabilities::Costs;
pub use fields::precondition;
pub use types::{
    Action, Change, Estimate, FieldChange, Guard, Kind, Phase, Plan, PlanError, Summary,
};

use crate::config::{MaxDeactivations, Removals, Roster};
use crate::model::Account;
use diff::Planned;
use seat::{BUILTIN_ADMIN, Baseline, Seat};

/// Share of active users one plan may deactivate when the roster sets no
/// `max_deactivations`: a roster that lost half its users by mistake is stopped.
pub const DEFAULT_MAX_DEACTIVATIONS_PERCENT: u32 = 10;

/// Options from the command line that the planner needs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `--allow-deactivations N`: lets a plan deactivate up to N users past the policy.
    pub allow_deactivations: Option<u32>,
    /// `--hold-removals`: plan removals but hold them back, as `policy.removals: hold`.
    pub hold_removals: bool,
    /// `--now`: the day the users' dates are compared with (default: today in
    /// `policy.time_zone`).
    pub today: Option<chrono::NaiveDate>,
    /// `--only-dated`: plan only what the users' dates cause today (see [`dated`]).
    pub only_dated: bool,
}

/// Diffs the roster against the live account and checks the guards.
pub fn diff(
    roster: &Roster,
    live: &Account,
    caps: &Capabilities,
    opts: &Options,
) -> Result<Plan, Vec<PlanError>> {
    let hold = opts.hold_removals || roster.policy.removals == Removals::Hold;
    let today = opts.today.unwrap_or_else(|| calendar::today(roster));
    let mut d = diff::changes(roster, live, caps, hold, today)?;
    if opts.only_dated {
        let (kept, left) = dated::only_dated(std::mem::take(&mut d.planned), roster, today);
        d.planned = kept;
        d.warnings.extend(left);
    }
    // Dates are rare: the pass that planned the users says whether anyone has them.
    let upcoming = if d.dated {
        calendar::upcoming(roster, today)
    } else {
        Vec::new()
    };
    d.planned.sort_by(|a, b| {
        (a.change.phase, !a.admin_order, &a.change.key).cmp(&(
            b.change.phase,
            !b.admin_order,
            &b.change.key,
        ))
    });
    let sim = simulate(d.baseline, &d.planned);
    let mut warnings = d.warnings;
    warnings.extend(sim.emptied.iter().cloned());
    let count = |a: Action| {
        d.planned
            .iter()
            .filter(|p| p.change.action == a && !p.change.held)
            .count()
    };
    let seats = roster.policy.seats.as_ref();
    let price = seats.and_then(|s| s.price_per_month).unwrap_or(0.0);
    let summary = Summary {
        create: count(Action::Create),
        update: count(Action::Update),
        reactivate: count(Action::Reactivate),
        deactivate: count(Action::Deactivate),
        offboard: count(Action::Offboard),
        create_team: count(Action::CreateTeam),
        seats_before: sim.seats_before,
        seats_after: sim.seats_after,
        monthly_cost_delta: (sim.seats_after as f64 - sim.seats_before as f64) * price,
        currency: seats.and_then(|s| s.currency.clone()),
        welcome_emails: count(Action::Create),
        held: d.planned.iter().filter(|p| p.change.held).count(),
        estimate: estimate(roster, caps, &d.planned),
    };
    if sim.admins_after == 0 && d.pending_admins > 0 {
        warnings.push(format!(
            "every administrator after this plan is pending ({}): nobody can sign in as an administrator until one confirms the invitation",
            d.pending_admins
        ));
    }
    let mut guards = guards(roster, live, opts, &summary, &sim, d.pending_admins);
    guards.insert(1, builtin_admin_guard(caps, &sim.builtin));
    if let Some(floor) = guards.first_mut() {
        floor.detail.push_str(&counted_roles(roster, caps));
    }
    let floor = roster.policy.min_admins.max(1);
    let mut plan = Plan {
        format_version: 1,
        provider: roster.provider.kind.as_str().to_string(),
        account: roster.provider.account.clone(),
        checksum: String::new(),
        summary,
        guards,
        warnings,
        manual_steps: d.manual_steps,
        notes: d.notes,
        admin_roles: d.admin_roles.into_iter().collect(),
        min_admins: floor,
        team_aliases: d.team_aliases,
        memberships: d.memberships,
        upcoming: Vec::new(),
        changes: d.planned.into_iter().map(|p| p.change).collect(),
    };
    let bytes = serde_json::to_vec(&plan).unwrap_or_default();
    plan.checksum = format!("sha256:{}", hex::encode(Sha256::digest(&bytes)));
    // Informational, outside the checksum: tomorrow's list does not change today's plan.
    plan.upcoming = upcoming;
    Ok(plan)
}

/// The requests the applied changes take and their time at roster's pace: the roster's
/// `api_budget`, else the vendor's published limit.
fn estimate(roster: &Roster, caps: &Capabilities, planned: &[Planned]) -> Option<Estimate> {
    let c = caps.costs;
    let requests: usize = planned
        .iter()
        .filter(|p| !p.change.held)
        .map(|p| {
            let base = match p.change.action {
                Action::Create | Action::CreateTeam => c.create,
                Action::Update | Action::Reactivate => c.update,
                Action::Deactivate | Action::Offboard => c.removal,
            };
            let lists = ["teams", "queues"]
                .iter()
                .filter(|l| p.change.fields.contains_key(**l))
                .count();
            base + lists * c.membership
        })
        .sum();
    if requests == 0 {
        return None;
    }
    let (per_minute, pace) = match roster.policy.api_budget_per_minute() {
        Some(n) => (n, "policy.api_budget".to_string()),
        None => {
            let (n, name) = caps.published_limit?;
            (f64::from(n), name.to_string())
        }
    };
    Some(Estimate {
        requests,
        per_minute,
        pace,
        seconds: (requests as f64 * 60.0 / per_minute).ceil() as u64,
    })
}

/// A `--now` day, `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a day: write YYYY-MM-DD, such as 2026-12-24"))
}

/// sha256 of the plan's JSON with an empty checksum field (`diff` computes it the same
/// way before filling the field in).
pub fn checksum(plan: &Plan) -> String {
    let mut copy = plan.clone();
    copy.checksum.clear();
    copy.upcoming.clear();
    let bytes = serde_json::to_vec(&copy).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
}

/// What walking the plan in apply order shows.
struct Simulation {
    seats_before: usize,
    seats_after: usize,
    admins_before: usize,
    admins_after: usize,
    admins_lowest: usize,
    /// The fewest active administrators right after a step that took one away.
    lowest_after_loss: Option<usize>,
    seats_highest: usize,
    addons_highest: BTreeMap<String, usize>,
    deactivations: usize,
    emptied: Vec<String>,
    /// Email → whether the user is an active administrator after the plan.
    final_admin: HashMap<String, bool>,
    /// Holders of Talkdesk's built-in Administrator role, walked like `admins`.
    builtin: Tally,
}

/// One count walked through the plan: where it starts and ends, and its lowest right
/// after a step that lowered it.
#[derive(Debug, Clone, Copy)]
struct Tally {
    before: usize,
    now: usize,
    lowest_after_loss: Option<usize>,
}

impl Tally {
    fn new(n: usize) -> Tally {
        Tally {
            before: n,
            now: n,
            lowest_after_loss: None,
        }
    }

    /// One step that takes `lost` away and adds `gained`.
    fn step(&mut self, lost: bool, gained: bool) {
        let was = self.now;
        self.now = self.now - usize::from(lost) + usize::from(gained);
        if self.now < was {
            self.lowest_after_loss =
                Some(self.lowest_after_loss.map_or(self.now, |l| l.min(self.now)));
        }
    }
}

/// Applies the changes one at a time to the live seats and records the extremes. Within a
/// phase every change moves the counts the same way, so the extremes of this sequence
/// bound any order the concurrent apply may take inside a phase.
fn simulate(base: Baseline, planned: &[Planned]) -> Simulation {
    let active = |s: &Seat| s.active;
    let admin = |s: &Seat| s.active && s.admin;
    let mut seats_now = base.seats;
    let mut admins_now = base.admins;
    let mut addons = base.addons;
    let mut members = base.members;
    let members_before = members.clone();
    let (seats_before, admins_before) = (seats_now, admins_now);
    let mut sim = Simulation {
        seats_before,
        seats_after: 0,
        admins_before,
        admins_after: 0,
        admins_lowest: admins_now,
        lowest_after_loss: None,
        seats_highest: seats_now,
        addons_highest: addons.clone(),
        deactivations: 0,
        emptied: Vec::new(),
        final_admin: base.admin_by_email,
        builtin: Tally::new(base.builtin_admins),
    };
    // Held removals are never applied, so the guards leave them out.
    for p in planned.iter().filter(|p| !p.change.held) {
        if matches!(p.change.action, Action::Deactivate | Action::Offboard) {
            sim.deactivations += 1;
        }
        let mut step = |s: &Seat, sign: isize| {
            if !s.active {
                return;
            }
            for a in &s.addons {
                let n = addons.entry(a.clone()).or_default();
                *n = n.saturating_add_signed(sign);
            }
            for t in &s.teams {
                *members.entry((true, t.clone())).or_default() += sign;
            }
            for g in &s.queues {
                *members.entry((false, g.clone())).or_default() += sign;
            }
        };
        if p.change.kind == Kind::User {
            if let Some(b) = &p.before {
                sim.final_admin.remove(&b.email);
            }
            sim.final_admin
                .insert(p.after.email.clone(), admin(&p.after));
        }
        let admins_before_step = admins_now;
        sim.builtin.step(
            p.before.as_ref().is_some_and(|b| b.builtin_admin),
            p.after.builtin_admin,
        );
        if let Some(b) = &p.before {
            step(b, -1);
            seats_now -= usize::from(active(b));
            admins_now -= usize::from(admin(b));
        }
        step(&p.after, 1);
        seats_now += usize::from(active(&p.after));
        admins_now += usize::from(admin(&p.after));
        sim.admins_lowest = sim.admins_lowest.min(admins_now);
        if admins_now < admins_before_step {
            sim.lowest_after_loss = Some(
                sim.lowest_after_loss
                    .map_or(admins_now, |l| l.min(admins_now)),
            );
        }
        sim.seats_highest = sim.seats_highest.max(seats_now);
        for (a, n) in &addons {
            let high = sim.addons_highest.entry(a.clone()).or_default();
            *high = (*high).max(*n);
        }
    }
    sim.seats_after = seats_now;
    sim.admins_after = admins_now;
    let mut emptied: Vec<String> = members_before
        .iter()
        .filter(|(k, n)| **n > 0 && members.get(*k).copied().unwrap_or(0) <= 0)
        .map(|((team, name), _)| {
            let what = if *team { "team" } else { "queue" };
            format!("{what} `{name}` is left with no active member")
        })
        .collect();
    emptied.sort();
    sim.emptied = emptied;
    sim
}

fn guards(
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
fn builtin_admin_guard(caps: &Capabilities, t: &Tally) -> Guard {
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
fn counted_roles(roster: &Roster, caps: &Capabilities) -> String {
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

fn join(items: &[&String]) -> String {
    items
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
