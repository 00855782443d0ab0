//! Sanity bounds on the values vendors send, written once for every vendor: a timestamp
//! more than a day after now or before 1990, an end before its start, a duration over a
//! year, a byte count over an exbibyte. Such a value is a vendor's bug or a hostile answer
//! (a "last success" in 2262 would hide a breach for centuries), never a fact to export or
//! report: the field becomes `None` (an audit event, whose time is all it has, is dropped),
//! the rejection is counted in `backup_vendor_values_rejected_total{vendor,target,field}`
//! and logged when a field starts or stops being rejected for a target, not on every
//! refresh.
//!
//! Applied by the scheduler to every [`Collection`] before the state sees it, and by the
//! report to every [`History`] before its rows are made ([`Guard`]).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use jiff::Timestamp;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;

use crate::adapter::{Collection, History};
use crate::api::ValueLabels;
use crate::model::{AuditEvent, Job, Object, Storage};

/// The earliest time a vendor value may have: no backup system we read existed before.
pub const EARLIEST: Timestamp = Timestamp::constant(631_152_000, 0); // 1990-01-01T00:00:00Z
/// How far after now a time may be: clock skew between a vendor and us, and time zones
/// mis-declared by a day at most.
pub const AHEAD: Duration = Duration::from_secs(86_400);
/// The longest a job may take: longer is a wrong unit or a wrong field.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 86_400);
/// The most bytes one figure may have (1 EiB): far beyond any object, tenant or pool we
/// export, and where an unsigned wrap-around or a wrong unit lands.
pub const MAX_BYTES: u64 = 1 << 60;

/// A field the bounds check: a fixed, bounded set of label values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    ObjectCreated,
    ObjectHistoryStart,
    ObjectLatestRestorePoint,
    ObjectLastSuccessHint,
    /// `protected_bytes` and `stored_bytes` of an object.
    ObjectBytes,
    JobStart,
    JobEnd,
    JobDuration,
    JobTransferredBytes,
    AuditTime,
    /// Pool capacity and use, and the stored bytes per tenant and per object.
    StorageBytes,
}

impl Field {
    pub const ALL: [Field; 11] = [
        Field::ObjectCreated,
        Field::ObjectHistoryStart,
        Field::ObjectLatestRestorePoint,
        Field::ObjectLastSuccessHint,
        Field::ObjectBytes,
        Field::JobStart,
        Field::JobEnd,
        Field::JobDuration,
        Field::JobTransferredBytes,
        Field::AuditTime,
        Field::StorageBytes,
    ];

    /// The `field` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::ObjectCreated => "object_created",
            Field::ObjectHistoryStart => "object_history_start",
            Field::ObjectLatestRestorePoint => "object_latest_restore_point",
            Field::ObjectLastSuccessHint => "object_last_success_hint",
            Field::ObjectBytes => "object_bytes",
            Field::JobStart => "job_start",
            Field::JobEnd => "job_end",
            Field::JobDuration => "job_duration",
            Field::JobTransferredBytes => "job_transferred_bytes",
            Field::AuditTime => "audit_time",
            Field::StorageBytes => "storage_bytes",
        }
    }
}

/// What one check rejected: per field, how many values and the first of them with why
/// (for the log line).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rejected(pub BTreeMap<Field, (u64, String)>);

impl Rejected {
    fn add(&mut self, field: Field, example: impl FnOnce() -> String) {
        let e = self.0.entry(field).or_insert_with(|| (0, example()));
        e.0 += 1;
    }

    /// How many values of `field` were rejected.
    pub fn count(&self, field: Field) -> u64 {
        self.0.get(&field).map_or(0, |(n, _)| *n)
    }
}

/// The bounds a time must keep at `now`.
fn time_ok(t: Timestamp, now: Timestamp) -> Result<(), String> {
    if t < EARLIEST {
        return Err(format!("{t} is before {EARLIEST}"));
    }
    let latest = crate::clock::after(now, AHEAD);
    if t > latest {
        return Err(format!("{t} is more than a day after now ({now})"));
    }
    Ok(())
}

fn check_time(v: &mut Option<Timestamp>, field: Field, now: Timestamp, r: &mut Rejected) {
    if let Some(t) = *v
        && let Err(why) = time_ok(t, now)
    {
        *v = None;
        r.add(field, || why);
    }
}

fn bytes_ok(b: u64) -> Result<(), String> {
    if b > MAX_BYTES {
        return Err(format!("{b} bytes is over 1 EiB"));
    }
    Ok(())
}

fn check_bytes(v: &mut Option<u64>, field: Field, r: &mut Rejected) {
    if let Some(b) = *v
        && let Err(why) = bytes_ok(b)
    {
        *v = None;
        r.add(field, || why);
    }
}

fn check_objects(objects: &mut [Object], now: Timestamp, r: &mut Rejected) {
    for o in objects {
        check_time(&mut o.created, Field::ObjectCreated, now, r);
        check_time(&mut o.history_start, Field::ObjectHistoryStart, now, r);
        check_time(
            &mut o.latest_restore_point,
            Field::ObjectLatestRestorePoint,
            now,
            r,
        );
        check_time(
            &mut o.last_success_hint,
            Field::ObjectLastSuccessHint,
            now,
            r,
        );
        check_bytes(&mut o.protected_bytes, Field::ObjectBytes, r);
        check_bytes(&mut o.stored_bytes, Field::ObjectBytes, r);
    }
}

/// A job keeps its place (it did run); only its absurd fields go. An end before the start
/// loses the end: the start is what a missed or running job has anyway.
fn check_jobs(jobs: &mut [Job], now: Timestamp, r: &mut Rejected) {
    for j in jobs {
        check_time(&mut j.start, Field::JobStart, now, r);
        check_time(&mut j.end, Field::JobEnd, now, r);
        if let (Some(s), Some(e)) = (j.start, j.end)
            && e < s
        {
            j.end = None;
            r.add(Field::JobEnd, || format!("end {e} is before the start {s}"));
        }
        if let Some(d) = j.duration
            && d > MAX_DURATION
        {
            j.duration = None;
            r.add(Field::JobDuration, || {
                format!("{} is over a year", humantime::format_duration(d))
            });
        }
        check_bytes(&mut j.transferred_bytes, Field::JobTransferredBytes, r);
    }
}

/// An audit event is its time: one with an absurd time is dropped.
fn check_audit(events: &mut Vec<AuditEvent>, now: Timestamp, r: &mut Rejected) {
    events.retain(|e| match time_ok(e.time, now) {
        Ok(()) => true,
        Err(why) => {
            r.add(Field::AuditTime, || why);
            false
        }
    });
}

fn check_storage(s: &mut Storage, r: &mut Rejected) {
    for p in &mut s.pools {
        check_bytes(&mut p.capacity_bytes, Field::StorageBytes, r);
        check_bytes(&mut p.used_bytes, Field::StorageBytes, r);
    }
    for list in [&mut s.tenants, &mut s.objects] {
        list.retain(|(_, b)| match bytes_ok(*b) {
            Ok(()) => true,
            Err(why) => {
                r.add(Field::StorageBytes, || why);
                false
            }
        });
    }
}

/// Applies the bounds to one refresh's collection, as of `now`.
pub fn check_collection(c: &mut Collection, now: Timestamp) -> Rejected {
    let mut r = Rejected::default();
    if let Ok(objects) = &mut c.inventory {
        check_objects(objects, now, &mut r);
    }
    if let Ok(jobs) = &mut c.jobs {
        check_jobs(jobs, now, &mut r);
    }
    if let Ok(audit) = &mut c.audit {
        check_audit(audit, now, &mut r);
    }
    if let Ok(storage) = &mut c.storage {
        check_storage(storage, &mut r);
    }
    r
}

/// Applies the bounds to one report period's history, as of `now` (when the report runs).
pub fn check_history(h: &mut History, now: Timestamp) -> Rejected {
    let mut r = Rejected::default();
    check_objects(&mut h.objects, now, &mut r);
    check_jobs(&mut h.jobs, now, &mut r);
    check_audit(&mut h.audit, now, &mut r);
    r
}

/// One target's rejections over time: counts every rejected value and logs a field when it
/// starts being rejected (with how many and an example) and when it stops.
#[derive(Debug)]
pub struct Guard {
    vendor: String,
    target: String,
    counter: Family<ValueLabels, Counter>,
    rejecting: BTreeSet<Field>,
}

impl Guard {
    /// Creates the target's series at 0, one per field, so that `increase()` sees the
    /// first rejection.
    pub fn new(vendor: &str, target: &str, counter: Family<ValueLabels, Counter>) -> Self {
        let g = Guard {
            vendor: vendor.to_owned(),
            target: target.to_owned(),
            counter,
            rejecting: BTreeSet::new(),
        };
        for field in Field::ALL {
            g.series(field);
        }
        g
    }

    fn series(&self, field: Field) -> Counter {
        self.counter
            .get_or_create(&ValueLabels {
                vendor: self.vendor.clone(),
                target: self.target.clone(),
                field: field.as_str().to_owned(),
            })
            .clone()
    }

    pub fn collection(&mut self, c: &mut Collection, now: Timestamp) {
        let r = check_collection(c, now);
        self.record(&r, false);
    }

    pub fn history(&mut self, h: &mut History, now: Timestamp) {
        let r = check_history(h, now);
        self.record(&r, false);
    }

    /// Objects only (what a report still shows of a target whose history failed).
    pub fn objects(&mut self, objects: &mut [Object], now: Timestamp) {
        let mut r = Rejected::default();
        check_objects(objects, now, &mut r);
        // A partial look: a field absent here may still be rejected elsewhere.
        self.record(&r, true);
    }

    fn record(&mut self, r: &Rejected, partial: bool) {
        for (field, (n, example)) in &r.0 {
            self.series(*field).inc_by(*n);
            if self.rejecting.insert(*field) {
                tracing::warn!(
                    target_name = %self.target, vendor = %self.vendor, field = field.as_str(),
                    rejected = n, example = %example,
                    "vendor values outside the sanity bounds are dropped (counted in backup_vendor_values_rejected_total)"
                );
            }
        }
        if partial {
            return;
        }
        let ended: Vec<Field> = self
            .rejecting
            .iter()
            .filter(|f| !r.0.contains_key(f))
            .copied()
            .collect();
        for field in ended {
            self.rejecting.remove(&field);
            tracing::info!(
                target_name = %self.target, vendor = %self.vendor, field = field.as_str(),
                "vendor values are within the sanity bounds again"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AuditAction, JobKind, JobResult, StoragePool};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const NOW: &str = "2026-11-20T12:00:00Z";

    fn job(start: Option<&str>, end: Option<&str>) -> Job {
        Job {
            id: "j".into(),
            object_id: "o".into(),
            kind: JobKind::Backup,
            result: JobResult::Success,
            vendor_status: "done".into(),
            start: start.map(ts),
            end: end.map(ts),
            duration: None,
            transferred_bytes: None,
            error_code: None,
            error_message: None,
        }
    }

    fn event(time: &str) -> AuditEvent {
        AuditEvent {
            id: time.into(),
            time: ts(time),
            tenant: "t".into(),
            actor: "a".into(),
            action: AuditAction::Modify,
            object: String::new(),
            message: String::new(),
        }
    }

    fn collection(objects: Vec<Object>, jobs: Vec<Job>, audit: Vec<AuditEvent>) -> Collection {
        Collection {
            inventory: Ok(objects),
            jobs: Ok(jobs),
            warnings: Ok(Vec::new()),
            audit: Ok(audit),
            storage: Ok(Storage {
                pools: vec![StoragePool {
                    name: "p".into(),
                    capacity_bytes: Some(u64::MAX),
                    used_bytes: Some(10),
                }],
                tenants: vec![("t".into(), 5), ("wrapped".into(), u64::MAX - 3)],
                objects: Vec::new(),
            }),
            skipped: Vec::new(),
        }
    }

    #[test]
    fn absurd_values_become_none_and_are_counted_per_field() {
        let now = ts(NOW);
        let object = Object {
            id: "o".into(),
            created: Some(ts("1970-01-01T00:00:01Z")),
            last_success_hint: Some(ts("1970-01-01T00:00:00Z")),
            latest_restore_point: Some(ts("2026-11-21T11:00:00Z")),
            stored_bytes: Some(u64::MAX),
            protected_bytes: Some(1 << 40),
            ..Default::default()
        };
        let mut far = job(Some("2026-11-20T01:00:00Z"), Some("2262-04-11T23:47:16Z"));
        far.duration = Some(Duration::from_secs(400 * 86_400));
        let backwards = job(Some("2026-11-20T05:00:00Z"), Some("2026-11-20T04:00:00Z"));
        let fine = job(Some("2026-11-20T01:00:00Z"), Some("2026-11-20T02:00:00Z"));
        let mut c = collection(
            vec![object],
            vec![far, backwards, fine.clone()],
            vec![event("2026-11-20T10:00:00Z"), event("1989-12-31T23:59:59Z")],
        );
        let r = check_collection(&mut c, now);

        let o = &c.inventory.as_ref().unwrap()[0];
        assert_eq!(o.created, None);
        assert_eq!(o.last_success_hint, None);
        // Within a day of now: kept.
        assert_eq!(o.latest_restore_point, Some(ts("2026-11-21T11:00:00Z")));
        assert_eq!(o.stored_bytes, None);
        assert_eq!(o.protected_bytes, Some(1 << 40));
        let jobs = c.jobs.as_ref().unwrap();
        assert_eq!(jobs[0].end, None);
        assert_eq!(jobs[0].start, Some(ts("2026-11-20T01:00:00Z")));
        assert_eq!(jobs[0].duration, None);
        assert_eq!(jobs[1].end, None, "an end before its start goes");
        assert_eq!(jobs[2], fine);
        let audit = c.audit.as_ref().unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].time, ts("2026-11-20T10:00:00Z"));
        let storage = c.storage.as_ref().unwrap();
        assert_eq!(storage.pools[0].capacity_bytes, None);
        assert_eq!(storage.pools[0].used_bytes, Some(10));
        assert_eq!(storage.tenants, vec![("t".to_owned(), 5)]);

        assert_eq!(r.count(Field::ObjectCreated), 1);
        assert_eq!(r.count(Field::ObjectLastSuccessHint), 1);
        assert_eq!(r.count(Field::ObjectLatestRestorePoint), 0);
        assert_eq!(r.count(Field::ObjectBytes), 1);
        assert_eq!(r.count(Field::JobEnd), 2);
        assert_eq!(r.count(Field::JobDuration), 1);
        assert_eq!(r.count(Field::JobStart), 0);
        assert_eq!(r.count(Field::AuditTime), 1);
        assert_eq!(r.count(Field::StorageBytes), 2);
        assert!(
            r.0[&Field::JobEnd].1.contains("2262-04-11T23:47:16Z"),
            "{:?}",
            r.0
        );
    }

    #[test]
    fn the_bounds_are_a_day_ahead_and_1990() {
        let now = ts(NOW);
        assert!(time_ok(EARLIEST, now).is_ok());
        assert!(time_ok(ts("1989-12-31T23:59:59Z"), now).is_err());
        assert!(time_ok(ts("2026-11-21T12:00:00Z"), now).is_ok());
        assert!(time_ok(ts("2026-11-21T12:00:01Z"), now).is_err());
        assert!(bytes_ok(MAX_BYTES).is_ok());
        assert!(bytes_ok(MAX_BYTES + 1).is_err());
    }

    #[test]
    fn a_history_is_checked_alike() {
        let mut h = History {
            objects: vec![Object {
                history_start: Some(ts("2300-01-01T00:00:00Z")),
                ..Default::default()
            }],
            jobs: vec![job(Some("1900-01-01T00:00:00Z"), None)],
            audit: vec![event("2262-01-01T00:00:00Z")],
            skipped: Vec::new(),
        };
        let r = check_history(&mut h, ts(NOW));
        assert_eq!(h.objects[0].history_start, None);
        assert_eq!(h.jobs[0].start, None);
        assert!(h.audit.is_empty());
        assert_eq!(
            r.0.keys().copied().collect::<Vec<_>>(),
            vec![Field::ObjectHistoryStart, Field::JobStart, Field::AuditTime]
        );
    }

    #[test]
    fn the_guard_counts_every_value_and_remembers_what_it_logged() {
        let family: Family<ValueLabels, Counter> = Family::default();
        let mut g = Guard::new("clumio", "t", family.clone());
        let now = ts(NOW);
        let labels = ValueLabels {
            vendor: "clumio".into(),
            target: "t".into(),
            field: "job_end".into(),
        };
        for _ in 0..3 {
            let mut c = collection(
                Vec::new(),
                vec![job(None, Some("2262-04-11T23:47:16Z"))],
                Vec::new(),
            );
            g.collection(&mut c, now);
        }
        assert_eq!(family.get_or_create(&labels).get(), 3);
        let other = ValueLabels {
            field: "audit_time".into(),
            ..labels.clone()
        };
        assert_eq!(family.get_or_create(&other).get(), 0, "created at 0");
        assert!(g.rejecting.contains(&Field::JobEnd));
        let mut c = collection(Vec::new(), Vec::new(), Vec::new());
        g.collection(&mut c, now);
        assert!(!g.rejecting.contains(&Field::JobEnd), "no longer rejected");
        assert_eq!(family.get_or_create(&labels).get(), 3);
    }

    #[test]
    fn every_field_has_its_own_label() {
        let names: BTreeSet<&str> = Field::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(names.len(), Field::ALL.len());
    }
}
