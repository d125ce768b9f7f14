//! How what goes wrong below the API reaches a caller: each error of the store and of the rules
//! becomes its gRPC status here, once.

use civic_runtime::ApiError;

use crate::{
    rules::{cases::CaseError, farmland::FarmlandError, idle::IdleError, per_mu::SchemeError},
    store::StoreError,
};

impl From<CaseError> for ApiError {
    fn from(e: CaseError) -> ApiError {
        match e {
            CaseError::Input { field, message } => ApiError::invalid(field, message),
            CaseError::Domain(d) => ApiError::domain("region_code", d),
        }
    }
}

impl From<IdleError> for ApiError {
    fn from(e: IdleError) -> ApiError {
        match e {
            IdleError::Input { field, message } => ApiError::invalid(field, message),
            IdleError::Domain(d) => ApiError::domain("region_code", d),
        }
    }
}

impl From<SchemeError> for ApiError {
    fn from(e: SchemeError) -> ApiError {
        let SchemeError::Input { field, message } = e;
        ApiError::invalid(field, message)
    }
}

impl From<FarmlandError> for ApiError {
    fn from(e: FarmlandError) -> ApiError {
        match e {
            FarmlandError::IllegalExceedsTotal { .. } => ApiError::invalid("illegal_occupation_mu", e.to_string()),
            FarmlandError::NoNewConstruction => ApiError::invalid("new_construction_occupation_mu", e.to_string()),
            FarmlandError::Domain(d) => ApiError::domain("region_code", d),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::VersionConflict(message) => ApiError::VersionConflict { message },
            StoreError::Duplicate(what) => ApiError::AlreadyExists { what },
            StoreError::State(reason, message) => ApiError::precondition(reason, message),
            StoreError::Field { field, message } => ApiError::invalid(field, message),
            StoreError::Corrupt(what) => ApiError::Internal(format!("corrupt record: {what}")),
            StoreError::Db(e) => ApiError::Storage(e),
        }
    }
}
