//! Talking to the management console: the two-layer login and the list-view conventions.
//!
//! Login is a Google access token (from a service-account key, or a token kept fresh by
//! something else) and then `POST /session` with it. Every later call carries both the
//! bearer and `backupdr-management-session: Actifio <id>`. Any 401 (a JSON one for a dead
//! session, or Google's HTML page for an expired bearer) makes [`ApiClient`] log in again
//! once: a new token and a new session.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, HeaderName};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

use super::google::{CLOUD_PLATFORM_SCOPE, JWT_BEARER_GRANT, ServiceAccount};
use super::wire::{ErrorBody, Identified, Page, SessionRest, TokenResponse};
use crate::adapter::VendorError;
use crate::api::{ApiClient, ApiError, Authenticator, Credential, Request};
use crate::clock::Clock;
use crate::secret::SecretSource;

pub const SESSION_HEADER: &str = "backupdr-management-session";
/// How many items we ask for per page. The console may cap it lower; see [`Console::list`].
pub const PAGE_LIMIT: usize = 4096;
/// A guard against a server that never returns a short page.
const MAX_PAGES: usize = 10_000;

/// Where the Google access token comes from.
#[derive(Clone, Debug)]
pub enum GoogleToken {
    /// A service-account key file, re-read at every login so a rotated key is picked up.
    ServiceAccount(PathBuf),
    /// An access token kept fresh by something else (re-read at every login).
    Token(SecretSource),
}

pub struct SessionAuth {
    pub google: GoogleToken,
    /// For the assertion's `iat`/`exp`: the token endpoint judges them by its clock.
    pub clock: Clock,
}

impl SessionAuth {
    /// A Google access token and how long it lives, when the grant says.
    async fn google_token(
        &self,
        client: &ApiClient,
    ) -> Result<(String, Option<Duration>), ApiError> {
        match &self.google {
            GoogleToken::Token(source) => {
                let token = source.read().map_err(|e| ApiError::Config(e.to_string()))?;
                Ok((token.expose_secret().trim().to_owned(), None))
            }
            GoogleToken::ServiceAccount(path) => {
                let sa = ServiceAccount::from_file(path)
                    .map_err(|e| ApiError::Config(format!("credentials_file: {e}")))?;
                let assertion = sa
                    .assertion(self.clock.now(), CLOUD_PLATFORM_SCOPE)
                    .map_err(ApiError::Config)?;
                let req = Request::post(sa.token_uri.as_str())
                    .without_auth()
                    .form(vec![
                        ("grant_type".into(), JWT_BEARER_GRANT.into()),
                        ("assertion".into(), assertion),
                    ]);
                let resp = client
                    .send(req)
                    .await
                    .map_err(|e| client.login_refused(e))?;
                let t: TokenResponse = resp.json()?;
                let token =
                    t.access_token
                        .filter(|s| !s.is_empty())
                        .ok_or_else(|| ApiError::Decode {
                            endpoint: resp.endpoint.clone(),
                            detail: "no `access_token` in the token response".into(),
                        })?;
                Ok((token, t.expires_in.map(Duration::from_secs)))
            }
        }
    }
}

fn session_credential(
    bearer: &str,
    session_id: &str,
    lifetime: Option<Duration>,
) -> Result<Credential, ApiError> {
    let mut c = Credential::new(vec![
        (AUTHORIZATION, format!("Bearer {bearer}")),
        (
            HeaderName::from_static(SESSION_HEADER),
            format!("Actifio {session_id}"),
        ),
    ])?;
    c.session_id = Some(session_id.to_owned());
    if let Some(l) = lifetime {
        c = c.expires_in(l);
    }
    Ok(c)
}

#[async_trait]
impl Authenticator for SessionAuth {
    async fn login(
        &self,
        client: &ApiClient,
        previous: Option<&Credential>,
    ) -> Result<Credential, ApiError> {
        let (bearer, lifetime) = self.google_token(client).await?;
        client.redactor().add(&bearer);
        // A token about to expire is renewed before it does; the session is still good
        // then (every call extends it), so keep it. A session that turns out dead answers
        // 401 and brings us back here without a previous credential.
        if let Some(sid) = previous.and_then(|p| p.session_id.as_deref()) {
            return session_credential(&bearer, sid, lifetime);
        }
        let req = Request::post(api_url(client, "session"))
            .without_auth()
            .header(AUTHORIZATION, &format!("Bearer {bearer}"))
            // Google's front end refuses a body-less POST without a length.
            .header(CONTENT_LENGTH, "0");
        let resp = client
            .send(req)
            .await
            .map_err(|e| client.login_refused(e))?;
        let s: SessionRest = resp.json()?;
        let sid = s
            .session_id
            .or(s.id)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ApiError::Decode {
                endpoint: resp.endpoint.clone(),
                detail: "no `session_id` in the session response".into(),
            })?;
        client.redactor().add(&sid);
        session_credential(&bearer, &sid, lifetime)
    }

    async fn logout(&self, client: &ApiClient, credential: &Credential) {
        let mut req =
            Request::new(Method::DELETE, api_url(client, "session/current")).without_auth();
        req.headers = credential.headers.clone();
        match client.send(req).await {
            Ok(_) => tracing::debug!(target_name = %client.settings().target, "session ended"),
            Err(e) => {
                tracing::debug!(target_name = %client.settings().target, error = %e, "could not end the session; it will time out")
            }
        }
    }
}

/// `{err_code, err_message}` of the console, `{error, error_description}` of Google's token
/// endpoint, or the title of an HTML error page (an expired bearer gets one).
pub fn decode_error(body: &[u8]) -> Option<String> {
    if let Ok(e) = serde_json::from_slice::<ErrorBody>(body) {
        if let Some(code) = e.err_code {
            let msg = e.err_message.unwrap_or_default();
            let msg = msg.split_whitespace().collect::<Vec<_>>().join(" ");
            return Some(
                format!("error {code}: {msg}")
                    .trim_end_matches(": ")
                    .to_owned(),
            );
        }
        if let Some(err) = e.error {
            return Some(match e.error_description {
                Some(d) => format!("{err}: {d}"),
                None => err,
            });
        }
    }
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<title>")? + "<title>".len();
    let end = start + lower[start..].find("</title>")?;
    let title = text[start..end].trim();
    (!title.is_empty()).then(|| title.chars().take(200).collect())
}

/// One filter of a list view: `field:<op>value`. Several filters on different fields are
/// ANDed; several `==` on one field are ORed.
pub fn filter_eq(field: &str, value: impl std::fmt::Display) -> String {
    format!("{field}:=={value}")
}

pub fn filter_ge(field: &str, value: impl std::fmt::Display) -> String {
    format!("{field}:>={value}")
}

pub fn filter_le(field: &str, value: impl std::fmt::Display) -> String {
    format!("{field}:<={value}")
}

pub fn filter_contains(field: &str, value: impl std::fmt::Display) -> String {
    format!("{field}:=|{value}")
}

/// A path under the API base as a full URL, so that errors name the whole path
/// (`GET /actifio/jobstatus`), not just its last part.
pub fn api_url(api: &ApiClient, path: &str) -> String {
    format!(
        "{}/{}",
        api.base_url().as_str().trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// The list-view reader over one target's [`ApiClient`].
pub struct Console {
    pub api: ApiClient,
}

impl Console {
    fn list_request(&self, path: &str, filters: &[String], sort: Option<&str>) -> Request {
        let mut req = Request::get(api_url(&self.api, path));
        for f in filters {
            req = req.query("filter", f);
        }
        if let Some(s) = sort {
            req = req.query("sort", s);
        }
        req
    }

    /// Every item of a list view. The console decides the real page size (it may be below
    /// the `limit` asked for) and `count` is only the page's length, so we page on until a
    /// page comes back empty or shorter than the longest one seen. A list that fits in one
    /// short page therefore costs one more (empty) request: the price of not knowing the
    /// server's cap.
    pub async fn list<T>(
        &self,
        path: &str,
        filters: &[String],
        sort: Option<&str>,
    ) -> Result<Vec<T>, VendorError>
    where
        T: DeserializeOwned + Identified,
    {
        let mut out: Vec<T> = Vec::new();
        let mut offset = 0usize;
        let mut widest = 0usize;
        let mut previous_first: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let req = self
                .list_request(path, filters, sort)
                .query("offset", offset)
                .query("limit", PAGE_LIMIT);
            let resp = self.api.send(req).await?;
            let page: Page<T> = resp.json()?;
            let n = page.items.len();
            if n == 0 {
                return Ok(out);
            }
            let first = page.items[0].wire_id().map(str::to_owned);
            if offset > 0 && first.is_some() && first == previous_first {
                return Err(VendorError::Invalid(format!(
                    "{}: the console returned the same page for offset {offset}; it does not honour `offset`",
                    resp.endpoint
                )));
            }
            previous_first = first;
            out.extend(page.items);
            if n < widest {
                return Ok(out);
            }
            widest = widest.max(n);
            offset += n;
        }
        Err(VendorError::Invalid(format!(
            "GET {}: more than {MAX_PAGES} pages; giving up",
            api_url(&self.api, path)
        )))
    }

    /// The first item of a sorted list view (`limit=1`).
    pub async fn first<T>(
        &self,
        path: &str,
        filters: &[String],
        sort: &str,
    ) -> Result<Option<T>, VendorError>
    where
        T: DeserializeOwned,
    {
        let req = self
            .list_request(path, filters, Some(sort))
            .query("offset", 0)
            .query("limit", 1);
        let page: Page<T> = self.api.get_json(req).await?;
        Ok(page.items.into_iter().next())
    }

    /// `HEAD` with filters: the console's (estimated) count in `Actifio-Count`.
    pub async fn count(&self, path: &str, filters: &[String]) -> Result<u64, VendorError> {
        let mut req = self.list_request(path, filters, None);
        req.method = Method::HEAD;
        let resp = self.api.send(req).await?;
        resp.header_str("actifio-count")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .ok_or_else(|| {
                VendorError::Invalid(format!(
                    "{}: no numeric Actifio-Count header in the answer",
                    resp.endpoint
                ))
            })
    }

    /// One object, or a list view without paging parameters (`/slt/{id}/policy`).
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, VendorError> {
        Ok(self
            .api
            .get_json(Request::get(api_url(&self.api, path)))
            .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_of_both_layers_and_html_pages() {
        assert_eq!(
            decode_error(br#"{ "err_code" : 10040, "err_message" : "session id is not found" }"#)
                .as_deref(),
            Some("error 10040: session id is not found")
        );
        assert_eq!(
            decode_error(br#"{"err_code":10023,"err_message":"a:\n\terrormessage: b"}"#).as_deref(),
            Some("error 10023: a: errormessage: b")
        );
        assert_eq!(
            decode_error(br#"{"err_code":10011}"#).as_deref(),
            Some("error 10011")
        );
        assert_eq!(
            decode_error(
                br#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#
            )
            .as_deref(),
            Some("invalid_grant: Invalid JWT Signature.")
        );
        assert_eq!(
            decode_error(
                b"<!DOCTYPE html>\n<html lang=en><TITLE>Error 401 (Unauthorized)!!1</TITLE>"
            )
            .as_deref(),
            Some("Error 401 (Unauthorized)!!1")
        );
        assert_eq!(
            decode_error(b"OpenID Connect token expired: JWT has expired"),
            None
        );
    }

    #[test]
    fn filters_are_written_as_the_console_reads_them() {
        assert_eq!(filter_eq("appid", "409016"), "appid:==409016");
        assert_eq!(filter_ge("enddate", 5), "enddate:>=5");
        assert_eq!(filter_le("enddate", 5), "enddate:<=5");
        assert_eq!(filter_contains("command", "POST"), "command:=|POST");
    }
}
