//! The monthly 低保 benefit of a household (补差): standard × members − counted income, never
//! below zero (国务院令第649号 第十条、第十二条; standards 本政办发〔2019〕25号 一(一)).

use chrono::NaiveDate;
use civic_domain::{
    explanation::{Step, Trace},
    policy::{PolicyBook, Resolved},
    DomainError, Fen,
};
use rust_decimal::Decimal;

use super::{
    household::Household,
    standards::{self, MonthlyStandard},
};

#[derive(Debug, Clone)]
pub struct Benefit {
    pub monthly: Fen,
    pub standard: Fen,
    pub members: i64,
    pub counted_income: Fen,
    pub per_capita_income: Fen,
    pub eligible: bool,
    pub trace: Trace,
}

/// Whether income of `kind` is excluded on `date` (a flag parameter `assistance.income_excluded.<kind>`).
fn excluded(book: &PolicyBook, kind: &str, h: &Household, date: NaiveDate) -> Option<civic_domain::policy::Resolved> {
    const FAMILY: &str = "assistance.income_excluded.";
    let mut key = String::with_capacity(FAMILY.len() + kind.len());
    key.push_str(FAMILY);
    key.push_str(kind);
    // Most kinds have no flag: found out without building the error that would say so.
    book.governing_entry(&key, h.region, date)?;
    book.value(&key, h.region, date).ok().filter(|r| r.value == Decimal::ONE)
}

/// The casual-labour income floor and the working-age bounds that decide who it applies to.
struct CasualFloor {
    floor: Fen,
    min_age: u32,
    max_age: u32,
    income: Resolved,
}

fn casual_floor(
    book: &PolicyBook,
    h: &Household,
    date: NaiveDate,
    trace: &mut Trace,
) -> Result<CasualFloor, DomainError> {
    let min = book.value("assistance.working_age.min", h.region, date)?;
    let max = book.value("assistance.working_age.max", h.region, date)?;
    let income = book.value("assistance.casual_income.monthly", h.region, date)?;
    let age = |d: Decimal| {
        u32::try_from(d.trunc())
            .map_err(|_| DomainError::Inconsistent(format!("working age {d} is not a whole number of years")))
    };
    let (min_age, max_age) = (age(min.value)?, age(max.value)?);
    trace.push(Step {
        rule_id: "dibao.casual_income_floor".into(),
        description: "有劳动能力、处于劳动年龄且无收入证明的成员,按零工收入标准计算收入".into(),
        formula: format!("劳动年龄 {min_age}–{max_age} 岁;零工收入标准 {} 元/人·月", income.value),
        result: String::new(),
        parameters: vec![min.to_use(), max.to_use(), income.to_use()],
        source: Some(book.rule_source("dibao.casual_income_floor", h.region, date)?),
    });
    Ok(CasualFloor { floor: Fen::from_yuan_decimal(income.value)?, min_age, max_age, income })
}

/// Counted household income per month, with the steps that led to it.
pub fn counted_income(
    book: &PolicyBook,
    h: &Household,
    date: NaiveDate,
    trace: &mut Trace,
) -> Result<Fen, DomainError> {
    let mut total = Fen::ZERO;
    let mut casual: Option<CasualFloor> = None;
    for (i, m) in h.members().iter().enumerate() {
        // Only spelled when a step names the member.
        let label = || if m.id.is_empty() { format!("成员{}", i + 1) } else { m.id.clone() };
        let mut own = Fen::ZERO;
        for inc in &m.incomes {
            if let Some(flag) = excluded(book, &inc.kind, h, date) {
                trace.push(Step {
                    rule_id: "dibao.excluded_income".into(),
                    description: format!("{} 的 {} 收入按政策不计入家庭收入", label(), inc.kind),
                    formula: format!("{} 不计入", inc.monthly.yuan_text()),
                    result: "0 元".into(),
                    parameters: vec![flag.to_use()],
                    source: Some(book.rule_source("dibao.excluded_income", h.region, date)?),
                });
                continue;
            }
            own = own.checked_add(inc.monthly)?;
        }
        if m.able_bodied && !m.has_income_proof {
            if casual.is_none() {
                casual = Some(casual_floor(book, h, date, trace)?);
            }
            if let Some(c) = &casual {
                if (c.min_age..=c.max_age).contains(&m.age) && own < c.floor {
                    trace.push(Step {
                        rule_id: "dibao.casual_income_floor".into(),
                        description: format!("{}({} 岁)有劳动能力且无收入证明,收入按零工收入标准计算", label(), m.age),
                        formula: format!("max({}, {}) = {}", own.yuan_text(), c.floor.yuan_text(), c.floor.yuan_text()),
                        result: c.floor.yuan_text(),
                        parameters: vec![c.income.to_use()],
                        source: Some(book.rule_source("dibao.casual_income_floor", h.region, date)?),
                    });
                    own = c.floor;
                }
            }
        }
        total = total.checked_add(own)?;
    }
    trace.push(Step {
        rule_id: "dibao.household_income".into(),
        description: "家庭月收入为各成员计入收入之和".into(),
        formula: format!("{} 名成员计入收入合计", h.size()),
        result: total.yuan_text(),
        parameters: vec![],
        source: Some(book.rule_source("dibao.household_income", h.region, date)?),
    });
    Ok(total)
}

/// The step that states the standard; the standard's parameter uses move into it.
fn standard_step(
    book: &PolicyBook,
    h: &Household,
    s: &mut MonthlyStandard,
    date: NaiveDate,
) -> Result<Step, DomainError> {
    let mut formula = format!("{}低保标准 {}", h.residence.chinese(), s.resolved.value);
    if !s.conversion.is_empty() {
        formula = format!("{}低保标准(年) {}", h.residence.chinese(), s.conversion);
    }
    Ok(Step {
        rule_id: "dibao.standard".into(),
        description: format!("按户籍地 {} 与{}类别确定低保标准", h.region, h.residence.chinese()),
        formula,
        result: format!("{}/人·月", s.per_person.yuan_text()),
        parameters: std::mem::take(&mut s.uses),
        source: Some(book.rule_source("dibao.standard", h.region, date)?),
    })
}

/// Per-capita income, half up to the fen.
pub fn per_capita(total: Fen, members: i64) -> Fen {
    if members <= 0 {
        return Fen::ZERO;
    }
    let t = i128::from(total.get());
    let n = i128::from(members);
    let q = (2 * t + n) / (2 * n);
    Fen::new(i64::try_from(q).unwrap_or(i64::MAX))
}

pub fn compute(book: &PolicyBook, h: &Household, date: NaiveDate) -> Result<Benefit, DomainError> {
    let mut trace = Trace::default();
    let mut s = standards::dibao(book, h.residence, h.region, date)?;
    trace.push(standard_step(book, h, &mut s, date)?);
    let income = counted_income(book, h, date, &mut trace)?;
    let n = h.size();
    let gross = s.per_person.checked_mul(n)?;
    let gap = gross.checked_sub(income)?;
    let monthly = gap.max(Fen::ZERO);
    let per_capita = per_capita(income, n);
    trace.push(Step {
        rule_id: "dibao.gap_payment".into(),
        description: "低保金 = 低保标准 × 家庭人口 − 家庭月收入,不低于零".into(),
        formula: format!(
            "{} × {} − {} = {}{}",
            s.per_person.yuan_figure(),
            n,
            income.yuan_figure(),
            gap.yuan_text(),
            if gap.is_negative() { " → 0 元(收入高于标准,不予保障)" } else { "" }
        ),
        result: monthly.yuan_text(),
        parameters: vec![],
        source: Some(book.rule_source("dibao.gap_payment", h.region, date)?),
    });
    Ok(Benefit {
        monthly,
        standard: s.per_person,
        members: n,
        counted_income: income,
        per_capita_income: per_capita,
        eligible: gap > Fen::ZERO,
        trace,
    })
}
