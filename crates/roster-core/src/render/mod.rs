//! Plans as text (Terraform idiom, colour aware), Markdown (pull-request comment) and JSON.

use std::fmt::Write;

use serde_json::Value;

use crate::plan::{Action, Change, FieldChange, Plan, Summary};

mod markdown;
mod text;

pub use markdown::{MARKDOWN_LIMIT, markdown, markdown_limited, markdown_titled};
pub use text::{color_wanted, text, text_brief};

/// The plan as pretty JSON (`format_version: 1`).
pub fn json(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(plan).unwrap_or_default();
    s.push('\n');
    s
}

/// The sign of an action and its colour.
fn symbol(a: Action) -> (&'static str, &'static str) {
    match a {
        Action::Create | Action::CreateTeam => ("+", "32"),
        Action::Update | Action::Reactivate => ("~", "33"),
        Action::Deactivate | Action::Offboard => ("-", "31"),
    }
}

/// "user ana@acme.example (deactivate)", with a held removal marked.
fn heading(c: &Change) -> String {
    let what = match c.kind {
        crate::plan::Kind::User => "user",
        crate::plan::Kind::Team => "team",
    };
    let held = if c.held { " [held: not applied]" } else { "" };
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
