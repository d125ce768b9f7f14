#![forbid(unsafe_code)]

use civic_runtime::{config::Settings, server::shutdown_signal, telemetry};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    if let civic_runtime::config::CommandLine::Exit(code) = civic_runtime::config::command_line(
        "budget-performance",
        env!("CARGO_PKG_VERSION"),
        "预算绩效管理: performance goals, assessments, monitoring and evaluation grades",
        budget_performance::VARIABLES,
    ) {
        std::process::exit(code);
    }
    let settings = match Settings::load(budget_performance::DEFAULTS) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("budget-performance: configuration: {e}");
            std::process::exit(2);
        }
    };
    telemetry::init_tracing(&settings);
    tracing::info!(?settings, "starting budget-performance");
    match budget_performance::start(settings, shutdown_signal()).await {
        Ok(running) => running.wait().await,
        Err(e) => {
            tracing::error!("budget-performance cannot start: {e}");
            eprintln!("budget-performance cannot start: {e}");
            std::process::exit(1);
        }
    }
}
