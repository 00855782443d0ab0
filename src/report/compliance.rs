//! The compliance rules of contract §6 as pure functions: no I/O, no vendor names, no clock.
//!
//! A source (the vendor APIs or Prometheus) reduces what it knows of one object to
//! [`Evidence`]: its success times, its last attempt and, where jobs are known, job counts.
//! [`evaluate`] turns evidence into a [`ComplianceRow`]; [`summarize`] folds rows into
//! summary rows. Both sources therefore apply exactly the same gap rules.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::adapter::Period;
use crate::config::{Compliance, Subject};
use crate::model::{Job, JobKind, JobResult, Object, Vendor};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Compliant,
    NonCompliant,
    Unprotected,
    Excluded,
    New,
    NoData,
    /// An asset-register entry (`--inventory`) that no target's objects match.
    NotBackedUp,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Compliant => "compliant",
            Status::NonCompliant => "non_compliant",
            Status::Unprotected => "unprotected",
            Status::Excluded => "excluded",
            Status::New => "new",
            Status::NoData => "no_data",
            Status::NotBackedUp => "not_backed_up",
        }
    }
}

impl Status {
    /// Whether a row with this status needs someone's attention: the rows of the
    /// `--failures-only` digest.
    pub fn needs_action(self) -> bool {
        matches!(
            self,
            Status::NonCompliant | Status::Unprotected | Status::NoData | Status::NotBackedUp
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Protection jobs of one object in the period, by result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobCounts {
    pub total: u64,
    pub succeeded: u64,
    pub warning: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub missed: u64,
    pub running: u64,
}

impl JobCounts {
    fn add(&mut self, r: JobResult) {
        self.total += 1;
        match r {
            JobResult::Success => self.succeeded += 1,
            JobResult::Warning => self.warning += 1,
            JobResult::Failed => self.failed += 1,
            JobResult::Cancelled => self.cancelled += 1,
            JobResult::Missed => self.missed += 1,
            JobResult::Running => self.running += 1,
        }
    }

    /// The numerator and denominator of `success_ratio`: successes (warnings included unless
    /// strict) over finished jobs.
    pub fn success_fraction(&self, strict_warnings: bool) -> (u64, u64) {
        let ok = self.succeeded + if strict_warnings { 0 } else { self.warning };
        (ok, self.total - self.running)
    }
}

/// The newest finished attempt at or before the period end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub time: Timestamp,
    /// `None` where only the time is known (a Prometheus without the result series).
    pub result: Option<JobResult>,
}

/// What a source knows of one object's restores (issue 15: restore-test evidence), as of the
/// period end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestoreEvidence {
    /// The newest finished restore.
    pub last: Option<Attempt>,
    /// The newest successful restore (warnings count unless strict).
    pub last_success: Option<Timestamp>,
    /// Finished restores that ended in the period.
    pub in_period: u64,
}

/// What a source knows of one object's protection history.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Evidence {
    /// End times of successful protection runs, sorted and without duplicates; any that
    /// are known, before, in and after the period.
    pub successes: Vec<Timestamp>,
    pub last_attempt: Option<Attempt>,
    /// `None` when the source does not know jobs (Prometheus).
    pub counts: Option<JobCounts>,
    pub transferred_bytes: Option<u64>,
    /// Failed or missed attempts after the newest success, as of the period end (contract
    /// §3: a cancelled run neither counts nor resets); `None` when jobs are not known.
    pub consecutive_failures: Option<u64>,
    /// `None` when the source does not know restores (Prometheus).
    pub restores: Option<RestoreEvidence>,
}

impl Evidence {
    /// From an object's jobs (any kind, any time; the ones that do not count are ignored).
    pub fn from_jobs<'a>(
        jobs: impl IntoIterator<Item = &'a Job>,
        object: &Object,
        period: Period,
        strict_warnings: bool,
    ) -> Evidence {
        let all: Vec<&Job> = jobs.into_iter().collect();
        let in_period = |t: Timestamp| period.from <= t && t < period.to;
        let restores_in_period = all
            .iter()
            .filter(|j| j.kind == JobKind::Restore && j.result.is_finished())
            .filter(|j| j.time().is_some_and(in_period))
            .count() as u64;
        let jobs: Vec<&Job> = all
            .iter()
            .copied()
            .filter(|j| j.kind.is_protection())
            .collect();
        let mut successes = Vec::new();
        let mut counts = JobCounts::default();
        let mut transferred: Option<u64> = None;
        for job in &jobs {
            let Some(time) = job.time() else { continue };
            if job.result.is_success(strict_warnings) {
                successes.push(time);
            }
            if period.from <= time && time < period.to {
                counts.add(job.result);
                if let Some(b) = job.transferred_bytes {
                    transferred = Some(transferred.unwrap_or(0).saturating_add(b));
                }
            }
        }
        // The vendor's own "last success" covers what the job history may not reach.
        successes.extend(object.last_success_hint);
        successes.sort();
        successes.dedup();
        if counts.total == 0 {
            transferred = Some(0);
        }
        // The newest attempt and the failures after the newest success are the same facts
        // `/metrics` shows, cut at the period end.
        let facts = crate::facts::facts_until(all, period.to, strict_warnings);
        Evidence {
            successes,
            last_attempt: facts.last_attempt.map(|time| Attempt {
                time,
                result: facts.last_result,
            }),
            counts: Some(counts),
            transferred_bytes: transferred,
            consecutive_failures: Some(facts.consecutive_failures),
            restores: Some(RestoreEvidence {
                last: facts.last_restore.map(|time| Attempt {
                    time,
                    result: facts.last_restore_result,
                }),
                last_success: facts.last_restore_success,
                in_period: restores_in_period,
            }),
        }
    }
}

/// The fixed facts of one evaluation.
#[derive(Clone, Copy, Debug)]
pub struct Scope<'a> {
    pub period: Period,
    /// Gaps are measured up to the earlier of the period end and now.
    pub now: Timestamp,
    pub rules: &'a Compliance,
}

/// One row of `compliance-*.csv`, typed; the file writer formats it.
#[derive(Clone, Debug, PartialEq)]
pub struct ComplianceRow {
    pub period: Period,
    /// `None` only for an asset-register row whose entry names no single vendor.
    pub vendor: Option<Vendor>,
    pub target: String,
    pub tenant: String,
    pub object_id: String,
    pub object: String,
    pub object_type: String,
    pub policy: String,
    pub rpo: Option<Duration>,
    pub status: Status,
    pub reason: String,
    pub counts: Option<JobCounts>,
    /// `success_ratio` as a fraction; `None` when unknown or the denominator is 0.
    pub success: Option<(u64, u64)>,
    pub last_success: Option<Timestamp>,
    pub last_attempt: Option<Timestamp>,
    pub last_result: Option<JobResult>,
    pub max_gap: Option<SignedDuration>,
    pub breach_count: Option<u64>,
    pub breach: Option<SignedDuration>,
    pub transferred_bytes: Option<u64>,
    pub stored_bytes: Option<u64>,
    /// `None` when the source does not know restores.
    pub restores: Option<RestoreEvidence>,
    /// Whether the newest successful restore is older than the restore-test interval;
    /// `None` when no interval applies, the object is excluded or restores are unknown.
    pub restore_test_overdue: Option<bool>,
}

impl ComplianceRow {
    /// Whether the row belongs in the `--failures-only` digest: its status needs action or
    /// its restore test is overdue.
    pub fn needs_action(&self) -> bool {
        self.status.needs_action() || self.restore_test_overdue == Some(true)
    }

    pub fn success_ratio(&self) -> Option<f64> {
        match self.success {
            Some((n, d)) if d > 0 => Some(n as f64 / d as f64),
            _ => None,
        }
    }
}

/// Whether an object belongs in the report of `period` at all: not if it was created after
/// the period ended.
pub fn existed_in(object: &Object, period: Period) -> bool {
    object.created.is_none_or(|c| c < period.to)
}

/// Gaps between successes: from the starting point (the newest success before the period,
/// else the later of period start and creation) through each success in the period to the
/// earlier of period end and now.
pub fn gaps(
    successes: &[Timestamp],
    created: Option<Timestamp>,
    scope: &Scope<'_>,
) -> Vec<SignedDuration> {
    let Period { from, to } = scope.period;
    let horizon = to.min(scope.now);
    let before = successes.iter().rev().find(|s| **s < from).copied();
    let start = before.unwrap_or_else(|| created.map_or(from, |c| c.max(from)));
    let mut points = vec![start];
    points.extend(
        successes
            .iter()
            .copied()
            .filter(|s| from <= *s && *s < to && *s <= horizon),
    );
    if horizon <= start {
        return Vec::new();
    }
    points.push(horizon);
    points
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).max(SignedDuration::ZERO))
        .collect()
}

/// Applies contract §6 to one object.
pub fn evaluate(
    vendor: Vendor,
    target: &str,
    object: &Object,
    evidence: &Evidence,
    scope: &Scope<'_>,
) -> ComplianceRow {
    let subject = Subject {
        vendor,
        target,
        object,
    };
    let rules = scope.rules;
    let rpo = rules.rpo_for(&subject);
    let rpo_signed = SignedDuration::try_from(rpo).unwrap_or(SignedDuration::MAX);
    let period = scope.period;

    let gaps = gaps(&evidence.successes, object.created, scope);
    let max_gap = gaps.iter().copied().max().unwrap_or(SignedDuration::ZERO);
    // A gap within the tolerance is no breach; one beyond it counts by how far it overran
    // the RPO itself.
    let allowed = rpo_signed.saturating_add(
        SignedDuration::try_from(rules.rpo_tolerance).unwrap_or(SignedDuration::MAX),
    );
    let breaches: Vec<SignedDuration> = gaps
        .iter()
        .filter(|g| **g > allowed)
        .map(|g| *g - rpo_signed)
        .collect();
    let breach_total = breaches
        .iter()
        .fold(SignedDuration::ZERO, |a, b| a.saturating_add(*b));
    let last_success = evidence
        .successes
        .iter()
        .rev()
        .find(|s| **s <= period.to)
        .copied();

    let history_hidden = object
        .history_start
        .filter(|h| *h > period.from && object.created.is_none_or(|c| c < *h));
    let is_new = object
        .created
        .is_some_and(|c| period.to.duration_since(c) <= grace(rules.new_object_grace));

    let (status, reason) = if let Some(why) = rules.exclusion_for(&subject) {
        (Status::Excluded, why.to_owned())
    } else if !object.protected {
        (Status::Unprotected, "no active backup policy".to_owned())
    } else if is_new && breaches.is_empty() {
        let created = object.created.map(|c| c.to_string()).unwrap_or_default();
        (
            Status::New,
            format!(
                "created {created}, within new_object_grace of {}",
                human(grace(rules.new_object_grace))
            ),
        )
    } else if let Some(h) = history_hidden {
        (
            Status::NoData,
            format!("history is only known from {h}, after the period start"),
        )
    } else if breaches.is_empty() {
        (Status::Compliant, String::new())
    } else if last_success.is_none() {
        (Status::NonCompliant, "never succeeded".to_owned())
    } else {
        let n = breaches.len();
        let mut why = format!(
            "{n} gap{} longer than the RPO of {}; longest {}",
            if n == 1 { "" } else { "s" },
            human(rpo_signed),
            human(max_gap)
        );
        if let Some(f @ 1..) = evidence.consecutive_failures {
            why.push_str(&format!(
                "; {f} failed attempt{} since the last success",
                if f == 1 { "" } else { "s" }
            ));
        }
        (Status::NonCompliant, why)
    };

    let restore_test_overdue = match (rules.restore_interval_for(&subject), evidence.restores) {
        (Some(interval), Some(r)) if status != Status::Excluded => {
            let horizon = period.to.min(scope.now);
            // A restore test is due one interval after the newest successful restore, or
            // after the object was created; never tested and of unknown age: overdue.
            let since = r.last_success.or(object.created);
            let allowed = SignedDuration::try_from(interval).unwrap_or(SignedDuration::MAX);
            Some(since.is_none_or(|s| horizon.duration_since(s) > allowed))
        }
        _ => None,
    };

    // With the history hidden, the gap from the period start to the first success the vendor
    // still shows is unknown, not a breach: leave the measures empty (contract §7).
    let measured = status != Status::NoData;
    ComplianceRow {
        period,
        vendor: Some(vendor),
        target: target.to_owned(),
        tenant: object.tenant.clone(),
        object_id: object.id.clone(),
        object: object.name.clone(),
        object_type: object.object_type.clone(),
        policy: object.policy.clone(),
        rpo: Some(rpo),
        status,
        reason,
        counts: evidence.counts,
        success: evidence
            .counts
            .map(|c| c.success_fraction(rules.strict_warnings)),
        last_success,
        last_attempt: evidence.last_attempt.map(|a| a.time),
        last_result: evidence.last_attempt.and_then(|a| a.result),
        max_gap: measured.then_some(max_gap),
        breach_count: measured.then_some(breaches.len() as u64),
        breach: measured.then_some(breach_total),
        transferred_bytes: evidence.transferred_bytes,
        stored_bytes: object.stored_bytes,
        restores: evidence.restores,
        restore_test_overdue,
    }
}

/// The row of an object whose target could not be read (`--keep-going`): identity and RPO
/// where known, nothing measured.
pub fn no_data(
    vendor: Vendor,
    target: &str,
    object: Option<&Object>,
    why: &str,
    scope: &Scope<'_>,
) -> ComplianceRow {
    let empty = Object::default();
    let o = object.unwrap_or(&empty);
    let rpo = object.map(|o| {
        scope.rules.rpo_for(&Subject {
            vendor,
            target,
            object: o,
        })
    });
    ComplianceRow {
        period: scope.period,
        vendor: Some(vendor),
        target: target.to_owned(),
        tenant: o.tenant.clone(),
        object_id: o.id.clone(),
        object: o.name.clone(),
        object_type: o.object_type.clone(),
        policy: o.policy.clone(),
        rpo,
        status: Status::NoData,
        reason: format!("the target could not be read: {why}"),
        counts: None,
        success: None,
        last_success: None,
        last_attempt: None,
        last_result: None,
        max_gap: None,
        breach_count: None,
        breach: None,
        transferred_bytes: None,
        stored_bytes: o.stored_bytes,
        restores: None,
        restore_test_overdue: None,
    }
}

/// One row of `summary-*.csv`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SummaryRow {
    pub period: Option<Period>,
    pub vendor: Option<Vendor>,
    pub target: String,
    pub tenant: String,
    pub objects: u64,
    pub compliant: u64,
    pub non_compliant: u64,
    pub unprotected: u64,
    pub excluded: u64,
    pub new: u64,
    pub no_data: u64,
    pub not_backed_up: u64,
    /// Rows whose restore test is overdue (whatever their status).
    pub restore_test_overdue: u64,
    /// Summed job counts; `None` when no row knows its jobs.
    pub jobs_total: Option<u64>,
    pub jobs_failed: Option<u64>,
    pub job_success: Option<(u64, u64)>,
    pub stored_bytes: Option<u64>,
}

impl SummaryRow {
    pub fn compliance_ratio(&self) -> Option<f64> {
        let d = self.compliant + self.non_compliant;
        (d > 0).then(|| self.compliant as f64 / d as f64)
    }

    pub fn job_success_ratio(&self) -> Option<f64> {
        match self.job_success {
            Some((n, d)) if d > 0 => Some(n as f64 / d as f64),
            _ => None,
        }
    }
}

/// One summary row per vendor, target and tenant, in that order (asset-register rows that
/// name no vendor last).
pub fn summarize(rows: &[ComplianceRow]) -> Vec<SummaryRow> {
    type Key<'a> = (bool, Option<Vendor>, &'a str, &'a str);
    let mut groups: BTreeMap<Key<'_>, SummaryRow> = BTreeMap::new();
    for r in rows {
        let s = groups
            .entry((r.vendor.is_none(), r.vendor, &r.target, &r.tenant))
            .or_insert_with(|| SummaryRow {
                period: Some(r.period),
                vendor: r.vendor,
                target: r.target.clone(),
                tenant: r.tenant.clone(),
                ..Default::default()
            });
        s.objects += 1;
        match r.status {
            Status::Compliant => s.compliant += 1,
            Status::NonCompliant => s.non_compliant += 1,
            Status::Unprotected => s.unprotected += 1,
            Status::Excluded => s.excluded += 1,
            Status::New => s.new += 1,
            Status::NoData => s.no_data += 1,
            Status::NotBackedUp => s.not_backed_up += 1,
        }
        if r.restore_test_overdue == Some(true) {
            s.restore_test_overdue += 1;
        }
        if let Some(c) = r.counts {
            s.jobs_total = Some(s.jobs_total.unwrap_or(0) + c.total);
            s.jobs_failed = Some(s.jobs_failed.unwrap_or(0) + c.failed);
        }
        if let Some((n, d)) = r.success {
            let (sn, sd) = s.job_success.unwrap_or((0, 0));
            s.job_success = Some((sn + n, sd + d));
        }
        if let Some(b) = r.stored_bytes {
            s.stored_bytes = Some(s.stored_bytes.unwrap_or(0).saturating_add(b));
        }
    }
    groups.into_values().collect()
}

fn grace(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX)
}

/// `1d 2h 3m` style, for reasons people read.
pub(crate) fn human(d: SignedDuration) -> String {
    let secs = d.as_secs().max(0) as u64;
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

#[cfg(test)]
#[path = "compliance_tests.rs"]
mod tests;
