//! YAML text → JSON value plus a map from JSON pointers to file:line:column.
//!
//! The schema validator and the semantic checks work on JSON pointers; this map is what
//! lets every one of their errors name the line the operator has to edit.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use super::diagnostic::{Diagnostic, Loc};

/// Largest roster file accepted; a roster of 100,000 users is about 20 MiB.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Where each JSON pointer of a (merged) roster came from, built when first asked: a
/// roster that loads without a problem never pays for locating its 100,000 users.
/// Every location it gives quotes its line, for the excerpt under a message.
#[derive(Debug, Clone)]
pub struct SourceMap {
    built: OnceLock<PointerMap>,
    /// The files, in merge order: parsed again with locations on the first lookup.
    sources: Arc<Vec<(PathBuf, Vec<u8>)>>,
    /// Where each line of each file starts, indexed on the first quote.
    lines: OnceLock<Vec<Vec<usize>>>,
}

impl SourceMap {
    /// A map already built (the slow path, which located everything while parsing).
    pub(super) fn built(map: PointerMap, sources: Arc<Vec<(PathBuf, Vec<u8>)>>) -> SourceMap {
        SourceMap {
            built: OnceLock::from(map),
            sources,
            lines: OnceLock::new(),
        }
    }

    /// A map of `sources` (merged in this order), built on the first lookup.
    pub(super) fn lazy(sources: Arc<Vec<(PathBuf, Vec<u8>)>>) -> SourceMap {
        SourceMap {
            built: OnceLock::new(),
            sources,
            lines: OnceLock::new(),
        }
    }

    /// The location of the value at `pointer`, or of its nearest ancestor.
    pub fn value(&self, pointer: &str) -> Loc {
        self.quote(self.map().value(pointer))
    }

    /// The location of the key whose value is at `pointer` (falls back to the value).
    pub fn key(&self, pointer: &str) -> Loc {
        self.quote(self.map().key(pointer))
    }

    /// `loc` with the text of its line, from the file it names.
    fn quote(&self, mut loc: Loc) -> Loc {
        let index = self.lines.get_or_init(|| {
            self.sources
                .iter()
                .map(|(_, bytes)| {
                    std::iter::once(0)
                        .chain(
                            bytes
                                .iter()
                                .enumerate()
                                .filter(|(_, b)| **b == b'\n')
                                .map(|(i, _)| i + 1),
                        )
                        .collect()
                })
                .collect()
        });
        let Some(file) = self.sources.iter().position(|(p, _)| *p == loc.file) else {
            return loc;
        };
        let bytes = &self.sources[file].1;
        let Some(&start) = usize::try_from(loc.line)
            .ok()
            .and_then(|l| index[file].get(l.checked_sub(1)?))
        else {
            return loc;
        };
        loc.text = super::diagnostic::line_of(&bytes[start..], 1);
        loc
    }

    fn map(&self) -> &PointerMap {
        self.built.get_or_init(|| {
            // These files parsed and merged without a problem once, so the located
            // parse succeeds too; a file that somehow fails is left unlocated.
            let docs = self
                .sources
                .iter()
                .filter_map(|(path, bytes)| parse(path, bytes).ok())
                .collect();
            super::merge(docs, &mut Vec::new()).1
        })
    }
}

impl Default for SourceMap {
    fn default() -> Self {
        SourceMap::built(PointerMap::default(), Arc::default())
    }
}

/// Every JSON pointer of a document with the position of its value and of its key.
#[derive(Debug, Default, Clone)]
pub(super) struct PointerMap {
    files: Vec<Arc<PathBuf>>,
    values: HashMap<String, (usize, u64, u64)>,
    keys: HashMap<String, (usize, u64, u64)>,
}

impl PointerMap {
    /// The location of the value at `pointer`, or of its nearest ancestor.
    pub fn value(&self, pointer: &str) -> Loc {
        let mut p = pointer;
        loop {
            if let Some(&(file, line, col)) = self.values.get(p) {
                return self.loc(file, line, col);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => {
                    return Loc::file(
                        self.files
                            .first()
                            .map(|f| f.to_path_buf())
                            .unwrap_or_default(),
                    );
                }
            }
        }
    }

    /// The location of the key whose value is at `pointer` (falls back to the value).
    pub fn key(&self, pointer: &str) -> Loc {
        match self.keys.get(pointer) {
            Some(&(file, line, col)) => self.loc(file, line, col),
            None => self.value(pointer),
        }
    }

    fn loc(&self, file: usize, line: u64, col: u64) -> Loc {
        Loc::at(self.files[file].to_path_buf(), line, col)
    }

    fn add_file(&mut self, path: &Path) -> usize {
        self.files.push(Arc::new(path.to_path_buf()));
        self.files.len() - 1
    }

    /// Moves every entry at `from` or below it to `to` (a renamed key).
    pub(super) fn rename(&mut self, from: &str, to: &str) {
        for map in [&mut self.values, &mut self.keys] {
            let moved: Vec<String> = map
                .keys()
                .filter(|p| {
                    p.strip_prefix(from)
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
                })
                .cloned()
                .collect();
            for p in moved {
                if let Some(v) = map.remove(&p) {
                    map.insert(format!("{to}{}", &p[from.len()..]), v);
                }
            }
        }
    }

    /// Copies the entries of `other` under `section`, shifting list indices directly
    /// below it by `offset` (the items earlier files already put in that list).
    pub(super) fn graft(&mut self, other: &PointerMap, section: &str, offset: usize) {
        let base = self.files.len();
        self.files.extend(other.files.iter().cloned());
        for (src, dst) in [
            (&other.values, &mut self.values),
            (&other.keys, &mut self.keys),
        ] {
            for (ptr, &(file, line, col)) in src {
                let Some(rest) = ptr.strip_prefix(section) else {
                    continue;
                };
                let target = match rest.strip_prefix('/') {
                    None if rest.is_empty() => section.to_string(),
                    None => continue,
                    Some(tail) => {
                        let (index, more) = tail.split_at(tail.find('/').unwrap_or(tail.len()));
                        match index.parse::<usize>() {
                            Ok(i) if offset > 0 => format!("{section}/{}{more}", i + offset),
                            _ => ptr.clone(),
                        }
                    }
                };
                dst.insert(target, (file + base, line, col));
            }
        }
    }
}

/// A YAML node with the position of each child.
enum Node {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a YAML value")
    }
    fn visit_unit<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_none<E>(self) -> Result<Node, E> {
        Ok(Node::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        Node::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node, E> {
        Ok(Node::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node, E> {
        Ok(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Str(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Node, E> {
        Ok(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Seq(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<Node>>()? {
            let value = map.next_value::<Spanned<Node>>()?;
            entries.push((key, value));
        }
        Ok(Node::Map(entries))
    }
    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Node, E> {
        Err(E::custom("binary values are not allowed in a roster"))
    }
}

/// One parsed file.
pub struct Document {
    /// The content as JSON.
    pub value: Value,
    /// Where each pointer came from.
    pub map: PointerMap,
}

/// Reads one roster file, refusing one too large to be a roster.
pub fn read_file(path: &Path) -> Result<Vec<u8>, Diagnostic> {
    let here = || Loc::file(path.to_path_buf());
    let meta = std::fs::metadata(path)
        .map_err(|e| Diagnostic::new(here(), format!("cannot read file: {e}")))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(Diagnostic::new(
            here(),
            format!(
                "file is {} MiB; roster files are limited to {} MiB",
                meta.len() / (1024 * 1024),
                MAX_FILE_BYTES / (1024 * 1024)
            ),
        )
        .hint("split the roster into one file per team in a directory"));
    }
    std::fs::read(path).map_err(|e| Diagnostic::new(here(), format!("cannot read file: {e}")))
}

/// The fast path: YAML text (a file, or a chunk of one) straight to JSON with the
/// options [`parse`] uses, without locations. `None` for anything [`parse`] might refuse
/// or read differently (a retired key, any parser error): the caller then takes the
/// slow path.
pub(super) fn parse_value(text: &str) -> Option<Value> {
    parse_piece(text, 1.0)
}

/// [`parse_value`] for one piece of a file cut in pieces (`share` of its bytes): the
/// piece gets that share of the file's event, node and scalar budget, so a file the
/// whole parse refuses for its size always has a piece that is refused too (the pieces
/// together hold every event of the file, and more).
pub(super) fn parse_piece(text: &str, share: f64) -> Option<Value> {
    if text.contains("ring_groups") {
        return None;
    }
    serde_saphyr::from_str_with_options(text, options_with(piece_budget(share))).ok()
}

/// The parser's event, node and scalar budget for `share` of a file's bytes.
pub(super) fn piece_budget(share: f64) -> serde_saphyr::Budget {
    let mut b = budget();
    let part = |n: usize| (n as f64 * share.clamp(0.0, 1.0)) as usize;
    b.max_events = part(b.max_events);
    b.max_nodes = part(b.max_nodes);
    b.max_total_scalar_bytes = part(b.max_total_scalar_bytes);
    b
}

/// Parses YAML bytes that claim to come from `path`.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Document, Diagnostic> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        // Characters, not bytes, since the last line break (`good` is valid UTF-8).
        let tail = good.rsplit(|&b| b == b'\n').next().unwrap_or_default();
        let col = String::from_utf8_lossy(tail).chars().count() as u64 + 1;
        Diagnostic::new(
            Loc::at(path.to_path_buf(), line, col),
            "file is not valid UTF-8",
        )
        .hint("save the file as UTF-8")
    })?;
    if text.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---"
    }) {
        return Err(
            Diagnostic::new(Loc::file(path.to_path_buf()), "file is empty")
                .hint("declare at least `version: 1`, or remove the file"),
        );
    }
    let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, options())
        .map_err(|e| yaml_error(path, text, &e))?;
    let mut map = PointerMap::default();
    let file = map.add_file(path);
    if !matches!(root.value, Node::Map(_)) {
        return Err(Diagnostic::new(
            loc_of(path, &root),
            "the top level of a roster file must be a mapping (version:, provider:, users: ...)",
        )
        .hint("start the file with `version: 1`, then `provider:` and `users:`"));
    }
    let mut value = Value::Null;
    to_json(root, String::new(), file, &mut map, &mut value)?;
    Ok(Document { value, map })
}

/// The parser options both paths use, so they read a document the same way.
fn options() -> serde_saphyr::Options {
    options_with(budget())
}

fn options_with(budget: serde_saphyr::Budget) -> serde_saphyr::Options {
    serde_saphyr::options! {
        with_snippet: false,
        strict_booleans: true,
        budget: Some(budget),
        alias_limits: alias_limits(),
    }
}

/// Room for a 32 MiB roster of plain users, far less for anything built from aliases:
/// a legitimate roster has no reason to expand anchors more than a few thousand times.
fn budget() -> serde_saphyr::Budget {
    let mut b = serde_saphyr::Budget::default();
    b.max_events = 8_000_000;
    b.max_nodes = 4_000_000;
    b
}

fn alias_limits() -> serde_saphyr::options::AliasLimits {
    let mut a = serde_saphyr::options::AliasLimits::default();
    a.max_total_replayed_events = 100_000;
    a
}

fn loc_of<T>(path: &Path, s: &Spanned<T>) -> Loc {
    Loc::at(
        path.to_path_buf(),
        s.referenced.line().max(1),
        s.referenced.column().max(1),
    )
}

/// A parser error in the roster's words, at the character the operator has to change.
fn yaml_error(path: &Path, text: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let (mut line, mut col) = e
        .location()
        .map(|l| (l.line().max(1), l.column().max(1)))
        .unwrap_or((1, 1));
    let raw = e.to_string();
    // The library prefixes positions and advice about its own API; keep only the message.
    let message = raw.split_once(" at line ").map_or(raw.as_str(), |(m, _)| m);
    let message = message
        .split_once(", set DuplicateKeyPolicy")
        .or_else(|| message.split_once("; use from_str_multiple"))
        .map_or(message, |(m, _)| m);
    let kind = Kind::of(e, message);
    if kind == Kind::Tab {
        // The parser notices a tab only once the value before it ends, often a line
        // early: point at the tab itself.
        if let Some((l, c)) = first_tab(text, line) {
            (line, col) = (l, c);
        }
    }
    let line_text = text.lines().nth(line as usize - 1).unwrap_or("");
    let (message, hint) = explain(kind, message, line_text, col);
    Diagnostic::new(Loc::at(path.to_path_buf(), line, col), message).hint(hint)
}

/// The parser errors a roster author meets, told apart by the error's variant where
/// it has one and otherwise by the scanner's fixed phrases (which never quote the
/// document, so a key named `stable` cannot pass for a tab).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Duplicate,
    Expansion,
    UnknownAnchor,
    Documents,
    Tab,
    Depth,
    MisplacedKey,
    UnclosedBracket,
    UnclosedQuote,
    Other,
}

impl Kind {
    fn of(e: &serde_saphyr::Error, message: &str) -> Kind {
        use serde_saphyr::Error as E;
        match e {
            E::DuplicateMappingKey { .. } => return Kind::Duplicate,
            E::Budget { .. }
            | E::AliasReplayCounterOverflow { .. }
            | E::AliasReplayLimitExceeded { .. }
            | E::AliasExpansionLimitExceeded { .. }
            | E::AliasReplayStackDepthExceeded { .. } => return Kind::Expansion,
            E::UnknownAnchor { .. } => return Kind::UnknownAnchor,
            E::MultipleDocuments { .. } => return Kind::Documents,
            _ => {}
        }
        let phrases = [
            ("alias replay limit", Kind::Expansion),
            ("alias expansion limit", Kind::Expansion),
            ("budget breached", Kind::Expansion),
            ("tabs disallowed", Kind::Tab),
            ("found a tab", Kind::Tab),
            ("recursion limit exceeded", Kind::Depth),
            ("mapping values are not allowed", Kind::MisplacedKey),
            ("unclosed bracket", Kind::UnclosedBracket),
            ("unclosed quote", Kind::UnclosedQuote),
            ("unterminated", Kind::UnclosedQuote),
        ];
        phrases
            .iter()
            .find(|(phrase, _)| message.contains(phrase))
            .map_or(Kind::Other, |(_, kind)| *kind)
    }
}

/// What the parser's message means for a roster, and what to do about it.
fn explain(kind: Kind, message: &str, line_text: &str, col: u64) -> (String, String) {
    let owned = |(m, h): (&str, &str)| (m.to_string(), h.to_string());
    match kind {
        Kind::Tab => owned((
            "a tab where YAML allows only spaces",
            "replace the tab with spaces: YAML indents with spaces only",
        )),
        Kind::Expansion => owned((
            "the document expands to too many nodes (anchors and aliases nested into a bomb?)",
            "anchors and aliases may not expand into huge documents; write the values out",
        )),
        Kind::UnknownAnchor => owned((
            "an alias (`*name`) refers to no anchor (`&name`) defined before it",
            "define the anchor first, or write the value out",
        )),
        Kind::Depth => owned((
            "the document nests deeper than any roster needs",
            "flatten it: a roster nests a few levels at most",
        )),
        Kind::Documents => owned((
            "a second YAML document starts here, after `---`",
            "a roster file holds one document: remove the `---` line, or put each document in its own file in a directory",
        )),
        Kind::Duplicate => {
            let key = message
                .strip_prefix("duplicate mapping key: ")
                .unwrap_or("a key");
            (
                format!("`{key}` is written twice at the same level"),
                "remove one of the two; if this line starts another list entry, begin it with `- `"
                    .into(),
            )
        }
        Kind::MisplacedKey => misplaced_key(line_text, col),
        Kind::UnclosedBracket => {
            let open = if message.contains('[') { "[" } else { "{" };
            let close = if open == "[" { "]" } else { "}" };
            (
                format!("`{open}` is never closed"),
                format!(
                    "close it with `{close}` at the end of the entry, or write the entry as indented lines"
                ),
            )
        }
        Kind::UnclosedQuote => owned((
            "a quoted value is never closed",
            "end the value with the same quote on this line",
        )),
        Kind::Other => (
            format!("the YAML cannot be read here: {message}"),
            "check the indentation and the quoting of this line and the one above it".into(),
        ),
    }
}

/// `key: value` where no key can start: a value holding `: `, or a line indented
/// differently from the entry it belongs to.
fn misplaced_key(line_text: &str, col: u64) -> (String, String) {
    let before: String = line_text
        .chars()
        .take(col.saturating_sub(1) as usize)
        .collect();
    if let Some((key, _)) = before.split_once(": ") {
        let key = key.trim_start().trim_start_matches("- ");
        let value = line_text.split_once(": ").map_or("", |(_, v)| v).trim_end();
        return (
            format!(
                "the value of `{key}` holds `: `, which YAML reads as the start of another key"
            ),
            format!(
                "quote the value: {key}: \"{}\"",
                value.trim_matches('"').replace('"', "\\\"")
            ),
        );
    }
    let key = before.trim();
    let indent = line_text.len() - line_text.trim_start().len();
    (
        format!(
            "`{key}:` cannot start a key here: the line is indented {indent} spaces, unlike the keys of the entry above it"
        ),
        format!("line `{key}:` up with the other keys of its entry"),
    )
}

/// The first tab at or after line `from` (1-based), as (line, column).
fn first_tab(text: &str, from: u64) -> Option<(u64, u64)> {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1) as usize)
        .find_map(|(i, l)| {
            l.chars()
                .position(|c| c == '\t')
                .map(|c| (i as u64 + 1, c as u64 + 1))
        })
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn to_json(
    node: Spanned<Node>,
    pointer: String,
    file: usize,
    map: &mut PointerMap,
    out: &mut Value,
) -> Result<(), Diagnostic> {
    let here = (
        file,
        node.referenced.line().max(1),
        node.referenced.column().max(1),
    );
    map.values.insert(pointer.clone(), here);
    *out = match node.value {
        Node::Null => Value::Null,
        Node::Bool(b) => Value::Bool(b),
        Node::Int(i) => Value::from(i),
        Node::UInt(u) => Value::from(u),
        Node::Float(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(f.to_string())),
        Node::Str(s) => Value::String(s),
        Node::Seq(items) => {
            let mut arr = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                let mut v = Value::Null;
                to_json(item, format!("{pointer}/{i}"), file, map, &mut v)?;
                arr.push(v);
            }
            Value::Array(arr)
        }
        Node::Map(entries) => {
            let mut obj = Map::new();
            for (key, value) in entries {
                let name = match &key.value {
                    Node::Str(s) => s.clone(),
                    Node::Bool(b) => b.to_string(),
                    Node::Int(i) => i.to_string(),
                    Node::UInt(u) => u.to_string(),
                    Node::Float(f) => f.to_string(),
                    Node::Null => "null".to_string(),
                    Node::Seq(_) | Node::Map(_) => {
                        return Err(Diagnostic::new(
                            loc_of(&map.files[file], &key),
                            "a mapping key must be a plain string",
                        ));
                    }
                };
                let child = format!("{pointer}/{}", escape(&name));
                map.keys.insert(
                    child.clone(),
                    (
                        file,
                        key.referenced.line().max(1),
                        key.referenced.column().max(1),
                    ),
                );
                let mut v = Value::Null;
                to_json(value, child, file, map, &mut v)?;
                obj.insert(name, v);
            }
            Value::Object(obj)
        }
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_lines_of_nested_values() {
        let doc = parse(
            Path::new("r.yaml"),
            b"version: 1\nusers:\n  - email: a@acme.example\n    name: A\n",
        )
        .unwrap();
        assert_eq!(doc.value["users"][0]["name"], "A");
        let loc = doc.map.value("/users/0/name");
        assert_eq!((loc.line, loc.col), (4, 11));
        let key = doc.map.key("/users/0/name");
        assert_eq!((key.line, key.col), (4, 5));
        // An unknown pointer falls back to its nearest ancestor.
        assert_eq!(doc.map.value("/users/0/nope").line, 3);
    }

    /// Messages follow the parser's error, not words that happen to be in the file.
    #[test]
    fn a_key_named_like_a_parser_phrase_is_still_a_duplicate() {
        let err = parse(Path::new("r.yaml"), b"stable: 1\nstable: 2\n")
            .err()
            .unwrap();
        assert_eq!(err.message, "`stable` is written twice at the same level");
        let err = parse(Path::new("r.yaml"), b"a: *depth\n").err().unwrap();
        assert!(
            err.message.contains("refers to no anchor"),
            "{}",
            err.message
        );
    }

    #[test]
    fn quoted_numbers_stay_strings() {
        let doc = parse(Path::new("r.yaml"), b"a: \"2001\"\nb: 2001\nc: NO\n").unwrap();
        assert_eq!(doc.value["a"], "2001");
        assert_eq!(doc.value["b"], 2001);
        assert_eq!(doc.value["c"], "NO");
    }
}
