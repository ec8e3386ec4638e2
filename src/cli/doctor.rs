//! `roster doctor`: before the first plan or apply on a real account, check the
//! credentials and the facts roster relies on, and say what to grant. Reads only,
//! except with `--probe-writes`.

use std::path::PathBuf;

use clap::ValueEnum;
use roster_core::config::{self, Roster};
use roster_core::render::escape::terminal;
use roster_providers::doctor::{Job, Needs, Report};

use super::target::{self, Connection};
use super::{Outcome, default_path};

/// The job to check the credentials for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum For {
    /// `roster plan`: reads only.
    Plan,
    /// `roster apply`: reads and writes.
    Apply,
}

/// How to print the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DoctorFormat {
    /// A table, and what each job lacks.
    Text,
    /// JSON for scripts.
    Json,
}

/// Flags of `roster doctor`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A roster file or a directory of YAML files: it names the account, and what it
    /// declares decides which surfaces are needed.
    #[arg(default_value_os_t = default_path())]
    path: PathBuf,
    /// Check for this job only (default: both plan and apply).
    #[arg(long = "for", value_enum, value_name = "JOB")]
    job: Option<For>,
    /// Also send one write that changes nothing, to confirm a modeled answer: assign a
    /// queue's member to that queue again (Talkdesk documents the write as idempotent).
    #[arg(long)]
    probe_writes: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DoctorFormat::Text)]
    format: DoctorFormat,
    #[command(flatten)]
    conn: Connection,
}

/// What the roster declares, so the surfaces it needs are checked.
fn needs(roster: &Roster) -> Needs {
    let users = &roster.users;
    Needs {
        queues: !roster.queues.is_empty() || users.iter().any(|u| u.queues.is_some()),
        teams: !roster.teams.is_empty() || users.iter().any(|u| u.teams.is_some()),
        phone: users.iter().any(|u| u.phone.is_some()),
        addons: !roster.policy.addons.is_empty() || users.iter().any(|u| u.addons.is_some()),
    }
}

/// Runs `roster doctor`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let sources = config::read_sources(&args.path)?;
    // Before the first import there may be no roster but the account's name: doctor
    // needs only the provider, and checks queues too, which most rosters declare.
    let header = config::header(&sources);
    let (roster, needs) = match target::load_sources(sources) {
        Ok(loaded) => {
            let needs = needs(&loaded.roster);
            (loaded.roster, needs)
        }
        Err(diags) => match header {
            Some(roster) => {
                eprintln!(
                    "note: {} does not validate yet (`roster validate` says why); checking the account it names, queues included",
                    args.path.display()
                );
                let needs = Needs {
                    queues: true,
                    ..Needs::default()
                };
                (roster, needs)
            }
            None => return Err(diags.into()),
        },
    };
    let jobs: Vec<Job> = match args.job {
        Some(For::Plan) => vec![Job::Plan],
        Some(For::Apply) => vec![Job::Apply],
        None => vec![Job::Plan, Job::Apply],
    };
    if args.probe_writes {
        eprintln!(
            "--probe-writes: this sends one write request that changes nothing (a queue's member assigned to that queue again)"
        );
    }
    let p = &roster.provider;
    let account = target::Target {
        kind: p.kind,
        name: &p.account,
        region: p.region,
    };
    let seed = target::Seed {
        roster: &roster,
        origin: "the roster",
    };
    let report = target::runtime()?.block_on(async {
        let connected = target::connect_to(account, seed, &args.conn, false).await?;
        anyhow::Ok(
            connected
                .provider
                .doctor(&jobs, needs, args.probe_writes)
                .await?,
        )
    })?;
    match args.format {
        DoctorFormat::Text => {
            let account = format!("{:?} account {}", p.kind, p.account).to_lowercase();
            print!("{}", text(&report, &account, &jobs));
        }
        DoctorFormat::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    let ready = jobs.iter().all(|j| report.lacks(*j).is_empty());
    Ok(if ready {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}

/// A table cell: the account's words shown as text on one line, `|` escaped so it
/// cannot open a column.
fn cell(s: &str) -> String {
    terminal(s).replace('|', "\\|")
}

/// The report as a table (Markdown's, so it pastes into an issue) and a verdict per
/// job.
fn text(r: &Report, account: &str, jobs: &[Job]) -> String {
    use std::fmt::Write;
    let names: Vec<&str> = jobs.iter().map(|j| j.as_str()).collect();
    let mut out = format!(
        "roster doctor: {}, for {}\n\n",
        cell(account),
        names.join(" and ")
    );
    out.push_str("| surface | fact | roster expects (source) | this account answered | ok |\n");
    out.push_str("|---|---|---|---|---|\n");
    for c in &r.checks {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            c.surface,
            cell(&c.fact),
            cell(&c.expected),
            cell(&c.answered),
            if c.ok { "yes" } else { "NO" }
        );
    }
    out.push('\n');
    for w in &r.writes {
        let _ = writeln!(out, "sent: {}", cell(w));
    }
    for job in jobs {
        let lacks = r.lacks(*job);
        if lacks.is_empty() {
            let _ = writeln!(out, "{}: can run.", job.as_str());
        } else {
            let _ = writeln!(out, "{}: cannot run; grant or change:", job.as_str());
            for l in lacks {
                let _ = writeln!(out, "  - {}", cell(l));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_words_cannot_open_a_column_or_move_the_cursor() {
        assert_eq!(cell("a | b\x1b[2J\nc"), "a \\| b␛[2J␊c");
    }

    #[test]
    fn each_job_says_whether_it_can_run_and_what_it_lacks() {
        let mut r = Report::default();
        r.check("token", "scope scim", "needed", "refused: 400", false);
        r.apply_lacks = vec!["scim: every user write goes through SCIM".into()];
        let out = text(&r, "talkdesk account acme", &[Job::Plan, Job::Apply]);
        assert!(
            out.contains("| token | scope scim | needed | refused: 400 | NO |"),
            "{out}"
        );
        assert!(out.contains("plan: can run."), "{out}");
        assert!(
            out.contains("apply: cannot run; grant or change:\n  - scim: every user write"),
            "{out}"
        );
    }
}
