//! Making parser messages helpful: "did you mean ...?" for misspelled names, plain words
//! for Rust types, and a fix for a missing key.

/// The likely intended names for `word`: every candidate containing it (`portal` for
/// `portal_vein`, `cirrhosis` for both cirrhosis states), else the nearest by edit distance
/// within a third of the word's length (at least 2 edits).
pub fn nearest<'a, I>(word: &str, candidates: I) -> Vec<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    let containing: Vec<&'a str> = candidates
        .iter()
        .copied()
        .filter(|c| !word.is_empty() && c.contains(word))
        .collect();
    if !containing.is_empty() {
        return containing;
    }
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .iter()
        .map(|&c| (strsim::levenshtein(word, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
        .into_iter()
        .collect()
}

/// "did you mean `a`?" or "did you mean `a` or `b`?", if there is anything to suggest.
pub fn did_you_mean(suggestions: &[&str]) -> Option<String> {
    (!suggestions.is_empty()).then(|| {
        let names: Vec<String> = suggestions.iter().map(|s| format!("`{s}`")).collect();
        format!("did you mean {}?", names.join(" or "))
    })
}

/// Improves a serde/TOML message: names Rust types in plain words, adds the fix for a
/// missing key, and adds the likely intended name to "unknown field/variant `x`, expected
/// one of `a`, `b`" (which lists the valid names but does not pick one).
pub fn explain(message: &str) -> String {
    let mut text = message
        .trim_end()
        .replace("expected f64", "expected a number")
        .replace("expected i64", "expected a whole number");
    if let Some(key) = between(&text, "missing field `", "`") {
        text.push_str(&format!("\n  fix: add `{key} = ...` to this table"));
    }
    let unknown = ["unknown field `", "unknown variant `"]
        .iter()
        .find_map(|marker| between(&text, marker, "`").map(|w| (w, *marker)));
    if let Some((word, marker)) = unknown {
        let after = &text[text
            .find(marker)
            .map_or(0, |i| i + marker.len() + word.len() + 1)..];
        let valid: Vec<&str> = after.split('`').skip(1).step_by(2).collect();
        if let Some(hint) = did_you_mean(&nearest(&word, valid)) {
            text.push_str(&format!("\n  {hint}"));
        }
    }
    text
}

/// The text between the first `start` and the next `end`.
fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(text[from..from + len].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_names() {
        assert_eq!(nearest("specis", ["species", "disease"]), vec!["species"]);
        assert_eq!(
            nearest("portal", ["portal_vein", "hepatic_artery"]),
            vec!["portal_vein"]
        );
        assert_eq!(
            nearest(
                "cirrhosis",
                [
                    "healthy",
                    "compensated_cirrhosis",
                    "decompensated_cirrhosis"
                ]
            ),
            vec!["compensated_cirrhosis", "decompensated_cirrhosis"]
        );
        assert!(nearest("xyz", ["species", "disease"]).is_empty());
    }

    #[test]
    fn explains_parser_messages() {
        let m = "unknown variant `portal`, expected one of `portal_vein`, `hepatic_artery`\n";
        assert!(explain(m).ends_with("\n  did you mean `portal_vein`?"));
        assert_eq!(
            explain("missing field `name`\n"),
            "missing field `name`\n  fix: add `name = ...` to this table"
        );
        assert_eq!(
            explain("invalid type: string \"90\", expected f64"),
            "invalid type: string \"90\", expected a number"
        );
    }
}
