//! The jobmatch application layer: what the API, the command line and tests do
//! alike, without HTTP.
//!
//! It combines the store (`jobmatch-store`) with the engines (`jobmatch-matching`,
//! `jobmatch-search`): the change-feed followers that keep the derived indexes
//! current ([`follower`]), and the derived indexes themselves, the in-memory
//! matching index with its standing candidate lists ([`match_index`]) and the
//! vacancy search index on disk ([`search_index`]). It knows nothing of
//! actix-web: `jobmatch-api` maps its errors to HTTP in one table.

pub mod error;
pub mod follower;
pub mod match_index;
pub mod search_index;

pub use error::error_chain;
