//! The values the store takes and gives: which kind of document ([`Entity`]), a
//! stored document ([`Record`], [`RawRecord`]) and a new one ([`NewRecord`]), its
//! filter columns ([`Columns`], [`ListFilter`]), a change-feed entry ([`Change`])
//! and an API key record ([`ApiKey`]).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::sql::{self, TableSql};

/// The kinds of document the store keeps, one table each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Entity {
    Employer,
    Vacancy,
    Worker,
}

impl Entity {
    /// All entities, in a fixed order.
    pub const ALL: [Entity; 3] = [Entity::Employer, Entity::Vacancy, Entity::Worker];

    /// `"employer"`, `"vacancy"` or `"worker"`, as stored in the change feed.
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::Employer => "employer",
            Entity::Vacancy => "vacancy",
            Entity::Worker => "worker",
        }
    }

    pub(crate) fn sql(self) -> &'static TableSql {
        match self {
            Entity::Employer => &sql::EMPLOYERS,
            Entity::Vacancy => &sql::VACANCIES,
            Entity::Worker => &sql::WORKERS,
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Entity {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Entity::ALL
            .into_iter()
            .find(|entity| entity.as_str() == s)
            .ok_or(UnknownName)
    }
}

/// Returned when parsing an [`Entity`] or [`ChangeOp`] from an unknown name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown name")]
pub struct UnknownName;

/// Copies of document fields kept in their own columns so that
/// [`Store::list`] can filter on them. The store does not derive them from
/// the body; the caller passes them with every insert and update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    pub employer_id: Option<String>,
    pub sector: Option<String>,
    pub province_code: Option<String>,
    pub status: Option<String>,
}

/// A stored document.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub id: String,
    /// 1 after insert, +1 on every update.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub source: Option<String>,
    pub external_id: Option<String>,
    pub columns: Columns,
    pub body: serde_json::Value,
}

/// A stored document as [`Store::list_raw`] reads it: the JSON text unparsed.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRecord {
    pub id: String,
    pub columns: Columns,
    /// The document, as stored (valid JSON).
    pub body: String,
}

/// A document to insert with [`Store::insert`].
#[derive(Debug, Clone, Copy)]
pub struct NewRecord<'a> {
    /// Chosen by the caller (e.g. a UUID); must be unused in this entity's table.
    pub id: &'a str,
    /// Where an imported record came from; with `external_id`, unique per source.
    pub source: Option<&'a str>,
    pub external_id: Option<&'a str>,
    pub columns: &'a Columns,
    pub body: &'a serde_json::Value,
}

/// Which records [`Store::list`] returns.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Each `Some` is an equality filter on that column; `None` does not filter.
    pub columns: Columns,
    /// Keyset cursor: only records with `id > after_id` (ids compare as bytes).
    pub after_id: Option<String>,
    /// At most this many records; 0 returns none.
    pub limit: u32,
}

/// The kind of write a [`Change`] records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeOp {
    Create,
    Update,
    Delete,
}

impl ChangeOp {
    /// `"create"`, `"update"` or `"delete"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Create => "create",
            ChangeOp::Update => "update",
            ChangeOp::Delete => "delete",
        }
    }
}

impl fmt::Display for ChangeOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChangeOp {
    type Err = UnknownName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [ChangeOp::Create, ChangeOp::Update, ChangeOp::Delete]
            .into_iter()
            .find(|op| op.as_str() == s)
            .ok_or(UnknownName)
    }
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Strictly increasing in commit order; may have gaps.
    pub seq: i64,
    pub entity: Entity,
    pub entity_id: String,
    pub op: ChangeOp,
    pub at: DateTime<Utc>,
}

/// An API key. The secret itself is never stored, only `hash`, the SHA-256
/// hex digest computed by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub role: String,
    pub employer_id: Option<String>,
    /// The identity the key acts under: it scopes the external ids the key
    /// sends (and the erasure tombstones of the profiles sent with them), the
    /// records it may change as their sender, and a partner's links. A new
    /// key's own id; a key made by rotating another keeps the other's.
    pub source: String,
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entity_and_op_names_round_trip() {
        for entity in Entity::ALL {
            assert_eq!(entity.as_str().parse::<Entity>(), Ok(entity));
        }
        for op in [ChangeOp::Create, ChangeOp::Update, ChangeOp::Delete] {
            assert_eq!(op.as_str().parse::<ChangeOp>(), Ok(op));
        }
        assert!("employers".parse::<Entity>().is_err());
    }
}
