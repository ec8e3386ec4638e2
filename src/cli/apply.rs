//! `roster apply`: plan afresh (or load a saved plan and check it), confirm, carry it
//! out phase by phase, report.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, bail};

use super::env_vars::{self, ROSTER_NOW};
use super::lock;
use super::progress;
use super::signals::{self, Signals};
use super::target::{self, Connection};
use super::{Outcome, default_path};
use roster_core::plan::{self, Plan};
use roster_core::render::escape::terminal;
use roster_core::{apply, plan_file, render, review};
use roster_providers::Reader;

/// Flags of `roster apply`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A roster file or a directory of YAML files.
    #[arg(default_value_os_t = default_path())]
    path: PathBuf,
    /// Apply this saved JSON plan (from `plan --out`) instead of planning afresh.
    #[arg(long, value_name = "FILE")]
    plan: Option<PathBuf>,
    /// Do not ask for confirmation (required when not on a terminal).
    #[arg(long)]
    auto_approve: bool,
    /// Let the plan deactivate up to N users in all when that is more than
    /// `policy.max_deactivations` allows (N counts every deactivation and offboard of
    /// the plan, not only those past the limit).
    #[arg(long, value_name = "N", conflicts_with = "plan")]
    allow_deactivations: Option<u32>,
    /// Let the plan leave this team or queue below its `min_agents` (repeatable).
    #[arg(long, value_name = "NAME", conflicts_with = "plan")]
    allow_understaffed: Vec<String>,
    /// Plan removals but apply none of them, as `policy.removals: hold`.
    #[arg(long, conflicts_with = "plan")]
    hold_removals: bool,
    /// Plan as of this day (YYYY-MM-DD) for users' `active_from` and `active_until`.
    #[arg(long, env = ROSTER_NOW, value_name = "DAY", value_parser = plan::parse_day, conflicts_with = "plan")]
    now: Option<chrono::NaiveDate>,
    /// Directory of the JSON-lines journal.
    #[arg(long, default_value = ".roster/journal")]
    journal_dir: PathBuf,
    /// Wait up to this many seconds for another apply on the same account to finish
    /// (default: refuse at once and say who holds the account).
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    lock_timeout: u64,
    /// No colour in text output (also: the NO_COLOR environment variable).
    #[arg(long)]
    no_color: bool,
    /// Show the guards and totals even when there is nothing to change.
    #[arg(short, long)]
    verbose: bool,
    /// Mask names, emails and phone numbers in what is printed and in the journal (for
    /// public repositories' logs and artifacts); the journal keeps IDs and keyed hashes.
    #[arg(long)]
    mask_pii: bool,
    #[command(flatten)]
    conn: Connection,
}

/// Reads a saved plan and checks that nobody edited it.
fn read_plan(path: &PathBuf) -> anyhow::Result<Plan> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read the plan {}", path.display()))?;
    plan_file::from_json(&bytes).with_context(|| path.display().to_string())
}

/// Asks on the terminal; refuses when there is none.
fn confirm(plan: &Plan) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "not on a terminal, so nobody can confirm: pass --auto-approve to apply without asking"
        );
    }
    eprint!(
        "Apply {} change(s) to {} account {}? Only 'yes' is accepted: ",
        plan.changes.len(),
        terminal(&plan.provider),
        terminal(&plan.account)
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// Why apply's own credentials cannot carry out every change of `plan`, if they
/// cannot: the missing scope, named once.
fn missing_scope(caps: &plan::Capabilities, plan: &Plan) -> Option<String> {
    let missing = caps.missing_write.as_ref()?;
    let n = plan.changes.iter().filter(|c| missing.blocks(c)).count();
    (n > 0).then(|| {
        format!(
            "{n} change(s) of the plan need the scope `{}`, which these credentials lack: grant it to the OAuth client (or set TALKDESK_SCIM_TOKEN) and apply again; nothing was sent",
            missing.scope
        )
    })
}

/// Runs `roster apply`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let saved = args.plan.as_ref().map(read_plan).transpose()?;
    let loaded = target::load(&args.path)?;
    if let Some(p) = &saved {
        let r = &loaded.roster.provider;
        if p.provider != r.kind.as_str() || p.account != r.account {
            bail!(
                "the plan is for {} account {}, but the roster describes {} account {}; refusing to apply it here",
                p.provider,
                p.account,
                r.kind.as_str(),
                r.account
            );
        }
    }
    let color = env_vars::color_wanted(args.no_color);
    let rt = target::runtime()?;
    rt.block_on(async {
        let conn = target::connect(&loaded, &args.conn, true).await?;
        // Held until apply ends: another apply waits or is refused before it reads.
        let _lock = take_lock(&conn.lock_key, args.lock_timeout)?;
        let (plan, live) = match saved {
            Some(plan) => {
                let live = conn.provider.read(&target::scope(&loaded)).await.context("cannot read the account")?;
                let stale = apply::stale_changes(&plan, &live);
                if !stale.is_empty() {
                    let masker = args.mask_pii.then(|| review::Masker::new(&plan, review::mask_key()));
                    for s in &stale {
                        let key = masker.as_ref().map_or_else(|| s.key.clone(), |m| m.email(&s.key));
                        eprintln!("error: {}: {}", terminal(&key), terminal(&s.reason));
                    }
                    bail!(
                        "the saved plan is stale: {} object(s) changed since it was made, so none of its changes were applied; re-run `roster plan`",
                        stale.len()
                    );
                }
                (plan, live)
            }
            None => {
                let opts = plan::Options {
                    allow_deactivations: args.allow_deactivations,
                    hold_removals: args.hold_removals,
                    today: args.now,
                    only_dated: false,
                    allow_understaffed: args.allow_understaffed.clone(),
                };
                target::make_plan(&loaded, &conn.provider, &opts).await?
            }
        };
        let masked = args.mask_pii.then(|| review::masked_plan(&plan));
        let shown = masked.as_ref().unwrap_or(&plan);
        print!("{}", render::text_brief(shown, color, args.verbose));
        if !plan.accepted() {
            for g in shown.refusals() {
                eprintln!(
                    "error: guard {} refused the plan: {}",
                    terminal(&g.name),
                    terminal(&g.detail)
                );
            }
            return Ok(Outcome::Refused);
        }
        // Before the first write: a plan made by a job without a write scope is carried
        // out whole or not at all.
        if let Some(why) = missing_scope(&conn.provider.capabilities(), &plan) {
            eprintln!("error: {why}");
            return Ok(Outcome::Refused);
        }
        if !plan.changes.iter().any(|c| !c.held) {
            if plan.summary.held > 0 {
                println!("{} removal(s) held back; nothing to apply.", plan.summary.held);
            }
            return Ok(Outcome::Success);
        }
        if !args.auto_approve && !confirm(&plan)? {
            eprintln!("Apply cancelled; nothing was changed.");
            return Ok(Outcome::Failed);
        }
        let (stop, ledger) = (apply::Stop::default(), apply::Ledger::default());
        let signals = signals::watch(&stop, &ledger)?;
        let opts = apply::Options {
            concurrency: args.conn.concurrency as usize,
            journal_dir: args.journal_dir.clone(),
            reporter: progress::for_stderr(),
            stop,
            ledger,
            mask: args.mask_pii,
        };
        let report = apply::run(&conn.provider, &plan, &live, &opts).await.context("cannot write the apply journal")?;
        report_outcome(&report, &signals)
    })
}

/// Takes the account's apply lock, waiting up to `wait_seconds`.
fn take_lock(key: &str, wait_seconds: u64) -> anyhow::Result<lock::AccountLock> {
    let path = lock::path_for(&env_vars::state_dir(), key);
    let holder = lock::describe_self("roster apply");
    let wait = std::time::Duration::from_secs(wait_seconds);
    let waiting = |held: &str| {
        let until = chrono::Utc::now() + chrono::Duration::seconds(wait_seconds as i64);
        eprintln!(
            "Waiting up to {wait_seconds} s for the lock on this account, held by {}; giving up at {}.",
            terminal(held),
            until.format("%H:%M:%SZ")
        );
    };
    Ok(tokio::task::block_in_place(|| {
        lock::acquire(&path, &holder, wait, waiting)
    })?)
}

/// Prints what became of each change of an apply that ended early, after `head`
/// ("Apply stopped (interrupted)").
pub(super) fn print_stopped(head: &str, report: &apply::Report) {
    println!(
        "{head}: {} change(s) applied, {} failed, {} in doubt, {} not sent. Journal: {}",
        report.applied,
        report.failed.len(),
        report.in_doubt.len(),
        report.not_sent.len(),
        report.journal.display()
    );
    for f in &report.failed {
        print_failure(f);
    }
    for d in &report.in_doubt {
        let why = match &d.answer {
            None => "sent without an answer".to_string(),
            Some(Ok(())) => "answered ok; the journal could not record it".to_string(),
            Some(Err(e)) => format!("answered failed: {e}; the journal could not record it"),
        };
        println!("  in doubt: {} ({})", terminal(&d.change), terminal(&why));
    }
    for c in &report.not_sent {
        println!("  not sent: {}", terminal(c));
    }
    if !report.in_doubt.is_empty() {
        println!("The changes in doubt were sent: the account shows whether they took effect.");
    }
    println!("Run apply again to carry out the rest: it plans what is left.");
}

/// Prints what apply did and maps it to an exit code; `signals` tells which signal
/// stopped it, if one did.
fn report_outcome(report: &apply::Report, signals: &Signals) -> anyhow::Result<Outcome> {
    if let Some(why) = &report.stopped {
        print_stopped(
            &format!("Apply stopped ({})", terminal(&why.to_string())),
            report,
        );
        return Ok(match why {
            apply::Stopped::Interrupted => signals.outcome(),
            apply::Stopped::Journal(_) | apply::Stopped::Vendor(_) => Outcome::Failed,
        });
    }
    if report.failed.is_empty() {
        println!(
            "Apply complete: {} change(s) applied. Journal: {}",
            report.applied,
            report.journal.display()
        );
        if report.held > 0 {
            println!(
                "{} removal(s) held back and not applied (policy.removals: hold or --hold-removals).",
                report.held
            );
        }
        return Ok(Outcome::Success);
    }
    println!(
        "Apply finished with {} failure(s); {} change(s) applied. Journal: {}",
        report.failed.len(),
        report.applied,
        report.journal.display()
    );
    for f in &report.failed {
        print_failure(f);
    }
    println!("Fix the cause and run apply again: it converges on what is left.");
    Ok(Outcome::Failed)
}

/// "  failed KEY: REASON", both as for a terminal: the key may be an email from the
/// account and the reason the vendor's words.
fn print_failure(f: &apply::Failure) {
    println!("  failed {}: {}", terminal(&f.key), terminal(&f.reason));
}
