//! The HTTP side of `serve` (contract §5): `/metrics`, `/-/healthy`, `/-/ready` and a small
//! landing page. Handlers only read published views; none of them waits on a vendor.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::Query;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use tower_http::compression::CompressionLayer;

use crate::clock::Clock;
use crate::fleet::Fleet;
use crate::metrics::{Format, Metrics};
use crate::refresh::{Outcome, Refresher};
use crate::state::{CollectorKind, CollectorStatus};

#[derive(Clone)]
pub struct AppState {
    pub metrics: Arc<Metrics>,
    pub fleet: Arc<Fleet>,
    pub clock: Clock,
    pub refresh: Arc<Refresher>,
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .layer(CompressionLayer::new().gzip(true))
        .route("/-/healthy", get(|| async { "Healthy\n" }))
        .route("/-/ready", get(ready))
        .route("/-/refresh", post(refresh))
        .route("/", get(landing))
        .with_state(state)
}

async fn metrics(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let gzip = accepts_gzip(headers.get(header::ACCEPT_ENCODING));
    // Target families were rendered and compressed when their refresh was published; here
    // they are only picked (staleness is checked now) and copied out.
    let pieces = match st.metrics.pieces(format) {
        Ok(p) => p,
        Err(_) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "encoding metrics failed\n",
            )
                .into_response();
        }
    };
    let body = if gzip {
        let parts = crate::metrics::gzip(&pieces);
        Body::from_stream(futures::stream::iter(
            parts.into_iter().map(Ok::<_, std::convert::Infallible>),
        ))
    } else {
        plain_body(pieces)
    };
    let mut response = (
        [
            (header::CONTENT_TYPE, format.content_type()),
            (header::VARY, "Accept, Accept-Encoding"),
        ],
        body,
    )
        .into_response();
    if gzip {
        response.headers_mut().insert(
            header::CONTENT_ENCODING,
            "gzip".parse().expect("valid header"),
        );
    }
    response
}

/// Whether `Accept-Encoding` admits gzip (`gzip`, `x-gzip` or `*` with a `q` above 0).
fn accepts_gzip(accept: Option<&axum::http::HeaderValue>) -> bool {
    let Some(accept) = accept.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    accept.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(1.0, |(_, v)| v.trim().parse::<f32>().unwrap_or(0.0));
        q > 0.0
            && ["gzip", "x-gzip", "*"]
                .iter()
                .any(|g| name.eq_ignore_ascii_case(g))
    })
}

/// The uncompressed body, inflated piece by piece on a blocking thread while it is sent, so
/// that the whole text is never held in memory.
fn plain_body(pieces: Vec<crate::metrics::Piece>) -> Body {
    use crate::metrics::Piece;
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    tokio::task::spawn_blocking(move || {
        for p in pieces {
            let sent = match p {
                Piece::Text(t) => tx.blocking_send(Ok(t)).is_ok(),
                Piece::Deflated(seg) => {
                    let mut open = true;
                    let r = crate::metrics::inflate(&seg, 256 * 1024, |b| {
                        open = tx.blocking_send(Ok(Bytes::from(b))).is_ok();
                        open
                    });
                    if let Err(e) = r {
                        let _ = tx.blocking_send(Err(std::io::Error::other(e)));
                        return;
                    }
                    open
                }
            };
            if !sent {
                return; // the client went away
            }
        }
    });
    Body::from_stream(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    }))
}

async fn ready(State(st): State<AppState>) -> (StatusCode, &'static str) {
    if st.fleet.ready() {
        (StatusCode::OK, "Ready\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "Not ready: first refresh of some targets still running\n",
        )
    }
}

#[derive(serde::Deserialize)]
struct RefreshQuery {
    target: Option<String>,
}

/// `POST /-/refresh[?target=NAME]`: 202 when every named target refreshes now or joins the
/// refresh in flight, 429 with `Retry-After` when one is asked too soon, 404 for an unknown
/// target (or one on another shard) and when the endpoint is disabled. One line per target.
async fn refresh(State(st): State<AppState>, Query(q): Query<RefreshQuery>) -> Response {
    let Some(min) = st.refresh.min_interval else {
        return (
            StatusCode::NOT_FOUND,
            "on-demand refresh is disabled (set refresh_endpoint: {enabled: true} in the config)\n",
        )
            .into_response();
    };
    let chosen: Vec<_> = match &q.target {
        Some(name) => st
            .refresh
            .targets
            .iter()
            .filter(|(n, _)| n == name)
            .collect(),
        None => st.refresh.targets.iter().collect(),
    };
    if let Some(name) = &q.target
        && chosen.is_empty()
    {
        return (
            StatusCode::NOT_FOUND,
            format!("no target {name:?} here (unknown, or on another shard)\n"),
        )
            .into_response();
    }
    let mut body = String::new();
    let mut wait: Option<std::time::Duration> = None;
    for (name, trigger) in chosen {
        let outcome = trigger.poke(min);
        let what = match outcome {
            Outcome::Started => "refresh started".to_owned(),
            Outcome::Coalesced => "joined the refresh in flight".to_owned(),
            Outcome::TooSoon(d) => {
                wait = Some(wait.map_or(d, |w| w.max(d)));
                format!("too soon, retry in {}s", d.as_secs_f64().ceil())
            }
        };
        tracing::debug!(target_name = %name, outcome = ?outcome, "on-demand refresh");
        let _ = writeln!(body, "{name}: {what}");
    }
    match wait {
        None => (StatusCode::ACCEPTED, body).into_response(),
        Some(d) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(
                header::RETRY_AFTER,
                format!("{}", d.as_secs_f64().ceil() as u64),
            )],
            body,
        )
            .into_response(),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn landing(State(st): State<AppState>) -> Html<String> {
    let now = st.clock.now();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>backup-exporter</title>\
         <style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}.up{{color:#060}}.down{{color:#a00}}</style>\
         </head><body><h1>backup-exporter</h1><p>Version {} (revision {})</p>\
         <p><a href=\"/metrics\">Metrics</a> · <a href=\"/-/healthy\">Health</a> · <a href=\"/-/ready\">Readiness</a></p>\
         <table><tr><th>Target</th><th>Vendor</th><th>Health</th><th>Objects</th><th>Last refresh</th><th>Collectors</th><th>Last error</th></tr>",
        env!("CARGO_PKG_VERSION"),
        crate::metrics::REVISION
    );
    for slot in st.fleet.slots() {
        let v = &slot.view;
        let health = if !v.refreshed {
            "<td>pending</td>".to_owned()
        } else if v.up {
            "<td class=\"up\">up</td>".to_owned()
        } else {
            "<td class=\"down\">down</td>".to_owned()
        };
        let last = v
            .last_refresh
            .map(|t| {
                let ago = crate::clock::seconds_between(t, now).max(0.0);
                format!("{t} ({ago:.0}s ago)")
            })
            .unwrap_or_else(|| "never".into());
        let collectors: Vec<String> = CollectorKind::ALL
            .iter()
            .map(|c| {
                let s = match v.collector(*c).status {
                    CollectorStatus::Pending => "pending",
                    CollectorStatus::Ok => "ok",
                    CollectorStatus::Failed => "failed",
                    CollectorStatus::Unsupported => "unsupported",
                };
                let refused: Vec<&str> = v
                    .skipped
                    .iter()
                    .filter(|p| p.collector == *c)
                    .map(|p| p.part)
                    .collect();
                if refused.is_empty() {
                    format!("{}: {s}", c.as_str())
                } else {
                    // The reasons are the vendor's words: escaped, and in a tooltip.
                    let why: Vec<String> = v
                        .skipped
                        .iter()
                        .filter(|p| p.collector == *c)
                        .map(|p| esc(&p.reason))
                        .collect();
                    format!(
                        "{}: {s} <span title=\"{}\">(refused by the vendor: {})</span>",
                        c.as_str(),
                        why.join("&#10;"),
                        esc(&refused.join(", "))
                    )
                }
            })
            .collect();
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td>{health}<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&v.name),
            v.vendor,
            slot.objects,
            esc(&last),
            collectors.join("<br>"),
            esc(v.last_error.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</table></body></html>\n");
    Html(h)
}
