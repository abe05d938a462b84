//! Text analysis: how vacancy text and user queries become index terms.
//!
//! Three analyzers are registered with each index's `TokenizerManager`:
//!
//! - [`STEMMED`]: [`normalize`], word segmentation with ICU4X's dictionary model (which
//!   splits Khmer, written without spaces, into words and follows UAX #29 for Latin
//!   text), lower-casing, ASCII folding and English stemming. Used for the scored text
//!   fields; Khmer tokens pass through the Latin filters unchanged.
//! - [`WORDS`]: the same without stemming. It feeds the field that typo tolerance and
//!   search-as-you-type expand against: a stem is a poor anchor for an edit distance
//!   (`sewing` stems to `sew`, two edits away from the typo `sewng`).
//! - [`KHMER_GRAMS`]: overlapping pairs and triples of grapheme clusters inside each run
//!   of Khmer script. A dictionary cannot know every compound (`ជាងកាត់ដេរ` is one word
//!   to it), so the query `កាត់ដេរ` also looks for its grams, which matches any text
//!   that contains it: a word of two or three clusters is one gram, a longer word all
//!   its consecutive triples. No positions are needed, which keeps this tier cheap on
//!   words as common as `កម្មករ` (worker).
//!
//! The word fields do not run [`STEMMED`] or [`WORDS`] inside tantivy: the index
//! analyzes each text itself (once, and each taxonomy label once per process) and hands
//! tantivy the resulting terms separated by single spaces, which the [`ANALYZED`]
//! tokenizer splits again. Terms never contain white space, so positions are exactly
//! those of the analysis. (tantivy 0.27 round-trips pre-tokenized values through JSON,
//! which cost a fifth of indexing time.)
//!
//! Queries go through exactly the same functions, so index and query terms agree.

use std::cell::RefCell;
use std::collections::HashMap;

use icu_segmenter::options::WordBreakInvariantOptions;
use icu_segmenter::{WordSegmenter, WordSegmenterBorrowed};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RawTokenizer, RemoveLongFilter, Stemmer,
    TextAnalyzer, Token, TokenStream, Tokenizer, TokenizerManager, WhitespaceTokenizer,
};
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// Name of the stemmed word analyzer in the tokenizer manager.
pub const STEMMED: &str = "jobmatch_stemmed";
/// Name of the unstemmed word analyzer.
pub const WORDS: &str = "jobmatch_words";
/// Name of the tokenizer for text this crate already analyzed: terms separated by
/// ASCII spaces.
pub const ANALYZED: &str = "jobmatch_analyzed";
/// Name of the Khmer grapheme-gram analyzer.
pub const KHMER_GRAMS: &str = "jobmatch_khmer_grams";

/// Tokens longer than this many bytes are dropped: nobody searches for them, and they
/// would only bloat the term dictionary (a Khmer character is 3 bytes in UTF-8, so this
/// is 40 Khmer characters).
const MAX_TOKEN_BYTES: usize = 120;

/// Registers the three analyzers; every index must have them before it is written to or
/// searched, since the schema refers to them by name.
pub fn register(tokenizers: &TokenizerManager) {
    tokenizers.register(STEMMED, stemmed_analyzer());
    tokenizers.register(WORDS, words_analyzer());
    tokenizers.register(KHMER_GRAMS, TextAnalyzer::from(KhmerGramTokenizer));
    tokenizers.register(ANALYZED, TextAnalyzer::from(WhitespaceTokenizer::default()));
}

pub(crate) fn stemmed_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::new())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(Stemmer::new(Language::English))
        .build()
}

pub(crate) fn words_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer::new())
        .filter(RemoveLongFilter::limit(MAX_TOKEN_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// Stems one token that [`words_analyzer`] produced. Running the whole stemmed analyzer
/// on a lone word could segment it differently from the sentence it came from;
/// lower-casing and folding are idempotent, so `words_analyzer` then `stem` per token
/// yields exactly the terms of [`STEMMED`].
///
/// Memoised per thread: the vocabulary of vacancies is small and repetitive, and
/// stemming is a large share of indexing time otherwise.
pub(crate) fn stem(word: &str) -> String {
    /// Entries kept before the memo is cleared, bounding its memory (~10 MB).
    const MAX_MEMO: usize = 100_000;
    thread_local! {
        static STEMS: RefCell<(TextAnalyzer, HashMap<String, String>)> = RefCell::new((
            TextAnalyzer::builder(RawTokenizer::default())
                .filter(Stemmer::new(Language::English))
                .build(),
            HashMap::new(),
        ));
    }
    STEMS.with(|cell| {
        let (analyzer, memo) = &mut *cell.borrow_mut();
        if let Some(stemmed) = memo.get(word) {
            return stemmed.clone();
        }
        let stemmed = match analyzer.token_stream(word).next() {
            Some(token) => token.text.clone(),
            None => word.to_string(),
        };
        if memo.len() >= MAX_MEMO {
            memo.clear();
        }
        memo.insert(word.to_string(), stemmed.clone());
        stemmed
    })
}

/// The unstemmed word tokens of `text` ([`WORDS`]), with positions.
pub(crate) fn word_tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<Token> {
    let mut stream = analyzer.token_stream(text);
    let mut tokens = Vec::new();
    while let Some(token) = stream.next() {
        tokens.push(token.clone());
    }
    tokens
}

/// Canonical form of any text before segmentation, applied to documents and queries:
///
/// - Unicode NFC, so that precomposed and decomposed spellings are one term;
/// - zero-width space, non-joiner, joiner, word joiner and byte-order mark removed: Khmer
///   writers put U+200B between words as an invisible hint, inconsistently;
/// - Khmer digits `០`–`៩` (and Thai `๐`–`๙`, common on phones bought in Thailand) become
///   ASCII digits, so `៣០០` and `300` are the same number;
/// - `:` becomes a space, so that `sector:garment` is two ordinary words; otherwise
///   UAX #29 keeps it as one token (the colon is a mid-letter character there).
pub fn normalize(text: &str) -> String {
    if text.is_ascii() {
        return text.replace(':', " ");
    }
    text.nfc()
        .filter_map(|c| match c {
            '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' => None,
            '\u{17E0}'..='\u{17E9}' => char::from_digit(c as u32 - 0x17E0, 10),
            '\u{0E50}'..='\u{0E59}' => char::from_digit(c as u32 - 0x0E50, 10),
            ':' => Some(' '),
            other => Some(other),
        })
        .collect()
}

/// Letters, signs and vowels of the Khmer block (digits are already ASCII after
/// [`normalize`]; punctuation such as `។` ends a run). `ៗ` (U+17D7, repeat the
/// previous word) is part of the word it follows.
fn is_khmer_letter(c: char) -> bool {
    matches!(c, '\u{1780}'..='\u{17D3}' | '\u{17D7}' | '\u{17DD}')
}

/// True if the text contains any Khmer letter.
pub(crate) fn has_khmer(text: &str) -> bool {
    text.chars().any(is_khmer_letter)
}

pub(crate) use jobmatch_domain::typo::grapheme_count;

/// Word segmentation by ICU4X: UAX #29 rules, plus the compiled Khmer (and Thai, Lao,
/// Burmese, Chinese, Japanese) dictionaries for scripts written without spaces. Only
/// word-like segments (letters, numbers) become tokens.
#[derive(Clone, Copy)]
pub struct WordTokenizer {
    segmenter: WordSegmenterBorrowed<'static>,
}

impl WordTokenizer {
    pub fn new() -> Self {
        WordTokenizer {
            segmenter: WordSegmenter::new_dictionary(WordBreakInvariantOptions::default()),
        }
    }
}

impl Default for WordTokenizer {
    fn default() -> Self {
        WordTokenizer::new()
    }
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let normalized = normalize(text);
        let mut tokens = Vec::new();
        let mut breaks = self.segmenter.segment_str(&normalized);
        let mut start = breaks.next().unwrap_or(0);
        while let Some(end) = breaks.next() {
            if breaks.is_word_like() {
                tokens.push(Token {
                    // Offsets are into the normalised text; nothing here highlights.
                    offset_from: start,
                    offset_to: end,
                    position: tokens.len(),
                    text: normalized[start..end].to_string(),
                    position_length: 1,
                });
            }
            start = end;
        }
        VecTokenStream::new(tokens)
    }
}

/// Overlapping grapheme-cluster bigrams and trigrams of each maximal run of Khmer
/// letters; other scripts produce nothing, and so does a run of one cluster (its word
/// is in the word fields). Positions are not meaningful: the field is matched by
/// terms only.
#[derive(Clone, Copy, Default)]
pub struct KhmerGramTokenizer;

impl Tokenizer for KhmerGramTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let normalized = normalize(text);
        let mut tokens = Vec::new();
        for (run_start, run) in khmer_runs(&normalized) {
            let clusters: Vec<(usize, &str)> = run.grapheme_indices(true).collect();
            for size in 2..=3 {
                for window in clusters.windows(size) {
                    let (first_offset, _) = window[0];
                    let (last_offset, last) = window[size - 1];
                    let from = run_start + first_offset;
                    let to = run_start + last_offset + last.len();
                    tokens.push(Token {
                        offset_from: from,
                        offset_to: to,
                        position: tokens.len(),
                        text: normalized[from..to].to_string(),
                        position_length: 1,
                    });
                }
            }
        }
        VecTokenStream::new(tokens)
    }
}

/// Maximal runs of Khmer letters with their byte offsets.
fn khmer_runs(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut runs = Vec::new();
    let mut run_start: Option<usize> = None;
    for (offset, c) in text.char_indices() {
        match (is_khmer_letter(c), run_start) {
            (true, None) => run_start = Some(offset),
            (false, Some(start)) => {
                runs.push((start, &text[start..offset]));
                run_start = None;
            }
            _ => {}
        }
    }
    if let Some(start) = run_start {
        runs.push((start, &text[start..]));
    }
    runs.into_iter()
}

/// The grams that find `word` inside any Khmer text: its only gram for two or three
/// clusters, otherwise every consecutive trigram. Empty for one cluster or no Khmer.
pub(crate) fn khmer_grams(word: &str) -> Vec<String> {
    let normalized = normalize(word);
    let clusters: Vec<&str> = normalized.graphemes(true).collect();
    if clusters.len() < 2 || !has_khmer(&normalized) {
        return Vec::new();
    }
    let size = clusters.len().min(3);
    clusters
        .windows(size)
        .map(|window| window.concat())
        .collect()
}

/// A token stream over tokens computed up front: segmentation needs the whole
/// normalised text, which the stream must own.
pub struct VecTokenStream {
    tokens: Vec<Token>,
    /// Index of the current token plus one; 0 before the first `advance`.
    cursor: usize,
}

impl VecTokenStream {
    fn new(tokens: Vec<Token>) -> Self {
        VecTokenStream { tokens, cursor: 0 }
    }
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.cursor < self.tokens.len() {
            self.cursor += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.cursor - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.cursor - 1]
    }
}

/// One word of a query, in every form the query builder needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct QueryWord {
    /// Lower-cased, ASCII-folded, unstemmed: what the typo and prefix field holds.
    pub surface: String,
    /// What the stemmed fields hold.
    pub stem: String,
    /// User-perceived characters in `surface`.
    pub chars: usize,
    /// Khmer grams that find the word inside compounds ([`khmer_grams`]).
    pub grams: Vec<String>,
    /// All ASCII digits: a number with a typo is another number, so never fuzzy.
    pub numeric: bool,
}

/// Analyzes free query text into words, in order.
pub(crate) fn query_words(text: &str) -> Vec<QueryWord> {
    let mut analyzer = words_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut words = Vec::new();
    while let Some(token) = stream.next() {
        words.push(query_word(token.text.clone()));
    }
    words
}

/// Every form of one already analyzed (lower-cased, folded) word.
pub(crate) fn query_word(surface: String) -> QueryWord {
    QueryWord {
        stem: stem(&surface),
        chars: grapheme_count(&surface),
        grams: khmer_grams(&surface),
        numeric: surface.bytes().all(|b| b.is_ascii_digit()),
        surface,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(mut analyzer: TextAnalyzer, text: &str) -> Vec<String> {
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while let Some(token) = stream.next() {
            out.push(token.text.clone());
        }
        out
    }

    #[test]
    fn khmer_digits_and_zero_width_spaces_are_normalised_away() {
        assert_eq!(normalize("ប្រាក់ខែ\u{200B}៣០០ដុល្លារ"), "ប្រាក់ខែ300ដុល្លារ");
        assert_eq!(normalize("\u{FEFF}a\u{200C}b\u{200D}c"), "abc");
    }

    #[test]
    fn decomposed_latin_is_composed_before_indexing() {
        assert_eq!(normalize("cafe\u{0301}"), "café");
        assert_eq!(tokens(words_analyzer(), "Cafe\u{0301}"), ["cafe"]);
    }

    #[test]
    fn khmer_sentence_is_segmented_into_dictionary_words() {
        assert_eq!(
            tokens(words_analyzer(), "ត្រូវការកម្មករសំណង់ជាបន្ទាន់"),
            ["ត្រូវការ", "កម្មករ", "សំណង់", "ជាបន្ទាន់"]
        );
    }

    #[test]
    fn latin_words_are_lower_cased_folded_and_stemmed() {
        assert_eq!(
            tokens(stemmed_analyzer(), "Sewing Machine OPERATORS, Crème"),
            ["sew", "machin", "oper", "creme"]
        );
        assert_eq!(
            tokens(words_analyzer(), "Sewing Machine OPERATORS"),
            ["sewing", "machine", "operators"]
        );
    }

    #[test]
    fn words_then_stem_per_token_equals_the_stemmed_analyzer() {
        // The index analyzes with `words_analyzer` and `stem` (see the module
        // comment); this is the equivalence that keeps it in step with `STEMMED`.
        for text in [
            "Sewing Machine OPERATORS wanted, overtime PAID",
            "ជាងកាត់ដេរ ប្រាក់ខែ ៣០០ដុល្លារ + accommodation",
            "Café staff: cooking, cleaning & serving (Siem Reap)",
        ] {
            let mut words = words_analyzer();
            let stemmed: Vec<String> = word_tokens(&mut words, text)
                .into_iter()
                .map(|token| stem(&token.text))
                .collect();
            assert_eq!(stemmed, tokens(stemmed_analyzer(), text), "{text}");
        }
    }

    #[test]
    fn a_colon_separates_words_so_field_syntax_is_plain_text() {
        assert_eq!(
            tokens(words_analyzer(), "status:closed"),
            ["status", "closed"]
        );
    }

    #[test]
    fn mixed_script_text_yields_both_scripts_words() {
        assert_eq!(
            tokens(words_analyzer(), "Sewing ជាងកាត់ដេរ ៣០០$"),
            ["sewing", "ជាងកាត់ដេរ", "300"]
        );
    }

    #[test]
    fn a_query_word_is_found_by_its_gram_or_its_consecutive_trigrams() {
        assert_eq!(khmer_grams("សំណង់"), ["សំណង់"]);
        assert_eq!(khmer_grams("កាត់ដេរ"), ["កាត់ដេ", "ត់ដេរ"]);
        assert_eq!(khmer_grams("ដេរ"), ["ដេរ"]);
        assert!(khmer_grams("ក").is_empty());
        assert!(khmer_grams("sewing").is_empty());
    }

    #[test]
    fn khmer_text_is_indexed_as_bigrams_and_trigrams_of_each_run() {
        let mut tokenizer = KhmerGramTokenizer;
        let mut stream = tokenizer.token_stream("សំណង់ ដេរ");
        let mut grams = Vec::new();
        while let Some(token) = stream.next() {
            grams.push(token.text.clone());
        }
        assert_eq!(grams, ["សំណ", "ណង់", "សំណង់", "ដេរ"]);
    }

    #[test]
    fn query_words_know_their_length_in_user_characters() {
        let words = query_words("កម្មករ sewing 300");
        assert_eq!(words[0].chars, 4);
        assert_eq!(words[1].stem, "sew");
        assert_eq!(words[1].chars, 6);
        assert!(words[2].numeric);
    }
}
