//! Add-on licenses that bring permission sets (the vendor's rules are in its
//! [`PermissionSets`]): the set each new license brings, and what a role change leaves
//! behind.

use crate::model::Names;

use serde_json::Value;

use super::Field;
use super::capabilities::PermissionSets;
use super::planned::Planned;
use super::types::Kind;

/// Notes on the permission sets new Salesforce licenses bring, and manual steps where a
/// role change leaves an existing license's permission set behind (sets are assigned
/// only when a license is added).
pub(super) fn permission_set_notes(
    sets: &PermissionSets,
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
            .get(&Field::Role)
            .and_then(|f| f.to.as_str())
            .map(String::from)
            .or_else(|| p.role.clone());
        let Some(role) = role else { continue };
        let (before, after) = match c.fields.get(&Field::Addons) {
            Some(f) => (strs(Some(&f.from)), strs(Some(&f.to))),
            None => (
                p.before
                    .as_ref()
                    .map(|b| b.addons.clone())
                    .unwrap_or_default(),
                p.after.addons.clone(),
            ),
        };
        for (addon, set) in after.iter().filter_map(|a| Some((a, sets.of(&role, a)?))) {
            if !before.contains(addon) {
                notes.push(format!(
                    "{}: {addon} license brings the permission set `{set}` (role {role})",
                    c.key
                ));
            } else if c.fields.contains_key(&Field::Role) {
                manual_steps.push(format!(
                    "{}: role changes to {role}, but permission sets follow only new licenses: set `{set}` for {addon} in {}",
                    c.key, sets.console
                ));
            }
        }
    }
    notes
}
