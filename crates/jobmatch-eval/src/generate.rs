//! Making the evaluation set from the reference data: the returnees and vacancies of
//! the synthetic generator's evaluation profile
//! ([`jobmatch_synthetic::evaluation`]: real ESCO occupation–skill relations and
//! NCDD places), then queries, then judgements. Everything is drawn from one
//! SplitMix64 seeded with [`SEED`]: the same program gives the same files.
//!
//! Queries are drawn in a fixed shuffled order from the open vacancies and the seeking
//! workers, keeping those with at least one good (grade ≥ 2) match in the pool, so that
//! nDCG is defined for each.

use std::collections::HashMap;

use jobmatch_domain::resources::{VacancyInput, WorkerInput};
use jobmatch_domain::{Reference, Valid};
use jobmatch_synthetic::Rng;
use jobmatch_synthetic::evaluation::{Occupations, vacancy, worker};

use crate::dataset::{Dataset, Direction, Label, Manifest, Query};
use crate::judge::{judge, validated};

/// The judging date of the committed set.
pub use jobmatch_synthetic::evaluation::today;

/// Seed of the committed set.
pub const SEED: u64 = 20_260_302;
pub const WORKERS: usize = 320;
pub const VACANCIES: usize = 240;
pub const EMPLOYERS: usize = 24;
/// Queries in each direction.
pub const QUERIES: usize = 80;

/// The evaluation set: people, vacancies, queries, and every judgement above 0 or
/// infeasible.
pub fn generate(reference: &Reference) -> Dataset {
    let today = today();
    let mut rng = Rng::new(SEED);
    let occupations = Occupations::new(reference, &mut rng);
    let workers: Vec<(String, Valid<WorkerInput>)> = (1..=WORKERS)
        .map(|n| {
            let input = worker(reference, &occupations, &mut rng);
            (format!("w{n:03}"), validated(input, reference, "worker"))
        })
        .collect();
    let employers: Vec<String> = (1..=EMPLOYERS)
        .map(|n| format!("employer-{n:02}"))
        .collect();
    let vacancies: Vec<(String, Valid<VacancyInput>)> = (1..=VACANCIES)
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
        let order = rng.sample(&subjects, subjects.len());
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
        workers: without_mark(workers),
        vacancies: without_mark(vacancies),
        queries,
        labels,
    }
}

/// The documents as the dataset files keep them (read back, they are the
/// committed set, not checked again).
fn without_mark<T>(documents: Vec<(String, Valid<T>)>) -> Vec<(String, T)> {
    documents
        .into_iter()
        .map(|(id, document)| (id, document.into_inner()))
        .collect()
}

/// Judges only checked documents: a rule the generator broke would make the
/// judgement about a document the API would refuse.
fn label(
    worker: &Valid<WorkerInput>,
    vacancy: &Valid<VacancyInput>,
    reference: &Reference,
) -> Label {
    let verdict = judge(worker, vacancy, reference, today());
    Label {
        grade: verdict.grade,
        infeasible: verdict.infeasible,
    }
}
