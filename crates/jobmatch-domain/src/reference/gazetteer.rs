//! The gazetteers: Cambodian provinces, districts and communes (NCDD codes), Thai
//! provinces (DOPA codes), their coordinates and great-circle distances between them.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{LoadError, read_csv};

/// A Cambodian province, or the capital Phnom Penh.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Province {
    /// NCDD code, 2 digits (`01`–`25`); equal to the ISO 3166-2 number.
    pub code: String,
    /// Common English spelling.
    pub name_en: String,
    pub name_km: String,
    /// `province` or `capital`.
    pub kind: String,
    /// Degrees (WGS 84) of the provincial capital town centre, about ±2 km.
    pub lat: f64,
    pub lon: f64,
}

/// A Cambodian district (srok), municipality (krong) or section of Phnom Penh (khan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct District {
    /// NCDD code, 4 digits; starts with the province code.
    pub code: String,
    pub province_code: String,
    /// NCDD Latin spelling.
    pub name_en: String,
    pub name_km: String,
    /// `srok`, `krong` or `khan`.
    pub kind: String,
}

/// A Cambodian commune (khum) or quarter (sangkat).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commune {
    /// NCDD code, 6 digits; starts with the district code.
    pub code: String,
    pub district_code: String,
    pub province_code: String,
    /// NCDD Latin spelling.
    pub name_en: String,
    pub name_km: String,
    /// `khum` or `sangkat`.
    pub kind: String,
}

/// A Thai province (changwat), or Bangkok.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThaiProvince {
    /// DOPA code, 2 digits (`10`–`96`).
    pub code: String,
    pub name_en: String,
    pub name_th: String,
    /// Degrees (WGS 84): the mean of the province's sub-district points, a
    /// settlement-weighted centre rather than the area centroid.
    pub lat: f64,
    pub lon: f64,
    /// One of the seven provinces on the Cambodian border.
    pub borders_cambodia: bool,
}

/// The administrative divisions, indexed by code.
pub struct Gazetteer {
    /// Each list sorted by code.
    provinces: Vec<Province>,
    districts: Vec<District>,
    communes: Vec<Commune>,
    thai_provinces: Vec<ThaiProvince>,
    /// Code → index into the matching list.
    province_by_code: HashMap<String, usize>,
    district_by_code: HashMap<String, usize>,
    commune_by_code: HashMap<String, usize>,
    thai_province_by_code: HashMap<String, usize>,
    /// Parent code → indices of its children, in code order.
    districts_by_province: HashMap<String, Vec<usize>>,
    communes_by_district: HashMap<String, Vec<usize>>,
}

impl fmt::Debug for Gazetteer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gazetteer")
            .field("provinces", &self.provinces.len())
            .field("districts", &self.districts.len())
            .field("communes", &self.communes.len())
            .field("thai_provinces", &self.thai_provinces.len())
            .finish_non_exhaustive()
    }
}

impl Gazetteer {
    /// Sorted by code.
    pub fn provinces(&self) -> &[Province] {
        &self.provinces
    }

    pub fn province(&self, code: &str) -> Option<&Province> {
        self.province_by_code
            .get(code.trim())
            .map(|&i| &self.provinces[i])
    }

    pub fn district(&self, code: &str) -> Option<&District> {
        self.district_by_code
            .get(code.trim())
            .map(|&i| &self.districts[i])
    }

    pub fn commune(&self, code: &str) -> Option<&Commune> {
        self.commune_by_code
            .get(code.trim())
            .map(|&i| &self.communes[i])
    }

    /// Sorted by code; empty for an unknown province.
    pub fn districts_of(&self, province_code: &str) -> Vec<&District> {
        self.districts_by_province
            .get(province_code.trim())
            .map(|indices| indices.iter().map(|&i| &self.districts[i]).collect())
            .unwrap_or_default()
    }

    /// Sorted by code; empty for an unknown district.
    pub fn communes_of(&self, district_code: &str) -> Vec<&Commune> {
        self.communes_by_district
            .get(district_code.trim())
            .map(|indices| indices.iter().map(|&i| &self.communes[i]).collect())
            .unwrap_or_default()
    }

    /// Sorted by code.
    pub fn thai_provinces(&self) -> &[ThaiProvince] {
        &self.thai_provinces
    }

    pub fn thai_province(&self, code: &str) -> Option<&ThaiProvince> {
        self.thai_province_by_code
            .get(code.trim())
            .map(|&i| &self.thai_provinces[i])
    }

    /// Best-known coordinates `(lat, lon)` in degrees of a place. The data only has
    /// province coordinates (the capital town), so a district or commune resolves to
    /// its province's. `None` if any given code is unknown or the codes do not nest
    /// (a district outside the province, a commune outside the district), so that an
    /// inconsistent address is never silently placed.
    pub fn coordinates(
        &self,
        province_code: &str,
        district_code: Option<&str>,
        commune_code: Option<&str>,
    ) -> Option<(f64, f64)> {
        let province = self.province(province_code)?;
        let district = match district_code {
            Some(code) => Some(self.district(code)?),
            None => None,
        };
        if district.is_some_and(|d| d.province_code != province.code) {
            return None;
        }
        if let Some(code) = commune_code {
            let commune = self.commune(code)?;
            let nests = match district {
                Some(d) => commune.district_code == d.code,
                None => commune.province_code == province.code,
            };
            if !nests {
                return None;
            }
        }
        Some((province.lat, province.lon))
    }

    pub(super) fn load(
        provinces_csv: &str,
        districts_csv: &str,
        communes_csv: &str,
        thai_csv: &str,
    ) -> Result<Gazetteer, LoadError> {
        let mut provinces: Vec<Province> = read_csv::<ProvinceRow>(PROVINCES, provinces_csv)?
            .into_iter()
            .map(|r| Province {
                code: r.province_code,
                name_en: r.name_en,
                name_km: r.name_km,
                kind: r.kind,
                lat: r.lat,
                lon: r.lon,
            })
            .collect();
        provinces.sort_by(|a, b| a.code.cmp(&b.code));
        let province_by_code = index_by_code(PROVINCES, &provinces, |p| &p.code)?;

        let mut districts: Vec<District> = read_csv::<DistrictRow>(DISTRICTS, districts_csv)?
            .into_iter()
            .map(|r| District {
                code: r.district_code,
                province_code: r.province_code,
                name_en: r.name_latin,
                name_km: r.name_km,
                kind: r.kind,
            })
            .collect();
        districts.sort_by(|a, b| a.code.cmp(&b.code));
        let district_by_code = index_by_code(DISTRICTS, &districts, |d| &d.code)?;

        let mut communes: Vec<Commune> = read_csv::<CommuneRow>(COMMUNES, communes_csv)?
            .into_iter()
            .map(|r| Commune {
                code: r.commune_code,
                district_code: r.district_code,
                province_code: r.province_code,
                name_en: r.name_latin,
                name_km: r.name_km,
                kind: r.kind,
            })
            .collect();
        communes.sort_by(|a, b| a.code.cmp(&b.code));
        let commune_by_code = index_by_code(COMMUNES, &communes, |c| &c.code)?;

        let mut thai_provinces: Vec<ThaiProvince> = read_csv::<ThaiRow>(THAI_PROVINCES, thai_csv)?
            .into_iter()
            .map(|r| ThaiProvince {
                code: r.province_code,
                name_en: r.name_en,
                name_th: r.name_th,
                lat: r.lat,
                lon: r.lon,
                borders_cambodia: r.borders_cambodia == "yes",
            })
            .collect();
        thai_provinces.sort_by(|a, b| a.code.cmp(&b.code));
        let thai_province_by_code = index_by_code(THAI_PROVINCES, &thai_provinces, |p| &p.code)?;

        let mut districts_by_province: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, district) in districts.iter().enumerate() {
            if !province_by_code.contains_key(&district.province_code)
                || !district.code.starts_with(&district.province_code)
            {
                return Err(LoadError::invalid(
                    DISTRICTS,
                    format!("{} is not in a known province", district.code),
                ));
            }
            districts_by_province
                .entry(district.province_code.clone())
                .or_default()
                .push(i);
        }
        let mut communes_by_district: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, commune) in communes.iter().enumerate() {
            let nests = district_by_code
                .get(&commune.district_code)
                .is_some_and(|&d| districts[d].province_code == commune.province_code)
                && commune.code.starts_with(&commune.district_code);
            if !nests {
                return Err(LoadError::invalid(
                    COMMUNES,
                    format!("{} is not in a known district", commune.code),
                ));
            }
            communes_by_district
                .entry(commune.district_code.clone())
                .or_default()
                .push(i);
        }

        Ok(Gazetteer {
            provinces,
            districts,
            communes,
            thai_provinces,
            province_by_code,
            district_by_code,
            commune_by_code,
            thai_province_by_code,
            districts_by_province,
            communes_by_district,
        })
    }
}

/// Mean Earth radius (IUGG), kilometres.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Great-circle distance in kilometres between two `(lat, lon)` points in degrees
/// (haversine, mean Earth radius 6371.0088 km).
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lon1) = (a.0.to_radians(), a.1.to_radians());
    let (lat2, lon2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((lat2 - lat1) / 2.0).sin().powi(2)
        + lat1.cos() * lat2.cos() * ((lon2 - lon1) / 2.0).sin().powi(2);
    // `min` guards against rounding pushing `h` just above 1 for antipodal points.
    2.0 * EARTH_RADIUS_KM * h.sqrt().min(1.0).asin()
}

const PROVINCES: &str = "kh_provinces.csv";
const DISTRICTS: &str = "kh_districts.csv";
const COMMUNES: &str = "kh_communes.csv";
const THAI_PROVINCES: &str = "th_provinces.csv";

/// Code → position, rejecting duplicate codes.
fn index_by_code<T>(
    file: &'static str,
    items: &[T],
    code: impl Fn(&T) -> &String,
) -> Result<HashMap<String, usize>, LoadError> {
    let mut map = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if map.insert(code(item).clone(), i).is_some() {
            return Err(LoadError::invalid(
                file,
                format!("duplicate code {}", code(item)),
            ));
        }
    }
    Ok(map)
}

#[derive(Deserialize)]
struct ProvinceRow {
    province_code: String,
    #[serde(rename = "type")]
    kind: String,
    name_km: String,
    name_en: String,
    lat: f64,
    lon: f64,
}

#[derive(Deserialize)]
struct DistrictRow {
    district_code: String,
    province_code: String,
    #[serde(rename = "type")]
    kind: String,
    name_km: String,
    name_latin: String,
}

#[derive(Deserialize)]
struct CommuneRow {
    commune_code: String,
    district_code: String,
    province_code: String,
    #[serde(rename = "type")]
    kind: String,
    name_km: String,
    name_latin: String,
}

#[derive(Deserialize)]
struct ThaiRow {
    province_code: String,
    name_th: String,
    name_en: String,
    borders_cambodia: String,
    lat: f64,
    lon: f64,
}

#[cfg(test)]
mod tests {
    use super::super::Reference;
    use super::*;

    fn gazetteer() -> &'static Gazetteer {
        &Reference::embedded().gazetteer
    }

    #[test]
    fn counts_match_the_data_readme() {
        let g = gazetteer();
        assert_eq!(g.provinces().len(), 25);
        assert_eq!(g.districts.len(), 210);
        assert_eq!(g.communes.len(), 1_652);
        assert_eq!(g.thai_provinces().len(), 77);
        let kinds = |kind: &str| g.districts.iter().filter(|d| d.kind == kind).count();
        assert_eq!(
            (kinds("srok"), kinds("krong"), kinds("khan")),
            (163, 33, 14)
        );
        let sangkats = g.communes.iter().filter(|c| c.kind == "sangkat").count();
        assert_eq!(sangkats, 269);
    }

    #[test]
    fn provinces_are_sorted_by_code_and_phnom_penh_is_the_capital() {
        let g = gazetteer();
        assert!(g.provinces().windows(2).all(|w| w[0].code < w[1].code));
        assert_eq!(g.provinces()[0].code, "01");
        let capitals: Vec<&str> = g
            .provinces()
            .iter()
            .filter(|p| p.kind == "capital")
            .map(|p| p.name_en.as_str())
            .collect();
        assert_eq!(capitals, ["Phnom Penh"]);
    }

    #[test]
    fn district_codes_belong_to_their_province() {
        let g = gazetteer();
        let mut total = 0;
        for province in g.provinces() {
            let districts = g.districts_of(&province.code);
            assert!(
                !districts.is_empty(),
                "{} has no districts",
                province.name_en
            );
            assert!(districts.windows(2).all(|w| w[0].code < w[1].code));
            for district in &districts {
                assert_eq!(district.province_code, province.code);
                assert_eq!(&district.code[..2], province.code);
            }
            total += districts.len();
        }
        assert_eq!(total, 210);
    }

    #[test]
    fn commune_codes_belong_to_their_district() {
        let g = gazetteer();
        let mut total = 0;
        for district in &g.districts {
            let communes = g.communes_of(&district.code);
            assert!(communes.windows(2).all(|w| w[0].code < w[1].code));
            for commune in &communes {
                assert_eq!(commune.district_code, district.code);
                assert_eq!(commune.province_code, district.province_code);
                assert_eq!(&commune.code[..4], district.code);
            }
            total += communes.len();
        }
        assert_eq!(total, 1_652);
    }

    #[test]
    fn every_name_has_a_khmer_spelling() {
        let g = gazetteer();
        let khmer = |s: &str| s.chars().any(|c| ('\u{1780}'..='\u{17FF}').contains(&c));
        assert!(g.provinces().iter().all(|p| khmer(&p.name_km)));
        assert!(g.districts.iter().all(|d| khmer(&d.name_km)));
        assert!(g.communes.iter().all(|c| khmer(&c.name_km)));
    }

    #[test]
    fn unknown_codes_resolve_to_none_and_empty_lists() {
        let g = gazetteer();
        assert!(g.province("26").is_none());
        assert!(g.district("9999").is_none());
        assert!(g.commune("999999").is_none());
        assert!(g.districts_of("99").is_empty());
        assert!(g.communes_of("9999").is_empty());
    }

    #[test]
    fn districts_and_communes_are_placed_at_their_province() {
        let g = gazetteer();
        let siem_reap = g.province("17").expect("Siem Reap");
        let district = g.districts_of("17")[0];
        let commune = g.communes_of(&district.code)[0];
        let expected = Some((siem_reap.lat, siem_reap.lon));
        assert_eq!(g.coordinates("17", None, None), expected);
        assert_eq!(g.coordinates("17", Some(&district.code), None), expected);
        assert_eq!(
            g.coordinates("17", Some(&district.code), Some(&commune.code)),
            expected
        );
        assert_eq!(g.coordinates("17", None, Some(&commune.code)), expected);
    }

    #[test]
    fn inconsistent_or_unknown_codes_have_no_coordinates() {
        let g = gazetteer();
        let district = g.districts_of("17")[0];
        let other_district = g.districts_of("12")[0];
        let other_commune = g.communes_of(&other_district.code)[0];
        assert_eq!(g.coordinates("99", None, None), None);
        assert_eq!(g.coordinates("12", Some(&district.code), None), None);
        assert_eq!(
            g.coordinates("17", Some(&district.code), Some(&other_commune.code)),
            None
        );
        assert_eq!(g.coordinates("17", None, Some(&other_commune.code)), None);
        assert_eq!(g.coordinates("17", Some("9999"), None), None);
    }

    #[test]
    fn seven_thai_provinces_border_cambodia() {
        let g = gazetteer();
        let mut border: Vec<&str> = g
            .thai_provinces()
            .iter()
            .filter(|p| p.borders_cambodia)
            .map(|p| p.name_en.as_str())
            .collect();
        border.sort_unstable();
        assert_eq!(
            border,
            [
                "Buri Ram",
                "Chanthaburi",
                "Sa Kaeo",
                "Si Sa Ket",
                "Surin",
                "Trat",
                "Ubon Ratchathani"
            ]
        );
        assert_eq!(
            g.thai_province("10").map(|p| p.name_en.as_str()),
            Some("Bangkok")
        );
    }

    #[test]
    fn haversine_phnom_penh_to_siem_reap_is_about_230_km() {
        let g = gazetteer();
        let phnom_penh = g.coordinates("12", None, None).unwrap();
        let siem_reap = g.coordinates("17", None, None).unwrap();
        let km = haversine_km(phnom_penh, siem_reap);
        assert!((220.0..240.0).contains(&km), "{km} km");
        assert_eq!(haversine_km(siem_reap, phnom_penh), km);
    }

    #[test]
    fn haversine_of_a_point_to_itself_is_zero_and_a_quarter_meridian_is_known() {
        assert_eq!(haversine_km((11.5, 104.9), (11.5, 104.9)), 0.0);
        let quarter = haversine_km((0.0, 0.0), (90.0, 0.0));
        assert!((quarter - EARTH_RADIUS_KM * std::f64::consts::FRAC_PI_2).abs() < 1e-9);
    }

    #[test]
    fn bangkok_to_phnom_penh_is_about_530_km() {
        let g = gazetteer();
        let bangkok = g.thai_province("10").unwrap();
        let phnom_penh = g.province("12").unwrap();
        let km = haversine_km((bangkok.lat, bangkok.lon), (phnom_penh.lat, phnom_penh.lon));
        assert!((500.0..560.0).contains(&km), "{km} km");
    }
}
