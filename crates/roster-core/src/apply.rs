//! Carrying out a plan: preconditions, phases in order with bounded concurrency, a
//! runtime admin floor, a JSON-lines journal written as each change is sent and as it
//! ends, progress per change, and a stop that lets in-flight changes finish. With
//! `mask`, what apply shows and journals has its emails, names and numbers masked.

mod floor;
mod journal;
mod ledger;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures_util::{StreamExt, stream};
use serde_json::json;

use crate::model::{Account, User};
use crate::plan::{Action, Change, Phase, Plan, precondition};
use crate::port::{ProviderError, Writer};
use crate::render::escape;
use crate::review::{Masker, mask_key};

use floor::{Counts, Floor};
use journal::Journal;
pub use ledger::Ledger;

/// How to apply.
#[derive(Debug, Clone)]
pub struct Options {
    /// Changes in flight at once within a phase.
    pub concurrency: usize,
    /// Directory for the JSON-lines journal.
    pub journal_dir: PathBuf,
    /// Where progress goes (the binary draws it).
    pub reporter: Arc<dyn Reporter>,
    /// Asked to stop (Ctrl-C): no new change is sent; those in flight finish.
    pub stop: Stop,
    /// Kept up to date as changes are sent and end, for a signal handler to report.
    pub ledger: Ledger,
    /// Mask emails, names and phone numbers in progress lines, the journal and the
    /// report (for public repositories' logs and artifacts); IDs and hashes stay.
    pub mask: bool,
}

/// A request to stop sending changes, shared with a signal handler.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Asks the running apply to send nothing more.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Where apply reports its progress, as each phase begins and each change ends; the
/// binary draws it (a bar, or lines for a log), a benchmark ignores it.
pub trait Reporter: std::fmt::Debug + Send + Sync {
    /// A phase begins with `n` changes, of `total` in the whole apply.
    fn phase(&self, phase: Phase, n: usize, total: usize);
    /// One change ended or was not sent: `line` is "action key", escaped for a terminal.
    fn ended(&self, line: &str, ended: Ended<'_>);
    /// The apply is over.
    fn finish(&self) {}
}

/// What became of one change, as a [`Reporter`] is told; errors escaped for a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended<'a> {
    /// Done, and journalled.
    Ok,
    /// Failed or refused, and journalled.
    Failed(&'a str),
    /// Done, but the journal could not record it.
    OkUnrecorded,
    /// Failed, and the journal could not record it.
    FailedUnrecorded(&'a str),
    /// Not sent: apply was stopped first.
    NotSent,
}

/// A [`Reporter`] that shows nothing: the journal is the record.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn phase(&self, _: Phase, _: usize, _: usize) {}
    fn ended(&self, _: &str, _: Ended<'_>) {}
}

/// Tells `reporter` that `line` ended as `outcome` says.
fn report(reporter: &dyn Reporter, line: &str, outcome: &Outcome) {
    let line = escape::terminal(line);
    let escaped = |e: &String| escape::terminal(e).into_owned();
    match outcome {
        Outcome::Done(Ok(())) => reporter.ended(&line, Ended::Ok),
        Outcome::Done(Err(e)) => reporter.ended(&line, Ended::Failed(&escaped(e))),
        Outcome::Unrecorded(Ok(())) => reporter.ended(&line, Ended::OkUnrecorded),
        Outcome::Unrecorded(Err(e)) => {
            reporter.ended(&line, Ended::FailedUnrecorded(&escaped(e)));
        }
        Outcome::NotSent => reporter.ended(&line, Ended::NotSent),
    }
}

/// Why apply stopped before the end of the plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Stopped {
    /// The operator interrupted it.
    #[error("interrupted")]
    Interrupted,
    /// The journal could not be written, so nothing more was sent.
    #[error("the journal could not be written: {0}")]
    Journal(String),
    /// The vendor did something irreversible roster did not ask for, or stopped
    /// answering for longer than the stall limit: nothing more is sent.
    #[error("{0}")]
    Vendor(String),
}

/// What happened to one change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The user's email or the team's name; [`run`] masks it with [`Options::mask`].
    pub key: String,
    /// Why it failed.
    pub reason: String,
}

/// A change that was sent but whose outcome the journal does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InDoubt {
    /// "action key", masked like [`Failure::key`].
    pub change: String,
    /// What the vendor answered when the journal could not record it; `None` when no
    /// answer had come yet.
    pub answer: Option<Result<(), String>>,
}

/// The outcome of an apply.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Changes carried out.
    pub applied: usize,
    /// Changes that failed or were refused.
    pub failed: Vec<Failure>,
    /// Changes sent whose outcome the journal does not hold.
    pub in_doubt: Vec<InDoubt>,
    /// Changes never sent because apply was stopped: "action key".
    pub not_sent: Vec<String>,
    /// Why apply stopped early, if it did.
    pub stopped: Option<Stopped>,
    /// Removals held back (`policy.removals: hold`), not sent.
    pub held: usize,
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

/// What became of one change.
enum Outcome {
    /// Sent (or refused by the runtime floor), with its result.
    Done(Result<(), String>),
    /// Sent, with its result, which the journal could not record.
    Unrecorded(Result<(), String>),
    /// Not sent: apply was stopped first.
    NotSent,
}

/// One apply in progress: what every change reads and the counts they share.
struct Run<'a, W> {
    writer: &'a W,
    plan: &'a Plan,
    by_id: HashMap<&'a str, &'a User>,
    /// The administrator floors and the staffing floors not let through, counting only
    /// changes that surely happened.
    floors: Vec<Floor<'a>>,
    journal: Journal,
    stop: &'a Stop,
    ledger: &'a Ledger,
    /// The first journal write that failed; apply stops sending when there is one.
    journal_error: Mutex<Option<std::io::Error>>,
    /// What the vendor did that halted the apply, when it did.
    halted: Mutex<Option<String>>,
    /// Masks what is shown and journalled, when asked.
    masker: Option<Masker<'static>>,
}

impl<W: Writer> Run<'_, W> {
    /// The key of `c` as apply shows and journals it.
    fn key(&self, c: &Change) -> String {
        self.masker
            .as_ref()
            .map_or_else(|| c.key.clone(), |m| m.key(c))
    }

    /// A vendor's error as apply shows and journals it: it may quote what was sent.
    fn error(&self, e: String) -> String {
        match &self.masker {
            Some(m) => m.text(&e),
            None => e,
        }
    }

    /// Records an event, and says whether it was; a journal that cannot be written stops
    /// the apply, since what it sends next would go unrecorded.
    fn record(&self, event: serde_json::Value) -> bool {
        let Err(e) = self.journal.write(event) else {
            return true;
        };
        self.stop.request();
        let mut first = self.journal_error.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert(e);
        false
    }

    /// Sends change `i` of the plan, `c`, unless a stop was asked for or the runtime
    /// floor refuses it; journals it before it is sent and when it ends.
    async fn one(&self, i: usize, c: &Change, phase: Phase) -> Outcome {
        if !self.ledger.begin(i, self.stop) {
            return Outcome::NotSent;
        }
        let live_user = c.id.as_deref().and_then(|id| self.by_id.get(id).copied());
        let effects: Vec<(bool, bool)> = self
            .floors
            .iter()
            .map(|f| f.effect(self.plan, c, live_user))
            .collect();
        if let Err(reason) = self.take_floors(&effects) {
            self.record(json!({"event": "refused", "phase": phase, "action": c.action, "key": self.key(c), "id": c.id, "error": reason}));
            // Nothing was sent, so a refusal the journal missed leaves no doubt.
            self.ledger.end(i, Err(reason.clone()), true);
            return Outcome::Done(Err(reason));
        }
        if !self.record(
            json!({"event": "send", "phase": phase, "action": c.action, "key": self.key(c), "id": c.id}),
        ) {
            // Not sent: it would have gone out unrecorded.
            for (floor, (takes, _)) in self.floors.iter().zip(&effects) {
                if *takes {
                    floor.give();
                }
            }
            self.ledger.unsent(i);
            return Outcome::NotSent;
        }
        let result = self.writer.perform(c, self.plan).await;
        for (floor, (takes, adds)) in self.floors.iter().zip(effects) {
            match (&result, takes, adds) {
                // Give the administrator back only when the demotion surely did not
                // happen; an unknown outcome counts as done.
                (Err(e), true, _) if e.surely_not_applied() => floor.give(),
                (Ok(()), _, true) => floor.give(),
                _ => {}
            }
        }
        if let Err(ProviderError::Halt(why)) = &result {
            self.stop.request();
            let why = self.error(why.clone());
            self.record(json!({"event": "halted", "phase": phase, "action": c.action, "key": self.key(c), "id": c.id, "reason": why}));
            let mut first = self.halted.lock().unwrap_or_else(|p| p.into_inner());
            first.get_or_insert(why);
        }
        let result = result.map_err(|e| self.error(e.to_string()));
        let recorded = self.record(json!({
            "event": "result", "phase": phase, "action": c.action, "key": self.key(c), "id": c.id,
            "outcome": if result.is_ok() { "ok" } else { "failed" }, "error": result.as_ref().err(),
        }));
        self.ledger.end(i, result.clone(), recorded);
        if recorded {
            Outcome::Done(result)
        } else {
            Outcome::Unrecorded(result)
        }
    }

    /// Counts away, on every floor, the members `effects` take; refuses (and gives back
    /// what it took) when one floor would go below its minimum.
    fn take_floors(&self, effects: &[(bool, bool)]) -> Result<(), String> {
        for (k, (floor, (takes, _))) in self.floors.iter().zip(effects).enumerate() {
            if !takes {
                continue;
            }
            if let Err(reason) = floor.take() {
                for (earlier, (took, _)) in self.floors.iter().zip(effects).take(k) {
                    if *took {
                        earlier.give();
                    }
                }
                return Err(reason);
            }
        }
        Ok(())
    }

    /// Why apply stopped early, if it did: the journal first, then the vendor, then a
    /// stop asked for.
    fn stopped(&self) -> Option<Stopped> {
        let journal_error = self.journal_error.lock().unwrap_or_else(|p| p.into_inner());
        let halted = self.halted.lock().unwrap_or_else(|p| p.into_inner());
        match (journal_error.as_ref(), halted.as_ref()) {
            (Some(e), _) => Some(Stopped::Journal(e.to_string())),
            (None, Some(why)) => Some(Stopped::Vendor(why.clone())),
            (None, None) if self.stop.requested() => Some(Stopped::Interrupted),
            (None, None) => None,
        }
    }
}

/// Runs `plan` against `live` through `writer`, phase by phase. Each change is
/// journalled as it is sent and as it ends; after a stop, nothing new is sent. A journal
/// that fails once the run has begun stops it and is reported in [`Report::stopped`].
pub async fn run<W: Writer>(
    writer: &W,
    plan: &Plan,
    live: &Account,
    opts: &Options,
) -> std::io::Result<Report> {
    let sent = plan.changes.iter().filter(|c| !c.held).count();
    let journal = Journal::open(&opts.journal_dir, &plan.checksum, sent)?;
    journal.write(json!({"event": "start", "checksum": plan.checksum, "provider": plan.provider, "account": plan.account, "changes": plan.changes.len(), "masked": opts.mask}))?;
    let run = Run {
        writer,
        plan,
        by_id: live.users.iter().map(|u| (u.id.as_str(), u)).collect(),
        floors: [
            Floor::new(
                Counts::RosterRoles,
                plan,
                live,
                plan.min_admins.max(1) as usize,
            ),
            Floor::new(Counts::BuiltinAdministrator, plan, live, 1),
        ]
        .into_iter()
        .chain(
            plan.floors
                .iter()
                .filter(|f| !f.allowed)
                .map(|f| Floor::new(Counts::Members(f), plan, live, f.min_agents as usize)),
        )
        .collect(),
        journal,
        stop: &opts.stop,
        ledger: &opts.ledger,
        journal_error: Mutex::new(None),
        halted: Mutex::new(None),
        masker: opts.mask.then(|| Masker::new(plan, mask_key())),
    };
    let shown = |c: &Change| {
        let key = run.key(c);
        (format!("{} {key}", c.action.as_str()), key, c.held)
    };
    opts.ledger.open(
        plan.changes.iter().map(shown).collect(),
        run.journal.path.clone(),
    );
    let reporter = opts.reporter.as_ref();
    for phase in Phase::ALL {
        // Held removals are shown by the plan and never sent.
        let changes: Vec<(usize, &Change)> = plan
            .changes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.phase == phase && !c.held)
            .collect();
        if changes.is_empty() {
            continue;
        }
        reporter.phase(phase, changes.len(), sent);
        let run = &run;
        let mut outcomes = stream::iter(changes)
            .map(|(i, c)| async move { (c, run.one(i, c, phase).await) })
            .buffer_unordered(opts.concurrency.max(1));
        while let Some((c, outcome)) = outcomes.next().await {
            report(
                reporter,
                &format!("{} {}", c.action.as_str(), run.key(c)),
                &outcome,
            );
        }
    }
    reporter.finish();
    let mut report = opts.ledger.report();
    let stopped = run.stopped().map(|s| s.to_string());
    run.record(json!({"event": "end", "applied": report.applied, "failed": report.failed.len(), "in_doubt": report.in_doubt.len(), "not_sent": report.not_sent.len(), "stopped": stopped}));
    if let Err(e) = run.journal.sync() {
        let mut first = run.journal_error.lock().unwrap_or_else(|p| p.into_inner());
        first.get_or_insert(e);
    }
    // A journal that failed at the end is reported like one that failed before.
    report.stopped = run.stopped();
    Ok(report)
}
