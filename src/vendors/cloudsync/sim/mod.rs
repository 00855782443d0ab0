//! Cloud Sync simulator: the Auth0 token endpoint (`/auth/oauth/token`), the Cloud Sync API
//! (`/api/...`) and the BlueXP audit service (`/audit/...`), all under `/cloudsync`.
//!
//! What it holds to: Auth0 password and refresh-token grants with Auth0's error bodies;
//! `401 {"code":401,"message":"TokenExpiredError: jwt expired"}` for an expired token;
//! `x-account-id` required on every API call but `GET /api/accounts`, and checked against
//! the accounts the user belongs to; no paging on Cloud Sync lists; `offset` paging on the
//! audit service, newest first; epoch milliseconds for `createdAt`/`lastPing` and ISO
//! strings for activity times. It does not model the asynchronous list APIs
//! (`202` + `/api/messages/client`), which monitoring does not use.

pub mod data;
mod handlers;
mod render;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use url::Url;

use self::data::{PASSWORD_CLIENT_IDS, REFRESH_CLIENT_ID, World};
use crate::clock::Clock;
use crate::model::Vendor;
use crate::sim::tokens::{TokenProblem, TokenStore};
use crate::sim::{SimContext, VendorSim};

/// Knobs tests turn; the defaults are the service's.
#[derive(Clone, Debug)]
pub struct SimOptions {
    /// `expires_in` of issued tokens (the docs' examples say 86400).
    pub token_ttl: Duration,
    /// Audit groups per page (the real page size is not documented).
    pub audit_page_size: usize,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            token_ttl: Duration::from_secs(86_400),
            audit_page_size: 50,
        }
    }
}

/// How a request presented itself, for tests that check what the client sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthSeen {
    Ok(String),
    Missing,
    Expired,
    Invalid,
}

#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub account_header: Option<String>,
    pub auth: AuthSeen,
}

#[derive(Clone, Debug)]
pub struct GrantSeen {
    pub grant_type: String,
    pub client_id: String,
    pub granted: bool,
}

pub struct Sim {
    world: World,
    clock: Clock,
    tokens: TokenStore,
    options: SimOptions,
    requests: Mutex<Vec<Seen>>,
    grants: Mutex<Vec<GrantSeen>>,
}

const LOG_LIMIT: usize = 20_000;

fn push_bounded<T>(log: &Mutex<Vec<T>>, item: T) {
    let mut l = log.lock().unwrap_or_else(|e| e.into_inner());
    if l.len() >= LOG_LIMIT {
        l.drain(..LOG_LIMIT / 2);
    }
    l.push(item);
}

/// Cloud Sync's error body.
pub fn error_body(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(json!({ "code": status.as_u16(), "message": message })),
    )
        .into_response()
}

/// A refused request: the status and a body in the refusing service's shape.
struct Refusal(StatusCode, Value);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, axum::Json(self.1)).into_response()
    }
}

/// Cloud Sync's error body, for handlers.
fn refuse(status: StatusCode, message: &str) -> Refusal {
    Refusal(
        status,
        json!({ "code": status.as_u16(), "message": message }),
    )
}

/// The audit service's (NestJS) error body.
fn audit_error(status: StatusCode, message: Value) -> Refusal {
    let reason = status.canonical_reason().unwrap_or("");
    Refusal(
        status,
        json!({ "statusCode": status.as_u16(), "message": message, "error": reason }),
    )
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

impl Sim {
    pub fn new(ctx: &SimContext, options: SimOptions) -> Arc<Sim> {
        Arc::new(Sim {
            world: World::new(ctx.seed, ctx.objects, ctx.clock.now()),
            clock: ctx.clock.clone(),
            tokens: TokenStore::new(Vendor::Cloudsync, ctx.clock.clone(), ctx.faults.clone()),
            options,
            requests: Mutex::new(Vec::new()),
            grants: Mutex::new(Vec::new()),
        })
    }

    pub fn world(&self) -> &World {
        &self.world
    }

    /// Every authenticated-API request seen (the token endpoint is in [`Sim::grants`]).
    pub fn requests(&self) -> Vec<Seen> {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn grants(&self) -> Vec<GrantSeen> {
        self.grants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn clear_log(&self) {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
        self.grants
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/auth/oauth/token", post(handlers::token))
            .route("/api/accounts", get(handlers::accounts))
            .route("/api/accounts/info", get(handlers::account_info))
            .route(
                "/api/accounts/relationships-stats",
                get(handlers::relationships_stats),
            )
            .route("/api/relationships-v2", get(handlers::relationships))
            .route("/api/relationships-v2/{id}", get(handlers::relationship))
            .route("/api/data-brokers", get(handlers::data_brokers))
            .route("/api/groups", get(handlers::groups))
            .route("/audit/{account_id}", get(handlers::audit))
            .route("/audit/{account_id}/options", get(handlers::audit_options))
            .route(
                "/audit/{account_id}/{service}/{request_id}/records",
                get(handlers::audit_records),
            )
            .fallback(|| async { error_body(StatusCode::NOT_FOUND, "Not Found") })
            .with_state(self.clone())
    }

    /// The user behind the request's bearer token; logs the request.
    fn authorize(
        &self,
        headers: &HeaderMap,
        method: &Method,
        uri: &Uri,
        audit_service: bool,
    ) -> Result<usize, Refusal> {
        let header_str = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let token = header_str(header::AUTHORIZATION.as_str())
            .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim())
            .filter(|t| !t.is_empty());
        let auth = match token.map(|t| self.tokens.check(t)) {
            None => AuthSeen::Missing,
            Some(Ok(subject)) => AuthSeen::Ok(subject),
            Some(Err(TokenProblem::Expired)) => AuthSeen::Expired,
            Some(Err(TokenProblem::Unknown)) => AuthSeen::Invalid,
        };
        push_bounded(
            &self.requests,
            Seen {
                method: method.to_string(),
                path: uri.path().to_owned(),
                account_header: header_str("x-account-id").map(str::to_owned),
                auth: auth.clone(),
            },
        );
        let unauthorized = |message: &str| {
            if audit_service {
                audit_error(StatusCode::UNAUTHORIZED, json!("Unauthorized"))
            } else {
                refuse(StatusCode::UNAUTHORIZED, message)
            }
        };
        match auth {
            AuthSeen::Ok(email) => self
                .world
                .users
                .iter()
                .position(|u| u.email == email)
                .ok_or_else(|| unauthorized("UnauthorizedError: user not found")),
            AuthSeen::Missing => Err(unauthorized(
                "UnauthorizedError: No authorization token was found",
            )),
            AuthSeen::Expired => Err(unauthorized("TokenExpiredError: jwt expired")),
            AuthSeen::Invalid => Err(unauthorized("JsonWebTokenError: invalid signature")),
        }
    }

    /// The account named by `x-account-id`, if the user belongs to it.
    fn account(&self, user: usize, headers: &HeaderMap) -> Result<usize, Refusal> {
        let Some(id) = headers.get("x-account-id").and_then(|v| v.to_str().ok()) else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "Missing x-account-id header",
            ));
        };
        self.member(user, id).ok_or_else(|| {
            refuse(
                StatusCode::FORBIDDEN,
                &format!("User is not a member of account {id}"),
            )
        })
    }

    fn member(&self, user: usize, account_id: &str) -> Option<usize> {
        self.world
            .account_index(account_id)
            .filter(|a| self.world.users[user].accounts.contains(a))
    }

    fn api(&self, headers: &HeaderMap, method: &Method, uri: &Uri) -> Result<usize, Refusal> {
        let user = self.authorize(headers, method, uri, false)?;
        self.account(user, headers)
    }
}

pub fn build(ctx: &SimContext) -> VendorSim {
    VendorSim {
        vendor: Vendor::Cloudsync,
        router: Sim::new(ctx, SimOptions::default()).router(),
        error: error_body,
    }
}

/// Two demo targets: the monitor user with a password over every account, with audit;
/// and Globex's own user with a refresh token, scoped to its account, without audit.
pub fn demo_targets(base: &Url, secrets_dir: &Path) -> std::io::Result<Vec<Value>> {
    let write = |name: &str, secret: &str| -> std::io::Result<String> {
        let path = secrets_dir.join(name);
        std::fs::write(&path, format!("{secret}\n"))?;
        Ok(path.display().to_string())
    };
    let password_file = write("cloudsync-password", data::MONITOR_PASSWORD)?;
    let refresh_file = write("cloudsync-globex-refresh-token", data::GLOBEX_REFRESH_TOKEN)?;
    let auth_url = base
        .join("auth/oauth/token")
        .map_err(std::io::Error::other)?;
    let base_str = base.as_str().trim_end_matches('/');
    Ok(vec![
        json!({
            "name": "cloudsync-demo",
            "vendor": "cloudsync",
            "url": base_str,
            "auth_url": auth_url.as_str(),
            "client_id": PASSWORD_CLIENT_IDS[0],
            "username": data::MONITOR_USER,
            "password_file": password_file,
            "audit_url": base_str,
        }),
        json!({
            "name": "cloudsync-demo-globex",
            "vendor": "cloudsync",
            "url": base_str,
            "auth_url": auth_url.as_str(),
            "client_id": REFRESH_CLIENT_ID,
            "refresh_token_file": refresh_file,
            "account_id": "account-Qb3kT9wZ",
        }),
    ])
}
