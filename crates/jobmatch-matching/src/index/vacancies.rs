//! The vacancy side of the index: profiles by slot, what selection reads of them in
//! dense arrays (location, employer, required-skill count, bounds, gate), and the
//! posting lists from skills and ISCO minor groups to slots.

use std::collections::HashMap;

use super::MAX_SLOTS;
use super::bounds::{Bounds, VacancyGate};
use super::locations::NO_LOCATION;
use super::postings::{self, PREFERRED_BIT, posting_list, remove_posting};
use crate::error::MatchError;
use crate::profile::VacancyProfile;
use crate::tables::Tables;

#[derive(Default)]
pub(super) struct Vacancies {
    pub(super) profiles: Vec<Option<VacancyProfile>>,
    pub(super) location: Vec<u16>,
    pub(super) employer: Vec<u32>,
    /// By slot: how many required skills the vacancy lists (saturating at 255).
    pub(super) required_count: Vec<u8>,
    pub(super) bounds: Vec<Bounds>,
    /// By slot: see [`VacancyGate`].
    pub(super) gates: Vec<u64>,
    pub(super) by_id: HashMap<String, u32>,
    pub(super) free: Vec<u32>,
    /// By skill id: `slot << 8 | PREFERRED_BIT | min_level`.
    pub(super) skill_postings: Vec<Vec<u32>>,
    pub(super) minor_postings: Vec<Vec<u32>>,
    /// Vacancies that list neither skills nor an occupation: candidates for everyone.
    pub(super) unspecified: Vec<u32>,
    pub(super) employers: HashMap<String, u32>,
    pub(super) live: usize,
}

impl Vacancies {
    pub(super) fn unlink(&mut self, slot: u32) {
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

    pub(super) fn upsert(
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

    pub(super) fn remove(&mut self, id: &str) -> bool {
        let Some(slot) = self.by_id.remove(id) else {
            return false;
        };
        self.unlink(slot);
        self.free.push(slot);
        self.live -= 1;
        true
    }

    pub(super) fn heap_bytes(&self) -> usize {
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
            + postings::heap_bytes(&self.skill_postings)
            + postings::heap_bytes(&self.minor_postings)
            + self.unspecified.capacity() * 4
            + self.free.capacity() * 4
    }
}
