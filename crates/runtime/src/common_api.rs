//! The gRPC services every civic service exposes besides its own: `PolicyParameters` (what the
//! service believes, with sources), `AuditLog` (for auditors and administrators) and `Identity`.

use civic_proto::common::v1::{
    self as pb,
    audit_log_service_server::{AuditLogService, AuditLogServiceServer},
    identity_service_server::{IdentityService, IdentityServiceServer},
    policy_parameters_service_server::{PolicyParametersService, PolicyParametersServiceServer},
};
use tonic::{Request, Response, Status};

use crate::{
    audit::{self, AuditFilter},
    error::ApiError,
    identity::{Access, Role},
    mapping,
    policy_book::BookHandle,
    request::{self, caller},
    storage::Database,
};

/// The policy parameters a service uses: the keys under its prefixes.
#[derive(Clone)]
pub struct ParametersApi {
    pub book: BookHandle,
    pub prefixes: Vec<&'static str>,
}

impl ParametersApi {
    pub fn into_server(self) -> PolicyParametersServiceServer<Self> {
        PolicyParametersServiceServer::new(self)
    }

    fn check_prefix(&self, field: &str, key: &str) -> Result<(), ApiError> {
        if key.is_empty() || self.prefixes.iter().any(|p| key.starts_with(p)) {
            Ok(())
        } else {
            Err(ApiError::invalid(field, format!("this service uses parameters under {}", self.prefixes.join(", "))))
        }
    }
}

#[tonic::async_trait]
impl PolicyParametersService for ParametersApi {
    #[tracing::instrument(skip_all)]
    async fn list_parameters(
        &self,
        req: Request<pb::ListParametersRequest>,
    ) -> Result<Response<pb::ListParametersResponse>, Status> {
        caller(&req)?;
        let r = req.get_ref();
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        let date = request::date_or_today("on_date", &r.on_date)?;
        self.check_prefix("key_prefix", &r.key_prefix)?;
        let size = request::page_size("page_size", r.page_size)?;
        let offset = request::page_token("page_token", &r.page_token)? as usize;
        let mut all = Vec::new();
        for p in &self.prefixes {
            let prefix = if r.key_prefix.starts_with(p) {
                r.key_prefix.as_str()
            } else if r.key_prefix.is_empty() {
                p
            } else {
                continue;
            };
            all.extend(book.in_force(prefix, region, date).map_err(|e| ApiError::domain("region_code", e))?);
        }
        let next = if offset + size < all.len() { (offset + size).to_string() } else { String::new() };
        let parameters = all.iter().skip(offset).take(size).map(mapping::parameter).collect();
        Ok(Response::new(pb::ListParametersResponse { parameters, next_page_token: next, on_date: date.to_string() }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_parameter(
        &self,
        req: Request<pb::GetParameterRequest>,
    ) -> Result<Response<pb::GetParameterResponse>, Status> {
        caller(&req)?;
        let r = req.get_ref();
        let book = self.book.current();
        if r.key.is_empty() {
            return Err(ApiError::invalid("key", "required").into());
        }
        self.check_prefix("key", &r.key)?;
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        let date = request::date_or_today("on_date", &r.on_date)?;
        let v = book.value(&r.key, region, date).map_err(|e| match e {
            civic_domain::DomainError::UnknownParameter(_) => ApiError::not_found(format!("parameter '{}'", r.key)),
            e => ApiError::domain("key", e),
        })?;
        Ok(Response::new(pb::GetParameterResponse { parameter: Some(mapping::parameter(&v)) }))
    }

    #[tracing::instrument(skip_all)]
    async fn get_parameter_history(
        &self,
        req: Request<pb::GetParameterHistoryRequest>,
    ) -> Result<Response<pb::GetParameterHistoryResponse>, Status> {
        caller(&req)?;
        let r = req.get_ref();
        let book = self.book.current();
        self.check_prefix("key", &r.key)?;
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        let h = book.history(&r.key, region).map_err(|e| match e {
            civic_domain::DomainError::UnknownParameter(_) => ApiError::not_found(format!("parameter '{}'", r.key)),
            e => ApiError::domain("key", e),
        })?;
        Ok(Response::new(pb::GetParameterHistoryResponse { versions: h.iter().map(mapping::parameter).collect() }))
    }
}

#[derive(Clone)]
pub struct AuditApi {
    pub db: Database,
    pub book: BookHandle,
}

impl AuditApi {
    pub fn into_server(self) -> AuditLogServiceServer<Self> {
        AuditLogServiceServer::new(self)
    }
}

#[tonic::async_trait]
impl AuditLogService for AuditApi {
    #[tracing::instrument(skip_all)]
    async fn list_audit_entries(
        &self,
        req: Request<pb::ListAuditEntriesRequest>,
    ) -> Result<Response<pb::ListAuditEntriesResponse>, Status> {
        let who = caller(&req)?;
        let r = req.get_ref();
        let book = self.book.current();
        let region = if r.region_code.is_empty() {
            who.scope
        } else {
            request::region_code(&book, "region_code", &r.region_code)?
        };
        who.authorize(&book.regions, Access::Read, &[Role::Auditor, Role::Admin], "read the audit log", region)
            .map_err(ApiError::from)?;
        let limit = request::page_size("page_size", r.page_size)? as i64;
        let after_id = request::page_token("page_token", &r.page_token)?;
        let rows = audit::list(
            &self.db,
            &AuditFilter {
                region_prefix: audit::region_prefix(region),
                entity: (!r.entity.is_empty()).then(|| r.entity.clone()),
                entity_id: (!r.entity_id.is_empty()).then(|| r.entity_id.clone()),
                after_id,
                limit,
            },
        )
        .await
        .map_err(ApiError::from)?;
        let next = if rows.len() as i64 == limit {
            rows.last().map(|r| r.id.to_string()).unwrap_or_default()
        } else {
            String::new()
        };
        let entries = rows
            .into_iter()
            .map(|a| pb::AuditEntry {
                id: a.id,
                at: a.at,
                actor: a.actor,
                actor_role: a.actor_role,
                actor_region: a.actor_region,
                action: a.action,
                entity: a.entity,
                entity_id: a.entity_id,
                region_code: a.region_code,
                before_json: a.before_json,
                after_json: a.after_json,
                reason: a.reason,
                request_id: a.request_id,
                via_service: a.via,
            })
            .collect();
        Ok(Response::new(pb::ListAuditEntriesResponse { entries, next_page_token: next }))
    }
}

#[derive(Clone)]
pub struct IdentityApi {
    pub book: BookHandle,
}

impl IdentityApi {
    pub fn into_server(self) -> IdentityServiceServer<Self> {
        IdentityServiceServer::new(self)
    }
}

#[tonic::async_trait]
impl IdentityService for IdentityApi {
    async fn who_am_i(&self, req: Request<pb::WhoAmIRequest>) -> Result<Response<pb::WhoAmIResponse>, Status> {
        let who = caller(&req)?;
        let book = self.book.current();
        Ok(Response::new(pb::WhoAmIResponse {
            subject: who.subject.clone(),
            role: who.role.to_string(),
            region_code: who.scope.to_string(),
            region_name: book.regions.name(who.scope).to_string(),
            expires_at: who.expires_at.to_rfc3339(),
            request_id: request::request_id(&req),
            unit: who.unit.clone().unwrap_or_default(),
        }))
    }
}
