//! Measures basic auth under a wrong-password flood over TLS (issue 13 point 4); the figures
//! in docs/security.md come from here. Loopback only, bounded in time.
//!
//! ```sh
//! cargo build && cargo run --example auth_flood            # cost 10, 200 connections, 10 s
//! cargo run --example auth_flood -- 12 200 10              # cost, connections, seconds
//! ```
//!
//! It starts the exporter binary (`BACKUP_EXPORTER_BIN`, default `target/debug/backup-exporter`)
//! with TLS and basic auth (bcrypt at the cost given), then: (1) times unknown-user and
//! wrong-password requests, each with a password never seen before (so neither is answered
//! from the cache); (2) floods with wrong passwords from N connections with `wrk` (Debian's
//! package; without it, an in-process flood that costs the machine more), once repeating one
//! password (as in the issue) and once with a new password per request, while an authorised
//! scrape of `/metrics` runs every second with credentials the server has not verified yet
//! (its worst case: a cached scrape is answered without bcrypt).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};

const CONFIG: &str = "targets:\n  - {name: t1, vendor: cloutility, url: \"http://127.0.0.1:9\", client_id: c, origin: \"http://o\", username: u, password_env: FLOOD_NOPE}\n";
/// Valid users, each used once by an authorised probe so that every probe is uncached.
const PROBE_USERS: usize = 40;
/// A valid user verified before the floods.
const CACHED_USER: &str = "u40";

fn pki(dir: &Path) -> String {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(
        dir.join("s.crt"),
        leaf.signed_by(&key, &issuer).unwrap().pem(),
    )
    .unwrap();
    std::fs::write(dir.join("s.key"), key.serialize_pem()).unwrap();
    ca_pem
}

fn client(ca: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.as_bytes()).unwrap()])
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn stats(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    let mean = v.iter().sum::<Duration>() / v.len().max(1) as u32;
    (mean, v[v.len() / 2], *v.last().unwrap())
}

async fn timed(c: &reqwest::Client, url: &str, user: &str, pw: &str) -> (u16, Duration) {
    let t = Instant::now();
    let s = match c.get(url).basic_auth(user, Some(pw)).send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    };
    (s, t.elapsed())
}

fn basic(user: &str, pw: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))
}

fn have_wrk() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Starts the flood; returns what stops it and reports at the end.
enum Flood {
    Wrk(Child),
    InProcess(
        Arc<AtomicBool>,
        Vec<tokio::task::JoinHandle<()>>,
        Arc<[AtomicU64; 3]>,
    ),
}

fn start_flood(ca: &str, url: &str, dir: &Path, conns: usize, secs: u64, fresh: bool) -> Flood {
    if have_wrk() {
        let script = dir.join(if fresh { "fresh.lua" } else { "same.lua" });
        let mut lua = String::from("local creds = {\n");
        let n = if fresh { 20_000 } else { 1 };
        for i in 0..n {
            lua.push_str(&format!("  \"{}\",\n", basic("u1", &format!("wrong-{i}"))));
        }
        lua.push_str(
            "}\nlocal i = math.random(#creds)\nrequest = function()\n  i = i % #creds + 1\n  return wrk.format(nil, nil, {[\"Authorization\"] = \"Basic \" .. creds[i]})\nend\n",
        );
        std::fs::write(&script, lua).unwrap();
        let child = Command::new("wrk")
            .args([
                "-t2",
                &format!("-c{conns}"),
                &format!("-d{secs}s"),
                "--timeout",
                "10s",
                "-s",
            ])
            .arg(&script)
            .arg(url)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        return Flood::Wrk(child);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let mut tasks = Vec::new();
    for i in 0..conns {
        let (c, url, stop, counts) = (client(ca), url.to_owned(), stop.clone(), counts.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let pw = if fresh {
                    format!("wrong-{i}-{n}")
                } else {
                    "wrong".into()
                };
                let k = match timed(&c, &url, "u1", &pw).await.0 {
                    401 => 0,
                    429 => 1,
                    _ => 2,
                };
                counts[k].fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    Flood::InProcess(stop, tasks, counts)
}

async fn end_flood(f: Flood, secs: u64) {
    match f {
        Flood::Wrk(child) => {
            let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
                .await
                .unwrap();
            for l in String::from_utf8_lossy(&out.stdout).lines() {
                if l.contains("Requests/sec")
                    || l.contains("Non-2xx")
                    || l.contains("requests in")
                    || l.contains("Socket errors")
                    || l.trim_start().starts_with("Latency")
                {
                    println!("    wrk: {}", l.trim());
                }
            }
        }
        Flood::InProcess(stop, tasks, counts) => {
            stop.store(true, Ordering::Relaxed);
            for t in tasks {
                let _ = t.await;
            }
            let c: Vec<u64> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
            println!(
                "    in-process flood: {:.0} req/s; 401: {}, 429: {}, errors: {}",
                (c[0] + c[1]) as f64 / secs as f64,
                c[0],
                c[1],
                c[2]
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn flood(
    ca: &str,
    url: &str,
    dir: &Path,
    conns: usize,
    secs: u64,
    fresh: bool,
    probe_from: usize,
) -> usize {
    println!(
        "flood: {conns} connections, {}, {secs} s",
        if fresh {
            "a new wrong password per request"
        } else {
            "one wrong password repeated"
        }
    );
    let f = start_flood(ca, url, dir, conns, secs, fresh);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut probes = Vec::new();
    let mut cached = Vec::new();
    let mut refused = Vec::new();
    let mut user = probe_from;
    let t = Instant::now();
    while t.elapsed() + Duration::from_secs(2) < Duration::from_secs(secs) && user < PROBE_USERS {
        let (status, took) = timed(&client(ca), url, &format!("u{user}"), "right").await;
        if status == 200 {
            probes.push(took);
        } else {
            refused.push(format!("HTTP {status} after {took:.0?}"));
        }
        user += 1;
        // Prometheus as it usually is: credentials verified before the flood.
        let (status, took) = timed(&client(ca), url, CACHED_USER, "right").await;
        if status == 200 {
            cached.push(took);
        } else {
            refused.push(format!("cached user: HTTP {status} after {took:.0?}"));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    end_flood(f, secs).await;
    if !cached.is_empty() {
        let (mean, _, max) = stats(cached);
        println!(
            "    authorised cached scrapes (new TLS connection each): mean {mean:.0?}, max {max:.0?}"
        );
    }
    if probes.is_empty() {
        println!("    authorised uncached scrapes: none answered 200; {refused:?}");
    } else {
        let (mean, median, max) = stats(probes.clone());
        println!(
            "    authorised uncached scrapes (new TLS connection each): {} answered 200, mean {mean:.0?}, median {median:.0?}, max {max:.0?}; refused: {refused:?}",
            probes.len()
        );
    }
    user
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cost: u32 = args.first().map_or(10, |a| a.parse().unwrap());
    let conns: usize = args.get(1).map_or(200, |a| a.parse().unwrap());
    let secs: u64 = args.get(2).map_or(10, |a| a.parse().unwrap()).clamp(4, 60);
    let exe = std::env::var_os("BACKUP_EXPORTER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/debug/backup-exporter")
        });
    backup_exporter::api::install_crypto_provider();

    let dir = tempfile::tempdir().unwrap();
    let ca = pki(dir.path());
    let t = Instant::now();
    let hash = bcrypt::hash("right", cost).unwrap();
    println!(
        "bcrypt cost {cost}: one hash takes {:.0?} here; the server runs {} bcrypt slot(s); server: {}",
        t.elapsed(),
        backup_exporter::web::auth::bcrypt_slots(),
        exe.display()
    );
    let mut yaml =
        "tls_server_config:\n  cert_file: s.crt\n  key_file: s.key\nbasic_auth_users:\n".to_owned();
    for u in 1..=PROBE_USERS {
        yaml.push_str(&format!("  u{u}: '{hash}'\n"));
    }
    std::fs::write(dir.path().join("web.yml"), yaml).unwrap();
    std::fs::write(dir.path().join("config.yml"), CONFIG).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Server(
        Command::new(&exe)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--config",
            ])
            .arg(dir.path().join("config.yml"))
            .arg("--web-config")
            .arg(dir.path().join("web.yml"))
            .env("FLOOD_NOPE", "x")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e} (run `cargo build` first)", exe.display())),
    );
    let url = format!("https://localhost:{port}/metrics");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let c = client(&ca);
        let t = Instant::now();
        while timed(&c, &url, "warm", "up").await.0 != 401 {
            assert!(t.elapsed() < Duration::from_secs(20), "the server did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // (1) Timing: unknown user vs wrong password, never-seen passwords, one connection.
        let (mut unknown, mut wrong) = (Vec::new(), Vec::new());
        for i in 0..30 {
            unknown.push(timed(&c, &url, &format!("ghost{i}"), &format!("pw{i}")).await.1);
            wrong.push(timed(&c, &url, "u1", &format!("pw{i}")).await.1);
        }
        let (um, umed, _) = stats(unknown);
        let (wm, wmed, _) = stats(wrong);
        let diff = (um.as_secs_f64() - wm.as_secs_f64()).abs() / wm.as_secs_f64() * 100.0;
        println!(
            "timing, 30 each, alternating: unknown user mean {um:.1?} (median {umed:.1?}), wrong password mean {wm:.1?} (median {wmed:.1?}): {diff:.1} % apart"
        );
        assert_eq!(timed(&c, &url, CACHED_USER, "right").await.0, 200);
        // (2) Floods.
        let next = flood(&ca, &url, dir.path(), conns, secs, false, 1).await;
        flood(&ca, &url, dir.path(), conns, secs, true, next).await;
    });
}
