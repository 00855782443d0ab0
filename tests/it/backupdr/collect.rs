//! Refreshes and reports: what the adapter reads equals the simulated world.

use super::*;

/// The console's words, read independently of the adapter's table.
pub fn expected_result(status: &str) -> JobResult {
    match status {
        "succeeded" => JobResult::Success,
        "failed" => JobResult::Failed,
        "canceled" => JobResult::Cancelled,
        "queued" | "running" => JobResult::Running,
        other => panic!("the simulator made up {other}"),
    }
}

pub fn expected_kind(class: &str) -> JobKind {
    match class {
        "snapshot" | "OnVault" | "DirectOnVault" | "dedup" => JobKind::Backup,
        "StreamSnap" => JobKind::Replication,
        "mount" | "restore" => JobKind::Restore,
        "unmount" => JobKind::Other,
        other => panic!("the simulator made up {other}"),
    }
}

#[tokio::test]
async fn collect_matches_the_simulated_world() {
    let env = start(24, SimOptions::default()).await;
    let adapter = env.adapter();
    let w = env.window();
    let c = adapter.collect(w).await;
    let world = &env.world;
    let now = env.now();

    // Inventory: every application, with its appliance, template and restore points.
    let objects = c.inventory.expect("inventory");
    assert_eq!(objects.len(), world.apps.len());
    let by_id: HashMap<&str, _> = objects.iter().map(|o| (o.id.as_str(), o)).collect();
    for app in &world.apps {
        let o = by_id[app.id.as_str()];
        assert_eq!(o.name, app.name);
        assert_eq!(o.object_type, app.apptype);
        assert_eq!(o.tenant, world.appliances[app.appliance].name);
        let template = world.template_of(app);
        assert_eq!(
            o.policy,
            template.map(|t| t.name).unwrap_or(""),
            "{}",
            app.name
        );
        assert_eq!(o.protected, app.protected(), "{}", app.name);
        assert_eq!(o.policy_rpo, template.map(|t| t.rpo()), "{}", app.name);
        let images: Vec<_> = world
            .images(now, Some(app.index))
            .into_iter()
            .filter(|i| i.jobclass != "mount")
            .collect();
        assert_eq!(o.restore_points, Some(images.len() as u64), "{}", app.name);
        let latest = images.iter().map(|i| i.consistency).max();
        assert_eq!(o.latest_restore_point, latest, "{}", app.name);
        assert_eq!(o.last_success_hint, latest);
        if latest.is_some() {
            assert_eq!(o.protected_bytes, Some(app.size_bytes));
        }
    }
    assert_eq!(
        by_id["400000"].restore_points,
        Some(0),
        "never succeeded, no image"
    );
    assert!(!by_id["400068"].protected, "the unprotected application");
    assert!(!by_id["400085"].protected, "schedule turned off");

    // Jobs: every job that ended in the window, and every job still going.
    let jobs = c.jobs.expect("jobs");
    let expected: BTreeMap<String, _> = world
        .jobs(now, w.since - SignedDuration::from_hours(5), now, None)
        .into_iter()
        .filter(|j| !j.ended() || j.end >= w.since)
        .map(|j| (j.id(), j))
        .collect();
    let got: BTreeMap<&str, _> = jobs.iter().map(|j| (j.id.as_str(), j)).collect();
    assert_eq!(
        got.keys().copied().collect::<BTreeSet<_>>(),
        expected.keys().map(String::as_str).collect::<BTreeSet<_>>()
    );
    for (id, sj) in &expected {
        let j = got[id.as_str()];
        assert_eq!(j.object_id, world.apps[sj.app].id);
        assert_eq!(j.vendor_status, sj.status);
        assert_eq!(j.result, expected_result(sj.status), "{id}");
        assert_eq!(j.kind, expected_kind(sj.jobclass), "{id}");
        if sj.ended() {
            assert_eq!(j.end, Some(sj.end));
            assert_eq!(j.start, Some(sj.start));
            let secs = sj.end.duration_since(sj.start).as_secs() as u64;
            assert_eq!(j.duration, Some(Duration::from_secs(secs)));
        } else {
            assert_eq!(j.end, None);
        }
        assert_eq!(j.error_code.as_deref(), sj.error.map(|e| e.0));
        if sj.status == "canceled" {
            assert!(
                j.error_message
                    .as_deref()
                    .is_some_and(|m| m.contains("canceled"))
            );
        } else {
            assert_eq!(j.error_message.as_deref(), sj.error.map(|e| e.1));
        }
    }
    for r in [JobResult::Success, JobResult::Failed, JobResult::Running] {
        assert!(
            jobs.iter().any(|j| j.result == r),
            "no {r:?} job in the window"
        );
    }

    // Storage: every pool, named with its appliance; OnVault buckets have no capacity.
    let storage = c.storage.expect("storage");
    let pools = world.pools(now);
    assert_eq!(storage.pools.len(), pools.len());
    for (p, sp) in storage.pools.iter().zip(&pools) {
        assert_eq!(
            p.name,
            format!("{}/{}", world.appliances[sp.appliance].name, sp.name)
        );
        let cap = (sp.capacity_mb > 0).then_some(sp.capacity_mb * MIB);
        assert_eq!(p.capacity_bytes, cap);
        assert_eq!(p.used_bytes, Some(sp.usage_mb * MIB));
    }
    let dr = &world.appliances[3];
    let dr_used = storage
        .tenants
        .iter()
        .find(|(t, _)| *t == dr.name)
        .unwrap()
        .1;
    assert_eq!(
        dr_used,
        pools
            .iter()
            .filter(|p| p.appliance == 3)
            .map(|p| p.usage_mb * MIB)
            .sum::<u64>()
    );
    assert!(pools.iter().any(|p| p.capacity_mb >= 10 * MIB_PER_TIB));

    // Warnings: appliance, pools, failure streaks and events, each with its category.
    let warnings = c.warnings.expect("warnings");
    let of = |cat: &str| {
        warnings
            .iter()
            .filter(|w| w.category == cat)
            .collect::<Vec<_>>()
    };
    let appl = of(CATEGORY_APPLIANCE);
    assert_eq!(
        appl.len(),
        world.appliances.iter().filter(|a| !a.reachable).count()
    );
    assert_eq!(appl[0].tenant, dr.name);
    assert_eq!(appl[0].severity, Severity::Critical);
    let storage_w = of(CATEGORY_STORAGE);
    let want: Vec<Severity> = pools
        .iter()
        .filter(|p| p.capacity_mb > 0 && p.pct() >= f64::from(p.warnpct))
        .map(|p| {
            if p.pct() >= f64::from(p.safepct) {
                Severity::Critical
            } else {
                Severity::Warning
            }
        })
        .collect();
    assert_eq!(
        storage_w.iter().map(|w| w.severity).collect::<Vec<_>>(),
        want
    );
    assert!(want.contains(&Severity::Warning) && want.contains(&Severity::Critical));
    let streaks: BTreeSet<&str> = of(CATEGORY_JOB_FAILURES)
        .iter()
        .map(|w| w.object_id.as_deref().unwrap())
        .collect();
    let mut want_streaks = BTreeSet::new();
    for app in &world.apps {
        let mut runs: Vec<_> = expected
            .values()
            .filter(|j| {
                j.app == app.index && j.ended() && expected_kind(j.jobclass) == JobKind::Backup
            })
            .filter(|j| j.status != "canceled")
            .collect();
        runs.sort_by_key(|j| std::cmp::Reverse(j.end));
        if runs.iter().take_while(|j| j.status == "failed").count() >= FAILURE_STREAK {
            want_streaks.insert(app.id.as_str());
        }
    }
    assert_eq!(streaks, want_streaks);
    assert!(
        streaks.contains("400000") && streaks.contains("400017"),
        "{streaks:?}"
    );
    let events = of(CATEGORY_EVENT);
    let want_events = world
        .events(now, w.since, now)
        .into_iter()
        .filter(|e| e.requires_clearing && e.status == "new")
        .count();
    assert_eq!(events.len(), want_events);
    assert!(want_events > 0);
    assert!(warnings.iter().all(|w| !w.category.contains(' ')));

    // Audit: changes only (reads are not exported), without the session prefix.
    let audit = c.audit.expect("audit");
    let want: Vec<_> = world
        .audit(now, w.since, now)
        .into_iter()
        .filter(|a| !a.command.starts_with("GET "))
        .collect();
    assert_eq!(
        audit.iter().map(|a| a.id.clone()).collect::<Vec<_>>(),
        want.iter()
            .map(|a| a.number.to_string())
            .collect::<Vec<_>>()
    );
    for (e, a) in audit.iter().zip(&want) {
        assert_eq!(e.time, a.date);
        assert_eq!(e.actor, a.username);
        assert!(!e.message.contains("Session"), "{}", e.message);
        let action = if a.command.starts_with("POST ") && a.command.contains("/session ") {
            AuditAction::Login
        } else if a.command.contains("/expire")
            || (a.command.starts_with("DELETE ") && !a.command.contains("/session/"))
        {
            AuditAction::Delete
        } else if a.command.starts_with("PUT ") {
            AuditAction::Modify
        } else if a.command.starts_with("POST ") && a.command.contains("/sla ") {
            AuditAction::Create
        } else {
            AuditAction::Other
        };
        assert_eq!(e.action, action, "{}", a.command);
    }
    for action in [
        AuditAction::Login,
        AuditAction::Create,
        AuditAction::Modify,
        AuditAction::Delete,
        AuditAction::Other,
    ] {
        assert!(
            audit.iter().any(|e| e.action == action),
            "no {action:?} event"
        );
    }
}

#[tokio::test]
async fn paging_walks_every_page_under_the_server_cap() {
    let opts = SimOptions {
        page_cap: 7,
        ..SimOptions::default()
    };
    let env = start(30, opts).await;
    let adapter = env.adapter();
    let w = env.window();
    let c = adapter.collect(w).await;
    let jobs = c.jobs.expect("jobs");
    let want = env
        .world
        .jobs(
            env.now(),
            w.since - SignedDuration::from_hours(5),
            env.now(),
            None,
        )
        .into_iter()
        .filter(|j| !j.ended() || j.end >= w.since)
        .count();
    assert!(want > 100, "enough jobs for many pages: {want}");
    assert_eq!(jobs.len(), want);
    let ids: BTreeSet<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids.len(), jobs.len(), "no job twice");
    assert_eq!(c.inventory.unwrap().len(), 30);
    assert!(
        env.requests("200") > (want / 7) as u64,
        "{} requests",
        env.requests("200")
    );
}

#[tokio::test]
async fn history_reads_the_period_and_each_older_last_success() {
    let env = start(12, SimOptions::default()).await;
    let adapter = env.adapter();
    let now = env.now();
    let period = Period {
        from: now - SignedDuration::from_hours(72),
        to: now - SignedDuration::from_hours(24),
    };
    let h = adapter
        .history(period, backup_exporter::adapter::REPORT_LOOKBACK)
        .await
        .unwrap();
    assert_eq!(h.objects.len(), env.world.apps.len());
    let oldest = env
        .world
        .jobs(now, now - SignedDuration::from_hours(46 * 24), now, None)
        .into_iter()
        .filter(|j| j.status != "queued")
        .map(|j| j.start)
        .min();
    assert!(h.objects.iter().all(|o| o.history_start == oldest));
    assert!(oldest.unwrap() > now - SignedDuration::from_hours(45 * 24 + 1));

    let got: BTreeSet<&str> = h.jobs.iter().map(|j| j.id.as_str()).collect();
    let in_period: Vec<String> = env
        .world
        .jobs(
            now,
            period.from - SignedDuration::from_hours(5),
            period.to,
            None,
        )
        .into_iter()
        .filter(|j| j.ended() && j.end >= period.from && j.end < period.to)
        .map(|j| j.id())
        .collect();
    assert!(!in_period.is_empty());
    for id in &in_period {
        assert!(
            got.contains(id.as_str()),
            "job {id} of the period is missing"
        );
    }
    // The application whose schedule was turned off twenty days ago: its last success is
    // older than the margin read in one go, and was looked up on its own.
    let off = &env.world.apps[5];
    let last = env
        .world
        .jobs(now, now - SignedDuration::from_hours(45 * 24), now, Some(5))
        .into_iter()
        .filter(|j| j.status == "succeeded" && j.is_capture())
        .max_by_key(|j| j.end)
        .unwrap();
    assert!(last.end < period.from - SignedDuration::from_hours(14 * 24));
    assert!(
        got.contains(last.id().as_str()),
        "last success of {} not read",
        off.name
    );
    assert!(
        h.audit
            .iter()
            .all(|a| a.time >= period.from && a.time < period.to)
    );
    assert!(!h.audit.is_empty());
}

#[tokio::test]
async fn a_console_without_events_still_warns() {
    let opts = SimOptions {
        events: false,
        ..SimOptions::default()
    };
    let env = start(10, opts).await;
    let c = env.adapter().collect(env.window()).await;
    let w = c.warnings.expect("warnings without /event");
    assert!(w.iter().all(|w| w.category != CATEGORY_EVENT));
    assert!(w.iter().any(|w| w.category == CATEGORY_STORAGE));
}

#[tokio::test]
async fn jobs_appear_as_the_clock_moves() {
    let env = start(10, SimOptions::default()).await;
    let adapter = env.adapter();
    let first = adapter.collect(env.window()).await.jobs.unwrap();
    env.ctx.clock.advance(Duration::from_secs(6 * 3600));
    let later = adapter.collect(env.window()).await.jobs.unwrap();
    let max = |js: &[backup_exporter::model::Job]| js.iter().filter_map(|j| j.end).max().unwrap();
    assert!(max(&later) > max(&first) + SignedDuration::from_hours(4));
}

#[tokio::test]
async fn probe_says_what_would_be_scraped() {
    let env = start(12, SimOptions::default()).await;
    let s = env.adapter().probe().await.unwrap();
    assert_eq!(
        s,
        format!(
            "API base {}: Backup and DR console AGM 240207.03.04: {} appliances, {} applications",
            env.base.join("actifio").unwrap(),
            env.world.appliances.len(),
            env.world.apps.len()
        )
    );
}
