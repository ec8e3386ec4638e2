//! Schema errors in the roster's words. The validator speaks JSON Schema (`anyOf`,
//! `minLength`, `pattern`); an operator needs "`status` must be `active` or `inactive`"
//! and what to write instead. Every keyword the schema uses has a translation here, and
//! a test fails when the schema gains one that has not.

use jsonschema::error::ValidationErrorKind as Kind;
use serde_json::Value;

use super::diagnostic::Diagnostic;
use super::source::SourceMap;
use super::{schema_once, sort, suggest, validator};

/// The last resort, for a value no more specific hint fits.
const FORMAT_HINT: &str = "`roster schema` prints the format, with the allowed values";

/// The patterns the schema uses, in words, with an example to copy.
const PATTERNS: [(&str, &str, &str); 5] = [
    (
        "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
        "a date written YYYY-MM-DD",
        "`2026-12-01`",
    ),
    ("^[0-9]{2,8}$", "2 to 8 digits", "`\"2001\"`"),
    (
        "^[0-9]+(\\.[0-9]+)?/(s|min)$",
        "a rate such as `5/s` or `300/min`",
        "`5/s`",
    ),
    (
        "^[0-9]{1,3}%$",
        "a percentage such as `\"10%\"`",
        "`\"10%\"`",
    ),
    (
        super::types::TALKDESK_ACCOUNT,
        "the account's subdomain, the ACCOUNT of https://ACCOUNT.mytalkdesk.com: letters, digits and hyphens, 1 to 63, no hyphen first or last",
        "`acme`",
    ),
];

/// Every schema error in `value`, located and translated, in file order.
pub(super) fn schema_errors(value: &Value, map: &SourceMap) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = validator()
        .iter_errors(value)
        .flat_map(|e| match e.kind() {
            // One message per unknown field, not only the first.
            Kind::AdditionalProperties { unexpected } => unexpected
                .iter()
                .map(|field| unknown_field(value, map, e.instance_path().as_str(), field))
                .collect(),
            kind => vec![translate(value, map, e.instance_path().as_str(), kind)],
        })
        .collect();
    sort(&mut out);
    out
}

/// One validator error as a message and a hint.
fn translate(root: &Value, map: &SourceMap, ptr: &str, kind: &Kind) -> Diagnostic {
    let subject = subject(ptr);
    let here = context(root, ptr);
    let at = map.value(ptr);
    match kind {
        Kind::Required { property } => {
            let field = property.as_str().unwrap_or_default();
            Diagnostic::new(at, format!("`{field}` is missing{here}"))
                .hint(format!("add `{field}:` here"))
        }
        Kind::AnyOf { .. } | Kind::OneOfNotValid { .. } => {
            let (message, hint) = one_of_message(ptr);
            Diagnostic::new(at, format!("{message}{here}")).hint(hint)
        }
        Kind::Type { .. } => {
            let expected = expected_type(ptr);
            let hint = type_hint(root.pointer(ptr), ptr, expected, at.written());
            Diagnostic::new(at, format!("{subject} must be {expected}{here}")).hint(hint)
        }
        Kind::Constant { expected_value } => {
            Diagnostic::new(at, format!("{subject} must be `{expected_value}`{here}"))
                .hint(format!("write `{expected_value}`"))
        }
        Kind::Minimum { .. } | Kind::Maximum { .. } => {
            let schema = schema_at(ptr).unwrap_or(Value::Null);
            let bound = |k: &str| schema.get(k).and_then(Value::as_f64);
            let (message, hint) = match (bound("minimum"), bound("maximum"), kind) {
                (Some(lo), Some(hi), _) if lo == hi => {
                    (format!("must be {lo}"), format!("write `{lo}`"))
                }
                (lo, Some(hi), Kind::Maximum { .. }) => (
                    format!("must be at most {hi}"),
                    format!("write a number from {} to {hi}", lo.unwrap_or(0.0)),
                ),
                (Some(lo), _, _) => (
                    format!("must be at least {lo}"),
                    format!("write a number from {lo} up"),
                ),
                _ => ("is out of range".into(), FORMAT_HINT.into()),
            };
            Diagnostic::new(at, format!("{subject} {message}{here}")).hint(hint)
        }
        Kind::MinLength { limit: 1 } => Diagnostic::new(at, format!("{subject} is empty{here}"))
            .hint("write a value, or remove the line"),
        Kind::MinLength { limit } => Diagnostic::new(
            at,
            format!("{subject} must be at least {limit} characters long{here}"),
        )
        .hint(FORMAT_HINT),
        Kind::MaxLength { limit } => {
            let length = root
                .pointer(ptr)
                .and_then(Value::as_str)
                .map_or(0, |s| s.chars().count());
            Diagnostic::new(
                at,
                format!(
                    "{subject} is {length} characters long, more than the {limit} it may have{here}"
                ),
            )
            .hint(format!("shorten it to at most {limit} characters"))
        }
        Kind::Pattern { pattern } => {
            let (form, example) = PATTERNS.iter().find(|(p, _, _)| p == pattern).map_or(
                ("in the form `roster schema` describes", ""),
                |(_, f, e)| (*f, *e),
            );
            let hint = if example.is_empty() {
                FORMAT_HINT.to_string()
            } else {
                format!("write it like {example}")
            };
            Diagnostic::new(at, format!("{subject} must be {form}{here}")).hint(hint)
        }
        other => Diagnostic::new(at, format!("{subject} is not valid: {other:?}{here}"))
            .hint(FORMAT_HINT),
    }
}

/// A field the schema does not allow at `ptr`, with the nearest one it does.
fn unknown_field(root: &Value, map: &SourceMap, ptr: &str, field: &str) -> Diagnostic {
    let child = format!("{ptr}/{}", field.replace('~', "~0").replace('/', "~1"));
    let known = schema_at(ptr).map(field_names).unwrap_or_default();
    let known: Vec<&str> = known.iter().map(String::as_str).collect();
    let place = if ptr.is_empty() {
        " at the top level".to_string()
    } else {
        context(root, ptr)
    };
    Diagnostic::new(map.key(&child), format!("unknown field `{field}`{place}")).hint(suggest::hint(
        field,
        &known,
        "check the spelling",
        "fields here",
    ))
}

/// What a message calls the value at `ptr`: "`status`", "each entry of `users`", or
/// "the roster" for the whole document.
fn subject(ptr: &str) -> String {
    let mut segments = ptr.rsplit('/');
    match (segments.next(), segments.next()) {
        (None | Some(""), _) => "the roster".into(),
        (Some(last), Some(parent)) if last.parse::<usize>().is_ok() && !parent.is_empty() => {
            format!("each entry of `{parent}`")
        }
        (Some(last), _) => format!("`{}`", last.replace("~1", "/").replace("~0", "~")),
    }
}

/// Where a schema error is, in the roster's words: a user by email or, without one, by
/// name; a role, team or queue by name; nothing more for the rest (the excerpt shows it).
fn context(root: &Value, ptr: &str) -> String {
    let mut parts = ptr.splitn(4, '/').skip(1);
    let (Some(section), Some(index)) = (parts.next(), parts.next()) else {
        return String::new();
    };
    let Some(entry) = root.pointer(&format!("/{section}/{index}")) else {
        return String::new();
    };
    let field = parts
        .next()
        .filter(|f| f.contains('/'))
        .map(|f| {
            format!(
                ", `{}`",
                f.replace('/', ".").replace("~1", "/").replace("~0", "~")
            )
        })
        .unwrap_or_default();
    let text = |k: &str| entry.get(k).and_then(Value::as_str);
    // A value too long or too strange to repeat is left to the excerpt, which shows
    // its line with control characters made visible.
    let shown = |s: &str| s.chars().count() <= 254 && !s.chars().any(char::is_control);
    match (section, text("email"), text("name")) {
        ("users", Some(email), _) if !shown(email) => String::new(),
        ("users", Some(email), _) => format!(" (user {email}{field})"),
        ("users", None, Some(name)) if !shown(name) => String::new(),
        ("users", None, Some(name)) => format!(" (user `{name}`, who has no email{field})"),
        ("roles", _, Some(name)) => format!(" (role `{name}`{field})"),
        ("teams", _, Some(name)) => format!(" (team `{name}`{field})"),
        ("queues", _, Some(name)) => format!(" (queue `{name}`{field})"),
        _ => String::new(),
    }
}

/// The JSON type the schema wants at `ptr`, in words.
fn expected_type(ptr: &str) -> &'static str {
    let schema = schema_at(ptr).unwrap_or(Value::Null);
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    match types.iter().find(|t| **t != "null").copied() {
        Some("string") => "text",
        Some("integer") => "a whole number",
        Some("number") => "a number",
        Some("boolean") => "`true` or `false`",
        Some("array") => "a list (lines starting with `- `)",
        Some("object") => "a mapping (`key: value` lines)",
        _ => "of another type",
    }
}

/// What to write instead of a value of the wrong type; `written` is the value as the
/// file has it (`0012345`, where the parsed number would be 12345).
fn type_hint(value: Option<&Value>, ptr: &str, expected: &str, written: Option<&str>) -> String {
    match (value, expected) {
        (Some(Value::Number(_)), _) if ptr.ends_with("extension") => {
            "quote extensions so leading zeros survive: extension: \"2001\"".into()
        }
        (Some(Value::String(s)), "`true` or `false`") => {
            format!("write `true` or `false`: YAML 1.2 reads `{s}` as text, not as a yes or no")
        }
        (Some(v @ (Value::Number(_) | Value::Bool(_))), "text") => {
            format!(
                "quote it: \"{}\"",
                written.map_or_else(|| v.to_string(), str::to_string)
            )
        }
        (Some(Value::String(s)), list) if list.starts_with("a list") => {
            format!("write it as a list: [{s}]")
        }
        _ => FORMAT_HINT.into(),
    }
}

/// The schema that governs the value at `ptr` (through `$ref`s, list items and the
/// non-null branch of an optional), if the pointer follows the schema.
fn schema_at(ptr: &str) -> Option<Value> {
    let root = schema_once();
    let resolve = |mut s: Value| -> Option<Value> {
        for _ in 0..8 {
            if let Some(r) = s.get("$ref").and_then(Value::as_str) {
                s = root.pointer(r.trim_start_matches('#'))?.clone();
                continue;
            }
            // Into the non-null branch of an optional, not into a choice of values.
            let branches = s
                .get("anyOf")
                .or_else(|| s.get("oneOf"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let optional = branches.len() == 2
                && branches
                    .iter()
                    .any(|b| b.get("type") == Some(&Value::from("null")));
            let branch = branches
                .into_iter()
                .find(|b| b.get("type") != Some(&Value::from("null")));
            match branch {
                Some(b) if optional && s.get("properties").is_none() => s = b,
                _ => return Some(s),
            }
        }
        Some(s)
    };
    let mut s = resolve(root.clone())?;
    for seg in ptr.split('/').skip(1) {
        let next = if seg.parse::<usize>().is_ok() {
            s.get("items")?.clone()
        } else {
            s.get("properties")?.get(seg)?.clone()
        };
        s = resolve(next)?;
    }
    Some(s)
}

/// The field names a schema object allows.
fn field_names(s: Value) -> Vec<String> {
    s.get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// "`status` must be `active`, `inactive` or `pending`", from the schema's choices, or
/// the schema's own description of the forms it takes; with what to do.
fn one_of_message(ptr: &str) -> (String, String) {
    let name = subject(ptr);
    let schema = schema_at(ptr).unwrap_or(Value::Null);
    let choices: Vec<String> = schema
        .get("oneOf")
        .or_else(|| schema.get("anyOf"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|b| {
            b.get("const")
                .and_then(Value::as_str)
                .map(|c| format!("`{c}`"))
        })
        .collect();
    let description = schema.get("description").and_then(Value::as_str).map(|d| {
        let d = d.replace('\n', " ");
        let d = d.trim_end_matches('.');
        let mut chars = d.chars();
        chars
            .next()
            .map(|c| c.to_lowercase().chain(chars).collect::<String>())
            .unwrap_or_default()
    });
    let pick = "replace the value with one of these".to_string();
    match (choices.as_slice(), description) {
        ([only], _) => (format!("{name} must be {only}"), format!("write {only}")),
        ([init @ .., last], _) if !init.is_empty() => (
            format!("{name} must be {} or {last}", init.join(", ")),
            pick,
        ),
        (_, Some(d)) => (
            format!("{name} must be one of: {d}"),
            "write it in one of these forms".into(),
        ),
        _ => (
            format!("{name} is not in a form the roster allows"),
            FORMAT_HINT.into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every keyword in the generated schema, with the path it was found at.
    fn keywords(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(o) => {
                for (k, child) in o {
                    if k == "properties" || k == "$defs" {
                        if let Value::Object(named) = child {
                            for (name, s) in named {
                                keywords(s, &format!("{at}/{name}"), out);
                            }
                        }
                        continue;
                    }
                    out.push((k.clone(), at.to_string()));
                    if !matches!(k.as_str(), "const" | "default" | "description") {
                        keywords(child, at, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| keywords(i, at, out)),
            _ => {}
        }
    }

    #[test]
    fn every_schema_keyword_has_a_translation() {
        // Keywords that validate nothing themselves, or that `translate` handles.
        let known = [
            "$schema",
            "$id",
            "$ref",
            "title",
            "description",
            "default",
            "type",
            "const",
            "items",
            "additionalProperties",
            "anyOf",
            "oneOf",
            "required",
            "format",
            "minimum",
            "maximum",
            "minLength",
            "maxLength",
            "pattern",
            // A failing `then` reports its own keywords' errors, translated above.
            "if",
            "then",
        ];
        let mut found = Vec::new();
        keywords(schema_once(), "", &mut found);
        for (k, at) in &found {
            assert!(
                known.contains(&k.as_str()),
                "`{k}` at {at} has no translation"
            );
        }
        let mut patterns = Vec::new();
        collect_patterns(schema_once(), &mut patterns);
        for p in patterns {
            assert!(
                PATTERNS.iter().any(|(known, _, _)| *known == p),
                "pattern {p} has no words in PATTERNS"
            );
        }
    }

    fn collect_patterns(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(p)) = o.get("pattern") {
                    out.push(p.clone());
                }
                o.values().for_each(|c| collect_patterns(c, out));
            }
            Value::Array(items) => items.iter().for_each(|i| collect_patterns(i, out)),
            _ => {}
        }
    }

    #[test]
    fn subjects_name_the_field_or_the_list() {
        assert_eq!(subject("/users/3/status"), "`status`");
        assert_eq!(subject("/users/3"), "each entry of `users`");
        assert_eq!(subject(""), "the roster");
    }
}
