//! `roster github ...`: what the GitHub Action runs around plan and apply: the sticky
//! comment, the approval check on merge, the drift issue, and a note when there is no
//! plan to show.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use super::Outcome;
use super::choices::{ModeArg, StatusArg};
use super::env_vars::{self, ROSTER_BOT_LOGIN};
use super::target::runtime;
use roster_core::plan::Plan;
use roster_core::render::escape;
use roster_core::review::{self, Approval, ApprovalKey, Binding, CommentParts, Status};
use roster_github::{Client, Env};

/// `roster github ...`
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create or update the sticky plan comment; write outputs and the step summary.
    /// `--status planned` (on a pull request) records the plan as the one to approve.
    Comment(Comment),
    /// On merge: refuse (exit 3) when the plan has a change the pull request did not
    /// approve, and say so in its comment.
    Verify(Verify),
    /// Open, update or close the drift issue from a scheduled plan.
    Drift(Drift),
    /// Put a note in the sticky comment when there is no plan (a fork's pull request).
    Note(Note),
}

#[derive(Debug, clap::Args)]
struct Common {
    /// The roster path the plan is for (one sticky comment per path).
    #[arg(long, default_value = "roster")]
    path: String,
    /// Mask names, emails and phone numbers (for public repositories).
    #[arg(long)]
    mask_pii: bool,
    /// The login whose comments hold approved plans: the workflow's token's (a
    /// `GITHUB_TOKEN` cannot ask who it is, so the workflow names it).
    #[arg(long, env = ROSTER_BOT_LOGIN, default_value = "github-actions[bot]")]
    bot_login: String,
}

#[derive(Debug, clap::Args)]
struct Comment {
    /// The JSON plan from `roster plan --out`.
    #[arg(long)]
    plan: PathBuf,
    #[command(flatten)]
    common: Common,
    /// When to comment.
    #[arg(long, value_enum, default_value = "true")]
    comment: ModeArg,
    /// What the comment reports.
    #[arg(long, value_enum, default_value = "planned")]
    status: StatusArg,
    /// Say that force-apply let changes through that the pull request did not approve.
    #[arg(long)]
    forced: bool,
    /// The plan command's exit code, passed through to the outputs.
    #[arg(long, default_value_t = 0)]
    exitcode: i32,
}

#[derive(Debug, clap::Args)]
struct Verify {
    /// The JSON plan from `roster plan --out`.
    #[arg(long)]
    plan: PathBuf,
    #[command(flatten)]
    common: Common,
    /// Apply even when the plan has changes the pull request did not approve (keep
    /// this behind the workflow's `environment:` protection).
    #[arg(long)]
    force_apply: bool,
}

#[derive(Debug, clap::Args)]
struct Drift {
    /// The JSON plan from `roster plan --out`.
    #[arg(long)]
    plan: PathBuf,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, clap::Args)]
struct Note {
    #[command(flatten)]
    common: Common,
    /// The note, in Markdown.
    #[arg(long)]
    text: String,
}

/// Reads a saved plan: this build's format, unedited since `roster plan --out`.
fn read_plan(path: &PathBuf) -> anyhow::Result<Plan> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read the plan {}", path.display()))?;
    roster_core::plan_file::from_json(&bytes).with_context(|| path.display().to_string())
}

/// Runs `roster github`.
pub fn run(args: Args) -> anyhow::Result<Outcome> {
    let env = env_vars::github()?;
    let rt = runtime()?;
    match args.command {
        Command::Comment(c) => rt.block_on(comment(env, c)),
        Command::Verify(v) => rt.block_on(verify(env, v)),
        Command::Drift(d) => rt.block_on(drift(env, d)),
        Command::Note(n) => rt.block_on(note(env, n)),
    }
}

/// The pull request of this run and its head commit: the event's on a pull request,
/// otherwise the one whose merge into this branch made `GITHUB_SHA`.
async fn pull_request(client: &Client) -> anyhow::Result<Result<(u64, Option<String>), String>> {
    if let Ok(found) = client.env().pull_request() {
        return Ok(Ok(found));
    }
    let env = client.env();
    let (Some(sha), Some(branch)) = (env.sha.as_deref(), env.branch()) else {
        return Ok(Err(
            "this run is neither a pull request nor a push to a branch (GITHUB_SHA and GITHUB_REF)"
                .into(),
        ));
    };
    Ok(client
        .merged_as(sha, branch)
        .await?
        .map(|pr| (pr.number, Some(pr.head))))
}

/// Writes the outputs and summary, then the comment. A planned comment records the
/// plan as the one to approve, signed with the approval key, unless the pull request
/// is merged (its approval is final) or has moved past the commit planned here.
async fn comment(env: Env, c: Comment) -> anyhow::Result<Outcome> {
    let plan = read_plan(&c.plan)?;
    let client = Client::new(env)?;
    if let Some(out) = &client.env().output {
        roster_github::write_outputs(out, &plan, c.exitcode)
            .context("cannot write GITHUB_OUTPUT")?;
    }
    if let Some(summary) = &client.env().summary {
        roster_github::write_summary(summary, &plan, c.common.mask_pii)
            .context("cannot write GITHUB_STEP_SUMMARY")?;
    }
    if c.comment == ModeArg::False {
        return Ok(Outcome::Success);
    }
    let (pr, head) = match pull_request(&client).await? {
        Ok(found) => found,
        Err(why) => {
            eprintln!(
                "roster: no pull request for this run ({why}); the plan is in the step summary only."
            );
            return Ok(Outcome::Success);
        }
    };
    let common = &c.common;
    let existing = client
        .find_comment(pr, &common.path, &common.bot_login)
        .await?;
    if c.comment == ModeArg::ChangesOnly && plan.changes.is_empty() && existing.is_none() {
        return Ok(Outcome::Success);
    }
    let key = env_vars::approval_key();
    let (approval, note, unsigned) = if c.status == StatusArg::Planned {
        let current = client.pull(pr).await?;
        if current.merged {
            anyhow::bail!(
                "pull request #{pr} is merged: the plan it approved is final; open a new pull request to approve another"
            );
        }
        let Some(head) = head else {
            anyhow::bail!(
                "the event names no head commit for pull request #{pr}: run the plan job on `pull_request_target`"
            );
        };
        if current.head != head {
            // A newer push has its own run; this one must not overwrite its comment.
            eprintln!(
                "roster: pull request #{pr} moved on to {} after this run's commit {head}; its own run comments, this one does not.",
                current.head
            );
            return Ok(Outcome::Success);
        }
        match &key {
            Ok(key) => {
                let overlaps = client
                    .overlapping(pr, &common.path, &common.bot_login, &plan, key)
                    .await?;
                let binding = binding(client.env(), pr, head, &plan, &common.path);
                let approval = Approval::sign(&plan, binding, key);
                (Some(approval), overlap_note(&overlaps), None)
            }
            Err(e) => (
                None,
                format!("⚠️ **Not approvable:** {e}."),
                Some(e.clone()),
            ),
        }
    } else {
        let copied = existing.as_ref().and_then(|(_, b)| Approval::read(b).ok());
        (copied, String::new(), None)
    };
    let run = client.env().run_link();
    let parts = CommentParts {
        status: Status::from(c.status).title(run.as_deref(), c.forced),
        note,
        approval,
        mask: common.mask_pii,
    };
    let (body, cut) = review::comment_body(&plan, &common.path, &parts);
    let body = match (&existing, c.status) {
        // After the merge the comment keeps a seal only if nobody broke it.
        (Some((_, old)), status) if status != StatusArg::Planned => {
            resealed(body, old, key.as_ref().ok())
        }
        _ => sealed(body, key.as_ref().ok()),
    };
    let id = client.upsert(pr, existing.map(|(id, _)| id), &body).await?;
    eprintln!(
        "roster: comment {id} on pull request #{pr}{}",
        if cut {
            " (cut to fit; the full plan is in the step summary)"
        } else {
            ""
        }
    );
    if let Some(e) = unsigned {
        anyhow::bail!("the plan was commented but approves nothing: {e}");
    }
    Ok(Outcome::Success)
}

/// `body` sealed with the key when there is one: verify refuses a comment whose seal
/// is missing or broken, so only a job holding the key can rewrite a plan comment.
fn sealed(body: String, key: Option<&ApprovalKey>) -> String {
    match key {
        Some(key) => review::seal(&body, key),
        None => body,
    }
}

/// `body`, which replaces the comment `old` after the merge, sealed only when `old`'s
/// own seal holds: a comment someone edited stays unsealed, and so refused, whatever
/// roster writes over it later (re-sealing it would approve what its reviewers read
/// in the edited text on the next run).
fn resealed(body: String, old: &str, key: Option<&ApprovalKey>) -> String {
    let intact = key.filter(|k| review::check_seal(old, k).is_ok());
    sealed(body, intact)
}

/// The body of a found comment, or nothing.
fn body_of(comment: &Option<(u64, String)>) -> &str {
    comment.as_ref().map_or("", |(_, b)| b.as_str())
}

/// What an approval of `plan` on pull request `pr` at `head` is bound to.
fn binding(env: &Env, pr: u64, head: String, plan: &Plan, path: &str) -> Binding {
    Binding {
        repo: env.repo.clone(),
        pr,
        head,
        provider: plan.provider.clone(),
        account: plan.account.clone(),
        path: path.to_string(),
    }
}

/// Other pull requests that change the same people, for the reviewers of this one.
fn overlap_note(overlaps: &[(u64, usize)]) -> String {
    let list: Vec<String> = overlaps
        .iter()
        .map(|(n, shared)| format!("#{n} ({shared} of the same users)"))
        .collect();
    if list.is_empty() {
        return String::new();
    }
    format!(
        "🔀 Open pull requests that also change users this one changes: {}. Whichever merges second is planned again on merge, and its apply is refused if the plan changed.",
        list.join(", ")
    )
}

/// The approval that covers this push: the signed block in the plan comment of the
/// pull request whose merge made `GITHUB_SHA`, bound to that pull request's final head,
/// this plan's provider and account, and this roster path.
struct Found {
    pr: u64,
    comment: Option<(u64, String)>,
    approval: Result<Approval, String>,
}

async fn find_approval(client: &Client, common: &Common, plan: &Plan) -> anyhow::Result<Found> {
    let env = client.env();
    let (Some(sha), Some(branch)) = (env.sha.clone(), env.branch().map(str::to_string)) else {
        anyhow::bail!("verify runs on a push to a branch: GITHUB_SHA and GITHUB_REF must be set");
    };
    let pr = match client.merged_as(&sha, &branch).await? {
        Ok(pr) => pr,
        Err(why) => {
            return Ok(Found {
                pr: 0,
                comment: None,
                approval: Err(why),
            });
        }
    };
    let comment = client
        .find_comment(pr.number, &common.path, &common.bot_login)
        .await?;
    let approval = match (&comment, env_vars::approval_key()) {
        (None, _) => Err(format!(
            "no plan comment by {} for `{}` on #{}",
            common.bot_login, common.path, pr.number
        )),
        (Some(_), Err(e)) => Err(e.to_string()),
        (Some((_, body)), Ok(key)) => Approval::read(body)
            .and_then(|a| {
                let wanted = binding(env, pr.number, pr.head.clone(), plan, &common.path);
                a.check(&wanted, &key)?;
                review::check_seal(body, &key)?;
                Ok(a)
            })
            .map_err(|r| r.to_string()),
    };
    Ok(Found {
        pr: pr.number,
        comment,
        approval,
    })
}

/// Passes when every change of the plan is one the merged pull request approved (a
/// re-run after a partial apply passes); refuses and names what is new otherwise. The
/// approval is never rewritten here, so a refused apply stays refused on every re-run.
async fn verify(env: Env, v: Verify) -> anyhow::Result<Outcome> {
    let plan = read_plan(&v.plan)?;
    let client = Client::new(env)?;
    let common = &v.common;
    let found = find_approval(&client, common, &plan).await?;
    let pr = found.pr;
    let (approval, lacking) = match found.approval {
        Ok(approval) => {
            let key = env_vars::approval_key()?;
            let lacking = approval.lacking(&plan, &key);
            if lacking.is_empty() {
                eprintln!(
                    "roster: every change of the plan was approved on #{pr} ({} of {} still to do).",
                    plan.changes.len(),
                    approval.changes.len()
                );
                return Ok(Outcome::Success);
            }
            (Some(approval), lacking)
        }
        Err(why) => {
            let Some((id, body)) = &found.comment else {
                return refuse(&why, common, v.force_apply);
            };
            // The reason may quote what an edited block claims: text, never markup.
            let shown = escape::markdown(&why);
            let note = if v.force_apply {
                format!("**Forced:** force-apply applied this plan although {shown}.")
            } else {
                format!(
                    "**Not applied:** {shown}. Nothing was applied. Re-running this job does not change the verdict."
                )
            };
            let copied = Approval::read(body).ok();
            let status = refusal_status(v.force_apply);
            let parts = CommentParts {
                status,
                note,
                approval: copied,
                mask: common.mask_pii,
            };
            let (body, _) = review::comment_body(&plan, &common.path, &parts);
            let old = body_of(&found.comment);
            let body = resealed(body, old, env_vars::approval_key().ok().as_ref());
            client.upsert(pr, Some(*id), &body).await?;
            return refuse(&why, common, v.force_apply);
        }
    };
    let listed: String = lacking
        .iter()
        .map(|l| format!("- {}\n", escape::code_span(l)))
        .collect();
    let note = if v.force_apply {
        format!(
            "**Forced:** force-apply let through {} change(s) that #{pr} did not approve:\n\n{listed}",
            lacking.len()
        )
    } else {
        format!(
            "**Not applied:** the plan at merge has {} change(s) that #{pr} did not approve, so none of it was applied:\n\n{listed}\nOpen a pull request that approves them: its plan is made on the current account and roster, and merging it applies them. Re-running this job does not change the verdict.",
            lacking.len()
        )
    };
    let parts = CommentParts {
        status: refusal_status(v.force_apply),
        note,
        approval,
        mask: common.mask_pii,
    };
    let (body, _) = review::comment_body(&plan, &common.path, &parts);
    let body = resealed(
        body,
        body_of(&found.comment),
        env_vars::approval_key().ok().as_ref(),
    );
    if let Some((id, _)) = found.comment {
        client.upsert(pr, Some(id), &body).await?;
    }
    let masker = common
        .mask_pii
        .then(|| review::Masker::new(&plan, review::mask_key()));
    for l in &lacking {
        let l = masker.as_ref().map_or_else(|| l.clone(), |m| m.text(l));
        eprintln!("error: not approved on #{pr}: {l}");
    }
    if v.force_apply {
        eprintln!("roster: applying anyway because force-apply is set.");
        // For the action's script: the comment after apply says the apply was forced.
        println!("forced");
        return Ok(Outcome::Success);
    }
    eprintln!(
        "error: the plan has {} change(s) that #{pr} did not approve; not applied.",
        lacking.len()
    );
    Ok(Outcome::Refused)
}

/// The comment's heading when verify refuses, or lets a plan through by force.
fn refusal_status(forced: bool) -> Option<String> {
    if forced {
        Some("⚠️ **forced past the approval**".to_string())
    } else {
        Status::NotApplied.title(None, false)
    }
}

/// Says on stderr why no approval covers the plan; lets it through only under
/// force-apply.
fn refuse(why: &str, common: &Common, force: bool) -> anyhow::Result<Outcome> {
    let why = escape::terminal(why);
    if force {
        eprintln!(
            "roster: no approval covers this plan ({why}); applying because force-apply is set."
        );
        println!("forced");
        return Ok(Outcome::Success);
    }
    eprintln!(
        "error: no approved plan for {}: {why}; refusing to apply. Merge a pull request whose plan comment approves it, or apply through force-apply behind the environment's reviewers.",
        common.path
    );
    Ok(Outcome::Refused)
}

/// Opens or updates the drift issue while the plan has changes; closes it when not.
async fn drift(env: Env, d: Drift) -> anyhow::Result<Outcome> {
    let plan = read_plan(&d.plan)?;
    let client = Client::new(env)?;
    let common = &d.common;
    if let Some(out) = &client.env().output {
        roster_github::write_outputs(out, &plan, 0).context("cannot write GITHUB_OUTPUT")?;
    }
    let open = client
        .find_drift_issue(&common.path, &common.bot_login)
        .await?;
    let run = client.env().run_link();
    if plan.changes.is_empty() {
        if let Some(n) = open {
            let why = format!(
                "No drift in {}: the account matches the roster again.",
                run.as_deref().unwrap_or("the latest check")
            );
            client.close_issue(n, &why).await?;
            eprintln!("roster: no drift; closed issue #{n}.");
        } else {
            eprintln!("roster: no drift.");
        }
        return Ok(Outcome::Success);
    }
    let title = format!(
        "Roster drift in `{}`: {} change(s) between the account and the roster",
        common.path,
        plan.changes.len()
    );
    let body = review::drift_body(&plan, &common.path, run.as_deref(), common.mask_pii);
    let n = client.upsert_drift_issue(open, &title, &body).await?;
    eprintln!(
        "roster: drift of {} change(s); issue #{n} {}.",
        plan.changes.len(),
        if open.is_some() { "updated" } else { "opened" }
    );
    Ok(Outcome::Success)
}

/// Puts `text` in the sticky comment in place of a plan. A note approves nothing, so
/// an approval the comment held for an earlier head is dropped.
async fn note(env: Env, n: Note) -> anyhow::Result<Outcome> {
    let client = Client::new(env)?;
    let Ok((pr, _)) = pull_request(&client).await? else {
        eprintln!("roster: {}", n.text);
        return Ok(Outcome::Success);
    };
    let existing = client
        .find_comment(pr, &n.common.path, &n.common.bot_login)
        .await?;
    let body = review::note_body(&n.common.path, &n.text);
    client.upsert(pr, existing.map(|(id, _)| id), &body).await?;
    Ok(Outcome::Success)
}
