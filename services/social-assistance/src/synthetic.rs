//! A seeded synthetic roll for benchmarks and load tests: households spread over Benxi's
//! districts and counties, 1–6 members (about 2.6 on average), incomes drawn so that about 30 %
//! are eligible for 低保 under the 2019-07-01 standards, plus some low-income households. The
//! same seed always gives the same roll.

use std::fmt::Write as _;

const REGIONS: [&str; 7] = ["210502", "210503", "210504", "210505", "210521", "210522", "210571"];

/// xorshift64*: small, fast, deterministic; not for anything but test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in 0..n.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

/// Member counts with an average of about 2.6.
fn members(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=19 => 1,
        20..=49 => 2,
        50..=79 => 3,
        80..=91 => 4,
        92..=97 => 5,
        _ => 6,
    }
}

/// Write `households` households as roll CSV (the import format) into `out`.
pub fn roll_csv(households: usize, seed: u64, out: &mut String) {
    let mut rng = Rng::new(seed);
    out.push_str(
        "household_id,region_code,residence,category,status,member_id,age,able_bodied,has_income_proof,incomes\n",
    );
    for i in 0..households {
        let region = REGIONS[rng.below(REGIONS.len() as u64) as usize];
        let rural = rng.below(100) < 30;
        let residence = if rural { "rural" } else { "urban" };
        let category = if rng.below(100) < 85 { "dibao" } else { "low_income" };
        let n = members(&mut rng);
        // Per-capita income around the standard: ~30 % below it.
        let std = if rural { 417 } else { 622 };
        let eligible = rng.below(100) < 30;
        let per_capita = if eligible { rng.below(std) } else { std + rng.below(std) };
        let household_income = per_capita * n as u64;
        for m in 0..n {
            let age = if m == 0 { 25 + rng.below(50) } else { rng.below(90) };
            let income = if m == 0 { household_income } else { 0 };
            let _ = writeln!(
                out,
                "S{i:08},{region},{residence},{category},active,m{m},{age},false,true,{}",
                if income > 0 { format!("wage:{income}") } else { String::new() }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_roll() {
        let (mut a, mut b) = (String::new(), String::new());
        roll_csv(100, 7, &mut a);
        roll_csv(100, 7, &mut b);
        assert_eq!(a, b);
        let rows = a.lines().count() - 1;
        assert!((200..=320).contains(&rows), "{rows} member rows for 100 households");
    }
}
