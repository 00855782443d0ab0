//! One request to a vendor and its response, as adapters describe and read them.

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;

use super::*;

/// One request. `path` is relative to the target's base URL (a leading `/` is fine), or a
/// full URL for the occasional absolute link a vendor hands out.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Option<Body>,
    pub auth: bool,
}

#[derive(Clone, Debug)]
pub enum Body {
    Json(serde_json::Value),
    Form(Vec<(String, String)>),
}

impl Request {
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Request {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            auth: true,
        }
    }
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }
    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }
    pub fn query(mut self, key: &str, value: impl ToString) -> Self {
        self.query.push((key.to_owned(), value.to_string()));
        self
    }
    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(v) = HeaderValue::from_str(value) {
            self.headers.push((name, v));
        }
        self
    }
    pub fn json(mut self, body: serde_json::Value) -> Self {
        self.body = Some(Body::Json(body));
        self
    }
    pub fn form(mut self, fields: Vec<(String, String)>) -> Self {
        self.body = Some(Body::Form(fields));
        self
    }
    pub fn without_auth(mut self) -> Self {
        self.auth = false;
        self
    }
    pub(super) fn endpoint(&self) -> String {
        let path = match Url::parse(&self.path) {
            Ok(u) => u.path().to_owned(),
            // A relative path may carry its own query (a vendor's next-page link): never
            // part of the endpoint, it may hold a token.
            Err(_) => self.path.split(['?', '#']).next().unwrap_or("").to_owned(),
        };
        format!("{} {}", self.method, path)
    }
}

/// A successful (2xx, or 3xx when redirects are not followed) response with its body read.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub endpoint: String,
    /// This body's part of the target's `max_buffered_bytes`, given back when the response
    /// (and every clone) is dropped.
    pub(super) _hold: Option<std::sync::Arc<super::body::Reservation>>,
}

impl Response {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        decode_json(&self.endpoint, &self.body)
    }

    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Decodes JSON with the path of the offending field in the message.
///
/// The path is tracked only on the second pass, after a plain decode failed: tracking it costs
/// about a sixth of a refresh's instructions (callgrind, issue 12) and is wanted only for the
/// error. Both passes accept the same input (neither checks for trailing bytes).
pub fn decode_json<T: DeserializeOwned>(endpoint: &str, body: &[u8]) -> Result<T, ApiError> {
    if let Ok(value) = T::deserialize(&mut serde_json::Deserializer::from_slice(body)) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let mut detail = format!("at `{}`: {}", e.path(), e.inner());
        if e.inner().is_data() && e.inner().to_string().starts_with("missing field `") {
            detail.push_str(": ");
            detail.push_str(super::envelope::MISSING_ENVELOPE);
        }
        ApiError::Decode {
            endpoint: endpoint.to_owned(),
            detail,
        }
    })
}
