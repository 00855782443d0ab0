//! Property tests: the mapping takes every spec-valid variation of the documents' example
//! responses (see `vendors::variations`) without a panic, maps unknown words as contract §3
//! says, and drops nothing it can place.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::wire::{AuditGroup, DataBroker, Relationship};
use super::{events, mapping};
use crate::model::{AuditAction, JobResult};
use crate::vendors::variations::{plan, vary};

/// The relationship example of the vendor notes (from the copy-and-sync documentation).
fn relationship() -> Value {
    json!({
        "account": "5e528f4504a9a4d63d6962de",
        "dataBroker": "616d9c8d48301b1e6cdfe1df",
        "source": {"protocol": "azure", "azure": {"storageAccountName": "jbblobazure", "container": "jbblob", "prefix": "DIR1", "tags": [], "provider": "azure"}},
        "target": {"protocol": "nfs", "nfs": {"host": "10.0.0.5", "export": "/vol1", "path": "/dst", "provider": "cvo", "version": "3"}},
        "settings": {
            "gracePeriod": 30, "deleteOnSource": false, "deleteOnTarget": false, "retries": 3,
            "files": {"excludeExtensions": [], "maxSize": 9_007_199_254_740_991_u64, "minSize": 0, "minDate": "1970-01-01", "maxDate": null},
            "schedule": {"syncInDays": 0, "syncInHours": 1, "syncInMinutes": 0, "nextTime": "2021-12-24T09:00:00.000Z", "isEnabled": true, "syncWhenCreated": true},
            "continuousSync": false
        },
        "phase": "Initial Copy",
        "group": "616d9c8dcec9f8eef6a411fa",
        "startTime": "2021-12-23T09:20:12.875Z",
        "createdAt": 1_640_251_212_876_u64,
        "endTime": "2021-12-23T09:22:59.304Z",
        "id": "61c43f4c86f2ee48a82a0813",
        "relationshipId": "61c43f4c86f2ee48a82a0813",
        "activity": {
            "type": "Initial Copy", "status": "DONE", "errors": [{"reason": "x", "step": "TRANSFER"}], "failureMessage": "", "executionTime": 166_429,
            "startTime": "2021-12-23T09:20:12.875Z", "endTime": "2021-12-23T09:22:59.304Z",
            "bytesMarkedForCopy": 1_243_560, "filesCopied": 0, "bytesCopied": 0, "filesFailed": 1, "dirsFailed": 0,
            "bytesScanned": 1_243_560, "progress": 100, "lastMessageTime": "2021-12-23T09:22:59.307Z",
            "topFiveMostCommonRelationshipErrors": [
                {"step": "TRANSFER", "errorCode": "invalid_credentials", "counter": 1,
                 "description": "source connection-string should be SAS Connection-string and not regular connection-string"}
            ]
        }
    })
}

fn broker() -> Value {
    json!({
        "id": "616d9c8d48301b1e6cdfe1df", "name": "broker-eu-1", "type": "AWS", "status": "FAILED",
        "message": "no route to host", "lastPing": 1_640_251_212_876_u64, "latestVersion": "1.5",
        "placement": {"version": "1.4", "region": "eu-west-1", "privateIp": "10.0.0.9"},
        "group": "616d9c8dcec9f8eef6a411fa", "createdAt": 1_640_251_212_876_u64
    })
}

fn audit_group() -> Value {
    json!({
        "accountId": "account-1", "startTime": 1_684_050_775_135_u64, "endTime": 1_684_050_776_135_u64,
        "action": "Delete Relationship", "status": "failed", "requestId": "c53qRZlA", "service": "cloudsync",
        "principalId": "auth0|5cd0", "agentName": "connector-1", "resourceName": "nfs01:/x -> s3://b",
        "resourceId": "61c4", "errors": ["relationship is running"], "requestData": "{}",
        "hasRecords": true, "hasFailedRecord": true, "lastModified": 1_684_050_775_135_u64
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_relationship_with_an_id_is_kept(p in plan()) {
        let v = vary(&relationship(), &p, &["id"]);
        let rel: Relationship = serde_json::from_value(v.clone())
            .map_err(|e| TestCaseError::fail(format!("relationship: {e}")))?;
        let o = mapping::object(&rel, "Acme");
        prop_assert!(o.is_some());
        let o = o.unwrap();
        prop_assert_eq!(o.id.as_str(), "61c43f4c86f2ee48a82a0813");
        let status = rel.activity.as_ref().and_then(|a| a.status.clone());
        let j = mapping::job(&rel);
        prop_assert_eq!(j.is_some(), status.as_deref().is_some_and(|s| !s.trim().is_empty()));
        if let (Some(j), Some(s)) = (j, status) {
            let known = ["DONE", "FAILED", "ABORTED", "RUNNING", "PENDING", "RUNNING_CONTINUOUSLY"];
            if !known.contains(&s.trim().to_ascii_uppercase().as_str()) {
                prop_assert_eq!(j.result, JobResult::Failed, "unknown word {}", s);
            }
        }
    }

    #[test]
    fn every_broker_that_is_not_healthy_is_a_warning(p in plan()) {
        let b: DataBroker = serde_json::from_value(vary(&broker(), &p, &[]))
            .map_err(|e| TestCaseError::fail(format!("broker: {e}")))?;
        let now = "2024-06-01T12:00:00Z".parse().unwrap();
        let w = events::broker_warnings(&b, "Acme", now);
        let status = b.status.as_deref().map(str::to_ascii_uppercase);
        if status.as_deref() != Some("COMPLETE") {
            prop_assert!(!w.is_empty(), "status {:?} gives no warning", b.status);
        }
    }

    #[test]
    fn every_audit_group_with_a_time_is_kept(p in plan()) {
        let g: AuditGroup = serde_json::from_value(vary(&audit_group(), &p, &["startTime"]))
            .map_err(|e| TestCaseError::fail(format!("audit: {e}")))?;
        let e = events::audit_event(&g, "Acme");
        prop_assert!(e.is_some());
        let e = e.unwrap();
        let failed = g.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("failed"));
        if !failed && !g.action.as_deref().unwrap_or("").to_ascii_lowercase().starts_with("delete") {
            prop_assert_ne!(e.action, AuditAction::Delete);
        }
    }
}
