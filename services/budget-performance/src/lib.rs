//! budget-performance (预算绩效管理). It grades an evaluation's total score (优/良/中/差,
//! 财预〔2020〕10号), scores unit self-evaluations, evaluates monitoring checkpoints against a
//! region's (or a request's) rule set, costs a proposed assistance standard ex ante by asking
//! social-assistance's what-if on the caller's behalf, and applies the seeds' fiscal rules
//! (zone revenue sharing, debt risk, pooled funds, cost sharing). The stored performance cycle
//! (programmes, goals, monitoring records, holds, evaluations, results) is being built.
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod rules;
pub mod store;
pub mod tables;

use std::future::Future;

use civic_proto::budget::v1::budget_performance_service_server::BudgetPerformanceServiceServer;
use civic_runtime::{
    app::{Foundation, StartupError},
    config::{ServiceDefaults, Settings},
    server::Running,
    storage::Migrations,
};

pub const DEFAULTS: ServiceDefaults =
    ServiceDefaults { name: "budget-performance", grpc_port: 50051, metrics_port: 9101 };
pub const SERVICE_NAME: &str = "civic.budget.v1.BudgetPerformanceService";
/// The seeds' fiscal rules, a service of its own.
pub const FISCAL_SERVICE_NAME: &str = "civic.budget.v1.FiscalRulesService";
/// Evaluations and their scores.
pub const EVALUATION_SERVICE_NAME: &str = "civic.budget.v1.EvaluationService";
/// Dual monitoring.
pub const MONITORING_SERVICE_NAME: &str = "civic.budget.v1.MonitoringService";
/// Programmes and their goals.
pub const PROGRAMME_SERVICE_NAME: &str = "civic.budget.v1.ProgrammeService";
/// Rectification orders.
pub const RECTIFICATION_SERVICE_NAME: &str = "civic.budget.v1.RectificationService";
/// Publication duties.
pub const DISCLOSURE_SERVICE_NAME: &str = "civic.budget.v1.DisclosureService";
/// The indicator library.
pub const INDICATOR_SERVICE_NAME: &str = "civic.budget.v1.IndicatorLibraryService";
/// This service's own configuration, beside the runtime's (`--help` prints both).
pub const VARIABLES: &[(&str, &str, &str)] = &[
    ("CIVIC_SOCIAL_ASSISTANCE_URL", "`http://127.0.0.1:50053`", "budget-performance: where social-assistance answers"),
    (
        "CIVIC_LAND_SUPERVISION_URL",
        "`http://127.0.0.1:50052`",
        "budget-performance: where land-supervision answers (goal indicators' actuals)",
    ),
];
/// Parameter keys this service uses.
pub const PARAMETER_PREFIXES: &[&str] = &["budget."];
/// Rules this service cites; start-up fails if `policies/rules.csv` lacks one.
pub const RULES: &[&str] = &[
    "budget.grade",
    "budget.ex_ante.cost",
    "budget.zone.settlement",
    "budget.zone.ledger",
    "budget.zone.nongchanyuan",
    "budget.zone.rounding",
    "budget.debt.restructuring",
    "budget.debt.report_lead",
    "budget.debt.guarantee_cap.plan",
    "budget.debt.guarantee_cap.law",
    "law.threshold_semantics",
    "law.period",
    "law.period.backward",
    "budget.agri_pool.share",
    "budget.agri_pool.minimum",
    "budget.agri_pool.recall",
    "budget.agri_pool.deadlines",
    "budget.debt.level",
    "budget.cost_share",
    "budget.cost_share.rounding",
    "budget.self_eval.weights",
    "budget.self_eval.quantitative",
    "budget.self_eval.over_target",
    "budget.self_eval.qualitative",
    "budget.self_eval.execution_rate",
    "civic.self_eval.le_mirror",
    "civic.self_eval.eq_deviation",
    "civic.score.rounding",
    "budget.monitoring.dual",
    "budget.monitoring.time_progress",
    "budget.goal.completeness",
    "budget.goal.precondition",
    "budget.goal.change_procedure",
    "budget.goal.review",
    "budget.goal.coverage",
    "budget.ex_ante.required",
    "budget.hold",
    "budget.evaluation.framework",
    "budget.results.excellent",
    "budget.results.good",
    "budget.results.fair",
    "budget.results.poor",
    "civic.scores.precedence",
    "budget.disclosure.government",
    "budget.disclosure.department",
    "budget.disclosure.unit",
    "budget.disclosure.gov_info",
    "budget.approval.department",
    "budget.approval.unit",
    "budget.final.department",
    "budget.final.unit",
    "budget.rectification",
    "budget.ex_ante.score",
    "budget.ex_ante.budget_check",
    "budget.debt.restructure.zero_growth",
    "budget.debt.restructure.zero_spend",
    "budget.debt.restructure.no_new_investment",
    "budget.debt.restructure.suspended",
    "budget.actual_source",
    "budget.debt.response.l4",
    "budget.debt.response.l3",
    "budget.debt.response.l2",
    "budget.debt.response.l1",
    "budget.debt.no_new_investment",
    "budget.debt.daily_report",
    "budget.debt.termination",
    "budget.debt.post_evaluation",
    "budget.lottery.elderly_share",
    "budget.lottery.minimum",
    "budget.closure_reward",
];

/// One migration source for both backends: budget-performance's SQL is the same on each.
pub fn migrations() -> Migrations {
    // `migrations/` holds the SQL both backends accept; `migrations/sqlite` and
    // `migrations/postgres` only the versions that must differ (keys compared byte by byte).
    static SHARED: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
    static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
    static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
    match Migrations::combine(&SHARED, &SQLITE, &POSTGRES) {
        Ok(m) => m,
        // The sources are fixed at build time; the unit test below keeps them consistent.
        Err(e) => unreachable!("{e}"),
    }
}

/// Where social-assistance is: `CIVIC_SOCIAL_ASSISTANCE_URL`, default its local port.
pub fn assistance_url_from_env() -> String {
    std::env::var("CIVIC_SOCIAL_ASSISTANCE_URL").unwrap_or_else(|_| "http://127.0.0.1:50053".to_string())
}

/// Where land-supervision is: `CIVIC_LAND_SUPERVISION_URL`, default its local port.
pub fn land_url_from_env() -> String {
    std::env::var("CIVIC_LAND_SUPERVISION_URL").unwrap_or_else(|_| "http://127.0.0.1:50052".to_string())
}

/// Prepare storage and the policy book, then serve until `shutdown` resolves.
pub async fn start(
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Running, StartupError> {
    start_with_peers(settings, &assistance_url_from_env(), &land_url_from_env(), shutdown).await
}

/// `start` with the social-assistance address given (land-supervision's from the environment).
pub async fn start_with(
    settings: Settings,
    assistance_url: &str,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Running, StartupError> {
    start_with_peers(settings, assistance_url, &land_url_from_env(), shutdown).await
}

/// `start` with the other services' addresses given.
pub async fn start_with_peers(
    settings: Settings,
    assistance_url: &str,
    land_url: &str,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<Running, StartupError> {
    let f = Foundation::prepare(settings, &migrations(), RULES).await?;
    // Connected on first use, so the services can start in any order.
    let assistance = f.peer(assistance_url, "CIVIC_SOCIAL_ASSISTANCE_URL")?;
    let peers = api::Peers { assistance: assistance.clone(), land: f.peer(land_url, "CIVIC_LAND_SUPERVISION_URL")? };
    let follow_up = api::FollowUpApi { book: f.book.clone(), db: f.db.clone() };
    let routes = f
        .common_routes(PARAMETER_PREFIXES.to_vec())
        .add_service(
            BudgetPerformanceServiceServer::new(api::BudgetApi { book: f.book.clone(), assistance, db: f.db.clone() })
                .max_decoding_message_size(f.settings.max_message_bytes)
                .max_encoding_message_size(f.settings.max_message_bytes),
        )
        .add_service(
            civic_proto::budget::v1::fiscal_rules_service_server::FiscalRulesServiceServer::new(api::FiscalApi {
                book: f.book.clone(),
                db: f.db.clone(),
            })
            .max_decoding_message_size(f.settings.max_message_bytes)
            .max_encoding_message_size(f.settings.max_message_bytes),
        )
        .add_service(
            civic_proto::budget::v1::evaluation_service_server::EvaluationServiceServer::new(api::EvaluationApi {
                book: f.book.clone(),
                db: f.db.clone(),
                peers: peers.clone(),
            })
            .max_decoding_message_size(f.settings.max_message_bytes)
            .max_encoding_message_size(f.settings.max_message_bytes),
        )
        .add_service(
            civic_proto::budget::v1::monitoring_service_server::MonitoringServiceServer::new(api::MonitoringApi {
                book: f.book.clone(),
                db: f.db.clone(),
                peers,
            })
            .max_decoding_message_size(f.settings.max_message_bytes)
            .max_encoding_message_size(f.settings.max_message_bytes),
        )
        .add_service(
            civic_proto::budget::v1::programme_service_server::ProgrammeServiceServer::new(api::ProgrammeApi {
                book: f.book.clone(),
                db: f.db.clone(),
            })
            .max_decoding_message_size(f.settings.max_message_bytes)
            .max_encoding_message_size(f.settings.max_message_bytes),
        )
        .add_service(
            civic_proto::budget::v1::rectification_service_server::RectificationServiceServer::new(follow_up.clone())
                .max_decoding_message_size(f.settings.max_message_bytes)
                .max_encoding_message_size(f.settings.max_message_bytes),
        )
        .add_service(
            civic_proto::budget::v1::disclosure_service_server::DisclosureServiceServer::new(follow_up)
                .max_decoding_message_size(f.settings.max_message_bytes)
                .max_encoding_message_size(f.settings.max_message_bytes),
        )
        .add_service(
            civic_proto::budget::v1::indicator_library_service_server::IndicatorLibraryServiceServer::new(
                api::IndicatorApi { book: f.book.clone(), db: f.db.clone() },
            )
            .max_decoding_message_size(f.settings.max_message_bytes)
            .max_encoding_message_size(f.settings.max_message_bytes),
        );
    f.serve(
        DEFAULTS.name,
        &[
            SERVICE_NAME,
            FISCAL_SERVICE_NAME,
            EVALUATION_SERVICE_NAME,
            MONITORING_SERVICE_NAME,
            PROGRAMME_SERVICE_NAME,
            RECTIFICATION_SERVICE_NAME,
            DISCLOSURE_SERVICE_NAME,
            INDICATOR_SERVICE_NAME,
        ],
        routes,
        shutdown,
    )
    .await
}

#[cfg(test)]
mod tests {
    /// One migration source: both backends apply the same versions, every file counted once.
    #[test]
    fn one_migration_source_serves_both_backends() {
        let m = super::migrations();
        let versions = |m: &sqlx::migrate::Migrator| m.migrations.iter().map(|x| x.version).collect::<Vec<_>>();
        assert_eq!(versions(&m.sqlite), versions(&m.postgres));
        assert_eq!(versions(&m.sqlite).len(), 11);
        assert!(m.sqlite.migrations.iter().zip(m.postgres.migrations.iter()).any(|(a, b)| a.sql != b.sql));
    }
}
