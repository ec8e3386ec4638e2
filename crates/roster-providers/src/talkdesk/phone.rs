//! Talkdesk Phone settings and add-on licenses. No public contract exists for either:
//! the paths in [`contract::paths`](super::contract::paths) are modeled (docs/talkdesk.md),
//! and both are read only when the roster declares them.

use std::collections::{BTreeSet, HashMap};

use futures_util::{StreamExt, TryStreamExt, stream};
use reqwest::Method;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::contract::paths;
use crate::http::{HttpClient, Idempotence};
use crate::{ProviderError, ReadScope};
use roster_core::model::{Addon, Names, PhoneSettings, Status, User};
use roster_core::plan::{Change, Field};

/// An add-on with its entitlement and assignees (modeled).
#[derive(Deserialize)]
pub struct WireAddon {
    name: String,
    entitlement: u32,
    #[serde(default)]
    assigned: Vec<String>,
}

fn decode(request: &str, message: String) -> ProviderError {
    ProviderError::Decode {
        request: format!("GET {request}"),
        message,
    }
}

async fn get(http: &HttpClient, path: &str) -> Result<Value, ProviderError> {
    Ok(http
        .send(Method::GET, path, None, Idempotence::Safe)
        .await?
        .1)
}

async fn read_addons(http: &HttpClient) -> Result<Vec<WireAddon>, ProviderError> {
    let v = get(http, paths::ADDONS).await?;
    let list = v
        .get("addons")
        .cloned()
        .ok_or_else(|| decode(paths::ADDONS, "the response has no `addons` list".into()))?;
    serde_json::from_value(list)
        .map_err(|e| decode(paths::ADDONS, format!("unexpected add-on: {e}")))
}

/// The add-ons, when the roster declares any.
pub async fn read_addons_if(
    http: Option<&HttpClient>,
    wanted: bool,
) -> Result<Vec<WireAddon>, ProviderError> {
    match http {
        Some(http) if wanted => read_addons(http).await,
        _ => Ok(Vec::new()),
    }
}

/// Entitlements, and the add-on names each user ID holds.
pub fn addons_of(wire: Vec<WireAddon>) -> (Vec<Addon>, HashMap<String, Names>) {
    let mut held: HashMap<String, Names> = HashMap::new();
    for a in &wire {
        for id in &a.assigned {
            held.entry(id.clone()).or_default().insert(a.name.clone());
        }
    }
    let addons = wire
        .into_iter()
        .map(|a| Addon {
            name: a.name,
            entitlement: a.entitlement,
        })
        .collect();
    (addons, held)
}

/// Purchased numbers and SIP phones, and the settings of the users in `scope`.
pub async fn read_phone(
    http: &HttpClient,
    users: &mut [User],
    scope: &ReadScope,
    concurrency: usize,
) -> Result<(Vec<String>, Vec<String>), ProviderError> {
    if scope.phone_for.is_empty() && !scope.phone_for_all {
        return Ok((Vec::new(), Vec::new()));
    }
    let (numbers, devices) = tokio::try_join!(
        get(http, paths::PHONE_NUMBERS),
        get(http, paths::PHONE_DEVICES)
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
                let v = get(http, &path).await?;
                let s: PhoneSettings = serde_json::from_value(v)
                    .map_err(|e| decode(&path, format!("unexpected phone settings: {e}")))?;
                Ok::<_, ProviderError>((i, s))
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    for (i, s) in settings {
        users[i].phone = Some(Box::new(s));
    }
    Ok((numbers, devices))
}

/// PATCHes the changed phone settings, if any.
pub async fn write_phone(
    http: &HttpClient,
    id: &str,
    change: &Change,
) -> Result<(), ProviderError> {
    let body: Map<String, Value> = change
        .fields
        .iter()
        .filter_map(|(f, fc)| f.phone_setting().map(|k| (k.to_string(), fc.to.clone())))
        .collect();
    if body.is_empty() {
        return Ok(());
    }
    http.send(
        Method::PATCH,
        &paths::phone_settings(id),
        Some(&Value::Object(body)),
        Idempotence::Safe,
    )
    .await?;
    Ok(())
}

/// Assigns or releases add-on licenses. The API replaces an add-on's whole user list,
/// so each change reads it afresh under `lock` and writes it back.
pub async fn write_addons(
    http: &HttpClient,
    lock: &tokio::sync::Mutex<()>,
    id: &str,
    change: &Change,
) -> Result<(), ProviderError> {
    let Some(fc) = change.fields.get(&Field::Addons) else {
        return Ok(());
    };
    let set =
        |v: &Value| -> BTreeSet<String> { serde_json::from_value(v.clone()).unwrap_or_default() };
    let (from, to) = (set(&fc.from), set(&fc.to));
    let _guard = lock.lock().await;
    let current = read_addons(http).await?;
    for name in from.symmetric_difference(&to) {
        let Some(addon) = current.iter().find(|a| &a.name == name) else {
            return Err(ProviderError::Unsupported(format!(
                "add-on `{name}` does not exist in the account"
            )));
        };
        let mut users: BTreeSet<String> = addon.assigned.iter().cloned().collect();
        if to.contains(name) {
            users.insert(id.to_string());
        } else {
            users.remove(id);
        }
        let body = json!({ "user_ids": users });
        http.send(
            Method::PUT,
            &paths::addon_users(name),
            Some(&body),
            Idempotence::Safe,
        )
        .await?;
    }
    Ok(())
}
