//! Plans as text (Terraform idiom, colour aware), Markdown (pull-request comment) and JSON.

use std::fmt::Write;

use serde_json::Value;

use crate::plan::{Action, Change, FieldChange, Plan, Summary};

/// Markdown output stays below this many characters (GitHub allows 65,536 per comment).
pub const MARKDOWN_LIMIT: usize = 60_000;

/// The plan as pretty JSON (`format_version: 1`).
pub fn json(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(plan).unwrap_or_default();
    s.push('\n');
    s
}

/// ANSI colours, or none.
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn paint(self, code: &str, text: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
}

/// Whether colour is wanted: only on a terminal, and not with `--no-color` or
/// `NO_COLOR`.
pub fn color_wanted(no_color_flag: bool) -> bool {
    use std::io::IsTerminal;
    !no_color_flag
        && std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn symbol(a: Action) -> (&'static str, &'static str) {
    match a {
        Action::Create | Action::CreateTeam => ("+", "32"),
        Action::Update | Action::Reactivate => ("~", "33"),
        Action::Deactivate | Action::Offboard => ("-", "31"),
    }
}

fn heading(c: &Change) -> String {
    let what = match c.kind {
        crate::plan::Kind::User => "user",
        crate::plan::Kind::Team => "team",
    };
    let mut held = if c.held { " [held: not applied]" } else { "" }.to_string();
    if let Some(scope) = &c.needs {
        held.push_str(&format!(" [needs `{scope}` at apply]"));
    }
    let modeled: Vec<&str> = [("phone", "phone."), ("addons", "addons")]
        .into_iter()
        .filter(|(_, field)| c.fields.keys().any(|k| k.starts_with(field)))
        .map(|(surface, _)| surface)
        .collect();
    if !modeled.is_empty() {
        held.push_str(&format!(" [modeled: {}]", modeled.join(", ")));
    }
    match c.action {
        Action::Create | Action::CreateTeam | Action::Update => format!("{what} {}{held}", c.key),
        other => format!("{what} {} ({}){held}", c.key, other.as_str()),
    }
}

/// "Apply: about 110 requests, about 1 minute at 120 requests/min (policy.api_budget)."
pub fn estimate_line(s: &Summary) -> Option<String> {
    let e = s.estimate.as_ref()?;
    let time = match e.seconds {
        0..=89 => format!("{} seconds", e.seconds.max(1)),
        90..=5399 => format!("{} minutes", (e.seconds + 30) / 60),
        _ => format!("{:.1} hours", e.seconds as f64 / 3600.0),
    };
    Some(format!(
        "Apply: about {} requests, about {time} at {} requests/min ({}).",
        e.requests, e.per_minute, e.pace
    ))
}

/// "Membership: teams authoritative, queues additive (queue sales: authoritative)".
pub fn membership_line(plan: &Plan) -> Option<String> {
    let lists: Vec<String> = ["teams", "queues"]
        .iter()
        .filter_map(|l| Some(format!("{l} {}", plan.memberships.get(*l)?)))
        .collect();
    if lists.is_empty() {
        return None;
    }
    let overrides: Vec<String> = plan
        .memberships
        .iter()
        .filter(|(k, _)| k.contains(' '))
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    let tail = if overrides.is_empty() {
        String::new()
    } else {
        format!(" ({})", overrides.join(", "))
    };
    Some(format!("Membership: {}{tail}.", lists.join(", ")))
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}

/// `"old" → "new"`, with an inline character diff when both are long strings.
fn field_line(f: &FieldChange) -> String {
    if f.from.is_null() {
        return show(&f.to);
    }
    if let (Value::String(a), Value::String(b)) = (&f.from, &f.to)
        && a.len() > 40
        && b.len() > 40
    {
        let diff = similar::TextDiff::from_chars(a.as_str(), b.as_str());
        let mut out = String::new();
        for op in diff.iter_all_changes() {
            match op.tag() {
                similar::ChangeTag::Equal => out.push_str(op.value()),
                similar::ChangeTag::Delete => {
                    let _ = write!(out, "[-{}-]", op.value());
                }
                similar::ChangeTag::Insert => {
                    let _ = write!(out, "{{+{}+}}", op.value());
                }
            }
        }
        return format!("\"{out}\"");
    }
    format!("{} → {}", show(&f.from), show(&f.to))
}

/// "Plan: 3 to create, 2 to update, 1 to reactivate, 1 to deactivate."
pub fn plan_line(s: &Summary) -> String {
    if s.total() == 0 && s.held == 0 {
        return "No changes. The account matches the roster.".into();
    }
    if s.total() == 0 {
        return format!("No changes to apply; {} removal(s) held back.", s.held);
    }
    let mut parts = vec![
        format!("{} to create", s.create),
        format!("{} to update", s.update),
        format!("{} to reactivate", s.reactivate),
        format!("{} to deactivate", s.deactivate),
    ];
    if s.offboard > 0 {
        parts.push(format!("{} to offboard", s.offboard));
    }
    if s.create_team > 0 {
        parts.push(format!("{} team(s) to create", s.create_team));
    }
    if s.held > 0 {
        parts.push(format!("{} removal(s) held back", s.held));
    }
    format!("Plan: {}.", parts.join(", "))
}

fn money(s: &Summary) -> String {
    let sign = if s.monthly_cost_delta >= 0.0 {
        "+"
    } else {
        "-"
    };
    let cur = s
        .currency
        .as_deref()
        .map(|c| format!(" {c}"))
        .unwrap_or_default();
    format!("{sign}{:.2}{cur}", s.monthly_cost_delta.abs())
}

fn seats_line(s: &Summary) -> String {
    let delta = s.seats_after as i64 - s.seats_before as i64;
    format!(
        "Seats {} → {} ({delta:+}), monthly cost {}, welcome emails {}.",
        s.seats_before,
        s.seats_after,
        money(s),
        s.welcome_emails
    )
}

/// A plan with nothing to apply in one line (and its warnings), unless `verbose`; any
/// other plan in full, as [`text`] renders it.
pub fn text_brief(plan: &Plan, color: bool, verbose: bool) -> String {
    if verbose || plan.summary.total() > 0 || plan.summary.held > 0 || !plan.accepted() {
        return text(plan, color);
    }
    let p = Paint(color);
    let mut out = String::new();
    for w in &plan.warnings {
        let _ = writeln!(out, "{} {w}", p.paint("33", "warning:"));
    }
    let _ = writeln!(out, "{}", plan_line(&plan.summary));
    out
}

/// The plan as terminal text.
pub fn text(plan: &Plan, color: bool) -> String {
    let p = Paint(color);
    let mut out = String::new();
    if !plan.changes.is_empty() {
        let _ = writeln!(
            out,
            "roster will make these changes to {} account {}:\n",
            plan.provider, plan.account
        );
    }
    for c in &plan.changes {
        let (sym, code) = symbol(c.action);
        let _ = writeln!(
            out,
            "  {} {}",
            p.paint(code, sym),
            p.paint("1", &heading(c))
        );
        let width = c.fields.keys().map(String::len).max().unwrap_or(0);
        for (name, f) in &c.fields {
            let _ = writeln!(out, "      {name:<width$}  {}", field_line(f));
        }
    }
    if !plan.changes.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(out, "Guards:");
    for g in &plan.guards {
        let mark = if g.ok {
            p.paint("32", "pass")
        } else {
            p.paint("31", "FAIL")
        };
        let _ = writeln!(out, "  {mark} {}: {}", g.name, g.detail);
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for w in &plan.warnings {
            let _ = writeln!(out, "  {} {w}", p.paint("33", "!"));
        }
    }
    for (title, items) in [
        ("Manual steps", &plan.manual_steps),
        ("Notes", &plan.notes),
        (
            "Upcoming in the next 7 days (informational)",
            &plan.upcoming,
        ),
    ] {
        if !items.is_empty() {
            let _ = writeln!(out, "\n{title}:");
            for m in items {
                let _ = writeln!(out, "  * {m}");
            }
        }
    }
    let _ = writeln!(out, "\n{}", seats_line(&plan.summary));
    for line in [estimate_line(&plan.summary), membership_line(plan)]
        .into_iter()
        .flatten()
    {
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "{}", p.paint("1", &plan_line(&plan.summary)));
    if !plan.accepted() {
        let _ = writeln!(
            out,
            "{}",
            p.paint(
                "31",
                "Refused: a guard failed; apply will not run this plan."
            )
        );
    }
    out
}

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
/// as a paragraph under it.
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
    let _ = writeln!(
        head,
        "### roster plan for `{}/{}`: {}\n",
        plan.provider,
        plan.account,
        status.unwrap_or(verdict)
    );
    if !note.is_empty() {
        let _ = writeln!(head, "{}\n", note.trim_end());
    }
    let _ = writeln!(head, "**{}**\n", plan_line(s));
    for line in [estimate_line(s), membership_line(plan)]
        .into_iter()
        .flatten()
    {
        let _ = writeln!(head, "{line}\n");
    }
    people(&mut head, plan, limit);
    guards(&mut head, plan);
    let delta = s.seats_after as i64 - s.seats_before as i64;
    let _ = writeln!(
        head,
        "\n**Seats** {} → {} ({delta:+}) · **Monthly cost** {} · **Welcome emails** {}\n",
        s.seats_before,
        s.seats_after,
        money(s),
        s.welcome_emails
    );
    lists(&mut head, plan, limit);
    let foot = format!("<sub>checksum `{}`</sub>\n", plan.checksum);
    let mut budget = limit.saturating_sub(head.len() + foot.len() + 200);
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
            let mut entry = format!("{} {}\n", symbol(c.action).0, heading(c));
            for (name, f) in &c.fields {
                let _ = writeln!(
                    entry,
                    "{}     {name}: {}",
                    symbol(c.action).0,
                    field_line(f)
                );
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
    format!("{head}{body}{foot}")
}

/// The people a reviewer must see: creates, reactivations, deactivations and role
/// changes, by name and email; past [`PEOPLE_SHOWN`] the rest collapse, and a limited
/// rendering lists at most [`PEOPLE_LIMITED`].
fn people(head: &mut String, plan: &Plan, limit: usize) {
    let rows: Vec<String> = plan.changes.iter().filter_map(person).collect();
    if rows.is_empty() {
        return;
    }
    let table = "| Name | Email | Change |\n|---|---|---|\n";
    let _ = write!(head, "**People**\n\n{table}");
    let shown = PEOPLE_SHOWN.min(rows.len());
    rows[..shown].iter().for_each(|r| head.push_str(r));
    if rows.len() > shown {
        let listed = if limit == usize::MAX {
            rows.len()
        } else {
            PEOPLE_LIMITED.min(rows.len())
        };
        let more = rows.len() - shown;
        let _ = write!(
            head,
            "\n<details><summary>and {more} more</summary>\n\n{table}"
        );
        rows[shown..listed].iter().for_each(|r| head.push_str(r));
        if listed < rows.len() {
            let _ = writeln!(
                head,
                "\n… and {} more (in the full plan)",
                rows.len() - listed
            );
        }
        head.push_str("\n</details>\n");
    }
    head.push('\n');
}

/// One row of the people table, for a change that adds, removes or re-roles a person.
fn person(c: &Change) -> Option<String> {
    let what = match c.action {
        Action::Create => format!("create as {}", text_of(c.fields.get("role").map(|f| &f.to))),
        Action::Reactivate => "reactivate".into(),
        Action::Deactivate => "deactivate".into(),
        Action::Offboard => "offboard".into(),
        Action::Update => {
            let role = c.fields.get("role")?;
            format!(
                "role {} → {}",
                text_of(Some(&role.from)),
                text_of(Some(&role.to))
            )
        }
        Action::CreateTeam => return None,
    };
    let name = c.name.as_deref().unwrap_or("").replace('|', "\\|");
    Some(format!("| {name} | {} | {what} |\n", c.key))
}

/// A JSON value as plain text: strings without quotes, nothing as "—".
fn text_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => "—".into(),
        Some(other) => other.to_string(),
    }
}

/// The guards as a table, collapsed when every one passes.
fn guards(head: &mut String, plan: &Plan) {
    let mut table = String::from("| Guard | Result | Detail |\n|---|---|---|\n");
    for g in &plan.guards {
        let r = if g.ok { "✅ pass" } else { "❌ fail" };
        let _ = writeln!(
            table,
            "| `{}` | {r} | {} |",
            g.name,
            g.detail.replace('|', "\\|")
        );
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
            let _ = writeln!(head, "- {mark}{w}");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_strings_get_an_inline_diff() {
        let f = FieldChange {
            from: Value::from("Support agent for the northern region, weekdays"),
            to: Value::from("Support agent for the southern region, weekdays"),
        };
        assert_eq!(
            field_line(&f),
            "\"Support agent for the [-n-]{+s+}o[-r-]{+u+}thern region, weekdays\""
        );
    }
}
