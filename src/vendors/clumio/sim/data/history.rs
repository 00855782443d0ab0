//! Runs on schedules: the tasks of any time range as of any moment, and the backups that
//! completed runs leave behind.

use super::{ANCHOR, Asset, DAY, GIB, GLOBAL, HOUR, Kind, Plan, World, uuid};
use crate::sim::{mix, unit};

/// A run's outcome before the clock says how far it got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Completed,
    Failed,
    Aborted,
    Missed,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub id: u64,
    /// Index into `World::assets`; `None` for organization tasks (policy updates).
    pub asset: Option<usize>,
    pub task_type: &'static str,
    pub category: &'static str,
    pub status: &'static str,
    pub created: i64,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub progress: u8,
}

impl Task {
    pub fn genre(&self) -> &'static str {
        match self.category {
            "backup" | "restore" | "snapshot" | "snapshot_restore" => "operational",
            _ => "administrative",
        }
    }

    pub fn is_backup(&self) -> bool {
        self.category == "backup" && !self.task_type.ends_with("_indexing")
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Backup {
    pub id: String,
    pub asset: usize,
    pub start: i64,
    pub expiration: i64,
    /// EBS, EC2, RDS: GiB.
    pub size_gib: u64,
    pub utilized_bytes: u64,
    /// Protection groups.
    pub backed_up_bytes: u64,
}

impl World {
    fn operation_prefix(kind: Kind) -> &'static str {
        match kind {
            Kind::Ebs => "aws_ebs_volume_",
            Kind::Ec2 => "aws_ec2_instance_",
            Kind::ProtectionGroup => "protection_group_",
            Kind::Rds => "aws_rds_resource_",
        }
    }

    /// The schedule of an asset: its run interval and how long backups are kept.
    pub fn schedule(&self, a: &Asset) -> Option<(i64, i64)> {
        if a.plan == Plan::Unscheduled || a.deleted {
            return None;
        }
        let policy = self.policy(a.policy?)?;
        policy
            .operations
            .iter()
            .filter(|o| o.op_type.starts_with(Self::operation_prefix(a.kind)))
            .flat_map(|o| o.slas.iter())
            .filter_map(|s| {
                let unit = match s.unit {
                    "hours" => HOUR,
                    "days" => DAY,
                    "weeks" | "weekly" => 7 * DAY,
                    _ => return None,
                };
                Some((unit * s.value.unwrap_or(1), s.retention_days * DAY))
            })
            .min()
    }

    fn phase(&self, a: &Asset, every: i64) -> i64 {
        match a.plan {
            // At `origin` the current run has waited 10 minutes and the previous one runs.
            Plan::Queueing => (self.origin - 10 * 60 - ANCHOR).rem_euclid(every),
            // At `origin` the current run is in its aborting phase.
            Plan::Aborting => (self.origin - 25 * 60 - ANCHOR).rem_euclid(every),
            _ => (mix(self.seed, &a.id, 0) % every as u64) as i64,
        }
    }

    fn outcome(&self, a: &Asset, n: u64, slot: i64) -> Outcome {
        let u = unit(self.seed, &a.id, n);
        match a.plan {
            Plan::NeverSucceeds if u < 0.25 => Outcome::Aborted,
            Plan::NeverSucceeds => Outcome::Failed,
            Plan::FailingSince(t) if slot >= t => Outcome::Failed,
            Plan::Queueing => Outcome::Completed,
            Plan::Aborting => Outcome::Aborted,
            _ => {
                // Most assets back up reliably; a quarter are flaky. Failures on a few
                // problem assets, not everywhere, is what real fleets look like.
                let (ok, failed, aborted) = if self.is_flaky(a) {
                    (0.85, 0.93, 0.96)
                } else {
                    (0.985, 0.992, 0.996)
                };
                if u < ok {
                    Outcome::Completed
                } else if u < failed {
                    Outcome::Failed
                } else if u < aborted {
                    Outcome::Aborted
                } else {
                    Outcome::Missed
                }
            }
        }
    }

    pub fn is_flaky(&self, a: &Asset) -> bool {
        a.plan == Plan::Normal && unit(self.seed, &a.id, 424_242) < 0.25
    }

    /// Scheduled backup runs created within `[from, to]` and no later than `now`, with the
    /// indexing tasks that follow EBS backups.
    fn backup_tasks(&self, a: &Asset, from: i64, to: i64, now: i64, out: &mut Vec<Task>) {
        let Some((every, _)) = self.schedule(a) else {
            return;
        };
        let phase = self.phase(a, every);
        let lo = from.max(a.created).max(ANCHOR);
        let hi = to.min(now);
        if hi < lo {
            return;
        }
        let first_run = (a.created - ANCHOR - phase).max(0).div_euclid(every)
            + i64::from((a.created - ANCHOR - phase).rem_euclid(every) != 0);
        let n_lo = (lo - ANCHOR - phase - 60).max(0).div_euclid(every);
        let n_hi = (hi - ANCHOR - phase).div_euclid(every);
        for n in n_lo..=n_hi {
            let slot = ANCHOR + phase + n * every;
            let nu = n as u64;
            let created = slot;
            if created < lo || created > hi || slot < a.created {
                continue;
            }
            let outcome = self.outcome(a, nu, slot);
            if outcome == Outcome::Missed {
                continue;
            }
            let (delay, duration, abort_phase) = match a.plan {
                Plan::Queueing => (50 * 60, 60 * 60, 0),
                Plan::Aborting => (60, 30 * 60, 10 * 60),
                _ => {
                    // Runs end at the same offset into their slot, so consecutive successes
                    // are exactly one interval apart; how long each waited and ran varies.
                    let finish = 20 * 60 + (mix(self.seed, &a.id, 7) % 3_000) as i64;
                    let d = 300
                        + (unit(self.seed, &a.id, nu + 1_000_000) * (finish - 420) as f64) as i64;
                    (finish - d, d, d / 5)
                }
            };
            let final_status = match outcome {
                Outcome::Completed => "completed",
                Outcome::Failed => "failed",
                _ => "aborted",
            };
            let task = progress(
                Task {
                    id: task_id(a.index, 0, nu),
                    asset: Some(a.index),
                    task_type: a.kind.backup_type(n == first_run),
                    category: "backup",
                    status: final_status,
                    created,
                    start: Some(created + delay),
                    end: Some(created + delay + duration),
                    progress: 100,
                },
                now,
                (outcome == Outcome::Aborted).then_some(abort_phase),
            );
            let finished_ok = task.status == "completed";
            let end = task.end;
            out.push(task);
            if a.kind == Kind::Ebs
                && finished_ok
                && let Some(end) = end
                && end <= hi
                && end >= lo
            {
                let failed = unit(self.seed, "index", nu ^ a.index as u64) < 0.05;
                out.push(progress(
                    Task {
                        id: task_id(a.index, 1, nu),
                        asset: Some(a.index),
                        task_type: "aws_ebs_volume_backup_indexing",
                        category: "backup",
                        status: if failed { "failed" } else { "completed" },
                        created: end,
                        start: Some(end + 20),
                        end: Some(end + 200),
                        progress: 100,
                    },
                    now,
                    None,
                ));
            }
        }
    }

    /// Occasional restores (about one in 30 asset-days) and a daily policy update.
    fn other_tasks(&self, from: i64, to: i64, now: i64, out: &mut Vec<Task>) {
        let hi = to.min(now);
        if hi < from {
            return;
        }
        for day in (from.max(ANCHOR) - ANCHOR) / DAY..=(hi - ANCHOR) / DAY {
            let d = day as u64;
            let base = ANCHOR + day * DAY;
            let created = base + 3 * HOUR;
            if (from..=hi).contains(&created) {
                out.push(progress(
                    Task {
                        id: task_id(usize::MAX, 3, d),
                        asset: None,
                        task_type: "policy_update",
                        category: "management",
                        status: "completed",
                        created,
                        start: Some(created + 5),
                        end: Some(created + 65),
                        progress: 100,
                    },
                    now,
                    None,
                ));
            }
            for a in &self.assets {
                if self.schedule(a).is_none()
                    || unit(self.seed, &format!("{}/restore", a.id), d) >= 0.033
                {
                    continue;
                }
                let created = base
                    + 14 * HOUR
                    + (unit(self.seed, &a.id, d + 7_000_000) * 3.0 * 3600.0) as i64;
                if !(from..=hi).contains(&created) || created < a.created {
                    continue;
                }
                let ok = unit(self.seed, &a.id, d + 8_000_000) < 0.75;
                let duration = 600 + (unit(self.seed, &a.id, d + 9_000_000) * 1800.0) as i64;
                out.push(progress(
                    Task {
                        id: task_id(a.index, 2, d),
                        asset: Some(a.index),
                        task_type: a.kind.restore_type(),
                        category: "restore",
                        status: if ok { "completed" } else { "failed" },
                        created,
                        start: Some(created + 10),
                        end: Some(created + 10 + duration),
                        progress: 100,
                    },
                    now,
                    None,
                ));
            }
        }
    }

    /// Every task created within `[from, to]` as of `now`, newest first.
    pub fn tasks(&self, from: i64, to: i64, now: i64) -> Vec<Task> {
        let mut out = Vec::new();
        for a in &self.assets {
            self.backup_tasks(a, from, to, now, &mut out);
        }
        self.other_tasks(from, to, now, &mut out);
        out.sort_by(|a, b| b.created.cmp(&a.created).then(b.id.cmp(&a.id)));
        out
    }

    /// The OU a task belongs to.
    pub fn task_ou(&self, t: &Task) -> &'static str {
        t.asset.map(|i| self.assets[i].ou).unwrap_or(GLOBAL)
    }

    /// The backups of an asset that exist at `now`, newest first: one per completed
    /// scheduled run, kept for the policy's retention.
    pub fn backups(&self, a: &Asset, now: i64) -> Vec<Backup> {
        let Some((every, retention)) = self.schedule(a) else {
            return Vec::new();
        };
        let mut tasks = Vec::new();
        self.backup_tasks(a, now - retention - every - DAY, now, now, &mut tasks);
        let mut out: Vec<Backup> = tasks
            .iter()
            .filter(|t| t.is_backup() && t.status == "completed")
            .filter_map(|t| {
                let start = t.start?;
                (start + retention > now).then(|| {
                    let n = t.id & 0x0fff_ffff;
                    let u = unit(self.seed, "backup-size", n ^ (a.index as u64) << 40);
                    let size_gib = match a.kind {
                        Kind::Ebs | Kind::Rds => a.size_bytes.div_ceil(GIB),
                        Kind::Ec2 => a.ec2_gib,
                        Kind::ProtectionGroup => 0,
                    };
                    Backup {
                        id: uuid(self.seed, &a.id, n),
                        asset: a.index,
                        start,
                        expiration: start + retention,
                        size_gib,
                        utilized_bytes: (size_gib as f64 * GIB as f64 * (0.25 + 0.5 * u)) as u64,
                        backed_up_bytes: (a.size_bytes as f64 * (0.9 + 0.2 * u)) as u64,
                    }
                })
            })
            .collect();
        out.sort_by_key(|b| std::cmp::Reverse(b.start));
        out
    }
}

/// Numeric task ids: unique per (asset, task sort, run).
fn task_id(asset: usize, sort: u64, n: u64) -> u64 {
    let a = if asset == usize::MAX {
        0
    } else {
        asset as u64 + 1
    };
    (a << 32) | (sort << 28) | (n & 0x0fff_ffff)
}

/// Where a task stands at `now`. `abort_phase`: for an aborted run, how long before its
/// end it shows `aborting`.
fn progress(mut t: Task, now: i64, abort_phase: Option<i64>) -> Task {
    let (Some(start), Some(end)) = (t.start, t.end) else {
        return t;
    };
    if now < start {
        t.status = "queued";
        t.start = None;
        t.end = None;
        t.progress = 0;
    } else if now < end {
        t.status = match abort_phase {
            Some(p) if now >= end - p => "aborting",
            _ => "in_progress",
        };
        t.progress = (((now - start) * 100) / (end - start).max(1)).min(99) as u8;
        t.end = None;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendors::clumio::sim::data::planted;

    const ORIGIN: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

    fn world() -> World {
        World::new(7, 40, ORIGIN)
    }

    #[test]
    fn the_same_seed_gives_the_same_history() {
        let a = world().tasks(ORIGIN - 3 * DAY, ORIGIN, ORIGIN);
        let b = world().tasks(ORIGIN - 3 * DAY, ORIGIN, ORIGIN);
        assert_eq!(a, b);
        assert_ne!(
            a,
            World::new(8, 40, ORIGIN).tasks(ORIGIN - 3 * DAY, ORIGIN, ORIGIN)
        );
    }

    #[test]
    fn task_ids_are_unique_over_45_days() {
        let tasks = world().tasks(ORIGIN - 45 * DAY, ORIGIN, ORIGIN);
        let ids: std::collections::HashSet<u64> = tasks.iter().map(|t| t.id).collect();
        assert_eq!(ids.len(), tasks.len());
        assert!(tasks.len() > 2000, "{} tasks", tasks.len());
    }

    #[test]
    fn every_status_occurs_at_origin() {
        let w = world();
        let tasks = w.tasks(ORIGIN - 45 * DAY, ORIGIN, ORIGIN);
        for s in [
            "queued",
            "in_progress",
            "aborting",
            "completed",
            "failed",
            "aborted",
        ] {
            assert!(tasks.iter().any(|t| t.status == s), "no {s} task");
        }
    }

    #[test]
    fn planted_assets_behave() {
        use planted::*;
        let w = world();
        let tasks = w.tasks(ORIGIN - 45 * DAY, ORIGIN, ORIGIN);
        let of = |i: usize| -> Vec<&Task> {
            tasks
                .iter()
                .filter(|t| t.asset == Some(i) && t.is_backup())
                .collect()
        };
        assert!(!of(NEVER_SUCCEEDED).is_empty());
        assert!(of(NEVER_SUCCEEDED).iter().all(|t| t.status != "completed"));
        let failing = of(FAILING);
        assert!(failing[..4].iter().all(|t| t.status == "failed"));
        assert!(failing.iter().any(|t| t.status == "completed"));
        assert!(of(UNPROTECTED).is_empty());
        assert!(of(DEACTIVATED_POLICY).is_empty());
        assert!(of(ON_DEMAND).is_empty());
        assert!(of(NEW_GROUP).iter().all(|t| t.created >= ORIGIN - 5 * DAY));
        assert!(w.backups(&w.assets[NEVER_SUCCEEDED], ORIGIN).is_empty());
        assert!(w.assets[TEST_VOLUME].display_name().starts_with("test-"));
        assert_eq!(
            w.assets[NO_NAME].display_name(),
            w.assets[NO_NAME].native_id
        );
    }

    #[test]
    fn history_moves_with_the_clock() {
        let w = world();
        let now = ORIGIN + 2 * DAY;
        let before = w.tasks(ORIGIN - DAY, ORIGIN, ORIGIN);
        let after = w.tasks(ORIGIN + DAY, now, now);
        assert!(!after.is_empty());
        // A task that was running at ORIGIN has finished by now.
        let later = w.tasks(ORIGIN - DAY, ORIGIN, now);
        let running: Vec<_> = before.iter().filter(|t| t.end.is_none()).collect();
        assert!(!running.is_empty());
        for r in running {
            let t = later.iter().find(|t| t.id == r.id).unwrap();
            assert!(t.end.is_some(), "task {} still open", t.id);
        }
    }

    #[test]
    fn backups_follow_completed_runs_within_retention() {
        let w = world();
        let a = &w.assets[planted::FIRST_ORDINARY];
        let backups = w.backups(a, ORIGIN);
        let (every, retention) = w.schedule(a).unwrap();
        assert!(!backups.is_empty());
        assert!(backups.windows(2).all(|p| p[0].start > p[1].start));
        assert!(backups.iter().all(|b| b.start > ORIGIN - retention));
        assert!(backups.len() as i64 <= retention / every + 1);
    }
}
