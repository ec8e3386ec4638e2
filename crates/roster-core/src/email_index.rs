//! Items indexed by email, compared as people read emails: without regard to case.
//! Shared by the Talkdesk join (REST users with SCIM users) and the planner (declared
//! users with live ones).

use std::borrow::Cow;
use std::hash::BuildHasher;

/// Indices into a slice, hashed by the lowercase form of each item's email: a table of
/// bare `u32`s, a quarter the size of a map holding each key, so at 100,000 users it
/// stays in the cache while another list is matched against it.
pub(crate) struct EmailIndex {
    table: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl EmailIndex {
    /// Indexes `items` by `email_of`; of two items with one email, the last counts.
    pub(crate) fn new<T>(items: &[T], email_of: impl Fn(&T) -> &str) -> EmailIndex {
        let mut table = hashbrown::HashTable::with_capacity(items.len());
        let hasher = foldhash::fast::RandomState::default();
        let hash = |email: &str| hasher.hash_one(lowercase(email));
        for (i, item) in items.iter().enumerate() {
            let email = email_of(item);
            match table.entry(
                hash(email),
                |&j: &u32| same_email(email_of(&items[j as usize]), email),
                |&j: &u32| hash(email_of(&items[j as usize])),
            ) {
                hashbrown::hash_table::Entry::Occupied(mut o) => *o.get_mut() = i as u32,
                hashbrown::hash_table::Entry::Vacant(v) => {
                    v.insert(i as u32);
                }
            }
        }
        EmailIndex { table, hasher }
    }

    /// The index of the item of `items` (the slice it was built from) with `email`.
    pub(crate) fn get<T>(
        &self,
        items: &[T],
        email_of: impl Fn(&T) -> &str,
        email: &str,
    ) -> Option<usize> {
        self.table
            .find(self.hasher.hash_one(lowercase(email)), |&j| {
                same_email(email_of(&items[j as usize]), email)
            })
            .map(|&j| j as usize)
    }
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
    use super::EmailIndex;

    #[test]
    fn emails_match_whatever_their_case_and_the_last_of_two_counts() {
        let emails = ["Ana@ACME.example", "bo@acme.example", "ana@acme.example"];
        let index = EmailIndex::new(&emails, |e| e);
        assert_eq!(index.get(&emails, |e| e, "ANA@acme.EXAMPLE"), Some(2));
        assert_eq!(index.get(&emails, |e| e, "Bo@Acme.Example"), Some(1));
        assert_eq!(index.get(&emails, |e| e, "cy@acme.example"), None);
    }
}
