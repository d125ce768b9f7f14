//! Loading `policies/` from disk, and the shared handle services read the book through. A
//! service that publishes new figures builds a new book and swaps it in whole, so a reader sees
//! either the old book or the new one, never half of each.

use std::{
    path::Path,
    sync::{Arc, RwLock},
};

use civic_domain::{
    policy::PolicyBook,
    policy_files::{BookError, NamedText, PolicyFiles},
};

#[derive(Debug, thiserror::Error)]
pub enum LoadBookError {
    #[error("cannot read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(transparent)]
    Book(#[from] BookError),
}

fn read(dir: &Path, rel: &str) -> Result<NamedText, LoadBookError> {
    let path = dir.join(rel);
    let text = std::fs::read_to_string(&path)
        .map_err(|source| LoadBookError::Io { path: path.display().to_string(), source })?;
    Ok((path.display().to_string(), text))
}

fn read_all_csv(dir: &Path, sub: &str) -> Result<Vec<NamedText>, LoadBookError> {
    let folder = dir.join(sub);
    let entries = std::fs::read_dir(&folder)
        .map_err(|source| LoadBookError::Io { path: folder.display().to_string(), source })?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".csv"))
        .collect();
    names.sort();
    names.iter().map(|n| read(dir, &format!("{sub}/{n}"))).collect()
}

/// The files of a policies directory (`regions.csv`, `definitions.csv`, `documents.csv`,
/// `rules.csv`, `calendar/*.csv`, `values/*.csv`).
pub fn read_files(dir: &Path) -> Result<PolicyFiles, LoadBookError> {
    Ok(PolicyFiles {
        regions: read(dir, "regions.csv")?,
        calendars: read_all_csv(dir, "calendar")?,
        definitions: read(dir, "definitions.csv")?,
        documents: read(dir, "documents.csv")?,
        rules: read(dir, "rules.csv")?,
        values: read_all_csv(dir, "values")?,
        publishing: if dir.join("publishing.csv").exists() { Some(read(dir, "publishing.csv")?) } else { None },
    })
}

pub fn load(dir: &Path) -> Result<PolicyBook, LoadBookError> {
    Ok(PolicyBook::from_files(&read_files(dir)?)?)
}

#[derive(Clone, Debug)]
pub struct BookHandle {
    inner: Arc<RwLock<Arc<PolicyBook>>>,
}

impl BookHandle {
    pub fn new(book: PolicyBook) -> Self {
        BookHandle { inner: Arc::new(RwLock::new(Arc::new(book))) }
    }

    /// The current book. Cheap: an `Arc` clone.
    pub fn current(&self) -> Arc<PolicyBook> {
        match self.inner.read() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn replace(&self, book: PolicyBook) {
        match self.inner.write() {
            Ok(mut g) => *g = Arc::new(book),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(book),
        }
    }
}
