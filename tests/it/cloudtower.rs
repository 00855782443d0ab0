//! The CloudTower adapter against its simulator over real HTTP: every value the adapter
//! reports is compared with what the simulated world says it should be.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use backup_exporter::api::{ApiMetrics, RequestLabels, TargetLabels};
use backup_exporter::clock::Clock;
use backup_exporter::config::Settings;
use backup_exporter::model::{JobResult, Object, Vendor};
use backup_exporter::sim::{FaultSpec, SimContext, SimServer};
use backup_exporter::vendors::cloudtower::sim::{
    CLUSTERS, DEMO_API_KEY, DEMO_LDAP_USER, DEMO_PASSWORD, DEMO_USER, Role, Scope, Tower, World,
    sort_warnings,
};
use backup_exporter::vendors::cloudtower::{self, CloudTower, Options};
use backup_exporter::vendors::{Adapter, AdapterContext, Collection, Period, Window};
use jiff::{SignedDuration, Timestamp};

/// 2026-03-15T10:37:00Z.
const NOW: i64 = 1_773_571_020;
const SEED: u64 = 7;
const OBJECTS: usize = 24;

struct Harness {
    server: SimServer,
    clock: Clock,
    world: World,
    dir: tempfile::TempDir,
    metrics: ApiMetrics,
}

async fn start() -> Harness {
    let clock = Clock::manual(Timestamp::from_second(NOW).unwrap());
    let mut ctx = SimContext::new(SEED, OBJECTS);
    ctx.clock = clock.clone();
    let server = SimServer::start("127.0.0.1:0", ctx).await.unwrap();
    Harness {
        server,
        clock,
        world: World::new(SEED, OBJECTS, NOW),
        dir: tempfile::tempdir().unwrap(),
        metrics: ApiMetrics::default(),
    }
}

impl Harness {
    fn url(&self, mount: &str) -> String {
        format!("{}cloudtower/{mount}", self.server.base_url())
    }

    fn secret(&self, name: &str, value: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, value).unwrap();
        p
    }

    /// The YAML of one cloudtower target named `t` with `keys` (one `key: value` a line).
    fn config(&self, mount: &str, keys: &str) -> String {
        let mut text = format!(
            "targets:\n  - name: t\n    vendor: cloudtower\n    url: \"{}\"\n",
            self.url(mount)
        );
        for line in keys.lines().filter(|l| !l.trim().is_empty()) {
            text.push_str(&format!("    {}\n", line.trim()));
        }
        text
    }

    fn password_keys(&self) -> String {
        let pw = self.secret("pw", DEMO_PASSWORD);
        format!("username: {DEMO_USER}\npassword_file: {}", pw.display())
    }

    fn adapter_with(&self, mount: &str, keys: &str, options: Options) -> Arc<CloudTower> {
        let text = self.config(mount, keys);
        let settings = Settings::parse(&text, Path::new("test.yml")).unwrap();
        let ctx = AdapterContext {
            metrics: self.metrics.clone(),
            clock: self.clock.clone(),
        };
        cloudtower::build_with(&settings.targets[0], &ctx, options).unwrap()
    }

    fn adapter(&self, mount: &str, keys: &str) -> Arc<CloudTower> {
        self.adapter_with(mount, keys, Options::default())
    }

    fn fault(&self, spec: &str) {
        self.server
            .ctx
            .faults
            .apply(&spec.parse::<FaultSpec>().unwrap());
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn window(&self) -> Window {
        let now = self.now();
        Window {
            now,
            since: now - SignedDuration::from_hours(48),
        }
    }

    fn requests(&self, code: &str) -> u64 {
        self.metrics
            .requests
            .get_or_create(&RequestLabels {
                vendor: "cloudtower".into(),
                target: "t".into(),
                code: code.into(),
            })
            .get()
    }

    /// Asserts that a collection equals the world as seen by `tower` within `scope`.
    fn assert_matches_world(&self, c: Collection, tower: Tower, scope: &Scope) {
        let w = self.window();
        let mut inventory = c.inventory.expect("inventory");
        inventory.sort_by(|a, b| a.id.cmp(&b.id));
        let mut expected = self.world.expected_objects(w.now, tower, scope);
        expected.sort_by(|a, b| a.id.cmp(&b.id));
        assert_objects_eq(&inventory, &expected);

        let jobs = c.jobs.expect("jobs");
        let expected = self.world.expected_jobs(w.now, w.since, None, tower, scope);
        assert_eq!(jobs.len(), expected.len(), "number of jobs");
        for (got, want) in jobs.iter().zip(&expected) {
            assert_eq!(got, want);
        }

        let mut warnings = c.warnings.expect("warnings");
        sort_warnings(&mut warnings);
        assert_eq!(warnings, self.world.expected_warnings(w.now, scope));

        let until = w.now + SignedDuration::from_secs(1);
        assert_eq!(
            c.audit.expect("audit"),
            self.world.expected_audit(w.since, until, scope)
        );

        let mut storage = c.storage.expect("storage");
        storage.pools.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(storage, self.world.expected_storage(w.now, tower, scope));
    }
}

fn assert_objects_eq(got: &[Object], want: &[Object]) {
    assert_eq!(
        got.iter().map(|o| &o.name).collect::<Vec<_>>(),
        want.iter().map(|o| &o.name).collect::<Vec<_>>()
    );
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g, w, "object {}", w.name);
    }
}

fn error_text<T: std::fmt::Debug>(r: &Result<T, backup_exporter::vendors::VendorError>) -> String {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

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
    let history = a.history(period).await.unwrap();
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
async fn expired_tokens_lead_to_a_new_login() {
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    assert!(a.collect(h.window()).await.inventory.is_ok());
    h.fault("cloudtower:expire-tokens");
    let c = a.collect(h.window()).await;
    assert!(h.requests("401") >= 1, "the old token was refused");
    h.assert_matches_world(c, Tower::Current, &Scope::all());
}

#[tokio::test]
async fn api_key_works_raw_and_with_bearer() {
    let h = start().await;
    let key = h.secret("key", DEMO_API_KEY);
    let a = h.adapter("", &format!("token_file: {}", key.display()));
    h.assert_matches_world(a.collect(h.window()).await, Tower::Current, &Scope::all());
    let bearer = h.secret("bearer", &format!("Bearer {DEMO_API_KEY}\n"));
    let b = h.adapter("", &format!("token_file: {}", bearer.display()));
    assert!(b.collect(h.window()).await.inventory.is_ok());
}

#[tokio::test]
async fn unknown_api_key_is_refused_without_showing_it() {
    let h = start().await;
    let key = h.secret("key", "ct-apikey-not-known-to-the-tower");
    let a = h.adapter("", &format!("token_file: {}", key.display()));
    let c = a.collect(h.window()).await;
    let e = error_text(&c.inventory);
    assert!(e.contains("POST /v2/api/get-"), "{e}");
    assert!(e.contains("401"), "{e}");
    assert!(!e.contains("not-known"), "{e}");
}

#[tokio::test]
async fn wrong_password_is_a_refused_login() {
    let h = start().await;
    let pw = h.secret("pw", "guess-again");
    let a = h.adapter(
        "",
        &format!("username: {DEMO_USER}\npassword_file: {}", pw.display()),
    );
    let e = a.probe().await.unwrap_err().to_string();
    assert!(e.contains("POST /v2/api/login: login refused"), "{e}");
    assert!(e.contains("incorrect"), "{e}");
    assert!(!e.contains("guess-again"), "{e}");
    let failures = h
        .metrics
        .auth_failures
        .get_or_create(&TargetLabels {
            vendor: "cloudtower".into(),
            target: "t".into(),
        })
        .get();
    assert_eq!(failures, 1);
}

#[tokio::test]
async fn ldap_user_logs_in_with_its_source() {
    let h = start().await;
    let pw = h.secret("pw", DEMO_PASSWORD);
    let keys = |source: &str| {
        format!(
            "username: {DEMO_LDAP_USER}\nuser_source: {source}\npassword_file: {}",
            pw.display()
        )
    };
    assert!(h.adapter("", &keys("LDAP")).probe().await.is_ok());
    assert!(h.adapter("", &keys("LOCAL")).probe().await.is_err());
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
async fn server_errors_name_the_endpoint() {
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    a.probe().await.unwrap();
    h.fault("cloudtower:5xx=1");
    let c = a.collect(h.window()).await;
    for e in [
        error_text(&c.inventory),
        error_text(&c.jobs),
        error_text(&c.warnings),
        error_text(&c.audit),
        error_text(&c.storage),
    ] {
        assert!(e.contains("POST /v2/api/get-") && e.contains("500"), "{e}");
        assert!(e.contains("Internal server error"), "{e}");
    }
}

#[tokio::test]
async fn throttling_is_waited_out() {
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    a.probe().await.unwrap();
    h.fault("cloudtower:429=1");
    let faults = h.server.ctx.faults.clone();
    let clear = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        faults.clear();
    });
    let c = a.collect(h.window()).await;
    clear.await.unwrap();
    assert!(h.requests("429") >= 1);
    h.assert_matches_world(c, Tower::Current, &Scope::all());
}

#[tokio::test]
async fn truncated_bodies_are_decode_errors_naming_the_endpoint() {
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    a.probe().await.unwrap();
    h.fault("cloudtower:truncate=1");
    let c = a.collect(h.window()).await;
    for e in [
        error_text(&c.inventory),
        error_text(&c.warnings),
        error_text(&c.storage),
    ] {
        assert!(e.contains("POST /v2/api/get-"), "{e}");
        assert!(e.contains("could not decode"), "{e}");
    }
    h.fault("cloudtower:clear");
    h.fault("cloudtower:malformed=1");
    let e = error_text(&a.collect(h.window()).await.audit);
    assert!(
        e.contains("POST /v2/api/get-user-audit-logs: could not decode"),
        "{e}"
    );
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
    assert!(p.starts_with("CloudTower 4.6.0:"), "{p}");
    assert!(p.contains(&format!("{vms} VMs in 3 clusters")), "{p}");
    assert!(p.contains("3 backup plans"), "{p}");
}

#[test]
fn config_problems_are_named() {
    let check = |keys: &str, want: &str| {
        let text = format!(
            "targets:\n  - name: t\n    vendor: cloudtower\n{}",
            keys.lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        );
        let e = Settings::parse(&text, Path::new("c.yml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{keys:?}: {e}");
    };
    check("username: u\npassword_env: P", "`url` is required");
    check(
        "url: http://x",
        "either `token` (an API key) or `username` and `password` are required",
    );
    check(
        "url: http://x\ntoken_env: T\nusername: u\npassword_env: P",
        "`token` (an API key) and `username`/`password` are alternatives",
    );
    check(
        "url: http://x\nusername: u",
        "`password` is required with `username`",
    );
    check(
        "url: http://x\npassword_env: P",
        "`username` is required with `password`",
    );
    check(
        "url: http://x\nusername: u\npassword_env: P\nuser_source: KERBEROS",
        "`user_source`: \"KERBEROS\" is not one of LOCAL, LDAP, AUTHN, SSO",
    );
    check(
        "url: http://x\ntoken_env: T\nuser_source: LDAP",
        "`user_source` applies only to",
    );
    check(
        "url: http://x\ntoken_env: T\nclusters: []",
        "`clusters`: name at least one cluster",
    );
    check(
        "url: http://x\ntoken_env: T\nbunits: [1]",
        "`bunits` is not a key of vendor cloudtower",
    );
    check(
        "url: http://x\ntoken: a\ntoken_env: T",
        "are alternatives: set only one",
    );
    let ok = "targets:\n  - {name: t, vendor: cloudtower, url: \"http://x\", token_env: T, clusters: [a]}\n";
    assert!(Settings::parse(ok, Path::new("c.yml")).is_ok());
    assert_eq!(Vendor::Cloudtower.as_str(), "cloudtower");
}

#[test]
fn example_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/cloudtower.example.yml");
    let s = Settings::load(&path).unwrap();
    assert_eq!(s.targets.len(), 2);
    assert!(s.targets.iter().all(|t| t.vendor == Vendor::Cloudtower));
    assert_eq!(
        s.targets[1].raw.clusters.as_deref(),
        Some(&["CN-GZ-DR-Cls03".to_owned()][..])
    );
}

#[test]
fn docs_name_every_warning_category() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/vendors/cloudtower.md");
    let doc = std::fs::read_to_string(path).unwrap();
    for c in cloudtower::CATEGORIES {
        assert!(doc.contains(&format!("`{c}`")), "{c} is not documented");
    }
}

#[tokio::test]
async fn demo_targets_log_in_and_collect() {
    let h = start().await;
    let text = h.server.demo_config(h.dir.path(), None).unwrap();
    let settings = Settings::parse(&text, Path::new("demo.yml")).unwrap();
    let targets: Vec<_> = settings
        .targets
        .iter()
        .filter(|t| t.vendor == Vendor::Cloudtower)
        .collect();
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["cloudtower-demo", "cloudtower-legacy-demo"]);
    let ctx = AdapterContext {
        metrics: h.metrics.clone(),
        clock: h.clock.clone(),
    };
    for t in targets {
        let a = cloudtower::build(t, &ctx).unwrap();
        let c = a.collect(h.window()).await;
        let inventory = c.inventory.unwrap();
        assert!(!inventory.is_empty(), "{}", t.name);
        assert!(c.jobs.is_ok() && c.warnings.is_ok() && c.audit.is_ok() && c.storage.is_ok());
        if t.name == "cloudtower-legacy-demo" {
            assert!(inventory.iter().all(|o| o.tenant == CLUSTERS[0].0));
        }
    }
}

/// The exporter (scheduler, state, /metrics) over the simulated tower: every per-object,
/// tenant and storage series has the value the world implies.
#[tokio::test]
async fn metrics_show_the_simulated_world() {
    use std::collections::BTreeMap;

    use backup_exporter::exporter::Exporter;
    use backup_exporter::model::JobKind;
    use backup_exporter::state::facts_by_object;

    use crate::common::{get, value};

    let h = start().await;
    let pw = h.secret("pw", DEMO_PASSWORD);
    let text = format!(
        "defaults: {{interval: 1s, timeout: 1m, lookback: 48h, max_stale: 12h}}\n\
         compliance:\n  rpo: 24h\n  rules:\n    - match: {{object: \"test-*\"}}\n      exclude: tests\n\
         targets:\n  - name: t\n    vendor: cloudtower\n    url: \"{}\"\n    username: {DEMO_USER}\n    password_file: {}\n",
        h.url(""),
        pw.display()
    );
    let settings = Settings::parse(&text, Path::new("m.yml")).unwrap();
    let ex = Exporter::start(&settings, "127.0.0.1:0", h.clock.clone(), None)
        .await
        .unwrap();
    assert!(ex.wait_ready(Duration::from_secs(60)).await);
    let (status, m) = get(&format!("http://{}/metrics", ex.addr)).await;
    assert_eq!(status, 200);

    let now = h.now();
    let since = now - SignedDuration::from_hours(48);
    let objects = h.world.expected_objects(now, Tower::Current, &Scope::all());
    let jobs = h
        .world
        .expected_jobs(now, since, None, Tower::Current, &Scope::all());
    let facts = facts_by_object(&jobs, false);
    let t = ("target", "t");
    let secs = |ts: Timestamp| ts.as_second() as f64;
    assert_eq!(value(&m, "backup_target_up", &[t]), Some(1.0));
    for c in ["inventory", "jobs", "warnings", "audit", "storage"] {
        assert_eq!(
            value(&m, "backup_collector_up", &[t, ("collector", c)]),
            Some(1.0),
            "{c}"
        );
    }
    assert_eq!(
        value(&m, "backup_exported_objects", &[t]),
        Some(objects.len() as f64)
    );
    for o in &objects {
        let id = ("object_id", o.id.as_str());
        let v = |name: &str, extra: &[(&str, &str)]| {
            let mut labels = vec![t, id];
            labels.extend_from_slice(extra);
            value(&m, name, &labels)
        };
        let info = [
            ("object", o.name.as_str()),
            ("tenant", o.tenant.as_str()),
            ("policy", o.policy.as_str()),
            ("object_type", "vm"),
        ];
        assert_eq!(v("backup_object_info", &info), Some(1.0), "{}", o.name);
        assert_eq!(
            v("backup_object_protected", &[]),
            Some(if o.protected { 1.0 } else { 0.0 }),
            "{}",
            o.name
        );
        let rpo = o.policy_rpo.unwrap_or(Duration::from_secs(24 * 3600));
        assert_eq!(
            v("backup_object_rpo_seconds", &[]),
            Some(rpo.as_secs_f64()),
            "{}",
            o.name
        );
        let f = facts.get(o.id.as_str()).cloned().unwrap_or_default();
        let last_success = f.last_success.max(o.last_success_hint);
        assert_eq!(
            v("backup_object_last_success_timestamp_seconds", &[]),
            Some(last_success.map_or(0.0, secs)),
            "{}",
            o.name
        );
        if let Some(at) = f.last_attempt {
            assert_eq!(
                v("backup_object_last_attempt_timestamp_seconds", &[]),
                Some(secs(at)),
                "{}",
                o.name
            );
        }
        if let Some(r) = f.last_result {
            assert_eq!(
                v("backup_object_last_result", &[("result", r.as_str())]),
                Some(1.0)
            );
        }
        assert_eq!(
            v("backup_object_consecutive_failures", &[]),
            Some(f.consecutive_failures as f64),
            "{}",
            o.name
        );
        assert_eq!(
            v("backup_object_restore_points", &[]),
            o.restore_points.map(|n| n as f64)
        );
        assert_eq!(
            v("backup_object_latest_restore_point_timestamp_seconds", &[]),
            o.latest_restore_point.map(secs)
        );
        assert_eq!(
            v("backup_object_stored_bytes", &[]),
            o.stored_bytes.map(|b| b as f64)
        );
        assert_eq!(
            v("backup_object_protected_bytes", &[]),
            o.protected_bytes.map(|b| b as f64)
        );
    }
    let never = objects.iter().find(|o| o.name == "erp-db-01").unwrap();
    assert_eq!(
        value(
            &m,
            "backup_object_last_success_timestamp_seconds",
            &[t, ("object_id", never.id.as_str())]
        ),
        Some(0.0)
    );

    let tenant_of: BTreeMap<&str, &str> = objects
        .iter()
        .map(|o| (o.id.as_str(), o.tenant.as_str()))
        .collect();
    let mut window: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    let mut running: BTreeMap<&str, u64> = BTreeMap::new();
    for j in &jobs {
        let tenant = tenant_of[j.object_id.as_str()];
        if j.result == JobResult::Running {
            *running.entry(tenant).or_default() += 1;
        } else {
            *window.entry((tenant, j.result.as_str())).or_default() += 1;
        }
    }
    assert!(
        window.len() >= 6,
        "three tenants, two results at least: {window:?}"
    );
    for ((tenant, result), n) in &window {
        let labels = [
            t,
            ("tenant", *tenant),
            ("kind", JobKind::Backup.as_str()),
            ("result", *result),
        ];
        assert_eq!(
            value(&m, "backup_jobs_window", &labels),
            Some(*n as f64),
            "{tenant} {result}"
        );
    }
    for (tenant, n) in &running {
        let labels = [t, ("tenant", *tenant), ("kind", "backup")];
        assert_eq!(
            value(&m, "backup_jobs_running", &labels),
            Some(*n as f64),
            "{tenant}"
        );
    }

    let mut warnings: BTreeMap<(String, &str, String), u64> = BTreeMap::new();
    for w in h.world.expected_warnings(now, &Scope::all()) {
        *warnings
            .entry((w.tenant, w.severity.as_str(), w.category))
            .or_default() += 1;
    }
    for ((tenant, severity, category), n) in &warnings {
        let labels = [
            t,
            ("tenant", tenant.as_str()),
            ("severity", *severity),
            ("category", category.as_str()),
        ];
        assert_eq!(
            value(&m, "backup_warnings", &labels),
            Some(*n as f64),
            "{labels:?}"
        );
    }

    for p in h
        .world
        .expected_storage(now, Tower::Current, &Scope::all())
        .pools
    {
        let pool = [t, ("pool", p.name.as_str())];
        assert_eq!(
            value(&m, "backup_storage_capacity_bytes", &pool),
            p.capacity_bytes.map(|b| b as f64)
        );
        assert_eq!(
            value(&m, "backup_storage_used_bytes", &pool),
            p.used_bytes.map(|b| b as f64)
        );
    }
    let mut stored: BTreeMap<&str, u64> = BTreeMap::new();
    for o in &objects {
        if let Some(b) = o.stored_bytes {
            *stored.entry(o.tenant.as_str()).or_default() += b;
        }
    }
    for (tenant, b) in &stored {
        assert_eq!(
            value(&m, "backup_tenant_stored_bytes", &[t, ("tenant", *tenant)]),
            Some(*b as f64)
        );
    }

    let until = now + SignedDuration::from_secs(1);
    let mut last: BTreeMap<(String, &str), Timestamp> = BTreeMap::new();
    for e in h.world.expected_audit(since, until, &Scope::all()) {
        let tenant = if e.tenant.is_empty() {
            "unknown".to_owned()
        } else {
            e.tenant
        };
        let at = last.entry((tenant, e.action.as_str())).or_insert(e.time);
        *at = (*at).max(e.time);
    }
    assert!(
        last.keys().any(|(tenant, _)| tenant == "unknown"),
        "logins have no cluster"
    );
    for ((tenant, action), at) in &last {
        let labels = [t, ("tenant", tenant.as_str()), ("action", *action)];
        assert_eq!(
            value(&m, "backup_audit_last_event_timestamp_seconds", &labels),
            Some(secs(*at)),
            "{labels:?}"
        );
    }
    ex.stop().await;
}

/// `report` for last month over the simulated tower: the planted VMs get the status their
/// story implies, and the jobs and audit files hold exactly the world's records.
#[tokio::test]
async fn report_of_last_month_tells_the_planted_stories() {
    use std::collections::{BTreeSet, HashMap};

    use backup_exporter::report::progress::Mode;
    use backup_exporter::report::{Env, ReportArgs, Source, run_with};

    let h = start().await;
    let pw = h.secret("pw", DEMO_PASSWORD);
    let config = h.dir.path().join("report.yml");
    let text = format!(
        "compliance:\n  rpo: 24h\n  rules:\n    - match: {{object: \"test-*\"}}\n      exclude: test systems\n{}",
        h.config(
            "",
            &format!("username: {DEMO_USER}\npassword_file: {}", pw.display())
        )
    );
    std::fs::write(&config, text).unwrap();
    let out = h.dir.path().join("out");
    let args = ReportArgs {
        config,
        month: None,
        from: None,
        to: None,
        out: out.clone(),
        targets: Vec::new(),
        keep_going: false,
        source: Source::Api,
        prometheus_url: None,
    };
    let env = Env {
        clock: h.clock.clone(),
        progress: Mode::Quiet,
        ..Env::default()
    };
    run_with(&args, &env).await.unwrap();

    let read = |name: &str| -> Vec<HashMap<String, String>> {
        let mut r = csv::Reader::from_path(out.join(name)).unwrap();
        let headers = r.headers().unwrap().clone();
        r.records()
            .map(|rec| {
                headers
                    .iter()
                    .zip(rec.unwrap().iter())
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect()
            })
            .collect()
    };
    let rows = read("compliance-2026-02.csv");
    let status: HashMap<&str, &str> = rows
        .iter()
        .map(|r| (r["object"].as_str(), r["status"].as_str()))
        .collect();
    assert_eq!(status["test-web-05"], "excluded");
    assert_eq!(status["test-db-06"], "excluded");
    assert_eq!(status["scratch-vm-03"], "unprotected");
    assert_eq!(status["legacy-ftp-04"], "unprotected");
    assert_eq!(status["erp-db-01"], "non_compliant");
    let never = rows.iter().find(|r| r["object"] == "erp-db-01").unwrap();
    assert_eq!(never["reason"], "never succeeded");
    assert!(
        !status.contains_key("new-app-07"),
        "created after the period"
    );
    assert!(!status.contains_key("old-vm-99"), "in the recycle bin");

    let from: Timestamp = "2026-02-01T00:00:00Z".parse().unwrap();
    let to: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
    let expected: BTreeSet<String> = h
        .world
        .expected_jobs(h.now(), from, Some(to), Tower::Current, &Scope::all())
        .into_iter()
        .filter(|j| j.result.is_finished())
        .map(|j| j.id)
        .collect();
    let written: BTreeSet<String> = read("jobs-2026-02.csv")
        .into_iter()
        .map(|r| r["job_id"].clone())
        .collect();
    assert_eq!(written, expected);
    let audit: BTreeSet<String> = read("audit-2026-02.csv")
        .into_iter()
        .map(|r| r["event_id"].clone())
        .collect();
    let expected: BTreeSet<String> = h
        .world
        .expected_audit(from, to, &Scope::all())
        .into_iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(audit, expected);
}
