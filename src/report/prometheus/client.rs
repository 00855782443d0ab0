//! A small client for the Prometheus HTTP query API (`/api/v1/query`,
//! `/api/v1/query_range`), which Thanos, Mimir and VictoriaMetrics speak as well.
//!
//! Queries go as POST forms, so a long target regex never hits a URL length limit. Range
//! queries are cut into pieces of at most [`MAX_POINTS`] steps: Prometheus refuses more
//! than 11,000 points per series, and smaller pieces keep its memory per query bounded.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::Deserialize;
use url::Url;

/// Steps per range query piece (Prometheus's limit is 11,000 points per series).
pub const MAX_POINTS: i64 = 10_000;

/// The most bytes one query answer may have (256 MiB): far above what a range piece of
/// [`MAX_POINTS`] steps over a fleet's series takes, and a bound on what a broken or
/// hostile server (an endless body) can make the report hold.
pub const MAX_BODY_BYTES: u64 = 256 << 20;

#[derive(Debug, thiserror::Error)]
#[error("Prometheus {endpoint}: {detail}")]
pub struct PromError {
    pub endpoint: String,
    pub detail: String,
}

/// One series of a result: its labels and its samples (seconds, value), oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub samples: Vec<(f64, f64)>,
}

impl Series {
    pub fn label(&self, name: &str) -> &str {
        self.labels.get(name).map(String::as_str).unwrap_or("")
    }
}

pub struct PromClient {
    http: reqwest::Client,
    base: Url,
    max_body: u64,
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    data: Option<Data>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct VectorSample {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: (f64, String),
}

#[derive(Deserialize)]
struct MatrixSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    values: Vec<(f64, String)>,
}

/// Seconds as Prometheus accepts them (a decimal number).
fn seconds(t: Timestamp) -> String {
    let ms = t.as_millisecond();
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        format!("{:.3}", ms as f64 / 1000.0)
    }
}

fn value(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| !v.is_nan())
}

impl PromClient {
    pub fn new(base: Url, timeout: Duration) -> Result<PromClient, PromError> {
        crate::api::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10).min(timeout))
            .timeout(timeout)
            .user_agent(concat!("backup-exporter/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PromError {
                endpoint: base.to_string(),
                detail: format!("HTTP client: {e}"),
            })?;
        Ok(PromClient {
            http,
            base,
            max_body: MAX_BODY_BYTES,
        })
    }

    /// The same client with another cap on answer bodies (tests use a small one).
    pub fn with_max_body(mut self, bytes: u64) -> Self {
        self.max_body = bytes.max(1);
        self
    }

    /// The body of `resp`, read up to [`PromClient::max_body`] bytes: a `Content-Length`
    /// above it is refused before anything is read, and a body growing past it (chunked,
    /// endless) stops there.
    async fn bounded_body(
        &self,
        mut resp: reqwest::Response,
        err: impl Fn(String) -> PromError,
    ) -> Result<Vec<u8>, PromError> {
        let cap = self.max_body;
        let limit = || crate::api::ByteSize(cap);
        if let Some(n) = resp.content_length()
            && n > cap
        {
            return Err(err(format!(
                "response body of {} is over the {} limit; nothing read",
                crate::api::ByteSize(n),
                limit()
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| err(format!("reading the response: {}", e.without_url())))?
        {
            if body.len() as u64 + chunk.len() as u64 > cap {
                return Err(err(format!(
                    "response body over the {} limit; reading stopped there",
                    limit()
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn url(&self, path: &str) -> Result<Url, PromError> {
        let base = self.base.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/{path}")).map_err(|e| PromError {
            endpoint: path.to_owned(),
            detail: format!("bad URL: {e}"),
        })
    }

    async fn post(&self, path: &str, form: &[(&str, String)]) -> Result<Data, PromError> {
        let endpoint = format!("POST /{path}");
        let err = |detail: String| PromError {
            endpoint: endpoint.clone(),
            detail,
        };
        let resp = self
            .http
            .post(self.url(path)?)
            .form(form)
            .send()
            .await
            .map_err(|e| {
                if e.is_timeout() {
                    err("timed out".into())
                } else {
                    err(format!("no response: {}", e.without_url()))
                }
            })?;
        let status = resp.status();
        let body = self.bounded_body(resp, err).await?;
        decode_envelope(&endpoint, status, &body)
    }

    /// An instant query at `at`: a vector (one sample per series), or a matrix of raw
    /// samples when the query is a range selector.
    pub async fn instant(&self, query: &str, at: Timestamp) -> Result<Vec<Series>, PromError> {
        let data = self
            .post(
                "api/v1/query",
                &[("query", query.to_owned()), ("time", seconds(at))],
            )
            .await?;
        instant_series(data)
    }

    /// A range query over `[from, to]`, in pieces; the series of all pieces are merged.
    pub async fn range(
        &self,
        query: &str,
        from: Timestamp,
        to: Timestamp,
        step: Duration,
    ) -> Result<Vec<Series>, PromError> {
        let step_s = step.as_secs().max(1) as i64;
        let piece = jiff::SignedDuration::from_secs(step_s * MAX_POINTS);
        let mut merged: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
        let mut start = from;
        while start <= to {
            let end = (start + piece).min(to);
            let data = self
                .post(
                    "api/v1/query_range",
                    &[
                        ("query", query.to_owned()),
                        ("start", seconds(start)),
                        ("end", seconds(end)),
                        ("step", step_s.to_string()),
                    ],
                )
                .await?;
            for s in range_series(data)? {
                merged.entry(s.labels).or_default().extend(s.samples);
            }
            start = end + jiff::SignedDuration::from_secs(step_s);
        }
        Ok(merged
            .into_iter()
            .map(|(labels, mut samples)| {
                samples.sort_by(|a, b| a.0.total_cmp(&b.0));
                Series { labels, samples }
            })
            .collect())
    }
}

/// The query API envelope of a response body: its `data` on `"status": "success"`, else
/// the error it names (or that it is not a query API response at all).
fn decode_envelope(
    endpoint: &str,
    status: impl std::fmt::Display,
    body: &[u8],
) -> Result<Data, PromError> {
    let err = |detail: String| PromError {
        endpoint: endpoint.to_owned(),
        detail,
    };
    let env: Envelope = serde_json::from_slice(body).map_err(|e| {
        let text = String::from_utf8_lossy(body);
        let first = text
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>();
        err(format!(
            "HTTP {status}: not a query API response ({e}): {first}"
        ))
    })?;
    if env.status != "success" {
        return Err(err(format!(
            "HTTP {status}: {}: {}",
            env.error_type.unwrap_or_default(),
            env.error.unwrap_or_default()
        )));
    }
    env.data
        .ok_or_else(|| err("the response has no data".into()))
}

/// The series of an instant query's `data`: a vector (one sample per series), or a matrix
/// of raw samples when the query is a range selector.
fn instant_series(data: Data) -> Result<Vec<Series>, PromError> {
    let bad = |detail: String| PromError {
        endpoint: "POST /api/v1/query".into(),
        detail,
    };
    match data.result_type.as_str() {
        "vector" => {
            let samples: Vec<VectorSample> = serde_json::from_value(data.result)
                .map_err(|e| bad(format!("bad vector result: {e}")))?;
            Ok(samples
                .into_iter()
                .map(|s| Series {
                    labels: s.metric,
                    samples: value(&s.value.1)
                        .map(|v| (s.value.0, v))
                        .into_iter()
                        .collect(),
                })
                .collect())
        }
        "matrix" => matrix(data.result).map_err(bad),
        other => Err(bad(format!("expected a vector or matrix, got {other:?}"))),
    }
}

/// The series of one range query piece's `data` (a matrix).
fn range_series(data: Data) -> Result<Vec<Series>, PromError> {
    let bad = |detail: String| PromError {
        endpoint: "POST /api/v1/query_range".into(),
        detail,
    };
    if data.result_type != "matrix" {
        return Err(bad(format!(
            "expected a matrix result, got {:?}",
            data.result_type
        )));
    }
    matrix(data.result).map_err(bad)
}

/// The series of a matrix result (instant or range query); the error is the detail.
fn matrix(result: serde_json::Value) -> Result<Vec<Series>, String> {
    let series: Vec<MatrixSeries> =
        serde_json::from_value(result).map_err(|e| format!("bad matrix result: {e}"))?;
    Ok(series
        .into_iter()
        .map(|s| Series {
            labels: s.metric,
            samples: s
                .values
                .iter()
                .filter_map(|(t, v)| value(v).map(|v| (*t, v)))
                .collect(),
        })
        .collect())
}

/// A range query piece's response body as [`PromClient::range`] reads it (the fuzzing
/// entry point; `crate::fuzzing`).
#[doc(hidden)]
pub fn decode_range(body: &[u8]) -> Result<Vec<Series>, PromError> {
    range_series(decode_envelope("POST /api/v1/query_range", "200 OK", body)?)
}

/// An instant query's response body as [`PromClient::instant`] reads it (the fuzzing entry
/// point; `crate::fuzzing`).
#[doc(hidden)]
pub fn decode_instant(body: &[u8]) -> Result<Vec<Series>, PromError> {
    instant_series(decode_envelope("POST /api/v1/query", "200 OK", body)?)
}

/// A PromQL string literal of `s`.
pub fn exact_string(s: &str) -> String {
    let mut lit = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => lit.push_str("\\\\"),
            '"' => lit.push_str("\\\""),
            '\n' => lit.push_str("\\n"),
            c => lit.push(c),
        }
    }
    lit.push('"');
    lit
}

/// A PromQL string literal that matches exactly one of `names` as a regex alternation.
pub fn exact_alternation(names: &[&str]) -> String {
    let alts: Vec<String> = names
        .iter()
        .map(|n| {
            let mut s = String::new();
            for c in n.chars() {
                if "\\.+*?()|[]{}^$".contains(c) {
                    s.push('\\');
                }
                s.push(c);
            }
            s
        })
        .collect();
    // Inside a double-quoted PromQL string, backslashes and quotes are escaped once more.
    exact_string(&alts.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_matched_literally() {
        assert_eq!(exact_alternation(&["a", "b.c"]), r#""a|b\\.c""#);
        assert_eq!(exact_alternation(&["x\"y"]), r#""x\"y""#);
        assert_eq!(
            seconds("2026-01-01T00:00:00Z".parse().unwrap()),
            "1767225600"
        );
        assert_eq!(
            seconds("2026-01-01T00:00:00.25Z".parse().unwrap()),
            "1767225600.250"
        );
    }
}
