//! Writing matching answers: their numbers are rounded to thousandths
//! (`jobmatch_matching` rounds scores, contributions and distances to 3 decimals
//! when serialising), hundreds of them per list. A number that is exactly some
//! `k / 1000` is written from the integer `k`, which is several times cheaper than
//! finding the shortest decimal of an arbitrary double; any other number is
//! written as `serde_json` writes it. The text is the same either way (a property
//! test compares the two).

use std::io;

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter};

/// Below this magnitude a double is less than a thousandth from its neighbours,
/// so `k / 1000` with trailing zeros trimmed is its shortest decimal.
const PLAIN_LIMIT: f64 = 1e9;

#[derive(Clone, Copy, Default)]
struct ThousandthsFormatter;

impl Formatter for ThousandthsFormatter {
    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        let thousandths = (value * 1000.0).round();
        if !(value.abs() < PLAIN_LIMIT && thousandths / 1000.0 == value) {
            return CompactFormatter.write_f64(writer, value);
        }
        let thousandths = thousandths.abs() as u64;
        if value.is_sign_negative() {
            writer.write_all(b"-")?;
        }
        let mut digits = itoa::Buffer::new();
        writer.write_all(digits.format(thousandths / 1000).as_bytes())?;
        let fraction = thousandths % 1000;
        let fraction_digits = [
            b'0' + (fraction / 100) as u8,
            b'0' + (fraction / 10 % 10) as u8,
            b'0' + (fraction % 10) as u8,
        ];
        let kept = match fraction {
            0 => 1, // "1.0", as serde_json writes a whole double
            _ if fraction.is_multiple_of(100) => 1,
            _ if fraction.is_multiple_of(10) => 2,
            _ => 3,
        };
        writer.write_all(b".")?;
        writer.write_all(&fraction_digits[..kept])
    }
}

/// `value` as compact JSON, with room for about `capacity` bytes from the start.
pub fn to_json(value: &impl Serialize, capacity: usize) -> serde_json::Result<Vec<u8>> {
    let mut body = Vec::with_capacity(capacity);
    let mut serializer = serde_json::Serializer::with_formatter(&mut body, ThousandthsFormatter);
    value.serialize(&mut serializer)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn both(value: f64) -> (String, String) {
        let ours = String::from_utf8(to_json(&value, 0).unwrap()).unwrap();
        (ours, serde_json::to_string(&value).unwrap())
    }

    #[test]
    fn edge_values_are_written_as_serde_json_writes_them() {
        for value in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.001,
            -0.001,
            0.5,
            0.05,
            0.625,
            40.898,
            213.0,
            1e9,
            999_999_999.999,
            0.1 + 0.2,
            1e-7,
            1e300,
            f64::MAX,
            f64::MIN_POSITIVE,
            f64::NAN,
            f64::INFINITY,
        ] {
            let (ours, theirs) = both(value);
            assert_eq!(ours, theirs, "{value:e}");
        }
    }

    proptest! {
        #[test]
        fn thousandths_are_written_as_serde_json_writes_them(k in -2_000_000_000_000i64..2_000_000_000_000) {
            let value = k as f64 / 1000.0;
            let (ours, theirs) = both(value);
            prop_assert_eq!(ours, theirs);
        }

        #[test]
        fn any_double_is_written_as_serde_json_writes_it(bits in any::<u64>()) {
            let (ours, theirs) = both(f64::from_bits(bits));
            prop_assert_eq!(ours, theirs);
        }

        #[test]
        fn scores_are_written_as_serde_json_writes_them(x in 0.0f64..1.0) {
            let rounded = (x * 1000.0).round() / 1000.0;
            let (ours, theirs) = both(rounded);
            prop_assert_eq!(ours, theirs);
        }
    }
}
