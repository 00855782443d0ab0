//! [`ApiClient`]: sends requests for one target, logs in when needed, retries, measures.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, Semaphore};
use url::Url;

use super::*;

pub struct ApiClient {
    http: reqwest::Client,
    settings: ClientSettings,
    permits: Semaphore,
    auth: Option<Arc<dyn Authenticator>>,
    credential: Mutex<Option<Credential>>,
    generation: AtomicU64,
    metrics: ApiMetrics,
    labels: TargetLabels,
    redactor: Redactor,
    error_decoder: ErrorDecoder,
}

impl std::fmt::Debug for ApiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("target", &self.settings.target)
            .field("base_url", &self.settings.base_url.as_str())
            .finish()
    }
}

/// Installs the process-wide rustls provider (ring) once; reqwest is built without one.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl ApiClient {
    pub fn new(
        settings: ClientSettings,
        auth: Option<Arc<dyn Authenticator>>,
        metrics: ApiMetrics,
        error_decoder: ErrorDecoder,
    ) -> Result<Self, ApiError> {
        install_crypto_provider();
        let mut builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(settings.request_timeout))
            .timeout(settings.request_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .default_headers(settings.default_headers.clone())
            .user_agent(concat!("backup-exporter/", env!("CARGO_PKG_VERSION")))
            // A passive CloudTower node answers 307 to the active one; a POST must follow it
            // with its body, which reqwest does for 307/308.
            .redirect(reqwest::redirect::Policy::limited(5));
        if let Some(path) = &settings.tls.ca_file {
            let pem = std::fs::read(path)
                .map_err(|e| ApiError::Config(format!("tls.ca_file {}: {e}", path.display())))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                ApiError::Config(format!("tls.ca_file {}: not PEM: {e}", path.display()))
            })?;
            builder = builder.tls_certs_merge(certs);
        }
        if settings.tls.insecure_skip_verify {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        if let Some(proxy) = &settings.proxy_url {
            let p = reqwest::Proxy::all(proxy.as_str())
                .map_err(|e| ApiError::Config(format!("proxy_url: {e}")))?;
            builder = builder.proxy(p);
        }
        let http = builder
            .build()
            .map_err(|e| ApiError::Config(format!("HTTP client: {e}")))?;
        let labels = TargetLabels {
            vendor: settings.vendor.as_str().to_owned(),
            target: settings.target.clone(),
        };
        Ok(ApiClient {
            http,
            permits: Semaphore::new(settings.max_concurrent_requests.max(1)),
            settings,
            auth,
            credential: Mutex::new(None),
            generation: AtomicU64::new(0),
            metrics,
            labels,
            redactor: Redactor::default(),
            error_decoder,
        })
    }

    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }

    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    pub fn base_url(&self) -> &Url {
        &self.settings.base_url
    }

    fn url(&self, path: &str) -> Result<Url, ApiError> {
        if path.starts_with("http://") || path.starts_with("https://") {
            return Url::parse(path).map_err(|e| ApiError::Config(format!("URL {path}: {e}")));
        }
        let base = self.settings.base_url.as_str().trim_end_matches('/');
        let path = path.trim_start_matches('/');
        Url::parse(&format!("{base}/{path}"))
            .map_err(|e| ApiError::Config(format!("URL {base}/{path}: {e}")))
    }

    /// The current credential, logging in (once, however many requests ask at the same
    /// time) when there is none or it is about to expire.
    pub async fn credential(&self) -> Result<Credential, ApiError> {
        let Some(auth) = &self.auth else {
            return Ok(Credential {
                headers: Vec::new(),
                expires_at: None,
                refresh_token: None,
                session_id: None,
                generation: 0,
            });
        };
        let mut slot = self.credential.lock().await;
        if let Some(c) = slot.as_ref()
            && c.is_fresh(Instant::now())
        {
            return Ok(c.clone());
        }
        let previous = slot.take();
        let result = auth.login(self, previous.as_ref()).await;
        match result {
            Ok(mut c) => {
                c.generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
                for (_, v) in &c.headers {
                    if let Ok(s) = v.to_str() {
                        self.redactor.add(s);
                        if let Some(tok) = s.split_whitespace().last() {
                            self.redactor.add(tok);
                        }
                    }
                }
                if let Some(id) = &c.session_id {
                    self.redactor.add(id);
                }
                *slot = Some(c.clone());
                Ok(c)
            }
            Err(e) => {
                if matches!(e, ApiError::LoginRefused { .. }) {
                    self.metrics.auth_failures.get_or_create(&self.labels).inc();
                }
                Err(e)
            }
        }
    }

    /// Drops the credential that a 401 proved stale, unless a concurrent request already
    /// replaced it.
    async fn invalidate(&self, generation: u64) {
        let mut slot = self.credential.lock().await;
        if slot.as_ref().map(|c| c.generation) == Some(generation) {
            *slot = None;
        }
    }

    /// Ends the session where the vendor has one (called on shutdown).
    pub async fn logout(&self) {
        let Some(auth) = &self.auth else { return };
        let taken = self.credential.lock().await.take();
        if let Some(c) = taken {
            auth.logout(self, &c).await;
        }
    }

    /// Sends a request and returns the response when its status is 2xx.
    pub async fn send(&self, req: Request) -> Result<Response, ApiError> {
        let endpoint = req.endpoint();
        let url = self.url(&req.path)?;
        let mut retries = 0u32;
        let mut relogged = false;
        loop {
            let credential = if req.auth {
                Some(self.credential().await?)
            } else {
                None
            };
            let mut builder = self.http.request(req.method.clone(), url.clone());
            if !req.query.is_empty() {
                builder = builder.query(&req.query);
            }
            for (k, v) in &req.headers {
                builder = builder.header(k, v);
            }
            if let Some(c) = &credential {
                for (k, v) in &c.headers {
                    builder = builder.header(k, v);
                }
            }
            builder = match &req.body {
                Some(Body::Json(v)) => builder.json(v),
                Some(Body::Form(f)) => builder.form(f),
                None => builder,
            };

            let permit = self
                .permits
                .acquire()
                .await
                .expect("semaphore never closed");
            let started = Instant::now();
            let sent = builder.send().await;
            let outcome = match sent {
                Ok(resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    match resp.bytes().await {
                        Ok(body) => Ok((status, headers, body)),
                        Err(e) => Err(self.transport_error(&endpoint, e)),
                    }
                }
                Err(e) => Err(self.transport_error(&endpoint, e)),
            };
            drop(permit);
            let elapsed = started.elapsed().as_secs_f64();
            self.metrics
                .duration
                .get_or_create(&self.labels)
                .observe(elapsed);
            let code = match &outcome {
                Ok((status, _, _)) => status.as_u16().to_string(),
                Err(_) => "error".to_owned(),
            };
            self.metrics
                .requests
                .get_or_create(&RequestLabels {
                    vendor: self.labels.vendor.clone(),
                    target: self.labels.target.clone(),
                    code,
                })
                .inc();
            let (status, headers, body) = outcome?;

            if status == StatusCode::UNAUTHORIZED
                && let Some(c) = &credential
                && !relogged
            {
                tracing::debug!(target_name = %self.settings.target, %endpoint, "401: logging in again");
                self.invalidate(c.generation).await;
                relogged = true;
                continue;
            }
            if (status == StatusCode::TOO_MANY_REQUESTS
                || status == StatusCode::SERVICE_UNAVAILABLE)
                && retries < self.settings.max_retries
            {
                let wait = retry_after(&headers)
                    .unwrap_or_else(|| Duration::from_millis(500 * 2u64.pow(retries)))
                    .min(self.settings.max_retry_after);
                tracing::debug!(target_name = %self.settings.target, %endpoint, status = status.as_u16(), wait_s = wait.as_secs_f64(), "throttled; waiting");
                retries += 1;
                tokio::time::sleep(wait).await;
                continue;
            }
            if status.is_success() || status.is_redirection() {
                return Ok(Response {
                    status,
                    headers,
                    body,
                    endpoint,
                });
            }
            let message = self
                .redactor
                .scrub(&(self.error_decoder)(&body).unwrap_or_else(|| snippet(&body)));
            return Err(ApiError::Status {
                endpoint,
                status,
                message,
            });
        }
    }

    /// For authenticators: turns a refused login into [`ApiError::LoginRefused`].
    pub fn login_refused(&self, err: ApiError) -> ApiError {
        match err {
            ApiError::Status {
                endpoint,
                status,
                message,
            } if status.is_client_error() => ApiError::LoginRefused {
                endpoint,
                status,
                message,
            },
            other => other,
        }
    }

    pub async fn get_json<T: DeserializeOwned>(&self, req: Request) -> Result<T, ApiError> {
        self.send(req).await?.json()
    }

    fn transport_error(&self, endpoint: &str, e: reqwest::Error) -> ApiError {
        if e.is_timeout() {
            return ApiError::Timeout {
                endpoint: endpoint.to_owned(),
                seconds: self.settings.request_timeout.as_secs_f64(),
            };
        }
        let e = e.without_url();
        let mut detail = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            detail.push_str(": ");
            detail.push_str(&s.to_string());
            source = s.source();
        }
        ApiError::Transport {
            endpoint: endpoint.to_owned(),
            detail: self.redactor.scrub(&detail),
        }
    }
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(v).ok()?;
    when.duration_since(std::time::SystemTime::now()).ok()
}

/// The first line of a non-JSON error body, shortened: enough to recognise an HTML error
/// page without dumping it.
fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut s: String = line.chars().take(200).collect();
    if s.is_empty() {
        s = "(empty body)".to_owned();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_in_seconds() {
        let mut h = HeaderMap::new();
        h.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        h.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn snippet_takes_first_line() {
        assert_eq!(
            snippet(b"\n  Error 401 (Unauthorized)\n<html>"),
            "Error 401 (Unauthorized)"
        );
        assert_eq!(snippet(b""), "(empty body)");
    }

    #[test]
    fn endpoint_has_no_query_or_host() {
        let r = Request::get("https://h.example/v1/jobs?token=x").query("a", 1);
        assert_eq!(r.endpoint(), "GET /v1/jobs");
    }
}
