//! Simulator of the Backup and DR management console (`/backupdr/actifio/...`) and of the
//! Google token endpoint it relies on (`/backupdr/token`).
//!
//! Quirks reproduced: two auth layers (bearer + `backupdr-management-session: Actifio <id>`),
//! Google's HTML 401 for a dead bearer and the console's JSON 401 (10011) for a dead session,
//! 10040 for a session looked up after it ended, sessions that idle out unless used, list
//! views whose `limit` the server caps and whose `count` is the page length, `HEAD` with
//! `Actifio-Count`, `OPTIONS`, the filter and sort language, string ids, epoch-microsecond
//! times, Jackson's pretty printing, and `{err_code, err_message}` errors.
//!
//! The demo key pair in `demo-service-account-key.pem` is a throwaway made for this
//! simulator (generating RSA keys at start-up would need another crate and seconds of CPU);
//! it protects nothing and must never be used for anything but the simulator.

mod auth;
pub mod data;
pub mod history;
pub mod journal;
pub mod query;
mod render;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use jiff::Timestamp;
use serde_json::{Value, json};
use url::Url;

pub use self::data::World;
use self::history::{from_micros, queued_range_for_end};
use self::query::{Field, Query};
use super::google::ServiceAccount;
use crate::clock::Clock;
use crate::model::Vendor;
use crate::sim::tokens::TokenStore;
use crate::sim::{SimContext, VendorSim};

/// The simulator-only service-account key (see the module docs).
pub const DEMO_PRIVATE_KEY_PEM: &str = include_str!("demo-service-account-key.pem");
pub const DEMO_CLIENT_EMAIL: &str = "backup-exporter-demo@bdr-demo-project.iam.gserviceaccount.com";
const DEMO_KEY_ID: &str = "5d1c0e3b7a9f4c2e8b6a1d0f3c5e7a9b1d3f5e7a";

/// What a test may want to change about the console's behaviour.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// The most items a list page holds, whatever `limit` asks for.
    pub page_cap: usize,
    /// Items per page when no `limit` is given.
    pub default_limit: usize,
    /// A session not used for this long is gone.
    pub session_idle: Duration,
    /// Lifetime of Google access tokens.
    pub token_ttl: Duration,
    /// Serve `/event` (absent from the 11.0.4 spec; consoles serve it).
    pub events: bool,
    /// Refuse a `POST /session` without `Content-Length`, as Google's front end does.
    pub require_content_length: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            page_cap: 1000,
            default_limit: 1000,
            session_idle: Duration::from_secs(3600),
            token_ttl: Duration::from_secs(3600),
            events: true,
            require_content_length: true,
        }
    }
}

#[derive(Clone)]
pub struct Sim(Arc<Inner>);

pub struct Inner {
    pub world: World,
    pub clock: Clock,
    pub opts: SimOptions,
    google_tokens: TokenStore,
    sessions: TokenStore,
    public_key: Vec<u8>,
    ended: std::sync::Mutex<Vec<String>>,
    grants: std::sync::atomic::AtomicUsize,
    logins: std::sync::atomic::AtomicUsize,
}

impl Inner {
    /// Access tokens issued by the token endpoint so far.
    pub fn token_grants(&self) -> usize {
        self.grants.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Console sessions opened so far.
    pub fn session_logins(&self) -> usize {
        self.logins.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sessions deleted by their clients, oldest first.
    pub fn ended_sessions(&self) -> Vec<String> {
        self.ended.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn end_session(&self, id: &str) {
        self.sessions.revoke(id);
        self.ended
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(id.to_owned());
    }
}

impl std::ops::Deref for Sim {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The console's error body.
pub fn error_body(status: StatusCode, code: i64, message: &str) -> Response {
    json_response(status, &json!({ "err_code": code, "err_message": message }))
}

/// For the shared fault layer: injected 429, 5xx and refusals in the console's own shape.
pub fn fault_error(status: StatusCode, message: &str) -> Response {
    let code = match status {
        StatusCode::TOO_MANY_REQUESTS => 10_429,
        // The spec's codes for a role without the right, and for an unknown resource.
        StatusCode::FORBIDDEN => 10_011,
        StatusCode::NOT_FOUND => 10_016,
        _ => 10_023,
    };
    error_body(status, code, message)
}

pub fn json_response(status: StatusCode, v: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        render::to_pretty(v),
    )
        .into_response()
}

pub fn build(ctx: &SimContext) -> VendorSim {
    VendorSim {
        vendor: Vendor::Backupdr,
        router: router(ctx, SimOptions::default()),
        error: fault_error,
    }
}

/// The world the simulator built from `ctx` serves (tests compute expectations from it).
pub fn world_of(ctx: &SimContext) -> World {
    World::new(ctx.seed, ctx.objects, ctx.clock.now())
}

/// The routes, relative to `/backupdr`.
pub fn router(ctx: &SimContext, opts: SimOptions) -> Router {
    router_with_handle(ctx, opts).0
}

/// The routes and a handle on the simulator's state, for tests.
pub fn router_with_handle(ctx: &SimContext, opts: SimOptions) -> (Router, Sim) {
    let public_key = ServiceAccount::from_json(&demo_key_json("http://localhost/backupdr/token"))
        .map(|sa| sa.public_key_der())
        .unwrap_or_default();
    let sim = Sim(Arc::new(Inner {
        world: world_of(ctx),
        clock: ctx.clock.clone(),
        opts,
        google_tokens: TokenStore::new(Vendor::Backupdr, ctx.clock.clone(), ctx.faults.clone()),
        sessions: TokenStore::new(Vendor::Backupdr, ctx.clock.clone(), ctx.faults.clone()),
        public_key,
        ended: std::sync::Mutex::new(Vec::new()),
        grants: std::sync::atomic::AtomicUsize::new(0),
        logins: std::sync::atomic::AtomicUsize::new(0),
    }));
    let list = |c: Collection| {
        any(
            move |State(sim): State<Sim>, method: Method, headers: HeaderMap, q: RawQuery| async move {
                list_view(sim, c, method, headers, q).await
            },
        )
    };
    let router = Router::new()
        .route("/token", post(auth::token))
        .route("/actifio/session", post(auth::login))
        .route(
            "/actifio/session/current",
            get(auth::current).delete(auth::current),
        )
        .route(
            "/actifio/session/{id}",
            get(auth::by_id).delete(auth::by_id),
        )
        .route("/actifio/config/version", get(version))
        .route("/actifio/cluster", list(Collection::Clusters))
        .route("/actifio/application", list(Collection::Applications))
        .route("/actifio/sla", list(Collection::Slas))
        .route("/actifio/slt", list(Collection::Slts))
        .route(
            "/actifio/slt/{id}/policy",
            get(
                |State(sim): State<Sim>, UrlPath(id): UrlPath<String>, headers: HeaderMap| async move {
                    policy_list(sim, id, headers)
                },
            ),
        )
        .route("/actifio/jobstatus", list(Collection::Jobs))
        .route("/actifio/backup", list(Collection::Backups))
        .route("/actifio/diskpool", list(Collection::Pools))
        .route("/actifio/localaudit", list(Collection::Audit))
        .route("/actifio/event", list(Collection::Events))
        .fallback(|| async {
            error_body(StatusCode::NOT_FOUND, 10_016, "Object not found: no such resource")
        })
        .with_state(sim.clone());
    (router, sim)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Collection {
    Clusters,
    Applications,
    Slas,
    Slts,
    Jobs,
    Backups,
    Pools,
    Audit,
    Events,
}

impl Collection {
    fn fields(self) -> &'static [Field] {
        match self {
            Collection::Clusters => render::CLUSTER_FIELDS,
            Collection::Applications => render::APPLICATION_FIELDS,
            Collection::Slas => render::SLA_FIELDS,
            Collection::Slts => render::SLT_FIELDS,
            Collection::Jobs => render::JOB_FIELDS,
            Collection::Backups => render::BACKUP_FIELDS,
            Collection::Pools => render::POOL_FIELDS,
            Collection::Audit => render::AUDIT_FIELDS,
            Collection::Events => render::EVENT_FIELDS,
        }
    }
}

async fn version(State(sim): State<Sim>, headers: HeaderMap) -> Response {
    if let Err(r) = sim.session(&headers) {
        return *r;
    }
    json_response(
        StatusCode::OK,
        &json!({
            "@type": "versionRest",
            "product": "AGM",
            "summary": "240207.03.04",
            "major": "11",
            "minor": "0",
            "maintenance": "5",
            "revision": "1234",
        }),
    )
}

fn policy_list(sim: Sim, id: String, headers: HeaderMap) -> Response {
    if let Err(r) = sim.session(&headers) {
        return *r;
    }
    match sim.world.templates.iter().find(|t| t.id == id) {
        Some(t) => {
            let items = render::policies(t);
            json_response(
                StatusCode::OK,
                &json!({ "count": items.len(), "items": items }),
            )
        }
        None => error_body(
            StatusCode::NOT_FOUND,
            10_016,
            "Object not found: no such SLA template",
        ),
    }
}

/// `GET` (a page), `HEAD` (the count) and `OPTIONS` (the fields) of one list view.
async fn list_view(
    sim: Sim,
    c: Collection,
    method: Method,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    if let Err(r) = sim.session(&headers) {
        return *r;
    }
    if c == Collection::Events && !sim.opts.events {
        return error_body(
            StatusCode::NOT_FOUND,
            10_016,
            "Object not found: no such resource",
        );
    }
    if method == Method::OPTIONS {
        return json_response(StatusCode::OK, &render::options(c.fields()));
    }
    if method != Method::GET && method != Method::HEAD {
        return error_body(
            StatusCode::METHOD_NOT_ALLOWED,
            10_005,
            "HTTP method is not allowed for this resource",
        );
    }
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let q = match Query::parse(&params, c.fields()) {
        Ok(q) => q,
        Err(e) => {
            return error_body(
                StatusCode::BAD_REQUEST,
                10_020,
                &format!("Invalid request: {e}"),
            );
        }
    };
    let (total, page) = sim.page(c, &q);
    if method == Method::HEAD {
        let mut r = StatusCode::NO_CONTENT.into_response();
        if let Ok(v) = HeaderValue::from_str(&total.to_string()) {
            r.headers_mut().insert("actifio-count", v);
        }
        return r;
    }
    json_response(
        StatusCode::OK,
        &json!({ "count": page.len(), "items": page }),
    )
}

impl Sim {
    /// One page of the collection as of now, and how many items matched. Jobs and images
    /// are generated only for the time range and applications the filters allow, one
    /// application at a time, and rendered only if they make the page: the listing is never
    /// held whole (at 10,000 applications it is millions of jobs).
    fn page(&self, c: Collection, q: &Query) -> (usize, Vec<Value>) {
        let w = &self.world;
        let now = self.clock.now();
        let fields = c.fields();
        let (limit, cap) = (self.opts.default_limit, self.opts.page_cap);
        let values =
            |items: &mut dyn Iterator<Item = Value>| q.run(items.enumerate(), fields, limit, cap);
        match c {
            Collection::Clusters => {
                values(&mut w.appliances.iter().map(|a| render::cluster(a, now)))
            }
            Collection::Applications => {
                values(&mut w.apps.iter().map(|a| render::application(w, a, now)))
            }
            Collection::Slas => values(&mut w.apps.iter().filter_map(|a| render::sla(w, a, now))),
            Collection::Slts => values(&mut w.templates.iter().map(render::slt)),
            Collection::Pools => values(&mut w.pools(now).iter().map(|p| render::pool(w, p, now))),
            // In the order of the whole listing: by hinted application, then job number.
            Collection::Jobs => {
                let (from, to) = self.job_range(q, now);
                let listed = self
                    .app_hint(q)
                    .into_iter()
                    .enumerate()
                    .flat_map(|(h, app)| {
                        w.jobs_by_app(now, from, to, app).map(move |job| {
                            (
                                (h, job.number, job.app),
                                render::ListedJob { world: w, job },
                            )
                        })
                    });
                let (total, page) = q.run(listed, fields, limit, cap);
                (total, page.iter().map(|l| render::job(w, &l.job)).collect())
            }
            Collection::Backups => {
                let listed = self
                    .app_hint(q)
                    .into_iter()
                    .enumerate()
                    .flat_map(|(h, app)| {
                        w.images_by_app(now, app).map(move |image| {
                            (
                                (h, image.number, image.app),
                                render::ListedImage { world: w, image },
                            )
                        })
                    });
                let (total, page) = q.run(listed, fields, limit, cap);
                (
                    total,
                    page.iter().map(|l| render::image(w, &l.image)).collect(),
                )
            }
            Collection::Events => {
                let (lo, hi) = q.bounds("eventdate");
                let from = lo.map(from_micros).unwrap_or(Timestamp::UNIX_EPOCH);
                let to = hi.map(from_micros).unwrap_or(now);
                values(&mut w.events(now, from, to).iter().map(|e| render::event(w, e)))
            }
            Collection::Audit => {
                let (lo, hi) = q.bounds("issuedate");
                let from = lo.map(from_micros).unwrap_or(Timestamp::UNIX_EPOCH);
                let to = hi.map(from_micros).unwrap_or(now);
                values(&mut w.audit(now, from, to).iter().map(render::audit))
            }
        }
    }

    /// The queue-time range that can hold every job the filters allow.
    fn job_range(&self, q: &Query, now: Timestamp) -> (Timestamp, Timestamp) {
        let mut from = Timestamp::UNIX_EPOCH;
        let mut to = now;
        let (qlo, qhi) = q.bounds("queuedate");
        let (slo, shi) = q.bounds("startdate");
        let (elo, ehi) = q.bounds("enddate");
        for lo in [qlo, slo].into_iter().flatten() {
            from = from.max(queued_range_for_end(from_micros(lo), now).0);
        }
        if let Some(lo) = elo {
            from = from.max(queued_range_for_end(from_micros(lo), now).0);
        }
        for hi in [qhi, shi, ehi].into_iter().flatten() {
            to = to.min(from_micros(hi));
        }
        // Jobs that have not ended were queued within the longest run time.
        if let Some(statuses) = q.equals("status")
            && statuses
                .iter()
                .all(|s| !matches!(*s, "succeeded" | "failed" | "canceled" | "cancelled"))
        {
            from = from.max(queued_range_for_end(now, now).0);
        }
        (from, to)
    }

    /// `appid:==` filters narrow generation to those applications.
    fn app_hint(&self, q: &Query) -> Vec<Option<usize>> {
        match q.equals("appid") {
            Some(ids) => ids
                .iter()
                .filter_map(|id| self.world.app(id).map(|a| Some(a.index)))
                .collect(),
            None => vec![None],
        }
    }
}

/// The demo service-account key file, pointing its `token_uri` at the simulator.
pub fn demo_key_json(token_uri: &str) -> String {
    serde_json::to_string_pretty(&json!({
        "type": "service_account",
        "project_id": "bdr-demo-project",
        "private_key_id": DEMO_KEY_ID,
        "private_key": DEMO_PRIVATE_KEY_PEM,
        "client_email": DEMO_CLIENT_EMAIL,
        "client_id": "101234567890123456789",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "universe_domain": "googleapis.com",
    }))
    .unwrap_or_default()
}

/// Writes the demo key file and returns the target that uses it. The target's `url` is the
/// console as Google's console shows it: the bare host (here, the simulator's prefix),
/// without `/actifio`.
pub fn demo_targets(base: &Url, secrets_dir: &Path) -> std::io::Result<Vec<Value>> {
    let token_uri = base
        .join("token")
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let path = secrets_dir.join("backupdr-demo-service-account.json");
    std::fs::write(&path, demo_key_json(token_uri.as_str()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(vec![json!({
        "name": "backupdr-demo",
        "vendor": "backupdr",
        "url": base.as_str(),
        "credentials_file": path.to_string_lossy(),
    })])
}
