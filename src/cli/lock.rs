//! One apply per account at a time on this machine: an advisory lock on a file under the
//! user's state directory, released by the operating system when the holder exits, even
//! when it is killed. Two machines are kept apart only by the CI workflow's
//! `concurrency:` group: the vendors offer no lock.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::env_vars;

/// How often a waiting apply tries the lock again.
const RETRY: Duration = Duration::from_millis(200);

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another apply holds it.
    #[error(
        "another apply is running on this account ({holder}); wait for it, or pass --lock-timeout SECONDS to wait here (lock file {})",
        path.display()
    )]
    Held {
        /// What the holder wrote about itself.
        holder: String,
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be created or locked.
    #[error("cannot use the lock file {}: {source}", path.display())]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A held lock; dropping it releases the lock.
#[derive(Debug)]
pub struct AccountLock {
    _file: File,
}

/// The lock file for an account: its key with anything but letters, digits, `-` and `.`
/// replaced, so any URL or path makes a file name.
pub fn path_for(dir: &Path, key: &str) -> PathBuf {
    let name: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    dir.join("locks").join(format!("{name}.lock"))
}

/// Takes the lock at `path`, waiting up to `wait`, and writes `holder` into the file so
/// a refused apply can say who holds it. When it has to wait, `waiting` is told once
/// who holds the lock now.
pub fn acquire(
    path: &Path,
    holder: &str,
    wait: Duration,
    waiting: impl FnOnce(&str),
) -> Result<AccountLock, LockError> {
    let io = |source| LockError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(io)?;
    let start = Instant::now();
    let mut waiting = Some(waiting);
    loop {
        match file.try_lock() {
            Ok(()) => break,
            Err(TryLockError::WouldBlock) if start.elapsed() < wait => {
                if let Some(tell) = waiting.take() {
                    tell(&held_by(&mut file));
                }
                std::thread::sleep(RETRY);
            }
            Err(TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    holder: held_by(&mut file),
                    path: path.to_path_buf(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
    }
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    file.write_all(holder.as_bytes()).map_err(io)?;
    Ok(AccountLock { _file: file })
}

/// The holder the lock file names, as its holder wrote it.
fn held_by(file: &mut File) -> String {
    let mut holder = String::new();
    let _ = file.rewind();
    let _ = file.read_to_string(&mut holder);
    match holder.trim() {
        "" => "holder unknown".into(),
        named => named.to_string(),
    }
}

/// A description of this process for the lock file: pid, user, host and start time.
pub fn describe_self(what: &str) -> String {
    let (user, host) = env_vars::user_and_host();
    format!(
        "{what}, pid {} by {user} on {host}, since {}",
        std::process::id(),
        chrono::Utc::now().format("%Y-%m-%d %H:%M:%SZ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_description() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for(dir.path(), "talkdesk/acme@http://127.0.0.1:1");
        assert!(path.ends_with("locks/talkdesk_acme_http___127.0.0.1_1.lock"));
        let first = acquire(&path, "roster apply, pid 1", Duration::ZERO, |_| {}).unwrap();
        let mut told = Vec::new();
        let wait = Duration::from_millis(300);
        let err = acquire(&path, "roster apply, pid 2", wait, |h| {
            told.push(h.to_string())
        });
        let err = err.unwrap_err();
        assert!(matches!(&err, LockError::Held { holder, .. } if holder == "roster apply, pid 1"));
        assert!(err.to_string().contains("--lock-timeout"));
        assert_eq!(told, ["roster apply, pid 1"], "told once whom it waits for");
        drop(first);
        acquire(&path, "roster apply, pid 2", Duration::ZERO, |_| {}).unwrap();
    }
}
