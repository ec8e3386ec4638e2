//! The ports the planner and apply talk to a vendor through: [`Reader`] (what `plan`
//! is given: it cannot write), [`Writer`] (apply), and the errors they answer with.
//! The vendor adapters in roster-providers implement them.

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
