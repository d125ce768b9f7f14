//! The smaller cost-sharing and reward rules of the seeds: programme cost shares, the lottery
//! public-welfare share, the rewards for closing mines.

use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    identity::Caller,
    mapping,
    request::{self},
    ApiError, ApiResult,
};

use crate::rules::amount;

use super::*;

impl FiscalApi {
    pub(super) fn cost_share(
        &self,
        who: &Caller,
        r: &pb::SplitCostShareRequest,
    ) -> ApiResult<pb::SplitCostShareResponse> {
        let region = self.region(who, "region_code", &r.region_code, "split a programme's cost")?;
        let on = request::served_date("on_date", &r.on_date)?;
        let total = amount("total_fen", r.total_fen)?;
        let (share, city, local, trace) =
            crate::rules::cost_share::split(&self.book.current(), region, r.programme.trim(), total, on)?;
        Ok(pb::SplitCostShareResponse {
            city_share: share.normalize().to_string(),
            city_fen: city.get(),
            local_fen: local.get(),
            explanation: Some(mapping::explanation(&trace)),
        })
    }

    pub(super) fn lottery(
        &self,
        who: &Caller,
        r: &pb::CheckLotteryShareRequest,
    ) -> ApiResult<pb::CheckLotteryShareResponse> {
        let region = self.region(who, "region_code", &r.region_code, "check the lottery share")?;
        let lottery = amount("welfare_lottery_fen", r.welfare_lottery_fen)?;
        let elderly = amount("elderly_services_fen", r.elderly_services_fen)?;
        let (required, m, trace) =
            crate::rules::cost_share::lottery_share(&self.book.current(), region, r.year, lottery, elderly)?;
        Ok(pb::CheckLotteryShareResponse {
            share_percent: crate::rules::four_places(m.ratio),
            required_percent: required.normalize().to_string(),
            minimum_fen: m.minimum.get(),
            passed: m.passed,
            shortfall_fen: m.shortfall.get(),
            explanation: Some(mapping::explanation(&trace)),
        })
    }

    pub(super) fn closure(
        &self,
        who: &Caller,
        r: &pb::ComputeClosureRewardRequest,
    ) -> ApiResult<pb::ComputeClosureRewardResponse> {
        let county = self.region(who, "region_code", &r.region_code, "compute closure rewards")?;
        if r.mines.is_empty() || r.mines.len() > 500 {
            return Err(ApiError::invalid("mines", "from 1 to 500 mines"));
        }
        let mut mines = Vec::with_capacity(r.mines.len());
        for (i, m) in r.mines.iter().enumerate() {
            let f = |n: &str| format!("mines[{i}].{n}");
            let name = m.name.trim();
            if name.is_empty() || name.chars().count() > 100 {
                return Err(ApiError::invalid(f("name"), "required, at most 100 characters"));
            }
            let closed_on = request::required_date(&f("closed_on"), &m.closed_on)?;
            let accepted_on = if m.accepted_on.trim().is_empty() {
                None
            } else {
                Some(request::required_date(&f("accepted_on"), &m.accepted_on)?)
            };
            mines.push(crate::rules::cost_share::ClosedMine { name: name.into(), closed_on, accepted_on });
        }
        let (rewards, city, local, trace) =
            crate::rules::cost_share::closure_reward(&self.book.current(), county, &mines)?;
        Ok(pb::ComputeClosureRewardResponse {
            mines: rewards
                .into_iter()
                .map(|x| pb::MineReward {
                    name: x.name,
                    city_fen: x.city.get(),
                    county_fen: x.county.get(),
                    payable: x.payable,
                    note: x.note,
                })
                .collect(),
            city_fen: city.get(),
            county_fen: local.get(),
            explanation: Some(mapping::explanation(&trace)),
        })
    }
}
