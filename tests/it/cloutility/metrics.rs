//! The real exporter over the simulator: `/metrics` values equal the world's.

use super::*;

/// The newest finished backup per consumer and the failures since its last success, as
/// contract §3 defines them, from the world's jobs of the window.
struct Expected {
    last_attempt: Timestamp,
    last_result: JobResult,
    last_duration: Option<i64>,
    consecutive_failures: u64,
}

fn expected_attempts(
    w: &World,
    c: &Consumer,
    since: Timestamp,
    now: Timestamp,
) -> Option<Expected> {
    let ids = world_jobs(w, c, since, now, now);
    let mut runs: Vec<_> = w
        .jobs(c.id, since, now, now)
        .into_iter()
        .filter(|j| {
            ids.contains(&j.id) && j.expected_kind == JobKind::Backup && j.expected.is_finished()
        })
        .collect();
    runs.sort_by(|a, b| {
        a.time()
            .cmp(&b.time())
            .then_with(|| a.id.to_string().cmp(&b.id.to_string()))
    });
    let last = runs.last()?;
    let mut failures = 0;
    for j in &runs {
        if j.expected.is_success(false) {
            failures = 0;
        } else if j.expected.is_failure() {
            failures += 1;
        }
    }
    Some(Expected {
        last_attempt: last.time(),
        last_result: last.expected,
        last_duration: last.duration_s,
        consecutive_failures: failures,
    })
}

/// What `/metrics` says once the exporter has refreshed at `at`.
async fn scrape_after_refresh(ex: &backup_exporter::exporter::Exporter, at: Timestamp) -> String {
    for _ in 0..600 {
        let (status, body) = crate::common::get(&format!("http://{}/metrics", ex.addr)).await;
        assert_eq!(status, 200);
        let fetched = crate::common::value(
            &body,
            "backup_collector_last_success_timestamp_seconds",
            &[("target", "safespring"), ("collector", "audit")],
        );
        let all_ok = ["inventory", "jobs", "warnings", "storage"]
            .iter()
            .all(|c| {
                crate::common::value(
                    &body,
                    "backup_collector_last_success_timestamp_seconds",
                    &[("target", "safespring"), ("collector", c)],
                ) == Some(at.as_second() as f64)
            });
        if fetched == Some(at.as_second() as f64) && all_ok {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no refresh at {at}");
}

#[tokio::test]
async fn exported_metrics_match_the_simulated_world() {
    use crate::common::{samples, value};

    let h = Harness::start().await;
    let w = h.world();
    let settings = Settings::parse(&h.config("    interval: 1s\n"), Path::new("test.yml")).unwrap();
    let ex =
        backup_exporter::exporter::Exporter::start(&settings, "127.0.0.1:0", h.clock.clone(), None)
            .await
            .unwrap();
    let t0 = h.clock.now();
    let m = scrape_after_refresh(&ex, t0).await;
    let since = clock::before(t0, LOOKBACK);
    let target = ("target", "safespring");

    assert_eq!(value(&m, "backup_target_up", &[target]), Some(1.0));
    assert_eq!(
        value(&m, "backup_exported_objects", &[target]),
        Some(w.consumers.len() as f64)
    );
    for c in &w.consumers {
        let id = c.id.to_string();
        let obj = [target, ("object_id", id.as_str())];
        let v = |name: &str| value(&m, name, &obj);
        let node = c.node.as_ref();
        let policy = node.map_or("", |n| n.domain.1);
        let info = [
            target,
            ("object_id", id.as_str()),
            ("object", c.name.as_str()),
            ("tenant", tenant_of(w, c)),
            ("policy", policy),
        ];
        assert_eq!(
            value(&m, "backup_object_info", &info),
            Some(1.0),
            "{}",
            c.name
        );
        let protected = protected(c);
        assert_eq!(
            v("backup_object_protected"),
            Some(if protected { 1.0 } else { 0.0 }),
            "{}",
            c.name
        );
        let last = w.last_success(c.id, t0).and_then(|j| j.completed);
        assert_eq!(
            v("backup_object_last_success_timestamp_seconds"),
            Some(last.map_or(0.0, |t| t.as_second() as f64)),
            "{}",
            c.name
        );
        if let Some(b) = stored_bytes(c) {
            assert_eq!(
                v("backup_object_stored_bytes"),
                Some(b as f64),
                "{}",
                c.name
            );
        }
        if let Some(e) = expected_attempts(w, c, since, t0) {
            assert_eq!(
                v("backup_object_last_attempt_timestamp_seconds"),
                Some(e.last_attempt.as_second() as f64),
                "{}",
                c.name
            );
            let result = [
                target,
                ("object_id", id.as_str()),
                ("result", e.last_result.as_str()),
            ];
            assert_eq!(
                value(&m, "backup_object_last_result", &result),
                Some(1.0),
                "{}",
                c.name
            );
            assert_eq!(
                v("backup_object_consecutive_failures"),
                Some(e.consecutive_failures as f64),
                "{}",
                c.name
            );
            if let Some(d) = e.last_duration {
                assert_eq!(
                    v("backup_object_last_duration_seconds"),
                    Some(d as f64),
                    "{}",
                    c.name
                );
            }
        }
    }
    let never = w
        .consumers
        .iter()
        .find(|c| c.name == "legacy-erp-01")
        .unwrap()
        .id
        .to_string();
    let never_failures = value(
        &m,
        "backup_object_consecutive_failures",
        &[target, ("object_id", never.as_str())],
    );
    assert!(
        never_failures.unwrap() >= 2.0,
        "never succeeded: {never_failures:?}"
    );

    // Jobs of the window by tenant, kind and result; running jobs by tenant and kind.
    let mut window: BTreeMap<(String, JobKind, JobResult), f64> = BTreeMap::new();
    let mut running: BTreeMap<(String, JobKind), f64> = BTreeMap::new();
    for c in &w.consumers {
        let ids = world_jobs(w, c, since, t0, t0);
        for j in w
            .jobs(c.id, since, t0, t0)
            .into_iter()
            .filter(|j| ids.contains(&j.id))
        {
            let tenant = tenant_of(w, c).to_owned();
            if j.expected == JobResult::Running {
                *running.entry((tenant, j.expected_kind)).or_default() += 1.0;
            } else {
                *window
                    .entry((tenant, j.expected_kind, j.expected))
                    .or_default() += 1.0;
            }
        }
    }
    assert!(!running.is_empty(), "an evening has running backups");
    for ((tenant, kind, result), n) in &window {
        let l = [
            target,
            ("tenant", tenant.as_str()),
            ("kind", kind.as_str()),
            ("result", result.as_str()),
        ];
        assert_eq!(value(&m, "backup_jobs_window", &l), Some(*n), "{l:?}");
    }
    let total_window: f64 = samples(&m)
        .iter()
        .filter(|(k, _)| {
            k.starts_with("backup_jobs_window{") && k.contains("target=\"safespring\"")
        })
        .map(|(_, v)| v)
        .sum();
    assert_eq!(total_window, window.values().sum::<f64>());
    for ((tenant, kind), n) in &running {
        let l = [target, ("tenant", tenant.as_str()), ("kind", kind.as_str())];
        assert_eq!(value(&m, "backup_jobs_running", &l), Some(*n), "{l:?}");
    }

    // Warnings by tenant, severity and category.
    let mut warnings: BTreeMap<(String, &str, &str), f64> = BTreeMap::new();
    for c in &w.consumers {
        let Some(r) = w.latest_report(c.id, t0).filter(|r| !r.errors_deactivated) else {
            continue;
        };
        for x in &r.warnings {
            let severity = if x.status == 2 { "critical" } else { "warning" };
            *warnings
                .entry((tenant_of(w, c).to_owned(), severity, category(x.type_id)))
                .or_default() += 1.0;
        }
    }
    assert!(warnings.len() > 3);
    for ((tenant, severity, cat), n) in &warnings {
        let l = [
            target,
            ("tenant", tenant.as_str()),
            ("severity", *severity),
            ("category", *cat),
        ];
        assert_eq!(value(&m, "backup_warnings", &l), Some(*n), "{l:?}");
    }

    // Storage pools and bytes per tenant.
    for p in &w.pools {
        let cap = model::mib_to_bytes(p.total_mb);
        let pool = [target, ("pool", p.name)];
        assert_eq!(
            value(&m, "backup_storage_capacity_bytes", &pool),
            Some(cap as f64)
        );
        assert_eq!(
            value(&m, "backup_storage_used_bytes", &pool),
            Some((cap - model::mib_to_bytes(p.free_mb)) as f64)
        );
    }
    let mut tenants: BTreeMap<&str, u64> = BTreeMap::new();
    for c in &w.consumers {
        *tenants.entry(tenant_of(w, c)).or_default() += stored_bytes(c).unwrap_or(0);
    }
    for (tenant, bytes) in &tenants {
        let l = [target, ("tenant", *tenant)];
        assert_eq!(
            value(&m, "backup_tenant_stored_bytes", &l),
            Some(*bytes as f64),
            "{tenant}"
        );
    }

    // Audit: the newest event per tenant and action.
    let mut newest: BTreeMap<(&str, AuditAction), i64> = BTreeMap::new();
    for c in &w.consumers {
        for a in w.audit(c.id, since, t0, t0) {
            let e = newest
                .entry((tenant_of(w, c), action(a.audit_type)))
                .or_default();
            *e = (*e).max(a.time.as_second());
        }
    }
    assert!(newest.len() > 5);
    for ((tenant, act), t) in &newest {
        let l = [target, ("tenant", *tenant), ("action", act.as_str())];
        assert_eq!(
            value(&m, "backup_audit_last_event_timestamp_seconds", &l),
            Some(*t as f64),
            "{l:?}"
        );
    }

    // Six hours on: what finished in between is counted once; the first refresh's history
    // is not counted.
    h.clock.advance(Duration::from_secs(6 * 3600));
    let t1 = h.clock.now();
    let m = scrape_after_refresh(&ex, t1).await;
    let since1 = clock::before(t1, LOOKBACK);
    let mut counted: BTreeMap<(String, JobKind, JobResult), f64> = BTreeMap::new();
    let mut audited: BTreeMap<(String, AuditAction), f64> = BTreeMap::new();
    for c in &w.consumers {
        let before: BTreeSet<u64> = world_jobs(w, c, since, t0, t0)
            .into_iter()
            .filter(|id| {
                w.jobs(c.id, since, t0, t0)
                    .iter()
                    .any(|j| j.id == *id && j.expected.is_finished())
            })
            .collect();
        let ids = world_jobs(w, c, since1, t1, t1);
        for j in w.jobs(c.id, since1, t1, t1) {
            if ids.contains(&j.id) && j.expected.is_finished() && !before.contains(&j.id) {
                *counted
                    .entry((tenant_of(w, c).to_owned(), j.expected_kind, j.expected))
                    .or_default() += 1.0;
            }
        }
        let seen: BTreeSet<u64> = w.audit(c.id, since, t0, t0).iter().map(|a| a.id).collect();
        for a in w
            .audit(c.id, since1, t1, t1)
            .into_iter()
            .filter(|a| !seen.contains(&a.id))
        {
            *audited
                .entry((tenant_of(w, c).to_owned(), action(a.audit_type)))
                .or_default() += 1.0;
        }
    }
    assert!(
        counted.values().sum::<f64>() > 10.0,
        "backups ran in six evening hours"
    );
    for ((tenant, kind, result), n) in &counted {
        let l = [
            target,
            ("tenant", tenant.as_str()),
            ("kind", kind.as_str()),
            ("result", result.as_str()),
        ];
        assert_eq!(value(&m, "backup_jobs_total", &l), Some(*n), "{l:?}");
    }
    let total: f64 = samples(&m)
        .iter()
        .filter(|(k, _)| k.starts_with("backup_jobs_total{") && k.contains("target=\"safespring\""))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(total, counted.values().sum::<f64>());
    assert!(
        !audited.is_empty(),
        "audit entries were written in six hours"
    );
    for ((tenant, act), n) in &audited {
        let l = [
            target,
            ("tenant", tenant.as_str()),
            ("action", act.as_str()),
        ];
        assert_eq!(
            value(&m, "backup_audit_events_total", &l),
            Some(*n),
            "{l:?}"
        );
    }
    ex.stop().await;
}
