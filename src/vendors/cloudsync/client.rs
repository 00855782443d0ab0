//! Login at the Auth0 token endpoint, and the Cloud Sync and BlueXP audit calls.
//!
//! The token endpoint lives on another host than the API (`auth_url` is the full URL);
//! the API wants `x-account-id` on every call except `GET /api/accounts`; the audit service
//! takes the account in the path. Errors come as `{"code","message"}` from Cloud Sync,
//! `{"error","error_description"}` from Auth0 and `{"statusCode","message"}` from the audit
//! service.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use reqwest::header::{AUTHORIZATION, HeaderName};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::wire::{
    Account, AuditGroup, DataBroker, Relationship, RelationshipsStats, TokenResponse,
};
use crate::api::{ApiClient, ApiError, Authenticator, Credential, Request};
use crate::secret::SecretSource;

/// The audience NetApp's Auth0 tenant issues Cloud Sync tokens for.
pub(super) const AUDIENCE: &str = "https://api.cloud.netapp.com";

const ACCOUNT_HEADER: HeaderName = HeaderName::from_static("x-account-id");

/// Auth0 does not always say how long a token lives; assume the shortest documented
/// lifetime (user tokens: six hours) rather than none.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(6 * 3600);

/// The audit service pages by `offset`; a service that ignored it would otherwise be
/// read forever.
const MAX_AUDIT_PAGES: usize = 500;

#[derive(Clone, Debug)]
pub(super) enum Grant {
    Password {
        username: String,
        password: SecretSource,
    },
    RefreshToken(SecretSource),
}

/// Auth0 password or refresh-token grant. A token is renewed before `expires_in` runs
/// out (by the client layer) and after a 401 such as `TokenExpiredError: jwt expired`.
pub(super) struct Auth0 {
    pub auth_url: Url,
    pub client_id: String,
    pub grant: Grant,
}

impl Auth0 {
    async fn token(
        &self,
        client: &ApiClient,
        body: serde_json::Value,
    ) -> Result<Credential, ApiError> {
        let resp = client
            .send(
                Request::post(self.auth_url.as_str())
                    .json(body)
                    .without_auth(),
            )
            .await
            .map_err(|e| client.login_refused(e))?;
        let token: TokenResponse = resp.json()?;
        if token.access_token.is_empty() {
            return Err(ApiError::Decode {
                endpoint: resp.endpoint,
                detail: "empty access_token".into(),
            });
        }
        let lifetime = token
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TOKEN_LIFETIME);
        let mut credential = Credential::new(vec![(
            AUTHORIZATION,
            format!("Bearer {}", token.access_token),
        )])?
        .expires_in(lifetime);
        if let Some(rt) = token.refresh_token.filter(|t| !t.is_empty()) {
            client.redactor().add(&rt);
            credential.refresh_token = Some(SecretString::from(rt));
        }
        Ok(credential)
    }

    fn read(client: &ApiClient, key: &str, source: &SecretSource) -> Result<String, ApiError> {
        let secret = source
            .read()
            .map_err(|e| ApiError::Config(format!("`{key}`: {e}")))?;
        let value = secret.expose_secret().to_owned();
        client.redactor().add(&value);
        Ok(value)
    }

    fn refresh_body(&self, refresh_token: &str) -> serde_json::Value {
        serde_json::json!({
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.client_id,
        })
    }
}

#[async_trait]
impl Authenticator for Auth0 {
    async fn login(
        &self,
        client: &ApiClient,
        previous: Option<&Credential>,
    ) -> Result<Credential, ApiError> {
        match &self.grant {
            Grant::Password { username, password } => {
                let password = Self::read(client, "password", password)?;
                self.token(
                    client,
                    serde_json::json!({
                        "grant_type": "password",
                        "username": username,
                        "password": password,
                        "client_id": self.client_id,
                        "audience": AUDIENCE,
                        "scope": "profile",
                    }),
                )
                .await
            }
            Grant::RefreshToken(source) => {
                // Auth0 may rotate refresh tokens; prefer the one it handed us last and fall
                // back to the configured one (re-read: it may have been replaced) if that
                // is refused.
                if let Some(rotated) = previous.and_then(|c| c.refresh_token.as_ref()) {
                    let body = self.refresh_body(rotated.expose_secret());
                    match self.token(client, body).await {
                        Err(ApiError::LoginRefused { .. }) => {}
                        other => return other,
                    }
                }
                let configured = Self::read(client, "refresh_token", source)?;
                self.token(client, self.refresh_body(&configured)).await
            }
        }
    }
}

/// Turns any of the three error shapes into one line.
pub(super) fn decode_error(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).filter(|s| !s.is_empty());
    if let Some(desc) = text("error_description") {
        return Some(match text("error") {
            Some(code) => format!("{code}: {desc}"),
            None => desc.to_owned(),
        });
    }
    if let Some(m) = text("message") {
        return Some(m.to_owned());
    }
    if let Some(m) = v.get("message").and_then(|m| m.as_array()) {
        let parts: Vec<&str> = m.iter().filter_map(|x| x.as_str()).collect();
        if !parts.is_empty() {
            return Some(parts.join("; "));
        }
    }
    text("error").map(str::to_owned)
}

/// The Cloud Sync API and, when configured, the audit service, over one client.
pub(super) struct Api {
    pub http: ApiClient,
    pub audit_url: Option<Url>,
    /// The resolved token endpoint, for `check --online`.
    pub token_url: Url,
}

/// The audit service's base as `check --online` shows it: `audit_url` with `/audit`.
pub(super) fn audit_base(audit_url: &Url) -> String {
    Api::audit_endpoint(audit_url, "")
        .map(|u| u.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_else(|_| audit_url.to_string())
}

impl Api {
    pub async fn accounts(&self) -> Result<Vec<Account>, ApiError> {
        self.http.get_json(Request::get("/api/accounts")).await
    }

    fn scoped(path: &str, account_id: &str) -> Request {
        Request::get(path).header(ACCOUNT_HEADER, account_id)
    }

    pub async fn relationships(&self, account_id: &str) -> Result<Vec<Relationship>, ApiError> {
        self.http
            .get_json(Self::scoped("/api/relationships-v2", account_id))
            .await
    }

    pub async fn data_brokers(&self, account_id: &str) -> Result<Vec<DataBroker>, ApiError> {
        self.http
            .get_json(Self::scoped("/api/data-brokers", account_id))
            .await
    }

    pub async fn relationships_stats(
        &self,
        account_id: &str,
    ) -> Result<RelationshipsStats, ApiError> {
        self.http
            .get_json(Self::scoped(
                "/api/accounts/relationships-stats",
                account_id,
            ))
            .await
    }

    /// `GET <audit_url>/audit/{accountId}`; `audit_url` may or may not end in `/audit`.
    fn audit_endpoint(base: &Url, account_id: &str) -> Result<Url, ApiError> {
        let mut url = base.clone();
        let ends_in_audit = base
            .path_segments()
            .and_then(|mut s| s.rfind(|p| !p.is_empty()))
            .is_some_and(|p| p == "audit");
        {
            let mut segs = url
                .path_segments_mut()
                .map_err(|_| ApiError::Config(format!("audit_url {base} cannot take a path")))?;
            segs.pop_if_empty();
            if !ends_in_audit {
                segs.push("audit");
            }
            segs.push(account_id);
        }
        Ok(url)
    }

    /// Audit groups that started in `[from, to]`, every page.
    pub async fn audit(
        &self,
        account_id: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<AuditGroup>, ApiError> {
        let Some(base) = &self.audit_url else {
            return Ok(Vec::new());
        };
        let url = Self::audit_endpoint(base, account_id)?;
        let mut out: Vec<AuditGroup> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut offset = 0usize;
        for _ in 0..MAX_AUDIT_PAGES {
            let req = Request::get(url.as_str())
                .query("fromStartTime", from.as_millisecond())
                .query("toStartTime", to.as_millisecond())
                .query("offset", offset);
            let page: Vec<AuditGroup> = self.http.get_json(req).await?;
            if page.is_empty() {
                return Ok(out);
            }
            offset += page.len();
            let mut new = 0;
            for g in page {
                let key = format!(
                    "{}/{}/{:?}",
                    g.service.as_deref().unwrap_or(""),
                    g.request_id.as_deref().unwrap_or(""),
                    g.start_time
                );
                if seen.insert(key) {
                    new += 1;
                    out.push(g);
                }
            }
            if new == 0 {
                // The service ignored `offset` and sent the same page again.
                return Ok(out);
            }
        }
        tracing::warn!(
            account_id,
            pages = MAX_AUDIT_PAGES,
            "audit service kept returning pages; stopped reading"
        );
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_of_all_three_services() {
        assert_eq!(
            decode_error(br#"{"code":401,"message":"TokenExpiredError: jwt expired"}"#).unwrap(),
            "TokenExpiredError: jwt expired"
        );
        assert_eq!(
            decode_error(
                br#"{"error":"invalid_grant","error_description":"Wrong email or password."}"#
            )
            .unwrap(),
            "invalid_grant: Wrong email or password."
        );
        assert_eq!(
            decode_error(br#"{"statusCode":400,"message":["offset must be a number"]}"#).unwrap(),
            "offset must be a number"
        );
        assert_eq!(decode_error(b"<html>"), None);
    }

    #[test]
    fn audit_endpoint_with_or_without_audit_suffix() {
        let a = Api::audit_endpoint(
            &Url::parse("https://cloudmanager.cloud.netapp.com").unwrap(),
            "account-1",
        )
        .unwrap();
        assert_eq!(
            a.as_str(),
            "https://cloudmanager.cloud.netapp.com/audit/account-1"
        );
        let b =
            Api::audit_endpoint(&Url::parse("http://h/sim/audit/").unwrap(), "account-1").unwrap();
        assert_eq!(b.as_str(), "http://h/sim/audit/account-1");
        let c = Api::audit_endpoint(&Url::parse("http://h/sim/").unwrap(), "a b").unwrap();
        assert_eq!(c.as_str(), "http://h/sim/audit/a%20b");
    }
}
