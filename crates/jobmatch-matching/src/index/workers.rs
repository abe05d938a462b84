//! The worker side of the index: a slab of fixed 28-byte slot records whose skills
//! and past occupations sit in one shared `u32` arena, an id → slot table that
//! stores only the slot, a gate per slot, and the posting lists from skills and
//! ISCO minor groups to slots.

use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

use super::MAX_SLOTS;
use super::bounds::WorkerGate;
use super::locations::NO_LOCATION;
use super::postings::{self, MINOR_GROUPS, posting_list, remove_posting};
use crate::error::MatchError;
use crate::ids::CompactId;
use crate::profile::{PackedExperience, WorkerCore, WorkerProfile};
use crate::score::WorkerView;
use crate::tables::Tables;

/// The fixed-size record of a worker slot (28 bytes).
#[derive(Debug, Clone, Copy)]
pub(super) struct WorkerSlot {
    pub(super) core: WorkerCore,
    /// Skills first, then experience, in `Workers::arena`.
    pub(super) arena_start: u32,
    pub(super) skill_count: u8,
    pub(super) experience_count: u8,
    pub(super) location: u16,
}

pub(super) const EMPTY_CORE: WorkerCore = WorkerCore {
    birth: 0,
    available_from: 0,
    expected_wage: f32::NAN,
    max_travel_km: f32::NAN,
    preferred_sectors: 0,
    province: 0,
    flags: 0,
};

#[derive(Default)]
pub(super) struct Workers {
    pub(super) ids: Vec<CompactId>,
    pub(super) slots: Vec<WorkerSlot>,
    pub(super) arena: Vec<u32>,
    /// Arena words no slot points at any more.
    pub(super) arena_garbage: usize,
    pub(super) free: Vec<u32>,
    pub(super) by_id: HashTable<u32>,
    pub(super) hasher: RandomState,
    /// By skill id: `slot << 8 | attributes`.
    pub(super) skill_postings: Vec<Vec<u32>>,
    /// By ISCO minor group: slots with experience in it.
    pub(super) minor_postings: Vec<Vec<u32>>,
    /// By slot: what selection checks before touching the slot record (see
    /// [`WorkerGate`]), 8 bytes a worker in a dense array.
    pub(super) gates: Vec<u64>,
    pub(super) live: usize,
}

impl Workers {
    pub(super) fn hash(hasher: &RandomState, id: &CompactId) -> u64 {
        hasher.hash_one(id)
    }

    pub(super) fn find(&self, id: &str) -> Option<u32> {
        let key = CompactId::new(id);
        let hash = Self::hash(&self.hasher, &key);
        self.by_id
            .find(hash, |&slot| self.ids[slot as usize] == key)
            .copied()
    }

    pub(super) fn view(&self, slot: u32) -> WorkerView<'_> {
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

    pub(super) fn minor_groups(tables: &Tables, experience: &[u32]) -> Vec<u16> {
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

    pub(super) fn compact_arena(&mut self) {
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

    pub(super) fn heap_bytes(&self) -> usize {
        let buckets = if self.by_id.capacity() == 0 {
            0
        } else {
            (self.by_id.capacity() * 8 / 7).next_power_of_two()
        };
        self.ids.capacity() * size_of::<CompactId>()
            + self.ids.iter().map(CompactId::heap_bytes).sum::<usize>()
            + self.slots.capacity() * size_of::<WorkerSlot>()
            + self.arena.capacity() * 4
            + self.gates.capacity() * 8
            + self.free.capacity() * 4
            + buckets * (size_of::<u32>() + 1)
            + postings::heap_bytes(&self.skill_postings)
            + postings::heap_bytes(&self.minor_postings)
    }

    pub(super) fn upsert(
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
    pub(super) fn update_skill_postings(&mut self, slot: u32, old: &[u32], new: &[u32]) {
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

    pub(super) fn write_arena(&mut self, slot: u32, skills: &[u32], experience: &[u32]) {
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

    pub(super) fn remove(&mut self, tables: &Tables, id: &str) -> bool {
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

    pub(super) fn shrink_to_fit(&mut self) {
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
