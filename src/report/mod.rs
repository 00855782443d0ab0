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
pub mod html;
pub mod inventory;
pub mod manifest;
pub mod period;
pub mod progress;
pub mod prometheus;
pub mod split;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use url::Url;

pub use args::{EvidenceArgs, ReportArgs, Source, SplitBy};

use self::compliance::{ComplianceRow, Scope, Status};
use self::files::{AuditRow, JobRow, Output};
use self::inventory::Register;
use self::manifest::{Manifest, SigningKey, TargetEvidence};
use self::period::ReportPeriod;
use self::progress::{Mode, Progress};
use crate::adapter::{Adapter, AdapterContext};
use crate::api::ApiMetrics;
use crate::clock::Clock;
use crate::config::{Compliance, ConfigError, Settings, TargetSettings};
use crate::model::{Object, Vendor};

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
    /// `--sign-key`, read before any target is.
    pub sign_key: Option<Arc<SigningKey>>,
    pub split_by: Option<SplitBy>,
    pub failures_only: bool,
    /// `--inventory`, read and checked before any target is.
    pub register: Option<Register>,
    /// The manifest's `config_sha256` ([`manifest::config_digest`]).
    pub config_sha256: String,
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
        let ev = &args.evidence;
        let sign_key = match &ev.sign_key {
            Some(p) => Some(Arc::new(SigningKey::load(p).map_err(ReportError::Usage)?)),
            None => None,
        };
        let register = match &ev.inventory {
            Some(p) => Some(Register::load(p).map_err(ReportError::Usage)?),
            None => None,
        };
        Ok(Request {
            period,
            out: args.out.clone(),
            targets,
            keep_going: args.keep_going,
            source: args.source,
            prometheus_url: args.prometheus_url.clone(),
            sign_key,
            split_by: ev.split_by,
            failures_only: ev.failures_only,
            register,
            config_sha256: String::new(),
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
        let dir = self
            .files
            .first()
            .and_then(|f| f.parent())
            .map(|d| d.to_path_buf())
            .unwrap_or_default();
        // Files of the tenants' folders are counted, not named one by one.
        let (top, nested): (Vec<&PathBuf>, Vec<&PathBuf>) = self
            .files
            .iter()
            .partition(|f| f.parent() == Some(dir.as_path()));
        let names: Vec<String> = top
            .iter()
            .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        let dir = dir.display().to_string();
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
        if !nested.is_empty() {
            line.push_str(&format!(", and {} in tenants/", nested.len()));
        }
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
    /// What was read of each target, for the manifest.
    pub targets: Vec<TargetEvidence>,
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

/// The rows of one pack (the whole report, or one tenant's folder).
struct Rows<'a> {
    compliance: Vec<&'a ComplianceRow>,
    jobs: Vec<&'a JobRow>,
    audit: Vec<&'a AuditRow>,
}

/// Every file of the report, names relative to `--out`, manifests last so that they are
/// renamed into place after the files they describe.
fn evidence_pack(req: &Request, env: &Env, rules: &Compliance, c: &Collected) -> Vec<Output> {
    let all = Rows {
        compliance: c.compliance.iter().collect(),
        jobs: c.jobs.iter().collect(),
        audit: c.audit.iter().collect(),
    };
    let generated_at = env.clock.now();
    let mut files = pack_files(req, rules, &all, None, generated_at);
    let mut manifests = Vec::new();
    if req.split_by == Some(SplitBy::Tenant) {
        let tenants = c
            .compliance
            .iter()
            .map(|r| r.tenant.as_str())
            .chain(c.jobs.iter().map(|j| j.tenant.as_str()))
            .chain(c.audit.iter().map(|a| a.event.tenant.as_str()));
        for (tenant, folder) in split::folders(tenants) {
            let rows = Rows {
                compliance: c.compliance.iter().filter(|r| r.tenant == tenant).collect(),
                jobs: c.jobs.iter().filter(|j| j.tenant == tenant).collect(),
                audit: c
                    .audit
                    .iter()
                    .filter(|a| a.event.tenant == tenant)
                    .collect(),
            };
            let mut counts: std::collections::BTreeMap<String, (u64, u64, u64)> =
                Default::default();
            for r in &rows.compliance {
                counts.entry(r.target.clone()).or_default().0 += 1;
            }
            for j in &rows.jobs {
                counts.entry(j.target.clone()).or_default().1 += 1;
            }
            for a in &rows.audit {
                counts.entry(a.target.clone()).or_default().2 += 1;
            }
            let own = pack_files(req, rules, &rows, Some(&tenant), generated_at);
            let targets = manifest::tenant_targets(&c.targets, &counts);
            let signed = sealed(req, generated_at, Some(&tenant), targets, &own);
            let dir = format!("tenants/{folder}/");
            for o in own {
                files.push(Output {
                    name: format!("{dir}{}", o.name),
                    bytes: o.bytes,
                });
            }
            for o in signed {
                manifests.push(Output {
                    name: format!("{dir}{}", o.name),
                    bytes: o.bytes,
                });
            }
        }
    }
    // The whole set's manifest covers every file of the run, the tenants' manifests too.
    let mut covered: Vec<Output> = files.clone();
    covered.extend(manifests.iter().cloned());
    let top = sealed(req, generated_at, None, c.targets.clone(), &covered);
    files.extend(manifests);
    files.extend(top);
    files
}

/// The CSVs (and page, and digest) of one pack, names relative to the pack's folder.
fn pack_files(
    req: &Request,
    rules: &Compliance,
    rows: &Rows<'_>,
    tenant: Option<&str>,
    generated_at: jiff::Timestamp,
) -> Vec<Output> {
    let label = &req.period.label;
    let compliance: Vec<ComplianceRow> = rows.compliance.iter().map(|r| (*r).clone()).collect();
    let jobs: Vec<JobRow> = rows.jobs.iter().map(|r| (*r).clone()).collect();
    let audit: Vec<AuditRow> = rows.audit.iter().map(|r| (*r).clone()).collect();
    let summary = compliance::summarize(&compliance);
    let mut outputs = vec![
        Output {
            name: format!("compliance-{label}.csv"),
            bytes: files::compliance_csv(&compliance),
        },
        Output {
            name: format!("summary-{label}.csv"),
            bytes: files::summary_csv(&summary),
        },
    ];
    if req.source == Source::Api {
        outputs.push(Output {
            name: format!("jobs-{label}.csv"),
            bytes: files::jobs_csv(&jobs),
        });
        outputs.push(Output {
            name: format!("audit-{label}.csv"),
            bytes: files::audit_csv(&audit),
        });
    }
    if req.failures_only {
        let digest: Vec<ComplianceRow> = compliance
            .iter()
            .filter(|r| r.needs_action())
            .cloned()
            .collect();
        outputs.push(Output {
            name: format!("digest-{label}.csv"),
            bytes: files::compliance_csv(&digest),
        });
    }
    outputs.push(Output {
        name: format!("summary-{label}.html"),
        bytes: html::render(&html::Page {
            label,
            period: req.period.period,
            generated_at,
            tenant,
            compliance: &compliance,
            summary: &summary,
            jobs: (req.source == Source::Api).then_some(jobs.as_slice()),
            strict_warnings: rules.strict_warnings,
        }),
    });
    outputs
}

/// The manifest of `files` (and its signature with `--sign-key`).
fn sealed(
    req: &Request,
    generated_at: jiff::Timestamp,
    tenant: Option<&str>,
    targets: Vec<TargetEvidence>,
    files: &[Output],
) -> Vec<Output> {
    let label = &req.period.label;
    let m = Manifest {
        format: manifest::FORMAT.to_owned(),
        period: manifest::PeriodInfo {
            label: label.clone(),
            start: req.period.period.from,
            end: req.period.period.to,
        },
        generated_at,
        generator: manifest::Generator::this(),
        source: match (&req.source, &req.prometheus_url) {
            (Source::Prometheus, Some(u)) => manifest::public_url(u),
            _ => "api".to_owned(),
        },
        config_sha256: req.config_sha256.clone(),
        tenant: tenant.map(str::to_owned),
        targets,
        files: manifest::digests(files),
    };
    let bytes = m.to_bytes();
    let name = format!("manifest-{label}.json");
    let sig = req.sign_key.as_ref().map(|key| Output {
        name: format!("{name}.sig"),
        bytes: key.sign(&bytes),
    });
    let mut out = vec![Output { name, bytes }];
    out.extend(sig);
    out
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
    let mut request = Request::new(args, &settings, env.clock.now())?;
    let text = std::fs::read_to_string(&args.config)
        .map_err(|e| ReportError::Usage(format!("cannot read {}: {e}", args.config.display())))?;
    request.config_sha256 = manifest::config_digest(&text).map_err(ReportError::Usage)?;
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

    if let Some(register) = &req.register {
        let unread: Vec<String> = collected
            .targets
            .iter()
            .filter(|t| t.error.is_some())
            .map(|t| t.name.clone())
            .collect();
        let missing = inventory::uncovered(register, &collected.compliance, scope.period, &unread);
        collected.compliance.extend(missing);
    }
    collected.compliance.sort_by(|a, b| {
        let key = |r: &ComplianceRow| {
            (
                r.vendor.is_none(),
                r.vendor,
                r.target.clone(),
                r.tenant.clone(),
                r.object.clone(),
                r.object_id.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    collected.targets.sort_by(|a, b| a.name.cmp(&b.name));
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

    let outputs = evidence_pack(req, env, rules, &collected);
    let written = files::write_all(&req.out, &outputs).map_err(ReportError::Write)?;

    let count = |s: Status| {
        collected
            .compliance
            .iter()
            .filter(|r| r.status == s)
            .count()
    };
    let outcome = Outcome {
        label: req.period.label.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_names_the_top_files_and_counts_the_tenants() {
        let o = Outcome {
            label: "2026-01".into(),
            objects: 3,
            compliant: 1,
            non_compliant: 1,
            files: vec![
                PathBuf::from("/r/compliance-2026-01.csv"),
                PathBuf::from("/r/tenants/acme/compliance-2026-01.csv"),
                PathBuf::from("/r/tenants/acme/manifest-2026-01.json"),
                PathBuf::from("/r/manifest-2026-01.json"),
            ],
            failed_targets: Vec::new(),
        };
        assert_eq!(
            o.summary_line(),
            "report 2026-01: 3 objects, 1 compliant, 1 non-compliant, 1 other; wrote 4 files \
             to /r: compliance-2026-01.csv, manifest-2026-01.json, and 2 in tenants/"
        );
    }
}
