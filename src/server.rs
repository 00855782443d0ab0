//! The HTTP side of `serve` (contract §5): `/metrics`, `/-/healthy`, `/-/ready` and a small
//! landing page. Handlers only read published views; none of them waits on a vendor.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower_http::compression::CompressionLayer;

use crate::clock::Clock;
use crate::fleet::Fleet;
use crate::metrics::{Format, Metrics};
use crate::state::{CollectorKind, CollectorStatus};

#[derive(Clone)]
pub struct AppState {
    pub metrics: Arc<Metrics>,
    pub fleet: Arc<Fleet>,
    pub clock: Clock,
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .layer(CompressionLayer::new().gzip(true))
        .route("/-/healthy", get(|| async { "Healthy\n" }))
        .route("/-/ready", get(ready))
        .route("/", get(landing))
        .with_state(state)
}

async fn metrics(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    // Encoding 10,000 objects takes milliseconds of CPU; keep it off the async workers.
    let m = st.metrics.clone();
    match tokio::task::spawn_blocking(move || m.encode_as(format)).await {
        Ok(Ok(body)) => (
            [
                (header::CONTENT_TYPE, format.content_type()),
                (header::VARY, "Accept, Accept-Encoding"),
            ],
            body,
        )
            .into_response(),
        _ => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "encoding metrics failed\n",
        )
            .into_response(),
    }
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
    for v in st.fleet.views() {
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
            v.objects.len(),
            esc(&last),
            collectors.join("<br>"),
            esc(v.last_error.as_deref().unwrap_or(""))
        );
    }
    h.push_str("</table></body></html>\n");
    Html(h)
}
