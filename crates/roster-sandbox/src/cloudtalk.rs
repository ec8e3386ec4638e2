//! The CloudTalk emulator, built to CloudTalk's OpenAPI document (a copy is
//! tests/fixtures/cloudtalk-openapi.json): `responseData` envelopes, 403 past the seat
//! count, 406 with per-field errors, unique four-digit extensions, HTTP Basic with key
//! `sandbox` / `sandbox-secret`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State as Extract};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use base64::Engine;
use serde_json::{Map, Value, json};

use super::{CLIENT_ID, CLIENT_SECRET, SandboxUser, Shared, State, lock};
use roster_core::model::Named;
use roster_providers::cloudtalk::contract::{ENVELOPE, LIMIT, paths};

/// A CloudTalk answer: the status inside `responseData` too.
fn answer(status: StatusCode, data: Value) -> Response {
    // The schema types `status` as a string (its examples show numbers): follow the schema.
    let mut body = json!({"status": status.as_u16().to_string()});
    if let Value::Object(m) = data {
        for (k, v) in m {
            body[k] = v;
        }
    }
    (status, Json(json!({ (ENVELOPE): body }))).into_response()
}

fn failure(status: StatusCode, message: &str, fields: Option<Value>) -> Response {
    let mut data = json!({"message": message});
    if let Some(f) = fields {
        data["data"] = f;
    }
    answer(status, data)
}

fn authorize(headers: &HeaderMap) -> Result<(), Box<Response>> {
    let pair = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    if pair.as_deref() == Some(&format!("{CLIENT_ID}:{CLIENT_SECRET}")) {
        Ok(())
    } else {
        Err(Box::new(failure(
            StatusCode::UNAUTHORIZED,
            "Invalid access key.",
            None,
        )))
    }
}

/// A request whose HTTP Basic key is the sandbox's; otherwise CloudTalk's 401 answers
/// it before the handler runs.
struct Authorized;

impl FromRequestParts<Arc<Shared>> for Authorized {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &Arc<Shared>) -> Result<Self, Response> {
        authorize(&parts.headers)
            .map(|()| Authorized)
            .map_err(|r| *r)
    }
}

/// A JSON object body; anything else is CloudTalk's 406 "Invalid input data.".
struct Object(Map<String, Value>);

impl FromRequest<Arc<Shared>> for Object {
    type Rejection = Response;

    async fn from_request(req: Request, s: &Arc<Shared>) -> Result<Self, Response> {
        let body = Option::<Json<Value>>::from_request(req, s)
            .await
            .unwrap_or(None);
        object(body).map(Object).map_err(|r| *r)
    }
}

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(paths::AGENTS, get(list_agents))
        .route(paths::AGENT_ADD, put(add_agent))
        .route(&format!("{}/{{file}}", paths::AGENT_EDIT), post(edit_agent))
        .route(
            &format!("{}/{{file}}", paths::AGENT_DELETE),
            delete(delete_agent),
        )
        .route(paths::GROUPS, get(list_groups))
        .route(paths::GROUP_ADD, put(add_to_group))
        .route(
            &format!("{}/{{file}}", paths::GROUP_LEAVE),
            delete(remove_from_group),
        )
}

/// A string ID as the schema's integer when it is one.
fn num(id: &str) -> Value {
    id.parse::<i64>().map_or_else(|_| json!(id), |n| json!(n))
}

fn agent_json(u: &SandboxUser) -> Value {
    let (first, last) = u.name.split_once(' ').unwrap_or((u.name.as_str(), ""));
    let mut a = json!({
        "id": num(&u.id), "name": "", "firstname": first, "lastname": last, "email": u.email,
        "is_daily_limit_ok": true, "status_outbound": u.status == "active",
        "availability_status": "offline", "associated_numbers": [],
    });
    if let Some(e) = u.extension.as_ref().and_then(|e| e.parse::<i64>().ok()) {
        a["extension"] = json!(e);
    }
    a
}

/// One page of `items` in the `responseData` envelope; only the page's items become
/// JSON, so a 100,000-agent company is served a page at a time.
fn page<T>(items: &[T], json: impl Fn(&T) -> Value, q: &HashMap<String, String>) -> Response {
    let limit: usize = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 10,
        Some(Ok(n)) if (1..=LIMIT).contains(&n) => n,
        Some(_) => {
            return failure(
                StatusCode::NOT_ACCEPTABLE,
                "Invalid input data.",
                Some(json!({"limit": ["Limit must be between 1 and 1000."]})),
            );
        }
    };
    let number: usize = q
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    let total = items.len();
    let data: Vec<Value> = items
        .iter()
        .skip((number - 1).saturating_mul(limit))
        .take(limit)
        .map(json)
        .collect();
    answer(
        StatusCode::OK,
        json!({"itemsCount": total, "pageCount": total.div_ceil(limit).max(1), "pageNumber": number, "limit": limit, "data": data}),
    )
}

async fn list_agents(
    Extract(s): Extract<Arc<Shared>>,
    _: Authorized,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let st = lock(&s.state);
    let agent = |u: &SandboxUser| json!({"Agent": agent_json(u)});
    match q.get("id") {
        Some(id) => {
            let found: Vec<&SandboxUser> = st.users.iter().filter(|u| &u.id == id).collect();
            page(&found, |u| agent(u), &q)
        }
        None => page(&st.users, agent, &q),
    }
}

async fn list_groups(
    Extract(s): Extract<Arc<Shared>>,
    _: Authorized,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let st = lock(&s.state);
    let group = |g: &Named| json!({"Groups": {"id": num(&g.id), "internal_name": g.name}});
    page(&st.teams, group, &q)
}

/// Per-field problems of an agent body, CloudTalk style.
fn check_agent(
    st: &State,
    body: &Map<String, Value>,
    required: &[&str],
    except: Option<&str>,
) -> Option<Value> {
    let mut errors = Map::new();
    for field in required {
        if body
            .get(*field)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            errors.insert(field.to_string(), json!(["This field is required."]));
        }
    }
    if let Some(email) = body.get("email").and_then(Value::as_str) {
        if !email_address::EmailAddress::is_valid(email) {
            errors.insert(
                "email".into(),
                json!(["Please supply a valid email address."]),
            );
        } else if st
            .users
            .iter()
            .any(|u| u.email.eq_ignore_ascii_case(email) && Some(u.id.as_str()) != except)
        {
            errors.insert("email".into(), json!(["This email is already used."]));
        }
    }
    if let Some(ext) = body.get("extension") {
        match ext.as_i64() {
            Some(n) if (1000..=9999).contains(&n) => {
                if st.users.iter().any(|u| {
                    u.extension.as_deref() == Some(&n.to_string()) && Some(u.id.as_str()) != except
                }) {
                    errors.insert(
                        "extension".into(),
                        json!(["Extension must be unique across the company."]),
                    );
                }
            }
            _ => {
                errors.insert(
                    "extension".into(),
                    json!(["Extension must be four digits long."]),
                );
            }
        }
    }
    (!errors.is_empty()).then_some(Value::Object(errors))
}

fn object(body: Option<Json<Value>>) -> Result<Map<String, Value>, Box<Response>> {
    match body {
        Some(Json(Value::Object(m))) => Ok(m),
        _ => Err(Box::new(failure(
            StatusCode::NOT_ACCEPTABLE,
            "Invalid input data.",
            None,
        ))),
    }
}

async fn add_agent(
    Extract(s): Extract<Arc<Shared>>,
    _: Authorized,
    Object(body): Object,
) -> Response {
    let max = s.config.max_agents;
    let mut refusal = None;
    let result = s.change("PUT /agents/add.json".into(), |st| {
        if max.is_some_and(|m| st.users.iter().filter(|u| u.status == "active").count() >= m) {
            refusal = Some(failure(
                StatusCode::FORBIDDEN,
                "Max. number of agents reached.",
                None,
            ));
            return Err(super::error(StatusCode::FORBIDDEN, "max", "max"));
        }
        if let Some(errors) =
            check_agent(st, &body, &["firstname", "lastname", "email", "pass"], None)
        {
            refusal = Some(failure(
                StatusCode::NOT_ACCEPTABLE,
                "Invalid input data.",
                Some(errors),
            ));
            return Err(super::error(
                StatusCode::NOT_ACCEPTABLE,
                "invalid",
                "invalid",
            ));
        }
        let next = st
            .users
            .iter()
            .filter_map(|u| u.id.parse::<i64>().ok())
            .max()
            .unwrap_or(1000)
            + 1;
        let text = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let stamp = st.stamp();
        let role = st
            .roles
            .iter()
            .find(|r| r.name == "Agent")
            .map(|r| r.id.clone())
            .unwrap_or_default();
        let mut u = SandboxUser::new(
            next.to_string(),
            text("email"),
            format!("{} {}", text("firstname"), text("lastname")),
            role,
            stamp,
        );
        u.extension = body
            .get("extension")
            .and_then(Value::as_i64)
            .map(|e| e.to_string());
        if body.get("status_outbound") == Some(&json!(false)) {
            u.status = "inactive".into();
        }
        let email = u.email.clone();
        st.users.push(u);
        Ok((next, email))
    });
    match (result, refusal) {
        (Ok(id), _) => answer(StatusCode::CREATED, json!({"data": {"id": id}})),
        (Err(_), Some(r)) => r,
        (Err(e), None) => failure(e.status, &e.message, None),
    }
}

/// `{id}.json` → `id`.
fn id_in(file: &str) -> String {
    file.trim_end_matches(".json").to_string()
}

async fn edit_agent(
    Extract(s): Extract<Arc<Shared>>,
    _: Authorized,
    Path(file): Path<String>,
    Object(body): Object,
) -> Response {
    let id = id_in(&file);
    let mut refusal = None;
    let result = s.change(format!("POST /agents/edit/{file}"), |st| {
        let Some(current) = st.users.iter().find(|u| u.id == id).cloned() else {
            refusal = Some(failure(StatusCode::NOT_FOUND, "Agent not found.", None));
            return Err(super::error(StatusCode::NOT_FOUND, "nf", "nf"));
        };
        let mut errors = check_agent(st, &body, &["firstname", "lastname", "email"], Some(&id));
        if body
            .get("extension")
            .and_then(Value::as_i64)
            .map(|e| e.to_string())
            .is_some_and(|e| Some(&e) != current.extension.as_ref())
        {
            errors = Some(json!({"extension": ["Extension cannot be changed."]}));
        }
        if let Some(errors) = errors {
            refusal = Some(failure(
                StatusCode::NOT_ACCEPTABLE,
                "Invalid input data.",
                Some(errors),
            ));
            return Err(super::error(
                StatusCode::NOT_ACCEPTABLE,
                "invalid",
                "invalid",
            ));
        }
        let stamp = st.stamp();
        let u = st
            .users
            .iter_mut()
            .find(|u| u.id == id)
            .expect("found above");
        let text = |k: &str| {
            body.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        u.name = format!("{} {}", text("firstname"), text("lastname"))
            .trim()
            .to_string();
        u.email = text("email");
        if let Some(b) = body.get("status_outbound").and_then(Value::as_bool) {
            u.status = if b {
                "active".into()
            } else {
                "inactive".into()
            };
        }
        u.updated_at = stamp;
        Ok(((), u.email.clone()))
    });
    match (result, refusal) {
        (Ok(()), _) => answer(StatusCode::OK, json!({})),
        (Err(_), Some(r)) => r,
        (Err(e), None) => failure(e.status, &e.message, None),
    }
}

/// Implemented because the real API has it (a hard delete); roster never sends it.
async fn delete_agent(
    Extract(s): Extract<Arc<Shared>>,
    _: Authorized,
    Path(file): Path<String>,
) -> Response {
    remove_agent(&s, format!("DELETE /agents/delete/{file}"), id_in(&file))
}

/// Deletes agent `id` for good.
fn remove_agent(s: &Shared, request: String, id: String) -> Response {
    let result = s.change(request, |st| {
        let i = st
            .users
            .iter()
            .position(|u| u.id == id)
            .ok_or_else(|| super::error(StatusCode::NOT_FOUND, "nf", "Agent not found."))?;
        Ok(((), st.users.remove(i).email))
    });
    match result {
        Ok(()) => answer(StatusCode::OK, json!({})),
        Err(e) => failure(e.status, &e.message, None),
    }
}

fn membership(
    s: &Shared,
    request: String,
    agent: String,
    group: Option<i64>,
    add: bool,
) -> Response {
    let Some(group) = group.map(|g| g.to_string()) else {
        return failure(
            StatusCode::NOT_ACCEPTABLE,
            "Invalid input data.",
            Some(json!({"group_id": ["This field is required."]})),
        );
    };
    let mut refusal = None;
    let result = s.change(request, |st| {
        if !st.teams.iter().any(|t| t.id == group) {
            refusal = Some(failure(
                StatusCode::NOT_ACCEPTABLE,
                "Invalid input data.",
                Some(json!({"group_id": ["Group not found."]})),
            ));
            return Err(super::error(
                StatusCode::NOT_ACCEPTABLE,
                "invalid",
                "invalid",
            ));
        }
        let Some(u) = st.users.iter_mut().find(|u| u.id == agent) else {
            refusal = Some(failure(StatusCode::NOT_FOUND, "Agent not found.", None));
            return Err(super::error(StatusCode::NOT_FOUND, "nf", "nf"));
        };
        let member = u.teams.contains(&group);
        if !add && !member {
            refusal = Some(failure(
                StatusCode::NOT_FOUND,
                "Agent is not in the group.",
                None,
            ));
            return Err(super::error(StatusCode::NOT_FOUND, "nf", "nf"));
        }
        u.teams.retain(|t| t != &group);
        if add {
            u.teams.push(group.clone());
        }
        Ok(((), u.email.clone()))
    });
    match (result, refusal) {
        (Ok(()), _) => answer(StatusCode::OK, json!({"data": {"id": num(&agent)}})),
        (Err(_), Some(r)) => r,
        (Err(e), None) => failure(e.status, &e.message, None),
    }
}

async fn add_to_group(
    Extract(s): Extract<Arc<Shared>>,
    _: Authorized,
    Object(body): Object,
) -> Response {
    let agent = body
        .get("agent_id")
        .and_then(Value::as_i64)
        .map(|a| a.to_string())
        .unwrap_or_default();
    membership(
        &s,
        "PUT /groups/add.json".into(),
        agent,
        body.get("group_id").and_then(Value::as_i64),
        true,
    )
}

async fn remove_from_group(
    Extract(s): Extract<Arc<Shared>>,
    _: Authorized,
    Path(file): Path<String>,
    Object(body): Object,
) -> Response {
    let request = format!("DELETE /groups/delete/{file}");
    // The other reading of its reference: the agent is deleted.
    if s.config.cloudtalk_leave_deletes {
        return remove_agent(&s, request, id_in(&file));
    }
    membership(
        &s,
        request,
        id_in(&file),
        body.get("group_id").and_then(Value::as_i64),
        false,
    )
}
