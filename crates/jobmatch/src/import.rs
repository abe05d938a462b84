//! `jobmatch import`: bulk loads of employers, vacancies and returnee profiles
//! from NDJSON (each line the body of a create request) or CSV (flat columns, as
//! registration forms such as KoboToolbox export them; the mapping is in
//! [`columns_of`] and README.md).
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

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use jobmatch_domain::resources::{EmployerInput, VacancyInput, WorkerInput};
use jobmatch_domain::{FieldError, Reference};
use jobmatch_service::ResourceKind;
use jobmatch_service::batch::{
    BatchItem, BatchItemOutcome, ValidDocument, prepare_batch, validate_item, write_batch,
};
use jobmatch_store::{Entity, Store};
use rayon::prelude::*;
use serde_json::{Map, Value};

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

type Sender = tokio::sync::mpsc::Sender<anyhow::Result<Batch>>;

fn spawn_reader<F>(
    read: F,
) -> (
    tokio::sync::mpsc::Receiver<anyhow::Result<Batch>>,
    std::thread::JoinHandle<()>,
)
where
    F: FnOnce(&Sender) -> anyhow::Result<()> + Send + 'static,
{
    let (send, receive) = tokio::sync::mpsc::channel(BATCHES_AHEAD);
    let handle = std::thread::spawn(move || {
        if let Err(error) = read(&send) {
            // The receiver may be gone already; then nobody needs the error.
            let _ = send.blocking_send(Err(error));
        }
    });
    (receive, handle)
}

/// Sends a batch; `false` once the receiver has stopped listening.
fn send_batch(send: &Sender, rows: Vec<Row>, bytes_read: u64) -> bool {
    send.blocking_send(Ok(Batch { rows, bytes_read })).is_ok()
}

/// Counts the bytes read through it, for the progress bar.
struct CountingReader<R> {
    inner: R,
    count: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.count
            .fetch_add(read as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(read)
    }
}

fn read_ndjson(file: File, send: &Sender) -> anyhow::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut rows = Vec::with_capacity(BATCH_ROWS);
    let mut bytes_read = 0u64;
    let mut line_number = 0u64;
    let mut text = String::new();
    loop {
        text.clear();
        let read = reader
            .read_line(&mut text)
            .with_context(|| format!("could not read line {}", line_number + 1))?;
        if read == 0 {
            break;
        }
        bytes_read += read as u64;
        line_number += 1;
        let line = text.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        rows.push(Row {
            line: line_number,
            raw: RawRow::Line(line.to_string()),
            object: None,
        });
        if rows.len() == BATCH_ROWS {
            let full = std::mem::replace(&mut rows, Vec::with_capacity(BATCH_ROWS));
            if !send_batch(send, full, bytes_read) {
                return Ok(());
            }
        }
    }
    if !rows.is_empty() {
        send_batch(send, rows, bytes_read);
    }
    Ok(())
}

type CsvReader = csv::Reader<CountingReader<BufReader<File>>>;

/// CSV with a header row. The delimiter is whichever of `,`, `;` and tab the
/// header holds most of (KoboToolbox exports use `;` by default); a UTF-8 byte
/// order mark (Excel) is skipped.
fn csv_reader(
    file: File,
    path: &Path,
) -> anyhow::Result<(CsvReader, std::sync::Arc<std::sync::atomic::AtomicU64>)> {
    let mut buffered = BufReader::with_capacity(1 << 20, file);
    let head = buffered
        .fill_buf()
        .with_context(|| format!("could not read {}", path.display()))?;
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|&candidate| first_line.iter().filter(|&&b| b == candidate).count())
        .unwrap_or(b',');
    let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .from_reader(CountingReader {
            inner: buffered,
            count: count.clone(),
        });
    Ok((reader, count))
}

fn read_csv(
    (mut reader, bytes): (CsvReader, std::sync::Arc<std::sync::atomic::AtomicU64>),
    mapping: ColumnMapping,
    send: &Sender,
) -> anyhow::Result<()> {
    let mut rows = Vec::with_capacity(BATCH_ROWS);
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            // A row with the wrong number of fields is that row's problem only.
            Err(error) => {
                let line = error.position().map_or(0, |p| p.line());
                if let csv::ErrorKind::UnequalLengths { .. } = error.kind() {
                    rows.push(Row {
                        line,
                        raw: RawRow::Record(csv::StringRecord::new()),
                        object: Some(Err(vec![FieldError::new(
                            "body",
                            format!("has a different number of columns than the header: {error}"),
                        )])),
                    });
                    continue;
                }
                return Err(error).context("could not read the CSV file");
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let object = mapping.object(&record);
        rows.push(Row {
            line,
            raw: RawRow::Record(record),
            object: Some(object),
        });
        if rows.len() == BATCH_ROWS {
            let full = std::mem::replace(&mut rows, Vec::with_capacity(BATCH_ROWS));
            if !send_batch(send, full, bytes.load(std::sync::atomic::Ordering::Relaxed)) {
                return Ok(());
            }
        }
    }
    if !rows.is_empty() {
        send_batch(send, rows, bytes.load(std::sync::atomic::Ordering::Relaxed));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Employers of vacancies, by external id
// ---------------------------------------------------------------------------

/// Resolves `employer_external_id`, the one field an import row may carry beyond
/// a create body: a vacancy names its employer by the external id the employer
/// was imported with from the same source, since the file cannot know the id the
/// server gave it.
#[derive(Default)]
struct EmployerIds {
    known: HashMap<String, String>,
}

impl EmployerIds {
    async fn resolve(
        &mut self,
        store: &Store,
        source: &str,
        objects: &mut [BatchItem],
    ) -> anyhow::Result<()> {
        let wanted: Vec<String> = objects
            .iter()
            .filter_map(|object| object.as_ref().ok())
            .filter_map(|object| object.get("employer_external_id"))
            .filter_map(Value::as_str)
            .map(|key| key.trim().to_string())
            .filter(|key| !self.known.contains_key(key))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if !wanted.is_empty() {
            let keys: Vec<&str> = wanted.iter().map(String::as_str).collect();
            for (key, record) in store
                .get_many_by_external_id(Entity::Employer, source, &keys)
                .await?
            {
                self.known.insert(key, record.id);
            }
        }
        for slot in objects.iter_mut() {
            let Ok(object) = slot else { continue };
            let Some(named) = object.remove("employer_external_id") else {
                continue;
            };
            let problem = match (
                named.as_str().map(str::trim),
                object.contains_key("employer_id"),
            ) {
                (_, true) => Some("give employer_id or employer_external_id, not both".to_string()),
                (Some(key), false) => match self.known.get(key) {
                    Some(id) => {
                        object.insert("employer_id".into(), Value::String(id.clone()));
                        None
                    }
                    None => Some(format!(
                        "no employer was imported from source {source:?} with this external_id"
                    )),
                },
                (None, false) => Some("must be text".to_string()),
            };
            if let Some(message) = problem {
                *slot = Err(vec![FieldError::new("employer_external_id", message)]);
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// CSV columns
// ---------------------------------------------------------------------------

/// How a CSV cell becomes JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cell {
    Text,
    /// A number when it reads as one; otherwise the text, which validation then
    /// refuses with the API's message.
    Number,
    /// `yes`/`no`, `true`/`false`, `1`/`0` (any case).
    Bool,
    /// Codes separated by spaces, commas or semicolons (KoboToolbox writes the
    /// answers of a select_multiple question separated by spaces).
    Codes,
    /// `SKILL:LEVEL[:YEARS][:certified]` items separated by `;`.
    WorkerSkills,
    /// `SKILL:MIN_LEVEL` items separated by `;`.
    RequiredSkills,
    /// Skill ids separated by `;`, spaces or commas.
    PreferredSkills,
    /// `OCCUPATION:YEARS[:COUNTRY]` items separated by `;`.
    Experience,
    /// A timestamp; without a UTC offset (as KoboToolbox's `_submission_time`)
    /// it is read as UTC.
    Timestamp,
}

/// One CSV column: its name, other names it may go by, the JSON field it fills
/// (a dotted path for nested objects) and how.
struct Column {
    name: &'static str,
    aliases: &'static [&'static str],
    field: &'static str,
    cell: Cell,
}

const fn column(
    name: &'static str,
    aliases: &'static [&'static str],
    field: &'static str,
    cell: Cell,
) -> Column {
    Column {
        name,
        aliases,
        field,
        cell,
    }
}

/// The columns a CSV file of this entity may have. Documented in README.md
/// ("Importing data"); keep the two in step.
fn columns_of(entity: Entity) -> &'static [Column] {
    use Cell::*;
    const EMPLOYER: &[Column] = &[
        column("external_id", &["_uuid"], "external_id", Text),
        column("name", &[], "name", Text),
        column("sector", &[], "sector", Text),
        column("province_code", &[], "province_code", Text),
        column("district_code", &[], "district_code", Text),
        column("commune_code", &[], "commune_code", Text),
        column("contact_name", &[], "contact_name", Text),
        column("contact_phone", &[], "contact_phone", Text),
    ];
    const VACANCY: &[Column] = &[
        column("external_id", &["_uuid"], "external_id", Text),
        column("employer_id", &[], "employer_id", Text),
        column("employer_external_id", &[], "employer_external_id", Text),
        column("title", &[], "title", Text),
        column("description", &[], "description", Text),
        column("sector", &[], "sector", Text),
        column("occupation", &[], "occupation", Text),
        column("province_code", &[], "province_code", Text),
        column("district_code", &[], "district_code", Text),
        column("commune_code", &[], "commune_code", Text),
        column("positions", &[], "positions", Number),
        column("wage_min_usd", &[], "wage_min_usd", Number),
        column("wage_max_usd", &[], "wage_max_usd", Number),
        column("required_skills", &[], "required_skills", RequiredSkills),
        column("preferred_skills", &[], "preferred_skills", PreferredSkills),
        column("min_experience_years", &[], "min_experience_years", Number),
        column("min_age", &[], "min_age", Number),
        column("benefits", &[], "benefits", Codes),
        column("starts_on", &[], "starts_on", Text),
        column("closes_on", &[], "closes_on", Text),
        column("status", &[], "status", Text),
    ];
    const WORKER: &[Column] = &[
        column("external_id", &["_uuid"], "external_id", Text),
        column("full_name", &[], "full_name", Text),
        column("sex", &[], "sex", Text),
        column("date_of_birth", &[], "date_of_birth", Text),
        column("phone", &[], "phone", Text),
        column(
            "home_province_code",
            &["province_code"],
            "province_code",
            Text,
        ),
        column(
            "home_district_code",
            &["district_code"],
            "district_code",
            Text,
        ),
        column("home_commune_code", &["commune_code"], "commune_code", Text),
        column("returned_from_country", &[], "returned_from.country", Text),
        column(
            "returned_from_province_code",
            &[],
            "returned_from.province_code",
            Text,
        ),
        column("returned_on", &[], "returned_from.returned_on", Text),
        column("experience", &[], "experience", Experience),
        column("skills", &[], "skills", WorkerSkills),
        column("preferred_sectors", &[], "preferred_sectors", Codes),
        column("max_travel_km", &[], "max_travel_km", Number),
        column("willing_to_relocate", &[], "willing_to_relocate", Bool),
        column("expected_wage_usd", &[], "expected_wage_usd", Number),
        column("available_from", &[], "available_from", Text),
        column(
            "consent_share_with_employers",
            &["consent"],
            "consent.share_with_employers",
            Bool,
        ),
        column(
            "consent_recorded_at",
            &["_submission_time"],
            "consent.recorded_at",
            Timestamp,
        ),
        column("status", &[], "status", Text),
    ];
    match entity {
        Entity::Employer => EMPLOYER,
        Entity::Vacancy => VACANCY,
        Entity::Worker => WORKER,
    }
}

/// Columns that KoboToolbox adds to every export and that carry nothing to
/// import; they are skipped, as is any other column starting with `_`.
const FORM_METADATA: &[&str] = &[
    "start",
    "end",
    "today",
    "deviceid",
    "username",
    "simserial",
    "subscriberid",
    "phonenumber",
    "audit",
    "instanceID",
    "instanceName",
    "__version__",
];

/// Which column of the file fills which field.
struct ColumnMapping {
    /// `(index in the record, column)`.
    used: Vec<(usize, &'static Column)>,
}

impl ColumnMapping {
    /// Maps a header row. Group prefixes (`group_registration/full_name`, as
    /// KoboToolbox writes with "include groups in headers") are dropped. A
    /// column that is neither known nor form metadata fails the import before
    /// anything is written: a misspelt column would otherwise lose its data
    /// silently.
    fn new(entity: Entity, header: &csv::StringRecord) -> anyhow::Result<ColumnMapping> {
        let known = columns_of(entity);
        let mut used: Vec<(usize, &'static Column)> = Vec::new();
        let mut unknown = Vec::new();
        for (index, raw) in header.iter().enumerate() {
            let name = raw.trim().trim_start_matches('\u{feff}');
            let name = name.rsplit('/').next().unwrap_or(name);
            let found = known
                .iter()
                .find(|column| column.name == name)
                .or_else(|| known.iter().find(|column| column.aliases.contains(&name)));
            match found {
                // A column named twice (say `province_code` and `home_province_code`)
                // would make the row ambiguous.
                Some(column) if used.iter().any(|(_, taken)| taken.field == column.field) => {
                    bail!(
                        "the columns {:?} and {:?} both give {}; keep one",
                        used.iter()
                            .find(|(_, taken)| taken.field == column.field)
                            .map(|(i, _)| header.get(*i).unwrap_or_default())
                            .unwrap_or_default(),
                        raw,
                        column.field
                    );
                }
                Some(column) => used.push((index, column)),
                None if name.is_empty()
                    || name.starts_with('_')
                    || FORM_METADATA.contains(&name) => {}
                None => unknown.push(raw.to_string()),
            }
        }
        if !unknown.is_empty() {
            bail!(
                "unknown columns {unknown:?}; the columns for {} are: {}",
                entity,
                known
                    .iter()
                    .map(|column| column.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Ok(ColumnMapping { used })
    }

    /// The create body a CSV row stands for. Empty cells are absent fields.
    fn object(&self, record: &csv::StringRecord) -> BatchItem {
        let mut object = Map::new();
        let mut errors = Vec::new();
        for (index, column) in &self.used {
            let text = record.get(*index).unwrap_or_default().trim();
            if text.is_empty() {
                continue;
            }
            match cell_value(column.cell, column.field, text) {
                Ok(value) => insert_path(&mut object, column.field, value),
                Err(error) => errors.push(error),
            }
        }
        // A consent time with no consent decision (a form's submission time on a
        // row whose consent question was skipped) says nothing.
        if let Some(Value::Object(consent)) = object.get("consent")
            && !consent.contains_key("share_with_employers")
        {
            object.remove("consent");
        }
        if errors.is_empty() {
            Ok(object)
        } else {
            Err(errors)
        }
    }
}

/// Sets `object[a][b]` for the path `a.b`, making the inner objects as needed.
fn insert_path(object: &mut Map<String, Value>, path: &str, value: Value) {
    match path.split_once('.') {
        None => {
            object.insert(path.to_string(), value);
        }
        Some((head, rest)) => {
            let inner = object
                .entry(head.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = inner {
                insert_path(inner, rest, value);
            }
        }
    }
}

fn number_or_text(text: &str) -> Value {
    match text.parse::<f64>() {
        Ok(number) if number.is_finite() => {
            if number.fract() == 0.0 && number.abs() < 9_007_199_254_740_992.0 {
                Value::from(number as i64)
            } else {
                Value::from(number)
            }
        }
        _ => Value::String(text.to_string()),
    }
}

fn cell_value(cell: Cell, field: &str, text: &str) -> Result<Value, FieldError> {
    Ok(match cell {
        Cell::Text => Value::String(text.to_string()),
        Cell::Number => number_or_text(text),
        Cell::Bool => match text.to_ascii_lowercase().as_str() {
            "yes" | "true" | "1" | "y" => Value::Bool(true),
            "no" | "false" | "0" | "n" => Value::Bool(false),
            _ => {
                return Err(FieldError::new(
                    field,
                    "must be yes or no (or true/false, 1/0)",
                ));
            }
        },
        Cell::Timestamp => {
            let has_offset = text.ends_with('Z')
                || text.ends_with('z')
                || text
                    .get(19..)
                    .is_some_and(|tail| tail.contains('+') || tail.contains('-'));
            if has_offset {
                Value::String(text.to_string())
            } else {
                Value::String(format!("{text}Z"))
            }
        }
        Cell::Codes => Value::Array(
            split_list(text, &[' ', ',', ';'])
                .map(|code| Value::String(code.to_string()))
                .collect(),
        ),
        Cell::PreferredSkills => Value::Array(
            split_list(text, &[' ', ',', ';'])
                .map(|skill| serde_json::json!({ "skill": skill }))
                .collect(),
        ),
        Cell::WorkerSkills => Value::Array(
            split_list(text, &[';'])
                .enumerate()
                .map(|(index, item)| worker_skill(field, index, item))
                .collect::<Result<_, _>>()?,
        ),
        Cell::RequiredSkills => Value::Array(
            split_list(text, &[';'])
                .map(|item| {
                    let (skill, rest) = split_id(item);
                    let mut entry = Map::new();
                    entry.insert("skill".into(), Value::String(skill.to_string()));
                    if let Some(level) = rest.first() {
                        entry.insert("min_level".into(), number_or_text(level));
                    }
                    Value::Object(entry)
                })
                .collect(),
        ),
        Cell::Experience => Value::Array(
            split_list(text, &[';'])
                .map(|item| {
                    let (occupation, rest) = split_id(item);
                    let mut entry = Map::new();
                    entry.insert("occupation".into(), Value::String(occupation.to_string()));
                    if let Some(years) = rest.first() {
                        entry.insert("years".into(), number_or_text(years));
                    }
                    if let Some(country) = rest.get(1) {
                        entry.insert("country".into(), Value::String(country.to_string()));
                    }
                    Value::Object(entry)
                })
                .collect(),
        ),
    })
}

fn split_list<'t>(text: &'t str, separators: &'t [char]) -> impl Iterator<Item = &'t str> {
    text.split(separators)
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

/// Splits `ID:a:b` into the id and the rest; the id may be an ESCO URI, whose
/// `http://` is not a separator.
fn split_id(item: &str) -> (&str, Vec<&str>) {
    let scheme = ["http://", "https://"]
        .iter()
        .find(|scheme| item.starts_with(*scheme))
        .map_or(0, |scheme| scheme.len());
    match item[scheme..].find(':') {
        Some(at) => {
            let (id, rest) = item.split_at(scheme + at);
            (id.trim(), rest[1..].split(':').map(str::trim).collect())
        }
        None => (item.trim(), Vec::new()),
    }
}

/// `SKILL:LEVEL[:YEARS][:certified]`.
fn worker_skill(field: &str, index: usize, item: &str) -> Result<Value, FieldError> {
    let (skill, rest) = split_id(item);
    let mut entry = Map::new();
    entry.insert("skill".into(), Value::String(skill.to_string()));
    let mut rest = rest.into_iter();
    if let Some(level) = rest.next() {
        entry.insert("level".into(), number_or_text(level));
    }
    for extra in rest {
        if extra.eq_ignore_ascii_case("certified") {
            entry.insert("certified".into(), Value::Bool(true));
        } else if !entry.contains_key("years") {
            entry.insert("years".into(), number_or_text(extra));
        } else {
            return Err(FieldError::new(
                format!("{field}[{index}]"),
                "must be SKILL:LEVEL, optionally followed by :YEARS and :certified",
            ));
        }
    }
    Ok(Value::Object(entry))
}

// ---------------------------------------------------------------------------
// The report of rejected rows
// ---------------------------------------------------------------------------

/// `--report FILE`: the rejected rows in the input's format, each with its line
/// and errors, ready to be fixed and imported again.
enum Report {
    /// `{"line": 3, "errors": [{"field", "message"}], "row": <the line>}` per line.
    Ndjson(BufWriter<File>),
    /// The input's header with `line` and `errors` in front; errors as
    /// `field: message` joined by ` | `.
    Csv(Box<csv::Writer<File>>),
}

impl Report {
    fn create(path: &Path, format: Format, input: &Path) -> anyhow::Result<Report> {
        let file =
            File::create(path).with_context(|| format!("could not create {}", path.display()))?;
        Ok(match format {
            Format::Ndjson => Report::Ndjson(BufWriter::new(file)),
            Format::Csv => {
                let header = csv_reader(
                    File::open(input)
                        .with_context(|| format!("could not open {}", input.display()))?,
                    input,
                )?
                .0
                .headers()?
                .clone();
                let mut writer = csv::Writer::from_writer(file);
                let mut row = csv::StringRecord::from(vec!["line", "errors"]);
                row.extend(header.iter());
                writer.write_record(&row)?;
                Report::Csv(Box::new(writer))
            }
        })
    }

    fn write(&mut self, line: u64, errors: &[FieldError], raw: &RawRow) -> anyhow::Result<()> {
        match (self, raw) {
            (Report::Ndjson(file), RawRow::Line(text)) => {
                let row = serde_json::from_str::<Value>(text)
                    .unwrap_or_else(|_| Value::String(text.clone()));
                serde_json::to_writer(
                    &mut *file,
                    &serde_json::json!({"line": line, "errors": errors, "row": row}),
                )?;
                file.write_all(b"\n")?;
            }
            (Report::Csv(writer), RawRow::Record(record)) => {
                let described: Vec<String> = errors
                    .iter()
                    .map(|error| format!("{}: {}", error.field, error.message))
                    .collect();
                let mut row =
                    csv::StringRecord::from(vec![line.to_string(), described.join(" | ")]);
                row.extend(record.iter());
                writer.write_record(&row)?;
            }
            _ => bail!("a row and the report disagree on the format"),
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Report::Ndjson(mut file) => file.flush()?,
            Report::Csv(mut writer) => writer.flush()?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapped(entity: Entity, header: &[&str], row: &[&str]) -> BatchItem {
        let mapping = ColumnMapping::new(entity, &csv::StringRecord::from(header.to_vec()))
            .expect("known columns");
        mapping.object(&csv::StringRecord::from(row.to_vec()))
    }

    #[test]
    fn a_worker_row_becomes_the_create_body_a_client_would_send() {
        let object = mapped(
            Entity::Worker,
            &[
                "group_a/full_name",
                "home_province_code",
                "skills",
                "preferred_sectors",
                "willing_to_relocate",
                "consent",
                "_submission_time",
                "experience",
                "start",
                "_id",
                "returned_from_country",
            ],
            &[
                "Sok Dara",
                "01",
                "abc:3;http://data.europa.eu/esco/skill/def:2:4.5:certified",
                "garment construction",
                "yes",
                "no",
                "2025-07-14T09:12:33",
                "occ:2.5:TH",
                "2025-07-14T09:00:00",
                "17",
                "TH",
            ],
        )
        .expect("maps");
        assert_eq!(
            Value::Object(object),
            serde_json::json!({
                "full_name": "Sok Dara",
                "province_code": "01",
                "skills": [
                    {"skill": "abc", "level": 3},
                    {"skill": "http://data.europa.eu/esco/skill/def", "level": 2, "years": 4.5, "certified": true}
                ],
                "preferred_sectors": ["garment", "construction"],
                "willing_to_relocate": true,
                "consent": {"share_with_employers": false, "recorded_at": "2025-07-14T09:12:33Z"},
                "experience": [{"occupation": "occ", "years": 2.5, "country": "TH"}],
                "returned_from": {"country": "TH"}
            })
        );
    }

    #[test]
    fn unknown_or_doubled_columns_refuse_the_file_and_bad_cells_name_their_field() {
        let unknown = ColumnMapping::new(
            Entity::Worker,
            &csv::StringRecord::from(vec!["full_name", "provnce"]),
        )
        .err()
        .expect("a misspelt column is refused");
        assert!(unknown.to_string().contains("provnce"), "{unknown}");
        assert!(
            ColumnMapping::new(
                Entity::Worker,
                &csv::StringRecord::from(vec!["province_code", "home_province_code"]),
            )
            .is_err()
        );
        let errors = mapped(Entity::Worker, &["willing_to_relocate"], &["perhaps"])
            .expect_err("not a yes or no");
        assert_eq!(errors[0].field, "willing_to_relocate");
        // A number that is not one is passed on for validation to refuse as the API does.
        let object = mapped(
            Entity::Vacancy,
            &["positions", "benefits"],
            &["ten", "meals, transport"],
        )
        .expect("maps");
        assert_eq!(object["positions"], "ten");
        assert_eq!(
            object["benefits"],
            serde_json::json!(["meals", "transport"])
        );
    }

    #[test]
    fn the_format_is_guessed_from_the_extension() {
        assert_eq!(Format::guess(Path::new("a/workers.CSV")), Some(Format::Csv));
        assert_eq!(Format::guess(Path::new("w.ndjson")), Some(Format::Ndjson));
        assert_eq!(Format::guess(Path::new("w.jsonl")), Some(Format::Ndjson));
        assert_eq!(Format::guess(Path::new("w.xlsx")), None);
    }
}
