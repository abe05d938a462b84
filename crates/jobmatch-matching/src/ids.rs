//! Record ids kept small: the server's ids are lowercase UUIDs, which pack into 16
//! bytes; any other id (a partner's, a test's) is kept as text. The packed form sorts
//! exactly like the text, so ties can be broken by id without formatting.

use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum CompactId {
    /// A freed slot.
    Vacant,
    /// A canonical lowercase hyphenated UUID.
    Uuid([u8; 16]),
    Text(Box<str>),
}

const HYPHENS: [usize; 4] = [8, 13, 18, 23];

fn hex_value(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        _ => None,
    }
}

/// The 16 bytes of `text` if it is a canonical lowercase hyphenated UUID.
fn parse_uuid(text: &str) -> Option<[u8; 16]> {
    let bytes = text.as_bytes();
    if bytes.len() != 36 || HYPHENS.iter().any(|&i| bytes[i] != b'-') {
        return None;
    }
    let mut out = [0u8; 16];
    let mut nibbles = bytes
        .iter()
        .enumerate()
        .filter(|(i, _)| !HYPHENS.contains(i))
        .map(|(_, b)| hex_value(*b));
    for byte in &mut out {
        let high = nibbles.next()??;
        let low = nibbles.next()??;
        *byte = (high << 4) | low;
    }
    Some(out)
}

fn format_uuid(bytes: &[u8; 16]) -> [u8; 36] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'-'; 36];
    let mut position = 0;
    for byte in bytes {
        while HYPHENS.contains(&position) {
            position += 1;
        }
        out[position] = DIGITS[usize::from(byte >> 4)];
        out[position + 1] = DIGITS[usize::from(byte & 0xf)];
        position += 2;
    }
    out
}

impl CompactId {
    pub(crate) fn new(text: &str) -> CompactId {
        match parse_uuid(text) {
            Some(bytes) => CompactId::Uuid(bytes),
            None => CompactId::Text(text.into()),
        }
    }

    /// Calls `f` with the id as text, without allocating.
    pub(crate) fn with_str<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        match self {
            CompactId::Vacant => f(""),
            CompactId::Uuid(bytes) => {
                let text = format_uuid(bytes);
                f(std::str::from_utf8(&text).unwrap_or_default())
            }
            CompactId::Text(text) => f(text),
        }
    }

    /// The order of the ids as text.
    pub(crate) fn cmp_text(&self, other: &CompactId) -> Ordering {
        match (self, other) {
            (CompactId::Uuid(a), CompactId::Uuid(b)) => a.cmp(b),
            _ => self.with_str(|a| other.with_str(|b| a.cmp(b))),
        }
    }

    /// Heap bytes owned beyond the enum itself.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            CompactId::Text(text) => text.len(),
            _ => 0,
        }
    }
}

impl fmt::Display for CompactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.with_str(|text| f.write_str(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_pack_and_sort_like_their_text() {
        let a = "0a1b2c3d-0000-4000-8000-00000000000f";
        let b = "0a1b2c3d-0000-4000-8000-0000000000a0";
        let (packed_a, packed_b) = (CompactId::new(a), CompactId::new(b));
        assert!(matches!(packed_a, CompactId::Uuid(_)));
        assert_eq!(packed_a.to_string(), a);
        assert_eq!(packed_a.cmp_text(&packed_b), a.cmp(b));
        let text = CompactId::new("w-1");
        assert_eq!(text.cmp_text(&packed_a), "w-1".cmp(a));
        assert!(matches!(
            CompactId::new("0A1B2C3D-0000-4000-8000-00000000000F"),
            CompactId::Text(_)
        ));
    }
}
