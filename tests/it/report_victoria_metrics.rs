//! History in a scalable store: `report --source prometheus` against a real VictoriaMetrics
//! (Debian's `victoria-metrics`) on loopback, holding a month of backfilled history
//! (`/api/v1/import/prometheus`) and a live part a real Prometheus sent it through
//! `remote_write` while scraping `serve`. The same Prometheus holds the same month and
//! scraped the same exporter, so both reports read the same data: their compliance and
//! summary files must be equal, byte for byte.
//!
//! Prometheus gets the month from one scrape of the timestamped text (its head block is
//! made long enough to hold it): `promtool tsdb create-blocks-from` writes one block per two
//! hours, 372 for a month, which took 80 s and more of the 60 s budget here. `vmalert` then
//! evaluates the shipped rule file against the VictoriaMetrics server, so the rules are known
//! to be portable to MetricsQL.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backup_exporter::adapter::Adapter;
use backup_exporter::clock::Clock;
use backup_exporter::report::period::Bound;
use backup_exporter::report::progress::Mode;
use backup_exporter::report::prometheus::client::PromClient;
use backup_exporter::report::{Env, ReportArgs, Source, run_with};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::common::require_tool;
use super::dashboards::{load_rules, repo_path};
use super::e2e::stack::{Proc, free_port, http, wait_ready};
use super::report::{args, object, setup};
use super::report_real_prometheus::{Live, World, every_two_hours, openmetrics_every, read, ts};

/// The whole test must finish within this.
const LIMIT: Duration = Duration::from_secs(90);
/// Spacing of the backfilled samples: five minutes keep a month small (about 160,000
/// samples) and still below the 3 h RPO.
const BACKFILL_SCRAPE: i64 = 300;

const MONTH_CONFIG: &str = "compliance: { rpo: 3h }
targets:
  - { name: alpha, vendor: cloutility, url: \"http://127.0.0.1:9/\", client_id: c, origin: \"http://o\", username: u, password_env: NO_SUCH_PASSWORD }
";

const LIVE_CONFIG: &str = "compliance: { rpo: 5s }
defaults: { interval: 1s, lookback: 1h }
targets:
  - { name: live, vendor: cloutility, url: \"http://127.0.0.1:9/\", client_id: c, origin: \"http://o\", username: u, password_env: NO_SUCH_PASSWORD }
";

/// January 2026 and the hours around it, RPO 3 h: web runs every two hours; db misses
/// three runs in a row on 11 January (an 8 h gap) and two on the 25th (a 6 h gap); fresh is
/// first exported on the 20th.
pub(crate) fn month_world() -> World {
    let mut fresh = object("fresh", "fresh-1", "HR", true);
    fresh.created = Some(ts("2026-01-20T12:00:00Z"));
    // 2025-12-31T23:00 + 2 h × 384 = 2026-02-01T23:00, past the data's end.
    let mut jobs = every_two_hours("web", "2025-12-31T23:00:00Z", 384, &[]);
    jobs.extend(every_two_hours(
        "db",
        "2025-12-31T23:00:00Z",
        384,
        &[120, 121, 122, 288, 289],
    ));
    jobs.extend(every_two_hours("fresh", "2026-01-20T13:00:00Z", 144, &[]));
    World {
        objects: vec![
            (
                object("web", "web-1", "Finance", true),
                ts("2025-12-31T18:00:00Z"),
            ),
            (
                object("db", "db-1", "Finance", true),
                ts("2025-12-31T18:00:00Z"),
            ),
            (fresh, ts("2026-01-20T12:00:00Z")),
        ],
        jobs,
    }
}

/// OpenMetrics samples (seconds) as Prometheus exposition text (milliseconds), which
/// VictoriaMetrics' `/api/v1/import/prometheus` takes.
pub(crate) fn exposition_ms(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len() + openmetrics.len() / 20);
    for line in openmetrics.lines().filter(|l| !l.starts_with('#')) {
        let (sample, t) = line.rsplit_once(' ').expect("a timestamped sample");
        let secs: i64 = t.parse().expect("whole seconds");
        out.push_str(&format!("{sample} {}\n", secs * 1000));
    }
    out
}

/// A VictoriaMetrics single-node server on loopback with its own data directory.
pub(crate) struct Victoria {
    pub proc: Proc,
    pub url: String,
}

impl Victoria {
    pub(crate) async fn start(dir: &Path, retention: &str) -> Victoria {
        Victoria::start_with(dir, &[&format!("-retentionPeriod={retention}")]).await
    }

    /// A server with extra `flags` (the retention among them).
    pub(crate) async fn start_with(dir: &Path, flags: &[&str]) -> Victoria {
        let port = free_port();
        let mut args: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        let mut proc = Proc::spawn(
            "victoria-metrics",
            Path::new("victoria-metrics"),
            &[
                format!("-storageDataPath={}", dir.join("vm-data").display()),
                format!("-httpListenAddr=127.0.0.1:{port}"),
                // Answers from just-written data (by default the newest 30 s are hidden)
                // and no response cache (it would keep answers from before a backfill).
                "-search.latencyOffset=0s".to_owned(),
                "-search.disableCache".to_owned(),
                "-loggerLevel=WARN".to_owned(),
            ]
            .into_iter()
            .chain(args.drain(..))
            .collect::<Vec<_>>(),
            dir,
        );
        let url = format!("http://127.0.0.1:{port}");
        wait_ready(
            &http(),
            &format!("{url}/health"),
            &mut proc,
            Duration::from_secs(30),
        )
        .await;
        Victoria { proc, url }
    }

    /// Imports exposition text with timestamps and makes it searchable at once.
    pub(crate) async fn import(&self, text: String) {
        let c = http();
        let r = c
            .post(format!("{}/api/v1/import/prometheus", self.url))
            .body(text)
            .send()
            .await
            .expect("import request");
        let status = r.status();
        assert!(
            status.is_success(),
            "import: {status} {}\n{}",
            r.text().await.unwrap_or_default(),
            self.proc.log_tail()
        );
        let r = c
            .get(format!("{}/internal/force_flush", self.url))
            .send()
            .await
            .expect("flush request");
        assert!(r.status().is_success(), "force_flush: {}", r.status());
    }
}

fn month_args(config: &Path, out: &Path, url: &str) -> ReportArgs {
    let mut a = args(config, out, &[], false);
    a.source = Source::Prometheus;
    a.prometheus_url = Some(url.parse().unwrap());
    a
}

/// The compliance and summary files of a run, by file name, as text.
fn files(paths: &[PathBuf]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = paths
        .iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            // The CSVs; the HTML page and the manifest name their source, so they differ.
            (n.starts_with("compliance-") || n.starts_with("summary-")) && n.ends_with(".csv")
        })
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

async fn wait_for<F, Fut>(what: &str, deadline: Instant, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The time of the newest raw sample of `metric` for `object_id` in `store`, if any.
async fn newest_sample(store: &PromClient, metric: &str, object_id: &str) -> Option<f64> {
    let q = format!("{metric}{{object_id=\"{object_id}\"}}[1m]");
    let r = store.instant(&q, Timestamp::now()).await.ok()?;
    r.iter()
        .filter_map(|s| s.samples.last().map(|(t, _)| *t))
        .max_by(f64::total_cmp)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn victoria_metrics_fed_by_remote_write_gives_the_same_reports_as_prometheus() {
    if !require_tool("victoria-metrics")
        || !require_tool("vmalert")
        || !require_tool("prometheus")
        || !require_tool("promtool")
    {
        return;
    }
    let started = Instant::now();
    let deadline = started + LIMIT;
    let s = setup(MONTH_CONFIG);
    let live_config = s.dir.path().join("live.yml");
    std::fs::write(&live_config, LIVE_CONFIG).unwrap();

    // A month of history, into both stores.
    let w = month_world();
    let data_end = ts("2026-02-01T06:00:00Z");
    let om = openmetrics_every(&w, data_end, BACKFILL_SCRAPE);
    let text = exposition_ms(&om);
    drop(om);
    let vm = Victoria::start(s.dir.path(), "100y").await;
    vm.import(text.clone()).await;
    let backfill = serve_once(text).await;
    eprintln!("[{:.1}s] month imported", started.elapsed().as_secs_f64());

    // The live part: serve (over a live adapter), scraped every second by a Prometheus
    // that holds the backfilled month and remote-writes what it scrapes to VictoriaMetrics.
    let settings = backup_exporter::config::Settings::load(&live_config).unwrap();
    let live = Arc::new(Live {
        t0: std::sync::OnceLock::new(),
        objects: vec![
            object("web", "web-1", "Finance", true),
            object("db", "db-1", "Finance", true),
        ],
        // web every 3 s; db with a 7 s gap (a 2 s breach of the 5 s RPO).
        runs: vec![
            ("web", 1),
            ("web", 4),
            ("web", 7),
            ("web", 10),
            ("db", 1),
            ("db", 8),
            ("db", 10),
        ],
    });
    let exporter = backup_exporter::exporter::Exporter::start_with(
        &settings,
        vec![live.clone() as Arc<dyn Adapter>],
        Default::default(),
        "127.0.0.1:0",
        Clock::system(),
        None,
    )
    .await
    .unwrap();
    let prom_config = s.dir.path().join("prometheus.yml");
    std::fs::write(
        &prom_config,
        serde_json::json!({
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [
                {
                    // The month, once, with its own labels only (as VictoriaMetrics has it).
                    "job_name": "backfill",
                    "scrape_interval": "3s",
                    "scrape_timeout": "3s",
                    "static_configs": [{"targets": [backfill.to_string()]}],
                    "metric_relabel_configs": [{"action": "labeldrop", "regex": "job|instance"}],
                },
                {
                    "job_name": "backup-exporter",
                    "static_configs": [{"targets": [exporter.addr.to_string()]}],
                },
            ],
            "remote_write": [{
                "url": format!("{}/api/v1/write", vm.url),
                "queue_config": {"batch_send_deadline": "1s"},
                // VictoriaMetrics was backfilled directly: only what has a job goes.
                "write_relabel_configs": [{"source_labels": ["job"], "regex": "", "action": "drop"}],
            }],
        })
        .to_string(),
    )
    .unwrap();
    let port = free_port();
    let mut prom_proc = Proc::spawn(
        "prometheus",
        Path::new("prometheus"),
        &[
            format!("--config.file={}", prom_config.display()),
            format!(
                "--storage.tsdb.path={}",
                s.dir.path().join("prom-data").display()
            ),
            "--storage.tsdb.retention.time=100y".to_owned(),
            // One head block for everything: no compaction of the old month during the test.
            "--storage.tsdb.min-block-duration=1000d".to_owned(),
            "--storage.tsdb.max-block-duration=1000d".to_owned(),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ],
        s.dir.path(),
    );
    let prom_url = format!("http://127.0.0.1:{port}");
    wait_ready(
        &http(),
        &format!("{prom_url}/-/ready"),
        &mut prom_proc,
        Duration::from_secs(30),
    )
    .await;
    let prom_client = PromClient::new(prom_url.parse().unwrap(), Duration::from_secs(30)).unwrap();
    let vm_client = PromClient::new(vm.url.parse().unwrap(), Duration::from_secs(30)).unwrap();
    let month_end = Timestamp::from_second(data_end.as_second()).unwrap();
    for (name, store) in [
        ("Prometheus", &prom_client),
        ("VictoriaMetrics", &vm_client),
    ] {
        wait_for(&format!("{name} to hold the month"), deadline, || async {
            store
                .instant("count(last_over_time(backup_object_info[1d]))", month_end)
                .await
                .is_ok_and(|r| r.first().and_then(|s| s.samples.first()).map(|x| x.1) == Some(3.0))
        })
        .await;
        wait_for(
            &format!("{name} to hold the live series"),
            deadline,
            || async {
                newest_sample(store, "backup_object_info", "db")
                    .await
                    .is_some()
            },
        )
        .await;
    }

    eprintln!(
        "[{:.1}s] stores hold month and live series",
        started.elapsed().as_secs_f64()
    );
    // Whole seconds: the report's --from/--to are given to the second.
    let t0 = Timestamp::from_second(Timestamp::now().as_second() + 2).unwrap();
    live.t0.set(t0).unwrap();
    let live_to = t0 + SignedDuration::from_secs(13);
    let until = (t0 + SignedDuration::from_secs(15)).as_second() as f64;
    for (name, store) in [
        ("Prometheus", &prom_client),
        ("VictoriaMetrics", &vm_client),
    ] {
        for id in ["web", "db"] {
            wait_for(
                &format!("{name} to hold {id} up to t0 + 15 s"),
                deadline,
                || async move {
                    newest_sample(store, "backup_object_last_success_timestamp_seconds", id)
                        .await
                        .is_some_and(|t| t >= until)
                },
            )
            .await;
        }
    }
    exporter.stop().await;
    let fed = started.elapsed();

    // The month, from each store.
    let month_env = Env {
        clock: Clock::manual(data_end),
        progress: Mode::Quiet,
        ..Env::default()
    };
    let mut month = Vec::new();
    for (label, url) in [("prometheus", &prom_url), ("vm", &vm.url)] {
        let out = s.dir.path().join(format!("month-{label}"));
        let o = run_with(&month_args(&s.config, &out, url), &month_env)
            .await
            .unwrap_or_else(|e| panic!("month report from {label}: {e}"));
        month.push(files(&o.files));
    }
    let rows = read(&s.dir.path().join("month-vm/compliance-2026-01.csv"));
    assert_eq!(rows["web-1"]["status"], "compliant", "{:?}", rows["web-1"]);
    assert_eq!(
        rows["db-1"]["status"], "non_compliant",
        "{:?}",
        rows["db-1"]
    );
    assert_eq!(rows["db-1"]["max_gap_seconds"], (8 * 3600).to_string());
    assert_eq!(rows["db-1"]["rpo_breach_count"], "2");
    assert_eq!(
        rows["db-1"]["rpo_breach_seconds"],
        ((5 + 3) * 3600).to_string()
    );
    assert_eq!(rows["fresh-1"]["status"], "new", "{:?}", rows["fresh-1"]);
    assert_eq!(month[0].len(), 2, "{:?}", month[0]);
    assert_eq!(month[0], month[1], "month: Prometheus vs VictoriaMetrics");

    eprintln!(
        "[{:.1}s] month reports equal",
        started.elapsed().as_secs_f64()
    );
    // The live part, from each store.
    let live_env = Env {
        progress: Mode::Quiet,
        ..Env::default()
    };
    let mut live_files = Vec::new();
    for (label, url) in [("prometheus", &prom_url), ("vm", &vm.url)] {
        let mut a = month_args(
            &live_config,
            &s.dir.path().join(format!("live-{label}")),
            url,
        );
        a.month = None;
        a.from = Some(Bound::Instant(t0));
        a.to = Some(Bound::Instant(live_to));
        let o = run_with(&a, &live_env)
            .await
            .unwrap_or_else(|e| panic!("live report from {label}: {e}"));
        live_files.push((o.files.clone(), files(&o.files)));
    }
    let compliance = live_files[1]
        .0
        .iter()
        .find(|p| p.to_string_lossy().contains("compliance-"))
        .unwrap();
    let rows = read(compliance);
    assert_eq!(rows["web-1"]["status"], "compliant", "{:?}", rows["web-1"]);
    assert_eq!(
        rows["db-1"]["status"], "non_compliant",
        "{:?}",
        rows["db-1"]
    );
    assert_eq!(rows["db-1"]["max_gap_seconds"], "7");
    assert_eq!(
        live_files[0].1, live_files[1].1,
        "live: Prometheus vs VictoriaMetrics"
    );

    eprintln!(
        "[{:.1}s] live reports equal",
        started.elapsed().as_secs_f64()
    );
    // vmalert evaluates the shipped rules against VictoriaMetrics.
    vmalert_evaluates_every_rule(s.dir.path(), &vm.url, deadline).await;
    eprintln!(
        "fed in {:.1}s, whole test {:.1}s",
        fed.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    drop(prom_proc);
}

/// Serves `body` as `/metrics` to the first request, then 404: Prometheus takes the month in
/// one scrape (a second one would only repeat samples it has).
async fn serve_once(body: String) -> std::net::SocketAddr {
    use axum::routing::get;
    let body = Arc::new(std::sync::Mutex::new(Some(body)));
    let app = axum::Router::new().route(
        "/metrics",
        get(move || {
            let body = body.clone();
            async move {
                match body.lock().unwrap().take() {
                    Some(b) => (axum::http::StatusCode::OK, b),
                    None => (axum::http::StatusCode::NOT_FOUND, String::new()),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// Runs `vmalert` with the shipped rule file against `datasource` until every rule has been
/// evaluated once, and asserts that none failed: the rules parse as MetricsQL and run.
async fn vmalert_evaluates_every_rule(dir: &Path, datasource: &str, deadline: Instant) {
    let rules = load_rules();
    let mut expected: Vec<String> = rules["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            r["alert"]
                .as_str()
                .or(r["record"].as_str())
                .unwrap()
                .to_owned()
        })
        .collect();
    expected.sort();
    let port = free_port();
    let mut proc = Proc::spawn(
        "vmalert",
        Path::new("vmalert"),
        &[
            format!(
                "-rule={}",
                repo_path("alerts/backup-exporter.rules.yml").display()
            ),
            format!("-datasource.url={datasource}"),
            // Nobody listens there: notifications fail, evaluations do not.
            format!("-notifier.url=http://127.0.0.1:{}", free_port()),
            "-evaluationInterval=1s".to_owned(),
            format!("-httpListenAddr=127.0.0.1:{port}"),
        ],
        dir,
    );
    let url = format!("http://127.0.0.1:{port}");
    let client = http();
    wait_ready(
        &client,
        &format!("{url}/health"),
        &mut proc,
        Duration::from_secs(30),
    )
    .await;
    loop {
        if let Some(why) = proc.exited() {
            panic!("{why}");
        }
        let body: Value = match client.get(format!("{url}/api/v1/rules")).send().await {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(_) => Value::Null,
        };
        let evaluated: Vec<Value> = body["data"]["groups"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|g| {
                let mut all = g["alerting_rules"].as_array().cloned().unwrap_or_default();
                all.extend(g["recording_rules"].as_array().cloned().unwrap_or_default());
                all.extend(g["rules"].as_array().cloned().unwrap_or_default());
                all
            })
            .filter(|r| {
                r["lastExec"]
                    .as_str()
                    .or(r["lastEvaluation"].as_str())
                    .is_some_and(|t| !t.starts_with("0001-"))
            })
            .collect();
        let mut names: Vec<String> = evaluated
            .iter()
            .map(|r| r["name"].as_str().unwrap_or("").to_owned())
            .collect();
        names.sort();
        if names.len() == expected.len() {
            assert_eq!(names, expected);
            for r in &evaluated {
                let err = r["lastError"].as_str().unwrap_or("");
                assert!(err.is_empty(), "vmalert: rule {} failed: {err}", r["name"]);
            }
            return;
        }
        assert!(
            Instant::now() < deadline,
            "vmalert evaluated {names:?}, not all of {expected:?}\n{body}\n{}",
            proc.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// A report over the last 30 days, ended an hour ago, from a VictoriaMetrics started with
/// `flags` and holding 40 days of web (a success every two hours, RPO 3 h) at a 5-minute
/// scrape: the one compliance row.
async fn report_from_a_limited_store(flags: &[&str]) -> std::collections::HashMap<String, String> {
    let s = setup(MONTH_CONFIG);
    let now = Timestamp::from_second(Timestamp::now().as_second() / 300 * 300).unwrap();
    let first = now - SignedDuration::from_hours(40 * 24);
    let w = World {
        objects: vec![(object("web", "web-1", "Finance", true), first)],
        jobs: every_two_hours(
            "web",
            &(first + SignedDuration::from_hours(1)).to_string(),
            480,
            &[],
        ),
    };
    let vm = Victoria::start_with(s.dir.path(), flags).await;
    vm.import(exposition_ms(&openmetrics_every(&w, now, BACKFILL_SCRAPE)))
        .await;
    let mut a = month_args(&s.config, &s.dir.path().join("out"), &vm.url);
    a.month = None;
    a.from = Some(Bound::Instant(now - SignedDuration::from_hours(30 * 24)));
    a.to = Some(Bound::Instant(now - SignedDuration::from_hours(1)));
    let env = Env {
        clock: Clock::manual(now),
        progress: Mode::Quiet,
        ..Env::default()
    };
    let o = run_with(&a, &env).await.expect("report");
    let path = o
        .files
        .iter()
        .find(|p| p.to_string_lossy().contains("compliance-"))
        .unwrap();
    read(path).remove("web-1").expect("a row for web-1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retention_shorter_than_the_period_is_no_data_naming_the_store() {
    if !require_tool("victoria-metrics") {
        return;
    }
    // The control: with the whole period kept, web is compliant.
    let row = report_from_a_limited_store(&["-retentionPeriod=100y"]).await;
    assert_eq!(row["status"], "compliant", "{row:?}");
    let row = report_from_a_limited_store(&["-retentionPeriod=20d"]).await;
    assert_eq!(row["status"], "no_data", "{row:?}");
    assert!(
        row["reason"].contains("holds this target's series only from")
            && row["reason"].contains("retention is shorter than the period"),
        "{row:?}"
    );
    assert_eq!(row["rpo_breach_count"], "", "{row:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolution_coarser_than_the_rpo_is_no_data_not_a_breach() {
    if !require_tool("victoria-metrics") {
        return;
    }
    // Deduplication keeps one sample in four hours: a success every two hours shows as one
    // every four, a breach of the 3 h RPO that never happened.
    let row =
        report_from_a_limited_store(&["-retentionPeriod=100y", "-dedup.minScrapeInterval=4h"])
            .await;
    assert_eq!(row["status"], "no_data", "{row:?}");
    assert!(
        row["reason"].contains("keeps one sample every 4h")
            && row["reason"].contains("coarser than the RPO of 3h"),
        "{row:?}"
    );
    assert_eq!(row["max_gap_seconds"], "", "{row:?}");
}
