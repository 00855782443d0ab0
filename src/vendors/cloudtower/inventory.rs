//! The VMs with their snapshot and backup plans and restore points: what both the
//! inventory and the jobs are built from.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::client::{BackupSupport, Query, Tower, part, skip_missing};
use super::mapping;
use super::wire;
use crate::adapter::{Skips, VendorError};
use crate::model::{CollectorKind, Object};

/// The clusters a target is limited to (`clusters:`), or every cluster.
#[derive(Clone, Debug, Default)]
pub(super) struct Scope {
    pub clusters: Option<Vec<String>>,
}

impl Scope {
    /// `{"cluster": {"name_in": [...]}}` when limited.
    pub fn cluster_filter(&self) -> Option<Value> {
        self.clusters
            .as_ref()
            .map(|names| json!({ "cluster": { "name_in": names } }))
    }

    pub fn contains(&self, cluster: Option<&wire::Nested>) -> bool {
        match &self.clusters {
            None => true,
            Some(names) => cluster.is_some_and(|c| names.iter().any(|n| n == c.name())),
        }
    }

    /// Tower-wide records (a login, an alert about the tower itself) have no cluster; a
    /// limited target keeps them.
    pub fn admits(&self, cluster: Option<&wire::Nested>) -> bool {
        cluster.is_none_or(|c| c.id.is_none()) || self.contains(cluster)
    }
}

/// `{"AND": [a, b, ...]}` of the filters that are set.
pub(super) fn and(filters: impl IntoIterator<Item = Option<Value>>) -> Value {
    let mut parts: Vec<Value> = filters.into_iter().flatten().collect();
    match parts.len() {
        0 => json!({}),
        1 => parts.pop().unwrap_or_default(),
        _ => json!({ "AND": parts }),
    }
}

/// What the inventory and the jobs both need.
pub(super) struct Base {
    pub vms: Vec<wire::Vm>,
    pub vm_index: HashMap<String, usize>,
    pub vm_by_local_id: HashMap<String, usize>,
    pub snapshot_plans: HashMap<String, wire::SnapshotPlan>,
    /// `None` when the tower has no backup endpoints.
    pub backup_plans: Option<HashMap<String, wire::BackupPlan>>,
    pub snapshots: Vec<wire::VmSnapshot>,
    pub restore_points: Vec<wire::BackupRestorePoint>,
    /// Plan id → the indexes of its VMs (in scope). Both sides of the relation are read
    /// (`Vm.snapshot_plan`, `Vm.backup_plans`, `Plan.vms`), as either may be left out.
    pub members: HashMap<String, Vec<usize>>,
    /// VM index → the ids of its snapshot and backup plans.
    pub plans_of: Vec<Vec<String>>,
}

impl Base {
    pub fn vm(&self, id: &str) -> Option<&wire::Vm> {
        self.vm_index.get(id).map(|i| &self.vms[*i])
    }

    pub fn backup_supported(&self) -> bool {
        self.backup_plans.is_some()
    }
}

pub(super) async fn fetch_base(
    tower: &Tower,
    scope: &Scope,
    backup: &BackupSupport,
    target: &str,
    skips: &Skips,
) -> Result<Base, VendorError> {
    let vm_query = Query::filter(and([
        scope.cluster_filter(),
        Some(json!({ "in_recycle_bin": false })),
    ]))
    .order("id_ASC");
    let scoped = Query::filter(and([scope.cluster_filter()])).order("id_ASC");
    let snapshot_query = Query::filter(and([scope.cluster_filter()])).order("local_created_at_ASC");
    let skip_backup = backup.known_missing();
    let backup_plans = async {
        if skip_backup {
            return Ok(None);
        }
        backup.observe(
            target,
            tower
                .list::<wire::BackupPlan>("backup-plans", &Query::all().order("id_ASC"))
                .await,
        )
    };
    let restore_points = async {
        if skip_backup {
            return Ok(Vec::new());
        }
        tower
            .list::<wire::BackupRestorePoint>(
                "backup-restore-points",
                &Query::all().order("local_created_at_ASC"),
            )
            .await
    };
    let (vms, snapshot_plans, backup_plans, snapshots, restore_points) = tokio::join!(
        tower.list::<wire::Vm>("vms", &vm_query),
        tower.list::<wire::SnapshotPlan>("snapshot-plans", &scoped),
        backup_plans,
        tower.list::<wire::VmSnapshot>("vm-snapshots", &snapshot_query),
        restore_points,
    );
    let vms = vms?;
    // The plans decide both the inventory's protection and which VMs a plan's run is a
    // job of, so a refused plan listing is a part of both collectors.
    let refused = |part: &'static str, e: &VendorError| {
        skips.record(CollectorKind::Inventory, part, e.to_string());
        skips.record(CollectorKind::Jobs, part, e.to_string());
    };
    let snapshot_plans = match snapshot_plans.map_err(VendorError::from) {
        Err(e) if Skips::is_refusal(&e) => {
            refused(part::SNAPSHOT_PLANS, &e);
            Vec::new()
        }
        other => other?,
    };
    let backup_plans = match backup_plans.map_err(VendorError::from) {
        // A 403 (a 404 is an older tower, `Ok(None)`): this role may not see backup plans;
        // the other backup listings are still read.
        Err(e) if Skips::is_refusal(&e) => {
            refused(part::BACKUP_PLANS, &e);
            Some(Vec::new())
        }
        other => other?,
    };
    let restore_points = match backup_plans {
        Some(_) => skips.or_empty(
            CollectorKind::Inventory,
            part::BACKUP_RESTORE_POINTS,
            restore_points.map_err(VendorError::from),
        )?,
        None => {
            skip_missing(
                skips,
                CollectorKind::Inventory,
                &[part::BACKUP_PLANS, part::BACKUP_RESTORE_POINTS],
            );
            Vec::new()
        }
    };
    let snapshots = skips.or_empty(
        CollectorKind::Inventory,
        part::VM_SNAPSHOTS,
        snapshots.map_err(VendorError::from),
    )?;
    Ok(Base::new(
        vms,
        snapshot_plans,
        backup_plans,
        snapshots,
        restore_points,
    ))
}

impl Base {
    /// The base of what was read; `backup_plans: None` when the tower has no backup
    /// endpoints.
    pub fn new(
        vms: Vec<wire::Vm>,
        snapshot_plans: Vec<wire::SnapshotPlan>,
        backup_plans: Option<Vec<wire::BackupPlan>>,
        snapshots: Vec<wire::VmSnapshot>,
        restore_points: Vec<wire::BackupRestorePoint>,
    ) -> Base {
        let vm_index = vms
            .iter()
            .enumerate()
            .map(|(i, v)| (v.id.clone(), i))
            .collect();
        let vm_by_local_id = vms
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.local_id.clone().map(|l| (l, i)))
            .collect();
        let snapshot_plans: HashMap<String, wire::SnapshotPlan> = snapshot_plans
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        let backup_plans: Option<HashMap<String, wire::BackupPlan>> =
            backup_plans.map(|ps| ps.into_iter().map(|p| (p.id.clone(), p)).collect());
        let mut base = Base {
            vms,
            vm_index,
            vm_by_local_id,
            snapshot_plans,
            backup_plans,
            snapshots,
            restore_points,
            members: HashMap::new(),
            plans_of: Vec::new(),
        };
        base.link_plans();
        base
    }
}

impl Base {
    fn link_plans(&mut self) {
        let mut pairs: Vec<(String, usize)> = Vec::new();
        for (i, vm) in self.vms.iter().enumerate() {
            if let Some(p) = vm.snapshot_plan.as_ref().and_then(|p| p.id.clone()) {
                pairs.push((p, i));
            }
            if self.backup_plans.is_some() {
                pairs.extend(
                    vm.backup_plans
                        .iter()
                        .filter_map(|p| Some((p.id.clone()?, i))),
                );
            }
        }
        let plan_vms = self.snapshot_plans.values().map(|p| (&p.id, &p.vms)).chain(
            self.backup_plans
                .iter()
                .flatten()
                .map(|(_, p)| (&p.id, &p.vms)),
        );
        for (plan, vms) in plan_vms {
            pairs.extend(
                vms.iter()
                    .filter_map(|v| self.vm_index.get(v.id()).map(|i| (plan.clone(), *i))),
            );
        }
        pairs.sort_unstable();
        pairs.dedup();
        let known = |id: &str| {
            self.snapshot_plans.contains_key(id)
                || self
                    .backup_plans
                    .as_ref()
                    .is_some_and(|b| b.contains_key(id))
        };
        let mut plans_of = vec![Vec::new(); self.vms.len()];
        let mut members: HashMap<String, Vec<usize>> = HashMap::new();
        for (plan, i) in pairs.into_iter().filter(|(p, _)| known(p)) {
            plans_of[i].push(plan.clone());
            members.entry(plan).or_default().push(i);
        }
        self.plans_of = plans_of;
        self.members = members;
    }
}

#[derive(Default)]
struct RestoreSummary {
    count: u64,
    latest: Option<Timestamp>,
    stored: Option<u64>,
}

/// The VMs as objects: protected when an enabled snapshot or backup plan covers them.
pub(super) fn inventory(base: &Base) -> Vec<Object> {
    let mut points: HashMap<&str, RestoreSummary> = HashMap::new();
    for s in &base.snapshots {
        let Some(vm) = s.vm.as_ref().and_then(|v| v.id.as_deref()) else {
            continue;
        };
        let e = points.entry(vm).or_default();
        e.count += 1;
        e.latest = e.latest.max(s.local_created_at);
    }
    for rp in &base.restore_points {
        let vm = rp
            .vm
            .as_ref()
            .and_then(|v| v.id.as_deref())
            .and_then(|id| base.vm_index.get(id));
        let Some(i) = vm else { continue };
        let e = points.entry(base.vms[*i].id.as_str()).or_default();
        e.count += 1;
        e.latest = e.latest.max(rp.local_created_at);
        if let Some(size) = rp.physical_size.or(rp.valid_size).or(rp.size) {
            *e.stored.get_or_insert(0) += size;
        }
    }
    base.vms
        .iter()
        .enumerate()
        .map(|(i, vm)| {
            let mut policies: Vec<&str> = Vec::new();
            let mut protected = false;
            let mut rpo: Option<std::time::Duration> = None;
            for plan_id in &base.plans_of[i] {
                let (name, enabled, cadence) = if let Some(p) = base.snapshot_plans.get(plan_id) {
                    let cadence = mapping::snapshot_plan_cadence(
                        p.execute_plan_type.as_deref(),
                        &p.execute_intervals,
                    );
                    (&p.name, mapping::plan_enabled(p.status.as_deref()), cadence)
                } else if let Some(p) = base.backup_plans.as_ref().and_then(|b| b.get(plan_id)) {
                    (
                        &p.name,
                        mapping::plan_enabled(p.status.as_deref()),
                        backup_plan_cadence(p),
                    )
                } else {
                    continue;
                };
                policies.push(name);
                if enabled {
                    protected = true;
                    rpo = min_opt(rpo, cadence);
                }
            }
            policies.sort_unstable();
            policies.dedup();
            let rp = points.remove(vm.id.as_str()).unwrap_or_default();
            Object {
                id: vm.id.clone(),
                name: vm.name.clone(),
                object_type: "vm".into(),
                tenant: vm
                    .cluster
                    .as_ref()
                    .map(|c| c.name().to_owned())
                    .unwrap_or_default(),
                policy: policies.join(", "),
                protected,
                created: vm.local_created_at,
                history_start: None,
                policy_rpo: rpo,
                protected_bytes: vm.used_size.or(vm.size),
                stored_bytes: rp.stored,
                restore_points: Some(rp.count),
                latest_restore_point: rp.latest,
                last_success_hint: rp.latest,
            }
        })
        .collect()
}

fn min_opt(
    a: Option<std::time::Duration>,
    b: Option<std::time::Duration>,
) -> Option<std::time::Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Full and incremental runs both make restore points: the shorter cadence applies.
pub(super) fn backup_plan_cadence(plan: &wire::BackupPlan) -> Option<std::time::Duration> {
    let points: Vec<(i64, i64)> = plan
        .incremental_time_points
        .iter()
        .filter_map(|p| Some((p.hour?, p.minute.unwrap_or(0))))
        .collect();
    let full = mapping::backup_period_cadence(plan.full_period.as_deref(), plan.full_interval, &[]);
    let incremental = mapping::backup_period_cadence(
        plan.incremental_period.as_deref(),
        plan.incremental_interval,
        &points,
    );
    min_opt(full, incremental)
}
