//! The ESCO taxonomy subset: skills, occupations, the occupation–skill relations
//! between them and the ISCO-08 groups, indexed by dense ids and by ESCO UUID.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::lookup::LabelIndex;
use super::{LoadError, read_csv, split_esco};

/// A skill, as a dense index into [`Taxonomy::skills`]. Only valid for the taxonomy
/// that issued it; ids are stable for a given build of the fixtures, not across them
/// (persist the ESCO UUID instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SkillId(pub u32);

/// An occupation, as a dense index into [`Taxonomy::occupations`]. Same validity rules
/// as [`SkillId`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct OccupationId(pub u32);

/// ESCO's split between abilities (`skill/competence`) and bodies of knowledge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SkillType {
    #[serde(rename = "skill/competence")]
    Skill,
    #[serde(rename = "knowledge")]
    Knowledge,
}

impl SkillType {
    /// The ESCO spelling: `skill/competence` or `knowledge`.
    pub fn as_str(self) -> &'static str {
        match self {
            SkillType::Skill => "skill/competence",
            SkillType::Knowledge => "knowledge",
        }
    }
}

/// How widely ESCO considers a skill reusable across occupations. The subset holds no
/// transversal skills (those are only linked from non-occupation concepts), but the
/// level exists in ESCO and is kept for completeness.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReuseLevel {
    Transversal,
    CrossSector,
    SectorSpecific,
    OccupationSpecific,
}

impl ReuseLevel {
    /// The ESCO spelling, e.g. `sector-specific`.
    pub fn as_str(self) -> &'static str {
        match self {
            ReuseLevel::Transversal => "transversal",
            ReuseLevel::CrossSector => "cross-sector",
            ReuseLevel::SectorSpecific => "sector-specific",
            ReuseLevel::OccupationSpecific => "occupation-specific",
        }
    }
}

/// An ESCO skill or knowledge concept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skill {
    /// Bare lowercase ESCO UUID.
    pub id: String,
    pub label: String,
    /// Alternative labels, without the preferred label and without duplicates.
    pub alt_labels: Vec<String>,
    pub skill_type: SkillType,
    pub reuse_level: ReuseLevel,
    pub description: String,
    /// How many of the 1,061 occupations in the subset link to this skill.
    pub linked_occupation_count: u32,
}

/// An ESCO occupation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Occupation {
    /// Bare lowercase ESCO UUID.
    pub id: String,
    /// ESCO code, e.g. `8153.1`; starts with the ISCO unit group.
    pub esco_code: String,
    /// ISCO-08 4-digit unit group.
    pub isco_code: String,
    pub label: String,
    /// Alternative labels, without the preferred label and without duplicates.
    pub alt_labels: Vec<String>,
    pub description: String,
    /// Sorted by id, no duplicates.
    pub essential_skills: Vec<SkillId>,
    /// Sorted by id, no duplicates, disjoint from `essential_skills`.
    pub optional_skills: Vec<SkillId>,
}

/// An ISCO-08 group at any level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IscoGroup {
    /// 1 to 4 digits; major group `0` is the armed forces, so keep codes as strings.
    pub code: String,
    /// Number of digits in `code`: 1 major, 2 sub-major, 3 minor, 4 unit group.
    pub level: u8,
    pub label: String,
}

/// The ESCO subset, indexed. Built once by [`super::Reference::embedded`].
pub struct Taxonomy {
    skills: Vec<Skill>,
    skill_by_uuid: HashMap<String, SkillId>,
    occupations: Vec<Occupation>,
    occupation_by_uuid: HashMap<String, OccupationId>,
    isco_groups: HashMap<String, IscoGroup>,
    /// Indexed by `SkillId`; each list sorted, no duplicates.
    occupations_by_skill: Vec<Vec<OccupationId>>,
    pub(super) skill_index: LabelIndex,
    pub(super) occupation_index: LabelIndex,
    /// Skills ordered for an empty lookup query (see `lookup`), best first.
    pub(super) default_skills: Vec<SkillId>,
    /// Occupations ordered for an empty lookup query (see `lookup`), best first.
    pub(super) default_occupations: Vec<OccupationId>,
}

impl fmt::Debug for Taxonomy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Taxonomy")
            .field("skills", &self.skills.len())
            .field("occupations", &self.occupations.len())
            .field("isco_groups", &self.isco_groups.len())
            .finish_non_exhaustive()
    }
}

impl Taxonomy {
    pub fn skill(&self, id: SkillId) -> &Skill {
        &self.skills[id.0 as usize]
    }

    /// Accepts a bare UUID or a full skill URI; case-insensitive. A URI of another
    /// concept kind (e.g. `.../occupation/<uuid>`) resolves to `None`.
    pub fn skill_id(&self, uuid_or_uri: &str) -> Option<SkillId> {
        let id = esco_id_of_kind(uuid_or_uri, "skill")?;
        find_by_uuid(&self.skill_by_uuid, id)
    }

    /// All skills, in [`SkillId`] order (sorted by preferred label).
    pub fn skills(&self) -> &[Skill] {
        &self.skills
    }

    pub fn occupation(&self, id: OccupationId) -> &Occupation {
        &self.occupations[id.0 as usize]
    }

    /// Accepts a bare UUID or a full occupation URI; case-insensitive. A URI of another
    /// concept kind resolves to `None`.
    pub fn occupation_id(&self, uuid_or_uri: &str) -> Option<OccupationId> {
        let id = esco_id_of_kind(uuid_or_uri, "occupation")?;
        find_by_uuid(&self.occupation_by_uuid, id)
    }

    /// All occupations, in [`OccupationId`] order (sorted by ESCO code).
    pub fn occupations(&self) -> &[Occupation] {
        &self.occupations
    }

    /// An ISCO-08 group at any level, by its 1–4 digit code.
    pub fn isco_group(&self, code: &str) -> Option<&IscoGroup> {
        self.isco_groups.get(code.trim())
    }

    /// Occupations (ids) that list this skill as essential or optional; sorted.
    pub fn occupations_with_skill(&self, skill: SkillId) -> &[OccupationId] {
        &self.occupations_by_skill[skill.0 as usize]
    }

    pub(super) fn load(
        skills_csv: &str,
        occupations_csv: &str,
        relations_csv: &str,
        isco_csv: &str,
    ) -> Result<Taxonomy, LoadError> {
        let (skills, skill_hidden_labels) = parse_skills(skills_csv)?;
        let skill_by_uuid = uuid_map(skills.iter().map(|s| s.id.as_str()), SkillId)
            .map_err(|dup| LoadError::invalid(SKILLS, format!("duplicate skill {dup}")))?;

        let mut occupations = parse_occupations(occupations_csv)?;
        let occupation_by_uuid = uuid_map(occupations.iter().map(|o| o.id.as_str()), OccupationId)
            .map_err(|dup| {
                LoadError::invalid(OCCUPATIONS, format!("duplicate occupation {dup}"))
            })?;

        let mut occupations_by_skill = vec![Vec::new(); skills.len()];
        let mut relations = csv::Reader::from_reader(relations_csv.as_bytes());
        let headers = relations
            .headers()
            .map_err(|source| LoadError::Csv {
                file: RELATIONS,
                source,
            })?
            .clone();
        let mut record = csv::StringRecord::new();
        // Reading into one reused record with borrowed fields: this is the largest file.
        while relations
            .read_record(&mut record)
            .map_err(|source| LoadError::Csv {
                file: RELATIONS,
                source,
            })?
        {
            let row: RelationRow<'_> =
                record
                    .deserialize(Some(&headers))
                    .map_err(|source| LoadError::Csv {
                        file: RELATIONS,
                        source,
                    })?;
            let occupation = find_by_uuid(&occupation_by_uuid, super::esco_id(row.occupation))
                .ok_or_else(|| {
                    LoadError::invalid(RELATIONS, format!("unknown occupation {}", row.occupation))
                })?;
            let skill =
                find_by_uuid(&skill_by_uuid, super::esco_id(row.skill)).ok_or_else(|| {
                    LoadError::invalid(RELATIONS, format!("unknown skill {}", row.skill))
                })?;
            let target = &mut occupations[occupation.0 as usize];
            match row.relation {
                "essential" => target.essential_skills.push(skill),
                "optional" => target.optional_skills.push(skill),
                other => {
                    return Err(LoadError::invalid(
                        RELATIONS,
                        format!("unknown relation type {other:?}"),
                    ));
                }
            }
            occupations_by_skill[skill.0 as usize].push(occupation);
        }
        for occupation in &mut occupations {
            occupation.essential_skills.sort_unstable();
            occupation.essential_skills.dedup();
            occupation.optional_skills.sort_unstable();
            occupation.optional_skills.dedup();
            let essential = &occupation.essential_skills;
            occupation
                .optional_skills
                .retain(|s| essential.binary_search(s).is_err());
        }
        for list in &mut occupations_by_skill {
            list.sort_unstable();
            list.dedup();
        }

        let isco_groups = parse_isco_groups(isco_csv)?;
        for occupation in &occupations {
            if !isco_groups.contains_key(&occupation.isco_code) {
                return Err(LoadError::invalid(
                    OCCUPATIONS,
                    format!(
                        "{}: unknown ISCO group {}",
                        occupation.esco_code, occupation.isco_code
                    ),
                ));
            }
        }

        let skill_index = LabelIndex::build(skills.iter().zip(&skill_hidden_labels).map(
            |(skill, hidden)| {
                std::iter::once(skill.label.as_str())
                    .chain(skill.alt_labels.iter().map(String::as_str))
                    .chain(hidden.iter().map(String::as_str))
            },
        ));
        let occupation_index = LabelIndex::build(occupations.iter().map(|o| {
            std::iter::once(o.label.as_str()).chain(o.alt_labels.iter().map(String::as_str))
        }));
        let default_skills =
            super::lookup::default_skill_order(&skills, &occupations_by_skill, &occupations);
        let default_occupations = super::lookup::default_occupation_order(&occupations);

        Ok(Taxonomy {
            skills,
            skill_by_uuid,
            occupations,
            occupation_by_uuid,
            isco_groups,
            occupations_by_skill,
            skill_index,
            occupation_index,
            default_skills,
            default_occupations,
        })
    }
}

const SKILLS: &str = "esco_skills.csv";
const OCCUPATIONS: &str = "esco_occupations.csv";
const RELATIONS: &str = "esco_occupation_skills.csv";
const ISCO_GROUPS: &str = "isco08_groups.csv";

/// The bare id of `input` if it is a bare id or a URI of concept kind `kind`.
fn esco_id_of_kind<'a>(input: &'a str, kind: &str) -> Option<&'a str> {
    match split_esco(input) {
        (Some(k), _) if k != kind => None,
        (_, id) => Some(id),
    }
}

fn find_by_uuid<T: Copy>(map: &HashMap<String, T>, id: &str) -> Option<T> {
    if id.bytes().any(|b| b.is_ascii_uppercase()) {
        map.get(&id.to_ascii_lowercase()).copied()
    } else {
        map.get(id).copied()
    }
}

/// Maps each lowercase UUID to its dense id; `Err` carries the first duplicate.
fn uuid_map<'a, T>(
    uuids: impl Iterator<Item = &'a str>,
    make_id: impl Fn(u32) -> T,
) -> Result<HashMap<String, T>, String> {
    let mut map = HashMap::new();
    for (index, uuid) in uuids.enumerate() {
        let index = u32::try_from(index).map_err(|_| "too many rows".to_string())?;
        if map.insert(uuid.to_string(), make_id(index)).is_some() {
            return Err(uuid.to_string());
        }
    }
    Ok(map)
}

/// Splits a `|`-separated label cell, dropping empty entries, `exclude` (the preferred
/// label) and duplicates, keeping first-seen order.
fn split_labels(cell: &str, exclude: &str) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    for label in cell.split('|').map(str::trim) {
        if !label.is_empty() && label != exclude && !labels.iter().any(|l| l == label) {
            labels.push(label.to_string());
        }
    }
    labels
}

/// A bare lowercase UUID from a concept URI column.
fn concept_id(file: &'static str, uri: &str) -> Result<String, LoadError> {
    let id = super::esco_id(uri);
    if id.is_empty() {
        return Err(LoadError::invalid(file, format!("bad concept URI {uri:?}")));
    }
    Ok(id.to_ascii_lowercase())
}

#[derive(Deserialize)]
struct SkillRow {
    #[serde(rename = "conceptUri")]
    uri: String,
    #[serde(rename = "preferredLabel")]
    label: String,
    #[serde(rename = "altLabels")]
    alt_labels: String,
    #[serde(rename = "hiddenLabels")]
    hidden_labels: String,
    #[serde(rename = "skillType")]
    skill_type: SkillType,
    #[serde(rename = "reuseLevel")]
    reuse_level: ReuseLevel,
    description: String,
    #[serde(rename = "linkedOccupationCount")]
    linked_occupation_count: u32,
}

/// Skills in file order (sorted by label), with their hidden labels alongside: hidden
/// labels are search aids (product names, misspellings), not display text.
fn parse_skills(text: &str) -> Result<(Vec<Skill>, Vec<Vec<String>>), LoadError> {
    let rows = read_csv::<SkillRow>(SKILLS, text)?;
    let mut skills = Vec::with_capacity(rows.len());
    let mut hidden = Vec::with_capacity(rows.len());
    for row in rows {
        let label = row.label.trim().to_string();
        hidden.push(split_labels(&row.hidden_labels, &label));
        skills.push(Skill {
            id: concept_id(SKILLS, &row.uri)?,
            alt_labels: split_labels(&row.alt_labels, &label),
            label,
            skill_type: row.skill_type,
            reuse_level: row.reuse_level,
            description: row.description,
            linked_occupation_count: row.linked_occupation_count,
        });
    }
    Ok((skills, hidden))
}

#[derive(Deserialize)]
struct OccupationRow {
    #[serde(rename = "conceptUri")]
    uri: String,
    #[serde(rename = "escoCode")]
    esco_code: String,
    #[serde(rename = "iscoGroup")]
    isco_group: String,
    #[serde(rename = "preferredLabel")]
    label: String,
    #[serde(rename = "altLabels")]
    alt_labels: String,
    description: String,
}

fn parse_occupations(text: &str) -> Result<Vec<Occupation>, LoadError> {
    read_csv::<OccupationRow>(OCCUPATIONS, text)?
        .into_iter()
        .map(|row| {
            let label = row.label.trim().to_string();
            Ok(Occupation {
                id: concept_id(OCCUPATIONS, &row.uri)?,
                esco_code: row.esco_code,
                isco_code: row.isco_group,
                alt_labels: split_labels(&row.alt_labels, &label),
                label,
                description: row.description,
                essential_skills: Vec::new(),
                optional_skills: Vec::new(),
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct RelationRow<'a> {
    #[serde(rename = "occupationUri")]
    occupation: &'a str,
    #[serde(rename = "relationType")]
    relation: &'a str,
    #[serde(rename = "skillUri")]
    skill: &'a str,
}

#[derive(Deserialize)]
struct IscoRow {
    code: String,
    level: u8,
    #[serde(rename = "preferredLabel")]
    label: String,
}

fn parse_isco_groups(text: &str) -> Result<HashMap<String, IscoGroup>, LoadError> {
    let mut groups = HashMap::new();
    for row in read_csv::<IscoRow>(ISCO_GROUPS, text)? {
        if usize::from(row.level) != row.code.len() {
            return Err(LoadError::invalid(
                ISCO_GROUPS,
                format!("code {} does not have level {}", row.code, row.level),
            ));
        }
        let group = IscoGroup {
            code: row.code.clone(),
            level: row.level,
            label: row.label,
        };
        if groups.insert(row.code, group).is_some() {
            return Err(LoadError::invalid(ISCO_GROUPS, "duplicate code"));
        }
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::super::Reference;
    use super::*;

    fn taxonomy() -> &'static Taxonomy {
        &Reference::embedded().taxonomy
    }

    #[test]
    fn counts_match_the_data_readme() {
        let t = taxonomy();
        assert_eq!(t.skills().len(), 7_173);
        assert_eq!(t.occupations().len(), 1_061);
        assert_eq!(t.isco_groups.len(), 619);
        let essential: usize = t
            .occupations()
            .iter()
            .map(|o| o.essential_skills.len())
            .sum();
        let optional: usize = t
            .occupations()
            .iter()
            .map(|o| o.optional_skills.len())
            .sum();
        assert_eq!((essential, optional), (18_821, 18_083));
        let knowledge = t
            .skills()
            .iter()
            .filter(|s| s.skill_type == SkillType::Knowledge)
            .count();
        assert_eq!(knowledge, 1_558);
    }

    #[test]
    fn every_relation_resolves_to_a_known_skill() {
        let t = taxonomy();
        for occupation in t.occupations() {
            for &skill in occupation
                .essential_skills
                .iter()
                .chain(&occupation.optional_skills)
            {
                assert!((skill.0 as usize) < t.skills().len());
            }
        }
    }

    #[test]
    fn every_occupation_has_at_least_one_skill() {
        for occupation in taxonomy().occupations() {
            assert!(
                !occupation.essential_skills.is_empty() || !occupation.optional_skills.is_empty(),
                "{} has no skills",
                occupation.label
            );
        }
    }

    #[test]
    fn occupations_with_skill_is_the_inverse_of_the_relations() {
        let t = taxonomy();
        for (index, skill) in t.skills().iter().enumerate() {
            let id = SkillId(index as u32);
            let linked = t.occupations_with_skill(id);
            assert_eq!(
                linked.len() as u32,
                skill.linked_occupation_count,
                "{}",
                skill.label
            );
            for &occupation in linked {
                let o = t.occupation(occupation);
                assert!(o.essential_skills.contains(&id) || o.optional_skills.contains(&id));
            }
        }
    }

    #[test]
    fn full_uri_and_bare_uuid_resolve_to_the_same_skill() {
        let t = taxonomy();
        let uuid = "ccfbdaad-b91d-4bfe-bd0e-d30b33587f19";
        let bare = t.skill_id(uuid).expect("known skill");
        assert_eq!(
            t.skill_id(&format!("http://data.europa.eu/esco/skill/{uuid}")),
            Some(bare)
        );
        assert_eq!(t.skill_id(&uuid.to_uppercase()), Some(bare));
        assert_eq!(t.skill(bare).label, "keep records of work progress");
    }

    #[test]
    fn a_skill_uuid_inside_an_occupation_uri_is_not_a_skill() {
        let t = taxonomy();
        let uuid = "ccfbdaad-b91d-4bfe-bd0e-d30b33587f19";
        assert_eq!(
            t.skill_id(&format!("http://data.europa.eu/esco/occupation/{uuid}")),
            None
        );
        assert_eq!(t.occupation_id(uuid), None);
    }

    #[test]
    fn full_uri_and_bare_uuid_resolve_to_the_same_occupation() {
        let t = taxonomy();
        let uuid = "95f56fc4-99f9-49da-b942-1dfbc857e933";
        let bare = t.occupation_id(uuid).expect("known occupation");
        assert_eq!(
            t.occupation_id(&format!("http://data.europa.eu/esco/occupation/{uuid}")),
            Some(bare)
        );
        let occupation = t.occupation(bare);
        assert_eq!(
            (occupation.esco_code.as_str(), occupation.label.as_str()),
            ("5111.1", "cabin crew manager")
        );
    }

    #[test]
    fn every_occupation_isco_code_is_a_known_unit_group() {
        let t = taxonomy();
        for occupation in t.occupations() {
            let group = t.isco_group(&occupation.isco_code).expect("known group");
            assert_eq!(group.level, 4);
            assert!(occupation.esco_code.starts_with(&occupation.isco_code));
        }
        assert_eq!(t.isco_group("0").map(|g| g.level), Some(1));
        assert_eq!(t.isco_group("8153").map(|g| g.level), Some(4));
    }

    #[test]
    fn alt_labels_exclude_the_preferred_label_and_duplicates() {
        for skill in taxonomy().skills() {
            assert!(!skill.alt_labels.contains(&skill.label));
            let mut sorted = skill.alt_labels.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), skill.alt_labels.len());
        }
    }

    #[test]
    fn skill_type_and_reuse_level_keep_their_esco_spelling() {
        assert_eq!(SkillType::Skill.as_str(), "skill/competence");
        assert_eq!(ReuseLevel::SectorSpecific.as_str(), "sector-specific");
        assert_eq!(
            serde_json::to_string(&ReuseLevel::OccupationSpecific).unwrap(),
            "\"occupation-specific\""
        );
    }
}
