//! The start-up every service shares: policy book, database and migrations, the common gRPC
//! services, then `server::serve`. A service adds its own gRPC services and little else.

use std::future::Future;

use tonic::service::Routes;

use crate::{
    common_api::{AuditApi, IdentityApi, ParametersApi},
    config::Settings,
    policy_book::{self, BookHandle, LoadBookError},
    server::{self, Running, StartError},
    storage::{Database, Migrations},
};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("policy book: {0}")]
    Book(#[from] LoadBookError),
    #[error("database {url}: {source}")]
    Database { url: String, source: sqlx::Error },
    #[error("migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("policy book: {0}")]
    Policy(String),
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("configuration: {0}")]
    Config(String),
}

/// Names of the common services, for health and reflection.
pub const COMMON_SERVICES: [&str; 3] =
    ["civic.common.v1.PolicyParametersService", "civic.common.v1.AuditLogService", "civic.common.v1.IdentityService"];

/// What a service is built on.
#[derive(Clone)]
pub struct Foundation {
    pub settings: Settings,
    pub book: BookHandle,
    pub db: Database,
}

impl Foundation {
    /// Load and validate the policy book, connect to the database and migrate it. Any failure
    /// stops start-up with a message naming what is wrong (for the book: file and line).
    pub async fn prepare(
        settings: Settings,
        migrations: &Migrations,
        required_rules: &[&str],
    ) -> Result<Foundation, StartupError> {
        let book = policy_book::load(&settings.policies_dir)?;
        let missing: Vec<&str> = required_rules.iter().copied().filter(|r| !book.has_rule(r)).collect();
        if !missing.is_empty() {
            return Err(StartupError::Policy(format!(
                "rules.csv lacks rules this service cites: {}",
                missing.join(", ")
            )));
        }
        tracing::info!(dir = %settings.policies_dir.display(), regions = book.regions.len(), "policy book loaded");
        let db = Database::connect(&settings.database_url, settings.db_max_connections).await.map_err(|source| {
            StartupError::Database { url: crate::config::redact_url(&settings.database_url), source }
        })?;
        db.migrate(migrations).await?;
        Ok(Foundation { settings, book: BookHandle::new(book), db })
    }

    /// A channel to another service at `url` (from the setting `variable`), connected on first
    /// use; `https://` is verified with CIVIC_PEER_CA. A URL or TLS setting that cannot work
    /// stops start-up, naming the setting.
    pub fn peer(&self, url: &str, variable: &str) -> Result<tonic::transport::Channel, StartupError> {
        crate::tls::peer_channel(url, &self.settings, variable).map_err(StartupError::Config)
    }

    /// The common services, to which a service adds its own.
    pub fn common_routes(&self, parameter_prefixes: Vec<&'static str>) -> Routes {
        let max = self.settings.max_message_bytes;
        Routes::new(
            ParametersApi { book: self.book.clone(), prefixes: parameter_prefixes }
                .into_server()
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        )
        .add_service(
            AuditApi { db: self.db.clone(), book: self.book.clone() }
                .into_server()
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        )
        .add_service(
            IdentityApi { book: self.book.clone() }
                .into_server()
                .max_decoding_message_size(max)
                .max_encoding_message_size(max),
        )
    }

    pub async fn serve(
        &self,
        label: &str,
        own_services: &[&str],
        routes: Routes,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<Running, StartupError> {
        let names: Vec<&str> = own_services.iter().copied().chain(COMMON_SERVICES).collect();
        Ok(server::serve(&self.settings, label, &names, routes, Some(self.db.clone()), shutdown).await?)
    }
}
