//! Talkdesk SCIM 2.0 (RFC 7643/7644), Users only: role, teams, name parts, `externalId`
//! and activation are read here, and every user write goes here (doc:
//! https://docs.talkdesk.com/docs/scim-api).
//!
//! A PUT replaces the user, so writes start from the resource as it was read and
//! change only the planned fields: what the roster does not manage (an identity
//! provider's `externalId`, say) survives. PATCH is used only when the server's
//! `/ServiceProviderConfig` says it is supported (Talkdesk publishes no PATCH page).
//! Attribute names are matched case-insensitively, as RFC 7643 requires.

use std::collections::HashMap;
use std::sync::RwLock;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::contract::{
    SCIM_COUNT, SCIM_EXTENSION, SCIM_PATCH_SCHEMA, SCIM_USER_SCHEMA, lower_keys, paths,
};
use super::scim_resource::{ListResponse, Resource, Scalar};
use crate::ProviderError;
use crate::bound::Bound;
use crate::http::{HttpClient, Idempotence};
use crate::pages::fetch_and_decode;
use roster_core::model::{Names, Status, User};
use roster_core::plan::{Change, Field};

/// The SCIM surface of one account.
pub struct Scim {
    pub(super) http: HttpClient,
    concurrency: usize,
    /// Whether the server accepts PATCH (from `/ServiceProviderConfig`).
    patch: RwLock<bool>,
    /// Whether reads keep each resource for a later PUT (a provider that writes).
    keep: bool,
    /// Each user as read, as compact JSON text (a tenth of a parsed value's memory), so
    /// a PUT sends the user back whole with only the planned attributes changed; a
    /// user missing here is read again before its PUT.
    resources: RwLock<HashMap<String, Box<str>>>,
}

/// Semicolon-separated names (doc: `rolesString`, `teamsString` on
/// https://docs.talkdesk.com/reference/create-user).
fn names(s: Option<&str>) -> Names {
    s.unwrap_or_default()
        .split(';')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(String::from)
        .collect()
}

/// A SCIM user as the planner sees it; `None` without `id` or `userName`.
pub fn to_user(raw: &Value) -> Option<User> {
    Resource::deserialize(raw).ok().and_then(user_of)
}

/// The user a resource describes; `None` without `id` or `userName`.
fn user_of(r: Resource) -> Option<User> {
    let [given, family, formatted] = r.name.map(Scalar::into_text);
    let (given, family) = (given.unwrap_or_default(), family.unwrap_or_default());
    // A one-word name is sent with the word as both parts (Talkdesk requires both),
    // so both parts alike read back as that one word.
    let name = match (given.as_str(), family.as_str(), formatted) {
        ("", "", Some(f)) => f,
        (g, f, _) if g == f => given,
        (g, f, _) => format!("{g} {f}").trim().to_string(),
    };
    let [roles, teams] = r.roles_teams.map(Scalar::into_text);
    Some(User {
        id: r.id.into_text()?,
        email: r.user_name.into_text()?,
        name,
        role: names(roles.as_deref()).into_iter().next(),
        status: match r.active {
            Scalar::Bool(false) => Status::Inactive,
            _ => Status::Active,
        },
        pending: false,
        teams: names(teams.as_deref()),
        queues: Names::new(),
        extension: None,
        time_zone: None,
        language: None,
        addons: Names::new(),
        phone: None,
        external_id: r.external_id.into_text(),
        updated_at: r.version.into_text(),
    })
}

/// The resources of one ListResponse page and its `totalResults`, or what is wrong.
fn list_page<T>(page: ListResponse<T>) -> Result<(Vec<T>, usize), String> {
    let total = page.total.ok_or("the ListResponse has no totalResults")?;
    let resources = page.resources.ok_or("Resources is not a list")?;
    Ok((resources, total))
}

/// A user of a list page, with its resource as compact text when kept.
type Listed = (Resource, Option<Box<str>>);

/// The list of users from `start`, a page of [`SCIM_COUNT`].
fn users_url(start: usize) -> String {
    format!(
        "{}?startIndex={start}&count={SCIM_COUNT}",
        paths::SCIM_USERS
    )
}

/// A ListResponse page's resources and `totalResults`.
fn decode_list<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<(Vec<T>, usize), ProviderError> {
    serde_json::from_slice::<ListResponse<T>>(bytes)
        .map_err(|e| e.to_string())
        .and_then(list_page)
        .map_err(|m| ProviderError::Decode {
            request: format!("GET {}", paths::SCIM_USERS),
            message: m,
        })
}

/// A page of users: straight into the attributes roster reads, or, when `keep` (a
/// provider that writes), through whole values kept as compact text.
fn decode_users(bytes: &[u8], keep: bool) -> Result<(Vec<Listed>, usize), ProviderError> {
    if !keep {
        let (rs, total) = decode_list::<Resource>(bytes)?;
        return Ok((rs.into_iter().map(|r| (r, None)).collect(), total));
    }
    let (values, total) = decode_list::<Value>(bytes)?;
    let page = values
        .into_iter()
        .map(|v| {
            let r = Resource::deserialize(&v).unwrap_or_default();
            (r, Some(v.to_string().into_boxed_str()))
        })
        .collect();
    Ok((page, total))
}

/// Users as they are read, page by page: each resource becomes a user as soon as its
/// page arrives, so the pages are never all held at once; resources are kept as
/// compact text only for a provider that writes.
struct Read {
    users: Vec<User>,
    resources: HashMap<String, Box<str>>,
    /// How many users the list may hold: `totalResults` and a page.
    bound: Bound,
}

impl Read {
    /// Room for the users `bound` announced.
    fn new(bound: Bound, keep: bool) -> Read {
        let n = bound.announced();
        Read {
            users: Vec::with_capacity(n),
            resources: HashMap::with_capacity(if keep { n } else { 0 }),
            bound,
        }
    }

    /// The users read, each once: a page shifted under concurrent reads repeats some.
    /// Found after the read by borrowed IDs rather than a set of copies kept during it.
    fn users(mut self) -> (Vec<User>, HashMap<String, Box<str>>) {
        let repeated: Vec<bool> = {
            let mut seen = foldhash::HashSet::with_capacity_and_hasher(
                self.users.len(),
                foldhash::fast::RandomState::default(),
            );
            self.users
                .iter()
                .map(|u| !seen.insert(u.id.as_str()))
                .collect()
        };
        if repeated.contains(&true) {
            let mut repeated = repeated.into_iter();
            self.users.retain(|_| !repeated.next().unwrap_or(false));
        }
        (self.users, self.resources)
    }

    /// Takes one page's users, each with its resource text when kept (the first text
    /// of a repeated user, like the user itself).
    fn page(&mut self, page: Vec<Listed>) -> Result<(), ProviderError> {
        for (r, text) in page {
            if !r.identified() {
                return Err(ProviderError::Decode {
                    request: format!("GET {}", paths::SCIM_USERS),
                    message: format!("a user without id or userName: {r:?}"),
                });
            }
            let Some(u) = user_of(r) else { continue };
            if let Some(text) = text {
                self.resources.entry(u.id.clone()).or_insert(text);
            }
            self.users.push(u);
        }
        self.bound.items(self.users.len())
    }
}

/// Splits a display name into SCIM's given and family name (both required by Talkdesk:
/// a one-word name repeats as the family name rather than sending an empty one).
pub fn split_name(name: &str) -> (String, String) {
    match name.trim().split_once(' ') {
        Some((g, f)) => (g.to_string(), f.trim().to_string()),
        None => (name.trim().to_string(), name.trim().to_string()),
    }
}

/// Sets `key` in `obj`, replacing any spelling of it that differs only by case.
fn set_ci(obj: &mut Map<String, Value>, key: &str, value: Value) {
    let existing: Vec<String> = obj
        .keys()
        .filter(|k| k.eq_ignore_ascii_case(key))
        .cloned()
        .collect();
    for k in existing {
        obj.remove(&k);
    }
    obj.insert(key.to_string(), value);
}

/// The child object `key` of `obj` (any case), created when absent.
fn child<'a>(obj: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let found = obj.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned();
    let k = found.unwrap_or_else(|| key.to_string());
    let slot = obj.entry(k).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    slot.as_object_mut().expect("just made an object")
}

/// The SCIM values of a change's user fields: `(attribute path, value)`, the teams
/// already translated to their live names.
fn attributes(
    change: &Change,
    team_aliases: &std::collections::BTreeMap<String, String>,
) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (field, fc) in &change.fields {
        match field {
            Field::Name => {
                let (g, f) = split_name(fc.to.as_str().unwrap_or_default());
                out.push(("name.givenName".into(), json!(g)));
                out.push(("name.familyName".into(), json!(f)));
            }
            Field::Email => out.push(("userName".into(), fc.to.clone())),
            Field::Role => out.push((format!("{SCIM_EXTENSION}:rolesString"), fc.to.clone())),
            Field::Teams => {
                let teams: Vec<String> = serde_json::from_value(fc.to.clone()).unwrap_or_default();
                let live: Vec<&str> = teams
                    .iter()
                    .map(|t| team_aliases.get(t).map_or(t.as_str(), String::as_str))
                    .collect();
                out.push((
                    format!("{SCIM_EXTENSION}:teamsString"),
                    json!(live.join(";")),
                ));
            }
            Field::Status => out.push(("active".into(), json!(fc.to == json!("active")))),
            _ => {}
        }
    }
    out
}

/// Writes `(path, value)` attributes into a full resource.
fn apply_attributes(resource: &mut Map<String, Value>, attrs: &[(String, Value)]) {
    for (path, value) in attrs {
        if let Some(attr) = path.strip_prefix(&format!("{SCIM_EXTENSION}:")) {
            set_ci(child(resource, SCIM_EXTENSION), attr, value.clone());
        } else if let Some((parent, attr)) = path.split_once('.') {
            set_ci(child(resource, parent), attr, value.clone());
        } else {
            set_ci(resource, path, value.clone());
        }
    }
}

impl Scim {
    /// The surface over `http` (base URL `{api}/scim/v2`); `keep`: reads keep each
    /// resource for a later PUT.
    pub fn new(http: HttpClient, concurrency: usize, keep: bool) -> Self {
        Scim {
            http,
            concurrency: concurrency.max(1),
            keep,
            patch: RwLock::new(false),
            resources: RwLock::new(HashMap::new()),
        }
    }

    /// One ListResponse page from `start`, its resources decoded as `T` (the
    /// attributes roster reads, or whole values), and the total.
    async fn list_request<T: serde::de::DeserializeOwned>(
        &self,
        start: usize,
        filter: Option<&str>,
    ) -> Result<(Vec<T>, usize), ProviderError> {
        let mut url = users_url(start);
        if let Some(f) = filter {
            url.push_str(&format!("&filter={}", crate::url_encode(f)));
        }
        decode_list(&self.http.get(&url).await?)
    }

    /// One page of users from `start` (see [`decode_users`]).
    async fn users_page(&self, start: usize) -> Result<(Vec<Listed>, usize), ProviderError> {
        decode_users(&self.http.get(&users_url(start)).await?, self.keep)
    }

    /// Whether PATCH is supported, from `/ServiceProviderConfig` (absent or unreadable:
    /// not supported, so PUT is used).
    pub async fn read_config(&self) -> Result<(), ProviderError> {
        let supported = match self
            .http
            .send(Method::GET, paths::SCIM_CONFIG, None, Idempotence::Safe)
            .await
        {
            Ok((_, v)) => lower_keys(&v)
                .pointer("/patch/supported")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            Err(ProviderError::Api { status: 404, .. }) => false,
            Err(e) => return Err(e),
        };
        if let Ok(mut p) = self.patch.write() {
            *p = supported;
        }
        Ok(())
    }

    /// Every user, read at the page size the server grants: page 1 says the total and
    /// the size, the rest go out `concurrency` at a time (the client's rate limit keeps
    /// them at Talkdesk's 4 requests per second).
    pub async fn read_users(&self) -> Result<Vec<User>, ProviderError> {
        let (first, total) = self.users_page(1).await?;
        let step = first.len();
        let list = format!("GET {}", paths::SCIM_USERS);
        let bound = Bound::new(list, "users", Some(total), step.max(SCIM_COUNT))?;
        let mut read = Read::new(bound, self.keep);
        read.page(first)?;
        if step > 0 && step < total {
            read.bound.pages(total.div_ceil(step))?;
            let keep = self.keep;
            let starts = (1 + step..=total).step_by(step).map(users_url);
            read = fetch_and_decode(
                &self.http,
                starts,
                self.concurrency,
                read,
                move |r, b, _| r.page(decode_users(b, keep)?.0),
            )
            .await?;
        }
        let (users, resources) = read.users();
        if let Ok(mut map) = self.resources.write() {
            *map = resources;
        }
        Ok(users)
    }

    /// Finds one user by email (`filter=userName eq`), with its resource.
    pub async fn find(&self, email: &str) -> Result<Option<(User, Value)>, ProviderError> {
        let filter = format!("userName eq \"{}\"", email.replace('"', "\\\""));
        let (found, _) = self.list_request::<Value>(1, Some(&filter)).await?;
        Ok(found
            .into_iter()
            .filter_map(|r| to_user(&r).map(|u| (u, r)))
            .find(|(u, _)| u.email.eq_ignore_ascii_case(email)))
    }

    /// Creates the user and returns it as the server stored it.
    pub async fn create(
        &self,
        change: &Change,
        team_aliases: &std::collections::BTreeMap<String, String>,
    ) -> Result<User, ProviderError> {
        let mut body = json!({
            "schemas": [SCIM_USER_SCHEMA, SCIM_EXTENSION],
            "userName": change.key,
            "emails": [{"value": change.key, "primary": true}],
            "active": true,
        });
        let obj = body.as_object_mut().expect("a JSON object");
        apply_attributes(obj, &attributes(change, team_aliases));
        let name = change
            .fields
            .get(&Field::Name)
            .and_then(|f| f.to.as_str())
            .unwrap_or(&change.key);
        if !change.fields.contains_key(&Field::Name) {
            let (g, f) = split_name(name);
            apply_attributes(
                obj,
                &[
                    ("name.givenName".into(), json!(g)),
                    ("name.familyName".into(), json!(f)),
                ],
            );
        }
        let path = paths::SCIM_USERS;
        let (_, v) = self
            .http
            .send(Method::POST, path, Some(&body), Idempotence::Unsafe)
            .await?;
        to_user(&v).ok_or_else(|| ProviderError::Decode {
            request: format!("POST {path}"),
            message: "the created user has no id or userName".into(),
        })
    }

    /// Changes the planned fields of user `id`: PATCH when the server supports it,
    /// else PUT of the resource as read with only those fields changed. Returns the
    /// user as the server stored it (None when a PATCH answered without a body).
    pub async fn update(
        &self,
        id: &str,
        change: &Change,
        team_aliases: &std::collections::BTreeMap<String, String>,
    ) -> Result<Option<User>, ProviderError> {
        let attrs = attributes(change, team_aliases);
        if attrs.is_empty() {
            return Ok(None);
        }
        let path = format!("{}/{id}", paths::SCIM_USERS);
        let patch = self.patch.read().map(|p| *p).unwrap_or(false);
        let (method, body) = if patch {
            let ops: Vec<Value> = attrs
                .iter()
                .map(|(p, v)| json!({"op": "replace", "path": p, "value": v}))
                .collect();
            (
                Method::PATCH,
                json!({"schemas": [SCIM_PATCH_SCHEMA], "Operations": ops}),
            )
        } else {
            let known = self.resources.read().ok().and_then(|m| {
                m.get(id)
                    .and_then(|text| serde_json::from_str::<Value>(text).ok())
            });
            let mut resource = match known {
                Some(r) => r,
                // Not read by this process (created a moment ago): read it now.
                None => {
                    self.http
                        .send(Method::GET, &path, None, Idempotence::Safe)
                        .await?
                        .1
                }
            };
            let Some(obj) = resource.as_object_mut() else {
                return Err(ProviderError::Decode {
                    request: format!("GET {path}"),
                    message: "the user is not a JSON object".into(),
                });
            };
            // The server owns these; sending them back is at best ignored.
            for k in ["meta", "id"] {
                let keys: Vec<String> = obj
                    .keys()
                    .filter(|x| x.eq_ignore_ascii_case(k))
                    .cloned()
                    .collect();
                for x in keys {
                    obj.remove(&x);
                }
            }
            apply_attributes(obj, &attrs);
            (Method::PUT, resource)
        };
        let (_, v) = self
            .http
            .send(method, &path, Some(&body), Idempotence::Safe)
            .await?;
        let stored = to_user(&v);
        if let (Some(_), Ok(mut map)) = (&stored, self.resources.write()) {
            map.insert(id.to_string(), v.to_string().into_boxed_str());
        }
        Ok(stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use roster_core::plan::{Action, FieldChange, Kind, Phase};

    #[test]
    fn attribute_names_are_case_insensitive() {
        let v = json!({
            "ID": "7", "USERNAME": "Jane@acme.example", "Name": {"GivenName": "Jane", "FAMILYNAME": "Doe"},
            "Active": false, "ExternalId": "okta-1", "Meta": {"Version": "W/\"3\""},
            "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:TALKDESK:2.0:USER": {"ROLESSTRING": "Agent", "TeamsString": "Billing; Sales"}
        });
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
    fn a_page_reads_alike_from_the_wire_and_from_a_value() {
        let page = json!({"totalResults": 2, "itemsPerPage": 2, "Resources": [
            {"id": "7", "userName": "jane@acme.example", "name": {"givenName": "Jane", "familyName": "Doe"},
             "emails": [{"value": "jane@acme.example"}], "meta": {"version": "W/\"3\""},
             SCIM_EXTENSION: {"rolesString": "Agent;Supervisor", "teamsString": "Billing"}},
            {"ID": 8, "userName": "solo@acme.example", "name": "not an object", "active": "no",
             "Meta": null, "externalId": 42}
        ]});
        let wire: ListResponse<Resource> = serde_json::from_str(&page.to_string()).unwrap();
        let value = ListResponse::<Resource>::deserialize(&page).unwrap();
        assert_eq!(wire.resources, value.resources);
        let users: Vec<User> = wire
            .resources
            .unwrap()
            .into_iter()
            .filter_map(user_of)
            .collect();
        assert_eq!(users[0].role.as_deref(), Some("Agent"));
        assert_eq!(users[0].updated_at.as_deref(), Some("W/\"3\""));
        assert_eq!((users[1].id.as_str(), users[1].name.as_str()), ("8", ""));
        assert_eq!(
            users[1].status,
            Status::Active,
            "a non-boolean `active` reads as active"
        );
        assert_eq!(users[1].external_id.as_deref(), Some("42"));
    }

    #[test]
    fn a_user_repeated_by_a_shifted_page_is_read_once_with_its_first_resource() {
        let resource = |id: &str, name: &str| {
            let v = json!({"id": id, "userName": format!("{id}@acme.example"), "name": {"formatted": name}});
            (Resource::deserialize(&v).unwrap(), Some(Box::from(name)))
        };
        let bound = Bound::new("GET /Users".into(), "users", Some(3), 2).unwrap();
        let mut read = Read::new(bound, true);
        read.page(vec![resource("1", "first"), resource("2", "two")])
            .unwrap();
        read.page(vec![resource("2", "again"), resource("3", "three")])
            .unwrap();
        let (users, resources) = read.users();
        let ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3"]);
        assert_eq!(users[1].name, "two");
        assert_eq!(resources.get("2").map(|t| &**t), Some("two"));
    }

    /// Mutated pages never panic the decoder.
    #[test]
    fn fuzz_list_page_decoding() {
        let corpus = vec![
            br#"{"totalResults": 1, "Resources": [{"id": "1", "userName": "a@acme.example", "name": {"givenName": "A", "familyName": "B"}, "active": true, "meta": {"version": "1"}, "urn:ietf:params:scim:schemas:extension:talkdesk:2.0:User": {"rolesString": "Agent"}}]}"#.to_vec(),
        ];
        let tokens: &[&[u8]] = &[b"null", b"-1", b"1e999", b"[]", b"{}", b"\"", b"true"];
        let tried = roster_core::fuzzing::run(&corpus, tokens, |input| {
            if let Ok(page) = serde_json::from_slice::<ListResponse<Resource>>(input) {
                let _ = list_page(page).map(|(rs, _)| rs.into_iter().map(user_of).count());
            }
        });
        assert!(tried > 0);
    }

    #[test]
    fn resources_may_be_absent() {
        let page = |v: Value| list_page(ListResponse::<Resource>::deserialize(&v).unwrap());
        assert_eq!(page(json!({"totalResults": 0})).unwrap().1, 0);
        assert_eq!(
            page(json!({"TOTALRESULTS": 2, "resources": null}))
                .unwrap()
                .1,
            2
        );
        assert!(page(json!({"Resources": []})).is_err());
        assert!(page(json!({"totalResults": 1, "Resources": {"id": "1"}})).is_err());
    }

    #[test]
    fn a_put_keeps_what_it_does_not_change() {
        let mut resource = json!({
            "userName": "jane@acme.example", "externalId": "okta-1",
            "name": {"givenName": "Jane", "familyName": "Doe", "middleName": "Q"},
            SCIM_EXTENSION: {"rolesString": "Agent", "teamsString": "Billing"}
        });
        let change = Change {
            action: Action::Update,
            kind: Kind::User,
            key: "jane@acme.example".into(),
            name: None,
            held: false,
            id: Some("7".into()),
            phase: Phase::Promotions,
            fields: [(
                Field::Role,
                FieldChange {
                    from: json!("Agent"),
                    to: json!("Administrator"),
                },
            )]
            .into(),
            precondition: None,
            needs: None,
        };
        apply_attributes(
            resource.as_object_mut().unwrap(),
            &attributes(&change, &Default::default()),
        );
        assert_eq!(resource["externalId"], "okta-1");
        assert_eq!(resource["name"]["middleName"], "Q");
        assert_eq!(resource[SCIM_EXTENSION]["rolesString"], "Administrator");
        assert_eq!(resource[SCIM_EXTENSION]["teamsString"], "Billing");
    }
}
