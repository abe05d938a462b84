//! The jobmatch application layer: what the API, the command line and tests do
//! alike, without HTTP.
//!
//! It combines the store (`jobmatch-store`) with the engines (`jobmatch-matching`,
//! `jobmatch-search`): writing a record ([`records`]) or a batch of them
//! ([`batch`]) of a kind ([`resource`]), validated so that every bad field is
//! reported ([`validation`]), changing one with a merge patch ([`patch`]); the
//! change-feed followers that keep the derived indexes current ([`follower`]),
//! and the derived indexes themselves, the in-memory matching index with its
//! standing candidate lists ([`match_index`]) and the vacancy search index on
//! disk ([`search_index`]). It knows nothing of
//! actix-web: `jobmatch-api` maps its errors ([`ServiceError`]) to HTTP in one
//! table. It derives nothing for HTTP; it reads the `utoipa` schemas of the
//! domain's documents only to validate against them ([`validation`]).

pub mod batch;
pub mod error;
pub mod follower;
pub mod match_index;
pub mod patch;
pub mod records;
pub mod resource;
pub mod search_index;
pub mod validation;

pub use error::{ServiceError, error_chain};
pub use resource::{ResourceKind, new_id};
