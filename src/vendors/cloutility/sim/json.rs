//! The simulated world written the way Cloutility writes it: absolute `href`s, .NET
//! `$type` on embedded objects and collections (embedded collections empty with `total: 0`
//! even when there is data), lookups as `{id, name}`, fields left out when not set, a few
//! numbers as strings, and times with and without milliseconds or offset.

use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::data::{AuditRecord, BusinessUnit, Consumer, JobRun, Node, Report, World};

const HYPER: &str = "CloudPortal.Web.Api.Hyper";

fn type_name(resource: &str) -> String {
    format!("{HYPER}.{resource}, CloudPortal.Web.Api")
}

/// An embedded collection as the portal writes it: typed, and empty.
fn embedded(root: &str, href: &str, resource: &str) -> Value {
    json!({
        "$type": format!("{HYPER}.Collection`1[[{HYPER}.{resource}, CloudPortal.Web.Api]], CloudPortal.Web.Api"),
        "href": format!("{root}{href}"),
        "total": 0,
        "items": [],
    })
}

fn time(t: Timestamp) -> String {
    t.to_string()
}

/// With milliseconds, as `createdDate` values are.
fn time_ms(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Without an offset, as some node and filespace times are.
fn time_local(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

fn lookup(id: u64, name: &str) -> Value {
    json!({"id": id, "name": name})
}

pub fn bunit_tree(w: &World, b: &BusinessUnit) -> Value {
    let children: Vec<Value> = w.children(b.id).map(|c| bunit_tree(w, c)).collect();
    let mut v = json!({
        "id": b.id,
        "name": b.name,
        "groupName": "Safespring",
        "reportRemotely": false,
        "businessUnits": children,
        "tags": [],
        "invoiceDay": 0,
    });
    if let Some(p) = b.parent {
        v["parentId"] = json!(p);
    }
    v
}

pub fn bunit(root: &str, w: &World, b: &BusinessUnit) -> Value {
    let href = format!("/v1/bunits/{}", b.id);
    let mut v = json!({
        "$type": type_name("BusinessUnit"),
        "href": format!("{root}{href}"),
        "users": embedded(root, &format!("{href}/users"), "User"),
        "addresses": embedded(root, &format!("{href}/addresses"), "Address"),
        "businessUnits": embedded(root, &format!("{href}/bunits"), "BusinessUnit"),
        "domainFilter": [],
        "clientOptionSetFilter": [],
        "name": b.name,
        "supportResponsible": false,
        "registrationNumber": format!("SE5566{:06}", b.id * 7),
        "invoiceDay": 0,
        "billingStorageTypeId": 2,
        "billingStorageType": 2,
        "useScheduleBindings": false,
        "consumers": [],
        "storageLimit": 0,
        "transferLimit": 0,
        "nodeLimit": 0,
        "tags": [],
        "id": b.id,
        "createdDate": time_ms(b.created),
    });
    if let Some(parent) = b.parent.and_then(|p| w.bunit(p)) {
        v["parentBusinessUnit"] =
            json!({"name": parent.name, "id": parent.id, "createdDate": time_ms(parent.created)});
    }
    v
}

pub fn me(root: &str, w: &World) -> Value {
    let b = w.root();
    json!({
        "href": format!("{root}/v1/me"),
        "name": "API Monitor",
        "email": super::data::USERNAME,
        "businessUnit": bunit(root, w, b),
        "businessUnitId": b.id,
        "itemsPerPage": 25,
        "id": 4711,
        "createdDate": time_ms(b.created),
    })
}

pub fn consumer(root: &str, w: &World, c: &Consumer, now: Timestamp) -> Value {
    let href = format!("{root}/v1/bunits/{}/consumers/{}", c.bunit, c.id);
    // Only `Active` (id 3) is documented; the other names and ids are this simulator's.
    let (state_id, state) = match &c.node {
        Some(n) if n.inactive_since.is_some() => (4, "Inactive"),
        Some(n) if !n.never_activated => (3, "Active"),
        _ => (1, "Pending activation"),
    };
    let mut v = json!({
        "href": href,
        "dataSourceType": lookup(1, "SP Backup node"),
        "dataSourceIsPotentialParent": false,
        "dataSourceState": lookup(state_id, state),
        "name": c.name,
        "billingStartDate": time(c.created),
        "comments": [],
        "allowNoActivity": false,
        "tags": [],
        "jobs": [],
        "id": c.id,
        "createdDate": time_ms(c.created),
    });
    if let Some(b) = w.bunit(c.bunit) {
        let mut bu = bunit(root, w, b);
        bu["ancestors"] = json!({"href": format!("{root}/v1/bunits/{}/ancestors", b.id), "total": 0, "items": []});
        v["businessUnit"] = bu;
    }
    if let Some(limit) = c.limit_high_storage_gb {
        // Documented as a float; sent as a string here to keep decoders honest.
        v["limitHighStorage"] = json!(format!("{limit:.1}"));
    }
    if let Some(last) = w.last_success(c.id, now).and_then(|j| j.completed) {
        v["latestRestorePoint"] = json!(time(last));
    }
    if c.id.is_multiple_of(3) {
        v["note"] = json!(format!("{} (managed by IT)", c.name));
    }
    v
}

pub fn node(root: &str, c: &Consumer, n: &Node) -> Value {
    let href = format!("{root}/v1/bunits/{}/consumers/{}/node", c.bunit, c.id);
    let mut v = json!({
        "href": href,
        "id": n.id,
        "createdDate": time_ms(n.activated),
        "name": c.name,
        "tsmName": n.tsm_name,
        // Returned by the real portal after activation; an exporter must never keep it.
        "tsmPassword": format!("node-secret-{}", n.id),
        "cpuCount": 2 + n.id % 14,
        "activatedDate": time(n.activated),
        "locked": n.locked_since.is_some(),
        "decommissioned": n.decommissioned_since.is_some(),
        "operatingSystem": {"id": n.os.0, "name": n.os.1, "shortName": n.os.1.split(' ').next().unwrap_or("")},
        "type": lookup(n.node_type.0, n.node_type.1),
        "domain": {
            "id": n.domain.0, "name": n.domain.1, "description": format!("{} retention", n.domain.1),
            "backupRetention": 30, "archiveRetention": 365, "missingInTsm": false,
        },
        "clientOptionSet": lookup(1, "DEDUP_AND_COMPRESS"),
        "syncState": lookup(2, "Synced"),
        "tcpName": c.name,
        "containsVmFilespaces": false,
        "lastAccessTime": time_local(n.activated),
        "replicationState": false,
        "replicationMode": 0,
        "schedules": [{"id": n.schedule.id, "name": n.schedule.name, "createdDate": time_ms(n.activated)}],
        "nodeSchedules": [],
        "filespaces": [],
        "events": [],
        "activityLogs": [],
        "proxyAgents": [],
        "proxyTargets": [],
        "remoteActivities": [],
    });
    if n.id.is_multiple_of(2) {
        v["contact"] = json!("it-ops@example.com");
    }
    if n.never_activated {
        // A node gets its name, activation date and password by `node/activate`; before
        // that the portal leaves them out ("not defined yet").
        if let Some(m) = v.as_object_mut() {
            for k in ["tsmName", "tsmPassword", "activatedDate", "lastAccessTime"] {
                m.remove(k);
            }
        }
    }
    v
}

/// Filespace `k` of node `n`; `last` is the node's newest successful backup.
pub fn filespace(
    root: &str,
    w: &World,
    c: &Consumer,
    n: &Node,
    k: usize,
    last: Option<&JobRun>,
) -> Value {
    let f = &n.filespaces[k];
    let occupancies: Vec<Value> = f
        .occupancies
        .iter()
        .map(|o| {
            let p = &w.pools[o.pool];
            json!({
                "storagePool": {
                    "name": p.name, "type": p.pool_type,
                    "totalStorageMegaBytes": p.total_mb, "freeStorageMegaBytes": p.free_mb,
                    "maxProcesses": 8, "id": p.id, "createdDate": time_ms(w.horizon),
                },
                "files": o.files,
                "logicalMegaBytes": o.logical_mb,
                "logicalMegaBytesCorrected": o.logical_mb,
                "dedupStatNeeded": false,
                "dedupStatUpToDate": true,
                "physicalMegaBytes": o.physical_mb,
                "reportingMegaBytes": o.reporting_mb,
                "storageMegaBytes": o.physical_mb,
                "type": if o.archive { lookup(2, "Archive") } else { lookup(1, "Backup") },
            })
        })
        .collect();
    let mut v = json!({
        "href": format!("{root}/v1/bunits/{}/consumers/{}/node/filespaces/{}", c.bunit, c.id, f.id),
        "id": f.id,
        "createdDate": time_ms(n.activated),
        "name": f.name,
        "tsmFilespaceId": (k + 1).to_string(),
        "type": f.fs_type,
        "capacityMegaBytes": f.capacity_mb,
        "percentageUtilized": f.utilized_pct,
        "occupancies": occupancies,
        "dedupStats": [],
    });
    // An integer, as the resource doc types it (notes 1.4: `frontEndCapacityMegaBytes int`).
    v["frontEndCapacityMegaBytes"] = json!(f.front_end_mb);
    if let Some(last) = last {
        if let Some(start) = last.actual_start {
            v["lastBackupStart"] = json!(time_local(start));
        }
        if let Some(end) = last.completed {
            v["lastBackupEnd"] = json!(time_local(end));
        }
    }
    v
}

pub fn report(
    root: &str,
    w: &World,
    c: &Consumer,
    r: &Report,
    status: bool,
    warnings: bool,
) -> Value {
    let bunit = w.bunit(c.bunit);
    let tsm = c.node.as_ref().map_or("", |n| n.tsm_name.as_str());
    let mut v = json!({
        "name": c.name,
        "statusReportId": r.id / 10,
        "pending": false,
        "dataSourceType": lookup(1, "SP Backup node"),
        "nodeReportTypeId": 1,
        "dataSource": tsm,
        "dataSourceState": lookup(3, "Active"),
        "deviceName": c.name,
        "tsmName": tsm,
        "tsmServerName": "TSM12",
        "proxyNodeReports": [],
        "errorsDeactivated": r.errors_deactivated,
        "errorsDeactivatedNoActivity": false,
        "megaBytes": r.stored_mb,
        "backupMegaBytes": r.stored_mb,
        "archiveMegaBytes": 0.0,
        "comments": [],
        "consumerId": c.id,
        "nodeId": c.node.as_ref().map_or(0, |n| n.id),
        "businessUnitId": c.bunit,
        "businessUnitName": bunit.map_or("", |b| b.name.as_str()),
        "reportDate": time(r.date),
        "id": r.id,
        "createdDate": time_ms(r.date),
        "href": format!("{root}/v1/bunits/{}/consumers/{}/reports/{}", c.bunit, c.id, r.id),
    });
    // The portal leaves status and warnings out unless asked for them.
    if status {
        v["status"] = json!(r.status);
    }
    if warnings {
        let items: Vec<Value> = r
            .warnings
            .iter()
            .map(|x| {
                let t = w.warning_types.iter().find(|t| t.id == x.type_id);
                let mut ty = Map::new();
                ty.insert("id".into(), json!(x.type_id));
                if let Some(t) = t {
                    ty.insert("usesLimit".into(), json!(t.uses_limit));
                    // Partial objects: only odd types carry their name here.
                    if x.type_id % 2 == 1 {
                        ty.insert("name".into(), json!(t.name));
                    }
                }
                json!({
                    "type": Value::Object(ty), "status": x.status, "days": x.days, "limit": x.limit,
                    "nodeReportId": r.id, "id": x.id, "createdDate": time_ms(r.date),
                })
            })
            .collect();
        v["warnings"] = json!(items);
    }
    v
}

pub fn job(root: &str, c: &Consumer, j: &JobRun) -> Value {
    let node_id = c.node.as_ref().map_or(0, |n| n.id);
    let mut v = json!({
        "href": format!("{root}/v1/bunits/{}/consumers/{}/jobs/{}", c.bunit, c.id, j.id),
        "businessUnitId": c.bunit,
        "consumerId": c.id,
        "dataSourceId": node_id,
        "serverId": 1,
        "tags": [],
        "type": lookup(j.type_id, j.type_name),
        "status": lookup(j.status_id, j.status),
        "severity": if j.expected == crate::model::JobResult::Failed { 2 } else { 0 },
        "dataSourceType": lookup(1, "SP Backup node"),
        "dataSourceState": lookup(3, "Active"),
        "scheduled": j.scheduled,
        "scheduledStart": time(j.scheduled_start),
        "examinedFiles": j.examined_files,
        "affectedFiles": j.affected_files,
        "failedFiles": j.failed_files,
        "transferredMegaBytes": j.transferred_mb,
        "transferredGigaBytes": (j.transferred_mb / 1024.0 * 1000.0).round() / 1000.0,
        "serverType": lookup(1, "IBM Storage Protect"),
        "name": j.type_name.to_ascii_uppercase(),
        "id": j.id,
        "createdDate": time_ms(j.time()),
    });
    if let Some(t) = j.actual_start {
        v["actualStart"] = json!(time(t));
    }
    if let Some(t) = j.completed {
        v["completed"] = json!(time(t));
    }
    if let Some(rc) = j.result {
        v["result"] = json!(rc);
    }
    if let Some(d) = j.duration_s {
        v["duration"] = json!(timespan(d));
        if d > 0 {
            v["transferredMegaBytesPerSecond"] =
                json!((j.transferred_mb / d as f64 * 1000.0).round() / 1000.0);
        }
    }
    v
}

/// `jobs/first`: only `completed` means anything; the rest is the documented bogus zeros.
pub fn first_job(j: &JobRun) -> Value {
    let mut v = json!({
        "businessUnitId": 0, "consumerId": 0, "dataSourceId": 0, "serverId": 0, "tags": [],
        "scheduled": false, "examinedFiles": 0, "affectedFiles": 0, "failedFiles": 0, "result": 0,
        "transferredMegaBytes": 0.0, "transferredGigaBytes": 0.0, "name": "", "duration": "00:00:00",
        "transferredMegaBytesPerSecond": 0.0, "id": 0, "createdDate": "0001-01-01T00:00:00",
        "scheduledStart": "0001-01-01T00:00:00",
    });
    if let Some(t) = j.completed {
        v["completed"] = json!(time(t));
    }
    v
}

/// A .NET TimeSpan: `hh:mm:ss`, or `d.hh:mm:ss` from a day on.
fn timespan(secs: i64) -> String {
    let (d, rest) = (secs / 86_400, secs % 86_400);
    let hms = format!(
        "{:02}:{:02}:{:02}",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    );
    if d > 0 { format!("{d}.{hms}") } else { hms }
}

pub fn audit(a: &AuditRecord, c: &Consumer) -> Value {
    json!({
        "id": a.id,
        "createdDate": time(a.time),
        "type": a.audit_type,
        "actor": a.actor,
        "application": a.application,
        "description": a.description,
        "businessUnitId": c.bunit,
        "consumerId": c.id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timespans_as_dotnet_writes_them() {
        assert_eq!(timespan(731), "00:12:11");
        assert_eq!(timespan(86_400 + 3_661), "1.01:01:01");
    }
}
