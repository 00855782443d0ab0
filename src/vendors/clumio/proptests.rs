//! Property tests: the mapping fed with spec-valid variations of real responses (the
//! documents' examples) — optional fields absent, unknown fields, unknown enum words, `null`,
//! empty lists, numbers as strings, long and non-ASCII strings. Nothing panics, nothing that
//! keeps its identity is dropped, and an unknown word is kept as the vendor wrote it.

use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::mapping::{self, AssetKind};
use super::wire;
use crate::model::{AuditAction, JobResult};

/// One variation of one field.
#[derive(Clone, Debug)]
enum Change {
    Remove,
    Null,
    /// A word or text of our choosing: unknown enum words, long and non-ASCII strings.
    Text(String),
    /// A number written as a string.
    NumberAsString,
    /// An integer written as a float in a string (`"100.0"`).
    NumberAsFloatString,
    /// A number of our choosing: huge, negative, zero.
    Number(i64),
    EmptyList,
    /// An unknown field beside the known ones.
    Extra(String, String),
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{1,20}",
        "\\PC{0,40}",
        "[ÄÖÜßéñ漢字🙂]{1,10}",
        "[a-z]{1,4}".prop_map(|s| s.repeat(3000)),
    ]
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        Just(Change::Remove),
        Just(Change::Null),
        text().prop_map(Change::Text),
        Just(Change::NumberAsString),
        Just(Change::NumberAsFloatString),
        prop_oneof![Just(i64::MAX), Just(i64::MIN), Just(0), any::<i64>()].prop_map(Change::Number),
        Just(Change::EmptyList),
        ("x_[a-z]{1,8}", text()).prop_map(|(k, v)| Change::Extra(k, v)),
    ]
}

/// Changes, each on the field at an index into the object's keys (modulo their number);
/// `keep` are fields whose value is left alone (identity: what makes the item this item).
fn vary(item: &Value, changes: &[(usize, Change)], keep: &[&str]) -> Value {
    let mut v = item.clone();
    let Some(obj) = v.as_object_mut() else {
        return v;
    };
    for (i, c) in changes {
        let keys: Vec<String> = obj
            .keys()
            .filter(|k| !keep.contains(&k.as_str()))
            .cloned()
            .collect();
        if let Change::Extra(k, val) = c {
            obj.insert(k.clone(), json!(val));
            continue;
        }
        if keys.is_empty() {
            continue;
        }
        let key = &keys[i % keys.len()];
        match c {
            Change::Remove => {
                obj.remove(key);
            }
            Change::Null => {
                obj.insert(key.clone(), Value::Null);
            }
            Change::Text(t) if obj[key].is_string() => {
                obj.insert(key.clone(), json!(t));
            }
            Change::NumberAsString if obj[key].is_number() => {
                let s = obj[key].to_string();
                obj.insert(key.clone(), json!(s));
            }
            Change::NumberAsFloatString if obj[key].is_i64() || obj[key].is_u64() => {
                let s = format!("{}.0", obj[key]);
                obj.insert(key.clone(), json!(s));
            }
            Change::Number(n) if obj[key].is_number() => {
                obj.insert(key.clone(), json!(n));
            }
            Change::EmptyList if obj[key].is_array() => {
                obj.insert(key.clone(), json!([]));
            }
            _ => {}
        }
    }
    v
}

fn decode<T: DeserializeOwned>(v: &Value) -> T {
    match serde_json::from_value(v.clone()) {
        Ok(t) => t,
        Err(e) => panic!("a spec-valid variation does not decode: {e}\n{v}"),
    }
}

fn changes() -> impl Strategy<Value = Vec<(usize, Change)>> {
    prop::collection::vec((0usize..64, change()), 0..8)
}

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
        let v = vary(&task(), &ch, &["id", "primary_entity"]);
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
        let v = vary(&audit(), &ch, &["id", "timestamp"]);
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
        let mut v = vary(&alert(), &ch, &[]);
        if let Some(d) = v.get("details").cloned() {
            v["details"] = vary(&d, &nested, &[]);
        }
        let a: wire::Alert = decode(&v);
        let w = mapping::warning_from_alert(&a, |_| None, "Global");
        prop_assert!(!w.category.is_empty());
        prop_assert!(w.category.len() <= 64, "a category is a bounded word: {}", w.category);
    }

    #[test]
    fn datasources_and_backups_decode(ch in changes(), bch in changes()) {
        let v = vary(&volume(), &ch, &["id"]);
        let d: wire::Datasource = decode(&v);
        let name = mapping::asset_name(AssetKind::EbsVolume, &d);
        prop_assert!(!name.is_empty(), "an asset with an id has a name");
        let b: wire::Backup = decode(&vary(&backup(), &bch, &[]));
        if let Some(s) = b.size {
            prop_assert!(s.is_finite());
        }
    }

    #[test]
    fn pages_of_varied_items_decode(ch in changes(), n in 0usize..3) {
        let items: Vec<Value> = (0..n).map(|_| vary(&task(), &ch, &[])).collect();
        let mut page = json!({"_embedded": {"items": items}, "total_count": n, "current_count": n,
            "limit": 100, "start": "1", "_links": {}});
        page = vary(&page, &ch, &["_embedded"]);
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
