//! A sandbox account seeded from a roster, with drift, so that a first plan has
//! something to do: creates, updates, a reactivation and deactivations.

use roster_core::config::{Roster, UserDecl};
use roster_core::model::{Named, Status};

use super::{SandboxAddon, SandboxUser, State};

/// Add-on holders left unassigned (they become add-on changes).
const UNASSIGNED: usize = 3;

/// Phone settings, purchased numbers, devices and add-ons for the seeded users.
fn phone_and_addons(s: &mut State, roster: &Roster) {
    let id_of = |s: &State, d: &UserDecl| {
        let email = d.previously.first().unwrap_or(&d.email);
        s.users
            .iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .map(|u| u.id.clone())
    };
    for d in &roster.users {
        let Some(phone) = &d.phone else { continue };
        s.phone_numbers
            .extend(phone.numbers.iter().flatten().cloned());
        s.phone_devices
            .extend(phone.sip_phones.iter().flatten().cloned());
        let Some(id) = id_of(s, d) else { continue };
        // Drift: call waiting and do-not-disturb the other way round, no caller ID.
        let mut live = s.phone_of(&id);
        live.numbers = phone.numbers.clone().or(live.numbers);
        live.sip_phones = phone.sip_phones.clone().or(live.sip_phones);
        live.call_waiting = phone.call_waiting.map(|b| !b).or(Some(true));
        live.do_not_disturb = phone.do_not_disturb.map(|b| !b).or(live.do_not_disturb);
        live.call_forward = phone.call_forward.clone().or(live.call_forward);
        live.default_country_code = phone
            .default_country_code
            .clone()
            .or(live.default_country_code);
        live.extension = phone.extension.clone();
        s.phone.insert(id, live);
    }
    s.phone_numbers
        .extend((1..=3).map(|i| format!("+35121123990{i}")));
    s.phone_devices
        .extend((1..=3).map(|i| format!("sip-spare-{i}")));
    let mut unassigned = 0;
    for (name, entitlement) in &roster.policy.addons {
        let mut assigned = Vec::new();
        for d in roster
            .users
            .iter()
            .filter(|d| d.addons.iter().flatten().any(|a| a == name))
        {
            let Some(id) = id_of(s, d) else { continue };
            if name == "salesforce" && unassigned < UNASSIGNED {
                unassigned += 1;
                continue;
            }
            assigned.push(id);
        }
        s.addons.push(SandboxAddon {
            name: name.clone(),
            entitlement: *entitlement,
            assigned,
        });
    }
}

/// Declared users left out of the account (they become creates).
const MISSING: usize = 5;
/// Declared users with a changed field (they become updates).
const CHANGED: usize = 6;

/// An account that matches `roster` except for deliberate drift: five declared
/// non-admins missing, six with a field changed (extension, name, team, queue, a
/// demotion, a role), one administrator live as a Supervisor (a promotion), one inactive, users with
/// `previously` under their old email, phone settings that differ, three add-on
/// licenses not yet assigned, and two people who have left the company but are still
/// active.
pub fn from_roster(roster: &Roster) -> State {
    let mut s = State {
        roles: State::default_roles(),
        ..State::default()
    };
    for r in &roster.roles {
        if !s.roles.iter().any(|l| l.name.eq_ignore_ascii_case(&r.name)) {
            let id = format!("role-{}", s.roles.len() + 1);
            s.roles.push(Named {
                id,
                name: r.name.clone(),
            });
        }
    }
    s.teams = roster
        .teams
        .iter()
        .enumerate()
        .map(|(i, t)| Named {
            id: format!("{}", i + 1),
            name: t.name.clone(),
        })
        .collect();
    s.queues = roster
        .queues
        .iter()
        .enumerate()
        .map(|(i, g)| Named {
            id: format!("rg-{}", i + 1),
            name: g.name().to_string(),
        })
        .collect();
    let admin_roles = roster.admin_roles();
    let active = || roster.users.iter().filter(|u| u.status() == Status::Active);
    let admins: Vec<&UserDecl> = active()
        .filter(|d| admin_roles.contains(&d.role.to_lowercase()))
        .collect();
    // The last of several administrators is live as a Supervisor: a promotion.
    let promoted = admins
        .last()
        .filter(|_| admins.len() > 1)
        .map(|d| d.email.clone());
    let mut drifted = 0;
    for decl in active() {
        let admin = admin_roles.contains(&decl.role.to_lowercase());
        let mut u = user(&mut s, decl);
        if promoted.as_ref() == Some(&decl.email) {
            u.role = s.roles[1].id.clone();
        }
        if !admin {
            drifted += 1;
            match drifted {
                n if n <= MISSING => continue,
                n if n <= MISSING + CHANGED => change(&s, &mut u, n - MISSING),
                n if n == MISSING + CHANGED + 1 => u.status = "inactive".into(),
                _ => {}
            }
        }
        s.users.push(u);
    }
    phone_and_addons(&mut s, roster);
    let agent = s
        .roles
        .iter()
        .find(|r| r.name == "Agent")
        .map(|r| r.id.clone())
        .unwrap_or_default();
    let domain = roster
        .users
        .first()
        .and_then(|u| u.email.split_once('@'))
        .map_or("acme.example", |(_, d)| d)
        .to_string();
    for (i, name) in ["Former Agent One", "Former Agent Two"].iter().enumerate() {
        let stamp = s.stamp();
        let mut u = SandboxUser::new(
            format!("{}", 9000 + i + 1),
            format!("former.agent{}@{domain}", i + 1),
            name.to_string(),
            agent.clone(),
            stamp,
        );
        u.queues = s
            .queues
            .first()
            .map(|g| vec![g.id.clone()])
            .unwrap_or_default();
        s.users.push(u);
    }
    s
}

/// The `kind`th drift of a declared user: an extension (which no public Talkdesk API
/// writes: a manual step), then one of each update the documented contract can write:
/// a name, a team move, a queue move, a demotion (the live user is an administrator the
/// roster says is not) and a role change.
fn change(s: &State, u: &mut SandboxUser, kind: usize) {
    match kind {
        1 => u.extension = Some(format!("{}", 9000 + MISSING + kind)),
        2 => u.name = format!("{} (old name)", u.name),
        3 => u.teams = other(&s.teams, &u.teams),
        4 => u.queues = other(&s.queues, &u.queues),
        5 => u.role = s.roles[0].id.clone(),
        _ => {
            u.role = s.roles[1..]
                .iter()
                .find(|r| r.id != u.role)
                .map_or(u.role.clone(), |r| r.id.clone())
        }
    }
}

/// The first of `all` that is not in `ids`, as the only member: a move.
fn other(all: &[Named], ids: &[String]) -> Vec<String> {
    all.iter()
        .find(|n| !ids.contains(&n.id))
        .map(|n| vec![n.id.clone()])
        .unwrap_or_default()
}

fn user(s: &mut State, d: &UserDecl) -> SandboxUser {
    let ids = |names: &Option<Vec<String>>, list: &[Named]| -> Vec<String> {
        names
            .iter()
            .flatten()
            .filter_map(|n| list.iter().find(|l| &l.name == n).map(|l| l.id.clone()))
            .collect()
    };
    let stamp = s.stamp();
    SandboxUser {
        id: format!("{}", 1000 + s.seq),
        name: d.name.clone(),
        // A user renamed through `previously` still has the old email live.
        email: d.previously.first().unwrap_or(&d.email).clone(),
        role: s
            .roles
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(&d.role))
            .map(|r| r.id.clone())
            .unwrap_or_default(),
        status: "active".into(),
        pending: d.expects_pending(),
        extension: d.extension.clone(),
        queues: ids(&d.queues, &s.queues),
        teams: ids(&d.teams, &s.teams),
        time_zone: d.time_zone.clone(),
        language: d.language.clone(),
        created_at: stamp.clone(),
        updated_at: stamp,
        external_id: None,
    }
}

/// The example account (`examples/acme`), built in, for `import --sandbox` when there
/// is no roster to seed from.
pub fn example() -> Roster {
    let text = include_bytes!("../../../examples/acme/roster.yaml");
    roster_core::config::load_str("examples/acme/roster.yaml", text)
        .map(|l| l.roster)
        .expect("the built-in example roster is valid (a test checks it)")
}
