//! The tables the generators draw from, kept as data in `fixtures/demo/` (what they
//! are and where the figures come from is in its README), embedded with
//! `include_str!` and parsed once, on the first call to [`Tables::embedded`].
//!
//! Parsing checks only the files' own shape; that every ESCO code, province and
//! district they name exists in the reference data is checked where a generator is
//! built (and by a test over every row).

use std::collections::HashMap;
use std::sync::OnceLock;

use jobmatch_domain::Sector;
use serde::Deserialize;

/// The embedded CSV sources, as compiled in.
struct Sources {
    jobs: &'static str,
    job_lists: &'static str,
    employers: &'static str,
    worker_occupations: &'static str,
    thai_provinces: &'static str,
    home_provinces: &'static str,
    work_provinces: &'static str,
    returnee_occupations: &'static str,
    mobile_prefixes: &'static str,
    family_names: &'static str,
    given_names: &'static str,
    brands: &'static str,
}

const SOURCES: Sources = Sources {
    jobs: include_str!("../../../fixtures/demo/jobs.csv"),
    job_lists: include_str!("../../../fixtures/demo/job_lists.csv"),
    employers: include_str!("../../../fixtures/demo/employers.csv"),
    worker_occupations: include_str!("../../../fixtures/demo/worker_occupations.csv"),
    thai_provinces: include_str!("../../../fixtures/demo/thai_provinces.csv"),
    home_provinces: include_str!("../../../fixtures/demo/home_provinces.csv"),
    work_provinces: include_str!("../../../fixtures/demo/work_provinces.csv"),
    returnee_occupations: include_str!("../../../fixtures/demo/returnee_occupations.csv"),
    mobile_prefixes: include_str!("../../../fixtures/demo/mobile_prefixes.csv"),
    family_names: include_str!("../../../fixtures/demo/family_names.csv"),
    given_names: include_str!("../../../fixtures/demo/given_names.csv"),
    brands: include_str!("../../../fixtures/demo/brands.csv"),
};

/// Which generator a row of a table shared between generators belongs to
/// (`home_provinces.csv`, `work_provinces.csv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// The demo and the national-scale sets of `jobmatch gen`.
    Demo,
    /// The committed evaluation set.
    Evaluation,
    /// The matching benches and tests.
    Benches,
}

/// A kind of job a demo employer advertises.
#[derive(Debug, Clone, Deserialize)]
pub struct Job {
    /// ESCO occupation code (the ISCO-08 unit group is its first four digits).
    pub esco_code: String,
    pub title_en: String,
    /// Empty when the title has no usual Khmer form.
    pub title_km: String,
    /// How often it is advertised relative to the employer's other jobs.
    pub weight: u32,
    /// Ranges, in USD a month, from which the lower and the upper end of the
    /// advertised wage are drawn.
    pub wage_min_low_usd: u32,
    pub wage_min_high_usd: u32,
    pub wage_max_low_usd: u32,
    pub wage_max_high_usd: u32,
    pub positions_low: u32,
    pub positions_high: u32,
    /// A trade that needs experience (higher skill levels asked).
    pub skilled: bool,
}

impl Job {
    pub fn wage_min_usd(&self) -> (u32, u32) {
        (self.wage_min_low_usd, self.wage_min_high_usd)
    }

    pub fn wage_max_usd(&self) -> (u32, u32) {
        (self.wage_max_low_usd, self.wage_max_high_usd)
    }
}

/// A row of `employers.csv`: a fictional employer of the demo.
#[derive(Debug, Clone, Deserialize)]
struct EmployerRow {
    name: String,
    sector: Sector,
    province_code: String,
    district_code: String,
    weight: u32,
    /// The name of its list in `job_lists.csv`.
    jobs: String,
}

/// A fictional employer of the demo, with the jobs it advertises.
#[derive(Debug, Clone)]
pub struct EmployerSpec {
    pub name: String,
    pub sector: Sector,
    pub province_code: String,
    pub district_code: String,
    /// Relative share of the vacancies.
    pub weight: u32,
    /// Indexes into [`Tables::jobs`].
    pub jobs: Vec<usize>,
}

#[derive(Debug, Clone, Deserialize)]
struct JobListRow {
    list: String,
    esco_code: String,
}

#[derive(Debug, Clone, Deserialize)]
struct SectorWeightRow {
    sector: Sector,
    #[serde(alias = "esco_code", alias = "thai_province_code")]
    code: String,
    weight: u32,
}

#[derive(Debug, Clone, Deserialize)]
struct ProfileWeightRow {
    profile: Profile,
    province_code: String,
    weight: f64,
}

#[derive(Debug, Clone, Deserialize)]
struct UnitWeightRow {
    isco_unit: String,
    weight: f64,
}

#[derive(Debug, Clone, Deserialize)]
struct MobilePrefixRow {
    prefix: String,
    subscriber_digits: u8,
    weight: u32,
}

/// A Cambodian mobile prefix.
#[derive(Debug, Clone)]
pub struct MobilePrefix {
    /// As dialled at home, with the leading zero: `012`.
    pub prefix: String,
    /// Digits after the prefix: 6 or 7.
    pub subscriber_digits: u8,
}

/// A name in Khmer script and its usual Latin spelling.
#[derive(Debug, Clone, Deserialize)]
pub struct Name {
    pub name_km: String,
    pub name_latin: String,
}

#[derive(Debug, Clone, Deserialize)]
struct GivenNameRow {
    sex: String,
    name_km: String,
    name_latin: String,
}

#[derive(Debug, Clone, Deserialize)]
struct BrandRow {
    brand: String,
}

/// Every table, parsed.
#[derive(Debug)]
pub struct Tables {
    pub jobs: Vec<Job>,
    pub employers: Vec<EmployerSpec>,
    /// What returnees did, by sector: (ESCO code, weight).
    pub worker_occupations: Vec<(Sector, Vec<(String, u32)>)>,
    /// Where in Thailand returnees worked, by sector: (DOPA code, weight).
    pub thai_provinces: Vec<(Sector, Vec<(String, u32)>)>,
    home_provinces: Vec<ProfileWeightRow>,
    work_provinces: Vec<ProfileWeightRow>,
    /// ISCO-08 unit groups where returnees work, with relative weights.
    pub returnee_units: Vec<(String, f64)>,
    /// Weighted roughly by how common each is.
    pub mobile_prefixes: Vec<(MobilePrefix, u32)>,
    /// The first ten are the most frequent.
    pub family_names: Vec<Name>,
    pub female_names: Vec<Name>,
    pub male_names: Vec<Name>,
    /// Words that start a branch employer's fictional name.
    pub brands: Vec<String>,
}

impl Tables {
    /// The embedded tables, parsed on first call (panics only if the embedded files
    /// are corrupt, which a unit test rules out).
    pub fn embedded() -> &'static Tables {
        static TABLES: OnceLock<Tables> = OnceLock::new();
        TABLES.get_or_init(|| {
            Tables::parse().unwrap_or_else(|e| panic!("embedded demo tables are corrupt: {e}"))
        })
    }

    fn parse() -> Result<Tables, TableError> {
        let jobs: Vec<Job> = read("jobs.csv", SOURCES.jobs)?;
        let job_index: HashMap<&str, usize> = jobs
            .iter()
            .enumerate()
            .map(|(index, job)| (job.esco_code.as_str(), index))
            .collect();
        let mut job_lists: HashMap<String, Vec<usize>> = HashMap::new();
        for row in read::<JobListRow>("job_lists.csv", SOURCES.job_lists)? {
            let index = *job_index.get(row.esco_code.as_str()).ok_or_else(|| {
                TableError::invalid(
                    "job_lists.csv",
                    format!("list {} names {}, not in jobs.csv", row.list, row.esco_code),
                )
            })?;
            job_lists.entry(row.list).or_default().push(index);
        }
        let employers = read::<EmployerRow>("employers.csv", SOURCES.employers)?
            .into_iter()
            .map(|row| {
                let jobs = job_lists.get(&row.jobs).cloned().ok_or_else(|| {
                    TableError::invalid(
                        "employers.csv",
                        format!("{} names the unknown job list {}", row.name, row.jobs),
                    )
                })?;
                Ok(EmployerSpec {
                    name: row.name,
                    sector: row.sector,
                    province_code: row.province_code,
                    district_code: row.district_code,
                    weight: row.weight,
                    jobs,
                })
            })
            .collect::<Result<_, TableError>>()?;
        let mut given_names = read::<GivenNameRow>("given_names.csv", SOURCES.given_names)?;
        let male_names = given_names
            .iter()
            .filter(|row| row.sex == "male")
            .map(|row| Name {
                name_km: row.name_km.clone(),
                name_latin: row.name_latin.clone(),
            })
            .collect();
        given_names.retain(|row| row.sex != "male");
        if let Some(row) = given_names.iter().find(|row| row.sex != "female") {
            return Err(TableError::invalid(
                "given_names.csv",
                format!("sex {} is neither female nor male", row.sex),
            ));
        }
        let female_names = given_names
            .into_iter()
            .map(|row| Name {
                name_km: row.name_km,
                name_latin: row.name_latin,
            })
            .collect();
        Ok(Tables {
            jobs,
            employers,
            worker_occupations: by_sector(read(
                "worker_occupations.csv",
                SOURCES.worker_occupations,
            )?),
            thai_provinces: by_sector(read("thai_provinces.csv", SOURCES.thai_provinces)?),
            home_provinces: read("home_provinces.csv", SOURCES.home_provinces)?,
            work_provinces: read("work_provinces.csv", SOURCES.work_provinces)?,
            returnee_units: read::<UnitWeightRow>(
                "returnee_occupations.csv",
                SOURCES.returnee_occupations,
            )?
            .into_iter()
            .map(|row| (row.isco_unit, row.weight))
            .collect(),
            mobile_prefixes: read::<MobilePrefixRow>(
                "mobile_prefixes.csv",
                SOURCES.mobile_prefixes,
            )?
            .into_iter()
            .map(|row| {
                let prefix = MobilePrefix {
                    prefix: row.prefix,
                    subscriber_digits: row.subscriber_digits,
                };
                (prefix, row.weight)
            })
            .collect(),
            family_names: read("family_names.csv", SOURCES.family_names)?,
            female_names,
            male_names,
            brands: read::<BrandRow>("brands.csv", SOURCES.brands)?
                .into_iter()
                .map(|row| row.brand)
                .collect(),
        })
    }

    /// The provinces returnees come home to in `profile`, in file order: (NCDD code,
    /// weight).
    pub fn home_provinces(&self, profile: Profile) -> Vec<(&str, f64)> {
        of_profile(&self.home_provinces, profile)
    }

    /// The provinces where the vacancies of `profile` are, in file order.
    pub fn work_provinces(&self, profile: Profile) -> Vec<(&str, f64)> {
        of_profile(&self.work_provinces, profile)
    }

    /// The occupations returnees of `sector` did: (ESCO code, weight).
    pub fn worker_occupations_of(&self, sector: Sector) -> Option<&[(String, u32)]> {
        of_sector(&self.worker_occupations, sector)
    }

    /// The Thai provinces returnees of `sector` worked in: (DOPA code, weight).
    pub fn thai_provinces_of(&self, sector: Sector) -> Option<&[(String, u32)]> {
        of_sector(&self.thai_provinces, sector)
    }
}

fn of_profile(rows: &[ProfileWeightRow], profile: Profile) -> Vec<(&str, f64)> {
    rows.iter()
        .filter(|row| row.profile == profile)
        .map(|row| (row.province_code.as_str(), row.weight))
        .collect()
}

fn of_sector(table: &[(Sector, Vec<(String, u32)>)], sector: Sector) -> Option<&[(String, u32)]> {
    table
        .iter()
        .find(|(candidate, _)| *candidate == sector)
        .map(|(_, rows)| rows.as_slice())
}

/// Groups rows by sector, keeping the order of sectors and of rows within each.
fn by_sector(rows: Vec<SectorWeightRow>) -> Vec<(Sector, Vec<(String, u32)>)> {
    let mut grouped: Vec<(Sector, Vec<(String, u32)>)> = Vec::new();
    for row in rows {
        match grouped.iter_mut().find(|(sector, _)| *sector == row.sector) {
            Some((_, list)) => list.push((row.code, row.weight)),
            None => grouped.push((row.sector, vec![(row.code, row.weight)])),
        }
    }
    grouped
}

/// Why an embedded table could not be parsed. Only a corrupt build can produce one.
#[derive(Debug, thiserror::Error)]
enum TableError {
    #[error("{file}: {source}")]
    Csv {
        file: &'static str,
        #[source]
        source: csv::Error,
    },
    #[error("{file}: {message}")]
    Invalid { file: &'static str, message: String },
}

impl TableError {
    fn invalid(file: &'static str, message: impl Into<String>) -> TableError {
        TableError::Invalid {
            file,
            message: message.into(),
        }
    }
}

fn read<T: serde::de::DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<Vec<T>, TableError> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .map_err(|source| TableError::Csv { file, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobmatch_domain::Reference;

    /// Every row parses and names ESCO occupations, ISCO unit groups and provinces
    /// the reference data holds.
    #[test]
    fn every_row_parses_and_refers_to_known_codes() {
        let tables = Tables::parse().expect("the embedded tables parse");
        let reference = Reference::embedded();
        let taxonomy = &reference.taxonomy;
        let gazetteer = &reference.gazetteer;
        let occupation_in_its_group = |esco_code: &str| {
            taxonomy.occupations().iter().any(|occupation| {
                occupation.esco_code == esco_code && esco_code.starts_with(&occupation.isco_code)
            })
        };
        for job in &tables.jobs {
            assert!(
                occupation_in_its_group(&job.esco_code),
                "jobs.csv: {}",
                job.esco_code
            );
            assert!(
                job.wage_min_low_usd <= job.wage_min_high_usd,
                "{}",
                job.esco_code
            );
            assert!(
                job.wage_max_low_usd <= job.wage_max_high_usd,
                "{}",
                job.esco_code
            );
            assert!(job.positions_low <= job.positions_high, "{}", job.esco_code);
        }
        for (_, list) in &tables.worker_occupations {
            for (code, _) in list {
                assert!(
                    occupation_in_its_group(code),
                    "worker_occupations.csv: {code}"
                );
            }
        }
        assert!((28..=36).contains(&tables.employers.len()));
        for spec in &tables.employers {
            let district = gazetteer
                .district(&spec.district_code)
                .unwrap_or_else(|| panic!("employers.csv: {} has no district", spec.name));
            assert_eq!(district.province_code, spec.province_code, "{}", spec.name);
            assert!(!spec.jobs.is_empty(), "{}", spec.name);
        }
        for (_, list) in &tables.thai_provinces {
            for (code, _) in list {
                assert!(
                    gazetteer.thai_province(code).is_some(),
                    "thai_provinces.csv: {code}"
                );
            }
        }
        for profile in [Profile::Demo, Profile::Evaluation, Profile::Benches] {
            let homes = tables.home_provinces(profile);
            assert!(!homes.is_empty(), "{profile:?}");
            for (code, _) in homes.iter().chain(&tables.work_provinces(profile)) {
                assert!(
                    gazetteer.province(code).is_some(),
                    "{profile:?}: province {code}"
                );
            }
        }
        for (unit, _) in &tables.returnee_units {
            assert!(
                taxonomy.occupations().iter().any(|o| o.isco_code == *unit),
                "returnee_occupations.csv: {unit}"
            );
        }
        assert!(
            tables.family_names.len() >= 10,
            "the first ten are the most common"
        );
        assert!(!tables.female_names.is_empty() && !tables.male_names.is_empty());
        assert!(!tables.brands.is_empty() && !tables.mobile_prefixes.is_empty());
    }
}
