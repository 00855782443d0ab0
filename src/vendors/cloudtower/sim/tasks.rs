//! The task center (`get-tasks`): manual VM snapshots (one of them stuck), a task for every
//! per-VM backup, and the everyday noise of other operations.

use serde_json::{Value, json};

use super::data::*;
use super::render::fmt;
use crate::sim::unit;

/// `BackupExecutionStatus` → the `TaskStatus` of the task the backup service records.
pub fn backup_task_status(status: &str) -> &'static str {
    match status {
        "SUCCESS" => "SUCCESSED",
        "RUNNING" => "EXECUTING",
        "PENDING" => "PENDING",
        _ => "FAILED",
    }
}

const NOISE_EVERY: i64 = 5 * HOUR;

impl World {
    #[allow(clippy::too_many_arguments)]
    fn task(
        &self,
        id: String,
        description: String,
        status: &str,
        created: i64,
        started: Option<i64>,
        finished: Option<i64>,
        cluster: usize,
        resource: (&str, &str),
        args: Value,
        kind: Option<&str>,
        error: Option<(&str, &str)>,
    ) -> Value {
        json!({
            "id": id,
            "description": description,
            "status": status,
            "progress": if finished.is_some() { 1.0 } else if started.is_some() { 0.42 } else { 0.0 },
            "error_code": error.map(|e| e.0),
            "error_message": error.map(|e| e.1),
            "local_created_at": fmt(created),
            "started_at": started.map(fmt),
            "finished_at": finished.map(fmt),
            "args": args,
            "snapshot": "",
            "steps": [],
            "internal": false,
            "key": null,
            "type": kind,
            "cluster": self.cluster_ref(cluster),
            "user": { "id": cuid(self.seed, "user:admin"), "name": "admin" },
            "resource_id": resource.1,
            "resource_type": resource.0,
            "resource_mutation": if resource.0 == "VmSnapshot" { Value::from("createVmSnapshot") } else { Value::Null },
            "resource_rollback_error": null,
            "resource_rollback_retry_count": null,
            "resource_rollbacked": if status == "FAILED" && resource.0 == "VmSnapshot" { Value::from(true) } else { Value::Null },
        })
    }

    /// Every task as of `now`: manual snapshots and the stuck one, then the per-VM backup
    /// tasks (derived as they are taken), then the noise.
    pub fn tasks(&self, now: i64) -> impl Iterator<Item = Value> + Send + '_ {
        let from = now - RETENTION;
        self.manual_tasks(now, from)
            .into_iter()
            .chain(self.backup_tasks(now, from))
            .chain(self.noise_tasks(now, from))
    }

    fn manual_tasks(&self, now: i64, from: i64) -> Vec<Value> {
        let mut out = Vec::new();
        for vm in 0..self.vms.len() {
            let v = &self.vms[vm];
            for r in self.manual_runs(vm, from, now) {
                let snapshot = self.manual_snapshot_id(vm, r.n);
                let name = format!("manual-{}-{}", v.name, r.n); // as World::snapshot_name
                let finished = matches!(r.status, "SUCCESSED" | "FAILED");
                out.push(self.task(
                    self.manual_task_id(vm, r.n),
                    format!("Create snapshot {name} for VM {}", v.name),
                    r.status,
                    r.slot,
                    (now >= r.start).then_some(r.start),
                    finished.then_some(r.end),
                    v.cluster,
                    ("VmSnapshot", &snapshot),
                    json!({ "data": [{ "vm_id": v.id, "name": name, "consistent_type": "CRASH_CONSISTENT" }] }),
                    None,
                    (r.status == "FAILED").then_some((
                        "VM_SNAPSHOT_CREATE_FAILED",
                        "Failed to create the snapshot: the storage volume is busy.",
                    )),
                ));
            }
        }
        let (stuck_vm, stuck_start) = self.stuck;
        if now >= stuck_start {
            let v = &self.vms[stuck_vm];
            let snapshot = cuid(self.seed, "stuck-snapshot");
            out.push(self.task(
                self.stuck_task_id(),
                format!("Create snapshot before-upgrade for VM {}", v.name),
                "EXECUTING",
                stuck_start,
                Some(stuck_start),
                None,
                v.cluster,
                ("VmSnapshot", &snapshot),
                json!({ "data": [{ "vm_id": v.id, "name": "before-upgrade", "consistent_type": "FILE_SYSTEM_CONSISTENT" }] }),
                None,
                None,
            ));
        }
        out
    }

    fn backup_tasks(&self, now: i64, from: i64) -> impl Iterator<Item = Value> + Send + '_ {
        (0..self.backup_plans.len()).flat_map(move |p| {
            let plan = &self.backup_plans[p];
            self.backup_runs(p, from, now)
                .into_iter()
                .flat_map(move |r| {
                    r.targets
                        .iter()
                        .map(|t| {
                            let v = &self.vms[t.vm];
                            let status = backup_task_status(t.status);
                            let error = match t.status {
                                "FAILED" => {
                                    Some(("BACKUP_FAILED", "Reading the VM volumes failed."))
                                }
                                "ABORTED" => Some(("BACKUP_ABORTED", "The backup was aborted.")),
                                _ => None,
                            };
                            self.task(
                                self.backup_task_id(p, r.n, t.vm),
                                format!("Back up VM {} with plan {}", v.name, plan.name),
                                status,
                                r.slot,
                                (now >= t.start).then_some(t.start),
                                t.finished().then_some(t.end),
                                v.cluster,
                                ("Vm", &v.id),
                                json!({ "vm_id": v.id, "backup_plan_id": plan.id }),
                                Some("BACKUP"),
                                error,
                            )
                        })
                        .collect::<Vec<_>>()
                })
        })
    }

    fn noise_tasks(&self, now: i64, from: i64) -> Vec<Value> {
        let mut out = Vec::new();
        for (n, slot) in slots(NOISE_EVERY, 17 * MINUTE, from, now) {
            let vm = (unit(self.seed, "noise", n as u64) * self.vms.len() as f64) as usize
                % self.vms.len();
            let v = &self.vms[vm];
            let verb = ["Update VM", "Migrate VM", "Edit VM NIC"][n.rem_euclid(3) as usize];
            out.push(self.task(
                cuid(self.seed, &format!("task-noise:{n}")),
                format!("{verb} {}", v.name),
                if now >= slot + 30 {
                    "SUCCESSED"
                } else {
                    "EXECUTING"
                },
                slot,
                Some(slot),
                (now >= slot + 30).then_some(slot + 30),
                v.cluster,
                ("Vm", &v.id),
                json!({ "where": { "id": v.id } }),
                None,
                None,
            ));
        }
        out
    }
}
