//! Active warnings of a console: disk pools over their thresholds, appliances it cannot
//! reach, applications whose backups keep failing, and events that wait to be cleared.

use std::collections::HashMap;

use jiff::Timestamp;

use super::collect::{Appliances, pool_label};
use super::mapping;
use super::wire::{ClusterRest, DiskPoolRest, EventRest, JobRest};
use crate::model::{JobKind, JobResult, Severity, Warning};

/// Warning categories (a label): a pool over its threshold, an appliance the console cannot
/// reach, an application whose backups keep failing, an event that needs clearing.
pub const CATEGORY_STORAGE: &str = "storage";
pub const CATEGORY_APPLIANCE: &str = "appliance";
pub const CATEGORY_JOB_FAILURES: &str = "job_failures";
pub const CATEGORY_EVENT: &str = "event";

/// Failed backups in a row (newest first, cancelled ones skipped) that make a warning.
pub const FAILURE_STREAK: usize = 3;

pub fn pool_warnings(pools: &[DiskPoolRest], appliances: &Appliances) -> Vec<Warning> {
    let mut out = Vec::new();
    for p in pools {
        let pct = match (p.pct, p.capacity_mb, p.usage_mb) {
            (Some(pct), Some(c), _) if c > 0.0 => pct,
            (_, Some(c), Some(u)) if c > 0.0 => u / c * 100.0,
            _ => continue,
        };
        let limit = |v: Option<f64>| v.filter(|x| *x > 0.0);
        let (severity, threshold) = match (limit(p.safepct), limit(p.warnpct)) {
            (Some(s), _) if pct >= s => (Severity::Critical, s),
            (_, Some(w)) if pct >= w => (Severity::Warning, w),
            _ => continue,
        };
        let (label, tenant) = pool_label(p, appliances);
        out.push(Warning {
            object_id: None,
            tenant,
            severity,
            category: CATEGORY_STORAGE.into(),
            message: format!("disk pool {label} is {pct:.0}% full (threshold {threshold:.0}%)"),
        });
    }
    out
}

pub fn appliance_warnings(clusters: &[ClusterRest]) -> Vec<Warning> {
    clusters
        .iter()
        .filter(|c| {
            c.stale == Some(true)
                || c.clusterstatus.as_ref().and_then(|s| s.accessible) == Some(false)
        })
        .map(|c| {
            let name = c.name.clone().or_else(|| c.id.clone()).unwrap_or_default();
            Warning {
                object_id: None,
                tenant: name.clone(),
                severity: Severity::Critical,
                category: CATEGORY_APPLIANCE.into(),
                message: format!(
                    "appliance {name} cannot be reached by the management console; its data may be out of date"
                ),
            }
        })
        .collect()
}

/// Applications whose newest finished backups failed [`FAILURE_STREAK`] times or more in a
/// row, as far as the jobs read tell.
pub fn failure_streak_warnings(
    wire: &[JobRest],
    tenants: &HashMap<String, String>,
) -> Vec<Warning> {
    let mut per_app: HashMap<&str, Vec<(Timestamp, JobResult, &JobRest)>> = HashMap::new();
    for w in wire {
        let Some(j) = mapping::job(w) else { continue };
        let (Some(app), Some(end)) = (w.appid.as_deref(), j.end) else {
            continue;
        };
        if j.kind != JobKind::Backup || !j.result.is_finished() {
            continue;
        }
        per_app.entry(app).or_default().push((end, j.result, w));
    }
    let mut out = Vec::new();
    for (app, mut runs) in per_app {
        runs.sort_by_key(|r| std::cmp::Reverse(r.0));
        let failed: Vec<&JobRest> = runs
            .iter()
            .filter(|(_, r, _)| *r != JobResult::Cancelled)
            .take_while(|(_, r, _)| r.is_failure())
            .map(|(_, _, w)| *w)
            .collect();
        if failed.len() < FAILURE_STREAK {
            continue;
        }
        let newest = failed[0];
        let name = newest.appname.clone().unwrap_or_else(|| app.to_owned());
        let reason = match (&newest.errorcode, &newest.message) {
            (Some(c), Some(m)) => format!("error {c}: {m}"),
            (None, Some(m)) => m.clone(),
            (Some(c), None) => format!("error {c}"),
            (None, None) => "no message".into(),
        };
        out.push(Warning {
            object_id: Some(app.to_owned()),
            tenant: tenants.get(app).cloned().unwrap_or_default(),
            severity: Severity::Warning,
            category: CATEGORY_JOB_FAILURES.into(),
            message: format!(
                "the last {} backups of {name} failed; newest: {reason}",
                failed.len()
            ),
        });
    }
    out.sort_by(|a, b| a.object_id.cmp(&b.object_id));
    out
}

/// Events that must be cleared by someone and have not been.
pub fn event_warnings(
    events: &[EventRest],
    appliances: &Appliances,
    app_ids: &HashMap<(String, String), String>,
) -> Vec<Warning> {
    events
        .iter()
        .filter(|e| e.requiresclearing == Some(true))
        .filter(|e| {
            !matches!(
                e.eventstatus
                    .as_deref()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
                    .as_str(),
                "cleared" | "closed" | "resolved"
            )
        })
        .map(|e| {
            let tenant = appliances.name_of(e.cluster.as_ref(), None);
            let object_id = e
                .appname
                .as_ref()
                .and_then(|a| app_ids.get(&(tenant.clone(), a.clone())).cloned());
            let text = e
                .messagetext
                .clone()
                .or_else(|| e.errormessage.clone())
                .unwrap_or_default();
            let message = match e.eventid {
                Some(id) => format!("event {id}: {text}"),
                None => text,
            };
            Warning {
                object_id,
                tenant,
                severity: Severity::Warning,
                category: CATEGORY_EVENT.into(),
                message,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendors::backupdr::collect::storage;
    use crate::vendors::backupdr::collect::tests::wjob;

    #[test]
    fn streak_counts_failures_after_the_newest_success_and_skips_cancelled() {
        let jobs = vec![
            wjob("1", "a", "succeeded", 100),
            wjob("2", "a", "failed", 200),
            wjob("3", "a", "canceled", 250),
            wjob("4", "a", "failed", 300),
            wjob("5", "a", "failed", 400),
            wjob("6", "b", "failed", 100),
            wjob("7", "b", "failed", 200),
            wjob("8", "b", "succeeded", 300),
        ];
        let tenants = HashMap::from([("a".to_owned(), "app1".to_owned())]);
        let w = failure_streak_warnings(&jobs, &tenants);
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].object_id.as_deref(), Some("a"));
        assert_eq!(w[0].tenant, "app1");
        assert_eq!(w[0].category, CATEGORY_JOB_FAILURES);
        assert!(
            w[0].message.contains("last 3 backups of name-a"),
            "{}",
            w[0].message
        );
        assert!(w[0].message.contains("error 933: boom"), "{}", w[0].message);
    }

    fn pool(name: &str, cap: f64, used: f64, warn: f64, safe: f64) -> DiskPoolRest {
        DiskPoolRest {
            id: Some(name.into()),
            name: Some(name.into()),
            capacity_mb: Some(cap),
            usage_mb: Some(used),
            warnpct: Some(warn),
            safepct: Some(safe),
            cluster: Some(ClusterRest {
                name: Some("appl-1".into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn pool_thresholds_and_unknown_capacity() {
        let pools = vec![
            pool("ok", 1000.0, 500.0, 80.0, 90.0),
            pool("warm", 1000.0, 850.0, 80.0, 90.0),
            pool("full", 1000.0, 950.0, 80.0, 90.0),
            pool("vault", 0.0, 123.0, 0.0, 0.0),
        ];
        let a = Appliances::default();
        let w = pool_warnings(&pools, &a);
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].severity, Severity::Warning);
        assert_eq!(w[1].severity, Severity::Critical);
        assert!(
            w[1].message.contains("appl-1/full is 95% full"),
            "{}",
            w[1].message
        );
        let s = storage(&pools, &a);
        assert_eq!(s.pools[3].capacity_bytes, None);
        assert_eq!(s.pools[3].used_bytes, Some(123 * 1_048_576));
        assert_eq!(s.pools[0].name, "appl-1/ok");
        assert_eq!(
            s.tenants,
            vec![("appl-1".to_owned(), (500 + 850 + 950 + 123) * 1_048_576)]
        );
    }
}
