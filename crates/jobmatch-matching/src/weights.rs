//! The weights of the scoring model and the few tuning factors that go with them.
//!
//! A score is the weighted mean of six component scores, each in `[0, 1]`, multiplied
//! by a wage penalty factor. Weights are relative: only their ratios matter, and the
//! explanation reports each one normalised to a share of their sum. The defaults come
//! from configuration and can be overridden per request; both go through
//! [`Weights::validate`], which names the first field at fault.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::MatchError;

/// Component weights (any finite numbers ≥ 0 with a positive sum) and tuning factors.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Weights {
    /// Coverage of the required skills at the required level, plus preferred skills.
    #[schema(minimum = 0, default = 0.45)]
    pub skills: f64,
    /// How close the person's past occupations are to the vacancy's (ESCO, then ISCO-08
    /// unit, minor and sub-major group).
    #[schema(minimum = 0, default = 0.2)]
    pub occupation: f64,
    /// Relevant years of experience against `min_experience_years`.
    #[schema(minimum = 0, default = 0.1)]
    pub experience: f64,
    /// Closer is better, within the person's travel range.
    #[schema(minimum = 0, default = 0.1)]
    pub distance: f64,
    /// Expected wage within the offer.
    #[schema(minimum = 0, default = 0.1)]
    pub wage: f64,
    /// Preferred sectors; accommodation for a person who has to move.
    #[schema(minimum = 0, default = 0.05)]
    pub preferences: f64,
    /// Share of a required skill's credit earned through a closely related skill
    /// (ESCO skills asked for by mostly the same occupations); 0 switches it off.
    #[schema(minimum = 0, maximum = 1, default = 0.5)]
    pub related_skill_credit: f64,
    /// How fast the wage penalty grows: the factor is `exp(-k × excess)`, where excess
    /// is how far the expected wage is above the top of the offer, as a fraction of it
    /// (k = 5: 10 % above multiplies the score by 0.61, 20 % by 0.37). 0 switches it off.
    #[schema(minimum = 0, maximum = 100, default = 5)]
    pub wage_penalty: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            skills: 0.45,
            occupation: 0.2,
            experience: 0.1,
            distance: 0.1,
            wage: 0.1,
            preferences: 0.05,
            related_skill_credit: 0.5,
            wage_penalty: 5.0,
        }
    }
}

impl Weights {
    /// The six component weights in [`crate::Component`] order.
    pub fn components(&self) -> [f64; 6] {
        [
            self.skills,
            self.occupation,
            self.experience,
            self.distance,
            self.wage,
            self.preferences,
        ]
    }

    /// Every component weight finite and ≥ 0 with a positive sum; the factors in their
    /// ranges. The error names the first field at fault.
    pub fn validate(&self) -> Result<(), MatchError> {
        let named = [
            ("skills", self.skills),
            ("occupation", self.occupation),
            ("experience", self.experience),
            ("distance", self.distance),
            ("wage", self.wage),
            ("preferences", self.preferences),
        ];
        for (name, value) in named {
            if !value.is_finite() || value < 0.0 {
                return Err(MatchError::InvalidWeight {
                    name,
                    reason: "must be a finite number at least 0",
                });
            }
        }
        if named.iter().map(|(_, value)| value).sum::<f64>() <= 0.0 {
            return Err(MatchError::InvalidWeight {
                name: "skills",
                reason: "and the other component weights must not all be 0",
            });
        }
        if !(0.0..=1.0).contains(&self.related_skill_credit) {
            return Err(MatchError::InvalidWeight {
                name: "related_skill_credit",
                reason: "must be between 0 and 1",
            });
        }
        if !(0.0..=100.0).contains(&self.wage_penalty) {
            return Err(MatchError::InvalidWeight {
                name: "wage_penalty",
                reason: "must be between 0 and 100",
            });
        }
        Ok(())
    }

    /// The component weights divided by their sum (call after [`Weights::validate`]).
    pub(crate) fn normalised(&self) -> [f64; 6] {
        let raw = self.components();
        let total: f64 = raw.iter().sum();
        raw.map(|weight| weight / total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_weights_are_valid_and_sum_to_one() {
        let weights = Weights::default();
        weights.validate().unwrap();
        let sum: f64 = weights.components().iter().sum();
        assert!((sum - 1.0).abs() < 1e-12);
    }

    #[test]
    fn invalid_weight_is_rejected_naming_it() {
        let negative = Weights {
            distance: -0.1,
            ..Weights::default()
        };
        assert!(matches!(
            negative.validate(),
            Err(MatchError::InvalidWeight {
                name: "distance",
                ..
            })
        ));
        let not_finite = Weights {
            wage: f64::NAN,
            ..Weights::default()
        };
        let error = not_finite.validate().unwrap_err();
        assert_eq!(
            error.to_string(),
            "weight wage must be a finite number at least 0"
        );
        let all_zero = Weights {
            skills: 0.0,
            occupation: 0.0,
            experience: 0.0,
            distance: 0.0,
            wage: 0.0,
            preferences: 0.0,
            ..Weights::default()
        };
        assert!(all_zero.validate().is_err());
        let credit = Weights {
            related_skill_credit: 1.5,
            ..Weights::default()
        };
        assert!(matches!(
            credit.validate(),
            Err(MatchError::InvalidWeight {
                name: "related_skill_credit",
                ..
            })
        ));
    }

    #[test]
    fn partial_weights_in_json_fill_in_the_defaults() {
        let weights: Weights = serde_json::from_str(r#"{"distance": 0.5}"#).unwrap();
        assert_eq!(weights.distance, 0.5);
        assert_eq!(weights.skills, Weights::default().skills);
        assert!(serde_json::from_str::<Weights>(r#"{"distnce": 0.5}"#).is_err());
    }
}
