//! Cloud Sync adapter against its simulator over real HTTP: values are compared with the
//! simulator's world, never hard-coded.

mod auth;
mod collect;
mod config;
mod faults;
mod metrics;
mod variants;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use backup_exporter::adapter::{Adapter, AdapterContext, Period, VendorError, Window};
use backup_exporter::api::{ApiError, ApiMetrics};
use backup_exporter::clock::Clock;
use backup_exporter::config::Settings;
use backup_exporter::model::{AuditAction, JobResult, Severity, Vendor};
use backup_exporter::sim::faults::{FaultLayerState, FaultSpec, inject};
use backup_exporter::sim::{Faults, SimContext, SimServer};
use backup_exporter::vendors::cloudsync::sim::data::{
    self, Activity, Health, PASSWORD_CLIENT_IDS, REFRESH_CLIENT_ID, World,
};
use backup_exporter::vendors::cloudsync::sim::{AuthSeen, Sim, SimOptions, error_body};
use jiff::{SignedDuration, Timestamp};

const T0: &str = "2026-03-10T12:34:56Z";
const LOOKBACK_H: i64 = 48;

struct Harness {
    sim: Arc<Sim>,
    ctx: SimContext,
    base: String,
    dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn start(options: SimOptions) -> Harness {
    start_with(options, |app| app).await
}

/// [`start`] with the server's router changed by `wrap` (a test's own middleware in front
/// of the simulator).
async fn start_with(options: SimOptions, wrap: impl FnOnce(Router) -> Router) -> Harness {
    let ctx = SimContext {
        seed: 7,
        objects: 30,
        clock: Clock::manual(T0.parse().unwrap()),
        faults: Faults::default(),
    };
    let sim = Sim::new(&ctx, options);
    let layer = FaultLayerState {
        faults: ctx.faults.clone(),
        vendor: Vendor::Cloudsync,
        error: error_body,
    };
    let app = Router::new().nest(
        "/cloudsync",
        sim.router()
            .layer(axum::middleware::from_fn_with_state(layer, inject)),
    );
    let app = wrap(app);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Harness {
        sim,
        ctx,
        base: format!("http://{addr}/cloudsync"),
        dir: tempfile::tempdir().unwrap(),
        task,
    }
}

impl Harness {
    fn world(&self) -> &World {
        self.sim.world()
    }

    fn now(&self) -> Timestamp {
        self.ctx.clock.now()
    }

    fn secret(&self, name: &str, value: &str) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, format!("{value}\n")).unwrap();
        p.display().to_string()
    }

    /// A target for the monitor user (password grant) plus `extra` YAML lines.
    fn password_target(&self, extra: &str) -> String {
        format!(
            "    auth_url: {base}/auth/oauth/token\n    client_id: {cid}\n    username: {user}\n    password_file: {pw}\n{extra}",
            base = self.base,
            cid = PASSWORD_CLIENT_IDS[0],
            user = data::MONITOR_USER,
            pw = self.secret("pw", data::MONITOR_PASSWORD),
        )
    }

    fn adapter(&self, target: &str) -> Arc<dyn Adapter> {
        self.adapter_timed(target, "20s")
    }

    /// [`Harness::adapter`] with the target's `timeout`.
    fn adapter_timed(&self, target: &str, timeout: &str) -> Arc<dyn Adapter> {
        let text = format!(
            "targets:\n  - name: cs\n    vendor: cloudsync\n    url: {}\n    timeout: {timeout}\n{target}",
            self.base
        );
        let settings = Settings::parse(&text, Path::new("t.yml")).expect("valid config");
        let ctx = AdapterContext {
            metrics: ApiMetrics::default(),
            clock: self.ctx.clock.clone(),
        };
        backup_exporter::vendors::build(&settings.targets[0], &ctx).expect("adapter builds")
    }

    fn window(&self) -> Window {
        let now = self.now();
        Window {
            now,
            since: now - SignedDuration::from_hours(LOOKBACK_H),
        }
    }

    fn fault(&self, spec: &str) {
        self.ctx.faults.apply(&spec.parse::<FaultSpec>().unwrap());
    }

    /// Moves the clock until every activity status (and DONE with failed files) shows
    /// within the job window, so the status table is exercised for real.
    fn advance_to_every_status(&self) {
        for _ in 0..(14 * 72) {
            let now = self.now();
            let since = now - SignedDuration::from_hours(LOOKBACK_H);
            let seen: HashSet<(&str, bool)> = (0..self.world().relationships.len())
                .filter_map(|r| self.world().activity(r, now))
                .filter(|a| a.end.is_none_or(|e| e >= since))
                .map(|a| (a.status, a.files_failed > 0))
                .collect();
            let want = [
                ("DONE", false),
                ("DONE", true),
                ("FAILED", false),
                ("ABORTED", false),
                ("RUNNING", false),
                ("PENDING", false),
            ];
            if want.iter().all(|w| seen.contains(w)) {
                return;
            }
            self.ctx.clock.advance(Duration::from_secs(20 * 60));
        }
        panic!("no time within two weeks shows every status");
    }
}

fn expected_result(a: &Activity) -> JobResult {
    match a.status {
        "DONE" if a.files_failed > 0 => JobResult::Warning,
        "DONE" => JobResult::Success,
        "FAILED" => JobResult::Failed,
        "ABORTED" => JobResult::Cancelled,
        "RUNNING" | "PENDING" => JobResult::Running,
        other => panic!("the simulator invented {other}"),
    }
}
