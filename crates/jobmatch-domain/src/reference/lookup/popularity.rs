//! How common a skill or occupation is in the trades most returnees work in: the
//! order of near-equal matches, and of the entries an empty query lists.

use super::super::taxonomy::{Occupation, OccupationId, Skill, SkillId, Taxonomy};

/// ISCO-08 group prefixes of the trades most returnees from Thailand work in:
/// garment (753 garment and related trades, 815 textile, fur and leather machine
/// operators), construction (711 building frame, 712 building finishers, 713 painters,
/// 721 sheet and structural metal workers and welders, 931 construction labourers) and
/// production (81 plant and machine operators, 82 assemblers, 932 manufacturing
/// labourers).
const RETURNEE_ISCO_PREFIXES: &[&str] = &[
    "753", "815", "711", "712", "713", "721", "931", "81", "82", "932",
];

pub(super) fn is_returnee_trade(isco_code: &str) -> bool {
    RETURNEE_ISCO_PREFIXES
        .iter()
        .any(|prefix| isco_code.starts_with(prefix))
}

/// Each skill's popularity (`lookup` module docs), as one number that orders the
/// same way: returnee-trade occupations listing it × 2048 + all occupations listing
/// it (the subset has fewer than 2048 occupations).
pub(super) fn skill_popularity(taxonomy: &Taxonomy) -> Vec<u32> {
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
pub(in crate::reference) fn default_skill_order(
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
pub(in crate::reference) fn default_occupation_order(
    occupations: &[Occupation],
) -> Vec<OccupationId> {
    let mut order: Vec<usize> = (0..occupations.len()).collect();
    order.sort_by(|&a, &b| {
        let (a, b) = (&occupations[a], &occupations[b]);
        is_returnee_trade(&b.isco_code)
            .cmp(&is_returnee_trade(&a.isco_code))
            .then_with(|| a.esco_code.cmp(&b.esco_code))
    });
    order.into_iter().map(|i| OccupationId(i as u32)).collect()
}
