//! One refresh against the simulator: inventory, jobs, warnings, audit and storage equal
//! to the world, and what the requests carry.

use super::*;

#[tokio::test]
async fn collect_matches_the_simulated_world() {
    let env = Env::start(40).await;
    let adapter = env.adapter("");
    let w = env.window(48 * HOUR);
    let c = adapter.collect(w).await;
    let world = env.world();
    let now = env.now();

    // Inventory: every listed, non-deleted asset with its identity, policy and sizes.
    let objects = c.inventory.expect("inventory");
    let by_id: HashMap<&str, _> = objects.iter().map(|o| (o.id.as_str(), o)).collect();
    let listed: Vec<_> = world.listed_assets().collect();
    assert_eq!(objects.len(), listed.len());
    assert!(!by_id.contains_key(world.assets[planted::DELETED].id.as_str()));
    for a in listed {
        let o = by_id[a.id.as_str()];
        assert_eq!(o.name, a.display_name(), "{}", a.id);
        assert_eq!(o.tenant, data::ou_name(a.ou));
        let policy = a.policy.and_then(|p| world.policy(p));
        assert_eq!(o.policy, policy.map(|p| p.name).unwrap_or(""));
        assert_eq!(
            o.protected,
            policy.is_some_and(|p| p.activated),
            "{}",
            o.name
        );
        let object_type = match a.kind {
            Kind::Ebs => "ebs_volume",
            Kind::Ec2 => "ec2_instance",
            Kind::ProtectionGroup => "protection_group",
            Kind::Rds => "rds_resource",
        };
        assert_eq!(o.object_type, object_type);
        let backups = world.backups(a, now);
        assert_eq!(o.restore_points, Some(backups.len() as u64), "{}", o.name);
        assert_eq!(
            o.latest_restore_point.map(|t| t.as_second()),
            backups.first().map(|b| b.start)
        );
        let newest = backups.first();
        let (protected, stored) = match a.kind {
            Kind::Ebs => (Some(a.size_bytes), newest.map(|b| b.utilized_bytes)),
            Kind::Ec2 => (
                newest.map(|b| gib_to_bytes(b.size_gib as f64)),
                newest.map(|b| b.utilized_bytes),
            ),
            Kind::ProtectionGroup => (newest.map(|b| b.backed_up_bytes), Some(a.size_bytes)),
            Kind::Rds => (
                Some(a.size_bytes),
                newest.map(|b| gib_to_bytes(b.size_gib as f64)),
            ),
        };
        assert_eq!(
            (o.protected_bytes, o.stored_bytes),
            (protected, stored),
            "{}",
            o.name
        );
        let rpo = world
            .schedule(a)
            .map(|(every, _)| Duration::from_secs(every as u64));
        if a.plan != data::Plan::Unscheduled {
            assert_eq!(o.policy_rpo, rpo, "{}", o.name);
        }
        assert_eq!(
            o.history_start.map(|t| t.as_second()),
            Some(now - 180 * DAY)
        );
    }
    assert_eq!(
        by_id[world.assets[planted::NEW_GROUP].id.as_str()]
            .created
            .map(|t| t.as_second()),
        Some(ORIGIN - 5 * DAY)
    );
    assert!(objects.iter().any(|o| o.name.starts_with("test-")));

    // Jobs: every asset task that ended in the window or is running, with mapped words.
    let jobs = c.jobs.expect("jobs");
    let got: BTreeMap<String, _> = jobs
        .iter()
        .map(|j| {
            (
                j.id.clone(),
                (
                    j.result,
                    j.kind,
                    j.start.map(|t| t.as_second()),
                    j.end.map(|t| t.as_second()),
                ),
            )
        })
        .collect();
    assert_eq!(got, expected_jobs(world, now - 48 * HOUR, now, |_| true));
    assert!(
        jobs.iter()
            .all(|j| by_id.contains_key(j.object_id.as_str()))
    );

    // Warnings: the active alerts, in a bounded vocabulary.
    let warnings = c.warnings.expect("warnings");
    let active: Vec<_> = world
        .alerts()
        .into_iter()
        .filter(|a| a.status == "active")
        .collect();
    assert_eq!(warnings.len(), active.len());
    for a in &active {
        let id = a.asset.map(|i| world.assets[i].id.clone());
        let w = warnings
            .iter()
            .find(|w| w.object_id == id && w.message.contains(&a.description))
            .unwrap_or_else(|| panic!("no warning for {a:?}"));
        assert_eq!(
            w.severity,
            if a.severity == "error" {
                Severity::Critical
            } else {
                Severity::Warning
            }
        );
        assert_eq!(w.tenant, data::ou_name(a.ou));
        let category = match a.alert_type {
            "aws_account_disconnected" => "account_disconnected",
            "anomaly_detected" => "other",
            t => t,
        };
        assert_eq!(w.category, category);
    }

    // Audit: the window's events, each action mapped.
    let audit = c.audit.expect("audit");
    let events = world.audit(now - 48 * HOUR, now + 1, now);
    assert_eq!(audit.len(), events.len());
    for (got, e) in audit.iter().zip(events.iter().rev()) {
        assert_eq!(
            (got.id.as_str(), got.time.as_second()),
            (e.id.as_str(), e.time)
        );
        assert_eq!(got.actor, e.user_email);
        if e.action == "login" {
            let want = if e.status == "failure" {
                AuditAction::LoginFailed
            } else {
                AuditAction::Login
            };
            assert_eq!(got.action, want);
        }
        let tenant = e.asset.map(|i| world.assets[i].ou).unwrap_or(data::GLOBAL);
        assert_eq!(got.tenant, data::ou_name(tenant));
    }

    // Storage: per tenant, the sum of the objects' stored bytes.
    let storage = c.storage.expect("storage");
    let total: u64 = storage.tenants.iter().map(|(_, b)| b).sum();
    assert_eq!(
        total,
        objects.iter().filter_map(|o| o.stored_bytes).sum::<u64>()
    );
    assert!(storage.pools.is_empty());
}

#[tokio::test]
async fn every_task_status_maps_to_its_result() {
    let env = Env::start(20).await;
    let jobs = env
        .adapter("")
        .collect(env.window(48 * HOUR))
        .await
        .jobs
        .unwrap();
    for (word, result) in [
        ("queued", JobResult::Running),
        ("in_progress", JobResult::Running),
        ("aborting", JobResult::Running),
        ("completed", JobResult::Success),
        ("failed", JobResult::Failed),
        ("aborted", JobResult::Cancelled),
    ] {
        let j = jobs
            .iter()
            .find(|j| j.vendor_status == word)
            .unwrap_or_else(|| panic!("no {word} job at the origin"));
        assert_eq!(j.result, result, "{word}");
        assert_eq!(j.end.is_none(), result == JobResult::Running, "{word}");
    }
    let queued = jobs.iter().find(|j| j.vendor_status == "queued").unwrap();
    assert!(
        queued.start.is_some(),
        "a queued task counts from its creation"
    );
    let failing = &env.world().assets[planted::FAILING].id;
    let failing_since = ts(ORIGIN - 30 * HOUR);
    let recent: Vec<_> = jobs
        .iter()
        .filter(|j| &j.object_id == failing && j.kind == JobKind::Backup)
        .filter(|j| j.start.is_some_and(|s| s >= failing_since) && j.end.is_some())
        .collect();
    assert!(recent.len() >= 4);
    assert!(recent.iter().all(|j| j.result == JobResult::Failed));
    let never = &env.world().assets[planted::NEVER_SUCCEEDED].id;
    assert!(
        jobs.iter()
            .filter(|j| &j.object_id == never)
            .all(|j| j.result != JobResult::Success)
    );
}

#[tokio::test]
async fn requests_carry_the_token_and_the_accept_version_of_each_resource() {
    let env = Env::start(20).await;
    let c = env.adapter("").collect(env.window(48 * HOUR)).await;
    assert!(c.inventory.is_ok() && c.jobs.is_ok() && c.audit.is_ok() && c.warnings.is_ok());
    let accept: HashMap<&str, &str> = [
        ("/organizational-units", "organizational-units=v2"),
        ("/policies/definitions", "policy-definitions=v1"),
        ("/datasources/aws/ebs-volumes", "aws-ebs-volumes=v1"),
        ("/datasources/aws/ec2-instances", "aws-ec2-instances=v1"),
        ("/datasources/protection-groups", "protection-groups=v1"),
        ("/datasources/aws/rds-resources", "aws-rds-resources=v1"),
        ("/backups/aws/ebs-volumes", "backup-aws-ebs-volumes=v2"),
        ("/backups/aws/ec2-instances", "backup-aws-ec2-instances=v1"),
        ("/backups/protection-groups", "backup-protection-groups=v1"),
        ("/backups/aws/rds-resources", "backup-aws-rds-resources=v1"),
        ("/tasks", "tasks=v1"),
        ("/audit-trails", "audit-trails=v1"),
        ("/alerts/individual", "individual-alerts=v1"),
    ]
    .into_iter()
    .collect();
    let seen = env.sim.requests();
    for r in &seen {
        assert_eq!(r.status, 200, "{r:?}");
        let want = format!("application/api.clumio.{}+json", accept[r.path.as_str()]);
        assert_eq!(r.accept.as_deref(), Some(want.as_str()), "{}", r.path);
        assert_eq!(r.ou_context, None, "no OU configured, no context header");
    }
    for path in accept.keys() {
        assert!(seen.iter().any(|r| r.path == *path), "{path} not read");
    }
    // One backups request per asset, each the newest backup only.
    let backup_reads: Vec<_> = seen
        .iter()
        .filter(|r| r.path.starts_with("/backups/"))
        .collect();
    assert_eq!(backup_reads.len(), env.world().listed_assets().count());
    assert!(
        backup_reads
            .iter()
            .all(|r| r.param("limit") == Some("1") && r.param("sort") == Some("-start_timestamp"))
    );
}

#[tokio::test]
async fn organizational_unit_scopes_requests_and_data() {
    let env = Env::start(40).await;
    let adapter = env.adapter(&format!("    organizational_unit: {}\n", data::ENGINEERING));
    let c = adapter.collect(env.window(48 * HOUR)).await;
    let world = env.world();
    let scope = [data::ENGINEERING, data::PLATFORM];
    let objects = c.inventory.unwrap();
    let want: Vec<&str> = world
        .listed_assets()
        .filter(|a| scope.contains(&a.ou))
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(objects.len(), want.len());
    assert!(
        objects
            .iter()
            .all(|o| o.tenant == "Engineering" || o.tenant == "Platform")
    );
    assert!(objects.iter().any(|o| o.tenant == "Platform"));
    for r in env.sim.requests() {
        assert_eq!(
            r.ou_context.as_deref(),
            Some(data::ENGINEERING),
            "{}",
            r.path
        );
    }
    let now = env.now();
    let jobs = c.jobs.unwrap();
    let expected = expected_jobs(world, now - 48 * HOUR, now, |t| {
        scope.contains(&world.task_ou(t))
    });
    assert_eq!(jobs.len(), expected.len());
    let audit = c.audit.unwrap();
    assert!(
        audit
            .iter()
            .all(|e| e.tenant == "Engineering" || e.tenant == "Platform")
    );
    let warnings = c.warnings.unwrap();
    assert_eq!(
        warnings.len(),
        world
            .alerts()
            .iter()
            .filter(|a| a.status == "active" && scope.contains(&a.ou))
            .count()
    );
    let probe = adapter.probe().await.unwrap();
    assert!(probe.contains("\"Engineering\""), "{probe}");
}

#[tokio::test]
async fn filters_are_json_time_windows_and_asset_keys() {
    let env = Env::start(20).await;
    let w = env.window(48 * HOUR);
    let c = env.adapter("").collect(w).await;
    assert!(c.jobs.is_ok());
    let seen = env.sim.requests();
    let filters = |path: &str| -> Vec<serde_json::Value> {
        seen.iter()
            .filter(|r| r.path == path)
            .filter_map(|r| r.param("filter"))
            .map(|f| serde_json::from_str(f).unwrap())
            .collect()
    };
    let since = ts(env.now() - 48 * HOUR);
    let tasks = filters("/tasks");
    assert!(tasks.contains(&serde_json::json!({
        "created_timestamp": { "$gte": ts(since.as_second() - DAY).to_string() }
    })));
    assert!(tasks.contains(&serde_json::json!({
        "status": { "$in": ["queued", "in_progress", "aborting"] }
    })));
    assert_eq!(
        filters("/audit-trails"),
        vec![serde_json::json!({ "start_timestamp": { "$gte": since.to_string() } })]
    );
    assert_eq!(
        filters("/alerts/individual"),
        vec![serde_json::json!({ "status": { "$in": ["active"] } })]
    );
    let volume = &env.world().assets[planted::FIRST_ORDINARY + 2];
    let key = match volume.kind {
        Kind::Ebs => "/backups/aws/ebs-volumes",
        Kind::Ec2 => "/backups/aws/ec2-instances",
        Kind::ProtectionGroup => "/backups/protection-groups",
        Kind::Rds => "/backups/aws/rds-resources",
    };
    assert!(filters(key).iter().any(|f| {
        f.as_object()
            .unwrap()
            .values()
            .any(|cond| cond == &serde_json::json!({ "$eq": volume.id }))
    }));
}

#[tokio::test]
async fn new_tasks_appear_as_the_clock_moves() {
    let env = Env::start(20).await;
    let adapter = env.adapter("");
    let first = adapter.collect(env.window(2 * HOUR)).await.jobs.unwrap();
    env.ctx.clock.advance(Duration::from_secs(6 * HOUR as u64));
    let later = adapter.collect(env.window(2 * HOUR)).await.jobs.unwrap();
    let now = env.now();
    let expected = expected_jobs(env.world(), now - 2 * HOUR, now, |_| true);
    assert_eq!(later.len(), expected.len());
    assert!(later.iter().any(|j| !first.iter().any(|f| f.id == j.id)));
}

#[tokio::test]
async fn probe_counts_assets_and_alerts() {
    let env = Env::start(20).await;
    let line = env.adapter("").probe().await.unwrap();
    let world = env.world();
    // The datasource lists include deleted assets, flagged.
    let total = world.assets.len();
    let active = world
        .alerts()
        .iter()
        .filter(|a| a.status == "active")
        .count();
    assert!(line.contains(&format!("{total} assets")), "{line}");
    assert!(line.contains(&format!("{active} active alerts")), "{line}");
    assert!(line.contains("\"Global\""), "{line}");
}

#[tokio::test]
async fn sizes_keep_each_fields_unit() {
    let env = Env::start(40).await;
    let objects = env
        .adapter("")
        .collect(env.window(HOUR))
        .await
        .inventory
        .unwrap();
    let world = env.world();
    let now = env.now();
    let find = |kind: Kind| {
        world
            .listed_assets()
            .find(|a| a.kind == kind && !world.backups(a, now).is_empty())
            .unwrap()
    };
    let get = |id: &str| objects.iter().find(|o| o.id == id).unwrap();
    let ec2 = find(Kind::Ec2);
    // EC2 backup `size` is GiB.
    assert_eq!(get(&ec2.id).protected_bytes, Some(ec2.ec2_gib * (1 << 30)));
    let rds = find(Kind::Rds);
    // RDS resource `size` is bytes, its backup `size` GiB.
    assert_eq!(get(&rds.id).protected_bytes, Some(rds.size_bytes));
    assert_eq!(
        get(&rds.id).stored_bytes,
        Some(rds.size_bytes.div_ceil(1 << 30) * (1 << 30))
    );
    let ebs = find(Kind::Ebs);
    // EBS volume `size` is bytes; `utilized_size_in_bytes` is bytes.
    assert_eq!(get(&ebs.id).protected_bytes, Some(ebs.size_bytes));
    assert_eq!(
        get(&ebs.id).stored_bytes,
        Some(world.backups(ebs, now)[0].utilized_bytes)
    );
    let pg = find(Kind::ProtectionGroup);
    assert_eq!(get(&pg.id).stored_bytes, Some(pg.size_bytes));
}
