//! `diff(desired, live) -> Plan`: matching, changes, apply order, guards and checksum.
//! Pure: no I/O, so every planner test runs without a network.

mod calendar;
mod capabilities;
mod catalog;
mod change_fields;
mod dated;
mod diff;
mod estimate;
mod field;
mod guards;
mod licenses;
mod lookalikes;
mod ownership;
mod planned;
mod seat;
mod simulate;
mod staffing;
mod survey;
#[cfg(test)]
mod tests;
mod types;
mod typos;

pub use capabilities::Capabilities;
pub use capabilities::{Costs, MissingWrite, PermissionRule, PermissionSets};
pub use change_fields::precondition;
pub use field::Field;
pub use types::{
    Action, Change, Estimate, FieldChange, FloorOf, Guard, Kind, Phase, Plan, PlanError,
    StaffingFloor, Summary,
};

use crate::config::{Removals, Roster};
use crate::model::Account;
use crate::plan_file;
use estimate::estimate;
use guards::{builtin_admin_guard, counted_roles, guards};
use simulate::simulate;

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
    /// `--allow-understaffed NAME`: teams and queues whose staffing floor the plan may
    /// go below.
    pub allow_understaffed: Vec<String>,
}

/// Diffs the roster against the live account and checks the guards.
pub fn diff(
    roster: &Roster,
    live: &Account,
    caps: &Capabilities,
    opts: &Options,
) -> Result<Plan, Vec<PlanError>> {
    let floors = staffing::declared(roster, caps, opts)?;
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
    d.warnings.extend(typos::warnings(&d.planned));
    // A plan job may lack a write scope on purpose: its plan says what apply needs.
    if let Some(missing) = &caps.missing_write {
        for p in &mut d.planned {
            if missing.blocks(&p.change) {
                p.change.needs = Some(missing.scope.to_string());
            }
        }
    }
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
    guards.extend(staffing::guards(&floors, live, &d.planned));
    guards.insert(1, builtin_admin_guard(caps, &sim.builtin));
    if let Some(floor) = guards.first_mut() {
        floor.detail.push_str(&counted_roles(roster, caps));
    }
    let floor = roster.policy.min_admins.max(1);
    let mut plan = Plan {
        format_version: plan_file::FORMAT_VERSION,
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
        floors,
        upcoming: Vec::new(),
        changes: d.planned.into_iter().map(|p| p.change).collect(),
    };
    plan.checksum = plan_file::checksum(&plan);
    // Informational, outside the checksum: tomorrow's list does not change today's plan.
    plan.upcoming = upcoming;
    Ok(plan)
}

/// A `--now` day, `YYYY-MM-DD`.
pub fn parse_day(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a day: write YYYY-MM-DD, such as 2026-12-24"))
}
