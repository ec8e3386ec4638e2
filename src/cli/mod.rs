//! Command-line definitions and dispatch. Flags are parsed once into checked structures;
//! each command module does its work and returns an [`Outcome`] that `main` maps to an
//! exit code.

mod apply;
mod choices;
mod doctor;
mod env_vars;
mod github;
mod identity;
mod import;
mod lock;
mod plan;
mod progress;
mod sandbox;
mod schema;
mod signals;
mod target;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use roster_core::render::escape::{self, terminal};

/// How a command ended, mapped to the documented exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// 0: success (with `--detailed-exitcode`: no changes).
    Success,
    /// 2: changes present (only with `--detailed-exitcode`).
    Changes,
    /// 3: a guard refused the plan.
    Refused,
    /// 130: apply was interrupted (SIGINT, Ctrl-C).
    Interrupted,
    /// 143: apply was terminated (SIGTERM).
    Terminated,
    /// 1: any other error.
    Failed,
}

impl Outcome {
    /// The exit code.
    pub fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Failed => 1,
            Outcome::Changes => 2,
            Outcome::Refused => 3,
            Outcome::Interrupted => 130,
            Outcome::Terminated => 143,
        }
    }
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> Self {
        ExitCode::from(o.code())
    }
}

/// Contact-center accounts as code: plan and apply users, roles and teams from YAML.
#[derive(Debug, Parser)]
#[command(name = "roster", version, about, max_term_width = 100, after_help = env_vars::HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Exit codes, listed in each command's help.
const VALIDATE_EXIT: &str = "Exit codes: 0 valid, 1 problems found (or a usage error).";
const PLAN_EXIT: &str = "Exit codes: 0 success (with --detailed-exitcode: nothing to apply), 1 error, 2 changes to apply (only with --detailed-exitcode), 3 a guard refused the plan.";
const APPLY_EXIT: &str = "Exit codes: 0 applied (or nothing to apply), 1 error or failed changes, 3 a guard refused the plan, 130 interrupted (SIGINT, Ctrl-C), 143 terminated (SIGTERM).";
const OTHER_EXIT: &str = "Exit codes: 0 success, 1 error (or a usage error).";
const DOCTOR_EXIT: &str = "Exit codes: 0 the credentials can run the job(s) checked, 1 they cannot (the report says what to grant) or an error.";
const GITHUB_EXIT: &str = "Exit codes: 0 success, 1 error, 3 (verify) the plan has changes the pull request did not approve.";

/// A command's exit codes and the environment variables that configure it.
fn with_env(exit: &str) -> String {
    format!("{exit}\n\n{}", env_vars::HELP)
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a roster file or directory and report every problem with its location.
    #[command(after_help = VALIDATE_EXIT)]
    Validate(validate::Args),
    /// Compare the roster with the live account and print what apply would change.
    #[command(after_help = with_env(PLAN_EXIT))]
    Plan(plan::Args),
    /// Carry out a plan, with guards that refuse to lock the account out.
    #[command(after_help = with_env(APPLY_EXIT))]
    Apply(apply::Args),
    /// Check the credentials and the account before the first plan or apply: scopes
    /// granted, page sizes, SCIM's configuration, and what each job lacks. Reads only.
    #[command(after_help = with_env(DOCTOR_EXIT))]
    Doctor(doctor::Args),
    /// Write a roster from a live account, so adoption starts from a plan with no changes.
    #[command(after_help = with_env(OTHER_EXIT))]
    Import(import::Args),
    /// Run the vendor emulators.
    #[command(after_help = OTHER_EXIT)]
    Sandbox(sandbox::Args),
    /// Pull-request comments, outputs and the merge check for the GitHub Action.
    #[command(after_help = GITHUB_EXIT)]
    Github(github::Args),
    /// Print a shell completion script: `roster completions bash > /etc/bash_completion.d/roster`.
    #[command(after_help = OTHER_EXIT)]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `roster man > roster.1`; with `--out DIR`, write
    /// every page (roster.1, roster-plan.1, roster-github-comment.1, …) into DIR.
    #[command(after_help = OTHER_EXIT)]
    Man {
        /// Write every page into this directory instead of printing the first.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Print the JSON Schema of the roster format.
    #[command(after_help = OTHER_EXIT)]
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
    if env_vars::in_github_actions() {
        for diag in &d.0 {
            let file = workflow_property(&diag.loc.file.to_string_lossy());
            let msg = workflow_data(&diag.message);
            println!(
                "::error file={file},line={},col={}::{msg}",
                diag.loc.line, diag.loc.col
            );
        }
    }
}

/// A workflow command's message: shown as text, no control character, and `%`, CR and
/// LF escaped as GitHub's toolkit does, so it cannot end the command.
fn workflow_data(s: &str) -> String {
    escape::terminal(s)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property (`file=`): as [`workflow_data`], and `:` and `,`
/// escaped too, so it cannot end the property list.
fn workflow_property(s: &str) -> String {
    workflow_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Parses the command line once; a usage error exits 1, since 2 means "changes present"
/// with `--detailed-exitcode`, as in Terraform.
fn parse() -> Result<Cli, ExitCode> {
    Cli::try_parse().map_err(|e| {
        use clap::error::ErrorKind;
        let _ = e.print();
        if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
            return ExitCode::SUCCESS;
        }
        if sandbox_followed_by_a_path() {
            eprintln!(
                "hint: give the sandbox state file with `=`: --sandbox=PATH (a bare --sandbox followed by a path reads as the flag and the roster path)"
            );
        }
        Outcome::Failed.into()
    })
}

/// Whether `--sandbox` is followed by a separate path, the usual cause of a surplus
/// argument.
fn sandbox_followed_by_a_path() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2)
        .any(|w| w[0] == "--sandbox" && !w[1].starts_with('-'))
}

/// Prints the manual page generated from the command-line definitions, or writes every
/// page (one per command and subcommand, as the first page's SEE ALSO lists them) into
/// `out`, each through a temporary file and a rename.
fn man(out: Option<PathBuf>) -> anyhow::Result<Outcome> {
    let mut cmd = <Cli as clap::CommandFactory>::command().disable_help_subcommand(true);
    cmd.build();
    let Some(dir) = out else {
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut page)?;
        return print_bytes(&page);
    };
    std::fs::create_dir_all(&dir)?;
    let mut pending = vec![cmd];
    let mut written = 0;
    while let Some(cmd) = pending.pop() {
        pending.extend(cmd.get_subcommands().filter(|s| !s.is_hide_set()).cloned());
        let man = clap_mangen::Man::new(cmd);
        let mut page = Vec::new();
        man.render(&mut page)?;
        roster_core::config::write_atomic(&dir.join(man.get_filename()), &page)?;
        written += 1;
    }
    eprintln!("Wrote {written} manual pages into {}.", dir.display());
    Ok(Outcome::Success)
}

/// Writes a completion script for `shell`, generated from the command-line definitions.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<Outcome> {
    let mut script = Vec::new();
    let mut cmd = <Cli as clap::CommandFactory>::command();
    clap_complete::generate(shell, &mut cmd, "roster", &mut script);
    print_bytes(&script)
}

/// Writes generated text to stdout; a reader that stops early (`| head`) is not an error.
fn print_bytes(bytes: &[u8]) -> anyhow::Result<Outcome> {
    use std::io::Write;
    match std::io::stdout().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(Outcome::Success),
    }
}

/// Parses the command line, runs the command and returns its exit code.
pub fn main() -> ExitCode {
    let cli = match parse() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    // Diagnostics go to stderr, off unless RUST_LOG asks (e.g. RUST_LOG=roster=debug
    // shows every retry). Secrets never reach them: they are held in `Secret`.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .without_time()
        .init();
    // Masked values hash under the approval key where there is one, so one value's hash
    // is the same in every output of every command that holds it.
    if let Ok(key) = env_vars::approval_key() {
        roster_core::review::set_mask_key(key);
    }
    let outcome = match cli.command {
        Command::Validate(args) => validate::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Apply(args) => apply::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Import(args) => import::run(args),
        Command::Sandbox(args) => sandbox::run(args),
        Command::Github(args) => github::run(args),
        Command::Completions { shell } => completions(shell),
        Command::Man { out } => man(out),
        Command::Schema(args) => schema::run(args),
    };
    match outcome {
        Ok(o) => o.into(),
        Err(e) => {
            match e.downcast_ref::<roster_core::config::Diagnostics>() {
                Some(d) => {
                    eprintln!("{}", d.report());
                    annotate(d);
                }
                None => {
                    // The vendor's words and the values in them, escaped line by line.
                    let message = format!("{e:#}");
                    let lines: Vec<_> = message.split('\n').map(terminal).collect();
                    eprintln!("error: {}", lines.join("\n"));
                }
            }
            Outcome::Failed.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_values_cannot_end_their_command() {
        assert_eq!(
            workflow_property("a\n::warning::x,b:c%\r"),
            "a␊%3A%3Awarning%3A%3Ax%2Cb%3Ac%25␍"
        );
        assert_eq!(
            workflow_data("50% of\n::set-output"),
            "50%25 of␊::set-output"
        );
    }
}
