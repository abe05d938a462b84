//! The evaluation set on disk: four plain-text files, deterministic and diffable.
//!
//! | file | content |
//! |---|---|
//! | `manifest.json` | the judging date (`today`) and the counts |
//! | `workers.ndjson` | one `{"id", "worker"}` a line, `worker` a `POST /v1/workers` body |
//! | `vacancies.ndjson` | one `{"id", "vacancy"}` a line, `vacancy` a `POST /v1/vacancies` body |
//! | `queries.ndjson` | one `{"id", "direction", "subject"}` a line: `candidates` ranks workers for the vacancy `subject`, `vacancies` ranks vacancies for the worker `subject` |
//! | `judgements.tsv` | `query`, `item`, `grade` (0–3), `feasibility` (`feasible` or reason codes joined by `+`) |
//!
//! `judgements.tsv` lists every pair of a query with its whole pool (all workers, or
//! all vacancies) whose grade is above 0 or that is infeasible; a pair not listed is
//! feasible and unrelated (grade 0).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use chrono::NaiveDate;
use jobmatch_domain::resources::{VacancyInput, WorkerInput};
use serde::{Deserialize, Serialize};

use crate::judge::Infeasibility;

/// Which way a query ranks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Workers for a vacancy.
    Candidates,
    /// Vacancies for a worker.
    Vacancies,
}

impl Direction {
    pub const BOTH: [Direction; 2] = [Direction::Candidates, Direction::Vacancies];

    pub fn label(self) -> &'static str {
        match self {
            Direction::Candidates => "vacancy -> candidates",
            Direction::Vacancies => "worker -> vacancies",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Query {
    pub id: String,
    pub direction: Direction,
    /// The vacancy (for `candidates`) or worker (for `vacancies`) id.
    pub subject: String,
}

/// A judged pair as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub grade: u8,
    pub infeasible: Vec<Infeasibility>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The date ages, availability and closing dates are judged on.
    pub today: NaiveDate,
    pub workers: usize,
    pub vacancies: usize,
    pub queries: usize,
    /// How the set was made.
    pub generator: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct WorkerLine {
    id: String,
    worker: WorkerInput,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct VacancyLine {
    id: String,
    vacancy: VacancyInput,
}

/// A whole evaluation set in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub manifest: Manifest,
    pub workers: Vec<(String, WorkerInput)>,
    pub vacancies: Vec<(String, VacancyInput)>,
    pub queries: Vec<Query>,
    /// By `(query id, item id)`; pairs not present are feasible and graded 0.
    pub labels: HashMap<(String, String), Label>,
}

const JUDGEMENTS_HEADER: &str = "# query\titem\tgrade\tfeasibility";

impl Dataset {
    /// The label of a pair (feasible and 0 when not listed).
    pub fn label(&self, query: &str, item: &str) -> Label {
        self.labels
            .get(&(query.to_string(), item.to_string()))
            .cloned()
            .unwrap_or(Label {
                grade: 0,
                infeasible: Vec::new(),
            })
    }

    /// The files' contents by name, exactly as [`Dataset::save`] writes them.
    pub fn files(&self) -> anyhow::Result<Vec<(&'static str, String)>> {
        let mut manifest = serde_json::to_string_pretty(&self.manifest)?;
        manifest.push('\n');
        let mut workers = String::new();
        for (id, worker) in &self.workers {
            let line = WorkerLine {
                id: id.clone(),
                worker: worker.clone(),
            };
            writeln!(workers, "{}", serde_json::to_string(&line)?)?;
        }
        let mut vacancies = String::new();
        for (id, vacancy) in &self.vacancies {
            let line = VacancyLine {
                id: id.clone(),
                vacancy: vacancy.clone(),
            };
            writeln!(vacancies, "{}", serde_json::to_string(&line)?)?;
        }
        let mut queries = String::new();
        for query in &self.queries {
            writeln!(queries, "{}", serde_json::to_string(query)?)?;
        }
        // In query order, then item id.
        let order: HashMap<&str, usize> = self
            .queries
            .iter()
            .enumerate()
            .map(|(index, query)| (query.id.as_str(), index))
            .collect();
        let mut rows: Vec<(&(String, String), &Label)> = self.labels.iter().collect();
        rows.sort_by_key(|((query, item), _)| (order.get(query.as_str()).copied(), item.clone()));
        let mut judgements = String::from(JUDGEMENTS_HEADER);
        judgements.push('\n');
        for ((query, item), label) in rows {
            let feasibility = if label.infeasible.is_empty() {
                "feasible".to_string()
            } else {
                label
                    .infeasible
                    .iter()
                    .map(|reason| reason.code())
                    .collect::<Vec<_>>()
                    .join("+")
            };
            writeln!(
                judgements,
                "{query}\t{item}\t{}\t{feasibility}",
                label.grade
            )?;
        }
        Ok(vec![
            ("manifest.json", manifest),
            ("workers.ndjson", workers),
            ("vacancies.ndjson", vacancies),
            ("queries.ndjson", queries),
            ("judgements.tsv", judgements),
        ])
    }

    pub fn save(&self, directory: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(directory)
            .with_context(|| format!("creating {}", directory.display()))?;
        for (name, content) in self.files()? {
            let path = directory.join(name);
            std::fs::write(&path, content)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }

    pub fn load(directory: &Path) -> anyhow::Result<Dataset> {
        let read = |name: &str| {
            let path = directory.join(name);
            std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
        };
        let manifest: Manifest =
            serde_json::from_str(&read("manifest.json")?).context("parsing manifest.json")?;
        let workers = ndjson::<WorkerLine>(&read("workers.ndjson")?, "workers.ndjson")?
            .into_iter()
            .map(|line| (line.id, line.worker))
            .collect();
        let vacancies = ndjson::<VacancyLine>(&read("vacancies.ndjson")?, "vacancies.ndjson")?
            .into_iter()
            .map(|line| (line.id, line.vacancy))
            .collect();
        let queries = ndjson::<Query>(&read("queries.ndjson")?, "queries.ndjson")?;
        let mut labels = HashMap::new();
        for (number, line) in read("judgements.tsv")?.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').collect();
            let [query, item, grade, feasibility] = fields[..] else {
                bail!(
                    "judgements.tsv line {}: expected 4 tab-separated fields",
                    number + 1
                );
            };
            let grade: u8 = grade
                .parse()
                .ok()
                .filter(|grade| *grade <= 3)
                .with_context(|| format!("judgements.tsv line {}: bad grade", number + 1))?;
            let infeasible = if feasibility == "feasible" {
                Vec::new()
            } else {
                feasibility
                    .split('+')
                    .map(|code| {
                        Infeasibility::parse(code).with_context(|| {
                            format!("judgements.tsv line {}: unknown reason {code}", number + 1)
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?
            };
            labels.insert(
                (query.to_string(), item.to_string()),
                Label { grade, infeasible },
            );
        }
        Ok(Dataset {
            manifest,
            workers,
            vacancies,
            queries,
            labels,
        })
    }
}

fn ndjson<T: for<'de> Deserialize<'de>>(text: &str, name: &str) -> anyhow::Result<Vec<T>> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| {
            serde_json::from_str(line).with_context(|| format!("{name} line {}", number + 1))
        })
        .collect()
}
