//! What an employer may learn about a candidate.
//!
//! Employers see candidates for their own vacancies under a pseudonym that is
//! stable for that employer (so they can say "candidate cand_3f… again") and
//! different for every other employer (so two employers cannot join their
//! lists). They see skills and levels, home province and an age band, never
//! the name, phone, date of birth or commune, with two exceptions:
//! * a person who consented to share with employers is shown by name;
//! * staff may release one person's phone for one vacancy; the employer of
//!   that vacancy then sees it in that vacancy's list.
//!
//! Both are read from the stored profile at the moment of the request, so a
//! withdrawn consent takes effect on the next request.
//!
//! Nothing else an employer sees or can ask tells more than a coarse value
//! (`SECURITY.md`, "What employers see"): the explanation is a
//! [`CoarseExplanation`], the score is in steps of 0.05, candidates are ranked
//! with `CandidateQuery::employer_view` (availability to the week, wage to its
//! band, `min_age` rounded up to an age band's lower bound), an employer key may
//! set a vacancy's `min_age` only to the lower bound of an age band
//! ([`EMPLOYER_MIN_AGES`]), and may not send scoring knobs.

use chrono::{Datelike, NaiveDate};
use hmac::{Hmac, Mac};
use jobmatch_domain::resources::WorkerInput;
use jobmatch_matching::{CoarseExplanation, EMPLOYER_SCORE_STEP, ScoredMatch, to_step};
use serde::Serialize;
use sha2::Sha256;
use utoipa::ToSchema;

/// Name of the deployment secret that keys the pseudonyms.
pub const PSEUDONYM_SECRET: &str = "candidate_pseudonym_key";

/// Makes per-employer pseudonyms: `cand_` and 20 hex digits of
/// HMAC-SHA-256(deployment secret, employer id, worker id).
pub struct Pseudonyms {
    key: Vec<u8>,
}

impl Pseudonyms {
    pub fn new(secret: &str) -> Pseudonyms {
        Pseudonyms {
            key: secret.as_bytes().to_vec(),
        }
    }

    pub fn for_employer(&self, employer_id: &str, worker_id: &str) -> String {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        // Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
        mac.update(&(employer_id.len() as u64).to_be_bytes());
        mac.update(employer_id.as_bytes());
        mac.update(worker_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!("cand_{}", &hex::encode(digest)[..20])
    }
}

/// The `min_age` values an employer key may set: the lower bounds of the
/// [`age_band`]s, so that who is listed tells no more than the band shown.
/// Matching judges an employer's list against a `min_age` rounded up to one of
/// them, whoever set it: one list of bounds for both.
pub const EMPLOYER_MIN_AGES: [u8; 6] = jobmatch_matching::AGE_BAND_LOWER_BOUNDS;

/// Coarse age, enough to judge the legal and practical fit of a job. Keep the
/// bands' lower bounds in [`EMPLOYER_MIN_AGES`].
pub fn age_band(date_of_birth: Option<NaiveDate>, today: NaiveDate) -> &'static str {
    let Some(born) = date_of_birth else {
        return "unknown";
    };
    let mut age = today.year() - born.year();
    if (today.month(), today.day()) < (born.month(), born.day()) {
        age -= 1;
    }
    match age {
        ..=14 => "under 15",
        15..=17 => "15-17",
        18..=24 => "18-24",
        25..=34 => "25-34",
        35..=44 => "35-44",
        45..=54 => "45-54",
        _ => "55+",
    }
}

/// A skill as an employer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct CandidateSkill {
    /// ESCO skill id.
    pub skill: String,
    /// 1 basic to 4 expert.
    pub level: u8,
    /// Recognised through RPL or a certificate.
    pub certified: bool,
}

/// A candidate as the employer of the vacancy sees them.
#[derive(Debug, Serialize, ToSchema)]
pub struct EmployerCandidate {
    /// Stable for this employer, different for every other one.
    #[schema(example = "cand_3f9a0c1d2e4b5a6c7d8e")]
    pub candidate: String,
    /// 0 to 1 in steps of 0.05 (ranking uses the full score).
    pub score: f64,
    pub explanation: CoarseExplanation,
    /// Home province (NCDD code).
    pub province_code: String,
    /// `18-24`, `25-34`, ... or `unknown`.
    pub age_band: &'static str,
    pub skills: Vec<CandidateSkill>,
    /// Only when the person consented to share their profile with employers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_name: Option<String>,
    /// Only when staff released it for this vacancy and consent still stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Builds the employer's view of one scored candidate from the stored
/// profile. `contact_released` says whether staff released this person's
/// contact for this vacancy.
pub fn employer_view(
    pseudonyms: &Pseudonyms,
    employer_id: &str,
    scored: ScoredMatch,
    profile: &WorkerInput,
    contact_released: bool,
    today: NaiveDate,
) -> EmployerCandidate {
    let consented = profile
        .consent
        .as_ref()
        .is_some_and(|consent| consent.share_with_employers);
    EmployerCandidate {
        candidate: pseudonyms.for_employer(employer_id, &scored.worker_id),
        score: employer_score(scored.score),
        explanation: scored.explanation.coarse(),
        province_code: profile.province_code.clone(),
        age_band: age_band(profile.date_of_birth, today),
        skills: profile
            .skills
            .iter()
            .map(|skill| CandidateSkill {
                skill: skill.skill.clone(),
                level: skill.level,
                certified: skill.certified,
            })
            .collect(),
        full_name: consented.then(|| profile.full_name.clone()),
        phone: if consented && contact_released {
            profile.phone.clone()
        } else {
            None
        },
    }
}

/// A score as an employer sees it: to the nearest 0.05.
pub fn employer_score(score: f64) -> f64 {
    to_step(score, EMPLOYER_SCORE_STEP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_per_employer_and_differ_between_employers() {
        let pseudonyms = Pseudonyms::new("secret");
        let first = pseudonyms.for_employer("e-1", "w-1");
        assert_eq!(first, pseudonyms.for_employer("e-1", "w-1"));
        assert_ne!(first, pseudonyms.for_employer("e-2", "w-1"));
        assert_ne!(first, pseudonyms.for_employer("e-1", "w-2"));
        assert_ne!(first, Pseudonyms::new("other").for_employer("e-1", "w-1"));
        assert!(!first.contains("w-1"));
        assert_eq!(first.len(), "cand_".len() + 20);
    }

    #[test]
    fn age_bands_turn_over_on_the_birthday() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 15).expect("date");
        let born = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        assert_eq!(age_band(born(2008, 6, 15), today), "18-24");
        assert_eq!(age_band(born(2008, 6, 16), today), "15-17");
        assert_eq!(age_band(born(1990, 1, 1), today), "35-44");
        assert_eq!(age_band(None, today), "unknown");
    }

    #[test]
    fn employer_min_ages_are_the_lower_bounds_of_the_age_bands() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 15).expect("date");
        for age in 15..=70u8 {
            let born = today.with_year(today.year() - i32::from(age));
            let younger = today.with_year(today.year() - i32::from(age) + 1);
            let starts_band = age_band(born, today) != age_band(younger, today);
            assert_eq!(
                EMPLOYER_MIN_AGES.contains(&age),
                starts_band,
                "age {age}: a band starts here exactly when employers may set it"
            );
        }
    }
}
