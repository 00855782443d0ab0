//! End to end against the real programs: `backup-exporter demo` scraped by Debian's
//! Prometheus with the shipped rules, every dashboard query and every rule run through
//! Prometheus' HTTP API, the demo's planted failures raising their alerts, and a page
//! reaching a webhook through Debian's Alertmanager with the example configuration.
//!
//! Without the programs the tests skip with a message, except under CI (`CI` set), where a
//! missing program fails. Every child process is stopped when its guard drops, so a failed
//! assertion leaves nothing running.

mod alertmanager;
mod negotiation;
mod planted;
mod shards;
pub(crate) mod stack;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use backup_exporter::sim::{SimContext, SimServer};
use serde_json::Value;

use crate::dashboards::{alert_rules, load_dashboards, load_rules, repo_path};
use stack::{
    Alertmanager, Proc, Prometheus, Webhook, free_port, http, program, start_alertmanager,
    wait_ready,
};

/// The whole demo test must finish within this, whatever hangs.
const LIMIT: Duration = Duration::from_secs(240);

/// A dashboard query as Grafana would send it with every selection at "All".
pub(crate) fn substitute(expr: &str, vendor: Option<&str>) -> String {
    let mut s = expr.to_owned();
    for (var, value) in [
        ("$__rate_interval", "1m"),
        ("${__rate_interval}", "1m"),
        ("$__interval_ms", "60000"),
        ("$__interval", "1m"),
        ("${__interval}", "1m"),
        ("$__range_ms", "3600000"),
        ("$__range_s", "3600"),
        ("$__range", "1h"),
        ("${__range}", "1h"),
    ] {
        s = s.replace(var, value);
    }
    let mut out = String::new();
    let mut rest = s.as_str();
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        rest = &rest[pos + 1..];
        let (name, after) = if let Some(inner) = rest.strip_prefix('{') {
            let end = inner.find('}').unwrap_or(inner.len());
            let name = inner[..end].split(':').next().unwrap_or("");
            (name, &inner[(end + 1).min(inner.len())..])
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (&rest[..end], &rest[end..])
        };
        match (name, vendor) {
            ("vendor", Some(v)) => out.push_str(v),
            _ => out.push_str(".*"),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// `label_values(expr, label)` → `expr` (which must return series with `label`).
fn label_values_query(q: &str) -> Option<(String, String)> {
    let inner = q.trim().strip_prefix("label_values(")?.strip_suffix(')')?;
    let (expr, label) = inner.rsplit_once(',')?;
    Some((expr.trim().to_owned(), label.trim().to_owned()))
}

/// The allow-list: query key → why it may return nothing in the demo.
fn may_be_empty() -> BTreeMap<String, String> {
    let path = repo_path("tests/e2e-may-be-empty.yml");
    let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let map = doc.as_object().cloned().unwrap_or_default();
    map.into_iter()
        .map(|(k, v)| {
            let reason = v.as_str().unwrap_or("").trim().to_owned();
            assert!(
                !reason.is_empty(),
                "{}: `{k}` needs a reason",
                path.display()
            );
            (k, reason)
        })
        .collect()
}

/// Every query the artefacts hold: (allow-list key, PromQL, label it must carry).
fn all_queries() -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    for d in load_dashboards() {
        for q in d.queries() {
            out.push((q.key, q.expr, None));
        }
        let uid = d.json["uid"].as_str().unwrap_or("").to_owned();
        for (name, kind, query) in d.variables() {
            if kind != "query" {
                continue;
            }
            let (expr, label) = label_values_query(&query).unwrap_or_else(|| {
                panic!("{uid} variable {name}: only label_values() is checked: {query}")
            });
            out.push((format!("{uid} / ${name}"), expr, Some(label)));
        }
    }
    for (alert, severity, expr) in alert_rules(&load_rules()) {
        out.push((format!("{alert} ({severity})"), expr, None));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_feeds_every_panel_and_rule_and_pages_through_alertmanager() {
    let (Some(prometheus), Some(alertmanager)) = (
        program(&["prometheus"], "prometheus"),
        program(
            &["prometheus-alertmanager", "alertmanager"],
            "prometheus-alertmanager",
        ),
    ) else {
        return;
    };
    if !demo_has_targets().await {
        eprintln!(
            "SKIPPED: no vendor simulator is registered in sim::vendor_sims yet, so `demo` has no targets"
        );
        return;
    }
    tokio::time::timeout(LIMIT, demo_scenario(prometheus, alertmanager))
        .await
        .expect("the end-to-end test took too long");
}

/// Whether the simulators offer any target (the vendors are written one by one; until the
/// first is registered, `demo` refuses to start for want of targets).
async fn demo_has_targets() -> bool {
    let sim = SimServer::start(
        "127.0.0.1:0",
        SimContext::new(42, 5),
        backup_exporter::vendors::simulators(),
    )
    .await
    .expect("simulators start");
    let dir = tempfile::tempdir().expect("temp dir");
    let yaml = sim
        .demo_config(&dir.path().join("secrets"), None)
        .expect("demo config");
    let doc: Value = serde_saphyr::from_str(&yaml).expect("demo config is YAML");
    doc["targets"].as_array().is_some_and(|t| !t.is_empty())
}

async fn demo_scenario(prometheus: PathBuf, alertmanager: PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let client = http();

    let exporter_addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut demo = Proc::spawn(
        "demo",
        Path::new(env!("CARGO_BIN_EXE_backup-exporter")),
        &["demo".into(), "--listen".into(), exporter_addr.to_string()],
        dir.path(),
    );
    wait_ready(
        &client,
        &format!("http://{exporter_addr}/-/ready"),
        &mut demo,
        Duration::from_secs(90),
    )
    .await;

    let hook = Webhook::default();
    let hook_addr = hook.start().await;
    let mut am = start_alertmanager(&alertmanager, dir.path(), hook_addr).await;
    let mut prom = Prometheus::start(
        &prometheus,
        dir.path(),
        exporter_addr,
        Some(am.url.as_str()),
    )
    .await;
    let logs = |p: &Prometheus, a: &Alertmanager, d: &Proc| {
        format!(
            "{}\n{}\n{}",
            p.proc.log_tail(),
            a.proc.log_tail(),
            d.log_tail()
        )
    };

    // A few scrapes, so that rate() and increase() over a minute have two samples.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let scrapes = prom
            .value(r#"sum(count_over_time(up{job="backup-exporter"}[1m]))"#)
            .await
            .unwrap_or(0.0);
        let up = prom
            .value(r#"min(up{job="backup-exporter"})"#)
            .await
            .unwrap_or(0.0);
        if scrapes >= 6.0 && up == 1.0 {
            break;
        }
        for p in [&mut prom.proc, &mut am.proc, &mut demo] {
            if let Some(why) = p.exited() {
                panic!("{why}");
            }
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape the demo\n{}",
            logs(&prom, &am, &demo)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // (a) Every dashboard query, variable and rule parses and returns data, or is allowed
    // to be empty for a stated reason.
    let allowed = may_be_empty();
    let queries = all_queries();
    let keys: BTreeSet<&String> = queries.iter().map(|(k, _, _)| k).collect();
    let stale: Vec<&String> = allowed.keys().filter(|k| !keys.contains(k)).collect();
    assert!(
        stale.is_empty(),
        "tests/e2e-may-be-empty.yml names queries that do not exist: {stale:?}"
    );
    let moment = prom
        .healthy_moment()
        .await
        .expect("the last scrape of the demo succeeded");
    let mut problems = Vec::new();
    let mut empty_but_allowed = Vec::new();
    for (key, expr, label) in &queries {
        let promql = substitute(expr, None);
        match prom.query_at(&promql, Some(moment)).await {
            Err(e) => problems.push(format!("{key}: {e}\n    {promql}")),
            Ok(result) => {
                let with_label = result
                    .iter()
                    .filter(|s| {
                        label
                            .as_ref()
                            .is_none_or(|l| s["metric"][l.as_str()].is_string())
                    })
                    .count();
                if with_label == 0 {
                    if allowed.contains_key(key) {
                        empty_but_allowed.push(key.clone());
                    } else {
                        problems.push(format!("{key}: returned no data\n    {promql}"));
                    }
                }
            }
        }
    }
    eprintln!("empty and allowed to be: {empty_but_allowed:#?}");
    assert!(
        problems.is_empty(),
        "queries that fail or return nothing:\n{}",
        problems.join("\n")
    );

    // Which panels stay empty for which vendor (docs/alerts-and-dashboards.md), for the log.
    let vendors: BTreeSet<String> = prom
        .query_at("backup_target_up", Some(moment))
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|s| s["metric"]["vendor"].as_str().map(String::from))
        .collect();
    assert!(!vendors.is_empty(), "the demo exports no targets");
    for vendor in &vendors {
        let mut empty = Vec::new();
        for (key, expr, _) in queries.iter().filter(|(_, e, _)| e.contains("$vendor")) {
            if prom
                .query_at(&substitute(expr, Some(vendor)), Some(moment))
                .await
                .is_ok_and(|r| r.is_empty())
            {
                empty.push(key.as_str());
            }
        }
        eprintln!("empty for {vendor}: {empty:#?}");
    }

    // (b) The demo's planted failures raise their alerts (pending or firing: `for:` is longer
    // than the test), each with readable labels. Every simulator plants an object that never
    // succeeded and failing ones; three failures in a row and RPO breaches are planted by
    // some (a Cloud Sync relationship only tells its last run, so it never has three). The
    // demo asks restore tests of the vendors whose simulators list restores, and some of
    // their objects have none recent enough.
    let wanted_per_vendor = ["BackupNeverSucceeded", "BackupLastFailed"];
    let wanted_somewhere = [
        "BackupRepeatedFailures",
        "BackupRPOBreached",
        "BackupRestoreTestOverdue",
    ];
    let deadline = Instant::now() + Duration::from_secs(60);
    let alerts = loop {
        let alerts = prom.alerts().await;
        let seen: BTreeSet<(String, String)> = alerts
            .iter()
            .map(|a| {
                (
                    a["labels"]["alertname"].as_str().unwrap_or("").to_owned(),
                    a["labels"]["vendor"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        let missing: Vec<String> = vendors
            .iter()
            .flat_map(|v| {
                wanted_per_vendor
                    .iter()
                    .map(move |a| (a.to_string(), v.clone()))
            })
            .filter(|k| !seen.contains(k))
            .map(|(a, v)| format!("{a} for {v}"))
            .chain(
                wanted_somewhere
                    .iter()
                    .filter(|a| !seen.iter().any(|(name, _)| name == *a))
                    .map(|a| a.to_string()),
            )
            .collect();
        if missing.is_empty() {
            break alerts;
        }
        assert!(
            Instant::now() < deadline,
            "alerts missing: {missing:?}\nseen: {seen:?}\n{}",
            logs(&prom, &am, &demo)
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    for a in &alerts {
        let l = &a["labels"];
        assert!(
            ["pending", "firing"].contains(&a["state"].as_str().unwrap_or("")),
            "{a}"
        );
        if l["object_id"].is_string() {
            for label in ["object", "tenant", "target", "vendor"] {
                assert!(
                    l[label].as_str().is_some_and(|v| !v.is_empty()),
                    "alert without a readable {label}: {l}"
                );
            }
            let description = a["annotations"]["description"].as_str().unwrap_or("");
            assert!(
                description.contains(l["object"].as_str().unwrap_or("?")),
                "description does not name the object: {a}"
            );
        }
    }

    // A page reaches the pager webhook through Alertmanager, grouped by target and tenant.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pages = hook.payloads("backup-pager");
        let page = pages.iter().find(|p| {
            p["alerts"].as_array().into_iter().flatten().any(|a| {
                a["labels"]["alertname"] == "BackupNeverSucceeded" && a["status"] == "firing"
            })
        });
        if let Some(p) = page {
            let group: BTreeSet<&String> = p["groupLabels"]
                .as_object()
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            assert_eq!(
                group,
                BTreeSet::from([&"target".to_owned(), &"tenant".to_owned()]),
                "pages are grouped by target and tenant: {p}"
            );
            for a in p["alerts"].as_array().into_iter().flatten() {
                assert_eq!(
                    a["labels"]["severity"], "critical",
                    "only critical alerts page: {a}"
                );
                assert_eq!(a["labels"]["target"], p["groupLabels"]["target"], "{a}");
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no page reached the webhook; notifications: {:?}\n{}",
            hook.0.lock().unwrap(),
            logs(&prom, &am, &demo)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        hook.firing("backup-tickets")
            .iter()
            .all(|a| a["labels"]["severity"] == "warning"),
        "tickets receive only warnings"
    );
}

#[test]
fn dashboard_variables_become_match_all_regexes() {
    assert_eq!(
        substitute(
            r#"sum(rate(x{vendor=~"$vendor", target=~"${target}", tenant=~"${tenant:regex}"}[$__rate_interval]))"#,
            None
        ),
        r#"sum(rate(x{vendor=~".*", target=~".*", tenant=~".*"}[1m]))"#
    );
    assert_eq!(
        substitute(
            r#"x{vendor=~"$vendor"}[$__interval] offset $__range"#,
            Some("clumio")
        ),
        r#"x{vendor=~"clumio"}[1m] offset 1h"#
    );
    assert_eq!(
        label_values_query(r#"label_values(backup_target_up{vendor=~"$vendor"}, target)"#),
        Some((
            r#"backup_target_up{vendor=~"$vendor"}"#.to_owned(),
            "target".to_owned()
        ))
    );
}
