//! Talkdesk, as Talkdesk documents it: one provider composed of the surfaces the
//! credentials grant (API-FACTS.md revision 2; wire facts and sources in [`contract`]).
//!
//! - REST `GET /users` (scope `users:read`): who exists, `active`, extension.
//! - SCIM `/Users` (scope `scim`): role, teams, name parts, `externalId`, and every
//!   user write (create, rename, role, teams, activation).
//! - Queues (`/ccaas/queues`, scopes `queues:read`, `queues-users:read`,
//!   `queues:write`): membership, read per queue and written in bulk.
//! - Phone settings and add-on licenses: modeled paths (no public contract).
//!
//! A surface the credentials do not grant is left out of the read; the plan names the
//! fields it could not read and apply never writes them.

pub mod contract;
mod hal;
mod phone;
mod queues;
mod scim;
mod scim_resource;

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use super::http::{self, Auth, Budget, HttpClient, HttpConfig, Secret};
use super::stall::{DEFAULT_STALL_LIMIT, Stall};
use super::{ProviderError, ReadScope, Reader, Writer};
use contract::{RestUser, paths, scopes};
use foldhash::{HashMap, HashMapExt};
use roster_core::config::Region;
use roster_core::email_index::EmailIndex;
use roster_core::model::{Account, Named, Names, Status, User};
use roster_core::plan::{Action, Capabilities, Change, Field, MissingWrite, Plan};

pub use scim::split_name;

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
    /// Settings for `account` in `region` with the defaults: URLs derived from them
    /// (doc: "Supported Regions and Base URLs", reference/client-credentials-sts-token).
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

/// Why a surface is left out of the read.
#[derive(Debug, Clone, Default)]
struct Gaps {
    rest: Option<String>,
    scim: Option<String>,
    queues: Option<String>,
}

/// The Talkdesk provider.
pub struct Talkdesk {
    rest: Option<HttpClient>,
    queues: Option<queues::Queues>,
    scim: Option<scim::Scim>,
    concurrency: usize,
    gaps: RwLock<Gaps>,
    /// Lowercased email → REST user ID, from the last read (queue writes name REST IDs).
    rest_ids: RwLock<HashMap<String, String>>,
    /// Whether this provider will write (apply): only then are REST IDs kept.
    write: bool,
    addon_lock: tokio::sync::Mutex<()>,
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
            queues,
            scim: scim_http.map(|h| scim::Scim::new(h, settings.concurrency, settings.write)),
            concurrency: settings.concurrency.max(1),
            gaps: RwLock::new(Gaps::default()),
            rest_ids: RwLock::new(HashMap::new()),
            write: settings.write,
            addon_lock: tokio::sync::Mutex::new(()),
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

    /// REST users, or why they cannot be read.
    async fn read_rest(&self) -> Result<Result<Vec<RestUser>, String>, ProviderError> {
        let Some(http) = &self.rest else {
            return Ok(Err("no OAuth client is configured".into()));
        };
        match hal::read_all::<RestUser>(http, paths::USERS, "", self.concurrency).await {
            Ok(users) => Ok(Ok(users)),
            Err(e) if not_granted(&e) => Ok(Err(e.to_string())),
            Err(e) => Err(e),
        }
    }

    /// SCIM users, or why they cannot be read.
    async fn read_scim(&self) -> Result<Result<Vec<User>, String>, ProviderError> {
        let Some(scim) = &self.scim else {
            return Ok(Err(
                "neither TALKDESK_SCIM_TOKEN nor an OAuth client is configured".into(),
            ));
        };
        let read = async {
            let (_, users) = tokio::try_join!(scim.read_config(), scim.read_users())?;
            Ok::<_, ProviderError>(users)
        };
        match read.await {
            Ok(users) => Ok(Ok(users)),
            Err(e) if not_granted(&e) => Ok(Err(e.to_string())),
            Err(e) => Err(e),
        }
    }

    /// Queues and their members, or why they cannot be read.
    async fn read_queues(
        &self,
    ) -> Result<Result<(Vec<Named>, HashMap<String, Names>), String>, ProviderError> {
        let Some(q) = &self.queues else {
            return Ok(Err("no OAuth client is configured".into()));
        };
        match q.read().await {
            Ok(v) => Ok(Ok(v)),
            Err(e) if not_granted(&e) => Ok(Err(e.to_string())),
            Err(e) => Err(e),
        }
    }
}

/// A warning when a static SCIM token (a JWT, valid 30 days: doc docs/scim-api) expires
/// within a week, or has expired; the caller shows it.
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

/// Joins REST users (who exists, activity, extension) with SCIM users (role, teams,
/// name parts, externalId) by email, either may be missing, and gives each user its
/// queues from `members` (keyed by REST user ID, moved out as they are given).
fn join(
    rest: Option<Vec<RestUser>>,
    scim: Option<Vec<User>>,
    members: &mut HashMap<String, Names>,
) -> Vec<User> {
    let from_rest = |r: RestUser, members: &mut HashMap<String, Names>| User {
        status: if r.is_active() {
            Status::Active
        } else {
            Status::Inactive
        },
        pending: r.is_pending(),
        extension: r.extension(),
        email: r.email,
        name: r.name.unwrap_or_default(),
        role: None,
        teams: Names::new(),
        queues: members.remove(&r.id).unwrap_or_default(),
        time_zone: None,
        language: None,
        addons: Names::new(),
        phone: None,
        external_id: None,
        updated_at: None,
        id: r.id,
    };
    match (rest, scim) {
        (Some(rest), None) => rest.into_iter().map(|r| from_rest(r, members)).collect(),
        (None, Some(mut scim)) => {
            for u in &mut scim {
                u.queues = members.remove(&u.id).unwrap_or_default();
            }
            scim
        }
        (None, None) => Vec::new(),
        (Some(rest), Some(mut scim)) => {
            // Indexed by email without copies: at 100,000 users a map of lowercased
            // copies holding the REST users was the read's largest buffer. Of two REST
            // users with one email only the last is joined, as a map would keep it.
            fn email(r: &RestUser) -> &str {
                &r.email
            }
            let by_email = EmailIndex::new(&rest, email);
            let mut joined: Vec<bool> = rest
                .iter()
                .enumerate()
                .map(|(i, r)| by_email.get(&rest, email, &r.email) != Some(i))
                .collect();
            for u in &mut scim {
                match by_email.get(&rest, email, &u.email) {
                    Some(i) if !joined[i] => {
                        joined[i] = true;
                        u.extension = rest[i].extension();
                        u.pending = rest[i].is_pending();
                        u.queues = members.remove(&rest[i].id).unwrap_or_default();
                    }
                    Some(_) => {}
                    None => u.queues = members.remove(&u.id).unwrap_or_default(),
                }
            }
            // Users REST shows and SCIM does not (rare: SCIM lags a new user) are
            // still users; their role and teams are unknown.
            scim.extend(
                rest.into_iter()
                    .zip(joined)
                    .filter(|(_, joined)| !joined)
                    .map(|(r, _)| from_rest(r, members)),
            );
            scim
        }
    }
}

impl Reader for Talkdesk {
    fn capabilities(&self) -> Capabilities {
        let gaps = self.gaps();
        let mut caps = crate::capabilities::talkdesk();
        let mut notes = Vec::new();
        if let Some(why) = &gaps.scim {
            caps.roles = false;
            caps.unmanaged.push(Field::Teams);
            caps.read_only
                .extend([Field::Name, Field::Email, Field::Status]);
            notes.push(format!("SCIM cannot be used ({why}): role, teams and name parts are neither read nor written, and creates, renames and (de)activations cannot be sent; grant the OAuth client the scope scim (SCIM is an Early Access program), or set TALKDESK_SCIM_TOKEN"));
            caps.missing_write = Some(MissingWrite {
                scope: scopes::SCIM,
                actions: vec![Action::Create, Action::Reactivate, Action::Deactivate],
                fields: SCIM_FIELDS.to_vec(),
            });
        }
        if let Some(why) = &gaps.queues {
            caps.unmanaged.push(Field::Queues);
            notes.push(format!("queues cannot be read ({why}): queue membership is not planned; grant the scopes queues:read and queues-users:read"));
        }
        if let Some(why) = &gaps.rest {
            notes.push(format!("the REST users list cannot be read ({why}): extensions, phone settings and add-ons are not compared; grant the OAuth client the scope users:read"));
            caps.unmanaged.push(Field::Extension);
            caps.phone = false;
            caps.addons = false;
        }
        caps.notes = notes;
        caps
    }

    async fn read_when(
        &self,
        scope: impl Future<Output = Option<ReadScope>> + Send,
    ) -> Result<Account, ProviderError> {
        // The three surfaces go out at once: SCIM's 4 requests per second bound the
        // read, and REST and queues fit inside that time. Add-ons wait for the scope.
        let addons = async {
            let scope = scope.await.ok_or_else(crate::not_loaded)?;
            let wire = phone::read_addons_if(self.rest.as_ref(), scope.addons).await?;
            Ok::<_, ProviderError>((wire, scope))
        };
        let (rest, scim, queues, (wire_addons, scope)) = tokio::try_join!(
            self.read_rest(),
            self.read_scim(),
            self.read_queues(),
            addons,
        )?;
        let gaps = Gaps {
            rest: rest.as_ref().err().cloned(),
            scim: scim.as_ref().err().cloned(),
            queues: queues.as_ref().err().cloned(),
        };
        if let (Some(r), Some(s)) = (&gaps.rest, &gaps.scim) {
            return Err(ProviderError::Unauthorized {
                request: "GET /users and GET /scim/v2/Users".into(),
                hint: format!("neither the users list nor SCIM can be read: {r}; {s}"),
            });
        }
        if let Ok(mut g) = self.gaps.write() {
            *g = gaps;
        }
        // Queue writes name REST user IDs: kept from this read when apply will write.
        if let (true, Ok(rest), Ok(mut kept)) = (self.write, &rest, self.rest_ids.write()) {
            *kept = rest
                .iter()
                .map(|r| (r.email.to_lowercase(), r.id.clone()))
                .collect();
        }
        let (queue_list, mut members) = queues.unwrap_or_default();
        let mut users = join(rest.ok(), scim.ok(), &mut members);
        let (addons, held) = phone::addons_of(wire_addons);
        for u in &mut users {
            if let Some(names) = held.get(u.id.as_str()) {
                u.addons = names.clone();
            }
        }
        let roles: BTreeSet<&String> = users.iter().filter_map(|u| u.role.as_ref()).collect();
        let roles = roles
            .into_iter()
            .map(|r| Named {
                id: r.clone(),
                name: r.clone(),
            })
            .collect();
        let teams: BTreeSet<&String> = users.iter().flat_map(|u| &u.teams).collect();
        let teams = teams
            .into_iter()
            .map(|t| Named {
                id: t.clone(),
                name: t.clone(),
            })
            .collect();
        let (phone_numbers, phone_devices) = match &self.rest {
            Some(http) => phone::read_phone(http, &mut users, &scope, self.concurrency).await?,
            None => Default::default(),
        };
        Ok(Account {
            roles,
            teams,
            queues: queue_list,
            users,
            addons,
            phone_numbers,
            phone_devices,
        })
    }
}

/// A user field that only SCIM writes.
/// The user fields only SCIM writes.
const SCIM_FIELDS: [Field; 5] = [
    Field::Name,
    Field::Email,
    Field::Role,
    Field::Teams,
    Field::Status,
];

/// Whether SCIM writes `field` (the rest go to the REST, queue and Phone surfaces).
fn is_scim_field(field: &Field) -> bool {
    SCIM_FIELDS.contains(field)
}

impl Talkdesk {
    /// The SCIM surface, or an error naming the change and why it cannot be written.
    fn scim_for(&self, change: &Change) -> Result<&scim::Scim, ProviderError> {
        self.scim_usable().ok_or_else(|| {
            ProviderError::Unsupported(format!(
                "{}: {} needs SCIM, which these credentials cannot use ({}); nothing was sent",
                change.key,
                change.action.as_str(),
                self.gaps().scim.unwrap_or_else(|| "not configured".into())
            ))
        })
    }

    /// The REST ID of a user, for queue writes: from the last read, else looked up.
    async fn rest_id(&self, email: &str, fallback: &str) -> Result<String, ProviderError> {
        if let Some(id) = self
            .rest_ids
            .read()
            .ok()
            .and_then(|m| m.get(&email.to_lowercase()).cloned())
        {
            return Ok(id);
        }
        let Some(http) = &self.rest else {
            return Ok(fallback.to_string());
        };
        let path = format!("{}?email={}", paths::USERS, super::url_encode(email));
        let found = hal::read_all::<RestUser>(http, &path, "", 1).await?;
        Ok(found
            .into_iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .map_or_else(|| fallback.to_string(), |u| u.id))
    }

    /// Creates the user through SCIM; a lost answer is looked up before a resend, so
    /// it never makes a duplicate.
    async fn create(&self, change: &Change, plan: &Plan) -> Result<User, ProviderError> {
        let scim = self.scim_for(change)?;
        super::create_once(
            || scim.create(change, &plan.team_aliases),
            || async { Ok(scim.find(&change.key).await?.map(|(u, _)| u)) },
        )
        .await
    }

    /// The membership part of a change: adds first, then removals, so a user moving
    /// between queues is never left with none.
    async fn write_queues(&self, change: &Change, user_id: &str) -> Result<(), ProviderError> {
        let Some(fc) = change.fields.get(&Field::Queues) else {
            return Ok(());
        };
        let q = self
            .queues
            .as_ref()
            .filter(|_| self.gaps.read().is_ok_and(|g| g.queues.is_none()))
            .ok_or_else(|| {
                ProviderError::Unsupported(format!(
                    "{}: queues cannot be written with these credentials",
                    change.key
                ))
            })?;
        let set = |v: &serde_json::Value| -> BTreeSet<String> {
            serde_json::from_value(v.clone()).unwrap_or_default()
        };
        let (from, to) = (set(&fc.from), set(&fc.to));
        let rest_id = self.rest_id(&change.key, user_id).await?;
        q.assign(
            &change.key,
            &rest_id,
            &to.difference(&from).cloned().collect::<Vec<_>>(),
        )
        .await?;
        q.unassign(
            &change.key,
            &rest_id,
            &from.difference(&to).cloned().collect::<Vec<_>>(),
        )
        .await
    }
}

/// Reports a user Talkdesk stored inactive although it was asked to be active: no
/// license was free (doc: a user provisioned while licenses are short is deactivated).
fn check_licensed(
    change: &Change,
    stored: Option<&User>,
    created: bool,
) -> Result<(), ProviderError> {
    match stored {
        Some(u) if u.status == Status::Inactive => Err(ProviderError::Api {
            request: format!(
                "{} {}",
                if created { "POST" } else { "PUT" },
                paths::SCIM_USERS
            ),
            status: 200,
            message: format!(
                "{} {} but inactive: no free license; free a seat or buy one, then plan again",
                change.key,
                if created { "was created" } else { "was sent" }
            ),
        }),
        _ => Ok(()),
    }
}

impl Writer for Talkdesk {
    async fn perform(&self, change: &Change, plan: &Plan) -> Result<(), ProviderError> {
        let id = || {
            change.id.clone().ok_or_else(|| {
                ProviderError::Setup(format!("{}: the plan has no user ID", change.key))
            })
        };
        match change.action {
            Action::Create => {
                let user = self.create(change, plan).await?;
                self.write_queues(change, &user.id).await?;
                self.write_extras(change, &user.id).await?;
                check_licensed(change, Some(&user), true)
            }
            Action::Update | Action::Reactivate | Action::Deactivate => {
                let id = id()?;
                let mut stored = None;
                if change.fields.keys().any(is_scim_field) {
                    stored = self
                        .scim_for(change)?
                        .update(&id, change, &plan.team_aliases)
                        .await?;
                }
                // A deactivated user keeps its queues: Talkdesk drops inactive agents
                // from routing itself, and a user may not lose its last queue.
                if change.action != Action::Deactivate {
                    self.write_queues(change, &id).await?;
                }
                self.write_extras(change, &id).await?;
                if change.action == Action::Reactivate {
                    check_licensed(change, stored.as_ref(), false)?;
                }
                Ok(())
            }
            Action::Offboard => Err(ProviderError::Unsupported(
                "Talkdesk deactivates; it has no offboard".into(),
            )),
            Action::CreateTeam => Err(ProviderError::Unsupported(format!(
                "Talkdesk has no API that creates teams: create {:?} in the admin console",
                change.key
            ))),
        }
    }

    async fn find_user(&self, email: &str) -> Result<Option<User>, ProviderError> {
        if let Some(scim) = self.scim_usable() {
            return Ok(scim.find(email).await?.map(|(u, _)| u));
        }
        let Some(http) = &self.rest else {
            return Ok(None);
        };
        let path = format!("{}?email={}", paths::USERS, super::url_encode(email));
        let found = hal::read_all::<RestUser>(http, &path, "", 1).await?;
        Ok(join(Some(found), None, &mut HashMap::new())
            .into_iter()
            .find(|u| u.email.eq_ignore_ascii_case(email)))
    }
}

impl Talkdesk {
    /// Writes the phone settings and add-on licenses a change carries, if any.
    async fn write_extras(&self, change: &Change, id: &str) -> Result<(), ProviderError> {
        let phone = change.fields.keys().any(|f| f.phone_setting().is_some());
        let addons = change.fields.contains_key(&Field::Addons);
        if !phone && !addons {
            return Ok(());
        }
        let http = self.rest.as_ref().ok_or_else(|| {
            ProviderError::Unsupported(format!(
                "{}: phone settings and add-ons need the OAuth client (TALKDESK_CLIENT_ID)",
                change.key
            ))
        })?;
        phone::write_phone(http, id, change).await?;
        phone::write_addons(http, &self.addon_lock, id, change).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rest(id: &str, email: &str, extension: Option<i64>) -> RestUser {
        RestUser {
            id: id.into(),
            email: email.into(),
            name: Some("From REST".into()),
            active: Some(true),
            status: None,
            extension: extension.map(Into::into),
        }
    }

    fn scim(id: &str, email: &str) -> User {
        let mut u = join(Some(vec![rest(id, email, None)]), None, &mut HashMap::new()).remove(0);
        u.name = "From SCIM".into();
        u.role = Some("Agent".into());
        u
    }

    #[test]
    fn join_matches_emails_whatever_their_case_and_keeps_rest_only_users() {
        // Queue members are REST IDs, whichever surface the user came from.
        let mut members: HashMap<String, Names> = [
            ("r1".to_string(), Names::from(["sales"])),
            ("r2".to_string(), Names::from(["care"])),
            ("s4".to_string(), Names::from(["billing"])),
        ]
        .into_iter()
        .collect();
        let joined = join(
            Some(vec![
                rest("r1", "Ana.Silva@ACME.example", Some(101)),
                rest("r2", "new@acme.example", Some(102)),
                rest("r0", "bo@acme.example", Some(1)),
                rest("r3", "bo@acme.example", Some(103)),
            ]),
            Some(vec![
                scim("s1", "ana.silva@acme.example"),
                scim("s3", "BO@acme.example"),
                scim("s4", "scim.only@acme.example"),
            ]),
            &mut members,
        );
        let seen: Vec<_> = joined
            .iter()
            .map(|u| {
                let queues: Vec<&str> = u.queues.iter().map(String::as_str).collect();
                (
                    u.id.as_str(),
                    u.name.as_str(),
                    u.extension.as_deref(),
                    queues,
                )
            })
            .collect();
        // SCIM users keep their ID and name and gain the extension; the REST-only user
        // follows; of two REST users with one email the last one counts, as before.
        assert_eq!(
            seen,
            [
                ("s1", "From SCIM", Some("101"), vec!["sales"]),
                ("s3", "From SCIM", Some("103"), vec![]),
                ("s4", "From SCIM", None, vec!["billing"]),
                ("r2", "From REST", Some("102"), vec!["care"]),
            ]
        );
        assert!(
            members.is_empty(),
            "every membership was given: {members:?}"
        );
    }
}
