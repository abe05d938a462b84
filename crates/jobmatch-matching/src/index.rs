//! The in-memory index: every worker and vacancy as a compact profile, posting lists
//! from skills and ISCO minor groups to them, and the two ranked queries.
//!
//! **Storage.** Workers live in a slab: slot `i` has its id, a 28-byte fixed record and
//! a run of packed skills and past occupations in one shared `u32` arena (rewritten in
//! place when it fits, compacted when half of it is garbage). An id → slot table stores
//! only the `u32` slot (hashing goes through the slab), so no id is kept twice. Posting
//! entries are `slot << 8 | skill attributes`, which caps the index at 2^24 (16.7
//! million) workers. Updates touch only the posting lists of skills that changed.
//!
//! **Queries.** Ranking a vacancy's candidates (and symmetrically a worker's
//! vacancies) scores exactly, but only the pairs that can make the list:
//! 1. *Generation*: walk the posting lists of the vacancy's required and preferred
//!    skills and of its ISCO minor group, summing for every slot met a partial upper
//!    bound of its score (skill credits, and the occupation bonus for the same minor
//!    group) into a pooled scratch: a bitset of slots met (128 KiB for a million, so
//!    it stays in cache) beside an `f32` per slot. Only slots met are candidates: a
//!    pair that shares no skill (or related skill) and no ISCO minor group is not a
//!    match, whatever its distance and wage. A vacancy that names neither skills nor
//!    an occupation is open to every worker and falls back to a scan.
//! 2. *Selection*: sweep the bitset in slot order, bucket the slots by their bound,
//!    and visit them from the best bucket down. Before scoring a slot, its bound is
//!    tightened from an 8-byte *gate* (place, travel range, seeking, relocation,
//!    preferred sectors, province, expected wage), which also drops pairs that are
//!    surely ineligible; only then is the slot scored exactly ([`crate::score`]) and
//!    offered to a bounded list of the best `limit`. The sweep stops at the first
//!    bucket that cannot beat the worst kept.
//! 3. *Related skills*: slots met only through a skill related to a required one are
//!    collected in a second round, and only when their best possible score could
//!    still enter the list; first-round slots carry the most related credit could
//!    add in their bound.
//!
//! The result is exactly that of scoring every relevant pair (a test compares the
//! two), ordered by score, then id. A vacancy that is not open answers at once with
//! no eligible candidate.
//!
//! **Congestion.** A worker's list holds at most `max_per_employer` vacancies of one
//! employer (default 3). In a vacancy's list, one strong returnee should not crowd
//! every list: with `congestion_damping` d > 0, a candidate's score is multiplied by
//! `1 / (1 + d × ln(1 + n))`, where n is the number of *other* open vacancies within
//! the person's reach whose every required skill they hold at the level asked — the
//! lists they would surely top too. Ranking every other vacancy's list to count the
//! lists a person really tops would cost a full query per vacancy; n is its cheap,
//! explainable proxy, counted at query time from the vacancy posting lists of the
//! person's skills (so it is always current) and only for the best
//! [`CONGESTION_WINDOW`] × `limit` candidates by undamped score, which are damped and
//! re-sorted (ties by id): damping reorders the head of the list and lets people from
//! just below it in, but never reaches further down, which keeps its cost bounded (a
//! test compares the result with damping every pair of that window by brute force).
//! The explanation carries `congestion_factor`, `qualified_elsewhere` and a
//! penalty reason.
//!
//! **Where things are.** `workers` and `vacancies` hold the two sides (slabs, gates
//! and posting lists, the lists' helpers in `postings`); `locations` interns
//! coordinates; `bounds` holds the gates and the score bounds; `selection` the
//! pooled scratch, the top-k list and the sweep by bound; `rank_candidates` and
//! `rank_vacancies` the two queries; `congestion` the damping; `standing` the
//! standing candidate lists; `exhaustive` (compiled for tests only) the brute-force
//! rankers the queries are compared with.

use std::cmp::Ordering;
use std::sync::Mutex;

use chrono::NaiveDate;
use jobmatch_domain::Reference;
use jobmatch_domain::resources::{VacancyInput, VacancyStatus, WorkerInput};
use serde::Serialize;

use crate::error::MatchError;
use crate::explain::explain;
use crate::profile::{MAX_PACKED_ID, NO_DATE, VacancyProfile, WorkerProfile};
use crate::score::{Context, Raw, WorkerView, score_pair};
use crate::tables::Tables;
use crate::weights::Weights;

mod bounds;
mod congestion;
#[cfg(test)]
mod exhaustive;
mod locations;
mod postings;
mod query;
mod rank_candidates;
mod rank_vacancies;
mod selection;
mod standing;
mod vacancies;
mod workers;

use locations::{Locations, pair_distance};
use postings::MINOR_GROUPS;
use selection::{Hit, Scratch};
use standing::Standing;
use vacancies::Vacancies;
use workers::Workers;

pub use congestion::CONGESTION_WINDOW;
pub use query::{
    CandidateQuery, DEFAULT_CONGESTION_DAMPING, DEFAULT_MAX_PER_EMPLOYER, MAX_LIMIT, ScoredMatch,
    VacancyQuery,
};
pub use standing::INCREMENTAL_LIMIT;

/// Slots fit in the 24 high bits of a posting entry.
const MAX_SLOTS: usize = 1 << 24;

/// Heap bytes held by the index, counted from the capacities of its containers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MemoryUsage {
    pub workers: usize,
    pub vacancies: usize,
    /// Everything the worker side holds: slab, arena, id table, posting lists.
    pub worker_bytes: usize,
    pub vacancy_bytes: usize,
    /// The standing candidate lists of vacancies and their upkeep.
    pub standing_bytes: usize,
    /// Reference tables, locations and query scratch space.
    pub shared_bytes: usize,
}

impl MemoryUsage {
    /// Worker-side bytes plus the worker-sized scratch, per worker.
    pub fn bytes_per_worker(&self) -> f64 {
        self.worker_bytes as f64 / self.workers.max(1) as f64
    }

    pub fn total_bytes(&self) -> usize {
        self.worker_bytes + self.vacancy_bytes + self.standing_bytes + self.shared_bytes
    }
}

/// The matching index over all workers and vacancies. Reads (`&self`) may run from
/// many threads at once; writes need `&mut self` (hold it in an `RwLock`).
pub struct MatchIndex<'r> {
    reference: &'r Reference,
    tables: Tables,
    weights: Weights,
    locations: Locations,
    workers: Workers,
    vacancies: Vacancies,
    scratch: Mutex<Vec<Scratch>>,
    standing: Standing,
}

impl<'r> MatchIndex<'r> {
    /// An empty index scoring with `weights` unless a query overrides them.
    pub fn new(reference: &'r Reference, weights: Weights) -> Result<MatchIndex<'r>, MatchError> {
        weights.validate()?;
        let skill_count = reference.taxonomy.skills().len();
        let occupation_count = reference.taxonomy.occupations().len();
        if skill_count > MAX_PACKED_ID as usize || occupation_count > MAX_PACKED_ID as usize {
            return Err(MatchError::Full {
                what: "skills or occupations in the taxonomy",
                max: MAX_PACKED_ID as usize,
            });
        }
        let workers = Workers {
            skill_postings: vec![Vec::new(); skill_count],
            minor_postings: vec![Vec::new(); MINOR_GROUPS],
            ..Workers::default()
        };
        let vacancies = Vacancies {
            skill_postings: vec![Vec::new(); skill_count],
            minor_postings: vec![Vec::new(); MINOR_GROUPS],
            ..Vacancies::default()
        };
        Ok(MatchIndex {
            reference,
            tables: Tables::build(reference),
            weights,
            locations: Locations::default(),
            workers,
            vacancies,
            scratch: Mutex::new(Vec::new()),
            standing: Standing::default(),
        })
    }

    pub fn reference(&self) -> &'r Reference {
        self.reference
    }

    /// The default weights.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    pub fn worker_count(&self) -> usize {
        self.workers.live
    }

    pub fn vacancy_count(&self) -> usize {
        self.vacancies.live
    }

    pub fn contains_worker(&self, id: &str) -> bool {
        self.workers.find(id).is_some()
    }

    pub fn contains_vacancy(&self, id: &str) -> bool {
        self.vacancies.by_id.contains_key(id)
    }

    /// Adds or replaces a worker.
    pub fn upsert_worker(&mut self, id: &str, input: &WorkerInput) -> Result<(), MatchError> {
        let profile = WorkerProfile::from_input(id, input, self.reference);
        self.upsert_worker_profile(&profile)
    }

    pub fn upsert_worker_profile(&mut self, profile: &WorkerProfile) -> Result<(), MatchError> {
        let location = self.locations.intern(profile.coordinates);
        self.workers.upsert(&self.tables, profile, location)?;
        if let Some(slot) = self.workers.find(&profile.id) {
            self.note_worker_change(slot);
        }
        Ok(())
    }

    /// Removes a worker; false if there was none with this id.
    pub fn remove_worker(&mut self, id: &str) -> bool {
        let Some(slot) = self.workers.find(id) else {
            return false;
        };
        self.note_worker_change(slot);
        self.workers.remove(&self.tables, id)
    }

    /// Adds or replaces a vacancy.
    pub fn upsert_vacancy(&mut self, id: &str, input: &VacancyInput) -> Result<(), MatchError> {
        let profile = VacancyProfile::from_input(id, input, self.reference);
        self.upsert_vacancy_profile(profile)
    }

    pub fn upsert_vacancy_profile(&mut self, profile: VacancyProfile) -> Result<(), MatchError> {
        let location = self.locations.intern(profile.coordinates);
        let id = profile.id.clone();
        self.vacancies.upsert(&self.tables, profile, location)?;
        if let Some(&slot) = self.vacancies.by_id.get(&id) {
            self.note_vacancy_change(slot);
        }
        Ok(())
    }

    /// Removes a vacancy; false if there was none with this id.
    pub fn remove_vacancy(&mut self, id: &str) -> bool {
        let Some(&slot) = self.vacancies.by_id.get(id) else {
            return false;
        };
        self.note_vacancy_change(slot);
        self.vacancies.remove(id)
    }

    pub fn vacancy(&self, id: &str) -> Option<&VacancyProfile> {
        let slot = *self.vacancies.by_id.get(id)?;
        self.vacancies.profiles[slot as usize].as_ref()
    }

    /// Releases spare capacity, e.g. after the start-up bulk load.
    pub fn shrink_to_fit(&mut self) {
        self.workers.shrink_to_fit();
        for list in self
            .vacancies
            .skill_postings
            .iter_mut()
            .chain(&mut self.vacancies.minor_postings)
        {
            list.shrink_to_fit();
        }
    }

    /// Heap bytes, counted from container capacities (allocator overhead excluded).
    pub fn memory_usage(&self) -> MemoryUsage {
        let scratch: usize = self
            .scratch
            .lock()
            .map(|pool| pool.iter().map(Scratch::heap_bytes).sum())
            .unwrap_or(0);
        MemoryUsage {
            workers: self.workers.live,
            vacancies: self.vacancies.live,
            worker_bytes: self.workers.heap_bytes(),
            vacancy_bytes: self.vacancies.heap_bytes(),
            standing_bytes: self.standing.heap_bytes(),
            shared_bytes: self.tables.heap_bytes()
                + self.locations.points.capacity() * 16
                + self.locations.ids.capacity() * 20
                + scratch,
        }
    }

    fn context(
        &self,
        weights: Option<Weights>,
        today: NaiveDate,
    ) -> Result<Context<'_>, MatchError> {
        let weights = weights.unwrap_or(self.weights);
        weights.validate()?;
        Ok(Context::new(&self.tables, weights, today))
    }

    /// The coordinates of a worker slot's home, when known.
    fn worker_home(&self, slot: u32) -> Option<(f64, f64)> {
        let location = self.workers.slots[slot as usize].location;
        self.locations.points.get(usize::from(location)).copied()
    }

    fn take_scratch(&self) -> Scratch {
        self.scratch
            .lock()
            .ok()
            .and_then(|mut pool| pool.pop())
            .unwrap_or_default()
    }

    fn return_scratch(&self, scratch: Scratch) {
        if let Ok(mut pool) = self.scratch.lock() {
            pool.push(scratch);
        }
    }

    fn worker_before(&self) -> impl Fn(&Hit, &Hit) -> bool + '_ {
        move |a: &Hit, b: &Hit| match a.raw.score.total_cmp(&b.raw.score) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal => {
                self.workers.ids[a.slot as usize].cmp_text(&self.workers.ids[b.slot as usize])
                    == Ordering::Less
            }
        }
    }

    fn vacancy_before(&self) -> impl Fn(&Hit, &Hit) -> bool + '_ {
        let id = |slot: u32| {
            self.vacancies.profiles[slot as usize]
                .as_ref()
                .map_or("", |profile| profile.id.as_str())
        };
        move |a: &Hit, b: &Hit| match a.raw.score.total_cmp(&b.raw.score) {
            Ordering::Greater => true,
            Ordering::Less => false,
            Ordering::Equal => id(a.slot) < id(b.slot),
        }
    }

    fn keep(&self, raw: Raw, include_ineligible: bool, min_score: f64) -> bool {
        raw.relevant && (include_ineligible || raw.ineligible == 0) && raw.score >= min_score
    }

    fn scored(
        &self,
        worker_id: String,
        worker: WorkerView<'_>,
        worker_province: u8,
        vacancy: &VacancyProfile,
        raw: &Raw,
        context: &Context<'_>,
    ) -> ScoredMatch {
        ScoredMatch {
            worker_id,
            vacancy_id: vacancy.id.clone(),
            score: raw.score,
            eligible: raw.ineligible == 0,
            explanation: explain(
                worker,
                vacancy,
                raw,
                context,
                self.reference,
                worker_province,
            ),
        }
    }

    /// Scores one stored pair whatever its relevance or eligibility, with its
    /// explanation.
    pub fn score_stored_pair(
        &self,
        worker_id: &str,
        vacancy_id: &str,
        today: NaiveDate,
        weights: Option<Weights>,
    ) -> Result<ScoredMatch, MatchError> {
        let slot = self
            .workers
            .find(worker_id)
            .ok_or_else(|| MatchError::UnknownWorker(worker_id.to_string()))?;
        let vacancy = self
            .vacancy(vacancy_id)
            .ok_or_else(|| MatchError::UnknownVacancy(vacancy_id.to_string()))?;
        let record = &self.workers.slots[slot as usize];
        let coordinates = self.worker_home(slot);
        let context = self.context(weights, today)?;
        let distance = pair_distance(coordinates, vacancy.coordinates);
        let view = self.workers.view(slot);
        let raw = score_pair(view, vacancy, distance, &context);
        Ok(self.scored(
            worker_id.to_string(),
            view,
            record.core.province,
            vacancy,
            &raw,
            &context,
        ))
    }

    /// Scores any two profiles, stored or not, whatever their relevance or
    /// eligibility. The pure form of the model, used by tests and previews.
    pub fn score_profiles(
        &self,
        worker: &WorkerProfile,
        vacancy: &VacancyProfile,
        today: NaiveDate,
        weights: Option<Weights>,
    ) -> Result<ScoredMatch, MatchError> {
        let context = self.context(weights, today)?;
        let distance = pair_distance(worker.coordinates, vacancy.coordinates);
        let view = profile_view(worker);
        let raw = score_pair(view, vacancy, distance, &context);
        Ok(self.scored(
            worker.id.clone(),
            view,
            worker.core.province,
            vacancy,
            &raw,
            &context,
        ))
    }
}

fn vacancy_open(vacancy: &VacancyProfile, context: &Context<'_>) -> bool {
    vacancy.status == VacancyStatus::Open
        && (vacancy.closes_days == NO_DATE || vacancy.closes_days >= context.today_days)
}

fn profile_view(profile: &WorkerProfile) -> WorkerView<'_> {
    WorkerView {
        core: &profile.core,
        skills: &profile.skills,
        experience: &profile.experience,
    }
}
