//! `roster github` against a local fake of the GitHub API (through GITHUB_API_URL).

use std::fs;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::routing::{get, patch};
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::support::{Server, acme, acme_text, code, root, stderr, stdout, write_plan};

mod accounts;
mod approval;

/// The login the fake's token writes as, and the workflow's default `bot-login`.
const BOT: &str = "github-actions[bot]";

/// The approval key the workflow's jobs on the default branch hold.
const APPROVAL_KEY: (&str, &str) = (
    "ROSTER_APPROVAL_KEY",
    "acme-example-approval-key-0123456789abcdef",
);

/// A `pull_request_target` event for pull request `n` at its default head.
fn pr_event(n: u64) -> Value {
    json!({"pull_request": {"number": n, "head": {"sha": format!("head-{n}")}}})
}

#[derive(Default)]
struct Fake {
    /// (id, issue or pull request number, author, body).
    comments: Vec<(u64, u64, String, String)>,
    /// (number, title, body, open).
    issues: Vec<(u64, String, String, bool)>,
    /// Pull requests that are merged.
    merged: Vec<u64>,
    /// Pull requests that are open.
    open: Vec<u64>,
    /// Head commits that differ from the default `head-N`.
    heads: Vec<(u64, String)>,
    posts: usize,
    patches: usize,
}

impl Fake {
    /// Pull request `n` as the API returns it: merged into main as commit `merged`
    /// when it is pull request 7 and marked merged.
    fn pull(&self, n: u64) -> Value {
        let head = self
            .heads
            .iter()
            .rev()
            .find(|h| h.0 == n)
            .map_or_else(|| format!("head-{n}"), |h| h.1.clone());
        let merged = self.merged.contains(&n);
        let merge_commit = if n == 7 {
            "merged".to_string()
        } else {
            format!("merge-{n}")
        };
        json!({"number": n, "merged": merged, "base": {"ref": "main"}, "head": {"sha": head},
            "merge_commit_sha": if merged { json!(merge_commit) } else { Value::Null }})
    }

    /// Bodies of the comments on `n`.
    fn bodies(&self, n: u64) -> Vec<String> {
        self.comments
            .iter()
            .filter(|c| c.1 == n)
            .map(|c| c.3.clone())
            .collect()
    }
}

type Shared = Arc<Mutex<Fake>>;
type Repo = Path<(String, String)>;
type RepoN = Path<(String, String, u64)>;

/// The fake API on 127.0.0.1:0; commit `merged` belongs to pull request 7.
fn fake_github(rt: &tokio::runtime::Runtime) -> (String, Shared) {
    let fake: Shared = Arc::default();
    let app = Router::new()
        .route(
            "/repos/{o}/{r}/issues/{n}/comments",
            get(|State(f): State<Shared>, Path((_, _, n)): RepoN| async move {
                let f = f.lock().unwrap();
                Json(Value::Array(
                    f.comments
                        .iter()
                        .filter(|c| c.1 == n)
                        .map(|(id, _, login, b)| json!({"id": id, "body": b, "user": {"login": login}}))
                        .collect(),
                ))
            })
            .post(|State(f): State<Shared>, Path((_, _, n)): RepoN, Json(v): Json<Value>| async move {
                let mut f = f.lock().unwrap();
                let id = 1000 + f.comments.len() as u64;
                let body = v["body"].as_str().unwrap().to_string();
                f.comments.push((id, n, BOT.to_string(), body));
                f.posts += 1;
                (axum::http::StatusCode::CREATED, Json(json!({"id": id})))
            }),
        )
        .route(
            "/repos/{o}/{r}/issues/comments/{id}",
            patch(|State(f): State<Shared>, Path((_, _, id)): RepoN, Json(v): Json<Value>| async move {
                let mut f = f.lock().unwrap();
                f.patches += 1;
                if let Some(c) = f.comments.iter_mut().find(|c| c.0 == id) {
                    c.3 = v["body"].as_str().unwrap().to_string();
                }
                Json(json!({"id": id}))
            }),
        )
        .route(
            "/repos/{o}/{r}/issues",
            get(|State(f): State<Shared>| async move {
                let f = f.lock().unwrap();
                Json(Value::Array(
                    f.issues
                        .iter()
                        .filter(|i| i.3)
                        .map(|(n, t, b, _)| json!({"number": n, "title": t, "body": b, "user": {"login": BOT}}))
                        .collect(),
                ))
            })
            .post(|State(f): State<Shared>, Path(_): Repo, Json(v): Json<Value>| async move {
                let mut f = f.lock().unwrap();
                let n = 500 + f.issues.len() as u64;
                let (t, b) = (v["title"].as_str().unwrap(), v["body"].as_str().unwrap());
                f.issues.push((n, t.to_string(), b.to_string(), true));
                (axum::http::StatusCode::CREATED, Json(json!({"number": n})))
            }),
        )
        .route(
            "/repos/{o}/{r}/issues/{n}",
            patch(|State(f): State<Shared>, Path((_, _, n)): RepoN, Json(v): Json<Value>| async move {
                let mut f = f.lock().unwrap();
                let issue = f.issues.iter_mut().find(|i| i.0 == n).unwrap();
                if let Some(t) = v["title"].as_str() {
                    issue.1 = t.to_string();
                }
                if let Some(b) = v["body"].as_str() {
                    issue.2 = b.to_string();
                }
                if v["state"] == "closed" {
                    issue.3 = false;
                }
                Json(json!({"number": n}))
            }),
        )
        .route(
            "/repos/{o}/{r}/pulls/{n}",
            get(|State(f): State<Shared>, Path((_, _, n)): RepoN| async move {
                Json(f.lock().unwrap().pull(n))
            }),
        )
        .route(
            "/repos/{o}/{r}/pulls",
            get(|State(f): State<Shared>| async move {
                let open = f.lock().unwrap().open.clone();
                Json(Value::Array(open.iter().map(|n| json!({"number": n})).collect()))
            }),
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
        .env("GITHUB_REF", "refs/heads/main")
        .env(APPROVAL_KEY.0, APPROVAL_KEY.1)
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
    let acme = acme();
    assert_eq!(
        code(&server.roster(&["plan", &acme, "--out", "plan.json"])),
        0
    );
    let pr = pr_event(7);
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
    let body = &f.comments[0].3;
    assert!(
        body.starts_with("<!-- roster:plan path=roster -->\n"),
        "{body}"
    );
    assert!(
        body.contains("<!-- roster:approved v2\nrepo=acme/roster\nhead=head-7\n"),
        "{body}"
    );
    assert!(body.contains("\nsig="), "signed: {body}");
    let plan: Value = serde_json::from_slice(&fs::read(server.path("plan.json")).unwrap()).unwrap();
    for c in plan["changes"].as_array().unwrap() {
        let key = c["key"].as_str().unwrap();
        assert!(!body.contains(key), "{key} is not masked");
        if let Some(name) = c["name"].as_str() {
            assert!(!body.contains(name), "{name} is not masked");
        }
    }
    assert!(
        body.contains("a***@acme.example"),
        "emails are masked, not dropped"
    );
    let outputs = fs::read_to_string(server.path("output.txt")).unwrap();
    assert!(
        outputs.contains(
            "changes=17\ncreates=5\nupdates=10\ndeactivations=2\nheld=0\nchecksum=sha256:"
        ),
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
    let mut text = acme_text()
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
        &pr_event(7),
        &["comment", "--plan", "plan.json"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let body = fake.lock().unwrap().bodies(7)[0].clone();
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
            .contains("::error file=bad.yaml,line=5,col=14::`nope` is not a valid email address"),
        "{}",
        stdout(&out)
    );
}

/// Someone other than the bot pastes the bot's plan comment of pull request `from`
/// (an approval of that plan) onto pull request `onto`, ahead of the bot's own comment.
fn forge_approval(fake: &Shared, from: u64, onto: u64) {
    let mut f = fake.lock().unwrap();
    let forged = f.bodies(from)[0].clone();
    f.comments.insert(0, (1, onto, "mallory".into(), forged));
}

/// `roster github verify` with a plan, on the push that merged pull request 7.
fn verify(server: &Server, api: &str, plan: &str, extra: &[&str]) -> std::process::Output {
    let push = json!({"ref": "refs/heads/main"});
    let args = [&["verify", "--plan", plan, "--path", "roster"], extra].concat();
    github(server, api, &push, &args)
}

#[test]
fn apply_on_merge_refuses_a_changed_plan_on_every_rerun_and_ignores_other_authors() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = Server::start(Some("examples/acme"), None, &[]);
    let acme = acme();
    assert_eq!(
        code(&server.roster(&["plan", &acme, "--out", "approved.json"])),
        0
    );
    // Someone changes the roster after approval: the merged plan differs.
    let text = acme_text().replace("name: Ben Carter", "name: Benjamin Carter");
    fs::write(server.path("merged.yaml"), text).unwrap();
    assert_eq!(
        code(&server.roster(&["plan", "merged.yaml", "--out", "merged.json"])),
        0
    );

    let comment = |n: u64, plan: &str| {
        let out = github(
            &server,
            &api,
            &pr_event(n),
            &["comment", "--plan", plan, "--path", "roster"],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    };
    comment(7, "approved.json");
    // A comment by someone else that carries an approval of the merged plan (copied
    // from a bot comment on another pull request) approves nothing.
    comment(8, "merged.json");
    forge_approval(&fake, 8, 7);
    fake.lock().unwrap().merged.push(7);

    assert_eq!(code(&verify(&server, &api, "approved.json", &[])), 0);
    for attempt in 0..2 {
        let refused = verify(&server, &api, "merged.json", &[]);
        assert_eq!(code(&refused), 3, "attempt {attempt}: {}", stderr(&refused));
        let err = stderr(&refused);
        assert!(
            err.contains("error: not approved on #7: create ben.carter@acme.example"),
            "{err}"
        );
        assert!(err.contains("name=\"Benjamin Carter\""), "{err}");
    }
    let body = fake.lock().unwrap().bodies(7)[1].clone();
    assert!(body.contains("⛔ **not applied**"), "{body}");
    assert!(
        body.contains("Open a pull request that approves them"),
        "{body}"
    );
    assert!(!body.contains("merge again"), "{body}");
    let approved: Value =
        serde_json::from_slice(&fs::read(server.path("approved.json")).unwrap()).unwrap();
    let checksum = approved["checksum"].as_str().unwrap();
    assert!(
        body.contains(&format!("checksum={checksum}")),
        "the approval is never rewritten"
    );

    // A re-run after a partial apply: every change left is one the pull request approved.
    let mut rest = approved.clone();
    rest["changes"].as_array_mut().unwrap().truncate(4);
    write_plan(&server.path("rest.json"), &rest);
    let partial = verify(&server, &api, "rest.json", &[]);
    assert_eq!(code(&partial), 0, "{}", stderr(&partial));

    // The merged pull request's approval is final.
    fake.lock().unwrap().merged.push(7);
    let replan = github(
        &server,
        &api,
        &pr_event(7),
        &["comment", "--plan", "merged.json"],
    );
    assert_eq!(code(&replan), 1);
    assert!(
        stderr(&replan).contains("pull request #7 is merged"),
        "{}",
        stderr(&replan)
    );
    assert_eq!(code(&verify(&server, &api, "merged.json", &[])), 3);

    let forced = verify(&server, &api, "merged.json", &["--force-apply"]);
    assert_eq!(code(&forced), 0, "{}", stderr(&forced));
    assert_eq!(stdout(&forced).trim(), "forced");
    let push = json!({"ref": "refs/heads/main"});
    let applied = github(
        &server,
        &api,
        &push,
        &[
            "comment",
            "--plan",
            "merged.json",
            "--status",
            "applied",
            "--forced",
        ],
    );
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));
    let body = fake.lock().unwrap().bodies(7)[1].clone();
    assert!(
        body.contains("✅ **applied (forced)** in [run 4242](https://github.com/acme/roster/actions/runs/4242)"),
        "{body}"
    );
    assert!(body.contains(&format!("checksum={checksum}")));
    server.assert_no_delete();
}

#[test]
fn a_pull_request_is_told_of_another_that_changes_the_same_users() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    fake.lock().unwrap().open = vec![7, 8];
    let server = Server::start(Some("examples/acme"), None, &[]);
    let acme = acme();
    assert_eq!(
        code(&server.roster(&["plan", &acme, "--out", "plan.json"])),
        0
    );
    for n in [8, 7] {
        let out = github(
            &server,
            &api,
            &pr_event(n),
            &["comment", "--plan", "plan.json"],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
    }
    let plan: Value = serde_json::from_slice(&fs::read(server.path("plan.json")).unwrap()).unwrap();
    let changes = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "user")
        .count();
    let body = fake.lock().unwrap().bodies(7)[0].clone();
    assert!(
        body.contains(&format!("Open pull requests that also change users this one changes: #8 ({changes} of the same users)")),
        "{body}"
    );
}

/// Runs the action's script with `roster` on PATH, in the server's directory, with its
/// `roster/` copy of the acme roster, credentials for the server and the fake GitHub.
fn action(
    server: &Server,
    api: &str,
    command: &str,
    event: Value,
    env: &[(&str, &str)],
) -> std::process::Output {
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_roster"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    fs::write(server.path("event.json"), event.to_string()).unwrap();
    let mut cmd = std::process::Command::new("bash");
    cmd.arg(root().join("action/run.sh"))
        .current_dir(server.dir.path())
        .env("PATH", &path)
        .env("ROSTER_COMMAND", command)
        .env("ROSTER_PATH", "roster")
        .env("ROSTER_COMMENT", "true")
        .env("ROSTER_STATE_DIR", server.dir.path())
        .env("RUNNER_TEMP", server.dir.path())
        .env("TALKDESK_BASE_URL", &server.url)
        .env("TALKDESK_TOKEN_URL", format!("{}/oauth/token", server.url))
        .env("TALKDESK_CLIENT_ID", "sandbox")
        .env("TALKDESK_CLIENT_SECRET", "sandbox-secret")
        .env("GITHUB_API_URL", api)
        .env("GITHUB_TOKEN", "ghs_fake")
        .env("GITHUB_REPOSITORY", "acme/roster")
        .env("GITHUB_EVENT_PATH", server.path("event.json"))
        .env("GITHUB_SHA", "merged")
        .env("GITHUB_REF", "refs/heads/main")
        .env(APPROVAL_KEY.0, APPROVAL_KEY.1)
        .env("GITHUB_RUN_ID", "99")
        .env("GITHUB_OUTPUT", server.path("output.txt"))
        .env("GITHUB_STEP_SUMMARY", server.path("summary.md"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// A sandbox seeded from the acme roster, with that roster copied to `roster/`.
fn acme_server() -> Server {
    let server = Server::start(Some("examples/acme"), None, &[]);
    fs::create_dir(server.path("roster")).unwrap();
    fs::copy(
        root().join("examples/acme/roster.yaml"),
        server.path("roster/roster.yaml"),
    )
    .unwrap();
    server
}

/// The action's script itself: plan and comment on a pull request, then apply on merge
/// and mark the comment applied.
#[test]
fn action_script_plans_then_applies() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = acme_server();
    let planned = action(&server, &api, "plan", pr_event(7), &[]);
    assert_eq!(
        code(&planned),
        0,
        "{}{}",
        stdout(&planned),
        stderr(&planned)
    );
    assert_eq!(fake.lock().unwrap().comments.len(), 1);
    fake.lock().unwrap().merged.push(7);
    let applied = action(
        &server,
        &api,
        "apply",
        json!({"ref": "refs/heads/main"}),
        &[],
    );
    assert_eq!(
        code(&applied),
        0,
        "{}{}",
        stdout(&applied),
        stderr(&applied)
    );
    let body = fake.lock().unwrap().bodies(7)[0].clone();
    assert!(
        body.contains("✅ **applied** in [run 99](https://github.com/acme/roster/actions/runs/99)"),
        "{body}"
    );
    assert_eq!(
        code(&server.roster(&["plan", "roster", "--detailed-exitcode"])),
        0
    );
    server.assert_no_delete();
}

#[test]
fn a_pull_request_without_credentials_is_told_why_in_its_comment() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = acme_server();
    let out = action(
        &server,
        &api,
        "plan",
        json!({"pull_request": {"number": 7, "head": {"repo": {"fork": true}}}}),
        &[("TALKDESK_CLIENT_ID", ""), ("TALKDESK_CLIENT_SECRET", "")],
    );
    assert_eq!(code(&out), 1);
    let body = fake.lock().unwrap().bodies(7)[0].clone();
    assert!(
        body.contains("GitHub gives a pull request from a fork no secrets"),
        "{body}"
    );
    assert!(!body.contains("roster:approved"), "a note approves nothing");
}

#[test]
fn drift_opens_updates_and_closes_one_issue_and_fails_on_errors() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = acme_server();
    let schedule = || json!({"schedule": "17 6 * * *"});
    for run in 0..2 {
        let out = action(&server, &api, "drift", schedule(), &[]);
        assert_eq!(code(&out), 0, "run {run}: {}{}", stdout(&out), stderr(&out));
        let f = fake.lock().unwrap();
        assert_eq!(f.issues.len(), 1, "one issue, updated in place");
        let (_, title, body, open) = &f.issues[0];
        assert!(
            *open && title.starts_with("Roster drift in `roster`: "),
            "{title}"
        );
        assert!(
            body.starts_with("<!-- roster:drift path=roster -->") && body.contains("🔀 drift"),
            "{body}"
        );
        assert!(body.contains("**People**"), "{body}");
    }

    // Expired credentials: the check fails and the issue is left as it was.
    let broken = action(
        &server,
        &api,
        "drift",
        schedule(),
        &[("TALKDESK_CLIENT_SECRET", "expired")],
    );
    assert_eq!(code(&broken), 1, "{}{}", stdout(&broken), stderr(&broken));
    assert!(fake.lock().unwrap().issues[0].3);

    let fixed = server.roster(&["apply", "roster", "--auto-approve"]);
    assert_eq!(code(&fixed), 0, "{}", stderr(&fixed));
    let out = action(&server, &api, "drift", schedule(), &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let f = fake.lock().unwrap();
    assert!(!f.issues[0].3, "closed when no drift is found");
    assert!(f.bodies(f.issues[0].0)[0].starts_with("No drift in [run 99]"));
    server.assert_no_delete();
}

/// The action's script end to end: a plan approved on a pull request, a different plan
/// at merge refused on the first run and on a re-run, and a forged approval by another
/// login ignored.
#[test]
fn action_script_refuses_an_unapproved_plan_on_every_rerun() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = acme_server();
    let pr = pr_event(7);
    let planned = action(&server, &api, "plan", pr.clone(), &[]);
    assert_eq!(code(&planned), 0, "{}", stderr(&planned));

    // The roster changes after approval; someone else pastes an approval of the new
    // plan (a bot comment from another pull request) onto the merged one.
    let roster = server.path("roster/roster.yaml");
    let text = fs::read_to_string(&roster)
        .unwrap()
        .replace("name: Ben Carter", "name: Benjamin Carter");
    fs::write(&roster, text).unwrap();
    let other = action(&server, &api, "plan", pr_event(8), &[]);
    assert_eq!(code(&other), 0, "{}", stderr(&other));
    forge_approval(&fake, 8, 7);
    fake.lock().unwrap().merged.push(7);

    for attempt in 0..2 {
        let applied = action(
            &server,
            &api,
            "apply",
            json!({"ref": "refs/heads/main"}),
            &[],
        );
        assert_eq!(
            code(&applied),
            3,
            "attempt {attempt}: {}{}",
            stdout(&applied),
            stderr(&applied)
        );
        assert!(
            stderr(&applied).contains("not approved on #7"),
            "{}",
            stderr(&applied)
        );
    }
    assert!(server.history().is_empty(), "nothing was applied");
    let body = fake.lock().unwrap().bodies(7)[1].clone();
    assert!(body.contains("⛔ **not applied**"), "{body}");
    server.assert_no_delete();
}

/// The acme account brought in line with its roster, then a roster that renames a
/// person to a name with quotes and a `|`, adds one with a non-ASCII name and email
/// and a forward number, and moves a call forward between two numbers that mask alike
/// (`+121******99`).
fn masked_roster_server() -> Server {
    let server = acme_server();
    let setup = server.roster(&[
        "apply",
        "roster",
        "--auto-approve",
        "--journal-dir",
        "setup-journal",
    ]);
    assert_eq!(code(&setup), 0, "{}", stderr(&setup));
    let roster = server.path("roster/roster.yaml");
    let mut text = fs::read_to_string(&roster)
        .unwrap()
        .replace("+12125550199", "+12125551299")
        .replace(
            "name: Chloe Martin",
            r#"name: 'Chloé "Coco" Martin | Sales'"#,
        );
    text.push_str(
        "  - { email: zoë@acme.example, name: José Núñez, role: Agent, teams: [Billing], queues: [billing], extension: \"2901\", time_zone: Europe/Madrid, language: es-ES, phone: { call_forward: { enabled: true, number: \"+34911230042\" } } }\n",
    );
    fs::write(&roster, text).unwrap();
    server
}

/// What a masked run must never show: the local part of every user key, every name
/// and every phone number of the plan `roster-plan.json`, and the edits of
/// [`masked_roster_server`].
fn personal_values(server: &Server) -> Vec<String> {
    let plan: Value =
        serde_json::from_slice(&fs::read(server.path("roster-plan.json")).unwrap()).unwrap();
    let mut out: Vec<String> = [
        "zoë",
        "José Núñez",
        "Núñez",
        r#"Chloé "Coco" Martin | Sales"#,
        "+12125551299",
        "+12125550199",
        "+34911230042",
    ]
    .map(String::from)
    .to_vec();
    fn numbers(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) if s.starts_with('+') => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|v| numbers(v, out)),
            Value::Object(o) => o.values().for_each(|v| numbers(v, out)),
            _ => {}
        }
    }
    for c in plan["changes"].as_array().unwrap() {
        if c["kind"] == "user" {
            let key = c["key"].as_str().unwrap();
            out.push(key.split('@').next().unwrap().to_string());
        }
        out.extend(c["name"].as_str().map(String::from));
        for (field, f) in c["fields"].as_object().unwrap() {
            for v in [&f["from"], &f["to"]] {
                match v.as_str() {
                    Some(name) if field == "name" => out.push(name.to_string()),
                    _ => numbers(v, &mut out),
                }
            }
        }
    }
    out
}

/// Every `field` line of `text` that shows a change (`from → to`) shows two different
/// values; returns how many there were.
fn changes_stay_visible(text: &str, field: &str) -> usize {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(field) && l.contains(" → "))
        .collect();
    for l in &lines {
        let (from, to) = l.split_once(" → ").unwrap();
        let from = from
            .rsplit(field)
            .next()
            .unwrap()
            .trim_start_matches(':')
            .trim();
        assert_ne!(from, to.trim(), "a change that looks like none: {l}");
    }
    lines.len()
}

/// With mask-pii, nothing the workflow publishes (the comment, the drift issue, the
/// step summary, the job's log of plan, verify and apply, the journal artifact) names a
/// person, shows an email's local part or a phone number, even for names with quotes or
/// a `|` and for non-ASCII emails.
#[test]
fn mask_pii_publishes_no_names_emails_or_numbers() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = masked_roster_server();
    let mask = [("ROSTER_MASK", "true")];
    let planned = action(&server, &api, "plan", pr_event(7), &mask);
    assert_eq!(code(&planned), 0, "{}", stderr(&planned));
    let schedule = json!({"schedule": "17 6 * * *"});
    let drift = action(&server, &api, "drift", schedule, &mask);
    assert_eq!(code(&drift), 0, "{}", stderr(&drift));
    fake.lock().unwrap().merged.push(7);
    let push = json!({"ref": "refs/heads/main"});
    let applied = action(&server, &api, "apply", push, &mask);
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));
    assert_eq!(
        code(&server.roster(&["plan", "roster", "--detailed-exitcode"])),
        0,
        "the masked run applied every change"
    );

    let summary = fs::read_to_string(server.path("summary.md")).unwrap();
    let log = |o: &std::process::Output| stdout(o) + &stderr(o);
    let mut published = vec![
        ("the step summary".to_string(), summary.clone()),
        ("the plan job's log".into(), log(&planned)),
        ("the drift job's log".into(), log(&drift)),
        ("the apply job's log".into(), log(&applied)),
    ];
    let f = fake.lock().unwrap();
    for body in f.bodies(7) {
        published.push(("the comment".into(), body));
    }
    for (_, _, body, _) in &f.issues {
        published.push(("the drift issue".into(), body.clone()));
    }
    let journal = server.path(".roster/journal");
    for entry in fs::read_dir(&journal).unwrap() {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"event\":\"result\""), "{text}");
        published.push((path.display().to_string(), text));
    }
    assert!(
        published.len() >= 7,
        "a comment, an issue and a journal were written"
    );
    let personal = personal_values(&server);
    for (place, text) in &published {
        for value in &personal {
            assert!(
                !text.contains(value.as_str()),
                "{value} in {place}:\n{text}"
            );
        }
    }
    assert!(summary.contains("z***@acme.example ("), "{summary}");
    server.assert_no_delete();
}

/// Masked values carry a keyed hash, so a reviewer still sees a call forward move
/// between two numbers that mask alike, and a renamed person, as changes.
#[test]
fn a_masked_change_stays_visibly_changed() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = masked_roster_server();
    let planned = action(
        &server,
        &api,
        "plan",
        pr_event(7),
        &[("ROSTER_MASK", "true")],
    );
    assert_eq!(code(&planned), 0, "{}", stderr(&planned));
    let body = fake.lock().unwrap().bodies(7)[0].clone();
    let summary = fs::read_to_string(server.path("summary.md")).unwrap();
    for text in [&body, &summary, &stdout(&planned)] {
        assert_eq!(
            changes_stay_visible(text, "phone.call_forward"),
            1,
            "{text}"
        );
        assert_eq!(changes_stay_visible(text, "name"), 1, "{text}");
    }
}

/// A scheduled run applies only what the roster's dates cause today: a role edited by
/// hand in the account (the seeded drift) is listed as not applied, and the run passes.
#[test]
fn a_scheduled_run_applies_only_what_a_date_causes() {
    let rt = runtime();
    let (api, _fake) = fake_github(&rt);
    let server = acme_server();
    let schedule = json!({"schedule": "7 5 * * *"});
    let undated = action(&server, &api, "scheduled", schedule.clone(), &[]);
    assert_eq!(
        code(&undated),
        0,
        "{}{}",
        stdout(&undated),
        stderr(&undated)
    );
    assert!(server.history().is_empty(), "nothing was applied");
    let said = stdout(&undated);
    assert!(
        said.contains("not applied (not caused by a date: open a pull request)"),
        "{said}"
    );

    // One user's season ended: the run deactivates that user and nothing else.
    let roster = server.path("roster/roster.yaml");
    let text = fs::read_to_string(&roster).unwrap().replacen(
        "- email: grace.kim@acme.example",
        "- active_until: \"2026-12-01\"\n    email: grace.kim@acme.example",
        1,
    );
    fs::write(&roster, text).unwrap();
    let dated = action(
        &server,
        &api,
        "scheduled",
        schedule,
        &[("ROSTER_NOW", "2026-12-24")],
    );
    assert_eq!(code(&dated), 0, "{}{}", stdout(&dated), stderr(&dated));
    let history = server.history();
    assert_eq!(history.len(), 1, "{history:?}");
    assert!(
        history[0]
            .email
            .eq_ignore_ascii_case("grace.kim@acme.example"),
        "{history:?}"
    );
    server.assert_no_delete();
}
