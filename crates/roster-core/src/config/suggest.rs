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
}
