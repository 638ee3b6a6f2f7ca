//! "Did you mean ...?": the nearest valid name to a misspelled one.

/// The candidate closest to `word`, if it is a likely typo or abbreviation: a candidate
/// that begins with the word (`portal` for `portal_vein`), else the nearest by edit
/// distance within a third of the word's length (at least 2 edits).
pub fn nearest<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    let limit = (word.chars().count() / 3).max(2);
    let abbreviated = candidates
        .iter()
        .filter(|c| !word.is_empty() && c.starts_with(word))
        .min_by_key(|c| c.len());
    abbreviated.copied().or_else(|| {
        candidates
            .iter()
            .map(|&c| (strsim::levenshtein(word, c), c))
            .filter(|&(d, _)| d <= limit)
            .min_by_key(|&(d, _)| d)
            .map(|(_, c)| c)
    })
}

/// Adds a suggestion to a serde "unknown field/variant `x`, expected one of `a`, `b`"
/// message, which lists the valid names but does not pick the likely one.
pub fn annotate_unknown(message: &str) -> String {
    let Some(unknown) = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|marker| message.find(marker).map(|i| i + marker.len()))
    else {
        return message.to_string();
    };
    let rest = &message[unknown..];
    let Some(end) = rest.find('`') else {
        return message.to_string();
    };
    let word = &rest[..end];
    let valid: Vec<&str> = rest[end + 1..].split('`').skip(1).step_by(2).collect();
    match nearest(word, valid) {
        Some(best) => format!("{}\n  did you mean `{best}`?", message.trim_end()),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_name() {
        assert_eq!(nearest("specis", ["species", "disease"]), Some("species"));
        assert_eq!(nearest("xyz", ["species", "disease"]), None);
    }

    #[test]
    fn annotates_serde_messages() {
        let m = "unknown variant `portal`, expected one of `portal_vein`, `hepatic_artery`";
        assert!(annotate_unknown(m).ends_with("did you mean `portal_vein`?"));
        assert_eq!(
            annotate_unknown("missing field `name`"),
            "missing field `name`"
        );
    }
}
