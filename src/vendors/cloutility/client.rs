//! Talking to the Cloutility API: the OAuth login and the endpoints the exporter reads.
//!
//! Access tokens live 299 s. The client layer renews a little before expiry (and once on a
//! 401), and [`OAuth`] answers with a refresh grant: the refresh token "will always be the
//! same", so it is remembered across logins and the password is sent only when a refresh is
//! refused (for example when the API key does not allow refreshing).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use reqwest::StatusCode;
use reqwest::header::AUTHORIZATION;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;

use super::wire;
use crate::api::{ApiClient, ApiError, Authenticator, Credential, Request};
use crate::secret::SecretSource;

const OAUTH: &str = "/v1/oauth";

/// What the portal documents; used when a token response leaves `expires_in` out.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(299);

/// The OAuth password grant, and the refresh grant once a refresh token is known.
pub(super) struct OAuth {
    pub client_id: String,
    pub username: String,
    pub password: SecretSource,
    refresh_token: Mutex<Option<SecretString>>,
}

impl OAuth {
    pub fn new(client_id: String, username: String, password: SecretSource) -> Self {
        OAuth {
            client_id,
            username,
            password,
            refresh_token: Mutex::new(None),
        }
    }

    fn remembered(&self) -> Option<SecretString> {
        self.refresh_token
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn remember(&self, token: Option<SecretString>) {
        *self.refresh_token.lock().unwrap_or_else(|e| e.into_inner()) = token;
    }

    async fn grant(
        &self,
        client: &ApiClient,
        fields: Vec<(String, String)>,
        used_refresh_token: Option<&SecretString>,
    ) -> Result<Credential, ApiError> {
        let resp = client
            .send(Request::post(OAUTH).without_auth().form(fields))
            .await?;
        let token: wire::AccessToken = resp.json()?;
        let access = token
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Decode {
                endpoint: resp.endpoint.clone(),
                detail: "the token response has no access_token".to_owned(),
            })?;
        let lifetime = token
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TOKEN_LIFETIME);
        // A refresh answer may leave the (unchanging) refresh token out: keep the one used.
        let refresh = token
            .refresh_token
            .filter(|t| !t.is_empty())
            .map(SecretString::from)
            .or_else(|| used_refresh_token.cloned());
        if let Some(r) = &refresh {
            client.redactor().add(r.expose_secret());
        }
        self.remember(refresh.clone());
        let mut credential = Credential::new(vec![(AUTHORIZATION, format!("Bearer {access}"))])?
            .expires_in(lifetime);
        credential.refresh_token = refresh;
        Ok(credential)
    }
}

/// A 400 (`invalid_grant`) or 401 means the portal said no, rather than failed to answer.
fn is_refusal(e: &ApiError) -> bool {
    matches!(
        e.status(),
        Some(StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED)
    )
}

#[async_trait]
impl Authenticator for OAuth {
    async fn login(
        &self,
        client: &ApiClient,
        previous: Option<&Credential>,
    ) -> Result<Credential, ApiError> {
        let refresh = previous
            .and_then(|c| c.refresh_token.clone())
            .or_else(|| self.remembered());
        if let Some(refresh) = refresh {
            let fields = vec![
                ("client_id".to_owned(), self.client_id.clone()),
                ("grant_type".to_owned(), "refresh_token".to_owned()),
                (
                    "refresh_token".to_owned(),
                    refresh.expose_secret().to_owned(),
                ),
            ];
            match self.grant(client, fields, Some(&refresh)).await {
                Ok(c) => return Ok(c),
                Err(e) if is_refusal(&e) => {
                    tracing::debug!(target_name = %client.settings().target, error = %e,
                        "refresh grant refused; logging in with the password");
                    self.remember(None);
                }
                Err(e) => return Err(e),
            }
        }
        let password = self
            .password
            .read()
            .map_err(|e| ApiError::Config(format!("password: {e}")))?;
        client.redactor().add(password.expose_secret());
        let fields = vec![
            ("client_id".to_owned(), self.client_id.clone()),
            ("grant_type".to_owned(), "password".to_owned()),
            ("username".to_owned(), self.username.clone()),
            ("password".to_owned(), password.expose_secret().to_owned()),
        ];
        self.grant(client, fields, None)
            .await
            .map_err(|e| client.login_refused(e))
    }
}

/// Cloutility's error bodies: `{code, message, developerMessage, status}` from the API and
/// `{error, error_description}` from the OAuth endpoint.
pub(super) fn error_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = |k: &str| {
        v.get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    if let Some(err) = text("error") {
        return Some(match text("error_description") {
            Some(d) => format!("{err}: {d}"),
            None => err.to_owned(),
        });
    }
    match (text("message"), text("developerMessage")) {
        (Some(m), Some(d)) if m != d => Some(format!("{m} ({d})")),
        (Some(m), _) => Some(m.to_owned()),
        (None, Some(d)) => Some(d.to_owned()),
        (None, None) => text("code").map(str::to_owned),
    }
}

/// RFC 3339 in UTC, as the portal's time parameters expect.
fn iso(t: Timestamp) -> String {
    t.to_string()
}

/// Items per page asked for; the portal may cap it lower, which the paging copes with.
const PAGE: usize = 500;

/// A list that never ends (a portal that ignores `offset` and gives no `total`) stops here.
const MAX_ITEMS: usize = 1_000_000;

/// The Cloutility endpoints the exporter reads, over one target's [`ApiClient`].
#[derive(Clone, Debug)]
pub(super) struct Portal {
    pub client: Arc<ApiClient>,
}

fn consumer_path(bunit: u64, consumer: u64) -> String {
    format!("/v1/bunits/{bunit}/consumers/{consumer}")
}

/// `Ok(None)` for a 404: the thing does not exist (yet), which is an answer.
fn absent_on_404<T>(r: Result<T, ApiError>) -> Result<Option<T>, ApiError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

impl Portal {
    /// Every item of a collection, asking for the next page (`offset` = items read so far)
    /// while the portal says there are more.
    pub async fn all<T: DeserializeOwned>(&self, req: Request) -> Result<Vec<T>, ApiError> {
        let mut items: Vec<T> = Vec::new();
        loop {
            let page: wire::Collection<T> = self
                .client
                .get_json(
                    req.clone()
                        .query("offset", items.len())
                        .query("limit", PAGE),
                )
                .await?;
            let got = page.items.len();
            items.extend(page.items);
            let more = match page.total {
                Some(total) => (items.len() as u64) < total,
                None => got >= PAGE,
            };
            if got == 0 || !more {
                return Ok(items);
            }
            if items.len() >= MAX_ITEMS {
                let endpoint = format!("GET {}", req.path);
                return Err(ApiError::Decode {
                    endpoint,
                    detail: format!(
                        "more than {MAX_ITEMS} items without an end; is `offset` ignored?"
                    ),
                });
            }
        }
    }

    /// `GET /v1/fullVersion`: a bare JSON string such as `"1.0.4480.0"`.
    pub async fn full_version(&self) -> Result<String, ApiError> {
        let v: serde_json::Value = self
            .client
            .get_json(Request::get("/v1/fullVersion"))
            .await?;
        Ok(match v {
            serde_json::Value::String(s) => s,
            other => other
                .get("version")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| other.to_string()),
        })
    }

    pub async fn me(&self) -> Result<wire::User, ApiError> {
        self.client.get_json(Request::get("/v1/me")).await
    }

    /// The caller's business unit with its whole subtree; `None` where the portal does not
    /// offer the tree endpoint.
    pub async fn tree(&self) -> Result<Option<wire::SimpleBusinessUnit>, ApiError> {
        absent_on_404(self.client.get_json(Request::get("/v1/bunits")).await)
    }

    pub async fn child_bunits(&self, bunit: u64) -> Result<Vec<wire::BusinessUnitRef>, ApiError> {
        self.all(Request::get(format!("/v1/bunits/{bunit}/bunits")))
            .await
    }

    pub async fn consumers(&self, bunit: u64) -> Result<Vec<wire::Consumer>, ApiError> {
        self.all(Request::get(format!("/v1/bunits/{bunit}/consumers")))
            .await
    }

    /// How many consumers a business unit has, from one small page.
    pub async fn consumer_count(&self, bunit: u64) -> Result<u64, ApiError> {
        let page: wire::Collection<serde_json::Value> = self
            .client
            .get_json(
                Request::get(format!("/v1/bunits/{bunit}/consumers"))
                    .query("offset", 0)
                    .query("limit", 1),
            )
            .await?;
        Ok(page.total.unwrap_or(page.items.len() as u64))
    }

    pub async fn node(&self, bunit: u64, consumer: u64) -> Result<Option<wire::Node>, ApiError> {
        absent_on_404(
            self.client
                .get_json(Request::get(format!(
                    "{}/node",
                    consumer_path(bunit, consumer)
                )))
                .await,
        )
    }

    pub async fn filespaces(
        &self,
        bunit: u64,
        consumer: u64,
    ) -> Result<Vec<wire::Filespace>, ApiError> {
        let req = Request::get(format!(
            "{}/node/filespaces",
            consumer_path(bunit, consumer)
        ))
        .query("tsmSync", "false");
        self.all(req).await
    }

    pub async fn latest_report(
        &self,
        bunit: u64,
        consumer: u64,
    ) -> Result<Option<wire::NodeReport>, ApiError> {
        let req = Request::get(format!("{}/reports/latest", consumer_path(bunit, consumer)))
            .query("status", "true")
            .query("warnings", "true");
        absent_on_404(self.client.get_json(req).await)
    }

    /// Warning type names by id.
    pub async fn warning_types(&self) -> Result<HashMap<i64, String>, ApiError> {
        let types: Vec<wire::NodeWarningType> =
            self.all(Request::get("/v1/nodewarningtypes")).await?;
        Ok(types
            .into_iter()
            .filter_map(|t| Some((t.id?, t.name?)))
            .collect())
    }

    /// `completed` of the consumer's first job (every other field of that answer is bogus
    /// by design); `None` when the consumer has no finished job yet.
    pub async fn first_job(
        &self,
        bunit: u64,
        consumer: u64,
    ) -> Result<Option<Timestamp>, ApiError> {
        let job: Option<wire::Job> = absent_on_404(
            self.client
                .get_json(Request::get(format!(
                    "{}/jobs/first",
                    consumer_path(bunit, consumer)
                )))
                .await,
        )?;
        Ok(job.and_then(|j| j.completed))
    }

    /// Jobs between `from` (which must not be before the first job's `completed`) and `to`.
    pub async fn jobs(
        &self,
        bunit: u64,
        consumer: u64,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<wire::Job>, ApiError> {
        let req = Request::get(format!("{}/jobs", consumer_path(bunit, consumer)))
            .query("startTime", iso(from))
            .query("endTime", iso(to));
        self.all(req).await
    }

    /// Audit log entries of every type between `from` and `to`, oldest first (so that pages
    /// do not shift while new entries arrive).
    pub async fn audit(
        &self,
        bunit: u64,
        consumer: u64,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<wire::AuditLog>, ApiError> {
        let mut req = Request::get(format!("{}/auditlogs", consumer_path(bunit, consumer)));
        for t in [0, 100, 200, 300, 400] {
            req = req.query("types", t);
        }
        let req = req
            .query("startTime", iso(from))
            .query("endTime", iso(to))
            .query("orderDesc", "false");
        self.all(req).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_of_api_and_oauth() {
        assert_eq!(
            error_message(br#"{"code":"Forbidden","message":"Access denied","developerMessage":"Origin header missing","status":403}"#)
                .as_deref(),
            Some("Access denied (Origin header missing)")
        );
        assert_eq!(
            error_message(br#"{"error":"invalid_grant","error_description":"The user name or password is incorrect."}"#)
                .as_deref(),
            Some("invalid_grant: The user name or password is incorrect.")
        );
        assert_eq!(
            error_message(br#"{"code":"NotFound"}"#).as_deref(),
            Some("NotFound")
        );
        assert_eq!(error_message(b"<html>"), None);
    }
}
