//! The modeled Talkdesk Phone and add-on license endpoints (paths in
//! `provider::talkdesk::paths`), with the checks a real account would make.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Path, State as Extract};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::talkdesk::{AnyToken, object_body};
use super::{ApiError, Shared, State, error, lock};
use roster_core::config::{is_e164, is_reserved_extension};
use roster_core::model::PhoneSettings;
use roster_providers::talkdesk::contract::paths;

pub(super) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(paths::PHONE_NUMBERS, get(numbers))
        .route(paths::PHONE_DEVICES, get(devices))
        .route(
            &paths::phone_settings("{id}"),
            get(get_settings).patch(patch_settings),
        )
        .route(paths::ADDONS, get(addons))
        .route(&paths::addon_users("{name}"), put(put_addon_users))
}

/// Which user holds a number or device, if any.
fn holder(st: &State, pick: impl Fn(&PhoneSettings) -> bool) -> Option<String> {
    st.phone
        .iter()
        .find(|(_, p)| pick(p))
        .map(|(id, _)| id.clone())
}

async fn numbers(Extract(s): Extract<Arc<Shared>>, _: AnyToken) -> Response {
    let st = lock(&s.state);
    let list: Vec<Value> = st
        .phone_numbers
        .iter()
        .map(|n| json!({"number": n, "assigned_to": holder(&st, |p| p.numbers.iter().flatten().any(|x| x == n))}))
        .collect();
    Json(json!({ "numbers": list })).into_response()
}

async fn devices(Extract(s): Extract<Arc<Shared>>, _: AnyToken) -> Response {
    let st = lock(&s.state);
    let list: Vec<Value> = st
        .phone_devices
        .iter()
        .map(|d| json!({"id": d, "assigned_to": holder(&st, |p| p.sip_phones.iter().flatten().any(|x| x == d))}))
        .collect();
    Json(json!({ "devices": list })).into_response()
}

async fn get_settings(
    Extract(s): Extract<Arc<Shared>>,
    _: AnyToken,
    Path(id): Path<String>,
) -> Response {
    let st = lock(&s.state);
    if !st.users.iter().any(|u| u.id == id) {
        return error(StatusCode::NOT_FOUND, "not_found", "user not found").into_response();
    }
    Json(st.phone_of(&id)).into_response()
}

fn unprocessable(code: &str, message: String) -> ApiError {
    error(StatusCode::UNPROCESSABLE_ENTITY, code, &message)
}

/// Checks merged settings against the account: purchased numbers, owned devices, each
/// held by one user, valid numbers and extensions.
fn check_settings(st: &State, id: &str, p: &PhoneSettings) -> Result<(), ApiError> {
    for n in p.numbers.iter().flatten() {
        if !st.phone_numbers.contains(n) {
            return Err(unprocessable(
                "unknown_number",
                format!("{n} is not a purchased number"),
            ));
        }
        if let Some(other) =
            holder(st, |q| q.numbers.iter().flatten().any(|x| x == n)).filter(|o| o != id)
        {
            return Err(error(
                StatusCode::CONFLICT,
                "number_in_use",
                &format!("{n} is assigned to user {other}"),
            ));
        }
    }
    for d in p.sip_phones.iter().flatten() {
        if !st.phone_devices.contains(d) {
            return Err(unprocessable(
                "unknown_device",
                format!("SIP phone {d} does not exist"),
            ));
        }
        if let Some(other) =
            holder(st, |q| q.sip_phones.iter().flatten().any(|x| x == d)).filter(|o| o != id)
        {
            return Err(error(
                StatusCode::CONFLICT,
                "device_in_use",
                &format!("SIP phone {d} is assigned to user {other}"),
            ));
        }
    }
    for n in p
        .caller_id
        .iter()
        .chain(p.call_forward.as_ref().and_then(|c| c.number.as_ref()))
    {
        if !is_e164(n) {
            return Err(unprocessable(
                "invalid_number",
                format!("{n} is not an E.164 number"),
            ));
        }
    }
    if p.call_forward
        .as_ref()
        .is_some_and(|c| c.enabled && c.number.is_none())
    {
        return Err(unprocessable(
            "invalid_call_forward",
            "call forward needs a number".into(),
        ));
    }
    if let Some(e) = &p.extension
        && is_reserved_extension(e)
    {
        return Err(unprocessable(
            "reserved_extension",
            format!("extension {e} is reserved"),
        ));
    }
    Ok(())
}

async fn patch_settings(
    Extract(s): Extract<Arc<Shared>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let body = match object_body(&s, &headers, body) {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    let result = s.change(format!("PATCH {}", paths::phone_settings(&id)), |st| {
        let Some(email) = st
            .users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.email.clone())
        else {
            return Err(error(StatusCode::NOT_FOUND, "not_found", "user not found"));
        };
        let mut merged = serde_json::to_value(st.phone_of(&id)).unwrap_or(Value::Null);
        for (k, v) in body {
            merged[k] = v;
        }
        let settings: PhoneSettings = serde_json::from_value(merged)
            .map_err(|e| unprocessable("invalid_settings", e.to_string()))?;
        check_settings(st, &id, &settings)?;
        st.phone.insert(id.clone(), settings.clone());
        Ok((settings, email))
    });
    match result {
        Ok(settings) => Json(settings).into_response(),
        Err(r) => r.into_response(),
    }
}

async fn addons(Extract(s): Extract<Arc<Shared>>, _: AnyToken) -> Response {
    let st = lock(&s.state);
    Json(json!({ "addons": st.addons })).into_response()
}

async fn put_addon_users(
    Extract(s): Extract<Arc<Shared>>,
    _: AnyToken,
    Path(name): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let ids: Option<BTreeSet<String>> =
        body.and_then(|Json(v)| serde_json::from_value(v.get("user_ids")?.clone()).ok());
    let Some(ids) = ids else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_body",
            "expected {\"user_ids\": [...]}",
        )
        .into_response();
    };
    let result = s.change(format!("PUT {}", paths::addon_users(&name)), |st| {
        for id in &ids {
            match st.users.iter().find(|u| &u.id == id) {
                None => {
                    return Err(unprocessable(
                        "unknown_user",
                        format!("unknown user id {id}"),
                    ));
                }
                Some(u) if u.status != "active" => {
                    return Err(unprocessable(
                        "inactive_user",
                        format!("user {} is inactive", u.email),
                    ));
                }
                Some(_) => {}
            }
        }
        let Some(addon) = st.addons.iter_mut().find(|a| a.name == name) else {
            return Err(error(
                StatusCode::NOT_FOUND,
                "not_found",
                &format!("no add-on {name}"),
            ));
        };
        if ids.len() > addon.entitlement as usize {
            return Err(unprocessable(
                "entitlement_exceeded",
                format!(
                    "{} users exceed the {name} entitlement of {}",
                    ids.len(),
                    addon.entitlement
                ),
            ));
        }
        let changed: Vec<String> = ids
            .symmetric_difference(&addon.assigned.iter().cloned().collect())
            .cloned()
            .collect();
        addon.assigned = ids.iter().cloned().collect();
        let emails: Vec<String> = st
            .users
            .iter()
            .filter(|u| changed.contains(&u.id))
            .map(|u| u.email.clone())
            .collect();
        Ok(((), emails.join(",")))
    });
    match result {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(r) => r.into_response(),
    }
}
