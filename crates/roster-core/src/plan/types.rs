//! The plan: what will change, in which order, and whether the guards allow it.
//! Serialized as the JSON plan (`format_version: 1`) that `apply --plan` reads back.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Field;
use crate::model::Names;

/// What a change does.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Create a team.
    CreateTeam,
    /// Create a user (sends a welcome email).
    Create,
    /// Reactivate an inactive user instead of creating a duplicate.
    Reactivate,
    /// Change some fields of a user.
    Update,
    /// Deactivate a user (queues cleared first).
    Deactivate,
    /// Remove a user from everything where the provider has no deactivation.
    Offboard,
}

impl Action {
    /// The snake_case spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::CreateTeam => "create_team",
            Action::Create => "create",
            Action::Reactivate => "reactivate",
            Action::Update => "update",
            Action::Deactivate => "deactivate",
            Action::Offboard => "offboard",
        }
    }
}

/// Apply phases, in the order they run.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Teams first, so users can join them.
    CreateTeams,
    /// Creates and reactivations, administrators first.
    CreateUsers,
    /// Role changes that make someone an administrator.
    Promotions,
    /// Every other update.
    Updates,
    /// Role changes that take administration away.
    Demotions,
    /// Deactivations and offboards, last.
    Deactivations,
}

impl Phase {
    /// Every phase in order.
    pub const ALL: [Phase; 6] = [
        Phase::CreateTeams,
        Phase::CreateUsers,
        Phase::Promotions,
        Phase::Updates,
        Phase::Demotions,
        Phase::Deactivations,
    ];

    /// A human name for progress lines.
    pub fn label(self) -> &'static str {
        match self {
            Phase::CreateTeams => "create teams",
            Phase::CreateUsers => "create and reactivate users",
            Phase::Promotions => "promotions",
            Phase::Updates => "updates",
            Phase::Demotions => "demotions",
            Phase::Deactivations => "deactivations",
        }
    }
}

/// What kind of object a change touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A user.
    User,
    /// A team.
    Team,
}

/// One field's old and new value (null when absent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FieldChange {
    /// The live value.
    pub from: Value,
    /// The value after the change.
    pub to: Value,
}

/// One change to one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    /// What it does.
    pub action: Action,
    /// What it touches.
    pub kind: Kind,
    /// The user's (new) email or the team's name.
    pub key: String,
    /// The user's display name, for the people a plan names; not applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A removal held back (`policy.removals: hold`): shown, never applied.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
    /// The live object's ID (None for creates).
    pub id: Option<String>,
    /// The apply phase it belongs to.
    pub phase: Phase,
    /// Changed fields (JSON: by roster field name, `phone.caller_id` for nested ones).
    pub fields: BTreeMap<Field, FieldChange>,
    /// The live object's `updated_at`, or `sha256:` of its fields; apply refuses the
    /// change when the object no longer matches.
    pub precondition: Option<String>,
    /// A scope the planning credentials lack that apply's must hold to carry this
    /// change out (`scim`): shown as "needs `scim` at apply".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub needs: Option<String>,
}

/// One guard's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Guard {
    /// Stable name: admin_floor, required_admins, max_deactivations, seat_limit,
    /// addon_entitlement.
    pub name: String,
    /// Whether it passes.
    pub ok: bool,
    /// The numbers behind the verdict.
    pub detail: String,
}

/// Counts and money.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    /// Users to create.
    pub create: usize,
    /// Users to update.
    pub update: usize,
    /// Users to reactivate.
    pub reactivate: usize,
    /// Users to deactivate.
    pub deactivate: usize,
    /// Users to offboard.
    pub offboard: usize,
    /// Teams to create.
    pub create_team: usize,
    /// Active seats now.
    pub seats_before: usize,
    /// Active seats after the plan.
    pub seats_after: usize,
    /// Change of the monthly seat cost (0 without a price).
    pub monthly_cost_delta: f64,
    /// Currency of the cost delta.
    pub currency: Option<String>,
    /// Welcome emails the creates will send (they cannot be suppressed).
    pub welcome_emails: usize,
    /// Removals planned but held back, not counted above.
    #[serde(default)]
    pub held: usize,
    /// How long apply should take at roster's pace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<Estimate>,
}

impl Summary {
    /// Total number of changes.
    pub fn total(&self) -> usize {
        self.create
            + self.update
            + self.reactivate
            + self.deactivate
            + self.offboard
            + self.create_team
    }
}

/// The requests an apply will send and how long they take at roster's pace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Estimate {
    /// Requests the changes take (typical counts per change).
    pub requests: usize,
    /// The pace, in requests per minute.
    pub per_minute: f64,
    /// Where the pace comes from: `policy.api_budget` or the vendor's published limit.
    pub pace: String,
    /// requests / pace, in seconds.
    pub seconds: u64,
}

/// What a staffing floor counts the members of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FloorOf {
    /// A team.
    Team,
    /// A queue.
    Queue,
}

impl FloorOf {
    /// `team` or `queue`.
    pub fn as_str(self) -> &'static str {
        match self {
            FloorOf::Team => "team",
            FloorOf::Queue => "queue",
        }
    }

    /// The user field holding the memberships it counts.
    pub fn field(self) -> Field {
        match self {
            FloorOf::Team => Field::Teams,
            FloorOf::Queue => Field::Queues,
        }
    }

    /// Of a user's `teams` and `queues`, the list it counts.
    pub fn list<'a>(self, teams: &'a Names, queues: &'a Names) -> &'a Names {
        match self {
            FloorOf::Team => teams,
            FloorOf::Queue => queues,
        }
    }
}

/// A team or queue that must keep `min_agents` active, non-pending members at every
/// step of an apply (`min_agents` in the roster).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StaffingFloor {
    /// A team or a queue.
    pub of: FloorOf,
    /// Its name first, then former names a live team may still carry.
    pub names: Vec<String>,
    /// The fewest members allowed.
    pub min_agents: u32,
    /// Let below its floor by `--allow-understaffed`: apply does not refuse for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allowed: bool,
}

/// A complete plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    /// Always 1.
    #[schemars(extend("const" = 1))]
    pub format_version: u32,
    /// Provider kind, e.g. talkdesk.
    pub provider: String,
    /// The account the plan was made against.
    pub account: String,
    /// sha256 of the plan's content with this field empty.
    pub checksum: String,
    /// Counts and money.
    pub summary: Summary,
    /// Guard verdicts; any `ok: false` refuses the plan.
    pub guards: Vec<Guard>,
    /// Things a reviewer should know that are not changes.
    pub warnings: Vec<String>,
    /// Steps a person has to do in the vendor's console.
    pub manual_steps: Vec<String>,
    /// Consequences worth knowing, such as the permission set a new license brings.
    pub notes: Vec<String>,
    /// Roles that count as administrative (lowercase), for apply's own floor check.
    pub admin_roles: Vec<String>,
    /// The admin floor, max(1, min_admins).
    pub min_admins: u32,
    /// Declared team name → live name, for teams renamed through `previously`.
    pub team_aliases: BTreeMap<String, String>,
    /// Which ownership each membership list ran in: `teams`, `queues`, and overrides
    /// as `team NAME` or `queue NAME`.
    #[serde(default)]
    pub memberships: BTreeMap<String, String>,
    /// The staffing floors the roster declares, for apply's own check before each
    /// removal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub floors: Vec<StaffingFloor>,
    /// Starts and expiries of the next 7 days: informational, outside the checksum.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upcoming: Vec<String>,
    /// Changes in apply order.
    pub changes: Vec<Change>,
}

impl Plan {
    /// Whether every guard passes.
    pub fn accepted(&self) -> bool {
        self.guards.iter().all(|g| g.ok)
    }

    /// The guards that fail.
    pub fn refusals(&self) -> impl Iterator<Item = &Guard> {
        self.guards.iter().filter(|g| !g.ok)
    }
}

/// A problem that keeps a plan from being made at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// JSON pointer into the roster, for file:line:column.
    pub pointer: String,
    /// What is wrong.
    pub message: String,
    /// What to do.
    pub hint: String,
}
