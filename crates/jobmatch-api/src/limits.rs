//! Limits that keep one client from starving the others: a request rate per
//! API key, a rate of unknown keys per client address, and a time limit per
//! request.
//!
//! The rate is counted per key with the GCRA of the `governor` crate: a key
//! may send `burst` requests at once, then one every `60 / per_minute`
//! seconds. Refusals are 429 problem+json with `Retry-After` in whole
//! seconds, rounded up so that a client that obeys it is admitted.
//!
//! Before a key is authenticated there is no key to count by, and each key
//! the server has not read before costs a database lookup. So such lookups
//! are counted per client address (the TCP peer; an IPv6 client by its /64
//! network, which one host commonly holds whole) by a second keyed `governor`
//! limiter. A lookup is counted before it runs, so concurrent requests cannot
//! all slip in before the first failure is counted. A key the server has read
//! before is looked up without counting, so a valid key costs its address one
//! lookup of the allowance, once: what an address spends is unknown keys.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// How much each client may ask of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Sustained requests per minute per API key.
    pub requests_per_minute: NonZeroU32,
    /// Requests a key may send at once before the sustained rate applies.
    pub burst: NonZeroU32,
    /// Longest a request may run before it is abandoned with 503.
    pub request_timeout: Duration,
    /// Sustained unknown keys per minute per client address.
    pub unknown_keys_per_minute: NonZeroU32,
    /// Unknown keys a client address may send at once.
    pub unknown_keys_burst: NonZeroU32,
}

impl Default for Limits {
    /// 3,000 requests a minute (50 a second) with bursts of 300: far above
    /// what a counter or an employer's system sends, low enough that one
    /// runaway script cannot starve a national deployment.
    fn default() -> Limits {
        Limits {
            requests_per_minute: NonZeroU32::new(3_000).expect("non-zero"),
            burst: NonZeroU32::new(300).expect("non-zero"),
            request_timeout: Duration::from_secs(30),
            // One a second, 30 at once: room for a client with a mistyped
            // key, none for guessing (a key has 256 random bits anyway): what
            // is limited is the database work, a lookup per unknown key.
            unknown_keys_per_minute: NonZeroU32::new(60).expect("non-zero"),
            unknown_keys_burst: NonZeroU32::new(30).expect("non-zero"),
        }
    }
}

/// Most `POST /v1/workers/batch` requests one key may have in flight, from
/// the first byte of the body to the answer. A partner's system sends its
/// batches one after the other; two lets the next upload start while one is
/// stored, and caps what one key holds at two 16 MiB bodies and the CPU of two
/// batches (of this machine's cores, the others keep at least as many).
pub const CONCURRENT_BATCHES_PER_KEY: usize = 2;

/// What a client refused for [`CONCURRENT_BATCHES_PER_KEY`] is told to wait,
/// in seconds: about what storing a batch of a thousand profiles takes.
pub const BATCH_RETRY_AFTER_SECS: u64 = 1;

/// Per-key request counting, and unknown keys per client address.
pub struct RateLimits {
    limiter: DefaultKeyedRateLimiter<String>,
    clock: DefaultClock,
    limits: Limits,
    /// Lookups of keys the server has not read before, per client network.
    unknown_keys: DefaultKeyedRateLimiter<IpAddr>,
    /// Batches in flight per key; a key with none has no entry.
    batches: Arc<Mutex<HashMap<String, usize>>>,
}

/// A key's claim on one of its [`CONCURRENT_BATCHES_PER_KEY`]; given back when
/// dropped, however the request ends.
pub struct BatchSlot {
    key_id: String,
    batches: Arc<Mutex<HashMap<String, usize>>>,
}

impl Drop for BatchSlot {
    fn drop(&mut self) {
        let mut batches = self
            .batches
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = batches.get_mut(&self.key_id) {
            *count -= 1;
            if *count == 0 {
                batches.remove(&self.key_id);
            }
        }
    }
}

impl RateLimits {
    pub fn new(limits: &Limits) -> RateLimits {
        let quota = Quota::per_minute(limits.requests_per_minute).allow_burst(limits.burst);
        RateLimits {
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
            limits: *limits,
            unknown_keys: RateLimiter::keyed(
                Quota::per_minute(limits.unknown_keys_per_minute)
                    .allow_burst(limits.unknown_keys_burst),
            ),
            batches: Arc::default(),
        }
    }

    /// Claims a batch slot for `key_id`, or refuses with 429 when the key
    /// already has [`CONCURRENT_BATCHES_PER_KEY`] batches in flight.
    pub fn claim_batch(&self, key_id: &str) -> Result<BatchSlot, ApiError> {
        let mut batches = self
            .batches
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = batches.entry(key_id.to_string()).or_insert(0);
        if *count >= CONCURRENT_BATCHES_PER_KEY {
            return Err(ApiError::TooManyBatches {
                limit: CONCURRENT_BATCHES_PER_KEY,
                retry_after_secs: BATCH_RETRY_AFTER_SECS,
            });
        }
        *count += 1;
        Ok(BatchSlot {
            key_id: key_id.to_string(),
            batches: self.batches.clone(),
        })
    }

    /// The limits this was made with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Counts one request for `key_id`; refuses it when the key is over its
    /// rate.
    pub fn check(&self, key_id: &str) -> Result<(), ApiError> {
        // `check_key` takes `&String`; keys are looked up once per request.
        let key = key_id.to_string();
        match self.limiter.check_key(&key) {
            Ok(()) => Ok(()),
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.clock.now());
                Err(ApiError::TooManyRequests {
                    retry_after_secs: whole_seconds_up(wait),
                })
            }
        }
    }

    /// Before a key the server has not read before is looked up: counts the
    /// lookup for `client`, or refuses it when `client` is over its allowance.
    pub fn admit_lookup(&self, client: IpAddr) -> Result<(), ApiError> {
        self.unknown_keys
            .check_key(&client_network(client))
            .map_err(|not_until| ApiError::TooManyUnknownKeys {
                retry_after_secs: whole_seconds_up(not_until.wait_time_from(self.clock.now())),
            })
    }

    /// Forgets keys and addresses whose allowance is full again, so that the
    /// tables do not grow with every key and address ever seen.
    pub fn forget_idle_keys(&self) {
        self.limiter.retain_recent();
        self.unknown_keys.retain_recent();
    }
}

/// Whole seconds, rounded up: a client that waits that long is admitted.
fn whole_seconds_up(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// The address unknown keys are counted by: an IPv4 address (also when
/// written as IPv6), or the /64 network of an IPv6 address.
fn client_network(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !u128::from(u64::MAX);
            IpAddr::V6(Ipv6Addr::from(network))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_minute: u32, burst: u32) -> Limits {
        Limits {
            requests_per_minute: NonZeroU32::new(per_minute).expect("non-zero"),
            burst: NonZeroU32::new(burst).expect("non-zero"),
            ..Limits::default()
        }
    }

    #[test]
    fn a_key_gets_its_burst_then_is_refused_with_a_retry_after_that_admits_it() {
        let rate = RateLimits::new(&limits(60, 3));
        for _ in 0..3 {
            rate.check("key-a").expect("within the burst");
        }
        match rate.check("key-a") {
            Err(ApiError::TooManyRequests { retry_after_secs }) => {
                // One request a second: the next is admitted within a second.
                assert_eq!(retry_after_secs, 1);
            }
            other => panic!("expected 429, got {other:?}"),
        }
    }

    #[test]
    fn an_address_gets_its_burst_of_unknown_keys_then_one_per_interval() {
        let rate = RateLimits::new(&Limits {
            unknown_keys_per_minute: NonZeroU32::new(60).expect("non-zero"),
            unknown_keys_burst: NonZeroU32::new(2).expect("non-zero"),
            ..Limits::default()
        });
        let client: IpAddr = "2001:db8::1".parse().expect("address");
        let same_host: IpAddr = "2001:db8::2".parse().expect("address");
        let other: IpAddr = "192.0.2.7".parse().expect("address");
        for _ in 0..2 {
            rate.admit_lookup(client).expect("within the burst");
        }
        match rate.admit_lookup(same_host) {
            Err(ApiError::TooManyUnknownKeys { retry_after_secs }) => {
                assert_eq!(retry_after_secs, 1)
            }
            other => panic!("expected 429 for the same /64, got {other:?}"),
        }
        rate.admit_lookup(other).expect("other addresses carry on");
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().expect("address");
        rate.admit_lookup(mapped)
            .expect("the second lookup of 192.0.2.7");
        assert!(
            rate.admit_lookup(other).is_err(),
            "an IPv4 address written as IPv6 is the same client"
        );
    }

    #[test]
    fn a_key_may_have_two_batches_in_flight_and_gets_its_slot_back() {
        let rate = RateLimits::new(&Limits::default());
        let first = rate.claim_batch("key-a").expect("first batch");
        let _second = rate.claim_batch("key-a").expect("second batch");
        match rate.claim_batch("key-a") {
            Err(ApiError::TooManyBatches {
                retry_after_secs, ..
            }) => assert_eq!(retry_after_secs, BATCH_RETRY_AFTER_SECS),
            other => panic!("expected 429, got {:?}", other.err()),
        }
        let _other_key = rate.claim_batch("key-b").expect("b has its own slots");
        drop(first);
        let _third = rate.claim_batch("key-a").expect("a slot was given back");
    }

    #[test]
    fn keys_are_counted_separately() {
        let rate = RateLimits::new(&limits(60, 1));
        rate.check("key-a").expect("first of a");
        assert!(rate.check("key-a").is_err());
        rate.check("key-b").expect("b has its own allowance");
    }
}
