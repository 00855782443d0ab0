//! Talking to Clumio: the API-token "login", the per-resource `Accept` versions, the shared
//! rate limit, and HAL paging by following `_links._next`.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;

use super::ratelimit::RateLimiter;
use super::wire::{ErrorBody, Page};
use crate::adapter::VendorError;
use crate::api::{ApiClient, ApiError, Authenticator, Credential, Request};
use crate::secret::SecretSource;

/// One Clumio resource: its path and the media type that pins its version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resource {
    pub path: &'static str,
    pub accept: &'static str,
}

macro_rules! resource {
    ($name:ident, $path:literal, $accept:literal) => {
        pub const $name: Resource = Resource {
            path: $path,
            accept: concat!("application/api.clumio.", $accept, "+json"),
        };
    };
}

resource!(OUS, "/organizational-units", "organizational-units=v2");
resource!(POLICIES, "/policies/definitions", "policy-definitions=v1");
resource!(
    EBS_VOLUMES,
    "/datasources/aws/ebs-volumes",
    "aws-ebs-volumes=v1"
);
resource!(
    EC2_INSTANCES,
    "/datasources/aws/ec2-instances",
    "aws-ec2-instances=v1"
);
resource!(
    PROTECTION_GROUPS,
    "/datasources/protection-groups",
    "protection-groups=v1"
);
resource!(
    RDS_RESOURCES,
    "/datasources/aws/rds-resources",
    "aws-rds-resources=v1"
);
resource!(
    EBS_BACKUPS,
    "/backups/aws/ebs-volumes",
    "backup-aws-ebs-volumes=v2"
);
resource!(
    EC2_BACKUPS,
    "/backups/aws/ec2-instances",
    "backup-aws-ec2-instances=v1"
);
resource!(
    PG_BACKUPS,
    "/backups/protection-groups",
    "backup-protection-groups=v1"
);
resource!(
    RDS_BACKUPS,
    "/backups/aws/rds-resources",
    "backup-aws-rds-resources=v1"
);
resource!(TASKS, "/tasks", "tasks=v1");
resource!(AUDIT_TRAILS, "/audit-trails", "audit-trails=v1");
resource!(ALERTS, "/alerts/individual", "individual-alerts=v1");

/// The header that scopes a request to one organizational unit.
pub const OU_CONTEXT: &str = "x-clumio-organizationalunit-context";

/// Items per page we ask for; the service caps it.
pub const PAGE_LIMIT: u32 = 100;

/// More pages than this from one listing means the service is looping.
const MAX_PAGES: usize = 5_000;

/// An API token is the whole login: it is read from its source (so a rotated token file is
/// picked up at the next 401) and checked with one cheap request, so that a refused token
/// is reported and counted as a refused login rather than as a failed listing.
pub struct TokenAuth {
    pub token: SecretSource,
    pub limiter: Arc<RateLimiter>,
}

#[async_trait]
impl Authenticator for TokenAuth {
    async fn login(
        &self,
        client: &ApiClient,
        _previous: Option<&Credential>,
    ) -> Result<Credential, ApiError> {
        let token = self
            .token
            .read()
            .map_err(|e| ApiError::Config(format!("`token`: {e}")))?;
        let token = token.expose_secret().trim();
        if token.is_empty() || token.contains(char::is_whitespace) {
            return Err(ApiError::Config(
                "`token`: an API token is one word without spaces".into(),
            ));
        }
        client.redactor().add(token);
        let bearer = format!("Bearer {token}");
        let mut header = HeaderValue::from_str(&bearer)
            .map_err(|_| ApiError::Config("`token`: not a valid HTTP header value".into()))?;
        header.set_sensitive(true);
        let mut check = Request::get(OUS.path)
            .query("limit", 1)
            .header(ACCEPT, OUS.accept)
            .without_auth();
        check.headers.push((AUTHORIZATION, header));
        self.limiter.acquire().await;
        match client.send(check).await {
            Ok(_) => Credential::new(vec![(AUTHORIZATION, bearer)]),
            Err(e)
                if matches!(
                    e.status(),
                    Some(StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                ) =>
            {
                Err(client.login_refused(e))
            }
            Err(e) => Err(e),
        }
    }
}

/// Turns `{"errors":[{"error_code","error_message"}]}` into one line.
pub fn decode_error(body: &[u8]) -> Option<String> {
    let e: ErrorBody = serde_json::from_slice(body).ok()?;
    let one = |code: &Option<String>, msg: &Option<String>| -> Option<String> {
        match (msg.as_deref().map(str::trim), code) {
            (Some(m), Some(c)) if !m.is_empty() => Some(format!("{m} (error_code {c})")),
            (Some(m), None) if !m.is_empty() => Some(m.to_owned()),
            (_, Some(c)) => Some(format!("error_code {c}")),
            _ => None,
        }
    };
    let mut parts: Vec<String> = e
        .errors
        .iter()
        .filter_map(|s| one(&s.error_code, &s.error_message))
        .collect();
    if parts.is_empty()
        && let Some(p) = one(&e.error_code, &e.error_message.or(e.message))
    {
        parts.push(p);
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The shared HTTP client plus what every Clumio request needs.
pub struct ClumioClient {
    pub api: ApiClient,
    pub limiter: Arc<RateLimiter>,
}

impl ClumioClient {
    async fn page<T: DeserializeOwned>(
        &self,
        resource: &Resource,
        path: &str,
        query: &[(String, String)],
    ) -> Result<Page<T>, ApiError> {
        let mut req = Request::get(path).header(ACCEPT, resource.accept);
        req.query = query.to_vec();
        self.limiter.acquire().await;
        self.api.send(req).await?.json()
    }

    /// The first page only: for counts (`total_count`) and newest-first lookups.
    pub async fn first_page<T: DeserializeOwned>(
        &self,
        resource: &Resource,
        query: &[(&str, String)],
    ) -> Result<Page<T>, ApiError> {
        let query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        self.page(resource, resource.path, &query).await
    }

    /// Every item of a listing, following `_links._next` until it is absent.
    pub async fn list_all<T: DeserializeOwned>(
        &self,
        resource: &Resource,
        query: &[(&str, String)],
    ) -> Result<Vec<T>, VendorError> {
        let mut query: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let mut path = resource.path.to_owned();
        let mut items = Vec::new();
        let mut seen = HashSet::new();
        for _ in 0..MAX_PAGES {
            let page: Page<T> = self.page(resource, &path, &query).await?;
            let next = page.next_href().map(split_href);
            items.extend(page.into_items());
            let Some((next_path, next_query)) = next else {
                return Ok(items);
            };
            if !seen.insert((next_path.clone(), next_query.clone())) {
                return Err(VendorError::Invalid(format!(
                    "GET {}: `_links._next` points back to a page already read",
                    resource.path
                )));
            }
            path = next_path;
            query = next_query;
        }
        Err(VendorError::Invalid(format!(
            "GET {}: more than {MAX_PAGES} pages; giving up",
            resource.path
        )))
    }
}

/// A `_links` href (relative like `/tasks?limit=100&start=2`, or absolute) as a path and
/// decoded query pairs. Only the path and query are used: the host is always the target's,
/// so a link cannot send the token elsewhere.
pub fn split_href(href: &str) -> (String, Vec<(String, String)>) {
    let base = url::Url::parse("http://clumio.invalid/").expect("static URL parses");
    let url = url::Url::parse(href).or_else(|_| base.join(href));
    match url {
        Ok(u) => (
            u.path().to_owned(),
            u.query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ),
        Err(_) => (href.to_owned(), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hrefs_split_into_path_and_decoded_query() {
        let (p, q) = split_href(
            "/tasks?limit=100&start=3&filter=%7B%22status%22%3A%7B%22%24in%22%3A%5B%22queued%22%5D%7D%7D",
        );
        assert_eq!(p, "/tasks");
        assert_eq!(q[1], ("start".into(), "3".into()));
        assert_eq!(q[2].1, r#"{"status":{"$in":["queued"]}}"#);
        let (p, q) = split_href("https://elsewhere.example/audit-trails?start=2");
        assert_eq!(p, "/audit-trails");
        assert_eq!(q, vec![("start".to_owned(), "2".to_owned())]);
    }

    #[test]
    fn error_bodies_become_one_line() {
        assert_eq!(
            decode_error(
                br#"{"errors":[{"error_code":402,"error_message":"Unauthorized access"}]}"#
            )
            .as_deref(),
            Some("Unauthorized access (error_code 402)")
        );
        assert_eq!(
            decode_error(br#"{"error_code":"400","error_message":"bad filter"}"#).as_deref(),
            Some("bad filter (error_code 400)")
        );
        assert_eq!(decode_error(b"<html>"), None);
        assert_eq!(decode_error(br#"{"errors":[]}"#), None);
    }

    #[test]
    fn accept_headers_name_resource_and_version() {
        assert_eq!(TASKS.accept, "application/api.clumio.tasks=v1+json");
        assert_eq!(
            EBS_BACKUPS.accept,
            "application/api.clumio.backup-aws-ebs-volumes=v2+json"
        );
        assert_eq!(
            ALERTS.accept,
            "application/api.clumio.individual-alerts=v1+json"
        );
    }
}
