//! Typo-tolerant lookup of skills and occupations by label, for counsellors typing on
//! a phone ("sewing machne", "brick layng").
//!
//! Every preferred, alternative and hidden label is normalised once at load (NFC,
//! lowercase, diacritics removed from Latin letters, whitespace collapsed) and split
//! into word tokens; distinct tokens form a vocabulary with postings lists (token →
//! labels). A query is normalised the same way and each of its tokens (and each pair
//! of adjacent tokens run together, for "brick laying" vs "bricklaying") is compared
//! once against the vocabulary, with the typo rules of vacancy search
//! (`jobmatch-search`): no typo in a word of 1 to 4 characters, one in 5 to 8, two
//! from 9; only the last word typed completes as a prefix; and for any one word an
//! exact match beats a completion, which beats a typo:
//!
//! | token relation                                   | similarity                 |
//! |--------------------------------------------------|----------------------------|
//! | identical                                        | 1.0                        |
//! | same crude stem (`sewing` ~ `sew`)               | 0.95                       |
//! | the last query word is a prefix (still typed)    | 0.84 + 0.1 × length ratio  |
//! | one edit (`strsim::osa_distance`: insertion, deletion, substitution, adjacent transposition) | 0.82 |
//! | two edits                                        | 0.78                       |
//!
//! Lengths are counted in characters of the query word. Similarities under 0.75 are
//! ignored. A typo match of a query word that is itself a label word is discounted
//! below that (a correctly spelt `sewing` should not find `sawing`).
//!
//! Only labels sharing a similar token are scored. A label's score is the best of
//! - 1.0 for an exact match of the normalised label, 0.98 if only punctuation differs;
//! - 0.90 when the label starts with the query as whole words, 0.84 when it contains
//!   it as whole words, 0.80 when the query's last word is cut short there (plus up to
//!   0.04 for the share of the label the query covers);
//! - a token score of at most 0.8: 70 % how well each query token is matched by its
//!   closest label token (stop words count a quarter), 30 % how much of the label the
//!   query covers. Labels matching less than half the query are dropped.
//!
//! An item (skill or occupation) scores as its best label. Scores are rounded to
//! hundredths so that near-equal matches are ordered by how common the item is in the
//! trades most returnees work in (garment, construction and production; see
//! [`RETURNEE_ISCO_PREFIXES`]), then by label:
//!
//! - a skill's popularity is the number of occupations of those trades (ESCO
//!   occupations whose ISCO-08 group is one of those prefixes) that list it as
//!   essential or optional, then the number of all occupations that list it;
//! - an occupation's is whether it is one of those trades.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::OnceLock;

use unicode_normalization::UnicodeNormalization;

use super::taxonomy::{Occupation, OccupationId, Skill, SkillId, Taxonomy};

/// A lookup result.
#[derive(Debug)]
pub struct Match<'a, T> {
    pub item: &'a T,
    /// 0..=1, higher is closer; 1.0 only for an exact label match. Rounded to hundredths.
    pub score: f64,
    /// The label (preferred, alternative or hidden) that matched best, as written in ESCO.
    pub matched_label: &'a str,
}

impl<T> Clone for Match<'_, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Match<'_, T> {}

impl Taxonomy {
    /// Typo-tolerant lookup over preferred, alternative and hidden labels, best first:
    /// by score, then by popularity in the returnee trades (module docs), then by
    /// preferred label.
    ///
    /// An empty query (nothing but whitespace and punctuation) returns the skills most
    /// useful to returnees, with score 0.0 since nothing was matched: ranked by how many
    /// occupations link to them, counting an occupation in the garment, construction
    /// and production trades (ISCO-08 groups 753, 815, 711–713, 721, 931, 81, 82, 932)
    /// three times and any other occupation once.
    pub fn lookup_skills(&self, query: &str, limit: usize) -> Vec<Match<'_, Skill>> {
        let skills = self.skills();
        let popularity = self
            .skill_index
            .priors
            .get_or_init(|| skill_popularity(self));
        if is_blank(query) {
            return self
                .default_skills
                .iter()
                .take(limit)
                .map(|&SkillId(i)| {
                    let item = &skills[i as usize];
                    Match {
                        item,
                        score: 0.0,
                        matched_label: &item.label,
                    }
                })
                .collect();
        }
        self.skill_index
            .search(
                query,
                limit,
                |i| popularity[i as usize],
                |i| &skills[i as usize].label,
            )
            .into_iter()
            .map(|hit| Match {
                item: &skills[hit.item as usize],
                score: hit.score,
                matched_label: self.skill_index.label_text(hit.label),
            })
            .collect()
    }

    /// Typo-tolerant lookup over preferred and alternative occupation labels, best
    /// first: by score, then returnee trades (garment, construction, production) before
    /// others, then by preferred label.
    ///
    /// An empty query returns the occupations of the returnee trades in ESCO-code order
    /// (so related trades sit together), then the others, with score 0.0.
    pub fn lookup_occupations(&self, query: &str, limit: usize) -> Vec<Match<'_, Occupation>> {
        let occupations = self.occupations();
        if is_blank(query) {
            return self
                .default_occupations
                .iter()
                .take(limit)
                .map(|&OccupationId(i)| {
                    let item = &occupations[i as usize];
                    Match {
                        item,
                        score: 0.0,
                        matched_label: &item.label,
                    }
                })
                .collect();
        }
        self.occupation_index
            .search(
                query,
                limit,
                |i| u32::from(is_returnee_trade(&occupations[i as usize].isco_code)),
                |i| &occupations[i as usize].label,
            )
            .into_iter()
            .map(|hit| Match {
                item: &occupations[hit.item as usize],
                score: hit.score,
                matched_label: self.occupation_index.label_text(hit.label),
            })
            .collect()
    }
}

/// ISCO-08 group prefixes of the trades most returnees from Thailand work in:
/// garment (753 garment and related trades, 815 textile, fur and leather machine
/// operators), construction (711 building frame, 712 building finishers, 713 painters,
/// 721 sheet and structural metal workers and welders, 931 construction labourers) and
/// production (81 plant and machine operators, 82 assemblers, 932 manufacturing
/// labourers).
const RETURNEE_ISCO_PREFIXES: &[&str] = &[
    "753", "815", "711", "712", "713", "721", "931", "81", "82", "932",
];

fn is_returnee_trade(isco_code: &str) -> bool {
    RETURNEE_ISCO_PREFIXES
        .iter()
        .any(|prefix| isco_code.starts_with(prefix))
}

/// Each skill's popularity (module docs), as one number that orders the same way:
/// returnee-trade occupations listing it × 2048 + all occupations listing it (the
/// subset has fewer than 2048 occupations).
fn skill_popularity(taxonomy: &Taxonomy) -> Vec<u32> {
    let occupations = taxonomy.occupations();
    (0..taxonomy.skills().len())
        .map(|skill| {
            let listing = taxonomy.occupations_with_skill(SkillId(skill as u32));
            let in_trades = listing
                .iter()
                .filter(|occupation| {
                    is_returnee_trade(&occupations[occupation.0 as usize].isco_code)
                })
                .count() as u32;
            in_trades * 2048 + listing.len() as u32
        })
        .collect()
}

/// Skill order for an empty query: sector-weighted linked-occupation count, then
/// linked-occupation count, then label.
pub(super) fn default_skill_order(
    skills: &[Skill],
    occupations_by_skill: &[Vec<OccupationId>],
    occupations: &[Occupation],
) -> Vec<SkillId> {
    let weight = |skill: usize| -> u32 {
        occupations_by_skill[skill]
            .iter()
            .map(|o| {
                if is_returnee_trade(&occupations[o.0 as usize].isco_code) {
                    3
                } else {
                    1
                }
            })
            .sum()
    };
    let weights: Vec<u32> = (0..skills.len()).map(weight).collect();
    let mut order: Vec<usize> = (0..skills.len()).collect();
    order.sort_by(|&a, &b| {
        weights[b]
            .cmp(&weights[a])
            .then(
                skills[b]
                    .linked_occupation_count
                    .cmp(&skills[a].linked_occupation_count),
            )
            .then_with(|| skills[a].label.cmp(&skills[b].label))
    });
    order.into_iter().map(|i| SkillId(i as u32)).collect()
}

/// Occupation order for an empty query: returnee trades first, then ESCO code.
pub(super) fn default_occupation_order(occupations: &[Occupation]) -> Vec<OccupationId> {
    let mut order: Vec<usize> = (0..occupations.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&occupations[a], &occupations[b]);
        is_returnee_trade(&b.isco_code)
            .cmp(&is_returnee_trade(&a.isco_code))
            .then_with(|| a.esco_code.cmp(&b.esco_code))
    });
    order.into_iter().map(|i| OccupationId(i as u32)).collect()
}

/// Query tokens beyond this are ignored; labels are rarely longer.
const MAX_QUERY_TOKENS: usize = 8;
/// Token similarities below this count as no match.
const MIN_TOKEN_SIMILARITY: f32 = 0.75;
/// Labels whose query tokens are matched less than this (weighted mean) are dropped.
const MIN_QUERY_COVERAGE: f32 = 0.5;
/// Results scoring less than this are dropped.
const MIN_SCORE: f64 = 0.4;
/// Weight of a stop word relative to a content word, in both query and label.
const STOP_WORD_WEIGHT: f32 = 0.25;
/// Discount on a typo match for a query word that is itself a label word.
const KNOWN_WORD_TYPO_FACTOR: f32 = 0.85;
/// Discount on a match through two query tokens run together.
const JOINED_PAIR_FACTOR: f32 = 0.97;

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "into", "of", "on", "or", "the", "to",
    "with",
];

/// A distinct label token.
struct Token {
    text: String,
    stem: String,
    chars: usize,
    letters: u32,
    weight: f32,
}

/// One label of one item, normalised.
struct Label {
    item: u32,
    /// As written in ESCO.
    text: String,
    /// NFC, lowercase, whitespace collapsed.
    full: String,
    /// The word tokens joined by single spaces (punctuation dropped); empty when that
    /// equals `full`, to save an allocation per label. Read through `joined()`.
    joined: String,
    tokens: Vec<u32>,
    /// Sum of the token weights.
    weight: f32,
}

impl Label {
    fn joined(&self) -> &str {
        if self.joined.is_empty() {
            &self.full
        } else {
            &self.joined
        }
    }
}

/// Normalised labels of one kind of item, with a token vocabulary and postings.
pub(super) struct LabelIndex {
    vocab: Vec<Token>,
    vocab_ids: HashMap<String, u32>,
    /// Vocabulary index → labels containing that token, ascending, no duplicates.
    postings: Vec<Vec<u32>>,
    labels: Vec<Label>,
    items: usize,
    /// Per item, the popularity that orders near-equal matches; computed from the
    /// taxonomy's relations on first use.
    pub(super) priors: OnceLock<Vec<u32>>,
}

/// An item's best label and its rounded score.
pub(super) struct Hit {
    pub item: u32,
    pub label: u32,
    pub score: f64,
}

impl LabelIndex {
    /// Indexes the labels of each item (preferred label first); item ids are the
    /// iteration positions. Labels that normalise to the same text as an earlier label
    /// of the same item are skipped.
    pub(super) fn build<'a, L>(items: impl Iterator<Item = L>) -> LabelIndex
    where
        L: Iterator<Item = &'a str>,
    {
        let mut vocab: Vec<Token> = Vec::new();
        let mut vocab_ids: HashMap<String, u32> = HashMap::new();
        let mut postings: Vec<Vec<u32>> = Vec::new();
        let mut labels: Vec<Label> = Vec::new();
        let mut item_count = 0;
        for (item, item_labels) in items.enumerate() {
            item_count = item + 1;
            let first_label = labels.len();
            for text in item_labels {
                let full = normalise(text);
                if full.is_empty() || labels[first_label..].iter().any(|l| l.full == full) {
                    continue;
                }
                let label_id = labels.len() as u32;
                let mut tokens = Vec::new();
                let mut joined = String::with_capacity(full.len());
                let mut weight = 0.0;
                for word in tokenise(&full) {
                    if !joined.is_empty() {
                        joined.push(' ');
                    }
                    joined.push_str(word);
                    let id = match vocab_ids.get(word) {
                        Some(&id) => id,
                        None => {
                            let id = vocab.len() as u32;
                            vocab.push(Token::new(word));
                            postings.push(Vec::new());
                            vocab_ids.insert(word.to_string(), id);
                            id
                        }
                    };
                    let posting = &mut postings[id as usize];
                    if posting.last() != Some(&label_id) {
                        posting.push(label_id);
                    }
                    weight += vocab[id as usize].weight;
                    tokens.push(id);
                }
                labels.push(Label {
                    item: item as u32,
                    text: text.trim().to_string(),
                    joined: if joined == full {
                        String::new()
                    } else {
                        joined
                    },
                    full,
                    tokens,
                    weight,
                });
            }
        }
        LabelIndex {
            vocab,
            vocab_ids,
            postings,
            labels,
            items: item_count,
            priors: OnceLock::new(),
        }
    }

    pub(super) fn label_text(&self, label: u32) -> &str {
        &self.labels[label as usize].text
    }

    /// The `limit` best items for a non-blank `query`; `prior` (higher first) and
    /// `name` order items whose rounded scores tie.
    pub(super) fn search<'s>(
        &'s self,
        query: &str,
        limit: usize,
        prior: impl Fn(u32) -> u32,
        name: impl Fn(u32) -> &'s str,
    ) -> Vec<Hit> {
        if limit == 0 {
            return Vec::new();
        }
        let query = Query::new(query);
        if query.tokens.is_empty() {
            return Vec::new();
        }
        let n = query.tokens.len();
        let units = query.units(|word| self.vocab_ids.contains_key(word));
        let unit_count = units.len();

        // Similarity of each relevant vocabulary token to each query unit, stored in
        // slots so that untouched tokens cost nothing.
        let mut slot_of = vec![u32::MAX; self.vocab.len()];
        let mut slot_sims: Vec<f32> = Vec::new();
        let mut is_candidate = vec![false; self.labels.len()];
        let mut candidates: Vec<u32> = Vec::new();
        let all_stop_words = query.tokens.iter().all(|t| t.stop_word);
        for (u, unit) in units.iter().enumerate() {
            // Stop words alone would make most labels candidates; they still count
            // when scoring labels found through other tokens.
            let seeds = all_stop_words || !unit.stop_word;
            for (t, token) in self.vocab.iter().enumerate() {
                let sim = unit.similarity(token);
                if sim < MIN_TOKEN_SIMILARITY {
                    continue;
                }
                if slot_of[t] == u32::MAX {
                    slot_of[t] = (slot_sims.len() / unit_count) as u32;
                    slot_sims.resize(slot_sims.len() + unit_count, 0.0);
                }
                let slot = slot_of[t] as usize * unit_count;
                slot_sims[slot + u] = sim;
                if seeds {
                    for &label in &self.postings[t] {
                        if !is_candidate[label as usize] {
                            is_candidate[label as usize] = true;
                            candidates.push(label);
                        }
                    }
                }
            }
        }

        let query_weight: f32 = query.tokens.iter().map(|t| t.weight).sum();
        let mut best_per_item: Vec<(f64, u32)> = vec![(-1.0, u32::MAX); self.items];
        let mut touched_items: Vec<u32> = Vec::new();
        let mut best = vec![0.0f32; n];
        candidates.sort_unstable();
        for &label_id in &candidates {
            let label = &self.labels[label_id as usize];
            best.iter_mut().for_each(|b| *b = 0.0);
            let mut covered = 0.0;
            for &t in &label.tokens {
                let slot = slot_of[t as usize];
                if slot == u32::MAX {
                    continue;
                }
                let sims = &slot_sims[slot as usize * unit_count..][..unit_count];
                let mut token_cover = 0.0f32;
                for (i, &sim) in sims[..n].iter().enumerate() {
                    best[i] = best[i].max(sim);
                    token_cover = token_cover.max(sim);
                }
                for (p, &sim) in sims[n..].iter().enumerate() {
                    let sim = sim * JOINED_PAIR_FACTOR;
                    best[p] = best[p].max(sim);
                    best[p + 1] = best[p + 1].max(sim);
                    token_cover = token_cover.max(sim);
                }
                covered += token_cover * self.vocab[t as usize].weight;
            }
            let query_coverage = query
                .tokens
                .iter()
                .zip(&best)
                .map(|(t, b)| t.weight * b)
                .sum::<f32>()
                / query_weight;
            if query_coverage < MIN_QUERY_COVERAGE {
                continue;
            }
            let label_coverage = (covered / label.weight).min(1.0);
            let token_score = 0.8 * (0.7 * query_coverage + 0.3 * label_coverage);
            let score = f64::from(token_score).max(query.phrase_score(label));
            let entry = &mut best_per_item[label.item as usize];
            if entry.1 == u32::MAX {
                touched_items.push(label.item);
            }
            // Strictly greater: among equal labels the earliest (preferred) one wins.
            if score > entry.0 {
                *entry = (score, label_id);
            }
        }

        let mut hits: Vec<Hit> = touched_items
            .into_iter()
            .filter_map(|item| {
                let (score, label) = best_per_item[item as usize];
                let score = (score * 100.0).round() / 100.0;
                (score >= MIN_SCORE).then_some(Hit { item, label, score })
            })
            .collect();
        let order = |a: &Hit, b: &Hit| -> Ordering {
            b.score
                .total_cmp(&a.score)
                .then_with(|| prior(b.item).cmp(&prior(a.item)))
                .then_with(|| name(a.item).cmp(name(b.item)))
                .then(a.item.cmp(&b.item))
        };
        if hits.len() > limit {
            hits.select_nth_unstable_by(limit - 1, order);
            hits.truncate(limit);
        }
        hits.sort_unstable_by(order);
        hits
    }
}

impl Token {
    fn new(text: &str) -> Token {
        let stop_word = STOP_WORDS.contains(&text);
        Token {
            text: text.to_string(),
            stem: stem(text).to_string(),
            chars: text.chars().count(),
            letters: letter_mask(text),
            weight: if stop_word { STOP_WORD_WEIGHT } else { 1.0 },
        }
    }
}

/// One token of a query.
struct QueryToken {
    weight: f32,
    stop_word: bool,
}

/// A string compared against the vocabulary: a query token, or two adjacent query
/// tokens run together.
struct Unit {
    text: String,
    stem: String,
    chars: usize,
    letters: u32,
    stop_word: bool,
    /// The text is a word of some label, so the user most likely spelt it as meant:
    /// near-misses (`sewing` ~ `sawing`) are discounted.
    known_word: bool,
    /// The unit ends the query, so its last word may still be being typed.
    at_end: bool,
}

impl Unit {
    fn new(text: String, known_word: bool, at_end: bool) -> Unit {
        Unit {
            stem: stem(&text).to_string(),
            chars: text.chars().count(),
            letters: letter_mask(&text),
            stop_word: STOP_WORDS.contains(&text.as_str()),
            known_word,
            at_end,
            text,
        }
    }

    /// Similarity in 0..=1 of this unit to a vocabulary token (table in module docs).
    /// For one unit, every exact or stem match scores above every completion, and
    /// every completion above every typo.
    fn similarity(&self, token: &Token) -> f32 {
        if self.text == token.text {
            return 1.0;
        }
        if self.stem.chars().count() >= 3 && self.stem == token.stem {
            return 0.95;
        }
        if self.at_end && self.chars >= MIN_PREFIX_CHARS && token.text.starts_with(&self.text) {
            return 0.84 + 0.1 * self.chars as f32 / token.chars as f32;
        }
        let allowed = max_edits(self.chars);
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

/// Typos tolerated in a query word of `chars` characters, as in vacancy search: none
/// up to 4 (so that short words such as `saw` and `sew` do not match each other), one
/// from 5 to 8, two from 9.
fn max_edits(chars: usize) -> usize {
    match chars {
        0..=4 => 0,
        5..=8 => 1,
        _ => 2,
    }
}

/// The last word completes as a prefix from this many characters; shorter beginnings
/// would match most of the taxonomy (an empty query lists the common entries instead).
const MIN_PREFIX_CHARS: usize = 3;

/// A normalised query.
struct Query {
    full: String,
    joined: String,
    words: Vec<String>,
    tokens: Vec<QueryToken>,
}

impl Query {
    fn new(raw: &str) -> Query {
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
    fn units(&self, is_known_word: impl Fn(&str) -> bool) -> Vec<Unit> {
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

    /// Score from how the whole query sits in the label as a phrase (module docs).
    fn phrase_score(&self, label: &Label) -> f64 {
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

fn is_blank(query: &str) -> bool {
    !query.chars().any(char::is_alphanumeric)
}

/// Lowercase, diacritics removed from Latin letters (`Café` → `cafe`), apostrophes
/// dropped (`customer's` → `customers`), whitespace trimmed and collapsed to single
/// spaces; the result is NFC. Khmer vowel signs and subscripts are combining marks too,
/// but of another block, and are kept.
fn normalise(text: &str) -> String {
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
fn is_latin_diacritic(c: char) -> bool {
    matches!(c, '\u{300}'..='\u{36F}' | '\u{1AB0}'..='\u{1AFF}' | '\u{1DC0}'..='\u{1DFF}' | '\u{FE20}'..='\u{FE2F}')
}

/// Latin letters that do not decompose into a base letter and a mark.
fn fold_letter(c: char) -> impl Iterator<Item = char> {
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

fn push_collapsed(out: &mut String, chars: impl Iterator<Item = char>) {
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
fn tokenise(normalised: &str) -> impl Iterator<Item = &str> {
    normalised
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
}

/// A crude English stem for matching inflections (`sewing`/`sew`,
/// `machines`/`machine`, `welded`/`weld`); keeps at least three characters.
fn stem(word: &str) -> &str {
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
fn letter_mask(text: &str) -> u32 {
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
    use super::super::Reference;
    use super::*;

    fn taxonomy() -> &'static Taxonomy {
        &Reference::embedded().taxonomy
    }

    fn skill_labels(query: &str, limit: usize) -> Vec<(String, f64, String)> {
        taxonomy()
            .lookup_skills(query, limit)
            .into_iter()
            .map(|m| (m.item.label.clone(), m.score, m.matched_label.to_string()))
            .collect()
    }

    fn is_sewing(label: &str) -> bool {
        let label = label.to_lowercase();
        label.contains("sew") || label.contains("stitch")
    }

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

    #[test]
    fn an_exact_label_scores_one() {
        let hits = taxonomy().lookup_skills("Keep records of work progress", 3);
        assert_eq!(hits[0].item.label, "keep records of work progress");
        assert_eq!(hits[0].score, 1.0);
    }

    #[test]
    fn sewing_ranks_sewing_skills_at_the_top() {
        let hits = skill_labels("sewing", 10);
        assert!(hits.len() == 10, "{hits:?}");
        for (label, _, matched) in &hits[..5] {
            assert!(is_sewing(label) || is_sewing(matched), "{hits:#?}");
        }
        assert!(
            hits[..3]
                .iter()
                .any(|(label, _, _)| label.starts_with("sew ")),
            "{hits:#?}"
        );
    }

    #[test]
    fn typo_in_sewing_machine_still_finds_it() {
        let hits = skill_labels("sewing machne", 5);
        assert!(
            hits[..3]
                .iter()
                .any(|(_, _, matched)| matched.contains("sewing machine")),
            "{hits:#?}"
        );
        let occupations = taxonomy().lookup_occupations("sewing machne", 3);
        assert_eq!(
            occupations[0].item.label, "sewing machine operator",
            "{:?}",
            occupations[0]
        );
    }

    #[test]
    fn bricklaying_with_and_without_typos_finds_bricklaying() {
        for query in ["bricklaying", "brick layng", "Brick laying", "bricklayng"] {
            let hits = skill_labels(query, 3);
            assert_eq!(hits[0].0, "lay bricks", "{query}: {hits:#?}");
        }
        let occupations = taxonomy().lookup_occupations("brick layer", 1);
        assert_eq!(occupations[0].item.label, "bricklayer");
    }

    #[test]
    fn welding_finds_welding_skills() {
        for query in ["welding", "weldng"] {
            let hits = skill_labels(query, 5);
            for (label, _, matched) in &hits {
                assert!(
                    matched.contains("weld") || label.contains("weld"),
                    "{query}: {hits:#?}"
                );
            }
        }
    }

    #[test]
    fn results_are_sorted_by_score_and_bounded() {
        for query in ["sewing", "forklift", "cook rice", "clean", "x"] {
            let hits = taxonomy().lookup_skills(query, 20);
            assert!(hits.len() <= 20);
            for pair in hits.windows(2) {
                assert!(pair[0].score >= pair[1].score, "{query}");
            }
            for hit in &hits {
                assert!((0.0..=1.0).contains(&hit.score));
            }
        }
    }

    #[test]
    fn each_skill_appears_at_most_once() {
        let hits = taxonomy().lookup_skills("operate machine", 50);
        let mut ids: Vec<&str> = hits.iter().map(|m| m.item.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), hits.len());
    }

    #[test]
    fn empty_query_returns_common_trade_skills() {
        let hits = taxonomy().lookup_skills("  ", 10);
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|m| m.score == 0.0));
        assert!(
            hits.iter().all(|m| m.item.linked_occupation_count >= 50),
            "{hits:#?}"
        );
        let occupations = taxonomy().lookup_occupations("", 5);
        assert!(
            occupations
                .iter()
                .all(|m| is_returnee_trade(&m.item.isco_code))
        );
    }

    #[test]
    fn zero_limit_and_nonsense_return_nothing() {
        assert!(taxonomy().lookup_skills("sewing", 0).is_empty());
        assert!(taxonomy().lookup_skills("qqqqzzzz", 5).is_empty());
    }

    #[test]
    fn hidden_labels_are_searchable() {
        let hits = skill_labels("microsoft office excel", 1);
        assert_eq!(hits[0].0, "use spreadsheets software");
    }

    #[test]
    fn a_partly_typed_word_still_matches() {
        let hits = skill_labels("forkl", 3);
        assert!(
            hits.iter()
                .all(|(_, _, m)| m.to_lowercase().contains("forklift")),
            "{hits:#?}"
        );
    }

    fn top_skill(query: &str) -> String {
        skill_labels(query, 1)
            .into_iter()
            .next()
            .map(|(_, _, matched)| matched.to_lowercase())
            .unwrap_or_default()
    }

    #[test]
    fn one_typo_is_tolerated_in_words_of_five_to_eight_characters() {
        // "weldng": 6 characters, one deletion; "sewng": 5; "operaet": a transposition.
        assert!(
            top_skill("weldng").contains("weld"),
            "{}",
            top_skill("weldng")
        );
        assert!(top_skill("sewng").contains("sew"), "{}", top_skill("sewng"));
        assert!(
            top_skill("operaet forklift").contains("forklift"),
            "{}",
            top_skill("operaet forklift")
        );
        // Two typos in a word of 5 to 8 characters are too many.
        assert!(
            skill_labels("wledng", 20)
                .iter()
                .all(|(_, _, matched)| !matched.contains("weld")),
            "{:#?}",
            skill_labels("wledng", 20)
        );
    }

    #[test]
    fn two_typos_are_tolerated_from_nine_characters() {
        // "scaffoldnig" (11 characters) has a transposition, "scafolding" a deletion,
        // "scafoldnig" both.
        for query in ["scaffoldnig", "scafolding", "scafoldnig"] {
            assert!(
                top_skill(query).contains("scaffold"),
                "{query}: {}",
                top_skill(query)
            );
        }
    }

    #[test]
    fn words_of_four_characters_or_fewer_must_be_typed_exactly() {
        // "wled" is one transposition from "weld", but too short to correct.
        assert!(
            skill_labels("wled", 20)
                .iter()
                .all(|(_, _, matched)| !matched.contains("weld")),
            "{:#?}",
            skill_labels("wled", 20)
        );
        assert!(top_skill("weld").contains("weld"));
    }

    #[test]
    fn an_exact_word_ranks_above_a_typo_match() {
        // "saw" and "sew" differ by a letter: short words are never corrected, so the
        // exact word wins and sewing does not come up at all.
        let hits = skill_labels("sawing", 10);
        assert!(
            hits.iter()
                .all(|(label, _, matched)| !is_sewing(label) && !is_sewing(matched)),
            "{hits:#?}"
        );
        // For one typed word: exact, then stem, then completion, then one typo, then two.
        let last_word = |text: &str| Unit::new(text.to_string(), false, true);
        let similarity =
            |query: &str, label_word: &str| last_word(query).similarity(&Token::new(label_word));
        let exact = similarity("scaffolding", "scaffolding");
        let stem = similarity("scaffolding", "scaffolds");
        let shortest_completion = similarity("sca", "scaffolding");
        let one_typo = similarity("scafolding", "scaffolding");
        let two_typos = similarity("scafoldnig", "scaffolding");
        assert!(
            exact > stem && stem > shortest_completion,
            "{exact} {stem} {shortest_completion}"
        );
        assert!(
            shortest_completion > one_typo && one_typo > two_typos,
            "{one_typo} {two_typos}"
        );
        assert!(two_typos >= MIN_TOKEN_SIMILARITY);
    }

    #[test]
    fn only_the_last_word_completes_as_a_prefix() {
        assert!(top_skill("operate fork").contains("forklift"));
        // "fork" not last: taken as a whole word, so forklift labels need more than it.
        let hits = skill_labels("fork operate", 5);
        assert!(
            hits.iter()
                .all(|(_, score, matched)| !matched.contains("forklift") || *score < 0.8),
            "{hits:#?}"
        );
    }

    #[test]
    fn accents_and_case_do_not_matter() {
        assert_eq!(top_skill("SÉWING MÀCHINE"), top_skill("sewing machine"));
    }

    #[test]
    fn equally_close_skills_are_ordered_by_use_in_the_returnee_trades() {
        let taxonomy = taxonomy();
        let popularity = taxonomy
            .skill_index
            .priors
            .get_or_init(|| skill_popularity(taxonomy));
        let hits = taxonomy.lookup_skills("sewing", 50);
        for pair in hits.windows(2) {
            if pair[0].score == pair[1].score {
                let id = |hit: &Match<'_, Skill>| {
                    taxonomy.skill_id(&hit.item.id).expect("known").0 as usize
                };
                assert!(
                    popularity[id(&pair[0])] >= popularity[id(&pair[1])],
                    "{pair:#?}"
                );
            }
        }
        // A skill that garment and construction occupations list outranks in
        // popularity one that only other trades list.
        let sewing = taxonomy
            .lookup_skills("operate sewing machines", 1)
            .first()
            .map(|hit| taxonomy.skill_id(&hit.item.id).expect("known").0 as usize)
            .expect("found");
        assert!(popularity[sewing] >= 2048, "listed by garment occupations");
    }

    #[test]
    fn unusual_input_does_not_panic() {
        let long = "sewing ".repeat(100);
        for query in [
            "ដេរ",
            "café crème",
            "’’’",
            "a",
            "C++",
            "🙂 sew",
            long.as_str(),
        ] {
            let _ = taxonomy().lookup_skills(query, 10);
            let _ = taxonomy().lookup_occupations(query, 10);
        }
    }
}
