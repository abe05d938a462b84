//! The demo's employer documents.

use jobmatch_domain::Reference;
use serde_json::{Map, Value, json};

use super::workers::{Sex, person_name, phone};
use crate::Error;
use crate::rng::Rng;
use crate::tables::EmployerSpec;

/// Where an employer is: its vacancies are there unless it builds elsewhere.
pub(super) struct Place {
    pub(super) province: String,
    pub(super) district: String,
    pub(super) commune: Option<String>,
}

/// One employer document of `spec`, named `name`, in `district`.
pub(super) fn employer(
    rng: &mut Rng,
    reference: &Reference,
    name: &str,
    spec: &EmployerSpec,
    district: &str,
    external_id: String,
) -> Result<(Value, Place), Error> {
    let gazetteer = &reference.gazetteer;
    let district = gazetteer
        .district(district)
        .filter(|found| found.province_code == spec.province_code)
        .ok_or_else(|| {
            Error::Tables(format!(
                "demo employer {name}: district {district} is not in province {}",
                spec.province_code
            ))
        })?;
    let communes = gazetteer.communes_of(&district.code);
    let commune = if !communes.is_empty() && rng.chance(0.6) {
        Some(rng.pick(&communes).code.clone())
    } else {
        None
    };

    let mut object = Map::new();
    object.insert("name".into(), json!(name));
    object.insert("sector".into(), json!(spec.sector.code()));
    object.insert("province_code".into(), json!(spec.province_code));
    object.insert("district_code".into(), json!(district.code));
    if let Some(code) = &commune {
        object.insert("commune_code".into(), json!(code));
    }
    if rng.chance(0.9) {
        let sex = if rng.chance(0.6) {
            Sex::Female
        } else {
            Sex::Male
        };
        let (family, given) = person_name(rng, sex);
        let title = match sex {
            Sex::Female => "Ms",
            Sex::Male => "Mr",
        };
        let role = *rng.pick(&[
            "HR",
            "HR manager",
            "recruitment",
            "admin office",
            "site manager",
            "factory manager",
        ]);
        let contact = if rng.chance(0.3) {
            format!("{} {} ({role})", family.name_km, given.name_km)
        } else {
            format!(
                "{title} {} {} ({role})",
                family.name_latin, given.name_latin
            )
        };
        object.insert("contact_name".into(), json!(contact));
    }
    if rng.chance(0.92) {
        object.insert("contact_phone".into(), json!(phone(rng)));
    }
    object.insert("external_id".into(), json!(external_id));
    let place = Place {
        province: spec.province_code.clone(),
        district: district.code.clone(),
        commune,
    };
    Ok((Value::Object(object), place))
}
