//! Reading policy data files. A bad row stops loading with the file and line named, so a
//! mistake in `policies/` stops start-up instead of producing a wrong figure later.

use serde::de::DeserializeOwned;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct LoadError {
    pub file: String,
    /// 1-based line number in the file (the header is line 1).
    pub line: u64,
    pub message: String,
}

impl LoadError {
    pub fn new(file: &str, line: u64, message: impl Into<String>) -> Self {
        LoadError { file: file.to_string(), line, message: message.into() }
    }
}

/// Deserialize CSV rows (header on line 1, `#` comment lines allowed), each with its line number.
pub fn rows<T: DeserializeOwned>(file: &str, text: &str) -> Result<Vec<(u64, T)>, LoadError> {
    let mut reader = csv::ReaderBuilder::new().comment(Some(b'#')).trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| LoadError::new(file, 1, e.to_string()))?.clone();
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            LoadError::new(file, line, e.to_string())
        })?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let row: T = record.deserialize(Some(&headers)).map_err(|e| LoadError::new(file, line, e.to_string()))?;
        out.push((line, row));
    }
    Ok(out)
}
