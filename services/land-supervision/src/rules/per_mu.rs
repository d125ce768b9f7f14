//! Per-mu efficiency evaluation of enterprises (亩均效益综合评价, A/B/C/D). The scheme is
//! configuration: indicators with benchmark and weight (score = Σ value ÷ benchmark × weight, or
//! benchmark ÷ value for "lower is better" indicators such as energy per output), what a missing
//! figure means, and how classes are assigned: by rank percentages or by score cut-offs. Ties
//! share the better class; enterprises that cannot be scored are listed as unrated with why.

use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The indicator scores the average of the enterprises that have it (黄岩 practice).
    AverageScore,
    /// The indicator scores zero.
    Zero,
    /// The enterprise is not rated.
    Unrated,
}

#[derive(Debug, Clone)]
pub struct Indicator {
    pub name: String,
    pub benchmark: Decimal,
    pub weight: Decimal,
    pub higher_is_better: bool,
    pub missing: Missing,
}

#[derive(Debug, Clone)]
pub enum Classing {
    /// Cumulative shares of the ranking: A up to `a`, B up to `b`, C up to `c`, the rest D
    /// (e.g. 0.2, 0.6, 0.95). Positions are floor(n × share).
    RankShares { a: Decimal, b: Decimal, c: Decimal },
    /// Minimum scores of A, B and C; below C is D.
    Cutoffs { a: Decimal, b: Decimal, c: Decimal },
}

#[derive(Debug, Clone)]
pub struct Scheme {
    pub indicators: Vec<Indicator>,
    pub classing: Classing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    A,
    B,
    C,
    D,
}

impl Class {
    pub fn letter(self) -> &'static str {
        match self {
            Class::A => "A",
            Class::B => "B",
            Class::C => "C",
            Class::D => "D",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Rated {
    pub score: Option<Decimal>,
    /// 1-based rank; ties share the rank of the first of them.
    pub rank: Option<usize>,
    pub class: Option<Class>,
    /// Each indicator's contribution, or why the enterprise is unrated.
    pub contributions: Vec<Option<Decimal>>,
    pub note: String,
}

impl Rated {
    /// The score as shown: four places, empty when not rated.
    pub fn score_text(&self) -> String {
        self.score.map(|s| format!("{:.4}", s.round_dp(4))).unwrap_or_default()
    }

    /// Each indicator's points as shown: four places, empty when not rated.
    pub fn contribution_texts(&self) -> Vec<String> {
        self.contributions.iter().map(|c| c.map(|c| format!("{:.4}", c.round_dp(4))).unwrap_or_default()).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemeError {
    #[error("{field}: {message}")]
    Input { field: String, message: String },
}

fn input(field: impl Into<String>, message: impl Into<String>) -> SchemeError {
    SchemeError::Input { field: field.into(), message: message.into() }
}

pub fn validate(s: &Scheme) -> Result<(), SchemeError> {
    if s.indicators.is_empty() {
        return Err(input("scheme.indicators", "at least one indicator"));
    }
    for (i, ind) in s.indicators.iter().enumerate() {
        if ind.benchmark <= Decimal::ZERO {
            return Err(input(format!("scheme.indicators[{i}].benchmark"), "must be positive"));
        }
        if ind.weight <= Decimal::ZERO {
            return Err(input(format!("scheme.indicators[{i}].weight"), "must be positive"));
        }
    }
    let (a, b, c) = match &s.classing {
        Classing::RankShares { a, b, c } => {
            if !(Decimal::ZERO <= *a && a <= b && b <= c && *c <= Decimal::ONE) {
                return Err(input("scheme.rank_shares", "0 ≤ a ≤ b ≤ c ≤ 1 (cumulative shares)"));
            }
            return Ok(());
        }
        Classing::Cutoffs { a, b, c } => (a, b, c),
    };
    if !(a >= b && b >= c) {
        return Err(input("scheme.cutoffs", "a ≥ b ≥ c"));
    }
    Ok(())
}

/// Score and class every enterprise; `values[e][i]` is enterprise e's figure for indicator i.
/// `rows` names the request's list the values came from (`enterprises`, `clusters`), so that an
/// error names the field the caller wrote.
pub fn evaluate(s: &Scheme, rows: &str, values: &[Vec<Option<Decimal>>]) -> Result<Vec<Rated>, SchemeError> {
    validate(s)?;
    for (e, v) in values.iter().enumerate() {
        if v.len() != s.indicators.len() {
            return Err(input(
                format!("{rows}[{e}].values"),
                format!("{} values for {} indicators", v.len(), s.indicators.len()),
            ));
        }
        for (i, x) in v.iter().enumerate() {
            if let Some(x) = x {
                if x.is_sign_negative() && !x.is_zero() {
                    return Err(input(format!("{rows}[{e}].values[{i}]"), "must not be negative"));
                }
                if !s.indicators[i].higher_is_better && x.is_zero() {
                    return Err(input(
                        format!("{rows}[{e}].values[{i}]"),
                        "a 'lower is better' indicator needs a positive value",
                    ));
                }
            }
        }
    }
    // Contribution of each present value.
    let contribution = |i: usize, x: Decimal| -> Decimal {
        let ind = &s.indicators[i];
        let ratio = if ind.higher_is_better { x / ind.benchmark } else { ind.benchmark / x };
        ratio * ind.weight
    };
    let n_ind = s.indicators.len();
    let mut averages = vec![Decimal::ZERO; n_ind];
    for (i, avg) in averages.iter_mut().enumerate() {
        let present: Vec<Decimal> = values.iter().filter_map(|v| v[i]).map(|x| contribution(i, x)).collect();
        if !present.is_empty() {
            *avg = present.iter().copied().sum::<Decimal>() / Decimal::from(present.len());
        }
    }
    let mut out: Vec<Rated> = values
        .iter()
        .map(|v| {
            let mut contributions = Vec::with_capacity(n_ind);
            let mut notes = Vec::new();
            let mut unrated = false;
            for (i, x) in v.iter().enumerate() {
                match (x, s.indicators[i].missing) {
                    (Some(x), _) => contributions.push(Some(contribution(i, *x))),
                    (None, Missing::AverageScore) => {
                        notes.push(format!("{} 缺失,取平均得分 {}", s.indicators[i].name, averages[i].round_dp(4)));
                        contributions.push(Some(averages[i]));
                    }
                    (None, Missing::Zero) => {
                        notes.push(format!("{} 缺失,得 0 分", s.indicators[i].name));
                        contributions.push(Some(Decimal::ZERO));
                    }
                    (None, Missing::Unrated) => {
                        notes.push(format!("{} 缺失,不参加评价", s.indicators[i].name));
                        contributions.push(None);
                        unrated = true;
                    }
                }
            }
            let score = (!unrated).then(|| contributions.iter().flatten().copied().sum::<Decimal>().round_dp(6));
            Rated { score, rank: None, class: None, contributions, note: notes.join(";") }
        })
        .collect();
    // Rank by score, best first; ties share the rank of the first.
    let mut order: Vec<usize> = (0..out.len()).filter(|&e| out[e].score.is_some()).collect();
    order.sort_by(|&x, &y| out[y].score.cmp(&out[x].score).then(x.cmp(&y)));
    let n = order.len();
    let mut rank = 0;
    let mut prev: Option<Decimal> = None;
    for (pos, &e) in order.iter().enumerate() {
        if out[e].score != prev {
            rank = pos + 1;
            prev = out[e].score;
        }
        out[e].rank = Some(rank);
    }
    for &e in &order {
        let (Some(score), Some(rank)) = (out[e].score, out[e].rank) else { continue };
        out[e].class = Some(match &s.classing {
            Classing::RankShares { a, b, c } => {
                let upto = |share: &Decimal| (Decimal::from(n) * share).floor();
                let r = Decimal::from(rank);
                if r <= upto(a) {
                    Class::A
                } else if r <= upto(b) {
                    Class::B
                } else if r <= upto(c) {
                    Class::C
                } else {
                    Class::D
                }
            }
            Classing::Cutoffs { a, b, c } => {
                if score >= *a {
                    Class::A
                } else if score >= *b {
                    Class::B
                } else if score >= *c {
                    Class::C
                } else {
                    Class::D
                }
            }
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    /// 黄岩区 2022: tax/mu ÷ 24.097 × 30 + value added/mu ÷ 136.16 × 20 + VA per energy ÷ 2.694 × 20
    /// + VA per emissions ÷ 4929.81 × 10 + labour productivity ÷ 18.14 × 10 + R&D share ÷ 0.0302 × 10.
    pub fn huangyan() -> Scheme {
        let ind = |name: &str, b: &str, w: &str| Indicator {
            name: name.into(),
            benchmark: d(b),
            weight: d(w),
            higher_is_better: true,
            missing: Missing::AverageScore,
        };
        Scheme {
            indicators: vec![
                ind("亩均税收", "24.097", "30"),
                ind("亩均增加值", "136.16", "20"),
                ind("单位能耗增加值", "2.694", "20"),
                ind("单位排放增加值", "4929.81", "10"),
                ind("全员劳动生产率", "18.14", "10"),
                ind("研发经费支出占比", "0.0302", "10"),
            ],
            classing: Classing::RankShares { a: d("0.2"), b: d("0.6"), c: d("0.95") },
        }
    }

    #[test]
    fn benchmark_enterprise_scores_100() {
        let v = vec![vec![
            Some(d("24.097")),
            Some(d("136.16")),
            Some(d("2.694")),
            Some(d("4929.81")),
            Some(d("18.14")),
            Some(d("0.0302")),
        ]];
        let r = evaluate(&huangyan(), "enterprises", &v).unwrap();
        assert_eq!(r[0].score, Some(d("100")));
    }

    #[test]
    fn missing_emissions_takes_the_average_score_and_ties_share_a_class() {
        let full = |tax: &str| {
            vec![
                Some(d(tax)),
                Some(d("136.16")),
                Some(d("2.694")),
                Some(d("4929.81")),
                Some(d("18.14")),
                Some(d("0.0302")),
            ]
        };
        let mut values: Vec<Vec<Option<Decimal>>> = (0..20).map(|i| full(&format!("{}", 10 + i))).collect();
        values[0][3] = None;
        values.push(full("29"));
        let r = evaluate(&huangyan(), "enterprises", &values).unwrap();
        // Average contribution of the emissions indicator is 10 for everyone else.
        assert_eq!(r[0].contributions[3], Some(d("10")));
        assert!(r[0].note.contains("单位排放增加值"));
        // The last two (tax 29) tie for the top: both rank 1, both A.
        assert_eq!((r[19].rank, r[20].rank), (Some(1), Some(1)));
        assert_eq!((r[19].class, r[20].class), (Some(Class::A), Some(Class::A)));
        // 21 rated: A up to 4, B up to 12, C up to 19, D the last 2.
        assert_eq!(r.iter().filter(|x| x.class == Some(Class::D)).count(), 2);
    }

    #[test]
    fn cutoffs_and_unrated() {
        let mut s = huangyan();
        s.classing = Classing::Cutoffs { a: d("100"), b: d("80"), c: d("60") };
        s.indicators[5].missing = Missing::Unrated;
        let v = vec![
            vec![Some(d("24.097")), Some(d("136.16")), Some(d("2.694")), Some(d("4929.81")), Some(d("18.14")), None],
            vec![
                Some(d("24.097")),
                Some(d("136.16")),
                Some(d("2.694")),
                Some(d("4929.81")),
                Some(d("18.14")),
                Some(d("0.0302")),
            ],
            vec![
                Some(d("0")),
                Some(d("136.16")),
                Some(d("2.694")),
                Some(d("4929.81")),
                Some(d("18.14")),
                Some(d("0.0302")),
            ],
        ];
        let r = evaluate(&s, "enterprises", &v).unwrap();
        assert_eq!((r[0].score, r[0].class), (None, None));
        assert_eq!(r[1].class, Some(Class::A));
        assert_eq!((r[2].score, r[2].class), (Some(d("70")), Some(Class::C)));
    }
}
