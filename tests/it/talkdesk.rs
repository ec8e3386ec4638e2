//! Talkdesk as Talkdesk documents it, over HTTP: credentials that grant only some
//! surfaces, licenses running out, queue writes that fail inside a 200, what a PUT
//! must keep, a compliant SCIM server that is not ours, and import.

use std::collections::HashMap;
use std::fs;

use axum::extract::Query;
use axum::routing::get;
use serde_json::{Value, json};

use crate::support::{Server, acme, acme_text, code, root, stderr, stdout};

fn plan_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(out)))
}

/// The account is read while the users load; a roster that does not load is reported
/// by its own diagnostics, whatever the read met meanwhile (here: no server at all), and
/// a large one plans against the emulator as a small one does.
#[test]
fn a_roster_that_does_not_load_is_reported_before_the_read() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let head = "version: 1\nprovider: { kind: talkdesk, account: acme }\npolicy: { unmanaged_users: ignore }\nroles:\n  - { name: Administrator, admin: true }\n  - { name: Agent }\nusers:\n";
    let entries: String = (0..5_000)
        .map(|i| format!("  - {{ email: bulk{i}@acme.example, name: Bulk {i}, role: Agent }}\n"))
        .collect();
    let large = format!(
        "{head}  - {{ email: root@acme.example, name: Root, role: Administrator }}\n{entries}"
    );
    let small =
        format!("{head}  - {{ email: root@acme.example, name: Root, role: Administrator }}\n");
    for (name, text) in [("large.yaml", &large), ("small.yaml", &small)] {
        let bad = text.replacen("role: Agent", "role: Agnet", 1).replacen(
            "name: Root, role: Administrator",
            "name: Root, role: Administrator, role: Agent",
            usize::from(name == "small.yaml"),
        );
        fs::write(server.path(name), &bad).unwrap();
        for url in [server.url.clone(), "http://127.0.0.1:9".to_string()] {
            let out = server.roster_env(
                &["plan", name],
                &[
                    ("TALKDESK_BASE_URL", &url),
                    ("TALKDESK_TOKEN_URL", &format!("{url}/oauth/token")),
                ],
            );
            assert_eq!(code(&out), 1, "{name} {url}: {}", stderr(&out));
            let err = stderr(&out);
            assert!(
                err.contains(&format!(" --> {name}:")),
                "{name} {url}: {err}"
            );
            assert!(
                !err.contains("cannot read the account"),
                "{name} {url}: {err}"
            );
        }
        fs::write(server.path(name), text).unwrap();
        let out = server.roster(&["plan", name, "--format", "json"]);
        assert_eq!(code(&out), 0, "{name}: {}", stderr(&out));
        let creates = plan_json(&out)["changes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["action"] == "create")
            .count();
        let expected = if name == "large.yaml" { 5_001 } else { 1 };
        assert_eq!(creates, expected, "{name}");
    }
    server.assert_no_delete();
}

/// Runs roster with only a SCIM token: no OAuth client, so no REST or queues.
fn scim_only(server: &Server, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(args)
        .current_dir(server.dir.path())
        .env("NO_COLOR", "1")
        .env("TALKDESK_BASE_URL", &server.url)
        .env("TALKDESK_SCIM_TOKEN", roster_sandbox::SCIM_TOKEN)
        .env_remove("TALKDESK_CLIENT_ID")
        .env_remove("TALKDESK_CLIENT_SECRET")
        .output()
        .unwrap()
}

#[test]
fn scim_alone_plans_and_applies_users_roles_and_teams() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let plan = plan_json(&scim_only(&server, &["plan", &acme(), "--format", "json"]));
    let warnings = plan["warnings"].to_string();
    assert!(warnings.contains("queues cannot be read"), "{warnings}");
    assert!(
        warnings.contains("the REST users list cannot be read"),
        "{warnings}"
    );
    assert!(
        plan["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["fields"].get("queues").is_none()),
        "queues are not planned without their scopes"
    );
    server.next_command();
    let out = scim_only(&server, &["apply", &acme(), "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    server.next_command();
    let again = scim_only(&server, &["plan", &acme(), "--detailed-exitcode"]);
    assert_eq!(code(&again), 0, "{}{}", stdout(&again), stderr(&again));
    assert!(
        server
            .requests()
            .iter()
            .all(|r| r.path.starts_with("/scim/v2/")),
        "only SCIM was used"
    );
    server.assert_no_delete();
    server.assert_no_429();
}

#[test]
fn without_the_scim_scope_the_plan_names_what_it_cannot_read_and_apply_writes_none_of_it() {
    let server = Server::start(
        Some("examples/acme"),
        None,
        &[
            "--scopes",
            "users:read,queues:read,queues-users:read,queues:write",
        ],
    );
    let out = server.roster(&["plan", &acme(), "--format", "json"]);
    let plan = plan_json(&out);
    let warnings = plan["warnings"].to_string();
    assert!(
        warnings.contains("SCIM cannot be used")
            && warnings.contains("role, teams and name parts are neither read nor written"),
        "{warnings}"
    );
    assert!(
        warnings.contains("the scope scim"),
        "the scope is named: {warnings}"
    );
    for c in plan["changes"].as_array().unwrap() {
        for f in ["role", "teams", "name"] {
            assert!(
                c["action"] == "create" || c["fields"].get(f).is_none(),
                "{f} cannot be read, so it is not compared: {c}"
            );
        }
    }
    // The plan job may lack the scope on purpose: each change that needs it says so.
    let needing: Vec<&Value> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["needs"] == "scim")
        .collect();
    assert!(
        needing.iter().any(|c| c["action"] == "create"),
        "creates need scim: {}",
        plan["changes"]
    );
    assert_eq!(
        code(&out),
        0,
        "a plan with changes it cannot send still plans"
    );
    let text = server.roster(&["plan", &acme()]);
    assert!(
        stdout(&text).contains("needs `scim` at apply"),
        "{}",
        stdout(&text)
    );
    // Apply refuses the whole plan before its first write, naming the scope once.
    let out = server.roster(&["apply", &acme(), "--auto-approve"]);
    assert_eq!(code(&out), 3, "{}", stdout(&out));
    let err = stderr(&out);
    assert_eq!(err.matches("need the scope `scim`").count(), 1, "{err}");
    assert!(err.contains("nothing was sent"), "{err}");
    assert!(server.history().is_empty(), "nothing was written");
    server.assert_no_delete();
}

#[test]
fn a_user_created_without_a_free_license_is_reported_and_not_retried_silently() {
    let mut state = roster_sandbox::seed::from_roster(&roster_sandbox::seed::example());
    let active = state.users.iter().filter(|u| u.status == "active").count();
    // Room for the reactivation and nothing else.
    state.licenses = Some(active + 1);
    let server = Server::start(None, Some(&state), &[]);
    let out = server.roster(&["apply", &acme(), "--auto-approve"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let text = format!("{}{}", stdout(&out), stderr(&out));
    let refused = text.matches("but inactive: no free license").count();
    assert!(refused >= 4, "every create past the limit is named: {text}");
    assert!(
        text.contains("was created but inactive: no free license"),
        "{text}"
    );
    let again = server.roster(&["plan", &acme(), "--format", "json"]);
    let plan = plan_json(&again);
    assert!(
        plan["summary"]["reactivate"].as_u64().unwrap() >= 4,
        "the next plan shows them, not silence: {}",
        plan["summary"]
    );
    let out = server.roster(&["apply", &acme(), "--auto-approve"]);
    assert_eq!(code(&out), 1, "still no license, still an error");
    server.assert_no_delete();
}

#[test]
fn queue_failures_inside_a_200_are_reported_by_email_and_planned_again() {
    let mut server = Server::start(Some("examples/acme"), None, &[]);
    let plan = plan_json(&server.roster(&["plan", &acme(), "--format", "json"]));
    let mover = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "update" && c["fields"].get("queues").is_some())
        .map(|c| c["key"].as_str().unwrap().to_string())
        .expect("the seeded drift has a queue move");
    server.restart(&["--queue-refuse", &mover]);
    let out = server.roster(&["apply", &acme(), "--auto-approve"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("{mover}: queue")) && err.contains("the answer was 200 with errors"),
        "{err}"
    );
    let plan = plan_json(&server.roster(&["plan", &acme(), "--format", "json"]));
    let left: Vec<&Value> = plan["changes"].as_array().unwrap().iter().collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["key"], mover.as_str());
    assert!(left[0]["fields"].get("queues").is_some());
    server.assert_no_delete();
}

#[test]
fn a_role_change_keeps_what_the_roster_does_not_manage() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let plan = plan_json(&server.roster(&["plan", &acme(), "--format", "json"]));
    let change = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "update" && c["fields"].get("role").is_some())
        .expect("the seeded drift has a role change")
        .clone();
    let (id, email) = (
        change["id"].as_str().unwrap().to_string(),
        change["key"].as_str().unwrap().to_string(),
    );
    // An identity provider owns an attribute; the roster claims the user.
    assert_eq!(
        server.scim_edit(&id, |u| u["externalId"] = "okta-7".into()),
        200
    );
    let text = acme_text().replace(
        &format!("  - email: {email}\n"),
        &format!("  - email: {email}\n    external_id: okta-7\n"),
    );
    fs::write(server.path("r.yaml"), text).unwrap();
    let out = server.roster(&["apply", "r.yaml", "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let state: Value =
        serde_json::from_slice(&fs::read(server.path("state.json")).unwrap()).unwrap();
    let user = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == id.as_str())
        .unwrap();
    assert_eq!(
        user["external_id"], "okta-7",
        "the PUT kept the identity provider's attribute"
    );
    let again = plan_json(&server.roster(&["plan", "r.yaml", "--format", "json"]));
    assert!(
        again["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["key"] != email.as_str()),
        "the role change was applied: {}",
        again["changes"]
    );
    server.assert_no_delete();
}

#[test]
fn a_static_scim_token_refused_is_named() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["plan", &acme(), "--retries", "1"])
        .current_dir(server.dir.path())
        .env("TALKDESK_BASE_URL", &server.url)
        .env("TALKDESK_SCIM_TOKEN", "an-old-token")
        .env_remove("TALKDESK_CLIENT_ID")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(
        err.contains("the SCIM API refused TALKDESK_SCIM_TOKEN"),
        "{err}"
    );
    assert!(!err.contains("an-old-token"), "the token is never printed");
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
    let app = axum::Router::new().route(
        "/scim/v2/Users",
        get(move |Query(q): Query<HashMap<String, String>>| async move {
            let start: usize = q.get("startIndex").and_then(|s| s.parse().ok()).unwrap_or(1);
            let page: Vec<Value> = (start - 1..3).take(1).map(users).collect();
            axum::Json(json!({"TotalResults": 3, "ItemsPerPage": page.len(), "StartIndex": start, "resources": page}))
        }),
    );
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("r.yaml"),
        "version: 1\nprovider: { kind: talkdesk, account: acme }\nroles:\n  - { name: Administrator, admin: true }\n  - { name: Agent }\nusers:\n  - { email: boss@acme.example, name: boss X, role: Administrator }\n  - { email: ann@acme.example, name: ann X, role: Agent }\n  - { email: bob@acme.example, name: bob X, role: Agent }\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["plan", "r.yaml", "--detailed-exitcode"])
        .current_dir(dir.path())
        .env("TALKDESK_BASE_URL", &url)
        .env("TALKDESK_SCIM_TOKEN", "t")
        .env_remove("TALKDESK_CLIENT_ID")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("No changes for roster to make."),
        "all three users were read across short pages: {}",
        stdout(&out)
    );
}

#[test]
fn import_plans_empty_and_is_byte_stable() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let args = [
        "import",
        "--account",
        "acme",
        "--out",
        "r",
        "--include-inactive",
    ];
    let out = server.roster(&args);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let first = fs::read_to_string(server.path("r/roster.yaml")).unwrap();
    assert!(
        first.contains("provider: { kind: talkdesk, account: acme, modeled: [phone, addons] }")
            && first.contains("status: inactive")
    );
    let plan = server.roster(&["plan", "r", "--detailed-exitcode"]);
    assert_eq!(code(&plan), 0, "{}{}", stdout(&plan), stderr(&plan));
    let again = server.roster(&[
        "import",
        "--account",
        "acme",
        "--out",
        "r",
        "--include-inactive",
        "--force",
    ]);
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    assert_eq!(
        first,
        fs::read_to_string(server.path("r/roster.yaml")).unwrap()
    );
    server.assert_no_delete();
}

/// A `scim2-server` (PyPI) child process, killed on drop: an independent SCIM
/// implementation with the Talkdesk user extension registered (`.ci/scim2_testserver.py`).
struct ThirdPartyScim {
    child: std::process::Child,
    url: String,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ThirdPartyScim {
    /// Starts it with `python` (a Python that has scim2-server installed).
    fn start(python: &str) -> ThirdPartyScim {
        use std::io::BufRead;
        let mut child = std::process::Command::new(python)
            .arg(root().join(".ci/scim2_testserver.py"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("scim2-server starts");
        let mut first = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        let url = first
            .trim()
            .strip_prefix("listening on ")
            .expect("its first line names the address")
            .to_string();
        let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (sink, stderr) = (log.clone(), child.stderr.take().unwrap());
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                sink.lock().unwrap().push(line);
            }
        });
        ThirdPartyScim { child, url, log }
    }

    fn get(&self, path: &str) -> Value {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                crate::support::reqwest_client()
                    .get(format!("{}{path}", self.url))
                    .bearer_auth("t")
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap()
            })
    }

    fn send(&self, method: reqwest::Method, path: &str, body: Value) -> u16 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                crate::support::reqwest_client()
                    .request(method, format!("{}{path}", self.url))
                    .bearer_auth("t")
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
    }
}

impl Drop for ThirdPartyScim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python that runs scim2-server: `ROSTER_SCIM2_PYTHON` (`.ci/run` sets it and
/// `ROSTER_REQUIRE_SCIM2`, so CI always runs this test), else none.
fn scim2_python() -> Option<String> {
    let python = std::env::var("ROSTER_SCIM2_PYTHON").ok();
    if python.is_none() {
        assert!(
            std::env::var_os("ROSTER_REQUIRE_SCIM2").is_none(),
            "ROSTER_REQUIRE_SCIM2 is set but ROSTER_SCIM2_PYTHON is not"
        );
        eprintln!(
            "skipped: set ROSTER_SCIM2_PYTHON to a Python with scim2-server==0.8.3 (bash .ci/run does)"
        );
    }
    python
}

#[test]
fn a_third_party_scim_server_starting_empty_is_bootstrapped_with_two_administrators() {
    let Some(python) = scim2_python() else { return };
    let scim = ThirdPartyScim::start(&python);
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("r.yaml"),
        "version: 1\nprovider: { kind: talkdesk, account: acme }\nroles:\n  - { name: Administrator, admin: true }\n  - { name: Agent }\nteams: [ { name: Billing } ]\nusers:\n  - { email: ops-lead@acme.example, name: Olivia Park, role: Administrator, teams: [Billing] }\n  - { email: ana.costa@acme.example, name: Ana Costa, role: Administrator, teams: [Billing] }\n  - { email: lee@acme.example, name: Lee Adams, role: Agent, teams: [Billing] }\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("ROSTER_STATE_DIR", dir.path())
            .env("TALKDESK_SCIM_URL", &scim.url)
            .env("TALKDESK_SCIM_TOKEN", "t")
            .env_remove("TALKDESK_CLIENT_ID")
            .env_remove("TALKDESK_CLIENT_SECRET")
            .output()
            .unwrap()
    };
    assert_eq!(scim.get("/Users")["totalResults"], 0);
    let out = run(&["apply", "r.yaml", "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("active admins 0 → 2 (lowest 0 during apply), floor 1; the account starts below its floor and this plan raises it"),
        "{text}"
    );
    assert!(text.contains("3 change(s) applied"), "{text}");
    let users = scim.get("/Users");
    assert_eq!(users["totalResults"], 3, "{users}");
    let again = run(&["plan", "r.yaml", "--detailed-exitcode"]);
    assert_eq!(code(&again), 0, "{}{}", stdout(&again), stderr(&again));
}

#[test]
fn scim_alone_against_a_third_party_scim_server() {
    let Some(python) = scim2_python() else { return };
    let scim = ThirdPartyScim::start(&python);
    let dir = tempfile::tempdir().unwrap();
    let roster = |lead_role: &str, quinn: &str| {
        format!(
            "version: 1\nprovider: {{ kind: talkdesk, account: acme }}\nroles:\n  - {{ name: Administrator, admin: true }}\n  - {{ name: Supervisor }}\n  - {{ name: Agent }}\nteams: [ {{ name: Billing }}, {{ name: Sales }} ]\nusers:\n  - {{ email: ops-lead@acme.example, name: Olivia Park, role: Administrator, teams: [Billing] }}\n  - {{ email: ana.costa@acme.example, name: Ana Costa, role: Administrator, teams: [Billing, Sales] }}\n  - {{ email: lead@acme.example, name: Lee Adams, role: {lead_role}, teams: [Sales] }}\n  - {{ email: quinn@acme.example, name: Quinn, role: Agent, status: {quinn} }}\n"
        )
    };
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(args)
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("TALKDESK_SCIM_URL", &scim.url)
            .env("TALKDESK_SCIM_TOKEN", "t")
            .env_remove("TALKDESK_CLIENT_ID")
            .env_remove("TALKDESK_CLIENT_SECRET")
            .output()
            .unwrap()
    };
    // The account's first administrator exists before roster does.
    let first = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:talkdesk:2.0:User"],
        "userName": "ops-lead@acme.example", "name": {"givenName": "Olivia", "familyName": "Park"}, "active": true,
        "urn:ietf:params:scim:schemas:extension:talkdesk:2.0:User": {"rolesString": "Administrator", "teamsString": "Billing"}});
    assert_eq!(scim.send(reqwest::Method::POST, "/Users", first), 201);
    fs::write(dir.path().join("r.yaml"), roster("Agent", "active")).unwrap();
    let out = run(&["apply", "r.yaml", "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains("3 change(s) applied"),
        "{}",
        stdout(&out)
    );
    let again = run(&["plan", "r.yaml", "--detailed-exitcode"]);
    assert_eq!(code(&again), 0, "{}{}", stdout(&again), stderr(&again));

    // An identity provider sets an attribute roster does not manage.
    let list = scim.get("/Users?filter=userName%20eq%20%22lead%40acme.example%22");
    let id = list["Resources"][0]["id"].as_str().unwrap().to_string();
    let op = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [{"op": "add", "path": "name.middleName", "value": "Q"}]});
    assert!(scim.send(reqwest::Method::PATCH, &format!("/Users/{id}"), op) < 300);

    fs::write(dir.path().join("r.yaml"), roster("Supervisor", "inactive")).unwrap();
    let out = run(&[
        "apply",
        "r.yaml",
        "--auto-approve",
        "--allow-deactivations",
        "1",
    ]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let lead = scim.get(&format!("/Users/{id}"));
    assert_eq!(
        lead["urn:ietf:params:scim:schemas:extension:talkdesk:2.0:User"]["rolesString"],
        "Supervisor",
        "{lead}"
    );
    assert_eq!(
        lead["name"]["middleName"], "Q",
        "the unmanaged attribute survived: {lead}"
    );
    let quinn = scim.get("/Users?filter=userName%20eq%20%22quinn%40acme.example%22");
    assert_eq!(
        quinn["Resources"][0]["active"], false,
        "deactivated, not deleted"
    );
    let again = run(&["plan", "r.yaml", "--detailed-exitcode"]);
    assert_eq!(code(&again), 0, "{}{}", stdout(&again), stderr(&again));
    let log = scim.log.lock().unwrap().join("\n");
    assert!(
        !log.contains("\"DELETE "),
        "no DELETE reached the server: {log}"
    );
}

/// `provider.account` names a subdomain of Talkdesk's hosts, and nothing else: an
/// account written as a host and path (`127.0.0.1:PORT/steal?x=`) is refused at its
/// line before any request, so the OAuth client's credentials never reach the host it
/// names; the roster is read first in full or in part (a large users list), and
/// `import --account` is held to the same rule. Before this, the token request went to
/// that host.
#[test]
fn an_account_that_is_not_a_subdomain_reaches_no_host() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let head = format!(
        "version: 1\nprovider: {{ kind: talkdesk, account: \"127.0.0.1:{port}/steal?x=\" }}\nroles:\n  - {{ name: Administrator, admin: true }}\nusers:\n  - {{ email: root@acme.example, name: Root, role: Administrator }}\n"
    );
    let bulk: String = (0..5_000)
        .map(|i| {
            format!("  - {{ email: bulk{i}@acme.example, name: Bulk {i}, role: Administrator }}\n")
        })
        .collect();
    fs::write(dir.path().join("small.yaml"), &head).unwrap();
    fs::write(dir.path().join("large.yaml"), format!("{head}{bulk}")).unwrap();
    let account = format!("127.0.0.1:{port}/steal?x=");
    for args in [
        vec!["plan", "small.yaml"],
        vec!["plan", "large.yaml"],
        vec!["import", "--account", &account, "--out", "imported"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(&args)
            .args(["--retries", "0", "--timeout", "2"])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("TALKDESK_CLIENT_ID", "client-id")
            .env("TALKDESK_CLIENT_SECRET", "client-secret")
            .env("TALKDESK_BASE_URL", "http://127.0.0.1:9")
            .env_remove("TALKDESK_TOKEN_URL")
            .env_remove("TALKDESK_SCIM_URL")
            .env_remove("TALKDESK_SCIM_TOKEN")
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{args:?}: {err}");
        assert!(
            listener.accept().is_err(),
            "{args:?} connected to the host the account names: {err}"
        );
        if args[0] == "plan" {
            assert!(err.contains(&format!(" --> {}:2:", args[1])), "{err}");
        }
        assert!(err.contains("subdomain"), "{args:?}: {err}");
    }
}

/// A declared address that looks like a live user's without being it (here a
/// Cyrillic о in place of ops-lead's o) is refused at its line in the roster, naming
/// the live address, and nothing is written.
#[test]
fn a_declared_address_that_imitates_a_live_one_is_refused_at_its_line() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let text = acme_text().replace("ops-lead@acme.example", "\u{43e}ps-lead@acme.example");
    fs::write(server.path("r.yaml"), text).unwrap();
    let out = server.roster(&["plan", "r.yaml"]);
    let err = stderr(&out);
    assert_eq!(code(&out), 1, "{err}");
    assert!(
        err.contains("\u{43e}ps-lead@acme.example looks like live user ops-lead@acme.example")
            && err.contains(" --> r.yaml:23:12"),
        "{err}"
    );
    let out = server.roster(&["apply", "r.yaml", "--auto-approve"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(server.history().is_empty());
}

/// The queue list's default order is most recently updated first, so a supervisor's
/// edits move it between pages; roster asks for it by name, as
/// docs.talkdesk.com/reference/get-list-of-queues recommends, and reads every queue.
#[test]
fn queues_edited_while_they_are_read_are_each_read_once() {
    let mut state = roster_sandbox::State::synthetic(3);
    let mut names = vec!["support".to_string()];
    for i in 1..120 {
        let name = format!("queue-{i:03}");
        state.queues.push(roster_core::model::Named {
            id: format!("q-{i:03}"),
            name: name.clone(),
        });
        names.push(name);
    }
    let roster = roster_sandbox::synthetic::roster(3, 0).replacen(
        "\nqueues: [support]\n",
        &format!("\nqueues: [{}]\n", names.join(", ")),
        1,
    );
    let server = Server::start(None, Some(&state), &["--queue-churn"]);
    fs::write(server.path("roster.yaml"), roster).unwrap();
    let out = server.roster(&["plan", "roster.yaml", "--detailed-exitcode"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let lists: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.path == "/ccaas/queues")
        .collect();
    assert!(lists.len() >= 3, "120 queues take pages: {lists:?}");
    for r in &lists {
        let query = r.query.as_deref().unwrap_or_default();
        assert!(query.contains("order_by=name:asc"), "{query}");
        assert_eq!(r.status, 200, "{query}");
    }
}

/// A plan job whose client holds Guardian's read scope and none that writes: roles and
/// pending users come from Guardian, and nothing is sent to SCIM or written.
#[test]
fn a_plan_job_without_a_scope_that_writes_reads_roles_and_pending_users_from_guardian() {
    let mut state = roster_sandbox::seed::from_roster(&roster_sandbox::seed::example());
    let pending = state
        .users
        .iter_mut()
        .find(|u| u.email == "ops-lead@acme.example")
        .unwrap();
    pending.pending = true;
    let server = Server::start(
        None,
        Some(&state),
        &[
            "--scopes",
            "users:read,guardian-users:read,queues:read,queues-users:read",
        ],
    );
    let out = server.roster(&["plan", &acme(), "--format", "json"]);
    let plan = plan_json(&out);
    let warnings = plan["warnings"].to_string();
    assert!(warnings.contains("read from Guardian"), "{warnings}");
    assert!(
        !warnings.contains("neither read nor written") && !warnings.contains("roles were not read"),
        "roles were read: {warnings}"
    );
    let promoted = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "marco.silva@acme.example")
        .unwrap_or_else(|| panic!("{}", plan["changes"]));
    assert_eq!(
        promoted["fields"]["role"]["to"], "Administrator",
        "{promoted}"
    );
    assert_eq!(
        promoted["needs"], "scim",
        "apply needs scim for it: {promoted}"
    );
    let guards = plan["guards"].to_string();
    assert!(guards.contains("1 pending administrator"), "{guards}");
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.path.starts_with("/guardian/users")),
        "Guardian was read"
    );
    assert!(
        requests
            .iter()
            .all(|r| !r.path.starts_with("/scim/")
                && (r.method == "GET" || r.path == "/oauth/token")),
        "no SCIM request and no write: {:?}",
        requests
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect::<Vec<_>>()
    );
    assert!(server.history().is_empty());
}
