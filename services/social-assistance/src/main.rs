#![forbid(unsafe_code)]

use civic_runtime::{config::Settings, server::shutdown_signal, telemetry};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    if let civic_runtime::config::CommandLine::Exit(code) = civic_runtime::config::command_line(
        "social-assistance",
        env!("CARGO_PKG_VERSION"),
        "社会救助标准测算: standards, household benefits, the roll, recalculation, funding need",
        social_assistance::VARIABLES,
    ) {
        std::process::exit(code);
    }
    let settings = match Settings::load(social_assistance::DEFAULTS) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("social-assistance: configuration: {e}");
            std::process::exit(2);
        }
    };
    telemetry::init_tracing(&settings);
    tracing::info!(?settings, "starting social-assistance");
    match social_assistance::start(settings, shutdown_signal()).await {
        Ok(running) => running.wait().await,
        Err(e) => {
            tracing::error!("social-assistance cannot start: {e}");
            eprintln!("social-assistance cannot start: {e}");
            std::process::exit(1);
        }
    }
}
