//! `--source prometheus`: compliance and summary from a Prometheus-compatible query API
//! that scraped `serve`, for fleets whose vendor history is shorter than the period (Cloud
//! Sync keeps only the latest run). The same gap rules apply as with `--source api`; job
//! counts are not known this way, so those columns stay empty.
//!
//! The store may not answer for the whole period. Two cases are detected, and the rows they
//! affect are `no_data` with the reason, never a breach measured on missing data:
//! - its history starts after the period start (retention shorter than the period, or the
//!   target added later): no series at the period start, so [`reconstruct`] sets
//!   `history_start` to the first sample and [`compliance::evaluate`] says `no_data`; the
//!   reason here names the store.
//! - its samples are further apart than an object's RPO (a long scrape interval,
//!   deduplication or downsampling): two successes between samples show as one, so a gap
//!   measured there may not exist. The spacing of the raw samples is measured at both ends
//!   of the period ([`Resolution`]).

pub mod client;
pub mod reconstruct;

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use url::Url;

use self::client::{PromClient, PromError};
use self::reconstruct::{Rebuilt, Results};
use super::compliance::{self, ComplianceRow, Scope, Status};
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
/// The window in which the raw sample spacing is measured at each end of the period: long
/// enough to see a downsampled store's one-hour resolution.
const RESOLUTION_WINDOW: jiff::SignedDuration = jiff::SignedDuration::from_hours(6);

/// How densely the store holds the success series.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resolution {
    /// Median raw sample spacing in the last window of the period.
    pub at_end: Option<Duration>,
    /// The same in the first window of the period.
    pub at_start: Option<Duration>,
}

impl Resolution {
    /// The step of the changes query: the spacing at the end (where a scrape interval is
    /// measured), clamped, so that no value lives between two steps unseen.
    pub fn step(&self) -> Duration {
        self.at_end
            .map_or(DEFAULT_STEP, |d| d.clamp(Duration::from_secs(1), MAX_STEP))
    }

    /// The coarsest spacing measured in the period.
    pub fn coarsest(&self) -> Option<Duration> {
        self.at_end.max(self.at_start)
    }
}

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
    let mut resolution = Resolution::default();
    let fetch_error = match fetched {
        Ok((rebuilt, res)) => {
            resolution = res;
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
                let row = compliance::evaluate(t.vendor, &t.name, &r.object, &r.evidence, scope);
                out.compliance
                    .push(within_reach(row, &r.object, resolution, &url));
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
) -> Result<(Vec<Rebuilt>, Resolution), PromError> {
    let client = PromClient::new(url.clone(), QUERY_TIMEOUT)?;
    let sel = format!("{{target=~{}}}", client::exact_alternation(targets));
    let last = |metric: &str| format!("last_over_time({metric}{sel}[{LOOKBACK}])");
    p.phase("reading object metadata");
    let info = client.instant(&last("backup_object_info"), end).await?;
    p.phase("measuring the sample spacing");
    let resolution = measure_resolution(&client, &info, start, end).await?;
    let step = resolution.step();
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
        last_restore: client
            .instant(&last("backup_object_last_restore_timestamp_seconds"), end)
            .await?,
        last_restore_result: client
            .instant(
                &format!("{} == 1", last("backup_object_last_restore_result")),
                end,
            )
            .await?,
        last_restore_success: client
            .instant(
                &last("backup_object_last_restore_success_timestamp_seconds"),
                end,
            )
            .await?,
        restore_changes: Vec::new(),
        from: Some(start),
    };
    p.phase(&format!(
        "reading success times at a {}s step",
        step.as_secs()
    ));
    r.changes = client
        .range(&changes_query(&sel, step), start, end, step)
        .await?;
    if !r.last_restore.is_empty() {
        r.restore_changes = client
            .range(
                &changes_of("backup_object_last_restore_timestamp_seconds", &sel, step),
                start,
                end,
                step,
            )
            .await?;
    }
    Ok((reconstruct::rebuild(&r, step), resolution))
}

/// `row` as the store can vouch for it: `no_data` when the store's samples are further apart
/// than the object's RPO (a gap may be two successes seen as one), and a `no_data` for a
/// history starting late names the store.
pub fn within_reach(
    mut row: ComplianceRow,
    object: &crate::model::Object,
    resolution: Resolution,
    url: &Url,
) -> ComplianceRow {
    let store = store_name(url);
    if row.status == Status::NoData {
        if let Some(h) = object.history_start {
            row.reason = format!(
                "{store} holds this target's series only from {h}, after the period start \
                 (its retention is shorter than the period, or the target was added later)"
            );
        }
        return row;
    }
    let measured = matches!(
        row.status,
        Status::Compliant | Status::NonCompliant | Status::New
    );
    if let (true, Some(coarsest), Some(rpo)) = (measured, resolution.coarsest(), row.rpo)
        && coarsest > rpo
    {
        row.status = Status::NoData;
        row.reason = format!(
            "{store} keeps one sample every {} of this target's series, coarser than the RPO \
             of {}: successes between samples cannot be seen",
            humantime::format_duration(coarsest),
            humantime::format_duration(rpo)
        );
        row.max_gap = None;
        row.breach_count = None;
        row.breach = None;
    }
    row
}

/// The store as named in reasons: its address without credentials, path or query.
fn store_name(url: &Url) -> String {
    let host = url.host_str().unwrap_or("");
    match url.port() {
        Some(p) => format!("the store at {}://{host}:{p}", url.scheme()),
        None => format!("the store at {}://{host}", url.scheme()),
    }
}

/// The samples at which the last-success value changed or its series appeared: sparse, so
/// a month of a large fleet is a small answer.
pub fn changes_query(sel: &str, step: Duration) -> String {
    changes_of(SUCCESS, sel, step)
}

/// The samples at which `metric`'s value changed or its series appeared.
fn changes_of(metric: &str, sel: &str, step: Duration) -> String {
    let s = format!("{metric}{sel}");
    let off = format!("({s} offset {}s)", step.as_secs());
    format!("({s} != {off}) or ({s} unless {off})")
}

/// The median spacing of one object's raw success samples in the first and the last
/// [`RESOLUTION_WINDOW`] of the period (each cut to the period).
async fn measure_resolution(
    client: &PromClient,
    info: &[client::Series],
    start: Timestamp,
    end: Timestamp,
) -> Result<Resolution, PromError> {
    let Some(one) = info.first() else {
        return Ok(Resolution::default());
    };
    let sel = format!(
        "{{target={},object_id={}}}",
        client::exact_string(one.label("target")),
        client::exact_string(one.label("object_id"))
    );
    let spacing = |at: Timestamp, window: jiff::SignedDuration| {
        let q = format!("{SUCCESS}{sel}[{}s]", window.as_secs().max(1));
        async move {
            let raw = client.instant(&q, at).await?;
            Ok::<_, PromError>(median_spacing(
                raw.first().map(|s| s.samples.as_slice()).unwrap_or(&[]),
            ))
        }
    };
    let span = end.duration_since(start).max(jiff::SignedDuration::ZERO);
    // Ten minutes at the end give the scrape interval without loading hours of samples; a
    // store that thins its samples (downsampling, deduplication) may leave fewer than two
    // in a short window, so the window widens until two samples are found: a resolution of
    // 4 h shows in 24 h whatever the time of day, where 6 h may hold only one sample.
    let windows = [
        jiff::SignedDuration::from_mins(10),
        RESOLUTION_WINDOW,
        RESOLUTION_WINDOW * 4,
    ];
    let mut at_end = None;
    for w in windows.iter().map(|w| (*w).min(span)) {
        at_end = spacing(end, w).await?;
        if at_end.is_some() {
            break;
        }
    }
    let mut at_start = None;
    for w in windows[1..].iter().map(|w| (*w).min(span)) {
        at_start = spacing(start + w, w).await?;
        if at_start.is_some() {
            break;
        }
    }
    Ok(Resolution { at_end, at_start })
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

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// A month with a success every `every_h` hours, judged with an RPO of `rpo_h` hours.
    fn judged(
        every_h: i64,
        rpo_h: u64,
        history_start: Option<&str>,
    ) -> (ComplianceRow, crate::model::Object) {
        let period = crate::adapter::Period {
            from: ts("2026-01-01T00:00:00Z"),
            to: ts("2026-02-01T00:00:00Z"),
        };
        let rules = crate::config::Compliance {
            rpo: Duration::from_secs(rpo_h * 3600),
            ..Default::default()
        };
        let scope = Scope {
            period,
            now: ts("2026-03-01T00:00:00Z"),
            rules: &rules,
        };
        let object = crate::model::Object {
            id: "db".into(),
            name: "db-1".into(),
            protected: true,
            history_start: history_start.map(ts),
            ..Default::default()
        };
        let mut t = ts("2025-12-31T23:00:00Z");
        let mut successes = Vec::new();
        while t < period.to {
            successes.push(t);
            t += jiff::SignedDuration::from_hours(every_h);
        }
        let evidence = compliance::Evidence {
            successes,
            ..Default::default()
        };
        let row = compliance::evaluate(
            crate::model::Vendor::Cloutility,
            "alpha",
            &object,
            &evidence,
            &scope,
        );
        (row, object)
    }

    fn res(end_s: u64, start_s: u64) -> Resolution {
        Resolution {
            at_end: Some(Duration::from_secs(end_s)),
            at_start: Some(Duration::from_secs(start_s)),
        }
    }

    #[test]
    fn a_resolution_coarser_than_the_rpo_is_no_data_not_a_breach() {
        let url: Url = "http://user:secret@vm.example:8428/prometheus"
            .parse()
            .unwrap();
        // Seen through two-hourly samples, hourly successes look two-hourly: a breach of
        // the 1 h RPO that does not exist.
        let (row, object) = judged(2, 1, None);
        assert_eq!(row.status, Status::NonCompliant);
        let out = within_reach(row, &object, res(15, 7200), &url);
        assert_eq!(out.status, Status::NoData, "{out:?}");
        assert_eq!(
            out.reason,
            "the store at http://vm.example:8428 keeps one sample every 2h of this target's \
             series, coarser than the RPO of 1h: successes between samples cannot be seen"
        );
        assert_eq!(
            (out.max_gap, out.breach_count, out.breach),
            (None, None, None)
        );
        assert!(!out.reason.contains("secret"));

        // Fine enough: the row stands as judged.
        let (row, object) = judged(2, 1, None);
        let out = within_reach(row.clone(), &object, res(15, 60), &url);
        assert_eq!(out, row);
        // A compliant row on coarse data is no_data too (a downsampled value may be
        // no success at all).
        let (row, object) = judged(1, 3, None);
        assert_eq!(row.status, Status::Compliant);
        let out = within_reach(row, &object, res(15, 4 * 3600), &url);
        assert_eq!(out.status, Status::NoData);
        // Unknown spacing (no samples at the start): nothing to say.
        let (row, object) = judged(2, 1, None);
        let out = within_reach(
            row.clone(),
            &object,
            Resolution {
                at_end: Some(Duration::from_secs(15)),
                at_start: None,
            },
            &url,
        );
        assert_eq!(out, row);
    }

    #[test]
    fn a_history_starting_after_the_period_start_is_no_data_naming_the_store() {
        let url: Url = "http://127.0.0.1:8428".parse().unwrap();
        let (row, object) = judged(2, 1, Some("2026-01-15T00:00:00Z"));
        assert_eq!(row.status, Status::NoData);
        let out = within_reach(row, &object, res(15, 15), &url);
        assert_eq!(out.status, Status::NoData);
        assert_eq!(
            out.reason,
            "the store at http://127.0.0.1:8428 holds this target's series only from \
             2026-01-15T00:00:00Z, after the period start (its retention is shorter than the \
             period, or the target was added later)"
        );
        assert_eq!(out.breach_count, None);
    }

    #[test]
    fn the_step_follows_the_end_and_the_coarsest_spacing_counts() {
        assert_eq!(res(15, 3600).step(), Duration::from_secs(15));
        assert_eq!(res(3600, 15).step(), MAX_STEP);
        assert_eq!(Resolution::default().step(), DEFAULT_STEP);
        assert_eq!(res(15, 3600).coarsest(), Some(Duration::from_secs(3600)));
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
