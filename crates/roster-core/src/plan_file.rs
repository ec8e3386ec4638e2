//! The saved plan, `roster plan --out`: the one owner of its format version, its
//! checksum and its JSON. Every command that writes or reads a plan file goes through
//! here, so a plan from another version or edited by hand is refused in one place.

use sha2::{Digest, Sha256};

use crate::plan::Plan;

/// The format version this build writes and reads. New fields are optional and left out
/// when empty, so a plan of this version from an earlier release still loads.
pub const FORMAT_VERSION: u32 = 1;

/// Why a plan file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanFileError {
    /// Not JSON of a plan.
    #[error("not a roster plan (JSON, format_version {FORMAT_VERSION}): {0}")]
    NotAPlan(String),
    /// A format this build does not read.
    #[error("plan format_version {0} is not supported; re-run `roster plan --out`")]
    Version(u32),
    /// Its checksum does not match its content.
    #[error(
        "the plan was modified after it was made (checksum mismatch); re-run `roster plan --out`"
    )]
    Modified,
}

/// sha256 of the plan's JSON with an empty checksum field and without the informational
/// `upcoming` list (tomorrow's starts do not change today's plan).
pub fn checksum(plan: &Plan) -> String {
    let mut copy = plan.clone();
    copy.checksum.clear();
    copy.upcoming.clear();
    let bytes = serde_json::to_vec(&copy).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(&bytes)))
}

/// The JSON Schema of the saved plan (this format version), for tools that check plans
/// (`roster schema --plan`, `schema/plan.schema.json`).
pub fn schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Plan)).unwrap_or_default();
    if let serde_json::Value::Object(obj) = &mut schema {
        obj.insert(
            "$id".into(),
            "https://roster.acme.example/schema/plan.schema.json".into(),
        );
        obj.insert("title".into(), "roster plan".into());
        obj.insert(
            "description".into(),
            format!("A saved roster plan (`roster plan --out`), format_version {FORMAT_VERSION}.")
                .into(),
        );
    }
    schema
}

/// [`schema`] as the pretty JSON text written to `schema/plan.schema.json`.
pub fn schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    s.push('\n');
    s
}

/// The plan as saved: pretty JSON with a final newline.
pub fn to_json(plan: &Plan) -> String {
    let mut s = serde_json::to_string_pretty(plan).unwrap_or_default();
    s.push('\n');
    s
}

/// A saved plan, checked: its format version is this build's and its checksum matches.
pub fn from_json(bytes: &[u8]) -> Result<Plan, PlanFileError> {
    let plan: Plan =
        serde_json::from_slice(bytes).map_err(|e| PlanFileError::NotAPlan(e.to_string()))?;
    if plan.format_version != FORMAT_VERSION {
        return Err(PlanFileError::Version(plan.format_version));
    }
    if checksum(&plan) != plan.checksum {
        return Err(PlanFileError::Modified);
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        let mut plan: Plan = serde_json::from_value(serde_json::json!({
            "format_version": 1, "provider": "talkdesk", "account": "acme", "checksum": "",
            "summary": {"create": 0, "update": 0, "reactivate": 0, "deactivate": 0, "offboard": 0,
                "create_team": 0, "seats_before": 1, "seats_after": 1, "monthly_cost_delta": 0.0,
                "currency": null, "welcome_emails": 0},
            "guards": [], "warnings": [], "manual_steps": [], "notes": [],
            "admin_roles": [], "min_admins": 1, "team_aliases": {}, "changes": []
        }))
        .unwrap();
        plan.checksum = checksum(&plan);
        plan
    }

    #[test]
    fn a_saved_plan_reads_back_as_it_was() {
        let p = plan();
        let back = from_json(to_json(&p).as_bytes()).unwrap();
        assert_eq!(to_json(&back), to_json(&p));
    }

    #[test]
    fn an_edited_plan_another_version_or_other_json_is_refused() {
        let mut edited = plan();
        edited.account = "other".into();
        assert_eq!(
            from_json(to_json(&edited).as_bytes()).unwrap_err(),
            PlanFileError::Modified
        );
        let mut newer = plan();
        newer.format_version = 2;
        newer.checksum = checksum(&newer);
        assert_eq!(
            from_json(to_json(&newer).as_bytes()).unwrap_err(),
            PlanFileError::Version(2)
        );
        assert!(matches!(
            from_json(b"{\"changes\": []}"),
            Err(PlanFileError::NotAPlan(_))
        ));
    }

    #[test]
    fn upcoming_starts_are_outside_the_checksum() {
        let mut p = plan();
        p.upcoming
            .push("2026-12-24: zoe@acme.example starts".into());
        assert!(from_json(to_json(&p).as_bytes()).is_ok());
    }

    /// The schema accepts what the planner writes and refuses another format version,
    /// an unknown field name and an unknown action.
    #[test]
    fn the_schema_holds_the_plans_the_planner_writes() {
        let mut plan = serde_json::to_value(plan()).unwrap();
        plan["changes"] = serde_json::json!([{"action": "update", "kind": "user",
            "key": "ana@acme.example", "id": "u1", "phase": "updates", "precondition": null,
            "fields": {"queues": {"from": ["billing"], "to": ["sales"]}}}]);
        plan["floors"] = serde_json::json!([{"of": "queue", "names": ["sales"], "min_agents": 2}]);
        let validator = jsonschema::draft202012::new(&schema()).unwrap();
        assert!(validator.is_valid(&plan), "{:?}", validator.validate(&plan));
        for (pointer, bad) in [
            ("/format_version", serde_json::json!(2)),
            ("/changes/0/action", serde_json::json!("delete")),
        ] {
            let mut broken = plan.clone();
            *broken.pointer_mut(pointer).unwrap() = bad;
            assert!(!validator.is_valid(&broken), "{pointer}");
        }
        let mut broken = plan.clone();
        broken["changes"][0]["fields"]["password"] = serde_json::json!({"from": null, "to": "x"});
        assert!(!validator.is_valid(&broken), "an unknown field name");
    }
}
