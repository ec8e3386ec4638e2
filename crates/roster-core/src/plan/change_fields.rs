//! The fields of a change: what a create sets, what an update changes and what a removal
//! clears, and the precondition a saved plan checks before it writes.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::ownership::Ownership;
use super::types::{Action, Change, FieldChange, Kind, Phase};
use super::{Capabilities, Field};
use crate::config::UserDecl;
use crate::model::{Names, PhoneSettings, User};

/// The create of a declared user: every field the provider manages and can write.
pub(super) fn create(decl: &UserDecl, caps: &Capabilities) -> Change {
    let mut fields = BTreeMap::new();
    let mut put = |k: Field, v: Value| {
        if !v.is_null() && caps.manages(k) && !caps.read_only.contains(&k) {
            fields.insert(k, change_of(Value::Null, v));
        }
    };
    put(Field::Email, json!(decl.email));
    put(Field::Name, json!(decl.name));
    put(Field::Role, json!(decl.role));
    put(
        Field::Teams,
        decl.teams
            .as_ref()
            .map_or(Value::Null, |t| set_value(&t.iter().cloned().collect())),
    );
    put(
        Field::Queues,
        decl.queues
            .as_ref()
            .map_or(Value::Null, |t| set_value(&t.iter().cloned().collect())),
    );
    put(Field::Extension, json!(decl.extension));
    put(Field::TimeZone, json!(decl.time_zone));
    put(Field::Language, json!(decl.language));
    let set_of = |v: &Option<Vec<String>>| {
        v.as_ref()
            .map_or(Value::Null, |t| set_value(&t.iter().cloned().collect()))
    };
    if caps.addons {
        put(Field::Addons, set_of(&decl.addons));
    }
    if let Some(phone) = decl.phone.as_ref().filter(|_| caps.phone) {
        for (k, v) in phone_fields(phone) {
            put(k, v);
        }
    }
    Change {
        action: Action::Create,
        kind: Kind::User,
        key: decl.email.clone(),
        name: Some(decl.name.clone()),
        held: false,
        id: None,
        phase: Phase::CreateUsers,
        fields,
        precondition: None,
        needs: None,
    }
}

/// A deactivation or offboard clears queues (Talkdesk leaves them in place), and an
/// offboard also leaves every team.
pub(super) fn removal_fields(u: &User, caps: &Capabilities) -> BTreeMap<Field, FieldChange> {
    // Queues stay: routing drops inactive agents by itself, and on Talkdesk a user may
    // not lose its last queue.
    let mut fields = BTreeMap::from([field(Field::Status, json!("active"), json!("inactive"))]);
    if !caps.deactivate && !u.teams.is_empty() {
        fields.insert(Field::Teams, change_of(set_value(&u.teams), json!([])));
    }
    fields
}

/// A change a person makes in the vendor's console. No JSON `null` in what a person
/// reads: an unset field is set, not changed.
fn manual_step(email: &str, name: Field, from: &Value, to: &Value) -> String {
    let what = if from.is_null() {
        format!("set {name} to {to}")
    } else {
        format!("change {name} from {from} to {to}")
    };
    format!("{email}: {what} in the vendor's console (the API cannot write it)")
}

/// What [`update_fields`] finds: the fields to change, manual steps for those the
/// provider cannot change, and membership removals held back.
pub(super) struct Differences {
    pub fields: BTreeMap<Field, FieldChange>,
    pub steps: Vec<String>,
    pub held: BTreeMap<Field, FieldChange>,
}

/// The fields of a declared user that differ from the live one; fields left out of the
/// roster are not compared, and teams and queues compare under their ownership.
pub(super) fn update_fields(
    decl: &UserDecl,
    live: &User,
    caps: &Capabilities,
    own: &Ownership,
) -> Differences {
    // Fields compare natively first; JSON values are built only for the few that
    // differ, since this runs for every declared user.
    let mut fields = BTreeMap::new();
    let mut steps = Vec::new();
    let mut put = |name: Field, from: Value, to: Value| {
        if !caps.manages(name) || caps.write_only.contains(&name) {
            return;
        }
        if caps.immutable_fields.contains(&name) || caps.read_only.contains(&name) {
            steps.push(manual_step(&decl.email, name, &from, &to));
            return;
        }
        fields.insert(name, change_of(from, to));
    };
    let differs = |live: Option<&str>, want: Option<&str>| want.is_some() && live != want;
    if !live.email.eq_ignore_ascii_case(&decl.email) {
        put(Field::Email, json!(live.email), json!(decl.email));
    }
    if live.name != decl.name {
        put(Field::Name, json!(live.name), json!(decl.name));
    }
    if caps.roles
        && !live
            .role
            .as_deref()
            .is_some_and(|r| r.eq_ignore_ascii_case(&decl.role))
    {
        put(Field::Role, json!(live.role), json!(decl.role));
    }
    let mut held = BTreeMap::new();
    for (name, want, have) in [
        (Field::Teams, &decl.teams, &live.teams),
        (Field::Queues, &decl.queues, &live.queues),
    ] {
        let Some(want) = want.as_ref() else {
            continue;
        };
        // The declared list is the live set: whatever each name's ownership, nothing
        // is added, removed or held (the common case, decided without building sets).
        if same_set(want, have) {
            continue;
        }
        let w = own.wanted(name.as_str(), want, have, decl.membership);
        if w.applied != *have {
            put(name, set_value(have), set_value(&w.applied));
        }
        if !w.held.is_empty() && caps.manages(name) && !caps.write_only.contains(&name) {
            let without: Names = w.applied.difference(&w.held).cloned().collect();
            held.insert(name, change_of(set_value(&w.applied), set_value(&without)));
        }
    }
    if let Some(want) = decl.addons.as_ref().filter(|_| caps.addons)
        && !same_set(want, &live.addons)
    {
        put(
            Field::Addons,
            set_value(&live.addons),
            json!(want.iter().collect::<BTreeSet<_>>()),
        );
    }
    if differs(live.extension.as_deref(), decl.extension.as_deref()) {
        put(
            Field::Extension,
            json!(live.extension),
            json!(decl.extension),
        );
    }
    if differs(live.time_zone.as_deref(), decl.time_zone.as_deref()) {
        put(
            Field::TimeZone,
            json!(live.time_zone),
            json!(decl.time_zone),
        );
    }
    if let Some(lang) = &decl.language
        && !live
            .language
            .as_deref()
            .is_some_and(|l| l.eq_ignore_ascii_case(lang))
    {
        put(Field::Language, json!(live.language), json!(lang));
    }
    if let Some(phone) = decl.phone.as_ref().filter(|_| caps.phone) {
        for (k, from, to) in phone_changes(phone, live.phone.as_deref()) {
            put(k, from, to);
        }
    }
    Differences {
        fields,
        steps,
        held,
    }
}

/// Whether a declared list and a live set hold the same names, ignoring order and
/// repeats.
fn same_set(want: &[String], have: &Names) -> bool {
    if want.len() < have.len() || !want.iter().all(|w| have.contains(w)) {
        return false;
    }
    // Every declared name is live; the sets are equal unless the declared list has
    // repeats that hide a live name it lacks. Lists are short: count the distinct.
    let distinct = want
        .iter()
        .enumerate()
        .filter(|(i, w)| !want[..*i].contains(w))
        .count();
    distinct == have.len()
}

/// The phone settings `want` declares that differ from the live ones: (field, from, to).
fn phone_changes(want: &PhoneSettings, live: Option<&PhoneSettings>) -> Vec<(Field, Value, Value)> {
    let current = live.cloned().unwrap_or_default();
    let now: BTreeMap<Field, Value> = phone_fields(&current).into_iter().collect();
    phone_fields(want)
        .into_iter()
        .filter(|(_, v)| !v.is_null())
        .filter_map(|(k, v)| {
            let from = now.get(&k).cloned().unwrap_or(Value::Null);
            (from != v).then_some((k, from, v))
        })
        .collect()
}

/// The phone settings as (field, value) pairs; lists as sorted sets, absent as null.
fn phone_fields(p: &PhoneSettings) -> Vec<(Field, Value)> {
    let set = |v: &Option<Vec<String>>| {
        v.as_ref()
            .map_or(Value::Null, |v| json!(v.iter().collect::<BTreeSet<_>>()))
    };
    vec![
        (Field::PhoneExtension, json!(p.extension)),
        (Field::PhoneCallerId, json!(p.caller_id)),
        (Field::PhoneNumbers, set(&p.numbers)),
        (Field::PhoneSipPhones, set(&p.sip_phones)),
        (Field::PhoneCallWaiting, json!(p.call_waiting)),
        (Field::PhoneCallForward, json!(p.call_forward)),
        (
            Field::PhoneDefaultCountryCode,
            json!(p.default_country_code),
        ),
        (Field::PhoneDoNotDisturb, json!(p.do_not_disturb)),
    ]
}

/// The live object's `updated_at`, or a hash of its fields when the vendor has none.
pub fn precondition(u: &User) -> String {
    match &u.updated_at {
        Some(t) => t.clone(),
        None => {
            let mut u = u.clone();
            u.phone = None; // read only for some users; not part of the identity
            let bytes = serde_json::to_vec(&u).unwrap_or_default();
            format!("sha256:{}", &hex::encode(Sha256::digest(&bytes))[..16])
        }
    }
}

/// A named field change, for building a change's field map.
pub(super) fn field(name: Field, from: Value, to: Value) -> (Field, FieldChange) {
    (name, FieldChange { from, to })
}

/// A field change from one value to another.
pub(super) fn change_of(from: Value, to: Value) -> FieldChange {
    FieldChange { from, to }
}

/// A set of names as a JSON array, sorted.
pub(super) fn set_value(items: &Names) -> Value {
    json!(items)
}
