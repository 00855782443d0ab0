//! The vendor simulators: one HTTP server, each vendor under its own path prefix
//! (`/cloutility/v1/...`, `/backupdr/actifio/...`, ...), speaking that vendor's API over a
//! seeded data set that grows as time passes, with switchable faults.
//!
//! This module is the shared base only: the context, faults, tokens and recording every
//! vendor simulator uses, and the server that mounts the simulators it is given. It names no
//! vendor: each vendor's simulator lives in its vendor folder (`vendors/<vendor>/sim`) and
//! the list of them is [`crate::vendors::simulators`].

pub mod faults;
pub mod record;
pub mod tokens;

use std::net::SocketAddr;
use std::path::Path;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use url::Url;

pub use faults::{FaultSpec, Faults};

use crate::clock::Clock;
use crate::model::Vendor;

/// What every vendor simulator is built from.
#[derive(Clone, Debug)]
pub struct SimContext {
    /// Seeds the data set: the same seed gives the same objects and the same job history.
    pub seed: u64,
    /// Roughly how many protected objects each vendor simulates.
    pub objects: usize,
    pub clock: Clock,
    pub faults: Faults,
}

impl SimContext {
    pub fn new(seed: u64, objects: usize) -> Self {
        SimContext {
            seed,
            objects,
            clock: Clock::system(),
            faults: Faults::default(),
        }
    }
}

/// A vendor's simulator as the combined server sees it.
pub struct VendorSim {
    pub vendor: Vendor,
    /// Routes relative to `/<vendor>`.
    pub router: Router,
    pub error: faults::ErrorResponder,
}

/// Writes the demo targets for one vendor: `base` is the simulator's URL including the
/// vendor prefix; secrets go into files under `secrets_dir`.
pub type DemoTargets =
    fn(base: &Url, secrets_dir: &Path) -> std::io::Result<Vec<serde_json::Value>>;

/// One vendor's simulator as the vendor table ([`crate::vendors::VENDORS`]) lists it.
#[derive(Clone, Copy)]
pub struct SimEntry {
    pub build: fn(&SimContext) -> VendorSim,
    pub demo_targets: DemoTargets,
}

/// The whole simulator app: every given vendor under its prefix plus `/-/faults`.
pub fn app(ctx: &SimContext, sims: &[SimEntry]) -> Router {
    let faults_api = Router::new()
        .route(
            "/-/faults",
            get(show_faults).put(set_faults).delete(clear_faults),
        )
        .with_state(ctx.faults.clone());
    let mut app = Router::new();
    for entry in sims {
        let sim = (entry.build)(ctx);
        let layer_state = faults::FaultLayerState {
            faults: ctx.faults.clone(),
            vendor: sim.vendor,
            error: sim.error,
        };
        let routed = sim.router.layer(axum::middleware::from_fn_with_state(
            layer_state,
            faults::inject,
        ));
        app = app.nest(&format!("/{}", sim.vendor.as_str()), routed);
    }
    app.merge(faults_api)
}

async fn show_faults(State(f): State<Faults>) -> String {
    f.describe()
}

async fn set_faults(State(f): State<Faults>, body: String) -> (StatusCode, String) {
    let mut specs = Vec::new();
    for line in body.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line.parse::<FaultSpec>() {
            Ok(s) => specs.push(s),
            Err(e) => return (StatusCode::BAD_REQUEST, e),
        }
    }
    for s in &specs {
        f.apply(s);
    }
    (StatusCode::OK, f.describe())
}

async fn clear_faults(State(f): State<Faults>) -> StatusCode {
    f.clear();
    StatusCode::NO_CONTENT
}

/// A running simulator server.
pub struct SimServer {
    pub addr: SocketAddr,
    pub ctx: SimContext,
    sims: Vec<SimEntry>,
    task: tokio::task::JoinHandle<()>,
}

impl SimServer {
    /// Serves the simulators `sims` (every vendor's: [`crate::vendors::simulators`]).
    pub async fn start(
        listen: &str,
        ctx: SimContext,
        sims: Vec<SimEntry>,
    ) -> std::io::Result<SimServer> {
        let app = app(&ctx, &sims);
        Self::serve(listen, ctx, sims, app).await
    }

    /// Like [`SimServer::start`], but every exchange is recorded (for the spec conformance
    /// test).
    pub async fn start_recording(
        listen: &str,
        ctx: SimContext,
        sims: Vec<SimEntry>,
    ) -> std::io::Result<(SimServer, record::Recorder)> {
        let rec = record::Recorder::default();
        let app = app(&ctx, &sims).layer(axum::middleware::from_fn_with_state(
            rec.clone(),
            record::record,
        ));
        Ok((Self::serve(listen, ctx, sims, app).await?, rec))
    }

    async fn serve(
        listen: &str,
        ctx: SimContext,
        sims: Vec<SimEntry>,
        app: Router,
    ) -> std::io::Result<SimServer> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "simulator server stopped");
            }
        });
        Ok(SimServer {
            addr,
            ctx,
            sims,
            task,
        })
    }

    pub fn base_url(&self) -> Url {
        Url::parse(&format!("http://{}", self.addr)).expect("socket address is a valid URL")
    }

    /// The config (YAML) that points `serve` and `report` at this simulator; secrets are
    /// written into files under `secrets_dir`.
    ///
    /// The folder is made private (0700) before anything is written into it, and every file
    /// in it is left owner-only (0600): they hold the simulators' passwords and tokens.
    pub fn demo_config(&self, secrets_dir: &Path, listen: Option<&str>) -> std::io::Result<String> {
        std::fs::create_dir_all(secrets_dir)?;
        set_mode(secrets_dir, 0o700)?;
        let mut targets = Vec::new();
        for entry in &self.sims {
            let sim = (entry.build)(&self.ctx);
            let base = self
                .base_url()
                .join(&format!("{}/", sim.vendor.as_str()))
                .expect("vendor prefix joins");
            targets.extend((entry.demo_targets)(&base, secrets_dir)?);
        }
        for entry in std::fs::read_dir(secrets_dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                set_mode(&entry.path(), 0o600)?;
            }
        }
        let doc = serde_json::json!({
            "listen": listen.unwrap_or("127.0.0.1:9987"),
            "defaults": { "interval": "30s", "timeout": "1m", "lookback": "48h", "max_stale": "10m" },
            "compliance": {
                "rpo": "24h",
                "rpo_tolerance": "1h",
                // Restore tests are asked of the vendors whose simulators list restores
                // (issue 15 point 1); Cloud Sync has none and CloudTower's are not simulated.
                "rules": [
                    { "match": { "object": "test-*" }, "exclude": "test systems" },
                    { "match": { "vendor": "cloutility" }, "restore_test_interval": "30d" },
                    { "match": { "vendor": "backupdr" }, "restore_test_interval": "30d" },
                    { "match": { "vendor": "clumio" }, "restore_test_interval": "30d" }
                ]
            },
            "targets": targets,
        });
        Ok(yaml_of(&doc))
    }

    pub fn abort(&self) {
        self.task.abort();
    }
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> std::io::Result<()> {
    Ok(())
}

/// JSON is valid YAML 1.2, but a block layout reads better in a file people open.
fn yaml_of(doc: &serde_json::Value) -> String {
    serde_saphyr::to_string(doc).unwrap_or_else(|_| doc.to_string())
}

/// Deterministic pseudo-randomness for data sets: the same (seed, key, n) always gives the
/// same number, so history can be generated lazily for any time range.
pub fn unit(seed: u64, key: &str, n: u64) -> f64 {
    (mix(seed, key, n) >> 11) as f64 / (1u64 << 53) as f64
}

pub fn mix(seed: u64, key: &str, n: u64) -> u64 {
    // FNV-1a over the key, then splitmix64 over the combination.
    let mut h: u64 = 0xcbf29ce484222325;
    for b in key.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    let mut z = h ^ seed.rotate_left(17) ^ n.wrapping_mul(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_is_deterministic_and_in_range() {
        let a = unit(42, "node-1", 7);
        assert_eq!(a, unit(42, "node-1", 7));
        assert_ne!(a, unit(43, "node-1", 7));
        for n in 0..1000 {
            let u = unit(1, "x", n);
            assert!((0.0..1.0).contains(&u));
        }
    }
}
