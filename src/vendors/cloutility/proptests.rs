//! Property tests: the mapping takes every spec-valid variation of the documents' example
//! responses (see `vendors::variations`) without a panic, maps unknown words as contract §3
//! says, and drops nothing it can place.

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::inventory::{self, ConsumerFacts};
use super::{mapping, wire};
use crate::model::{AuditAction, JobResult};
use crate::vendors::variations::{plan, vary};

/// The consumer example of the REST API document (nested business unit shortened).
fn consumer() -> Value {
    json!({
        "href": "https://portal-api.backup.sto2.safedc.net/v1/bunits/22/consumers/408",
        "dataSourceType": { "id": 1, "name": "SP Backup node" },
        "dataSourceIsPotentialParent": false,
        "dataSourceState": { "id": 3, "name": "Active" },
        "name": "JennysWS",
        "billingStartDate": "2023-06-09T00:00:00Z",
        "businessUnit": {
            "$type": "CloudPortal.Web.Api.Hyper.BusinessUnit, CloudPortal.Web.Api",
            "href": "https://portal-api.backup.sto2.safedc.net/v1/bunits/22",
            "ancestors": { "href": "https://portal-api.backup.sto2.safedc.net/v1/bunits/22/ancestors", "total": 0, "items": [] },
            "name": "Marketing Department", "id": 22, "createdDate": "2023-06-10T11:10:11.321Z"
        },
        "lastCommentTime": "2023-10-20T16:58:26.237Z",
        "lastCommentTypeId": 2,
        "comments": [],
        "note": "Jenny's workstation.",
        "limitHighStorage": 100.0,
        "allowNoActivity": false,
        "tags": [],
        "jobs": [],
        "id": 408,
        "createdDate": "2023-07-09T15:10:20.133Z"
    })
}

/// A node with the documented fields.
fn node() -> Value {
    json!({
        "href": "https://portal-api.backup.sto2.safedc.net/v1/bunits/22/consumers/408/node",
        "id": 1736, "createdDate": "2023-07-09T15:10:21.000Z", "name": "JennysWS",
        "tsmName": "C59ACF42E474", "cpuCount": 4, "activatedDate": "2023-07-09T16:00:00Z",
        "locked": false, "decommissioned": false, "contact": "it@example.com",
        "operatingSystem": {"id": 2, "name": "Windows", "shortName": "Windows"},
        "type": {"id": 1, "name": "File Server"},
        "domain": {"id": 3, "name": "30DAYS", "description": "30 days", "backupRetention": 30, "archiveRetention": 365, "missingInTsm": false},
        "clientOptionSet": {"id": 1, "name": "DEDUP_AND_COMPRESS"},
        "syncState": {"id": 2, "name": "Synced"},
        "lastAccessTime": "2024-12-18T19:32:23",
        "schedules": [{"id": 1, "name": "DAILY_INCR"}],
        "nodeSchedules": [{"schedule": {"id": 1, "name": "DAILY_INCR"}, "lastSuccessful": "2024-12-18T19:32:23Z"}],
        "dataSourceState": {"id": 3, "name": "Active"},
        "filespaces": [], "events": []
    })
}

fn filespaces() -> Value {
    json!([{
        "id": 1, "name": "C:", "type": "NTFS", "capacityMegaBytes": 476_000.5,
        "frontEndCapacityMegaBytes": 120_000, "percentageUtilized": 25.2,
        "lastBackupStart": "2024-12-18T19:20:12Z", "lastBackupEnd": "2024-12-18T19:32:23Z",
        "occupancies": [{
            "storagePool": {"name": "DEDUPPOOL", "type": "DEDUP", "totalStorageMegaBytes": 1_048_576.0, "freeStorageMegaBytes": 524_288.0, "id": 1},
            "files": 182_344, "logicalMegaBytes": 71.68, "physicalMegaBytes": 40.1, "reportingMegaBytes": 71.68,
            "type": {"id": 1, "name": "Backup"}, "id": 5
        }]
    }])
}

/// The JobList item of the vendor notes (shape documented, values illustrative).
fn job() -> Value {
    json!({
        "href": "https://portal-api.backup.sto2.safedc.net/v1/bunits/132/consumers/1066/jobs/551234",
        "businessUnitId": 132, "consumerId": 1066, "dataSourceId": 1736, "serverId": 1, "tags": [],
        "type": { "id": 1, "name": "Backup" }, "status": { "id": 1, "name": "Completed" }, "severity": 0,
        "dataSourceType": { "id": 1, "name": "SP Backup node" }, "dataSourceState": { "id": 3, "name": "Active" },
        "scheduled": true, "scheduledStart": "2024-12-18T19:20:00Z", "actualStart": "2024-12-18T19:20:12Z",
        "completed": "2024-12-18T19:32:23Z", "examinedFiles": 182_344, "affectedFiles": 211, "failedFiles": 0,
        "result": 0, "transferredMegaBytes": 5.12, "transferredGigaBytes": 0.005,
        "serverType": { "id": 1, "name": "IBM Storage Protect" },
        "jobName": { "name": "DAILY_INCR", "id": 12, "createdDate": "2024-12-01T00:00:00Z" },
        "name": "DAILY_INCR", "duration": "00:12:11", "transferredMegaBytesPerSecond": 0.007,
        "id": 551_234, "createdDate": "2024-12-18T19:33:01.540Z"
    })
}

fn report() -> Value {
    json!({
        "name": "Generic MSSQL Server", "statusReportId": 90211, "pending": false,
        "dataSourceState": { "id": 3, "name": "Active" }, "tsmName": "C59ACF42E474_DB",
        "status": 0, "errorsDeactivated": false, "errorsDeactivatedNoActivity": false,
        "megaBytes": 71.68, "consumerId": 1066, "reportDate": "2024-12-19T00:00:00Z",
        "warnings": [
            { "type": { "name": "No activity", "usesLimit": true, "id": 1 }, "status": 1, "days": 2, "limit": 2.0, "id": 9911 },
            { "type": { "id": 3 }, "status": 2, "days": 1, "limit": 0.0, "id": 9912 }
        ],
        "id": 77120
    })
}

fn audit() -> Value {
    json!({
        "id": 50123, "createdDate": "2024-12-18T22:33:10.000Z", "type": 200, "actor": "Administrator",
        "application": "Cloutility secure API Key",
        "description": "Backup node 'C59ACF42E474' (ID: 1736) modified for consumption unit 'server.company.com' (ID: 1066)",
        "businessUnitId": 132, "consumerId": 1066
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn inventory_takes_every_variation(c in plan(), n in plan(), f in plan()) {
        let consumer: wire::Consumer = serde_json::from_value(vary(&consumer(), &c, &["id"]))
            .map_err(|e| TestCaseError::fail(format!("consumer: {e}")))?;
        let node: wire::Node = serde_json::from_value(vary(&node(), &n, &[]))
            .map_err(|e| TestCaseError::fail(format!("node: {e}")))?;
        let fs: Vec<wire::Filespace> = serde_json::from_value(vary(&filespaces(), &f, &[]))
            .map_err(|e| TestCaseError::fail(format!("filespaces: {e}")))?;
        prop_assert_eq!(consumer.id, Some(408));
        let o = inventory::object(&ConsumerFacts {
            id: 408,
            consumer: &consumer,
            tenant: "Marketing Department",
            node: Some(&node),
            filespaces: &fs,
            first_job: None,
        });
        prop_assert_eq!(o.id.as_str(), "408");
        prop_assert!(o.object_type.len() <= 40);
        let mut pools = HashMap::new();
        inventory::pools(fs.iter(), &mut pools);
        prop_assert!(pools.len() <= 1);
        // Protected needs an active consumer and an activated node; an unknown state word
        // is not active.
        let state = consumer.data_source_state.as_ref().or(node.data_source_state.as_ref());
        if o.protected {
            prop_assert!(inventory::active(state));
            prop_assert!(node.tsm_name.is_some() || node.activated_date.is_some());
        }
    }

    #[test]
    fn every_job_with_an_id_is_kept(p in plan()) {
        let w: wire::Job = serde_json::from_value(vary(&job(), &p, &["id"]))
            .map_err(|e| TestCaseError::fail(format!("job: {e}")))?;
        let status = w.status.as_ref().and_then(|s| s.name.clone());
        let j = mapping::job(w, "1066");
        let future = status.is_some_and(|s| s.trim().eq_ignore_ascii_case("future"));
        prop_assert_eq!(j.is_some(), !future);
        if let Some(j) = j {
            prop_assert_eq!(j.id.as_str(), "551234");
            let known = ["completed", "failed", "missed", "cancelled", "canceled", "severed",
                "inprogress", "started", "pending", "restarted", "uncertain"];
            let word: String = j.vendor_status.chars().filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase()).collect();
            if !j.vendor_status.trim().is_empty() && !known.iter().any(|k| word.starts_with(k)) {
                prop_assert_eq!(j.result, JobResult::Failed, "unknown word {}", j.vendor_status);
            }
        }
    }

    #[test]
    fn every_audit_entry_with_an_id_and_a_time_is_kept(p in plan()) {
        let w: wire::AuditLog = serde_json::from_value(vary(&audit(), &p, &["id", "createdDate"]))
            .map_err(|e| TestCaseError::fail(format!("audit: {e}")))?;
        let kind = w.audit_type.clone();
        let e = mapping::audit_event(w, "Company AB", "server");
        prop_assert!(e.is_some());
        let e = e.unwrap();
        prop_assert_eq!(e.id.as_str(), "50123");
        if kind.as_ref().and_then(|k| k.id).is_none() && kind.as_ref().and_then(|k| k.name.clone()).is_none() {
            prop_assert_eq!(e.action, AuditAction::Other);
        }
    }

    #[test]
    fn every_report_warning_is_kept(p in plan()) {
        let r: wire::NodeReport = serde_json::from_value(vary(&report(), &p, &[]))
            .map_err(|e| TestCaseError::fail(format!("report: {e}")))?;
        let types = HashMap::from([(3, "Failed schedule".to_owned())]);
        let w = mapping::warnings(&r, &types, "1066", "Company AB");
        if r.errors_deactivated != Some(true) && r.errors_deactivated_no_activity != Some(true) {
            prop_assert!(w.len() >= r.warnings.len(), "{} of {}", w.len(), r.warnings.len());
        }
        for x in &w {
            prop_assert!(mapping::WARNING_CATEGORIES.contains(&x.category.as_str()));
        }
    }
}
