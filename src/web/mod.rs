//! `serve --web-config FILE`: the web configuration file of Prometheus exporter-toolkit
//! (TLS with client certificates, bcrypt basic auth, extra response headers, a rate limit),
//! so that operators can reuse the file they already give their Go exporters.
//!
//! The file is read once at start. Certificate, key and client CA files are re-read while
//! serving (see [`tls::ServerTls::reload_if_changed`]) so rotated certificates are picked
//! up without a restart; users, headers and the rate limit need one.
//!
//! Keys this build cannot honour are refused with an error naming the key, never ignored:
//! an operator who wrote `client_allowed_sans` expects it to be enforced.

pub mod auth;
pub mod conn;
mod limit;
mod protocol;
pub mod tls;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::Response;
use serde::Deserialize;
use serde_json::Value;

pub use auth::BasicAuth;
pub use limit::RateLimit;
pub use tls::ServerTls;

/// What is wrong with a web config file; `Invalid` names the key.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    #[error("cannot read web config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: crate::small_file::SmallFileError,
    },
    #[error("{}: not valid YAML: {message}", path.display())]
    Yaml { path: PathBuf, message: String },
    #[error("{}: {problem}", path.display())]
    Invalid { path: PathBuf, problem: Problem },
}

/// One problem with one key of the file (`tls_server_config.cert_file`, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.key, self.message)
    }
}

impl std::error::Error for Problem {}

/// The file as written. No `Debug`: it holds bcrypt hashes and possibly an inline key.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebFile {
    tls_server_config: Option<tls::TlsFile>,
    http_server_config: Option<HttpFile>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    rate_limit: Option<RateLimitFile>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpFile {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitFile {
    #[serde(default, with = "humantime_serde")]
    interval: Option<Duration>,
    burst: Option<u32>,
}

/// A loaded and checked web config. Cheap to clone (the parts are shared).
#[derive(Clone)]
pub struct WebConfig {
    pub path: PathBuf,
    tls: Option<Arc<ServerTls>>,
    http2: bool,
    auth: Option<Arc<BasicAuth>>,
    headers: Arc<HeaderMap>,
    rate_limit: Option<Arc<RateLimit>>,
}

impl fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebConfig")
            .field("path", &self.path)
            .field("tls", &self.tls.is_some())
            .field("http2", &self.http2)
            .field(
                "basic_auth_users",
                &self.auth.as_ref().map(|a| a.user_count()),
            )
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("rate_limit", &self.rate_limit.is_some())
            .finish()
    }
}

impl WebConfig {
    /// Reads, checks and prepares the file: certificates and keys are loaded now, so that a
    /// bad file stops `serve` at start instead of failing every handshake.
    pub fn load(path: &Path) -> Result<WebConfig, WebConfigError> {
        // Capped and refused unless a regular file, as the config is: `--web-config
        // /dev/zero` fails at once instead of filling memory.
        let text = crate::small_file::read_to_string(path, crate::small_file::CONFIG_FILE_LIMIT)
            .map_err(|source| WebConfigError::Read {
                path: path.to_owned(),
                source,
            })?;
        Self::parse(&text, path)
    }

    /// As [`WebConfig::load`] with the text given; relative file names in it are taken from
    /// the folder of `path`, as exporter-toolkit does.
    pub fn parse(text: &str, path: &Path) -> Result<WebConfig, WebConfigError> {
        let invalid = |problem: Problem| WebConfigError::Invalid {
            path: path.to_owned(),
            problem,
        };
        let doc: Value =
            crate::config::yaml::parse(text).map_err(|message| WebConfigError::Yaml {
                path: path.to_owned(),
                message,
            })?;
        // An empty file is valid (exporter-toolkit serves plain HTTP without auth).
        let file: WebFile = if doc.is_null() {
            WebFile::default()
        } else {
            serde_path_to_error::deserialize(doc).map_err(|e| {
                let key = match e.path().to_string() {
                    p if p == "." => "(top level)".to_owned(),
                    p => p,
                };
                invalid(Problem::new(key, e.inner().to_string()))
            })?
        };
        let base = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };

        let http = file.http_server_config.unwrap_or_default();
        let http2 = http.http2.unwrap_or(true);
        let headers = extra_headers(http.headers.unwrap_or_default()).map_err(invalid)?;
        let auth = match file.basic_auth_users {
            Some(users) if !users.is_empty() => {
                Some(Arc::new(BasicAuth::new(users).map_err(invalid)?))
            }
            _ => None,
        };
        let rate_limit = match file.rate_limit {
            Some(r) => limit::from_file(r.interval, r.burst)
                .map_err(invalid)?
                .map(Arc::new),
            None => None,
        };
        let tls = match file.tls_server_config {
            Some(t) => ServerTls::from_file(t, &base, http2)
                .map_err(invalid)?
                .map(Arc::new),
            None => None,
        };
        Ok(WebConfig {
            path: path.to_owned(),
            tls,
            http2,
            auth,
            headers: Arc::new(headers),
            rate_limit,
        })
    }

    /// The TLS setup when the file asks for TLS; `None` means plain HTTP.
    pub fn tls(&self) -> Option<&Arc<ServerTls>> {
        self.tls.as_ref()
    }

    /// `http_server_config.http2` (default true); only meaningful with TLS.
    pub fn http2(&self) -> bool {
        self.http2
    }

    pub fn basic_auth(&self) -> Option<&Arc<BasicAuth>> {
        self.auth.as_ref()
    }

    /// Wraps every route (and the fallback) the way exporter-toolkit does: rate limit first,
    /// then the extra headers (on every answer, 401 and 429 included), then basic auth.
    /// Nothing is exempt: `/-/healthy` needs credentials too.
    pub fn apply(&self, router: Router) -> Router {
        let mut router = router;
        if let Some(auth) = &self.auth {
            router = router.layer(middleware::from_fn_with_state(auth.clone(), auth::require));
        }
        if !self.headers.is_empty() {
            router = router.layer(middleware::from_fn_with_state(
                self.headers.clone(),
                add_headers,
            ));
        }
        if let Some(limit) = &self.rate_limit {
            router = router.layer(middleware::from_fn_with_state(
                limit.clone(),
                limit::enforce,
            ));
        }
        router
    }
}

/// The headers exporter-toolkit lets a file set, with the values it accepts (empty: any).
/// Keeping the same short list means a file valid here is valid for the Go exporters.
const EXTRA_HEADERS: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

fn extra_headers(given: BTreeMap<String, String>) -> Result<HeaderMap, Problem> {
    let mut headers = HeaderMap::new();
    for (name, value) in given {
        let key = format!("http_server_config.headers.{name}");
        let Some((_, allowed)) = EXTRA_HEADERS
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&name))
        else {
            let names: Vec<&str> = EXTRA_HEADERS.iter().map(|(n, _)| *n).collect();
            return Err(Problem::new(
                key,
                format!(
                    "this header cannot be configured; allowed: {}",
                    names.join(", ")
                ),
            ));
        };
        // "Unset if blank", as the exporter-toolkit docs say.
        if value.is_empty() {
            continue;
        }
        if !allowed.is_empty() && !allowed.contains(&value.as_str()) {
            return Err(Problem::new(
                key,
                format!("{value:?} is not allowed; expected one of {allowed:?}"),
            ));
        }
        let v = HeaderValue::from_str(&value)
            .map_err(|_| Problem::new(&key, "not a valid HTTP header value"))?;
        let n = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Problem::new(&key, "not a valid HTTP header name"))?;
        headers.insert(n, v);
    }
    Ok(headers)
}

async fn add_headers(State(headers): State<Arc<HeaderMap>>, req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    for (name, value) in headers.iter() {
        res.headers_mut().insert(name, value.clone());
    }
    res
}
