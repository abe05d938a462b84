//! What a ranked query asks for ([`CandidateQuery`], [`VacancyQuery`]) and what it
//! answers ([`ScoredMatch`]), with the checks every query makes of its parameters.

use chrono::NaiveDate;
use jobmatch_domain::Sector;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::MatchError;
use crate::explain::Explanation;
use crate::profile::province_number;
use crate::weights::Weights;

/// Most results one query returns.
pub const MAX_LIMIT: usize = 100;
/// Default cap on vacancies of one employer in a worker's list.
pub const DEFAULT_MAX_PER_EMPLOYER: usize = 3;
/// Default strength of the congestion damping of candidate lists (off: see
/// `fixtures/eval/README.md` and the `index` module documentation for what it costs).
pub const DEFAULT_CONGESTION_DAMPING: f64 = 0.0;

/// What to rank for a vacancy.
#[derive(Debug, Clone, PartialEq)]
pub struct CandidateQuery {
    /// The date ages, availability and closing dates are judged on.
    pub today: NaiveDate,
    /// 1 to [`MAX_LIMIT`].
    pub limit: usize,
    /// Leave out pairs scoring less (0 to 1).
    pub min_score: f64,
    /// Only workers whose home is in this province (NCDD code).
    pub province_code: Option<String>,
    /// Replaces the index's weights for this query.
    pub weights: Option<Weights>,
    /// Return ineligible pairs too, flagged, in score order.
    pub include_ineligible: bool,
    /// How strongly a person who fully qualifies for many other open vacancies within
    /// reach is moved down this list (0 to 1; 0 switches it off). See the `index`
    /// module documentation, "Congestion".
    pub congestion_damping: f64,
    /// Score people only from what the vacancy's employer may learn of them:
    /// availability to the week, expected wage to its band, experience in whole
    /// years, the vacancy's `min_age` rounded up to an age band's lower bound
    /// (`SECURITY.md`, "What employers see"). Such queries are never answered from the standing lists,
    /// which hold exact scores.
    pub employer_view: bool,
}

impl CandidateQuery {
    pub fn new(today: NaiveDate) -> CandidateQuery {
        CandidateQuery {
            today,
            limit: 20,
            min_score: 0.0,
            province_code: None,
            weights: None,
            include_ineligible: false,
            congestion_damping: DEFAULT_CONGESTION_DAMPING,
            employer_view: false,
        }
    }
}

/// What to rank for a worker.
#[derive(Debug, Clone, PartialEq)]
pub struct VacancyQuery {
    pub today: NaiveDate,
    /// 1 to [`MAX_LIMIT`].
    pub limit: usize,
    pub min_score: f64,
    pub sector: Option<Sector>,
    /// Only vacancies in this province (NCDD code).
    pub province_code: Option<String>,
    /// At most this many vacancies of one employer; 0 for no cap.
    pub max_per_employer: usize,
    pub weights: Option<Weights>,
    pub include_ineligible: bool,
}

impl VacancyQuery {
    pub fn new(today: NaiveDate) -> VacancyQuery {
        VacancyQuery {
            today,
            limit: 20,
            min_score: 0.0,
            sector: None,
            province_code: None,
            max_per_employer: DEFAULT_MAX_PER_EMPLOYER,
            weights: None,
            include_ineligible: false,
        }
    }
}

/// One ranked pair.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ScoredMatch {
    pub worker_id: String,
    pub vacancy_id: String,
    /// 0 to 1, higher is better; rounded to 3 decimals in output (ranking uses the
    /// full precision, so equal printed scores may still be in a meaningful order).
    #[serde(serialize_with = "crate::round::round3")]
    pub score: f64,
    /// False only when ineligible pairs were asked for; `explanation.reasons` says why.
    pub eligible: bool,
    pub explanation: Explanation,
}

pub(super) fn validate_common(limit: usize, min_score: f64) -> Result<(), MatchError> {
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(MatchError::InvalidLimit {
            got: limit,
            max: MAX_LIMIT,
        });
    }
    if !(0.0..=1.0).contains(&min_score) {
        return Err(MatchError::InvalidMinScore);
    }
    Ok(())
}

pub(super) fn validate_damping(damping: f64) -> Result<(), MatchError> {
    if (0.0..=1.0).contains(&damping) {
        Ok(())
    } else {
        Err(MatchError::InvalidCongestionDamping)
    }
}

pub(super) fn province_filter(code: Option<&str>) -> Result<Option<u8>, MatchError> {
    match code {
        None => Ok(None),
        Some(code) => match province_number(code) {
            0 => Err(MatchError::InvalidProvinceCode(code.to_string())),
            number => Ok(Some(number)),
        },
    }
}
