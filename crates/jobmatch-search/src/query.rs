//! From what a person typed to a tantivy query.
//!
//! The parser is deliberately forgiving: it never fails. Balanced double quotes make a
//! phrase; an unbalanced quote, brackets and all other punctuation are ignored; `:` is
//! a word separator (see [`crate::analysis::normalize`]), so `status:closed` searches
//! for the words "status" and "closed" and can never reach a field. Queries are built
//! programmatically from the words; tantivy's `QueryParser` syntax is not exposed.
//!
//! Each word matches in tiers, and a document scores by its best tier for that word
//! (a disjunction-max), summed over words:
//!
//! | tier | when | score |
//! |---|---|---|
//! | exact (stemmed) in title, labels, description, employer or place | always | [`EXACT`] plus BM25 (title counts most) |
//! | Khmer substring: the word's grapheme grams | Khmer words of 2+ clusters | [`KHMER_PART`] |
//! | completion of the word | last word, while typing | [`PREFIX`] |
//! | one typo | words of 5+ characters | [`TYPO_1`] |
//! | two typos | words of 9+ characters | [`TYPO_2`] |
//!
//! Every tier below exact scores less than [`EXACT`], so an exact match always ranks
//! above a fuzzy one. Typos count insertions, deletions, substitutions and
//! transpositions of adjacent characters (optimal string alignment distance), and
//! characters are user-perceived ones (grapheme clusters). A word found in many
//! vacancies (0.5% of them, and at least 50) gets no typo variants: it was typed as
//! meant.

use std::collections::HashMap;

use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, DisjunctionMaxQuery, FuzzyTermQuery, Occur,
    PhraseQuery, Query, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::{Searcher, Term};

use jobmatch_domain::typo::typo_budget;

use crate::analysis::{QueryWord, has_khmer, query_word, query_words};
use crate::error::SearchError;
use crate::schema::Fields;

/// Characters of query text considered; the rest is ignored.
pub const MAX_QUERY_CHARS: usize = 200;
/// Words (including those inside phrases) considered; later words are ignored.
pub const MAX_QUERY_WORDS: usize = 10;
/// Terms one word may expand to, per tier (prefix, typos): the most frequent are kept.
pub const MAX_EXPANSIONS: usize = 50;
/// Dictionary terms examined per word, tier and segment before expansion stops, which
/// bounds the cost of a one-letter prefix.
const MAX_EXPANSION_SCAN: usize = 2_000;

/// A word in at least 1/`FREQUENT_WORD_SHARE` of the vacancies, and in at least
/// `FREQUENT_WORD_MIN`, gets no typo variants (see `QueryBuilder::is_frequent`).
const FREQUENT_WORD_SHARE: u64 = 200;
const FREQUENT_WORD_MIN: u64 = 50;

/// Score floor of an exact match; every other tier scores below it.
const EXACT: f32 = 3.0;
const KHMER_PART: f32 = 2.5;
const PREFIX: f32 = 2.0;
const TYPO_1: f32 = 1.5;
const TYPO_2: f32 = 1.0;
/// BM25 weights of the stemmed fields within the exact tier.
const FIELD_WEIGHTS: [(FieldKind, f32); 5] = [
    (FieldKind::Title, 2.0),
    (FieldKind::Labels, 1.0),
    (FieldKind::Description, 0.5),
    (FieldKind::Employer, 1.0),
    (FieldKind::Place, 1.0),
];

#[derive(Debug, Clone, Copy)]
enum FieldKind {
    Title,
    Labels,
    Description,
    Employer,
    Place,
}

impl FieldKind {
    fn field(self, fields: &Fields) -> Field {
        match self {
            FieldKind::Title => fields.title,
            FieldKind::Labels => fields.labels,
            FieldKind::Description => fields.description,
            FieldKind::Employer => fields.employer,
            FieldKind::Place => fields.place,
        }
    }
}

/// English words too common to require: dropped when other words remain.
const STOP_WORDS: [&str; 14] = [
    "a", "an", "and", "at", "for", "in", "of", "on", "or", "the", "to", "with", "job", "jobs",
];

/// A query as the person meant it: units that each must match (or, in the fallback,
/// any of which may).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct ParsedQuery {
    pub units: Vec<Unit>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Unit {
    Word(ParsedWord),
    /// A run of Khmer text (no spaces) that the dictionary split into several words.
    /// It matches when all its parts do, or when the run as a whole matches as one
    /// word. The second reading catches misspellings: `កមមករ` (កម្មករ without its
    /// subscript) is segmented into the real words `កម` and `មករ`, so only the whole
    /// run, one edit from `កម្មករ`, finds what was meant.
    Compound {
        parts: Vec<ParsedWord>,
        whole: ParsedWord,
    },
    /// Quoted words: their stems in sequence.
    Phrase(Vec<QueryWord>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ParsedWord {
    pub word: QueryWord,
    /// Quoted: exact matches only.
    pub quoted: bool,
    /// The word being typed: also matches as a prefix.
    pub prefix: bool,
}

impl ParsedWord {
    fn plain(word: QueryWord) -> Self {
        ParsedWord {
            word,
            quoted: false,
            prefix: false,
        }
    }
}

impl ParsedQuery {
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// Clauses that each must match for an all-words search.
    pub fn clause_count(&self) -> usize {
        self.units.len()
    }
}

const QUOTES: [char; 6] = [
    '"', '\u{201C}', '\u{201D}', '\u{201E}', '\u{00AB}', '\u{00BB}',
];

fn is_quote(c: char) -> bool {
    QUOTES.contains(&c)
}

/// Parses user text; never fails.
pub(crate) fn parse(text: &str) -> ParsedQuery {
    let text: String = text.chars().take(MAX_QUERY_CHARS).collect();
    // An odd number of quotes leaves the last one unmatched: it is ignored.
    let quote_count = text.chars().filter(|&c| is_quote(c)).count();
    let usable_quotes = quote_count - quote_count % 2;

    let mut segments: Vec<(String, bool)> = Vec::new();
    let mut current = String::new();
    let mut in_quote = false;
    let mut quotes_seen = 0;
    for c in text.chars() {
        if is_quote(c) {
            quotes_seen += 1;
            if quotes_seen <= usable_quotes {
                segments.push((std::mem::take(&mut current), in_quote));
                in_quote = !in_quote;
            } else {
                current.push(' ');
            }
            continue;
        }
        current.push(c);
    }
    segments.push((current, in_quote));

    let mut parsed = ParsedQuery::default();
    let mut budget = MAX_QUERY_WORDS;
    for (segment, quoted) in &segments {
        if *quoted {
            let mut words = query_words(segment);
            words.truncate(budget);
            budget -= words.len();
            match words.len() {
                0 => {}
                1 => parsed.units.push(Unit::Word(ParsedWord {
                    quoted: true,
                    ..ParsedWord::plain(words.remove(0))
                })),
                _ => parsed.units.push(Unit::Phrase(words)),
            }
            continue;
        }
        for chunk in segment.split_whitespace() {
            let mut words = query_words(chunk);
            words.truncate(budget);
            budget -= words.len();
            let khmer_run = words.len() > 1 && words.iter().all(|word| has_khmer(&word.surface));
            if khmer_run {
                let whole: String = words.iter().map(|word| word.surface.as_str()).collect();
                parsed.units.push(Unit::Compound {
                    parts: words.into_iter().map(ParsedWord::plain).collect(),
                    whole: ParsedWord::plain(query_word(whole)),
                });
            } else {
                parsed.units.extend(
                    words
                        .into_iter()
                        .map(|word| Unit::Word(ParsedWord::plain(word))),
                );
            }
        }
    }

    if parsed.units.len() > 1 {
        parsed.units.retain(|unit| match unit {
            Unit::Word(word) => word.quoted || !STOP_WORDS.contains(&word.word.surface.as_str()),
            _ => true,
        });
    }

    // Search as you type: the last word is still being typed unless the text ends
    // with a space, punctuation or a closing quote (or was cut by the word limit).
    let still_typing = budget > 0
        && text
            .chars()
            .last()
            .is_some_and(|c| !c.is_whitespace() && !c.is_ascii_punctuation() && !is_quote(c));
    if still_typing {
        match parsed.units.last_mut() {
            Some(Unit::Word(word)) if !word.quoted => word.prefix = true,
            Some(Unit::Compound { parts, whole }) => {
                whole.prefix = true;
                if let Some(last) = parts.last_mut() {
                    last.prefix = true;
                }
            }
            _ => {}
        }
    }
    parsed
}

/// Builds queries against one searcher (term expansions depend on its segments).
pub(crate) struct QueryBuilder<'a> {
    pub fields: &'a Fields,
    pub searcher: &'a Searcher,
}

impl QueryBuilder<'_> {
    /// The text part of a search. With `all_words` every word and phrase must match;
    /// otherwise any one of them (the fallback when all-words finds nothing).
    pub fn text_query(
        &self,
        parsed: &ParsedQuery,
        all_words: bool,
    ) -> Result<Box<dyn Query>, SearchError> {
        let mut clauses: Vec<Box<dyn Query>> = Vec::new();
        for unit in &parsed.units {
            clauses.push(match unit {
                Unit::Word(word) => self.word_query(word)?,
                Unit::Compound { parts, whole } => {
                    let mut all_parts: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                    for part in parts {
                        all_parts.push((Occur::Must, self.word_query(part)?));
                    }
                    Box::new(BooleanQuery::new(vec![
                        (Occur::Should, Box::new(BooleanQuery::new(all_parts))),
                        (Occur::Should, self.word_query(whole)?),
                    ]))
                }
                Unit::Phrase(words) => self.phrase_query(words),
            });
        }
        let occur = if all_words {
            Occur::Must
        } else {
            Occur::Should
        };
        Ok(Box::new(BooleanQuery::new(
            clauses.into_iter().map(|clause| (occur, clause)).collect(),
        )))
    }

    fn word_query(&self, parsed: &ParsedWord) -> Result<Box<dyn Query>, SearchError> {
        let word = &parsed.word;
        let mut tiers: Vec<Box<dyn Query>> = vec![self.exact_query(&word.stem)];
        if parsed.quoted {
            return Ok(tiers.remove(0));
        }
        if !word.grams.is_empty() {
            let grams: Vec<(Occur, Box<dyn Query>)> = word
                .grams
                .iter()
                .map(|gram| {
                    (
                        Occur::Must,
                        Box::new(TermQuery::new(
                            Term::from_field_text(self.fields.khmer_grams, gram),
                            IndexRecordOption::Basic,
                        )) as Box<dyn Query>,
                    )
                })
                .collect();
            tiers.push(constant(Box::new(BooleanQuery::new(grams)), KHMER_PART));
        }

        let mut taken: Vec<String> = vec![word.surface.clone(), word.stem.clone()];
        if parsed.prefix {
            let completions = self.expand(&word.surface, 0, true, &taken)?;
            taken.extend(completions.iter().map(|(term, _)| term.clone()));
            if let Some(query) = self.term_set(completions.into_iter().map(|(term, _)| term)) {
                tiers.push(constant(query, PREFIX));
            }
        }
        let budget = if word.numeric || self.is_frequent(&word.surface) {
            0
        } else {
            typo_budget(word.chars)
        };
        if budget > 0 {
            let variants = self.expand(&word.surface, budget, parsed.prefix, &taken)?;
            let (one, two): (Vec<_>, Vec<_>) = variants
                .into_iter()
                .partition(|(_, distance)| *distance <= 1);
            if let Some(query) = self.term_set(one.into_iter().map(|(term, _)| term)) {
                tiers.push(constant(query, TYPO_1));
            }
            if let Some(query) = self.term_set(two.into_iter().map(|(term, _)| term)) {
                tiers.push(constant(query, TYPO_2));
            }
        }
        if tiers.len() == 1 {
            return Ok(tiers.remove(0));
        }
        Ok(Box::new(DisjunctionMaxQuery::new(tiers)))
    }

    /// A word that many vacancies contain is taken as typed: its typo variants are not
    /// searched (per word, the spirit of Algolia's `typoTolerance: "min"`). They
    /// could only rank below its exact matches, which already fill the first pages,
    /// and for common words they are large unions of other common words (`worker`
    /// one edit from `works`), the most expensive part of a query.
    fn is_frequent(&self, surface: &str) -> bool {
        let term = Term::from_field_text(self.fields.words, surface);
        let frequency = self.searcher.doc_freq(&term).unwrap_or(0);
        let threshold = (self.searcher.num_docs() / FREQUENT_WORD_SHARE).max(FREQUENT_WORD_MIN);
        frequency >= threshold
    }

    /// Exact tier: a constant floor for matching any stemmed field, plus BM25 per field.
    fn exact_query(&self, stem: &str) -> Box<dyn Query> {
        let term_query = |kind: FieldKind| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(kind.field(self.fields), stem),
                IndexRecordOption::WithFreqs,
            ))
        };
        // The typo-and-prefix field also holds every word's stem, so one term there
        // says "some stemmed field has this word" (cheaper than a union of five).
        let any_field = TermQuery::new(
            Term::from_field_text(self.fields.words, stem),
            IndexRecordOption::Basic,
        );
        let mut clauses: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, constant(Box::new(any_field), EXACT))];
        for (kind, weight) in FIELD_WEIGHTS {
            clauses.push((
                Occur::Should,
                Box::new(BoostQuery::new(term_query(kind), weight)),
            ));
        }
        Box::new(BooleanQuery::new(clauses))
    }

    /// A quoted phrase: its stems in sequence in one of the phrase-capable fields.
    fn phrase_query(&self, words: &[QueryWord]) -> Box<dyn Query> {
        let per_field: Vec<Box<dyn Query>> = FIELD_WEIGHTS
            .iter()
            .map(|(kind, weight)| {
                let field = kind.field(self.fields);
                let terms = words
                    .iter()
                    .map(|word| Term::from_field_text(field, &word.stem))
                    .collect();
                Box::new(BoostQuery::new(Box::new(PhraseQuery::new(terms)), *weight))
                    as Box<dyn Query>
            })
            .collect();
        let any_field: Box<dyn Query> = Box::new(DisjunctionMaxQuery::new(per_field));
        // The same floor per word as the exact tier gives, so a phrase of n words
        // weighs like n exact words.
        let floor = constant(any_field.box_clone(), EXACT * words.len() as f32);
        Box::new(BooleanQuery::new(vec![
            (Occur::Must, any_field),
            (Occur::Should, floor),
        ]))
    }

    /// Terms of the typo-and-prefix field that `word` expands to: within `distance`
    /// edits (of the whole term, or of some prefix of it when `prefix`), excluding
    /// `taken`. The most frequent [`MAX_EXPANSIONS`] are kept, each with its distance.
    fn expand(
        &self,
        word: &str,
        distance: u8,
        prefix: bool,
        taken: &[String],
    ) -> Result<Vec<(String, u8)>, SearchError> {
        let term = Term::from_field_text(self.fields.words, word);
        let fuzzy = if prefix {
            FuzzyTermQuery::new_prefix(term, distance, true)
        } else {
            FuzzyTermQuery::new(term, distance, true)
        };
        let mut frequencies: HashMap<Vec<u8>, u64> = HashMap::new();
        for segment in self.searcher.segment_readers() {
            let inverted_index = segment.inverted_index(self.fields.words)?;
            let mut stream = inverted_index
                .terms()
                .search(fuzzy.automaton()?)
                .into_stream()?;
            let mut scanned = 0;
            while scanned < MAX_EXPANSION_SCAN && stream.advance() {
                scanned += 1;
                *frequencies.entry(stream.key().to_vec()).or_default() +=
                    u64::from(stream.value().doc_freq);
            }
        }
        let mut candidates: Vec<(String, u64)> = frequencies
            .into_iter()
            .filter_map(|(bytes, frequency)| Some((String::from_utf8(bytes).ok()?, frequency)))
            .filter(|(candidate, _)| !taken.contains(candidate))
            .collect();
        candidates.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        // A one- or two-letter prefix matches a large share of the vocabulary; its most
        // frequent completions are what a person typing it is likely to mean, and
        // fewer of them keep the union cheap.
        let limit = match word.chars().count() {
            1 => MAX_EXPANSIONS / 5,
            2 => MAX_EXPANSIONS / 2,
            _ => MAX_EXPANSIONS,
        };
        candidates.truncate(limit);
        Ok(candidates
            .into_iter()
            .map(|(candidate, _)| {
                let edits = if prefix {
                    prefix_distance(word, &candidate, distance)
                } else {
                    osa_distance(word, &candidate)
                };
                (candidate, edits)
            })
            .collect())
    }

    /// Documents with any of `terms` in the typo-and-prefix field. A union of term
    /// queries rather than a `TermSetQuery`: the terms are known to exist, so direct
    /// lookups beat intersecting the dictionary with a freshly built set automaton,
    /// and the union is lazy where the set query fills a bitset per segment.
    fn term_set(&self, terms: impl Iterator<Item = String>) -> Option<Box<dyn Query>> {
        let mut queries: Vec<Box<dyn Query>> = terms
            .map(|term| {
                Box::new(TermQuery::new(
                    Term::from_field_text(self.fields.words, &term),
                    IndexRecordOption::Basic,
                )) as Box<dyn Query>
            })
            .collect();
        match queries.len() {
            0 => None,
            1 => queries.pop(),
            _ => Some(Box::new(BooleanQuery::union(queries))),
        }
    }
}

fn constant(query: Box<dyn Query>, score: f32) -> Box<dyn Query> {
    Box::new(ConstScoreQuery::new(query, score))
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions) over
/// characters, as tantivy's automaton counts with transposition cost one.
pub(crate) fn osa_distance(a: &str, b: &str) -> u8 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let width = b.len() + 1;
    let mut table = vec![0usize; (a.len() + 1) * width];
    for i in 0..=a.len() {
        table[i * width] = i;
    }
    for (j, cell) in table.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (table[(i - 1) * width + j] + 1)
                .min(table[i * width + j - 1] + 1)
                .min(table[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(table[(i - 2) * width + j - 2] + 1);
            }
            table[i * width + j] = best;
        }
    }
    u8::try_from(table[a.len() * width + b.len()]).unwrap_or(u8::MAX)
}

/// Smallest distance between `word` and a prefix of `candidate` whose length is within
/// `max` characters of the word's.
fn prefix_distance(word: &str, candidate: &str, max: u8) -> u8 {
    let word_chars = word.chars().count();
    let candidate_chars: Vec<(usize, char)> = candidate.char_indices().collect();
    let low = word_chars.saturating_sub(usize::from(max));
    let high = (word_chars + usize::from(max)).min(candidate_chars.len());
    (low..=high)
        .map(|length| {
            let end = candidate_chars
                .get(length)
                .map_or(candidate.len(), |(offset, _)| *offset);
            osa_distance(word, &candidate[..end])
        })
        .min()
        .unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Surfaces of the free words, compounds' parts included.
    fn surfaces(parsed: &ParsedQuery) -> Vec<&str> {
        let mut out = Vec::new();
        for unit in &parsed.units {
            match unit {
                Unit::Word(word) if !word.quoted => out.push(word.word.surface.as_str()),
                Unit::Compound { parts, .. } => {
                    out.extend(parts.iter().map(|part| part.word.surface.as_str()))
                }
                _ => {}
            }
        }
        out
    }

    fn last_is_prefix(text: &str) -> bool {
        match parse(text).units.last() {
            Some(Unit::Word(word)) => word.prefix,
            Some(Unit::Compound { whole, .. }) => whole.prefix,
            _ => false,
        }
    }

    #[test]
    fn transposition_costs_one_edit() {
        assert_eq!(osa_distance("sewing", "sewign"), 1);
        assert_eq!(osa_distance("sewng", "sewing"), 1);
        assert_eq!(osa_distance("constrction", "construction"), 1);
        assert_eq!(osa_distance("", "abc"), 3);
    }

    #[test]
    fn prefix_distance_compares_with_the_typed_length() {
        assert_eq!(prefix_distance("sewin", "sewing", 1), 0);
        assert_eq!(prefix_distance("sewng", "sewing", 1), 1);
    }

    #[test]
    fn unbalanced_quote_is_ignored_and_balanced_quotes_make_a_phrase() {
        let unbalanced = parse("\"sewing machine");
        assert_eq!(surfaces(&unbalanced), ["sewing", "machine"]);

        let balanced = parse("\"sewing machine\" operator");
        assert!(matches!(&balanced.units[0], Unit::Phrase(words) if words.len() == 2));
        assert_eq!(surfaces(&balanced), ["operator"]);
    }

    #[test]
    fn field_syntax_and_brackets_are_just_words() {
        let parsed = parse("title:(sewing) AND status:closed");
        assert_eq!(
            surfaces(&parsed),
            ["title", "sewing", "and", "status", "closed"]
                .into_iter()
                .filter(|word| *word != "and")
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn the_last_word_is_a_prefix_only_while_it_is_being_typed() {
        assert!(last_is_prefix("sewing mach"));
        assert!(!last_is_prefix("sewing mach "));
        assert!(last_is_prefix("sewing"));
        assert!(!last_is_prefix("sewing."));
        assert!(!last_is_prefix("\"sewing\""));
        assert!(last_is_prefix("កម្មករសំណ"));
    }

    #[test]
    fn long_queries_are_cut_to_the_word_limit() {
        let text = "one two three four five six seven eight nine ten eleven twelve";
        assert_eq!(surfaces(&parse(text)).len(), MAX_QUERY_WORDS);
        assert!(!last_is_prefix(text));
        let long = format!("{} {} sewing machine", "x".repeat(100), "y".repeat(95));
        let words = surfaces(&parse(&long)).join(" ");
        assert!(words.ends_with(" sew"), "{words}");
        assert!(parse(&"x".repeat(100_000)).is_empty());
    }

    #[test]
    fn a_khmer_run_split_by_the_dictionary_is_also_kept_whole() {
        let parsed = parse("កមមករ សំណង់");
        assert_eq!(parsed.units.len(), 2);
        match &parsed.units[0] {
            Unit::Compound { parts, whole } => {
                assert_eq!(parts.len(), 2);
                assert_eq!(whole.word.surface, "កមមករ");
                assert_eq!(whole.word.chars, 5);
            }
            other => panic!("expected a compound, got {other:?}"),
        }
    }

    #[test]
    fn stop_words_are_dropped_unless_alone() {
        assert_eq!(surfaces(&parse("jobs in the garment")), ["garment"]);
        assert_eq!(surfaces(&parse("the")), ["the"]);
    }
}
