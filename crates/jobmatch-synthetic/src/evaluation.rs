//! The evaluation profile: the returnees and vacancies of the committed, labelled
//! evaluation set (`fixtures/eval/`; `jobmatch-eval` draws the queries and judges).
//!
//! Occupations come from eight sector groups by ISCO-08 code, weighted toward the work
//! returnees do: garment (7531–7536, 815x) 28 %, construction (711x–713x, 931x) 24 %,
//! manufacturing (72xx, 74xx, 81xx but 815x, 82xx, 932x) 20 %, then food processing,
//! agriculture, hospitality, transport and services. A few occupations of each group
//! are *focal* (most people and vacancies are in them, so each vacancy has a real
//! field of candidates); the rest of the group is the tail.
//!
//! A worker holds part of the essential skills of their main occupation (between a
//! third and all of them, at levels 1–4), a few optional ones, and sometimes skills of
//! a second occupation of the same ISCO minor group; their experience names those
//! occupations, mostly in Thailand. Homes are weighted toward the provinces that send
//! the most migrants, workplaces toward Phnom Penh, Kandal, the economic zones and the
//! border towns (the `evaluation` rows of `home_provinces.csv` and
//! `work_provinces.csv`). Ages, availability, travel range, relocation, expected wage
//! and status vary so that every feasibility rule of the judge has cases.
//!
//! The committed set depends on the order of every draw: change it and the set must
//! be regenerated and reviewed.

use chrono::{Days, NaiveDate, TimeDelta};
use jobmatch_domain::reference::{Occupation, OccupationId, SkillId};
use jobmatch_domain::resources::{
    Benefit, Experience, PreferredSkill, RequiredSkill, ReturnedFrom, Sex, VacancyInput,
    VacancyStatus, WorkerInput, WorkerSkill, WorkerStatus,
};
use jobmatch_domain::{Reference, Sector};

use crate::places::district_and_commune;
use crate::rng::Rng;
use crate::tables::{Profile, Tables};

/// The judging date of the committed set.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default()
}

struct Group {
    sector: Sector,
    /// ISCO-08 code prefixes that belong to the group.
    prefixes: &'static [&'static str],
    /// Prefixes left out (checked first).
    except: &'static [&'static str],
    weight: f64,
    focal: usize,
}

const GROUPS: &[Group] = &[
    Group {
        sector: Sector::Garment,
        prefixes: &["7531", "7532", "7533", "7534", "7535", "7536", "815"],
        except: &[],
        weight: 28.0,
        focal: 3,
    },
    Group {
        sector: Sector::Construction,
        prefixes: &["711", "712", "713", "931"],
        except: &[],
        weight: 24.0,
        focal: 3,
    },
    Group {
        sector: Sector::Production,
        prefixes: &["72", "74", "81", "82", "932"],
        except: &["815", "816"],
        weight: 20.0,
        focal: 3,
    },
    Group {
        sector: Sector::FoodProcessing,
        prefixes: &["751", "816"],
        except: &[],
        weight: 7.0,
        focal: 1,
    },
    Group {
        sector: Sector::Agriculture,
        prefixes: &["61", "92"],
        except: &[],
        weight: 7.0,
        focal: 1,
    },
    Group {
        sector: Sector::Hospitality,
        prefixes: &["512", "513", "941"],
        except: &[],
        weight: 7.0,
        focal: 1,
    },
    Group {
        sector: Sector::Transport,
        prefixes: &["83", "933"],
        except: &[],
        weight: 4.0,
        focal: 1,
    },
    Group {
        sector: Sector::Services,
        prefixes: &["911", "912", "515", "962"],
        except: &[],
        weight: 3.0,
        focal: 1,
    },
];

/// Share of people and vacancies in the focal occupations of their group.
const FOCAL_SHARE: f64 = 0.85;

/// Share of homes and workplaces given down to the district.
const DISTRICT_SHARE: f64 = 0.5;

fn in_group(occupation: &Occupation, group: &Group) -> bool {
    let code = occupation.isco_code.as_str();
    !group.except.iter().any(|prefix| code.starts_with(prefix))
        && group.prefixes.iter().any(|prefix| code.starts_with(prefix))
}

/// The occupations of each group: focal ones, then the tail.
pub struct Occupations {
    focal: Vec<Vec<OccupationId>>,
    tail: Vec<Vec<OccupationId>>,
}

impl Occupations {
    /// Chooses the focal occupations of each group: the first draws of the stream.
    pub fn new(reference: &Reference, rng: &mut Rng) -> Occupations {
        let all = reference.taxonomy.occupations();
        let mut focal = Vec::new();
        let mut tail = Vec::new();
        for group in GROUPS {
            let members: Vec<OccupationId> = all
                .iter()
                .enumerate()
                .filter(|(_, occupation)| {
                    in_group(occupation, group) && occupation.essential_skills.len() >= 4
                })
                .map(|(index, _)| OccupationId(index as u32))
                .collect();
            let chosen = rng.sample(&members, group.focal);
            tail.push(
                members
                    .iter()
                    .copied()
                    .filter(|member| !chosen.contains(member))
                    .collect(),
            );
            focal.push(chosen);
        }
        Occupations { focal, tail }
    }

    /// A group index and one of its occupations.
    fn draw(&self, rng: &mut Rng) -> (usize, OccupationId) {
        let weights: Vec<(usize, f64)> = GROUPS
            .iter()
            .enumerate()
            .map(|(index, group)| (index, group.weight))
            .collect();
        let group = *rng.weighted(&weights);
        let pool = if rng.chance(FOCAL_SHARE) || self.tail[group].is_empty() {
            &self.focal[group]
        } else {
            &self.tail[group]
        };
        (group, pool[rng.below(pool.len())])
    }

    /// Another occupation of the same ISCO minor group, if the group has one.
    fn neighbour(
        &self,
        reference: &Reference,
        rng: &mut Rng,
        group: usize,
        of: OccupationId,
    ) -> Option<OccupationId> {
        let taxonomy = &reference.taxonomy;
        let minor = |occupation: OccupationId| taxonomy.occupation(occupation).isco_code.get(..3);
        let neighbours: Vec<OccupationId> = self.focal[group]
            .iter()
            .chain(&self.tail[group])
            .copied()
            .filter(|other| *other != of && minor(*other).is_some() && minor(*other) == minor(of))
            .collect();
        (!neighbours.is_empty()).then(|| neighbours[rng.below(neighbours.len())])
    }
}

fn skill_uuid(reference: &Reference, skill: SkillId) -> String {
    reference.taxonomy.skill(skill).id.clone()
}

fn days_from(today: NaiveDate, offset: i64) -> NaiveDate {
    today
        .checked_add_signed(TimeDelta::days(offset))
        .unwrap_or(today)
}

/// One returnee of the evaluation set.
pub fn worker(reference: &Reference, occupations: &Occupations, rng: &mut Rng) -> WorkerInput {
    let taxonomy = &reference.taxonomy;
    let today = today();
    let (group, primary) = occupations.draw(rng);
    let main = taxonomy.occupation(primary);
    let mut chosen: Vec<SkillId> = Vec::new();
    // Between a third and all of the main occupation's essential skills, at most 12.
    let essentials = main.essential_skills.len();
    let share = 0.33 + 0.67 * rng.unit();
    let count = ((essentials as f64 * share).round() as usize).clamp(2, 12);
    chosen.extend(rng.sample(&main.essential_skills, count));
    let optional_count = rng.below(4);
    chosen.extend(rng.sample(&main.optional_skills, optional_count));
    let mut experience = vec![Experience {
        occupation: main.id.clone(),
        years: rng.between(1, 24) as f64 / 2.0,
        country: Some(if rng.chance(0.7) { "TH" } else { "KH" }.to_string()),
    }];
    if rng.chance(0.3)
        && let Some(second) = occupations.neighbour(reference, rng, group, primary)
    {
        let entry = taxonomy.occupation(second);
        let second_count = 1 + rng.below(3);
        chosen.extend(rng.sample(&entry.essential_skills, second_count));
        experience.push(Experience {
            occupation: entry.id.clone(),
            years: rng.between(1, 8) as f64 / 2.0,
            country: Some("TH".to_string()),
        });
    }
    chosen.sort_unstable();
    chosen.dedup();
    let skills = chosen
        .into_iter()
        .map(|skill| WorkerSkill {
            skill: skill_uuid(reference, skill),
            level: *rng.weighted(&[(1u8, 15.0), (2, 35.0), (3, 35.0), (4, 15.0)]),
            years: rng.chance(0.5).then(|| rng.between(1, 16) as f64 / 2.0),
            certified: rng.chance(0.15),
        })
        .collect();
    let province = *rng.weighted(&Tables::embedded().home_provinces(Profile::Evaluation));
    let (district_code, commune_code) =
        district_and_commune(reference, rng, province, DISTRICT_SHARE);
    // 6 % are 15 to 17: legal for most work, not for building sites.
    let age_days = if rng.chance(0.06) {
        rng.between(15 * 365 + 5, 18 * 365 - 5)
    } else {
        rng.between(18 * 365 + 5, 52 * 365)
    };
    let own_sector = GROUPS[group].sector;
    let mut preferred_sectors = Vec::new();
    if rng.chance(0.5) {
        preferred_sectors.push(own_sector);
    }
    if rng.chance(0.15) {
        let other = Sector::ALL[rng.below(Sector::ALL.len())];
        if !preferred_sectors.contains(&other) {
            preferred_sectors.push(other);
        }
    }
    let available_from = rng
        .chance(0.35)
        .then(|| days_from(today, rng.between(0, 150) as i64 - 30));
    let status = *rng.weighted(&[
        (WorkerStatus::Seeking, 88.0),
        (WorkerStatus::Placed, 7.0),
        (WorkerStatus::Inactive, 5.0),
    ]);
    WorkerInput {
        full_name: "Evaluation returnee".to_string(),
        sex: Some(if rng.chance(0.5) {
            Sex::Female
        } else {
            Sex::Male
        }),
        date_of_birth: today.checked_sub_days(Days::new(age_days)),
        phone: None,
        province_code: province.to_string(),
        district_code,
        commune_code,
        returned_from: Some(ReturnedFrom {
            country: "TH".to_string(),
            province_code: None,
            returned_on: None,
        }),
        experience,
        skills,
        preferred_sectors,
        max_travel_km: Some(*rng.weighted(&[
            (10.0, 2.0),
            (20.0, 3.0),
            (30.0, 3.0),
            (50.0, 2.0),
            (80.0, 2.0),
            (150.0, 1.0),
        ])),
        willing_to_relocate: rng.chance(0.4),
        expected_wage_usd: rng.chance(0.9).then(|| rng.between(18, 36) as f64 * 10.0),
        available_from,
        consent: None,
        status,
        external_id: None,
    }
}

/// One vacancy of `employer_id`.
pub fn vacancy(
    reference: &Reference,
    occupations: &Occupations,
    rng: &mut Rng,
    employer_id: &str,
) -> VacancyInput {
    let taxonomy = &reference.taxonomy;
    let today = today();
    let (group, chosen) = occupations.draw(rng);
    let occupation = taxonomy.occupation(chosen);
    let sector = GROUPS[group].sector;
    let required_count = 2 + rng.below(4);
    let required_skills = rng
        .sample(&occupation.essential_skills, required_count)
        .into_iter()
        .map(|skill| RequiredSkill {
            skill: skill_uuid(reference, skill),
            min_level: *rng.weighted(&[(1u8, 25.0), (2, 50.0), (3, 25.0)]),
        })
        .collect();
    let preferred_count = rng.below(3);
    let preferred_skills = rng
        .sample(&occupation.optional_skills, preferred_count)
        .into_iter()
        .map(|skill| PreferredSkill {
            skill: skill_uuid(reference, skill),
        })
        .collect();
    let province = *rng.weighted(&Tables::embedded().work_provinces(Profile::Evaluation));
    let (district_code, commune_code) =
        district_and_commune(reference, rng, province, DISTRICT_SHARE);
    let wage_min = rng.between(19, 30) as f64 * 10.0;
    let mut benefits = Vec::new();
    for (benefit, probability) in [
        (Benefit::Accommodation, 0.35),
        (Benefit::Transport, 0.3),
        (Benefit::Meals, 0.2),
    ] {
        if rng.chance(probability) {
            benefits.push(benefit);
        }
    }
    let status = *rng.weighted(&[
        (VacancyStatus::Open, 90.0),
        (VacancyStatus::Filled, 5.0),
        (VacancyStatus::Closed, 5.0),
    ]);
    let closes_on = if rng.chance(0.05) {
        Some(days_from(today, -(rng.between(1, 20) as i64)))
    } else if rng.chance(0.15) {
        Some(days_from(today, rng.between(10, 90) as i64))
    } else {
        None
    };
    let starts_on = rng
        .chance(0.85)
        .then(|| days_from(today, rng.between(0, 90) as i64 - 20));
    VacancyInput {
        employer_id: employer_id.to_string(),
        title: occupation.label.clone(),
        description: None,
        sector,
        occupation: rng.chance(0.9).then(|| occupation.id.clone()),
        province_code: province.to_string(),
        district_code,
        commune_code,
        positions: rng.between(1, 40) as u32,
        wage_min_usd: Some(wage_min),
        wage_max_usd: Some(wage_min + rng.between(0, 8) as f64 * 10.0),
        required_skills,
        preferred_skills,
        min_experience_years: rng.chance(0.35).then(|| rng.between(1, 3) as f64),
        min_age: (sector.is_hazardous() || rng.chance(0.1)).then_some(18),
        benefits,
        starts_on,
        closes_on,
        status,
        external_id: None,
    }
}
