//! Lookup against the embedded taxonomy: ranking, typo budgets, completions, folding
//! and the order of near-equal matches.

use super::super::Reference;
use super::labels::Token;
use super::query::Unit;
use super::search::MIN_TOKEN_SIMILARITY;
use super::*;

fn taxonomy() -> &'static Taxonomy {
    &Reference::embedded().taxonomy
}

fn skill_labels(query: &str, limit: usize) -> Vec<(String, f64, String)> {
    taxonomy()
        .lookup_skills(query, limit)
        .into_iter()
        .map(|m| (m.item.label.clone(), m.score, m.matched_label.to_string()))
        .collect()
}

fn is_sewing(label: &str) -> bool {
    let label = label.to_lowercase();
    label.contains("sew") || label.contains("stitch")
}

#[test]
fn an_exact_label_scores_one() {
    let hits = taxonomy().lookup_skills("Keep records of work progress", 3);
    assert_eq!(hits[0].item.label, "keep records of work progress");
    assert_eq!(hits[0].score, 1.0);
}

#[test]
fn sewing_ranks_sewing_skills_at_the_top() {
    let hits = skill_labels("sewing", 10);
    assert!(hits.len() == 10, "{hits:?}");
    for (label, _, matched) in &hits[..5] {
        assert!(is_sewing(label) || is_sewing(matched), "{hits:#?}");
    }
    assert!(
        hits[..3]
            .iter()
            .any(|(label, _, _)| label.starts_with("sew ")),
        "{hits:#?}"
    );
}

#[test]
fn typo_in_sewing_machine_still_finds_it() {
    let hits = skill_labels("sewing machne", 5);
    assert!(
        hits[..3]
            .iter()
            .any(|(_, _, matched)| matched.contains("sewing machine")),
        "{hits:#?}"
    );
    let occupations = taxonomy().lookup_occupations("sewing machne", 3);
    assert_eq!(
        occupations[0].item.label, "sewing machine operator",
        "{:?}",
        occupations[0]
    );
}

#[test]
fn bricklaying_with_and_without_typos_finds_bricklaying() {
    for query in ["bricklaying", "brick layng", "Brick laying", "bricklayng"] {
        let hits = skill_labels(query, 3);
        assert_eq!(hits[0].0, "lay bricks", "{query}: {hits:#?}");
    }
    let occupations = taxonomy().lookup_occupations("brick layer", 1);
    assert_eq!(occupations[0].item.label, "bricklayer");
}

#[test]
fn welding_finds_welding_skills() {
    for query in ["welding", "weldng"] {
        let hits = skill_labels(query, 5);
        for (label, _, matched) in &hits {
            assert!(
                matched.contains("weld") || label.contains("weld"),
                "{query}: {hits:#?}"
            );
        }
    }
}

#[test]
fn results_are_sorted_by_score_and_bounded() {
    for query in ["sewing", "forklift", "cook rice", "clean", "x"] {
        let hits = taxonomy().lookup_skills(query, 20);
        assert!(hits.len() <= 20);
        for pair in hits.windows(2) {
            assert!(pair[0].score >= pair[1].score, "{query}");
        }
        for hit in &hits {
            assert!((0.0..=1.0).contains(&hit.score));
        }
    }
}

#[test]
fn each_skill_appears_at_most_once() {
    let hits = taxonomy().lookup_skills("operate machine", 50);
    let mut ids: Vec<&str> = hits.iter().map(|m| m.item.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), hits.len());
}

#[test]
fn empty_query_returns_common_trade_skills() {
    let hits = taxonomy().lookup_skills("  ", 10);
    assert_eq!(hits.len(), 10);
    assert!(hits.iter().all(|m| m.score == 0.0));
    assert!(
        hits.iter().all(|m| m.item.linked_occupation_count >= 50),
        "{hits:#?}"
    );
    let occupations = taxonomy().lookup_occupations("", 5);
    assert!(
        occupations
            .iter()
            .all(|m| is_returnee_trade(&m.item.isco_code))
    );
}

#[test]
fn zero_limit_and_nonsense_return_nothing() {
    assert!(taxonomy().lookup_skills("sewing", 0).is_empty());
    assert!(taxonomy().lookup_skills("qqqqzzzz", 5).is_empty());
}

#[test]
fn hidden_labels_are_searchable() {
    let hits = skill_labels("microsoft office excel", 1);
    assert_eq!(hits[0].0, "use spreadsheets software");
}

#[test]
fn a_partly_typed_word_still_matches() {
    let hits = skill_labels("forkl", 3);
    assert!(
        hits.iter()
            .all(|(_, _, m)| m.to_lowercase().contains("forklift")),
        "{hits:#?}"
    );
}

fn top_skill(query: &str) -> String {
    skill_labels(query, 1)
        .into_iter()
        .next()
        .map(|(_, _, matched)| matched.to_lowercase())
        .unwrap_or_default()
}

#[test]
fn one_typo_is_tolerated_in_words_of_five_to_eight_characters() {
    // "weldng": 6 characters, one deletion; "sewng": 5; "operaet": a transposition.
    assert!(
        top_skill("weldng").contains("weld"),
        "{}",
        top_skill("weldng")
    );
    assert!(top_skill("sewng").contains("sew"), "{}", top_skill("sewng"));
    assert!(
        top_skill("operaet forklift").contains("forklift"),
        "{}",
        top_skill("operaet forklift")
    );
    // Two typos in a word of 5 to 8 characters are too many.
    assert!(
        skill_labels("wledng", 20)
            .iter()
            .all(|(_, _, matched)| !matched.contains("weld")),
        "{:#?}",
        skill_labels("wledng", 20)
    );
}

#[test]
fn two_typos_are_tolerated_from_nine_characters() {
    // "scaffoldnig" (11 characters) has a transposition, "scafolding" a deletion,
    // "scafoldnig" both.
    for query in ["scaffoldnig", "scafolding", "scafoldnig"] {
        assert!(
            top_skill(query).contains("scaffold"),
            "{query}: {}",
            top_skill(query)
        );
    }
}

#[test]
fn words_of_four_characters_or_fewer_must_be_typed_exactly() {
    // "wled" is one transposition from "weld", but too short to correct.
    assert!(
        skill_labels("wled", 20)
            .iter()
            .all(|(_, _, matched)| !matched.contains("weld")),
        "{:#?}",
        skill_labels("wled", 20)
    );
    assert!(top_skill("weld").contains("weld"));
}

#[test]
fn an_exact_word_ranks_above_a_typo_match() {
    // "saw" and "sew" differ by a letter: short words are never corrected, so the
    // exact word wins and sewing does not come up at all.
    let hits = skill_labels("sawing", 10);
    assert!(
        hits.iter()
            .all(|(label, _, matched)| !is_sewing(label) && !is_sewing(matched)),
        "{hits:#?}"
    );
    // For one typed word: exact, then stem, then completion, then one typo, then two.
    let last_word = |text: &str| Unit::new(text.to_string(), false, true);
    let similarity =
        |query: &str, label_word: &str| last_word(query).similarity(&Token::new(label_word));
    let exact = similarity("scaffolding", "scaffolding");
    let stem = similarity("scaffolding", "scaffolds");
    let shortest_completion = similarity("sca", "scaffolding");
    let one_typo = similarity("scafolding", "scaffolding");
    let two_typos = similarity("scafoldnig", "scaffolding");
    assert!(
        exact > stem && stem > shortest_completion,
        "{exact} {stem} {shortest_completion}"
    );
    assert!(
        shortest_completion > one_typo && one_typo > two_typos,
        "{one_typo} {two_typos}"
    );
    assert!(two_typos >= MIN_TOKEN_SIMILARITY);
}

#[test]
fn only_the_last_word_completes_as_a_prefix() {
    assert!(top_skill("operate fork").contains("forklift"));
    // "fork" not last: taken as a whole word, so forklift labels need more than it.
    let hits = skill_labels("fork operate", 5);
    assert!(
        hits.iter()
            .all(|(_, score, matched)| !matched.contains("forklift") || *score < 0.8),
        "{hits:#?}"
    );
}

#[test]
fn accents_and_case_do_not_matter() {
    assert_eq!(top_skill("SÉWING MÀCHINE"), top_skill("sewing machine"));
}

#[test]
fn equally_close_skills_are_ordered_by_use_in_the_returnee_trades() {
    let taxonomy = taxonomy();
    let popularity = taxonomy
        .skill_index
        .priors
        .get_or_init(|| skill_popularity(taxonomy));
    let hits = taxonomy.lookup_skills("sewing", 50);
    for pair in hits.windows(2) {
        if pair[0].score == pair[1].score {
            let id =
                |hit: &Match<'_, Skill>| taxonomy.skill_id(&hit.item.id).expect("known").0 as usize;
            assert!(
                popularity[id(&pair[0])] >= popularity[id(&pair[1])],
                "{pair:#?}"
            );
        }
    }
    // A skill that garment and construction occupations list outranks in
    // popularity one that only other trades list.
    let sewing = taxonomy
        .lookup_skills("operate sewing machines", 1)
        .first()
        .map(|hit| taxonomy.skill_id(&hit.item.id).expect("known").0 as usize)
        .expect("found");
    assert!(popularity[sewing] >= 2048, "listed by garment occupations");
}

#[test]
fn unusual_input_does_not_panic() {
    let long = "sewing ".repeat(100);
    for query in [
        "ដេរ",
        "café crème",
        "’’’",
        "a",
        "C++",
        "🙂 sew",
        long.as_str(),
    ] {
        let _ = taxonomy().lookup_skills(query, 10);
        let _ = taxonomy().lookup_occupations(query, 10);
    }
}
