//! plan and apply over HTTP against `roster sandbox serve` on 127.0.0.1:0. Every test
//! ends by asserting the sandbox saw zero DELETE requests.

use std::fs;

use roster::sandbox::{SandboxUser, State};
use serde_json::Value;

use crate::support::{Server, code, reqwest_client, root, stderr, stdout};

fn acme() -> String {
    root().join("examples/acme").display().to_string()
}

fn plan_json(server: &Server, roster: &str) -> Value {
    let out = server.roster(&["plan", roster, "--format", "json"]);
    assert!(matches!(code(&out), 0 | 3), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// History invariants: never below `floor` admins, never a duplicate email.
fn assert_history(server: &Server, floor: usize) {
    for h in server.history() {
        assert!(h.active_admins >= floor, "admins dipped: {h:?}");
        assert!(h.emails_unique, "duplicate email after {h:?}");
    }
}

#[test]
fn plan_apply_plan_converges_on_acme() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let plan = plan_json(&server, &acme());
    let s = &plan["summary"];
    assert!(s["create"].as_u64().unwrap() >= 5, "{s}");
    assert!(s["update"].as_u64().unwrap() >= 5, "{s}");
    assert!(s["deactivate"].as_u64().unwrap() >= 2, "{s}");
    assert_eq!(s["reactivate"], 1, "{s}");
    let out = server.roster(&["apply", &acme(), "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("Apply complete: 17 change(s) applied."),
        "{}",
        stdout(&out)
    );
    let again = server.roster(&["plan", &acme(), "--detailed-exitcode"]);
    assert_eq!(code(&again), 0, "{}", stdout(&again));
    assert!(stdout(&again).contains("No changes. The account matches the roster."));
    assert_history(&server, 2);
    let journal = fs::read_dir(server.path(".roster/journal"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let lines = fs::read_to_string(journal).unwrap();
    assert_eq!(
        lines
            .lines()
            .filter(|l| l.contains("\"outcome\":\"ok\""))
            .count(),
        17
    );
    server.assert_no_delete();
}

#[test]
fn detailed_exitcode_reports_changes() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let out = server.roster(&["plan", &acme(), "--detailed-exitcode", "--out", "plan.json"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let saved: Value =
        serde_json::from_slice(&fs::read(server.path("plan.json")).unwrap()).unwrap();
    assert_eq!(saved["format_version"], 1);
    server.assert_no_delete();
}

#[test]
fn ten_thousand_users_in_few_requests() {
    let server = Server::start(None, Some(&State::synthetic(10_050)), &[]);
    let roster = "version: 1\nprovider: { kind: talkdesk, account: big }\npolicy: { unmanaged_users: ignore }\nroles:\n  - { name: Administrator, admin: true }\n  - { name: Agent }\nteams: [ { name: Support } ]\nring_groups: [support]\nusers:\n  - { email: agent000000@acme.example, name: Agent 000000, role: Administrator, teams: [Support], ring_groups: [support], extension: \"10000\" }\n";
    fs::write(server.path("big.yaml"), roster).unwrap();
    let out = server.roster(&[
        "plan",
        "big.yaml",
        "--detailed-exitcode",
        "--concurrency",
        "8",
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let requests = server.requests();
    let pages = requests.iter().filter(|r| r.path == "/users").count();
    assert_eq!(pages, 101);
    assert!(
        requests.len() <= 10_050usize.div_ceil(100) + 5,
        "{} requests",
        requests.len()
    );
    server.assert_no_delete();
}

#[test]
fn faults_are_retried_to_zero_failures() {
    let server = Server::start(Some("examples/acme"), None, &["--fault-rate", "0.3"]);
    let out = server.roster(&["apply", &acme(), "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    assert!(stdout(&out).contains("Apply complete: 17 change(s) applied."));
    let faults = server
        .requests()
        .iter()
        .filter(|r| r.fault.is_some())
        .count();
    assert!(faults > 0, "the sandbox injected no faults");
    let again = server.roster(&["plan", &acme(), "--detailed-exitcode"]);
    assert_eq!(code(&again), 0, "{}", stdout(&again));
    assert_history(&server, 2);
    server.assert_no_delete();
}

#[test]
fn short_lived_tokens_are_refreshed() {
    let server = Server::start(
        Some("examples/acme"),
        None,
        &["--token-ttl", "1", "--latency-ms", "150"],
    );
    let out = server.roster(&["apply", &acme(), "--auto-approve", "--concurrency", "1"]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    let tokens = server
        .requests()
        .iter()
        .filter(|r| r.path == "/oauth/token")
        .count();
    assert!(tokens >= 2, "only {tokens} token request(s)");
    server.assert_no_delete();
}

async fn patch_directly(server: &Server, id: &str, body: Value) {
    let client = reqwest_client();
    let token: Value = client
        .post(format!("{}/oauth/token", server.url))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "sandbox"),
            ("client_secret", "sandbox-secret"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let resp = client
        .patch(format!("{}/users/{id}", server.url))
        .bearer_auth(token["access_token"].as_str().unwrap())
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
}

#[test]
fn stale_saved_plan_is_refused_by_name() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let out = server.roster(&["plan", &acme(), "--out", "plan.json"]);
    assert_eq!(code(&out), 0);
    let plan: Value = serde_json::from_slice(&fs::read(server.path("plan.json")).unwrap()).unwrap();
    let target = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "felix.weber@acme.example")
        .unwrap();
    let id = target["id"].as_str().unwrap().to_string();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(patch_directly(
            &server,
            &id,
            serde_json::json!({"name": "Felix W."}),
        ));
    let changes_before = server.history().len();
    let out = server.roster(&["apply", &acme(), "--plan", "plan.json", "--auto-approve"]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains("error: felix.weber@acme.example: it changed after planning"),
        "{err}"
    );
    assert!(err.contains("none of its changes were applied"), "{err}");
    assert_eq!(
        server.history().len(),
        changes_before,
        "nothing was applied"
    );
    server.assert_no_delete();
}

#[test]
fn saved_plan_applies_and_tampering_is_refused() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    assert_eq!(
        code(&server.roster(&["plan", &acme(), "--out", "plan.json"])),
        0
    );
    let text = fs::read_to_string(server.path("plan.json")).unwrap();
    fs::write(
        server.path("edited.json"),
        text.replace("former.agent1@acme.example", "ops-lead@acme.example"),
    )
    .unwrap();
    let out = server.roster(&["apply", &acme(), "--plan", "edited.json", "--auto-approve"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("the plan was modified after it was made (checksum mismatch)"),
        "{}",
        stderr(&out)
    );
    let other = root().join("examples/acme/roster.yaml");
    let elsewhere = fs::read_to_string(other)
        .unwrap()
        .replace("account: acme", "account: globex");
    fs::write(server.path("globex.yaml"), elsewhere).unwrap();
    let out = server.roster(&[
        "apply",
        "globex.yaml",
        "--plan",
        "plan.json",
        "--auto-approve",
    ]);
    assert_eq!(code(&out), 1);
    assert!(stderr(&out).contains(
        "the plan is for talkdesk account acme, but the roster describes talkdesk account globex"
    ));
    assert!(
        server.history().is_empty(),
        "a refused plan changes nothing"
    );
    let out = server.roster(&["apply", &acme(), "--plan", "plan.json", "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(
        code(&server.roster(&["plan", &acme(), "--detailed-exitcode"])),
        0
    );
    server.assert_no_delete();
}

fn user(id: &str, email: &str, role: &str, status: &str, external_id: Option<&str>) -> SandboxUser {
    SandboxUser {
        id: id.into(),
        name: email.split('@').next().unwrap().into(),
        email: email.into(),
        role: role.into(),
        status: status.into(),
        extension: None,
        ring_groups: vec![],
        teams: vec![],
        time_zone: None,
        language: None,
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: format!("2026-01-01T00:00:00Z#{id}"),
        external_id: external_id.map(String::from),
    }
}

#[test]
fn deactivating_the_last_admin_exits_3_whatever_the_flags() {
    // The roster declares a second administrator, but that user belongs to the
    // identity provider (externalId) and is inactive, so roster may not touch it: the
    // only active administrator would be deactivated.
    let mut state = State {
        roles: State::default_roles(),
        ..State::default()
    };
    let admin = state.roles[0].id.clone();
    state.users = vec![
        user("u1", "boss@acme.example", &admin, "active", None),
        user(
            "u2",
            "idp-admin@acme.example",
            &admin,
            "inactive",
            Some("okta-42"),
        ),
    ];
    let server = Server::start(None, Some(&state), &[]);
    let roster = "version: 1\nprovider: { kind: talkdesk, account: acme }\nroles:\n  - { name: Administrator, admin: true }\nusers:\n  - { email: boss@acme.example, name: boss, role: Administrator, status: inactive }\n  - { email: idp-admin@acme.example, name: idp-admin, role: Administrator }\n";
    fs::write(server.path("r.yaml"), roster).unwrap();
    let out = server.roster(&[
        "apply",
        "r.yaml",
        "--auto-approve",
        "--allow-deactivations",
        "100",
    ]);
    assert_eq!(code(&out), 3, "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("error: guard admin_floor refused the plan: active admins 1 → 0"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("idp-admin@acme.example is managed by another system"));
    assert!(server.history().is_empty());
    let plan = server.roster(&["plan", "r.yaml"]);
    assert_eq!(code(&plan), 3);
    server.assert_no_delete();
}

#[test]
fn secrets_never_appear_in_output_journal_or_plan() {
    let server = Server::start(Some("examples/acme"), None, &["--fault-rate", "0.2"]);
    let mut seen = String::new();
    for args in [
        vec!["plan", acme().as_str(), "--out", "plan.json"],
        vec!["apply", acme().as_str(), "--auto-approve"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(&args)
            .current_dir(server.dir.path())
            .env("RUST_LOG", "roster=debug")
            .env("TALKDESK_BASE_URL", &server.url)
            .env("TALKDESK_CLIENT_ID", "sandbox")
            .env("TALKDESK_CLIENT_SECRET", "sandbox-secret")
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        seen += &stdout(&out);
        seen += &stderr(&out);
    }
    seen += &fs::read_to_string(server.path("plan.json")).unwrap();
    for entry in fs::read_dir(server.path(".roster/journal")).unwrap() {
        seen += &fs::read_to_string(entry.unwrap().path()).unwrap();
    }
    assert!(
        seen.contains("retrying"),
        "debug logging was on, so retries were logged"
    );
    assert!(!seen.contains("sandbox-secret"), "the client secret leaked");
    assert!(!seen.contains("sbx-"), "an access token leaked");
    server.assert_no_delete();
}

#[test]
fn wrong_credentials_name_the_variables() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["plan", &acme()])
        .env("TALKDESK_BASE_URL", &server.url)
        .env("TALKDESK_CLIENT_ID", "sandbox")
        .env("TALKDESK_CLIENT_SECRET", "not-the-secret")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(err.contains("the token endpoint refused the client credentials (401): check TALKDESK_CLIENT_ID and TALKDESK_CLIENT_SECRET"), "{err}");
    assert!(!err.contains("not-the-secret"));
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["plan", &acme()])
        .env_remove("TALKDESK_CLIENT_ID")
        .output()
        .unwrap();
    assert_eq!(code(&missing), 1);
    assert!(
        stderr(&missing).contains("TALKDESK_CLIENT_ID is not set"),
        "{}",
        stderr(&missing)
    );
    server.assert_no_delete();
}

#[test]
fn emulator_follows_the_contract() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = reqwest_client();
        let url = |p: &str| format!("{}{p}", server.url);
        assert_eq!(c.get(url("/users")).send().await.unwrap().status(), 401);
        let token: Value = c
            .post(url("/oauth/token"))
            .basic_auth("sandbox", Some("sandbox-secret"))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let t = token["access_token"].as_str().unwrap().to_string();
        assert_eq!(token["token_type"], "Bearer");
        let get = |p: &str| c.get(url(p)).bearer_auth(&t).send();
        assert_eq!(get("/users?page[size]=101").await.unwrap().status(), 400);
        let page: Value = get("/users?page[size]=100").await.unwrap().json().await.unwrap();
        assert_eq!(page["meta"]["total"], 22);
        let roles: Value = get("/roles").await.unwrap().json().await.unwrap();
        let names: Vec<&str> = roles["roles"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Administrator", "Supervisor", "Agent"]);
        let post = |body: Value| c.post(url("/users")).bearer_auth(&t).json(&body).send();
        let agent = roles["roles"][2]["id"].as_str().unwrap();
        let dup = post(serde_json::json!({"name": "X", "email": "OPS-LEAD@acme.example", "role": agent})).await.unwrap();
        assert_eq!(dup.status(), 409);
        let bad = post(serde_json::json!({"name": "X", "email": "x@acme.example", "role": "nope"})).await.unwrap();
        assert_eq!(bad.status(), 422);
        let bad_team = post(serde_json::json!({"name": "X", "email": "x@acme.example", "role": agent, "teams": ["nope"]})).await.unwrap();
        assert_eq!(bad_team.status(), 422);
        let made: Value = post(serde_json::json!({"name": "X", "email": "x@acme.example", "role": agent})).await.unwrap().json().await.unwrap();
        assert_eq!(made["status"], "active");
        let id = made["id"].as_str().unwrap();
        let patched: Value = c.patch(url(&format!("/users/{id}"))).bearer_auth(&t).json(&serde_json::json!({"language": "pt-PT"})).send().await.unwrap().json().await.unwrap();
        assert_eq!((patched["language"].as_str(), patched["name"].as_str()), (Some("pt-PT"), Some("X")), "PATCH changes only what is sent");
        let del = c.delete(url(&format!("/users/{id}"))).bearer_auth(&t).send().await.unwrap();
        assert_eq!(del.status(), 204);
    });
    let deletes = server
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE")
        .count();
    assert_eq!(
        deletes, 1,
        "the emulator records DELETE, which is how the other tests prove roster never sends it"
    );
    let state: Value =
        serde_json::from_slice(&fs::read(server.path("state.json")).unwrap()).unwrap();
    assert_eq!(
        state["users"].as_array().unwrap().len(),
        22,
        "state persisted after every change"
    );
}
