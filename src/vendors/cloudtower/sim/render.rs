//! The world as CloudTower's JSON: one list of items per `get-*` resource, with the field
//! names, camelCase exceptions, explicit `null`s and time format of the 4.6.0 spec.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::data::*;

/// Which tower answers: a current one (4.6.0) or one older than 4.6 without the backup
/// endpoints (and without `Vm.backup_plans`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tower {
    Current,
    Old,
}

impl Tower {
    pub fn version(self) -> &'static str {
        match self {
            Tower::Current => "4.6.0",
            Tower::Old => "4.3.0",
        }
    }
}

/// The resources a tower serves (`get-<name>` and `get-<name>-connection`).
pub const RESOURCES: &[&str] = &[
    "vms",
    "vm-snapshots",
    "snapshot-plans",
    "snapshot-plan-tasks",
    "backup-plans",
    "backup-plan-executions",
    "backup-target-executions",
    "backup-restore-points",
    "backup-store-repositories",
    "alerts",
    "alert-rules",
    "global-alert-rules",
    "user-audit-logs",
    "clusters",
    "tasks",
];

pub fn serves(tower: Tower, resource: &str) -> bool {
    RESOURCES.contains(&resource) && !(tower == Tower::Old && resource.starts_with("backup-"))
}

/// CloudTower's time format: milliseconds and `Z`.
pub fn fmt(secs: i64) -> String {
    let t = Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH);
    format!("{t:.3}")
}

/// Adds the fields of `more` to `item` (`json!` recurses too deeply for very wide objects).
pub fn merge(item: &mut Value, more: Value) {
    if let (Value::Object(a), Value::Object(b)) = (item, more) {
        a.extend(b);
    }
}

pub fn opt_fmt(secs: Option<i64>) -> Value {
    secs.map(fmt).map(Value::from).unwrap_or(Value::Null)
}

impl World {
    /// A resource as of `now`, one item at a time: the histories (executions, target
    /// executions, snapshot tasks) are derived from the seed, the object and the slot as the
    /// items are taken, so a request holds only what its `where` keeps.
    pub fn render(
        &self,
        resource: &str,
        now: i64,
        tower: Tower,
    ) -> Box<dyn Iterator<Item = Value> + Send + '_> {
        match resource {
            "backup-plan-executions" => return Box::new(self.executions(now)),
            "backup-target-executions" => return Box::new(self.target_executions(now)),
            "snapshot-plan-tasks" => return Box::new(self.snapshot_tasks(now)),
            "tasks" => return Box::new(self.tasks(now)),
            "vm-snapshots" => return Box::new(self.snapshots(now)),
            _ => {}
        }
        Box::new(self.render_all(resource, now, tower).into_iter())
    }

    fn render_all(&self, resource: &str, now: i64, tower: Tower) -> Vec<Value> {
        match resource {
            "vms" => self.render_vms(now, tower),
            "snapshot-plans" => self.render_snapshot_plans(now),
            "backup-plans" => self.render_backup_plans(now),
            "backup-restore-points" => self.render_restore_points(now),
            "backup-store-repositories" => self.render_stores(now),
            "alerts" => self.render_alerts(now),
            "alert-rules" => self.render_alert_rules(),
            "global-alert-rules" => self.render_global_rules(),
            "user-audit-logs" => self.render_audit(now),
            "clusters" => self.render_clusters(now),
            _ => Vec::new(),
        }
    }

    /// Plan snapshots are named after the plan and run, manual ones after their task.
    pub fn snapshot_name(&self, s: &super::history::SnapshotInst) -> String {
        match s.plan_run {
            Some((p, n)) => format!("{}-{n}", self.snapshot_plans[p].name),
            None => format!("manual-{}-{}", self.vms[s.vm].name, s.n),
        }
    }

    pub fn cluster_ref(&self, c: usize) -> Value {
        json!({ "id": self.clusters[c].id, "name": self.clusters[c].name })
    }

    pub fn vm_ref(&self, v: usize) -> Value {
        json!({ "id": self.vms[v].id, "name": self.vms[v].name })
    }

    pub fn snapshot_task_id(&self, plan: usize, n: i64) -> String {
        cuid(self.seed, &format!("spt:{plan}:{n}"))
    }

    pub fn execution_id(&self, plan: usize, n: i64) -> String {
        cuid(self.seed, &format!("bpe:{plan}:{n}"))
    }

    pub fn target_execution_id(&self, plan: usize, n: i64, vm: usize) -> String {
        cuid(self.seed, &format!("bte:{plan}:{n}:{vm}"))
    }

    pub fn manual_task_id(&self, vm: usize, n: i64) -> String {
        cuid(self.seed, &format!("task-manual:{vm}:{n}"))
    }

    pub fn backup_task_id(&self, plan: usize, n: i64, vm: usize) -> String {
        cuid(self.seed, &format!("task-backup:{plan}:{n}:{vm}"))
    }

    pub fn stuck_task_id(&self) -> String {
        cuid(self.seed, "task-stuck")
    }

    pub fn audit_resource_id(&self, j: i64) -> String {
        cuid(self.seed, &format!("audit-resource:{j}"))
    }

    fn render_vms(&self, now: i64, tower: Tower) -> Vec<Value> {
        let mut snaps: Vec<Vec<Value>> = vec![Vec::new(); self.vms.len()];
        for s in self.vm_snapshots(now) {
            snaps[s.vm].push(json!({ "id": s.id, "name": self.snapshot_name(&s) }));
        }
        self.vms
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let cl = &self.clusters[v.cluster];
                let deleted = v.role == Role::Deleted;
                let snapshots = std::mem::take(&mut snaps[i]);
                let mut vm = json!({
                    "id": v.id,
                    "local_id": v.local_id,
                    "name": v.name,
                    "description": "",
                    "status": if deleted { "STOPPED" } else { "RUNNING" },
                    "cluster": self.cluster_ref(v.cluster),
                    "host": {
                        "id": cl.hosts[v.host].0,
                        "name": cl.hosts[v.host].1,
                        "management_ip": format!("10.0.{}.{}", 20 + v.cluster, 11 + v.host),
                    },
                    "vcpu": 4,
                    "memory": 8u64 << 30,
                    "cpu": { "cores": 2, "sockets": 2 },
                    "cpu_model": "host_passthrough",
                    "clock_offset": "UTC",
                    "firmware": "BIOS",
                    "ha": true,
                    "in_recycle_bin": deleted,
                    "deleted_at": if deleted { Value::from(fmt(self.anchor - 10 * DAY)) } else { Value::Null },
                    "internal": false,
                    "ips": format!("10.1.{}.{}", v.cluster, 10 + i),
                    "nested_virtualization": false,
                    "node_ip": format!("10.0.{}.{}", 20 + v.cluster, 11 + v.host),
                    "out_uninstall_usb": [],
                });
                merge(&mut vm, json!({
                    "protected": v.snapshot_plan.is_some(),
                    "snapshot_plan": v.snapshot_plan.map(|p| json!({
                        "id": self.snapshot_plans[p].id, "name": self.snapshot_plans[p].name
                    })),
                    "snapshots": snapshots,
                    "size": v.size,
                    "provisioned_size": v.size,
                    "used_size": v.used,
                    "used_size_usage": v.used as f64 / v.size as f64,
                    "logical_size_bytes": v.size,
                    "unique_size": v.used / 2,
                    "guest_used_size": v.used,
                    "cpu_usage": 12.5,
                    "memory_usage": 41.0,
                    "vm_tools_status": "RUNNING",
                    "win_opt": false,
                    "local_created_at": fmt(v.created),
                    "last_shutdown_time": null,
                    "os": "CentOS Linux 7",
                    "guest_os_type": "LINUX",
                    "bios_uuid": v.local_id,
                    "entityAsyncStatus": null,
                    "labels": [],
                    "vm_disks": [],
                    "vm_nics": [],
                    "folder": null,
                }));
                if tower == Tower::Current {
                    vm["backup_plans"] = v
                        .backup_plans
                        .iter()
                        .map(|p| json!({ "id": self.backup_plans[*p].id, "name": self.backup_plans[*p].name }))
                        .collect();
                }
                vm
            })
            .collect()
    }

    fn snapshots(&self, now: i64) -> impl Iterator<Item = Value> + Send + '_ {
        self.vm_snapshots(now).into_iter().map(move |s| {
            let name = self.snapshot_name(&s);
            let (vm, at, id) = (s.vm, s.at, s.id);
            let v = &self.vms[vm];
            let group = match s.plan_run {
                Some((p, n)) => {
                    json!({ "id": cuid(self.seed, &format!("sg:{p}:{n}")), "name": name })
                }
                None => Value::Null,
            };
            json!({
                "id": id,
                "local_id": uuid(self.seed, &id),
                "name": name,
                "description": "",
                "vm": self.vm_ref(vm),
                "cluster": self.cluster_ref(v.cluster),
                "local_created_at": fmt(at),
                "size": v.used,
                "consistent_type": "CRASH_CONSISTENT",
                "snapshot_group": group,
                "vcpu": 4,
                "memory": 8u64 << 30,
                "cpu": { "cores": 2, "sockets": 2 },
                "cpu_model": "host_passthrough",
                "clock_offset": "UTC",
                "firmware": "BIOS",
                "ha": true,
                "win_opt": false,
                "vm_disks": [],
                "vm_nics": [],
                "labels": [],
                "entityAsyncStatus": null,
            })
        })
    }

    fn render_snapshot_plans(&self, now: i64) -> Vec<Value> {
        self.snapshot_plans
            .iter()
            .enumerate()
            .map(|(p, plan)| {
                let period = plan.schedule.period();
                let until = plan.suspended_at.map_or(now, |s| now.min(s));
                let runs = self.snapshot_runs(p, until - 3 * period, now);
                let last = runs.last();
                let (kind, intervals) = plan.schedule.wire();
                let members: Vec<usize> = self.snapshot_members(p).collect();
                let next = (plan.suspended_at.is_none())
                    .then(|| slots(period, plan.schedule.offset(), now + 1, now + period).next())
                    .flatten()
                    .map(|(_, s)| s);
                let size: u64 = members.iter().map(|v| self.vms[*v].used / 10).sum();
                json!({
                    "id": plan.id,
                    "local_id": plan.local_id,
                    "name": plan.name,
                    "description": "",
                    "status": plan.status(),
                    "healthy": last.is_none_or(|r| r.status != "FAILED"),
                    "last_execute_status": last.map_or("UNSPECIFIED", |r| r.status),
                    "last_execute_time": opt_fmt(last.map(|r| r.start)),
                    "last_execute_end_time": opt_fmt(last.filter(|r| r.finished()).map(|r| r.end)),
                    "next_execute_time": opt_fmt(next),
                    "start_time": fmt(plan.created),
                    "end_time": null,
                    "execute_plan_type": kind,
                    "execute_intervals": intervals,
                    "exec_h_m": match plan.schedule {
                        SnapSchedule::Hours { .. } => Value::Null,
                        SnapSchedule::Daily { hour, minute } | SnapSchedule::Weekly { hour, minute, .. } =>
                            json!({ "hour": hour, "minute": minute }),
                    },
                    "auto_execute_num": (until - plan.created) / period,
                    "manual_execute_num": 0,
                    "auto_delete_num": ((until - plan.created) / period - plan.keep as i64).max(0),
                    "manual_delete_num": 0,
                    "remain_snapshot_num": plan.keep * members.len(),
                    "snapshot_group_num": plan.keep,
                    "object_num": members.len(),
                    "logical_size_bytes": size * 2,
                    "physical_size_bytes": size,
                    "mirror": false,
                    "cluster": self.cluster_ref(plan.cluster),
                    "vms": members.iter().map(|v| self.vm_ref(*v)).collect::<Vec<_>>(),
                    "execution_tasks": runs.iter().rev().take(3)
                        .map(|r| json!({ "id": self.snapshot_task_id(p, r.n) })).collect::<Vec<_>>(),
                    "entityAsyncStatus": null,
                })
            })
            .collect()
    }

    fn snapshot_tasks(&self, now: i64) -> impl Iterator<Item = Value> + Send + '_ {
        self.snapshot_plans.iter().enumerate().flat_map(move |(p, plan)| {
            self.snapshot_runs(p, now - RETENTION, now).into_iter().map(move |r| {
                let id = self.snapshot_task_id(p, r.n);
                json!({
                    "id": id,
                    "local_id": uuid(self.seed, &id),
                    "snapshotPlan": { "id": plan.id, "name": plan.name },
                    "snapshotGroup": if r.status == "SUCCEED" {
                        json!({ "id": cuid(self.seed, &format!("sg:{p}:{}", r.n)), "name": format!("{}-{}", plan.name, r.n) })
                    } else { Value::Null },
                    "cluster": self.cluster_ref(plan.cluster),
                    "status": r.status,
                    "type": "TASK_TYPE_PROTECT",
                    "start_time": fmt(r.start),
                    "end_time": opt_fmt(r.finished().then_some(r.end)),
                    "internal": false,
                    "entityAsyncStatus": null,
                })
            })
        })
    }

    fn render_clusters(&self, now: i64) -> Vec<Value> {
        self.clusters
            .iter()
            .enumerate()
            .map(|(c, cl)| {
                let used = self.cluster_used(c, now);
                let vms = self
                    .vms
                    .iter()
                    .filter(|v| v.cluster == c && v.role != Role::Deleted)
                    .count();
                json!({
                    "id": cl.id,
                    "local_id": cl.local_id,
                    "name": cl.name,
                    "type": "SMTX_OS",
                    "version": "6.2.0",
                    "ip": cl.ip,
                    "architecture": "X86_64",
                    "hypervisor": "ELF",
                    "connect_state": "CONNECTED",
                    "disconnected_date": null,
                    "disconnected_reason": null,
                    "total_data_capacity": cl.capacity,
                    "used_data_space": used,
                    "valid_data_space": cl.capacity,
                    "failure_data_space": 0,
                    "total_cache_capacity": cl.capacity / 4,
                    "host_num": cl.hosts.len(),
                    "vm_num": vms,
                    "running_vm_num": vms,
                    "stopped_vm_num": 0,
                    "suspended_vm_num": 0,
                    "license_type": "PERPETUAL",
                    "software_edition": "ENTERPRISE",
                    "dns": [],
                    "ntp_servers": [],
                    "recommended_cpu_models": [],
                    "total_cpu_models": [],
                    // `NestedHost` requires all three (CT-SPEC), the same address as a VM's host.
                    "hosts": cl.hosts.iter().enumerate().map(|(h, (id, name))| json!({
                        "id": id,
                        "name": name,
                        "management_ip": format!("10.0.{}.{}", 20 + c, 11 + h),
                    })).collect::<Vec<_>>(),
                    "entityAsyncStatus": null,
                })
            })
            .collect()
    }
}
