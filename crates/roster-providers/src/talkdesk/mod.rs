//! Talkdesk, as Talkdesk documents it: one provider composed of the surfaces the
//! credentials grant (wire facts and their sources in [`contract`]). This module holds
//! the provider and its per-surface clients; `settings` where it connects, `read` and
//! `join` what it reads, `write` what it sends.
//!
//! - REST `GET /users` (scope `users:read`): who exists, `active`, extension.
//! - SCIM `/Users` (scope `scim`): role, teams, name parts, `externalId`, and every
//!   user write (create, rename, role, teams, activation).
//! - Queues (`/ccaas/queues`, scopes `queues:read`, `queues-users:read`,
//!   `queues:write`): membership, read per queue and written in bulk.
//! - Guardian `/guardian/users` (scope `guardian-users:read`): role and activation
//!   state, read only where SCIM cannot be (SCIM is what apply writes, so it wins), so
//!   a plan job can see roles with no scope that writes.
//! - Phone settings and add-on licenses: modeled paths (no public contract).
//!
//! A surface the credentials do not grant is left out of the read; the plan names the
//! fields it could not read and apply never writes them.

pub mod contract;
mod doctor;
mod guardian;
mod hal;
mod join;
mod phone;
mod queues;
mod read;
mod scim;
mod scim_resource;
mod settings;
mod write;

use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};

use super::ProviderError;
use super::http::{self, Auth, HttpClient, HttpConfig};
use super::stall::Stall;
use contract::scopes;
use foldhash::{HashMap, HashMapExt};
use roster_core::plan::Field;

pub use scim::split_name;
pub use settings::{Given, Settings, scim_token_warning};

/// The user fields only SCIM writes.
pub(super) const SCIM_FIELDS: [Field; 5] = [
    Field::Name,
    Field::Email,
    Field::Role,
    Field::Teams,
    Field::Status,
];

/// Why a surface is left out of the read.
#[derive(Debug, Clone, Default)]
struct Gaps {
    rest: Option<String>,
    scim: Option<String>,
    queues: Option<String>,
    /// Why Guardian could not stand in for SCIM; `None` when it did, or was not needed.
    guardian: Option<String>,
    /// Roles and activation states came from Guardian.
    from_guardian: bool,
}

/// The Talkdesk provider.
pub struct Talkdesk {
    rest: Option<HttpClient>,
    guardian: Option<HttpClient>,
    queues: Option<queues::Queues>,
    scim: Option<scim::Scim>,
    concurrency: usize,
    gaps: RwLock<Gaps>,
    /// Lowercased email → REST user ID, from the last read (queue writes name REST IDs).
    rest_ids: RwLock<HashMap<String, String>>,
    /// Whether this provider will write (apply): only then are REST IDs kept.
    write: bool,
    addon_lock: tokio::sync::Mutex<()>,
    /// What it was made from, for `roster doctor`'s clients of one scope each.
    settings: Settings,
}

/// The connection settings of a surface at `base`: retries, timeout, the budget and
/// the stall limit the provider's surfaces share.
fn config(settings: &Settings, stall: &Arc<Stall>, base: &str) -> HttpConfig {
    let mut cfg = HttpConfig::new(base);
    cfg.max_retries = settings.retries;
    cfg.timeout = settings.timeout;
    cfg.budget.clone_from(&settings.budget);
    cfg.stall = Arc::clone(stall);
    cfg
}

/// A client for one surface: its own token with its own scopes, so a scope the
/// account lacks costs that surface only, and a refusal can name the scope.
fn client(
    pool: &reqwest::Client,
    settings: &Settings,
    stall: &Arc<Stall>,
    base: &str,
    scope: &str,
    rps: Option<NonZeroU32>,
) -> Result<Option<HttpClient>, ProviderError> {
    let Some((id, secret)) = &settings.client else {
        return Ok(None);
    };
    let mut cfg = config(settings, stall, base);
    cfg.max_rps = rps;
    let auth = Auth::ClientCredentials {
        token_url: settings.token_url.clone(),
        client_id: id.clone(),
        client_secret: secret.clone(),
        scope: scope.to_string(),
        hint: format!(
            "the OAuth client TALKDESK_CLIENT_ID needs the scope{} {scope} (a newly granted scope can take a few minutes)",
            if scope.contains(' ') { "s" } else { "" }
        ),
    };
    Ok(Some(HttpClient::over(pool.clone(), cfg, auth)))
}

/// Whether an error means the surface is not granted (or, for SCIM, not enabled on the
/// account), rather than a failure to report.
fn not_granted(e: &ProviderError) -> bool {
    matches!(
        e,
        ProviderError::Unauthorized { .. }
            | ProviderError::Api {
                status: 403 | 404,
                ..
            }
    )
}

impl Talkdesk {
    /// A provider for the account `settings` describe.
    pub fn new(settings: Settings) -> Result<Self, ProviderError> {
        // One pool for the three surfaces: they reach the same hosts.
        let pool = http::pool()?;
        // One stall limit too: the surfaces' requests all count as progress.
        let stall = Stall::new(settings.stall_limit);
        let rest = client(
            &pool,
            &settings,
            &stall,
            &settings.base_url,
            scopes::USERS_READ,
            settings.max_rps,
        )?;
        let guardian = client(
            &pool,
            &settings,
            &stall,
            &settings.base_url,
            scopes::GUARDIAN_USERS_READ,
            settings.max_rps,
        )?;
        let queue_scopes = if settings.write {
            format!(
                "{} {} {}",
                scopes::QUEUES_READ,
                scopes::QUEUES_USERS_READ,
                scopes::QUEUES_WRITE
            )
        } else {
            format!("{} {}", scopes::QUEUES_READ, scopes::QUEUES_USERS_READ)
        };
        let queues = client(
            &pool,
            &settings,
            &stall,
            &settings.base_url,
            &queue_scopes,
            settings.max_rps,
        )?
        .map(|h| queues::Queues::new(h, settings.concurrency));
        let scim_http = match &settings.scim_token {
            Some(token) => {
                let mut cfg = config(&settings, &stall, &settings.scim_url);
                cfg.max_rps = settings.scim_rps;
                Some(HttpClient::over(
                    pool.clone(),
                    cfg,
                    Auth::Bearer {
                        token: token.clone(),
                        hint: "the SCIM API refused TALKDESK_SCIM_TOKEN: generate a new one in Admin > Settings > Security > SCIM (they live 30 days), or unset it to use the OAuth client with the scope scim",
                    },
                ))
            }
            None => client(
                &pool,
                &settings,
                &stall,
                &settings.scim_url,
                scopes::SCIM,
                settings.scim_rps,
            )?,
        };
        Ok(Talkdesk {
            rest,
            guardian,
            queues,
            scim: scim_http.map(|h| scim::Scim::new(h, settings.concurrency, settings.write)),
            concurrency: settings.concurrency.max(1),
            gaps: RwLock::new(Gaps::default()),
            rest_ids: RwLock::new(HashMap::new()),
            write: settings.write,
            addon_lock: tokio::sync::Mutex::new(()),
            settings,
        })
    }

    fn gaps(&self) -> Gaps {
        self.gaps.read().map(|g| g.clone()).unwrap_or_default()
    }

    fn scim_usable(&self) -> Option<&scim::Scim> {
        self.scim
            .as_ref()
            .filter(|_| self.gaps.read().is_ok_and(|g| g.scim.is_none()))
    }
}
