//! One refresh: every collector against the world, paging, scope and robustness paths.

use super::*;

#[tokio::test]
async fn collect_matches_the_simulated_world() {
    let h = Harness::start().await;
    let w = h.world();
    let window = h.window();
    let now = window.now;
    let got = h.adapter().collect(window).await;

    // Inventory: every consumer, with its business unit as tenant.
    let objects = got.inventory.expect("inventory");
    assert_eq!(objects.len(), w.consumers.len());
    let by_id: HashMap<&str, &model::Object> = objects.iter().map(|o| (o.id.as_str(), o)).collect();
    for c in &w.consumers {
        let o = by_id[c.id.to_string().as_str()];
        assert_eq!(o.name, c.name);
        assert_eq!(o.tenant, tenant_of(w, c));
        assert_eq!(o.created, Some(c.created), "{}", c.name);
        let node = c.node.as_ref();
        let protected = protected(c);
        assert_eq!(o.protected, protected, "{}", c.name);
        let object_type = node.map_or("node".to_owned(), |n| {
            n.node_type.1.to_lowercase().replace(' ', "_")
        });
        assert_eq!(o.object_type, object_type);
        assert_eq!(o.policy, node.map_or("", |n| n.domain.1));
        assert_eq!(o.stored_bytes, stored_bytes(c), "{}", c.name);
        let last = w.last_success(c.id, now).and_then(|j| j.completed);
        assert_eq!(o.last_success_hint, last, "{}", c.name);
        assert_eq!(o.latest_restore_point, last, "{}", c.name);
        let first = w.first_job(c.id, now).and_then(|j| j.completed);
        let pruned = first.filter(|f| f.as_second() - c.created.as_second() > 7 * 86_400);
        assert_eq!(o.history_start, pruned, "{}", c.name);
    }
    assert!(
        objects.iter().any(|o| !o.protected),
        "an unprotected object is planted"
    );
    // An inactive consumer and a node that was never activated have a domain and a
    // schedule, yet nothing backs them up.
    for plant in [Plant::Inactive, Plant::NotActivated] {
        let c = w.consumers.iter().find(|c| c.plant == plant).unwrap();
        assert!(c.node.is_some(), "{plant:?} has a node");
        assert!(!by_id[c.id.to_string().as_str()].protected, "{plant:?}");
    }
    assert!(objects.iter().any(|o| o.history_start.is_none()));

    // Jobs: those of the window, results as the simulator meant them.
    let jobs = got.jobs.expect("jobs");
    let mut want: BTreeMap<String, (JobResult, JobKind)> = BTreeMap::new();
    for c in &w.consumers {
        let ids = world_jobs(w, c, window.since, now, now);
        for j in w.jobs(c.id, window.since, now, now) {
            if ids.contains(&j.id) {
                want.insert(j.id.to_string(), (j.expected, j.expected_kind));
            }
        }
    }
    let have: BTreeMap<String, (JobResult, JobKind)> = jobs
        .iter()
        .map(|j| (j.id.clone(), (j.result, j.kind)))
        .collect();
    assert_eq!(have, want);
    for result in JobResult::ALL {
        assert!(
            jobs.iter().any(|j| j.result == result),
            "a {result:?} job in the window"
        );
    }
    let missed: &Job = jobs.iter().find(|j| j.result == JobResult::Missed).unwrap();
    assert!(missed.end.is_none() && missed.start.is_some());
    let warning = jobs
        .iter()
        .find(|j| j.result == JobResult::Warning)
        .unwrap();
    assert_eq!(warning.error_code.as_deref(), Some("8"));
    assert!(warning.duration.is_some() && warning.transferred_bytes.is_some());

    // Warnings: the latest report's, unless the node's errors are switched off.
    let mut want: Vec<(String, String, Severity, String)> = Vec::new();
    for c in &w.consumers {
        let Some(r) = w.latest_report(c.id, now) else {
            continue;
        };
        if r.errors_deactivated {
            continue;
        }
        for x in &r.warnings {
            let severity = if x.status == 2 {
                Severity::Critical
            } else {
                Severity::Warning
            };
            want.push((
                c.id.to_string(),
                category(x.type_id).into(),
                severity,
                tenant_of(w, c).into(),
            ));
        }
    }
    want.sort();
    let mut have: Vec<(String, String, Severity, String)> = got
        .warnings
        .expect("warnings")
        .into_iter()
        .map(|x: Warning| (x.object_id.unwrap(), x.category, x.severity, x.tenant))
        .collect();
    have.sort();
    assert_eq!(have, want);
    for cat in [
        "no_activity",
        "no_successful_backup",
        "failed_schedule",
        "storage_limit_exceeded",
        "other",
    ] {
        assert!(have.iter().any(|x| x.1 == cat), "a {cat} warning");
    }

    // Audit: every entry of the window.
    let mut want: Vec<(String, Timestamp, AuditAction, String, String, String)> = w
        .consumers
        .iter()
        .flat_map(|c| {
            w.audit(c.id, window.since, now, now)
                .into_iter()
                .map(move |a| {
                    (
                        a.id.to_string(),
                        a.time,
                        action(a.audit_type),
                        a.actor.to_owned(),
                        a.description,
                        c.name.clone(),
                    )
                })
        })
        .collect();
    want.sort();
    let mut have: Vec<_> = got
        .audit
        .expect("audit")
        .into_iter()
        .map(|e: AuditEvent| (e.id, e.time, e.action, e.actor, e.message, e.object))
        .collect();
    have.sort();
    assert_eq!(have, want);

    // Storage: the pools the occupancies point at, and bytes per tenant and object.
    let storage = got.storage.expect("storage");
    let used_pools: BTreeSet<usize> = w
        .consumers
        .iter()
        .flat_map(|c| c.node.iter().flat_map(|n| &n.filespaces))
        .flat_map(|f| f.occupancies.iter().map(|o| o.pool))
        .collect();
    let mut want: Vec<model::StoragePool> = used_pools
        .iter()
        .map(|i| {
            let p = &w.pools[*i];
            let cap = model::mib_to_bytes(p.total_mb);
            model::StoragePool {
                name: p.name.into(),
                capacity_bytes: Some(cap),
                used_bytes: Some(cap - model::mib_to_bytes(p.free_mb)),
            }
        })
        .collect();
    want.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(want.len(), w.pools.len(), "every pool holds data");
    assert_eq!(storage.pools, want);
    let mut tenants: BTreeMap<String, u64> = BTreeMap::new();
    for c in &w.consumers {
        if let Some(b) = stored_bytes(c) {
            *tenants.entry(tenant_of(w, c).into()).or_default() += b;
        }
    }
    assert_eq!(storage.tenants, tenants.into_iter().collect::<Vec<_>>());
    assert_eq!(
        storage.objects.len(),
        w.consumers
            .iter()
            .filter(|c| stored_bytes(c).is_some())
            .count()
    );
}

#[tokio::test]
async fn every_page_of_consumers_jobs_and_audit_is_read() {
    let options = SimOptions {
        default_page: Some(1),
        max_page: 2,
        audit_page: 2,
        ..SimOptions::default()
    };
    let h = Harness::with(options, 60).await;
    let w = h.world();
    let window = h.window();
    let got = h.adapter().collect(window).await;
    assert_eq!(got.inventory.expect("inventory").len(), w.consumers.len());
    let want_jobs: usize = w
        .consumers
        .iter()
        .map(|c| world_jobs(w, c, window.since, window.now, window.now).len())
        .sum();
    assert_eq!(got.jobs.expect("jobs").len(), want_jobs);
    let want_audit: usize = w
        .consumers
        .iter()
        .map(|c| w.audit(c.id, window.since, window.now, window.now).len())
        .sum();
    assert_eq!(got.audit.expect("audit").len(), want_audit);
    assert!(
        h.sim.count("paged") > 20,
        "paging happened: {}",
        h.sim.count("paged")
    );
}

#[tokio::test]
async fn audit_is_read_from_the_newest_entry_on_and_kept_for_the_window() {
    let h = Harness::start().await;
    let a = h.adapter();
    let w = h.world();
    let first = a.collect(h.window()).await.audit.expect("audit");
    h.clock.advance(Duration::from_secs(2 * 86_400));
    let window = h.window();
    let second = a.collect(window).await.audit.expect("audit");
    let want: BTreeSet<String> = w
        .consumers
        .iter()
        .flat_map(|c| w.audit(c.id, window.since, window.now, window.now))
        .map(|a| a.id.to_string())
        .collect();
    let have: BTreeSet<String> = second.iter().map(|e| e.id.clone()).collect();
    assert_eq!(have, want);
    assert!(
        first.iter().any(|e| !have.contains(&e.id)),
        "old entries left the window"
    );
}

#[tokio::test]
async fn without_the_tree_endpoint_the_tree_is_walked_from_the_users_unit() {
    let h = Harness::start().await;
    h.sim.break_route("bunits", StatusCode::NOT_FOUND);
    let a = h.adapter_with("    bunits: [103]\n");
    let objects = a.collect(h.window()).await.inventory.expect("inventory");
    let w = h.world();
    let want: BTreeSet<String> = w
        .consumers
        .iter()
        .filter(|c| c.bunit == 103 || c.bunit == 117)
        .map(|c| c.id.to_string())
        .collect();
    assert!(!want.is_empty());
    assert_eq!(
        objects
            .iter()
            .map(|o| o.id.clone())
            .collect::<BTreeSet<_>>(),
        want
    );
    assert!(
        objects
            .iter()
            .any(|o| o.tenant == "Research Lab - GPU cluster")
    );
    assert!(a.probe().await.unwrap().contains("2 business units"));
}

#[tokio::test]
async fn pruned_history_moves_the_first_job_and_jobs_are_still_read() {
    let h = Harness::start().await;
    let a = h.adapter();
    assert!(a.collect(h.window()).await.jobs.is_ok());
    let asked = h.sim.count("jobs/first");
    // Retention deletes everything older than a day: the cached first jobs are now too
    // early, the portal refuses them, and the adapter asks for the first job again.
    let floor = clock::before(h.clock.now(), Duration::from_secs(86_400));
    h.sim.prune_jobs(floor);
    let window = h.window();
    let jobs = a.collect(window).await.jobs.expect("jobs after pruning");
    assert!(h.sim.count("jobs/first") > asked + 10);
    assert!(!jobs.is_empty());
    assert!(jobs.iter().all(|j| j.time().is_some_and(|t| t >= floor)));
}

#[tokio::test]
async fn configured_bunits_limit_the_scope_to_their_subtrees() {
    let h = Harness::start().await;
    let w = h.world();
    let got = h
        .adapter_with("    bunits: [76]\n")
        .collect(h.window())
        .await;
    let objects = got.inventory.expect("inventory");
    let want = w
        .consumers
        .iter()
        .filter(|c| c.bunit == 76 || c.bunit == 81)
        .count();
    assert!(want > 0);
    assert_eq!(objects.len(), want);
    assert!(objects.iter().all(|o| o.tenant.starts_with("Finance AB")));

    let e = h
        .adapter_with("    bunits: [76, 999]\n")
        .collect(h.window())
        .await
        .inventory
        .unwrap_err()
        .to_string();
    assert!(e.contains("business unit(s) 999 from `bunits`"), "{e}");
}
