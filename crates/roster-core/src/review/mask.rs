//! Masking for public repositories: the names, emails and phone numbers of a plan are
//! masked as values before anything renders them, so no renderer's escaping lets one
//! through, and each masked value carries a short keyed hash so that two different
//! values never look alike (`j***@acme.example (3fa2c0d1)`).

use std::collections::HashMap;
use std::sync::OnceLock;

use ring::rand::{SecureRandom, SystemRandom};
use serde_json::Value;

use super::key::ApprovalKey;
use crate::plan::{Change, Field, FieldChange, Guard, Kind, Plan};
use crate::secret::Secret;

/// Hex digits of the keyed hash shown beside a masked value: enough that two values of
/// one plan do not share one by chance.
const HASH_DIGITS: usize = 8;

/// The key's domain for masked values, apart from its approval signatures.
const DOMAIN: &str = "mask";

/// Fewest digits after a `+` that masking in free text takes for a phone number, so a
/// count such as `+4` stays as it is.
const MIN_DIGITS: usize = 5;

/// This process's mask key, once chosen.
static KEY: OnceLock<ApprovalKey> = OnceLock::new();

/// Chooses the mask key: the approval key when the caller has one. Call it before the
/// first mask; a later call changes nothing (hashes in one output must agree).
pub fn set_mask_key(key: ApprovalKey) {
    let _ = KEY.set(key);
}

/// The key of this process's hashes: the one [`set_mask_key`] chose, else a random key.
/// With a random key the same value hashes differently in each `roster` command, so
/// hashes compare only within one output.
pub fn mask_key() -> &'static ApprovalKey {
    KEY.get_or_init(random_key)
}

/// 32 random bytes as a key; a hash under it cannot be tested against guesses.
fn random_key() -> ApprovalKey {
    let mut bytes = [0u8; 32];
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("the operating system's random generator answers");
    ApprovalKey::new(&Secret::new(hex::encode(bytes))).expect("64 hex digits are a long key")
}

/// `plan` with every name, email and phone number masked under [`mask_key`], for
/// rendering where the public can read it.
pub fn masked_plan(plan: &Plan) -> Plan {
    Masker::new(plan, mask_key()).plan(plan)
}

/// Masks the personal values of one plan: emails and phone numbers wherever they are,
/// and the names the plan gives its people.
pub struct Masker<'k> {
    key: &'k ApprovalKey,
    /// Every spelling of every name (as written, JSON-escaped, Markdown-escaped) with
    /// its masked form, by the name's first two characters, longest first.
    names: HashMap<(char, char), Vec<(String, String)>>,
}

impl<'k> Masker<'k> {
    /// A masker for the names of `plan`, hashing under `key`.
    pub fn new(plan: &Plan, key: &'k ApprovalKey) -> Masker<'k> {
        let mut masker = Masker {
            key,
            names: HashMap::new(),
        };
        let field_names = plan
            .changes
            .iter()
            .filter_map(|c| c.fields.get(&Field::Name));
        let names = plan.changes.iter().filter_map(|c| c.name.as_deref()).chain(
            field_names.flat_map(|f| [f.from.as_str(), f.to.as_str()].into_iter().flatten()),
        );
        for name in names {
            masker.index(name);
        }
        for spellings in masker.names.values_mut() {
            spellings.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
            spellings.dedup_by(|a, b| a.0 == b.0);
        }
        masker
    }

    /// Adds `name`'s spellings to the index; a one-letter name is left out, since it
    /// would mask that letter everywhere.
    fn index(&mut self, name: &str) {
        let mut chars = name.chars();
        let (Some(a), Some(b)) = (chars.next(), chars.next()) else {
            return;
        };
        let masked = self.name(name);
        let json = serde_json::to_string(name).unwrap_or_default();
        let json = json[1..json.len() - 1].to_string();
        let markdown = name.replace('|', "\\|");
        let spellings = self.names.entry((a, b)).or_default();
        for s in [name.to_string(), json, markdown] {
            spellings.push((s, masked.clone()));
        }
    }

    /// A short keyed hash of `value`, to show beside its masked form.
    fn hash(&self, value: &str) -> String {
        let mut h = self.key.short(DOMAIN, value.as_bytes());
        h.truncate(HASH_DIGITS);
        h
    }

    /// `j***@acme.example (3fa2c0d1)`: the local part's first letter and the domain.
    pub fn email(&self, email: &str) -> String {
        let hash = self.hash(email);
        match email.rsplit_once('@') {
            Some((local, domain)) => format!("{}***@{domain} ({hash})", initial(local)),
            None => format!("{}*** ({hash})", initial(email)),
        }
    }

    /// `A*** S*** (91c0ab12)`: each word's first letter or digit.
    fn name(&self, name: &str) -> String {
        let words: Vec<String> = name
            .split_whitespace()
            .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
            .map(|c| format!("{c}***"))
            .collect();
        let shown = if words.is_empty() {
            "***".to_string()
        } else {
            words.join(" ")
        };
        format!("{shown} ({})", self.hash(name))
    }

    /// `+121******99 (7d1e0a3b)`: a `+` and digits keep their first three and last two
    /// digits, or only the first when there are fewer than eight.
    fn number(&self, number: &str) -> String {
        let digits = number.trim_start_matches('+');
        let (head, tail) = if digits.len() >= 8 { (3, 2) } else { (1, 0) };
        let hidden = "*".repeat(digits.len() - head - tail);
        let (first, last) = (&digits[..head], &digits[digits.len() - tail..]);
        format!("+{first}{hidden}{last} ({})", self.hash(number))
    }

    /// The key of `c` as published: a user's email masked, a team's name as it is.
    pub fn key(&self, c: &Change) -> String {
        match c.kind {
            Kind::User => self.email(&c.key),
            Kind::Team => c.key.clone(),
        }
    }

    /// Free text with its emails, phone numbers and the plan's names masked.
    pub fn text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() + 16);
        let mut last = 0;
        for (start, end) in emails(text) {
            self.numbers_into(&text[last..start], &mut out);
            out.push_str(&self.email(&text[start..end]));
            last = end;
        }
        self.numbers_into(&text[last..], &mut out);
        out
    }

    /// Text without emails, its phone numbers and names masked, onto `out`.
    fn numbers_into(&self, text: &str, out: &mut String) {
        let mut rest = text;
        while let Some(i) = rest.find('+') {
            self.names_into(&rest[..i], out);
            let digits = rest[i + 1..].bytes().take_while(u8::is_ascii_digit).count();
            let number = &rest[i..i + 1 + digits];
            if digits >= MIN_DIGITS {
                out.push_str(&self.number(number));
            } else {
                out.push_str(number);
            }
            rest = &rest[i + 1 + digits..];
        }
        self.names_into(rest, out);
    }

    /// Text with the plan's names masked where they stand as words, onto `out`.
    fn names_into(&self, text: &str, out: &mut String) {
        if self.names.is_empty() {
            out.push_str(text);
            return;
        }
        let (mut i, mut last) = (0, 0);
        while let Some(c) = text[i..].chars().next() {
            match self.name_at(text, i) {
                Some((len, masked)) => {
                    out.push_str(&text[last..i]);
                    out.push_str(masked);
                    i += len;
                    last = i;
                }
                None => i += c.len_utf8(),
            }
        }
        out.push_str(&text[last..]);
    }

    /// The longest spelling of a name that starts a word at byte `i` of `text`: its
    /// length and masked form.
    fn name_at(&self, text: &str, i: usize) -> Option<(usize, &str)> {
        if text[..i]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
        {
            return None;
        }
        let rest = &text[i..];
        let mut chars = rest.chars();
        let first = (chars.next()?, chars.next()?);
        self.names
            .get(&first)?
            .iter()
            .find(|(s, _)| {
                rest.starts_with(s.as_str()) && !rest[s.len()..].starts_with(char::is_alphanumeric)
            })
            .map(|(s, masked)| (s.len(), masked.as_str()))
    }

    /// A field's value masked: a name as a name, an email as an email, any other text
    /// (phone numbers, lists, call forwarding) through [`Masker::text`].
    fn value(&self, field: &Field, v: &Value) -> Value {
        match v {
            Value::String(s) if *field == Field::Name => Value::String(self.name(s)),
            Value::String(s) if *field == Field::Email => Value::String(self.email(s)),
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| self.value(field, v)).collect())
            }
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (k.clone(), self.value(field, v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }

    /// One change masked; IDs, actions, phases and field names stay.
    fn change(&self, c: &Change) -> Change {
        // Every field is named, so a field added to changes must be thought about here.
        let Change {
            action,
            kind,
            key: _,
            name,
            held,
            id,
            phase,
            fields,
            precondition,
            needs,
        } = c;
        let fields = fields.iter().map(|(f, v)| {
            let masked = FieldChange {
                from: self.value(f, &v.from),
                to: self.value(f, &v.to),
            };
            (*f, masked)
        });
        Change {
            action: *action,
            kind: *kind,
            key: self.key(c),
            name: name.as_deref().map(|n| self.name(n)),
            held: *held,
            id: id.clone(),
            phase: *phase,
            fields: fields.collect(),
            precondition: precondition.clone(),
            // A scope's name, never a person's.
            needs: needs.clone(),
        }
    }

    /// `plan` masked, to render: its checksum stays that of the plan as made.
    pub fn plan(&self, plan: &Plan) -> Plan {
        // Every field is named, so a field added to plans must be thought about here.
        let Plan {
            format_version,
            provider,
            account,
            checksum,
            summary,
            guards,
            warnings,
            manual_steps,
            notes,
            admin_roles,
            min_admins,
            team_aliases,
            memberships,
            floors,
            upcoming,
            changes,
        } = plan;
        let texts = |items: &[String]| items.iter().map(|t| self.text(t)).collect();
        let guards = guards.iter().map(|g| Guard {
            detail: self.text(&g.detail),
            ..g.clone()
        });
        Plan {
            format_version: *format_version,
            provider: provider.clone(),
            account: account.clone(),
            checksum: checksum.clone(),
            summary: summary.clone(),
            guards: guards.collect(),
            warnings: texts(warnings),
            manual_steps: texts(manual_steps),
            notes: texts(notes),
            admin_roles: admin_roles.clone(),
            min_admins: *min_admins,
            team_aliases: team_aliases.clone(),
            memberships: memberships.clone(),
            // Team and queue names, never a person's.
            floors: floors.clone(),
            upcoming: texts(upcoming),
            changes: changes.iter().map(|c| self.change(c)).collect(),
        }
    }
}

/// The first letter or digit of `s`, or `*`.
fn initial(s: &str) -> char {
    s.chars().find(|c| c.is_alphanumeric()).unwrap_or('*')
}

/// Whether `c` may be part of an email's local part in free text: letters and digits
/// of any script, and the punctuation addresses use.
fn is_local(c: char) -> bool {
    c.is_alphanumeric() || "._%+-'".contains(c)
}

/// The emails in `text`, as byte ranges: a local part, `@`, and a domain of letters,
/// digits, dots and hyphens that starts with a letter or digit.
fn emails(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut floor = 0;
    for (at, _) in text.match_indices('@') {
        if at < floor {
            continue;
        }
        let before = &text[floor..at];
        let local_len: usize = before
            .chars()
            .rev()
            .take_while(|c| is_local(*c))
            .map(char::len_utf8)
            .sum();
        // Quotes or dots before an address are the text's, not the address's.
        let local =
            before[before.len() - local_len..].trim_start_matches(|c: char| !c.is_alphanumeric());
        let after = &text[at + 1..];
        let domain_len: usize = after
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '.' || *c == '-')
            .map(char::len_utf8)
            .sum();
        let domain = after[..domain_len].trim_end_matches(['.', '-']);
        if local.is_empty() || !domain.starts_with(char::is_alphanumeric) {
            continue;
        }
        let end = at + 1 + domain.len();
        out.push((at - local.len(), end));
        floor = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApprovalKey {
        ApprovalKey::new(&Secret::new("0123456789abcdef0123456789abcdef")).unwrap()
    }

    /// A plan that renames `from` to `to` at `email`, and moves a call forward.
    fn plan(email: &str, from: &str, to: &str) -> Plan {
        serde_json::from_value(serde_json::json!({
            "format_version": 1, "provider": "talkdesk", "account": "acme", "checksum": "sha256:abc",
            "summary": {"create": 0, "update": 1, "reactivate": 0, "deactivate": 0, "offboard": 0,
                "create_team": 0, "seats_before": 1, "seats_after": 1, "monthly_cost_delta": 0.0,
                "currency": null, "welcome_emails": 0},
            "guards": [{"name": "required_admins", "ok": false,
                "detail": format!("not active administrators after the plan: {email}")}],
            "warnings": [format!("{email} is managed by another system")],
            "manual_steps": [], "notes": [], "admin_roles": [], "min_admins": 1, "team_aliases": {},
            "changes": [{"action": "update", "kind": "user", "key": email, "id": "u-1", "name": to,
                "phase": "updates", "precondition": null, "fields": {
                    "name": {"from": from, "to": to},
                    "phone.call_forward": {"from": {"enabled": true, "number": "+12125550199"},
                        "to": {"enabled": true, "number": "+12125551299"}},
                    "phone.numbers": {"from": ["+351211230001"], "to": []}}}]
        }))
        .unwrap()
    }

    #[test]
    fn emails_are_masked_in_any_script_and_keep_their_domain() {
        let k = key();
        let m = Masker::new(&plan("a@acme.example", "A", "B"), &k);
        let text =
            m.text("+ user zoë.núñez@acme.example and 'o'brien@x.example'; not @handle or a@");
        assert!(text.starts_with("+ user z***@acme.example ("), "{text}");
        assert!(text.contains(" and 'o***@x.example ("), "{text}");
        assert!(text.ends_with("'; not @handle or a@"), "{text}");
        assert!(!text.contains("zoë") && !text.contains("brien"), "{text}");
    }

    #[test]
    fn numbers_are_masked_and_short_digit_runs_kept() {
        let k = key();
        let m = Masker::new(&plan("a@acme.example", "A", "B"), &k);
        let text = m.text("call +351211230001 or +12, extension 2001, seats (+4)");
        let hash = m.hash("+351211230001");
        assert_eq!(
            text,
            format!("call +351*******01 ({hash}) or +12, extension 2001, seats (+4)")
        );
    }

    #[test]
    fn names_with_quotes_bars_or_accents_are_masked_however_they_are_escaped() {
        let name = r#"José "Pepe" Núñez | Ops"#;
        let k = key();
        let m = Masker::new(&plan("jose@acme.example", "Pepe", name), &k);
        let masked = m.name(name);
        assert!(masked.starts_with("J*** P*** N*** O*** ("), "{masked}");
        for spelling in [
            name.to_string(),
            serde_json::to_string(name).unwrap(),
            name.replace('|', "\\|"),
        ] {
            let text = m.text(&format!("update jose@acme.example name={spelling}, Pepe"));
            assert!(!text.contains("José") && !text.contains("Pepe"), "{text}");
            assert!(text.contains(&masked), "{text}");
        }
        assert_eq!(m.text("Pepeira"), "Pepeira", "only whole words are names");
    }

    #[test]
    fn a_masked_plan_keeps_changes_visible_and_hides_every_value() {
        let email = "zoë@acme.example";
        let (from, to) = (r#"Zoë "Z" Ortiz"#, "Zoë Ortiz | Sales");
        let raw = plan(email, from, to);
        let k = key();
        let masked = Masker::new(&raw, &k).plan(&raw);
        for text in [
            crate::render::markdown_limited(&masked, usize::MAX),
            crate::render::text(&masked, false),
            crate::plan_file::to_json(&masked),
        ] {
            for value in [
                "zoë",
                "Ortiz",
                "Zoë",
                "12125550199",
                "12125551299",
                "351211230001",
            ] {
                assert!(!text.contains(value), "{value} in\n{text}");
            }
        }
        let c = &masked.changes[0];
        assert_eq!(
            (c.id.as_deref(), c.action, c.fields.len()),
            (Some("u-1"), raw.changes[0].action, 3)
        );
        for field in [Field::Name, Field::PhoneCallForward, Field::PhoneNumbers] {
            let f = &c.fields[&field];
            assert_ne!(f.from, f.to, "{field} still shows a change");
        }
        assert_eq!(
            c.name.as_ref(),
            c.fields[&Field::Name]
                .to
                .as_str()
                .map(String::from)
                .as_ref()
        );
        assert_eq!(masked.checksum, raw.checksum);
        assert!(
            masked.guards[0].detail.ends_with(&c.key),
            "{}",
            masked.guards[0].detail
        );
    }

    #[test]
    fn hashes_are_keyed() {
        let raw = plan("a@acme.example", "Ana", "Ann");
        let one = key();
        let other = ApprovalKey::new(&Secret::new("fedcba9876543210fedcba9876543210")).unwrap();
        let a = Masker::new(&raw, &one).key(&raw.changes[0]);
        let b = Masker::new(&raw, &other).key(&raw.changes[0]);
        assert!(a.starts_with("a***@acme.example (") && b.starts_with("a***@acme.example ("));
        assert_ne!(a, b, "another key, another hash");
    }
}
