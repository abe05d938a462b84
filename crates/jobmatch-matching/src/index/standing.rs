//! Standing candidate lists: each open vacancy's best candidates for the default
//! query (configured weights, no province filter, eligible people only), kept exact
//! as profiles change, so that the request a counsellor makes most — a vacancy's
//! best 20 — reads a list instead of ranking every relevant profile.
//!
//! **Invariant.** A list stored for date D holds, best first (score, then worker
//! id), an exact prefix of the ranking the default query gives on date D over the
//! settled workers: every worker but those changed and not yet offered to the lists
//! again. `complete` says the prefix is the whole ranking. A list answers only when
//! every worker is settled; a query that a list cannot answer exactly (another
//! filter or weights, a longer list than kept, a worker not yet settled) ranks as
//! before, so answers never depend on whether a list exists.
//!
//! **Upkeep.**
//! - A changed or removed worker is queued. [`MatchIndex::settle_standing`] (the
//!   follower calls it after each batch of changes) removes the queued workers from
//!   every list that may hold them; a removal shortens a prefix of the ranking over
//!   the settled workers into a prefix of the ranking over the rest, so the
//!   invariant holds with them unsettled.
//! - It then offers each one's new score to the lists it could enter, found as a
//!   worker's vacancies are (the vacancy posting lists of its skills, minor groups
//!   and related skills, bounded and refined before any exact score). An offer that
//!   sorts after the last kept entry is dropped unless the list is complete. Offers
//!   may come in any order: each is judged against the settled workers only.
//! - Up to [`INCREMENTAL_LIMIT`] unsettled workers are offered at once, under the
//!   follower's write lock. More (a partner's batch) are left to
//!   [`MatchIndex::settle_unsettled`], which the server runs a few at a time in the
//!   background under the read lock, so that the follower goes on applying changes.
//!   They are offered for the date of the settling that queued them, whatever the
//!   clock says by then: a query that read that date must find them in its lists.
//!   Offers cut short by a panic leave workers out of the lists for good, so the
//!   next settling drops every list.
//! - When more workers are unsettled than there are lists (an import), offering
//!   them would cost more than building the lists again: every list is dropped.
//! - A changed vacancy loses its list; a list of another date is not used (ages,
//!   availability and closing dates move with the date).
//! - Lists are filled by default queries as they rank, and by
//!   [`MatchIndex::build_missing_standing`], which the server runs in the
//!   background. Both hold only `&self` (the read lock): each list sits in its own
//!   mutex.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Mutex, MutexGuard};

use chrono::NaiveDate;

use super::bounds::{VacancyGate, WorkerGate, refine};
use super::congestion::CONGESTION_WINDOW;
use super::locations::pair_distance;
use super::query::CandidateQuery;
use super::selection::{Hit, Scratch, set_bits};
use super::{MatchIndex, vacancy_open};
use crate::ids::CompactId;
use crate::score::{Context, score_pair, wage_factor};

/// Candidates a list keeps: the default `limit` (20) times [`CONGESTION_WINDOW`],
/// so that a default request answers from the list with or without damping.
pub const STANDING_LENGTH: usize = 20 * CONGESTION_WINDOW;
/// Most unsettled workers offered to the lists by the follower itself; more are
/// left to [`MatchIndex::settle_unsettled`].
pub const INCREMENTAL_LIMIT: usize = 64;

struct StandingList {
    date: NaiveDate,
    /// Best first: score, then worker slot (ties ordered by worker id).
    entries: Vec<(f64, u32)>,
    /// The entries are every eligible candidate, not only the best.
    complete: bool,
}

/// The lists and their upkeep state (see the module documentation).
#[derive(Default)]
pub(super) struct Standing {
    /// By vacancy slot.
    lists: Vec<Mutex<Option<StandingList>>>,
    /// Worker slots changed since the last settling, in change order.
    pending: Vec<u32>,
    /// Workers removed from every list and not yet offered again. Filled under the
    /// write lock; [`MatchIndex::settle_unsettled`] takes from it under the read
    /// lock.
    unoffered: Mutex<Unoffered>,
    /// Workers not yet offered again: those in `unoffered` and those being offered
    /// right now. No list answers while it is above zero.
    unsettled: AtomicUsize,
    /// Set when offering a chunk was cut short by a panic: its workers are in no
    /// list and will never be offered, so the next settling drops every list.
    lost: AtomicBool,
    /// By worker slot, a bit set once the worker enters a list and cleared only when
    /// every list is dropped: a worker without it is in no list.
    maybe_listed: Vec<AtomicU64>,
    /// Whether any list may be stored; while none is, changes are not queued.
    any: AtomicBool,
    /// Counts the times every list was dropped.
    epoch: u64,
    /// Where [`MatchIndex::build_missing_standing`] looks next.
    cursor: AtomicUsize,
}

#[derive(Default)]
struct Unoffered {
    /// The date of the lists they are to be offered to: the date of the settling
    /// that queued them, since lists of any other date are dropped by then.
    date: Option<NaiveDate>,
    /// Worker slots, sorted.
    slots: Vec<u32>,
}

/// Marks the lists as missing workers when a chunk's offers are cut short.
struct LostOnUnwind<'a>(&'a AtomicBool);

impl Drop for LostOnUnwind<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, AtomicOrdering::Release);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn get_mut<T>(mutex: &mut Mutex<T>) -> &mut T {
    mutex
        .get_mut()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Standing {
    fn mark_listed(&self, worker_slot: u32) {
        if let Some(word) = self.maybe_listed.get((worker_slot >> 6) as usize) {
            word.fetch_or(1 << (worker_slot & 63), AtomicOrdering::Relaxed);
        }
    }

    fn is_maybe_listed(&self, worker_slot: u32) -> bool {
        self.maybe_listed
            .get((worker_slot >> 6) as usize)
            .is_some_and(|word| word.load(AtomicOrdering::Relaxed) & (1 << (worker_slot & 63)) != 0)
    }

    /// Whether every worker is settled, so that lists may answer.
    fn settled(&self) -> bool {
        self.pending.is_empty() && self.unsettled.load(AtomicOrdering::Acquire) == 0
    }

    fn drop_all(&mut self) {
        for list in &mut self.lists {
            *get_mut(list) = None;
        }
        for word in &mut self.maybe_listed {
            *word.get_mut() = 0;
        }
        self.pending.clear();
        *get_mut(&mut self.unoffered) = Unoffered::default();
        *self.unsettled.get_mut() = 0;
        *self.lost.get_mut() = false;
        *self.any.get_mut() = false;
        self.epoch += 1;
    }

    pub(super) fn heap_bytes(&self) -> usize {
        let entries: usize = self
            .lists
            .iter()
            .map(|list| {
                lock(list)
                    .as_ref()
                    .map_or(0, |list| list.entries.capacity())
            })
            .sum();
        self.lists.capacity() * std::mem::size_of::<Mutex<Option<StandingList>>>()
            + entries * std::mem::size_of::<(f64, u32)>()
            + self.pending.capacity() * 4
            + lock(&self.unoffered).slots.capacity() * 4
            + self.maybe_listed.capacity() * 8
    }
}

impl StandingList {
    /// Places a candidate, keeping the list an exact prefix of the ranking.
    /// Returns whether it was kept.
    fn offer(
        &mut self,
        entry: (f64, u32),
        before: impl Fn(&(f64, u32), &(f64, u32)) -> bool,
    ) -> bool {
        let position = self.entries.partition_point(|kept| before(kept, &entry));
        if position == self.entries.len() && !self.complete {
            // Candidates not in the list may rank between the last kept and this one.
            return false;
        }
        self.entries.insert(position, entry);
        if self.entries.len() > STANDING_LENGTH {
            self.entries.pop();
            self.complete = false;
        }
        true
    }
}

impl MatchIndex<'_> {
    /// Called after a worker slot's profile changed or was removed.
    pub(super) fn note_worker_change(&mut self, worker_slot: u32) {
        let words = self.workers.slots.len().div_ceil(64);
        let standing = &mut self.standing;
        if standing.maybe_listed.len() < words {
            standing.maybe_listed.resize_with(words, AtomicU64::default);
        }
        if *standing.any.get_mut() {
            standing.pending.push(worker_slot);
        }
    }

    /// Called after a vacancy slot's profile changed or was removed.
    pub(super) fn note_vacancy_change(&mut self, vacancy_slot: u32) {
        let lists = &mut self.standing.lists;
        if lists.len() < self.vacancies.profiles.len() {
            lists.resize_with(self.vacancies.profiles.len(), Mutex::default);
        }
        *get_mut(&mut lists[vacancy_slot as usize]) = None;
    }

    /// How many times every standing list was dropped (a bulk change): a
    /// background builder waits for this to stay still before rebuilding.
    pub fn standing_epoch(&self) -> u64 {
        self.standing.epoch
    }

    /// Brings the standing lists up to date with the worker changes made since the
    /// last call (see the module documentation): removes the changed workers from
    /// the lists and offers them again, or leaves the offers to
    /// [`MatchIndex::settle_unsettled`] when there are many. `today` is the date
    /// lists are kept for; lists of other dates are dropped.
    pub fn settle_standing(&mut self, today: NaiveDate) {
        if *self.standing.lost.get_mut() {
            self.standing.drop_all();
            return;
        }
        if self.standing.pending.is_empty() {
            return;
        }
        let mut pending = std::mem::take(&mut self.standing.pending);
        pending.sort_unstable();
        pending.dedup();
        let mut current_lists = 0;
        for list in &mut self.standing.lists {
            let list = get_mut(list);
            if list.as_ref().is_some_and(|list| list.date != today) {
                *list = None;
            }
            current_lists += usize::from(list.is_some());
        }
        let mut unoffered = std::mem::take(&mut get_mut(&mut self.standing.unoffered).slots);
        if unoffered.len() + pending.len() > current_lists.max(INCREMENTAL_LIMIT) {
            self.standing.drop_all();
            return;
        }
        // One pass over every entry of every list (4 million at national scale),
        // so the test per entry is a bit, not a search.
        let mut leaving = vec![0u64; self.workers.slots.len().div_ceil(64)];
        let mut any_leaving = false;
        for &slot in &pending {
            if self.standing.is_maybe_listed(slot) {
                leaving[(slot >> 6) as usize] |= 1 << (slot & 63);
                any_leaving = true;
            }
        }
        if any_leaving {
            let leaves = |slot: u32| leaving[(slot >> 6) as usize] & (1 << (slot & 63)) != 0;
            for list in &mut self.standing.lists {
                if let Some(list) = get_mut(list) {
                    list.entries.retain(|&(_, slot)| !leaves(slot));
                }
            }
        }
        unoffered.extend(pending);
        unoffered.sort_unstable();
        unoffered.dedup();
        if unoffered.len() > INCREMENTAL_LIMIT {
            *self.standing.unsettled.get_mut() = unoffered.len();
            *get_mut(&mut self.standing.unoffered) = Unoffered {
                date: Some(today),
                slots: unoffered,
            };
        } else {
            *self.standing.unsettled.get_mut() = 0;
            self.offer_all(&unoffered, today);
        }
    }

    /// Offers up to `max` unsettled workers to the lists they could enter, for the
    /// date of the settling that queued them; returns how many it offered (0 once
    /// every worker is settled). Holds only `&self`, so that the server can settle
    /// a partner's batch in the background, under the read lock, while the
    /// follower goes on.
    pub fn settle_unsettled(&self, max: usize) -> usize {
        let (date, chunk) = {
            let mut unoffered = lock(&self.standing.unoffered);
            let keep = unoffered.slots.len().saturating_sub(max);
            (unoffered.date, unoffered.slots.split_off(keep))
        };
        let Some(date) = date.filter(|_| !chunk.is_empty()) else {
            return 0;
        };
        let cut_short = LostOnUnwind(&self.standing.lost);
        self.offer_all(&chunk, date);
        drop(cut_short);
        // Only now may lists answer again: the chunk's workers are in them.
        self.standing
            .unsettled
            .fetch_sub(chunk.len(), AtomicOrdering::Release);
        chunk.len()
    }

    /// How many changed workers wait to be offered to the standing lists again.
    pub fn standing_unsettled(&self) -> usize {
        self.standing.pending.len() + self.standing.unsettled.load(AtomicOrdering::Acquire)
    }

    fn offer_all(&self, worker_slots: &[u32], today: NaiveDate) {
        let context = Context::new(&self.tables, self.weights, today);
        let mut scratch = self.take_scratch();
        for &slot in worker_slots {
            if self
                .workers
                .ids
                .get(slot as usize)
                .is_some_and(|id| *id != CompactId::Vacant)
            {
                self.offer_to_standing(slot, &context, &mut scratch);
            }
        }
        self.return_scratch(scratch);
    }

    /// Offers a worker to every list it could enter.
    fn offer_to_standing(&self, worker_slot: u32, context: &Context<'_>, scratch: &mut Scratch) {
        let vacancies = &self.vacancies;
        let worker = self.workers.view(worker_slot);
        let home = self.worker_home(worker_slot);
        let worker_gate = WorkerGate::new(worker.core, 0);
        let before = self.entry_before();
        let offer_met = |scratch: &Scratch, constant: &dyn Fn(u32) -> f64| {
            for (vacancy_slot, partial) in scratch.met() {
                let Some(vacancy) = vacancies.profiles[vacancy_slot as usize].as_ref() else {
                    continue;
                };
                let mut guard = lock(&self.standing.lists[vacancy_slot as usize]);
                let Some(list) = guard.as_mut().filter(|list| list.date == context.today) else {
                    continue;
                };
                // Anything eligible enters a complete list; otherwise only what beats
                // (or ties, then wins on id) the last kept entry.
                let floor = match (list.complete, list.entries.last()) {
                    (true, _) => 0.0,
                    (false, Some(&(last, _))) => last,
                    (false, None) => continue,
                };
                let upper = f64::from(partial) + constant(vacancy_slot);
                if upper < floor {
                    continue;
                }
                let gate = VacancyGate(vacancies.gates[vacancy_slot as usize]);
                let distance_km = pair_distance(home, vacancy.coordinates);
                let (distance_bound, too_far) = worker_gate.distance_bound(distance_km);
                if too_far || !gate.open() || !worker.core.seeking() {
                    continue;
                }
                let wage = wage_factor(
                    worker.core.expected_wage,
                    gate.top_wage(),
                    context.weights.wage_penalty,
                );
                let preferences =
                    worker_gate.preferences_bound(gate.sector(), gate.accommodation());
                if refine(upper, context, distance_bound, wage, preferences) < floor {
                    continue;
                }
                if !vacancy_open(vacancy, context) {
                    continue;
                }
                let raw = score_pair(worker, vacancy, distance_km, context);
                if self.keep(raw, false, 0.0) && list.offer((raw.score, worker_slot), &before) {
                    self.standing.mark_listed(worker_slot);
                }
            }
        };
        scratch.begin(vacancies.profiles.len());
        self.generate_vacancies(worker, context, scratch);
        offer_met(scratch, &|slot| {
            vacancies.bounds[slot as usize].constant(context)
        });
        if context.weights.related_skill_credit > 0.0 {
            scratch.begin_related_only();
            self.generate_related_vacancies(worker, context, scratch);
            offer_met(scratch, &|slot| {
                vacancies.bounds[slot as usize].related_only_constant(context)
            });
        }
    }

    /// Orders list entries as candidate lists are: score, then worker id.
    fn entry_before(&self) -> impl Fn(&(f64, u32), &(f64, u32)) -> bool + '_ {
        move |a: &(f64, u32), b: &(f64, u32)| match a.0.total_cmp(&b.0) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => {
                self.workers.ids[a.1 as usize].cmp_text(&self.workers.ids[b.1 as usize])
                    == std::cmp::Ordering::Less
            }
        }
    }

    /// How many open vacancies have a standing list for `today`, and how many
    /// vacancies are open.
    pub fn standing_coverage(&self, today: NaiveDate) -> (usize, usize) {
        let context = Context::new(&self.tables, self.weights, today);
        let mut listed = 0;
        let mut open = 0;
        for (profile, list) in self.vacancies.profiles.iter().zip(&self.standing.lists) {
            if profile
                .as_ref()
                .is_some_and(|profile| vacancy_open(profile, &context))
            {
                open += 1;
                if lock(list).as_ref().is_some_and(|list| list.date == today) {
                    listed += 1;
                }
            }
        }
        (listed, open)
    }

    /// Whether the vacancy has a standing list for `today`. For tests.
    #[doc(hidden)]
    pub fn has_standing_list(&self, vacancy_id: &str, today: NaiveDate) -> bool {
        self.vacancies.by_id.get(vacancy_id).is_some_and(|&slot| {
            lock(&self.standing.lists[slot as usize])
                .as_ref()
                .is_some_and(|list| list.date == today)
        })
    }

    /// Whether a candidate query is the default one that standing lists answer.
    pub(super) fn standing_applies(
        &self,
        query: &CandidateQuery,
        province: Option<u8>,
        needed: usize,
    ) -> bool {
        province.is_none()
            && query.weights.is_none()
            && !query.include_ineligible
            && !query.employer_view
            && needed <= STANDING_LENGTH
            && self.standing.settled()
    }

    /// The best `needed` candidates of the vacancy scoring at least `min_score`
    /// (fewer when there are no more), from its list; `None` when the list cannot
    /// tell them exactly.
    pub(super) fn standing_prefix(
        &self,
        vacancy_slot: u32,
        today: NaiveDate,
        needed: usize,
        min_score: f64,
    ) -> Option<Vec<(f64, u32)>> {
        let guard = lock(self.standing.lists.get(vacancy_slot as usize)?);
        let list = guard.as_ref().filter(|list| list.date == today)?;
        let qualifying = list
            .entries
            .partition_point(|&(score, _)| score >= min_score);
        if qualifying >= needed {
            Some(list.entries[..needed].to_vec())
        } else if list.complete {
            Some(list.entries[..qualifying].to_vec())
        } else {
            None
        }
    }

    /// Keeps the best candidates a default query ranked as the vacancy's list:
    /// `hits` are the best [`STANDING_LENGTH`] (all there are when fewer).
    pub(super) fn store_standing(&self, vacancy_slot: u32, today: NaiveDate, hits: &[Hit]) {
        let Some(list) = self.standing.lists.get(vacancy_slot as usize) else {
            return;
        };
        let entries: Vec<(f64, u32)> = hits
            .iter()
            .take(STANDING_LENGTH)
            .map(|hit| (hit.raw.score, hit.slot))
            .collect();
        for &(_, worker_slot) in &entries {
            self.standing.mark_listed(worker_slot);
        }
        self.standing.any.store(true, AtomicOrdering::Relaxed);
        *lock(list) = Some(StandingList {
            date: today,
            complete: entries.len() < STANDING_LENGTH,
            entries,
        });
    }

    /// Builds the lists of up to `max` open vacancies that have none for `today`,
    /// resuming where the last call stopped; returns how many it built (0 when every
    /// open vacancy has its list, or while worker changes wait to be settled).
    pub fn build_missing_standing(&self, today: NaiveDate, max: usize) -> usize {
        let lists = &self.standing.lists;
        if !self.standing.settled() || lists.is_empty() {
            return 0;
        }
        let context = Context::new(&self.tables, self.weights, today);
        let query = CandidateQuery::new(today);
        let start = self.standing.cursor.load(AtomicOrdering::Relaxed) % lists.len();
        let mut built = 0;
        let mut scratch = None;
        for step in 0..lists.len() {
            let slot = (start + step) % lists.len();
            let Some(vacancy) = self.vacancies.profiles[slot].as_ref() else {
                continue;
            };
            let current = lock(&lists[slot])
                .as_ref()
                .is_some_and(|list| list.date == today);
            if current || !vacancy_open(vacancy, &context) {
                continue;
            }
            let scratch = scratch.get_or_insert_with(|| self.take_scratch());
            let hits =
                self.top_candidate_hits(vacancy, &query, None, &context, STANDING_LENGTH, scratch);
            self.store_standing(slot as u32, today, &hits);
            built += 1;
            if built == max {
                self.standing
                    .cursor
                    .store(slot + 1, AtomicOrdering::Relaxed);
                break;
            }
        }
        if let Some(scratch) = scratch {
            self.return_scratch(scratch);
        }
        built
    }
}

impl Scratch {
    /// The slots met, in slot order, with their partial bounds.
    fn met(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        set_bits(&self.touched).map(|slot| (slot, self.values[slot as usize]))
    }
}
