//! Command-line definitions and dispatch. Flags are parsed once into checked structures;
//! each command module does its work and returns an [`Outcome`] that `main` maps to an
//! exit code.

mod apply;
mod github;
mod import;
mod plan;
mod sandbox;
mod schema;
mod target;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// How a command ended, mapped to the documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 0: success (with `--detailed-exitcode`: no changes).
    Success,
    /// 2: changes present (only with `--detailed-exitcode`).
    Changes,
    /// 3: a guard refused the plan.
    Refused,
    /// 130: apply was interrupted (Ctrl-C) and stopped after the changes in flight.
    Interrupted,
    /// 1: any other error.
    Failed,
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> Self {
        ExitCode::from(match o {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::Changes => 2,
            Outcome::Refused => 3,
            Outcome::Interrupted => 130,
        })
    }
}

/// Contact-center accounts as code: plan and apply users, roles and teams from YAML.
#[derive(Debug, Parser)]
#[command(name = "roster", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a roster file or directory and report every problem with its location.
    Validate(validate::Args),
    /// Compare the roster with the live account and print what apply would change.
    Plan(plan::Args),
    /// Carry out a plan, with guards that refuse to lock the account out.
    Apply(apply::Args),
    /// Write a roster from a live account, so adoption starts from a plan with no changes.
    Import(import::Args),
    /// Run the vendor emulators.
    Sandbox(sandbox::Args),
    /// Pull-request comments, outputs and the merge check for the GitHub Action.
    Github(github::Args),
    /// Run the end-to-end benchmarks and write target/bench-report.md.
    #[command(hide = true)]
    Bench,
    /// Print the JSON Schema of the roster format.
    Schema(schema::Args),
}

/// Output format for machine-readable commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// Markdown for a pull-request comment.
    Markdown,
    /// JSON for scripts.
    Json,
}

/// The roster path when none is given.
fn default_path() -> PathBuf {
    PathBuf::from("roster")
}

/// In GitHub Actions, repeats each diagnostic as an `::error` annotation on its line.
pub(crate) fn annotate(d: &roster_core::config::Diagnostics) {
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        for diag in &d.0 {
            let msg = diag
                .message
                .replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A");
            println!(
                "::error file={},line={},col={}::{msg}",
                diag.loc.file.display(),
                diag.loc.line,
                diag.loc.col
            );
        }
    }
}

/// Runs the benchmarks, prints the table and writes it to `target/bench-report.md`.
fn bench() -> anyhow::Result<Outcome> {
    let table = crate::bench::run()?;
    print!("{table}");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    roster_core::config::write_atomic(&target.join("bench-report.md"), table.as_bytes())?;
    Ok(Outcome::Success)
}

/// Parses the command line, runs the command and returns its exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Diagnostics go to stderr, off unless RUST_LOG asks (e.g. RUST_LOG=roster=debug
    // shows every retry). Secrets never reach them: they are held in `Secret`.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    let outcome = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Import(args) => import::run(args),
        Command::Sandbox(args) => sandbox::run(args),
        Command::Github(args) => github::run(args),
        Command::Bench => bench(),
        Command::Schema(args) => schema::run(args),
    };
    match outcome {
        Ok(o) => o.into(),
        Err(e) => {
            match e.downcast_ref::<roster_core::config::Diagnostics>() {
                Some(d) => {
                    eprintln!("{d}\n{} error(s) found", d.0.len());
                    annotate(d);
                }
                None => eprintln!("error: {e:#}"),
            }
            Outcome::Failed.into()
        }
    }
}
