//! Synthetic accounts and the rosters that match them, for load tests and benchmarks.

use std::fmt::Write;

use roster_core::model;

use crate::State;

/// A roster that matches `State::synthetic(n)` exactly, as YAML text.
pub fn roster(n: usize, rename: usize) -> String {
    let mut out = String::from(
        "version: 1\nprovider: { kind: talkdesk, account: bench }\npolicy: { unmanaged_users: ignore }\nroles:\n  - { name: Administrator, admin: true }\n  - { name: Agent }\nteams: [ { name: Support } ]\nqueues: [support]\nusers:\n",
    );
    for i in 0..n {
        let role = if i < 2 { "Administrator" } else { "Agent" };
        let name = if i >= 2 && i < 2 + rename {
            format!("Renamed {i:06}")
        } else {
            format!("Agent {i:06}")
        };
        let _ = writeln!(
            out,
            "  - {{ email: agent{i:06}@acme.example, name: {name}, role: {role}, teams: [Support], queues: [support], extension: \"{}\", time_zone: Europe/Lisbon, language: en-US }}",
            10_000 + i
        );
    }
    out
}

/// The account `State::synthetic(n)` describes, as the planner sees it.
pub fn account(n: usize) -> model::Account {
    let s = State::synthetic(n);
    let users = s
        .users
        .iter()
        .map(|u| model::User {
            id: u.id.clone(),
            email: u.email.clone(),
            name: u.name.clone(),
            role: Some(
                if s.is_admin_role(&u.role) {
                    "Administrator"
                } else {
                    "Agent"
                }
                .to_string(),
            ),
            status: model::Status::Active,
            pending: false,
            teams: ["Support".to_string()].into(),
            queues: ["support".to_string()].into(),
            extension: u.extension.clone(),
            time_zone: u.time_zone.clone(),
            language: u.language.clone(),
            addons: Default::default(),
            phone: None,
            external_id: None,
            updated_at: Some(u.updated_at.clone()),
        })
        .collect();
    model::Account {
        roles: s.roles.clone(),
        teams: s.teams.clone(),
        queues: s.queues.clone(),
        users,
        ..Default::default()
    }
}
