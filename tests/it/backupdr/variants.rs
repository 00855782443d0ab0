//! What real consoles vary in: the URL as people paste it, and listings the account does not
//! have (403/404), which skip a part instead of blanking the target.

use backup_exporter::exporter::Exporter;
use backup_exporter::model::CollectorKind;

use super::*;
use crate::common::{get, value};

impl Env {
    fn adapter_at(&self, url: &str) -> Arc<dyn Adapter> {
        let auth = format!("    credentials_file: \"{}\"\n", self.key_file().display());
        self.adapter_from(&format!(
            "targets:\n  - name: bdr\n    vendor: backupdr\n    url: \"{url}\"\n    timeout: 20s\n{auth}"
        ))
    }
}

#[tokio::test]
async fn the_console_url_as_google_shows_it_reaches_the_api() {
    // The console on a host of its own: the API is `/actifio/...`, nothing else is served.
    let env = start_under(6, SimOptions::default(), "").await;
    let host = env.base.as_str().trim_end_matches('/').to_owned();
    let (status, _) = {
        let r = reqwest::Client::new()
            .post(format!("{host}/session"))
            .header("content-length", "0")
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), ())
    };
    assert_eq!(status, 404, "the console has no API outside /actifio");
    let apps = env.world.apps.len();
    for url in [
        host.clone(),
        format!("{host}/"),
        format!("{host}/actifio"),
        format!("{host}/actifio/"),
        format!("{host}/#/dashboard"),
    ] {
        let probe = env.adapter_at(&url).probe().await.unwrap();
        assert!(
            probe.starts_with(&format!("API base {host}/actifio:")),
            "{url}: {probe}"
        );
        assert!(probe.contains(&format!("{apps} applications")), "{probe}");
    }
    // Under the prefix `simulate` mounts it at: the prefix is kept, `/actifio` added.
    let env = start(6, SimOptions::default()).await;
    let host = env.base.as_str().trim_end_matches('/').to_owned();
    for url in [host.clone(), format!("{host}/"), format!("{host}/actifio/")] {
        let probe = env.adapter_at(&url).probe().await.unwrap();
        assert!(
            probe.starts_with(&format!("API base {host}/actifio:")),
            "{url}: {probe}"
        );
        let c = env.adapter_at(&url).collect(env.window()).await;
        assert!(
            c.inventory.is_ok() && c.jobs.is_ok() && c.storage.is_ok(),
            "{url}"
        );
    }
}

#[tokio::test]
async fn a_refused_listing_skips_that_part_and_the_exporter_stays_up() {
    let env = start(8, SimOptions::default()).await;
    let baseline = env.adapter().collect(env.window()).await.inventory.unwrap();
    assert!(baseline.iter().any(|o| o.restore_points.is_some()));
    env.fault("backupdr:refuse=/actifio/backup");
    let yaml = format!(
        "defaults: {{interval: 1h, timeout: 1m, lookback: 48h, max_stale: 2h}}\n{}",
        env.yaml(
            &format!("    credentials_file: \"{}\"\n", env.key_file().display()),
            ""
        )
    );
    let settings = Settings::parse(&yaml, Path::new("test.yml")).unwrap();
    let ex = Exporter::start(&settings, "127.0.0.1:0", env.ctx.clock.clone(), None)
        .await
        .unwrap();
    assert!(ex.wait_ready(Duration::from_secs(30)).await);
    let (_, m) = get(&format!("http://{}/metrics", ex.addr)).await;
    let target = ("target", "bdr");
    assert_eq!(value(&m, "backup_target_up", &[target]), Some(1.0));
    for collector in ["inventory", "jobs", "warnings", "audit", "storage"] {
        assert_eq!(
            value(
                &m,
                "backup_collector_up",
                &[target, ("collector", collector)]
            ),
            Some(1.0),
            "{collector}"
        );
    }
    assert_eq!(
        value(
            &m,
            "backup_collector_part_refused",
            &[
                target,
                ("vendor", "backupdr"),
                ("collector", "inventory"),
                ("part", "restore_points")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&m, "backup_exported_objects", &[target]),
        Some(baseline.len() as f64)
    );
    for o in &baseline {
        let id = ("object_id", o.id.as_str());
        assert!(
            value(&m, "backup_object_protected", &[id]).is_some(),
            "{}",
            o.id
        );
        assert_eq!(
            value(&m, "backup_object_restore_points", &[id]),
            None,
            "{}",
            o.id
        );
    }
    ex.stop().await;
}

#[tokio::test]
async fn every_optional_listing_is_a_part_and_the_essential_ones_fail() {
    let env = start(8, SimOptions::default()).await;
    let baseline = env.adapter().collect(env.window()).await;
    let objects = baseline.inventory.unwrap().len();
    assert!(baseline.skipped.is_empty(), "{:?}", baseline.skipped);
    use CollectorKind::*;
    for (path, status, want) in [
        ("/actifio/cluster", 403, vec![(Warnings, "appliances")]),
        ("/actifio/sla", 403, vec![(Inventory, "slas")]),
        (
            "/actifio/slt",
            404,
            vec![(Inventory, "template_policies"), (Inventory, "templates")],
        ),
        ("/actifio/backup", 404, vec![(Inventory, "restore_points")]),
        ("/actifio/diskpool", 403, vec![(Storage, "disk_pools")]),
        ("/actifio/event", 404, vec![(Warnings, "events")]),
        ("/actifio/localaudit", 403, vec![(Audit, "audit_log")]),
    ] {
        env.fault("backupdr:clear");
        env.fault(&format!("backupdr:refuse={path}@{status}"));
        let c = env.adapter().collect(env.window()).await;
        let got: Vec<(CollectorKind, &str)> =
            c.skipped.iter().map(|p| (p.collector, p.part)).collect();
        assert_eq!(got, want, "{path}");
        assert!(
            c.skipped[0].reason.contains(&status.to_string()),
            "{:?}",
            c.skipped
        );
        assert_eq!(c.inventory.as_ref().unwrap().len(), objects, "{path}");
        assert!(c.jobs.is_ok() && c.warnings.is_ok(), "{path}");
        assert!(c.audit.is_ok() && c.storage.is_ok(), "{path}");
        if path.ends_with("diskpool") {
            assert!(c.storage.unwrap().pools.is_empty());
        }
    }
    // The application and job lists are what there is to export: no skipping those.
    for (path, failed) in [
        ("/actifio/application", Inventory),
        ("/actifio/jobstatus", Jobs),
    ] {
        env.fault("backupdr:clear");
        env.fault(&format!("backupdr:refuse={path}"));
        let c = env.adapter().collect(env.window()).await;
        let r = match failed {
            Inventory => c.inventory.map(|_| ()),
            _ => c.jobs.map(|_| ()),
        };
        assert!(r.unwrap_err().to_string().contains("403"), "{path}");
    }
    // A 5xx on an optional listing still fails its collector.
    env.fault("backupdr:clear");
    env.fault("backupdr:refuse=/actifio/diskpool@503");
    let c = env.adapter().collect(env.window()).await;
    assert!(c.storage.is_err() && c.warnings.is_err());
    assert!(c.inventory.is_ok() && c.skipped.is_empty());
}

#[tokio::test]
async fn a_refused_listing_does_not_abort_the_report_history() {
    let env = start(8, SimOptions::default()).await;
    let period = Period {
        from: env.now() - SignedDuration::from_hours(24 * 5),
        to: env.now() - SignedDuration::from_hours(24),
    };
    let full = env
        .adapter()
        .history(period, backup_exporter::adapter::REPORT_LOOKBACK)
        .await
        .unwrap();
    env.fault("backupdr:refuse=/actifio/localaudit");
    env.fault("backupdr:refuse=/actifio/sla@404");
    let h = env
        .adapter()
        .history(period, backup_exporter::adapter::REPORT_LOOKBACK)
        .await
        .unwrap();
    let parts: Vec<&str> = h.skipped.iter().map(|p| p.part).collect();
    assert_eq!(parts, vec!["slas", "audit_log"]);
    assert!(h.audit.is_empty());
    assert_eq!(h.objects.len(), full.objects.len());
    assert_eq!(h.jobs.len(), full.jobs.len());
    env.fault("backupdr:refuse=/actifio/localaudit@500");
    assert!(
        env.adapter()
            .history(period, backup_exporter::adapter::REPORT_LOOKBACK)
            .await
            .is_err()
    );
}
