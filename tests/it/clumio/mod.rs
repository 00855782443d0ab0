//! The Clumio adapter over real HTTP against its simulator. Expected values come from the
//! simulator's world, never from literals.

mod collect;
mod config;
mod faults;
mod history;
mod metrics;
mod simulator;
mod variants;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use backup_exporter::adapter::{Adapter, AdapterContext, Period, Window};
use backup_exporter::api::ApiMetrics;
use backup_exporter::clock::Clock;
use backup_exporter::config::{Settings, TargetSettings};
use backup_exporter::model::{AuditAction, JobKind, JobResult, Severity, gib_to_bytes};
use backup_exporter::sim::SimContext;
use backup_exporter::vendors::clumio::sim::data::{self, Kind, Task, World, planted};
use backup_exporter::vendors::clumio::sim::{DEMO_TOKEN, Simulator};
use jiff::Timestamp;

/// 2026-01-15T12:00:00Z: the simulator's origin and the tests' "now".
pub const ORIGIN: i64 = 1_768_478_400;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

pub struct Env {
    pub sim: Simulator,
    pub ctx: SimContext,
    pub url: String,
    pub dir: tempfile::TempDir,
    pub metrics: ApiMetrics,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Env {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Env {
    pub async fn start(objects: usize) -> Env {
        backup_exporter::api::install_crypto_provider();
        let mut ctx = SimContext::new(42, objects);
        ctx.clock = Clock::manual(ts(ORIGIN));
        let sim = Simulator::new(&ctx);
        let app = sim.app(&ctx);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), format!("{DEMO_TOKEN}\n")).unwrap();
        Env {
            sim,
            ctx,
            url: format!("http://{addr}/clumio"),
            dir,
            metrics: ApiMetrics::default(),
            task,
        }
    }

    pub fn world(&self) -> &World {
        self.sim.world()
    }

    pub fn token_file(&self) -> std::path::PathBuf {
        self.dir.path().join("token")
    }

    /// The target, with `extra` YAML lines added to it.
    pub fn target(&self, extra: &str) -> TargetSettings {
        let yaml = format!(
            "targets:\n  - name: clumio-test\n    vendor: clumio\n    url: {}\n    token_file: {}\n{}",
            self.url,
            self.token_file().display(),
            extra
        );
        let mut s = Settings::parse(&yaml, Path::new("test.yml")).unwrap();
        s.targets.remove(0)
    }

    pub fn adapter(&self, extra: &str) -> Arc<dyn Adapter> {
        let ctx = AdapterContext {
            metrics: self.metrics.clone(),
            clock: self.ctx.clock.clone(),
        };
        backup_exporter::vendors::build(&self.target(extra), &ctx).unwrap()
    }

    pub fn now(&self) -> i64 {
        self.ctx.clock.now().as_second()
    }

    pub fn window(&self, lookback: i64) -> Window {
        let now = self.ctx.clock.now();
        Window {
            now,
            since: ts(now.as_second() - lookback),
        }
    }

    pub fn requests_code(&self, code: &str) -> u64 {
        self.metrics
            .requests
            .get_or_create(&backup_exporter::api::RequestLabels {
                vendor: "clumio".into(),
                target: "clumio-test".into(),
                code: code.into(),
            })
            .get()
    }
}

pub fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap()
}

/// The task status table, written out independently of the adapter's.
fn expected_result(status: &str) -> JobResult {
    match status {
        "completed" => JobResult::Success,
        "failed" => JobResult::Failed,
        "aborted" => JobResult::Cancelled,
        "queued" | "in_progress" | "aborting" => JobResult::Running,
        other => panic!("the simulator invented status {other}"),
    }
}

fn expected_kind(t: &Task) -> JobKind {
    match t.category {
        "backup" if t.task_type.ends_with("_indexing") => JobKind::Other,
        "backup" => JobKind::Backup,
        "restore" => JobKind::Restore,
        other => panic!("unexpected category {other} for an asset task"),
    }
}

/// Jobs a refresh over `[since, now]` should report, from the world: asset tasks created
/// up to a day before the window that ended in it, and every task still running.
fn expected_jobs(
    w: &World,
    since: i64,
    now: i64,
    in_scope: impl Fn(&Task) -> bool,
) -> BTreeMap<String, (JobResult, JobKind, Option<i64>, Option<i64>)> {
    let mut tasks = w.tasks(since - DAY, now, now);
    tasks.extend(
        w.tasks(now - 30 * DAY, now, now)
            .into_iter()
            .filter(|t| t.end.is_none()),
    );
    tasks
        .iter()
        .filter(|t| t.asset.is_some() && in_scope(t))
        .filter(|t| t.end.is_none_or(|e| e >= since))
        .map(|t| {
            (
                t.id.to_string(),
                (
                    expected_result(t.status),
                    expected_kind(t),
                    Some(t.start.unwrap_or(t.created)),
                    t.end,
                ),
            )
        })
        .collect()
}
