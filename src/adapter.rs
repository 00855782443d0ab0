//! The adapter contract: what the core asks of a vendor ([`Adapter`]) and what it gets back
//! ([`Collection`] for one refresh, [`History`] for one report period), with the errors and
//! the "refused part" bookkeeping ([`Skips`]) every adapter shares. Pure types: no vendor is
//! named here; the vendors themselves are listed in [`crate::vendors`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use url::Url;

use crate::api::{ApiError, ApiMetrics, ClientSettings, TlsSettings};
use crate::clock::Clock;
use crate::model::{AuditEvent, CollectorKind, Job, Object, Storage, Vendor, Warning};
use crate::secret::SecretSource;

/// One target as the config layer decoded it: the keys every vendor has, with defaults
/// applied, and the vendor's own settings, already checked and typed.
#[derive(Clone, Debug)]
pub struct TargetSettings {
    pub name: String,
    pub vendor: Vendor,
    /// An http(s) URL (the config layer checks the scheme for every vendor).
    pub url: Option<Url>,
    pub interval: Duration,
    pub timeout: Duration,
    pub lookback: Duration,
    pub max_stale: Duration,
    pub max_concurrent_requests: usize,
    /// `max_response_bytes`: the most bytes one vendor response body may have.
    pub max_response_bytes: u64,
    /// `max_buffered_bytes`: the most bytes of response bodies the target holds at once.
    pub max_buffered_bytes: u64,
    /// `allow_cross_origin_redirects`: follow a redirect to another origin (without
    /// credentials, and never for a request with a body).
    pub allow_cross_origin_redirects: bool,
    pub tls: TlsSettings,
    pub proxy_url: Option<Url>,
    /// Every secret the target names (by its base key), for `check` to read up front.
    pub secrets: Vec<(&'static str, SecretSource)>,
    /// The vendor's own keys, parsed by the vendor ([`crate::vendors::VENDORS`]).
    pub vendor_settings: Arc<dyn VendorSettings>,
}

impl TargetSettings {
    /// A "target X (vendor V)" prefix for messages.
    pub fn describe(&self) -> String {
        format!("target {:?} ({})", self.name, self.vendor)
    }

    /// The vendor client's settings for this target at `base_url`: the common keys
    /// (timeout per request, concurrency, TLS, proxy, response limits, redirects) applied
    /// once here for every vendor; a vendor adds its own headers or a shorter timeout.
    pub fn client_settings(&self, base_url: Url) -> ClientSettings {
        let mut s = ClientSettings::new(self.vendor, &self.name, base_url);
        s.request_timeout = self.timeout;
        s.max_concurrent_requests = self.max_concurrent_requests;
        s.tls = self.tls.clone();
        s.proxy_url = self.proxy_url.clone();
        s.max_response_bytes = self.max_response_bytes;
        s.max_buffered_bytes = self.max_buffered_bytes;
        s.allow_cross_origin_redirects = self.allow_cross_origin_redirects;
        s
    }

    /// How long one collector's reads may take in a refresh: 90 % of the target's
    /// `timeout`, so that a slow listing fails its own collector (through
    /// [`with_deadline`]) before the whole-refresh timeout fails them all.
    pub fn collector_timeout(&self) -> Duration {
        self.timeout.mul_f64(0.9)
    }

    /// How many requests one collector keeps in flight where an adapter reads its
    /// collectors side by side: half the target's `max_concurrent_requests` (at least one).
    /// The client's permits are shared, so a slow listing then holds at most half of them
    /// and the other collectors keep reading within their own deadlines; with
    /// `max_concurrent_requests: 1` a slow listing still holds the only permit.
    pub fn collector_concurrency(&self) -> usize {
        self.max_concurrent_requests.div_ceil(2).max(1)
    }

    /// The vendor's settings as their own type (`None` for another vendor's).
    pub fn vendor_settings<S: VendorSettings>(&self) -> Option<&S> {
        let any: &dyn std::any::Any = self.vendor_settings.as_ref();
        any.downcast_ref()
    }
}

/// A vendor's own target settings, checked and typed: all an adapter is built from besides
/// the common keys.
pub trait VendorSettings: std::any::Any + std::fmt::Debug + Send + Sync {
    fn build(
        &self,
        target: &TargetSettings,
        ctx: &AdapterContext,
    ) -> Result<Arc<dyn Adapter>, String>;

    /// Problems with the vendor's own secret files (beyond the common `<key>_file`s), found
    /// by reading them now: `check` and `serve` refuse to start on one, as they do for every
    /// other secret. The adapter still reads them at login, so a rotated file is picked up.
    fn check_files(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The time range one refresh reads: job history and audit events from `since` to `now`.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub now: Timestamp,
    pub since: Timestamp,
}

/// How far before a report period [`Adapter::history`] looks for each object's last success
/// before the period, unless the caller says otherwise (`docs/report.md`). 35 days: a
/// monthly report then sees the success of the month before even for an object backed up
/// monthly, and it is what the adapters read before the look-back was the core's.
pub const REPORT_LOOKBACK: Duration = Duration::from_secs(35 * 86_400);

/// A report period, `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: Timestamp,
    pub to: Timestamp,
}

/// `Clone` because one failed read often fails several collectors.
#[derive(Clone, Debug, thiserror::Error)]
pub enum VendorError {
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The vendor (or this release of it) does not offer what the collector needs.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The vendor answered, but with something that makes no sense.
    #[error("{0}")]
    Invalid(String),
}

pub type Collected<T> = Result<T, VendorError>;

/// A part of a collector's reading that this account does not have: one listing the vendor
/// refused with 403 or 404 (a data source not enabled or not licensed, a role without that
/// permission, a release without that endpoint). The collector still succeeds with the rest;
/// the part shows in `backup_collector_part_refused` and on the status page.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SkippedPart {
    pub collector: CollectorKind,
    /// A fixed word of the adapter's (e.g. `ec2_instances`), so it is safe as a label value.
    pub part: &'static str,
    /// The refusal as the vendor gave it (endpoint and status), for logs and the status page.
    pub reason: String,
}

/// Collects the parts refused during one refresh. Cheap to clone, so that concurrent reads
/// of one refresh can each hold one.
#[derive(Clone, Debug, Default)]
pub struct Skips(std::sync::Arc<std::sync::Mutex<Vec<SkippedPart>>>);

impl Skips {
    /// Whether `err` means "this account does not have that part" rather than a failure.
    /// Only a vendor's 403 or 404 on a data request does; a refused login, a 401, a 5xx or a
    /// transport error is a failure and must keep the last good data.
    pub fn is_refusal(err: &VendorError) -> bool {
        matches!(
            err,
            VendorError::Api(ApiError::Status { status, .. })
                if *status == reqwest::StatusCode::FORBIDDEN
                    || *status == reqwest::StatusCode::NOT_FOUND
        )
    }

    /// Passes a listing's result through, turning a refusal into `Ok(None)` and recording it.
    pub fn optional<T>(
        &self,
        collector: CollectorKind,
        part: &'static str,
        result: Result<T, VendorError>,
    ) -> Result<Option<T>, VendorError> {
        match result {
            Ok(v) => Ok(Some(v)),
            Err(e) if Self::is_refusal(&e) => {
                self.record(collector, part, e.to_string());
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Like [`Skips::optional`], with an empty value in place of a refused listing.
    pub fn or_empty<T: Default>(
        &self,
        collector: CollectorKind,
        part: &'static str,
        result: Result<T, VendorError>,
    ) -> Result<T, VendorError> {
        self.optional(collector, part, result)
            .map(Option::unwrap_or_default)
    }

    pub fn record(&self, collector: CollectorKind, part: &'static str, reason: String) {
        let mut parts = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !parts
            .iter()
            .any(|p| p.collector == collector && p.part == part)
        {
            parts.push(SkippedPart {
                collector,
                part,
                reason,
            });
        }
    }

    /// The parts recorded so far, sorted, leaving the recorder empty.
    pub fn take(&self) -> Vec<SkippedPart> {
        let mut parts = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        parts.sort();
        parts
    }
}

/// Runs one collector's reads with their own deadline: past `d` the reads are dropped and
/// the collector fails with a timeout naming it, while the other collectors of the refresh
/// go on with theirs. Adapters wrap each collector's reads in it, with
/// [`TargetSettings::collector_timeout`].
pub async fn with_deadline<T>(
    collector: CollectorKind,
    d: Duration,
    fut: impl std::future::Future<Output = Collected<T>>,
) -> Collected<T> {
    with_deadline_from(collector, tokio::time::Instant::now(), d, fut).await
}

/// [`with_deadline`] counted from `start` (the start of the refresh) rather than from now:
/// for the collectors an adapter starts once a read they all need (the accounts, the
/// consumers) is done, so that read counts against their share of the refresh timeout.
pub async fn with_deadline_from<T>(
    collector: CollectorKind,
    start: tokio::time::Instant,
    d: Duration,
    fut: impl std::future::Future<Output = Collected<T>>,
) -> Collected<T> {
    match tokio::time::timeout_at(start + d, fut).await {
        Ok(r) => r,
        Err(_) => Err(VendorError::Invalid(format!(
            "{} collector timed out after {} (its share of the refresh timeout)",
            collector.as_str(),
            humantime::format_duration(d)
        ))),
    }
}

/// What one refresh of one target yields, per collector. A failed collector does not stop
/// the others: the scheduler keeps serving its last good data.
#[derive(Debug)]
pub struct Collection {
    pub inventory: Collected<Vec<Object>>,
    pub jobs: Collected<Vec<Job>>,
    pub warnings: Collected<Vec<Warning>>,
    pub audit: Collected<Vec<AuditEvent>>,
    pub storage: Collected<Storage>,
    /// Listings refused as "not in this account"; the collectors named here still succeeded.
    pub skipped: Vec<SkippedPart>,
}

impl Collection {
    /// Every collector failed the same way (typically: the login was refused).
    pub fn failed(err: impl Fn() -> VendorError) -> Self {
        Collection {
            inventory: Err(err()),
            jobs: Err(err()),
            warnings: Err(err()),
            audit: Err(err()),
            storage: Err(err()),
            skipped: Vec::new(),
        }
    }
}

/// Everything `report` needs of one target for one period.
#[derive(Debug, Default)]
pub struct History {
    pub objects: Vec<Object>,
    /// Jobs that ended (or, if missed, were scheduled) in the period, plus enough before
    /// it to know each object's last success before the period.
    pub jobs: Vec<Job>,
    pub audit: Vec<AuditEvent>,
    /// Listings refused as "not in this account": the report says so and goes on.
    pub skipped: Vec<SkippedPart>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_collector_past_its_deadline_fails_with_a_timeout_naming_it() {
        let slow = with_deadline(CollectorKind::Jobs, Duration::from_millis(200), async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, VendorError>(1)
        })
        .await;
        let e = slow.unwrap_err().to_string();
        assert_eq!(
            e,
            "jobs collector timed out after 200ms (its share of the refresh timeout)"
        );
        let quick = with_deadline(CollectorKind::Audit, Duration::from_secs(5), async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok::<_, VendorError>(1)
        })
        .await;
        assert_eq!(quick.unwrap(), 1);
    }
}

#[async_trait]
pub trait Adapter: Send + Sync {
    /// One refresh. Jobs are those that ended in the window or are still running; audit
    /// events those in the window; warnings are the ones active now.
    async fn collect(&self, window: Window) -> Collection;

    /// `check --online`: logs in and says, in one line, what would be scraped.
    async fn probe(&self) -> Result<String, VendorError>;

    /// The whole history of a period, for `report`. `lookback` is how far before the
    /// period the adapter reads, at least, to find each object's last success before it
    /// ([`REPORT_LOOKBACK`] unless a caller says otherwise). An adapter may read less where
    /// its API keeps less, and more where it can find an older success cheaply; each
    /// vendor's doc says which.
    async fn history(&self, period: Period, lookback: Duration) -> Result<History, VendorError> {
        let _ = (period, lookback);
        Err(VendorError::Unsupported(
            "this vendor has no history reader yet".into(),
        ))
    }

    /// Ends vendor sessions on shutdown.
    async fn close(&self) {}
}

/// What an adapter is built from.
#[derive(Clone, Debug)]
pub struct AdapterContext {
    pub metrics: ApiMetrics,
    pub clock: Clock,
}
