use std::process::ExitCode;

use anyhow::Context;

use crate::cli::ServeArgs;
use crate::clock::Clock;
use crate::config::{DEFAULT_PORT, Settings};
use crate::exporter::Exporter;
use crate::web::WebConfig;

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut settings = Settings::load(&args.config)?;
    settings.exclude_metrics = crate::metrics::check_exclude(&args.exclude_metrics)?;
    if let (Some(index), Some(total)) = (args.shard, args.total_shards) {
        let shard = crate::shard::Shard::new(index, total)
            .map_err(|e| anyhow::anyhow!("--shard/--total-shards: {e}"))?;
        settings.shard = Some(shard);
    }
    let web = args
        .web_config
        .as_deref()
        .map(WebConfig::load)
        .transpose()?;
    let listen = args
        .listen
        .or_else(|| settings.listen.clone())
        .unwrap_or_else(|| format!("0.0.0.0:{DEFAULT_PORT}"));
    let exporter = Exporter::start(&settings, &listen, Clock::system(), web.clone())
        .await
        .context("starting the exporter")?;
    tracing::info!(
        addr = %exporter.addr,
        scheme = exporter.scheme,
        targets = settings.sharded().targets.len(),
        shard = ?settings.shard,
        client_certificates = ?web.as_ref().and_then(|w| w.tls()).map(|t| t.client_auth()),
        basic_auth_users = web.as_ref().and_then(|w| w.basic_auth()).map_or(0, |a| a.user_count()),
        "serving /metrics"
    );
    super::shutdown_signal().await;
    exporter.stop().await;
    Ok(ExitCode::SUCCESS)
}
