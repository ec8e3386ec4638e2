//! The users list's commonest entry, one flow mapping of words on one line
//! (`  - { email: ana@acme.example, name: Ana Lima, role: Agent, teams: [Support] }`),
//! read without the YAML parser, which spends ten times as long on the same text.
//!
//! Only a subset where YAML leaves no choice is read: keys of lowercase letters and
//! `_`; values that are plain scalars of letters, digits and a few inner punctuation
//! marks (starting with a letter, or a digit when an `@` keeps them from being a
//! number, and never `null`, `true` or `false` in any spelling the parser resolves),
//! quoted scalars without escapes, or flow lists of those. Anything else (a comment
//! after an entry, an entry over several lines, a nested mapping, a duplicate key)
//! declines the whole chunk, which the parser then reads: so a roster means the same
//! whichever reads it (tests compare the two on generated lines).

use serde_json::{Map, Value};

/// What a chunk costs the parser, counted as its budget counts it.
#[derive(Default)]
struct Cost {
    events: usize,
    nodes: usize,
    scalar_bytes: usize,
}

/// The entries of a chunk of the users list, or `None` when the parser must read it.
/// `budget` is the chunk's share of the parser's limits: a chunk that comes within
/// half of one is left to the parser, which decides exactly where the limit falls.
pub(super) fn read(chunk: &str, budget: &serde_saphyr::Budget) -> Option<Vec<Value>> {
    if chunk.contains("ring_groups") {
        return None;
    }
    let mut cost = Cost {
        // Stream, document and the sequence: start and end of each.
        events: 6,
        nodes: 1,
        scalar_bytes: 0,
    };
    let mut entries = Vec::new();
    let mut indent = None;
    for line in chunk.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let body = line.trim_start_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let depth = line.len() - body.len();
        if *indent.get_or_insert(depth) != depth {
            return None;
        }
        entries.push(Line::new(body).entry(&mut cost)?);
    }
    let half = |limit: usize| limit / 2;
    (cost.events <= half(budget.max_events)
        && cost.nodes <= half(budget.max_nodes)
        && cost.scalar_bytes <= half(budget.max_total_scalar_bytes))
    .then_some(entries)
}

/// One line of a chunk, read from left to right.
struct Line<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Line<'a> {
    fn new(text: &'a str) -> Self {
        Line { text, at: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let ate = self.peek() == Some(b);
        self.at += usize::from(ate);
        ate
    }

    fn spaces(&mut self) {
        while self.eat(b' ') {}
    }

    /// `- { key: value, ... }` and nothing after it but spaces.
    fn entry(mut self, cost: &mut Cost) -> Option<Value> {
        if !(self.eat(b'-') && self.eat(b' ')) {
            return None;
        }
        self.spaces();
        if !self.eat(b'{') {
            return None;
        }
        cost.events += 2;
        cost.nodes += 1;
        let mut map = Map::new();
        self.spaces();
        if !self.eat(b'}') {
            loop {
                let key = self.key()?;
                self.spaces();
                let value = self.value(cost)?;
                cost.events += 1;
                cost.nodes += 1;
                cost.scalar_bytes += key.len();
                if map.insert(key.to_owned(), value).is_some() {
                    return None;
                }
                self.spaces();
                if self.eat(b'}') {
                    break;
                }
                if !self.eat(b',') {
                    return None;
                }
                self.spaces();
            }
        }
        self.spaces();
        (self.at == self.text.len()).then_some(Value::Object(map))
    }

    /// A key of lowercase letters and `_`, followed by `: `.
    fn key(&mut self) -> Option<&'a str> {
        let start = self.at;
        while matches!(self.peek(), Some(b'a'..=b'z' | b'_')) {
            self.at += 1;
        }
        let key = &self.text[start..self.at];
        let resolves = matches!(key, "null" | "true" | "false");
        (!key.is_empty() && key.len() <= 64 && !resolves && self.eat(b':') && self.eat(b' '))
            .then_some(key)
    }

    /// A scalar, or a flow list of scalars.
    fn value(&mut self, cost: &mut Cost) -> Option<Value> {
        if !self.eat(b'[') {
            return self.scalar(cost).map(Value::String);
        }
        cost.events += 2;
        cost.nodes += 1;
        let mut items = Vec::new();
        self.spaces();
        if self.eat(b']') {
            return Some(Value::Array(items));
        }
        loop {
            items.push(Value::String(self.scalar(cost)?));
            self.spaces();
            if self.eat(b']') {
                return Some(Value::Array(items));
            }
            if !self.eat(b',') {
                return None;
            }
            self.spaces();
        }
    }

    /// A plain, single-quoted or double-quoted scalar that reads as the string it spells.
    fn scalar(&mut self, cost: &mut Cost) -> Option<String> {
        let text = match self.peek()? {
            quote @ (b'"' | b'\'') => self.quoted(quote)?,
            _ => self.plain()?,
        };
        cost.events += 1;
        cost.nodes += 1;
        cost.scalar_bytes += text.len();
        Some(text.to_owned())
    }

    /// Plain words: what YAML resolves to a string in every schema the parser knows.
    fn plain(&mut self) -> Option<&'a str> {
        let start = self.at;
        let rest = &self.text[start..];
        let mut end = 0;
        for (i, c) in rest.char_indices() {
            let word = c.is_alphanumeric();
            let inner = matches!(
                c,
                ' ' | '.' | '_' | '-' | '+' | '@' | '\'' | '/' | '(' | ')'
            );
            if !(word || (i > 0 && inner)) {
                break;
            }
            end = i + c.len_utf8();
        }
        let text = rest[..end].trim_end_matches(' ');
        self.at = start + text.len();
        let first = text.chars().next()?;
        let wordy = first.is_alphabetic() || (first.is_ascii_digit() && text.contains('@'));
        let resolves = matches!(
            text,
            "null" | "Null" | "NULL" | "true" | "True" | "TRUE" | "false" | "False" | "FALSE"
        );
        (wordy && !resolves).then_some(text)
    }

    /// A quoted scalar on one line with no escape: its text, exactly.
    fn quoted(&mut self, quote: u8) -> Option<&'a str> {
        self.at += 1;
        let start = self.at;
        let rest = &self.text[start..];
        let len = rest.find(quote as char)?;
        let text = &rest[..len];
        let plain = |c: char| {
            if c.is_ascii() {
                (' '..='~').contains(&c) && c != '\\'
            } else {
                c.is_alphanumeric()
            }
        };
        self.at = start + len + 1;
        // `''` inside single quotes is an escaped quote: leave it to the parser.
        let doubled = quote == b'\'' && self.peek() == Some(b'\'');
        (text.chars().all(plain) && !doubled).then_some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> serde_saphyr::Budget {
        super::super::source::piece_budget(1.0)
    }

    /// What the parser reads in `chunk`, if it reads it.
    fn parsed(chunk: &str) -> Option<Value> {
        super::super::source::parse_piece(chunk, 1.0)
    }

    /// Every chunk this reader accepts, the parser reads to the same JSON.
    fn agrees(chunk: &str) -> bool {
        match read(chunk, &budget()) {
            Some(entries) => {
                assert_eq!(Some(Value::Array(entries)), parsed(chunk), "{chunk:?}");
                true
            }
            None => false,
        }
    }

    #[test]
    fn common_entries_are_read_as_the_parser_reads_them() {
        let chunk = "  - { email: ana@acme.example, name: Ana Lima, role: Agent }\n\
                     \n  # the night shift\n\
                     \x20 - {email: 7bo@acme.example,name: Bo   O'Hara-Diaz (Ops), role: Team Lead, teams: [Support, Sales]}\r\n\
                     \x20 - { email: 'cy@acme.example', name: \"José Ñúñez\", role: Agent, extension: \"2001\", queues: [], time_zone: Europe/Lisbon, language: en-US }\n";
        assert!(agrees(chunk));
        let entries = read(chunk, &budget()).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[1]["name"], "Bo   O'Hara-Diaz (Ops)");
    }

    #[test]
    fn what_yaml_reads_otherwise_is_left_to_the_parser() {
        let declined = [
            "  - { email: a@acme.example, name: null, role: Agent }",
            "  - { email: a@acme.example, name: TRUE, role: Agent }",
            "  - { email: a@acme.example, name: 2001, role: Agent }",
            "  - { email: a@acme.example, name: .inf, role: Agent }",
            "  - { email: a@acme.example, name: ~, role: Agent }",
            "  - { email: a@acme.example, name: , role: Agent }",
            "  - { email: a@acme.example, name: A, role: Agent } # comment",
            "  - { email: a@acme.example, name: A #x, role: Agent }",
            "  - { email: a@acme.example, name: A: B, role: Agent }",
            "  - { email: a@acme.example, name: 'It''s', role: Agent }",
            "  - { email: a@acme.example, name: \"A\\tB\", role: Agent }",
            "  - { email: a@acme.example, name: &a A, role: Agent }",
            "  - { email: a@acme.example, name: A, role: Agent, name: B }",
            "  - { email: a@acme.example, name: A, role: Agent, }",
            "  - { email: a@acme.example, name: A,\n      role: Agent }",
            "  - { email: a@acme.example, phone: { extension: \"20\" } }",
            "  - { email: a@acme.example, ring_groups: [Support] }",
            "  - email: a@acme.example",
            "  - { email: a@acme.example }\n    - { email: b@acme.example }",
            "  - { email: a@acme.example, name: A\u{2028}B }",
            "  - { email: a@acme.example, Name: A }",
            "  - { email: a@acme.example, name: \t A }",
        ];
        for chunk in declined {
            assert!(read(chunk, &budget()).is_none(), "{chunk:?}");
        }
    }

    /// A chunk near its share of the parser's limits is the parser's to judge.
    #[test]
    fn a_chunk_near_its_budget_is_left_to_the_parser() {
        let chunk = "  - { email: a@acme.example, name: A, role: Agent }\n".repeat(100);
        assert!(read(&chunk, &budget()).is_some());
        let mut tight = budget();
        tight.max_events = 1_000;
        assert!(read(&chunk, &tight).is_none());
    }

    /// Lines built from YAML's indicators, quotes, spaces and words: whenever this
    /// reader accepts one, the parser reads the same; and it accepts plenty.
    #[test]
    fn generated_lines_read_as_the_parser_reads_them() {
        let words = [
            "a", "Ana", "7", "0x1", "1e3", " ", "  ", "@", ".", "-", "é", "/", "(", ")", "+", "_",
            "ü1", "true", "null", "NULL", "'",
        ];
        let marks = [
            ",", ", ", ":", ": ", "#", " #", "\"", "[", "]", "{", "}", "- ", "&", "*", "!", "|",
            ">", "%", "`", "?", "\t", "~", "\\", "''", "\r",
        ];
        let mut rng = fastrand::Rng::with_seed(19);
        let word = |rng: &mut fastrand::Rng| -> String {
            (0..rng.usize(1..5))
                .map(|_| match rng.u8(..8) {
                    0 => marks[rng.usize(..marks.len())],
                    _ => words[rng.usize(..words.len())],
                })
                .collect()
        };
        const ROUNDS: usize = 20_000;
        let mut accepted = 0;
        for _ in 0..ROUNDS {
            let (name, role, team) = (word(&mut rng), word(&mut rng), word(&mut rng));
            let line = match rng.u8(..3) {
                0 => format!("  - {{ email: a@acme.example, name: {name}, role: {role} }}\n"),
                1 => format!("  - {{ name: '{name}', role: \"{role}\", teams: [{team}] }}\n"),
                _ => format!("  - {{email: {name}@acme.example, teams: [{team}, {role}]}}\n"),
            };
            accepted += usize::from(agrees(&line));
        }
        assert!(accepted > 1_500, "only {accepted} lines accepted");
    }
}
