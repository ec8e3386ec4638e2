//! Plans as GitHub Markdown: the pull-request comment and the drift issue. Every value
//! goes through [`escape`]: text, code spans and code-block lines each have their own.

use std::fmt::Write;

use super::escape::{self, code_block, code_span, sentence};
use super::people::{self, is_person};
use super::{estimate_line, field_line, heading, membership_line, money, plan_line, symbol};
use crate::plan::{Action, Change, Plan};

/// Markdown output stays below this many characters (GitHub allows 65,536 per comment).
pub const MARKDOWN_LIMIT: usize = 60_000;

/// The plan as a pull-request comment, always under [`MARKDOWN_LIMIT`] characters.
pub fn markdown(plan: &Plan) -> String {
    markdown_limited(plan, MARKDOWN_LIMIT)
}

/// Items of each list (warnings, manual steps, notes) a limited rendering shows.
const LIMITED_LIST: usize = 25;

/// The plan as Markdown in at most about `limit` bytes: the tail of each section
/// collapses into "and N more" when it would not fit.
pub fn markdown_limited(plan: &Plan, limit: usize) -> String {
    markdown_titled(plan, limit, None, "")
}

/// People a comment shows before the rest collapse.
const PEOPLE_SHOWN: usize = 20;

/// People a limited rendering lists at all; the rest are in the full plan.
const PEOPLE_LIMITED: usize = 100;

/// Like [`markdown_limited`], with `status` (what happened to the plan, such as
/// "**Applied** in run 42") in the heading instead of the plan's verdict, and `note`
/// as a paragraph under it. Both are the caller's Markdown and are not escaped; values
/// in them go through [`escape`] first.
pub fn markdown_titled(plan: &Plan, limit: usize, status: Option<&str>, note: &str) -> String {
    let s = &plan.summary;
    let mut head = String::new();
    let verdict = if !plan.accepted() {
        "❌ refused"
    } else if s.total() == 0 {
        "✅ no changes"
    } else {
        "📋 planned"
    };
    // What happens to people, in the heading: the line a manager approves.
    let who = people::sentence(plan).map_or_else(String::new, |p| format!(": {p}"));
    let _ = writeln!(
        head,
        "### roster plan for {}: {}{who}\n",
        code_span(&format!("{}/{}", plan.provider, plan.account)),
        status.unwrap_or(verdict)
    );
    if !note.is_empty() {
        let _ = writeln!(head, "{}\n", note.trim_end());
    }
    let _ = writeln!(head, "**{}**\n", plan_line(s));
    people(&mut head, plan, limit);
    staffing(&mut head, plan);
    guards(&mut head, plan);
    let delta = s.seats_after as i64 - s.seats_before as i64;
    let _ = writeln!(
        head,
        "\n**Seats** {} → {} ({delta:+}) · **Monthly cost** {} · **Welcome emails** {}\n",
        s.seats_before,
        s.seats_after,
        escape::inline(&money(s), false),
        s.welcome_emails
    );
    engineering(&mut head, plan);
    lists(&mut head, plan, limit);
    let foot = format!("<sub>checksum {}</sub>\n", code_span(&plan.checksum));
    let budget = limit.saturating_sub(head.len() + foot.len() + 200);
    let body = changes(plan, budget);
    format!("{head}{body}{foot}")
}

/// The changes in a collapsed diff block per action, in at most about `budget` bytes:
/// the tail of each collapses into "and N more".
fn changes(plan: &Plan, mut budget: usize) -> String {
    let mut body = String::new();
    for action in [
        Action::CreateTeam,
        Action::Create,
        Action::Reactivate,
        Action::Update,
        Action::Deactivate,
        Action::Offboard,
    ] {
        let changes: Vec<&Change> = plan.changes.iter().filter(|c| c.action == action).collect();
        if changes.is_empty() {
            continue;
        }
        let open = format!(
            "<details><summary>{} ({})</summary>\n\n```diff\n",
            action.as_str(),
            changes.len()
        );
        let close = "```\n</details>\n\n";
        let mut section = String::new();
        let mut shown = 0;
        for c in &changes {
            let sym = symbol(c.action).0;
            let mut entry = format!("{}\n", code_block(&format!("{sym} {}", heading(c))));
            for (name, f) in &c.fields {
                let line = format!("{sym}     {name}: {}", field_line(f));
                let _ = writeln!(entry, "{}", code_block(&line));
            }
            if open.len() + section.len() + entry.len() + close.len() + 40 > budget {
                break;
            }
            section.push_str(&entry);
            shown += 1;
        }
        if shown < changes.len() {
            let _ = writeln!(section, "… and {} more", changes.len() - shown);
        }
        let full = format!("{open}{section}{close}");
        budget = budget.saturating_sub(full.len());
        body.push_str(&full);
    }
    body
}

/// The people a reviewer must see: every person-level change (joins and leaves, role
/// changes, team and queue moves, email renames, add-ons, welcome emails), by name and
/// email, from → to; past [`PEOPLE_SHOWN`] the rest collapse, and a limited rendering
/// lists at most [`PEOPLE_LIMITED`].
fn people(head: &mut String, plan: &Plan, limit: usize) {
    let people: Vec<&Change> = plan.changes.iter().filter(|c| is_person(c)).collect();
    if people.is_empty() {
        return;
    }
    let table = "| Name | Email | Change |\n|---|---|---|\n";
    let _ = write!(head, "**People**\n\n{table}");
    let shown = PEOPLE_SHOWN.min(people.len());
    people[..shown].iter().for_each(|c| person(head, plan, c));
    if people.len() > shown {
        let listed = if limit == usize::MAX {
            people.len()
        } else {
            PEOPLE_LIMITED.min(people.len())
        };
        let more = people.len() - shown;
        let _ = write!(
            head,
            "\n<details><summary>and {more} more</summary>\n\n{table}"
        );
        people[shown..listed]
            .iter()
            .for_each(|c| person(head, plan, c));
        if listed < people.len() {
            let _ = writeln!(
                head,
                "\n… and {} more (in the full plan)",
                people.len() - listed
            );
        }
        head.push_str("\n</details>\n");
    }
    head.push('\n');
}

/// One row of the people table: the name as text, the email as code, which GitHub
/// neither links nor mentions from.
fn person(head: &mut String, plan: &Plan, c: &Change) {
    let name = escape::markdown(c.name.as_deref().unwrap_or(""));
    let _ = writeln!(
        head,
        "| {name} | {} | {} |",
        code_span(&c.key),
        people::cell(plan, c)
    );
}

/// The staffing floors' verdicts, beside the people they concern.
fn staffing(head: &mut String, plan: &Plan) {
    let floors: Vec<_> = plan
        .guards
        .iter()
        .filter(|g| g.name == "staffing_floor")
        .collect();
    if floors.is_empty() {
        return;
    }
    head.push_str("**Staffing floors**\n\n");
    for g in floors {
        let mark = if g.ok { "✅" } else { "❌" };
        let _ = writeln!(head, "- {mark} {}", sentence(&g.detail));
    }
    head.push('\n');
}

/// Request pacing and membership policy: for whoever runs roster, collapsed.
fn engineering(head: &mut String, plan: &Plan) {
    let lines: Vec<String> = [estimate_line(&plan.summary), membership_line(plan)]
        .into_iter()
        .flatten()
        .map(|l| format!("{}\n", escape::markdown(&l)))
        .collect();
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(
        head,
        "<details><summary>Pacing and membership policy</summary>\n\n{}\n</details>\n",
        lines.join("\n")
    );
}

/// The guards as a table, collapsed when every one passes.
fn guards(head: &mut String, plan: &Plan) {
    let mut table = String::from("| Guard | Result | Detail |\n|---|---|---|\n");
    for g in &plan.guards {
        let r = if g.ok { "✅ pass" } else { "❌ fail" };
        let (name, detail) = (code_span(&g.name), sentence(&g.detail));
        let _ = writeln!(table, "| {name} | {r} | {detail} |");
    }
    if plan.accepted() {
        let _ = write!(
            head,
            "<details><summary>✅ All {} guards pass</summary>\n\n{table}\n</details>\n",
            plan.guards.len()
        );
    } else {
        head.push_str(&table);
    }
}

/// Warnings, manual steps and notes as Markdown lists; a limited rendering shows the
/// first [`LIMITED_LIST`] of each, so the changes still fit.
fn lists(head: &mut String, plan: &Plan, limit: usize) {
    for (title, mark, items) in [
        ("⚠️ Warnings", "⚠️ ", &plan.warnings),
        ("Manual steps", "", &plan.manual_steps),
        ("Notes", "", &plan.notes),
        (
            "Upcoming in the next 7 days (informational)",
            "",
            &plan.upcoming,
        ),
    ] {
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(head, "**{title}**\n");
        let shown = if limit == usize::MAX {
            items.len()
        } else {
            LIMITED_LIST
        };
        for w in items.iter().take(shown) {
            let _ = writeln!(head, "- {mark}{}", sentence(w));
        }
        if items.len() > shown {
            let _ = writeln!(
                head,
                "- … and {} more (in the full plan)",
                items.len() - shown
            );
        }
        head.push('\n');
    }
}
