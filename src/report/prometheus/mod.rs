//! `--source prometheus`: compliance and summary from a Prometheus-compatible query API
//! that scraped `serve`, for fleets whose vendor history is shorter than the period (Cloud
//! Sync keeps only the latest run). The same gap rules apply as with `--source api`; job
//! counts are not known this way, so those columns stay empty.

pub mod client;
pub mod reconstruct;

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use url::Url;

use self::client::{PromClient, PromError};
use self::reconstruct::{Rebuilt, Results};
use super::compliance::{self, Scope};
use super::progress::Progress;
use super::{Collected, ReportError, Request};

const SUCCESS: &str = "backup_object_last_success_timestamp_seconds";
/// One query may take this long (a month of a large fleet is real work for Prometheus).
const QUERY_TIMEOUT: Duration = Duration::from_secs(120);
/// When the scrape interval cannot be measured.
const DEFAULT_STEP: Duration = Duration::from_secs(60);
const MAX_STEP: Duration = Duration::from_secs(300);
/// How far back the values "as of" a time are looked for: long enough to bridge a
/// scrape outage, short enough that Prometheus loads few samples.
const LOOKBACK: &str = "1d";

/// Reads every selected target's objects from Prometheus and judges them.
pub async fn read_all(
    req: &Request,
    scope: &Scope<'_>,
    progress: &Progress,
) -> Result<Collected, ReportError> {
    let url = req
        .prometheus_url
        .clone()
        .ok_or_else(|| ReportError::Usage("--source prometheus needs --prometheus-url".into()))?;
    let names: Vec<&str> = req.targets.iter().map(|t| t.name.as_str()).collect();
    let p = progress.target("prometheus");
    let fetched = fetch(
        &url,
        &names,
        scope.period.from,
        scope.period.to.min(scope.now),
        &p,
    )
    .await;
    let mut out = Collected::default();
    let mut by_target: BTreeMap<String, Vec<Rebuilt>> = BTreeMap::new();
    let fetch_error = match fetched {
        Ok(rebuilt) => {
            for r in rebuilt {
                by_target.entry(r.target.clone()).or_default().push(r);
            }
            None
        }
        Err(e) => Some(e.to_string()),
    };
    for t in &req.targets {
        let objects = by_target.remove(&t.name).unwrap_or_default();
        let failure = match &fetch_error {
            Some(e) => Some(format!("{}: {e}", t.describe())),
            None if objects.is_empty() => Some(format!(
                "{}: Prometheus at {url} has no {SUCCESS} or backup_object_info series for it \
                 in the last {LOOKBACK} of the period",
                t.describe()
            )),
            None => None,
        };
        if let Some(f) = failure {
            if !req.keep_going {
                p.failed(&f);
                return Err(ReportError::Target(f));
            }
            out.targets.push(super::manifest::TargetEvidence {
                name: t.name.clone(),
                vendor: t.vendor.to_string(),
                error: Some(f.clone()),
                ..Default::default()
            });
            out.add_no_data(t.vendor, &t.name, &[], &f, scope);
            continue;
        }
        let known: Vec<crate::model::Object> = objects.iter().map(|r| r.object.clone()).collect();
        out.targets.push(super::manifest::TargetEvidence {
            name: t.name.clone(),
            vendor: t.vendor.to_string(),
            objects: objects.len() as u64,
            history_complete_from: super::api_source::history_complete_from(&known),
            ..Default::default()
        });
        for r in objects {
            if compliance::existed_in(&r.object, scope.period) {
                out.compliance.push(compliance::evaluate(
                    t.vendor,
                    &t.name,
                    &r.object,
                    &r.evidence,
                    scope,
                ));
            }
        }
    }
    if out.failures.is_empty() {
        p.done(&format!(
            "{} objects of {} targets",
            out.compliance.len(),
            names.len()
        ));
    } else {
        p.failed(&format!("{} target(s) without data", out.failures.len()));
    }
    Ok(out)
}

/// Runs the queries and rebuilds the objects. `end` is the earlier of period end and now.
async fn fetch(
    url: &Url,
    targets: &[&str],
    start: Timestamp,
    end: Timestamp,
    p: &super::progress::TargetProgress,
) -> Result<Vec<Rebuilt>, PromError> {
    let client = PromClient::new(url.clone(), QUERY_TIMEOUT)?;
    let sel = format!("{{target=~{}}}", client::exact_alternation(targets));
    let last = |metric: &str| format!("last_over_time({metric}{sel}[{LOOKBACK}])");
    p.phase("reading object metadata");
    let info = client.instant(&last("backup_object_info"), end).await?;
    p.phase("measuring the scrape interval");
    let step = scrape_step(&client, &info, end).await?;
    let mut r = Results {
        info,
        protected: client
            .instant(&last("backup_object_protected"), end)
            .await?,
        rpo: client
            .instant(&last("backup_object_rpo_seconds"), end)
            .await?,
        last_attempt: client
            .instant(&last("backup_object_last_attempt_timestamp_seconds"), end)
            .await?,
        last_result: client
            .instant(&format!("{} == 1", last("backup_object_last_result")), end)
            .await?,
        stored: client
            .instant(&last("backup_object_stored_bytes"), end)
            .await?,
        consecutive_failures: client
            .instant(&last("backup_object_consecutive_failures"), end)
            .await?,
        at_start: client.instant(&last(SUCCESS), start).await?,
        changes: Vec::new(),
    };
    p.phase(&format!(
        "reading success times at a {}s step",
        step.as_secs()
    ));
    r.changes = client
        .range(&changes_query(&sel, step), start, end, step)
        .await?;
    Ok(reconstruct::rebuild(&r, step))
}

/// The samples at which the last-success value changed or its series appeared: sparse, so
/// a month of a large fleet is a small answer.
pub fn changes_query(sel: &str, step: Duration) -> String {
    let s = format!("{SUCCESS}{sel}");
    let off = format!("({s} offset {}s)", step.as_secs());
    format!("({s} != {off}) or ({s} unless {off})")
}

/// The step of the changes query: the scrape interval, measured as the median spacing of
/// one object's raw samples over the last ten minutes, so no value lives between two steps
/// unseen.
async fn scrape_step(
    client: &PromClient,
    info: &[client::Series],
    at: Timestamp,
) -> Result<Duration, PromError> {
    let Some(one) = info.first() else {
        return Ok(DEFAULT_STEP);
    };
    let sel = format!(
        "{{target={},object_id={}}}",
        client::exact_string(one.label("target")),
        client::exact_string(one.label("object_id"))
    );
    let raw = client.instant(&format!("{SUCCESS}{sel}[10m]"), at).await?;
    Ok(
        median_spacing(raw.first().map(|s| s.samples.as_slice()).unwrap_or(&[]))
            .map_or(DEFAULT_STEP, |d| d.clamp(Duration::from_secs(1), MAX_STEP)),
    )
}

/// The median distance between consecutive samples, in whole seconds.
fn median_spacing(samples: &[(f64, f64)]) -> Option<Duration> {
    let mut d: Vec<f64> = samples
        .windows(2)
        .map(|w| w[1].0 - w[0].0)
        .filter(|d| *d > 0.0)
        .collect();
    if d.is_empty() {
        return None;
    }
    d.sort_by(f64::total_cmp);
    Some(Duration::from_secs(d[d.len() / 2].floor().max(1.0) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_step_is_the_median_sample_spacing() {
        let s: Vec<(f64, f64)> = [0.0, 15.0, 30.0, 45.0, 90.0, 105.0]
            .iter()
            .map(|t| (*t, 1.0))
            .collect();
        assert_eq!(median_spacing(&s), Some(Duration::from_secs(15)));
        assert_eq!(median_spacing(&s[..1]), None);
    }

    #[test]
    fn the_changes_query_keeps_appearances_and_changes() {
        let q = changes_query(r#"{target=~"a"}"#, Duration::from_secs(30));
        assert_eq!(
            q,
            "(backup_object_last_success_timestamp_seconds{target=~\"a\"} != \
             (backup_object_last_success_timestamp_seconds{target=~\"a\"} offset 30s)) or \
             (backup_object_last_success_timestamp_seconds{target=~\"a\"} unless \
             (backup_object_last_success_timestamp_seconds{target=~\"a\"} offset 30s))"
        );
    }
}
