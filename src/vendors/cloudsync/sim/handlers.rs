//! Request handlers: the Auth0 token endpoint, the Cloud Sync API, the audit service.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::data::{PASSWORD_CLIENT_IDS, REFRESH_CLIENT_ID};
use super::{GrantSeen, Refusal, Sim, audit_error, error_body, ok, push_bounded, render};

/// The audience the token endpoint issues Cloud Sync tokens for.
const AUDIENCE: &str = "https://api.cloud.netapp.com";

/// Auth0's error body.
fn auth0_error(status: StatusCode, error: &str, description: &str) -> Refusal {
    Refusal(
        status,
        json!({ "error": error, "error_description": description }),
    )
}

type S = State<Arc<Sim>>;

/// Auth0 takes JSON or a form.
fn token_fields(headers: &HeaderMap, body: &[u8]) -> HashMap<String, String> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.contains("json"));
    if json {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        v.as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    } else {
        url::form_urlencoded::parse(body).into_owned().collect()
    }
}

pub(super) async fn token(State(sim): S, headers: HeaderMap, body: Bytes) -> Response {
    let f = token_fields(&headers, &body);
    let field = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let (grant_type, client_id) = (field("grant_type"), field("client_id"));
    let known_client = PASSWORD_CLIENT_IDS.contains(&client_id) || client_id == REFRESH_CLIENT_ID;
    let world = &sim.world;
    let outcome: Result<usize, Refusal> = if !known_client {
        Err(auth0_error(
            StatusCode::UNAUTHORIZED,
            "access_denied",
            "Unauthorized",
        ))
    } else {
        match grant_type {
            "password" if field("audience") != AUDIENCE => Err(auth0_error(
                StatusCode::FORBIDDEN,
                "access_denied",
                &format!("Service not found: {}", field("audience")),
            )),
            "password" => world
                .users
                .iter()
                .position(|u| u.email == field("username") && u.password == field("password"))
                .ok_or_else(|| {
                    auth0_error(
                        StatusCode::FORBIDDEN,
                        "invalid_grant",
                        "Wrong email or password.",
                    )
                }),
            "refresh_token" => world
                .users
                .iter()
                .position(|u| u.refresh_token == field("refresh_token"))
                // Refresh tokens are bound to the client that issued them.
                .filter(|_| client_id == REFRESH_CLIENT_ID)
                .ok_or_else(|| {
                    auth0_error(
                        StatusCode::FORBIDDEN,
                        "invalid_grant",
                        "Unknown or invalid refresh token.",
                    )
                }),
            other => Err(auth0_error(
                StatusCode::FORBIDDEN,
                "unsupported_grant_type",
                &format!("Grant type '{other}' not allowed for the client."),
            )),
        }
    };
    push_bounded(
        &sim.grants,
        GrantSeen {
            grant_type: grant_type.to_owned(),
            client_id: client_id.to_owned(),
            granted: outcome.is_ok(),
        },
    );
    match outcome {
        Err(refusal) => refusal.into_response(),
        Ok(user) => {
            let ttl = sim.options.token_ttl;
            let access = sim.tokens.issue(&world.users[user].email, Some(ttl));
            ok(json!({
                "access_token": access,
                "id_token": format!("eyJhbGciOiJSUzI1NiJ9.{}.sig", crate::sim::tokens::random_token(32)),
                "scope": "openid profile",
                "expires_in": ttl.as_secs(),
                "token_type": "Bearer",
            }))
        }
    }
}

pub(super) async fn accounts(
    State(sim): S,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let user = match sim.authorize(&headers, &method, &uri, false) {
        Ok(u) => u,
        Err(r) => return r.into_response(),
    };
    let list: Vec<Value> = sim.world.users[user]
        .accounts
        .iter()
        .map(|a| json!({"accountId": sim.world.accounts[*a].id, "name": sim.world.accounts[*a].name}))
        .collect();
    ok(Value::Array(list))
}

pub(super) async fn account_info(
    State(sim): S,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let account = match sim.api(&headers, &method, &uri) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let a = &sim.world.accounts[account];
    ok(json!({
        "accountId": a.id, "name": a.name, "noCharge": false, "daysLeftForTrial": -1,
        "subscriptionType": "PAYGO", "subscriptionStatus": "subscribe-success", "subscriptionProvider": "aws",
    }))
}

pub(super) async fn relationships_stats(
    State(sim): S,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    match sim.api(&headers, &method, &uri) {
        Ok(a) => ok(render::stats(&sim.world.stats(a, sim.clock.now()))),
        Err(r) => r.into_response(),
    }
}

pub(super) async fn relationships(
    State(sim): S,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let account = match sim.api(&headers, &method, &uri) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let now = sim.clock.now();
    let list: Vec<Value> = sim
        .world
        .relationships_of(account)
        .map(|(r, _)| render::relationship(&sim.world, r, now))
        .collect();
    ok(Value::Array(list))
}

pub(super) async fn relationship(
    State(sim): S,
    UrlPath(id): UrlPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let account = match sim.api(&headers, &method, &uri) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    match sim
        .world
        .relationships_of(account)
        .find(|(_, r)| r.id == id)
    {
        Some((r, _)) => ok(render::relationship(&sim.world, r, sim.clock.now())),
        None => error_body(
            StatusCode::NOT_FOUND,
            &format!("Relationship {id} not found"),
        ),
    }
}

pub(super) async fn data_brokers(
    State(sim): S,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let account = match sim.api(&headers, &method, &uri) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let now = sim.clock.now();
    let w = &sim.world;
    let list: Vec<Value> = (0..w.brokers.len())
        .filter(|b| w.groups[w.brokers[*b].group].account == account)
        .map(|b| render::broker(w, b, now))
        .collect();
    ok(Value::Array(list))
}

pub(super) async fn groups(
    State(sim): S,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let account = match sim.api(&headers, &method, &uri) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let now = sim.clock.now();
    let w = &sim.world;
    let list: Vec<Value> = (0..w.groups.len())
        .filter(|g| w.groups[*g].account == account)
        .map(|g| render::group(w, g, now))
        .collect();
    ok(Value::Array(list))
}

/// The audit service's account check: the account is in the path.
fn audit_account(sim: &Sim, user: usize, account_id: &str) -> Result<usize, Refusal> {
    sim.member(user, account_id)
        .ok_or_else(|| audit_error(StatusCode::FORBIDDEN, json!("Forbidden resource")))
}

pub(super) async fn audit(
    State(sim): S,
    UrlPath(account_id): UrlPath<String>,
    Query(q): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let user = match sim.authorize(&headers, &method, &uri, true) {
        Ok(u) => u,
        Err(r) => return r.into_response(),
    };
    let account = match audit_account(&sim, user, &account_id) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let mut bad = Vec::new();
    let mut number = |key: &str| -> Option<f64> {
        let v = q.get(key)?;
        match v.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => Some(n),
            _ => {
                bad.push(json!(format!("{key} must be a number")));
                None
            }
        }
    };
    let now = sim.clock.now();
    // Without a start the simulator serves 90 days (it keeps no older audit data).
    let from = number("fromStartTime")
        .and_then(|ms| Timestamp::from_millisecond(ms as i64).ok())
        .unwrap_or(now - SignedDuration::from_hours(90 * 24));
    let to = number("toStartTime")
        .and_then(|ms| Timestamp::from_millisecond(ms as i64).ok())
        .unwrap_or(now);
    let offset = number("offset").unwrap_or(0.0) as usize;
    if !bad.is_empty() {
        return audit_error(StatusCode::BAD_REQUEST, Value::Array(bad)).into_response();
    }
    let matches = |key: &str, value: &str| {
        q.get(key).is_none_or(|want| {
            value
                .to_ascii_lowercase()
                .contains(&want.to_ascii_lowercase())
        })
    };
    let page: Vec<Value> = sim
        .world
        .audit(account, from, to, now)
        .iter()
        .filter(|e| {
            matches("qService", e.service)
                && matches("qStatus", e.status)
                && matches("qAction", e.action)
                && matches("qUser", &e.principal)
                && matches("qResource", e.resource_name.as_deref().unwrap_or(""))
        })
        .skip(offset)
        .take(sim.options.audit_page_size)
        .map(|e| render::audit(&sim.world, e))
        .collect();
    ok(Value::Array(page))
}

pub(super) async fn audit_options(
    State(sim): S,
    UrlPath(account_id): UrlPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let user = match sim.authorize(&headers, &method, &uri, true) {
        Ok(u) => u,
        Err(r) => return r.into_response(),
    };
    match audit_account(&sim, user, &account_id) {
        Ok(_) => ok(json!({})),
        Err(r) => r.into_response(),
    }
}

pub(super) async fn audit_records(
    State(sim): S,
    UrlPath((account_id, service, request_id)): UrlPath<(String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let user = match sim.authorize(&headers, &method, &uri, true) {
        Ok(u) => u,
        Err(r) => return r.into_response(),
    };
    let account = match audit_account(&sim, user, &account_id) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let now = sim.clock.now();
    let found = sim
        .world
        .audit(account, now - SignedDuration::from_hours(90 * 24), now, now)
        .into_iter()
        .find(|e| e.service == service && e.request_id == request_id);
    match found {
        Some(e) => ok(render::audit_records(&e)),
        None => audit_error(StatusCode::NOT_FOUND, json!("Audit group not found")).into_response(),
    }
}
