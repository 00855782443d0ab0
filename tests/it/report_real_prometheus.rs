//! `report --source prometheus` against a real Prometheus (Debian's package) on loopback,
//! loaded with metrics as `serve` exports them (backfilled with `promtool`, since a month
//! cannot be scraped in a test), and compared with `--source api` over the same history.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use backup_exporter::adapter::{Adapter, History};
use backup_exporter::clock::Clock;
use backup_exporter::model::{Job, JobKind, JobResult, Object};
use backup_exporter::report::progress::Mode;
use backup_exporter::report::{Env, Source, run_with};
use jiff::{SignedDuration, Timestamp};

use super::common::require_tool;
use super::report::{FakeAdapter, args, object, run_job, setup};

pub(crate) fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// Scrape interval of the backfilled data.
const SCRAPE: i64 = 60;

pub(crate) struct World {
    pub objects: Vec<(Object, Timestamp)>,
    pub jobs: Vec<Job>,
}

/// `count` runs of `id` every two hours from `first`; runs at the indexes in `fail` fail.
pub(crate) fn every_two_hours(id: &str, first: &str, count: usize, fail: &[usize]) -> Vec<Job> {
    (0..count)
        .map(|n| {
            let end = ts(first) + SignedDuration::from_hours(2 * n as i64);
            let r = if fail.contains(&n) {
                JobResult::Failed
            } else {
                JobResult::Success
            };
            run_job(id, n, end, r)
        })
        .collect()
}

/// A day with an RPO of 3 h (promtool writes one TSDB block per two hours, so the data
/// stays short): web runs every two hours; db misses three runs in a row (an 8 h gap);
/// fresh is first exported at 14:00 and runs from 15:00.
fn world() -> World {
    let mut fresh = object("fresh", "fresh-1", "Finance", true);
    fresh.created = Some(ts("2026-01-01T14:00:00Z"));
    let mut jobs = every_two_hours("web", "2025-12-31T23:00:00Z", 16, &[]);
    jobs.extend(every_two_hours(
        "db",
        "2025-12-31T23:00:00Z",
        16,
        &[4, 5, 6],
    ));
    jobs.extend(every_two_hours("fresh", "2026-01-01T15:00:00Z", 8, &[]));
    // Restores of db: one before the period, a successful and a failed one in it.
    for (n, end, result) in [
        (100, "2025-12-31T22:30:00Z", JobResult::Success),
        (101, "2026-01-01T10:30:00Z", JobResult::Success),
        (102, "2026-01-01T20:30:00Z", JobResult::Failed),
    ] {
        let mut j = run_job("db", n, ts(end), result);
        j.kind = JobKind::Restore;
        jobs.push(j);
    }
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
            (fresh, ts("2026-01-01T14:00:00Z")),
        ],
        jobs,
    }
}

/// The per-object gauges as `serve` exports them, every `SCRAPE` seconds up to `until`.
fn openmetrics(w: &World, until: Timestamp) -> String {
    openmetrics_every(w, until, SCRAPE)
}

/// As [`openmetrics`], one sample every `scrape` seconds.
pub(crate) fn openmetrics_every(w: &World, until: Timestamp, scrape: i64) -> String {
    let mut out = String::new();
    let families = [
        "backup_object_info",
        "backup_object_protected",
        "backup_object_rpo_seconds",
        "backup_object_last_success_timestamp_seconds",
        "backup_object_last_attempt_timestamp_seconds",
        "backup_object_last_result",
        "backup_object_last_restore_timestamp_seconds",
        "backup_object_last_restore_result",
        "backup_object_last_restore_success_timestamp_seconds",
    ];
    for family in families {
        out.push_str(&format!("# TYPE {family} gauge\n"));
        for (o, since) in &w.objects {
            let mut labels = format!(
                "target=\"alpha\",vendor=\"cloutility\",tenant=\"{}\",object_id=\"{}\",object=\"{}\"",
                o.tenant, o.id, o.name
            );
            if family == "backup_object_info" {
                labels.push_str(",object_type=\"vm\",policy=\"daily\"");
            }
            if family == "backup_object_last_result" {
                // The newest attempt of every object here succeeded.
                labels.push_str(",result=\"success\"");
            }
            let own: Vec<&Job> = w.jobs.iter().filter(|j| j.object_id == o.id).collect();
            let mut t = since.as_second();
            while t <= until.as_second() {
                // The newest job of `kind` ended by `t` (successful only, with `ok`).
                let newest = |kind: JobKind, ok: bool| {
                    own.iter()
                        .filter(|j| j.kind == kind && (!ok || j.result == JobResult::Success))
                        .filter_map(|j| j.end.map(|e| (e.as_second(), j.result)))
                        .filter(|(e, _)| *e <= t)
                        .max_by_key(|(e, _)| *e)
                };
                let time = |kind, ok| newest(kind, ok).map_or(0, |(e, _)| e);
                let restore = newest(JobKind::Restore, false);
                // As `serve` does: restore families only once the object has a restore.
                let samples: Vec<(String, i64)> = match family {
                    "backup_object_rpo_seconds" => vec![(labels.clone(), 3 * 3600)],
                    "backup_object_last_success_timestamp_seconds" => {
                        vec![(labels.clone(), time(JobKind::Backup, true))]
                    }
                    "backup_object_last_attempt_timestamp_seconds" => {
                        vec![(labels.clone(), time(JobKind::Backup, false))]
                    }
                    "backup_object_last_restore_timestamp_seconds" => restore
                        .map(|(e, _)| (labels.clone(), e))
                        .into_iter()
                        .collect(),
                    "backup_object_last_restore_result" => restore
                        .map(|(_, r)| {
                            [JobResult::Success, JobResult::Failed]
                                .into_iter()
                                .map(|x| {
                                    let l = format!("{labels},result=\"{}\"", x.as_str());
                                    (l, i64::from(x == r))
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                    "backup_object_last_restore_success_timestamp_seconds" => {
                        newest(JobKind::Restore, true)
                            .map(|(e, _)| (labels.clone(), e))
                            .into_iter()
                            .collect()
                    }
                    _ => vec![(labels.clone(), 1)],
                };
                for (l, v) in samples {
                    out.push_str(&format!("{family}{{{l}}} {v} {t}\n"));
                }
                t += scrape;
            }
        }
    }
    out.push_str("# EOF\n");
    out
}

/// A Prometheus server on loopback, stopped when dropped.
struct Prometheus {
    child: Child,
    url: String,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_prometheus(dir: &Path, data: &str) -> Prometheus {
    let om = dir.join("data.om");
    std::fs::write(&om, data).unwrap();
    let tsdb = dir.join("tsdb");
    let out = Command::new("promtool")
        .args(["tsdb", "create-blocks-from", "openmetrics", "--quiet"])
        .arg(&om)
        .arg(&tsdb)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = dir.join("prometheus.yml");
    std::fs::write(&config, "global:\n  scrape_interval: 1m\n").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", tsdb.display()))
        .arg("--storage.tsdb.retention.time=100y")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus starts");
    let p = Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ready = ready(port);
        if ready {
            return p;
        }
        assert!(Instant::now() < deadline, "prometheus did not become ready");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `GET /-/ready` answers 200 (a raw request: the test needs no HTTP client for this).
fn ready(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
    if c.write_all(b"GET /-/ready HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    c.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}

pub(crate) fn read(path: &Path) -> HashMap<String, HashMap<String, String>> {
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

const CONFIG: &str = "compliance: { rpo: 3h }
targets:
  - { name: alpha, vendor: cloutility, url: \"http://127.0.0.1:9/\", client_id: c, origin: \"http://o\", username: u, password_env: NO_SUCH_PASSWORD }
";

#[tokio::test]
async fn a_real_prometheus_gives_the_same_compliance_as_the_vendor_history() {
    if !require_tool("prometheus") || !require_tool("promtool") {
        return;
    }
    let w = world();
    let now = ts("2026-01-02T06:00:00Z");
    let s = setup(CONFIG);
    let prom = start_prometheus(s.dir.path(), &openmetrics(&w, now));

    let period = |a: &mut backup_exporter::report::ReportArgs| {
        a.month = None;
        a.from = Some("2026-01-01".parse().unwrap());
        a.to = Some("2026-01-01".parse().unwrap());
    };
    let mut a = args(&s.config, &s.dir.path().join("p"), &[], false);
    period(&mut a);
    a.source = Source::Prometheus;
    a.prometheus_url = Some(prom.url.parse().unwrap());
    let env = Env {
        clock: Clock::manual(now),
        progress: Mode::Quiet,
        ..Env::default()
    };
    run_with(&a, &env).await.unwrap();
    let p = read(&s.dir.path().join("p/compliance-2026-01-01_2026-01-01.csv"));

    let history = History {
        objects: w.objects.iter().map(|(o, _)| o.clone()).collect(),
        jobs: w.jobs.clone(),
        audit: Vec::new(),
        skipped: Vec::new(),
    };
    let adapter: Arc<dyn Adapter> = Arc::new(FakeAdapter {
        history: Some(history),
        inventory: Vec::new(),
    });
    let api_env = Env {
        build: Arc::new(move |_, _| Ok(adapter.clone())),
        ..env.clone()
    };
    let mut b = args(&s.config, &s.dir.path().join("a"), &[], false);
    period(&mut b);
    run_with(&b, &api_env).await.unwrap();
    let api = read(&s.dir.path().join("a/compliance-2026-01-01_2026-01-01.csv"));

    assert_eq!(p["db-1"]["status"], "non_compliant");
    assert_eq!(p["db-1"]["max_gap_seconds"], (8 * 3600).to_string());
    assert_eq!(p["db-1"]["rpo_breach_seconds"], (5 * 3600).to_string());
    assert_eq!(p["web-1"]["status"], "compliant");
    assert_eq!(p["fresh-1"]["status"], "new", "{:?}", p["fresh-1"]);
    for name in ["web-1", "db-1", "fresh-1"] {
        for col in [
            "status",
            "last_success",
            "last_attempt",
            "max_gap_seconds",
            "rpo_breach_count",
            "rpo_breach_seconds",
            "rpo_seconds",
            "last_result",
            "last_restore",
            "last_restore_result",
            "restores_in_period",
        ] {
            assert_eq!(api[name][col], p[name][col], "{name} {col}");
        }
    }
    // Restore evidence comes through Prometheus too (it was left empty before).
    assert_eq!(p["db-1"]["last_restore"], "2026-01-01T20:30:00Z");
    assert_eq!(p["db-1"]["last_restore_result"], "failed");
    assert_eq!(p["db-1"]["restores_in_period"], "2");
    assert_eq!(p["web-1"]["last_restore"], "", "web had no restore");
    assert_eq!(
        p["web-1"]["restores_in_period"], "0",
        "the target lists restores"
    );
}

/// Successes of a live target at fixed offsets (seconds) from `t0`, visible once they end.
pub(crate) struct Live {
    /// Set once Prometheus is scraping, so that the period starts with data.
    pub t0: std::sync::OnceLock<Timestamp>,
    pub objects: Vec<Object>,
    pub runs: Vec<(&'static str, i64)>,
}

impl Live {
    fn jobs(&self, until: Timestamp) -> Vec<Job> {
        let Some(t0) = self.t0.get().copied() else {
            return Vec::new();
        };
        self.runs
            .iter()
            .enumerate()
            .map(|(n, (id, off))| {
                run_job(
                    id,
                    n,
                    t0 + SignedDuration::from_secs(*off),
                    JobResult::Success,
                )
            })
            .filter(|j| j.end.is_some_and(|e| e <= until))
            .collect()
    }
}

#[async_trait::async_trait]
impl Adapter for Live {
    async fn collect(
        &self,
        window: backup_exporter::adapter::Window,
    ) -> backup_exporter::adapter::Collection {
        let mut c = backup_exporter::adapter::Collection::failed(|| {
            backup_exporter::adapter::VendorError::Invalid("not served".into())
        });
        c.inventory = Ok(self.objects.clone());
        let _ = window;
        c.jobs = Ok(self.jobs(Timestamp::now()));
        c.warnings = Ok(Vec::new());
        c.audit = Ok(Vec::new());
        c.storage = Ok(Default::default());
        c
    }
    async fn probe(&self) -> Result<String, backup_exporter::adapter::VendorError> {
        Ok("live".into())
    }
    async fn history(
        &self,
        period: backup_exporter::adapter::Period,
        _lookback: std::time::Duration,
    ) -> Result<History, backup_exporter::adapter::VendorError> {
        Ok(History {
            objects: self.objects.clone(),
            jobs: self.jobs(period.to),
            audit: Vec::new(),
            skipped: Vec::new(),
        })
    }
}

/// The whole chain as deployed: `serve` (the real exporter, over a live adapter) scraped
/// every second by a real Prometheus; then the report from Prometheus agrees with the one
/// from the adapter's history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prometheus_that_scraped_serve_gives_the_same_compliance_as_the_history() {
    if !require_tool("prometheus") {
        return;
    }
    let s = setup(
        "compliance: { rpo: 5s }
defaults: { interval: 1s, lookback: 1h }
targets:
  - { name: alpha, vendor: cloutility, url: \"http://127.0.0.1:9/\", client_id: c, origin: \"http://o\", username: u, password_env: NO_SUCH_PASSWORD }
",
    );
    let settings = backup_exporter::config::Settings::load(&s.config).unwrap();
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

    let config = s.dir.path().join("scrape.yml");
    std::fs::write(
        &config,
        format!(
            "global: {{ scrape_interval: 1s }}\nscrape_configs:\n  - job_name: backup\n    static_configs: [{{ targets: [\"{}\"] }}]\n",
            exporter.addr
        ),
    )
    .unwrap();
    let tsdb = s.dir.path().join("live-tsdb");
    let prom = tokio::task::block_in_place(|| spawn_prometheus(&config, &tsdb));
    // The period starts once Prometheus holds the exporter's series.
    let client = backup_exporter::report::prometheus::client::PromClient::new(
        prom.url.parse().unwrap(),
        Duration::from_secs(5),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while client
        .instant("count(backup_object_info)", Timestamp::now())
        .await
        .map(|r| r.is_empty())
        .unwrap_or(true)
    {
        assert!(
            Instant::now() < deadline,
            "Prometheus never scraped the exporter"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // Whole seconds: the report's --from/--to are given to the second.
    let t0 = Timestamp::from_second(Timestamp::now().as_second() + 2).unwrap();
    live.t0.set(t0).unwrap();

    let until = t0 + SignedDuration::from_secs(15);
    while Timestamp::now() < until {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let period = |a: &mut backup_exporter::report::ReportArgs| {
        a.month = None;
        a.from = Some(backup_exporter::report::period::Bound::Instant(t0));
        a.to = Some(backup_exporter::report::period::Bound::Instant(
            t0 + SignedDuration::from_secs(13),
        ));
    };
    let env = Env {
        progress: Mode::Quiet,
        ..Env::default()
    };
    let mut a = args(&s.config, &s.dir.path().join("p"), &[], false);
    period(&mut a);
    a.source = Source::Prometheus;
    a.prometheus_url = Some(prom.url.parse().unwrap());
    let from_prom = run_with(&a, &env).await.unwrap();
    let name = from_prom.files[0].clone();
    let p = read(&name);

    let adapter: Arc<dyn Adapter> = live.clone();
    let api_env = Env {
        build: Arc::new(move |_, _| Ok(adapter.clone())),
        ..env.clone()
    };
    let mut b = args(&s.config, &s.dir.path().join("a"), &[], false);
    period(&mut b);
    let from_api = run_with(&b, &api_env).await.unwrap();
    let api = read(&from_api.files[0]);
    exporter.stop().await;

    assert_eq!(p["web-1"]["status"], "compliant", "{:?}", p["web-1"]);
    assert_eq!(p["db-1"]["status"], "non_compliant", "{:?}", p["db-1"]);
    assert_eq!(p["db-1"]["max_gap_seconds"], "7");
    for obj in ["web-1", "db-1"] {
        for col in [
            "status",
            "last_success",
            "max_gap_seconds",
            "rpo_breach_count",
            "rpo_breach_seconds",
            "rpo_seconds",
            "tenant",
            "policy",
        ] {
            assert_eq!(api[obj][col], p[obj][col], "{obj} {col}");
        }
    }
}

fn spawn_prometheus(config: &Path, tsdb: &Path) -> Prometheus {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", tsdb.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus starts");
    let p = Prometheus {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready(port) {
        assert!(Instant::now() < deadline, "prometheus did not become ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    p
}
