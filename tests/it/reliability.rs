//! The promise: an apply can be interrupted anywhere and the account keeps its
//! administrators, nothing is duplicated or deleted, and a re-run finishes the job.
//! Crashes at every write, fault storms, and hostile servers.

use std::fs;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use roster_core::model::Named;
use roster_sandbox::{HistoryEntry, SandboxUser, State};

use crate::support::{Server, acme, code, stderr, stdout};

fn user(id: &str, role: &str, status: &str, queues: &[&str]) -> SandboxUser {
    SandboxUser {
        id: id.into(),
        name: id.into(),
        email: format!("{id}@acme.example"),
        role: role.into(),
        status: status.into(),
        pending: false,
        extension: None,
        queues: queues.iter().map(|s| s.to_string()).collect(),
        teams: vec![],
        time_zone: None,
        language: None,
        created_at: "2026-01-01T00:00:00Z".into(),
        updated_at: format!("2026-01-01T00:00:00Z#{id}"),
        external_id: None,
    }
}

/// Two administrators handing over to two agents, three creates, a reactivation, a
/// rename and three departures: every change kind Talkdesk REST has.
fn handover() -> (State, String) {
    let mut s = State {
        roles: State::default_roles(),
        ..State::default()
    };
    s.queues = vec![Named {
        id: "rg-1".into(),
        name: "support".into(),
    }];
    let (admin, agent) = (s.roles[0].id.clone(), s.roles[2].id.clone());
    s.users = vec![
        user("a1", &admin, "active", &[]),
        user("a2", &admin, "active", &["rg-1"]),
        user("b1", &agent, "active", &[]),
        user("b2", &agent, "active", &[]),
        user("r1", &agent, "inactive", &[]),
        user("m1", &agent, "active", &[]),
        user("d1", &agent, "active", &["rg-1"]),
        user("d2", &agent, "active", &[]),
        user("d3", &agent, "active", &[]),
    ];
    let roster = "version: 1\nprovider: { kind: talkdesk, account: acme }\npolicy: { min_admins: 2, max_deactivations: 3 }\nroles:\n  - { name: Administrator, admin: true }\n  - { name: Agent }\nqueues: [support]\nusers:\n  - { email: a1@acme.example, name: a1, role: Agent }\n  - { email: a2@acme.example, name: a2, role: Agent }\n  - { email: b1@acme.example, name: b1, role: Administrator }\n  - { email: b2@acme.example, name: b2, role: Administrator }\n  - { email: r1@acme.example, name: r1, role: Agent }\n  - { email: m1@acme.example, name: Emm One, role: Agent }\n  - { email: c1@acme.example, name: c1, role: Agent }\n  - { email: c2@acme.example, name: c2, role: Agent, queues: [support] }\n  - { email: c3@acme.example, name: c3, role: Administrator }\n";
    (s, roster.to_string())
}

fn assert_safe(history: &[HistoryEntry], floor: usize, context: &str) {
    for h in history {
        assert!(
            h.active_admins >= floor,
            "{context}: admins fell to {} after {h:?}",
            h.active_admins
        );
        assert!(h.emails_unique, "{context}: duplicate email after {h:?}");
    }
}

const FAST: [&str; 4] = ["--retries", "1", "--timeout", "5"];

#[test]
fn crash_after_every_write_then_rerun_converges() {
    let (state, roster) = handover();
    // A clean run counts the writes the plan takes.
    let server = Server::start(None, Some(&state), &[]);
    fs::write(server.path("r.yaml"), &roster).unwrap();
    let plan = server.roster(&["plan", "r.yaml", "--format", "json"]);
    let plan: serde_json::Value = serde_json::from_slice(&plan.stdout).unwrap();
    let s = &plan["summary"];
    assert_eq!(
        (
            s["create"].as_u64(),
            s["reactivate"].as_u64(),
            s["deactivate"].as_u64()
        ),
        (Some(3), Some(1), Some(3))
    );
    let phases: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases.iter().filter(|p| **p == "promotions").count(), 2);
    assert_eq!(phases.iter().filter(|p| **p == "demotions").count(), 2);
    let out = server.roster(&["apply", "r.yaml", "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let writes = server.history().len();
    assert!(writes >= 12, "{writes} writes");
    server.assert_no_delete();
    drop(server);

    for n in 0..writes {
        let context = format!("crash after {n} write(s)");
        let mut server = Server::start(
            None,
            Some(&state),
            &["--crash-after-writes", &n.to_string()],
        );
        fs::write(server.path("r.yaml"), &roster).unwrap();
        let mut args = vec!["apply", "r.yaml", "--auto-approve"];
        args.extend(FAST);
        let crashed = server.roster(&args);
        assert_eq!(
            code(&crashed),
            1,
            "{context}: {}{}",
            stdout(&crashed),
            stderr(&crashed)
        );
        assert!(!stderr(&crashed).contains("panicked"), "{context}");
        let mut history = server.history();
        server.assert_no_delete();
        server.restart(&[]);
        let rerun = server.roster(&["apply", "r.yaml", "--auto-approve"]);
        assert_eq!(
            code(&rerun),
            0,
            "{context}: {}{}",
            stdout(&rerun),
            stderr(&rerun)
        );
        let again = server.roster(&["plan", "r.yaml", "--detailed-exitcode"]);
        assert_eq!(code(&again), 0, "{context}: {}", stdout(&again));
        history.extend(server.history());
        assert_safe(&history, 2, &context);
        let state: State =
            serde_json::from_slice(&fs::read(server.path("state.json")).unwrap()).unwrap();
        assert_eq!(state.users.len(), 12, "{context}: no user twice, none lost");
        server.assert_no_delete();
    }
}

#[test]
fn fault_storms_of_every_kind_finish_without_duplicates() {
    let acme = acme();
    for kind in ["429", "429-retry-after", "500", "drop"] {
        let server = Server::start(
            Some("examples/acme"),
            None,
            &["--fault-rate", "0.4", "--faults", kind],
        );
        let out = server.roster(&["apply", &acme, "--auto-approve"]);
        assert_eq!(code(&out), 0, "{kind}: {}{}", stdout(&out), stderr(&out));
        assert!(
            server
                .requests()
                .iter()
                .any(|r| r.fault.as_deref() == Some(kind)
                    || (kind == "drop" && r.fault.as_deref() == Some("dropped")))
        );
        assert_safe(&server.history(), 2, kind);
        let again = server.roster(&["plan", &acme, "--detailed-exitcode"]);
        assert_eq!(
            code(&again),
            0,
            "{kind}: {}{}",
            stdout(&again),
            stderr(&again)
        );
        server.assert_no_delete();
    }
}

/// The faults a plan met: each request line with the fault it got, in order of line.
fn faults_met(seed: &str) -> Vec<(String, String, Option<String>, Option<String>)> {
    let acme = acme();
    let server = Server::start(
        Some("examples/acme"),
        None,
        &["--fault-rate", "0.4", "--fault-seed", seed],
    );
    let out = server.roster(&["plan", &acme]);
    assert_eq!(code(&out), 0, "seed {seed}: {}", stderr(&out));
    let mut met: Vec<_> = server
        .requests()
        .into_iter()
        .map(|r| (r.method, r.path, r.query, r.fault))
        .collect();
    met.sort();
    met
}

#[test]
fn a_fault_seed_repeats_the_same_faults() {
    let first = faults_met("42");
    assert!(first.iter().any(|r| r.3.is_some()), "faults were injected");
    assert_eq!(faults_met("42"), first);
    assert_ne!(faults_met("43"), first);
}

#[test]
fn answers_slower_than_the_timeout_are_retried_without_duplicates() {
    let acme = acme();
    let server = Server::start(
        Some("examples/acme"),
        None,
        &[
            "--fault-rate",
            "0.25",
            "--faults",
            "slow",
            "--slow-ms",
            "1500",
        ],
    );
    let out = server.roster(&["apply", &acme, "--auto-approve", "--timeout", "1"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_safe(&server.history(), 2, "slow");
    assert_eq!(
        code(&server.roster(&["plan", &acme, "--detailed-exitcode"])),
        0
    );
    server.assert_no_delete();
}

#[test]
fn token_endpoint_down_is_a_clear_error() {
    let acme = acme();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["plan", &acme, "--retries", "1"])
        .env("TALKDESK_BASE_URL", "http://127.0.0.1:9")
        .env("TALKDESK_TOKEN_URL", "http://127.0.0.1:9/oauth/token")
        .env("TALKDESK_CLIENT_ID", "x")
        .env("TALKDESK_CLIENT_SECRET", "y")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains("cannot read the account")
            && err.contains("POST /oauth/token")
            && err.contains("could not connect"),
        "{err}"
    );
    assert!(!err.contains("panicked"));
}

type Answer = std::sync::Arc<dyn Fn() -> axum::response::Response + Send + Sync>;

/// A server that answers `/users` with `users()`, issues tokens, and has no SCIM or
/// queues (404, as an account outside SCIM's Early Access), so `/users` decides.
async fn hostile(users: Answer) -> (String, tokio::task::JoinHandle<()>) {
    serve_users(axum::routing::get(move || {
        let users = users.clone();
        async move { users() }
    }))
    .await
}

/// A server that issues tokens and routes `/users` to `users`; no SCIM, no queues.
async fn serve_users(users: axum::routing::MethodRouter) -> (String, tokio::task::JoinHandle<()>) {
    use axum::routing::post;
    let app = axum::Router::new()
        .route("/oauth/token", post(|| async { axum::Json(serde_json::json!({"access_token": "t", "token_type": "Bearer", "expires_in": 3600})) }))
        .route("/users", users);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (
        url,
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }),
    )
}

/// A runtime for the test's own servers, beside the roster process.
fn test_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A directory holding a one-user Talkdesk roster, `r.yaml`.
fn one_user_roster() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("r.yaml"), "version: 1\nprovider: { kind: talkdesk, account: acme }\nroles:\n  - { name: Administrator, admin: true }\nusers:\n  - { email: boss@acme.example, name: Boss, role: Administrator }\n").unwrap();
    dir
}

/// `roster plan r.yaml --out plan.json` in `dir` with `args`, against the Talkdesk
/// server at `url`.
fn plan_against(url: &str, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["plan", "r.yaml", "--out", "plan.json"])
        .args(args)
        .current_dir(dir)
        .env("TALKDESK_BASE_URL", url)
        .env("TALKDESK_TOKEN_URL", format!("{url}/oauth/token"))
        .env("TALKDESK_CLIENT_ID", "x")
        .env("TALKDESK_CLIENT_SECRET", "y")
        .output()
        .unwrap()
}

/// A HAL page that claims a huge total, repeats the same users and links to itself.
fn repeating_page() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "count": 1, "total": 900_000, "page": 1, "per_page": 100, "total_pages": 9000,
        "_embedded": {"users": [{"id": "u1", "email": "boss@acme.example", "name": "Boss", "role": "r1", "status": "active"}]},
        "_links": {"next": {"href": "/users?page[number]=1"}}
    }))
}

#[test]
fn hostile_servers_get_clear_errors_and_no_half_written_file() {
    let big = "x".repeat(50 * 1024 * 1024);
    let cases: Vec<(&str, Answer, &str)> = vec![
        (
            "garbage",
            std::sync::Arc::new(|| (StatusCode::OK, "{\"users\": [tru").into_response()),
            "the response is not JSON",
        ),
        (
            "wrong types",
            std::sync::Arc::new(|| {
                axum::Json(serde_json::json!({"total": 1, "_embedded": {"users": [{"id": "7", "email": 7}]}})).into_response()
            }),
            "unexpected item: invalid type: integer `7`, expected a string",
        ),
        (
            "the seed's envelope",
            std::sync::Arc::new(|| {
                axum::Json(serde_json::json!({"users": [], "meta": {"total": 0}})).into_response()
            }),
            "expected a HAL page with `_embedded`, got an object with keys [\"meta\", \"users\"]",
        ),
        (
            "html error page",
            std::sync::Arc::new(|| {
                (
                    StatusCode::BAD_GATEWAY,
                    axum::response::Html("<html><body>Bad gateway</body></html>"),
                )
                    .into_response()
            }),
            "HTTP 502: <html><body>Bad gateway</body></html>",
        ),
        (
            "200 with an error body",
            std::sync::Arc::new(|| {
                axum::Json(serde_json::json!({"error": "internal"})).into_response()
            }),
            "expected a HAL page with `_embedded`, got an object with keys [\"error\"]",
        ),
        (
            "50 MB",
            std::sync::Arc::new(move || (StatusCode::OK, big.clone()).into_response()),
            "the response is larger than 16 MiB",
        ),
        (
            "page that repeats forever",
            std::sync::Arc::new(|| repeating_page().into_response()),
            "the page repeats items of earlier pages",
        ),
    ];
    let rt = test_runtime();
    let dir = one_user_roster();
    for (name, response, expected) in cases {
        let (url, task) = rt.block_on(hostile(response));
        let out = plan_against(&url, dir.path(), &["--retries", "1"]);
        task.abort();
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err}");
        assert!(
            err.contains("GET /users"),
            "{name}: the error names the request: {err}"
        );
        assert!(!err.contains("panicked"), "{name}");
        assert!(
            !dir.path().join("plan.json").exists(),
            "{name}: no plan file was written"
        );
        let leftovers: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            leftovers.len(),
            1,
            "{name}: no temporary file left behind: {leftovers:?}"
        );
    }
}

/// A plan that failed with `expected` on stderr, exit 1, and wrote no plan file.
fn assert_plan_failed(out: &std::process::Output, dir: &std::path::Path, expected: &str) {
    let err = stderr(out);
    assert_eq!(code(out), 1, "{err}");
    assert!(err.contains(expected), "expected {expected:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!dir.join("plan.json").exists(), "no plan file was written");
}

/// A HAL page of 100 users, `u{page}-{i}`, with `counts` and a link to `page + 1`
/// unless it is `last`.
fn users_page(page: usize, counts: serde_json::Value, last: bool) -> axum::response::Response {
    let users: Vec<serde_json::Value> = (0..100)
        .map(|i| serde_json::json!({"id": format!("u{page}-{i}"), "email": format!("u{page}-{i}@acme.example"), "active": true}))
        .collect();
    let mut body = serde_json::json!({"_embedded": {"users": users}, "_links": {}});
    if !last {
        body["_links"]["next"] =
            serde_json::json!({"href": format!("/users?page={}&per_page=100", page + 1)});
    }
    if let (Some(body), Some(counts)) = (body.as_object_mut(), counts.as_object()) {
        body.extend(counts.clone());
    }
    axum::Json(body).into_response()
}

/// The `page` a request asks for.
fn page_of(query: Option<&str>) -> usize {
    query
        .unwrap_or_default()
        .split('&')
        .find_map(|p| p.strip_prefix("page=")?.parse().ok())
        .unwrap_or(1)
}

#[test]
fn links_to_a_next_page_without_end_are_an_error_naming_the_list() {
    let rt = test_runtime();
    let dir = one_user_roster();
    // No counts, and every page links to one more with users never seen before.
    let endless = axum::routing::get(
        |axum::extract::RawQuery(q): axum::extract::RawQuery| async move {
            users_page(page_of(q.as_deref()), serde_json::json!({}), false)
        },
    );
    let (url, task) = rt.block_on(serve_users(endless));
    let out = plan_against(&url, dir.path(), &[]);
    task.abort();
    assert_plan_failed(
        &out,
        dir.path(),
        "GET /users: the server announced no count and kept sending users past 200000",
    );
}

#[test]
fn a_list_longer_than_its_announced_total_is_an_error_naming_the_list() {
    let rt = test_runtime();
    let dir = one_user_roster();
    // 120 users announced, 500 sent over five linked pages.
    let longer = axum::routing::get(
        |axum::extract::RawQuery(q): axum::extract::RawQuery| async move {
            let page = page_of(q.as_deref());
            users_page(page, serde_json::json!({"total": 120}), page >= 5)
        },
    );
    let (url, task) = rt.block_on(serve_users(longer));
    let out = plan_against(&url, dir.path(), &[]);
    task.abort();
    assert_plan_failed(
        &out,
        dir.path(),
        "GET /users: the server announced 120 users and kept sending more after 120",
    );
}

#[test]
fn a_silent_server_ends_the_plan_at_the_stall_limit() {
    let rt = test_runtime();
    let dir = one_user_roster();
    let silent = axum::routing::get(std::future::pending::<()>);
    let (url, task) = rt.block_on(serve_users(silent));
    let started = std::time::Instant::now();
    // The per-request timeout (30 s) and its retries would take minutes.
    let out = plan_against(&url, dir.path(), &["--stall-timeout", "2"]);
    let took = started.elapsed();
    task.abort();
    assert_plan_failed(
        &out,
        dir.path(),
        "GET /users: no request completed for 2s, the stall limit (--stall-timeout)",
    );
    assert!(took < std::time::Duration::from_secs(20), "took {took:?}");
}

#[test]
fn a_retry_after_beyond_the_stall_limit_fails_at_once() {
    let rt = test_runtime();
    let dir = one_user_roster();
    let later = axum::routing::get(|| async {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "999999999")],
            "slow down",
        )
    });
    let (url, task) = rt.block_on(serve_users(later));
    let started = std::time::Instant::now();
    let out = plan_against(&url, dir.path(), &["--retries", "1"]);
    let took = started.elapsed();
    task.abort();
    assert_plan_failed(
        &out,
        dir.path(),
        "GET /users: HTTP 429: slow down; the server asked for a wait of 999999999s before a retry, beyond the stall limit of 300s (--stall-timeout)",
    );
    assert!(took < std::time::Duration::from_secs(20), "took {took:?}");
}

#[test]
fn a_write_that_stalls_stops_the_apply_and_sends_nothing_more() {
    use axum::routing::{get, put};
    let rt = test_runtime();
    let index = |data: serde_json::Value| {
        let n = data.as_array().map_or(0, Vec::len);
        axum::Json(
            serde_json::json!({"responseData": {"itemsCount": n, "pageCount": 1, "pageNumber": 1, "limit": 1000, "data": data}}),
        )
    };
    let boss = serde_json::json!([{"Agent": {"id": "1", "email": "boss@acme.example", "firstname": "Boss", "lastname": "", "status_outbound": true}}]);
    let app = axum::Router::new()
        .route(
            "/agents/index.json",
            get(move || async move { index(boss) }),
        )
        .route(
            "/groups/index.json",
            get(move || async move { index(serde_json::json!([])) }),
        )
        .route("/agents/add.json", put(std::future::pending::<()>));
    let (url, task) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        (
            url,
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }),
        )
    });
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("r.yaml"), "version: 1\nprovider: { kind: cloudtalk, account: acme }\nroles:\n  - { name: Administrator, admin: true }\n  - { name: Agent }\nusers:\n  - { email: boss@acme.example, name: Boss, role: Administrator }\n  - { email: new1@acme.example, name: New One, role: Agent }\n  - { email: new2@acme.example, name: New Two, role: Agent }\n").unwrap();
    let started = std::time::Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["apply", "r.yaml", "--auto-approve", "--concurrency", "1"])
        .args(["--stall-timeout", "2"])
        .current_dir(dir.path())
        .env("CLOUDTALK_BASE_URL", &url)
        .env("CLOUDTALK_ACCESS_KEY_ID", "x")
        .env("CLOUDTALK_ACCESS_KEY_SECRET", "y")
        .env("CLOUDTALK_PER_MINUTE", "100000")
        .env("ROSTER_STATE_DIR", dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let took = started.elapsed();
    task.abort();
    let (out_text, err) = (stdout(&out), stderr(&out));
    assert_eq!(code(&out), 1, "{out_text}{err}");
    assert!(
        out_text.contains("Apply stopped (PUT /agents/add.json: no request completed for 2s")
            && out_text.contains("1 not sent"),
        "{out_text}{err}"
    );
    assert!(took < std::time::Duration::from_secs(20), "took {took:?}");
}
