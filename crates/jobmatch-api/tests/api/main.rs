//! API tests: each test drives a real server on port 0 with a fresh SQLite
//! database. One test binary, so the crate links once.

mod helpers;

mod authorization;
mod batch;
mod errors;
mod hostile;
mod idempotency;
mod matching;
mod openapi;
mod resources;
mod search;
mod transport;
