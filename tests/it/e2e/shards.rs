//! Three exporter shards against one simulator, scraped by a real Prometheus: every target
//! is exported by exactly one replica, and when one replica stops the shipped
//! `BackupExporterShardsMismatch` expression turns true.

use std::path::Path;
use std::time::{Duration, Instant};

use backup_exporter::clock::Clock;
use backup_exporter::config::Settings;
use backup_exporter::exporter::Exporter;
use backup_exporter::shard::Shard;
use backup_exporter::sim::{SimContext, SimServer};
use serde_json::json;

use super::stack::{Proc, Prometheus, free_port, http, program, wait_ready};
use crate::dashboards::{alert_rules, load_rules};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_shards_export_every_target_once_and_a_lost_shard_fires() {
    let Some(prometheus) = program(&["prometheus"], "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sim = SimServer::start(
        "127.0.0.1:0",
        SimContext::new(7, 3),
        backup_exporter::vendors::simulators(),
    )
    .await
    .unwrap();
    let yaml = sim.demo_config(&dir.path().join("secrets"), None).unwrap();
    let all = Settings::parse(&yaml, Path::new("demo.yml")).unwrap();
    let names: Vec<String> = all.targets.iter().map(|t| t.name.clone()).collect();
    assert!(names.len() >= 3, "{names:?}");
    let mut replicas = Vec::new();
    for i in 0..3 {
        let mut s = all.clone();
        s.shard = Some(Shard::new(i, 3).unwrap());
        let ex = Exporter::start(&s, "127.0.0.1:0", Clock::system(), None)
            .await
            .unwrap();
        assert!(ex.wait_ready(Duration::from_secs(90)).await);
        replicas.push(ex);
    }
    let config = json!({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [{
            "job_name": "backup-exporter",
            "static_configs": [{"targets": replicas.iter().map(|r| r.addr.to_string()).collect::<Vec<_>>()}],
        }],
    });
    let prom = Prometheus::with_config(&prometheus, dir.path(), &config).await;
    let query = |expr: &str| {
        let expr = expr.to_owned();
        let prom = &prom;
        async move {
            prom.query(&expr)
                .await
                .unwrap_or_else(|e| panic!("{expr}: {e}"))
        }
    };

    let deadline = Instant::now() + Duration::from_secs(40);
    while query(r#"sum(up{job="backup-exporter"})"#)
        .await
        .first()
        .and_then(|v| v["value"][1].as_str())
        != Some("3")
    {
        assert!(
            Instant::now() < deadline,
            "three replicas up\n{}",
            prom.proc.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Every target exactly once, from the replica its hash names.
    let per_target = query("count by (target) (backup_target_up)").await;
    let mut seen: Vec<String> = per_target
        .iter()
        .map(|s| {
            assert_eq!(s["value"][1], "1", "one replica per target: {s}");
            s["metric"]["target"].as_str().unwrap().to_owned()
        })
        .collect();
    seen.sort();
    let mut want = names.clone();
    want.sort();
    assert_eq!(seen, want);
    for s in query("backup_target_up").await {
        let name = s["metric"]["target"].as_str().unwrap();
        let inst = s["metric"]["instance"].as_str().unwrap();
        let owner = replicas
            .iter()
            .position(|r| r.addr.to_string() == inst)
            .unwrap();
        assert_eq!(Shard::of(name, 3), owner as u32, "{name}");
    }

    let (_, _, expr) = alert_rules(&load_rules())
        .into_iter()
        .find(|(name, _, _)| name == "BackupExporterShardsMismatch")
        .expect("the rule");
    assert!(query(&expr).await.is_empty(), "quiet with three shards");

    // Stop shard 1: on the next failed scrape its series go stale and the rule turns true.
    replicas.remove(1).stop().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = query(&expr).await;
        if let Some(s) = r.first() {
            assert_eq!(s["metric"]["job"], "backup-exporter");
            break;
        }
        assert!(Instant::now() < deadline, "the mismatch never showed");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for r in replicas {
        r.stop().await;
    }
}

/// The same split through the binary's flags: `simulate` writes a config, three `serve
/// --shard i --total-shards 3` processes read it, and together they export every target
/// exactly once, each from the replica its hash names, and say which shard they are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shard_flags_split_the_targets_of_one_config() {
    let exe = Path::new(env!("CARGO_BIN_EXE_backup-exporter"));
    let dir = tempfile::tempdir().unwrap();
    let c = http();
    let sim_port = free_port();
    let config = dir.path().join("sim.yml");
    let mut sim = Proc::spawn(
        "simulate",
        exe,
        &[
            "simulate".into(),
            "--listen".into(),
            format!("127.0.0.1:{sim_port}"),
            "--objects".into(),
            "3".into(),
            "--config-out".into(),
            config.display().to_string(),
        ],
        dir.path(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !config.exists() {
        assert!(
            Instant::now() < deadline,
            "simulate wrote no config\n{}",
            sim.log_tail()
        );
        if let Some(why) = sim.exited() {
            panic!("{why}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let names: Vec<String> = Settings::load(&config)
        .unwrap()
        .targets
        .iter()
        .map(|t| t.name.clone())
        .collect();
    assert!(names.len() >= 3, "{names:?}");

    let mut seen: Vec<(String, u32)> = Vec::new();
    for i in 0..3u32 {
        let port = free_port();
        let mut serve = Proc::spawn(
            &format!("serve-{i}"),
            exe,
            &[
                "serve".into(),
                "--config".into(),
                config.display().to_string(),
                "--listen".into(),
                format!("127.0.0.1:{port}"),
                "--shard".into(),
                i.to_string(),
                "--total-shards".into(),
                "3".into(),
            ],
            dir.path(),
        );
        let url = format!("http://127.0.0.1:{port}");
        wait_ready(
            &c,
            &format!("{url}/-/ready"),
            &mut serve,
            Duration::from_secs(90),
        )
        .await;
        let body = c
            .get(format!("{url}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            body.lines()
                .any(|l| l.starts_with("backup_exporter_shard_info{")
                    && l.contains(&format!("shard=\"{i}\""))
                    && l.contains("total_shards=\"3\"")
                    && l.ends_with(" 1"))
                && body.contains("backup_exporter_total_shards 3"),
            "serve-{i} says which shard it is"
        );
        for line in body.lines().filter(|l| l.starts_with("backup_target_up{")) {
            let target = line
                .split("target=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap()
                .to_owned();
            seen.push((target, i));
        }
    }
    let mut got: Vec<&str> = seen.iter().map(|(t, _)| t.as_str()).collect();
    got.sort();
    let mut want: Vec<&str> = names.iter().map(String::as_str).collect();
    want.sort();
    assert_eq!(got, want, "every target exactly once across the shards");
    for (target, i) in &seen {
        assert_eq!(Shard::of(target, 3), *i, "{target}");
    }
}
