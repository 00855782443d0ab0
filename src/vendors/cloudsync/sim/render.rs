//! The world as Cloud Sync and the audit service write it: field names, units (epoch ms
//! for `createdAt` and `lastPing`, ISO strings with milliseconds for activity times),
//! legacy top-level keys, `null` end times while running.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::data::{Activity, AuditRecord, Broker, Health, LATEST_BROKER_VERSION, Stats, World};

/// `2021-12-23T09:20:12.875Z`: always three decimals, as the service writes them.
pub fn iso(t: Timestamp) -> String {
    format!(
        "{}.{:03}Z",
        t.strftime("%Y-%m-%dT%H:%M:%S"),
        t.as_millisecond().rem_euclid(1000)
    )
}

fn activity(w: &World, r: usize, a: &Activity, now: Timestamp) -> Value {
    let rel = &w.relationships[r];
    json!({
        "type": a.phase,
        "syncType": "data",
        "status": a.status,
        "progress": a.progress,
        "startTime": iso(a.start),
        "endTime": a.end.map(iso),
        "lastMessageTime": iso(a.end.unwrap_or(now)),
        "executionTime": a.execution_ms,
        "timeEstimation": a.remaining_ms,
        "failureMessage": a.failure_message,
        "bytesMarkedForCopy": a.bytes_marked,
        "filesMarkedForCopy": a.files_marked,
        "dirsMarkedForCopy": a.dirs_marked,
        "filesCopied": a.files_copied,
        "bytesCopied": a.bytes_copied,
        "dirsCopied": a.dirs_copied,
        "filesFailed": a.files_failed,
        "bytesFailed": a.bytes_failed,
        "dirsFailed": 0,
        "filesMarkedForRemove": 0,
        "bytesMarkedForRemove": 0,
        "dirsMarkedForRemove": 0,
        "filesRemoved": 0,
        "bytesRemoved": 0,
        "dirsRemoved": 0,
        "bytesRemovedFailed": 0,
        "filesRemovedFailed": 0,
        "filesMarkedForIgnore": 0,
        "dirsScanned": a.dirs_scanned,
        "filesScanned": a.files_scanned,
        "bytesScanned": a.bytes_scanned,
        "dirsFailedToScan": 0,
        "topFiveMostCommonRelationshipErrors": a.top_errors.iter().map(|e| json!({
            "step": e.step, "errorCode": e.code, "counter": e.counter, "description": e.description,
        })).collect::<Vec<_>>(),
        "errors": a.broker_errors.iter().map(|(id, reason)| json!({
            "dataBrokerId": id, "reason": reason,
        })).collect::<Vec<_>>(),
        "relationshipId": rel.id,
    })
}

fn schedule(w: &World, r: usize, now: Timestamp) -> Value {
    let rel = &w.relationships[r];
    match rel.interval {
        Some(every) => {
            let secs = every.as_secs();
            let next = w.latest_run(r, now).map(|n| w.scheduled(r, n + 1));
            json!({
                "syncInDays": secs / 86_400,
                "syncInHours": secs % 86_400 / 3600,
                "syncInMinutes": secs % 3600 / 60,
                "isEnabled": true,
                "nextTime": next.map(iso),
                "syncWhenCreated": true,
            })
        }
        None => json!({
            "syncInDays": 1, "syncInHours": 0, "syncInMinutes": 0, "isEnabled": false,
            "nextTime": iso(rel.created), "syncWhenCreated": true,
        }),
    }
}

pub fn relationship(w: &World, r: usize, now: Timestamp) -> Value {
    let rel = &w.relationships[r];
    let abort = match rel.abort_after {
        Some(d) => {
            let s = d.as_secs();
            json!({"abortInDays": s / 86_400, "abortInHours": s % 86_400 / 3600, "abortInMinutes": s % 3600 / 60, "isEnabled": true})
        }
        None => {
            json!({"abortInDays": 0, "abortInHours": 0, "abortInMinutes": 0, "isEnabled": false})
        }
    };
    let mut v = json!({
        "id": rel.id,
        "relationshipId": rel.id,
        // Real responses: `isCm` (not the spec's `isCM`) and a boolean.
        "isCm": false,
        "isQstack": false,
        "account": w.groups[rel.group].id,
        "dataBroker": w.brokers[rel.broker].id,
        "group": w.groups[rel.group].id,
        "source": rel.source.wire,
        "target": rel.target.wire,
        "settings": {
            "gracePeriod": 30,
            "deleteOnSource": false,
            "deleteOnTarget": false,
            "objectTagging": false,
            "retries": 3,
            "copyAcl": false,
            "copyData": true,
            "continuousSync": false,
            "files": {"excludeExtensions": [], "excludeByRegex": [], "maxSize": 9007199254740991u64, "minSize": 0,
                "minDate": "1970-01-01", "maxDate": null, "minCreationDate": "1970-01-01", "maxCreationDate": null},
            "directories": {"excludeNames": [".snapshot", "~snapshot"]},
            "fileTypes": {"files": true, "directories": true, "symlinks": true, "hardlinks": false},
            "compareBy": {"uid": true, "gid": true, "mode": true, "mtime": true},
            "copyProperties": {"metadata": false, "tags": false},
            "schedule": schedule(w, r, now),
            "scheduleAbort": abort,
            "notifications": {"cm": {"done": false, "failed": true, "aborted": true, "running_continuously": false}},
        },
        "createdAt": rel.created.as_millisecond(),
        "tags": [{"key": "owner", "value": w.accounts[rel.account].name}],
    });
    if let Some(a) = w.activity(r, now) {
        // Legacy top-level copies of the activity, as real responses still carry them.
        v["phase"] = json!(a.phase);
        v["startTime"] = json!(iso(a.start));
        v["endTime"] = json!(a.end.map(iso));
        v["activity"] = activity(w, r, &a, now);
    }
    v
}

pub fn broker(w: &World, b: usize, now: Timestamp) -> Value {
    let broker: &Broker = &w.brokers[b];
    let mut v = json!({
        "id": broker.id,
        "name": broker.name,
        "type": broker.kind,
        "groupId": w.groups[broker.group].id,
        "latestVersion": LATEST_BROKER_VERSION,
        "fileLink": format!("https://cf.cloudsync.netapp.com/{}_installer", broker.id),
    });
    match broker.health {
        Health::NeverContacted => return v,
        Health::Failed(_) => {
            v["status"] = json!("FAILED");
            v["message"] =
                json!("Data broker is not responding: connection to the service timed out");
            v["transferRate"] = json!(0);
        }
        _ => {
            v["status"] = json!("COMPLETE");
            v["transferRate"] = json!(1753.016465568962);
        }
    }
    v["lastPing"] = json!(w.last_ping(b, now).map(|t| t.as_millisecond()));
    v["placement"] = json!({
        "hostname": broker.host,
        "version": broker.version(),
        "node": "v18.19.1",
        "processMaxMem": "4096",
        "osTotalMem": "16384",
        "release": "5.15.0-1051-aws",
        "os": "linux",
        "platform": "linux",
        "cpus": 4,
        "privateIp": format!("10.20.{}.{}", b, 10 + b),
        "scanner": {"processes": 2, "processesLimit": 4, "concurrency": 50},
        "transferrer": {"processes": 4, "processesLimit": 8, "concurrency": 50},
    });
    v
}

pub fn group(w: &World, g: usize, now: Timestamp) -> Value {
    let group = &w.groups[g];
    json!({
        "id": group.id,
        "name": group.name,
        "createdAt": w.epoch.as_millisecond(),
        "relationships": w.relationships.iter().filter(|r| r.group == g).map(|r| r.id.clone()).collect::<Vec<_>>(),
        "dataBrokers": w.brokers.iter().enumerate().filter(|(_, b)| b.group == g).map(|(b, _)| broker(w, b, now)).collect::<Vec<_>>(),
        "configuration": {"scanner": {"concurrency": 50, "processesLimit": 4}, "transferrer": {"concurrency": 50, "processesLimit": 8}},
    })
}

pub fn stats(s: &Stats) -> Value {
    json!({
        "totalBytes": s.total_bytes,
        "totalFiles": s.total_files,
        "numberOfRelationships": s.relationships,
        "bytesCopiedInTheLast30Days": s.per_day.iter().map(|(d, b)| json!({"date": d, "bytesCopied": b})).collect::<Vec<_>>(),
    })
}

pub fn audit(w: &World, e: &AuditRecord) -> Value {
    let mut v = json!({
        "accountId": w.accounts[e.account].id,
        "startTime": e.start.as_millisecond(),
        "endTime": e.end.as_millisecond(),
        "action": e.action,
        "status": e.status,
        "requestId": e.request_id,
        "service": e.service,
        "principalId": e.principal,
        "resourceName": e.resource_name,
        "resourceId": e.resource_id,
        "errors": e.errors,
        "requestData": "{}",
        "responseData": "{}",
        "hasRecords": true,
        "hasFailedRecord": e.status == "failed",
        "lastModified": e.end.as_millisecond(),
    });
    // The audit spec types both as (non-nullable, optional) strings: absent, never null.
    if let Some(m) = v.as_object_mut() {
        m.retain(|k, val| !(val.is_null() && (k == "resourceName" || k == "resourceId")));
    }
    v
}

pub fn audit_records(e: &AuditRecord) -> Value {
    json!([{
        "creationTime": e.start.as_millisecond(),
        "action": e.action,
        "status": e.status,
        "data": "{}",
        "errors": e.errors,
        "recordId": 1,
    }])
}
