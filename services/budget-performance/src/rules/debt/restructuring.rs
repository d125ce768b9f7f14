//! Fiscal restructuring (4.2.1(2)): the mandatory trigger — interest 超过 10 % of the matching
//! expenditure, exactly 10 % is not mandatory — and the restructuring budget checked line by line
//! (zero-spend items, zero growth of the rest).

use civic_domain::{
    compare::Cmp,
    explanation::{Step, Trace},
    policy::PolicyBook,
    Fen, RegionCode,
};
use rust_decimal::Decimal;

use crate::rules::{year_end, RuleError};

#[derive(Debug, Clone)]
pub struct RestructuringTest {
    pub debt: &'static str,
    pub ratio_percent: Decimal,
    pub threshold: Decimal,
    pub cmp: Cmp,
    pub mandatory: bool,
}

#[derive(Debug, Clone)]
pub struct Restructuring {
    pub tests: Vec<RestructuringTest>,
    pub mandatory: bool,
    pub trace: Trace,
}

/// (interest, expenditure) for general and, when given, special debt.
pub fn restructuring(
    book: &PolicyBook,
    region: RegionCode,
    year: i32,
    general: (Fen, Fen),
    special: Option<(Fen, Fen)>,
) -> Result<Restructuring, RuleError> {
    let on = year_end(year)?;
    let src = book.rule_source("budget.debt.restructuring", region, on)?;
    let words = book.rule_source(civic_domain::compare::RULE, region, on)?;
    let mut trace = Trace::default();
    let mut tests = Vec::new();
    let cases = [
        (
            "GENERAL",
            "一般债务利息 ÷ 一般公共预算支出",
            "budget.debt.restructure.general_percent",
            Some(general),
            "general_expenditure_fen",
        ),
        (
            "SPECIAL",
            "专项债务利息 ÷ 政府性基金预算支出",
            "budget.debt.restructure.special_percent",
            special,
            "fund_expenditure_fen",
        ),
    ];
    for (debt, what, key, figures, field) in cases {
        let Some((interest, expenditure)) = figures else { continue };
        if expenditure.get() <= 0 {
            return Err(RuleError::Input { field, message: "the expenditure must be positive".into() });
        }
        let threshold = book.value(key, region, on)?;
        let cmp = threshold.cmp.unwrap_or(Cmp::Gt);
        let ratio = Decimal::from(interest.get())
            .checked_mul(Decimal::ONE_HUNDRED)
            .and_then(|x| x.checked_div(Decimal::from(expenditure.get())))
            .ok_or(civic_domain::DomainError::Overflow("interest ratio"))?;
        let mandatory = cmp.holds(ratio, threshold.value);
        trace.push(Step {
            rule_id: "budget.debt.restructuring".into(),
            description: format!("{what} {}{}% 的,必须启动财政重整计划", cmp.word(), threshold.value.normalize()),
            formula: format!(
                "{} ÷ {} = {}%;{}% {} {}% {}",
                interest.yuan_text(),
                expenditure.yuan_text(),
                crate::rules::four_places(ratio),
                crate::rules::four_places(ratio),
                cmp.symbol(),
                threshold.value.normalize(),
                if mandatory { "成立" } else { "不成立" }
            ),
            result: if mandatory { "必须启动".into() } else { "不属必须启动(可自主启动)".into() },
            parameters: vec![threshold.to_use()],
            source: Some(src.clone()),
        });
        tests.push(RestructuringTest { debt, ratio_percent: ratio, threshold: threshold.value, cmp, mandatory });
    }
    trace.push(Step {
        rule_id: civic_domain::compare::RULE.into(),
        description: "比较用语:“超过”不包括本数".into(),
        formula: String::new(),
        result: String::new(),
        parameters: vec![],
        source: Some(words),
    });
    let mandatory = tests.iter().any(|t| t.mandatory);
    Ok(Restructuring { tests, mandatory, trace })
}

/// What 4.3(2) of the plan says of a line of a restructuring budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    BasicLivelihood,
    GovernmentOperation,
    Other,
    ZeroSpend,
    NewInvestment,
    NewFund,
    LocalSubsidy,
    LandProvision,
}

impl LineKind {
    /// The rule a line of this kind must keep to zero, if any, and what it is.
    fn zero_rule(self) -> Option<(&'static str, &'static str)> {
        match self {
            LineKind::ZeroSpend => {
                Some(("budget.debt.restructure.zero_spend", "公务出国(境)、培训、公务接待实行“零支出”"))
            }
            LineKind::NewInvestment => {
                Some(("budget.debt.restructure.no_new_investment", "不得新批政府投资计划，不得新上政府投资项目"))
            }
            LineKind::NewFund => {
                Some(("budget.debt.restructure.no_new_investment", "不得设立各类需要政府出资的投资基金"))
            }
            LineKind::LocalSubsidy => Some((
                "budget.debt.restructure.suspended",
                "暂停或者取消本地出台的奖励、政策性补贴和贴息、非基本民生类补贴",
            )),
            LineKind::LandProvision => Some(("budget.debt.restructure.suspended", "暂停土地出让收入各项政策性计提")),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Line {
    pub kind: LineKind,
    pub name: String,
    pub prior: Fen,
    pub proposed: Fen,
}

#[derive(Debug, Clone)]
pub struct Violation {
    /// The line, or None for the other-spending total.
    pub line: Option<usize>,
    pub rule_id: &'static str,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct BudgetCheck {
    pub violations: Vec<Violation>,
    pub other_prior: Fen,
    pub other_proposed: Fen,
    pub trace: Trace,
}

/// Check a restructuring budget of `year` against 4.3(2).
pub fn restructuring_budget(
    book: &PolicyBook,
    region: RegionCode,
    year: i32,
    lines: &[Line],
) -> Result<BudgetCheck, RuleError> {
    let on = year_end(year)?;
    let mut trace = Trace::default();
    let mut violations = Vec::new();
    let (mut other_prior, mut other_proposed) = (0i64, 0i64);
    let overflow = || RuleError::Domain(civic_domain::DomainError::Overflow("restructuring budget"));
    for (i, l) in lines.iter().enumerate() {
        if matches!(l.kind, LineKind::BasicLivelihood | LineKind::GovernmentOperation) {
            continue;
        }
        other_prior = other_prior.checked_add(l.prior.get()).ok_or_else(overflow)?;
        other_proposed = other_proposed.checked_add(l.proposed.get()).ok_or_else(overflow)?;
        if let Some((rule, what)) = l.kind.zero_rule() {
            let hit = l.proposed.get() > 0;
            trace.push(Step {
                rule_id: rule.into(),
                description: format!("{}:{what}", l.name),
                formula: format!("拟安排 {} {} 0", l.proposed.yuan_text(), if hit { ">" } else { "=" }),
                result: if hit { "不符合".into() } else { "符合".into() },
                parameters: vec![],
                source: Some(book.rule_source(rule, region, on)?),
            });
            if hit {
                violations.push(Violation {
                    line: Some(i),
                    rule_id: rule,
                    message: format!("{}:{what}，拟安排 {}", l.name, l.proposed.yuan_text()),
                });
            }
        }
    }
    let grows = other_proposed > other_prior;
    trace.push(Step {
        rule_id: "budget.debt.restructure.zero_growth".into(),
        description: "除必要的基本民生支出和政府有效运转支出外，本级政府其他财政支出保持“零增长”".into(),
        formula: format!(
            "其他支出 上年 {} → 拟安排 {}",
            Fen::new(other_prior).yuan_text(),
            Fen::new(other_proposed).yuan_text()
        ),
        result: if grows { "增长，不符合".into() } else { "未增长，符合".into() },
        parameters: vec![],
        source: Some(book.rule_source("budget.debt.restructure.zero_growth", region, on)?),
    });
    if grows {
        violations.push(Violation {
            line: None,
            rule_id: "budget.debt.restructure.zero_growth",
            message: format!(
                "其他财政支出由 {} 增至 {}:财政重整期内应保持“零增长”或者大力压减",
                Fen::new(other_prior).yuan_text(),
                Fen::new(other_proposed).yuan_text()
            ),
        });
    }
    Ok(BudgetCheck { violations, other_prior: Fen::new(other_prior), other_proposed: Fen::new(other_proposed), trace })
}
