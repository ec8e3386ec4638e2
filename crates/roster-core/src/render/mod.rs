//! Plans as text (Terraform idiom, colour aware), Markdown (pull-request comment) and JSON.
//! Every value from a roster or an account goes through [`escape`] for where it is shown.

use std::fmt::Write;

use serde_json::Value;

use crate::plan::{Action, Change, FieldChange, Plan, Summary};

pub mod escape;
mod markdown;
mod people;
mod text;

pub use markdown::{MARKDOWN_LIMIT, markdown, markdown_limited, markdown_titled};
pub use text::{text, text_brief};

/// The sign of an action and its colour.
fn symbol(a: Action) -> (&'static str, &'static str) {
    match a {
        Action::Create | Action::CreateTeam => ("+", "32"),
        Action::Update | Action::Reactivate => ("~", "33"),
        Action::Deactivate | Action::Offboard => ("-", "31"),
    }
}

/// "user ana@acme.example (deactivate)", with a held removal marked; the key as for a
/// terminal.
fn heading(c: &Change) -> String {
    let what = match c.kind {
        crate::plan::Kind::User => "user",
        crate::plan::Kind::Team => "team",
    };
    let mut held = if c.held { " [held: not applied]" } else { "" }.to_string();
    // Scope names come from the provider, surfaces from roster's own field names.
    if let Some(scope) = &c.needs {
        held.push_str(&format!(" [needs `{}` at apply]", escape::terminal(scope)));
    }
    let phone = c.fields.keys().any(|k| k.phone_setting().is_some());
    let addons = c.fields.contains_key(&crate::plan::Field::Addons);
    let modeled: Vec<&str> = [("phone", phone), ("addons", addons)]
        .into_iter()
        .filter_map(|(surface, touched)| touched.then_some(surface))
        .collect();
    if !modeled.is_empty() {
        held.push_str(&format!(" [modeled: {}]", modeled.join(", ")));
    }
    let key = escape::terminal(&c.key);
    match c.action {
        Action::Create | Action::CreateTeam | Action::Update => format!("{what} {key}{held}"),
        other => format!("{what} {key} ({}){held}", other.as_str()),
    }
}

/// "Apply: about 110 requests, about 1 minute at 120 requests/min (policy.api_budget).",
/// unescaped.
pub fn estimate_line(s: &Summary) -> Option<String> {
    let e = s.estimate.as_ref()?;
    let time = match e.seconds {
        0..=1 => "1 second".to_string(),
        2..=89 => format!("{} seconds", e.seconds),
        90..=5399 => format!("{} minutes", (e.seconds + 30) / 60),
        _ => format!("{:.1} hours", e.seconds as f64 / 3600.0),
    };
    Some(format!(
        "Apply: about {} requests, about {time} at {} requests/min ({}).",
        e.requests, e.per_minute, e.pace
    ))
}

/// "Membership: teams authoritative, queues additive (queue sales: authoritative)",
/// unescaped: queue and team names are the roster's.
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

/// A value as the plan shows it: compact JSON with every string as for a terminal
/// (an escape character as ␛, as in a long string's diff), and nothing as "(none)".
fn show(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Null => out.push_str("(none)"),
        other => write_value(&mut out, other),
    }
    out
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::String(s) => quoted(out, s),
        Value::Array(items) => {
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                out.push_str(if k == 0 { "" } else { "," });
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (k, (key, item)) in map.iter().enumerate() {
                out.push_str(if k == 0 { "" } else { "," });
                quoted(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

/// `s` in double quotes: its quotes and backslashes escaped as JSON does, so a value
/// cannot close them, and the rest as for a terminal.
fn quoted(out: &mut String, s: &str) {
    out.push('"');
    unquoted(out, s);
    out.push('"');
}

/// The inside of [`quoted`].
fn unquoted(out: &mut String, s: &str) {
    for c in escape::terminal(s).chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
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
        let mut out = String::from('"');
        for op in diff.iter_all_changes() {
            let (open, close) = match op.tag() {
                similar::ChangeTag::Equal => ("", ""),
                similar::ChangeTag::Delete => ("[-", "-]"),
                similar::ChangeTag::Insert => ("{+", "+}"),
            };
            out.push_str(open);
            unquoted(&mut out, op.value());
            out.push_str(close);
        }
        out.push('"');
        return out;
    }
    format!("{} → {}", show(&f.from), show(&f.to))
}

/// "Plan: 3 to create, 2 to update, 1 to reactivate, 1 to deactivate."
pub fn plan_line(s: &Summary) -> String {
    if s.total() == 0 && s.held == 0 {
        return "No changes for roster to make.".into();
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
mod tests;
