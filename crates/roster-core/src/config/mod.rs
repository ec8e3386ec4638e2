//! Loading a roster: a file or a directory of YAML files, merged, validated against the
//! JSON Schema and then semantically, with every problem located at file:line:column.

mod checks;
mod diagnostic;
mod files;
mod flow_entries;
mod schema_errors;
mod source;
mod suggest;
mod types;
mod users;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

pub use checks::{ignore_set, is_e164, is_reserved_extension, is_talkdesk_account};
pub use diagnostic::{Diagnostic, Diagnostics, Loc};
pub use files::files_of;
pub use source::SourceMap;
pub use types::{
    DeactivationShare, DeclaredStatus, MaxDeactivations, Membership, MembershipPolicy, Modeled,
    Policy, ProviderConfig, ProviderKind, QueueDecl, QueueSpec, Region, Removals, RoleDecl, Roster,
    Seats, TeamDecl, Unmanaged, UserDecl,
};

/// Sections that several files may each contribute to; their lists are concatenated.
const LIST_SECTIONS: [&str; 4] = ["roles", "teams", "queues", "users"];

/// A validated roster and where each of its parts came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The roster.
    pub roster: Roster,
    /// Pointer → file:line:column, for diagnostics found later (planning).
    pub map: SourceMap,
    /// The files read, in merge order.
    pub files: Vec<PathBuf>,
    /// Problems that do not stop the roster from loading (a retired key, say).
    pub warnings: Vec<Diagnostic>,
}

/// The JSON Schema of the roster format (draft 2020-12), as checked in under `schema/`.
pub fn schema() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Roster)).unwrap_or(Value::Null);
    if let Value::Object(obj) = &mut schema {
        obj.insert(
            "$id".into(),
            Value::from("https://roster.acme.example/schema/roster.schema.json"),
        );
    }
    schema
}

/// The schema as the pretty JSON text written to `schema/roster.schema.json`.
pub fn schema_text() -> String {
    pretty(&schema())
}

/// The JSON Schema of one file of a directory roster: the roster schema with nothing
/// required, since `version` and `provider` are declared in one file of the directory.
pub fn part_schema() -> Value {
    let mut schema = schema();
    if let Value::Object(obj) = &mut schema {
        obj.remove("required");
        obj.insert(
            "$id".into(),
            Value::from("https://roster.acme.example/schema/roster-part.schema.json"),
        );
        obj.insert("title".into(), Value::from("roster part"));
        obj.insert(
            "description".into(),
            Value::from(
                "One file of a directory roster: any of the roster's sections, none required. \
                 The merged directory must declare `version` and `provider` (roster validate).",
            ),
        );
    }
    schema
}

/// The part schema as the pretty JSON text written to `schema/roster-part.schema.json`.
pub fn part_schema_text() -> String {
    pretty(&part_schema())
}

/// A schema as checked in: pretty JSON, ending in a newline.
fn pretty(schema: &Value) -> String {
    let mut text = serde_json::to_string_pretty(schema).unwrap_or_default();
    text.push('\n');
    text
}

/// The schema, generated once per process: validation and every message that reads it
/// share this copy.
fn schema_once() -> &'static Value {
    static S: OnceLock<Value> = OnceLock::new();
    S.get_or_init(schema)
}

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        jsonschema::draft202012::new(schema_once()).expect("the generated roster schema compiles")
    })
}

/// Loads, merges and validates a roster file or directory.
pub fn load(path: &Path) -> Result<Loaded, Diagnostics> {
    load_sources(read_sources(path)?)
}

/// The files of a roster, read once: a plan reads the account with [`header`] while
/// [`load_sources`] loads the same bytes.
#[derive(Debug, Clone)]
pub struct Sources(Arc<Vec<(PathBuf, Vec<u8>)>>);

/// Reads the roster file, or every roster file of a directory.
pub fn read_sources(path: &Path) -> Result<Sources, Diagnostics> {
    let files = files_of(path)?;
    let mut sources = Vec::with_capacity(files.len());
    let mut diags = Vec::new();
    for f in &files {
        match source::read_file(f) {
            Ok(bytes) => sources.push((f.clone(), bytes)),
            Err(d) => diags.push(d),
        }
    }
    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    Ok(Sources(Arc::new(sources)))
}

/// Validates one in-memory YAML document (used by tests and fuzzing).
pub fn load_str(name: &str, text: &[u8]) -> Result<Loaded, Diagnostics> {
    load_sources(Sources(Arc::new(vec![(
        PathBuf::from(name),
        text.to_vec(),
    )])))
}

/// The roster without its users, read before them: enough to reach the account (its
/// provider and policy) while a large users list loads. `None` unless every file's
/// users list is laid out plainly enough to be cut out (see `users`), or the roster
/// without its users is not valid; [`load_sources`] then decides, as always. What this
/// gives, a successful load of the same sources gives too: the same text is read by
/// the same parser, and [`load_sources`] reads the rest of each file just so.
pub fn header(sources: &Sources) -> Option<Roster> {
    let rests = sources
        .0
        .iter()
        .map(|(_, bytes)| users::rest(bytes))
        .collect::<Option<Vec<Value>>>()?;
    let rest = merge_plain(rests).filter(|v| validator().is_valid(v))?;
    serde_json::from_value(rest).ok()
}

/// The fast path first: parse without locations (the users one at a time, a large list
/// on every core: see `users`), merge, validate, and locate only what
/// the semantic checks (or a later plan) report, from a map built on first use. Any
/// other problem takes the slow path, which locates every node while parsing, so every
/// diagnostic it reports is located as before.
pub fn load_sources(Sources(sources): Sources) -> Result<Loaded, Diagnostics> {
    let quoted = |d: &mut Diagnostic| {
        if d.loc.text.is_none()
            && let Some((_, bytes)) = sources.iter().find(|(p, _)| *p == d.loc.file)
        {
            d.loc = d.loc.clone().quoting(bytes);
        }
    };
    match load_unquoted(Arc::clone(&sources)) {
        Ok(mut loaded) => {
            loaded.warnings.iter_mut().for_each(quoted);
            Ok(loaded)
        }
        Err(mut diags) => {
            diags.0.iter_mut().for_each(quoted);
            Err(diags)
        }
    }
}

/// [`load_sources`], before the lines of the problems found outside the source map
/// (parsing, merging, retired keys) are quoted.
fn load_unquoted(sources: Arc<Vec<(PathBuf, Vec<u8>)>>) -> Result<Loaded, Diagnostics> {
    let files: Vec<PathBuf> = sources.iter().map(|(p, _)| p.clone()).collect();
    let parsed: Option<Vec<users::Parsed>> = sources.iter().map(|(_, b)| users::parse(b)).collect();
    let roster = parsed.and_then(|files| {
        let (rests, users): (Vec<Value>, Vec<Vec<UserDecl>>) =
            files.into_iter().map(|p| (p.rest, p.users)).unzip();
        let rest = merge_plain(rests).filter(|v| validator().is_valid(v))?;
        let mut roster = serde_json::from_value::<Roster>(rest).ok()?;
        // One file's list is taken as it is: copying 100,000 users cost a tenth of a load.
        let mut lists = users.into_iter();
        roster.users = lists.next().unwrap_or_default();
        lists.for_each(|more| roster.users.extend(more));
        Some(roster)
    });
    let Some(roster) = roster else {
        return load_located(sources);
    };
    let map = SourceMap::lazy(sources);
    finish(roster, map, files, Vec::new())
}

/// The slow path: every node located while parsing.
fn load_located(sources: Arc<Vec<(PathBuf, Vec<u8>)>>) -> Result<Loaded, Diagnostics> {
    let mut diags = Vec::new();
    let mut docs = Vec::new();
    let mut warnings = Vec::new();
    for (path, bytes) in sources.iter() {
        match source::parse(path, bytes) {
            Ok(mut doc) => {
                warnings.extend(upgrade(&mut doc, &mut diags));
                docs.push(doc);
            }
            Err(d) => diags.push(d),
        }
    }
    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    let (value, map) = merge(docs, &mut diags);
    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    let files = sources.iter().map(|(p, _)| p.clone()).collect();
    from_value(value, SourceMap::built(map, sources), files, warnings)
}

/// Reads retired keys as their successors, with a warning at each: `ring_groups` means
/// `queues` since Talkdesk replaced ring groups with queues on 2026-07-31.
fn upgrade(doc: &mut source::Document, diags: &mut Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut warnings = Vec::new();
    let mut objects = vec![String::new()];
    if let Some(users) = doc.value.get("users").and_then(Value::as_array) {
        objects.extend((0..users.len()).map(|i| format!("/users/{i}")));
    }
    for at in objects {
        let Some(Value::Object(obj)) = doc.value.pointer_mut(&at) else {
            continue;
        };
        let Some(value) = obj.remove("ring_groups") else {
            continue;
        };
        let (old, new) = (format!("{at}/ring_groups"), format!("{at}/queues"));
        if obj.contains_key("queues") {
            diags.push(
                Diagnostic::new(
                    doc.map.key(&old),
                    format!(
                        "`ring_groups` and `queues` are both declared (queues at {})",
                        doc.map.key(&new)
                    ),
                )
                .hint("keep `queues` only: Talkdesk replaced ring groups with queues"),
            );
            continue;
        }
        obj.insert("queues".into(), value);
        warnings.push(
            Diagnostic::new(doc.map.key(&old), "`ring_groups` is retired: read as `queues`")
                .hint("rename the key to `queues` (Talkdesk replaced ring groups with queues on 2026-07-31)"),
        );
        doc.map.rename(&old, &new);
    }
    warnings
}

fn from_value(
    value: Value,
    map: SourceMap,
    files: Vec<PathBuf>,
    warnings: Vec<Diagnostic>,
) -> Result<Loaded, Diagnostics> {
    let diags = schema_errors::schema_errors(&value, &map);
    if !diags.is_empty() {
        return Err(Diagnostics(diags));
    }
    let roster: Roster = serde_json::from_value(value).map_err(|e| {
        Diagnostics(vec![Diagnostic::new(
            map.value(""),
            format!("roster does not match its format: {e}"),
        )])
    })?;
    finish(roster, map, files, warnings)
}

/// The semantic checks of a well-typed roster.
fn finish(
    roster: Roster,
    map: SourceMap,
    files: Vec<PathBuf>,
    mut warnings: Vec<Diagnostic>,
) -> Result<Loaded, Diagnostics> {
    let (mut diags, found) = checks::check(&roster, &map);
    sort(&mut diags);
    if diags.is_empty() {
        warnings.extend(found);
        Ok(Loaded {
            roster,
            map,
            files,
            warnings,
        })
    } else {
        Err(Diagnostics(diags))
    }
}

/// Orders diagnostics as an editor would walk them: by file, line, column.
fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        (&a.loc.file, a.loc.line, a.loc.col).cmp(&(&b.loc.file, b.loc.line, b.loc.col))
    });
}

/// Merges located documents: list sections concatenate, other keys may be declared in
/// one file only (`version` may repeat with the same value).
fn merge(docs: Vec<source::Document>, diags: &mut Vec<Diagnostic>) -> (Value, source::PointerMap) {
    let mut out = Map::new();
    let mut map = source::PointerMap::default();
    for doc in docs {
        let Value::Object(obj) = doc.value else {
            continue;
        };
        for (key, value) in obj {
            let ptr = format!("/{key}");
            match (out.get_mut(&key), value) {
                (Some(Value::Array(existing)), Value::Array(items))
                    if LIST_SECTIONS.contains(&key.as_str()) =>
                {
                    map.graft(&doc.map, &ptr, existing.len());
                    existing.extend(items);
                }
                (Some(existing), value) => {
                    if key == "version" && *existing == value {
                        continue;
                    }
                    diags.push(
                        Diagnostic::new(
                            doc.map.key(&ptr),
                            format!("`{key}` is declared twice: here and at {}", map.key(&ptr)),
                        )
                        .hint("declare it in one file of the directory only"),
                    );
                }
                (None, value) => {
                    map.graft(&doc.map, &ptr, 0);
                    out.insert(key, value);
                }
            }
        }
    }
    (Value::Object(out), map)
}

/// [`merge`] without locations, for the fast path: `None` where [`merge`] would report a
/// key declared twice.
fn merge_plain(docs: Vec<Value>) -> Option<Value> {
    let mut out = Map::new();
    for doc in docs {
        let Value::Object(obj) = doc else {
            return None;
        };
        for (key, value) in obj {
            match (out.get_mut(&key), value) {
                (Some(Value::Array(existing)), Value::Array(items))
                    if LIST_SECTIONS.contains(&key.as_str()) =>
                {
                    existing.extend(items)
                }
                (Some(existing), value) if key == "version" && *existing == value => {}
                (Some(_), _) => return None,
                (None, value) => {
                    out.insert(key, value);
                }
            }
        }
    }
    Some(Value::Object(out))
}

/// Writes `text` to `path` atomically: a temporary file in the same directory, renamed.
pub fn write_atomic(path: &Path, text: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(files: &[(&str, String)]) -> Sources {
        Sources(Arc::new(
            files
                .iter()
                .map(|(name, text)| (PathBuf::from(name), text.clone().into_bytes()))
                .collect(),
        ))
    }

    /// The header is the loaded roster's provider and policy, from a large file cut
    /// or small files read whole; a large file that cannot be cut has none.
    #[test]
    fn the_header_is_what_the_load_reads() {
        let head = "version: 1\nprovider: { kind: talkdesk, account: acme, region: eu }\npolicy: { unmanaged_users: ignore, min_admins: 1 }\nroles:\n  - { name: Agent, admin: true }\n";
        let entries = |n: usize, indent: &str| -> String {
            (0..n)
                .map(|i| {
                    format!("{indent}- {{ email: u{i}@acme.example, name: U {i}, role: Agent }}\n")
                })
                .collect()
        };
        let big = format!("{head}users:\n{}", entries(5_000, "  "));
        let small = format!("{head}users:\n{}", entries(3, ""));
        for files in [vec![("big.yaml", big.clone())], vec![("small.yaml", small)]] {
            let s = sources(&files);
            let header = header(&s).expect("a header");
            let loaded = load_sources(s).unwrap();
            assert!(header.users.is_empty());
            assert_eq!(
                serde_json::to_value((&header.provider, &header.policy)).unwrap(),
                serde_json::to_value((&loaded.roster.provider, &loaded.roster.policy)).unwrap()
            );
            assert_eq!(header.provider.account, "acme");
        }
        // An anchor keeps the list whole, and the file is too large to read whole twice.
        let uncut = big.replacen("- { email", "- &first { email", 1);
        assert!(header(&sources(&[("uncut.yaml", uncut)])).is_none());
        // A header does not make a bad roster load.
        let bad = big.replacen("role: Agent }", "role: Nobody }", 1);
        let s = sources(&[("bad.yaml", bad)]);
        assert!(header(&s).is_some());
        assert!(load_sources(s).is_err());
    }

    /// Mutated rosters and YAML oddities never panic the loader.
    #[test]
    fn fuzz_config_loading() {
        let corpus = vec![
            include_bytes!("../../../../examples/acme/roster.yaml").to_vec(),
            include_bytes!("../../../../examples/split/01-billing.yaml").to_vec(),
            b"version: 1\nprovider: { kind: talkdesk, account: a }\nusers: []\n".to_vec(),
        ];
        let tokens: &[&[u8]] = &[
            b"&a ",
            b"*a",
            b"<<: *a\n",
            b"\t",
            b"---\n",
            b"[",
            b"{",
            b"\"",
            b"!!binary ",
            b"\xff",
            b": ",
            b"- ",
            b"~",
            b"%YAML 1.1\n",
            b"? ",
        ];
        let tried = crate::fuzzing::run(&corpus, tokens, |input| {
            // Rendered too: the excerpt and caret of every message cut its quoted line.
            match super::load_str("fuzz.yaml", input) {
                Ok(loaded) => loaded.warnings.iter().for_each(|w| drop(w.as_warning())),
                Err(diags) => drop(diags.report()),
            }
        });
        assert!(tried > 0);
    }
}
