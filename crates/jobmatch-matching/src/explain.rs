//! Explanations: why a pair scored what it did, in numbers a partner system can use and
//! in one sentence a counsellor can read out.
//!
//! The sentence is rendered from the structured fields alone
//! ([`Explanation::summary_with_name`]), so the API can re-render it with a person's
//! name, or without one when the caller pseudonymises.

use jobmatch_domain::Reference;
use jobmatch_domain::reference::SkillId;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::profile::VacancyProfile;
use crate::round::{round3, round3_option};
use crate::score::{
    AVAILABILITY_GRACE_DAYS, Context, Met, NOT_AVAILABLE_IN_TIME, Raw, TOO_FAR, UNDER_AGE,
    VACANCY_NOT_OPEN, WAGE_BAND_USD, WORKER_NOT_SEEKING, WorkerView, age_on, available_date,
    required_outcomes,
};
use crate::tables::Closeness;
use crate::weights::Weights;

/// The scoring components, in the order of [`Weights::components`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    Skills,
    Occupation,
    Experience,
    Distance,
    Wage,
    Preferences,
}

impl Component {
    pub const ALL: [Component; 6] = [
        Component::Skills,
        Component::Occupation,
        Component::Experience,
        Component::Distance,
        Component::Wage,
        Component::Preferences,
    ];
}

/// One component's part in the score. The score is the sum of the contributions times
/// `wage_penalty_factor` and `congestion_factor`. Numbers are rounded to 3 decimals in
/// output; ranking uses them at full precision.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ComponentScore {
    pub component: Component,
    /// 0 to 1.
    #[serde(serialize_with = "round3")]
    pub score: f64,
    /// The weight applied, as a share of all component weights (they sum to 1).
    #[serde(serialize_with = "round3")]
    pub weight: f64,
    /// `score × weight`.
    #[serde(serialize_with = "round3")]
    pub contribution: f64,
}

/// A required skill the person holds.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MatchedSkill {
    /// ESCO skill id.
    pub skill_id: String,
    pub label: String,
    /// The person's level, 1–4.
    pub level: u8,
    /// The level the vacancy asks for, 1–4.
    pub min_level: u8,
    pub certified: bool,
    /// Whole years of practice recorded.
    pub years: u8,
    /// The credit earned toward the skills component, 0 to 1.
    #[serde(serialize_with = "round3")]
    pub credit: f64,
}

/// A skill the person holds that earns part of a missing required skill's credit.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RelatedSkill {
    pub skill_id: String,
    pub label: String,
    pub level: u8,
    /// Share of occupations the two skills have in common (0.55 to 1).
    #[serde(serialize_with = "round3")]
    pub similarity: f64,
}

/// A required skill the person does not hold.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MissingSkill {
    pub skill_id: String,
    pub label: String,
    pub min_level: u8,
    /// The closest related skill the person holds, if it earned partial credit.
    pub related: Option<RelatedSkill>,
    /// The credit earned through `related`, 0 when none.
    #[serde(serialize_with = "round3")]
    pub credit: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SkillRef {
    pub skill_id: String,
    pub label: String,
}

/// How the person's best past occupation compares with the vacancy's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OccupationLevel {
    SameOccupation,
    SameIscoUnitGroup,
    SameIscoMinorGroup,
    SameIscoSubMajorGroup,
    Unrelated,
    /// The vacancy names no occupation.
    NotStated,
}

/// Stable codes of the reasons that make a pair ineligible, or penalise it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    TooFar,
    UnderAge,
    NotAvailableInTime,
    VacancyNotOpen,
    WorkerNotSeeking,
    WageAboveOffer,
    /// The person fully qualifies for other open vacancies within reach, and the
    /// candidate list was asked to make room for others (congestion damping).
    InDemandElsewhere,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReasonKind {
    /// The pair is excluded from results unless ineligible pairs are asked for.
    Ineligible,
    /// The pair stays but scores less.
    Penalty,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Reason {
    pub code: ReasonCode,
    pub kind: ReasonKind,
    /// A clause in plain English, e.g. "is 17, under the minimum age of 18 for this work".
    pub message: String,
}

/// Why a pair scored what it did.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Explanation {
    pub components: Vec<ComponentScore>,
    /// 1 unless the expected wage is above the offer; multiplies the score.
    #[serde(serialize_with = "round3")]
    pub wage_penalty_factor: f64,
    /// 1 unless congestion damping applied to a candidate list; multiplies the score.
    #[serde(serialize_with = "round3")]
    pub congestion_factor: f64,
    /// With congestion damping: how many other open vacancies within reach the person
    /// holds every required skill of, at the level asked; `null` when not counted.
    pub qualified_elsewhere: Option<u32>,
    /// Required skills held, in the vacancy's order (by skill id).
    pub matched_skills: Vec<MatchedSkill>,
    /// Required skills not held.
    pub missing_skills: Vec<MissingSkill>,
    /// Preferred skills held.
    pub matched_preferred_skills: Vec<SkillRef>,
    pub occupation_level: OccupationLevel,
    /// Home to workplace, great-circle, from the finest known coordinates; `null` when
    /// either place is unknown.
    #[serde(serialize_with = "round3_option")]
    pub distance_km: Option<f64>,
    pub same_province: bool,
    /// The person's `max_travel_km`, or the default when not given.
    pub travel_range_km: f64,
    /// The workplace is beyond the travel range and the person is willing to relocate.
    pub needs_to_relocate: bool,
    pub accommodation_offered: bool,
    pub expected_wage_usd: Option<f64>,
    pub wage_min_usd: Option<f64>,
    pub wage_max_usd: Option<f64>,
    /// Ineligibility reasons and penalties; empty for an eligible pair without penalty.
    pub reasons: Vec<Reason>,
    /// The weights applied (after any per-request override).
    pub weights: Weights,
    /// One sentence a counsellor can read out, without the person's name.
    pub summary: String,
}

fn skill_ref(reference: &Reference, skill: SkillId) -> (String, String) {
    let skill = reference.taxonomy.skill(skill);
    (skill.id.clone(), skill.label.clone())
}

pub(crate) fn explain(
    worker: WorkerView<'_>,
    vacancy: &VacancyProfile,
    raw: &Raw,
    context: &Context<'_>,
    reference: &Reference,
    worker_province: u8,
) -> Explanation {
    let components = Component::ALL
        .iter()
        .zip(raw.components)
        .zip(context.normalised)
        .map(|((component, score), weight)| ComponentScore {
            component: *component,
            score,
            weight,
            contribution: score * weight,
        })
        .collect();

    let mut matched_skills = Vec::new();
    let mut missing_skills = Vec::new();
    required_outcomes(worker, vacancy, context, |index, met, credit| {
        let requirement = vacancy.required[index];
        let (skill_id, label) = skill_ref(reference, requirement.skill);
        match met {
            Met::Held(held) => matched_skills.push(MatchedSkill {
                skill_id,
                label,
                level: held.level(),
                min_level: requirement.min_level,
                certified: held.certified(),
                years: held.years(),
                credit,
            }),
            Met::Related(held, similarity) => {
                let (related_id, related_label) = skill_ref(reference, held.skill());
                missing_skills.push(MissingSkill {
                    skill_id,
                    label,
                    min_level: requirement.min_level,
                    related: Some(RelatedSkill {
                        skill_id: related_id,
                        label: related_label,
                        level: held.level(),
                        similarity: f64::from(similarity),
                    }),
                    credit,
                });
            }
            Met::Missing => missing_skills.push(MissingSkill {
                skill_id,
                label,
                min_level: requirement.min_level,
                related: None,
                credit: 0.0,
            }),
        }
    });
    let matched_preferred_skills = vacancy
        .preferred
        .iter()
        .filter(|skill| worker.skill(skill.0).is_some())
        .map(|skill| {
            let (skill_id, label) = skill_ref(reference, *skill);
            SkillRef { skill_id, label }
        })
        .collect();

    let occupation_level = match (vacancy.occupation, raw.best_closeness) {
        (None, _) => OccupationLevel::NotStated,
        (Some(_), Closeness::SameOccupation) => OccupationLevel::SameOccupation,
        (Some(_), Closeness::SameUnit) => OccupationLevel::SameIscoUnitGroup,
        (Some(_), Closeness::SameMinor) => OccupationLevel::SameIscoMinorGroup,
        (Some(_), Closeness::SameSubMajor) => OccupationLevel::SameIscoSubMajorGroup,
        (Some(_), Closeness::Unrelated) => OccupationLevel::Unrelated,
    };

    let core = worker.core;
    let expected_wage_usd = (!core.expected_wage.is_nan()).then_some(f64::from(core.expected_wage));
    let mut reasons = Vec::new();
    let ineligible = |code, message: String| Reason {
        code,
        kind: ReasonKind::Ineligible,
        message,
    };
    if raw.ineligible & TOO_FAR != 0 {
        reasons.push(ineligible(
            ReasonCode::TooFar,
            format!(
                "the workplace is {} km from home, beyond the {} km they can travel, and they are not willing to relocate",
                km(raw.distance_km.unwrap_or(0.0)),
                km(raw.travel_range_km)
            ),
        ));
    }
    if raw.ineligible & UNDER_AGE != 0 {
        let age = age_on(core.birth, context.today).unwrap_or(0);
        reasons.push(ineligible(
            ReasonCode::UnderAge,
            format!(
                "is {age}, under the minimum age of {} for this work",
                vacancy.min_age
            ),
        ));
    }
    if raw.ineligible & NOT_AVAILABLE_IN_TIME != 0 {
        let available = available_date(core)
            .map(|d| d.to_string())
            .unwrap_or_default();
        let deadline = crate::profile::date(context.availability_deadline(vacancy))
            .map(|d| d.to_string())
            .unwrap_or_default();
        reasons.push(ineligible(
            ReasonCode::NotAvailableInTime,
            format!(
                "is available only from {available}, after {deadline} ({AVAILABILITY_GRACE_DAYS} days after the start)"
            ),
        ));
    }
    if raw.ineligible & VACANCY_NOT_OPEN != 0 {
        let message = match vacancy.closes_on {
            Some(closes) if vacancy.status.code() == "open" => {
                format!("the vacancy closed on {closes}")
            }
            _ => format!("the vacancy is {}", vacancy.status.code()),
        };
        reasons.push(ineligible(ReasonCode::VacancyNotOpen, message));
    }
    if raw.ineligible & WORKER_NOT_SEEKING != 0 {
        reasons.push(ineligible(
            ReasonCode::WorkerNotSeeking,
            format!("is not seeking work (status {})", core.status().code()),
        ));
    }
    if raw.wage_factor < 1.0 {
        let top = vacancy.wage_max_usd.or(vacancy.wage_min_usd).unwrap_or(0.0);
        let expected = expected_wage_usd.unwrap_or(0.0);
        let above = if top > 0.0 {
            format!(", {} % above", whole((expected - top) / top * 100.0))
        } else {
            String::new()
        };
        reasons.push(Reason {
            code: ReasonCode::WageAboveOffer,
            kind: ReasonKind::Penalty,
            message: format!(
                "expects {} USD{above} the most offered ({} USD); the score is multiplied by {:.2}",
                usd(expected),
                usd(top),
                raw.wage_factor
            ),
        });
    }

    let mut explanation = Explanation {
        components,
        wage_penalty_factor: raw.wage_factor,
        congestion_factor: 1.0,
        qualified_elsewhere: None,
        matched_skills,
        missing_skills,
        matched_preferred_skills,
        occupation_level,
        distance_km: raw.distance_km,
        same_province: worker_province != 0 && worker_province == vacancy.province,
        travel_range_km: raw.travel_range_km,
        needs_to_relocate: raw.needs_to_relocate,
        accommodation_offered: vacancy.accommodation,
        expected_wage_usd,
        wage_min_usd: vacancy.wage_min_usd,
        wage_max_usd: vacancy.wage_max_usd,
        reasons,
        weights: context.weights,
        summary: String::new(),
    };
    explanation.summary = explanation.summary_with_name(None);
    explanation
}

fn km(value: f64) -> String {
    whole(value)
}

fn usd(value: f64) -> String {
    whole(value)
}

/// `format!("{value:.0}")` (nearest whole number, ties to even), without the exact
/// decimal expansion it runs for every value: sentences carry several such numbers
/// and are written for every item of every list.
pub(crate) fn whole(value: f64) -> String {
    // Below 2^53 every double rounded to a whole number converts to `i64` exactly.
    if value.abs() < 9e15 {
        let rounded = value.round_ties_even();
        if rounded == 0.0 && value.is_sign_negative() {
            return "-0".to_string();
        }
        return (rounded as i64).to_string();
    }
    format!("{value:.0}")
}

/// "a", "a and b", "a, b and c".
fn join_and(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// At most three labels, then "and N more".
fn label_list(labels: &[&str]) -> String {
    const SHOWN: usize = 3;
    let mut shown: Vec<String> = labels.iter().take(SHOWN).map(|l| l.to_string()).collect();
    if labels.len() > SHOWN {
        shown.push(format!("{} more", labels.len() - SHOWN));
    }
    join_and(&shown)
}

impl Explanation {
    /// Records the congestion damping of a candidate list: `qualified_elsewhere` other
    /// open vacancies within reach, and the `factor` the score was multiplied by
    /// (a penalty reason when below 1).
    pub(crate) fn apply_congestion(&mut self, qualified_elsewhere: u32, factor: f64) {
        self.qualified_elsewhere = Some(qualified_elsewhere);
        self.congestion_factor = factor;
        if factor < 1.0 {
            let which = if qualified_elsewhere == 1 {
                "another open vacancy".to_string()
            } else {
                format!("{qualified_elsewhere} other open vacancies")
            };
            self.reasons.push(Reason {
                code: ReasonCode::InDemandElsewhere,
                kind: ReasonKind::Penalty,
                message: format!(
                    "has every required skill of {which} within reach; the score is multiplied by {factor:.2} to make room for others"
                ),
            });
        }
    }

    /// Whether the pair may be offered: no reason of kind `ineligible`.
    pub fn eligible(&self) -> bool {
        self.reasons
            .iter()
            .all(|reason| reason.kind != ReasonKind::Ineligible)
    }

    /// The read-out sentence with `display_name` as its subject, or "This person" when
    /// `None` (pseudonymised output must pass `None`).
    pub fn summary_with_name(&self, display_name: Option<&str>) -> String {
        self.render_summary(display_name, Precision::Exact, &self.reasons)
    }

    /// The sentence with `blocking` reasons' messages, distances and wages at
    /// `precision`.
    fn render_summary(
        &self,
        display_name: Option<&str>,
        precision: Precision,
        reasons: &[Reason],
    ) -> String {
        let subject = display_name
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .unwrap_or("This person");
        let mut clauses: Vec<String> = Vec::new();

        let required = self.matched_skills.len() + self.missing_skills.len();
        if required > 0 {
            let held = self.matched_skills.len();
            let mut clause = if held == required && required == 1 {
                "has the required skill".to_string()
            } else if held == required {
                format!("has all {required} required skills")
            } else if held == 0 && required == 1 {
                "does not have the required skill".to_string()
            } else if held == 0 {
                format!("has none of the {required} required skills")
            } else {
                format!("has {held} of the {required} required skills")
            };
            let mut notes = Vec::new();
            if !self.missing_skills.is_empty() {
                let labels: Vec<&str> = self
                    .missing_skills
                    .iter()
                    .map(|s| s.label.as_str())
                    .collect();
                notes.push(format!("missing: {}", label_list(&labels)));
            }
            let below: Vec<String> = self
                .matched_skills
                .iter()
                .filter(|s| s.level < s.min_level)
                .map(|s| format!("{} at level {} of {}", s.label, s.level, s.min_level))
                .collect();
            if !below.is_empty() {
                notes.push(format!("below the level asked: {}", join_and(&below)));
            }
            if !notes.is_empty() {
                clause.push_str(&format!(" ({})", notes.join("; ")));
            }
            clauses.push(clause);
        }

        match self.occupation_level {
            OccupationLevel::SameOccupation => {
                clauses.push("has worked in this occupation before".to_string())
            }
            OccupationLevel::SameIscoUnitGroup => {
                clauses.push("has worked in a closely related occupation".to_string())
            }
            _ => {}
        }

        match self.distance_km {
            Some(distance) if precision == Precision::Coarse => {
                let band = distance_band_km(distance);
                if self.needs_to_relocate {
                    let lodging = if self.accommodation_offered {
                        " (accommodation is offered)"
                    } else {
                        " (no accommodation is offered)"
                    };
                    clauses.push(format!(
                        "lives {band} km from the workplace but is willing to relocate{lodging}"
                    ))
                } else {
                    clauses.push(format!("lives {band} km from the workplace"))
                }
            }
            Some(distance) if distance < 0.5 && self.same_province => {
                clauses.push("lives in the province of the workplace".to_string())
            }
            Some(distance) if !self.needs_to_relocate && distance <= self.travel_range_km => {
                clauses.push(format!("lives {} km from the workplace", km(distance)))
            }
            Some(distance) if self.needs_to_relocate => {
                let lodging = if self.accommodation_offered {
                    " (accommodation is offered)"
                } else {
                    " (no accommodation is offered)"
                };
                clauses.push(format!(
                    "lives {} km from the workplace but is willing to relocate{lodging}",
                    km(distance)
                ))
            }
            Some(distance) => clauses.push(format!("lives {} km from the workplace", km(distance))),
            None => {}
        }

        if let Some(expected) = self
            .expected_wage_usd
            .filter(|_| precision == Precision::Exact)
        {
            let offer = match (self.wage_min_usd, self.wage_max_usd) {
                (Some(min), Some(max)) if min < max => {
                    Some(format!("{}–{} USD", usd(min), usd(max)))
                }
                (Some(amount), _) | (None, Some(amount)) => Some(format!("{} USD", usd(amount))),
                (None, None) => None,
            };
            let top = self.wage_max_usd.or(self.wage_min_usd);
            let bottom = self.wage_min_usd.or(self.wage_max_usd);
            let clause = match (offer, top, bottom) {
                (Some(offer), Some(top), _) if expected > top => {
                    format!("expects {} USD, above the {offer} offered", usd(expected))
                }
                (Some(offer), _, Some(bottom)) if expected < bottom => {
                    format!("expects {} USD, below the {offer} offered", usd(expected))
                }
                (Some(offer), _, _) => {
                    format!("expects {} USD, within the {offer} offered", usd(expected))
                }
                _ => format!("expects {} USD (no wage stated)", usd(expected)),
            };
            clauses.push(clause);
        }

        if let Some(expected) = self
            .expected_wage_usd
            .filter(|_| precision == Precision::Coarse)
        {
            // Judged from the band's lower bound, as scoring for employers is.
            let band = wage_band_usd(expected);
            let low = wage_band_floor(expected);
            let offer = match (self.wage_min_usd, self.wage_max_usd) {
                (Some(min), Some(max)) if min < max => {
                    Some(format!("{}–{} USD", usd(min), usd(max)))
                }
                (Some(amount), _) | (None, Some(amount)) => Some(format!("{} USD", usd(amount))),
                (None, None) => None,
            };
            let top = self.wage_max_usd.or(self.wage_min_usd);
            let bottom = self.wage_min_usd.or(self.wage_max_usd);
            let clause = match (offer, top, bottom) {
                (Some(offer), Some(top), _) if low > top => {
                    format!("expects {band} USD, above the {offer} offered")
                }
                (Some(offer), _, Some(bottom)) if low + WAGE_BAND_USD <= bottom => {
                    format!("expects {band} USD, below the {offer} offered")
                }
                (Some(offer), _, _) => format!("expects {band} USD, against the {offer} offered"),
                _ => format!("expects {band} USD (no wage stated)"),
            };
            clauses.push(clause);
        }

        let mut sentence = if clauses.is_empty() {
            format!("{subject} has no skills or experience recorded that this vacancy asks for.")
        } else {
            format!("{subject} {}.", join_and(&clauses))
        };
        let blocking: Vec<&str> = reasons
            .iter()
            .filter(|reason| reason.kind == ReasonKind::Ineligible)
            .map(|reason| reason.message.as_str())
            .collect();
        if !blocking.is_empty() {
            sentence.push_str(&format!(" Not eligible: {}.", blocking.join("; ")));
        }
        sentence
    }
}

/// How exactly a summary states distances and wages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Precision {
    /// As recorded: for staff and admins.
    Exact,
    /// In the bands an employer may see.
    Coarse,
}

/// Step of the total score an employer sees.
pub const EMPLOYER_SCORE_STEP: f64 = 0.05;
/// Step of component scores an employer sees: occupation closeness is already in
/// quarters, and a finer distance score would tell the distance more finely than
/// its band.
pub const EMPLOYER_COMPONENT_STEP: f64 = 0.25;
/// Step of skill credits and score factors an employer sees.
pub const EMPLOYER_CREDIT_STEP: f64 = 0.05;
/// Width of the distance bands an employer sees (km), up to [`DISTANCE_BANDS_END_KM`].
pub const DISTANCE_BAND_KM: f64 = 10.0;
/// Distances from here on are one band, `100+`.
pub const DISTANCE_BANDS_END_KM: f64 = 100.0;

/// `value` to the nearest multiple of `step` (3 decimals, as all output).
pub fn to_step(value: f64, step: f64) -> f64 {
    ((value / step).round() * step * 1000.0).round() / 1000.0
}

/// `0-10`, `10-20`, ... `90-100`, `100+` (km); a band includes its upper bound.
pub fn distance_band_km(km: f64) -> String {
    if km > DISTANCE_BANDS_END_KM {
        return format!("{}+", whole(DISTANCE_BANDS_END_KM));
    }
    let upper = ((km / DISTANCE_BAND_KM).ceil().max(1.0)) * DISTANCE_BAND_KM;
    format!("{}-{}", whole(upper - DISTANCE_BAND_KM), whole(upper))
}

/// The lower bound of the wage band `usd` falls in.
fn wage_band_floor(usd: f64) -> f64 {
    (usd / WAGE_BAND_USD).floor() * WAGE_BAND_USD
}

/// `250-299` for 250 to 299.99 USD a month.
pub fn wage_band_usd(usd: f64) -> String {
    let low = wage_band_floor(usd);
    format!("{}-{}", whole(low), whole(low + WAGE_BAND_USD - 1.0))
}

/// Years of practice of a skill as an employer sees them: `0`, `1-2`, `3-5`, `6+`
/// (scoring counts up to 5).
pub fn years_band(years: u8) -> &'static str {
    match years {
        0 => "0",
        1..=2 => "1-2",
        3..=5 => "3-5",
        _ => "6+",
    }
}

/// A component's part in the score as an employer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CoarseComponentScore {
    pub component: Component,
    /// 0 to 1 in quarters (0, 0.25, 0.5, 0.75, 1).
    pub score: f64,
    /// The weight applied, as a share of all component weights.
    pub weight: f64,
    /// `score × weight`, from the quartered score.
    pub contribution: f64,
}

/// A required skill the person holds, as an employer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CoarseMatchedSkill {
    pub skill_id: String,
    pub label: String,
    /// The person's level, 1–4.
    pub level: u8,
    /// The level the vacancy asks for, 1–4.
    pub min_level: u8,
    pub certified: bool,
    /// Years of practice: `0`, `1-2`, `3-5` or `6+`.
    pub years: &'static str,
    /// The credit earned toward the skills component, 0 to 1 in steps of 0.05.
    pub credit: f64,
}

/// A required skill the person does not hold, as an employer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CoarseMissingSkill {
    pub skill_id: String,
    pub label: String,
    pub min_level: u8,
    /// The closest related skill the person holds, if it earned partial credit.
    pub related: Option<RelatedSkill>,
    /// The credit earned through `related`, in steps of 0.05.
    pub credit: f64,
}

/// Why a pair scored what it did, in the coarse values the vacancy's employer may
/// learn (`SECURITY.md`, "What employers see"): no exact distance, travel range,
/// wage, years or age, and no score fine enough to work them out from.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CoarseExplanation {
    pub components: Vec<CoarseComponentScore>,
    /// 1 unless the expected wage band is above the offer; in steps of 0.05.
    pub wage_penalty_factor: f64,
    /// 1 unless congestion damping applied; in steps of 0.05.
    pub congestion_factor: f64,
    pub matched_skills: Vec<CoarseMatchedSkill>,
    pub missing_skills: Vec<CoarseMissingSkill>,
    pub matched_preferred_skills: Vec<SkillRef>,
    pub occupation_level: OccupationLevel,
    /// Home to workplace in 10 km bands: `0-10`, `10-20`, ... `90-100`, `100+`;
    /// `null` when either place is unknown.
    pub distance_band_km: Option<String>,
    pub same_province: bool,
    /// The workplace is beyond the person's travel range and they are willing to
    /// relocate.
    pub needs_to_relocate: bool,
    pub accommodation_offered: bool,
    /// The expected monthly wage in 50 USD bands, e.g. `250-299`.
    pub expected_wage_band_usd: Option<String>,
    pub wage_min_usd: Option<f64>,
    pub wage_max_usd: Option<f64>,
    /// Penalties (and, never listed for employers, ineligibility reasons), with
    /// messages that carry no exact age, date, wage or distance.
    pub reasons: Vec<Reason>,
    /// The weights applied: always the deployment's.
    pub weights: Weights,
    /// One sentence to read, in the same coarse values, without a name.
    pub summary: String,
}

impl Explanation {
    /// The explanation in the coarse values an employer may see. Meant for pairs
    /// scored with an employer's query (`CandidateQuery::employer_view`), whose
    /// wage penalty is judged from the wage band.
    pub fn coarse(&self) -> CoarseExplanation {
        let reasons: Vec<Reason> = self
            .reasons
            .iter()
            .map(|reason| Reason {
                code: reason.code,
                kind: reason.kind,
                message: self.coarse_message(reason.code),
            })
            .collect();
        CoarseExplanation {
            components: self
                .components
                .iter()
                .map(|component| {
                    let score = to_step(component.score, EMPLOYER_COMPONENT_STEP);
                    CoarseComponentScore {
                        component: component.component,
                        score,
                        weight: to_step(component.weight, 0.001),
                        contribution: to_step(score * component.weight, 0.001),
                    }
                })
                .collect(),
            wage_penalty_factor: to_step(self.wage_penalty_factor, EMPLOYER_CREDIT_STEP),
            congestion_factor: to_step(self.congestion_factor, EMPLOYER_CREDIT_STEP),
            matched_skills: self
                .matched_skills
                .iter()
                .map(|skill| CoarseMatchedSkill {
                    skill_id: skill.skill_id.clone(),
                    label: skill.label.clone(),
                    level: skill.level,
                    min_level: skill.min_level,
                    certified: skill.certified,
                    years: years_band(skill.years),
                    credit: to_step(skill.credit, EMPLOYER_CREDIT_STEP),
                })
                .collect(),
            missing_skills: self
                .missing_skills
                .iter()
                .map(|skill| CoarseMissingSkill {
                    skill_id: skill.skill_id.clone(),
                    label: skill.label.clone(),
                    min_level: skill.min_level,
                    related: skill.related.clone(),
                    credit: to_step(skill.credit, EMPLOYER_CREDIT_STEP),
                })
                .collect(),
            matched_preferred_skills: self.matched_preferred_skills.clone(),
            occupation_level: self.occupation_level,
            distance_band_km: self.distance_km.map(distance_band_km),
            same_province: self.same_province,
            needs_to_relocate: self.needs_to_relocate,
            accommodation_offered: self.accommodation_offered,
            expected_wage_band_usd: self.expected_wage_usd.map(wage_band_usd),
            wage_min_usd: self.wage_min_usd,
            wage_max_usd: self.wage_max_usd,
            summary: self.render_summary(None, Precision::Coarse, &reasons),
            reasons,
            weights: self.weights,
        }
    }

    /// A reason's clause without exact ages, dates, wages or distances.
    fn coarse_message(&self, code: ReasonCode) -> String {
        match code {
            ReasonCode::TooFar => "the workplace is beyond the distance they can travel, and they are not willing to relocate".to_string(),
            ReasonCode::UnderAge => "is under the minimum age for this work".to_string(),
            ReasonCode::NotAvailableInTime => format!(
                "is not available within {AVAILABILITY_GRACE_DAYS} days after the start"
            ),
            ReasonCode::VacancyNotOpen => "the vacancy is not open".to_string(),
            ReasonCode::WorkerNotSeeking => "is not seeking work".to_string(),
            ReasonCode::WageAboveOffer => {
                let band = self
                    .expected_wage_usd
                    .map(wage_band_usd)
                    .unwrap_or_default();
                let top = self.wage_max_usd.or(self.wage_min_usd).unwrap_or(0.0);
                format!(
                    "expects {band} USD, above the most offered ({} USD); the score is multiplied by {:.2}",
                    usd(top),
                    to_step(self.wage_penalty_factor, EMPLOYER_CREDIT_STEP)
                )
            }
            ReasonCode::InDemandElsewhere => format!(
                "has every required skill of other open vacancies within reach; the score is multiplied by {:.2} to make room for others",
                to_step(self.congestion_factor, EMPLOYER_CREDIT_STEP)
            ),
        }
    }
}
