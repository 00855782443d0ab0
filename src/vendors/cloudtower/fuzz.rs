//! Fuzzing entry point (see `crate::fuzzing`): one JSON body, decoded as every response type
//! the adapter reads and mapped to the model as the adapter does. Must never panic.

use std::collections::HashMap;

use serde::de::DeserializeOwned;

use super::inventory::{Base, Scope, backup_plan_cadence, inventory};
use super::jobs::{backup_jobs, snapshot_jobs, task_jobs};
use super::{client, collect, wire};

fn decode<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    crate::api::decode_json("fuzz", data).ok()
}

fn list<T: DeserializeOwned>(data: &[u8]) -> Vec<T> {
    decode::<Vec<T>>(data).unwrap_or_default()
}

/// Decodes `data` as each CloudTower response and maps what decodes.
pub fn decode_and_map(data: &[u8]) {
    let _ = client::decode_error(data);
    let _ = decode::<wire::LoginResponse>(data);
    let _ = decode::<wire::Connection>(data);
    let _ = list::<wire::Cluster>(data);
    let _ = list::<wire::BackupStoreRepository>(data);

    let backup_plans = list::<wire::BackupPlan>(data);
    for p in &backup_plans {
        let _ = backup_plan_cadence(p);
    }
    let base = Base::new(
        list::<wire::Vm>(data),
        list::<wire::SnapshotPlan>(data),
        Some(backup_plans),
        list::<wire::VmSnapshot>(data),
        list::<wire::BackupRestorePoint>(data),
    );
    let _ = inventory(&base);
    let _ = snapshot_jobs(&base, &list::<wire::SnapshotPlanTask>(data));
    let _ = backup_jobs(
        &base,
        &list::<wire::BackupPlanExecution>(data),
        &list::<wire::BackupTargetExecution>(data),
    );
    let tasks = list::<wire::Task>(data);
    let _ = task_jobs(&base, &tasks, true);
    let _ = task_jobs(&base, &tasks, false);

    let _ = collect::alert_warnings(list::<wire::Alert>(data), &HashMap::new());
    let logs = list::<wire::UserAuditLog>(data);
    let _ = collect::audit_events(logs.clone(), &Scope { clusters: None });
    let _ = collect::audit_events(
        logs,
        &Scope {
            clusters: Some(vec!["c".to_owned()]),
        },
    );
}
