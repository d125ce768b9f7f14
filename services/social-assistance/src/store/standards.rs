//! Standards published through the API: the runtime's shared store.

pub use civic_runtime::published::{load_into, save};
