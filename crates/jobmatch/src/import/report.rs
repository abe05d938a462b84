//! `--report FILE`: the rejected rows, in the input's format, with their errors.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, bail};
use jobmatch_domain::FieldError;
use serde_json::Value;

use super::read::csv_reader;
use super::{Format, RawRow};

/// `--report FILE`: the rejected rows in the input's format, each with its line
/// and errors, ready to be fixed and imported again.
pub(super) enum Report {
    /// `{"line": 3, "errors": [{"field", "message"}], "row": <the line>}` per line.
    Ndjson(BufWriter<File>),
    /// The input's header with `line` and `errors` in front; errors as
    /// `field: message` joined by ` | `.
    Csv(Box<csv::Writer<File>>),
}

impl Report {
    pub(super) fn create(path: &Path, format: Format, input: &Path) -> anyhow::Result<Report> {
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

    pub(super) fn write(
        &mut self,
        line: u64,
        errors: &[FieldError],
        raw: &RawRow,
    ) -> anyhow::Result<()> {
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

    pub(super) fn finish(self) -> anyhow::Result<()> {
        match self {
            Report::Ndjson(mut file) => file.flush()?,
            Report::Csv(mut writer) => writer.flush()?,
        }
        Ok(())
    }
}
