//! `jobmatch import`: bulk loads of employers, vacancies and returnee profiles
//! from NDJSON (each line the body of a create request) or CSV (flat columns, as
//! registration forms such as KoboToolbox export them; the mapping is in
//! `columns.rs` and README.md).
//!
//! Every row goes through exactly what `POST /v1/...` does to a body
//! ([`store_batch`]: the API's validation, its filter columns and id, the employer
//! check of vacancies) and is written straight to the database in batches of
//! [`BATCH_ROWS`], one transaction each, with its change-feed rows; a running
//! server picks the rows up through the feed. Bad rows are reported (line, field,
//! message: the API's 422 paths and messages) and skipped; good rows are kept.
//!
//! Rows are keyed on `(source, external_id)`: importing a file again creates
//! nothing new. A row whose record is stored updates it when anything differs and
//! leaves it alone (no new version, no change-feed entry) when nothing does; a
//! consent time the server filled in last time is kept while the decision stands.
//!
//! A reader thread splits the file into rows; each batch is then parsed,
//! validated and serialised on every core (rayon) while the previous batch is
//! written, so that the one writer the database allows is the only sequential
//! step.
//!
//! This module holds that pipeline; the reader thread and the two formats are in
//! `read.rs`, the CSV column mapping in `columns.rs`, the resolution of a
//! vacancy's `employer_external_id` in `employers.rs`, and `--report` in
//! `report.rs`.

mod columns;
mod employers;
mod read;
mod report;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use jobmatch_domain::resources::{EmployerInput, VacancyInput, WorkerInput};
use jobmatch_domain::{FieldError, Reference};
use jobmatch_service::ResourceKind;
use jobmatch_service::batch::{
    BatchItem, BatchItemOutcome, ValidDocument, prepare_batch, validate_item, write_batch,
};
use jobmatch_store::{Entity, Store};
use rayon::prelude::*;
use serde_json::Value;

use columns::ColumnMapping;
use employers::EmployerIds;
use read::{csv_reader, read_csv, read_ndjson, spawn_reader};
use report::Report;

/// Rows per transaction: large enough that the disk flush at each commit is
/// negligible, small enough that a batch's memory and lock hold stay small.
pub const BATCH_ROWS: usize = 2_000;
/// Rejected rows printed on standard error; the rest only go to `--report`.
const PRINTED_REJECTIONS: usize = 100;
/// Batches read ahead of validation.
const BATCHES_AHEAD: usize = 4;
/// Validated batches queued for the writer.
const WRITES_AHEAD: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    Workers,
    Vacancies,
    Employers,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Ndjson,
    Csv,
}

impl Format {
    /// From the file name: `.csv` (or `.tsv`) is CSV, `.ndjson`, `.jsonl` and
    /// `.json` are NDJSON.
    pub fn guess(path: &Path) -> Option<Format> {
        let extension = path.extension()?.to_str()?.to_ascii_lowercase();
        match extension.as_str() {
            "csv" | "tsv" => Some(Format::Csv),
            "ndjson" | "jsonl" | "json" => Some(Format::Ndjson),
            _ => None,
        }
    }
}

pub struct Options {
    pub kind: Kind,
    pub file: PathBuf,
    /// Scopes `external_id`, as an API key does for records it sends.
    pub source: String,
    pub format: Format,
    /// Where to write the rejected rows.
    pub report: Option<PathBuf>,
}

/// What an import did, for the closing line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub read: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// Rows whose consent staff decided later: the stored consent was kept.
    pub consent_kept: u64,
    pub elapsed: Duration,
}

impl Summary {
    pub fn rows_per_second(&self) -> f64 {
        self.read as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "read {}, created {}, updated {}, unchanged {}, rejected {} in {:.1} s ({:.0} rows/s)",
            self.read,
            self.created,
            self.updated,
            self.unchanged,
            self.rejected,
            self.elapsed.as_secs_f64(),
            self.rows_per_second()
        )?;
        if self.consent_kept > 0 {
            write!(
                f,
                "; consent kept as staff decided for {}",
                self.consent_kept
            )?;
        }
        Ok(())
    }
}

/// One row as read: where it starts, its text for the report, and the JSON
/// object it maps to (or why it maps to none); `None` for an NDJSON line, which
/// is parsed with the rest of its batch on every core.
struct Row {
    line: u64,
    raw: RawRow,
    object: Option<BatchItem>,
}

enum RawRow {
    Line(String),
    Record(csv::StringRecord),
}

struct Batch {
    rows: Vec<Row>,
    /// Bytes of the file read so far, for the progress bar.
    bytes_read: u64,
}

pub async fn run(store: &Store, options: &Options) -> anyhow::Result<Summary> {
    match options.kind {
        Kind::Workers => run_typed::<WorkerInput>(store, options).await,
        Kind::Vacancies => run_typed::<VacancyInput>(store, options).await,
        Kind::Employers => run_typed::<EmployerInput>(store, options).await,
    }
}

async fn run_typed<R: ResourceKind + Send + 'static>(
    store: &Store,
    options: &Options,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let reference = Reference::embedded();
    let file = File::open(&options.file)
        .with_context(|| format!("could not open {}", options.file.display()))?;
    let file_bytes = file.metadata().map(|m| m.len()).unwrap_or(0);

    // Columns first: a CSV file whose header cannot be mapped imports nothing.
    let (batches, reader) = match options.format {
        Format::Ndjson => spawn_reader(move |send| read_ndjson(file, send)),
        Format::Csv => {
            let (mut reader, bytes) = csv_reader(file, &options.file)?;
            let mapping = ColumnMapping::new(R::ENTITY, reader.headers()?)?;
            spawn_reader(move |send| read_csv((reader, bytes), mapping, send))
        }
    };
    let report = match &options.report {
        Some(path) => Some(Report::create(path, options.format, &options.file)?),
        None => None,
    };

    let progress = indicatif::ProgressBar::new(file_bytes);
    progress.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {msg} ({eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let mut tally = Tally {
        summary: Summary::default(),
        report,
        progress: progress.clone(),
    };
    let mut employers = EmployerIds::default();
    let mut batches = batches;
    // One writer, fed in file order, so that an external id repeated across
    // batches is written as if the rows had been sent one after the other; the
    // queue lets reading and validation run ahead while it writes.
    let (to_writer, mut writer_inbox) = tokio::sync::mpsc::channel::<ToWrite>(WRITES_AHEAD);
    let (written_send, mut written) = tokio::sync::mpsc::unbounded_channel::<Written>();
    let writer = {
        let (store, source) = (store.clone(), options.source.clone());
        tokio::spawn(async move {
            while let Some((documents, raws)) = writer_inbox.recv().await {
                let outcome = write_batch::<R>(&store, &source, documents)
                    .await
                    .map_err(|error| anyhow::anyhow!("could not store a batch: {error}"));
                let failed = outcome.is_err();
                if written_send.send((outcome, raws)).is_err() || failed {
                    break;
                }
            }
        })
    };
    while let Some(batch) = batches.recv().await {
        let Batch { rows, bytes_read } = batch?;
        let (mut objects, raws) = parse_on_every_core(rows);
        if R::ENTITY == Entity::Vacancy {
            employers
                .resolve(store, &options.source, &mut objects)
                .await?;
        }
        let objects = prepare_batch::<R>(store, &options.source, objects)
            .await
            .map_err(|error| anyhow::anyhow!("could not read stored records: {error}"))?;
        let documents = validate_on_every_core::<R>(objects, reference);
        // A send fails only once the writer has stopped on an error, which
        // the tally below then reports.
        let writer_stopped = to_writer.send((documents, raws)).await.is_err();
        while let Ok((outcome, raws)) = written.try_recv() {
            tally.record(outcome?, raws)?;
        }
        if writer_stopped {
            break;
        }
        progress.set_position(bytes_read);
    }
    drop(to_writer);
    while let Some((outcome, raws)) = written.recv().await {
        tally.record(outcome?, raws)?;
    }
    writer
        .await
        .map_err(|_| anyhow::anyhow!("the batch writer panicked"))?;
    let Tally {
        mut summary,
        report,
        ..
    } = tally;
    progress.finish_and_clear();
    // The reader stops at the first read error and hands it over; join to be sure
    // it has finished.
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the file reader panicked"))?;
    if let Some(report) = report {
        report.finish()?;
    }
    if summary.rejected as usize > PRINTED_REJECTIONS {
        eprintln!(
            "... and {} more rejected rows{}",
            summary.rejected as usize - PRINTED_REJECTIONS,
            if options.report.is_some() {
                " (all are in the report)"
            } else {
                "; use --report FILE to keep them all"
            }
        );
    }
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// A validated batch for the writer, with its rows' lines and text for the
/// report.
type ToWrite = (
    Vec<Result<ValidDocument, Vec<FieldError>>>,
    Vec<(u64, RawRow)>,
);
/// What became of a batch the writer took.
type Written = (anyhow::Result<Vec<BatchItemOutcome>>, Vec<(u64, RawRow)>);

/// Counts outcomes, reports rejected rows.
struct Tally {
    summary: Summary,
    report: Option<Report>,
    progress: indicatif::ProgressBar,
}

impl Tally {
    fn record(
        &mut self,
        outcomes: Vec<BatchItemOutcome>,
        raws: Vec<(u64, RawRow)>,
    ) -> anyhow::Result<()> {
        let summary = &mut self.summary;
        for (outcome, (line, raw)) in outcomes.into_iter().zip(raws) {
            summary.read += 1;
            match outcome {
                BatchItemOutcome::Created { .. } => summary.created += 1,
                BatchItemOutcome::Existing {
                    changed,
                    consent_kept,
                    ..
                } => {
                    if changed {
                        summary.updated += 1;
                    } else {
                        summary.unchanged += 1;
                    }
                    if consent_kept {
                        summary.consent_kept += 1;
                        self.progress.suspend(|| {
                            eprintln!("line {line}: consent.share_with_employers: staff decided this person's consent later; the stored consent was kept")
                        });
                    }
                }
                BatchItemOutcome::Rejected { errors } => {
                    summary.rejected += 1;
                    if summary.rejected as usize <= PRINTED_REJECTIONS {
                        for error in &errors {
                            self.progress.suspend(|| {
                                eprintln!("line {line}: {}: {}", error.field, error.message)
                            });
                        }
                    }
                    if let Some(report) = &mut self.report {
                        report.write(line, &errors, &raw)?;
                    }
                }
            }
        }
        self.progress.set_message(format!("{} rows", summary.read));
        Ok(())
    }
}

/// The JSON object of each row (parsing NDJSON lines on every core), and apart
/// from it each row's line and text for the report, in order.
fn parse_on_every_core(rows: Vec<Row>) -> (Vec<BatchItem>, Vec<(u64, RawRow)>) {
    rows.into_par_iter()
        .map(|row| {
            let object = match (row.object, &row.raw) {
                (Some(object), _) => object,
                (None, RawRow::Line(line)) => json_object(line),
                (None, RawRow::Record(_)) => unreachable!("CSV rows are mapped as they are read"),
            };
            (object, (row.line, row.raw))
        })
        .unzip()
}

fn json_object(line: &str) -> BatchItem {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(vec![FieldError::new("body", "must be a JSON object")]),
        Err(error) => Err(vec![FieldError::new(
            "body",
            format!("is not valid JSON: {error}"),
        )]),
    }
}

/// Validates the items as the API does, and serialises the valid ones as they
/// will be stored, on every core, in order.
fn validate_on_every_core<R: ResourceKind + Send>(
    items: Vec<BatchItem>,
    reference: &Reference,
) -> Vec<Result<ValidDocument, Vec<FieldError>>> {
    items
        .into_par_iter()
        .map(|item| validate_item::<R>(item?, reference))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_is_guessed_from_the_extension() {
        assert_eq!(Format::guess(Path::new("a/workers.CSV")), Some(Format::Csv));
        assert_eq!(Format::guess(Path::new("w.ndjson")), Some(Format::Ndjson));
        assert_eq!(Format::guess(Path::new("w.jsonl")), Some(Format::Ndjson));
        assert_eq!(Format::guess(Path::new("w.xlsx")), None);
    }
}
