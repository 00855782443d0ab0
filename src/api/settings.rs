//! How one target's client is set up: base URL, timeouts, TLS, proxy, concurrency, how much
//! a vendor may make us read, and where it may redirect us.

use std::time::Duration;

use reqwest::header::HeaderMap;
use url::Url;

use crate::model::Vendor;

/// TLS settings of one target. Verification is on unless a target turns it off.
#[derive(Clone, Debug, Default)]
pub struct TlsSettings {
    pub ca_file: Option<std::path::PathBuf>,
    pub insecure_skip_verify: bool,
}

/// The certificates of a target's `tls.ca_file`, read the same way by `check`, `serve`'s
/// start and the client: at most [`crate::small_file::CA_FILE_LIMIT`], a regular file,
/// PEM with at least one certificate. Errors name the file, never its contents.
pub fn load_ca_bundle(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = crate::small_file::read(path, crate::small_file::CA_FILE_LIMIT)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|_| format!("{} is not a PEM certificate bundle", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certs)
}

#[derive(Clone, Debug)]
pub struct ClientSettings {
    pub vendor: Vendor,
    pub target: String,
    pub base_url: Url,
    /// Per request, including reading the body.
    pub request_timeout: Duration,
    pub max_concurrent_requests: usize,
    pub tls: TlsSettings,
    pub proxy_url: Option<Url>,
    /// Sent on every request (for example Cloutility's `Origin`).
    pub default_headers: HeaderMap,
    /// How many times a 429 or 503 is retried before giving up.
    pub max_retries: u32,
    /// The longest `Retry-After` we are willing to sleep through.
    pub max_retry_after: Duration,
    /// The most bytes one response body may have
    /// ([`DEFAULT_MAX_RESPONSE_BYTES`]). A larger `Content-Length` is refused before
    /// reading; a body that grows past it (chunked, endless) stops there. Either way the
    /// request fails with [`ApiError::TooLarge`](super::ApiError::TooLarge). Error bodies
    /// (4xx, 5xx) are read up to 64 KiB only, for their message.
    pub max_response_bytes: u64,
    /// The most bytes of response bodies this target's client holds at once: bodies being
    /// read plus those read and not yet dropped by the adapter
    /// ([`DEFAULT_MAX_BUFFERED_BYTES`], never less than `max_response_bytes`). The read
    /// that would pass it fails with [`ApiError::BufferFull`](super::ApiError::BufferFull)
    /// at once, which frees its part for the others. Without it the bound would be
    /// `max_response_bytes × max_concurrent_requests` and more (decoding overlaps the next
    /// reads).
    pub max_buffered_bytes: u64,
    /// Follow a redirect to another origin (scheme, host, port). Off by default: such a
    /// redirect fails with [`ApiError::Redirect`](super::ApiError::Redirect). When on, the
    /// hop is taken without credentials, session headers, cookies or the target's default
    /// headers, and only for a request without a body (a 307/308 of a login or a query is
    /// refused all the same); HTTPS to plain HTTP is never followed.
    pub allow_cross_origin_redirects: bool,
}

/// Default of [`ClientSettings::max_response_bytes`]: 64 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 << 20;

/// Default of [`ClientSettings::max_buffered_bytes`]: 128 MiB per target, two bodies at
/// the full per-response cap.
pub const DEFAULT_MAX_BUFFERED_BYTES: u64 = 128 << 20;

impl ClientSettings {
    pub fn new(vendor: Vendor, target: &str, base_url: Url) -> Self {
        ClientSettings {
            vendor,
            target: target.to_owned(),
            base_url,
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 4,
            tls: TlsSettings::default(),
            proxy_url: None,
            default_headers: HeaderMap::new(),
            max_retries: 3,
            max_retry_after: Duration::from_secs(60),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            max_buffered_bytes: DEFAULT_MAX_BUFFERED_BYTES,
            allow_cross_origin_redirects: false,
        }
    }
}
