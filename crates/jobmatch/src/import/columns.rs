//! CSV columns: which columns each kind of record may have (as registration forms
//! such as KoboToolbox export them), how a cell becomes JSON, and how a header
//! row is mapped to the create body's fields.

use anyhow::bail;
use jobmatch_domain::FieldError;
use jobmatch_service::batch::BatchItem;
use jobmatch_store::Entity;
use serde_json::{Map, Value};

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
pub(super) struct ColumnMapping {
    /// `(index in the record, column)`.
    used: Vec<(usize, &'static Column)>,
}

impl ColumnMapping {
    /// Maps a header row. Group prefixes (`group_registration/full_name`, as
    /// KoboToolbox writes with "include groups in headers") are dropped. A
    /// column that is neither known nor form metadata fails the import before
    /// anything is written: a misspelt column would otherwise lose its data
    /// silently.
    pub(super) fn new(entity: Entity, header: &csv::StringRecord) -> anyhow::Result<ColumnMapping> {
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
    pub(super) fn object(&self, record: &csv::StringRecord) -> BatchItem {
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
}
