//! Places below a province, drawn the same way by the evaluation and benches
//! profiles.

use jobmatch_domain::Reference;

use crate::rng::Rng;

/// With probability `district_share`, a district of `province` and, half of those
/// times, a commune of that district; otherwise neither (the province alone).
pub(crate) fn district_and_commune(
    reference: &Reference,
    rng: &mut Rng,
    province: &str,
    district_share: f64,
) -> (Option<String>, Option<String>) {
    let gazetteer = &reference.gazetteer;
    if !rng.chance(district_share) {
        return (None, None);
    }
    let districts = gazetteer.districts_of(province);
    if districts.is_empty() {
        return (None, None);
    }
    let district = districts[rng.below(districts.len())];
    let communes = gazetteer.communes_of(&district.code);
    let commune = (!communes.is_empty() && rng.chance(0.5))
        .then(|| communes[rng.below(communes.len())].code.clone());
    (Some(district.code.clone()), commune)
}
