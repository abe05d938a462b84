//! A person's best vacancies, stored or previewed: generation from the vacancy
//! posting lists of the person's skills and ISCO minor groups, selection by bound
//! with at most `max_per_employer` of one employer, and vacancies met only through
//! related skills in a second round.

use super::bounds::{BOUND_MARGIN, SAME_MINOR_BONUS, VacancyGate, WorkerGate, refine};
use super::locations::distance;
use super::postings::PREFERRED_BIT;
use super::query::{ScoredMatch, VacancyQuery, province_filter, validate_common};
use super::selection::{Hit, Scratch, TopK, select};
use super::workers::Workers;
use super::{MatchIndex, profile_view};
use crate::error::MatchError;
use crate::profile::WorkerProfile;
use crate::score::{
    BASE_QUALITY, Context, NEUTRAL, WorkerView, direct_credit, quality, related_credit, score_pair,
    wage_factor,
};

impl MatchIndex<'_> {
    /// The best open vacancies for a stored worker, best first, ties broken by
    /// vacancy id, at most `max_per_employer` per employer.
    pub fn vacancies_for_worker(
        &self,
        worker_id: &str,
        query: &VacancyQuery,
    ) -> Result<Vec<ScoredMatch>, MatchError> {
        let slot = self
            .workers
            .find(worker_id)
            .ok_or_else(|| MatchError::UnknownWorker(worker_id.to_string()))?;
        let record = &self.workers.slots[slot as usize];
        let coordinates = self.worker_home(slot);
        self.vacancies_for_view(
            worker_id,
            self.workers.view(slot),
            record.core.province,
            coordinates,
            query,
        )
    }

    /// Ranks vacancies for a profile that is not stored (a counsellor trying options
    /// before registering a person); its id is only echoed.
    pub fn preview(
        &self,
        worker: &WorkerProfile,
        query: &VacancyQuery,
    ) -> Result<Vec<ScoredMatch>, MatchError> {
        self.vacancies_for_view(
            &worker.id,
            profile_view(worker),
            worker.core.province,
            worker.coordinates,
            query,
        )
    }

    pub(super) fn vacancies_for_view(
        &self,
        worker_id: &str,
        worker: WorkerView<'_>,
        worker_province: u8,
        coordinates: Option<(f64, f64)>,
        query: &VacancyQuery,
    ) -> Result<Vec<ScoredMatch>, MatchError> {
        validate_common(query.limit, query.min_score)?;
        let province = province_filter(query.province_code.as_deref())?;
        let context = self.context(query.weights, query.today)?;
        let distances = self.locations.distances_from(coordinates, true);
        // The distance component of this worker at every location, and whether the
        // location is beyond reach.
        let worker_gate = WorkerGate::new(worker.core, 0);
        let reach: Vec<(f64, bool)> = distances
            .iter()
            .map(|km| worker_gate.distance_bound(*km))
            .collect();
        let unknown_reach = worker_gate.distance_bound(None);
        let vacancies = &self.vacancies;
        let mut top = TopK {
            limit: query.limit,
            per_group: query.max_per_employer,
            hits: Vec::with_capacity(query.limit + 1),
        };
        let refined = |slot: u32, upper: f64| {
            let gate = VacancyGate(vacancies.gates[slot as usize]);
            if query.sector.is_some_and(|wanted| wanted != gate.sector())
                || province.is_some_and(|wanted| wanted != gate.province())
            {
                return -1.0;
            }
            let (distance_bound, too_far) = reach
                .get(usize::from(gate.location()))
                .copied()
                .unwrap_or(unknown_reach);
            if !query.include_ineligible && (too_far || !gate.open() || !worker.core.seeking()) {
                return -1.0;
            }
            let wage = wage_factor(
                worker.core.expected_wage,
                gate.top_wage(),
                context.weights.wage_penalty,
            );
            let preferences = worker_gate.preferences_bound(gate.sector(), gate.accommodation());
            refine(upper, &context, distance_bound, wage, preferences)
        };
        let evaluate = |slot: u32| {
            let location = VacancyGate(vacancies.gates[slot as usize]).location();
            let vacancy = vacancies.profiles[slot as usize].as_ref()?;
            let raw = score_pair(worker, vacancy, distance(&distances, location), &context);
            self.keep(raw, query.include_ineligible, query.min_score)
                .then_some(Hit {
                    slot,
                    group: vacancies.employer[slot as usize],
                    raw,
                })
        };

        let mut scratch = self.take_scratch();
        scratch.begin(vacancies.profiles.len());
        self.generate_vacancies(worker, &context, &mut scratch);
        select(
            &mut scratch,
            &mut top,
            query.min_score,
            |slot, partial| partial + vacancies.bounds[slot as usize].constant(&context) as f32,
            refined,
            evaluate,
            self.vacancy_before(),
        );
        // Vacancies met only through related skills (see `candidates_for_vacancy`).
        let related_weight = context.weights.related_skill_credit;
        let w = &context.normalised;
        let best_related_only = w[0] * related_weight * BASE_QUALITY
            + w[1] * NEUTRAL
            + w[2]
            + w[3]
            + w[4]
            + w[5]
            + BOUND_MARGIN;
        let floor = top
            .threshold()
            .map_or(query.min_score, |worst| worst.max(query.min_score));
        if related_weight > 0.0 && best_related_only >= floor {
            scratch.begin_related_only();
            self.generate_related_vacancies(worker, &context, &mut scratch);
            select(
                &mut scratch,
                &mut top,
                query.min_score,
                |slot, partial| {
                    partial + vacancies.bounds[slot as usize].related_only_constant(&context) as f32
                },
                refined,
                evaluate,
                self.vacancy_before(),
            );
        }
        self.return_scratch(scratch);
        Ok(top
            .hits
            .iter()
            .filter_map(|hit| {
                let vacancy = vacancies.profiles[hit.slot as usize].as_ref()?;
                Some(self.scored(
                    worker_id.to_string(),
                    worker,
                    worker_province,
                    vacancy,
                    &hit.raw,
                    &context,
                ))
            })
            .collect())
    }

    /// Marks every vacancy that lists a skill the worker holds, names an occupation in
    /// one of the worker's ISCO minor groups, or names neither skills nor occupation.
    pub(super) fn generate_vacancies(
        &self,
        worker: WorkerView<'_>,
        context: &Context<'_>,
        scratch: &mut Scratch,
    ) {
        let vacancies = &self.vacancies;
        let skills_weight = context.normalised[0];
        for &held in worker.skills {
            let attributes = (held & 0xff) as u8;
            let preferred_credit = quality(attributes) * skills_weight;
            let credits: [f64; 5] = std::array::from_fn(|level| {
                direct_credit(attributes, level.max(1) as u8) * skills_weight
            });
            for &entry in &vacancies.skill_postings[(held >> 8) as usize] {
                let slot = entry >> 8;
                let bounds = &vacancies.bounds[slot as usize];
                let bound = if entry & PREFERRED_BIT != 0 {
                    preferred_credit * f64::from(bounds.preferred)
                } else {
                    credits[(entry & 0x7) as usize] * f64::from(bounds.required)
                };
                scratch.add(slot, bound as f32);
            }
        }
        let bonus = (context.normalised[1] * SAME_MINOR_BONUS) as f32;
        for group in Workers::minor_groups(&self.tables, worker.experience) {
            for &slot in &vacancies.minor_postings[usize::from(group)] {
                scratch.add(slot, bonus);
            }
        }
        for &slot in &vacancies.unspecified {
            scratch.add(slot, 0.0);
        }
    }

    /// Marks the vacancies not met by [`Self::generate_vacancies`] that require a
    /// skill related to one the worker holds.
    pub(super) fn generate_related_vacancies(
        &self,
        worker: WorkerView<'_>,
        context: &Context<'_>,
        scratch: &mut Scratch,
    ) {
        let vacancies = &self.vacancies;
        let skills_weight = context.normalised[0];
        let related_weight = context.weights.related_skill_credit;
        for &held in worker.skills {
            let attributes = (held & 0xff) as u8;
            for &(required, similarity) in self.tables.related_to_held(held >> 8) {
                for &entry in &vacancies.skill_postings[required as usize] {
                    if entry & PREFERRED_BIT != 0 {
                        continue;
                    }
                    let slot = entry >> 8;
                    let credit =
                        related_credit(attributes, (entry & 0x7) as u8, similarity, related_weight);
                    let bound = credit
                        * skills_weight
                        * f64::from(vacancies.bounds[slot as usize].required);
                    scratch.add_new(slot, bound as f32);
                }
            }
        }
    }
}
