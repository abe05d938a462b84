//! API keys and the principal behind each request.
//!
//! A key is 256 random bits, shown to its owner once. The server keeps only the
//! SHA-256 of it: keys carry full entropy, so a fast hash is enough, and a stolen
//! database yields no usable key. Lookup is by hash, so no secret is ever compared
//! byte by byte in variable time.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, http::header, web};
use chrono::{DateTime, Utc};
use jobmatch_store::{ApiKey, Store};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::limits::RateLimits;

/// Prefix of every key, so a leaked key is recognisable in a secret scanner.
pub const KEY_PREFIX: &str = "jm_";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages keys; may do everything.
    Admin,
    /// Resource-centre counsellors: register and read returnee profiles.
    Staff,
    /// An employer's own system: its employer record and vacancies.
    Employer,
    /// Integrating systems: vacancies and reference data, never worker profiles.
    Partner,
}

impl Role {
    pub fn code(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Employer => "employer",
            Role::Partner => "partner",
        }
    }

    pub fn from_code(code: &str) -> Option<Role> {
        [Role::Admin, Role::Staff, Role::Employer, Role::Partner]
            .into_iter()
            .find(|role| role.code() == code)
    }
}

/// Who is asking: the authenticated key.
#[derive(Debug, Clone)]
pub struct Principal {
    pub key_id: String,
    pub role: Role,
    /// Set for employer keys: the one employer they act for.
    pub employer_id: Option<String>,
    /// The identity the key acts under ([`ApiKey::source`]): the same for
    /// every key of a partner, across rotations.
    pub source: String,
    /// For partner keys: the employers whose records they may read (those they
    /// registered and those linked to them), as read with the key (at most
    /// [`KEY_CACHE_TTL`] ago).
    pub linked_employers: Vec<String>,
}

impl Principal {
    /// The source that scopes `external_id`, erasure tombstones, the records
    /// a key sent and a partner's links: the key's identity, which a rotated
    /// key keeps.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// A freshly made key: the secret (to show once) and what is stored.
pub struct NewKey {
    pub secret: String,
    pub record: ApiKey,
}

pub fn generate_key(
    role: Role,
    employer_id: Option<String>,
    name: String,
    expires_at: Option<DateTime<Utc>>,
) -> NewKey {
    let id = uuid::Uuid::new_v4().to_string();
    let secret = new_secret();
    let record = ApiKey {
        source: id.clone(),
        id,
        name,
        role: role.code().to_string(),
        employer_id,
        hash: hash_key(&secret),
        created_at: Utc::now(),
        expires_at,
        revoked_at: None,
    };
    NewKey { secret, record }
}

/// A new key for whoever holds `previous` (a partner whose key leaked or is
/// due for renewal): a new id and secret, the same role, employer, name and
/// source, so that what the old key sent (its external ids, the erasures and
/// consent decisions that guard them, its links) stays the new key's. The
/// old key is left as it is: revoke it once the holder uses the new one.
pub fn rotated_key(previous: &ApiKey, expires_at: Option<DateTime<Utc>>) -> NewKey {
    let secret = new_secret();
    let record = ApiKey {
        id: uuid::Uuid::new_v4().to_string(),
        name: previous.name.clone(),
        role: previous.role.clone(),
        employer_id: previous.employer_id.clone(),
        source: previous.source.clone(),
        hash: hash_key(&secret),
        created_at: Utc::now(),
        expires_at,
        revoked_at: None,
    };
    NewKey { secret, record }
}

/// 256 random bits, as `jm_` and 64 hex digits.
fn new_secret() -> String {
    let mut random = [0u8; 32];
    rand::fill(&mut random);
    format!("{KEY_PREFIX}{}", hex::encode(random))
}

pub fn hash_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// How long a key read from the database is trusted without reading it again: a
/// revocation (`jobmatch keys revoke`, another process) takes effect on every
/// replica within this time. Expiry is checked on every request. Reading the key
/// on every request cost a database round trip each, about a third of the time of
/// a candidates request answered from a standing list
/// (`benches/benches/candidates_http.rs`). A partner key's links are read with
/// it and trusted for as long (see [`authorize_with_current_links`]).
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(1);
/// Most keys remembered; more is a flood of distinct valid keys, and the cache
/// then starts over. Unknown keys are never remembered.
const KEY_CACHE_CAPACITY: usize = 10_000;

/// A key as read from the database, with the employers linked to it when it is
/// a partner's (empty otherwise).
#[derive(Clone)]
struct CachedKey {
    read_at: Instant,
    key: ApiKey,
    linked_employers: Vec<String>,
}

/// Locks `mutex`, also after a panic elsewhere: every change to the cache is
/// one insert or removal, so a poisoned table is still whole.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Keys read from the database in the last [`KEY_CACHE_TTL`], by hash.
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, CachedKey>>,
    /// Hashes of every key this process has found in the database, at start-up
    /// or since: their lookups never count against a client address, so an
    /// anonymous flood of unknown keys from an address (a reverse proxy's, say)
    /// cannot keep existing keys out after a restart or on a new replica. Only
    /// stored keys enter it, so it is as large as the keys table at most.
    known_hashes: Mutex<std::collections::HashSet<String>>,
}

impl KeyCache {
    /// Remembers the hashes of the stored keys (`jobmatch keys list`'s rows) as
    /// known; see [`KeyCache::knows`].
    pub fn know_stored(&self, keys: &[ApiKey]) {
        lock(&self.known_hashes).extend(keys.iter().map(|key| key.hash.clone()));
    }

    fn get(&self, hash: &str) -> Option<CachedKey> {
        let entries = lock(&self.entries);
        entries
            .get(hash)
            .filter(|cached| cached.read_at.elapsed() < KEY_CACHE_TTL)
            .cloned()
    }

    /// Whether the key was found in the database before, however long ago:
    /// such a key is looked up even for an address over its allowance of
    /// unknown keys.
    fn knows(&self, hash: &str) -> bool {
        lock(&self.known_hashes).contains(hash)
    }

    fn put(&self, hash: String, cached: CachedKey) {
        lock(&self.known_hashes).insert(hash.clone());
        let mut entries = lock(&self.entries);
        if entries.len() >= KEY_CACHE_CAPACITY {
            entries.retain(|_, cached| cached.read_at.elapsed() < KEY_CACHE_TTL);
            if entries.len() >= KEY_CACHE_CAPACITY {
                entries.clear();
            }
        }
        entries.insert(hash, cached);
    }

    /// Replaces the links remembered for the keys acting under `source` with
    /// ones just read from the database. The time they were read stays: the
    /// keys themselves were not read again.
    pub(crate) fn replace_links(&self, source: &str, linked_employers: &[String]) {
        self.for_each_of_source(source, |cached| {
            cached.linked_employers = linked_employers.to_vec();
        });
    }

    /// Adds an employer the partner acting under `source` has just
    /// registered to the links remembered for its keys, so that this process
    /// shows it to the partner at once, in lists too.
    pub(crate) fn add_link(&self, source: &str, employer_id: &str) {
        self.for_each_of_source(source, |cached| {
            if let Err(position) = cached
                .linked_employers
                .binary_search_by(|linked| linked.as_str().cmp(employer_id))
            {
                cached
                    .linked_employers
                    .insert(position, employer_id.to_string());
            }
        });
    }

    /// Runs `change` on every remembered entry of a key acting under
    /// `source` (one per key and hash it was presented with; a partner in the
    /// middle of a rotation uses two keys).
    fn for_each_of_source(&self, source: &str, change: impl FnMut(&mut CachedKey)) {
        lock(&self.entries)
            .values_mut()
            .filter(|cached| cached.key.source == source)
            .for_each(change);
    }
}

/// Query parameters that would carry a key in a URL, where it ends up in logs
/// and browser history.
const KEY_QUERY_PARAMETERS: [&str; 5] = ["api_key", "apikey", "key", "access_token", "token"];

/// What authenticating a request reads: the stored keys, the keys read in the
/// last [`KEY_CACHE_TTL`], and the limits on key lookups and requests. The
/// server hands it to every request beside its state (`web::Data`); the same
/// cache and limits are the state's.
pub struct Authenticator {
    pub store: Store,
    pub key_cache: Arc<KeyCache>,
    pub rate_limits: Arc<RateLimits>,
}

pub(crate) async fn authenticate(request: HttpRequest) -> Result<Principal, ApiError> {
    let state = request
        .app_data::<web::Data<Authenticator>>()
        .ok_or_else(|| ApiError::Unavailable("server state missing".to_string()))?
        .clone();
    // Names as the handlers will read them: percent-decoded (`api%5Fkey` is
    // `api_key`), `+` as a space.
    let carries_key_in_query = form_urlencoded::parse(request.query_string().as_bytes())
        .any(|(name, _)| KEY_QUERY_PARAMETERS.contains(&name.to_ascii_lowercase().as_str()));
    if carries_key_in_query {
        return Err(ApiError::bad_request(
            "query",
            "API keys are accepted only in the Authorization header, never in the URL",
        ));
    }
    let header_value = request
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::Unauthorized("send an API key as `Authorization: Bearer <key>`".to_string())
        })?;
    let secret = header_value
        .to_str()
        .ok()
        .and_then(|value| {
            let (scheme, token) = value.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| token.starts_with(KEY_PREFIX) && token.len() < 200)
        .ok_or_else(|| {
            ApiError::Unauthorized("the Authorization header must be `Bearer <key>`".to_string())
        })?;
    let presented_hash = hash_key(secret);
    let CachedKey {
        key,
        linked_employers,
        ..
    } = match state.key_cache.get(&presented_hash) {
        Some(cached) => cached,
        None => {
            // Each lookup is database work that a client can ask for without
            // a key; unknown keys are limited per client address (behind a
            // trusted proxy, the address it forwarded for).
            let client = crate::transport::client_address(&request);
            if let Some(client) = client
                && !state.key_cache.knows(&presented_hash)
            {
                state.rate_limits.admit_lookup(client)?;
            }
            let Some(key) = state
                .store
                .api_key_by_hash(&presented_hash)
                .await?
                // The database found the row by an index on the hash; comparing again
                // in constant time keeps the decision itself free of timing differences.
                .filter(|key| bool::from(key.hash.as_bytes().ct_eq(presented_hash.as_bytes())))
            else {
                return Err(ApiError::Unauthorized("unknown API key".to_string()));
            };
            // Read with the key and trusted as long: an admin's `keys link` or
            // `keys unlink`, like a revocation, holds on every replica within
            // `KEY_CACHE_TTL`; an employer a partner registers is reachable at
            // once (see `authorize_with_current_links` and `KeyCache::add_link`).
            let linked_employers = if key.role == Role::Partner.code() {
                state.store.partner_employer_ids(&key.source).await?
            } else {
                Vec::new()
            };
            let cached = CachedKey {
                read_at: Instant::now(),
                key,
                linked_employers,
            };
            state.key_cache.put(presented_hash, cached.clone());
            cached
        }
    };
    if key.revoked_at.is_some() {
        return Err(ApiError::Unauthorized(
            "this API key has been revoked".to_string(),
        ));
    }
    if key.expires_at.is_some_and(|expiry| expiry <= Utc::now()) {
        return Err(ApiError::Unauthorized(
            "this API key has expired".to_string(),
        ));
    }
    let role = Role::from_code(&key.role)
        .ok_or_else(|| ApiError::Unauthorized("unknown API key".to_string()))?;
    state.rate_limits.check(&key.id)?;
    Ok(Principal {
        key_id: key.id,
        role,
        employer_id: key.employer_id,
        source: key.source,
        linked_employers,
    })
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Principal, ApiError>>>>;

    fn from_request(request: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        // The `Idempotency-Key` layer authenticates before the handler and
        // leaves the principal in the request's extensions.
        if let Some(principal) = request.extensions().get::<Principal>().cloned() {
            return Box::pin(std::future::ready(Ok(principal)));
        }
        Box::pin(authenticate(request.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_distinct_and_stored_only_as_their_hash() {
        let first = generate_key(Role::Staff, None, "a".into(), None);
        let second = generate_key(Role::Staff, None, "b".into(), None);
        assert_ne!(first.secret, second.secret);
        assert_eq!(first.secret.len(), KEY_PREFIX.len() + 64);
        assert_eq!(first.record.hash, hash_key(&first.secret));
        assert!(
            !first
                .record
                .hash
                .contains(&first.secret[KEY_PREFIX.len()..])
        );
    }
}
