//! The Cloutility adapter against its simulator over real HTTP. Expected values come from
//! the simulator's world (`sim::data::World`), never from hard-coded numbers.

mod auth;
mod collect;
mod config;
mod faults;
mod history;
mod metrics;
mod simulator;
mod variants;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use jiff::Timestamp;
use serde_json::Value;
use url::Url;

use backup_exporter::adapter::{Adapter, AdapterContext, Period, Window};
use backup_exporter::api::{ApiMetrics, RequestLabels, TargetLabels};
use backup_exporter::clock::{self, Clock};
use backup_exporter::config::Settings;
use backup_exporter::model::{
    self, AuditAction, AuditEvent, Job, JobKind, JobResult, Severity, Vendor, Warning,
};
use backup_exporter::sim::faults::{self as fault_layer, FaultLayerState};
use backup_exporter::sim::{FaultSpec, Faults, SimContext};
use backup_exporter::vendors;
use backup_exporter::vendors::cloutility::sim::data::{
    CLIENT_ID, Consumer, ORIGIN, PASSWORD, Plant, USERNAME, World,
};
use backup_exporter::vendors::cloutility::sim::{SimOptions, Simulator};

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
                .layer(axum::middleware::from_fn_with_state(
                    layer,
                    fault_layer::inject,
                )),
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

/// Protected as the world means it: an activated node, in use, neither locked nor
/// decommissioned, on an active consumer.
fn protected(c: &Consumer) -> bool {
    c.node.as_ref().is_some_and(|n| {
        n.locked_since.is_none()
            && n.decommissioned_since.is_none()
            && n.inactive_since.is_none()
            && !n.never_activated
    })
}

fn stored_bytes(c: &Consumer) -> Option<u64> {
    let n = c.node.as_ref()?;
    // No occupancy at all (a node that never backed up) is no figure, not zero.
    let mut occupancies = n.filespaces.iter().flat_map(|f| &f.occupancies).peekable();
    occupancies.peek()?;
    Some(
        occupancies
            .map(|o| model::mib_to_bytes(o.reporting_mb))
            .sum(),
    )
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
