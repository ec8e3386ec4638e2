//! Which files a roster path names, and that none of them leads out of the roster.
//!
//! A roster is read from a checkout that a pull request may have written, in a job that
//! holds secrets: a link in it to `/proc/self/environ`, or to any file beyond the
//! roster, must not be read, since a parse error would quote its bytes. Every file read
//! resolves inside the roster's directory (the directory itself, or the directory
//! holding a roster file), and a link among the leading parts of a relative roster path
//! resolves inside the directory that holds it.

use std::fs;
use std::path::{Path, PathBuf};

use crate::render::escape;

use super::diagnostic::{Diagnostic, Diagnostics, Loc};

/// The YAML files a path names: the file itself, or every `*.yaml`/`*.yml` in a
/// directory (not recursive), sorted by name; refused when one resolves outside the
/// roster's directory.
pub fn files_of(path: &Path) -> Result<Vec<PathBuf>, Diagnostics> {
    let one = |msg: String, hint: &str| {
        Diagnostics(vec![
            Diagnostic::new(Loc::file(path.to_path_buf()), msg).hint(hint),
        ])
    };
    if let Some(link) = link_leaving_its_directory(path) {
        return Err(Diagnostics(vec![
            Diagnostic::new(
                Loc::file(link.clone()),
                format!(
                    "{} is a link that leads outside the directory holding it, and is not followed",
                    link.display()
                ),
            )
            .hint("pass the path the link leads to instead: roster follows no link out of the directory that holds it"),
        ]));
    }
    let meta = fs::metadata(path).map_err(|e| {
        one(
            format!("cannot read {}: {e}", path.display()),
            "pass a roster file or a directory of YAML files",
        )
    })?;
    let files = if meta.is_file() {
        vec![path.to_path_buf()]
    } else {
        yaml_files(path).map_err(|e| {
            one(
                format!("cannot read directory: {e}"),
                "check its permissions",
            )
        })?
    };
    let home = home_of(path, meta.is_file()).map_err(|e| {
        one(
            format!("cannot resolve {}: {e}", path.display()),
            "check the permissions of the directories on the way",
        )
    })?;
    // A line break in a file name would start a line of its own in a CI log, where
    // `::error::` and the like are commands: such a file is named, escaped, not read.
    let control: Vec<Diagnostic> = files
        .iter()
        .filter(|f| f.to_string_lossy().chars().any(char::is_control))
        .map(|f| {
            let shown = PathBuf::from(escape::terminal(&f.to_string_lossy()).into_owned());
            Diagnostic::new(
                Loc::file(shown.clone()),
                format!(
                    "{} has a control character in its name, and is not read",
                    shown.display()
                ),
            )
            .hint("rename the file with letters, digits and punctuation only")
        })
        .collect();
    if !control.is_empty() {
        return Err(Diagnostics(control));
    }
    let outside: Vec<Diagnostic> = files
        .iter()
        .filter(|f| fs::canonicalize(f).is_ok_and(|real| !real.starts_with(&home)))
        .map(|f| {
            Diagnostic::new(
                Loc::file(f.clone()),
                format!(
                    "{} is a link to a file outside the roster's directory, and is not read",
                    f.display()
                ),
            )
            .hint("copy the file into the roster's directory, or remove the link: roster reads only files inside that directory")
        })
        .collect();
    if !outside.is_empty() {
        return Err(Diagnostics(outside));
    }
    if files.is_empty() {
        return Err(one(
            "no *.yaml or *.yml files in this directory".into(),
            "point at the directory that holds the roster files",
        ));
    }
    Ok(files)
}

/// Every `*.yaml` and `*.yml` file of a directory, sorted by name (links to directories
/// and broken links are not files, and are left out as before).
fn yaml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yaml") | Some("yml")
                )
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The roster's directory, canonical: the directory itself, or the one holding the file.
fn home_of(path: &Path, is_file: bool) -> std::io::Result<PathBuf> {
    if is_file {
        fs::canonicalize(holder(path))
    } else {
        fs::canonicalize(path)
    }
}

/// The directory holding `path` as written (`.` for a bare name).
fn holder(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The first link among the leading parts of a relative roster path (`roster`, in
/// `roster/acme`) that resolves outside the directory holding it: in a checked-out pull
/// request such a link, not the workflow, would choose which files are read. An
/// absolute path is the operator's own, and its links are taken as written; a link
/// that cannot be resolved is left to the read, which reports it.
fn link_leaving_its_directory(path: &Path) -> Option<PathBuf> {
    if path.is_absolute() {
        return None;
    }
    let mut prefix = PathBuf::new();
    for part in path.components() {
        prefix.push(part);
        let is_link = fs::symlink_metadata(&prefix).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            continue;
        }
        if let (Ok(real), Ok(dir)) = (fs::canonicalize(&prefix), fs::canonicalize(holder(&prefix)))
            && !real.starts_with(&dir)
        {
            return Some(prefix);
        }
    }
    None
}
