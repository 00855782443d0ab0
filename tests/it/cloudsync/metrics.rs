//! `/metrics` of an exporter scraping the simulator: every Cloud Sync series has the value
//! the simulator's world implies, and a run is counted once when it finishes.

use backup_exporter::exporter::Exporter;

use super::*;
use crate::common::{get, samples, value};

fn secs(t: Timestamp) -> f64 {
    t.as_nanosecond() as f64 / 1e9
}

/// The policy text for the world's schedules (whole hours below a day, else whole days).
fn policy(every: Option<Duration>) -> String {
    match every.map(|d| d.as_secs()) {
        None => String::new(),
        Some(s) if s % 86_400 == 0 => format!("every {}d", s / 86_400),
        Some(s) => format!("every {}h", s / 3600),
    }
}

async fn scrape(ex: &Exporter) -> String {
    let (status, body) = get(&format!("http://{}/metrics", ex.addr)).await;
    assert_eq!(status, 200);
    body
}

/// Waits until the jobs collector has refreshed at the clock's current time.
async fn refreshed_at(ex: &Exporter, now: Timestamp) -> String {
    for _ in 0..200 {
        let m = scrape(ex).await;
        let at = value(
            &m,
            "backup_collector_last_success_timestamp_seconds",
            &[("collector", "jobs")],
        );
        if at == Some(secs(now)) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no refresh at {now}");
}

fn sum(m: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples(m)
        .into_iter()
        .filter(|(k, _)| {
            let (n, rest) = k.split_once('{').unwrap_or((k.as_str(), "}"));
            n == name
                && labels
                    .iter()
                    .all(|(lk, lv)| rest.contains(&format!("{lk}=\"{lv}\"")))
        })
        .map(|(_, v)| v)
        .sum()
}

/// Finished activities in the job window at `now`, by relationship index.
fn finished_in_window(w: &World, now: Timestamp) -> Vec<(usize, Activity)> {
    let since = now - SignedDuration::from_hours(LOOKBACK_H);
    (0..w.relationships.len())
        .filter_map(|r| w.activity(r, now).map(|a| (r, a)))
        .filter(|(_, a)| a.end.is_some_and(|e| e >= since))
        .collect()
}

#[tokio::test]
async fn metrics_have_the_values_of_the_simulated_world() {
    let h = start(SimOptions::default()).await;
    h.advance_to_every_status();
    let text = format!(
        "compliance: {{rpo: 24h}}\ntargets:\n  - name: cs\n    vendor: cloudsync\n    url: {}\n    interval: 300ms\n    timeout: 20s\n    lookback: {LOOKBACK_H}h\n    max_stale: 4h\n{}",
        h.base,
        h.password_target(&format!("    audit_url: {}\n", h.base))
    );
    let settings = Settings::parse(&text, Path::new("m.yml")).expect("config");
    let ex = Exporter::start(&settings, "127.0.0.1:0", h.ctx.clock.clone(), None)
        .await
        .expect("exporter starts");
    assert!(ex.wait_ready(Duration::from_secs(20)).await);
    let t0 = h.now();
    let m = refreshed_at(&ex, t0).await;
    let w = h.world();
    let in_window: HashMap<usize, Activity> = finished_in_window(w, t0).into_iter().collect();

    assert_eq!(
        value(&m, "backup_target_up", &[("target", "cs")]),
        Some(1.0)
    );
    for c in ["inventory", "jobs", "warnings", "audit", "storage"] {
        assert_eq!(
            value(&m, "backup_collector_up", &[("collector", c)]),
            Some(1.0),
            "{c}"
        );
    }
    assert_eq!(
        value(&m, "backup_exported_objects", &[("target", "cs")]),
        Some(w.relationships.len() as f64)
    );

    for (r, rel) in w.relationships.iter().enumerate() {
        let a = w.activity(r, t0).unwrap();
        let name = rel.name();
        let tenant = w.accounts[rel.account].name.as_str();
        let id = [("object_id", rel.id.as_str())];
        let get = |metric: &str, extra: &[(&str, &str)]| {
            let mut l = id.to_vec();
            l.extend_from_slice(extra);
            value(&m, metric, &l)
        };
        let pol = policy(rel.interval);
        assert_eq!(
            get(
                "backup_object_info",
                &[
                    ("object", &name),
                    ("tenant", tenant),
                    ("object_type", "relationship"),
                    ("policy", &pol),
                ]
            ),
            Some(1.0),
            "{name}"
        );
        let protected = if rel.interval.is_some() { 1.0 } else { 0.0 };
        assert_eq!(get("backup_object_protected", &[]), Some(protected));
        let rpo = rel.interval.unwrap_or(Duration::from_secs(86_400));
        assert_eq!(
            get("backup_object_rpo_seconds", &[]),
            Some(rpo.as_secs_f64())
        );
        let done = a.status == "DONE";
        let stored = done.then_some(a.bytes_scanned as f64);
        assert_eq!(get("backup_object_stored_bytes", &[]), stored, "{name}");

        let seen = in_window.get(&r);
        let last_success = match (done, seen, a.end) {
            (true, Some(_), Some(end)) => secs(end),
            // Outside the window only a clean DONE is known, through the hint.
            (true, None, Some(end)) if a.files_failed == 0 => secs(end),
            _ => 0.0,
        };
        assert_eq!(
            get("backup_object_last_success_timestamp_seconds", &[]),
            Some(last_success),
            "{name}: {a:?}"
        );
        match seen {
            Some(a) => {
                let result = expected_result(a);
                assert_eq!(
                    get("backup_object_last_attempt_timestamp_seconds", &[]),
                    a.end.map(secs)
                );
                assert_eq!(
                    get("backup_object_last_result", &[("result", result.as_str())]),
                    Some(1.0),
                    "{name}"
                );
                assert_eq!(
                    get("backup_object_last_duration_seconds", &[]),
                    Some(a.execution_ms as f64 / 1000.0)
                );
                assert_eq!(
                    get("backup_object_last_transferred_bytes", &[]),
                    Some(a.bytes_copied as f64)
                );
                let failures = if result == JobResult::Failed {
                    1.0
                } else {
                    0.0
                };
                assert_eq!(
                    get("backup_object_consecutive_failures", &[]),
                    Some(failures)
                );
            }
            None => {
                assert_eq!(
                    get("backup_object_last_attempt_timestamp_seconds", &[]),
                    None
                );
                assert_eq!(get("backup_object_consecutive_failures", &[]), Some(0.0));
            }
        }
    }

    for (i, acc) in w.accounts.iter().enumerate() {
        let tenant = [("tenant", acc.name.as_str())];
        let mut window: HashMap<&str, f64> = HashMap::new();
        let mut running = 0.0;
        for (r, _) in w.relationships_of(i) {
            let a = w.activity(r, t0).unwrap();
            if let Some(a) = in_window.get(&r) {
                *window.entry(expected_result(a).as_str()).or_default() += 1.0;
            } else if a.end.is_none() {
                running += 1.0;
            }
        }
        for (result, n) in &window {
            assert_eq!(
                value(
                    &m,
                    "backup_jobs_window",
                    &[tenant[0], ("kind", "sync"), ("result", result)]
                ),
                Some(*n),
                "{} {result}",
                acc.name
            );
        }
        assert_eq!(
            sum(&m, "backup_jobs_window", &tenant),
            window.values().sum::<f64>()
        );
        assert_eq!(
            value(&m, "backup_jobs_running", &[tenant[0], ("kind", "sync")]).unwrap_or(0.0),
            running,
            "{}",
            acc.name
        );
        assert_eq!(
            value(&m, "backup_tenant_stored_bytes", &tenant),
            Some(w.stats(i, t0).total_bytes as f64)
        );
        let unhealthy = w
            .brokers
            .iter()
            .filter(|b| w.groups[b.group].account == i && b.health != Health::Online)
            .count();
        assert_eq!(
            sum(&m, "backup_warnings", &tenant),
            unhealthy as f64,
            "{}",
            acc.name
        );
        let newest_create = w
            .audit(i, t0 - SignedDuration::from_hours(LOOKBACK_H), t0, t0)
            .into_iter()
            // "Create …" and "Add …" are creations; a failed one is an error.
            .filter(|e| {
                (e.action.starts_with("Create") || e.action.starts_with("Add"))
                    && e.status != "failed"
            })
            .map(|e| e.start)
            .max();
        assert_eq!(
            value(
                &m,
                "backup_audit_last_event_timestamp_seconds",
                &[tenant[0], ("action", "create")]
            ),
            newest_create.map(secs),
            "{}",
            acc.name
        );
    }
    assert_eq!(
        value(
            &m,
            "backup_warnings",
            &[
                ("tenant", "Globex"),
                ("severity", "critical"),
                ("category", "data_broker_failed")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        sum(&m, "backup_jobs_total", &[("target", "cs")]),
        0.0,
        "history present at the first refresh is not counted"
    );

    // An hour later: runs that finished since, and new runs, are counted once each.
    let seen_ids: HashSet<String> = in_window
        .iter()
        .map(|(r, a)| format!("{}@{}", w.relationships[*r].id, a.start))
        .collect();
    h.ctx.clock.advance(Duration::from_secs(3600));
    let t1 = h.now();
    let m = refreshed_at(&ex, t1).await;
    let mut new: HashMap<(String, &str), (f64, f64)> = HashMap::new();
    for (r, a) in finished_in_window(w, t1) {
        let rel = &w.relationships[r];
        if seen_ids.contains(&format!("{}@{}", rel.id, a.start)) {
            continue;
        }
        let e = new
            .entry((
                w.accounts[rel.account].name.clone(),
                expected_result(&a).as_str(),
            ))
            .or_default();
        e.0 += 1.0;
        e.1 += a.bytes_copied as f64;
    }
    assert!(!new.is_empty(), "an hour brings new runs");
    for ((tenant, result), (n, _)) in &new {
        assert_eq!(
            value(
                &m,
                "backup_jobs_total",
                &[("tenant", tenant), ("kind", "sync"), ("result", result)]
            ),
            Some(*n),
            "{tenant} {result}"
        );
    }
    let total: f64 = new.values().map(|(n, _)| n).sum();
    let bytes: f64 = new.values().map(|(_, b)| b).sum();
    assert_eq!(sum(&m, "backup_jobs_total", &[("target", "cs")]), total);
    assert_eq!(
        sum(&m, "backup_transferred_bytes_total", &[("target", "cs")]),
        bytes
    );
    // More refreshes of the same state count nothing more.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let again = scrape(&ex).await;
    assert_eq!(sum(&again, "backup_jobs_total", &[("target", "cs")]), total);
    ex.stop().await;
}

/// Rewrites each relationship listing: the first relationship's latest run ended in 2262,
/// the second's in 1970, both clean (so each is a last-success hint as well as a job end).
async fn plant_absurd_times(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let listing = req.uri().path().ends_with("/api/relationships-v2");
    let resp = next.run(req).await;
    if !listing || !resp.status().is_success() {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let list = v
        .as_array_mut()
        .expect("a relationship listing is an array");
    for (rel, end) in list
        .iter_mut()
        .zip(["2262-04-11T23:47:16.000Z", "1970-01-01T00:00:00.000Z"])
    {
        let a = &mut rel["activity"];
        a["status"] = serde_json::json!("DONE");
        a["filesFailed"] = serde_json::json!(0);
        a["dirsFailed"] = serde_json::json!(0);
        a["startTime"] = serde_json::json!("2026-03-10T01:00:00.000Z");
        a["endTime"] = serde_json::json!(end);
        rel["endTime"] = serde_json::json!(end);
    }
    parts.headers.remove(axum::http::header::CONTENT_LENGTH);
    axum::response::Response::from_parts(parts, axum::body::Body::from(v.to_string()))
}

/// Issue 13 point 3: a vendor answering a run that ended in 2262 and one that ended in
/// 1970 (a last success in 1970 too) exports no absurd time: those fields are dropped and
/// `backup_vendor_values_rejected_total` counts them by field.
#[tokio::test]
async fn absurd_vendor_times_are_dropped_and_counted() {
    let h = start_with(SimOptions::default(), |app| {
        app.layer(axum::middleware::from_fn(plant_absurd_times))
    })
    .await;
    let text = format!(
        "targets:\n  - name: cs\n    vendor: cloudsync\n    url: {}\n    interval: 300ms\n    timeout: 20s\n    lookback: {LOOKBACK_H}h\n{}",
        h.base,
        h.password_target("")
    );
    let settings = Settings::parse(&text, Path::new("m.yml")).expect("config");
    let ex = Exporter::start(&settings, "127.0.0.1:0", h.ctx.clock.clone(), None)
        .await
        .expect("exporter starts");
    let now = h.now();
    let m = refreshed_at(&ex, now).await;
    let rejected = |m: &str, field: &str| {
        sum(
            m,
            "backup_vendor_values_rejected_total",
            &[("target", "cs"), ("vendor", "cloudsync"), ("field", field)],
        )
    };
    // Each account's listing plants two runs, so at least two of each per refresh.
    let ends = rejected(&m, "job_end");
    let hints = rejected(&m, "object_last_success_hint");
    assert!(ends >= 2.0, "job_end rejected {ends} times\n{m}");
    assert!(hints >= 2.0, "hints rejected {hints} times");
    let earliest = secs("1990-01-01T00:00:00Z".parse().unwrap());
    let latest = secs(now) + 86_400.0;
    let mut times = 0;
    for (series, v) in samples(&m) {
        if series
            .split('{')
            .next()
            .unwrap()
            .ends_with("_timestamp_seconds")
        {
            times += 1;
            // 0 is "none known" (docs/metrics.md).
            assert!(
                v == 0.0 || (earliest..=latest).contains(&v),
                "{series} = {v}: an absurd time was exported"
            );
        }
    }
    assert!(times > 0, "no time series at all");
    // The counter keeps counting while the vendor keeps sending them.
    h.ctx.clock.advance(Duration::from_secs(60));
    let later = refreshed_at(&ex, h.now()).await;
    assert!(rejected(&later, "job_end") > ends);
    ex.stop().await;
}
