//! One refresh loop per target: on its own interval with jitter, a timeout per refresh,
//! never two refreshes of one target at once, exponential backoff with jitter (capped at
//! the interval) after failures. Each refresh publishes a new immutable view.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::RngExt;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::adapter::{Adapter, Collection, VendorError, Window};
use crate::api::ValueLabels;
use crate::clock::{Clock, before};
use crate::config::{Compliance, TargetSettings};
use crate::fleet::Fleet;
use crate::refresh::Trigger;
use crate::sanity;
use crate::state::{CollectorKind, CollectorStatus, TargetState};

/// Targets with more objects than this are rendered on a blocking thread.
const INLINE_PUBLISH_OBJECTS: usize = 1_000;

pub struct Scheduler {
    tasks: JoinSet<()>,
}

impl Scheduler {
    /// Starts a loop for each target; `adapters[i]` serves `targets[i]`, publishes into
    /// `fleet` slot `i` and is woken early by `triggers[i]` (`POST /-/refresh`); vendor
    /// values the sanity bounds reject count in `values_rejected`.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        targets: &[TargetSettings],
        adapters: Vec<Arc<dyn Adapter>>,
        triggers: &[Arc<Trigger>],
        compliance: &Compliance,
        fleet: Arc<Fleet>,
        clock: Clock,
        values_rejected: Family<ValueLabels, Counter>,
        shutdown: CancellationToken,
    ) -> Self {
        let mut tasks = JoinSet::new();
        for (index, ((t, adapter), trigger)) in
            targets.iter().zip(adapters).zip(triggers).enumerate()
        {
            let trigger = trigger.clone();
            let state = TargetState::new(t.clone(), compliance.clone());
            let fleet = fleet.clone();
            let clock = clock.clone();
            let shutdown = shutdown.clone();
            let guard = sanity::Guard::new(t.vendor.as_str(), &t.name, values_rejected.clone());
            let t = t.clone();
            tasks.spawn(async move {
                run_target(
                    index, t, state, guard, adapter, trigger, fleet, clock, shutdown,
                )
                .await;
            });
        }
        Scheduler { tasks }
    }

    /// Waits for every loop to end (after shutdown was signalled); sessions are closed.
    pub async fn join(mut self) {
        while self.tasks.join_next().await.is_some() {}
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_target(
    index: usize,
    t: TargetSettings,
    mut state: TargetState,
    mut guard: sanity::Guard,
    adapter: Arc<dyn Adapter>,
    trigger: Arc<Trigger>,
    fleet: Arc<Fleet>,
    clock: Clock,
    shutdown: CancellationToken,
) {
    let mut failures: u32 = 0;
    let mut unsupported_logged = [false; 5];
    loop {
        trigger.begin();
        let now = clock.now();
        let window = Window {
            now,
            since: before(now, t.lookback),
        };
        let started = Instant::now();
        let mut collection = tokio::select! {
            r = tokio::time::timeout(t.timeout, adapter.collect(window)) => match r {
                Ok(c) => c,
                Err(_) => Collection::failed(|| VendorError::Invalid(format!(
                    "refresh timed out after {}", humantime::format_duration(t.timeout)))),
            },
            _ = shutdown.cancelled() => { trigger.end(); break },
        };
        // Absurd vendor values (a success in 2262) go before the state sees them.
        guard.collection(&mut collection, now);
        let view = state.apply(collection, now, started.elapsed());
        for c in CollectorKind::ALL {
            let h = view.collector(c);
            match h.status {
                CollectorStatus::Failed => tracing::warn!(
                    target_name = %t.name, vendor = %t.vendor, collector = c.as_str(),
                    error = h.last_error.as_deref().unwrap_or(""), "collector failed"),
                CollectorStatus::Unsupported if !unsupported_logged[c as usize] => {
                    unsupported_logged[c as usize] = true;
                    tracing::info!(
                        target_name = %t.name, vendor = %t.vendor, collector = c.as_str(),
                        reason = h.last_error.as_deref().unwrap_or(""), "collector unsupported");
                }
                _ => {}
            }
        }
        let up = view.up;
        tracing::debug!(target_name = %t.name, up, objects = view.objects.len(),
            took_ms = started.elapsed().as_millis() as u64, "refreshed");
        // Publishing renders the target's metric families: for a large target that is CPU
        // work (milliseconds per thousand objects), kept off the async workers that serve
        // scrapes; a small one is published at once.
        if view.objects.len() > INLINE_PUBLISH_OBJECTS {
            let f = fleet.clone();
            if tokio::task::spawn_blocking(move || f.publish(index, view))
                .await
                .is_err()
            {
                tracing::error!(target_name = %t.name, "publishing the refresh failed");
            }
        } else {
            fleet.publish(index, view);
        }
        trigger.end();

        let delay = if up {
            if failures > 0 {
                tracing::info!(target_name = %t.name, "target recovered");
            }
            failures = 0;
            jitter(t.interval, 0.1)
        } else {
            failures = failures.saturating_add(1);
            backoff(failures, t.interval)
        };
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = trigger.woken() => {
                tracing::debug!(target_name = %t.name, "refresh asked for");
            }
            _ = shutdown.cancelled() => break,
        }
    }
    adapter.close().await;
}

/// `d` ± `fraction`, so that targets configured alike do not hit their vendors in lockstep.
fn jitter(d: Duration, fraction: f64) -> Duration {
    let f = 1.0 + rand::rng().random_range(-fraction..=fraction);
    d.mul_f64(f.max(0.0))
}

/// 5 s, 10 s, 20 s, ... with ±20% jitter, never longer than the interval.
pub fn backoff(failures: u32, interval: Duration) -> Duration {
    let base = Duration::from_secs(5).saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    jitter(base.min(interval), 0.2).min(interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped_at_the_interval() {
        let interval = Duration::from_secs(60);
        let b1 = backoff(1, interval);
        assert!(
            b1 >= Duration::from_secs(4) && b1 <= Duration::from_secs(6),
            "{b1:?}"
        );
        let b3 = backoff(3, interval);
        assert!(
            b3 >= Duration::from_secs(16) && b3 <= Duration::from_secs(24),
            "{b3:?}"
        );
        assert!(backoff(30, interval) <= interval);
        assert!(backoff(30, interval) >= Duration::from_secs(48));
    }
}
