//! Comparison words of the documents, as the law reads them (民法典 第一千二百五十九条;
//! before 2021, 民法通则 第一百五十五条): 以上、以下、以内、届满 include the number; 不满、超过、以外
//! do not. A threshold is data with its word, never a `>` or `>=` chosen in code.

use rust_decimal::Decimal;

/// How a figure is compared with a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    /// 以上 / 不低于 / 达到: the number itself counts.
    Ge,
    /// 超过: the number itself does not count.
    Gt,
    /// 不满 / 低于 / 未达到: the number itself does not count.
    Lt,
    /// 以下 / 以内 / 不超过: the number itself counts.
    Le,
}

impl Cmp {
    /// "GE", "GT", "LT", "LE" (as in the policy files), or the Chinese word.
    pub fn parse(s: &str) -> Option<Cmp> {
        Some(match s.trim() {
            "GE" | "以上" | "不低于" | "达到" => Cmp::Ge,
            "GT" | "超过" => Cmp::Gt,
            "LT" | "不满" | "低于" | "未达到" => Cmp::Lt,
            "LE" | "以下" | "以内" | "不超过" => Cmp::Le,
            _ => return None,
        })
    }

    /// Whether `value` meets the threshold read with this word.
    pub fn holds(self, value: Decimal, threshold: Decimal) -> bool {
        match self {
            Cmp::Ge => value >= threshold,
            Cmp::Gt => value > threshold,
            Cmp::Lt => value < threshold,
            Cmp::Le => value <= threshold,
        }
    }

    /// The word, for explanations.
    pub fn word(self) -> &'static str {
        match self {
            Cmp::Ge => "以上(含本数)",
            Cmp::Gt => "超过(不含本数)",
            Cmp::Lt => "不满(不含本数)",
            Cmp::Le => "以下(含本数)",
        }
    }

    /// The relation as a symbol, for formulas.
    pub fn symbol(self) -> &'static str {
        match self {
            Cmp::Ge => "≥",
            Cmp::Gt => ">",
            Cmp::Lt => "<",
            Cmp::Le => "≤",
        }
    }
}

/// The rule id under which the reading of comparison words is cited.
pub const RULE: &str = "law.threshold_semantics";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_number_itself_counts_only_for_the_inclusive_words() {
        let ten = Decimal::from(10);
        assert!(Cmp::parse("以上").unwrap().holds(ten, ten));
        assert!(!Cmp::parse("超过").unwrap().holds(ten, ten));
        assert!(Cmp::parse("以下").unwrap().holds(ten, ten));
        assert!(!Cmp::parse("不满").unwrap().holds(ten, ten));
        assert!(Cmp::parse("GT").unwrap().holds(Decimal::new(100001, 4), ten));
        assert!(Cmp::parse("xx").is_none());
    }
}
