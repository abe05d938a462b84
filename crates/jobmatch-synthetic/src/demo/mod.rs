//! The demo profile and the national-scale profile of `jobmatch gen`: employers,
//! vacancies and returnee profiles as the JSON a client would POST.
//!
//! The demo's thirty-odd hand-written employers (garment above all, then
//! construction and production) come from `fixtures/demo/employers.csv`; a larger
//! set adds branches of them elsewhere in their province. Vacancies advertise the
//! jobs of their employer's list (`jobs.csv`, `job_lists.csv`); returnees worked in
//! the occupations of `worker_occupations.csv`, mostly in the Thai provinces of
//! `thai_provinces.csv`, and live in the provinces of `home_provinces.csv`. Skills
//! come from the ESCO occupations of the embedded reference data. Dates are relative
//! to the `today` given, so the data never goes stale.
//!
//! Vacancies and workers are handed out one at a time, so that a million profiles
//! never sit in memory together. All names, companies and phone numbers are
//! fictional.

mod employers;
mod vacancies;
mod workers;

use std::collections::HashMap;

use chrono::NaiveDate;
use jobmatch_domain::reference::Occupation;
use jobmatch_domain::{Reference, Sector};
use serde_json::Value;

use crate::Error;
use crate::rng::Rng;
use crate::tables::{EmployerSpec, Tables};
use employers::{Place, employer};
use vacancies::vacancy;
use workers::worker;

pub use workers::phone;

/// The demo's fixed seed: the data set is the same on every run.
pub const DEMO_SEED: u64 = 0x4A4F_424D_4154_4348;

/// The generated documents, in insertion order. A vacancy names its employer by
/// index into `employers`; the loader fills in `employer_id` once that employer has
/// an id.
#[derive(Debug, Clone)]
pub struct DemoData {
    pub employers: Vec<Value>,
    pub vacancies: Vec<(usize, Value)>,
    pub workers: Vec<Value>,
}

/// The demo data set: every hand-written employer, [`Sizes::DEMO`]'s vacancies and
/// workers, external ids starting with `prefix` (`demo-worker-0001`).
pub fn demo(reference: &Reference, today: NaiveDate, prefix: &str) -> Result<DemoData, Error> {
    let sizes = Sizes::demo();
    let mut generator = Generator::new(reference, today, DEMO_SEED, prefix, sizes)?;
    let employers = generator.employers().to_vec();
    let vacancies = (0..sizes.vacancies)
        .map(|_| generator.next_vacancy())
        .collect::<Result<_, Error>>()?;
    let workers = (0..sizes.workers)
        .map(|_| generator.next_worker())
        .collect::<Result<_, Error>>()?;
    Ok(DemoData {
        employers,
        vacancies,
        workers,
    })
}

/// How many records of each kind a [`Generator`] makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    pub employers: usize,
    pub vacancies: usize,
    pub workers: usize,
}

impl Sizes {
    /// The demo: every hand-written employer, 300 vacancies, 2,000 returnees.
    pub fn demo() -> Sizes {
        Sizes {
            employers: Tables::embedded().employers.len(),
            vacancies: 300,
            workers: 2_000,
        }
    }
}

/// Deterministic synthetic data: the same seed, date and sizes give the same
/// documents. Employers are made up front (vacancies need their places); vacancies
/// and workers come one at a time, each kind from its own random stream, so the
/// workers do not depend on how many vacancies were asked for.
pub struct Generator<'r> {
    reference: &'r Reference,
    tables: &'static Tables,
    occupations: Occupations<'r>,
    today: NaiveDate,
    /// Starts every external id: `demo-worker-0001`, `gen-worker-0000001`.
    prefix: String,
    sizes: Sizes,
    employers: Vec<Value>,
    companies: Vec<Company>,
    /// Which employer posts each vacancy, by index.
    owners: Vec<usize>,
    vacancy_rng: Rng,
    worker_rng: Rng,
    vacancies_made: usize,
    workers_made: usize,
}

/// An employer as the vacancy generator needs it.
struct Company {
    name: String,
    spec: &'static EmployerSpec,
    place: Place,
}

impl<'r> Generator<'r> {
    pub fn new(
        reference: &'r Reference,
        today: NaiveDate,
        seed: u64,
        prefix: &str,
        sizes: Sizes,
    ) -> Result<Generator<'r>, Error> {
        if sizes.employers == 0 && sizes.vacancies > 0 {
            return Err(Error::NoEmployer);
        }
        let tables = Tables::embedded();
        let occupations = Occupations::new(reference, tables)?;
        // One stream per kind, derived from the seed.
        let mut employer_rng = Rng::new(seed);
        let vacancy_rng = Rng::new(seed ^ 0x5641_4341_4E43_5953);
        let worker_rng = Rng::new(seed ^ 0x574F_524B_4552_5321);
        let width = digits(sizes.employers).max(3);
        let mut employers = Vec::with_capacity(sizes.employers);
        let mut companies = Vec::with_capacity(sizes.employers);
        let spec_weights: Vec<(usize, u32)> = tables
            .employers
            .iter()
            .enumerate()
            .map(|(index, spec)| (index, spec.weight))
            .collect();
        for index in 0..sizes.employers {
            // The hand-written employers first, then branches of them, as many of
            // each as its share of the vacancies suggests.
            let (spec, name, district) = match tables.employers.get(index) {
                Some(spec) => (spec, spec.name.clone(), spec.district_code.clone()),
                None => {
                    let spec = &tables.employers[*employer_rng.weighted(&spec_weights)];
                    let district = employer_rng
                        .pick(&reference.gazetteer.districts_of(&spec.province_code))
                        .code
                        .clone();
                    let name = branch_name(&mut employer_rng, tables, spec.sector);
                    (spec, name, district)
                }
            };
            let external_id = format!("{prefix}-employer-{:0width$}", index + 1);
            let (value, place) = employer(
                &mut employer_rng,
                reference,
                &name,
                spec,
                &district,
                external_id,
            )?;
            employers.push(value);
            companies.push(Company { name, spec, place });
        }

        // Every employer gets one vacancy; the rest go by each employer's weight.
        let mut owners: Vec<usize> = (0..sizes.employers.min(sizes.vacancies)).collect();
        let weights: Vec<(usize, u32)> = companies
            .iter()
            .enumerate()
            .map(|(index, company)| (index, company.spec.weight))
            .collect();
        while owners.len() < sizes.vacancies {
            owners.push(*employer_rng.weighted(&weights));
        }
        Ok(Generator {
            reference,
            tables,
            occupations,
            today,
            prefix: prefix.to_string(),
            sizes,
            employers,
            companies,
            owners,
            vacancy_rng,
            worker_rng,
            vacancies_made: 0,
            workers_made: 0,
        })
    }

    /// Every employer, in order.
    pub fn employers(&self) -> &[Value] {
        &self.employers
    }

    /// The next vacancy and the index of its employer in [`Self::employers`]; its
    /// `employer_id` is left for the caller to fill in.
    pub fn next_vacancy(&mut self) -> Result<(usize, Value), Error> {
        if self.vacancies_made >= self.sizes.vacancies {
            return Err(Error::Exhausted {
                kind: "vacancies",
                count: self.sizes.vacancies,
            });
        }
        let owner = self.owners[self.vacancies_made];
        self.vacancies_made += 1;
        let width = digits(self.sizes.vacancies).max(4);
        let external_id = format!("{}-vacancy-{:0width$}", self.prefix, self.vacancies_made);
        let value = vacancy(
            &mut self.vacancy_rng,
            self.tables,
            self.reference,
            &self.occupations,
            self.today,
            external_id,
            &self.companies[owner],
        )?;
        Ok((owner, value))
    }

    /// The next returnee profile.
    pub fn next_worker(&mut self) -> Result<Value, Error> {
        if self.workers_made >= self.sizes.workers {
            return Err(Error::Exhausted {
                kind: "workers",
                count: self.sizes.workers,
            });
        }
        self.workers_made += 1;
        let width = digits(self.sizes.workers).max(4);
        let external_id = format!("{}-worker-{:0width$}", self.prefix, self.workers_made);
        worker(
            &mut self.worker_rng,
            self.tables,
            self.reference,
            &self.occupations,
            self.today,
            external_id,
        )
    }
}

/// Decimal digits of `count` (1 for 0).
fn digits(count: usize) -> usize {
    count.max(1).ilog10() as usize + 1
}

/// A fictional company name for a branch employer of `sector`.
fn branch_name(rng: &mut Rng, tables: &Tables, sector: Sector) -> String {
    let trade = match sector {
        Sector::Garment => *rng.pick(&["Garment", "Apparel", "Fashion", "Knitting", "Textile"]),
        Sector::Construction => *rng.pick(&["Construction", "Engineering", "Builders"]),
        Sector::Production => *rng.pick(&["Manufacturing", "Industrial", "Products"]),
        Sector::FoodProcessing => *rng.pick(&["Food Processing", "Rice Mill", "Agro-Industry"]),
        Sector::Agriculture => *rng.pick(&["Agriculture", "Plantation", "Farm"]),
        Sector::Hospitality => *rng.pick(&["Hotel", "Resort", "Hospitality"]),
        _ => "Services",
    };
    let form = *rng.pick(&["Co., Ltd.", "Co., Ltd.", "Group", "Enterprise"]);
    format!("{} {trade} {form}", rng.pick(&tables.brands))
}

/// The occupations the demo uses, resolved once from their ESCO codes.
struct Occupations<'r> {
    by_esco_code: HashMap<&'r str, &'r Occupation>,
}

impl<'r> Occupations<'r> {
    /// Checks that every ESCO code the tables name exists and sits in the ISCO unit
    /// group its code starts with.
    fn new(reference: &'r Reference, tables: &Tables) -> Result<Occupations<'r>, Error> {
        let by_esco_code = reference
            .taxonomy
            .occupations()
            .iter()
            .map(|occupation| (occupation.esco_code.as_str(), occupation))
            .collect();
        let occupations = Occupations { by_esco_code };
        let codes = tables.jobs.iter().map(|job| &job.esco_code).chain(
            tables
                .worker_occupations
                .iter()
                .flat_map(|(_, list)| list.iter().map(|(code, _)| code)),
        );
        for code in codes {
            occupations.get(code)?;
        }
        Ok(occupations)
    }

    fn get(&self, esco_code: &str) -> Result<&'r Occupation, Error> {
        let occupation = *self.by_esco_code.get(esco_code).ok_or_else(|| {
            Error::Tables(format!(
                "the taxonomy has no occupation with ESCO code {esco_code}"
            ))
        })?;
        if !esco_code.starts_with(&occupation.isco_code) {
            return Err(Error::Tables(format!(
                "ESCO occupation {esco_code} is in ISCO group {}",
                occupation.isco_code
            )));
        }
        Ok(occupation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_is_deterministic_and_realistic() {
        let reference = Reference::embedded();
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let first = demo(reference, today, "demo").unwrap();
        let second = demo(reference, today, "demo").unwrap();
        assert_eq!(first.employers, second.employers);
        assert_eq!(first.vacancies, second.vacancies);
        assert_eq!(first.workers, second.workers);
        assert!((28..=36).contains(&first.employers.len()));
        assert_eq!(first.vacancies.len(), Sizes::demo().vacancies);
        assert_eq!(first.workers.len(), Sizes::demo().workers);

        let sector_count = |code: &str| {
            first
                .vacancies
                .iter()
                .filter(|(_, v)| v["sector"] == code)
                .count()
        };
        assert!(sector_count("garment") > sector_count("construction"));
        assert!(sector_count("construction") > sector_count("food_processing"));
        assert!(sector_count("production") > sector_count("agriculture"));
        let females = first
            .workers
            .iter()
            .filter(|w| w["sex"] == "female")
            .count();
        assert!((800..1_300).contains(&females), "{females} women");
        let sharing = first
            .workers
            .iter()
            .filter(|w| w["consent"]["share_with_employers"] == true)
            .count();
        assert!((1_000..1_400).contains(&sharing), "{sharing} share");
        for (_, vacancy) in &first.vacancies {
            if vacancy["sector"] == "construction" {
                assert_eq!(vacancy["min_age"], 18);
            }
        }
    }

    #[test]
    fn every_phone_number_normalises_to_a_cambodian_mobile() {
        let mut rng = Rng::new(1);
        for _ in 0..500 {
            let number = phone(&mut rng);
            let normalised = jobmatch_domain::phone::normalize_phone(&number)
                .unwrap_or_else(|_| panic!("{number} is valid"));
            assert!(normalised.starts_with("+855"));
        }
    }
}
