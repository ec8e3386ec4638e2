//! GitHub: the sticky pull-request comment, the step summary, step outputs, and the
//! check on merge that the plan being applied is the one that was approved.
//! The API base comes from `GITHUB_API_URL`, so tests run against a local fake.

use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{Value, json};

use crate::plan::Plan;
use crate::provider::http::Secret;
use crate::render;

mod approval;
mod key;
mod mask;
pub use approval::{Approval, Binding, Refusal, change_lines, check_seal, seal};
pub use key::{APPROVAL_KEY_VAR, ApprovalKey, KeyError};
pub use mask::{Masker, mask_key, masked_plan};

/// GitHub's limit on a comment body.
pub const COMMENT_LIMIT: usize = 65_536;

/// What the comment says about the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Status {
    /// Planned on a pull request, awaiting review.
    Planned,
    /// Applied after the merge.
    Applied,
    /// Refused after the merge: the plan has changes the pull request did not approve.
    NotApplied,
    /// Apply ran after the merge and some changes failed.
    Failed,
}

impl Status {
    /// The heading's status; `run` links the workflow run, `forced` says force-apply
    /// let unapproved changes through.
    pub fn title(self, run: Option<&str>, forced: bool) -> Option<String> {
        let run = run.unwrap_or("this run");
        let forced = if forced { " (forced)" } else { "" };
        match self {
            Status::Planned => None,
            Status::Applied => Some(format!("✅ **applied{forced}** in {run}")),
            Status::NotApplied => Some("⛔ **not applied**".into()),
            Status::Failed => Some(format!("❌ **apply failed{forced}** in {run}")),
        }
    }
}

/// When to comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// Always.
    True,
    /// Only when the plan has changes (an existing comment is still updated).
    ChangesOnly,
    /// Never: outputs and summary only.
    False,
}

/// The environment of a GitHub Actions step.
#[derive(Debug, Clone)]
pub struct Env {
    /// `GITHUB_API_URL`.
    pub api: String,
    /// `GITHUB_TOKEN`.
    pub token: Secret,
    /// `GITHUB_REPOSITORY`, `owner/name`.
    pub repo: String,
    /// `GITHUB_EVENT_PATH`, the event payload.
    pub event: Option<PathBuf>,
    /// `GITHUB_SHA`.
    pub sha: Option<String>,
    /// `GITHUB_REF`, e.g. `refs/heads/main`: the branch a push applies to.
    pub git_ref: Option<String>,
    /// `GITHUB_RUN_ID`, for links.
    pub run: Option<String>,
    /// `GITHUB_SERVER_URL`, for links.
    pub server: String,
    /// `GITHUB_OUTPUT`.
    pub output: Option<PathBuf>,
    /// `GITHUB_STEP_SUMMARY`.
    pub summary: Option<PathBuf>,
}

impl Env {
    /// Reads the step environment; the token and repository are required.
    pub fn from_env() -> anyhow::Result<Env> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let need = |k: &str| {
            var(k).ok_or_else(|| {
                anyhow::anyhow!("{k} is not set: run this inside GitHub Actions, or set it")
            })
        };
        Ok(Env {
            api: var("GITHUB_API_URL").unwrap_or_else(|| "https://api.github.com".into()),
            token: Secret::new(need("GITHUB_TOKEN")?),
            repo: need("GITHUB_REPOSITORY")?,
            event: var("GITHUB_EVENT_PATH").map(PathBuf::from),
            sha: var("GITHUB_SHA"),
            git_ref: var("GITHUB_REF"),
            run: var("GITHUB_RUN_ID"),
            server: var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into()),
            output: var("GITHUB_OUTPUT").map(PathBuf::from),
            summary: var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
        })
    }

    /// This run as a Markdown link, `[run 42](…/actions/runs/42)`.
    pub fn run_link(&self) -> Option<String> {
        let run = self.run.as_ref()?;
        Some(format!(
            "[run {run}]({}/{}/actions/runs/{run})",
            self.server.trim_end_matches('/'),
            self.repo
        ))
    }

    /// The pull request of a `pull_request` or `pull_request_target` event: its
    /// number, and its head commit when the event names one.
    pub fn pull_request(&self) -> anyhow::Result<(u64, Option<String>)> {
        let path = self
            .event
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("GITHUB_EVENT_PATH is not set"))?;
        let v: Value = serde_json::from_slice(&std::fs::read(path)?)?;
        let number = v
            .pointer("/pull_request/number")
            .or_else(|| v.get("number"))
            .and_then(Value::as_u64)
            .ok_or_else(|| {
                anyhow::anyhow!("the event in {} is not a pull request", path.display())
            })?;
        let head = v
            .pointer("/pull_request/head/sha")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok((number, head))
    }

    /// The branch a push applies to: `GITHUB_REF` without `refs/heads/`.
    pub fn branch(&self) -> Option<&str> {
        self.git_ref.as_deref()?.strip_prefix("refs/heads/")
    }
}

/// What roster reads of a pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    /// Its number.
    pub number: u64,
    /// Whether it is merged.
    pub merged: bool,
    /// The branch it merges into.
    pub base: String,
    /// Its head commit.
    pub head: String,
    /// The commit its merge made on the base branch, once merged.
    pub merge_commit: Option<String>,
}

impl PullRequest {
    fn from_json(v: &Value) -> Option<PullRequest> {
        let text = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
        Some(PullRequest {
            number: v.get("number")?.as_u64()?,
            merged: v.get("merged").and_then(Value::as_bool).unwrap_or(false),
            base: text("/base/ref")?,
            head: text("/head/sha")?,
            merge_commit: text("/merge_commit_sha"),
        })
    }
}

/// The hidden first line that finds the comment of one roster path again.
fn marker(path: &str) -> String {
    format!("<!-- roster:plan path={path} -->")
}

/// The hidden first line of the drift issue of one roster path.
fn drift_marker(path: &str) -> String {
    format!("<!-- roster:drift path={path} -->")
}

/// What a comment says besides the plan.
#[derive(Debug, Clone, Default)]
pub struct CommentParts {
    /// The heading's status, in place of the plan's verdict.
    pub status: Option<String>,
    /// A paragraph under the heading.
    pub note: String,
    /// The approval block to carry: written by a plan on the pull request, copied
    /// unchanged by every later comment.
    pub approval: Option<Approval>,
    /// Mask names, emails and numbers.
    pub mask: bool,
}

/// The comment body: marker, the plan under its status and note, and the hidden
/// approval block (signed; hashes only). Returns whether the plan was cut to fit.
pub fn comment_body(plan: &Plan, path: &str, parts: &CommentParts) -> (String, bool) {
    let head = format!("{}\n", marker(path));
    let tail = parts
        .approval
        .as_ref()
        .map(Approval::block)
        .unwrap_or_default();
    let masker = parts.mask.then(|| Masker::new(plan, mask_key()));
    let shown = masker.as_ref().map(|m| m.plan(plan));
    let shown = shown.as_ref().unwrap_or(plan);
    let note = masker.map_or_else(|| parts.note.clone(), |m| m.text(&parts.note));
    let room = COMMENT_LIMIT.saturating_sub(head.len() + tail.len() + note.len() + 200);
    let status = parts.status.as_deref();
    let full = render::markdown_titled(shown, usize::MAX, status, &note);
    let (mut body, cut) = if full.len() <= room {
        (full, false)
    } else {
        (render::markdown_titled(shown, room, status, &note), true)
    };
    if cut {
        body.push_str("\n_The full plan is in the run's step summary._\n");
    }
    // The tail holds hashes only; it may go when the comment would not fit, and then
    // nothing is approved, which refuses the apply rather than passing it.
    let tail = if head.len() + body.len() + tail.len() < COMMENT_LIMIT {
        tail
    } else {
        String::new()
    };
    (format!("{head}{body}{tail}"), cut)
}

/// A small GitHub REST client.
pub struct Client {
    http: reqwest::Client,
    env: Env,
}

impl Client {
    /// A client for the step's repository.
    pub fn new(env: Env) -> anyhow::Result<Client> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("roster/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(30))
            .build()?;
        Ok(Client { http, env })
    }

    /// The step environment.
    pub fn env(&self) -> &Env {
        &self.env
    }

    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let url = format!("{}{path}", self.env.api.trim_end_matches('/'));
        let mut req = self
            .http
            .request(method.clone(), &url)
            .bearer_auth(self.env.token.expose())
            .header("accept", "application/vnd.github+json");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| anyhow::anyhow!("{method} {path}: {e}"))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            anyhow::bail!(
                "{method} {path}: HTTP {}: {}; the token needs `pull-requests: write` and `contents: read`",
                status.as_u16(),
                text.chars().take(200).collect::<String>()
            );
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Every item of a paged list endpoint (at most 50 pages of 100).
    async fn list(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        for page in 1..=50 {
            let v = self
                .call(
                    Method::GET,
                    &format!("{path}{sep}per_page=100&page={page}"),
                    None,
                )
                .await?;
            let list = v.as_array().cloned().unwrap_or_default();
            let last = list.len() < 100;
            out.extend(list);
            if last {
                break;
            }
        }
        Ok(out)
    }

    /// The sticky comment of `path` on pull request `pr` written by `author` (the
    /// workflow's login): its ID and body. Comments by anyone else are ignored, so
    /// nobody can approve a plan by pasting the marker.
    pub async fn find_comment(
        &self,
        pr: u64,
        path: &str,
        author: &str,
    ) -> anyhow::Result<Option<(u64, String)>> {
        let wanted = marker(path);
        let comments = self
            .list(&format!("/repos/{}/issues/{pr}/comments", self.env.repo))
            .await?;
        Ok(comments.iter().find_map(|c| {
            let body = c.get("body").and_then(Value::as_str)?;
            let login = c.pointer("/user/login").and_then(Value::as_str);
            (body.starts_with(&wanted) && login == Some(author))
                .then(|| Some((c.get("id")?.as_u64()?, body.to_string())))
                .flatten()
        }))
    }

    /// Creates or updates the comment `existing` names.
    pub async fn upsert(&self, pr: u64, existing: Option<u64>, body: &str) -> anyhow::Result<u64> {
        let repo = &self.env.repo;
        let v = match existing {
            Some(id) => {
                let path = format!("/repos/{repo}/issues/comments/{id}");
                self.call(Method::PATCH, &path, Some(json!({"body": body})))
                    .await?
            }
            None => {
                let path = format!("/repos/{repo}/issues/{pr}/comments");
                self.call(Method::POST, &path, Some(json!({"body": body})))
                    .await?
            }
        };
        Ok(existing
            .or_else(|| v.get("id").and_then(Value::as_u64))
            .unwrap_or(0))
    }

    /// Pull request `pr` as GitHub reports it now.
    pub async fn pull(&self, pr: u64) -> anyhow::Result<PullRequest> {
        let v = self
            .call(
                Method::GET,
                &format!("/repos/{}/pulls/{pr}", self.env.repo),
                None,
            )
            .await?;
        PullRequest::from_json(&v).ok_or_else(|| {
            anyhow::anyhow!(
                "GET /repos/{}/pulls/{pr}: not a pull request",
                self.env.repo
            )
        })
    }

    /// Other open pull requests whose roster comment for `path` (by `author`) changes
    /// a user `plan` changes too, with how many such users.
    pub async fn overlapping(
        &self,
        pr: u64,
        path: &str,
        author: &str,
        plan: &Plan,
        key: &ApprovalKey,
    ) -> anyhow::Result<Vec<(u64, usize)>> {
        let ours = approval::user_hashes(plan, key);
        if ours.is_empty() {
            return Ok(Vec::new());
        }
        let open = self
            .list(&format!("/repos/{}/pulls?state=open", self.env.repo))
            .await?;
        let mut out = Vec::new();
        // Bounded: each open pull request costs one request.
        for n in open
            .iter()
            .filter_map(|p| p.get("number")?.as_u64())
            .take(30)
        {
            if n == pr {
                continue;
            }
            if let Some((_, body)) = self.find_comment(n, path, author).await? {
                let theirs = Approval::read(&body).map(|a| a.users).unwrap_or_default();
                let shared = theirs.intersection(&ours).count();
                if shared > 0 {
                    out.push((n, shared));
                }
            }
        }
        Ok(out)
    }

    /// The pull request whose merge into `branch` made commit `sha`. A pull request
    /// that merely contains the commit, is still open, or merged elsewhere does not
    /// count: its approval was never final. `Err` says why none qualifies.
    pub async fn merged_as(
        &self,
        sha: &str,
        branch: &str,
    ) -> anyhow::Result<Result<PullRequest, String>> {
        let listed = self
            .call(
                Method::GET,
                &format!("/repos/{}/commits/{sha}/pulls", self.env.repo),
                None,
            )
            .await?;
        let numbers: Vec<u64> = listed
            .as_array()
            .map(|l| l.iter().filter_map(|p| p.get("number")?.as_u64()).collect())
            .unwrap_or_default();
        let mut seen = Vec::new();
        // Bounded: a commit belongs to few pull requests, each costs one request.
        for n in numbers.into_iter().take(10) {
            // The list is a hint; the pull request itself is read for the verdict.
            let pr = self.pull(n).await?;
            if pr.merged && pr.base == branch && pr.merge_commit.as_deref() == Some(sha) {
                return Ok(Ok(pr));
            }
            seen.push(if !pr.merged {
                format!("#{n} is not merged")
            } else if pr.base != branch {
                format!("#{n} merged into `{}`, not `{branch}`", pr.base)
            } else {
                format!("#{n} did not merge as this commit")
            });
        }
        Ok(Err(if seen.is_empty() {
            format!("no pull request merged into `{branch}` as commit {sha}")
        } else {
            format!(
                "no pull request merged into `{branch}` as commit {sha} ({})",
                seen.join("; ")
            )
        }))
    }

    /// The open drift issue of `path` opened by `author`: its number.
    pub async fn find_drift_issue(&self, path: &str, author: &str) -> anyhow::Result<Option<u64>> {
        let wanted = drift_marker(path);
        let issues = self
            .list(&format!(
                "/repos/{}/issues?state=open&creator={}",
                self.env.repo,
                url_encode(author)
            ))
            .await?;
        Ok(issues.iter().find_map(|i| {
            let body = i.get("body").and_then(Value::as_str)?;
            let login = i.pointer("/user/login").and_then(Value::as_str);
            let is_pr = i.get("pull_request").is_some();
            (body.starts_with(&wanted) && login == Some(author) && !is_pr)
                .then(|| i.get("number")?.as_u64())
                .flatten()
        }))
    }

    /// Opens the drift issue, or updates the open one; returns its number.
    pub async fn upsert_drift_issue(
        &self,
        existing: Option<u64>,
        title: &str,
        body: &str,
    ) -> anyhow::Result<u64> {
        let repo = &self.env.repo;
        let issue = json!({"title": title, "body": body});
        let v = match existing {
            Some(n) => {
                self.call(
                    Method::PATCH,
                    &format!("/repos/{repo}/issues/{n}"),
                    Some(issue),
                )
                .await?
            }
            None => {
                self.call(Method::POST, &format!("/repos/{repo}/issues"), Some(issue))
                    .await?
            }
        };
        Ok(existing
            .or_else(|| v.get("number").and_then(Value::as_u64))
            .unwrap_or(0))
    }

    /// Says why, then closes issue `n`.
    pub async fn close_issue(&self, n: u64, why: &str) -> anyhow::Result<()> {
        let repo = &self.env.repo;
        let path = format!("/repos/{repo}/issues/{n}/comments");
        self.call(Method::POST, &path, Some(json!({"body": why})))
            .await?;
        let path = format!("/repos/{repo}/issues/{n}");
        self.call(Method::PATCH, &path, Some(json!({"state": "closed"})))
            .await?;
        Ok(())
    }
}

/// A sticky comment that holds a note instead of a plan, and approves nothing.
pub fn note_body(path: &str, text: &str) -> String {
    format!("{}\n### roster: no plan\n\n{text}\n", marker(path))
}

/// The drift issue's body: its marker and the plan (masked when asked).
pub fn drift_body(plan: &Plan, path: &str, run: Option<&str>, mask: bool) -> String {
    let note = format!(
        "The scheduled plan in {} found the account different from the roster. Review the changes below: merge a pull request that accepts them into the roster, or apply the roster to undo them. This issue is updated while the drift lasts and closed when a check finds none.",
        run.unwrap_or("a workflow run")
    );
    let masked = mask.then(|| masked_plan(plan));
    let shown = masked.as_ref().unwrap_or(plan);
    let text = render::markdown_titled(shown, COMMENT_LIMIT - 2_000, Some("🔀 drift"), &note);
    format!("{}\n{text}", drift_marker(path))
}

/// A login for a query string (`github-actions[bot]` has brackets).
fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Appends `name=value` lines to `$GITHUB_OUTPUT`.
pub fn write_outputs(path: &Path, plan: &Plan, exitcode: i32) -> std::io::Result<()> {
    use std::io::Write as _;
    let s = &plan.summary;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    writeln!(
        f,
        "changes={}\ncreates={}\nupdates={}\ndeactivations={}\nheld={}\nchecksum={}\nexitcode={exitcode}",
        plan.changes.iter().filter(|c| !c.held).count(),
        s.create,
        s.update + s.reactivate,
        s.deactivate + s.offboard,
        s.held,
        plan.checksum
    )
}

/// Appends the full plan to `$GITHUB_STEP_SUMMARY`.
pub fn write_summary(path: &Path, plan: &Plan, mask: bool) -> std::io::Result<()> {
    use std::io::Write as _;
    let masked = mask.then(|| masked_plan(plan));
    let text = render::markdown_limited(masked.as_ref().unwrap_or(plan), usize::MAX);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::http::Secret;
    use proptest::prelude::*;

    /// A plan that creates one user and deactivates another, with these values.
    fn plan_of(email: &str, name: &str, other: &str) -> Plan {
        serde_json::from_value(serde_json::json!({
            "format_version": 1, "provider": "talkdesk", "account": "acme", "checksum": "sha256:abc",
            "summary": {"create": 1, "update": 0, "reactivate": 0, "deactivate": 1, "offboard": 0,
                "create_team": 0, "seats_before": 1, "seats_after": 1, "monthly_cost_delta": 0.0,
                "currency": null, "welcome_emails": 1},
            "guards": [], "warnings": [format!("about {name}")], "manual_steps": [], "notes": [],
            "admin_roles": [], "min_admins": 1, "team_aliases": {},
            "changes": [
                {"action": "create", "kind": "user", "key": email, "name": name, "id": null,
                 "phase": "create_users", "precondition": null,
                 "fields": {"name": {"from": null, "to": name}, "email": {"from": null, "to": email}}},
                {"action": "deactivate", "kind": "user", "key": other, "name": other, "id": "u1",
                 "phase": "deactivations", "precondition": null,
                 "fields": {"status": {"from": "active", "to": "inactive"}}}]
        }))
        .unwrap()
    }

    /// Values a hostile roster or account could hold: any Unicode, and roster's own
    /// markers, HTML and Markdown spliced in.
    fn hostile() -> impl Strategy<Value = String> {
        let pieces = prop_oneof![
            any::<String>(),
            Just("<!-- roster:approved v2\nrepo=acme/roster\n-->".to_string()),
            Just("<!-- roster:sealed 00 -->".to_string()),
            Just("<!-- roster:plan path=roster -->".to_string()),
            Just("</details><img src=x>@acme/admins [x](https://evil.example) `".to_string()),
            Just("\u{1b}[2J\n\r\0|".to_string()),
        ];
        prop::collection::vec(pieces, 0..4).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever the names and emails, a signed and sealed comment holds exactly
        /// roster's three markers, its approval reads back and its seal holds; a drift
        /// issue holds exactly its one.
        #[test]
        fn a_comment_holds_exactly_rosters_markers(email in hostile(), name in hostile(), other in hostile()) {
            let key = ApprovalKey::new(&Secret::new("0123456789abcdef0123456789abcdef")).unwrap();
            let plan = plan_of(&email, &name, &other);
            let binding = Binding {
                repo: "acme/roster".into(), pr: 7, head: "abc".into(),
                provider: "talkdesk".into(), account: "acme".into(), path: "roster".into(),
            };
            let approval = Approval::sign(&plan, binding.clone(), &key);
            for mask in [false, true] {
                let parts = CommentParts { approval: Some(approval.clone()), mask, ..CommentParts::default() };
                let body = seal(&comment_body(&plan, "roster", &parts).0, &key);
                prop_assert_eq!(body.matches("<!--").count(), 3, "{}", body);
                prop_assert_eq!(body.matches("-->").count(), 3, "{}", body);
                prop_assert!(body.starts_with("<!-- roster:plan path=roster -->\n"));
                let read = Approval::read(&body);
                prop_assert_eq!(read.as_ref(), Ok(&approval));
                prop_assert!(read.unwrap().check(&binding, &key).is_ok());
                prop_assert!(check_seal(&body, &key).is_ok());
                let drift = drift_body(&plan, "roster", None, mask);
                prop_assert_eq!(drift.matches("<!--").count(), 1, "{}", drift);
                prop_assert_eq!(drift.matches("-->").count(), 1, "{}", drift);
            }
        }
    }
}
