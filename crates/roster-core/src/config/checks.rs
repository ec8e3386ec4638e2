//! Semantic checks that a JSON Schema cannot express: uniqueness, references, admin
//! floors, what no person's name or address holds, and values that need a maintained
//! table (time zones, languages, countries, Unicode's look-alike characters).

use foldhash::{HashMap, HashMapExt};
use std::str::FromStr;

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::diagnostic::{Diagnostic, Loc};
use super::source::SourceMap;
use super::suggest;
use super::types::{
    EMAIL_LOCAL_MAX, EMAIL_MAX, MaxDeactivations, Modeled, ProviderKind, Roster, UserDecl,
};
use crate::lookalike::{self, Lookalikes};
use crate::model::{PhoneSettings, Status};

/// Extensions that dial emergency or crisis services; each preceded by one digit is
/// reserved too. 911, 933 and their one-digit prefixes: Talkdesk's E911 page ("Agents
/// can dial 911, the emergency test number 933, or any of these with a prefix (X911 or
/// X933)", https://support.talkdesk.com/hc/en-us/articles/4404424241947); 112, 999 and
/// 988 (EU and UK emergency, US crisis line) are modeled.
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

/// Whether `account` can name a Talkdesk account: one DNS label, letters, digits and
/// hyphens, 1 to 63, no hyphen first or last (the schema's `TALKDESK_ACCOUNT`). It
/// becomes the host of the token URL, so nothing else may pass.
pub fn is_talkdesk_account(account: &str) -> bool {
    let b = account.as_bytes();
    (1..=63).contains(&b.len())
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && !account.starts_with('-')
        && !account.ends_with('-')
}

/// A user's email, then its former emails, each with its field.
fn addresses(u: &UserDecl, i: usize) -> impl Iterator<Item = (UserField, &str)> {
    std::iter::once((UserField::new(i, "email"), u.email.as_str())).chain(
        u.previously
            .iter()
            .enumerate()
            .map(move |(j, p)| (UserField::item(i, "previously", j), p.as_str())),
    )
}

/// What keeps `email` from being anyone's address whatever its syntax, as a message
/// and a hint that do not repeat it: a control character, or more bytes than RFC 5321
/// §4.5.3.1 lets an address have.
fn address_problem(email: &str) -> Option<(String, String)> {
    if let Some(c) = email.chars().find(|c| c.is_control()) {
        return Some((
            format!(
                "this email holds a control character, {}, which no address has",
                control(c)
            ),
            "remove it: an address is one line of visible characters".into(),
        ));
    }
    let unit = if email.is_ascii() {
        "characters"
    } else {
        "bytes (UTF-8)"
    };
    let local = email.rsplit_once('@').map_or(email, |(local, _)| local);
    let (what, length, limit) = if email.len() > EMAIL_MAX {
        ("this email", email.len(), EMAIL_MAX)
    } else if local.len() > EMAIL_LOCAL_MAX {
        (
            "the part of this email before `@`",
            local.len(),
            EMAIL_LOCAL_MAX,
        )
    } else {
        return None;
    };
    Some((
        format!("{what} is {length} {unit} long, more than the {limit} RFC 5321 allows"),
        format!(
            "check the address: no mail server takes one longer than {EMAIL_MAX} bytes, {EMAIL_LOCAL_MAX} of them before the `@`"
        ),
    ))
}

/// A control character as a message names it: `U+001B (escape)`.
fn control(c: char) -> String {
    let name = match c {
        '\0' => " (NUL)",
        '\n' | '\r' => " (a line break)",
        '\t' => " (a tab)",
        '\u{1b}' => " (escape)",
        _ => "",
    };
    format!("U+{:04X}{name}", u32::from(c))
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

/// Runs every semantic check: the errors found, then the warnings.
pub fn check(roster: &Roster, map: &SourceMap) -> (Vec<Diagnostic>, Vec<Diagnostic>) {
    let mut c = Checker {
        roster,
        map,
        out: Vec::new(),
        warnings: Vec::new(),
        outside_ascii: Vec::new(),
        roles: HashMap::new(),
        emails: HashMap::with_capacity(roster.users.len()),
        extensions: HashMap::new(),
        numbers: HashMap::new(),
        devices: HashMap::new(),
    };
    c.unique_names();
    c.roles_declared();
    c.policy();
    let ignored = ignore_set(&roster.policy.ignore);
    let mut admins_active: Vec<String> = Vec::new();
    let admin_roles = roster.admin_roles();
    // Pointers are written only for the problems found: at 100,000 users, writing
    // one per field up front cost a third of the checks.
    for (i, u) in roster.users.iter().enumerate() {
        let role = u.role.to_lowercase();
        c.emails(u, i, &ignored);
        c.name(u, i);
        c.references(u, i, &role);
        if u.status() == Status::Active && admin_roles.contains(&role) {
            admins_active.push(u.email.to_lowercase());
        }
        c.locale(u, i);
        c.dates(u, i);
        c.extensions(u, i);
        if let Some(phone) = &u.phone {
            c.phone(phone, &UserField::new(i, "phone").pointer());
        }
    }
    c.admin_floor(&admins_active);
    c.lookalikes();
    c.modeled();
    (c.out, c.warnings)
}

/// One run of the checks: the roster, where its values are, what was found so far, and
/// where each value that must be unique was first declared (a JSON pointer per key).
struct Checker<'a> {
    roster: &'a Roster,
    map: &'a SourceMap,
    out: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
    /// The addresses outside ASCII, the only ones that may imitate another.
    outside_ascii: Vec<UserField>,
    /// Role names, lowercased.
    roles: HashMap<String, String>,
    /// Emails and former emails, lowercased.
    emails: HashMap<String, UserField>,
    extensions: HashMap<String, UserField>,
    numbers: HashMap<String, String>,
    devices: HashMap<String, String>,
}

/// A field of one user, whose JSON pointer is written only when a problem names it.
#[derive(Debug, Clone, Copy)]
struct UserField {
    user: usize,
    field: &'static str,
    item: Option<usize>,
}

impl UserField {
    fn new(user: usize, field: &'static str) -> Self {
        UserField {
            user,
            field,
            item: None,
        }
    }

    /// Item `j` of a list field.
    fn item(user: usize, field: &'static str, j: usize) -> Self {
        UserField {
            item: Some(j),
            ..UserField::new(user, field)
        }
    }

    fn pointer(self) -> String {
        match self.item {
            Some(j) => format!("/users/{}/{}/{j}", self.user, self.field),
            None => format!("/users/{}/{}", self.user, self.field),
        }
    }
}

impl Checker<'_> {
    /// Where the value at JSON pointer `ptr` is in the source.
    fn at(&self, ptr: &str) -> Loc {
        self.map.value(ptr)
    }

    /// Reports `what`, declared at `second`, as already declared at `first`.
    fn dup(&mut self, what: &str, first: &str, second: &str) {
        let here = self.at(second);
        self.out.push(
            Diagnostic::new(
                here,
                format!("{what} is declared twice: here and at {}", self.at(first)),
            )
            .hint("keep one declaration and remove the other"),
        );
    }

    /// Whether role, team and queue names are each declared once; remembers the roles.
    fn unique_names(&mut self) {
        let roster = self.roster;
        for (i, r) in roster.roles.iter().enumerate() {
            let ptr = format!("/roles/{i}/name");
            if let Some(first) = self.roles.insert(r.name.to_lowercase(), ptr.clone()) {
                self.dup(&format!("role `{}`", r.name), &first, &ptr);
            }
        }
        // A team's former names are reserved too: a live team with one is this team.
        let mut teams: HashMap<String, String> = HashMap::new();
        for (i, t) in roster.teams.iter().enumerate() {
            let ptr = format!("/teams/{i}/name");
            if let Some(first) = teams.insert(t.name.clone(), ptr.clone()) {
                self.dup(&format!("team `{}`", t.name), &first, &ptr);
            }
            for (j, p) in t.previously.iter().enumerate() {
                let pptr = format!("/teams/{i}/previously/{j}");
                if let Some(first) = teams.insert(p.clone(), pptr.clone()) {
                    self.dup(&format!("team name `{p}`"), &first, &pptr);
                }
            }
        }
        let mut rgs: HashMap<String, String> = HashMap::new();
        for (i, g) in roster.queues.iter().map(|q| q.name()).enumerate() {
            let ptr = format!("/queues/{i}");
            if let Some(first) = rgs.insert(g.to_string(), ptr.clone()) {
                self.dup(&format!("queue `{g}`"), &first, &ptr);
            }
        }
    }

    /// Whether roles are declared at all, and one of them is administrative.
    fn roles_declared(&mut self) {
        let roles = &self.roster.roles;
        if !roles.is_empty() && !roles.iter().any(|r| r.admin) {
            self.out.push(
                Diagnostic::new(self.at("/roles"), "no role is marked `admin: true`").hint(
                    "mark the administrative role, e.g. `- { name: Administrator, admin: true }`",
                ),
            );
        }
        if roles.is_empty() {
            self.out.push(
                Diagnostic::new(self.at(""), "no roles are declared")
                    .hint("declare the account's roles under `roles:`, one with `admin: true`"),
            );
        }
    }

    /// Whether the policy's admin floor, deactivation cap and ignore patterns are valid.
    fn policy(&mut self) {
        if let Some(tz) = &self.roster.policy.time_zone
            && chrono_tz::Tz::from_str(tz).is_err()
        {
            self.out.push(
                Diagnostic::new(
                    self.at("/policy/time_zone"),
                    format!("`{tz}` is not an IANA time zone"),
                )
                .hint("use a name such as `Europe/Lisbon`; the users' dates are days in it"),
            );
        }
        let policy = &self.roster.policy;
        if policy.min_admins == 0 {
            self.out.push(
                Diagnostic::new(self.at("/policy/min_admins"), "min_admins is 0; the floor is 1").hint(
                    "an account without an administrator is locked out: set min_admins to 1 or more",
                ),
            );
        }
        if let Some(MaxDeactivations::Percent(p)) = &policy.max_deactivations
            && p.trim_end_matches('%')
                .parse::<u32>()
                .map_or(true, |n| n > 100)
        {
            self.out.push(
                Diagnostic::new(
                    self.at("/policy/max_deactivations"),
                    format!("`{p}` is not a percentage from 0% to 100%"),
                )
                .hint("write a count such as `5` or a percentage such as `\"10%\"`"),
            );
        }
        for (i, p) in policy.ignore.iter().enumerate() {
            if let Err(e) = Glob::new(p) {
                self.out.push(
                    Diagnostic::new(
                        self.at(&format!("/policy/ignore/{i}")),
                        format!("invalid glob pattern `{p}`: {}", e.kind()),
                    )
                    .hint("use `*` and `?` wildcards, e.g. `\"*@vendor.example\"`"),
                );
            }
        }
    }

    /// The address a field of a user holds: the email, or a former one.
    fn address(&self, field: UserField) -> &str {
        let u = &self.roster.users[field.user];
        match field.item {
            Some(j) => &u.previously[j],
            None => &u.email,
        }
    }

    /// Whether a user's email and former emails are valid, unique and not ignored.
    fn emails(&mut self, u: &UserDecl, i: usize, ignored: &GlobSet) {
        for (field, email) in addresses(u, i) {
            if let Some((message, hint)) = address_problem(email) {
                self.out
                    .push(Diagnostic::new(self.at(&field.pointer()), message).hint(hint));
                continue;
            }
            if !email.is_ascii() {
                self.outside_ascii.push(field);
                self.mixed_scripts(email, field);
            }
            if !email_address::EmailAddress::is_valid(email) {
                self.out.push(
                    Diagnostic::new(
                        self.at(&field.pointer()),
                        format!("`{email}` is not a valid email address"),
                    )
                    .hint("write it as name@domain, e.g. jane@acme.example"),
                );
            }
            self.email_domain(email, field);
            let lower = email.to_lowercase();
            // Most rosters ignore nobody: skip the glob match then.
            if !ignored.is_empty() && ignored.is_match(&lower) {
                self.out.push(
                    Diagnostic::new(self.at(&field.pointer()), format!("{email} matches a `policy.ignore` pattern, so roster would never manage it"))
                        .hint("remove the user or narrow the ignore pattern"),
                );
            }
            if let Some(first) = self.emails.insert(lower, field) {
                self.dup(
                    &format!("email {email}"),
                    &first.pointer(),
                    &field.pointer(),
                );
            }
        }
    }

    /// Warns of an address with a part that mixes scripts (`оps` with a Cyrillic о):
    /// a person's own mailbox may be spelt so, but that is how a look-alike is made.
    fn mixed_scripts(&mut self, email: &str, field: UserField) {
        if let Some(part) = lookalike::mixed_part(email) {
            self.warnings.push(
                Diagnostic::new(
                    self.at(&field.pointer()),
                    format!(
                        "{email} mixes scripts in `{part}` ({} among letters of another script)",
                        lookalike::outside_ascii(part)
                    ),
                )
                .hint("check that the mailbox is spelt so: a letter of another script can pass for the one it resembles"),
            );
        }
    }

    /// Whether an address outside ASCII looks like another user's address (Unicode's
    /// confusables): reported at the address outside ASCII, or at the later of two
    /// such, naming the other. A user's own addresses may look alike: a former
    /// look-alike under `previously:` is how one is corrected.
    fn lookalikes(&mut self) {
        if self.outside_ascii.is_empty() {
            return;
        }
        let table = Lookalikes::of(self.outside_ascii.iter().map(|&f| (f, self.address(f))));
        let roster = self.roster;
        for (i, u) in roster.users.iter().enumerate() {
            for (field, email) in addresses(u, i) {
                // Refused above, and not repeated in another message.
                if address_problem(email).is_some() {
                    continue;
                }
                for other in table.like(email) {
                    // Both outside ASCII: found from each side, reported from the later.
                    if other.user == i || (!email.is_ascii() && other.user > i) {
                        continue;
                    }
                    let (here, there) = if email.is_ascii() {
                        (other, field)
                    } else {
                        (field, other)
                    };
                    self.lookalike(here, there);
                }
            }
        }
    }

    /// Reports the address at `here` as looking like the one at `there`.
    fn lookalike(&mut self, here: UserField, there: UserField) {
        let (address, other) = (self.address(here), self.address(there));
        let message = format!(
            "{address} looks like {other}, declared at {}, but is a different address",
            self.at(&there.pointer())
        );
        let hint = format!(
            "look-alike characters in it: {}. Write the address as its mailbox spells it, and declare each person once",
            lookalike::outside_ascii(address)
        );
        self.out
            .push(Diagnostic::new(self.at(&here.pointer()), message).hint(hint));
    }

    /// Whether a user's name holds only what a person's name can: no control
    /// characters (its length is the schema's).
    fn name(&mut self, u: &UserDecl, i: usize) {
        if let Some(c) = u.name.chars().find(|c| c.is_control()) {
            self.out.push(
                Diagnostic::new(
                    self.at(&UserField::new(i, "name").pointer()),
                    format!(
                        "the name holds a control character, {}, which no person's name has",
                        control(c)
                    ),
                )
                .hint(
                    "write the name as plain text on one line (a `|` block keeps its line breaks)",
                ),
            );
        }
    }

    /// Whether an email is at one of `policy.email_domains`, when the policy lists them.
    fn email_domain(&mut self, email: &str, field: UserField) {
        let allowed = &self.roster.policy.email_domains;
        let Some((_, domain)) = email.rsplit_once('@') else {
            return;
        };
        if allowed.is_empty() || allowed.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
            return;
        }
        let names: Vec<&str> = allowed.iter().map(String::as_str).collect();
        self.out.push(
            Diagnostic::new(
                self.at(&field.pointer()),
                format!("{email} is outside `policy.email_domains`: a welcome email would go to a stranger"),
            )
            .hint(suggest::hint(domain, &names, "use an allowed domain, or add this one to the policy", "allowed")),
        );
    }

    /// Reports a role, team or queue name at `ptr` that the roster does not declare,
    /// with the nearest declared one, or the declared ones when none is near.
    fn undeclared(
        &mut self,
        what: &str,
        ptr: &str,
        name: &str,
        declared: &[&str],
        otherwise: &str,
    ) {
        self.out.push(
            Diagnostic::new(self.at(ptr), format!("{what} `{name}` is not declared"))
                .hint(suggest::hint(name, declared, otherwise, "declared")),
        );
    }

    /// Phone settings and add-ons follow a modeled contract: a roster that declares them
    /// says so in `provider.modeled`, or gets an error at the first such line.
    fn modeled(&mut self) {
        let roster = self.roster;
        let opted = &roster.provider.modeled;
        let first_user = |has: &dyn Fn(&UserDecl) -> bool| roster.users.iter().position(has);
        let phone =
            first_user(&|u| u.phone.is_some()).map(|i| UserField::new(i, "phone").pointer());
        let addons = if roster.policy.addons.is_empty() {
            first_user(&|u| u.addons.is_some()).map(|i| UserField::new(i, "addons").pointer())
        } else {
            Some("/policy/addons".to_string())
        };
        for (surface, pointer, what) in [
            (Modeled::Phone, phone, "Talkdesk Phone settings"),
            (Modeled::Addons, addons, "add-on licenses"),
        ] {
            let Some(pointer) = pointer else { continue };
            if opted.contains(&surface) {
                continue;
            }
            let name = surface.as_str();
            self.out.push(
                Diagnostic::new(
                    self.map.key(&pointer),
                    format!("{what} follow a modeled contract: no public vendor page documents their API, so a real account may not answer as the sandbox does"),
                )
                .hint(format!("to manage them anyway, add `modeled: [{name}]` to `provider` (with the other modeled surfaces it uses)")),
            );
        }
    }

    /// Whether the role, teams, queues and add-ons a user names are declared.
    /// `role` is the user's role, lowercased.
    fn references(&mut self, u: &UserDecl, i: usize, role: &str) {
        let roster = self.roster;
        if !roster.roles.is_empty() && !self.roles.contains_key(role) {
            let declared: Vec<&str> = roster.roles.iter().map(|r| r.name.as_str()).collect();
            let hint = "declare it under `roles:` or use a declared role";
            self.undeclared(
                "role",
                &UserField::new(i, "role").pointer(),
                &u.role,
                &declared,
                hint,
            );
        }
        for (j, t) in u.teams.iter().flatten().enumerate() {
            if !roster.teams.iter().any(|d| &d.name == t) {
                let declared: Vec<&str> = roster.teams.iter().map(|d| d.name.as_str()).collect();
                let ptr = UserField::item(i, "teams", j).pointer();
                self.undeclared("team", &ptr, t, &declared, "declare it under `teams:`");
            }
        }
        for (j, g) in u.queues.iter().flatten().enumerate() {
            if !roster.queues.iter().any(|q| q.name() == g) {
                let declared: Vec<&str> = roster.queues.iter().map(|q| q.name()).collect();
                let ptr = UserField::item(i, "queues", j).pointer();
                self.undeclared("queue", &ptr, g, &declared, "declare it under `queues:`");
            }
        }
        let talkdesk = matches!(
            roster.provider.kind,
            ProviderKind::Talkdesk | ProviderKind::TalkdeskScim
        );
        if talkdesk && u.queues.as_ref().is_some_and(Vec::is_empty) {
            // docs.talkdesk.com/reference/unassignuserstoqueues: the unassign fails
            // inside a 200 at apply, so the plan refuses it here.
            self.out.push(
                Diagnostic::new(
                    self.at(&UserField::new(i, "queues").pointer()),
                    "a Talkdesk user must keep at least one queue".to_string(),
                )
                .hint("list the queue this user keeps, or leave `queues` out to leave them as they are"),
            );
        }
        for (j, a) in u.addons.iter().flatten().enumerate() {
            if !roster.policy.addons.contains_key(a) {
                self.out.push(
                    Diagnostic::new(
                        self.at(&UserField::item(i, "addons", j).pointer()),
                        format!("add-on `{a}` has no entitlement in `policy.addons`"),
                    )
                    .hint(
                        "add it with its seat count, e.g. `policy: { addons: { salesforce: 40 } }`",
                    ),
                );
            }
        }
    }

    /// Whether a user's `active_from` and `active_until` are real days, in order.
    fn dates(&mut self, u: &UserDecl, i: usize) {
        let (from, until) = u.dates();
        for (field, text, day) in [
            ("active_from", &u.active_from, from),
            ("active_until", &u.active_until, until),
        ] {
            if let (Some(text), None) = (text, day) {
                self.out.push(
                    Diagnostic::new(
                        self.at(&UserField::new(i, field).pointer()),
                        format!("`{text}` is not a day of the calendar"),
                    )
                    .hint("write the date as YYYY-MM-DD, such as `2026-12-24`"),
                );
            }
        }
        if let (Some(f), Some(t)) = (from, until)
            && t < f
        {
            self.out.push(
                Diagnostic::new(
                    self.at(&UserField::new(i, "active_until").pointer()),
                    format!("active_until {t} is before active_from {f}"),
                )
                .hint("swap the dates, or remove one"),
            );
        }
    }

    /// Whether a user's time zone and language are known ones.
    fn locale(&mut self, u: &UserDecl, i: usize) {
        if let Some(tz) = &u.time_zone
            && chrono_tz::Tz::from_str(tz).is_err()
        {
            self.out.push(
                Diagnostic::new(
                    self.at(&UserField::new(i, "time_zone").pointer()),
                    format!("`{tz}` is not an IANA time zone"),
                )
                .hint(
                    match suggest::nearest(tz, chrono_tz::TZ_VARIANTS.iter().map(|z| z.name())) {
                        Some(near) => format!("did you mean `{near}`?"),
                        None => "use a name such as `Europe/Lisbon` or `America/New_York`".into(),
                    },
                ),
            );
        }
        if let Some((message, hint)) = u.language.as_deref().and_then(suggest::language_problem) {
            self.out.push(
                Diagnostic::new(self.at(&UserField::new(i, "language").pointer()), message)
                    .hint(hint),
            );
        }
    }

    /// Whether a user's extensions are not reserved and no other user's.
    fn extensions(&mut self, u: &UserDecl, i: usize) {
        let exts = [
            ("extension", u.extension.as_ref()),
            (
                "phone/extension",
                u.phone.as_ref().and_then(|p| p.extension.as_ref()),
            ),
        ];
        let mut own: Option<&String> = None;
        for (field, ext) in exts {
            let Some(ext) = ext else { continue };
            let field = UserField::new(i, field);
            if is_reserved_extension(ext) {
                self.out.push(
                    Diagnostic::new(self.at(&field.pointer()), format!("extension {ext} is reserved for emergency services"))
                        .hint("911, 112, 999, 933, 988 and each of them after one digit cannot be extensions; pick another"),
                );
            }
            if own == Some(ext) {
                continue; // the same user's REST and phone extension may agree
            }
            own = Some(ext);
            if let Some(first) = self.extensions.insert(ext.clone(), field) {
                self.dup(
                    &format!("extension {ext}"),
                    &first.pointer(),
                    &field.pointer(),
                );
            }
        }
    }

    /// Whether a user's phone numbers, SIP phones, call forward and country are valid,
    /// with numbers and SIP phones no other user's.
    fn phone(&mut self, phone: &PhoneSettings, pbase: &str) {
        if let Some(c) = &phone.caller_id {
            self.e164(&format!("{pbase}/caller_id"), c);
        }
        for (j, n) in phone.numbers.iter().flatten().enumerate() {
            let ptr = format!("{pbase}/numbers/{j}");
            self.e164(&ptr, n);
            if let Some(first) = self.numbers.insert(n.clone(), ptr.clone()) {
                self.dup(&format!("number {n}"), &first, &ptr);
            }
        }
        for (j, d) in phone.sip_phones.iter().flatten().enumerate() {
            let ptr = format!("{pbase}/sip_phones/{j}");
            if let Some(first) = self.devices.insert(d.clone(), ptr.clone()) {
                self.dup(&format!("SIP phone `{d}`"), &first, &ptr);
            }
        }
        if let Some(cf) = &phone.call_forward {
            match (&cf.number, cf.enabled) {
                (Some(n), _) => self.e164(&format!("{pbase}/call_forward/number"), n),
                (None, true) => self.out.push(
                    Diagnostic::new(
                        self.at(&format!("{pbase}/call_forward")),
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
            self.out.push(
                Diagnostic::new(
                    self.at(&format!("{pbase}/default_country_code")),
                    format!("`{cc}` is not an ISO 3166 alpha-2 country code"),
                )
                .hint("use two capital letters, e.g. `PT`, `US`, `GB`"),
            );
        }
    }

    /// Whether the number `n`, at `ptr`, is E.164.
    fn e164(&mut self, ptr: &str, n: &str) {
        if !is_e164(n) {
            self.out.push(
                Diagnostic::new(self.at(ptr), format!("`{n}` is not an E.164 number")).hint(
                    "write + country code and number without spaces, e.g. `\"+351211234567\"`",
                ),
            );
        }
    }

    /// Whether the declared active administrators meet `min_admins` and include every
    /// required admin.
    fn admin_floor(&mut self, admins_active: &[String]) {
        let policy = &self.roster.policy;
        if !self.roster.roles.is_empty() && (admins_active.len() as u32) < policy.min_admins.max(1)
        {
            self.out.push(
                Diagnostic::new(
                    // At `min_admins` when the roster sets it, else at `users:`, where the
                    // remedy goes (an unset pointer falls back to its parent's place).
                    {
                        let set = self.at("/policy/min_admins");
                        if set != self.at("/policy") {
                            set
                        } else {
                            self.map.key("/users")
                        }
                    },
                    format!(
                        "{} active administrator{} declared; `policy.min_admins` asks for at least {}",
                        admins_active.len(),
                        if admins_active.len() == 1 { " is" } else { "s are" },
                        policy.min_admins.max(1)
                    ),
                )
                .hint(if policy.min_admins > 1 {
                    "give more active users a role with `admin: true`, or lower `policy.min_admins` (an account without an administrator is locked out)"
                } else {
                    "give an active user a role with `admin: true`: an account without an administrator is locked out"
                }),
            );
        }
        for (i, email) in policy.required_admins.iter().enumerate() {
            if !admins_active.contains(&email.to_lowercase()) {
                self.out.push(
                    Diagnostic::new(
                        self.at(&format!("/policy/required_admins/{i}")),
                        format!(
                            "required admin {email} is not declared as an active administrator"
                        ),
                    )
                    .hint("declare the user with an `admin: true` role and status active"),
                );
            }
        }
    }
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

    /// The check the provider makes and the schema's pattern agree.
    #[test]
    fn a_talkdesk_account_is_one_dns_label() {
        let long = "a".repeat(63);
        let too_long = "a".repeat(64);
        let cases = [
            ("acme", true),
            ("acme-eu-2", true),
            ("A1", true),
            ("7", true),
            (long.as_str(), true),
            ("", false),
            (too_long.as_str(), false),
            ("-acme", false),
            ("acme-", false),
            ("acme.mytalkdesk.com", false),
            ("127.0.0.1:18099/steal?x=", false),
            ("acme_eu", false),
            ("acm\u{0435}", false),
            ("acme\n", false),
        ];
        for (account, valid) in cases {
            assert_eq!(is_talkdesk_account(account), valid, "{account:?}");
            for kind in ["talkdesk", "talkdesk-scim"] {
                let roster = serde_json::json!({
                    "version": 1,
                    "provider": { "kind": kind, "account": account },
                });
                let schema = super::super::validator().is_valid(&roster);
                assert_eq!(schema, valid && !account.is_empty(), "{kind} {account:?}");
            }
        }
        // CloudTalk's account names no host: any name will do.
        let roster = serde_json::json!({
            "version": 1,
            "provider": { "kind": "cloudtalk", "account": "Acme, Inc." },
        });
        assert!(super::super::validator().is_valid(&roster));
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
