//! What the world's schedules produced up to "now": snapshot plan runs, backup plan runs
//! with their per-VM backups, manual snapshots and the restore points they left.

use super::data::*;
use crate::sim::unit;

#[derive(Clone, Debug)]
pub struct SnapRun {
    pub plan: usize,
    pub n: i64,
    pub slot: i64,
    pub start: i64,
    pub end: i64,
    /// `SnapshotPlanExecuteStatus` as of now.
    pub status: &'static str,
}

impl SnapRun {
    pub fn finished(&self) -> bool {
        matches!(self.status, "SUCCEED" | "FAILED")
    }
}

#[derive(Clone, Debug)]
pub struct TargetRun {
    pub vm: usize,
    pub start: i64,
    pub end: i64,
    /// `BackupExecutionStatus` as of now.
    pub status: &'static str,
    pub read_bytes: u64,
    pub total_bytes: u64,
}

impl TargetRun {
    pub fn finished(&self) -> bool {
        matches!(self.status, "SUCCESS" | "FAILED" | "ABORTED")
    }
}

#[derive(Clone, Debug)]
pub struct BackupRun {
    pub plan: usize,
    pub n: i64,
    pub slot: i64,
    /// `BackupPlanExecutionStatus` as of now.
    pub status: &'static str,
    pub executed_at: Option<i64>,
    pub duration: Option<i64>,
    pub full: bool,
    pub message: Option<&'static str>,
    pub targets: Vec<TargetRun>,
}

#[derive(Clone, Debug)]
pub struct ManualRun {
    pub vm: usize,
    pub n: i64,
    pub slot: i64,
    pub start: i64,
    pub end: i64,
    /// `TaskStatus` as of now.
    pub status: &'static str,
}

impl World {
    pub(super) fn u(&self, key: &str, n: i64) -> f64 {
        unit(self.seed, key, n as u64)
    }

    /// Runs of a snapshot plan whose slot is in `[from, now]`.
    pub fn snapshot_runs(&self, plan: usize, from: i64, now: i64) -> Vec<SnapRun> {
        let p = &self.snapshot_plans[plan];
        let to = p.suspended_at.map_or(now, |s| now.min(s - 1));
        let key = format!("snap:{plan}");
        let mut runs = Vec::new();
        for (n, slot) in slots(
            p.schedule.period(),
            p.schedule.offset(),
            from.max(p.created),
            to,
        ) {
            let u = self.u(&key, n);
            if u < 0.03 {
                continue; // the tower was busy: no run at all
            }
            let start = slot + 5 + (self.u(&format!("{key}:start"), n) * 40.0) as i64;
            let end = start + 40 + (self.u(&format!("{key}:len"), n) * 260.0) as i64;
            let status = if now < start {
                "CREATED"
            } else if now < end {
                "IN_PROGRESS"
            } else if u < 0.09 {
                "FAILED"
            } else {
                "SUCCEED"
            };
            runs.push(SnapRun {
                plan,
                n,
                slot,
                start,
                end,
                status,
            });
        }
        runs
    }

    fn target_outcome(&self, plan: usize, vm: usize, n: i64, slot: i64) -> &'static str {
        match self.vms[vm].role {
            Role::NeverSucceeded => return "FAILED",
            Role::FailingRecently if slot >= self.anchor - 4 * DAY => return "FAILED",
            _ => {}
        }
        let v = self.u(&format!("bt:{plan}:{vm}"), n);
        if v < 0.04 {
            "FAILED"
        } else if v < 0.055 {
            "ABORTED"
        } else {
            "SUCCESS"
        }
    }

    /// Runs of a backup plan whose slot is in `[from, now]`, each with its per-VM backups.
    pub fn backup_runs(&self, plan: usize, from: i64, now: i64) -> Vec<BackupRun> {
        let p = &self.backup_plans[plan];
        let to = p.paused_at.map_or(now, |s| now.min(s - 1));
        let from = from.max(p.created);
        let key = format!("backup:{plan}");
        let members: Vec<usize> = self.backup_members(plan).collect();
        let per_day = p.points.len() as i64;
        let mut runs = Vec::new();
        for d in from.div_euclid(DAY)..=to.div_euclid(DAY) {
            for (i, (h, m)) in p.points.iter().enumerate() {
                let slot = d * DAY + h * HOUR + m * MINUTE;
                if slot < from || slot > to {
                    continue;
                }
                let n = d * per_day + i as i64;
                let full = (d + 4).rem_euclid(7) == p.full_weekday;
                let u = self.u(&key, n);
                let mut run = BackupRun {
                    plan,
                    n,
                    slot,
                    status: "SUCCESS",
                    executed_at: Some(slot),
                    duration: None,
                    full,
                    message: None,
                    targets: Vec::new(),
                };
                if u < 0.025 {
                    run.status = if now >= slot + HOUR {
                        "NEVER_EXECUTE"
                    } else {
                        "WAITING_EXECUTE"
                    };
                    run.executed_at = None;
                    run.message =
                        Some("The backup window passed before the execution could start.");
                } else if u < 0.05 {
                    run.executed_at = Some(slot + 3);
                    if now < slot + 7 {
                        run.status = "RUNNING";
                    } else {
                        run.status = "FAILED";
                        run.duration = Some(4);
                        run.message = Some("The backup store repository is disconnected.");
                    }
                } else {
                    let alive = members.iter().filter(|v| self.vms[**v].created <= slot);
                    for (k, &vm) in alive.enumerate() {
                        let start = slot + 10 + 30 * k as i64;
                        let len = (90.0 + self.u(&format!("bt-len:{plan}:{vm}"), n) * 1200.0)
                            as i64
                            * if full { 3 } else { 1 };
                        let end = start + len;
                        let used = self.vms[vm].used;
                        let expected = if full {
                            used
                        } else {
                            (used as f64 * (0.02 + 0.08 * self.u(&format!("bt-delta:{vm}"), n)))
                                as u64
                        };
                        let (status, read) = if now < start {
                            ("PENDING", 0)
                        } else if now < end {
                            (
                                "RUNNING",
                                (expected as f64 * (now - start) as f64 / len as f64) as u64,
                            )
                        } else {
                            match self.target_outcome(plan, vm, n, slot) {
                                "SUCCESS" => ("SUCCESS", expected),
                                other => (other, expected / 7),
                            }
                        };
                        run.targets.push(TargetRun {
                            vm,
                            start,
                            end,
                            status,
                            read_bytes: read,
                            total_bytes: used,
                        });
                    }
                    let done = run.targets.iter().all(TargetRun::finished);
                    let ok = run.targets.iter().filter(|t| t.status == "SUCCESS").count();
                    run.status = if !done {
                        "RUNNING"
                    } else if ok == run.targets.len() {
                        "SUCCESS"
                    } else if ok == 0 {
                        "FAILED"
                    } else {
                        "PARTIAL_SUCCESS"
                    };
                    if done {
                        let last = run.targets.iter().map(|t| t.end).max().unwrap_or(slot + 10);
                        run.duration = Some(last - slot);
                    }
                }
                if now >= slot {
                    runs.push(run);
                }
            }
        }
        runs
    }

    /// Snapshots an admin takes by hand of the VMs that have them, every three days.
    pub fn manual_runs(&self, vm: usize, from: i64, now: i64) -> Vec<ManualRun> {
        let v = &self.vms[vm];
        if !v.manual {
            return Vec::new();
        }
        let key = format!("manual:{vm}");
        slots(
            3 * DAY,
            15 * HOUR + 7 * MINUTE * vm as i64,
            from.max(v.created),
            now,
        )
        .map(|(n, slot)| {
            let start = slot + 2;
            let end = start + 20 + (self.u(&format!("{key}:len"), n) * 60.0) as i64;
            let status = if now < start {
                "PENDING"
            } else if now < end {
                "EXECUTING"
            } else if self.u(&key, n) < 0.2 {
                "FAILED"
            } else {
                "SUCCESSED"
            };
            ManualRun {
                vm,
                n,
                slot,
                start,
                end,
                status,
            }
        })
        .collect()
    }

    /// The snapshots that exist now: the last `keep` successful runs of every snapshot
    /// plan (of the VMs in it then), and the last four successful manual snapshots.
    pub fn vm_snapshots(&self, now: i64) -> Vec<SnapshotInst> {
        let mut out = Vec::new();
        for (p, plan) in self.snapshot_plans.iter().enumerate() {
            let until = plan.suspended_at.map_or(now, |s| now.min(s));
            let from = until - (plan.keep as i64 + 4) * plan.schedule.period();
            let ok: Vec<SnapRun> = self
                .snapshot_runs(p, from, now)
                .into_iter()
                .filter(|r| r.status == "SUCCEED")
                .collect();
            for r in ok.iter().rev().take(plan.keep) {
                for vm in self.snapshot_members(p) {
                    if self.vms[vm].created <= r.start {
                        let id = cuid(self.seed, &format!("vs:{p}:{}:{vm}", r.n));
                        out.push(SnapshotInst {
                            vm,
                            plan_run: Some((p, r.n)),
                            n: r.n,
                            at: r.end,
                            id,
                        });
                    }
                }
            }
        }
        for vm in 0..self.vms.len() {
            let runs = self.manual_runs(vm, now - 30 * DAY, now);
            for r in runs
                .iter()
                .rev()
                .filter(|r| r.status == "SUCCESSED")
                .take(4)
            {
                out.push(SnapshotInst {
                    vm,
                    plan_run: None,
                    n: r.n,
                    at: r.end,
                    id: self.manual_snapshot_id(vm, r.n),
                });
            }
        }
        out
    }

    pub fn manual_snapshot_id(&self, vm: usize, n: i64) -> String {
        cuid(self.seed, &format!("vs-manual:{vm}:{n}"))
    }

    /// The backup restore points that exist now: per plan and VM, the last `keep`
    /// successful backups.
    pub fn restore_points(&self, now: i64) -> Vec<RestorePointInst> {
        let mut out = Vec::new();
        for (p, plan) in self.backup_plans.iter().enumerate() {
            // Newest run first; each VM keeps its first `keep` successes.
            let mut kept = vec![0usize; self.vms.len()];
            for r in self.backup_runs(p, now - RETENTION, now).iter().rev() {
                for t in r.targets.iter().filter(|t| t.status == "SUCCESS") {
                    if kept[t.vm] < plan.keep {
                        kept[t.vm] += 1;
                        out.push(RestorePointInst {
                            plan: p,
                            n: r.n,
                            full: r.full,
                            target: t.clone(),
                        });
                    }
                }
            }
        }
        out
    }
}

#[derive(Clone, Debug)]
pub struct RestorePointInst {
    pub plan: usize,
    pub n: i64,
    pub full: bool,
    pub target: TargetRun,
}

impl RestorePointInst {
    /// What the restore point occupies on the backup store (compressed).
    pub fn physical_size(&self) -> u64 {
        self.target.read_bytes / 100 * 55
    }
}

/// A VM snapshot that exists: made by a snapshot plan's run `(plan, n)`, or by hand.
#[derive(Clone, Debug)]
pub struct SnapshotInst {
    pub vm: usize,
    pub plan_run: Option<(usize, i64)>,
    /// The run of the plan or of the manual snapshot schedule.
    pub n: i64,
    pub at: i64,
    pub id: String,
}
