//! The exhaustive reference rankers: every relevant stored pair scored by brute
//! force, in ranking order. The tests compare the fast queries with them after every
//! kind of change; they are compiled for tests only.

use std::collections::HashMap;

use super::congestion::{CONGESTION_WINDOW, Congestion, within_reach};
use super::locations::pair_distance;
use super::query::{CandidateQuery, VacancyQuery, province_filter};
use super::{MatchIndex, vacancy_open};
use crate::error::MatchError;
use crate::ids::CompactId;
use crate::score::score_pair;

impl MatchIndex<'_> {
    /// Every relevant stored worker scored against the vacancy, by brute force and in
    /// ranking order, congestion damping counted vacancy by vacancy; what
    /// `candidates_for_vacancy` must agree with. For tests.
    pub fn exhaustive_candidates(
        &self,
        vacancy_id: &str,
        query: &CandidateQuery,
    ) -> Result<Vec<(String, f64)>, MatchError> {
        let context = self.context(query.weights, query.today)?;
        let province = province_filter(query.province_code.as_deref())?;
        let vacancy = self
            .vacancy(vacancy_id)
            .ok_or_else(|| MatchError::UnknownVacancy(vacancy_id.to_string()))?;
        let mut all: Vec<(usize, String, f64)> = Vec::new();
        for (slot, id) in self.workers.ids.iter().enumerate() {
            if *id == CompactId::Vacant {
                continue;
            }
            let record = &self.workers.slots[slot];
            if province.is_some_and(|p| p != record.core.province) {
                continue;
            }
            let coordinates = self.worker_home(slot as u32);
            let raw = score_pair(
                self.workers.view(slot as u32),
                vacancy,
                pair_distance(coordinates, vacancy.coordinates),
                &context,
            );
            if self.keep(raw, query.include_ineligible, query.min_score) {
                all.push((slot, id.to_string(), raw.score));
            }
        }
        all.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
        if query.congestion_damping == 0.0 {
            all.truncate(query.limit);
            return Ok(all.into_iter().map(|(_, id, score)| (id, score)).collect());
        }
        all.truncate(query.limit * CONGESTION_WINDOW);
        let mut damped = Vec::new();
        for (slot, id, score) in all {
            let record = &self.workers.slots[slot];
            let coordinates = self.worker_home(slot as u32);
            let view = self.workers.view(slot as u32);
            let qualified = self
                .vacancies
                .profiles
                .iter()
                .flatten()
                .filter(|other| {
                    other.id != vacancy.id
                        && !other.required.is_empty()
                        && vacancy_open(other, &context)
                        && within_reach(&record.core, pair_distance(coordinates, other.coordinates))
                        && other.required.iter().all(|requirement| {
                            view.skill(requirement.skill.0)
                                .is_some_and(|held| held.level() >= requirement.min_level)
                        })
                })
                .count();
            let damped_score =
                score * Congestion::new(qualified as u32, query.congestion_damping).factor;
            if damped_score >= query.min_score {
                damped.push((id, damped_score));
            }
        }
        damped.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        damped.truncate(query.limit);
        Ok(damped)
    }

    /// Every relevant vacancy scored against a stored worker by brute force, capped
    /// per employer greedily in ranking order; what `vacancies_for_worker` must agree
    /// with. For tests.
    pub fn exhaustive_vacancies(
        &self,
        worker_id: &str,
        query: &VacancyQuery,
    ) -> Result<Vec<(String, f64)>, MatchError> {
        let context = self.context(query.weights, query.today)?;
        let province = province_filter(query.province_code.as_deref())?;
        let slot = self
            .workers
            .find(worker_id)
            .ok_or_else(|| MatchError::UnknownWorker(worker_id.to_string()))?;
        let coordinates = self.worker_home(slot);
        let mut all: Vec<(String, f64, u32)> = Vec::new();
        for (index, vacancy) in self.vacancies.profiles.iter().enumerate() {
            let Some(vacancy) = vacancy else { continue };
            if query.sector.is_some_and(|sector| sector != vacancy.sector)
                || province.is_some_and(|p| p != vacancy.province)
            {
                continue;
            }
            let raw = score_pair(
                self.workers.view(slot),
                vacancy,
                pair_distance(coordinates, vacancy.coordinates),
                &context,
            );
            if self.keep(raw, query.include_ineligible, query.min_score) {
                all.push((
                    vacancy.id.clone(),
                    raw.score,
                    self.vacancies.employer[index],
                ));
            }
        }
        all.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut per_employer: HashMap<u32, usize> = HashMap::new();
        let mut kept = Vec::new();
        for (id, score, employer) in all {
            let count = per_employer.entry(employer).or_default();
            if query.max_per_employer > 0 && *count >= query.max_per_employer {
                continue;
            }
            *count += 1;
            kept.push((id, score));
            if kept.len() == query.limit {
                break;
            }
        }
        Ok(kept)
    }
}
