//! What the list handlers derive from the state, kept until the next change: each
//! queue's members, and each user's item as the REST and SCIM lists serialize it.
//!
//! The emulator shares the machine with the roster it serves (the vendor does not), so
//! a plan of 100,000 users read the same account's 4,000 user pages each time, and
//! serializing them was most of the emulator's time. An item is serialized the first
//! time a page shows it and reused until any change, which starts a fresh set.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use serde::Serialize;
use serde_json::value::RawValue;

use super::State;

/// Queue ID → the indexes in `State::users` of its members, in user order.
pub(crate) type MemberIndex = HashMap<String, Arc<[usize]>>;

/// The views of one version of the state.
pub(crate) struct Views {
    /// How many changes the state had had when these were started.
    pub(crate) version: usize,
    members: OnceLock<MemberIndex>,
    rest: Box<[OnceLock<Box<RawValue>>]>,
    scim: Box<[OnceLock<Box<RawValue>>]>,
}

impl Views {
    /// Empty views of a state with `users` users, after `version` changes.
    pub(crate) fn new(version: usize, users: usize) -> Self {
        Views {
            version,
            members: OnceLock::new(),
            rest: (0..users).map(|_| OnceLock::new()).collect(),
            scim: (0..users).map(|_| OnceLock::new()).collect(),
        }
    }

    /// The members of `queue`, by index into the users of `st`.
    pub(crate) fn members(&self, st: &State, queue: &str) -> Arc<[usize]> {
        self.members
            .get_or_init(|| member_index(st))
            .get(queue)
            .cloned()
            .unwrap_or_else(|| Arc::from([]))
    }

    /// User `i` as `GET /users` lists it, serialized by `item` the first time.
    pub(crate) fn rest<T: Serialize>(&self, i: usize, item: impl FnOnce() -> T) -> &RawValue {
        raw(&self.rest[i], item)
    }

    /// User `i` as `GET /scim/v2/Users` lists it, serialized by `item` the first time.
    pub(crate) fn scim<T: Serialize>(&self, i: usize, item: impl FnOnce() -> T) -> &RawValue {
        raw(&self.scim[i], item)
    }
}

fn raw<T: Serialize>(cell: &OnceLock<Box<RawValue>>, item: impl FnOnce() -> T) -> &RawValue {
    cell.get_or_init(|| {
        // Serializing the emulator's own borrowed structs cannot fail (no maps with
        // non-string keys, no failing Serialize impls).
        serde_json::value::to_raw_value(&item()).expect("a list item serializes")
    })
}

fn member_index(st: &State) -> MemberIndex {
    let mut index: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, u) in st.users.iter().enumerate() {
        for q in &u.queues {
            let members = index.entry(q.clone()).or_default();
            // A queue listed twice on one user is one membership.
            if members.last() != Some(&i) {
                members.push(i);
            }
        }
    }
    index.into_iter().map(|(q, m)| (q, m.into())).collect()
}
