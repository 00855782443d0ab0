//! `backup-exporter report`: the monthly compliance, summary, jobs and audit CSVs of
//! contract §6 and §7.
//!
//! A source turns targets into rows ([`api_source`]: the vendors' own history;
//! [`prometheus`]: what Prometheus kept of `serve`'s metrics), the pure [`compliance`]
//! engine judges each object, and [`files`] writes the CSVs all at once or not at all.

pub mod api_source;
pub mod args;
pub mod compliance;
pub mod files;
pub mod period;
pub mod progress;
pub mod prometheus;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use url::Url;

pub use args::{ReportArgs, Source};

use self::compliance::{ComplianceRow, Scope, Status};
use self::files::{AuditRow, JobRow, Output};
use self::period::ReportPeriod;
use self::progress::{Mode, Progress};
use crate::api::ApiMetrics;
use crate::clock::Clock;
use crate::config::{Compliance, ConfigError, Settings, TargetSettings};
use crate::model::{Object, Vendor};
use crate::vendors::{Adapter, AdapterContext};

/// How an adapter is made from a target; `vendors::build` outside tests.
pub type BuildAdapter =
    Arc<dyn Fn(&TargetSettings, &AdapterContext) -> Result<Arc<dyn Adapter>, String> + Send + Sync>;

/// What the report runs with besides its flags.
#[derive(Clone)]
pub struct Env {
    pub clock: Clock,
    pub metrics: ApiMetrics,
    pub build: BuildAdapter,
    pub progress: Mode,
    /// Targets read at the same time (each still limits its own requests).
    pub parallel_targets: usize,
}

impl Default for Env {
    fn default() -> Self {
        Env {
            clock: Clock::system(),
            metrics: ApiMetrics::default(),
            build: Arc::new(crate::vendors::build),
            progress: Mode::for_stderr(),
            parallel_targets: 4,
        }
    }
}

/// The flags, resolved against the config and the clock.
#[derive(Clone, Debug)]
pub struct Request {
    pub period: ReportPeriod,
    pub out: PathBuf,
    pub targets: Vec<TargetSettings>,
    pub keep_going: bool,
    pub source: Source,
    pub prometheus_url: Option<Url>,
}

impl Request {
    pub fn new(
        args: &ReportArgs,
        settings: &Settings,
        now: jiff::Timestamp,
    ) -> Result<Request, ReportError> {
        let period =
            period::resolve(args.month, args.from, args.to, now).map_err(ReportError::Usage)?;
        let targets = if args.targets.is_empty() {
            settings.targets.clone()
        } else {
            let mut chosen = Vec::new();
            for name in &args.targets {
                match settings.targets.iter().find(|t| &t.name == name) {
                    Some(t) if !chosen.iter().any(|c: &TargetSettings| &c.name == name) => {
                        chosen.push(t.clone())
                    }
                    Some(_) => {}
                    None => {
                        let known: Vec<&str> =
                            settings.targets.iter().map(|t| t.name.as_str()).collect();
                        return Err(ReportError::Usage(format!(
                            "--target {name:?}: no such target in {} (targets: {})",
                            settings.path.display(),
                            known.join(", ")
                        )));
                    }
                }
            }
            chosen
        };
        if args.source == Source::Prometheus && args.prometheus_url.is_none() {
            return Err(ReportError::Usage(
                "--source prometheus needs --prometheus-url".into(),
            ));
        }
        Ok(Request {
            period,
            out: args.out.clone(),
            targets,
            keep_going: args.keep_going,
            source: args.source,
            prometheus_url: args.prometheus_url.clone(),
        })
    }
}

/// What a successful (or `--keep-going`) report did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub label: String,
    pub objects: usize,
    pub compliant: usize,
    pub non_compliant: usize,
    pub files: Vec<PathBuf>,
    /// Targets that could not be read (only with `--keep-going`).
    pub failed_targets: Vec<String>,
}

impl Outcome {
    /// The one line printed at the end.
    pub fn summary_line(&self) -> String {
        let names: Vec<String> = self
            .files
            .iter()
            .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        let dir = self
            .files
            .first()
            .and_then(|f| f.parent())
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        let mut line = format!(
            "report {}: {} objects, {} compliant, {} non-compliant, {} other; wrote {} files to {}: {}",
            self.label,
            self.objects,
            self.compliant,
            self.non_compliant,
            self.objects - self.compliant - self.non_compliant,
            self.files.len(),
            if dir.is_empty() { "." } else { &dir },
            names.join(", ")
        );
        if !self.failed_targets.is_empty() {
            line.push_str(&format!(
                "; {} target(s) could not be read",
                self.failed_targets.len()
            ));
        }
        line
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Config(#[from] ConfigError),
    /// A target could not be read; nothing was written.
    #[error("{0}; no report was written (use --keep-going to write no_data rows instead)")]
    Target(String),
    #[error("{0}")]
    Write(std::io::Error),
    /// `--keep-going`: the files were written, but some targets are `no_data`.
    #[error("{} target(s) could not be read: {}", .0.failed_targets.len(), .0.failed_targets.join("; "))]
    Incomplete(Outcome),
}

impl ReportError {
    pub fn exit_code(&self) -> u8 {
        match self {
            ReportError::Usage(_) | ReportError::Config(_) => 2,
            ReportError::Target(_) | ReportError::Write(_) | ReportError::Incomplete(_) => 1,
        }
    }
}

/// Rows gathered from a source.
#[derive(Debug, Default)]
pub struct Collected {
    pub compliance: Vec<ComplianceRow>,
    pub jobs: Vec<JobRow>,
    pub audit: Vec<AuditRow>,
    pub failures: Vec<String>,
}

impl Collected {
    /// `--keep-going`: a target that could not be read gets `no_data` rows, one per known
    /// object, else one naming the target.
    pub fn add_no_data(
        &mut self,
        vendor: Vendor,
        target: &str,
        known: &[Object],
        why: &str,
        scope: &Scope<'_>,
    ) {
        let known: Vec<&Object> = known
            .iter()
            .filter(|o| compliance::existed_in(o, scope.period))
            .collect();
        if known.is_empty() {
            self.compliance
                .push(compliance::no_data(vendor, target, None, why, scope));
        }
        for o in known {
            self.compliance
                .push(compliance::no_data(vendor, target, Some(o), why, scope));
        }
        self.failures.push(why.to_owned());
    }
}

/// `backup-exporter report`, as the CLI calls it: prints errors and the summary line and
/// returns the exit code of contract §1.
pub async fn run(args: ReportArgs) -> ExitCode {
    match run_with(&args, &Env::default()).await {
        Ok(outcome) => {
            println!("{}", outcome.summary_line());
            ExitCode::SUCCESS
        }
        Err(e) => {
            match &e {
                ReportError::Incomplete(outcome) => {
                    println!("{}", outcome.summary_line());
                    eprintln!("error: {e}");
                }
                ReportError::Config(c) => {
                    for p in &c.problems {
                        eprintln!("config error: {p}");
                    }
                }
                _ => eprintln!("error: {e}"),
            }
            ExitCode::from(e.exit_code())
        }
    }
}

pub async fn run_with(args: &ReportArgs, env: &Env) -> Result<Outcome, ReportError> {
    let settings = Settings::load(&args.config)?;
    let request = Request::new(args, &settings, env.clock.now())?;
    execute(&settings.compliance, &request, env).await
}

/// Reads the targets, judges every object and writes the files.
pub async fn execute(rules: &Compliance, req: &Request, env: &Env) -> Result<Outcome, ReportError> {
    let scope = Scope {
        period: req.period.period,
        now: env.clock.now(),
        rules,
    };
    let progress = Progress::new(env.progress);
    let mut collected = match req.source {
        Source::Api => api_source::read_all(req, env, &scope, &progress).await?,
        Source::Prometheus => prometheus::read_all(req, &scope, &progress).await?,
    };

    collected.compliance.sort_by(|a, b| {
        (a.vendor, &a.target, &a.tenant, &a.object, &a.object_id).cmp(&(
            b.vendor,
            &b.target,
            &b.tenant,
            &b.object,
            &b.object_id,
        ))
    });
    collected.jobs.sort_by(|a, b| {
        let key = |r: &JobRow| {
            (
                r.vendor,
                r.target.clone(),
                r.tenant.clone(),
                r.object.clone(),
                r.job.object_id.clone(),
                r.job.time(),
                r.job.id.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    collected.audit.sort_by(|a, b| {
        (a.vendor, &a.target, a.event.time, &a.event.id).cmp(&(
            b.vendor,
            &b.target,
            b.event.time,
            &b.event.id,
        ))
    });
    let summary = compliance::summarize(&collected.compliance);

    let label = &req.period.label;
    let mut outputs = vec![
        Output {
            name: format!("compliance-{label}.csv"),
            bytes: files::compliance_csv(&collected.compliance),
        },
        Output {
            name: format!("summary-{label}.csv"),
            bytes: files::summary_csv(&summary),
        },
    ];
    if req.source == Source::Api {
        outputs.push(Output {
            name: format!("jobs-{label}.csv"),
            bytes: files::jobs_csv(&collected.jobs),
        });
        outputs.push(Output {
            name: format!("audit-{label}.csv"),
            bytes: files::audit_csv(&collected.audit),
        });
    }
    let written = files::write_all(&req.out, &outputs).map_err(ReportError::Write)?;

    let count = |s: Status| {
        collected
            .compliance
            .iter()
            .filter(|r| r.status == s)
            .count()
    };
    let outcome = Outcome {
        label: label.clone(),
        objects: collected.compliance.len(),
        compliant: count(Status::Compliant),
        non_compliant: count(Status::NonCompliant),
        files: written,
        failed_targets: collected.failures,
    };
    if outcome.failed_targets.is_empty() {
        Ok(outcome)
    } else {
        Err(ReportError::Incomplete(outcome))
    }
}
