//! A query against a label index: every query unit compared once with the
//! vocabulary, the labels sharing a similar token scored (token and phrase scores),
//! each item kept at its best label, and the best `limit` items ordered.

use std::cmp::Ordering;

use super::labels::{Hit, LabelIndex};
use super::query::Query;

/// Token similarities below this count as no match.
pub(super) const MIN_TOKEN_SIMILARITY: f32 = 0.75;
/// Labels whose query tokens are matched less than this (weighted mean) are dropped.
const MIN_QUERY_COVERAGE: f32 = 0.5;
/// Results scoring less than this are dropped.
const MIN_SCORE: f64 = 0.4;
/// Discount on a match through two query tokens run together.
const JOINED_PAIR_FACTOR: f32 = 0.97;

impl LabelIndex {
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
