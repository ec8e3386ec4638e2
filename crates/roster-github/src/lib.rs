//! GitHub for roster: the REST client that finds and writes the sticky comment and the
//! drift issue and reads pull requests, and the step's outputs and summary files. The
//! API base comes from `GITHUB_API_URL`, so tests run against a local fake.

use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{Value, json};

use roster_core::plan::Plan;
use roster_core::render;
use roster_core::review::{Approval, ApprovalKey, drift_marker, marker, masked_plan, user_hashes};
use roster_core::secret::Secret;

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
        let ours = user_hashes(plan, key);
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
