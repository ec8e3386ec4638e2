//! Staffing floors: a team or queue that declares `min_agents` keeps that many active,
//! non-pending members (of any role) at every step of the apply. The plan walks its
//! changes in apply order, as for the administrator floor, and a step that takes a
//! member away and leaves fewer refuses the plan, unless `--allow-understaffed` names
//! the team or queue.

use super::planned::Planned;
use super::seat::Seat;
use super::types::{FloorOf, Guard, PlanError, StaffingFloor};
use super::{Capabilities, Options};
use crate::config::Roster;
use crate::model::{Account, Names, Status, User};

/// The floors `roster` declares, each marked allowed when `--allow-understaffed` names
/// it; an error, located at its `min_agents`, for each floor whose membership these
/// credentials cannot read.
pub(super) fn declared(
    roster: &Roster,
    caps: &Capabilities,
    opts: &Options,
) -> Result<Vec<StaffingFloor>, Vec<PlanError>> {
    let allowed = |name: &str| opts.allow_understaffed.iter().any(|a| a == name);
    let mut floors = Vec::new();
    let mut errors = Vec::new();
    let teams = roster.teams.iter().enumerate().filter_map(|(i, t)| {
        let names = std::iter::once(&t.name).chain(&t.previously).cloned();
        t.min_agents
            .map(|min| (FloorOf::Team, i, names.collect(), min))
    });
    let queues = roster.queues.iter().enumerate().filter_map(|(i, q)| {
        q.min_agents()
            .map(|min| (FloorOf::Queue, i, vec![q.name().to_string()], min))
    });
    for (of, i, names, min) in teams.chain(queues) {
        let field = of.field();
        let readable = caps.manages(field) && !caps.write_only.contains(&field);
        if !readable {
            errors.push(PlanError {
                pointer: format!("/{}/{i}/min_agents", field.as_str()),
                message: format!(
                    "{} `{}` declares a staffing floor, but its membership cannot be read with these credentials or on this provider",
                    of.as_str(),
                    names[0]
                ),
                hint: "remove `min_agents`, or grant what reads the membership (Talkdesk: the scope scim for teams, queues:read and queues-users:read for queues)".into(),
            });
            continue;
        }
        floors.push(StaffingFloor {
            of,
            allowed: allowed(&names[0]),
            names,
            min_agents: min,
        });
    }
    if errors.is_empty() {
        Ok(floors)
    } else {
        Err(errors)
    }
}

/// Whether `floor` counts a member holding these teams and queues.
fn holds(floor: &StaffingFloor, teams: &Names, queues: &Names) -> bool {
    let list = floor.of.list(teams, queues);
    floor.names.iter().any(|n| list.contains(n))
}

/// Whether `u` counts toward `floor` in the live account.
pub(crate) fn counts(floor: &StaffingFloor, u: &User) -> bool {
    u.status == Status::Active && !u.pending && holds(floor, &u.teams, &u.queues)
}

/// One guard per floor, judged on the walked apply.
pub(super) fn guards(floors: &[StaffingFloor], live: &Account, planned: &[Planned]) -> Vec<Guard> {
    floors
        .iter()
        .map(|f| guard(f, walk(f, live, planned)))
        .collect()
}

/// What walking the apply shows of one floor.
struct Walk {
    before: usize,
    after: usize,
    lowest: usize,
    /// The first step that left fewer than the floor: "change N of M (action key)".
    breach: Option<String>,
    /// Who leaves it, in apply order.
    leaving: Vec<String>,
}

fn walk(floor: &StaffingFloor, live: &Account, planned: &[Planned]) -> Walk {
    let before = live.users.iter().filter(|u| counts(floor, u)).count();
    let member = |s: &Seat| s.staffed && holds(floor, &s.teams, &s.queues);
    let steps: Vec<&Planned> = planned.iter().filter(|p| !p.change.held).collect();
    let mut w = Walk {
        before,
        after: before,
        lowest: before,
        breach: None,
        leaving: Vec::new(),
    };
    for (n, p) in steps.iter().enumerate() {
        let lost = p.before.as_ref().is_some_and(member);
        let gained = member(&p.after);
        match (lost, gained) {
            (true, false) => {
                w.after -= 1;
                w.lowest = w.lowest.min(w.after);
                w.leaving.push(p.change.key.clone());
                if w.after < floor.min_agents as usize && w.breach.is_none() {
                    w.breach = Some(format!(
                        "change {} of {} ({} {})",
                        n + 1,
                        steps.len(),
                        p.change.action.as_str(),
                        p.change.key
                    ));
                }
            }
            (false, true) => w.after += 1,
            _ => {}
        }
    }
    w
}

fn guard(floor: &StaffingFloor, w: Walk) -> Guard {
    let what = format!("{} `{}`", floor.of.as_str(), floor.names[0]);
    let min = floor.min_agents;
    let counts = format!(
        "{} active member(s) → {} (lowest {}), floor {min}",
        w.before, w.after, w.lowest
    );
    let (ok, detail) = match &w.breach {
        None => (true, format!("{what}: {counts}")),
        Some(at) => {
            let leaving = w.leaving.join(", ");
            let told = format!(
                "{what} falls below its floor of {min} at {at}: {counts}; leaving: {leaving}"
            );
            if floor.allowed {
                (
                    true,
                    format!("{told}; allowed by --allow-understaffed {}", floor.names[0]),
                )
            } else {
                (
                    false,
                    format!(
                        "{told}; pass --allow-understaffed {} if it is intended",
                        floor.names[0]
                    ),
                )
            }
        }
    };
    Guard {
        name: "staffing_floor".into(),
        ok,
        detail,
    }
}
