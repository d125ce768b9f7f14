#![forbid(unsafe_code)]

use civic_runtime::{config::Settings, server::shutdown_signal, telemetry};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
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
