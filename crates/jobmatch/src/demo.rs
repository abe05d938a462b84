//! `jobmatch serve --demo`: a deterministic, realistic data set for trying the API.
//!
//! Into an empty database it loads about 30 employers (garment above all, then
//! construction and production), 300 vacancies and 2,000 returnee profiles, all
//! generated from the embedded reference data (ESCO occupations and their skills, the
//! NCDD gazetteer, the Thai provinces) with a fixed seed, so every run on the same day
//! produces the same documents. Dates are relative to today so the data never goes
//! stale.
//!
//! Every record is built as the JSON a client would POST, deserialised into the
//! domain input type, validated and stored through the same function the API uses,
//! so the demo can never hold a document the API would refuse. Each record carries an
//! `external_id` (`demo-employer-007`, `demo-vacancy-0042`, `demo-worker-1999`) under
//! the source `demo`, which makes the set idempotent and comparable.
//!
//! All names, companies and phone numbers are fictional.
//!
//! The same [`Generator`] makes the national-scale sets of `jobmatch gen` (see
//! `gen.rs`): beyond the thirty hand-written employers it adds branches of them
//! elsewhere in their province, and it hands out vacancies and workers one at a
//! time so that a million profiles never sit in memory together.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{Context, anyhow, ensure};
use chrono::{Duration, NaiveDate, Utc};
use jobmatch_domain::reference::Occupation;
use jobmatch_domain::resources::{Benefit, EmployerInput, VacancyInput, WorkerInput};
use jobmatch_domain::{FieldError, Reference, Sector};
use jobmatch_service::ResourceKind;
use jobmatch_service::records::store_document;
use jobmatch_store::{Entity, Store};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde_json::{Map, Value, json};

/// The `source` the demo records are stored under (what an API key's id would be).
const SOURCE: &str = "demo";
/// Fixed seed: the data set is the same on every run.
const SEED: u64 = 0x4A4F_424D_4154_4348;
const VACANCY_COUNT: usize = 300;
const WORKER_COUNT: usize = 2_000;

/// Loads the demo data into an empty database and returns the secret of a new staff
/// key named "demo". A database that already holds employers or workers is left as
/// it is; only the key is created.
pub async fn load(store: &Store) -> anyhow::Result<String> {
    load_as_of(store, Utc::now().date_naive()).await
}

/// [`load`] with the dates computed relative to `today`.
async fn load_as_of(store: &Store, today: NaiveDate) -> anyhow::Result<String> {
    let existing_employers = store.count(Entity::Employer).await?;
    let existing_workers = store.count(Entity::Worker).await?;
    if existing_employers > 0 || existing_workers > 0 {
        tracing::info!(
            employers = existing_employers,
            workers = existing_workers,
            "the database already holds data; demo data not loaded"
        );
    } else {
        insert_all(store, today).await?;
    }
    let key = jobmatch_api::auth::generate_key(
        jobmatch_api::auth::Role::Staff,
        None,
        "demo".to_string(),
        None,
    );
    store.insert_api_key(&key.record).await?;
    Ok(key.secret)
}

async fn insert_all(store: &Store, today: NaiveDate) -> anyhow::Result<()> {
    let started = Instant::now();
    let reference = Reference::embedded();
    let data = generate(reference, today)?;
    tracing::info!(
        employers = data.employers.len(),
        vacancies = data.vacancies.len(),
        workers = data.workers.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "loading demo data"
    );

    let mut employer_ids = Vec::with_capacity(data.employers.len());
    for value in data.employers {
        employer_ids.push(put::<EmployerInput>(store, reference, value, "employer").await?);
    }
    tracing::info!(
        employers = employer_ids.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo employers loaded"
    );

    for (employer, mut value) in data.vacancies {
        let object = value
            .as_object_mut()
            .context("demo vacancy is not an object")?;
        object.insert(
            "employer_id".into(),
            Value::String(employer_ids[employer].clone()),
        );
        put::<VacancyInput>(store, reference, value, "vacancy").await?;
    }
    tracing::info!(
        vacancies = VACANCY_COUNT,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo vacancies loaded"
    );

    let total = data.workers.len();
    for (index, value) in data.workers.into_iter().enumerate() {
        put::<WorkerInput>(store, reference, value, "worker").await?;
        if (index + 1) % 500 == 0 && index + 1 < total {
            tracing::info!(
                workers = index + 1,
                of = total,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "loading demo workers"
            );
        }
    }
    tracing::info!(
        employers = employer_ids.len(),
        vacancies = VACANCY_COUNT,
        workers = total,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "demo data loaded"
    );
    Ok(())
}

/// Deserialises, validates and stores one document the way the API does; returns its id.
async fn put<R: ResourceKind>(
    store: &Store,
    reference: &Reference,
    value: Value,
    what: &str,
) -> anyhow::Result<String> {
    let external_id = value
        .get("external_id")
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let mut document: R = serde_json::from_value(value)
        .with_context(|| format!("demo {what} {external_id} does not deserialise"))?;
    let mut errors: Vec<FieldError> = Vec::new();
    document.validate(reference, &mut errors);
    ensure!(
        errors.is_empty(),
        "demo {what} {external_id} invalid: {errors:?}"
    );
    let (_status, record) = store_document(store, SOURCE, &document)
        .await
        .map_err(|e| anyhow!("storing demo {what} {external_id}: {e}"))?;
    Ok(record.id)
}

// ---------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------

/// The generated documents, in insertion order. A vacancy names its employer by
/// index into `employers`; the loader fills in `employer_id` once that employer has
/// an id.
struct DemoData {
    employers: Vec<Value>,
    vacancies: Vec<(usize, Value)>,
    workers: Vec<Value>,
}

fn generate(reference: &Reference, today: NaiveDate) -> anyhow::Result<DemoData> {
    let sizes = Sizes {
        employers: EMPLOYERS.len(),
        vacancies: VACANCY_COUNT,
        workers: WORKER_COUNT,
    };
    let mut generator = Generator::new(reference, today, SEED, SOURCE, sizes)?;
    let employers = generator.employers().to_vec();
    let vacancies = (0..VACANCY_COUNT)
        .map(|_| generator.next_vacancy())
        .collect::<anyhow::Result<_>>()?;
    let workers = (0..WORKER_COUNT)
        .map(|_| generator.next_worker())
        .collect::<anyhow::Result<_>>()?;
    Ok(DemoData {
        employers,
        vacancies,
        workers,
    })
}

/// How many records of each kind a [`Generator`] makes.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub employers: usize,
    pub vacancies: usize,
    pub workers: usize,
}

/// Deterministic synthetic data: the same seed, date and sizes give the same
/// documents. Employers are made up front (vacancies need their places); vacancies
/// and workers come one at a time, each kind from its own random stream, so the
/// workers do not depend on how many vacancies were asked for.
pub struct Generator<'r> {
    reference: &'r Reference,
    occupations: Occupations<'r>,
    today: NaiveDate,
    /// Starts every external id: `demo-worker-0001`, `gen-worker-0000001`.
    prefix: String,
    sizes: Sizes,
    employers: Vec<Value>,
    companies: Vec<Company>,
    /// Which employer posts each vacancy, by index.
    owners: Vec<usize>,
    vacancy_rng: StdRng,
    worker_rng: StdRng,
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
    ) -> anyhow::Result<Generator<'r>> {
        ensure!(
            sizes.employers > 0 || sizes.vacancies == 0,
            "vacancies need at least one employer"
        );
        let occupations = Occupations::new(reference)?;
        // One stream per kind, derived from the seed.
        let mut employer_rng = StdRng::seed_from_u64(seed);
        let vacancy_rng = StdRng::seed_from_u64(seed ^ 0x5641_4341_4E43_5953);
        let worker_rng = StdRng::seed_from_u64(seed ^ 0x574F_524B_4552_5321);
        let width = digits(sizes.employers).max(3);
        let mut employers = Vec::with_capacity(sizes.employers);
        let mut companies = Vec::with_capacity(sizes.employers);
        let spec_weights: Vec<(usize, u32)> = EMPLOYERS
            .iter()
            .enumerate()
            .map(|(index, spec)| (index, spec.weight))
            .collect();
        for index in 0..sizes.employers {
            // The hand-written employers first, then branches of them, as many of
            // each as its share of the vacancies suggests.
            let (spec, name, district) = match EMPLOYERS.get(index) {
                Some(spec) => (spec, spec.name.to_string(), spec.district.to_string()),
                None => {
                    let spec = &EMPLOYERS[*weighted(&mut employer_rng, &spec_weights)];
                    let district = pick(
                        &mut employer_rng,
                        &reference.gazetteer.districts_of(spec.province),
                    )
                    .code
                    .clone();
                    (spec, branch_name(&mut employer_rng, spec.sector), district)
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
            owners.push(*weighted(&mut employer_rng, &weights));
        }
        Ok(Generator {
            reference,
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
    pub fn next_vacancy(&mut self) -> anyhow::Result<(usize, Value)> {
        ensure!(
            self.vacancies_made < self.sizes.vacancies,
            "all {} vacancies were made",
            self.sizes.vacancies
        );
        let owner = self.owners[self.vacancies_made];
        self.vacancies_made += 1;
        let width = digits(self.sizes.vacancies).max(4);
        let external_id = format!("{}-vacancy-{:0width$}", self.prefix, self.vacancies_made);
        let value = vacancy(
            &mut self.vacancy_rng,
            self.reference,
            &self.occupations,
            self.today,
            external_id,
            &self.companies[owner],
        )?;
        Ok((owner, value))
    }

    /// The next returnee profile.
    pub fn next_worker(&mut self) -> anyhow::Result<Value> {
        ensure!(
            self.workers_made < self.sizes.workers,
            "all {} workers were made",
            self.sizes.workers
        );
        self.workers_made += 1;
        let width = digits(self.sizes.workers).max(4);
        let external_id = format!("{}-worker-{:0width$}", self.prefix, self.workers_made);
        worker(
            &mut self.worker_rng,
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
fn branch_name(rng: &mut StdRng, sector: Sector) -> String {
    const BRANDS: &[&str] = &[
        "Angkor",
        "Mekong",
        "Tonle",
        "Bayon",
        "Golden Lotus",
        "Royal Sun",
        "Khmer Star",
        "Sunrise",
        "Preah Khan",
        "Kampuchea",
        "Asia Pacific",
        "Lucky",
        "New Century",
        "Phnom",
        "Boeung",
        "Dara",
        "Sovann",
        "Chanthou",
        "Rithy",
        "Vattanak",
        "Bopha",
        "Sokha",
        "Mealea",
        "Kiri",
        "Srey Pov",
        "Tep Monorom",
        "Moha Leap",
        "Rong Roeung",
    ];
    let trade = match sector {
        Sector::Garment => *pick(
            rng,
            &["Garment", "Apparel", "Fashion", "Knitting", "Textile"],
        ),
        Sector::Construction => *pick(rng, &["Construction", "Engineering", "Builders"]),
        Sector::Production => *pick(rng, &["Manufacturing", "Industrial", "Products"]),
        Sector::FoodProcessing => *pick(rng, &["Food Processing", "Rice Mill", "Agro-Industry"]),
        Sector::Agriculture => *pick(rng, &["Agriculture", "Plantation", "Farm"]),
        Sector::Hospitality => *pick(rng, &["Hotel", "Resort", "Hospitality"]),
        _ => "Services",
    };
    let form = *pick(rng, &["Co., Ltd.", "Co., Ltd.", "Group", "Enterprise"]);
    format!("{} {trade} {form}", pick(rng, BRANDS))
}

/// The occupations the demo uses, resolved once from their ESCO codes.
struct Occupations<'r> {
    by_esco_code: HashMap<&'r str, &'r Occupation>,
}

impl<'r> Occupations<'r> {
    /// Checks that every ESCO code the tables name exists and sits in the ISCO unit
    /// group its code starts with.
    fn new(reference: &'r Reference) -> anyhow::Result<Occupations<'r>> {
        let by_esco_code = reference
            .taxonomy
            .occupations()
            .iter()
            .map(|occupation| (occupation.esco_code.as_str(), occupation))
            .collect();
        let occupations = Occupations { by_esco_code };
        let codes = JOBS.iter().map(|job| job.esco).chain(
            WORKER_OCCUPATIONS
                .iter()
                .flat_map(|(_, list)| list.iter().map(|(code, _)| *code)),
        );
        for code in codes {
            occupations.get(code)?;
        }
        for spec in EMPLOYERS {
            for code in spec.jobs {
                ensure!(
                    job(code).is_some(),
                    "demo employer {} names the unknown job {code}",
                    spec.name
                );
            }
        }
        Ok(occupations)
    }

    fn get(&self, esco_code: &str) -> anyhow::Result<&'r Occupation> {
        let occupation = *self.by_esco_code.get(esco_code).with_context(|| {
            format!("the taxonomy has no occupation with ESCO code {esco_code}")
        })?;
        ensure!(
            esco_code.starts_with(&occupation.isco_code),
            "ESCO occupation {esco_code} is in ISCO group {}",
            occupation.isco_code
        );
        Ok(occupation)
    }
}

struct Place {
    province: &'static str,
    district: String,
    commune: Option<String>,
}

fn employer(
    rng: &mut StdRng,
    reference: &Reference,
    name: &str,
    spec: &EmployerSpec,
    district: &str,
    external_id: String,
) -> anyhow::Result<(Value, Place)> {
    let gazetteer = &reference.gazetteer;
    let district = gazetteer
        .district(district)
        .filter(|found| found.province_code == spec.province)
        .with_context(|| {
            format!(
                "demo employer {name}: district {district} is not in province {}",
                spec.province
            )
        })?;
    let communes = gazetteer.communes_of(&district.code);
    let commune = if !communes.is_empty() && rng.random_bool(0.6) {
        Some(pick(rng, &communes).code.clone())
    } else {
        None
    };

    let mut object = Map::new();
    object.insert("name".into(), json!(name));
    object.insert("sector".into(), json!(spec.sector.code()));
    object.insert("province_code".into(), json!(spec.province));
    object.insert("district_code".into(), json!(district.code));
    if let Some(code) = &commune {
        object.insert("commune_code".into(), json!(code));
    }
    if rng.random_bool(0.9) {
        let sex = if rng.random_bool(0.6) {
            Sex::Female
        } else {
            Sex::Male
        };
        let (family, given) = person_name(rng, sex);
        let title = match sex {
            Sex::Female => "Ms",
            Sex::Male => "Mr",
        };
        let role = *pick(
            rng,
            &[
                "HR",
                "HR manager",
                "recruitment",
                "admin office",
                "site manager",
                "factory manager",
            ],
        );
        let contact = if rng.random_bool(0.3) {
            format!("{} {} ({role})", family.0, given.0)
        } else {
            format!("{title} {} {} ({role})", family.1, given.1)
        };
        object.insert("contact_name".into(), json!(contact));
    }
    if rng.random_bool(0.92) {
        object.insert("contact_phone".into(), json!(phone(rng)));
    }
    object.insert("external_id".into(), json!(external_id));
    let place = Place {
        province: spec.province,
        district: district.code.clone(),
        commune,
    };
    Ok((Value::Object(object), place))
}

fn vacancy(
    rng: &mut StdRng,
    reference: &Reference,
    occupations: &Occupations<'_>,
    today: NaiveDate,
    external_id: String,
    company: &Company,
) -> anyhow::Result<Value> {
    let spec = company.spec;
    let home = &company.place;
    let gazetteer = &reference.gazetteer;
    let choices: Vec<(&Job, u32)> = spec
        .jobs
        .iter()
        .filter_map(|code| job(code))
        .map(|job| (job, job.weight))
        .collect();
    let job = *weighted(rng, &choices);
    let occupation = occupations.get(job.esco)?;

    // Construction companies build where the work is; everyone else hires at home.
    let (province, district, commune) =
        if spec.sector == Sector::Construction && rng.random_bool(0.3) {
            let province = *pick(
                rng,
                &[
                    "12", "08", "17", "18", "01", "02", "22", "15", "13", "05", "03",
                ],
            );
            let district = pick(rng, &gazetteer.districts_of(province)).code.clone();
            (province, district, None)
        } else {
            (home.province, home.district.clone(), home.commune.clone())
        };
    let province_name = gazetteer
        .province(province)
        .map(|p| p.name_en.as_str())
        .unwrap_or(province);
    let district_name = gazetteer
        .district(&district)
        .map(|d| d.name_en.as_str())
        .unwrap_or("");

    let positions = rng.random_range(job.positions.0..=job.positions.1);
    let mut title = match job.km {
        Some(km) if rng.random_bool(0.8) => format!("{} / {km}", job.en),
        _ => job.en.to_string(),
    };
    if positions >= 10 && rng.random_bool(0.3) {
        title.push_str(&format!(" ({positions} positions)"));
    }

    let status = *weighted(rng, &[("open", 88), ("filled", 7), ("closed", 5)]);
    let (starts_on, closes_on) = if status == "open" {
        let closes = today + Duration::days(rng.random_range(7..=60));
        let starts = if rng.random_bool(0.3) {
            today - Duration::days(rng.random_range(0..=10))
        } else {
            closes + Duration::days(rng.random_range(0..=21))
        };
        (starts, closes)
    } else {
        let closes = today - Duration::days(rng.random_range(1..=60));
        (closes + Duration::days(rng.random_range(0..=14)), closes)
    };

    let wage_min = wage(rng, job.wage_min);
    let wage_max = wage(rng, job.wage_max).max(wage_min);
    let wages = *weighted(rng, &[("both", 80), ("min", 15), ("none", 5)]);

    let essential = &occupation.essential_skills;
    let required_count = rng.random_range(2..=5).min(essential.len());
    let required = pick_distinct(rng, essential, required_count);
    let optional: Vec<_> = occupation
        .optional_skills
        .iter()
        .copied()
        .filter(|skill| !required.contains(skill))
        .collect();
    let preferred_count = rng.random_range(0..=3).min(optional.len());
    let preferred = pick_distinct(rng, &optional, preferred_count);
    let level_weights: &[(u8, u32)] = if job.skilled {
        &[(1, 2), (2, 5), (3, 3)]
    } else {
        &[(1, 6), (2, 3), (3, 1)]
    };
    let required: Vec<Value> = required
        .iter()
        .map(|&skill| json!({"skill": reference.taxonomy.skill(skill).id, "min_level": *weighted(rng, level_weights)}))
        .collect();
    let preferred: Vec<Value> = preferred
        .iter()
        .map(|&skill| json!({"skill": reference.taxonomy.skill(skill).id}))
        .collect();

    let benefits = benefits(rng, spec.sector, job.skilled);
    let min_age = if spec.sector.is_hazardous() || rng.random_bool(0.5) {
        Some(18)
    } else {
        None
    };
    let min_experience = if job.skilled {
        if rng.random_bool(0.7) {
            Some(f64::from(rng.random_range(1..=3u32)))
        } else {
            None
        }
    } else if rng.random_bool(0.15) {
        Some(*pick(rng, &[0.5, 1.0]))
    } else {
        None
    };

    let description = vacancy_description(
        rng,
        &company.name,
        spec,
        job,
        occupation,
        positions,
        province_name,
        district_name,
        &benefits,
        wage_min,
    );

    let mut object = Map::new();
    object.insert("title".into(), json!(title));
    object.insert("description".into(), json!(description));
    object.insert("sector".into(), json!(spec.sector.code()));
    object.insert("occupation".into(), json!(occupation.id));
    object.insert("province_code".into(), json!(province));
    object.insert("district_code".into(), json!(district));
    if let Some(commune) = commune {
        object.insert("commune_code".into(), json!(commune));
    }
    object.insert("positions".into(), json!(positions));
    if wages != "none" {
        object.insert("wage_min_usd".into(), json!(wage_min));
    }
    if wages == "both" {
        object.insert("wage_max_usd".into(), json!(wage_max));
    }
    object.insert("required_skills".into(), Value::Array(required));
    if !preferred.is_empty() {
        object.insert("preferred_skills".into(), Value::Array(preferred));
    }
    if let Some(years) = min_experience {
        object.insert("min_experience_years".into(), json!(years));
    }
    if let Some(age) = min_age {
        object.insert("min_age".into(), json!(age));
    }
    object.insert("benefits".into(), json!(benefits));
    object.insert("starts_on".into(), json!(starts_on));
    object.insert("closes_on".into(), json!(closes_on));
    object.insert("status".into(), json!(status));
    object.insert("external_id".into(), json!(external_id));
    Ok(Value::Object(object))
}

#[allow(clippy::too_many_arguments)]
fn vacancy_description(
    rng: &mut StdRng,
    employer_name: &str,
    spec: &EmployerSpec,
    job: &Job,
    occupation: &Occupation,
    positions: u32,
    province: &str,
    district: &str,
    benefits: &[&str],
    wage_min: f64,
) -> String {
    let site = match spec.sector {
        Sector::Construction => "project",
        Sector::Hospitality => "hotel",
        Sector::Agriculture => "farm",
        _ => "factory",
    };
    // A provincial capital often shares its province's name: "Pursat", not "Pursat, Pursat".
    let place = if district.is_empty() || district == province {
        province.to_string()
    } else {
        format!("{district}, {province}")
    };
    let openings = if positions == 1 {
        "one position".to_string()
    } else {
        format!("{positions} positions")
    };
    let mut text = format!(
        "{} is recruiting for {openings} as {} at its {site} in {place}.",
        employer_name,
        job.en.to_lowercase()
    );
    let duty = occupation
        .description
        .split(". ")
        .next()
        .unwrap_or("")
        .trim_end_matches('.');
    if !duty.is_empty() {
        text.push_str(&format!(" The work: {duty}."));
    }
    let hours = match spec.sector {
        Sector::Construction => "Hours: 7:00-11:00 and 13:00-17:00, Monday to Saturday.",
        Sector::Hospitality => "Shift work, 48 hours a week with one day off.",
        Sector::Agriculture => "Seasonal work, six days a week; wages paid monthly.",
        _ => "Hours: 8 hours a day, Monday to Saturday; overtime is voluntary.",
    };
    text.push(' ');
    text.push_str(hours);
    if !benefits.is_empty() {
        let list: Vec<String> = benefits
            .iter()
            .map(|benefit| benefit.replace('_', " "))
            .collect();
        text.push_str(&format!(" Benefits: {}.", list.join(", ")));
    }
    if spec.sector == Sector::Garment && wage_min <= 215.0 {
        text.push_str(" Minimum wage plus attendance bonus.");
    }
    if !job.skilled && rng.random_bool(0.5) {
        text.push_str(" No experience needed; training is given on the job.");
    }
    if rng.random_bool(0.6) {
        text.push_str("\nសូមស្វាគមន៍ពលករចំណាកស្រុកដែលវិលត្រឡប់មកពីប្រទេសថៃ។");
    }
    let apply = *pick(
        rng,
        &[
            "Apply at the nearest Migrant Worker Resource Centre or at the factory gate with your ID card.",
            "Apply through the Migrant Worker Resource Centre; interviews every Monday.",
            "Call the HR office or come in person with your ID card.",
        ],
    );
    text.push('\n');
    text.push_str(&apply.replace("factory", site));
    text
}

fn benefits(rng: &mut StdRng, sector: Sector, skilled: bool) -> Vec<&'static str> {
    use Sector::*;
    // (accommodation, transport, meals, health insurance, social security, childcare, training, overtime pay)
    let chances: [f64; 8] = match sector {
        Garment => [0.15, 0.35, 0.2, 0.2, 0.95, 0.25, 0.0, 0.8],
        Construction => [0.55, 0.3, 0.4, 0.15, 0.6, 0.0, 0.0, 0.4],
        Production => [0.15, 0.3, 0.25, 0.2, 0.95, 0.1, 0.0, 0.8],
        FoodProcessing => [0.2, 0.3, 0.4, 0.15, 0.9, 0.05, 0.0, 0.7],
        Agriculture => [0.6, 0.2, 0.5, 0.05, 0.2, 0.0, 0.0, 0.1],
        Hospitality => [0.2, 0.2, 0.8, 0.2, 0.8, 0.0, 0.0, 0.3],
        Transport | Services | Other => [0.1, 0.2, 0.2, 0.2, 0.7, 0.0, 0.0, 0.5],
    };
    let training = if skilled { 0.15 } else { 0.4 };
    Benefit::ALL
        .into_iter()
        .zip(chances)
        .filter_map(|(benefit, chance)| {
            let chance = if benefit == Benefit::Training {
                training
            } else {
                chance
            };
            rng.random_bool(chance).then_some(benefit.code())
        })
        .collect()
}

/// A monthly wage in a range: garment-minimum-like values exact, the rest rounded to 5 USD.
fn wage(rng: &mut StdRng, (low, high): (u32, u32)) -> f64 {
    let value = rng.random_range(low..=high);
    let value = if value < 220 { value } else { value / 5 * 5 };
    f64::from(value)
}

fn worker(
    rng: &mut StdRng,
    reference: &Reference,
    occupations: &Occupations<'_>,
    today: NaiveDate,
    external_id: String,
) -> anyhow::Result<Value> {
    let gazetteer = &reference.gazetteer;
    let sex = if rng.random_bool(0.52) {
        Sex::Female
    } else {
        Sex::Male
    };
    let sector = match sex {
        Sex::Female => *weighted(
            rng,
            &[
                (Sector::Garment, 50),
                (Sector::Production, 18),
                (Sector::FoodProcessing, 12),
                (Sector::Agriculture, 9),
                (Sector::Construction, 8),
                (Sector::Hospitality, 3),
            ],
        ),
        Sex::Male => *weighted(
            rng,
            &[
                (Sector::Construction, 45),
                (Sector::Production, 20),
                (Sector::Agriculture, 14),
                (Sector::FoodProcessing, 9),
                (Sector::Garment, 8),
                (Sector::Hospitality, 4),
            ],
        ),
    };

    let (family, given) = person_name(rng, sex);
    let full_name = match *weighted(rng, &[(0u8, 70), (1, 20), (2, 10)]) {
        0 => format!("{} {}", family.0, given.0),
        1 => format!("{} {} ({} {})", family.0, given.0, family.1, given.1),
        _ => format!("{} {}", family.1.to_uppercase(), given.1),
    };
    let sex_code = if rng.random_bool(0.003) {
        Some("other")
    } else if rng.random_bool(0.01) {
        None
    } else {
        Some(match sex {
            Sex::Female => "female",
            Sex::Male => "male",
        })
    };
    let age: i64 = match *weighted(rng, &[(0u8, 1), (1, 25), (2, 38), (3, 26), (4, 10)]) {
        0 => rng.random_range(16..=17),
        1 => rng.random_range(18..=24),
        2 => rng.random_range(25..=34),
        3 => rng.random_range(35..=44),
        _ => rng.random_range(45..=50),
    };
    // A birthday somewhere in the year after the one that made the person `age`.
    let date_of_birth = today - Duration::days(age * 365 + age / 4 + rng.random_range(1..=360));

    let province = *weighted(rng, HOME_PROVINCES);
    let district = pick(rng, &gazetteer.districts_of(province)).code.clone();
    let commune = pick(rng, &gazetteer.communes_of(&district)).code.clone();

    // Work history: one or two jobs, mostly abroad.
    let (_, own_occupations) = WORKER_OCCUPATIONS
        .iter()
        .find(|(candidate, _)| *candidate == sector)
        .context("no demo occupations for the worker's sector")?;
    let first = *weighted(rng, own_occupations);
    let mut experience: Vec<(&str, f64, &str)> = vec![(
        first,
        f64::from(rng.random_range(2..=20)) / 2.0,
        if rng.random_bool(0.75) { "TH" } else { "KH" },
    )];
    let mut second_sector = None;
    if rng.random_bool(0.35) {
        let other_sector = if rng.random_bool(0.3) {
            *pick(
                rng,
                &[
                    Sector::Garment,
                    Sector::Construction,
                    Sector::Production,
                    Sector::Agriculture,
                    Sector::FoodProcessing,
                ],
            )
        } else {
            sector
        };
        let (_, list) = WORKER_OCCUPATIONS
            .iter()
            .find(|(candidate, _)| *candidate == other_sector)
            .context("no demo occupations for a sector")?;
        let second = *weighted(rng, list);
        if second != first {
            experience.push((
                second,
                f64::from(rng.random_range(2..=12)) / 2.0,
                if rng.random_bool(0.5) { "TH" } else { "KH" },
            ));
            second_sector = Some(other_sector);
        }
    }

    // Skills from those occupations: mostly essential ones, some optional.
    let mut essential = Vec::new();
    let mut optional = Vec::new();
    for (code, _, _) in &experience {
        let occupation = occupations.get(code)?;
        for skill in &occupation.essential_skills {
            if !essential.contains(skill) {
                essential.push(*skill);
            }
        }
        for skill in &occupation.optional_skills {
            if !optional.contains(skill) {
                optional.push(*skill);
            }
        }
    }
    optional.retain(|skill| !essential.contains(skill));
    let skill_count = rng.random_range(3..=8usize);
    let optional_count = rng.random_range(0..=2usize).min(optional.len());
    let essential_count = (skill_count - optional_count).min(essential.len());
    let mut skills = pick_distinct(rng, &essential, essential_count);
    skills.extend(pick_distinct(rng, &optional, optional_count));
    let most_years = experience
        .iter()
        .map(|(_, years, _)| *years)
        .fold(0.0, f64::max);
    let skills: Vec<Value> = skills
        .iter()
        .map(|&skill| {
            let mut entry = Map::new();
            entry.insert("skill".into(), json!(reference.taxonomy.skill(skill).id));
            entry.insert(
                "level".into(),
                json!(*weighted(rng, &[(1u8, 12), (2, 38), (3, 35), (4, 15)])),
            );
            if rng.random_bool(0.7) {
                let years = f64::from(rng.random_range(1..=(most_years * 2.0) as u32)) / 2.0;
                entry.insert("years".into(), json!(years));
            }
            if rng.random_bool(0.15) {
                entry.insert("certified".into(), json!(true));
            }
            Value::Object(entry)
        })
        .collect();

    let mut preferred_sectors = vec![sector];
    if let Some(other) = second_sector.filter(|other| *other != sector) {
        preferred_sectors.push(other);
    } else if rng.random_bool(0.3) {
        let other = *pick(
            rng,
            &[
                Sector::Garment,
                Sector::Construction,
                Sector::Production,
                Sector::FoodProcessing,
            ],
        );
        if other != sector {
            preferred_sectors.push(other);
        }
    }

    let wage_range: (u32, u32) = match sector {
        Sector::Garment => (200, 280),
        Sector::Construction => (250, 400),
        Sector::Production => (210, 300),
        Sector::FoodProcessing => (200, 260),
        Sector::Agriculture => (200, 250),
        _ => (200, 300),
    };

    let mut object = Map::new();
    object.insert("full_name".into(), json!(full_name));
    if let Some(sex) = sex_code {
        object.insert("sex".into(), json!(sex));
    }
    object.insert("date_of_birth".into(), json!(date_of_birth));
    if rng.random_bool(0.85) {
        object.insert("phone".into(), json!(phone(rng)));
    }
    object.insert("province_code".into(), json!(province));
    object.insert("district_code".into(), json!(district));
    object.insert("commune_code".into(), json!(commune));
    if rng.random_bool(0.95) {
        let mut returned = Map::new();
        returned.insert("country".into(), json!("TH"));
        if rng.random_bool(0.9) {
            let thai = THAI_PROVINCES
                .iter()
                .find(|(candidate, _)| *candidate == sector)
                .map_or(THAI_PROVINCES[0].1, |(_, list)| *list);
            returned.insert("province_code".into(), json!(*weighted(rng, thai)));
        }
        // The mass return began when the border closed in late June 2025.
        let days = if rng.random_bool(0.6) {
            rng.random_range(0..60)
        } else {
            rng.random_range(60..170)
        };
        let returned_on = (RETURNS_BEGAN + Duration::days(days)).min(today);
        returned.insert("returned_on".into(), json!(returned_on));
        object.insert("returned_from".into(), Value::Object(returned));
    }
    let experience: Vec<Value> = experience
        .iter()
        .map(|(code, years, country)| -> anyhow::Result<Value> {
            Ok(json!({"occupation": occupations.get(code)?.id, "years": years, "country": country}))
        })
        .collect::<anyhow::Result<_>>()?;
    object.insert("experience".into(), Value::Array(experience));
    object.insert("skills".into(), Value::Array(skills));
    object.insert(
        "preferred_sectors".into(),
        json!(
            preferred_sectors
                .iter()
                .map(|sector| sector.code())
                .collect::<Vec<_>>()
        ),
    );
    if rng.random_bool(0.9) {
        object.insert(
            "max_travel_km".into(),
            json!(f64::from(rng.random_range(2..=16) * 5)),
        );
    }
    object.insert("willing_to_relocate".into(), json!(rng.random_bool(0.4)));
    if rng.random_bool(0.85) {
        object.insert(
            "expected_wage_usd".into(),
            json!(f64::from(
                rng.random_range(wage_range.0 / 10..=wage_range.1 / 10) * 10
            )),
        );
    }
    if rng.random_bool(0.9) {
        object.insert(
            "available_from".into(),
            json!(today + Duration::days(rng.random_range(-30..=30))),
        );
    }
    object.insert(
        "consent".into(),
        json!({"share_with_employers": rng.random_bool(0.6)}),
    );
    object.insert(
        "status".into(),
        json!(*weighted(
            rng,
            &[("seeking", 88), ("placed", 8), ("inactive", 4)]
        )),
    );
    object.insert("external_id".into(), json!(external_id));
    Ok(Value::Object(object))
}

const RETURNS_BEGAN: NaiveDate = match NaiveDate::from_ymd_opt(2025, 6, 23) {
    Some(date) => date,
    None => panic!("valid constant date"),
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sex {
    Female,
    Male,
}

/// A (Khmer, Latin) family name and given name.
fn person_name(
    rng: &mut StdRng,
    sex: Sex,
) -> ((&'static str, &'static str), (&'static str, &'static str)) {
    // The first ten family names are the most common.
    let index = if rng.random_bool(0.5) {
        rng.random_range(0..10)
    } else {
        rng.random_range(0..FAMILY_NAMES.len())
    };
    let family = FAMILY_NAMES[index];
    let given = match sex {
        Sex::Female => *pick(rng, FEMALE_NAMES),
        Sex::Male => *pick(rng, MALE_NAMES),
    };
    (family, given)
}

/// A Cambodian mobile number as people write it, mostly `012 345 678`.
fn phone(rng: &mut StdRng) -> String {
    let &(prefix, digits) = weighted(rng, MOBILE_PREFIXES);
    let subscriber: u32 = if digits == 7 {
        rng.random_range(2_000_000..=9_999_999)
    } else {
        rng.random_range(200_000..=999_999)
    };
    let subscriber = subscriber.to_string();
    let (head, tail) = subscriber.split_at(3);
    match *weighted(rng, &[(0u8, 70), (1, 15), (2, 10), (3, 5)]) {
        0 => format!("{prefix} {head} {tail}"),
        1 => format!("{prefix}{subscriber}"),
        2 => format!("{prefix}-{head}-{tail}"),
        _ => format!("+855 {} {head} {tail}", &prefix[1..]),
    }
}

// ---------------------------------------------------------------------------
// Random helpers (manual, so that the data depends only on the RNG's raw output)
// ---------------------------------------------------------------------------

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

fn weighted<'a, T>(rng: &mut StdRng, items: &'a [(T, u32)]) -> &'a T {
    let total: u32 = items.iter().map(|(_, weight)| weight).sum();
    let mut roll = rng.random_range(0..total);
    for (item, weight) in items {
        if roll < *weight {
            return item;
        }
        roll -= weight;
    }
    &items[items.len() - 1].0
}

/// `count` distinct items, in the order drawn (a partial Fisher-Yates shuffle).
fn pick_distinct<T: Copy>(rng: &mut StdRng, items: &[T], count: usize) -> Vec<T> {
    let mut pool: Vec<T> = items.to_vec();
    let count = count.min(pool.len());
    for index in 0..count {
        let other = rng.random_range(index..pool.len());
        pool.swap(index, other);
    }
    pool.truncate(count);
    pool
}

// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------

/// A kind of job a demo employer advertises.
struct Job {
    /// ESCO occupation code (the ISCO-08 unit group is its first four digits).
    esco: &'static str,
    en: &'static str,
    km: Option<&'static str>,
    /// How often it is advertised relative to the employer's other jobs.
    weight: u32,
    /// Ranges for the lower and upper end of the monthly wage, USD.
    wage_min: (u32, u32),
    wage_max: (u32, u32),
    positions: (u32, u32),
    /// A trade that needs experience (higher skill levels asked).
    skilled: bool,
}

/// One row of [`JOBS`]; positional so that the table reads as a table.
#[allow(clippy::too_many_arguments)]
const fn job_row(
    esco: &'static str,
    en: &'static str,
    km: Option<&'static str>,
    weight: u32,
    wage_min: (u32, u32),
    wage_max: (u32, u32),
    positions: (u32, u32),
    skilled: bool,
) -> Job {
    Job {
        esco,
        en,
        km,
        weight,
        wage_min,
        wage_max,
        positions,
        skilled,
    }
}

const GARMENT_OPERATOR: (u32, u32) = (208, 215);
const GARMENT_OPERATOR_MAX: (u32, u32) = (230, 300);

const JOBS: &[Job] = &[
    // Garment, footwear and travel goods
    job_row(
        "8153.1",
        "Sewing machine operator",
        Some("ប្រតិបត្តិករម៉ាស៊ីនដេរ"),
        10,
        GARMENT_OPERATOR,
        GARMENT_OPERATOR_MAX,
        (10, 50),
        false,
    ),
    job_row(
        "7533.5",
        "Sewer",
        Some("ជាងដេរ"),
        5,
        GARMENT_OPERATOR,
        GARMENT_OPERATOR_MAX,
        (5, 40),
        false,
    ),
    job_row(
        "7531.5",
        "Tailor",
        Some("ជាងកាត់ដេរ"),
        1,
        (250, 300),
        (320, 450),
        (1, 5),
        true,
    ),
    job_row(
        "8153.1.2",
        "Sample machinist",
        Some("ជាងដេរគំរូ"),
        1,
        (250, 300),
        (300, 400),
        (1, 4),
        true,
    ),
    job_row(
        "7533.2",
        "Embroiderer",
        Some("ជាងប៉ាក់"),
        1,
        (210, 240),
        (250, 320),
        (2, 10),
        false,
    ),
    job_row(
        "8153.1.3",
        "Embroidery machine operator",
        Some("ប្រតិបត្តិករម៉ាស៊ីនប៉ាក់"),
        1,
        (210, 240),
        (250, 320),
        (2, 10),
        false,
    ),
    job_row(
        "8152.1",
        "Knitting machine operator",
        None,
        4,
        GARMENT_OPERATOR,
        (240, 320),
        (5, 30),
        false,
    ),
    job_row(
        "8152.3",
        "Weaving machine operator",
        Some("ប្រតិបត្តិករម៉ាស៊ីនត្បាញ"),
        5,
        GARMENT_OPERATOR,
        (240, 320),
        (5, 30),
        false,
    ),
    job_row(
        "8152.2",
        "Textile machine operator",
        None,
        2,
        GARMENT_OPERATOR,
        (240, 320),
        (3, 20),
        false,
    ),
    job_row(
        "7532.2",
        "Fabric cutter",
        Some("ជាងកាត់ក្រណាត់"),
        2,
        (210, 240),
        (250, 330),
        (2, 15),
        false,
    ),
    job_row(
        "9321.1",
        "Thread trimmer and garment finisher",
        Some("កម្មករកាត់អំបោះ"),
        3,
        GARMENT_OPERATOR,
        (220, 260),
        (5, 40),
        false,
    ),
    job_row(
        "8157.1.1",
        "Ironer (pressing)",
        Some("អ្នកអ៊ុតខោអាវ"),
        2,
        GARMENT_OPERATOR,
        (220, 270),
        (3, 20),
        false,
    ),
    job_row(
        "9321.2",
        "Packer",
        Some("កម្មករវេចខ្ចប់"),
        2,
        (200, 215),
        (220, 260),
        (3, 30),
        false,
    ),
    job_row(
        "8156.2.3",
        "Footwear stitching machine operator",
        Some("ប្រតិបត្តិករម៉ាស៊ីនដេរស្បែកជើង"),
        8,
        GARMENT_OPERATOR,
        GARMENT_OPERATOR_MAX,
        (10, 50),
        false,
    ),
    job_row(
        "8156.2.1",
        "Cutting machine operator (footwear)",
        None,
        2,
        (210, 230),
        (240, 300),
        (3, 15),
        false,
    ),
    job_row(
        "8156.2.4",
        "Lasting machine operator",
        None,
        2,
        (210, 230),
        (240, 300),
        (3, 15),
        false,
    ),
    job_row(
        "8153.1.4",
        "Bag stitching machine operator",
        Some("ប្រតិបត្តិករម៉ាស៊ីនដេរកាបូប"),
        6,
        GARMENT_OPERATOR,
        GARMENT_OPERATOR_MAX,
        (10, 40),
        false,
    ),
    job_row(
        "8156.3",
        "Leather goods machine operator",
        None,
        3,
        (210, 230),
        (240, 300),
        (3, 20),
        false,
    ),
    // Construction
    job_row(
        "9313.1",
        "Construction labourer",
        Some("កម្មករសំណង់"),
        10,
        (220, 250),
        (280, 350),
        (5, 50),
        false,
    ),
    job_row(
        "7112.1",
        "Bricklayer",
        Some("ជាងឥដ្ឋ"),
        4,
        (300, 350),
        (400, 550),
        (2, 15),
        true,
    ),
    job_row(
        "7114.1",
        "Concrete worker",
        Some("ជាងចាក់បេតុង"),
        3,
        (280, 330),
        (350, 500),
        (2, 20),
        true,
    ),
    job_row(
        "7115.1",
        "Carpenter (formwork)",
        Some("ជាងឈើ"),
        3,
        (300, 350),
        (400, 550),
        (2, 10),
        true,
    ),
    job_row(
        "7411.1.1",
        "Building electrician",
        Some("ជាងអគ្គិសនី"),
        2,
        (350, 400),
        (450, 600),
        (1, 6),
        true,
    ),
    job_row(
        "7126.8",
        "Plumber",
        Some("ជាងទុយោទឹក"),
        2,
        (320, 380),
        (420, 600),
        (1, 5),
        true,
    ),
    job_row(
        "7212.3",
        "Welder",
        Some("ជាងផ្សារដែក"),
        3,
        (320, 380),
        (420, 600),
        (1, 8),
        true,
    ),
    job_row(
        "7131.1",
        "Painter",
        Some("ជាងលាបថ្នាំ"),
        2,
        (280, 320),
        (350, 450),
        (2, 10),
        true,
    ),
    job_row(
        "7122.4",
        "Tiler",
        Some("ជាងក្រាលការ៉ូ"),
        2,
        (300, 350),
        (400, 550),
        (2, 8),
        true,
    ),
    job_row(
        "7119.1",
        "Scaffolder",
        None,
        1,
        (280, 320),
        (350, 450),
        (2, 10),
        true,
    ),
    job_row(
        "9312.1",
        "Road construction worker",
        Some("កម្មករសាងសង់ផ្លូវ"),
        6,
        (220, 250),
        (280, 350),
        (5, 40),
        false,
    ),
    job_row(
        "8332.3",
        "Concrete pump operator",
        None,
        1,
        (350, 400),
        (450, 600),
        (1, 3),
        true,
    ),
    job_row(
        "8332.2",
        "Truck driver",
        Some("អ្នកបើកបររថយន្តដឹកទំនិញ"),
        2,
        (300, 350),
        (380, 500),
        (1, 5),
        true,
    ),
    // Production and manufacturing
    job_row(
        "9329.1",
        "Factory worker",
        Some("កម្មកររោងចក្រ"),
        6,
        (208, 220),
        (230, 280),
        (5, 50),
        false,
    ),
    job_row(
        "8219.9",
        "Assembly worker (plastic products)",
        Some("កម្មករផ្គុំផលិតផល"),
        5,
        (208, 220),
        (230, 290),
        (5, 40),
        false,
    ),
    job_row(
        "8212.2.3",
        "Wire harness assembler",
        Some("កម្មករផ្គុំខ្សែភ្លើង"),
        10,
        (208, 220),
        (240, 300),
        (10, 50),
        false,
    ),
    job_row(
        "8212.2.2",
        "Electrical cable assembler",
        None,
        3,
        (208, 220),
        (240, 300),
        (5, 30),
        false,
    ),
    job_row(
        "8219.2",
        "Bicycle assembler",
        Some("កម្មករផ្គុំកង់"),
        10,
        (208, 220),
        (240, 300),
        (10, 50),
        false,
    ),
    job_row(
        "8142.7",
        "Injection moulding machine operator",
        Some("ប្រតិបត្តិករម៉ាស៊ីនចាក់ប្លាស្ទិក"),
        4,
        (220, 250),
        (260, 340),
        (2, 15),
        false,
    ),
    job_row(
        "8141.1.7",
        "Tyre builder",
        None,
        6,
        (230, 260),
        (280, 380),
        (5, 30),
        false,
    ),
    job_row(
        "8141.1",
        "Rubber products machine operator",
        None,
        4,
        (220, 250),
        (260, 350),
        (5, 20),
        false,
    ),
    job_row(
        "8219.4",
        "Furniture assembler",
        Some("កម្មករផ្គុំគ្រឿងសង្ហារិម"),
        5,
        (220, 250),
        (260, 340),
        (2, 15),
        false,
    ),
    job_row(
        "7522.2",
        "Cabinet maker",
        Some("ជាងធ្វើទូ"),
        2,
        (280, 330),
        (350, 500),
        (1, 5),
        true,
    ),
    job_row(
        "8344.1",
        "Forklift driver",
        None,
        1,
        (260, 300),
        (320, 420),
        (1, 4),
        true,
    ),
    job_row(
        "9333.8",
        "Warehouse worker",
        Some("កម្មករឃ្លាំង"),
        2,
        (208, 230),
        (240, 300),
        (2, 15),
        false,
    ),
    job_row(
        "8322.2",
        "Delivery driver",
        Some("អ្នកបើកបរដឹកជញ្ជូន"),
        1,
        (250, 300),
        (320, 420),
        (1, 4),
        true,
    ),
    // Food processing
    job_row(
        "8160.45",
        "Rice mill operator",
        Some("ប្រតិបត្តិកររោងម៉ាស៊ីនកិនស្រូវ"),
        4,
        (210, 240),
        (250, 320),
        (2, 10),
        false,
    ),
    job_row(
        "8160.34",
        "Food production operator",
        Some("កម្មករផលិតម្ហូបអាហារ"),
        5,
        (200, 220),
        (230, 280),
        (5, 40),
        false,
    ),
    job_row(
        "7514.1",
        "Cashew and fruit processing worker",
        None,
        3,
        (200, 215),
        (220, 260),
        (10, 50),
        false,
    ),
    // Agriculture
    job_row(
        "9211.1",
        "Farm worker (harvest)",
        Some("កម្មករកសិដ្ឋាន"),
        5,
        (180, 200),
        (210, 250),
        (10, 50),
        false,
    ),
    job_row(
        "9214.2",
        "Plantation worker",
        Some("កម្មករចម្ការ"),
        3,
        (180, 200),
        (210, 250),
        (5, 40),
        false,
    ),
    job_row(
        "9212.4",
        "Livestock worker",
        Some("កម្មករចិញ្ចឹមសត្វ"),
        1,
        (200, 220),
        (230, 280),
        (1, 5),
        false,
    ),
    // Hospitality
    job_row(
        "9112.4",
        "Room attendant",
        Some("បុគ្គលិកសម្អាតបន្ទប់"),
        3,
        (200, 220),
        (230, 300),
        (2, 10),
        false,
    ),
    job_row(
        "9412.1",
        "Kitchen assistant",
        Some("ជំនួយការចុងភៅ"),
        3,
        (200, 220),
        (230, 280),
        (1, 6),
        false,
    ),
    job_row(
        "5120.1",
        "Cook",
        Some("ចុងភៅ"),
        1,
        (250, 300),
        (320, 450),
        (1, 3),
        true,
    ),
    job_row(
        "5131.2",
        "Waiter / waitress",
        Some("អ្នករត់តុ"),
        2,
        (200, 220),
        (230, 300),
        (2, 10),
        false,
    ),
];

fn job(esco: &str) -> Option<&'static Job> {
    JOBS.iter().find(|job| job.esco == esco)
}

struct EmployerSpec {
    name: &'static str,
    sector: Sector,
    province: &'static str,
    district: &'static str,
    /// Relative share of the vacancies.
    weight: u32,
    /// ESCO codes of the jobs it advertises (rows of [`JOBS`]).
    jobs: &'static [&'static str],
}

const GARMENT_JOBS: &[&str] = &[
    "8153.1", "7533.5", "7531.5", "8153.1.2", "7533.2", "7532.2", "9321.1", "8157.1.1", "9321.2",
];
const KNITWEAR_JOBS: &[&str] = &[
    "8152.1", "8153.1", "8153.1.3", "9321.1", "8157.1.1", "9321.2",
];
const TEXTILE_JOBS: &[&str] = &["8152.3", "8152.2", "8153.1", "9321.1", "9321.2"];
const FOOTWEAR_JOBS: &[&str] = &["8156.2.3", "8156.2.1", "8156.2.4", "9321.1", "9321.2"];
const TRAVEL_GOODS_JOBS: &[&str] = &["8153.1.4", "8156.3", "8153.1", "9321.2"];
const CONSTRUCTION_JOBS: &[&str] = &[
    "9313.1", "7112.1", "7114.1", "7115.1", "7411.1.1", "7126.8", "7212.3", "7131.1", "7122.4",
    "7119.1",
];
const ROAD_JOBS: &[&str] = &["9312.1", "9313.1", "7114.1", "8332.3", "8332.2"];
const BICYCLE_JOBS: &[&str] = &["8219.2", "7212.3", "9329.1", "9321.2", "8344.1"];
const HARNESS_JOBS: &[&str] = &["8212.2.3", "8212.2.2", "9329.1", "9333.8"];
const PLASTICS_JOBS: &[&str] = &["8142.7", "8219.9", "9329.1", "8344.1", "9333.8"];
const TYRE_JOBS: &[&str] = &["8141.1.7", "8141.1", "9329.1", "8344.1", "9333.8"];
const FURNITURE_JOBS: &[&str] = &["8219.4", "7522.2", "9329.1", "8322.2"];
const RICE_JOBS: &[&str] = &["8160.45", "9329.1", "9321.2", "8344.1", "8332.2"];
const CASHEW_JOBS: &[&str] = &["8160.34", "7514.1", "9321.2", "9329.1"];
const FARM_JOBS: &[&str] = &["9211.1", "9214.2", "9212.4"];
const HOTEL_JOBS: &[&str] = &["9112.4", "9412.1", "5120.1", "5131.2"];

const fn employer_row(
    name: &'static str,
    sector: Sector,
    province: &'static str,
    district: &'static str,
    weight: u32,
    jobs: &'static [&'static str],
) -> EmployerSpec {
    EmployerSpec {
        name,
        sector,
        province,
        district,
        weight,
        jobs,
    }
}

/// Fictional employers where such employers are: Phnom Penh's and Kandal's garment
/// belt, Kampong Speu, the Bavet and Sihanoukville special economic zones, Poipet,
/// and the provinces of the Migrant Worker Resource Centres.
const EMPLOYERS: &[EmployerSpec] = &[
    employer_row(
        "Angkor Garment Co., Ltd.",
        Sector::Garment,
        "12",
        "1209",
        16,
        GARMENT_JOBS,
    ),
    employer_row(
        "Mekong Apparel Manufacturing Co., Ltd.",
        Sector::Garment,
        "12",
        "1205",
        14,
        GARMENT_JOBS,
    ),
    employer_row(
        "Golden Lotus Garment (Cambodia) Co., Ltd.",
        Sector::Garment,
        "12",
        "1211",
        10,
        GARMENT_JOBS,
    ),
    employer_row(
        "Phnom Penh Knitwear Co., Ltd.",
        Sector::Garment,
        "12",
        "1214",
        8,
        KNITWEAR_JOBS,
    ),
    employer_row(
        "រោងចក្រកាត់ដេរ សុខសាន្ត",
        Sector::Garment,
        "08",
        "0808",
        10,
        GARMENT_JOBS,
    ),
    employer_row(
        "Ta Khmau Fashion Industry Co., Ltd.",
        Sector::Garment,
        "08",
        "0811",
        8,
        GARMENT_JOBS,
    ),
    employer_row(
        "Kampong Speu Apparel Co., Ltd.",
        Sector::Garment,
        "05",
        "0507",
        10,
        GARMENT_JOBS,
    ),
    employer_row(
        "Chbar Mon Sewing Co., Ltd.",
        Sector::Garment,
        "05",
        "0502",
        6,
        GARMENT_JOBS,
    ),
    employer_row(
        "Bavet Footwear Co., Ltd.",
        Sector::Garment,
        "20",
        "2008",
        10,
        FOOTWEAR_JOBS,
    ),
    employer_row(
        "Svay Rieng Travel Goods Co., Ltd.",
        Sector::Garment,
        "20",
        "2008",
        6,
        TRAVEL_GOODS_JOBS,
    ),
    employer_row(
        "Sihanoukville Garment Co., Ltd.",
        Sector::Garment,
        "18",
        "1802",
        7,
        GARMENT_JOBS,
    ),
    employer_row(
        "Poipet Apparel Co., Ltd.",
        Sector::Garment,
        "01",
        "0110",
        7,
        GARMENT_JOBS,
    ),
    employer_row(
        "ក្រុមហ៊ុន ស្រីមាស កាត់ដេរ ឯ.ក",
        Sector::Garment,
        "03",
        "0305",
        5,
        GARMENT_JOBS,
    ),
    employer_row(
        "Angkor Borei Textile Co., Ltd.",
        Sector::Garment,
        "21",
        "2108",
        5,
        TEXTILE_JOBS,
    ),
    employer_row(
        "Pursat Garment Co., Ltd.",
        Sector::Garment,
        "15",
        "1505",
        6,
        GARMENT_JOBS,
    ),
    employer_row(
        "Mekong Build Construction Co., Ltd.",
        Sector::Construction,
        "12",
        "1213",
        12,
        CONSTRUCTION_JOBS,
    ),
    employer_row(
        "Bayon Construction & Engineering Co., Ltd.",
        Sector::Construction,
        "17",
        "1710",
        8,
        CONSTRUCTION_JOBS,
    ),
    employer_row(
        "Ocean Bay Construction Co., Ltd.",
        Sector::Construction,
        "18",
        "1801",
        8,
        CONSTRUCTION_JOBS,
    ),
    employer_row(
        "ក្រុមហ៊ុន សំណង់ រស្មីថ្មី",
        Sector::Construction,
        "12",
        "1206",
        6,
        CONSTRUCTION_JOBS,
    ),
    employer_row(
        "Sangkae Builders Co., Ltd.",
        Sector::Construction,
        "02",
        "0203",
        5,
        CONSTRUCTION_JOBS,
    ),
    employer_row(
        "Samraong Roads and Bridges Co., Ltd.",
        Sector::Construction,
        "22",
        "2204",
        5,
        ROAD_JOBS,
    ),
    employer_row(
        "Sisophon Construction Co., Ltd.",
        Sector::Construction,
        "01",
        "0106",
        4,
        CONSTRUCTION_JOBS,
    ),
    employer_row(
        "Bavet Bicycle Industry Co., Ltd.",
        Sector::Production,
        "20",
        "2008",
        8,
        BICYCLE_JOBS,
    ),
    employer_row(
        "Phnom Penh Wire Harness Co., Ltd.",
        Sector::Production,
        "12",
        "1205",
        8,
        HARNESS_JOBS,
    ),
    employer_row(
        "Kampong Speu Plastic Products Co., Ltd.",
        Sector::Production,
        "05",
        "0507",
        5,
        PLASTICS_JOBS,
    ),
    employer_row(
        "Sihanoukville Tyre Manufacturing Co., Ltd.",
        Sector::Production,
        "18",
        "1802",
        6,
        TYRE_JOBS,
    ),
    employer_row(
        "Mekong Furniture Co., Ltd.",
        Sector::Production,
        "08",
        "0806",
        4,
        FURNITURE_JOBS,
    ),
    employer_row(
        "Battambang Golden Rice Co., Ltd.",
        Sector::FoodProcessing,
        "02",
        "0208",
        4,
        RICE_JOBS,
    ),
    employer_row(
        "Kampong Cham Cashew Processing Co., Ltd.",
        Sector::FoodProcessing,
        "03",
        "0306",
        3,
        CASHEW_JOBS,
    ),
    employer_row(
        "Preah Vihear Agro-Industry Co., Ltd.",
        Sector::Agriculture,
        "13",
        "1305",
        3,
        FARM_JOBS,
    ),
    employer_row(
        "Angkor Riverside Hotel",
        Sector::Hospitality,
        "17",
        "1710",
        4,
        HOTEL_JOBS,
    ),
    employer_row(
        "Koh Rong Beach Resort",
        Sector::Hospitality,
        "18",
        "1805",
        2,
        HOTEL_JOBS,
    ),
];

/// What returnees did, by sector, with relative frequencies (ESCO codes).
const WORKER_OCCUPATIONS: &[(Sector, &[(&str, u32)])] = &[
    (
        Sector::Garment,
        &[
            ("8153.1", 10),
            ("7533.5", 5),
            ("7531.5", 2),
            ("7532.2", 2),
            ("9321.1", 3),
            ("8157.1.1", 2),
            ("8152.3", 1),
            ("8156.2.3", 2),
        ],
    ),
    (
        Sector::Construction,
        &[
            ("9313.1", 10),
            ("7112.1", 4),
            ("7114.1", 3),
            ("7115.1", 3),
            ("7212.3", 2),
            ("7131.1", 2),
            ("7411.1.1", 1),
            ("7126.8", 1),
            ("7122.4", 2),
            ("9312.1", 2),
        ],
    ),
    (
        Sector::Production,
        &[
            ("9329.1", 8),
            ("8219.9", 3),
            ("8212.2.3", 2),
            ("8142.7", 2),
            ("8344.1", 1),
            ("9333.8", 3),
            ("8219.4", 2),
            ("8219.2", 1),
            ("8141.1", 1),
        ],
    ),
    (
        Sector::FoodProcessing,
        &[("8160.32", 4), ("8160.34", 3), ("9321.2", 3), ("9329.1", 2)],
    ),
    (
        Sector::Agriculture,
        &[("9211.1", 6), ("9214.2", 3), ("9212.4", 2)],
    ),
    (
        Sector::Hospitality,
        &[("9112.4", 2), ("9412.1", 2), ("5131.2", 1)],
    ),
];

/// Where in Thailand returnees worked, by sector (DOPA province codes): Bangkok and
/// its ring for construction, the Eastern Seaboard (Chon Buri, Rayong) for
/// factories, Samut Sakhon for seafood, the border provinces for farm work.
const THAI_PROVINCES: &[(Sector, &[(&str, u32)])] = &[
    (
        Sector::Garment,
        &[
            ("10", 20),
            ("74", 10),
            ("11", 10),
            ("13", 10),
            ("20", 8),
            ("12", 6),
            ("73", 5),
            ("63", 4),
        ],
    ),
    (
        Sector::Construction,
        &[
            ("10", 30),
            ("20", 12),
            ("21", 8),
            ("11", 8),
            ("12", 8),
            ("13", 6),
            ("83", 4),
            ("30", 3),
            ("27", 5),
        ],
    ),
    (
        Sector::Production,
        &[
            ("20", 20),
            ("21", 18),
            ("11", 12),
            ("13", 10),
            ("74", 8),
            ("24", 8),
            ("10", 8),
            ("14", 6),
            ("25", 4),
        ],
    ),
    (
        Sector::FoodProcessing,
        &[
            ("74", 35),
            ("11", 8),
            ("20", 8),
            ("90", 6),
            ("77", 4),
            ("84", 4),
            ("22", 6),
            ("21", 5),
        ],
    ),
    (
        Sector::Agriculture,
        &[
            ("27", 25),
            ("22", 25),
            ("23", 12),
            ("31", 6),
            ("32", 6),
            ("33", 6),
            ("30", 6),
            ("24", 5),
        ],
    ),
    (
        Sector::Hospitality,
        &[("10", 20), ("83", 20), ("20", 20), ("84", 8), ("81", 8)],
    ),
];

/// The provinces returnees come home to (NCDD codes), weighted: the north-west border
/// provinces first, then the provinces of the Migrant Worker Resource Centres and the
/// populous south-east.
const HOME_PROVINCES: &[(&str, u32)] = &[
    ("01", 16),
    ("22", 12),
    ("02", 12),
    ("17", 9),
    ("14", 8),
    ("13", 7),
    ("15", 7),
    ("03", 6),
    ("06", 6),
    ("20", 5),
    ("21", 4),
    ("25", 3),
    ("04", 3),
    ("24", 2),
    ("05", 2),
];

/// Cambodian mobile prefixes and the number of digits after them, weighted roughly
/// by how common they are.
const MOBILE_PREFIXES: &[((&str, u8), u32)] = &[
    (("012", 6), 14),
    (("011", 6), 6),
    (("017", 6), 6),
    (("077", 6), 5),
    (("085", 6), 5),
    (("089", 6), 4),
    (("092", 6), 6),
    (("096", 7), 8),
    (("097", 7), 8),
    (("098", 6), 6),
    (("010", 6), 8),
    (("015", 6), 5),
    (("016", 6), 5),
    (("069", 6), 5),
    (("070", 6), 5),
    (("081", 6), 4),
    (("093", 6), 5),
];

/// Common Khmer family names (Khmer script, usual Latin spelling); the first ten are
/// the most frequent.
const FAMILY_NAMES: &[(&str, &str)] = &[
    ("សុខ", "Sok"),
    ("ចាន់", "Chan"),
    ("ហេង", "Heng"),
    ("លី", "Ly"),
    ("គឹម", "Kim"),
    ("ម៉ៅ", "Mao"),
    ("ផល", "Phal"),
    ("រស់", "Ros"),
    ("សែម", "Sem"),
    ("ជា", "Chea"),
    ("ស៊ុន", "Sun"),
    ("យិន", "Yin"),
    ("ឈឹម", "Chhim"),
    ("កែវ", "Keo"),
    ("ញឹម", "Nhim"),
    ("ប៊ុន", "Bun"),
    ("សួន", "Suon"),
    ("ពៅ", "Pov"),
    ("ស៊ិន", "Sin"),
    ("ឡុង", "Long"),
    ("អ៊ុក", "Ouk"),
    ("ទេព", "Tep"),
    ("ព្រំ", "Prum"),
    ("មាស", "Meas"),
    ("នួន", "Nuon"),
    ("ខៀវ", "Khiev"),
    ("សំ", "Sam"),
    ("វង្ស", "Vong"),
    ("ពេជ្រ", "Pech"),
    ("ឯក", "Ek"),
    ("ហ៊ាង", "Hang"),
    ("សាន", "San"),
    ("អ៊ឹម", "Im"),
    ("ធី", "Thy"),
];

const FEMALE_NAMES: &[(&str, &str)] = &[
    ("ស្រីមុំ", "Sreymom"),
    ("ស្រីនាង", "Sreyneang"),
    ("ស្រីពៅ", "Sreypov"),
    ("ចាន់ធី", "Chanthy"),
    ("សុភា", "Sophea"),
    ("សុភាព", "Sopheap"),
    ("ស្រីលក្ខណ៍", "Sreyleak"),
    ("សុខា", "Sokha"),
    ("ធីតា", "Thida"),
    ("ចាន់ធូ", "Chanthou"),
    ("បុប្ផា", "Bopha"),
    ("រតនា", "Rathana"),
    ("ម៉ាលី", "Maly"),
    ("គន្ធា", "Kunthea"),
    ("លីដា", "Lida"),
    ("ស្រីនិច", "Sreynich"),
    ("ស្រីណា", "Sreyna"),
    ("ដាវី", "Davy"),
    ("ផល្លា", "Phalla"),
    ("ស្រីរ័ត្ន", "Sreyrath"),
    ("សុខនី", "Sokny"),
    ("ពិសី", "Pisey"),
    ("វណ្ណី", "Vanny"),
    ("ណារី", "Nary"),
    ("ស្រីអូន", "Sreyoun"),
];

const MALE_NAMES: &[(&str, &str)] = &[
    ("វណ្ណា", "Vanna"),
    ("សុភ័ក្ត្រ", "Sopheak"),
    ("ដារ៉ា", "Dara"),
    ("វិចិត្រ", "Vichet"),
    ("សំណាង", "Samnang"),
    ("រតនៈ", "Ratanak"),
    ("ពិសិដ្ឋ", "Piseth"),
    ("វុទ្ធី", "Vuthy"),
    ("ចាន់ថន", "Chanthorn"),
    ("សុខលី", "Sokly"),
    ("បូរ៉ា", "Bora"),
    ("សុវណ្ណ", "Sovann"),
    ("មករា", "Makara"),
    ("ធារ៉ា", "Theara"),
    ("សម្បត្តិ", "Sambath"),
    ("សុផល", "Sophal"),
    ("រិទ្ធី", "Rithy"),
    ("វាសនា", "Veasna"),
    ("ចាន់ណា", "Channa"),
    ("សុជាតិ", "Socheat"),
    ("សុខា", "Sokha"),
    ("សារ៉ុន", "Saron"),
    ("ចាន់ដារ៉ា", "Chandara"),
    ("ប៊ុនថន", "Bunthorn"),
    ("សុខហេង", "Sokheng"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use jobmatch_store::ListFilter;

    async fn open(dir: &tempfile::TempDir) -> Store {
        Store::connect(&format!("sqlite:{}", dir.path().join("demo.db").display()))
            .await
            .expect("open the store")
    }

    async fn all(store: &Store, entity: Entity) -> Vec<jobmatch_store::Record> {
        let mut records = Vec::new();
        loop {
            let filter = ListFilter {
                after_id: records
                    .last()
                    .map(|r: &jobmatch_store::Record| r.id.clone()),
                limit: 1_000,
                ..Default::default()
            };
            let page = store.list(entity, &filter).await.expect("list");
            if page.is_empty() {
                return records;
            }
            records.extend(page);
        }
    }

    /// Every stored document as JSON text, ordered by external id, with the two
    /// values that are not the demo's to choose replaced: the employer's generated
    /// id (by its external id) and the consent time the server fills in.
    async fn canonical(store: &Store) -> Vec<String> {
        let employers = all(store, Entity::Employer).await;
        let external: std::collections::HashMap<String, String> = employers
            .iter()
            .map(|r| (r.id.clone(), r.external_id.clone().unwrap_or_default()))
            .collect();
        let mut documents = Vec::new();
        for entity in Entity::ALL {
            for record in all(store, entity).await {
                assert_eq!(record.source.as_deref(), Some(SOURCE));
                let mut body = record.body.clone();
                if let Some(id) = body.get("employer_id").and_then(Value::as_str) {
                    let replacement = external
                        .get(id)
                        .cloned()
                        .expect("a vacancy's employer exists");
                    body["employer_id"] = Value::String(replacement);
                }
                if let Some(consent) = body.get_mut("consent").and_then(Value::as_object_mut) {
                    assert!(
                        consent.remove("recorded_at").is_some(),
                        "the server fills in the consent time"
                    );
                }
                let external_id = record
                    .external_id
                    .clone()
                    .expect("demo records have external ids");
                assert_eq!(body["external_id"], Value::String(external_id.clone()));
                documents.push((external_id, serde_json::to_string(&body).unwrap()));
            }
        }
        documents.sort();
        documents
            .into_iter()
            .map(|(id, body)| format!("{id} {body}"))
            .collect()
    }

    #[test]
    fn the_tables_resolve_against_the_reference_data() {
        let reference = Reference::embedded();
        Occupations::new(reference).expect("every ESCO code exists");
        for spec in EMPLOYERS {
            let district = reference
                .gazetteer
                .district(spec.district)
                .expect("district exists");
            assert_eq!(district.province_code, spec.province, "{}", spec.name);
        }
        for (province, _) in HOME_PROVINCES {
            assert!(reference.gazetteer.province(province).is_some());
        }
        for (_, list) in THAI_PROVINCES {
            for (code, _) in *list {
                assert!(
                    reference.gazetteer.thai_province(code).is_some(),
                    "Thai province {code}"
                );
            }
        }
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..500 {
            let number = phone(&mut rng);
            let normalised = jobmatch_domain::phone::normalize_phone(&number)
                .unwrap_or_else(|_| panic!("{number} is valid"));
            assert!(normalised.starts_with("+855"));
        }
    }

    #[test]
    fn generation_is_deterministic_and_realistic() {
        let reference = Reference::embedded();
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        let first = generate(reference, today).unwrap();
        let second = generate(reference, today).unwrap();
        assert_eq!(first.employers, second.employers);
        assert_eq!(first.vacancies, second.vacancies);
        assert_eq!(first.workers, second.workers);
        assert!((28..=36).contains(&first.employers.len()));
        assert_eq!(first.vacancies.len(), VACANCY_COUNT);
        assert_eq!(first.workers.len(), WORKER_COUNT);

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

    #[tokio::test]
    async fn demo_loads_deterministically_into_an_empty_database_only() {
        let today = Utc::now().date_naive();
        let reference = Reference::embedded();

        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir).await;
        let started = Instant::now();
        let key = load_as_of(&store, today).await.unwrap();
        eprintln!("demo load took {:?}", started.elapsed());
        assert!(!key.is_empty());
        let employers = store.count(Entity::Employer).await.unwrap();
        assert!((28..=36).contains(&employers), "{employers} employers");
        assert_eq!(
            store.count(Entity::Vacancy).await.unwrap(),
            VACANCY_COUNT as i64
        );
        assert_eq!(
            store.count(Entity::Worker).await.unwrap(),
            WORKER_COUNT as i64
        );

        // Every worker lives in a commune of their district, in their province.
        for record in all(&store, Entity::Worker).await {
            let body = &record.body;
            let province = body["province_code"].as_str().unwrap();
            let district = body["district_code"].as_str().unwrap();
            let commune = reference
                .gazetteer
                .commune(body["commune_code"].as_str().unwrap())
                .expect("commune exists");
            assert_eq!(commune.district_code, district);
            assert_eq!(commune.province_code, province);
            assert_eq!(
                reference
                    .gazetteer
                    .district(district)
                    .unwrap()
                    .province_code,
                province
            );
            if let Some(phone) = body["phone"].as_str() {
                assert!(phone.starts_with("+855"), "phones are stored in E.164");
            }
        }

        // A second run finds data and only makes a new key.
        let second_key = load_as_of(&store, today).await.unwrap();
        assert_ne!(key, second_key);
        assert_eq!(
            store.count(Entity::Worker).await.unwrap(),
            WORKER_COUNT as i64
        );
        assert_eq!(store.count(Entity::Employer).await.unwrap(), employers);
        assert_eq!(store.list_api_keys().await.unwrap().len(), 2);

        // Another database gets byte-identical documents.
        let other_dir = tempfile::tempdir().unwrap();
        let other = open(&other_dir).await;
        load_as_of(&other, today).await.unwrap();
        let (ours, theirs) = (canonical(&store).await, canonical(&other).await);
        assert_eq!(
            ours.len(),
            employers as usize + VACANCY_COUNT + WORKER_COUNT
        );
        assert!(ours == theirs, "the demo data differs between runs");
    }
}
