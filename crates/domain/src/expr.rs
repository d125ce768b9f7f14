//! Rules for derived parameters, written as data: a product/quotient of decimal literals and
//! parameter keys, evaluated left to right, e.g. `1.5 * assistance.dibao.urban` or
//! `1.8 * assistance.dibao.rural / 12`. Deliberately tiny: each rule in the seeds is of this shape,
//! and a reader of `policies/` can check it against the document by eye.

use std::fmt;

use rust_decimal::Decimal;

use crate::DomainError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    Literal(Decimal),
    Parameter(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Mul,
    Div,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expr {
    first: Operand,
    rest: Vec<(Op, Operand)>,
    source: String,
}

fn operand(token: &str, rule: &str) -> Result<Operand, DomainError> {
    let invalid = |reason: &str| DomainError::InvalidRule { rule: rule.to_string(), reason: reason.to_string() };
    let t = token.trim();
    if t.is_empty() {
        return Err(invalid("missing operand"));
    }
    if t.starts_with(|c: char| c.is_ascii_digit()) {
        let d: Decimal = t.parse().map_err(|_| invalid(&format!("'{t}' is not a decimal")))?;
        return Ok(Operand::Literal(d));
    }
    if t.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_') && t.contains('.') {
        return Ok(Operand::Parameter(t.to_string()));
    }
    Err(invalid(&format!("'{t}' is neither a decimal nor a parameter key")))
}

impl Expr {
    pub fn parse(rule: &str) -> Result<Self, DomainError> {
        let mut parts = Vec::new();
        let mut current = String::new();
        for c in rule.chars() {
            match c {
                '*' | '×' => {
                    parts.push((std::mem::take(&mut current), Op::Mul));
                }
                '/' | '÷' => {
                    parts.push((std::mem::take(&mut current), Op::Div));
                }
                c => current.push(c),
            }
        }
        let mut ops = parts.into_iter();
        let (first_token, mut pending) = match ops.next() {
            Some((tok, op)) => (tok, Some(op)),
            None => (current.clone(), None),
        };
        let first = operand(&first_token, rule)?;
        let mut rest = Vec::new();
        for (tok, op) in ops {
            if let Some(p) = pending.replace(op) {
                rest.push((p, operand(&tok, rule)?));
            }
        }
        if let Some(p) = pending {
            rest.push((p, operand(&current, rule)?));
        }
        Ok(Expr { first, rest, source: rule.trim().to_string() })
    }

    /// The parameter keys this rule reads.
    pub fn parameters(&self) -> Vec<&str> {
        std::iter::once(&self.first)
            .chain(self.rest.iter().map(|(_, o)| o))
            .filter_map(|o| match o {
                Operand::Parameter(k) => Some(k.as_str()),
                Operand::Literal(_) => None,
            })
            .collect()
    }

    /// Evaluate with `lookup` supplying each parameter's value. Returns the value and the
    /// arithmetic written out with the figures, e.g. "1.5 × 583 = 874.5".
    pub fn evaluate<F>(&self, mut lookup: F) -> Result<(Decimal, String), DomainError>
    where
        F: FnMut(&str) -> Result<Decimal, DomainError>,
    {
        let mut value_of = |o: &Operand| match o {
            Operand::Literal(d) => Ok(*d),
            Operand::Parameter(k) => lookup(k),
        };
        let mut acc = value_of(&self.first)?;
        let mut text = acc.normalize().to_string();
        for (op, o) in &self.rest {
            let v = value_of(o)?;
            acc = match op {
                Op::Mul => acc.checked_mul(v).ok_or(DomainError::Overflow("rule evaluation"))?,
                Op::Div => {
                    if v.is_zero() {
                        return Err(DomainError::ZeroDenominator);
                    }
                    acc.checked_div(v).ok_or(DomainError::Overflow("rule evaluation"))?
                }
            };
            text.push_str(match op {
                Op::Mul => " × ",
                Op::Div => " ÷ ",
            });
            text.push_str(&v.normalize().to_string());
        }
        let acc = acc.normalize();
        text.push_str(&format!(" = {acc}"));
        Ok((acc, text))
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn rural_destitute_rule_of_25hao() {
        let e = Expr::parse("1.8 * assistance.dibao.rural / 12").unwrap();
        assert_eq!(e.parameters(), vec!["assistance.dibao.rural"]);
        let (v, text) = e.evaluate(|_| Ok(d("4452"))).unwrap();
        assert_eq!(v, d("667.8"));
        assert_eq!(text, "1.8 × 4452 ÷ 12 = 667.8");
    }

    #[test]
    fn single_operand_and_errors() {
        assert_eq!(Expr::parse("assistance.x").unwrap().parameters(), vec!["assistance.x"]);
        assert!(Expr::parse("1.5 * ").is_err());
        assert!(Expr::parse("1.5 ** a.b").is_err());
        assert!(Expr::parse("1.5 * nodot").is_err());
        assert!(Expr::parse("1.5 / 0").unwrap().evaluate(|_| Ok(Decimal::ONE)).is_err());
    }
}
