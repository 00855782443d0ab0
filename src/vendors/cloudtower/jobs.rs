//! Jobs: one per VM of each snapshot plan run (`get-snapshot-plan-tasks`), each backup of
//! a VM (`get-backup-target-executions`, or its plan's execution when the tower kept no
//! per-VM record of it), and the tasks that are the only record of a backup: manual VM
//! snapshots, and backup tasks on towers without the backup endpoints.

use std::collections::HashSet;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::client::{Query, Tower, part, skip_missing};
use super::inventory::{Base, Scope, and};
use super::mapping;
use super::wire::{self, format_time};
use crate::adapter::{Skips, VendorError};
use crate::model::{CollectorKind, Job, JobKind, JobResult};

/// How long before the window a backup may have started and still end inside it.
/// Backup executions carry only their start and duration, so they are read from this much
/// earlier and filtered here.
const LONGEST_RUN: Duration = Duration::from_secs(2 * 86_400);

/// Jobs that ended in `[since, until)`, plus those still running that started before
/// `until` (`until: None` = now, for a refresh).
#[derive(Clone, Copy, Debug)]
pub(super) struct JobRange {
    pub since: Timestamp,
    pub until: Option<Timestamp>,
}

impl JobRange {
    fn keeps(&self, job: &Job) -> bool {
        if job.result == JobResult::Running {
            return match (self.until, job.start) {
                (Some(u), Some(s)) => s < u,
                _ => true,
            };
        }
        match job.time() {
            Some(t) => t >= self.since && self.until.is_none_or(|u| t < u),
            None => false,
        }
    }

    /// `{OR: [{<end>_gte: since, <end>_lt: until}, {status_in: running, <start>_lt: until}]}`
    fn filter(
        &self,
        end_field: &str,
        since: Timestamp,
        start_field: &str,
        running: &[&str],
    ) -> Value {
        let mut ended = serde_json::Map::new();
        ended.insert(format!("{end_field}_gte"), format_time(since).into());
        let mut open = serde_json::Map::new();
        open.insert("status_in".into(), json!(running));
        if let Some(u) = self.until {
            ended.insert(format!("{end_field}_lt"), format_time(u).into());
            open.insert(format!("{start_field}_lt"), format_time(u).into());
        }
        json!({ "OR": [Value::Object(ended), Value::Object(open)] })
    }
}

pub(super) async fn fetch_jobs(
    tower: &Tower,
    scope: &Scope,
    base: &Base,
    skips: &Skips,
    range: JobRange,
) -> Result<Vec<Job>, VendorError> {
    let early = crate::clock::before(range.since, LONGEST_RUN);
    let snapshot_query = Query::filter(and([
        scope.cluster_filter(),
        Some(range.filter(
            "end_time",
            range.since,
            "start_time",
            mapping::SNAPSHOT_TASK_RUNNING,
        )),
    ]))
    .order("start_time_ASC");
    let with_backup = base.backup_supported();
    let task_kinds = if with_backup {
        json!({ "resource_type": "VmSnapshot" })
    } else {
        json!({ "OR": [{ "resource_type": "VmSnapshot" }, { "type": "BACKUP" }] })
    };
    let task_query = Query::filter(and([
        Some(task_kinds),
        Some(range.filter(
            "finished_at",
            range.since,
            "local_created_at",
            mapping::TASK_RUNNING,
        )),
    ]))
    .order("local_created_at_ASC");
    let executions = async {
        if !with_backup {
            return (Ok(Vec::new()), Ok(Vec::new()));
        }
        let q = Query::filter(range.filter(
            "local_created_at",
            early,
            "local_created_at",
            mapping::PLAN_EXECUTION_RUNNING,
        ))
        .order("local_created_at_ASC");
        let t = Query::filter(range.filter(
            "executed_at",
            early,
            "executed_at",
            mapping::TARGET_EXECUTION_RUNNING,
        ))
        .order("executed_at_ASC");
        tokio::join!(
            tower.list::<wire::BackupPlanExecution>("backup-plan-executions", &q),
            tower.list::<wire::BackupTargetExecution>("backup-target-executions", &t),
        )
    };
    let (snapshot_tasks, tasks, (plans, targets)) = tokio::join!(
        tower.list::<wire::SnapshotPlanTask>("snapshot-plan-tasks", &snapshot_query),
        tower.list::<wire::Task>("tasks", &task_query),
        executions,
    );
    let snapshot_tasks = skips.or_empty(
        CollectorKind::Jobs,
        part::SNAPSHOT_PLAN_TASKS,
        snapshot_tasks.map_err(Into::into),
    )?;
    let tasks = skips.or_empty(CollectorKind::Jobs, part::TASKS, tasks.map_err(Into::into))?;
    let plans = skips.or_empty(
        CollectorKind::Jobs,
        part::BACKUP_PLAN_EXECUTIONS,
        plans.map_err(Into::into),
    )?;
    let targets = skips.or_empty(
        CollectorKind::Jobs,
        part::BACKUP_TARGET_EXECUTIONS,
        targets.map_err(Into::into),
    )?;
    if !with_backup {
        skip_missing(
            skips,
            CollectorKind::Jobs,
            &[part::BACKUP_PLAN_EXECUTIONS, part::BACKUP_TARGET_EXECUTIONS],
        );
    }
    let mut jobs = snapshot_jobs(base, &snapshot_tasks);
    jobs.extend(backup_jobs(base, &plans, &targets));
    jobs.extend(task_jobs(base, &tasks, with_backup));
    jobs.retain(|j| range.keeps(j));
    jobs.sort_by(|a, b| (a.time(), &a.id).cmp(&(b.time(), &b.id)));
    Ok(jobs)
}

/// Where the tower's job history begins: the oldest snapshot plan run and (on towers that
/// have them) the oldest backup plan execution it still keeps; the later of the two. The
/// tower purges old records, so history is complete only from there.
pub(super) async fn history_begins(
    tower: &Tower,
    scope: &Scope,
    base: &Base,
    skips: &Skips,
) -> Result<Option<Timestamp>, VendorError> {
    let snapshot_query = Query::filter(and([scope.cluster_filter()])).order("start_time_ASC");
    let execution_query = Query::all().order("local_created_at_ASC");
    let executions = async {
        if base.backup_supported() {
            tower
                .first::<wire::BackupPlanExecution>("backup-plan-executions", &execution_query)
                .await
        } else {
            Ok(None)
        }
    };
    let (task, execution) = tokio::join!(
        tower.first::<wire::SnapshotPlanTask>("snapshot-plan-tasks", &snapshot_query),
        executions,
    );
    let task = skips
        .optional(
            CollectorKind::Jobs,
            part::SNAPSHOT_PLAN_TASKS,
            task.map_err(VendorError::from),
        )?
        .flatten()
        .and_then(|t| t.start_time);
    let execution = skips
        .optional(
            CollectorKind::Jobs,
            part::BACKUP_PLAN_EXECUTIONS,
            execution.map_err(VendorError::from),
        )?
        .flatten()
        .and_then(|e| e.local_created_at);
    Ok(task.max(execution))
}

fn plus(t: Timestamp, secs: u64) -> Option<Timestamp> {
    t.checked_add(SignedDuration::from_secs(secs.min(i64::MAX as u64) as i64))
        .ok()
}

/// A VM that did not exist yet was not part of the run.
fn existed(vm: &wire::Vm, at: Option<Timestamp>) -> bool {
    match (vm.local_created_at, at) {
        (Some(c), Some(a)) => c <= a,
        _ => true,
    }
}

pub(super) fn snapshot_jobs(base: &Base, tasks: &[wire::SnapshotPlanTask]) -> Vec<Job> {
    let mut jobs = Vec::new();
    for task in tasks {
        let Some(plan) = task.snapshot_plan.as_ref().and_then(|p| p.id.as_deref()) else {
            continue;
        };
        let word = task.status.as_deref().unwrap_or("");
        let result = mapping::job_result(word);
        let kind = mapping::snapshot_task_kind(task.task_type.as_deref());
        for &i in base.members.get(plan).into_iter().flatten() {
            let vm = &base.vms[i];
            if !existed(vm, task.start_time) {
                continue;
            }
            jobs.push(Job {
                id: format!("{}/{}", task.id, vm.id),
                object_id: vm.id.clone(),
                kind,
                result,
                vendor_status: word.to_owned(),
                start: task.start_time,
                end: if result == JobResult::Running {
                    None
                } else {
                    task.end_time
                },
                duration: None,
                transferred_bytes: None,
                error_code: None,
                error_message: None,
            });
        }
    }
    jobs
}

pub(super) fn backup_jobs(
    base: &Base,
    executions: &[wire::BackupPlanExecution],
    targets: &[wire::BackupTargetExecution],
) -> Vec<Job> {
    let mut jobs = Vec::new();
    let mut covered: HashSet<&str> = HashSet::new();
    for t in targets {
        if let Some(e) = t
            .backup_plan_execution
            .as_ref()
            .and_then(|e| e.id.as_deref())
        {
            covered.insert(e);
        }
        let vm =
            t.vm.as_ref()
                .and_then(|v| base.vm_index.get(v.id()))
                .or_else(|| {
                    t.vm_local_id
                        .as_ref()
                        .and_then(|l| base.vm_by_local_id.get(l))
                });
        let Some(&i) = vm else { continue };
        let word = t.status.as_deref().unwrap_or("");
        let result = mapping::job_result(word);
        let finished = result != JobResult::Running;
        let end = match (finished, t.executed_at, t.duration) {
            (true, Some(s), Some(d)) => plus(s, d),
            _ => None,
        };
        jobs.push(Job {
            id: t.id.clone(),
            object_id: base.vms[i].id.clone(),
            kind: JobKind::Backup,
            result,
            vendor_status: word.to_owned(),
            start: t.executed_at,
            end,
            duration: t.duration.filter(|_| finished).map(Duration::from_secs),
            transferred_bytes: t.read_bytes,
            error_code: None,
            error_message: None,
        });
    }
    for e in executions {
        if covered.contains(e.id.as_str()) {
            continue;
        }
        let Some(plan) = e.backup_plan.as_ref().and_then(|p| p.id.as_deref()) else {
            continue;
        };
        let word = e.status.as_deref().unwrap_or("");
        let result = mapping::job_result(word);
        let start = e.executed_at.or(e.local_created_at);
        let end = match (result, start, e.duration) {
            (JobResult::Running | JobResult::Missed, _, _) => None,
            (_, Some(s), Some(d)) => plus(s, d),
            _ => None,
        };
        for &i in base.members.get(plan).into_iter().flatten() {
            let vm = &base.vms[i];
            if !existed(vm, start) {
                continue;
            }
            jobs.push(Job {
                id: format!("{}/{}", e.id, vm.id),
                object_id: vm.id.clone(),
                kind: JobKind::Backup,
                result,
                vendor_status: word.to_owned(),
                start,
                end,
                duration: e
                    .duration
                    .filter(|_| end.is_some())
                    .map(Duration::from_secs),
                transferred_bytes: None,
                error_code: None,
                error_message: None,
            });
        }
    }
    jobs
}

/// The first `vm_id` anywhere in a task's arguments (`{"data":[{"vm_id":...}]}` for a
/// snapshot, `{"vm_id":...}` for others).
fn vm_id_in(args: &Value) -> Option<&str> {
    match args {
        Value::Object(m) => m
            .get("vm_id")
            .and_then(Value::as_str)
            .or_else(|| m.values().find_map(vm_id_in)),
        Value::Array(a) => a.iter().find_map(vm_id_in),
        _ => None,
    }
}

pub(super) fn task_jobs(base: &Base, tasks: &[wire::Task], with_backup: bool) -> Vec<Job> {
    let snapshots: std::collections::HashMap<&str, &wire::VmSnapshot> =
        base.snapshots.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut jobs = Vec::new();
    for task in tasks {
        let is_backup = task.task_type.as_deref() == Some("BACKUP");
        let is_snapshot = task.resource_type.as_deref() == Some("VmSnapshot");
        if is_backup && with_backup && !is_snapshot {
            // Backup plan executions are the record of these.
            continue;
        }
        if !is_backup && !is_snapshot {
            continue;
        }
        let snapshot = task
            .resource_id
            .as_deref()
            .filter(|_| is_snapshot)
            .and_then(|id| snapshots.get(id));
        if snapshot.is_some_and(|s| s.snapshot_group.as_ref().is_some_and(|g| g.id.is_some())) {
            // Made by a snapshot plan, whose run is already a job.
            continue;
        }
        let vm_id = vm_id_in(&task.args)
            .or_else(|| {
                task.resource_id
                    .as_deref()
                    .filter(|_| task.resource_type.as_deref() == Some("Vm"))
            })
            .or_else(|| snapshot.and_then(|s| s.vm.as_ref()?.id.as_deref()));
        let Some(vm) = vm_id.and_then(|id| base.vm(id)) else {
            continue;
        };
        let word = task.status.as_deref().unwrap_or("");
        let result = mapping::job_result(word);
        jobs.push(Job {
            id: task.id.clone(),
            object_id: vm.id.clone(),
            kind: JobKind::Backup,
            result,
            vendor_status: word.to_owned(),
            start: task.started_at.or(task.local_created_at),
            end: if result == JobResult::Running {
                None
            } else {
                task.finished_at
            },
            duration: None,
            transferred_bytes: None,
            error_code: task.error_code.clone(),
            error_message: task.error_message.clone(),
        });
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_id_is_found_in_nested_arguments() {
        let args = json!({"data": [{"name": "s1", "vm_id": "vm-7"}]});
        assert_eq!(vm_id_in(&args), Some("vm-7"));
        assert_eq!(vm_id_in(&json!({"vm_id": "vm-1", "x": 1})), Some("vm-1"));
        assert_eq!(vm_id_in(&json!({"Hash": "abc"})), None);
    }

    #[test]
    fn range_keeps_running_and_ended_inside() {
        let t = |s: i64| Timestamp::from_second(s).unwrap();
        let range = JobRange {
            since: t(100),
            until: Some(t(200)),
        };
        let job = |result, start: i64, end: Option<i64>| Job {
            id: "j".into(),
            object_id: "o".into(),
            kind: JobKind::Backup,
            result,
            vendor_status: String::new(),
            start: Some(t(start)),
            end: end.map(t),
            duration: None,
            transferred_bytes: None,
            error_code: None,
            error_message: None,
        };
        assert!(range.keeps(&job(JobResult::Success, 90, Some(150))));
        assert!(!range.keeps(&job(JobResult::Success, 10, Some(99))));
        assert!(!range.keeps(&job(JobResult::Success, 150, Some(200))));
        assert!(range.keeps(&job(JobResult::Running, 150, None)));
        assert!(!range.keeps(&job(JobResult::Running, 250, None)));
        assert!(range.keeps(&job(JobResult::Missed, 120, None)));
    }

    #[test]
    fn range_filter_bounds_both_branches() {
        let t = |s: i64| Timestamp::from_second(s).unwrap();
        let range = JobRange {
            since: t(0),
            until: Some(t(60)),
        };
        let f = range.filter("end_time", t(0), "start_time", &["IN_PROGRESS"]);
        assert_eq!(
            f,
            json!({"OR": [
                {"end_time_gte": "1970-01-01T00:00:00.000Z", "end_time_lt": "1970-01-01T00:01:00.000Z"},
                {"status_in": ["IN_PROGRESS"], "start_time_lt": "1970-01-01T00:01:00.000Z"}
            ]})
        );
    }
}
