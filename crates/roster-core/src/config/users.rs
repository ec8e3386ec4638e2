//! The fast path's users: validated and typed one at a time, never as one JSON tree of
//! the whole list, and in a large file parsed on every core.
//!
//! A file's `users:` list is cut at its entries only when it is laid out plainly: a
//! `users:` line at the top level (everything above it parses on its own as a mapping,
//! so no quote or bracket is open) followed by block entries (`- `) at one indentation,
//! with no directive (`%TAG`) and no anchor or alias in the list. YAML's indentation
//! rules keep such a line from belonging to anything but that list (block scalars,
//! continued scalars and flow collections inside an entry are all indented deeper).
//! Every chunk must parse into exactly the entries it was cut at, each piece with its
//! share of the whole file's parser budget; a chunk that does not, any other layout, and
//! any user that does not match the schema returns `None`, and the caller parses and
//! locates the file whole, so what a roster means never depends on this path. A chunk of
//! one-line flow entries is read without the parser (`flow_entries`), to the same JSON.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use serde_json::{Map, Value};

use super::types::UserDecl;
use super::{flow_entries, source};

/// Below this many entries a second thread costs more than it saves.
const MIN_SPLIT: usize = 4_000;
/// The largest file [`rest`] reads whole: a few hundred users, a few milliseconds.
const SMALL_FILE: usize = 64 * 1024;
/// Entries per chunk: small enough that a chunk's JSON tree (about 75 KiB) lives
/// briefly and its memory is reused by the next chunk rather than handed back to the
/// system and faulted in again (a tenth of validate's time at 1,000 entries).
const CHUNK: usize = 250;

/// One file on the fast path: the document with an empty `users` list, and its users.
pub(super) struct Parsed {
    /// The file's document, with `users: []` when it declares users.
    pub rest: Value,
    /// The users it declares, in order, each valid against the schema.
    pub users: Vec<UserDecl>,
}

/// Parses one file for the fast path; `None` when anything needs the slow path.
pub(super) fn parse(bytes: &[u8]) -> Option<Parsed> {
    let text = std::str::from_utf8(bytes).ok()?;
    if let Some(cut) = cut(text) {
        return split(text, &cut);
    }
    let Value::Object(mut doc) = source::parse_value(text)? else {
        return None;
    };
    let users = match doc.remove("users") {
        Some(Value::Array(items)) => {
            doc.insert("users".into(), Value::Array(Vec::new()));
            typed(items)?
        }
        // Not a list: the whole document's validation reports it.
        Some(other) => {
            doc.insert("users".into(), other);
            Vec::new()
        }
        None => Vec::new(),
    };
    Some(Parsed {
        rest: Value::Object(doc),
        users,
    })
}

/// One file's document with `users: []` for its users list, parsed as [`parse`] parses
/// it: the list cut out when it is laid out plainly, else a small file read whole and
/// its list set aside; `None` for a large file that cannot be cut.
pub(super) fn rest(bytes: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(bytes).ok()?;
    if let Some(cut) = cut(text) {
        let (rest_text, share) = without_users(text, &cut);
        return source::parse_piece(&rest_text, share);
    }
    if text.len() > SMALL_FILE {
        return None;
    }
    let mut doc = source::parse_value(text)?;
    if let Some(users @ Value::Array(_)) = doc.get_mut("users") {
        *users = Value::Array(Vec::new());
    }
    Some(doc)
}

/// The file's text with `users: []` in place of its users list, and its share of the
/// file's parser budget.
fn without_users(text: &str, cut: &Cut) -> (String, f64) {
    let (section_start, section_end) = cut.section;
    let rest_text = format!(
        "{}users: []\n{}",
        &text[..section_start],
        &text[section_end..]
    );
    // `users: []` stands in for the `users:` line, which no chunk holds: its share is
    // the rest of the file's, so the shares never add up to more than the whole.
    let share = (rest_text.len() - "users: []\n".len()) as f64 / text.len().max(1) as f64;
    (rest_text, share)
}

/// Where a plainly laid-out `users:` list sits in a file.
struct Cut {
    /// Byte offsets of the `users:` line and of the end of its list.
    section: (usize, usize),
    /// Byte offset of each entry's first line.
    entries: Vec<usize>,
}

/// Finds the `users:` list and its entries, if the file is large and plain enough.
fn cut(text: &str) -> Option<Cut> {
    let mut lines = text.split_inclusive('\n').scan(0usize, |at, line| {
        let start = *at;
        *at += line.len();
        Some((start, line))
    });
    let (key, key_line) = lines.find(|(_, l)| l.trim_end() == "users:")?;
    // Above the list, a complete mapping (or nothing): not the inside of a string.
    if !matches!(
        source::parse_value(&text[..key]),
        Some(Value::Object(_) | Value::Null)
    ) || text.starts_with('%')
        || text.contains("\n%")
    {
        return None;
    }
    let mut indent = None;
    let mut entries = Vec::new();
    let mut end = text.len();
    for (start, line) in lines {
        let body = line.trim_start_matches(' ');
        if body.trim().is_empty() || body.starts_with('#') {
            continue;
        }
        if body.starts_with('\t') {
            return None;
        }
        let depth = line.len() - body.len();
        let n = *indent.get_or_insert(depth);
        let dash = body.starts_with("- ") || body.trim_end() == "-";
        if depth == n && dash {
            entries.push(start);
        } else if depth <= n {
            end = start;
            break;
        }
    }
    // A second `users:` line (in another section, or a duplicate key) is left to the
    // whole-file parse.
    let again = text[end..].lines().any(|l| l.trim_end() == "users:");
    // Anchors and aliases are counted against limits for the whole file: keep them whole.
    let section = &text[key..end];
    if section.contains('&') || section.contains('*') {
        return None;
    }
    (entries.len() >= MIN_SPLIT && !again && key_line.ends_with('\n')).then_some(Cut {
        section: (key, end),
        entries,
    })
}

/// Parses the chunks of a cut list on every core, and the rest of the file.
fn split(text: &str, cut: &Cut) -> Option<Parsed> {
    let section_end = cut.section.1;
    let share = |piece: usize| piece as f64 / text.len().max(1) as f64;
    let (rest_text, rest_share) = without_users(text, cut);
    let rest = source::parse_piece(&rest_text, rest_share)?;
    let starts = cut.entries.chunks(CHUNK).map(|c| c[0]);
    let ends = starts.clone().skip(1).chain([section_end]);
    // Each chunk's users are typed straight into their places in the one list, so the
    // list is never held twice (once in pieces, once joined).
    let mut slots: Vec<Option<UserDecl>> = std::iter::repeat_with(|| None)
        .take(cut.entries.len())
        .collect();
    let work = Mutex::new(starts.zip(ends).zip(slots.chunks_mut(CHUNK)));
    let failed = AtomicBool::new(false);
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..workers.min(cut.entries.len().div_ceil(CHUNK)) {
            scope.spawn(|| {
                while !failed.load(Ordering::Relaxed) {
                    let next = work.lock().ok().and_then(|mut w| w.next());
                    let Some(((from, to), places)) = next else {
                        return;
                    };
                    let (piece, part) = (&text[from..to], share(to - from));
                    let items =
                        flow_entries::read(piece, &source::piece_budget(part)).or_else(|| {
                            match source::parse_piece(piece, part) {
                                Some(Value::Array(items)) => Some(items),
                                _ => None,
                            }
                        });
                    let users = match items {
                        Some(items) if items.len() == places.len() => typed(items),
                        _ => None,
                    };
                    match users {
                        Some(users) => {
                            for (place, user) in places.iter_mut().zip(users) {
                                *place = Some(user);
                            }
                        }
                        None => failed.store(true, Ordering::Relaxed),
                    }
                }
            });
        }
    });
    // Collected in place: `Option<UserDecl>` is as large as `UserDecl`.
    let users = slots.into_iter().collect::<Option<Vec<UserDecl>>>()?;
    Some(Parsed { rest, users })
}

/// Each user checked against the schema's user definition, then typed.
fn typed(items: Vec<Value>) -> Option<Vec<UserDecl>> {
    let valid = validator();
    items
        .into_iter()
        .map(|v| {
            valid
                .is_valid(&v)
                .then(|| serde_json::from_value(v).ok())
                .flatten()
        })
        .collect()
}

/// The schema's user definition, compiled once.
fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let mut schema = Map::new();
        schema.insert("$ref".into(), "#/$defs/UserDecl".into());
        schema.insert("$defs".into(), super::schema_once()["$defs"].clone());
        jsonschema::draft202012::new(&Value::Object(schema))
            .expect("the generated user schema compiles")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roster(users: usize, entry: impl Fn(usize) -> String) -> String {
        let mut text =
            String::from("version: 1\nprovider: { kind: talkdesk, account: acme }\nusers:\n");
        for i in 0..users {
            text.push_str(&entry(i));
        }
        text.push_str("teams:\n  - { name: Billing }\n");
        text
    }

    /// The split path reads exactly what one whole parse reads: comments at any
    /// indentation, blank lines, multi-line quoted and block-scalar names, flow lists
    /// spread over lines, Windows line ends.
    #[test]
    fn a_split_list_reads_as_the_whole_file() {
        let shapes = [
            |i: usize| {
                format!(
                    "  # entry {i}\n  - email: u{i}@acme.example\n    name: \"User\n      {i}\"\n    role: Agent\n"
                )
            },
            |i: usize| {
                format!(
                    "# at column 0\n\n  - email: u{i}@acme.example\n    name: >-\n      User\n      - {i}\n    role: Agent\n"
                )
            },
            |i: usize| {
                format!(
                    "  - {{ email: u{i}@acme.example, name: 'U {i}',\n      role: Agent, teams: [\n      Billing ] }}\n"
                )
            },
            |i: usize| {
                format!(
                    "  -   email: u{i}@acme.example\n      name: |\n        U\n        {i}\n      role: Agent\n"
                )
            },
        ];
        for crlf in [false, true] {
            let mut text = roster(MIN_SPLIT + 10, |i| shapes[i % shapes.len()](i));
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            assert!(cut(&text).is_some(), "crlf {crlf}");
            let parsed = parse(text.as_bytes()).unwrap();
            let whole: super::super::Roster =
                serde_json::from_value(source::parse_value(&text).unwrap()).unwrap();
            assert_eq!(parsed.users, whole.users, "crlf {crlf}");
            assert_eq!(parsed.users.len(), MIN_SPLIT + 10);
            assert_eq!(
                parsed.rest["teams"],
                serde_json::json!([{ "name": "Billing" }])
            );
            assert_eq!(parsed.rest["users"], serde_json::json!([]));
        }
    }

    /// Anchors and aliases (counted against limits for the whole file) keep a file
    /// whole, and an invalid user sends it to the slow path.
    #[test]
    fn what_a_chunk_cannot_read_alone_takes_the_slow_path() {
        let aliased = roster(MIN_SPLIT + 10, |i| match i {
            0 => "  - &first { email: a@acme.example, name: A, role: Agent }\n".into(),
            n if n == CHUNK + 1 => "  - *first\n".into(),
            _ => format!("  - {{ email: u{i}@acme.example, name: U, role: Agent }}\n"),
        });
        assert!(cut(&aliased).is_none());
        let invalid = roster(MIN_SPLIT + 10, |i| {
            let status = if i == 7 { ", status: disabled" } else { "" };
            format!("  - {{ email: u{i}@acme.example, name: U, role: Agent{status} }}\n")
        });
        assert!(parse(invalid.as_bytes()).is_none());
    }

    /// A `users:` line inside a quoted string, and a file with a directive that a chunk
    /// would not see, are read whole.
    #[test]
    fn a_users_line_that_is_not_the_top_level_key_is_not_cut() {
        let entries: String = (0..MIN_SPLIT + 1)
            .map(|i| format!("  - {{ email: u{i}@acme.example, name: U, role: A }}\n"))
            .collect();
        let in_string = format!(
            "version: 1\nprovider: {{ kind: talkdesk, account: \"acme\nusers:\n{entries}\" }}\n"
        );
        assert!(cut(&in_string).is_none());
        let directive =
            format!("%TAG !! tag:example.com,2000:\n---\nversion: 1\nusers:\n{entries}");
        assert!(cut(&directive).is_none());
        let plain = format!("version: 1\nusers:\n{entries}");
        assert!(cut(&plain).is_some());
    }

    #[test]
    fn small_or_unusual_lists_are_not_cut() {
        let small = roster(10, |i| {
            format!("  - {{ email: u{i}@acme.example, name: U, role: A }}\n")
        });
        assert!(cut(&small).is_none());
        assert!(cut("users: [ { email: a@acme.example } ]\n").is_none());
        let tabbed = roster(MIN_SPLIT + 1, |i| {
            let tab = if i == 3 { "\t" } else { "  " };
            format!("{tab}- {{ email: u{i}@acme.example, name: U, role: A }}\n")
        });
        assert!(cut(&tabbed).is_none());
    }
}
