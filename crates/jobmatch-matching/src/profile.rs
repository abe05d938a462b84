//! Compact profiles: what matching needs of a worker or a vacancy, resolved against the
//! reference data (dense skill and occupation ids, coordinates) and packed small.
//!
//! A worker's skills and past occupations are each packed into one `u32`, so that the
//! index can keep a million of them in a shared arena and copy their attributes into
//! posting lists. Dates are stored as days since the common era; missing numbers as
//! NaN. Ages are not stored: the date of birth is, and the age is taken on the `today`
//! of each query, so a long-running index never goes stale.

use chrono::{Datelike, NaiveDate};
use jobmatch_domain::reference::{OccupationId, SkillId};
use jobmatch_domain::resources::{
    Benefit, MIN_HAZARDOUS_WORK_AGE, MIN_WORKING_AGE, VacancyInput, VacancyStatus, WorkerInput,
    WorkerStatus,
};
use jobmatch_domain::{Reference, Sector};

use crate::tables::IscoUnit;

/// Stand-in for a date that was not given.
pub(crate) const NO_DATE: i32 = i32::MIN;

pub(crate) fn days(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

pub(crate) fn date(days: i32) -> Option<NaiveDate> {
    if days == NO_DATE {
        None
    } else {
        NaiveDate::from_num_days_from_ce_opt(days)
    }
}

fn optional_days(date: Option<NaiveDate>) -> i32 {
    date.map_or(NO_DATE, days)
}

fn optional_f32(value: Option<f64>) -> f32 {
    value
        .filter(|v| v.is_finite())
        .map_or(f32::NAN, |v| v as f32)
}

fn some_f32(value: f32) -> Option<f64> {
    (!value.is_nan()).then_some(f64::from(value))
}

/// NCDD province codes are `01`–`25`; 0 stands for an unreadable code.
pub(crate) fn province_number(code: &str) -> u8 {
    code.trim().parse::<u8>().unwrap_or(0)
}

pub(crate) fn sector_bit(sector: Sector) -> u16 {
    let position = Sector::ALL
        .iter()
        .position(|s| *s == sector)
        .unwrap_or(Sector::ALL.len() - 1);
    1 << position
}

/// A skill a person holds, packed: `skill id << 8 | years << 3 | certified << 2 |
/// (level - 1)`. Ordering follows the skill id, so a sorted list can be merged with a
/// vacancy's. The low byte ([`PackedSkill::attributes`]) is what posting lists copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackedSkill(pub(crate) u32);

/// Most skill ids a packed value can carry (24 bits); ESCO has about 14,000.
pub(crate) const MAX_PACKED_ID: u32 = (1 << 24) - 1;

impl PackedSkill {
    /// `level` is clamped to 1–4, `years` rounded and saturated at 31.
    pub fn new(skill: SkillId, level: u8, certified: bool, years: Option<f64>) -> PackedSkill {
        let level_bits = u32::from(level.clamp(1, 4) - 1);
        let years_bits = years
            .filter(|y| y.is_finite() && *y > 0.0)
            .map_or(0, |y| y.round().min(31.0) as u32);
        PackedSkill(
            (skill.0.min(MAX_PACKED_ID) << 8)
                | (years_bits << 3)
                | (u32::from(certified) << 2)
                | level_bits,
        )
    }

    pub fn skill(self) -> SkillId {
        SkillId(self.0 >> 8)
    }

    /// Level 1–4.
    pub fn level(self) -> u8 {
        attribute_level(self.attributes())
    }

    pub fn certified(self) -> bool {
        attribute_certified(self.attributes())
    }

    /// Whole years of practice, 0–31.
    pub fn years(self) -> u8 {
        self.attributes() >> 3
    }

    pub(crate) fn attributes(self) -> u8 {
        (self.0 & 0xff) as u8
    }
}

pub(crate) fn attribute_level(attributes: u8) -> u8 {
    (attributes & 0b11) + 1
}

pub(crate) fn attribute_certified(attributes: u8) -> bool {
    attributes & 0b100 != 0
}

pub(crate) fn attribute_years(attributes: u8) -> u8 {
    attributes >> 3
}

/// Past work in one occupation, packed: `occupation id << 8 | quarter-years` (so up to
/// 63.75 years). Experience abroad counts like experience at home.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackedExperience(pub(crate) u32);

impl PackedExperience {
    pub fn new(occupation: OccupationId, years: f64) -> PackedExperience {
        let quarters = if years.is_finite() && years > 0.0 {
            (years * 4.0).round().min(255.0) as u32
        } else {
            0
        };
        PackedExperience((occupation.0.min(MAX_PACKED_ID) << 8) | quarters)
    }

    pub fn occupation(self) -> OccupationId {
        OccupationId(self.0 >> 8)
    }

    pub fn years(self) -> f64 {
        f64::from(self.0 & 0xff) / 4.0
    }
}

pub(crate) const FLAG_SEEKING: u8 = 1;
pub(crate) const FLAG_RELOCATE: u8 = 2;
pub(crate) const FLAG_PLACED: u8 = 4;

/// The fixed-size part of a worker profile: everything but skills, experience and
/// the place (20 bytes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct WorkerCore {
    pub(crate) birth: i32,
    pub(crate) available_from: i32,
    /// Monthly USD, NaN when not given.
    pub(crate) expected_wage: f32,
    /// Kilometres, NaN when not given (then [`crate::DEFAULT_MAX_TRAVEL_KM`] applies).
    pub(crate) max_travel_km: f32,
    /// One bit per [`Sector::ALL`] position.
    pub(crate) preferred_sectors: u16,
    pub(crate) province: u8,
    pub(crate) flags: u8,
}

impl WorkerCore {
    pub(crate) fn seeking(&self) -> bool {
        self.flags & FLAG_SEEKING != 0
    }

    pub(crate) fn willing_to_relocate(&self) -> bool {
        self.flags & FLAG_RELOCATE != 0
    }

    pub(crate) fn status(&self) -> WorkerStatus {
        if self.seeking() {
            WorkerStatus::Seeking
        } else if self.flags & FLAG_PLACED != 0 {
            WorkerStatus::Placed
        } else {
            WorkerStatus::Inactive
        }
    }
}

/// A returnee as matching sees them. Build with [`WorkerProfile::from_input`];
/// skills and occupations the taxonomy does not know are left out (the API validates
/// them on the way in, so only a record from an older taxonomy can have any).
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerProfile {
    pub(crate) id: String,
    pub(crate) core: WorkerCore,
    pub(crate) coordinates: Option<(f64, f64)>,
    /// [`PackedSkill`] values, sorted by skill id, one per skill.
    pub(crate) skills: Vec<u32>,
    /// [`PackedExperience`] values.
    pub(crate) experience: Vec<u32>,
}

impl WorkerProfile {
    pub fn from_input(id: &str, input: &WorkerInput, reference: &Reference) -> WorkerProfile {
        let taxonomy = &reference.taxonomy;
        let mut skills: Vec<PackedSkill> = input
            .skills
            .iter()
            .filter_map(|skill| {
                let id = taxonomy.skill_id(&skill.skill)?;
                Some(PackedSkill::new(
                    id,
                    skill.level,
                    skill.certified,
                    skill.years,
                ))
            })
            .collect();
        skills.sort_unstable();
        // A skill listed twice keeps its best entry (highest packed attributes last).
        skills.reverse();
        skills.dedup_by_key(|skill| skill.skill());
        skills.reverse();
        skills.truncate(u8::MAX as usize);
        let skills = skills.into_iter().map(|skill| skill.0).collect();
        let mut experience: Vec<PackedExperience> = input
            .experience
            .iter()
            .filter_map(|entry| {
                let id = taxonomy.occupation_id(&entry.occupation)?;
                Some(PackedExperience::new(id, entry.years))
            })
            .collect();
        experience.truncate(u8::MAX as usize);
        let experience = experience.into_iter().map(|entry| entry.0).collect();
        let mut flags = 0;
        match input.status {
            WorkerStatus::Seeking => flags |= FLAG_SEEKING,
            WorkerStatus::Placed => flags |= FLAG_PLACED,
            WorkerStatus::Inactive => {}
        }
        if input.willing_to_relocate {
            flags |= FLAG_RELOCATE;
        }
        WorkerProfile {
            id: id.to_string(),
            core: WorkerCore {
                birth: optional_days(input.date_of_birth),
                available_from: optional_days(input.available_from),
                expected_wage: optional_f32(input.expected_wage_usd),
                max_travel_km: optional_f32(input.max_travel_km),
                preferred_sectors: input
                    .preferred_sectors
                    .iter()
                    .fold(0, |bits, sector| bits | sector_bit(*sector)),
                province: province_number(&input.province_code),
                flags,
            },
            coordinates: reference.gazetteer.coordinates(
                &input.province_code,
                input.district_code.as_deref(),
                input.commune_code.as_deref(),
            ),
            skills,
            experience,
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// In skill id order.
    pub fn skills(&self) -> impl ExactSizeIterator<Item = PackedSkill> + '_ {
        self.skills.iter().map(|word| PackedSkill(*word))
    }

    pub fn experience(&self) -> impl ExactSizeIterator<Item = PackedExperience> + '_ {
        self.experience.iter().map(|word| PackedExperience(*word))
    }

    /// Years of work in every occupation together, at home and abroad.
    pub fn total_experience_years(&self) -> f64 {
        self.experience().map(|entry| entry.years()).sum()
    }

    /// Years of work in one occupation (entries for it added up).
    pub fn years_in(&self, occupation: OccupationId) -> f64 {
        self.experience()
            .filter(|entry| entry.occupation() == occupation)
            .map(|entry| entry.years())
            .sum()
    }

    /// `(lat, lon)` of home at the finest level the gazetteer knows; `None` if the
    /// address codes do not nest.
    pub fn coordinates(&self) -> Option<(f64, f64)> {
        self.coordinates
    }

    pub fn max_travel_km(&self) -> Option<f64> {
        some_f32(self.core.max_travel_km)
    }

    pub fn willing_to_relocate(&self) -> bool {
        self.core.willing_to_relocate()
    }

    pub fn expected_wage_usd(&self) -> Option<f64> {
        some_f32(self.core.expected_wage)
    }

    pub fn date_of_birth(&self) -> Option<NaiveDate> {
        date(self.core.birth)
    }

    /// Age in whole years on `today`; `None` without a date of birth.
    pub fn age_on(&self, today: NaiveDate) -> Option<u32> {
        age_on(self.core.birth, today)
    }

    pub fn available_from(&self) -> Option<NaiveDate> {
        date(self.core.available_from)
    }

    pub fn status(&self) -> WorkerStatus {
        self.core.status()
    }

    pub fn preferred_sectors(&self) -> Vec<Sector> {
        Sector::ALL
            .into_iter()
            .filter(|sector| self.core.preferred_sectors & sector_bit(*sector) != 0)
            .collect()
    }
}

pub(crate) fn age_on(birth: i32, today: NaiveDate) -> Option<u32> {
    today.years_since(date(birth)?)
}

/// A vacancy's required skill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Requirement {
    pub skill: SkillId,
    /// 1–4.
    pub min_level: u8,
}

/// A vacancy as matching sees it. Vacancies are 10 times fewer than workers and are
/// kept as they are, without packing.
#[derive(Debug, Clone, PartialEq)]
pub struct VacancyProfile {
    pub(crate) id: String,
    pub(crate) employer_id: String,
    /// Sorted by skill id, one entry per skill.
    pub(crate) required: Vec<Requirement>,
    /// Sorted by skill id, one entry per skill.
    pub(crate) preferred: Vec<SkillId>,
    pub(crate) occupation: Option<OccupationId>,
    pub(crate) isco_unit: Option<IscoUnit>,
    pub(crate) min_experience_years: Option<f64>,
    pub(crate) min_age: u8,
    pub(crate) wage_min_usd: Option<f64>,
    pub(crate) wage_max_usd: Option<f64>,
    pub(crate) accommodation: bool,
    pub(crate) coordinates: Option<(f64, f64)>,
    pub(crate) status: VacancyStatus,
    pub(crate) starts_on: Option<NaiveDate>,
    pub(crate) closes_on: Option<NaiveDate>,
    /// `starts_on` and `closes_on` in days, [`NO_DATE`] when absent.
    pub(crate) starts_days: i32,
    pub(crate) closes_days: i32,
    pub(crate) sector: Sector,
    pub(crate) province: u8,
    pub(crate) province_code: String,
}

impl VacancyProfile {
    pub fn from_input(id: &str, input: &VacancyInput, reference: &Reference) -> VacancyProfile {
        let taxonomy = &reference.taxonomy;
        let mut required: Vec<Requirement> = input
            .required_skills
            .iter()
            .filter_map(|required| {
                Some(Requirement {
                    skill: taxonomy.skill_id(&required.skill)?,
                    min_level: required.min_level.clamp(1, 4),
                })
            })
            .collect();
        // Listed twice: the higher level stands.
        required.sort_unstable_by(|a, b| a.skill.cmp(&b.skill).then(b.min_level.cmp(&a.min_level)));
        required.dedup_by_key(|requirement| requirement.skill);
        let mut preferred: Vec<SkillId> = input
            .preferred_skills
            .iter()
            .filter_map(|preferred| taxonomy.skill_id(&preferred.skill))
            .collect();
        preferred.sort_unstable();
        preferred.dedup();
        let occupation = input
            .occupation
            .as_deref()
            .and_then(|occupation| taxonomy.occupation_id(occupation));
        let floor = if input.sector.is_hazardous() {
            MIN_HAZARDOUS_WORK_AGE
        } else {
            MIN_WORKING_AGE
        };
        VacancyProfile {
            id: id.to_string(),
            employer_id: input.employer_id.clone(),
            required,
            preferred,
            occupation,
            isco_unit: occupation.map(|occupation| IscoUnit::of(reference, occupation)),
            min_experience_years: input
                .min_experience_years
                .filter(|years| years.is_finite() && *years > 0.0),
            min_age: input.min_age.unwrap_or(floor).max(floor),
            wage_min_usd: input.wage_min_usd.filter(|w| w.is_finite()),
            wage_max_usd: input.wage_max_usd.filter(|w| w.is_finite()),
            accommodation: input.benefits.contains(&Benefit::Accommodation),
            coordinates: reference.gazetteer.coordinates(
                &input.province_code,
                input.district_code.as_deref(),
                input.commune_code.as_deref(),
            ),
            status: input.status,
            starts_on: input.starts_on,
            closes_on: input.closes_on,
            starts_days: optional_days(input.starts_on),
            closes_days: optional_days(input.closes_on),
            sector: input.sector,
            province: province_number(&input.province_code),
            province_code: input.province_code.trim().to_string(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn employer_id(&self) -> &str {
        &self.employer_id
    }

    /// Sorted by skill id.
    pub fn required_skills(&self) -> &[Requirement] {
        &self.required
    }

    /// Sorted by skill id.
    pub fn preferred_skills(&self) -> &[SkillId] {
        &self.preferred
    }

    pub fn occupation(&self) -> Option<OccupationId> {
        self.occupation
    }

    pub fn isco_unit(&self) -> Option<IscoUnit> {
        self.isco_unit
    }

    pub fn min_experience_years(&self) -> Option<f64> {
        self.min_experience_years
    }

    /// The effective minimum age: the vacancy's, raised to 18 for hazardous work and to
    /// 15 otherwise.
    pub fn min_age(&self) -> u8 {
        self.min_age
    }

    pub fn wage_range_usd(&self) -> (Option<f64>, Option<f64>) {
        (self.wage_min_usd, self.wage_max_usd)
    }

    pub fn offers_accommodation(&self) -> bool {
        self.accommodation
    }

    pub fn coordinates(&self) -> Option<(f64, f64)> {
        self.coordinates
    }

    pub fn status(&self) -> VacancyStatus {
        self.status
    }

    pub fn starts_on(&self) -> Option<NaiveDate> {
        self.starts_on
    }

    pub fn sector(&self) -> Sector {
        self.sector
    }

    pub fn province_code(&self) -> &str {
        &self.province_code
    }

    /// Neither skills nor an occupation: anyone may be a candidate.
    pub(crate) fn unspecified(&self) -> bool {
        self.required.is_empty() && self.preferred.is_empty() && self.occupation.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_skill_round_trips_its_parts() {
        let packed = PackedSkill::new(SkillId(7000), 3, true, Some(4.4));
        assert_eq!(packed.skill(), SkillId(7000));
        assert_eq!(
            (packed.level(), packed.certified(), packed.years()),
            (3, true, 4)
        );
        let saturated = PackedSkill::new(SkillId(1), 9, false, Some(50.0));
        assert_eq!((saturated.level(), saturated.years()), (4, 31));
    }

    #[test]
    fn packed_experience_keeps_quarter_years() {
        let packed = PackedExperience::new(OccupationId(900), 2.3);
        assert_eq!(packed.occupation(), OccupationId(900));
        assert_eq!(packed.years(), 2.25);
    }
}
