//! A CloudTower simulator, mounted under `/cloudtower`:
//!
//! - `/v2/api/...`: a 4.6.0 tower (backup endpoints included);
//! - `/old/v2/api/...`: the same world seen by a tower older than 4.6, which answers 404
//!   for the backup endpoints and has no `Vm.backup_plans`;
//! - `/passive/...`: the passive node of an active/passive pair, which answers every
//!   request with 307 to the same path on the active node.
//!
//! As on a real tower, the API is only under `/v2/api`: the bare host (`/cloudtower`) is
//! what a `url` names, with or without `/v2/api`. A listing a role or release lacks is
//! switched on with the fault layer: `cloudtower:refuse=/v2/api/get-alerts@403` (or `@404`).
//!
//! Every operation is a POST with a JSON body except `GET /v2/api/get-version`; lists are
//! bare arrays filtered, ordered and paged as Prisma does; counts come from
//! `get-*-connection`; errors are CloudTower's `ErrorBody`. Tokens come from
//! `POST /v2/api/login` (or are the demo API key) and are accepted raw or after `Bearer `.

mod alerts;
mod audit;
mod backup;
mod data;
mod expect;
mod history;
mod query;
mod render;
mod tasks;

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};
use url::Url;

pub use data::{CLUSTERS, MIN_VMS, RETENTION, Role, TARGET_RETENTION, World};
pub use expect::{Scope, sort_warnings};
pub use render::Tower;

use crate::clock::Clock;
use crate::model::Vendor;
use crate::sim::tokens::{TokenProblem, TokenStore, random_token};
use crate::sim::{SimContext, VendorSim};

/// The demo login: a local user.
pub const DEMO_USER: &str = "exporter";
pub const DEMO_PASSWORD: &str = "tower-demo-password";
/// A second user that exists only in the LDAP source.
pub const DEMO_LDAP_USER: &str = "ldap-exporter";
/// An API key the tower knows from the start.
pub const DEMO_API_KEY: &str = "ct-apikey-4f1c9a7e2b8d4e6f9a0b1c2d3e4f5a6b";
/// The tower's configured session lifetime (`auth.session_max_age`).
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

pub struct SimState {
    pub world: World,
    clock: Clock,
    tokens: TokenStore,
    /// The sorted matches of recent `get-*` calls, so that a paged read derives the
    /// resource once, not once per page (at 10,000 VMs a read of 48 h of target executions
    /// is hundreds of pages, and deriving the history for each made the simulator
    /// quadratic: 1,000 s of CPU for one refresh, issue 12).
    listings: Mutex<VecDeque<Listing>>,
}

/// A sorted listing and the second it was derived at.
struct Listing {
    key: String,
    built: i64,
    hits: Arc<Vec<query::Hit>>,
}

/// Listings kept at once: the jobs collector pages four resources side by side on each of
/// the demo's two towers.
const LISTINGS: usize = 8;

/// How long (simulated seconds) a page that continues a paged read (`after` or `before`)
/// may still be cut from the listing its first page was cut from. A first page is always
/// derived at the current second. Within such a read the simulator behaves as a database
/// answering from one snapshot would: nothing appears or moves between pages.
const PAGED_READ_SECONDS: i64 = 60;

impl SimState {
    pub fn new(ctx: &SimContext) -> SimState {
        let anchor = ctx.clock.now().as_second();
        let tokens = TokenStore::new(Vendor::Cloudtower, ctx.clock.clone(), ctx.faults.clone());
        tokens.insert(DEMO_API_KEY, "api-key", None);
        SimState {
            world: World::new(ctx.seed, ctx.objects, anchor),
            clock: ctx.clock.clone(),
            tokens,
            listings: Mutex::new(VecDeque::new()),
        }
    }

    /// The sorted matches of `body` on `resource`, derived now or, for a page that
    /// continues a paged read, taken from a listing derived less than
    /// [`PAGED_READ_SECONDS`] ago.
    fn listing(
        &self,
        resource: &str,
        tower: Tower,
        body: &Value,
        now: i64,
    ) -> Result<Arc<Vec<query::Hit>>, String> {
        let (unpaged, continues) = query::listing_key(body);
        let key = format!("{resource}|{tower:?}|{unpaged}");
        let reusable = |l: &Listing| {
            l.key == key
                && (l.built == now
                    || (continues && l.built <= now && now - l.built < PAGED_READ_SECONDS))
        };
        {
            let listings = self.listings.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(l) = listings.iter().rev().find(|l| reusable(l)) {
                return Ok(l.hits.clone());
            }
        }
        let hits = Arc::new(query::sorted(
            self.world.render(resource, now, tower),
            body,
        )?);
        let mut listings = self.listings.lock().unwrap_or_else(|e| e.into_inner());
        listings.retain(|l| l.key != key && now - l.built < PAGED_READ_SECONDS);
        if listings.len() >= LISTINGS {
            listings.pop_front();
        }
        listings.push_back(Listing {
            key,
            built: now,
            hits: hits.clone(),
        });
        Ok(hits)
    }
}

pub fn build(ctx: &SimContext) -> VendorSim {
    VendorSim {
        vendor: Vendor::Cloudtower,
        router: router(Arc::new(SimState::new(ctx))),
        error: fault_error,
    }
}

#[derive(Clone)]
struct Node {
    state: Arc<SimState>,
    tower: Tower,
}

pub fn router(state: Arc<SimState>) -> Router {
    let node = |tower| {
        Router::new()
            .route("/v2/api/login", post(login))
            .route("/v2/api/get-version", get(version))
            .route("/v2/api/{operation}", post(operation))
            .with_state(Node {
                state: state.clone(),
                tower,
            })
    };
    Router::new()
        .merge(node(Tower::Current))
        .nest("/old", node(Tower::Old))
        .route("/passive/{*rest}", any(to_active))
        .fallback(not_found)
}

/// CloudTower's `ErrorBody`.
pub fn error_body(status: StatusCode, path: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "path": path, "status": status.as_u16(), "message": message })),
    )
        .into_response()
}

fn fault_error(status: StatusCode, message: &str) -> Response {
    error_body(status, "", message)
}

async fn not_found(uri: OriginalUri) -> Response {
    let path = uri.path().to_owned();
    error_body(StatusCode::NOT_FOUND, &path, &format!("Cannot find {path}"))
}

/// The passive node: 307 to the same path on the active node (the prefix without
/// `/passive`), so the client repeats the POST with its body.
async fn to_active(uri: OriginalUri) -> Response {
    let target = uri.0.to_string().replacen("/passive/", "/", 1);
    let mut resp = StatusCode::TEMPORARY_REDIRECT.into_response();
    if let Ok(v) = HeaderValue::from_str(&target) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

async fn version(State(node): State<Node>) -> Response {
    axum::Json(Value::from(node.tower.version())).into_response()
}

/// Why a request is refused; rendered as an `ErrorBody`.
type Refusal = (StatusCode, String);

fn parse_body(body: &Bytes) -> Result<Value, Refusal> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body)
        .map_err(|e| (StatusCode::BAD_REQUEST, format!("Invalid JSON body: {e}")))
}

async fn login(State(node): State<Node>, body: Bytes) -> Response {
    match check_login(&node, &body) {
        Ok(token) => {
            axum::Json(json!({ "task_id": null, "data": { "token": token } })).into_response()
        }
        Err((status, message)) => error_body(status, "/login", &message),
    }
}

fn check_login(node: &Node, body: &Bytes) -> Result<String, Refusal> {
    let input = parse_body(body)?;
    let field = |k: &str| input.get(k).and_then(Value::as_str);
    let (Some(user), Some(password)) = (field("username"), field("password")) else {
        return Err((
            StatusCode::BAD_REQUEST,
            "username and password are required".into(),
        ));
    };
    let source = field("source").unwrap_or("LOCAL");
    let known = match (user, source) {
        (DEMO_USER, "LOCAL") | (DEMO_LDAP_USER, "LDAP") => password == DEMO_PASSWORD,
        _ => false,
    };
    if !known {
        return Err((
            StatusCode::BAD_REQUEST,
            "The username or password is incorrect".into(),
        ));
    }
    // Shaped like CloudTower's HS256 JWS; its payload is the user id.
    let token = format!(
        "eyJhbGciOiJIUzI1NiJ9.{}.{}",
        random_token(34),
        random_token(43)
    );
    node.state.tokens.insert(&token, user, Some(SESSION_TTL));
    Ok(token)
}

fn authorize(state: &SimState, headers: &HeaderMap) -> Result<(), Refusal> {
    let raw = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .trim();
    let token = raw.strip_prefix("Bearer ").unwrap_or(raw).trim();
    let refuse = |m: &str| Err((StatusCode::UNAUTHORIZED, m.to_owned()));
    if token.is_empty() {
        return refuse("Unauthorized: no token");
    }
    match state.tokens.check(token) {
        Ok(_) => Ok(()),
        Err(TokenProblem::Expired) => refuse("Unauthorized: the session has expired"),
        Err(TokenProblem::Unknown) => refuse("Unauthorized: invalid token"),
    }
}

async fn operation(
    State(node): State<Node>,
    UrlPath(op): UrlPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/{op}");
    match answer(&node, &op, &headers, &body) {
        Ok(v) => {
            let mut resp = axum::Json(v).into_response();
            if let Ok(id) = HeaderValue::from_str(&random_token(16)) {
                resp.headers_mut().insert("x-tower-request-id", id);
            }
            resp
        }
        Err((status, message)) => error_body(status, &path, &message),
    }
}

fn answer(node: &Node, op: &str, headers: &HeaderMap, body: &Bytes) -> Result<Value, Refusal> {
    let (resource, connection) = match op.strip_prefix("get-") {
        Some(r) => match r.strip_suffix("-connection") {
            Some(r) => (r, true),
            None => (r, false),
        },
        None => ("", false),
    };
    let Some(resource) = render::RESOURCES
        .iter()
        .copied()
        .find(|r| *r == resource && render::serves(node.tower, r))
    else {
        return Err((StatusCode::NOT_FOUND, format!("Cannot POST /v2/api/{op}")));
    };
    authorize(&node.state, headers)?;
    let body = parse_body(body)?;
    // Rendered as a stream of items: only the matches are held, so the memory of a request
    // follows its `where`, not the size of the world (issue 12).
    let now = node.state.clock.now().as_second();
    let result = if connection {
        let items = node.state.world.render(resource, now, node.tower);
        query::count(items, &body).map(|n| json!({ "aggregate": { "count": n } }))
    } else {
        node.state
            .listing(resource, node.tower, &body, now)
            .and_then(|hits| query::page(&hits, &body))
            .map(Value::Array)
    };
    result.map_err(|m| (StatusCode::BAD_REQUEST, m))
}

/// The demo targets: a password login on the current tower (its bare host), and an API key
/// on the old tower limited to one cluster, given with the API path `/v2/api` as people
/// also paste it. The old tower shows its backup parts skipped: degraded, but up.
pub fn demo_targets(base: &Url, secrets_dir: &Path) -> std::io::Result<Vec<Value>> {
    let password = secrets_dir.join("cloudtower-password");
    std::fs::write(&password, DEMO_PASSWORD)?;
    let key = secrets_dir.join("cloudtower-api-key");
    std::fs::write(&key, DEMO_API_KEY)?;
    let old = base
        .join("old/v2/api")
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    Ok(vec![
        json!({
            "name": "cloudtower-demo",
            "vendor": "cloudtower",
            "url": base.as_str(),
            "username": DEMO_USER,
            "user_source": "LOCAL",
            "password_file": password,
        }),
        json!({
            "name": "cloudtower-legacy-demo",
            "vendor": "cloudtower",
            "url": old.as_str(),
            "token_file": key,
            "clusters": [CLUSTERS[0].0],
        }),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> SimState {
        let mut ctx = SimContext::new(7, 60);
        ctx.clock = Clock::manual("2026-11-02T10:00:00Z".parse().unwrap());
        SimState::new(&ctx)
    }

    fn ids(v: &[Value]) -> Vec<String> {
        v.iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect()
    }

    /// The ids of a whole listing, in its order.
    fn all(hits: &[query::Hit]) -> Vec<String> {
        ids(&query::page(hits, &json!({})).unwrap())
    }

    /// A paged read is cut from one listing, derived once: its pages join up to exactly
    /// what one unpaged call at its first second answers, even when the clock moves on
    /// between pages; a first page is derived afresh.
    #[test]
    fn a_paged_read_is_cut_from_the_listing_of_its_first_page() {
        let s = state();
        let resource = "backup-target-executions";
        let order = json!({ "orderBy": "executed_at_ASC" });
        let t0 = s.clock.now().as_second();
        let whole = all(&s.listing(resource, Tower::Current, &order, t0).unwrap());
        assert!(
            whole.len() > 20,
            "the demo world has history: {}",
            whole.len()
        );

        let mut paged = Vec::new();
        let mut after: Option<String> = None;
        let mut derivations: Option<Arc<Vec<query::Hit>>> = None;
        loop {
            let mut body = json!({ "orderBy": "executed_at_ASC", "first": 7 });
            if let Some(a) = &after {
                body["after"] = json!(a);
            }
            let now = s.clock.now().as_second();
            let hits = s.listing(resource, Tower::Current, &body, now).unwrap();
            let first = derivations.get_or_insert_with(|| hits.clone());
            assert!(Arc::ptr_eq(first, &hits), "derived once for the whole read");
            let page = ids(&query::page(&hits, &body).unwrap());
            paged.extend(page.iter().cloned());
            if page.len() < 7 {
                break;
            }
            after = page.last().cloned();
            if paged.len() < 70 {
                s.clock.advance(Duration::from_secs(1));
            }
        }
        assert!(paged == whole, "the pages join up to the listing");

        // Two days on, a cursor no longer continues the old read, and a first page is
        // derived at that time.
        s.clock.advance(Duration::from_secs(2 * 86_400));
        let later = s.clock.now().as_second();
        let derived =
            all(&query::sorted(s.world.render(resource, later, Tower::Current), &order).unwrap());
        assert!(derived != whole, "two days later the history has moved");
        let stale = json!({ "orderBy": "executed_at_ASC", "after": whole[0] });
        let cut = s.listing(resource, Tower::Current, &stale, later).unwrap();
        assert!(all(&cut) == derived, "a stale cursor gets a fresh listing");
        let fresh = s.listing(resource, Tower::Current, &order, later).unwrap();
        assert!(all(&fresh) == derived, "a first page gets a fresh listing");
    }
}
