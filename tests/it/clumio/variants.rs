//! What real accounts vary in: the portal URL as people paste it, and listings the account
//! does not have (403/404), which skip a part instead of blanking the target.

use backup_exporter::exporter::Exporter;
use backup_exporter::model::CollectorKind;
use backup_exporter::sim::FaultSpec;

use super::*;
use crate::common::{get, value};

impl Env {
    fn fault(&self, spec: &str) {
        self.ctx.faults.apply(&spec.parse::<FaultSpec>().unwrap());
    }

    fn adapter_at(&self, url: &str) -> Arc<dyn Adapter> {
        let yaml = format!(
            "targets:\n  - name: clumio-test\n    vendor: clumio\n    url: \"{url}\"\n    token_file: {}\n",
            self.token_file().display(),
        );
        let s = Settings::parse(&yaml, Path::new("test.yml")).unwrap();
        let ctx = AdapterContext {
            metrics: self.metrics.clone(),
            clock: self.ctx.clock.clone(),
        };
        backup_exporter::vendors::build(&s.targets[0], &ctx).unwrap()
    }
}

fn listed_except(world: &World, kind: Option<Kind>) -> usize {
    world
        .listed_assets()
        .filter(|a| Some(a.kind) != kind)
        .count()
}

#[tokio::test]
async fn every_portal_url_form_reaches_the_same_api_base() {
    let env = Env::start(20).await;
    let want = listed_except(env.world(), None);
    for url in [
        env.url.clone(),
        format!("{}/", env.url),
        // A pasted request URL is cut before the resource.
        format!("{}/tasks", env.url),
        format!("{}/datasources/aws/ec2-instances?limit=1", env.url),
    ] {
        let adapter = env.adapter_at(&url);
        let probe = adapter.probe().await.unwrap();
        assert!(
            probe.starts_with(&format!("API base {}:", env.url)),
            "{url}: {probe}"
        );
        let c = adapter.collect(env.window(HOUR)).await;
        assert_eq!(c.inventory.unwrap().len(), want, "{url}");
        assert!(c.skipped.is_empty(), "{url}: {:?}", c.skipped);
    }
}

#[tokio::test]
async fn a_refused_ec2_listing_skips_that_part_and_keeps_the_target_up() {
    for status in ["403", "404"] {
        let env = Env::start(30).await;
        env.fault(&format!(
            "clumio:refuse=/datasources/aws/ec2-instances@{status}"
        ));
        let world = env.world();
        assert!(world.listed_assets().any(|a| a.kind == Kind::Ec2));
        let yaml = format!(
            "defaults: {{interval: 1h, timeout: 1m, lookback: 48h, max_stale: 2h}}\n\
             targets:\n  - {{name: clumio-test, vendor: clumio, url: \"{}\", token_file: \"{}\"}}\n",
            env.url,
            env.token_file().display()
        );
        let settings = Settings::parse(&yaml, Path::new("test.yml")).unwrap();
        let ex = Exporter::start(&settings, "127.0.0.1:0", env.ctx.clock.clone(), None)
            .await
            .unwrap();
        assert!(ex.wait_ready(Duration::from_secs(30)).await);
        let (_, m) = get(&format!("http://{}/metrics", ex.addr)).await;
        let target = ("target", "clumio-test");
        assert_eq!(
            value(&m, "backup_target_up", &[target]),
            Some(1.0),
            "{status}"
        );
        for collector in ["inventory", "jobs", "warnings", "audit", "storage"] {
            assert_eq!(
                value(
                    &m,
                    "backup_collector_up",
                    &[target, ("collector", collector)]
                ),
                Some(1.0),
                "{status} {collector}"
            );
        }
        assert_eq!(
            value(
                &m,
                "backup_collector_part_refused",
                &[
                    target,
                    ("vendor", "clumio"),
                    ("collector", "inventory"),
                    ("part", "ec2_instances")
                ]
            ),
            Some(1.0),
            "{status}"
        );
        assert_eq!(
            value(&m, "backup_exported_objects", &[target]),
            Some(listed_except(world, Some(Kind::Ec2)) as f64),
            "{status}"
        );
        let ebs = world.listed_assets().find(|a| a.kind == Kind::Ebs).unwrap();
        assert!(
            value(
                &m,
                "backup_object_protected",
                &[("object_id", ebs.id.as_str())]
            )
            .is_some(),
            "{status}: other kinds are still exported"
        );
        let ec2 = world.listed_assets().find(|a| a.kind == Kind::Ec2).unwrap();
        assert!(
            value(
                &m,
                "backup_object_protected",
                &[("object_id", ec2.id.as_str())]
            )
            .is_none(),
            "{status}: the refused kind is not exported"
        );
        ex.stop().await;
    }
}

#[tokio::test]
async fn a_5xx_on_the_same_listing_still_fails_the_collector() {
    let env = Env::start(20).await;
    env.fault("clumio:refuse=/datasources/aws/ec2-instances@503");
    let c = env.adapter("").collect(env.window(HOUR)).await;
    let err = c.inventory.unwrap_err().to_string();
    assert!(err.contains("503"), "{err}");
    assert!(c.storage.is_err());
    assert!(c.jobs.is_ok());
    assert!(c.skipped.is_empty(), "{:?}", c.skipped);
}

#[tokio::test]
async fn every_optional_listing_is_a_part_of_its_collector() {
    let env = Env::start(30).await;
    let world = env.world();
    for (path, collector, part) in [
        (
            "/datasources/aws/ebs-volumes",
            CollectorKind::Inventory,
            "ebs_volumes",
        ),
        (
            "/datasources/aws/rds-resources",
            CollectorKind::Inventory,
            "rds_resources",
        ),
        (
            "/datasources/protection-groups",
            CollectorKind::Inventory,
            "protection_groups",
        ),
        (
            "/backups/aws/ebs-volumes",
            CollectorKind::Inventory,
            "ebs_volume_backups",
        ),
        (
            "/policies/definitions",
            CollectorKind::Inventory,
            "policies",
        ),
        ("/alerts/individual", CollectorKind::Warnings, "alerts"),
        ("/audit-trails", CollectorKind::Audit, "audit_trails"),
    ] {
        env.fault("clumio:clear");
        env.fault(&format!("clumio:refuse={path}"));
        let c = env.adapter("").collect(env.window(48 * HOUR)).await;
        let skipped: Vec<(CollectorKind, &str)> =
            c.skipped.iter().map(|p| (p.collector, p.part)).collect();
        assert_eq!(skipped, vec![(collector, part)], "{path}");
        assert!(c.skipped[0].reason.contains("403"), "{:?}", c.skipped[0]);
        let objects = c.inventory.unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(c.jobs.is_ok() && c.storage.is_ok(), "{path}");
        let warnings = c.warnings.unwrap();
        let audit = c.audit.unwrap();
        match part {
            "alerts" => assert!(warnings.is_empty()),
            "audit_trails" => assert!(audit.is_empty()),
            _ => assert!(!audit.is_empty() && !warnings.is_empty(), "{path}"),
        }
        match part {
            "ebs_volumes" => assert_eq!(objects.len(), listed_except(world, Some(Kind::Ebs))),
            "rds_resources" => assert_eq!(objects.len(), listed_except(world, Some(Kind::Rds))),
            "protection_groups" => assert_eq!(
                objects.len(),
                listed_except(world, Some(Kind::ProtectionGroup))
            ),
            "ebs_volume_backups" => {
                assert_eq!(objects.len(), listed_except(world, None));
                for o in &objects {
                    assert_eq!(
                        o.restore_points.is_none(),
                        o.object_type == "ebs_volume",
                        "{}",
                        o.id
                    );
                }
            }
            "policies" => {
                // Objects keep their policy (by id) and their protection.
                let with_policy = world.listed_assets().filter(|a| a.policy.is_some()).count();
                assert_eq!(
                    objects.iter().filter(|o| !o.policy.is_empty()).count(),
                    with_policy
                );
            }
            _ => assert_eq!(objects.len(), listed_except(world, None), "{path}"),
        }
    }
}

#[tokio::test]
async fn a_refused_listing_does_not_abort_the_report_history() {
    let env = Env::start(30).await;
    env.fault("clumio:refuse=/datasources/aws/ec2-instances@404");
    env.fault("clumio:refuse=/audit-trails");
    let period = Period {
        from: ts(ORIGIN - 10 * DAY),
        to: ts(ORIGIN - 2 * DAY),
    };
    let h = env
        .adapter("")
        .history(period, backup_exporter::adapter::REPORT_LOOKBACK)
        .await
        .unwrap();
    let parts: Vec<&str> = h.skipped.iter().map(|p| p.part).collect();
    assert_eq!(parts, vec!["ec2_instances", "audit_trails"]);
    assert_eq!(h.objects.len(), listed_except(env.world(), Some(Kind::Ec2)));
    assert!(h.audit.is_empty());
    assert!(!h.jobs.is_empty());
    // A 5xx there still fails the history: the report must not pass off a gap as data.
    env.fault("clumio:refuse=/audit-trails@500");
    assert!(
        env.adapter("")
            .history(period, backup_exporter::adapter::REPORT_LOOKBACK)
            .await
            .is_err()
    );
}
