//! The search benches profile: vacancies as a job board might hold them, for the
//! tantivy search benchmarks (`search`, `search_http`).
//!
//! Vacancies are drawn from the ESCO occupations of the embedded taxonomy (title from
//! a label or alternative label, required and preferred skills from the occupation's
//! skills) and from Khmer vacancy phrases, with sectors, provinces, wages, statuses,
//! benefits and posting dates spread as a job board's might be. Everything comes from
//! the one [`Rng`] with a fixed seed, so runs are comparable.

use chrono::{DateTime, TimeZone, Utc};
use jobmatch_domain::resources::{Benefit, VacancyInput};
use jobmatch_domain::{Reference, Sector};
use serde_json::json;

use crate::rng::Rng;

/// The seed of every run.
const SEED: u64 = 0x5EED_1234;

/// One generated vacancy: id, document, employer name, posting time. The document's
/// `employer_id` is `e0` to `e1999`, and the employer name is `Employer <n>` for the
/// same `n`.
pub type SyntheticVacancy = (String, VacancyInput, String, DateTime<Utc>);

/// Employers the vacancies are spread over.
pub const EMPLOYERS: usize = 2_000;

/// Khmer phrases of the kind employers post (garment, construction, factory work,
/// wages, benefits).
const KHMER_PHRASES: [&str; 24] = [
    "ត្រូវការកម្មករកាត់ដេរចំនួន ២០ នាក់",
    "ជ្រើសរើសជាងកាត់ដេរ មានបទពិសោធន៍យ៉ាងតិច ១ ឆ្នាំ",
    "រោងចក្រកាត់ដេរ ត្រូវការកម្មករត្រួតពិនិត្យគុណភាព",
    "ត្រូវការកម្មករអ៊ុតខោអាវ",
    "កម្មករវេចខ្ចប់ និងដាក់ស្លាកសញ្ញា",
    "ត្រូវការកម្មករសំណង់ជាបន្ទាន់",
    "ជាងឥដ្ឋ និងជាងបាយអ",
    "ជាងផ្សារដែក",
    "ជាងឈើ ធ្វើពុម្ពបេតុង",
    "ជាងអគ្គិសនី សម្រាប់ការដ្ឋានសំណង់",
    "អ្នកបើកបររថយន្តដឹកសម្ភារៈសំណង់",
    "កម្មកររោងចក្រផលិតស្បែកជើង",
    "កម្មករខ្សែសង្វាក់ផលិតកម្ម ធ្វើការវេនយប់",
    "រោងចក្រកែច្នៃអាហារ ត្រូវការកម្មករស្រី",
    "កម្មករឃ្លាំងទំនិញ",
    "ប្រាក់ខែ ៣០០ ដុល្លារ ក្នុងមួយខែ",
    "ប្រាក់ឈ្នួលគោល ២០៨ ដុល្លារ បូកប្រាក់លើកទឹកចិត្ត",
    "ប្រាក់ថែមម៉ោង និងប្រាក់រង្វាន់វត្តមាន",
    "មានកន្លែងស្នាក់នៅ និងអាហារឥតគិតថ្លៃ",
    "មានឡានដឹកកម្មករទៅមកធ្វើការ",
    "ចុះឈ្មោះ ប.ស.ស និងធានារ៉ាប់រងសុខភាព",
    "មានវគ្គបណ្តុះបណ្តាលជំនាញមុនចូលធ្វើការ",
    "ស្វាគមន៍ពលករចំណាកស្រុកដែលវិលត្រឡប់មកពីប្រទេសថៃ",
    "អ្នកសម្អាតបន្ទប់សណ្ឋាគារ",
];

const ENGLISH_LINES: [&str; 8] = [
    "Immediate start, overtime available.",
    "Free accommodation near the factory and a meal allowance.",
    "Returnees from Thailand are welcome; experience abroad counts.",
    "Training provided for workers without experience.",
    "Registered with NSSF, health insurance after probation.",
    "Day shift and night shift, six days a week.",
    "Transport to the site every morning.",
    "Wages paid twice a month by bank transfer.",
];

/// Sectors with the weights (out of 100) a Cambodian job board might show.
const SECTORS: [(Sector, u64); 9] = [
    (Sector::Garment, 30),
    (Sector::Construction, 20),
    (Sector::Production, 15),
    (Sector::FoodProcessing, 8),
    (Sector::Agriculture, 7),
    (Sector::Hospitality, 8),
    (Sector::Transport, 5),
    (Sector::Services, 5),
    (Sector::Other, 2),
];

/// `count` vacancies, the same for every run: ids `00000000` on, posting times
/// through 2024.
pub fn vacancies(count: usize) -> Vec<SyntheticVacancy> {
    let reference = Reference::embedded();
    let taxonomy = &reference.taxonomy;
    let gazetteer = &reference.gazetteer;
    let occupations = taxonomy.occupations();
    let provinces = gazetteer.provinces();
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
    let mut rng = Rng::new(SEED);
    let mut vacancies = Vec::with_capacity(count);
    for n in 0..count {
        let occupation = rng.pick(occupations);
        let label = if occupation.alt_labels.is_empty() || rng.chance(0.6) {
            occupation.label.clone()
        } else {
            rng.pick(&occupation.alt_labels).clone()
        };
        let khmer = *rng.pick(&KHMER_PHRASES);
        let title = match rng.below(10) {
            0..=4 => label.clone(),
            5..=7 => khmer.to_string(),
            _ => format!("{label} – {khmer}"),
        };
        let mut description = String::new();
        for _ in 0..1 + rng.below(3) {
            let phrase: &&str = rng.pick(&KHMER_PHRASES);
            description.push_str(phrase);
            description.push(' ');
        }
        description.push_str(&format!("We are hiring: {label}. "));
        let line: &&str = rng.pick(&ENGLISH_LINES);
        description.push_str(line);

        let mut weight = rng.below(100) as u64;
        let sector = SECTORS
            .iter()
            .find(|(_, share)| {
                if weight < *share {
                    true
                } else {
                    weight -= share;
                    false
                }
            })
            .map_or(Sector::Other, |(sector, _)| *sector);
        let province = rng.pick(provinces);
        let district = if rng.chance(0.5) {
            gazetteer
                .districts_of(&province.code)
                .first()
                .map(|district| district.code.clone())
        } else {
            None
        };
        let required: Vec<_> = occupation
            .essential_skills
            .iter()
            .take(4)
            .map(|id| json!({"skill": taxonomy.skill(*id).id, "min_level": 1 + rng.below(3)}))
            .collect();
        let preferred: Vec<_> = occupation
            .optional_skills
            .iter()
            .take(2)
            .map(|id| json!({"skill": taxonomy.skill(*id).id}))
            .collect();
        let wage_min = 180 + 10 * rng.below(30);
        let status = match rng.below(10) {
            0 => "filled",
            1 => "closed",
            _ => "open",
        };
        let benefits: Vec<&str> = Benefit::ALL
            .into_iter()
            .map(Benefit::code)
            .filter(|_| rng.chance(0.25))
            .collect();
        let employer = rng.below(EMPLOYERS);
        let mut document = json!({
            "employer_id": format!("e{employer}"),
            "title": title,
            "description": description,
            "sector": sector,
            "occupation": occupation.id,
            "province_code": province.code,
            "positions": 1 + rng.below(50),
            "required_skills": required,
            "preferred_skills": preferred,
            "benefits": benefits,
            "status": status,
        });
        if let Some(district) = district {
            document["district_code"] = json!(district);
        }
        if rng.chance(0.85) {
            document["wage_min_usd"] = json!(wage_min);
            if rng.chance(0.7) {
                document["wage_max_usd"] = json!(wage_min + 10 * rng.below(15));
            }
        }
        let vacancy: VacancyInput = serde_json::from_value(document).expect("valid vacancy");
        let posted_at = start + chrono::Duration::minutes(rng.below(365 * 24 * 60) as i64);
        vacancies.push((
            format!("{n:08}"),
            vacancy,
            format!("Employer {employer}"),
            posted_at,
        ));
    }
    vacancies
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_run_gives_the_same_vacancies() {
        let first = vacancies(200);
        let second = vacancies(200);
        assert_eq!(first.len(), 200);
        for (a, b) in first.iter().zip(&second) {
            assert_eq!(a.0, b.0);
            assert_eq!(
                serde_json::to_string(&a.1).unwrap(),
                serde_json::to_string(&b.1).unwrap()
            );
            assert_eq!((&a.2, a.3), (&b.2, b.3));
        }
        let open = first
            .iter()
            .filter(|(_, vacancy, _, _)| {
                vacancy.status == jobmatch_domain::resources::VacancyStatus::Open
            })
            .count();
        assert!(open > 140, "{open} of 200 open");
    }
}
