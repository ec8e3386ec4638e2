//! The review loop as data: the sticky pull-request comment and the drift issue as
//! text, the signed approval they carry, its seal, and masking. The GitHub crate sends
//! them; nothing here talks to GitHub or reads the environment.

use crate::plan::Plan;
use crate::render;

mod approval;
mod key;
mod mask;
pub use approval::{Approval, Binding, Refusal, change_lines, check_seal, seal, user_hashes};
pub use key::{APPROVAL_KEY_VAR, ApprovalKey, KeyError};
pub use mask::{Masker, mask_key, masked_plan, set_mask_key};

/// GitHub's limit on a comment body.
pub const COMMENT_LIMIT: usize = 65_536;

/// What the comment says about the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Planned on a pull request, awaiting review.
    Planned,
    /// Applied after the merge.
    Applied,
    /// Refused after the merge: the plan has changes the pull request did not approve.
    NotApplied,
    /// Apply ran after the merge and some changes failed.
    Failed,
}

impl Status {
    /// The heading's status; `run` links the workflow run, `forced` says force-apply
    /// let unapproved changes through.
    pub fn title(self, run: Option<&str>, forced: bool) -> Option<String> {
        let run = run.unwrap_or("this run");
        let forced = if forced { " (forced)" } else { "" };
        match self {
            Status::Planned => None,
            Status::Applied => Some(format!("✅ **applied{forced}** in {run}")),
            Status::NotApplied => Some("⛔ **not applied**".into()),
            Status::Failed => Some(format!("❌ **apply failed{forced}** in {run}")),
        }
    }
}

/// When to comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Always.
    True,
    /// Only when the plan has changes (an existing comment is still updated).
    ChangesOnly,
    /// Never: outputs and summary only.
    False,
}

/// The hidden first line that finds the comment of one roster path again.
pub fn marker(path: &str) -> String {
    format!("<!-- roster:plan path={path} -->")
}

/// The hidden first line of the drift issue of one roster path.
pub fn drift_marker(path: &str) -> String {
    format!("<!-- roster:drift path={path} -->")
}

/// What a comment says besides the plan.
#[derive(Debug, Clone, Default)]
pub struct CommentParts {
    /// The heading's status, in place of the plan's verdict.
    pub status: Option<String>,
    /// A paragraph under the heading.
    pub note: String,
    /// The approval block to carry: written by a plan on the pull request, copied
    /// unchanged by every later comment.
    pub approval: Option<Approval>,
    /// Mask names, emails and numbers.
    pub mask: bool,
}

/// The comment body: marker, the plan under its status and note, and the hidden
/// approval block (signed; hashes only). Returns whether the plan was cut to fit.
pub fn comment_body(plan: &Plan, path: &str, parts: &CommentParts) -> (String, bool) {
    let head = format!("{}\n", marker(path));
    let tail = parts
        .approval
        .as_ref()
        .map(Approval::block)
        .unwrap_or_default();
    let masker = parts.mask.then(|| Masker::new(plan, mask_key()));
    let shown = masker.as_ref().map(|m| m.plan(plan));
    let shown = shown.as_ref().unwrap_or(plan);
    let note = masker.map_or_else(|| parts.note.clone(), |m| m.text(&parts.note));
    let room = COMMENT_LIMIT.saturating_sub(head.len() + tail.len() + note.len() + 200);
    let status = parts.status.as_deref();
    let full = render::markdown_titled(shown, usize::MAX, status, &note);
    let (mut body, cut) = if full.len() <= room {
        (full, false)
    } else {
        (render::markdown_titled(shown, room, status, &note), true)
    };
    if cut {
        body.push_str("\n_The full plan is in the run's step summary._\n");
    }
    // The tail holds hashes only; it may go when the comment would not fit, and then
    // nothing is approved, which refuses the apply rather than passing it.
    let tail = if head.len() + body.len() + tail.len() < COMMENT_LIMIT {
        tail
    } else {
        String::new()
    };
    (format!("{head}{body}{tail}"), cut)
}

/// A sticky comment that holds a note instead of a plan, and approves nothing.
pub fn note_body(path: &str, text: &str) -> String {
    format!("{}\n### roster: no plan\n\n{text}\n", marker(path))
}

/// The drift issue's body: its marker and the plan (masked when asked).
pub fn drift_body(plan: &Plan, path: &str, run: Option<&str>, mask: bool) -> String {
    let note = format!(
        "The scheduled plan in {} found the account different from the roster. Review the changes below: merge a pull request that accepts them into the roster, or apply the roster to undo them. This issue is updated while the drift lasts and closed when a check finds none.",
        run.unwrap_or("a workflow run")
    );
    let masked = mask.then(|| masked_plan(plan));
    let shown = masked.as_ref().unwrap_or(plan);
    let text = render::markdown_titled(shown, COMMENT_LIMIT - 2_000, Some("🔀 drift"), &note);
    format!("{}\n{text}", drift_marker(path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use proptest::prelude::*;

    /// A plan that creates one user and deactivates another, with these values.
    fn plan_of(email: &str, name: &str, other: &str) -> Plan {
        serde_json::from_value(serde_json::json!({
            "format_version": 1, "provider": "talkdesk", "account": "acme", "checksum": "sha256:abc",
            "summary": {"create": 1, "update": 0, "reactivate": 0, "deactivate": 1, "offboard": 0,
                "create_team": 0, "seats_before": 1, "seats_after": 1, "monthly_cost_delta": 0.0,
                "currency": null, "welcome_emails": 1},
            "guards": [], "warnings": [format!("about {name}")], "manual_steps": [], "notes": [],
            "admin_roles": [], "min_admins": 1, "team_aliases": {},
            "changes": [
                {"action": "create", "kind": "user", "key": email, "name": name, "id": null,
                 "phase": "create_users", "precondition": null,
                 "fields": {"name": {"from": null, "to": name}, "email": {"from": null, "to": email}}},
                {"action": "deactivate", "kind": "user", "key": other, "name": other, "id": "u1",
                 "phase": "deactivations", "precondition": null,
                 "fields": {"status": {"from": "active", "to": "inactive"}}}]
        }))
        .unwrap()
    }

    /// Values a hostile roster or account could hold: any Unicode, and roster's own
    /// markers, HTML and Markdown spliced in.
    fn hostile() -> impl Strategy<Value = String> {
        let pieces = prop_oneof![
            any::<String>(),
            Just("<!-- roster:approved v2\nrepo=acme/roster\n-->".to_string()),
            Just("<!-- roster:sealed 00 -->".to_string()),
            Just("<!-- roster:plan path=roster -->".to_string()),
            Just("</details><img src=x>@acme/admins [x](https://evil.example) `".to_string()),
            Just("\u{1b}[2J\n\r\0|".to_string()),
        ];
        prop::collection::vec(pieces, 0..4).prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// Whatever the names and emails, a signed and sealed comment holds exactly
        /// roster's three markers, its approval reads back and its seal holds; a drift
        /// issue holds exactly its one.
        #[test]
        fn a_comment_holds_exactly_rosters_markers(email in hostile(), name in hostile(), other in hostile()) {
            let key = ApprovalKey::new(&Secret::new("0123456789abcdef0123456789abcdef")).unwrap();
            let plan = plan_of(&email, &name, &other);
            let binding = Binding {
                repo: "acme/roster".into(), pr: 7, head: "abc".into(),
                provider: "talkdesk".into(), account: "acme".into(), path: "roster".into(),
            };
            let approval = Approval::sign(&plan, binding.clone(), &key);
            for mask in [false, true] {
                let parts = CommentParts { approval: Some(approval.clone()), mask, ..CommentParts::default() };
                let body = seal(&comment_body(&plan, "roster", &parts).0, &key);
                prop_assert_eq!(body.matches("<!--").count(), 3, "{}", body);
                prop_assert_eq!(body.matches("-->").count(), 3, "{}", body);
                prop_assert!(body.starts_with("<!-- roster:plan path=roster -->\n"));
                let read = Approval::read(&body);
                prop_assert_eq!(read.as_ref(), Ok(&approval));
                prop_assert!(read.unwrap().check(&binding, &key).is_ok());
                prop_assert!(check_seal(&body, &key).is_ok());
                let drift = drift_body(&plan, "roster", None, mask);
                prop_assert_eq!(drift.matches("<!--").count(), 1, "{}", drift);
                prop_assert_eq!(drift.matches("-->").count(), 1, "{}", drift);
            }
        }
    }
}
