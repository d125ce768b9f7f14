//! Amounts for persons rather than households: 特困人员 (destitute persons, urban or rural),
//! orphans by care arrangement plus the adult-student supplement, and 1960s downsized retired
//! workers by tier (本政办发〔2019〕25号 一(二)–(四)).

use chrono::NaiveDate;
use civic_domain::{
    explanation::{Step, Trace},
    policy::PolicyBook,
    DomainError, Fen, RegionCode,
};

use super::{household::Residence, standards};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonCategory {
    Destitute(Residence),
    OrphanInstitutional,
    OrphanUrbanScattered,
    OrphanRuralScattered,
    Retiree1960s { tier: u8 },
}

#[derive(Debug, Clone)]
pub struct PersonAmount {
    pub monthly: Fen,
    pub trace: Trace,
}

pub fn compute(
    book: &PolicyBook,
    category: PersonCategory,
    adult_in_school_not_employed: bool,
    region: RegionCode,
    date: NaiveDate,
) -> Result<PersonAmount, DomainError> {
    let (key, rule_id, what) = match category {
        PersonCategory::Destitute(Residence::Urban) => {
            ("assistance.tekun.urban".to_string(), "tekun.standard", "城市特困人员基本生活标准")
        }
        PersonCategory::Destitute(Residence::Rural) => {
            ("assistance.tekun.rural".to_string(), "tekun.standard", "农村特困人员基本生活标准")
        }
        PersonCategory::OrphanInstitutional => {
            ("assistance.orphan.institutional".to_string(), "orphan.standard", "孤儿集中养育标准")
        }
        PersonCategory::OrphanUrbanScattered => {
            ("assistance.orphan.urban_scattered".to_string(), "orphan.standard", "孤儿城镇散居养育标准")
        }
        PersonCategory::OrphanRuralScattered => {
            ("assistance.orphan.rural_scattered".to_string(), "orphan.standard", "孤儿农村散居养育标准")
        }
        PersonCategory::Retiree1960s { tier } => {
            (format!("assistance.retiree_1960s.tier{tier}"), "retiree_1960s.standard", "60年代精简退职职工生活补助标准")
        }
    };
    let base = standards::monthly(book, &key, region, date)?;
    let mut trace = Trace::default();
    let formula = match &base.resolved.derivation {
        Some(d) => format!("{what} = {} ({d})", base.resolved.rule.clone().unwrap_or_default()),
        None => format!("{what} {}", base.resolved.value),
    };
    trace.push(Step {
        rule_id: rule_id.into(),
        description: format!("{what}(区域 {region},{date})"),
        formula,
        result: format!("{}/人·月", base.per_person.yuan_text()),
        parameters: base.uses.clone(),
        source: Some(book.rule_source(rule_id, region, date)?),
    });
    let mut monthly = base.per_person;
    let is_orphan = matches!(
        category,
        PersonCategory::OrphanInstitutional
            | PersonCategory::OrphanUrbanScattered
            | PersonCategory::OrphanRuralScattered
    );
    if is_orphan && adult_in_school_not_employed {
        let sup = standards::monthly(book, "assistance.orphan.adult_student_supplement", region, date)?;
        let total = monthly.checked_add(sup.per_person)?;
        trace.push(Step {
            rule_id: "orphan.standard".into(),
            description: "就学未就业的成年孤儿,在基本生活养育标准基础上增发保障金".into(),
            formula: format!("{} + {} = {}", monthly.yuan_text(), sup.per_person.yuan_text(), total.yuan_text()),
            result: format!("{}/人·月", total.yuan_text()),
            parameters: sup.uses,
            source: Some(book.rule_source("orphan.standard", region, date)?),
        });
        monthly = total;
    }
    Ok(PersonAmount { monthly, trace })
}
