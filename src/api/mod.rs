//! The HTTP client layer every vendor adapter shares.
//!
//! One [`ApiClient`] per target. It owns connection reuse, timeouts, the per-target cap on
//! concurrent requests, the login (one in flight at a time, shared by every request that
//! needs it, renewed before expiry and once more on a 401), `Retry-After` on 429 and 503,
//! request metrics, and the scrubbing of secrets from every error. Adapters only say what
//! to ask for and how to log in.

mod client;
mod credential;
mod error;
mod metrics;
mod redact;
mod request;
mod settings;

pub use client::{ApiClient, install_crypto_provider};
pub use credential::{Authenticator, Credential, ErrorDecoder};
pub use error::ApiError;
pub use metrics::{ApiMetrics, RequestLabels, TargetLabels};
pub use redact::Redactor;
pub use request::{Body, Request, Response, decode_json};
pub use settings::{ClientSettings, TlsSettings};
