//! The service object and the trait implementation; each handler authenticates, then delegates.

use std::sync::Arc;

use civic_domain::policy::PolicyBook;
use civic_proto::assistance::v1::{self as pb, social_assistance_service_server::SocialAssistanceService};
use civic_runtime::{
    policy_book::BookHandle,
    request::{caller, request_id},
    storage::Database,
    ApiResult,
};
use tonic::{Request, Response, Status};

use super::recalculation::JobStream;
use crate::{population::Population, recalc::Recalculator, store};

/// The roll of one region in compact form, reloaded when the roll has changed since it was
/// loaded (through this replica or another: the stored change count has moved) or the policy
/// book has; kept as long as neither happens, so only the first what-if after a start or a
/// change reads the roll. A roll of `snapshot_from` households or more is also kept in the
/// database in compact form once read (`store::roll::snapshot`), so that the first what-if after
/// a start reads that while the roll has not changed since.
pub struct RollCache {
    entry: tokio::sync::Mutex<Option<CacheEntry>>,
    snapshot_from: usize,
}

struct CacheEntry {
    prefix: String,
    book: usize,
    /// The roll's stored change count when it was read (`store::roll::changes`).
    changes: i64,
    population: Arc<Population>,
}

impl RollCache {
    pub fn new(snapshot_from: usize) -> RollCache {
        RollCache { entry: tokio::sync::Mutex::new(None), snapshot_from }
    }

    pub async fn get(&self, db: &Database, book: &Arc<PolicyBook>, prefix: &str) -> ApiResult<Arc<Population>> {
        let mut guard = self.entry.lock().await;
        let book_id = Arc::as_ptr(book) as usize;
        // Read before the roll: a change committed in between is loaded now and counted as not
        // yet seen, so it costs one more load, never a stale answer.
        let changes = store::roll::changes(db).await?;
        if let Some(e) = guard.as_ref() {
            if e.prefix == prefix && e.book == book_id && e.changes == changes {
                return Ok(e.population.clone());
            }
        }
        let kinds = crate::population::excludable_kinds(book);
        let signature = crate::population::signature(&kinds);
        let population = match snapshot(db, prefix, changes, &signature, kinds.clone()).await {
            Some(p) => Arc::new(p),
            None => {
                let p = Arc::new(store::roll::load_population(db, prefix, &kinds).await?);
                if p.len() >= self.snapshot_from {
                    keep_snapshot(db.clone(), prefix.to_string(), changes, signature, p.clone());
                }
                p
            }
        };
        *guard =
            Some(CacheEntry { prefix: prefix.to_string(), book: book_id, changes, population: population.clone() });
        Ok(population)
    }
}

/// The roll from the snapshot kept at `changes`, if there is one and it reads whole; a snapshot
/// that cannot be read is reported and the roll read instead.
async fn snapshot(
    db: &Database,
    prefix: &str,
    changes: i64,
    signature: &str,
    kinds: Vec<String>,
) -> Option<Population> {
    let bytes = match store::roll::snapshot::read(db, prefix, changes, signature).await {
        Ok(b) => b?,
        Err(e) => {
            tracing::warn!(prefix, error = %e, "roll snapshot not read; reading the roll");
            return None;
        }
    };
    let size = bytes.len();
    let read = tokio::task::spawn_blocking(move || Population::from_bytes(&bytes, &kinds)).await.ok().flatten();
    match &read {
        Some(p) => tracing::debug!(prefix, households = p.len(), bytes = size, "roll read from its snapshot"),
        None => tracing::warn!(prefix, bytes = size, "roll snapshot unreadable; reading the roll"),
    }
    read
}

/// Write the snapshot of a roll just read, in the background (the what-if does not wait); a
/// failure only means the next start reads the roll again.
fn keep_snapshot(db: Database, prefix: String, changes: i64, signature: String, population: Arc<Population>) {
    tokio::spawn(async move {
        let Ok(bytes) = tokio::task::spawn_blocking(move || population.to_bytes()).await else {
            return;
        };
        match store::roll::snapshot::write(&db, &prefix, changes, &signature, &bytes).await {
            Ok(()) => tracing::debug!(prefix, bytes = bytes.len(), "roll snapshot kept"),
            Err(e) => tracing::warn!(prefix, error = %e, "roll snapshot not kept"),
        }
    });
}

#[derive(Clone)]
pub struct AssistanceApi {
    pub book: BookHandle,
    pub db: Database,
    pub recalculator: Recalculator,
    pub roll_cache: Arc<RollCache>,
    /// Largest file a streamed import may send.
    pub max_import_bytes: usize,
    /// Memory the households read from one import may take.
    pub max_import_memory_bytes: usize,
    /// Largest message, for answers built whole.
    pub max_message_bytes: usize,
    /// A lazily connected channel to budget-performance, for evaluation scores.
    pub budget: tonic::transport::Channel,
}

fn respond<T>(r: ApiResult<T>) -> Result<Response<T>, Status> {
    r.map(Response::new).map_err(Status::from)
}

#[tonic::async_trait]
impl SocialAssistanceService for AssistanceApi {
    #[tracing::instrument(skip_all)]
    async fn list_standards(
        &self,
        req: Request<pb::ListStandardsRequest>,
    ) -> Result<Response<pb::ListStandardsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.list_standards(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn publish_standards(
        &self,
        req: Request<pb::PublishStandardsRequest>,
    ) -> Result<Response<pb::PublishStandardsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.publish_standards(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn compute_household_benefit(
        &self,
        req: Request<pb::ComputeHouseholdBenefitRequest>,
    ) -> Result<Response<pb::ComputeHouseholdBenefitResponse>, Status> {
        let who = caller(&req)?;
        respond(self.household_benefit(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn compute_person_benefit(
        &self,
        req: Request<pb::ComputePersonBenefitRequest>,
    ) -> Result<Response<pb::ComputePersonBenefitResponse>, Status> {
        let who = caller(&req)?;
        respond(self.person_benefit(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn identify_low_income(
        &self,
        req: Request<pb::IdentifyLowIncomeRequest>,
    ) -> Result<Response<pb::IdentifyLowIncomeResponse>, Status> {
        let who = caller(&req)?;
        respond(self.low_income(&who, req.get_ref()))
    }

    #[tracing::instrument(skip_all)]
    async fn split_city_subsidy(
        &self,
        req: Request<pb::SplitCitySubsidyRequest>,
    ) -> Result<Response<pb::SplitCitySubsidyResponse>, Status> {
        let who = caller(&req)?;
        respond(self.split_subsidy(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn upsert_household(
        &self,
        req: Request<pb::UpsertHouseholdRequest>,
    ) -> Result<Response<pb::UpsertHouseholdResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.upsert_household(&who, &request_id(&req), req.get_ref()).await;
        respond(answer.map(|h| pb::UpsertHouseholdResponse { household: Some(h) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_household(
        &self,
        req: Request<pb::GetHouseholdRequest>,
    ) -> Result<Response<pb::GetHouseholdResponse>, Status> {
        let who = caller(&req)?;
        respond(self.get_household(&who, req.get_ref()).await.map(|h| pb::GetHouseholdResponse { household: Some(h) }))
    }

    #[tracing::instrument(skip_all)]
    async fn list_households(
        &self,
        req: Request<pb::ListHouseholdsRequest>,
    ) -> Result<Response<pb::ListHouseholdsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.list_households(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn import_roll(
        &self,
        req: Request<pb::ImportRollRequest>,
    ) -> Result<Response<pb::ImportRollResponse>, Status> {
        let who = caller(&req)?;
        let request_id = request_id(&req);
        respond(self.import_roll(&who, &request_id, req.into_inner()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn import_roll_stream(
        &self,
        req: Request<tonic::Streaming<pb::ImportRollStreamRequest>>,
    ) -> Result<Response<pb::ImportRollStreamResponse>, Status> {
        let who = caller(&req)?;
        let request_id = request_id(&req);
        let answer = self.import_roll_stream(&who, &request_id, req.into_inner()).await?;
        let pb::ImportRollResponse { households, members, errors, stored } = answer;
        Ok(Response::new(pb::ImportRollStreamResponse { households, members, errors, stored }))
    }

    #[tracing::instrument(skip_all)]
    async fn export_roll(
        &self,
        req: Request<pb::ExportRollRequest>,
    ) -> Result<Response<pb::ExportRollResponse>, Status> {
        let who = caller(&req)?;
        respond(self.export_roll(&who, req.get_ref()).await)
    }

    type ExportRollStreamStream = super::roll::ExportStream;

    #[tracing::instrument(skip_all)]
    async fn export_roll_stream(
        &self,
        req: Request<pb::ExportRollStreamRequest>,
    ) -> Result<Response<Self::ExportRollStreamStream>, Status> {
        let who = caller(&req)?;
        let pb::ExportRollStreamRequest { region_code, format } = req.into_inner();
        respond(self.export_roll_stream(&who, &pb::ExportRollRequest { region_code, format }).await)
    }

    #[tracing::instrument(skip_all)]
    async fn summarize_assistance(
        &self,
        req: Request<pb::SummarizeAssistanceRequest>,
    ) -> Result<Response<pb::SummarizeAssistanceResponse>, Status> {
        let who = caller(&req)?;
        let r = req.get_ref();
        let answer = self.summarize(&who, r).await;
        respond(
            civic_runtime::audit::read_on_behalf(
                &self.db,
                &who,
                &civic_runtime::request::request_id(&req),
                || {
                    civic_runtime::audit::Change::read(
                        "assistance.summary.read_on_behalf",
                        "assistance_summary",
                        format!("{}..{}", r.from_month, r.to_month),
                        r.region_code.clone(),
                        serde_json::json!({"from_month": r.from_month, "to_month": r.to_month}),
                    )
                },
                answer,
            )
            .await,
        )
    }

    #[tracing::instrument(skip_all)]
    async fn record_payments(
        &self,
        req: Request<pb::RecordPaymentsRequest>,
    ) -> Result<Response<pb::RecordPaymentsResponse>, Status> {
        let who = caller(&req)?;
        respond(self.record_payments(&who, &request_id(&req), req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn start_recalculation(
        &self,
        req: Request<pb::StartRecalculationRequest>,
    ) -> Result<Response<pb::StartRecalculationResponse>, Status> {
        let who = caller(&req)?;
        let answer = self.start_recalculation(&who, &request_id(&req), req.get_ref()).await;
        respond(answer.map(|job| pb::StartRecalculationResponse { job: Some(job) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_recalculation(
        &self,
        req: Request<pb::GetRecalculationRequest>,
    ) -> Result<Response<pb::GetRecalculationResponse>, Status> {
        let who = caller(&req)?;
        respond(
            self.get_recalculation(&who, req.get_ref())
                .await
                .map(|job| pb::GetRecalculationResponse { job: Some(job) }),
        )
    }

    type WatchRecalculationStream = JobStream;

    #[tracing::instrument(skip_all)]
    async fn watch_recalculation(
        &self,
        req: Request<pb::WatchRecalculationRequest>,
    ) -> Result<Response<Self::WatchRecalculationStream>, Status> {
        let who = caller(&req)?;
        respond(self.watch_recalculation(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn list_recalculation_cases(
        &self,
        req: Request<pb::ListRecalculationCasesRequest>,
    ) -> Result<Response<pb::ListRecalculationCasesResponse>, Status> {
        let who = caller(&req)?;
        respond(self.list_cases(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn estimate_funding_need(
        &self,
        req: Request<pb::EstimateFundingNeedRequest>,
    ) -> Result<Response<pb::EstimateFundingNeedResponse>, Status> {
        let who = caller(&req)?;
        respond(self.funding_need(&who, req.get_ref()).await)
    }

    #[tracing::instrument(skip_all)]
    async fn what_if(&self, req: Request<pb::WhatIfRequest>) -> Result<Response<pb::WhatIfResponse>, Status> {
        let who = caller(&req)?;
        let r = req.get_ref();
        let answer = self.what_if(&who, r).await;
        respond(
            civic_runtime::audit::read_on_behalf(
                &self.db,
                &who,
                &civic_runtime::request::request_id(&req),
                || {
                    let proposed: Vec<String> =
                        r.proposed.iter().map(|v| format!("{} {} = {}", v.key, v.region_code, v.value)).collect();
                    let request = serde_json::json!({"on_date": r.on_date, "proposed": proposed});
                    civic_runtime::audit::Change::read(
                        "assistance.what_if.read_on_behalf",
                        "what_if",
                        r.on_date.clone(),
                        r.region_code.clone(),
                        request,
                    )
                },
                answer,
            )
            .await,
        )
    }
}
