#![forbid(unsafe_code)]

use civic_runtime::{config::Settings, server::shutdown_signal, telemetry};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    if let civic_runtime::config::CommandLine::Exit(code) = civic_runtime::config::command_line(
        "land-supervision",
        env!("CARGO_PKG_VERSION"),
        "产业集聚区用地提质增效: standard land, low-efficiency and idle land, per-mu evaluation, campaigns",
        &[],
    ) {
        std::process::exit(code);
    }
    let settings = match Settings::load(land_supervision::DEFAULTS) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("land-supervision: configuration: {e}");
            std::process::exit(2);
        }
    };
    telemetry::init_tracing(&settings);
    tracing::info!(?settings, "starting land-supervision");
    match land_supervision::start(settings, shutdown_signal()).await {
        Ok(running) => running.wait().await,
        Err(e) => {
            tracing::error!("land-supervision cannot start: {e}");
            eprintln!("land-supervision cannot start: {e}");
            std::process::exit(1);
        }
    }
}
