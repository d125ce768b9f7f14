//! `civic.budget.v1.EvaluationService`: scoring evaluations. A unit scores its own
//! self-evaluation; finance and auditors (who read everything) may score any in their scope.
//!
//! `submit` scores and stores evaluations and reviews them; `decisions` is what results do
//! (proposals, finance's decisions, region scores); `tables` the 自评表; `convert` maps requests,
//! rows and outcomes; `service` is the tonic face; here, who may reach which evaluation.

mod convert;
mod decisions;
mod service;
mod submit;
mod tables;

use convert::*;

use civic_domain::RegionCode;
use civic_proto::budget::v1 as pb;
use civic_runtime::{
    identity::{Access, Caller, Denied, Role},
    policy_book::BookHandle,
    storage::Database,
    ApiError, ApiResult,
};
use rust_decimal::Decimal;

use super::{is_id, programmes::check_programme};
use crate::store::{
    evaluations::{self as store, EvaluationRow},
    programmes::{self as programme_store, ProgrammeRow},
};

#[derive(Clone)]
pub struct EvaluationApi {
    pub book: BookHandle,
    pub db: Database,
    /// Where goal indicators' actuals are read.
    pub peers: super::actuals::Peers,
}

pub(super) const FINANCE: &[Role] = &[Role::Finance];

impl EvaluationApi {
    /// A third-party evaluator's assignment to `kind` of `p`, or PERMISSION_DENIED.
    pub(super) async fn assigned(&self, who: &Caller, p: &ProgrammeRow, kind: &str) -> ApiResult<store::Assignment> {
        let book = self.book.current();
        let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
        who.check_region(&book.regions, region).map_err(ApiError::from)?;
        store::assignment(&self.db, &p.id, kind, &who.subject)
            .await?
            .ok_or_else(|| Denied::Role { role: who.role, action: "reach an evaluation not assigned to it" }.into())
    }

    /// Read access to an evaluation: the programme's readers, or the evaluator assigned to it.
    pub(super) async fn check_read(&self, who: &Caller, p: &ProgrammeRow, kind: &str) -> ApiResult<()> {
        if who.role == Role::Evaluator {
            self.assigned(who, p, kind).await.map(|_| ())
        } else {
            check_programme(&self.book.current(), who, Access::Read, p, "read evaluations").map(|_| ())
        }
    }

    pub(super) async fn assign(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::AssignEvaluatorRequest,
    ) -> ApiResult<pb::AssignEvaluatorResponse> {
        let book = self.book.current();
        let p = self.programme(&r.programme_id).await?;
        let region = RegionCode::parse(&p.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
        who.authorize(&book.regions, Access::Write, FINANCE, "assign evaluators", region).map_err(ApiError::from)?;
        let kind = match pb::EvaluationKind::try_from(r.kind) {
            Ok(pb::EvaluationKind::Unspecified | pb::EvaluationKind::Self_) | Err(_) => {
                return Err(ApiError::invalid("kind", "an evaluation kind other than SELF (a unit evaluates itself)"))
            }
            Ok(k) => k,
        };
        let subject = short("evaluator_subject", &r.evaluator_subject, 100)?;
        let name = short("evaluator_name", &r.evaluator_name, 100)?;
        if subject.is_empty() || name.is_empty() {
            return Err(ApiError::invalid(
                if subject.is_empty() { "evaluator_subject" } else { "evaluator_name" },
                "required",
            ));
        }
        let code = r.evaluator_credit_code.trim();
        if code.len() != 18 || !code.chars().all(|c| c.is_ascii_digit() || c.is_ascii_uppercase()) {
            return Err(ApiError::invalid("evaluator_credit_code", "the 18-character unified social credit code"));
        }
        let a = store::Assignment {
            programme_id: p.id.clone(),
            kind: kind_name(kind).into(),
            evaluator_subject: subject,
            evaluator_name: name,
            evaluator_credit_code: code.into(),
            assigned_by: String::new(),
            assigned_at: String::new(),
        };
        let a = store::assign(&self.db, who, rid, &p.region_code, &a).await?;
        Ok(pb::AssignEvaluatorResponse {
            programme_id: a.programme_id,
            kind: kind as i32,
            evaluator_subject: a.evaluator_subject,
            evaluator_name: a.evaluator_name,
            evaluator_credit_code: a.evaluator_credit_code,
            assigned_by: a.assigned_by,
            assigned_at: a.assigned_at,
        })
    }

    pub(super) async fn programme(&self, id: &str) -> ApiResult<ProgrammeRow> {
        if !is_id(id.trim()) {
            return Err(ApiError::invalid("programme_id", "a programme id this service assigned"));
        }
        programme_store::get(&self.db, id.trim())
            .await?
            .ok_or_else(|| ApiError::not_found(format!("programme {}", id.trim())))
    }

    pub(super) async fn evaluation(&self, id: &str) -> ApiResult<EvaluationRow> {
        if !is_id(id.trim()) {
            return Err(ApiError::invalid("evaluation_id", "an evaluation id this service assigned"));
        }
        store::get(&self.db, id.trim()).await?.ok_or_else(|| ApiError::not_found(format!("evaluation {}", id.trim())))
    }

    /// A re-evaluation's gap to the evaluation it re-checks.
    pub(super) async fn gap(&self, e: &EvaluationRow) -> ApiResult<Option<String>> {
        if e.supersedes.is_empty() {
            return Ok(None);
        }
        let Some(original) = store::get(&self.db, &e.supersedes).await? else { return Ok(None) };
        let (a, b) = (e.total.parse::<Decimal>(), original.total.parse::<Decimal>());
        Ok(match (a, b) {
            (Ok(a), Ok(b)) => Some((a - b).to_string()),
            _ => None,
        })
    }
}
