//! The demo's vacancy documents: title, description, place, wages, skills asked
//! and benefits, from the job an employer advertises and its ESCO occupation.

use chrono::{Duration, NaiveDate};
use jobmatch_domain::reference::Occupation;
use jobmatch_domain::resources::Benefit;
use jobmatch_domain::{Reference, Sector};
use serde_json::{Map, Value, json};

use super::{Company, Occupations};
use crate::Error;
use crate::rng::Rng;
use crate::tables::{EmployerSpec, Job, Tables};

/// One vacancy of `company`, without its `employer_id`.
pub(super) fn vacancy(
    rng: &mut Rng,
    tables: &Tables,
    reference: &Reference,
    occupations: &Occupations<'_>,
    today: NaiveDate,
    external_id: String,
    company: &Company,
) -> Result<Value, Error> {
    let spec = company.spec;
    let home = &company.place;
    let gazetteer = &reference.gazetteer;
    let choices: Vec<(&Job, u32)> = spec
        .jobs
        .iter()
        .map(|&index| &tables.jobs[index])
        .map(|job| (job, job.weight))
        .collect();
    let job = *rng.weighted(&choices);
    let occupation = occupations.get(&job.esco_code)?;

    // Construction companies build where the work is; everyone else hires at home.
    let (province, district, commune) = if spec.sector == Sector::Construction && rng.chance(0.3) {
        let province = *rng.pick(&[
            "12", "08", "17", "18", "01", "02", "22", "15", "13", "05", "03",
        ]);
        let district = rng.pick(&gazetteer.districts_of(province)).code.clone();
        (province, district, None)
    } else {
        (
            home.province.as_str(),
            home.district.clone(),
            home.commune.clone(),
        )
    };
    let province_name = gazetteer
        .province(province)
        .map(|p| p.name_en.as_str())
        .unwrap_or(province);
    let district_name = gazetteer
        .district(&district)
        .map(|d| d.name_en.as_str())
        .unwrap_or("");

    let positions = rng.between(u64::from(job.positions_low), u64::from(job.positions_high)) as u32;
    let mut title = if !job.title_km.is_empty() && rng.chance(0.8) {
        format!("{} / {}", job.title_en, job.title_km)
    } else {
        job.title_en.clone()
    };
    if positions >= 10 && rng.chance(0.3) {
        title.push_str(&format!(" ({positions} positions)"));
    }

    let status = *rng.weighted(&[("open", 88), ("filled", 7), ("closed", 5)]);
    let (starts_on, closes_on) = if status == "open" {
        let closes = today + Duration::days(rng.between(7, 60) as i64);
        let starts = if rng.chance(0.3) {
            today - Duration::days(rng.between(0, 10) as i64)
        } else {
            closes + Duration::days(rng.between(0, 21) as i64)
        };
        (starts, closes)
    } else {
        let closes = today - Duration::days(rng.between(1, 60) as i64);
        (closes + Duration::days(rng.between(0, 14) as i64), closes)
    };

    let wage_min = wage(rng, job.wage_min_usd());
    let wage_max = wage(rng, job.wage_max_usd()).max(wage_min);
    let wages = *rng.weighted(&[("both", 80), ("min", 15), ("none", 5)]);

    let essential = &occupation.essential_skills;
    let required_count = (rng.between(2, 5) as usize).min(essential.len());
    let required = rng.sample(essential, required_count);
    let optional: Vec<_> = occupation
        .optional_skills
        .iter()
        .copied()
        .filter(|skill| !required.contains(skill))
        .collect();
    let preferred_count = (rng.between(0, 3) as usize).min(optional.len());
    let preferred = rng.sample(&optional, preferred_count);
    let level_weights: &[(u8, u32)] = if job.skilled {
        &[(1, 2), (2, 5), (3, 3)]
    } else {
        &[(1, 6), (2, 3), (3, 1)]
    };
    let required: Vec<Value> = required
        .iter()
        .map(|&skill| json!({"skill": reference.taxonomy.skill(skill).id, "min_level": *rng.weighted(level_weights)}))
        .collect();
    let preferred: Vec<Value> = preferred
        .iter()
        .map(|&skill| json!({"skill": reference.taxonomy.skill(skill).id}))
        .collect();

    let benefits = benefits(rng, spec.sector, job.skilled);
    let min_age = if spec.sector.is_hazardous() || rng.chance(0.5) {
        Some(18)
    } else {
        None
    };
    let min_experience = if job.skilled {
        if rng.chance(0.7) {
            Some(rng.between(1, 3) as f64)
        } else {
            None
        }
    } else if rng.chance(0.15) {
        Some(*rng.pick(&[0.5, 1.0]))
    } else {
        None
    };

    let description = vacancy_description(
        rng,
        &company.name,
        spec,
        job,
        occupation,
        positions,
        province_name,
        district_name,
        &benefits,
        wage_min,
    );

    let mut object = Map::new();
    object.insert("title".into(), json!(title));
    object.insert("description".into(), json!(description));
    object.insert("sector".into(), json!(spec.sector.code()));
    object.insert("occupation".into(), json!(occupation.id));
    object.insert("province_code".into(), json!(province));
    object.insert("district_code".into(), json!(district));
    if let Some(commune) = commune {
        object.insert("commune_code".into(), json!(commune));
    }
    object.insert("positions".into(), json!(positions));
    if wages != "none" {
        object.insert("wage_min_usd".into(), json!(wage_min));
    }
    if wages == "both" {
        object.insert("wage_max_usd".into(), json!(wage_max));
    }
    object.insert("required_skills".into(), Value::Array(required));
    if !preferred.is_empty() {
        object.insert("preferred_skills".into(), Value::Array(preferred));
    }
    if let Some(years) = min_experience {
        object.insert("min_experience_years".into(), json!(years));
    }
    if let Some(age) = min_age {
        object.insert("min_age".into(), json!(age));
    }
    object.insert("benefits".into(), json!(benefits));
    object.insert("starts_on".into(), json!(starts_on));
    object.insert("closes_on".into(), json!(closes_on));
    object.insert("status".into(), json!(status));
    object.insert("external_id".into(), json!(external_id));
    Ok(Value::Object(object))
}

#[allow(clippy::too_many_arguments)]
fn vacancy_description(
    rng: &mut Rng,
    employer_name: &str,
    spec: &EmployerSpec,
    job: &Job,
    occupation: &Occupation,
    positions: u32,
    province: &str,
    district: &str,
    benefits: &[&str],
    wage_min: f64,
) -> String {
    let site = match spec.sector {
        Sector::Construction => "project",
        Sector::Hospitality => "hotel",
        Sector::Agriculture => "farm",
        _ => "factory",
    };
    // A provincial capital often shares its province's name: "Pursat", not "Pursat, Pursat".
    let place = if district.is_empty() || district == province {
        province.to_string()
    } else {
        format!("{district}, {province}")
    };
    let openings = if positions == 1 {
        "one position".to_string()
    } else {
        format!("{positions} positions")
    };
    let mut text = format!(
        "{} is recruiting for {openings} as {} at its {site} in {place}.",
        employer_name,
        job.title_en.to_lowercase()
    );
    let duty = occupation
        .description
        .split(". ")
        .next()
        .unwrap_or("")
        .trim_end_matches('.');
    if !duty.is_empty() {
        text.push_str(&format!(" The work: {duty}."));
    }
    let hours = match spec.sector {
        Sector::Construction => "Hours: 7:00-11:00 and 13:00-17:00, Monday to Saturday.",
        Sector::Hospitality => "Shift work, 48 hours a week with one day off.",
        Sector::Agriculture => "Seasonal work, six days a week; wages paid monthly.",
        _ => "Hours: 8 hours a day, Monday to Saturday; overtime is voluntary.",
    };
    text.push(' ');
    text.push_str(hours);
    if !benefits.is_empty() {
        let list: Vec<String> = benefits
            .iter()
            .map(|benefit| benefit.replace('_', " "))
            .collect();
        text.push_str(&format!(" Benefits: {}.", list.join(", ")));
    }
    if spec.sector == Sector::Garment && wage_min <= 215.0 {
        text.push_str(" Minimum wage plus attendance bonus.");
    }
    if !job.skilled && rng.chance(0.5) {
        text.push_str(" No experience needed; training is given on the job.");
    }
    if rng.chance(0.6) {
        text.push_str("\nសូមស្វាគមន៍ពលករចំណាកស្រុកដែលវិលត្រឡប់មកពីប្រទេសថៃ។");
    }
    let apply = *rng.pick(&[
            "Apply at the nearest Migrant Worker Resource Centre or at the factory gate with your ID card.",
            "Apply through the Migrant Worker Resource Centre; interviews every Monday.",
            "Call the HR office or come in person with your ID card.",
        ],
    );
    text.push('\n');
    text.push_str(&apply.replace("factory", site));
    text
}

/// The benefits a vacancy offers, by how common each is in its sector.
fn benefits(rng: &mut Rng, sector: Sector, skilled: bool) -> Vec<&'static str> {
    use Sector::*;
    // (accommodation, transport, meals, health insurance, social security, childcare, training, overtime pay)
    let chances: [f64; 8] = match sector {
        Garment => [0.15, 0.35, 0.2, 0.2, 0.95, 0.25, 0.0, 0.8],
        Construction => [0.55, 0.3, 0.4, 0.15, 0.6, 0.0, 0.0, 0.4],
        Production => [0.15, 0.3, 0.25, 0.2, 0.95, 0.1, 0.0, 0.8],
        FoodProcessing => [0.2, 0.3, 0.4, 0.15, 0.9, 0.05, 0.0, 0.7],
        Agriculture => [0.6, 0.2, 0.5, 0.05, 0.2, 0.0, 0.0, 0.1],
        Hospitality => [0.2, 0.2, 0.8, 0.2, 0.8, 0.0, 0.0, 0.3],
        Transport | Services | Other => [0.1, 0.2, 0.2, 0.2, 0.7, 0.0, 0.0, 0.5],
    };
    let training = if skilled { 0.15 } else { 0.4 };
    Benefit::ALL
        .into_iter()
        .zip(chances)
        .filter_map(|(benefit, chance)| {
            let chance = if benefit == Benefit::Training {
                training
            } else {
                chance
            };
            rng.chance(chance).then_some(benefit.code())
        })
        .collect()
}

/// A monthly wage in a range: garment-minimum-like values exact, the rest rounded to 5 USD.
fn wage(rng: &mut Rng, (low, high): (u32, u32)) -> f64 {
    let value = rng.between(u64::from(low), u64::from(high)) as u32;
    let value = if value < 220 { value } else { value / 5 * 5 };
    f64::from(value)
}
