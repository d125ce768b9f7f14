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
    const LABELS: [&str; 3] = ["dibao", "dibao.urban", "dibao.rural"];
    // Each region's county as a dense index, and one tally slot per (county, label): a
    // million households are counted without a map lookup each; the lines are built at the end.
    let counties: Vec<RegionCode> = pop.regions.iter().map(|r| county_of(tree, *r)).collect();
    let mut distinct = counties.clone();
    distinct.sort_unstable();
    distinct.dedup();
    let slot_of: Vec<usize> =
        counties.iter().map(|c| distinct.binary_search(c).unwrap_or_else(|i| i) * LABELS.len()).collect();
    let mut slots: Vec<Option<Tally>> = (0..distinct.len() * LABELS.len()).map(|_| None).collect();
    let same_rules: Vec<bool> = (0..pop.regions.len()).map(|r| current.same_income_rules(proposed, r)).collect();
    for (i, h) in pop.households.iter().enumerate() {
        if h.status != Status::Active {
            continue;
        }
        let paid = h.category == Category::Dibao;
        // The income once where both scenarios count it alike (a proposal usually changes the
        // standards only); the same figures as `benefit` under each.
        let cur_std = if paid { current.standard(pop, i) } else { None };
        let prop_std = proposed.standard(pop, i);
        let cur_income = match cur_std {
            Some(_) => Some(current.income(pop, i)?),
            None => None,
        };
        let prop_income = match (prop_std, cur_income) {
            (None, _) => None,
            (Some(_), Some(inc)) if same_rules[h.region as usize] => Some(inc),
            (Some(_), _) => Some(proposed.income(pop, i)?),
        };
        let cur = match (cur_std, cur_income) {
            (Some(std), Some(inc)) => Scenario::top_up(pop, i, std, inc),
            _ => 0,
        };
        let prop = match (prop_std, prop_income) {
            (Some(std), Some(inc)) => Scenario::top_up(pop, i, std, inc),
            _ => 0,
        };
        let label = match (by_category, h.residence) {
            (false, _) => 0,
            (true, Residence::Urban) => 1,
            (true, Residence::Rural) => 2,
        };
        slots[slot_of[h.region as usize] + label].get_or_insert_with(Tally::default).add(cur, prop, paid);
    }
    let lines: BTreeMap<LineKey, Tally> = slots
        .into_iter()
        .enumerate()
        .filter_map(|(k, t)| t.map(|t| ((distinct[k / LABELS.len()], LABELS[k % LABELS.len()]), t)))
        .collect();
    let mut total = Tally::default();
    for t in lines.values() {
        total.merge(t);
    }
    Ok((lines, total))
}
