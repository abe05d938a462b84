//! What a search waits for: the change-feed position of each API key's last
//! write through this server.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::HttpRequest;
use actix_web::http::header;
use sha2::{Digest, Sha256};

/// The change-feed position of the last write each API key made through this
/// server, so that a search waits for the index to reflect the searching key's
/// own writes and for nothing else (a bulk import, another client's writes).
///
/// Keys are told apart by a digest of the bearer token; only writes that were
/// authorized and committed are noted, so the map holds at most one entry per
/// valid key that wrote.
#[derive(Default)]
pub struct OwnWrites {
    positions: Mutex<HashMap<[u8; 32], i64>>,
}

/// Most keys remembered; beyond, the map starts over (those keys' next search
/// then does not wait for their last write).
const OWN_WRITES_CAPACITY: usize = 10_000;

impl OwnWrites {
    /// Notes that the key of `request` wrote, committing at or before `seq`.
    pub fn note(&self, request: &HttpRequest, seq: i64) {
        let Some(client) = client_of(request) else {
            return;
        };
        let mut positions = self
            .positions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if positions.len() >= OWN_WRITES_CAPACITY && !positions.contains_key(&client) {
            positions.clear();
        }
        let position = positions.entry(client).or_insert(seq);
        *position = (*position).max(seq);
    }

    /// Where the last write of the key of `request` stands in the feed, if it wrote
    /// through this server.
    pub fn last(&self, request: &HttpRequest) -> Option<i64> {
        let client = client_of(request)?;
        self.positions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&client)
            .copied()
    }
}

/// A digest of the request's bearer token (never kept in the clear).
fn client_of(request: &HttpRequest) -> Option<[u8; 32]> {
    let value = request.headers().get(header::AUTHORIZATION)?.as_bytes();
    let token = match value.iter().position(|byte| *byte == b' ') {
        Some(space) => &value[space + 1..],
        None => value,
    };
    Some(Sha256::digest(token.trim_ascii()).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn with_key(key: &str) -> HttpRequest {
        TestRequest::default()
            .insert_header((header::AUTHORIZATION, format!("Bearer {key}")))
            .to_http_request()
    }

    #[test]
    fn a_key_waits_only_for_its_own_last_write() {
        let own_writes = OwnWrites::default();
        own_writes.note(&with_key("jm_writer"), 40);
        own_writes.note(&with_key("jm_writer"), 7);
        assert_eq!(own_writes.last(&with_key("jm_writer")), Some(40));
        assert_eq!(own_writes.last(&with_key("jm_reader")), None);
        assert_eq!(
            own_writes.last(&TestRequest::default().to_http_request()),
            None
        );
    }
}
