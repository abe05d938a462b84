//! The regression guard on match quality: the committed evaluation set is what the
//! documented command generates, and on it the engine meets the targets of issue 3 in
//! both directions and beats the Jaccard baseline.

use jobmatch_domain::Reference;
use jobmatch_eval::{Dataset, Direction, Settings, committed_set_dir, evaluate, generate};

fn committed() -> Dataset {
    Dataset::load(&committed_set_dir()).expect("the committed evaluation set loads")
}

#[test]
fn committed_set_is_exactly_what_the_generator_writes() {
    let generated = generate::generate(Reference::embedded());
    for (name, content) in generated.files().unwrap() {
        let path = committed_set_dir().join(name);
        let committed = std::fs::read_to_string(&path).unwrap();
        assert!(
            committed == content,
            "{} differs from the generator's output: run `cargo run -p jobmatch-eval --release -- generate --out fixtures/eval`",
            path.display()
        );
    }
}

#[test]
fn engine_meets_the_quality_targets_in_both_directions_and_beats_the_baseline() {
    let dataset = committed();
    let reports = evaluate(&dataset, Reference::embedded(), Settings::default()).unwrap();
    let table = jobmatch_eval::table(&reports);
    assert_eq!(reports.len(), 2, "{table}");
    for report in &reports {
        assert!(report.engine.queries >= 50, "{table}");
        assert!(report.engine.ndcg >= 0.90, "nDCG@10 below 0.90:\n{table}");
        assert!(
            report.engine.infeasible <= 0.01,
            "more than 1 % infeasible in the top 10:\n{table}"
        );
        assert!(
            report.engine.ndcg > report.baseline.ndcg
                && report.engine.precision > report.baseline.precision,
            "the engine does not beat the Jaccard baseline:\n{table}"
        );
    }
    let directions: Vec<Direction> = reports.iter().map(|r| r.direction).collect();
    assert_eq!(directions, Direction::BOTH);
}

#[test]
fn congestion_damping_at_a_moderate_strength_keeps_the_target() {
    let dataset = committed();
    let settings = Settings {
        congestion_damping: 0.1,
        ..Settings::default()
    };
    let reports = evaluate(&dataset, Reference::embedded(), settings).unwrap();
    let candidates = reports
        .iter()
        .find(|r| r.direction == Direction::Candidates)
        .unwrap();
    assert!(
        candidates.engine.ndcg >= 0.90 && candidates.engine.infeasible <= 0.01,
        "{}",
        jobmatch_eval::table(&reports)
    );
}
