//! `roster validate`: load a roster and report every problem, or a one-line summary.

use std::path::PathBuf;

use super::{Outcome, default_path};
use roster_core::config;

/// Flags of `roster validate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A roster file or a directory of YAML files.
    #[arg(default_value_os_t = default_path())]
    path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// What `validate` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    /// Each problem as `error: message`, then `--> file:line:col`, the line with a caret
    /// under the column and a hint; or a one-line summary.
    Text,
    /// The same as JSON, for scripts.
    Json,
}

/// Runs `roster validate`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let result = config::load(&args.path);
    let json = args.format == Format::Json;
    match result {
        Ok(loaded) => {
            let r = &loaded.roster;
            let count =
                |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
            let summary = format!(
                "{}, {}, {}: valid",
                count(r.users.len(), "user"),
                count(r.roles.len(), "role"),
                count(r.teams.len(), "team")
            );
            if json {
                let v = serde_json::json!({"valid": true, "users": r.users.len(), "roles": r.roles.len(), "teams": r.teams.len(), "errors": [], "warnings": loaded.warnings});
                println!("{v}");
            } else {
                for w in &loaded.warnings {
                    eprintln!("{}", w.as_warning());
                }
                println!("{summary}");
            }
            Ok(Outcome::Success)
        }
        Err(diags) => {
            if json {
                let v = serde_json::json!({"valid": false, "errors": diags.0});
                println!("{v}");
            } else {
                eprintln!("{}", diags.report());
                super::annotate(&diags);
            }
            Ok(Outcome::Failed)
        }
    }
}
