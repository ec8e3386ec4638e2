//! Planner tests: a table of cases, a property test over random accounts, and snapshots
//! of the three renderings of one rich plan.

use proptest::prelude::*;

use super::*;
use crate::config::Roster;
use crate::model::{Account, Addon, Named, Names, Status, User};

const ROLES: &str = "roles:\n  - { name: Administrator, admin: true }\n  - { name: Supervisor }\n  - { name: Agent }\nteams: [ { name: Billing }, { name: Sales }, { name: Support, previously: [Tier 1] } ]\nqueues: [billing, sales]\n";

fn roster(policy: &str, users: &str) -> Roster {
    let mut policy = policy.to_string();
    for (key, default) in [
        ("unmanaged_users", "deactivate"),
        ("max_deactivations", "100"),
    ] {
        if !policy.contains(key) {
            policy.push_str(&format!("\n  {key}: {default}"));
        }
    }
    let text = format!(
        "version: 1\nprovider: {{ kind: talkdesk, account: acme }}\npolicy:\n{policy}\n{ROLES}users:\n{users}"
    );
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn named(names: &[&str]) -> Vec<Named> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| Named {
            id: format!("id-{i}-{n}"),
            name: n.to_string(),
        })
        .collect()
}

fn account(users: Vec<User>) -> Account {
    Account {
        roles: named(&["Administrator", "Supervisor", "Agent"]),
        teams: named(&["Billing", "Sales", "Tier 1"]),
        queues: named(&["billing", "sales"]),
        users,
        addons: vec![Addon {
            name: "salesforce".into(),
            entitlement: 2,
        }],
        phone_numbers: vec!["+351211230001".into()],
        phone_devices: Vec::new(),
    }
}

/// A live active user whose name is the part of the email before `@`.
fn lu(email: &str, role: &str) -> User {
    User {
        id: format!("u-{email}"),
        email: email.into(),
        name: email.split('@').next().unwrap_or_default().into(),
        role: Some(role.into()),
        status: Status::Active,
        pending: false,
        teams: Names::new(),
        queues: Names::new(),
        extension: None,
        time_zone: None,
        language: None,
        addons: Names::new(),
        phone: None,
        external_id: None,
        updated_at: Some(format!("2026-01-01T00:00:00Z#{email}")),
    }
}

fn with(mut u: User, f: impl FnOnce(&mut User)) -> User {
    f(&mut u);
    u
}

fn set(items: &[&str]) -> Names {
    items.iter().map(|s| s.to_string()).collect()
}

/// A declared user line whose name matches [`lu`]'s.
fn du(email: &str, role: &str, extra: &str) -> String {
    let name = email.split('@').next().unwrap_or_default();
    format!("  - {{ email: {email}, name: {name}, role: {role}{extra} }}\n")
}

/// A provider that reads and writes every user field and checks roles against a
/// catalog, without the phone and add-on surfaces.
fn bare() -> Capabilities {
    Capabilities {
        phone: false,
        addons: false,
        ..full()
    }
}

/// Every surface, every field readable and writable, a role catalog: the planner's
/// general behaviour, apart from any one vendor's gaps.
fn full() -> Capabilities {
    Capabilities {
        create_teams: false,
        published_limit: Some((240, "Talkdesk SCIM's 4 requests/s")),
        ..Capabilities::all()
    }
}

/// A provider like CloudTalk's API: no deactivation, no readable roles, and a status
/// that is not a seat status (its only switch is outbound calls).
fn cloudtalk_like() -> Capabilities {
    Capabilities {
        create_teams: false,
        deactivate: false,
        reliable_status: false,
        roles: false,
        immutable_fields: vec![Field::Extension],
        phone: false,
        addons: false,
        role_catalog: false,
        unmanaged: vec![Field::Queues, Field::TimeZone, Field::Language],
        write_only: vec![Field::Teams],
        deactivate_in_console: Some("the vendor's console"),
        ..Capabilities::all()
    }
}

struct Case {
    name: &'static str,
    policy: &'static str,
    users: String,
    live: Vec<User>,
    caps: Capabilities,
    allow: Option<u32>,
    /// Declares the team Escalations, which the live account lacks.
    extra_team: bool,
    /// "action key: field,field" in plan order.
    expect: Vec<&'static str>,
    /// Names of the guards that must fail.
    refused: Vec<&'static str>,
}

impl Default for Case {
    fn default() -> Self {
        Case {
            name: "",
            policy: "",
            users: String::new(),
            live: Vec::new(),
            caps: full(),
            allow: None,
            extra_team: false,
            expect: Vec::new(),
            refused: Vec::new(),
        }
    }
}

fn describe(plan: &Plan) -> Vec<String> {
    plan.changes
        .iter()
        .map(|c| {
            let fields: Vec<&str> = c.fields.keys().map(|f| f.as_str()).collect();
            if fields.is_empty() {
                format!("{} {}", c.action.as_str(), c.key)
            } else {
                format!("{} {}: {}", c.action.as_str(), c.key, fields.join(","))
            }
        })
        .collect()
}

/// The plan of `users` (roster lines under the default policy) against an account of
/// `live`, as of today.
fn plan_of(users: &str, live: Vec<User>, caps: &Capabilities) -> Result<Plan, Vec<PlanError>> {
    diff(
        &roster("", users),
        &account(live),
        caps,
        &Options::default(),
    )
}

fn admins2() -> String {
    du("a1@acme.example", "Administrator", "") + &du("a2@acme.example", "Administrator", "")
}

fn live_admins2() -> Vec<User> {
    vec![
        lu("a1@acme.example", "Administrator"),
        lu("a2@acme.example", "Administrator"),
    ]
}

fn cases() -> Vec<Case> {
    let agents = |n: usize| -> Vec<User> {
        (0..n)
            .map(|i| lu(&format!("ag{i}@acme.example"), "Agent"))
            .collect()
    };
    let mut v = vec![
        Case {
            name: "equal account has no changes",
            users: admins2(),
            live: live_admins2(),
            ..Case::default()
        },
        Case {
            name: "create a new user",
            users: admins2() + &du("new@acme.example", "Agent", ", teams: [Billing]"),
            live: live_admins2(),
            expect: vec!["create new@acme.example: email,name,role,teams"],
            ..Case::default()
        },
        Case {
            name: "update only the changed field",
            users: admins2() + &du("b@acme.example", "Agent", ", extension: \"2001\""),
            live: [
                live_admins2(),
                vec![with(lu("b@acme.example", "Agent"), |u| {
                    u.extension = Some("2002".into())
                })],
            ]
            .concat(),
            expect: vec!["update b@acme.example: extension"],
            ..Case::default()
        },
        Case {
            name: "email case change is not a change",
            users: admins2() + "  - { email: Bea@ACME.example, name: bea, role: Agent }\n",
            live: [live_admins2(), vec![lu("bea@acme.example", "Agent")]].concat(),
            ..Case::default()
        },
        Case {
            name: "email rename via previously",
            users: admins2()
                + "  - { email: jane@acme.example, previously: [jane.doe@acme.example], name: jane.doe, role: Agent }\n",
            live: [live_admins2(), vec![lu("jane.doe@acme.example", "Agent")]].concat(),
            expect: vec!["update jane@acme.example: email"],
            ..Case::default()
        },
        Case {
            name: "reactivation instead of a duplicate",
            users: admins2() + &du("old@acme.example", "Agent", ""),
            live: [
                live_admins2(),
                vec![with(lu("old@acme.example", "Agent"), |u| {
                    u.status = Status::Inactive
                })],
            ]
            .concat(),
            expect: vec!["reactivate old@acme.example: status"],
            ..Case::default()
        },
        Case {
            name: "declared inactive deactivates and keeps its queues (routing drops inactive agents)",
            users: admins2() + &du("gone@acme.example", "Agent", ", status: inactive"),
            live: [
                live_admins2(),
                vec![with(lu("gone@acme.example", "Agent"), |u| {
                    u.queues = set(&["sales"])
                })],
            ]
            .concat(),
            expect: vec!["deactivate gone@acme.example: status"],
            ..Case::default()
        },
        Case {
            name: "declared inactive and absent creates nothing",
            users: admins2() + &du("never@acme.example", "Agent", ", status: inactive"),
            live: live_admins2(),
            ..Case::default()
        },
        Case {
            name: "both inactive is no change",
            users: admins2() + &du("idle@acme.example", "Agent", ", status: inactive"),
            live: [
                live_admins2(),
                vec![with(lu("idle@acme.example", "Supervisor"), |u| {
                    u.status = Status::Inactive
                })],
            ]
            .concat(),
            ..Case::default()
        },
        Case {
            name: "unmanaged live user is deactivated",
            users: admins2(),
            live: [live_admins2(), vec![lu("stray@acme.example", "Agent")]].concat(),
            expect: vec!["deactivate stray@acme.example: status"],
            ..Case::default()
        },
        Case {
            name: "unmanaged_users: ignore leaves them",
            policy: "  unmanaged_users: ignore",
            users: admins2(),
            live: [live_admins2(), vec![lu("stray@acme.example", "Agent")]].concat(),
            ..Case::default()
        },
        Case {
            name: "ignored pattern is never touched",
            policy: "  ignore: [\"*@vendor.example\", \"svc-*@acme.example\"]",
            users: admins2(),
            live: [
                live_admins2(),
                vec![
                    lu("x@vendor.example", "Agent"),
                    lu("svc-bot@acme.example", "Administrator"),
                ],
            ]
            .concat(),
            ..Case::default()
        },
        Case {
            name: "demoting the only admin is refused",
            users: du("a1@acme.example", "Agent", ""),
            live: vec![lu("a1@acme.example", "Administrator")],
            expect: vec!["update a1@acme.example: role"],
            refused: vec!["admin_floor", "administrator_role"],
            ..Case::default()
        },
        Case {
            name: "demoting one of two admins with min_admins 2 is refused",
            policy: "  min_admins: 2",
            users: du("a1@acme.example", "Administrator", "")
                + &du("a2@acme.example", "Supervisor", ""),
            live: live_admins2(),
            expect: vec!["update a2@acme.example: role"],
            refused: vec!["admin_floor"],
            ..Case::default()
        },
        Case {
            name: "swapping admins promotes before it demotes",
            policy: "  min_admins: 2",
            users: du("a1@acme.example", "Administrator", "")
                + &du("a2@acme.example", "Agent", "")
                + &du("b@acme.example", "Administrator", ""),
            live: [live_admins2(), vec![lu("b@acme.example", "Agent")]].concat(),
            expect: vec![
                "update b@acme.example: role",
                "update a2@acme.example: role",
            ],
            ..Case::default()
        },
        Case {
            name: "deactivating the last admin is refused even when allowed",
            users: du("a2@acme.example", "Agent", "")
                + &du("a1@acme.example", "Administrator", ", status: inactive"),
            live: vec![
                lu("a1@acme.example", "Administrator"),
                lu("a2@acme.example", "Agent"),
            ],
            allow: Some(10),
            expect: vec!["deactivate a1@acme.example: status"],
            refused: vec!["admin_floor", "administrator_role"],
            ..Case::default()
        },
        Case {
            name: "mass deactivation exactly at the threshold",
            policy: "  max_deactivations: \"20%\"",
            users: admins2()
                + &(2..10)
                    .map(|i| du(&format!("ag{i}@acme.example"), "Agent", ""))
                    .collect::<String>(),
            live: [live_admins2(), agents(10)].concat(),
            expect: vec![
                "deactivate ag0@acme.example: status",
                "deactivate ag1@acme.example: status",
            ],
            ..Case::default()
        },
        Case {
            name: "mass deactivation one over the threshold",
            policy: "  max_deactivations: \"20%\"",
            users: admins2()
                + &(3..10)
                    .map(|i| du(&format!("ag{i}@acme.example"), "Agent", ""))
                    .collect::<String>(),
            live: [live_admins2(), agents(10)].concat(),
            expect: vec![
                "deactivate ag0@acme.example: status",
                "deactivate ag1@acme.example: status",
                "deactivate ag2@acme.example: status",
            ],
            refused: vec!["max_deactivations"],
            ..Case::default()
        },
        Case {
            name: "allow-deactivations covering the count passes",
            policy: "  max_deactivations: 1",
            users: admins2(),
            live: [live_admins2(), agents(3)].concat(),
            allow: Some(3),
            expect: vec![
                "deactivate ag0@acme.example: status",
                "deactivate ag1@acme.example: status",
                "deactivate ag2@acme.example: status",
            ],
            ..Case::default()
        },
        Case {
            name: "allow-deactivations short of the count is refused",
            policy: "  max_deactivations: 1",
            users: admins2(),
            live: [live_admins2(), agents(3)].concat(),
            allow: Some(2),
            expect: vec![
                "deactivate ag0@acme.example: status",
                "deactivate ag1@acme.example: status",
                "deactivate ag2@acme.example: status",
            ],
            refused: vec!["max_deactivations"],
            ..Case::default()
        },
        Case {
            name: "no small-account exemption from the default limit",
            policy: "",
            users: admins2(),
            live: [live_admins2(), agents(1)].concat(),
            expect: vec!["deactivate ag0@acme.example: status"],
            ..Case::default()
        },
        Case {
            name: "team rename via previously keeps members unchanged",
            users: admins2() + &du("t@acme.example", "Agent", ", teams: [Support]"),
            live: [
                live_admins2(),
                vec![with(lu("t@acme.example", "Agent"), |u| {
                    u.teams = set(&["Tier 1"])
                })],
            ]
            .concat(),
            ..Case::default()
        },
        Case {
            name: "seat limit exceeded",
            policy: "  seats: { limit: 3 }",
            users: admins2()
                + &du("n1@acme.example", "Agent", "")
                + &du("n2@acme.example", "Agent", ""),
            live: live_admins2(),
            expect: vec![
                "create n1@acme.example: email,name,role",
                "create n2@acme.example: email,name,role",
            ],
            refused: vec!["seat_limit"],
            ..Case::default()
        },
        Case {
            name: "seat limit counts the peak before deactivations",
            policy: "  seats: { limit: 3 }",
            users: admins2() + &du("n1@acme.example", "Agent", ""),
            live: [live_admins2(), vec![lu("old@acme.example", "Agent")]].concat(),
            expect: vec![
                "create n1@acme.example: email,name,role",
                "deactivate old@acme.example: status",
            ],
            refused: vec!["seat_limit"],
            ..Case::default()
        },
        Case {
            name: "add-on entitlement exceeded",
            policy: "  addons: { salesforce: 1 }",
            users: admins2()
                + &du("s1@acme.example", "Agent", ", addons: [salesforce]")
                + &du("s2@acme.example", "Agent", ", addons: [salesforce]"),
            live: [
                live_admins2(),
                vec![
                    lu("s1@acme.example", "Agent"),
                    lu("s2@acme.example", "Agent"),
                ],
            ]
            .concat(),
            expect: vec![
                "update s1@acme.example: addons",
                "update s2@acme.example: addons",
            ],
            refused: vec!["addon_entitlement"],
            ..Case::default()
        },
        Case {
            name: "lists in a different order are equal",
            users: admins2()
                + &du(
                    "l@acme.example",
                    "Agent",
                    ", teams: [Sales, Billing], queues: [sales, billing]",
                ),
            live: [
                live_admins2(),
                vec![with(lu("l@acme.example", "Agent"), |u| {
                    u.teams = set(&["Billing", "Sales"]);
                    u.queues = set(&["billing", "sales"]);
                })],
            ]
            .concat(),
            ..Case::default()
        },
        Case {
            name: "a field left out is not managed",
            users: admins2() + &du("f@acme.example", "Agent", ""),
            live: [
                live_admins2(),
                vec![with(lu("f@acme.example", "Agent"), |u| {
                    u.extension = Some("2001".into());
                    u.time_zone = Some("Europe/Lisbon".into());
                    u.teams = set(&["Sales"]);
                })],
            ]
            .concat(),
            ..Case::default()
        },
        Case {
            name: "language compares case-insensitively",
            users: admins2() + &du("g@acme.example", "Agent", ", language: en-us"),
            live: [
                live_admins2(),
                vec![with(lu("g@acme.example", "Agent"), |u| {
                    u.language = Some("en-US".into())
                })],
            ]
            .concat(),
            ..Case::default()
        },
        Case {
            name: "missing team where the provider can create teams",
            users: admins2() + &du("h@acme.example", "Agent", ", teams: [Escalations]"),
            live: live_admins2(),
            caps: Capabilities {
                create_teams: true,
                ..full()
            },
            extra_team: true,
            expect: vec![
                "create_team Escalations: name",
                "create h@acme.example: email,name,role,teams",
            ],
            ..Case::default()
        },
        Case {
            name: "managed by another system is left alone",
            users: admins2() + &du("idp@acme.example", "Supervisor", ""),
            live: [
                live_admins2(),
                vec![with(lu("idp@acme.example", "Agent"), |u| {
                    u.external_id = Some("okta-1".into())
                })],
            ]
            .concat(),
            ..Case::default()
        },
        Case {
            name: "claimed external user is managed",
            users: admins2() + &du("idp@acme.example", "Supervisor", ", external_id: okta-1"),
            live: [
                live_admins2(),
                vec![with(lu("idp@acme.example", "Agent"), |u| {
                    u.external_id = Some("okta-1".into())
                })],
            ]
            .concat(),
            expect: vec!["update idp@acme.example: role"],
            ..Case::default()
        },
        Case {
            name: "offboard where the provider cannot deactivate",
            users: admins2(),
            live: [
                live_admins2(),
                vec![with(lu("c@acme.example", "Agent"), |u| {
                    u.teams = set(&["Sales"])
                })],
            ]
            .concat(),
            caps: Capabilities {
                deactivate: false,
                ..full()
            },
            expect: vec!["offboard c@acme.example: status,teams"],
            ..Case::default()
        },
        Case {
            name: "immutable field becomes a manual step",
            users: admins2() + &du("e@acme.example", "Agent", ", extension: \"3001\""),
            live: [
                live_admins2(),
                vec![with(lu("e@acme.example", "Agent"), |u| {
                    u.extension = Some("3000".into())
                })],
            ]
            .concat(),
            caps: Capabilities {
                immutable_fields: vec![Field::Extension],
                ..full()
            },
            ..Case::default()
        },
        Case {
            name: "fields the provider does not manage are not planned",
            caps: bare(),
            users: admins2()
                + &du(
                    "q@acme.example",
                    "Agent",
                    ", addons: [salesforce], phone: { call_waiting: true }",
                ),
            live: [live_admins2(), vec![lu("q@acme.example", "Agent")]].concat(),
            ..Case::default()
        },
        Case {
            name: "add-ons and phone settings are planned where managed",
            users: admins2()
                + &du(
                    "q@acme.example",
                    "Agent",
                    ", addons: [salesforce], phone: { call_waiting: true }",
                ),
            live: [live_admins2(), vec![lu("q@acme.example", "Agent")]].concat(),
            expect: vec!["update q@acme.example: addons,phone.call_waiting"],
            ..Case::default()
        },
        Case {
            name: "required admin demoted is refused",
            policy: "  required_admins: [a1@acme.example]",
            users: du("a1@acme.example", "Agent", "") + &du("a2@acme.example", "Administrator", ""),
            live: live_admins2(),
            expect: vec!["update a1@acme.example: role"],
            refused: vec!["required_admins"],
            ..Case::default()
        },
        Case {
            name: "admins are created first",
            users: admins2()
                + &du("z-admin@acme.example", "Administrator", "")
                + &du("b-agent@acme.example", "Agent", ""),
            live: live_admins2(),
            expect: vec![
                "create z-admin@acme.example: email,name,role",
                "create b-agent@acme.example: email,name,role",
            ],
            ..Case::default()
        },
        Case {
            name: "phone settings diff field by field",
            users: admins2()
                + &du(
                    "p@acme.example",
                    "Agent",
                    ", phone: { call_waiting: true, numbers: [\"+351211230001\"], do_not_disturb: false }",
                ),
            live: [
                live_admins2(),
                vec![with(lu("p@acme.example", "Agent"), |u| {
                    u.phone = Some(Box::new(crate::model::PhoneSettings {
                        call_waiting: Some(false),
                        numbers: Some(vec!["+351211230001".into()]),
                        do_not_disturb: Some(false),
                        ..Default::default()
                    }))
                })],
            ]
            .concat(),
            expect: vec!["update p@acme.example: phone.call_waiting"],
            ..Case::default()
        },
        Case {
            name: "an empty account is bootstrapped with two administrators",
            users: admins2(),
            live: Vec::new(),
            expect: vec![
                "create a1@acme.example: email,name,role",
                "create a2@acme.example: email,name,role",
            ],
            ..Case::default()
        },
        Case {
            name: "an account below its floor may be raised, not left as it is",
            policy: "  min_admins: 2",
            users: admins2() + &du("b@acme.example", "Agent", ", extension: \"2001\""),
            live: vec![
                lu("a1@acme.example", "Administrator"),
                lu("b@acme.example", "Agent"),
            ],
            expect: vec![
                "create a2@acme.example: email,name,role",
                "update b@acme.example: extension",
            ],
            ..Case::default()
        },
        Case {
            name: "an account below its floor refuses a plan that does not raise it",
            policy: "  min_admins: 2",
            users: du("a1@acme.example", "Administrator", "")
                + &du("b@acme.example", "Agent", ", extension: \"2001\""),
            live: vec![
                lu("a1@acme.example", "Administrator"),
                lu("b@acme.example", "Agent"),
            ],
            expect: vec!["update b@acme.example: extension"],
            refused: vec!["admin_floor"],
            ..Case::default()
        },
        Case {
            name: "a pending administrator does not count: demoting the other is refused",
            users: du("a1@acme.example", "Agent", "") + &du("a2@acme.example", "Administrator", ""),
            live: vec![
                lu("a1@acme.example", "Administrator"),
                with(lu("a2@acme.example", "Administrator"), |u| u.pending = true),
            ],
            expect: vec!["update a1@acme.example: role"],
            refused: vec!["admin_floor", "administrator_role"],
            ..Case::default()
        },
    ];
    v.retain(|c| !c.name.is_empty());
    v
}

#[test]
fn planner_cases() {
    let cases = cases();
    assert!(cases.len() >= 30, "only {} cases", cases.len());
    for case in cases {
        let mut r = roster(case.policy, &case.users);
        if case.extra_team {
            r.teams.push(escalations());
        }
        let opts = Options {
            allow_deactivations: case.allow,
            ..Options::default()
        };
        let plan = diff(&r, &account(case.live.clone()), &case.caps, &opts)
            .unwrap_or_else(|e| panic!("{}: plan error {e:?}", case.name));
        assert_eq!(describe(&plan), case.expect, "{}", case.name);
        let refused: Vec<&str> = plan.refusals().map(|g| g.name.as_str()).collect();
        assert_eq!(refused, case.refused, "{}: {:?}", case.name, plan.guards);
    }
}

#[test]
fn an_account_whose_only_administrator_is_pending_is_below_its_floor() {
    let users = du("a1@acme.example", "Administrator", "");
    let live = vec![with(lu("a1@acme.example", "Administrator"), |u| {
        u.pending = true
    })];
    let plan = diff(
        &roster("", &users),
        &account(live),
        &full(),
        &Options::default(),
    )
    .unwrap();
    let floor = plan
        .guards
        .iter()
        .find(|g| g.name == "admin_floor")
        .unwrap();
    assert!(!floor.ok, "{floor:?}");
    assert!(
        floor.detail.contains("active admins 0 → 0"),
        "{}",
        floor.detail
    );
    assert!(
        floor.detail.contains("the account is below its floor"),
        "{}",
        floor.detail
    );
    assert!(
        floor
            .detail
            .contains("1 pending administrator(s) not counted"),
        "{}",
        floor.detail
    );
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.starts_with("every administrator after this plan is pending")),
        "{:?}",
        plan.warnings
    );

    let declared = du("a1@acme.example", "Administrator", ", status: pending");
    let plan = diff(
        &roster("", &declared),
        &account(Vec::new()),
        &full(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(describe(&plan), ["create a1@acme.example: email,name,role"]);
    assert!(
        !plan.accepted(),
        "a roster whose only admin is pending leaves nobody to sign in"
    );
}

/// A roster that calls `Agent` an administrator role, demoting both holders of the
/// built-in `Administrator` role: its own floor holds, Talkdesk's does not.
#[test]
fn a_roster_cannot_redefine_its_way_past_the_builtin_administrator() {
    let mut r = roster(
        "",
        &(du("a1@acme.example", "Agent", "") + &du("a2@acme.example", "Agent", "")),
    );
    for role in &mut r.roles {
        role.admin = role.name == "Agent";
    }
    let plan = diff(&r, &account(live_admins2()), &full(), &Options::default()).unwrap();
    let refused: Vec<&str> = plan.refusals().map(|g| g.name.as_str()).collect();
    assert_eq!(refused, ["administrator_role"], "{:?}", plan.guards);
    assert_eq!(
        plan.guards[0].detail,
        "active admins 0 → 2 (lowest 0 during apply), floor 1; the account starts below its floor and this plan raises it; counting roles Agent"
    );
    assert_eq!(
        plan.guards[1].detail,
        "holders of the built-in Administrator role 2 → 0; at least one stays active at every step: the plan would leave a moment with none"
    );
    // Keeping one Administrator passes.
    let mut r = roster(
        "",
        &(du("a1@acme.example", "Agent", "") + &du("a2@acme.example", "Administrator", "")),
    );
    for role in &mut r.roles {
        role.admin = role.name == "Agent";
    }
    let plan = diff(&r, &account(live_admins2()), &full(), &Options::default()).unwrap();
    assert!(plan.refusals().next().is_none(), "{:?}", plan.guards);
    // Where roles cannot be read, the guard says what the floor rests on.
    let caps = Capabilities {
        roles: false,
        ..full()
    };
    let plan = diff(
        &roster("", &admins2()),
        &account(live_admins2()),
        &caps,
        &Options::default(),
    )
    .unwrap();
    assert!(
        plan.guards[1].detail.starts_with("roles cannot be read"),
        "{:?}",
        plan.guards
    );
    assert!(
        plan.guards[0].detail.contains("live roles cannot be read"),
        "{:?}",
        plan.guards
    );
}

#[test]
fn bootstrapping_says_the_account_starts_below_its_floor() {
    let plan = diff(
        &roster("", &admins2()),
        &account(Vec::new()),
        &full(),
        &Options::default(),
    )
    .unwrap();
    let floor = &plan.guards[0];
    assert!(floor.ok, "{floor:?}");
    assert_eq!(
        floor.detail,
        "active admins 0 → 2 (lowest 0 during apply), floor 1; the account starts below its floor and this plan raises it; counting roles Administrator"
    );
}

#[test]
fn a_small_team_is_told_how_its_percentage_rounds_and_may_opt_into_at_least() {
    let live: Vec<User> = live_admins2()
        .into_iter()
        .chain((0..7).map(|i| lu(&format!("ag{i}@acme.example"), "Agent")))
        .collect();
    let keep: String = admins2()
        + &(0..6)
            .map(|i| du(&format!("ag{i}@acme.example"), "Agent", ""))
            .collect::<String>();
    let guard = |policy: &str| {
        let plan = diff(
            &roster(policy, &keep),
            &account(live.clone()),
            &full(),
            &Options::default(),
        )
        .unwrap();
        plan.guards
            .into_iter()
            .find(|g| g.name == "max_deactivations")
            .unwrap()
    };
    let g = guard("  max_deactivations: \"10%\"");
    assert!(!g.ok);
    assert_eq!(
        g.detail,
        "1 deactivation(s) exceed the limit 0 (max_deactivations 10% of 9 active (rounded down from 0.9)); pass --allow-deactivations 1 if they are intended; a small team can opt into `max_deactivations: { percent: 10, at_least: 1 }`"
    );
    let g = guard("  max_deactivations: { percent: 10, at_least: 1 }");
    assert!(g.ok, "{g:?}");
    assert_eq!(
        g.detail,
        "1 deactivation(s), limit 1 (max_deactivations 10% of 9 active, at least 1)"
    );
}

#[test]
fn the_pull_request_comment_names_the_people_above_the_fold() {
    let users = admins2()
        + &du("ana.new@acme.example", "Agent", ", name: Ana New")
        + &du("bo.new@acme.example", "Agent", ", name: Bo New")
        + &du("cy.new@acme.example", "Supervisor", ", name: Cy New")
        + &du("lead@acme.example", "Supervisor", "");
    let users = users
        .replace("name: ana.new, ", "")
        .replace("name: bo.new, ", "")
        .replace("name: cy.new, ", "");
    let live = [
        live_admins2(),
        vec![
            lu("lead@acme.example", "Agent"),
            lu("gone.one@acme.example", "Agent"),
            lu("gone.two@acme.example", "Agent"),
        ],
    ]
    .concat();
    let plan = diff(
        &roster("", &users),
        &account(live),
        &full(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        (
            plan.summary.create,
            plan.summary.deactivate,
            plan.summary.update
        ),
        (3, 2, 1)
    );
    let (body, cut) =
        crate::review::comment_body(&plan, "roster", &crate::review::CommentParts::default());
    assert!(!cut);
    let fold = body.split("<details>").next().unwrap();
    for who in [
        "Ana New",
        "ana.new@acme.example",
        "Bo New",
        "Cy New",
        "gone.one@acme.example",
        "gone.two@acme.example",
        "| lead | `lead@acme.example` | role Agent → Supervisor |",
    ] {
        assert!(fold.contains(who), "{who} is not above the fold:\n{fold}");
    }
    insta::assert_snapshot!("pull_request_comment", body);
}

/// The comment a contact-center manager approves: what happens to people in the
/// heading, and each moved person's old and new team and queue above the fold.
#[test]
fn a_manager_reads_moves_renames_and_promotions_above_the_fold() {
    let users = admins2()
        + &du(
            "mover@acme.example",
            "Agent",
            ", teams: [Sales], queues: [sales]",
        )
        + &du(
            "new.name@acme.example",
            "Agent",
            ", previously: [old.name@acme.example]",
        )
        + &du("rising@acme.example", "Administrator", "")
        + &du(
            "joiner@acme.example",
            "Agent",
            ", teams: [Billing], queues: [billing]",
        );
    let mut mover = lu("mover@acme.example", "Agent");
    mover.teams = Names::from(["Billing"]);
    mover.queues = Names::from(["billing"]);
    let live = [
        live_admins2(),
        vec![
            mover,
            lu("old.name@acme.example", "Agent"),
            lu("rising@acme.example", "Agent"),
            lu("leaver@acme.example", "Agent"),
        ],
    ]
    .concat();
    let plan = diff(
        &roster("", &users),
        &account(live),
        &full(),
        &Options::default(),
    )
    .unwrap();
    let (body, cut) =
        crate::review::comment_body(&plan, "roster", &crate::review::CommentParts::default());
    assert!(!cut);
    assert!(
        body.contains(": 📋 planned: 1 person joins, 1 leaves, 1 becomes an administrator, 1 moves team or queue, 1 changes email\n"),
        "{body}"
    );
    let fold = body.split("<details>").next().unwrap();
    for row in [
        "| mover | `mover@acme.example` | team Billing → Sales; queues billing → sales |",
        "| rising | `rising@acme.example` | role Agent → Administrator; **becomes an administrator** |",
        "`old.name@acme.example` → `new.name@acme.example`",
        "| joiner | `joiner@acme.example` | joins as Agent; team Billing; queues billing; welcome email |",
        "| leaver | `leaver@acme.example` | leaves (deactivated) |",
    ] {
        assert!(fold.contains(row), "{row} is not above the fold:\n{fold}");
    }
    insta::assert_snapshot!("manager_comment", body);
}

#[test]
fn seasonal_staff_follow_their_dates_and_the_next_week_is_listed() {
    let users = admins2()
        + &du(
            "over@acme.example",
            "Agent",
            ", active_until: \"2026-12-20\"",
        )
        + &du(
            "soon@acme.example",
            "Agent",
            ", active_until: \"2026-12-28\"",
        )
        + &du(
            "later@acme.example",
            "Agent",
            ", active_from: \"2026-12-26\"",
        );
    let live = [
        live_admins2(),
        vec![
            lu("over@acme.example", "Agent"),
            lu("soon@acme.example", "Agent"),
        ],
    ]
    .concat();
    let opts = Options {
        today: Some(parse_day("2026-12-24").unwrap()),
        ..Options::default()
    };
    let plan = diff(&roster("", &users), &account(live.clone()), &full(), &opts).unwrap();
    assert_eq!(describe(&plan), ["deactivate over@acme.example: status"]);
    assert_eq!(
        plan.upcoming,
        [
            "2026-12-26: later@acme.example starts (active_from)",
            "2026-12-28: soon@acme.example ends (active_until); deactivated the day after",
        ]
    );
    // The list is outside the checksum: the next day's plan of the same changes agrees.
    let next = Options {
        today: Some(parse_day("2026-12-25").unwrap()),
        ..Options::default()
    };
    let again = diff(&roster("", &users), &account(live), &full(), &next).unwrap();
    assert_eq!(again.checksum, plan.checksum);
    assert_eq!(crate::plan_file::checksum(&plan), plan.checksum);
}

#[test]
fn expiring_administrators_below_the_floor_are_announced() {
    let today = parse_day("2026-12-24").unwrap();
    let opts = Options {
        today: Some(today),
        ..Options::default()
    };
    let users = |second_expires: &str| {
        du(
            "a1@acme.example",
            "Administrator",
            ", active_until: \"2026-12-28\"",
        ) + &du("a2@acme.example", "administrator", second_expires)
            + &du(
                "agent@acme.example",
                "Agent",
                ", active_until: \"2026-12-27\"",
            )
    };
    let live = [live_admins2(), vec![lu("agent@acme.example", "Agent")]].concat();
    let plan = |users: String| {
        diff(&roster("", &users), &account(live.clone()), &full(), &opts)
            .unwrap()
            .upcoming
    };
    // One administrator of two expires: one is left, the floor holds.
    let one = plan(users(""));
    assert_eq!(
        one,
        [
            "2026-12-27: agent@acme.example ends (active_until); deactivated the day after",
            "2026-12-28: a1@acme.example (administrator) ends (active_until); deactivated the day after",
        ]
    );
    // Both expire (the second's role spelt in lowercase): none would be left.
    let both = plan(users(", active_until: \"2026-12-29\""));
    assert_eq!(both.len(), 4, "{both:#?}");
    assert!(
        both[0].starts_with("2026-12-27: agent@acme.example ends")
            && both[2].contains("a2@acme.example (administrator) ends")
            && both[3].starts_with("warning: when the administrators above expire, the roster declares 0 active administrator(s), below the floor of 1"),
        "{both:#?}"
    );
}

#[test]
fn missing_team_without_team_creation_is_a_plan_error() {
    let mut r = roster(
        "",
        &(admins2() + &du("h@acme.example", "Agent", ", teams: [Escalations]")),
    );
    r.teams.push(escalations());
    let err = diff(&r, &account(live_admins2()), &full(), &Options::default()).unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].pointer, "/teams/3/name");
    assert!(
        err[0]
            .message
            .contains("`Escalations` does not exist and this provider cannot create teams")
    );
}

#[test]
fn missing_role_is_a_plan_error() {
    let mut live = account(live_admins2());
    live.roles.retain(|r| r.name != "Supervisor");
    let err = diff(&roster("", &admins2()), &live, &full(), &Options::default()).unwrap_err();
    assert_eq!(err[0].pointer, "/roles/1/name");
}

#[test]
fn team_left_without_members_warns_and_rename_is_a_manual_step() {
    let users = admins2();
    let live = [
        live_admins2(),
        vec![with(lu("s@acme.example", "Agent"), |u| {
            u.teams = set(&["Tier 1"])
        })],
    ]
    .concat();
    let plan = diff(
        &roster("", &users),
        &account(live),
        &full(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        plan.warnings,
        vec!["team `Support` is left with no active member"]
    );
    assert_eq!(
        plan.team_aliases.get("Support").map(String::as_str),
        Some("Tier 1")
    );
    assert!(plan.manual_steps[0].contains("rename team `Tier 1` to `Support`"));
}

#[test]
fn summary_counts_seats_cost_and_welcome_emails() {
    let users =
        admins2() + &du("n1@acme.example", "Agent", "") + &du("n2@acme.example", "Agent", "");
    let live = [live_admins2(), vec![lu("x@acme.example", "Agent")]].concat();
    let plan = diff(
        &roster("  seats: { price_per_month: 115, currency: USD }", &users),
        &account(live),
        &full(),
        &Options::default(),
    )
    .unwrap();
    let s = &plan.summary;
    assert_eq!(
        (
            s.create,
            s.deactivate,
            s.seats_before,
            s.seats_after,
            s.welcome_emails
        ),
        (2, 1, 3, 4, 2)
    );
    assert_eq!(s.monthly_cost_delta, 115.0);
}

#[test]
fn preconditions_and_checksum() {
    let live = [
        live_admins2(),
        vec![with(lu("b@acme.example", "Agent"), |u| u.updated_at = None)],
    ]
    .concat();
    let users = admins2() + &du("b@acme.example", "Supervisor", "");
    let plan = diff(
        &roster("", &users),
        &account(live.clone()),
        &full(),
        &Options::default(),
    )
    .unwrap();
    let pre = plan.changes[0].precondition.clone().unwrap();
    assert!(pre.starts_with("sha256:") && pre.len() == 23, "{pre}");
    assert_eq!(plan.checksum, crate::plan_file::checksum(&plan));
    let again = diff(
        &roster("", &users),
        &account(live),
        &full(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        plan.checksum, again.checksum,
        "the checksum is deterministic"
    );
    let mut edited = plan.clone();
    edited.changes[0].key = "mallory@acme.example".into();
    assert_ne!(crate::plan_file::checksum(&edited), plan.checksum);
}

/// The plan order applied to the live account, one change at a time.
fn apply_in_order(live: &Account, plan: &Plan, roster: &Roster) -> (Account, usize) {
    let admin_roles = roster.admin_roles();
    let count = |a: &Account| {
        a.users
            .iter()
            .filter(|u| {
                u.status == Status::Active
                    && u.role
                        .as_ref()
                        .is_some_and(|r| admin_roles.contains(&r.to_lowercase()))
            })
            .count()
    };
    let mut acc = live.clone();
    let mut lowest = count(&acc);
    for c in &plan.changes {
        let to = |k: &str| {
            c.fields
                .get(&Field::named(k).unwrap())
                .map(|f| f.to.clone())
        };
        let strs =
            |v: serde_json::Value| -> Names { serde_json::from_value(v).unwrap_or_default() };
        let user = match c.action {
            Action::Create => {
                acc.users.push(with(lu(&c.key, "Agent"), |u| {
                    u.id = format!("new-{}", c.key);
                    u.name = String::new();
                }));
                acc.users.last_mut().unwrap()
            }
            _ => acc
                .users
                .iter_mut()
                .find(|u| Some(&u.id) == c.id.as_ref())
                .unwrap(),
        };
        if let Some(v) = to("email") {
            user.email = v.as_str().unwrap().into();
        }
        if let Some(v) = to("name") {
            user.name = v.as_str().unwrap().into();
        }
        if let Some(v) = to("role") {
            user.role = v.as_str().map(String::from);
        }
        if let Some(v) = to("teams") {
            user.teams = strs(v);
        }
        if let Some(v) = to("queues") {
            user.queues = strs(v);
        }
        if let Some(v) = to("addons") {
            user.addons = strs(v);
        }
        if let Some(v) = to("status") {
            user.status = serde_json::from_value(v).unwrap();
        }
        user.updated_at = Some(format!("changed-{}", c.key));
        lowest = lowest.min(count(&acc));
    }
    (acc, lowest)
}

fn arb_user(i: usize) -> impl Strategy<Value = (User, Option<String>)> {
    let roles = prop::sample::select(vec!["Administrator", "Supervisor", "Agent"]);
    let teams = prop::sample::subsequence(vec!["Billing", "Sales"], 0..=2);
    (
        roles.clone(),
        roles,
        teams.clone(),
        teams,
        any::<bool>(),
        0u8..4,
    )
        .prop_map(
            move |(live_role, want_role, live_teams, want_teams, live_active, fate)| {
                let email = format!("u{i}@acme.example");
                let mut u = with(lu(&email, live_role), |u| {
                    u.teams = live_teams.iter().map(|s| s.to_string()).collect();
                    u.status = if live_active {
                        Status::Active
                    } else {
                        Status::Inactive
                    };
                });
                // fate: 0 not in the live account, 1 not in the roster, 2-3 in both.
                let decl = match fate {
                    1 => None,
                    _ => Some(du(
                        &email,
                        want_role,
                        &format!(", teams: [{}]", want_teams.join(", ")),
                    )),
                };
                if fate == 0 {
                    u.email = format!("gone-{email}");
                    u.status = Status::Inactive;
                }
                (u, decl)
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, max_global_rejects: 100_000, ..ProptestConfig::default() })]
    #[test]
    fn accepted_plans_keep_the_floor_and_converge(
        users in (1usize..12).prop_flat_map(|n| (0..n).map(arb_user).collect::<Vec<_>>()),
        min_admins in 1u32..3,
    ) {
        let live: Vec<User> = users.iter().map(|(u, _)| u.clone()).collect();
        let declared: String = users.iter().filter_map(|(_, d)| d.clone()).collect();
        prop_assume!(!declared.is_empty());
        let r = roster(&format!("  min_admins: {min_admins}"), &declared);
        let live = account(live);
        let plan = diff(&r, &live, &full(), &Options::default()).unwrap();
        prop_assume!(plan.accepted());
        let (_, start) = apply_in_order(&live, &Plan { changes: Vec::new(), ..plan.clone() }, &r);
        let (after, lowest) = apply_in_order(&live, &plan, &r);
        // Never below the floor, or, for an account that starts below it, never below
        // where it started.
        prop_assert!(lowest >= (min_admins as usize).min(start), "dipped to {lowest} admins from {start}");
        let again = diff(&r, &after, &full(), &Options::default()).unwrap();
        prop_assert!(again.changes.is_empty(), "replan not empty: {:?}", describe(&again));
    }
}

fn escalations() -> crate::config::TeamDecl {
    crate::config::TeamDecl {
        name: "Escalations".into(),
        previously: Vec::new(),
        membership: None,
        min_agents: None,
    }
}

/// One plan with every action, a failed guard, warnings and manual steps.
fn rich_plan() -> Plan {
    let users = admins2()
        + &du(
            "new.agent@acme.example",
            "Agent",
            ", teams: [Escalations], queues: [sales]",
        )
        + &du("promoted@acme.example", "Administrator", "")
        + &du(
            "moved@acme.example",
            "Agent",
            ", teams: [Sales], extension: \"2301\"",
        )
        + "  - { email: jane@acme.example, previously: [jane.doe@acme.example], name: Jane Doe, role: Agent }\n"
        + &du("back@acme.example", "Agent", "")
        + &du("quit@acme.example", "Agent", ", status: inactive");
    let mut r = roster(
        "  max_deactivations: 1\n  seats: { limit: 40, price_per_month: 115, currency: USD }",
        &users,
    );
    r.teams.push(escalations());
    let live = account(vec![
        lu("a1@acme.example", "Administrator"),
        lu("a2@acme.example", "Administrator"),
        lu("promoted@acme.example", "Supervisor"),
        with(lu("moved@acme.example", "Agent"), |u| {
            u.teams = set(&["Billing"]);
            u.extension = Some("2101".into());
        }),
        with(lu("jane.doe@acme.example", "Agent"), |u| {
            u.name = "Jane Doe".into()
        }),
        with(lu("back@acme.example", "Agent"), |u| {
            u.status = Status::Inactive
        }),
        with(lu("quit@acme.example", "Agent"), |u| {
            u.queues = set(&["billing"]);
            u.teams = set(&["Billing"]);
        }),
        with(lu("stray@acme.example", "Agent"), |u| {
            u.teams = set(&["Tier 1"])
        }),
        with(lu("idp@acme.example", "Agent"), |u| {
            u.external_id = Some("okta-7".into())
        }),
    ]);
    diff(
        &r,
        &live,
        &Capabilities {
            create_teams: true,
            ..full()
        },
        &Options::default(),
    )
    .unwrap()
}

#[test]
fn renderings_of_a_rich_plan() {
    let plan = rich_plan();
    assert!(!plan.accepted());
    insta::assert_snapshot!("text", crate::render::text(&plan, false));
    insta::assert_snapshot!("markdown", crate::render::markdown(&plan));
    insta::assert_snapshot!("json", crate::plan_file::to_json(&plan));
}

#[test]
fn markdown_stays_under_the_limit() {
    let users: String = (0..3000)
        .map(|i| {
            du(
                &format!("new{i:04}@acme.example"),
                "Agent",
                ", teams: [Billing, Sales], queues: [billing, sales]",
            )
        })
        .collect();
    let plan = diff(
        &roster("", &(admins2() + &users)),
        &account(live_admins2()),
        &full(),
        &Options::default(),
    )
    .unwrap();
    let md = crate::render::markdown(&plan);
    assert!(
        md.chars().count() < crate::render::MARKDOWN_LIMIT,
        "{}",
        md.len()
    );
    assert!(md.contains("… and "), "the tail is collapsed");
    assert!(md.contains(&plan.checksum));
}

#[test]
fn fields_a_provider_cannot_plan_are_warned_about_only_when_some_user_declares_them() {
    let caps = Capabilities {
        unmanaged: vec![Field::Language],
        ..bare()
    };
    let live = [live_admins2(), vec![lu("q@acme.example", "Agent")]].concat();
    let warnings = |extra: &str| {
        let users = admins2() + &du("q@acme.example", "Agent", extra);
        plan_of(&users, live.clone(), &caps).unwrap().warnings
    };
    let about = |w: &[String], what: &str| w.iter().any(|w| w.contains(what));
    let quiet = warnings("");
    assert!(!about(&quiet, "`language` is declared"), "{quiet:?}");
    assert!(!about(&quiet, "phone settings are declared"), "{quiet:?}");
    let loud = warnings(", language: en-US, phone: { call_waiting: true }");
    assert!(
        about(
            &loud,
            "`language` is declared but cannot be read or written"
        ),
        "{loud:?}"
    );
    assert!(
        about(
            &loud,
            "phone settings are declared but this provider does not manage them"
        ),
        "{loud:?}"
    );
    assert!(!about(&loud, "add-on licenses are declared"), "{loud:?}");
}

#[test]
fn seasonal_staff_follow_their_dates_where_the_live_status_is_only_a_hint() {
    // CloudTalk's status is a hint: a live user the roster declares active is read as
    // active. One whose season is over is declared inactive, so it is read as it is.
    let users = admins2()
        + &du(
            "over@acme.example",
            "Agent",
            ", active_until: \"2026-12-20\"",
        )
        + &du("idle@acme.example", "Agent", "");
    let live = [
        live_admins2(),
        vec![
            with(lu("over@acme.example", "Agent"), |u| {
                u.status = Status::Inactive
            }),
            with(lu("idle@acme.example", "Agent"), |u| {
                u.status = Status::Inactive
            }),
        ],
    ]
    .concat();
    let opts = Options {
        today: Some(parse_day("2026-12-24").unwrap()),
        ..Options::default()
    };
    let plan = diff(
        &roster("", &users),
        &account(live),
        &cloudtalk_like(),
        &opts,
    )
    .unwrap();
    assert_eq!(describe(&plan), Vec::<String>::new());
    assert_eq!(plan.summary.seats_before, 3, "idle is read as active");
}

#[test]
fn a_refused_plan_lists_the_phone_errors_with_the_others() {
    let mut live = account(live_admins2());
    live.roles.retain(|r| r.name != "Supervisor");
    let users = admins2()
        + &du(
            "p@acme.example",
            "Agent",
            ", phone: { numbers: [\"+351211239999\"] }",
        );
    let err = diff(&roster("", &users), &live, &full(), &Options::default()).unwrap_err();
    let pointers: Vec<&str> = err.iter().map(|e| e.pointer.as_str()).collect();
    assert_eq!(pointers, ["/roles/1/name", "/users/2/phone/numbers/0"]);
    // Alone, the phone error refuses the plan too.
    let err = plan_of(&users, live_admins2(), &full()).unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].pointer, "/users/2/phone/numbers/0");
}

#[test]
fn warnings_about_the_account_come_before_those_about_users() {
    let caps = Capabilities {
        unmanaged: vec![Field::Language],
        ..bare()
    };
    let users = du("ext@acme.example", "Agent", "")
        + &admins2()
        + &du("q@acme.example", "Agent", ", language: en-US");
    let live = [
        vec![with(lu("ext@acme.example", "Agent"), |u| {
            u.external_id = Some("okta-1".into())
        })],
        live_admins2(),
        vec![lu("q@acme.example", "Agent")],
    ]
    .concat();
    let plan = plan_of(&users, live, &caps).unwrap();
    let at = |what: &str| plan.warnings.iter().position(|w| w.contains(what));
    let (Some(account), Some(user)) = (at("`language` is declared"), at("externalId `okta-1`"))
    else {
        panic!("both warnings are given: {:?}", plan.warnings);
    };
    assert!(account < user, "{:?}", plan.warnings);
}

#[test]
fn two_declared_users_naming_one_live_user_are_refused() {
    // Validation refuses this roster first; the planner refuses it too, rather than
    // planning one live user twice.
    let users = admins2()
        + &du("a@acme.example", "Agent", "")
        + &du("b@acme.example", "Agent", ", previously: [A@acme.example]");
    let live = [live_admins2(), vec![lu("a@acme.example", "Agent")]].concat();
    let err = plan_of(&users, live, &full()).unwrap_err();
    assert_eq!(err.len(), 1);
    assert_eq!(err[0].pointer, "/users/3/email");
    assert!(
        err[0]
            .message
            .contains("b@acme.example names live user a@acme.example"),
        "{}",
        err[0].message
    );
}

#[test]
fn of_two_live_users_with_one_email_the_last_is_matched_and_the_other_removed() {
    let users = admins2() + &du("dup@acme.example", "Agent", "");
    let live = [
        live_admins2(),
        vec![
            with(lu("Dup@acme.example", "Agent"), |u| u.name = "dup".into()),
            lu("dup@acme.example", "Agent"),
        ],
    ]
    .concat();
    let plan = plan_of(&users, live, &full()).unwrap();
    assert_eq!(describe(&plan), ["deactivate Dup@acme.example: status"]);
    assert_eq!(plan.summary.seats_before, 4);
    assert_eq!(plan.summary.seats_after, 3);
}

/// The scheduled plan: the dates' changes alone, a reactivation reduced to its status,
/// and every other difference named as not applied.
#[test]
fn only_dated_plans_what_the_dates_cause_and_names_the_rest() {
    let users = admins2()
        + &du(
            "ended@acme.example",
            "Agent",
            ", active_until: \"2026-12-20\"",
        )
        + &du(
            "back@acme.example",
            "Supervisor",
            ", active_from: \"2026-12-24\"",
        )
        + &du("new@acme.example", "Agent", ", active_from: \"2026-12-01\"")
        + &du("edited@acme.example", "Agent", "");
    let live = [
        live_admins2(),
        vec![
            lu("ended@acme.example", "Agent"),
            with(lu("back@acme.example", "Agent"), |u| {
                u.status = Status::Inactive
            }),
            lu("edited@acme.example", "Supervisor"),
        ],
    ]
    .concat();
    let opts = Options {
        today: Some(parse_day("2026-12-24").unwrap()),
        only_dated: true,
        ..Options::default()
    };
    let plan = diff(&roster("", &users), &account(live.clone()), &full(), &opts).unwrap();
    assert_eq!(
        describe(&plan),
        [
            "reactivate back@acme.example: status",
            "create new@acme.example: email,name,role",
            "deactivate ended@acme.example: status",
        ]
    );
    assert!(
        plan.warnings.contains(
            &"not applied (not caused by a date: open a pull request): update edited@acme.example"
                .to_string()
        ),
        "{:?}",
        plan.warnings
    );
    // The full plan also changes the role of the one coming back.
    let full_plan = diff(
        &roster("", &users),
        &account(live),
        &full(),
        &Options {
            only_dated: false,
            ..opts
        },
    )
    .unwrap();
    assert!(
        describe(&full_plan).contains(&"reactivate back@acme.example: role,status".to_string()),
        "{:?}",
        describe(&full_plan)
    );
}

/// A declared address outside ASCII that looks like a different live user's address
/// (a Cyrillic о or а, Unicode's confusables) is refused at the roster's email, naming
/// the live address: created, it would pass for that person; taken through
/// `previously:`, it would move their login to a look-alike. Accents are not
/// look-alikes, and the live user with the very same address is this user.
#[test]
fn a_declared_address_that_looks_like_a_live_one_is_refused() {
    let live = [live_admins2(), vec![lu("ops-lead@acme.example", "Agent")]].concat();
    for (users, live_address) in [
        (
            du("\u{43e}ps-lead@acme.example", "Agent", ""),
            "ops-lead@acme.example",
        ),
        (
            du(
                "ops-lead@\u{430}cme.example",
                "Agent",
                ", previously: [ops-lead@acme.example]",
            ),
            "ops-lead@acme.example",
        ),
    ] {
        let err = plan_of(&(admins2() + &users), live.clone(), &full()).unwrap_err();
        assert_eq!(err.len(), 1, "{err:?}");
        assert_eq!(err[0].pointer, "/users/2/email");
        assert!(
            err[0]
                .message
                .contains(&format!("looks like live user {live_address}")),
            "{}",
            err[0].message
        );
    }
    let accented = admins2() + &du("zo\u{eb}@acme.example", "Agent", "");
    let live_zoe = [live_admins2(), vec![lu("zoe@acme.example", "Agent")]].concat();
    let plan = plan_of(&accented, live_zoe, &full()).unwrap();
    assert_eq!(
        describe(&plan),
        [
            "create zo\u{eb}@acme.example: email,name,role",
            "deactivate zoe@acme.example: status"
        ]
    );
    let same = admins2() + &du("\u{43e}ps-lead@acme.example", "Agent", "");
    let live_same = [
        live_admins2(),
        vec![lu("\u{43e}ps-lead@acme.example", "Agent")],
    ]
    .concat();
    assert_eq!(
        describe(&plan_of(&same, live_same, &full()).unwrap()),
        Vec::<String>::new()
    );
}

/// Live names and emails come from the vendor and are not validated: control
/// characters in them still plan, and every rendering of the plan is made.
#[test]
fn live_names_and_emails_with_control_characters_still_plan() {
    let users = admins2() + &du("eve@acme.example", "Agent", "");
    let live = [
        live_admins2(),
        vec![
            with(lu("eve@acme.example", "Agent"), |u| {
                u.name = "Eve\u{1b}[2J\nX\0\u{9b}31m".into()
            }),
            with(lu("mal\u{1b}lory\n@acme.example", "Agent"), |u| {
                u.name = "Mallory\r\u{7}".into()
            }),
        ],
    ]
    .concat();
    let plan = plan_of(&users, live, &full()).unwrap();
    assert_eq!(
        describe(&plan),
        [
            "update eve@acme.example: name",
            "deactivate mal\u{1b}lory\n@acme.example: status"
        ]
    );
    let json = crate::plan_file::to_json(&plan);
    let back: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(back["changes"][1]["name"], "Mallory\r\u{7}");
    for text in [
        crate::render::text(&plan, false),
        crate::render::text_brief(&plan, false, true),
        crate::render::markdown(&plan),
    ] {
        assert!(text.contains("eve@acme.example"));
    }
}

/// A typo in an address's domain plans a create and a deactivation: the plan says it
/// looks like a rename or a typo and how to declare a rename.
#[test]
fn a_create_beside_a_near_removal_is_called_a_rename_or_a_typo() {
    let users = admins2() + &du("vera.lopes@acme.exmaple", "Agent", "");
    let live = [live_admins2(), vec![lu("vera.lopes@acme.example", "Agent")]].concat();
    let plan = diff(
        &roster("", &users),
        &account(live),
        &full(),
        &Options::default(),
    )
    .unwrap();
    assert_eq!(
        describe(&plan),
        [
            "create vera.lopes@acme.exmaple: email,name,role",
            "deactivate vera.lopes@acme.example: status",
        ]
    );
    assert!(
        plan.warnings.contains(&"create vera.lopes@acme.exmaple and deactivate vera.lopes@acme.example look like a rename or a typo: if vera.lopes@acme.example is now vera.lopes@acme.exmaple, add `previously: [\"vera.lopes@acme.example\"]` to that user; if vera.lopes@acme.exmaple is a typo, correct it".to_string()),
        "{:?}",
        plan.warnings
    );
    // Two people who merely share a domain are no typo of each other.
    let users = admins2() + &du("noah.dubois@acme.example", "Agent", "");
    let live = [
        live_admins2(),
        vec![lu("olga.petrova@acme.example", "Agent")],
    ]
    .concat();
    let plan = diff(
        &roster("", &users),
        &account(live),
        &full(),
        &Options::default(),
    )
    .unwrap();
    assert!(
        !plan
            .warnings
            .iter()
            .any(|w| w.contains("look like a rename")),
        "{:?}",
        plan.warnings
    );
}
