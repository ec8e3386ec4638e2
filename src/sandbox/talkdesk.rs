//! The Talkdesk REST emulator: token endpoint, users, roles, teams and ring groups.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde_json::{Map, Value, json};

use super::{ApiError, CLIENT_ID, CLIENT_SECRET, SandboxUser, Shared, State, error, lock};

/// The largest `page[size]` served.
const MAX_PAGE_SIZE: usize = 100;

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
        .route("/oauth/token", post(token))
        .route("/users", get(list_users).post(create_user))
        .route(
            "/users/{id}",
            get(get_user).patch(patch_user).delete(delete_user),
        )
        .route(
            "/roles",
            get(|s: Extract<Arc<Shared>>, h: HeaderMap| named(s, h, "roles")),
        )
        .route(
            "/teams",
            get(|s: Extract<Arc<Shared>>, h: HeaderMap| named(s, h, "teams")),
        )
        .route(
            "/ring-groups",
            get(|s: Extract<Arc<Shared>>, h: HeaderMap| named(s, h, "ring_groups")),
        )
}

async fn token(
    Extract(s): Extract<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|pair| {
            pair.split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string()))
        });
    let (id, secret) = basic.unwrap_or_else(|| {
        (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        )
    });
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "unsupported_grant_type"})),
        )
            .into_response();
    }
    if id != CLIENT_ID || secret != CLIENT_SECRET {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "invalid_client", "error_description": "unknown client or wrong secret"}))).into_response();
    }
    let token = format!("sbx-{}", uuid::Uuid::new_v4().simple());
    lock(&s.tokens).insert(
        token.clone(),
        Instant::now() + Duration::from_secs(s.config.token_ttl),
    );
    Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": s.config.token_ttl,
        "scope": "users:read users:write roles:read",
    }))
    .into_response()
}

/// 401 unless the request carries a live token from [`token`].
pub(super) fn authorize(s: &Shared, headers: &HeaderMap) -> Result<(), ApiError> {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    match lock(&s.tokens).get(token) {
        Some(expiry) if Instant::now() < *expiry => Ok(()),
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

async fn named(
    Extract(s): Extract<Arc<Shared>>,
    headers: HeaderMap,
    key: &'static str,
) -> Response {
    if let Err(r) = authorize(&s, &headers) {
        return r.into_response();
    }
    let st = lock(&s.state);
    let list = match key {
        "roles" => &st.roles,
        "teams" => &st.teams,
        _ => &st.ring_groups,
    };
    Json(json!({ key: list })).into_response()
}

fn user_json(u: &SandboxUser) -> Value {
    serde_json::to_value(u).unwrap_or(Value::Null)
}

async fn list_users(
    Extract(s): Extract<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = authorize(&s, &headers) {
        return r.into_response();
    }
    let number: usize = q
        .get("page[number]")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1);
    let size: usize = match q.get("page[size]").map(|v| v.parse::<usize>()) {
        None => 20,
        Some(Ok(n)) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_page_size",
                "page[size] must be between 1 and 100",
            )
            .into_response();
        }
    };
    let st = lock(&s.state);
    let start = (number - 1).saturating_mul(size);
    let filtered = q.contains_key("email") || q.contains_key("status");
    let matches: Vec<&SandboxUser> = if filtered {
        st.users
            .iter()
            .filter(|u| {
                q.get("email")
                    .is_none_or(|e| u.email.eq_ignore_ascii_case(e))
            })
            .filter(|u| q.get("status").is_none_or(|v| &u.status == v))
            .collect()
    } else {
        st.users.iter().skip(start).take(size).collect()
    };
    let total = if filtered {
        matches.len()
    } else {
        st.users.len()
    };
    let page: Vec<&SandboxUser> = if filtered {
        matches.into_iter().skip(start).take(size).collect()
    } else {
        matches
    };
    // Serialized straight from the stored users, without an intermediate tree.
    #[derive(serde::Serialize)]
    struct UsersPage<'a> {
        users: Vec<&'a SandboxUser>,
        meta: Value,
    }
    let meta = json!({"total": total, "page": number});
    Json(UsersPage { users: page, meta }).into_response()
}

async fn get_user(
    Extract(s): Extract<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&s, &headers) {
        return r.into_response();
    }
    let st = lock(&s.state);
    match st.users.iter().find(|u| u.id == id) {
        Some(u) => Json(user_json(u)).into_response(),
        None => error(StatusCode::NOT_FOUND, "not_found", "user not found").into_response(),
    }
}

/// Checks role, team and ring-group IDs; 422 names the first unknown one.
fn check_refs(st: &State, body: &Map<String, Value>) -> Result<(), ApiError> {
    if let Some(role) = body.get("role") {
        let id = role.as_str().unwrap_or_default();
        if !st.roles.iter().any(|r| r.id == id) {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_role",
                &format!("unknown role id {id}"),
            ));
        }
    }
    for (key, list, what) in [
        ("teams", &st.teams, "team"),
        ("ring_groups", &st.ring_groups, "ring group"),
    ] {
        let Some(v) = body.get(key) else { continue };
        let Some(ids) = v.as_array() else {
            return Err(error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_field",
                &format!("{key} must be a list of IDs"),
            ));
        };
        for id in ids {
            let id = id.as_str().unwrap_or_default();
            if !list.iter().any(|t| t.id == id) {
                return Err(error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &format!("invalid_{key}"),
                    &format!("unknown {what} id {id}"),
                ));
            }
        }
    }
    Ok(())
}

const FIELDS: [&str; 9] = [
    "name",
    "email",
    "role",
    "status",
    "extension",
    "ring_groups",
    "teams",
    "time_zone",
    "language",
];

/// Applies the fields of `body` to `u` (PATCH semantics: only the fields sent).
fn set_fields(u: &mut SandboxUser, body: &Map<String, Value>) -> Result<(), ApiError> {
    let text = |v: &Value| v.as_str().map(String::from);
    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x.as_str().map(String::from))
            .collect()
    };
    for (k, v) in body {
        match k.as_str() {
            "name" => u.name = text(v).unwrap_or_default(),
            "email" => u.email = text(v).unwrap_or_default(),
            "role" => u.role = text(v).unwrap_or_default(),
            "status" => match v.as_str() {
                Some(s @ ("active" | "inactive")) => u.status = s.to_string(),
                _ => {
                    return Err(error(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_status",
                        "status must be active or inactive",
                    ));
                }
            },
            "extension" => u.extension = text(v),
            "ring_groups" => u.ring_groups = ids(v),
            "teams" => u.teams = ids(v),
            "time_zone" => u.time_zone = text(v),
            "language" => u.language = text(v),
            other => {
                return Err(error(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "unknown_field",
                    &format!("unknown field {other}; allowed: {}", FIELDS.join(", ")),
                ));
            }
        }
    }
    Ok(())
}

fn email_taken(st: &State, email: &str, except: Option<&str>) -> bool {
    st.users
        .iter()
        .any(|u| u.email.eq_ignore_ascii_case(email) && Some(u.id.as_str()) != except)
}

async fn create_user(
    Extract(s): Extract<Arc<Shared>>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    let body = match object_body(&s, &headers, body) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    for required in ["name", "email", "role"] {
        if !body.get(required).is_some_and(Value::is_string) {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "missing_field",
                &format!("{required} is required"),
            )
            .into_response();
        }
    }
    let email = body["email"].as_str().unwrap_or_default().to_string();
    let result = s.change("POST /users".to_string(), |st| {
        if email_taken(st, &email, None) {
            return Err(error(
                StatusCode::CONFLICT,
                "duplicate_email",
                &format!("a user with email {email} already exists"),
            ));
        }
        check_refs(st, &body)?;
        let stamp = st.stamp();
        let mut u = SandboxUser::new(
            uuid::Uuid::new_v4().to_string(),
            String::new(),
            String::new(),
            String::new(),
            stamp,
        );
        let mut fields = body.clone();
        fields.remove("status");
        set_fields(&mut u, &fields)?;
        let out = user_json(&u);
        st.users.push(u);
        Ok((out, email.clone()))
    });
    match result {
        Ok(u) => (StatusCode::CREATED, Json(u)).into_response(),
        Err(r) => r.into_response(),
    }
}

async fn patch_user(
    Extract(s): Extract<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let body = match object_body(&s, &headers, body) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    let result = s.change(format!("PATCH /users/{id}"), |st| {
        check_refs(st, &body)?;
        if let Some(email) = body.get("email").and_then(Value::as_str)
            && email_taken(st, email, Some(&id))
        {
            return Err(error(
                StatusCode::CONFLICT,
                "duplicate_email",
                &format!("a user with email {email} already exists"),
            ));
        }
        let stamp = st.stamp();
        let Some(u) = st.users.iter_mut().find(|u| u.id == id) else {
            return Err(error(StatusCode::NOT_FOUND, "not_found", "user not found"));
        };
        set_fields(u, &body)?;
        u.updated_at = stamp;
        let (out, email, inactive) = (user_json(u), u.email.clone(), u.status == "inactive");
        if inactive {
            // Deactivation releases the user's add-on seats.
            for a in &mut st.addons {
                a.assigned.retain(|x| x != &id);
            }
        }
        Ok((out, email))
    });
    match result {
        Ok(u) => Json(u).into_response(),
        Err(r) => r.into_response(),
    }
}

/// Implemented because the real API has it; roster never sends it, and the request log
/// lets every test prove that.
async fn delete_user(
    Extract(s): Extract<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = authorize(&s, &headers) {
        return r.into_response();
    }
    let result = s.change(format!("DELETE /users/{id}"), |st| {
        let Some(i) = st.users.iter().position(|u| u.id == id) else {
            return Err(error(StatusCode::NOT_FOUND, "not_found", "user not found"));
        };
        let u = st.users.remove(i);
        Ok(((), u.email))
    });
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => r.into_response(),
    }
}
