//! `--source api`: each target's adapter reads the period's history
//! ([`Adapter::history`]); everything after that knows no vendor. A vendor joins the report
//! by implementing `history`, nothing else.

use std::collections::{HashMap, HashSet};

use futures::StreamExt;

use super::compliance::{self, Evidence, Scope};
use super::files::{AuditRow, JobRow};
use super::manifest::TargetEvidence;
use super::progress::{Progress, TargetProgress};
use super::{Collected, Env, ReportError, Request};
use crate::adapter::{AdapterContext, History, Period, Window};
use crate::config::TargetSettings;
use crate::model::{Job, Object, Vendor};

/// Why a target could not be read, and what is known of its objects anyway.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub known_objects: Vec<Object>,
}

/// Reads every selected target (a few at a time) and turns their histories into rows.
/// Without `--keep-going` the first target that fails ends the report.
pub async fn read_all(
    req: &Request,
    env: &Env,
    scope: &Scope<'_>,
    progress: &Progress,
) -> Result<Collected, ReportError> {
    let mut reads = futures::stream::iter(req.targets.iter().map(|t| async move {
        let p = progress.target(&t.name);
        let r = read_target(t, env, scope.period, req.keep_going, &p).await;
        (t, r, p)
    }))
    .buffer_unordered(env.parallel_targets.max(1));
    let mut out = Collected::default();
    while let Some((t, result, p)) = reads.next().await {
        match result {
            Ok(history) => {
                // A refused listing is a part this account does not have: said, not fatal.
                let refused: Vec<String> = history
                    .skipped
                    .iter()
                    .map(|s| format!("{} {} ({})", s.collector.as_str(), s.part, s.reason))
                    .collect();
                let mut evidence = evidence_of(&history);
                evidence.name = t.name.clone();
                evidence.vendor = t.vendor.to_string();
                evidence.refused = refused.clone();
                out.targets.push(evidence);
                let rows = rows_from_history(t.vendor, &t.name, history, scope);
                let mut line = format!(
                    "{} objects, {} jobs, {} audit events",
                    rows.compliance.len(),
                    rows.jobs.len(),
                    rows.audit.len()
                );
                if !refused.is_empty() {
                    line.push_str(&format!("; refused by the vendor: {}", refused.join("; ")));
                }
                p.done(&line);
                out.compliance.extend(rows.compliance);
                out.jobs.extend(rows.jobs);
                out.audit.extend(rows.audit);
            }
            Err(f) => {
                p.failed(&f.message);
                if !req.keep_going {
                    return Err(ReportError::Target(f.message));
                }
                out.targets.push(TargetEvidence {
                    name: t.name.clone(),
                    vendor: t.vendor.to_string(),
                    objects: f.known_objects.len() as u64,
                    error: Some(f.message.clone()),
                    ..Default::default()
                });
                out.add_no_data(t.vendor, &t.name, &f.known_objects, &f.message, scope);
            }
        }
    }
    Ok(out)
}

/// What the manifest says was read of one target: distinct objects, jobs and audit events,
/// and from when the history of every object is complete.
pub fn evidence_of(history: &History) -> TargetEvidence {
    let objects: HashSet<&str> = history.objects.iter().map(|o| o.id.as_str()).collect();
    let jobs: HashSet<(&str, &str)> = history
        .jobs
        .iter()
        .map(|j| (j.object_id.as_str(), j.id.as_str()))
        .collect();
    let audit: HashSet<&str> = history.audit.iter().map(|e| e.id.as_str()).collect();
    TargetEvidence {
        objects: objects.len() as u64,
        jobs: Some(jobs.len() as u64),
        audit_events: Some(audit.len() as u64),
        history_complete_from: history_complete_from(&history.objects),
        ..Default::default()
    }
}

/// The latest start of history among objects older than it (an object created later has its
/// whole history); `None` when the vendor states no limit.
pub fn history_complete_from(objects: &[Object]) -> Option<jiff::Timestamp> {
    objects
        .iter()
        .filter_map(|o| o.history_start.filter(|h| o.created.is_none_or(|c| c < *h)))
        .max()
}

async fn read_target(
    target: &TargetSettings,
    env: &Env,
    period: Period,
    keep_going: bool,
    progress: &TargetProgress,
) -> Result<History, Failure> {
    let ctx = AdapterContext {
        metrics: env.metrics.clone(),
        clock: env.clock.clone(),
    };
    let adapter = (env.build)(target, &ctx).map_err(|e| Failure {
        message: format!("{}: {e}", target.describe()),
        known_objects: Vec::new(),
    })?;
    progress.phase(&format!("reading history {} .. {}", period.from, period.to));
    let result = adapter
        .history(period, crate::adapter::REPORT_LOOKBACK)
        .await;
    // Absurd vendor values (a success in 2262) go before any row is made of them.
    let mut guard = crate::sanity::Guard::new(
        target.vendor.as_str(),
        &target.name,
        env.metrics.values_rejected.clone(),
    );
    let result = match result {
        Ok(mut h) => {
            guard.history(&mut h, env.clock.now());
            Ok(h)
        }
        Err(e) => {
            let message = format!("{}: {e}", target.describe());
            // The inventory alone may still be readable; it turns one `no_data` row for
            // the target into one per object, which is what an auditor needs to see.
            let mut known_objects = Vec::new();
            if keep_going {
                progress.phase("history failed; reading the inventory");
                let now = env.clock.now();
                if let Ok(mut objects) = adapter.collect(Window { now, since: now }).await.inventory
                {
                    guard.objects(&mut objects, now);
                    known_objects = objects;
                }
            }
            Err(Failure {
                message,
                known_objects,
            })
        }
    };
    adapter.close().await;
    result
}

/// The rows of one target.
#[derive(Debug, Default)]
pub struct TargetRows {
    pub compliance: Vec<compliance::ComplianceRow>,
    pub jobs: Vec<JobRow>,
    pub audit: Vec<AuditRow>,
}

/// Turns one target's history into rows: compliance per object, and the jobs and audit
/// events of the period. Repeated ids (pages that overlap while the vendor adds records)
/// are counted once.
pub fn rows_from_history(
    vendor: Vendor,
    target: &str,
    history: History,
    scope: &Scope<'_>,
) -> TargetRows {
    let period = scope.period;
    let mut seen_objects = HashSet::new();
    let objects: Vec<Object> = history
        .objects
        .into_iter()
        .filter(|o| seen_objects.insert(o.id.clone()))
        .collect();
    let mut seen_jobs = HashSet::new();
    let jobs: Vec<Job> = history
        .jobs
        .into_iter()
        .filter(|j| seen_jobs.insert((j.object_id.clone(), j.id.clone())))
        .collect();
    let mut by_object: HashMap<&str, Vec<&Job>> = HashMap::new();
    for j in &jobs {
        by_object.entry(j.object_id.as_str()).or_default().push(j);
    }
    let index: HashMap<&str, &Object> = objects.iter().map(|o| (o.id.as_str(), o)).collect();

    let compliance = objects
        .iter()
        .filter(|o| compliance::existed_in(o, period))
        .map(|o| {
            let own = by_object
                .get(o.id.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            let ev =
                Evidence::from_jobs(own.iter().copied(), o, period, scope.rules.strict_warnings);
            compliance::evaluate(vendor, target, o, &ev, scope)
        })
        .collect();

    let in_period =
        |t: Option<jiff::Timestamp>| t.is_some_and(|t| period.from <= t && t < period.to);
    let job_rows = jobs
        .iter()
        .filter(|j| in_period(j.time()))
        .map(|j| {
            let o = index.get(j.object_id.as_str());
            JobRow {
                vendor,
                target: target.to_owned(),
                tenant: o.map(|o| o.tenant.clone()).unwrap_or_default(),
                object: o.map(|o| o.name.clone()).unwrap_or_default(),
                job: j.clone(),
            }
        })
        .collect();

    let mut seen_events = HashSet::new();
    let audit = history
        .audit
        .into_iter()
        .filter(|e| in_period(Some(e.time)) && seen_events.insert(e.id.clone()))
        .map(|event| AuditRow {
            vendor,
            target: target.to_owned(),
            event,
        })
        .collect();

    TargetRows {
        compliance,
        jobs: job_rows,
        audit,
    }
}
