//! A Cloutility portal API simulator, with the quirks of the real one:
//! `Origin` required on every call (403 without), 299-second bearer tokens with a refresh
//! token that stays the same, OAuth errors as `{"error": "invalid_grant", ...}` and API
//! errors as `{code, message, developerMessage, status}`, a jobs endpoint that refuses a
//! `startTime` before the first job's `completed` and serves only the last 24 hours without
//! a window, `startDate`/`endDate` on reports but `startTime`/`endTime` on jobs and audit
//! logs, repeated `types`, reports without status and warnings unless asked, partial
//! objects, `$type` annotations, and collections honouring `offset`/`limit`.

pub mod data;
mod history;
mod json;
mod routes;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::Timestamp;
use serde_json::{Value, json};
use url::Url;

pub use data::World;
use data::{CLIENT_ID, ORIGIN, PASSWORD, TOKEN_LIFETIME_S, USERNAME};

use crate::clock::Clock;
use crate::model::Vendor;
use crate::sim::tokens::{TokenProblem, TokenStore};
use crate::sim::{Faults, SimContext, VendorSim};

/// Page sizes. The portal's own are undocumented; these make paging happen.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// Items per page when a list request has no `limit` (`None`: everything).
    pub default_page: Option<usize>,
    /// The most items one page holds, whatever `limit` asks for.
    pub max_page: usize,
    /// Audit logs: both the default and the maximum page.
    pub audit_page: usize,
    /// Access token lifetime (`expires_in`); the portal's is 299 s.
    pub token_lifetime: Duration,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            default_page: None,
            max_page: 1000,
            audit_page: 50,
            token_lifetime: Duration::from_secs(TOKEN_LIFETIME_S),
        }
    }
}

/// One simulated portal: its world, tokens and request counts.
#[derive(Clone)]
pub struct Simulator {
    state: Arc<Sim>,
}

struct Sim {
    world: World,
    clock: Clock,
    faults: Faults,
    tokens: TokenStore,
    /// The user's refresh token and the `expire-tokens` epoch it was issued in.
    refresh: Mutex<Option<(String, u64)>>,
    options: SimOptions,
    counts: Mutex<HashMap<String, u64>>,
    /// Routes that answer with an error status, so a test can fail one endpoint.
    broken: Mutex<HashMap<String, StatusCode>>,
    /// Jobs before this were deleted from the portal (retention), if set.
    pruned: Mutex<Option<Timestamp>>,
}

impl Sim {
    fn count(&self, key: &str) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_owned())
            .or_default() += 1;
    }

    fn broken(&self, route: &str) -> Option<StatusCode> {
        self.broken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(route)
            .copied()
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    fn pruned(&self) -> Option<Timestamp> {
        *self.pruned.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The consumer's first job the portal still holds.
    fn first_job(&self, consumer: u64) -> Option<data::JobRun> {
        let now = self.now();
        match self.pruned() {
            None => self.world.first_job(consumer, now),
            Some(floor) => self
                .world
                .jobs(consumer, floor, now, now)
                .into_iter()
                .find(|j| j.completed.is_some()),
        }
    }

    fn jobs(&self, consumer: u64, from: Timestamp, to: Timestamp) -> Vec<data::JobRun> {
        let from = self.pruned().map_or(from, |floor| from.max(floor));
        self.world.jobs(consumer, from, to, self.now())
    }
}

impl Simulator {
    pub fn new(ctx: &SimContext) -> Self {
        Self::with_options(ctx, SimOptions::default())
    }

    pub fn with_options(ctx: &SimContext, options: SimOptions) -> Self {
        Simulator {
            state: Arc::new(Sim {
                world: World::new(ctx.seed, ctx.objects, ctx.clock.now()),
                clock: ctx.clock.clone(),
                faults: ctx.faults.clone(),
                tokens: TokenStore::new(Vendor::Cloutility, ctx.clock.clone(), ctx.faults.clone()),
                refresh: Mutex::new(None),
                options,
                counts: Mutex::new(HashMap::new()),
                broken: Mutex::new(HashMap::new()),
                pruned: Mutex::new(None),
            }),
        }
    }

    pub fn world(&self) -> &World {
        &self.state.world
    }

    /// How many requests of one kind were answered: `oauth password`, `oauth refresh`,
    /// `oauth refused`, `403`, `401`, `paged` (offset > 0), or a route such as `jobs/first`,
    /// `jobs`, `auditlogs`, `nodewarningtypes`, `consumers`, `node`.
    pub fn count(&self, key: &str) -> u64 {
        self.state
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    /// Makes one route (a name as [`Simulator::count`] takes, or `bunits` for the tree)
    /// answer `status` from now on: 500 for a broken endpoint, 404 for one this portal
    /// release does not have.
    pub fn break_route(&self, route: &str, status: StatusCode) {
        self.state
            .broken
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(route.to_owned(), status);
    }

    /// Deletes the jobs before `before`, as the portal's retention does: the first job
    /// moves on, and a `startTime` before it is refused.
    pub fn prune_jobs(&self, before: Timestamp) {
        *self.state.pruned.lock().unwrap_or_else(|e| e.into_inner()) = Some(before);
    }

    /// Invalidates the refresh token (as a password change would).
    pub fn revoke_refresh_token(&self) {
        *self.state.refresh.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The routes, relative to the vendor prefix.
    pub fn router(&self) -> Router {
        let api = Router::new()
            .route("/v1/fullVersion", get(routes::full_version))
            .route("/v1/me", get(routes::me))
            .route("/v1/nodewarningtypes", get(routes::warning_types))
            .route("/v1/bunits", get(routes::bunit_tree))
            .route("/v1/bunits/{b}", get(routes::bunit))
            .route("/v1/bunits/{b}/bunits", get(routes::child_bunits))
            .route("/v1/bunits/{b}/consumers", get(routes::consumers))
            .route("/v1/bunits/{b}/consumers/{c}", get(routes::consumer))
            .route("/v1/bunits/{b}/consumers/{c}/node", get(routes::node))
            .route(
                "/v1/bunits/{b}/consumers/{c}/node/filespaces",
                get(routes::filespaces),
            )
            .route("/v1/bunits/{b}/consumers/{c}/reports", get(routes::reports))
            .route(
                "/v1/bunits/{b}/consumers/{c}/reports/latest",
                get(routes::latest_report),
            )
            .route("/v1/bunits/{b}/consumers/{c}/jobs", get(routes::jobs))
            .route(
                "/v1/bunits/{b}/consumers/{c}/jobs/first",
                get(routes::first_job),
            )
            .route(
                "/v1/bunits/{b}/consumers/{c}/auditlogs",
                get(routes::audit_logs),
            )
            .route_layer(middleware::from_fn_with_state(
                self.state.clone(),
                authorise,
            ));
        Router::new()
            .route("/v1/oauth", post(oauth))
            .merge(api)
            .with_state(self.state.clone())
    }

    pub fn vendor_sim(&self) -> VendorSim {
        VendorSim {
            vendor: Vendor::Cloutility,
            router: self.router(),
            error,
        }
    }
}

pub fn build(ctx: &SimContext) -> VendorSim {
    Simulator::new(ctx).vendor_sim()
}

/// The demo target: `base` is the simulator's URL with the vendor prefix; the adapter adds
/// `/v1/...` itself.
pub fn demo_targets(base: &Url, secrets_dir: &Path) -> std::io::Result<Vec<Value>> {
    let password_file = secrets_dir.join("cloutility-demo.password");
    std::fs::write(&password_file, format!("{PASSWORD}\n"))?;
    Ok(vec![json!({
        "name": "cloutility-demo",
        "vendor": "cloutility",
        "url": base.as_str(),
        "client_id": CLIENT_ID,
        "origin": ORIGIN,
        "username": USERNAME,
        "password_file": password_file,
    })])
}

/// Cloutility's error body.
pub fn error(status: StatusCode, message: &str) -> Response {
    error_with(status, message, message)
}

fn error_with(status: StatusCode, message: &str, developer: &str) -> Response {
    let code: String = status
        .canonical_reason()
        .unwrap_or("Error")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    (
        status,
        axum::Json(json!({
            "code": code, "message": message, "developerMessage": developer, "status": status.as_u16(),
        })),
    )
        .into_response()
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn origin_of(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
}

fn forbidden(sim: &Sim, origin: Option<&str>) -> Response {
    sim.count("403");
    let dev = match origin {
        None => "The Origin header is required on every request".to_owned(),
        Some(o) => format!("Origin '{o}' is not registered for this client"),
    };
    error_with(StatusCode::FORBIDDEN, "Access denied", &dev)
}

/// Every API call needs the registered Origin and a live bearer token.
async fn authorise(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    let origin = origin_of(req.headers());
    if origin != Some(ORIGIN) {
        return forbidden(&sim, origin);
    }
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    let problem = match bearer.map(|t| sim.tokens.check(t.trim())) {
        Some(Ok(_)) => return next.run(req).await,
        Some(Err(TokenProblem::Expired)) => "The access token has expired",
        Some(Err(TokenProblem::Unknown)) => "The access token is not valid",
        None => "No bearer token was sent",
    };
    sim.count("401");
    error_with(
        StatusCode::UNAUTHORIZED,
        "Authorization has been denied for this request.",
        problem,
    )
}

async fn oauth(State(sim): State<Arc<Sim>>, headers: HeaderMap, body: String) -> Response {
    let origin = origin_of(&headers);
    if origin.is_none() {
        return forbidden(&sim, None);
    }
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let refused = |error: &str, description: &str| {
        sim.count("oauth refused");
        oauth_error(error, description)
    };
    if field("client_id") != CLIENT_ID {
        return refused("invalid_client", "The client id is not valid.");
    }
    if origin != Some(ORIGIN) {
        return refused(
            "invalid_client",
            "The origin is not allowed for this client.",
        );
    }
    let epoch = sim.faults.token_epoch(Vendor::Cloutility);
    let mut refresh = sim.refresh.lock().unwrap_or_else(|e| e.into_inner());
    match field("grant_type") {
        "password" => {
            if field("username") != USERNAME || field("password") != PASSWORD {
                drop(refresh);
                return refused("invalid_grant", "The user name or password is incorrect.");
            }
            sim.count("oauth password");
        }
        "refresh_token" => {
            let good = refresh
                .as_ref()
                .is_some_and(|(t, e)| *e == epoch && t == field("refresh_token"));
            if !good {
                drop(refresh);
                return refused(
                    "invalid_grant",
                    "The refresh token is invalid or has expired.",
                );
            }
            sim.count("oauth refresh");
        }
        other => {
            drop(refresh);
            return refused(
                "unsupported_grant_type",
                &format!("Grant type '{other}' is not supported."),
            );
        }
    }
    // The refresh token "will always be the same" (until something revokes it).
    if refresh.as_ref().is_none_or(|(_, e)| *e != epoch) {
        *refresh = Some((crate::sim::tokens::random_token(48), epoch));
    }
    let refresh_token = refresh.as_ref().map(|(t, _)| t.clone()).unwrap_or_default();
    drop(refresh);
    let lifetime = sim.options.token_lifetime;
    let access = sim.tokens.issue(USERNAME, Some(lifetime));
    axum::Json(json!({
        "access_token": access,
        "token_type": "bearer",
        "expires_in": lifetime.as_secs(),
        "refresh_token": refresh_token,
    }))
    .into_response()
}
