//! Tables derived once from the reference data for scoring: each occupation's ISCO-08
//! unit group as a number, and the "related skill" relation.
//!
//! **Related skills.** ESCO has many near-synonymous skills ("sew pieces of fabric",
//! "operate sewing machines", "sew textile-based articles") and counsellors pick
//! whichever the lookup offers first, so two records of the same competence often
//! name different concepts. Two skills are related when they are asked for by mostly
//! the same occupations: similarity = |A ∩ B| / (|A ∪ B| + 1) over the sets of
//! occupations that list each skill. The +1 shrinks evidence from few occupations: two
//! skills that only ever appear together in one occupation score 0.5, which is below
//! [`RELATED_MIN_SIMILARITY`] (0.55), because such pairs are often merely neighbours
//! in one job ("check straightness of brick", "document survey operations"), while
//! pairs that share many occupations are near-synonyms ("distinguish fabrics",
//! "distinguish accessories": 0.96). Each skill keeps its [`RELATED_PER_SKILL`] most
//! similar skills. A required skill the person lacks can
//! then earn `related_skill_credit × similarity × 0.8 × level credit` through the best
//! related skill they hold — always less than holding the skill itself, so adding the
//! required skill never lowers a score. `related_skill_credit = 0` switches it off.

use jobmatch_domain::Reference;
use jobmatch_domain::reference::{OccupationId, SkillId};

/// Least similarity for two skills to count as related.
pub const RELATED_MIN_SIMILARITY: f32 = 0.55;
/// Most related skills kept per skill, best first.
pub const RELATED_PER_SKILL: usize = 8;

/// An ISCO-08 unit group as a number (`8153`), from which the minor (`815`) and
/// sub-major (`81`) groups follow by division: ISCO codes are fixed-width digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IscoUnit(pub u16);

impl IscoUnit {
    pub fn minor_group(self) -> u16 {
        self.0 / 10
    }

    pub fn sub_major_group(self) -> u16 {
        self.0 / 100
    }

    /// The ISCO unit group of an ESCO occupation.
    pub fn of(reference: &Reference, occupation: OccupationId) -> IscoUnit {
        IscoUnit(parse_isco(
            &reference.taxonomy.occupation(occupation).isco_code,
        ))
    }
}

fn parse_isco(code: &str) -> u16 {
    code.trim().parse::<u16>().unwrap_or(0)
}

/// How close a past occupation is to the vacancy's, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Closeness {
    SameOccupation = 4,
    SameUnit = 3,
    SameMinor = 2,
    SameSubMajor = 1,
    Unrelated = 0,
}

impl Closeness {
    /// The occupation component score of this closeness.
    pub(crate) fn score(self) -> f64 {
        match self {
            Closeness::SameOccupation => 1.0,
            Closeness::SameUnit => 0.75,
            Closeness::SameMinor => 0.5,
            Closeness::SameSubMajor => 0.25,
            Closeness::Unrelated => 0.0,
        }
    }

    /// How much one year in this occupation counts toward `min_experience_years`:
    /// any work experience counts a little, experience in the trade counts in full.
    pub(crate) fn years_share(self) -> f64 {
        match self {
            Closeness::SameOccupation | Closeness::SameUnit => 1.0,
            Closeness::SameMinor => 0.75,
            Closeness::SameSubMajor => 0.5,
            Closeness::Unrelated => 0.25,
        }
    }
}

pub(crate) struct Tables {
    /// ISCO unit group by `OccupationId`.
    occupation_unit: Vec<IscoUnit>,
    /// By required skill: its related skills `(skill, similarity)`, best first.
    related_offsets: Vec<u32>,
    related: Vec<(u32, f32)>,
    /// By held skill: the skills it is related to, i.e. the inverse of `related`.
    reverse_offsets: Vec<u32>,
    reverse: Vec<(u32, f32)>,
}

impl Tables {
    pub(crate) fn build(reference: &Reference) -> Tables {
        let taxonomy = &reference.taxonomy;
        let occupation_unit = taxonomy
            .occupations()
            .iter()
            .map(|occupation| IscoUnit(parse_isco(&occupation.isco_code)))
            .collect();

        let skill_count = taxonomy.skills().len();
        let mut per_skill: Vec<Vec<(u32, f32)>> = Vec::with_capacity(skill_count);
        // Dense co-occurrence counter over skills, reset through `seen` after each skill.
        let mut shared = vec![0u32; skill_count];
        let mut seen: Vec<u32> = Vec::new();
        for skill_index in 0..skill_count {
            let skill = SkillId(skill_index as u32);
            let own = taxonomy.occupations_with_skill(skill);
            for &occupation in own {
                let entry = taxonomy.occupation(occupation);
                for other in entry.essential_skills.iter().chain(&entry.optional_skills) {
                    if other.0 as usize == skill_index {
                        continue;
                    }
                    if shared[other.0 as usize] == 0 {
                        seen.push(other.0);
                    }
                    shared[other.0 as usize] += 1;
                }
            }
            let mut related: Vec<(u32, f32)> = Vec::new();
            for &other in &seen {
                let both = shared[other as usize] as usize;
                let other_count = taxonomy.occupations_with_skill(SkillId(other)).len();
                let union = own.len() + other_count - both;
                let similarity = both as f32 / (union as f32 + 1.0);
                if similarity >= RELATED_MIN_SIMILARITY {
                    related.push((other, similarity));
                }
                shared[other as usize] = 0;
            }
            seen.clear();
            related.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            related.truncate(RELATED_PER_SKILL);
            per_skill.push(related);
        }

        let mut reverse_lists: Vec<Vec<(u32, f32)>> = vec![Vec::new(); skill_count];
        for (required, list) in per_skill.iter().enumerate() {
            for &(held, similarity) in list {
                reverse_lists[held as usize].push((required as u32, similarity));
            }
        }
        let (related_offsets, related) = flatten(per_skill);
        let (reverse_offsets, reverse) = flatten(reverse_lists);
        Tables {
            occupation_unit,
            related_offsets,
            related,
            reverse_offsets,
            reverse,
        }
    }

    pub(crate) fn unit(&self, occupation: u32) -> IscoUnit {
        self.occupation_unit[occupation as usize]
    }

    pub(crate) fn closeness(&self, held: u32, wanted: u32) -> Closeness {
        if held == wanted {
            return Closeness::SameOccupation;
        }
        let (a, b) = (self.unit(held), self.unit(wanted));
        if a == b {
            Closeness::SameUnit
        } else if a.minor_group() == b.minor_group() {
            Closeness::SameMinor
        } else if a.sub_major_group() == b.sub_major_group() {
            Closeness::SameSubMajor
        } else {
            Closeness::Unrelated
        }
    }

    /// Skills related to `required`, `(skill, similarity)`, best first.
    pub(crate) fn related(&self, required: u32) -> &[(u32, f32)] {
        slice(&self.related_offsets, &self.related, required)
    }

    /// Required skills for which `held` is one of the related skills.
    pub(crate) fn related_to_held(&self, held: u32) -> &[(u32, f32)] {
        slice(&self.reverse_offsets, &self.reverse, held)
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.occupation_unit.capacity() * size_of::<IscoUnit>()
            + (self.related_offsets.capacity() + self.reverse_offsets.capacity()) * 4
            + (self.related.capacity() + self.reverse.capacity()) * 8
    }
}

fn flatten(lists: Vec<Vec<(u32, f32)>>) -> (Vec<u32>, Vec<(u32, f32)>) {
    let mut offsets = Vec::with_capacity(lists.len() + 1);
    let mut flat = Vec::new();
    offsets.push(0);
    for list in lists {
        flat.extend(list);
        offsets.push(flat.len() as u32);
    }
    (offsets, flat)
}

fn slice<'a>(offsets: &[u32], flat: &'a [(u32, f32)], key: u32) -> &'a [(u32, f32)] {
    match (offsets.get(key as usize), offsets.get(key as usize + 1)) {
        (Some(&start), Some(&end)) => &flat[start as usize..end as usize],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn related_skills_are_similar_enough_and_never_the_skill_itself() {
        let reference = Reference::embedded();
        let tables = Tables::build(reference);
        let mut with_related = 0;
        for skill in 0..reference.taxonomy.skills().len() as u32 {
            let related = tables.related(skill);
            assert!(related.len() <= RELATED_PER_SKILL);
            for &(other, similarity) in related {
                assert_ne!(other, skill);
                assert!((RELATED_MIN_SIMILARITY..1.0).contains(&similarity));
                assert!(tables.related_to_held(other).contains(&(skill, similarity)));
            }
            with_related += usize::from(!related.is_empty());
        }
        assert!(with_related > 0);
    }

    #[test]
    fn isco_groups_nest_by_division() {
        let unit = IscoUnit(8153);
        assert_eq!((unit.minor_group(), unit.sub_major_group()), (815, 81));
    }
}
