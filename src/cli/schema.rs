//! `roster schema`: print or write the JSON Schema of the roster format, of one file of
//! a directory roster, or of the saved plan.

use std::path::PathBuf;

use anyhow::Context;

use super::Outcome;
use roster_core::config;

/// Flags of `roster schema`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The schema of one file of a directory roster (nothing required), which editors
    /// check each team's file against, instead of the whole roster's.
    #[arg(long)]
    part: bool,
    /// The schema of the saved plan (`roster plan --out`, format 1) instead, for tools
    /// that check plans.
    #[arg(long, conflicts_with = "part")]
    plan: bool,
    /// Write the schema to this file (atomically) instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `roster schema`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let text = if args.plan {
        roster_core::plan_file::schema_text()
    } else if args.part {
        config::part_schema_text()
    } else {
        config::schema_text()
    };
    match args.out {
        Some(path) => config::write_atomic(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(Outcome::Success)
}
