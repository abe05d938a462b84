//! Reading the file on its own thread, in batches of [`BATCH_ROWS`] rows: NDJSON
//! lines as they are (parsed later, on every core), CSV records mapped to their
//! JSON objects as they are read.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::Context;
use jobmatch_domain::FieldError;

use super::columns::ColumnMapping;
use super::{BATCH_ROWS, BATCHES_AHEAD, Batch, RawRow, Row};

pub(super) type Sender = tokio::sync::mpsc::Sender<anyhow::Result<Batch>>;

pub(super) fn spawn_reader<F>(
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
pub(super) struct CountingReader<R> {
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

pub(super) fn read_ndjson(file: File, send: &Sender) -> anyhow::Result<()> {
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

pub(super) type CsvReader = csv::Reader<CountingReader<BufReader<File>>>;

/// CSV with a header row. The delimiter is whichever of `,`, `;` and tab the
/// header holds most of (KoboToolbox exports use `;` by default); a UTF-8 byte
/// order mark (Excel) is skipped.
pub(super) fn csv_reader(
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

pub(super) fn read_csv(
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
