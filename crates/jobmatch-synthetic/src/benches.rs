//! The benches profile: synthetic returnees and vacancies at national scale, as
//! domain documents with UUID-shaped ids, for the matching benchmarks and tests.
//!
//! Skill mixes are drawn from real ESCO occupations: a person's skills are a sample of
//! the essential and optional skills of one or two occupations they worked in, and a
//! vacancy asks for a sample of its occupation's essential skills. Occupations are
//! weighted toward the work Cambodian returnees from Thailand do
//! (`returnee_occupations.csv`: construction, garment, agriculture and fishing, food
//! processing, hospitality, driving, factory labour), with a small share spread over
//! every other occupation; homes toward the provinces that send the most migrants,
//! workplaces toward Phnom Penh, Kandal and the special economic zones (the
//! `benches` rows of `home_provinces.csv` and `work_provinces.csv`). All dates are
//! relative to [`today`].

use chrono::{Days, NaiveDate};
use jobmatch_domain::reference::{OccupationId, SkillId};
use jobmatch_domain::resources::{
    Benefit, Experience, PreferredSkill, RequiredSkill, ReturnedFrom, Sex, VacancyInput,
    VacancyStatus, WorkerInput, WorkerSkill, WorkerStatus,
};
use jobmatch_domain::{Reference, Sector};

use crate::places::district_and_commune;
use crate::rng::{Rng, Weighted};
use crate::tables::{Profile, Tables};

/// The date synthetic data is generated for; pass it as the queries' `today`.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap_or_default()
}

/// Share of all draws spread over the occupations not listed in
/// `returnee_occupations.csv`.
const TAIL_SHARE: f64 = 0.08;

/// Share of homes and workplaces given down to the district.
const DISTRICT_SHARE: f64 = 0.6;

/// The sector a vacancy in this ISCO unit group is most likely in.
pub fn sector_of_unit(unit: &str) -> Sector {
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| unit.starts_with(p));
    if starts(&["753", "815", "8153"]) {
        Sector::Garment
    } else if starts(&["71", "931"]) {
        Sector::Construction
    } else if starts(&["61", "62", "63", "92"]) {
        Sector::Agriculture
    } else if starts(&["751", "816"]) {
        Sector::FoodProcessing
    } else if starts(&["51", "94"]) {
        Sector::Hospitality
    } else if starts(&["83", "933"]) {
        Sector::Transport
    } else if starts(&["72", "73", "74", "75", "81", "82", "932"]) {
        Sector::Production
    } else if starts(&["52", "53", "54", "91", "95", "96"]) {
        Sector::Services
    } else {
        Sector::Other
    }
}

/// Occupation and place distributions, built once per reference.
pub struct Generator<'r> {
    reference: &'r Reference,
    occupations: Weighted<OccupationId>,
    homes: Weighted<&'static str>,
    workplaces: Weighted<&'static str>,
}

impl<'r> Generator<'r> {
    pub fn new(reference: &'r Reference) -> Generator<'r> {
        let tables = Tables::embedded();
        let returnee_units = &tables.returnee_units;
        let occupations = reference.taxonomy.occupations();
        let count_in_unit = |unit: &str| occupations.iter().filter(|o| o.isco_code == unit).count();
        let listed_total: f64 = returnee_units.iter().map(|(_, w)| w).sum();
        let tail_count = occupations
            .iter()
            .filter(|o| !returnee_units.iter().any(|(u, _)| *u == o.isco_code))
            .count()
            .max(1);
        let tail_weight = listed_total * TAIL_SHARE / (1.0 - TAIL_SHARE) / tail_count as f64;
        let weighted = occupations.iter().enumerate().map(|(index, occupation)| {
            let weight = match returnee_units
                .iter()
                .find(|(unit, _)| *unit == occupation.isco_code)
            {
                Some((unit, weight)) => weight / count_in_unit(unit) as f64,
                None => tail_weight,
            };
            (OccupationId(index as u32), weight)
        });
        Generator {
            reference,
            occupations: Weighted::new(weighted),
            homes: Weighted::new(tables.home_provinces(Profile::Benches)),
            workplaces: Weighted::new(tables.work_provinces(Profile::Benches)),
        }
    }

    fn skill_uuid(&self, skill: SkillId) -> String {
        self.reference.taxonomy.skill(skill).id.clone()
    }

    /// Between `low` and `high` distinct skills sampled from `pool`.
    fn sample(rng: &mut Rng, pool: &[SkillId], low: u64, high: u64) -> Vec<SkillId> {
        let count = rng.between(low, high) as usize;
        rng.sample(pool, count)
    }

    /// One synthetic returnee.
    pub fn worker(&self, rng: &mut Rng) -> WorkerInput {
        let taxonomy = &self.reference.taxonomy;
        let today = today();
        let primary = self.occupations.draw(rng);
        let secondary = rng.chance(0.35).then(|| self.occupations.draw(rng));
        let mut experience = vec![Experience {
            occupation: taxonomy.occupation(primary).id.clone(),
            years: rng.between(1, 20) as f64 / 2.0,
            country: Some(if rng.chance(0.75) { "TH" } else { "KH" }.to_string()),
        }];
        let mut chosen: Vec<SkillId> = Vec::new();
        let main = taxonomy.occupation(primary);
        chosen.extend(Self::sample(rng, &main.essential_skills, 3, 8));
        chosen.extend(Self::sample(rng, &main.optional_skills, 0, 3));
        if let Some(other) = secondary {
            let entry = taxonomy.occupation(other);
            experience.push(Experience {
                occupation: entry.id.clone(),
                years: rng.between(1, 10) as f64 / 2.0,
                country: Some("TH".to_string()),
            });
            chosen.extend(Self::sample(rng, &entry.essential_skills, 1, 3));
        }
        chosen.sort_unstable();
        chosen.dedup();
        let skills = chosen
            .into_iter()
            .map(|skill| WorkerSkill {
                skill: self.skill_uuid(skill),
                level: [1, 2, 2, 3, 3, 4][rng.below(6)],
                years: rng.chance(0.5).then(|| rng.between(0, 16) as f64 / 2.0),
                certified: rng.chance(0.12),
            })
            .collect();
        let province = self.homes.draw(rng);
        let (district_code, commune_code) =
            district_and_commune(self.reference, rng, province, DISTRICT_SHARE);
        let age_days = rng.between(16 * 365 + 10, 55 * 365);
        let mut preferred_sectors = Vec::new();
        if rng.chance(0.5) {
            preferred_sectors.push(sector_of_unit(&main.isco_code));
        }
        if rng.chance(0.2) {
            let other = Sector::ALL[rng.below(Sector::ALL.len())];
            if !preferred_sectors.contains(&other) {
                preferred_sectors.push(other);
            }
        }
        let available_from = rng.chance(0.4).then(|| {
            let offset = rng.between(0, 120) as i64 - 30;
            today
                .checked_add_signed(chrono::TimeDelta::days(offset))
                .unwrap_or(today)
        });
        let status = match rng.below(20) {
            0..=16 => WorkerStatus::Seeking,
            17 | 18 => WorkerStatus::Placed,
            _ => WorkerStatus::Inactive,
        };
        WorkerInput {
            full_name: "Synthetic returnee".to_string(),
            sex: Some(if rng.chance(0.45) {
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
            max_travel_km: rng.chance(0.8).then(|| rng.between(5, 80) as f64),
            willing_to_relocate: rng.chance(0.3),
            expected_wage_usd: rng.chance(0.85).then(|| rng.between(18, 38) as f64 * 10.0),
            available_from,
            consent: None,
            status,
            external_id: None,
        }
    }

    /// One synthetic vacancy of `employer_id`.
    pub fn vacancy(&self, rng: &mut Rng, employer_id: &str) -> VacancyInput {
        let taxonomy = &self.reference.taxonomy;
        let today = today();
        let occupation = taxonomy.occupation(self.occupations.draw(rng));
        let sector = sector_of_unit(&occupation.isco_code);
        let required = Self::sample(rng, &occupation.essential_skills, 2, 6)
            .into_iter()
            .map(|skill| RequiredSkill {
                skill: self.skill_uuid(skill),
                min_level: [1, 2, 2, 2, 3][rng.below(5)],
            })
            .collect();
        let preferred = Self::sample(rng, &occupation.optional_skills, 0, 3)
            .into_iter()
            .map(|skill| PreferredSkill {
                skill: self.skill_uuid(skill),
            })
            .collect();
        let province = self.workplaces.draw(rng);
        let (district_code, commune_code) =
            district_and_commune(self.reference, rng, province, DISTRICT_SHARE);
        let wage_min = rng.between(18, 30) as f64 * 10.0;
        let mut benefits = Vec::new();
        for (benefit, probability) in [
            (Benefit::Accommodation, 0.3),
            (Benefit::Transport, 0.3),
            (Benefit::Meals, 0.2),
            (Benefit::SocialSecurity, 0.4),
        ] {
            if rng.chance(probability) {
                benefits.push(benefit);
            }
        }
        let status = match rng.below(25) {
            0..=22 => VacancyStatus::Open,
            23 => VacancyStatus::Filled,
            _ => VacancyStatus::Closed,
        };
        VacancyInput {
            employer_id: employer_id.to_string(),
            title: occupation.label.clone(),
            description: None,
            sector,
            occupation: rng.chance(0.9).then(|| occupation.id.clone()),
            province_code: province.to_string(),
            district_code,
            commune_code,
            positions: rng.between(1, 50) as u32,
            wage_min_usd: Some(wage_min),
            wage_max_usd: Some(wage_min + rng.between(0, 8) as f64 * 10.0),
            required_skills: required,
            preferred_skills: preferred,
            min_experience_years: rng.chance(0.4).then(|| rng.between(1, 6) as f64 / 2.0),
            min_age: (sector.is_hazardous() || rng.chance(0.2)).then_some(18),
            benefits,
            starts_on: rng
                .chance(0.8)
                .then(|| today.checked_add_days(Days::new(rng.between(0, 60))))
                .flatten(),
            closes_on: None,
            status,
            external_id: None,
        }
    }
}

/// `n` synthetic returnees with UUID-shaped ids, deterministic in `seed`.
pub fn workers(
    n: usize,
    seed: u64,
    reference: &Reference,
) -> impl Iterator<Item = (String, WorkerInput)> + '_ {
    let generator = Generator::new(reference);
    let mut rng = Rng::new(seed);
    (0..n).map(move |_| {
        let id = rng.uuid();
        (id, generator.worker(&mut rng))
    })
}

/// `n` synthetic vacancies from `n / 20 + 1` employers, deterministic in `seed`.
pub fn vacancies(
    n: usize,
    seed: u64,
    reference: &Reference,
) -> impl Iterator<Item = (String, VacancyInput)> + '_ {
    let generator = Generator::new(reference);
    let mut rng = Rng::new(seed.wrapping_add(1));
    let employers: Vec<String> = (0..n / 20 + 1).map(|_| rng.uuid()).collect();
    (0..n).map(move |_| {
        let id = rng.uuid();
        let employer = &employers[rng.below(employers.len())];
        (id, generator.vacancy(&mut rng, employer))
    })
}
