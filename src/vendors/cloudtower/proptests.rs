//! Property tests of the mapping: real CloudTower responses (shaped as the 4.6.0 spec and
//! the captures in the vendor notes show them), varied the ways real towers vary them:
//! optional fields absent, nullable fields `null`, unknown fields added, enum words the
//! spec does not have, lists empty, numbers written as strings, very long and non-ASCII
//! strings; and, beyond the spec, `null` for required text. Every variation must decode, map without panicking, keep one model item per
//! vendor item, and map unknown words as contract §3 says.

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::inventory::{Base, Scope, inventory};
use super::jobs::{backup_jobs, snapshot_jobs, task_jobs};
use super::{collect, mapping, wire};
use crate::model::{AuditAction, JobResult, Severity};

/// How the spec describes a field, which decides how it may vary.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Free text.
    Text,
    /// An enum word.
    Word,
    Int,
    Time,
    /// A relation stub `{id, name}`.
    Nested,
    List,
    Bool,
    Object,
}

/// (field, kind, required by the spec, nullable in the spec)
type Field = (&'static str, Kind, bool, bool);

const VM_FIELDS: &[Field] = &[
    ("local_id", Kind::Text, true, false),
    ("name", Kind::Text, true, false),
    ("cluster", Kind::Nested, false, true),
    ("local_created_at", Kind::Time, false, true),
    ("snapshot_plan", Kind::Nested, false, true),
    ("backup_plans", Kind::List, false, true),
    ("size", Kind::Int, false, true),
    ("used_size", Kind::Int, false, true),
    ("status", Kind::Word, true, false),
];

const SNAPSHOT_PLAN_FIELDS: &[Field] = &[
    ("name", Kind::Text, true, false),
    ("status", Kind::Word, true, false),
    ("execute_plan_type", Kind::Word, true, false),
    ("execute_intervals", Kind::List, true, false),
    ("vms", Kind::List, false, true),
];

const BACKUP_PLAN_FIELDS: &[Field] = &[
    ("name", Kind::Text, true, false),
    ("status", Kind::Word, true, false),
    ("full_period", Kind::Word, true, false),
    ("full_interval", Kind::Int, true, false),
    ("incremental_period", Kind::Word, true, false),
    ("incremental_interval", Kind::Int, false, true),
    ("incremental_time_points", Kind::List, true, false),
    ("vms", Kind::List, false, true),
    ("createdAt", Kind::Time, true, false),
];

const SNAPSHOT_TASK_FIELDS: &[Field] = &[
    ("snapshotPlan", Kind::Nested, true, false),
    ("status", Kind::Word, true, false),
    ("type", Kind::Word, true, false),
    ("start_time", Kind::Time, true, false),
    ("end_time", Kind::Time, false, true),
];

const TARGET_EXECUTION_FIELDS: &[Field] = &[
    ("backup_plan_execution", Kind::Nested, false, true),
    ("status", Kind::Word, false, true),
    ("executed_at", Kind::Time, true, false),
    ("duration", Kind::Int, false, true),
    ("read_bytes", Kind::Int, false, true),
    ("vm_local_id", Kind::Text, false, true),
];

const PLAN_EXECUTION_FIELDS: &[Field] = &[
    ("backup_plan", Kind::Nested, false, true),
    ("status", Kind::Word, true, false),
    ("executed_at", Kind::Time, false, true),
    ("duration", Kind::Int, false, true),
    ("local_created_at", Kind::Time, true, false),
];

const TASK_FIELDS: &[Field] = &[
    ("status", Kind::Word, true, false),
    ("type", Kind::Word, false, true),
    ("resource_type", Kind::Text, false, true),
    ("args", Kind::Object, true, false),
    ("error_code", Kind::Text, false, true),
    ("error_message", Kind::Text, false, true),
    ("local_created_at", Kind::Time, true, false),
    ("started_at", Kind::Time, false, true),
    ("finished_at", Kind::Time, false, true),
];

const ALERT_FIELDS: &[Field] = &[
    ("severity", Kind::Word, true, false),
    ("ended", Kind::Bool, true, false),
    ("message", Kind::Text, true, false),
    ("cluster", Kind::Nested, false, true),
    ("host", Kind::Nested, false, true),
    ("disk", Kind::Nested, false, true),
    ("vms", Kind::List, false, true),
    ("alert_rule", Kind::Nested, false, true),
];

const AUDIT_FIELDS: &[Field] = &[
    ("action", Kind::Text, true, false),
    ("message", Kind::Text, true, false),
    ("status", Kind::Word, false, true),
    ("user", Kind::Nested, false, true),
    ("username", Kind::Text, false, true),
    ("resource_type", Kind::Text, false, true),
    ("resource_id", Kind::Text, false, true),
    ("cluster", Kind::Nested, false, true),
];

fn vm(i: usize) -> Value {
    json!({
        "id": format!("cmg6y18ig00{i}0ro5gk3urcrd4"), "local_id": format!("30724c9c-9657-46af-9c55-{i:012}"),
        "name": format!("web-{i:02}"), "status": "RUNNING", "in_recycle_bin": false,
        "cluster": {"id": "cmg6y13w6055h0958o1afczt5", "name": "CN-BJ-SMTX-Prod-Cls01"},
        "local_created_at": "2025-10-01T08:57:09.000Z",
        "snapshot_plan": {"id": "plan-s", "name": "daily"},
        "backup_plans": [{"id": "plan-b", "name": "nightly"}],
        "size": 107374182400u64, "used_size": 21474836480u64, "entityAsyncStatus": null
    })
}

fn snapshot_plan() -> Value {
    json!({"id": "plan-s", "name": "daily", "status": "NORMAL", "execute_plan_type": "DAY",
           "execute_intervals": [1], "vms": [{"id": "cmg6y18ig000ro5gk3urcrd4", "name": "web-00"}],
           "logical_size_bytes": 0, "physical_size_bytes": 0})
}

fn backup_plan() -> Value {
    json!({"id": "plan-b", "name": "nightly", "status": "WORKING", "full_period": "WEEKLY",
           "full_interval": 1, "incremental_period": "DAILY", "incremental_interval": 1,
           "incremental_time_points": [{"hour": 1, "minute": 30}],
           "vms": [{"id": "cmg6y18ig001ro5gk3urcrd4", "name": "web-01"}],
           "createdAt": "2025-09-01T00:00:00.000Z"})
}

fn snapshot_task() -> Value {
    json!({"id": "task-s", "snapshotPlan": {"id": "plan-s", "name": "daily"}, "snapshotGroup": null,
           "status": "SUCCEED", "type": "TASK_TYPE_PROTECT",
           "start_time": "2025-10-03T08:00:01.000Z", "end_time": "2025-10-03T08:01:01.000Z"})
}

fn target_execution(i: usize) -> Value {
    json!({"id": format!("bte-{i}"), "backup_plan_execution": {"id": "bpe-1"}, "status": "SUCCESS",
           "executed_at": "2025-10-03T01:30:00.000Z", "duration": 600, "read_bytes": 1073741824u64,
           "vm": {"id": format!("cmg6y18ig00{i}0ro5gk3urcrd4"), "name": format!("web-{i:02}")},
           "vm_local_id": format!("30724c9c-9657-46af-9c55-{i:012}")})
}

fn plan_execution() -> Value {
    json!({"id": "bpe-2", "backup_plan": {"id": "plan-b", "name": "nightly"}, "status": "PARTIAL_SUCCESS",
           "executed_at": "2025-10-04T01:30:00.000Z", "duration": 900,
           "local_created_at": "2025-10-04T01:30:00.000Z"})
}

fn task(i: usize) -> Value {
    json!({"id": format!("task-{i}"), "status": "SUCCESSED", "type": null, "resource_type": "VmSnapshot",
           "resource_id": "snap-manual", "args": {"data": [{"vm_id": format!("cmg6y18ig00{i}0ro5gk3urcrd4"), "name": "manual"}]},
           "error_code": null, "error_message": null, "description": "Create VM snapshot",
           "local_created_at": "2025-12-25T06:29:20.000Z", "started_at": "2025-12-25T06:29:21.000Z",
           "finished_at": "2025-12-25T06:29:40.000Z", "progress": 1, "steps": []})
}

fn alert(i: usize) -> Value {
    json!({"id": format!("alert-{i}"), "severity": "CRITICAL", "ended": false,
           "message": "VM web-01 has no snapshot", "cause": "", "impact": "", "solution": "",
           "cluster": {"id": "cmg6y13w6055h0958o1afczt5", "name": "CN-BJ-SMTX-Prod-Cls01"},
           "host": null, "disk": null, "vms": [{"id": "cmg6y18ig001ro5gk3urcrd4", "name": "web-01"}],
           "alert_rule": {"id": "rule-1"}, "local_start_time": "2025-10-03T08:00:01.000Z"})
}

fn audit(i: usize) -> Value {
    json!({"action": "Create VM snapshot", "auth_type": "LOCAL",
           "cluster": {"id": "cmg6y13w6055h0958o1afczt5", "name": "CN-BJ-SMTX-Prod-Cls01"},
           "createdAt": "2025-10-03T08:00:01.000Z", "finished_at": "2025-10-03T08:00:09.000Z",
           "id": format!("cmgd0k2v100xy0958abcd{i:04}"), "ip_address": "10.0.20.50",
           "message": "Create snapshot snap-01 for VM web-01", "resource_id": "cmg6y18ig0050ro5gk3urcrd4",
           "resource_type": "VmSnapshot", "started_at": "2025-10-03T08:00:01.000Z", "status": "SUCCESSED",
           "user": {"id": "cmg6wngqb037g09586kbpoj03", "name": "root"}, "username": "root"})
}

/// One way to vary one field.
#[derive(Clone, Debug)]
enum Change {
    Keep,
    Absent,
    Null,
    /// An unknown enum word, or other text for a text field.
    Text(String),
    NumberAsString,
    EmptyList,
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Z_]{1,20}",
        "\\PC{0,40}",
        Just("x".repeat(100_000)),
        Just("虚拟机快照 «прод» 🚀 ".repeat(500)),
        Just(String::new()),
        Just("   ".to_owned()),
    ]
}

fn change(kind: Kind, required: bool, nullable: bool) -> BoxedStrategy<Change> {
    let mut options: Vec<BoxedStrategy<Change>> = vec![Just(Change::Keep).boxed()];
    if !required {
        options.push(Just(Change::Absent).boxed());
    }
    // Liberal beyond the spec: text may be `null` even where the spec requires it (towers
    // of other releases leave fields empty that way).
    if nullable || matches!(kind, Kind::Text | Kind::Word) {
        options.push(Just(Change::Null).boxed());
    }
    match kind {
        Kind::Text | Kind::Word => options.push(text().prop_map(Change::Text).boxed()),
        Kind::Int => options.push(Just(Change::NumberAsString).boxed()),
        Kind::List => options.push(Just(Change::EmptyList).boxed()),
        Kind::Time | Kind::Nested | Kind::Bool | Kind::Object => {}
    }
    proptest::strategy::Union::new(options).boxed()
}

/// Unknown fields a newer tower may add.
fn extras() -> impl Strategy<Value = Vec<(String, Value)>> {
    let value = prop_oneof![
        Just(Value::Null),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::from),
        Just(json!({"nested": [1, "two", null]})),
    ];
    proptest::collection::vec(("[a-z_]{1,12}_new", value), 0..3)
}

/// A varied copy of `item`.
fn vary(item: Value, fields: &'static [Field]) -> impl Strategy<Value = Value> {
    let changes: Vec<BoxedStrategy<Change>> = fields
        .iter()
        .map(|(_, k, r, n)| change(*k, *r, *n))
        .collect();
    (changes, extras()).prop_map(move |(changes, extras)| {
        let mut m: Map<String, Value> = item.as_object().cloned().unwrap_or_default();
        for ((name, _, _, _), c) in fields.iter().zip(changes) {
            match c {
                Change::Keep => {}
                Change::Absent => {
                    m.remove(*name);
                }
                Change::Null => {
                    m.insert((*name).into(), Value::Null);
                }
                Change::Text(t) => {
                    m.insert((*name).into(), Value::from(t));
                }
                Change::NumberAsString => {
                    if let Some(v) = m.get(*name).filter(|v| v.is_number()).cloned() {
                        m.insert((*name).into(), Value::from(v.to_string()));
                    }
                }
                Change::EmptyList => {
                    m.insert((*name).into(), json!([]));
                }
            }
        }
        for (k, v) in extras {
            m.entry(k).or_insert(v);
        }
        Value::Object(m)
    })
}

fn decode<T: serde::de::DeserializeOwned>(v: &Value) -> T {
    match serde_json::from_value(v.clone()) {
        Ok(t) => t,
        Err(e) => panic!("{e}: {v}"),
    }
}

fn many(
    make: fn(usize) -> Value,
    fields: &'static [Field],
    n: usize,
) -> impl Strategy<Value = Vec<Value>> {
    (0..n)
        .map(move |i| vary(make(i), fields))
        .collect::<Vec<_>>()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Inventory and jobs: one object per VM, one job per VM backup record whose VM is
    /// known, unknown status words failed, unknown plan words not protecting.
    #[test]
    fn varied_inventory_and_jobs_map_without_loss(
        vms in many(vm, VM_FIELDS, 3),
        splan in vary(snapshot_plan(), SNAPSHOT_PLAN_FIELDS),
        bplan in vary(backup_plan(), BACKUP_PLAN_FIELDS),
        stask in vary(snapshot_task(), SNAPSHOT_TASK_FIELDS),
        targets in many(target_execution, TARGET_EXECUTION_FIELDS, 3),
        pexec in vary(plan_execution(), PLAN_EXECUTION_FIELDS),
        tasks in many(task, TASK_FIELDS, 3),
    ) {
        let vms: Vec<wire::Vm> = vms.iter().map(decode).collect();
        let splan: wire::SnapshotPlan = decode(&splan);
        let bplan: wire::BackupPlan = decode(&bplan);
        let base = Base::new(vms.clone(), vec![splan.clone()], Some(vec![bplan.clone()]), Vec::new(), Vec::new());
        let objects = inventory(&base);
        prop_assert_eq!(objects.len(), vms.len());
        for (o, v) in objects.iter().zip(&vms) {
            prop_assert_eq!(&o.id, &v.id);
            prop_assert_eq!(&o.name, &v.name);
        }
        let enabled = |w: Option<&str>| mapping::PLAN_STATUS.iter().any(|(k, e)| *e && Some(*k) == w);
        if !enabled(splan.status.as_deref()) && !enabled(bplan.status.as_deref()) {
            prop_assert!(objects.iter().all(|o| !o.protected), "an unknown plan word does not protect");
        }

        let stask: wire::SnapshotPlanTask = decode(&stask);
        for j in snapshot_jobs(&base, std::slice::from_ref(&stask)) {
            prop_assert_eq!(&j.vendor_status, stask.status.as_deref().unwrap_or(""));
            check_result(&j.vendor_status, j.result)?;
        }

        let targets: Vec<wire::BackupTargetExecution> = targets.iter().map(decode).collect();
        let pexec: wire::BackupPlanExecution = decode(&pexec);
        let jobs = backup_jobs(&base, std::slice::from_ref(&pexec), &targets);
        let known_targets = targets
            .iter()
            .filter(|t| {
                t.vm.as_ref().is_some_and(|v| base.vm_index.contains_key(v.id()))
                    || t.vm_local_id.as_ref().is_some_and(|l| base.vm_by_local_id.contains_key(l))
            })
            .count();
        let per_target = jobs.iter().filter(|j| targets.iter().any(|t| t.id == j.id)).count();
        prop_assert_eq!(per_target, known_targets, "one job per VM backup record");
        for j in &jobs {
            check_result(&j.vendor_status, j.result)?;
            if let (Some(s), Some(e)) = (j.start, j.end) {
                prop_assert!(s <= e);
            }
        }

        let tasks: Vec<wire::Task> = tasks.iter().map(decode).collect();
        for j in task_jobs(&base, &tasks, true) {
            check_result(&j.vendor_status, j.result)?;
        }
    }

    /// Alerts: one warning per alert, unknown severities a warning, categories bounded.
    #[test]
    fn varied_alerts_map_one_warning_each(alerts in many(alert, ALERT_FIELDS, 4)) {
        let alerts: Vec<wire::Alert> = alerts.iter().map(decode).collect();
        let objects = HashMap::from([("rule-1".to_owned(), "NEW_OBJECT_KIND".to_owned())]);
        let warnings = collect::alert_warnings(alerts.clone(), &objects);
        prop_assert_eq!(warnings.len(), alerts.len());
        for (w, a) in warnings.iter().zip(&alerts) {
            prop_assert!(mapping::CATEGORIES.contains(&w.category.as_str()), "{}", w.category);
            prop_assert_eq!(&w.message, &a.message);
            let known = mapping::SEVERITY.iter().any(|(k, _)| *k == a.severity.trim().to_ascii_uppercase());
            if !known {
                prop_assert_eq!(w.severity, Severity::Warning);
            }
        }
    }

    /// Audit logs: one event per log (the spec requires `createdAt`), unknown verbs `other`.
    #[test]
    fn varied_audit_logs_map_one_event_each(logs in many(audit, AUDIT_FIELDS, 4)) {
        let logs: Vec<wire::UserAuditLog> = logs.iter().map(decode).collect();
        let events = collect::audit_events(logs.clone(), &Scope::default());
        prop_assert_eq!(events.len(), logs.len());
        for (e, l) in events.iter().zip(&logs) {
            prop_assert_eq!(&e.id, &l.id);
            let verb_known = mapping::AUDIT_VERB.iter().any(|(k, _)| {
                l.action.to_ascii_lowercase().split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == *k)
            });
            if !verb_known && l.status.as_deref() != Some("FAILED") {
                prop_assert_eq!(e.action, AuditAction::Other, "{}", l.action);
            }
        }
    }

    /// Storage records decode whatever their numbers look like.
    #[test]
    fn varied_storage_records_decode(
        big in any::<u64>(),
        as_string in any::<bool>(),
        name in text(),
    ) {
        let n = if as_string { Value::from(big.to_string()) } else { Value::from(big) };
        let c: wire::Cluster = decode(&json!({"id": "c", "name": name, "total_data_capacity": n, "used_data_space": null, "new_field": 1}));
        prop_assert_eq!(c.total_data_capacity, Some(big));
        prop_assert_eq!(c.used_data_space, None);
    }
}

/// A job's result follows the table; a word the table lacks is `failed` (contract §3).
fn check_result(word: &str, result: JobResult) -> Result<(), TestCaseError> {
    let w = word.trim().to_ascii_uppercase();
    match mapping::JOB_STATUS.iter().find(|(k, _)| *k == w) {
        Some((_, r)) => prop_assert_eq!(result, *r, "{}", word),
        None => prop_assert_eq!(result, JobResult::Failed, "{}", word),
    }
    Ok(())
}
