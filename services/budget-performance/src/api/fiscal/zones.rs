//! 驻马店's revenue sharing with its development zones (驻政〔2020〕37号 附件4) and the zone
//! spending ledger.

use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    identity::Caller,
    mapping,
    request::{self},
    ApiError, ApiResult,
};

use crate::rules::{
    amount,
    zone::{self, Plan, Revenue},
};

use super::*;

impl FiscalApi {
    pub(super) fn settle(
        &self,
        who: &Caller,
        r: &pb::SettleZoneRevenueRequest,
    ) -> ApiResult<pb::SettleZoneRevenueResponse> {
        let zone = self.region(who, "zone_code", &r.zone_code, "settle zone revenue")?;
        let plan = match (r.plan_fen, r.growth_percent.trim().is_empty()) {
            (p, true) if p > 0 => Plan::Given(amount("plan_fen", p)?),
            (0, false) => Plan::Growth {
                base: amount("base_fen", r.base_fen)?,
                percent: request::decimal("growth_percent", &r.growth_percent)?,
            },
            _ => return Err(ApiError::invalid("plan_fen", "give plan_fen, or base_fen with growth_percent")),
        };
        let revenue = Revenue {
            plan,
            city_tax: amount("city_tax_fen", r.city_tax_fen)?,
            fixed_sources: amount("fixed_source_fen", r.fixed_source_fen)?,
            nontax: amount("nontax_fen", r.nontax_fen)?,
        };
        let s = zone::settle(&self.book.current(), zone, r.year, &revenue)?;
        Ok(pb::SettleZoneRevenueResponse {
            plan_fen: s.plan.get(),
            countable_tax_fen: s.countable.get(),
            excess_fen: s.excess.get(),
            zone_reward_fen: s.zone_reward.get(),
            city_tax_share_fen: s.city_tax_share.get(),
            zone_nontax_fen: s.zone_nontax.get(),
            city_nontax_fen: s.city_nontax.get(),
            explanation: Some(mapping::explanation(&s.trace)),
        })
    }

    pub(super) fn ledger(
        &self,
        who: &Caller,
        r: &pb::ZoneSpendingLedgerRequest,
    ) -> ApiResult<pb::ZoneSpendingLedgerResponse> {
        let zone = self.region(who, "zone_code", &r.zone_code, "keep a zone's ledger")?;
        let parts = [
            amount("base_fen", r.base_fen)?,
            amount("reward_fen", r.reward_fen)?,
            amount("retention_fen", r.retention_fen)?,
            amount("prior_carry_fen", r.prior_carry_fen)?,
        ];
        let l = zone::ledger(&self.book.current(), zone, r.year, parts, amount("spent_fen", r.spent_fen)?)?;
        Ok(pb::ZoneSpendingLedgerResponse {
            available_fen: l.available.get(),
            carry_forward_fen: l.carry_forward.get(),
            overspend_fen: l.overspend.get(),
            city_top_up_fen: 0,
            explanation: Some(mapping::explanation(&l.trace)),
        })
    }
}
