//! On-demand refresh: `POST /-/refresh?target=NAME` (or every target without `target`)
//! wakes a target's refresh loop now. Disabled unless the config says
//! `refresh_endpoint: {enabled: true}`. A request while the target's refresh is running (or
//! already asked for) joins it; a refresh is never started sooner than `min_interval` after
//! the previous one began, scheduled or asked for (429 with `Retry-After` then), so that a
//! busy post-script cannot multiply the vendor calls.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures::FutureExt as _;
use serde::Deserialize;
use tokio::sync::Notify;

/// Default `refresh_endpoint.min_interval`.
pub const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(60);

/// The config block `refresh_endpoint`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointFile {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default, with = "humantime_serde")]
    pub min_interval: Option<Duration>,
}

impl EndpointFile {
    /// The minimum interval when enabled, `None` when disabled.
    pub fn min_interval(&self) -> Option<Duration> {
        self.enabled
            .then(|| self.min_interval.unwrap_or(DEFAULT_MIN_INTERVAL))
    }
}

/// One target's link between the HTTP handler and its refresh loop.
#[derive(Debug, Default)]
pub struct Trigger {
    wake: Notify,
    running: AtomicBool,
    /// Asked for and not yet begun.
    pending: AtomicBool,
    last_start: Mutex<Option<Instant>>,
}

/// What a request did to one target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Started,
    /// A refresh was running or already asked for: the request joins it.
    Coalesced,
    /// Too soon after the previous refresh began: try again after this.
    TooSoon(Duration),
}

impl Trigger {
    /// The loop begins a refresh (scheduled or asked for).
    pub fn begin(&self) {
        *self.last_start.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        self.running.store(true, Ordering::Release);
        self.pending.store(false, Ordering::Release);
        // A wake-up stored while this refresh was being decided on is answered by it.
        let _ = self.wake.notified().now_or_never();
    }

    /// The loop has published the refresh.
    pub fn end(&self) {
        self.running.store(false, Ordering::Release);
    }

    /// Resolves when a refresh is asked for.
    pub async fn woken(&self) {
        self.wake.notified().await;
    }

    /// Asks for a refresh now, unless one runs or began less than `min_interval` ago.
    pub fn poke(&self, min_interval: Duration) -> Outcome {
        let mut last = self.last_start.lock().unwrap_or_else(|e| e.into_inner());
        if self.running.load(Ordering::Acquire) || self.pending.load(Ordering::Acquire) {
            return Outcome::Coalesced;
        }
        let now = Instant::now();
        if let Some(next) = last.map(|l| l + min_interval)
            && next > now
        {
            return Outcome::TooSoon(next - now);
        }
        *last = Some(now);
        self.pending.store(true, Ordering::Release);
        self.wake.notify_one();
        Outcome::Started
    }
}

/// The endpoint's view of the targets: names beside their triggers.
#[derive(Debug, Default)]
pub struct Refresher {
    /// `None`: the endpoint is disabled.
    pub min_interval: Option<Duration>,
    pub targets: Vec<(String, std::sync::Arc<Trigger>)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poke_starts_once_then_coalesces_then_waits_the_minimum() {
        let t = Trigger::default();
        let min = Duration::from_secs(60);
        assert_eq!(t.poke(min), Outcome::Started, "never refreshed: starts");
        assert_eq!(t.poke(min), Outcome::Coalesced, "asked for, not begun");
        t.begin();
        assert_eq!(t.poke(min), Outcome::Coalesced, "running");
        t.end();
        match t.poke(min) {
            Outcome::TooSoon(d) => assert!(d > Duration::from_secs(58) && d <= min, "{d:?}"),
            o => panic!("{o:?}"),
        }
        assert_eq!(t.poke(Duration::ZERO), Outcome::Started);
    }

    #[test]
    fn a_scheduled_refresh_counts_for_the_minimum() {
        let t = Trigger::default();
        t.begin();
        t.end();
        assert!(matches!(
            t.poke(Duration::from_secs(10)),
            Outcome::TooSoon(_)
        ));
    }

    #[test]
    fn the_endpoint_is_off_unless_enabled() {
        assert_eq!(EndpointFile::default().min_interval(), None);
        let on = EndpointFile {
            enabled: true,
            min_interval: None,
        };
        assert_eq!(on.min_interval(), Some(DEFAULT_MIN_INTERVAL));
    }
}
