//! A recording of the simulators' traffic: every request a client sent and every answer it
//! got, with JSON bodies decoded. Off unless a server is started with
//! [`super::SimServer::start_recording`]; the spec conformance test checks each exchange
//! against the vendor's published API document.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// One request and its answer.
#[derive(Clone, Debug)]
pub struct Exchange {
    pub method: String,
    /// The path as sent, vendor prefix included (`/backupdr/actifio/session`).
    pub path: String,
    /// Query parameters in order, percent-decoded.
    pub query: Vec<(String, String)>,
    /// The request body, when it was JSON.
    pub request_body: Option<serde_json::Value>,
    pub status: u16,
    pub content_type: Option<String>,
    /// The response body, when it was JSON (`None` for an empty or non-JSON body).
    pub body: Option<serde_json::Value>,
}

/// The exchanges seen so far, shared between the server and whoever reads them.
#[derive(Clone, Debug, Default)]
pub struct Recorder(Arc<Mutex<Vec<Exchange>>>);

impl Recorder {
    /// Everything recorded so far, in order.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

/// The bodies a simulator writes are small; this only guards the test against a runaway.
const MAX_BODY: usize = 256 << 20;

fn json_of(bytes: &[u8]) -> Option<serde_json::Value> {
    serde_json::from_slice(bytes).ok()
}

/// The middleware: buffers both bodies, records them, and passes them on unchanged.
pub async fn record(State(rec): State<Recorder>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let sent = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    let query = parts
        .uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let mut exchange = Exchange {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query,
        request_body: json_of(&sent),
        status: 0,
        content_type: None,
        body: None,
    };
    let resp = next.run(Request::from_parts(parts, Body::from(sent))).await;
    let (parts, body) = resp.into_parts();
    let got = axum::body::to_bytes(body, MAX_BODY)
        .await
        .unwrap_or_default();
    exchange.status = parts.status.as_u16();
    exchange.content_type = parts
        .headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    exchange.body = json_of(&got);
    rec.0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(exchange);
    Response::from_parts(parts, Body::from(got))
}
