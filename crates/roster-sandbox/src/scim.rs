//! The Talkdesk SCIM 2.0 emulator over the same account as the REST one, as Talkdesk
//! documents it (docs/scim-api): Users only (`/Groups` is not served), ListResponse
//! paging at the size the server grants, `eq` filters, PUT that replaces the user,
//! PATCH only when `/ServiceProviderConfig` says so (else 501), required name parts,
//! roles and teams by name, 4 requests per second (in the fault layer), the SCIM error
//! schema, and a bearer token: the static SCIM token or an OAuth token with `scim`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, Query, State as Extract};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::{SandboxUser, Shared, State, lock};
use roster_providers::talkdesk::contract::paths::{SCIM_BASE, SCIM_CONFIG, SCIM_USERS};
use roster_providers::talkdesk::contract::{SCIM_EXTENSION as EXTENSION, scopes};

/// The SCIM token the emulator accepts.
pub const SCIM_TOKEN: &str = "sandbox-scim-token";

/// A SCIM error: status, `scimType` and detail, in the RFC 7644 error schema.
struct ScimError {
    status: StatusCode,
    scim_type: Option<&'static str>,
    detail: String,
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": self.status.as_u16().to_string(), "detail": self.detail});
        if let Some(t) = self.scim_type {
            body["scimType"] = json!(t);
        }
        (self.status, Json(body)).into_response()
    }
}

fn scim_error(status: StatusCode, scim_type: Option<&'static str>, detail: &str) -> ScimError {
    ScimError {
        status,
        scim_type,
        detail: detail.to_string(),
    }
}

/// The static SCIM token, or an OAuth token granted `scim`; 401 otherwise (403 for a
/// live token without the scope).
fn authorize(s: &Shared, headers: &HeaderMap) -> Result<(), ScimError> {
    let static_token = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {SCIM_TOKEN}"));
    if static_token {
        return Ok(());
    }
    super::talkdesk::authorize_scope(s, headers, scopes::SCIM)
        .map_err(|e| scim_error(e.status, None, &e.message))
}

/// A request with a token SCIM accepts (the static SCIM token, or an OAuth token with
/// the `scim` scope); otherwise a SCIM error answers it before the handler runs.
struct Authorized;

impl FromRequestParts<Arc<Shared>> for Authorized {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, s: &Arc<Shared>) -> Result<Self, Response> {
        authorize(s, &parts.headers)
            .map(|()| Authorized)
            .map_err(IntoResponse::into_response)
    }
}

pub(super) fn routes() -> Router<Arc<Shared>> {
    let users = format!("{SCIM_BASE}{SCIM_USERS}");
    Router::new()
        .route(&users, get(list_users).post(create_user))
        .route(
            &format!("{users}/{{id}}"),
            get(get_user)
                .put(put_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route(
            &format!("{SCIM_BASE}{SCIM_CONFIG}"),
            get(|s: Extract<Arc<Shared>>| async move {
                Json(service_provider_config(
                    s.config.scim_patch,
                    s.config.scim_page_cap,
                ))
            }),
        )
        .route(
            &format!("{SCIM_BASE}/ResourceTypes"),
            get(|| async { Json(resource_types()) }),
        )
        .route(
            &format!("{SCIM_BASE}/Schemas"),
            get(|| async { Json(schemas()) }),
        )
}

/// The stored display name as Talkdesk's two required parts: a one-word name is both.
fn name_parts(name: &str) -> (&str, &str) {
    name.split_once(' ').unwrap_or((name, name))
}

/// The display name of two parts; the same word twice is a one-word name.
fn join_name(given: &str, family: &str) -> String {
    if given == family {
        given.trim().to_string()
    } else {
        format!("{given} {family}").trim().to_string()
    }
}

/// A user as SCIM shows it, borrowed from the state: list pages serialize these
/// directly (at 100,000 users, building a JSON tree per user was half the emulator's
/// time).
#[derive(Serialize)]
struct ScimUser<'a> {
    schemas: [&'static str; 2],
    id: &'a str,
    #[serde(rename = "userName")]
    user_name: &'a str,
    name: ScimName<'a>,
    emails: [ScimEmail<'a>; 1],
    active: bool,
    meta: ScimMeta,
    // The Talkdesk extension's URN, `contract::SCIM_EXTENSION` (a test holds them equal).
    #[serde(rename = "urn:ietf:params:scim:schemas:extension:talkdesk:2.0:User")]
    extension: ScimExtension<'a>,
    #[serde(rename = "externalId", skip_serializing_if = "Option::is_none")]
    external_id: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScimName<'a> {
    given_name: &'a str,
    family_name: &'a str,
}

#[derive(Serialize)]
struct ScimEmail<'a> {
    value: &'a str,
    primary: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScimMeta {
    resource_type: &'static str,
    version: String,
    location: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ScimExtension<'a> {
    roles_string: &'a str,
    teams_string: String,
}

fn scim_user<'a>(st: &'a State, u: &'a SandboxUser) -> ScimUser<'a> {
    let (given, family) = name_parts(&u.name);
    let role = st
        .roles
        .iter()
        .find(|r| r.id == u.role)
        .map_or("", |r| r.name.as_str());
    let teams: Vec<&str> = u
        .teams
        .iter()
        .filter_map(|id| {
            st.teams
                .iter()
                .find(|t| &t.id == id)
                .map(|t| t.name.as_str())
        })
        .collect();
    ScimUser {
        schemas: ["urn:ietf:params:scim:schemas:core:2.0:User", EXTENSION],
        id: &u.id,
        user_name: &u.email,
        name: ScimName {
            given_name: given,
            family_name: family,
        },
        emails: [ScimEmail {
            value: &u.email,
            primary: true,
        }],
        active: u.status == "active",
        meta: ScimMeta {
            resource_type: "User",
            version: format!("W/\"{}\"", u.updated_at),
            location: format!("{SCIM_BASE}{SCIM_USERS}/{}", u.id),
        },
        extension: ScimExtension {
            roles_string: role,
            teams_string: teams.join(";"),
        },
        external_id: u.external_id.as_deref(),
    }
}

fn user_json(st: &State, u: &SandboxUser) -> Value {
    serde_json::to_value(scim_user(st, u)).unwrap_or_default()
}

/// A ListResponse page (RFC 7644 §3.4.2), `Resources` left out when there are none.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse<'a> {
    schemas: [&'static str; 1],
    total_results: usize,
    start_index: usize,
    items_per_page: usize,
    #[serde(rename = "Resources", skip_serializing_if = "Vec::is_empty")]
    resources: Vec<&'a RawValue>,
}

/// `attr eq "value"`, the one filter form the emulator serves.
fn eq_filter(q: &HashMap<String, String>) -> Option<(String, String)> {
    let f = q.get("filter")?;
    let (attr, rest) = f.split_once(" eq ")?;
    Some((
        attr.trim().to_lowercase(),
        rest.trim().trim_matches('"').to_string(),
    ))
}

async fn list_users(
    Extract(s): Extract<Arc<Shared>>,
    _: Authorized,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let start: usize = q
        .get("startIndex")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let cap = s.config.scim_page_cap;
    let count: usize = q
        .get("count")
        .and_then(|v| v.parse().ok())
        .unwrap_or(cap)
        .min(cap);
    let st = lock(&s.state);
    let views = s.views(&st);
    let item = |(i, u): (usize, &SandboxUser)| views.scim(i, || scim_user(&st, u));
    // Only the page is serialized, and unfiltered the page is a slice: a 100,000-user
    // account is read a page per request, without a scan of the account per page.
    let (page, total): (Vec<&RawValue>, usize) = match eq_filter(&q) {
        None => (
            st.users
                .iter()
                .enumerate()
                .skip(start - 1)
                .take(count)
                .map(item)
                .collect(),
            st.users.len(),
        ),
        Some((attr, value)) => {
            let matches: Vec<(usize, &SandboxUser)> = st
                .users
                .iter()
                .enumerate()
                .filter(|(_, u)| attr == "username" && u.email.eq_ignore_ascii_case(&value))
                .collect();
            let page = matches
                .iter()
                .skip(start - 1)
                .take(count)
                .copied()
                .map(item)
                .collect();
            (page, matches.len())
        }
    };
    // RFC 7644 lets a server leave Resources out when there are none; this one does.
    Json(ListResponse {
        schemas: ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        total_results: total,
        start_index: start,
        items_per_page: page.len(),
        resources: page,
    })
    .into_response()
}

async fn get_user(
    Extract(s): Extract<Arc<Shared>>,
    _: Authorized,
    Path(id): Path<String>,
) -> Response {
    let st = lock(&s.state);
    match st.users.iter().find(|u| u.id == id) {
        Some(u) => Json(user_json(&st, u)).into_response(),
        None => scim_error(StatusCode::NOT_FOUND, None, "user not found").into_response(),
    }
}

/// Applies one attribute (path lowercased) to a user.
fn set_attr(st: &State, u: &mut SandboxUser, path: &str, value: &Value) -> Result<(), ScimError> {
    let ext = EXTENSION.to_lowercase();
    let s = || value.as_str().unwrap_or_default().to_string();
    let (given, family) = name_parts(&u.name);
    let (given, family) = (given.to_string(), family.to_string());
    match path {
        "username" => u.email = s(),
        "name.givenname" => u.name = join_name(&s(), &family),
        "name.familyname" => u.name = join_name(&given, &s()),
        "active" => {
            u.status = if value.as_bool().unwrap_or(true) {
                "active".into()
            } else {
                "inactive".into()
            }
        }
        "externalid" => u.external_id = value.as_str().map(String::from),
        p if p == format!("{ext}:rolesstring") => {
            let name = s();
            let first = name
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            u.role = st
                .roles
                .iter()
                .find(|r| r.name.eq_ignore_ascii_case(&first))
                .map(|r| r.id.clone())
                .ok_or_else(|| {
                    scim_error(
                        StatusCode::BAD_REQUEST,
                        Some("invalidValue"),
                        &format!("unknown role {first:?} for {}", u.email),
                    )
                })?;
        }
        p if p == format!("{ext}:teamsstring") => {
            let mut ids = Vec::new();
            for t in s().split(';').map(str::trim).filter(|t| !t.is_empty()) {
                let id = st
                    .teams
                    .iter()
                    .find(|g| g.name == t)
                    .map(|g| g.id.clone())
                    .ok_or_else(|| {
                        scim_error(
                            StatusCode::BAD_REQUEST,
                            Some("invalidValue"),
                            &format!("unknown team {t:?} for {}", u.email),
                        )
                    })?;
                ids.push(id);
            }
            u.teams = ids;
        }
        "emails" | "schemas" | "id" | "meta" => {}
        other => {
            return Err(scim_error(
                StatusCode::BAD_REQUEST,
                Some("invalidPath"),
                &format!("unsupported attribute {other}"),
            ));
        }
    }
    Ok(())
}

/// Applies a whole resource body (POST, PUT, or a PatchOp without path).
fn set_object(st: &State, u: &mut SandboxUser, body: &Value) -> Result<(), ScimError> {
    let Some(obj) = body.as_object() else {
        return Err(scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidSyntax"),
            "expected a JSON object",
        ));
    };
    for (k, v) in obj {
        let k = k.to_lowercase();
        match (k.as_str(), v) {
            ("name", Value::Object(n)) => {
                // Both parts at once: applied one by one, each would see the other's
                // old value.
                let part = |key: &str| {
                    n.iter()
                        .find(|(k, _)| k.eq_ignore_ascii_case(key))
                        .and_then(|(_, v)| v.as_str())
                };
                let (given, family) = name_parts(&u.name);
                let given = part("givenName").unwrap_or(given).to_string();
                let family = part("familyName").unwrap_or(family).to_string();
                u.name = join_name(&given, &family);
            }
            (ext, Value::Object(e)) if ext == EXTENSION.to_lowercase() => {
                for (ek, ev) in e {
                    set_attr(st, u, &format!("{ext}:{}", ek.to_lowercase()), ev)?;
                }
            }
            (other, v) => set_attr(st, u, other, v)?,
        }
    }
    Ok(())
}

fn user_change(
    s: &Shared,
    request: String,
    id: Option<String>,
    apply: impl FnOnce(&State, &mut SandboxUser) -> Result<(), ScimError>,
) -> Response {
    let mut failure = None;
    let result = s.change(request, |st| {
        let stamp = st.stamp();
        let mut u = match &id {
            Some(id) => match st.users.iter().find(|u| &u.id == id) {
                Some(u) => u.clone(),
                None => {
                    return Err(super::error(
                        StatusCode::NOT_FOUND,
                        "not_found",
                        "user not found",
                    ));
                }
            },
            None => SandboxUser::new(
                uuid::Uuid::new_v4().to_string(),
                String::new(),
                String::new(),
                st.roles.last().map(|r| r.id.clone()).unwrap_or_default(),
                stamp.clone(),
            ),
        };
        let was_active = id.is_some() && u.status == "active";
        if let Err(r) = apply(st, &mut u) {
            failure = Some(r);
            return Err(super::error(StatusCode::BAD_REQUEST, "invalid", "rejected"));
        }
        // A user provisioned or activated with every license taken is stored
        // deactivated (doc: https://docs.talkdesk.com/docs/scim-api).
        if u.status == "active" && !was_active {
            let others = st
                .users
                .iter()
                .filter(|o| o.id != u.id && o.status == "active")
                .count();
            if st.licenses.is_some_and(|n| others >= n) {
                u.status = "inactive".into();
            }
        }
        if st
            .users
            .iter()
            .any(|o| o.id != u.id && o.email.eq_ignore_ascii_case(&u.email))
        {
            failure = Some(scim_error(
                StatusCode::CONFLICT,
                Some("uniqueness"),
                &format!("userName {} is taken", u.email),
            ));
            return Err(super::error(StatusCode::CONFLICT, "uniqueness", "taken"));
        }
        // Deactivation releases the user's add-on seats.
        if u.status != "active" {
            for a in &mut st.addons {
                a.assigned.retain(|x| x != &u.id);
            }
        }
        u.updated_at = stamp;
        let out = user_json(st, &u);
        let email = u.email.clone();
        match st.users.iter_mut().find(|o| o.id == u.id) {
            Some(slot) => *slot = u,
            None => st.users.push(u),
        }
        Ok((out, email))
    });
    match (result, failure) {
        (Ok(v), _) => (
            if id.is_none() {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            },
            Json(v),
        )
            .into_response(),
        (Err(_), Some(r)) => r.into_response(),
        (Err(e), None) => scim_error(e.status, None, &e.message).into_response(),
    }
}

async fn create_user(
    Extract(s): Extract<Arc<Shared>>,
    _: Authorized,
    Json(body): Json<Value>,
) -> Response {
    if let Err(r) = required(&body) {
        return r.into_response();
    }
    user_change(&s, "POST /scim/v2/Users".into(), None, |st, u| {
        set_object(st, u, &body)
    })
}

async fn put_user(
    Extract(s): Extract<Arc<Shared>>,
    _: Authorized,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Err(r) = required(&body) {
        return r.into_response();
    }
    user_change(&s, format!("PUT /scim/v2/Users/{id}"), Some(id), |st, u| {
        // PUT replaces: what the body leaves out is cleared.
        u.teams.clear();
        u.external_id = None;
        set_object(st, u, &body)
    })
}

/// The attributes Talkdesk requires on create and replace: `userName`, `name.givenName`,
/// `name.familyName` and `active` (doc: https://docs.talkdesk.com/reference/create-user).
fn required(body: &Value) -> Result<(), ScimError> {
    let v = roster_providers::talkdesk::contract::lower_keys(body);
    for (pointer, name) in [
        ("/username", "userName"),
        ("/name/givenname", "name.givenName"),
        ("/name/familyname", "name.familyName"),
    ] {
        if v.pointer(pointer)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(scim_error(
                StatusCode::BAD_REQUEST,
                Some("invalidValue"),
                &format!("{name} is required"),
            ));
        }
    }
    if !v.get("active").is_some_and(Value::is_boolean) {
        return Err(scim_error(
            StatusCode::BAD_REQUEST,
            Some("invalidValue"),
            "active is required",
        ));
    }
    Ok(())
}

async fn patch_user(
    Extract(s): Extract<Arc<Shared>>,
    _: Authorized,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if !s.config.scim_patch {
        return scim_error(
            StatusCode::NOT_IMPLEMENTED,
            None,
            "PATCH is not supported (see /ServiceProviderConfig); replace the user with PUT",
        )
        .into_response();
    }
    let ops = body
        .get("Operations")
        .or_else(|| body.get("operations"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    user_change(
        &s,
        format!("PATCH /scim/v2/Users/{id}"),
        Some(id),
        |st, u| {
            for op in &ops {
                let kind = op
                    .get("op")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_lowercase();
                if kind != "replace" && kind != "add" {
                    return Err(scim_error(
                        StatusCode::BAD_REQUEST,
                        Some("invalidSyntax"),
                        &format!("unsupported op {kind:?}"),
                    ));
                }
                let value = op.get("value").cloned().unwrap_or(Value::Null);
                match op.get("path").and_then(Value::as_str) {
                    Some(path) => set_attr(st, u, &path.to_lowercase(), &value)?,
                    None => set_object(st, u, &value)?,
                }
            }
            Ok(())
        },
    )
}

/// Implemented because the real API has it; roster never sends it.
async fn delete_user(
    Extract(s): Extract<Arc<Shared>>,
    _: Authorized,
    Path(id): Path<String>,
) -> Response {
    let result = s.change(format!("DELETE /scim/v2/Users/{id}"), |st| {
        let i =
            st.users.iter().position(|u| u.id == id).ok_or_else(|| {
                super::error(StatusCode::NOT_FOUND, "not_found", "user not found")
            })?;
        Ok(((), st.users.remove(i).email))
    });
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => scim_error(e.status, None, &e.message).into_response(),
    }
}

fn service_provider_config(patch: bool, cap: usize) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": patch}, "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": cap}, "changePassword": {"supported": false},
        "sort": {"supported": false}, "etag": {"supported": true},
        "authenticationSchemes": [{"type": "oauthbearertoken", "name": "OAuth Bearer Token", "description": "SCIM token from Admin > Settings > Security > SCIM"}]
    })
}

fn resource_types() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 1, "Resources": [
        {"id": "User", "name": "User", "endpoint": "/Users", "schema": "urn:ietf:params:scim:schemas:core:2.0:User",
         "schemaExtensions": [{"schema": EXTENSION, "required": false}]}
    ]})
}

fn schemas() -> Value {
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": 1, "Resources": [
        {"id": EXTENSION, "name": "Talkdesk User", "attributes": [
            {"name": "rolesString", "type": "string", "multiValued": false, "required": false},
            {"name": "teamsString", "type": "string", "multiValued": false, "required": false}
        ]}
    ]})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_carries_the_talkdesk_extension_under_its_urn() {
        let mut st = State::default();
        st.users.push(SandboxUser::new(
            "u1".into(),
            "ana@acme.example".into(),
            "Ana Silva".into(),
            "r1".into(),
            "2026-01-01T00:00:00Z".into(),
        ));
        let v = user_json(&st, &st.users[0]);
        assert!(v[EXTENSION].is_object(), "{v}");
        assert_eq!(v["name"]["familyName"], "Silva");
        assert_eq!(v["emails"][0]["value"], "ana@acme.example");
    }
}
