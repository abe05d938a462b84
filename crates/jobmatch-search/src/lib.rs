//! The vacancy search index of jobmatch.
//!
//! This crate owns full-text search over vacancies with tantivy: the schema
//! (`schema`), the analyzers that turn Khmer and Latin text into terms
//! ([`analysis`]), the forgiving parser and tiered query builder behind typo tolerance
//! and search as you type (`query`), filters, facets, sorting and cursors
//! ([`SearchRequest`], [`SearchResponse`]), and the index's lifecycle
//! ([`SearchIndex`]).
//!
//! It knows nothing of HTTP or SQL. The index is derived data: the database is the
//! truth, the caller feeds the change feed into [`SearchIndex::upsert`] and
//! [`SearchIndex::delete`], and [`SearchIndex::commit`] records the last applied
//! sequence number in tantivy's commit payload so that a restart resumes where the
//! index left off. [`SearchIndex::open_or_create`] reports through [`OpenOutcome`]
//! whether the index could be trusted or was started afresh and must be refilled.
//!
//! Khmer is written without spaces between words. Words are found with ICU4X's
//! dictionary segmenter, and a second field of grapheme-cluster bigrams and trigrams lets part of a
//! compound match (`សំណង់` finds `ត្រូវការកម្មករសំណង់ជាបន្ទាន់`).
//!
//! ```
//! use chrono::Utc;
//! use jobmatch_domain::resources::VacancyInput;
//! use jobmatch_search::{SearchIndex, SearchRequest};
//!
//! let (index, _outcome) = SearchIndex::open_or_create(None)?;
//! let vacancy: VacancyInput = serde_json::from_value(serde_json::json!({
//!     "employer_id": "e1", "title": "ត្រូវការកម្មករសំណង់ជាបន្ទាន់",
//!     "sector": "construction", "province_code": "12"
//! }))?;
//! index.upsert("v1", &vacancy, "Angkor Builders", Utc::now())?;
//! index.commit(1)?;
//! let found = index.search(&SearchRequest { q: "សំណង់".into(), ..Default::default() })?;
//! assert_eq!(found.items[0].vacancy_id, "v1");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod analysis;
mod error;
mod index;
mod query;
mod schema;
mod search;

pub use error::SearchError;
pub use index::{OpenOptions, OpenOutcome, RebuildReason, SearchIndex};
pub use query::{MAX_EXPANSIONS, MAX_QUERY_CHARS, MAX_QUERY_WORDS};
pub use schema::SCHEMA_VERSION;
pub use search::{
    DEFAULT_LIMIT, FacetCount, Facets, Hit, MAX_LIMIT, MAX_OFFSET, SearchRequest, SearchResponse,
    SortOrder,
};
