//! Numbers in output are rounded to 3 decimals when serialised, never before: ranking
//! and the arithmetic between components stay at full precision, and a partner system
//! reading `0.812` is not misled by `0.8123456789` noise.

use serde::Serializer;

/// Decimals kept in output.
const DECIMALS: i32 = 3;

fn rounded(value: f64) -> f64 {
    let scale = 10f64.powi(DECIMALS);
    (value * scale).round() / scale
}

pub(crate) fn round3<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_f64(rounded(*value))
}

pub(crate) fn round3_option<S: Serializer>(
    value: &Option<f64>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value {
        Some(value) => serializer.serialize_some(&rounded(*value)),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_half_away_from_zero_to_three_decimals() {
        assert_eq!(rounded(0.123_456), 0.123);
        assert_eq!(rounded(0.999_6), 1.0);
        assert_eq!(rounded(0.0), 0.0);
        assert_eq!(rounded(2.0 / 3.0), 0.667);
    }
}
