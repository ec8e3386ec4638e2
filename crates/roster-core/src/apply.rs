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

use crate::github::{Masker, mask_key};
use crate::model::{Account, User};
use crate::plan::{Action, Change, Phase, Plan, precondition};
use crate::provider::{ProviderError, Writer};
use crate::render::escape;

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
    /// How to show progress.
    pub progress: Progress,
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

/// How apply shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A bar over every change, labelled with the phase, for a terminal.
    Bar,
    /// One plain line per change, for CI logs.
    Lines,
    /// Nothing but the journal (benchmarks).
    Quiet,
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

/// Progress on the terminal or in the log, moved as each change ends.
struct Display {
    bar: Option<indicatif::ProgressBar>,
    lines: bool,
}

impl Display {
    /// A bar over every change of the plan, or plain lines, or nothing.
    fn new(progress: Progress, len: usize) -> Display {
        let bar = (progress == Progress::Bar).then(|| {
            let b = indicatif::ProgressBar::new(len as u64);
            b.set_style(
                indicatif::ProgressStyle::with_template(
                    "{prefix:>28} [{bar:30}] {pos}/{len} {elapsed} elapsed, about {eta} left {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            b
        });
        Display {
            bar,
            lines: progress == Progress::Lines,
        }
    }

    /// A phase begins with `n` changes.
    fn phase(&self, phase: Phase, n: usize) {
        match &self.bar {
            Some(b) => b.set_prefix(phase.label()),
            None if self.lines => eprintln!("apply: {} ({n})", phase.label()),
            None => {}
        }
    }

    /// One change, `line` ("action key"), ended (or was not sent); the line and the
    /// error as for a terminal.
    fn done(&self, line: String, outcome: &Outcome) {
        let line = escape::terminal(&line).into_owned();
        if let Some(b) = &self.bar {
            b.inc(1);
            b.set_message(line);
            return;
        }
        if self.lines {
            match outcome {
                Outcome::Done(Ok(())) => eprintln!("  {line}: ok"),
                Outcome::Done(Err(e)) => eprintln!("  {line}: failed: {}", escape::terminal(e)),
                Outcome::Unrecorded(Ok(())) => eprintln!("  {line}: ok, not journalled"),
                Outcome::Unrecorded(Err(e)) => {
                    eprintln!("  {line}: failed, not journalled: {}", escape::terminal(e))
                }
                Outcome::NotSent => eprintln!("  {line}: not sent"),
            }
        }
    }

    /// Removes the bar.
    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
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
    /// The administrator floors, counting only changes that surely happened.
    floors: [Floor; 2],
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
        let effects = self
            .floors
            .each_ref()
            .map(|f| f.effect(self.plan, c, live_user));
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
            for (floor, (takes, _)) in self.floors.iter().zip(effects) {
                if takes {
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

    /// Counts away, on every floor, the administrators `effects` take; refuses (and
    /// gives back what it took) when one floor would go below its minimum.
    fn take_floors(&self, effects: &[(bool, bool); 2]) -> Result<(), String> {
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
        ],
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
    let display = Display::new(opts.progress, sent);
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
        display.phase(phase, changes.len());
        let run = &run;
        let mut outcomes = stream::iter(changes)
            .map(|(i, c)| async move { (c, run.one(i, c, phase).await) })
            .buffer_unordered(opts.concurrency.max(1));
        while let Some((c, outcome)) = outcomes.next().await {
            display.done(format!("{} {}", c.action.as_str(), run.key(c)), &outcome);
        }
    }
    display.finish();
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
