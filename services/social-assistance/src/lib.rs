//! social-assistance (社会救助标准测算): dated standards, household benefits, recalculation when
//! standards rise, funding need, the city subsidy split and what-if reforms, for the rules of
//! 本政办发〔2019〕25号 and the national 低保 frame.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod analysis;
pub mod api;
pub mod population;
pub mod publish;
pub mod recalc;
pub mod roll;
pub mod roster;
pub mod rules;
pub mod spreadsheet;
pub mod store;
pub mod synthetic;

use std::{future::Future, sync::Arc};

use civic_proto::assistance::v1::social_assistance_service_server::SocialAssistanceServiceServer;
use civic_runtime::{
    app::{Foundation, StartupError},
    config::{ServiceDefaults, Settings},
    server::Running,
    storage::Migrations,
};

pub const DEFAULTS: ServiceDefaults =
    ServiceDefaults { name: "social-assistance", grpc_port: 50053, metrics_port: 9103 };
pub const SERVICE_NAME: &str = "civic.assistance.v1.SocialAssistanceService";
/// This service's own configuration, beside the runtime's (`--help` prints both).
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("CIVIC_RECALC_CHUNK_SIZE", "`5000`", "social-assistance: households per recalculation chunk"),
    ("CIVIC_RECALC_STALE_SECS", "`60`", "social-assistance: a chunk claim older than this is taken over"),
    ("CIVIC_RECALC_PAUSE_MS", "`0`", "social-assistance: pause per chunk, to spare a busy database"),
    ("CIVIC_RECALC_WORKERS", "`3`", "social-assistance: concurrent chunk workers per job in each replica"),
    (
        "CIVIC_BUDGET_PERFORMANCE_URL",
        "`http://127.0.0.1:50051`",
        "social-assistance: where budget-performance answers (evaluation scores for the subsidy split)",
    ),
];

/// Where budget-performance is: `CIVIC_BUDGET_PERFORMANCE_URL`, default its local port.
pub fn budget_url_from_env() -> String {
    std::env::var("CIVIC_BUDGET_PERFORMANCE_URL").unwrap_or_else(|_| "http://127.0.0.1:50051".to_string())
}
pub const PARAMETER_PREFIXES: &[&str] = &["assistance."];
/// Rules this service cites; start-up fails if `policies/rules.csv` lacks one.
pub const RULES: &[&str] = &[
    "dibao.standard",
    "dibao.household_income",
    "dibao.excluded_income",
    "dibao.casual_income_floor",
    "dibao.gap_payment",
    "tekun.standard",
    "orphan.standard",
    "retiree_1960s.standard",
    "low_income.threshold",
    "standards.effective_date",
    "subsidy.factor_split",
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

/// Prepare storage and the policy book (with standards published earlier), resume unfinished
/// recalculations, then serve until `shutdown` resolves.
pub async fn start(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Running, StartupError> {
    start_with(settings, recalc::RecalcSettings::from_env(), shutdown).await
}

/// `start` with explicit recalculation settings.
pub async fn start_with(
    settings: Settings,
    recalc_settings: recalc::RecalcSettings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Running, StartupError> {
    start_with_peers(settings, recalc_settings, &budget_url_from_env(), shutdown).await
}

/// `start_with`, with budget-performance's address given.
pub async fn start_with_peers(
    settings: Settings,
    recalc_settings: recalc::RecalcSettings,
    budget_url: &str,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Running, StartupError> {
    let f = Foundation::prepare(settings, &migrations(), RULES).await?;
    let mut book = (*f.book.current()).clone();
    let n = store::standards::load_into(&f.db, &mut book).await.map_err(StartupError::Policy)?;
    let problems = book.validate();
    if !problems.is_empty() {
        return Err(StartupError::Policy(format!(
            "published standards disagree with the book:\n  {}",
            problems.join("\n  ")
        )));
    }
    f.book.replace(book);
    tracing::info!(published = n, "published standards loaded");
    let recalculator = recalc::Recalculator::new(f.db.clone(), f.book.clone(), recalc_settings);
    let resumed = recalculator.resume_all().await.map_err(|e| StartupError::Policy(e.to_string()))?;
    if resumed > 0 {
        tracing::info!(jobs = resumed, "unfinished recalculations resumed");
    }
    // Connected on first use, so the services can start in any order.
    let budget = f.peer(budget_url, "CIVIC_BUDGET_PERFORMANCE_URL")?;
    let api = api::AssistanceApi {
        book: f.book.clone(),
        db: f.db.clone(),
        recalculator,
        roll_cache: Arc::new(api::RollCache::new(f.settings.roll_snapshot_min_households)),
        max_import_bytes: f.settings.max_import_bytes,
        max_import_memory_bytes: f.settings.max_import_memory_bytes,
        max_message_bytes: f.settings.max_message_bytes,
        budget,
    };
    let routes = f.common_routes(PARAMETER_PREFIXES.to_vec()).add_service(
        SocialAssistanceServiceServer::new(api)
            .max_decoding_message_size(f.settings.max_message_bytes)
            .max_encoding_message_size(f.settings.max_message_bytes),
    );
    f.serve(DEFAULTS.name, &[SERVICE_NAME], routes, shutdown).await
}

#[cfg(test)]
mod tests {
    /// One migration source: both backends apply the same versions, every file counted once.
    #[test]
    fn one_migration_source_serves_both_backends() {
        let m = super::migrations();
        let versions = |m: &sqlx::migrate::Migrator| m.migrations.iter().map(|x| x.version).collect::<Vec<_>>();
        assert_eq!(versions(&m.sqlite), versions(&m.postgres));
        assert_eq!(versions(&m.sqlite).len(), 8);
        assert!(m.sqlite.migrations.iter().zip(m.postgres.migrations.iter()).any(|(a, b)| a.sql != b.sql));
    }
    /// The README's configuration table lists this service's own variables with their defaults.
    #[test]
    fn the_readme_lists_the_service_variables() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
        for (name, default, _) in super::VARIABLES {
            assert!(readme.contains(&format!("| `{name}` | {default} |")), "README lacks {name}");
        }
    }
}
