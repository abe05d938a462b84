//! A normalised query and the typo rules: each query word (and each adjacent pair run
//! together) as a unit, its similarity to a label token (exact, stem, completion of
//! the last word, one or two edits by word length), and how the whole query sits in
//! a label as a phrase.

use crate::typo::{grapheme_count, typo_budget};

use super::labels::{Label, Token};
use super::text::{STOP_WORD_WEIGHT, STOP_WORDS, letter_mask, normalise, stem, tokenise};

/// Query tokens beyond this are ignored; labels are rarely longer.
const MAX_QUERY_TOKENS: usize = 8;
/// Discount on a typo match for a query word that is itself a label word.
const KNOWN_WORD_TYPO_FACTOR: f32 = 0.85;

/// One token of a query.
pub(super) struct QueryToken {
    pub(super) weight: f32,
    pub(super) stop_word: bool,
}

/// A string compared against the vocabulary: a query token, or two adjacent query
/// tokens run together.
pub(super) struct Unit {
    pub(super) text: String,
    pub(super) stem: String,
    pub(super) chars: usize,
    /// Edits tolerated in it ([`typo_budget`] of its length in graphemes).
    pub(super) max_edits: usize,
    pub(super) letters: u32,
    pub(super) stop_word: bool,
    /// The text is a word of some label, so the user most likely spelt it as meant:
    /// near-misses (`sewing` ~ `sawing`) are discounted.
    pub(super) known_word: bool,
    /// The unit ends the query, so its last word may still be being typed.
    pub(super) at_end: bool,
}

impl Unit {
    pub(super) fn new(text: String, known_word: bool, at_end: bool) -> Unit {
        Unit {
            stem: stem(&text).to_string(),
            chars: text.chars().count(),
            max_edits: usize::from(typo_budget(grapheme_count(&text))),
            letters: letter_mask(&text),
            stop_word: STOP_WORDS.contains(&text.as_str()),
            known_word,
            at_end,
            text,
        }
    }

    /// Similarity in 0..=1 of this unit to a vocabulary token (table in the `lookup`
    /// module docs). For one unit, every exact or stem match scores above every
    /// completion, and every completion above every typo.
    pub(super) fn similarity(&self, token: &Token) -> f32 {
        if self.text == token.text {
            return 1.0;
        }
        if self.stem.chars().count() >= 3 && self.stem == token.stem {
            return 0.95;
        }
        if self.at_end && self.chars >= MIN_PREFIX_CHARS && token.text.starts_with(&self.text) {
            return 0.84 + 0.1 * self.chars as f32 / token.chars as f32;
        }
        let allowed = self.max_edits;
        if allowed == 0 || self.chars.abs_diff(token.chars) > allowed {
            return 0.0;
        }
        // Each edit changes the set of letters present by at most two.
        if (self.letters ^ token.letters).count_ones() as usize > 2 * allowed {
            return 0.0;
        }
        let sim = match strsim::osa_distance(&self.text, &token.text) {
            1 => 0.82,
            2 if allowed >= 2 => 0.78,
            _ => return 0.0,
        };
        if self.known_word {
            sim * KNOWN_WORD_TYPO_FACTOR
        } else {
            sim
        }
    }
}

/// The last word completes as a prefix from this many characters; shorter beginnings
/// would match most of the taxonomy (an empty query lists the common entries instead).
pub(super) const MIN_PREFIX_CHARS: usize = 3;

/// A normalised query.
pub(super) struct Query {
    pub(super) full: String,
    pub(super) joined: String,
    pub(super) words: Vec<String>,
    pub(super) tokens: Vec<QueryToken>,
}

impl Query {
    pub(super) fn new(raw: &str) -> Query {
        let full = normalise(raw);
        let words: Vec<String> = tokenise(&full)
            .take(MAX_QUERY_TOKENS)
            .map(str::to_string)
            .collect();
        let tokens = words
            .iter()
            .map(|w| {
                let stop_word = STOP_WORDS.contains(&w.as_str());
                QueryToken {
                    weight: if stop_word { STOP_WORD_WEIGHT } else { 1.0 },
                    stop_word,
                }
            })
            .collect();
        Query {
            joined: words.join(" "),
            full,
            words,
            tokens,
        }
    }

    /// The single tokens, then each adjacent pair run together.
    pub(super) fn units(&self, is_known_word: impl Fn(&str) -> bool) -> Vec<Unit> {
        let last = self.words.len() - 1;
        let singles = self
            .words
            .iter()
            .enumerate()
            .map(|(i, w)| Unit::new(w.clone(), is_known_word(w), i == last));
        let pairs = self.words.windows(2).enumerate().map(|(i, pair)| {
            let joined = format!("{}{}", pair[0], pair[1]);
            let known = is_known_word(&joined);
            Unit::new(joined, known, i + 1 == last)
        });
        singles.chain(pairs).collect()
    }

    /// Score from how the whole query sits in the label as a phrase (`lookup` module
    /// docs).
    pub(super) fn phrase_score(&self, label: &Label) -> f64 {
        if label.full == self.full {
            return 1.0;
        }
        let joined = label.joined();
        if joined == self.joined {
            return 0.98;
        }
        // Share of the label the query covers: 0.04 at most, so it only separates
        // otherwise equal matches.
        let bonus = 0.04 * self.joined.len() as f64 / joined.len().max(1) as f64;
        let text = joined.as_bytes();
        let mut best: f64 = 0.0;
        for (at, _) in joined.match_indices(self.joined.as_str()) {
            if at > 0 && text[at - 1] != b' ' {
                continue;
            }
            let end = at + self.joined.len();
            let whole_word = end == text.len() || text[end] == b' ';
            let score = match (at == 0, whole_word) {
                (true, true) => 0.9,
                (false, true) => 0.84,
                (_, false) => 0.8,
            };
            best = best.max(score + bonus);
        }
        best
    }
}
