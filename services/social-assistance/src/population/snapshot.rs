//! The compact roll as bytes, kept in the database so that a replica's first what-if after a
//! start reads one value instead of every household: little-endian, in the order of
//! [`Population`]'s fields, behind a format tag. Reading checks every length and index against
//! what it has read; anything that does not fit is `None` (the caller reads the roll instead).

use super::{CompactHousehold, CompactMember, Population};
use crate::{
    roll::{Category, Status},
    rules::household::Residence,
};
use civic_domain::RegionCode;

/// Changes whenever the layout below does: a snapshot in another layout is not read.
const FORMAT: &str = "civic-population-1";

/// What a snapshot must have been written with to be read now: this layout and the same
/// excludable income kinds (the compact form depends on them).
pub fn signature(kinds: &[String]) -> String {
    format!("{FORMAT};{}", kinds.join(","))
}

struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn len(&mut self, n: usize) {
        self.0.extend_from_slice(&(n as u64).to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.len(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }
}

struct In<'a>(&'a [u8]);

impl<'a> In<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    /// A count, refused when even `min_size` bytes per item would not fit in what is left.
    fn len(&mut self, min_size: usize) -> Option<usize> {
        let n = usize::try_from(u64::from_le_bytes(self.take(8)?.try_into().ok()?)).ok()?;
        (n.checked_mul(min_size)? <= self.0.len()).then_some(n)
    }
    fn str(&mut self) -> Option<&'a str> {
        let n = self.len(1)?;
        std::str::from_utf8(self.take(n)?).ok()
    }
    fn bool(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
}

fn residence(r: Residence) -> u8 {
    match r {
        Residence::Urban => 0,
        Residence::Rural => 1,
    }
}

fn category(c: Category) -> u8 {
    match c {
        Category::Dibao => 0,
        Category::LowIncome => 1,
    }
}

fn status(s: Status) -> u8 {
    match s {
        Status::Active => 0,
        Status::Suspended => 1,
        Status::Closed => 2,
    }
}

impl Population {
    /// The population as a snapshot's bytes: a household takes 22 bytes, a member 18, an
    /// excludable income 10, an id its length and 4.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut o = Out(Vec::with_capacity(
            64 + self.households.len() * 22 + self.members.len() * 18 + self.excludable.len() * 10 + self.ids.len(),
        ));
        o.str(FORMAT);
        o.len(self.kinds.len());
        for k in &self.kinds {
            o.str(k);
        }
        o.len(self.regions.len());
        for r in &self.regions {
            o.str(r.as_str());
        }
        o.len(self.households.len());
        for h in &self.households {
            o.u32(h.region);
            o.u8(residence(h.residence));
            o.u8(category(h.category));
            o.u8(status(h.status));
            o.u32(h.first_member);
            o.u16(h.members);
            o.u8(h.simple.into());
            o.i64(h.plain_income);
        }
        o.len(self.members.len());
        for m in &self.members {
            o.u32(m.age);
            o.u8(m.imputable.into());
            o.i64(m.plain_income);
            o.u32(m.first_excl);
            o.u8(m.n_excl);
        }
        o.len(self.excludable.len());
        for (k, fen) in &self.excludable {
            o.u16(*k);
            o.i64(*fen);
        }
        o.str(&self.ids);
        o.len(self.id_ends.len());
        for e in &self.id_ends {
            o.u32(*e);
        }
        o.0
    }

    /// A population from a snapshot's bytes, or `None` when they are not one written by
    /// [`Population::to_bytes`] with `kinds` (another layout, other kinds, cut short, or an index
    /// pointing outside what was read).
    pub fn from_bytes(bytes: &[u8], kinds: &[String]) -> Option<Population> {
        let mut i = In(bytes);
        if i.str()? != FORMAT {
            return None;
        }
        let stored: Vec<String> = (0..i.len(8)?).map(|_| i.str().map(str::to_string)).collect::<Option<_>>()?;
        if stored != kinds {
            return None;
        }
        let mut pop = Population::new(kinds);
        let n = i.len(8)?;
        for _ in 0..n {
            let r = RegionCode::parse(i.str()?).ok()?;
            pop.region_index.insert(r, pop.regions.len() as u32);
            pop.regions.push(r);
        }
        if pop.region_index.len() != pop.regions.len() {
            return None;
        }
        let n = i.len(22)?;
        pop.households.reserve_exact(n);
        for _ in 0..n {
            let h = CompactHousehold {
                region: i.u32()?,
                residence: match i.u8()? {
                    0 => Residence::Urban,
                    1 => Residence::Rural,
                    _ => return None,
                },
                category: match i.u8()? {
                    0 => Category::Dibao,
                    1 => Category::LowIncome,
                    _ => return None,
                },
                status: match i.u8()? {
                    0 => Status::Active,
                    1 => Status::Suspended,
                    2 => Status::Closed,
                    _ => return None,
                },
                first_member: i.u32()?,
                members: i.u16()?,
                simple: i.bool()?,
                plain_income: i.i64()?,
            };
            if h.region as usize >= pop.regions.len() {
                return None;
            }
            pop.households.push(h);
        }
        let n = i.len(18)?;
        pop.members.reserve_exact(n);
        for _ in 0..n {
            pop.members.push(CompactMember {
                age: i.u32()?,
                imputable: i.bool()?,
                plain_income: i.i64()?,
                first_excl: i.u32()?,
                n_excl: i.u8()?,
            });
        }
        let n = i.len(10)?;
        pop.excludable.reserve_exact(n);
        for _ in 0..n {
            let k = i.u16()?;
            if k as usize >= kinds.len() {
                return None;
            }
            pop.excludable.push((k, i.i64()?));
        }
        pop.ids = i.str()?.to_string();
        let n = i.len(4)?;
        pop.id_ends.reserve_exact(n);
        for _ in 0..n {
            pop.id_ends.push(i.u32()?);
        }
        // Every index within what was read, so the kernels never look outside an array.
        let members_fit =
            pop.households.iter().all(|h| (h.first_member as usize + h.members as usize) <= pop.members.len());
        let incomes_fit =
            pop.members.iter().all(|m| (m.first_excl as usize + m.n_excl as usize) <= pop.excludable.len());
        let ids_fit = pop.id_ends.len() == pop.households.len()
            && pop.id_ends.windows(2).all(|w| w[0] <= w[1])
            && pop.id_ends.last().is_none_or(|e| *e as usize == pop.ids.len())
            && pop.id_ends.iter().all(|e| pop.ids.is_char_boundary(*e as usize));
        (i.0.is_empty() && members_fit && incomes_fit && ids_fit).then_some(pop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::population::MemberInput;

    fn small() -> (Population, Vec<String>) {
        let kinds = vec!["award".to_string()];
        let mut p = Population::new(&kinds);
        let incomes = [("wage".to_string(), 90_000i64), ("award".to_string(), 5_000)];
        for (i, region) in ["210502", "210521", "210502"].iter().enumerate() {
            let members = (0..=i).map(|m| MemberInput {
                age: 30 + m as u32,
                able_bodied: m == 0,
                has_income_proof: i == 1,
                incomes: &incomes[..m.min(2)],
            });
            let code = RegionCode::parse(region).unwrap();
            p.push(&format!("H{i}李"), code, Residence::Urban, Category::Dibao, Status::Active, members);
        }
        (p, kinds)
    }

    /// Cut short anywhere, written with other income kinds or in another layout, or with an
    /// index that points past what was read: not a population.
    #[test]
    fn only_a_whole_snapshot_of_the_same_kinds_is_read() {
        let (p, kinds) = small();
        let bytes = p.to_bytes();
        let back = Population::from_bytes(&bytes, &kinds).expect("read back");
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!((back.len(), back.id(2)), (3, "H2李"));
        for cut in 0..bytes.len() {
            assert!(Population::from_bytes(&bytes[..cut], &kinds).is_none(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(Population::from_bytes(&longer, &kinds).is_none());
        assert!(Population::from_bytes(&bytes, &["pension".to_string()]).is_none());
        assert!(Population::from_bytes(&bytes, &[]).is_none());
        let mut other = bytes.clone();
        other[8] = b'X'; // the format tag
        assert!(Population::from_bytes(&other, &kinds).is_none());
        let mut tampered = p;
        tampered.households[2].members = 9;
        assert!(Population::from_bytes(&tampered.to_bytes(), &kinds).is_none());
        assert_ne!(signature(&kinds), signature(&[]));
    }
}
