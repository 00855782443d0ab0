//! Renders one target's view into cached, compressed metric families, once per refresh.
//!
//! Every family is written only when the target has at least one series for it. Each family
//! of each target becomes one [`Chunk`]: its sample lines as a DEFLATE segment (see
//! [`super::gzip`]), plus a [`Gate`] that says which collectors must still be within the
//! target's `max_stale` for the chunk to be served. The gate is checked on every scrape, so
//! data older than `max_stale` drops out on time even when no refresh happens (the
//! collector's `up` and `last_success_timestamp` say why). The HELP and TYPE lines are
//! written per scrape, once per family across all targets.

use std::sync::Arc;

use jiff::Timestamp;

use super::gzip::{CompressError, Segment, SegmentWriter};
use crate::model::JobResult;
use crate::state::{CollectorKind, CollectorStatus, ObjectFacts, ObjectView, TargetView};

/// How a refresh's families are rendered.
#[derive(Clone, Debug)]
pub struct RenderOptions {
    /// Families left out (operator's choice, `serve --exclude-metric`).
    pub exclude: Vec<String>,
    /// gzip level of the cached segments (1 fastest .. 9 smallest).
    pub level: u32,
}

/// Level 1: about three times faster than the default 6 for a body some 15% larger; the
/// cost is paid once per refresh and target, the size on every scrape (docs/performance.md).
pub const DEFAULT_LEVEL: u32 = 1;

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            exclude: Vec::new(),
            level: DEFAULT_LEVEL,
        }
    }
}

/// Which collectors' data a family comes from; the family is served while they are fresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gate {
    /// Health and counters: always served.
    Always,
    Fresh(CollectorKind),
    Both(CollectorKind, CollectorKind),
    Either(CollectorKind, CollectorKind),
}

impl Gate {
    pub fn open(self, v: &TargetView, now: Timestamp) -> bool {
        match self {
            Gate::Always => true,
            Gate::Fresh(c) => v.servable(c, now),
            Gate::Both(a, b) => v.servable(a, now) && v.servable(b, now),
            Gate::Either(a, b) => v.servable(a, now) || v.servable(b, now),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
}

/// One family of one target.
#[derive(Debug)]
pub struct Chunk {
    /// Position of the family in the rendering order, the same for every target.
    pub ordinal: u16,
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub gate: Gate,
    pub segment: Arc<Segment>,
}

impl Chunk {
    /// The HELP and TYPE lines of the family in the given format.
    pub fn header(&self, format: super::Format) -> String {
        let (name, suffix, ty) = match (self.kind, format) {
            (Kind::Gauge, _) => (self.name, "", "gauge"),
            (Kind::Counter, super::Format::OpenMetrics) => (self.name, "", "counter"),
            (Kind::Counter, super::Format::Classic) => (self.name, "_total", "counter"),
        };
        format!(
            "# HELP {name}{suffix} {}\n# TYPE {name}{suffix} {ty}\n",
            self.help
        )
    }
}

/// A target's families as of its last refresh.
#[derive(Debug, Default)]
pub struct Rendered {
    pub chunks: Vec<Chunk>,
}

impl Rendered {
    /// Compressed bytes held.
    pub fn deflated_len(&self) -> usize {
        self.chunks.iter().map(|c| c.segment.deflated.len()).sum()
    }
}

/// Every family name the fleet renders, in order (for `--exclude-metric` validation and
/// docs).
pub const FAMILIES: [&str; 34] = [
    "backup_target_up",
    "backup_collector_up",
    "backup_collector_duration_seconds",
    "backup_collector_last_success_timestamp_seconds",
    "backup_collector_interval_seconds",
    "backup_collector_part_refused",
    "backup_exported_objects",
    "backup_object_info",
    "backup_object_protected",
    "backup_object_rpo_seconds",
    "backup_object_last_success_timestamp_seconds",
    "backup_object_last_attempt_timestamp_seconds",
    "backup_object_last_result",
    "backup_object_last_duration_seconds",
    "backup_object_last_transferred_bytes",
    "backup_object_consecutive_failures",
    "backup_object_protected_bytes",
    "backup_object_stored_bytes",
    "backup_object_restore_points",
    "backup_object_latest_restore_point_timestamp_seconds",
    "backup_object_last_restore_timestamp_seconds",
    "backup_object_last_restore_result",
    "backup_object_last_restore_success_timestamp_seconds",
    "backup_object_restore_test_interval_seconds",
    "backup_jobs_window",
    "backup_jobs_running",
    "backup_jobs",
    "backup_transferred_bytes",
    "backup_warnings",
    "backup_audit_events",
    "backup_audit_last_event_timestamp_seconds",
    "backup_storage_capacity_bytes",
    "backup_storage_used_bytes",
    "backup_tenant_stored_bytes",
];

/// The first seven families are the target and collector health that alerts on the
/// exporter itself rely on: they cannot be excluded.
const HEALTH: usize = 7;

/// Families an operator may leave out: everything but the target and collector health.
pub fn excludable(name: &str) -> bool {
    FAMILIES[HEALTH..].contains(&name)
}

fn ts(t: Timestamp) -> f64 {
    t.as_nanosecond() as f64 / 1e9
}

macro_rules! cached {
    ($s:literal) => {
        concat!(
            $s,
            " Cached: refreshed every target interval (backup_collector_interval_seconds)"
        )
    };
}

/// Results a finished attempt can have (`last_result` shows one 1 and the rest 0).
const FINISHED: [JobResult; 5] = [
    JobResult::Success,
    JobResult::Warning,
    JobResult::Failed,
    JobResult::Cancelled,
    JobResult::Missed,
];

/// Sample lines of one family being written.
struct Lines<'w> {
    w: &'w mut SegmentWriter,
    name: &'static str,
    suffix: &'static str,
    err: Option<CompressError>,
}

impl Lines<'_> {
    fn labels(&mut self, labels: &[(&str, &str)]) {
        let out = self.w.text();
        out.push_str(self.name);
        out.push_str(self.suffix);
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(k);
            out.push_str("=\"");
            escape(out, v);
            out.push('"');
        }
        out.push_str("} ");
    }

    fn done(&mut self) {
        self.w.text().push('\n');
        if let Err(e) = self.w.wrote() {
            self.err.get_or_insert(e);
        }
    }

    fn gauge(&mut self, labels: &[(&str, &str)], v: f64) {
        use std::fmt::Write as _;
        self.labels(labels);
        // The same digits prometheus-client's encoder writes (`1.0`, `1e-7`).
        let _ = write!(self.w.text(), "{v:?}");
        self.done();
    }

    fn counter(&mut self, labels: &[(&str, &str)], n: u64) {
        use std::fmt::Write as _;
        self.labels(labels);
        let _ = write!(self.w.text(), "{n}");
        self.done();
    }
}

/// Label values escaped as the exposition formats require.
fn escape(out: &mut String, s: &str) {
    if !s.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

struct Renderer<'o> {
    opts: &'o RenderOptions,
    w: SegmentWriter,
    ordinal: u16,
    chunks: Vec<Chunk>,
}

impl Renderer<'_> {
    fn family(
        &mut self,
        name: &'static str,
        help: &'static str,
        kind: Kind,
        gate: Gate,
        rows: impl FnOnce(&mut Lines),
    ) -> Result<(), CompressError> {
        let ordinal = self.ordinal;
        self.ordinal += 1;
        debug_assert_eq!(
            FAMILIES[ordinal as usize], name,
            "FAMILIES is in rendering order"
        );
        if self.opts.exclude.iter().any(|e| e == name) {
            return Ok(());
        }
        let mut lines = Lines {
            w: &mut self.w,
            name,
            suffix: if kind == Kind::Counter { "_total" } else { "" },
            err: None,
        };
        rows(&mut lines);
        if let Some(e) = lines.err {
            return Err(e);
        }
        if let Some(segment) = self.w.finish()? {
            self.chunks.push(Chunk {
                ordinal,
                name,
                help,
                kind,
                gate,
                segment: Arc::new(segment),
            });
        }
        Ok(())
    }

    fn gauges(
        &mut self,
        name: &'static str,
        help: &'static str,
        gate: Gate,
        rows: impl FnOnce(&mut Lines),
    ) -> Result<(), CompressError> {
        self.family(name, help, Kind::Gauge, gate, rows)
    }
}

/// Renders a target's view; done once per refresh, off the async workers.
pub fn render(v: &TargetView, opts: &RenderOptions) -> Result<Rendered, CompressError> {
    let mut r = Renderer {
        opts,
        w: SegmentWriter::new(opts.level),
        ordinal: 0,
        chunks: Vec::new(),
    };
    health(&mut r, v)?;
    objects(&mut r, v)?;
    tenants(&mut r, v)?;
    Ok(Rendered { chunks: r.chunks })
}

fn health(r: &mut Renderer, v: &TargetView) -> Result<(), CompressError> {
    use Gate::Always;
    let vt = [("vendor", v.vendor.as_str()), ("target", v.name.as_str())];
    r.gauges(
        "backup_target_up",
        "1 if the last refresh of the target succeeded for every collector",
        Always,
        |l| {
            if v.refreshed {
                l.gauge(&vt, if v.up { 1.0 } else { 0.0 });
            }
        },
    )?;
    // Collectors the vendor cannot provide are left out rather than shown as down.
    let collectors = || {
        CollectorKind::ALL.into_iter().filter_map(|c| {
            let h = v.collector(c);
            matches!(h.status, CollectorStatus::Ok | CollectorStatus::Failed).then_some((c, h))
        })
    };
    let labels = |c: CollectorKind| {
        [
            ("vendor", v.vendor.as_str()),
            ("target", v.name.as_str()),
            ("collector", c.as_str()),
        ]
    };
    r.gauges(
        "backup_collector_up",
        "1 if the collector's last refresh succeeded",
        Always,
        |l| {
            for (c, h) in collectors() {
                let up = if h.status == CollectorStatus::Ok {
                    1.0
                } else {
                    0.0
                };
                l.gauge(&labels(c), up);
            }
        },
    )?;
    r.gauges(
        "backup_collector_duration_seconds",
        "Duration of the collector's last refresh",
        Always,
        |l| {
            for (c, h) in collectors() {
                l.gauge(&labels(c), h.last_duration.as_secs_f64());
            }
        },
    )?;
    r.gauges(
        "backup_collector_last_success_timestamp_seconds",
        "When the data now served by the collector was fetched",
        Always,
        |l| {
            for (c, h) in collectors() {
                if let Some(t) = h.last_success {
                    l.gauge(&labels(c), ts(t));
                }
            }
        },
    )?;
    r.gauges(
        "backup_collector_interval_seconds",
        "Configured refresh interval of the collector, for staleness alerts",
        Always,
        |l| {
            for (c, _) in collectors() {
                l.gauge(&labels(c), v.interval.as_secs_f64());
            }
        },
    )?;
    r.gauges(
        "backup_collector_part_refused",
        "1 for each listing the vendor refused (403/404) as not part of this account; the collector exports the rest",
        Always,
        |l| {
            for p in &v.skipped {
                l.gauge(
                    &[
                        ("vendor", v.vendor.as_str()),
                        ("target", v.name.as_str()),
                        ("collector", p.collector.as_str()),
                        ("part", p.part),
                    ],
                    1.0,
                );
            }
        },
    )?;
    r.gauges(
        "backup_exported_objects",
        "Objects served for the target, to watch cardinality",
        Always,
        |l| {
            if v.refreshed {
                l.gauge(&vt, v.objects.len() as f64);
            }
        },
    )
}

fn objects(r: &mut Renderer, v: &TargetView) -> Result<(), CompressError> {
    use CollectorKind::{Inventory, Jobs};
    // Objects are served while the inventory is fresh; what comes from job history also
    // needs the jobs collector to be fresh.
    let inv = Gate::Fresh(Inventory);
    let facts = Gate::Both(Inventory, Jobs);
    fn ident<'a>(v: &'a TargetView, o: &'a ObjectView) -> [(&'static str, &'a str); 5] {
        [
            ("vendor", v.vendor.as_str()),
            ("target", v.name.as_str()),
            ("tenant", o.object.tenant.as_str()),
            ("object_id", o.object.id.as_str()),
            ("object", o.object.name.as_str()),
        ]
    }
    let id = |o| ident(v, o);
    let with_facts = || {
        v.objects
            .iter()
            .filter_map(|o| o.facts.as_ref().map(|f| (o, f)))
    };
    // The shapes most object families share: one value per object where the inventory (or
    // the object's facts) has one, and a 1-of-N gauge over the finished results.
    let per_object = |r: &mut Renderer, name, help, value: &dyn Fn(&ObjectView) -> Option<f64>| {
        r.gauges(name, help, inv, |l| {
            for o in &v.objects {
                if let Some(x) = value(o) {
                    l.gauge(&id(o), x);
                }
            }
        })
    };
    let per_fact =
        |r: &mut Renderer, name, help, value: &dyn Fn(&ObjectView, &ObjectFacts) -> Option<f64>| {
            r.gauges(name, help, facts, |l| {
                for (o, f) in with_facts() {
                    if let Some(x) = value(o, f) {
                        l.gauge(&id(o), x);
                    }
                }
            })
        };
    let one_hot =
        |r: &mut Renderer, name, help, result: &dyn Fn(&ObjectFacts) -> Option<JobResult>| {
            r.gauges(name, help, facts, |l| {
                for (o, f) in with_facts() {
                    let Some(last) = result(f) else { continue };
                    let [a, b, c, d, e] = id(o);
                    for res in FINISHED {
                        let labels = [a, b, c, d, e, ("result", res.as_str())];
                        l.gauge(&labels, if res == last { 1.0 } else { 0.0 });
                    }
                }
            })
        };
    r.gauges(
        "backup_object_info",
        cached!("Metadata of a protected object; always 1."),
        inv,
        |l| {
            for o in &v.objects {
                let [a, b, c, d, e] = id(o);
                let labels = [
                    a,
                    b,
                    c,
                    d,
                    e,
                    ("object_type", o.object.object_type.as_str()),
                    ("policy", o.object.policy.as_str()),
                ];
                l.gauge(&labels, 1.0);
            }
        },
    )?;
    r.gauges(
        "backup_object_protected",
        cached!("1 if the object has an active policy or schedule."),
        inv,
        |l| {
            for o in &v.objects {
                l.gauge(&id(o), if o.object.protected { 1.0 } else { 0.0 });
            }
        },
    )?;
    per_object(
        r,
        "backup_object_rpo_seconds",
        cached!("Recovery point objective that applies to the object (rule, policy or default)."),
        &|o| Some(o.rpo.as_secs_f64()),
    )?;
    per_fact(
        r,
        "backup_object_last_success_timestamp_seconds",
        cached!("End of the newest successful backup; 0 if none is known."),
        &|_, f| Some(f.last_success.map(ts).unwrap_or(0.0)),
    )?;
    per_fact(
        r,
        "backup_object_last_attempt_timestamp_seconds",
        cached!("End of the newest finished backup attempt."),
        &|_, f| f.last_attempt.map(ts),
    )?;
    one_hot(
        r,
        "backup_object_last_result",
        cached!("1 for the result of the newest finished attempt, 0 for the others."),
        &|f| f.last_result,
    )?;
    per_fact(
        r,
        "backup_object_last_duration_seconds",
        cached!("Duration of the newest finished attempt."),
        &|_, f| f.last_duration.map(|d| d.as_secs_f64()),
    )?;
    per_fact(
        r,
        "backup_object_last_transferred_bytes",
        cached!("Bytes transferred by the newest finished attempt."),
        &|_, f| f.last_transferred.map(|b| b as f64),
    )?;
    per_fact(
        r,
        "backup_object_consecutive_failures",
        cached!("Failed or missed attempts since the last success."),
        &|_, f| Some(f.consecutive_failures as f64),
    )?;
    per_object(
        r,
        "backup_object_protected_bytes",
        cached!("Size of the protected data, where the vendor tells."),
        &|o| o.object.protected_bytes.map(|b| b as f64),
    )?;
    per_object(
        r,
        "backup_object_stored_bytes",
        cached!("Bytes the backups of the object occupy, where the vendor tells."),
        &|o| o.object.stored_bytes.map(|b| b as f64),
    )?;
    per_object(
        r,
        "backup_object_restore_points",
        cached!("Restore points kept, where the vendor tells."),
        &|o| o.object.restore_points.map(|n| n as f64),
    )?;
    per_object(
        r,
        "backup_object_latest_restore_point_timestamp_seconds",
        cached!("Time of the newest restore point, where the vendor tells."),
        &|o| o.object.latest_restore_point.map(ts),
    )?;
    per_fact(
        r,
        "backup_object_last_restore_timestamp_seconds",
        cached!("End of the newest finished restore, where the vendor lists restores."),
        &|_, f| f.last_restore.map(ts),
    )?;
    one_hot(
        r,
        "backup_object_last_restore_result",
        cached!("1 for the result of the newest finished restore, 0 for the others."),
        &|f| f.last_restore_result,
    )?;
    per_fact(
        r,
        "backup_object_last_restore_success_timestamp_seconds",
        cached!(
            "End of the newest successful restore; 0 if none is known and a restore-test interval applies."
        ),
        &|o, f| match (f.last_restore_success, o.restore_interval) {
            (Some(t), _) => Some(ts(t)),
            (None, Some(_)) => Some(0.0),
            (None, None) => None,
        },
    )?;
    per_object(
        r,
        "backup_object_restore_test_interval_seconds",
        cached!("How old the newest successful restore may be; only where an interval applies."),
        &|o| o.restore_interval.map(|i| i.as_secs_f64()),
    )
}

fn tenants(r: &mut Renderer, v: &TargetView) -> Result<(), CompressError> {
    use CollectorKind::{Inventory, Jobs, Storage, Warnings};
    fn labels<'a>(
        v: &'a TargetView,
        key: &'static str,
        t: &'a str,
    ) -> [(&'static str, &'a str); 3] {
        [
            ("vendor", v.vendor.as_str()),
            ("target", v.name.as_str()),
            (key, t),
        ]
    }
    let tenant = |t| labels(v, "tenant", t);
    r.gauges(
        "backup_jobs_window",
        cached!("Jobs that ended within the lookback window, by kind and result."),
        Gate::Fresh(Jobs),
        |l| {
            for ((t, k, res), n) in &v.jobs_window {
                let [a, b, c] = tenant(t);
                let labels = [a, b, c, ("kind", k.as_str()), ("result", res.as_str())];
                l.gauge(&labels, *n as f64);
            }
        },
    )?;
    r.gauges(
        "backup_jobs_running",
        cached!("Jobs running now, by kind."),
        Gate::Fresh(Jobs),
        |l| {
            for ((t, k), n) in &v.jobs_running {
                let [a, b, c] = tenant(t);
                l.gauge(&[a, b, c, ("kind", k.as_str())], *n as f64);
            }
        },
    )?;
    // Counters are facts about what this process has seen; they stay while it runs.
    r.family(
        "backup_jobs",
        "Finished jobs first seen after the target's first successful refresh, by kind and result",
        Kind::Counter,
        Gate::Always,
        |l| {
            for ((t, k, res), n) in &v.jobs_total {
                let [a, b, c] = tenant(t);
                let labels = [a, b, c, ("kind", k.as_str()), ("result", res.as_str())];
                l.counter(&labels, *n);
            }
        },
    )?;
    r.family(
        "backup_transferred_bytes",
        "Bytes transferred by the jobs counted in backup_jobs_total, by kind",
        Kind::Counter,
        Gate::Always,
        |l| {
            for ((t, k), n) in &v.transferred_total {
                let [a, b, c] = tenant(t);
                l.counter(&[a, b, c, ("kind", k.as_str())], *n);
            }
        },
    )?;
    r.gauges(
        "backup_warnings",
        cached!("Active warnings and alerts, by severity and category."),
        Gate::Fresh(Warnings),
        |l| {
            for ((t, s, cat), n) in &v.warnings {
                let [a, b, c] = tenant(t);
                let labels = [
                    a,
                    b,
                    c,
                    ("severity", s.as_str()),
                    ("category", cat.as_str()),
                ];
                l.gauge(&labels, *n as f64);
            }
        },
    )?;
    r.family(
        "backup_audit_events",
        "Audit events first seen after the target's first successful refresh, by action",
        Kind::Counter,
        Gate::Always,
        |l| {
            for ((t, a), n) in &v.audit_total {
                let [x, y, z] = tenant(t);
                l.counter(&[x, y, z, ("action", a.as_str())], *n);
            }
        },
    )?;
    r.gauges(
        "backup_audit_last_event_timestamp_seconds",
        "Time of the newest audit event seen, by action",
        Gate::Always,
        |l| {
            for ((t, a), when) in &v.audit_last {
                let [x, y, z] = tenant(t);
                l.gauge(&[x, y, z, ("action", a.as_str())], ts(*when));
            }
        },
    )?;
    let pool = |p| labels(v, "pool", p);
    r.gauges(
        "backup_storage_capacity_bytes",
        cached!("Capacity of a storage pool."),
        Gate::Fresh(Storage),
        |l| {
            for p in &v.pools {
                if let Some(b) = p.capacity_bytes {
                    l.gauge(&pool(&p.name), b as f64);
                }
            }
        },
    )?;
    r.gauges(
        "backup_storage_used_bytes",
        cached!("Used bytes of a storage pool."),
        Gate::Fresh(Storage),
        |l| {
            for p in &v.pools {
                if let Some(b) = p.used_bytes {
                    l.gauge(&pool(&p.name), b as f64);
                }
            }
        },
    )?;
    r.gauges(
        "backup_tenant_stored_bytes",
        cached!("Bytes stored for a tenant."),
        Gate::Either(Storage, Inventory),
        |l| {
            for (t, b) in &v.tenant_stored {
                l.gauge(&tenant(t), *b as f64);
            }
        },
    )
}
