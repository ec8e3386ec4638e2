//! Salesforce add-on licenses: the permission set each brings, and what a role change
//! leaves behind.

use crate::model::Names;

use serde_json::Value;

use super::diff::Planned;
use super::types::Kind;

/// The Salesforce permission set a role gets when a license is added (seed 003): a
/// role containing "Admin" gets Talkdesk Admin, "Supervisor" gets Talkdesk Supervisor
/// (Admin for Voice, which has no supervisor set), any other Talkdesk Agent.
fn permission_set(role: &str, addon: &str) -> &'static str {
    let voice = addon == "salesforce_voice";
    if role.contains("Admin") || (voice && role.contains("Supervisor")) {
        "Talkdesk Admin"
    } else if role.contains("Supervisor") {
        "Talkdesk Supervisor"
    } else {
        "Talkdesk Agent"
    }
}

/// Notes on the permission sets new Salesforce licenses bring, and manual steps where a
/// role change leaves an existing license's permission set behind (sets are assigned
/// only when a license is added).
pub(super) fn permission_set_notes(
    planned: &[Planned],
    manual_steps: &mut Vec<String>,
) -> Vec<String> {
    let mut notes = Vec::new();
    let strs = |v: Option<&Value>| -> Names {
        v.and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default()
    };
    for p in planned
        .iter()
        .filter(|p| p.change.kind == Kind::User && p.after.active)
    {
        let c = &p.change;
        let role = c
            .fields
            .get("role")
            .and_then(|f| f.to.as_str())
            .map(String::from)
            .or_else(|| p.role.clone());
        let Some(role) = role else { continue };
        let (before, after) = match c.fields.get("addons") {
            Some(f) => (strs(Some(&f.from)), strs(Some(&f.to))),
            None => (
                p.before
                    .as_ref()
                    .map(|b| b.addons.clone())
                    .unwrap_or_default(),
                p.after.addons.clone(),
            ),
        };
        for addon in after.iter().filter(|a| a.starts_with("salesforce")) {
            let set = permission_set(&role, addon);
            if !before.contains(addon) {
                notes.push(format!(
                    "{}: {addon} license brings the permission set `{set}` (role {role})",
                    c.key
                ));
            } else if c.fields.contains_key("role") {
                manual_steps.push(format!(
                    "{}: role changes to {role}, but permission sets follow only new licenses: set `{set}` for {addon} in Subscriptions → Change Permission Set",
                    c.key
                ));
            }
        }
    }
    notes
}
