//! [`ApiClient`]: sends requests for one target, logs in when needed, retries, measures.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{
    CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderName, LOCATION, RETRY_AFTER, TRANSFER_ENCODING,
};
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, Semaphore};
use url::Url;

use super::body::{self, AtCap, Budget, Chunks, Reservation};
use super::redirect;
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
    budget: Arc<Budget>,
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
            .user_agent(concat!("backup-exporter/", env!("CARGO_PKG_VERSION")))
            // Redirects are followed by `follow` (same origin only, unless allowed; never a
            // credential or a body to another origin), and the default headers go on each
            // request there, so that a hop to another origin can leave them behind.
            .redirect(reqwest::redirect::Policy::none())
            .referer(false);
        if let Some(path) = &settings.tls.ca_file {
            let certs = super::load_ca_bundle(path)
                .map_err(|e| ApiError::Config(format!("`tls.ca_file`: {e}")))?;
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
        let settings_budget = settings.max_buffered_bytes.max(settings.max_response_bytes);
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
            budget: Budget::new(settings_budget),
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
            let Exchange {
                status,
                headers,
                body,
                hold,
            } = self
                .follow(&req, &endpoint, &url, credential.as_ref())
                .await?;

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
                    _hold: hold.map(Arc::new),
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

    /// Sends one request and follows its redirects as [`redirect`] allows; returns the
    /// last response with its body read (capped).
    async fn follow(
        &self,
        req: &Request,
        endpoint: &str,
        first: &Url,
        credential: Option<&Credential>,
    ) -> Result<Exchange, ApiError> {
        let credential_names: Vec<&HeaderName> = credential
            .map(|c| c.headers.iter().map(|(k, _)| k).collect())
            .unwrap_or_default();
        let mut url = first.clone();
        let mut method = req.method.clone();
        let mut body = req.body.as_ref();
        let mut crossed = false;
        let mut hops = 0usize;
        loop {
            let mut headers = HeaderMap::new();
            if crossed {
                for (k, v) in &req.headers {
                    if !redirect::is_secret_header(k, v, &credential_names) {
                        headers.append(k.clone(), v.clone());
                    }
                }
            } else {
                headers = self.settings.default_headers.clone();
                let extra = req
                    .headers
                    .iter()
                    .chain(credential.into_iter().flat_map(|c| c.headers.iter()));
                for (k, _) in extra.clone() {
                    headers.remove(k);
                }
                for (k, v) in extra {
                    headers.append(k.clone(), v.clone());
                }
            }
            if body.is_none() && method != req.method {
                for h in [CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING] {
                    headers.remove(h);
                }
            }
            let mut builder = self.http.request(method.clone(), url.clone());
            if hops == 0 && !req.query.is_empty() {
                builder = builder.query(&req.query);
            }
            builder = builder.headers(headers);
            builder = match body {
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
            let outcome = match builder.send().await {
                Ok(mut resp) => {
                    let status = resp.status();
                    let headers = resp.headers().clone();
                    if redirect::is_redirect(status) && headers.contains_key(LOCATION) {
                        // Not read: the connection is dropped with it.
                        Ok(Exchange {
                            status,
                            headers,
                            body: Bytes::new(),
                            hold: None,
                        })
                    } else {
                        self.read_body(endpoint, &mut resp, status)
                            .await
                            .map(|(body, hold)| Exchange {
                                status,
                                headers,
                                body,
                                hold,
                            })
                    }
                }
                Err(e) => Err(self.transport_error(endpoint, e)),
            };
            drop(permit);
            self.observe(started, &outcome);
            let exchange = outcome?;
            let status = exchange.status;
            let Some(location) = exchange
                .headers
                .get(LOCATION)
                .filter(|_| redirect::is_redirect(status))
            else {
                return Ok(exchange);
            };
            let refuse = |location: String, reason: String| ApiError::Redirect {
                endpoint: endpoint.to_owned(),
                status,
                location: self.redactor.scrub(&location),
                reason,
            };
            let next = location
                .to_str()
                .ok()
                .and_then(|l| url.join(l).ok())
                .ok_or_else(|| {
                    refuse(
                        "(a Location that is not a URL)".to_owned(),
                        "nowhere to go".to_owned(),
                    )
                })?;
            if hops >= redirect::MAX_REDIRECTS {
                return Err(refuse(
                    redirect::shown(&next),
                    format!("more than {} redirects", redirect::MAX_REDIRECTS),
                ));
            }
            let (next_method, keep_body) = redirect::next_method(status, &method);
            let next_body = if keep_body { body } else { None };
            match redirect::judge(
                first,
                &url,
                &next,
                self.settings.allow_cross_origin_redirects,
                next_body.is_some(),
            ) {
                Ok(redirect::Hop::SameOrigin) => {}
                Ok(redirect::Hop::CrossOrigin) => crossed = true,
                Err(reason) => return Err(refuse(redirect::shown(&next), reason)),
            }
            tracing::debug!(
                target_name = %self.settings.target,
                %endpoint,
                status = status.as_u16(),
                to = %redirect::shown(&next),
                "following a redirect"
            );
            url = next;
            method = next_method;
            body = next_body;
            hops += 1;
        }
    }

    /// Reads a body: a 2xx one up to `max_response_bytes` and within the target's budget
    /// (past either, an error), an error body up to [`body::ERROR_BODY_BYTES`] (the rest
    /// is not read).
    async fn read_body(
        &self,
        endpoint: &str,
        resp: &mut reqwest::Response,
        status: StatusCode,
    ) -> Result<(Bytes, Option<Reservation>), ApiError> {
        let announced = resp.content_length();
        let mut source = ReqwestChunks {
            client: self,
            endpoint,
            resp,
        };
        if status.is_success() {
            body::read_capped(
                endpoint,
                &mut source,
                self.settings.max_response_bytes,
                announced,
                AtCap::Fail,
                Some(&self.budget),
            )
            .await
        } else {
            body::read_capped(
                endpoint,
                &mut source,
                body::ERROR_BODY_BYTES.min(self.settings.max_response_bytes),
                announced,
                AtCap::Cut,
                None,
            )
            .await
        }
    }

    /// The bytes of response bodies this target's client holds now (being read, or read
    /// and not yet dropped); at most `max(max_buffered_bytes, max_response_bytes)`.
    pub fn buffered_bytes(&self) -> u64 {
        self.budget.held()
    }

    fn observe(&self, started: Instant, outcome: &Result<Exchange, ApiError>) {
        let elapsed = started.elapsed().as_secs_f64();
        self.metrics
            .duration
            .get_or_create(&self.labels)
            .observe(elapsed);
        let code = match outcome {
            Ok(x) => x.status.as_u16().to_string(),
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

/// One request/response exchange, its body read.
struct Exchange {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    hold: Option<Reservation>,
}

/// A reqwest body as [`Chunks`], with our error mapping.
struct ReqwestChunks<'a> {
    client: &'a ApiClient,
    endpoint: &'a str,
    resp: &'a mut reqwest::Response,
}

impl Chunks for ReqwestChunks<'_> {
    async fn next_chunk(&mut self) -> Result<Option<Bytes>, ApiError> {
        self.resp
            .chunk()
            .await
            .map_err(|e| self.client.transport_error(self.endpoint, e))
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
        let r = Request::get("/v1/jobs?start=2&token=x#frag");
        assert_eq!(r.endpoint(), "GET /v1/jobs");
    }
}
