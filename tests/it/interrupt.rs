//! An apply that is killed, interrupted, terminated, cut short by a journal that cannot
//! grow, or run twice at once, against `roster sandbox serve` with latency so that it is
//! caught in the middle of a phase.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Server, acme, code, stderr, stdout};

/// The one journal the server's directory holds, as parsed lines.
fn journal(server: &Server) -> Vec<Value> {
    let Some(path) = journal_path(server) else {
        return Vec::new();
    };
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn journal_path(server: &Server) -> Option<PathBuf> {
    let dir = std::fs::read_dir(server.path(".roster/journal")).ok()?;
    dir.filter_map(Result::ok).map(|e| e.path()).next()
}

/// Keys of the journal's events named `event`.
fn keys(lines: &[Value], event: &str) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l["event"] == event)
        .map(|l| l["key"].as_str().unwrap().to_lowercase())
        .collect()
}

/// Waits until the journal holds `n` results (the apply is mid-way), or fails.
fn wait_for_results(server: &Server, n: usize) {
    let start = Instant::now();
    while keys(&journal(server), "result").len() < n {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "apply never got {n} changes done"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until the journal holds `n` results and a change sent without its result yet
/// (one is in flight: between phases nothing is), or fails.
fn wait_for_in_flight(server: &Server, n: usize) {
    let start = Instant::now();
    loop {
        let lines = journal(server);
        let results: BTreeSet<String> = keys(&lines, "result").into_iter().collect();
        let pending = keys(&lines, "send")
            .into_iter()
            .any(|k| !results.contains(&k));
        if results.len() >= n && pending {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "apply never had a change in flight after {n} results"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn signal(child: &std::process::Child, sig: &str) {
    let status = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The keys (lowercase) of the report's lines that start with `prefix` ("action key ...").
fn listed(report: &str, prefix: &str) -> BTreeSet<String> {
    report
        .lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .map(|rest| rest.split_whitespace().nth(1).unwrap().to_lowercase())
        .collect()
}

/// The number before `what` in the report's first line ("3 change(s) applied").
fn count(report: &str, what: &str) -> usize {
    let head = report
        .lines()
        .find(|l| l.contains(what))
        .unwrap_or_default();
    let before = head.split(what).next().unwrap();
    before.split_whitespace().last().unwrap().parse().unwrap()
}

/// Asserts that the report accounts for each of the plan's 17 changes once: applied,
/// failed, in doubt or not sent.
fn assert_every_change_accounted_for(report: &str) {
    let lines = |p: &str| report.lines().filter(|l| l.starts_with(p)).count();
    let total = count(report, " change(s) applied")
        + lines("  failed ")
        + lines("  in doubt: ")
        + lines("  not sent: ");
    assert_eq!(total, 17, "{report}");
    assert_eq!(
        count(report, " in doubt"),
        lines("  in doubt: "),
        "{report}"
    );
    assert_eq!(
        count(report, " not sent"),
        lines("  not sent: "),
        "{report}"
    );
}

/// Asserts that the report ends its first line with the journal's path.
fn assert_names_the_journal(report: &str, server: &Server) {
    let path = journal_path(server).unwrap();
    let name = path.file_name().unwrap().to_str().unwrap();
    let journal = format!("Journal: .roster/journal/{name}\n");
    assert!(report.contains(&journal), "{report}");
}

/// Every user the emulator's history shows as changed.
fn changed_in_emulator(server: &Server) -> BTreeSet<String> {
    server
        .history()
        .into_iter()
        .map(|h| h.email.to_lowercase())
        .collect()
}

#[test]
fn a_killed_apply_leaves_a_journal_of_everything_it_sent_and_a_rerun_converges() {
    let server = Server::start(Some("examples/acme"), None, &["--latency-ms", "150"]);
    let mut child =
        server.spawn_roster(&["apply", &acme(), "--auto-approve", "--concurrency", "2"]);
    wait_for_results(&server, 3);
    signal(&child, "-KILL");
    child.wait().unwrap();

    let lines = journal(&server);
    let sent: BTreeSet<String> = keys(&lines, "send").into_iter().collect();
    let done = changed_in_emulator(&server);
    assert!(!done.is_empty());
    let missing: Vec<_> = done.difference(&sent).collect();
    assert!(
        missing.is_empty(),
        "changed but not journalled: {missing:?}"
    );
    assert!(
        !lines.iter().any(|l| l["event"] == "end"),
        "the apply was killed before its end"
    );

    let out = server.roster(&["apply", &acme(), "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let out = server.roster(&["plan", &acme(), "--detailed-exitcode"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    server.assert_no_delete();
}

#[test]
fn an_interrupted_apply_finishes_what_is_in_flight_and_sends_nothing_more() {
    let server = Server::start(Some("examples/acme"), None, &["--latency-ms", "150"]);
    let child = server.spawn_roster(&["apply", &acme(), "--auto-approve", "--concurrency", "2"]);
    wait_for_results(&server, 2);
    signal(&child, "-INT");
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 130, "{}{}", stdout(&out), stderr(&out));

    let lines = journal(&server);
    let (sent, results) = (keys(&lines, "send"), keys(&lines, "result"));
    assert_eq!(
        sent.iter().collect::<BTreeSet<_>>(),
        results.iter().collect::<BTreeSet<_>>(),
        "every change sent was let finish"
    );
    let end = lines.last().unwrap();
    assert_eq!(end["event"], "end");
    assert_eq!(end["stopped"], "interrupted");
    let not_sent = end["not_sent"].as_u64().unwrap() as usize;
    assert!(not_sent > 0, "the interrupt came too late to test: {end}");
    assert_eq!(sent.len() + not_sent, 17, "{end}");
    let report = stdout(&out);
    assert!(report.contains("Apply stopped (interrupted)"), "{report}");
    assert_eq!(report.matches("  not sent: ").count(), not_sent, "{report}");

    // Nothing reached the emulator after the report: its history names only users
    // the journal sent.
    let done = changed_in_emulator(&server);
    let sent: BTreeSet<String> = sent.into_iter().collect();
    assert!(done.is_subset(&sent), "{done:?} vs {sent:?}");
    server.assert_no_delete();
}

#[test]
fn a_terminated_apply_finishes_what_is_in_flight_reports_and_exits_143() {
    let server = Server::start(Some("examples/acme"), None, &["--latency-ms", "150"]);
    let child = server.spawn_roster(&["apply", &acme(), "--auto-approve", "--concurrency", "2"]);
    wait_for_results(&server, 2);
    signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 143, "{}{}", stdout(&out), stderr(&out));

    let lines = journal(&server);
    let (sent, results) = (keys(&lines, "send"), keys(&lines, "result"));
    assert_eq!(
        sent.iter().collect::<BTreeSet<_>>(),
        results.iter().collect::<BTreeSet<_>>(),
        "every change sent was let finish"
    );
    let end = lines.last().unwrap();
    assert_eq!(end["event"], "end");
    assert!(
        end["not_sent"].as_u64().unwrap() > 0,
        "too late to test: {end}"
    );
    let report = stdout(&out);
    assert!(report.contains("Apply stopped (interrupted)"), "{report}");
    assert_names_the_journal(&report, &server);
    assert_every_change_accounted_for(&report);
    let done = changed_in_emulator(&server);
    assert!(done.is_subset(&sent.into_iter().collect()), "{done:?}");
    server.assert_no_delete();
}

#[test]
fn a_second_interrupt_right_after_the_first_quits_at_once_after_a_summary() {
    let server = Server::start(Some("examples/acme"), None, &["--latency-ms", "150"]);
    let child = server.spawn_roster(&["apply", &acme(), "--auto-approve", "--concurrency", "2"]);
    // A change in flight when the signals come: at a phase boundary the first one
    // would end the apply at once, before the second arrives.
    wait_for_in_flight(&server, 2);
    signal(&child, "-INT");
    signal(&child, "-INT");
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 130, "{}{}", stdout(&out), stderr(&out));

    let lines = journal(&server);
    assert!(
        !lines.iter().any(|l| l["event"] == "end"),
        "it quit without waiting for the changes in flight"
    );
    let report = stdout(&out);
    assert!(report.contains("Apply quit at once"), "{report}");
    assert_names_the_journal(&report, &server);
    assert_every_change_accounted_for(&report);
    // Whatever the journal shows sent without a result is in doubt in the summary.
    let results: BTreeSet<String> = keys(&lines, "result").into_iter().collect();
    let unanswered: BTreeSet<String> = keys(&lines, "send")
        .into_iter()
        .filter(|k| !results.contains(k))
        .collect();
    let in_doubt = listed(&report, "  in doubt: ");
    assert!(
        unanswered.is_subset(&in_doubt),
        "{unanswered:?} vs {report}"
    );
    let sent: BTreeSet<String> = keys(&lines, "send").into_iter().collect();
    assert!(changed_in_emulator(&server).is_subset(&sent));
    server.assert_no_delete();
}

/// `cmd` run by bash with files limited to `kib` KiB (`ulimit -f`): the journal stops
/// growing mid-run as on a full disk. SIGXFSZ is ignored, so a write past the limit fails
/// with EFBIG instead of killing roster.
fn under_file_size_limit(cmd: &Command, kib: u32) -> Command {
    let mut wrapped = Command::new("bash");
    wrapped
        .arg("-c")
        .arg(format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\" \"$@\""))
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .current_dir(cmd.get_current_dir().unwrap());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    wrapped
}

#[test]
fn a_journal_that_cannot_grow_keeps_whole_lines_and_the_report_names_the_changes_in_doubt() {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let apply = server.command(&["apply", &acme(), "--auto-approve", "--concurrency", "1"]);
    // Room for the start line and a few changes out of 17.
    let out = under_file_size_limit(&apply, 2).output().unwrap();
    assert_eq!(code(&out), 1, "{}{}", stdout(&out), stderr(&out));
    let report = stdout(&out);
    assert!(
        report.contains("Apply stopped (the journal could not be written"),
        "{report}\n{}",
        stderr(&out)
    );
    assert_every_change_accounted_for(&report);

    let text = std::fs::read_to_string(journal_path(&server).unwrap()).unwrap();
    assert!(text.ends_with('\n'), "a line was cut short: {text}");
    for line in text.lines() {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok(), "not a whole record: {line}");
    }
    // Nothing was sent unrecorded, and each change sent whose result the journal lacks
    // is named in doubt.
    let lines = journal(&server);
    let sent: BTreeSet<String> = keys(&lines, "send").into_iter().collect();
    assert!(changed_in_emulator(&server).is_subset(&sent));
    let results: BTreeSet<String> = keys(&lines, "result").into_iter().collect();
    let unanswered: BTreeSet<String> = sent.difference(&results).cloned().collect();
    assert_eq!(unanswered, listed(&report, "  in doubt: "), "{report}");
    assert!(count(&report, " not sent") > 0, "{report}");

    let out = server.roster(&["apply", &acme(), "--auto-approve"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let out = server.roster(&["plan", &acme(), "--detailed-exitcode"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    server.assert_no_delete();
}

#[test]
fn a_second_apply_on_the_account_is_refused_or_waits() {
    let server = Server::start(Some("examples/acme"), None, &["--latency-ms", "100"]);
    let first = server.spawn_roster(&["apply", &acme(), "--auto-approve", "--concurrency", "1"]);
    let first_pid = first.id();
    wait_for_results(&server, 1);

    let refused = server.roster(&["apply", &acme(), "--auto-approve"]);
    assert_eq!(code(&refused), 1, "{}", stdout(&refused));
    let err = stderr(&refused);
    assert!(
        err.contains(&format!(
            "another apply is running on this account (roster apply, pid {} by",
            first.id()
        )),
        "{err}"
    );
    assert!(err.contains("--lock-timeout"), "{err}");
    // The same server by another name is the same account.
    let local = server.url.replace("127.0.0.1", "localhost");
    let token = format!("{local}/oauth/token");
    let renamed = server.roster_env(
        &["apply", &acme(), "--auto-approve"],
        &[
            ("TALKDESK_BASE_URL", &local),
            ("TALKDESK_TOKEN_URL", &token),
        ],
    );
    assert_eq!(code(&renamed), 1, "{}", stdout(&renamed));
    assert!(
        stderr(&renamed).contains("another apply is running on this account"),
        "{}",
        stderr(&renamed)
    );

    let waited = server.roster(&["apply", &acme(), "--auto-approve", "--lock-timeout", "120"]);
    let first = first.wait_with_output().unwrap();
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    assert_eq!(code(&waited), 0, "{}", stderr(&waited));
    let said = stderr(&waited);
    assert!(
        said.contains(&format!(
            "Waiting up to 120 s for the lock on this account, held by roster apply, pid {} by",
            first_pid
        )) && said.contains("; giving up at "),
        "{said}"
    );
    assert!(!said.contains("unknown user"), "{said}");
    assert!(
        stdout(&waited).contains("No changes"),
        "{}",
        stdout(&waited)
    );
    server.assert_no_delete();
}
