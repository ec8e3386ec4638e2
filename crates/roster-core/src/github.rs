//! GitHub: the sticky pull-request comment, the step summary, step outputs, and the
//! check on merge that the plan being applied is the one that was approved.
//! The API base comes from `GITHUB_API_URL`, so tests run against a local fake.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use reqwest::Method;
use serde_json::{Value, json};

use crate::plan::Plan;
use crate::provider::http::Secret;
use crate::render;

/// GitHub's limit on a comment body.
pub const COMMENT_LIMIT: usize = 65_536;

/// What the comment says about the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Status {
    /// Planned on a pull request, awaiting review.
    Planned,
    /// Applied after the merge.
    Applied,
    /// Refused after the merge: the plan changed since approval.
    NotApplied,
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
    /// `GITHUB_RUN_ID`, for links.
    pub run: Option<String>,
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
            run: var("GITHUB_RUN_ID"),
            output: var("GITHUB_OUTPUT").map(PathBuf::from),
            summary: var("GITHUB_STEP_SUMMARY").map(PathBuf::from),
        })
    }

    /// The pull request of a `pull_request` event.
    pub fn pull_request(&self) -> anyhow::Result<u64> {
        let path = self
            .event
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("GITHUB_EVENT_PATH is not set"))?;
        let v: Value = serde_json::from_slice(&std::fs::read(path)?)?;
        v.pointer("/pull_request/number")
            .or_else(|| v.get("number"))
            .and_then(Value::as_u64)
            .ok_or_else(|| anyhow::anyhow!("the event in {} is not a pull request", path.display()))
    }
}

/// The hidden marker that finds the comment of one roster path again.
fn marker(path: &str) -> String {
    format!("<!-- roster:plan path={path} ")
}

/// One line per change, kept hidden in the comment so a later plan can be compared.
fn change_lines(plan: &Plan) -> String {
    let mut out = String::new();
    for c in &plan.changes {
        let fields: Vec<String> = c
            .fields
            .iter()
            .map(|(k, f)| format!("{k}={}", f.to))
            .collect();
        let _ = writeln!(out, "{} {} {}", c.action.as_str(), c.key, fields.join(" "));
    }
    out.replace("--", "- -")
}

/// Emails as `j***@acme.example`, for comments in public repositories.
pub fn mask_emails(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let is_local = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
    for (at, _) in text.match_indices('@') {
        let mut start = at;
        while start > last && is_local(bytes[start - 1]) {
            start -= 1;
        }
        let domain_ok = bytes.get(at + 1).is_some_and(|b| b.is_ascii_alphanumeric());
        if start == at || !domain_ok {
            continue;
        }
        out.push_str(&text[last..start]);
        out.push_str(&text[start..start + 1]);
        out.push_str("***");
        last = at;
    }
    out.push_str(&text[last..]);
    out
}

/// The comment body: marker, status line, the plan, and the hidden change list.
pub fn comment_body(
    plan: &Plan,
    path: &str,
    status: Status,
    run: Option<&str>,
    mask: bool,
    previous: Option<&str>,
) -> (String, bool) {
    let status_line = match status {
        Status::Planned => String::new(),
        Status::Applied => format!("**Applied** in run {}.\n\n", run.unwrap_or("?")),
        Status::NotApplied => "**Not applied: the plan changed since approval.** Review the new plan and merge again, or re-run with `force-apply`.\n\n".to_string(),
    };
    let mut diff = String::new();
    if let Some(old) = previous.filter(|_| status == Status::NotApplied) {
        let new = change_lines(plan);
        let d = similar::TextDiff::from_lines(old, new.as_str());
        let _ = writeln!(
            diff,
            "<details><summary>Difference from the approved plan</summary>\n\n```diff"
        );
        for change in d.iter_all_changes() {
            let sign = match change.tag() {
                similar::ChangeTag::Delete => "-",
                similar::ChangeTag::Insert => "+",
                similar::ChangeTag::Equal => " ",
            };
            let _ = write!(diff, "{sign}{}", change.value());
        }
        let _ = writeln!(diff, "```\n</details>\n");
    }
    let head = format!(
        "{}checksum={} -->\n{status_line}{diff}",
        marker(path),
        plan.checksum
    );
    let tail = format!("\n<!-- roster:changes\n{}-->\n", change_lines(plan));
    let room = COMMENT_LIMIT.saturating_sub(head.len() + 200);
    let full = render::markdown_limited(plan, usize::MAX);
    let (mut body, cut) = if full.len() + tail.len() <= room {
        (full, false)
    } else {
        (
            render::markdown_limited(plan, room.saturating_sub(tail.len().min(room / 2))),
            true,
        )
    };
    if cut {
        body.push_str("\n_The full plan is in the run's step summary._\n");
    }
    let tail = if head.len() + body.len() + tail.len() < COMMENT_LIMIT {
        tail
    } else {
        String::new()
    };
    let text = format!("{head}{body}{tail}");
    (if mask { mask_emails(&text) } else { text }, cut)
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

    /// The sticky comment of `path` on pull request `pr`: its ID and body.
    pub async fn find_comment(&self, pr: u64, path: &str) -> anyhow::Result<Option<(u64, String)>> {
        let wanted = marker(path);
        for page in 1..=50 {
            let v = self
                .call(
                    Method::GET,
                    &format!(
                        "/repos/{}/issues/{pr}/comments?per_page=100&page={page}",
                        self.env.repo
                    ),
                    None,
                )
                .await?;
            let list = v.as_array().cloned().unwrap_or_default();
            for c in &list {
                let body = c.get("body").and_then(Value::as_str).unwrap_or_default();
                if body.starts_with(&wanted)
                    && let Some(id) = c.get("id").and_then(Value::as_u64)
                {
                    return Ok(Some((id, body.to_string())));
                }
            }
            if list.len() < 100 {
                break;
            }
        }
        Ok(None)
    }

    /// Creates or updates the sticky comment.
    pub async fn upsert(&self, pr: u64, path: &str, body: &str) -> anyhow::Result<u64> {
        match self.find_comment(pr, path).await? {
            Some((id, _)) => {
                self.call(
                    Method::PATCH,
                    &format!("/repos/{}/issues/comments/{id}", self.env.repo),
                    Some(json!({"body": body})),
                )
                .await?;
                Ok(id)
            }
            None => {
                let v = self
                    .call(
                        Method::POST,
                        &format!("/repos/{}/issues/{pr}/comments", self.env.repo),
                        Some(json!({"body": body})),
                    )
                    .await?;
                Ok(v.get("id").and_then(Value::as_u64).unwrap_or(0))
            }
        }
    }

    /// The pull request merged as commit `sha`.
    pub async fn merged_pull_request(&self, sha: &str) -> anyhow::Result<Option<u64>> {
        let v = self
            .call(
                Method::GET,
                &format!("/repos/{}/commits/{sha}/pulls", self.env.repo),
                None,
            )
            .await?;
        Ok(v.as_array()
            .and_then(|l| l.first())
            .and_then(|p| p.get("number"))
            .and_then(Value::as_u64))
    }
}

/// The checksum and change list recorded in a comment body.
pub fn approved(body: &str) -> Option<(String, String)> {
    let checksum = body
        .split("checksum=")
        .nth(1)?
        .split_whitespace()
        .next()?
        .to_string();
    let changes = body
        .split("<!-- roster:changes\n")
        .nth(1)
        .and_then(|rest| rest.split("-->").next())
        .unwrap_or_default()
        .to_string();
    Some((checksum, changes))
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
        "changes={}\ncreates={}\nupdates={}\ndeactivations={}\nchecksum={}\nexitcode={exitcode}",
        plan.changes.len(),
        s.create,
        s.update + s.reactivate,
        s.deactivate + s.offboard,
        plan.checksum
    )
}

/// Appends the full plan to `$GITHUB_STEP_SUMMARY`.
pub fn write_summary(path: &Path, plan: &Plan, mask: bool) -> std::io::Result<()> {
    use std::io::Write as _;
    let text = render::markdown_limited(plan, usize::MAX);
    let text = if mask { mask_emails(&text) } else { text };
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_masked() {
        assert_eq!(
            mask_emails("+ user jane.doe@acme.example and b@x.example; not @handle or a@"),
            "+ user j***@acme.example and b***@x.example; not @handle or a@"
        );
    }

    #[test]
    fn approved_checksum_and_changes_are_read_back() {
        let body = "<!-- roster:plan path=roster checksum=sha256:abc -->\nplan\n<!-- roster:changes\ncreate a@acme.example\n-->\n";
        assert_eq!(
            approved(body),
            Some(("sha256:abc".into(), "create a@acme.example\n".into()))
        );
    }
}
