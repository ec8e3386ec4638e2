//! The roster format: serde and JSON Schema derives for every section.
//!
//! Unknown fields are errors everywhere (`deny_unknown_fields`), and a field left out is
//! not managed, which is why most user fields are `Option`s.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::model::{PhoneSettings, Status};

/// A whole roster, merged from one file or a directory of files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "roster")]
pub struct Roster {
    /// Format version; only 1 exists.
    #[schemars(range(min = 1, max = 1))]
    pub version: u32,
    /// Which API manages the account.
    pub provider: ProviderConfig,
    /// Guards and how unmanaged users are treated.
    #[serde(default)]
    pub policy: Policy,
    /// Roles the roster refers to; `admin: true` marks administrative roles.
    #[serde(default)]
    pub roles: Vec<RoleDecl>,
    /// Teams (CloudTalk: groups).
    #[serde(default)]
    pub teams: Vec<TeamDecl>,
    /// Queues: a name, or `{ name, membership }`.
    #[serde(default)]
    pub queues: Vec<QueueDecl>,
    /// The people.
    #[serde(default)]
    pub users: Vec<UserDecl>,
}

impl Roster {
    /// The administrative role names, lowercased (roles compare case-insensitively).
    pub fn admin_roles(&self) -> Vec<String> {
        self.roles
            .iter()
            .filter(|r| r.admin)
            .map(|r| r.name.to_lowercase())
            .collect()
    }
}

/// A Talkdesk account as the schema writes it: one DNS label (letters, digits and
/// hyphens, 1 to 63, no hyphen first or last), the `ACCOUNT` of
/// `https://ACCOUNT.mytalkdesk.com`. Modeled from the form of the vendor's URLs: no
/// page of Talkdesk's states the rule. `checks::is_talkdesk_account` says the same.
pub(super) const TALKDESK_ACCOUNT: &str = "^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$";

/// The provider section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
// A Talkdesk account becomes the host of the token URL, which receives the OAuth
// client's secret: it must be a subdomain and nothing more (TALKDESK_TOKEN_URL and
// TALKDESK_BASE_URL are how roster is pointed at other hosts).
#[schemars(extend(
    "if" = { "properties": { "kind": { "anyOf": [{ "const": "talkdesk" }, { "const": "talkdesk-scim" }] } } },
    "then" = { "properties": { "account": { "pattern": TALKDESK_ACCOUNT } } }
))]
pub struct ProviderConfig {
    /// Which API.
    pub kind: ProviderKind,
    /// The account this roster describes; plans carry it. Talkdesk: the subdomain of
    /// `https://ACCOUNT.mytalkdesk.com`. CloudTalk: any name for the company.
    #[schemars(length(min = 1))]
    pub account: String,
    /// Talkdesk region: where the account's API and token endpoint live.
    #[serde(default, skip_serializing_if = "Region::is_default")]
    pub region: Region,
    /// Surfaces that follow a contract no public vendor page documents, which this
    /// roster opts into knowingly: `phone` (Phone settings), `addons` (add-on licenses).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modeled: Vec<Modeled>,
}

/// A surface whose contract is modeled: no public page of the vendor's documents it, so
/// a real account may answer differently (or 404) where the sandbox answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Modeled {
    /// Talkdesk Phone settings (`phone:`).
    Phone,
    /// Add-on licenses (`addons:`, `policy.addons`).
    Addons,
}

impl Modeled {
    /// The roster spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Modeled::Phone => "phone",
            Modeled::Addons => "addons",
        }
    }
}

/// A Talkdesk region (docs.talkdesk.com, "Supported Regions and Base URLs").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    /// United States: api.talkdeskapp.com, {account}.talkdeskid.com.
    #[default]
    Us,
    /// Europe: api.talkdeskapp.eu, {account}.talkdeskid.eu.
    Eu,
    /// Canada: api.talkdeskappca.com, {account}.talkdeskidca.com.
    Ca,
}

impl Region {
    fn is_default(&self) -> bool {
        *self == Region::Us
    }
}

/// The APIs roster talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ProviderKind {
    /// Talkdesk: REST users, SCIM, queues, Phone and add-ons, with one OAuth client.
    Talkdesk,
    /// The same Talkdesk provider (the name of an earlier SCIM-only provider).
    TalkdeskScim,
    /// CloudTalk REST API.
    Cloudtalk,
}

impl ProviderKind {
    /// The roster spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Talkdesk => "talkdesk",
            ProviderKind::TalkdeskScim => "talkdesk-scim",
            ProviderKind::Cloudtalk => "cloudtalk",
        }
    }
}

/// What happens to live users the roster does not declare.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Unmanaged {
    /// Deactivate them (within `max_deactivations`).
    #[default]
    Deactivate,
    /// Leave them alone.
    Ignore,
}

/// Guards and defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Active administrators that must remain at every step; at least 1.
    #[serde(default = "default_min_admins")]
    pub min_admins: u32,
    /// Emails that must stay active administrators.
    #[serde(default)]
    pub required_admins: Vec<String>,
    /// What to do with live users the roster does not declare.
    #[serde(default)]
    pub unmanaged_users: Unmanaged,
    /// Email glob patterns never touched and never reported as drift.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Most deactivations one plan may carry: a count, `"N%"` of active users, or
    /// `{ percent: N, at_least: M }`.
    #[serde(default)]
    pub max_deactivations: Option<MaxDeactivations>,
    /// Seat limit and price.
    #[serde(default)]
    pub seats: Option<Seats>,
    /// Add-on entitlements by add-on name.
    #[serde(default)]
    pub addons: BTreeMap<String, u32>,
    /// Who owns the members of teams and queues, account-wide.
    #[serde(default)]
    pub membership: MembershipPolicy,
    /// `hold`: plan every removal (deactivations, offboards, membership removals) but
    /// apply none of them.
    #[serde(default)]
    pub removals: Removals,
    /// roster's share of the vendor's rate limit, as `"120/min"` or `"2/s"`: the pace of
    /// plan and apply, and the basis of the plan's time estimate.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9]+(\.[0-9]+)?/(s|min)$"))]
    pub api_budget: Option<String>,
    /// The IANA time zone the users' `active_from` and `active_until` dates are in
    /// (default UTC).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// When set, every email must be at one of these domains: a typo in a domain would
    /// send a welcome email to a stranger.
    #[serde(default)]
    pub email_domains: Vec<String>,
}

/// Who owns a membership list: a team's or a queue's members, or a user's teams or
/// queues.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Membership {
    /// The roster's list is the whole list: members are added and removed.
    #[default]
    Authoritative,
    /// The roster's entries are ensured; others (a supervisor's moves) are left alone.
    Additive,
    /// Never compared.
    Ignore,
}

impl Membership {
    /// The roster spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Membership::Authoritative => "authoritative",
            Membership::Additive => "additive",
            Membership::Ignore => "ignore",
        }
    }
}

/// Account-wide ownership of membership lists, overridable per team, queue and user.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipPolicy {
    /// Team members.
    #[serde(default)]
    pub teams: Membership,
    /// Queue members.
    #[serde(default)]
    pub queues: Membership,
}

/// Whether removals are applied or held back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Removals {
    /// Applied like any change.
    #[default]
    Apply,
    /// Planned and shown, never applied (the morning after a bad merge; an account
    /// being adopted).
    Hold,
}

/// A queue: its name, or its name and who owns its members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum QueueDecl {
    /// Just the name.
    Name(String),
    /// The name and an ownership that overrides the policy's.
    Full(QueueSpec),
}

/// A queue with its ownership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    /// The queue name.
    pub name: String,
    /// Who owns its members.
    #[serde(default)]
    pub membership: Option<Membership>,
    /// The fewest active, non-pending members (of any role) the queue may be left
    /// with at any step of an apply: a plan going below it is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_agents: Option<u32>,
}

impl QueueDecl {
    /// The queue's name.
    pub fn name(&self) -> &str {
        match self {
            QueueDecl::Name(n) => n,
            QueueDecl::Full(q) => &q.name,
        }
    }

    /// The ownership it sets, if any.
    pub fn membership(&self) -> Option<Membership> {
        match self {
            QueueDecl::Name(_) => None,
            QueueDecl::Full(q) => q.membership,
        }
    }

    /// Its staffing floor, if it declares one.
    pub fn min_agents(&self) -> Option<u32> {
        match self {
            QueueDecl::Name(_) => None,
            QueueDecl::Full(q) => q.min_agents,
        }
    }
}

impl Policy {
    /// `api_budget` in requests per minute (`"2/s"` is 120).
    pub fn api_budget_per_minute(&self) -> Option<f64> {
        let (n, unit) = self.api_budget.as_deref()?.split_once('/')?;
        let n: f64 = n.parse().ok()?;
        let per_minute = if unit == "s" { n * 60.0 } else { n };
        (per_minute > 0.0).then_some(per_minute)
    }
}

fn default_min_admins() -> u32 {
    1
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_admins: default_min_admins(),
            required_admins: Vec::new(),
            unmanaged_users: Unmanaged::default(),
            ignore: Vec::new(),
            max_deactivations: None,
            seats: None,
            addons: BTreeMap::new(),
            membership: MembershipPolicy::default(),
            removals: Removals::default(),
            api_budget: None,
            time_zone: None,
            email_domains: Vec::new(),
        }
    }
}

/// A count, a percentage string such as `"10%"` (rounded down), or
/// `{ percent: 10, at_least: 1 }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MaxDeactivations {
    /// At most this many.
    Count(u32),
    /// A percentage of active users, written `"N%"`, rounded down.
    Percent(#[schemars(regex(pattern = r"^[0-9]{1,3}%$"))] String),
    /// A percentage of active users with a floor, for small teams that opt in.
    Share(DeactivationShare),
}

/// `max_deactivations: { percent: 10, at_least: 1 }`: the larger of the percentage of
/// active users (rounded down) and `at_least`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeactivationShare {
    /// Percentage of active users, 0 to 100.
    #[schemars(range(max = 100))]
    pub percent: u32,
    /// Deactivations always allowed, however small the account.
    pub at_least: u32,
}

/// Seat limit and price.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Seats {
    /// Most active users allowed.
    #[serde(default)]
    pub limit: Option<u32>,
    /// Price of one seat per month.
    #[serde(default)]
    pub price_per_month: Option<f64>,
    /// Currency of the price, e.g. USD.
    #[serde(default)]
    pub currency: Option<String>,
}

/// A role the roster refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleDecl {
    /// The role name as the account spells it.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Whether holders count as administrators for the guards.
    #[serde(default)]
    pub admin: bool,
}

/// A team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamDecl {
    /// The team name.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Former names: a live team with one of them is this team, renamed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub previously: Vec<String>,
    /// Who owns its members (overrides `policy.membership.teams`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<Membership>,
    /// The fewest active, non-pending members (of any role) the team may be left with
    /// at any step of an apply: a plan going below it is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_agents: Option<u32>,
}

/// The longest address, in bytes: RFC 5321 §4.5.3.1.3 bounds a path at 256 octets,
/// two of them the angle brackets around the address. The schema counts characters,
/// the same for an ASCII address; the checks count the bytes of any other.
pub(super) const EMAIL_MAX: usize = 254;

/// The longest part of an address before the `@`, in bytes (RFC 5321 §4.5.3.1.1).
pub(super) const EMAIL_LOCAL_MAX: usize = 64;

/// The longest display name, in characters. Modeled: no vendor publishes a bound;
/// 256 holds any person's full name with room to spare, and refuses a pasted document.
pub(super) const NAME_MAX: usize = 256;

/// A declared user. Fields left out are not managed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserDecl {
    /// Login email; compared case-insensitively.
    #[schemars(length(min = 3, max = EMAIL_MAX))]
    pub email: String,
    /// Former emails: a live user with one of them is this user, renamed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(length(max = EMAIL_MAX)))]
    pub previously: Vec<String>,
    /// Display name.
    #[schemars(length(min = 1, max = NAME_MAX))]
    pub name: String,
    /// Role name; must be declared under `roles`.
    #[schemars(length(min = 1))]
    pub role: String,
    /// Team names; each must be declared under `teams`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams: Option<Vec<String>>,
    /// Queue names; each must be declared under `queues`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queues: Option<Vec<String>>,
    /// Extension, digits only, quoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{2,8}$"))]
    pub extension: Option<String>,
    /// IANA time zone, e.g. Europe/Lisbon.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// BCP 47 language tag, e.g. en-US.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// `active` (default), `inactive` to deactivate on purpose, or `pending`: active,
    /// but invited and not yet confirmed, so not counted toward the admin floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeclaredStatus>,
    /// Add-on licenses, e.g. salesforce.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addons: Option<Vec<String>>,
    /// Talkdesk Phone settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<Box<PhoneSettings>>,
    /// Claims a user that another system manages: the live `externalId` it carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Who owns this user's teams and queues (overrides the team's, queue's and
    /// policy's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub membership: Option<Membership>,
    /// First day the user is active (YYYY-MM-DD, in `policy.time_zone`): before it the
    /// user is planned as absent, or inactive if the account has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub active_from: Option<String>,
    /// Last day the user is active (YYYY-MM-DD, in `policy.time_zone`): after it the
    /// user is planned as inactive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"))]
    pub active_until: Option<String>,
}

/// The status a roster declares for a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DeclaredStatus {
    /// Holds a seat and can log in.
    Active,
    /// Deactivated on purpose.
    Inactive,
    /// Holds a seat but has not confirmed the invitation yet, so cannot log in.
    Pending,
}

impl UserDecl {
    /// The seat the declared status asks for, `active` when left out (pending users
    /// hold a seat).
    pub fn status(&self) -> Status {
        match self.status {
            Some(DeclaredStatus::Inactive) => Status::Inactive,
            Some(DeclaredStatus::Active | DeclaredStatus::Pending) | None => Status::Active,
        }
    }

    /// The `active_from` and `active_until` dates (checked by `validate`).
    pub fn dates(&self) -> (Option<chrono::NaiveDate>, Option<chrono::NaiveDate>) {
        let day = |d: &Option<String>| {
            d.as_deref()
                .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        };
        (day(&self.active_from), day(&self.active_until))
    }

    /// Whether the roster expects this user not to have confirmed the invitation yet.
    pub fn expects_pending(&self) -> bool {
        self.status == Some(DeclaredStatus::Pending)
    }
}
