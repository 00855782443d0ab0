//! What real towers vary in: the forms of `url` people give (the bare tower host or a proxy's
//! sub-path, with or without CloudTower's API path `/v2/api`, with or without a trailing
//! slash), and listings the account does not have: one refused listing skips that part, the
//! collector succeeds with the rest, the part is named in `skipped` (and
//! `backup_collector_part_refused`); a 5xx still fails it.

use backup_exporter::adapter::SkippedPart;
use backup_exporter::model::CollectorKind;

use super::*;

fn parts(skipped: &[SkippedPart]) -> Vec<(CollectorKind, &'static str)> {
    skipped.iter().map(|p| (p.collector, p.part)).collect()
}

#[tokio::test]
async fn refused_alerts_leave_warnings_empty_and_everything_else_whole() {
    for status in [403, 404] {
        let h = start().await;
        let a = h.adapter("", &h.password_keys());
        h.fault(&format!("cloudtower:refuse=/v2/api/get-alerts@{status}"));
        let mut c = a.collect(h.window()).await;
        assert_eq!(parts(&c.skipped), [(CollectorKind::Warnings, "alerts")]);
        assert!(
            c.skipped[0].reason.contains("get-alerts")
                && c.skipped[0].reason.contains(&status.to_string()),
            "{:?}",
            c.skipped[0]
        );
        let warnings = std::mem::replace(
            &mut c.warnings,
            Ok(h.world.expected_warnings(h.now(), &Scope::all())),
        );
        assert_eq!(warnings.unwrap(), Vec::new());
        h.assert_matches_world(c, Tower::Current, &Scope::all());
    }
}

#[tokio::test]
async fn refused_audit_logs_leave_audit_empty_in_collect_and_history() {
    for status in [403, 404] {
        let h = start().await;
        let a = h.adapter("", &h.password_keys());
        h.fault(&format!(
            "cloudtower:refuse=/v2/api/get-user-audit-logs@{status}"
        ));
        let mut c = a.collect(h.window()).await;
        assert_eq!(
            parts(&c.skipped),
            [(CollectorKind::Audit, "user_audit_logs")]
        );
        let w = h.window();
        let audit = std::mem::replace(
            &mut c.audit,
            Ok(h.world.expected_audit(
                w.since,
                w.now + SignedDuration::from_secs(1),
                &Scope::all(),
            )),
        );
        assert_eq!(audit.unwrap(), Vec::new());
        h.assert_matches_world(c, Tower::Current, &Scope::all());

        let period = Period {
            from: h.now() - SignedDuration::from_hours(10 * 24),
            to: h.now(),
        };
        let history = a
            .history(period, backup_exporter::adapter::REPORT_LOOKBACK)
            .await
            .unwrap();
        assert!(history.audit.is_empty());
        assert_eq!(
            parts(&history.skipped),
            [(CollectorKind::Audit, "user_audit_logs")]
        );
        let expected = h.world.expected_jobs(
            h.now(),
            period.from,
            Some(period.to),
            Tower::Current,
            &Scope::all(),
        );
        let in_period = history
            .jobs
            .iter()
            .filter(|j| {
                j.result == JobResult::Running || j.time().is_some_and(|t| t >= period.from)
            })
            .count();
        assert_eq!(in_period, expected.len(), "the jobs are all there");
    }
}

/// A 404 on one backup listing of a 4.6 tower is that listing missing, not an older tower:
/// the other backup listings are still read, in this refresh and the next.
#[tokio::test]
async fn a_404_on_restore_points_skips_only_them() {
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    h.fault("cloudtower:refuse=/v2/api/get-backup-restore-points@404");
    for _ in 0..2 {
        let c = a.collect(h.window()).await;
        assert_eq!(
            parts(&c.skipped),
            [(CollectorKind::Inventory, "backup_restore_points")]
        );
        let w = h.window();
        let mut inventory = c.inventory.unwrap();
        inventory.sort_by(|a, b| a.id.cmp(&b.id));
        let mut want = h
            .world
            .expected_objects(w.now, Tower::Current, &Scope::all());
        want.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(inventory.len(), want.len());
        for (g, w) in inventory.iter().zip(&want) {
            assert_eq!(
                (&g.id, &g.policy, g.protected),
                (&w.id, &w.policy, w.protected)
            );
            assert_eq!(
                g.stored_bytes, None,
                "{}: no backup restore points read",
                g.name
            );
        }
        assert_eq!(
            c.jobs.unwrap(),
            h.world
                .expected_jobs(w.now, w.since, None, Tower::Current, &Scope::all()),
            "backup executions are still read"
        );
        let mut storage = c.storage.unwrap();
        storage.pools.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(
            storage,
            h.world
                .expected_storage(w.now, Tower::Current, &Scope::all())
        );
    }
}

#[tokio::test]
async fn refused_backup_plans_are_a_part_of_inventory_and_jobs() {
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    h.fault("cloudtower:refuse=/v2/api/get-backup-plans@403");
    let c = a.collect(h.window()).await;
    assert_eq!(
        parts(&c.skipped),
        [
            (CollectorKind::Inventory, "backup_plans"),
            (CollectorKind::Jobs, "backup_plans"),
        ]
    );
    let inventory = c.inventory.unwrap();
    assert!(!inventory.is_empty());
    assert!(
        inventory.iter().any(|o| o.protected),
        "snapshot plans still protect"
    );
    let jobs = c.jobs.unwrap();
    assert!(
        jobs.iter().any(|j| j.id.contains('/')),
        "snapshot plan runs are still jobs"
    );
    let w = h.window();
    let mut storage = c.storage.unwrap();
    storage.pools.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(
        storage,
        h.world
            .expected_storage(w.now, Tower::Current, &Scope::all()),
        "backup stores are still read"
    );
    // The probe counts with `get-backup-plans-connection`, which such a role is refused too.
    h.fault("cloudtower:refuse=/v2/api/get-backup-plans-connection@403");
    let probe = a.probe().await.unwrap();
    assert!(probe.contains("backup plans: refused ("), "{probe}");
    assert!(probe.contains(" VMs in 3 clusters"), "{probe}");
}

#[tokio::test]
async fn refused_listings_of_each_collector_are_parts() {
    let cases = [
        (
            "get-snapshot-plans",
            vec![
                (CollectorKind::Inventory, "snapshot_plans"),
                (CollectorKind::Jobs, "snapshot_plans"),
            ],
        ),
        (
            "get-vm-snapshots",
            vec![(CollectorKind::Inventory, "vm_snapshots")],
        ),
        (
            "get-snapshot-plan-tasks",
            vec![(CollectorKind::Jobs, "snapshot_plan_tasks")],
        ),
        ("get-tasks", vec![(CollectorKind::Jobs, "tasks")]),
        (
            "get-backup-plan-executions",
            vec![(CollectorKind::Jobs, "backup_plan_executions")],
        ),
        (
            "get-backup-target-executions",
            vec![(CollectorKind::Jobs, "backup_target_executions")],
        ),
        (
            "get-backup-store-repositories",
            vec![(CollectorKind::Storage, "backup_store_repositories")],
        ),
    ];
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    for (path, want) in cases {
        h.fault("cloudtower:clear");
        h.fault(&format!("cloudtower:refuse=/v2/api/{path}@403"));
        let c = a.collect(h.window()).await;
        assert_eq!(parts(&c.skipped), want, "{path}");
        for (name, ok) in [
            ("inventory", c.inventory.is_ok()),
            ("jobs", c.jobs.is_ok()),
            ("warnings", c.warnings.is_ok()),
            ("audit", c.audit.is_ok()),
            ("storage", c.storage.is_ok()),
        ] {
            assert!(ok, "{path} refused: {name} failed");
        }
    }
}

/// VMs and clusters are not parts: a tower always has them and every role sees them.
#[tokio::test]
async fn refused_vms_or_clusters_fail_their_collectors() {
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    h.fault("cloudtower:refuse=/v2/api/get-vms@403");
    let c = a.collect(h.window()).await;
    assert!(error_text(&c.inventory).contains("POST /v2/api/get-vms"));
    assert!(c.jobs.is_err());
    assert!(c.warnings.is_ok() && c.audit.is_ok() && c.storage.is_ok());
    h.fault("cloudtower:clear");
    h.fault("cloudtower:refuse=/v2/api/get-clusters@404");
    let c = a.collect(h.window()).await;
    assert!(error_text(&c.storage).contains("POST /v2/api/get-clusters"));
    assert!(c.inventory.is_ok() && c.jobs.is_ok());
    assert!(c.skipped.is_empty(), "{:?}", c.skipped);
}

/// A server error on the same listing is a failure: the collector keeps its last good data.
#[tokio::test]
async fn a_server_error_on_a_part_still_fails_its_collector() {
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    for (path, collector) in [
        ("get-alerts", "warnings"),
        ("get-user-audit-logs", "audit"),
        ("get-backup-restore-points", "inventory"),
        ("get-tasks", "jobs"),
    ] {
        h.fault("cloudtower:clear");
        h.fault(&format!("cloudtower:refuse=/v2/api/{path}@500"));
        let c = a.collect(h.window()).await;
        let result = match collector {
            "warnings" => c.warnings.as_ref().err(),
            "audit" => c.audit.as_ref().err(),
            "inventory" => c.inventory.as_ref().err(),
            _ => c.jobs.as_ref().err(),
        };
        let e = result
            .unwrap_or_else(|| panic!("{path}: {collector} did not fail"))
            .to_string();
        assert!(
            e.contains(&format!("POST /v2/api/{path}")) && e.contains("500"),
            "{e}"
        );
        assert!(c.skipped.is_empty(), "{:?}", c.skipped);
    }
}

/// An older tower has no backup endpoints: each backup listing is a skipped part, named
/// with that reason, while the tower is known to lack them.
#[tokio::test]
async fn an_older_tower_skips_every_backup_part() {
    let h = start().await;
    let a = h.adapter("old/", &h.password_keys());
    let want = [
        (CollectorKind::Inventory, "backup_plans"),
        (CollectorKind::Inventory, "backup_restore_points"),
        (CollectorKind::Jobs, "backup_plan_executions"),
        (CollectorKind::Jobs, "backup_target_executions"),
        (CollectorKind::Storage, "backup_store_repositories"),
    ];
    for _ in 0..2 {
        let c = a.collect(h.window()).await;
        assert_eq!(parts(&c.skipped), want);
        h.assert_matches_world(c, Tower::Old, &Scope::all());
    }
    let c = a.collect(h.window()).await;
    assert!(
        c.skipped
            .iter()
            .all(|p| p.reason.contains("no backup endpoints")),
        "{:?}",
        c.skipped
    );
}

/// The exporter over a tower that refuses two listings: the target is up, every collector
/// is up, the refused parts are on `/metrics`, and everything else is exported.
#[tokio::test]
async fn metrics_show_refused_parts_and_the_rest() {
    use backup_exporter::exporter::Exporter;

    use crate::common::{get, value};

    let h = start().await;
    h.fault("cloudtower:refuse=/v2/api/get-alerts@403");
    h.fault("cloudtower:refuse=/v2/api/get-backup-restore-points@404");
    let pw = h.secret("pw", DEMO_PASSWORD);
    let text = format!(
        "defaults: {{interval: 1s, timeout: 1m, lookback: 48h, max_stale: 12h}}\n\
         compliance:\n  rpo: 24h\n\
         targets:\n  - name: t\n    vendor: cloudtower\n    url: \"{}\"\n    username: {DEMO_USER}\n    password_file: {}\n",
        h.url("v2/api"),
        pw.display()
    );
    let settings = Settings::parse(&text, Path::new("m.yml")).unwrap();
    let ex = Exporter::start(&settings, "127.0.0.1:0", h.clock.clone(), None)
        .await
        .unwrap();
    assert!(ex.wait_ready(Duration::from_secs(60)).await);
    let (status, m) = get(&format!("http://{}/metrics", ex.addr)).await;
    assert_eq!(status, 200);
    let t = ("target", "t");
    assert_eq!(value(&m, "backup_target_up", &[t]), Some(1.0));
    for c in ["inventory", "jobs", "warnings", "audit", "storage"] {
        assert_eq!(
            value(&m, "backup_collector_up", &[t, ("collector", c)]),
            Some(1.0),
            "{c}"
        );
    }
    assert_eq!(
        value(
            &m,
            "backup_collector_part_refused",
            &[t, ("collector", "warnings"), ("part", "alerts")]
        ),
        Some(1.0),
        "{m}"
    );
    assert_eq!(
        value(
            &m,
            "backup_collector_part_refused",
            &[
                t,
                ("collector", "inventory"),
                ("part", "backup_restore_points")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        m.lines()
            .filter(|l| l.starts_with("backup_collector_part_refused{"))
            .count(),
        2,
        "{m}"
    );
    let objects = h
        .world
        .expected_objects(h.now(), Tower::Current, &Scope::all());
    assert_eq!(
        value(&m, "backup_exported_objects", &[t]),
        Some(objects.len() as f64)
    );
    let w = h.window();
    let storage = h
        .world
        .expected_storage(w.now, Tower::Current, &Scope::all());
    for p in &storage.pools {
        assert_eq!(
            value(
                &m,
                "backup_storage_capacity_bytes",
                &[t, ("pool", p.name.as_str())]
            ),
            p.capacity_bytes.map(|b| b as f64),
            "{}",
            p.name
        );
    }
    ex.stop().await;
}

#[tokio::test]
async fn every_url_form_reaches_the_same_api_base() {
    let h = start().await;
    let bare = format!("{}cloudtower", h.server.base_url());
    let want = format!("{bare}/v2/api");
    for url in [
        bare.clone(),
        format!("{bare}/"),
        format!("{bare}/v2/api"),
        format!("{bare}/v2/api/"),
        format!("{bare}/V2/API"),
        format!("{bare}/#/vms"),
    ] {
        let a = h.adapter_at(&url, &h.password_keys());
        let probe = a.probe().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(
            probe.starts_with(&format!("CloudTower 4.6.0 at {want}: ")),
            "{url}: {probe}"
        );
        h.assert_matches_world(a.collect(h.window()).await, Tower::Current, &Scope::all());
    }
}

#[tokio::test]
async fn an_older_tower_and_a_passive_node_take_every_form_too() {
    let h = start().await;
    for mount in ["old", "old/v2/api/"] {
        let a = h.adapter_at(&h.url(mount), &h.password_keys());
        let probe = a.probe().await.unwrap();
        assert!(
            probe.contains(&format!(" at {}v2/api: ", h.url("old/"))),
            "{probe}"
        );
        h.assert_matches_world(a.collect(h.window()).await, Tower::Old, &Scope::all());
    }
    let a = h.adapter_at(&h.url("passive/v2/api"), &h.password_keys());
    h.assert_matches_world(a.collect(h.window()).await, Tower::Current, &Scope::all());
}

/// The simulated tower answers only under `/v2/api`, as a real one does: an adapter that
/// dropped or doubled the API path would get 404 and fail, not pass by luck.
#[tokio::test]
async fn the_simulator_serves_the_api_only_under_v2_api() {
    let h = start().await;
    backup_exporter::api::install_crypto_provider();
    let client = reqwest::Client::new();
    let login =
        serde_json::json!({"username": DEMO_USER, "password": DEMO_PASSWORD, "source": "LOCAL"});
    for (path, status) in [
        ("v2/api/login", 200),
        ("login", 404),
        ("v2/api/v2/api/login", 404),
        ("api/login", 404),
    ] {
        let resp = client.post(h.url(path)).json(&login).send().await.unwrap();
        assert_eq!(resp.status().as_u16(), status, "POST {path}");
    }
}
