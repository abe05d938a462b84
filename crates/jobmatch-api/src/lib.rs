//! The jobmatch HTTP API.
//!
//! This crate is the only one that knows actix-web. It owns the routes, the
//! extraction of requests (authentication, bodies that report every bad field,
//! query strings), the single mapping from errors to `application/problem+json`,
//! the OpenAPI document the routes generate, and server start-up and shutdown.
//! Storage comes from `jobmatch-store`, the vocabulary from `jobmatch-domain`.

pub mod auth;
pub mod backups;
pub mod body;
pub mod error;
pub mod follower;
pub mod idempotency;
pub mod limits;
pub mod matching;
pub mod metrics;
mod numbers;
pub mod openapi;
pub mod params;
pub mod policy;
pub mod privacy;
pub mod request_log;
pub mod routes;
pub mod search;
pub mod server;
pub mod state;
pub mod tls;
pub mod transport;

pub use server::{Application, StartError, api_document};
