//! Carrying out a plan: preconditions, phases in order with bounded concurrency, a
//! runtime admin floor, a JSON-lines journal and a closing report.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use futures_util::{StreamExt, stream};
use serde_json::json;

use crate::model::{Account, Status, User};
use crate::plan::{Action, Change, Phase, Plan, precondition};
use crate::provider::Writer;

/// How to apply.
#[derive(Debug, Clone)]
pub struct Options {
    /// Changes in flight at once within a phase.
    pub concurrency: usize,
    /// Directory for the JSON-lines journal.
    pub journal_dir: PathBuf,
    /// How to show progress.
    pub progress: Progress,
}

/// How apply shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A bar per phase, for a terminal.
    Bar,
    /// One plain line per change, for CI logs.
    Lines,
    /// Nothing but the journal (benchmarks).
    Quiet,
}

/// What happened to one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The user's email or the team's name.
    pub key: String,
    /// Why it failed.
    pub reason: String,
}

/// The outcome of an apply.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Changes carried out.
    pub applied: usize,
    /// Changes that failed or were refused.
    pub failed: Vec<Failure>,
    /// The journal written.
    pub journal: PathBuf,
}

/// Changes of a saved plan whose object no longer matches the precondition: the
/// user's key and what differs. Every one of them refuses the whole plan.
pub fn stale_changes(plan: &Plan, live: &Account) -> Vec<Failure> {
    let by_id: HashMap<&str, &User> = live.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut out = Vec::new();
    for c in &plan.changes {
        let reason = match (&c.id, c.action) {
            (Some(id), _) => match by_id.get(id.as_str()) {
                None => Some("it no longer exists".to_string()),
                Some(u) if Some(precondition(u)) != c.precondition => Some(format!(
                    "it changed after planning (now {})",
                    precondition(u)
                )),
                Some(_) => None,
            },
            (None, Action::Create) => live
                .users
                .iter()
                .any(|u| u.email.eq_ignore_ascii_case(&c.key))
                .then(|| "a user with this email exists now".to_string()),
            (None, _) => None,
        };
        if let Some(reason) = reason {
            out.push(Failure {
                key: c.key.clone(),
                reason,
            });
        }
    }
    out
}

/// Whether `user`'s role is administrative by the plan's roles.
fn admin_role(plan: &Plan, role: Option<&str>) -> bool {
    role.is_some_and(|r| plan.admin_roles.contains(&r.to_lowercase()))
}

/// Whether a change takes an active administrator away, and whether it adds one.
fn admin_effect(plan: &Plan, c: &Change, live: Option<&User>) -> (bool, bool) {
    let before =
        live.is_some_and(|u| u.status == Status::Active && admin_role(plan, u.role.as_deref()));
    let role_after = c
        .fields
        .get("role")
        .and_then(|f| f.to.as_str())
        .or(live.and_then(|u| u.role.as_deref()));
    let active_after = match c.action {
        Action::Deactivate | Action::Offboard => false,
        Action::Create | Action::Reactivate => true,
        _ => live.is_some_and(|u| u.status == Status::Active),
    };
    let after = active_after && admin_role(plan, role_after);
    (before && !after, !before && after)
}

struct Journal {
    file: Mutex<std::fs::File>,
    path: PathBuf,
}

impl Journal {
    fn open(dir: &Path, plan: &Plan) -> std::io::Result<Journal> {
        std::fs::create_dir_all(dir)?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let short = plan
            .checksum
            .trim_start_matches("sha256:")
            .get(..12)
            .unwrap_or("plan");
        let path = dir.join(format!("{stamp}-{short}.jsonl"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(Journal {
            file: Mutex::new(file),
            path,
        })
    }

    fn write(&self, v: serde_json::Value) {
        let mut line = v.to_string();
        line.push('\n');
        if let Ok(mut f) = self.file.lock() {
            // The journal is a record, not a control path: a full disk must not stop
            // an apply half-way, so write errors are reported by the final flush.
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// A progress bar over every change of the plan, labelled with the phase.
fn progress_bar(len: usize) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new(len as u64);
    b.set_style(
        indicatif::ProgressStyle::with_template("{prefix:>28} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    b
}

/// Runs `plan` against `live` through `writer`, phase by phase.
pub async fn run<W: Writer>(
    writer: &W,
    plan: &Plan,
    live: &Account,
    opts: &Options,
) -> std::io::Result<Report> {
    let journal = Journal::open(&opts.journal_dir, plan)?;
    let now = || chrono::Utc::now().to_rfc3339();
    journal.write(json!({"time": now(), "event": "start", "checksum": plan.checksum, "provider": plan.provider, "account": plan.account, "changes": plan.changes.len()}));
    let by_id: HashMap<&str, &User> = live.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let admins = Mutex::new(
        live.users
            .iter()
            .filter(|u| u.status == Status::Active && admin_role(plan, u.role.as_deref()))
            .count(),
    );
    let floor = plan.min_admins.max(1) as usize;
    let lines = opts.progress == Progress::Lines;
    let bar = (opts.progress == Progress::Bar).then(|| progress_bar(plan.changes.len()));
    let mut report = Report {
        journal: journal.path.clone(),
        ..Report::default()
    };
    for phase in Phase::ALL {
        let changes: Vec<&Change> = plan.changes.iter().filter(|c| c.phase == phase).collect();
        if changes.is_empty() {
            continue;
        }
        match &bar {
            Some(b) => b.set_prefix(phase.label()),
            None if lines => eprintln!("apply: {} ({})", phase.label(), changes.len()),
            None => {}
        }
        let outcomes: Vec<(&Change, Result<(), String>)> = stream::iter(changes)
            .map(|c| {
                let live_user = c.id.as_deref().and_then(|id| by_id.get(id).copied());
                let (takes, adds) = admin_effect(plan, c, live_user);
                let admins = &admins;
                async move {
                    if takes {
                        let mut n = admins.lock().unwrap_or_else(|p| p.into_inner());
                        if *n <= floor {
                            return (c, Err(format!("refused: it would leave fewer than {floor} active administrator(s)")));
                        }
                        *n -= 1;
                    }
                    let result = writer.perform(c, plan).await;
                    let mut n = admins.lock().unwrap_or_else(|p| p.into_inner());
                    match (&result, takes, adds) {
                        // Give the administrator back only when the demotion surely
                        // did not happen; an unknown outcome counts as done.
                        (Err(e), true, _) if e.surely_not_applied() => *n += 1,
                        (Ok(()), _, true) => *n += 1,
                        _ => {}
                    }
                    (c, result.map_err(|e| e.to_string()))
                }
            })
            .buffer_unordered(opts.concurrency.max(1))
            .collect()
            .await;
        for (c, result) in outcomes {
            let line = format!("{} {}", c.action.as_str(), c.key);
            journal.write(json!({
                "time": now(), "event": "change", "phase": phase, "action": c.action, "key": c.key, "id": c.id,
                "outcome": if result.is_ok() { "ok" } else { "failed" }, "error": result.as_ref().err(),
            }));
            match (&bar, &result) {
                (Some(b), _) => {
                    b.inc(1);
                    b.set_message(line.clone());
                }
                (None, Ok(())) if lines => eprintln!("  {line}: ok"),
                (None, Err(e)) if lines => eprintln!("  {line}: failed: {e}"),
                (None, _) => {}
            }
            match result {
                Ok(()) => report.applied += 1,
                Err(reason) => report.failed.push(Failure {
                    key: c.key.clone(),
                    reason,
                }),
            }
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    journal.write(json!({"time": now(), "event": "end", "applied": report.applied, "failed": report.failed.len()}));
    journal
        .file
        .lock()
        .map_err(|_| std::io::Error::other("journal lock poisoned"))?
        .sync_all()?;
    Ok(report)
}
