//! City subsidy by factors (因素法分配, 本政办发〔2019〕25号 三): a pot is split among counties by
//! weighted factors. For a "more gets more" factor (workload, performance, efficiency) a county's
//! share is its value over the sum; for a "less gets more" factor (fiscal capacity, rolled-over
//! balance) it is the inverse of its value over the sum of inverses. A county's composite share
//! is Σ weight × factor share; amounts are the pot × share in fen, floored, and the fen left over
//! go one each to the largest remainders (ties to the lower region code), so they sum to the pot.

use civic_domain::{
    explanation::{SourceRef, Step, Trace},
    DomainError, Fen, RegionCode,
};
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    MoreGetsMore,
    LessGetsMore,
}

#[derive(Debug, Clone)]
pub struct Factor {
    pub name: String,
    pub weight: Decimal,
    pub direction: Direction,
}

#[derive(Debug, Clone)]
pub struct CountyInput {
    pub region: RegionCode,
    pub values: Vec<Decimal>,
}

#[derive(Debug, Clone)]
pub struct CountyShare {
    pub region: RegionCode,
    pub factor_shares: Vec<Decimal>,
    pub share: Decimal,
    pub amount: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    #[error("{field}: {message}")]
    Input { field: String, message: String },
    #[error(transparent)]
    Domain(#[from] DomainError),
}

fn input(field: impl Into<String>, message: impl Into<String>) -> SplitError {
    SplitError::Input { field: field.into(), message: message.into() }
}

pub fn split(
    pot: Fen,
    factors: &[Factor],
    counties: &[CountyInput],
    rule: SourceRef,
) -> Result<(Vec<CountyShare>, Trace), SplitError> {
    if pot.is_negative() {
        return Err(input("pot_fen", "the pot must not be negative"));
    }
    if factors.is_empty() {
        return Err(input("factors", "at least one factor is required"));
    }
    if counties.is_empty() {
        return Err(input("counties", "at least one county is required"));
    }
    let mut weight_sum = Decimal::ZERO;
    for (i, f) in factors.iter().enumerate() {
        if f.weight <= Decimal::ZERO || f.weight > Decimal::ONE {
            return Err(input(format!("factors[{i}].weight"), "a weight is a fraction in (0, 1]"));
        }
        weight_sum += f.weight;
    }
    if weight_sum != Decimal::ONE {
        return Err(input("factors", format!("weights must sum to exactly 1, not {weight_sum}")));
    }
    for (c, county) in counties.iter().enumerate() {
        if county.values.len() != factors.len() {
            return Err(input(
                format!("counties[{c}].values"),
                format!("{} values for {} factors", county.values.len(), factors.len()),
            ));
        }
        if counties[..c].iter().any(|o| o.region == county.region) {
            return Err(input(format!("counties[{c}].region_code"), "each county appears once"));
        }
    }
    let mut trace = Trace::default();
    let n = counties.len();
    let mut factor_shares = vec![vec![Decimal::ZERO; factors.len()]; n];
    for (fi, f) in factors.iter().enumerate() {
        let mut basis = Vec::with_capacity(n);
        for (ci, c) in counties.iter().enumerate() {
            let v = c.values[fi];
            if v < Decimal::ZERO {
                return Err(input(format!("counties[{ci}].values[{fi}]"), "factor values must not be negative"));
            }
            basis.push(match f.direction {
                Direction::MoreGetsMore => v,
                Direction::LessGetsMore => {
                    if v.is_zero() {
                        return Err(input(
                            format!("counties[{ci}].values[{fi}]"),
                            "a 'less gets more' factor needs a positive value (its inverse is used)",
                        ));
                    }
                    Decimal::ONE.checked_div(v).ok_or(DomainError::Overflow("factor inverse"))?
                }
            });
        }
        let total: Decimal = basis.iter().copied().sum();
        if total.is_zero() {
            return Err(input(
                format!("factors[{fi}]"),
                "every county has 0 for this factor: it cannot divide anything",
            ));
        }
        let mut lines = Vec::new();
        for ci in 0..n {
            let s = basis[ci].checked_div(total).ok_or(DomainError::Overflow("factor share"))?;
            factor_shares[ci][fi] = s;
            lines.push(format!("{} {}", counties[ci].region, s.round_dp(6)));
        }
        trace.push(Step {
            rule_id: "subsidy.factor_split".into(),
            description: format!(
                "因素「{}」权重 {}:{}",
                f.name,
                f.weight,
                match f.direction {
                    Direction::MoreGetsMore => "数值越大分配越多,份额 = 本县数值 ÷ 各县合计",
                    Direction::LessGetsMore => "数值越小分配越多,份额 = 本县数值倒数 ÷ 各县倒数合计",
                }
            ),
            formula: lines.join("; "),
            result: String::new(),
            parameters: vec![],
            source: Some(rule.clone()),
        });
    }
    let pot_d = Decimal::from(pot.get());
    let mut out = Vec::with_capacity(n);
    let mut floors_sum: i64 = 0;
    let mut remainders = Vec::with_capacity(n);
    for (ci, c) in counties.iter().enumerate() {
        let share: Decimal = factors.iter().zip(&factor_shares[ci]).map(|(f, s)| f.weight * s).sum();
        let exact = pot_d.checked_mul(share).ok_or(DomainError::Overflow("subsidy amount"))?;
        let floor = exact.floor();
        let fen = i64::try_from(floor).map_err(|_| DomainError::Overflow("subsidy amount"))?;
        floors_sum = floors_sum.checked_add(fen).ok_or(DomainError::Overflow("subsidy sum"))?;
        remainders.push((exact - floor, c.region, ci));
        out.push(CountyShare {
            region: c.region,
            factor_shares: factor_shares[ci].clone(),
            share,
            amount: Fen::new(fen),
        });
    }
    let mut left = pot.get() - floors_sum;
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut bumped = Vec::new();
    // Precision drift can leave more or fewer than n fen; cycle until the sum is exact.
    while left != 0 {
        for (_, region, ci) in &remainders {
            if left == 0 {
                break;
            }
            let step = if left > 0 { 1 } else { -1 };
            out[*ci].amount = Fen::new(out[*ci].amount.get() + step);
            left -= step;
            bumped.push(region.to_string());
        }
    }
    let sum = Fen::checked_sum(out.iter().map(|c| c.amount))?;
    trace.push(Step {
        rule_id: "subsidy.factor_split".into(),
        description: "各县综合份额 = Σ 权重 × 因素份额;金额 = 资金总额 × 综合份额,取整到分,余数按最大余额法逐分分配"
            .into(),
        formula: out
            .iter()
            .map(|c| format!("{}: {} × {} → {}", c.region, pot.yuan_text(), c.share.round_dp(8), c.amount.yuan_text()))
            .collect::<Vec<_>>()
            .join("; "),
        result: format!(
            "合计 {}(与资金总额一致){}",
            sum.yuan_text(),
            if bumped.is_empty() { String::new() } else { format!(";余数 1 分依次分给 {}", bumped.join("、")) }
        ),
        parameters: vec![],
        source: Some(rule),
    });
    Ok((out, trace))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn code(s: &str) -> RegionCode {
        RegionCode::parse(s).unwrap()
    }

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn thirds_sum_to_the_pot_by_largest_remainder() {
        let factors =
            vec![Factor { name: "保障任务".into(), weight: Decimal::ONE, direction: Direction::MoreGetsMore }];
        let counties: Vec<CountyInput> = ["210502", "210503", "210504"]
            .iter()
            .map(|c| CountyInput { region: code(c), values: vec![Decimal::ONE] })
            .collect();
        let (shares, _) = split(Fen::new(100), &factors, &counties, SourceRef::default()).unwrap();
        let amounts: Vec<i64> = shares.iter().map(|s| s.amount.get()).collect();
        assert_eq!(amounts, vec![34, 33, 33]);
    }

    #[test]
    fn weaker_finances_get_more() {
        let factors = vec![
            Factor { name: "财力".into(), weight: d("0.4"), direction: Direction::LessGetsMore },
            Factor { name: "保障任务".into(), weight: d("0.6"), direction: Direction::MoreGetsMore },
        ];
        let counties = vec![
            CountyInput { region: code("210521"), values: vec![d("100"), d("1000")] },
            CountyInput { region: code("210522"), values: vec![d("300"), d("1000")] },
        ];
        let (s, _) = split(Fen::new(1_000_000), &factors, &counties, SourceRef::default()).unwrap();
        // 财力 shares: (1/100)/(1/100+1/300) = 0.75 and 0.25; workload 0.5 each.
        // 0.4×0.75 + 0.6×0.5 = 0.6; 0.4×0.25 + 0.3 = 0.4.
        assert_eq!(s[0].amount, Fen::new(600_000));
        assert_eq!(s[1].amount, Fen::new(400_000));
    }

    #[test]
    fn refuses_bad_weights_and_values() {
        let f = |w: &str| vec![Factor { name: "x".into(), weight: d(w), direction: Direction::LessGetsMore }];
        let c = vec![CountyInput { region: code("210521"), values: vec![Decimal::ZERO] }];
        assert!(split(Fen::new(1), &f("0.9"), &c, SourceRef::default()).is_err());
        assert!(split(Fen::new(1), &f("1"), &c, SourceRef::default()).is_err());
        assert!(split(Fen::new(-1), &f("1"), &c, SourceRef::default()).is_err());
    }

    proptest! {
        #[test]
        fn shares_always_sum_to_the_pot(pot in 0i64..10_000_000_000, values in proptest::collection::vec(1u32..1_000_000, 1..20)) {
            let factors = vec![
                Factor { name: "a".into(), weight: d("0.3"), direction: Direction::LessGetsMore },
                Factor { name: "b".into(), weight: d("0.7"), direction: Direction::MoreGetsMore },
            ];
            let counties: Vec<CountyInput> = values.iter().enumerate()
                .map(|(i, v)| CountyInput { region: code(&format!("2105{:02}", i + 1)), values: vec![Decimal::from(*v), Decimal::from(v % 97 + 1)] })
                .collect();
            let (s, _) = split(Fen::new(pot), &factors, &counties, SourceRef::default()).unwrap();
            prop_assert_eq!(s.iter().map(|c| c.amount.get()).sum::<i64>(), pot);
            prop_assert!(s.iter().all(|c| c.amount.get() >= 0));
        }
    }
}
