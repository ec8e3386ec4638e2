//! Talkdesk SCIM over HTTP: against the sandbox's SCIM emulator, and against a fake
//! that exercises the conformance points (mixed-case names, short pages, no Resources).

use std::collections::HashMap;
use std::fs;

use axum::extract::Query;
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::support::{Server, code, root, stderr, stdout};

fn scim_roster() -> String {
    fs::read_to_string(root().join("examples/acme/roster.yaml"))
        .unwrap()
        .replace("kind: talkdesk,", "kind: talkdesk-scim,")
        .replace(
            "  - { name: Sales }\n",
            "  - { name: Sales }\n  - { name: Escalations }\n",
        )
        .replace(
            "name: Felix Weber\n    role: Agent\n    teams: [Billing]",
            "name: Felix Weber\n    role: Supervisor\n    teams: [Escalations]",
        )
        .replace(
            "name: Grace Kim\n    role: Agent\n    teams: [Billing]",
            "name: Grace Kim\n    role: Supervisor\n    teams: [Billing, Escalations]",
        )
        .replace(
            "name: Isla Murray\n    role: Agent",
            "name: Isla Murray\n    role: Supervisor",
        )
        .replace(
            "name: Jonas Berg\n    role: Agent\n    teams: [Support Tier 1]",
            "name: Jonas Berg\n    role: Agent\n    teams: [Escalations]",
        )
        .replace(
            "name: Pedro Santos\n    role: Agent\n    teams: [Sales]",
            "name: Pedro Santos\n    role: Agent\n    teams: [Sales, Escalations]",
        )
}

fn scim(server: &Server, args: &[&str], token: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(args)
        .current_dir(server.dir.path())
        .env("TALKDESK_SCIM_URL", format!("{}/scim/v2", server.url))
        .env("TALKDESK_SCIM_TOKEN", token)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn scim_plan_apply_plan_creates_teams_and_moves_roles_and_teams() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    fs::write(server.path("scim.yaml"), scim_roster()).unwrap();
    let out = scim(
        &server,
        &["plan", "scim.yaml", "--format", "json", "--max-rps", "200"],
        roster::sandbox::SCIM_TOKEN,
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let changes = plan["changes"].as_array().unwrap();
    assert_eq!(
        changes[0]["action"], "create_team",
        "teams are created first"
    );
    let moved = changes
        .iter()
        .filter(|c| {
            c["action"] == "update"
                && (c["fields"].get("role").is_some() || c["fields"].get("teams").is_some())
        })
        .count();
    assert!(moved >= 5, "{moved} users change role or teams");
    let out = scim(
        &server,
        &["apply", "scim.yaml", "--auto-approve", "--max-rps", "200"],
        roster::sandbox::SCIM_TOKEN,
    );
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let again = scim(
        &server,
        &[
            "plan",
            "scim.yaml",
            "--detailed-exitcode",
            "--max-rps",
            "200",
        ],
        roster::sandbox::SCIM_TOKEN,
    );
    assert_eq!(code(&again), 0, "{}", stdout(&again));
    let scim_requests = server
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/scim/v2/"))
        .count();
    assert!(
        scim_requests > 20,
        "the SCIM API did the work ({scim_requests} requests)"
    );
    server.assert_no_delete();
}

#[test]
fn swapped_tokens_say_which_one_is_needed() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    fs::write(server.path("scim.yaml"), scim_roster()).unwrap();
    // The OAuth client secret where the SCIM token belongs.
    let out = scim(
        &server,
        &["plan", "scim.yaml", "--retries", "1"],
        roster::sandbox::CLIENT_SECRET,
    );
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("needs TALKDESK_SCIM_TOKEN, not the OAuth client credentials"),
        "{}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains(roster::sandbox::CLIENT_SECRET));
    server.assert_no_delete();

    // The other way round: the REST API refuses the bearer it was given.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let app = axum::Router::new()
        .route("/oauth/token", post(|| async { axum::Json(json!({"access_token": "scim-token-by-mistake", "token_type": "Bearer", "expires_in": 3600})) }))
        .fallback(|| async { (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!({"message": "unauthorized"}))) });
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    let th = std::thread::spawn(move || {
        rt.block_on(async {
            let _ = task.await;
        })
    });
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args([
            "plan",
            &root().join("examples/acme").display().to_string(),
            "--retries",
            "1",
        ])
        .env("TALKDESK_BASE_URL", &url)
        .env("TALKDESK_CLIENT_ID", "x")
        .env("TALKDESK_CLIENT_SECRET", "y")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains(
            "needs the OAuth client credentials TALKDESK_CLIENT_ID and TALKDESK_CLIENT_SECRET"
        ),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("not the SCIM token"));
    drop(th);
}

/// A SCIM server that is compliant but not ours: mixed-case attribute names, one user
/// per page whatever is asked, and no `Resources` when a list is empty.
#[test]
fn conformance_mixed_case_short_pages_and_absent_resources() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let users = |i: usize| {
        let (email, role) = [
            ("boss@acme.example", "Administrator"),
            ("ann@acme.example", "Agent"),
            ("bob@acme.example", "Agent"),
        ][i];
        json!({"ID": format!("u{i}"), "UserName": email, "NAME": {"GIVENNAME": email.split('@').next().unwrap(), "familyname": "X"},
               "Active": true, "META": {"VERSION": format!("W/\"{i}\"")},
               "urn:ietf:params:scim:schemas:extension:talkdesk:2.0:User": {"RolesString": role, "TEAMSSTRING": ""}})
    };
    let app = axum::Router::new()
        .route(
            "/scim/v2/Users",
            get(move |Query(q): Query<HashMap<String, String>>| async move {
                let start: usize = q.get("startIndex").and_then(|s| s.parse().ok()).unwrap_or(1);
                let page: Vec<Value> = (start - 1..3).take(1).map(users).collect();
                axum::Json(json!({"TotalResults": 3, "ItemsPerPage": page.len(), "StartIndex": start, "resources": page}))
            }),
        )
        .route("/scim/v2/Groups", get(|| async { axum::Json(json!({"totalResults": 0, "itemsPerPage": 0, "startIndex": 1})) }));
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}/scim/v2", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("r.yaml"),
        "version: 1\nprovider: { kind: talkdesk-scim, account: acme }\nroles:\n  - { name: Administrator, admin: true }\n  - { name: Agent }\nusers:\n  - { email: boss@acme.example, name: boss X, role: Administrator }\n  - { email: ann@acme.example, name: ann X, role: Agent }\n  - { email: bob@acme.example, name: bob X, role: Agent }\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["plan", "r.yaml", "--detailed-exitcode", "--max-rps", "100"])
        .current_dir(dir.path())
        .env("TALKDESK_SCIM_URL", &url)
        .env("TALKDESK_SCIM_TOKEN", "t")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("No changes."),
        "all three users were read across short pages: {}",
        stdout(&out)
    );
}

#[test]
fn scim_import_plans_empty() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let args = [
        "import",
        "--provider",
        "talkdesk-scim",
        "--account",
        "acme",
        "--out",
        "r",
        "--include-inactive",
        "--max-rps",
        "200",
    ];
    let out = scim(&server, &args, roster::sandbox::SCIM_TOKEN);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = fs::read_to_string(server.path("r/roster.yaml")).unwrap();
    assert!(
        text.contains("provider: { kind: talkdesk-scim, account: acme }")
            && text.contains("status: inactive")
    );
    let plan = scim(
        &server,
        &["plan", "r", "--detailed-exitcode", "--max-rps", "200"],
        roster::sandbox::SCIM_TOKEN,
    );
    assert_eq!(code(&plan), 0, "{}{}", stdout(&plan), stderr(&plan));
    server.assert_no_delete();
}
