//! Evaluation grades (绩效评价等级): 优 ≥ 90, 良 ≥ 80, 中 ≥ 60, 差 below, on a total of 100
//! (财预〔2020〕10号 第二十七条). The thresholds are policy parameters, not constants.

use chrono::NaiveDate;
use civic_domain::{
    explanation::{Step, Trace},
    policy::PolicyBook,
    DomainError, RegionCode,
};
use rust_decimal::Decimal;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grade {
    Excellent,
    Good,
    Fair,
    Poor,
}

impl Grade {
    pub fn chinese(self) -> &'static str {
        match self {
            Grade::Excellent => "优",
            Grade::Good => "良",
            Grade::Fair => "中",
            Grade::Poor => "差",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Grade::Excellent => "EXCELLENT",
            Grade::Good => "GOOD",
            Grade::Fair => "FAIR",
            Grade::Poor => "POOR",
        }
    }
}

/// Grade `score` (0–100) under the scale in force for `region` on `date`.
pub fn grade(
    book: &PolicyBook,
    region: RegionCode,
    date: NaiveDate,
    score: Decimal,
) -> Result<(Grade, Trace), DomainError> {
    let excellent = book.value("budget.grade.excellent_min", region, date)?;
    let good = book.value("budget.grade.good_min", region, date)?;
    let fair = book.value("budget.grade.fair_min", region, date)?;
    let grade = if score >= excellent.value {
        Grade::Excellent
    } else if score >= good.value {
        Grade::Good
    } else if score >= fair.value {
        Grade::Fair
    } else {
        Grade::Poor
    };
    let formula = format!(
        "{score} 分: 优 ≥ {}, 良 ≥ {}, 中 ≥ {}, 差 < {} → {}",
        excellent.value,
        good.value,
        fair.value,
        fair.value,
        grade.chinese()
    );
    let mut trace = Trace::default();
    trace.push(Step {
        rule_id: "budget.grade".into(),
        description: "绩效评价结果按总分划分为优、良、中、差四档".into(),
        formula,
        result: grade.chinese().into(),
        parameters: vec![excellent.to_use(), good.to_use(), fair.to_use()],
        source: Some(book.rule_source("budget.grade", region, date)?),
    });
    Ok((grade, trace))
}
