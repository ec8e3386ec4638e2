//! Semantic checks that a JSON Schema cannot express: uniqueness, references, admin
//! floors, and values that need a maintained table (time zones, languages, countries).

use std::collections::HashMap;
use std::str::FromStr;

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::diagnostic::Diagnostic;
use super::source::SourceMap;
use super::types::{MaxDeactivations, Roster};
use crate::model::Status;

/// Extensions that dial emergency or crisis services (seed 004); each preceded by one
/// digit is reserved too.
const RESERVED_EXTENSIONS: [&str; 5] = ["911", "112", "999", "933", "988"];

/// Whether an extension is reserved for emergency use.
pub fn is_reserved_extension(ext: &str) -> bool {
    RESERVED_EXTENSIONS.iter().any(|r| {
        ext == *r
            || (ext.len() == r.len() + 1 && ext.ends_with(r) && ext.as_bytes()[0].is_ascii_digit())
    })
}

/// Whether `s` is an E.164 number: `+`, a non-zero digit, at most 15 digits in all.
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0')
}

/// Compiles `policy.ignore`; invalid patterns were reported by [`check`].
pub fn ignore_set(patterns: &[String]) -> GlobSet {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        if let Ok(g) = Glob::new(&p.to_lowercase()) {
            b.add(g);
        }
    }
    b.build().unwrap_or_else(|_| GlobSet::empty())
}

/// Runs every semantic check and returns all problems found.
pub fn check(roster: &Roster, map: &SourceMap) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let at = |ptr: &str| map.value(ptr);
    let dup = |out: &mut Vec<Diagnostic>, what: &str, first: &str, second: &str| {
        let here = at(second);
        out.push(
            Diagnostic::new(
                here,
                format!("{what} is declared twice: here and at {}", at(first)),
            )
            .hint("keep one declaration and remove the other"),
        );
    };

    // Roles, teams and queues: unique names.
    let mut roles: HashMap<String, String> = HashMap::new();
    for (i, r) in roster.roles.iter().enumerate() {
        let ptr = format!("/roles/{i}/name");
        if let Some(first) = roles.insert(r.name.to_lowercase(), ptr.clone()) {
            dup(&mut out, &format!("role {:?}", r.name), &first, &ptr);
        }
    }
    let mut teams: HashMap<String, String> = HashMap::new();
    for (i, t) in roster.teams.iter().enumerate() {
        let ptr = format!("/teams/{i}/name");
        if let Some(first) = teams.insert(t.name.clone(), ptr.clone()) {
            dup(&mut out, &format!("team {:?}", t.name), &first, &ptr);
        }
        for (j, p) in t.previously.iter().enumerate() {
            let pptr = format!("/teams/{i}/previously/{j}");
            if let Some(first) = teams.insert(p.clone(), pptr.clone()) {
                dup(&mut out, &format!("team name {p:?}"), &first, &pptr);
            }
        }
    }
    let mut rgs: HashMap<String, String> = HashMap::new();
    for (i, g) in roster.queues.iter().enumerate() {
        let ptr = format!("/queues/{i}");
        if let Some(first) = rgs.insert(g.clone(), ptr.clone()) {
            dup(&mut out, &format!("queue {g:?}"), &first, &ptr);
        }
    }
    if !roster.roles.is_empty() && !roster.roles.iter().any(|r| r.admin) {
        out.push(
            Diagnostic::new(at("/roles"), "no role is marked `admin: true`").hint(
                "mark the administrative role, e.g. `- { name: Administrator, admin: true }`",
            ),
        );
    }
    if roster.roles.is_empty() {
        out.push(
            Diagnostic::new(at(""), "no roles are declared")
                .hint("declare the account's roles under `roles:`, one with `admin: true`"),
        );
    }

    let policy = &roster.policy;
    if policy.min_admins == 0 {
        out.push(
            Diagnostic::new(at("/policy/min_admins"), "min_admins is 0; the floor is 1").hint(
                "an account without an administrator is locked out: set min_admins to 1 or more",
            ),
        );
    }
    if let Some(MaxDeactivations::Percent(p)) = &policy.max_deactivations
        && p.trim_end_matches('%')
            .parse::<u32>()
            .map_or(true, |n| n > 100)
    {
        out.push(
            Diagnostic::new(
                at("/policy/max_deactivations"),
                format!("{p:?} is not a percentage from 0% to 100%"),
            )
            .hint("write a count such as 5 or a percentage such as \"10%\""),
        );
    }
    for (i, p) in policy.ignore.iter().enumerate() {
        if let Err(e) = Glob::new(p) {
            out.push(
                Diagnostic::new(
                    at(&format!("/policy/ignore/{i}")),
                    format!("invalid glob pattern {p:?}: {}", e.kind()),
                )
                .hint("use * and ? wildcards, e.g. \"*@vendor.example\""),
            );
        }
    }
    let ignored = ignore_set(&policy.ignore);

    // Users.
    let mut emails: HashMap<String, String> = HashMap::new();
    let mut extensions: HashMap<String, String> = HashMap::new();
    let mut numbers: HashMap<String, String> = HashMap::new();
    let mut devices: HashMap<String, String> = HashMap::new();
    let mut admins_active: Vec<String> = Vec::new();
    let admin_roles = roster.admin_roles();
    for (i, u) in roster.users.iter().enumerate() {
        let base = format!("/users/{i}");
        let all = std::iter::once((format!("{base}/email"), &u.email)).chain(
            u.previously
                .iter()
                .enumerate()
                .map(|(j, p)| (format!("{base}/previously/{j}"), p)),
        );
        for (ptr, email) in all {
            if !email_address::EmailAddress::is_valid(email) {
                out.push(
                    Diagnostic::new(at(&ptr), format!("{email:?} is not a valid email address"))
                        .hint("write it as name@domain, e.g. jane@acme.example"),
                );
            }
            if let Some(first) = emails.insert(email.to_lowercase(), ptr.clone()) {
                dup(&mut out, &format!("email {email:?}"), &first, &ptr);
            }
            if ignored.is_match(email.to_lowercase()) {
                out.push(
                    Diagnostic::new(at(&ptr), format!("{email} matches a `policy.ignore` pattern, so roster would never manage it"))
                        .hint("remove the user or narrow the ignore pattern"),
                );
            }
        }
        let role_ptr = format!("{base}/role");
        if !roster.roles.is_empty() && !roles.contains_key(&u.role.to_lowercase()) {
            out.push(
                Diagnostic::new(at(&role_ptr), format!("role {:?} is not declared", u.role))
                    .hint("declare it under `roles:` or use one of the declared roles"),
            );
        }
        if u.status() == Status::Active && admin_roles.contains(&u.role.to_lowercase()) {
            admins_active.push(u.email.to_lowercase());
        }
        for (j, t) in u.teams.iter().flatten().enumerate() {
            if !roster.teams.iter().any(|d| &d.name == t) {
                out.push(
                    Diagnostic::new(
                        at(&format!("{base}/teams/{j}")),
                        format!("team {t:?} is not declared"),
                    )
                    .hint("declare it under `teams:`"),
                );
            }
        }
        for (j, g) in u.queues.iter().flatten().enumerate() {
            if !roster.queues.contains(g) {
                out.push(
                    Diagnostic::new(
                        at(&format!("{base}/queues/{j}")),
                        format!("queue {g:?} is not declared"),
                    )
                    .hint("declare it under `queues:`"),
                );
            }
        }
        for (j, a) in u.addons.iter().flatten().enumerate() {
            if !policy.addons.contains_key(a) {
                out.push(
                    Diagnostic::new(
                        at(&format!("{base}/addons/{j}")),
                        format!("add-on {a:?} has no entitlement in `policy.addons`"),
                    )
                    .hint(
                        "add it with its seat count, e.g. `policy: { addons: { salesforce: 40 } }`",
                    ),
                );
            }
        }
        if let Some(tz) = &u.time_zone
            && chrono_tz::Tz::from_str(tz).is_err()
        {
            out.push(
                Diagnostic::new(
                    at(&format!("{base}/time_zone")),
                    format!("{tz:?} is not an IANA time zone"),
                )
                .hint("use a name such as Europe/Lisbon or America/New_York"),
            );
        }
        if let Some(lang) = &u.language
            && oxilangtag::LanguageTag::parse(lang.as_str()).is_err()
        {
            out.push(
                Diagnostic::new(
                    at(&format!("{base}/language")),
                    format!("{lang:?} is not a BCP 47 language tag"),
                )
                .hint("use a tag such as en-US or pt-PT"),
            );
        }
        let exts = [
            (format!("{base}/extension"), u.extension.as_ref()),
            (
                format!("{base}/phone/extension"),
                u.phone.as_ref().and_then(|p| p.extension.as_ref()),
            ),
        ];
        let mut own: Option<&String> = None;
        for (ptr, ext) in exts {
            let Some(ext) = ext else { continue };
            if is_reserved_extension(ext) {
                out.push(
                    Diagnostic::new(at(&ptr), format!("extension {ext} is reserved for emergency services"))
                        .hint("911, 112, 999, 933, 988 and each of them after one digit cannot be extensions; pick another"),
                );
            }
            if own == Some(ext) {
                continue; // the same user's REST and phone extension may agree
            }
            own = Some(ext);
            if let Some(first) = extensions.insert(ext.clone(), ptr.clone()) {
                dup(&mut out, &format!("extension {ext}"), &first, &ptr);
            }
        }
        if let Some(phone) = &u.phone {
            let pbase = format!("{base}/phone");
            let e164 = |ptr: String, n: &str, out: &mut Vec<Diagnostic>| {
                if !is_e164(n) {
                    out.push(
                        Diagnostic::new(at(&ptr), format!("{n:?} is not an E.164 number"))
                            .hint("write + country code and number without spaces, e.g. \"+351211234567\""),
                    );
                }
            };
            if let Some(c) = &phone.caller_id {
                e164(format!("{pbase}/caller_id"), c, &mut out);
            }
            for (j, n) in phone.numbers.iter().flatten().enumerate() {
                let ptr = format!("{pbase}/numbers/{j}");
                e164(ptr.clone(), n, &mut out);
                if let Some(first) = numbers.insert(n.clone(), ptr.clone()) {
                    dup(&mut out, &format!("number {n}"), &first, &ptr);
                }
            }
            for (j, d) in phone.sip_phones.iter().flatten().enumerate() {
                let ptr = format!("{pbase}/sip_phones/{j}");
                if let Some(first) = devices.insert(d.clone(), ptr.clone()) {
                    dup(&mut out, &format!("SIP phone {d:?}"), &first, &ptr);
                }
            }
            if let Some(cf) = &phone.call_forward {
                match (&cf.number, cf.enabled) {
                    (Some(n), _) => e164(format!("{pbase}/call_forward/number"), n, &mut out),
                    (None, true) => out.push(
                        Diagnostic::new(
                            at(&format!("{pbase}/call_forward")),
                            "call forward is enabled without a number",
                        )
                        .hint("add `number: \"+...\"` or set `enabled: false`"),
                    ),
                    (None, false) => {}
                }
            }
            if let Some(cc) = &phone.default_country_code
                && isocountry::CountryCode::for_alpha2(cc).is_err()
            {
                out.push(
                    Diagnostic::new(
                        at(&format!("{pbase}/default_country_code")),
                        format!("{cc:?} is not an ISO 3166 alpha-2 country code"),
                    )
                    .hint("use two capital letters, e.g. PT, US, GB"),
                );
            }
        }
    }
    if !roster.roles.is_empty() && (admins_active.len() as u32) < policy.min_admins.max(1) {
        out.push(
            Diagnostic::new(
                at("/policy/min_admins"),
                format!(
                    "{} active administrator(s) declared, fewer than min_admins {}",
                    admins_active.len(),
                    policy.min_admins.max(1)
                ),
            )
            .hint("declare more active users with an `admin: true` role, or lower min_admins"),
        );
    }
    for (i, email) in policy.required_admins.iter().enumerate() {
        if !admins_active.contains(&email.to_lowercase()) {
            out.push(
                Diagnostic::new(
                    at(&format!("/policy/required_admins/{i}")),
                    format!("required admin {email} is not declared as an active administrator"),
                )
                .hint("declare the user with an `admin: true` role and status active"),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_extensions() {
        for ext in ["911", "112", "999", "933", "988", "1911", "0112", "5988"] {
            assert!(is_reserved_extension(ext), "{ext}");
        }
        for ext in ["2001", "9110", "91", "11911", "100"] {
            assert!(!is_reserved_extension(ext), "{ext}");
        }
    }

    #[test]
    fn e164() {
        assert!(is_e164("+351211234567"));
        assert!(!is_e164("351211234567"));
        assert!(!is_e164("+0351211234"));
        assert!(!is_e164("+35121 1234567"));
        assert!(!is_e164("+1234567890123456"));
    }
}
