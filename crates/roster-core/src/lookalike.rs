//! Addresses that look alike, by Unicode's confusables data (UTS #39, from the
//! unicode-security crate): two addresses with one skeleton read the same to a person
//! (`оps-lead@acme.example`, with a Cyrillic о, and `ops-lead@acme.example`), and an
//! address part whose letters mix scripts is how such a look-alike is made.
//!
//! Only a pair with an address outside ASCII counts: among ASCII addresses the
//! confusables (`rn` and `m`, `1` and `l`) are ordinary addresses of different people.
//! A roster whose addresses are all ASCII builds nothing here.

use std::sync::OnceLock;

use foldhash::{HashMap, HashMapExt};
use unicode_security::MixedScript;

/// The form two addresses share when a person cannot tell them apart: lowercased, as
/// addresses compare, then UTS #39's skeleton.
pub(crate) fn skeleton(address: &str) -> String {
    if address.is_ascii() {
        // Per character, from the same data: 100,000 ASCII addresses through the
        // crate's normalizing iterators took a sixth of a second.
        let table = ascii_skeletons();
        return address
            .bytes()
            .map(|b| table[usize::from(b.to_ascii_lowercase())].as_str())
            .collect();
    }
    unicode_security::skeleton(&address.to_lowercase()).collect()
}

/// The skeleton of each ASCII character. An ASCII string's skeleton is its
/// characters' skeletons in a row: ASCII is its own normal form, none of it is
/// ignorable, and no prototype of an ASCII character decomposes or holds a combining
/// mark (a test compares every pair of characters with the crate's own skeleton).
fn ascii_skeletons() -> &'static [String; 128] {
    static TABLE: OnceLock<[String; 128]> = OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|b| {
            unicode_security::skeleton(&char::from(b as u8).to_string()).collect()
        })
    })
}

/// Addresses outside ASCII by skeleton, each with its key (who declares it) and its
/// lowercase form.
pub(crate) struct Lookalikes<K> {
    by_skeleton: HashMap<String, Vec<(K, String)>>,
}

impl<K: Copy> Lookalikes<K> {
    /// The addresses among `addresses` that are not ASCII, by skeleton.
    pub(crate) fn of<'a>(addresses: impl IntoIterator<Item = (K, &'a str)>) -> Self {
        let mut by_skeleton: HashMap<String, Vec<(K, String)>> = HashMap::new();
        for (key, address) in addresses {
            if !address.is_ascii() {
                by_skeleton
                    .entry(skeleton(address))
                    .or_default()
                    .push((key, address.to_lowercase()));
            }
        }
        Lookalikes { by_skeleton }
    }

    /// Whether every address given was ASCII: then nothing can look like another.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_skeleton.is_empty()
    }

    /// The keys of the addresses outside ASCII that look like `address` without being
    /// it (compared without case).
    pub(crate) fn like(&self, address: &str) -> Vec<K> {
        let Some(found) = self.by_skeleton.get(&skeleton(address)) else {
            return Vec::new();
        };
        let lower = address.to_lowercase();
        found
            .iter()
            .filter(|(_, other)| *other != lower)
            .map(|(key, _)| *key)
            .collect()
    }
}

/// The first part of an address (before the `@`, or a label of its domain) whose
/// letters come from more than one script, as `оps` with a Cyrillic о among Latin
/// letters. A part in one script is left alone, whatever the script (`иван`, `zoë`).
pub(crate) fn mixed_part(address: &str) -> Option<&str> {
    if address.is_ascii() {
        return None;
    }
    let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
    std::iter::once(local)
        .chain(domain.split('.'))
        .find(|part| !part.is_single_script())
}

/// The characters of `text` outside ASCII, as `U+043E, U+0430`: the letters a person
/// cannot see are not the ones they resemble.
pub(crate) fn outside_ascii(text: &str) -> String {
    let mut seen: Vec<char> = Vec::new();
    for c in text.chars().filter(|c| !c.is_ascii()) {
        if !seen.contains(&c) {
            seen.push(c);
        }
    }
    seen.iter()
        .map(|c| format!("U+{:04X}", u32::from(*c)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The per-character skeletons of ASCII give what the crate's own skeleton gives,
    /// for every pair of ASCII characters (where normalizing could join or reorder what
    /// the characters map to) and for longer strings.
    #[test]
    fn ascii_skeletons_are_the_crates() {
        let theirs = |s: &str| unicode_security::skeleton(&s.to_lowercase()).collect::<String>();
        for a in 0u8..128 {
            for b in 0u8..128 {
                let pair = format!("{}{}", char::from(a), char::from(b));
                assert_eq!(skeleton(&pair), theirs(&pair), "{pair:?}");
            }
        }
        let all: String = (0u8..128).map(char::from).collect();
        for s in [
            all.as_str(),
            "ops-lead@acme.example",
            "Agent01@Acme.Example",
            "100%|m",
        ] {
            assert_eq!(skeleton(s), theirs(s), "{s:?}");
        }
    }

    #[test]
    fn look_alikes_are_found_and_accents_are_not_look_alikes() {
        let table = Lookalikes::of([
            (1, "\u{43e}ps-lead@acme.example"),
            (2, "ops-lead@\u{430}cme.example"),
            (3, "zo\u{eb}@acme.example"),
            (4, "ada@acme.example"),
        ]);
        assert!(!table.is_empty());
        assert_eq!(table.like("OPS-lead@acme.example"), vec![1, 2]);
        assert_eq!(table.like("\u{43e}ps-lead@acme.example"), vec![2]);
        assert!(table.like("zoe@acme.example").is_empty());
        assert!(table.like("ZO\u{cb}@acme.example").is_empty());
        // The same letters decomposed look the same but are another address.
        assert_eq!(table.like("zoe\u{308}@acme.example"), vec![3]);
        assert!(Lookalikes::of([(1, "ada@acme.example")]).is_empty());
    }

    #[test]
    fn a_part_that_mixes_scripts_is_named() {
        assert_eq!(
            mixed_part("\u{43e}ps-lead@acme.example"),
            Some("\u{43e}ps-lead")
        );
        assert_eq!(mixed_part("ops@\u{430}cme.example"), Some("\u{430}cme"));
        for single in [
            "ops@acme.example",
            "zo\u{eb}@acme.example",
            "jos\u{e9}.n\u{fa}\u{f1}ez@acme.example",
            "\u{438}\u{432}\u{430}\u{43d}@acme.example",
        ] {
            assert_eq!(mixed_part(single), None, "{single}");
        }
        assert_eq!(outside_ascii("\u{43e}ps@\u{430}cme"), "U+043E, U+0430");
    }
}
