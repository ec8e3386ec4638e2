//! `roster plan`: read the account, diff, render; optionally save the JSON plan.

use std::path::PathBuf;

use anyhow::Context;

use super::env_vars::{self, ROSTER_NOW};
use super::target::{self, Connection};
use super::{Format, Outcome, default_path};
use roster_core::{config, plan, render, review};

/// Flags of `roster plan`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A roster file or a directory of YAML files.
    #[arg(default_value_os_t = default_path())]
    path: PathBuf,
    /// Also write the JSON plan here (atomically), for `apply --plan`.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Output format on standard output.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Exit 2 when there are changes to apply, 0 when there are none (held removals do
    /// not count).
    #[arg(long)]
    detailed_exitcode: bool,
    /// Plan removals (deactivations, offboards, membership removals) but hold them
    /// back, as `policy.removals: hold`.
    #[arg(long)]
    hold_removals: bool,
    /// Plan as of this day (YYYY-MM-DD) for users' `active_from` and `active_until`
    /// (default: today in `policy.time_zone`).
    #[arg(long, env = ROSTER_NOW, value_name = "DAY", value_parser = plan::parse_day)]
    now: Option<chrono::NaiveDate>,
    /// Plan only what the users' dates cause today (`active_from` reached: create, or
    /// reactivate changing only the status; `active_until` passed: deactivate), and
    /// list every other difference as not applied: for scheduled runs.
    #[arg(long)]
    only_dated: bool,
    /// Let the plan deactivate up to N users in all when that is more than
    /// `policy.max_deactivations` allows (N counts every deactivation and offboard of
    /// the plan, not only those past the limit).
    #[arg(long, value_name = "N")]
    allow_deactivations: Option<u32>,
    /// Let the plan leave this team or queue below its `min_agents` (repeatable).
    #[arg(long, value_name = "NAME")]
    allow_understaffed: Vec<String>,
    /// No colour in text output (also: the NO_COLOR environment variable).
    #[arg(long)]
    no_color: bool,
    /// Show the guards and totals even when there is nothing to change.
    #[arg(short, long)]
    verbose: bool,
    /// Mask names, emails and phone numbers in what is printed (for the logs of public
    /// repositories); the `--out` plan keeps them, since apply needs them.
    #[arg(long)]
    mask_pii: bool,
    #[command(flatten)]
    conn: Connection,
}

/// Runs `roster plan`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let opts = plan::Options {
        allow_deactivations: args.allow_deactivations,
        hold_removals: args.hold_removals,
        today: args.now,
        only_dated: args.only_dated,
        allow_understaffed: args.allow_understaffed,
    };
    let plan = target::reading_runtime(&args.conn)?
        .block_on(target::load_and_plan(&args.path, &args.conn, &opts))?;
    if let Some(out) = &args.out {
        config::write_atomic(out, roster_core::plan_file::to_json(&plan).as_bytes())
            .with_context(|| format!("cannot write the plan to {}", out.display()))?;
    }
    let masked = args.mask_pii.then(|| review::masked_plan(&plan));
    let shown = masked.as_ref().unwrap_or(&plan);
    let text = match args.format {
        Format::Text => {
            render::text_brief(shown, env_vars::color_wanted(args.no_color), args.verbose)
        }
        Format::Markdown => render::markdown(shown),
        Format::Json => roster_core::plan_file::to_json(shown),
    };
    print!("{text}");
    Ok(if !plan.accepted() {
        Outcome::Refused
    } else if args.detailed_exitcode && plan.changes.iter().any(|c| !c.held) {
        Outcome::Changes
    } else {
        Outcome::Success
    })
}
