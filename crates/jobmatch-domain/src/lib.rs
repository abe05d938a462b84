//! The vocabulary of jobmatch.
//!
//! This crate owns what the product talks about: sectors, employers, vacancies and
//! returnee profiles as they arrive from clients, the rules that make them valid, and
//! the reference data they point into (the ESCO taxonomy of occupations and skills and
//! the NCDD gazetteer of Cambodian places). It knows nothing of HTTP or SQL: the API
//! crate turns its validation errors into problem+json, the store crate persists the
//! validated documents.

pub mod phone;
pub mod reference;
pub mod resources;
pub mod sector;
pub mod typo;
pub mod validation;

// reference-data exports
pub use reference::Reference;
// end of reference-data exports

pub use sector::Sector;
pub use validation::{FieldError, Valid, Validate};
