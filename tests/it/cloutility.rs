//! The Cloutility adapter against its simulator over real HTTP. Expected values come from
//! the simulator's world (`sim::data::World`), never from hard-coded numbers.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde_json::Value;
use url::Url;

use backup_exporter::api::{ApiMetrics, RequestLabels, TargetLabels};
use backup_exporter::clock::{self, Clock};
use backup_exporter::config::Settings;
use backup_exporter::model::{
    self, AuditAction, AuditEvent, Job, JobKind, JobResult, Severity, Vendor, Warning,
};
use backup_exporter::sim::faults::{self, FaultLayerState};
use backup_exporter::sim::{FaultSpec, Faults, SimContext};
use backup_exporter::vendors::cloutility::sim::data::{
    CLIENT_ID, Consumer, ORIGIN, PASSWORD, USERNAME, World,
};
use backup_exporter::vendors::cloutility::sim::{SimOptions, Simulator};
use backup_exporter::vendors::{self, Adapter, AdapterContext, Period, Window};

/// An evening, so that some backups are running.
const NOW: &str = "2026-11-20T21:40:00Z";
const SEED: u64 = 7;
const LOOKBACK: Duration = Duration::from_secs(48 * 3600);

struct Harness {
    sim: Simulator,
    clock: Clock,
    faults: Faults,
    base: Url,
    dir: tempfile::TempDir,
    metrics: ApiMetrics,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Harness {
    async fn start() -> Harness {
        Self::with(SimOptions::default(), 50).await
    }

    /// The simulator alone, behind the shared fault layer, under `/cloutility`.
    async fn with(options: SimOptions, objects: usize) -> Harness {
        let clock = Clock::manual(NOW.parse().unwrap());
        let faults = Faults::default();
        let ctx = SimContext {
            seed: SEED,
            objects,
            clock: clock.clone(),
            faults: faults.clone(),
        };
        let sim = Simulator::with_options(&ctx, options);
        let vendor_sim = sim.vendor_sim();
        let layer = FaultLayerState {
            faults: faults.clone(),
            vendor: Vendor::Cloutility,
            error: vendor_sim.error,
        };
        let app = Router::new().nest(
            "/cloutility",
            vendor_sim
                .router
                .layer(axum::middleware::from_fn_with_state(layer, faults::inject)),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("password"), format!("{PASSWORD}\n")).unwrap();
        Harness {
            sim,
            clock,
            faults,
            base: Url::parse(&format!("http://{addr}/cloutility")).unwrap(),
            dir,
            metrics: ApiMetrics::default(),
            server,
        }
    }

    fn world(&self) -> &World {
        self.sim.world()
    }

    fn config(&self, extra: &str) -> String {
        format!(
            "targets:\n  - name: safespring\n    vendor: cloutility\n    url: \"{}\"\n    client_id: \"{CLIENT_ID}\"\n    origin: \"{ORIGIN}\"\n    username: \"{USERNAME}\"\n    password_file: \"{}\"\n    lookback: 48h\n    max_concurrent_requests: 4\n{extra}",
            self.base,
            self.dir.path().join("password").display()
        )
    }

    fn adapter_with(&self, extra: &str) -> Arc<dyn Adapter> {
        let settings = Settings::parse(&self.config(extra), Path::new("test.yml")).unwrap();
        vendors::build(
            &settings.targets[0],
            &AdapterContext {
                metrics: self.metrics.clone(),
                clock: self.clock.clone(),
            },
        )
        .unwrap()
    }

    fn adapter(&self) -> Arc<dyn Adapter> {
        self.adapter_with("")
    }

    fn window(&self) -> Window {
        let now = self.clock.now();
        Window {
            now,
            since: clock::before(now, LOOKBACK),
        }
    }

    fn fault(&self, spec: &str) {
        self.faults.apply(&spec.parse::<FaultSpec>().unwrap());
    }

    fn requests_with_code(&self, code: &str) -> u64 {
        self.metrics
            .requests
            .get_or_create(&RequestLabels {
                vendor: "cloutility".into(),
                target: "safespring".into(),
                code: code.into(),
            })
            .get()
    }
}

fn tenant_of<'a>(w: &'a World, c: &Consumer) -> &'a str {
    &w.bunit(c.bunit).unwrap().name
}

/// The jobs the portal lets a client read for `c` from `since` (never before the first
/// job's completion) to `to`.
fn world_jobs(
    w: &World,
    c: &Consumer,
    since: Timestamp,
    to: Timestamp,
    now: Timestamp,
) -> Vec<u64> {
    let Some(first) = w.first_job(c.id, now).and_then(|j| j.completed) else {
        return Vec::new();
    };
    w.jobs(c.id, since.max(first), to, now)
        .iter()
        .map(|j| j.id)
        .collect()
}

/// Warning type names → categories, as the exporter's vocabulary defines them.
fn category(type_id: u64) -> &'static str {
    match type_id {
        1 => "no_activity",
        2 => "no_successful_backup",
        3 => "failed_schedule",
        4 => "missed_schedule",
        5 => "failed_files",
        6 => "storage_limit_exceeded",
        7 => "decreased_storage",
        _ => "other",
    }
}

fn action(audit_type: u16) -> AuditAction {
    match audit_type {
        0 => AuditAction::Info,
        100 => AuditAction::Create,
        200 => AuditAction::Modify,
        300 => AuditAction::Delete,
        400 => AuditAction::Error,
        _ => AuditAction::Other,
    }
}

fn stored_bytes(c: &Consumer) -> Option<u64> {
    let n = c.node.as_ref()?;
    Some(
        n.filespaces
            .iter()
            .flat_map(|f| &f.occupancies)
            .map(|o| model::mib_to_bytes(o.reporting_mb))
            .sum(),
    )
}

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
        let protected =
            node.is_some_and(|n| n.locked_since.is_none() && n.decommissioned_since.is_none());
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
        w.consumers.iter().filter(|c| c.node.is_some()).count()
    );
}

#[tokio::test]
async fn expired_access_token_is_renewed_with_the_refresh_grant() {
    let h = Harness::start().await;
    let a = h.adapter();
    let first = a.collect(h.window()).await;
    assert!(first.inventory.is_ok());
    assert_eq!(
        h.sim.count("oauth password"),
        1,
        "one login for a whole refresh"
    );
    assert_eq!(h.sim.count("oauth refresh"), 0);

    // Past the 299 s lifetime on the simulator's clock; the next call renews the token
    // with the refresh token, not the password.
    h.clock.advance(Duration::from_secs(300));
    let second = a.collect(h.window()).await;
    assert!(second.inventory.is_ok() && second.jobs.is_ok());
    assert_eq!(h.sim.count("oauth refresh"), 1);
    assert_eq!(h.sim.count("oauth password"), 1);

    // What is asked once is not asked again; a consumer without any job yet is asked on
    // every refresh, since its first job may come any time.
    let (with_jobs, without): (Vec<&Consumer>, Vec<&Consumer>) = h
        .world()
        .consumers
        .iter()
        .partition(|c| h.world().first_job(c.id, h.clock.now()).is_some());
    assert!(!without.is_empty());
    assert_eq!(
        h.sim.count("jobs/first"),
        with_jobs.len() as u64 + 2 * without.len() as u64
    );
    assert_eq!(h.sim.count("nodewarningtypes"), 1);

    // Nodes and filespaces change slowly: read again only after half an hour.
    let consumers = h.world().consumers.len() as u64;
    assert_eq!(
        (h.sim.count("node"), h.sim.count("filespaces")),
        (consumers, consumers)
    );
    assert_eq!(
        h.sim.count("reports/latest"),
        2 * consumers,
        "warnings on every refresh"
    );
    h.clock.advance(Duration::from_secs(30 * 60));
    assert!(a.collect(h.window()).await.inventory.is_ok());
    assert_eq!(h.sim.count("node"), 2 * consumers);
}

#[tokio::test]
async fn token_is_refreshed_before_it_expires() {
    // A lifetime just over the client's renewal margin (15 s), so that a second later the
    // token counts as about to expire: renewed with the refresh grant before any 401.
    let options = SimOptions {
        token_lifetime: Duration::from_secs(16),
        ..SimOptions::default()
    };
    let h = Harness::with(options, 5).await;
    let a = h.adapter();
    a.probe().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    a.probe().await.unwrap();
    assert_eq!(h.sim.count("oauth password"), 1);
    assert!(h.sim.count("oauth refresh") >= 1);
    assert_eq!(
        h.sim.count("401"),
        0,
        "renewed before the portal refused it"
    );
}

#[tokio::test]
async fn expire_tokens_fault_logs_in_once_more_and_the_call_succeeds() {
    let h = Harness::start().await;
    let a = h.adapter();
    a.probe().await.unwrap();
    h.fault("cloutility:expire-tokens");
    let line = a.probe().await.expect("probe after the tokens expired");
    assert!(line.contains("business units"), "{line}");
    // The refresh token went with the access token: refused, then one password login.
    assert_eq!(h.sim.count("oauth refused"), 1);
    assert_eq!(h.sim.count("oauth password"), 2);
}

#[tokio::test]
async fn refused_refresh_falls_back_to_the_password() {
    let h = Harness::start().await;
    let a = h.adapter();
    a.probe().await.unwrap();
    h.sim.revoke_refresh_token();
    h.clock.advance(Duration::from_secs(600));
    a.probe()
        .await
        .expect("probe after the refresh token was revoked");
    assert_eq!(h.sim.count("oauth refused"), 1);
    assert_eq!(h.sim.count("oauth password"), 2);
}

#[tokio::test]
async fn probe_counts_business_units_and_consumers() {
    let h = Harness::start().await;
    let line = h.adapter().probe().await.unwrap();
    let w = h.world();
    assert_eq!(
        line,
        format!(
            "Cloutility 1.0.4480.0, logged in as {USERNAME}: {} business units, {} consumers",
            w.bunits.len(),
            w.consumers.len()
        )
    );
}

#[tokio::test]
async fn wrong_password_is_a_refused_login_that_names_the_endpoint() {
    let h = Harness::start().await;
    std::fs::write(h.dir.path().join("password"), "not-the-password").unwrap();
    let e = h.adapter().probe().await.unwrap_err().to_string();
    assert!(e.contains("POST /v1/oauth: login refused: HTTP 400"), "{e}");
    assert!(e.contains("invalid_grant"), "{e}");
    assert!(!e.contains("not-the-password"), "{e}");
    let failures = h
        .metrics
        .auth_failures
        .get_or_create(&TargetLabels {
            vendor: "cloutility".into(),
            target: "safespring".into(),
        })
        .get();
    assert_eq!(failures, 1);
    // The password file is read at every login: fixing it is enough.
    std::fs::write(h.dir.path().join("password"), PASSWORD).unwrap();
}

async fn raw(
    h: &Harness,
    method: reqwest::Method,
    path: &str,
    origin: Option<&str>,
    token: Option<&str>,
    form: Option<&[(&str, &str)]>,
) -> (u16, Value) {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    let client = CLIENT.get_or_init(|| {
        backup_exporter::api::install_crypto_provider();
        reqwest::Client::new()
    });
    let mut req = client.request(method, format!("{}{path}", h.base));
    if let Some(o) = origin {
        req = req.header("Origin", o);
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(f) = form {
        req = req.form(f);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn token(h: &Harness) -> String {
    let form = [
        ("client_id", CLIENT_ID),
        ("grant_type", "password"),
        ("username", USERNAME),
        ("password", PASSWORD),
    ];
    let (status, body) = raw(
        h,
        reqwest::Method::POST,
        "/v1/oauth",
        Some(ORIGIN),
        None,
        Some(&form),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 299);
    assert_eq!(body["token_type"], "bearer");
    body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn simulator_requires_origin_and_a_live_bearer_token() {
    let h = Harness::start().await;
    let form = [
        ("client_id", CLIENT_ID),
        ("grant_type", "password"),
        ("username", USERNAME),
        ("password", PASSWORD),
    ];
    let (status, body) = raw(
        &h,
        reqwest::Method::POST,
        "/v1/oauth",
        None,
        None,
        Some(&form),
    )
    .await;
    assert_eq!(status, 403);
    for key in ["code", "message", "developerMessage", "status"] {
        assert!(body.get(key).is_some(), "{key} in {body}");
    }
    let wrong = [
        ("client_id", CLIENT_ID),
        ("grant_type", "password"),
        ("username", USERNAME),
        ("password", "x"),
    ];
    let (status, body) = raw(
        &h,
        reqwest::Method::POST,
        "/v1/oauth",
        Some(ORIGIN),
        None,
        Some(&wrong),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let t = token(&h).await;
    let get = reqwest::Method::GET;
    let (status, body) = raw(&h, get.clone(), "/v1/fullVersion", None, Some(&t), None).await;
    assert_eq!((status, body["status"].as_u64()), (403, Some(403)));
    let (status, _) = raw(
        &h,
        get.clone(),
        "/v1/fullVersion",
        Some("https://elsewhere.example"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = raw(
        &h,
        get.clone(),
        "/v1/fullVersion",
        Some(ORIGIN),
        Some("forged"),
        None,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (401, Some("Unauthorized")));
    let (status, body) = raw(
        &h,
        get.clone(),
        "/v1/fullVersion",
        Some(ORIGIN),
        Some(&t),
        None,
    )
    .await;
    assert_eq!((status, body), (200, Value::String("1.0.4480.0".into())));
    h.clock.advance(Duration::from_secs(299));
    let (status, body) = raw(&h, get, "/v1/fullVersion", Some(ORIGIN), Some(&t), None).await;
    assert_eq!(status, 401);
    assert!(
        body["developerMessage"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn simulator_jobs_window_is_strict_and_reports_omit_status_unless_asked() {
    let h = Harness::start().await;
    let t = token(&h).await;
    let w = h.world();
    let now = h.clock.now();
    let c = w
        .consumers
        .iter()
        .find(|c| {
            w.first_job(c.id, now).is_some()
                && c.node
                    .as_ref()
                    .is_some_and(|n| n.decommissioned_since.is_none())
        })
        .unwrap();
    let first = w.first_job(c.id, now).unwrap().completed.unwrap();
    let base = format!("/v1/bunits/{}/consumers/{}", c.bunit, c.id);
    let get = reqwest::Method::GET;

    let (status, body) = raw(
        &h,
        get.clone(),
        &format!("{base}/jobs/first"),
        Some(ORIGIN),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["completed"]
            .as_str()
            .unwrap()
            .parse::<Timestamp>()
            .unwrap(),
        first
    );
    assert_eq!(body["id"], 0, "bogus values besides completed");

    let early = clock::before(first, Duration::from_secs(1));
    let path = format!("{base}/jobs?startTime={early}&endTime={now}");
    let (status, _) = raw(&h, get.clone(), &path, Some(ORIGIN), Some(&t), None).await;
    assert_eq!(status, 400);
    for route in ["jobs", "jobs/first"] {
        let path = format!("{base}/{route}?startTime={first}&endTime={now}");
        let (status, body) = raw(&h, get.clone(), &path, Some(ORIGIN), Some(&t), None).await;
        assert_eq!(status, 200, "{route}");
        assert_eq!(
            body["total"].as_u64().unwrap() as usize,
            w.jobs(c.id, first, now, now).len()
        );
    }
    let (_, body) = raw(
        &h,
        get.clone(),
        &format!("{base}/jobs"),
        Some(ORIGIN),
        Some(&t),
        None,
    )
    .await;
    let day = clock::before(now, Duration::from_secs(86_400));
    assert_eq!(
        body["total"].as_u64().unwrap() as usize,
        w.jobs(c.id, day, now, now).len(),
        "the last 24 h"
    );

    let (_, plain) = raw(
        &h,
        get.clone(),
        &format!("{base}/reports/latest"),
        Some(ORIGIN),
        Some(&t),
        None,
    )
    .await;
    assert!(plain.get("status").is_none() && plain.get("warnings").is_none());
    let (_, full) = raw(
        &h,
        get,
        &format!("{base}/reports/latest?status=true&warnings=true"),
        Some(ORIGIN),
        Some(&t),
        None,
    )
    .await;
    assert!(full.get("status").is_some() && full["warnings"].is_array());
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
async fn history_of_a_month_holds_its_jobs_audit_and_the_success_before_it() {
    let options = SimOptions {
        max_page: 25,
        ..SimOptions::default()
    };
    let h = Harness::with(options, 30).await;
    let w = h.world();
    let now = h.clock.now();
    let to = clock::before(now, Duration::from_secs(86_400));
    let from = clock::before(to, Duration::from_secs(30 * 86_400));
    let history = h
        .adapter()
        .history(Period { from, to })
        .await
        .expect("history");
    assert_eq!(history.objects.len(), w.consumers.len());

    let have: HashMap<&str, &Job> = history.jobs.iter().map(|j| (j.id.as_str(), j)).collect();
    let mut in_period = 0;
    for c in &w.consumers {
        for j in w
            .jobs(c.id, from, now, now)
            .iter()
            .filter(|j| j.time() < to)
        {
            let got = have
                .get(j.id.to_string().as_str())
                .unwrap_or_else(|| panic!("job {} of {}", j.id, c.name));
            assert_eq!((got.result, got.kind), (j.expected, j.expected_kind));
            in_period += 1;
        }
        // The newest success before the period is there to measure the first gap from.
        let before = clock::before(from, Duration::from_secs(1));
        if let Some(s) = w.last_success(c.id, before) {
            assert!(
                have.contains_key(s.id.to_string().as_str()),
                "last success before the period of {}",
                c.name
            );
        }
    }
    assert!(in_period > 500, "{in_period} jobs");
    assert!(history.jobs.iter().all(|j| j.time().is_none_or(|t| t < to)));

    let want: BTreeSet<String> = w
        .consumers
        .iter()
        .flat_map(|c| w.audit(c.id, from, to, now))
        .filter(|a| a.time < to)
        .map(|a| a.id.to_string())
        .collect();
    let have: BTreeSet<String> = history.audit.iter().map(|e| e.id.clone()).collect();
    assert_eq!(have, want);
    assert!(want.len() > 100, "audit pages of 50 were read");
}

#[tokio::test]
async fn server_errors_fail_the_collectors_with_the_endpoint_named() {
    let h = Harness::start().await;
    let a = h.adapter();
    a.probe().await.unwrap();
    h.fault("cloutility:5xx=1");
    let got = a.collect(h.window()).await;
    for (name, e) in [
        ("inventory", got.inventory.err()),
        ("jobs", got.jobs.err()),
        ("warnings", got.warnings.err()),
        ("audit", got.audit.err()),
        ("storage", got.storage.err()),
    ] {
        let e = e
            .unwrap_or_else(|| panic!("{name} should fail"))
            .to_string();
        assert!(e.contains("GET /v1/bunits: HTTP 500"), "{name}: {e}");
        assert!(e.contains("Internal server error"), "{name}: {e}");
    }
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
async fn a_failing_endpoint_fails_only_the_collectors_that_need_it() {
    let h = Harness::start().await;
    h.sim
        .break_route("reports/latest", StatusCode::INTERNAL_SERVER_ERROR);
    let got = h.adapter().collect(h.window()).await;
    let e = got.warnings.unwrap_err().to_string();
    assert!(
        e.contains("/reports/latest: HTTP 500") && e.contains("broken on purpose"),
        "{e}"
    );
    assert!(got.inventory.is_ok() && got.jobs.is_ok() && got.audit.is_ok() && got.storage.is_ok());

    let h = Harness::start().await;
    h.sim
        .break_route("filespaces", StatusCode::INTERNAL_SERVER_ERROR);
    let got = h.adapter().collect(h.window()).await;
    for e in [got.inventory.unwrap_err(), got.storage.unwrap_err()] {
        assert!(e.to_string().contains("/node/filespaces: HTTP 500"), "{e}");
    }
    assert!(got.jobs.is_ok() && got.warnings.is_ok() && got.audit.is_ok());

    let h = Harness::start().await;
    h.sim
        .break_route("auditlogs", StatusCode::INTERNAL_SERVER_ERROR);
    let got = h.adapter().collect(h.window()).await;
    assert!(
        got.audit
            .unwrap_err()
            .to_string()
            .contains("/auditlogs: HTTP 500")
    );
    assert!(
        got.inventory.is_ok() && got.jobs.is_ok() && got.warnings.is_ok() && got.storage.is_ok()
    );
}

#[tokio::test]
async fn throttled_requests_wait_for_retry_after_and_succeed() {
    let h = Harness::start().await;
    let a = h.adapter();
    h.fault("cloutility:429=1");
    let faults = h.faults.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        faults.clear();
    });
    let line = a
        .probe()
        .await
        .expect("probe succeeds once the throttling ends");
    assert!(line.contains("consumers"));
    assert!(h.requests_with_code("429") >= 1);
}

#[tokio::test]
async fn truncated_or_malformed_bodies_are_decode_errors_not_panics() {
    let h = Harness::start().await;
    let a = h.adapter();
    a.probe().await.unwrap();
    for fault in ["cloutility:truncate=1", "cloutility:malformed=1"] {
        h.fault(fault);
        let got = a.collect(h.window()).await;
        let e = got.inventory.unwrap_err().to_string();
        assert!(
            e.contains("GET /v1/bunits: could not decode the response"),
            "{fault}: {e}"
        );
        assert!(got.jobs.is_err() && got.storage.is_err());
        h.faults.clear();
    }
    assert!(
        a.collect(h.window()).await.inventory.is_ok(),
        "recovers when the fault ends"
    );
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

#[test]
fn config_problems_are_named_per_key() {
    let parse = |target: &str| {
        Settings::parse(&format!("targets:\n  - {target}\n"), Path::new("c.yml"))
            .unwrap_err()
            .to_string()
    };
    let e = parse("{name: s, vendor: cloutility}");
    for want in [
        "`url` is required",
        "`client_id` is required",
        "`origin` is required",
        "`username` is required",
        "`password` is required",
    ] {
        assert!(e.contains(want), "{want} in {e}");
    }
    assert!(e.contains("targets[0] (name \"s\")"), "{e}");
    let e = parse(
        "{name: s, vendor: cloutility, url: \"https://p.example\", client_id: c, origin: monitoring, username: u, password_env: P, bunits: []}",
    );
    assert!(e.contains("`origin`: \"monitoring\" is not a URL"), "{e}");
    assert!(
        e.contains("`bunits`: list at least one business unit id"),
        "{e}"
    );
    assert!(!e.contains("`url` is required"), "{e}");
    let ok = Settings::parse(
        "targets:\n  - {name: s, vendor: cloutility, url: \"https://p.example/v1\", client_id: c, origin: \"https://m.example\", username: u, password_env: P, bunits: [22]}\n",
        Path::new("c.yml"),
    );
    assert!(ok.is_ok(), "{:?}", ok.err());
}

#[tokio::test]
async fn demo_config_points_at_the_simulator_and_collects() {
    let dir = tempfile::tempdir().unwrap();
    let mut ctx = SimContext::new(SEED, 12);
    ctx.clock = Clock::manual(NOW.parse().unwrap());
    let server = backup_exporter::sim::SimServer::start("127.0.0.1:0", ctx.clone())
        .await
        .unwrap();
    let yaml = server.demo_config(dir.path(), None).unwrap();
    let settings = Settings::parse(&yaml, &dir.path().join("demo.yml")).unwrap();
    let target = settings
        .targets
        .iter()
        .find(|t| t.name == "cloutility-demo")
        .unwrap();
    let a = vendors::build(
        target,
        &AdapterContext {
            metrics: ApiMetrics::default(),
            clock: ctx.clock.clone(),
        },
    )
    .unwrap();
    let line = a.probe().await.unwrap();
    assert!(line.ends_with("6 business units, 12 consumers"), "{line}");
}

/// The newest finished backup per consumer and the failures since its last success, as
/// contract §3 defines them, from the world's jobs of the window.
struct Expected {
    last_attempt: Timestamp,
    last_result: JobResult,
    last_duration: Option<i64>,
    consecutive_failures: u64,
}

fn expected_attempts(
    w: &World,
    c: &Consumer,
    since: Timestamp,
    now: Timestamp,
) -> Option<Expected> {
    let ids = world_jobs(w, c, since, now, now);
    let mut runs: Vec<_> = w
        .jobs(c.id, since, now, now)
        .into_iter()
        .filter(|j| {
            ids.contains(&j.id) && j.expected_kind == JobKind::Backup && j.expected.is_finished()
        })
        .collect();
    runs.sort_by(|a, b| {
        a.time()
            .cmp(&b.time())
            .then_with(|| a.id.to_string().cmp(&b.id.to_string()))
    });
    let last = runs.last()?;
    let mut failures = 0;
    for j in &runs {
        if j.expected.is_success(false) {
            failures = 0;
        } else if j.expected.is_failure() {
            failures += 1;
        }
    }
    Some(Expected {
        last_attempt: last.time(),
        last_result: last.expected,
        last_duration: last.duration_s,
        consecutive_failures: failures,
    })
}

/// What `/metrics` says once the exporter has refreshed at `at`.
async fn scrape_after_refresh(ex: &backup_exporter::exporter::Exporter, at: Timestamp) -> String {
    for _ in 0..600 {
        let (status, body) = crate::common::get(&format!("http://{}/metrics", ex.addr)).await;
        assert_eq!(status, 200);
        let fetched = crate::common::value(
            &body,
            "backup_collector_last_success_timestamp_seconds",
            &[("target", "safespring"), ("collector", "audit")],
        );
        let all_ok = ["inventory", "jobs", "warnings", "storage"]
            .iter()
            .all(|c| {
                crate::common::value(
                    &body,
                    "backup_collector_last_success_timestamp_seconds",
                    &[("target", "safespring"), ("collector", c)],
                ) == Some(at.as_second() as f64)
            });
        if fetched == Some(at.as_second() as f64) && all_ok {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no refresh at {at}");
}

#[tokio::test]
async fn exported_metrics_match_the_simulated_world() {
    use crate::common::{samples, value};

    let h = Harness::start().await;
    let w = h.world();
    let settings = Settings::parse(&h.config("    interval: 1s\n"), Path::new("test.yml")).unwrap();
    let ex =
        backup_exporter::exporter::Exporter::start(&settings, "127.0.0.1:0", h.clock.clone(), None)
            .await
            .unwrap();
    let t0 = h.clock.now();
    let m = scrape_after_refresh(&ex, t0).await;
    let since = clock::before(t0, LOOKBACK);
    let target = ("target", "safespring");

    assert_eq!(value(&m, "backup_target_up", &[target]), Some(1.0));
    assert_eq!(
        value(&m, "backup_exported_objects", &[target]),
        Some(w.consumers.len() as f64)
    );
    for c in &w.consumers {
        let id = c.id.to_string();
        let obj = [target, ("object_id", id.as_str())];
        let v = |name: &str| value(&m, name, &obj);
        let node = c.node.as_ref();
        let policy = node.map_or("", |n| n.domain.1);
        let info = [
            target,
            ("object_id", id.as_str()),
            ("object", c.name.as_str()),
            ("tenant", tenant_of(w, c)),
            ("policy", policy),
        ];
        assert_eq!(
            value(&m, "backup_object_info", &info),
            Some(1.0),
            "{}",
            c.name
        );
        let protected =
            node.is_some_and(|n| n.locked_since.is_none() && n.decommissioned_since.is_none());
        assert_eq!(
            v("backup_object_protected"),
            Some(if protected { 1.0 } else { 0.0 }),
            "{}",
            c.name
        );
        let last = w.last_success(c.id, t0).and_then(|j| j.completed);
        assert_eq!(
            v("backup_object_last_success_timestamp_seconds"),
            Some(last.map_or(0.0, |t| t.as_second() as f64)),
            "{}",
            c.name
        );
        if let Some(b) = stored_bytes(c) {
            assert_eq!(
                v("backup_object_stored_bytes"),
                Some(b as f64),
                "{}",
                c.name
            );
        }
        if let Some(e) = expected_attempts(w, c, since, t0) {
            assert_eq!(
                v("backup_object_last_attempt_timestamp_seconds"),
                Some(e.last_attempt.as_second() as f64),
                "{}",
                c.name
            );
            let result = [
                target,
                ("object_id", id.as_str()),
                ("result", e.last_result.as_str()),
            ];
            assert_eq!(
                value(&m, "backup_object_last_result", &result),
                Some(1.0),
                "{}",
                c.name
            );
            assert_eq!(
                v("backup_object_consecutive_failures"),
                Some(e.consecutive_failures as f64),
                "{}",
                c.name
            );
            if let Some(d) = e.last_duration {
                assert_eq!(
                    v("backup_object_last_duration_seconds"),
                    Some(d as f64),
                    "{}",
                    c.name
                );
            }
        }
    }
    let never = w
        .consumers
        .iter()
        .find(|c| c.name == "legacy-erp-01")
        .unwrap()
        .id
        .to_string();
    let never_failures = value(
        &m,
        "backup_object_consecutive_failures",
        &[target, ("object_id", never.as_str())],
    );
    assert!(
        never_failures.unwrap() >= 2.0,
        "never succeeded: {never_failures:?}"
    );

    // Jobs of the window by tenant, kind and result; running jobs by tenant and kind.
    let mut window: BTreeMap<(String, JobKind, JobResult), f64> = BTreeMap::new();
    let mut running: BTreeMap<(String, JobKind), f64> = BTreeMap::new();
    for c in &w.consumers {
        let ids = world_jobs(w, c, since, t0, t0);
        for j in w
            .jobs(c.id, since, t0, t0)
            .into_iter()
            .filter(|j| ids.contains(&j.id))
        {
            let tenant = tenant_of(w, c).to_owned();
            if j.expected == JobResult::Running {
                *running.entry((tenant, j.expected_kind)).or_default() += 1.0;
            } else {
                *window
                    .entry((tenant, j.expected_kind, j.expected))
                    .or_default() += 1.0;
            }
        }
    }
    assert!(!running.is_empty(), "an evening has running backups");
    for ((tenant, kind, result), n) in &window {
        let l = [
            target,
            ("tenant", tenant.as_str()),
            ("kind", kind.as_str()),
            ("result", result.as_str()),
        ];
        assert_eq!(value(&m, "backup_jobs_window", &l), Some(*n), "{l:?}");
    }
    let total_window: f64 = samples(&m)
        .iter()
        .filter(|(k, _)| {
            k.starts_with("backup_jobs_window{") && k.contains("target=\"safespring\"")
        })
        .map(|(_, v)| v)
        .sum();
    assert_eq!(total_window, window.values().sum::<f64>());
    for ((tenant, kind), n) in &running {
        let l = [target, ("tenant", tenant.as_str()), ("kind", kind.as_str())];
        assert_eq!(value(&m, "backup_jobs_running", &l), Some(*n), "{l:?}");
    }

    // Warnings by tenant, severity and category.
    let mut warnings: BTreeMap<(String, &str, &str), f64> = BTreeMap::new();
    for c in &w.consumers {
        let Some(r) = w.latest_report(c.id, t0).filter(|r| !r.errors_deactivated) else {
            continue;
        };
        for x in &r.warnings {
            let severity = if x.status == 2 { "critical" } else { "warning" };
            *warnings
                .entry((tenant_of(w, c).to_owned(), severity, category(x.type_id)))
                .or_default() += 1.0;
        }
    }
    assert!(warnings.len() > 3);
    for ((tenant, severity, cat), n) in &warnings {
        let l = [
            target,
            ("tenant", tenant.as_str()),
            ("severity", *severity),
            ("category", *cat),
        ];
        assert_eq!(value(&m, "backup_warnings", &l), Some(*n), "{l:?}");
    }

    // Storage pools and bytes per tenant.
    for p in &w.pools {
        let cap = model::mib_to_bytes(p.total_mb);
        let pool = [target, ("pool", p.name)];
        assert_eq!(
            value(&m, "backup_storage_capacity_bytes", &pool),
            Some(cap as f64)
        );
        assert_eq!(
            value(&m, "backup_storage_used_bytes", &pool),
            Some((cap - model::mib_to_bytes(p.free_mb)) as f64)
        );
    }
    let mut tenants: BTreeMap<&str, u64> = BTreeMap::new();
    for c in &w.consumers {
        *tenants.entry(tenant_of(w, c)).or_default() += stored_bytes(c).unwrap_or(0);
    }
    for (tenant, bytes) in &tenants {
        let l = [target, ("tenant", *tenant)];
        assert_eq!(
            value(&m, "backup_tenant_stored_bytes", &l),
            Some(*bytes as f64),
            "{tenant}"
        );
    }

    // Audit: the newest event per tenant and action.
    let mut newest: BTreeMap<(&str, AuditAction), i64> = BTreeMap::new();
    for c in &w.consumers {
        for a in w.audit(c.id, since, t0, t0) {
            let e = newest
                .entry((tenant_of(w, c), action(a.audit_type)))
                .or_default();
            *e = (*e).max(a.time.as_second());
        }
    }
    assert!(newest.len() > 5);
    for ((tenant, act), t) in &newest {
        let l = [target, ("tenant", *tenant), ("action", act.as_str())];
        assert_eq!(
            value(&m, "backup_audit_last_event_timestamp_seconds", &l),
            Some(*t as f64),
            "{l:?}"
        );
    }

    // Six hours on: what finished in between is counted once; the first refresh's history
    // is not counted.
    h.clock.advance(Duration::from_secs(6 * 3600));
    let t1 = h.clock.now();
    let m = scrape_after_refresh(&ex, t1).await;
    let since1 = clock::before(t1, LOOKBACK);
    let mut counted: BTreeMap<(String, JobKind, JobResult), f64> = BTreeMap::new();
    let mut audited: BTreeMap<(String, AuditAction), f64> = BTreeMap::new();
    for c in &w.consumers {
        let before: BTreeSet<u64> = world_jobs(w, c, since, t0, t0)
            .into_iter()
            .filter(|id| {
                w.jobs(c.id, since, t0, t0)
                    .iter()
                    .any(|j| j.id == *id && j.expected.is_finished())
            })
            .collect();
        let ids = world_jobs(w, c, since1, t1, t1);
        for j in w.jobs(c.id, since1, t1, t1) {
            if ids.contains(&j.id) && j.expected.is_finished() && !before.contains(&j.id) {
                *counted
                    .entry((tenant_of(w, c).to_owned(), j.expected_kind, j.expected))
                    .or_default() += 1.0;
            }
        }
        let seen: BTreeSet<u64> = w.audit(c.id, since, t0, t0).iter().map(|a| a.id).collect();
        for a in w
            .audit(c.id, since1, t1, t1)
            .into_iter()
            .filter(|a| !seen.contains(&a.id))
        {
            *audited
                .entry((tenant_of(w, c).to_owned(), action(a.audit_type)))
                .or_default() += 1.0;
        }
    }
    assert!(
        counted.values().sum::<f64>() > 10.0,
        "backups ran in six evening hours"
    );
    for ((tenant, kind, result), n) in &counted {
        let l = [
            target,
            ("tenant", tenant.as_str()),
            ("kind", kind.as_str()),
            ("result", result.as_str()),
        ];
        assert_eq!(value(&m, "backup_jobs_total", &l), Some(*n), "{l:?}");
    }
    let total: f64 = samples(&m)
        .iter()
        .filter(|(k, _)| k.starts_with("backup_jobs_total{") && k.contains("target=\"safespring\""))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(total, counted.values().sum::<f64>());
    assert!(
        !audited.is_empty(),
        "audit entries were written in six hours"
    );
    for ((tenant, act), n) in &audited {
        let l = [
            target,
            ("tenant", tenant.as_str()),
            ("action", act.as_str()),
        ];
        assert_eq!(
            value(&m, "backup_audit_events_total", &l),
            Some(*n),
            "{l:?}"
        );
    }
    ex.stop().await;
}
