//! The scoring model: six component scores in `[0, 1]`, their weighted mean, a wage
//! penalty factor, and the feasibility rules. This is the one definition of a score;
//! the index only decides which pairs are worth handing to it (see `index`).
//!
//! | component | score |
//! |---|---|
//! | skills | mean credit over required skills (80 %) and preferred skills (20 %); a required skill held at level `l` for `min_level` `m` earns `min(l/m, 1) × (0.8 + 0.15 if certified + 0.05 × min(years, 5)/5)`; a missing one may earn partial credit through a related skill (see `tables`); no skills listed: 0.5 |
//! | occupation | best past occupation: same ESCO occupation 1, same ISCO unit 0.75, minor group 0.5, sub-major group 0.25; no occupation on the vacancy: 0.5 |
//! | experience | relevant years / `min_experience_years`, capped at 1 (years in the trade count in full, elsewhere 0.25–0.75); no minimum: 1 |
//! | distance | within the travel range `1 - 0.5 × km/range`; beyond it but willing to relocate 0.3; beyond it otherwise 0 and ineligible; unknown 0.5 |
//! | wage | expected ≤ top of the offer: 1; above: the penalty factor `exp(-k × excess)`, which also multiplies the whole score |
//! | preferences | mean of: vacancy in a preferred sector (if any listed); accommodation offered (if the person has to move); none applicable: 0.5 |
//!
//! Neutral values (0.5) stand where a vacancy does not say, so that a vacancy listing
//! nothing neither wins nor loses against one that does.

use chrono::{Months, NaiveDate};
use jobmatch_domain::resources::VacancyStatus;

use crate::profile::NO_DATE;
pub(crate) use crate::profile::age_on;
use crate::profile::{
    PackedExperience, PackedSkill, VacancyProfile, WorkerCore, attribute_certified,
    attribute_level, attribute_years, date, days, sector_bit,
};
use crate::tables::{Closeness, Tables};
use crate::weights::Weights;

/// Travel range assumed for a person who did not give `max_travel_km`.
pub const DEFAULT_MAX_TRAVEL_KM: f64 = 30.0;
/// How long after a vacancy's start (or after today, if it has started) a person may
/// become available and still be eligible.
pub const AVAILABILITY_GRACE_DAYS: u64 = 30;
/// Score of a component the vacancy says nothing about.
pub(crate) const NEUTRAL: f64 = 0.5;
/// Distance score of a person who has to move for the job.
pub(crate) const RELOCATION_SCORE: f64 = 0.3;
/// Share of the skills component that preferred skills carry when both kinds are listed.
pub(crate) const PREFERRED_SHARE: f64 = 0.2;
/// Credit of a skill held at the required level, uncertified, with no recorded years.
pub(crate) const BASE_QUALITY: f64 = 0.8;

/// Ineligibility reasons as bits.
pub(crate) const TOO_FAR: u8 = 1;
pub(crate) const UNDER_AGE: u8 = 2;
pub(crate) const NOT_AVAILABLE_IN_TIME: u8 = 4;
pub(crate) const VACANCY_NOT_OPEN: u8 = 8;
pub(crate) const WORKER_NOT_SEEKING: u8 = 16;

/// How much a held skill is worth beyond its level: certificates and years of practice.
pub(crate) fn quality(attributes: u8) -> f64 {
    let certified = if attribute_certified(attributes) {
        0.15
    } else {
        0.0
    };
    let years = f64::from(attribute_years(attributes).min(5)) / 5.0;
    BASE_QUALITY + certified + 0.05 * years
}

fn level_share(attributes: u8, min_level: u8) -> f64 {
    (f64::from(attribute_level(attributes)) / f64::from(min_level.max(1))).min(1.0)
}

/// Credit of a required skill held directly, in `[0, 1]`.
pub(crate) fn direct_credit(attributes: u8, min_level: u8) -> f64 {
    level_share(attributes, min_level) * quality(attributes)
}

/// Credit of a required skill earned through a related skill: counted as uncertified
/// and scaled by similarity (< 1), so always below holding the skill at its level.
pub(crate) fn related_credit(
    attributes: u8,
    min_level: u8,
    similarity: f32,
    related_skill_credit: f64,
) -> f64 {
    related_skill_credit * f64::from(similarity) * BASE_QUALITY * level_share(attributes, min_level)
}

/// A worker as the scorer reads it, from a [`crate::WorkerProfile`] or the index.
#[derive(Clone, Copy)]
pub(crate) struct WorkerView<'a> {
    pub(crate) core: &'a WorkerCore,
    /// [`PackedSkill`] values sorted by skill id.
    pub(crate) skills: &'a [u32],
    /// [`PackedExperience`] values.
    pub(crate) experience: &'a [u32],
}

impl WorkerView<'_> {
    pub(crate) fn skill(&self, skill: u32) -> Option<PackedSkill> {
        self.skills
            .binary_search_by_key(&skill, |held| held >> 8)
            .ok()
            .map(|index| PackedSkill(self.skills[index]))
    }

    pub(crate) fn experience(&self) -> impl Iterator<Item = PackedExperience> + '_ {
        self.experience.iter().map(|word| PackedExperience(*word))
    }
}

/// Width of the expected-wage bands an employer sees (USD): 250 stands for 250–299.
pub const WAGE_BAND_USD: f64 = 50.0;

/// The Monday on or after `day` (days from the common era; day 1, 1 January of
/// year 1, was a Monday).
pub(crate) fn monday_on_or_after(day: i32) -> i32 {
    let since_monday = (day - 1).rem_euclid(7);
    if since_monday == 0 {
        day
    } else {
        day + 7 - since_monday
    }
}

/// The lower bounds of the age bands an employer is shown (`15-17`, `18-24`,
/// `25-34`, `35-44`, `45-54`, `55+`): the only minimum ages its view of a list
/// is judged against ([`Context::under_age`]), and the only `min_age` values an
/// employer key may set.
pub const AGE_BAND_LOWER_BOUNDS: [u8; 6] = [15, 18, 25, 35, 45, 55];

/// Oldest minimum age a vacancy can set, with room to spare.
const MAX_MIN_AGE: usize = 100;

/// What scoring needs besides the pair: validated weights, tables, the date, and the
/// date arithmetic done once per query instead of once per pair.
pub(crate) struct Context<'a> {
    pub(crate) tables: &'a Tables,
    pub(crate) weights: Weights,
    pub(crate) normalised: [f64; 6],
    pub(crate) today: NaiveDate,
    pub(crate) today_days: i32,
    /// By minimum age `a`: the last birth date (in days) of a person aged `a` today.
    age_cutoffs: [i32; MAX_MIN_AGE + 1],
    /// Score as the vacancy's employer may learn it (see [`Context::for_employer`]).
    pub(crate) employer_view: bool,
}

impl<'a> Context<'a> {
    /// `weights` must have been validated.
    pub(crate) fn new(tables: &'a Tables, weights: Weights, today: NaiveDate) -> Context<'a> {
        let age_cutoffs = std::array::from_fn(|age| {
            today
                .checked_sub_months(Months::new(12 * age as u32))
                .map_or(i32::MIN + 1, days)
        });
        Context {
            tables,
            weights,
            normalised: weights.normalised(),
            today,
            today_days: days(today),
            age_cutoffs,
            employer_view: false,
        }
    }

    /// The same context, scoring people only from what their employer may learn
    /// of them (`SECURITY.md`, "What employers see"): availability counts from the
    /// Monday on or after `available_from`, an expected wage as the lower bound
    /// of its [`WAGE_BAND_USD`] band, relevant experience in whole years, and
    /// the vacancy's minimum age rounded up to an age band's lower bound
    /// ([`Context::under_age`]).
    /// Moving the vacancy's `starts_on`, wage or `min_experience_years` then
    /// changes who is listed, and how they score, only where one of those coarse
    /// values lies. The later date and the higher minimum age can only make a
    /// pair ineligible and fewer
    /// years only lower a score, so pruning stays exact; the lower wage raises a
    /// score, so the upper bounds that use the wage go through
    /// [`Context::scored_wage`] too.
    pub(crate) fn for_employer(mut self) -> Context<'a> {
        self.employer_view = true;
        self
    }

    /// The expected wage (USD, NaN when unknown) that scoring uses.
    pub(crate) fn scored_wage(&self, expected: f32) -> f32 {
        if self.employer_view && expected.is_finite() {
            let band = WAGE_BAND_USD as f32;
            (expected / band).floor() * band
        } else {
            expected
        }
    }

    /// The available-from date (days, [`NO_DATE`] when unknown) that scoring uses.
    pub(crate) fn scored_available_from(&self, available_from: i32) -> i32 {
        if self.employer_view && available_from != NO_DATE {
            monday_on_or_after(available_from)
        } else {
            available_from
        }
    }

    /// Whether a person born on `birth` (days) is younger than `min_age` today; false
    /// when the birth date is unknown.
    ///
    /// For an employer's view, `min_age` counts as rounded up to the lower bound
    /// of the next age band ([`AGE_BAND_LOWER_BOUNDS`]), whoever set it: who is
    /// listed then tells no more than the band shown, and nobody under the real
    /// minimum is listed. Above the last band's lower bound no band starts, so
    /// everyone with a known birth date counts as under age.
    pub(crate) fn under_age(&self, birth: i32, min_age: u8) -> bool {
        if birth == NO_DATE {
            return false;
        }
        let min_age = if self.employer_view {
            match AGE_BAND_LOWER_BOUNDS
                .iter()
                .find(|&&bound| bound >= min_age)
            {
                Some(&bound) => bound,
                None => return true,
            }
        } else {
            min_age
        };
        birth > self.age_cutoffs[usize::from(min_age).min(MAX_MIN_AGE)]
    }

    /// The last day (in days) a person may become available for `vacancy`: the later
    /// of its start and today, plus the grace period.
    pub(crate) fn availability_deadline(&self, vacancy: &VacancyProfile) -> i32 {
        vacancy.starts_days.max(self.today_days) + AVAILABILITY_GRACE_DAYS as i32
    }
}

/// How one required skill was met.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Met {
    Held(PackedSkill),
    Related(PackedSkill, f32),
    Missing,
}

/// The outcome of scoring one pair.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Raw {
    /// In [`crate::Component`] order.
    pub(crate) components: [f64; 6],
    pub(crate) wage_factor: f64,
    pub(crate) score: f64,
    /// Bits of the ineligibility reasons; 0 when eligible.
    pub(crate) ineligible: u8,
    /// Shares a skill (or a related one) or an ISCO minor group with the vacancy, or
    /// the vacancy asks for neither skills nor an occupation.
    pub(crate) relevant: bool,
    pub(crate) best_closeness: Closeness,
    pub(crate) distance_km: Option<f64>,
    pub(crate) travel_range_km: f64,
    pub(crate) needs_to_relocate: bool,
}

/// Calls `each` with every required skill, how it was met and its credit: the better
/// of holding it (at whatever level) and the best related skill held, so that gaining
/// any skill never lowers a score.
pub(crate) fn required_outcomes(
    worker: WorkerView<'_>,
    vacancy: &VacancyProfile,
    context: &Context<'_>,
    mut each: impl FnMut(usize, Met, f64),
) {
    let related_on = context.weights.related_skill_credit > 0.0;
    for (index, requirement) in vacancy.required.iter().enumerate() {
        let wanted = requirement.skill.0;
        let mut best = match worker.skill(wanted) {
            Some(held) => (
                Met::Held(held),
                direct_credit(held.attributes(), requirement.min_level),
            ),
            None => (Met::Missing, 0.0),
        };
        if related_on {
            for &(related, similarity) in context.tables.related(wanted) {
                if let Some(held) = worker.skill(related) {
                    let credit = related_credit(
                        held.attributes(),
                        requirement.min_level,
                        similarity,
                        context.weights.related_skill_credit,
                    );
                    if credit > best.1 {
                        // A skill held below its level keeps being reported as held.
                        let met = match best.0 {
                            Met::Held(direct) => Met::Held(direct),
                            _ => Met::Related(held, similarity),
                        };
                        best = (met, credit);
                    }
                }
            }
        }
        each(index, best.0, best.1);
    }
}

/// Scores one pair. `distance_km` is home to workplace, `None` when either place is
/// unknown.
pub(crate) fn score_pair(
    worker: WorkerView<'_>,
    vacancy: &VacancyProfile,
    distance_km: Option<f64>,
    context: &Context<'_>,
) -> Raw {
    let core = worker.core;
    let mut relevant = vacancy.unspecified();

    // Skills.
    let mut required_sum = 0.0;
    required_outcomes(worker, vacancy, context, |_, met, credit| {
        required_sum += credit;
        relevant |= !matches!(met, Met::Missing);
    });
    let mut preferred_sum = 0.0;
    for preferred in &vacancy.preferred {
        if let Some(held) = worker.skill(preferred.0) {
            preferred_sum += quality(held.attributes());
            relevant = true;
        }
    }
    let skills = match (vacancy.required.len(), vacancy.preferred.len()) {
        (0, 0) => NEUTRAL,
        (required, 0) => required_sum / required as f64,
        (0, preferred) => preferred_sum / preferred as f64,
        (required, preferred) => {
            (1.0 - PREFERRED_SHARE) * required_sum / required as f64
                + PREFERRED_SHARE * preferred_sum / preferred as f64
        }
    };

    // Occupation and experience.
    let mut best_closeness = Closeness::Unrelated;
    let mut relevant_years = 0.0;
    for entry in worker.experience() {
        match vacancy.occupation {
            Some(wanted) => {
                let closeness = context.tables.closeness(entry.occupation().0, wanted.0);
                best_closeness = best_closeness.max(closeness);
                relevant_years += entry.years() * closeness.years_share();
            }
            None => relevant_years += entry.years(),
        }
    }
    relevant |= best_closeness >= Closeness::SameMinor;
    let occupation = if vacancy.occupation.is_some() {
        best_closeness.score()
    } else {
        NEUTRAL
    };
    if context.employer_view {
        relevant_years = f64::floor(relevant_years);
    }
    let experience = match vacancy.min_experience_years {
        Some(minimum) => (relevant_years / minimum).min(1.0),
        None => 1.0,
    };

    // Distance and the travel range.
    let mut ineligible = 0;
    let travel_range_km = if core.max_travel_km.is_nan() {
        DEFAULT_MAX_TRAVEL_KM
    } else {
        f64::from(core.max_travel_km)
    };
    let mut needs_to_relocate = false;
    let distance = match distance_km {
        None => NEUTRAL,
        Some(km) if km <= travel_range_km => {
            if travel_range_km > 0.0 {
                1.0 - 0.5 * km / travel_range_km
            } else {
                1.0
            }
        }
        Some(_) if core.willing_to_relocate() => {
            needs_to_relocate = true;
            RELOCATION_SCORE
        }
        Some(_) => {
            ineligible |= TOO_FAR;
            0.0
        }
    };

    // Wage.
    let wage_factor = wage_factor(
        context.scored_wage(core.expected_wage),
        vacancy.wage_max_usd.or(vacancy.wage_min_usd),
        context.weights.wage_penalty,
    );

    // Preferences.
    let mut parts = 0.0;
    let mut part_count = 0;
    if core.preferred_sectors != 0 {
        part_count += 1;
        if core.preferred_sectors & sector_bit(vacancy.sector) != 0 {
            parts += 1.0;
        }
    }
    if needs_to_relocate {
        part_count += 1;
        if vacancy.accommodation {
            parts += 1.0;
        }
    }
    let preferences = if part_count == 0 {
        NEUTRAL
    } else {
        parts / f64::from(part_count)
    };

    // Feasibility.
    if context.under_age(core.birth, vacancy.min_age) {
        ineligible |= UNDER_AGE;
    }
    if context.scored_available_from(core.available_from) > context.availability_deadline(vacancy) {
        ineligible |= NOT_AVAILABLE_IN_TIME;
    }
    if vacancy.status != VacancyStatus::Open
        || (vacancy.closes_days != NO_DATE && vacancy.closes_days < context.today_days)
    {
        ineligible |= VACANCY_NOT_OPEN;
    }
    if !core.seeking() {
        ineligible |= WORKER_NOT_SEEKING;
    }

    let components = [
        skills,
        occupation,
        experience,
        distance,
        wage_factor,
        preferences,
    ];
    let mean: f64 = components
        .iter()
        .zip(context.normalised)
        .map(|(score, weight)| score * weight)
        .sum();
    Raw {
        components,
        wage_factor,
        score: (mean * wage_factor).clamp(0.0, 1.0),
        ineligible,
        relevant,
        best_closeness,
        distance_km,
        travel_range_km,
        needs_to_relocate,
    }
}

/// `exp(-k × excess)` where excess is the expected wage above `top`, as a fraction of
/// `top`; 1 when within the offer or when either side is unknown.
pub(crate) fn wage_factor(expected: f32, top: Option<f64>, strength: f64) -> f64 {
    let Some(top) = top else { return 1.0 };
    if expected.is_nan() {
        return 1.0;
    }
    let expected = f64::from(expected);
    if expected <= top {
        return 1.0;
    }
    let excess = if top > 0.0 {
        (expected - top) / top
    } else {
        1.0
    };
    (-strength * excess).exp()
}

/// `date(days)` for a worker's available-from, for messages.
pub(crate) fn available_date(core: &WorkerCore) -> Option<NaiveDate> {
    date(core.available_from)
}
