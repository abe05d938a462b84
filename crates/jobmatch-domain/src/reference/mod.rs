//! Reference data compiled into the binary: the ESCO taxonomy subset (occupations,
//! skills, their relations, ISCO-08 groups) and the gazetteers of Cambodian and Thai
//! administrative divisions.
//!
//! The CSV files live in `fixtures/reference/` (provenance and licences in its
//! README). They are embedded with `include_str!` and parsed once, on the first call to
//! [`Reference::embedded`]; afterwards every lookup is an in-memory index read.

mod gazetteer;
mod lookup;
mod taxonomy;

use std::sync::OnceLock;

pub use gazetteer::{Commune, District, Gazetteer, Province, ThaiProvince, haversine_km};
pub use lookup::Match;
pub use taxonomy::{
    IscoGroup, Occupation, OccupationId, ReuseLevel, Skill, SkillId, SkillType, Taxonomy,
};

/// The embedded CSV sources, as compiled in.
struct Sources {
    occupations: &'static str,
    skills: &'static str,
    relations: &'static str,
    isco_groups: &'static str,
    kh_provinces: &'static str,
    kh_districts: &'static str,
    kh_communes: &'static str,
    th_provinces: &'static str,
}

const SOURCES: Sources = Sources {
    occupations: include_str!("../../../../fixtures/reference/esco_occupations.csv"),
    skills: include_str!("../../../../fixtures/reference/esco_skills.csv"),
    relations: include_str!("../../../../fixtures/reference/esco_occupation_skills.csv"),
    isco_groups: include_str!("../../../../fixtures/reference/isco08_groups.csv"),
    kh_provinces: include_str!("../../../../fixtures/reference/kh_provinces.csv"),
    kh_districts: include_str!("../../../../fixtures/reference/kh_districts.csv"),
    kh_communes: include_str!("../../../../fixtures/reference/kh_communes.csv"),
    th_provinces: include_str!("../../../../fixtures/reference/th_provinces.csv"),
};

/// Why the embedded fixtures could not be loaded. Only a corrupt build can produce one.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    #[error("{file}: {source}")]
    Csv {
        file: &'static str,
        #[source]
        source: csv::Error,
    },
    #[error("{file}: {message}")]
    Invalid { file: &'static str, message: String },
}

impl LoadError {
    pub(crate) fn invalid(file: &'static str, message: impl Into<String>) -> Self {
        LoadError::Invalid {
            file,
            message: message.into(),
        }
    }
}

/// Parses every row of an embedded CSV file into `T`.
pub(crate) fn read_csv<T: serde::de::DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<Vec<T>, LoadError> {
    csv::Reader::from_reader(text.as_bytes())
        .deserialize()
        .collect::<Result<Vec<T>, _>>()
        .map_err(|source| LoadError::Csv { file, source })
}

/// All reference data: the ESCO taxonomy and the gazetteers.
#[derive(Debug)]
pub struct Reference {
    pub taxonomy: Taxonomy,
    pub gazetteer: Gazetteer,
}

impl Reference {
    /// The embedded data, parsed on first call (panics only if the embedded fixtures
    /// are corrupt, which a unit test rules out).
    pub fn embedded() -> &'static Reference {
        static REFERENCE: OnceLock<Reference> = OnceLock::new();
        REFERENCE.get_or_init(Reference::parse_embedded)
    }

    /// Parses the embedded data afresh, bypassing the shared instance. For benchmarks
    /// and tests; everything else should use [`Reference::embedded`].
    pub fn parse_embedded() -> Reference {
        Reference::load().unwrap_or_else(|e| panic!("embedded reference data is corrupt: {e}"))
    }

    fn load() -> Result<Reference, LoadError> {
        let taxonomy = Taxonomy::load(
            SOURCES.skills,
            SOURCES.occupations,
            SOURCES.relations,
            SOURCES.isco_groups,
        )?;
        let gazetteer = Gazetteer::load(
            SOURCES.kh_provinces,
            SOURCES.kh_districts,
            SOURCES.kh_communes,
            SOURCES.th_provinces,
        )?;
        Ok(Reference {
            taxonomy,
            gazetteer,
        })
    }
}

/// Accepts a bare ESCO UUID or a full URI `http://data.europa.eu/esco/skill/<uuid>` /
/// `.../occupation/<uuid>`; returns the bare uuid part (no validation of existence).
///
/// The result borrows from `input`, so its case is left as given: ESCO publishes
/// lowercase UUIDs, and the `Taxonomy` lookups compare case-insensitively.
pub fn esco_id(input: &str) -> &str {
    split_esco(input).1
}

/// Splits an ESCO reference into its concept kind (`skill`, `occupation`, … when a URI
/// was given) and its bare id.
pub(crate) fn split_esco(input: &str) -> (Option<&str>, &str) {
    let trimmed = input.trim().trim_end_matches('/');
    match trimmed.rsplit_once('/') {
        Some((prefix, id)) => {
            let kind = prefix.rsplit_once('/').map_or(prefix, |(_, kind)| kind);
            (Some(kind), id)
        }
        None => (None, trimmed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_data_loads_without_error() {
        Reference::load().expect("embedded fixtures parse");
    }

    #[test]
    fn embedded_returns_the_same_instance_every_time() {
        assert!(std::ptr::eq(Reference::embedded(), Reference::embedded()));
    }

    #[test]
    fn esco_id_strips_the_uri_prefix() {
        let uuid = "ccfbdaad-b91d-4bfe-bd0e-d30b33587f19";
        assert_eq!(esco_id(uuid), uuid);
        assert_eq!(
            esco_id(&format!("http://data.europa.eu/esco/skill/{uuid}")),
            uuid
        );
        assert_eq!(
            esco_id(&format!(" http://data.europa.eu/esco/occupation/{uuid}/ ")),
            uuid
        );
    }

    #[test]
    fn split_esco_reports_the_concept_kind_of_a_uri() {
        assert_eq!(
            split_esco("http://data.europa.eu/esco/occupation/abc"),
            (Some("occupation"), "abc")
        );
        assert_eq!(split_esco("abc"), (None, "abc"));
    }
}
