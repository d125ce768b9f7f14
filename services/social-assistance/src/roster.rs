//! A roster file parsed into a compact form: a city's roll (a million households, 2.6 million
//! members) is held in a few flat blocks of fixed-size entries and one text arena instead of a
//! million households of strings and vectors, so that an import keeps to a stated memory bound
//! (BENCHMARKS.md, "Memory of the largest import"). Households are built from it a slice at a
//! time, in household-id order, when benefits are computed and when they are stored.
//!
//! Every row is checked as it is read, with the same rules and messages as a household sent
//! alone: a household's rows may be anywhere in the file; a member is one person (a repeated
//! member id or an identical row is an error naming the first row); a household keeps one
//! region, residence, category and status.
//!
//! (About 600 lines with its unit tests: the blocks, the text arena, the index and the row checks
//! are one data structure whose parts rely on each other's invariants.)

use std::hash::BuildHasher;

use civic_domain::{region::RegionTree, Fen, RegionCode};

use crate::{
    roll::{Category, Status},
    rules::household::{Household, Income, Member, Residence, MAX_MEMBERS},
    spreadsheet::{self, RowError},
};

/// Entries per block: blocks never move once filled, so a growing roster is never copied.
const BLOCK: usize = 1 << 16;
/// Bytes per text block; a string never spans two.
const TEXT_BLOCK: usize = 1 << 20;
/// Longest household id, member id and income kind, in bytes of UTF-8.
pub const MAX_TEXT: usize = 64;
/// Most income items one member may have on a row.
pub const MAX_INCOMES: usize = 32;
const NONE: u32 = u32::MAX;

/// Append-only storage in fixed blocks, indexed by `u32`.
struct Blocks<T>(Vec<Vec<T>>);

impl<T> Blocks<T> {
    fn new() -> Self {
        Blocks(Vec::new())
    }
    fn len(&self) -> usize {
        self.0.last().map_or(0, |b| (self.0.len() - 1) * BLOCK + b.len())
    }
    /// Its index, or `None` past `u32` (a file far beyond any configured limit).
    fn push(&mut self, v: T) -> Option<u32> {
        let i = u32::try_from(self.len()).ok().filter(|i| *i != NONE)?;
        match self.0.last_mut() {
            Some(b) if b.len() < BLOCK => b.push(v),
            _ => {
                let mut b = Vec::with_capacity(BLOCK);
                b.push(v);
                self.0.push(b);
            }
        }
        Some(i)
    }
    fn get(&self, i: u32) -> &T {
        &self.0[i as usize / BLOCK][i as usize % BLOCK]
    }
    fn get_mut(&mut self, i: u32) -> &mut T {
        &mut self.0[i as usize / BLOCK][i as usize % BLOCK]
    }
}

/// A string in the text arena: block and offset packed in `at`, its length in bytes.
#[derive(Debug, Clone, Copy)]
struct Span {
    at: u32,
    len: u16,
}

#[derive(Default)]
struct Text(Vec<String>);

impl Text {
    fn put(&mut self, s: &str) -> Option<Span> {
        let len = u16::try_from(s.len()).ok().filter(|l| (*l as usize) <= TEXT_BLOCK)?;
        if self.0.last().is_none_or(|b| b.len() + s.len() > TEXT_BLOCK) {
            self.0.push(String::with_capacity(TEXT_BLOCK));
        }
        let block = u32::try_from(self.0.len() - 1).ok().filter(|b| *b < (1 << 12))?;
        let b = self.0.last_mut()?;
        let at = (block << 20) | b.len() as u32;
        b.push_str(s);
        Some(Span { at, len })
    }
    fn get(&self, s: Span) -> &str {
        let (block, at) = ((s.at >> 20) as usize, (s.at & ((1 << 20) - 1)) as usize);
        &self.0[block][at..at + s.len as usize]
    }
}

struct Head {
    id: Span,
    region: RegionCode,
    residence: Residence,
    category: Category,
    status: Status,
    count: u8,
    first_row: u32,
    first: u32,
    last: u32,
}

struct Slot {
    next: u32,
    row: u32,
    id: Span,
    incomes: u32,
    income_count: u8,
    age: u8,
    able: bool,
    proof: bool,
}

struct IncomeSlot {
    kind: Span,
    monthly: Fen,
}

/// A parsed roster: households in the order first met, their members and incomes.
pub struct Roster {
    text: Text,
    heads: Blocks<Head>,
    members: Blocks<Slot>,
    incomes: Blocks<IncomeSlot>,
    /// Income kinds are few ("wage", "pension" …): each is kept once.
    kinds: std::collections::HashMap<String, Span>,
    index: hashbrown::HashTable<u32>,
    /// Seeded per roster; several times faster than the standard SipHash on a million ids.
    hasher: foldhash::fast::RandomState,
}

/// One row's member, checked, before it is kept.
struct RowMember<'a> {
    id: &'a str,
    age: u8,
    able: bool,
    proof: bool,
    incomes: Vec<Income>,
}

impl Roster {
    fn new() -> Self {
        Roster {
            text: Text::default(),
            heads: Blocks::new(),
            members: Blocks::new(),
            incomes: Blocks::new(),
            kinds: std::collections::HashMap::new(),
            index: hashbrown::HashTable::new(),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// What the roster takes in memory, counting whole blocks, and the 12 bytes a household
    /// will take when benefits are computed (its place in id order and its amount).
    pub fn bytes(&self) -> usize {
        use std::mem::size_of;
        let blocks = |n: usize, each: usize| n * BLOCK * each;
        blocks(self.heads.0.len(), size_of::<Head>() + 12)
            + blocks(self.members.0.len(), size_of::<Slot>())
            + blocks(self.incomes.0.len(), size_of::<IncomeSlot>())
            + self.text.0.len() * TEXT_BLOCK
            // hashbrown: a u32 and a control byte a bucket, buckets ≥ 8/7 of the capacity
            + self.index.capacity() * 8 / 7 * 5
            + self.kinds.capacity() * (size_of::<(String, Span)>() + 24)
    }

    /// Room for `households` in the index.
    fn reserve(&mut self, households: usize) {
        let (text, heads, hasher) = (&self.text, &self.heads, &self.hasher);
        self.index.reserve(households, |&j| hasher.hash_one(text.get(heads.get(j).id)));
    }

    /// Households in the file.
    pub fn len(&self) -> usize {
        self.heads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Members in the file.
    pub fn member_count(&self) -> i64 {
        self.members.len() as i64
    }

    /// The household with this id, if the file has it.
    pub fn find(&self, id: &str) -> Option<u32> {
        let (text, heads) = (&self.text, &self.heads);
        self.index.find(self.hasher.hash_one(id), |&i| text.get(heads.get(i).id) == id).copied()
    }

    /// The row where household `i` first appears.
    pub fn first_row(&self, i: u32) -> i64 {
        i64::from(self.heads.get(i).first_row)
    }

    pub fn id(&self, i: u32) -> &str {
        self.text.get(self.heads.get(i).id)
    }

    /// The households in id order (as they are stored).
    pub fn order(&self) -> Vec<u32> {
        let mut order: Vec<u32> = (0..self.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.id(a).cmp(self.id(b)));
        order
    }

    /// Household `i` as the rules see it, with its category and status; or what is wrong with it
    /// (reported on its first row).
    pub fn household(&self, i: u32) -> Result<(Household, Category, Status), Vec<RowError>> {
        let h = self.heads.get(i);
        let mut members = Vec::with_capacity(h.count as usize);
        let mut at = h.first;
        while at != NONE {
            let m = self.members.get(at);
            let incomes = (m.incomes..m.incomes + u32::from(m.income_count))
                .map(|j| {
                    let inc = self.incomes.get(j);
                    Income { kind: self.text.get(inc.kind).to_string(), monthly: inc.monthly }
                })
                .collect();
            members.push(Member {
                id: self.text.get(m.id).to_string(),
                age: u32::from(m.age),
                able_bodied: m.able,
                has_income_proof: m.proof,
                incomes,
            });
            at = m.next;
        }
        Household::new(self.text.get(h.id).to_string(), h.region, h.residence, members, "household")
            .map(|household| (household, h.category, h.status))
            .map_err(|v| {
                v.into_iter()
                    .map(|v| RowError { row: i64::from(h.first_row), field: v.field, message: v.description })
                    .collect()
            })
    }

    fn same_row(&self, m: &Slot, new: &RowMember) -> bool {
        self.text.get(m.id) == new.id
            && m.age == new.age
            && m.able == new.able
            && m.proof == new.proof
            && usize::from(m.income_count) == new.incomes.len()
            && new.incomes.iter().enumerate().all(|(j, inc)| {
                let kept = self.incomes.get(m.incomes + j as u32);
                self.text.get(kept.kind) == inc.kind && kept.monthly == inc.monthly
            })
    }

    fn too_large() -> String {
        "the file is too large to import at once: split it by county".to_string()
    }

    /// Keep a member: a new household, or one more member of a household met before.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        rn: u32,
        id: &str,
        region: RegionCode,
        residence: Residence,
        category: Category,
        status: Status,
        member: RowMember,
    ) -> Result<(), (&'static str, String)> {
        let found = self.find(id);
        if let Some(i) = found {
            let h = self.heads.get(i);
            // Checked before the members are compared, so a file cannot make that comparison long.
            if usize::from(h.count) >= MAX_MEMBERS {
                return Err((
                    "household_id",
                    format!("household {id} has more than {MAX_MEMBERS} members: it is not one household"),
                ));
            }
            let mut at = h.first;
            while at != NONE {
                let m = self.members.get(at);
                if !member.id.is_empty() && self.text.get(m.id) == member.id {
                    return Err((
                        "member_id",
                        format!("member {} of household {id} is already on row {}", member.id, m.row),
                    ));
                }
                at = m.next;
            }
            let mut at = h.first;
            while at != NONE {
                let m = self.members.get(at);
                if self.same_row(m, &member) {
                    return Err((
                        "member_id",
                        format!(
                            "identical to row {} of household {id}: a repeated row is not another person; \
                             give two people with the same details their own member_id",
                            m.row
                        ),
                    ));
                }
                at = m.next;
            }
            if h.region != region || h.residence != residence || h.category != category || h.status != status {
                return Err((
                    "household_id",
                    format!(
                        "household {id} has different region, residence, category or status than on row {}",
                        h.first_row
                    ),
                ));
            }
        }
        let incomes = match member.incomes.first() {
            None => 0,
            Some(_) => {
                let mut first = None;
                for inc in &member.incomes {
                    let kind = match self.kinds.get(&inc.kind) {
                        Some(k) => *k,
                        None => {
                            let k = self.text.put(&inc.kind).ok_or_else(|| ("incomes", Self::too_large()))?;
                            self.kinds.insert(inc.kind.clone(), k);
                            k
                        }
                    };
                    let j = self
                        .incomes
                        .push(IncomeSlot { kind, monthly: inc.monthly })
                        .ok_or_else(|| ("incomes", Self::too_large()))?;
                    first.get_or_insert(j);
                }
                first.unwrap_or(0)
            }
        };
        let slot = Slot {
            next: NONE,
            row: rn,
            id: self.text.put(member.id).ok_or_else(|| ("member_id", Self::too_large()))?,
            incomes,
            income_count: member.incomes.len() as u8,
            age: member.age,
            able: member.able,
            proof: member.proof,
        };
        let m = self.members.push(slot).ok_or_else(|| ("member_id", Self::too_large()))?;
        match found {
            Some(i) => {
                let last = self.heads.get(i).last;
                self.members.get_mut(last).next = m;
                let h = self.heads.get_mut(i);
                h.last = m;
                h.count += 1;
            }
            None => {
                let span = self.text.put(id).ok_or_else(|| ("household_id", Self::too_large()))?;
                let head =
                    Head { id: span, region, residence, category, status, count: 1, first_row: rn, first: m, last: m };
                let i = self.heads.push(head).ok_or_else(|| ("household_id", Self::too_large()))?;
                let (text, heads, hasher) = (&self.text, &self.heads, &self.hasher);
                self.index.insert_unique(hasher.hash_one(id), i, |&j| hasher.hash_one(text.get(heads.get(j).id)));
            }
        }
        Ok(())
    }
}

/// At most this many row errors are reported; the rest are counted.
const MAX_ERRORS: usize = 1000;

/// A household as the rules see it, with its category and status.
pub type Built = (Household, Category, Status);

/// Where a reader hands on households it has moved past, a slice at a time, so that they can be
/// stored while the rest of the file is read. It hands them on only while the file could still
/// be stored: no row has a problem so far, and each household's rows are together (as in a roll
/// exported from a register) — so a household handed on gets no later rows. Once either stops
/// being true it hands on nothing more; whoever follows then learns from the roster whether it
/// got every household ([`Roster::len`]) and from the errors whether the file can be stored.
pub struct Follow {
    to: tokio::sync::mpsc::Sender<Vec<Built>>,
    /// Households handed on: the first `sent` of the roster (in the order first met).
    sent: u32,
    slice: u32,
}

impl Follow {
    pub fn new(to: tokio::sync::mpsc::Sender<Vec<Built>>, slice: usize) -> Follow {
        Follow { to, sent: 0, slice: u32::try_from(slice).unwrap_or(u32::MAX).max(1) }
    }
}

/// Reads rows into a roster, collecting every problem with its row and column.
pub struct Reader<'t> {
    tree: &'t RegionTree,
    scope: RegionCode,
    /// Most bytes the roster may take; past it the file is refused and the rest not kept.
    budget: usize,
    full: bool,
    roster: Roster,
    errors: Vec<RowError>,
    col: spreadsheet::ColumnPlaces,
    header_ok: Option<bool>,
    dropped: usize,
    follow: Option<Follow>,
}

impl<'t> Reader<'t> {
    /// Rows of households within `scope`, keeping at most `budget` bytes of them.
    pub fn new(tree: &'t RegionTree, scope: RegionCode, budget: usize) -> Self {
        Reader {
            tree,
            scope,
            budget,
            full: false,
            roster: Roster::new(),
            errors: Vec::new(),
            col: [None; spreadsheet::COLUMNS.len()],
            header_ok: None,
            dropped: 0,
            follow: None,
        }
    }

    /// Hand on households as the file moves past them (see [`Follow`]), if asked to.
    pub fn following(mut self, follow: Option<Follow>) -> Self {
        self.follow = follow;
        self
    }

    /// After a row of household `id` was kept: hand on a slice of the households before it, once
    /// there is one; stop following if the row belongs to a household met before the last.
    fn follow_on(&mut self, id: &str) {
        let last = self.roster.len() as u32 - 1;
        let ok = self.errors.is_empty() && self.roster.id(last) == id;
        match &self.follow {
            Some(f) if ok && last - f.sent >= f.slice => self.hand_on(last),
            Some(_) if !ok => self.follow = None,
            _ => {}
        }
    }

    /// Hand on households up to (not including) `upto`; stop following if one cannot be built
    /// (its problem is reported when the roster is checked) or nobody takes them any more.
    fn hand_on(&mut self, upto: u32) {
        let Some(f) = &mut self.follow else { return };
        if upto <= f.sent {
            return;
        }
        let handed = match (f.sent..upto).map(|i| self.roster.household(i)).collect::<Result<Vec<Built>, _>>() {
            Ok(built) => f.to.blocking_send(built).is_ok(),
            Err(_) => false,
        };
        if handed {
            f.sent = upto;
        } else {
            self.follow = None;
        }
    }

    /// Read a whole file at once (XLSX, or a CSV already in memory).
    pub fn read_bytes(mut self, format: spreadsheet::Format, content: &[u8]) -> (Roster, Vec<RowError>) {
        if format == spreadsheet::Format::Csv {
            // Room for the households of a CSV at once (half a household a line: most have
            // more than one member), instead of growing the index a doubling at a time; never
            // more than an eighth of the memory an import may take.
            let lines = content.iter().filter(|&&b| b == b'\n').count();
            self.roster.reserve((lines / 2).min(self.budget / 8 / 6));
        }
        let read = spreadsheet::for_each_row(format, content, |rn, cells| self.row(rn, cells));
        self.finish(read)
    }

    /// Read a CSV file as it arrives.
    pub fn read_csv(mut self, source: impl std::io::Read) -> (Roster, Vec<RowError>) {
        let read = civic_runtime::tabular::for_each_csv_row(source, |rn, cells| self.row(rn, cells));
        self.finish(read)
    }

    fn finish(mut self, read: Result<(), String>) -> (Roster, Vec<RowError>) {
        if let Err(e) = read {
            self.errors.push(RowError { row: 0, field: String::new(), message: e });
        }
        if self.header_ok.is_none() {
            self.errors.push(RowError { row: 1, field: String::new(), message: "the file is empty".into() });
        }
        if self.dropped > 0 {
            self.errors.push(RowError {
                row: 0,
                field: String::new(),
                message: format!("{} more rows not checked after {MAX_ERRORS} errors", self.dropped),
            });
        }
        if self.errors.is_empty() {
            self.hand_on(self.roster.len() as u32);
        }
        // Whoever follows learns that the file has ended.
        self.follow = None;
        self.errors.sort_by_key(|e| e.row);
        (self.roster, self.errors)
    }

    fn row(&mut self, rn: i64, row: &[&str]) {
        let Some(ok) = self.header_ok else {
            self.errors.extend(spreadsheet::header_columns(row, &mut self.col));
            self.header_ok = Some(self.errors.is_empty());
            return;
        };
        if !ok || self.full || row.iter().all(|c| c.is_empty()) {
            return;
        }
        if self.roster.bytes() > self.budget {
            self.full = true;
            self.errors.push(RowError {
                row: rn,
                field: String::new(),
                message: format!(
                    "the households up to this row take more than the {} MB one import may hold \
                     (CIVIC_MAX_IMPORT_MEMORY_BYTES): import the roll in parts, e.g. by county",
                    self.budget / 1_000_000
                ),
            });
            return;
        }
        if self.errors.len() >= MAX_ERRORS {
            self.dropped += 1;
            return;
        }
        let errors_before = self.errors.len();
        let col = &self.col;
        // A column by its name, found at compile time among the columns (no lookup per cell).
        macro_rules! get {
            ($name:literal) => {{
                const K: usize = spreadsheet::column($name);
                col[K].and_then(|c| row.get(c)).copied().unwrap_or("")
            }};
        }
        let errors = &mut self.errors;
        let mut err = |field: &str, message: String| errors.push(RowError { row: rn, field: field.into(), message });
        let Ok(rn32) = u32::try_from(rn) else {
            err("", Roster::too_large());
            return;
        };
        let id = get!("household_id");
        if id.is_empty() || id.len() > MAX_TEXT || id.chars().any(char::is_control) {
            err("household_id", "required, at most 64 characters, no control characters".into());
            return;
        }
        let region = match self.tree.resolve(get!("region_code")) {
            Ok(r) if self.tree.is_within(r.code, self.scope) => Some(r.code),
            Ok(r) => {
                err("region_code", format!("{} is outside the import region {}", r.code, self.scope));
                None
            }
            Err(e) => {
                err("region_code", e.to_string());
                None
            }
        };
        let res = spreadsheet::residence(get!("residence"));
        if res.is_none() {
            err("residence", format!("'{}': urban/rural or 城市/农村", get!("residence")));
        }
        let cat = Category::parse(get!("category"));
        if cat.is_none() {
            err("category", format!("'{}': dibao or low_income", get!("category")));
        }
        let status = if get!("status").is_empty() { Some(Status::Active) } else { Status::parse(get!("status")) };
        if status.is_none() {
            err("status", format!("'{}': active, suspended or closed", get!("status")));
        }
        let age = get!("age").parse::<u8>().ok().filter(|a| u32::from(*a) <= crate::rules::household::MAX_AGE);
        if age.is_none() {
            err("age", format!("'{}': whole years, 0–130", get!("age")));
        }
        let able = spreadsheet::yes_no(get!("able_bodied"));
        if able.is_none() {
            err("able_bodied", format!("'{}': true/false or 是/否", get!("able_bodied")));
        }
        let proof = spreadsheet::yes_no(get!("has_income_proof"));
        if proof.is_none() {
            err("has_income_proof", format!("'{}': true/false or 是/否", get!("has_income_proof")));
        }
        let incomes = match spreadsheet::incomes(get!("incomes")) {
            Ok(v) if v.len() > MAX_INCOMES => {
                err("incomes", format!("{} income items: at most {MAX_INCOMES} per member", v.len()));
                None
            }
            Ok(v) if v.iter().any(|i| i.kind.len() > MAX_TEXT) => {
                err("incomes", "an income kind is at most 64 characters".into());
                None
            }
            Ok(v) => Some(v),
            Err(e) => {
                err("incomes", e);
                None
            }
        };
        let member_id = get!("member_id").trim();
        if member_id.len() > MAX_TEXT || member_id.chars().any(char::is_control) {
            err("member_id", "at most 64 characters, no control characters".into());
        }
        if self.errors.len() > errors_before {
            return;
        }
        let (Some(region), Some(res), Some(cat), Some(status), Some(age), Some(able), Some(proof), Some(incomes)) =
            (region, res, cat, status, age, able, proof, incomes)
        else {
            return;
        };
        let member = RowMember { id: member_id, age, able, proof, incomes };
        match self.roster.add(rn32, id, region, res, cat, status, member) {
            Ok(()) if self.follow.is_some() => self.follow_on(id),
            Ok(()) => {}
            Err((field, message)) => self.errors.push(RowError { row: rn, field: field.into(), message }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TREE: &str = "code,name,kind,parent\n000000,全国,country,\n210000,辽宁省,province,000000\n\
                        210500,本溪市,city,210000\n210502,平山区,district,210500\n";
    const HEADER: &str =
        "household_id,region_code,residence,category,status,member_id,age,able_bodied,has_income_proof,incomes\n";

    fn read(rows: &str, budget: usize) -> (Roster, Vec<RowError>) {
        let tree = RegionTree::from_csv("regions.csv", TREE).unwrap();
        let scope = RegionCode::parse("210500").unwrap();
        Reader::new(&tree, scope, budget).read_csv(format!("{HEADER}{rows}").as_bytes())
    }

    /// Read `rows` following with slices of `slice`: the roster, the errors and the ids of each
    /// slice handed on, in order.
    fn followed(rows: &str, slice: usize) -> (Roster, Vec<RowError>, Vec<Vec<String>>) {
        let tree = RegionTree::from_csv("regions.csv", TREE).unwrap();
        let scope = RegionCode::parse("210500").unwrap();
        let (to, mut handed) = tokio::sync::mpsc::channel(64);
        let (roster, errors) = Reader::new(&tree, scope, usize::MAX)
            .following(Some(Follow::new(to, slice)))
            .read_csv(format!("{HEADER}{rows}").as_bytes());
        let mut slices = Vec::new();
        while let Ok(built) = handed.try_recv() {
            slices.push(built.into_iter().map(|(h, _, _)| h.id).collect());
        }
        (roster, errors, slices)
    }

    fn one_row_each(ids: &[&str]) -> String {
        ids.iter().map(|id| format!("{id},210502,urban,dibao,,m1,40,false,true,\n")).collect()
    }

    /// Households are handed on a slice at a time once the file has moved past them, the last
    /// when the file ends; a household met again later, or any problem, stops the handing on,
    /// so whoever follows sees fewer households than the roster holds.
    #[test]
    fn households_are_handed_on_as_the_file_moves_past_them() {
        let (roster, errors, slices) = followed(&one_row_each(&["H0", "H1", "H2", "H3", "H4", "H5", "H6"]), 2);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(slices, [vec!["H0", "H1"], vec!["H2", "H3"], vec!["H4", "H5"], vec!["H6"]]);
        assert_eq!(roster.len(), 7);

        // H0's second member comes after H2: H0 and H1 were handed on, nothing after.
        let apart = format!(
            "{}H0,210502,urban,dibao,,m2,9,false,true,\n{}",
            one_row_each(&["H0", "H1", "H2"]),
            one_row_each(&["H3", "H4", "H5"])
        );
        let (roster, errors, slices) = followed(&apart, 2);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(slices, [vec!["H0", "H1"]]);
        assert_eq!((roster.len(), roster.member_count()), (6, 7));

        // A problem on the last row: what was handed on stays short of the roster.
        let bad = format!("{}H9,210502,urban,dibao,,m1,old,false,true,\n", one_row_each(&["H0", "H1", "H2", "H3"]));
        let (roster, errors, slices) = followed(&bad, 2);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(slices, [vec!["H0", "H1"]]);
        assert_eq!(roster.len(), 4);

        // Members of one household together, then the next: whole households are handed on.
        let together = "H0,210502,urban,dibao,,a,40,false,true,\nH0,210502,urban,dibao,,b,10,false,true,\n\
                        H1,210502,urban,dibao,,a,40,false,true,\nH2,210502,urban,dibao,,a,40,false,true,\n";
        let (_, errors, slices) = followed(together, 1);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(slices, [vec!["H0"], vec!["H1"], vec!["H2"]]);
    }

    #[test]
    fn a_households_rows_may_be_anywhere() {
        let (roster, errors) = read(
            "H2,210502,urban,dibao,,a,40,false,true,wage:900;pension:100\n\
             H1,210502,rural,low_income,,x,30,true,true,\n\
             H2,210502,urban,dibao,,b,12,false,false,wage:50\n",
            usize::MAX,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!((roster.len(), roster.member_count()), (2, 3));
        let order: Vec<&str> = roster.order().into_iter().map(|i| roster.id(i)).collect();
        assert_eq!(order, ["H1", "H2"]);
        let h2 = roster.find("H2").unwrap();
        assert_eq!(roster.first_row(h2), 2);
        let (h, category, _) = roster.household(h2).unwrap();
        assert_eq!(category, Category::Dibao);
        let members: Vec<(&str, u32, usize)> =
            h.members().iter().map(|m| (m.id.as_str(), m.age, m.incomes.len())).collect();
        assert_eq!(members, [("a", 40, 2), ("b", 12, 1)]);
        assert_eq!(h.members()[0].incomes[1].kind, "pension");
        assert_eq!(h.members()[1].incomes[0].monthly, Fen::new(5_000));
        assert!(roster.find("H3").is_none());
    }

    #[test]
    fn a_member_is_one_person_and_a_household_one_kind() {
        let (_, errors) = read(
            "H1,210502,urban,dibao,,a,40,false,true,\n\
             H1,210502,urban,dibao,,a,41,false,true,\n\
             H1,210502,urban,dibao,,,9,false,true,\n\
             H1,210502,urban,dibao,,,9,false,true,\n\
             H1,210502,rural,dibao,,c,9,false,true,\n",
            usize::MAX,
        );
        let got: Vec<(i64, &str)> = errors.iter().map(|e| (e.row, e.field.as_str())).collect();
        assert_eq!(got, [(3, "member_id"), (5, "member_id"), (6, "household_id")], "{errors:?}");
        assert!(errors[0].message.contains("already on row 2"));
        assert!(errors[1].message.contains("identical to row 4"));
    }

    /// Strings are kept whole when the text arena moves to its next block; lookups still work.
    #[test]
    fn many_households_across_text_blocks() {
        let n = 40_000;
        let rows: String =
            (0..n).map(|i| format!("{i:0>40},210502,urban,dibao,,member-{i:0>30},30,false,true,\n")).collect();
        let (roster, errors) = read(&rows, usize::MAX);
        assert!(errors.is_empty());
        assert!(roster.text.0.len() > 2, "the test must cross text blocks");
        for i in [0, 1, n / 2, n - 1] {
            let id = format!("{i:0>40}");
            let h = roster.find(&id).unwrap();
            let (household, _, _) = roster.household(h).unwrap();
            assert_eq!(household.id, id);
            assert_eq!(household.members()[0].id, format!("member-{i:0>30}"));
        }
        // The same file within a budget smaller than it needs: refused where it is reached.
        let (_, errors) = read(&rows, 4 << 20);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].row > 2 && errors[0].message.contains("CIVIC_MAX_IMPORT_MEMORY_BYTES"), "{errors:?}");
    }
}
