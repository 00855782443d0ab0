//! A client-side token bucket for Clumio's gateway limit.
//!
//! Clumio allows 100 requests per second per organization and answers 429 beyond that.
//! Several targets may share one organization (one target per organizational unit is a
//! common layout), so the bucket is shared by every target that talks to the same portal
//! URL, and it runs well under the limit: the 429 back-off in the shared client is the
//! safety net, not the plan.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Sustained requests per second per portal, half of Clumio's limit.
pub const REQUESTS_PER_SECOND: f64 = 50.0;
/// How many requests may go at once after a quiet spell.
pub const BURST: u32 = 20;

#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    state: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    /// May go negative: callers that reserved ahead of time are queued behind each other.
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new(per_second: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        RateLimiter {
            per_second: per_second.max(0.001),
            burst,
            state: Mutex::new(Bucket {
                tokens: burst,
                at: Instant::now(),
            }),
        }
    }

    /// Takes one request slot at `now` and says how long to wait before using it. Every
    /// caller gets a distinct slot, so concurrent callers leave one after the other.
    pub fn reserve_at(&self, now: Instant) -> Duration {
        let mut b = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if now > b.at {
            let refill = now.duration_since(b.at).as_secs_f64() * self.per_second;
            b.tokens = (b.tokens + refill).min(self.burst);
            b.at = now;
        }
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / self.per_second)
        }
    }

    /// Waits for a request slot.
    pub async fn acquire(&self) {
        let wait = self.reserve_at(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// The bucket for one portal (scheme, host and port), shared by every target using it.
pub fn for_portal(url: &url::Url) -> Arc<RateLimiter> {
    static BUCKETS: OnceLock<Mutex<HashMap<String, Arc<RateLimiter>>>> = OnceLock::new();
    let key = format!(
        "{}://{}:{}",
        url.scheme(),
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    );
    let map = BUCKETS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    map.entry(key)
        .or_insert_with(|| Arc::new(RateLimiter::new(REQUESTS_PER_SECOND, BURST)))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The send times of `n` requests all asked for at `t0`.
    fn send_times(limiter: &RateLimiter, t0: Instant, n: usize) -> Vec<Instant> {
        (0..n).map(|_| t0 + limiter.reserve_at(t0)).collect()
    }

    #[test]
    fn a_burst_goes_at_once_and_the_rest_is_spaced_at_the_rate() {
        let t0 = Instant::now();
        let l = RateLimiter::new(50.0, 20);
        let times = send_times(&l, t0, 120);
        assert!(times[..20].iter().all(|t| *t == t0));
        let last = times[119].duration_since(t0).as_secs_f64();
        // 100 requests beyond the burst at 50/s.
        assert!((last - 2.0).abs() < 0.01, "last request after {last}s");
    }

    #[test]
    fn no_second_ever_holds_more_than_burst_plus_rate_requests() {
        let t0 = Instant::now();
        let l = RateLimiter::new(REQUESTS_PER_SECOND, BURST);
        let times = send_times(&l, t0, 1000);
        let cap = BURST as usize + REQUESTS_PER_SECOND as usize;
        assert!(cap < 100, "the cap must stay under Clumio's 100 requests/s");
        for (i, start) in times.iter().enumerate() {
            let in_window = times[i..]
                .iter()
                .take_while(|t| t.duration_since(*start) < Duration::from_secs(1))
                .count();
            assert!(in_window <= cap, "{in_window} requests within one second");
        }
    }

    #[test]
    fn the_bucket_refills_after_a_quiet_spell_but_not_beyond_the_burst() {
        let t0 = Instant::now();
        let l = RateLimiter::new(10.0, 5);
        send_times(&l, t0, 5);
        assert!(l.reserve_at(t0) > Duration::ZERO);
        let later = t0 + Duration::from_secs(60);
        let times = send_times(&l, later, 6);
        assert_eq!(times.iter().filter(|t| **t == later).count(), 5);
        assert!(times[5] > later);
    }

    #[test]
    fn portals_share_a_bucket_by_origin() {
        let a = for_portal(&"https://us-west-2.api.clumio.com/".parse().unwrap());
        let b = for_portal(&"https://us-west-2.api.clumio.com:443/x".parse().unwrap());
        let c = for_portal(&"https://us-east-1.api.clumio.com/".parse().unwrap());
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }
}
