//! The exporter and the report over the simulated tower.

use super::*;

/// The exporter (scheduler, state, /metrics) over the simulated tower: every per-object,
/// tenant and storage series has the value the world implies.
#[tokio::test]
async fn metrics_show_the_simulated_world() {
    use std::collections::BTreeMap;

    use backup_exporter::exporter::Exporter;
    use backup_exporter::model::JobKind;
    use backup_exporter::state::facts_by_object;

    use crate::common::{get, promtool_check_metrics, require_tool, value};

    let h = start().await;
    let pw = h.secret("pw", DEMO_PASSWORD);
    let text = format!(
        "defaults: {{interval: 1s, timeout: 1m, lookback: 48h, max_stale: 12h}}\n\
         compliance:\n  rpo: 24h\n  rules:\n    - match: {{object: \"test-*\"}}\n      exclude: tests\n\
         targets:\n  - name: t\n    vendor: cloudtower\n    url: \"{}\"\n    username: {DEMO_USER}\n    password_file: {}\n",
        h.url(""),
        pw.display()
    );
    let settings = Settings::parse(&text, Path::new("m.yml")).unwrap();
    let ex = Exporter::start(&settings, "127.0.0.1:0", h.clock.clone(), None)
        .await
        .unwrap();
    assert!(ex.wait_ready(Duration::from_secs(60)).await);
    let (status, m) = get(&format!("http://{}/metrics", ex.addr)).await;
    assert_eq!(status, 200);
    if require_tool("promtool") {
        let (code, out) = promtool_check_metrics(&m);
        assert_eq!(code, 0, "{out}");
    }

    let now = h.now();
    let since = now - SignedDuration::from_hours(48);
    let objects = h.world.expected_objects(now, Tower::Current, &Scope::all());
    let jobs = h
        .world
        .expected_jobs(now, since, None, Tower::Current, &Scope::all());
    let facts = facts_by_object(&jobs, false);
    let t = ("target", "t");
    let secs = |ts: Timestamp| ts.as_second() as f64;
    assert_eq!(value(&m, "backup_target_up", &[t]), Some(1.0));
    for c in ["inventory", "jobs", "warnings", "audit", "storage"] {
        assert_eq!(
            value(&m, "backup_collector_up", &[t, ("collector", c)]),
            Some(1.0),
            "{c}"
        );
    }
    assert_eq!(
        value(&m, "backup_exported_objects", &[t]),
        Some(objects.len() as f64)
    );
    for o in &objects {
        let id = ("object_id", o.id.as_str());
        let v = |name: &str, extra: &[(&str, &str)]| {
            let mut labels = vec![t, id];
            labels.extend_from_slice(extra);
            value(&m, name, &labels)
        };
        let info = [
            ("object", o.name.as_str()),
            ("tenant", o.tenant.as_str()),
            ("policy", o.policy.as_str()),
            ("object_type", "vm"),
        ];
        assert_eq!(v("backup_object_info", &info), Some(1.0), "{}", o.name);
        assert_eq!(
            v("backup_object_protected", &[]),
            Some(if o.protected { 1.0 } else { 0.0 }),
            "{}",
            o.name
        );
        let rpo = o.policy_rpo.unwrap_or(Duration::from_secs(24 * 3600));
        assert_eq!(
            v("backup_object_rpo_seconds", &[]),
            Some(rpo.as_secs_f64()),
            "{}",
            o.name
        );
        let f = facts.get(o.id.as_str()).cloned().unwrap_or_default();
        let last_success = f.last_success.max(o.last_success_hint);
        assert_eq!(
            v("backup_object_last_success_timestamp_seconds", &[]),
            Some(last_success.map_or(0.0, secs)),
            "{}",
            o.name
        );
        if let Some(at) = f.last_attempt {
            assert_eq!(
                v("backup_object_last_attempt_timestamp_seconds", &[]),
                Some(secs(at)),
                "{}",
                o.name
            );
        }
        if let Some(r) = f.last_result {
            assert_eq!(
                v("backup_object_last_result", &[("result", r.as_str())]),
                Some(1.0)
            );
        }
        assert_eq!(
            v("backup_object_consecutive_failures", &[]),
            Some(f.consecutive_failures as f64),
            "{}",
            o.name
        );
        assert_eq!(
            v("backup_object_restore_points", &[]),
            o.restore_points.map(|n| n as f64)
        );
        assert_eq!(
            v("backup_object_latest_restore_point_timestamp_seconds", &[]),
            o.latest_restore_point.map(secs)
        );
        assert_eq!(
            v("backup_object_stored_bytes", &[]),
            o.stored_bytes.map(|b| b as f64)
        );
        assert_eq!(
            v("backup_object_protected_bytes", &[]),
            o.protected_bytes.map(|b| b as f64)
        );
    }
    let never = objects.iter().find(|o| o.name == "erp-db-01").unwrap();
    assert_eq!(
        value(
            &m,
            "backup_object_last_success_timestamp_seconds",
            &[t, ("object_id", never.id.as_str())]
        ),
        Some(0.0)
    );

    let tenant_of: BTreeMap<&str, &str> = objects
        .iter()
        .map(|o| (o.id.as_str(), o.tenant.as_str()))
        .collect();
    let mut window: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let mut running: BTreeMap<&str, u64> = BTreeMap::new();
    for j in &jobs {
        let tenant = tenant_of[j.object_id.as_str()];
        if j.result == JobResult::Running {
            *running.entry(tenant).or_default() += 1;
        } else {
            *window.entry((tenant, j.result.as_str())).or_default() += 1;
        }
    }
    assert!(
        window.len() >= 6,
        "three tenants, two results at least: {window:?}"
    );
    for ((tenant, result), n) in &window {
        let labels = [
            t,
            ("tenant", *tenant),
            ("kind", JobKind::Backup.as_str()),
            ("result", *result),
        ];
        assert_eq!(
            value(&m, "backup_jobs_window", &labels),
            Some(*n as f64),
            "{tenant} {result}"
        );
    }
    for (tenant, n) in &running {
        let labels = [t, ("tenant", *tenant), ("kind", "backup")];
        assert_eq!(
            value(&m, "backup_jobs_running", &labels),
            Some(*n as f64),
            "{tenant}"
        );
    }

    let mut warnings: BTreeMap<(String, &str, String), u64> = BTreeMap::new();
    for w in h.world.expected_warnings(now, &Scope::all()) {
        *warnings
            .entry((w.tenant, w.severity.as_str(), w.category))
            .or_default() += 1;
    }
    for ((tenant, severity, category), n) in &warnings {
        let labels = [
            t,
            ("tenant", tenant.as_str()),
            ("severity", *severity),
            ("category", category.as_str()),
        ];
        assert_eq!(
            value(&m, "backup_warnings", &labels),
            Some(*n as f64),
            "{labels:?}"
        );
    }

    for p in h
        .world
        .expected_storage(now, Tower::Current, &Scope::all())
        .pools
    {
        let pool = [t, ("pool", p.name.as_str())];
        assert_eq!(
            value(&m, "backup_storage_capacity_bytes", &pool),
            p.capacity_bytes.map(|b| b as f64)
        );
        assert_eq!(
            value(&m, "backup_storage_used_bytes", &pool),
            p.used_bytes.map(|b| b as f64)
        );
    }
    let mut stored: BTreeMap<&str, u64> = BTreeMap::new();
    for o in &objects {
        if let Some(b) = o.stored_bytes {
            *stored.entry(o.tenant.as_str()).or_default() += b;
        }
    }
    for (tenant, b) in &stored {
        assert_eq!(
            value(&m, "backup_tenant_stored_bytes", &[t, ("tenant", *tenant)]),
            Some(*b as f64)
        );
    }

    let until = now + SignedDuration::from_secs(1);
    let mut last: BTreeMap<(String, &str), Timestamp> = BTreeMap::new();
    for e in h.world.expected_audit(since, until, &Scope::all()) {
        let tenant = if e.tenant.is_empty() {
            "unknown".to_owned()
        } else {
            e.tenant
        };
        let at = last.entry((tenant, e.action.as_str())).or_insert(e.time);
        *at = (*at).max(e.time);
    }
    assert!(
        last.keys().any(|(tenant, _)| tenant == "unknown"),
        "logins have no cluster"
    );
    for ((tenant, action), at) in &last {
        let labels = [t, ("tenant", tenant.as_str()), ("action", *action)];
        assert_eq!(
            value(&m, "backup_audit_last_event_timestamp_seconds", &labels),
            Some(secs(*at)),
            "{labels:?}"
        );
    }
    ex.stop().await;
}

/// `report` for last month over the simulated tower: the planted VMs get the status their
/// story implies, and the jobs and audit files hold exactly the world's records.
#[tokio::test]
async fn report_of_last_month_tells_the_planted_stories() {
    use std::collections::{BTreeSet, HashMap};

    use backup_exporter::report::progress::Mode;
    use backup_exporter::report::{Env, ReportArgs, Source, run_with};

    let h = start().await;
    let pw = h.secret("pw", DEMO_PASSWORD);
    let config = h.dir.path().join("report.yml");
    let text = format!(
        "compliance:\n  rpo: 24h\n  rules:\n    - match: {{object: \"test-*\"}}\n      exclude: test systems\n{}",
        h.config(
            "",
            &format!("username: {DEMO_USER}\npassword_file: {}", pw.display())
        )
    );
    std::fs::write(&config, text).unwrap();
    let out = h.dir.path().join("out");
    let args = ReportArgs {
        config,
        month: None,
        from: None,
        to: None,
        out: out.clone(),
        targets: Vec::new(),
        keep_going: false,
        source: Source::Api,
        prometheus_url: None,
        evidence: Default::default(),
    };
    let env = Env {
        clock: h.clock.clone(),
        progress: Mode::Quiet,
        ..Env::default()
    };
    run_with(&args, &env).await.unwrap();

    let read = |name: &str| -> Vec<HashMap<String, String>> {
        let mut r = csv::Reader::from_path(out.join(name)).unwrap();
        let headers = r.headers().unwrap().clone();
        r.records()
            .map(|rec| {
                headers
                    .iter()
                    .zip(rec.unwrap().iter())
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
            .collect()
    };
    let rows = read("compliance-2026-02.csv");
    let status: HashMap<&str, &str> = rows
        .iter()
        .map(|r| (r["object"].as_str(), r["status"].as_str()))
        .collect();
    assert_eq!(status["test-web-05"], "excluded");
    assert_eq!(status["test-db-06"], "excluded");
    assert_eq!(status["scratch-vm-03"], "unprotected");
    assert_eq!(status["legacy-ftp-04"], "unprotected");
    assert_eq!(status["erp-db-01"], "non_compliant");
    let never = rows.iter().find(|r| r["object"] == "erp-db-01").unwrap();
    assert_eq!(never["reason"], "never succeeded");
    assert!(
        !status.contains_key("new-app-07"),
        "created after the period"
    );
    assert!(!status.contains_key("old-vm-99"), "in the recycle bin");

    let from: Timestamp = "2026-02-01T00:00:00Z".parse().unwrap();
    let to: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
    let expected: BTreeSet<String> = h
        .world
        .expected_jobs(h.now(), from, Some(to), Tower::Current, &Scope::all())
        .into_iter()
        .filter(|j| j.result.is_finished())
        .map(|j| j.id)
        .collect();
    let written: BTreeSet<String> = read("jobs-2026-02.csv")
        .into_iter()
        .map(|r| r["job_id"].clone())
        .collect();
    assert_eq!(written, expected);
    let audit: BTreeSet<String> = read("audit-2026-02.csv")
        .into_iter()
        .map(|r| r["event_id"].clone())
        .collect();
    let expected: BTreeSet<String> = h
        .world
        .expected_audit(from, to, &Scope::all())
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(audit, expected);
}
