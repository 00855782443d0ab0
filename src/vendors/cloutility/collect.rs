//! One refresh and one report period: the per-consumer requests, run concurrently, and
//! their answers gathered per collector.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, stream};
use jiff::Timestamp;
use reqwest::StatusCode;
use tokio::sync::OnceCell;

use super::inventory::{self, ConsumerFacts};
use super::mapping;
use super::scope::ConsumerRef;
use super::{Cloutility, wire};
use crate::adapter::{
    Collected, Collection, History, Period, Skips, VendorError, Window, with_deadline_from,
};
use crate::clock;
use crate::model::{AuditEvent, CollectorKind, Job, Object, Storage, StoragePool, Warning};

/// How far before a report period jobs are read at first (at most: less when the report's
/// look-back is shorter), to find the last success before it; then, for a consumer without
/// one, further back a month at a time, down to its first job. So the last success is
/// found whatever its age, which is more than the look-back the report asks for.
const BEFORE_PERIOD: Duration = Duration::from_secs(7 * 86_400);
const STEP_BACK: Duration = Duration::from_secs(30 * 86_400);

/// A consumer's backup node and filespaces change slowly (the vendor notes suggest reading
/// inventory every 15 to 60 minutes), so they are read again only when older than this;
/// jobs, reports and audit logs are read on every refresh.
const NODE_TTL: Duration = Duration::from_secs(30 * 60);

/// One consumer's part of a report period.
type ConsumerHistory = (Object, Vec<Job>, Vec<AuditEvent>);

/// A consumer's backup node (`None` before activation) and its filespaces.
#[derive(Debug)]
pub(super) struct NodeFacts {
    node: Option<wire::Node>,
    filespaces: Vec<wire::Filespace>,
    /// Why the filespaces were refused (403, or 404 for a node that exists), if they were.
    filespaces_refused: Option<String>,
}

pub(super) async fn refresh(a: &Cloutility, window: Window) -> Collection {
    let started = tokio::time::Instant::now();
    let skips = Skips::default();
    let consumers = match a.consumers().await {
        Ok(c) => c,
        Err(e) => return Collection::failed(|| e.clone()),
    };
    a.cache()
        .keep_only(&consumers.iter().map(|c| c.id).collect());
    // `completed` of each consumer's first job, asked at most once per refresh: the jobs
    // start from it, and the inventory takes `history_start` from it.
    let firsts: Vec<OnceCell<Collected<Option<Timestamp>>>> =
        consumers.iter().map(|_| OnceCell::new()).collect();
    let n = consumers.len();
    // Each collector reads every consumer's part on its own, with its own deadline
    // (counted from the start of the refresh, so the consumers listing counts): a slow
    // listing fails its own collector, the others keep their fresh data. Indices rather
    // than `&ConsumerRef` items: a closure taking a reference trips rustc's higher-ranked
    // `Send` check inside `async_trait` (rust-lang/rust#110338).
    let d = a.collector_timeout;
    let (facts, jobs, warnings, audit) = tokio::join!(
        with_deadline_from(
            CollectorKind::Inventory,
            started,
            d,
            per_consumer(a, n, |i| consumer_facts(
                a,
                (i, &consumers[i]),
                &firsts[i],
                window.now,
                &skips
            ))
        ),
        with_deadline_from(
            CollectorKind::Jobs,
            started,
            d,
            per_consumer(a, n, |i| consumer_jobs(
                a,
                &consumers[i],
                &firsts[i],
                window
            ))
        ),
        with_deadline_from(
            CollectorKind::Warnings,
            started,
            d,
            all_warnings(a, &consumers, &skips)
        ),
        with_deadline_from(
            CollectorKind::Audit,
            started,
            d,
            per_consumer(a, n, |i| consumer_audit(a, &consumers[i], window, &skips))
        ),
    );
    // Stored bytes and the last-backup hint come from the filespaces: an object without
    // them would silently lose those figures, so both collectors share one fate.
    let storage = facts.as_ref().map_err(Clone::clone).map(|facts| {
        let mut pools: HashMap<String, StoragePool> = HashMap::new();
        let mut tenants: HashMap<Arc<str>, u64> = HashMap::new();
        let mut objects = Vec::new();
        for (c, _, f) in facts {
            let c = &consumers[*c];
            inventory::pools(f.filespaces.iter(), &mut pools);
            if let Some(bytes) = inventory::stored_bytes(&f.filespaces) {
                *tenants.entry(c.tenant.clone()).or_default() += bytes;
                objects.push((c.id.to_string(), bytes));
            }
        }
        let mut pools: Vec<StoragePool> = pools.into_values().collect();
        pools.sort_by(|x, y| x.name.cmp(&y.name));
        let mut tenants: Vec<(String, u64)> = tenants
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        tenants.sort();
        objects.sort();
        Storage {
            pools,
            tenants,
            objects,
        }
    });
    let inventory = facts.map(|facts| {
        let mut objects: Vec<Object> = facts.into_iter().map(|(_, o, _)| o).collect();
        objects.sort_by_key(|o| o.id.parse::<u64>().unwrap_or(u64::MAX));
        objects
    });
    Collection {
        inventory,
        jobs,
        warnings,
        audit,
        storage,
        skipped: skips.take(),
    }
}

/// One collector's part of every consumer, `collector_concurrency` consumers at a time;
/// the first error fails the collector (and stops its other reads).
async fn per_consumer<T, F, Fut>(a: &Cloutility, n: usize, read: F) -> Collected<Vec<T>>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = Collected<Vec<T>>>,
{
    let parts: Vec<Vec<T>> = stream::iter(0..n)
        .map(read)
        .buffer_unordered(a.collector_concurrency)
        .try_collect()
        .await?;
    Ok(parts.into_iter().flatten().collect())
}

/// `completed` of the consumer's first job, asked once per refresh whoever asks first.
async fn first_job_once(
    a: &Cloutility,
    c: &ConsumerRef,
    cell: &OnceCell<Collected<Option<Timestamp>>>,
) -> Collected<Option<Timestamp>> {
    cell.get_or_init(|| first_job(a, c)).await.clone()
}

/// The consumer as an object, with its node and filespaces (for storage). Its first job
/// only refines `history_start`: a failure to read it is the jobs collector's to report.
async fn consumer_facts(
    a: &Cloutility,
    (i, c): (usize, &ConsumerRef),
    first: &OnceCell<Collected<Option<Timestamp>>>,
    now: Timestamp,
    skips: &Skips,
) -> Collected<Vec<(usize, Object, Arc<NodeFacts>)>> {
    let (facts, _) = futures::join!(node_facts(a, c, now, skips), first_job_once(a, c, first));
    let facts = facts?;
    Ok(vec![(i, object(a, c, &facts), facts)])
}

async fn consumer_jobs(
    a: &Cloutility,
    c: &ConsumerRef,
    first: &OnceCell<Collected<Option<Timestamp>>>,
    window: Window,
) -> Collected<Vec<Job>> {
    // Without a finished job there is nothing to read; with one, it is now cached.
    if first_job_once(a, c, first).await?.is_none() {
        return Ok(Vec::new());
    }
    jobs_between(a, c, window.since, window.now).await
}

/// Every consumer's warnings, from its latest daily report.
async fn all_warnings(
    a: &Cloutility,
    consumers: &[ConsumerRef],
    skips: &Skips,
) -> Collected<Vec<Warning>> {
    let types = warning_types(a, skips).await?;
    per_consumer(a, consumers.len(), |i| {
        consumer_warnings(a, &consumers[i], &types, skips)
    })
    .await
}

async fn consumer_warnings(
    a: &Cloutility,
    c: &ConsumerRef,
    types: &HashMap<i64, String>,
    skips: &Skips,
) -> Collected<Vec<Warning>> {
    // A 404 here is "no report yet" (the client makes it `None`); a 403 is a refused part.
    let report = skips.or_empty(
        CollectorKind::Warnings,
        "node_reports",
        a.portal
            .latest_report(c.bunit, c.id)
            .await
            .map_err(VendorError::from),
    )?;
    let id = c.id.to_string();
    Ok(report
        .map(|r| mapping::warnings(&r, types, &id, &c.tenant))
        .unwrap_or_default())
}

async fn consumer_audit(
    a: &Cloutility,
    c: &ConsumerRef,
    window: Window,
    skips: &Skips,
) -> Collected<Vec<AuditEvent>> {
    skips.or_empty(
        CollectorKind::Audit,
        "audit_logs",
        new_audit(a, c, window).await,
    )
}

/// Warning type names by id, asked once. A portal that refuses the lookup (403, or 404
/// from a release without it) leaves the names the reports embed; that is a skipped part,
/// asked again on the next refresh.
async fn warning_types(a: &Cloutility, skips: &Skips) -> Collected<Arc<HashMap<i64, String>>> {
    if let Some(t) = a.cache().warning_types.clone() {
        return Ok(t);
    }
    let found = a.portal.warning_types().await.map_err(VendorError::from);
    let Some(types) = skips.optional(CollectorKind::Warnings, "warning_types", found)? else {
        return Ok(Arc::default());
    };
    let types = Arc::new(types);
    a.cache().warning_types = Some(types.clone());
    Ok(types)
}

/// The consumer's node and filespaces, read again once older than [`NODE_TTL`]. Refused
/// filespaces are a skipped part of inventory and storage (the object stays, without its
/// sizes and last-backup hint), recorded on every refresh while remembered.
async fn node_facts(
    a: &Cloutility,
    c: &ConsumerRef,
    now: Timestamp,
    skips: &Skips,
) -> Collected<Arc<NodeFacts>> {
    let cached = a.cache().nodes.get(&c.id).and_then(|(at, facts)| {
        let age = now.as_second() - at.as_second();
        (0..NODE_TTL.as_secs() as i64)
            .contains(&age)
            .then(|| facts.clone())
    });
    let facts = match cached {
        Some(f) => f,
        None => {
            let (node, filespaces) = futures::join!(
                a.portal.node(c.bunit, c.id),
                a.portal.filespaces(c.bunit, c.id),
            );
            let node = node?;
            let (filespaces, refused) = match filespaces.map_err(VendorError::from) {
                Ok(f) => (f, None),
                // No node, no filespaces: the 404 is the answer.
                Err(e) if node.is_none() && Skips::is_refusal(&e) => (Vec::new(), None),
                Err(e) if Skips::is_refusal(&e) => (Vec::new(), Some(e.to_string())),
                Err(e) => return Err(e),
            };
            let facts = Arc::new(NodeFacts {
                node,
                filespaces,
                filespaces_refused: refused,
            });
            a.cache().nodes.insert(c.id, (now, facts.clone()));
            facts
        }
    };
    if let Some(reason) = &facts.filespaces_refused {
        for collector in [CollectorKind::Inventory, CollectorKind::Storage] {
            skips.record(collector, "filespaces", reason.clone());
        }
    }
    Ok(facts)
}

fn object(a: &Cloutility, c: &ConsumerRef, facts: &NodeFacts) -> Object {
    let first_job = a.cache().first_jobs.get(&c.id).copied();
    inventory::object(&ConsumerFacts {
        id: c.id,
        consumer: &c.consumer,
        tenant: &c.tenant,
        node: facts.node.as_ref(),
        filespaces: &facts.filespaces,
        first_job,
    })
}

/// `completed` of the consumer's first job, asked once and remembered.
async fn first_job(a: &Cloutility, c: &ConsumerRef) -> Collected<Option<Timestamp>> {
    if let Some(t) = a.cache().first_jobs.get(&c.id) {
        return Ok(Some(*t));
    }
    let first = a.portal.first_job(c.bunit, c.id).await?;
    if let Some(t) = first {
        a.cache().first_jobs.insert(c.id, t);
    }
    Ok(first)
}

/// The consumer's jobs between `from` and `to`, starting no earlier than the first job
/// (the portal refuses an earlier start). Should the portal still refuse (its history was
/// pruned, so the first job moved on), the first job is asked again and the call retried.
async fn jobs_between(
    a: &Cloutility,
    c: &ConsumerRef,
    from: Timestamp,
    to: Timestamp,
) -> Collected<Vec<Job>> {
    let Some(first) = first_job(a, c).await? else {
        return Ok(Vec::new());
    };
    let start = from.max(first);
    if start > to {
        return Ok(Vec::new());
    }
    let wire_jobs = match a.portal.jobs(c.bunit, c.id, start, to).await {
        Err(e) if e.status() == Some(StatusCode::BAD_REQUEST) => {
            a.cache().first_jobs.remove(&c.id);
            match first_job(a, c).await? {
                Some(moved) if moved > start && moved <= to => {
                    a.portal.jobs(c.bunit, c.id, moved, to).await?
                }
                _ => return Err(e.into()),
            }
        }
        other => other?,
    };
    let id = c.id.to_string();
    let mut seen = HashSet::new();
    Ok(wire_jobs
        .into_iter()
        .filter_map(|j| mapping::job(j, &id))
        .filter(|j| seen.insert(j.id.clone()))
        .collect())
}

/// The consumer's audit entries in the window: those remembered from earlier refreshes,
/// plus what is new since the newest one seen (asked from its time on; the entries at
/// that very time come again and are recognised by id). The portal writes entries as
/// things happen, so nothing new appears with an older time.
async fn new_audit(a: &Cloutility, c: &ConsumerRef, window: Window) -> Collected<Vec<AuditEvent>> {
    let newest = a.cache().audit.get(&c.id).and_then(|cur| cur.newest);
    let from = newest.map_or(window.since, |n| n.max(window.since));
    let fresh = a.portal.audit(c.bunit, c.id, from, window.now).await?;
    let mut cache = a.cache();
    let cursor = cache.audit.entry(c.id).or_default();
    for w in fresh {
        if let Some(e) = mapping::audit_event(w, &c.tenant, &c.name) {
            cursor.newest = cursor.newest.max(Some(e.time));
            cursor.events.insert(e.id.clone(), e);
        }
    }
    cursor.events.retain(|_, e| e.time >= window.since);
    let mut events: Vec<AuditEvent> = cursor
        .events
        .values()
        .filter(|e| e.time <= window.now)
        .cloned()
        .collect();
    events.sort_by(|x, y| x.time.cmp(&y.time).then_with(|| x.id.cmp(&y.id)));
    Ok(events)
}

pub(super) async fn history(
    a: &Cloutility,
    period: Period,
    lookback: Duration,
) -> Result<History, VendorError> {
    let skips = Skips::default();
    let consumers = a.consumers().await?;
    let to = period.to.min(a.clock.now());
    let parts: Vec<Collected<ConsumerHistory>> = stream::iter(0..consumers.len())
        .map(|i| consumer_history(a, &consumers[i], period.from, to, lookback, &skips))
        .buffer_unordered(a.concurrency)
        .collect()
        .await;
    let mut h = History::default();
    for p in parts {
        let (o, j, e) = p?;
        h.objects.push(o);
        h.jobs.extend(j);
        h.audit.extend(e);
    }
    h.objects
        .sort_by_key(|o| o.id.parse::<u64>().unwrap_or(u64::MAX));
    h.skipped = skips.take();
    Ok(h)
}

async fn consumer_history(
    a: &Cloutility,
    c: &ConsumerRef,
    from: Timestamp,
    to: Timestamp,
    lookback: Duration,
    skips: &Skips,
) -> Collected<ConsumerHistory> {
    let (facts, jobs, audit) = futures::join!(
        node_facts(a, c, a.clock.now(), skips),
        jobs_with_prior_success(a, c, from, to, lookback),
        a.portal.audit(c.bunit, c.id, from, to),
    );
    let facts = facts?;
    let object = object(a, c, &facts);
    let audit = skips
        .or_empty(
            CollectorKind::Audit,
            "audit_logs",
            audit.map_err(VendorError::from),
        )?
        .into_iter()
        .filter_map(|w| mapping::audit_event(w, &c.tenant, &c.name))
        .filter(|e| e.time >= from && e.time < to)
        .collect();
    Ok((object, jobs?, audit))
}

/// The jobs of `[from, to)` and enough before `from` to hold the newest success before it:
/// a week first, then a month at a time back to the first job.
async fn jobs_with_prior_success(
    a: &Cloutility,
    c: &ConsumerRef,
    from: Timestamp,
    to: Timestamp,
    lookback: Duration,
) -> Collected<Vec<Job>> {
    let Some(first) = first_job(a, c).await? else {
        return Ok(Vec::new());
    };
    let mut start = clock::before(from, BEFORE_PERIOD.min(lookback)).max(first);
    let mut jobs = jobs_between(a, c, start, to).await?;
    let success_before = |jobs: &[Job]| {
        jobs.iter().any(|j| {
            j.kind.is_protection()
                && j.result.is_success(false)
                && j.time().is_some_and(|t| t < from)
        })
    };
    while start > first && !success_before(&jobs) {
        let earlier = clock::before(start, STEP_BACK).max(first);
        let more = jobs_between(a, c, earlier, start).await?;
        let known: HashSet<String> = jobs.iter().map(|j| j.id.clone()).collect();
        jobs.extend(more.into_iter().filter(|j| !known.contains(&j.id)));
        start = earlier;
    }
    jobs.retain(|j| j.time().is_none_or(|t| t < to));
    Ok(jobs)
}
