//! Clumio's words and shapes turned into the vendor-neutral model. Every vendor word goes
//! through a table here, with a test.

use std::time::Duration;

use super::client::{self, Resource};
use super::wire;
use crate::model::{AuditAction, AuditEvent, Job, JobKind, JobResult, Severity, Vendor, Warning};

/// The datasource kinds the exporter reads. Each has a list, a backups list keyed by a
/// filter field, a prefix of the policy operations that protect it, and the entity types
/// its tasks name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AssetKind {
    EbsVolume,
    Ec2Instance,
    ProtectionGroup,
    RdsResource,
}

impl AssetKind {
    pub const ALL: [AssetKind; 4] = [
        AssetKind::EbsVolume,
        AssetKind::Ec2Instance,
        AssetKind::ProtectionGroup,
        AssetKind::RdsResource,
    ];

    /// The `object_type` label value.
    /// The part names of its two listings when they are refused
    /// (`backup_collector_part_refused`): the assets, and their backups.
    pub fn parts(self) -> (&'static str, &'static str) {
        match self {
            AssetKind::EbsVolume => ("ebs_volumes", "ebs_volume_backups"),
            AssetKind::Ec2Instance => ("ec2_instances", "ec2_instance_backups"),
            AssetKind::ProtectionGroup => ("protection_groups", "protection_group_backups"),
            AssetKind::RdsResource => ("rds_resources", "rds_resource_backups"),
        }
    }

    pub fn object_type(self) -> &'static str {
        match self {
            AssetKind::EbsVolume => "ebs_volume",
            AssetKind::Ec2Instance => "ec2_instance",
            AssetKind::ProtectionGroup => "protection_group",
            AssetKind::RdsResource => "rds_resource",
        }
    }

    pub fn datasources(self) -> &'static Resource {
        match self {
            AssetKind::EbsVolume => &client::EBS_VOLUMES,
            AssetKind::Ec2Instance => &client::EC2_INSTANCES,
            AssetKind::ProtectionGroup => &client::PROTECTION_GROUPS,
            AssetKind::RdsResource => &client::RDS_RESOURCES,
        }
    }

    pub fn backups(self) -> &'static Resource {
        match self {
            AssetKind::EbsVolume => &client::EBS_BACKUPS,
            AssetKind::Ec2Instance => &client::EC2_BACKUPS,
            AssetKind::ProtectionGroup => &client::PG_BACKUPS,
            AssetKind::RdsResource => &client::RDS_BACKUPS,
        }
    }

    /// The backups list's filter field naming the asset.
    pub fn backup_filter_field(self) -> &'static str {
        match self {
            AssetKind::EbsVolume => "volume_id",
            AssetKind::Ec2Instance => "instance_id",
            AssetKind::ProtectionGroup => "protection_group_id",
            AssetKind::RdsResource => "resource_id",
        }
    }

    fn operation_prefix(self) -> &'static str {
        match self {
            AssetKind::EbsVolume => "aws_ebs_volume_",
            AssetKind::Ec2Instance => "aws_ec2_instance_",
            AssetKind::ProtectionGroup => "protection_group_",
            AssetKind::RdsResource => "aws_rds_resource_",
        }
    }

    fn native_id(self, d: &wire::Datasource) -> Option<&str> {
        match self {
            AssetKind::EbsVolume => d.volume_native_id.as_deref(),
            AssetKind::Ec2Instance => d.instance_native_id.as_deref(),
            AssetKind::RdsResource => d.resource_native_id.as_deref(),
            AssetKind::ProtectionGroup => None,
        }
    }
}

/// Task `primary_entity.type`s that name an asset we inventory.
pub fn is_asset_entity(entity_type: &str) -> bool {
    matches!(
        entity_type,
        "aws_ebs_volume"
            | "aws_ec2_instance"
            | "protection_group"
            | "aws_rds_resource"
            | "aws_rds_instance"
            | "aws_rds_cluster"
    )
}

/// Contract §3: the asset's name is its Name tag, else its native id. The `name` field is
/// the Name tag as Clumio reports it; the tags are read when it is absent.
pub fn asset_name(kind: AssetKind, d: &wire::Datasource) -> String {
    let non_empty = |s: Option<&str>| {
        s.map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    non_empty(d.name.as_deref())
        .or_else(|| {
            d.tags
                .iter()
                .find(|t| t.key.as_deref() == Some("Name"))
                .and_then(|t| non_empty(t.value.as_deref()))
        })
        .or_else(|| non_empty(kind.native_id(d)))
        .or_else(|| non_empty(d.id.as_deref()))
        .unwrap_or_default()
}

/// An SLA's `rpo_frequency`. `on_demand` (and anything unknown) has no interval.
pub fn rpo_of(unit: &str, value: Option<i64>) -> Option<Duration> {
    let seconds: u64 = match unit {
        "minutes" => 60,
        "hours" => 3_600,
        "days" => 86_400,
        "weeks" | "weekly" => 7 * 86_400,
        "months" => 30 * 86_400,
        "years" => 365 * 86_400,
        "on_demand" => return None,
        other => {
            crate::model::note_unknown_word(Vendor::Clumio, "rpo_frequency.unit", other);
            return None;
        }
    };
    let value = u64::try_from(value.unwrap_or(1)).ok().filter(|v| *v > 0)?;
    Some(Duration::from_secs(seconds.saturating_mul(value)))
}

/// The tightest RPO among the policy's operations that protect `kind`.
pub fn policy_rpo(policy: &wire::Policy, kind: AssetKind) -> Option<Duration> {
    policy
        .operations
        .iter()
        .filter(|op| {
            op.op_type
                .as_deref()
                .is_some_and(|t| t.starts_with(kind.operation_prefix()))
        })
        .flat_map(|op| op.slas.iter())
        .filter_map(|sla| {
            let f = sla.rpo_frequency.as_ref()?;
            rpo_of(f.unit.as_deref()?, f.value)
        })
        .min()
}

/// What a task is, from its category, refined by its type: indexing and inventory tasks
/// are filed under `backup` but create no restore point.
pub fn job_kind(category: &str, task_type: &str) -> JobKind {
    if task_type.ends_with("_indexing") || task_type.contains("inventory_sync") {
        return JobKind::Other;
    }
    match category {
        "backup" | "snapshot" => JobKind::Backup,
        "restore" | "snapshot_restore" => JobKind::Restore,
        "system" | "report_generation" | "management" => JobKind::Other,
        other => {
            crate::model::note_unknown_word(Vendor::Clumio, "task category", other);
            if task_type.contains("restore") {
                JobKind::Restore
            } else {
                JobKind::Other
            }
        }
    }
}

/// Task status words (the documented six, and spellings other Clumio APIs use).
pub fn job_result(status: &str) -> JobResult {
    match status {
        "completed" | "success" | "succeeded" => JobResult::Success,
        "partial_success" | "partially_completed" | "completed_with_warnings" => JobResult::Warning,
        "failed" | "failure" | "timed_out" => JobResult::Failed,
        "aborted" | "canceled" | "cancelled" => JobResult::Cancelled,
        "queued" | "in_progress" | "aborting" | "running" | "pending" => JobResult::Running,
        other => {
            crate::model::note_unknown_word(Vendor::Clumio, "task status", other);
            JobResult::Failed
        }
    }
}

/// A task against an asset, as a job; `None` for tasks about anything else (policies,
/// reports, accounts).
pub fn job_from_task(t: &wire::Task) -> Option<Job> {
    let entity = t.primary_entity.as_ref()?;
    let object_id = entity.id.clone().filter(|s| !s.is_empty())?;
    if !is_asset_entity(entity.entity_type.as_deref().unwrap_or("")) {
        return None;
    }
    let status = t.status.clone().unwrap_or_default();
    let result = job_result(&status);
    let kind = job_kind(
        t.category.as_deref().unwrap_or(""),
        t.task_type.as_deref().unwrap_or(""),
    );
    let end = if result.is_finished() {
        t.end_timestamp
    } else {
        None
    };
    Some(Job {
        id: t.id.clone()?,
        object_id,
        kind,
        result,
        vendor_status: status,
        // A queued task has not started: its creation is when it was scheduled.
        start: t.start_timestamp.or(t.created_timestamp),
        end,
        duration: None,
        transferred_bytes: None,
        error_code: None,
        error_message: None,
    })
}

pub fn severity(word: &str) -> Severity {
    match word {
        "error" | "critical" => Severity::Critical,
        "warning" => Severity::Warning,
        "info" | "informational" => Severity::Info,
        other => {
            crate::model::note_unknown_word(Vendor::Clumio, "alert severity", other);
            Severity::Warning
        }
    }
}

/// Alert types onto a small fixed vocabulary (the `category` label).
pub fn alert_category(alert_type: &str) -> &'static str {
    match alert_type {
        "policy_violated" => "policy_violated",
        "restore_failed" | "file_restore_failed" => "restore_failed",
        "tag_conflict" => "tag_conflict",
        "aws_account_disconnected" => "account_disconnected",
        "enc_key_inaccessible" => "encryption_key",
        other => {
            crate::model::note_unknown_word(Vendor::Clumio, "alert type", other);
            "other"
        }
    }
}

/// An active alert as a warning. `tenant_of` names the tenant of an asset id.
pub fn warning_from_alert(
    a: &wire::Alert,
    tenant_of: impl Fn(&str) -> Option<String>,
    scope_tenant: &str,
) -> Warning {
    let object_id = a
        .primary_entity
        .as_ref()
        .filter(|e| is_asset_entity(e.entity_type.as_deref().unwrap_or("")))
        .and_then(|e| e.id.clone());
    let tenant = object_id
        .as_deref()
        .and_then(&tenant_of)
        .unwrap_or_else(|| scope_tenant.to_owned());
    let details = a.details();
    let alert_type = a.alert_type.as_deref().unwrap_or("");
    let mut message = details
        .as_ref()
        .and_then(|d| d.description.clone().or_else(|| d.cause.clone()))
        .or_else(|| a.cause.clone())
        .unwrap_or_else(|| alert_type.to_owned());
    if let Some(value) = a.primary_entity.as_ref().and_then(|e| e.value.as_deref()) {
        message = format!("{value}: {message}");
    }
    Warning {
        object_id,
        tenant,
        severity: severity(a.severity.as_deref().unwrap_or("")),
        category: alert_category(alert_type).to_owned(),
        message,
    }
}

/// Audit actions. A failed login is `login_failed`; any other failed action is `error`.
pub fn audit_action(action: &str, status: &str) -> AuditAction {
    let failed = status == "failure";
    match action {
        "login" if failed => AuditAction::LoginFailed,
        "login" => AuditAction::Login,
        _ if failed => AuditAction::Error,
        "create" | "register" | "invite" => AuditAction::Create,
        "update"
        | "enable"
        | "disable"
        | "apply"
        | "unapply"
        | "suspend"
        | "batch_activate"
        | "batch_deactivate"
        | "grant_email_access"
        | "regenerate_tda_passcode" => AuditAction::Modify,
        "delete" | "unregister" | "remove" => AuditAction::Delete,
        // Read-only or operational words change no configuration and none names one of the
        // actions above: `other`, never guessed (contract §3). Clumio has no word that means
        // `info`.
        "browse"
        | "search"
        | "download"
        | "validate_tda_passcode"
        | "redirected"
        | "logout"
        | "full_restore"
        | "granular_retrieval"
        | "granular_restore"
        | "refresh"
        | "deploy" => AuditAction::Other,
        other => {
            crate::model::note_unknown_word(Vendor::Clumio, "audit action", other);
            AuditAction::Other
        }
    }
}

pub fn audit_event(t: &wire::AuditTrail, tenant: &str) -> Option<AuditEvent> {
    let action = t.action.clone().unwrap_or_default();
    let status = t.status.clone().unwrap_or_default();
    let category = t.category.clone().unwrap_or_default();
    let object = t
        .primary_entity
        .as_ref()
        .map(|e| match (e.entity_type.as_deref(), e.value.as_deref()) {
            (Some(ty), Some(v)) => format!("{ty} {v}"),
            (None, Some(v)) => v.to_owned(),
            (Some(ty), None) => ty.to_owned(),
            (None, None) => String::new(),
        })
        .unwrap_or_default();
    let mut message = format!("{category} {action}: {status}");
    if let Some(i) = &t.interface {
        message.push_str(&format!(" via {i}"));
    }
    if let Some(ip) = &t.ip_address {
        message.push_str(&format!(" from {ip}"));
    }
    Some(AuditEvent {
        id: t.id.clone()?,
        time: t.timestamp?,
        tenant: tenant.to_owned(),
        actor: t.user_email.clone().unwrap_or_default(),
        action: audit_action(&action, &status),
        object,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ds(v: serde_json::Value) -> wire::Datasource {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn task_status_table() {
        for (word, result) in [
            ("queued", JobResult::Running),
            ("in_progress", JobResult::Running),
            ("aborting", JobResult::Running),
            ("completed", JobResult::Success),
            ("failed", JobResult::Failed),
            ("aborted", JobResult::Cancelled),
            ("partial_success", JobResult::Warning),
            ("canceled", JobResult::Cancelled),
            ("exploded", JobResult::Failed),
        ] {
            assert_eq!(job_result(word), result, "{word}");
        }
    }

    #[test]
    fn task_kind_table() {
        for (category, ty, kind) in [
            (
                "backup",
                "aws_ebs_volume_incremental_backup",
                JobKind::Backup,
            ),
            ("backup", "aws_ebs_volume_backup_seeding", JobKind::Backup),
            ("backup", "aws_ebs_volume_backup_indexing", JobKind::Other),
            ("backup", "microsoft365_inventory_sync", JobKind::Other),
            ("snapshot", "aws_ec2_instance_snapshot", JobKind::Backup),
            ("restore", "aws_ebs_volume_restore", JobKind::Restore),
            (
                "snapshot_restore",
                "aws_ebs_volume_snapshot_restore",
                JobKind::Restore,
            ),
            ("management", "policy_update", JobKind::Other),
            ("system", "aws_rds_backup_target_setup", JobKind::Other),
            (
                "report_generation",
                "activity_report_file_download",
                JobKind::Other,
            ),
            ("mystery", "aws_ebs_volume_file_restore", JobKind::Restore),
            ("mystery", "something", JobKind::Other),
        ] {
            assert_eq!(job_kind(category, ty), kind, "{category}/{ty}");
        }
    }

    #[test]
    fn rpo_units() {
        let h = |n: u64| Some(Duration::from_secs(n * 3600));
        assert_eq!(rpo_of("minutes", Some(15)), Some(Duration::from_secs(900)));
        assert_eq!(rpo_of("hours", Some(12)), h(12));
        assert_eq!(rpo_of("days", Some(2)), h(48));
        assert_eq!(rpo_of("weeks", Some(1)), h(168));
        assert_eq!(rpo_of("weekly", Some(1)), h(168));
        assert_eq!(rpo_of("months", Some(1)), h(720));
        assert_eq!(rpo_of("years", None), h(8760));
        assert_eq!(rpo_of("on_demand", None), None);
        assert_eq!(rpo_of("days", Some(0)), None);
        assert_eq!(rpo_of("fortnights", Some(1)), None);
    }

    #[test]
    fn policy_rpo_is_the_tightest_sla_of_the_operations_for_that_kind() {
        let p: wire::Policy = serde_json::from_value(json!({
            "id": "p1", "name": "gold", "activation_status": "activated",
            "operations": [
                {"type": "aws_ebs_volume_backup", "slas": [
                    {"rpo_frequency": {"unit": "days", "value": 1}},
                    {"rpo_frequency": {"unit": "hours", "value": 6}}]},
                {"type": "ec2_mssql_log_backup", "slas": [{"rpo_frequency": {"unit": "minutes", "value": 15}}]},
                {"type": "protection_group_backup", "slas": [{"rpo_frequency": {"unit": "on_demand"}}]}
            ]
        }))
        .unwrap();
        assert_eq!(
            policy_rpo(&p, AssetKind::EbsVolume),
            Some(Duration::from_secs(6 * 3600))
        );
        assert_eq!(policy_rpo(&p, AssetKind::ProtectionGroup), None);
        assert_eq!(policy_rpo(&p, AssetKind::Ec2Instance), None);
    }

    #[test]
    fn name_is_the_name_tag_else_the_native_id() {
        assert_eq!(
            asset_name(
                AssetKind::EbsVolume,
                &ds(json!({"id": "a", "name": "web-data", "volume_native_id": "vol-1"}))
            ),
            "web-data"
        );
        assert_eq!(
            asset_name(
                AssetKind::Ec2Instance,
                &ds(
                    json!({"id": "a", "tags": [{"key": "env", "value": "x"}, {"key": "Name", "value": "web-2"}], "instance_native_id": "i-1"})
                )
            ),
            "web-2"
        );
        assert_eq!(
            asset_name(
                AssetKind::EbsVolume,
                &ds(json!({"id": "a", "name": "", "tags": null, "volume_native_id": "vol-0abc"}))
            ),
            "vol-0abc"
        );
        assert_eq!(
            asset_name(AssetKind::ProtectionGroup, &ds(json!({"id": "pg-1"}))),
            "pg-1"
        );
    }

    #[test]
    fn alert_severity_and_category_tables() {
        assert_eq!(severity("error"), Severity::Critical);
        assert_eq!(severity("warning"), Severity::Warning);
        assert_eq!(severity("info"), Severity::Info);
        assert_eq!(severity("purple"), Severity::Warning);
        for (ty, cat) in [
            ("policy_violated", "policy_violated"),
            ("restore_failed", "restore_failed"),
            ("file_restore_failed", "restore_failed"),
            ("tag_conflict", "tag_conflict"),
            ("aws_account_disconnected", "account_disconnected"),
            ("enc_key_inaccessible", "encryption_key"),
            ("anomaly_detected", "other"),
        ] {
            assert_eq!(alert_category(ty), cat, "{ty}");
        }
    }

    #[test]
    fn alerts_on_assets_carry_the_asset_and_its_tenant() {
        let a: wire::Alert = serde_json::from_value(json!({
            "id": "1", "type": "policy_violated", "severity": "error", "status": "active",
            "primary_entity": {"id": "ast-1", "type": "aws_ebs_volume", "value": "vol-1"},
            "details": {"cause": "Backup failed", "description": "The scheduled backup failed"}
        }))
        .unwrap();
        let w = warning_from_alert(
            &a,
            |id| (id == "ast-1").then(|| "Finance".to_owned()),
            "Global",
        );
        assert_eq!(w.object_id.as_deref(), Some("ast-1"));
        assert_eq!(w.tenant, "Finance");
        assert_eq!(w.message, "vol-1: The scheduled backup failed");
        let a: wire::Alert = serde_json::from_value(json!({
            "id": "2", "type": "aws_account_disconnected", "severity": "warning",
            "primary_entity": {"id": "env-1", "type": "aws_environment", "value": "1234/us-west-2"}
        }))
        .unwrap();
        let w = warning_from_alert(&a, |_| None, "Global");
        assert_eq!((w.object_id, w.tenant.as_str()), (None, "Global"));
    }

    #[test]
    fn audit_action_table() {
        for (action, status, mapped) in [
            ("login", "success", AuditAction::Login),
            ("login", "failure", AuditAction::LoginFailed),
            ("create", "success", AuditAction::Create),
            ("register", "success", AuditAction::Create),
            ("invite", "partial_success", AuditAction::Create),
            ("update", "success", AuditAction::Modify),
            ("apply", "success", AuditAction::Modify),
            ("batch_deactivate", "success", AuditAction::Modify),
            ("delete", "success", AuditAction::Delete),
            ("unregister", "success", AuditAction::Delete),
            ("remove", "success", AuditAction::Delete),
            ("delete", "failure", AuditAction::Error),
            ("browse", "success", AuditAction::Other),
            ("search", "success", AuditAction::Other),
            ("download", "success", AuditAction::Other),
            ("validate_tda_passcode", "success", AuditAction::Other),
            ("redirected", "success", AuditAction::Other),
            ("refresh", "success", AuditAction::Other),
            ("deploy", "success", AuditAction::Other),
            ("granular_retrieval", "success", AuditAction::Other),
            ("enable", "success", AuditAction::Modify),
            ("disable", "success", AuditAction::Modify),
            ("unapply", "success", AuditAction::Modify),
            ("suspend", "success", AuditAction::Modify),
            ("grant_email_access", "success", AuditAction::Modify),
            ("regenerate_tda_passcode", "success", AuditAction::Modify),
            ("batch_activate", "success", AuditAction::Modify),
            ("logout", "success", AuditAction::Other),
            ("full_restore", "success", AuditAction::Other),
            ("teleport", "success", AuditAction::Other),
        ] {
            assert_eq!(audit_action(action, status), mapped, "{action}/{status}");
        }
    }

    #[test]
    fn tasks_about_non_assets_are_not_jobs_and_queued_tasks_start_at_creation() {
        let t: wire::Task = serde_json::from_value(json!({
            "id": "7", "type": "policy_update", "category": "management", "status": "completed",
            "primary_entity": {"id": "pol-1", "type": "policy", "value": "gold"}
        }))
        .unwrap();
        assert!(job_from_task(&t).is_none());
        let t: wire::Task = serde_json::from_value(json!({
            "id": 8, "type": "aws_ebs_volume_incremental_backup", "category": "backup",
            "status": "queued", "created_timestamp": "2024-05-02T06:00:04Z",
            "start_timestamp": null, "end_timestamp": null,
            "primary_entity": {"id": "ast-1", "type": "aws_ebs_volume", "value": "vol-1"}
        }))
        .unwrap();
        let j = job_from_task(&t).unwrap();
        assert_eq!(
            (j.id.as_str(), j.result, j.kind),
            ("8", JobResult::Running, JobKind::Backup)
        );
        assert_eq!(j.start.unwrap().as_second(), 1_714_629_604);
        assert!(j.end.is_none());
    }
}
