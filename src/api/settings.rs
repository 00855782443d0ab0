//! How one target's client is set up: base URL, timeouts, TLS, proxy, concurrency.

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
}

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
        }
    }
}
