//! The history of the simulated world, computed on demand: job runs from each node's
//! schedule, daily reports from those runs, and audit entries, as they look at any moment.

use jiff::Timestamp;

use super::data::{
    ACTORS, AuditRecord, Consumer, DAY, HOUR, JobRun, Node, Plant, REPORT_HOUR, Report,
    ReportWarning, START_WINDOW, World, round2, ts,
};
use crate::model::{JobKind, JobResult};
use crate::sim::{mix, unit};

impl World {
    /// From when the consumer's node runs jobs (its activation, or the horizon).
    fn runs_from(&self, n: &Node) -> i64 {
        n.activated.as_second().max(self.horizon.as_second())
    }

    /// The first scheduled backup of a node, as the start time of the run.
    fn first_run_start(&self, n: &Node) -> i64 {
        let from = self.runs_from(n);
        let day = from.div_euclid(DAY);
        (day..day + 2)
            .flat_map(|d| {
                (0..backup_slots(n)).map(move |s| d * DAY + n.schedule.start_of_day + s * 12 * HOUR)
            })
            .find(|t| *t >= from)
            .unwrap_or(from)
    }

    /// Run `slot` of `day` for consumer `c`, as it looks at `now`; `None` when there is no
    /// such run (not scheduled, not yet due, node inactive, before the history horizon).
    pub fn run(&self, c: &Consumer, day: i64, slot: u8, now: Timestamp) -> Option<JobRun> {
        let n = c.node.as_ref()?;
        let now_s = now.as_second();
        let first = self.first_run_start(n);
        let key = format!("{}:{slot}", c.id);
        let (scheduled_start, type_id, type_name, scheduled, kind) = match slot {
            0 | 1 if (slot as i64) < backup_slots(n) => {
                let t = day * DAY + n.schedule.start_of_day + slot as i64 * 12 * HOUR;
                let (id, name) = if n.schedule.every_hours == 12 {
                    (5, "Incremental")
                } else {
                    (1, "Backup")
                };
                (t, id, name, true, JobKind::Backup)
            }
            2 if n.archives && (day + c.id as i64).rem_euclid(7) == 0 => {
                let t = day * DAY + HOUR + (mix(self.seed, &key, day as u64) % 3_600) as i64;
                (t, 2, "Archive", true, JobKind::Archive)
            }
            3 if unit(self.seed, &format!("restore:{key}"), day as u64) < 0.04 => {
                let t = day * DAY + 10 * HOUR + (mix(self.seed, &key, day as u64) % 21_600) as i64;
                let (id, name) = if n.os.1.starts_with("Windows") {
                    (3, "Restore")
                } else {
                    (4, "Retrieve")
                };
                (t, id, name, false, JobKind::Restore)
            }
            _ => return None,
        };
        if n.never_activated {
            return None;
        }
        let until = [n.locked_since, n.decommissioned_since, n.inactive_since]
            .into_iter()
            .flatten()
            .map(|t| t.as_second())
            .min()
            .unwrap_or(i64::MAX);
        let is_first = slot < 2 && scheduled_start == first;
        // Archives and restores only once the node has had a day of backups.
        let earliest = match (slot, c.plant) {
            (0 | 1, _) => first,
            (_, Plant::NeverSucceeded) => return None,
            _ => first + DAY,
        };
        if scheduled_start < earliest || scheduled_start > now_s || scheduled_start >= until {
            return None;
        }
        let n_run = (day as u64) << 2 | slot as u64;
        let u = unit(self.seed, &format!("run:{}", c.id), n_run);
        let outcome = if slot >= 2 {
            Outcome::Completed(0)
        } else {
            self.outcome(c, u, scheduled_start, is_first)
        };
        let delay = 30 + (mix(self.seed, &key, n_run) % 270) as i64;
        let size = n
            .filespaces
            .iter()
            .map(|f| f.front_end_mb)
            .sum::<u64>()
            .max(1) as f64;
        // Incremental backups of a node take about as long every day (within 15 %).
        let duration = 120 + ((size.ln() * 300.0) as i64 * (85 + (n_run % 31) as i64) / 100);
        let transferred = round2(size * (0.002 + 0.02 * unit(self.seed, &key, n_run)));
        let examined = (size * 3.0) as u64 + n_run % 1000;
        let mut job = JobRun {
            id: c.id * 1_048_576 + ((day as u64) << 2) + slot as u64,
            consumer: c.id,
            type_id,
            type_name,
            status_id: 0,
            status: "",
            result: None,
            scheduled,
            scheduled_start: ts(scheduled_start),
            actual_start: None,
            completed: None,
            duration_s: None,
            transferred_mb: 0.0,
            examined_files: 0,
            affected_files: 0,
            failed_files: 0,
            expected: JobResult::Running,
            expected_kind: kind,
        };
        let actual = scheduled_start + delay;
        let set_status = |job: &mut JobRun, id: u64, word: &'static str, expected| {
            job.status_id = id;
            job.status = word;
            job.expected = expected;
        };
        if let Outcome::Missed = outcome {
            if now_s < scheduled_start + START_WINDOW {
                set_status(&mut job, 7, "Pending", JobResult::Running);
            } else {
                set_status(&mut job, 4, "Missed", JobResult::Missed);
            }
            return Some(job);
        }
        let ran_for = match outcome {
            Outcome::Severed | Outcome::Cancelled => duration / 3,
            _ => duration,
        };
        let completed = actual + ran_for;
        if now_s < actual {
            set_status(&mut job, 7, "Pending", JobResult::Running);
            return Some(job);
        }
        job.actual_start = Some(ts(actual));
        if now_s < completed {
            if now_s < actual + 60 {
                set_status(&mut job, 8, "Started", JobResult::Running);
            } else {
                set_status(&mut job, 6, "In Progress", JobResult::Running);
            }
            return Some(job);
        }
        job.completed = Some(ts(completed));
        job.duration_s = Some(ran_for);
        job.examined_files = examined;
        job.transferred_mb = transferred;
        job.affected_files = examined / 500;
        match outcome {
            Outcome::Completed(rc) => {
                let expected = match rc {
                    0 | 4 => JobResult::Success,
                    8 => JobResult::Warning,
                    _ => JobResult::Failed,
                };
                set_status(&mut job, 1, "Completed", expected);
                job.result = Some(rc);
                job.failed_files = if rc >= 4 { 1 + n_run % 17 } else { 0 };
            }
            Outcome::Failed { no_restart } => {
                if no_restart {
                    set_status(&mut job, 3, "Failed - no restart", JobResult::Failed);
                } else {
                    set_status(&mut job, 2, "Failed", JobResult::Failed);
                }
                job.result = Some(12);
                job.transferred_mb = round2(transferred / 10.0);
                job.failed_files = 100 + n_run % 900;
            }
            Outcome::Severed => {
                set_status(&mut job, 5, "Severed", JobResult::Failed);
                job.transferred_mb = round2(transferred / 3.0);
            }
            Outcome::Cancelled => {
                set_status(&mut job, 9, "Cancelled", JobResult::Cancelled);
                job.transferred_mb = round2(transferred / 4.0);
            }
            Outcome::Missed => unreachable!("handled above"),
        }
        Some(job)
    }

    /// How run `u` of a node went. The fleet is healthy (about 3 % of runs fail, are
    /// missed or severed); the plants make sure every kind of result is seen in any two
    /// days, whatever the seed.
    fn outcome(&self, c: &Consumer, u: f64, scheduled: i64, is_first: bool) -> Outcome {
        let day = scheduled.div_euclid(DAY);
        let built_day = self.built.as_second().div_euclid(DAY);
        match c.plant {
            // Missed on even days, failed on odd ones.
            Plant::NeverSucceeded => {
                return match u {
                    _ if is_first => Outcome::Failed { no_restart: false },
                    _ if day.rem_euclid(2) == 0 => Outcome::Missed,
                    _ if u < 0.7 => Outcome::Failed { no_restart: false },
                    _ if u < 0.85 => Outcome::Failed { no_restart: true },
                    _ => Outcome::Severed,
                };
            }
            Plant::RepeatedFailures if scheduled >= self.built.as_second() - 4 * DAY => {
                return Outcome::Failed { no_restart: false };
            }
            // Files in use: every run ends with warnings.
            Plant::FilesInUse => return Outcome::Completed(8),
            // The day before the world was built, an operator cancelled this one's session.
            Plant::UnusualWarning if day == built_day - 1 => return Outcome::Cancelled,
            _ => {}
        }
        match u {
            _ if u < 0.90 => Outcome::Completed(0),
            _ if u < 0.94 => Outcome::Completed(4),
            _ if u < 0.97 => Outcome::Completed(8),
            _ if u < 0.98 => Outcome::Failed { no_restart: false },
            _ if u < 0.985 => Outcome::Failed { no_restart: true },
            _ if is_first => Outcome::Completed(0),
            _ if u < 0.99 => Outcome::Missed,
            _ if u < 0.995 => Outcome::Severed,
            _ if u < 0.998 => Outcome::Cancelled,
            _ => Outcome::Completed(0),
        }
    }

    /// The consumer's jobs whose time ([`JobRun::time`]) is within `[from, to]`, as the
    /// portal shows them at `now`, oldest first.
    pub fn jobs(
        &self,
        consumer: u64,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
    ) -> Vec<JobRun> {
        let Some(c) = self.consumer(consumer) else {
            return Vec::new();
        };
        let to = to.min(now);
        if c.node.is_none() || to < from {
            return Vec::new();
        }
        // A run's time is at most two days after its scheduled start.
        let first_day = from.as_second().div_euclid(DAY) - 2;
        let first_day = first_day.max(self.horizon.as_second().div_euclid(DAY) - 1);
        let last_day = to.as_second().div_euclid(DAY);
        let mut out: Vec<JobRun> = (first_day..=last_day)
            .flat_map(|d| (0..4u8).filter_map(move |s| self.run(c, d, s, now)))
            .filter(|j| j.time() >= from && j.time() <= to)
            .collect();
        out.sort_by_key(|j| (j.time(), j.id));
        out
    }

    /// The consumer's first job (by time) as the portal shows it at `now`.
    pub fn first_job(&self, consumer: u64, now: Timestamp) -> Option<JobRun> {
        let c = self.consumer(consumer)?;
        let n = c.node.as_ref()?;
        let first = self.first_run_start(n);
        let day = first.div_euclid(DAY);
        (0..2u8)
            .filter_map(|s| self.run(c, day, s, now))
            .chain((0..2u8).filter_map(|s| self.run(c, day + 1, s, now)))
            .min_by_key(|j| (j.scheduled_start, j.id))
    }

    /// The newest successful (or warning) backup that finished by `at`.
    pub fn last_success(&self, consumer: u64, at: Timestamp) -> Option<JobRun> {
        let c = self.consumer(consumer)?;
        c.node.as_ref()?;
        let stop = self.horizon.as_second().div_euclid(DAY) - 1;
        let mut day = at.as_second().div_euclid(DAY);
        while day >= stop {
            let best = (0..2u8)
                .filter_map(|s| self.run(c, day, s, at))
                .filter(|j| j.expected.is_success(false) && j.completed.is_some_and(|t| t <= at))
                .max_by_key(|j| j.completed);
            if best.is_some() {
                return best;
            }
            day -= 1;
        }
        None
    }

    /// The newest finished backup run by `at`.
    fn last_backup_run(&self, c: &Consumer, at: Timestamp) -> Option<JobRun> {
        let stop = self.horizon.as_second().div_euclid(DAY) - 1;
        let mut day = at.as_second().div_euclid(DAY);
        while day >= stop {
            let last = (0..2u8)
                .filter_map(|s| self.run(c, day, s, at))
                .filter(|j| j.expected.is_finished())
                .max_by_key(|j| j.time());
            if last.is_some() {
                return last;
            }
            day -= 1;
        }
        None
    }

    /// What the consumer occupies, in MB, summed over its filespaces' occupancies.
    pub fn stored_mb(&self, c: &Consumer) -> f64 {
        c.node
            .iter()
            .flat_map(|n| &n.filespaces)
            .flat_map(|f| &f.occupancies)
            .map(|o| o.reporting_mb)
            .sum()
    }

    /// The daily report generated at `date` (03:00 UTC).
    pub fn report_at(&self, consumer: u64, date: Timestamp) -> Option<Report> {
        let c = self.consumer(consumer)?;
        let n = c.node.as_ref()?;
        if n.never_activated || date.as_second() < self.runs_from(n) + DAY {
            return None;
        }
        let day = date.as_second().div_euclid(DAY) as u64;
        let mut warnings = Vec::new();
        let mut warn = |type_id: u64, status: u8, days: i64, limit: f64| {
            warnings.push(ReportWarning {
                id: consumer * 100_000 + (day % 10_000) * 10 + type_id,
                type_id,
                status,
                days,
                limit,
            });
        };
        let days_since = |t: Timestamp| (date.as_second() - t.as_second()).div_euclid(DAY);
        let last_run = self.last_backup_run(c, date);
        let last_any = last_run
            .as_ref()
            .map(JobRun::time)
            .unwrap_or(n.activated)
            .max(self.horizon);
        if days_since(last_any) >= 2 {
            warn(1, 1, days_since(last_any), 2.0);
        }
        let since_success = self
            .last_success(consumer, date)
            .and_then(|j| j.completed)
            .unwrap_or(n.activated.max(self.horizon));
        if days_since(since_success) >= 3 {
            warn(2, 2, days_since(since_success), 3.0);
        }
        match last_run.as_ref().map(|j| j.expected) {
            Some(JobResult::Failed) => warn(3, 2, 0, 0.0),
            Some(JobResult::Missed) => warn(4, 1, 0, 0.0),
            Some(JobResult::Warning) => warn(5, 1, 0, 0.0),
            _ => {}
        }
        let stored_mb = self.stored_mb(c);
        if let Some(limit) = c.limit_high_storage_gb
            && stored_mb / 1024.0 > limit
        {
            warn(6, 1, 0, limit);
        }
        if c.plant == Plant::UnusualWarning {
            warn(8, 1, 1, 250.0);
        }
        let decommissioned = n.decommissioned_since.is_some_and(|t| t <= date);
        Some(Report {
            id: consumer * 100_000 + day % 100_000,
            consumer,
            date,
            status: warnings.iter().map(|w| w.status).max().unwrap_or(0),
            errors_deactivated: decommissioned,
            stored_mb: round2(stored_mb),
            warnings,
        })
    }

    /// The report the portal calls latest at `now`.
    pub fn latest_report(&self, consumer: u64, now: Timestamp) -> Option<Report> {
        let s = now.as_second();
        let mut at = s.div_euclid(DAY) * DAY + REPORT_HOUR * HOUR;
        if at > s {
            at -= DAY;
        }
        self.report_at(consumer, ts(at))
    }

    /// Reports generated within `[from, to]`, oldest first.
    pub fn reports(
        &self,
        consumer: u64,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
    ) -> Vec<Report> {
        let to = to.min(now).as_second();
        let from = from.as_second().max(self.horizon.as_second());
        let mut day = from.div_euclid(DAY);
        let mut out = Vec::new();
        while day * DAY <= to {
            let at = day * DAY + REPORT_HOUR * HOUR;
            if at >= from
                && at <= to
                && let Some(r) = self.report_at(consumer, ts(at))
            {
                out.push(r);
            }
            day += 1;
        }
        out
    }

    /// The consumer's audit entries within `[from, to]` as of `now`, oldest first.
    pub fn audit(
        &self,
        consumer: u64,
        from: Timestamp,
        to: Timestamp,
        now: Timestamp,
    ) -> Vec<AuditRecord> {
        let Some(c) = self.consumer(consumer) else {
            return Vec::new();
        };
        let to = to.min(now);
        let start = from.max(self.horizon).max(c.created);
        if to < start {
            return Vec::new();
        }
        let bunit = self.bunit(c.bunit).map_or("", |b| b.name.as_str());
        let mut out = Vec::new();
        if c.created >= self.horizon && c.created >= from && c.created <= to {
            out.push(AuditRecord {
                id: c.id * 1_048_576 + (((c.created.as_second().div_euclid(DAY)) as u64) << 3) + 7,
                consumer: c.id,
                time: c.created,
                audit_type: 100,
                actor: ACTORS[0],
                application: "Cloutility portal",
                description: format!(
                    "Consumption unit '{}' (ID: {}) created for business unit '{bunit}' (ID: {})",
                    c.name, c.id, c.bunit
                ),
            });
        }
        for day in start.as_second().div_euclid(DAY)..=to.as_second().div_euclid(DAY) {
            let key = format!("audit:{}", c.id);
            let count = (unit(self.seed, &key, day as u64) * 4.0) as u64;
            for k in 0..count {
                let n = (day as u64) << 3 | k;
                let time = ts(day * DAY + (mix(self.seed, &key, n) % DAY as u64) as i64);
                if time < start || time > to || time <= c.created {
                    continue;
                }
                let pick = unit(self.seed, &format!("audit-type:{}", c.id), n);
                let (audit_type, description) = audit_text(c, pick);
                out.push(AuditRecord {
                    id: c.id * 1_048_576 + n,
                    consumer: c.id,
                    time,
                    audit_type,
                    actor: ACTORS
                        [(mix(self.seed, "actor", n ^ c.id) % ACTORS.len() as u64) as usize],
                    application: if n.is_multiple_of(3) {
                        "Cloutility secure API Key"
                    } else {
                        "Cloutility portal"
                    },
                    description,
                });
            }
        }
        out.sort_by_key(|a| (a.time, a.id));
        out
    }
}

enum Outcome {
    Completed(i64),
    Failed { no_restart: bool },
    Missed,
    Severed,
    Cancelled,
}

fn backup_slots(n: &Node) -> i64 {
    if n.schedule.every_hours == 12 { 2 } else { 1 }
}

fn audit_text(c: &Consumer, pick: f64) -> (u16, String) {
    let node = c.node.as_ref().map_or_else(
        || "(none)".to_owned(),
        |n| format!("'{}' (ID: {})", n.tsm_name, n.id),
    );
    let cu = format!("consumption unit '{}' (ID: {})", c.name, c.id);
    match pick {
        p if p < 0.30 => (0, format!("Report for {cu} sent by e-mail")),
        p if p < 0.40 => (100, format!("Comment added to {cu}")),
        p if p < 0.75 => (200, format!("Backup node {node} modified for {cu}")),
        p if p < 0.85 => (
            300,
            format!("Filespace '/old' deleted from backup node {node}"),
        ),
        _ => (
            400,
            format!("Synchronisation of backup node {node} with server 'TSM12' failed"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> World {
        World::new(7, 50, "2026-11-20T21:40:00Z".parse().unwrap())
    }

    #[test]
    fn same_seed_same_world_and_history() {
        let (a, b) = (world(), world());
        let now = a.built;
        let from = ts(now.as_second() - 10 * DAY);
        for c in &a.consumers {
            assert_eq!(a.jobs(c.id, from, now, now), b.jobs(c.id, from, now, now));
        }
        let ids: std::collections::HashSet<u64> = a.consumers.iter().map(|c| c.id).collect();
        assert_eq!(ids.len(), a.consumers.len(), "consumer ids are unique");
    }

    #[test]
    fn plants_behave_as_announced() {
        let w = world();
        let now = w.built;
        let by_plant = |p: Plant| w.consumers.iter().find(|c| c.plant == p).unwrap();
        let month = ts(now.as_second() - 30 * DAY);

        let never = by_plant(Plant::NeverSucceeded);
        let jobs = w.jobs(never.id, month, now, now);
        assert!(jobs.len() > 20);
        assert!(jobs.iter().all(|j| !j.expected.is_success(false)));
        assert!(w.last_success(never.id, now).is_none());

        let failing = by_plant(Plant::RepeatedFailures);
        let recent = w.jobs(failing.id, ts(now.as_second() - 3 * DAY), now, now);
        assert!(!recent.is_empty());
        assert!(
            recent
                .iter()
                .filter(|j| j.expected.is_finished())
                .all(|j| j.expected == JobResult::Failed)
        );

        assert!(
            w.jobs(by_plant(Plant::NoNode).id, month, now, now)
                .is_empty()
        );
        let locked = by_plant(Plant::Locked);
        assert!(
            w.jobs(locked.id, ts(now.as_second() - 2 * DAY), now, now)
                .is_empty()
        );
        let r = w.latest_report(locked.id, now).unwrap();
        assert!(r.warnings.iter().any(|x| x.type_id == 1), "no activity");

        let all: Vec<JobRun> = w
            .consumers
            .iter()
            .flat_map(|c| w.jobs(c.id, month, now, now))
            .collect();
        for want in JobResult::ALL {
            assert!(
                all.iter().any(|j| j.expected == want),
                "some job is {want:?}"
            );
        }
        for kind in [JobKind::Backup, JobKind::Archive, JobKind::Restore] {
            assert!(
                all.iter().any(|j| j.expected_kind == kind),
                "some job is {kind:?}"
            );
        }
        let audit: Vec<u16> = w
            .consumers
            .iter()
            .flat_map(|c| w.audit(c.id, month, now, now))
            .map(|a| a.audit_type)
            .collect();
        for t in [0, 100, 200, 300, 400] {
            assert!(audit.contains(&t), "audit type {t}");
        }
    }

    #[test]
    fn first_job_precedes_every_other_job_and_history_is_complete_from_it() {
        let w = world();
        let now = w.built;
        for c in &w.consumers {
            let all = w.jobs(c.id, w.horizon, now, now);
            match w.first_job(c.id, now) {
                None => assert!(all.is_empty(), "{}", c.name),
                Some(first) => {
                    let done = first.completed.expect("the first job has finished");
                    assert!(all.iter().all(|j| j.time() >= done), "{}", c.name);
                    assert_eq!(all[0].id, first.id);
                }
            }
        }
    }

    #[test]
    fn every_result_shows_within_two_days_whatever_the_seed() {
        for seed in 1..=6 {
            let w = World::new(seed, 20, "2026-03-04T22:10:00Z".parse().unwrap());
            let now = w.built;
            let since = ts(now.as_second() - 2 * DAY);
            let seen: Vec<JobResult> = w
                .consumers
                .iter()
                .flat_map(|c| w.jobs(c.id, since, now, now))
                .map(|j| j.expected)
                .collect();
            for want in JobResult::ALL {
                assert!(seen.contains(&want), "seed {seed}: no {want:?} job");
            }
        }
    }

    #[test]
    fn new_runs_appear_as_time_passes() {
        let w = world();
        let c = &w.consumers[20];
        let now = w.built;
        let later = ts(now.as_second() + 3 * DAY);
        let before = w.jobs(c.id, w.horizon, later, now).len();
        let after = w.jobs(c.id, w.horizon, later, later).len();
        assert!(after >= before + 3, "{before} then {after}");
    }
}
