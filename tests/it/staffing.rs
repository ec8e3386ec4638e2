//! Staffing floors over the wire: a queue or team declaring `min_agents` keeps that
//! many active members at every step, or the plan is refused (exit 3) naming it.

use std::fs;

use roster_core::model::Named;
use roster_sandbox::{SandboxUser, State};

use crate::support::{Server, code, stderr, stdout};

fn user(id: &str, role: &str, queues: &[&str], teams: &[&str]) -> SandboxUser {
    SandboxUser {
        id: id.into(),
        name: id.into(),
        email: format!("{id}@acme.example"),
        role: role.into(),
        status: "active".into(),
        pending: false,
        extension: None,
        queues: queues.iter().map(|s| s.to_string()).collect(),
        teams: teams.iter().map(|s| s.to_string()).collect(),
        time_zone: None,
        language: None,
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: format!("2026-01-01T00:00:00Z#{id}"),
        external_id: None,
    }
}

/// Two administrators and the two Spanish-speaking agents of queue `spanish`.
fn account() -> State {
    let mut s = State {
        roles: State::default_roles(),
        ..State::default()
    };
    s.queues = vec![
        Named {
            id: "rg-1".into(),
            name: "spanish".into(),
        },
        Named {
            id: "rg-2".into(),
            name: "english".into(),
        },
    ];
    s.teams = vec![Named {
        id: "team-1".into(),
        name: "Latam".into(),
    }];
    let (admin, agent) = (s.roles[0].id.clone(), s.roles[2].id.clone());
    s.users = vec![
        user("a1", &admin, &["rg-2"], &[]),
        user("a2", &admin, &["rg-2"], &[]),
        user("s1", &agent, &["rg-1"], &["team-1"]),
        user("s2", &agent, &["rg-1"], &["team-1"]),
    ];
    s
}

/// The roster: `s2` leaves; `floor` is the queue's (or, with `team`, the team's).
fn roster(floor: u32, team: bool) -> String {
    let (queue, teams) = if team {
        (
            "spanish".to_string(),
            format!("teams:\n  - {{ name: Latam, min_agents: {floor} }}\n"),
        )
    } else {
        (
            format!("{{ name: spanish, min_agents: {floor} }}"),
            "teams: [{ name: Latam }]\n".to_string(),
        )
    };
    format!(
        "version: 1\nprovider: {{ kind: talkdesk, account: acme }}\npolicy: {{ max_deactivations: 1 }}\nroles:\n  - {{ name: Administrator, admin: true }}\n  - {{ name: Agent }}\n{teams}queues: [{queue}, english]\nusers:\n  - {{ email: a1@acme.example, name: a1, role: Administrator, queues: [english] }}\n  - {{ email: a2@acme.example, name: a2, role: Administrator, queues: [english] }}\n  - {{ email: s1@acme.example, name: s1, role: Agent, queues: [spanish], teams: [Latam] }}\n  - {{ email: s2@acme.example, name: s2, role: Agent, queues: [spanish], teams: [Latam], status: inactive }}\n"
    )
}

#[test]
fn a_queue_left_below_its_floor_refuses_the_plan_naming_it() {
    let server = Server::start(None, Some(&account()), &[]);
    fs::write(server.path("two.yaml"), roster(2, false)).unwrap();
    let out = server.roster(&["plan", "two.yaml", "--detailed-exitcode"]);
    let text = stdout(&out);
    assert_eq!(code(&out), 3, "{text}{}", stderr(&out));
    assert!(
        text.contains("queue `spanish` falls below its floor of 2 at change 1 of 1 (deactivate s2@acme.example)"),
        "{text}"
    );
    assert!(text.contains("leaving: s2@acme.example"), "{text}");
    assert!(text.contains("--allow-understaffed spanish"), "{text}");
    // Apply refuses the same plan before it sends anything.
    let out = server.roster(&["apply", "two.yaml", "--auto-approve"]);
    assert_eq!(code(&out), 3, "{}", stdout(&out));
    assert!(server.history().is_empty(), "nothing was written");
    // Named on the command line, it goes through.
    let out = server.roster(&[
        "plan",
        "two.yaml",
        "--detailed-exitcode",
        "--allow-understaffed",
        "spanish",
    ]);
    assert_eq!(code(&out), 2, "{}", stdout(&out));
    assert!(stdout(&out).contains("allowed by --allow-understaffed spanish"));

    fs::write(server.path("one.yaml"), roster(1, false)).unwrap();
    let out = server.roster(&["plan", "one.yaml", "--detailed-exitcode", "-v"]);
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("queue `spanish`: 2 active member(s) → 1 (lowest 1), floor 1"),
        "{}",
        stdout(&out)
    );
    server.assert_no_delete();
}

#[test]
fn a_team_floor_counts_the_same_and_is_an_error_where_teams_cannot_be_read() {
    let server = Server::start(None, Some(&account()), &[]);
    fs::write(server.path("team.yaml"), roster(2, true)).unwrap();
    let out = server.roster(&["plan", "team.yaml"]);
    assert_eq!(code(&out), 3, "{}", stdout(&out));
    assert!(stdout(&out).contains("team `Latam` falls below its floor of 2"));

    // Without SCIM, Talkdesk teams cannot be read: the floor is an error at its line.
    let server = Server::start(
        None,
        Some(&account()),
        &[
            "--scopes",
            "users:read,guardian-users:read,queues:read,queues-users:read",
        ],
    );
    fs::write(server.path("team.yaml"), roster(2, true)).unwrap();
    let out = server.roster(&["plan", "team.yaml"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("team.yaml:8:32"), "located: {err}");
    assert!(
        err.contains("team `Latam` declares a staffing floor"),
        "{err}"
    );
}
