//! The exporter core (scheduler, state, metrics, server) driven through a scripted adapter:
//! every metric family's value for a known data set, health going down and back up, stale
//! data served and then dropped, and promtool's verdict on the output.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use backup_exporter::adapter::{Adapter, Collection, SkippedPart, VendorError, Window};
use backup_exporter::api::{
    ApiClient, ApiError, ApiMetrics, Authenticator, ClientSettings, Credential, Request,
};
use backup_exporter::clock::Clock;
use backup_exporter::config::Settings;
use backup_exporter::exporter::Exporter;
use backup_exporter::model::*;
use jiff::Timestamp;

use crate::common::*;

const T0: i64 = 1_800_000_000;

fn ts(s: i64) -> Option<Timestamp> {
    Timestamp::from_second(s).ok()
}

/// An adapter whose answers the test sets.
#[derive(Default)]
struct Scripted {
    failing: Mutex<bool>,
    jobs: Mutex<Vec<Job>>,
    audit: Mutex<Vec<AuditEvent>>,
    calls: Mutex<u64>,
}

fn object(id: &str, name: &str, tenant: &str, protected: bool) -> Object {
    Object {
        id: id.into(),
        name: name.into(),
        object_type: "node".into(),
        tenant: tenant.into(),
        policy: if protected {
            "DAILY".into()
        } else {
            String::new()
        },
        protected,
        protected_bytes: Some(1000),
        stored_bytes: Some(600),
        restore_points: Some(7),
        latest_restore_point: ts(T0 - 3600),
        ..Default::default()
    }
}

fn deletion(id: &str, at: i64) -> AuditEvent {
    AuditEvent {
        id: id.into(),
        time: ts(at).unwrap(),
        tenant: "Finance".into(),
        actor: "admin".into(),
        action: AuditAction::Delete,
        object: "node db-1".into(),
        message: "deleted".into(),
    }
}

fn job(id: &str, obj: &str, result: JobResult, end: i64, bytes: u64) -> Job {
    Job {
        id: id.into(),
        object_id: obj.into(),
        kind: JobKind::Backup,
        result,
        vendor_status: "word".into(),
        start: ts(end - 120),
        end: if result == JobResult::Running {
            None
        } else {
            ts(end)
        },
        duration: None,
        transferred_bytes: Some(bytes),
        error_code: None,
        error_message: None,
    }
}

fn restore(id: &str, obj: &str, result: JobResult, end: i64) -> Job {
    Job {
        kind: JobKind::Restore,
        ..job(id, obj, result, end, 0)
    }
}

#[async_trait]
impl Adapter for Scripted {
    async fn collect(&self, _w: Window) -> Collection {
        *self.calls.lock().unwrap() += 1;
        if *self.failing.lock().unwrap() {
            return Collection::failed(|| VendorError::Invalid("vendor says no".into()));
        }
        Collection {
            inventory: Ok(vec![
                object("1", "db-1", "Finance", true),
                object("2", "web \"quoted\"", "HR", false),
            ]),
            jobs: Ok(self.jobs.lock().unwrap().clone()),
            warnings: Ok(vec![Warning {
                object_id: Some("1".into()),
                tenant: "Finance".into(),
                severity: Severity::Critical,
                category: "no_activity".into(),
                message: "no activity for 2 days".into(),
            }]),
            audit: Ok(self.audit.lock().unwrap().clone()),
            storage: Ok(Storage {
                pools: vec![StoragePool {
                    name: "pool-a".into(),
                    capacity_bytes: Some(10_000),
                    used_bytes: Some(2_500),
                }],
                tenants: vec![],
                objects: vec![("1".into(), 650)],
            }),
            // This account lacks one listing; the inventory still succeeds with the rest.
            skipped: vec![SkippedPart {
                collector: CollectorKind::Inventory,
                part: "rds_instances",
                reason: "GET /rds: HTTP 403 Forbidden: not licensed".into(),
            }],
        }
    }
    async fn probe(&self) -> Result<String, VendorError> {
        Ok("scripted".into())
    }
}

fn settings() -> Settings {
    Settings::parse(
        r#"
defaults: {interval: 200ms, timeout: 5s, lookback: 48h, max_stale: 10m}
compliance:
  rpo: 24h
  rules:
    - match: {tenant: "Finance"}
      rpo: 6h
      restore_test_interval: 7d
targets:
  - {name: t1, vendor: cloutility, url: "http://127.0.0.1:9", client_id: c, origin: "http://o", username: u, password_env: NOPE}
"#,
        Path::new("test.yml"),
    )
    .expect("config parses")
}

async fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn scrape(ex: &Exporter) -> String {
    let (status, body) = get_openmetrics(&format!("http://{}/metrics", ex.addr)).await;
    assert_eq!(status, 200);
    body
}

#[tokio::test]
async fn metric_values_health_and_staleness() {
    let clock = Clock::manual(Timestamp::from_second(T0).unwrap());
    let adapter = Arc::new(Scripted::default());
    *adapter.jobs.lock().unwrap() = vec![
        job("j1", "1", JobResult::Success, T0 - 7200, 100),
        job("j2", "1", JobResult::Failed, T0 - 3600, 5),
        job("j3", "1", JobResult::Missed, T0 - 1800, 0),
        job("j4", "2", JobResult::Running, T0 - 10, 0),
        restore("r1", "1", JobResult::Success, T0 - 5000),
        restore("r2", "1", JobResult::Failed, T0 - 4000),
    ];
    *adapter.audit.lock().unwrap() = vec![deletion("a1", T0 - 60)];
    let s = settings();
    let api = ApiMetrics::default();
    let ex = Exporter::start_with(
        &s,
        vec![adapter.clone() as Arc<dyn Adapter>],
        api.clone(),
        "127.0.0.1:0",
        clock.clone(),
        None,
    )
    .await
    .unwrap();
    assert!(ex.wait_ready(Duration::from_secs(10)).await);
    let (status, _) = get(&format!("http://{}/-/ready", ex.addr)).await;
    assert_eq!(status, 200);

    exercise_api_client(&ex, api).await;
    let m = scrape(&ex).await;
    let obj1 = [("target", "t1"), ("object_id", "1")];
    let v = |name: &str, extra: &[(&str, &str)]| {
        let mut l = obj1.to_vec();
        l.extend_from_slice(extra);
        value(&m, name, &l)
    };
    assert_eq!(
        value(
            &m,
            "backup_target_up",
            &[("target", "t1"), ("vendor", "cloutility")]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "backup_object_info",
            &[
                ("object", "db-1"),
                ("tenant", "Finance"),
                ("policy", "DAILY"),
                ("object_type", "node")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(v("backup_object_protected", &[]), Some(1.0));
    assert_eq!(
        value(&m, "backup_object_protected", &[("object_id", "2")]),
        Some(0.0)
    );
    assert_eq!(
        v("backup_object_rpo_seconds", &[]),
        Some(6.0 * 3600.0),
        "rule for Finance"
    );
    assert_eq!(
        value(&m, "backup_object_rpo_seconds", &[("object_id", "2")]),
        Some(86400.0)
    );
    assert_eq!(
        v("backup_object_last_success_timestamp_seconds", &[]),
        Some((T0 - 7200) as f64)
    );
    assert_eq!(
        value(
            &m,
            "backup_object_last_success_timestamp_seconds",
            &[("object_id", "2")]
        ),
        Some(0.0),
        "never succeeded"
    );
    assert_eq!(
        v("backup_object_last_attempt_timestamp_seconds", &[]),
        Some((T0 - 1800) as f64)
    );
    assert_eq!(
        v("backup_object_last_result", &[("result", "missed")]),
        Some(1.0)
    );
    assert_eq!(
        v("backup_object_last_result", &[("result", "success")]),
        Some(0.0)
    );
    assert_eq!(v("backup_object_last_duration_seconds", &[]), Some(120.0));
    assert_eq!(v("backup_object_last_transferred_bytes", &[]), Some(0.0));
    assert_eq!(v("backup_object_consecutive_failures", &[]), Some(2.0));
    assert_eq!(v("backup_object_protected_bytes", &[]), Some(1000.0));
    assert_eq!(
        v("backup_object_stored_bytes", &[]),
        Some(650.0),
        "storage collector overrides"
    );
    assert_eq!(v("backup_object_restore_points", &[]), Some(7.0));
    // Restore-test evidence (issue 15 point 1): restores have their own facts and leave the
    // backup facts above alone; the interval is exported only where a rule sets one.
    assert_eq!(
        v("backup_object_last_restore_timestamp_seconds", &[]),
        Some((T0 - 4000) as f64)
    );
    assert_eq!(
        v("backup_object_last_restore_result", &[("result", "failed")]),
        Some(1.0)
    );
    assert_eq!(
        v(
            "backup_object_last_restore_result",
            &[("result", "success")]
        ),
        Some(0.0)
    );
    assert_eq!(
        v("backup_object_last_restore_success_timestamp_seconds", &[]),
        Some((T0 - 5000) as f64)
    );
    assert_eq!(
        v("backup_object_restore_test_interval_seconds", &[]),
        Some(7.0 * 86400.0)
    );
    for absent in [
        "backup_object_last_restore_timestamp_seconds",
        "backup_object_last_restore_result",
        "backup_object_last_restore_success_timestamp_seconds",
        "backup_object_restore_test_interval_seconds",
    ] {
        assert_eq!(
            value(&m, absent, &[("object_id", "2")]),
            None,
            "{absent}: no restore and no interval for object 2"
        );
    }
    assert_eq!(
        v("backup_object_latest_restore_point_timestamp_seconds", &[]),
        Some((T0 - 3600) as f64)
    );
    assert_eq!(
        value(
            &m,
            "backup_jobs_window",
            &[
                ("tenant", "Finance"),
                ("kind", "backup"),
                ("result", "failed")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "backup_jobs_running",
            &[("tenant", "HR"), ("kind", "backup")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "backup_warnings",
            &[
                ("tenant", "Finance"),
                ("severity", "critical"),
                ("category", "no_activity")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "backup_audit_last_event_timestamp_seconds",
            &[("action", "delete")]
        ),
        Some((T0 - 60) as f64)
    );
    assert_eq!(
        value(&m, "backup_storage_capacity_bytes", &[("pool", "pool-a")]),
        Some(10_000.0)
    );
    assert_eq!(
        value(&m, "backup_storage_used_bytes", &[("pool", "pool-a")]),
        Some(2_500.0)
    );
    assert_eq!(
        value(&m, "backup_tenant_stored_bytes", &[("tenant", "Finance")]),
        Some(650.0)
    );
    assert_eq!(
        value(&m, "backup_tenant_stored_bytes", &[("tenant", "HR")]),
        Some(600.0)
    );
    assert_eq!(
        value(&m, "backup_exported_objects", &[("target", "t1")]),
        Some(2.0)
    );
    assert_eq!(
        value(&m, "backup_collector_up", &[("collector", "jobs")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "backup_collector_interval_seconds",
            &[("collector", "jobs")]
        ),
        Some(0.2)
    );
    assert_eq!(
        value(
            &m,
            "backup_collector_last_success_timestamp_seconds",
            &[("collector", "storage")]
        ),
        Some(T0 as f64)
    );
    assert!(m.contains("backup_exporter_build_info{version=\""));
    assert_eq!(
        value(
            &m,
            "backup_api_requests_total",
            &[("target", "t1"), ("code", "200")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "backup_api_requests_total",
            &[("target", "t1"), ("code", "404")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&m, "backup_auth_failures_total", &[("target", "t1")]),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "backup_api_request_duration_seconds_count",
            &[("target", "t1")]
        ),
        Some(2.0)
    );
    assert!(m.contains("web \\\"quoted\\\""), "label values are escaped");
    assert_eq!(
        value(
            &m,
            "backup_collector_part_refused",
            &[
                ("target", "t1"),
                ("collector", "inventory"),
                ("part", "rds_instances")
            ]
        ),
        Some(1.0),
        "a refused listing shows, and does not take the collector down"
    );
    let (_, page) = get(&format!("http://{}/", ex.addr)).await;
    assert!(
        page.contains("inventory: ok <span title=\"GET /rds: HTTP 403 Forbidden: not licensed\">(refused by the vendor: rds_instances)</span>"),
        "the status page names the refused part: {page}"
    );
    assert_eq!(
        value(
            &m,
            "backup_collector_up",
            &[("target", "t1"), ("collector", "inventory")]
        ),
        Some(1.0)
    );
    assert!(m.ends_with("# EOF\n"));
    // History present at the first refresh is not counted; its series start at 0 so that
    // `increase()` sees the first new job or event.
    assert_eq!(
        value(
            &m,
            "backup_jobs_total",
            &[("kind", "backup"), ("result", "failed")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(&m, "backup_audit_events_total", &[("action", "delete")]),
        Some(0.0)
    );

    // A job finishes and a new one appears: each counted once, however often it is seen.
    *adapter.jobs.lock().unwrap() = vec![
        job("j1", "1", JobResult::Success, T0 - 7200, 100),
        job("j4", "2", JobResult::Success, T0 - 5, 40),
        job("j5", "1", JobResult::Success, T0 - 1, 60),
        job("j6", "2", JobResult::Running, T0, 0),
        restore("r1", "1", JobResult::Success, T0 - 5000),
        restore("r2", "1", JobResult::Failed, T0 - 4000),
    ];
    adapter.audit.lock().unwrap().push(deletion("a2", T0 - 30));
    let calls = *adapter.calls.lock().unwrap();
    wait_for("two more refreshes", || {
        *adapter.calls.lock().unwrap() >= calls + 2
    })
    .await;
    let m = scrape(&ex).await;
    assert_eq!(
        value(
            &m,
            "backup_jobs_total",
            &[("tenant", "HR"), ("kind", "backup"), ("result", "success")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "backup_jobs_total",
            &[
                ("tenant", "Finance"),
                ("kind", "backup"),
                ("result", "success")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "backup_transferred_bytes_total",
            &[("tenant", "Finance"), ("kind", "backup")]
        ),
        Some(60.0)
    );
    assert_eq!(
        value(&m, "backup_object_consecutive_failures", &obj1),
        Some(0.0)
    );
    assert_eq!(
        value(
            &m,
            "backup_audit_events_total",
            &[("tenant", "Finance"), ("action", "delete")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            "backup_audit_last_event_timestamp_seconds",
            &[("action", "delete")]
        ),
        Some((T0 - 30) as f64)
    );
    assert_eq!(
        value(&m, "backup_object_last_success_timestamp_seconds", &obj1),
        Some((T0 - 1) as f64)
    );

    // Every family we expose is in the metric reference, and every documented one is exposed.
    let documented = documented_metrics();
    let mut exposed = exposed_names(&m);
    exposed.sort();
    for name in &exposed {
        assert!(
            documented.contains(name),
            "{name} is missing from docs/metrics.md"
        );
    }
    for name in &documented {
        assert!(
            exposed.contains(name),
            "docs/metrics.md lists {name}, which the exporter does not expose"
        );
    }

    // A client that does not ask for OpenMetrics (curl) gets the classic text format, with
    // the same samples, and promtool reads it as served: it prints nothing.
    let (status, classic) = get(&format!("http://{}/metrics", ex.addr)).await;
    assert_eq!(status, 200);
    assert!(!classic.contains("# EOF") && !classic.contains("# UNIT"));
    assert!(classic.contains("# TYPE backup_jobs_total counter\n"));
    assert!(classic.contains("# TYPE backup_exporter_build_info gauge\n"));
    let m_now = scrape(&ex).await;
    // A refresh may land between the two scrapes: compare the series of both forms, and the
    // values of those that do not move with every refresh or request.
    let volatile = ["backup_collector_", "backup_api_", "backup_auth_"];
    let stable = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                let key = l.rsplit_once(' ').map_or(l, |(k, _)| k);
                if volatile.iter().any(|p| l.starts_with(p)) {
                    key.to_owned()
                } else {
                    l.to_owned()
                }
            })
            .collect()
    };
    assert_eq!(
        stable(&classic),
        stable(&m_now),
        "both forms carry the same samples"
    );
    if require_tool("promtool") {
        let (code, out) = promtool_check_metrics(&classic);
        assert_eq!((code, out.as_str()), (0, ""), "promtool check metrics");
    }

    // The vendor fails: up goes to 0, the last good data is still served...
    *adapter.failing.lock().unwrap() = true;
    let calls = *adapter.calls.lock().unwrap();
    wait_for("a failed refresh", || {
        *adapter.calls.lock().unwrap() >= calls + 2
    })
    .await;
    let m = scrape(&ex).await;
    assert_eq!(
        value(&m, "backup_target_up", &[("target", "t1")]),
        Some(0.0)
    );
    assert_eq!(
        value(&m, "backup_collector_up", &[("collector", "inventory")]),
        Some(0.0)
    );
    assert_eq!(
        value(&m, "backup_object_protected", &obj1),
        Some(1.0),
        "stale but within max_stale"
    );
    let (_, page) = get(&format!("http://{}/", ex.addr)).await;
    assert!(
        page.contains("vendor says no"),
        "landing page shows the last error"
    );

    // ...until it is older than max_stale (10m), then it is dropped.
    clock.advance(Duration::from_secs(11 * 60));
    let m = scrape(&ex).await;
    assert_eq!(value(&m, "backup_object_protected", &obj1), None);
    assert_eq!(value(&m, "backup_warnings", &[("tenant", "Finance")]), None);
    assert_eq!(
        value(&m, "backup_collector_up", &[("collector", "inventory")]),
        Some(0.0)
    );

    // The vendor recovers: up goes back to 1 and the data returns.
    *adapter.failing.lock().unwrap() = false;
    let calls = *adapter.calls.lock().unwrap();
    wait_for("a good refresh", || {
        *adapter.calls.lock().unwrap() >= calls + 2
    })
    .await;
    let m = scrape(&ex).await;
    assert_eq!(
        value(&m, "backup_target_up", &[("target", "t1")]),
        Some(1.0)
    );
    assert_eq!(value(&m, "backup_object_protected", &obj1), Some(1.0));
    ex.stop().await;
}

#[tokio::test]
async fn metrics_are_gzipped_when_asked_and_healthy_answers() {
    let clock = Clock::manual(Timestamp::from_second(T0).unwrap());
    let ex = Exporter::start_with(
        &settings(),
        vec![Arc::new(Scripted::default()) as Arc<dyn Adapter>],
        ApiMetrics::default(),
        "127.0.0.1:0",
        clock,
        None,
    )
    .await
    .unwrap();
    assert!(ex.wait_ready(Duration::from_secs(10)).await);
    backup_exporter::api::install_crypto_provider();
    let client = reqwest::Client::builder().build().unwrap();
    let r = client
        .get(format!("http://{}/metrics", ex.addr))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(
        r.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8",
        "a client that does not ask for OpenMetrics gets the classic format"
    );
    let r = client
        .get(format!("http://{}/metrics", ex.addr))
        .header("accept-encoding", "gzip")
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    assert_eq!(
        r.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let (status, body) = get(&format!("http://{}/-/healthy", ex.addr)).await;
    assert_eq!((status, body.as_str()), (200, "Healthy\n"));
    ex.stop().await;
}

/// A login that is refused.
struct RefusedLogin;

#[async_trait]
impl Authenticator for RefusedLogin {
    async fn login(&self, c: &ApiClient, _p: Option<&Credential>) -> Result<Credential, ApiError> {
        let r = c.send(Request::post("/no-such-login").without_auth()).await;
        Err(c.login_refused(r.expect_err("404 is an error")))
    }
}

/// Sends one good request and one refused login through the shared client layer, with the
/// exporter's own endpoints standing in for a vendor.
async fn exercise_api_client(ex: &Exporter, api: ApiMetrics) {
    let base = url::Url::parse(&format!("http://{}", ex.addr)).unwrap();
    let client = ApiClient::new(
        ClientSettings::new(Vendor::Cloutility, "t1", base),
        Some(Arc::new(RefusedLogin)),
        api,
        |_| None,
    )
    .unwrap();
    let ok = client
        .send(Request::get("/-/healthy").without_auth())
        .await
        .unwrap();
    assert_eq!(ok.body.as_ref(), b"Healthy\n");
    let err = client.send(Request::get("/metrics")).await.unwrap_err();
    assert!(matches!(err, ApiError::LoginRefused { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("POST /no-such-login: login refused: HTTP 404"),
        "{err}"
    );
}

/// Metric names listed in docs/metrics.md (first backticked word of each table row).
fn documented_metrics() -> Vec<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md"))
        .expect("docs/metrics.md exists");
    let mut names: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with("| `backup_"))
        .filter_map(|l| l.split('`').nth(1))
        .map(|n| n.split('{').next().unwrap_or(n).to_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}
