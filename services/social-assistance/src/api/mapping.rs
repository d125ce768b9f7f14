//! Wire ↔ domain for the assistance API. Every conversion reports the request field at fault.

use civic_domain::{policy::PolicyBook, Fen};
use civic_proto::assistance::v1 as pb;
use civic_runtime::{request, ApiError, ApiResult};

use crate::rules::household::{Household, Income, Member, Residence};

pub fn residence(field: &str, r: i32) -> ApiResult<Residence> {
    match pb::Residence::try_from(r) {
        Ok(pb::Residence::Urban) => Ok(Residence::Urban),
        Ok(pb::Residence::Rural) => Ok(Residence::Rural),
        _ => Err(ApiError::invalid(field, "URBAN or RURAL is required")),
    }
}

pub fn residence_to_pb(r: Residence) -> pb::Residence {
    match r {
        Residence::Urban => pb::Residence::Urban,
        Residence::Rural => pb::Residence::Rural,
    }
}

pub fn household(book: &PolicyBook, field: &str, h: Option<&pb::Household>) -> ApiResult<Household> {
    let h = h.ok_or_else(|| ApiError::invalid(field, "required"))?;
    let region = request::region_code(book, &format!("{field}.region_code"), &h.region_code)?;
    let residence = residence(&format!("{field}.residence"), h.residence)?;
    let mut violations = Vec::new();
    let members = h
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| {
            if m.age < 0 {
                violations.push((format!("{field}.members[{i}].age"), "age must not be negative".to_string()));
            }
            Member {
                id: m.id.clone(),
                age: u32::try_from(m.age).unwrap_or(0),
                able_bodied: m.able_bodied,
                has_income_proof: m.has_income_proof,
                incomes: m
                    .incomes
                    .iter()
                    .map(|x| Income { kind: x.kind.trim().to_string(), monthly: Fen::new(x.monthly_fen) })
                    .collect(),
            }
        })
        .collect();
    let built = Household::new(h.id.clone(), region, residence, members, field);
    match built {
        Ok(hh) if violations.is_empty() => Ok(hh),
        Ok(_) => Err(ApiError::InvalidArgument(violations)),
        Err(v) => {
            violations.extend(v.into_iter().map(|v| (v.field, v.description)));
            Err(ApiError::InvalidArgument(violations))
        }
    }
}

pub fn household_to_pb(h: &Household) -> pb::Household {
    pb::Household {
        id: h.id.clone(),
        region_code: h.region.to_string(),
        residence: residence_to_pb(h.residence) as i32,
        members: h
            .members()
            .iter()
            .map(|m| pb::Member {
                id: m.id.clone(),
                age: i32::try_from(m.age).unwrap_or(i32::MAX),
                able_bodied: m.able_bodied,
                has_income_proof: m.has_income_proof,
                incomes: m
                    .incomes
                    .iter()
                    .map(|i| pb::IncomeItem { kind: i.kind.clone(), monthly_fen: i.monthly.get() })
                    .collect(),
            })
            .collect(),
    }
}
