//! The apply walked in order before it runs: seats, administrators, add-ons and
//! memberships after every step, so the guards can judge the worst moment, not just
//! the end.

use std::collections::BTreeMap;

use foldhash::HashMap;

use super::planned::Planned;
use super::seat::{Baseline, Seat};
use super::{Action, Kind};

/// What walking the plan in apply order shows.
pub(super) struct Simulation {
    pub seats_before: usize,
    pub seats_after: usize,
    pub admins_before: usize,
    pub admins_after: usize,
    pub admins_lowest: usize,
    /// The fewest active administrators right after a step that took one away.
    pub lowest_after_loss: Option<usize>,
    pub seats_highest: usize,
    pub addons_highest: BTreeMap<String, usize>,
    pub deactivations: usize,
    pub emptied: Vec<String>,
    /// Email → whether the user is an active administrator after the plan.
    pub final_admin: HashMap<String, bool>,
    /// Holders of Talkdesk's built-in Administrator role, walked like `admins`.
    pub builtin: Tally,
}

/// One count walked through the plan: where it starts and ends, and its lowest right
/// after a step that lowered it.
#[derive(Debug, Clone, Copy)]
pub(super) struct Tally {
    pub before: usize,
    pub now: usize,
    pub lowest_after_loss: Option<usize>,
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
pub(super) fn simulate(base: Baseline, planned: &[Planned]) -> Simulation {
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
