//! Names and emails an account may hold, over HTTP against `roster sandbox serve`: plan
//! text, Markdown and apply's progress show them as text, with no escape sequence for
//! the terminal and no markup, mention or hidden comment for GitHub.

use std::fs;

use crate::support::{Server, acme_text, code, stderr, stdout};

/// Vera Lopes's name in the roster: long enough for text to show a character diff.
const LONG: &str = "Vera Lopes of the Southern Region Support Team, Lisbon";

/// Will Turner's email in the account, after another administrator changed it.
const EMAIL: &str = "will.turner\x1b]8;;https://evil.example\x07@acme.example";

/// The acme roster with Vera Lopes's long name, written in the server's directory.
fn roster(server: &Server) -> String {
    let text = acme_text().replace("name: Vera Lopes\n", &format!("name: {LONG}\n"));
    fs::write(server.path("roster.yaml"), text).unwrap();
    "roster.yaml".to_string()
}

/// Changes a live user as [`Server::scim_edit`] does, again a second later while the
/// sandbox's SCIM rate limit (4 requests a second) refuses the read or the write.
fn edit(server: &Server, id: &str, change: impl Fn(&mut serde_json::Value)) {
    let mut status = 0;
    for _ in 0..5 {
        status = server.scim_edit(id, &change);
        if status == 200 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    }
    panic!("the sandbox answered {status} to every edit of {id}");
}

fn id_of(server: &Server, email: &str) -> String {
    let state: roster_sandbox::State =
        serde_json::from_slice(&fs::read(server.path("state.json")).unwrap()).unwrap();
    state
        .users
        .iter()
        .find(|u| u.email == email)
        .unwrap_or_else(|| panic!("{email} is in the seeded account"))
        .id
        .clone()
}

/// The acme account with escape sequences in Vera Lopes's long name, and Will Turner's
/// email and name changed to ones that carry an escape sequence, HTML, a mention and
/// a hidden comment.
fn hostile_server() -> Server {
    let server = Server::start(Some("examples/acme"), None, &[]);
    let vera = id_of(&server, "vera.lopes@acme.example");
    edit(&server, &vera, |u| {
        u["name"]["givenName"] = "Vera".into();
        u["name"]["familyName"] =
            "Lopes of the \x1b[2J\x1b]0;pwned\x07Southern Region Support Team, Lisbon".into();
    });
    let will = id_of(&server, "will.turner@acme.example");
    edit(&server, &will, |u| {
        u["userName"] = EMAIL.into();
        u["name"]["givenName"] = "</details><img src=x>".into();
        u["name"]["familyName"] = "@acme/admins <!-- roster:approved -->".into();
    });
    server
}

#[test]
fn plan_text_shows_escape_sequences_from_the_account_as_pictures() {
    let server = hostile_server();
    let out = server.roster(&["plan", &roster(&server)]);
    assert!(matches!(code(&out), 0 | 3), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains(['\x1b', '\x07']), "{text}");
    assert!(
        text.contains("Vera Lopes of the [-␛-][-[-][-2-][-J-]"),
        "the long name's diff: {text}"
    );
    assert!(
        text.contains("user will.turner␛]8;;https://evil.example␇@acme.example (deactivate)"),
        "{text}"
    );
}

#[test]
fn plan_markdown_shows_names_from_the_account_as_their_text() {
    let server = hostile_server();
    let out = server.roster(&["plan", &roster(&server), "--format", "markdown"]);
    assert!(matches!(code(&out), 0 | 3), "{}", stderr(&out));
    let md = stdout(&out);
    for raw in [
        "\x1b",
        "<!--",
        "-->",
        "<img",
        "</details><img",
        "@acme/admins",
    ] {
        assert!(!md.contains(raw), "{raw:?} in:\n{md}");
    }
    assert!(
        md.contains(
            "| &lt;/details&gt;&lt;img src=x&gt; @&#8203;acme/admins &lt;!-- roster:approved --&gt; | `will.turner␛]8;;https://evil.example␇@acme.example` | leaves (deactivated) |"
        ),
        "{md}"
    );
}

#[test]
fn apply_progress_shows_escape_sequences_from_the_account_as_pictures() {
    let server = hostile_server();
    let roster = roster(&server);
    let out = server.roster(&[
        "apply",
        &roster,
        "--auto-approve",
        "--allow-deactivations",
        "10",
    ]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let (text, progress) = (stdout(&out), stderr(&out));
    assert!(!text.contains(['\x1b', '\x07']), "{text}");
    assert!(!progress.contains(['\x1b', '\x07']), "{progress}");
    assert!(
        progress.contains("deactivate will.turner␛]8;;https://evil.example␇@acme.example: ok"),
        "{progress}"
    );
}

#[test]
fn a_stale_saved_plan_names_its_user_as_text() {
    let server = hostile_server();
    let roster = roster(&server);
    let out = server.roster(&["plan", &roster, "--out", "plan.json"]);
    assert!(matches!(code(&out), 0 | 3), "{}", stderr(&out));
    let will = id_of(&server, EMAIL);
    edit(&server, &will, |u| u["name"]["givenName"] = "Will".into());
    let out = server.roster(&["apply", &roster, "--plan", "plan.json", "--auto-approve"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains(['\x1b', '\x07']), "{err}");
    assert!(
        err.contains("error: will.turner␛]8;;https://evil.example␇@acme.example: it changed"),
        "{err}"
    );
}
