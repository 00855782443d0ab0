//! Both auth layers of the simulator: Google's token endpoint (the JWT bearer grant, verified
//! against the demo key's public half) and the console's sessions.
//!
//! An unknown or expired bearer gets Google's HTML 401 page, as the front end answers before
//! the console sees the call; a missing, unknown or expired session gets the console's JSON
//! `{"err_code" : 10011, ...}` 401 with `WWW-Authenticate: Actifio`.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Sim, error_body, json_response};
use crate::sim::tokens::{TokenProblem, random_token};
use crate::vendors::backupdr::client::SESSION_HEADER;
use crate::vendors::backupdr::google::{JWT_BEARER_GRANT, verify_rs256};

pub const ERR_NOT_AUTHENTICATED: i64 = 10011;
pub const ERR_SESSION_NOT_FOUND: i64 = 10040;

/// Google front end's page for a refused bearer (not JSON).
pub fn google_401() -> Response {
    let body = "<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error 401 (Unauthorized)!!1</title>\n  <p><b>401.</b> <ins>That\u{2019}s an error.</ins>\n  <p>There was an error in your request. <ins>That\u{2019}s all we know.</ins>\n";
    (
        StatusCode::UNAUTHORIZED,
        [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
        body,
    )
        .into_response()
}

fn google_411() -> Response {
    let body = "<!DOCTYPE html>\n<html lang=en>\n  <title>Error 411 (Length Required)!!1</title>\n  <p><b>411.</b> <ins>That\u{2019}s an error.</ins>\n  <p>POST requests require a <code>Content-length</code> header.\n";
    (
        StatusCode::LENGTH_REQUIRED,
        [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
        body,
    )
        .into_response()
}

fn not_authenticated(message: &str) -> Response {
    let mut r = error_body(StatusCode::UNAUTHORIZED, ERR_NOT_AUTHENTICATED, message);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        header::HeaderValue::from_static("Actifio"),
    );
    r
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

/// The answer to a call that failed authentication (boxed: responses are large).
pub type Refused = Box<Response>;

/// A live session.
pub struct Session {
    pub id: String,
}

impl Sim {
    /// The Google identity behind the bearer, or the front end's HTML 401.
    pub fn bearer(&self, headers: &HeaderMap) -> Result<String, Refused> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .ok_or_else(|| Box::new(google_401()))?;
        self.google_tokens
            .check(token)
            .map_err(|_| Box::new(google_401()))
    }

    /// Both headers checked, the session's idle time restarted unless the caller asks not
    /// to (`Actifio-No-Session-Refresh: true`).
    pub fn session(&self, headers: &HeaderMap) -> Result<Session, Refused> {
        let subject = self.bearer(headers)?;
        let id = headers
            .get(SESSION_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, rest) = v.split_once(' ')?;
                scheme.eq_ignore_ascii_case("actifio").then(|| rest.trim().to_owned())
            })
            .ok_or_else(|| {
                Box::new(not_authenticated(
                    "Not authenticated: the backupdr-management-session header with the Actifio scheme is missing",
                ))
            })?;
        match self.sessions.check(&id) {
            Ok(owner) if owner == subject => {}
            Ok(_) => {
                return Err(Box::new(not_authenticated(
                    "the session belongs to another user",
                )));
            }
            Err(TokenProblem::Expired) => {
                return Err(Box::new(not_authenticated(
                    "session id has expired; log in again",
                )));
            }
            Err(TokenProblem::Unknown) => {
                return Err(Box::new(not_authenticated(
                    "session id is invalid; log in again",
                )));
            }
        }
        let keep = headers
            .get("actifio-no-session-refresh")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        if !keep {
            self.sessions
                .insert(&id, &subject, Some(self.opts.session_idle));
        }
        Ok(Session { id })
    }

    fn session_json(&self, id: &str, subject: &str) -> serde_json::Value {
        json!({
            "@type": "sessionRest",
            "id": id,
            "href": format!("{}/session/{id}", super::journal::CONSOLE_URL),
            "session_id": id,
            "region": "europe-west1",
            "timezone": "UTC",
            "username": subject,
            "user": {
                "@type": "userRest",
                "id": "6131",
                "name": subject,
                "dataaccesslevel": 1,
                "localonly": true,
                "createdate": self.world.anchor.as_microsecond() - 90 * 86_400_000_000,
            },
            "rights": [
                { "id": "Access Application Manager", "name": "Access Application Manager" },
                { "id": "Access Backup Plans", "name": "Access Backup Plans" },
                { "id": "Access System Monitor", "name": "Access System Monitor" },
            ],
            "authconfig": { "method": "DATABASE", "available_method": ["DATABASE"] },
        })
    }
}

/// `POST /token`: Google's JWT bearer grant.
pub async fn token(
    State(sim): State<Sim>,
    axum::extract::OriginalUri(reached): axum::extract::OriginalUri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    if form.get("grant_type").map(String::as_str) != Some(JWT_BEARER_GRANT) {
        return oauth_error(
            "unsupported_grant_type",
            &format!(
                "Invalid grant_type: {}",
                form.get("grant_type").map(String::as_str).unwrap_or("")
            ),
        );
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error("invalid_request", "Missing required parameter: assertion");
    };
    let claims = match verify_rs256(assertion, &sim.public_key) {
        Ok((_, claims)) => claims,
        Err(e) => return oauth_error("invalid_grant", &e),
    };
    let iss = claims["iss"].as_str().unwrap_or("");
    if iss != super::DEMO_CLIENT_EMAIL {
        return oauth_error("invalid_grant", "Invalid grant: account not found");
    }
    // The audience must be this endpoint, as the client reached it.
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let aud_ok = url::Url::parse(claims["aud"].as_str().unwrap_or(""))
        .ok()
        .is_some_and(|u| {
            let authority = match u.port() {
                Some(p) => format!("{}:{p}", u.host_str().unwrap_or("")),
                None => u.host_str().unwrap_or("").to_owned(),
            };
            u.path() == reached.path() && authority == host
        });
    if !aud_ok {
        return oauth_error(
            "invalid_grant",
            "Invalid JWT: the audience is not this token endpoint.",
        );
    }
    let now = sim.clock.now().as_second();
    let (iat, exp) = (claims["iat"].as_i64(), claims["exp"].as_i64());
    let timely = match (iat, exp) {
        (Some(iat), Some(exp)) => exp > now && iat <= now + 60 && exp - iat <= 3600 && exp > iat,
        _ => false,
    };
    if !timely {
        return oauth_error(
            "invalid_grant",
            "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.",
        );
    }
    if claims["scope"].as_str().unwrap_or("").trim().is_empty() {
        return oauth_error(
            "invalid_scope",
            "Invalid oauth scope or ID token audience provided.",
        );
    }
    let token = format!("ya29.c.{}", random_token(80));
    sim.google_tokens
        .insert(&token, iss, Some(sim.opts.token_ttl));
    sim.grants
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    axum::Json(json!({
        "access_token": token,
        "expires_in": sim.opts.token_ttl.as_secs().saturating_sub(1),
        "token_type": "Bearer",
    }))
    .into_response()
}

/// `POST /actifio/session`: a session for the bearer's identity.
pub async fn login(State(sim): State<Sim>, headers: HeaderMap) -> Response {
    let subject = match sim.bearer(&headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    // Exactly one length: none is refused by Google's front end, two is a malformed request.
    if sim.opts.require_content_length
        && headers.get_all(header::CONTENT_LENGTH).iter().count() != 1
    {
        return google_411();
    }
    let id = uuid_like();
    sim.sessions
        .insert(&id, &subject, Some(sim.opts.session_idle));
    sim.logins
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    json_response(StatusCode::OK, &sim.session_json(&id, &subject))
}

/// `GET|DELETE /actifio/session/current`.
pub async fn current(State(sim): State<Sim>, method: Method, headers: HeaderMap) -> Response {
    let session = match sim.session(&headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    if method == Method::DELETE {
        sim.end_session(&session.id);
        return StatusCode::NO_CONTENT.into_response();
    }
    let subject = sim.bearer(&headers).unwrap_or_default();
    json_response(StatusCode::OK, &sim.session_json(&session.id, &subject))
}

/// `GET /actifio/session/{id}` (the bearer suffices: it answers for ended sessions too) and
/// `DELETE /actifio/session/{id}`.
pub async fn by_id(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    if method == Method::DELETE
        && let Err(r) = sim.session(&headers)
    {
        return *r;
    }
    let subject = match sim.bearer(&headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let known = matches!(sim.sessions.check(&id), Ok(ref owner) if *owner == subject);
    if !known {
        return error_body(
            StatusCode::NOT_FOUND,
            ERR_SESSION_NOT_FOUND,
            "session id is not found",
        );
    }
    if method == Method::DELETE {
        sim.end_session(&id);
        return StatusCode::NO_CONTENT.into_response();
    }
    json_response(StatusCode::OK, &sim.session_json(&id, &subject))
}

fn uuid_like() -> String {
    let hex: String = random_token(64)
        .bytes()
        .map(|b| char::from_digit(u32::from(b) % 16, 16).unwrap_or('0'))
        .take(32)
        .collect();
    format!(
        "{}-{}-4{}-a{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}
