//! CloudTalk over HTTP: plan → apply → plan against the emulator, contract tests
//! against CloudTalk's own OpenAPI document, its rate-limit headers, and read cost.

use std::fs;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::routing::get;
use serde_json::{Value, json};

use crate::support::{Server, acme_text, code, fault_seed, reqwest_client, root, stderr, stdout};

/// The emulator's CloudTalk budget opened wide, as the client's (`ct`) is: these tests
/// check behaviour, not pacing (the window itself has a unit test in the emulator).
const UNPACED: [&str; 2] = ["--cloudtalk-per-minute", "1000000"];

fn ct_roster() -> String {
    acme_text().replace("kind: talkdesk,", "kind: cloudtalk,")
}

fn ct(server: &Server, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(args)
        .current_dir(server.dir.path())
        .env("CLOUDTALK_BASE_URL", &server.url)
        .env("CLOUDTALK_ACCESS_KEY_ID", "sandbox")
        .env("CLOUDTALK_ACCESS_KEY_SECRET", "sandbox-secret")
        .env("CLOUDTALK_PER_MINUTE", "100000")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

/// CloudTalk's removal calls: group membership may go, agents never.
fn assert_no_agent_delete(server: &Server) {
    let requests = server.requests();
    let bad: Vec<_> = requests
        .iter()
        .filter(|r| {
            r.path.starts_with("/agents/delete")
                || (r.method == "DELETE" && !r.path.starts_with("/groups/delete/"))
        })
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
}

#[test]
fn cloudtalk_plan_apply_plan_converges_without_deleting() {
    let server = Server::start(Some("examples/acme"), None, &UNPACED);
    fs::write(server.path("ct.yaml"), ct_roster()).unwrap();
    let out = ct(&server, &["plan", "ct.yaml", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["summary"]["offboard"], 2);
    // The seed has a declared agent with outbound calls off: inbound-only by design as
    // far as CloudTalk can tell, so it plans nothing and its outbound setting stays.
    let seeded: roster_sandbox::State =
        serde_json::from_slice(&fs::read(server.path("state.json")).unwrap()).unwrap();
    let inbound_only = seeded
        .users
        .iter()
        .find(|u| u.status == "inactive" && ct_roster().contains(&u.email))
        .map(|u| u.email.clone())
        .expect("the seed has a declared agent with outbound calls off");
    assert_eq!(plan["summary"]["reactivate"], 0);
    assert!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["key"] != inbound_only.as_str()),
        "{inbound_only} is planned: {plan}"
    );
    let steps = plan["manual_steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| s == "set former.agent1@acme.example Inactive in Dashboard → Settings → Agents (the API cannot deactivate)"));
    assert!(
        steps.iter().any(|s| s
            .as_str()
            .unwrap()
            .contains("change extension from \"9006\" to \"2103\"")),
        "{steps:?}"
    );
    let out = ct(&server, &["apply", "ct.yaml", "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("set former.agent2@acme.example Inactive in Dashboard"),
        "the apply report repeats the manual steps"
    );
    let again = ct(&server, &["plan", "ct.yaml", "--detailed-exitcode"]);
    assert_eq!(code(&again), 0, "{}", stdout(&again));
    let state: roster_sandbox::State =
        serde_json::from_slice(&fs::read(server.path("state.json")).unwrap()).unwrap();
    let former = state
        .users
        .iter()
        .find(|u| u.email == "former.agent1@acme.example")
        .unwrap();
    assert!(
        former.teams.is_empty() && former.status == "inactive",
        "offboarded: out of every group, no outbound calls"
    );
    let untouched = state
        .users
        .iter()
        .find(|u| u.email == inbound_only)
        .unwrap();
    assert_eq!(untouched.status, "inactive", "outbound calls stay off");
    assert!(
        !server
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/agents/edit")
                && r.body
                    .as_ref()
                    .is_some_and(|b| b.get("status_outbound") == Some(&json!(true)))),
        "roster never switches outbound calls on"
    );
    assert!(server.requests().iter().all(|r| {
        r.body
            .as_ref()
            .and_then(|b| b.get("pass"))
            .is_none_or(|p| p == "***")
    }));
    assert_no_agent_delete(&server);
}

/// Validates `instance` against the schema at `pointer` in CloudTalk's OpenAPI document.
fn conforms(openapi: &Value, pointer: &str, instance: &Value) -> Result<(), String> {
    let mut root = openapi.clone();
    root["$ref"] = json!(format!("#{pointer}"));
    let v = jsonschema::draft4::new(&root).map_err(|e| e.to_string())?;
    let errors: Vec<String> = v
        .iter_errors(instance)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

fn esc(path: &str) -> String {
    path.replace('~', "~0")
        .replace('/', "~1")
        .replace('{', "%7B")
        .replace('}', "%7D")
}

#[test]
fn contract_emulator_answers_and_client_requests_match_the_openapi() {
    let openapi: Value = serde_json::from_str(
        &fs::read_to_string(root().join("tests/fixtures/cloudtalk-openapi.json")).unwrap(),
    )
    .unwrap();
    let server = Server::start(Some("examples/acme"), None, &UNPACED);
    fs::write(server.path("ct.yaml"), ct_roster()).unwrap();
    assert_eq!(
        code(&ct(&server, &["apply", "ct.yaml", "--auto-approve"])),
        0
    );
    // Every request body the client sent, against the operation's requestBody schema.
    let ops = [
        ("PUT", "/agents/add.json", "/agents/add.json", "put"),
        (
            "POST",
            "/agents/edit/",
            "/agents/edit/{agentId}.json",
            "post",
        ),
        ("PUT", "/groups/add.json", "/groups/add.json", "put"),
        (
            "DELETE",
            "/groups/delete/",
            "/groups/delete/{agent_id}.json",
            "delete",
        ),
    ];
    for (method, prefix, spec, verb) in ops {
        let sent: Vec<_> = server
            .requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.starts_with(prefix))
            .collect();
        assert!(!sent.is_empty(), "the apply sent {method} {prefix}");
        for r in sent {
            let pointer = format!(
                "/paths/{}/{verb}/requestBody/content/application~1json/schema",
                esc(spec)
            );
            conforms(&openapi, &pointer, r.body.as_ref().unwrap())
                .unwrap_or_else(|e| panic!("{method} {}: {e}", r.path));
        }
    }
    // The emulator's answers, against the operation's response schema (inside responseData).
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = reqwest_client();
        let call = |method: reqwest::Method, path: &str, body: Option<Value>| {
            let mut r = c.request(method, format!("{}{path}", server.url)).basic_auth("sandbox", Some("sandbox-secret"));
            if let Some(b) = body {
                r = r.json(&b);
            }
            r.send()
        };
        let agents: Value = call(reqwest::Method::GET, "/agents/index.json?limit=1000", None).await.unwrap().json().await.unwrap();
        let agent_id = agents["responseData"]["data"][0]["Agent"]["id"].as_i64().unwrap();
        let checks = vec![
            ("/agents/index.json", "get", "200", agents.clone()),
            ("/groups/index.json", "get", "200", call(reqwest::Method::GET, "/groups/index.json?limit=1000", None).await.unwrap().json().await.unwrap()),
            ("/agents/add.json", "put", "201", call(reqwest::Method::PUT, "/agents/add.json", Some(json!({"firstname": "Nia", "lastname": "Park", "email": "nia@acme.example", "pass": "Xy7#long-enough-secret", "extension": 4321}))).await.unwrap().json().await.unwrap()),
            ("/agents/add.json", "put", "406", call(reqwest::Method::PUT, "/agents/add.json", Some(json!({"firstname": "Bad", "lastname": "Mail", "email": "not-an-email", "pass": "x"}))).await.unwrap().json().await.unwrap()),
            ("/agents/edit/{agentId}.json", "post", "200", call(reqwest::Method::POST, &format!("/agents/edit/{agent_id}.json"), Some(json!({"firstname": "Olivia", "lastname": "Park", "email": "ops-lead@acme.example"}))).await.unwrap().json().await.unwrap()),
            ("/groups/add.json", "put", "200", call(reqwest::Method::PUT, "/groups/add.json", Some(json!({"group_id": 1, "agent_id": agent_id}))).await.unwrap().json().await.unwrap()),
            ("/groups/delete/{agent_id}.json", "delete", "200", call(reqwest::Method::DELETE, &format!("/groups/delete/{agent_id}.json"), Some(json!({"group_id": 1}))).await.unwrap().json().await.unwrap()),
        ];
        for (spec, verb, status, answer) in checks {
            let pointer = format!("/paths/{}/{verb}/responses/{status}/content/application~1json/schema", esc(spec));
            conforms(&openapi, &pointer, &answer["responseData"]).unwrap_or_else(|e| panic!("{verb} {spec} {status}: {e}\n{answer}"));
        }
    });
    assert_no_agent_delete(&server);
}

#[test]
fn seats_run_out_with_403() {
    let server = Server::start(
        Some("examples/acme"),
        None,
        &[&UNPACED[..], &["--max-agents", "22"]].concat(),
    );
    fs::write(server.path("ct.yaml"), ct_roster()).unwrap();
    let out = ct(&server, &["apply", "ct.yaml", "--auto-approve"]);
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out).contains("HTTP 403: Max. number of agents reached."),
        "{}",
        stdout(&out)
    );
    assert_no_agent_delete(&server);
}

/// A 429 whose reset time is two seconds ahead, with no Retry-After, is waited out.
#[test]
fn a_429_is_waited_out_until_the_reset_time() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = axum::Router::new()
        .route(
            "/agents/index.json",
            get(move || {
                let n = counter.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        let reset = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() + 2;
                        let mut headers = axum::http::HeaderMap::new();
                        headers.insert("x-cloudtalkapi-limit", 60.into());
                        headers.insert("x-cloudtalkapi-remaining", 0.into());
                        headers.insert("x-cloudtalkapi-resettime", reset.into());
                        return (axum::http::StatusCode::TOO_MANY_REQUESTS, headers, axum::Json(json!({"responseData": {"status": 429, "message": "Too Many Requests"}})));
                    }
                    let agent = json!({"id": 1, "email": "boss@acme.example", "firstname": "Boss", "lastname": "X", "status_outbound": true});
                    (axum::http::StatusCode::OK, axum::http::HeaderMap::new(), axum::Json(json!({"responseData": {"itemsCount": 1, "pageCount": 1, "pageNumber": 1, "limit": 1000, "data": [{"Agent": agent}]}})))
                }
            }),
        )
        .route("/groups/index.json", get(|| async { axum::Json(json!({"responseData": {"itemsCount": 0, "pageCount": 1, "pageNumber": 1, "limit": 1000, "data": []}})) }));
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("r.yaml"), "version: 1\nprovider: { kind: cloudtalk, account: acme }\nroles:\n  - { name: Administrator, admin: true }\nusers:\n  - { email: boss@acme.example, name: Boss X, role: Administrator }\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["plan", "r.yaml", "--detailed-exitcode", "--retries", "1"])
        .current_dir(dir.path())
        .env("CLOUDTALK_BASE_URL", &url)
        .env("CLOUDTALK_ACCESS_KEY_ID", "k")
        .env("CLOUDTALK_ACCESS_KEY_SECRET", "s")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one 429, then the answer");
}

#[test]
fn a_thousand_agents_in_at_most_three_requests() {
    let mut state = roster_sandbox::State::synthetic(1_000);
    for (i, u) in state.users.iter_mut().enumerate() {
        u.id = (5000 + i).to_string();
        u.extension = None;
    }
    let server = Server::start(None, Some(&state), &UNPACED);
    fs::write(server.path("r.yaml"), "version: 1\nprovider: { kind: cloudtalk, account: big }\npolicy: { unmanaged_users: ignore }\nroles:\n  - { name: Administrator, admin: true }\n  - { name: Agent }\nusers:\n  - { email: agent000000@acme.example, name: Agent 000000, role: Administrator }\n").unwrap();
    let out = ct(&server, &["plan", "r.yaml", "--detailed-exitcode"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let n = server.requests().len();
    assert!(n <= 3, "{n} requests");
    assert_no_agent_delete(&server);
}

/// Import from CloudTalk: roles cannot be read, so the administrators are named.
#[test]
fn cloudtalk_import_plans_empty() {
    let state = crate::import::varied();
    let admins: Vec<String> = state
        .users
        .iter()
        .filter(|u| state.is_admin_role(&u.role))
        .map(|u| u.email.clone())
        .collect();
    let server = Server::start(None, Some(&state), &UNPACED);
    let mut args = vec![
        "import",
        "--provider",
        "cloudtalk",
        "--account",
        "acme",
        "--out",
        "r",
        "--include-inactive",
    ];
    for a in &admins {
        args.push("--admin");
        args.push(a);
    }
    let out = ct(&server, &args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = fs::read_to_string(server.path("r/roster.yaml")).unwrap();
    assert!(
        text.contains("administrators come from --admin") && text.contains("role: Administrator")
    );
    let plan = ct(&server, &["plan", "r", "--detailed-exitcode"]);
    assert_eq!(code(&plan), 0, "{}{}", stdout(&plan), stderr(&plan));
    assert_no_agent_delete(&server);
}

#[test]
fn cloudtalk_fault_storm_with_lost_answers_creates_nobody_twice() {
    // Storms of seeded faults are run until one has both lost a create's answer (the
    // agent exists: the lookup finds it) and failed one with a 500 (it does not: the
    // create is sent again). Each storm has a seed of its own, the same in every run.
    // At 0.35 a request fails all 11 of its tries once in 100,000; a storm that loses
    // both kinds of create answer comes within 16 seeds but for once in 2,000.
    for storm in 0..16 {
        let seed = (fault_seed() + storm).to_string();
        println!("storm with fault seed {seed}");
        let server = Server::start(
            Some("examples/acme"),
            None,
            &[
                &UNPACED[..],
                &["--fault-rate", "0.35", "--faults", "drop,500"],
                &["--fault-seed", &seed],
            ]
            .concat(),
        );
        fs::write(server.path("ct.yaml"), ct_roster()).unwrap();
        let out = ct(&server, &["apply", "ct.yaml", "--auto-approve"]);
        assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
        for h in server.history() {
            assert!(h.emails_unique, "duplicate agent after {h:?}");
        }
        let again = ct(&server, &["plan", "ct.yaml", "--detailed-exitcode"]);
        assert_eq!(code(&again), 0, "{}", stdout(&again));
        assert_no_agent_delete(&server);
        let requests = server.requests();
        let hit = |fault: &str| {
            requests
                .iter()
                .any(|r| r.path == "/agents/add.json" && r.fault.as_deref() == Some(fault))
        };
        if hit("dropped") && hit("500") {
            return;
        }
    }
    panic!("no storm both lost a create's answer and failed one; the test tested nothing");
}

/// CloudTalk's reference summarises the membership DELETE as "Delete an agent". When
/// the vendor reads it that way, the first one deletes its agent: roster reads the
/// agent back, stops at once, sends no second DELETE, says so, and journals it.
#[test]
fn a_membership_delete_that_deletes_the_agent_stops_the_apply_at_once() {
    let server = Server::start(
        Some("examples/acme"),
        None,
        &[&UNPACED[..], &["--cloudtalk-leave-deletes"]].concat(),
    );
    fs::write(server.path("ct.yaml"), ct_roster()).unwrap();
    let out = ct(&server, &["apply", "ct.yaml", "--auto-approve"]);
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let report = stdout(&out);
    assert!(
        report.contains("Apply stopped (CloudTalk deleted agent"),
        "{report}"
    );
    assert!(report.contains("sent nothing more"), "{report}");
    let deletes: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    let journal_dir = server.path(".roster/journal");
    let journal: String = fs::read_dir(&journal_dir)
        .unwrap()
        .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(journal.contains("\"event\":\"halted\""), "{journal}");
    assert!(journal.contains("CloudTalk deleted agent"), "{journal}");
}
