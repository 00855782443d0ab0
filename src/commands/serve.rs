use std::process::ExitCode;

use anyhow::Context;

use crate::cli::ServeArgs;
use crate::clock::Clock;
use crate::exporter::Exporter;

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    // The same checks as `check`: what one refuses, the other refuses.
    let ready = super::preflight::prepare(&args.start, Clock::system()).await?;
    let (settings, adapters) = ready.sharded();
    let web = ready.web;
    let exporter = Exporter::start_with(
        &settings,
        adapters,
        ready.api,
        &ready.listen,
        Clock::system(),
        web.clone(),
    )
    .await
    .context("starting the exporter")?;
    tracing::info!(
        addr = %exporter.addr,
        scheme = exporter.scheme,
        targets = settings.targets.len(),
        shard = ?settings.shard,
        client_certificates = ?web.as_ref().and_then(|w| w.tls()).map(|t| t.client_auth()),
        basic_auth_users = web.as_ref().and_then(|w| w.basic_auth()).map_or(0, |a| a.user_count()),
        "serving /metrics"
    );
    super::shutdown_signal().await;
    exporter.stop().await;
    Ok(ExitCode::SUCCESS)
}
