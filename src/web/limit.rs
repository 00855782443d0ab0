//! `rate_limit`: one token bucket for the whole server, as exporter-toolkit has it (Go's
//! `rate.NewLimiter(rate.Every(interval), burst)`): a token comes back every `interval`, at
//! most `burst` are kept, and a request without a token gets 429.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Problem;

pub struct RateLimit {
    interval: Duration,
    burst: u32,
    bucket: Mutex<Bucket>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// `None` when the file switches the limiter off (no interval, or 0, as in Go).
pub(super) fn from_file(
    interval: Option<Duration>,
    burst: Option<u32>,
) -> Result<Option<RateLimit>, Problem> {
    let interval = match interval {
        Some(i) if !i.is_zero() => i,
        _ => return Ok(None),
    };
    match burst {
        None => Err(Problem::new(
            "rate_limit.burst",
            "is required when `rate_limit.interval` is set",
        )),
        // Go's limiter with burst 0 refuses everything; that is never what was meant.
        Some(0) => Err(Problem::new(
            "rate_limit.burst",
            "must be at least 1 (0 would refuse every request)",
        )),
        Some(b) => Ok(Some(RateLimit::new(interval, b, Instant::now()))),
    }
}

impl RateLimit {
    pub fn new(interval: Duration, burst: u32, now: Instant) -> Self {
        RateLimit {
            interval,
            burst,
            bucket: Mutex::new(Bucket {
                tokens: f64::from(burst),
                at: now,
            }),
        }
    }

    /// Takes a token if there is one at `now`.
    pub fn allow(&self, now: Instant) -> bool {
        let mut b = self.bucket.lock().unwrap_or_else(|e| e.into_inner());
        let earned =
            now.saturating_duration_since(b.at).as_secs_f64() / self.interval.as_secs_f64();
        b.tokens = (b.tokens + earned).min(f64::from(self.burst));
        b.at = b.at.max(now);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub(super) async fn enforce(
    State(limit): State<Arc<RateLimit>>,
    req: Request,
    next: Next,
) -> Response {
    if limit.allow(Instant::now()) {
        next.run(req).await
    } else {
        (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests\n").into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_is_served_then_one_request_per_interval() {
        let t0 = Instant::now();
        let l = RateLimit::new(Duration::from_secs(1), 2, t0);
        assert!(l.allow(t0));
        assert!(l.allow(t0));
        assert!(!l.allow(t0));
        assert!(!l.allow(t0 + Duration::from_millis(900)));
        assert!(l.allow(t0 + Duration::from_millis(1000)));
        assert!(!l.allow(t0 + Duration::from_millis(1100)));
        // A long pause refills only up to the burst.
        let later = t0 + Duration::from_secs(60);
        assert!(l.allow(later));
        assert!(l.allow(later));
        assert!(!l.allow(later));
    }

    #[test]
    fn zero_interval_switches_the_limiter_off_and_burst_is_checked() {
        assert!(from_file(Some(Duration::ZERO), Some(5)).unwrap().is_none());
        assert!(from_file(None, None).unwrap().is_none());
        let e = from_file(Some(Duration::from_secs(1)), Some(0))
            .err()
            .unwrap();
        assert_eq!(e.key, "rate_limit.burst");
        let e = from_file(Some(Duration::from_secs(1)), None).err().unwrap();
        assert_eq!(e.key, "rate_limit.burst");
    }
}
