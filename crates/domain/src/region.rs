//! Region codes (GB/T 2260) and the region tree, loaded from data. Functional zones such as a
//! 高新区 have no GB/T 2260 code; they carry a local code and sit under their city like a district.

use std::{collections::HashMap, fmt, str::FromStr};

use crate::{load::LoadError, DomainError};

/// A six-digit administrative division code. The national root is `000000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode([u8; 6]);

impl RegionCode {
    pub const NATIONAL: RegionCode = RegionCode(*b"000000");

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let bytes = s.trim().as_bytes();
        let arr: [u8; 6] = bytes.try_into().map_err(|_| DomainError::InvalidRegionCode(s.to_string()))?;
        if !arr.iter().all(u8::is_ascii_digit) {
            return Err(DomainError::InvalidRegionCode(s.to_string()));
        }
        let province = (arr[0] - b'0') * 10 + (arr[1] - b'0');
        // GB/T 2260 provinces run from 11 (北京) to 82 (澳门); 00 is our national root.
        if arr != *b"000000" && !(11..=82).contains(&province) {
            return Err(DomainError::InvalidRegionCode(s.to_string()));
        }
        Ok(RegionCode(arr))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??????")
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RegionCode {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RegionCode::parse(s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionKind {
    Country,
    Province,
    City,
    District,
    County,
    /// 县级市
    CountyLevelCity,
    /// 功能区 (高新区, 经开区 …): administered like a district of its city.
    FunctionalZone,
}

impl FromStr for RegionKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim() {
            "country" => RegionKind::Country,
            "province" => RegionKind::Province,
            "city" => RegionKind::City,
            "district" => RegionKind::District,
            "county" => RegionKind::County,
            "county_level_city" => RegionKind::CountyLevelCity,
            "functional_zone" => RegionKind::FunctionalZone,
            other => return Err(format!("unknown region kind '{other}'")),
        })
    }
}

impl RegionKind {
    /// County level: districts, counties, county-level cities and functional zones.
    pub fn is_county_level(self) -> bool {
        matches!(
            self,
            RegionKind::District | RegionKind::County | RegionKind::CountyLevelCity | RegionKind::FunctionalZone
        )
    }
}

#[derive(Debug, Clone)]
pub struct Region {
    pub code: RegionCode,
    pub name: String,
    pub kind: RegionKind,
    pub parent: Option<RegionCode>,
}

/// The region tree: every region knows its parent; the national root has none.
#[derive(Debug, Clone, Default)]
pub struct RegionTree {
    /// Read for every lookup of the policy book (a region and its ancestors): a fast hash.
    regions: HashMap<RegionCode, Region, foldhash::fast::RandomState>,
}

#[derive(serde::Deserialize)]
struct RegionRow {
    code: String,
    name: String,
    kind: String,
    parent: String,
}

impl RegionTree {
    /// Reads `code,name,kind,parent` rows; every parent must appear on an earlier line.
    pub fn from_csv(file: &str, text: &str) -> Result<Self, LoadError> {
        let mut tree = RegionTree::default();
        for (line, row) in crate::load::rows::<RegionRow>(file, text)? {
            let err = |message: String| LoadError::new(file, line, message);
            let code = RegionCode::parse(&row.code).map_err(|e| err(e.to_string()))?;
            let kind: RegionKind = row.kind.parse().map_err(err)?;
            let parent = if row.parent.trim().is_empty() {
                None
            } else {
                let p = RegionCode::parse(&row.parent).map_err(|e| err(e.to_string()))?;
                if !tree.regions.contains_key(&p) {
                    return Err(err(format!("parent {p} of {code} is not defined on an earlier line")));
                }
                Some(p)
            };
            if parent.is_none() && kind != RegionKind::Country {
                return Err(err(format!("region {code} has no parent")));
            }
            if row.name.trim().is_empty() {
                return Err(err(format!("region {code} has no name")));
            }
            if tree.regions.contains_key(&code) {
                return Err(err(format!("region {code} is defined twice")));
            }
            tree.regions.insert(code, Region { code, name: row.name.trim().to_string(), kind, parent });
        }
        Ok(tree)
    }

    pub fn get(&self, code: RegionCode) -> Result<&Region, DomainError> {
        self.regions.get(&code).ok_or_else(|| DomainError::UnknownRegion(code.to_string()))
    }

    /// Parse a code and check that the tree knows it.
    pub fn resolve(&self, s: &str) -> Result<&Region, DomainError> {
        self.get(RegionCode::parse(s)?)
    }

    /// The region itself, then its parent, up to the root.
    pub fn lineage(&self, code: RegionCode) -> Vec<RegionCode> {
        self.ancestry(code).collect()
    }

    /// [`Self::lineage`] without keeping it: the region, its parent, … up to the root (at most 17,
    /// whatever the tree). Asked on every call that resolves a parameter and every row of an
    /// import.
    pub fn ancestry(&self, code: RegionCode) -> impl Iterator<Item = RegionCode> + '_ {
        std::iter::successors(Some(code), |c| self.regions.get(c).and_then(|r| r.parent)).take(17)
    }

    /// Whether `code` is `scope` or lies under it.
    pub fn is_within(&self, code: RegionCode, scope: RegionCode) -> bool {
        self.ancestry(code).any(|c| c == scope)
    }

    pub fn children(&self, code: RegionCode) -> Vec<&Region> {
        let mut v: Vec<&Region> = self.regions.values().filter(|r| r.parent == Some(code)).collect();
        v.sort_by_key(|r| r.code);
        v
    }

    pub fn len(&self) -> usize {
        self.regions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    pub fn name(&self, code: RegionCode) -> &str {
        self.regions.get(&code).map(|r| r.name.as_str()).unwrap_or("")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TREE: &str = "code,name,kind,parent\n000000,全国,country,\n210000,辽宁省,province,000000\n210500,本溪市,city,210000\n210502,平山区,district,210500\n210571,本溪高新区,functional_zone,210500\n";

    #[test]
    fn parses_codes() {
        assert!(RegionCode::parse("210502").is_ok());
        assert!(RegionCode::parse("21050").is_err());
        assert!(RegionCode::parse("2105021").is_err());
        assert!(RegionCode::parse("21050a").is_err());
        assert!(RegionCode::parse("990000").is_err());
        assert!(RegionCode::parse("000000").is_ok());
    }

    #[test]
    fn zones_sit_under_their_city() {
        let t = RegionTree::from_csv("regions.csv", TREE).unwrap();
        let zone = RegionCode::parse("210571").unwrap();
        let city = RegionCode::parse("210500").unwrap();
        assert!(t.is_within(zone, city));
        assert!(t.is_within(zone, RegionCode::NATIONAL));
        assert!(!t.is_within(city, zone));
        assert_eq!(t.lineage(zone).len(), 4);
        assert_eq!(t.children(city).len(), 2);
    }

    #[test]
    fn bad_rows_name_the_line() {
        let bad = "code,name,kind,parent\n000000,全国,country,\n210500,本溪市,city,210000\n";
        let e = RegionTree::from_csv("regions.csv", bad).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.to_string().contains("regions.csv:3"), "{e}");
    }
}
