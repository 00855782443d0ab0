//! The exporter as a value: targets' refresh loops plus the HTTP server, started together
//! and stopped together. `serve`, `demo` and the tests all run it through this.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::api::ApiMetrics;
use crate::clock::Clock;
use crate::config::Settings;
use crate::fleet::Fleet;
use crate::metrics::Metrics;
use crate::scheduler::Scheduler;
use crate::server::{AppState, app};
use crate::vendors::{Adapter, AdapterContext, build};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Target(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

pub struct Exporter {
    pub addr: SocketAddr,
    pub fleet: Arc<Fleet>,
    pub metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    scheduler: Option<Scheduler>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl Exporter {
    pub async fn start(
        settings: &Settings,
        listen: &str,
        clock: Clock,
    ) -> Result<Self, StartError> {
        let api = ApiMetrics::default();
        let ctx = AdapterContext {
            metrics: api.clone(),
            clock: clock.clone(),
        };
        let adapters = settings
            .targets
            .iter()
            .map(|t| build(t, &ctx).map_err(|e| format!("{}: {e}", t.describe())))
            .collect::<Result<Vec<_>, _>>()
            .map_err(StartError::Target)?;
        Self::start_with(settings, adapters, api, listen, clock).await
    }

    /// Starts with adapters built by the caller (`adapters[i]` serves `settings.targets[i]`).
    pub async fn start_with(
        settings: &Settings,
        adapters: Vec<Arc<dyn Adapter>>,
        api: ApiMetrics,
        listen: &str,
        clock: Clock,
    ) -> Result<Self, StartError> {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: listen.to_owned(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: listen.to_owned(),
            source,
        })?;
        let fleet = Arc::new(Fleet::new(&settings.targets));
        let metrics = Arc::new(Metrics::new(fleet.clone(), clock.clone(), api));
        let shutdown = CancellationToken::new();
        let scheduler = Scheduler::start(
            &settings.targets,
            adapters,
            &settings.compliance,
            fleet.clone(),
            clock.clone(),
            shutdown.clone(),
        );
        let router = app(AppState {
            metrics: metrics.clone(),
            fleet: fleet.clone(),
            clock,
        });
        let stop = shutdown.clone();
        let server = tokio::spawn(async move {
            let r = axum::serve(listener, router)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await;
            if let Err(e) = r {
                tracing::error!(error = %e, "HTTP server failed");
            }
        });
        Ok(Exporter {
            addr,
            fleet,
            metrics,
            shutdown,
            scheduler: Some(scheduler),
            server: Some(server),
        })
    }

    /// Stops refreshing, closes vendor sessions and the server; bounded so that a vendor
    /// that hangs on logout cannot hold the process.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        let scheduler = self.scheduler.take();
        let server = self.server.take();
        let _ = tokio::time::timeout(Duration::from_secs(10), async move {
            if let Some(s) = scheduler {
                s.join().await;
            }
            if let Some(s) = server {
                let _ = s.await;
            }
        })
        .await;
    }

    /// Waits until every target's first refresh has finished (or `limit` passes).
    pub async fn wait_ready(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while tokio::time::Instant::now() < deadline {
            if self.fleet.ready() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.fleet.ready()
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
