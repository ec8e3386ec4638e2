//! "Did you mean": the declared name nearest a misspelt one, or the declared names when
//! none is near.

/// The candidate nearest `word` when it is close enough to be a slip of the keyboard
/// (Jaro-Winkler similarity of at least 0.85, case ignored).
pub fn nearest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&word, &c.to_lowercase()), c))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// A hint naming the nearest candidate, or listing them (up to 10, after `label`) when
/// none is near.
pub fn hint(word: &str, candidates: &[&str], otherwise: &str, label: &str) -> String {
    if let Some(near) = nearest(word, candidates.iter().copied()) {
        return format!("did you mean `{near}`?");
    }
    if candidates.is_empty() {
        return otherwise.to_string();
    }
    let shown: Vec<String> = candidates
        .iter()
        .take(10)
        .map(|c| format!("`{c}`"))
        .collect();
    let more = if candidates.len() > 10 { ", …" } else { "" };
    format!("{otherwise} ({label}: {}{more})", shown.join(", "))
}

/// Languages as people write them in a spreadsheet, with their BCP 47 subtags: the
/// registry names tags, not languages, so `english` needs a table to become `en`.
const LANGUAGE_NAMES: &[(&str, &str)] = &[
    ("arabic", "ar"),
    ("catalan", "ca"),
    ("chinese", "zh"),
    ("czech", "cs"),
    ("danish", "da"),
    ("dutch", "nl"),
    ("english", "en"),
    ("filipino", "fil"),
    ("finnish", "fi"),
    ("french", "fr"),
    ("german", "de"),
    ("greek", "el"),
    ("hebrew", "he"),
    ("hindi", "hi"),
    ("hungarian", "hu"),
    ("indonesian", "id"),
    ("italian", "it"),
    ("japanese", "ja"),
    ("korean", "ko"),
    ("malay", "ms"),
    ("norwegian", "nb"),
    ("polish", "pl"),
    ("portuguese", "pt"),
    ("romanian", "ro"),
    ("russian", "ru"),
    ("slovak", "sk"),
    ("spanish", "es"),
    ("swedish", "sv"),
    ("thai", "th"),
    ("turkish", "tr"),
    ("ukrainian", "uk"),
    ("vietnamese", "vi"),
];

/// Why `tag` is not a language tag the registry knows, and what to write instead; `None`
/// for a registered tag (checked against the IANA Language Subtag Registry that the
/// `language-tags` crate ships).
pub fn language_problem(tag: &str) -> Option<(String, String)> {
    use language_tags::{LanguageTag, ValidationError as V};
    let named = |word: &str| {
        let names = LANGUAGE_NAMES.iter().map(|(name, _)| *name);
        let name = nearest(word, names)?;
        LANGUAGE_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, code)| *code)
    };
    let fallback = "use a tag such as `en-US` or `pt-PT`".to_string();
    let parsed = match LanguageTag::parse(tag) {
        Ok(parsed) => parsed,
        Err(_) => {
            let hint = named(tag).map_or(fallback, |code| format!("did you mean `{code}`?"));
            return Some((format!("`{tag}` is not a BCP 47 language tag"), hint));
        }
    };
    let part = match parsed.validate() {
        Ok(()) => return None,
        Err(V::PrimaryLanguageNotInRegistry) => {
            let hint = named(parsed.primary_language())
                .map_or(fallback, |code| format!("did you mean `{code}`?"));
            return Some((
                format!("`{tag}` is not a language in the IANA language subtag registry"),
                hint,
            ));
        }
        Err(V::RegionNotInRegistry) => match parsed.region() {
            Some(r) if r.eq_ignore_ascii_case("uk") => {
                let fixed = tag.replacen(r, "GB", 1);
                return Some((
                    format!("`{r}` in `{tag}` is not a region code"),
                    format!("did you mean `{fixed}`? (the United Kingdom's code is `GB`)"),
                ));
            }
            _ => "region",
        },
        Err(V::ScriptNotInRegistry) => "script",
        Err(_) => "subtag",
    };
    Some((
        format!("`{tag}` has a {part} the IANA language subtag registry does not know"),
        fallback,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_names_are_suggested_and_far_ones_listed() {
        assert_eq!(
            nearest("Supervisr", ["Administrator", "Supervisor", "Agent"]),
            Some("Supervisor")
        );
        assert_eq!(
            nearest("timezone", ["time_zone", "language", "teams"]),
            Some("time_zone")
        );
        assert_eq!(
            nearest("Janitor", ["Administrator", "Supervisor", "Agent"]),
            None
        );
        assert_eq!(
            hint(
                "Janitor",
                &["Administrator", "Agent"],
                "declare it under `roles:`",
                "declared"
            ),
            "declare it under `roles:` (declared: `Administrator`, `Agent`)"
        );
    }

    #[test]
    fn languages_are_checked_against_the_registry() {
        assert_eq!(language_problem("en-US"), None);
        assert_eq!(language_problem("pt-PT"), None);
        assert_eq!(language_problem("fil"), None);
        let (message, hint) = language_problem("english").unwrap();
        assert!(message.contains("not a language in the IANA"), "{message}");
        assert_eq!(hint, "did you mean `en`?");
        assert_eq!(
            language_problem("Portugese").unwrap().1,
            "did you mean `pt`?"
        );
        assert_eq!(
            language_problem("en-UK").unwrap().1,
            "did you mean `en-GB`? (the United Kingdom's code is `GB`)"
        );
        assert!(language_problem("en-KX").unwrap().0.contains("region"));
        assert!(
            language_problem("en US")
                .unwrap()
                .0
                .contains("not a BCP 47")
        );
    }
}
