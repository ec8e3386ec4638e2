//! `roster import` against a varied sandbox account: the roster it writes validates,
//! plans empty, is the same bytes every time, and each file validates on its own against
//! the schema (written alongside) that its `$schema` line names.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use roster_core::model::{CallForward, Named, PhoneSettings};
use roster_sandbox::{SandboxAddon, SandboxUser, State};

use crate::support::{Server, assert_valid_against_its_schema, code, roster, stderr, stdout};

/// 250 users over four teams and two queues: admins, supervisors, agents, 30
/// inactive, 40 with phone settings, 20 with add-ons, some in no team, two service
/// accounts, and awkward names.
pub fn varied() -> State {
    let mut s = State {
        roles: State::default_roles(),
        ..State::default()
    };
    s.teams = ["Billing", "Sales", "Support Tier 1", "Night Shift"]
        .iter()
        .enumerate()
        .map(|(i, n)| Named {
            id: format!("team-{i}"),
            name: n.to_string(),
        })
        .collect();
    s.queues = ["billing", "support"]
        .iter()
        .enumerate()
        .map(|(i, n)| Named {
            id: format!("rg-{i}"),
            name: n.to_string(),
        })
        .collect();
    let names = [
        "Zoë Ångström",
        "O'Brien: the boss",
        "no",
        "Jean-Luc Picard",
        "123 Numbers",
    ];
    for i in 0..250 {
        let role = match i % 50 {
            0 => 0,
            1..=5 => 1,
            _ => 2,
        };
        let email = if i >= 248 {
            format!("svc-bot{i}@acme.example")
        } else {
            format!("person{i:03}@acme.example")
        };
        s.users.push(SandboxUser {
            id: format!("u{i:03}"),
            name: names
                .get(i % 40)
                .map(|n| n.to_string())
                .unwrap_or_else(|| format!("Person {i}")),
            email,
            role: s.roles[role].id.clone(),
            status: if i % 9 == 4 && role != 0 {
                "inactive".into()
            } else {
                "active".into()
            },
            pending: false,
            extension: (i % 3 != 0).then(|| format!("{}", 20_000 + i)),
            queues: (0..2)
                .filter(|g| (i + g) % 3 == 0)
                .map(|g| format!("rg-{g}"))
                .collect(),
            teams: if i % 11 == 0 {
                vec![]
            } else {
                vec![format!("team-{}", i % 4)]
            },
            time_zone: (i % 2 == 0).then(|| "Europe/Lisbon".to_string()),
            language: (i % 5 != 0).then(|| "en-US".to_string()),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: format!("2026-01-01T00:00:00Z#{i}"),
            external_id: None,
        });
        if i % 6 == 1 && s.users[i].status == "active" {
            let number = format!("+35121100{i:04}");
            s.phone_numbers.push(number.clone());
            s.phone.insert(
                format!("u{i:03}"),
                PhoneSettings {
                    extension: None,
                    caller_id: Some(number.clone()),
                    numbers: Some(vec![number]),
                    sip_phones: Some(vec![]),
                    call_waiting: Some(i % 4 == 1),
                    call_forward: Some(CallForward {
                        enabled: i % 12 == 1,
                        number: (i % 12 == 1).then(|| "+12125550100".to_string()),
                    }),
                    default_country_code: Some("PT".into()),
                    do_not_disturb: Some(false),
                },
            );
        }
    }
    let holders: Vec<String> = s
        .users
        .iter()
        .filter(|u| u.status == "active")
        .step_by(11)
        .take(20)
        .map(|u| u.id.clone())
        .collect();
    s.addons = vec![
        SandboxAddon {
            name: "salesforce".into(),
            entitlement: 25,
            assigned: holders.clone(),
        },
        SandboxAddon {
            name: "salesforce_voice".into(),
            entitlement: 5,
            assigned: holders[..3].to_vec(),
        },
    ];
    s
}

/// Every file under `dir`, by its path relative to `dir` (`schema/…` for the schemas).
fn read_dir(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if e.file_type().unwrap().is_dir() {
            out.extend(
                read_dir(&e.path())
                    .into_iter()
                    .map(|(n, t)| (format!("{name}/{n}"), t)),
            );
        } else {
            out.insert(name, fs::read_to_string(e.path()).unwrap());
        }
    }
    out
}

/// The schemas import writes are the current ones, and each YAML file it writes
/// validates against the one its `$schema` line names: the part schema for a split
/// roster's files without `version` and `provider`.
fn assert_schemas(dir: &Path, files: &BTreeMap<String, String>) {
    assert_eq!(
        files["schema/roster.schema.json"],
        roster_core::config::schema_text()
    );
    assert_eq!(
        files["schema/roster-part.schema.json"],
        roster_core::config::part_schema_text()
    );
    for (name, text) in files.iter().filter(|(n, _)| n.ends_with(".yaml")) {
        let schema = assert_valid_against_its_schema(&dir.join(name));
        let expected = if name == "roster.yaml" || name == "00-account.yaml" {
            "schema/roster.schema.json"
        } else {
            "schema/roster-part.schema.json"
        };
        assert_eq!(schema, dir.join(expected), "{name}");
        assert!(
            text.lines()
                .nth(1)
                .is_some_and(|l| l == "# Imported from talkdesk account acme by `roster import`."),
            "{name}"
        );
    }
}

#[test]
fn import_plans_empty_and_is_deterministic() {
    let server = Server::start(None, Some(&varied()), &[]);
    for (out_dir, extra) in [
        ("one", vec![]),
        ("all", vec!["--include-inactive"]),
        ("split", vec!["--split-by", "team"]),
    ] {
        let mut args = vec!["import", "--account", "acme", "--out", out_dir];
        args.extend(extra.iter().copied());
        let out = server.roster(&args);
        assert_eq!(code(&out), 0, "{out_dir}: {}", stderr(&out));
        let first = read_dir(&server.path(out_dir));
        args.push("--force");
        assert_eq!(code(&server.roster(&args)), 0);
        assert_eq!(
            first,
            read_dir(&server.path(out_dir)),
            "{out_dir}: two imports give the same bytes"
        );
        assert!(
            first
                .values()
                .all(|t| !t.contains("sandbox-secret") && !t.contains("sbx-"))
        );
        assert_schemas(&server.path(out_dir), &first);
        let plan = server.roster(&["plan", out_dir, "--detailed-exitcode"]);
        assert_eq!(
            code(&plan),
            0,
            "{out_dir}: {}{}",
            stdout(&plan),
            stderr(&plan)
        );
        assert!(stdout(&plan).contains("No changes for roster to make."));
    }
    let one = fs::read_to_string(server.path("one/roster.yaml")).unwrap();
    assert!(
        one.contains("phone:")
            && one.contains("addons: [salesforce")
            && one.contains("name: \"O'Brien: the boss\"")
    );
    assert!(!one.contains("status: inactive"));
    // The domains read become the policy, so a typo in one is caught by validate.
    assert!(one.contains("  email_domains: [acme.example"), "{one}");
    let all = fs::read_to_string(server.path("all/roster.yaml")).unwrap();
    assert!(all.contains("status: inactive"));
    let split: Vec<String> = read_dir(&server.path("split")).into_keys().collect();
    assert_eq!(
        split,
        [
            "00-account.yaml",
            "schema/roster-part.schema.json",
            "schema/roster.schema.json",
            "team-billing.yaml",
            "team-night-shift.yaml",
            "team-sales.yaml",
            "team-support-tier-1.yaml",
            "zz-no-team.yaml"
        ]
    );
    let state: State =
        serde_json::from_slice(&fs::read(server.path("state.json")).unwrap()).unwrap();
    assert_eq!(state.users.len(), 250, "import and plan wrote nothing");
    server.assert_no_delete();
}

#[test]
fn import_never_overwrites_without_force_and_respects_ignore() {
    let server = Server::start(None, Some(&varied()), &[]);
    fs::create_dir(server.path("r")).unwrap();
    fs::write(server.path("r/roster.yaml"), "keep me").unwrap();
    let out = server.roster(&[
        "import",
        "--account",
        "acme",
        "--out",
        "r",
        "--ignore",
        "svc-*@acme.example",
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("r already holds roster.yaml; pass --force to overwrite"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read_to_string(server.path("r/roster.yaml")).unwrap(),
        "keep me"
    );
    let out = server.roster(&[
        "import",
        "--account",
        "acme",
        "--out",
        "r",
        "--ignore",
        "svc-*@acme.example",
        "--force",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = fs::read_to_string(server.path("r/roster.yaml")).unwrap();
    assert!(text.contains("ignore: [\"svc-*@acme.example\"]") && !text.contains("svc-bot"));
    assert_eq!(
        code(&server.roster(&["plan", "r", "--detailed-exitcode"])),
        0
    );
    // A schema that is there already is the user's too: kept without --force.
    fs::create_dir_all(server.path("s/schema")).unwrap();
    fs::write(server.path("s/schema/roster.schema.json"), "keep me").unwrap();
    let out = server.roster(&["import", "--account", "acme", "--out", "s"]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("s already holds schema/roster.schema.json; pass --force"),
        "{}",
        stderr(&out)
    );
    assert!(!server.path("s/roster.yaml").exists());
    server.assert_no_delete();
}

#[test]
fn import_into_an_empty_directory_says_what_the_sandbox_starts_from() {
    let dir = tempfile::tempdir().unwrap();
    let out = roster(
        dir.path(),
        &[
            "import",
            "--sandbox",
            "--account",
            "acme",
            "--out",
            "roster",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let said = stderr(&out);
    assert!(
        said.contains("sandbox: seeded .roster/sandbox.json from the built-in example account"),
        "{said}"
    );
    assert!(!said.contains("from the roster"), "{said}");
}
