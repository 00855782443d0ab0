//! What one refresh reads besides the VMs and their jobs: the active alerts, the audit log
//! and the storage figures.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use serde_json::json;

use super::client::{BackupSupport, Query, Tower, part, skip_missing};
use super::inventory::Scope;
use super::mapping;
use super::wire::{self, format_time};
use crate::adapter::{Skips, VendorError};
use crate::api::ApiError;
use crate::model::{AuditEvent, CollectorKind, Storage, StoragePool, Warning};

/// Unresolved alerts, with the category from their rule's object.
pub(super) async fn warnings(
    tower: &Tower,
    scope: &Scope,
    skips: &Skips,
) -> Result<Vec<Warning>, VendorError> {
    let alerts: Vec<wire::Alert> = skips.or_empty(
        CollectorKind::Warnings,
        part::ALERTS,
        tower
            .list(
                "alerts",
                &Query::filter(json!({ "ended": false })).order("id_ASC"),
            )
            .await
            .map_err(Into::into),
    )?;
    let alerts: Vec<wire::Alert> = alerts
        .into_iter()
        .filter(|a| a.ended != Some(true) && scope.admits(a.cluster.as_ref()))
        .collect();
    let objects = rule_objects(tower, &alerts).await;
    Ok(alert_warnings(alerts, &objects))
}

/// Alerts as warnings, one each; `objects` maps alert rule ids to their object word.
pub(super) fn alert_warnings(
    alerts: Vec<wire::Alert>,
    objects: &HashMap<String, String>,
) -> Vec<Warning> {
    alerts
        .into_iter()
        .map(|a| {
            let rule = a.alert_rule.as_ref().and_then(|r| r.id.as_deref());
            let object = rule.and_then(|r| objects.get(r)).map(String::as_str);
            let category = mapping::alert_category(
                object,
                !a.vms.is_empty(),
                a.disk.is_some(),
                a.host.is_some(),
                a.cluster.is_some(),
            );
            Warning {
                object_id: a.vms.first().and_then(|v| v.id.clone()),
                tenant: a
                    .cluster
                    .as_ref()
                    .map(|c| c.name().to_owned())
                    .unwrap_or_default(),
                severity: mapping::severity(&a.severity),
                category: category.to_owned(),
                message: a.message,
            }
        })
        .collect()
}

/// Alert rule id → the object word of its global rule. A failure here only costs the
/// categories their precision, so it is logged, not raised.
async fn rule_objects(tower: &Tower, alerts: &[wire::Alert]) -> HashMap<String, String> {
    let ids: HashSet<&str> = alerts
        .iter()
        .filter_map(|a| a.alert_rule.as_ref()?.id.as_deref())
        .collect();
    if ids.is_empty() {
        return HashMap::new();
    }
    let ids: Vec<&str> = ids.into_iter().collect();
    let lookup = async {
        let rules: Vec<wire::AlertRule> = tower
            .list(
                "alert-rules",
                &Query::filter(json!({ "id_in": ids })).order("id_ASC"),
            )
            .await?;
        let global_ids: HashSet<&str> = rules
            .iter()
            .filter_map(|r| r.global_alert_rule.as_ref()?.id.as_deref())
            .collect();
        let global_ids: Vec<&str> = global_ids.into_iter().collect();
        let globals: Vec<wire::GlobalAlertRule> = tower
            .list(
                "global-alert-rules",
                &Query::filter(json!({ "id_in": global_ids })).order("id_ASC"),
            )
            .await?;
        let objects: HashMap<&str, &str> = globals
            .iter()
            .filter_map(|g| Some((g.id.as_str(), g.object.as_deref()?)))
            .collect();
        Ok::<_, ApiError>(
            rules
                .iter()
                .filter_map(|r| {
                    let g = r.global_alert_rule.as_ref()?.id.as_deref()?;
                    Some((r.id.clone(), (*objects.get(g)?).to_owned()))
                })
                .collect(),
        )
    };
    match lookup.await {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "alert rules could not be read; categories fall back to what alerts are attached to");
            HashMap::new()
        }
    }
}

/// User audit events in `[since, until)`.
pub(super) async fn audit(
    tower: &Tower,
    scope: &Scope,
    skips: &Skips,
    since: Timestamp,
    until: Timestamp,
) -> Result<Vec<AuditEvent>, VendorError> {
    let logs: Vec<wire::UserAuditLog> = skips.or_empty(
        CollectorKind::Audit,
        part::USER_AUDIT_LOGS,
        tower
            .list(
                "user-audit-logs",
                &Query::filter(json!({
                    "createdAt_gte": format_time(since),
                    "createdAt_lt": format_time(until),
                }))
                .order("createdAt_ASC"),
            )
            .await
            .map_err(Into::into),
    )?;
    Ok(audit_events(logs, scope))
}

/// User audit logs as events, one each (those outside the target's clusters aside).
pub(super) fn audit_events(logs: Vec<wire::UserAuditLog>, scope: &Scope) -> Vec<AuditEvent> {
    logs.into_iter()
        .filter(|l| scope.admits(l.cluster.as_ref()))
        .filter_map(|l| {
            let Some(time) = l.created_at.or(l.started_at).or(l.finished_at) else {
                tracing::warn!(id = %l.id, action = %l.action, "a CloudTower audit log without a readable time is left out");
                return None;
            };
            let object = match (&l.resource_type, &l.resource_id) {
                (Some(t), Some(id)) => format!("{t} {id}"),
                (Some(t), None) => t.clone(),
                (None, Some(id)) => id.clone(),
                (None, None) => String::new(),
            };
            Some(AuditEvent {
                action: mapping::audit_action(&l.action, l.status.as_deref()),
                id: l.id,
                time,
                tenant: l
                    .cluster
                    .as_ref()
                    .map(|c| c.name().to_owned())
                    .unwrap_or_default(),
                actor: l
                    .username
                    .or_else(|| l.user.and_then(|u| u.name))
                    .unwrap_or_default(),
                object,
                message: if l.message.is_empty() {
                    l.action
                } else {
                    l.message
                },
            })
        })
        .collect()
}

/// Cluster data capacity, and the backup stores where the tower has them.
pub(super) async fn storage(
    tower: &Tower,
    scope: &Scope,
    backup: &BackupSupport,
    skips: &Skips,
) -> Result<Storage, VendorError> {
    let cluster_query = Query::filter(match &scope.clusters {
        Some(names) => json!({ "name_in": names }),
        None => json!({}),
    })
    .order("id_ASC");
    let skip_backup = backup.known_missing();
    let stores = async {
        if skip_backup {
            return Ok(Vec::new());
        }
        tower
            .list::<wire::BackupStoreRepository>(
                "backup-store-repositories",
                &Query::all().order("id_ASC"),
            )
            .await
    };
    let (clusters, stores) = tokio::join!(
        tower.list::<wire::Cluster>("clusters", &cluster_query),
        stores
    );
    if skip_backup {
        skip_missing(
            skips,
            CollectorKind::Storage,
            &[part::BACKUP_STORE_REPOSITORIES],
        );
    }
    let stores = skips.or_empty(
        CollectorKind::Storage,
        part::BACKUP_STORE_REPOSITORIES,
        stores.map_err(Into::into),
    )?;
    let mut pools: Vec<StoragePool> = clusters?
        .into_iter()
        .map(|c| StoragePool {
            name: c.name,
            capacity_bytes: c.total_data_capacity,
            used_bytes: c.used_data_space,
        })
        .collect();
    pools.extend(stores.into_iter().map(|s| StoragePool {
        name: s.name,
        capacity_bytes: s.total_capacity,
        used_bytes: s.used_data_space,
    }));
    Ok(Storage {
        pools,
        tenants: Vec::new(),
        objects: Vec::new(),
    })
}
