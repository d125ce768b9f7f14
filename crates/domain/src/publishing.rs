//! Publishing rights: which role may publish which parameters, for regions of which level
//! (`policies/publishing.csv`). Data, like every other policy fact: a city that assigns a
//! figure to another bureau changes a row, not the code.

use crate::{
    load::{rows, LoadError},
    region::RegionKind,
};

/// A level of government a published figure is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Country,
    Province,
    City,
    /// Districts, counties, county-level cities and functional zones.
    County,
}

impl Level {
    pub fn of(kind: RegionKind) -> Level {
        match kind {
            RegionKind::Country => Level::Country,
            RegionKind::Province => Level::Province,
            RegionKind::City => Level::City,
            _ => Level::County,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Country => "country",
            Level::Province => "province",
            Level::City => "city",
            Level::County => "county",
        }
    }

    fn parse(s: &str) -> Option<Level> {
        match s.trim() {
            "country" => Some(Level::Country),
            "province" => Some(Level::Province),
            "city" => Some(Level::City),
            "county" => Some(Level::County),
            _ => None,
        }
    }
}

/// One row: who publishes the parameters under `key_prefix`, and where that is written.
#[derive(Debug, Clone)]
pub struct PublishingRight {
    pub key_prefix: String,
    /// Role names as tokens carry them (e.g. "tax", "natural-resources").
    pub roles: Vec<String>,
    pub levels: Vec<Level>,
    pub document: String,
    pub clause: String,
}

#[derive(Debug, Clone, Default)]
pub struct PublishingRights {
    rows: Vec<PublishingRight>,
}

#[derive(serde::Deserialize)]
struct Row {
    key_prefix: String,
    roles: String,
    levels: String,
    document: String,
    clause: String,
    #[allow(dead_code)]
    note: String,
}

impl PublishingRights {
    pub fn from_csv(file: &str, text: &str) -> Result<Self, LoadError> {
        let mut out = Vec::new();
        for (line, r) in rows::<Row>(file, text)? {
            let levels: Option<Vec<Level>> = r.levels.split('|').map(Level::parse).collect();
            let Some(levels) = levels.filter(|l| !l.is_empty()) else {
                return Err(LoadError::new(file, line, format!("levels '{}': country|province|city|county", r.levels)));
            };
            let roles: Vec<String> =
                r.roles.split('|').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
            if roles.is_empty() || r.key_prefix.is_empty() || r.document.is_empty() || r.clause.is_empty() {
                return Err(LoadError::new(file, line, "key_prefix, roles, document and clause are required"));
            }
            if out.iter().any(|x: &PublishingRight| x.key_prefix == r.key_prefix) {
                return Err(LoadError::new(file, line, format!("{} is listed twice", r.key_prefix)));
            }
            out.push(PublishingRight {
                key_prefix: r.key_prefix,
                roles,
                levels,
                document: r.document,
                clause: r.clause,
            });
        }
        Ok(PublishingRights { rows: out })
    }

    /// The row that decides who publishes `key`: the longest matching prefix.
    pub fn right_for(&self, key: &str) -> Option<&PublishingRight> {
        self.rows.iter().filter(|r| key.starts_with(&r.key_prefix)).max_by_key(|r| r.key_prefix.len())
    }

    pub fn rows(&self) -> &[PublishingRight] {
        &self.rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "key_prefix,roles,levels,document,clause,note\n\
land.,natural-resources,city,D,1,\n\
land.standard.tax_per_mu_min,tax,city|county,D,18,\n";

    #[test]
    fn the_longest_prefix_decides() {
        let r = PublishingRights::from_csv("p.csv", CSV).unwrap();
        assert_eq!(r.right_for("land.standard.tax_per_mu_min.x").unwrap().roles, vec!["tax"]);
        assert_eq!(r.right_for("land.idle.fee_rate").unwrap().roles, vec!["natural-resources"]);
        assert!(r.right_for("assistance.dibao.urban").is_none());
        assert!(PublishingRights::from_csv("p.csv", "key_prefix,roles,levels,document,clause,note\nx,a,town,D,1,\n")
            .is_err());
    }
}
