//! `roster schema`: print or write the JSON Schema of the roster format.

use std::path::PathBuf;

use anyhow::Context;

use super::Outcome;
use roster_core::config;

/// Flags of `roster schema`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Write the schema to this file (atomically) instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `roster schema`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let text = config::schema_text();
    match args.out {
        Some(path) => config::write_atomic(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(Outcome::Success)
}
