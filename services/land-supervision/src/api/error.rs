//! How what goes wrong below the API reaches a caller: each error of the store becomes its gRPC
//! status here, once.

use civic_runtime::ApiError;

use crate::store::StoreError;

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
