//! Property tests: the mapping fed with spec-valid variations of real responses (the
//! documents' examples) — optional fields absent, unknown fields, unknown enum words, `null`,
//! empty lists, numbers as strings, long and non-ASCII strings. Nothing panics, nothing that
//! keeps its identity is dropped, and an unknown word is kept as the vendor wrote it.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::mapping::{self, AssetKind};
use super::wire;
use crate::model::{AuditAction, JobResult};
use crate::vendors::variations::{changes, decode, vary_fields};

fn task() -> Value {
    json!({
      "_etag": "\"3f1e9a\"",
      "_links": {"_self": {"href": "/tasks/1123", "type": "get", "templated": false}},
      "category": "backup", "created_timestamp": "2024-05-02T06:00:04Z",
      "end_timestamp": "2024-05-02T06:14:51Z", "genre": "operational", "id": "1123",
      "is_abortable": false,
      "parent_entity": {"id": "9c2934fc", "type": "aws_environment", "value": "891106093485/us-west-2"},
      "primary_entity": {"id": "c8011712-9e16-11eb-bb8f-0a06889d7896", "type": "aws_ebs_volume", "value": "vol-0a5f2e52d6decd664"},
      "progress_percentage": 100, "start_timestamp": "2024-05-02T06:00:11Z",
      "status": "completed", "type": "aws_ebs_volume_incremental_backup"
    })
}

fn audit() -> Value {
    json!({"action":"login","category":"authentication","details":"{}",
      "details_json":{"request_body":null,"tags":[]},
      "id":"6f3c0a1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f","interface":"UI","ip_address":"203.0.113.10",
      "parent_entity":null,"primary_entity":null,"status":"success",
      "timestamp":"2024-05-02T07:12:44Z","user_email":"ops@example.com"})
}

fn alert() -> Value {
    json!({"_etag":"\"a1b2\"","cause":"backup_failed","cleared_timestamp":null,
      "consolidated_alert_id":"d78cd819-ab15-48e2-acea-3f94d3a9f2fb",
      "details":{"cause":"Insufficient Cloud Connector Capacity","description":"The scheduled backup could not complete","type":"Policy Violated","variables":null},
      "id":"5f2a7c1e-8d3b-4f6a-9e2c-1b0d4a5c6e7f","notes":"",
      "parent_entity":{"id":"9c2934fc","type":"aws_environment","value":"891106093485/us-west-2"},
      "primary_entity":{"id":"503765b4-62af-536d-c7ab-c5850a123194","type":"aws_ebs_volume","value":"vol-06aa02a849fe376d9"},
      "raised_count":3,"raised_timestamp":"2024-05-01T06:15:00Z","severity":"error","status":"active",
      "tags":[],"type":"policy_violated","updated_timestamp":"2024-05-03T06:15:00Z"})
}

fn volume() -> Value {
    json!({"id":"503765b4-62af-536d-c7ab-c5850a123194","name":"db-data","volume_native_id":"vol-06aa02a849fe376d9",
      "account_native_id":"891106093485","aws_region":"us-west-2","aws_az":"us-west-2a",
      "organizational_unit_id":"00000000-0000-0000-0000-000000000000",
      "protection_status":"protected","protection_info":{"policy_id":"p-1","inheriting_entity_id":null,"inheriting_entity_type":null},
      "backup_status_info":{"backup_status":"success","last_successful_policy_start_timestamp":"2024-05-02T06:00:00Z"},
      "last_backup_timestamp":"2024-05-02T06:00:11Z","is_deleted":false,"size":107374182400u64,"type":"gp2","iops":300,
      "tags":[{"key":"Name","value":"db-data"}],"created_timestamp":"2023-01-01T00:00:00Z"})
}

fn backup() -> Value {
    json!({"id":"b-1","volume_id":"503765b4","start_timestamp":"2024-05-02T06:00:11Z",
      "expiration_timestamp":"2024-06-02T06:00:11Z","type":"clumio_backup","backup_tier":"standard",
      "size":100,"utilized_size_in_bytes":53687091200u64,"iops":300,"is_encrypted":true,"volume_type":"gp2","tags":[]})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn tasks_map_or_say_why_not(ch in changes()) {
        let v = vary_fields(&task(), &ch, &["id", "primary_entity"]);
        let t: wire::Task = decode(&v);
        let job = mapping::job_from_task(&t).expect("a task on an asset with an id is a job");
        prop_assert_eq!(&job.id, "1123");
        // The vendor's word is kept, whatever it is; an unknown terminal word is `failed`.
        let status = v.get("status").and_then(Value::as_str).unwrap_or("");
        prop_assert_eq!(&job.vendor_status, status);
        if !matches!(status, "completed" | "failed" | "aborted" | "queued" | "in_progress" | "aborting") {
            prop_assert_eq!(job.result, mapping::job_result(status));
        }
    }

    #[test]
    fn audit_trails_keep_every_event(ch in changes()) {
        let v = vary_fields(&audit(), &ch, &["id", "timestamp"]);
        let t: wire::AuditTrail = decode(&v);
        let e = mapping::audit_event(&t, "Global").expect("an event with id and time is kept");
        let action = v.get("action").and_then(Value::as_str).unwrap_or("");
        if !matches!(action, "login" | "create" | "update" | "delete") {
            // Unknown or missing words are `other` (or `error` for a failure), never guessed.
            prop_assert!(
                matches!(e.action, AuditAction::Other | AuditAction::Error | AuditAction::Modify | AuditAction::Create | AuditAction::Delete),
                "{:?}", e.action
            );
        }
        if action == "login" {
            prop_assert!(matches!(e.action, AuditAction::Login | AuditAction::LoginFailed));
        }
    }

    #[test]
    fn alerts_are_always_warnings(ch in changes(), nested in changes()) {
        let mut v = vary_fields(&alert(), &ch, &[]);
        if let Some(d) = v.get("details").cloned() {
            v["details"] = vary_fields(&d, &nested, &[]);
        }
        let a: wire::Alert = decode(&v);
        let w = mapping::warning_from_alert(&a, |_| None, "Global");
        prop_assert!(!w.category.is_empty());
        prop_assert!(w.category.len() <= 64, "a category is a bounded word: {}", w.category);
    }

    #[test]
    fn datasources_and_backups_decode(ch in changes(), bch in changes()) {
        let v = vary_fields(&volume(), &ch, &["id"]);
        let d: wire::Datasource = decode(&v);
        let name = mapping::asset_name(AssetKind::EbsVolume, &d);
        prop_assert!(!name.is_empty(), "an asset with an id has a name");
        let b: wire::Backup = decode(&vary_fields(&backup(), &bch, &[]));
        if let Some(s) = b.size {
            prop_assert!(s.is_finite());
        }
    }

    #[test]
    fn pages_of_varied_items_decode(ch in changes(), n in 0usize..3) {
        let items: Vec<Value> = (0..n).map(|_| vary_fields(&task(), &ch, &[])).collect();
        let mut page = json!({"_embedded": {"items": items}, "total_count": n, "current_count": n,
            "limit": 100, "start": "1", "_links": {}});
        page = vary_fields(&page, &ch, &["_embedded"]);
        let p: wire::Page<wire::Task> = decode(&page);
        prop_assert_eq!(p.into_items().len(), n);
    }
}

#[test]
fn numbers_as_strings_are_read() {
    let mut v = backup();
    v["size"] = json!("100");
    v["utilized_size_in_bytes"] = json!("53687091200");
    let b: wire::Backup = decode(&v);
    assert_eq!(b.size, Some(100.0));
    assert_eq!(b.utilized_size_in_bytes, Some(53_687_091_200));
    v["utilized_size_in_bytes"] = json!("53687091200.0");
    let b: wire::Backup = decode(&v);
    assert_eq!(b.utilized_size_in_bytes, Some(53_687_091_200));
    let p: wire::Page<wire::Task> =
        decode(&json!({"total_count": "7", "_embedded": {"items": []}}));
    assert_eq!(p.total_count, Some(7));
    let _ = JobResult::ALL;
}
