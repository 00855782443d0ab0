//! Wall-clock time, injectable so that tests (and the simulators they run against) can
//! agree on "now" and move it on purpose.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::{SignedDuration, Timestamp};

#[derive(Clone)]
pub struct Clock(Inner);

#[derive(Clone)]
enum Inner {
    System,
    /// Seconds since the epoch (as nanoseconds would not fit in an atomic i64 for long).
    Manual(Arc<AtomicI64>),
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Inner::System => f.write_str("Clock::System"),
            Inner::Manual(_) => write!(f, "Clock::Manual({})", self.now()),
        }
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl Clock {
    pub fn system() -> Self {
        Clock(Inner::System)
    }

    /// A clock that stands still at `at` (whole seconds) until [`Clock::advance`] is called.
    pub fn manual(at: Timestamp) -> Self {
        Clock(Inner::Manual(Arc::new(AtomicI64::new(at.as_second()))))
    }

    pub fn now(&self) -> Timestamp {
        match &self.0 {
            Inner::System => Timestamp::now(),
            Inner::Manual(s) => {
                Timestamp::from_second(s.load(Ordering::SeqCst)).unwrap_or(Timestamp::UNIX_EPOCH)
            }
        }
    }

    /// Moves a manual clock on; a no-op on the system clock.
    pub fn advance(&self, by: std::time::Duration) {
        if let Inner::Manual(s) = &self.0 {
            s.fetch_add(by.as_secs() as i64, Ordering::SeqCst);
        }
    }
}

/// `t - d`, saturating at the epoch rather than failing.
pub fn before(t: Timestamp, d: std::time::Duration) -> Timestamp {
    let d = SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX);
    t.checked_sub(d)
        .ok()
        .filter(|r| *r >= Timestamp::UNIX_EPOCH)
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `t + d`, saturating at the latest time there is rather than failing.
pub fn after(t: Timestamp, d: std::time::Duration) -> Timestamp {
    let d = SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX);
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

/// Seconds from `a` to `b` (negative when `b` is earlier).
pub fn seconds_between(a: Timestamp, b: Timestamp) -> f64 {
    (b.as_nanosecond() - a.as_nanosecond()) as f64 / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = Clock::manual(Timestamp::from_second(1_000).unwrap());
        assert_eq!(c.now().as_second(), 1_000);
        c.advance(std::time::Duration::from_secs(60));
        assert_eq!(c.now().as_second(), 1_060);
        assert_eq!(
            before(c.now(), std::time::Duration::from_secs(2_000)),
            Timestamp::UNIX_EPOCH
        );
    }
}
