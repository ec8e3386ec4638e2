//! The vendor adapters: one module per vendor API over the shared [`http`] client, each
//! implementing roster-core's [`Reader`] and [`Writer`] ports (reading and writing are
//! separate traits, so `plan` is given something that cannot write).

pub mod bound;
pub mod capabilities;
pub mod cloudtalk;
pub mod doctor;
pub mod http;
mod pages;
pub mod stall;
pub mod talkdesk;

use std::future::Future;

use roster_core::model::{Account, User};
use roster_core::plan::Capabilities;
use roster_core::plan::{Change, Plan};
pub use roster_core::port::{ProviderError, ReadScope, Reader, Writer, not_loaded};

/// Percent-encodes a query value (emails keep their `@`).
pub(crate) fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Whichever provider the roster names.
pub enum AnyProvider {
    /// Talkdesk: REST users, SCIM, queues, Phone and add-ons.
    Talkdesk(Box<talkdesk::Talkdesk>),
    /// CloudTalk.
    CloudTalk(Box<cloudtalk::CloudTalk>),
}

impl Reader for AnyProvider {
    fn capabilities(&self) -> Capabilities {
        match self {
            AnyProvider::Talkdesk(p) => p.capabilities(),
            AnyProvider::CloudTalk(p) => p.capabilities(),
        }
    }

    async fn read_when(
        &self,
        scope: impl Future<Output = Option<ReadScope>> + Send,
    ) -> Result<Account, ProviderError> {
        match self {
            AnyProvider::Talkdesk(p) => p.read_when(scope).await,
            AnyProvider::CloudTalk(p) => p.read_when(scope).await,
        }
    }
}

impl AnyProvider {
    /// `roster doctor`: checks the credentials and the account's contract for `jobs`,
    /// sending no write unless `probe_writes` (Talkdesk only).
    pub async fn doctor(
        &self,
        jobs: &[doctor::Job],
        needs: doctor::Needs,
        probe_writes: bool,
    ) -> Result<doctor::Report, ProviderError> {
        match self {
            AnyProvider::Talkdesk(p) => p.doctor(jobs, needs, probe_writes).await,
            AnyProvider::CloudTalk(p) => p.doctor(jobs, needs).await,
        }
    }
}

impl Writer for AnyProvider {
    async fn perform(&self, change: &Change, plan: &Plan) -> Result<(), ProviderError> {
        match self {
            AnyProvider::Talkdesk(p) => p.perform(change, plan).await,
            AnyProvider::CloudTalk(p) => p.perform(change, plan).await,
        }
    }

    async fn find_user(&self, email: &str) -> Result<Option<User>, ProviderError> {
        match self {
            AnyProvider::Talkdesk(p) => p.find_user(email).await,
            AnyProvider::CloudTalk(p) => p.find_user(email).await,
        }
    }
}

/// How many times a create with an unknown outcome is looked up and sent again.
const CREATE_ATTEMPTS: u64 = 11;

/// Sends a create whose answer may be lost (it reached the server, the reply did not):
/// before each resend the object is looked up by its key, and a found one is the
/// create's result, so a create never makes a duplicate. A 409 after such a send is
/// answered by the lookup too; a 409 to the first send is an error, since someone else
/// made the object. Every provider creates through this.
pub(crate) async fn create_once<T, Send, Sent, Lookup, Found>(
    mut send: Send,
    mut lookup: Lookup,
) -> Result<T, ProviderError>
where
    Send: FnMut() -> Sent,
    Sent: Future<Output = Result<T, ProviderError>>,
    Lookup: FnMut() -> Found,
    Found: Future<Output = Result<Option<T>, ProviderError>>,
{
    let mut last = None;
    for attempt in 0..CREATE_ATTEMPTS {
        tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
        match send().await {
            Ok(v) => return Ok(v),
            Err(ProviderError::OutcomeUnknown(e)) => match lookup().await? {
                Some(v) => return Ok(v),
                None => last = Some(*e),
            },
            // After a send whose answer was lost, the conflict is likely our own
            // create, which the lookup missed a moment ago.
            Err(e @ ProviderError::Api { status: 409, .. }) if last.is_some() => {
                return lookup().await?.ok_or(e);
            }
            // On a first send it is someone else's: another apply or a person created
            // it since the plan, so it is not this apply's result to report.
            Err(ProviderError::Api {
                request,
                status: 409,
                message,
            }) => {
                return Err(ProviderError::Api {
                    request,
                    status: 409,
                    message: format!(
                        "{message} (it was created by someone else since the plan: plan again)"
                    ),
                });
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| ProviderError::Setup("create failed".into())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn conflict() -> ProviderError {
        ProviderError::Api {
            request: "POST /scim/v2/Users".into(),
            status: 409,
            message: "uniqueness".into(),
        }
    }

    fn lost() -> ProviderError {
        ProviderError::OutcomeUnknown(Box::new(ProviderError::Transport {
            request: "POST /scim/v2/Users".into(),
            message: "connection reset".into(),
        }))
    }

    #[tokio::test]
    async fn a_conflict_on_the_first_send_is_someone_elses_create() {
        let looked = Cell::new(0);
        let out = create_once(
            || async { Err::<u32, _>(conflict()) },
            || {
                looked.set(looked.get() + 1);
                async { Ok(Some(7)) }
            },
        )
        .await;
        let err = out.unwrap_err().to_string();
        assert!(err.contains("HTTP 409"), "{err}");
        assert!(
            err.contains("created by someone else since the plan"),
            "{err}"
        );
        assert_eq!(looked.get(), 0, "never reported as this apply's result");
    }

    #[tokio::test]
    async fn a_conflict_after_a_lost_answer_is_our_own_create() {
        let sends = Cell::new(0);
        let looked = Cell::new(0);
        let out = create_once(
            || {
                sends.set(sends.get() + 1);
                let first = sends.get() == 1;
                async move { Err::<u32, _>(if first { lost() } else { conflict() }) }
            },
            || {
                looked.set(looked.get() + 1);
                let n = looked.get();
                // Not visible at the first lookup, found at the second.
                async move { Ok((n > 1).then_some(7)) }
            },
        )
        .await;
        assert_eq!(out.unwrap(), 7);
        assert_eq!((sends.get(), looked.get()), (2, 2));
    }
}
