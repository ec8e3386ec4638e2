//! Talkdesk Phone settings and add-on licenses, over HTTP against the sandbox.

use std::fs;

use roster_sandbox::State;
use serde_json::Value;

use crate::support::{Server, acme, acme_text, code, stderr, stdout};

#[test]
fn phone_and_addon_changes_converge() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let out = server.roster(&["plan", &acme(), "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    let changes = plan["changes"].as_array().unwrap();
    let touching = |prefix: &str| {
        changes
            .iter()
            .filter(|c| {
                c["fields"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .any(|k| k.starts_with(prefix))
            })
            .count()
    };
    assert!(
        touching("phone.") >= 5,
        "{} users with phone changes",
        touching("phone.")
    );
    assert!(
        touching("addons") >= 3,
        "{} users with add-on changes",
        touching("addons")
    );
    let notes = plan["notes"].as_array().unwrap();
    assert!(notes.iter().any(|n| n == "ops-lead@acme.example: salesforce license brings the permission set `Talkdesk Admin` (role Administrator)"), "{notes:?}");
    let out = server.roster(&["apply", &acme(), "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}\n{}", stdout(&out), stderr(&out));
    let again = server.roster(&["plan", &acme(), "--detailed-exitcode"]);
    assert_eq!(code(&again), 0, "{}", stdout(&again));
    let writes = server
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH" && r.path.starts_with("/phone/users/"))
        .count();
    assert!(writes >= 5, "{writes} phone settings writes");
    server.assert_no_delete();
}

#[test]
fn phone_settings_are_read_only_for_users_that_declare_them() {
    let server = Server::start(None, Some(&State::synthetic(2_000)), &[]);
    let mut roster = String::from(
        "version: 1\nprovider: { kind: talkdesk, account: big, modeled: [phone] }\npolicy: { unmanaged_users: ignore }\nroles:\n  - { name: Administrator, admin: true }\n  - { name: Agent }\nteams: [ { name: Support } ]\nqueues: [support]\nusers:\n",
    );
    for i in 0..2_000 {
        let role = if i < 2 { "Administrator" } else { "Agent" };
        let phone = if i % 100 == 7 {
            ", phone: { call_waiting: false, do_not_disturb: false }"
        } else {
            ""
        };
        roster.push_str(&format!(
            "  - {{ email: agent{i:06}@acme.example, name: Agent {i:06}, role: {role}, teams: [Support], queues: [support], extension: \"{}\", time_zone: Europe/Lisbon, language: en-US{phone} }}\n",
            10_000 + i
        ));
    }
    fs::write(server.path("big.yaml"), roster).unwrap();
    let out = server.roster(&["plan", "big.yaml", "--detailed-exitcode"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let reads: Vec<String> = server
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/phone/users/"))
        .map(|r| r.path)
        .collect();
    assert_eq!(reads.len(), 20, "{reads:?}");
    let expected: Vec<String> = (0..2_000)
        .filter(|i| i % 100 == 7)
        .map(|i| format!("/phone/users/user-{i:06}/settings"))
        .collect();
    let mut got = reads.clone();
    got.sort();
    assert_eq!(got, expected);
    server.assert_no_delete();
}

#[test]
fn exceeded_entitlement_is_refused_with_exit_3() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    fs::write(
        server.path("tight.yaml"),
        acme_text().replace("addons: { salesforce: 10,", "addons: { salesforce: 3,"),
    )
    .unwrap();
    let out = server.roster(&["apply", "tight.yaml", "--auto-approve"]);
    assert_eq!(code(&out), 3, "{}", stdout(&out));
    assert!(stderr(&out).contains("error: guard addon_entitlement refused the plan: salesforce: 6 seat(s) at most during apply, entitlement 3"), "{}", stderr(&out));
    assert!(server.history().is_empty());
    server.assert_no_delete();
}

#[test]
fn numbers_the_account_does_not_own_are_plan_errors_with_lines() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    fs::write(
        server.path("r.yaml"),
        acme_text().replace(
            "numbers: [\"+442071230201\"]",
            "numbers: [\"+442071239999\"]",
        ),
    )
    .unwrap();
    let out = server.roster(&["plan", "r.yaml"]);
    assert_eq!(code(&out), 1);
    let err = stderr(&out);
    assert!(err.contains("error: number +442071239999 is not one of the account's purchased numbers\n   --> r.yaml:132:17\n"), "{err}");
    server.assert_no_delete();
}

#[test]
fn deactivation_releases_addon_seats() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    assert_eq!(
        code(&server.roster(&["apply", &acme(), "--auto-approve"])),
        0
    );
    let text = acme_text().replace(
        "  - email: rosa.garcia@acme.example\n",
        "  - email: rosa.garcia@acme.example\n    status: inactive\n",
    );
    fs::write(server.path("r.yaml"), text).unwrap();
    let out = server.roster(&["apply", "r.yaml", "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let state: Value =
        serde_json::from_slice(&fs::read(server.path("state.json")).unwrap()).unwrap();
    let rosa = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "rosa.garcia@acme.example")
        .unwrap();
    let sf = state["addons"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "salesforce")
        .unwrap();
    assert_eq!(rosa["status"], "inactive");
    assert!(
        !sf["assigned"].as_array().unwrap().contains(&rosa["id"]),
        "the seat was released"
    );
    let again = server.roster(&["plan", "r.yaml", "--detailed-exitcode"]);
    assert_eq!(code(&again), 0, "{}", stdout(&again));
    server.assert_no_delete();
}

/// Phone settings and add-ons follow a modeled contract: the roster opts in, and every
/// such change says so in the plan and the comment's Markdown.
#[test]
fn modeled_changes_are_marked_in_text_and_markdown() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let acme = acme();
    for format in ["text", "markdown"] {
        let out = server.roster(&["plan", &acme, "--format", format]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let said = stdout(&out);
        assert!(said.contains("[modeled: phone]"), "{format}: {said}");
        assert!(said.contains("[modeled: addons]"), "{format}: {said}");
    }
}
