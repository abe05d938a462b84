//! The one typo rule of the product: how many edits a word may carry and still
//! match, by its length. Vacancy search (`jobmatch-search`) and the skill and
//! occupation lookup ([`crate::reference`]) both ask here, so a word that
//! forgives a typo in one forgives it in the other.
//!
//! Length is counted in user-perceived characters (extended grapheme
//! clusters): a Khmer consonant with its subscript and vowel is one character
//! to the person typing it, though it may be four code points. For Latin text
//! once diacritics are folded, graphemes and `char`s are the same count.

use unicode_segmentation::UnicodeSegmentation;

/// Number of user-perceived characters (extended grapheme clusters) in `text`,
/// the unit of [`typo_budget`].
pub fn grapheme_count(text: &str) -> usize {
    text.graphemes(true).count()
}

/// Edits tolerated in a word of `graphemes` user-perceived characters: none up
/// to 4 (so that short words such as `saw` and `sew` do not match each other),
/// one from 5 to 8, two from 9.
pub fn typo_budget(graphemes: usize) -> u8 {
    match graphemes {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typo_budget_follows_word_length() {
        assert_eq!(typo_budget(0), 0);
        assert_eq!(typo_budget(4), 0);
        assert_eq!(typo_budget(5), 1);
        assert_eq!(typo_budget(8), 1);
        assert_eq!(typo_budget(9), 2);
        assert_eq!(typo_budget(40), 2);
    }

    #[test]
    fn a_khmer_cluster_counts_as_one_character() {
        // ស្រី: consonant, coeng, subscript consonant, vowel: four code points,
        // one cluster to the reader.
        let word = "\u{179F}\u{17D2}\u{179A}\u{17B8}";
        assert_eq!(word.chars().count(), 4);
        assert_eq!(grapheme_count(word), 1);
        assert_eq!(grapheme_count("sewing"), 6);
    }
}
