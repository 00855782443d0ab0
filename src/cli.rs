//! The command line (contract §1). Every flag that takes a value may also come from a
//! `BACKUP_EXPORTER_*` environment variable; secrets never come from flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "backup-exporter",
    version,
    about = "Prometheus exporter and compliance reporter for backups on several platforms"
)]
pub struct Cli {
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log format.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "text",
        env = "BACKUP_EXPORTER_LOG_FORMAT"
    )]
    pub log_format: LogFormat,
    /// Log level or filter (error, warn, info, debug, trace, or a tracing filter).
    #[arg(
        long,
        global = true,
        default_value = "info",
        env = "BACKUP_EXPORTER_LOG_LEVEL"
    )]
    pub log_level: String,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scrape every configured target on its interval and serve /metrics.
    Serve(ServeArgs),
    /// Validate the config; with --online also log in to every target.
    Check(CheckArgs),
    /// Write the monthly compliance, summary, jobs and audit CSVs.
    Report(crate::report::ReportArgs),
    /// Check a report's manifest: every file's SHA-256 and, with --key, its signature.
    Verify(crate::report::manifest::VerifyArgs),
    /// Make an Ed25519 key pair for `report --sign-key`.
    Keygen(crate::report::manifest::KeygenArgs),
    /// Serve every vendor simulator on one port and print a config pointing at it.
    #[cfg(feature = "sim")]
    Simulate(SimulateArgs),
    /// Simulators and exporter in one process on loopback: live metrics with no account.
    #[cfg(feature = "sim")]
    Demo(DemoArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub start: StartArgs,
}

/// What `serve` starts from. `check` takes the same flags (and the same environment
/// variables), so it checks exactly what `serve` would start with.
#[derive(Debug, Args)]
pub struct StartArgs {
    /// Config file (YAML).
    #[arg(long, env = "BACKUP_EXPORTER_CONFIG")]
    pub config: PathBuf,
    /// Address to listen on; overrides `listen` in the config.
    #[arg(long, env = "BACKUP_EXPORTER_LISTEN")]
    pub listen: Option<String>,
    /// exporter-toolkit web config (TLS, basic auth).
    #[arg(long, env = "BACKUP_EXPORTER_WEB_CONFIG")]
    pub web_config: Option<PathBuf>,
    /// Leave a per-object or tenant metric family out of /metrics, to save bytes per object
    /// (repeat or separate with commas; see docs/metrics.md). Health families stay.
    #[arg(
        long = "exclude-metric",
        value_name = "FAMILY",
        value_delimiter = ',',
        env = "BACKUP_EXPORTER_EXCLUDE_METRICS"
    )]
    pub exclude_metrics: Vec<String>,
    /// Keep only the targets whose name hashes to this shard (0-based; with
    /// --total-shards; overrides `shard` in the config). See docs/scaling.md.
    #[arg(
        long,
        value_name = "I",
        requires = "total_shards",
        env = "BACKUP_EXPORTER_SHARD"
    )]
    pub shard: Option<u32>,
    /// The number of shards the targets are split into (with --shard).
    #[arg(
        long,
        value_name = "N",
        requires = "shard",
        env = "BACKUP_EXPORTER_TOTAL_SHARDS"
    )]
    pub total_shards: Option<u32>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub start: StartArgs,
    /// Also log in to every target and say what would be scraped.
    #[arg(long)]
    pub online: bool,
}

#[cfg(feature = "sim")]
#[derive(Debug, Args)]
pub struct SimulateArgs {
    #[arg(
        long,
        default_value = "127.0.0.1:9988",
        env = "BACKUP_EXPORTER_SIM_LISTEN"
    )]
    pub listen: String,
    /// Write the config for `serve` here (secrets in files beside it) instead of stdout.
    #[arg(long, env = "BACKUP_EXPORTER_SIM_CONFIG_OUT")]
    pub config_out: Option<PathBuf>,
    /// Objects per vendor.
    #[arg(long, default_value_t = 50, env = "BACKUP_EXPORTER_SIM_OBJECTS")]
    pub objects: usize,
    #[arg(long, default_value_t = 42, env = "BACKUP_EXPORTER_SIM_SEED")]
    pub seed: u64,
    /// A fault to switch on: [VENDOR:]KIND[=VALUE], e.g. `cloutility:5xx=0.2`, `latency=200ms`,
    /// `cloudsync:refuse=data-brokers` (403), `cloutility:missing=auditlogs` (404).
    #[arg(long = "fault")]
    pub faults: Vec<String>,
}

#[cfg(feature = "sim")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where the exporter listens (the simulators take a free loopback port).
    #[arg(long, default_value = "127.0.0.1:9987", env = "BACKUP_EXPORTER_LISTEN")]
    pub listen: String,
}
