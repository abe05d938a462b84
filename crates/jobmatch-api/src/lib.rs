//! The jobmatch HTTP API.
//!
//! This crate is the only one that knows actix-web. It owns the routes, the
//! extraction of requests (authentication, bodies that report every bad field,
//! query strings), the single mapping from errors to `application/problem+json`,
//! the OpenAPI document the routes generate, and server start-up and shutdown.
//! The application layer (writing records, following the change feed into the
//! derived indexes) is `jobmatch-service`; storage comes from `jobmatch-store`,
//! the vocabulary from `jobmatch-domain`.

pub mod auth;
pub mod backups;
pub mod body;
pub mod error;
pub mod idempotency;
pub mod limits;
pub mod metrics;
mod numbers;
pub mod openapi;
pub mod own_writes;
pub mod params;
pub mod policy;
pub mod privacy;
pub mod request_log;
pub mod routes;
pub mod server;
pub mod state;
pub mod tls;
pub mod transport;

pub use server::{Application, StartError, api_document};
