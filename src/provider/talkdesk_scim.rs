//! Talkdesk SCIM 2.0 (RFC 7643/7644): users at `/Users`, teams as `/Groups`.
//!
//! Team membership is written through the Talkdesk extension's `teamsString` on the
//! user, not through `Groups` `members`: a user's role, teams and status then change in
//! one PatchOp, a crash can never leave half a membership move behind, and one request
//! serves however many teams change. Groups are used to read and create teams.
//! Attribute names are matched case-insensitively (responses are lowercased before
//! they are read), as RFC 7643 requires.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Map, Value, json};

use super::http::{Auth, HttpClient, HttpConfig, Idempotence, Secret};
use super::{ProviderError, ReadScope, Reader, Writer};
use crate::model::{Account, Named, Status, User};
use crate::plan::{Action, Capabilities, Change, Plan};

/// The Talkdesk user extension.
pub const EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:talkdesk:2.0:User";
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Users asked for per page; servers may answer with fewer.
const COUNT: usize = 100;
/// Talkdesk's documented SCIM limit.
const REQUESTS_PER_SECOND: u32 = 4;

/// Where and how to reach the SCIM API.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `{base}/scim/v2`.
    pub url: String,
    /// The SCIM bearer token.
    pub token: Secret,
    /// Retries of a transient failure.
    pub retries: usize,
    /// Per-request timeout.
    pub timeout: std::time::Duration,
    /// Client-side limit: Talkdesk allows 4 requests per second.
    pub max_rps: Option<std::num::NonZeroU32>,
}

impl Settings {
    /// From `TALKDESK_SCIM_TOKEN` and `TALKDESK_SCIM_URL` (default
    /// `$TALKDESK_BASE_URL/scim/v2`).
    pub fn from_env() -> Result<Self, ProviderError> {
        let token = std::env::var("TALKDESK_SCIM_TOKEN").map_err(|_| {
            ProviderError::Setup(
                "TALKDESK_SCIM_TOKEN is not set: generate one in Admin > Settings > Security > SCIM (the OAuth client credentials do not authorize SCIM), or use --sandbox".into(),
            )
        })?;
        let base = std::env::var("TALKDESK_BASE_URL")
            .unwrap_or_else(|_| "https://api.talkdeskapp.com".into());
        let url = std::env::var("TALKDESK_SCIM_URL")
            .unwrap_or_else(|_| format!("{}/scim/v2", base.trim_end_matches('/')));
        Ok(Settings {
            url,
            token: Secret::new(token),
            retries: 10,
            timeout: std::time::Duration::from_secs(30),
            max_rps: std::num::NonZeroU32::new(REQUESTS_PER_SECOND),
        })
    }
}

/// The Talkdesk SCIM provider.
pub struct TalkdeskScim {
    http: HttpClient,
    /// Team name → group ID, from the last read (and teams created since).
    groups: std::sync::RwLock<std::collections::HashMap<String, String>>,
}

/// Lowercases every object key, recursively: SCIM attribute names are
/// case-insensitive.
fn lower_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k.to_lowercase(), lower_keys(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(lower_keys).collect()),
        other => other,
    }
}

fn text<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn names(s: Option<&str>) -> BTreeSet<String> {
    s.unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

/// A SCIM user (keys lowercased) as the planner sees it.
pub fn to_user(v: &Value) -> Option<User> {
    let ext = v
        .get(EXTENSION.to_lowercase())
        .cloned()
        .unwrap_or(Value::Null);
    let given = text(v, "/name/givenname").unwrap_or_default();
    let family = text(v, "/name/familyname").unwrap_or_default();
    let name = match (given, family, text(v, "/name/formatted")) {
        ("", "", Some(f)) => f.to_string(),
        _ => format!("{given} {family}").trim().to_string(),
    };
    Some(User {
        id: v
            .get("id")?
            .as_str()
            .map(String::from)
            .or_else(|| v.get("id").map(|i| i.to_string()))?,
        email: text(v, "/username")?.to_string(),
        name,
        role: names(text(&ext, "/rolesstring")).into_iter().next(),
        status: if v.get("active").and_then(Value::as_bool).unwrap_or(true) {
            Status::Active
        } else {
            Status::Inactive
        },
        teams: names(text(&ext, "/teamsstring")),
        ring_groups: BTreeSet::new(),
        extension: None,
        time_zone: None,
        language: None,
        addons: BTreeSet::new(),
        phone: None,
        external_id: text(v, "/externalid").map(String::from),
        updated_at: text(v, "/meta/version").map(String::from),
    })
}

/// One list page (keys lowercased): its resources and the total. `Resources` may be
/// absent when there are none.
pub fn list_page(v: &Value) -> Result<(Vec<Value>, usize), String> {
    let total = v
        .get("totalresults")
        .and_then(Value::as_u64)
        .ok_or("the ListResponse has no totalResults")? as usize;
    let resources = match v.get("resources") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(other) => return Err(format!("Resources is not a list: {other}")),
    };
    Ok((resources, total))
}

fn split_name(name: &str) -> (String, String) {
    match name.trim().split_once(' ') {
        Some((g, f)) => (g.to_string(), f.trim().to_string()),
        None => (name.trim().to_string(), String::new()),
    }
}

impl TalkdeskScim {
    /// A provider for `settings`.
    pub fn new(settings: Settings) -> Result<Self, ProviderError> {
        let mut cfg = HttpConfig::new(&settings.url);
        cfg.max_rps = settings.max_rps;
        cfg.max_retries = settings.retries;
        cfg.timeout = settings.timeout;
        let auth = Auth::Bearer {
            token: settings.token,
            hint: "the SCIM API refused the token: needs TALKDESK_SCIM_TOKEN, not the OAuth client credentials",
        };
        Ok(TalkdeskScim {
            http: HttpClient::new(cfg, auth)?,
            groups: Default::default(),
        })
    }

    /// Every resource of a list endpoint, honouring `itemsPerPage` smaller than asked.
    async fn list(&self, path: &str, filter: Option<&str>) -> Result<Vec<Value>, ProviderError> {
        let mut out = Vec::new();
        let mut start = 1;
        loop {
            let mut url = format!("{path}?startIndex={start}&count={COUNT}");
            if let Some(f) = filter {
                url.push_str(&format!("&filter={}", super::url_encode(f)));
            }
            let (_, v) = self
                .http
                .send(Method::GET, &url, None, Idempotence::Safe)
                .await?;
            let (items, total) = list_page(&lower_keys(v)).map_err(|m| ProviderError::Decode {
                request: format!("GET {path}"),
                message: m,
            })?;
            let got = items.len();
            out.extend(items);
            start += got;
            if got == 0 || start > total || out.len() > 1_000_000 {
                return Ok(out);
            }
        }
    }

    fn group_id(&self, team: &str, plan: &Plan) -> Option<String> {
        let live = plan.team_aliases.get(team).map_or(team, String::as_str);
        self.groups.read().ok()?.get(live).cloned()
    }

    /// The PatchOp operations for a change's fields.
    fn operations(&self, change: &Change, plan: &Plan) -> Vec<Value> {
        let mut ops = Vec::new();
        let replace =
            |path: &str, value: Value| json!({"op": "replace", "path": path, "value": value});
        for (field, fc) in &change.fields {
            match field.as_str() {
                "name" => {
                    let (g, f) = split_name(fc.to.as_str().unwrap_or_default());
                    ops.push(replace("name.givenName", json!(g)));
                    ops.push(replace("name.familyName", json!(f)));
                }
                "email" => ops.push(replace("userName", fc.to.clone())),
                "role" => ops.push(replace(&format!("{EXTENSION}:rolesString"), fc.to.clone())),
                "teams" => {
                    let teams: Vec<String> =
                        serde_json::from_value(fc.to.clone()).unwrap_or_default();
                    let live: Vec<&str> = teams
                        .iter()
                        .map(|t| plan.team_aliases.get(t).map_or(t.as_str(), String::as_str))
                        .collect();
                    ops.push(replace(
                        &format!("{EXTENSION}:teamsString"),
                        json!(live.join(";")),
                    ));
                }
                "status" => ops.push(replace("active", json!(fc.to == json!("active")))),
                _ => {}
            }
        }
        ops
    }
}

impl Reader for TalkdeskScim {
    fn capabilities(&self) -> Capabilities {
        Capabilities::talkdesk_scim()
    }

    async fn read(&self, _scope: &ReadScope) -> Result<Account, ProviderError> {
        let (groups, users) =
            tokio::try_join!(self.list("/Groups", None), self.list("/Users", None))?;
        let teams: Vec<Named> = groups
            .iter()
            .filter_map(|g| {
                Some(Named {
                    id: text(g, "/id")?.to_string(),
                    name: text(g, "/displayname")?.to_string(),
                })
            })
            .collect();
        if let Ok(mut map) = self.groups.write() {
            *map = teams
                .iter()
                .map(|t| (t.name.clone(), t.id.clone()))
                .collect();
        }
        let users: Vec<User> = users
            .iter()
            .map(|u| {
                to_user(u).ok_or_else(|| ProviderError::Decode {
                    request: "GET /Users".into(),
                    message: format!("a user without id or userName: {u}"),
                })
            })
            .collect::<Result<_, _>>()?;
        let roles: BTreeSet<&String> = users.iter().filter_map(|u| u.role.as_ref()).collect();
        let roles = roles
            .into_iter()
            .map(|r| Named {
                id: r.clone(),
                name: r.clone(),
            })
            .collect();
        Ok(Account {
            roles,
            teams,
            users,
            ..Account::default()
        })
    }
}

impl Writer for TalkdeskScim {
    async fn perform(&self, change: &Change, plan: &Plan) -> Result<(), ProviderError> {
        match change.action {
            Action::CreateTeam => {
                let body = json!({"schemas": [GROUP_SCHEMA], "displayName": change.key});
                let (_, v) = self
                    .http
                    .send(Method::POST, "/Groups", Some(&body), Idempotence::Unsafe)
                    .await
                    .or_else(|e| match e {
                        // A group that may exist already is looked up rather than created twice.
                        ProviderError::OutcomeUnknown(_)
                        | ProviderError::Api { status: 409, .. } => {
                            Ok((reqwest::StatusCode::OK, Value::Null))
                        }
                        e => Err(e),
                    })?;
                let id = match text(&lower_keys(v), "/id") {
                    Some(id) => id.to_string(),
                    None => {
                        let found = self
                            .list(
                                "/Groups",
                                Some(&format!("displayName eq \"{}\"", change.key)),
                            )
                            .await?;
                        found
                            .first()
                            .and_then(|g| text(g, "/id"))
                            .map(String::from)
                            .ok_or_else(|| {
                                ProviderError::Unsupported(format!(
                                    "team {:?} could not be created",
                                    change.key
                                ))
                            })?
                    }
                };
                if let Ok(mut map) = self.groups.write() {
                    map.insert(change.key.clone(), id);
                }
                Ok(())
            }
            Action::Create => {
                let to = |k: &str| {
                    change
                        .fields
                        .get(k)
                        .map(|f| f.to.clone())
                        .unwrap_or(Value::Null)
                };
                let (given, family) = split_name(to("name").as_str().unwrap_or_default());
                let teams: Vec<String> = serde_json::from_value(to("teams")).unwrap_or_default();
                for t in &teams {
                    if self.group_id(t, plan).is_none() {
                        return Err(ProviderError::Unsupported(format!(
                            "team {t:?} does not exist"
                        )));
                    }
                }
                let mut ext = Map::new();
                ext.insert("rolesString".into(), to("role"));
                ext.insert("teamsString".into(), json!(teams.join(";")));
                let body = json!({
                    "schemas": [USER_SCHEMA, EXTENSION],
                    "userName": change.key,
                    "name": {"givenName": given, "familyName": family},
                    "emails": [{"value": change.key, "primary": true}],
                    "active": true,
                    EXTENSION: ext,
                });
                match self
                    .http
                    .send(Method::POST, "/Users", Some(&body), Idempotence::Unsafe)
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(
                        e @ (ProviderError::OutcomeUnknown(_)
                        | ProviderError::Api { status: 409, .. }),
                    ) => match self.find_user(&change.key).await? {
                        Some(_) => Ok(()),
                        None => Err(e),
                    },
                    Err(e) => Err(e),
                }
            }
            Action::Update | Action::Reactivate | Action::Deactivate => {
                let id = change.id.as_ref().ok_or_else(|| {
                    ProviderError::Setup(format!("{}: the plan has no user ID", change.key))
                })?;
                let ops = self.operations(change, plan);
                if ops.is_empty() {
                    return Ok(());
                }
                let body = json!({"schemas": [PATCH_SCHEMA], "Operations": ops});
                self.http
                    .send(
                        Method::PATCH,
                        &format!("/Users/{id}"),
                        Some(&body),
                        Idempotence::Safe,
                    )
                    .await?;
                Ok(())
            }
            Action::Offboard => Err(ProviderError::Unsupported(
                "SCIM deactivates; it has no offboard".into(),
            )),
        }
    }

    async fn find_user(&self, email: &str) -> Result<Option<User>, ProviderError> {
        let found = self
            .list("/Users", Some(&format!("userName eq \"{email}\"")))
            .await?;
        Ok(found
            .iter()
            .filter_map(to_user)
            .find(|u| u.email.eq_ignore_ascii_case(email)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_names_are_case_insensitive() {
        let v = lower_keys(json!({
            "ID": "7", "USERNAME": "Jane@acme.example", "Name": {"GivenName": "Jane", "FAMILYNAME": "Doe"},
            "Active": false, "ExternalId": "okta-1", "Meta": {"Version": "W/\"3\""},
            "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:TALKDESK:2.0:USER": {"ROLESSTRING": "Agent", "TeamsString": "Billing; Sales"}
        }));
        let u = to_user(&v).unwrap();
        assert_eq!(
            (u.id.as_str(), u.email.as_str(), u.name.as_str()),
            ("7", "Jane@acme.example", "Jane Doe")
        );
        assert_eq!(
            (u.status, u.role.as_deref(), u.external_id.as_deref()),
            (Status::Inactive, Some("Agent"), Some("okta-1"))
        );
        assert_eq!(u.teams, ["Billing".to_string(), "Sales".to_string()].into());
        assert_eq!(u.updated_at.as_deref(), Some("W/\"3\""));
    }

    #[test]
    fn resources_may_be_absent() {
        assert_eq!(list_page(&json!({"totalresults": 0})).unwrap().1, 0);
        assert!(list_page(&json!({"resources": []})).is_err());
    }
}
