//! `roster import`: read a live account and write a roster that plans empty.

use std::path::PathBuf;

use anyhow::{Context, bail};

use super::Outcome;
use super::choices::{ProviderArg, RegionArg};
use super::target::{self, Connection};
use roster_core::config;
use roster_core::import;
use roster_providers::{ReadScope, Reader};
use roster_sandbox as sandbox;

/// Flags of `roster import`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Directory to write the roster into, with the JSON Schemas its files' `$schema`
    /// lines name under `schema/`.
    #[arg(long, default_value = "roster")]
    out: PathBuf,
    /// Which API to read.
    #[arg(long, value_enum, default_value = "talkdesk")]
    provider: ProviderArg,
    /// The account's name, written as `provider.account` (plans carry it; Talkdesk's
    /// token URL derives from it).
    #[arg(long)]
    account: String,
    /// The Talkdesk region, written as `provider.region`.
    #[arg(long, value_enum, default_value = "us")]
    region: RegionArg,
    /// Split the roster into files (default: one file).
    #[arg(long, value_enum, value_name = "BY")]
    split_by: Option<SplitBy>,
    /// Keep inactive users, as `status: inactive`.
    #[arg(long)]
    include_inactive: bool,
    /// Email glob to leave out and write into `policy.ignore` (repeatable).
    #[arg(long, value_name = "GLOB")]
    ignore: Vec<String>,
    /// An administrator's email (repeatable), for providers whose roles cannot be read
    /// (CloudTalk); everyone else is written as `Agent`.
    #[arg(long, value_name = "EMAIL")]
    admin: Vec<String>,
    /// Overwrite files that exist.
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    conn: Connection,
}

/// `--split-by`: how to split the roster into files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum SplitBy {
    /// One file per team (by each user's first team), plus one for users in none.
    Team,
}

/// Runs `roster import`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    for p in &args.ignore {
        globset::Glob::new(p).with_context(|| format!("--ignore {p:?} is not a valid glob"))?;
    }
    let rt = target::runtime()?;
    let example = sandbox::seed::example();
    // No roster exists yet: a new sandbox starts as the built-in example account.
    let seed = target::Seed {
        roster: &example,
        origin: "the built-in example account (no roster is read by import)",
    };
    let account = rt.block_on(async {
        let account = target::Target {
            kind: args.provider.into(),
            name: &args.account,
            region: args.region.into(),
        };
        let conn = target::connect_to(account, seed, &args.conn, false).await?;
        let scope = ReadScope {
            addons: true,
            phone_for_all: true,
            ..ReadScope::default()
        };
        conn.provider
            .read(&scope)
            .await
            .context("cannot read the account")
    })?;
    let opts = import::Options {
        kind: args.provider.into(),
        account: args.account.clone(),
        region: args.region.into(),
        split_by_team: args.split_by == Some(SplitBy::Team),
        include_inactive: args.include_inactive,
        ignore: args.ignore.clone(),
        admins: args.admin.clone(),
    };
    let (files, users) = import::files(&account, &opts, &config::ignore_set(&args.ignore));
    let existing: Vec<String> = files
        .keys()
        .filter(|f| args.out.join(f).exists())
        .cloned()
        .collect();
    if !existing.is_empty() && !args.force {
        bail!(
            "{} already holds {}; pass --force to overwrite",
            args.out.display(),
            existing.join(", ")
        );
    }
    for (name, text) in &files {
        let path = args.out.join(name);
        config::write_atomic(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    eprintln!(
        "Imported {users} user(s) into {} ({} file(s)).",
        args.out.display(),
        files.len()
    );
    if let Err(diags) = config::load(&args.out) {
        eprintln!("{diags}");
        eprintln!(
            "The account holds data the roster format rejects: fix it in the files above (or the account)."
        );
        return Ok(Outcome::Failed);
    }
    Ok(Outcome::Success)
}
