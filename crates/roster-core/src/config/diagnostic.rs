//! Diagnostics: one problem in a roster, with where it is and what to do about it.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// A place in a roster file (1-based line and column; 0 when unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loc {
    /// The file, as given on the command line or found in the directory.
    pub file: PathBuf,
    /// 1-based line.
    pub line: u64,
    /// 1-based column.
    pub col: u64,
}

impl Loc {
    /// A whole-file location, for problems that have no better place.
    pub fn file(file: PathBuf) -> Self {
        Loc {
            file,
            line: 1,
            col: 1,
        }
    }
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

    /// The diagnostic as a warning line (and hint), for problems that do not stop a load.
    pub fn as_warning(&self) -> String {
        let hint = self.hint.as_ref().map(|h| format!("\n  hint: {h}"));
        format!(
            "{}: warning: {}{}",
            self.loc,
            self.message,
            hint.unwrap_or_default()
        )
    }

    /// Adds what to do about it.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: error: {}", self.loc, self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  hint: {hint}")?;
        }
        Ok(())
    }
}

/// Every problem found in a roster; loading reports all of them, not just the first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{}", render(.0))]
pub struct Diagnostics(pub Vec<Diagnostic>);

fn render(diags: &[Diagnostic]) -> String {
    let lines: Vec<String> = diags.iter().map(ToString::to_string).collect();
    lines.join("\n")
}
