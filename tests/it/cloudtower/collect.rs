//! Collections, history and the tower variants (old, passive, limited to clusters).

use super::*;

#[tokio::test]
async fn collect_reports_exactly_the_simulated_world() {
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    let c = a.collect(h.window()).await;
    h.assert_matches_world(c, Tower::Current, &Scope::all());
}

#[tokio::test]
async fn planted_stories_show_in_the_collection() {
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    let c = a.collect(h.window()).await;
    let inventory = c.inventory.unwrap();
    let jobs = c.jobs.unwrap();
    let by_name = |n: &str| inventory.iter().find(|o| o.name == n).unwrap();
    let of = |o: &Object| {
        jobs.iter()
            .filter(|j| j.object_id == o.id)
            .collect::<Vec<_>>()
    };

    let never = by_name("erp-db-01");
    assert!(never.protected);
    assert!(!of(never).is_empty());
    assert!(of(never).iter().all(|j| !j.result.is_success(false)));

    let failing = by_name("crm-app-02");
    let newest = of(failing)
        .into_iter()
        .filter(|j| j.result.is_finished())
        .max_by_key(|j| j.time())
        .unwrap();
    assert_eq!(newest.result, JobResult::Failed);

    assert!(!by_name("scratch-vm-03").protected);
    let legacy = by_name("legacy-ftp-04");
    assert!(!legacy.protected);
    assert_eq!(legacy.policy, "legacy-weekly");
    assert!(
        inventory
            .iter()
            .filter(|o| o.name.starts_with("test-"))
            .count()
            >= 2
    );
    assert!(
        inventory.iter().all(|o| o.name != "old-vm-99"),
        "recycle bin"
    );
    assert_eq!(
        inventory
            .iter()
            .map(|o| &o.tenant)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        CLUSTERS.len()
    );
    assert!(jobs.iter().any(|j| j.result == JobResult::Running));
    let db = inventory
        .iter()
        .find(|o| o.policy.contains("twice-daily-db"))
        .unwrap();
    assert!(db.policy_rpo.unwrap() <= Duration::from_secs(12 * 3600));
    assert!(!c.warnings.unwrap().is_empty());
}

#[tokio::test]
async fn a_month_of_history_pages_through_every_execution() {
    let h = start().await;
    let a = h.adapter_with("", &h.password_keys(), Options { page_size: 40 });
    let period = Period {
        from: h.now() - SignedDuration::from_hours(45 * 24),
        to: h.now(),
    };
    let history = a
        .history(period, backup_exporter::adapter::REPORT_LOOKBACK)
        .await
        .unwrap();
    let mut objects = history.objects.clone();
    objects.sort_by(|a, b| a.id.cmp(&b.id));
    let mut expected = h
        .world
        .expected_history_objects(h.now(), Tower::Current, &Scope::all());
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_objects_eq(&objects, &expected);
    assert!(objects.iter().any(|o| o.history_start.is_some()));
    let in_period: Vec<_> = history
        .jobs
        .iter()
        .filter(|j| j.result == JobResult::Running || j.time().is_some_and(|t| t >= period.from))
        .cloned()
        .collect();
    let expected = h.world.expected_jobs(
        h.now(),
        period.from,
        Some(period.to),
        Tower::Current,
        &Scope::all(),
    );
    assert_eq!(in_period.len(), expected.len());
    for (g, w) in in_period.iter().zip(&expected) {
        assert_eq!(g, w);
    }
    for r in JobResult::ALL {
        assert!(
            in_period.iter().any(|j| j.result == r),
            "no {r:?} in 45 days"
        );
    }
    // Every VM that succeeded before the period shows that success.
    let before = h.world.expected_jobs(
        h.now(),
        period.from - SignedDuration::from_hours(7 * 24),
        Some(period.from),
        Tower::Current,
        &Scope::all(),
    );
    for o in &history.objects {
        let had = before
            .iter()
            .any(|j| j.object_id == o.id && j.result == JobResult::Success);
        let shows = history.jobs.iter().any(|j| {
            j.object_id == o.id && j.result == JobResult::Success && j.time() < Some(period.from)
        });
        assert_eq!(had, shows, "success before the period of {}", o.name);
    }
    assert_eq!(
        history.audit,
        h.world
            .expected_audit(period.from, period.to, &Scope::all())
    );
    assert!(h.requests("200") > 40, "small pages mean many requests");
}

#[tokio::test]
async fn small_pages_give_the_same_answer_as_large_ones() {
    let h = start().await;
    let small = h.adapter_with("", &h.password_keys(), Options { page_size: 7 });
    let c = small.collect(h.window()).await;
    let pages = h.requests("200");
    h.assert_matches_world(c, Tower::Current, &Scope::all());
    // 24 VMs alone are 4 pages of 7; restore points many more.
    assert!(pages > 30, "{pages} requests");
}

#[tokio::test]
async fn old_tower_without_backup_endpoints_still_reports_the_rest() {
    let h = start().await;
    let a = h.adapter("old/", &h.password_keys());
    let c = a.collect(h.window()).await;
    // Backup plans, restore points and stores are asked for at the same time.
    let first = h.requests("404");
    assert!((1..=3).contains(&first), "{first} requests answered 404");
    h.assert_matches_world(c, Tower::Old, &Scope::all());
    let c = a.collect(h.window()).await;
    assert!(c.jobs.is_ok());
    assert_eq!(
        h.requests("404"),
        first,
        "the next refresh does not ask again"
    );
    let probe = a.probe().await.unwrap();
    assert!(
        probe.contains("4.3.0") && probe.contains("unsupported"),
        "{probe}"
    );
}

#[tokio::test]
async fn passive_node_redirects_to_the_active_one() {
    let h = start().await;
    backup_exporter::api::install_crypto_provider();
    let raw = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = raw
        .post(h.url("passive/v2/api/get-vms"))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 307);
    assert_eq!(resp.headers()["location"], "/cloudtower/v2/api/get-vms");
    let a = h.adapter("passive/", &h.password_keys());
    h.assert_matches_world(a.collect(h.window()).await, Tower::Current, &Scope::all());
}

#[tokio::test]
async fn cluster_scope_limits_every_collector() {
    let h = start().await;
    let keys = format!("{}\nclusters: [\"{}\"]", h.password_keys(), CLUSTERS[1].0);
    let a = h.adapter("", &keys);
    let c = a.collect(h.window()).await;
    let scope = Scope::only(&[CLUSTERS[1].0]);
    assert!(
        c.inventory
            .as_ref()
            .unwrap()
            .iter()
            .all(|o| o.tenant == CLUSTERS[1].0)
    );
    h.assert_matches_world(c, Tower::Current, &scope);
}

#[tokio::test]
async fn new_runs_appear_as_time_moves() {
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    let before = a.collect(h.window()).await.jobs.unwrap();
    h.clock.advance(Duration::from_secs(7 * 3600));
    let c = a.collect(h.window()).await;
    let after = c.jobs.as_ref().unwrap();
    let old: std::collections::HashSet<&str> = before.iter().map(|j| j.id.as_str()).collect();
    assert!(after.iter().any(|j| !old.contains(j.id.as_str())));
    h.assert_matches_world(c, Tower::Current, &Scope::all());
}

#[tokio::test]
async fn probe_counts_what_would_be_scraped() {
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    let p = a.probe().await.unwrap();
    let vms = h
        .world
        .vms
        .iter()
        .filter(|v| v.role != Role::Deleted)
        .count();
    let base = format!("CloudTower 4.6.0 at {}v2/api:", h.url(""));
    assert!(p.starts_with(&base), "{p}");
    assert!(p.contains(&format!("{vms} VMs in 3 clusters")), "{p}");
    assert!(p.contains("3 backup plans"), "{p}");
}

#[tokio::test]
async fn probe_of_a_limited_old_tower_counts_its_cluster_only() {
    let h = start().await;
    let keys = format!("{}\nclusters: [\"{}\"]", h.password_keys(), CLUSTERS[2].0);
    let p = h.adapter("old/", &keys).probe().await.unwrap();
    let vms = h
        .world
        .vms
        .iter()
        .filter(|v| v.role != Role::Deleted && v.cluster == 2)
        .count();
    let alerts = h
        .world
        .expected_warnings(h.now(), &Scope::only(&[CLUSTERS[2].0]))
        .len();
    assert_eq!(
        p,
        format!(
            "CloudTower 4.3.0 at {}v2/api: {vms} VMs in 1 cluster, 2 snapshot plans, \
             backup plans: unsupported (tower older than 4.6), {alerts} active alerts",
            h.url("old/")
        )
    );
}
