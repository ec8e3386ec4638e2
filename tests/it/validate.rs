//! `roster validate` and `roster schema`: valid examples, every class of bad input, and
//! the checked-in schema.

use std::fs;

use crate::support::{assert_valid_against_its_schema, code, root, roster, stderr, stdout};

const HEAD: &str = "version: 1\nprovider: { kind: talkdesk, account: acme }\nroles:\n  - { name: Administrator, admin: true }\n  - { name: Agent }\n";

fn admin(email: &str) -> String {
    format!("  - {{ email: {email}, name: Admin, role: Administrator }}\n")
}

/// Validates `text` written to a file named `name` in a fresh directory; returns the
/// exit code and standard error.
fn check(name: &str, text: &[u8]) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(name), text).unwrap();
    let out = roster(dir.path(), &["validate", name]);
    (out.status.code().unwrap(), stderr(&out))
}

#[test]
fn examples_validate() {
    for ex in [
        "examples/acme",
        "examples/split",
        "examples/acme/roster.yaml",
    ] {
        let out = roster(&root(), &["validate", ex]);
        assert_eq!(out.status.code(), Some(0), "{ex}: {}", stderr(&out));
        assert_eq!(stdout(&out), "25 users, 3 roles, 3 teams: valid\n");
    }
}

#[test]
fn checked_in_schema_is_current() {
    let checked_in = fs::read_to_string(root().join("schema/roster.schema.json")).unwrap();
    assert_eq!(
        checked_in,
        roster_core::config::schema_text(),
        "schema/roster.schema.json is stale: run `cargo run -- schema --out schema/roster.schema.json`"
    );
    let out = roster(&root(), &["schema"]);
    assert_eq!(stdout(&out), checked_in);
}

#[test]
fn checked_in_plan_schema_is_current() {
    let checked_in = fs::read_to_string(root().join("schema/plan.schema.json")).unwrap();
    assert_eq!(
        checked_in,
        roster_core::plan_file::schema_text(),
        "schema/plan.schema.json is stale: run `cargo run -- schema --plan --out schema/plan.schema.json`"
    );
    let out = roster(&root(), &["schema", "--plan"]);
    assert_eq!(stdout(&out), checked_in);
    let both = roster(&root(), &["schema", "--plan", "--part"]);
    assert_eq!(both.status.code(), Some(1), "--plan and --part conflict");
}

#[test]
fn checked_in_part_schema_is_current() {
    let checked_in = fs::read_to_string(root().join("schema/roster-part.schema.json")).unwrap();
    assert_eq!(
        checked_in,
        roster_core::config::part_schema_text(),
        "schema/roster-part.schema.json is stale: run `cargo run -- schema --part --out schema/roster-part.schema.json`"
    );
    let out = roster(&root(), &["schema", "--part"]);
    assert_eq!(stdout(&out), checked_in);
    // What sets it apart: a file with neither `version` nor `provider` is a valid part.
    let empty = serde_json::json!({});
    let part = roster_core::config::part_schema();
    assert!(jsonschema::validator_for(&part).unwrap().is_valid(&empty));
    let whole = roster_core::config::schema();
    assert!(!jsonschema::validator_for(&whole).unwrap().is_valid(&empty));
}

/// Each example file on its own validates against the schema its `$schema` line names,
/// as an editor checks it; team files of a split roster name the part schema.
#[test]
fn examples_validate_against_their_schema() {
    for dir in ["examples/acme", "examples/split"] {
        for entry in fs::read_dir(root().join(dir)).unwrap() {
            let file = entry.unwrap().path();
            let schema = assert_valid_against_its_schema(&file);
            let declares_account = fs::read_to_string(&file)
                .unwrap()
                .contains("\nversion: 1\n");
            let expected = if declares_account {
                "roster.schema.json"
            } else {
                "roster-part.schema.json"
            };
            assert!(schema.ends_with(expected), "{}", file.display());
        }
    }
}

#[test]
fn schema_errors_point_at_the_node() {
    let text = format!(
        "{HEAD}users:\n{}  - email: b@acme.example\n    name: B\n    role: Agent\n    colour: red\n    extension: 2001\n",
        admin("a@acme.example")
    );
    let (code, err) = check("roster.yaml", text.as_bytes());
    assert_eq!(code, 1);
    insta::assert_snapshot!(err);
}

#[test]
fn duplicate_email_names_both_lines() {
    let text = format!(
        "{HEAD}users:\n{}  - email: B@acme.example\n    name: B\n    role: Agent\n  - email: b@ACME.example\n    name: B2\n    role: Agent\n",
        admin("a@acme.example")
    );
    let (code, err) = check("roster.yaml", text.as_bytes());
    assert_eq!(code, 1);
    assert!(
        err.contains("roster.yaml:11:12") && err.contains("roster.yaml:8:12"),
        "{err}"
    );
    insta::assert_snapshot!(err);
}

#[test]
fn semantic_errors_are_all_reported() {
    let text = format!(
        "{HEAD}policy:\n  min_admins: 2\n  required_admins: [boss@acme.example]\n  ignore: [\"*@vendor.example\", \"[bad\"]\n  max_deactivations: \"150%\"\nteams: [ {{ name: Billing }} ]\nusers:\n{}  - email: not-an-email\n    name: B\n    role: Manager\n    teams: [Sales]\n    extension: \"1911\"\n    time_zone: Mars/Olympus\n    language: \"english please\"\n  - email: c@vendor.example\n    name: C\n    role: Agent\n    extension: \"1911\"\n    phone:\n      caller_id: \"12345\"\n      call_forward: {{ enabled: true }}\n      default_country_code: XX\n",
        admin("a@acme.example")
    );
    let (code, err) = check("roster.yaml", text.as_bytes());
    assert_eq!(code, 1);
    insta::assert_snapshot!(err);
}

#[test]
fn messages_name_the_choices_and_the_nearest_name() {
    let text = "version: 1\nprovider: { kind: talkdesk, account: acme }\npolicy: { max_deactivations: \"10 percent\" }\nroles: [ { name: Administrator, admin: true }, { name: Supervisor } ]\nuser: []\nusers:\n  - { email: a@acme.example, name: A, role: Administrator, timezone: Europe/Lisbon }\n  - { email: b@acme.example, name: B, role: Administrator, status: disabled }\n";
    let (code, err) = check("roster.yaml", text.as_bytes());
    assert_eq!(code, 1);
    assert!(
        !err.contains("anyOf") && !err.contains("schema/roster.schema.json"),
        "{err}"
    );
    insta::assert_snapshot!(err);
    let text = "version: 1\nprovider: { kind: talkdesk, account: acme }\nroles: [ { name: Administrator, admin: true }, { name: Supervisor } ]\nusers:\n  - { email: a@acme.example, name: A, role: Administrator, time_zone: Europe/Lisbn }\n  - { email: b@acme.example, name: B, role: Supervisr }\n";
    let (code, err) = check("roster.yaml", text.as_bytes());
    assert_eq!(code, 1);
    insta::assert_snapshot!("semantic_suggestions", err);
    let text = "version: 1\nprovider: { kind: talkdesk, account: acme }\npolicy: { email_domains: [acme.example] }\nroles: [ { name: Administrator, admin: true } ]\nusers:\n  - { email: a@acme.example, name: A, role: Administrator }\n  - { email: b@acme.exmaple, name: B, role: Administrator }\n";
    let (code, err) = check("roster.yaml", text.as_bytes());
    assert_eq!(code, 1);
    assert!(err.contains("roster.yaml:7:"), "{err}");
    assert!(err.contains("hint: did you mean `acme.example`?"), "{err}");
    let text = "version: 1\nprovider: { kind: talkdesk, account: acme }\nroles: [ { name: Administrator, admin: true } ]\nusers:\n  - { email: a@acme.example, name: A, role: Administrator }\n  - { name: Bea Lopes, role: Administrator }\n";
    let (code, err) = check("roster.yaml", text.as_bytes());
    assert_eq!(code, 1);
    assert!(
        err.contains("`email` is missing (user `Bea Lopes`, who has no email)"),
        "{err}"
    );
}

#[test]
fn min_admins_zero_is_an_error() {
    let text = format!(
        "{HEAD}policy: {{ min_admins: 0 }}\nusers:\n{}",
        admin("a@acme.example")
    );
    let (code, err) = check("roster.yaml", text.as_bytes());
    assert_eq!(code, 1);
    assert!(err.contains("min_admins is 0; the floor is 1"), "{err}");
}

#[test]
fn json_format_lists_errors() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("r.yaml"),
        format!("{HEAD}users:\n  - {{ email: x, name: X, role: Agent }}\n"),
    )
    .unwrap();
    let out = roster(dir.path(), &["validate", "r.yaml", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(
        v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["line"] == 7 && e["file"] == "r.yaml")
    );
}

#[test]
fn directory_merges_and_reports_keys_declared_twice() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("a.yaml"),
        format!("{HEAD}users:\n{}", admin("a@acme.example")),
    )
    .unwrap();
    fs::write(
        dir.path().join("b.yml"),
        "provider: { kind: talkdesk, account: other }\nroles:\n  - { name: Agent }\nusers:\n  - { email: A@acme.example, name: A2, role: Agent }\n",
    )
    .unwrap();
    fs::write(dir.path().join("notes.txt"), "not yaml").unwrap();
    let out = roster(dir.path(), &["validate", "."]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(stderr(&out));
}

/// Every class of hostile input: a clear located error, never a panic.
#[test]
fn hostile_inputs() {
    let bomb = {
        let mut s = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            let refs = vec![format!("*{prev}"); 9].join(", ");
            s.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        s
    };
    let deep = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("alias_bomb", bomb.into_bytes()),
        ("deep_nesting", deep.into_bytes()),
        ("invalid_utf8", b"version: 1\nprovider: \xff\xfe\n".to_vec()),
        ("duplicate_key", b"version: 1\nversion: 1\n".to_vec()),
        (
            "tab_indent",
            b"version: 1\nprovider:\n\tkind: talkdesk\n".to_vec(),
        ),
        ("non_mapping_root", b"- a\n- b\n".to_vec()),
        ("empty", b"# nothing here\n".to_vec()),
        ("multi_document", b"version: 1\n---\nversion: 1\n".to_vec()),
        (
            "unclosed_flow",
            b"version: 1\nroles: [ { name: A\n".to_vec(),
        ),
    ];
    let mut all = String::new();
    for (name, bytes) in cases {
        let (code, err) = check("roster.yaml", &bytes);
        assert_eq!(code, 1, "{name}: {err}");
        assert!(err.contains(" --> roster.yaml:"), "{name}: {err}");
        assert!(!err.contains("panicked"), "{name}: {err}");
        all.push_str(&format!("--- {name}\n{err}"));
    }
    insta::assert_snapshot!(all);
}

/// The corpus under `tests/fixtures/broken`, one file per kind of mistake (its first line
/// says which): every message quotes its line with a caret under the place and says what
/// to do, in the roster's words. One reviewed snapshot per file.
#[test]
fn broken_rosters_are_explained() {
    let dir = root().join("tests/fixtures/broken");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert!(files.len() >= 25, "the corpus has {} files", files.len());
    for file in files {
        let out = roster(&dir, &["validate", &file]);
        assert_eq!(out.status.code(), Some(1), "{file}");
        let err = stderr(&out);
        let (problems, count) = err.trim_end().rsplit_once("\n\n").unwrap();
        assert!(count.ends_with(" found"), "{file}: {err}");
        for block in problems.split("\n\n") {
            assert!(block.starts_with("error: "), "{file}: {block}");
            assert!(block.contains(&format!(" --> {file}:")), "{file}: {block}");
            let caret = block
                .lines()
                .any(|l| l.trim_start().starts_with('|') && l.contains('^'));
            assert!(caret, "{file}: no caret in\n{block}");
            assert!(block.contains("= hint: "), "{file}: no hint in\n{block}");
        }
        for jargon in [
            "anyOf", "oneOf", "schema/", "instance", "panicked", "/users/",
        ] {
            assert!(!err.contains(jargon), "{file} says {jargon}: {err}");
        }
        let name = file.trim_end_matches(".yaml");
        insta::assert_snapshot!(name, err);
    }
}

#[test]
fn hundred_megabyte_file_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = fs::File::create(dir.path().join("big.yaml")).unwrap();
    f.set_len(100 * 1024 * 1024).unwrap();
    let out = roster(dir.path(), &["validate", "big.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    insta::assert_snapshot!(stderr(&out));
}

#[test]
fn a_number_or_sip_phone_on_two_users_names_both_lines() {
    let text = format!(
        "{HEAD}users:\n{}  - email: b@acme.example\n    name: B\n    role: Agent\n    phone: {{ numbers: [\"+351211230001\"], sip_phones: [desk-1] }}\n  - email: c@acme.example\n    name: C\n    role: Agent\n    phone:\n      numbers: [\"+351211230009\", \"+351211230001\"]\n      sip_phones: [desk-1]\n",
        admin("a@acme.example")
    )
    .replace("account: acme }", "account: acme, modeled: [phone] }");
    let (code, err) = check("roster.yaml", text.as_bytes());
    assert_eq!(code, 1);
    insta::assert_snapshot!(err);
}

/// A link that leads out of the roster's directory is refused by name, and nothing of
/// what it leads to is quoted: in a pull request's checkout, a link to
/// `/proc/self/environ` would otherwise print the job's secrets. A link that stays
/// inside the directory is read like any file.
#[cfg(target_os = "linux")]
#[test]
fn links_out_of_the_roster_are_refused_without_quoting_them() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let at = |p: &str| dir.path().join(p);
    fs::create_dir_all(at("roster/parts")).unwrap();
    fs::write(
        at("roster/00-account.yaml"),
        format!("{HEAD}users:\n{}", admin("ada@acme.example")),
    )
    .unwrap();
    fs::write(
        at("roster/parts/billing.yaml"),
        "users:\n  - { email: ben@acme.example, name: Ben Example, role: Agent }\n",
    )
    .unwrap();
    symlink("parts/billing.yaml", at("roster/10-billing.yaml")).unwrap();
    let out = roster(dir.path(), &["validate", "roster"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stdout(&out).starts_with("2 users,"), "{}", stdout(&out));

    fs::write(at("outside.yaml"), "token: outside-secret-value\n").unwrap();
    symlink("../outside.yaml", at("roster/20-outside.yaml")).unwrap();
    symlink("/proc/self/environ", at("roster/30-env.yaml")).unwrap();
    symlink("/proc/self/environ", at("env.yaml")).unwrap();
    symlink("roster", at("inside")).unwrap();
    symlink(dir.path().join("roster/parts"), at("roster/linked")).unwrap();
    symlink("/etc", at("elsewhere")).unwrap();
    let mut all = String::new();
    for args in [
        ["validate", "roster"],
        ["validate", "roster/20-outside.yaml"],
        ["validate", "env.yaml"],
        ["validate", "inside"],
        ["validate", "elsewhere"],
        ["plan", "roster"],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(args)
            .current_dir(dir.path())
            // A short environment, so that an excerpt of it would not be cut short.
            .env_clear()
            .env("NO_COLOR", "1")
            .env("TALKDESK_CLIENT_SECRET", "environment-secret-value")
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(code(&out), 1, "{args:?}: {err}");
        assert!(
            !err.contains("secret-value") && stdout(&out).is_empty(),
            "{args:?} quotes what the link leads to: {err}"
        );
        all.push_str(&format!("--- roster {}\n{err}", args.join(" ")));
    }
    insta::assert_snapshot!(all);
    // An absolute path's own links are the operator's, but the file is still held to
    // the directory it is named in.
    let file = at("roster/30-env.yaml");
    let out = roster(dir.path(), &["validate", file.to_str().unwrap()]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("30-env.yaml is a link to a file outside the roster's directory"),
        "{}",
        stderr(&out)
    );
}

/// Names and emails hold what a person's do: a control character is refused at its
/// line, an address keeps RFC 5321's lengths (254 bytes, 64 before the `@`), a name
/// its modeled bound, and an address that looks like another one the roster declares
/// (Unicode's confusables) is refused naming the other; an address that mixes scripts
/// on its own is a warning. Accented names and addresses stay valid and silent.
#[test]
fn names_and_emails_hold_only_what_a_person_has() {
    let roster_of = |users: &str| format!("{HEAD}users:\n{}{users}", admin("ada@acme.example"));
    let user = |email: &str, name: &str| {
        format!("  - {{ email: \"{email}\", name: \"{name}\", role: Agent }}\n")
    };
    let local = "b".repeat(65);
    let domain = format!("{}.example", "d".repeat(250));
    let refused = [
        ("nul_in_name", user("ben@acme.example", "Ben\\0Example")),
        (
            "line_break_in_name",
            user("ben@acme.example", "Ben\\nExample"),
        ),
        (
            "escape_in_name",
            user("ben@acme.example", "Ben \\e[2JExample"),
        ),
        (
            "escape_in_email",
            user("ben\\e[2J@acme.example", "Ben Example"),
        ),
        (
            "local_part_too_long",
            user(&format!("{local}@acme.example"), "Ben Example"),
        ),
        (
            "address_too_long",
            user(&format!("ben@{domain}"), "Ben Example"),
        ),
        (
            "address_over_254_bytes_in_utf8",
            user(
                &format!("b@{}.example", "\u{e9}".repeat(130)),
                "Ben Example",
            ),
        ),
        (
            "cyrillic_o_looks_like_a_declared_address",
            user("ops-lead@acme.example", "Olga Ops")
                + &user("\u{43e}ps-lead@acme.example", "Olga Ops"),
        ),
        (
            "cyrillic_a_in_the_domain",
            user("\u{43e}ps-lead@\u{430}cme.example", "Olga Ops")
                + &user("ops-lead@acme.example", "Olga Ops"),
        ),
    ];
    let mut all = String::new();
    for (name, users) in refused {
        let (code, err) = check("roster.yaml", roster_of(&users).as_bytes());
        assert_eq!(code, 1, "{name}: {err}");
        assert!(
            !err.contains('\u{1b}') && !err.contains('\0'),
            "{name}: {err}"
        );
        all.push_str(&format!("--- {name}\n{err}"));
    }
    insta::assert_snapshot!(all);

    // 30 MB of text is no one's name: refused without being repeated in the message.
    let long = "x".repeat(30_000_000);
    let (code, err) = check(
        "roster.yaml",
        roster_of(&user("ben@acme.example", &long)).as_bytes(),
    );
    assert_eq!(code, 1, "{}", &err[..err.len().min(2_000)]);
    assert!(err.len() < 2_000, "{}", &err[..2_000]);
    assert!(err.contains("at most 256 characters"), "{err}");

    // An address that mixes scripts and imitates no other is a warning.
    let (code, err) = check(
        "roster.yaml",
        roster_of(&user("\u{43e}lga@acme.example", "Olga Ops")).as_bytes(),
    );
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("mixed_script_address_is_a_warning", err);

    // Accents, other scripts on their own, and names in any script are people's.
    let people = user(
        "jos\u{e9}.n\u{fa}\u{f1}ez@acme.example",
        "Jos\u{e9} N\u{fa}\u{f1}ez",
    ) + &user("zo\u{eb}@acme.example", "Zo\u{eb} Example")
        + &user("zoe@acme.example", "Zoe Example")
        + &user(
            "\u{438}\u{432}\u{430}\u{43d}@acme.example",
            "\u{418}\u{432}\u{430}\u{43d} \u{41f}\u{435}\u{442}\u{440}\u{43e}\u{432}",
        )
        + &user("mei@acme.example", "\u{674e}\u{7f8e}");
    let (code, err) = check("roster.yaml", roster_of(&people).as_bytes());
    assert_eq!((code, err.as_str()), (0, ""));
}

/// A roster file whose name carries a line break and a workflow command is refused by
/// name, and nothing roster prints starts a line GitHub would read as a command.
#[test]
fn a_file_name_cannot_issue_workflow_commands() {
    let dir = tempfile::tempdir().unwrap();
    let roster = dir.path().join("roster");
    fs::create_dir(&roster).unwrap();
    fs::write(
        roster.join("00-account.yaml"),
        format!("{HEAD}users:\n{}", admin("a@acme.example")),
    )
    .unwrap();
    fs::write(
        roster.join("04-x\n::warning file=x::INJECTED\n::set-output name=exitcode::0\n.yaml"),
        "users: []\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["validate", "roster"])
        .current_dir(dir.path())
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(all.contains("has a control character in its name"), "{all}");
    for line in all.lines() {
        assert!(
            !line.starts_with("::") || line.starts_with("::error file="),
            "a line GitHub reads as a command: {line}\n{all}"
        );
    }
    assert!(!all.contains("\n::warning"), "{all}");
}
