//! A vacancy's best candidates: generation from the worker posting lists of the
//! vacancy's skills and ISCO minor group, selection by bound, workers met only
//! through related skills in a second round, the standing list when it can answer,
//! and congestion damping over the head of the list.

use std::cmp::Ordering;

use super::bounds::{Bounds, SAME_MINOR_BONUS, WorkerGate, refine};
use super::congestion::{CONGESTION_WINDOW, Congestion};
use super::locations::{distance, pair_distance};
use super::query::{
    CandidateQuery, ScoredMatch, province_filter, validate_common, validate_damping,
};
use super::selection::{Hit, Scratch, TopK, select};
use super::standing::STANDING_LENGTH;
use super::{MatchIndex, vacancy_open};
use crate::error::MatchError;
use crate::ids::CompactId;
use crate::profile::VacancyProfile;
use crate::score::{Context, direct_credit, quality, related_credit, score_pair, wage_factor};

impl MatchIndex<'_> {
    /// The best workers for a vacancy: eligible ones only unless asked, best first,
    /// ties broken by worker id; with `congestion_damping`, people who fully qualify
    /// for many other open vacancies within reach are moved down (see "Congestion" in
    /// the `index` module documentation).
    pub fn candidates_for_vacancy(
        &self,
        vacancy_id: &str,
        query: &CandidateQuery,
    ) -> Result<Vec<ScoredMatch>, MatchError> {
        validate_common(query.limit, query.min_score)?;
        validate_damping(query.congestion_damping)?;
        let province = province_filter(query.province_code.as_deref())?;
        let mut context = self.context(query.weights, query.today)?;
        if query.employer_view {
            context = context.for_employer();
        }
        let vacancy_slot = self
            .vacancies
            .by_id
            .get(vacancy_id)
            .copied()
            .ok_or_else(|| MatchError::UnknownVacancy(vacancy_id.to_string()))?;
        let vacancy = self
            .vacancy(vacancy_id)
            .ok_or_else(|| MatchError::UnknownVacancy(vacancy_id.to_string()))?;
        if !query.include_ineligible && !vacancy_open(vacancy, &context) {
            // Every pair would be ineligible.
            return Ok(Vec::new());
        }
        let mut scratch = self.take_scratch();
        let damping = query.congestion_damping;
        let ranked: Vec<(Hit, Option<Congestion>)> = if damping == 0.0 {
            self.best_candidates(
                vacancy_slot,
                vacancy,
                query,
                province,
                &context,
                query.limit,
                &mut scratch,
            )
            .into_iter()
            .map(|hit| (hit, None))
            .collect()
        } else {
            // Damping re-ranks the best `CONGESTION_WINDOW × limit` by undamped score.
            let window = query.limit * CONGESTION_WINDOW;
            let hits = self.best_candidates(
                vacancy_slot,
                vacancy,
                query,
                province,
                &context,
                window,
                &mut scratch,
            );
            let mut damped: Vec<(Hit, Option<Congestion>)> = hits
                .into_iter()
                .map(|mut hit| {
                    let count =
                        self.qualified_elsewhere(hit.slot, vacancy_slot, &context, &mut scratch);
                    let congestion = Congestion::new(count, damping);
                    hit.raw.score *= congestion.factor;
                    (hit, Some(congestion))
                })
                .filter(|(hit, _)| hit.raw.score >= query.min_score)
                .collect();
            let before = self.worker_before();
            damped.sort_by(|(a, _), (b, _)| {
                if before(a, b) {
                    Ordering::Less
                } else if before(b, a) {
                    Ordering::Greater
                } else {
                    Ordering::Equal
                }
            });
            damped.truncate(query.limit);
            damped
        };
        self.return_scratch(scratch);
        let workers = &self.workers;
        Ok(ranked
            .iter()
            .map(|(hit, congestion)| {
                let view = workers.view(hit.slot);
                let province = workers.slots[hit.slot as usize].core.province;
                let mut scored = self.scored(
                    workers.ids[hit.slot as usize].to_string(),
                    view,
                    province,
                    vacancy,
                    &hit.raw,
                    &context,
                );
                if let Some(congestion) = congestion {
                    scored
                        .explanation
                        .apply_congestion(congestion.qualified_elsewhere, congestion.factor);
                }
                scored
            })
            .collect())
    }

    /// The best `limit` candidates by score (undamped), best first, ties by id:
    /// from the vacancy's standing list when it can tell them exactly, else ranked
    /// (and kept as the list when the query is the default one).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn best_candidates(
        &self,
        vacancy_slot: u32,
        vacancy: &VacancyProfile,
        query: &CandidateQuery,
        province: Option<u8>,
        context: &Context<'_>,
        limit: usize,
        scratch: &mut Scratch,
    ) -> Vec<Hit> {
        if !self.standing_applies(query, province, limit) {
            return self.top_candidate_hits(vacancy, query, province, context, limit, scratch);
        }
        if let Some(entries) =
            self.standing_prefix(vacancy_slot, query.today, limit, query.min_score)
        {
            // Scored again for the explanation: a few pairs, the same numbers.
            return entries
                .into_iter()
                .map(|(score, slot)| {
                    let raw = score_pair(
                        self.workers.view(slot),
                        vacancy,
                        pair_distance(self.worker_home(slot), vacancy.coordinates),
                        context,
                    );
                    debug_assert_eq!(raw.score, score, "standing list out of step");
                    Hit {
                        slot,
                        group: 0,
                        raw,
                    }
                })
                .collect();
        }
        if query.min_score > 0.0 {
            return self.top_candidate_hits(vacancy, query, province, context, limit, scratch);
        }
        let mut hits =
            self.top_candidate_hits(vacancy, query, province, context, STANDING_LENGTH, scratch);
        self.store_standing(vacancy_slot, query.today, &hits);
        hits.truncate(limit);
        hits
    }

    /// The best `limit` candidates by score (undamped), best first, ties by id,
    /// ranked from the posting lists.
    pub(super) fn top_candidate_hits(
        &self,
        vacancy: &VacancyProfile,
        query: &CandidateQuery,
        province: Option<u8>,
        context: &Context<'_>,
        limit: usize,
        scratch: &mut Scratch,
    ) -> Vec<Hit> {
        let bounds = Bounds::of(vacancy, &self.tables);
        let distances = self.locations.distances_from(vacancy.coordinates, false);
        let workers = &self.workers;
        let mut top = TopK {
            limit,
            per_group: 0,
            hits: Vec::with_capacity(limit + 1),
        };
        let top_wage = vacancy.wage_max_usd.or(vacancy.wage_min_usd);
        // The bound of a slot refined from its gate; -1 drops it (filtered out, or
        // surely ineligible when ineligible pairs are not asked for).
        let refined = |slot: u32, upper: f64| {
            let gate = WorkerGate(workers.gates[slot as usize]);
            if province.is_some_and(|p| p != gate.province()) {
                return -1.0;
            }
            let (distance_bound, too_far) =
                gate.distance_bound(distance(&distances, gate.location()));
            if !query.include_ineligible && (too_far || !gate.seeking()) {
                return -1.0;
            }
            let wage = wage_factor(
                context.scored_wage(gate.expected_wage()),
                top_wage,
                context.weights.wage_penalty,
            );
            let preferences = gate.preferences_bound(vacancy.sector, vacancy.accommodation);
            refine(upper, context, distance_bound, wage, preferences)
        };
        let evaluate = |slot: u32| {
            let location = WorkerGate(workers.gates[slot as usize]).location();
            let distance_km = distance(&distances, location);
            let raw = score_pair(workers.view(slot), vacancy, distance_km, context);
            self.keep(raw, query.include_ineligible, query.min_score)
                .then_some(Hit {
                    slot,
                    group: 0,
                    raw,
                })
        };

        scratch.begin(workers.slots.len());
        self.generate_workers(vacancy, &bounds, context, scratch);
        let constant = bounds.constant(context);
        select(
            scratch,
            &mut top,
            query.min_score,
            |_, partial| partial + constant as f32,
            refined,
            evaluate,
            self.worker_before(),
        );
        // Workers who hold none of the skills but related ones, and no experience in
        // the ISCO minor group, can only matter when the list is not yet good enough.
        let related_weight = context.weights.related_skill_credit;
        let related_only = bounds.related_only_constant(context);
        let best_related_only =
            related_only + context.normalised[0] * related_weight * f64::from(bounds.related);
        let floor = top
            .threshold()
            .map_or(query.min_score, |worst| worst.max(query.min_score));
        if related_weight > 0.0 && best_related_only >= floor {
            scratch.begin_related_only();
            self.generate_related_workers(vacancy, &bounds, context, scratch);
            select(
                scratch,
                &mut top,
                query.min_score,
                |_, partial| partial + related_only as f32,
                refined,
                evaluate,
                self.worker_before(),
            );
        }
        top.hits
    }

    /// Marks every worker that holds a skill the vacancy lists or has experience in
    /// its ISCO minor group, with the part of its score bound that depends on that.
    pub(super) fn generate_workers(
        &self,
        vacancy: &VacancyProfile,
        bounds: &Bounds,
        context: &Context<'_>,
        scratch: &mut Scratch,
    ) {
        if vacancy.unspecified() {
            for (slot, id) in self.workers.ids.iter().enumerate() {
                if *id != CompactId::Vacant {
                    scratch.add(slot as u32, 0.0);
                }
            }
            return;
        }
        let skills_weight = context.normalised[0];
        let postings = &self.workers.skill_postings;
        let mut table = [0f32; 256];
        for requirement in &vacancy.required {
            for (attributes, bound) in table.iter_mut().enumerate() {
                *bound = (direct_credit(attributes as u8, requirement.min_level)
                    * f64::from(bounds.required)
                    * skills_weight) as f32;
            }
            for &entry in &postings[requirement.skill.0 as usize] {
                scratch.add(entry >> 8, table[(entry & 0xff) as usize]);
            }
        }
        for (attributes, bound) in table.iter_mut().enumerate() {
            *bound =
                (quality(attributes as u8) * f64::from(bounds.preferred) * skills_weight) as f32;
        }
        for skill in &vacancy.preferred {
            for &entry in &postings[skill.0 as usize] {
                scratch.add(entry >> 8, table[(entry & 0xff) as usize]);
            }
        }
        if let Some(unit) = vacancy.isco_unit {
            let bonus = (context.normalised[1] * SAME_MINOR_BONUS) as f32;
            for &slot in &self.workers.minor_postings[usize::from(unit.minor_group())] {
                scratch.add(slot, bonus);
            }
        }
    }

    /// Marks the workers not met by [`Self::generate_workers`] who hold a skill
    /// related to a required one.
    pub(super) fn generate_related_workers(
        &self,
        vacancy: &VacancyProfile,
        bounds: &Bounds,
        context: &Context<'_>,
        scratch: &mut Scratch,
    ) {
        let skills_weight = context.normalised[0];
        let related_weight = context.weights.related_skill_credit;
        let postings = &self.workers.skill_postings;
        let mut table = [0f32; 256];
        for requirement in &vacancy.required {
            for &(related, similarity) in self.tables.related(requirement.skill.0) {
                for (attributes, bound) in table.iter_mut().enumerate() {
                    *bound = (related_credit(
                        attributes as u8,
                        requirement.min_level,
                        similarity,
                        related_weight,
                    ) * f64::from(bounds.required)
                        * skills_weight) as f32;
                }
                for &entry in &postings[related as usize] {
                    scratch.add_new(entry >> 8, table[(entry & 0xff) as usize]);
                }
            }
        }
    }
}
