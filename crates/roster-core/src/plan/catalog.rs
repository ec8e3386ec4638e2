//! What the roster names must exist in the account: roles, teams (or a former name),
//! queues and phone resources; and what the provider cannot plan at all. A roster that
//! names what the account lacks is refused as a whole, never half planned: roles, teams
//! and queues are checked before any user is matched, phone resources once the planning
//! pass has found whether anyone declares phone settings.

use std::collections::{BTreeMap, BTreeSet};

use foldhash::HashMap;
use serde_json::{Value, json};

use super::change_fields::field;
use super::planned::Planned;
use super::seat::Seat;
use super::survey::Survey;
use super::types::{Action, Change, Kind, Phase, PlanError};
use super::{Capabilities, Field};
use crate::config::Roster;
use crate::model::Account;

/// Declared team names resolved against the account's teams.
#[derive(Default)]
pub(super) struct Teams {
    /// Declared name → the live name it renames (`previously:`).
    pub aliases: BTreeMap<String, String>,
    /// Live name → declared name, to read live users in the roster's names.
    pub live_to_declared: HashMap<String, String>,
    /// Teams the plan creates.
    pub creates: Vec<Planned>,
    pub warnings: Vec<String>,
    pub manual_steps: Vec<String>,
    pub errors: Vec<PlanError>,
}

/// Declared roles that do not exist, when the provider can list roles.
pub(super) fn role_errors(roster: &Roster, live: &Account, caps: &Capabilities) -> Vec<PlanError> {
    if !(caps.roles && caps.role_catalog) {
        return Vec::new();
    }
    let exists = |name: &str| live.roles.iter().any(|l| l.name.eq_ignore_ascii_case(name));
    roster
        .roles
        .iter()
        .enumerate()
        .filter(|(_, r)| !exists(&r.name))
        .map(|(i, r)| PlanError {
            pointer: format!("/roles/{i}/name"),
            message: format!("role `{}` does not exist in the account", r.name),
            hint: "create the role in the vendor's admin console, or use an existing one".into(),
        })
        .collect()
}

/// Each declared team by name, then by a former name; a missing one is created, sent by
/// name (Talkdesk) or refused.
pub(super) fn teams(roster: &Roster, live: &Account, caps: &Capabilities) -> Teams {
    let live_teams: BTreeSet<&str> = live.teams.iter().map(|t| t.name.as_str()).collect();
    let mut out = Teams::default();
    for (i, t) in roster.teams.iter().enumerate() {
        if live_teams.contains(t.name.as_str()) {
            continue;
        }
        if let Some(old) = t
            .previously
            .iter()
            .find(|p| live_teams.contains(p.as_str()))
        {
            out.aliases.insert(t.name.clone(), old.clone());
            out.live_to_declared.insert(old.clone(), t.name.clone());
            out.manual_steps.push(format!(
                "rename team `{old}` to `{}` in the vendor's admin console (its members are kept)",
                t.name
            ));
            continue;
        }
        if let Some(near) = live
            .teams
            .iter()
            .find(|l| normalize(&l.name) == normalize(&t.name))
        {
            out.warnings.push(format!(
                "team `{}` differs from existing team `{}` only by case or spacing",
                t.name, near.name
            ));
        }
        if caps.teams_by_name {
            out.warnings.push(format!(
                "team `{}` is held by no live user: it is sent by name and must already exist in Talkdesk (no API creates teams)",
                t.name
            ));
        } else if caps.create_teams {
            out.creates.push(create_team(&t.name));
        } else {
            out.errors.push(PlanError {
                pointer: format!("/teams/{i}/name"),
                message: format!("team `{}` does not exist and this provider cannot create teams", t.name),
                hint: "create the team in the vendor's admin console first, or name an existing team (`previously:` for a rename)".into(),
            });
        }
    }
    out
}

/// The change that creates a team.
fn create_team(name: &str) -> Planned {
    Planned {
        role: None,
        change: Change {
            action: Action::CreateTeam,
            kind: Kind::Team,
            key: name.to_string(),
            name: None,
            held: false,
            id: None,
            phase: Phase::CreateTeams,
            fields: BTreeMap::from([field(Field::Name, Value::Null, json!(name))]),
            precondition: None,
            needs: None,
        },
        before: None,
        after: Seat::none(),
        admin_order: false,
    }
}

/// Declared queues that do not exist, when the provider manages queues.
pub(super) fn queue_errors(roster: &Roster, live: &Account, caps: &Capabilities) -> Vec<PlanError> {
    if !caps.manages(Field::Queues) {
        return Vec::new();
    }
    roster
        .queues
        .iter()
        .enumerate()
        .map(|(i, q)| (i, q.name()))
        .filter(|(_, g)| !live.queues.iter().any(|l| l.name == *g))
        .map(|(i, g)| PlanError {
            pointer: format!("/queues/{i}"),
            message: format!("queue `{g}` does not exist in the account"),
            hint: "create it in the vendor's admin console first".into(),
        })
        .collect()
}

/// Phone settings that cannot be applied to this account: numbers it has not bought,
/// SIP phones it does not own, caller IDs that are not the user's or the account's.
pub(super) fn phone_errors(roster: &Roster, live: &Account) -> Vec<PlanError> {
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
                    message: format!("SIP phone `{d}` does not exist in the account"),
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

/// Warnings for what the roster declares but this provider and these credentials cannot
/// plan: phone settings, add-ons, roles, unread fields.
pub(super) fn coverage_warnings(
    roster: &Roster,
    live: &Account,
    caps: &Capabilities,
    survey: &Survey,
) -> Vec<String> {
    let mut warnings = Vec::new();
    for (field, managed, what) in [
        ("phone", caps.phone, "phone settings"),
        ("addons", caps.addons, "add-on licenses"),
    ] {
        if survey.declares(field) && !managed {
            warnings.push(format!(
                "{what} are declared but this provider does not manage them; they are not planned"
            ));
        }
    }
    if !caps.roles {
        warnings.push("roles cannot be read or changed through this API: the roster's roles are taken as they are, and a role change is made in the vendor's dashboard".into());
    }
    if caps.roles && !caps.role_catalog && !live.users.is_empty() {
        warnings.extend(unheld_role_warnings(roster, live));
    }
    warnings.extend(caps.notes.iter().cloned());
    for field in &caps.unmanaged {
        if survey.declares(field.as_str()) {
            warnings.push(format!(
                "`{field}` is declared but cannot be read or written with this provider and these credentials; it is not planned"
            ));
        }
    }
    warnings
}

/// Declared roles no live user holds: without a role list, the only hint of a typo.
fn unheld_role_warnings<'a>(
    roster: &'a Roster,
    live: &'a Account,
) -> impl Iterator<Item = String> + 'a {
    roster.roles.iter().filter_map(|r| {
        let held = live.users.iter().any(|u| {
            u.role
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case(&r.name))
        });
        (!held).then(|| format!(
            "role `{}` is held by no live user: the account has no role list to check it against, so a misspelt role is refused only when it is sent",
            r.name
        ))
    })
}

/// Lowercase with all whitespace removed: what makes two team names "the same" to a
/// person but different to the API.
fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}
