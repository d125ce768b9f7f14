//! Publishing standards: the shared publication rules of the runtime, for assistance keys.

pub use civic_runtime::publish::{Accepted, Figure, Problems, Publication};

/// The parameters this service publishes.
pub const PREFIXES: &[&str] = &["assistance."];

/// Check a publication of assistance standards against the book.
pub fn apply(book: &civic_domain::policy::PolicyBook, p: &Publication) -> Result<Accepted, Problems> {
    civic_runtime::publish::apply(book, p, PREFIXES)
}
