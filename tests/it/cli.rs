//! The command line's conventions: usage errors, help, completions and the man page.

use crate::support::{acme, code, roster, stderr, stdout};

#[test]
fn a_usage_error_exits_1_not_2_which_means_changes() {
    let dir = tempfile::tempdir().unwrap();
    let out = roster(dir.path(), &["plna"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let out = roster(dir.path(), &["validate", "--format", "markdown"]);
    assert_eq!(
        code(&out),
        1,
        "validate prints only text or json: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("[possible values: text, json]"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_sandbox_path_given_apart_gets_a_hint() {
    let acme = acme();
    let dir = tempfile::tempdir().unwrap();
    let out = roster(dir.path(), &["plan", "--sandbox", "state.json", &acme]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("hint: give the sandbox state file with `=`: --sandbox=PATH"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn every_command_lists_its_exit_codes_in_its_help() {
    let dir = tempfile::tempdir().unwrap();
    for command in [
        "validate",
        "plan",
        "apply",
        "import",
        "sandbox",
        "github",
        "schema",
        "completions",
        "man",
    ] {
        let out = roster(dir.path(), &[command, "--help"]);
        assert_eq!(code(&out), 0, "{command}");
        assert!(
            stdout(&out).contains("Exit codes: 0 "),
            "{command}:\n{}",
            stdout(&out)
        );
    }
    assert!(stdout(&roster(dir.path(), &["plan", "--help"])).contains("2 changes to apply"));
    assert!(stdout(&roster(dir.path(), &["apply", "--help"])).contains("130 interrupted"));
}

#[test]
fn completions_and_the_man_page_come_from_the_definitions() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = roster(dir.path(), &["completions", shell]);
        assert_eq!(code(&out), 0, "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for sub in ["validate", "plan", "apply", "import"] {
            assert!(script.contains(sub), "{shell} completes {sub}");
        }
    }
    let bash = stdout(&roster(dir.path(), &["completions", "bash"]));
    std::fs::write(dir.path().join("roster.bash"), &bash).unwrap();
    let syntax = std::process::Command::new("bash")
        .args(["-n", "roster.bash"])
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(syntax.success(), "the bash completion script parses");
    let man = roster(dir.path(), &["man"]);
    assert_eq!(code(&man), 0);
    let page = stdout(&man);
    assert!(
        page.contains(".TH roster 1") && page.contains("plan"),
        "{page}"
    );
}

#[test]
fn a_plan_with_nothing_to_change_says_so_and_lists_the_open_manual_steps() {
    let server = crate::support::Server::start(Some("examples/acme"), None, &[]);
    let acme = acme();
    let out = server.roster(&["apply", &acme, "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let brief = stdout(&server.roster(&["plan", &acme]));
    let (head, steps) = brief
        .split_once("No changes for roster to make.\n")
        .unwrap_or_else(|| panic!("{brief}"));
    assert!(head.lines().all(|l| l.starts_with("warning: ")), "{brief}");
    // The extensions no API writes are still open, and said so: no changes is not done.
    assert!(
        steps.starts_with("6 manual steps are still open (roster cannot make them):\n"),
        "{brief}"
    );
    assert_eq!(
        steps.lines().filter(|l| l.starts_with("  * ")).count(),
        6,
        "{brief}"
    );
    assert!(!brief.contains("null"), "{brief}");
    let full = stdout(&server.roster(&["plan", &acme, "-v"]));
    assert!(full.contains("Guards:") && full.contains("Seats"), "{full}");
}

#[test]
fn man_out_writes_every_page_the_first_one_lists() {
    let dir = tempfile::tempdir().unwrap();
    let out = roster(dir.path(), &["man", "--out", "pages"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let pages = dir.path().join("pages");
    let top = std::fs::read_to_string(pages.join("roster.1")).unwrap();
    for page in [
        "roster-plan",
        "roster-apply",
        "roster-validate",
        "roster-import",
        "roster-github",
        "roster-github-verify",
        "roster-sandbox-serve",
    ] {
        let text = std::fs::read_to_string(pages.join(format!("{page}.1")))
            .unwrap_or_else(|e| panic!("{page}.1: {e}"));
        assert!(text.contains(".TH"), "{page}.1 is a manual page");
    }
    assert!(top.contains("roster\\-plan(1)"), "{top}");
}

#[test]
fn help_says_what_configures_roster_and_what_its_flags_mean() {
    let dir = tempfile::tempdir().unwrap();
    let help = |args: &[&str]| stdout(&roster(dir.path(), args));
    for command in ["plan", "apply", "import"] {
        let text = help(&[command, "--help"]);
        for var in [
            "TALKDESK_CLIENT_ID",
            "TALKDESK_CLIENT_SECRET",
            "TALKDESK_SCIM_TOKEN",
            "CLOUDTALK_ACCESS_KEY_ID",
            "CLOUDTALK_ACCESS_KEY_SECRET",
            "ROSTER_APPROVAL_KEY",
        ] {
            assert!(text.contains(var), "{command} --help lacks {var}:\n{text}");
        }
    }
    // N is the plan's whole count, not a count beyond the limit.
    for command in ["plan", "apply"] {
        let text = help(&[command, "--help"]);
        assert!(
            text.contains("deactivate up to N users in all") && !text.contains("users beyond"),
            "{text}"
        );
    }
    // validate describes what it prints: the message first, the location under it.
    let text = help(&["validate", "--help"]);
    assert!(text.contains("`--> file:line:col`"), "{text}");
    assert!(!text.contains("`file:line:col: error:"), "{text}");
    let text = help(&["import", "--help"]);
    assert!(
        text.contains("--split-by <BY>") && text.contains("- team: "),
        "{text}"
    );
}

#[test]
fn masked_hashes_agree_across_commands_under_one_approval_key() {
    let server = crate::support::Server::start(Some("examples/acme"), None, &[]);
    let key = ("ROSTER_APPROVAL_KEY", "0123456789abcdef0123456789abcdef");
    let masked = |env: &[(&str, &str)]| {
        let out = server.roster_env(
            &["plan", &acme(), "--mask-pii", "--format", "markdown"],
            env,
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        stdout(&out)
    };
    assert_eq!(
        masked(&[key]),
        masked(&[key]),
        "one key, one hash per value"
    );
    assert_ne!(
        masked(&[]),
        masked(&[]),
        "without a key, each command draws its own"
    );
}
