//! plan and apply over HTTP against `roster sandbox serve` on 127.0.0.1:0. Every test
//! ends by asserting the sandbox saw zero DELETE requests.

use std::fs;

use roster_sandbox::{SandboxUser, State};
use serde_json::Value;

use crate::support::{Server, acme, code, reqwest_client, root, stderr, stdout};

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
    let changes = plan["changes"].as_array().unwrap();
    let has = |phase: &str, field: &str| {
        changes
            .iter()
            .any(|c| c["phase"] == phase && c["fields"].get(field).is_some())
    };
    assert!(has("promotions", "role"), "a promotion");
    assert!(has("demotions", "role"), "a demotion");
    assert!(has("updates", "teams"), "a team move");
    assert!(has("updates", "queues"), "a queue move");
    server.next_command();
    let out = server.roster(&["apply", &acme(), "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("Apply complete: 17 change(s) applied."),
        "{}",
        stdout(&out)
    );
    server.next_command();
    let again = server.roster(&["plan", &acme(), "--detailed-exitcode"]);
    assert_eq!(code(&again), 0, "{}", stdout(&again));
    assert!(stdout(&again).contains("No changes for roster to make."));
    assert_history(&server, 2);
    // Only the documented surfaces were used, at SCIM's pace.
    for r in server.requests() {
        assert!(
            r.path.starts_with("/scim/v2/Users")
                || r.path == "/scim/v2/ServiceProviderConfig"
                || (r.path.starts_with("/users") && r.method == "GET")
                || r.path.starts_with("/ccaas/queues")
                || r.path.starts_with("/phone/")
                || r.path.starts_with("/subscriptions/")
                || r.path == "/oauth/token",
            "an undocumented request: {} {}",
            r.method,
            r.path
        );
        assert!(
            !(r.method == "PATCH" && r.path.starts_with("/scim")),
            "SCIM PATCH is refused by this server's config: {r:?}"
        );
    }
    server.assert_no_429();
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
    // SCIM's documented 4 requests per second would make this a minute-long test: the
    // emulator and the client are both told the server allows more. The pace itself is
    // checked on the acme account and measured by `cargo run --release -p roster-bench`.
    let server = Server::start(
        None,
        Some(&State::synthetic(10_050)),
        &["--scim-rate-limit", "400"],
    );
    let roster = "version: 1\nprovider: { kind: talkdesk, account: big }\npolicy: { unmanaged_users: ignore }\nroles:\n  - { name: Administrator, admin: true }\n  - { name: Agent }\nteams: [ { name: Support } ]\nqueues: [support]\nusers:\n  - { email: agent000000@acme.example, name: Agent 000000, role: Administrator, teams: [Support], queues: [support], extension: \"10000\" }\n";
    fs::write(server.path("big.yaml"), roster).unwrap();
    let out = server.roster_env(
        &[
            "plan",
            "big.yaml",
            "--detailed-exitcode",
            "--concurrency",
            "8",
        ],
        &[("TALKDESK_SCIM_RPS", "400")],
    );
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let requests = server.requests();
    let count = |p: &str| requests.iter().filter(|r| r.path == p).count();
    // The server grants 50 per page when 100 are asked: 201 pages on each surface.
    let pages = 10_050usize.div_ceil(50);
    assert_eq!(count("/users"), pages);
    assert_eq!(count("/scim/v2/Users"), pages);
    // The member list carries no count: after 8 pages (the concurrency) it is read
    // ahead by number, which asks for at most 7 pages past its end.
    let members = count("/ccaas/queues/rg-1/users");
    assert!(
        (pages..pages + 8).contains(&members),
        "{members} member pages"
    );
    assert_eq!(count("/ccaas/queues"), 1);
    let documented = 3 * pages + 1;
    assert!(
        requests.len() <= documented + 5 + 7,
        "{} requests for {documented} pages",
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
        .find(|c| c["action"] == "update" && c["fields"].get("name").is_some())
        .expect("the seeded drift has a rename");
    let (id, key) = (
        target["id"].as_str().unwrap().to_string(),
        target["key"].as_str().unwrap().to_string(),
    );
    let status = server.scim_edit(&id, |u| u["name"]["familyName"] = "W.".into());
    assert_eq!(status, 200);
    let changes_before = server.history().len();
    let out = server.roster(&["apply", &acme(), "--plan", "plan.json", "--auto-approve"]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("error: {key}: it changed after planning")),
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
        pending: false,
        extension: None,
        queues: vec![],
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
            .env("TALKDESK_TOKEN_URL", format!("{}/oauth/token", server.url))
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
        .env("TALKDESK_TOKEN_URL", format!("{}/oauth/token", server.url))
        .env("TALKDESK_CLIENT_ID", "sandbox")
        .env("TALKDESK_CLIENT_SECRET", "not-the-secret")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(err.contains("the token endpoint refused the client or its scopes (401: unknown client or wrong secret)"), "{err}");
    assert!(
        err.contains("check TALKDESK_CLIENT_ID and TALKDESK_CLIENT_SECRET"),
        "{err}"
    );
    assert!(!err.contains("not-the-secret"));
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["plan", &acme()])
        .env_remove("TALKDESK_CLIENT_ID")
        .env_remove("TALKDESK_SCIM_TOKEN")
        .output()
        .unwrap();
    assert_eq!(code(&missing), 1);
    assert!(
        stderr(&missing).contains("TALKDESK_CLIENT_ID and TALKDESK_CLIENT_SECRET are not set"),
        "{}",
        stderr(&missing)
    );
    server.assert_no_delete();
}

#[test]
fn emulator_follows_the_contract() {
    let server = Server::start(
        Some("examples/acme"),
        None,
        &[
            "--scopes",
            "users:read,queues:read,queues-users:read,queues:write",
            "--scim-rate-limit",
            "100",
        ],
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = reqwest_client();
        let url = |p: &str| format!("{}{p}", server.url);
        assert_eq!(c.get(url("/users")).send().await.unwrap().status(), 401);
        let in_body = c
            .post(url("/oauth/token"))
            .form(&[("grant_type", "client_credentials"), ("client_id", "sandbox"), ("client_secret", "sandbox-secret")])
            .send()
            .await
            .unwrap();
        assert_eq!(in_body.status(), 401, "client credentials go in HTTP Basic only");
        let token = |scope: &'static str| {
            c.post(url("/oauth/token"))
                .basic_auth("sandbox", Some("sandbox-secret"))
                .form(&[("grant_type", "client_credentials"), ("scope", scope)])
                .send()
        };
        assert_eq!(token("scim").await.unwrap().status(), 400, "a scope the client lacks");
        let granted: Value = token("users:read queues:read queues-users:read queues:write").await.unwrap().json().await.unwrap();
        let t = granted["access_token"].as_str().unwrap().to_string();
        assert_eq!(granted["token_type"], "Bearer");
        let get = |p: &str| c.get(url(p)).bearer_auth(&t).send();
        let page: Value = get("/users?page=1&per_page=100").await.unwrap().json().await.unwrap();
        assert_eq!((page["per_page"].as_u64(), page["total"].as_u64()), (Some(50), Some(22)), "50 granted of 100 asked");
        let first = &page["_embedded"]["users"][0];
        assert!(first["active"].is_boolean() && first.get("role").is_none() && first.get("teams").is_none(), "{first}");
        assert!(first["extension"].is_u64(), "the reference types extension as an integer: {first}");
        let queues: Value = get("/ccaas/queues?page=1&per_page=1").await.unwrap().json().await.unwrap();
        let links: Vec<&String> = queues["_links"].as_object().unwrap().keys().collect();
        assert_eq!(links, ["next", "self"], "the queue list links itself (required) and the next page: {queues}");
        let counts = ["total", "count", "page", "per_page"].map(|k| queues[k].as_u64());
        assert_eq!(counts, [Some(3), Some(1), Some(1), Some(1)], "docs.talkdesk.com/reference/get-list-of-queues: {queues}");
        assert!(queues.get("total_pages").is_none(), "the reference shows no page count: {queues}");
        let default: Value = get("/ccaas/queues").await.unwrap().json().await.unwrap();
        assert_eq!(default["per_page"], 20, "20 by default: {default}");
        assert_eq!(get("/ccaas/queues?per_page=101").await.unwrap().status(), 400, "per_page is 1 to 100");
        assert_eq!(get("/ccaas/queues?order_by=id:asc").await.unwrap().status(), 400, "only the documented orders");
        assert_eq!(queues["_embedded"]["queues"][0].as_object().unwrap().len(), 2, "queue items are {{id, name}}: {queues}");
        assert_eq!(get("/roles").await.unwrap().status(), 404);
        assert_eq!(get("/teams").await.unwrap().status(), 404);
        assert_eq!(get("/ring-groups").await.unwrap().status(), 404);
        let post = c.post(url("/users")).bearer_auth(&t).json(&serde_json::json!({"email": "x@acme.example"})).send().await.unwrap();
        assert_eq!(post.status(), 405, "no public POST /users");
        assert_eq!(get("/scim/v2/Users").await.unwrap().status(), 403, "SCIM needs the scope scim");
        let scim = |m: reqwest::Method, p: &str| c.request(m, url(p)).header("authorization", format!("Bearer {}", roster_sandbox::SCIM_TOKEN));
        assert_eq!(scim(reqwest::Method::GET, "/scim/v2/Groups").send().await.unwrap().status(), 404, "SCIM serves Users only");
        let config: Value = scim(reqwest::Method::GET, "/scim/v2/ServiceProviderConfig").send().await.unwrap().json().await.unwrap();
        assert_eq!(config["patch"]["supported"], false);
        let list: Value = scim(reqwest::Method::GET, "/scim/v2/Users?filter=userName%20eq%20%22ops-lead%40acme.example%22").send().await.unwrap().json().await.unwrap();
        let mut ops = list["Resources"][0].clone();
        let id = ops["id"].as_str().unwrap().to_string();
        let patch = scim(reqwest::Method::PATCH, &format!("/scim/v2/Users/{id}")).json(&serde_json::json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []})).send().await.unwrap();
        assert_eq!(patch.status(), 501, "PATCH is refused when the config says so");
        let nameless = scim(reqwest::Method::POST, "/scim/v2/Users").json(&serde_json::json!({"userName": "x@acme.example", "active": true, "name": {"givenName": "X"}})).send().await.unwrap();
        assert_eq!(nameless.status(), 400, "familyName is required");
        ops["externalId"] = "okta-1".into();
        assert_eq!(scim(reqwest::Method::PUT, &format!("/scim/v2/Users/{id}")).json(&ops).send().await.unwrap().status(), 200);
        let listed: Value = scim(reqwest::Method::GET, "/scim/v2/Users?filter=userName%20eq%20%22ops-lead%40acme.example%22").send().await.unwrap().json().await.unwrap();
        assert_eq!(listed["Resources"][0]["externalId"], "okta-1", "a list after a change shows the change");
        ops.as_object_mut().unwrap().remove("externalId");
        let replaced: Value = scim(reqwest::Method::PUT, &format!("/scim/v2/Users/{id}")).json(&ops).send().await.unwrap().json().await.unwrap();
        assert!(replaced.get("externalId").is_none(), "a PUT replaces: what it leaves out is gone");
        let write = |m: reqwest::Method, body: Value| c.request(m, url("/ccaas/queues/users")).bearer_auth(&t).json(&body).send();
        let many: Vec<Value> = (0..101).map(|i| serde_json::json!({"id": format!("q{i}"), "users": []})).collect();
        assert_eq!(write(reqwest::Method::POST, Value::from(many)).await.unwrap().status(), 400, "at most 100 queues per request");
        let last: Value = write(reqwest::Method::DELETE, serde_json::json!([{"id": "rg-1", "users": [id]}])).await.unwrap().json().await.unwrap();
        assert_eq!(last["result"], "KO");
        assert_eq!(last["errors"][0]["error"], "last_queue", "a user keeps at least one queue: {last}");
        let del = scim(reqwest::Method::DELETE, &format!("/scim/v2/Users/{id}")).send().await.unwrap();
        assert_eq!(del.status(), 204);
    });
    let deletes = server
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE" && r.path.starts_with("/scim/v2/Users"))
        .count();
    assert_eq!(
        deletes, 1,
        "the emulator records DELETE, which is how the other tests prove roster never sends it"
    );
    let state: Value =
        serde_json::from_slice(&fs::read(server.path("state.json")).unwrap()).unwrap();
    assert_eq!(
        state["users"].as_array().unwrap().len(),
        21,
        "state persisted after every change"
    );
}
