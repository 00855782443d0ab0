//! The HTTP client layer every vendor adapter shares.
//!
//! One [`ApiClient`] per target. It owns connection reuse, timeouts, the per-target cap on
//! concurrent requests, the login (one in flight at a time, shared by every request that
//! needs it, renewed before expiry and once more on a 401), `Retry-After` on 429 and 503,
//! request metrics, and the scrubbing of secrets from every error. It also keeps a vendor
//! from hurting the process: every body is read with a cap per response and a byte budget
//! per target (`body`), and redirects are followed within the request's origin only, never
//! carrying a credential or a body elsewhere (`redirect`). Adapters only say what to ask
//! for and how to log in.

mod body;
mod client;
mod credential;
mod envelope;
mod error;
mod metrics;
mod redact;
mod redirect;
mod request;
mod settings;

pub use client::{ApiClient, install_crypto_provider};
pub use credential::{Authenticator, Credential, ErrorDecoder};
pub use envelope::required_list;
pub use error::{ApiError, ByteSize};
pub use metrics::{ApiMetrics, RequestLabels, TargetLabels, ValueLabels};
pub use redact::Redactor;
pub use request::{Body, Request, Response, decode_json};
pub use settings::{
    ClientSettings, DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_RESPONSE_BYTES, TlsSettings,
    load_ca_bundle,
};
