//! The Clumio simulator, mounted under `/clumio`.
//!
//! It speaks what the adapter relies on, with Clumio's quirks:
//! - `Authorization: Bearer <API token>`; tokens never expire by time, but the
//!   `expire-tokens` fault invalidates them (401 with `error_code` 402, as Clumio answers),
//!   and [`Simulator::register_token`] (or `POST /clumio/-/api-tokens`, simulator only)
//!   issues a new one, as generating a token in the Clumio UI would;
//! - `Accept: application/api.clumio.<resource>=v<N>+json` chooses the version per resource
//!   (the `*` wildcard and `&`-joined lists too); no Accept means the latest version; a
//!   version the resource does not have is refused with 406;
//! - `X-Clumio-OrganizationalUnit-Context` scopes every list to that OU and its
//!   descendants (absent or empty: the Global OU); an unknown OU is refused with 403;
//! - HAL lists: `_embedded.items`, relative `_links` with `_next` absent on the last page,
//!   `limit` (default 20, capped at 100) and 1-based `start`, `total_count`,
//!   `total_pages_count`, and `filter_applied` with the system's own default window;
//!   policies page with an opaque `start` token instead;
//! - JSON `filter` with the documented fields and operators per endpoint (anything else
//!   is a 400), including the six-month limit on task history;
//! - the gateway's 100 requests per second per token, answered with 429 and `Retry-After`;
//! - errors as `{"errors":[{"error_code":…,"error_message":…}]}`.
//!
//! Variants real accounts show: [`DEMO_TOKEN_NO_EC2`] belongs to a role that may not read
//! EC2 instances (403 on both EC2 listings), and the shared `refuse=PATH[@STATUS]` switch
//! (`simulate --fault clumio:refuse=/datasources/aws/rds-resources@404`) refuses any listing,
//! as an account without that data source or an older release would.

mod accept;
pub mod data;
mod lists;
mod query;
mod render;

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use url::Url;

pub use self::data::World;
use self::data::{Kind, subtree};
use self::query::{Applied, Query};
use crate::clock::Clock;
use crate::model::Vendor;
use crate::sim::tokens::TokenStore;
use crate::sim::{SimContext, VendorSim, faults};

/// The API token of the demo config; registered without expiry.
pub const DEMO_TOKEN: &str =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjbHVtaW8tZGVtbyJ9.c2ltdWxhdG9yIGRlbW8";

/// The API token of a user whose role may not read EC2 instances (as an account whose EC2
/// data source is not enabled answers too): the EC2 listings answer 403, everything else as
/// for [`DEMO_TOKEN`]. One demo target uses it, so the demo shows a refused part.
pub const DEMO_TOKEN_NO_EC2: &str =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjbHVtaW8tbm8tZWMyIn0.c2ltdWxhdG9yIG5vIGVjMg";

/// The subject of [`DEMO_TOKEN_NO_EC2`].
const NO_EC2_SUBJECT: &str = "no-ec2";

/// Clumio's gateway limit per organization (here: per token).
pub const GATEWAY_LIMIT_PER_SECOND: usize = 100;

/// Items per page of the policy list, which pages by token.
const POLICY_PAGE: usize = 3;
/// How far back `/tasks` reaches ("cannot exceed the last 6 months").
const TASK_HISTORY_SECONDS: i64 = 183 * 86_400;
/// The window a list without a time filter covers.
const DEFAULT_WINDOW_SECONDS: i64 = 30 * 86_400;

/// A request as the simulator saw it, for tests that check what the adapter sends.
#[derive(Clone, Debug)]
pub struct SeenRequest {
    pub path: String,
    pub accept: Option<String>,
    pub ou_context: Option<String>,
    pub query: Vec<(String, String)>,
    pub status: u16,
}

impl SeenRequest {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    world: World,
    clock: Clock,
    tokens: TokenStore,
    seen: Mutex<VecDeque<SeenRequest>>,
    recent: Mutex<HashMap<String, VecDeque<Instant>>>,
    throttled: Mutex<u64>,
    /// The last few full listings of each endpoint, so that reading a long list page by page
    /// does not rebuild it for every page. Keyed by everything but `start` and `limit`, and by
    /// the clock, so a listing at a later time is built afresh. Per endpoint, because the
    /// adapter asks for one asset's newest backup ten thousand times while it pages through
    /// the task history: one shared queue let those evict the task listing, which was then
    /// rebuilt for every page.
    listings: Mutex<VecDeque<(Endpoint, String, Listing)>>,
}

type Listing = Arc<(Items, Applied)>;

/// A full listing before paging. Tasks stay structs until their page is rendered: a long
/// history has thousands, and rendering is what costs.
enum Items {
    Json(Vec<Value>),
    Tasks(Vec<data::Task>),
}

impl Items {
    fn len(&self) -> usize {
        match self {
            Items::Json(v) => v.len(),
            Items::Tasks(v) => v.len(),
        }
    }
}
/// Listings kept per endpoint.
const CACHED_LISTINGS: usize = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Endpoint {
    Ous,
    Policies,
    Datasources(Kind),
    Backups(Kind),
    Tasks,
    Audit,
    Alerts,
}

impl Endpoint {
    /// The resource name in the Accept header, and its versions (the last is the latest).
    fn resource(self) -> (&'static str, &'static [u32]) {
        match self {
            Endpoint::Ous => ("organizational-units", &[1, 2]),
            Endpoint::Policies => ("policy-definitions", &[1]),
            Endpoint::Datasources(Kind::Ebs) => ("aws-ebs-volumes", &[1]),
            Endpoint::Datasources(Kind::Ec2) => ("aws-ec2-instances", &[1]),
            Endpoint::Datasources(Kind::ProtectionGroup) => ("protection-groups", &[1]),
            Endpoint::Datasources(Kind::Rds) => ("aws-rds-resources", &[1]),
            Endpoint::Backups(Kind::Ebs) => ("backup-aws-ebs-volumes", &[1, 2]),
            Endpoint::Backups(Kind::Ec2) => ("backup-aws-ec2-instances", &[1]),
            Endpoint::Backups(Kind::ProtectionGroup) => ("backup-protection-groups", &[1]),
            Endpoint::Backups(Kind::Rds) => ("backup-aws-rds-resources", &[1]),
            Endpoint::Tasks => ("tasks", &[1]),
            Endpoint::Audit => ("audit-trails", &[1]),
            Endpoint::Alerts => ("individual-alerts", &[1]),
        }
    }

    fn path(self) -> &'static str {
        match self {
            Endpoint::Ous => "/organizational-units",
            Endpoint::Policies => "/policies/definitions",
            Endpoint::Datasources(Kind::Ebs) => "/datasources/aws/ebs-volumes",
            Endpoint::Datasources(Kind::Ec2) => "/datasources/aws/ec2-instances",
            Endpoint::Datasources(Kind::ProtectionGroup) => "/datasources/protection-groups",
            Endpoint::Datasources(Kind::Rds) => "/datasources/aws/rds-resources",
            Endpoint::Backups(Kind::Ebs) => "/backups/aws/ebs-volumes",
            Endpoint::Backups(Kind::Ec2) => "/backups/aws/ec2-instances",
            Endpoint::Backups(Kind::ProtectionGroup) => "/backups/protection-groups",
            Endpoint::Backups(Kind::Rds) => "/backups/aws/rds-resources",
            Endpoint::Tasks => "/tasks",
            Endpoint::Audit => "/audit-trails",
            Endpoint::Alerts => "/alerts/individual",
        }
    }

    const ALL: [Endpoint; 13] = [
        Endpoint::Ous,
        Endpoint::Policies,
        Endpoint::Datasources(Kind::Ebs),
        Endpoint::Datasources(Kind::Ec2),
        Endpoint::Datasources(Kind::ProtectionGroup),
        Endpoint::Datasources(Kind::Rds),
        Endpoint::Backups(Kind::Ebs),
        Endpoint::Backups(Kind::Ec2),
        Endpoint::Backups(Kind::ProtectionGroup),
        Endpoint::Backups(Kind::Rds),
        Endpoint::Tasks,
        Endpoint::Audit,
        Endpoint::Alerts,
    ];
}

/// Clumio's error body.
pub fn error_response(status: StatusCode, message: &str) -> Response {
    let code = if status == StatusCode::UNAUTHORIZED {
        // Clumio answers a bad token with HTTP 401 and error code 402.
        402
    } else {
        status.as_u16()
    };
    (
        status,
        axum::Json(json!({ "errors": [{ "error_code": code, "error_message": message }] })),
    )
        .into_response()
}

/// A request refused before it reaches a list: rendered as Clumio's error body.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Refusal {
            status,
            message: message.into(),
        }
    }

    fn into_response(self) -> Response {
        let mut r = error_response(self.status, &self.message);
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        r
    }
}

/// What a request was admitted with.
struct Admitted {
    version: u32,
    scope: Vec<&'static str>,
    now: i64,
    query: Query,
}

impl Simulator {
    pub fn new(ctx: &SimContext) -> Simulator {
        let tokens = TokenStore::new(Vendor::Clumio, ctx.clock.clone(), ctx.faults.clone());
        tokens.insert(DEMO_TOKEN, "demo", None);
        tokens.insert(DEMO_TOKEN_NO_EC2, NO_EC2_SUBJECT, None);
        Simulator {
            inner: Arc::new(Inner {
                world: World::new(ctx.seed, ctx.objects, ctx.clock.now().as_second()),
                clock: ctx.clock.clone(),
                tokens,
                seen: Mutex::new(VecDeque::new()),
                recent: Mutex::new(HashMap::new()),
                throttled: Mutex::new(0),
                listings: Mutex::new(VecDeque::new()),
            }),
        }
    }

    pub fn world(&self) -> &World {
        &self.inner.world
    }

    /// A new API token, valid until the next `expire-tokens` fault.
    pub fn register_token(&self) -> String {
        self.inner.tokens.issue("demo", None)
    }

    /// Requests seen so far (the newest 20 000).
    pub fn requests(&self) -> Vec<SeenRequest> {
        let seen = self.inner.seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.iter().cloned().collect()
    }

    /// How many requests the gateway limit refused.
    pub fn throttled(&self) -> u64 {
        *self
            .inner
            .throttled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Routes relative to `/clumio`.
    pub fn router(&self) -> Router {
        let mut r = Router::new();
        for ep in Endpoint::ALL {
            r = r.route(
                ep.path(),
                get(
                    move |State(s): State<Arc<Inner>>,
                          headers: HeaderMap,
                          RawQuery(q): RawQuery| async move {
                        s.serve(ep, &headers, q.as_deref())
                    },
                ),
            );
        }
        r.route("/-/api-tokens", post(issue_token))
            .with_state(self.inner.clone())
    }

    /// This simulator alone under `/clumio`, behind the shared fault layer: for tests that
    /// need the simulator's handle.
    pub fn app(&self, ctx: &SimContext) -> Router {
        let layer = faults::FaultLayerState {
            faults: ctx.faults.clone(),
            vendor: Vendor::Clumio,
            error: error_response,
        };
        Router::new().nest(
            "/clumio",
            self.router()
                .layer(axum::middleware::from_fn_with_state(layer, faults::inject)),
        )
    }
}

async fn issue_token(State(s): State<Arc<Inner>>) -> Response {
    let token = s.tokens.issue("demo", None);
    (StatusCode::CREATED, axum::Json(json!({ "token": token }))).into_response()
}

impl Inner {
    fn serve(&self, ep: Endpoint, headers: &HeaderMap, raw: Option<&str>) -> Response {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let response = match self.admit(ep, headers, raw) {
            Ok(a) => self.list(ep, a),
            Err(r) => r.into_response(),
        };
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() >= 20_000 {
            seen.pop_front();
        }
        seen.push_back(SeenRequest {
            path: ep.path().to_owned(),
            accept: header("accept"),
            ou_context: header("x-clumio-organizationalunit-context"),
            query: Query::parse(raw).pairs,
            status: response.status().as_u16(),
        });
        response
    }

    fn admit(
        &self,
        ep: Endpoint,
        headers: &HeaderMap,
        raw: Option<&str>,
    ) -> Result<Admitted, Refusal> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            });
        let unauthorized = || Refusal::new(StatusCode::UNAUTHORIZED, "Unauthorized access");
        let token = token.ok_or_else(unauthorized)?;
        let subject = self.tokens.check(token).map_err(|_| unauthorized())?;
        self.gateway_limit(token)?;
        let version = accept::version(ep, headers.get(header::ACCEPT))?;
        if subject == NO_EC2_SUBJECT
            && matches!(
                ep,
                Endpoint::Datasources(Kind::Ec2) | Endpoint::Backups(Kind::Ec2)
            )
        {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                "Forbidden: your role does not allow reading EC2 instances",
            ));
        }
        let context = headers
            .get("x-clumio-organizationalunit-context")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .unwrap_or(data::GLOBAL);
        let scope = subtree(context);
        if scope.is_empty() {
            return Err(Refusal::new(
                StatusCode::FORBIDDEN,
                format!("Organizational unit {context} does not exist or is not accessible"),
            ));
        }
        Ok(Admitted {
            version,
            scope,
            now: self.clock.now().as_second(),
            query: Query::parse(raw),
        })
    }

    fn gateway_limit(&self, token: &str) -> Result<(), Refusal> {
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        let q = recent.entry(token.to_owned()).or_default();
        while q
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            q.pop_front();
        }
        if q.len() >= GATEWAY_LIMIT_PER_SECOND {
            *self.throttled.lock().unwrap_or_else(|e| e.into_inner()) += 1;
            return Err(Refusal::new(
                StatusCode::TOO_MANY_REQUESTS,
                "Rate limit exceeded",
            ));
        }
        q.push_back(now);
        Ok(())
    }

    fn list(&self, ep: Endpoint, a: Admitted) -> Response {
        if ep == Endpoint::Policies {
            // Pages by token, not by number.
            return self.policies(&a);
        }
        let paging = match query::paging(&a.query) {
            Ok(p) => p,
            Err(e) => return error_response(StatusCode::BAD_REQUEST, &e),
        };
        let mut params: Vec<&(String, String)> = a
            .query
            .pairs
            .iter()
            .filter(|(k, _)| k != "start" && k != "limit")
            .collect();
        params.sort();
        let key = format!(
            "{}|{:?}|{}|{}|{params:?}",
            ep.path(),
            a.scope,
            a.version,
            a.now
        );
        let listing = match self.cached(&key) {
            Some(l) => l,
            None => {
                let json = |r: Result<(Vec<Value>, Applied), String>| {
                    r.map(|(items, applied)| (Items::Json(items), applied))
                };
                let built = match ep {
                    Endpoint::Ous => json(self.ous(&a)),
                    Endpoint::Datasources(kind) => json(self.datasources(kind, &a)),
                    Endpoint::Backups(kind) => json(self.backups(kind, &a)),
                    Endpoint::Tasks => self
                        .tasks(&a)
                        .map(|(items, applied)| (Items::Tasks(items), applied)),
                    Endpoint::Audit => json(self.audit(&a)),
                    Endpoint::Alerts => json(self.alerts(&a)),
                    Endpoint::Policies => Err("policies page by token".to_owned()),
                };
                match built {
                    Ok(l) => self.remember(ep, key, Arc::new(l)),
                    Err(e) => return error_response(StatusCode::BAD_REQUEST, &e),
                }
            }
        };
        let (items, applied) = &*listing;
        let range = query::page_range(items.len(), paging);
        let page: Vec<Value> = match items {
            Items::Json(v) => v[range].to_vec(),
            Items::Tasks(v) => v[range]
                .iter()
                .map(|t| render::task(&self.world, t))
                .collect(),
        };
        json_response(
            ep,
            a.version,
            query::hal_page(ep.path(), &a.query, paging, items.len(), page, applied),
        )
    }

    fn cached(&self, key: &str) -> Option<Listing> {
        let l = self.listings.lock().unwrap_or_else(|e| e.into_inner());
        l.iter()
            .find(|(_, k, _)| k == key)
            .map(|(_, _, v)| v.clone())
    }

    fn remember(&self, ep: Endpoint, key: String, listing: Listing) -> Listing {
        let mut l = self.listings.lock().unwrap_or_else(|e| e.into_inner());
        if l.iter().filter(|(e, _, _)| *e == ep).count() >= CACHED_LISTINGS
            && let Some(oldest) = l.iter().position(|(e, _, _)| *e == ep)
        {
            l.remove(oldest);
        }
        l.push_back((ep, key, listing.clone()));
        listing
    }
}

fn json_response(ep: Endpoint, version: u32, body: Value) -> Response {
    let (resource, _) = ep.resource();
    let mut r = axum::Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "application/api.clumio.{resource}=v{version}+json"
    )) {
        r.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    r
}

pub fn build(ctx: &SimContext) -> VendorSim {
    VendorSim {
        vendor: Vendor::Clumio,
        router: Simulator::new(ctx).router(),
        error: error_response,
    }
}

/// Two targets: the whole organization, and the Finance OU through the context header with
/// the token of a role that may not read EC2 instances (a refused part: degraded, but up).
pub fn demo_targets(base: &Url, secrets_dir: &Path) -> std::io::Result<Vec<Value>> {
    let token_file = secrets_dir.join("clumio-token");
    std::fs::write(&token_file, format!("{DEMO_TOKEN}\n"))?;
    let restricted_file = secrets_dir.join("clumio-token-no-ec2");
    std::fs::write(&restricted_file, format!("{DEMO_TOKEN_NO_EC2}\n"))?;
    let url = base.as_str().trim_end_matches('/');
    Ok(vec![
        json!({
            "name": "clumio-demo",
            "vendor": "clumio",
            "url": url,
            "token_file": token_file,
        }),
        json!({
            "name": "clumio-demo-finance",
            "vendor": "clumio",
            "url": url,
            "token_file": restricted_file,
            "organizational_unit": data::FINANCE,
        }),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_refuses_the_101st_request_within_a_second_with_retry_after() {
        let sim = Simulator::new(&SimContext::new(1, 20));
        let s = &sim.inner;
        for _ in 0..GATEWAY_LIMIT_PER_SECOND {
            assert!(s.gateway_limit("a").is_ok());
        }
        let refused = s.gateway_limit("a").unwrap_err();
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.into_response().headers()["retry-after"], "1");
        assert!(s.gateway_limit("b").is_ok(), "the limit is per token");
        assert_eq!(sim.throttled(), 1);
    }

    #[tokio::test]
    async fn errors_use_clumio_shape_and_401_says_402() {
        let body = |r: Response| async move {
            let b = axum::body::to_bytes(r.into_body(), 10_000).await.unwrap();
            serde_json::from_slice::<Value>(&b).unwrap()
        };
        let r = error_response(StatusCode::UNAUTHORIZED, "Unauthorized access");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            body(r).await,
            json!({"errors": [{"error_code": 402, "error_message": "Unauthorized access"}]})
        );
        let r = error_response(StatusCode::SERVICE_UNAVAILABLE, "down");
        assert_eq!(body(r).await["errors"][0]["error_code"], 503);
    }
}
