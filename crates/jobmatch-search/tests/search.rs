//! Behaviour of the vacancy index through its public API: Khmer and English text,
//! typos, search as you type, hostile query text, filters, facets, paging, and the
//! index lifecycle on disk.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use jobmatch_domain::Reference;
use jobmatch_domain::Sector;
use jobmatch_domain::resources::{VacancyInput, VacancyStatus};
use jobmatch_search::{
    OpenOutcome, RebuildReason, SearchError, SearchIndex, SearchRequest, SortOrder,
};
use serde_json::{Value, json};

/// A vacancy from the fields given, over defaults (employer e1, sector `other` so that
/// no sector name is indexed alongside the text, Phnom Penh).
fn vacancy(fields: Value) -> VacancyInput {
    let mut document = json!({
        "employer_id": "e1", "title": "untitled", "sector": "other", "province_code": "12"
    });
    for (key, value) in fields.as_object().expect("an object") {
        document[key] = value.clone();
    }
    serde_json::from_value(document).expect("a well-typed vacancy")
}

fn day(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0).unwrap() + Duration::days(n)
}

/// An in-memory index holding `vacancies`, posted one day apart in order.
fn index_of(vacancies: &[(&str, VacancyInput)]) -> SearchIndex {
    let (index, outcome) = SearchIndex::open_or_create(None).expect("index in memory");
    assert_eq!(
        outcome,
        OpenOutcome::Rebuilt {
            reason: RebuildReason::Missing
        }
    );
    for (n, (id, vacancy)) in vacancies.iter().enumerate() {
        index
            .upsert(id, vacancy, "Employer", day(n as i64))
            .expect("upsert");
    }
    index.commit(vacancies.len() as i64).expect("commit");
    index
}

fn titled(vacancies: &[(&'static str, &'static str)]) -> SearchIndex {
    let documents: Vec<(&str, VacancyInput)> = vacancies
        .iter()
        .map(|(id, title)| (*id, vacancy(json!({ "title": title }))))
        .collect();
    index_of(&documents)
}

fn query(q: &str) -> SearchRequest {
    SearchRequest {
        q: q.to_string(),
        limit: Some(100),
        ..SearchRequest::default()
    }
}

fn ids(index: &SearchIndex, request: &SearchRequest) -> Vec<String> {
    index
        .search(request)
        .expect("search")
        .items
        .into_iter()
        .map(|hit| hit.vacancy_id)
        .collect()
}

fn found(index: &SearchIndex, q: &str) -> BTreeSet<String> {
    ids(index, &query(q)).into_iter().collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| id.to_string()).collect()
}

fn skill_id(label: &str) -> String {
    let taxonomy = &Reference::embedded().taxonomy;
    taxonomy
        .skills()
        .iter()
        .find(|skill| skill.label == label)
        .unwrap_or_else(|| panic!("no skill {label}"))
        .id
        .clone()
}

fn occupation_id(label: &str) -> String {
    let taxonomy = &Reference::embedded().taxonomy;
    taxonomy
        .occupations()
        .iter()
        .find(|occupation| occupation.label == label)
        .unwrap_or_else(|| panic!("no occupation {label}"))
        .id
        .clone()
}

/// Vacancy-style Khmer phrases as employers post them: garment, construction, factory
/// work, wages, benefits. English glosses are for reviewers.
const KHMER_CORPUS: [(&str, &str); 34] = [
    // Garment
    ("k01", "ត្រូវការកម្មករកាត់ដេរចំនួន ២០ នាក់"), // need 20 sewing workers
    ("k02", "ជ្រើសរើសជាងកាត់ដេរ មានបទពិសោធន៍យ៉ាងតិច ១ ឆ្នាំ"), // recruiting sewers, 1 year experience
    ("k03", "រោងចក្រកាត់ដេរ ត្រូវការកម្មករត្រួតពិនិត្យគុណភាព"), // garment factory needs quality checkers
    ("k04", "ត្រូវការកម្មករអ៊ុតខោអាវ"),          // need clothes-ironing workers
    ("k05", "ជាងកាត់ក្រណាត់ សម្រាប់រោងចក្រកាត់ដេរ"), // fabric cutters for a garment factory
    ("k06", "កម្មករវេចខ្ចប់ និងដាក់ស្លាកសញ្ញា"),      // packing and labelling workers
    // Construction
    ("k07", "ត្រូវការកម្មករសំណង់ជាបន្ទាន់"), // construction workers needed urgently
    ("k08", "ជាងឥដ្ឋ និងជាងបាយអ"),     // bricklayers and plasterers
    ("k09", "ជាងផ្សារដែក"),          // welder
    ("k10", "ជាងឈើ ធ្វើពុម្ពបេតុង"),      // carpenter for concrete formwork
    ("k11", "ជាងអគ្គិសនី សម្រាប់ការដ្ឋានសំណង់"), // electrician for a building site
    ("k12", "ជាងលាបថ្នាំ"),            // painter
    ("k13", "អ្នកបើកបររថយន្តដឹកសម្ភារៈសំណង់"), // driver of a building-materials truck
    // Factory work
    ("k14", "កម្មកររោងចក្រផលិតស្បែកជើង"),         // shoe factory worker
    ("k15", "កម្មករខ្សែសង្វាក់ផលិតកម្ម ធ្វើការវេនយប់"),  // production line worker, night shift
    ("k16", "រោងចក្រកែច្នៃអាហារ ត្រូវការកម្មករស្រី"), // food processing plant needs women workers
    ("k17", "ប្រតិបត្តិករម៉ាស៊ីន"),                  // machine operator
    ("k18", "អ្នកបើកបររថយន្តលើកទំនិញ"),            // forklift driver
    ("k19", "កម្មករឃ្លាំងទំនិញ"),                   // warehouse worker
    // Wages
    ("k20", "ប្រាក់ខែ ៣០០ ដុល្លារ ក្នុងមួយខែ"), // salary 300 dollars a month
    ("k21", "ប្រាក់ឈ្នួលគោល ២០៨ ដុល្លារ បូកប្រាក់លើកទឹកចិត្ត"), // base wage 208 dollars plus incentive
    ("k22", "ប្រាក់ថែមម៉ោង និងប្រាក់រង្វាន់វត្តមាន"), // overtime pay and attendance bonus
    ("k23", "បើកប្រាក់ខែពីរដងក្នុងមួយខែ"),    // salary paid twice a month
    ("k24", "ប្រាក់ឈ្នួលប្រចាំថ្ងៃ"),           // daily wage
    // Benefits
    ("k25", "មានកន្លែងស្នាក់នៅ និងអាហារឥតគិតថ្លៃ"), // accommodation and free meals
    ("k26", "មានឡានដឹកកម្មករទៅមកធ្វើការ"),      // transport for workers to and from work
    ("k27", "ចុះឈ្មោះ ប.ស.ស និងធានារ៉ាប់រងសុខភាព"), // NSSF registration and health insurance
    ("k28", "មានវគ្គបណ្តុះបណ្តាលជំនាញមុនចូលធ្វើការ"),  // skills training before starting work
    ("k29", "ច្បាប់ឈប់សម្រាកប្រចាំឆ្នាំ ១៨ ថ្ងៃ"),    // 18 days of annual leave
    ("k30", "មានមណ្ឌលថែទាំកុមារសម្រាប់កូនកម្មករ"),  // childcare centre for workers' children
    // Other work returnees look for
    ("k31", "ស្វាគមន៍ពលករចំណាកស្រុកដែលវិលត្រឡប់មកពីប្រទេសថៃ"), // returning migrant workers from Thailand welcome
    ("k32", "អ្នកធ្វើម្ហូបនៅភោជនីយដ្ឋាន"),                    // cook at a restaurant
    ("k33", "អ្នកសម្អាតបន្ទប់សណ្ឋាគារ"),                     // hotel room cleaner
    ("k34", "កម្មករចម្ការ ប្រមូលផលដំឡូងមី"),                 // plantation worker, cassava harvest
];

#[test]
fn khmer_queries_find_the_vacancy_phrases_that_contain_them() {
    let index = titled(&KHMER_CORPUS);
    let cases: [(&str, &[&str]); 16] = [
        // construction: a word inside three compounds
        ("សំណង់", &["k07", "k11", "k13"]),
        // sewing / garment
        ("កាត់ដេរ", &["k01", "k02", "k03", "k05"]),
        // factory
        ("រោងចក្រ", &["k03", "k05", "k14", "k16"]),
        // salary, monthly
        ("ប្រាក់ខែ", &["k20", "k23"]),
        // any kind of pay
        ("ប្រាក់", &["k20", "k21", "k22", "k23", "k24"]),
        ("ដុល្លារ", &["k20", "k21"]),
        // accommodation
        ("ស្នាក់នៅ", &["k25"]),
        // overtime
        ("ប្រាក់ថែមម៉ោង", &["k22"]),
        ("វេនយប់", &["k15"]),
        ("ម៉ាស៊ីន", &["k17"]),
        ("ថែទាំកុមារ", &["k30"]),
        ("ធានារ៉ាប់រងសុខភាព", &["k27"]),
        // skilled trades: every "ជាង..." phrase
        ("ជាង", &["k02", "k05", "k08", "k09", "k10", "k11", "k12"]),
        // two words, both required
        ("កម្មករ សំណង់", &["k07"]),
        ("កម្មករសំណង់", &["k07"]),
        // driver of a truck
        ("អ្នកបើកបររថយន្ត", &["k13", "k18"]),
    ];
    for (q, expected) in cases {
        assert_eq!(found(&index, q), set(expected), "query {q}");
    }
}

#[test]
fn part_of_a_khmer_compound_finds_the_whole_phrase() {
    let index = titled(&[("v1", "ត្រូវការកម្មករសំណង់ជាបន្ទាន់"), ("v2", "ជាងកាត់ដេរ")]);
    assert_eq!(found(&index, "សំណង់"), set(&["v1"]));
    // The dictionary keeps ជាងកាត់ដេរ as one word; the bigrams still find its parts.
    assert_eq!(found(&index, "កាត់ដេរ"), set(&["v2"]));
}

#[test]
fn khmer_digits_and_ascii_digits_find_each_other() {
    let index = titled(&KHMER_CORPUS);
    assert_eq!(found(&index, "៣០០"), set(&["k20"]));
    assert_eq!(found(&index, "300"), set(&["k20"]));
    let english = titled(&[("e1", "Wage 208 USD")]);
    assert_eq!(found(&english, "២០៨"), set(&["e1"]));
}

#[test]
fn zero_width_spaces_in_text_or_query_do_not_matter() {
    let index = titled(&[("v1", "កម្មករ\u{200B}រោងចក្រ")]);
    assert_eq!(found(&index, "កម្មកររោងចក្រ"), set(&["v1"]));
    assert_eq!(found(&index, "រោង\u{200B}ចក្រ"), set(&["v1"]));
}

#[test]
fn a_khmer_word_typed_without_its_subscript_still_matches() {
    let index = titled(&KHMER_CORPUS);
    // កមមករ lacks the coeng (subscript sign) of កម្មករ: one edit, and as typed it has
    // five characters. The dictionary splits it into កម + មករ, so only the whole run
    // can match.
    let hits = found(&index, "កមមករ");
    for id in ["k01", "k07", "k19"] {
        assert!(hits.contains(id), "{id} missing from {hits:?}");
    }
}

#[test]
fn taxonomy_labels_make_a_vacancy_findable_by_its_skills_and_occupation() {
    let index = index_of(&[
        (
            "v1",
            vacancy(json!({
                "title": "ត្រូវការកម្មករ ២០ នាក់",
                "required_skills": [{"skill": skill_id("sew pieces of fabric"), "min_level": 2}],
            })),
        ),
        (
            "v2",
            vacancy(json!({
                "title": "ជាងឥដ្ឋ",
                "occupation": occupation_id("bricklayer"),
            })),
        ),
        ("v3", vacancy(json!({ "title": "Cleaner" }))),
    ]);
    assert_eq!(found(&index, "sewing"), set(&["v1"]));
    assert_eq!(found(&index, "fabric"), set(&["v1"]));
    assert_eq!(found(&index, "bricklayer"), set(&["v2"]));
    // An alternative label of the occupation.
    assert_eq!(found(&index, "brick laying worker"), set(&["v2"]));
}

#[test]
fn sector_benefit_and_place_names_are_searchable_in_both_languages() {
    let index = index_of(&[
        (
            "v1",
            vacancy(json!({
                "title": "Helper", "sector": "construction", "province_code": "17",
                "benefits": ["accommodation", "meals"],
            })),
        ),
        (
            "v2",
            vacancy(json!({ "title": "Helper", "sector": "garment" })),
        ),
    ]);
    assert_eq!(found(&index, "construction"), set(&["v1"]));
    assert_eq!(found(&index, "សំណង់"), set(&["v1"]));
    assert_eq!(found(&index, "accommodation"), set(&["v1"]));
    assert_eq!(found(&index, "ស្នាក់នៅ"), set(&["v1"]));
    assert_eq!(found(&index, "siem reap"), set(&["v1"]));
    assert_eq!(found(&index, "helper garment"), set(&["v2"]));
}

#[test]
fn a_typo_within_the_budget_still_finds_the_word() {
    let index = titled(&[
        ("sew", "Sewing machine operator"),
        ("build", "Construction labourer"),
        ("weld", "Welder for steel structures"),
        ("cook", "Cook"),
    ]);
    assert_eq!(found(&index, "sewng"), set(&["sew"]));
    assert_eq!(found(&index, "sewign machine"), set(&["sew"]));
    assert_eq!(found(&index, "constrction"), set(&["build"]));
    // Two edits in a word of nine or more characters.
    assert_eq!(found(&index, "cnostrction"), set(&["build"]));
    assert_eq!(found(&index, "weldr"), set(&["weld"]));
}

#[test]
fn words_of_four_characters_or_fewer_must_be_typed_exactly() {
    let index = titled(&[("cook", "Cook"), ("weld", "Welder for steel structures")]);
    assert!(found(&index, "cok ").is_empty());
    assert!(found(&index, "cokk ").is_empty());
    assert_eq!(found(&index, "cook "), set(&["cook"]));
    // Five characters allow one typo, but not two.
    assert_eq!(found(&index, "stell "), set(&["weld"]));
    assert!(found(&index, "stxxl ").is_empty());
}

#[test]
fn exact_matches_rank_above_typo_matches() {
    let index = titled(&[
        ("typo", "Sowing sowing sowing: seeds planting sowing"),
        (
            "exact",
            "Sewing operator wanted for a large garment factory in the capital",
        ),
    ]);
    let response = index.search(&query("sewing ")).unwrap();
    let order: Vec<&str> = response
        .items
        .iter()
        .map(|hit| hit.vacancy_id.as_str())
        .collect();
    assert_eq!(order, ["exact", "typo"]);
    assert!(response.items[0].score > response.items[1].score);
}

#[test]
fn a_word_many_vacancies_contain_is_taken_as_typed() {
    // 60 of 61 vacancies say "sewing": its one-edit neighbour "sowing" is then not a
    // typo of it. In a small index the same query does find "sowing" (see above).
    let mut documents: Vec<(String, VacancyInput)> = (0..60)
        .map(|n| {
            (
                format!("sew{n}"),
                vacancy(json!({ "title": "Sewing operator" })),
            )
        })
        .collect();
    documents.push(("sow".into(), vacancy(json!({ "title": "Sowing seeds" }))));
    let borrowed: Vec<(&str, VacancyInput)> = documents
        .iter()
        .map(|(id, vacancy)| (id.as_str(), vacancy.clone()))
        .collect();
    let index = index_of(&borrowed);
    let hits = found(&index, "sewing ");
    assert_eq!(hits.len(), 60);
    assert!(!hits.contains("sow"));
    // A rare word still gets its typos.
    assert_eq!(found(&index, "sowign "), set(&["sow"]));
}

#[test]
fn the_last_word_matches_as_a_prefix_while_typing() {
    let index = titled(&[
        ("sew", "Sewing machine operator"),
        ("weld", "Welder"),
        ("ship", "Shipping clerk"),
    ]);
    assert_eq!(found(&index, "sewing mach"), set(&["sew"]));
    assert_eq!(found(&index, "wel"), set(&["weld"]));
    assert_eq!(found(&index, "s"), set(&["sew", "ship"]));
    // A finished word (followed by a space) is not a prefix any more.
    assert!(found(&index, "mach ").is_empty());
    // A prefix with a typo, once the word is long enough to allow one.
    assert_eq!(found(&index, "sewin"), set(&["sew"]));
    assert_eq!(found(&index, "sewimg mac"), set(&["sew"]));
}

#[test]
fn field_syntax_in_user_text_is_treated_as_text() {
    let index = index_of(&[
        ("open", vacancy(json!({ "title": "Sewing operator" }))),
        (
            "closed",
            vacancy(json!({ "title": "Sewing helper", "status": "closed" })),
        ),
    ]);
    // The status filter stays "open" whatever the text says.
    assert_eq!(found(&index, "status:closed sewing"), set(&["open"]));
    assert_eq!(found(&index, "title:sewing"), set(&["open"]));
    assert!(found(&index, "id:closed").is_empty());
    assert!(found(&index, "employer_id:e1").is_empty());
    // No words at all: the same as an empty query, which lists open vacancies only.
    assert_eq!(found(&index, "*:*"), set(&["open"]));
}

#[test]
fn unbalanced_quotes_and_brackets_are_never_an_error() {
    let index = titled(&[("sew", "Sewing machine operator")]);
    for q in [
        "\"sewing",
        "sewing\"",
        "(sewing",
        "sewing)",
        "[sewing",
        "{sewing}",
        "\"",
        "\"\"",
        "((",
        "))",
        "sewing AND",
        "OR",
        "NOT sewing",
        "-sewing",
        "+sewing",
        "sewing~2",
        "sewing^3",
        "sew*",
        "?",
        "\\",
        "/",
        "title:",
        ":",
        "::sewing",
        "“sewing",
        "«sewing»",
    ] {
        let response = index.search(&query(q));
        assert!(response.is_ok(), "{q}: {response:?}");
    }
    assert_eq!(found(&index, "\"sewing"), set(&["sew"]));
    assert_eq!(found(&index, "(sewing"), set(&["sew"]));
    assert_eq!(found(&index, "\"sewing machine\""), set(&["sew"]));
}

#[test]
fn a_quoted_phrase_requires_its_words_in_order() {
    let index = titled(&[
        ("phrase", "Sewing machine operator"),
        ("apart", "Machine operator for sewing"),
    ]);
    assert_eq!(found(&index, "\"sewing machine\""), set(&["phrase"]));
    assert_eq!(found(&index, "sewing machine"), set(&["phrase", "apart"]));
}

#[test]
fn when_no_vacancy_has_every_word_any_word_is_enough() {
    let index = titled(&[("sew", "Sewing operator"), ("weld", "Welder")]);
    assert_eq!(found(&index, "sewing welder"), set(&["sew", "weld"]));
}

/// Five vacancies spread over sectors, places, wages, statuses and dates.
fn filter_fixture() -> SearchIndex {
    let sewing = skill_id("sew pieces of fabric");
    let machinist = occupation_id("sewing machinist");
    let district = Reference::embedded().gazetteer.districts_of("12")[0]
        .code
        .clone();
    index_of(&[
        (
            "pp-garment",
            vacancy(json!({
                "title": "Sewing operator", "sector": "garment", "province_code": "12",
                "district_code": district, "wage_min_usd": 210, "wage_max_usd": 260,
                "occupation": machinist,
                "required_skills": [{"skill": sewing, "min_level": 2}],
            })),
        ),
        (
            "kandal-garment",
            vacancy(json!({
                "employer_id": "e2", "title": "Sewing helper", "sector": "garment",
                "province_code": "08", "wage_min_usd": 200,
            })),
        ),
        (
            "pp-construction",
            vacancy(json!({
                "title": "Construction labourer", "sector": "construction",
                "province_code": "12", "wage_min_usd": 300, "wage_max_usd": 400,
            })),
        ),
        (
            "siemreap-hotel",
            vacancy(json!({
                "title": "Hotel cleaner", "sector": "hospitality", "province_code": "17",
                "wage_max_usd": 250,
            })),
        ),
        (
            "pp-garment-filled",
            vacancy(json!({
                "title": "Sewing supervisor", "sector": "garment", "province_code": "12",
                "status": "filled",
            })),
        ),
    ])
}

#[test]
fn filters_combine_with_each_other_and_with_text() {
    let index = filter_fixture();
    let all = |request: SearchRequest| -> BTreeSet<String> {
        ids(&index, &request).into_iter().collect()
    };
    let base = || SearchRequest {
        limit: Some(100),
        ..SearchRequest::default()
    };
    assert_eq!(
        all(base()),
        set(&[
            "pp-garment",
            "kandal-garment",
            "pp-construction",
            "siemreap-hotel"
        ])
    );
    assert_eq!(
        all(SearchRequest {
            sector: vec![Sector::Garment],
            ..base()
        }),
        set(&["pp-garment", "kandal-garment"])
    );
    assert_eq!(
        all(SearchRequest {
            sector: vec![Sector::Garment],
            province_code: vec!["12".into()],
            ..base()
        }),
        set(&["pp-garment"])
    );
    assert_eq!(
        all(SearchRequest {
            sector: vec![Sector::Garment, Sector::Construction],
            province_code: vec!["12".into()],
            ..base()
        }),
        set(&["pp-garment", "pp-construction"])
    );
    // The top of the range must reach the minimum; a lone minimum counts as the top.
    assert_eq!(
        all(SearchRequest {
            wage_min_usd: Some(250.0),
            ..base()
        }),
        set(&["pp-garment", "pp-construction", "siemreap-hotel"])
    );
    assert_eq!(
        all(SearchRequest {
            q: "sewing".into(),
            wage_min_usd: Some(200.0),
            ..base()
        }),
        set(&["pp-garment", "kandal-garment"])
    );
    assert_eq!(
        all(SearchRequest {
            status: vec![VacancyStatus::Filled],
            ..base()
        }),
        set(&["pp-garment-filled"])
    );
    assert_eq!(
        all(SearchRequest {
            q: "sewing".into(),
            status: vec![VacancyStatus::Open, VacancyStatus::Filled],
            ..base()
        }),
        set(&["pp-garment", "kandal-garment", "pp-garment-filled"])
    );
    let district = Reference::embedded().gazetteer.districts_of("12")[0]
        .code
        .clone();
    assert_eq!(
        all(SearchRequest {
            district_code: vec![district],
            ..base()
        }),
        set(&["pp-garment"])
    );
    assert_eq!(
        all(SearchRequest {
            occupation: vec![format!(
                "http://data.europa.eu/esco/occupation/{}",
                occupation_id("sewing machinist")
            )],
            ..base()
        }),
        set(&["pp-garment"])
    );
    assert_eq!(
        all(SearchRequest {
            skill: vec![skill_id("sew pieces of fabric")],
            ..base()
        }),
        set(&["pp-garment"])
    );
    assert_eq!(
        all(SearchRequest {
            employer_id: vec!["e2".into()],
            ..base()
        }),
        set(&["kandal-garment"])
    );
    // Posted one day apart in fixture order: pp-construction is the third.
    assert_eq!(
        all(SearchRequest {
            posted_since: Some(day(2)),
            ..base()
        }),
        set(&["pp-construction", "siemreap-hotel"])
    );
}

#[test]
fn near_a_province_keeps_vacancies_within_the_radius() {
    let index = filter_fixture();
    let near = |radius: Option<f64>| -> BTreeSet<String> {
        ids(
            &index,
            &SearchRequest {
                near_province_code: Some("12".into()),
                radius_km: radius,
                limit: Some(100),
                ..SearchRequest::default()
            },
        )
        .into_iter()
        .collect()
    };
    // Ta Khmau (Kandal) is about 11 km from Phnom Penh; Siem Reap about 230 km.
    assert_eq!(near(None), set(&["pp-garment", "pp-construction"]));
    assert_eq!(
        near(Some(50.0)),
        set(&["pp-garment", "pp-construction", "kandal-garment"])
    );
    assert_eq!(near(Some(400.0)).len(), 4);
    let unknown = index.search(&SearchRequest {
        near_province_code: Some("99".into()),
        ..SearchRequest::default()
    });
    assert!(matches!(unknown, Err(SearchError::UnknownProvince(_))));
    let radius_alone = index.search(&SearchRequest {
        radius_km: Some(10.0),
        ..SearchRequest::default()
    });
    assert!(matches!(
        radius_alone,
        Err(SearchError::InvalidFilter { .. })
    ));
}

#[test]
fn facets_count_every_match_per_sector_and_province() {
    let index = filter_fixture();
    let response = index
        .search(&SearchRequest {
            limit: Some(1),
            ..SearchRequest::default()
        })
        .unwrap();
    assert_eq!(response.total, 4);
    let counts = |facet: &[jobmatch_search::FacetCount]| -> Vec<(String, u64)> {
        facet
            .iter()
            .map(|count| (count.value.clone(), count.count))
            .collect()
    };
    assert_eq!(
        counts(&response.facets.sector),
        [
            ("garment".to_string(), 2),
            ("construction".to_string(), 1),
            ("hospitality".to_string(), 1)
        ]
    );
    assert_eq!(
        counts(&response.facets.province_code),
        [
            ("12".to_string(), 2),
            ("08".to_string(), 1),
            ("17".to_string(), 1)
        ]
    );
    let sewing = index.search(&query("sewing")).unwrap();
    assert_eq!(counts(&sewing.facets.sector), [("garment".to_string(), 2)]);
}

#[test]
fn sorting_by_newest_and_by_wage() {
    let index = filter_fixture();
    let sorted = |sort: SortOrder| {
        ids(
            &index,
            &SearchRequest {
                sort,
                limit: Some(100),
                ..SearchRequest::default()
            },
        )
    };
    assert_eq!(
        sorted(SortOrder::Newest),
        [
            "siemreap-hotel",
            "pp-construction",
            "kandal-garment",
            "pp-garment"
        ]
    );
    assert_eq!(
        sorted(SortOrder::Wage),
        [
            "pp-construction",
            "pp-garment",
            "siemreap-hotel",
            "kandal-garment"
        ]
    );
    // Relevance without text has nothing to rank by: newest first.
    assert_eq!(sorted(SortOrder::Relevance), sorted(SortOrder::Newest));
}

#[test]
fn a_cursor_walks_every_result_once_and_belongs_to_its_search() {
    let titles: Vec<(String, VacancyInput)> = (0..45)
        .map(|n| {
            (
                format!("v{n:02}"),
                vacancy(json!({ "title": format!("Sewing operator number {n}") })),
            )
        })
        .collect();
    let documents: Vec<(&str, VacancyInput)> = titles
        .iter()
        .map(|(id, vacancy)| (id.as_str(), vacancy.clone()))
        .collect();
    let index = index_of(&documents);
    let mut request = SearchRequest {
        q: "sewing".into(),
        limit: Some(20),
        ..SearchRequest::default()
    };
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    loop {
        let response = index.search(&request).unwrap();
        assert_eq!(response.total, 45);
        pages.push(response.items.len());
        seen.extend(response.items.into_iter().map(|hit| hit.vacancy_id));
        match response.next_cursor {
            Some(cursor) => request.cursor = Some(cursor),
            None => break,
        }
    }
    assert_eq!(pages, [20, 20, 5]);
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), 45);

    let first = index
        .search(&SearchRequest {
            q: "sewing".into(),
            ..SearchRequest::default()
        })
        .unwrap();
    let foreign = index.search(&SearchRequest {
        q: "operator".into(),
        cursor: first.next_cursor,
        ..SearchRequest::default()
    });
    assert!(matches!(foreign, Err(SearchError::InvalidCursor)));
    let garbage = index.search(&SearchRequest {
        cursor: Some("%%%".into()),
        ..SearchRequest::default()
    });
    assert!(matches!(garbage, Err(SearchError::InvalidCursor)));
}

#[test]
fn upsert_replaces_and_delete_removes_at_the_next_commit() {
    let index = titled(&[("v1", "Sewing operator"), ("v2", "Welder")]);
    index
        .upsert(
            "v1",
            &vacancy(json!({ "title": "Forklift driver" })),
            "E",
            day(9),
        )
        .unwrap();
    index.delete("v2").unwrap();
    // Not yet committed: searches still see the old state.
    assert_eq!(found(&index, "welder"), set(&["v2"]));
    index.commit(3).unwrap();
    assert!(found(&index, "sewing").is_empty());
    assert_eq!(found(&index, "forklift"), set(&["v1"]));
    assert!(found(&index, "welder").is_empty());
    assert_eq!(index.num_docs(), 1);
    index.delete("never-indexed").unwrap();
    index.commit(4).unwrap();
    assert_eq!(index.num_docs(), 1);
}

#[test]
fn a_committed_write_is_searchable_when_commit_returns() {
    let (index, _) = SearchIndex::open_or_create(None).unwrap();
    // Parsing the embedded taxonomy happens once per process; keep it out of the clock.
    Reference::embedded();
    let started = std::time::Instant::now();
    index
        .upsert("v1", &vacancy(json!({ "title": "Welder" })), "E", day(0))
        .unwrap();
    index.commit(1).unwrap();
    assert_eq!(found(&index, "welder"), set(&["v1"]));
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn the_commit_payload_keeps_the_sequence_and_reopening_keeps_the_documents() {
    let directory = tempfile::tempdir().unwrap();
    {
        let (index, outcome) = SearchIndex::open_or_create(Some(directory.path())).unwrap();
        assert_eq!(
            outcome,
            OpenOutcome::Rebuilt {
                reason: RebuildReason::Missing
            }
        );
        index
            .upsert("v1", &vacancy(json!({ "title": "Welder" })), "E", day(0))
            .unwrap();
        index.commit(42).unwrap();
        assert_eq!(index.last_applied_seq(), 42);
        // Uncommitted work is lost on close, and the payload stays at 42.
        index
            .upsert("v2", &vacancy(json!({ "title": "Cook" })), "E", day(0))
            .unwrap();
    }
    let (index, outcome) = SearchIndex::open_or_create(Some(directory.path())).unwrap();
    assert_eq!(outcome, OpenOutcome::Opened { seq: 42 });
    assert_eq!(index.last_applied_seq(), 42);
    assert_eq!(found(&index, "welder"), set(&["v1"]));
    assert!(found(&index, "cook").is_empty());
    drop(index);

    // An empty index filled with nothing and committed reopens as valid.
    let empty = tempfile::tempdir().unwrap();
    let (index, _) = SearchIndex::open_or_create(Some(empty.path())).unwrap();
    index.commit(0).unwrap();
    drop(index);
    let (_, outcome) = SearchIndex::open_or_create(Some(empty.path())).unwrap();
    assert_eq!(outcome, OpenOutcome::Opened { seq: 0 });
}

#[test]
fn a_rebuild_cut_short_before_its_first_commit_is_rebuilt_again() {
    let directory = tempfile::tempdir().unwrap();
    {
        let (index, outcome) = SearchIndex::open_or_create(Some(directory.path())).unwrap();
        assert_eq!(
            outcome,
            OpenOutcome::Rebuilt {
                reason: RebuildReason::Missing
            }
        );
        // The process dies while refilling: written, never committed by the caller.
        index
            .upsert("v1", &vacancy(json!({ "title": "Welder" })), "E", day(0))
            .unwrap();
    }
    let (index, outcome) = SearchIndex::open_or_create(Some(directory.path())).unwrap();
    assert_eq!(
        outcome,
        OpenOutcome::Rebuilt {
            reason: RebuildReason::Incomplete
        }
    );
    assert_eq!(index.num_docs(), 0);
}

/// Writes one committed vacancy into an index in `path` and closes it.
fn write_one(path: &std::path::Path) {
    let (index, _) = SearchIndex::open_or_create(Some(path)).unwrap();
    index
        .upsert("v1", &vacancy(json!({ "title": "Welder" })), "E", day(0))
        .unwrap();
    index.commit(7).unwrap();
    index.wait_for_merges().unwrap();
}

#[test]
fn a_damaged_segment_file_is_detected_and_the_index_rebuilt() {
    let directory = tempfile::tempdir().unwrap();
    write_one(directory.path());
    let segment_file = std::fs::read_dir(directory.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|ext| ext == "idx"))
        .expect("a postings file");
    let mut bytes = std::fs::read(&segment_file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xFF;
    std::fs::write(&segment_file, bytes).unwrap();

    let (index, outcome) = SearchIndex::open_or_create(Some(directory.path())).unwrap();
    assert!(
        matches!(
            outcome,
            OpenOutcome::Rebuilt {
                reason: RebuildReason::Corrupt { .. }
            }
        ),
        "{outcome:?}"
    );
    assert_eq!(index.num_docs(), 0);
    assert_eq!(index.last_applied_seq(), 0);
    index.commit(0).unwrap();
    drop(index);
    let (_, outcome) = SearchIndex::open_or_create(Some(directory.path())).unwrap();
    assert_eq!(outcome, OpenOutcome::Opened { seq: 0 });
}

#[test]
fn unreadable_metadata_or_a_missing_segment_is_corrupt() {
    let directory = tempfile::tempdir().unwrap();
    write_one(directory.path());
    std::fs::write(directory.path().join("meta.json"), b"{ not json").unwrap();
    let (_, outcome) = SearchIndex::open_or_create(Some(directory.path())).unwrap();
    assert!(
        matches!(
            outcome,
            OpenOutcome::Rebuilt {
                reason: RebuildReason::Corrupt { .. }
            }
        ),
        "{outcome:?}"
    );

    let directory = tempfile::tempdir().unwrap();
    write_one(directory.path());
    for entry in std::fs::read_dir(directory.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "term") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let (_, outcome) = SearchIndex::open_or_create(Some(directory.path())).unwrap();
    assert!(
        matches!(
            outcome,
            OpenOutcome::Rebuilt {
                reason: RebuildReason::Corrupt { .. }
            }
        ),
        "{outcome:?}"
    );
}

#[test]
fn an_index_of_another_schema_version_is_reported_and_rebuilt() {
    let directory = tempfile::tempdir().unwrap();
    {
        // What an older release might have left: another schema, an older payload.
        let mut builder = tantivy::schema::Schema::builder();
        let title = builder.add_text_field("title", tantivy::schema::TEXT);
        let index = tantivy::Index::create_in_dir(directory.path(), builder.build()).unwrap();
        let mut writer: tantivy::IndexWriter =
            index.writer_with_num_threads(1, 15_000_000).unwrap();
        let mut document = tantivy::TantivyDocument::new();
        document.add_text(title, "old");
        writer.add_document(document).unwrap();
        let mut commit = writer.prepare_commit().unwrap();
        commit.set_payload("jobmatch-search schema=0 seq=99");
        commit.commit().unwrap();
    }
    std::fs::write(directory.path().join("notes.txt"), b"not ours").unwrap();
    let (index, outcome) = SearchIndex::open_or_create(Some(directory.path())).unwrap();
    assert_eq!(
        outcome,
        OpenOutcome::Rebuilt {
            reason: RebuildReason::SchemaVersion { found: Some(0) }
        }
    );
    assert_eq!(index.num_docs(), 0);
    assert!(directory.path().join("notes.txt").exists());
}

#[test]
fn a_directory_held_by_another_writer_is_locked_and_left_intact() {
    let directory = tempfile::tempdir().unwrap();
    let (first, _) = SearchIndex::open_or_create(Some(directory.path())).unwrap();
    first
        .upsert("v1", &vacancy(json!({ "title": "Welder" })), "E", day(0))
        .unwrap();
    first.commit(5).unwrap();
    let second = SearchIndex::open_or_create(Some(directory.path()));
    assert!(matches!(second, Err(SearchError::Locked)), "{second:?}");
    assert_eq!(found(&first, "welder"), set(&["v1"]));
    first.commit(6).unwrap();
}
