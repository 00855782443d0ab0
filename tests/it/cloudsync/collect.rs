//! What a refresh yields, compared with the simulator's world.

use super::*;

#[tokio::test]
async fn jobs_follow_the_status_table() {
    let h = start(SimOptions::default()).await;
    h.advance_to_every_status();
    let adapter = h.adapter(&h.password_target(""));
    let window = h.window();
    let jobs = adapter.collect(window).await.jobs.expect("jobs");
    let by_object: HashMap<&str, _> = jobs.iter().map(|j| (j.object_id.as_str(), j)).collect();
    assert_eq!(by_object.len(), jobs.len(), "one job per relationship");
    let w = h.world();
    for (r, rel) in w.relationships.iter().enumerate() {
        let a = w.activity(r, window.now).unwrap();
        let result = expected_result(&a);
        let in_window = a.end.is_none_or(|e| e >= window.since);
        let Some(job) = by_object.get(rel.id.as_str()) else {
            assert!(!in_window, "{} missing: {a:?}", rel.name());
            continue;
        };
        assert!(in_window, "{} is outside the window", rel.name());
        assert_eq!(job.id, format!("{}@{}", rel.id, a.start));
        assert_eq!(job.result, result, "{} {}", a.status, a.files_failed);
        assert_eq!(job.vendor_status, a.status);
        assert_eq!(job.kind.as_str(), "sync");
        assert_eq!(job.start, Some(a.start));
        assert_eq!(job.end, a.end);
        assert_eq!(job.transferred_bytes, Some(a.bytes_copied));
        if result.is_finished() {
            assert_eq!(job.duration, Some(Duration::from_millis(a.execution_ms)));
        }
        match result {
            JobResult::Failed => assert_eq!(
                job.error_message.as_deref(),
                Some(a.failure_message.as_str())
            ),
            JobResult::Warning => assert!(
                job.error_message
                    .as_deref()
                    .unwrap()
                    .starts_with(&format!("{} files failed", a.files_failed))
            ),
            _ => {}
        }
    }
    let results: HashSet<JobResult> = jobs.iter().map(|j| j.result).collect();
    for r in [
        JobResult::Success,
        JobResult::Warning,
        JobResult::Failed,
        JobResult::Cancelled,
        JobResult::Running,
    ] {
        assert!(results.contains(&r), "no {r:?} job");
    }
    let words: HashSet<&str> = jobs.iter().map(|j| j.vendor_status.as_str()).collect();
    assert!(words.contains("PENDING") && words.contains("RUNNING"));
}

#[tokio::test]
async fn a_new_activity_is_a_new_job_and_an_old_one_keeps_its_id() {
    let h = start(SimOptions::default()).await;
    let adapter = h.adapter(&h.password_target(""));
    let first = adapter.collect(h.window()).await.jobs.unwrap();
    let before = h.now();
    h.ctx.clock.advance(Duration::from_secs(3600));
    let second = adapter.collect(h.window()).await.jobs.unwrap();
    let ids = |jobs: &[backup_exporter::model::Job]| -> HashMap<String, String> {
        jobs.iter()
            .map(|j| (j.object_id.clone(), j.id.clone()))
            .collect()
    };
    let (a, b) = (ids(&first), ids(&second));
    let w = h.world();
    let mut changed = 0;
    for (r, rel) in w.relationships.iter().enumerate() {
        let (Some(x), Some(y)) = (a.get(&rel.id), b.get(&rel.id)) else {
            continue;
        };
        let same_run = w.latest_run(r, before) == w.latest_run(r, h.now());
        assert_eq!(x == y, same_run, "{}", rel.name());
        changed += usize::from(!same_run);
    }
    assert!(changed > 0, "the hourly relationship started a new run");
}

#[tokio::test]
async fn audit_events_are_read_page_by_page() {
    let h = start(SimOptions {
        audit_page_size: 7,
        ..SimOptions::default()
    })
    .await;
    let adapter = h.adapter(&h.password_target(&format!("    audit_url: {}\n", h.base)));
    let window = h.window();
    let events = adapter.collect(window).await.audit.expect("audit");
    let w = h.world();
    let mut want = Vec::new();
    for (i, acc) in w.accounts.iter().enumerate() {
        for e in w.audit(i, window.since, window.now, window.now) {
            want.push((
                format!("{}/{}", e.service, e.request_id),
                e.start,
                acc.name.clone(),
            ));
        }
    }
    let got: Vec<_> = events
        .iter()
        .map(|e| (e.id.clone(), e.time, e.tenant.clone()))
        .collect();
    assert_eq!(
        got.iter().collect::<BTreeSet<_>>(),
        want.iter().collect::<BTreeSet<_>>()
    );
    assert_eq!(got.len(), want.len(), "no duplicates");
    assert!(want.len() > 3 * 7, "several pages per account");
    let actions: HashSet<AuditAction> = events.iter().map(|e| e.action).collect();
    for a in [
        AuditAction::Create,
        AuditAction::Modify,
        AuditAction::Delete,
        AuditAction::Login,
        AuditAction::Error,
        AuditAction::Other,
    ] {
        assert!(actions.contains(&a), "no {a:?} event");
    }
    let pages = h
        .sim
        .requests()
        .iter()
        .filter(|s| s.path.starts_with("/audit/"))
        .count();
    assert!(pages > 6);
}

#[tokio::test]
async fn without_audit_url_the_audit_collector_is_off_and_says_why() {
    let h = start(SimOptions::default()).await;
    let c = h.adapter(&h.password_target("")).collect(h.window()).await;
    match c.audit {
        Err(VendorError::Unsupported(why)) => assert!(why.contains("audit_url"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(
        !h.sim
            .requests()
            .iter()
            .any(|s| s.path.starts_with("/audit"))
    );
    assert!(c.inventory.is_ok());
}

#[tokio::test]
async fn unhealthy_data_brokers_are_warnings() {
    let h = start(SimOptions::default()).await;
    let warnings = h
        .adapter(&h.password_target(""))
        .collect(h.window())
        .await
        .warnings
        .expect("warnings");
    let w = h.world();
    let mut want: Vec<(String, Severity, &str)> = Vec::new();
    for b in &w.brokers {
        let tenant = w.accounts[w.groups[b.group].account].name.clone();
        match b.health {
            Health::Online => {}
            Health::Failed(_) => want.push((tenant, Severity::Critical, "data_broker_failed")),
            Health::NeverContacted => want.push((tenant, Severity::Warning, "data_broker_unknown")),
            Health::Silent(_) => want.push((tenant, Severity::Warning, "data_broker_unreachable")),
            Health::Outdated => want.push((tenant, Severity::Info, "data_broker_outdated")),
        }
    }
    let mut got: Vec<(String, Severity, &str)> = warnings
        .iter()
        .map(|x| (x.tenant.clone(), x.severity, x.category.as_str()))
        .collect();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert!(warnings.iter().all(|x| x.object_id.is_none()));
}

#[tokio::test]
async fn stored_bytes_per_account_come_from_the_relationship_statistics() {
    let h = start(SimOptions::default()).await;
    let storage = h
        .adapter(&h.password_target(""))
        .collect(h.window())
        .await
        .storage
        .expect("storage");
    let w = h.world();
    let mut want: Vec<(String, u64)> = (0..w.accounts.len())
        .map(|a| (w.accounts[a].name.clone(), w.stats(a, h.now()).total_bytes))
        .collect();
    let mut got = storage.tenants.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want);
    assert!(storage.pools.is_empty());
}

#[tokio::test]
async fn history_is_the_inventory_and_the_activities_cloud_sync_still_shows() {
    let h = start(SimOptions::default()).await;
    let adapter = h.adapter(&h.password_target(&format!("    audit_url: {}\n", h.base)));
    let to = h.now();
    let from = to - SignedDuration::from_hours(24 * 30);
    let hist = adapter
        .history(
            Period { from, to },
            backup_exporter::adapter::REPORT_LOOKBACK,
        )
        .await
        .expect("history");
    let w = h.world();
    assert_eq!(hist.objects.len(), w.relationships.len());
    assert_eq!(hist.jobs.len(), w.relationships.len(), "one activity each");
    for (r, rel) in w.relationships.iter().enumerate() {
        let a = w.activity(r, to).unwrap();
        let job = hist.jobs.iter().find(|j| j.object_id == rel.id).unwrap();
        assert_eq!(job.id, format!("{}@{}", rel.id, a.start));
    }
    let want: usize = (0..w.accounts.len())
        .map(|a| {
            w.audit(a, from, to, to)
                .iter()
                .filter(|e| e.start < to)
                .count()
        })
        .sum();
    assert_eq!(hist.audit.len(), want);
}

#[tokio::test]
async fn probe_says_what_would_be_scraped() {
    let h = start(SimOptions::default()).await;
    let line = h
        .adapter(&h.password_target(""))
        .probe()
        .await
        .expect("probe");
    let w = h.world();
    assert!(
        line.contains(&format!("{} relationships", w.relationships.len())),
        "{line}"
    );
    assert!(
        line.contains(&format!("{} data brokers", w.brokers.len())),
        "{line}"
    );
    assert!(
        line.contains("3 account(s) (Acme Production, Acme Research, Globex)"),
        "{line}"
    );
    assert!(line.contains("audit off"), "{line}");
}

#[tokio::test]
async fn the_demo_config_points_at_the_simulator() {
    let clock = Clock::manual(T0.parse().unwrap());
    let ctx = SimContext {
        clock: clock.clone(),
        ..SimContext::new(3, 12)
    };
    let server = SimServer::start("127.0.0.1:0", ctx, backup_exporter::vendors::simulators())
        .await
        .unwrap();
    let (_dir, settings) = crate::common::demo_settings(&server);
    let actx = AdapterContext {
        metrics: ApiMetrics::default(),
        clock: clock.clone(),
    };
    let targets: Vec<_> = settings
        .targets
        .iter()
        .filter(|t| t.vendor == Vendor::Cloudsync)
        .collect();
    assert_eq!(targets.len(), 2);
    let world = World::new(3, 12, clock.now());
    let window = Window {
        now: clock.now(),
        since: clock.now() - SignedDuration::from_hours(LOOKBACK_H),
    };
    for t in targets {
        let adapter = backup_exporter::vendors::build(t, &actx).unwrap();
        let c = adapter.collect(window).await;
        let objects = c.inventory.expect("inventory");
        if t.name == "cloudsync-demo" {
            assert_eq!(objects.len(), world.relationships.len());
            assert!(c.audit.is_ok());
        } else {
            assert_eq!(objects.len(), world.relationships_of(2).count());
            assert!(matches!(c.audit, Err(VendorError::Unsupported(_))));
        }
    }
}
