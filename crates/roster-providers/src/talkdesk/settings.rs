//! Where and how to reach a Talkdesk account: the region's hosts, the credentials and
//! the pace, and a warning for a static SCIM token about to expire.

use std::num::NonZeroU32;
use std::time::Duration;

use roster_core::config::Region;

use super::contract;
use super::contract::paths;
use crate::ProviderError;
use crate::http::{Budget, Secret};
use crate::stall::DEFAULT_STALL_LIMIT;

/// Where and how to reach a Talkdesk account.
#[derive(Debug, Clone)]
pub struct Settings {
    /// API base URL.
    pub base_url: String,
    /// OAuth token URL.
    pub token_url: String,
    /// SCIM base URL (`{base}/scim/v2`).
    pub scim_url: String,
    /// OAuth client ID and secret (one client serves REST, SCIM and queues).
    pub client: Option<(String, Secret)>,
    /// A SCIM token from Admin > Settings > Security > SCIM, used for SCIM when set.
    pub scim_token: Option<Secret>,
    /// Ask for the write scopes too (apply); plan and import ask only to read.
    pub write: bool,
    /// Concurrent page reads.
    pub concurrency: usize,
    /// Client-side requests per second on REST and queues, if limited.
    pub max_rps: Option<NonZeroU32>,
    /// Client-side requests per second on SCIM: Talkdesk allows 4.
    pub scim_rps: Option<NonZeroU32>,
    /// Retries of a transient failure.
    pub retries: usize,
    /// Per-request timeout.
    pub timeout: Duration,
    /// How long requests may go without one completing before the command stops.
    pub stall_limit: Duration,
    /// `policy.api_budget`, shared by REST, SCIM and queues.
    pub budget: Option<Budget>,
}

impl Settings {
    /// Settings for `account` in `region` with the defaults: URLs derived from them (doc:
    /// "Supported Regions and Base URLs",
    /// https://docs.talkdesk.com/reference/client-credentials-sts-token).
    pub fn new(account: &str, region: Region) -> Self {
        let base = contract::api_base(region).to_string();
        Settings {
            scim_url: format!("{base}{}", paths::SCIM_BASE),
            token_url: contract::token_url(account, region),
            base_url: base,
            client: None,
            scim_token: None,
            write: false,
            concurrency: 4,
            max_rps: None,
            scim_rps: NonZeroU32::new(contract::SCIM_REQUESTS_PER_SECOND),
            retries: 10,
            timeout: Duration::from_secs(30),
            stall_limit: DEFAULT_STALL_LIMIT,
            budget: None,
        }
    }

    /// Pointed at `url` (an emulator) for both the API and the token endpoint.
    pub fn at(url: &str, client_id: &str, client_secret: &str) -> Self {
        let mut s = Settings::new("sandbox", Region::Us);
        s.base_url = url.to_string();
        s.scim_url = format!("{url}{}", paths::SCIM_BASE);
        s.token_url = format!("{url}{}", contract::TOKEN_PATH);
        s.client = Some((client_id.to_string(), Secret::new(client_secret)));
        s
    }

    /// For `account` in `region` with what the operator gave (the binary reads it from
    /// the environment): credentials, and hosts or a SCIM pace other than the vendor's.
    pub fn configured(account: &str, region: Region, given: Given) -> Result<Self, ProviderError> {
        // The account becomes the host that receives the client's secret; the roster's
        // schema holds it to a subdomain, and so does this, for every other way in.
        if !roster_core::config::is_talkdesk_account(account) {
            return Err(ProviderError::Setup(format!(
                "the Talkdesk account {account:?} is not a subdomain: write the ACCOUNT of https://ACCOUNT.mytalkdesk.com (letters, digits and hyphens); TALKDESK_TOKEN_URL and TALKDESK_BASE_URL point roster at other hosts"
            )));
        }
        let mut s = Settings::new(account, region);
        if let Some(base) = given.base_url {
            s.base_url = base.trim_end_matches('/').to_string();
            s.scim_url = format!("{}{}", s.base_url, paths::SCIM_BASE);
        }
        if let Some(url) = given.token_url {
            s.token_url = url;
        }
        if let Some(url) = given.scim_url {
            s.scim_url = url.trim_end_matches('/').to_string();
        }
        s.scim_token = given.scim_token;
        if given.scim_rps.is_some() {
            s.scim_rps = given.scim_rps;
        }
        s.client = given.client;
        Ok(s)
    }
}

/// What the operator gives beside the roster: the credentials, and the hosts or SCIM
/// pace to use instead of the vendor's.
#[derive(Debug, Clone, Default)]
pub struct Given {
    /// The OAuth client: ID and secret.
    pub client: Option<(String, Secret)>,
    /// A SCIM bearer token, for SCIM without the OAuth client.
    pub scim_token: Option<Secret>,
    /// The API base instead of the region's.
    pub base_url: Option<String>,
    /// The token endpoint instead of the account's.
    pub token_url: Option<String>,
    /// The SCIM base instead of the API base's.
    pub scim_url: Option<String>,
    /// SCIM requests per second, for a server that allows more than Talkdesk's 4.
    pub scim_rps: Option<NonZeroU32>,
}

/// A warning when a static SCIM token (a JWT, valid 30 days: doc
/// https://docs.talkdesk.com/docs/scim-api) expires within a week, or has expired; the caller shows
/// it.
pub fn scim_token_warning(token: &Secret) -> Option<String> {
    use base64::Engine;
    let payload = token.expose().split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let exp = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()?
        .get("exp")?
        .as_i64()?;
    let left = exp - chrono::Utc::now().timestamp();
    if left < 0 {
        Some(format!(
            "TALKDESK_SCIM_TOKEN expired {} day(s) ago: generate a new one in Admin > Settings > Security > SCIM",
            -left / 86_400
        ))
    } else if left < 7 * 86_400 {
        Some(format!(
            "TALKDESK_SCIM_TOKEN expires in {} day(s): generate a new one in Admin > Settings > Security > SCIM",
            left / 86_400
        ))
    } else {
        None
    }
}
