//! Renders target views as metric families. Every family is written only when it has at
//! least one series, and data older than the target's `max_stale` is left out (the
//! collector's `up` and `last_success_timestamp` say why).

use std::sync::Arc;

use jiff::Timestamp;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, NoLabelSet};
use prometheus_client::metrics::MetricType;

use crate::clock::Clock;
use crate::fleet::Fleet;
use crate::model::JobResult;
use crate::state::{CollectorKind, CollectorStatus, TargetView};

/// Renders the fleet's views on every scrape.
#[derive(Debug)]
pub struct FleetCollector {
    fleet: Arc<Fleet>,
    clock: Clock,
}

impl FleetCollector {
    pub fn new(fleet: Arc<Fleet>, clock: Clock) -> Self {
        FleetCollector { fleet, clock }
    }
}

fn ts(t: Timestamp) -> f64 {
    t.as_nanosecond() as f64 / 1e9
}

/// Writes one gauge family if `rows` has any series.
fn gauges<L: EncodeLabelSet>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (L, f64)>,
) -> Result<(), std::fmt::Error> {
    let mut rows = rows.into_iter().peekable();
    if rows.peek().is_none() {
        return Ok(());
    }
    let mut fam = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, v) in rows {
        fam.encode_family(&labels)?.encode_gauge(&v)?;
    }
    Ok(())
}

/// Writes one counter family (`name` without `_total`) if `rows` has any series.
fn counters<L: EncodeLabelSet>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    rows: impl IntoIterator<Item = (L, u64)>,
) -> Result<(), std::fmt::Error> {
    let mut rows = rows.into_iter().peekable();
    if rows.peek().is_none() {
        return Ok(());
    }
    let mut fam = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
    for (labels, v) in rows {
        fam.encode_family(&labels)?
            .encode_counter::<NoLabelSet, _, u64>(&v, None)?;
    }
    Ok(())
}

const CACHED: &str = "Cached: refreshed every target interval (backup_collector_interval_seconds)";

/// Results a finished attempt can have (`last_result` shows one 1 and the rest 0).
const FINISHED: [JobResult; 5] = [
    JobResult::Success,
    JobResult::Warning,
    JobResult::Failed,
    JobResult::Cancelled,
    JobResult::Missed,
];

impl Collector for FleetCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let now = self.clock.now();
        let views = self.fleet.views();
        let views: Vec<&TargetView> = views.iter().map(|v| v.as_ref()).collect();
        encode_health(&mut enc, &views)?;
        encode_objects(&mut enc, &views, now)?;
        encode_tenants(&mut enc, &views, now)?;
        Ok(())
    }
}

fn encode_health(
    enc: &mut DescriptorEncoder,
    views: &[&TargetView],
) -> Result<(), std::fmt::Error> {
    let refreshed = || views.iter().filter(|v| v.refreshed);
    gauges(
        enc,
        "backup_target_up",
        "1 if the last refresh of the target succeeded for every collector",
        refreshed().map(|v| {
            (
                [("vendor", v.vendor.as_str()), ("target", v.name.as_str())],
                if v.up { 1.0 } else { 0.0 },
            )
        }),
    )?;
    // Collectors the vendor cannot provide are left out rather than shown as down.
    let collectors = || {
        views.iter().flat_map(|v| {
            CollectorKind::ALL.into_iter().filter_map(move |c| {
                let h = v.collector(c);
                matches!(h.status, CollectorStatus::Ok | CollectorStatus::Failed)
                    .then_some((*v, c, h))
            })
        })
    };
    fn labels(v: &TargetView, c: CollectorKind) -> [(&'static str, &str); 3] {
        [
            ("vendor", v.vendor.as_str()),
            ("target", v.name.as_str()),
            ("collector", c.as_str()),
        ]
    }
    gauges(
        enc,
        "backup_collector_up",
        "1 if the collector's last refresh succeeded",
        collectors().map(|(v, c, h)| {
            (
                labels(v, c),
                if h.status == CollectorStatus::Ok {
                    1.0
                } else {
                    0.0
                },
            )
        }),
    )?;
    gauges(
        enc,
        "backup_collector_duration_seconds",
        "Duration of the collector's last refresh",
        collectors().map(|(v, c, h)| (labels(v, c), h.last_duration.as_secs_f64())),
    )?;
    gauges(
        enc,
        "backup_collector_last_success_timestamp_seconds",
        "When the data now served by the collector was fetched",
        collectors().filter_map(|(v, c, h)| h.last_success.map(|t| (labels(v, c), ts(t)))),
    )?;
    gauges(
        enc,
        "backup_collector_interval_seconds",
        "Configured refresh interval of the collector, for staleness alerts",
        collectors().map(|(v, c, _)| (labels(v, c), v.interval.as_secs_f64())),
    )?;
    gauges(
        enc,
        "backup_collector_part_refused",
        "1 for each listing the vendor refused (403/404) as not part of this account; the collector exports the rest",
        views.iter().flat_map(|v| {
            v.skipped.iter().map(move |p| {
                (
                    [
                        ("vendor", v.vendor.as_str()),
                        ("target", v.name.as_str()),
                        ("collector", p.collector.as_str()),
                        ("part", p.part),
                    ],
                    1.0,
                )
            })
        }),
    )?;
    gauges(
        enc,
        "backup_exported_objects",
        "Objects served for the target, to watch cardinality",
        refreshed().map(|v| {
            (
                [("vendor", v.vendor.as_str()), ("target", v.name.as_str())],
                v.objects.len() as f64,
            )
        }),
    )
}

fn encode_objects(
    enc: &mut DescriptorEncoder,
    views: &[&TargetView],
    now: Timestamp,
) -> Result<(), std::fmt::Error> {
    // Objects are served while the inventory is fresh; what comes from job history also
    // needs the jobs collector to be fresh.
    let objects = || {
        views
            .iter()
            .filter(|v| v.servable(CollectorKind::Inventory, now))
            .flat_map(|v| v.objects.iter().map(move |o| (*v, o)))
    };
    let with_facts = || {
        views
            .iter()
            .filter(|v| {
                v.servable(CollectorKind::Inventory, now) && v.servable(CollectorKind::Jobs, now)
            })
            .flat_map(|v| {
                v.objects
                    .iter()
                    .filter_map(move |o| o.facts.as_ref().map(|f| (*v, o, f)))
            })
    };
    let id = |v: &TargetView, o: &crate::state::ObjectView| -> [(&'static str, String); 5] {
        [
            ("vendor", v.vendor.as_str().to_owned()),
            ("target", v.name.clone()),
            ("tenant", o.object.tenant.clone()),
            ("object_id", o.object.id.clone()),
            ("object", o.object.name.clone()),
        ]
    };
    gauges(
        enc,
        "backup_object_info",
        &format!("Metadata of a protected object; always 1. {CACHED}"),
        objects().map(|(v, o)| {
            let [a, b, c, d, e] = id(v, o);
            (
                [
                    a,
                    b,
                    c,
                    d,
                    e,
                    ("object_type", o.object.object_type.clone()),
                    ("policy", o.object.policy.clone()),
                ],
                1.0,
            )
        }),
    )?;
    gauges(
        enc,
        "backup_object_protected",
        &format!("1 if the object has an active policy or schedule. {CACHED}"),
        objects().map(|(v, o)| (id(v, o), if o.object.protected { 1.0 } else { 0.0 })),
    )?;
    gauges(
        enc,
        "backup_object_rpo_seconds",
        &format!(
            "Recovery point objective that applies to the object (rule, policy or default). {CACHED}"
        ),
        objects().map(|(v, o)| (id(v, o), o.rpo.as_secs_f64())),
    )?;
    gauges(
        enc,
        "backup_object_last_success_timestamp_seconds",
        &format!("End of the newest successful backup; 0 if none is known. {CACHED}"),
        with_facts().map(|(v, o, f)| (id(v, o), f.last_success.map(ts).unwrap_or(0.0))),
    )?;
    gauges(
        enc,
        "backup_object_last_attempt_timestamp_seconds",
        &format!("End of the newest finished backup attempt. {CACHED}"),
        with_facts().filter_map(|(v, o, f)| f.last_attempt.map(|t| (id(v, o), ts(t)))),
    )?;
    gauges(
        enc,
        "backup_object_last_result",
        &format!("1 for the result of the newest finished attempt, 0 for the others. {CACHED}"),
        with_facts().flat_map(|(v, o, f)| {
            let last = f.last_result;
            last.into_iter().flat_map(move |last| {
                FINISHED.into_iter().map(move |r| {
                    let [a, b, c, d, e] = id(v, o);
                    (
                        [a, b, c, d, e, ("result", r.as_str().to_owned())],
                        if r == last { 1.0 } else { 0.0 },
                    )
                })
            })
        }),
    )?;
    gauges(
        enc,
        "backup_object_last_duration_seconds",
        &format!("Duration of the newest finished attempt. {CACHED}"),
        with_facts().filter_map(|(v, o, f)| f.last_duration.map(|d| (id(v, o), d.as_secs_f64()))),
    )?;
    gauges(
        enc,
        "backup_object_last_transferred_bytes",
        &format!("Bytes transferred by the newest finished attempt. {CACHED}"),
        with_facts().filter_map(|(v, o, f)| f.last_transferred.map(|b| (id(v, o), b as f64))),
    )?;
    gauges(
        enc,
        "backup_object_consecutive_failures",
        &format!("Failed or missed attempts since the last success. {CACHED}"),
        with_facts().map(|(v, o, f)| (id(v, o), f.consecutive_failures as f64)),
    )?;
    gauges(
        enc,
        "backup_object_protected_bytes",
        &format!("Size of the protected data, where the vendor tells. {CACHED}"),
        objects().filter_map(|(v, o)| o.object.protected_bytes.map(|b| (id(v, o), b as f64))),
    )?;
    gauges(
        enc,
        "backup_object_stored_bytes",
        &format!("Bytes the backups of the object occupy, where the vendor tells. {CACHED}"),
        objects().filter_map(|(v, o)| o.object.stored_bytes.map(|b| (id(v, o), b as f64))),
    )?;
    gauges(
        enc,
        "backup_object_restore_points",
        &format!("Restore points kept, where the vendor tells. {CACHED}"),
        objects().filter_map(|(v, o)| o.object.restore_points.map(|n| (id(v, o), n as f64))),
    )?;
    gauges(
        enc,
        "backup_object_latest_restore_point_timestamp_seconds",
        &format!("Time of the newest restore point, where the vendor tells. {CACHED}"),
        objects().filter_map(|(v, o)| o.object.latest_restore_point.map(|t| (id(v, o), ts(t)))),
    )
}

fn encode_tenants(
    enc: &mut DescriptorEncoder,
    views: &[&TargetView],
    now: Timestamp,
) -> Result<(), std::fmt::Error> {
    let fresh = |c: CollectorKind| views.iter().copied().filter(move |v| v.servable(c, now));
    let tenant = |v: &TargetView, t: &str| -> [(&'static str, String); 3] {
        [
            ("vendor", v.vendor.as_str().to_owned()),
            ("target", v.name.clone()),
            ("tenant", t.to_owned()),
        ]
    };
    gauges(
        enc,
        "backup_jobs_window",
        &format!("Jobs that ended within the lookback window, by kind and result. {CACHED}"),
        fresh(CollectorKind::Jobs).flat_map(|v| {
            v.jobs_window.iter().map(move |((t, k, r), n)| {
                let [a, b, c] = tenant(v, t);
                (
                    [
                        a,
                        b,
                        c,
                        ("kind", k.as_str().to_owned()),
                        ("result", r.as_str().to_owned()),
                    ],
                    *n as f64,
                )
            })
        }),
    )?;
    gauges(
        enc,
        "backup_jobs_running",
        &format!("Jobs running now, by kind. {CACHED}"),
        fresh(CollectorKind::Jobs).flat_map(|v| {
            v.jobs_running.iter().map(move |((t, k), n)| {
                let [a, b, c] = tenant(v, t);
                ([a, b, c, ("kind", k.as_str().to_owned())], *n as f64)
            })
        }),
    )?;
    // Counters are facts about what this process has seen; they stay while it runs.
    counters(
        enc,
        "backup_jobs",
        "Finished jobs first seen after the target's first successful refresh, by kind and result",
        views.iter().flat_map(|v| {
            v.jobs_total.iter().map(move |((t, k, r), n)| {
                let [a, b, c] = tenant(v, t);
                (
                    [
                        a,
                        b,
                        c,
                        ("kind", k.as_str().to_owned()),
                        ("result", r.as_str().to_owned()),
                    ],
                    *n,
                )
            })
        }),
    )?;
    counters(
        enc,
        "backup_transferred_bytes",
        "Bytes transferred by the jobs counted in backup_jobs_total, by kind",
        views.iter().flat_map(|v| {
            v.transferred_total.iter().map(move |((t, k), n)| {
                let [a, b, c] = tenant(v, t);
                ([a, b, c, ("kind", k.as_str().to_owned())], *n)
            })
        }),
    )?;
    gauges(
        enc,
        "backup_warnings",
        &format!("Active warnings and alerts, by severity and category. {CACHED}"),
        fresh(CollectorKind::Warnings).flat_map(|v| {
            v.warnings.iter().map(move |((t, s, cat), n)| {
                let [a, b, c] = tenant(v, t);
                (
                    [
                        a,
                        b,
                        c,
                        ("severity", s.as_str().to_owned()),
                        ("category", cat.clone()),
                    ],
                    *n as f64,
                )
            })
        }),
    )?;
    counters(
        enc,
        "backup_audit_events",
        "Audit events first seen after the target's first successful refresh, by action",
        views.iter().flat_map(|v| {
            v.audit_total.iter().map(move |((t, a), n)| {
                let [x, y, z] = tenant(v, t);
                ([x, y, z, ("action", a.as_str().to_owned())], *n)
            })
        }),
    )?;
    gauges(
        enc,
        "backup_audit_last_event_timestamp_seconds",
        "Time of the newest audit event seen, by action",
        views.iter().flat_map(|v| {
            v.audit_last.iter().map(move |((t, a), when)| {
                let [x, y, z] = tenant(v, t);
                ([x, y, z, ("action", a.as_str().to_owned())], ts(*when))
            })
        }),
    )?;
    let pool = |v: &TargetView, p: &str| -> [(&'static str, String); 3] {
        [
            ("vendor", v.vendor.as_str().to_owned()),
            ("target", v.name.clone()),
            ("pool", p.to_owned()),
        ]
    };
    gauges(
        enc,
        "backup_storage_capacity_bytes",
        &format!("Capacity of a storage pool. {CACHED}"),
        fresh(CollectorKind::Storage).flat_map(|v| {
            v.pools
                .iter()
                .filter_map(move |p| p.capacity_bytes.map(|b| (pool(v, &p.name), b as f64)))
        }),
    )?;
    gauges(
        enc,
        "backup_storage_used_bytes",
        &format!("Used bytes of a storage pool. {CACHED}"),
        fresh(CollectorKind::Storage).flat_map(|v| {
            v.pools
                .iter()
                .filter_map(move |p| p.used_bytes.map(|b| (pool(v, &p.name), b as f64)))
        }),
    )?;
    gauges(
        enc,
        "backup_tenant_stored_bytes",
        &format!("Bytes stored for a tenant. {CACHED}"),
        views
            .iter()
            .copied()
            .filter(|v| {
                v.servable(CollectorKind::Storage, now) || v.servable(CollectorKind::Inventory, now)
            })
            .flat_map(|v| {
                v.tenant_stored.iter().map(move |(t, b)| {
                    let [a, b2, c] = tenant(v, t);
                    ([a, b2, c], *b as f64)
                })
            }),
    )
}
