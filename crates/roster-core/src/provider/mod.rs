//! Providers: one module per vendor API over the shared [`http`] client. Reading and
//! writing are separate traits, so `plan` is given something that cannot write.

pub mod bound;
pub mod cloudtalk;
pub mod http;
mod pages;
pub mod stall;
pub mod talkdesk;

use std::future::Future;

use crate::model::{Account, User};
use crate::plan::{Capabilities, Change, Plan};

/// What went wrong talking to a vendor; each variant names the request.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The client could not be set up (configuration, TLS).
    #[error("{0}")]
    Setup(String),
    /// The request never got an answer.
    #[error("{request}: {message}")]
    Transport {
        /// Method and path.
        request: String,
        /// What failed.
        message: String,
    },
    /// The server answered with an error status.
    #[error("{request}: HTTP {status}: {message}")]
    Api {
        /// Method and path.
        request: String,
        /// HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// Credentials were refused.
    #[error("{request}: unauthorized: {hint}")]
    Unauthorized {
        /// Method and path.
        request: String,
        /// Which credential is needed.
        hint: String,
    },
    /// The answer could not be understood.
    #[error("{request}: {message}")]
    Decode {
        /// Method and path.
        request: String,
        /// What is wrong with it.
        message: String,
    },
    /// A write may or may not have happened; look before retrying.
    #[error("outcome unknown: {0}")]
    OutcomeUnknown(Box<ProviderError>),
    /// The provider cannot do this.
    #[error("{0}")]
    Unsupported(String),
    /// The command stops at once and sends nothing more: the vendor did something
    /// irreversible that roster did not ask for, or the account stopped answering (no
    /// request completed for the stall limit, or a retry was asked to wait past it).
    #[error("{0}")]
    Halt(String),
}

impl ProviderError {
    /// Whether the write certainly did not happen: the server refused it (a 4xx, 429
    /// included) or it was never sent. Broken connections, timeouts and 5xx leave the
    /// outcome unknown.
    pub fn surely_not_applied(&self) -> bool {
        match self {
            ProviderError::Api { status, .. } => *status < 500,
            ProviderError::Unauthorized { .. }
            | ProviderError::Unsupported(_)
            | ProviderError::Setup(_) => true,
            ProviderError::Transport { .. }
            | ProviderError::Decode { .. }
            | ProviderError::OutcomeUnknown(_)
            | ProviderError::Halt(_) => false,
        }
    }
}

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

/// What a plan needs read besides users, roles, teams and queues.
#[derive(Debug, Clone, Default)]
pub struct ReadScope {
    /// Read add-on licenses (the roster declares some).
    pub addons: bool,
    /// Lowercased emails of users whose roster declares `phone:`.
    pub phone_for: std::collections::HashSet<String>,
    /// Read phone settings for every active user (import).
    pub phone_for_all: bool,
}

/// Reads the live account.
pub trait Reader: Sync {
    /// What this provider can do, for the planner.
    fn capabilities(&self) -> Capabilities;
    /// Reads roles, teams, queues and every user; what depends on `scope` waits for it
    /// (the roster may still be loading) while the rest is read. A scope that never
    /// comes (`None`: the roster did not load) stops the read with [`not_loaded`].
    fn read_when(
        &self,
        scope: impl Future<Output = Option<ReadScope>> + Send,
    ) -> impl Future<Output = Result<Account, ProviderError>> + Send;

    /// Reads with a scope known now.
    fn read(
        &self,
        scope: &ReadScope,
    ) -> impl Future<Output = Result<Account, ProviderError>> + Send {
        self.read_when(std::future::ready(Some(scope.clone())))
    }
}

/// Why a read stopped whose scope never came: the roster did not load, and its own
/// diagnostics are what the operator sees.
pub fn not_loaded() -> ProviderError {
    ProviderError::Setup("the roster did not load, so the account read stopped".into())
}

/// Carries out changes. Never deletes.
pub trait Writer: Reader {
    /// Performs one change of `plan`.
    fn perform(
        &self,
        change: &Change,
        plan: &Plan,
    ) -> impl Future<Output = Result<(), ProviderError>> + Send;
    /// Looks a user up by email (used before retrying a create whose outcome is unknown).
    fn find_user(
        &self,
        email: &str,
    ) -> impl Future<Output = Result<Option<User>, ProviderError>> + Send;
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
