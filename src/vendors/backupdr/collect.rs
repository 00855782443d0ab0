//! What one refresh (or one report) reads from the console, and how it becomes the model.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;

use super::client::{Console, filter_contains, filter_eq, filter_ge, filter_le};
use super::mapping::{self, NOT_ENDED_STATUSES, RESTORE_POINT_CLASSES, epoch_to_timestamp, micros};
use super::wire::{
    ApplicationRest, AuditRest, BackupRest, ClusterRest, DiskPoolRest, EventRest, JobRest, Page,
    PolicyRest, SlaRest, SltRest,
};
use crate::adapter::{Skips, VendorError};
use crate::model::{self, AuditEvent, CollectorKind, Job, JobResult, Object, Storage, StoragePool};

/// The listings a refresh can do without, by part name (`backup_collector_part_refused`).
/// The application list and the job status list are essential: without them there is
/// nothing to export, so a refusal of those fails their collectors.
pub mod part {
    /// `/cluster`: appliance names come from each object instead; no appliance warnings.
    pub const APPLIANCES: &str = "appliances";
    /// `/sla`: each application's embedded SLA is used instead.
    pub const SLAS: &str = "slas";
    /// `/slt`: template names from the SLAs; policies per template from `/slt/{id}/policy`.
    pub const TEMPLATES: &str = "templates";
    /// `/slt/{id}/policy`: the RPO of that template is unknown.
    pub const TEMPLATE_POLICIES: &str = "template_policies";
    /// `/backup`: no restore-point counts or newest image.
    pub const RESTORE_POINTS: &str = "restore_points";
    /// `/diskpool`: no pools, no per-appliance usage, no pool warnings.
    pub const DISK_POOLS: &str = "disk_pools";
    /// `/event`: not in the 11.0.4 spec, though consoles serve it.
    pub const EVENTS: &str = "events";
    /// `/localaudit`.
    pub const AUDIT_LOG: &str = "audit_log";
}

/// How far before a report period the job history is read in one go (at most: less when the
/// report's look-back is shorter); an application whose last success is older than that
/// gets a query of its own, so its last success is found whatever its age.
pub const HISTORY_MARGIN: Duration = Duration::from_secs(14 * 86_400);

/// Appliance names by the console `id` and by the appliance serial (`clusterid`).
#[derive(Default)]
pub struct Appliances {
    by_id: HashMap<String, String>,
    by_clusterid: HashMap<String, String>,
}

impl Appliances {
    pub fn new(clusters: &[ClusterRest]) -> Self {
        let mut a = Appliances::default();
        for c in clusters {
            let Some(name) = c.name.clone() else { continue };
            if let Some(id) = &c.id {
                a.by_id.insert(id.clone(), name.clone());
            }
            if let Some(cid) = &c.clusterid {
                a.by_clusterid.insert(cid.clone(), name);
            }
        }
        a
    }

    /// The tenant of something that embeds a `ClusterRest`: its name, else the name the
    /// appliance list gives its id or serial, else the serial itself.
    pub fn name_of(&self, c: Option<&ClusterRest>, serial: Option<&str>) -> String {
        if let Some(name) = c.and_then(|c| c.name.clone()).filter(|n| !n.is_empty()) {
            return name;
        }
        let by_id = c
            .and_then(|c| c.id.as_ref())
            .and_then(|id| self.by_id.get(id));
        let cid = c.and_then(|c| c.clusterid.as_deref()).or(serial);
        by_id
            .or_else(|| cid.and_then(|s| self.by_clusterid.get(s)))
            .cloned()
            .or_else(|| cid.map(str::to_owned))
            .unwrap_or_default()
    }
}

pub async fn appliances(console: &Console, skips: &Skips) -> Result<Vec<ClusterRest>, VendorError> {
    let listed = console.list("cluster", &[], Some("id:asc")).await;
    skips.or_empty(CollectorKind::Warnings, part::APPLIANCES, listed)
}

/// Applications with their SLA: identity, tenant, template, whether protection is on, and
/// (when asked) restore points from `/backup`.
pub async fn inventory(
    console: &Console,
    appliances: &Appliances,
    restore_points: bool,
    concurrency: usize,
    skips: &Skips,
) -> Result<Vec<Object>, VendorError> {
    let inv = CollectorKind::Inventory;
    let (apps, slas, slts) = futures::try_join!(
        console.list::<ApplicationRest>("application", &[], Some("id:asc")),
        async {
            let l = console.list::<SlaRest>("sla", &[], Some("id:asc")).await;
            skips.or_empty(inv, part::SLAS, l)
        },
        async {
            let l = console.list::<SltRest>("slt", &[], Some("id:asc")).await;
            skips.or_empty(inv, part::TEMPLATES, l)
        },
    )?;
    let sla_by_app: HashMap<&str, &SlaRest> = slas
        .iter()
        .filter_map(|s| Some((s.application.as_ref()?.id.as_deref()?, s)))
        .collect();
    let rpo_by_slt = template_rpos(console, &slts, &slas, concurrency, skips).await?;
    let slt_names: HashMap<&str, &str> = slts
        .iter()
        .filter_map(|t| Some((t.id.as_deref()?, t.name.as_deref()?)))
        .collect();

    let mut objects = Vec::with_capacity(apps.len());
    for app in &apps {
        let Some(id) = app.id.clone().filter(|s| !s.is_empty()) else {
            continue;
        };
        // Ignored applications are deliberately unprotected; mounted children are copies.
        if app.ignore == Some(true) || app.frommount == Some(true) {
            continue;
        }
        let sla = sla_by_app
            .get(id.as_str())
            .copied()
            .or(app.sla.as_ref().filter(|s| s.slt.is_some()));
        let slt_id = sla
            .and_then(|s| s.slt.as_ref())
            .and_then(|t| t.id.as_deref());
        let policy = sla
            .and_then(|s| s.slt.as_ref())
            .and_then(|t| t.name.as_deref())
            .or_else(|| slt_id.and_then(|i| slt_names.get(i).copied()))
            .unwrap_or("")
            .to_owned();
        let schedule_off =
            app.scheduleoff == Some(true) || sla.and_then(|s| s.scheduleoff) == Some(true);
        let managed = app.managed.unwrap_or(sla.is_some());
        objects.push(Object {
            name: app
                .appname
                .clone()
                .or_else(|| app.name.clone())
                .unwrap_or_else(|| id.clone()),
            object_type: app.apptype.clone().unwrap_or_default(),
            tenant: appliances.name_of(app.cluster.as_ref(), app.sourcecluster.as_deref()),
            policy,
            protected: managed && !schedule_off,
            policy_rpo: slt_id.and_then(|i| rpo_by_slt.get(i).copied().flatten()),
            id,
            ..Object::default()
        });
    }
    if restore_points {
        add_restore_points(console, &mut objects, concurrency, skips).await?;
    }
    Ok(objects)
}

/// The RPO of each template in use, from its policies (inline, or `/slt/{id}/policy`).
async fn template_rpos(
    console: &Console,
    slts: &[SltRest],
    slas: &[SlaRest],
    concurrency: usize,
    skips: &Skips,
) -> Result<HashMap<String, Option<Duration>>, VendorError> {
    let used: HashSet<&str> = slas
        .iter()
        .filter_map(|s| s.slt.as_ref()?.id.as_deref())
        .collect();
    let mut out = HashMap::new();
    let mut to_fetch = Vec::new();
    for id in used {
        match slts.iter().find(|t| t.id.as_deref() == Some(id)) {
            Some(t) if !t.policies.is_empty() => {
                out.insert(id.to_owned(), mapping::template_rpo(&t.policies));
            }
            _ => to_fetch.push(id.to_owned()),
        }
    }
    /// A template id and its policies (`None`: the listing was refused).
    type Policies = (String, Option<Vec<PolicyRest>>);
    let fetched: Vec<Result<Policies, VendorError>> = futures::stream::iter(to_fetch)
        .map(|id| async move {
            // This list view takes no paging parameters (spec): one GET is all of it.
            let page = console
                .get::<Page<PolicyRest>>(&format!("slt/{id}/policy"))
                .await;
            let page = skips.optional(CollectorKind::Inventory, part::TEMPLATE_POLICIES, page)?;
            Ok((id, page.map(|p| p.items)))
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for r in fetched {
        let (id, policies) = r?;
        out.insert(id, policies.and_then(|p| mapping::template_rpo(&p)));
    }
    Ok(out)
}

fn restore_point_filters(app_id: &str) -> Vec<String> {
    let mut f = vec![filter_eq("appid", app_id)];
    f.extend(
        RESTORE_POINT_CLASSES
            .iter()
            .map(|c| filter_eq("jobclass", c)),
    );
    f
}

/// Count (HEAD) and newest image per application; active images of mounts are not restore
/// points and are filtered out by job class.
async fn add_restore_points(
    console: &Console,
    objects: &mut [Object],
    concurrency: usize,
    skips: &Skips,
) -> Result<(), VendorError> {
    let ids: Vec<String> = objects.iter().map(|o| o.id.clone()).collect();
    /// Application id, image count, newest image.
    type RestorePoints = (String, u64, Option<BackupRest>);
    let results: Vec<Result<Option<RestorePoints>, VendorError>> = futures::stream::iter(ids)
        .map(|id| async move {
            let filters = restore_point_filters(&id);
            let read = async {
                let count = console.count("backup", &filters).await?;
                let latest = if count > 0 {
                    console
                        .first::<BackupRest>("backup", &filters, "consistencydate:desc")
                        .await?
                } else {
                    None
                };
                Ok::<_, VendorError>((count, latest))
            };
            let read =
                skips.optional(CollectorKind::Inventory, part::RESTORE_POINTS, read.await)?;
            Ok(read.map(|(count, latest)| (id, count, latest)))
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut by_id: HashMap<String, (u64, Option<BackupRest>)> = HashMap::new();
    for r in results {
        if let Some((id, count, latest)) = r? {
            by_id.insert(id, (count, latest));
        }
    }
    for o in objects.iter_mut() {
        let Some((count, latest)) = by_id.remove(&o.id) else {
            continue;
        };
        o.restore_points = Some(count);
        if let Some(b) = latest {
            let at = b
                .consistencydate
                .and_then(epoch_to_timestamp)
                .or_else(|| b.backupdate.and_then(epoch_to_timestamp));
            o.latest_restore_point = at;
            // An image exists only if its capture succeeded, so it is the newest success
            // known without reading older job history.
            o.last_success_hint = at;
            o.protected_bytes = b.virtualsize;
        }
    }
    Ok(())
}

/// Jobs that ended since `since`, and every job that has not ended. Not-ended jobs are read
/// first so that one finishing in between is seen in its final state.
pub async fn jobs_window(console: &Console, since: Timestamp) -> Result<Vec<JobRest>, VendorError> {
    let open_filters: Vec<String> = NOT_ENDED_STATUSES
        .iter()
        .map(|s| filter_eq("status", s))
        .collect();
    let open: Vec<JobRest> = console
        .list("jobstatus", &open_filters, Some("id:asc"))
        .await?;
    let ended: Vec<JobRest> = console
        .list(
            "jobstatus",
            &[filter_ge("enddate", micros(since))],
            Some("id:asc"),
        )
        .await?;
    Ok(merge_jobs(open, ended))
}

/// One job per id; the later read (`newer`) wins.
pub fn merge_jobs(older: Vec<JobRest>, newer: Vec<JobRest>) -> Vec<JobRest> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<JobRest> = Vec::with_capacity(older.len() + newer.len());
    for j in older.into_iter().chain(newer) {
        let Some(id) = j.id.clone() else { continue };
        match seen.get(&id) {
            Some(&i) => out[i] = j,
            None => {
                seen.insert(id, out.len());
                out.push(j);
            }
        }
    }
    out
}

pub fn jobs_to_model(wire: &[JobRest]) -> Vec<Job> {
    wire.iter().filter_map(mapping::job).collect()
}

/// Jobs that ended in `[from, to)` and in the margin before it; for applications with no
/// successful backup in what that returned, the newest success before it, one query each.
pub async fn jobs_period(
    console: &Console,
    from: Timestamp,
    to: Timestamp,
    lookback: Duration,
    app_ids: &[String],
    concurrency: usize,
) -> Result<Vec<Job>, VendorError> {
    let read_from = crate::clock::before(from, HISTORY_MARGIN.min(lookback));
    let wire: Vec<JobRest> = console
        .list(
            "jobstatus",
            &[
                filter_ge("enddate", micros(read_from)),
                filter_le("enddate", micros(to) - 1),
            ],
            Some("id:asc"),
        )
        .await?;
    let mut jobs = jobs_to_model(&wire);
    let succeeded_before: HashSet<&str> = jobs
        .iter()
        .filter(|j| j.kind.is_protection() && j.result == JobResult::Success)
        .filter(|j| j.end.is_some_and(|e| e < from))
        .map(|j| j.object_id.as_str())
        .collect();
    let missing: Vec<String> = app_ids
        .iter()
        .filter(|id| !succeeded_before.contains(id.as_str()))
        .cloned()
        .collect();
    let older: Vec<Result<Option<JobRest>, VendorError>> = futures::stream::iter(missing)
        .map(|id| async move {
            let mut filters = vec![
                filter_eq("appid", &id),
                filter_eq("status", "succeeded"),
                filter_le("enddate", micros(read_from) - 1),
            ];
            filters.extend(
                RESTORE_POINT_CLASSES
                    .iter()
                    .map(|c| filter_eq("jobclass", c)),
            );
            console
                .first::<JobRest>("jobstatus", &filters, "enddate:desc")
                .await
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    for r in older {
        if let Some(j) = r?.as_ref().and_then(mapping::job) {
            jobs.push(j);
        }
    }
    Ok(jobs)
}

/// The start of the oldest job the console still keeps: history is complete from there.
pub async fn oldest_job(console: &Console) -> Result<Option<Timestamp>, VendorError> {
    // Queued jobs have no start date; where nulls sort is the server's business, so
    // keep them out.
    let first: Option<JobRest> = console
        .first("jobstatus", &[filter_ge("startdate", 1)], "startdate:asc")
        .await?;
    Ok(first.and_then(|j| j.startdate.or(j.queuedate).and_then(epoch_to_timestamp)))
}

/// Audit records of changes in `[from, to]`. Every read is audited too, so the log is
/// mostly GETs (including ours); only POST, PUT and DELETE are asked for.
pub async fn audit(
    console: &Console,
    from: Timestamp,
    to: Option<Timestamp>,
    skips: &Skips,
) -> Result<Vec<AuditEvent>, VendorError> {
    let read = audit_records(console, from, to).await;
    let all = skips.or_empty(CollectorKind::Audit, part::AUDIT_LOG, read)?;
    let mut seen = HashSet::new();
    let mut events: Vec<AuditEvent> = all
        .iter()
        .filter_map(mapping::audit_event)
        .filter(|e| seen.insert(e.id.clone()))
        .collect();
    events.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
    Ok(events)
}

async fn audit_records(
    console: &Console,
    from: Timestamp,
    to: Option<Timestamp>,
) -> Result<Vec<AuditRest>, VendorError> {
    let mut all: Vec<AuditRest> = Vec::new();
    for method in ["POST", "PUT", "DELETE"] {
        let mut filters = vec![
            filter_ge("issuedate", micros(from)),
            filter_contains("command", method),
        ];
        if let Some(to) = to {
            filters.push(filter_le("issuedate", micros(to) - 1));
        }
        let page: Vec<AuditRest> = console
            .list("localaudit", &filters, Some("issuedate:asc"))
            .await?;
        all.extend(page.into_iter().filter(|a| {
            // `=|` is "contains": keep only records whose method is the one asked for.
            a.command
                .as_deref()
                .and_then(|c| c.split_whitespace().next())
                .is_some_and(|m| m.eq_ignore_ascii_case(method))
        }));
    }
    Ok(all)
}

/// Disk pools; `None` when the role may not read them (storage is then skipped, not failed).
pub async fn pools(
    console: &Console,
    skips: &Skips,
) -> Result<Option<Vec<DiskPoolRest>>, VendorError> {
    let listed = console.list("diskpool", &[], Some("id:asc")).await;
    skips.optional(CollectorKind::Storage, part::DISK_POOLS, listed)
}

/// Events since `since`; `None` when the console has no `/event` (it is not in the 11.0.4
/// spec, though consoles serve it) or refuses it.
pub async fn events(
    console: &Console,
    since: Timestamp,
    skips: &Skips,
) -> Result<Option<Vec<EventRest>>, VendorError> {
    let listed = console
        .list::<EventRest>(
            "event",
            &[filter_ge("eventdate", micros(since))],
            Some("id:asc"),
        )
        .await;
    skips.optional(CollectorKind::Warnings, part::EVENTS, listed)
}

pub(super) fn pool_label(pool: &DiskPoolRest, appliances: &Appliances) -> (String, String) {
    let tenant = appliances.name_of(pool.cluster.as_ref(), None);
    let name = pool
        .name
        .clone()
        .or_else(|| pool.id.clone())
        .unwrap_or_default();
    // Pool names repeat across appliances (every appliance has an `act_per_pool000`).
    let label = if tenant.is_empty() {
        name
    } else {
        format!("{tenant}/{name}")
    };
    (label, tenant)
}

pub fn storage(pools: &[DiskPoolRest], appliances: &Appliances) -> Storage {
    let mut out = Storage::default();
    let mut per_tenant: HashMap<String, u64> = HashMap::new();
    for p in pools {
        let (label, tenant) = pool_label(p, appliances);
        // Cloud (OnVault) pools report no capacity: unknown, not zero.
        let capacity = p.capacity_mb.filter(|c| *c > 0.0).map(model::mib_to_bytes);
        let used = p.usage_mb.filter(|u| *u >= 0.0).map(model::mib_to_bytes);
        if let Some(u) = used
            && !tenant.is_empty()
        {
            // Sizes are the vendor's; a nonsense one must not overflow the sum.
            let sum = per_tenant.entry(tenant).or_default();
            *sum = sum.saturating_add(u);
        }
        out.pools.push(StoragePool {
            name: label,
            capacity_bytes: capacity,
            used_bytes: used,
        });
    }
    let mut tenants: Vec<(String, u64)> = per_tenant.into_iter().collect();
    tenants.sort();
    out.tenants = tenants;
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A job as the console lists it; also the fixture of `warnings`' tests.
    pub(in crate::vendors::backupdr) fn wjob(
        id: &str,
        app: &str,
        status: &str,
        end_s: i64,
    ) -> JobRest {
        JobRest {
            id: Some(id.into()),
            jobclass: Some("snapshot".into()),
            status: Some(status.into()),
            appid: Some(app.into()),
            appname: Some(format!("name-{app}")),
            enddate: Some(end_s * 1_000_000),
            message: Some("boom".into()),
            errorcode: Some("933".into()),
            ..Default::default()
        }
    }

    #[test]
    fn merge_prefers_the_later_read() {
        let mut running = wjob("9", "a", "running", 0);
        running.enddate = None;
        let done = wjob("9", "a", "succeeded", 500);
        let merged = merge_jobs(vec![running, wjob("1", "a", "queued", 0)], vec![done]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].status.as_deref(), Some("succeeded"));
    }

    #[test]
    fn tenant_falls_back_from_embedded_name_to_list_to_serial() {
        let list = vec![ClusterRest {
            id: Some("7".into()),
            clusterid: Some("1440".into()),
            name: Some("appl-7".into()),
            ..Default::default()
        }];
        let a = Appliances::new(&list);
        let by_id = ClusterRest {
            id: Some("7".into()),
            ..Default::default()
        };
        assert_eq!(a.name_of(Some(&by_id), None), "appl-7");
        assert_eq!(a.name_of(None, Some("1440")), "appl-7");
        assert_eq!(a.name_of(None, Some("9999")), "9999");
        assert_eq!(a.name_of(None, None), "");
    }
}
