//! CloudTower's JSON as the 4.6.0 OpenAPI spec describes it, reduced to the fields we read.
//!
//! Every field the spec marks nullable (and every relation) is an `Option` or defaults to
//! empty: towers of other releases omit fields, and a monitoring tool must not fail a whole
//! refresh over one of them. Note the camelCase exceptions the spec has (`createdAt`,
//! `snapshotPlan`, `snapshotGroup`).

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;

use crate::vendors::lenient::{opt_bool, opt_i64, opt_string, opt_u64, string, vec_or_null};

/// Items that can be paged with an `after` cursor.
pub(super) trait Identified {
    fn id(&self) -> &str;
}

macro_rules! identified {
    ($($t:ty),*) => {
        $(impl Identified for $t {
            fn id(&self) -> &str {
                &self.id
            }
        })*
    };
}

identified!(
    Vm,
    VmSnapshot,
    SnapshotPlan,
    SnapshotPlanTask,
    BackupPlan,
    BackupPlanExecution,
    BackupTargetExecution,
    BackupRestorePoint,
    Task,
    Alert,
    AlertRule,
    GlobalAlertRule,
    UserAuditLog,
    Cluster,
    BackupStoreRepository
);

/// CloudTower times are ISO 8601 with milliseconds and `Z`. Empty strings (an active
/// alert's end) and the epoch (CloudTower's "never") are `None`, which the shared decoder
/// already makes of them.
pub(super) use crate::vendors::lenient::opt_time;

/// The form CloudTower writes and expects in `where` filters.
pub(super) fn format_time(t: Timestamp) -> String {
    format!("{t:.3}")
}

/// A relation stub such as `NestedCluster {id, name}` or `NestedTask {id}`.
#[derive(Clone, Debug, Default, Deserialize)]
pub(super) struct Nested {
    #[serde(default, deserialize_with = "opt_string")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub name: Option<String>,
}

impl Nested {
    pub fn id(&self) -> &str {
        self.id.as_deref().unwrap_or("")
    }
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or("")
    }
}

#[derive(Debug, Deserialize)]
pub(super) struct LoginResponse {
    pub data: LoginData,
}

#[derive(Debug, Deserialize)]
pub(super) struct LoginData {
    pub token: String,
}

/// `ErrorBody`: what CloudTower answers with every 4xx and 5xx.
#[derive(Debug, Deserialize)]
pub(super) struct ErrorBody {
    #[serde(default, deserialize_with = "opt_string")]
    pub message: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub code: Option<String>,
}

/// `<X>Connection`: the answer of every `get-*-connection`.
#[derive(Debug, Deserialize)]
pub(super) struct Connection {
    pub aggregate: Aggregate,
}

#[derive(Debug, Deserialize)]
pub(super) struct Aggregate {
    #[serde(default, deserialize_with = "opt_u64")]
    pub count: Option<u64>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct Vm {
    pub id: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub local_id: Option<String>,
    #[serde(default, deserialize_with = "string")]
    pub name: String,
    #[serde(default)]
    pub cluster: Option<Nested>,
    #[serde(default, deserialize_with = "opt_time")]
    pub local_created_at: Option<Timestamp>,
    #[serde(default)]
    pub snapshot_plan: Option<Nested>,
    /// Absent on towers older than 4.6.
    #[serde(default, deserialize_with = "vec_or_null")]
    pub backup_plans: Vec<Nested>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub size: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub used_size: Option<u64>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct VmSnapshot {
    pub id: String,
    #[serde(default)]
    pub vm: Option<Nested>,
    #[serde(default, deserialize_with = "opt_time")]
    pub local_created_at: Option<Timestamp>,
    #[serde(default)]
    pub snapshot_group: Option<Nested>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct SnapshotPlan {
    pub id: String,
    #[serde(default, deserialize_with = "string")]
    pub name: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub execute_plan_type: Option<String>,
    #[serde(default, deserialize_with = "vec_or_null")]
    pub execute_intervals: Vec<Value>,
    #[serde(default, deserialize_with = "vec_or_null")]
    pub vms: Vec<Nested>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct SnapshotPlanTask {
    pub id: String,
    #[serde(default, rename = "snapshotPlan")]
    pub snapshot_plan: Option<Nested>,
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "opt_string")]
    pub task_type: Option<String>,
    #[serde(default, deserialize_with = "opt_time")]
    pub start_time: Option<Timestamp>,
    #[serde(default, deserialize_with = "opt_time")]
    pub end_time: Option<Timestamp>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct TimePoint {
    #[serde(default, deserialize_with = "opt_i64")]
    pub hour: Option<i64>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub minute: Option<i64>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct BackupPlan {
    pub id: String,
    #[serde(default, deserialize_with = "string")]
    pub name: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub full_period: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub full_interval: Option<i64>,
    #[serde(default, deserialize_with = "opt_string")]
    pub incremental_period: Option<String>,
    #[serde(default, deserialize_with = "opt_i64")]
    pub incremental_interval: Option<i64>,
    #[serde(default, deserialize_with = "vec_or_null")]
    pub incremental_time_points: Vec<TimePoint>,
    #[serde(default, deserialize_with = "vec_or_null")]
    pub vms: Vec<Nested>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct BackupPlanExecution {
    pub id: String,
    #[serde(default)]
    pub backup_plan: Option<Nested>,
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "opt_time")]
    pub executed_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub duration: Option<u64>,
    #[serde(default, deserialize_with = "opt_time")]
    pub local_created_at: Option<Timestamp>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct BackupTargetExecution {
    pub id: String,
    #[serde(default)]
    pub backup_plan_execution: Option<Nested>,
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "opt_time")]
    pub executed_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub duration: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub read_bytes: Option<u64>,
    #[serde(default)]
    pub vm: Option<Nested>,
    #[serde(default, deserialize_with = "opt_string")]
    pub vm_local_id: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct BackupRestorePoint {
    pub id: String,
    #[serde(default)]
    pub vm: Option<Nested>,
    #[serde(default, deserialize_with = "opt_time")]
    pub local_created_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub physical_size: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub valid_size: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub size: Option<u64>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct Task {
    pub id: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "opt_string")]
    pub task_type: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub resource_type: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub args: Value,
    #[serde(default, deserialize_with = "opt_string")]
    pub error_code: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub error_message: Option<String>,
    #[serde(default, deserialize_with = "opt_time")]
    pub local_created_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "opt_time")]
    pub started_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "opt_time")]
    pub finished_at: Option<Timestamp>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct Alert {
    pub id: String,
    #[serde(default, deserialize_with = "string")]
    pub severity: String,
    #[serde(default, deserialize_with = "opt_bool")]
    pub ended: Option<bool>,
    #[serde(default, deserialize_with = "string")]
    pub message: String,
    #[serde(default)]
    pub cluster: Option<Nested>,
    #[serde(default)]
    pub host: Option<Nested>,
    #[serde(default)]
    pub disk: Option<Nested>,
    #[serde(default, deserialize_with = "vec_or_null")]
    pub vms: Vec<Nested>,
    #[serde(default)]
    pub alert_rule: Option<Nested>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct AlertRule {
    pub id: String,
    #[serde(default)]
    pub global_alert_rule: Option<Nested>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct GlobalAlertRule {
    pub id: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub object: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct UserAuditLog {
    pub id: String,
    #[serde(default, deserialize_with = "string")]
    pub action: String,
    #[serde(default, deserialize_with = "string")]
    pub message: String,
    #[serde(default, deserialize_with = "opt_string")]
    pub status: Option<String>,
    #[serde(default)]
    pub user: Option<Nested>,
    #[serde(default, deserialize_with = "opt_string")]
    pub username: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub resource_type: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub resource_id: Option<String>,
    #[serde(default)]
    pub cluster: Option<Nested>,
    #[serde(default, rename = "createdAt", deserialize_with = "opt_time")]
    pub created_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "opt_time")]
    pub started_at: Option<Timestamp>,
    #[serde(default, deserialize_with = "opt_time")]
    pub finished_at: Option<Timestamp>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct Cluster {
    pub id: String,
    #[serde(default, deserialize_with = "string")]
    pub name: String,
    #[serde(default, deserialize_with = "opt_u64")]
    pub total_data_capacity: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub used_data_space: Option<u64>,
}

#[derive(Clone, Debug, Deserialize)]
pub(super) struct BackupStoreRepository {
    pub id: String,
    #[serde(default, deserialize_with = "string")]
    pub name: String,
    #[serde(default, deserialize_with = "opt_u64")]
    pub total_capacity: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    pub used_data_space: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_with_milliseconds_and_never_is_none() {
        let t = crate::vendors::lenient::iso_time("2025-12-25T06:26:25.000Z").unwrap();
        assert_eq!(t.as_second(), 1_766_643_985);
        assert_eq!(format_time(t), "2025-12-25T06:26:25.000Z");
        assert_eq!(crate::vendors::lenient::iso_time(""), None);
        assert_eq!(
            crate::vendors::lenient::iso_time("1970-01-01T00:00:00.000Z"),
            None
        );
        assert_eq!(crate::vendors::lenient::iso_time("yesterday"), None);
    }

    #[test]
    fn explicit_nulls_and_camel_case_fields_decode() {
        let log: UserAuditLog = serde_json::from_str(
            r#"{"id":"a","action":"Login","message":"m","status":null,"user":null,
                "username":null,"cluster":null,"createdAt":"2025-10-03T08:00:01.000Z"}"#,
        )
        .unwrap();
        assert!(log.status.is_none() && log.user.is_none());
        assert_eq!(log.created_at.unwrap().as_second(), 1_759_478_401);
        let task: SnapshotPlanTask = serde_json::from_str(
            r#"{"id":"t","snapshotPlan":{"id":"p","name":"daily"},"snapshotGroup":null,
                "status":"SUCCEED","type":"TASK_TYPE_PROTECT","start_time":"2025-10-03T08:00:01.000Z","end_time":null}"#,
        )
        .unwrap();
        assert_eq!(task.snapshot_plan.unwrap().name(), "daily");
        assert!(task.end_time.is_none());
        let vm: Vm = serde_json::from_str(r#"{"id":"v","name":"web","size":"1024"}"#).unwrap();
        assert!(vm.backup_plans.is_empty());
        assert_eq!(vm.size, Some(1024));
    }
}
