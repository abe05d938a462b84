//! Congestion damping of candidate lists (see "Congestion" in the `index` module
//! documentation): how many other open vacancies within reach a candidate fully
//! qualifies for, and the factor their score is multiplied by.

use super::locations::pair_distance;
use super::postings::PREFERRED_BIT;
use super::selection::Scratch;
use super::{MatchIndex, vacancy_open};
use crate::profile::{WorkerCore, attribute_level};
use crate::score::{Context, DEFAULT_MAX_TRAVEL_KM};

/// Congestion damping re-ranks this many times `limit` of the best undamped candidates.
pub const CONGESTION_WINDOW: usize = 2;

/// A candidate's congestion: open vacancies elsewhere they fully qualify for, and the
/// factor their score is multiplied by.
#[derive(Debug, Clone, Copy)]
pub(super) struct Congestion {
    pub(super) qualified_elsewhere: u32,
    pub(super) factor: f64,
}

impl Congestion {
    /// `1 / (1 + damping × ln(1 + n))`: 1 for nobody else's strong candidate, and
    /// growing slowly, so that damping reorders close candidates but never buries a
    /// clearly better one (with 0.1: × 0.93 at 1 other vacancy, × 0.85 at 5, × 0.77 at 20).
    pub(super) fn new(qualified_elsewhere: u32, damping: f64) -> Congestion {
        Congestion {
            qualified_elsewhere,
            factor: 1.0 / (1.0 + damping * f64::from(qualified_elsewhere).ln_1p()),
        }
    }
}

/// Whether a workplace `distance_km` from home is within the person's reach: within
/// the travel range, or anywhere for a person willing to relocate; unknown places are.
pub(super) fn within_reach(core: &WorkerCore, distance_km: Option<f64>) -> bool {
    let range = if core.max_travel_km.is_nan() {
        DEFAULT_MAX_TRAVEL_KM
    } else {
        f64::from(core.max_travel_km)
    };
    core.willing_to_relocate() || distance_km.is_none_or(|km| km <= range)
}

impl MatchIndex<'_> {
    /// How many open vacancies other than `except`, within the worker's reach (in the
    /// travel range, or anywhere for a person willing to relocate), list required
    /// skills that the worker all holds at the levels asked. Counted from the vacancy
    /// posting lists of the worker's skills in a pooled per-vacancy counter, so it
    /// costs the length of those lists and always reflects the index as it is.
    pub(super) fn qualified_elsewhere(
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
}
