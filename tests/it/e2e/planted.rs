//! A data set with one object per failure mode, served by the real exporter (in-process,
//! through a scripted adapter) and scraped by a real Prometheus with the shipped rules:
//! exactly the planted objects alert, and the dashboards' compliance queries list exactly
//! them. Unlike the demo, every expected value here is known in advance.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use backup_exporter::adapter::{Adapter, Collection, VendorError, Window};
use backup_exporter::api::ApiMetrics;
use backup_exporter::clock::Clock;
use backup_exporter::config::Settings;
use backup_exporter::exporter::Exporter;
use backup_exporter::model::*;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::stack::{Prometheus, program};
use super::substitute;
use crate::dashboards::load_dashboards;

const HOUR: i64 = 3600;

/// Answers with the planted data set. A deletion and a job appear at the second refresh (the
/// counters ignore history present at the first, and create their series at 1) and another
/// of each once the test has seen Prometheus scrape the counters at 1.
struct Planted {
    start: Timestamp,
    refreshes: AtomicU64,
    delete_again: AtomicBool,
}

impl Planted {
    fn at(&self, hours_ago: i64) -> Option<Timestamp> {
        self.start
            .checked_sub(SignedDuration::from_secs(hours_ago * HOUR))
            .ok()
    }

    fn job(&self, id: &str, object: &str, result: JobResult, hours_ago: i64) -> Job {
        Job {
            id: id.into(),
            object_id: object.into(),
            kind: JobKind::Backup,
            result,
            vendor_status: "word".into(),
            start: self.at(hours_ago),
            end: self.at(hours_ago),
            duration: Some(Duration::from_secs(600)),
            transferred_bytes: Some(1 << 20),
            error_code: None,
            error_message: None,
        }
    }
}

fn object(id: &str, name: &str, protected: bool) -> Object {
    Object {
        id: id.into(),
        name: name.into(),
        object_type: "node".into(),
        tenant: "Finance".into(),
        policy: if protected {
            "DAILY".into()
        } else {
            String::new()
        },
        protected,
        protected_bytes: Some(1000),
        stored_bytes: Some(600),
        ..Default::default()
    }
}

#[async_trait]
impl Adapter for Planted {
    async fn collect(&self, w: Window) -> Collection {
        use JobResult::*;
        let n = self.refreshes.fetch_add(1, Ordering::SeqCst);
        let mut restore_points = object("o6", "restore-points", true);
        restore_points.restore_points = Some(5);
        let deletion = |id: &str| AuditEvent {
            id: id.into(),
            time: w.now,
            tenant: "Finance".into(),
            actor: "mallory".into(),
            action: AuditAction::Delete,
            object: "policy DAILY".into(),
            message: "deleted".into(),
        };
        let mut audit = Vec::new();
        let mut jobs = vec![
            self.job("j1", "o1", Success, 1),
            self.job("j2", "o2", Failed, 50),
            self.job("j3", "o2", Failed, 26),
            self.job("j4", "o2", Failed, 2),
            self.job("j5", "o3", Success, 31),
            self.job("j6", "o4", Success, 50),
            self.job("j7", "o4", Missed, 26),
            self.job("j8", "o4", Missed, 2),
            self.job("j9", "o5", Success, 200),
            self.job("j10", "o5", Failed, 2),
            self.job("j11", "o6", Failed, 2),
        ];
        if n >= 1 {
            audit.push(deletion("a1"));
            jobs.push(self.job("j12", "o1", Success, 0));
        }
        if self.delete_again.load(Ordering::SeqCst) {
            audit.push(deletion("a2"));
            jobs.push(self.job("j13", "o1", Success, 0));
        }
        Collection {
            inventory: Ok(vec![
                object("o1", "ok", true),
                object("o2", "never", true),
                object("o3", "late-warn", true),
                object("o4", "late-crit", true),
                object("o5", "unprotected", false),
                restore_points,
            ]),
            jobs: Ok(jobs),
            warnings: Err(VendorError::Invalid(
                "the warnings endpoint is broken".into(),
            )),
            audit: Ok(audit),
            storage: Ok(Storage {
                pools: vec![
                    StoragePool {
                        name: "full".into(),
                        capacity_bytes: Some(1000),
                        used_bytes: Some(950),
                    },
                    StoragePool {
                        name: "growing".into(),
                        capacity_bytes: Some(1000),
                        used_bytes: Some(750 + n),
                    },
                    StoragePool {
                        name: "no-capacity".into(),
                        capacity_bytes: None,
                        used_bytes: Some(500),
                    },
                ],
                ..Default::default()
            }),
            skipped: Vec::new(),
        }
    }

    async fn probe(&self) -> Result<String, VendorError> {
        Ok("planted".into())
    }
}

/// A target whose vendor refuses every login: the exporter is blind to it.
struct Blind;

#[async_trait]
impl Adapter for Blind {
    async fn collect(&self, _w: Window) -> Collection {
        Collection::failed(|| VendorError::Invalid("login refused".into()))
    }
    async fn probe(&self) -> Result<String, VendorError> {
        Err(VendorError::Invalid("login refused".into()))
    }
}

fn settings() -> Settings {
    let target = |name: &str| {
        format!(
            r#"  - {{name: {name}, vendor: cloutility, url: "http://127.0.0.1:9", client_id: c, origin: "http://o", username: u, password_env: NOPE}}"#
        )
    };
    let yaml = format!(
        "defaults: {{interval: 1s, timeout: 5s, lookback: 10d, max_stale: 10m}}\ncompliance:\n  rpo: 24h\ntargets:\n{}\n{}\n",
        target("planted"),
        target("blind")
    );
    Settings::parse(&yaml, Path::new("planted.yml")).expect("config parses")
}

/// What an alert is about: its object, pool, target and collector, or tenant.
fn subject(labels: &Value) -> String {
    let l = |k: &str| labels[k].as_str().unwrap_or("");
    if !l("object").is_empty() {
        l("object").to_owned()
    } else if !l("pool").is_empty() {
        format!("pool {}", l("pool"))
    } else if !l("collector").is_empty() {
        format!("{}/{}", l("target"), l("collector"))
    } else {
        format!("tenant {}", l("tenant"))
    }
}

fn expected_alerts() -> BTreeSet<(String, String, String)> {
    let mut want = vec![
        ("BackupNeverSucceeded", "critical", "never"),
        ("BackupLastFailed", "warning", "never"),
        ("BackupLastFailed", "warning", "late-crit"),
        ("BackupLastFailed", "warning", "restore-points"),
        ("BackupRepeatedFailures", "warning", "never"),
        ("BackupRPOBreached", "critical", "late-crit"),
        ("BackupRPOBreached", "warning", "late-crit"),
        ("BackupRPOBreached", "warning", "late-warn"),
        ("BackupStorageAlmostFull", "warning", "pool full"),
        ("BackupStorageFillingUp", "warning", "pool growing"),
        ("BackupAuditDeletion", "warning", "tenant Finance"),
        ("BackupCollectionFailing", "warning", "planted/warnings"),
        ("BackupTargetDataStale", "critical", "blind/inventory"),
        ("BackupTargetDataStale", "critical", "blind/jobs"),
    ];
    for c in ["inventory", "jobs", "warnings", "audit", "storage"] {
        want.push((
            "BackupCollectionFailing",
            "warning",
            Box::leak(format!("blind/{c}").into_boxed_str()),
        ));
    }
    want.into_iter()
        .map(|(a, s, w)| (a.to_owned(), s.to_owned(), w.to_owned()))
        .collect()
}

/// Runs the query of `key` (`uid / panel title / refId`) as Grafana would with "All".
async fn panel(prom: &Prometheus, key: &str) -> Vec<Value> {
    let query = load_dashboards()
        .iter()
        .flat_map(|d| d.queries())
        .find(|q| q.key == key)
        .unwrap_or_else(|| panic!("no dashboard query {key}"));
    let promql = substitute(&query.expr, None);
    prom.query(&promql)
        .await
        .unwrap_or_else(|e| panic!("{key}: {e}\n{promql}"))
}

async fn panel_number(prom: &Prometheus, key: &str) -> f64 {
    let r = panel(prom, key).await;
    assert_eq!(r.len(), 1, "{key} should be one number: {r:?}");
    r[0]["value"][1]
        .as_str()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Object name → value, for table queries.
async fn panel_by_object(prom: &Prometheus, key: &str) -> std::collections::BTreeMap<String, f64> {
    panel(prom, key)
        .await
        .iter()
        .map(|s| {
            (
                s["metric"]["object"].as_str().unwrap_or("?").to_owned(),
                s["value"][1]
                    .as_str()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(f64::NAN),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_failures_raise_exactly_their_alerts_and_fill_the_compliance_table() {
    let Some(prometheus) = program(&["prometheus"], "prometheus") else {
        return;
    };
    let run = async {
        let dir = tempfile::tempdir().expect("temp dir");
        let planted = Arc::new(Planted {
            start: Timestamp::now(),
            refreshes: AtomicU64::new(0),
            delete_again: AtomicBool::new(false),
        });
        let exporter = Exporter::start_with(
            &settings(),
            vec![
                planted.clone() as Arc<dyn Adapter>,
                Arc::new(Blind) as Arc<dyn Adapter>,
            ],
            ApiMetrics::default(),
            "127.0.0.1:0",
            Clock::system(),
            None,
        )
        .await
        .expect("exporter starts");
        let prom = Prometheus::start(&prometheus, dir.path(), exporter.addr, None).await;

        // The second deletion and job, once Prometheus holds the counters at 1.
        let deadline = Instant::now() + Duration::from_secs(30);
        while prom.value("sum(backup_audit_events_total)").await != Some(1.0)
            || prom.value("sum(backup_jobs_total)").await != Some(1.0)
        {
            assert!(
                Instant::now() < deadline,
                "the first deletion never showed\n{}",
                prom.proc.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        planted.delete_again.store(true, Ordering::SeqCst);

        let want = expected_alerts();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got: BTreeSet<(String, String, String)> = prom
                .alerts()
                .await
                .iter()
                .map(|a| {
                    let l = &a["labels"];
                    (
                        l["alertname"].as_str().unwrap_or("").to_owned(),
                        l["severity"].as_str().unwrap_or("").to_owned(),
                        subject(l),
                    )
                })
                .collect();
            if got == want {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "alerts differ from the planted failures\nmissing: {:?}\nunexpected: {:?}\n{}",
                want.difference(&got).collect::<Vec<_>>(),
                got.difference(&want).collect::<Vec<_>>(),
                prom.proc.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }

        // The overview's numbers and the compliance table, from the dashboards' own queries.
        let stat = |title: &str| format!("backup-overview / {title} / A");
        assert_eq!(panel_number(&prom, &stat("Targets down")).await, 2.0);
        assert_eq!(panel_number(&prom, &stat("Protected objects")).await, 5.0);
        assert_eq!(panel_number(&prom, &stat("Unprotected objects")).await, 1.0);
        assert_eq!(panel_number(&prom, &stat("Out of RPO")).await, 4.0);
        assert_eq!(panel_number(&prom, &stat("Never succeeded")).await, 1.0);
        assert_eq!(panel_number(&prom, &stat("Last backup failed")).await, 3.0);
        // full 950 + growing 750..(750 + refreshes) over 2000; the pool without a capacity
        // does not count.
        let used = panel_number(&prom, &stat("Storage used")).await;
        let most = (950 + 750 + planted.refreshes.load(Ordering::SeqCst)) as f64 / 2000.0;
        assert!((0.85..=most).contains(&used), "storage used {used}");

        // The counter panels see the job and the deletion that appeared while Prometheus
        // watched (the demo's schedules rarely produce any within its test).
        for key in [
            "backup-jobs / Jobs finished per hour by result / A",
            "backup-overview / Jobs finished per hour by result / A",
            "backup-jobs / Data transferred per hour / A",
            "backup-warnings-audit / Audit events per hour by action / A",
            "backup-warnings-audit / Deletions and refused logins (24h) / A",
        ] {
            let r = panel(&prom, key).await;
            let total: f64 = r
                .iter()
                .filter_map(|s| s["value"][1].as_str()?.parse::<f64>().ok())
                .sum();
            assert!(total > 0.0, "{key} shows nothing: {r:?}");
        }

        let table = |r: &str| format!("backup-compliance / What to fix today / {r}");
        let to_fix: BTreeSet<String> = panel_by_object(&prom, &table("A"))
            .await
            .into_keys()
            .collect();
        let want_fix: BTreeSet<String> = ["never", "late-warn", "late-crit", "restore-points"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(to_fix, want_fix, "what to fix today");
        let last_result = panel_by_object(&prom, &table("B")).await;
        assert_eq!(last_result["never"], 3.0, "failed");
        assert_eq!(last_result["late-crit"], 5.0, "missed");
        assert_eq!(last_result["late-warn"], 1.0, "success");
        let overdue = panel_by_object(&prom, &table("D")).await;
        let late_warn = overdue["late-warn"] / HOUR as f64;
        assert!(
            (6.9..7.2).contains(&late_warn),
            "late-warn is 7h overdue, not {late_warn}h"
        );
        assert!(
            overdue["never"] > 1e9,
            "never succeeded reads as overdue since the epoch"
        );
        let failures = panel_by_object(&prom, &table("E")).await;
        assert_eq!(
            (
                failures["never"],
                failures["late-crit"],
                failures["late-warn"]
            ),
            (3.0, 2.0, 0.0)
        );
        exporter.stop().await;
    };
    tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the planted-data test took too long");
}
