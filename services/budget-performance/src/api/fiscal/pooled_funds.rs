//! 三门峡's pooled agricultural funds (三政办〔2017〕29号): the poverty-alleviation share and
//! the deadlines and balances.

use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    identity::Caller,
    mapping,
    request::{self},
    ApiError, ApiResult,
};

use crate::rules::{
    amount,
    pooled::{self, Balance, BalanceClass},
};

use super::*;

impl FiscalApi {
    pub(super) fn pooled(
        &self,
        who: &Caller,
        r: &pb::CheckPooledFundsRequest,
    ) -> ApiResult<pb::CheckPooledFundsResponse> {
        let county = self.region(who, "region_code", &r.region_code, "check pooled agricultural funds")?;
        let on = request::served_date("on_date", &r.on_date)?;
        let mut balances = Vec::new();
        for (i, b) in r.balances.iter().enumerate() {
            amount("balances.amount_fen", b.amount_fen)?;
            balances.push(Balance {
                id: if b.id.is_empty() { format!("balances[{i}]") } else { b.id.clone() },
                carried_since: request::served_date(&format!("balances[{i}].carried_since"), &b.carried_since)?,
                net_surplus: b.net_surplus,
                needed_for_original_use: b.needed_for_original_use,
            });
        }
        let c = pooled::check(
            &self.book.current(),
            county,
            r.year,
            amount("pooled_fen", r.pooled_fen)?,
            amount("poverty_allocation_fen", r.poverty_allocation_fen)?,
            on,
            &balances,
        )?;
        Ok(pb::CheckPooledFundsResponse {
            share_percent: crate::rules::four_places(c.share_percent),
            minimum_fen: c.minimum.get(),
            passed: c.passed,
            shortfall_fen: c.shortfall.get(),
            balances: c
                .balances
                .into_iter()
                .map(|(id, class, reason)| pb::ClassifiedBalance {
                    id,
                    class: match class {
                        BalanceClass::MustRecall => pb::BalanceClass::MustRecall,
                        BalanceClass::MayRecallAfterFiling => pb::BalanceClass::MayRecallAfterFiling,
                        BalanceClass::Keep => pb::BalanceClass::Keep,
                    } as i32,
                    reason,
                })
                .collect(),
            explanation: Some(mapping::explanation(&c.trace)),
        })
    }

    pub(super) fn pooled_deadlines(
        &self,
        who: &Caller,
        r: &pb::PooledFundDeadlinesRequest,
    ) -> ApiResult<pb::PooledFundDeadlinesResponse> {
        let county = self.region(who, "region_code", &r.region_code, "compute pooled-fund deadlines")?;
        let opt = |field: &str, s: &str| -> ApiResult<Option<chrono::NaiveDate>> {
            if s.trim().is_empty() {
                Ok(None)
            } else {
                request::served_date(field, s).map(Some)
            }
        };
        let summary = opt("summary_received_on", &r.summary_received_on)?;
        let opinion = opt("opinion_received_on", &r.opinion_received_on)?;
        if summary.is_none() && opinion.is_none() {
            return Err(ApiError::invalid(
                "summary_received_on",
                "give summary_received_on, opinion_received_on or both",
            ));
        }
        let d = pooled::deadlines(&self.book.current(), county, summary, opinion)?;
        let mut skipped: Vec<String> = Vec::new();
        if let Some(o) = &d.opinion {
            skipped.extend(o.moved_over.iter().map(|(day, why)| format!("{day} {why}")));
        }
        if let Some(p) = &d.plan {
            skipped.extend(p.skipped.iter().map(|(day, why)| format!("{day} {why}")));
        }
        Ok(pb::PooledFundDeadlinesResponse {
            opinion_nominal: d.opinion.as_ref().map(|o| o.nominal.to_string()).unwrap_or_default(),
            opinion_due: d.opinion.as_ref().map(|o| o.due.to_string()).unwrap_or_default(),
            plan_due: d.plan.as_ref().map(|p| p.due.to_string()).unwrap_or_default(),
            skipped,
            explanation: Some(mapping::explanation(&d.trace)),
        })
    }
}
