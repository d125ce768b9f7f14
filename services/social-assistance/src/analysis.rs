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

/// From this many households a comparison is counted in parts on several threads.
const PARALLEL_FROM: usize = 100_000;
/// At most this many parts.
const MAX_PARTS: usize = 4;

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
    // A large roll is counted in parts on the machine's cores.
    let parts = if pop.households.len() < PARALLEL_FROM {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |p| p.get()).min(MAX_PARTS)
    };
    compare_in_parts(pop, tree, current, proposed, by_category, parts)
}

/// `compare`, counted in `parts` parts on as many threads, each into its own slots; the parts
/// are added in order, and an error is the first household's in roll order.
pub(crate) fn compare_in_parts(
    pop: &Population,
    tree: &RegionTree,
    current: &Scenario,
    proposed: &Scenario,
    by_category: bool,
    parts: usize,
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
    let same_rules: Vec<bool> = (0..pop.regions.len()).map(|r| current.same_income_rules(proposed, r)).collect();
    let n_slots = distinct.len() * LABELS.len();
    let count = |range: std::ops::Range<usize>| -> Result<Vec<Option<Tally>>, String> {
        let mut slots: Vec<Option<Tally>> = (0..n_slots).map(|_| None).collect();
        for i in range {
            let h = &pop.households[i];
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
        Ok(slots)
    };
    let n = pop.households.len();
    let parts = parts.clamp(1, n.max(1));
    let counted: Vec<Result<Vec<Option<Tally>>, String>> = if parts == 1 {
        vec![count(0..n)]
    } else {
        let size = n.div_ceil(parts);
        std::thread::scope(|s| {
            let handles: Vec<_> =
                (0..parts).map(|k| s.spawn(move || count(k * size..((k + 1) * size).min(n)))).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err("a part of the what-if count stopped".to_string())))
                .collect()
        })
    };
    let mut slots: Vec<Option<Tally>> = (0..n_slots).map(|_| None).collect();
    for part in counted {
        for (slot, t) in slots.iter_mut().zip(part?) {
            if let Some(t) = t {
                slot.get_or_insert_with(Tally::default).merge(&t);
            }
        }
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
