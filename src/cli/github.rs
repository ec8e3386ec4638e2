//! `roster github ...`: what the GitHub Action runs around plan and apply.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use super::Outcome;
use super::target::runtime;
use roster_core::github::{self, Client, Env, Mode, Status};
use roster_core::plan::Plan;

/// `roster github ...`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create or update the sticky plan comment; write outputs and the step summary.
    Comment(Comment),
    /// On merge: refuse (exit 3) when the plan differs from the one approved on the
    /// pull request, and say so in its comment.
    Verify(Verify),
}

#[derive(Debug, clap::Args)]
struct Common {
    /// The JSON plan from `roster plan --out`.
    #[arg(long)]
    plan: PathBuf,
    /// The roster path the plan is for (one sticky comment per path).
    #[arg(long, default_value = "roster")]
    path: String,
    /// Show emails as j***@acme.example (for public repositories).
    #[arg(long)]
    mask_pii: bool,
}

#[derive(Debug, clap::Args)]
struct Comment {
    #[command(flatten)]
    common: Common,
    /// When to comment.
    #[arg(long, value_enum, default_value = "true")]
    comment: Mode,
    /// What the comment reports.
    #[arg(long, value_enum, default_value = "planned")]
    status: Status,
    /// The plan command's exit code, passed through to the outputs.
    #[arg(long, default_value_t = 0)]
    exitcode: i32,
}

#[derive(Debug, clap::Args)]
struct Verify {
    #[command(flatten)]
    common: Common,
    /// Apply even when the plan differs from the approved one.
    #[arg(long)]
    force_apply: bool,
}

fn read_plan(path: &PathBuf) -> anyhow::Result<Plan> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read the plan {}", path.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a roster plan", path.display()))
}

/// Runs `roster github`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let env = Env::from_env()?;
    let rt = runtime()?;
    match args.command {
        Command::Comment(c) => rt.block_on(comment(env, c)),
        Command::Verify(v) => rt.block_on(verify(env, v)),
    }
}

/// The pull request of this run: the event's, or the one merged as `GITHUB_SHA`.
async fn pull_request(client: &Client) -> anyhow::Result<Option<u64>> {
    if let Ok(n) = client.env().pull_request() {
        return Ok(Some(n));
    }
    match &client.env().sha {
        Some(sha) => client.merged_pull_request(sha).await,
        None => Ok(None),
    }
}

async fn comment(env: Env, c: Comment) -> anyhow::Result<Outcome> {
    let plan = read_plan(&c.common.plan)?;
    let client = Client::new(env)?;
    let (body, cut) = github::comment_body(
        &plan,
        &c.common.path,
        c.status,
        client.env().run.as_deref(),
        c.common.mask_pii,
        None,
    );
    if let Some(out) = &client.env().output {
        github::write_outputs(out, &plan, c.exitcode).context("cannot write GITHUB_OUTPUT")?;
    }
    if let Some(summary) = &client.env().summary {
        github::write_summary(summary, &plan, c.common.mask_pii)
            .context("cannot write GITHUB_STEP_SUMMARY")?;
    }
    if c.comment == Mode::False {
        return Ok(Outcome::Success);
    }
    let Some(pr) = pull_request(&client).await? else {
        eprintln!("roster: no pull request for this run; the plan is in the step summary only.");
        return Ok(Outcome::Success);
    };
    let existing = client.find_comment(pr, &c.common.path).await?;
    if c.comment == Mode::ChangesOnly && plan.changes.is_empty() && existing.is_none() {
        return Ok(Outcome::Success);
    }
    let id = client.upsert(pr, &c.common.path, &body).await?;
    eprintln!(
        "roster: {} comment {id} on pull request #{pr}{}",
        if existing.is_some() {
            "updated"
        } else {
            "created"
        },
        if cut {
            " (cut to fit; the full plan is in the step summary)"
        } else {
            ""
        }
    );
    Ok(Outcome::Success)
}

async fn verify(env: Env, v: Verify) -> anyhow::Result<Outcome> {
    let plan = read_plan(&v.common.plan)?;
    let client = Client::new(env)?;
    let pr = pull_request(&client).await?;
    let found = match pr {
        Some(pr) => client
            .find_comment(pr, &v.common.path)
            .await?
            .map(|(_, body)| (pr, body)),
        None => None,
    };
    let Some((pr, body)) = found else {
        if v.force_apply {
            eprintln!("roster: no approved plan found; applying because force-apply is set.");
            return Ok(Outcome::Success);
        }
        eprintln!(
            "error: no approved plan found for {} (no pull request comment for this commit); refusing to apply. Set force-apply to apply anyway.",
            v.common.path
        );
        return Ok(Outcome::Refused);
    };
    let (approved, changes) = github::approved(&body).unwrap_or_default();
    if approved == plan.checksum {
        eprintln!("roster: the plan matches the one approved on #{pr}.");
        return Ok(Outcome::Success);
    }
    if v.force_apply {
        eprintln!(
            "roster: the plan differs from the one approved on #{pr}; applying because force-apply is set."
        );
        return Ok(Outcome::Success);
    }
    let (text, _) = github::comment_body(
        &plan,
        &v.common.path,
        Status::NotApplied,
        client.env().run.as_deref(),
        v.common.mask_pii,
        Some(&changes),
    );
    client.upsert(pr, &v.common.path, &text).await?;
    eprintln!(
        "error: the plan changed since it was approved on #{pr} ({approved} → {}); not applied.",
        plan.checksum
    );
    Ok(Outcome::Refused)
}
