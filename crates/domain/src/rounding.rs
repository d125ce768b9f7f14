//! Rounding rules are data: a standard says how its derived figure is rounded (e.g. "half up to
//! the yuan"), and the rule travels with the parameter, not with the code.

use std::{fmt, str::FromStr};

use rust_decimal::{Decimal, RoundingStrategy};

use crate::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundingMode {
    /// 四舍五入: halves away from zero.
    HalfUp,
    /// Banker's rounding: halves to even.
    HalfEven,
    /// Truncate towards zero.
    Down,
    /// Away from zero.
    Up,
    /// No rounding: the exact result (to 28 significant digits), for rules such as "1 / 3"
    /// that define a threshold rather than an amount.
    Exact,
}

/// A rounding mode and the quantum rounded to (1 = whole units, 0.01 = hundredths).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounding {
    mode: RoundingMode,
    quantum: Decimal,
}

impl Rounding {
    pub fn new(mode: RoundingMode, quantum: Decimal) -> Result<Self, DomainError> {
        if quantum <= Decimal::ZERO {
            return Err(DomainError::InvalidRounding(format!("quantum {quantum} must be positive")));
        }
        Ok(Rounding { mode, quantum: quantum.normalize() })
    }

    pub fn half_up_to(quantum: Decimal) -> Result<Self, DomainError> {
        Self::new(RoundingMode::HalfUp, quantum)
    }

    pub fn mode(&self) -> RoundingMode {
        self.mode
    }

    pub fn quantum(&self) -> Decimal {
        self.quantum
    }

    pub fn apply(&self, value: Decimal) -> Result<Decimal, DomainError> {
        if self.mode == RoundingMode::Exact {
            return Ok(value.normalize());
        }
        let strategy = match self.mode {
            RoundingMode::Exact => RoundingStrategy::ToZero,
            RoundingMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            RoundingMode::HalfEven => RoundingStrategy::MidpointNearestEven,
            RoundingMode::Down => RoundingStrategy::ToZero,
            RoundingMode::Up => RoundingStrategy::AwayFromZero,
        };
        let units = value.checked_div(self.quantum).ok_or(DomainError::Overflow("rounding"))?;
        let rounded = units.round_dp_with_strategy(0, strategy);
        rounded.checked_mul(self.quantum).map(|d| d.normalize()).ok_or(DomainError::Overflow("rounding"))
    }

    /// Chinese description used in explanations, e.g. "四舍五入到 1".
    pub fn describe(&self) -> String {
        let mode = match self.mode {
            RoundingMode::HalfUp => "四舍五入",
            RoundingMode::HalfEven => "四舍六入五成双",
            RoundingMode::Down => "舍去",
            RoundingMode::Up => "进位",
            RoundingMode::Exact => return "不舍入".to_string(),
        };
        format!("{mode}到 {}", self.quantum)
    }
}

/// Written as `half_up:1`, `half_even:0.01`, `down:1`, `up:0.01`.
impl FromStr for Rounding {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim() == "exact" {
            return Ok(Rounding { mode: RoundingMode::Exact, quantum: Decimal::ONE });
        }
        let (mode, quantum) = s
            .split_once(':')
            .ok_or_else(|| DomainError::InvalidRounding(format!("'{s}': expected MODE:QUANTUM, e.g. half_up:1")))?;
        let mode = match mode.trim() {
            "half_up" => RoundingMode::HalfUp,
            "half_even" => RoundingMode::HalfEven,
            "down" => RoundingMode::Down,
            "up" => RoundingMode::Up,
            other => return Err(DomainError::InvalidRounding(format!("unknown mode '{other}'"))),
        };
        let quantum: Decimal = quantum
            .trim()
            .parse()
            .map_err(|_| DomainError::InvalidRounding(format!("'{quantum}' is not a decimal")))?;
        Rounding::new(mode, quantum)
    }
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = match self.mode {
            RoundingMode::HalfUp => "half_up",
            RoundingMode::HalfEven => "half_even",
            RoundingMode::Down => "down",
            RoundingMode::Up => "up",
            RoundingMode::Exact => return f.write_str("exact"),
        };
        write!(f, "{mode}:{}", self.quantum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn reproduces_the_published_figures_of_25hao() {
        // 本政办发〔2019〕25号 一(二): 583×1.5, 533×1.5, 622×1.5, 4452/12×1.8, 5004/12×1.8.
        let r: Rounding = "half_up:1".parse().unwrap();
        assert_eq!(r.apply(d("874.5")).unwrap(), d("875"));
        assert_eq!(r.apply(d("799.5")).unwrap(), d("800"));
        assert_eq!(r.apply(d("933.0")).unwrap(), d("933"));
        assert_eq!(r.apply(d("667.8")).unwrap(), d("668"));
        assert_eq!(r.apply(d("750.6")).unwrap(), d("751"));
    }

    #[test]
    fn modes_differ_on_halves() {
        let q = d("0.01");
        assert_eq!(Rounding::new(RoundingMode::HalfUp, q).unwrap().apply(d("0.125")).unwrap(), d("0.13"));
        assert_eq!(Rounding::new(RoundingMode::HalfEven, q).unwrap().apply(d("0.125")).unwrap(), d("0.12"));
        assert_eq!(Rounding::new(RoundingMode::Down, q).unwrap().apply(d("0.129")).unwrap(), d("0.12"));
        assert_eq!(Rounding::new(RoundingMode::Up, q).unwrap().apply(d("0.121")).unwrap(), d("0.13"));
        assert_eq!(Rounding::new(RoundingMode::HalfUp, d("1")).unwrap().apply(d("-2.5")).unwrap(), d("-3"));
    }

    #[test]
    fn parse_rejects_nonsense() {
        assert!("half_up".parse::<Rounding>().is_err());
        assert!("sideways:1".parse::<Rounding>().is_err());
        assert!("half_up:0".parse::<Rounding>().is_err());
        assert!("half_up:x".parse::<Rounding>().is_err());
        assert_eq!("half_up:1.00".parse::<Rounding>().unwrap().to_string(), "half_up:1");
        let exact: Rounding = "exact".parse().unwrap();
        assert_eq!(exact.to_string(), "exact");
        assert_eq!(exact.apply(Decimal::ONE / Decimal::from(3)).unwrap(), Decimal::ONE / Decimal::from(3));
    }

    proptest! {
        #[test]
        fn rounded_is_a_multiple_within_half_a_quantum(units in -1_000_000_000i64..1_000_000_000i64, scale in 0u32..4) {
            let v = Decimal::new(units, scale + 2);
            let q = Decimal::new(1, scale);
            let r = Rounding::half_up_to(q).unwrap().apply(v).unwrap();
            prop_assert!((r / q).fract().is_zero());
            prop_assert!((r - v).abs() <= q / Decimal::TWO);
        }

        #[test]
        fn rounding_is_idempotent(units in -1_000_000_000i64..1_000_000_000i64) {
            let r = Rounding::half_up_to(Decimal::ONE).unwrap();
            let once = r.apply(Decimal::new(units, 2)).unwrap();
            prop_assert_eq!(r.apply(once).unwrap(), once);
        }
    }
}
