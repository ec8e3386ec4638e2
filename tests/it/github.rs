//! `roster github` against a local fake of the GitHub API (through GITHUB_API_URL).

use std::fs;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::support::{Server, code, root, stderr, stdout};

#[derive(Default)]
struct Fake {
    comments: Vec<(u64, String)>,
    posts: usize,
    patches: usize,
}

type Shared = Arc<Mutex<Fake>>;

/// The fake API on 127.0.0.1:0; commit `merged` belongs to pull request 7.
fn fake_github(rt: &tokio::runtime::Runtime) -> (String, Shared) {
    let fake: Shared = Arc::default();
    let app = Router::new()
        .route(
            "/repos/{o}/{r}/issues/{n}/comments",
            get(|State(f): State<Shared>| async move {
                let f = f.lock().unwrap();
                Json(Value::Array(
                    f.comments
                        .iter()
                        .map(|(id, b)| json!({"id": id, "body": b}))
                        .collect(),
                ))
            })
            .post(|State(f): State<Shared>, Json(v): Json<Value>| async move {
                let mut f = f.lock().unwrap();
                let id = 1000 + f.comments.len() as u64;
                f.comments
                    .push((id, v["body"].as_str().unwrap().to_string()));
                f.posts += 1;
                (axum::http::StatusCode::CREATED, Json(json!({"id": id})))
            }),
        )
        .route(
            "/repos/{o}/{r}/issues/comments/{id}",
            patch(
                |State(f): State<Shared>,
                 Path((_, _, id)): Path<(String, String, u64)>,
                 Json(v): Json<Value>| async move {
                    let mut f = f.lock().unwrap();
                    f.patches += 1;
                    if let Some(c) = f.comments.iter_mut().find(|(i, _)| *i == id) {
                        c.1 = v["body"].as_str().unwrap().to_string();
                    }
                    Json(json!({"id": id}))
                },
            ),
        )
        .route(
            "/repos/{o}/{r}/commits/{sha}/pulls",
            get(
                |Path((_, _, sha)): Path<(String, String, String)>| async move {
                    Json(if sha == "merged" {
                        json!([{"number": 7}])
                    } else {
                        json!([])
                    })
                },
            ),
        )
        .with_state(fake.clone());
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    rt.spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, fake)
}

fn github(server: &Server, api: &str, event: &Value, args: &[&str]) -> std::process::Output {
    let event_path = server.path("event.json");
    fs::write(&event_path, event.to_string()).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .arg("github")
        .args(args)
        .current_dir(server.dir.path())
        .env("GITHUB_API_URL", api)
        .env("GITHUB_TOKEN", "ghs_fake")
        .env("GITHUB_REPOSITORY", "acme/roster")
        .env("GITHUB_EVENT_PATH", &event_path)
        .env("GITHUB_SHA", "merged")
        .env("GITHUB_RUN_ID", "4242")
        .env("GITHUB_OUTPUT", server.path("output.txt"))
        .env("GITHUB_STEP_SUMMARY", server.path("summary.md"))
        .output()
        .unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn sticky_comment_is_created_then_updated_with_outputs() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = Server::start(Some("examples/acme"), None, &[]);
    let acme = root().join("examples/acme").display().to_string();
    assert_eq!(
        code(&server.roster(&["plan", &acme, "--out", "plan.json"])),
        0
    );
    let pr = json!({"pull_request": {"number": 7}});
    for _ in 0..2 {
        let out = github(
            &server,
            &api,
            &pr,
            &[
                "comment",
                "--plan",
                "plan.json",
                "--path",
                "roster",
                "--mask-pii",
                "--exitcode",
                "2",
            ],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    let f = fake.lock().unwrap();
    assert_eq!(
        (f.comments.len(), f.posts, f.patches),
        (1, 1, 1),
        "one sticky comment, updated in place"
    );
    let body = &f.comments[0].1;
    assert!(body.starts_with("<!-- roster:plan path=roster checksum=sha256:"));
    assert!(
        body.contains("a***@acme.example") && !body.contains("ana.costa@acme.example"),
        "emails are masked"
    );
    let outputs = fs::read_to_string(server.path("output.txt")).unwrap();
    assert!(
        outputs.contains("changes=17\ncreates=5\nupdates=10\ndeactivations=2\nchecksum=sha256:"),
        "{outputs}"
    );
    assert!(outputs.contains("exitcode=2"));
    server.assert_no_delete();
}

#[test]
fn a_plan_too_big_for_a_comment_is_cut_and_summarized_in_full() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = Server::start(Some("examples/acme"), None, &[]);
    let mut text = fs::read_to_string(root().join("examples/acme/roster.yaml"))
        .unwrap()
        .replace("limit: 40", "limit: 2000")
        .replace("\"10%\"", "100");
    for i in 0..700 {
        text.push_str(&format!(
            "  - {{ email: new.hire.with.a.long.name.{i:04}@acme.example, name: New Hire With A Long Name {i:04}, role: Agent, teams: [Billing, Sales], queues: [billing, sales], extension: \"{}\", time_zone: America/Argentina/Buenos_Aires, language: es-AR }}\n",
            50_000 + i
        ));
    }
    fs::write(server.path("big.yaml"), text).unwrap();
    let out = server.roster(&[
        "plan",
        "big.yaml",
        "--out",
        "plan.json",
        "--format",
        "markdown",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let full = roster_core::render::markdown_limited(
        &serde_json::from_slice(&fs::read(server.path("plan.json")).unwrap()).unwrap(),
        usize::MAX,
    );
    assert!(
        full.len() > 70_000,
        "the plan renders to {} characters",
        full.len()
    );
    let out = github(
        &server,
        &api,
        &json!({"number": 7}),
        &["comment", "--plan", "plan.json"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let body = fake.lock().unwrap().comments[0].1.clone();
    assert!(
        body.chars().count() < 65_536,
        "comment of {} characters",
        body.chars().count()
    );
    assert!(
        body.contains("and ")
            && body.contains("more")
            && body.contains("The full plan is in the run's step summary.")
    );
    let summary = fs::read_to_string(server.path("summary.md")).unwrap();
    for i in [0, 350, 699] {
        assert!(
            summary.contains(&format!("new.hire.with.a.long.name.{i:04}@acme.example")),
            "{i} is in the summary"
        );
    }
    server.assert_no_delete();
}

#[test]
fn validation_errors_become_annotations() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("bad.yaml"), "version: 1\nprovider: { kind: talkdesk, account: acme }\nroles: [ { name: Administrator, admin: true } ]\nusers:\n  - { email: nope, name: A, role: Administrator }\n").unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["validate", "bad.yaml"])
        .current_dir(dir.path())
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        stdout(&out)
            .contains("::error file=bad.yaml,line=5,col=14::\"nope\" is not a valid email address"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn apply_on_merge_refuses_a_changed_plan_and_says_so() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = Server::start(Some("examples/acme"), None, &[]);
    let acme = root().join("examples/acme").display().to_string();
    assert_eq!(
        code(&server.roster(&["plan", &acme, "--out", "approved.json"])),
        0
    );
    let pr = json!({"pull_request": {"number": 7}});
    assert_eq!(
        code(&github(
            &server,
            &api,
            &pr,
            &["comment", "--plan", "approved.json", "--path", "roster"]
        )),
        0
    );
    let push = json!({"ref": "refs/heads/main"});
    let same = github(
        &server,
        &api,
        &push,
        &["verify", "--plan", "approved.json", "--path", "roster"],
    );
    assert_eq!(code(&same), 0, "{}", stderr(&same));
    // Someone changes the roster after approval: the merged plan differs.
    let text = fs::read_to_string(root().join("examples/acme/roster.yaml"))
        .unwrap()
        .replace("name: Ben Carter", "name: Benjamin Carter");
    fs::write(server.path("merged.yaml"), text).unwrap();
    assert_eq!(
        code(&server.roster(&["plan", "merged.yaml", "--out", "merged.json"])),
        0
    );
    let refused = github(
        &server,
        &api,
        &push,
        &["verify", "--plan", "merged.json", "--path", "roster"],
    );
    assert_eq!(code(&refused), 3, "{}", stderr(&refused));
    assert!(stderr(&refused).contains("the plan changed since it was approved on #7"));
    let body = fake.lock().unwrap().comments[0].1.clone();
    assert!(
        body.contains("**Not applied: the plan changed since approval.**"),
        "{body}"
    );
    assert!(
        body.contains("-create ben.carter@acme.example")
            && body.contains("+create ben.carter@acme.example"),
        "{body}"
    );
    let forced = github(
        &server,
        &api,
        &push,
        &[
            "verify",
            "--plan",
            "merged.json",
            "--path",
            "roster",
            "--force-apply",
        ],
    );
    assert_eq!(code(&forced), 0);
    let applied = github(
        &server,
        &api,
        &push,
        &[
            "comment",
            "--plan",
            "merged.json",
            "--path",
            "roster",
            "--status",
            "applied",
        ],
    );
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));
    assert!(
        fake.lock().unwrap().comments[0]
            .1
            .contains("**Applied** in run 4242.")
    );
    assert_eq!(fake.lock().unwrap().comments.len(), 1);
    server.assert_no_delete();
}

/// The action's script itself, with `roster` on PATH: plan and comment on a pull
/// request, then apply on merge and mark the comment applied.
#[test]
fn action_script_plans_then_applies() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = Server::start(Some("examples/acme"), None, &[]);
    fs::create_dir(server.path("roster")).unwrap();
    fs::copy(
        root().join("examples/acme/roster.yaml"),
        server.path("roster/roster.yaml"),
    )
    .unwrap();
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_roster"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |command: &str, event: Value| {
        fs::write(server.path("event.json"), event.to_string()).unwrap();
        std::process::Command::new("bash")
            .arg(root().join("action/run.sh"))
            .current_dir(server.dir.path())
            .env("PATH", &path)
            .env("ROSTER_COMMAND", command)
            .env("ROSTER_PATH", "roster")
            .env("ROSTER_COMMENT", "true")
            .env("RUNNER_TEMP", server.dir.path())
            .env("TALKDESK_BASE_URL", &server.url)
            .env("TALKDESK_TOKEN_URL", format!("{}/oauth/token", server.url))
            .env("TALKDESK_CLIENT_ID", "sandbox")
            .env("TALKDESK_CLIENT_SECRET", "sandbox-secret")
            .env("GITHUB_API_URL", &api)
            .env("GITHUB_TOKEN", "ghs_fake")
            .env("GITHUB_REPOSITORY", "acme/roster")
            .env("GITHUB_EVENT_PATH", server.path("event.json"))
            .env("GITHUB_SHA", "merged")
            .env("GITHUB_RUN_ID", "99")
            .env("GITHUB_OUTPUT", server.path("output.txt"))
            .env("GITHUB_STEP_SUMMARY", server.path("summary.md"))
            .output()
            .unwrap()
    };
    let planned = run("plan", json!({"pull_request": {"number": 7}}));
    assert_eq!(
        code(&planned),
        0,
        "{}{}",
        stdout(&planned),
        stderr(&planned)
    );
    assert_eq!(fake.lock().unwrap().comments.len(), 1);
    let applied = run("apply", json!({"ref": "refs/heads/main"}));
    assert_eq!(
        code(&applied),
        0,
        "{}{}",
        stdout(&applied),
        stderr(&applied)
    );
    assert!(
        fake.lock().unwrap().comments[0]
            .1
            .contains("**Applied** in run 99.")
    );
    assert_eq!(
        code(&server.roster(&["plan", "roster", "--detailed-exitcode"])),
        0
    );
    server.assert_no_delete();
}
