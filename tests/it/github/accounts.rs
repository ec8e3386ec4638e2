//! Many accounts from one repository: the action's script over two account directories
//! (`accounts/<name>/`) against two emulators and the fake GitHub, as a workflow's job
//! matrix runs it, one job per account.

use std::fs;

use serde_json::json;

use super::{action, fake_github, github, pr_event, runtime};
use crate::support::{Server, acme_text, code, stderr, stdout};

/// The acme roster as account `account`, with Ben Carter's name `ben`.
fn roster_of(account: &str, ben: &str) -> String {
    acme_text()
        .replace("account: acme,", &format!("account: {account},"))
        .replace("name: Ben Carter", &format!("name: {ben}"))
}

/// The script's environment for one account's job: its directory and its own
/// emulator (each account's credentials come from its own environment).
fn job(dir: &str, server: &Server) -> Vec<(String, String)> {
    vec![
        ("ROSTER_PATH".into(), dir.into()),
        ("TALKDESK_BASE_URL".into(), server.url.clone()),
        (
            "TALKDESK_TOKEN_URL".into(),
            format!("{}/oauth/token", server.url),
        ),
    ]
}

#[test]
fn two_accounts_get_a_comment_each_that_approves_only_their_own_changes() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    // The repository lives beside account A's emulator; account B has its own.
    let (a, b) = (
        Server::start(Some("examples/acme"), None, &[]),
        Server::start(Some("examples/acme"), None, &[]),
    );
    for (dir, account, ben) in [
        ("accounts/east", "acme-east", "Ben Carter"),
        ("accounts/west", "acme-west", "Benjamin Carter"),
    ] {
        fs::create_dir_all(a.path(dir)).unwrap();
        fs::write(
            a.path(&format!("{dir}/roster.yaml")),
            roster_of(account, ben),
        )
        .unwrap();
    }
    for (dir, server) in [("accounts/east", &a), ("accounts/west", &b)] {
        let env = job(dir, server);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let out = action(&a, &api, "plan", pr_event(7), &env);
        assert_eq!(code(&out), 0, "{dir}: {}{}", stdout(&out), stderr(&out));
    }
    let bodies = fake.lock().unwrap().bodies(7);
    assert_eq!(bodies.len(), 2, "one comment per account: {bodies:#?}");
    let of = |dir: &str| {
        bodies
            .iter()
            .find(|b| b.starts_with(&format!("<!-- roster:plan path={dir} -->")))
            .unwrap_or_else(|| panic!("no comment for {dir}: {bodies:#?}"))
    };
    assert!(of("accounts/east").contains("`talkdesk/acme-east`"));
    assert!(of("accounts/west").contains("Benjamin Carter"));
    assert!(!of("accounts/east").contains("Benjamin Carter"));

    // Merged: each account's plan passes with its own approval, and account west's
    // plan is refused under account east's approval.
    fake.lock().unwrap().merged.push(7);
    let push = json!({"ref": "refs/heads/main"});
    for (dir, server, plan) in [
        ("accounts/east", &a, "east.json"),
        ("accounts/west", &b, "west.json"),
    ] {
        let out = server.roster_env(
            &[
                "plan",
                &a.path(dir).display().to_string(),
                "--out",
                &a.path(plan).display().to_string(),
            ],
            &[],
        );
        assert!(matches!(code(&out), 0 | 2), "{}", stderr(&out));
        let out = github(&a, &api, &push, &["verify", "--plan", plan, "--path", dir]);
        assert_eq!(code(&out), 0, "{dir}: {}{}", stdout(&out), stderr(&out));
    }
    let out = github(
        &a,
        &api,
        &push,
        &["verify", "--plan", "west.json", "--path", "accounts/east"],
    );
    assert_eq!(code(&out), 3, "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("acme-east") && err.contains("acme-west"),
        "{err}"
    );
    a.assert_no_delete();
    b.assert_no_delete();
}
