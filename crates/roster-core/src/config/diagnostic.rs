//! Diagnostics: one problem in a roster, with where it is and what to do about it.

use std::borrow::Cow;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use serde::Serialize;

/// A place in a roster file (1-based line and column; 0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loc {
    /// The file, as given on the command line or found in the directory.
    pub file: PathBuf,
    /// 1-based line.
    pub line: u64,
    /// 1-based column, in characters.
    pub col: u64,
    /// The text of that line, when the file could be read, for the excerpt under a message.
    #[serde(skip)]
    pub text: Option<Arc<str>>,
}

impl Loc {
    /// A whole-file location, for problems that have no better place.
    pub fn file(file: PathBuf) -> Self {
        Loc::at(file, 1, 1)
    }

    /// Line `line`, column `col` of `file`, without its text.
    pub fn at(file: PathBuf, line: u64, col: u64) -> Self {
        Loc {
            file,
            line,
            col,
            text: None,
        }
    }

    /// The value as the file writes it at this place (the span a caret would underline).
    pub fn written(&self) -> Option<&str> {
        let text = self.text.as_deref()?;
        let col = usize::try_from(self.col).ok()?;
        Some(&text[span(text, col)])
    }

    /// The same place, quoting its line from `source` (the whole file).
    pub fn quoting(mut self, source: &[u8]) -> Self {
        self.text = line_of(source, self.line);
        self
    }
}

/// Line `line` (1-based) of `source`, without its line break; lossy on invalid UTF-8.
pub(crate) fn line_of(source: &[u8], line: u64) -> Option<Arc<str>> {
    let index = usize::try_from(line).ok()?.checked_sub(1)?;
    let text = source.split(|&b| b == b'\n').nth(index)?;
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    Some(String::from_utf8_lossy(text).into())
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.col)
    }
}

/// One validation error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Where.
    #[serde(flatten)]
    pub loc: Loc,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    /// A diagnostic at `loc`.
    pub fn new(loc: Loc, message: impl Into<String>) -> Self {
        Diagnostic {
            loc,
            message: message.into(),
            hint: None,
        }
    }

    /// The diagnostic as a warning, for problems that do not stop a load.
    pub fn as_warning(&self) -> String {
        self.render(Level::WARNING)
    }

    /// Adds what to do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The message, the line it is about with a caret under the place, and the hint,
    /// laid out as compilers do (annotate-snippets, the renderer rustc and cargo use).
    fn render(&self, level: Level<'_>) -> String {
        let path = self.loc.file.display().to_string();
        let line = usize::try_from(self.loc.line).unwrap_or(1);
        let col = usize::try_from(self.loc.col).unwrap_or(1);
        let title = level.primary_title(self.message.as_str());
        let excerpt = self.loc.text.as_deref().map(|text| excerpt(text, col));
        let group: Group<'_> = match &excerpt {
            Some(text) => title.element(
                Snippet::source(text.as_ref())
                    .line_start(line)
                    .path(path)
                    .annotation(AnnotationKind::Primary.span(span(text, col))),
            ),
            // No line to show (a directory, a file too large to read): the path says it.
            None => title.element(Origin::path(path)),
        };
        let group = match &self.hint {
            Some(hint) => group.element(Level::HELP.with_name("hint").message(hint.as_str())),
            None => group,
        };
        Renderer::plain().render(&[group])
    }
}

/// The line as the excerpt shows it. C1 control characters, which the renderer passes
/// through and a terminal may obey, are replaced (it shows the C0 ones as symbols); a
/// line of megabytes, a pasted document, ends a little after the column: the renderer
/// shows a few columns past it anyway, and took seconds over the rest. (What comes
/// before the column stays: the renderer counts the column it prints from it.)
fn excerpt(text: &str, col: usize) -> Cow<'_, str> {
    let c1 = |c: char| ('\u{80}'..='\u{9f}').contains(&c);
    let keep = col.saturating_add(1024);
    // Bytes bound characters: a line of no more bytes than `keep` is kept whole.
    if text.len() <= keep && !text.chars().any(c1) {
        return Cow::Borrowed(text);
    }
    text.chars()
        .take(keep)
        .map(|c| if c1(c) { '\u{fffd}' } else { c })
        .collect()
}

/// The bytes of `text` to underline for a problem at 1-based character column `col`:
/// the quoted string, bracketed collection or plain word that starts there.
fn span(text: &str, col: usize) -> std::ops::Range<usize> {
    let start = text
        .char_indices()
        .nth(col.saturating_sub(1))
        .map_or(text.len(), |(i, _)| i);
    let rest = &text[start..];
    let len = match rest.chars().next() {
        // A tab, or the dash of a list entry: the one character.
        Some(c) if c.is_whitespace() || rest.starts_with("- ") => c.len_utf8(),
        Some(q @ ('"' | '\'')) => rest[1..].find(q).map_or(rest.len(), |i| i + 2),
        Some(open @ ('{' | '[')) => {
            let close = if open == '{' { '}' } else { ']' };
            let mut depth = 0usize;
            rest.char_indices()
                .find_map(|(i, c)| {
                    depth = if c == open { depth + 1 } else { depth };
                    depth = if c == close { depth - 1 } else { depth };
                    (depth == 0).then_some(i + 1)
                })
                // A long or unclosed collection: the bracket alone says where.
                .filter(|&len| len <= 120)
                .unwrap_or(1)
        }
        _ => {
            let end = rest
                .char_indices()
                .find(|&(i, c)| {
                    matches!(c, ',' | '}' | ']')
                        || (c == ':'
                            && rest[i + 1..].chars().next().is_none_or(char::is_whitespace))
                        || (c == '#' && rest[..i].ends_with(char::is_whitespace))
                })
                .map_or(rest.len(), |(i, _)| i);
            rest[..end].trim_end().len()
        }
    };
    start..start + len.max(usize::from(start < text.len()))
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Level::ERROR))
    }
}

/// Every problem found in a roster; loading reports all of them, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", render(.0))]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Every problem, then how many: "2 errors found".
    pub fn report(&self) -> String {
        let n = self.0.len();
        format!("{self}\n\n{n} error{} found", if n == 1 { "" } else { "s" })
    }
}

fn render(diags: &[Diagnostic]) -> String {
    let blocks: Vec<String> = diags.iter().map(ToString::to_string).collect();
    blocks.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The excerpt shows a line as text, never as orders to the terminal: C0 controls
    /// as symbols (the renderer's), C1 controls such as U+009B (a one-character CSI)
    /// replaced; and of a line of megabytes, a little past the column.
    #[test]
    fn an_excerpt_holds_no_control_character_and_no_megabytes() {
        let line = "  - { name: \"Eve\u{1b}[2J\u{9b}31m\u{85}\", role: Agent }";
        let d = Diagnostic::new(Loc::at("r.yaml".into(), 3, 13), "m").quoting_line(line);
        let shown = d.to_string();
        assert!(
            !shown.chars().any(|c| c.is_control() && c != '\n'),
            "{shown:?}"
        );
        assert!(shown.contains("r.yaml:3:13"), "{shown}");
        let long = format!("  - {{ name: \"{}\" }}", "x".repeat(10_000_000));
        let d = Diagnostic::new(Loc::at("r.yaml".into(), 3, 13), "m").quoting_line(&long);
        assert!(d.to_string().len() < 4_000);
    }

    impl Diagnostic {
        fn quoting_line(mut self, line: &str) -> Self {
            self.loc.text = Some(line.into());
            self
        }
    }
}
