//! What selection knows of a pair before scoring it: each side's *gate* (8 bytes
//! packed from its profile), the upper bounds of a vacancy's skills and occupation
//! components ([`Bounds`]), and [`refine`], which tightens a score bound from the
//! gates. A bound is never below the exact score, so a slot skipped for its bound
//! could not have entered the list.

use jobmatch_domain::Sector;
use jobmatch_domain::resources::VacancyStatus;

use crate::profile::{VacancyProfile, WorkerCore, sector_bit};
use crate::score::{
    BASE_QUALITY, Context, DEFAULT_MAX_TRAVEL_KM, NEUTRAL, PREFERRED_SHARE, RELOCATION_SCORE,
};
use crate::tables::Tables;

/// Upper bounds are summed in `f32`; this margin keeps them above the exact `f64` score.
pub(super) const BOUND_MARGIN: f64 = 1e-4;

/// What selection reads of a worker before its slot record and arena, packed in a
/// `u64`: location id (bits 0–15), travel range rounded up to whole km (16–26,
/// [`UNBOUNDED_TRAVEL`] for 2047 or more), seeking (27), willing to relocate (28),
/// preferred sectors (29–37), province number (38–45), expected wage rounded down to
/// whole USD (46–61, [`NO_WAGE`] when not given). Bounds computed from it are never
/// below the exact components.
#[derive(Clone, Copy)]
pub(super) struct WorkerGate(pub(super) u64);

pub(super) const UNBOUNDED_TRAVEL: u64 = 0x7ff;
pub(super) const NO_WAGE: u64 = 0xffff;

impl WorkerGate {
    pub(super) fn new(core: &WorkerCore, location: u16) -> WorkerGate {
        let travel = if core.max_travel_km.is_nan() {
            DEFAULT_MAX_TRAVEL_KM
        } else {
            f64::from(core.max_travel_km)
        };
        let travel = if travel >= UNBOUNDED_TRAVEL as f64 {
            UNBOUNDED_TRAVEL
        } else {
            travel.ceil().max(0.0) as u64
        };
        let wage = if core.expected_wage.is_nan() {
            NO_WAGE
        } else {
            (f64::from(core.expected_wage).floor().max(0.0) as u64).min(NO_WAGE - 1)
        };
        WorkerGate(
            u64::from(location)
                | (travel << 16)
                | (u64::from(core.seeking()) << 27)
                | (u64::from(core.willing_to_relocate()) << 28)
                | (u64::from(core.preferred_sectors & 0x1ff) << 29)
                | (u64::from(core.province) << 38)
                | (wage << 46),
        )
    }

    pub(super) fn location(self) -> u16 {
        (self.0 & 0xffff) as u16
    }

    pub(super) fn seeking(self) -> bool {
        self.0 & (1 << 27) != 0
    }

    pub(super) fn relocates(self) -> bool {
        self.0 & (1 << 28) != 0
    }

    pub(super) fn preferred_sectors(self) -> u16 {
        ((self.0 >> 29) & 0x1ff) as u16
    }

    pub(super) fn province(self) -> u8 {
        ((self.0 >> 38) & 0xff) as u8
    }

    /// Monthly USD, rounded down: never above the real expectation.
    pub(super) fn expected_wage(self) -> f32 {
        match (self.0 >> 46) & 0xffff {
            NO_WAGE => f32::NAN,
            wage => wage as f32,
        }
    }

    /// At least the distance component, and whether the pair is surely too far.
    pub(super) fn distance_bound(self, distance_km: Option<f64>) -> (f64, bool) {
        let travel = (self.0 >> 16) & 0x7ff;
        match distance_km {
            None => (NEUTRAL, false),
            Some(_) if travel == UNBOUNDED_TRAVEL => (1.0, false),
            Some(km) if km <= travel as f64 => {
                if travel == 0 {
                    (1.0, false)
                } else {
                    (1.0 - 0.5 * km / travel as f64, false)
                }
            }
            Some(_) if self.relocates() => (RELOCATION_SCORE, false),
            Some(_) => (0.0, true),
        }
    }

    /// At least the preferences component for a vacancy in `sector`.
    pub(super) fn preferences_bound(self, sector: Sector, accommodation: bool) -> f64 {
        let preferred = self.preferred_sectors();
        if preferred == 0 || preferred & sector_bit(sector) != 0 {
            1.0
        } else if self.relocates() && accommodation {
            0.5
        } else {
            0.0
        }
    }
}

/// What selection reads of a vacancy before its profile, packed in a `u64`: location
/// id (bits 0–15), open (16), sector position (17–20), province number (21–28),
/// accommodation offered (29), top of the wage offer rounded up to whole USD (30–45,
/// [`NO_WAGE`] when none or too large for the field).
#[derive(Clone, Copy)]
pub(super) struct VacancyGate(pub(super) u64);

impl VacancyGate {
    pub(super) fn new(profile: &VacancyProfile, location: u16) -> VacancyGate {
        let wage = match profile.wage_max_usd.or(profile.wage_min_usd) {
            Some(top) if top.is_finite() && top < (NO_WAGE - 1) as f64 => {
                top.ceil().max(0.0) as u64
            }
            // Beyond the field: treated as no stated top, which never lowers a bound
            // (capping it would understate the top, and with it the bound).
            Some(_) | None => NO_WAGE,
        };
        VacancyGate(
            u64::from(location)
                | (u64::from(profile.status == VacancyStatus::Open) << 16)
                | (u64::from(sector_position(profile.sector)) << 17)
                | (u64::from(profile.province) << 21)
                | (u64::from(profile.accommodation) << 29)
                | (wage << 30),
        )
    }

    pub(super) fn location(self) -> u16 {
        (self.0 & 0xffff) as u16
    }

    pub(super) fn open(self) -> bool {
        self.0 & (1 << 16) != 0
    }

    pub(super) fn sector(self) -> Sector {
        Sector::ALL[(((self.0 >> 17) & 0xf) as usize).min(Sector::ALL.len() - 1)]
    }

    pub(super) fn province(self) -> u8 {
        ((self.0 >> 21) & 0xff) as u8
    }

    pub(super) fn accommodation(self) -> bool {
        self.0 & (1 << 29) != 0
    }

    /// Top of the offer, rounded up: never below the real one.
    pub(super) fn top_wage(self) -> Option<f64> {
        match (self.0 >> 30) & 0xffff {
            NO_WAGE => None,
            wage => Some(wage as f64),
        }
    }
}

pub(super) fn sector_position(sector: Sector) -> u8 {
    Sector::ALL
        .iter()
        .position(|s| *s == sector)
        .unwrap_or(Sector::ALL.len() - 1) as u8
}

/// Refines a score bound with the distance, wage and preferences components bounded
/// from the gates, the wage penalty included.
pub(super) fn refine(
    upper: f64,
    context: &Context<'_>,
    distance: f64,
    wage_factor: f64,
    preferences: f64,
) -> f64 {
    let w = &context.normalised;
    (upper - w[3] * (1.0 - distance) - w[4] * (1.0 - wage_factor) - w[5] * (1.0 - preferences))
        * wage_factor
}

/// What upper bounds need to know of one vacancy's skills and occupation.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Bounds {
    /// Weight of one required skill's credit in the skills component.
    pub(super) required: f32,
    /// Weight of one preferred skill's credit.
    pub(super) preferred: f32,
    /// The skills component of a vacancy that lists no skills.
    pub(super) base: f32,
    /// The most related skills can add to the skills component, per unit of
    /// `related_skill_credit`: Σ over required skills of weight × best similarity × 0.8.
    pub(super) related: f32,
    /// The most the occupation component can be without experience in the vacancy's
    /// ISCO minor group: 0.25 (same sub-major group), or the neutral 0.5 when the
    /// vacancy names no occupation.
    pub(super) occupation_floor: f32,
}

/// Share of the occupation component that experience in the same ISCO minor group
/// can add above `occupation_floor`.
pub(super) const SAME_MINOR_BONUS: f64 = 0.75;

impl Bounds {
    pub(super) fn of(vacancy: &VacancyProfile, tables: &Tables) -> Bounds {
        let (required, preferred) = (vacancy.required.len(), vacancy.preferred.len());
        let (required_unit, preferred_unit, base) = match (required, preferred) {
            (0, 0) => (0.0, 0.0, NEUTRAL),
            (r, 0) => (1.0 / r as f64, 0.0, 0.0),
            (0, p) => (0.0, 1.0 / p as f64, 0.0),
            (r, p) => (
                (1.0 - PREFERRED_SHARE) / r as f64,
                PREFERRED_SHARE / p as f64,
                0.0,
            ),
        };
        let related: f64 = vacancy
            .required
            .iter()
            .map(|requirement| {
                let best = tables
                    .related(requirement.skill.0)
                    .first()
                    .map_or(0.0, |&(_, similarity)| f64::from(similarity));
                required_unit * best * BASE_QUALITY
            })
            .sum();
        Bounds {
            required: required_unit as f32,
            preferred: preferred_unit as f32,
            base: base as f32,
            // Rounded up so that the bound stays a bound.
            related: (related * (1.0 + 1e-6)) as f32,
            occupation_floor: if vacancy.occupation.is_some() {
                0.25
            } else {
                NEUTRAL as f32
            },
        }
    }

    /// The part of the score bound that does not depend on the posting lists.
    pub(super) fn constant(&self, context: &Context<'_>) -> f64 {
        let w = &context.normalised;
        w[0] * (f64::from(self.base)
            + context.weights.related_skill_credit * f64::from(self.related))
            + w[1] * f64::from(self.occupation_floor)
            + w[2]
            + w[3]
            + w[4]
            + w[5]
            + BOUND_MARGIN
    }

    /// The same for a pair found only through related skills.
    pub(super) fn related_only_constant(&self, context: &Context<'_>) -> f64 {
        let w = &context.normalised;
        w[1] * f64::from(self.occupation_floor) + w[2] + w[3] + w[4] + w[5] + BOUND_MARGIN
    }
}
