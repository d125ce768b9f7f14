//! Payment holds (暂缓 / 停止拨款), placed and lifted by finance only, and the treasury's
//! CheckPayment.

use civic_domain::{
    explanation::{Step, Trace},
    Fen, RegionCode,
};
use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    identity::{Access, Caller},
    mapping,
    request::{self},
    ApiError, ApiResult,
};

use super::{convert::*, MonitoringApi};
use crate::api::is_id;
use crate::store::{
    holds::{self, HoldRow},
    monitoring::{self as store},
};

impl MonitoringApi {
    pub(super) async fn place_hold(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::PlacePaymentHoldRequest,
    ) -> ApiResult<pb::PaymentHold> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
        who.authorize(&book.regions, Access::Write, FINANCE, "place payment holds", region).map_err(ApiError::from)?;
        let kind = match pb::HoldKind::try_from(r.kind) {
            Ok(pb::HoldKind::Suspend) => "SUSPEND",
            Ok(pb::HoldKind::Stop) => "STOP",
            _ => return Err(ApiError::invalid("kind", "HOLD_KIND_SUSPEND (暂缓拨款) or HOLD_KIND_STOP (停止拨款)")),
        };
        let reason = note("reason", &r.reason, true)?;
        for (i, id) in r.warning_ids.iter().enumerate() {
            let field = format!("warning_ids[{i}]");
            let w = if is_id(id.trim()) { store::get_warning(&self.db, id.trim()).await? } else { None };
            if w.is_none_or(|w| w.programme_id != p.id) {
                return Err(ApiError::invalid(field, "not a warning of this programme"));
            }
        }
        let placed_on = request::date_or_today("placed_on", &r.placed_on)?;
        request::served_date("placed_on", &placed_on.to_string())?;
        book.rule_source("budget.hold", region, placed_on).map_err(|e| ApiError::domain("placed_on", e))?;
        let hold = HoldRow {
            id: uuid::Uuid::new_v4().to_string(),
            programme_id: p.id.clone(),
            region_code: p.region_code.clone(),
            kind: kind.into(),
            reason,
            warning_ids: r.warning_ids.iter().map(|s| s.trim()).collect::<Vec<_>>().join(","),
            placed_by: String::new(),
            placed_on: placed_on.to_string(),
            placed_at: String::new(),
            lifted_by: String::new(),
            lifted_on: String::new(),
            lift_reason: String::new(),
            is_open: true,
        };
        Ok(hold_pb(&holds::place(&self.db, who, rid, &hold).await?))
    }

    pub(super) async fn lift_hold(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::LiftPaymentHoldRequest,
    ) -> ApiResult<pb::PaymentHold> {
        let book = self.book.current();
        let id = r.hold_id.trim();
        if !is_id(id) {
            return Err(ApiError::invalid("hold_id", "a hold id this service assigned"));
        }
        let h = holds::get(&self.db, id).await?.ok_or_else(|| ApiError::not_found(format!("payment hold {id}")))?;
        let region = RegionCode::parse(&h.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
        who.authorize(&book.regions, Access::Write, FINANCE, "lift payment holds", region).map_err(ApiError::from)?;
        let reason = note("reason", &r.reason, true)?;
        let on = request::date_or_today("lifted_on", &r.lifted_on)?;
        request::served_date("lifted_on", &on.to_string())?;
        Ok(hold_pb(&holds::lift(&self.db, who, rid, id, &on.to_string(), &reason).await?))
    }

    pub(super) async fn check_payment(
        &self,
        who: &Caller,
        r: &pb::CheckPaymentRequest,
    ) -> ApiResult<pb::CheckPaymentResponse> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
        who.authorize(&book.regions, Access::Read, FINANCE, "check payments", region).map_err(ApiError::from)?;
        if r.amount_fen <= 0 {
            return Err(ApiError::invalid("amount_fen", "a payment is positive"));
        }
        if r.pending_fen < 0 {
            return Err(ApiError::invalid("pending_fen", "must not be negative"));
        }
        let on = request::date_or_today("on_date", &r.on_date)?;
        request::served_date("on_date", &on.to_string())?;
        let hold_rule = book.rule_source("budget.hold", region, on).map_err(|e| ApiError::domain("on_date", e))?;
        let open: Vec<HoldRow> = holds::open_for(&self.db, &p.id)
            .await?
            .into_iter()
            .filter(|h| h.placed_on.as_str() <= on.to_string().as_str())
            .collect();
        if !open.is_empty() {
            let list: Vec<String> = open
                .iter()
                .map(|h| {
                    format!(
                        "{} {}(自 {}):{}",
                        h.id,
                        if h.kind == "STOP" { "停止拨款" } else { "暂缓拨款" },
                        h.placed_on,
                        h.reason
                    )
                })
                .collect();
            return Err(ApiError::precondition(
                "PAYMENT_HELD",
                format!(
                    "programme {} is under a payment hold ({} {}): {}",
                    p.id,
                    hold_rule.document,
                    hold_rule.clause,
                    list.join("; ")
                ),
            ));
        }
        let (paid, paid_as_of) = store::latest_paid(&self.db, &p.id).await?;
        let overflow = || ApiError::invalid("amount_fen", "too large");
        let committed =
            paid.checked_add(r.pending_fen).and_then(|v| v.checked_add(r.amount_fen)).ok_or_else(overflow)?;
        let remaining = p.adjusted_budget_fen.checked_sub(committed).ok_or_else(overflow)?;
        let formula = format!(
            "全年预算数 {} − 已拨付 {}{} − 在途 {} − 本次 {} = {}",
            Fen::new(p.adjusted_budget_fen).yuan_text(),
            Fen::new(paid).yuan_text(),
            paid_as_of.map(|d| format!("(截至 {d})")).unwrap_or_default(),
            Fen::new(r.pending_fen).yuan_text(),
            Fen::new(r.amount_fen).yuan_text(),
            Fen::new(remaining).yuan_text()
        );
        if remaining < 0 {
            return Err(ApiError::precondition(
                "ABOVE_BUDGET",
                format!("programme {}: the payment exceeds what is left of the year's budget: {formula}", p.id),
            ));
        }
        let mut trace = Trace::default();
        trace.push(Step {
            rule_id: "budget.hold".into(),
            description: "无暂缓或停止拨款决定，按进度拨款".into(),
            formula,
            result: "可以拨付".into(),
            parameters: vec![],
            source: Some(hold_rule),
        });
        Ok(pb::CheckPaymentResponse {
            allowed: true,
            remaining_after_fen: remaining,
            explanation: Some(mapping::explanation(&trace)),
        })
    }
}
