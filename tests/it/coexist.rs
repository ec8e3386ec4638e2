//! Living beside supervisors and other integrations: who owns each membership list,
//! removals held back, and roster's share of the vendor's rate limit, over HTTP against
//! `roster sandbox serve`.

use std::fs;

use serde_json::Value;

use crate::support::{Server, acme, acme_text, code, stderr, stdout};

/// The acme roster with `extra` added under `policy:`.
fn acme_with(server: &Server, name: &str, extra: &str) -> String {
    let text = acme_text().replace("policy:\n", &format!("policy:\n{extra}"));
    fs::write(server.path(name), text).unwrap();
    name.to_string()
}

fn plan(server: &Server, roster: &str, extra: &[&str]) -> Value {
    let args = [&["plan", roster, "--format", "json"], extra].concat();
    let out = server.roster(&args);
    assert!(matches!(code(&out), 0 | 3), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The user the seed's drift moved to another queue: a queues change that removes one.
fn moved(plan: &Value) -> (String, Vec<String>, Vec<String>) {
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "update")
        .find_map(|c| {
            let q = c["fields"].get("queues")?;
            let list = |v: &Value| -> Vec<String> { serde_json::from_value(v.clone()).unwrap() };
            let (from, to) = (list(&q["from"]), list(&q["to"]));
            from.iter()
                .any(|f| !to.contains(f))
                .then(|| (c["key"].as_str().unwrap().to_string(), from, to))
        })
        .expect("the seed moves a user between queues")
}

fn live_queues(server: &Server, email: &str) -> Vec<String> {
    let state: roster_sandbox::State =
        serde_json::from_slice(&fs::read(server.path("state.json")).unwrap()).unwrap();
    let u = state.users.iter().find(|u| u.email == email).unwrap();
    u.queues
        .iter()
        .map(|id| {
            state
                .queues
                .iter()
                .find(|q| &q.id == id)
                .unwrap()
                .name
                .clone()
        })
        .collect()
}

#[test]
fn a_supervisors_queue_move_survives_additive_and_is_undone_by_authoritative() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let additive = acme_with(
        &server,
        "additive.yaml",
        "  membership: { queues: additive }\n",
    );
    let authoritative = acme();
    let (email, live, declared) = moved(&plan(&server, &authoritative, &[]));

    let p = plan(&server, &additive, &[]);
    assert_eq!(
        p["memberships"]["queues"], "additive",
        "{}",
        p["memberships"]
    );
    let text = stdout(&server.roster(&["plan", &additive]));
    assert!(
        text.contains("Membership: teams authoritative, queues additive."),
        "{text}"
    );
    let out = server.roster(&["apply", &additive, "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let after = live_queues(&server, &email);
    for q in live.iter().chain(&declared) {
        assert!(
            after.contains(q),
            "{email}: {q} missing from {after:?} under additive"
        );
    }

    let p = plan(&server, &authoritative, &[]);
    assert_eq!(p["memberships"]["queues"], "authoritative");
    let out = server.roster(&["apply", &authoritative, "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let mut after = live_queues(&server, &email);
    after.sort();
    let mut want = declared.clone();
    want.sort();
    assert_eq!(
        after, want,
        "authoritative: the roster's list is the whole list"
    );
    server.assert_no_delete();
}

#[test]
fn held_removals_are_planned_and_shown_but_not_applied_until_the_hold_is_lifted() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let acme = acme();
    let (email, live, _) = moved(&plan(&server, &acme, &[]));
    let held = plan(&server, &acme, &["--hold-removals"]);
    let changes = held["changes"].as_array().unwrap();
    let held_changes: Vec<&Value> = changes.iter().filter(|c| c["held"] == true).collect();
    let deactivations = held_changes
        .iter()
        .filter(|c| c["action"] == "deactivate")
        .count();
    assert!(deactivations >= 2, "{held_changes:?}");
    assert!(
        held_changes
            .iter()
            .any(|c| c["key"] == email.as_str() && c["fields"].get("queues").is_some()),
        "the queue removal of {email} is held: {held_changes:?}"
    );
    assert_eq!(
        held["summary"]["deactivate"], 0,
        "held removals are not counted as changes"
    );
    assert_eq!(
        held["summary"]["held"].as_u64().unwrap() as usize,
        held_changes.len()
    );
    let text = stdout(&server.roster(&["plan", &acme, "--hold-removals"]));
    assert!(text.contains("[held: not applied]"), "{text}");

    let out = server.roster(&["apply", &acme, "--auto-approve", "--hold-removals"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(
        stdout(&out).contains(&format!(
            "{} removal(s) held back and not applied",
            held_changes.len()
        )),
        "{}",
        stdout(&out)
    );
    let gone: Vec<String> = held_changes
        .iter()
        .filter(|c| c["action"] == "deactivate")
        .map(|c| c["key"].as_str().unwrap().to_string())
        .collect();
    let state: roster_sandbox::State =
        serde_json::from_slice(&fs::read(server.path("state.json")).unwrap()).unwrap();
    for g in &gone {
        assert_eq!(
            state.users.iter().find(|u| &u.email == g).unwrap().status,
            "active",
            "{g} was held"
        );
    }
    let kept = live_queues(&server, &email);
    assert!(
        live.iter().all(|q| kept.contains(q)),
        "{email} kept {live:?}: {kept:?}"
    );
    // The plan now holds only the removals: nothing to apply, exit 0 with --detailed-exitcode.
    let out = server.roster(&["plan", &acme, "--hold-removals", "--detailed-exitcode"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));

    let out = server.roster(&["apply", &acme, "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let state: roster_sandbox::State =
        serde_json::from_slice(&fs::read(server.path("state.json")).unwrap()).unwrap();
    for g in &gone {
        assert_eq!(
            state.users.iter().find(|u| &u.email == g).unwrap().status,
            "inactive",
            "{g} once the hold is lifted"
        );
    }
    server.assert_no_delete();
}

#[test]
fn an_api_budget_is_a_pace_not_a_burst() {
    let state = roster_sandbox::State::synthetic(102);
    let server = Server::start(None, Some(&state), &["--rate-limit", "0"]);
    let text = roster_sandbox::synthetic::roster(102, 100).replace(
        "policy: { unmanaged_users: ignore }",
        "policy: { unmanaged_users: ignore, api_budget: \"120/min\" }",
    );
    fs::write(server.path("r.yaml"), text).unwrap();
    let p = plan(&server, "r.yaml", &[]);
    assert_eq!(p["summary"]["update"], 100);
    let estimate = &p["summary"]["estimate"];
    assert_eq!(
        (
            estimate["requests"].as_u64(),
            estimate["per_minute"].as_f64()
        ),
        (Some(100), Some(120.0)),
        "{estimate}"
    );
    // The budget paces one run; the apply's own requests are what is measured.
    let before = server.requests().len();
    let out = server.roster_env(
        &["apply", "r.yaml", "--auto-approve"],
        &[("TALKDESK_SCIM_RPS", "1000")],
    );
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let times: Vec<u64> = server.requests()[before..]
        .iter()
        .filter(|r| r.path != "/oauth/token")
        .map(|r| r.at_ms)
        .collect();
    assert!(times.len() >= 100);
    for (i, t) in times.iter().enumerate() {
        let within = |ms: u64| times[i..].iter().take_while(|u| **u < t + ms).count();
        assert!(
            within(60_000) <= 120,
            "more than 120 requests in the minute from {t} ms"
        );
        assert!(
            within(1_000) <= 3,
            "more than 3 requests in the second from {t} ms"
        );
    }
    server.assert_no_delete();
}

#[test]
fn the_clock_is_set_by_now_for_seasonal_staff() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let text = acme_text()
        .replace(
            "    name: Ben Carter\n",
            "    name: Ben Carter\n    active_until: \"2026-12-20\"\n",
        )
        .replace(
            "    name: Ana Costa\n",
            "    name: Ana Costa\n    active_until: \"2026-12-28\"\n",
        );
    fs::write(server.path("seasonal.yaml"), text).unwrap();
    for (args, env) in [
        (
            vec![
                "plan",
                "seasonal.yaml",
                "--format",
                "json",
                "--now",
                "2026-12-24",
            ],
            vec![],
        ),
        (
            vec!["plan", "seasonal.yaml", "--format", "json"],
            vec![("ROSTER_NOW", "2026-12-24")],
        ),
    ] {
        let out = server.roster_env(&args, &env);
        assert!(matches!(code(&out), 0 | 3), "{}", stderr(&out));
        let p: Value = serde_json::from_slice(&out.stdout).unwrap();
        let keys: Vec<&str> = p["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["key"].as_str().unwrap())
            .collect();
        assert!(
            !keys.contains(&"ben.carter@acme.example"),
            "not created after its season: {keys:?}"
        );
        let upcoming = p["upcoming"].to_string();
        assert!(
            upcoming.contains("2026-12-28: ana.costa@acme.example"),
            "{upcoming}"
        );
    }
}
