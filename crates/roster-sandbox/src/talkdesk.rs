//! The Talkdesk emulator of the documented contract (wire facts and their sources in
//! `roster_providers::talkdesk::contract`): the token endpoint (HTTP Basic only,
//! scopes granted per token), the read-only HAL users list, Guardian's read-only users
//! list, and queues with their members and bulk membership writes that report per-user
//! failures inside a 200.
//! Anything the vendor does not publish (`POST /users`, `/roles`, `/teams`, ring
//! groups) is not served: the router answers 404 or 405.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{FromRequestParts, Path, Query, State as Extract};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::{ApiError, CLIENT_ID, CLIENT_SECRET, SandboxUser, Shared, error, lock};
use roster_core::model::Named;
use roster_providers::talkdesk::contract::{
    QUEUE_BATCH, QUEUES_PER_PAGE, QueueUsers, QueueWriteError, QueueWriteResult, TOKEN_PATH, paths,
    scopes,
};

/// Every scope the emulated OAuth client may be granted.
pub const ALL_SCOPES: [&str; 6] = [
    scopes::USERS_READ,
    scopes::SCIM,
    scopes::QUEUES_READ,
    scopes::QUEUES_WRITE,
    scopes::QUEUES_USERS_READ,
    scopes::GUARDIAN_USERS_READ,
];

/// The JSON object body of an authorized request.
pub(super) fn object_body(
    s: &Shared,
    headers: &HeaderMap,
    body: Option<Json<Value>>,
) -> Result<Map<String, Value>, ApiError> {
    authorize(s, headers)?;
    match body {
        Some(Json(Value::Object(body))) => Ok(body),
        _ => Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "expected a JSON object",
        )),
    }
}

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(TOKEN_PATH, post(token))
        .route(paths::USERS, get(list_users))
        .route(&format!("{}/{{id}}", paths::USERS), get(get_user))
        .route(paths::GUARDIAN_USERS, get(guardian_users))
        .route(paths::QUEUES, get(list_queues))
        .route(&paths::queue_members("{id}"), get(queue_members))
        .route(paths::QUEUE_USERS, post(assign).delete(unassign))
}

fn oauth_error(status: StatusCode, code: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": code, "error_description": description})),
    )
        .into_response()
}

/// `POST /oauth/token`: client credentials as HTTP Basic only (credentials in the form
/// body are refused, as Talkdesk documents Basic), `scope` checked against the
/// client's grant.
async fn token(
    Extract(s): Extract<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        );
    }
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let Some((id, secret)) = basic.as_deref().and_then(|p| p.split_once(':')) else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication must use HTTP Basic",
        );
    };
    if id != CLIENT_ID || secret != CLIENT_SECRET {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "unknown client or wrong secret",
        );
    }
    let granted = s.granted_scopes();
    let asked: Vec<String> = match form.get("scope") {
        Some(list) => list.split_whitespace().map(String::from).collect(),
        None => granted.clone(),
    };
    if let Some(missing) = asked.iter().find(|a| !granted.contains(a)) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("the client is not granted the scope {missing}"),
        );
    }
    let token = format!("sbx-{}", uuid::Uuid::new_v4().simple());
    lock(&s.tokens).insert(
        token.clone(),
        (
            Instant::now() + Duration::from_secs(s.config.token_ttl),
            asked.clone(),
        ),
    );
    Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": s.config.token_ttl,
        "scope": asked.join(" "),
    }))
    .into_response()
}

/// The scopes of the request's live token: 401 when there is none.
pub(super) fn token_scopes(s: &Shared, headers: &HeaderMap) -> Result<Vec<String>, ApiError> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match lock(&s.tokens).get(token) {
        Some((expiry, scopes)) if Instant::now() < *expiry => Ok(scopes.clone()),
        Some(_) => Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the access token has expired",
        )),
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "invalid access token",
        )),
    }
}

/// 401 without a live token, 403 when the token lacks `scope` (Talkdesk's answer does
/// not name the scope, so neither does this one).
pub(super) fn authorize_scope(
    s: &Shared,
    headers: &HeaderMap,
    scope: &str,
) -> Result<(), ApiError> {
    if token_scopes(s, headers)?.iter().any(|g| g == scope) {
        Ok(())
    } else {
        Err(error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the access token does not allow this request",
        ))
    }
}

/// A request with any live token (the modeled Phone and add-on endpoints name no
/// scope); otherwise the API's error answers it before the handler runs.
pub(super) struct AnyToken;

impl FromRequestParts<Arc<Shared>> for AnyToken {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &Arc<Shared>) -> Result<Self, Response> {
        authorize(s, &parts.headers)
            .map(|()| AnyToken)
            .map_err(IntoResponse::into_response)
    }
}

/// Any live token (the modeled Phone and add-on endpoints name no scope).
pub(super) fn authorize(s: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    token_scopes(s, headers).map(|_| ())
}

/// Page size of the users and queue-member lists when none is asked for (modeled), and
/// no largest.
const HAL_PER_PAGE: (usize, usize) = (50, usize::MAX);

/// `page` and `per_page` of a HAL list, given the list's default page size and the most
/// it accepts; the size granted is capped at the server's.
fn paging(
    s: &Shared,
    q: &HashMap<String, String>,
    (default, most): (usize, usize),
) -> Result<(usize, usize), ApiError> {
    let number = match q.get("page").map(|v| v.parse::<usize>()) {
        None => 1,
        Some(Ok(n)) if n >= 1 => n,
        Some(_) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_page",
                "page must be a positive integer",
            ));
        }
    };
    let size = match q.get("per_page").map(|v| v.parse::<usize>()) {
        None => default,
        Some(Ok(n)) if (1..=most).contains(&n) => n.min(s.config.page_cap),
        Some(_) if most < usize::MAX => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_per_page",
                &format!("per_page must be between 1 and {most}"),
            ));
        }
        Some(_) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_per_page",
                "per_page must be a positive integer",
            ));
        }
    };
    Ok((number, size))
}

/// A HAL page of `items` (already the page's slice) under `_embedded.{key}`, or as the
/// `_embedded` array itself when `key` is `None` (Guardian), with `_links` and, on
/// lists that have them, the counts. Serialized straight from the items: at 100,000
/// users, building a JSON tree per user was half the emulator's time.
struct Hal<'k, T> {
    key: Option<&'k str>,
    items: Vec<T>,
    links: Links,
    counts: Option<Vec<(&'static str, usize)>>,
}

/// `_links`: `self`, `first` and `last` on the users list, whose reference shows them,
/// and `prev` too on Guardian's; only `next` on the queue lists, whose reference shows
/// nothing else.
#[derive(Serialize)]
struct Links {
    #[serde(rename = "self", skip_serializing_if = "Option::is_none")]
    this: Option<Href>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first: Option<Href>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last: Option<Href>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<Href>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prev: Option<Href>,
}

fn hal<'k, T: Serialize>(
    path: &str,
    key: Option<&'k str>,
    items: Vec<T>,
    total: usize,
    number: usize,
    size: usize,
    counts: bool,
) -> Hal<'k, T> {
    let pages = total.div_ceil(size).max(1);
    let link = |n: usize| Href {
        href: format!("{path}?page={n}&per_page={size}"),
    };
    let links = Links {
        this: counts.then(|| link(number)),
        first: counts.then(|| link(1)),
        last: counts.then(|| link(pages)),
        next: (number < pages).then(|| link(number + 1)),
        prev: None,
    };
    let counts = counts.then(|| {
        vec![
            ("count", items.len()),
            ("total", total),
            ("page", number),
            ("per_page", size),
            ("total_pages", pages),
        ]
    });
    Hal {
        key,
        items,
        links,
        counts,
    }
}

impl<T: Serialize> Serialize for Hal<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(None)?;
        match self.key {
            Some(key) => map.serialize_entry("_embedded", &Embedded(key, &self.items))?,
            None => map.serialize_entry("_embedded", &self.items)?,
        }
        map.serialize_entry("_links", &self.links)?;
        for (name, n) in self.counts.iter().flatten() {
            map.serialize_entry(name, n)?;
        }
        map.end()
    }
}

/// `{key: items}`: the one entry of `_embedded`.
struct Embedded<'a, T>(&'a str, &'a [T]);

impl<T: Serialize> Serialize for Embedded<'_, T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(1))?;
        map.serialize_entry(self.0, self.1)?;
        map.end()
    }
}

/// A user as `GET /users` shows it: `active`, and the extension as an integer when it
/// is one (as the reference types it), else a string.
#[derive(Serialize)]
struct HalUser<'a> {
    id: &'a str,
    email: &'a str,
    name: &'a str,
    active: bool,
    gender: Option<()>,
    extension: Value,
    external_phone_number: Option<()>,
    created_at: &'a str,
    _links: SelfLink,
}

#[derive(Serialize)]
struct SelfLink {
    #[serde(rename = "self")]
    this: Href,
}

#[derive(Serialize)]
struct Href {
    href: String,
}

fn hal_user(u: &SandboxUser) -> HalUser<'_> {
    let extension = match &u.extension {
        Some(e) if !e.starts_with('0') && e.parse::<u64>().is_ok() => {
            json!(e.parse::<u64>().unwrap_or(0))
        }
        Some(e) => json!(e),
        None => Value::Null,
    };
    HalUser {
        id: &u.id,
        email: &u.email,
        name: &u.name,
        active: u.status == "active",
        gender: None,
        extension,
        external_phone_number: None,
        created_at: &u.created_at,
        _links: SelfLink {
            this: Href {
                href: format!("{}/{}", paths::USERS, u.id),
            },
        },
    }
}

/// A queue as `GET /ccaas/queues` lists it.
#[derive(Serialize)]
struct QueueItem<'a> {
    id: &'a str,
    name: &'a str,
}

/// A queue member as `GET /ccaas/queues/{id}/users` lists it: the user's ID.
#[derive(Serialize)]
struct Member<'a> {
    id: &'a str,
}

async fn list_users(
    Extract(s): Extract<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = authorize_scope(&s, &headers, scopes::USERS_READ) {
        return r.into_response();
    }
    let (number, size) = match paging(&s, &q, HAL_PER_PAGE) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let st = lock(&s.state);
    let views = s.views(&st);
    let (email, active) = (q.get("email"), q.get("active"));
    let skip = (number - 1).saturating_mul(size);
    let item = |(i, u): (usize, &SandboxUser)| views.rest(i, || hal_user(u));
    // Unfiltered, the page is a slice: a 100,000-user list costs a page per request,
    // not a scan of the account.
    let (page, total): (Vec<_>, _) = if email.is_none() && active.is_none() {
        let page = st
            .users
            .iter()
            .enumerate()
            .skip(skip)
            .take(size)
            .map(item)
            .collect();
        (page, st.users.len())
    } else {
        let matches: Vec<(usize, &SandboxUser)> = st
            .users
            .iter()
            .enumerate()
            .filter(|(_, u)| email.is_none_or(|e| u.email.eq_ignore_ascii_case(e)))
            .filter(|(_, u)| active.is_none_or(|a| (a == "true") == (u.status == "active")))
            .collect();
        let page = matches
            .iter()
            .skip(skip)
            .take(size)
            .copied()
            .map(item)
            .collect();
        (page, matches.len())
    };
    Json(hal(
        paths::USERS,
        Some("users"),
        page,
        total,
        number,
        size,
        true,
    ))
    .into_response()
}

async fn get_user(
    Extract(s): Extract<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize_scope(&s, &headers, scopes::USERS_READ) {
        return r.into_response();
    }
    let st = lock(&s.state);
    match st.users.iter().find(|u| u.id == id) {
        Some(u) => Json(hal_user(u)).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "user not found").into_response(),
    }
}

/// The name of the item of `list` whose ID is `id`.
fn name_of<'a>(list: &'a [Named], id: &str) -> Option<&'a str> {
    list.iter().find(|n| n.id == id).map(|n| n.name.as_str())
}

/// A user as Guardian's list shows it (https://docs.talkdesk.com/reference/guardianusers):
/// the role's name, the queues as ring groups, and `ACTIVE`, `INACTIVE` or `PENDING`.
#[derive(Serialize)]
struct GuardianItem<'a> {
    creation_time: &'a str,
    email: &'a str,
    id: &'a str,
    presence: &'static str,
    presence_type: &'static str,
    ring_groups: Vec<&'a str>,
    role: &'a str,
    status: &'static str,
}

/// `GET /guardian/users` (scope `guardian-users:read`): every user with role and
/// activation state, HAL with the counts and `first`, `last`, `next`, `prev`, `self`.
async fn guardian_users(
    Extract(s): Extract<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = authorize_scope(&s, &headers, scopes::GUARDIAN_USERS_READ) {
        return r.into_response();
    }
    let (number, size) = match paging(&s, &q, HAL_PER_PAGE) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let st = lock(&s.state);
    let page = st
        .users
        .iter()
        .skip((number - 1).saturating_mul(size))
        .take(size)
        .map(|u| GuardianItem {
            creation_time: &u.created_at,
            email: &u.email,
            id: &u.id,
            presence: "Offline",
            presence_type: "offline",
            ring_groups: u
                .queues
                .iter()
                .filter_map(|q| name_of(&st.queues, q))
                .collect(),
            role: name_of(&st.roles, &u.role).unwrap_or_default(),
            status: match (u.status == "active", u.pending) {
                (false, _) => "INACTIVE",
                (true, true) => "PENDING",
                (true, false) => "ACTIVE",
            },
        })
        .collect::<Vec<_>>();
    let mut body = hal(
        paths::GUARDIAN_USERS,
        None,
        page,
        st.users.len(),
        number,
        size,
        true,
    );
    body.links.prev = (number > 1).then(|| Href {
        href: format!(
            "{}?page={}&per_page={size}",
            paths::GUARDIAN_USERS,
            number - 1
        ),
    });
    Json(body).into_response()
}

/// `GET /ccaas/queues`: HAL with `_links.next` only (no counts), as documented.
async fn list_queues(
    Extract(s): Extract<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = authorize_scope(&s, &headers, scopes::QUEUES_READ) {
        return r.into_response();
    }
    let (number, size, by_name) = match queue_paging(&s, &q) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let mut st = lock(&s.state);
    // The store keeps queues least recently updated first.
    if by_name.is_none() && s.config.queue_churn && !st.queues.is_empty() {
        let edited = (number * 7) % st.queues.len();
        let queue = st.queues.remove(edited);
        st.queues.push(queue);
    }
    let mut order: Vec<&Named> = st.queues.iter().collect();
    match by_name {
        None => order.reverse(),
        Some(ascending) => {
            order.sort_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
            if !ascending {
                order.reverse();
            }
        }
    }
    let page = order
        .iter()
        .skip((number - 1).saturating_mul(size))
        .take(size)
        .map(|g| QueueItem {
            id: &g.id,
            name: &g.name,
        })
        .collect::<Vec<_>>();
    let mut body = hal(
        paths::QUEUES,
        Some("queues"),
        page,
        order.len(),
        number,
        size,
        true,
    );
    // The reference lists `total`, `count`, `page`, `per_page` and `self`: no page count.
    if let Some(c) = body.counts.as_mut() {
        c.retain(|(name, _)| *name != "total_pages");
    }
    body.links.first = None;
    body.links.last = None;
    Json(body).into_response()
}

/// The queue list's `page`, `per_page` (1–100, default 20) and `order_by` (`name:asc`
/// or `name:desc`; `None` for the default, most recently updated first), as
/// docs.talkdesk.com/reference/get-list-of-queues documents them.
fn queue_paging(
    s: &Shared,
    q: &HashMap<String, String>,
) -> Result<(usize, usize, Option<bool>), ApiError> {
    let (number, size) = paging(s, q, QUEUES_PER_PAGE)?;
    let by_name = match q.get("order_by").map(String::as_str) {
        None => None,
        Some("name:asc") => Some(true),
        Some("name:desc") => Some(false),
        Some(other) => {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "invalid_order_by",
                &format!("order_by {other:?} is not supported"),
            ));
        }
    };
    Ok((number, size, by_name))
}

/// `GET /ccaas/queues/{id}/users`: the members' IDs, HAL without counts.
async fn queue_members(
    Extract(s): Extract<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = authorize_scope(&s, &headers, scopes::QUEUES_USERS_READ) {
        return r.into_response();
    }
    let (number, size) = match paging(&s, &q, HAL_PER_PAGE) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let st = lock(&s.state);
    if !st.queues.iter().any(|g| g.id == id) {
        return error(StatusCode::NOT_FOUND, "not_found", "queue not found").into_response();
    }
    let members = s.views(&st).members(&st, &id);
    let page = members
        .iter()
        .skip((number - 1).saturating_mul(size))
        .take(size)
        .map(|&i| Member {
            id: &st.users[i].id,
        })
        .collect::<Vec<_>>();
    Json(hal(
        &paths::queue_members(&id),
        Some("users"),
        page,
        members.len(),
        number,
        size,
        false,
    ))
    .into_response()
}

/// The body of a queue write: a list of at most [`QUEUE_BATCH`] objects of at most
/// [`QUEUE_BATCH`] users each.
fn queue_body(body: Option<Json<Value>>) -> Result<Vec<QueueUsers>, ApiError> {
    let Some(Json(v)) = body else {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "expected a JSON list",
        ));
    };
    let list: Vec<QueueUsers> = serde_json::from_value(v).map_err(|e| {
        error(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            &format!("expected [{{\"id\", \"users\"}}]: {e}"),
        )
    })?;
    if list.len() > QUEUE_BATCH || list.iter().any(|o| o.users.len() > QUEUE_BATCH) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "too_many_items",
            &format!("at most {QUEUE_BATCH} queues of at most {QUEUE_BATCH} users per request"),
        ));
    }
    Ok(list)
}

/// Assigns (`add`) or unassigns users, one by one: not transactional, every failure
/// reported in the 200's `errors`.
fn queue_write(s: &Shared, headers: &HeaderMap, body: Option<Json<Value>>, add: bool) -> Response {
    if let Err(r) = authorize_scope(s, headers, scopes::QUEUES_WRITE) {
        return r.into_response();
    }
    let list = match queue_body(body) {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let mut errors = Vec::new();
    let fail = |q: &str, u: &str, code: &str, why: String| QueueWriteError {
        queue_id: Some(q.to_string()),
        user_id: Some(u.to_string()),
        error: Some(code.into()),
        description: Some(why),
    };
    for object in &list {
        for user in &object.users {
            let verb = if add { "POST" } else { "DELETE" };
            let result = s.change(
                format!("{verb} {} {}", paths::QUEUE_USERS, object.id),
                |st| {
                    if !st.queues.iter().any(|g| g.id == object.id) {
                        return Err(error(
                            StatusCode::NOT_FOUND,
                            "queue_not_found",
                            "queue not found",
                        ));
                    }
                    let refused = s.config.queue_refuse.clone();
                    let Some(u) = st.users.iter_mut().find(|u| &u.id == user) else {
                        return Err(error(
                            StatusCode::NOT_FOUND,
                            "user_not_found",
                            "user not found",
                        ));
                    };
                    if refused.iter().any(|e| e.eq_ignore_ascii_case(&u.email)) {
                        return Err(error(
                            StatusCode::CONFLICT,
                            "refused",
                            "the user cannot be assigned to queues",
                        ));
                    }
                    let member = u.queues.contains(&object.id);
                    match (add, member) {
                        (true, false) => u.queues.push(object.id.clone()),
                        (false, true) if u.queues.len() == 1 => {
                            return Err(error(
                                StatusCode::CONFLICT,
                                "last_queue",
                                "a user must keep at least one queue",
                            ));
                        }
                        (false, true) => u.queues.retain(|q| q != &object.id),
                        _ => {}
                    }
                    Ok(((), u.email.clone()))
                },
            );
            if let Err(e) = result {
                errors.push(fail(&object.id, user, &e.code, e.message));
            }
        }
    }
    let result = QueueWriteResult {
        result: Some(if errors.is_empty() { "OK" } else { "KO" }.into()),
        errors,
    };
    Json(result).into_response()
}

async fn assign(
    Extract(s): Extract<Arc<Shared>>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    queue_write(&s, &headers, body, true)
}

async fn unassign(
    Extract(s): Extract<Arc<Shared>>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    queue_write(&s, &headers, body, false)
}
