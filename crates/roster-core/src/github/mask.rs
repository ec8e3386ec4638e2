//! Masking for public repositories: names, emails and phone numbers in what the
//! workflow publishes.

use std::collections::BTreeSet;
use std::fmt::Write;

use crate::plan::Plan;

/// Emails as `j***@acme.example`, for comments in public repositories.
pub fn mask_emails(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let is_local = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
    for (at, _) in text.match_indices('@') {
        let mut start = at;
        while start > last && is_local(bytes[start - 1]) {
            start -= 1;
        }
        let domain_ok = bytes.get(at + 1).is_some_and(|b| b.is_ascii_alphanumeric());
        if start == at || !domain_ok {
            continue;
        }
        out.push_str(&text[last..start]);
        out.push_str(&text[start..start + 1]);
        out.push_str("***");
        last = at;
    }
    out.push_str(&text[last..]);
    out
}

/// Phone numbers as `+351*******01`: a `+` and 8 to 15 digits keep their first three
/// and last two digits.
fn mask_numbers(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('+') {
        out.push_str(&rest[..i]);
        let digits = rest[i + 1..].bytes().take_while(u8::is_ascii_digit).count();
        let number = &rest[i + 1..i + 1 + digits];
        if (8..=15).contains(&digits) {
            let hidden = "*".repeat(digits - 5);
            let _ = write!(out, "+{}{hidden}{}", &number[..3], &number[digits - 2..]);
        } else {
            let _ = write!(out, "+{number}");
        }
        rest = &rest[i + 1 + digits..];
    }
    out.push_str(rest);
    out
}

/// Every person's name the plan shows, longest first so a full name is masked before a
/// part of it.
fn names(plan: &Plan) -> Vec<String> {
    let mut names: BTreeSet<String> = BTreeSet::new();
    for c in &plan.changes {
        names.extend(c.name.clone());
        if let Some(f) = c.fields.get("name") {
            for v in [&f.from, &f.to] {
                names.extend(v.as_str().map(str::to_string));
            }
        }
    }
    let mut names: Vec<String> = names
        .into_iter()
        .filter(|n| n.chars().count() > 1)
        .collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    names
}

/// Names, emails and phone numbers masked, for public repositories: a name becomes the
/// first letter of each word (`A*** C***`).
pub fn mask_pii(text: &str, plan: &Plan) -> String {
    let mut text = mask_numbers(&mask_emails(text));
    for name in names(plan) {
        let masked: Vec<String> = name
            .split_whitespace()
            .map(|w| format!("{}***", w.chars().next().unwrap_or('*')))
            .collect();
        text = text.replace(&name, &masked.join(" "));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_masked() {
        assert_eq!(
            mask_emails("+ user jane.doe@acme.example and b@x.example; not @handle or a@"),
            "+ user j***@acme.example and b***@x.example; not @handle or a@"
        );
    }

    #[test]
    fn numbers_are_masked_and_short_digit_runs_kept() {
        assert_eq!(
            mask_numbers("call +351211230001 or +12, extension 2001"),
            "call +351*******01 or +12, extension 2001"
        );
    }
}
