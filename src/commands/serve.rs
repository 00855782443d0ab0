use std::process::ExitCode;

use anyhow::Context;

use crate::cli::ServeArgs;
use crate::clock::Clock;
use crate::config::{DEFAULT_PORT, Settings};
use crate::exporter::Exporter;

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let settings = Settings::load(&args.config)?;
    if args.web_config.is_some() {
        anyhow::bail!("--web-config is not supported by this build yet");
    }
    let listen = args
        .listen
        .or_else(|| settings.listen.clone())
        .unwrap_or_else(|| format!("0.0.0.0:{DEFAULT_PORT}"));
    let exporter = Exporter::start(&settings, &listen, Clock::system())
        .await
        .context("starting the exporter")?;
    tracing::info!(addr = %exporter.addr, targets = settings.targets.len(), "serving /metrics");
    super::shutdown_signal().await;
    exporter.stop().await;
    Ok(ExitCode::SUCCESS)
}
