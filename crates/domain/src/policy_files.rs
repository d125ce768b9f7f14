//! Assembling a policy book from the files of `policies/`, in dependency order. Reading the
//! files is the caller's business; this only parses and validates their text.

use crate::{calendar::WorkingCalendar, load::LoadError, policy::PolicyBook, region::RegionTree};

/// A file's name (as shown in errors) and its text.
pub type NamedText = (String, String);

#[derive(Debug, Default)]
pub struct PolicyFiles {
    pub regions: NamedText,
    pub calendars: Vec<NamedText>,
    pub definitions: NamedText,
    pub documents: NamedText,
    pub rules: NamedText,
    pub values: Vec<NamedText>,
    /// `publishing.csv`, when the directory has one (without it nothing can be published).
    pub publishing: Option<NamedText>,
}

#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("policy book is inconsistent:\n  {}", .0.join("\n  "))]
    Inconsistent(Vec<String>),
}

impl PolicyBook {
    pub fn from_files(files: &PolicyFiles) -> Result<PolicyBook, BookError> {
        let regions = RegionTree::from_csv(&files.regions.0, &files.regions.1)?;
        let mut calendar_text = String::from("date,kind,name,document\n");
        // Calendars may be split by year; each keeps its own line numbers in errors.
        let mut calendar = WorkingCalendar::default();
        for (name, text) in &files.calendars {
            WorkingCalendar::from_csv(name, text)?;
            for line in text.lines().filter(|l| !l.starts_with('#')).skip(1) {
                calendar_text.push_str(line);
                calendar_text.push('\n');
            }
            calendar = WorkingCalendar::from_csv("calendars (combined)", &calendar_text)?;
        }
        let mut book = PolicyBook::new(regions, calendar);
        book.load_definitions(&files.definitions.0, &files.definitions.1)?;
        book.load_documents(&files.documents.0, &files.documents.1)?;
        book.load_rules(&files.rules.0, &files.rules.1)?;
        for (name, text) in &files.values {
            book.load_entries(name, text)?;
        }
        if let Some((name, text)) = &files.publishing {
            book.publishing = crate::publishing::PublishingRights::from_csv(name, text)?;
            for r in book.publishing.rows() {
                if book.document(&r.document).is_none() {
                    return Err(BookError::Inconsistent(vec![format!(
                        "{name}: {} cites document '{}', which is not in documents.csv",
                        r.key_prefix, r.document
                    )]));
                }
            }
        }
        let problems = book.validate();
        if !problems.is_empty() {
            return Err(BookError::Inconsistent(problems));
        }
        Ok(book)
    }
}
