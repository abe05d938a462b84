//! Making the evaluation set from the reference data: returnees and vacancies built
//! from real ESCO occupation–skill relations and NCDD places, then judged.
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
//! border towns. Ages, availability, travel range, relocation, expected wage and status
//! vary so that every feasibility rule of the judge has cases. Everything is drawn from
//! one SplitMix64 seeded with [`SEED`]: the same program gives the same files.
//!
//! Queries are drawn in a fixed shuffled order from the open vacancies and the seeking
//! workers, keeping those with at least one good (grade ≥ 2) match in the pool, so that
//! nDCG is defined for each.

use std::collections::HashMap;

use chrono::{Days, NaiveDate, TimeDelta};
use jobmatch_domain::reference::{Occupation, OccupationId, SkillId};
use jobmatch_domain::resources::{
    Benefit, Experience, PreferredSkill, RequiredSkill, ReturnedFrom, Sex, VacancyInput,
    VacancyStatus, WorkerInput, WorkerSkill, WorkerStatus,
};
use jobmatch_domain::{Reference, Sector};
use jobmatch_matching::synthetic::Rng;

use crate::dataset::{Dataset, Direction, Label, Manifest, Query};
use crate::judge::{judge, validated};

/// Seed of the committed set.
pub const SEED: u64 = 20_260_302;
pub const WORKERS: usize = 320;
pub const VACANCIES: usize = 240;
pub const EMPLOYERS: usize = 24;
/// Queries in each direction.
pub const QUERIES: usize = 80;

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

const HOME_PROVINCES: &[(&str, f64)] = &[
    ("01", 12.0),
    ("02", 10.0),
    ("14", 9.0),
    ("03", 8.0),
    ("17", 8.0),
    ("12", 8.0),
    ("08", 8.0),
    ("20", 5.0),
    ("22", 4.0),
    ("06", 4.0),
    ("05", 4.0),
    ("21", 4.0),
    ("25", 4.0),
    ("15", 3.0),
    ("13", 2.0),
    ("18", 2.0),
    ("04", 2.0),
    ("07", 1.0),
    ("09", 1.0),
    ("10", 1.0),
    ("11", 1.0),
    ("16", 1.0),
    ("19", 1.0),
    ("23", 1.0),
    ("24", 1.0),
];

const WORK_PROVINCES: &[(&str, f64)] = &[
    ("12", 25.0),
    ("08", 12.0),
    ("18", 8.0),
    ("01", 8.0),
    ("02", 6.0),
    ("20", 6.0),
    ("17", 6.0),
    ("03", 5.0),
    ("05", 5.0),
    ("14", 4.0),
    ("06", 2.0),
    ("21", 2.0),
    ("25", 2.0),
    ("22", 2.0),
    ("15", 2.0),
    ("04", 1.0),
    ("09", 1.0),
    ("13", 1.0),
];

fn draw<T: Copy>(rng: &mut Rng, items: &[(T, f64)]) -> T {
    let total: f64 = items.iter().map(|(_, weight)| weight).sum();
    let mut target = rng.unit() * total;
    for (item, weight) in items {
        if target < *weight {
            return *item;
        }
        target -= weight;
    }
    items[items.len() - 1].0
}

/// `count` distinct items of `pool`, in a random order.
fn sample<T: Copy>(rng: &mut Rng, pool: &[T], count: usize) -> Vec<T> {
    let mut pool = pool.to_vec();
    let count = count.min(pool.len());
    for i in 0..count {
        let j = i + rng.below(pool.len() - i);
        pool.swap(i, j);
    }
    pool.truncate(count);
    pool
}

fn in_group(occupation: &Occupation, group: &Group) -> bool {
    let code = occupation.isco_code.as_str();
    !group.except.iter().any(|prefix| code.starts_with(prefix))
        && group.prefixes.iter().any(|prefix| code.starts_with(prefix))
}

/// The occupations of each group: focal ones, then the tail.
struct Occupations {
    focal: Vec<Vec<OccupationId>>,
    tail: Vec<Vec<OccupationId>>,
}

impl Occupations {
    fn new(reference: &Reference, rng: &mut Rng) -> Occupations {
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
            let chosen = sample(rng, &members, group.focal);
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
        let group = draw(rng, &weights);
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

fn place(reference: &Reference, rng: &mut Rng, province: &str) -> (Option<String>, Option<String>) {
    let gazetteer = &reference.gazetteer;
    if !rng.chance(0.5) {
        return (None, None);
    }
    let districts = gazetteer.districts_of(province);
    if districts.is_empty() {
        return (None, None);
    }
    let district = districts[rng.below(districts.len())];
    let communes = gazetteer.communes_of(&district.code);
    let commune = (!communes.is_empty() && rng.chance(0.5))
        .then(|| communes[rng.below(communes.len())].code.clone());
    (Some(district.code.clone()), commune)
}

fn days_from(today: NaiveDate, offset: i64) -> NaiveDate {
    today
        .checked_add_signed(TimeDelta::days(offset))
        .unwrap_or(today)
}

fn worker(reference: &Reference, occupations: &Occupations, rng: &mut Rng) -> WorkerInput {
    let taxonomy = &reference.taxonomy;
    let today = today();
    let (group, primary) = occupations.draw(rng);
    let main = taxonomy.occupation(primary);
    let mut chosen: Vec<SkillId> = Vec::new();
    // Between a third and all of the main occupation's essential skills, at most 12.
    let essentials = main.essential_skills.len();
    let share = 0.33 + 0.67 * rng.unit();
    let count = ((essentials as f64 * share).round() as usize).clamp(2, 12);
    chosen.extend(sample(rng, &main.essential_skills, count));
    let optional_count = rng.below(4);
    chosen.extend(sample(rng, &main.optional_skills, optional_count));
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
        chosen.extend(sample(rng, &entry.essential_skills, second_count));
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
            level: draw(rng, &[(1u8, 15.0), (2, 35.0), (3, 35.0), (4, 15.0)]),
            years: rng.chance(0.5).then(|| rng.between(1, 16) as f64 / 2.0),
            certified: rng.chance(0.15),
        })
        .collect();
    let province = draw(rng, HOME_PROVINCES);
    let (district_code, commune_code) = place(reference, rng, province);
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
    let status = draw(
        rng,
        &[
            (WorkerStatus::Seeking, 88.0),
            (WorkerStatus::Placed, 7.0),
            (WorkerStatus::Inactive, 5.0),
        ],
    );
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
        max_travel_km: Some(draw(
            rng,
            &[
                (10.0, 2.0),
                (20.0, 3.0),
                (30.0, 3.0),
                (50.0, 2.0),
                (80.0, 2.0),
                (150.0, 1.0),
            ],
        )),
        willing_to_relocate: rng.chance(0.4),
        expected_wage_usd: rng.chance(0.9).then(|| rng.between(18, 36) as f64 * 10.0),
        available_from,
        consent: None,
        status,
        external_id: None,
    }
}

fn vacancy(
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
    let required_skills = sample(rng, &occupation.essential_skills, required_count)
        .into_iter()
        .map(|skill| RequiredSkill {
            skill: skill_uuid(reference, skill),
            min_level: draw(rng, &[(1u8, 25.0), (2, 50.0), (3, 25.0)]),
        })
        .collect();
    let preferred_count = rng.below(3);
    let preferred_skills = sample(rng, &occupation.optional_skills, preferred_count)
        .into_iter()
        .map(|skill| PreferredSkill {
            skill: skill_uuid(reference, skill),
        })
        .collect();
    let province = draw(rng, WORK_PROVINCES);
    let (district_code, commune_code) = place(reference, rng, province);
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
    let status = draw(
        rng,
        &[
            (VacancyStatus::Open, 90.0),
            (VacancyStatus::Filled, 5.0),
            (VacancyStatus::Closed, 5.0),
        ],
    );
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

/// The evaluation set: people, vacancies, queries, and every judgement above 0 or
/// infeasible.
pub fn generate(reference: &Reference) -> Dataset {
    let today = today();
    let mut rng = Rng::new(SEED);
    let occupations = Occupations::new(reference, &mut rng);
    let workers: Vec<(String, WorkerInput)> = (1..=WORKERS)
        .map(|n| {
            let input = worker(reference, &occupations, &mut rng);
            (format!("w{n:03}"), validated(input, reference, "worker"))
        })
        .collect();
    let employers: Vec<String> = (1..=EMPLOYERS)
        .map(|n| format!("employer-{n:02}"))
        .collect();
    let vacancies: Vec<(String, VacancyInput)> = (1..=VACANCIES)
        .map(|n| {
            let employer = &employers[rng.below(employers.len())];
            let input = vacancy(reference, &occupations, &mut rng, employer);
            (format!("v{n:03}"), validated(input, reference, "vacancy"))
        })
        .collect();

    let mut queries = Vec::new();
    let mut labels = HashMap::new();
    for direction in Direction::BOTH {
        let subjects: Vec<usize> = match direction {
            Direction::Candidates => (0..vacancies.len()).collect(),
            Direction::Vacancies => (0..workers.len()).collect(),
        };
        let order = sample(&mut rng, &subjects, subjects.len());
        let prefix = match direction {
            Direction::Candidates => "c",
            Direction::Vacancies => "r",
        };
        for subject in order {
            if queries
                .iter()
                .filter(|q: &&Query| q.direction == direction)
                .count()
                == QUERIES
            {
                break;
            }
            let query_id = format!(
                "{prefix}{:02}",
                queries
                    .iter()
                    .filter(|q: &&Query| q.direction == direction)
                    .count()
                    + 1
            );
            let judged: Vec<(String, Label)> = match direction {
                Direction::Candidates => {
                    let (_, vacancy) = &vacancies[subject];
                    workers
                        .iter()
                        .map(|(id, worker)| (id.clone(), label(worker, vacancy, reference)))
                        .collect()
                }
                Direction::Vacancies => {
                    let (_, worker) = &workers[subject];
                    vacancies
                        .iter()
                        .map(|(id, vacancy)| (id.clone(), label(worker, vacancy, reference)))
                        .collect()
                }
            };
            // Only a query with something good to find can measure a ranking; a
            // vacancy not open or a person not seeking has nothing feasible at all.
            if !judged.iter().any(|(_, label)| label.grade >= 2) {
                continue;
            }
            for (item, label) in judged {
                if label.grade > 0 || !label.infeasible.is_empty() {
                    labels.insert((query_id.clone(), item), label);
                }
            }
            queries.push(Query {
                id: query_id,
                direction,
                subject: match direction {
                    Direction::Candidates => vacancies[subject].0.clone(),
                    Direction::Vacancies => workers[subject].0.clone(),
                },
            });
        }
    }

    Dataset {
        manifest: Manifest {
            today,
            workers: workers.len(),
            vacancies: vacancies.len(),
            queries: queries.len(),
            generator: format!(
                "cargo run -p jobmatch-eval --release -- generate --out fixtures/eval (seed {SEED})"
            ),
        },
        workers,
        vacancies,
        queries,
        labels,
    }
}

fn label(worker: &WorkerInput, vacancy: &VacancyInput, reference: &Reference) -> Label {
    let verdict = judge(worker, vacancy, reference, today());
    Label {
        grade: verdict.grade,
        infeasible: verdict.infeasible,
    }
}
