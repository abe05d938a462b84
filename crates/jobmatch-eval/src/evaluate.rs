//! Running the queries of a set through the engine and through a naive baseline, and
//! scoring both rankings against the judgements.
//!
//! - **nDCG@10**: gains `2^grade - 1`, discount `log2(rank + 1)`, divided by the DCG of
//!   the ideal top 10 among every judged item of the query's pool; averaged over
//!   queries.
//! - **P@10**: items of grade ≥ 2 among the top 10, divided by 10.
//! - **infeasible@10**: of all items returned in the top 10 over all queries, the share
//!   the judge found infeasible.
//! - **congestion**: the most top-10 lists one item appears in, and how many distinct
//!   items all the top-10 lists hold together (what congestion damping spreads).
//!
//! The engine answers as the API does by default (`candidates_for_vacancy`,
//! `vacancies_for_worker` with at most 3 vacancies per employer), with `limit` 10. The
//! baseline ranks the whole pool by the Jaccard index of skill sets (the person's
//! skills against the vacancy's required and preferred skills), ties by id, leaving
//! out items sharing no skill; it knows nothing of feasibility.

use std::collections::HashSet;

use anyhow::Context as _;
use jobmatch_domain::Reference;
use jobmatch_domain::resources::{VacancyInput, WorkerInput};
use jobmatch_matching::{CandidateQuery, MatchIndex, VacancyQuery, Weights};

use crate::dataset::{Dataset, Direction, Query};

/// Ranks cut at this depth.
pub const DEPTH: usize = 10;

/// Engine settings an evaluation run varies.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    pub weights: Weights,
    /// Candidate-list congestion damping (see `CandidateQuery::congestion_damping`).
    pub congestion_damping: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            weights: Weights::default(),
            congestion_damping: CandidateQuery::new(crate::generate::today()).congestion_damping,
        }
    }
}

/// Quality of one system in one direction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Metrics {
    pub ndcg: f64,
    pub precision: f64,
    /// Share of returned top-10 items that are infeasible.
    pub infeasible: f64,
    pub queries: usize,
    /// Items returned in the top 10 over all queries.
    pub returned: usize,
    /// Congestion: the most top-10 lists one item appears in.
    pub most_lists: usize,
    /// Congestion: distinct items over all top-10 lists.
    pub distinct: usize,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    pub direction: Direction,
    pub engine: Metrics,
    pub baseline: Metrics,
}

fn gain(grade: u8) -> f64 {
    f64::from((1u32 << grade) - 1)
}

fn dcg(grades: impl IntoIterator<Item = u8>) -> f64 {
    grades
        .into_iter()
        .take(DEPTH)
        .enumerate()
        .map(|(rank, grade)| gain(grade) / ((rank + 2) as f64).log2())
        .sum()
}

/// Metrics of `rankings` (one list of item ids per query) against the judgements.
fn score(dataset: &Dataset, queries: &[&Query], rankings: &[Vec<String>]) -> Metrics {
    let (mut ndcg_sum, mut precision_sum) = (0.0, 0.0);
    let (mut returned, mut infeasible) = (0, 0);
    for (query, ranking) in queries.iter().zip(rankings) {
        let mut ideal: Vec<u8> = dataset
            .labels
            .iter()
            .filter(|((id, _), _)| *id == query.id)
            .map(|(_, label)| label.grade)
            .collect();
        ideal.sort_unstable_by(|a, b| b.cmp(a));
        let labels: Vec<_> = ranking
            .iter()
            .take(DEPTH)
            .map(|item| dataset.label(&query.id, item))
            .collect();
        let ideal_dcg = dcg(ideal);
        if ideal_dcg > 0.0 {
            ndcg_sum += dcg(labels.iter().map(|label| label.grade)) / ideal_dcg;
        }
        precision_sum +=
            labels.iter().filter(|label| label.grade >= 2).count() as f64 / DEPTH as f64;
        returned += labels.len();
        infeasible += labels
            .iter()
            .filter(|label| !label.infeasible.is_empty())
            .count();
    }
    let mut lists_per_item: std::collections::HashMap<&str, usize> = Default::default();
    for ranking in rankings {
        for item in ranking.iter().take(DEPTH) {
            *lists_per_item.entry(item.as_str()).or_default() += 1;
        }
    }
    let count = queries.len().max(1) as f64;
    Metrics {
        most_lists: lists_per_item.values().copied().max().unwrap_or(0),
        distinct: lists_per_item.len(),
        ndcg: ndcg_sum / count,
        precision: precision_sum / count,
        infeasible: infeasible as f64 / returned.max(1) as f64,
        queries: queries.len(),
        returned,
    }
}

fn skill_set(skills: impl Iterator<Item = String>, reference: &Reference) -> HashSet<u32> {
    skills
        .filter_map(|skill| reference.taxonomy.skill_id(&skill))
        .map(|id| id.0)
        .collect()
}

fn worker_skills(worker: &WorkerInput, reference: &Reference) -> HashSet<u32> {
    skill_set(worker.skills.iter().map(|s| s.skill.clone()), reference)
}

fn vacancy_skills(vacancy: &VacancyInput, reference: &Reference) -> HashSet<u32> {
    skill_set(
        vacancy
            .required_skills
            .iter()
            .map(|s| s.skill.clone())
            .chain(vacancy.preferred_skills.iter().map(|s| s.skill.clone())),
        reference,
    )
}

fn jaccard(a: &HashSet<u32>, b: &HashSet<u32>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        0.0
    } else {
        a.intersection(b).count() as f64 / union as f64
    }
}

/// The top [`DEPTH`] of `pool` by Jaccard similarity to `subject`, ties by id.
fn jaccard_top(subject: &HashSet<u32>, pool: &[(String, HashSet<u32>)]) -> Vec<String> {
    let mut scored: Vec<(f64, &String)> = pool
        .iter()
        .map(|(id, skills)| (jaccard(subject, skills), id))
        .filter(|(similarity, _)| *similarity > 0.0)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(DEPTH)
        .map(|(_, id)| id.clone())
        .collect()
}

/// Evaluates engine and baseline in both directions.
pub fn evaluate(
    dataset: &Dataset,
    reference: &'static Reference,
    settings: Settings,
) -> anyhow::Result<Vec<Report>> {
    let today = dataset.manifest.today;
    let mut index = MatchIndex::new(reference, settings.weights)?;
    for (id, worker) in &dataset.workers {
        index.upsert_worker(id, worker)?;
    }
    for (id, vacancy) in &dataset.vacancies {
        index.upsert_vacancy(id, vacancy)?;
    }
    let worker_pool: Vec<(String, HashSet<u32>)> = dataset
        .workers
        .iter()
        .map(|(id, worker)| (id.clone(), worker_skills(worker, reference)))
        .collect();
    let vacancy_pool: Vec<(String, HashSet<u32>)> = dataset
        .vacancies
        .iter()
        .map(|(id, vacancy)| (id.clone(), vacancy_skills(vacancy, reference)))
        .collect();

    let mut reports = Vec::new();
    for direction in Direction::BOTH {
        let queries: Vec<&Query> = dataset
            .queries
            .iter()
            .filter(|query| query.direction == direction)
            .collect();
        let mut engine = Vec::new();
        let mut baseline = Vec::new();
        for query in &queries {
            match direction {
                Direction::Candidates => {
                    let request = CandidateQuery {
                        limit: DEPTH,
                        congestion_damping: settings.congestion_damping,
                        ..CandidateQuery::new(today)
                    };
                    let found = index
                        .candidates_for_vacancy(&query.subject, &request)
                        .with_context(|| format!("query {}", query.id))?;
                    engine.push(found.into_iter().map(|m| m.worker_id).collect());
                    let (_, vacancy) = dataset
                        .vacancies
                        .iter()
                        .find(|(id, _)| *id == query.subject)
                        .with_context(|| format!("query {}: unknown vacancy", query.id))?;
                    baseline.push(jaccard_top(
                        &vacancy_skills(vacancy, reference),
                        &worker_pool,
                    ));
                }
                Direction::Vacancies => {
                    let request = VacancyQuery {
                        limit: DEPTH,
                        ..VacancyQuery::new(today)
                    };
                    let found = index
                        .vacancies_for_worker(&query.subject, &request)
                        .with_context(|| format!("query {}", query.id))?;
                    engine.push(found.into_iter().map(|m| m.vacancy_id).collect());
                    let (_, worker) = dataset
                        .workers
                        .iter()
                        .find(|(id, _)| *id == query.subject)
                        .with_context(|| format!("query {}: unknown worker", query.id))?;
                    baseline.push(jaccard_top(
                        &worker_skills(worker, reference),
                        &vacancy_pool,
                    ));
                }
            }
        }
        reports.push(Report {
            direction,
            engine: score(dataset, &queries, &engine),
            baseline: score(dataset, &queries, &baseline),
        });
    }
    Ok(reports)
}

/// The reports as a table.
pub fn table(reports: &[Report]) -> String {
    let mut out = format!(
        "{:<24} {:<18} {:>8} {:>7} {:>14} {:>8} {:>11} {:>9}\n",
        "direction",
        "system",
        "nDCG@10",
        "P@10",
        "infeasible@10",
        "queries",
        "most lists",
        "distinct"
    );
    for report in reports {
        for (system, metrics) in [
            ("engine", &report.engine),
            ("Jaccard baseline", &report.baseline),
        ] {
            out.push_str(&format!(
                "{:<24} {:<18} {:>8.3} {:>7.3} {:>13.1}% {:>8} {:>11} {:>9}\n",
                report.direction.label(),
                system,
                metrics.ndcg,
                metrics.precision,
                metrics.infeasible * 100.0,
                metrics.queries,
                metrics.most_lists,
                metrics.distinct
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dcg_of_an_ideal_ranking_over_itself_is_one() {
        let ranking = [3u8, 2, 2, 1, 0];
        assert!((dcg(ranking) / dcg(ranking) - 1.0).abs() < 1e-12);
        // Swapping the best item down lowers it.
        assert!(dcg([2u8, 3, 2, 1, 0]) < dcg(ranking));
    }

    #[test]
    fn jaccard_counts_shared_over_all() {
        let a: HashSet<u32> = [1, 2, 3].into();
        let b: HashSet<u32> = [2, 3, 4, 5].into();
        assert!((jaccard(&a, &b) - 0.4).abs() < 1e-12);
    }
}
