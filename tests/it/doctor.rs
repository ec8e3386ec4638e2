//! `roster doctor` against the emulator: every surface checked, the page size the
//! account grants shown, a withheld scope named, and nothing written.

use std::fs;

use crate::support::{Server, acme, acme_text, code, stderr, stdout};

/// Every request the emulator saw, as `METHOD path`.
fn seen(server: &Server) -> Vec<String> {
    server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// Nothing but reads and token requests reached the account.
fn assert_read_only(server: &Server) {
    let seen = seen(server);
    assert!(
        seen.iter()
            .all(|r| r.starts_with("GET ") || r == "POST /oauth/token"),
        "{seen:?}"
    );
    assert!(server.history().is_empty(), "nothing was written");
}

#[test]
fn doctor_checks_every_surface_and_writes_nothing() {
    let server = Server::start(Some("examples/acme"), None, &["--page-cap", "40"]);
    let out = server.roster(&["doctor", &acme()]);
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}{}", stderr(&out));
    for surface in [
        "| REST users | page 1 |",
        "| SCIM | filter.supported |",
        "| Guardian | page 1 |",
        "| queues | members |",
        "| Phone |",
        "| add-ons |",
    ] {
        assert!(text.contains(surface), "{surface}: {text}");
    }
    assert!(
        text.contains("per_page 40; total"),
        "the page size granted: {text}"
    );
    assert!(!text.contains("| NO |"), "{text}");
    assert!(text.contains("plan: can run.") && text.contains("apply: can run."));
    let json = stdout(&server.roster(&["doctor", &acme(), "--format", "json"]));
    for shown in [&text, &stderr(&out), &json] {
        assert!(
            !shown.contains(roster_sandbox::CLIENT_SECRET) && !shown.contains("sbx-"),
            "no secret and no access token: {shown}"
        );
    }
    assert_read_only(&server);
}

#[test]
fn a_withheld_scope_is_named_and_fails_only_the_job_that_needs_it() {
    let server = Server::start(
        Some("examples/acme"),
        None,
        &[
            "--scopes",
            "users:read,guardian-users:read,queues:read,queues-users:read",
        ],
    );
    let out = server.roster(&["doctor", &acme()]);
    let text = stdout(&out);
    assert_eq!(code(&out), 1, "{text}");
    assert!(text.contains("| token | scope scim |"), "{text}");
    assert!(
        text.contains("apply: cannot run; grant or change:\n  - scim: every user write goes through SCIM\n  - queues:write"),
        "{text}"
    );
    // The plan job's own client: Guardian reads the roles, nothing it holds writes.
    // The acme roster declares teams, which only SCIM reads.
    assert!(
        text.contains("plan: cannot run; grant or change:\n  - scim: the roster declares teams"),
        "{text}"
    );
    // The top-level `teams:` block (up to `queues:`) and each user's `teams:` line.
    let text = acme_text();
    let (head, rest) = text.split_once("\nteams:\n").unwrap();
    let (_, rest) = rest.split_once("\nqueues:").unwrap();
    let no_teams: String = format!("{head}\nqueues:{rest}")
        .lines()
        .filter(|l| !l.trim_start().starts_with("teams:"))
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(server.path("no-teams.yaml"), no_teams).unwrap();
    // Before the first import a roster may name only the account.
    fs::write(
        server.path("account.yaml"),
        "version: 1\nprovider: { kind: talkdesk, account: acme }\n",
    )
    .unwrap();
    let out = server.roster(&["doctor", "account.yaml", "--for", "plan"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("does not validate yet"),
        "{}",
        stderr(&out)
    );
    let out = server.roster(&["doctor", "no-teams.yaml", "--for", "plan"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("plan: can run."));
    assert_read_only(&server);
}

#[test]
fn probe_writes_sends_one_assignment_that_changes_nothing() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let state = || roster_sandbox::State::load(&server.path("state.json")).unwrap();
    let before = state();
    let out = server.roster(&["doctor", &acme(), "--for", "apply", "--probe-writes"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("sends one write request that changes nothing"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("| queues | write probe |"));
    let writes: Vec<String> = seen(&server)
        .into_iter()
        .filter(|r| !r.starts_with("GET ") && r != "POST /oauth/token")
        .collect();
    assert_eq!(writes, ["POST /ccaas/queues/users"]);
    let after = state();
    assert_eq!(
        serde_json::to_value(&before.users).unwrap(),
        serde_json::to_value(&after.users).unwrap(),
        "the account is as it was"
    );
}

#[test]
fn doctor_on_cloudtalk_reads_a_page_of_agents_and_groups() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let roster = acme_text().replace("kind: talkdesk,", "kind: cloudtalk,");
    fs::write(server.path("ct.yaml"), roster).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["doctor", "ct.yaml"])
        .current_dir(server.dir.path())
        .env("CLOUDTALK_BASE_URL", &server.url)
        .env("CLOUDTALK_ACCESS_KEY_ID", roster_sandbox::CLIENT_ID)
        .env("CLOUDTALK_ACCESS_KEY_SECRET", roster_sandbox::CLIENT_SECRET)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(code(&out), 0, "{text}{}", stderr(&out));
    assert!(
        text.contains("| agents | GET /agents/index.json page 1 |"),
        "{text}"
    );
    assert!(
        text.contains("| groups | GET /groups/index.json page 1 |"),
        "{text}"
    );
    assert!(text.contains("itemsCount"), "{text}");
    assert!(!text.contains("| NO |"), "{text}");
    assert_read_only(&server);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["doctor", "ct.yaml"])
        .current_dir(server.dir.path())
        .env("CLOUDTALK_BASE_URL", &server.url)
        .env("CLOUDTALK_ACCESS_KEY_ID", roster_sandbox::CLIENT_ID)
        .env("CLOUDTALK_ACCESS_KEY_SECRET", "wrong")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("the agents cannot be listed"),
        "{}",
        stdout(&out)
    );
}
