//! Switchable faults for the simulators: latency, 5xx, 429, truncated and malformed bodies,
//! and expiring every token a vendor has issued. Set at start (`simulate --fault SPEC`) and
//! at run time (`PUT /-/faults` with one spec per line, `DELETE /-/faults` to clear).
//!
//! A spec is `[VENDOR:]KIND[=VALUE]`: `latency=300ms`, `cloutility:5xx=0.2`, `429=1`,
//! `truncate=0.1`, `malformed=0.1`, `clumio:expire-tokens`. Probabilities are 0..=1; 1 makes
//! a fault deterministic, which is what tests use.
//!
//! Variation real accounts show (not faults): `refuse=PATH[@STATUS]` answers `STATUS` (403,
//! the default: a data source not enabled, a role without that permission; 404: a release
//! without that endpoint; `@500`, `@502` or `@503` make that one listing fail instead) in the
//! vendor's own error shape; `missing=PATH` is `refuse=PATH@404`. A `PATH` with a leading `/`
//! is relative to the vendor's prefix and covers everything below it
//! (`clumio:refuse=/datasources/aws/ec2-instances`); one without matches the end of the
//! request path segment by segment, `*` standing for any one segment
//! (`cloutility:missing=auditlogs`, `cloudsync:missing=audit/*`). Several specs add up.
//! `slow=PATH@DURATION` delays the answers of the paths it covers (same patterns) by
//! `DURATION`, on top of `latency` (`clumio:slow=/tasks@3s`). `empty=PATH` answers those
//! paths `200 {}`: a vendor (or a proxy in front of it) that lost its list envelope
//! (`cloutility:empty=consumers`); it is kept as `refuse=PATH@200`. `redirect=PATH@URL`
//! answers those paths `307` (`@URL@308`: `308`) to `URL` (a vendor or proxy sending the
//! client elsewhere; tests put a capturing server there).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngExt;

use crate::model::Vendor;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultSet {
    pub latency: Option<Duration>,
    pub http_5xx: f64,
    pub http_429: f64,
    pub truncate: f64,
    pub malformed: f64,
    /// Paths refused with a status: `(pattern, status)`, in the order set.
    pub refuse: Vec<(String, u16)>,
    /// Paths answered only after a delay: `(pattern, delay)`, in the order set.
    pub slow: Vec<(String, Duration)>,
    /// Paths redirected elsewhere: `(pattern, status, location)`, in the order set.
    pub redirect: Vec<(String, u16, String)>,
}

impl FaultSet {
    /// The status a `refuse` spec gives `path` (relative to the vendor's prefix), if any.
    pub fn refused(&self, path: &str) -> Option<StatusCode> {
        self.refuse
            .iter()
            .find(|(p, _)| path_matches(p, path))
            .and_then(|(_, s)| StatusCode::from_u16(*s).ok())
    }

    /// Where a `redirect` spec sends `path`, if anywhere, and with which status.
    pub fn redirected(&self, path: &str) -> Option<(StatusCode, &str)> {
        self.redirect
            .iter()
            .find(|(p, _, _)| path_matches(p, path))
            .and_then(|(_, s, to)| Some((StatusCode::from_u16(*s).ok()?, to.as_str())))
    }

    /// The extra delay a `slow` spec gives `path`, if any.
    pub fn slowed(&self, path: &str) -> Option<Duration> {
        self.slow
            .iter()
            .find(|(p, _)| path_matches(p, path))
            .map(|(_, d)| *d)
    }
}

/// Whether a `refuse`/`slow` pattern covers `path`: a pattern with a leading `/` covers
/// that path and everything below it; one without matches the end of the path segment by
/// segment, `*` standing for any one segment.
fn path_matches(p: &str, path: &str) -> bool {
    let trimmed = path.trim_end_matches('/');
    if p.starts_with('/') {
        return trimmed == p
            || trimmed
                .strip_prefix(p)
                .is_some_and(|rest| rest.starts_with('/'));
    }
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let pat: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
    !pat.is_empty()
        && pat.len() <= segs.len()
        && pat
            .iter()
            .zip(&segs[segs.len() - pat.len()..])
            .all(|(p, s)| *p == "*" || p == s)
}

#[derive(Clone, Debug, PartialEq)]
pub enum FaultSpec {
    Set {
        vendor: Option<Vendor>,
        fault: Fault,
    },
    ExpireTokens {
        vendor: Option<Vendor>,
    },
    Clear {
        vendor: Option<Vendor>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    Latency(Duration),
    Http5xx(f64),
    Http429(f64),
    Truncate(f64),
    Malformed(f64),
    /// Answer a path (and everything below it) with a 403 or 404 (or a 5xx), or with 200
    /// and `{}` (`empty=`).
    Refuse {
        path: String,
        status: u16,
    },
    /// Answer a path (and everything below it) with a 307 or 308 to another URL.
    Redirect {
        path: String,
        status: u16,
        to: String,
    },
    /// Answer a path (and everything below it) only after a delay.
    Slow {
        path: String,
        delay: Duration,
    },
}

impl std::str::FromStr for FaultSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (vendor, rest) = match s.split_once(':') {
            Some((v, rest)) if v != "*" => (Some(v.parse::<Vendor>()?), rest),
            Some((_, rest)) => (None, rest),
            None => (None, s),
        };
        let (kind, value) = match rest.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (rest.trim(), None),
        };
        let prob = |v: Option<&str>| -> Result<f64, String> {
            let v = v.unwrap_or("1");
            let p: f64 = v
                .parse()
                .map_err(|_| format!("fault {s:?}: {v:?} is not a probability"))?;
            if !(0.0..=1.0).contains(&p) {
                return Err(format!("fault {s:?}: probability must be within 0..=1"));
            }
            Ok(p)
        };
        let fault = match kind {
            "expire-tokens" => return Ok(FaultSpec::ExpireTokens { vendor }),
            "clear" | "none" => return Ok(FaultSpec::Clear { vendor }),
            "latency" => Fault::Latency(
                humantime::parse_duration(value.unwrap_or(""))
                    .map_err(|e| format!("fault {s:?}: latency: {e}"))?,
            ),
            "5xx" => Fault::Http5xx(prob(value)?),
            "429" => Fault::Http429(prob(value)?),
            "truncate" => Fault::Truncate(prob(value)?),
            "malformed" => Fault::Malformed(prob(value)?),
            "slow" => {
                let value = value.unwrap_or("");
                let Some((path, delay)) = value.rsplit_once('@') else {
                    return Err(format!(
                        "fault {s:?}: slow needs PATH@DURATION, e.g. clumio:slow=/tasks@3s"
                    ));
                };
                let delay = humantime::parse_duration(delay.trim())
                    .map_err(|e| format!("fault {s:?}: slow: {e}"))?;
                let path = path.trim();
                let path = if path.starts_with('/') {
                    path.trim_end_matches('/')
                } else {
                    path.trim_matches('/')
                };
                if path.trim_matches('/').is_empty() {
                    return Err(format!("fault {s:?}: slow needs a path"));
                }
                if !path.starts_with('/') && vendor.is_none() {
                    return Err(format!(
                        "fault {s:?}: slow of a path end needs a vendor, e.g. cloudsync:slow={path}@3s"
                    ));
                }
                Fault::Slow {
                    path: path.to_owned(),
                    delay,
                }
            }
            "redirect" => {
                let value = value.unwrap_or("");
                let mut parts = value.split('@');
                let (path, to) = (
                    parts.next().unwrap_or("").trim(),
                    parts.next().unwrap_or(""),
                );
                let status = match parts.next().map(str::trim) {
                    None | Some("307") => 307,
                    Some("308") => 308,
                    Some(other) => {
                        return Err(format!(
                            "fault {s:?}: redirect answers 307 or 308, not {other:?}"
                        ));
                    }
                };
                if path.is_empty() || to.is_empty() || vendor.is_none() {
                    return Err(format!(
                        "fault {s:?}: redirect needs a vendor, a path and a URL, e.g. cloudtower:redirect=login@http://127.0.0.1:9/steal"
                    ));
                }
                Fault::Redirect {
                    path: path.to_owned(),
                    status,
                    to: to.trim().to_owned(),
                }
            }
            "refuse" | "missing" | "empty" => {
                let value = value.unwrap_or("");
                let (path, status) = match value.rsplit_once('@') {
                    Some((p, st)) if kind == "refuse" => (p, st.trim()),
                    _ if kind == "missing" => (value, "404"),
                    _ if kind == "empty" => (value, "200"),
                    _ => (value, "403"),
                };
                let status = match status {
                    "200" if kind == "empty" => 200,
                    "403" => 403,
                    "404" => 404,
                    "500" => 500,
                    "502" => 502,
                    "503" => 503,
                    other => {
                        return Err(format!(
                            "fault {s:?}: refuse answers 403, 404, 500, 502 or 503, not {other:?}"
                        ));
                    }
                };
                let path = path.trim();
                let path = if path.starts_with('/') {
                    path.trim_end_matches('/')
                } else {
                    path.trim_matches('/')
                };
                if path.trim_matches('/').is_empty() {
                    return Err(format!(
                        "fault {s:?}: {kind} needs a path, e.g. {kind}=/datasources/aws/ec2-instances or {kind}=auditlogs"
                    ));
                }
                if !path.starts_with('/') && vendor.is_none() {
                    return Err(format!(
                        "fault {s:?}: {kind} of a path end needs a vendor, e.g. cloudsync:{kind}={path}"
                    ));
                }
                Fault::Refuse {
                    path: path.to_owned(),
                    status,
                }
            }
            other => {
                return Err(format!(
                    "fault {s:?}: unknown kind {other:?} (latency, slow, 5xx, 429, truncate, malformed, refuse, missing, empty, redirect, expire-tokens, clear)"
                ));
            }
        };
        Ok(FaultSpec::Set { vendor, fault })
    }
}

/// The fault switchboard shared by every simulator in one process.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    inner: Arc<RwLock<State_>>,
}

#[derive(Debug, Default)]
struct State_ {
    sets: HashMap<Option<Vendor>, FaultSet>,
    token_epochs: HashMap<Vendor, u64>,
}

impl Faults {
    pub fn apply(&self, spec: &FaultSpec) {
        let mut st = self.inner.write().unwrap_or_else(|e| e.into_inner());
        match spec {
            FaultSpec::Set { vendor, fault } => {
                let set = st.sets.entry(*vendor).or_default();
                match fault {
                    Fault::Latency(d) => set.latency = Some(*d),
                    Fault::Http5xx(p) => set.http_5xx = *p,
                    Fault::Http429(p) => set.http_429 = *p,
                    Fault::Truncate(p) => set.truncate = *p,
                    Fault::Malformed(p) => set.malformed = *p,
                    Fault::Refuse { path, status } => {
                        set.refuse.retain(|(p, _)| p != path);
                        set.refuse.push((path.clone(), *status));
                    }
                    Fault::Redirect { path, status, to } => {
                        set.redirect.retain(|(p, _, _)| p != path);
                        set.redirect.push((path.clone(), *status, to.clone()));
                    }
                    Fault::Slow { path, delay } => {
                        set.slow.retain(|(p, _)| p != path);
                        set.slow.push((path.clone(), *delay));
                    }
                }
            }
            FaultSpec::Clear { vendor: None } => st.sets.clear(),
            FaultSpec::Clear { vendor: Some(v) } => {
                st.sets.remove(&Some(*v));
            }
            FaultSpec::ExpireTokens { vendor } => {
                let vendors: Vec<Vendor> = match vendor {
                    Some(v) => vec![*v],
                    None => Vendor::ALL.to_vec(),
                };
                for v in vendors {
                    *st.token_epochs.entry(v).or_default() += 1;
                }
            }
        }
    }

    pub fn clear(&self) {
        self.apply(&FaultSpec::Clear { vendor: None });
    }

    /// The faults in force for `vendor`: its own, else the ones set for all vendors.
    pub fn for_vendor(&self, vendor: Vendor) -> FaultSet {
        let st = self.inner.read().unwrap_or_else(|e| e.into_inner());
        st.sets
            .get(&Some(vendor))
            .or_else(|| st.sets.get(&None))
            .cloned()
            .unwrap_or_default()
    }

    /// Bumped by `expire-tokens`; a token issued in an older epoch is expired.
    pub fn token_epoch(&self, vendor: Vendor) -> u64 {
        let st = self.inner.read().unwrap_or_else(|e| e.into_inner());
        st.token_epochs.get(&vendor).copied().unwrap_or(0)
    }

    pub fn describe(&self) -> String {
        let st = self.inner.read().unwrap_or_else(|e| e.into_inner());
        let mut lines: Vec<String> = st
            .sets
            .iter()
            .map(|(v, s)| {
                format!(
                    "{}: {s:?}",
                    v.map(|v| v.as_str().to_owned()).unwrap_or("*".into())
                )
            })
            .collect();
        lines.sort();
        lines.join("\n")
    }
}

/// How a vendor's simulator writes an error body (each vendor has its own shape).
pub type ErrorResponder = fn(StatusCode, &str) -> Response;

#[derive(Clone)]
pub struct FaultLayerState {
    pub faults: Faults,
    pub vendor: Vendor,
    pub error: ErrorResponder,
}

/// Middleware applied to each vendor's router.
pub async fn inject(State(st): State<FaultLayerState>, req: Request, next: Next) -> Response {
    let set = st.faults.for_vendor(st.vendor);
    if let Some(d) = set.latency {
        tokio::time::sleep(d).await;
    }
    if let Some(d) = set.slowed(req.uri().path()) {
        tokio::time::sleep(d).await;
    }
    let (r429, r5xx, rtrunc, rmal) = {
        let mut rng = rand::rng();
        (
            rng.random::<f64>(),
            rng.random::<f64>(),
            rng.random::<f64>(),
            rng.random::<f64>(),
        )
    };
    if r429 < set.http_429 {
        let mut resp = (st.error)(StatusCode::TOO_MANY_REQUESTS, "Too many requests");
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        return resp;
    }
    if r5xx < set.http_5xx {
        return (st.error)(StatusCode::INTERNAL_SERVER_ERROR, "Internal server error");
    }
    if let Some((status, to)) = set.redirected(req.uri().path()) {
        return (status, [(axum::http::header::LOCATION, to.to_owned())]).into_response();
    }
    if let Some(status) = set.refused(req.uri().path()) {
        if status == StatusCode::OK {
            return (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                "{}",
            )
                .into_response();
        }
        let message = match status {
            StatusCode::NOT_FOUND => "Not found: this release has no such resource",
            StatusCode::FORBIDDEN => "Forbidden: this account is not allowed to read this resource",
            _ => "Internal server error",
        };
        return (st.error)(status, message);
    }
    let resp = next.run(req).await;
    if rtrunc < set.truncate || rmal < set.malformed {
        let (mut parts, body) = resp.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        parts.headers.remove("content-length");
        let out: Vec<u8> = if rmal < set.malformed {
            b"<html><body>Bad gateway</body>".to_vec()
        } else {
            bytes[..bytes.len() / 2].to_vec()
        };
        return Response::from_parts(parts, Body::from(out));
    }
    resp
}

/// A plain JSON error, for simulators whose vendor has no error shape of its own.
pub fn plain_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "message": message })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_delays_only_the_paths_it_names() {
        let f = Faults::default();
        f.apply(&"clumio:slow=tasks@3s".parse::<FaultSpec>().unwrap());
        let set = f.for_vendor(Vendor::Clumio);
        assert_eq!(set.slowed("/tasks"), Some(Duration::from_secs(3)));
        assert_eq!(set.slowed("/audit-trails"), None);
        assert!("slow=tasks".parse::<FaultSpec>().is_err());
        f.apply(&"clumio:empty=/tasks".parse::<FaultSpec>().unwrap());
        let set = f.for_vendor(Vendor::Clumio);
        assert_eq!(set.refused("/tasks"), Some(StatusCode::OK));
        assert!(
            "empty=tasks".parse::<FaultSpec>().is_err(),
            "a path end needs a vendor"
        );
        assert!(
            "slow=tasks@3s"
                .parse::<FaultSpec>()
                .unwrap_err()
                .contains("needs a vendor")
        );
        assert!("clumio:slow=@3s".parse::<FaultSpec>().is_err());
    }

    #[test]
    fn specs_parse() {
        assert_eq!(
            "cloutility:5xx=0.5".parse::<FaultSpec>().unwrap(),
            FaultSpec::Set {
                vendor: Some(Vendor::Cloutility),
                fault: Fault::Http5xx(0.5)
            }
        );
        assert_eq!(
            "latency=250ms".parse::<FaultSpec>().unwrap(),
            FaultSpec::Set {
                vendor: None,
                fault: Fault::Latency(Duration::from_millis(250))
            }
        );
        assert_eq!(
            "clumio:expire-tokens".parse::<FaultSpec>().unwrap(),
            FaultSpec::ExpireTokens {
                vendor: Some(Vendor::Clumio)
            }
        );
        assert_eq!(
            "clumio:refuse=/datasources/aws/ec2-instances@404"
                .parse::<FaultSpec>()
                .unwrap(),
            FaultSpec::Set {
                vendor: Some(Vendor::Clumio),
                fault: Fault::Refuse {
                    path: "/datasources/aws/ec2-instances".into(),
                    status: 404
                }
            }
        );
        assert!(matches!(
            "refuse=/actifio/event/".parse::<FaultSpec>().unwrap(),
            FaultSpec::Set { fault: Fault::Refuse { status: 403, ref path }, .. } if path == "/actifio/event"
        ));
        assert!("refuse=/x@418".parse::<FaultSpec>().is_err());
        assert!("refuse=/x@503".parse::<FaultSpec>().is_ok());
        assert!("refuse=".parse::<FaultSpec>().is_err());
        assert!("5xx=2".parse::<FaultSpec>().is_err());
        assert!("veeam:5xx".parse::<FaultSpec>().is_err());
        assert!(
            "explode"
                .parse::<FaultSpec>()
                .unwrap_err()
                .contains("unknown kind")
        );
    }

    #[test]
    fn refused_paths_match_by_trailing_segments() {
        let f = Faults::default();
        f.apply(&"cloutility:missing=auditlogs".parse().unwrap());
        f.apply(&"cloutility:refuse=node/filespaces/".parse().unwrap());
        f.apply(
            &"clumio:refuse=/datasources/aws/ec2-instances@404"
                .parse()
                .unwrap(),
        );
        f.apply(&"cloudsync:refuse=audit/*".parse().unwrap());
        let c = f.for_vendor(Vendor::Cloutility);
        assert_eq!(
            c.refused("/v1/bunits/1/consumers/2/auditlogs"),
            Some(StatusCode::NOT_FOUND)
        );
        assert_eq!(
            c.refused("/v1/bunits/1/consumers/2/node/filespaces"),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(c.refused("/v1/bunits/1/consumers/2/node"), None);
        assert_eq!(c.refused("/v1/auditlogs/x"), None);
        let s = f.for_vendor(Vendor::Cloudsync);
        assert_eq!(s.refused("/audit/account-1"), Some(StatusCode::FORBIDDEN));
        assert_eq!(s.refused("/audit/account-1/options"), None);
        let k = f.for_vendor(Vendor::Clumio);
        assert_eq!(
            k.refused("/datasources/aws/ec2-instances/i-1/backups"),
            Some(StatusCode::NOT_FOUND),
            "a leading / covers the listing and everything below it"
        );
        assert_eq!(k.refused("/x/datasources/aws/ec2-instances"), None);
        assert!(
            "refuse=auditlogs"
                .parse::<FaultSpec>()
                .unwrap_err()
                .contains("needs a vendor")
        );
        assert!(
            "clumio:missing="
                .parse::<FaultSpec>()
                .unwrap_err()
                .contains("needs a path")
        );
        f.apply(&"cloutility:refuse=auditlogs".parse().unwrap());
        let c = f.for_vendor(Vendor::Cloutility);
        assert_eq!(
            c.refused("/v1/bunits/1/consumers/2/auditlogs"),
            Some(StatusCode::FORBIDDEN),
            "set again, replaced"
        );
    }

    #[test]
    fn vendor_faults_override_global_ones() {
        let f = Faults::default();
        f.apply(&"5xx=1".parse().unwrap());
        f.apply(&"clumio:429=1".parse().unwrap());
        assert_eq!(f.for_vendor(Vendor::Cloutility).http_5xx, 1.0);
        assert_eq!(f.for_vendor(Vendor::Clumio).http_5xx, 0.0);
        assert_eq!(f.for_vendor(Vendor::Clumio).http_429, 1.0);
        f.apply(&"clumio:refuse=/alerts".parse().unwrap());
        f.apply(&"clumio:refuse=/tasks@404".parse().unwrap());
        let set = f.for_vendor(Vendor::Clumio);
        assert_eq!(
            set.refused("/alerts/individual"),
            Some(StatusCode::FORBIDDEN)
        );
        assert_eq!(set.refused("/tasks"), Some(StatusCode::NOT_FOUND));
        assert_eq!(set.refused("/alertsx"), None);
        assert_eq!(set.refused("/audit-trails"), None);
        f.apply(&"expire-tokens".parse().unwrap());
        assert_eq!(f.token_epoch(Vendor::Backupdr), 1);
        f.clear();
        assert_eq!(f.for_vendor(Vendor::Clumio), FaultSet::default());
    }
}
