//! A consumer, its backup node and its filespaces → an object and its storage figures.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;

use super::mapping::slug;
use super::wire;
use crate::model::{self, Object};

/// Everything the exporter learns about one consumer.
pub(super) struct ConsumerFacts<'a> {
    pub id: u64,
    pub consumer: &'a wire::Consumer,
    pub tenant: &'a str,
    /// `None` when the consumer has no backup node (not activated yet).
    pub node: Option<&'a wire::Node>,
    pub filespaces: &'a [wire::Filespace],
    /// `completed` of the consumer's first job.
    pub first_job: Option<Timestamp>,
}

/// A first job this long after the consumer was created means the older history is gone
/// (or the node sat idle that long; both read as "history starts here").
const HISTORY_GAP: Duration = Duration::from_secs(7 * 86_400);

pub(super) fn object(f: &ConsumerFacts<'_>) -> Object {
    let node = f.node;
    let name = f
        .consumer
        .name
        .clone()
        .unwrap_or_else(|| format!("consumer {}", f.id));
    let object_type = node
        .and_then(|n| n.node_type.as_ref())
        .and_then(wire::Lookup::name)
        .map(slug)
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "node".to_owned());
    let schedule = node.and_then(|n| {
        n.schedules
            .iter()
            .filter_map(wire::Lookup::name)
            .chain(
                n.node_schedules
                    .iter()
                    .filter_map(|s| s.schedule.as_ref().and_then(wire::Lookup::name)),
            )
            .next()
    });
    let domain = node
        .and_then(|n| n.domain.as_ref())
        .and_then(wire::Lookup::name);
    let protected = node.is_some_and(|n| {
        n.locked != Some(true)
            && n.decommissioned != Some(true)
            && activated(n)
            && active(
                f.consumer
                    .data_source_state
                    .as_ref()
                    .or(n.data_source_state.as_ref()),
            )
            && (domain.is_some() || schedule.is_some())
    });
    let history_start = match (f.consumer.created_date, f.first_job) {
        (Some(created), Some(first))
            if first.as_second() - created.as_second() > HISTORY_GAP.as_secs() as i64 =>
        {
            Some(first)
        }
        _ => None,
    };
    let protected_bytes = sum_mib(f.filespaces.iter().map(|fs| {
        match (fs.front_end_capacity_mega_bytes, fs.capacity_mega_bytes) {
            (Some(fe), _) => Some(fe),
            (None, Some(cap)) => fs.percentage_utilized.map(|p| cap * p / 100.0),
            (None, None) => None,
        }
    }));
    Object {
        id: f.id.to_string(),
        name,
        object_type,
        tenant: f.tenant.to_owned(),
        policy: domain.or(schedule).unwrap_or_default().to_owned(),
        protected,
        created: f.consumer.created_date,
        history_start,
        policy_rpo: None,
        protected_bytes,
        stored_bytes: stored_bytes(f.filespaces),
        restore_points: None,
        latest_restore_point: f.consumer.latest_restore_point,
        last_success_hint: f
            .filespaces
            .iter()
            .filter_map(|fs| fs.last_backup_end)
            .max(),
    }
}

/// Whether a data source state says the consumer is in use. Only `Active` (id 3) is
/// documented; any other name (`Inactive`, `Pending activation`, ...) is not active. A state
/// the portal left out says nothing (partial objects are normal), and a bare id is read by
/// the one documented id.
pub(super) fn active(state: Option<&wire::Lookup>) -> bool {
    let Some(state) = state else { return true };
    match (state.name(), state.id) {
        (Some(name), _) => name.trim().eq_ignore_ascii_case("active"),
        (None, Some(id)) => id == ACTIVE_STATE_ID,
        (None, None) => true,
    }
}

/// The id of the `Active` data source state in the vendor's examples.
const ACTIVE_STATE_ID: i64 = 3;

/// A node is activated once it has a Storage Protect name (`GET .../node/activate?tsmName=`
/// gives it one) or an activation date; without either nothing can back up to it.
fn activated(n: &wire::Node) -> bool {
    n.activated_date.is_some() || n.tsm_name.as_deref().is_some_and(|t| !t.trim().is_empty())
}

/// Each value converted on its own, so the sum does not depend on float addition order.
fn sum_mib(values: impl Iterator<Item = Option<f64>>) -> Option<u64> {
    values
        .flatten()
        .map(model::mib_to_bytes)
        .fold(None, |acc, b| Some(acc.unwrap_or(0u64).saturating_add(b)))
}

/// What a node occupies on the server: the occupancies' reporting size (the figure IBM
/// Storage Protect reports and bills), else physical, else logical.
pub(super) fn stored_bytes(filespaces: &[wire::Filespace]) -> Option<u64> {
    sum_mib(filespaces.iter().flat_map(|fs| {
        fs.occupancies.iter().map(|o| {
            o.reporting_mega_bytes
                .or(o.physical_mega_bytes)
                .or(o.logical_mega_bytes)
        })
    }))
}

/// The storage pools the occupancies point at, one per name.
pub(super) fn pools<'a>(
    filespaces: impl Iterator<Item = &'a wire::Filespace>,
    into: &mut HashMap<String, model::StoragePool>,
) {
    for o in filespaces.flat_map(|fs| fs.occupancies.iter()) {
        let Some(pool) = &o.storage_pool else {
            continue;
        };
        let Some(name) = pool.name.as_ref().filter(|n| !n.is_empty()) else {
            continue;
        };
        if into.contains_key(name) {
            continue;
        }
        let capacity = pool.total_storage_mega_bytes.map(model::mib_to_bytes);
        let used = match (capacity, pool.free_storage_mega_bytes) {
            (Some(cap), Some(free)) => Some(cap.saturating_sub(model::mib_to_bytes(free))),
            _ => None,
        };
        into.insert(
            name.clone(),
            model::StoragePool {
                name: name.clone(),
                capacity_bytes: capacity,
                used_bytes: used,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts_object(node: serde_json::Value, filespaces: serde_json::Value) -> Object {
        let consumer: wire::Consumer = serde_json::from_value(serde_json::json!({
            "id": 5, "name": "db-01", "createdDate": "2024-01-01T00:00:00Z"
        }))
        .unwrap();
        let node: Option<wire::Node> = serde_json::from_value(node).unwrap();
        let fs: Vec<wire::Filespace> = serde_json::from_value(filespaces).unwrap();
        object(&ConsumerFacts {
            id: 5,
            consumer: &consumer,
            tenant: "HR",
            node: node.as_ref(),
            filespaces: &fs,
            first_job: Some("2024-03-01T00:00:00Z".parse().unwrap()),
        })
    }

    #[test]
    fn node_decides_protection_type_and_policy() {
        let o = facts_object(
            serde_json::json!({"type": {"name": "File Server"}, "domain": {"name": "30DAYS"}, "locked": false, "tsmName": "N1"}),
            serde_json::json!([]),
        );
        assert!(o.protected);
        assert_eq!(
            (o.object_type.as_str(), o.policy.as_str()),
            ("file_server", "30DAYS")
        );
        assert_eq!(o.history_start.unwrap().to_string(), "2024-03-01T00:00:00Z");
        assert_eq!(o.stored_bytes, None);

        let o = facts_object(
            serde_json::json!({"domain": {"name": "30DAYS"}, "decommissioned": "true"}),
            serde_json::json!([]),
        );
        assert!(!o.protected);
        assert_eq!(o.object_type, "node");
        let o = facts_object(serde_json::json!(null), serde_json::json!([]));
        assert!(!o.protected);
        let o = facts_object(
            serde_json::json!({"type": {"name": "Workstation"}}),
            serde_json::json!([]),
        );
        assert!(!o.protected, "no domain and no schedule");
    }

    fn consumer_object(consumer: serde_json::Value, node: serde_json::Value) -> Object {
        let consumer: wire::Consumer = serde_json::from_value(consumer).unwrap();
        let node: Option<wire::Node> = serde_json::from_value(node).unwrap();
        object(&ConsumerFacts {
            id: 5,
            consumer: &consumer,
            tenant: "HR",
            node: node.as_ref(),
            filespaces: &[],
            first_job: None,
        })
    }

    #[test]
    fn inactive_consumers_and_never_activated_nodes_are_not_protected() {
        let node = serde_json::json!({"tsmName": "C59ACF42E474", "activatedDate": "2024-01-01T00:00:00Z",
            "domain": {"name": "30DAYS"}});
        let with_state = |state: serde_json::Value| {
            consumer_object(
                serde_json::json!({"id": 5, "dataSourceState": state}),
                node.clone(),
            )
        };
        assert!(with_state(serde_json::json!({"id": 3, "name": "Active"})).protected);
        assert!(with_state(serde_json::json!({"id": 3, "name": " ACTIVE "})).protected);
        assert!(with_state(serde_json::json!("active")).protected);
        assert!(
            with_state(serde_json::json!(3)).protected,
            "the documented id alone"
        );
        assert!(
            with_state(serde_json::Value::Null).protected,
            "no state says nothing"
        );
        assert!(consumer_object(serde_json::json!({"id": 5}), node.clone()).protected);
        for state in [
            serde_json::json!({"id": 4, "name": "Inactive"}),
            serde_json::json!({"id": 1, "name": "Pending activation"}),
            serde_json::json!("Deleted"),
            serde_json::json!(7),
        ] {
            assert!(!with_state(state.clone()).protected, "{state}");
        }
        // The node's own state counts when the consumer gives none.
        let mut inactive_node = node.clone();
        inactive_node["dataSourceState"] = serde_json::json!({"id": 4, "name": "Inactive"});
        assert!(!consumer_object(serde_json::json!({"id": 5}), inactive_node).protected);

        let active = serde_json::json!({"id": 5, "dataSourceState": {"id": 3, "name": "Active"}});
        let never = serde_json::json!({"domain": {"name": "30DAYS"}, "tsmName": null});
        assert!(!consumer_object(active.clone(), never).protected);
        let never = serde_json::json!({"domain": {"name": "30DAYS"}, "tsmName": " "});
        assert!(!consumer_object(active.clone(), never).protected);
        let named = serde_json::json!({"domain": {"name": "30DAYS"}, "tsmName": "N1"});
        assert!(consumer_object(active.clone(), named).protected);
        let dated = serde_json::json!({"domain": {"name": "30DAYS"}, "activatedDate": "2024-01-01T00:00:00Z"});
        assert!(consumer_object(active, dated).protected);
    }

    #[test]
    fn filespaces_give_stored_bytes_pools_and_last_backup() {
        let fs = serde_json::json!([
            {"lastBackupEnd": "2024-05-01T02:00:00Z", "frontEndCapacityMegaBytes": 100,
             "occupancies": [{"reportingMegaBytes": 1.5, "storagePool": {"name": "P", "totalStorageMegaBytes": 1000, "freeStorageMegaBytes": 250}}]},
            {"lastBackupEnd": "2024-05-02T02:00:00Z", "capacityMegaBytes": 200, "percentageUtilized": 50,
             "occupancies": [{"physicalMegaBytes": "2", "storagePool": {"name": "P"}}, {"logicalMegaBytes": 1}]}
        ]);
        let o = facts_object(serde_json::json!({}), fs.clone());
        assert_eq!(o.stored_bytes, Some(1_572_864 + 2_097_152 + 1_048_576));
        assert_eq!(o.protected_bytes, Some(200 * 1_048_576));
        assert_eq!(
            o.last_success_hint.unwrap().to_string(),
            "2024-05-02T02:00:00Z"
        );
        let fs: Vec<wire::Filespace> = serde_json::from_value(fs).unwrap();
        let mut pools = HashMap::new();
        super::pools(fs.iter(), &mut pools);
        assert_eq!(pools.len(), 1);
        assert_eq!(pools["P"].capacity_bytes, Some(1000 * 1_048_576));
        assert_eq!(pools["P"].used_bytes, Some(750 * 1_048_576));
    }
}
