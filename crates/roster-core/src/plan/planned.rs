//! A planned change with what the guards need beside it: the seat before and after,
//! and its place in the apply order. Every step of the planner works on these.

use super::seat::Seat;
use super::types::Change;

/// A change with the guard-relevant state on both sides.
pub(super) struct Planned {
    /// The change itself, as the plan holds it.
    pub change: Change,
    /// The live role, for notes about what depends on it.
    pub role: Option<String>,
    /// The seat before the change; `None` for a create.
    pub before: Option<Seat>,
    /// The seat after it.
    pub after: Seat,
    /// Ordered first within its phase: the user is an administrator after it, so
    /// administrators are in place before the rest of the phase.
    pub admin_order: bool,
}
