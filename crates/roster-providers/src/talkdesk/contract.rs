//! Talkdesk's wire contract in one place: every path, scope, wire type and limit the
//! client sends or reads, each with its source. The emulator serves these same
//! constants; it may import this module, the product never imports the emulator.
//!
//! Sources: "doc" is Talkdesk's own reference (docs.talkdesk.com, support.talkdesk.com);
//! "connector" is Talkdesk's certified Power Platform connector; "modeled" means no
//! public contract shows it and this project defines one (docs/talkdesk.md lists them).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use roster_core::config::Region;

/// API base per region. Doc: "Supported Regions and Base URLs" on
/// https://docs.talkdesk.com/reference/client-credentials-sts-token.
pub fn api_base(region: Region) -> &'static str {
    match region {
        Region::Us => "https://api.talkdeskapp.com",
        Region::Eu => "https://api.talkdeskapp.eu",
        Region::Ca => "https://api.talkdeskappca.com",
    }
}

/// Token endpoint of an account. Doc:
/// https://docs.talkdesk.com/reference/client-credentials-sts-token and
/// https://docs.talkdesk.com/reference/cc-basic (client ID and secret as HTTP Basic, `scope`
/// space-separated).
pub fn token_url(account: &str, region: Region) -> String {
    let host = match region {
        Region::Us => "talkdeskid.com",
        Region::Eu => "talkdeskid.eu",
        Region::Ca => "talkdeskidca.com",
    };
    format!("https://{account}.{host}/oauth/token")
}

/// The token path the emulator serves (on the real service it lives on the account's
/// own `talkdeskid` host, see [`token_url`]).
pub const TOKEN_PATH: &str = "/oauth/token";

/// OAuth scopes. Doc: https://docs.talkdesk.com/docs/scopes, reference pages of each endpoint.
pub mod scopes {
    /// `GET /users`.
    pub const USERS_READ: &str = "users:read";
    /// Every SCIM call, reads and writes alike (SCIM has one scope).
    pub const SCIM: &str = "scim";
    /// `GET /ccaas/queues`.
    pub const QUEUES_READ: &str = "queues:read";
    /// `POST`/`DELETE /ccaas/queues/users`.
    pub const QUEUES_WRITE: &str = "queues:write";
    /// `GET /ccaas/queues/{id}/users`.
    pub const QUEUES_USERS_READ: &str = "queues-users:read";
    /// `GET /guardian/users`: roles and activation states, read-only. Doc:
    /// https://docs.talkdesk.com/reference/guardianusers.
    pub const GUARDIAN_USERS_READ: &str = "guardian-users:read";
}

/// Paths on the API base. Users and queues: doc; Phone and add-ons: modeled.
pub mod paths {
    /// HAL users list, `page`/`per_page`, `email` filter. Doc:
    /// https://docs.talkdesk.com/reference/users; connector "Get user by email".
    pub const USERS: &str = "/users";
    /// HAL queues list. Doc: https://docs.talkdesk.com/docs/queues-api.
    pub const QUEUES: &str = "/ccaas/queues";
    /// Bulk assign (POST) and unassign (DELETE) of users to queues. Doc:
    /// https://docs.talkdesk.com/reference/assignuserstoqueues,
    /// https://docs.talkdesk.com/reference/unassignuserstoqueues.
    pub const QUEUE_USERS: &str = "/ccaas/queues/users";
    /// Guardian's HAL users list: role and activation state of every user, read-only
    /// (Guardian is a paid product; not every account has it). Doc:
    /// https://docs.talkdesk.com/reference/guardianusers.
    pub const GUARDIAN_USERS: &str = "/guardian/users";
    /// Purchased numbers (DIDs). Modeled.
    pub const PHONE_NUMBERS: &str = "/phone/numbers";
    /// SIP phones. Modeled.
    pub const PHONE_DEVICES: &str = "/phone/devices";
    /// Add-on licenses with entitlements and assignees. Modeled.
    pub const ADDONS: &str = "/subscriptions/addons";
    /// SCIM base under the API base. Doc: https://docs.talkdesk.com/docs/scim-api.
    pub const SCIM_BASE: &str = "/scim/v2";
    /// SCIM users (the only SCIM resource Talkdesk serves). Doc:
    /// https://docs.talkdesk.com/docs/scim-api.
    pub const SCIM_USERS: &str = "/Users";
    /// SCIM service provider configuration: says whether PATCH is supported. Doc:
    /// https://docs.talkdesk.com/reference/get-service-provider-configurations.
    pub const SCIM_CONFIG: &str = "/ServiceProviderConfig";

    /// The members of one queue (HAL). Doc: https://docs.talkdesk.com/docs/queues-api.
    pub fn queue_members(queue_id: &str) -> String {
        format!("/ccaas/queues/{queue_id}/users")
    }

    /// One user's phone settings. Modeled.
    pub fn phone_settings(user_id: &str) -> String {
        format!("/phone/users/{user_id}/settings")
    }

    /// The assignees of one add-on (PUT replaces the list). Modeled.
    pub fn addon_users(addon: &str) -> String {
        format!("/subscriptions/addons/{addon}/users")
    }
}

/// Page size asked for on HAL lists; the maximum is not published (doc:
/// https://docs.talkdesk.com/docs/paging-results says 50 by default), so the size granted is read
/// back.
pub const PER_PAGE: usize = 100;
/// The queue list's order roster asks for. The list's default is most recently updated
/// first, so pages read one after another, or at once, skip or repeat a queue that a
/// supervisor edits meanwhile; by name the pages hold still. Doc:
/// https://docs.talkdesk.com/reference/get-list-of-queues (`order_by`).
pub const QUEUES_ORDER: &str = "name:asc";
/// The queue list's page size when none is asked for, and the most it serves. Doc:
/// https://docs.talkdesk.com/reference/get-list-of-queues (`per_page` 1–100, default 20).
pub const QUEUES_PER_PAGE: (usize, usize) = (20, 100);
/// SCIM `count` asked for; the server may grant fewer (RFC 7644 §3.4.2.4).
pub const SCIM_COUNT: usize = 100;
/// SCIM requests per second. Doc: https://docs.talkdesk.com/docs/scim-api ("4 requests per
/// second").
pub const SCIM_REQUESTS_PER_SECOND: u32 = 4;
/// Queue write limits: objects per request and users per object. Doc: the 100-object
/// limit is stated on https://docs.talkdesk.com/reference/unassignuserstoqueues; for
/// assignment it is modeled the same.
pub const QUEUE_BATCH: usize = 100;

/// The Talkdesk SCIM user extension. Doc: https://docs.talkdesk.com/reference/create-user.
pub const SCIM_EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:talkdesk:2.0:User";
/// SCIM core user schema (RFC 7643).
pub const SCIM_USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// SCIM PatchOp message schema (RFC 7644).
pub const SCIM_PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// SCIM list response schema (RFC 7644).
pub const SCIM_LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// Lowercases every object key, recursively: SCIM attribute names are
/// case-insensitive (RFC 7643 §2.1).
pub fn lower_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.to_lowercase(), lower_keys(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(lower_keys).collect()),
        other => other.clone(),
    }
}

/// A user of `GET /users`. Doc: https://docs.talkdesk.com/reference/users (`extension` integer
/// there, string in the connector, null when unset: all three are read). Pending users (invited,
/// not confirmed) are not marked in this list (doc: only Guardian's user list says PENDING,
/// https://docs.talkdesk.com/reference/guardianusers); a
/// `status: "pending"` is read where a server sends such a field (modeled).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RestUser {
    /// User ID.
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    /// Login email.
    pub email: String,
    /// Display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Whether the user is active (doc). Absent in a modeled envelope that carries `status` instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Modeled: `active`, `inactive` or `pending`, where a server sends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Extension: integer, string or null.
    #[serde(
        default,
        deserialize_with = "extension_text",
        skip_serializing_if = "Option::is_none"
    )]
    pub extension: Option<Value>,
}

impl RestUser {
    /// The extension as text, whichever JSON type carried it.
    pub fn extension(&self) -> Option<String> {
        match &self.extension {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    }

    /// Whether the user is active: `active` (doc), else the modeled `status`.
    pub fn is_active(&self) -> bool {
        match (self.active, self.status.as_deref()) {
            (Some(a), _) => a,
            (None, Some(s)) => !s.eq_ignore_ascii_case("inactive"),
            (None, None) => true,
        }
    }

    /// Whether the user was invited and has not confirmed yet.
    pub fn is_pending(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("pending"))
    }
}

fn id_text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string or number id, got {other}"
        ))),
    }
}

fn extension_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v @ (Value::String(_) | Value::Number(_)) => Ok(Some(v)),
        other => Err(serde::de::Error::custom(format!(
            "extension must be a number, a string or null, got {other}"
        ))),
    }
}

/// A HAL link. Doc: https://docs.talkdesk.com/docs/paging-results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Link {
    /// Target URL (absolute or relative).
    pub href: String,
}

/// HAL paging links; `next` is absent on the last page.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Links {
    /// The next page, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<Link>,
}

/// A HAL page of `T` under `_embedded` (see [`Embedded`]). Doc:
/// https://docs.talkdesk.com/reference/users, https://docs.talkdesk.com/docs/queues-api (queue
/// lists carry only `_links.next`, which may be null, and no counts).
#[derive(Debug, Clone, Deserialize)]
pub struct HalPage<T> {
    /// Items on this page.
    #[serde(default)]
    pub count: Option<usize>,
    /// Items in all pages (absent on queue lists).
    #[serde(default)]
    pub total: Option<usize>,
    /// This page's number (1-based).
    #[serde(default)]
    pub page: Option<usize>,
    /// The page size granted.
    #[serde(default)]
    pub per_page: Option<usize>,
    /// Pages in all.
    #[serde(default)]
    pub total_pages: Option<usize>,
    /// The items, under the list's own key.
    #[serde(rename = "_embedded")]
    pub embedded: Embedded<T>,
    /// Paging links.
    #[serde(rename = "_links", default)]
    pub links: Links,
}

/// The items of `_embedded`: an object whose one key names the list (`users`,
/// `queues`) on the users and queue lists, or the array itself on Guardian's (doc:
/// https://docs.talkdesk.com/reference/guardianusers, `_embedded` an array of objects).
#[derive(Debug, Clone)]
pub struct Embedded<T>(Vec<T>);

impl<T> Embedded<T> {
    /// Whichever list the page carries.
    pub fn into_items(self) -> Vec<T> {
        self.0
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Embedded<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{IgnoredAny, MapAccess, SeqAccess, Visitor};
        use std::marker::PhantomData;

        struct Items<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for Items<T> {
            type Value = Vec<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an array of items, or an object holding `users` or `queues`")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(items)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
                let mut items = Vec::new();
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "users" | "queues" if items.is_empty() => items = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(items)
            }
        }

        d.deserialize_any(Items(PhantomData)).map(Embedded)
    }
}

/// A user of `GET /guardian/users`. Doc: https://docs.talkdesk.com/reference/guardianusers
/// (every field optional there; `id` is described as the agent's name in the list and
/// as the user ID on https://docs.talkdesk.com/reference/guardianusersid, so roster joins
/// by `email` and keeps `id` only for a user the users list lacks).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GuardianUser {
    /// The user's ID, where the list carries one.
    #[serde(default, deserialize_with = "id_text_or_none")]
    pub id: Option<String>,
    /// Login email.
    pub email: String,
    /// The role's name, e.g. `Administrator`.
    #[serde(default)]
    pub role: Option<String>,
    /// `ACTIVE`, `INACTIVE` or `PENDING` (invited, not confirmed).
    #[serde(default)]
    pub status: Option<String>,
    /// Ring groups (not managed by roster).
    #[serde(default)]
    pub ring_groups: Vec<String>,
}

impl GuardianUser {
    /// The activation state, case aside: `active`, `inactive` or `pending`; `None` when
    /// absent or outside the documented three.
    pub fn state(&self) -> Option<&'static str> {
        let s = self.status.as_deref()?;
        ["active", "inactive", "pending"]
            .into_iter()
            .find(|k| s.eq_ignore_ascii_case(k))
    }
}

/// [`id_text`], or `None` for a null.
fn id_text_or_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        id => id_text(id).map(Some).map_err(serde::de::Error::custom),
    }
}

/// A queue of `GET /ccaas/queues`. Item shape modeled: `{id, name}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Queue {
    /// Queue ID.
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    /// Queue name, which rosters use.
    pub name: String,
}

/// A member of `GET /ccaas/queues/{id}/users`: modeled as `{id, email, active}` (no
/// public page shows the item's fields); only `id` is relied on, `email` read when
/// present.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueMember {
    /// User ID (the REST user's).
    #[serde(deserialize_with = "id_text")]
    pub id: String,
    /// The user's email.
    #[serde(default)]
    pub email: Option<String>,
}

/// One object of a queue write body, sent as a top-level array: `[{"id", "users"}]`.
/// Modeled: https://docs.talkdesk.com/reference/assignuserstoqueues says only "objects
/// with a queue identifier and the users"; no public page shows the field names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueUsers {
    /// The queue.
    pub id: String,
    /// At most [`QUEUE_BATCH`] user IDs.
    pub users: Vec<String>,
}

/// The 200 answer of a queue write: `{"result": "OK"|"KO", "errors": [...]}`. Doc
/// (https://docs.talkdesk.com/reference/assignuserstoqueues): the write is idempotent,
/// not transactional, and reports per-user failures in a 200; the field names are
/// modeled (no public page shows them).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QueueWriteResult {
    /// `OK` or `KO`.
    #[serde(default)]
    pub result: Option<String>,
    /// Failed items; empty when every user succeeded.
    #[serde(default)]
    pub errors: Vec<QueueWriteError>,
}

/// One user (or queue) a queue write failed for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueWriteError {
    /// The queue.
    #[serde(default)]
    pub queue_id: Option<String>,
    /// The user, when the failure is one user's.
    #[serde(default)]
    pub user_id: Option<String>,
    /// A machine-readable code.
    #[serde(default)]
    pub error: Option<String>,
    /// Why.
    #[serde(default)]
    pub description: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn embedded_is_an_array_or_an_object_naming_the_list() {
        let items = |v: Value| {
            serde_json::from_value::<HalPage<GuardianUser>>(v)
                .map(|p| p.embedded.into_items().len())
                .map_err(|e| e.to_string())
        };
        let user = json!({"email": "a@acme.example", "role": "Agent", "status": "ACTIVE"});
        assert_eq!(items(json!({"_embedded": [user, user]})), Ok(2));
        assert_eq!(
            items(json!({"_embedded": {"self": 1, "users": [user]}})),
            Ok(1)
        );
        assert_eq!(items(json!({"_embedded": {}})), Ok(0));
        let err = items(json!({"_embedded": "users"})).unwrap_err();
        assert!(err.contains("an array of items"), "{err}");
    }

    #[test]
    fn urls_follow_the_region() {
        assert_eq!(
            token_url("acme", Region::Eu),
            "https://acme.talkdeskid.eu/oauth/token"
        );
        assert_eq!(api_base(Region::Ca), "https://api.talkdeskappca.com");
    }

    #[test]
    fn extension_is_read_in_every_type() {
        let read = |e: Value| {
            let u: RestUser =
                serde_json::from_value(json!({"id": 7, "email": "a@acme.example", "extension": e}))
                    .unwrap();
            u.extension()
        };
        assert_eq!(read(json!(2001)), Some("2001".into()));
        assert_eq!(read(json!("0201")), Some("0201".into()));
        assert_eq!(read(Value::Null), None);
        assert!(
            serde_json::from_value::<RestUser>(
                json!({"id": "1", "email": "a@acme.example", "extension": []})
            )
            .is_err()
        );
    }

    #[test]
    fn activity_from_either_envelope() {
        let u = |v: Value| serde_json::from_value::<RestUser>(v).unwrap();
        assert!(!u(json!({"id": "1", "email": "a@acme.example", "active": false})).is_active());
        assert!(
            !u(json!({"id": "1", "email": "a@acme.example", "status": "inactive"})).is_active()
        );
        let p =
            u(json!({"id": "1", "email": "a@acme.example", "active": true, "status": "pending"}));
        assert!(p.is_active() && p.is_pending());
    }
}
