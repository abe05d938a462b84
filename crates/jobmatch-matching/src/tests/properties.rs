//! Property tests of the scoring math, on profiles built from a pool of real skills,
//! and of the numbers sentences print.

use super::*;

fn shared_index() -> &'static MatchIndex<'static> {
    static INDEX: OnceLock<MatchIndex<'static>> = OnceLock::new();
    INDEX.get_or_init(index)
}

/// Skills of one occupation plus some related ones, so related credit is exercised.
fn pool() -> &'static [SkillId] {
    static POOL: OnceLock<Vec<SkillId>> = OnceLock::new();
    POOL.get_or_init(|| {
        let tables = crate::tables::Tables::build(reference());
        let mut pool: Vec<SkillId> = sewing().essential_skills.iter().take(8).copied().collect();
        for s in pool.clone() {
            pool.extend(tables.related(s.0).iter().take(2).map(|&(r, _)| SkillId(r)));
        }
        pool.sort_unstable();
        pool.dedup();
        pool.truncate(12);
        pool
    })
}

#[derive(Debug, Clone)]
struct HeldSkill {
    index: usize,
    level: u8,
    certified: bool,
    years: Option<u8>,
}

fn held_skill() -> impl Strategy<Value = HeldSkill> {
    (
        0..12usize,
        1..=4u8,
        any::<bool>(),
        proptest::option::of(0..20u8),
    )
        .prop_map(|(index, level, certified, years)| HeldSkill {
            index,
            level,
            certified,
            years,
        })
}

#[derive(Debug, Clone)]
struct Case {
    held: Vec<HeldSkill>,
    required: Vec<(usize, u8)>,
    preferred: Vec<usize>,
    years: f64,
    min_years: Option<f64>,
    expected: Option<u16>,
    wage: (u16, u16),
    travel: Option<u16>,
    relocate: bool,
    worker_province: usize,
    vacancy_province: usize,
    age: u32,
    weights: [f64; 6],
    related: f64,
}

fn case() -> impl Strategy<Value = Case> {
    (
        (
            proptest::collection::vec(held_skill(), 0..8),
            proptest::collection::vec((0..12usize, 1..=4u8), 0..6),
            proptest::collection::vec(0..12usize, 0..3),
            0.0..20.0f64,
            proptest::option::of(0.5..5.0f64),
            proptest::option::of(100..500u16),
        ),
        (
            (150..300u16, 0..100u16),
            proptest::option::of(0..300u16),
            any::<bool>(),
            0..25usize,
            0..25usize,
            15..60u32,
            proptest::array::uniform6(0.0..1.0f64),
            0.0..=1.0f64,
        ),
    )
        .prop_map(
            |(
                (held, required, preferred, years, min_years, expected),
                (wage, travel, relocate, worker_province, vacancy_province, age, weights, related),
            )| Case {
                held,
                required,
                preferred,
                years,
                min_years,
                expected,
                wage: (wage.0, wage.0 + wage.1),
                travel,
                relocate,
                worker_province,
                vacancy_province,
                age,
                weights,
                related,
            },
        )
}

/// A pool skill by any index (strategies draw 0..12; the pool may be shorter).
fn pooled(index: usize) -> SkillId {
    pool()[index % pool().len()]
}

fn province(n: usize) -> String {
    format!("{:02}", n + 1)
}

fn worker_of(case: &Case, held: &[HeldSkill]) -> WorkerProfile {
    let mut skills: Vec<serde_json::Value> = Vec::new();
    let mut seen = Vec::new();
    for skill in held {
        let id = pooled(skill.index);
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        skills.push(json!({
            "skill": uuid(id),
            "level": skill.level,
            "certified": skill.certified,
            "years": skill.years,
        }));
    }
    let input: WorkerInput = serde_json::from_value(json!({
        "full_name": "P",
        "date_of_birth": today().checked_sub_months(Months::new(case.age * 12)).unwrap(),
        "province_code": province(case.worker_province),
        "skills": skills,
        "experience": [{"occupation": sewing().id, "years": case.years}],
        "max_travel_km": case.travel,
        "willing_to_relocate": case.relocate,
        "expected_wage_usd": case.expected,
    }))
    .unwrap();
    WorkerProfile::from_input("w", &input, reference())
}

fn vacancy_of(case: &Case) -> VacancyProfile {
    let required: Vec<_> = case
        .required
        .iter()
        .map(|(index, level)| json!({"skill": uuid(pooled(*index)), "min_level": level}))
        .collect();
    let preferred: Vec<_> = case
        .preferred
        .iter()
        .map(|index| json!({"skill": uuid(pooled(*index))}))
        .collect();
    let input: VacancyInput = serde_json::from_value(json!({
        "employer_id": "e", "title": "t", "sector": "garment", "occupation": sewing().id,
        "province_code": province(case.vacancy_province),
        "wage_min_usd": case.wage.0, "wage_max_usd": case.wage.1,
        "required_skills": required, "preferred_skills": preferred,
        "min_experience_years": case.min_years,
    }))
    .unwrap();
    VacancyProfile::from_input("v", &input, reference())
}

fn weights_of(case: &Case) -> Weights {
    let [skills, occupation, experience, distance, wage, preferences] = case.weights;
    Weights {
        skills: skills + 0.01,
        occupation,
        experience,
        distance,
        wage,
        preferences,
        related_skill_credit: case.related,
        ..Weights::default()
    }
}

fn score(case: &Case, held: &[HeldSkill]) -> (f64, f64) {
    let scored = shared_index()
        .score_profiles(
            &worker_of(case, held),
            &vacancy_of(case),
            today(),
            Some(weights_of(case)),
        )
        .unwrap();
    (scored.score, scored.explanation.components[0].score)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn score_and_every_component_stay_between_zero_and_one(case in case()) {
        let scored = shared_index()
            .score_profiles(&worker_of(&case, &case.held), &vacancy_of(&case), today(), Some(weights_of(&case)))
            .unwrap();
        prop_assert!((0.0..=1.0).contains(&scored.score));
        for component in &scored.explanation.components {
            prop_assert!((0.0..=1.0).contains(&component.score), "{component:?}");
        }
        let sum: f64 = scored.explanation.components.iter().map(|c| c.contribution).sum();
        prop_assert!((sum * scored.explanation.wage_penalty_factor - scored.score).abs() < 1e-9);
    }

    #[test]
    fn adding_a_required_skill_at_the_required_level_never_lowers_the_score(case in case(), pick in 0..6usize) {
        prop_assume!(!case.required.is_empty());
        let (index, _) = case.required[pick % case.required.len()];
        // A skill listed twice is required at the higher of its levels.
        let min_level = case
            .required
            .iter()
            .filter(|(other, _)| pooled(*other) == pooled(index))
            .map(|(_, level)| *level)
            .max()
            .unwrap_or(1);
        let without: Vec<HeldSkill> = case
            .held
            .iter()
            .filter(|h| pooled(h.index) != pooled(index))
            .cloned()
            .collect();
        let mut with = without.clone();
        with.insert(0, HeldSkill { index, level: min_level, certified: false, years: None });
        let (before, skills_before) = score(&case, &without);
        let (after, skills_after) = score(&case, &with);
        prop_assert!(after >= before - 1e-12, "{before} -> {after}");
        prop_assert!(skills_after >= skills_before - 1e-12);
    }

    #[test]
    fn higher_level_never_lowers_the_skill_score(case in case(), pick in 0..8usize) {
        prop_assume!(!case.held.is_empty());
        let position = pick % case.held.len();
        prop_assume!(case.held[position].level < 4);
        let mut raised = case.held.clone();
        raised[position].level += 1;
        let (before, skills_before) = score(&case, &case.held);
        let (after, skills_after) = score(&case, &raised);
        prop_assert!(skills_after >= skills_before - 1e-12, "{skills_before} -> {skills_after}");
        prop_assert!(after >= before - 1e-12);
    }
}

proptest! {
    /// Whole numbers in sentences read exactly as `{:.0}` formatting writes them.
    #[test]
    fn whole_numbers_are_written_as_format_writes_them(bits in any::<u64>(), small in -1e6f64..1e6) {
        for value in [f64::from_bits(bits), small, small.trunc() + 0.5, -0.4, 0.5, 1.5, 2.5] {
            prop_assert_eq!(crate::explain::whole(value), format!("{value:.0}"));
        }
    }
}
