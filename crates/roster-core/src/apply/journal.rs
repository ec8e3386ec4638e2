//! The apply journal: JSON lines, one when a change is sent and one when it ends. The
//! disk is checked for room before the first line, and each line is appended whole or
//! not at all, so a disk that fills mid-run never leaves half a record.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::json;

/// Free space asked for before anything is sent: 1 MiB plus 1 KiB a change. A judgement,
/// not a measure: a change's send and result lines come to about 350 bytes and a
/// vendor's error adds a few hundred, so this leaves the run slack on a disk it shares.
const ROOM_BASE: u64 = 1 << 20;
/// See [`ROOM_BASE`].
const ROOM_PER_CHANGE: u64 = 1 << 10;

/// The JSON-lines journal of one apply, written straight to the file so a killed apply
/// leaves a record of what it sent.
pub(super) struct Journal {
    file: Mutex<Tail<File>>,
    /// Where it is.
    pub(super) path: PathBuf,
}

impl Journal {
    /// Creates `{time}-{checksum}.jsonl` under `dir` for the plan with `checksum`, once
    /// the disk has room to journal `changes` changes.
    pub(super) fn open(dir: &Path, checksum: &str, changes: usize) -> io::Result<Journal> {
        std::fs::create_dir_all(dir)?;
        check_room(dir, free_bytes(dir)?, changes)?;
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let short = checksum
            .trim_start_matches("sha256:")
            .get(..12)
            .unwrap_or("plan");
        let path = dir.join(format!("{stamp}-{short}.jsonl"));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        // An apply started in the same second on the same plan appends to its journal.
        let len = file.metadata()?.len();
        Ok(Journal {
            file: Mutex::new(Tail {
                file,
                len: Some(len),
            }),
            path,
        })
    }

    /// Appends one event with the time, whole or not at all. The file is unbuffered: a
    /// line is with the operating system once this returns, so SIGKILL cannot lose it.
    pub(super) fn write(&self, mut event: serde_json::Value) -> io::Result<()> {
        event["time"] = json!(chrono::Utc::now().to_rfc3339());
        let mut line = event.to_string();
        line.push('\n');
        let mut tail = self.file.lock().unwrap_or_else(|p| p.into_inner());
        tail.append(line.as_bytes())
    }

    /// Flushes the journal to disk at the end of the run.
    pub(super) fn sync(&self) -> io::Result<()> {
        let tail = self.file.lock().unwrap_or_else(|p| p.into_inner());
        tail.file.sync_all()
    }
}

/// Refuses to start a journal of `changes` changes in `dir` when less than the room it
/// asks for is free (`free` is `None` where the free space cannot be asked).
fn check_room(dir: &Path, free: Option<u64>, changes: usize) -> io::Result<()> {
    let need = ROOM_BASE + ROOM_PER_CHANGE * changes as u64;
    match free {
        Some(free) if free < need => Err(io::Error::new(
            io::ErrorKind::StorageFull,
            format!(
                "{} has {} KiB free, and journalling {changes} change(s) asks for {} KiB before anything is sent; free some space or pass --journal-dir",
                dir.display(),
                free / 1024,
                need.div_ceil(1024)
            ),
        )),
        _ => Ok(()),
    }
}

/// The space free to this user on the filesystem holding `dir`.
#[cfg(unix)]
fn free_bytes(dir: &Path) -> io::Result<Option<u64>> {
    let s = rustix::fs::statvfs(dir)?;
    Ok(Some(s.f_bavail.saturating_mul(s.f_frsize)))
}

/// The space free on the filesystem holding `dir`: not asked on this platform.
#[cfg(not(unix))]
fn free_bytes(_dir: &Path) -> io::Result<Option<u64>> {
    Ok(None)
}

/// A file that can be cut back to a length.
trait Truncate {
    /// Cuts the file to `len` bytes.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

impl Truncate for File {
    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.set_len(len)
    }
}

/// A file appended to one whole line at a time, with the length it had after the last
/// whole line.
struct Tail<F> {
    file: F,
    /// `None` once a line written in part could not be cut back off: whatever came next
    /// would be glued to it, so nothing more is appended.
    len: Option<u64>,
}

impl<F: Write + Truncate> Tail<F> {
    /// Appends `line` (complete, with its newline) in one write, or not at all: when the
    /// write fails part-way (a full disk, a file-size limit) what it wrote is cut back
    /// off, so a reader never meets half a record and a later line starts clean.
    fn append(&mut self, line: &[u8]) -> io::Result<()> {
        let Some(len) = self.len else {
            return Err(io::Error::other(
                "an earlier line could not be cut back off, so nothing more is appended",
            ));
        };
        match self.file.write_all(line) {
            Ok(()) => {
                self.len = Some(len + line.len() as u64);
                Ok(())
            }
            Err(e) => {
                if self.file.truncate(len).is_err() {
                    self.len = None;
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file on a disk with `room` bytes left, whose writes go as far as there is room
    /// (a short write) and then fail, as a full disk's do.
    struct SmallDisk {
        data: Vec<u8>,
        room: usize,
        cuts: bool,
    }

    impl Write for SmallDisk {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let n = buf.len().min(self.room);
            if n == 0 && !buf.is_empty() {
                return Err(io::Error::from(io::ErrorKind::StorageFull));
            }
            self.data.extend_from_slice(&buf[..n]);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Truncate for SmallDisk {
        fn truncate(&mut self, len: u64) -> io::Result<()> {
            if !self.cuts {
                return Err(io::Error::other("read-only"));
            }
            let len = len as usize;
            self.room += self.data.len() - len;
            self.data.truncate(len);
            Ok(())
        }
    }

    fn tail(room: usize, cuts: bool) -> Tail<SmallDisk> {
        Tail {
            file: SmallDisk {
                data: Vec::new(),
                room,
                cuts,
            },
            len: Some(0),
        }
    }

    #[test]
    fn a_line_that_does_not_fit_leaves_no_part_of_itself() {
        let mut t = tail(32, true);
        t.append(b"{\"event\":\"send\",\"n\":1}\n").unwrap();
        let err = t.append(b"{\"event\":\"result\",\"n\":1}\n").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert_eq!(t.file.data, b"{\"event\":\"send\",\"n\":1}\n");
        // A shorter line that fits in what is left still starts on a line of its own.
        t.append(b"{\"n\":2}\n").unwrap();
        assert_eq!(t.file.data, b"{\"event\":\"send\",\"n\":1}\n{\"n\":2}\n");
    }

    #[test]
    fn a_part_line_that_cannot_be_cut_off_ends_the_journal() {
        let mut t = tail(10, false);
        assert!(t.append(b"{\"event\":\"send\"}\n").is_err());
        t.file.room = 100;
        assert!(
            t.append(b"{}\n").is_err(),
            "it would be glued to the part line"
        );
        assert_eq!(t.file.data, b"{\"event\":\"");
    }

    #[test]
    fn the_journal_asks_for_room_before_anything_is_sent() {
        let dir = Path::new("journal");
        let need = ROOM_BASE + 17 * ROOM_PER_CHANGE;
        assert!(check_room(dir, Some(need), 17).is_ok());
        assert!(check_room(dir, None, 17).is_ok(), "not asked: not refused");
        let err = check_room(dir, Some(need - 1), 17).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert_eq!(
            err.to_string(),
            "journal has 1040 KiB free, and journalling 17 change(s) asks for 1041 KiB before anything is sent; free some space or pass --journal-dir"
        );
        assert!(
            check_room(dir, Some(0), 0).is_err(),
            "a full disk is refused"
        );
    }

    #[cfg(unix)]
    #[test]
    fn open_asks_the_disk_and_starts_no_journal_without_room() {
        let dir = tempfile::tempdir().unwrap();
        let free = free_bytes(dir.path()).unwrap().unwrap();
        // Twice what fits, so that space freed meanwhile by others does not matter.
        let too_many = usize::try_from(free / ROOM_PER_CHANGE * 2).unwrap();
        let err = Journal::open(dir.path(), "sha256:0123456789abcdef", too_many)
            .err()
            .unwrap();
        assert_eq!(err.kind(), io::ErrorKind::StorageFull);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let journal = Journal::open(dir.path(), "sha256:0123456789abcdef", 1).unwrap();
        assert!(
            journal
                .path
                .to_string_lossy()
                .ends_with("-0123456789ab.jsonl")
        );
    }
}
