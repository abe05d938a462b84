//! Text as lookup sees it: normalisation (case, Latin diacritics, apostrophes,
//! whitespace), word tokens, stop words, a crude English stem, and the letter mask
//! that rules out typo matches cheaply.

use unicode_normalization::UnicodeNormalization;

/// Weight of a stop word relative to a content word, in both query and label.
pub(super) const STOP_WORD_WEIGHT: f32 = 0.25;

pub(super) const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to",
    "with",
];

/// Lowercase, diacritics removed from Latin letters (`Café` → `cafe`), apostrophes
/// dropped (`customer's` → `customers`), whitespace trimmed and collapsed to single
/// spaces; the result is NFC. Khmer vowel signs and subscripts are combining marks too,
/// but of another block, and are kept.
pub(super) fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    if text.is_ascii() {
        // ASCII needs no normalisation: skip the normaliser, the bulk of the index build.
        push_collapsed(&mut out, text.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        let folded: String = text
            .nfd()
            .filter(|c| !is_latin_diacritic(*c))
            .flat_map(char::to_lowercase)
            .flat_map(fold_letter)
            .collect();
        push_collapsed(&mut out, folded.nfc());
    }
    out
}

/// Combining marks of the blocks that accent Latin letters (Combining Diacritical
/// Marks, its Extended and Supplement blocks, and Half Marks).
pub(super) fn is_latin_diacritic(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{FE20}'..='\u{FE2F}')
}

/// Latin letters that do not decompose into a base letter and a mark.
pub(super) fn fold_letter(c: char) -> impl Iterator<Item = char> {
    let folded: &[char] = match c {
        'ß' => &['s', 's'],
        'æ' => &['a', 'e'],
        'œ' => &['o', 'e'],
        'ø' => &['o'],
        'ł' => &['l'],
        'đ' => &['d'],
        'ı' => &['i'],
        _ => &[],
    };
    let kept = folded.is_empty().then_some(c);
    folded.iter().copied().chain(kept)
}

pub(super) fn push_collapsed(out: &mut String, chars: impl Iterator<Item = char>) {
    let mut pending_space = false;
    for c in chars {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else if !matches!(c, '\'' | '\u{2018}' | '\u{2019}') {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
}

/// Word tokens of normalised text: runs of letters and digits; any other character
/// separates words.
pub(super) fn tokenise(normalised: &str) -> impl Iterator<Item = &str> {
    normalised
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
}

/// A crude English stem for matching inflections (`sewing`/`sew`,
/// `machines`/`machine`, `welded`/`weld`); keeps at least three characters.
pub(super) fn stem(word: &str) -> &str {
    for suffix in ["ing", "ed", "es", "s", "e"] {
        if let Some(rest) = word.strip_suffix(suffix) {
            if suffix == "s" && rest.ends_with('s') {
                continue;
            }
            if rest.chars().count() >= 3 {
                return rest;
            }
        }
    }
    word
}

/// Bit set of the characters present: a–z one bit each, digits share six bits, anything
/// else one bit.
pub(super) fn letter_mask(text: &str) -> u32 {
    text.chars().fold(0, |mask, c| {
        let bit = match c {
            'a'..='z' => c as u32 - 'a' as u32,
            '0'..='9' => 26 + (c as u32 - '0' as u32) % 5,
            _ => 31,
        };
        mask | 1 << bit
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_folds_case_composition_and_whitespace() {
        assert_eq!(normalise("  Sewing \u{a0}\t MACHINE  "), "sewing machine");
        assert_eq!(normalise("cafe\u{301}"), "cafe");
        assert_eq!(normalise("CAF\u{c9} Crème Straße"), "cafe creme strasse");
        // Khmer signs are combining marks of their own block, and stay.
        assert_eq!(normalise("ដេរ សំណង់"), "ដេរ សំណង់");
        assert_eq!(normalise("customer\u{2019}s"), "customers");
        let text = normalise("Customer's hand-sewn (T-shirt)");
        let words: Vec<&str> = tokenise(&text).collect();
        assert_eq!(words, ["customers", "hand", "sewn", "t", "shirt"]);
    }

    #[test]
    fn stem_matches_common_inflections() {
        assert_eq!(stem("sewing"), stem("sew"));
        assert_eq!(stem("machines"), stem("machine"));
        assert_eq!(stem("welded"), stem("welds"));
        assert_eq!(stem("glasses"), stem("glass"));
    }
}
