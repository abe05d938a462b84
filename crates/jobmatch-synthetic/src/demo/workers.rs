//! The demo's returnee profiles: name, age, home, work history in Thailand, skills
//! from the ESCO occupations of that history, preferences and consent.

use chrono::{Duration, NaiveDate};
use jobmatch_domain::{Reference, Sector};
use serde_json::{Map, Value, json};

use super::Occupations;
use crate::Error;
use crate::rng::Rng;
use crate::tables::{Name, Profile, Tables};

/// One returnee profile.
pub(super) fn worker(
    rng: &mut Rng,
    tables: &'static Tables,
    reference: &Reference,
    occupations: &Occupations<'_>,
    today: NaiveDate,
    external_id: String,
) -> Result<Value, Error> {
    let gazetteer = &reference.gazetteer;
    let sex = if rng.chance(0.52) {
        Sex::Female
    } else {
        Sex::Male
    };
    let sector = match sex {
        Sex::Female => *rng.weighted(&[
            (Sector::Garment, 50),
            (Sector::Production, 18),
            (Sector::FoodProcessing, 12),
            (Sector::Agriculture, 9),
            (Sector::Construction, 8),
            (Sector::Hospitality, 3),
        ]),
        Sex::Male => *rng.weighted(&[
            (Sector::Construction, 45),
            (Sector::Production, 20),
            (Sector::Agriculture, 14),
            (Sector::FoodProcessing, 9),
            (Sector::Garment, 8),
            (Sector::Hospitality, 4),
        ]),
    };

    let (family, given) = person_name(rng, sex);
    let full_name = match *rng.weighted(&[(0u8, 70), (1, 20), (2, 10)]) {
        0 => format!("{} {}", family.name_km, given.name_km),
        1 => format!(
            "{} {} ({} {})",
            family.name_km, given.name_km, family.name_latin, given.name_latin
        ),
        _ => format!("{} {}", family.name_latin.to_uppercase(), given.name_latin),
    };
    let sex_code = if rng.chance(0.003) {
        Some("other")
    } else if rng.chance(0.01) {
        None
    } else {
        Some(match sex {
            Sex::Female => "female",
            Sex::Male => "male",
        })
    };
    let age: i64 = match *rng.weighted(&[(0u8, 1), (1, 25), (2, 38), (3, 26), (4, 10)]) {
        0 => rng.between(16, 17) as i64,
        1 => rng.between(18, 24) as i64,
        2 => rng.between(25, 34) as i64,
        3 => rng.between(35, 44) as i64,
        _ => rng.between(45, 50) as i64,
    };
    // A birthday somewhere in the year after the one that made the person `age`.
    let date_of_birth = today - Duration::days(age * 365 + age / 4 + rng.between(1, 360) as i64);

    let province = *rng.weighted(&tables.home_provinces(Profile::Demo));
    let district = rng.pick(&gazetteer.districts_of(province)).code.clone();
    let commune = rng.pick(&gazetteer.communes_of(&district)).code.clone();

    // Work history: one or two jobs, mostly abroad.
    let own_occupations = occupations_of(tables, sector)?;
    let first = rng.weighted(own_occupations).as_str();
    let mut experience: Vec<(&str, f64, &str)> = vec![(
        first,
        rng.between(2, 20) as f64 / 2.0,
        if rng.chance(0.75) { "TH" } else { "KH" },
    )];
    let mut second_sector = None;
    if rng.chance(0.35) {
        let other_sector = if rng.chance(0.3) {
            *rng.pick(&[
                Sector::Garment,
                Sector::Construction,
                Sector::Production,
                Sector::Agriculture,
                Sector::FoodProcessing,
            ])
        } else {
            sector
        };
        let list = occupations_of(tables, other_sector)?;
        let second = rng.weighted(list).as_str();
        if second != first {
            experience.push((
                second,
                rng.between(2, 12) as f64 / 2.0,
                if rng.chance(0.5) { "TH" } else { "KH" },
            ));
            second_sector = Some(other_sector);
        }
    }

    // Skills from those occupations: mostly essential ones, some optional.
    let mut essential = Vec::new();
    let mut optional = Vec::new();
    for (code, _, _) in &experience {
        let occupation = occupations.get(code)?;
        for skill in &occupation.essential_skills {
            if !essential.contains(skill) {
                essential.push(*skill);
            }
        }
        for skill in &occupation.optional_skills {
            if !optional.contains(skill) {
                optional.push(*skill);
            }
        }
    }
    optional.retain(|skill| !essential.contains(skill));
    let skill_count = rng.between(3, 8) as usize;
    let optional_count = (rng.between(0, 2) as usize).min(optional.len());
    let essential_count = (skill_count - optional_count).min(essential.len());
    let mut skills = rng.sample(&essential, essential_count);
    skills.extend(rng.sample(&optional, optional_count));
    let most_years = experience
        .iter()
        .map(|(_, years, _)| *years)
        .fold(0.0, f64::max);
    let skills: Vec<Value> = skills
        .iter()
        .map(|&skill| {
            let mut entry = Map::new();
            entry.insert("skill".into(), json!(reference.taxonomy.skill(skill).id));
            entry.insert(
                "level".into(),
                json!(*rng.weighted(&[(1u8, 12), (2, 38), (3, 35), (4, 15)])),
            );
            if rng.chance(0.7) {
                let years = rng.between(1, (most_years * 2.0) as u64) as f64 / 2.0;
                entry.insert("years".into(), json!(years));
            }
            if rng.chance(0.15) {
                entry.insert("certified".into(), json!(true));
            }
            Value::Object(entry)
        })
        .collect();

    let mut preferred_sectors = vec![sector];
    if let Some(other) = second_sector.filter(|other| *other != sector) {
        preferred_sectors.push(other);
    } else if rng.chance(0.3) {
        let other = *rng.pick(&[
            Sector::Garment,
            Sector::Construction,
            Sector::Production,
            Sector::FoodProcessing,
        ]);
        if other != sector {
            preferred_sectors.push(other);
        }
    }

    let wage_range: (u64, u64) = match sector {
        Sector::Garment => (200, 280),
        Sector::Construction => (250, 400),
        Sector::Production => (210, 300),
        Sector::FoodProcessing => (200, 260),
        Sector::Agriculture => (200, 250),
        _ => (200, 300),
    };

    let mut object = Map::new();
    object.insert("full_name".into(), json!(full_name));
    if let Some(sex) = sex_code {
        object.insert("sex".into(), json!(sex));
    }
    object.insert("date_of_birth".into(), json!(date_of_birth));
    if rng.chance(0.85) {
        object.insert("phone".into(), json!(phone(rng)));
    }
    object.insert("province_code".into(), json!(province));
    object.insert("district_code".into(), json!(district));
    object.insert("commune_code".into(), json!(commune));
    if rng.chance(0.95) {
        let mut returned = Map::new();
        returned.insert("country".into(), json!("TH"));
        if rng.chance(0.9) {
            let thai = tables
                .thai_provinces_of(sector)
                .or_else(|| {
                    tables
                        .thai_provinces
                        .first()
                        .map(|(_, list)| list.as_slice())
                })
                .ok_or_else(|| Error::Tables("thai_provinces.csv is empty".into()))?;
            returned.insert("province_code".into(), json!(rng.weighted(thai)));
        }
        // The mass return began when the border closed in late June 2025.
        let days = if rng.chance(0.6) {
            rng.between(0, 59) as i64
        } else {
            rng.between(60, 169) as i64
        };
        let returned_on = (RETURNS_BEGAN + Duration::days(days)).min(today);
        returned.insert("returned_on".into(), json!(returned_on));
        object.insert("returned_from".into(), Value::Object(returned));
    }
    let experience: Vec<Value> = experience
        .iter()
        .map(|(code, years, country)| -> Result<Value, Error> {
            Ok(json!({"occupation": occupations.get(code)?.id, "years": years, "country": country}))
        })
        .collect::<Result<_, Error>>()?;
    object.insert("experience".into(), Value::Array(experience));
    object.insert("skills".into(), Value::Array(skills));
    object.insert(
        "preferred_sectors".into(),
        json!(
            preferred_sectors
                .iter()
                .map(|sector| sector.code())
                .collect::<Vec<_>>()
        ),
    );
    if rng.chance(0.9) {
        object.insert(
            "max_travel_km".into(),
            json!((rng.between(2, 16) * 5) as f64),
        );
    }
    object.insert("willing_to_relocate".into(), json!(rng.chance(0.4)));
    if rng.chance(0.85) {
        object.insert(
            "expected_wage_usd".into(),
            json!((rng.between(wage_range.0 / 10, wage_range.1 / 10) * 10) as f64),
        );
    }
    if rng.chance(0.9) {
        object.insert(
            "available_from".into(),
            json!(today + Duration::days(rng.between(0, 60) as i64 - 30)),
        );
    }
    object.insert(
        "consent".into(),
        json!({"share_with_employers": rng.chance(0.6)}),
    );
    object.insert(
        "status".into(),
        json!(*rng.weighted(&[("seeking", 88), ("placed", 8), ("inactive", 4)])),
    );
    object.insert("external_id".into(), json!(external_id));
    Ok(Value::Object(object))
}

const RETURNS_BEGAN: NaiveDate = match NaiveDate::from_ymd_opt(2025, 6, 23) {
    Some(date) => date,
    None => panic!("valid constant date"),
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sex {
    Female,
    Male,
}

/// A family name and a given name.
pub(super) fn person_name(rng: &mut Rng, sex: Sex) -> (&'static Name, &'static Name) {
    let tables = Tables::embedded();
    // The first ten family names are the most common.
    let index = if rng.chance(0.5) {
        rng.below(10)
    } else {
        rng.below(tables.family_names.len())
    };
    let family = &tables.family_names[index];
    let given = match sex {
        Sex::Female => rng.pick(&tables.female_names),
        Sex::Male => rng.pick(&tables.male_names),
    };
    (family, given)
}

/// A Cambodian mobile number as people write it, mostly `012 345 678`.
pub fn phone(rng: &mut Rng) -> String {
    let mobile = rng.weighted(&Tables::embedded().mobile_prefixes);
    let prefix = &mobile.prefix;
    let subscriber: u64 = if mobile.subscriber_digits == 7 {
        rng.between(2_000_000, 9_999_999)
    } else {
        rng.between(200_000, 999_999)
    };
    let subscriber = subscriber.to_string();
    let (head, tail) = subscriber.split_at(3);
    match *rng.weighted(&[(0u8, 70), (1, 15), (2, 10), (3, 5)]) {
        0 => format!("{prefix} {head} {tail}"),
        1 => format!("{prefix}{subscriber}"),
        2 => format!("{prefix}-{head}-{tail}"),
        _ => format!("+855 {} {head} {tail}", &prefix[1..]),
    }
}

/// What returnees of `sector` did: (ESCO code, weight).
fn occupations_of(
    tables: &'static Tables,
    sector: Sector,
) -> Result<&'static [(String, u32)], Error> {
    tables.worker_occupations_of(sector).ok_or_else(|| {
        Error::Tables(format!(
            "worker_occupations.csv has no occupations for the sector {}",
            sector.code()
        ))
    })
}
