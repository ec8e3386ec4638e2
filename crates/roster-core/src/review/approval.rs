//! The approval a plan comment carries: a block signed with the approval key, bound to
//! the repository, the pull request and its head commit, the provider, the account and
//! the roster path, so that only a job that holds the key (one of the default branch)
//! can write one, and an approval of one plan never passes another.

use std::collections::BTreeSet;
use std::fmt::Write;

use serde::Serialize;

use super::key::ApprovalKey;
use crate::plan::{Kind, Plan};

/// The block's first line. The version is part of it: an older block (unsigned) does
/// not start with it and is never read as an approval.
const OPEN: &str = "<!-- roster:approved v2\n";
/// How an unsigned block of earlier releases started.
const OPEN_V1: &str = "<!-- roster:approved\n";
/// The signature's domain, so no other keyed value can stand in for it.
const DOMAIN: &str = "roster approval v2";
/// The seal: the comment's last line, a signature over everything before it.
const SEAL: &str = "<!-- roster:sealed ";
/// The seal's domain.
const SEAL_DOMAIN: &str = "roster comment seal";

/// What an approval is bound to besides its change lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Binding {
    /// `owner/name` of the repository.
    pub repo: String,
    /// The pull request number.
    pub pr: u64,
    /// The pull request's head commit when it was planned.
    pub head: String,
    /// The provider kind, e.g. `talkdesk`.
    pub provider: String,
    /// The account the plan was made against.
    pub account: String,
    /// The roster path the plan is for.
    pub path: String,
}

impl Binding {
    /// The first field in which `self` (what a block claims) differs from `wanted`, as
    /// words for the refusal.
    fn differs_from(&self, wanted: &Binding) -> Option<String> {
        let fields: [(&str, &dyn std::fmt::Display, &dyn std::fmt::Display); 6] = [
            ("repository", &self.repo, &wanted.repo),
            ("pull request", &self.pr, &wanted.pr),
            ("head commit", &self.head, &wanted.head),
            ("provider", &self.provider, &wanted.provider),
            ("account", &self.account, &wanted.account),
            ("roster path", &self.path, &wanted.path),
        ];
        fields.iter().find_map(|(what, have, want)| {
            let (have, want) = (have.to_string(), want.to_string());
            (have != want).then(|| format!("it approves {what} `{have}`, not `{want}`"))
        })
    }
}

/// What a pull request approved, signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// What the approval is bound to.
    pub binding: Binding,
    /// The approved plan's checksum (for the reader: the change lines are what count).
    pub checksum: String,
    /// Keyed hashes of the approved change lines.
    pub changes: BTreeSet<String>,
    /// Keyed hashes of the users the plan changes, so another pull request's comment
    /// can say it touches the same people without naming them.
    pub users: BTreeSet<String>,
    /// HMAC-SHA256 over all of the above.
    pub signature: String,
}

/// The signed message: every field in a fixed order, as JSON.
#[derive(Serialize)]
struct Signed<'a> {
    binding: &'a Binding,
    checksum: &'a str,
    changes: &'a BTreeSet<String>,
    users: &'a BTreeSet<String>,
}

/// Why a comment's approval does not approve a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The comment holds no approval block.
    Missing,
    /// The block is of an earlier release: unsigned, never accepted.
    OldFormat,
    /// The block does not parse.
    Malformed,
    /// The block is signed, but for another repository, pull request, head, provider,
    /// account or path.
    BoundElsewhere(String),
    /// The signature does not match: the block was edited, or signed with another key.
    BadSignature,
    /// The comment's text changed after roster wrote it: what reviewers read may not
    /// be the plan that was signed.
    Edited,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Missing => f.write_str("the plan comment holds no approval"),
            Refusal::OldFormat => f.write_str(
                "the plan comment's approval is in the unsigned format of an earlier roster, which is no longer accepted: re-run the plan job on open pull requests; a pull request merged before the upgrade is applied through force-apply, behind the environment's reviewers",
            ),
            Refusal::Malformed => f.write_str("the plan comment's approval block is malformed"),
            Refusal::BoundElsewhere(why) => write!(f, "the plan comment's approval is bound elsewhere: {why}"),
            Refusal::BadSignature => f.write_str(
                "the plan comment's approval signature does not match: the comment was edited, or signed with another key; re-run the plan job on the pull request",
            ),
            Refusal::Edited => f.write_str(
                "the plan comment was edited after roster wrote it, so its reviewers may have read another plan than the one signed; re-run the plan job on the pull request and review it again",
            ),
        }
    }
}

/// One line per change: action, key and the values it sets; and one per staffing floor
/// `--allow-understaffed` lets through. Approval covers these, not the plan's bytes, so
/// warnings and other informational parts may differ.
pub fn change_lines(plan: &Plan) -> Vec<String> {
    let changes = plan.changes.iter().map(|c| {
        let fields: Vec<String> = c
            .fields
            .iter()
            .map(|(k, f)| format!("{k}={}", f.to))
            .collect();
        // A held change approves nothing to apply: lifting the hold needs review.
        let held = if c.held { " (held)" } else { "" };
        format!("{} {} {}{held}", c.action.as_str(), c.key, fields.join(" "))
    });
    // A floor let through at merge must have been let through in the reviewed plan.
    let allowed = plan.floors.iter().filter(|f| f.allowed).map(|f| {
        format!(
            "allow-understaffed {} {} min_agents={}",
            f.of.as_str(),
            f.names[0],
            f.min_agents
        )
    });
    changes.chain(allowed).collect()
}

/// Keyed hashes of the users `plan` changes.
pub fn user_hashes(plan: &Plan, key: &ApprovalKey) -> BTreeSet<String> {
    plan.changes
        .iter()
        .filter(|c| c.kind == Kind::User)
        .map(|c| key.short("roster user", c.key.to_lowercase().as_bytes()))
        .collect()
}

fn change_hash(key: &ApprovalKey, line: &str) -> String {
    key.short("roster change", line.as_bytes())
}

impl Approval {
    /// The signed approval of `plan` under `binding`.
    pub fn sign(plan: &Plan, binding: Binding, key: &ApprovalKey) -> Approval {
        let mut approval = Approval {
            binding,
            checksum: plan.checksum.clone(),
            changes: change_lines(plan)
                .iter()
                .map(|l| change_hash(key, l))
                .collect(),
            users: user_hashes(plan, key),
            signature: String::new(),
        };
        approval.signature = key.sign(DOMAIN, &approval.message());
        approval
    }

    fn message(&self) -> Vec<u8> {
        serde_json::to_vec(&Signed {
            binding: &self.binding,
            checksum: &self.checksum,
            changes: &self.changes,
            users: &self.users,
        })
        .expect("strings and numbers serialize")
    }

    /// The hidden block a comment carries. Every value is written in a form that
    /// cannot end the HTML comment or start a line of its own.
    pub fn block(&self) -> String {
        let b = &self.binding;
        let mut out = String::from(OPEN);
        for (k, v) in [
            ("repo", b.repo.as_str()),
            ("head", &b.head),
            ("provider", &b.provider),
            ("account", &b.account),
            ("path", &b.path),
            ("checksum", &self.checksum),
        ] {
            let _ = writeln!(out, "{k}={}", encode(v));
        }
        let _ = writeln!(out, "pr={}", b.pr);
        let join =
            |s: &BTreeSet<String>| s.iter().map(String::as_str).collect::<Vec<_>>().join(" ");
        let _ = writeln!(out, "changes={}", join(&self.changes));
        let _ = writeln!(out, "users={}", join(&self.users));
        let _ = writeln!(out, "sig={}", self.signature);
        out.push_str("-->\n");
        out
    }

    /// Reads the block back from a comment body: the last one, since roster writes it
    /// after everything rendered (and rendered text never holds `<!--`).
    pub fn read(body: &str) -> Result<Approval, Refusal> {
        let Some(start) = body.rfind(OPEN) else {
            return Err(if body.contains(OPEN_V1) {
                Refusal::OldFormat
            } else {
                Refusal::Missing
            });
        };
        let block = &body[start + OPEN.len()..];
        let block = block.split("-->").next().ok_or(Refusal::Malformed)?;
        let mut fields = std::collections::BTreeMap::new();
        for line in block.lines() {
            let (k, v) = line.split_once('=').ok_or(Refusal::Malformed)?;
            if fields.insert(k, v).is_some() {
                return Err(Refusal::Malformed);
            }
        }
        let text = |k: &str| decode(fields.get(k).ok_or(Refusal::Malformed)?);
        let set = |k: &str| -> Result<BTreeSet<String>, Refusal> {
            let v = fields.get(k).ok_or(Refusal::Malformed)?;
            Ok(v.split_whitespace().map(str::to_string).collect())
        };
        Ok(Approval {
            binding: Binding {
                repo: text("repo")?,
                pr: fields
                    .get("pr")
                    .and_then(|v| v.parse().ok())
                    .ok_or(Refusal::Malformed)?,
                head: text("head")?,
                provider: text("provider")?,
                account: text("account")?,
                path: text("path")?,
            },
            checksum: text("checksum")?,
            changes: set("changes")?,
            users: set("users")?,
            signature: fields.get("sig").ok_or(Refusal::Malformed)?.to_string(),
        })
    }

    /// Checks the signature, and that the approval is bound to `wanted`.
    pub fn check(&self, wanted: &Binding, key: &ApprovalKey) -> Result<(), Refusal> {
        if let Some(why) = self.binding.differs_from(wanted) {
            return Err(Refusal::BoundElsewhere(why));
        }
        if !key.verify(DOMAIN, &self.message(), &self.signature) {
            return Err(Refusal::BadSignature);
        }
        Ok(())
    }

    /// The change lines of `plan` this approval does not hold. Call only after
    /// [`Approval::check`] passed.
    pub fn lacking(&self, plan: &Plan, key: &ApprovalKey) -> Vec<String> {
        change_lines(plan)
            .into_iter()
            .filter(|l| !self.changes.contains(&change_hash(key, l)))
            .collect()
    }
}

/// The comment body a reader sees, in the form its seal signs: line endings as `\n`
/// and no trailing whitespace, so a round trip through the API does not break it.
fn sealed_text(body: &str) -> String {
    body.replace("\r\n", "\n").trim_end().to_string()
}

/// `body` with a last line that signs all of it, written by every job that writes a
/// plan comment with the key at hand. An edit by anyone else breaks it.
pub fn seal(body: &str, key: &ApprovalKey) -> String {
    let text = sealed_text(body);
    let sig = key.sign(SEAL_DOMAIN, text.as_bytes());
    format!("{text}\n{SEAL}{sig} -->\n")
}

/// Checks the seal of `body` (its last line) against the text before it.
pub fn check_seal(body: &str, key: &ApprovalKey) -> Result<(), Refusal> {
    let trimmed = body.trim_end();
    let (text, last) = trimmed.rsplit_once('\n').ok_or(Refusal::Edited)?;
    let sig = last
        .strip_prefix(SEAL)
        .and_then(|l| l.strip_suffix(" -->"))
        .ok_or(Refusal::Edited)?;
    if key.verify(SEAL_DOMAIN, sealed_text(text).as_bytes(), sig) {
        Ok(())
    } else {
        Err(Refusal::Edited)
    }
}

/// A value as `%XX` for every byte outside a small safe set, so it cannot close the
/// comment, break a line, or hold `=`.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.:/@+".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The inverse of [`encode`]; refused for a broken escape or bytes that are not UTF-8.
fn decode(s: &str) -> Result<String, Refusal> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).ok_or(Refusal::Malformed)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| Refusal::Malformed)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| Refusal::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn key(text: &str) -> ApprovalKey {
        ApprovalKey::new(&Secret::new(text.to_string())).unwrap()
    }

    fn plan(name: &str) -> Plan {
        serde_json::from_value(serde_json::json!({
            "format_version": 1, "provider": "talkdesk", "account": "acme", "checksum": "sha256:abc",
            "summary": {"create": 1, "update": 0, "reactivate": 0, "deactivate": 0, "offboard": 0,
                "create_team": 0, "seats_before": 0, "seats_after": 1, "monthly_cost_delta": 0.0,
                "currency": null, "welcome_emails": 1},
            "guards": [], "warnings": [], "manual_steps": [], "notes": [], "admin_roles": [],
            "min_admins": 1, "team_aliases": {},
            "changes": [{"action": "create", "kind": "user", "key": "a@acme.example", "id": null,
                "phase": "create_users", "precondition": null,
                "fields": {"name": {"from": null, "to": name}}}]
        }))
        .unwrap()
    }

    fn binding() -> Binding {
        Binding {
            repo: "acme/roster".into(),
            pr: 7,
            head: "abc123".into(),
            provider: "talkdesk".into(),
            account: "acme".into(),
            path: "roster".into(),
        }
    }

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_signed_approval_reads_back_checks_and_names_what_it_lacks() {
        let k = key(KEY);
        let approval = Approval::sign(&plan("Ana"), binding(), &k);
        let body = format!(
            "<!-- roster:plan path=roster -->\nplan\n{}",
            approval.block()
        );
        let read = Approval::read(&body).unwrap();
        assert_eq!(read, approval);
        assert_eq!(read.check(&binding(), &k), Ok(()));
        assert!(read.lacking(&plan("Ana"), &k).is_empty());
        assert_eq!(
            read.lacking(&plan("Ann"), &k),
            ["create a@acme.example name=\"Ann\""]
        );
    }

    #[test]
    fn a_floor_let_through_at_merge_must_have_been_let_through_in_review() {
        let k = key(KEY);
        let floor = |allowed: bool| crate::plan::StaffingFloor {
            of: crate::plan::FloorOf::Queue,
            names: vec!["spanish".into()],
            min_agents: 2,
            allowed,
        };
        let mut reviewed = plan("Ana");
        reviewed.floors = vec![floor(false)];
        let approval = Approval::sign(&reviewed, binding(), &k);
        let mut merged = plan("Ana");
        merged.floors = vec![floor(true)];
        assert_eq!(
            approval.lacking(&merged, &k),
            ["allow-understaffed queue spanish min_agents=2"]
        );
        let approval = Approval::sign(&merged, binding(), &k);
        assert!(approval.lacking(&merged, &k).is_empty());
    }

    #[test]
    fn an_approval_is_refused_when_bound_elsewhere_edited_or_signed_by_another_key() {
        let k = key(KEY);
        let approval = Approval::sign(&plan("Ana"), binding(), &k);
        for (edit, field) in [
            (Binding { pr: 8, ..binding() }, "pull request `7`, not `8`"),
            (
                Binding {
                    account: "other".into(),
                    ..binding()
                },
                "account `acme`, not `other`",
            ),
            (
                Binding {
                    provider: "cloudtalk".into(),
                    ..binding()
                },
                "provider",
            ),
            (
                Binding {
                    path: "accounts/b".into(),
                    ..binding()
                },
                "roster path",
            ),
            (
                Binding {
                    repo: "acme/other".into(),
                    ..binding()
                },
                "repository",
            ),
            (
                Binding {
                    head: "def456".into(),
                    ..binding()
                },
                "head commit",
            ),
        ] {
            match approval.check(&edit, &k) {
                Err(Refusal::BoundElsewhere(why)) => assert!(why.contains(field), "{why}"),
                other => panic!("{other:?}"),
            }
        }
        // A block whose claims were rewritten to match another binding fails its signature.
        let mut moved = approval.clone();
        moved.binding.pr = 8;
        assert_eq!(
            moved.check(&Binding { pr: 8, ..binding() }, &k),
            Err(Refusal::BadSignature)
        );
        let mut widened = approval.clone();
        widened.changes.insert("0000000000000000".into());
        assert_eq!(widened.check(&binding(), &k), Err(Refusal::BadSignature));
        let other = key("fedcba9876543210fedcba9876543210");
        assert_eq!(
            approval.check(&binding(), &other),
            Err(Refusal::BadSignature)
        );
    }

    #[test]
    fn a_sealed_comment_survives_line_endings_and_fails_any_edit() {
        let k = key(KEY);
        let body = "<!-- roster:plan path=roster -->\n| Ana | create |\n";
        let sealed = seal(body, &k);
        assert_eq!(check_seal(&sealed, &k), Ok(()));
        assert_eq!(check_seal(&sealed.replace('\n', "\r\n"), &k), Ok(()));
        let edited = sealed.replace("create", "keep");
        assert_eq!(check_seal(&edited, &k), Err(Refusal::Edited));
        assert_eq!(check_seal(body, &k), Err(Refusal::Edited));
        let other = key("fedcba9876543210fedcba9876543210");
        assert_eq!(check_seal(&sealed, &other), Err(Refusal::Edited));
    }

    #[test]
    fn an_old_unsigned_block_or_none_is_never_an_approval() {
        let old = "<!-- roster:plan path=roster -->\n<!-- roster:approved\nchecksum=sha256:abc\n0011223344556677\n-->\n";
        assert_eq!(Approval::read(old), Err(Refusal::OldFormat));
        assert!(
            Refusal::OldFormat
                .to_string()
                .contains("re-run the plan job")
        );
        assert_eq!(Approval::read("plan"), Err(Refusal::Missing));
        let broken = format!("{OPEN}repo=a\n-->");
        assert_eq!(Approval::read(&broken), Err(Refusal::Malformed));
    }

    #[test]
    fn the_last_block_is_read_and_hostile_values_stay_inside_their_line() {
        let k = key(KEY);
        let hostile = Binding {
            path: "roster -->\n<!-- x=1\n%".into(),
            account: "a=b c".into(),
            ..binding()
        };
        let approval = Approval::sign(&plan("Ana"), hostile.clone(), &k);
        let block = approval.block();
        assert_eq!(block.matches("-->").count(), 1, "{block}");
        let decoy = Approval::sign(&plan("Mallory"), binding(), &k).block();
        let body = format!("{decoy}\n{block}");
        let read = Approval::read(&body).unwrap();
        assert_eq!(read.binding, hostile);
        assert_eq!(read.check(&hostile, &k), Ok(()));
    }
}
