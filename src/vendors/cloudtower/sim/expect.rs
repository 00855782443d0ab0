//! What an exporter reading this world should report, in the vendor-neutral model. It is
//! computed from the world's own records (runs, targets, alerts), not from the JSON the
//! simulator serves, so tests can compare an adapter's output with the truth.

use std::time::Duration;

use jiff::Timestamp;

use super::data::*;
use super::history::SnapRun;
use super::render::Tower;
use super::tasks::backup_task_status;
use crate::model::{
    AuditAction, AuditEvent, Job, JobKind, JobResult, Object, Severity, Storage, StoragePool,
    Warning,
};

/// The clusters a target is limited to (`None`: all).
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub clusters: Option<Vec<String>>,
}

impl Scope {
    pub fn all() -> Scope {
        Scope::default()
    }

    pub fn only(names: &[&str]) -> Scope {
        Scope {
            clusters: Some(names.iter().map(|n| (*n).to_owned()).collect()),
        }
    }

    fn has(&self, w: &World, cluster: usize) -> bool {
        self.clusters
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| *n == w.clusters[cluster].name))
    }
}

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_second(secs).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The model result of each word the simulator writes.
fn result_of(word: &str) -> JobResult {
    match word {
        "SUCCEED" | "SUCCESS" | "SUCCESSED" => JobResult::Success,
        "PARTIAL_SUCCESS" => JobResult::Warning,
        "ABORTED" => JobResult::Cancelled,
        "NEVER_EXECUTE" => JobResult::Missed,
        "CREATED" | "IN_PROGRESS" | "RUNNING" | "PENDING" | "EXECUTING" | "WAITING_EXECUTE" => {
            JobResult::Running
        }
        _ => JobResult::Failed,
    }
}

fn job(id: String, vm: &VmDef, word: &str, start: i64, end: Option<i64>) -> Job {
    let result = result_of(word);
    Job {
        id,
        object_id: vm.id.clone(),
        kind: JobKind::Backup,
        result,
        vendor_status: word.to_owned(),
        start: Some(ts(start)),
        end: end.filter(|_| result != JobResult::Running).map(ts),
        duration: None,
        transferred_bytes: None,
        error_code: None,
        error_message: None,
    }
}

fn max_gap_minutes(points: &[(i64, i64)]) -> i64 {
    let mut m: Vec<i64> = points.iter().map(|(h, mi)| h * 60 + mi).collect();
    m.sort_unstable();
    let mut gap = m[0] + 24 * 60 - m[m.len() - 1];
    for w in m.windows(2) {
        gap = gap.max(w[1] - w[0]);
    }
    gap
}

impl World {
    fn in_scope(&self, scope: &Scope, vm: usize) -> bool {
        self.vms[vm].role != Role::Deleted && scope.has(self, self.vms[vm].cluster)
    }

    /// The VMs as objects (the one in the recycle bin is not one).
    pub fn expected_objects(&self, now: Timestamp, tower: Tower, scope: &Scope) -> Vec<Object> {
        let now = now.as_second();
        let snapshots = self.vm_snapshots(now);
        let points = if tower == Tower::Current {
            self.restore_points(now)
        } else {
            Vec::new()
        };
        let mut out = Vec::new();
        for (i, vm) in self.vms.iter().enumerate() {
            if !self.in_scope(scope, i) {
                continue;
            }
            let mut names: Vec<&str> = Vec::new();
            let mut rpo: Option<Duration> = None;
            let mut protected = false;
            if let Some(p) = vm.snapshot_plan {
                let plan = &self.snapshot_plans[p];
                names.push(&plan.name);
                if plan.suspended_at.is_none() {
                    protected = true;
                    let c = Duration::from_secs(plan.schedule.period() as u64);
                    rpo = Some(rpo.map_or(c, |r| r.min(c)));
                }
            }
            if tower == Tower::Current {
                for &p in &vm.backup_plans {
                    let plan = &self.backup_plans[p];
                    names.push(&plan.name);
                    if plan.paused_at.is_none() {
                        protected = true;
                        let c = Duration::from_secs(max_gap_minutes(&plan.points) as u64 * 60)
                            .min(Duration::from_secs(7 * DAY as u64));
                        rpo = Some(rpo.map_or(c, |r| r.min(c)));
                    }
                }
            }
            names.sort_unstable();
            let mine_snap: Vec<i64> = snapshots
                .iter()
                .filter(|s| s.vm == i)
                .map(|s| s.at)
                .collect();
            let mine_rp: Vec<_> = points.iter().filter(|r| r.target.vm == i).collect();
            let latest = mine_snap
                .iter()
                .copied()
                .chain(mine_rp.iter().map(|r| r.target.end))
                .max()
                .map(ts);
            out.push(Object {
                id: vm.id.clone(),
                name: vm.name.clone(),
                object_type: "vm".into(),
                tenant: self.clusters[vm.cluster].name.clone(),
                policy: names.join(", "),
                protected,
                created: Some(ts(vm.created)),
                history_start: None,
                policy_rpo: rpo,
                protected_bytes: Some(vm.used),
                stored_bytes: (!mine_rp.is_empty())
                    .then(|| mine_rp.iter().map(|r| r.physical_size()).sum()),
                restore_points: Some((mine_snap.len() + mine_rp.len()) as u64),
                latest_restore_point: latest,
                last_success_hint: latest,
            });
        }
        out
    }

    /// The objects a report reads: as [`World::expected_objects`], with `history_start`
    /// where the tower's retained history begins after the VM was created.
    pub fn expected_history_objects(
        &self,
        now: Timestamp,
        tower: Tower,
        scope: &Scope,
    ) -> Vec<Object> {
        let now_s = now.as_second();
        let first_snapshot = (0..self.snapshot_plans.len())
            .filter(|p| scope.has(self, self.snapshot_plans[*p].cluster))
            .filter_map(|p| {
                self.snapshot_runs(p, now_s - RETENTION, now_s)
                    .first()
                    .map(|r| r.start)
            })
            .min();
        let first_execution = if tower == Tower::Current {
            (0..self.backup_plans.len())
                .filter_map(|p| {
                    self.backup_runs(p, now_s - RETENTION, now_s)
                        .first()
                        .map(|r| r.slot)
                })
                .min()
        } else {
            None
        };
        let begins = first_snapshot.max(first_execution).map(ts);
        let mut objects = self.expected_objects(now, tower, scope);
        for o in &mut objects {
            if let Some(b) = begins
                && o.created.is_some_and(|c| c < b)
            {
                o.history_start = Some(b);
            }
        }
        objects
    }

    fn expected_snapshot_jobs(&self, scope: &Scope, from: i64, now: i64, out: &mut Vec<Job>) {
        for p in 0..self.snapshot_plans.len() {
            if !scope.has(self, self.snapshot_plans[p].cluster) {
                continue;
            }
            let runs: Vec<SnapRun> = self.snapshot_runs(p, from, now);
            for r in runs {
                for vm in self.snapshot_members(p) {
                    if self.vms[vm].created > r.start {
                        continue;
                    }
                    let id = format!("{}/{}", self.snapshot_task_id(p, r.n), self.vms[vm].id);
                    out.push(job(id, &self.vms[vm], r.status, r.start, Some(r.end)));
                }
            }
        }
    }

    fn expected_backup_jobs(&self, scope: &Scope, from: i64, now: i64, out: &mut Vec<Job>) {
        for p in 0..self.backup_plans.len() {
            for r in self.backup_runs(p, from.max(now - RETENTION), now) {
                if r.slot >= now - TARGET_RETENTION && !r.targets.is_empty() {
                    for t in r.targets.iter().filter(|t| self.in_scope(scope, t.vm)) {
                        let id = self.target_execution_id(p, r.n, t.vm);
                        let mut j = job(id, &self.vms[t.vm], t.status, t.start, Some(t.end));
                        if t.finished() {
                            j.duration = Some(Duration::from_secs((t.end - t.start) as u64));
                        }
                        j.transferred_bytes = Some(t.read_bytes);
                        out.push(j);
                    }
                    continue;
                }
                let start = r.executed_at.unwrap_or(r.slot);
                for vm in self.backup_members(p) {
                    if !self.in_scope(scope, vm) || self.vms[vm].created > start {
                        continue;
                    }
                    let id = format!("{}/{}", self.execution_id(p, r.n), self.vms[vm].id);
                    let end = r.duration.map(|d| start + d);
                    let mut j = job(id, &self.vms[vm], r.status, start, end);
                    if j.result == JobResult::Missed {
                        j.end = None;
                    }
                    if j.end.is_some() {
                        j.duration = r.duration.map(|d| Duration::from_secs(d as u64));
                    }
                    out.push(j);
                }
            }
        }
    }

    fn expected_task_jobs(
        &self,
        tower: Tower,
        scope: &Scope,
        from: i64,
        now: i64,
        out: &mut Vec<Job>,
    ) {
        for vm in 0..self.vms.len() {
            if !self.in_scope(scope, vm) {
                continue;
            }
            for r in self.manual_runs(vm, from.max(now - RETENTION), now) {
                let start = if now >= r.start { r.start } else { r.slot };
                let mut j = job(
                    self.manual_task_id(vm, r.n),
                    &self.vms[vm],
                    r.status,
                    start,
                    Some(r.end),
                );
                if r.status == "FAILED" {
                    j.error_code = Some("VM_SNAPSHOT_CREATE_FAILED".into());
                    j.error_message =
                        Some("Failed to create the snapshot: the storage volume is busy.".into());
                }
                out.push(j);
            }
        }
        let (vm, start) = self.stuck;
        if now >= start && self.in_scope(scope, vm) {
            out.push(job(
                self.stuck_task_id(),
                &self.vms[vm],
                "EXECUTING",
                start,
                None,
            ));
        }
        if tower == Tower::Old {
            for p in 0..self.backup_plans.len() {
                for r in self.backup_runs(p, from.max(now - RETENTION), now) {
                    for t in r.targets.iter().filter(|t| self.in_scope(scope, t.vm)) {
                        let start = if now >= t.start { t.start } else { r.slot };
                        let word = backup_task_status(t.status);
                        let mut j = job(
                            self.backup_task_id(p, r.n, t.vm),
                            &self.vms[t.vm],
                            word,
                            start,
                            Some(t.end),
                        );
                        match t.status {
                            "FAILED" => {
                                j.error_code = Some("BACKUP_FAILED".into());
                                j.error_message = Some("Reading the VM volumes failed.".into());
                            }
                            "ABORTED" => {
                                j.error_code = Some("BACKUP_ABORTED".into());
                                j.error_message = Some("The backup was aborted.".into());
                            }
                            _ => {}
                        }
                        out.push(j);
                    }
                }
            }
        }
    }

    /// Jobs that ended in `[since, until)` (until: now when `None`), plus those running
    /// that started before `until`, sorted by time and id.
    pub fn expected_jobs(
        &self,
        now: Timestamp,
        since: Timestamp,
        until: Option<Timestamp>,
        tower: Tower,
        scope: &Scope,
    ) -> Vec<Job> {
        let now_s = now.as_second();
        let from = since.as_second() - 2 * DAY;
        let mut out = Vec::new();
        self.expected_snapshot_jobs(scope, from, now_s, &mut out);
        if tower == Tower::Current {
            self.expected_backup_jobs(scope, from, now_s, &mut out);
        }
        self.expected_task_jobs(tower, scope, from, now_s, &mut out);
        out.retain(|j| {
            if j.result == JobResult::Running {
                return until.is_none_or(|u| j.start.is_some_and(|s| s < u));
            }
            j.time()
                .is_some_and(|t| t >= since && until.is_none_or(|u| t < u))
        });
        out.sort_by(|a, b| (a.time(), &a.id).cmp(&(b.time(), &b.id)));
        out
    }

    /// Active alerts, sorted by (tenant, category, message, object).
    pub fn expected_warnings(&self, now: Timestamp, scope: &Scope) -> Vec<Warning> {
        let mut out: Vec<Warning> = self
            .alerts(now.as_second())
            .into_iter()
            .filter(|a| a.active(now.as_second()) && scope.has(self, a.cluster))
            .map(|a| Warning {
                object_id: a.vm.map(|v| self.vms[v].id.clone()),
                tenant: self.clusters[a.cluster].name.clone(),
                severity: match a.severity {
                    "CRITICAL" => Severity::Critical,
                    "NOTICE" => Severity::Warning,
                    _ => Severity::Info,
                },
                category: match a.rule.map(|r| self.rules[r].object) {
                    Some("VM") => "vm",
                    Some("SNAPSHOT_PLAN") => "snapshot_plan",
                    Some("DISK") => "storage",
                    Some("PHYSICAL_HOST") => "host",
                    _ => "cluster",
                }
                .to_owned(),
                message: a.message,
            })
            .collect();
        sort_warnings(&mut out);
        out
    }

    /// User audit events in `[since, until)`.
    pub fn expected_audit(
        &self,
        since: Timestamp,
        until: Timestamp,
        scope: &Scope,
    ) -> Vec<AuditEvent> {
        self.audit(since.as_second(), until.as_second())
            .into_iter()
            .filter(|e| e.vm.is_none_or(|v| scope.has(self, self.vms[v].cluster)))
            .map(|e| {
                let failed = e.status == "FAILED";
                let action = match (e.action, failed) {
                    ("Login", false) => AuditAction::Login,
                    ("Login", true) => AuditAction::LoginFailed,
                    (_, true) => AuditAction::Error,
                    ("Create VM snapshot" | "Create backup plan", _) => AuditAction::Create,
                    ("Update snapshot plan" | "Edit VM", _) => AuditAction::Modify,
                    ("Delete VM snapshot" | "Remove host", _) => AuditAction::Delete,
                    _ => AuditAction::Other,
                };
                let object = match (e.resource_type, e.vm) {
                    (Some("Vm"), Some(v)) => format!("Vm {}", self.vms[v].id),
                    (Some(t), _) => format!("{t} {}", self.audit_resource_id(e.j)),
                    (None, _) => String::new(),
                };
                AuditEvent {
                    id: cuid(self.seed, &format!("audit:{}", e.j)),
                    time: ts(e.time),
                    tenant: e
                        .vm
                        .map(|v| self.clusters[self.vms[v].cluster].name.clone())
                        .unwrap_or_default(),
                    actor: e.user.to_owned(),
                    action,
                    object,
                    message: e.message,
                }
            })
            .collect()
    }

    /// Clusters in scope, then (on a current tower) the backup stores; sorted by name.
    pub fn expected_storage(&self, now: Timestamp, tower: Tower, scope: &Scope) -> Storage {
        let now = now.as_second();
        let mut pools: Vec<StoragePool> = (0..self.clusters.len())
            .filter(|c| scope.has(self, *c))
            .map(|c| StoragePool {
                name: self.clusters[c].name.clone(),
                capacity_bytes: Some(self.clusters[c].capacity),
                used_bytes: Some(self.cluster_used(c, now)),
            })
            .collect();
        if tower == Tower::Current {
            pools.extend(self.stores.iter().enumerate().map(|(s, st)| StoragePool {
                name: st.name.clone(),
                capacity_bytes: Some(st.capacity),
                used_bytes: Some(self.store_used(s, now)),
            }));
        }
        pools.sort_by(|a, b| a.name.cmp(&b.name));
        Storage {
            pools,
            tenants: Vec::new(),
            objects: Vec::new(),
        }
    }
}

/// The order [`World::expected_warnings`] uses, for comparing with an adapter's output.
pub fn sort_warnings(w: &mut [Warning]) {
    w.sort_by(|a, b| {
        (&a.tenant, &a.category, &a.message, &a.object_id).cmp(&(
            &b.tenant,
            &b.category,
            &b.message,
            &b.object_id,
        ))
    });
}
