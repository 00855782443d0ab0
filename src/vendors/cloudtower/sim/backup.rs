//! The backup service: plans, their executions, the per-VM backups (kept for
//! `TARGET_RETENTION` only), restore points and backup stores.

use serde_json::{Value, json};

use super::data::*;
use super::history::{BackupRun, TargetRun};
use super::render::{fmt, merge, opt_fmt};

impl World {
    fn time_point(hour: i64, minute: i64, weekday: Option<i64>) -> Value {
        const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
        json!({
            "hour": hour,
            "minute": minute,
            "weekday": weekday.map(|d| DAYS[d.rem_euclid(7) as usize]),
            "date": null,
            "date_position": [],
        })
    }

    pub fn render_backup_plans(&self, now: i64) -> Vec<Value> {
        let points = self.restore_points(now);
        self.backup_plans
            .iter()
            .enumerate()
            .map(|(p, plan)| {
                let until = plan.paused_at.map_or(now, |s| now.min(s));
                let runs = self.backup_runs(p, until - 2 * DAY, now);
                let last = runs.last();
                let mine: Vec<_> = points.iter().filter(|r| r.plan == p).collect();
                let stored: u64 = mine.iter().map(|r| r.physical_size()).sum();
                let next = plan.paused_at.is_none().then(|| {
                    let day = now.div_euclid(DAY);
                    (day..day + 2)
                        .flat_map(|d| plan.points.iter().map(move |(h, m)| d * DAY + h * HOUR + m * MINUTE))
                        .find(|s| *s > now)
                });
                let (fh, fm) = plan.points[0];
                let mut item = json!({
                    "id": plan.id,
                    "name": plan.name,
                    "description": null,
                    "status": plan.status(),
                    "phase": if plan.paused_at.is_some() { "PAUSED" } else { "WAITING_SCHEDULE" },
                    "last_execute_status": last.map_or("NEVER_EXECUTE", |r| r.status),
                    "last_execute_status_message": last.and_then(|r| r.message),
                    "last_execute_success_job_count": last.map(|r| r.targets.iter().filter(|t| t.status == "SUCCESS").count()),
                    "last_execute_total_job_count": last.map(|r| r.targets.len()),
                    "last_executed_at": opt_fmt(last.and_then(|r| r.executed_at)),
                    "last_manual_execute_status": "NEVER_EXECUTE",
                    "last_manual_execute_status_message": null,
                    "last_manual_execute_success_job_count": null,
                    "last_manual_execute_total_job_count": null,
                    "last_manual_executed_at": null,
                    "next_execute_time": opt_fmt(next.flatten()),
                    "createdAt": fmt(plan.created),
                    "backup_restore_point_count": mine.len(),
                    "backup_total_size": stored,
                    "logical_size": stored * 18 / 10,
                    "physical_size": stored,
                    "valid_size_of_backup_object": stored,
                    "valid_size_of_restore_point": stored,
                    "compression": true,
                    "compression_ratio": 1.8,
                });
                merge(&mut item, json!({
                    "full_period": "WEEKLY",
                    "full_interval": 1,
                    "full_time_point": Self::time_point(fh, fm, Some(plan.full_weekday)),
                    "incremental_period": "DAILY",
                    "incremental_interval": 1,
                    "incremental_time_points": plan.points.iter().map(|(h, m)| Self::time_point(*h, *m, None)).collect::<Vec<_>>(),
                    "incremental_weekdays": [],
                    "keep_policy": "COUNT",
                    "keep_policy_value": plan.keep,
                    "delete_strategy": "DELETE_RESTORE_POINT",
                    "backup_delay_option": "STOP_BACKUP",
                    "enable_window": false,
                    "window_start": null,
                    "window_end": null,
                    "snapshot_consistent_type": "CRASH_CONSISTENT",
                    "vms": self.backup_members(p).map(|v| self.vm_ref(v)).collect::<Vec<_>>(),
                    "backup_service": { "id": cuid(self.seed, "backup-service"), "name": "backup-service" },
                    "backup_store_repository": { "id": self.stores[plan.store].id, "name": self.stores[plan.store].name },
                    "backup_plan_executions": [],
                    "backup_restore_points": [],
                    "entityAsyncStatus": null,
                }));
                item
            })
            .collect()
    }

    fn all_backup_runs(&self, from: i64, now: i64) -> impl Iterator<Item = BackupRun> + Send + '_ {
        (0..self.backup_plans.len()).flat_map(move |p| self.backup_runs(p, from, now))
    }

    pub fn executions(&self, now: i64) -> impl Iterator<Item = Value> + Send + '_ {
        self.all_backup_runs(now - RETENTION, now).map(|r| {
            let plan = &self.backup_plans[r.plan];
            let id = self.execution_id(r.plan, r.n);
            json!({
                "id": id,
                "local_id": uuid(self.seed, &id),
                "backup_plan": { "id": plan.id, "name": plan.name },
                "status": r.status,
                "state": match r.status {
                    "SUCCESS" => Value::from("SUCCEED"),
                    "FAILED" => "FAILED".into(),
                    "PARTIAL_SUCCESS" => "PARTLY_FAILED".into(),
                    "RUNNING" => "RUNNING".into(),
                    "WAITING_EXECUTE" => "STARTING".into(),
                    _ => Value::Null,
                },
                "type": if r.full { "FULL" } else { "INCREMENTAL" },
                "method": "AUTO",
                "executed_at": opt_fmt(r.executed_at),
                "duration": r.duration,
                "success_job_count": r.targets.iter().filter(|t| t.status == "SUCCESS").count(),
                "total_job_count": r.targets.len(),
                "local_created_at": fmt(r.slot),
                "deletable_flag_marked": false,
                "entityAsyncStatus": null,
            })
        })
    }

    fn target_json(&self, r: &BackupRun, t: &TargetRun) -> Value {
        let v = &self.vms[t.vm];
        let id = self.target_execution_id(r.plan, r.n, t.vm);
        json!({
            "id": id,
            "local_id": uuid(self.seed, &id),
            "backup_group": cuid(self.seed, &format!("bg:{}:{}", r.plan, r.n)),
            "backup_plan_execution": { "id": self.execution_id(r.plan, r.n) },
            "backup_restore_point": if t.status == "SUCCESS" {
                json!({ "id": cuid(self.seed, &format!("brp:{}:{}:{}", r.plan, r.n, t.vm)) })
            } else { Value::Null },
            "cluster_local_id": self.clusters[v.cluster].local_id,
            "duration": t.finished().then_some(t.end - t.start),
            "executed_at": fmt(t.start),
            "parent_backup": "",
            "read_bytes": t.read_bytes,
            "retry_times": 0,
            "status": t.status,
            "total_bytes": t.total_bytes,
            "type": if r.full { "FULL" } else { "INCREMENTAL" },
            "vm": self.vm_ref(t.vm),
            "vm_local_id": v.local_id,
            "vm_name": v.name,
            "entityAsyncStatus": null,
        })
    }

    pub fn target_executions(&self, now: i64) -> impl Iterator<Item = Value> + Send + '_ {
        self.all_backup_runs(now - TARGET_RETENTION, now)
            .flat_map(|r| {
                r.targets
                    .iter()
                    .map(|t| self.target_json(&r, t))
                    .collect::<Vec<_>>()
            })
    }

    pub fn render_restore_points(&self, now: i64) -> Vec<Value> {
        self.restore_points(now)
            .into_iter()
            .map(|rp| {
                let v = &self.vms[rp.target.vm];
                let plan = &self.backup_plans[rp.plan];
                let id = cuid(self.seed, &format!("brp:{}:{}:{}", rp.plan, rp.n, rp.target.vm));
                json!({
                    "id": id,
                    "local_id": uuid(self.seed, &id),
                    "backup_plan": { "id": plan.id, "name": plan.name },
                    "backup_target_execution": { "id": self.target_execution_id(rp.plan, rp.n, rp.target.vm) },
                    "vm": self.vm_ref(rp.target.vm),
                    "vm_name": v.name,
                    "vm_local_id": v.local_id,
                    "cluster_local_id": self.clusters[v.cluster].local_id,
                    "type": if rp.full { "FULL" } else { "INCREMENTAL" },
                    "creation": "AUTO",
                    "local_created_at": fmt(rp.target.end),
                    "size": rp.target.total_bytes,
                    "logical_size": rp.target.read_bytes,
                    "physical_size": rp.physical_size(),
                    "valid_size": rp.physical_size(),
                    "valid_capacity": rp.physical_size(),
                    "compressed": true,
                    "compression_ratio": 1.8,
                    "parent_restore_point": null,
                    "slice": "",
                    "snapshot_consistent_type": "CRASH_CONSISTENT",
                    "backup_restore_executions": [],
                    "entityAsyncStatus": null,
                })
            })
            .collect()
    }

    pub fn render_stores(&self, now: i64) -> Vec<Value> {
        self.stores
            .iter()
            .enumerate()
            .map(|(s, st)| {
                let used = self.store_used(s, now);
                json!({
                    "id": st.id,
                    "name": st.name,
                    "type": st.kind,
                    "status": "CONNECTED",
                    "error_code": null,
                    "description": null,
                    "total_capacity": st.capacity,
                    "used_data_space": used,
                    "used_data_space_usage": used as f64 / st.capacity as f64,
                    "valid_data_space": st.capacity - used,
                    "createdAt": fmt(self.anchor - 500 * DAY),
                    "update_timestamp": fmt(now),
                    "nfs_server": if st.kind == "NFS3" { Value::from("10.0.30.5") } else { Value::Null },
                    "nfs_path": if st.kind == "NFS3" { Value::from("/export/backup") } else { Value::Null },
                    "iscsi_ip": if st.kind == "ISCSI" { Value::from("10.0.30.6") } else { Value::Null },
                    "iscsi_port": if st.kind == "ISCSI" { Value::from(3260) } else { Value::Null },
                    "backup_service": { "id": cuid(self.seed, "backup-service"), "name": "backup-service" },
                    "backup_plans": self.backup_plans.iter().filter(|p| p.store == s)
                        .map(|p| json!({ "id": p.id, "name": p.name })).collect::<Vec<_>>(),
                    "backup_restore_points": [],
                    "entityAsyncStatus": null,
                })
            })
            .collect()
    }
}
