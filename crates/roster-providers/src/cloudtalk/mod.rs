//! CloudTalk (its OpenAPI document, copied as tests/fixtures/cloudtalk-openapi.json): agents and
//! groups over HTTP Basic, 60 operations a minute.
//!
//! The API has no deactivation and its only removal is a hard delete, which roster never
//! sends: removing an agent is an *offboard* (out of every group, outbound calls off,
//! and a manual step to set it Inactive in the dashboard). The account keeps no marker
//! of an offboarded agent: the agent schema's only switch, `status_outbound`, documents
//! outbound calls, and inbound-only agents are real. So an agent with outbound calls off
//! reads as *possibly offboarded*: the planner takes it as active when the roster
//! declares it active (its outbound setting is never touched), and as offboarded when
//! the roster declares it `status: inactive` or does not declare it. Roles and group
//! membership cannot be read, so roles come from the roster and teams are set when an
//! agent is created.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use super::bound::Bound;
use super::http::{Auth, Budget, HttpClient, HttpConfig, Idempotence, Secret};
use super::{ProviderError, ReadScope, Reader, Writer};
use roster_core::model::{Account, Named, Names, Status, User};
use roster_core::plan::{Action, Capabilities, Change, Field, Plan};

pub mod contract;
mod doctor;

pub use contract::LIMIT;
use contract::{ENVELOPE, PER_MINUTE, paths};

/// A paged index: where it is, the keys its items come under, and what it holds.
struct Index {
    path: &'static str,
    keys: &'static [&'static str],
    noun: &'static str,
}

/// The agents: each item under `Agent`.
const AGENTS: Index = Index {
    path: paths::AGENTS,
    keys: &["Agent"],
    noun: "agents",
};
/// The groups: the example puts each item under `Group`, the schema under `Groups`.
const GROUPS: Index = Index {
    path: paths::GROUPS,
    keys: &["Group", "Groups"],
    noun: "groups",
};

/// CloudTalk removes a *group membership* with DELETE `/groups/delete/{agent_id}.json`.
/// It is the only DELETE roster sends anywhere; agents are never deleted.
const LEAVE_GROUP: Method = Method::DELETE; // membership only: see above

/// Where and how to reach a CloudTalk company.
#[derive(Debug, Clone)]
pub struct Settings {
    /// API base, `https://my.cloudtalk.io/api`.
    pub base_url: String,
    /// Access key ID.
    pub key_id: String,
    /// Access key secret.
    pub key_secret: Secret,
    /// Retries of a transient failure.
    pub retries: usize,
    /// Per-request timeout.
    pub timeout: std::time::Duration,
    /// How long requests may go without one completing before the command stops.
    pub stall_limit: std::time::Duration,
    /// Client-side limit per minute (CloudTalk allows 60 per company), as an even pace.
    pub per_minute: Option<std::num::NonZeroU32>,
    /// `policy.api_budget`.
    pub budget: Option<Budget>,
}

impl Settings {
    /// CloudTalk's API base (tests/fixtures/cloudtalk-openapi.json, `servers`).
    pub const DEFAULT_BASE_URL: &str = contract::DEFAULT_BASE_URL;

    /// For the access key `key_id`/`key_secret`, with the defaults: the vendor's API base
    /// and its documented pace of 60 requests a minute.
    pub fn new(key_id: String, key_secret: Secret) -> Self {
        Settings {
            base_url: Settings::DEFAULT_BASE_URL.into(),
            key_id,
            key_secret,
            retries: 10,
            timeout: std::time::Duration::from_secs(30),
            stall_limit: super::stall::DEFAULT_STALL_LIMIT,
            per_minute: std::num::NonZeroU32::new(PER_MINUTE),
            budget: None,
        }
    }
}

/// The CloudTalk provider.
pub struct CloudTalk {
    http: HttpClient,
    /// Group name → ID, from the last read.
    groups: std::sync::RwLock<std::collections::HashMap<String, String>>,
    /// Whether a membership DELETE was seen to leave its agent in place; held while the
    /// first one is checked, so no other is sent before the answer.
    leave_checked: tokio::sync::Mutex<bool>,
    /// Set when a membership DELETE deleted its agent: nothing more is sent.
    agent_deleted: std::sync::atomic::AtomicBool,
}

/// An ID the vendor sends as a number or as a string (its schema and its examples
/// disagree).
fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A count of a collection's answer (`itemsCount`, `pageCount`), a number or a string.
fn count(v: &Value, key: &str) -> Option<usize> {
    id_of(data(v).get(key))?.parse().ok()
}

/// The `responseData` of an answer.
fn data(v: &Value) -> &Value {
    v.get(ENVELOPE).unwrap_or(v)
}

/// [`data`], to take items out of.
fn data_mut(v: &mut Value) -> &mut Value {
    if v.get(ENVELOPE).is_some() {
        &mut v[ENVELOPE]
    } else {
        v
    }
}

/// A string field of an agent, empty when absent.
fn text(agent: &Value, key: &str) -> String {
    agent
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// An agent as the planner sees it; an agent with outbound calls off is inactive (see the
/// module comment for how the planner reads that).
pub fn to_user(agent: &Value) -> Option<User> {
    let s = |k: &str| text(agent, k);
    let outbound = match agent.get("status_outbound") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s != "0" && s != "false",
        Some(Value::Number(n)) => n.as_u64() != Some(0),
        _ => true,
    };
    Some(User {
        pending: false,
        id: id_of(agent.get("id"))?,
        email: agent.get("email")?.as_str()?.to_string(),
        name: format!("{} {}", s("firstname"), s("lastname"))
            .trim()
            .to_string(),
        role: None,
        status: if outbound {
            Status::Active
        } else {
            Status::Inactive
        },
        teams: Names::new(),
        queues: Names::new(),
        extension: id_of(agent.get("extension")),
        time_zone: None,
        language: None,
        addons: Names::new(),
        phone: None,
        external_id: None,
        updated_at: None,
    })
}

/// The value a change sets `key` to, if it sets it.
fn to(change: &Change, field: Field) -> Option<Value> {
    change.fields.get(&field).map(|f| f.to.clone())
}

fn split_name(name: &str) -> (String, String) {
    match name.trim().split_once(' ') {
        Some((g, f)) => (g.to_string(), f.trim().to_string()),
        None => (name.trim().to_string(), "-".to_string()),
    }
}

/// A password for a new agent: 24 characters from letters, digits and symbols, drawn
/// from the OS's random source. It is sent once and never printed or stored; the agent
/// sets their own through the invitation.
fn password() -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!#%+-=?@_";
    let mut bytes = [0u8; 24];
    // uuid's v4 draws from getrandom; two of them give 32 random bytes.
    let random: Vec<u8> = uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .chain(uuid::Uuid::new_v4().as_bytes())
        .copied()
        .collect();
    for (b, r) in bytes.iter_mut().zip(random) {
        *b = CHARS[r as usize % CHARS.len()];
    }
    // Make sure every class is present whatever the draw.
    bytes[0] = b'A' + (bytes[0] % 26);
    bytes[1] = b'a' + (bytes[1] % 26);
    bytes[2] = b'2' + (bytes[2] % 8);
    bytes[3] = b'#';
    String::from_utf8_lossy(&bytes).into_owned()
}

impl CloudTalk {
    /// A provider for `settings`.
    pub fn new(settings: Settings) -> Result<Self, ProviderError> {
        let mut cfg = HttpConfig::new(&settings.base_url);
        cfg.per_minute = settings.per_minute;
        cfg.budget = settings.budget;
        cfg.max_retries = settings.retries;
        cfg.timeout = settings.timeout;
        cfg.stall = super::stall::Stall::new(settings.stall_limit);
        let auth = Auth::Basic {
            user: settings.key_id,
            secret: settings.key_secret,
            hint: "CloudTalk refused the access key: check CLOUDTALK_ACCESS_KEY_ID and CLOUDTALK_ACCESS_KEY_SECRET",
        };
        Ok(CloudTalk {
            http: HttpClient::new(cfg, auth)?,
            groups: Default::default(),
            leave_checked: tokio::sync::Mutex::new(false),
            agent_deleted: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// One page of a paged index.
    async fn index_page(
        &self,
        path: &str,
        extra: &str,
        page: usize,
    ) -> Result<Value, ProviderError> {
        let url = format!("{path}?limit={LIMIT}&page={page}{extra}");
        let (_, v) = self
            .http
            .send(Method::GET, &url, None, Idempotence::Safe)
            .await?;
        Ok(v)
    }

    /// Every item of a paged index, unwrapped from the first of its keys it has:
    /// `{"Agent": {...}}`, and `{"Group": ...}` (the documented example) or
    /// `{"Groups": ...}` (the documented schema). Each item is handed to `each` as its
    /// page arrives, so a 100,000-agent read holds one page of JSON at a time. The first
    /// page's `itemsCount` bounds the list; later pages' `pageCount` say when it ends.
    async fn index<T>(
        &self,
        index: &Index,
        extra: &str,
        mut each: impl FnMut(Value) -> T,
    ) -> Result<Vec<T>, ProviderError> {
        let path = index.path;
        let mut v = self.index_page(path, extra, 1).await?;
        let list = format!("GET {path}");
        let bound = Bound::new(list, index.noun, count(&v, "itemsCount"), LIMIT)?;
        let mut out = Vec::new();
        for page in 1.. {
            if page > 1 {
                v = self.index_page(path, extra, page).await?;
            }
            let pages = count(&v, "pageCount").unwrap_or(1);
            let items = data_mut(&mut v)
                .get_mut("data")
                .and_then(Value::as_array_mut)
                .ok_or_else(|| ProviderError::Decode {
                    request: format!("GET {path}"),
                    message: "the answer has no responseData.data list".into(),
                })?;
            let empty = items.is_empty();
            for item in items.iter_mut() {
                if let Some(k) = index.keys.iter().find(|k| item.get(**k).is_some()) {
                    out.push(each(item[*k].take()));
                }
            }
            bound.items(out.len())?;
            bound.pages(page)?;
            if page >= pages || empty {
                break;
            }
        }
        Ok(out)
    }

    async fn agent(&self, id: &str) -> Result<Value, ProviderError> {
        let found = self.index(&AGENTS, &format!("&id={id}"), |a| a).await?;
        found
            .into_iter()
            .find(|a| id_of(a.get("id")).as_deref() == Some(id))
            .ok_or_else(|| ProviderError::Api {
                request: format!("GET /agents/index.json?id={id}"),
                status: 404,
                message: "no such agent".into(),
            })
    }

    async fn edit(&self, id: &str, body: Value) -> Result<(), ProviderError> {
        self.http
            .send(
                Method::POST,
                &paths::agent_edit(id),
                Some(&body),
                Idempotence::Safe,
            )
            .await?;
        Ok(())
    }

    fn group_id(&self, team: &str) -> Result<i64, ProviderError> {
        self.groups
            .read()
            .ok()
            .and_then(|g| g.get(team).and_then(|id| id.parse().ok()))
            .ok_or_else(|| {
                ProviderError::Unsupported(format!("group `{team}` does not exist in CloudTalk"))
            })
    }

    /// Creates the agent, then adds it to each of the change's teams.
    async fn create(&self, change: &Change) -> Result<(), ProviderError> {
        let id = self.add_agent(change).await?;
        let teams: Vec<String> = to(change, Field::Teams)
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default();
        let agent_id: i64 = id.parse().unwrap_or_default();
        for t in teams {
            let body = json!({"group_id": self.group_id(&t)?, "agent_id": agent_id});
            self.http
                .send(
                    Method::PUT,
                    paths::GROUP_ADD,
                    Some(&body),
                    Idempotence::Safe,
                )
                .await?;
        }
        Ok(())
    }

    /// The ID of the agent a create adds; when the answer is lost, the agent found by
    /// email, so an add that did happen is not sent twice.
    async fn add_agent(&self, change: &Change) -> Result<String, ProviderError> {
        let (first, last) = split_name(
            to(change, Field::Name)
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default()
                .as_str(),
        );
        let mut body =
            json!({"firstname": first, "lastname": last, "email": change.key, "pass": password()});
        if let Some(ext) = to(change, Field::Extension)
            .and_then(|v| v.as_str().and_then(|s| s.parse::<i64>().ok()))
        {
            body["extension"] = json!(ext);
        }
        let add = || async {
            let (_, v) = self
                .http
                .send(
                    Method::PUT,
                    paths::AGENT_ADD,
                    Some(&body),
                    Idempotence::Unsafe,
                )
                .await?;
            Ok(id_of(data(&v).pointer("/data/id")))
        };
        let find = || async { Ok(self.find_user(&change.key).await?.map(|u| Some(u.id))) };
        let id = super::create_once(add, find).await?;
        id.ok_or_else(|| ProviderError::Decode {
            request: "PUT /agents/add.json".into(),
            message: "the answer has no agent id".into(),
        })
    }

    /// Writes an agent's name and email, the current ones where the change sets none.
    /// Outbound calls are left as they are.
    async fn update(&self, change: &Change) -> Result<(), ProviderError> {
        let id = change.id.as_deref().unwrap_or_default();
        let current = self.agent(id).await?;
        let s = |k: &str| text(&current, k);
        let (first, last) = match to(change, Field::Name).and_then(|v| v.as_str().map(String::from))
        {
            Some(n) => split_name(&n),
            None => (s("firstname"), s("lastname")),
        };
        let email = to(change, Field::Email)
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_else(|| s("email"));
        self.edit(
            id,
            json!({"firstname": first, "lastname": last, "email": email}),
        )
        .await
    }

    /// Takes the agent out of every group, then turns its outbound calls off.
    async fn offboard(&self, change: &Change) -> Result<(), ProviderError> {
        let id = change.id.as_deref().unwrap_or_default();
        // Read first: the agent exists, so a 404 below cannot mean "no such agent".
        let current = self.agent(id).await?;
        let groups: Vec<i64> = self
            .groups
            .read()
            .map(|g| g.values().filter_map(|v| v.parse().ok()).collect())
            .unwrap_or_default();
        let mut still_there: Option<BTreeSet<i64>> = None;
        for group_id in groups {
            // Membership cannot be read, so the agent leaves every group.
            match self.leave_group(id, group_id).await {
                Ok(()) => {}
                // "Not in the group", which is what we wanted, but only if the group
                // still exists: the group list is read again once to be sure.
                Err(e @ ProviderError::Api { status: 404, .. }) => {
                    if still_there.is_none() {
                        still_there = Some(self.group_ids().await?);
                    }
                    if !still_there.as_ref().is_some_and(|g| g.contains(&group_id)) {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let s = |k: &str| text(&current, k);
        self.edit(id, json!({"firstname": s("firstname"), "lastname": s("lastname"), "email": s("email"), "status_outbound": false})).await
    }

    /// Removes one group membership (the only DELETE roster sends). CloudTalk's
    /// reference summarises this call as "Delete an agent" while its body, tag and
    /// errors describe a group: after the first one of a run the agent is read back,
    /// and if it is gone roster halts before sending anything more.
    async fn leave_group(&self, agent: &str, group_id: i64) -> Result<(), ProviderError> {
        use std::sync::atomic::Ordering;
        let agent_id: i64 = agent.parse().unwrap_or_default();
        let path = paths::group_leave(&agent_id.to_string());
        let body = json!({"group_id": group_id});
        let mut checked = self.leave_checked.lock().await;
        if self.agent_deleted.load(Ordering::SeqCst) {
            return Err(ProviderError::Halt(
                "not sent: an earlier membership DELETE deleted its agent".into(),
            ));
        }
        if *checked {
            drop(checked);
            return self
                .http
                .send(LEAVE_GROUP, &path, Some(&body), Idempotence::Safe)
                .await
                .map(drop);
        }
        // The first of the run: every other waits on the lock until it is read back.
        self.http
            .send(LEAVE_GROUP, &path, Some(&body), Idempotence::Safe)
            .await?;
        match self.agent(agent).await {
            Ok(_) => {
                *checked = true;
                Ok(())
            }
            Err(ProviderError::Api { status: 404, .. }) => {
                self.agent_deleted.store(true, Ordering::SeqCst);
                Err(ProviderError::Halt(format!(
                    "CloudTalk deleted agent {agent_id} when asked to remove it from group {group_id} (DELETE {path}, which CloudTalk's reference also summarises as \"Delete an agent\"). roster stopped and sent nothing more. Restore the agent in CloudTalk's dashboard, and manage CloudTalk group membership there until this is resolved"
                )))
            }
            Err(e) => Err(e),
        }
    }

    /// The IDs of the groups the account has now.
    async fn group_ids(&self) -> Result<BTreeSet<i64>, ProviderError> {
        let groups = self.index(&GROUPS, "", |g| g).await?;
        Ok(groups
            .iter()
            .filter_map(|g| id_of(g.get("id"))?.parse().ok())
            .collect())
    }
}

impl Reader for CloudTalk {
    fn capabilities(&self) -> Capabilities {
        crate::capabilities::cloudtalk()
    }

    async fn read_when(
        &self,
        scope: impl Future<Output = Option<ReadScope>> + Send,
    ) -> Result<Account, ProviderError> {
        // Nothing CloudTalk reads depends on the scope: only whether the roster loaded.
        let (agents, groups, _) = tokio::try_join!(
            self.index(&AGENTS, "", |a| to_user(&a).ok_or(a)),
            self.index(&GROUPS, "", |g| g),
            async { scope.await.ok_or_else(super::not_loaded) },
        )?;
        let teams: Vec<Named> = groups
            .iter()
            .filter_map(|g| {
                Some(Named {
                    id: id_of(g.get("id"))?,
                    name: g.get("internal_name")?.as_str()?.to_string(),
                })
            })
            .collect();
        if let Ok(mut map) = self.groups.write() {
            *map = teams
                .iter()
                .map(|t| (t.name.clone(), t.id.clone()))
                .collect();
        }
        let users = agents
            .into_iter()
            .map(|a| {
                a.map_err(|a| ProviderError::Decode {
                    request: "GET /agents/index.json".into(),
                    message: format!("an agent without id or email: {a}"),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Account {
            teams,
            users,
            ..Account::default()
        })
    }
}

impl Writer for CloudTalk {
    async fn perform(&self, change: &Change, _plan: &Plan) -> Result<(), ProviderError> {
        match change.action {
            Action::Create => self.create(change).await,
            Action::Update => self.update(change).await,
            Action::Offboard => self.offboard(change).await,
            Action::Deactivate | Action::Reactivate | Action::CreateTeam => {
                Err(ProviderError::Unsupported(format!(
                    "CloudTalk cannot {} through its API",
                    change.action.as_str().replace('_', " ")
                )))
            }
        }
    }

    async fn find_user(&self, email: &str) -> Result<Option<User>, ProviderError> {
        let agents = self.index(&AGENTS, "", |a| to_user(&a)).await?;
        Ok(agents
            .into_iter()
            .flatten()
            .find(|u| u.email.eq_ignore_ascii_case(email)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_as_numbers_or_strings() {
        let a = to_user(&json!({"id": "99", "email": "a@acme.example", "firstname": "A", "lastname": "B", "status_outbound": false, "extension": 2001})).unwrap();
        assert_eq!(
            (a.id.as_str(), a.status, a.extension.as_deref()),
            ("99", Status::Inactive, Some("2001"))
        );
        assert_eq!(
            to_user(&json!({"id": 7, "email": "b@acme.example"}))
                .unwrap()
                .id,
            "7"
        );
    }

    #[test]
    fn passwords_are_strong_and_differ() {
        let (a, b) = (password(), password());
        assert_ne!(a, b);
        assert_eq!(a.len(), 24);
        assert!(
            a.chars().any(|c| c.is_ascii_uppercase()) && a.chars().any(|c| c.is_ascii_lowercase())
        );
        assert!(
            a.chars().any(|c| c.is_ascii_digit()) && a.chars().any(|c| !c.is_ascii_alphanumeric())
        );
    }
}
