//! The exporter serving the Clumio simulator: `/metrics` values for the simulated world.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use backup_exporter::config::Settings;
use backup_exporter::exporter::Exporter;
use backup_exporter::vendors::clumio::sim::data::{self, Kind, Task, World, planted};

use super::{DAY, Env, HOUR};
use crate::common::{get, value};

/// Tasks that are backups of `asset` and finished within the exporter's 48 h window.
fn finished_backups(tasks: &[Task], asset: usize, since: i64) -> Vec<&Task> {
    let mut v: Vec<&Task> = tasks
        .iter()
        .filter(|t| t.asset == Some(asset) && t.is_backup())
        .filter(|t| t.end.is_some_and(|e| e >= since))
        .collect();
    v.sort_by_key(|t| (t.end, t.id));
    v
}

/// The RPO the exporter applies: the policy's tightest SLA, else the 24 h default.
fn rpo(world: &World, a: &data::Asset) -> f64 {
    let policy_rpo = a.policy.and_then(|p| world.policy(p)).and_then(|p| {
        let prefix = match a.kind {
            Kind::Ebs => "aws_ebs_volume_",
            Kind::Ec2 => "aws_ec2_instance_",
            Kind::ProtectionGroup => "protection_group_",
            Kind::Rds => "aws_rds_resource_",
        };
        p.operations
            .iter()
            .filter(|o| o.op_type.starts_with(prefix))
            .flat_map(|o| o.slas.iter())
            .filter_map(|s| {
                let unit = match s.unit {
                    "hours" => HOUR,
                    "days" => DAY,
                    "weeks" | "weekly" => 7 * DAY,
                    _ => return None,
                };
                Some(unit * s.value.unwrap_or(1))
            })
            .min()
    });
    policy_rpo.unwrap_or(DAY) as f64
}

#[tokio::test]
async fn metrics_show_the_simulated_world() {
    let env = Env::start(30).await;
    let yaml = format!(
        "defaults: {{interval: 1h, timeout: 1m, lookback: 48h, max_stale: 2h}}\n\
         compliance: {{rpo: 24h}}\n\
         targets:\n  - {{name: clumio-test, vendor: clumio, url: \"{}\", token_file: \"{}\"}}\n",
        env.url,
        env.token_file().display()
    );
    let settings = Settings::parse(&yaml, Path::new("test.yml")).unwrap();
    let ex = Exporter::start(&settings, "127.0.0.1:0", env.ctx.clock.clone(), None)
        .await
        .unwrap();
    assert!(ex.wait_ready(Duration::from_secs(30)).await);
    let (status, m) = get(&format!("http://{}/metrics", ex.addr)).await;
    assert_eq!(status, 200);

    let world = env.world();
    let now = env.now();
    let since = now - 48 * HOUR;
    let tasks = world.tasks(since - DAY, now, now);
    let target = ("target", "clumio-test");
    assert_eq!(
        value(&m, "backup_target_up", &[target, ("vendor", "clumio")]),
        Some(1.0)
    );
    let listed: Vec<_> = world.listed_assets().collect();
    assert_eq!(
        value(&m, "backup_exported_objects", &[target]),
        Some(listed.len() as f64)
    );

    for a in &listed {
        let id = ("object_id", a.id.as_str());
        let name = a.display_name();
        let policy = a.policy.and_then(|p| world.policy(p));
        let object_type = match a.kind {
            Kind::Ebs => "ebs_volume",
            Kind::Ec2 => "ec2_instance",
            Kind::ProtectionGroup => "protection_group",
            Kind::Rds => "rds_resource",
        };
        assert_eq!(
            value(
                &m,
                "backup_object_info",
                &[
                    id,
                    ("object", &name),
                    ("tenant", data::ou_name(a.ou)),
                    ("policy", policy.map(|p| p.name).unwrap_or("")),
                    ("object_type", object_type),
                ]
            ),
            Some(1.0),
            "{name}"
        );
        let protected = policy.is_some_and(|p| p.activated);
        assert_eq!(
            value(&m, "backup_object_protected", &[id]),
            Some(if protected { 1.0 } else { 0.0 }),
            "{name}"
        );
        assert_eq!(
            value(&m, "backup_object_rpo_seconds", &[id]),
            Some(rpo(world, a)),
            "{name}"
        );
        let backups = world.backups(a, now);
        assert_eq!(
            value(&m, "backup_object_restore_points", &[id]),
            Some(backups.len() as f64),
            "{name}"
        );
        if let Some(newest) = backups.first() {
            assert_eq!(
                value(
                    &m,
                    "backup_object_latest_restore_point_timestamp_seconds",
                    &[id]
                ),
                Some(newest.start as f64)
            );
        }

        // Last success: the end of the newest completed backup in the window, else the
        // start of the newest restore point (Clumio's own "last backup").
        let runs = finished_backups(&tasks, a.index, since);
        let in_window = runs
            .iter()
            .filter(|t| t.status == "completed")
            .filter_map(|t| t.end)
            .max();
        let expected = in_window
            .into_iter()
            .chain(backups.first().map(|b| b.start))
            .max()
            .unwrap_or(0);
        assert_eq!(
            value(&m, "backup_object_last_success_timestamp_seconds", &[id]),
            Some(expected as f64),
            "{name}"
        );
        let failures = runs
            .iter()
            .rev()
            .take_while(|t| t.status != "completed")
            .filter(|t| t.status == "failed")
            .count();
        assert_eq!(
            value(&m, "backup_object_consecutive_failures", &[id]),
            Some(failures as f64),
            "{name}"
        );
    }

    let failing = ("object_id", world.assets[planted::FAILING].id.as_str());
    assert!(value(&m, "backup_object_consecutive_failures", &[failing]).unwrap() >= 4.0);
    assert_eq!(
        value(
            &m,
            "backup_object_last_result",
            &[failing, ("result", "failed")]
        ),
        Some(1.0)
    );
    let never = (
        "object_id",
        world.assets[planted::NEVER_SUCCEEDED].id.as_str(),
    );
    assert_eq!(
        value(&m, "backup_object_last_success_timestamp_seconds", &[never]),
        Some(0.0)
    );

    // Jobs per tenant, kind and result within the lookback; running ones apart.
    let mut window: HashMap<(&str, &str, &str), f64> = HashMap::new();
    let mut running: HashMap<(&str, &str), f64> = HashMap::new();
    for t in &tasks {
        let Some(i) = t.asset else { continue };
        let tenant = data::ou_name(world.assets[i].ou);
        let kind = match t.category {
            "restore" => "restore",
            _ if t.task_type.ends_with("_indexing") => "other",
            _ => "backup",
        };
        let result = match t.status {
            "completed" => "success",
            "failed" => "failed",
            "aborted" => "cancelled",
            _ => {
                *running.entry((tenant, kind)).or_default() += 1.0;
                continue;
            }
        };
        if t.end.is_some_and(|e| e >= since) {
            *window.entry((tenant, kind, result)).or_default() += 1.0;
        }
    }
    for ((tenant, kind, result), n) in &window {
        assert_eq!(
            value(
                &m,
                "backup_jobs_window",
                &[
                    target,
                    ("tenant", tenant),
                    ("kind", kind),
                    ("result", result)
                ]
            ),
            Some(*n),
            "{tenant} {kind} {result}"
        );
    }
    assert!(running[&("Platform", "backup")] >= 2.0);
    for ((tenant, kind), n) in &running {
        assert_eq!(
            value(
                &m,
                "backup_jobs_running",
                &[target, ("tenant", tenant), ("kind", kind)]
            ),
            Some(*n),
            "{tenant} {kind}"
        );
    }

    // Active alerts per tenant, severity and category.
    assert_eq!(
        value(
            &m,
            "backup_warnings",
            &[
                target,
                ("tenant", "Finance"),
                ("severity", "critical"),
                ("category", "policy_violated")
            ]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &m,
            "backup_warnings",
            &[
                target,
                ("tenant", "Global"),
                ("severity", "warning"),
                ("category", "account_disconnected")
            ]
        ),
        Some(1.0)
    );

    // Stored bytes per tenant: the sum of what each asset's newest backup holds.
    let mut stored: HashMap<&str, u64> = HashMap::new();
    for a in &listed {
        let b = world.backups(a, now);
        let bytes = match a.kind {
            Kind::Ebs | Kind::Ec2 => b.first().map(|b| b.utilized_bytes),
            Kind::ProtectionGroup => Some(a.size_bytes),
            Kind::Rds => b.first().map(|b| b.size_gib << 30),
        };
        *stored.entry(data::ou_name(a.ou)).or_default() += bytes.unwrap_or(0);
    }
    for (tenant, bytes) in stored {
        assert_eq!(
            value(
                &m,
                "backup_tenant_stored_bytes",
                &[target, ("tenant", tenant)]
            ),
            Some(bytes as f64),
            "{tenant}"
        );
    }

    // The newest audit event per tenant and action, in the tenant of what it was about.
    let mut newest: HashMap<(&str, &str), i64> = HashMap::new();
    for e in world.audit(since, now + 1, now) {
        let tenant = data::ou_name(e.asset.map(|i| world.assets[i].ou).unwrap_or(data::GLOBAL));
        let action = match (e.action, e.status) {
            ("login", "failure") => "login_failed",
            ("login", _) => "login",
            (_, "failure") => "error",
            ("create" | "register" | "invite", _) => "create",
            ("delete" | "unregister" | "remove", _) => "delete",
            // Read-only words are `other`, never `info` (contract §3).
            (
                "browse"
                | "search"
                | "download"
                | "validate_tda_passcode"
                | "redirected"
                | "logout"
                | "full_restore"
                | "granular_retrieval"
                | "granular_restore"
                | "refresh"
                | "deploy",
                _,
            ) => "other",
            _ => "modify",
        };
        let t = newest.entry((tenant, action)).or_default();
        *t = (*t).max(e.time);
    }
    assert!(newest.len() >= 5);
    for ((tenant, action), time) in newest {
        assert_eq!(
            value(
                &m,
                "backup_audit_last_event_timestamp_seconds",
                &[target, ("tenant", tenant), ("action", action)]
            ),
            Some(time as f64),
            "{tenant} {action}"
        );
    }
    for c in ["inventory", "jobs", "warnings", "audit", "storage"] {
        assert_eq!(
            value(&m, "backup_collector_up", &[target, ("collector", c)]),
            Some(1.0),
            "{c}"
        );
    }
    ex.stop().await;
}
