//! The exporter as a value: targets' refresh loops plus the HTTP server, started together
//! and stopped together. `serve`, `demo` and the tests all run it through this.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::adapter::{Adapter, AdapterContext};
use crate::api::ApiMetrics;
use crate::clock::Clock;
use crate::config::Settings;
use crate::fleet::Fleet;
use crate::metrics::Metrics;
use crate::refresh::{Refresher, Trigger};
use crate::scheduler::Scheduler;
use crate::server::{AppState, app};
use crate::vendors::build;
use crate::web::{ServerTls, WebConfig, conn};

/// How often certificate, key and client CA files are checked for a rotation.
const TLS_RELOAD_EVERY: Duration = Duration::from_secs(10);
/// How long open connections may finish their requests after a stop.
pub const DRAIN: Duration = Duration::from_secs(5);
/// HTTP/2 requests one connection may have in progress at once.
const MAX_STREAMS_PER_CONNECTION: u32 = 16;

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
    /// `https` when the web config enables TLS, else `http`.
    pub scheme: &'static str,
    pub fleet: Arc<Fleet>,
    pub metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    scheduler: Option<Scheduler>,
    server: Option<tokio::task::JoinHandle<()>>,
    /// The HTTP side's connection counts and limits.
    pub connections: conn::Stats,
}

impl Exporter {
    pub async fn start(
        settings: &Settings,
        listen: &str,
        clock: Clock,
        web: Option<WebConfig>,
    ) -> Result<Self, StartError> {
        let api = ApiMetrics::default();
        let ctx = AdapterContext {
            metrics: api.clone(),
            clock: clock.clone(),
        };
        let settings = &settings.sharded();
        let adapters = settings
            .targets
            .iter()
            .map(|t| build(t, &ctx).map_err(|e| format!("{}: {e}", t.describe())))
            .collect::<Result<Vec<_>, _>>()
            .map_err(StartError::Target)?;
        Self::start_with(settings, adapters, api, listen, clock, web).await
    }

    /// Starts with adapters built by the caller (`adapters[i]` serves `settings.targets[i]`;
    /// the caller has applied the shard, see [`Settings::sharded`]).
    /// With a web config, its TLS, basic auth, headers and rate limit apply to every route.
    pub async fn start_with(
        settings: &Settings,
        adapters: Vec<Arc<dyn Adapter>>,
        api: ApiMetrics,
        listen: &str,
        clock: Clock,
        web: Option<WebConfig>,
    ) -> Result<Self, StartError> {
        // Before the first refresh allocates: large transient blocks go back to the system.
        crate::malloc::return_large_blocks();
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
        let render = crate::metrics::RenderOptions {
            exclude: settings.exclude_metrics.clone(),
            ..Default::default()
        };
        let fleet = Arc::new(Fleet::with_options(&settings.targets, render));
        let metrics = Arc::new(
            Metrics::new(fleet.clone(), clock.clone(), api)
                .with_shard(settings.shard.unwrap_or(crate::shard::Shard::ALL)),
        );
        let shutdown = CancellationToken::new();
        let triggers: Vec<Arc<Trigger>> = settings.targets.iter().map(|_| Arc::default()).collect();
        let refresh = Arc::new(Refresher {
            min_interval: settings.refresh_min_interval,
            targets: settings
                .targets
                .iter()
                .map(|t| t.name.clone())
                .zip(triggers.iter().cloned())
                .collect(),
        });
        let mut router = app(AppState {
            metrics: metrics.clone(),
            fleet: fleet.clone(),
            clock: clock.clone(),
            refresh,
        });
        if let Some(w) = &web {
            router = w.apply(router);
        }
        // The web side's own guard (request tracking, no bodies) wraps everything else.
        let router = router.layer(axum::middleware::from_fn(conn::guard));
        let tls = web.as_ref().and_then(|w| w.tls().cloned());
        let scheme = if tls.is_some() { "https" } else { "http" };
        let nofile = conn::raise_nofile_limit().unwrap_or(1024);
        let limits = conn::Limits::for_nofile(nofile);
        tracing::debug!(
            nofile,
            max_connections = limits.max_connections,
            "connection limits"
        );
        let (listener, connections) = conn::Listener::new(listener, limits, shutdown.clone());
        let http2 = web.as_ref().is_none_or(WebConfig::http2);
        let server = serve(listener, router, tls.as_deref(), http2, shutdown.clone());
        if let Some(tls) = tls
            && tls.watches_files()
        {
            tokio::spawn(reload_tls(tls, shutdown.clone()));
        }
        // Started once the server is set up, so a failure above leaves nothing running.
        let scheduler = Scheduler::start(
            &settings.targets,
            adapters,
            &triggers,
            &settings.compliance,
            fleet.clone(),
            clock.clone(),
            metrics.api.values_rejected.clone(),
            shutdown.clone(),
        );
        Ok(Exporter {
            addr,
            scheme,
            fleet,
            metrics,
            shutdown,
            scheduler: Some(scheduler),
            server: Some(server),
            connections,
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

/// Serves `router` on `listener` (plain HTTP/1 and HTTP/2, or TLS), with the limits of
/// [`conn`]: header read timeout, connection cap, first-request and idle timeouts. On stop,
/// open requests get [`DRAIN`] to finish.
fn serve(
    listener: conn::Listener,
    router: axum::Router,
    tls: Option<&ServerTls>,
    http2: bool,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let handle = axum_server::Handle::<conn::Peer>::new();
    let mut server = axum_server::Server::<conn::Peer>::from_listener(listener)
        .handle(handle.clone())
        // A refused client certificate shows up here and nowhere else.
        .accept_error_handler(|peer, e| {
            tracing::debug!(peer = ?peer, error = %e, "connection refused");
        });
    server
        .http_builder()
        .http1()
        .header_read_timeout(conn::HEADER_READ_TIMEOUT);
    server
        .http_builder()
        .http2()
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION);
    if !http2 {
        server = server.http1_only();
    }
    tokio::spawn(async move {
        stop.cancelled().await;
        handle.graceful_shutdown(Some(DRAIN));
    });
    let make = router.into_make_service_with_connect_info::<conn::Peer>();
    let acceptor = tls.map(|t| {
        axum_server::tls_rustls::RustlsAcceptor::new(t.rustls_config())
            .handshake_timeout(conn::FIRST_REQUEST_TIMEOUT)
    });
    tokio::spawn(async move {
        let r = match acceptor {
            None => server.serve(make).await,
            Some(a) => server.acceptor(a).serve(make).await,
        };
        if let Err(e) = r {
            tracing::error!(error = %e, "HTTP server failed");
        }
    })
}

/// Picks up rotated certificates. A broken rotation is logged once per distinct problem
/// and the current certificate keeps being served.
async fn reload_tls(tls: Arc<ServerTls>, stop: CancellationToken) {
    let mut last_problem: Option<String> = None;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(TLS_RELOAD_EVERY) => {}
        }
        let t = tls.clone();
        match tokio::task::spawn_blocking(move || t.reload_if_changed()).await {
            Ok(Ok(true)) => {
                tracing::info!("TLS certificate files changed; new connections use them");
                last_problem = None;
            }
            Ok(Ok(false)) => last_problem = None,
            Ok(Err(p)) => {
                let p = p.to_string();
                if last_problem.as_ref() != Some(&p) {
                    tracing::warn!(problem = %p, "web config: keeping the current TLS certificate");
                    last_problem = Some(p);
                }
            }
            Err(_) => return,
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
