//! The Backup and DR adapter against its simulator, over real HTTP. Expected values come from
//! the simulator's world (`World`), never from constants.

mod auth;
mod collect;
mod config;
mod faults;
mod metrics;
mod simulator;
mod variants;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use backup_exporter::adapter::{Adapter, AdapterContext, Period, Window};
use backup_exporter::api::{ApiMetrics, RequestLabels};
use backup_exporter::clock::Clock;
use backup_exporter::config::Settings;
use backup_exporter::model::{AuditAction, JobKind, JobResult, Severity, Vendor};
use backup_exporter::sim::faults::{FaultLayerState, inject};
use backup_exporter::sim::{FaultSpec, Faults, SimContext, SimServer};
use backup_exporter::vendors::backupdr::google::{
    CLOUD_PLATFORM_SCOPE, JWT_BEARER_GRANT, ServiceAccount,
};
use backup_exporter::vendors::backupdr::sim::data::MIB_PER_TIB;
use backup_exporter::vendors::backupdr::sim::{self, Sim, SimOptions, World};
use backup_exporter::vendors::backupdr::{
    CATEGORY_APPLIANCE, CATEGORY_EVENT, CATEGORY_JOB_FAILURES, CATEGORY_STORAGE, FAILURE_STREAK,
};
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use url::Url;

const START: i64 = 1_780_000_000;
const MIB: u64 = 1_048_576;

pub struct Env {
    ctx: SimContext,
    sim: Sim,
    world: World,
    base: Url,
    dir: tempfile::TempDir,
    metrics: ApiMetrics,
    _server: tokio::task::JoinHandle<()>,
}

async fn start(objects: usize, opts: SimOptions) -> Env {
    start_under(objects, opts, "/backupdr").await
}

/// The simulator under `prefix` (`/backupdr` as `simulate` mounts it; `` for a console host
/// of its own, whose API is `/actifio/...` as on a real console).
async fn start_under(objects: usize, opts: SimOptions, prefix: &str) -> Env {
    backup_exporter::api::install_crypto_provider();
    let ctx = SimContext {
        seed: 7,
        objects,
        clock: Clock::manual(Timestamp::from_second(START).unwrap()),
        faults: Faults::default(),
    };
    let (router, sim) = sim::router_with_handle(&ctx, opts);
    let layer = FaultLayerState {
        faults: ctx.faults.clone(),
        vendor: Vendor::Backupdr,
        error: sim::fault_error,
    };
    let routed = router.layer(axum::middleware::from_fn_with_state(layer, inject));
    let app = if prefix.is_empty() {
        routed
    } else {
        Router::new().nest(prefix, routed)
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let world = sim::world_of(&ctx);
    Env {
        ctx,
        sim,
        world,
        base: Url::parse(&format!("http://{addr}{prefix}/")).unwrap(),
        dir: tempfile::tempdir().unwrap(),
        metrics: ApiMetrics::default(),
        _server: server,
    }
}

impl Env {
    fn now(&self) -> Timestamp {
        self.ctx.clock.now()
    }

    fn key_file(&self) -> std::path::PathBuf {
        let targets = sim::demo_targets(&self.base, self.dir.path()).unwrap();
        targets[0]["credentials_file"].as_str().unwrap().into()
    }

    fn yaml(&self, auth: &str, extra: &str) -> String {
        format!(
            "targets:\n  - name: bdr\n    vendor: backupdr\n    url: \"{}\"\n    timeout: 20s\n{auth}{extra}",
            self.base.join("actifio").unwrap()
        )
    }

    fn adapter_from(&self, yaml: &str) -> Arc<dyn Adapter> {
        let settings = Settings::parse(yaml, Path::new("test.yml")).unwrap();
        let ctx = AdapterContext {
            metrics: self.metrics.clone(),
            clock: self.ctx.clock.clone(),
        };
        backup_exporter::vendors::build(&settings.targets[0], &ctx).unwrap()
    }

    fn adapter(&self) -> Arc<dyn Adapter> {
        let auth = format!("    credentials_file: \"{}\"\n", self.key_file().display());
        self.adapter_from(&self.yaml(&auth, ""))
    }

    fn window(&self) -> Window {
        Window {
            now: self.now(),
            since: self.now() - SignedDuration::from_hours(48),
        }
    }

    fn requests(&self, code: &str) -> u64 {
        self.metrics
            .requests
            .get_or_create(&RequestLabels {
                vendor: "backupdr".into(),
                target: "bdr".into(),
                code: code.into(),
            })
            .get()
    }

    fn fault(&self, spec: &str) {
        self.ctx.faults.apply(&spec.parse::<FaultSpec>().unwrap());
    }

    /// A Google token and a console session obtained by hand, for poking the simulator.
    async fn login_by_hand(&self) -> (String, String) {
        let http = reqwest::Client::new();
        let sa = ServiceAccount::from_file(&self.key_file()).unwrap();
        let jwt = sa.assertion(self.now(), CLOUD_PLATFORM_SCOPE).unwrap();
        let t: Value = http
            .post(sa.token_uri.clone())
            .form(&[
                ("grant_type", JWT_BEARER_GRANT),
                ("assertion", jwt.as_str()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = t["access_token"].as_str().unwrap().to_owned();
        let s: Value = http
            .post(self.base.join("actifio/session").unwrap())
            .bearer_auth(&token)
            .header("content-length", "0")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(s["id"], s["session_id"]);
        (token, s["session_id"].as_str().unwrap().to_owned())
    }

    fn get(&self, path: &str, auth: &(String, String)) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .get(self.base.join(path).unwrap())
            .bearer_auth(&auth.0)
            .header("backupdr-management-session", format!("Actifio {}", auth.1))
    }
}
