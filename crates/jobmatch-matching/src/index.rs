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

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;

use chrono::NaiveDate;
use hashbrown::HashTable;
use jobmatch_domain::reference::haversine_km;
use jobmatch_domain::resources::{VacancyInput, VacancyStatus, WorkerInput};
use jobmatch_domain::{Reference, Sector};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::MatchError;
use crate::explain::{Explanation, explain};
use crate::ids::CompactId;
use crate::profile::{
    MAX_PACKED_ID, NO_DATE, PackedExperience, VacancyProfile, WorkerCore, WorkerProfile,
    attribute_level, province_number, sector_bit,
};
use crate::score::{
    BASE_QUALITY, Context, DEFAULT_MAX_TRAVEL_KM, NEUTRAL, PREFERRED_SHARE, RELOCATION_SCORE, Raw,
    WorkerView, direct_credit, quality, related_credit, score_pair, wage_factor,
};
use crate::tables::Tables;
use crate::weights::Weights;

mod standing;

use standing::Standing;
pub use standing::{INCREMENTAL_LIMIT, STANDING_LENGTH};

/// Most results one query returns.
pub const MAX_LIMIT: usize = 100;
/// Default cap on vacancies of one employer in a worker's list.
pub const DEFAULT_MAX_PER_EMPLOYER: usize = 3;
/// Default strength of the congestion damping of candidate lists (off: see
/// `fixtures/eval/README.md` and the module documentation for what it costs).
pub const DEFAULT_CONGESTION_DAMPING: f64 = 0.0;
/// Congestion damping re-ranks this many times `limit` of the best undamped candidates.
pub const CONGESTION_WINDOW: usize = 2;
/// Slots fit in the 24 high bits of a posting entry.
const MAX_SLOTS: usize = 1 << 24;
/// Location id of a place with no coordinates.
const NO_LOCATION: u16 = u16::MAX;
/// ISCO minor groups are 3-digit numbers.
const MINOR_GROUPS: usize = 1000;
/// Bit of a vacancy posting entry for a preferred (not required) skill; the low 3 bits
/// hold the required level.
const PREFERRED_BIT: u32 = 0x80;
/// Upper bounds are summed in `f32`; this margin keeps them above the exact `f64` score.
const BOUND_MARGIN: f64 = 1e-4;
/// Buckets of upper bounds for the selection order.
const BUCKETS: usize = 1024;

/// What to rank for a vacancy.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateQuery {
    /// The date ages, availability and closing dates are judged on.
    pub today: NaiveDate,
    /// 1 to [`MAX_LIMIT`].
    pub limit: usize,
    /// Leave out pairs scoring less (0 to 1).
    pub min_score: f64,
    /// Only workers whose home is in this province (NCDD code).
    pub province_code: Option<String>,
    /// Replaces the index's weights for this query.
    pub weights: Option<Weights>,
    /// Return ineligible pairs too, flagged, in score order.
    pub include_ineligible: bool,
    /// How strongly a person who fully qualifies for many other open vacancies within
    /// reach is moved down this list (0 to 1; 0 switches it off). See the module
    /// documentation, "Congestion".
    pub congestion_damping: f64,
    /// Score people only from what the vacancy's employer may learn of them:
    /// availability to the week, expected wage to its band, experience in whole
    /// years, the vacancy's `min_age` rounded up to an age band's lower bound
    /// (`SECURITY.md`, "What employers see"). Such queries are never answered from the standing lists,
    /// which hold exact scores.
    pub employer_view: bool,
}

impl CandidateQuery {
    pub fn new(today: NaiveDate) -> CandidateQuery {
        CandidateQuery {
            today,
            limit: 20,
            min_score: 0.0,
            province_code: None,
            weights: None,
            include_ineligible: false,
            congestion_damping: DEFAULT_CONGESTION_DAMPING,
            employer_view: false,
        }
    }
}

/// What to rank for a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct VacancyQuery {
    pub today: NaiveDate,
    /// 1 to [`MAX_LIMIT`].
    pub limit: usize,
    pub min_score: f64,
    pub sector: Option<Sector>,
    /// Only vacancies in this province (NCDD code).
    pub province_code: Option<String>,
    /// At most this many vacancies of one employer; 0 for no cap.
    pub max_per_employer: usize,
    pub weights: Option<Weights>,
    pub include_ineligible: bool,
}

impl VacancyQuery {
    pub fn new(today: NaiveDate) -> VacancyQuery {
        VacancyQuery {
            today,
            limit: 20,
            min_score: 0.0,
            sector: None,
            province_code: None,
            max_per_employer: DEFAULT_MAX_PER_EMPLOYER,
            weights: None,
            include_ineligible: false,
        }
    }
}

/// One ranked pair.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ScoredMatch {
    pub worker_id: String,
    pub vacancy_id: String,
    /// 0 to 1, higher is better; rounded to 3 decimals in output (ranking uses the
    /// full precision, so equal printed scores may still be in a meaningful order).
    #[serde(serialize_with = "crate::round::round3")]
    pub score: f64,
    /// False only when ineligible pairs were asked for; `explanation.reasons` says why.
    pub eligible: bool,
    pub explanation: Explanation,
}

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

/// The fixed-size record of a worker slot (28 bytes).
#[derive(Debug, Clone, Copy)]
struct WorkerSlot {
    core: WorkerCore,
    /// Skills first, then experience, in `Workers::arena`.
    arena_start: u32,
    skill_count: u8,
    experience_count: u8,
    location: u16,
}

const EMPTY_CORE: WorkerCore = WorkerCore {
    birth: 0,
    available_from: 0,
    expected_wage: f32::NAN,
    max_travel_km: f32::NAN,
    preferred_sectors: 0,
    province: 0,
    flags: 0,
};

#[derive(Default)]
struct Workers {
    ids: Vec<CompactId>,
    slots: Vec<WorkerSlot>,
    arena: Vec<u32>,
    /// Arena words no slot points at any more.
    arena_garbage: usize,
    free: Vec<u32>,
    by_id: HashTable<u32>,
    hasher: RandomState,
    /// By skill id: `slot << 8 | attributes`.
    skill_postings: Vec<Vec<u32>>,
    /// By ISCO minor group: slots with experience in it.
    minor_postings: Vec<Vec<u32>>,
    /// By slot: what selection checks before touching the slot record (see
    /// [`WorkerGate`]), 8 bytes a worker in a dense array.
    gates: Vec<u64>,
    live: usize,
}

/// What selection reads of a worker before its slot record and arena, packed in a
/// `u64`: location id (bits 0–15), travel range rounded up to whole km (16–26,
/// [`UNBOUNDED_TRAVEL`] for 2047 or more), seeking (27), willing to relocate (28),
/// preferred sectors (29–37), province number (38–45), expected wage rounded down to
/// whole USD (46–61, [`NO_WAGE`] when not given). Bounds computed from it are never
/// below the exact components.
#[derive(Clone, Copy)]
struct WorkerGate(u64);

const UNBOUNDED_TRAVEL: u64 = 0x7ff;
const NO_WAGE: u64 = 0xffff;

impl WorkerGate {
    fn new(core: &WorkerCore, location: u16) -> WorkerGate {
        let travel = if core.max_travel_km.is_nan() {
            DEFAULT_MAX_TRAVEL_KM
        } else {
            f64::from(core.max_travel_km)
        };
        let travel = if travel >= UNBOUNDED_TRAVEL as f64 {
            UNBOUNDED_TRAVEL
        } else {
            travel.ceil().max(0.0) as u64
        };
        let wage = if core.expected_wage.is_nan() {
            NO_WAGE
        } else {
            (f64::from(core.expected_wage).floor().max(0.0) as u64).min(NO_WAGE - 1)
        };
        WorkerGate(
            u64::from(location)
                | (travel << 16)
                | (u64::from(core.seeking()) << 27)
                | (u64::from(core.willing_to_relocate()) << 28)
                | (u64::from(core.preferred_sectors & 0x1ff) << 29)
                | (u64::from(core.province) << 38)
                | (wage << 46),
        )
    }

    fn location(self) -> u16 {
        (self.0 & 0xffff) as u16
    }

    fn seeking(self) -> bool {
        self.0 & (1 << 27) != 0
    }

    fn relocates(self) -> bool {
        self.0 & (1 << 28) != 0
    }

    fn preferred_sectors(self) -> u16 {
        ((self.0 >> 29) & 0x1ff) as u16
    }

    fn province(self) -> u8 {
        ((self.0 >> 38) & 0xff) as u8
    }

    /// Monthly USD, rounded down: never above the real expectation.
    fn expected_wage(self) -> f32 {
        match (self.0 >> 46) & 0xffff {
            NO_WAGE => f32::NAN,
            wage => wage as f32,
        }
    }

    /// At least the distance component, and whether the pair is surely too far.
    fn distance_bound(self, distance_km: Option<f64>) -> (f64, bool) {
        let travel = (self.0 >> 16) & 0x7ff;
        match distance_km {
            None => (NEUTRAL, false),
            Some(_) if travel == UNBOUNDED_TRAVEL => (1.0, false),
            Some(km) if km <= travel as f64 => {
                if travel == 0 {
                    (1.0, false)
                } else {
                    (1.0 - 0.5 * km / travel as f64, false)
                }
            }
            Some(_) if self.relocates() => (RELOCATION_SCORE, false),
            Some(_) => (0.0, true),
        }
    }

    /// At least the preferences component for a vacancy in `sector`.
    fn preferences_bound(self, sector: Sector, accommodation: bool) -> f64 {
        let preferred = self.preferred_sectors();
        if preferred == 0 || preferred & sector_bit(sector) != 0 {
            1.0
        } else if self.relocates() && accommodation {
            0.5
        } else {
            0.0
        }
    }
}

/// What selection reads of a vacancy before its profile, packed in a `u64`: location
/// id (bits 0–15), open (16), sector position (17–20), province number (21–28),
/// accommodation offered (29), top of the wage offer rounded up to whole USD (30–45,
/// [`NO_WAGE`] when none or too large for the field).
#[derive(Clone, Copy)]
struct VacancyGate(u64);

impl VacancyGate {
    fn new(profile: &VacancyProfile, location: u16) -> VacancyGate {
        let wage = match profile.wage_max_usd.or(profile.wage_min_usd) {
            Some(top) if top.is_finite() && top < (NO_WAGE - 1) as f64 => {
                top.ceil().max(0.0) as u64
            }
            // Beyond the field: treated as no stated top, which never lowers a bound
            // (capping it would understate the top, and with it the bound).
            Some(_) | None => NO_WAGE,
        };
        VacancyGate(
            u64::from(location)
                | (u64::from(profile.status == VacancyStatus::Open) << 16)
                | (u64::from(sector_position(profile.sector)) << 17)
                | (u64::from(profile.province) << 21)
                | (u64::from(profile.accommodation) << 29)
                | (wage << 30),
        )
    }

    fn location(self) -> u16 {
        (self.0 & 0xffff) as u16
    }

    fn open(self) -> bool {
        self.0 & (1 << 16) != 0
    }

    fn sector(self) -> Sector {
        Sector::ALL[(((self.0 >> 17) & 0xf) as usize).min(Sector::ALL.len() - 1)]
    }

    fn province(self) -> u8 {
        ((self.0 >> 21) & 0xff) as u8
    }

    fn accommodation(self) -> bool {
        self.0 & (1 << 29) != 0
    }

    /// Top of the offer, rounded up: never below the real one.
    fn top_wage(self) -> Option<f64> {
        match (self.0 >> 30) & 0xffff {
            NO_WAGE => None,
            wage => Some(wage as f64),
        }
    }
}

fn sector_position(sector: Sector) -> u8 {
    Sector::ALL
        .iter()
        .position(|s| *s == sector)
        .unwrap_or(Sector::ALL.len() - 1) as u8
}

/// Refines a score bound with the distance, wage and preferences components bounded
/// from the gates, the wage penalty included.
fn refine(
    upper: f64,
    context: &Context<'_>,
    distance: f64,
    wage_factor: f64,
    preferences: f64,
) -> f64 {
    let w = &context.normalised;
    (upper - w[3] * (1.0 - distance) - w[4] * (1.0 - wage_factor) - w[5] * (1.0 - preferences))
        * wage_factor
}

impl Workers {
    fn hash(hasher: &RandomState, id: &CompactId) -> u64 {
        hasher.hash_one(id)
    }

    fn find(&self, id: &str) -> Option<u32> {
        let key = CompactId::new(id);
        let hash = Self::hash(&self.hasher, &key);
        self.by_id
            .find(hash, |&slot| self.ids[slot as usize] == key)
            .copied()
    }

    fn view(&self, slot: u32) -> WorkerView<'_> {
        let record = &self.slots[slot as usize];
        let start = record.arena_start as usize;
        let skills_end = start + usize::from(record.skill_count);
        let end = skills_end + usize::from(record.experience_count);
        WorkerView {
            core: &record.core,
            skills: &self.arena[start..skills_end],
            experience: &self.arena[skills_end..end],
        }
    }

    fn minor_groups(tables: &Tables, experience: &[u32]) -> Vec<u16> {
        let mut groups: Vec<u16> = experience
            .iter()
            .map(|entry| {
                tables
                    .unit(PackedExperience(*entry).occupation().0)
                    .minor_group()
            })
            .filter(|group| usize::from(*group) < MINOR_GROUPS)
            .collect();
        groups.sort_unstable();
        groups.dedup();
        groups
    }

    fn compact_arena(&mut self) {
        let mut arena = Vec::with_capacity(self.arena.len() - self.arena_garbage);
        for (slot, record) in self.slots.iter_mut().enumerate() {
            if self.ids[slot] == CompactId::Vacant {
                continue;
            }
            let start = record.arena_start as usize;
            let end =
                start + usize::from(record.skill_count) + usize::from(record.experience_count);
            record.arena_start = arena.len() as u32;
            arena.extend_from_slice(&self.arena[start..end]);
        }
        self.arena = arena;
        self.arena_garbage = 0;
    }

    fn heap_bytes(&self) -> usize {
        let buckets = if self.by_id.capacity() == 0 {
            0
        } else {
            (self.by_id.capacity() * 8 / 7).next_power_of_two()
        };
        let postings = |lists: &Vec<Vec<u32>>| {
            lists.capacity() * size_of::<Vec<u32>>()
                + lists.iter().map(|list| list.capacity() * 4).sum::<usize>()
        };
        self.ids.capacity() * size_of::<CompactId>()
            + self.ids.iter().map(CompactId::heap_bytes).sum::<usize>()
            + self.slots.capacity() * size_of::<WorkerSlot>()
            + self.arena.capacity() * 4
            + self.gates.capacity() * 8
            + self.free.capacity() * 4
            + buckets * (size_of::<u32>() + 1)
            + postings(&self.skill_postings)
            + postings(&self.minor_postings)
    }
}

/// Removes the entry of `slot` from a posting list (order does not matter).
fn remove_posting(list: &mut Vec<u32>, slot: u32, shift: u32) {
    if let Some(position) = list.iter().position(|entry| entry >> shift == slot) {
        list.swap_remove(position);
    }
}

fn posting_list(lists: &mut Vec<Vec<u32>>, key: usize) -> &mut Vec<u32> {
    if lists.len() <= key {
        lists.resize_with(key + 1, Vec::new);
    }
    &mut lists[key]
}

impl Workers {
    fn upsert(
        &mut self,
        tables: &Tables,
        profile: &WorkerProfile,
        location: u16,
    ) -> Result<(), MatchError> {
        let new_groups = Self::minor_groups(tables, &profile.experience);
        let slot = match self.find(&profile.id) {
            Some(slot) => {
                let old = self.view(slot);
                let old_skills = old.skills.to_vec();
                let old_groups = Self::minor_groups(tables, old.experience);
                self.update_skill_postings(slot, &old_skills, &profile.skills);
                for group in &old_groups {
                    if new_groups.binary_search(group).is_err() {
                        remove_posting(&mut self.minor_postings[usize::from(*group)], slot, 0);
                    }
                }
                for group in &new_groups {
                    if old_groups.binary_search(group).is_err() {
                        posting_list(&mut self.minor_postings, usize::from(*group)).push(slot);
                    }
                }
                slot
            }
            None => {
                let slot = match self.free.pop() {
                    Some(slot) => slot,
                    None => {
                        if self.slots.len() >= MAX_SLOTS {
                            return Err(MatchError::Full {
                                what: "workers",
                                max: MAX_SLOTS,
                            });
                        }
                        self.slots.push(WorkerSlot {
                            core: EMPTY_CORE,
                            arena_start: 0,
                            skill_count: 0,
                            experience_count: 0,
                            location: NO_LOCATION,
                        });
                        self.ids.push(CompactId::Vacant);
                        self.gates.push(0);
                        (self.slots.len() - 1) as u32
                    }
                };
                let id = CompactId::new(&profile.id);
                let hash = Self::hash(&self.hasher, &id);
                self.ids[slot as usize] = id;
                let (ids, hasher) = (&self.ids, &self.hasher);
                self.by_id.insert_unique(hash, slot, |&other| {
                    Self::hash(hasher, &ids[other as usize])
                });
                self.update_skill_postings(slot, &[], &profile.skills);
                for group in &new_groups {
                    posting_list(&mut self.minor_postings, usize::from(*group)).push(slot);
                }
                self.live += 1;
                slot
            }
        };
        self.write_arena(slot, &profile.skills, &profile.experience);
        let record = &mut self.slots[slot as usize];
        record.core = profile.core;
        record.location = location;
        self.gates[slot as usize] = WorkerGate::new(&profile.core, location).0;
        Ok(())
    }

    /// Brings the skill posting lists of `slot` from `old` to `new` (both sorted).
    fn update_skill_postings(&mut self, slot: u32, old: &[u32], new: &[u32]) {
        let entry = |skill: u32| (slot << 8) | (skill & 0xff);
        let (mut i, mut j) = (0, 0);
        while i < old.len() || j < new.len() {
            let old_id = old.get(i).map(|s| s >> 8);
            let new_id = new.get(j).map(|s| s >> 8);
            match (old_id, new_id) {
                (Some(a), Some(b)) if a == b => {
                    if old[i] != new[j] {
                        let list = &mut self.skill_postings[a as usize];
                        if let Some(position) = list.iter().position(|e| e >> 8 == slot) {
                            list[position] = entry(new[j]);
                        }
                    }
                    i += 1;
                    j += 1;
                }
                (Some(a), b) if b.is_none_or(|b| a < b) => {
                    remove_posting(&mut self.skill_postings[a as usize], slot, 8);
                    i += 1;
                }
                (_, Some(b)) => {
                    posting_list(&mut self.skill_postings, b as usize).push(entry(new[j]));
                    j += 1;
                }
                _ => break,
            }
        }
    }

    fn write_arena(&mut self, slot: u32, skills: &[u32], experience: &[u32]) {
        let record = self.slots[slot as usize];
        let old_len = usize::from(record.skill_count) + usize::from(record.experience_count);
        let new_len = skills.len() + experience.len();
        let start = if new_len <= old_len && old_len > 0 {
            self.arena_garbage += old_len - new_len;
            record.arena_start as usize
        } else {
            self.arena_garbage += old_len;
            let start = self.arena.len();
            self.arena.resize(start + new_len, 0);
            start
        };
        self.arena[start..start + skills.len()].copy_from_slice(skills);
        self.arena[start + skills.len()..start + new_len].copy_from_slice(experience);
        let record = &mut self.slots[slot as usize];
        record.arena_start = start as u32;
        record.skill_count = skills.len() as u8;
        record.experience_count = experience.len() as u8;
        if self.arena_garbage > 4096 && self.arena_garbage * 2 > self.arena.len() {
            self.compact_arena();
        }
    }

    fn remove(&mut self, tables: &Tables, id: &str) -> bool {
        let Some(slot) = self.find(id) else {
            return false;
        };
        let view = self.view(slot);
        let skills = view.skills.to_vec();
        let groups = Self::minor_groups(tables, view.experience);
        self.update_skill_postings(slot, &skills, &[]);
        for group in groups {
            remove_posting(&mut self.minor_postings[usize::from(group)], slot, 0);
        }
        let key = CompactId::new(id);
        let hash = Self::hash(&self.hasher, &key);
        if let Ok(entry) = self
            .by_id
            .find_entry(hash, |&other| self.ids[other as usize] == key)
        {
            entry.remove();
        }
        let record = &mut self.slots[slot as usize];
        self.arena_garbage +=
            usize::from(record.skill_count) + usize::from(record.experience_count);
        *record = WorkerSlot {
            core: EMPTY_CORE,
            arena_start: 0,
            skill_count: 0,
            experience_count: 0,
            location: NO_LOCATION,
        };
        self.ids[slot as usize] = CompactId::Vacant;
        self.gates[slot as usize] = 0;
        self.free.push(slot);
        self.live -= 1;
        true
    }

    fn shrink_to_fit(&mut self) {
        self.compact_arena();
        self.arena.shrink_to_fit();
        self.ids.shrink_to_fit();
        self.slots.shrink_to_fit();
        self.free.shrink_to_fit();
        self.gates.shrink_to_fit();
        let (ids, hasher) = (&self.ids, &self.hasher);
        self.by_id
            .shrink_to_fit(|&slot| Self::hash(hasher, &ids[slot as usize]));
        for list in self
            .skill_postings
            .iter_mut()
            .chain(&mut self.minor_postings)
        {
            list.shrink_to_fit();
        }
    }
}

/// What upper bounds need to know of one vacancy's skills and occupation.
#[derive(Debug, Clone, Copy, Default)]
struct Bounds {
    /// Weight of one required skill's credit in the skills component.
    required: f32,
    /// Weight of one preferred skill's credit.
    preferred: f32,
    /// The skills component of a vacancy that lists no skills.
    base: f32,
    /// The most related skills can add to the skills component, per unit of
    /// `related_skill_credit`: Σ over required skills of weight × best similarity × 0.8.
    related: f32,
    /// The most the occupation component can be without experience in the vacancy's
    /// ISCO minor group: 0.25 (same sub-major group), or the neutral 0.5 when the
    /// vacancy names no occupation.
    occupation_floor: f32,
}

/// Share of the occupation component that experience in the same ISCO minor group
/// can add above `occupation_floor`.
const SAME_MINOR_BONUS: f64 = 0.75;

impl Bounds {
    fn of(vacancy: &VacancyProfile, tables: &Tables) -> Bounds {
        let (required, preferred) = (vacancy.required.len(), vacancy.preferred.len());
        let (required_unit, preferred_unit, base) = match (required, preferred) {
            (0, 0) => (0.0, 0.0, NEUTRAL),
            (r, 0) => (1.0 / r as f64, 0.0, 0.0),
            (0, p) => (0.0, 1.0 / p as f64, 0.0),
            (r, p) => (
                (1.0 - PREFERRED_SHARE) / r as f64,
                PREFERRED_SHARE / p as f64,
                0.0,
            ),
        };
        let related: f64 = vacancy
            .required
            .iter()
            .map(|requirement| {
                let best = tables
                    .related(requirement.skill.0)
                    .first()
                    .map_or(0.0, |&(_, similarity)| f64::from(similarity));
                required_unit * best * BASE_QUALITY
            })
            .sum();
        Bounds {
            required: required_unit as f32,
            preferred: preferred_unit as f32,
            base: base as f32,
            // Rounded up so that the bound stays a bound.
            related: (related * (1.0 + 1e-6)) as f32,
            occupation_floor: if vacancy.occupation.is_some() {
                0.25
            } else {
                NEUTRAL as f32
            },
        }
    }

    /// The part of the score bound that does not depend on the posting lists.
    fn constant(&self, context: &Context<'_>) -> f64 {
        let w = &context.normalised;
        w[0] * (f64::from(self.base)
            + context.weights.related_skill_credit * f64::from(self.related))
            + w[1] * f64::from(self.occupation_floor)
            + w[2]
            + w[3]
            + w[4]
            + w[5]
            + BOUND_MARGIN
    }

    /// The same for a pair found only through related skills.
    fn related_only_constant(&self, context: &Context<'_>) -> f64 {
        let w = &context.normalised;
        w[1] * f64::from(self.occupation_floor) + w[2] + w[3] + w[4] + w[5] + BOUND_MARGIN
    }
}

#[derive(Default)]
struct Vacancies {
    profiles: Vec<Option<VacancyProfile>>,
    location: Vec<u16>,
    employer: Vec<u32>,
    /// By slot: how many required skills the vacancy lists (saturating at 255).
    required_count: Vec<u8>,
    bounds: Vec<Bounds>,
    /// By slot: see [`VacancyGate`].
    gates: Vec<u64>,
    by_id: HashMap<String, u32>,
    free: Vec<u32>,
    /// By skill id: `slot << 8 | PREFERRED_BIT | min_level`.
    skill_postings: Vec<Vec<u32>>,
    minor_postings: Vec<Vec<u32>>,
    /// Vacancies that list neither skills nor an occupation: candidates for everyone.
    unspecified: Vec<u32>,
    employers: HashMap<String, u32>,
    live: usize,
}

impl Vacancies {
    fn unlink(&mut self, slot: u32) {
        let Some(profile) = self.profiles[slot as usize].take() else {
            return;
        };
        for requirement in &profile.required {
            remove_posting(
                &mut self.skill_postings[requirement.skill.0 as usize],
                slot,
                8,
            );
        }
        for skill in &profile.preferred {
            remove_posting(&mut self.skill_postings[skill.0 as usize], slot, 8);
        }
        if let Some(unit) = profile.isco_unit {
            remove_posting(
                &mut self.minor_postings[usize::from(unit.minor_group())],
                slot,
                0,
            );
        }
        if profile.unspecified() {
            remove_posting(&mut self.unspecified, slot, 0);
        }
    }

    fn upsert(
        &mut self,
        tables: &Tables,
        profile: VacancyProfile,
        location: u16,
    ) -> Result<(), MatchError> {
        let slot = match self.by_id.get(&profile.id) {
            Some(&slot) => {
                self.unlink(slot);
                slot
            }
            None => {
                let slot = match self.free.pop() {
                    Some(slot) => slot,
                    None => {
                        if self.profiles.len() >= MAX_SLOTS {
                            return Err(MatchError::Full {
                                what: "vacancies",
                                max: MAX_SLOTS,
                            });
                        }
                        self.profiles.push(None);
                        self.location.push(NO_LOCATION);
                        self.employer.push(0);
                        self.required_count.push(0);
                        self.bounds.push(Bounds::default());
                        self.gates.push(0);
                        (self.profiles.len() - 1) as u32
                    }
                };
                self.by_id.insert(profile.id.clone(), slot);
                self.live += 1;
                slot
            }
        };
        // A skill both required and preferred gets two entries; each is removed by
        // `unlink` in turn.
        for requirement in &profile.required {
            posting_list(&mut self.skill_postings, requirement.skill.0 as usize)
                .push((slot << 8) | u32::from(requirement.min_level));
        }
        for skill in &profile.preferred {
            posting_list(&mut self.skill_postings, skill.0 as usize)
                .push((slot << 8) | PREFERRED_BIT);
        }
        if let Some(unit) = profile.isco_unit {
            posting_list(&mut self.minor_postings, usize::from(unit.minor_group())).push(slot);
        }
        if profile.unspecified() {
            self.unspecified.push(slot);
        }
        let next_employer = self.employers.len() as u32;
        let employer = *self
            .employers
            .entry(profile.employer_id.clone())
            .or_insert(next_employer);
        let index = slot as usize;
        self.location[index] = location;
        self.employer[index] = employer;
        self.required_count[index] = profile.required.len().min(usize::from(u8::MAX)) as u8;
        self.bounds[index] = Bounds::of(&profile, tables);
        self.gates[index] = VacancyGate::new(&profile, location).0;
        self.profiles[index] = Some(profile);
        Ok(())
    }

    fn remove(&mut self, id: &str) -> bool {
        let Some(slot) = self.by_id.remove(id) else {
            return false;
        };
        self.unlink(slot);
        self.free.push(slot);
        self.live -= 1;
        true
    }

    fn heap_bytes(&self) -> usize {
        let postings = |lists: &Vec<Vec<u32>>| {
            lists.capacity() * size_of::<Vec<u32>>()
                + lists.iter().map(|list| list.capacity() * 4).sum::<usize>()
        };
        let profiles: usize = self
            .profiles
            .iter()
            .flatten()
            .map(|p| {
                p.id.capacity()
                    + p.employer_id.capacity()
                    + p.province_code.capacity()
                    + p.required.capacity() * size_of::<crate::profile::Requirement>()
                    + p.preferred.capacity() * 4
            })
            .sum();
        self.profiles.capacity() * size_of::<Option<VacancyProfile>>()
            + profiles
            + self.location.capacity() * 2
            + self.employer.capacity() * 4
            + self.required_count.capacity()
            + self.bounds.capacity() * size_of::<Bounds>()
            + self.gates.capacity() * 8
            + self.by_id.capacity() * (size_of::<String>() + 4 + 1)
            + self.by_id.keys().map(String::capacity).sum::<usize>()
            + postings(&self.skill_postings)
            + postings(&self.minor_postings)
            + self.unspecified.capacity() * 4
            + self.free.capacity() * 4
    }
}

/// Distinct coordinates, interned so that a query computes each distance once.
#[derive(Default)]
struct Locations {
    points: Vec<(f64, f64)>,
    ids: HashMap<(u64, u64), u16>,
}

impl Locations {
    fn intern(&mut self, point: Option<(f64, f64)>) -> u16 {
        let Some((lat, lon)) = point else {
            return NO_LOCATION;
        };
        let key = (lat.to_bits(), lon.to_bits());
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        if self.points.len() >= usize::from(NO_LOCATION) {
            return NO_LOCATION;
        }
        let id = self.points.len() as u16;
        self.points.push((lat, lon));
        self.ids.insert(key, id);
        id
    }

    /// Kilometres between `origin` and every interned location, always computed as
    /// `haversine_km(worker, workplace)` so that every path gets the same bits.
    fn distances_from(
        &self,
        origin: Option<(f64, f64)>,
        origin_is_worker: bool,
    ) -> Vec<Option<f64>> {
        self.points
            .iter()
            .map(|point| {
                let origin = origin?;
                Some(if origin_is_worker {
                    haversine_km(origin, *point)
                } else {
                    haversine_km(*point, origin)
                })
            })
            .collect()
    }
}

fn distance(distances: &[Option<f64>], location: u16) -> Option<f64> {
    distances.get(usize::from(location)).copied().flatten()
}

/// Per-query working memory, pooled so that a query never allocates or clears a
/// million-entry array: a bitset of the slots met so far (128 KiB for a million
/// slots, so it stays in cache) and beside it each met slot's partial bound (only
/// meaningful where the bit is set, so never cleared).
#[derive(Default)]
struct Scratch {
    values: Vec<f32>,
    touched: Vec<u64>,
    /// During a second round: the slots of the first, to leave out.
    first_round: Vec<u64>,
    /// Touched slots with their score bounds, then the same sorted by bucket.
    bounded: Vec<(u32, f32)>,
    order: Vec<(u32, f32)>,
    bucket_starts: Vec<u32>,
    /// By vacancy slot: required skills a worker holds at level, while counting
    /// congestion (left all 0 after each count).
    requirement_counts: Vec<u8>,
    /// The vacancy slots `requirement_counts` touched.
    counted: Vec<u32>,
}

impl Scratch {
    fn begin(&mut self, slots: usize) {
        if self.values.len() < slots {
            self.values.resize(slots, 0.0);
        }
        let words = slots.div_ceil(64);
        self.touched.clear();
        self.touched.resize(words, 0);
        self.first_round.clear();
    }

    /// Starts a second round that only collects slots the first did not touch.
    fn begin_related_only(&mut self) {
        std::mem::swap(&mut self.touched, &mut self.first_round);
        let words = self.first_round.len();
        self.touched.clear();
        self.touched.resize(words, 0);
    }

    #[inline]
    fn add(&mut self, slot: u32, bound: f32) {
        let (word, bit) = ((slot >> 6) as usize, 1u64 << (slot & 63));
        if self.touched[word] & bit != 0 {
            self.values[slot as usize] += bound;
        } else {
            self.touched[word] |= bit;
            self.values[slot as usize] = bound;
        }
    }

    /// [`Scratch::add`] unless the first round touched the slot.
    #[inline]
    fn add_new(&mut self, slot: u32, bound: f32) {
        if self.first_round[(slot >> 6) as usize] & (1u64 << (slot & 63)) == 0 {
            self.add(slot, bound);
        }
    }

    fn heap_bytes(&self) -> usize {
        self.values.capacity() * 4
            + (self.touched.capacity() + self.first_round.capacity()) * 8
            + self.bucket_starts.capacity() * 4
            + (self.bounded.capacity() + self.order.capacity()) * 8
            + self.requirement_counts.capacity()
            + self.counted.capacity() * 4
    }
}

/// A scored candidate.
struct Hit {
    slot: u32,
    group: u32,
    raw: Raw,
}

/// The best `limit` hits, best first, at most `per_group` of one group (0: no cap).
struct TopK {
    limit: usize,
    per_group: usize,
    hits: Vec<Hit>,
}

impl TopK {
    /// The score a new hit must reach to enter (ties decided by id), if full.
    fn threshold(&self) -> Option<f64> {
        (self.hits.len() >= self.limit).then(|| self.hits[self.hits.len() - 1].raw.score)
    }

    fn offer(&mut self, hit: Hit, before: impl Fn(&Hit, &Hit) -> bool) {
        if self.per_group > 0 {
            let same: Vec<usize> = (0..self.hits.len())
                .filter(|&i| self.hits[i].group == hit.group)
                .collect();
            if same.len() >= self.per_group {
                let worst = same[same.len() - 1];
                if before(&hit, &self.hits[worst]) {
                    self.hits.remove(worst);
                    self.insert(hit, &before);
                }
                return;
            }
        }
        if self.hits.len() < self.limit {
            self.insert(hit, &before);
        } else if before(&hit, &self.hits[self.hits.len() - 1]) {
            self.hits.pop();
            self.insert(hit, &before);
        }
    }

    fn insert(&mut self, hit: Hit, before: &impl Fn(&Hit, &Hit) -> bool) {
        let position = self.hits.partition_point(|kept| before(kept, &hit));
        self.hits.insert(position, hit);
    }
}

/// The positions of the set bits of a bitset, in increasing order.
fn set_bits(words: &[u64]) -> impl Iterator<Item = u32> + '_ {
    words.iter().enumerate().flat_map(|(index, &word)| {
        let mut rest = word;
        std::iter::from_fn(move || {
            (rest != 0).then(|| {
                let bit = rest.trailing_zeros();
                rest &= rest - 1;
                (index as u32) * 64 + bit
            })
        })
    })
}

/// Visits the touched slots from the highest upper bound down, scoring each with
/// `evaluate` until no remaining slot can enter `top`. `bound(slot, partial)` turns
/// the partial bound gathered from the posting lists into a bound of the whole score;
/// it is called once per touched slot, in slot order, and should not read memory
/// per slot. `refine(slot, bound)` tightens it from the slot's gate (negative to
/// drop the slot) just before a slot would be scored.
fn select(
    scratch: &mut Scratch,
    top: &mut TopK,
    min_score: f64,
    bound: impl Fn(u32, f32) -> f32,
    refine: impl Fn(u32, f64) -> f64,
    mut evaluate: impl FnMut(u32) -> Option<Hit>,
    before: impl Fn(&Hit, &Hit) -> bool,
) {
    let Scratch {
        values,
        touched,
        bounded,
        order,
        bucket_starts,
        ..
    } = scratch;
    let bucket_of = |value: f32| ((value * BUCKETS as f32) as usize).min(BUCKETS - 1);
    bucket_starts.clear();
    bucket_starts.resize(BUCKETS + 1, 0);
    bounded.clear();
    // In slot order, so that reading `values` sweeps memory forward.
    for slot in set_bits(touched) {
        // In `f32`: the constants carry `BOUND_MARGIN`, far above `f32` rounding.
        let stored = bound(slot, values[slot as usize]);
        if f64::from(stored) < min_score {
            continue;
        }
        bounded.push((slot, stored));
        bucket_starts[bucket_of(stored) + 1] += 1;
    }
    for bucket in 0..BUCKETS {
        bucket_starts[bucket + 1] += bucket_starts[bucket];
    }
    order.clear();
    order.resize(bounded.len(), (0, 0.0));
    {
        let mut next = bucket_starts.clone();
        for &(slot, stored) in bounded.iter() {
            let bucket = bucket_of(stored);
            order[next[bucket] as usize] = (slot, stored);
            next[bucket] += 1;
        }
    }
    for bucket in (0..BUCKETS).rev() {
        let bucket_top = (bucket + 1) as f64 / BUCKETS as f64;
        if bucket_top < min_score || top.threshold().is_some_and(|worst| bucket_top < worst) {
            break;
        }
        let range = bucket_starts[bucket] as usize..bucket_starts[bucket + 1] as usize;
        for &(slot, stored) in &order[range] {
            let floor = top
                .threshold()
                .map_or(min_score, |worst| worst.max(min_score));
            if f64::from(stored) < floor || refine(slot, f64::from(stored)) < floor {
                continue;
            }
            if let Some(hit) = evaluate(slot) {
                top.offer(hit, &before);
            }
        }
    }
}

fn validate_common(limit: usize, min_score: f64) -> Result<(), MatchError> {
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(MatchError::InvalidLimit {
            got: limit,
            max: MAX_LIMIT,
        });
    }
    if !(0.0..=1.0).contains(&min_score) {
        return Err(MatchError::InvalidMinScore);
    }
    Ok(())
}

fn validate_damping(damping: f64) -> Result<(), MatchError> {
    if (0.0..=1.0).contains(&damping) {
        Ok(())
    } else {
        Err(MatchError::InvalidCongestionDamping)
    }
}

/// A candidate's congestion: open vacancies elsewhere they fully qualify for, and the
/// factor their score is multiplied by.
#[derive(Debug, Clone, Copy)]
struct Congestion {
    qualified_elsewhere: u32,
    factor: f64,
}

impl Congestion {
    /// `1 / (1 + damping × ln(1 + n))`: 1 for nobody else's strong candidate, and
    /// growing slowly, so that damping reorders close candidates but never buries a
    /// clearly better one (with 0.1: × 0.93 at 1 other vacancy, × 0.85 at 5, × 0.77 at 20).
    fn new(qualified_elsewhere: u32, damping: f64) -> Congestion {
        Congestion {
            qualified_elsewhere,
            factor: 1.0 / (1.0 + damping * f64::from(qualified_elsewhere).ln_1p()),
        }
    }
}

/// Whether a workplace `distance_km` from home is within the person's reach: within
/// the travel range, or anywhere for a person willing to relocate; unknown places are.
fn within_reach(core: &WorkerCore, distance_km: Option<f64>) -> bool {
    let range = if core.max_travel_km.is_nan() {
        DEFAULT_MAX_TRAVEL_KM
    } else {
        f64::from(core.max_travel_km)
    };
    core.willing_to_relocate() || distance_km.is_none_or(|km| km <= range)
}

fn province_filter(code: Option<&str>) -> Result<Option<u8>, MatchError> {
    match code {
        None => Ok(None),
        Some(code) => match province_number(code) {
            0 => Err(MatchError::InvalidProvinceCode(code.to_string())),
            number => Ok(Some(number)),
        },
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

    /// The best workers for a vacancy: eligible ones only unless asked, best first,
    /// ties broken by worker id; with `congestion_damping`, people who fully qualify
    /// for many other open vacancies within reach are moved down (see "Congestion" in
    /// the module documentation).
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

    /// How many open vacancies other than `except`, within the worker's reach (in the
    /// travel range, or anywhere for a person willing to relocate), list required
    /// skills that the worker all holds at the levels asked. Counted from the vacancy
    /// posting lists of the worker's skills in a pooled per-vacancy counter, so it
    /// costs the length of those lists and always reflects the index as it is.
    fn qualified_elsewhere(
        &self,
        worker_slot: u32,
        except: u32,
        context: &Context<'_>,
        scratch: &mut Scratch,
    ) -> u32 {
        let vacancies = &self.vacancies;
        let worker = self.workers.view(worker_slot);
        let home = self.worker_home(worker_slot);
        let counts = &mut scratch.requirement_counts;
        if counts.len() < vacancies.profiles.len() {
            counts.resize(vacancies.profiles.len(), 0);
        }
        let counted = &mut scratch.counted;
        counted.clear();
        for &held in worker.skills {
            let level = u32::from(attribute_level((held & 0xff) as u8));
            for &entry in &vacancies.skill_postings[(held >> 8) as usize] {
                if entry & PREFERRED_BIT != 0 || level < entry & 0x7 {
                    continue;
                }
                let slot = entry >> 8;
                if counts[slot as usize] == 0 {
                    counted.push(slot);
                }
                counts[slot as usize] = counts[slot as usize].saturating_add(1);
            }
        }
        let mut qualified = 0;
        for &slot in counted.iter() {
            let met = std::mem::take(&mut counts[slot as usize]);
            if slot == except
                || usize::from(met) != usize::from(vacancies.required_count[slot as usize])
            {
                continue;
            }
            let Some(profile) = vacancies.profiles[slot as usize].as_ref() else {
                continue;
            };
            if vacancy_open(profile, context)
                && within_reach(worker.core, pair_distance(home, profile.coordinates))
            {
                qualified += 1;
            }
        }
        qualified
    }

    /// The best `limit` candidates by score (undamped), best first, ties by id:
    /// from the vacancy's standing list when it can tell them exactly, else ranked
    /// (and kept as the list when the query is the default one).
    #[allow(clippy::too_many_arguments)]
    fn best_candidates(
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
    fn top_candidate_hits(
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

    /// Marks every worker that holds a skill the vacancy lists or has experience in
    /// its ISCO minor group, with the part of its score bound that depends on that.
    fn generate_workers(
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
    fn generate_related_workers(
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

    fn vacancies_for_view(
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
    fn generate_vacancies(
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
    fn generate_related_vacancies(
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
        let coordinates = self
            .locations
            .points
            .get(usize::from(record.location))
            .copied();
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

    /// Every relevant stored worker scored against the vacancy, by brute force and in
    /// ranking order, congestion damping counted vacancy by vacancy; what
    /// `candidates_for_vacancy` must agree with. For tests.
    #[doc(hidden)]
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
            let coordinates = self
                .locations
                .points
                .get(usize::from(record.location))
                .copied();
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
            let coordinates = self
                .locations
                .points
                .get(usize::from(record.location))
                .copied();
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
}

impl MatchIndex<'_> {
    /// Every relevant vacancy scored against a stored worker by brute force, capped
    /// per employer greedily in ranking order; what `vacancies_for_worker` must agree
    /// with. For tests.
    #[doc(hidden)]
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
        let record = &self.workers.slots[slot as usize];
        let coordinates = self
            .locations
            .points
            .get(usize::from(record.location))
            .copied();
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

fn vacancy_open(vacancy: &VacancyProfile, context: &Context<'_>) -> bool {
    vacancy.status == VacancyStatus::Open
        && (vacancy.closes_days == NO_DATE || vacancy.closes_days >= context.today_days)
}

fn pair_distance(worker: Option<(f64, f64)>, workplace: Option<(f64, f64)>) -> Option<f64> {
    Some(haversine_km(worker?, workplace?))
}

fn profile_view(profile: &WorkerProfile) -> WorkerView<'_> {
    WorkerView {
        core: &profile.core,
        skills: &profile.skills,
        experience: &profile.experience,
    }
}
