//! Economic sectors, the coarse classification every vacancy and employer carries.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A sector code. Garment, construction and production are where most returnees are
/// expected to find work, so they come first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Sector {
    Garment,
    Construction,
    /// Manufacturing other than garment.
    Production,
    FoodProcessing,
    Agriculture,
    Hospitality,
    Transport,
    Services,
    Other,
}

impl Sector {
    pub const ALL: [Sector; 9] = [
        Sector::Garment,
        Sector::Construction,
        Sector::Production,
        Sector::FoodProcessing,
        Sector::Agriculture,
        Sector::Hospitality,
        Sector::Transport,
        Sector::Services,
        Sector::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Sector::Garment => "garment",
            Sector::Construction => "construction",
            Sector::Production => "production",
            Sector::FoodProcessing => "food_processing",
            Sector::Agriculture => "agriculture",
            Sector::Hospitality => "hospitality",
            Sector::Transport => "transport",
            Sector::Services => "services",
            Sector::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<Sector> {
        Sector::ALL.into_iter().find(|sector| sector.code() == code)
    }

    pub fn name_en(self) -> &'static str {
        match self {
            Sector::Garment => "Garment, footwear and travel goods",
            Sector::Construction => "Construction",
            Sector::Production => "Production and manufacturing",
            Sector::FoodProcessing => "Food processing",
            Sector::Agriculture => "Agriculture, forestry and fishing",
            Sector::Hospitality => "Hospitality and tourism",
            Sector::Transport => "Transport and logistics",
            Sector::Services => "Services",
            Sector::Other => "Other",
        }
    }

    pub fn name_km(self) -> &'static str {
        match self {
            Sector::Garment => "កាត់ដេរ ស្បែកជើង និងទំនិញធ្វើដំណើរ",
            Sector::Construction => "សំណង់",
            Sector::Production => "ផលិតកម្ម",
            Sector::FoodProcessing => "កែច្នៃម្ហូបអាហារ",
            Sector::Agriculture => "កសិកម្ម",
            Sector::Hospitality => "បដិសណ្ឋារកិច្ច និងទេសចរណ៍",
            Sector::Transport => "ដឹកជញ្ជូន",
            Sector::Services => "សេវាកម្ម",
            Sector::Other => "ផ្សេងៗ",
        }
    }

    /// Work that Cambodian labour law treats as hazardous, for which 18 is the
    /// minimum age whatever the vacancy says.
    pub fn is_hazardous(self) -> bool {
        matches!(self, Sector::Construction)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_sector_code_round_trips_through_serde() {
        for sector in Sector::ALL {
            let json = serde_json::to_string(&sector).unwrap();
            assert_eq!(json, format!("\"{}\"", sector.code()));
            assert_eq!(Sector::from_code(sector.code()), Some(sector));
        }
    }
}
