//! Land areas as exact decimals. 1 亩 = 10000/15 m², so m² → 亩 is exact (× 15 / 10000) while
//! 亩 → m² may not terminate and is rounded to 0.0001 m², half up, with the rounding stated.

use std::fmt;

use rust_decimal::Decimal;

use crate::{rounding::Rounding, DomainError};

/// An area in 亩, exact, never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mu(Decimal);

/// An area in square metres, exact, never negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SquareMetres(Decimal);

const SQM_PER_MU_NUMERATOR: i64 = 10_000;
const SQM_PER_MU_DENOMINATOR: i64 = 15;

fn non_negative(value: Decimal, what: &'static str) -> Result<Decimal, DomainError> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(DomainError::Negative(what));
    }
    Ok(value.normalize())
}

impl Mu {
    pub fn new(value: Decimal) -> Result<Self, DomainError> {
        non_negative(value, "area in 亩").map(Mu)
    }

    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let d: Decimal = s.trim().parse().map_err(|_| DomainError::InvalidNumber(s.to_string()))?;
        Self::new(d)
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    /// 亩 → m², rounded half up to 0.0001 m² (10000/15 does not terminate).
    pub fn to_square_metres(self) -> Result<SquareMetres, DomainError> {
        let exact = self
            .0
            .checked_mul(Decimal::from(SQM_PER_MU_NUMERATOR))
            .and_then(|v| v.checked_div(Decimal::from(SQM_PER_MU_DENOMINATOR)))
            .ok_or(DomainError::Overflow("亩 to m²"))?;
        let rounded = Rounding::half_up_to(Decimal::new(1, 4))?.apply(exact)?;
        SquareMetres::new(rounded)
    }
}

impl SquareMetres {
    pub fn new(value: Decimal) -> Result<Self, DomainError> {
        non_negative(value, "area in m²").map(SquareMetres)
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    /// m² → 亩, exact: m² × 15 / 10000.
    pub fn to_mu(self) -> Result<Mu, DomainError> {
        let mu = self
            .0
            .checked_mul(Decimal::from(SQM_PER_MU_DENOMINATOR))
            .and_then(|v| v.checked_div(Decimal::from(SQM_PER_MU_NUMERATOR)))
            .ok_or(DomainError::Overflow("m² to 亩"))?;
        Mu::new(mu)
    }
}

impl fmt::Display for Mu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} 亩", self.0)
    }
}

impl fmt::Display for SquareMetres {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} m²", self.0)
    }
}

/// A ratio part ÷ whole as an exact decimal; the whole must be positive.
pub fn ratio(part: Decimal, whole: Decimal) -> Result<Decimal, DomainError> {
    if whole <= Decimal::ZERO {
        return Err(DomainError::ZeroDenominator);
    }
    part.checked_div(whole).ok_or(DomainError::Overflow("ratio"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fifteen_mu_is_one_hectare() {
        let mu = Mu::parse("15").unwrap();
        assert_eq!(mu.to_square_metres().unwrap().value(), Decimal::from(10_000));
        let sqm = SquareMetres::new(Decimal::from(10_000)).unwrap();
        assert_eq!(sqm.to_mu().unwrap(), mu);
    }

    #[test]
    fn one_mu_is_rounded_and_says_so() {
        assert_eq!(Mu::parse("1").unwrap().to_square_metres().unwrap().value(), "666.6667".parse::<Decimal>().unwrap());
    }

    #[test]
    fn negative_areas_are_refused() {
        assert!(Mu::parse("-1").is_err());
        assert!(Mu::parse("x").is_err());
        assert!(Mu::parse("0").is_ok());
    }

    #[test]
    fn ratio_needs_a_positive_whole() {
        assert!(ratio(Decimal::ONE, Decimal::ZERO).is_err());
        assert_eq!(ratio(Decimal::from(15), Decimal::from(100)).unwrap(), "0.15".parse::<Decimal>().unwrap());
    }

    proptest! {
        #[test]
        fn square_metres_to_mu_is_exact(units in 0i64..10_000_000_000i64) {
            let sqm = SquareMetres::new(Decimal::new(units, 2)).unwrap();
            let back = sqm.to_mu().unwrap().value() * Decimal::from(10_000) / Decimal::from(15);
            prop_assert_eq!(back.round_dp(8), sqm.value().round_dp(8));
        }
    }
}
