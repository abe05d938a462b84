//! `jobmatch gen`: a synthetic, national-scale data set for benchmarks and load
//! tests, written as NDJSON for `jobmatch import`.
//!
//! The documents come from the demo's [`Generator`] (`jobmatch-synthetic`, the
//! national-scale profile): skill mixes from real ESCO occupations, home provinces
//! weighted towards the north-west border, garment, construction and manufacturing
//! first; beyond the thirty hand-written employers, branches of them elsewhere in
//! their province. Each line is the body of a create
//! request with a deterministic `external_id` (`gen-worker-0000001`), so importing
//! the files twice creates nothing new. A vacancy names its employer by
//! `employer_external_id`, which `jobmatch import vacancies` resolves to the id the
//! employer got when `employers.ndjson` was imported under the same `--source`.
//! The same seed, date and sizes give byte-identical files.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use chrono::NaiveDate;
use jobmatch_domain::Reference;
use serde_json::Value;

use jobmatch_synthetic::demo::{Generator, Sizes};

/// Vacancies per employer when `--employers` is not given.
pub const VACANCIES_PER_EMPLOYER: usize = 50;
/// Prefix of every generated external id.
const PREFIX: &str = "gen";
/// Buffer per output file: large writes keep the generator, not the system
/// calls, the bottleneck.
const WRITE_BUFFER_BYTES: usize = 1 << 20;

/// What `gen` wrote.
#[derive(Debug, Clone)]
pub struct Generated {
    pub employers: PathBuf,
    pub vacancies: PathBuf,
    pub workers: PathBuf,
    pub sizes: Sizes,
}

/// Writes `employers.ndjson`, `vacancies.ndjson` and `workers.ndjson` into
/// `out` (created if missing). `employers` defaults to one per
/// [`VACANCIES_PER_EMPLOYER`] vacancies (at least one).
pub fn write(
    out: &Path,
    workers: usize,
    vacancies: usize,
    employers: Option<usize>,
    seed: u64,
    today: NaiveDate,
) -> anyhow::Result<Generated> {
    std::fs::create_dir_all(out)
        .with_context(|| format!("could not create the directory {}", out.display()))?;
    let sizes = Sizes {
        employers: employers.unwrap_or_else(|| vacancies.div_ceil(VACANCIES_PER_EMPLOYER).max(1)),
        vacancies,
        workers,
    };
    let mut generator = Generator::new(Reference::embedded(), today, seed, PREFIX, sizes)?;
    let generated = Generated {
        employers: out.join("employers.ndjson"),
        vacancies: out.join("vacancies.ndjson"),
        workers: out.join("workers.ndjson"),
        sizes,
    };

    let mut file = create(&generated.employers)?;
    let mut employer_external_ids = Vec::with_capacity(sizes.employers);
    for employer in generator.employers() {
        employer_external_ids.push(
            employer["external_id"]
                .as_str()
                .context("a generated employer has no external_id")?
                .to_string(),
        );
        write_line(&mut file, employer)?;
    }
    finish(file, &generated.employers)?;

    let mut file = create(&generated.vacancies)?;
    for _ in 0..sizes.vacancies {
        let (owner, mut vacancy) = generator.next_vacancy()?;
        vacancy
            .as_object_mut()
            .context("a generated vacancy is not an object")?
            .insert(
                "employer_external_id".into(),
                Value::String(employer_external_ids[owner].clone()),
            );
        write_line(&mut file, &vacancy)?;
    }
    finish(file, &generated.vacancies)?;

    let mut file = create(&generated.workers)?;
    for _ in 0..sizes.workers {
        write_line(&mut file, &generator.next_worker()?)?;
    }
    finish(file, &generated.workers)?;
    Ok(generated)
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    let file =
        File::create(path).with_context(|| format!("could not create {}", path.display()))?;
    Ok(BufWriter::with_capacity(WRITE_BUFFER_BYTES, file))
}

fn write_line(file: &mut BufWriter<File>, value: &Value) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *file, value)?;
    file.write_all(b"\n")?;
    Ok(())
}

fn finish(mut file: BufWriter<File>, path: &Path) -> anyhow::Result<()> {
    file.flush()
        .with_context(|| format!("could not write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobmatch_domain::resources::{EmployerInput, VacancyInput, WorkerInput};
    use jobmatch_service::batch::validate_item;

    fn lines(path: &Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .expect("readable")
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn object(line: &str) -> serde_json::Map<String, Value> {
        match serde_json::from_str(line).expect("each line is JSON") {
            Value::Object(object) => object,
            other => panic!("not an object: {other}"),
        }
    }

    #[test]
    fn the_same_seed_and_date_give_identical_files_and_another_seed_does_not() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
        let (first, second, other) = (
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
            tempfile::tempdir().expect("dir"),
        );
        let a = write(first.path(), 300, 120, None, 7, today).expect("gen");
        let b = write(second.path(), 300, 120, None, 7, today).expect("gen");
        let c = write(other.path(), 300, 120, None, 8, today).expect("gen");
        for (x, y) in [
            (&a.employers, &b.employers),
            (&a.vacancies, &b.vacancies),
            (&a.workers, &b.workers),
        ] {
            assert_eq!(std::fs::read(x).unwrap(), std::fs::read(y).unwrap());
        }
        assert_ne!(
            std::fs::read(&a.workers).unwrap(),
            std::fs::read(&c.workers).unwrap()
        );
        // 120 vacancies at 50 per employer: 3 employers.
        assert_eq!(lines(&a.employers).len(), 3);
        assert_eq!(lines(&a.vacancies).len(), 120);
        assert_eq!(lines(&a.workers).len(), 300);
        // Workers do not depend on how many vacancies were asked for.
        let fewer = tempfile::tempdir().expect("dir");
        let d = write(fewer.path(), 300, 10, None, 7, today).expect("gen");
        assert_eq!(
            std::fs::read(&a.workers).unwrap(),
            std::fs::read(&d.workers).unwrap()
        );
    }

    #[test]
    fn every_generated_row_passes_the_api_validation_with_a_unique_external_id() {
        let reference = Reference::embedded();
        let today = chrono::Utc::now().date_naive();
        let dir = tempfile::tempdir().expect("dir");
        // More employers than the hand-written ones, to cover branches.
        let generated = write(dir.path(), 3_000, 2_500, None, 1, today).expect("gen");
        assert_eq!(generated.sizes.employers, 50);

        let mut seen = std::collections::HashSet::new();
        let employers = lines(&generated.employers);
        for line in &employers {
            let employer = object(line);
            assert!(seen.insert(employer["external_id"].as_str().unwrap().to_string()));
            validate_item::<EmployerInput>(employer, reference)
                .unwrap_or_else(|errors| panic!("{line}: {errors:?}"));
        }
        let employer_ids: std::collections::HashSet<String> = seen.iter().cloned().collect();
        let mut open = 0;
        for line in lines(&generated.vacancies) {
            let mut vacancy = object(&line);
            let employer = vacancy
                .remove("employer_external_id")
                .and_then(|v| v.as_str().map(str::to_string))
                .expect("vacancies name their employer");
            assert!(employer_ids.contains(&employer), "{employer}");
            assert!(seen.insert(vacancy["external_id"].as_str().unwrap().to_string()));
            open += usize::from(vacancy["status"] == "open");
            // Any id will do for validation; the import fills in the real one.
            vacancy.insert(
                "employer_id".into(),
                Value::String("0199a3c2-7b1e-7d3a-9c41-5e2f8a6b0d17".into()),
            );
            validate_item::<VacancyInput>(vacancy, reference)
                .unwrap_or_else(|errors| panic!("{line}: {errors:?}"));
        }
        assert!(open > 2_000, "{open} of 2,500 vacancies open");

        let mut border = 0;
        let mut sectors = std::collections::HashMap::<String, usize>::new();
        for line in lines(&generated.workers) {
            let worker = object(&line);
            assert!(seen.insert(worker["external_id"].as_str().unwrap().to_string()));
            // Banteay Meanchey, Oddar Meanchey, Battambang, Siem Reap, Pursat, Preah Vihear.
            if ["01", "22", "02", "17", "15", "13"]
                .contains(&worker["province_code"].as_str().unwrap())
            {
                border += 1;
            }
            *sectors
                .entry(worker["preferred_sectors"][0].as_str().unwrap().to_string())
                .or_default() += 1;
            validate_item::<WorkerInput>(worker, reference)
                .unwrap_or_else(|errors| panic!("{line}: {errors:?}"));
        }
        assert!(
            border > 3_000 / 2,
            "{border} of 3,000 from the border provinces"
        );
        let leading = ["garment", "construction", "production"]
            .iter()
            .map(|s| sectors.get(*s).copied().unwrap_or(0))
            .sum::<usize>();
        assert!(leading > 3_000 * 6 / 10, "{sectors:?}");
    }
}
