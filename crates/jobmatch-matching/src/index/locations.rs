//! Distinct coordinates of homes and workplaces, interned as `u16` location ids so
//! that a query computes each distance once.

use std::collections::HashMap;

use jobmatch_domain::reference::haversine_km;

/// Location id of a place with no coordinates.
pub(super) const NO_LOCATION: u16 = u16::MAX;

/// Distinct coordinates, interned so that a query computes each distance once.
#[derive(Default)]
pub(super) struct Locations {
    pub(super) points: Vec<(f64, f64)>,
    pub(super) ids: HashMap<(u64, u64), u16>,
}

impl Locations {
    pub(super) fn intern(&mut self, point: Option<(f64, f64)>) -> u16 {
        let Some((lat, lon)) = point else {
            return NO_LOCATION;
        };
        let key = (lat.to_bits(), lon.to_bits());
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        if self.points.len() >= usize::from(NO_LOCATION) {
            return NO_LOCATION;
        }
        let id = self.points.len() as u16;
        self.points.push((lat, lon));
        self.ids.insert(key, id);
        id
    }

    /// Kilometres between `origin` and every interned location, always computed as
    /// `haversine_km(worker, workplace)` so that every path gets the same bits.
    pub(super) fn distances_from(
        &self,
        origin: Option<(f64, f64)>,
        origin_is_worker: bool,
    ) -> Vec<Option<f64>> {
        self.points
            .iter()
            .map(|point| {
                let origin = origin?;
                Some(if origin_is_worker {
                    haversine_km(origin, *point)
                } else {
                    haversine_km(*point, origin)
                })
            })
            .collect()
    }
}

pub(super) fn distance(distances: &[Option<f64>], location: u16) -> Option<f64> {
    distances.get(usize::from(location)).copied().flatten()
}

pub(super) fn pair_distance(
    worker: Option<(f64, f64)>,
    workplace: Option<(f64, f64)>,
) -> Option<f64> {
    Some(haversine_km(worker?, workplace?))
}
