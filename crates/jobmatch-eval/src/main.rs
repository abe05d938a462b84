//! `jobmatch-eval`: prints the quality table for an evaluation set, or regenerates the
//! committed one.
//!
//! ```sh
//! cargo run -p jobmatch-eval --release                                  # fixtures/eval
//! cargo run -p jobmatch-eval --release -- --dir HELD_OUT_SET
//! cargo run -p jobmatch-eval --release -- --related-skill-credit 0      # one setting varied
//! cargo run -p jobmatch-eval --release -- generate --out fixtures/eval
//! ```

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use jobmatch_domain::Reference;
use jobmatch_eval::{Dataset, Settings, committed_set_dir, evaluate, generate, table};

#[derive(Parser)]
#[command(
    about = "Match quality: nDCG@10, P@10 and infeasible@10 for the engine and a Jaccard baseline"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// The evaluation set to run (default: the committed fixtures/eval).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Overrides the related-skill credit (0 switches it off).
    #[arg(long)]
    related_skill_credit: Option<f64>,
    /// Overrides the congestion damping of candidate lists (0 switches it off).
    #[arg(long)]
    congestion_damping: Option<f64>,
}

#[derive(Subcommand)]
enum Command {
    /// Writes the evaluation set, deterministically, into a directory.
    Generate {
        #[arg(long, default_value = "fixtures/eval")]
        out: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let reference = Reference::embedded();
    if let Some(Command::Generate { out }) = cli.command {
        let dataset = generate::generate(reference);
        dataset.save(&out)?;
        println!(
            "wrote {} workers, {} vacancies, {} queries and {} judgements to {}",
            dataset.workers.len(),
            dataset.vacancies.len(),
            dataset.queries.len(),
            dataset.labels.len(),
            out.display()
        );
        return Ok(());
    }
    let directory = cli.dir.unwrap_or_else(committed_set_dir);
    let dataset = Dataset::load(&directory)
        .with_context(|| format!("loading the evaluation set in {}", directory.display()))?;
    let mut settings = Settings::default();
    if let Some(credit) = cli.related_skill_credit {
        settings.weights.related_skill_credit = credit;
    }
    if let Some(damping) = cli.congestion_damping {
        settings.congestion_damping = damping;
    }
    println!(
        "{}: {} workers, {} vacancies, {} queries, judged on {}; related_skill_credit {}, congestion_damping {}",
        directory.display(),
        dataset.workers.len(),
        dataset.vacancies.len(),
        dataset.queries.len(),
        dataset.manifest.today,
        settings.weights.related_skill_credit,
        settings.congestion_damping
    );
    print!("{}", table(&evaluate(&dataset, reference, settings)?));
    Ok(())
}
