//! The explanation of a per-mu evaluation: the scheme as applied (each indicator's benchmark,
//! weight and direction; the classing rule), cited to the scheme's document and the rule.

use civic_domain::{
    explanation::{SourceRef, Step, Trace},
    policy::PolicyBook,
    DomainError,
};
use civic_proto::land::v1 as pb;

use crate::rules::per_mu::{Classing, Missing, Scheme};

pub fn explain(
    book: &PolicyBook,
    region: civic_domain::RegionCode,
    on: chrono::NaiveDate,
    wire: &pb::PerMuScheme,
    s: &Scheme,
    unrated: i64,
    (total, noun): (usize, &str),
) -> Result<Trace, DomainError> {
    let rule = book.rule_source("land.per_mu.evaluation", region, on)?;
    let scheme_source = SourceRef { document: wire.document.clone(), title: wire.name.clone(), ..Default::default() };
    let terms: Vec<String> = s
        .indicators
        .iter()
        .map(|i| {
            let missing = match i.missing {
                Missing::AverageScore => "缺失取平均得分",
                Missing::Zero => "缺失得0分",
                Missing::Unrated => "缺失不参评",
            };
            if i.higher_is_better {
                format!("{} ÷ {} × {}({missing})", i.name, i.benchmark, i.weight)
            } else {
                format!("{} ÷ {} × {}({missing})", i.benchmark, i.name, i.weight)
            }
        })
        .collect();
    let mut trace = Trace::default();
    trace.push(Step {
        rule_id: "land.per_mu.evaluation".into(),
        description: format!("综合得分 = Σ 指标得分(方案:{})", wire.name),
        formula: terms.join(" + "),
        result: format!("{total} {noun},{unrated} 个不参评"),
        parameters: vec![],
        source: Some(if wire.document.is_empty() { rule.clone() } else { scheme_source }),
    });
    let classing = match &s.classing {
        Classing::RankShares { a, b, c } => {
            format!("按排名:前 ⌊n×{a}⌋ 名为 A,至 ⌊n×{b}⌋ 名为 B,至 ⌊n×{c}⌋ 名为 C,其余为 D;同分者名次相同,归入较高类别")
        }
        Classing::Cutoffs { a, b, c } => format!("按分数线:≥ {a} 为 A,≥ {b} 为 B,≥ {c} 为 C,其余为 D"),
    };
    trace.push(Step {
        rule_id: "land.per_mu.evaluation".into(),
        description: "分类规则".into(),
        formula: classing,
        result: String::new(),
        parameters: vec![],
        source: Some(rule),
    });
    Ok(trace)
}
