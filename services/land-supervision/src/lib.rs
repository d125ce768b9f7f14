//! land-supervision (产业集聚区用地提质增效): "标准地" indicators, acceptance, low-efficiency and idle
//! land, per-mu evaluation, rectification campaigns, farmland ratios.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod rules;
pub mod store;

use std::future::Future;

use civic_proto::land::v1::{
    campaign_service_server::CampaignServiceServer, land_case_service_server::LandCaseServiceServer,
    land_registry_service_server::LandRegistryServiceServer,
    land_supervision_service_server::LandSupervisionServiceServer,
    per_mu_evaluation_service_server::PerMuEvaluationServiceServer, sanluanwu_service_server::SanluanwuServiceServer,
};
use civic_runtime::{
    app::{Foundation, StartupError},
    config::{ServiceDefaults, Settings},
    server::Running,
    storage::Migrations,
};

pub const DEFAULTS: ServiceDefaults =
    ServiceDefaults { name: "land-supervision", grpc_port: 50052, metrics_port: 9102 };
/// The checks and assessments; the name health checks ask for.
pub const SERVICE_NAME: &str = "civic.land.v1.LandSupervisionService";
/// Every gRPC service of land-supervision, one per area.
pub const SERVICE_NAMES: [&str; 6] = [
    SERVICE_NAME,
    "civic.land.v1.LandRegistryService",
    "civic.land.v1.PerMuEvaluationService",
    "civic.land.v1.SanluanwuService",
    "civic.land.v1.CampaignService",
    "civic.land.v1.LandCaseService",
];
/// Parameter keys this service uses.
pub const PARAMETER_PREFIXES: &[&str] = &["land."];
/// Rules this service cites; start-up fails if `policies/rules.csv` lacks one.
pub const RULES: &[&str] = &[
    "land.farmland.illegal_ratio",
    "low_efficiency.industrial_transition",
    "low_efficiency.extensive_use",
    "low_efficiency.stalled",
    "low_efficiency.none",
    "land.idle.definition",
    "land.idle.enterprise",
    "land.idle.government",
    "land.idle.both",
    "land.per_mu.evaluation",
    "land.standard.indicators",
    "land.standard.acceptance",
    "land.standard.extension",
    "land.cluster.rules",
    "land.case.low_efficiency",
    "land.case.health_check",
    "land.farmland.balance",
    "land.campaign.rules",
    "land.sanluanwu.registry",
    "land.redevelopment.limits",
    "land.standard.publication",
];

pub fn migrations() -> Migrations {
    // `migrations/` holds the SQL both backends accept; `migrations/sqlite` and
    // `migrations/postgres` only the versions that must differ (an id column's type, a storage
    // setting).
    static SHARED: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
    static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
    static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
    match Migrations::combine(&SHARED, &SQLITE, &POSTGRES) {
        Ok(m) => m,
        // The sources are fixed at build time; the unit test below keeps them consistent.
        Err(e) => unreachable!("{e}"),
    }
}

/// Prepare storage and the policy book, then serve until `shutdown` resolves.
pub async fn start(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Running, StartupError> {
    let f = Foundation::prepare(settings, &migrations(), RULES).await?;
    // Limits published earlier through the API join the book.
    let mut book = (*f.book.current()).clone();
    let n = civic_runtime::published::load_into(&f.db, &mut book).await.map_err(StartupError::Policy)?;
    let problems = book.validate();
    if !problems.is_empty() {
        return Err(StartupError::Policy(format!(
            "published limits disagree with the book:\n  {}",
            problems.join("\n  ")
        )));
    }
    f.book.replace(book);
    tracing::info!(published = n, "published limits loaded");
    let land = api::LandApi { book: f.book.clone(), db: f.db.clone() };
    let max = f.settings.max_message_bytes;
    // Every area's service shares one API value and the message limits.
    macro_rules! limited {
        ($server:ident) => {
            $server::new(land.clone()).max_decoding_message_size(max).max_encoding_message_size(max)
        };
    }
    let routes = f
        .common_routes(PARAMETER_PREFIXES.to_vec())
        .add_service(limited!(LandSupervisionServiceServer))
        .add_service(limited!(LandRegistryServiceServer))
        .add_service(limited!(PerMuEvaluationServiceServer))
        .add_service(limited!(SanluanwuServiceServer))
        .add_service(limited!(CampaignServiceServer))
        .add_service(limited!(LandCaseServiceServer));
    f.serve(DEFAULTS.name, &SERVICE_NAMES, routes, shutdown).await
}

#[cfg(test)]
mod tests {
    /// One migration source: both backends apply the same versions, every file counted once.
    #[test]
    fn one_migration_source_serves_both_backends() {
        let m = super::migrations();
        let versions = |m: &sqlx::migrate::Migrator| m.migrations.iter().map(|x| x.version).collect::<Vec<_>>();
        assert_eq!(versions(&m.sqlite), versions(&m.postgres));
        assert_eq!(versions(&m.sqlite).len(), 7);
        assert!(m.sqlite.migrations.iter().zip(m.postgres.migrations.iter()).any(|(a, b)| a.sql != b.sql));
    }
}
