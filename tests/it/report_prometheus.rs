//! `report --source prometheus` against a fake Prometheus query API (axum on loopback) that
//! answers the report's queries from a known world of step functions, as Prometheus would.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, State};
use axum::routing::post;
use axum::{Json, Router};
use backup_exporter::clock::Clock;
use backup_exporter::model::JobResult;
use backup_exporter::report::progress::Mode;
use backup_exporter::report::{Env, ReportError, Source, run_with};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::report::{args, daily, setup};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// One exported object: labels and the successes `serve` would have reported.
#[derive(Clone)]
struct Exported {
    id: &'static str,
    name: &'static str,
    tenant: &'static str,
    /// From when the exporter had the object (scraped every minute).
    since: Timestamp,
    successes: Vec<Timestamp>,
}

impl Exported {
    fn present(&self, t: f64) -> bool {
        t >= self.since.as_second() as f64
    }
    /// The value of the last-success gauge at `t` (0 when none yet).
    fn value(&self, t: f64) -> f64 {
        self.successes
            .iter()
            .rev()
            .find(|s| (s.as_second() as f64) <= t)
            .map_or(0.0, |s| s.as_second() as f64)
    }
    fn labels(&self) -> Value {
        json!({"target": "alpha", "vendor": "cloutility", "tenant": self.tenant, "object_id": self.id,
               "object": self.name, "object_type": "vm", "policy": "daily", "instance": "x:9987", "job": "backup"})
    }
}

#[derive(Clone, Default)]
struct Fake {
    world: Arc<Vec<Exported>>,
    /// (start, end, step) of every range query.
    ranges: Arc<Mutex<Vec<(f64, f64, f64)>>>,
    queries: Arc<Mutex<Vec<String>>>,
}

fn num(v: &str) -> f64 {
    v.parse().unwrap()
}

fn vector(samples: Vec<(Value, f64, f64)>) -> Json<Value> {
    let result: Vec<Value> = samples
        .into_iter()
        .map(|(m, t, v)| json!({"metric": m, "value": [t, v.to_string()]}))
        .collect();
    Json(json!({"status": "success", "data": {"resultType": "vector", "result": result}}))
}

async fn query(State(f): State<Fake>, Form(p): Form<HashMap<String, String>>) -> Json<Value> {
    let q = p["query"].clone();
    let t = num(&p["time"]);
    f.queries.lock().unwrap().push(q.clone());
    let live: Vec<&Exported> = f.world.iter().filter(|o| o.present(t)).collect();
    if !q.starts_with("last_over_time(") && q.ends_with("s]") {
        // Raw samples of one series, to measure the sample spacing.
        assert!(q.contains(r#"{target="alpha",object_id=""#), "{q}");
        let values: Vec<Value> = (0..10)
            .map(|i| json!([t - 60.0 * i as f64, "1"]))
            .rev()
            .collect();
        return Json(json!({"status": "success", "data": {"resultType": "matrix",
            "result": [{"metric": live[0].labels(), "values": values}]}}));
    }
    assert!(q.contains(r#"{target=~"alpha"#), "{q}");
    let metric = q
        .trim_start_matches("last_over_time(")
        .split('{')
        .next()
        .unwrap()
        .to_owned();
    if metric.starts_with("backup_object_last_restore") {
        // This estate lists no restores.
        return vector(Vec::new());
    }
    let samples = live
        .iter()
        .map(|o| {
            let v = match metric.as_str() {
                "backup_object_info" | "backup_object_protected" => 1.0,
                "backup_object_rpo_seconds" => 86_400.0,
                "backup_object_stored_bytes" => 2048.0,
                "backup_object_consecutive_failures" => 0.0,
                "backup_object_last_success_timestamp_seconds"
                | "backup_object_last_attempt_timestamp_seconds" => o.value(t),
                "backup_object_last_result" => {
                    let mut l = o.labels();
                    l["result"] = json!("success");
                    return (l, t, 1.0);
                }
                other => panic!("unexpected query {other}: {q}"),
            };
            (o.labels(), t, v)
        })
        .collect();
    vector(samples)
}

/// Answers the changes query: a point wherever the value differs from one step before, or
/// the series appeared.
async fn query_range(State(f): State<Fake>, Form(p): Form<HashMap<String, String>>) -> Json<Value> {
    let q = &p["query"];
    assert!(q.contains("offset 60s"), "{q}");
    let (start, end, step) = (num(&p["start"]), num(&p["end"]), num(&p["step"]));
    f.ranges.lock().unwrap().push((start, end, step));
    let mut result = Vec::new();
    for o in f.world.iter() {
        let mut values = Vec::new();
        let mut t = start;
        while t <= end {
            let appeared = o.present(t) && !o.present(t - step);
            if o.present(t) && (appeared || o.value(t) != o.value(t - step)) {
                values.push(json!([t, o.value(t).to_string()]));
            }
            t += step;
        }
        if !values.is_empty() {
            result.push(json!({"metric": o.labels(), "values": values}));
        }
    }
    Json(json!({"status": "success", "data": {"resultType": "matrix", "result": result}}))
}

fn success_times(jobs: &[backup_exporter::model::Job]) -> Vec<Timestamp> {
    jobs.iter()
        .filter(|j| j.result == JobResult::Success)
        .filter_map(|j| j.end)
        .collect()
}

fn world() -> Vec<Exported> {
    let new_runs: Vec<Timestamp> = (0..15)
        .map(|d| ts("2026-01-21T03:00:00Z") + SignedDuration::from_hours(24 * d))
        .collect();
    vec![
        Exported {
            id: "web",
            name: "web-1",
            tenant: "Finance",
            since: ts("2025-12-01T00:00:00Z"),
            successes: success_times(&daily("web", &[])),
        },
        Exported {
            id: "db",
            name: "db-1",
            tenant: "Finance",
            since: ts("2025-12-01T00:00:00Z"),
            successes: success_times(&daily("db", &[10, 11, 12])),
        },
        Exported {
            id: "fresh",
            name: "fresh-1",
            tenant: "Finance",
            since: ts("2026-01-20T10:00:00Z"),
            successes: new_runs,
        },
    ]
}

async fn serve(fake: Fake) -> url::Url {
    let app = Router::new()
        .route("/prom/api/v1/query", post(query))
        .route("/prom/api/v1/query_range", post(query_range))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/prom/").parse().unwrap()
}

const CONFIG: &str = "compliance: { rpo: 24h }
targets:
  - { name: alpha, vendor: cloutility, url: \"http://127.0.0.1:9/\", client_id: c, origin: \"http://o\", username: u, password_env: NO_SUCH_PASSWORD }
  - { name: beta, vendor: cloutility, url: \"http://127.0.0.1:9/\", client_id: c, origin: \"http://o\", username: u, password_env: NO_SUCH_PASSWORD }
";

fn env() -> Env {
    Env {
        clock: Clock::manual(ts("2026-02-10T08:00:00Z")),
        progress: Mode::Quiet,
        build: Arc::new(|_, _| Err("the prometheus source builds no adapter".into())),
        ..Env::default()
    }
}

fn read(path: &std::path::Path) -> HashMap<String, HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            let row: HashMap<String, String> = h
                .iter()
                .zip(rec.iter())
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect();
            (row["object"].clone(), row)
        })
        .collect()
}

#[tokio::test]
async fn success_times_are_rebuilt_from_the_distinct_values_of_the_gauge() {
    let fake = Fake {
        world: Arc::new(world()),
        ..Default::default()
    };
    let url = serve(fake.clone()).await;
    let s = setup(CONFIG);
    let out = s.dir.path().join("prom");
    let mut a = args(&s.config, &out, &["alpha"], false);
    a.source = Source::Prometheus;
    a.prometheus_url = Some(url);
    let outcome = run_with(&a, &env()).await.unwrap();
    let names: Vec<String> = outcome
        .files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "compliance-2026-01.csv",
            "summary-2026-01.csv",
            "summary-2026-01.html",
            "manifest-2026-01.json"
        ],
        "no jobs or audit files from Prometheus"
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest-2026-01.json")).unwrap()).unwrap();
    let source = manifest["source"].as_str().unwrap();
    assert!(source.starts_with("http://127.0.0.1:"), "{source}");
    assert_eq!(manifest["targets"][0]["jobs"], serde_json::Value::Null);

    let rows = read(&out.join("compliance-2026-01.csv"));
    let web = &rows["web-1"];
    assert_eq!(web["status"], "compliant");
    assert_eq!(web["max_gap_seconds"], "86400");
    assert_eq!(web["last_success"], "2026-01-31T02:00:00Z");
    assert_eq!(web["last_result"], "success");
    assert_eq!(web["rpo_seconds"], "86400");
    assert_eq!(web["stored_bytes"], "2048");
    for col in [
        "jobs_total",
        "jobs_failed",
        "success_ratio",
        "transferred_bytes",
    ] {
        assert_eq!(web[col], "", "{col} is unknown to Prometheus");
    }
    let db = &rows["db-1"];
    assert_eq!(db["status"], "non_compliant");
    assert_eq!(db["max_gap_seconds"], (4 * 86_400).to_string());
    assert_eq!(db["rpo_breach_seconds"], (3 * 86_400).to_string());
    // First seen on January 20 while its target was already exported: created then.
    let fresh = &rows["fresh-1"];
    assert_eq!(fresh["status"], "new", "{fresh:?}");
    assert!(
        fresh["reason"].contains("2026-01-20T10:00:00Z"),
        "{fresh:?}"
    );

    // The month at a 60 s step is 44,641 points: five pieces of at most 10,000 steps.
    let ranges = fake.ranges.lock().unwrap().clone();
    assert_eq!(ranges.len(), 5, "{ranges:?}");
    assert!(
        ranges
            .iter()
            .all(|(s, e, st)| (e - s) / st <= 10_000.0 && *st == 60.0)
    );
    assert_eq!(ranges[0].0, ts("2026-01-01T00:00:00Z").as_second() as f64);
    assert_eq!(ranges[4].1, ts("2026-02-01T00:00:00Z").as_second() as f64);

    let summary = read_summary(&out.join("summary-2026-01.csv"));
    assert_eq!(summary["jobs_total"], "");
    assert_eq!(summary["compliance_ratio"], "0.5000");
}

fn read_summary(path: &std::path::Path) -> HashMap<String, String> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let h = r.headers().unwrap().clone();
    let rec = r.records().next().unwrap().unwrap();
    h.iter()
        .zip(rec.iter())
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect()
}

#[tokio::test]
async fn api_and_prometheus_agree_on_what_both_know() {
    // The api source over the same history (a fake adapter in report.rs' world).
    let fake = Fake {
        world: Arc::new(world()),
        ..Default::default()
    };
    let url = serve(fake).await;
    let s = setup(CONFIG);
    let mut a = args(&s.config, &s.dir.path().join("p"), &["alpha"], false);
    a.source = Source::Prometheus;
    a.prometheus_url = Some(url);
    run_with(&a, &env()).await.unwrap();
    let prom = read(&s.dir.path().join("p/compliance-2026-01.csv"));

    let api_env = super::report::alpha_env(ts("2026-02-10T08:00:00Z"));
    let b = args(&s.config, &s.dir.path().join("a"), &["alpha"], false);
    run_with(&b, &api_env).await.unwrap();
    let api = read(&s.dir.path().join("a/compliance-2026-01.csv"));
    for name in ["web-1", "db-1"] {
        for col in [
            "status",
            "last_success",
            "max_gap_seconds",
            "rpo_breach_count",
            "rpo_breach_seconds",
        ] {
            assert_eq!(api[name][col], prom[name][col], "{name} {col}");
        }
    }
}

#[tokio::test]
async fn a_target_missing_from_prometheus_fails_or_is_no_data() {
    let fake = Fake {
        world: Arc::new(world()),
        ..Default::default()
    };
    let url = serve(fake).await;
    let s = setup(CONFIG);
    let out = s.dir.path().join("x");
    let mut a = args(&s.config, &out, &[], false);
    a.source = Source::Prometheus;
    a.prometheus_url = Some(url);
    let e = run_with(&a, &env()).await.unwrap_err();
    assert_eq!(e.exit_code(), 1);
    assert!(
        e.to_string()
            .contains("target \"beta\" (cloutility): Prometheus at"),
        "{e}"
    );
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());

    a.keep_going = true;
    let e = run_with(&a, &env()).await.unwrap_err();
    let ReportError::Incomplete(outcome) = e else {
        panic!("expected an incomplete report");
    };
    assert_eq!(outcome.objects, 4);
    let rows = read(&out.join("compliance-2026-01.csv"));
    assert_eq!(rows[""]["target"], "beta");
    assert_eq!(rows[""]["status"], "no_data");
    assert_eq!(rows["web-1"]["status"], "compliant");
}

#[tokio::test]
async fn an_unreachable_prometheus_is_a_runtime_failure_naming_the_endpoint() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = setup(CONFIG);
    let mut a = args(&s.config, &s.dir.path().join("y"), &["alpha"], false);
    a.source = Source::Prometheus;
    a.prometheus_url = Some(format!("http://127.0.0.1:{port}").parse().unwrap());
    let e = run_with(&a, &env()).await.unwrap_err();
    assert_eq!(e.exit_code(), 1);
    let msg = e.to_string();
    assert!(
        msg.contains("Prometheus POST /api/v1/query: no response"),
        "{msg}"
    );
}

/// Issue 13 point 5: a Prometheus (or something in its place) answering an endless body
/// ends the query at the client's cap with a clear error naming the endpoint, instead of
/// growing the report until memory runs out.
#[tokio::test]
async fn an_endless_answer_stops_at_the_body_cap() {
    use backup_exporter::report::prometheus::client::{MAX_BODY_BYTES, PromClient};
    let served = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let count = served.clone();
    let app = axum::Router::new().fallback(move || {
        let count = count.clone();
        async move {
            let chunk = bytes::Bytes::from(vec![b' '; 64 << 10]);
            let endless = futures::StreamExt::map(futures::stream::repeat(chunk), move |c| {
                count.fetch_add(c.len() as u64, std::sync::atomic::Ordering::Relaxed);
                Ok::<_, std::convert::Infallible>(c)
            });
            axum::body::Body::from_stream(endless)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = PromClient::new(
        format!("http://{addr}").parse().unwrap(),
        std::time::Duration::from_secs(30),
    )
    .unwrap()
    .with_max_body(1 << 20);
    let e = client
        .instant("up", "2026-11-20T00:00:00Z".parse().unwrap())
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "Prometheus POST /api/v1/query: response body over the 1 MiB limit; reading stopped there"
    );
    // The server was not read to exhaustion: at most the cap plus what sits in buffers.
    let sent = served.load(std::sync::atomic::Ordering::Relaxed);
    assert!(sent < 64 << 20, "{sent} bytes went out");
    assert_eq!(MAX_BODY_BYTES, 256 << 20);
}
