//! What the exporter knows about one target, refresh after refresh.
//!
//! [`TargetState`] is owned by the target's refresh loop and is the only mutable thing: it
//! keeps the last good data of each collector, the job and audit counters, and the ids it has
//! already counted. After every refresh it produces a [`TargetView`], an immutable value that
//! `/metrics`, the landing page and readiness read without any lock held across I/O.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::adapter::{Collected, Collection, SkippedPart, VendorError};
use crate::clock::{before, seconds_between};
use crate::config::{Compliance, Subject, TargetSettings};
use crate::model::{
    AuditAction, AuditEvent, Job, JobKind, JobResult, Object, Severity, Storage, StoragePool,
    Vendor, Warning,
};

pub use crate::facts::{ObjectFacts, facts_by_object};
pub use crate::model::CollectorKind;

mod jobs;
mod seen;

use jobs::JobBook;
use seen::TimeById;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CollectorStatus {
    /// No refresh has finished yet.
    #[default]
    Pending,
    Ok,
    Failed,
    /// The vendor (or its release) cannot provide this; not an error.
    Unsupported,
}

#[derive(Clone, Debug, Default)]
pub struct CollectorHealth {
    pub status: CollectorStatus,
    pub last_attempt: Option<Timestamp>,
    /// When the data now served was fetched.
    pub last_success: Option<Timestamp>,
    pub last_duration: Duration,
    pub last_error: Option<String>,
}

impl CollectorHealth {
    /// Whether the data last fetched may still be served at `now`.
    pub fn is_servable(&self, now: Timestamp, max_stale: Duration) -> bool {
        match self.last_success {
            Some(t) => seconds_between(t, now) <= max_stale.as_secs_f64(),
            None => false,
        }
    }
}

/// One object as `/metrics` shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct ObjectView {
    /// Shared with the refresh state, which keeps the last good inventory: a view costs a
    /// pointer per object, not a copy of it (issue 12).
    pub object: Arc<Object>,
    pub rpo: Duration,
    /// The restore-test interval that applies, if any (`compliance.restore_test_interval`).
    pub restore_interval: Option<Duration>,
    /// `None` until a jobs refresh has succeeded.
    pub facts: Option<ObjectFacts>,
}

/// Label values of the tenant-level series.
pub type TenantKindResult = (String, JobKind, JobResult);

/// An immutable picture of one target after a refresh.
#[derive(Clone, Debug)]
pub struct TargetView {
    pub name: String,
    pub vendor: Vendor,
    pub interval: Duration,
    pub max_stale: Duration,
    /// The first refresh has finished (successfully or not).
    pub refreshed: bool,
    /// The last refresh succeeded for every collector the vendor supports.
    pub up: bool,
    pub last_refresh: Option<Timestamp>,
    pub last_error: Option<String>,
    pub collectors: [CollectorHealth; 5],
    /// Listings the vendor refused as not part of this account, as of each collector's last
    /// success.
    pub skipped: Vec<SkippedPart>,
    pub objects: Vec<ObjectView>,
    pub jobs_window: BTreeMap<TenantKindResult, u64>,
    pub jobs_running: BTreeMap<(String, JobKind), u64>,
    pub jobs_total: BTreeMap<TenantKindResult, u64>,
    pub transferred_total: BTreeMap<(String, JobKind), u64>,
    pub warnings: BTreeMap<(String, Severity, String), u64>,
    pub audit_total: BTreeMap<(String, AuditAction), u64>,
    pub audit_last: BTreeMap<(String, AuditAction), Timestamp>,
    pub pools: Vec<StoragePool>,
    pub tenant_stored: BTreeMap<String, u64>,
}

impl TargetView {
    /// The view of a target that has not been refreshed yet.
    pub fn pending(t: &TargetSettings) -> Self {
        TargetView {
            name: t.name.clone(),
            vendor: t.vendor,
            interval: t.interval,
            max_stale: t.max_stale,
            refreshed: false,
            up: false,
            last_refresh: None,
            last_error: None,
            collectors: Default::default(),
            skipped: Vec::new(),
            objects: Vec::new(),
            jobs_window: BTreeMap::new(),
            jobs_running: BTreeMap::new(),
            jobs_total: BTreeMap::new(),
            transferred_total: BTreeMap::new(),
            warnings: BTreeMap::new(),
            audit_total: BTreeMap::new(),
            audit_last: BTreeMap::new(),
            pools: Vec::new(),
            tenant_stored: BTreeMap::new(),
        }
    }

    pub fn collector(&self, c: CollectorKind) -> &CollectorHealth {
        &self.collectors[c.index()]
    }

    /// Whether a collector's data may be served at `now` (younger than `max_stale`).
    pub fn servable(&self, c: CollectorKind, now: Timestamp) -> bool {
        self.collector(c).is_servable(now, self.max_stale)
    }
}

/// Tenant label for data whose object the inventory does not know.
pub const UNKNOWN_TENANT: &str = "unknown";

/// The mutable side, owned by one refresh loop.
#[derive(Debug)]
pub struct TargetState {
    settings: TargetSettings,
    compliance: Compliance,
    view: TargetView,
    inventory: Vec<Arc<Object>>,
    /// What the windows and facts need of the last good job list (not the jobs).
    jobs: JobBook,
    warnings: Vec<Warning>,
    storage: Storage,
    /// Finished job ids already counted (or present at the first refresh), with the time
    /// that lets them be forgotten once they cannot reappear.
    seen_jobs: TimeById,
    jobs_baselined: bool,
    seen_audit: TimeById,
    audit_baselined: bool,
    /// Newest success ever seen per object, so that a success older than the lookback is not
    /// forgotten while the exporter runs.
    known_success: TimeById,
}

impl TargetState {
    pub fn new(settings: TargetSettings, compliance: Compliance) -> Self {
        TargetState {
            view: TargetView::pending(&settings),
            settings,
            compliance,
            inventory: Vec::new(),
            jobs: JobBook::default(),
            warnings: Vec::new(),
            storage: Storage::default(),
            seen_jobs: TimeById::default(),
            jobs_baselined: false,
            seen_audit: TimeById::default(),
            audit_baselined: false,
            known_success: TimeById::default(),
        }
    }

    pub fn view(&self) -> &TargetView {
        &self.view
    }

    /// Folds one refresh in and returns the new view: records each collector's health,
    /// takes the new data of the collectors that succeeded (counting new jobs and audit
    /// events once), then derives everything the view shows from the last good data of each
    /// collector, so that a failing collector does not blank the others.
    pub fn apply(&mut self, c: Collection, now: Timestamp, took: Duration) -> TargetView {
        let mut view = std::mem::replace(&mut self.view, TargetView::pending(&self.settings));
        let Collection {
            inventory,
            jobs,
            warnings,
            audit,
            storage,
            skipped,
        } = c;
        let errors = record_health(
            &mut view,
            now,
            took,
            [
                (CollectorKind::Inventory, status(&inventory)),
                (CollectorKind::Jobs, status(&jobs)),
                (CollectorKind::Warnings, status(&warnings)),
                (CollectorKind::Audit, status(&audit)),
                (CollectorKind::Storage, status(&storage)),
            ],
        );
        view.skipped = self.merge_skipped(&view, skipped);

        // Take the new data. The inventory is taken out of `self` for the rest of the
        // refresh so that the id → tenant map can borrow it while `self` is updated.
        if let Ok(objects) = inventory {
            self.inventory = objects.into_iter().map(Arc::new).collect();
        }
        let inventory = std::mem::take(&mut self.inventory);
        let tenants = Tenants::of(&inventory);
        if let Ok(jobs) = jobs {
            self.count_new_jobs(&jobs, &mut view, &tenants, now);
            // The list itself is dropped here, before the object views are built.
            self.jobs = JobBook::new(&jobs, self.compliance.strict_warnings);
        }
        if let Ok(w) = warnings {
            self.warnings = w;
        }
        if let Ok(events) = audit {
            self.count_new_audit(&events, &mut view, now);
        }
        if let Ok(s) = storage {
            self.storage = s;
        }

        // Everything below is recomputed from the last good data of each collector.
        self.job_windows(&mut view, &tenants, now);
        let jobs_known = view.collector(CollectorKind::Jobs).last_success.is_some();
        view.objects = self.object_views(&inventory, jobs_known);
        self.warning_counts(&mut view, &tenants);
        self.storage_totals(&mut view);
        drop(tenants);
        self.inventory = inventory;
        self.publish(view, errors, now)
    }

    /// The refused parts after this refresh: what a collector that succeeded reports now,
    /// and what a collector that did not succeed reported before (its last good data stands).
    /// Each change is logged once, not on every refresh. `view` is the previous view with
    /// this refresh's collector health already recorded.
    fn merge_skipped(&self, view: &TargetView, now: Vec<SkippedPart>) -> Vec<SkippedPart> {
        let ok = |c: CollectorKind| view.collector(c).status == CollectorStatus::Ok;
        let before = &view.skipped;
        let mut merged: Vec<SkippedPart> = before
            .iter()
            .filter(|p| !ok(p.collector))
            .cloned()
            .chain(now.into_iter().filter(|p| ok(p.collector)))
            .collect();
        merged.sort();
        merged.dedup_by(|a, b| same_part(a, b));
        for p in merged
            .iter()
            .filter(|p| !before.iter().any(|b| same_part(b, p)))
        {
            tracing::warn!(
                target_name = %self.settings.name,
                collector = p.collector.as_str(),
                part = p.part,
                "skipping a part this account does not have: {}",
                p.reason
            );
        }
        for p in before
            .iter()
            .filter(|b| !merged.iter().any(|p| same_part(b, p)))
        {
            tracing::info!(
                target_name = %self.settings.name,
                collector = p.collector.as_str(),
                part = p.part,
                "a part that was refused is read again"
            );
        }
        merged
    }

    /// Jobs in the lookback window and jobs running now, per tenant, from the last good
    /// job list (the window moves with `now` even when the jobs collector fails).
    fn job_windows(&self, view: &mut TargetView, tenants: &Tenants, now: Timestamp) {
        let since = before(now, self.settings.lookback);
        view.jobs_window.clear();
        view.jobs_running.clear();
        self.jobs.count_windows(
            tenants,
            since,
            now,
            &mut view.jobs_window,
            &mut view.jobs_running,
        );
    }

    /// One view per object of `inventory`, sorted by id: its stored bytes (the storage
    /// collector's figure wins), its facts (once a jobs refresh has succeeded; the newest
    /// success ever seen is remembered past the lookback) and the compliance that applies.
    fn object_views(&mut self, inventory: &[Arc<Object>], jobs_known: bool) -> Vec<ObjectView> {
        let stored: HashMap<&str, u64> = self
            .storage
            .objects
            .iter()
            .map(|(id, b)| (id.as_str(), *b))
            .collect();
        let mut objects = Vec::with_capacity(inventory.len());
        for o in inventory {
            let object = match stored.get(o.id.as_str()) {
                Some(&b) if o.stored_bytes != Some(b) => Arc::new(Object {
                    stored_bytes: Some(b),
                    ..Object::clone(o)
                }),
                _ => Arc::clone(o),
            };
            let facts = jobs_known.then(|| {
                let mut f = self.jobs.facts(&o.id).cloned().unwrap_or_default();
                let remembered = self.known_success.get(&o.id);
                let best = [f.last_success, o.last_success_hint, remembered]
                    .into_iter()
                    .flatten()
                    .max();
                if let Some(t) = best {
                    self.known_success.insert(&o.id, t);
                }
                f.last_success = best;
                f
            });
            let subject = Subject {
                vendor: self.settings.vendor,
                target: &self.settings.name,
                object: o,
            };
            let rpo = self.compliance.rpo_for(&subject);
            let restore_interval = self.compliance.restore_interval_for(&subject);
            objects.push(ObjectView {
                object,
                rpo,
                restore_interval,
                facts,
            });
        }
        objects.sort_by(|a, b| a.object.id.cmp(&b.object.id));
        // Objects that left the inventory must not keep a remembered success forever.
        if self.known_success.len() > objects.len() * 2 + 16 {
            self.known_success
                .keep_only(objects.iter().map(|o| o.object.id.as_str()));
        }
        objects
    }

    /// Open warnings per tenant, severity and category; a warning without a tenant takes
    /// its object's.
    fn warning_counts(&self, view: &mut TargetView, tenants: &Tenants) {
        view.warnings.clear();
        for w in &self.warnings {
            let tenant = if w.tenant.is_empty() {
                w.object_id
                    .as_deref()
                    .map(|id| tenants.of_object(id))
                    .unwrap_or_else(|| UNKNOWN_TENANT.to_owned())
            } else {
                w.tenant.clone()
            };
            *view
                .warnings
                .entry((tenant, w.severity, w.category.clone()))
                .or_default() += 1;
        }
    }

    /// Pools and stored bytes per tenant: the vendor's per-tenant figures where it has them,
    /// else the sum over the view's objects.
    fn storage_totals(&self, view: &mut TargetView) {
        view.pools = self.storage.pools.clone();
        view.tenant_stored.clear();
        if self.storage.tenants.is_empty() {
            for o in &view.objects {
                if let Some(b) = o.object.stored_bytes {
                    *view
                        .tenant_stored
                        .entry(o.object.tenant.clone())
                        .or_default() += b;
                }
            }
        } else {
            for (t, b) in &self.storage.tenants {
                *view.tenant_stored.entry(t.clone()).or_default() += *b;
            }
        }
    }

    /// Marks the refresh done and returns the view; the state keeps it, without its
    /// objects, as the previous view of the next refresh.
    fn publish(&mut self, mut view: TargetView, errors: Vec<String>, now: Timestamp) -> TargetView {
        view.refreshed = true;
        view.up = errors.is_empty();
        view.last_refresh = Some(now);
        view.last_error = (!errors.is_empty()).then(|| errors.join("; "));
        // The objects are rebuilt by every refresh: keeping a copy of them here would only
        // double the memory of a large target (issue 12).
        let objects = std::mem::take(&mut view.objects);
        self.view = view.clone();
        view.objects = objects;
        view
    }

    fn count_new_jobs(
        &mut self,
        jobs: &[Job],
        view: &mut TargetView,
        tenants: &Tenants,
        now: Timestamp,
    ) {
        for j in jobs.iter().filter(|j| j.result.is_finished()) {
            let t = j.time().unwrap_or(now);
            let tenant = tenants.of_object(&j.object_id);
            if !self.jobs_baselined {
                // History present at the first refresh is not counted, but its series are
                // created at 0 so that `increase()` sees the first new job of each.
                view.jobs_total
                    .entry((tenant.clone(), j.kind, j.result))
                    .or_default();
                view.transferred_total.entry((tenant, j.kind)).or_default();
                self.seen_jobs.insert(&j.id, t);
                continue;
            }
            if self.seen_jobs.insert(&j.id, t).is_some() {
                continue;
            }
            *view
                .jobs_total
                .entry((tenant.clone(), j.kind, j.result))
                .or_default() += 1;
            let bytes = view.transferred_total.entry((tenant, j.kind)).or_default();
            *bytes += j.transferred_bytes.unwrap_or(0);
        }
        self.jobs_baselined = true;
        // A job older than twice the lookback cannot come back in a window; forget it.
        let horizon = before(now, self.settings.lookback * 2);
        self.seen_jobs.forget_before(horizon);
    }

    fn count_new_audit(&mut self, events: &[AuditEvent], view: &mut TargetView, now: Timestamp) {
        for e in events {
            let key = (
                if e.tenant.is_empty() {
                    UNKNOWN_TENANT.to_owned()
                } else {
                    e.tenant.clone()
                },
                e.action,
            );
            let last = view.audit_last.entry(key.clone()).or_insert(e.time);
            if e.time > *last {
                *last = e.time;
            }
            let counter = view.audit_total.entry(key).or_default();
            if self.seen_audit.insert(&e.id, e.time).is_some() || !self.audit_baselined {
                continue;
            }
            *counter += 1;
        }
        self.audit_baselined = true;
        let horizon = before(now, self.settings.lookback * 2);
        self.seen_audit.forget_before(horizon);
    }
}

fn status<T>(r: &Collected<T>) -> Result<(), &VendorError> {
    r.as_ref().map(|_| ())
}

/// Records each collector's attempt in `view` and returns the errors of those that failed
/// (a collector the vendor cannot provide is not an error). No error means the target is up.
fn record_health(
    view: &mut TargetView,
    now: Timestamp,
    took: Duration,
    outcomes: [(CollectorKind, Result<(), &VendorError>); 5],
) -> Vec<String> {
    let mut errors = Vec::new();
    for (kind, r) in outcomes {
        let h = &mut view.collectors[kind.index()];
        h.last_attempt = Some(now);
        h.last_duration = took;
        match r {
            Ok(()) => {
                h.status = CollectorStatus::Ok;
                h.last_success = Some(now);
                h.last_error = None;
            }
            Err(VendorError::Unsupported(why)) => {
                h.status = CollectorStatus::Unsupported;
                h.last_error = Some(why.clone());
            }
            Err(e) => {
                h.status = CollectorStatus::Failed;
                let msg = e.to_string();
                errors.push(format!("{}: {msg}", kind.as_str()));
                h.last_error = Some(msg);
            }
        }
    }
    errors
}

/// Two refused parts are the same part when collector and part agree, whatever the reason.
fn same_part(a: &SkippedPart, b: &SkippedPart) -> bool {
    a.collector == b.collector && a.part == b.part
}

/// The tenant of each object in the inventory, for data that names only its object.
struct Tenants<'a>(HashMap<&'a str, &'a str>);

impl<'a> Tenants<'a> {
    fn of(inventory: &'a [Arc<Object>]) -> Self {
        Tenants(
            inventory
                .iter()
                .map(|o| (o.id.as_str(), o.tenant.as_str()))
                .collect(),
        )
    }

    /// The object's tenant, or [`UNKNOWN_TENANT`] when the inventory does not know it.
    fn get(&self, id: &str) -> &'a str {
        self.0.get(id).copied().unwrap_or(UNKNOWN_TENANT)
    }

    fn of_object(&self, id: &str) -> String {
        self.get(id).to_owned()
    }
}

#[cfg(test)]
mod tests;
