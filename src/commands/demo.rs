use std::process::ExitCode;

use anyhow::Context;

use crate::cli::DemoArgs;
use crate::clock::Clock;
use crate::config::Settings;
use crate::exporter::Exporter;
use crate::sim::{SimContext, SimServer};

pub async fn run(args: DemoArgs) -> anyhow::Result<ExitCode> {
    let sim = SimServer::start(
        "127.0.0.1:0",
        SimContext::new(42, 50),
        crate::vendors::simulators(),
    )
    .await
    .context("starting the simulators")?;
    let dir = tempfile::tempdir().context("creating a folder for the demo's secrets")?;
    let yaml = sim.demo_config(&dir.path().join("secrets"), Some(&args.listen))?;
    let config_path = dir.path().join("demo.yml");
    std::fs::write(&config_path, &yaml)?;
    let settings = Settings::parse(&yaml, &config_path)?;
    let exporter = Exporter::start(&settings, &args.listen, Clock::system(), None).await?;
    let base = format!("http://{}", exporter.addr);
    println!(
        "backup-exporter demo: {} targets on simulated vendors",
        settings.targets.len()
    );
    println!("  metrics:      {base}/metrics");
    println!("  status page:  {base}/");
    println!(
        "  simulators:   {} (faults: PUT {}-/faults)",
        sim.base_url(),
        sim.base_url()
    );
    println!("  demo config:  {}", config_path.display());
    println!("Press Ctrl-C to stop.");
    super::shutdown_signal().await;
    exporter.stop().await;
    Ok(ExitCode::SUCCESS)
}
