//! The flags of `backup-exporter report` (contract §1). Every flag that takes a value may
//! also come from a `BACKUP_EXPORTER_*` environment variable.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use url::Url;

use super::period::{Bound, Month};

#[derive(Args, Clone, Debug)]
pub struct ReportArgs {
    /// The config file (YAML): targets and compliance rules.
    #[arg(long, env = "BACKUP_EXPORTER_CONFIG", value_name = "FILE")]
    pub config: PathBuf,

    /// The calendar month to report on, in UTC (default: the previous month).
    #[arg(
        long,
        env = "BACKUP_EXPORTER_MONTH",
        value_name = "YYYY-MM",
        conflicts_with_all = ["from", "to"]
    )]
    pub month: Option<Month>,

    /// Start of the period: a date (midnight UTC) or an RFC 3339 time.
    #[arg(
        long,
        env = "BACKUP_EXPORTER_FROM",
        value_name = "DATE",
        requires = "to"
    )]
    pub from: Option<Bound>,

    /// End of the period: a date (that whole day is included) or an RFC 3339 time (exclusive).
    #[arg(
        long,
        env = "BACKUP_EXPORTER_TO",
        value_name = "DATE",
        requires = "from"
    )]
    pub to: Option<Bound>,

    /// Where the CSV files go.
    #[arg(
        long,
        env = "BACKUP_EXPORTER_OUT",
        value_name = "DIR",
        default_value = "."
    )]
    pub out: PathBuf,

    /// Report on these targets only (repeat the flag, or separate names with commas).
    #[arg(
        long = "target",
        env = "BACKUP_EXPORTER_TARGET",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub targets: Vec<String>,

    /// A target that cannot be read gets `no_data` rows instead of stopping the report (the
    /// exit code is still 1).
    #[arg(long, env = "BACKUP_EXPORTER_KEEP_GOING")]
    pub keep_going: bool,

    /// Where the history comes from: the vendor APIs, or a Prometheus-compatible query API
    /// that scraped `serve` (compliance and summary only).
    #[arg(
        long,
        env = "BACKUP_EXPORTER_SOURCE",
        value_enum,
        default_value_t = Source::Api
    )]
    pub source: Source,

    /// The Prometheus-compatible query API (Prometheus, Thanos, Mimir, VictoriaMetrics),
    /// e.g. http://prometheus:9090; required with `--source prometheus`.
    #[arg(
        long,
        env = "BACKUP_EXPORTER_PROMETHEUS_URL",
        value_name = "URL",
        required_if_eq("source", "prometheus")
    )]
    pub prometheus_url: Option<Url>,

    /// The evidence-pack flags (issue 15).
    #[command(flatten)]
    pub evidence: EvidenceArgs,
}

/// What the report adds to the CSVs: signature, per-tenant folders, digest, asset register.
#[derive(Args, Clone, Debug, Default)]
pub struct EvidenceArgs {
    /// Sign `manifest-PERIOD.json` with this Ed25519 private key (PKCS#8 PEM, as
    /// `backup-exporter keygen` or `openssl genpkey -algorithm ed25519` writes it): writes
    /// `manifest-PERIOD.json.sig`.
    #[arg(long, env = "BACKUP_EXPORTER_SIGN_KEY", value_name = "FILE")]
    pub sign_key: Option<PathBuf>,

    /// Also write one folder per tenant, `tenants/NAME/`, with that tenant's files and
    /// manifest.
    #[arg(
        long,
        env = "BACKUP_EXPORTER_SPLIT_BY",
        value_enum,
        value_name = "WHAT"
    )]
    pub split_by: Option<SplitBy>,

    /// Also write `digest-PERIOD.csv`: only the rows that need action (non_compliant,
    /// unprotected, no_data, not_backed_up). The other files are written as always.
    #[arg(long, env = "BACKUP_EXPORTER_FAILURES_ONLY")]
    pub failures_only: bool,

    /// An asset register (CSV with a `name` column and optional `tenant`, `vendor`, `id`;
    /// globs allowed): every entry no reported object matches becomes a `not_backed_up` row.
    #[arg(long, env = "BACKUP_EXPORTER_INVENTORY", value_name = "FILE")]
    pub inventory: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SplitBy {
    Tenant,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Source {
    Api,
    Prometheus,
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::*;

    #[derive(Parser, Debug)]
    struct Cli {
        #[command(flatten)]
        report: ReportArgs,
    }

    fn parse(args: &[&str]) -> Result<ReportArgs, clap::Error> {
        let mut full = vec!["report"];
        full.extend_from_slice(args);
        Cli::try_parse_from(full).map(|c| c.report)
    }

    #[test]
    fn every_flag_has_its_environment_variable() {
        let cmd = Cli::command();
        for arg in cmd.get_arguments() {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            let env = arg.get_env().unwrap_or_else(|| panic!("--{id} has no env"));
            let expected = format!(
                "BACKUP_EXPORTER_{}",
                arg.get_long().unwrap().replace('-', "_").to_uppercase()
            );
            assert_eq!(env.to_str(), Some(expected.as_str()));
        }
    }

    #[test]
    fn flags_parse_into_typed_values() {
        let a = parse(&[
            "--config",
            "c.yml",
            "--month",
            "2026-01",
            "--target",
            "a,b",
            "--target",
            "c",
            "--keep-going",
            "--out",
            "/tmp/r",
        ])
        .unwrap();
        assert_eq!(a.month, Some("2026-01".parse().unwrap()));
        assert_eq!(a.targets, ["a", "b", "c"]);
        assert!(a.keep_going);
        assert_eq!(a.source, Source::Api);
        assert_eq!(a.out, PathBuf::from("/tmp/r"));
        assert!(a.evidence.sign_key.is_none() && a.evidence.split_by.is_none());
        let a = parse(&[
            "--config",
            "c",
            "--sign-key",
            "k.pem",
            "--split-by",
            "tenant",
            "--failures-only",
            "--inventory",
            "assets.csv",
        ])
        .unwrap();
        assert_eq!(a.evidence.split_by, Some(SplitBy::Tenant));
        assert!(a.evidence.failures_only);
        assert_eq!(a.evidence.sign_key, Some(PathBuf::from("k.pem")));
        assert_eq!(a.evidence.inventory, Some(PathBuf::from("assets.csv")));
        let e = parse(&["--config", "c", "--split-by", "target"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::InvalidValue);
    }

    #[test]
    fn month_and_range_exclude_each_other_and_range_needs_both_ends() {
        let e = parse(&[
            "--config",
            "c",
            "--month",
            "2026-01",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-02",
        ])
        .unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ArgumentConflict);
        let e = parse(&["--config", "c", "--from", "2026-01-01"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        let e = parse(&["--config", "c", "--month", "2026-13"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn prometheus_source_needs_its_url() {
        let e = parse(&["--config", "c", "--source", "prometheus"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        let a = parse(&[
            "--config",
            "c",
            "--source",
            "prometheus",
            "--prometheus-url",
            "http://127.0.0.1:9090",
        ])
        .unwrap();
        assert_eq!(a.source, Source::Prometheus);
    }
}
