//! Money as integer fen (分). Never floating point: every operation is checked and an overflow is
//! an error, not a wrap.

use std::fmt;

use rust_decimal::Decimal;

use crate::DomainError;

/// An amount of money in fen (1 元 = 100 分). May be negative (differences, back pay clawed back).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub const fn new(fen: i64) -> Self {
        Fen(fen)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    /// Whole yuan to fen, checked.
    pub fn from_yuan(yuan: i64) -> Result<Self, DomainError> {
        yuan.checked_mul(100).map(Fen).ok_or(DomainError::Overflow("yuan to fen"))
    }

    /// An exact decimal amount of yuan, which must be a whole number of fen.
    pub fn from_yuan_decimal(yuan: Decimal) -> Result<Self, DomainError> {
        let fen = yuan.checked_mul(Decimal::ONE_HUNDRED).ok_or(DomainError::Overflow("yuan to fen"))?;
        if !fen.fract().is_zero() {
            return Err(DomainError::NotWholeFen(yuan.to_string()));
        }
        i64::try_from(fen).map(Fen).map_err(|_| DomainError::Overflow("yuan to fen"))
    }

    /// Parse a yuan string such as "622", "746.40" or "-12.5".
    pub fn parse_yuan(s: &str) -> Result<Self, DomainError> {
        let d: Decimal = s.trim().parse().map_err(|_| DomainError::InvalidNumber(s.to_string()))?;
        Self::from_yuan_decimal(d)
    }

    pub fn to_yuan_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    pub fn checked_add(self, other: Fen) -> Result<Fen, DomainError> {
        self.0.checked_add(other.0).map(Fen).ok_or(DomainError::Overflow("money addition"))
    }

    pub fn checked_sub(self, other: Fen) -> Result<Fen, DomainError> {
        self.0.checked_sub(other.0).map(Fen).ok_or(DomainError::Overflow("money subtraction"))
    }

    pub fn checked_mul(self, n: i64) -> Result<Fen, DomainError> {
        self.0.checked_mul(n).map(Fen).ok_or(DomainError::Overflow("money multiplication"))
    }

    /// Sum of amounts, checked.
    pub fn checked_sum<I: IntoIterator<Item = Fen>>(items: I) -> Result<Fen, DomainError> {
        items.into_iter().try_fold(Fen::ZERO, Fen::checked_add)
    }

    pub fn max(self, other: Fen) -> Fen {
        if self >= other {
            self
        } else {
            other
        }
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

/// Formats as yuan with two decimals and a thousands-free plain form: "966.00".
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 24];
        f.write_str(self.write_yuan(&mut buf, false))
    }
}

impl Fen {
    /// "966 元" for whole yuan, "746.40 元" otherwise: how amounts read in an explanation.
    pub fn yuan_text(self) -> String {
        let mut buf = [0u8; 24];
        let number = self.write_yuan(&mut buf, true);
        let mut s = String::with_capacity(number.len() + " 元".len());
        s.push_str(number);
        s.push_str(" 元");
        s
    }

    /// The figure of [`Fen::yuan_text`] without its unit: "966", "746.40".
    pub fn yuan_figure(self) -> String {
        let mut buf = [0u8; 24];
        self.write_yuan(&mut buf, true).to_string()
    }

    /// Writes the amount in yuan into the end of `buf` ("-12.05"; "966" for whole yuan when
    /// `short`) and returns it. Explanations write many amounts; this is the one place they are
    /// spelled, without the formatting machinery.
    fn write_yuan(self, buf: &mut [u8; 24], short: bool) -> &str {
        let abs = self.0.unsigned_abs();
        let (mut yuan, fen) = (abs / 100, abs % 100);
        let mut at = buf.len();
        if !(short && fen == 0) {
            at -= 3;
            buf[at] = b'.';
            buf[at + 1] = b'0' + (fen / 10) as u8;
            buf[at + 2] = b'0' + (fen % 10) as u8;
        }
        loop {
            at -= 1;
            buf[at] = b'0' + (yuan % 10) as u8;
            yuan /= 10;
            if yuan == 0 {
                break;
            }
        }
        if self.0 < 0 {
            at -= 1;
            buf[at] = b'-';
        }
        // Only ASCII digits, '.' and '-' were written.
        std::str::from_utf8(&buf[at..]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_yuan() {
        assert_eq!(Fen::new(96600).to_string(), "966.00");
        assert_eq!(Fen::new(-5).to_string(), "-0.05");
        assert_eq!(Fen::new(74640).yuan_text(), "746.40 元");
        assert_eq!(Fen::new(62200).yuan_text(), "622 元");
        assert_eq!(Fen::new(i64::MIN).to_string(), "-92233720368547758.08");
        assert_eq!(Fen::new(i64::MAX).to_string(), "92233720368547758.07");
        assert_eq!(Fen::new(i64::MIN).yuan_text(), "-92233720368547758.08 元");
        assert_eq!(Fen::new(-500).yuan_text(), "-5 元");
        assert_eq!(Fen::new(-50).yuan_text(), "-0.50 元");
        assert_eq!(Fen::new(0).yuan_text(), "0 元");
        assert_eq!(Fen::new(7).to_string(), "0.07");
        assert_eq!(Fen::new(-74640).yuan_figure(), "-746.40");
        assert_eq!(Fen::new(62200).yuan_figure(), "622");
    }

    #[test]
    fn parses_yuan() {
        assert_eq!(Fen::parse_yuan("746.40").unwrap(), Fen::new(74640));
        assert_eq!(Fen::parse_yuan("622").unwrap(), Fen::new(62200));
        assert!(matches!(Fen::parse_yuan("0.005"), Err(DomainError::NotWholeFen(_))));
        assert!(Fen::parse_yuan("abc").is_err());
        assert!(Fen::parse_yuan("999999999999999999999").is_err());
    }

    #[test]
    fn overflow_is_an_error() {
        assert!(Fen::new(i64::MAX).checked_add(Fen::new(1)).is_err());
        assert!(Fen::new(i64::MIN).checked_sub(Fen::new(1)).is_err());
        assert!(Fen::new(i64::MAX / 2 + 1).checked_mul(2).is_err());
        assert!(Fen::from_yuan(i64::MAX / 10).is_err());
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(fen in -1_000_000_000_000i64..1_000_000_000_000i64) {
            let f = Fen::new(fen);
            prop_assert_eq!(Fen::parse_yuan(&f.to_string()).unwrap(), f);
        }

        #[test]
        fn add_sub_inverse(a in -1_000_000_000_000i64..1_000_000_000_000i64, b in -1_000_000_000_000i64..1_000_000_000_000i64) {
            let (a, b) = (Fen::new(a), Fen::new(b));
            prop_assert_eq!(a.checked_add(b).unwrap().checked_sub(b).unwrap(), a);
        }

        #[test]
        fn decimal_round_trip(fen in any::<i64>()) {
            let f = Fen::new(fen);
            prop_assert_eq!(Fen::from_yuan_decimal(f.to_yuan_decimal()).unwrap(), f);
        }
    }
}
