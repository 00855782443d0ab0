//! The exporter's /metrics for the simulated Backup and DR estate: every value the vendor
//! feeds equals what the simulator's world says.

use std::collections::BTreeMap;

use backup_exporter::exporter::Exporter;

use super::collect::{expected_kind, expected_result};
use super::*;
use crate::common::{get, value};

/// Expected per-object job facts from the world: the newest successful backup in the window
/// (or the newest image, whichever is later) and the failed backups after it.
fn expected_facts(env: &Env, app: usize, since: Timestamp) -> (f64, u64) {
    let now = env.now();
    let mut runs: Vec<_> = env
        .world
        .jobs(now, since - SignedDuration::from_hours(5), now, Some(app))
        .into_iter()
        .filter(|j| j.ended() && j.end >= since)
        .filter(|j| expected_kind(j.jobclass) == JobKind::Backup)
        .collect();
    runs.sort_by_key(|j| (j.end, j.number));
    let mut last_success = None;
    let mut failures = 0;
    for j in &runs {
        match j.status {
            "succeeded" => {
                last_success = Some(j.end);
                failures = 0;
            }
            "failed" => failures += 1,
            _ => {}
        }
    }
    let newest_image = env
        .world
        .images(now, Some(app))
        .into_iter()
        .filter(|i| i.jobclass != "mount")
        .map(|i| i.consistency)
        .max();
    let best = last_success.into_iter().chain(newest_image).max();
    (best.map_or(0.0, |t| t.as_second() as f64), failures)
}

#[tokio::test]
async fn metrics_carry_the_values_of_the_simulated_estate() {
    let env = start(16, SimOptions::default()).await;
    let yaml = format!(
        "defaults: {{interval: 1h, timeout: 30s, lookback: 48h, max_stale: 1h}}\ncompliance:\n  rpo: 24h\n  rules:\n    - match: {{object: \"test-*\"}}\n      exclude: test systems\n{}",
        env.yaml(
            &format!("    credentials_file: \"{}\"\n", env.key_file().display()),
            ""
        )
        .replace("    timeout: 20s\n", "")
    );
    let settings = Settings::parse(&yaml, Path::new("m.yml")).unwrap();
    let ex = Exporter::start(&settings, "127.0.0.1:0", env.ctx.clock.clone(), None)
        .await
        .unwrap();
    assert!(ex.wait_ready(Duration::from_secs(30)).await);
    let (status, m) = get(&format!("http://{}/metrics", ex.addr)).await;
    assert_eq!(status, 200);
    let world = &env.world;
    let now = env.now();
    let since = now - SignedDuration::from_hours(48);
    let t = ("target", "bdr");

    assert_eq!(
        value(&m, "backup_target_up", &[t, ("vendor", "backupdr")]),
        Some(1.0)
    );
    for c in ["inventory", "jobs", "warnings", "audit", "storage"] {
        assert_eq!(
            value(&m, "backup_collector_up", &[t, ("collector", c)]),
            Some(1.0),
            "{c}"
        );
    }
    assert_eq!(
        value(&m, "backup_exported_objects", &[t]),
        Some(world.apps.len() as f64)
    );

    for app in &world.apps {
        let o = [t, ("object_id", app.id.as_str())];
        let v = |name: &str| value(&m, name, &o);
        let tenant = world.appliances[app.appliance].name.as_str();
        let policy = world.template_of(app).map(|t| t.name).unwrap_or("");
        assert_eq!(
            value(
                &m,
                "backup_object_info",
                &[
                    t,
                    ("object_id", &app.id),
                    ("object", &app.name),
                    ("tenant", tenant),
                    ("policy", policy),
                    ("object_type", app.apptype)
                ]
            ),
            Some(1.0),
            "{}",
            app.name
        );
        assert_eq!(
            v("backup_object_protected"),
            Some(f64::from(u8::from(app.protected()))),
            "{}",
            app.name
        );
        let rpo = world.template_of(app).map_or(86_400, |t| t.rpo().as_secs());
        assert_eq!(
            v("backup_object_rpo_seconds"),
            Some(rpo as f64),
            "{}",
            app.name
        );
        let images: Vec<_> = world
            .images(now, Some(app.index))
            .into_iter()
            .filter(|i| i.jobclass != "mount")
            .collect();
        assert_eq!(
            v("backup_object_restore_points"),
            Some(images.len() as f64),
            "{}",
            app.name
        );
        let (last_success, failures) = expected_facts(&env, app.index, since);
        assert_eq!(
            v("backup_object_last_success_timestamp_seconds"),
            Some(last_success),
            "{}",
            app.name
        );
        assert_eq!(
            v("backup_object_consecutive_failures"),
            Some(failures as f64),
            "{}",
            app.name
        );
    }
    // The planted cases, as a reader of the dashboard would see them.
    let o = |id: &str, name: &str| value(&m, name, &[t, ("object_id", id)]);
    assert_eq!(
        o("400000", "backup_object_last_success_timestamp_seconds"),
        Some(0.0)
    );
    assert!(o("400017", "backup_object_consecutive_failures").unwrap() >= 3.0);
    assert_eq!(o("400068", "backup_object_protected"), Some(0.0));

    // Jobs per appliance, kind and result; running ones.
    let mut window: BTreeMap<(&str, &str, &str), u64> = BTreeMap::new();
    let mut running: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for j in world.jobs(now, since - SignedDuration::from_hours(5), now, None) {
        let tenant = world.appliances[world.apps[j.app].appliance].name.as_str();
        let kind = expected_kind(j.jobclass).as_str();
        if !j.ended() {
            *running.entry((tenant, kind)).or_default() += 1;
        } else if j.end >= since {
            *window
                .entry((tenant, kind, expected_result(j.status).as_str()))
                .or_default() += 1;
        }
    }
    assert!(window.len() > 8);
    for ((tenant, kind, result), n) in &window {
        assert_eq!(
            value(
                &m,
                "backup_jobs_window",
                &[t, ("tenant", tenant), ("kind", kind), ("result", result)]
            ),
            Some(*n as f64),
            "{tenant} {kind} {result}"
        );
    }
    for ((tenant, kind), n) in &running {
        assert_eq!(
            value(
                &m,
                "backup_jobs_running",
                &[t, ("tenant", tenant), ("kind", kind)]
            ),
            Some(*n as f64)
        );
    }

    // Warnings, storage, audit.
    let dr = world.appliances.iter().find(|a| !a.reachable).unwrap();
    assert_eq!(
        value(
            &m,
            "backup_warnings",
            &[
                t,
                ("tenant", &dr.name),
                ("severity", "critical"),
                ("category", CATEGORY_APPLIANCE)
            ]
        ),
        Some(1.0)
    );
    let mut per_tenant: BTreeMap<&str, u64> = BTreeMap::new();
    for p in world.pools(now) {
        let appl = world.appliances[p.appliance].name.as_str();
        let pool = format!("{appl}/{}", p.name);
        *per_tenant.entry(appl).or_default() += p.usage_mb * MIB;
        assert_eq!(
            value(&m, "backup_storage_used_bytes", &[t, ("pool", &pool)]),
            Some((p.usage_mb * MIB) as f64)
        );
        let cap = value(&m, "backup_storage_capacity_bytes", &[t, ("pool", &pool)]);
        assert_eq!(
            cap,
            (p.capacity_mb > 0).then(|| (p.capacity_mb * MIB) as f64),
            "{pool}"
        );
        if p.capacity_mb > 0 && p.pct() >= f64::from(p.warnpct) {
            let sev = if p.pct() >= f64::from(p.safepct) {
                "critical"
            } else {
                "warning"
            };
            assert_eq!(
                value(
                    &m,
                    "backup_warnings",
                    &[
                        t,
                        ("tenant", appl),
                        ("severity", sev),
                        ("category", CATEGORY_STORAGE)
                    ]
                ),
                Some(1.0)
            );
        }
    }
    for (tenant, bytes) in per_tenant {
        assert_eq!(
            value(&m, "backup_tenant_stored_bytes", &[t, ("tenant", tenant)]),
            Some(bytes as f64)
        );
    }
    let logins = world
        .audit(now, since, now)
        .into_iter()
        .filter(|a| a.command.starts_with("POST ") && a.command.contains("/session "))
        .map(|a| a.date.as_second())
        .max()
        .unwrap();
    assert_eq!(
        value(
            &m,
            "backup_audit_last_event_timestamp_seconds",
            &[t, ("action", "login")]
        ),
        Some(logins as f64)
    );
    ex.stop().await;
    assert_eq!(
        env.sim.ended_sessions().len(),
        1,
        "stopping the exporter ends the session"
    );
}
