//! What has become of each change of a running apply, kept as it happens so that a
//! signal handler that quits at once can still say what was applied, failed, sent
//! without an answer and not sent.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Failure, InDoubt, Report, Stop};

/// What has become of each change of the plan so far, shared with a signal handler.
#[derive(Debug, Clone, Default)]
pub struct Ledger(Arc<Mutex<Book>>);

#[derive(Debug, Default)]
struct Book {
    changes: Vec<Entry>,
    journal: PathBuf,
}

#[derive(Debug)]
struct Entry {
    /// "action key", as shown.
    line: String,
    /// The key, as shown.
    key: String,
    state: State,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Held back by the plan; never sent.
    Held,
    /// Not sent (yet).
    Waiting,
    /// Sent, or about to be: no answer yet.
    Sending,
    /// Ended, its end journalled.
    Done(Result<(), String>),
    /// Answered, but the journal could not record the answer.
    Unrecorded(Result<(), String>),
}

impl Ledger {
    /// Every change as applied, failed, in doubt (sent without an answer, or answered
    /// without the answer journalled) or not sent, as of now; `stopped` is left unset.
    pub fn report(&self) -> Report {
        let book = self.book();
        let mut r = Report {
            journal: book.journal.clone(),
            ..Report::default()
        };
        for e in &book.changes {
            let in_doubt = |answer| InDoubt {
                change: e.line.clone(),
                answer,
            };
            match &e.state {
                State::Held => r.held += 1,
                State::Waiting => r.not_sent.push(e.line.clone()),
                State::Sending => r.in_doubt.push(in_doubt(None)),
                State::Done(Ok(())) => r.applied += 1,
                State::Done(Err(reason)) => r.failed.push(Failure {
                    key: e.key.clone(),
                    reason: reason.clone(),
                }),
                State::Unrecorded(answer) => r.in_doubt.push(in_doubt(Some(answer.clone()))),
            }
        }
        r
    }

    /// Starts the ledger of a run: the plan's changes in order, each `(line, key, held)`,
    /// and the journal's path.
    pub(super) fn open(&self, changes: Vec<(String, String, bool)>, journal: PathBuf) {
        let mut book = self.book();
        book.journal = journal;
        book.changes = changes
            .into_iter()
            .map(|(line, key, held)| Entry {
                line,
                key,
                state: if held { State::Held } else { State::Waiting },
            })
            .collect();
    }

    /// Marks change `i` as being sent, unless a stop was asked for. Checked under the
    /// ledger's lock, so a report taken after a stop names every change that may go out.
    pub(super) fn begin(&self, i: usize, stop: &Stop) -> bool {
        let mut book = self.book();
        if stop.requested() {
            return false;
        }
        book.changes[i].state = State::Sending;
        true
    }

    /// Change `i` was not sent after all.
    pub(super) fn unsent(&self, i: usize) {
        self.book().changes[i].state = State::Waiting;
    }

    /// Change `i` ended with `result`, journalled when `recorded`.
    pub(super) fn end(&self, i: usize, result: Result<(), String>, recorded: bool) {
        self.book().changes[i].state = if recorded {
            State::Done(result)
        } else {
            State::Unrecorded(result)
        };
    }

    fn book(&self) -> MutexGuard<'_, Book> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger() -> Ledger {
        let ledger = Ledger::default();
        let change = |n: u8, held| {
            (
                format!("update u{n}@acme.example"),
                format!("u{n}@acme.example"),
                held,
            )
        };
        ledger.open(
            vec![
                change(0, false),
                change(1, false),
                change(2, true),
                change(3, false),
                change(4, false),
                change(5, false),
            ],
            PathBuf::from("j.jsonl"),
        );
        ledger
    }

    #[test]
    fn each_change_is_reported_once_by_what_became_of_it() {
        let (ledger, stop) = (ledger(), Stop::default());
        for i in [0, 1, 3, 4] {
            assert!(ledger.begin(i, &stop));
        }
        ledger.end(0, Ok(()), true);
        ledger.end(1, Err("409".into()), true);
        ledger.end(3, Ok(()), false);
        stop.request();
        assert!(!ledger.begin(5, &stop), "nothing starts after a stop");
        let r = ledger.report();
        assert_eq!((r.applied, r.held), (1, 1));
        assert_eq!(
            r.failed,
            vec![Failure {
                key: "u1@acme.example".into(),
                reason: "409".into()
            }]
        );
        assert_eq!(
            r.in_doubt,
            vec![
                InDoubt {
                    change: "update u3@acme.example".into(),
                    answer: Some(Ok(()))
                },
                InDoubt {
                    change: "update u4@acme.example".into(),
                    answer: None
                },
            ]
        );
        assert_eq!(r.not_sent, vec!["update u5@acme.example"]);
        assert_eq!(r.journal, PathBuf::from("j.jsonl"));
    }

    #[test]
    fn a_change_whose_send_was_not_journalled_is_not_sent() {
        let (ledger, stop) = (ledger(), Stop::default());
        assert!(ledger.begin(0, &stop));
        ledger.unsent(0);
        assert_eq!(ledger.report().not_sent.len(), 5);
    }
}
