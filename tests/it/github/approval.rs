//! The approval as an attacker with write access to a branch, or to a user's name in
//! the live account, would try it: forged in a name, edited into the bot's comment,
//! taken from an unmerged pull request or from another account's plan, or written by a
//! job without the key.

use std::fs;

use serde_json::{Value, json};

use super::{APPROVAL_KEY, Shared, acme_server, fake_github, github, pr_event, runtime, verify};
use crate::support::{Server, code, stderr, write_plan};

/// A sandbox with the acme roster, and two plans of it: `approved.json` as planned on
/// pull request 7, `merged.json` after a rename slipped in (pull request 8 approved
/// that one). Both are commented by the bot on their pull requests.
fn two_plans(api: &str) -> Server {
    let server = acme_server();
    plan_and_comment(&server, api, "roster", "approved.json", 7);
    let roster = server.path("roster/roster.yaml");
    let text = fs::read_to_string(&roster)
        .unwrap()
        .replace("name: Ben Carter", "name: Benjamin Carter");
    fs::write(server.path("merged.yaml"), text).unwrap();
    plan_and_comment(&server, api, "merged.yaml", "merged.json", 8);
    server
}

fn plan_and_comment(server: &Server, api: &str, roster: &str, out: &str, pr: u64) {
    let planned = server.roster(&["plan", roster, "--out", out]);
    assert_eq!(code(&planned), 0, "{}", stderr(&planned));
    let commented = github(server, api, &pr_event(pr), &["comment", "--plan", out]);
    assert_eq!(code(&commented), 0, "{}", stderr(&commented));
}

/// Replaces the body of the bot's comment on `n` as a collaborator's PATCH would: the
/// author stays the bot.
fn edit_bot_comment(fake: &Shared, n: u64, edit: impl FnOnce(&str) -> String) {
    let mut f = fake.lock().unwrap();
    let c = f.comments.iter_mut().find(|c| c.1 == n).unwrap();
    c.3 = edit(&c.3);
}

/// The signed block at the end of the bot's comment on `n`.
fn block_of(fake: &Shared, n: u64) -> String {
    let body = fake.lock().unwrap().bodies(n)[0].clone();
    let at = body
        .rfind("<!-- roster:approved v2")
        .expect("a signed block");
    body[at..].to_string()
}

fn refused(out: &std::process::Output, why: &str) {
    assert_eq!(code(out), 3, "{}", stderr(out));
    assert!(stderr(out).contains(why), "{}", stderr(out));
}

/// An earlier release's unsigned block approving `plan`'s change lines.
fn unsigned_block(server: &Server, plan: &str) -> String {
    let plan: roster_core::plan::Plan =
        serde_json::from_slice(&fs::read(server.path(plan)).unwrap()).unwrap();
    let mut block = format!("<!-- roster:approved\nchecksum={}\n", plan.checksum);
    for line in roster_core::review::change_lines(&plan) {
        block.push_str(&short(&line));
        block.push('\n');
    }
    block + "-->\n"
}

/// The unkeyed hash earlier releases wrote, so the tests can forge their blocks.
fn short(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))[..16].to_string()
}

#[test]
fn a_block_in_a_live_users_name_approves_nothing() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = acme_server();
    // Pull request 8 approves the merged plan; its signed block and an unsigned one of
    // the same lines go into the name of a live user the roster does not manage.
    let roster = server.path("roster/roster.yaml");
    let text = fs::read_to_string(&roster)
        .unwrap()
        .replace("name: Ben Carter", "name: Benjamin Carter");
    fs::write(server.path("merged.yaml"), &text).unwrap();
    plan_and_comment(&server, &api, "merged.yaml", "merged.json", 8);
    let plan: Value =
        serde_json::from_slice(&fs::read(server.path("merged.json")).unwrap()).unwrap();
    let leaving = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["action"] == "deactivate")
        .expect("the acme account has an unmanaged user");
    // Whatever block the bot wrote (an earlier release wrote the unsigned one).
    let body8 = fake.lock().unwrap().bodies(8)[0].clone();
    let signed = body8
        .rfind("<!-- roster:approved")
        .map_or("", |at| &body8[at..]);
    let evil = format!(
        "Zed Evil\n{}\n{signed}",
        unsigned_block(&server, "merged.json"),
    );
    let status = server.scim_edit(leaving["id"].as_str().unwrap(), |u| {
        u["name"]["givenName"] = evil.clone().into();
    });
    assert_eq!(status, 200);

    // Pull request 7 plans the roster without the rename; its comment shows the name.
    plan_and_comment(&server, &api, "roster", "approved.json", 7);
    let body = fake.lock().unwrap().bodies(7)[0].clone();
    assert!(body.contains("Zed Evil"), "{body}");
    fake.lock().unwrap().merged.push(7);

    refused(
        &verify(&server, &api, "merged.json", &[]),
        "not approved on #7: create ben.carter@acme.example",
    );
    assert_eq!(code(&verify(&server, &api, "approved.json", &[])), 0);
}

#[test]
fn an_edit_of_the_bots_comment_approves_nothing() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = two_plans(&api);
    fake.lock().unwrap().merged.push(7);
    let original = fake.lock().unwrap().bodies(7)[0].clone();
    let theirs = block_of(&fake, 8);

    // The text reviewers read, edited to hide a change; the signed block untouched.
    assert!(original.contains("Ben Carter"), "{original}");
    edit_bot_comment(&fake, 7, |body| body.replace("Ben Carter", "B. C."));
    // Refused, and still refused after verify wrote its refusal over the edited text:
    // roster never seals a comment whose seal someone broke.
    for _ in 0..2 {
        refused(
            &verify(&server, &api, "approved.json", &[]),
            "the plan comment was edited after roster wrote it",
        );
    }
    assert!(
        !fake.lock().unwrap().bodies(7)[0].contains("roster:sealed"),
        "the refusal is left unsealed"
    );
    // Nor does the comment after a forced apply seal it.
    let push = json!({"ref": "refs/heads/main"});
    let applied = github(
        &server,
        &api,
        &push,
        &[
            "comment",
            "--plan",
            "approved.json",
            "--status",
            "applied",
            "--forced",
        ],
    );
    assert_eq!(code(&applied), 0, "{}", stderr(&applied));
    refused(
        &verify(&server, &api, "approved.json", &[]),
        "the plan comment was edited after roster wrote it",
    );
    edit_bot_comment(&fake, 7, |_| original.clone());
    assert_eq!(code(&verify(&server, &api, "approved.json", &[])), 0);

    // Pull request 8's block pasted over pull request 7's.
    edit_bot_comment(&fake, 7, |body| {
        let at = body.rfind("<!-- roster:approved v2").unwrap();
        format!("{}{theirs}", &body[..at])
    });
    refused(
        &verify(&server, &api, "merged.json", &[]),
        "it approves pull request `8`, not `7`",
    );

    // The same block with its claims rewritten to pull request 7 and its head.
    edit_bot_comment(&fake, 7, |body| {
        body.replace("\npr=8\n", "\npr=7\n")
            .replace("\nhead=head-8\n", "\nhead=head-7\n")
    });
    refused(
        &verify(&server, &api, "merged.json", &[]),
        "signature does not match",
    );

    // Pull request 7's own block, widened with the hashes of pull request 8's changes.
    let hashes = |block: &str| {
        block
            .lines()
            .find_map(|l| l.strip_prefix("changes="))
            .unwrap()
            .to_string()
    };
    let ours = block_of_text(&original);
    let widened = ours.replace(
        &format!("changes={}", hashes(&ours)),
        &format!("changes={} {}", hashes(&ours), hashes(&theirs)),
    );
    edit_bot_comment(&fake, 7, |body| {
        let at = body.rfind("<!-- roster:approved").unwrap();
        format!("{}{widened}", &body[..at])
    });
    refused(
        &verify(&server, &api, "merged.json", &[]),
        "signature does not match",
    );

    // An earlier release's unsigned block is never read as an approval.
    let old = unsigned_block(&server, "merged.json");
    edit_bot_comment(&fake, 7, |body| {
        let at = body.rfind("<!-- roster:approved").unwrap();
        format!("{}{old}", &body[..at])
    });
    let out = verify(&server, &api, "merged.json", &[]);
    refused(&out, "unsigned format of an earlier roster");
    assert!(
        stderr(&out).contains("re-run the plan job"),
        "{}",
        stderr(&out)
    );
    let body = fake.lock().unwrap().bodies(7)[0].clone();
    assert!(body.contains("⛔ **not applied**"), "{body}");
    assert!(body.contains("force-apply"), "the comment says why: {body}");
    server.assert_no_delete();
}

fn block_of_text(body: &str) -> String {
    body[body.rfind("<!-- roster:approved v2").unwrap()..].to_string()
}

#[test]
fn only_a_merged_pull_request_at_its_approved_head_approves() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = two_plans(&api);
    refused(
        &verify(&server, &api, "approved.json", &[]),
        "#7 is not merged",
    );
    // A push after the plan, merged without a new plan: the approval is of an older head.
    {
        let mut f = fake.lock().unwrap();
        f.merged.push(7);
        f.heads.push((7, "head-7-later".into()));
    }
    refused(
        &verify(&server, &api, "approved.json", &[]),
        "it approves head commit `head-7`, not `head-7-later`",
    );
    fake.lock().unwrap().heads.push((7, "head-7".into()));
    assert_eq!(code(&verify(&server, &api, "approved.json", &[])), 0);

    // An older run of the plan job, finishing after a newer push, leaves the comment alone.
    fake.lock().unwrap().merged.clear();
    fake.lock().unwrap().heads.push((7, "head-7-newer".into()));
    let before = fake.lock().unwrap().bodies(7)[0].clone();
    let stale = github(
        &server,
        &api,
        &pr_event(7),
        &["comment", "--plan", "merged.json"],
    );
    assert_eq!(code(&stale), 0, "{}", stderr(&stale));
    assert!(stderr(&stale).contains("moved on"), "{}", stderr(&stale));
    assert_eq!(fake.lock().unwrap().bodies(7)[0], before);
}

#[test]
fn an_approval_is_bound_to_its_account_provider_and_path() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = two_plans(&api);
    fake.lock().unwrap().merged.push(7);
    // The same change lines planned for another account.
    let mut other: Value =
        serde_json::from_slice(&fs::read(server.path("approved.json")).unwrap()).unwrap();
    other["account"] = json!("beta");
    write_plan(&server.path("beta.json"), &other);
    refused(
        &verify(&server, &api, "beta.json", &[]),
        "it approves account `acme`, not `beta`",
    );
    other["account"] = json!("acme");
    other["provider"] = json!("cloudtalk");
    write_plan(&server.path("cloudtalk.json"), &other);
    refused(
        &verify(&server, &api, "cloudtalk.json", &[]),
        "it approves provider `talkdesk`, not `cloudtalk`",
    );
    // Another roster path has no comment of its own, so nothing approves it.
    let push = json!({"ref": "refs/heads/main"});
    let out = github(
        &server,
        &api,
        &push,
        &[
            "verify",
            "--plan",
            "approved.json",
            "--path",
            "accounts/beta",
        ],
    );
    refused(
        &out,
        "no plan comment by github-actions[bot] for `accounts/beta`",
    );
}

#[test]
fn without_the_key_nothing_is_approved_or_verified() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = two_plans(&api);
    fake.lock().unwrap().merged.push(7);
    let without = |args: &[&str], event: Value| {
        let event_path = server.path("event.json");
        fs::write(&event_path, event.to_string()).unwrap();
        std::process::Command::new(env!("CARGO_BIN_EXE_roster"))
            .arg("github")
            .args(args)
            .current_dir(server.dir.path())
            .env("GITHUB_API_URL", &api)
            .env("GITHUB_TOKEN", "ghs_fake")
            .env("GITHUB_REPOSITORY", "acme/roster")
            .env("GITHUB_EVENT_PATH", &event_path)
            .env("GITHUB_SHA", "merged")
            .env("GITHUB_REF", "refs/heads/main")
            .env_remove(APPROVAL_KEY.0)
            .output()
            .unwrap()
    };
    let out = without(
        &["verify", "--plan", "approved.json"],
        json!({"ref": "refs/heads/main"}),
    );
    refused(&out, "ROSTER_APPROVAL_KEY is not set");

    let out = without(&["comment", "--plan", "merged.json"], pr_event(8));
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("approves nothing"),
        "{}",
        stderr(&out)
    );
    let body = fake.lock().unwrap().bodies(8)[0].clone();
    assert!(!body.contains("roster:approved"), "{body}");
    assert!(body.contains("ROSTER_APPROVAL_KEY is not set"), "{body}");
}

#[test]
fn a_plan_edited_after_it_was_made_is_refused_before_any_approval_is_read() {
    let rt = runtime();
    let (api, fake) = fake_github(&rt);
    let server = two_plans(&api);
    fake.lock().unwrap().merged.push(7);
    let mut edited: Value =
        serde_json::from_slice(&fs::read(server.path("approved.json")).unwrap()).unwrap();
    edited["changes"].as_array_mut().unwrap().truncate(1);
    fs::write(server.path("edited.json"), edited.to_string()).unwrap();
    let out = verify(&server, &api, "edited.json", &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the plan was modified after it was made"),
        "{}",
        stderr(&out)
    );
}
