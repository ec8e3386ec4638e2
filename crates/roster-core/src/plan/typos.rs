//! A create beside the removal of an address a letter or two away: a rename the roster
//! did not declare, or a typo in the new address. Either way the plan would welcome a
//! stranger and lock out the person it meant.

use super::planned::Planned;
use crate::plan::{Action, Kind};

/// Most letters two addresses may differ by (a swap of two letters counts one) to be
/// taken for one another.
const NEAR: usize = 2;
/// Most create × removal pairs compared: beyond it (a mass migration) the warning is
/// skipped rather than the plan slowed. A judgement, not a vendor figure.
const MAX_PAIRS: usize = 250_000;

/// One warning per create whose address is within [`NEAR`] edits of a removed one.
pub(super) fn warnings(planned: &[Planned]) -> Vec<String> {
    let of = |wanted: &[Action]| -> Vec<String> {
        planned
            .iter()
            .filter(|p| p.change.kind == Kind::User && wanted.contains(&p.change.action))
            .map(|p| p.change.key.to_lowercase())
            .collect()
    };
    let creates = of(&[Action::Create]);
    let removals = of(&[Action::Deactivate, Action::Offboard]);
    if creates.is_empty() || creates.len().saturating_mul(removals.len()) > MAX_PAIRS {
        return Vec::new();
    }
    let mut out = Vec::new();
    for new in &creates {
        let near = removals.iter().find(|old| {
            new.len().abs_diff(old.len()) <= NEAR && strsim::damerau_levenshtein(new, old) <= NEAR
        });
        if let Some(old) = near {
            out.push(format!(
                "create {new} and deactivate {old} look like a rename or a typo: if {old} is now {new}, add `previously: [\"{old}\"]` to that user; if {new} is a typo, correct it"
            ));
        }
    }
    out
}
