//! Talkdesk REST: users, roles, teams and ring groups (API-FACTS.md, "Talkdesk REST").
//!
//! IDs are account-specific, so the provider keeps a catalog of name ↔ ID from its last
//! read and translates at the edge; plans carry names only.

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;

use futures_util::{StreamExt, TryStreamExt, stream};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::http::{Auth, HttpClient, HttpConfig, Idempotence, Secret};
use super::{ProviderError, ReadScope, Reader, Writer};
use crate::model::{Account, Addon, Named, PhoneSettings, Status, User};
use crate::plan::{Action, Capabilities, Change, Plan};

/// The largest page the API serves.
pub const PAGE_SIZE: usize = 100;

/// The most users an account may report; beyond it the server is not believed.
const MAX_USERS: usize = 1_000_000;

/// How many times a create with an unknown outcome is looked up and sent again.
const CREATE_ATTEMPTS: u64 = 11;

/// Where and how to reach a Talkdesk account.
#[derive(Debug, Clone)]
pub struct Settings {
    /// API base URL.
    pub base_url: String,
    /// OAuth token URL.
    pub token_url: String,
    /// OAuth client ID.
    pub client_id: String,
    /// OAuth client secret.
    pub client_secret: Secret,
    /// Send client credentials as HTTP Basic instead of in the form body.
    pub basic_auth: bool,
    /// Concurrent page reads.
    pub concurrency: usize,
    /// Client-side requests per second, if limited.
    pub max_rps: Option<std::num::NonZeroU32>,
    /// Retries of a transient failure.
    pub retries: usize,
    /// Per-request timeout.
    pub timeout: std::time::Duration,
}

impl Settings {
    /// From `TALKDESK_CLIENT_ID`, `TALKDESK_CLIENT_SECRET`, `TALKDESK_BASE_URL`,
    /// `TALKDESK_TOKEN_URL` and `TALKDESK_TOKEN_AUTH` (`body` or `basic`).
    pub fn from_env() -> Result<Self, ProviderError> {
        let need = |k: &str| {
            std::env::var(k).map_err(|_| {
                ProviderError::Setup(format!(
                    "{k} is not set: export TALKDESK_CLIENT_ID and TALKDESK_CLIENT_SECRET of an OAuth client with the scopes users:read, users:write and roles:read (or use --sandbox)"
                ))
            })
        };
        let base_url = std::env::var("TALKDESK_BASE_URL")
            .unwrap_or_else(|_| "https://api.talkdeskapp.com".into());
        let token_url = std::env::var("TALKDESK_TOKEN_URL")
            .unwrap_or_else(|_| format!("{}/oauth/token", base_url.trim_end_matches('/')));
        Ok(Settings {
            client_id: need("TALKDESK_CLIENT_ID")?,
            client_secret: Secret::new(need("TALKDESK_CLIENT_SECRET")?),
            basic_auth: std::env::var("TALKDESK_TOKEN_AUTH").is_ok_and(|v| v == "basic"),
            base_url,
            token_url,
            concurrency: 4,
            max_rps: None,
            retries: 10,
            timeout: std::time::Duration::from_secs(30),
        })
    }

    /// The sandbox at `url`, with its fixed credentials and the defaults.
    pub fn sandbox(url: &str) -> Self {
        Settings {
            base_url: url.to_string(),
            token_url: format!("{url}/oauth/token"),
            client_id: crate::sandbox::CLIENT_ID.into(),
            client_secret: Secret::new(crate::sandbox::CLIENT_SECRET),
            basic_auth: false,
            concurrency: 4,
            max_rps: None,
            retries: 10,
            timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// Name → ID and ID → name for roles, teams and ring groups.
#[derive(Default)]
struct Catalog {
    roles: HashMap<String, String>,
    teams: HashMap<String, String>,
    ring_groups: HashMap<String, String>,
    names: HashMap<String, String>,
}

impl Catalog {
    fn new(roles: &[Named], teams: &[Named], ring_groups: &[Named]) -> Self {
        let by_name = |v: &[Named]| v.iter().map(|n| (n.name.clone(), n.id.clone())).collect();
        Catalog {
            roles: by_name(roles),
            teams: by_name(teams),
            ring_groups: by_name(ring_groups),
            names: roles
                .iter()
                .chain(teams)
                .chain(ring_groups)
                .map(|n| (n.id.clone(), n.name.clone()))
                .collect(),
        }
    }

    /// The name of an ID, or the ID itself when the account has no such object.
    fn name(&self, id: String) -> String {
        self.names.get(&id).cloned().unwrap_or(id)
    }
}

/// The Talkdesk REST provider.
pub struct Talkdesk {
    http: HttpClient,
    concurrency: usize,
    catalog: RwLock<Catalog>,
    addon_lock: tokio::sync::Mutex<()>,
}

#[derive(Debug, Deserialize)]
struct WireUser {
    id: String,
    #[serde(default)]
    name: Option<String>,
    email: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    extension: Option<String>,
    #[serde(default)]
    ring_groups: Option<Vec<String>>,
    #[serde(default)]
    teams: Option<Vec<String>>,
    #[serde(default)]
    time_zone: Option<String>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    external_id: Option<String>,
}

#[derive(Deserialize)]
struct WireAddon {
    name: String,
    entitlement: u32,
    #[serde(default)]
    assigned: Vec<String>,
}

/// Whether a plan field belongs to the REST user object (not phone or add-ons).
fn is_user_field(field: &str) -> bool {
    !field.starts_with("phone.") && field != "addons"
}

/// Every path of the API in one place. The Phone and add-on paths are modeled (no
/// public contract exists; API-FACTS.md) and the emulator serves the same constants.
pub mod paths {
    /// Users.
    pub const USERS: &str = "/users";
    /// Purchased numbers (DIDs).
    pub const PHONE_NUMBERS: &str = "/phone/numbers";
    /// SIP phones.
    pub const PHONE_DEVICES: &str = "/phone/devices";
    /// Add-on licenses with entitlements and assignees.
    pub const ADDONS: &str = "/subscriptions/addons";

    /// One user's phone settings.
    pub fn phone_settings(user_id: &str) -> String {
        format!("/phone/users/{user_id}/settings")
    }

    /// The assignees of one add-on (PUT replaces the list).
    pub fn addon_users(addon: &str) -> String {
        format!("/subscriptions/addons/{addon}/users")
    }
}

#[derive(Deserialize)]
struct WireNamed {
    id: String,
    name: String,
}

/// Either users envelope, for the one-pass parse.
#[derive(Deserialize)]
struct Envelope {
    users: Option<Vec<WireUser>>,
    meta: Option<Meta>,
    #[serde(rename = "_embedded")]
    embedded: Option<Embedded>,
    total: Option<usize>,
}

#[derive(Deserialize)]
struct Meta {
    total: usize,
}

#[derive(Deserialize)]
struct Embedded {
    users: Vec<WireUser>,
}

/// One page of users, from either envelope.
#[derive(Debug)]
struct Page {
    users: Vec<WireUser>,
    total: usize,
}

impl Talkdesk {
    /// A provider for the account `settings` describe.
    pub fn new(settings: Settings) -> Result<Self, ProviderError> {
        let mut cfg = HttpConfig::new(&settings.base_url);
        cfg.max_rps = settings.max_rps;
        cfg.max_retries = settings.retries;
        cfg.timeout = settings.timeout;
        let auth = Auth::ClientCredentials {
            token_url: settings.token_url,
            client_id: settings.client_id,
            client_secret: settings.client_secret,
            basic: settings.basic_auth,
            names: "TALKDESK_CLIENT_ID and TALKDESK_CLIENT_SECRET",
        };
        Ok(Talkdesk {
            http: HttpClient::new(cfg, auth)?,
            concurrency: settings.concurrency.max(1),
            catalog: RwLock::new(Catalog::default()),
            addon_lock: tokio::sync::Mutex::new(()),
        })
    }

    async fn get(&self, path: &str) -> Result<Value, ProviderError> {
        Ok(self
            .http
            .send(Method::GET, path, None, Idempotence::Safe)
            .await?
            .1)
    }

    async fn named(&self, path: &str, key: &str) -> Result<Vec<Named>, ProviderError> {
        let v = self.get(path).await?;
        let items = v
            .get(key)
            .or_else(|| v.get("_embedded").and_then(|e| e.get(key)))
            .cloned()
            .ok_or_else(|| decode(path, format!("the response has no `{key}` list")))?;
        let list: Vec<WireNamed> = serde_json::from_value(items)
            .map_err(|e| decode(path, format!("unexpected `{key}`: {e}")))?;
        Ok(list
            .into_iter()
            .map(|n| Named {
                id: n.id,
                name: n.name,
            })
            .collect())
    }

    async fn page(&self, number: usize, extra: &str) -> Result<Page, ProviderError> {
        let path = format!("/users?page[number]={number}&page[size]={PAGE_SIZE}{extra}");
        let (_, bytes) = self
            .http
            .send_bytes(Method::GET, &path, None, Idempotence::Safe)
            .await?;
        let request = format!("/users?page[number]={number}");
        // One pass into typed structs; only a page that does not fit is parsed again
        // as a generic value, to say precisely what is wrong with it.
        match serde_json::from_slice::<Envelope>(&bytes) {
            Ok(Envelope {
                users: Some(users),
                meta: Some(Meta { total }),
                ..
            }) => Ok(Page { users, total }),
            Ok(Envelope {
                embedded: Some(Embedded { users }),
                total: Some(total),
                ..
            }) => Ok(Page { users, total }),
            _ => {
                let v = serde_json::from_slice::<Value>(&bytes).map_err(|_| {
                    let start =
                        String::from_utf8_lossy(&bytes[..bytes.len().min(60)]).replace('\n', " ");
                    decode(
                        &request,
                        format!("the response is not JSON; it starts with {start:?}"),
                    )
                })?;
                parse_page(&v).map_err(|m| decode(&request, m))
            }
        }
    }

    /// Every user: `first` is page 1, which says how many pages follow.
    async fn read_users(&self, first: Page) -> Result<Vec<WireUser>, ProviderError> {
        // A server claiming absurd totals would have us fetch for hours.
        if first.total > MAX_USERS {
            return Err(decode(
                "/users",
                format!(
                    "the server reports {} users; roster reads at most {MAX_USERS}",
                    first.total
                ),
            ));
        }
        let pages = first.total.div_ceil(PAGE_SIZE);
        let mut seen = std::collections::HashSet::with_capacity(first.total);
        let mut users = Vec::with_capacity(first.total);
        let mut keep = |page: Page, number: usize| -> Result<(), ProviderError> {
            let before = users.len();
            let size = page.users.len();
            for u in page.users {
                if seen.insert(u.id.clone()) {
                    users.push(u);
                }
            }
            // A page of users already seen is a server going round in circles:
            // stop now rather than read the same page forever.
            if size > 0 && users.len() == before && number > 1 {
                return Err(decode(
                    &format!("/users?page[number]={number}"),
                    "the page repeats users of earlier pages; the server's paging is broken".into(),
                ));
            }
            Ok(())
        };
        keep(first, 1)?;
        let mut rest = stream::iter(2..=pages.max(1))
            .map(|n| async move { self.page(n, "").await.map(|p| (p, n)) })
            .buffered(self.concurrency);
        while let Some(page) = rest.next().await {
            let (page, n) = page?;
            keep(page, n)?;
        }
        Ok(users)
    }

    fn to_user(&self, w: WireUser, cat: &Catalog) -> User {
        let names = |ids: Option<Vec<String>>| -> BTreeSet<String> {
            ids.unwrap_or_default()
                .into_iter()
                .map(|id| cat.name(id))
                .collect()
        };
        let role = w.role.map(|id| cat.name(id));
        User {
            id: w.id,
            name: w.name.unwrap_or_default(),
            email: w.email,
            role,
            status: if w.status.as_deref() == Some("inactive") {
                Status::Inactive
            } else {
                Status::Active
            },
            teams: names(w.teams),
            ring_groups: names(w.ring_groups),
            extension: w.extension,
            time_zone: w.time_zone,
            language: w.language,
            addons: BTreeSet::new(),
            phone: None,
            external_id: w.external_id,
            updated_at: w.updated_at,
        }
    }

    /// Translates roster field values to the API's: names to IDs.
    fn body(&self, change: &Change, plan: &Plan) -> Result<Map<String, Value>, ProviderError> {
        let cat = self
            .catalog
            .read()
            .map_err(|_| ProviderError::Setup("catalog lock poisoned".into()))?;
        let mut body = Map::new();
        for (field, fc) in change.fields.iter().filter(|(f, _)| is_user_field(f)) {
            let to = fc.to.clone();
            let value = match field.as_str() {
                "role" => {
                    let name = to.as_str().unwrap_or_default();
                    let id = cat
                        .roles
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case(name))
                        .map(|(_, id)| id.clone())
                        .ok_or_else(|| {
                            ProviderError::Unsupported(format!(
                                "role {name:?} does not exist in the account"
                            ))
                        })?;
                    json!(id)
                }
                "teams" | "ring_groups" => {
                    let map = if field == "teams" {
                        &cat.teams
                    } else {
                        &cat.ring_groups
                    };
                    let names: Vec<String> = serde_json::from_value(to).unwrap_or_default();
                    let mut ids = Vec::new();
                    for n in names {
                        let live = plan
                            .team_aliases
                            .get(&n)
                            .filter(|_| field == "teams")
                            .unwrap_or(&n);
                        let id = map.get(live).ok_or_else(|| {
                            ProviderError::Unsupported(format!(
                                "{} {n:?} does not exist in the account",
                                if field == "teams" {
                                    "team"
                                } else {
                                    "ring group"
                                }
                            ))
                        })?;
                        ids.push(id.clone());
                    }
                    json!(ids)
                }
                "email" | "name" | "extension" | "time_zone" | "language" | "status" => to,
                other => {
                    return Err(ProviderError::Unsupported(format!(
                        "Talkdesk REST cannot change {other}"
                    )));
                }
            };
            body.insert(field.clone(), value);
        }
        Ok(body)
    }

    async fn patch(&self, id: &str, body: Value) -> Result<(), ProviderError> {
        self.http
            .send(
                Method::PATCH,
                &format!("/users/{id}"),
                Some(&body),
                Idempotence::Safe,
            )
            .await?;
        Ok(())
    }

    /// Creates the user and returns its ID.
    async fn create(&self, change: &Change, plan: &Plan) -> Result<String, ProviderError> {
        let body = Value::Object(self.body(change, plan)?);
        let mut last = None;
        for attempt in 0..CREATE_ATTEMPTS {
            // As gentle as the retries of any other request: a server answering 5xx
            // to a create gets time before the lookup and the next attempt.
            tokio::time::sleep(std::time::Duration::from_millis(100 * attempt)).await;
            match self
                .http
                .send(Method::POST, paths::USERS, Some(&body), Idempotence::Unsafe)
                .await
            {
                Ok((_, created)) => {
                    return created
                        .get("id")
                        .and_then(Value::as_str)
                        .map(String::from)
                        .ok_or_else(|| ProviderError::Decode {
                            request: format!("POST {}", paths::USERS),
                            message: "the created user has no id".into(),
                        });
                }
                // The create may have happened: look before sending it again, so a
                // lost answer never makes a duplicate.
                Err(ProviderError::OutcomeUnknown(e)) => {
                    if let Some(u) = self.find_user(&change.key).await? {
                        return Ok(u.id);
                    }
                    last = Some(*e);
                }
                Err(e @ ProviderError::Api { status: 409, .. }) => {
                    return match self.find_user(&change.key).await? {
                        Some(u) if u.status == Status::Active => Ok(u.id),
                        _ => Err(e),
                    };
                }
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| ProviderError::Setup("create failed".into())))
    }

    /// PATCHes the changed phone settings, if any.
    async fn write_phone(&self, id: &str, change: &Change) -> Result<(), ProviderError> {
        let body: Map<String, Value> = change
            .fields
            .iter()
            .filter_map(|(f, fc)| {
                f.strip_prefix("phone.")
                    .map(|k| (k.to_string(), fc.to.clone()))
            })
            .collect();
        if body.is_empty() {
            return Ok(());
        }
        let path = paths::phone_settings(id);
        self.http
            .send(
                Method::PATCH,
                &path,
                Some(&Value::Object(body)),
                Idempotence::Safe,
            )
            .await?;
        Ok(())
    }

    /// Assigns or releases add-on licenses. The API replaces an add-on's whole user
    /// list, so each change reads it afresh under a lock and writes it back.
    async fn write_addons(&self, id: &str, change: &Change) -> Result<(), ProviderError> {
        let Some(fc) = change.fields.get("addons") else {
            return Ok(());
        };
        let set = |v: &Value| -> BTreeSet<String> {
            serde_json::from_value(v.clone()).unwrap_or_default()
        };
        let (from, to) = (set(&fc.from), set(&fc.to));
        let _guard = self.addon_lock.lock().await;
        let current = self.read_addons().await?;
        for name in from.symmetric_difference(&to) {
            let Some(addon) = current.iter().find(|a| &a.name == name) else {
                return Err(ProviderError::Unsupported(format!(
                    "add-on {name:?} does not exist in the account"
                )));
            };
            let mut users: BTreeSet<String> = addon.assigned.iter().cloned().collect();
            if to.contains(name) {
                users.insert(id.to_string());
            } else {
                users.remove(id);
            }
            let body = json!({ "user_ids": users });
            self.http
                .send(
                    Method::PUT,
                    &paths::addon_users(name),
                    Some(&body),
                    Idempotence::Safe,
                )
                .await?;
        }
        Ok(())
    }

    async fn read_addons(&self) -> Result<Vec<WireAddon>, ProviderError> {
        let v = self.get(paths::ADDONS).await?;
        let list = v
            .get("addons")
            .cloned()
            .ok_or_else(|| decode(paths::ADDONS, "the response has no `addons` list".into()))?;
        serde_json::from_value(list)
            .map_err(|e| decode(paths::ADDONS, format!("unexpected add-on: {e}")))
    }

    /// Purchased numbers and SIP phones, and the settings of the users in `scope`.
    async fn read_phone(
        &self,
        users: &mut [User],
        scope: &ReadScope,
    ) -> Result<(Vec<String>, Vec<String>), ProviderError> {
        if scope.phone_for.is_empty() && !scope.phone_for_all {
            return Ok((Vec::new(), Vec::new()));
        }
        let (numbers, devices) = tokio::try_join!(
            self.get(paths::PHONE_NUMBERS),
            self.get(paths::PHONE_DEVICES)
        )?;
        let list =
            |v: &Value, key: &str, field: &str, path: &str| -> Result<Vec<String>, ProviderError> {
                let items = v
                    .get(key)
                    .and_then(Value::as_array)
                    .ok_or_else(|| decode(path, format!("the response has no `{key}` list")))?;
                Ok(items
                    .iter()
                    .filter_map(|i| i.get(field).and_then(Value::as_str).map(String::from))
                    .collect())
            };
        let numbers = list(&numbers, "numbers", "number", paths::PHONE_NUMBERS)?;
        let devices = list(&devices, "devices", "id", paths::PHONE_DEVICES)?;
        let wanted: Vec<usize> = (0..users.len())
            .filter(|&i| {
                (scope.phone_for_all && users[i].status == Status::Active)
                    || scope.phone_for.contains(&users[i].email.to_lowercase())
            })
            .collect();
        let settings: Vec<(usize, PhoneSettings)> = stream::iter(wanted)
            .map(|i| {
                let path = paths::phone_settings(&users[i].id);
                async move {
                    let v = self.get(&path).await?;
                    let s: PhoneSettings = serde_json::from_value(v)
                        .map_err(|e| decode(&path, format!("unexpected phone settings: {e}")))?;
                    Ok::<_, ProviderError>((i, s))
                }
            })
            .buffer_unordered(self.concurrency)
            .try_collect()
            .await?;
        for (i, s) in settings {
            users[i].phone = Some(s);
        }
        Ok((numbers, devices))
    }
}

fn decode(request: &str, message: String) -> ProviderError {
    ProviderError::Decode {
        request: format!("GET {request}"),
        message,
    }
}

/// Reads the seed's envelope `{users, meta: {total}}` or the HAL one
/// `{total, _embedded: {users}}`.
fn parse_page(v: &Value) -> Result<Page, String> {
    let (items, total) = if let Some(users) = v.get("users") {
        let total = v
            .pointer("/meta/total")
            .and_then(Value::as_u64)
            .ok_or("the response has `users` but no `meta.total`")?;
        (users.clone(), total)
    } else if let Some(users) = v.pointer("/_embedded/users") {
        let total = v
            .get("total")
            .and_then(Value::as_u64)
            .ok_or("the HAL response has no `total`")?;
        (users.clone(), total)
    } else {
        return Err(format!(
            "expected `users` or `_embedded.users`, got {}",
            shape(v)
        ));
    };
    let users: Vec<WireUser> =
        serde_json::from_value(items).map_err(|e| format!("unexpected user object: {e}"))?;
    Ok(Page {
        users,
        total: total as usize,
    })
}

fn shape(v: &Value) -> String {
    match v {
        Value::Object(m) => format!(
            "an object with keys {:?}",
            m.keys().take(5).collect::<Vec<_>>()
        ),
        Value::Array(_) => "a list".into(),
        other => format!("{other}"),
    }
}

impl Reader for Talkdesk {
    fn capabilities(&self) -> Capabilities {
        Capabilities::talkdesk()
    }

    async fn read(&self, scope: &ReadScope) -> Result<Account, ProviderError> {
        // Everything that does not depend on something else goes out at once.
        let (roles, teams, ring_groups, wire_addons, first) = tokio::try_join!(
            self.named("/roles", "roles"),
            self.named("/teams", "teams"),
            self.named("/ring-groups", "ring_groups"),
            self.read_addons(),
            self.page(1, ""),
        )?;
        *self
            .catalog
            .write()
            .map_err(|_| ProviderError::Setup("catalog lock poisoned".into()))? =
            Catalog::new(&roles, &teams, &ring_groups);
        let wire = self.read_users(first).await?;
        let mut users: Vec<User> = {
            let cat = self
                .catalog
                .read()
                .map_err(|_| ProviderError::Setup("catalog lock poisoned".into()))?;
            wire.into_iter().map(|w| self.to_user(w, &cat)).collect()
        };
        let mut held: HashMap<&str, Vec<&str>> = HashMap::new();
        for a in &wire_addons {
            for id in &a.assigned {
                held.entry(id.as_str()).or_default().push(a.name.as_str());
            }
        }
        for u in &mut users {
            if let Some(names) = held.get(u.id.as_str()) {
                u.addons = names.iter().map(|n| n.to_string()).collect();
            }
        }
        let addons = wire_addons
            .iter()
            .map(|a| Addon {
                name: a.name.clone(),
                entitlement: a.entitlement,
            })
            .collect();
        let (phone_numbers, phone_devices) = self.read_phone(&mut users, scope).await?;
        Ok(Account {
            roles,
            teams,
            ring_groups,
            users,
            addons,
            phone_numbers,
            phone_devices,
        })
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
                let id = self.create(change, plan).await?;
                self.write_phone(&id, change).await?;
                self.write_addons(&id, change).await
            }
            Action::Update | Action::Reactivate => {
                let id = id()?;
                let body = self.body(change, plan)?;
                if !body.is_empty() {
                    self.patch(&id, Value::Object(body)).await?;
                }
                self.write_phone(&id, change).await?;
                self.write_addons(&id, change).await
            }
            Action::Deactivate => {
                let id = id()?;
                // Talkdesk leaves a deactivated user in its ring groups (seed 000).
                if change.fields.contains_key("ring_groups") {
                    self.patch(&id, json!({"ring_groups": []})).await?;
                }
                self.patch(&id, json!({"status": "inactive"})).await
            }
            Action::Offboard => Err(ProviderError::Unsupported(
                "Talkdesk REST deactivates; it has no offboard".into(),
            )),
            Action::CreateTeam => Err(ProviderError::Unsupported(format!(
                "Talkdesk REST cannot create teams: create {:?} in the admin console",
                change.key
            ))),
        }
    }

    async fn find_user(&self, email: &str) -> Result<Option<User>, ProviderError> {
        let page = self
            .page(1, &format!("&email={}", super::url_encode(email)))
            .await?;
        let cat = self
            .catalog
            .read()
            .map_err(|_| ProviderError::Setup("catalog lock poisoned".into()))?;
        Ok(page
            .users
            .into_iter()
            .find(|u| u.email.eq_ignore_ascii_case(email))
            .map(|w| self.to_user(w, &cat)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_envelopes() {
        let seed = json!({"users": [{"id": "1", "email": "a@acme.example"}], "meta": {"total": 250, "page": 1}});
        let p = parse_page(&seed).unwrap();
        assert_eq!((p.users.len(), p.total), (1, 250));
        let hal = json!({"count": 1, "total": 3, "page": 1, "per_page": 100, "total_pages": 1,
            "_embedded": {"users": [{"id": "1", "email": "a@acme.example"}]}, "_links": {"next": null}});
        assert_eq!(parse_page(&hal).unwrap().total, 3);
        assert!(
            parse_page(&json!({"data": []}))
                .unwrap_err()
                .contains("expected `users`")
        );
        assert!(
            parse_page(&json!({"users": [{"id": 5}], "meta": {"total": 1}}))
                .unwrap_err()
                .contains("unexpected user object")
        );
    }

    /// Mutated pages of either envelope never panic the parser.
    #[test]
    fn fuzz_users_page_parsing() {
        let corpus = vec![
            br#"{"users": [{"id": "1", "email": "a@acme.example", "name": "A", "role": "r", "status": "active", "teams": ["t"], "ring_groups": [], "extension": "2001", "updated_at": "x"}], "meta": {"total": 250, "page": 1}}"#.to_vec(),
            br#"{"count": 1, "total": 3, "page": 1, "_embedded": {"users": [{"id": "1", "email": "a@acme.example"}]}, "_links": {"next": null}}"#.to_vec(),
        ];
        let tokens: &[&[u8]] = &[
            b"null",
            b"-1",
            b"1e999",
            b"[]",
            b"{}",
            b"\"",
            b"\\u0000",
            b"18446744073709551616",
            b"true",
        ];
        let tried = crate::fuzzing::run(&corpus, tokens, |input| {
            if let Ok(v) = serde_json::from_slice::<Value>(input) {
                let _ = parse_page(&v);
            }
        });
        assert!(tried > 0);
    }

    #[test]
    fn emails_are_encoded() {
        assert_eq!(
            super::super::url_encode("a+b@acme.example"),
            "a%2Bb@acme.example"
        );
    }
}
