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
