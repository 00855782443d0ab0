//! Property tests: the mapping fed with spec-valid variations of real responses (spec
//! V11.0.4 schemas, values from the documents' samples) — optional fields absent, unknown
//! fields, unknown enum words, `null`, empty lists, numbers as strings (also as `"n.0"`),
//! very large numbers, long and non-ASCII strings. Nothing panics, nothing that keeps its
//! identity is dropped, and an unknown word is kept as the vendor wrote it.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::collect::{self, Appliances};
use super::mapping;
use super::warnings;
use super::wire::{AuditRest, BackupRest, ClusterRest, DiskPoolRest, JobRest, Page};
use crate::model::{AuditAction, JobResult};
use crate::vendors::variations::{changes, decode, vary_fields};

fn job() -> Value {
    json!({"@type":"jobRest","id":"1242110","href":"https://agm/actifio/jobstatus/1242110",
      "jobname":"Job_1242110","jobclass":"snapshot","status":"succeeded","errorcode":"0",
      "message":"Success","appid":"409016","appname":"bastion","hostname":"bastion",
      "apptype":"GCPInstance","queuedate":1668650405000000i64,"startdate":1668650411000000i64,
      "enddate":1668650532000000i64,"duration":121000000,"targethost":"", "policyname":"snap",
      "slttemplate":"silver","priority":"medium","progress":100})
}

fn audit() -> Value {
    json!({"@type":"auditRest","id":"986486","href":"https://agm/actifio/localaudit/986486",
      "issuedate":1668595899000000i64,"username":"apiuser@iam.gserviceaccount.com",
      "command":"POST https://agm/actifio/backup/425577/expire force=TRUE Session 5b53bf3e",
      "ipaddress":"10.1.1.1","component":"RESTful","status":10008,"privileged":false})
}

fn pool() -> Value {
    json!({"@type":"diskPoolRest","id":"2001","name":"act_per_pool000","pooltype":"perf",
      "capacity_mb":10485760,"usage_mb":9437184,"free_mb":1048576,"pct":90.0,"warnpct":80,"safepct":95,
      "status":"green","state":"Ok",
      "cluster":{"id":"7","clusterid":"144091747698","name":"backup-server-29736"}})
}

fn cluster() -> Value {
    json!({"@type":"clusterRest","id":"7","clusterid":"144091747698","name":"backup-server-29736",
      "type":"Sky","ipaddress":"10.0.0.5","version":"11.0.5","stale":false,"syncdate":1668595899000000i64,
      "clusterstatus":{"copydata":1024,"accessible":true,"vdiskcount":10,"vdisklimit":100,"vdiskcolor":"green"}})
}

fn backup() -> Value {
    json!({"@type":"backupRest","id":"425577","appid":"409016","jobclass":"snapshot",
      "consistencydate":1668650411000000i64,"backupdate":1668650411000000i64,
      "virtualsize":"10737418240","expiration":1669255211000000i64,"restorelock":false})
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn jobs_map_and_keep_the_vendor_word(ch in changes()) {
        let v = vary_fields(&job(), &ch, &["id"]);
        let w: JobRest = decode(&v);
        let j = mapping::job(&w).expect("a job with an id is kept");
        prop_assert_eq!(&j.id, "1242110");
        let status = v.get("status").and_then(Value::as_str).unwrap_or("");
        prop_assert_eq!(&j.vendor_status, status);
        if j.result == JobResult::Running {
            prop_assert!(j.end.is_none());
        }
        let jobs = collect::jobs_to_model(&[w]);
        prop_assert_eq!(jobs.len(), 1);
    }

    #[test]
    fn audit_records_keep_every_event(ch in changes()) {
        let v = vary_fields(&audit(), &ch, &["id", "issuedate"]);
        let w: AuditRest = decode(&v);
        let e = mapping::audit_event(&w).expect("a record with id and time is kept");
        let command = v.get("command").and_then(Value::as_str).unwrap_or("");
        prop_assert!(!e.message.contains("Session 5b53bf3e"));
        if !command.starts_with("POST ") && !command.starts_with("PUT ") && !command.starts_with("DELETE ") {
            prop_assert_eq!(e.action, AuditAction::Other);
        }
    }

    #[test]
    fn pools_and_appliances_never_panic(pch in changes(), cch in changes(), n in 1usize..4) {
        let pools: Vec<DiskPoolRest> = (0..n).map(|_| decode(&vary_fields(&pool(), &pch, &[]))).collect();
        let clusters: Vec<ClusterRest> = vec![decode(&vary_fields(&cluster(), &cch, &[]))];
        let names = Appliances::new(&clusters);
        let storage = collect::storage(&pools, &names);
        prop_assert_eq!(storage.pools.len(), n, "every pool is listed");
        for w in warnings::pool_warnings(&pools, &names) {
            prop_assert!(!w.message.is_empty());
        }
        let _ = warnings::appliance_warnings(&clusters);
    }

    #[test]
    fn backups_and_pages_decode(ch in changes(), n in 0usize..3) {
        let b: BackupRest = decode(&vary_fields(&backup(), &ch, &[]));
        if let Some(t) = b.consistencydate {
            let _ = mapping::epoch_to_timestamp(t);
        }
        let items: Vec<Value> = (0..n).map(|_| vary_fields(&job(), &ch, &[])).collect();
        let page = vary_fields(&json!({"count": n, "items": items}), &ch, &["items"]);
        let p: Page<JobRest> = decode(&page);
        prop_assert_eq!(p.items.len(), n, "no item is dropped");
    }
}

#[test]
fn numbers_as_float_strings_are_read() {
    let mut v = job();
    v["duration"] = json!("121000000.0");
    v["startdate"] = json!("1668650411000000.0");
    let w: JobRest = decode(&v);
    assert_eq!(w.duration, Some(121_000_000));
    assert_eq!(w.startdate, Some(1_668_650_411_000_000));
}
