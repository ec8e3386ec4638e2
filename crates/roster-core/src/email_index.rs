//! Matching by email, compared as people read emails: without regard to case. An index
//! for lookups one at a time (the Talkdesk join of REST users with SCIM users), and a
//! join of whole lists in parts that fit in a core's cache (the planner's match of
//! declared users with live ones).

use std::borrow::Cow;
use std::hash::BuildHasher;

/// Indices into a slice, hashed by the lowercase form of each item's email: a table of
/// bare `u32`s, a quarter the size of a map holding each key.
pub struct EmailIndex {
    table: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl EmailIndex {
    /// Indexes `items` by `email_of`; of two items with one email, the last counts.
    pub fn new<T>(items: &[T], email_of: impl Fn(&T) -> &str) -> EmailIndex {
        let hasher = foldhash::fast::RandomState::default();
        let mut table = hashbrown::HashTable::with_capacity(items.len());
        let hash = |email: &str| hasher.hash_one(lowercase(email));
        for (i, item) in items.iter().enumerate() {
            let email = email_of(item);
            put_last(
                &mut table,
                hash(email),
                |&j| same_email(email_of(&items[j as usize]), email),
                |&j| hash(email_of(&items[j as usize])),
                i as u32,
            );
        }
        EmailIndex { table, hasher }
    }

    /// The index of the item of `items` (the slice it was built from) with `email`.
    pub fn get<T>(&self, items: &[T], email_of: impl Fn(&T) -> &str, email: &str) -> Option<usize> {
        self.table
            .find(self.hasher.hash_one(lowercase(email)), |&j| {
                same_email(email_of(&items[j as usize]), email)
            })
            .map(|&j| j as usize)
    }
}

/// Items a part of a [`Candidates`] join holds at most, on average: a part's table
/// (at most 8,192 slots of 5 bytes) fits in a core's 512 KiB L2 cache.
const PART: usize = 4096;

/// For each key, the item one of its emails names, found by hash. Built for whole lists:
/// both sides are split by hash into parts of 2,048 to 4,096 items, and each part is
/// matched with a table small enough to stay in cache. Probing one table of 100,000
/// users at random, a user cost 1.2x what it cost at 10,000 (README, Performance). A
/// found item is a candidate until [`Candidates::get`] compares the emails, where the
/// caller reads both anyway.
pub(crate) struct Candidates {
    /// Per key: the item, and which of the key's emails named it (0 its own, then its
    /// former ones).
    found: Vec<Option<(u32, u32)>>,
}

impl Candidates {
    /// Matches each key's emails, its own and then its former ones, with the items'.
    pub fn of<T, K>(
        items: &[T],
        item_email: impl Fn(&T) -> &str,
        keys: &[K],
        key_emails: impl Fn(&K) -> (&str, &[String]),
    ) -> Candidates {
        let hasher = foldhash::fast::RandomState::default();
        let hash = |email: &str| hasher.hash_one(lowercase(email));
        let have: Vec<(u64, u32)> = items
            .iter()
            .enumerate()
            .map(|(i, item)| (hash(item_email(item)), i as u32))
            .collect();
        let mut want: Vec<(u64, u32, u32)> = Vec::with_capacity(keys.len());
        for (k, key) in keys.iter().enumerate() {
            let (own, former) = key_emails(key);
            want.push((hash(own), k as u32, 0));
            for (rank, email) in (1..).zip(former) {
                want.push((hash(email), k as u32, rank));
            }
        }
        // Parts by hash bits the table does not use for its slots or tags.
        let parts = items.len().div_ceil(PART).next_power_of_two();
        let part = |h: u64| (h >> 32) as usize & (parts - 1);
        let (have, have_at) = by_part(have, parts, |e| part(e.0));
        let (want, want_at) = by_part(want, parts, |e| part(e.0));
        let mut found = vec![None; keys.len()];
        let mut table = hashbrown::HashTable::<u32>::new();
        for p in 0..parts {
            let have = &have[have_at[p]..have_at[p + 1]];
            table.clear();
            for (j, &(h, _)) in have.iter().enumerate() {
                let same = |&x: &u32| have[x as usize].0 == h;
                put_last(&mut table, h, same, |&x| have[x as usize].0, j as u32);
            }
            for &(h, k, rank) in &want[want_at[p]..want_at[p + 1]] {
                if let Some(&j) = table.find(h, |&x| have[x as usize].0 == h) {
                    let slot: &mut Option<(u32, u32)> = &mut found[k as usize];
                    if slot.is_none_or(|(_, r)| rank < r) {
                        *slot = Some((have[j as usize].1, rank));
                    }
                }
            }
        }
        Candidates { found }
    }

    /// The item key `k` names (`emails` are its emails, as given to [`Candidates::of`]):
    /// the first of its emails an item has; of two items with one email, the last.
    pub fn get<T>(
        &self,
        k: usize,
        items: &[T],
        item_email: impl Fn(&T) -> &str,
        (own, former): (&str, &[String]),
    ) -> Option<usize> {
        // No item has the hash of any of the key's emails, so none has the emails.
        let (i, rank) = self.found[k]?;
        let email = if rank == 0 {
            own
        } else {
            &former[rank as usize - 1]
        };
        if same_email(item_email(&items[i as usize]), email) {
            return Some(i as usize);
        }
        // Two emails with one 64-bit hash: vanishingly rare, so a plain search will do.
        std::iter::once(own)
            .chain(former.iter().map(String::as_str))
            .find_map(|e| items.iter().rposition(|it| same_email(item_email(it), e)))
    }
}

/// `entries` grouped by part, each part in its original order, with where each part
/// starts (and, last, the end).
fn by_part<E: Copy>(
    entries: Vec<E>,
    parts: usize,
    part: impl Fn(&E) -> usize,
) -> (Vec<E>, Vec<usize>) {
    let mut starts = vec![0; parts + 1];
    for e in &entries {
        starts[part(e) + 1] += 1;
    }
    for p in 0..parts {
        starts[p + 1] += starts[p];
    }
    let mut next = starts.clone();
    let mut grouped = entries.clone();
    for e in entries {
        let p = part(&e);
        grouped[next[p]] = e;
        next[p] += 1;
    }
    (grouped, starts)
}

/// Puts `value` in `table` under `hash`, in place of the entry `same` finds: of two items
/// with one email, the last counts.
fn put_last(
    table: &mut hashbrown::HashTable<u32>,
    hash: u64,
    same: impl FnMut(&u32) -> bool,
    rehash: impl Fn(&u32) -> u64,
    value: u32,
) {
    *table.entry(hash, same, rehash).or_insert(value).get_mut() = value;
}

/// Whether two emails are equal once lowercased.
fn same_email(a: &str, b: &str) -> bool {
    a == b || lowercase(a) == lowercase(b)
}

/// The lowercase form, copied only when it differs.
fn lowercase(s: &str) -> Cow<'_, str> {
    // Every email on both sides of a diff passes here: a scan with no early exit is one
    // the compiler vectorizes, where `any` stepped a byte at a time.
    let upper = s
        .bytes()
        .fold(false, |seen, b| seen | b.is_ascii_uppercase());
    if upper || !s.is_ascii() {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

#[cfg(test)]
mod tests {
    use super::{Candidates, EmailIndex, PART};

    #[test]
    fn emails_match_whatever_their_case_and_the_last_of_two_counts() {
        let emails = ["Ana@ACME.example", "bo@acme.example", "ana@acme.example"];
        let index = EmailIndex::new(&emails, |e| e);
        assert_eq!(index.get(&emails, |e| e, "ANA@acme.EXAMPLE"), Some(2));
        assert_eq!(index.get(&emails, |e| e, "Bo@Acme.Example"), Some(1));
        assert_eq!(index.get(&emails, |e| e, "cy@acme.example"), None);
    }

    fn own(email: &str) -> (&str, &[String]) {
        (email, &[])
    }

    #[test]
    fn a_join_matches_whatever_the_case_and_the_last_of_two_items_counts() {
        let items = ["Ana@ACME.example", "bo@acme.example", "ana@acme.example"];
        let keys = ["ANA@acme.EXAMPLE", "cy@acme.example", "Bo@Acme.Example"];
        let c = Candidates::of(&items, |e| e, &keys, |k| own(k));
        let found: Vec<Option<usize>> = (0..keys.len())
            .map(|k| c.get(k, &items, |e| e, own(keys[k])))
            .collect();
        assert_eq!(found, [Some(2), None, Some(1)]);
    }

    #[test]
    fn a_key_matches_by_its_own_email_before_a_former_one_and_former_ones_in_order() {
        let items = ["old@acme.example", "new@acme.example", "older@acme.example"];
        let keys = [
            ("new@acme.example", vec!["old@acme.example".to_string()]),
            (
                "gone@acme.example",
                vec![
                    "none@acme.example".into(),
                    "OLDER@acme.example".into(),
                    "old@acme.example".into(),
                ],
            ),
        ];
        fn emails<'k>(k: &'k (&str, Vec<String>)) -> (&'k str, &'k [String]) {
            (k.0, &k.1)
        }
        let c = Candidates::of(&items, |e| e, &keys, emails);
        assert_eq!(c.get(0, &items, |e| e, emails(&keys[0])), Some(1));
        assert_eq!(c.get(1, &items, |e| e, emails(&keys[1])), Some(2));
    }

    #[test]
    fn a_join_across_many_parts_finds_every_key() {
        let items: Vec<String> = (0..PART * 5 + 7)
            .map(|i| format!("agent{i}@acme.example"))
            .collect();
        // The keys in another order and case, with one that no item has.
        let mut keys: Vec<String> = items.iter().rev().map(|e| e.to_uppercase()).collect();
        keys.push("nobody@acme.example".into());
        let c = Candidates::of(&items, |e| e, &keys, |k| own(k));
        for (k, key) in keys.iter().enumerate() {
            let want = (k < items.len()).then(|| items.len() - 1 - k);
            assert_eq!(c.get(k, &items, |e| e, own(key)), want, "{key}");
        }
    }

    #[test]
    fn whichever_part_finds_it_first_a_key_keeps_its_most_preferred_email() {
        let items: Vec<String> = (0..PART * 4)
            .map(|i| format!("agent{i}@acme.example"))
            .collect();
        // Each key's own email is gone and both former ones are live, most likely in two
        // parts, matched in either order; the keys after them have their own email too.
        let half = items.len() / 2;
        let keys: Vec<(String, Vec<String>)> = (0..half)
            .map(|i| {
                let own = if i % 2 == 0 {
                    format!("gone{i}@acme.example")
                } else {
                    items[2 * i + 1].clone()
                };
                (own, vec![items[2 * i].clone(), items[2 * i + 1].clone()])
            })
            .collect();
        fn emails(k: &(String, Vec<String>)) -> (&str, &[String]) {
            (&k.0, &k.1)
        }
        let c = Candidates::of(&items, |e| e, &keys, emails);
        for (k, key) in keys.iter().enumerate() {
            let want = if k % 2 == 0 { 2 * k } else { 2 * k + 1 };
            assert_eq!(c.get(k, &items, |e| e, emails(key)), Some(want), "{key:?}");
        }
    }

    #[test]
    fn a_candidate_whose_email_differs_is_searched_for_instead() {
        // What two emails with one hash leave behind: a candidate naming the wrong item.
        let items = ["ana@acme.example", "bo@acme.example", "ana@acme.example"];
        let wrong = Candidates {
            found: vec![Some((1, 0)), Some((0, 0))],
        };
        assert_eq!(
            wrong.get(0, &items, |e| e, own("Ana@acme.example")),
            Some(2)
        );
        assert_eq!(wrong.get(1, &items, |e| e, own("cy@acme.example")), None);
    }
}
