//! What-if reforms and funding need over a population: each household computed under two
//! scenarios, summed by county. Nothing is stored.

use std::collections::BTreeMap;

use civic_domain::{region::RegionTree, RegionCode};

use crate::{
    population::{Population, Scenario},
    roll::{Category, Status},
    rules::household::Residence,
};

/// Sums for one county (or the total).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub households: i64,
    pub current: i64,
    pub proposed: i64,
    pub gaining: i64,
    pub losing: i64,
    pub newly_eligible: i64,
    pub newly_eligible_cost: i64,
    pub no_longer_eligible: i64,
}

impl Tally {
    fn add(&mut self, current: i64, proposed: i64, was_paid: bool) {
        self.households += 1;
        self.current += current;
        self.proposed += proposed;
        if was_paid && current > 0 {
            if proposed > current {
                self.gaining += 1;
            } else if proposed < current {
                self.losing += 1;
            }
            if proposed == 0 {
                self.no_longer_eligible += 1;
            }
        } else if proposed > 0 {
            self.newly_eligible += 1;
            self.newly_eligible_cost += proposed;
        }
    }

    fn merge(&mut self, o: &Tally) {
        self.households += o.households;
        self.current += o.current;
        self.proposed += o.proposed;
        self.gaining += o.gaining;
        self.losing += o.losing;
        self.newly_eligible += o.newly_eligible;
        self.newly_eligible_cost += o.newly_eligible_cost;
        self.no_longer_eligible += o.no_longer_eligible;
    }
}

/// The county-level region a region belongs to (itself when it is county level or above).
pub fn county_of(tree: &RegionTree, region: RegionCode) -> RegionCode {
    for r in tree.lineage(region) {
        if tree.get(r).map(|x| x.kind.is_county_level()).unwrap_or(false) {
            return r;
        }
    }
    region
}

/// Key of a line: (county, category label).
pub type LineKey = (RegionCode, &'static str);

/// Compare two scenarios household by household. Active 低保 households are paid now; active
/// low-income households are not, and count as newly eligible when the proposal pays them.
/// `by_category` splits lines into urban and rural 低保.
pub fn compare(
    pop: &Population,
    tree: &RegionTree,
    current: &Scenario,
    proposed: &Scenario,
    by_category: bool,
) -> Result<(BTreeMap<LineKey, Tally>, Tally), String> {
    let counties: Vec<RegionCode> = pop.regions.iter().map(|r| county_of(tree, *r)).collect();
    let mut lines: BTreeMap<LineKey, Tally> = BTreeMap::new();
    for (i, h) in pop.households.iter().enumerate() {
        if h.status != Status::Active {
            continue;
        }
        let paid = h.category == Category::Dibao;
        let cur = if paid { current.benefit(pop, i)?.unwrap_or(0) } else { 0 };
        let prop = proposed.benefit(pop, i)?.unwrap_or(0);
        let label = match (by_category, h.residence) {
            (false, _) => "dibao",
            (true, Residence::Urban) => "dibao.urban",
            (true, Residence::Rural) => "dibao.rural",
        };
        lines.entry((counties[h.region as usize], label)).or_default().add(cur, prop, paid);
    }
    let mut total = Tally::default();
    for t in lines.values() {
        total.merge(t);
    }
    Ok((lines, total))
}
