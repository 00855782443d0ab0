//! What a login yields and the trait each vendor's login implements.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::SecretString;

use super::*;

/// What a login yields: headers to put on every authenticated request, and when they stop
/// working.
#[derive(Clone)]
pub struct Credential {
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub expires_at: Option<Instant>,
    /// For OAuth refresh grants; handed back to the authenticator on the next login.
    pub refresh_token: Option<SecretString>,
    /// Anything else the vendor needs to end the session (for example a session id).
    pub session_id: Option<String>,
    pub(super) generation: u64,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("headers", &"[REDACTED]")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl Credential {
    /// Builds a credential from header values; every value is marked sensitive so that
    /// hyper and reqwest never print it.
    pub fn new(headers: Vec<(HeaderName, String)>) -> Result<Self, ApiError> {
        let headers = headers
            .into_iter()
            .map(|(name, value)| {
                let mut v = HeaderValue::from_str(&value).map_err(|_| {
                    ApiError::Config(format!(
                        "the vendor returned a credential that is not a valid {name} header value"
                    ))
                })?;
                v.set_sensitive(true);
                Ok((name, v))
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(Credential {
            headers,
            expires_at: None,
            refresh_token: None,
            session_id: None,
            generation: 0,
        })
    }

    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.expires_at = Some(Instant::now() + lifetime);
        self
    }

    /// Renew a little before expiry: a tenth of the lifetime, at least 10 s and at most 60 s
    /// (Cloutility tokens live 299 s).
    pub(super) fn is_fresh(&self, now: Instant) -> bool {
        match self.expires_at {
            None => true,
            Some(at) => now + Duration::from_secs(15) < at,
        }
    }
}

/// A vendor's login. Implementations use `client.send` with `auth: false`.
#[async_trait]
pub trait Authenticator: Send + Sync {
    /// Obtains a credential. `previous` is the expiring one, for refresh grants; a
    /// refresh that is refused should fall back to a full login.
    async fn login(
        &self,
        client: &ApiClient,
        previous: Option<&Credential>,
    ) -> Result<Credential, ApiError>;

    /// Ends the session on shutdown, where the vendor has sessions.
    async fn logout(&self, _client: &ApiClient, _credential: &Credential) {}
}

/// Turns a vendor's error body into a short message.
pub type ErrorDecoder = fn(&[u8]) -> Option<String>;
