//! Field-level validation shared by every resource.
//!
//! A resource document arrives as JSON, is deserialised into its input type (which
//! settles types and unknown fields), and is then checked against the rules that a
//! type cannot express: codes that must exist in the reference data, ranges, and
//! relations between fields. Every rule that fails adds one [`FieldError`], so a
//! client learns about every bad field in one round trip.

use chrono::{Datelike, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::Reference;

/// One invalid field: `field` is a JSON path such as `skills[2].level`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    #[schema(example = "wage_min_usd")]
    pub field: String,
    #[schema(example = "must not be greater than wage_max_usd")]
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Checks and normalises a resource in place (phone numbers to E.164, ESCO URIs to
/// bare ids), appending one error per bad field. The rules of a resource; to
/// obtain a checked document, call [`Valid::check`].
pub trait Validate {
    fn validate(&mut self, reference: &Reference, errors: &mut Vec<FieldError>);

    /// A value of the right type for the required top-level `field`, used only
    /// when the one sent is missing or of the wrong type, so that the rules of
    /// the other fields can still be checked and reported in the same answer.
    /// Such a document is never stored (its error is already reported), and
    /// errors about the stand-in, or about a field whose rules read it (see
    /// [`Validate::rules_read`]), are not reported.
    fn stand_in(_field: &str) -> Option<serde_json::Value> {
        None
    }

    /// The other top-level fields that the rules of the top-level `field` read:
    /// when one of them is a stand-in, `field`'s errors would be about the
    /// stand-in, so they are left for the answer to the corrected document.
    fn rules_read(_field: &str) -> &'static [&'static str] {
        &[]
    }
}

/// A document that passed every rule of [`Validate`], normalised as those rules
/// leave it (phones in E.164, ESCO ids bare, text trimmed).
///
/// Only [`Valid::check`] builds one from a document nobody checked, so a
/// function that takes a `Valid<T>` (writing a record, an import batch, the
/// evaluation set) cannot be handed an unchecked document. It derefs to the
/// document and serialises as it; it does not deserialise: a document read
/// back from the store is checked again, or declared "valid when stored"
/// ([`Valid::was_valid_when_stored`]) where its rules must not run again. The
/// change-feed followers need neither: the engines take the stored document
/// as it is (see `jobmatch-service`'s `match_index`).
#[derive(Debug, Clone, PartialEq)]
pub struct Valid<T>(T);

impl<T: Validate> Valid<T> {
    /// Runs every rule of `document`: the normalised document when none fails,
    /// otherwise one error per bad field.
    pub fn check(mut document: T, reference: &Reference) -> Result<Valid<T>, Vec<FieldError>> {
        let mut errors = Vec::new();
        document.validate(reference, &mut errors);
        if errors.is_empty() {
            Ok(Valid(document))
        } else {
            Err(errors)
        }
    }
}

impl<T> Valid<T> {
    /// A document read back from the store, where only checked documents are
    /// written: it was valid when it was stored, and its rules are not run
    /// again. Rules that read reference data or today's date could refuse
    /// yesterday's document, and a record must stay writable in the ways that
    /// do not touch what they check (closing a vacancy). Anything changed in it
    /// beyond that goes through [`Valid::check`].
    pub fn was_valid_when_stored(document: T) -> Valid<T> {
        Valid(document)
    }

    /// The document itself, no longer marked as checked (to change it, say).
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Valid<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Serialize> Serialize for Valid<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// Collects errors with the field names written once.
pub struct Checker<'e> {
    errors: &'e mut Vec<FieldError>,
}

/// The earliest date accepted anywhere: older dates are typing mistakes.
pub const EARLIEST_PLAUSIBLE_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
    Some(date) => date,
    None => panic!("valid constant date"),
};

/// Monthly wages above this are typing mistakes (Cambodia's garment minimum wage is
/// about 200 USD a month).
pub const MAX_MONTHLY_WAGE_USD: f64 = 100_000.0;

impl<'e> Checker<'e> {
    pub fn new(errors: &'e mut Vec<FieldError>) -> Checker<'e> {
        Checker { errors }
    }

    pub fn fail(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Trims the text and checks its length in characters (not bytes: Khmer takes
    /// three bytes a character).
    ///
    /// A byte order mark at either end is trimmed like white space: it is left
    /// over from a file's encoding (spreadsheet exports), never part of a name.
    /// Zero-width spaces and joiners are kept: Khmer writes ZWSP between words.
    /// But text made only of such invisible characters is empty, and the
    /// bidirectional embedding, override and isolate controls are refused: Khmer
    /// and English need none, and they can make a title or wage read differently
    /// from what is stored (the "Trojan Source" trick), a gift to fake job offers.
    pub fn text(&mut self, field: &str, value: &mut String, min_chars: usize, max_chars: usize) {
        let trimmed = value.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        if trimmed.len() != value.len() {
            *value = trimmed.to_string();
        }
        let chars = value.chars().count();
        let visible = value
            .chars()
            .any(|c| !c.is_whitespace() && !is_invisible(c));
        if chars < min_chars {
            self.fail(
                field,
                if min_chars == 1 {
                    "must not be empty".to_string()
                } else {
                    format!("must be at least {min_chars} characters")
                },
            );
        } else if min_chars > 0 && !visible {
            self.fail(field, "must not be only invisible characters");
        } else if chars > max_chars {
            self.fail(field, format!("must be at most {max_chars} characters"));
        }
        if value
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            self.fail(field, "must not contain control characters");
        }
        if value.chars().any(is_bidi_control) {
            self.fail(
                field,
                "must not contain bidirectional override characters (U+202A to U+202E, U+2066 to U+2069)",
            );
        }
    }

    pub fn optional_text(&mut self, field: &str, value: &mut Option<String>, max_chars: usize) {
        if let Some(text) = value {
            self.text(field, text, 1, max_chars);
        }
    }

    pub fn number_in(&mut self, field: &str, value: f64, min: f64, max: f64) -> bool {
        if !value.is_finite() || value < min || value > max {
            self.fail(field, format!("must be between {min} and {max}"));
            return false;
        }
        true
    }

    pub fn wage(&mut self, field: &str, value: Option<f64>) -> bool {
        match value {
            Some(wage) => self.number_in(field, wage, 0.0, MAX_MONTHLY_WAGE_USD),
            None => true,
        }
    }

    /// Dates between 1900 and `years_ahead` years from today.
    pub fn date(&mut self, field: &str, value: Option<NaiveDate>, years_ahead: i32) {
        let Some(date) = value else { return };
        let today = Utc::now().date_naive();
        let latest = today.with_year_saturating(today.year() + years_ahead);
        if date < EARLIEST_PLAUSIBLE_DATE || date > latest {
            self.fail(
                field,
                format!("must be a plausible date between {EARLIEST_PLAUSIBLE_DATE} and {latest}"),
            );
        }
    }

    pub fn max_items<T>(&mut self, field: &str, items: &[T], max: usize) -> bool {
        if items.len() > max {
            self.fail(field, format!("must have at most {max} items"));
            return false;
        }
        true
    }

    /// Checks a province, and the district and commune within it when given.
    pub fn place(
        &mut self,
        reference: &Reference,
        prefix: &str,
        province_code: &str,
        district_code: Option<&str>,
        commune_code: Option<&str>,
    ) {
        // Codes are stored as given and filtered on exactly, so " 12" must not pass
        // as "12" (the gazetteer's own lookup is lenient about spaces).
        for (field, code) in [
            ("province_code", Some(province_code)),
            ("district_code", district_code),
            ("commune_code", commune_code),
        ] {
            if let Some(code) = code
                && code.trim() != code
            {
                self.fail(format!("{prefix}{field}"), "must not have spaces around it");
            }
        }
        let gazetteer = &reference.gazetteer;
        if gazetteer.province(province_code).is_none() {
            self.fail(
                format!("{prefix}province_code"),
                "is not a province code of the NCDD gazetteer (\"01\" to \"25\")",
            );
        }
        if let Some(code) = district_code {
            match gazetteer.district(code) {
                None => self.fail(
                    format!("{prefix}district_code"),
                    "is not a district code of the NCDD gazetteer",
                ),
                Some(district) if district.province_code != province_code => self.fail(
                    format!("{prefix}district_code"),
                    format!("is not in province {province_code}"),
                ),
                Some(_) => {}
            }
        }
        if let Some(code) = commune_code {
            match gazetteer.commune(code) {
                None => self.fail(
                    format!("{prefix}commune_code"),
                    "is not a commune code of the NCDD gazetteer",
                ),
                Some(commune) if commune.province_code != province_code => self.fail(
                    format!("{prefix}commune_code"),
                    format!("is not in province {province_code}"),
                ),
                Some(commune)
                    if district_code.is_some_and(|district| district != commune.district_code) =>
                {
                    self.fail(
                        format!("{prefix}commune_code"),
                        "is not in the given district",
                    )
                }
                Some(_) => {}
            }
        }
    }

    /// Replaces an ESCO skill URI by its bare id; fails when the skill is unknown.
    pub fn skill(&mut self, reference: &Reference, field: &str, skill: &mut String) -> bool {
        match reference.taxonomy.skill_id(skill) {
            Some(id) => {
                *skill = reference.taxonomy.skill(id).id.clone();
                true
            }
            None => {
                self.fail(field, "is not an ESCO skill id (see GET /v1/skills)");
                false
            }
        }
    }

    pub fn occupation(
        &mut self,
        reference: &Reference,
        field: &str,
        occupation: &mut String,
    ) -> bool {
        match reference.taxonomy.occupation_id(occupation) {
            Some(id) => {
                *occupation = reference.taxonomy.occupation(id).id.clone();
                true
            }
            None => {
                self.fail(
                    field,
                    "is not an ESCO occupation id (see GET /v1/occupations)",
                );
                false
            }
        }
    }

    pub fn phone(&mut self, field: &str, phone: &mut Option<String>) {
        let Some(number) = phone else { return };
        match crate::phone::normalize_phone(number) {
            Ok(normalised) => *number = normalised,
            Err(error) => self.fail(field, error.to_string()),
        }
    }
}

/// Characters that draw nothing on their own: Unicode's Default_Ignorable_Code_Point
/// in the Basic Multilingual Plane. The OpenAPI `pattern` of free-text fields
/// lists the same ranges (`resources.rs`); keep the two in step.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}'
        | '\u{17B5}' | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}')
}

/// The explicit bidirectional formatting characters that reorder the text
/// around them (LRM and RLM, which only mark a direction, are not among them).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

trait SaturatingYear {
    fn with_year_saturating(self, year: i32) -> NaiveDate;
}

impl SaturatingYear for NaiveDate {
    fn with_year_saturating(self, year: i32) -> NaiveDate {
        // 29 February has no counterpart in most years: fall back to the 28th.
        self.with_year(year)
            .or_else(|| NaiveDate::from_ymd_opt(year, self.month(), 28))
            .unwrap_or(self)
    }
}
