//! Plans as terminal text: Terraform's idiom, colour when the terminal wants it. Every
//! value goes through [`escape::terminal`].

use std::fmt::Write;

use super::{
    escape, estimate_line, field_line, heading, membership_line, money, plan_line, symbol,
};
use crate::plan::{Plan, Summary};

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

/// "Seats 5 → 6 (+1), monthly cost +115.00 USD, welcome emails 1.", unescaped: the
/// currency is the roster's.
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
        let _ = writeln!(out, "{} {}", p.paint("33", "warning:"), escape::terminal(w));
    }
    let _ = writeln!(out, "{}", plan_line(&plan.summary));
    open_steps(&mut out, &plan.manual_steps);
    out
}

/// How many open manual steps a plan without changes lists.
const STEPS_LISTED: usize = 10;

/// Manual steps still open when roster has nothing to change: they are not roster's
/// changes, so the exit code stays, but "no changes" must not read as "all done".
fn open_steps(out: &mut String, steps: &[String]) {
    if steps.is_empty() {
        return;
    }
    let n = steps.len();
    let _ = writeln!(
        out,
        "{n} manual step{} still open (roster cannot make {}):",
        if n == 1 { " is" } else { "s are" },
        if n == 1 { "it" } else { "them" }
    );
    for step in steps.iter().take(STEPS_LISTED) {
        let _ = writeln!(out, "  * {}", escape::terminal(step));
    }
    if n > STEPS_LISTED {
        let _ = writeln!(
            out,
            "  … and {} more: `roster plan -v` lists them all",
            n - STEPS_LISTED
        );
    }
}

/// The plan as terminal text.
pub fn text(plan: &Plan, color: bool) -> String {
    let p = Paint(color);
    let mut out = String::new();
    if !plan.changes.is_empty() {
        let _ = writeln!(
            out,
            "roster will make these changes to {} account {}:\n",
            escape::terminal(&plan.provider),
            escape::terminal(&plan.account)
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
        let width = c.fields.keys().map(|f| f.as_str().len()).max().unwrap_or(0);
        for (name, f) in &c.fields {
            let name = name.as_str();
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
        let (name, detail) = (escape::terminal(&g.name), escape::terminal(&g.detail));
        let _ = writeln!(out, "  {mark} {name}: {detail}");
    }
    if !plan.warnings.is_empty() {
        let _ = writeln!(out, "\nWarnings:");
        for w in &plan.warnings {
            let _ = writeln!(out, "  {} {}", p.paint("33", "!"), escape::terminal(w));
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
                let _ = writeln!(out, "  * {}", escape::terminal(m));
            }
        }
    }
    let _ = writeln!(out, "\n{}", escape::terminal(&seats_line(&plan.summary)));
    for line in [estimate_line(&plan.summary), membership_line(plan)]
        .into_iter()
        .flatten()
    {
        let _ = writeln!(out, "{}", escape::terminal(&line));
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
