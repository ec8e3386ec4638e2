//! A live account written out as roster YAML that validates and plans empty, with the
//! JSON Schemas its `$schema` lines name. Pure: the same account always gives the same bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use globset::GlobSet;

use crate::config::{self, ProviderKind};
use crate::model::{Account, PhoneSettings, Status, User};

/// What to write.
#[derive(Debug, Clone)]
pub struct Options {
    /// The provider the account was read from.
    pub kind: ProviderKind,
    /// The account's name, for the roster's `provider.account`.
    pub account: String,
    /// The Talkdesk region, for `provider.region` (written unless `us`).
    pub region: crate::config::Region,
    /// One file per team instead of one file.
    pub split_by_team: bool,
    /// Keep inactive users (as `status: inactive`).
    pub include_inactive: bool,
    /// `policy.ignore` patterns: written into the policy, and matching users left out.
    pub ignore: Vec<String>,
    /// Emails of the administrators, for providers whose roles cannot be read
    /// (CloudTalk): they get `Administrator`, everyone else `Agent`.
    pub admins: Vec<String>,
}

/// Where the roster schema is written, relative to the output directory. Written next to
/// the roster rather than fetched, so editors check the files offline, against the schema
/// of the roster version that wrote them.
pub const SCHEMA_FILE: &str = "schema/roster.schema.json";
/// Where the schema of one file of a split roster (nothing required) is written.
pub const PART_SCHEMA_FILE: &str = "schema/roster-part.schema.json";

/// The roles written when the account's cannot be read (CloudTalk's two).
const UNREADABLE_ROLES: [&str; 2] = ["Administrator", "Agent"];

/// Whether a role name looks administrative; the operator is asked to confirm.
fn looks_admin(name: &str) -> bool {
    name.to_lowercase().contains("admin")
}

/// A YAML scalar: plain when that is unambiguous, else a JSON (double-quoted) string.
fn scalar(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " @._+/-'".contains(c))
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
        && !s.ends_with(' ')
        && !matches!(
            s.to_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n"
        );
    if plain {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

fn list<'a>(items: impl IntoIterator<Item = &'a String>) -> String {
    let v: Vec<String> = items.into_iter().map(|s| scalar(s)).collect();
    format!("[{}]", v.join(", "))
}

/// Whether phone settings say anything beyond a new user's defaults.
fn phone_worth_writing(p: &PhoneSettings) -> bool {
    p.numbers.as_ref().is_some_and(|n| !n.is_empty())
        || p.sip_phones.as_ref().is_some_and(|n| !n.is_empty())
        || p.caller_id.is_some()
        || p.extension.is_some()
        || p.call_waiting == Some(true)
        || p.do_not_disturb == Some(true)
        || p.call_forward.as_ref().is_some_and(|c| c.enabled)
}

/// One user's entry under `users:`; a user whose role cannot be read is an
/// `Administrator` when listed in `admins`, else an `Agent`.
fn user_yaml(u: &User, admins: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "  - email: {}", scalar(&u.email));
    let _ = writeln!(out, "    name: {}", scalar(&u.name));
    match &u.role {
        Some(role) => {
            let _ = writeln!(out, "    role: {}", scalar(role));
        }
        None => {
            let admin = admins.iter().any(|a| a.eq_ignore_ascii_case(&u.email));
            let _ = writeln!(out, "    role: {}", UNREADABLE_ROLES[usize::from(!admin)]);
        }
    }
    let _ = writeln!(out, "    teams: {}", list(&u.teams));
    // No queue is left out rather than written `[]`: a roster cannot ask Talkdesk for
    // a user without one, and leaving the list out keeps what the account has.
    if !u.queues.is_empty() {
        let _ = writeln!(out, "    queues: {}", list(&u.queues));
    }
    for (key, value) in [
        ("extension", &u.extension),
        ("time_zone", &u.time_zone),
        ("language", &u.language),
    ] {
        if let Some(v) = value {
            let v = if key == "extension" {
                serde_json::to_string(v).unwrap_or_default()
            } else {
                scalar(v)
            };
            let _ = writeln!(out, "    {key}: {v}");
        }
    }
    if u.status == Status::Inactive {
        let _ = writeln!(out, "    status: inactive");
    } else if u.pending {
        // Invited, not confirmed: the plan does not count them toward the admin floor.
        let _ = writeln!(out, "    status: pending");
    }
    if let Some(ext) = &u.external_id {
        let _ = writeln!(
            out,
            "    # managed by another system; this line claims it for roster, remove it to leave it alone"
        );
        let _ = writeln!(
            out,
            "    external_id: {}",
            serde_json::to_string(ext).unwrap_or_default()
        );
    }
    if !u.addons.is_empty() {
        let _ = writeln!(out, "    addons: {}", list(&u.addons));
    }
    if let Some(p) = u.phone.as_ref().filter(|p| phone_worth_writing(p)) {
        out.push_str(&phone_yaml(p));
    }
    out
}

/// A user's `phone:` block: the settings that are set, in a fixed order.
fn phone_yaml(p: &PhoneSettings) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "    phone:");
    let q = |s: &String| serde_json::to_string(s).unwrap_or_default();
    if let Some(e) = &p.extension {
        let _ = writeln!(out, "      extension: {}", q(e));
    }
    if let Some(c) = &p.caller_id {
        let _ = writeln!(out, "      caller_id: {}", q(c));
    }
    if let Some(n) = &p.numbers {
        let v: Vec<String> = n.iter().map(q).collect();
        let _ = writeln!(out, "      numbers: [{}]", v.join(", "));
    }
    if let Some(n) = &p.sip_phones {
        let _ = writeln!(out, "      sip_phones: {}", list(n));
    }
    for (key, value) in [
        ("call_waiting", p.call_waiting),
        ("do_not_disturb", p.do_not_disturb),
    ] {
        if let Some(b) = value {
            let _ = writeln!(out, "      {key}: {b}");
        }
    }
    if let Some(cf) = &p.call_forward {
        match &cf.number {
            Some(n) => {
                let _ = writeln!(
                    out,
                    "      call_forward: {{ enabled: {}, number: {} }}",
                    cf.enabled,
                    q(n)
                );
            }
            None => {
                let _ = writeln!(out, "      call_forward: {{ enabled: {} }}", cf.enabled);
            }
        }
    }
    if let Some(c) = &p.default_country_code {
        let _ = writeln!(out, "      default_country_code: {}", q(c));
    }
    out
}

/// The files to write for `account` (path relative to the output directory → content, in
/// a stable order): the roster's YAML files and the two schemas; and the users written.
pub fn files(
    account: &Account,
    opts: &Options,
    ignored: &GlobSet,
) -> (BTreeMap<String, String>, usize) {
    let header = format!(
        "# Imported from {} account {} by `roster import`.\n# Review it, then commit: from now on this file is what the account should be.\n",
        opts.kind.as_str(),
        opts.account
    );
    let mut users: Vec<&User> = account
        .users
        .iter()
        .filter(|u| opts.include_inactive || u.status == Status::Active)
        .filter(|u| !ignored.is_match(u.email.to_lowercase()))
        .collect();
    users.sort_by_key(|u| u.email.to_lowercase());
    let top = account_yaml(account, opts, &users);
    let mut teams: BTreeSet<&String> = account.teams.iter().map(|t| &t.name).collect();
    // Teams users belong to that the account listing missed still need declaring.
    teams.extend(users.iter().flat_map(|u| u.teams.iter()));
    let mut out = if opts.split_by_team {
        split_files(&header, &top, &teams, &users, &opts.admins)
    } else {
        one_file(&header, &top, &teams, &users, &opts.admins)
    };
    out.insert(SCHEMA_FILE.to_string(), config::schema_text());
    out.insert(PART_SCHEMA_FILE.to_string(), config::part_schema_text());
    (out, users.len())
}

/// The first line of a YAML file, which points editors (yaml-language-server) at
/// `schema`; the YAML files sit at the top of the output directory, so the path is
/// relative to it as written.
fn schema_line(schema: &str) -> String {
    format!("# yaml-language-server: $schema={schema}\n")
}

/// The account-wide part of a roster: version, provider, policy, roles and queues.
fn account_yaml(account: &Account, opts: &Options, users: &[&User]) -> String {
    let mut top = String::new();
    let _ = writeln!(top, "version: 1");
    let region = match opts.region {
        crate::config::Region::Us => "",
        crate::config::Region::Eu => ", region: eu",
        crate::config::Region::Ca => ", region: ca",
    };
    // The modeled surfaces this roster will declare, so it validates and plans empty.
    let mut modeled = Vec::new();
    if users
        .iter()
        .any(|u| u.phone.as_ref().is_some_and(|p| phone_worth_writing(p)))
    {
        modeled.push("phone");
    }
    if !account.addons.is_empty() || users.iter().any(|u| !u.addons.is_empty()) {
        modeled.push("addons");
    }
    let modeled = if modeled.is_empty() {
        String::new()
    } else {
        format!(", modeled: [{}]", modeled.join(", "))
    };
    let _ = writeln!(
        top,
        "provider: {{ kind: {}, account: {}{region}{modeled} }}",
        opts.kind.as_str(),
        scalar(&opts.account)
    );
    top.push_str(&policy_yaml(account, opts));
    top.push_str(&roles_yaml(account, users));
    top.push_str(&queues_yaml(account));
    top
}

/// The `queues:` list, each queue with its active members counted in a comment, so the
/// operator can choose a staffing floor (`{ name: Q, min_agents: N }`).
fn queues_yaml(account: &Account) -> String {
    let mut names: Vec<&String> = account.queues.iter().map(|g| &g.name).collect();
    if names.is_empty() {
        return "queues: []\n".into();
    }
    names.sort();
    let mut out = String::from(
        "# Active members now; `{ name: Q, min_agents: N }` keeps at least N at every step.\nqueues:\n",
    );
    let mut members: BTreeMap<&str, usize> = BTreeMap::new();
    for u in account
        .users
        .iter()
        .filter(|u| u.status == Status::Active && !u.pending)
    {
        for q in u.queues.iter() {
            *members.entry(q.as_str()).or_default() += 1;
        }
    }
    for name in names {
        let n = members.get(name.as_str()).copied().unwrap_or(0);
        let _ = writeln!(out, "  - {}  # {n} active member(s)", scalar(name));
    }
    out
}

/// The `policy:` block: the safe defaults, the ignore patterns and the add-ons' seats.
fn policy_yaml(account: &Account, opts: &Options) -> String {
    let mut top = String::new();
    let _ = writeln!(top, "policy:");
    let _ = writeln!(top, "  min_admins: 1");
    let _ = writeln!(top, "  unmanaged_users: deactivate");
    // The ownership import assumed: the imported lists are the whole lists. Make a list
    // `additive` to leave supervisors' moves alone.
    let _ = writeln!(
        top,
        "  membership: {{ teams: authoritative, queues: authoritative }}"
    );
    // The domains the account's addresses use: an address elsewhere (a typo in a
    // domain) is then a warning before it becomes a welcome email to a stranger.
    let mut domains: Vec<String> = account
        .users
        .iter()
        .filter_map(|u| u.email.rsplit_once('@'))
        .map(|(_, d)| d.to_lowercase())
        .collect();
    domains.sort();
    domains.dedup();
    if !domains.is_empty() {
        let _ = writeln!(top, "  email_domains: {}", list(domains.iter()));
    }
    if !opts.ignore.is_empty() {
        let v: Vec<String> = opts
            .ignore
            .iter()
            .map(|p| serde_json::to_string(p).unwrap_or_default())
            .collect();
        let _ = writeln!(top, "  ignore: [{}]", v.join(", "));
    }
    let mut addons: Vec<_> = account.addons.iter().collect();
    addons.sort_by(|a, b| a.name.cmp(&b.name));
    if !addons.is_empty() {
        let v: Vec<String> = addons
            .iter()
            .map(|a| format!("{}: {}", scalar(&a.name), a.entitlement))
            .collect();
        let _ = writeln!(top, "  addons: {{ {} }}", v.join(", "));
    }
    top
}

/// The `roles:` block: the account's roles, or the two assumed when a user's role
/// cannot be read, with administrative-looking ones marked for the operator to confirm.
fn roles_yaml(account: &Account, users: &[&User]) -> String {
    let mut top = String::new();
    let mut roles: Vec<&str> = account.roles.iter().map(|r| r.name.as_str()).collect();
    if users.iter().any(|u| u.role.is_none()) {
        let _ = writeln!(
            top,
            "# This provider's roles cannot be read: administrators come from --admin."
        );
        roles.extend(UNREADABLE_ROLES);
    }
    roles.sort();
    roles.dedup();
    let _ = writeln!(top, "roles:");
    for r in &roles {
        if looks_admin(r) {
            let _ = writeln!(
                top,
                "  - {{ name: {}, admin: true }}   # looks administrative: confirm",
                scalar(r)
            );
        } else {
            let _ = writeln!(top, "  - {{ name: {} }}", scalar(r));
        }
    }
    top
}

/// Everything in one `roster.yaml`.
fn one_file(
    header: &str,
    top: &str,
    teams: &BTreeSet<&String>,
    users: &[&User],
    admins: &[String],
) -> BTreeMap<String, String> {
    let mut text = format!("{}{header}{top}", schema_line(SCHEMA_FILE));
    let _ = writeln!(text, "teams:");
    for t in teams {
        let _ = writeln!(text, "  - {{ name: {} }}", scalar(t));
    }
    let _ = writeln!(text, "users:");
    for u in users {
        text.push_str(&user_yaml(u, admins));
    }
    BTreeMap::from([("roster.yaml".to_string(), text)])
}

/// The account in one file, each team with the users whose first team it is in one
/// file each, and the users in no team in a last one. Only the account's file carries
/// `version` and `provider`, so only it is checked against the whole roster's schema.
fn split_files(
    header: &str,
    top: &str,
    teams: &BTreeSet<&String>,
    users: &[&User],
    admins: &[String],
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert(
        "00-account.yaml".to_string(),
        format!("{}{header}{top}", schema_line(SCHEMA_FILE)),
    );
    let part_header = format!("{}{header}", schema_line(PART_SCHEMA_FILE));
    let mut slugs: BTreeMap<String, usize> = BTreeMap::new();
    for t in teams {
        let members: Vec<&User> = users
            .iter()
            .copied()
            .filter(|u| u.teams.iter().next() == Some(*t))
            .collect();
        let slug = team_slug(t, &mut slugs);
        let text = format!(
            "{part_header}# Team {t}.\nteams:\n  - {{ name: {} }}\nusers:\n",
            scalar(t)
        );
        out.insert(
            format!("team-{slug}.yaml"),
            with_users(text, &members, admins),
        );
    }
    let loners: Vec<&User> = users
        .iter()
        .copied()
        .filter(|u| u.teams.is_empty())
        .collect();
    let text = format!("{part_header}# Users in no team.\nusers:\n");
    out.insert(
        "zz-no-team.yaml".to_string(),
        with_users(text, &loners, admins),
    );
    out
}

/// A team's file-name slug, numbered from the second team that gives the same one.
fn team_slug(team: &str, slugs: &mut BTreeMap<String, usize>) -> String {
    let slug: String = team
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let n = slugs.entry(slug.clone()).or_default();
    *n += 1;
    if *n > 1 {
        return format!("{slug}-{n}");
    }
    slug
}

/// `text`, which ends in `users:`, followed by the users, or `users: []` for none.
fn with_users(mut text: String, users: &[&User], admins: &[String]) -> String {
    if users.is_empty() {
        text = text.replace("users:\n", "users: []\n");
    }
    for u in users {
        text.push_str(&user_yaml(u, admins));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_quote_what_yaml_would_misread() {
        assert_eq!(scalar("Jane Doe"), "Jane Doe");
        assert_eq!(scalar("jane@acme.example"), "jane@acme.example");
        assert_eq!(scalar("no"), "\"no\"");
        assert_eq!(scalar("2001"), "\"2001\"");
        assert_eq!(scalar("O'Brien: the boss"), "\"O'Brien: the boss\"");
        assert_eq!(scalar(""), "\"\"");
        assert_eq!(scalar("Zoë"), "\"Zoë\"");
    }
}
