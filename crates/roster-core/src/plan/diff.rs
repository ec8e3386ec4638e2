//! Matching declared users to live ones and working out the changes.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use foldhash::{HashMap, HashMapExt};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::types::{Action, Change, FieldChange, Kind, Phase};
use crate::config::{Roster, Unmanaged, UserDecl, ignore_set};
use crate::model::{Account, PhoneSettings, Status, User};

/// What a provider can do; the planner never plans what it cannot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    /// Teams can be created through the API.
    pub create_teams: bool,
    /// Users can be deactivated (otherwise removal is an offboard).
    pub deactivate: bool,
    /// Roles can be read and changed through the API.
    pub roles: bool,
    /// Fields that can be set at creation but never changed afterwards.
    pub immutable_fields: Vec<&'static str>,
    /// Talkdesk Phone settings can be read and written.
    pub phone: bool,
    /// Add-on licenses can be read and assigned.
    pub addons: bool,
    /// Roles can be listed, so a declared role that does not exist is an error.
    pub role_catalog: bool,
    /// User fields this API does not have; the roster may declare them, they are not
    /// planned.
    pub unmanaged: Vec<&'static str>,
    /// Fields the API can set but not read back: sent on create, never compared.
    pub write_only: Vec<&'static str>,
    /// Fields the API reads but cannot write: a difference is a manual step.
    pub read_only: Vec<&'static str>,
    /// Teams exist only as names on users (Talkdesk): a team no live user holds is
    /// sent by name with a warning, not refused.
    pub teams_by_name: bool,
    /// What the provider could not read and why, for the plan's warnings.
    pub notes: Vec<String>,
}

impl Capabilities {
    /// Talkdesk with every surface granted: roles and teams by name through SCIM (no
    /// role catalog, no team creation), deactivation, queues, Phone and add-ons; the
    /// extension is read (REST) but no public API writes it; time zone and language
    /// are in no public API.
    pub fn talkdesk() -> Self {
        Capabilities {
            create_teams: false,
            deactivate: true,
            roles: true,
            immutable_fields: Vec::new(),
            phone: true,
            addons: true,
            role_catalog: false,
            unmanaged: vec!["time_zone", "language"],
            write_only: Vec::new(),
            read_only: vec!["extension"],
            teams_by_name: true,
            notes: Vec::new(),
        }
    }

    /// CloudTalk: no deactivation (offboard), roles and group membership unreadable
    /// (roles are taken from the roster; teams are set on create only), the extension
    /// fixed after creation, no team creation.
    pub fn cloudtalk() -> Self {
        Capabilities {
            create_teams: false,
            deactivate: false,
            roles: false,
            immutable_fields: vec!["extension"],
            phone: false,
            addons: false,
            role_catalog: false,
            unmanaged: vec!["queues", "time_zone", "language"],
            write_only: vec!["teams"],
            read_only: Vec::new(),
            teams_by_name: false,
            notes: Vec::new(),
        }
    }

    /// Whether the provider plans changes to this roster field.
    pub fn manages(&self, field: &str) -> bool {
        let base = field.split('.').next().unwrap_or(field);
        !self.unmanaged.contains(&base)
            && (base != "addons" || self.addons)
            && (base != "phone" || self.phone)
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

/// One user's state before and after, as the guards see it.
#[derive(Debug, Clone)]
pub(super) struct Seat {
    pub email: String,
    pub active: bool,
    pub admin: bool,
    pub addons: BTreeSet<String>,
    pub teams: BTreeSet<String>,
    pub queues: BTreeSet<String>,
}

/// A change with the guard-relevant state on both sides.
pub(super) struct Planned {
    pub change: Change,
    /// The live role, for notes about what depends on it.
    pub role: Option<String>,
    pub before: Option<Seat>,
    pub after: Seat,
    pub admin_order: bool,
}

/// Everything `diff` works out before guards and ordering.
pub(super) struct Diffed {
    pub planned: Vec<Planned>,
    pub baseline: Baseline,
    pub warnings: Vec<String>,
    pub manual_steps: Vec<String>,
    pub notes: Vec<String>,
    pub team_aliases: BTreeMap<String, String>,
    pub admin_roles: BTreeSet<String>,
}

pub(super) fn changes(
    roster: &Roster,
    live: &Account,
    caps: &Capabilities,
) -> Result<Diffed, Vec<PlanError>> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut manual_steps = Vec::new();
    let mut planned = Vec::new();
    let admin_roles: BTreeSet<String> = roster.admin_roles().into_iter().collect();
    let is_admin = |role: Option<&str>| {
        role.is_some_and(|r| admin_roles.iter().any(|a| a.eq_ignore_ascii_case(r)))
    };

    // Roles: every declared role must exist in the account when the provider reads them.
    if caps.roles && caps.role_catalog {
        for (i, r) in roster.roles.iter().enumerate() {
            if !live
                .roles
                .iter()
                .any(|l| l.name.eq_ignore_ascii_case(&r.name))
            {
                errors.push(PlanError {
                    pointer: format!("/roles/{i}/name"),
                    message: format!("role {:?} does not exist in the account", r.name),
                    hint: "create the role in the vendor's admin console, or use an existing one"
                        .into(),
                });
            }
        }
    }

    // Teams: by name, then by a former name; missing ones are created or refused.
    let live_teams: BTreeSet<&str> = live.teams.iter().map(|t| t.name.as_str()).collect();
    let mut team_aliases = BTreeMap::new();
    let mut live_to_declared: HashMap<String, String> = HashMap::new();
    for (i, t) in roster.teams.iter().enumerate() {
        if live_teams.contains(t.name.as_str()) {
            continue;
        }
        if let Some(old) = t
            .previously
            .iter()
            .find(|p| live_teams.contains(p.as_str()))
        {
            team_aliases.insert(t.name.clone(), old.clone());
            live_to_declared.insert(old.clone(), t.name.clone());
            manual_steps.push(format!(
                "rename team {old:?} to {:?} in the vendor's admin console (its members are kept)",
                t.name
            ));
            continue;
        }
        if let Some(near) = live
            .teams
            .iter()
            .find(|l| normalize(&l.name) == normalize(&t.name))
        {
            warnings.push(format!(
                "team {:?} differs from existing team {:?} only by case or spacing",
                t.name, near.name
            ));
        }
        if caps.teams_by_name {
            warnings.push(format!(
                "team {:?} is held by no live user: it is sent by name and must already exist in Talkdesk (no API creates teams)",
                t.name
            ));
        } else if caps.create_teams {
            planned.push(Planned {
                role: None,
                change: Change {
                    action: Action::CreateTeam,
                    kind: Kind::Team,
                    key: t.name.clone(),
                    id: None,
                    phase: Phase::CreateTeams,
                    fields: BTreeMap::from([field("name", Value::Null, json!(t.name))]),
                    precondition: None,
                },
                before: None,
                after: Seat::none(),
                admin_order: false,
            });
        } else {
            errors.push(PlanError {
                pointer: format!("/teams/{i}/name"),
                message: format!("team {:?} does not exist and this provider cannot create teams", t.name),
                hint: "create the team in the vendor's admin console first, or name an existing team (`previously:` for a rename)".into(),
            });
        }
    }
    for (i, g) in roster
        .queues
        .iter()
        .enumerate()
        .filter(|_| caps.manages("queues"))
    {
        if !live.queues.iter().any(|l| &l.name == g) {
            errors.push(PlanError {
                pointer: format!("/queues/{i}"),
                message: format!("queue {g:?} does not exist in the account"),
                hint: "create it in the vendor's admin console first".into(),
            });
        }
    }
    if caps.phone {
        errors.extend(phone_errors(roster, live));
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    for (declared, managed, what) in [
        (
            roster.users.iter().any(|u| u.phone.is_some()),
            caps.phone,
            "phone settings",
        ),
        (
            roster.users.iter().any(|u| u.addons.is_some()),
            caps.addons,
            "add-on licenses",
        ),
    ] {
        if declared && !managed {
            warnings.push(format!(
                "{what} are declared but this provider does not manage them; they are not planned"
            ));
        }
    }
    if !caps.roles {
        warnings.push("roles cannot be read or changed through this API: the roster's roles are taken as they are, and a role change is made in the vendor's dashboard".into());
    }
    if caps.roles && !caps.role_catalog && !live.users.is_empty() {
        for r in &roster.roles {
            if !live.users.iter().any(|u| {
                u.role
                    .as_deref()
                    .is_some_and(|l| l.eq_ignore_ascii_case(&r.name))
            }) {
                warnings.push(format!(
                    "role {:?} is held by no live user: the account has no role list to check it against, so a misspelt role is refused only when it is sent",
                    r.name
                ));
            }
        }
    }
    warnings.extend(caps.notes.iter().cloned());
    for field in &caps.unmanaged {
        let declared = match *field {
            "teams" => roster.users.iter().any(|u| u.teams.is_some()),
            "queues" => roster.users.iter().any(|u| u.queues.is_some()),
            "extension" => roster.users.iter().any(|u| u.extension.is_some()),
            "time_zone" => roster.users.iter().any(|u| u.time_zone.is_some()),
            "language" => roster.users.iter().any(|u| u.language.is_some()),
            _ => false,
        };
        if declared {
            warnings.push(format!(
                "`{field}` is declared but cannot be read or written with this provider and these credentials; it is not planned"
            ));
        }
    }

    // Live users, normalized to declared team names (copied only when a team was
    // renamed: the common case borrows).
    let live_users: Cow<'_, [User]> = if !caps.roles {
        // Roles cannot be read: the roster's word is taken for declared users, so the
        // admin floor counts declared administrators (and their offboarding).
        let declared: HashMap<String, &str> = roster
            .users
            .iter()
            .flat_map(|d| {
                std::iter::once(&d.email)
                    .chain(&d.previously)
                    .map(move |e| (e.to_lowercase(), d.role.as_str()))
            })
            .collect();
        Cow::Owned(
            live.users
                .iter()
                .map(|u| {
                    let mut u = u.clone();
                    u.role = declared.get(&u.email.to_lowercase()).map(|r| r.to_string());
                    u
                })
                .collect(),
        )
    } else if live_to_declared.is_empty() {
        Cow::Borrowed(&live.users)
    } else {
        Cow::Owned(
            live.users
                .iter()
                .map(|u| {
                    let mut u = u.clone();
                    u.teams = u
                        .teams
                        .iter()
                        .map(|t| {
                            live_to_declared
                                .get(t)
                                .cloned()
                                .unwrap_or_else(|| t.clone())
                        })
                        .collect();
                    u
                })
                .collect(),
        )
    };
    let mut by_email: HashMap<Cow<'_, str>, usize> = HashMap::with_capacity(live.users.len());
    by_email.extend(
        live.users
            .iter()
            .enumerate()
            .map(|(i, u)| (lowercase(&u.email), i)),
    );
    let mut matched = vec![false; live_users.len()];
    let seat_of = |u: &User| Seat {
        email: u.email.to_lowercase(),
        active: u.status == Status::Active,
        admin: is_admin(u.role.as_deref()),
        addons: u.addons.clone(),
        teams: u.teams.clone(),
        queues: u.queues.clone(),
    };

    for decl in &roster.users {
        let found = std::iter::once(&decl.email)
            .chain(&decl.previously)
            .find_map(|e| by_email.get(&lowercase(e)).copied());
        let want = decl.status();
        let Some(idx) = found else {
            if want == Status::Active {
                let after = desired_seat(decl, None, caps, &is_admin);
                planned.push(Planned {
                    admin_order: after.admin,
                    role: None,
                    change: create(decl, caps),
                    before: None,
                    after,
                });
                if let Some(ext) = decl
                    .extension
                    .as_ref()
                    .filter(|_| caps.read_only.contains(&"extension"))
                {
                    manual_steps.push(format!(
                        "{}: set extension {ext} in the vendor's console once the user exists (the API cannot set it)",
                        decl.email
                    ));
                }
            }
            continue;
        };
        matched[idx] = true;
        let live_user = &live_users[idx];
        if let Some(ext) = &live_user.external_id
            && decl.external_id.as_deref() != Some(ext.as_str())
        {
            warnings.push(format!(
                "{} is managed by another system (externalId {ext:?}) and is not modified; claim it with `external_id: {ext:?}`",
                live_user.email
            ));
            continue;
        }
        let (mut fields, steps) = update_fields(decl, live_user, caps);
        manual_steps.extend(steps);
        let action = match (live_user.status, want) {
            (Status::Inactive, Status::Active) => {
                fields.insert(
                    "status".into(),
                    change_of(json!("inactive"), json!("active")),
                );
                Action::Reactivate
            }
            (Status::Active, Status::Inactive) => {
                fields = removal_fields(live_user, caps);
                if caps.deactivate {
                    Action::Deactivate
                } else {
                    Action::Offboard
                }
            }
            (Status::Inactive, Status::Inactive) => continue,
            (Status::Active, Status::Active) if fields.is_empty() => continue,
            (Status::Active, Status::Active) => Action::Update,
        };
        let before = seat_of(live_user);
        let after = match action {
            Action::Deactivate | Action::Offboard => Seat {
                active: false,
                ..before.clone()
            },
            _ => desired_seat(decl, Some(live_user), caps, &is_admin),
        };
        let phase = match action {
            Action::Reactivate => Phase::CreateUsers,
            Action::Deactivate | Action::Offboard => Phase::Deactivations,
            _ if after.admin && !before.admin => Phase::Promotions,
            _ if before.admin && !after.admin => Phase::Demotions,
            _ => Phase::Updates,
        };
        planned.push(Planned {
            admin_order: after.admin,
            role: live_user.role.clone(),
            change: Change {
                action,
                kind: Kind::User,
                key: decl.email.clone(),
                id: Some(live_user.id.clone()),
                phase,
                fields,
                precondition: Some(precondition(&live.users[idx])),
            },
            before: Some(before),
            after,
        });
    }

    // Live users the roster does not declare.
    let ignored = ignore_set(&roster.policy.ignore);
    for (idx, u) in live_users.iter().enumerate() {
        if matched[idx] || ignored.is_match(u.email.to_lowercase()) {
            continue;
        }
        if u.status != Status::Active || roster.policy.unmanaged_users == Unmanaged::Ignore {
            continue;
        }
        if let Some(ext) = &u.external_id {
            warnings.push(format!(
                "{} is not in the roster but is managed by another system (externalId {ext:?}); deprovision it there",
                u.email
            ));
            continue;
        }
        let before = seat_of(u);
        planned.push(Planned {
            admin_order: false,
            role: u.role.clone(),
            change: Change {
                action: if caps.deactivate {
                    Action::Deactivate
                } else {
                    Action::Offboard
                },
                kind: Kind::User,
                key: u.email.clone(),
                id: Some(u.id.clone()),
                phase: Phase::Deactivations,
                fields: removal_fields(u, caps),
                precondition: Some(precondition(&live.users[idx])),
            },
            after: Seat {
                active: false,
                ..before.clone()
            },
            before: Some(before),
        });
    }
    if !caps.deactivate {
        for p in &planned {
            let step = match p.change.action {
                Action::Offboard => {
                    "Inactive in Dashboard → Settings → Agents (the API cannot deactivate)"
                }
                Action::Reactivate => {
                    "Active in Dashboard → Settings → Agents (the API cannot reactivate)"
                }
                _ => continue,
            };
            manual_steps.push(format!("set {} {step}", p.change.key));
        }
    }

    let notes = if caps.addons {
        permission_set_notes(&planned, &mut manual_steps)
    } else {
        Vec::new()
    };
    // Team and ring-group membership matters only for warnings about changes.
    let baseline = Baseline::of(&live_users, &is_admin, !planned.is_empty());
    Ok(Diffed {
        planned,
        baseline,
        warnings,
        manual_steps,
        notes,
        team_aliases,
        admin_roles,
    })
}

/// Phone settings that cannot be applied to this account: numbers it has not bought,
/// SIP phones it does not own, caller IDs that are not the user's or the account's.
fn phone_errors(roster: &Roster, live: &Account) -> Vec<PlanError> {
    let mut errors = Vec::new();
    for (i, u) in roster.users.iter().enumerate() {
        let Some(phone) = &u.phone else { continue };
        let base = format!("/users/{i}/phone");
        for (j, n) in phone.numbers.iter().flatten().enumerate() {
            if !live.phone_numbers.contains(n) {
                errors.push(PlanError {
                    pointer: format!("{base}/numbers/{j}"),
                    message: format!("number {n} is not one of the account's purchased numbers"),
                    hint: "buy the number in Talkdesk Phone first, or assign one the account has"
                        .into(),
                });
            }
        }
        for (j, d) in phone.sip_phones.iter().flatten().enumerate() {
            if !live.phone_devices.contains(d) {
                errors.push(PlanError {
                    pointer: format!("{base}/sip_phones/{j}"),
                    message: format!("SIP phone {d:?} does not exist in the account"),
                    hint: "register the device in Talkdesk Phone first".into(),
                });
            }
        }
        if let Some(c) = &phone.caller_id {
            let own = phone.numbers.as_ref().is_some_and(|n| n.contains(c));
            if !own && !live.phone_numbers.contains(c) {
                errors.push(PlanError {
                    pointer: format!("{base}/caller_id"),
                    message: format!(
                        "caller ID {c} is neither one of the user's numbers nor an account number"
                    ),
                    hint: "use one of the user's `numbers` or a number the account owns".into(),
                });
            }
        }
    }
    errors
}

/// The Salesforce permission set a role gets when a license is added (seed 003): a
/// role containing "Admin" gets Talkdesk Admin, "Supervisor" gets Talkdesk Supervisor
/// (Admin for Voice, which has no supervisor set), any other Talkdesk Agent.
pub fn permission_set(role: &str, addon: &str) -> &'static str {
    let voice = addon == "salesforce_voice";
    if role.contains("Admin") || (voice && role.contains("Supervisor")) {
        "Talkdesk Admin"
    } else if role.contains("Supervisor") {
        "Talkdesk Supervisor"
    } else {
        "Talkdesk Agent"
    }
}

/// Notes on the permission sets new Salesforce licenses bring, and manual steps where a
/// role change leaves an existing license's permission set behind (sets are assigned
/// only when a license is added).
fn permission_set_notes(planned: &[Planned], manual_steps: &mut Vec<String>) -> Vec<String> {
    let mut notes = Vec::new();
    let strs = |v: Option<&Value>| -> BTreeSet<String> {
        v.and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    };
    for p in planned
        .iter()
        .filter(|p| p.change.kind == Kind::User && p.after.active)
    {
        let c = &p.change;
        let role = c
            .fields
            .get("role")
            .and_then(|f| f.to.as_str())
            .map(String::from)
            .or_else(|| p.role.clone());
        let Some(role) = role else { continue };
        let (before, after) = match c.fields.get("addons") {
            Some(f) => (strs(Some(&f.from)), strs(Some(&f.to))),
            None => (
                p.before
                    .as_ref()
                    .map(|b| b.addons.clone())
                    .unwrap_or_default(),
                p.after.addons.clone(),
            ),
        };
        for addon in after.iter().filter(|a| a.starts_with("salesforce")) {
            let set = permission_set(&role, addon);
            if !before.contains(addon) {
                notes.push(format!(
                    "{}: {addon} license brings the permission set {set:?} (role {role})",
                    c.key
                ));
            } else if c.fields.contains_key("role") {
                manual_steps.push(format!(
                    "{}: role changes to {role}, but permission sets follow only new licenses: set {set:?} for {addon} in Subscriptions → Change Permission Set",
                    c.key
                ));
            }
        }
    }
    notes
}

/// The live account's counts before any change: what the guards start from.
pub(super) struct Baseline {
    pub seats: usize,
    pub admins: usize,
    pub addons: BTreeMap<String, usize>,
    /// (is a team, name) → active members.
    pub members: HashMap<(bool, String), isize>,
    /// Lowercased email → whether an active administrator, for `required_admins`.
    pub admin_by_email: HashMap<String, bool>,
}

impl Baseline {
    fn of(users: &[User], is_admin: &dyn Fn(Option<&str>) -> bool, members_too: bool) -> Baseline {
        let mut addons: HashMap<&str, usize> = HashMap::new();
        let mut members: HashMap<(bool, &str), isize> = HashMap::new();
        let (mut seats, mut admins) = (0, 0);
        let mut admin_by_email = HashMap::new();
        for u in users.iter().filter(|u| u.status == Status::Active) {
            seats += 1;
            let admin = is_admin(u.role.as_deref());
            if admin {
                admins += 1;
                admin_by_email.insert(u.email.to_lowercase(), true);
            }
            for a in &u.addons {
                *addons.entry(a).or_default() += 1;
            }
            if !members_too {
                continue;
            }
            for t in &u.teams {
                *members.entry((true, t)).or_default() += 1;
            }
            for g in &u.queues {
                *members.entry((false, g)).or_default() += 1;
            }
        }
        Baseline {
            seats,
            admins,
            addons: addons
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            members: members
                .into_iter()
                .map(|((t, k), v)| ((t, k.to_string()), v))
                .collect(),
            admin_by_email,
        }
    }
}

/// A lowercased email, borrowed when it already is.
fn lowercase(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase()) || !s.is_ascii() {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

impl Seat {
    fn none() -> Self {
        Seat {
            email: String::new(),
            active: false,
            admin: false,
            addons: BTreeSet::new(),
            teams: BTreeSet::new(),
            queues: BTreeSet::new(),
        }
    }
}

/// Lowercase with all whitespace removed: what makes two team names "the same" to a
/// person but different to the API.
fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

fn field(name: &str, from: Value, to: Value) -> (String, FieldChange) {
    (name.to_string(), FieldChange { from, to })
}

fn change_of(from: Value, to: Value) -> FieldChange {
    FieldChange { from, to }
}

fn set_value(items: &BTreeSet<String>) -> Value {
    json!(items)
}

fn desired_seat(
    decl: &UserDecl,
    live: Option<&User>,
    caps: &Capabilities,
    is_admin: &dyn Fn(Option<&str>) -> bool,
) -> Seat {
    let keep = |d: &Option<Vec<String>>, l: Option<&BTreeSet<String>>| match d {
        Some(v) => v.iter().cloned().collect(),
        None => l.cloned().unwrap_or_default(),
    };
    Seat {
        email: decl.email.to_lowercase(),
        active: decl.status() == Status::Active,
        admin: is_admin(Some(&decl.role)),
        addons: if caps.addons {
            keep(&decl.addons, live.map(|l| &l.addons))
        } else {
            live.map(|l| l.addons.clone()).unwrap_or_default()
        },
        teams: keep(&decl.teams, live.map(|l| &l.teams)),
        queues: if caps.manages("queues") {
            keep(&decl.queues, live.map(|l| &l.queues))
        } else {
            live.map(|l| l.queues.clone()).unwrap_or_default()
        },
    }
}

fn create(decl: &UserDecl, caps: &Capabilities) -> Change {
    let mut fields = BTreeMap::new();
    let mut put = |k: &str, v: Value| {
        if !v.is_null() && caps.manages(k) && !caps.read_only.contains(&k) {
            fields.insert(k.to_string(), change_of(Value::Null, v));
        }
    };
    put("email", json!(decl.email));
    put("name", json!(decl.name));
    put("role", json!(decl.role));
    put(
        "teams",
        decl.teams
            .as_ref()
            .map_or(Value::Null, |t| set_value(&t.iter().cloned().collect())),
    );
    put(
        "queues",
        decl.queues
            .as_ref()
            .map_or(Value::Null, |t| set_value(&t.iter().cloned().collect())),
    );
    put("extension", json!(decl.extension));
    put("time_zone", json!(decl.time_zone));
    put("language", json!(decl.language));
    let set_of = |v: &Option<Vec<String>>| {
        v.as_ref()
            .map_or(Value::Null, |t| set_value(&t.iter().cloned().collect()))
    };
    if caps.addons {
        put("addons", set_of(&decl.addons));
    }
    if let Some(phone) = decl.phone.as_ref().filter(|_| caps.phone) {
        for (k, v) in phone_fields(phone) {
            put(&format!("phone.{k}"), v);
        }
    }
    Change {
        action: Action::Create,
        kind: Kind::User,
        key: decl.email.clone(),
        id: None,
        phase: Phase::CreateUsers,
        fields,
        precondition: None,
    }
}

/// A deactivation or offboard clears queues (Talkdesk leaves them in place), and an
/// offboard also leaves every team.
fn removal_fields(u: &User, caps: &Capabilities) -> BTreeMap<String, FieldChange> {
    // Queues stay: routing drops inactive agents by itself, and on Talkdesk a user may
    // not lose its last queue.
    let mut fields = BTreeMap::from([field("status", json!("active"), json!("inactive"))]);
    if !caps.deactivate && !u.teams.is_empty() {
        fields.insert("teams".into(), change_of(set_value(&u.teams), json!([])));
    }
    fields
}

/// The fields of a declared user that differ from the live one; fields left out of the
/// roster are not compared. Returns manual steps for fields the provider cannot change.
fn update_fields(
    decl: &UserDecl,
    live: &User,
    caps: &Capabilities,
) -> (BTreeMap<String, FieldChange>, Vec<String>) {
    // Fields compare natively first; JSON values are built only for the few that
    // differ, since this runs for every declared user.
    let mut fields = BTreeMap::new();
    let mut steps = Vec::new();
    let mut put = |name: &str, from: Value, to: Value| {
        if !caps.manages(name) || caps.write_only.contains(&name) {
            return;
        }
        if caps.immutable_fields.contains(&name) || caps.read_only.contains(&name) {
            steps.push(format!("{}: change {name} from {from} to {to} in the vendor's console (the API cannot change it)", decl.email));
            return;
        }
        fields.insert(name.to_string(), change_of(from, to));
    };
    let differs = |live: Option<&str>, want: Option<&str>| want.is_some() && live != want;
    if !live.email.eq_ignore_ascii_case(&decl.email) {
        put("email", json!(live.email), json!(decl.email));
    }
    if live.name != decl.name {
        put("name", json!(live.name), json!(decl.name));
    }
    if caps.roles
        && !live
            .role
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(&decl.role))
    {
        put("role", json!(live.role), json!(decl.role));
    }
    let lists = [
        ("teams", &decl.teams, &live.teams, true),
        ("queues", &decl.queues, &live.queues, true),
        ("addons", &decl.addons, &live.addons, caps.addons),
    ];
    for (name, want, have, managed) in lists {
        let Some(want) = want.as_ref().filter(|_| managed) else {
            continue;
        };
        if !same_set(want, have) {
            put(
                name,
                set_value(have),
                json!(want.iter().collect::<BTreeSet<_>>()),
            );
        }
    }
    if differs(live.extension.as_deref(), decl.extension.as_deref()) {
        put("extension", json!(live.extension), json!(decl.extension));
    }
    if differs(live.time_zone.as_deref(), decl.time_zone.as_deref()) {
        put("time_zone", json!(live.time_zone), json!(decl.time_zone));
    }
    if let Some(lang) = &decl.language
        && !live
            .language
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case(lang))
    {
        put("language", json!(live.language), json!(lang));
    }
    if let Some(phone) = decl.phone.as_ref().filter(|_| caps.phone) {
        let current = live.phone.clone().unwrap_or_default();
        let now: BTreeMap<&str, Value> = phone_fields(&current).into_iter().collect();
        for (k, v) in phone_fields(phone) {
            let from = now.get(k).cloned().unwrap_or(Value::Null);
            if !v.is_null() && from != v {
                put(&format!("phone.{k}"), from, v);
            }
        }
    }
    (fields, steps)
}

/// Whether a declared list and a live set hold the same names, ignoring order and
/// repeats.
fn same_set(want: &[String], have: &BTreeSet<String>) -> bool {
    if want.len() < have.len() || !want.iter().all(|w| have.contains(w)) {
        return false;
    }
    // Every declared name is live; the sets are equal unless the declared list has
    // repeats that hide a live name it lacks. Lists are short: count the distinct.
    let distinct = want
        .iter()
        .enumerate()
        .filter(|(i, w)| !want[..*i].contains(w))
        .count();
    distinct == have.len()
}

/// The phone settings as (field, value) pairs; lists as sorted sets, absent as null.
fn phone_fields(p: &PhoneSettings) -> Vec<(&'static str, Value)> {
    let set = |v: &Option<Vec<String>>| {
        v.as_ref()
            .map_or(Value::Null, |v| json!(v.iter().collect::<BTreeSet<_>>()))
    };
    vec![
        ("extension", json!(p.extension)),
        ("caller_id", json!(p.caller_id)),
        ("numbers", set(&p.numbers)),
        ("sip_phones", set(&p.sip_phones)),
        ("call_waiting", json!(p.call_waiting)),
        ("call_forward", json!(p.call_forward)),
        ("default_country_code", json!(p.default_country_code)),
        ("do_not_disturb", json!(p.do_not_disturb)),
    ]
}

/// The live object's `updated_at`, or a hash of its fields when the vendor has none.
pub fn precondition(u: &User) -> String {
    match &u.updated_at {
        Some(t) => t.clone(),
        None => {
            let mut u = u.clone();
            u.phone = None; // read only for some users; not part of the identity
            let bytes = serde_json::to_vec(&u).unwrap_or_default();
            format!("sha256:{}", &hex::encode(Sha256::digest(&bytes))[..16])
        }
    }
}
