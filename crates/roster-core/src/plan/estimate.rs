//! How long apply will take: the requests the plan's changes cost at roster's pace.

use super::planned::Planned;
use super::{Action, Capabilities, Estimate, Field};
use crate::config::Roster;

/// The requests the applied changes take and their time at roster's pace: the roster's
/// `api_budget`, else the vendor's published limit.
pub(super) fn estimate(
    roster: &Roster,
    caps: &Capabilities,
    planned: &[Planned],
) -> Option<Estimate> {
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
            let lists = [Field::Teams, Field::Queues]
                .iter()
                .filter(|l| p.change.fields.contains_key(l))
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
