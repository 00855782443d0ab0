//! Scale benchmark (issue 12): the whole exporter — refresh loops, rendering, HTTP server —
//! with five targets of 10,000 objects each (two days of jobs per object), fed by a synthetic
//! in-memory adapter because the vendor simulators cannot serve that many objects yet.
//!
//! Prints: first refresh wall and CPU, peak RSS, `/metrics` scrape p50/p99 plain and gzip,
//! text and gzip bytes, and the bytes each per-object family costs.
//!
//! `cargo bench --bench scale` runs it full size (`-- --objects N --targets T` to change);
//! under `cargo test` it runs once, small, as a smoke test that asserts the figures are sane.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use backup_exporter::adapter::{Adapter, Collection, VendorError, Window};
use backup_exporter::api::ApiMetrics;
use backup_exporter::clock::Clock;
use backup_exporter::config::Settings;
use backup_exporter::exporter::Exporter;
use backup_exporter::model::*;
use jiff::Timestamp;

/// A vendor answering from memory: `objects` objects with `jobs` jobs each in the window.
struct Synthetic {
    target: usize,
    objects: usize,
    jobs: usize,
}

#[async_trait]
impl Adapter for Synthetic {
    async fn collect(&self, w: Window) -> Collection {
        collection(self.target, self.objects, self.jobs, w.now.as_second())
    }
    async fn probe(&self) -> Result<String, VendorError> {
        Ok("synthetic".into())
    }
}

fn collection(target: usize, objects: usize, jobs_per_object: usize, now: i64) -> Collection {
    let mut objs = Vec::with_capacity(objects);
    let mut jobs = Vec::with_capacity(objects * jobs_per_object);
    for i in 0..objects {
        let id = format!("{target}-{i}");
        objs.push(Object {
            id: id.clone(),
            name: format!("node-{i:05}.t{target}.example.com"),
            object_type: "node".into(),
            tenant: format!("tenant-{}", i % 40),
            policy: "DAILY_INCR".into(),
            protected: true,
            protected_bytes: Some(3 << 30),
            stored_bytes: Some(1 << 30),
            restore_points: Some(30),
            latest_restore_point: Timestamp::from_second(now - 3600).ok(),
            ..Default::default()
        });
        for n in 0..jobs_per_object {
            let end = now - 1800 - (n as i64) * 172_000 / jobs_per_object.max(1) as i64;
            jobs.push(Job {
                id: format!("{id}-{n}"),
                object_id: id.clone(),
                kind: JobKind::Backup,
                result: if (i + n) % 7 == 0 {
                    JobResult::Failed
                } else {
                    JobResult::Success
                },
                vendor_status: "Completed".into(),
                start: Timestamp::from_second(end - 600).ok(),
                end: Timestamp::from_second(end).ok(),
                duration: None,
                transferred_bytes: Some(1 << 20),
                error_code: None,
                error_message: None,
            });
        }
    }
    Collection {
        inventory: Ok(objs),
        jobs: Ok(jobs),
        warnings: Ok(vec![]),
        audit: Ok(vec![]),
        storage: Ok(Storage::default()),
        skipped: Vec::new(),
    }
}

/// `VmHWM` (peak resident set) of this process, in KiB.
fn peak_rss_kib() -> u64 {
    proc_status("VmHWM:")
}

fn rss_kib() -> u64 {
    proc_status("VmRSS:")
}

fn proc_status(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time (user + system) this process has used.
fn cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses): utime is the 14th field.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<u64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    let ticks = f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0);
    Duration::from_millis(ticks * 10) // USER_HZ is 100 on Linux
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn arg(name: &str) -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1)?.parse().ok())
}

struct Scrapes {
    p50: Duration,
    p99: Duration,
    bytes: usize,
}

async fn scrape(client: &reqwest::Client, url: &str, gzip: bool, rounds: usize) -> Scrapes {
    let mut times = Vec::with_capacity(rounds);
    let mut bytes = 0;
    for _ in 0..rounds {
        let mut req = client.get(url).header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        );
        if gzip {
            req = req.header("accept-encoding", "gzip");
        }
        let t = Instant::now();
        let r = req.send().await.expect("scrape");
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.headers().get("content-encoding").is_some(),
            gzip,
            "gzip only when asked"
        );
        // Counted as it arrives, not held: the client must not inflate the server's RSS,
        // which this process measures.
        let mut r = r;
        let mut n = 0;
        while let Some(chunk) = r.chunk().await.expect("body") {
            n += chunk.len();
        }
        times.push(t.elapsed());
        bytes = n;
    }
    times.sort();
    Scrapes {
        p50: percentile(&times, 0.5),
        p99: percentile(&times, 0.99),
        bytes,
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let objects = arg("--objects").unwrap_or(if full { 10_000 } else { 200 });
    let targets = arg("--targets").unwrap_or(if full { 5 } else { 2 });
    let jobs = arg("--jobs").unwrap_or(2);
    let rounds = arg("--scrapes").unwrap_or(if full { 20 } else { 2 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(run(objects, targets, jobs, rounds, full));
}

async fn run(objects: usize, targets: usize, jobs: usize, rounds: usize, full: bool) {
    let mut yaml =
        String::from("defaults: {interval: 1h, timeout: 10m, lookback: 48h}\ntargets:\n");
    for i in 0..targets {
        yaml.push_str(&format!(
            "  - {{name: t{i}, vendor: cloutility, url: \"http://x\", client_id: c, origin: \"http://o\", username: u, password_env: P}}\n"
        ));
    }
    let settings = Settings::parse(&yaml, Path::new("bench.yml")).expect("config");
    let adapters: Vec<Arc<dyn Adapter>> = (0..targets)
        .map(|target| {
            Arc::new(Synthetic {
                target,
                objects,
                jobs,
            }) as Arc<dyn Adapter>
        })
        .collect();
    backup_exporter::api::install_crypto_provider();
    let rss0 = rss_kib();
    let (cpu0, t0) = (cpu(), Instant::now());
    let ex = Exporter::start_with(
        &settings,
        adapters,
        ApiMetrics::default(),
        "127.0.0.1:0",
        Clock::system(),
        None,
    )
    .await
    .expect("starts");
    assert!(ex.wait_ready(Duration::from_secs(1800)).await, "ready");
    let (wall, cpu_refresh) = (t0.elapsed(), cpu() - cpu0);
    let (rss_ready, peak_ready) = (rss_kib(), peak_rss_kib());

    let url = format!("http://{}/metrics", ex.addr);
    let client = reqwest::Client::new();
    let gz = scrape(&client, &url, true, rounds).await;
    let peak_gzip = peak_rss_kib();
    let plain = scrape(&client, &url, false, rounds.div_ceil(4)).await;
    let peak = peak_rss_kib();

    let total = objects * targets;
    println!(
        "scale: {targets} targets x {objects} objects ({total} objects, {} jobs in the window)",
        total * jobs
    );
    println!(
        "first refresh (all targets, incl. building the synthetic collections): wall {:.2} s, CPU {:.2} s",
        wall.as_secs_f64(),
        cpu_refresh.as_secs_f64()
    );
    println!(
        "RSS: before start {} MiB, after first refresh {} MiB, peak incl. scrapes {} MiB",
        rss0 / 1024,
        rss_ready / 1024,
        peak / 1024
    );
    // Where the peak was reached: during the first refresh, the gzip or the plain scrapes.
    println!(
        "peak RSS by phase: first refresh {} MiB, + gzip scrapes {} MiB, + plain scrapes {} MiB",
        peak_ready / 1024,
        peak_gzip / 1024,
        peak / 1024
    );
    println!(
        "scrape gzip (OpenMetrics, {rounds} scrapes): p50 {:.1} ms, p99 {:.1} ms, {} bytes",
        gz.p50.as_secs_f64() * 1e3,
        gz.p99.as_secs_f64() * 1e3,
        gz.bytes
    );
    println!(
        "scrape plain (OpenMetrics, {} scrapes): p50 {:.1} ms, p99 {:.1} ms, {} bytes",
        rounds.div_ceil(4),
        plain.p50.as_secs_f64() * 1e3,
        plain.p99.as_secs_f64() * 1e3,
        plain.bytes
    );
    // What each family costs per object, from the cache the scrapes copy.
    let mut per_family: Vec<(&str, u64, u64)> = Vec::new();
    for slot in ex.fleet.slots() {
        for c in &slot.rendered.chunks {
            match per_family.iter_mut().find(|(n, _, _)| *n == c.name) {
                Some(e) => {
                    e.1 += c.segment.text_len();
                    e.2 += c.segment.deflated.len() as u64;
                }
                None => per_family.push((
                    c.name,
                    c.segment.text_len(),
                    c.segment.deflated.len() as u64,
                )),
            }
        }
    }
    println!("bytes per object by family (text, gzip):");
    for (name, text, gzip) in &per_family {
        if name.starts_with("backup_object_") {
            println!(
                "  {name:<55} {:>6.1} {:>6.1}",
                *text as f64 / total as f64,
                *gzip as f64 / total as f64
            );
        }
    }
    println!(
        "  {:<55} {:>6.1} {:>6.1}",
        "all (whole body)",
        plain.bytes as f64 / total as f64,
        gz.bytes as f64 / total as f64
    );
    ex.stop().await;

    // The smoke run checks the figures are what they claim to be.
    assert!(plain.bytes > total * 1000, "every object is in the body");
    assert!(gz.bytes * 4 < plain.bytes, "the gzip form is compressed");
    if full {
        println!(
            "goals (issue 12, at 50,000 objects): peak RSS <= 100 MiB: {}; gzip p50 <= 50 ms: {}",
            if peak <= 100 * 1024 { "met" } else { "NOT met" },
            if gz.p50 <= Duration::from_millis(50) {
                "met"
            } else {
                "NOT met"
            }
        );
    }
}
