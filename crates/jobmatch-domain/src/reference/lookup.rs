//! Typo-tolerant lookup of skills and occupations by label, for counsellors typing on
//! a phone ("sewing machne", "brick layng").
//!
//! Every preferred, alternative and hidden label is normalised once at load (NFC,
//! lowercase, diacritics removed from Latin letters, whitespace collapsed) and split
//! into word tokens; distinct tokens form a vocabulary with postings lists (token →
//! labels). A query is normalised the same way and each of its tokens (and each pair
//! of adjacent tokens run together, for "brick laying" vs "bricklaying") is compared
//! once against the vocabulary, with the typo budget vacancy search uses too
//! ([`crate::typo::typo_budget`]): no typo in a word of 1 to 4 characters
//! (graphemes), one in 5 to 8, two from 9; only the last word typed completes as a prefix; and for any one word an
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

use super::taxonomy::{Occupation, OccupationId, Skill, SkillId, Taxonomy};

mod labels;
mod popularity;
mod query;
mod search;
#[cfg(test)]
mod tests;
mod text;

pub(super) use labels::LabelIndex;
pub(super) use popularity::{default_occupation_order, default_skill_order};
use popularity::{is_returnee_trade, skill_popularity};

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

fn is_blank(query: &str) -> bool {
    !query.chars().any(char::is_alphanumeric)
}
