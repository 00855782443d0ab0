//! What happens over time: jobs from the SLA schedules (and the odd mount) and the images
//! they leave. Everything is computed from
//! (seed, application, slot, run number), so any time range can be served and the past
//! never changes as the clock moves on.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::data::{App, MAX_JOB_DURATION, RETENTION, Trouble, World};

/// Job numbers are minutes since this epoch times 65536 plus a per-application slot: unique,
/// and increasing with time like the console's own (see [`job_number`]).
pub(super) const NUMBER_EPOCH_S: i64 = 1_577_836_800; // 2020-01-01
/// Applications whose slots fit in a minute's 65536 numbers (8 slots each).
const APPS_PER_BANK: usize = 65_536 / 8;

/// The number of the job queued in `minute` for application `app` in `slot`. The 8,192
/// applications of a bank share the minute's numbers; a world with more has further banks,
/// 2^44 apart (past any minute of the next 500 years), so numbers stay unique and below
/// 2^53 (exact as JSON numbers) for half a million applications.
fn job_number(minute: u64, app: usize, slot: u64) -> u64 {
    let (bank, within) = (app / APPS_PER_BANK, app % APPS_PER_BANK);
    ((bank as u64) << 44) + minute * 65_536 + within as u64 * 8 + slot
}
const MOUNT_SLOT: u64 = 6;
const UNMOUNT_SLOT: u64 = 7;
const MOUNT_EVERY: i64 = 9 * 86_400;
/// An image stays mounted this long after the mount job ends, then is unmounted.
const MOUNTED_FOR: i64 = 3 * 3600;

const FAILURES: &[(&str, &str)] = &[
    ("933", "Failed to find VM with matching BIOS UUID"),
    (
        "5049",
        "Snapshot pool is full; no space to create the snapshot",
    ),
    (
        "43698",
        "Connector on the host is not reachable; the job cannot start",
    ),
    ("10017", "expiration in progress, try again later"),
    (
        "5136",
        "Application is not in a consistent state; quiesce failed",
    ),
];

#[derive(Clone, Debug, PartialEq)]
pub struct SimJob {
    pub number: u64,
    pub app: usize,
    /// Index into the template's policies, or the mount/unmount slots.
    pub slot: u64,
    pub policy: Option<(usize, usize)>,
    pub jobclass: &'static str,
    /// As of the `now` the job was generated for.
    pub status: &'static str,
    pub queued: Timestamp,
    pub start: Timestamp,
    /// Planned end; the job has ended only if `status` is final.
    pub end: Timestamp,
    pub error: Option<(&'static str, &'static str)>,
    /// Percent, while running.
    pub progress: Option<u64>,
    pub virtualsize: u64,
}

impl SimJob {
    pub fn id(&self) -> String {
        self.number.to_string()
    }

    pub fn ended(&self) -> bool {
        !matches!(self.status, "queued" | "running")
    }

    pub fn is_capture(&self) -> bool {
        matches!(
            self.jobclass,
            "snapshot" | "OnVault" | "DirectOnVault" | "StreamSnap" | "dedup"
        )
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SimImage {
    pub number: u64,
    pub app: usize,
    pub jobclass: &'static str,
    pub policy: Option<(usize, usize)>,
    /// Where the image lives (a StreamSnap copy is on the DR appliance).
    pub appliance: usize,
    pub backupdate: Timestamp,
    pub consistency: Timestamp,
    pub expiration: Timestamp,
    pub virtualsize: u64,
    pub consumed: u64,
}

impl SimImage {
    pub fn id(&self) -> String {
        self.number.to_string()
    }

    pub fn backupname(&self) -> String {
        format!("Image_{:07}", self.number % 10_000_000)
    }
}

pub(super) fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH)
}

pub(super) fn secs(d: Duration) -> i64 {
    d.as_secs() as i64
}

/// Run numbers `n` with `phase + n * every` in `[lo, hi]`.
pub(super) fn runs(lo: i64, hi: i64, every: i64, phase: i64) -> std::ops::RangeInclusive<i64> {
    let first = (lo - phase).div_euclid(every) + i64::from((lo - phase).rem_euclid(every) != 0);
    let last = (hi - phase).div_euclid(every);
    first..=last
}

fn duration_for(jobclass: &str, u: f64) -> i64 {
    let (lo, hi) = match jobclass {
        "snapshot" => (240, 900),
        "OnVault" => (900, 3600),
        "DirectOnVault" => (900, 2400),
        "StreamSnap" => (300, 1500),
        "dedup" => (600, 1800),
        "mount" => (60, 300),
        "unmount" => (30, 120),
        "restore" => (600, 3000),
        _ => (60, 600),
    };
    lo + ((hi - lo) as f64 * u) as i64
}

impl World {
    /// Jobs queued in `[from, to]` (clipped to the retention and to `now`), with their
    /// state as of `now`; all applications, or one.
    pub fn jobs(
        &self,
        now: Timestamp,
        from: Timestamp,
        to: Timestamp,
        app: Option<usize>,
    ) -> Vec<SimJob> {
        let mut out: Vec<SimJob> = self.jobs_by_app(now, from, to, app).collect();
        out.sort_by_key(|j| j.number);
        out
    }

    /// The jobs of [`World::jobs`], generated one application at a time and not sorted:
    /// a list view takes them one by one and keeps only those that can reach its page.
    pub fn jobs_by_app(
        &self,
        now: Timestamp,
        from: Timestamp,
        to: Timestamp,
        app: Option<usize>,
    ) -> impl Iterator<Item = SimJob> + '_ {
        let lo = from.as_second().max(now.as_second() - secs(RETENTION));
        let hi = to.as_second().min(now.as_second());
        let apps = match app {
            Some(i) => self.apps.get(i..=i).unwrap_or_default(),
            None => &self.apps[..],
        };
        apps.iter().filter(move |_| lo <= hi).flat_map(move |a| {
            let mut out = Vec::new();
            self.app_jobs(a, now, lo, hi, &mut out);
            out
        })
    }

    fn app_jobs(&self, a: &App, now: Timestamp, lo: i64, hi: i64, out: &mut Vec<SimJob>) {
        if let Some(t) = self.template_of(a) {
            for (pi, p) in t.policies.iter().enumerate() {
                let every = (p.rpo_hours * 3600) as i64;
                let phase = ((p.start_s + a.offset_s) as i64 + pi as i64 * 137).rem_euclid(every);
                for n in runs(lo, hi, every, phase) {
                    let queued = phase + n * every;
                    if let Trouble::ScheduleOffSince(off) = a.trouble
                        && queued >= off.as_second()
                    {
                        continue;
                    }
                    let job = self.job(
                        a,
                        pi as u64,
                        Some((t.index, pi)),
                        p.jobclass,
                        queued,
                        n,
                        now,
                    );
                    out.push(job);
                }
            }
        }
        if a.mounts {
            let phase = (a.offset_s as i64 * 7).rem_euclid(MOUNT_EVERY);
            // An unmount belongs to the mount before it: widen the range by its delay.
            for n in runs(lo - MOUNTED_FOR - 3600, hi, MOUNT_EVERY, phase) {
                let queued = phase + n * MOUNT_EVERY;
                let class = if n.rem_euclid(3) == 0 {
                    "restore"
                } else {
                    "mount"
                };
                let job = self.job(a, MOUNT_SLOT, None, class, queued, n, now);
                let mount_end = job.end.as_second();
                let ok = job.status == "succeeded";
                if (lo..=hi).contains(&queued) {
                    out.push(job);
                }
                if class == "mount" && ok {
                    let uq = mount_end + MOUNTED_FOR;
                    if (lo..=hi).contains(&uq) {
                        out.push(self.job(a, UNMOUNT_SLOT, None, "unmount", uq, n, now));
                    }
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn job(
        &self,
        a: &App,
        slot: u64,
        policy: Option<(usize, usize)>,
        jobclass: &'static str,
        queued_s: i64,
        n: i64,
        now: Timestamp,
    ) -> SimJob {
        let key = format!("bdr/job/{}/{slot}", a.id);
        let n_u = n as u64;
        let u = self.unit(&key, n_u);
        let capture = matches!(
            jobclass,
            "snapshot" | "OnVault" | "DirectOnVault" | "StreamSnap" | "dedup"
        );
        let outcome = match a.trouble {
            Trouble::NeverSucceeds if capture => {
                if u < 0.08 {
                    "canceled"
                } else {
                    "failed"
                }
            }
            Trouble::FailingSince(t) if capture && queued_s >= t.as_second() => "failed",
            _ if u < a.fail_rate => "failed",
            _ if u < a.fail_rate + 0.015 => "canceled",
            _ => "succeeded",
        };
        let wait = if a.slow { (300.0, 1200.0) } else { (5.0, 85.0) };
        let start = queued_s + (wait.0 + self.unit(&key, n_u ^ 0x5151) * wait.1) as i64;
        let mut run = duration_for(jobclass, self.unit(&key, n_u ^ 0xd00d));
        if a.slow {
            run = if jobclass == "snapshot" {
                11_000 + run
            } else {
                3 * run
            };
        }
        if outcome == "canceled" {
            run /= 3;
        }
        debug_assert!(start - queued_s + run < secs(MAX_JOB_DURATION));
        let end = start + run;
        let now_s = now.as_second();
        let (status, progress) = if now_s < start {
            ("queued", None)
        } else if now_s < end {
            ("running", Some(((now_s - start) * 100 / run.max(1)) as u64))
        } else {
            (outcome, None)
        };
        let error = (status == "failed").then(|| {
            let i = (self.unit(&key, n_u ^ 0xe77) * FAILURES.len() as f64) as usize;
            FAILURES[i.min(FAILURES.len() - 1)]
        });
        let minute = ((queued_s - NUMBER_EPOCH_S).max(0) / 60) as u64;
        SimJob {
            number: job_number(minute, a.index, slot),
            app: a.index,
            slot,
            policy,
            jobclass,
            status,
            queued: ts(queued_s),
            start: ts(start),
            end: ts(end),
            error,
            progress,
            virtualsize: a.size_bytes,
        }
    }

    /// Images that exist at `now`: one per successful capture until its retention ends, and
    /// the active image of a mount until it is unmounted.
    pub fn images(&self, now: Timestamp, app: Option<usize>) -> Vec<SimImage> {
        let mut out: Vec<SimImage> = self.images_by_app(now, app).collect();
        out.sort_by_key(|i| i.number);
        out
    }

    /// The images of [`World::images`], one application at a time and not sorted.
    pub fn images_by_app(
        &self,
        now: Timestamp,
        app: Option<usize>,
    ) -> impl Iterator<Item = SimImage> + '_ {
        let apps = match app {
            Some(i) => self.apps.get(i..=i).unwrap_or_default(),
            None => &self.apps[..],
        };
        apps.iter().flat_map(move |a| self.app_images(now, a))
    }

    fn app_images(&self, now: Timestamp, a: &App) -> Vec<SimImage> {
        let longest = self
            .templates
            .iter()
            .flat_map(|t| t.policies.iter().map(|p| p.retention_days))
            .max()
            .unwrap_or(30) as i64;
        let from = ts(now.as_second() - (longest + 1) * 86_400);
        let jobs = self.jobs(now, from, now, Some(a.index));
        let mut out = Vec::new();
        for j in &jobs {
            if j.status != "succeeded" {
                continue;
            }
            let consistency =
                ts(j.start.as_second() + (j.end.as_second() - j.start.as_second()) / 3);
            let (expiration, appliance) = match (j.policy, j.jobclass) {
                (Some((t, p)), class) => {
                    let days = self.templates[t].policies[p].retention_days as i64;
                    let on = if class == "StreamSnap" {
                        3
                    } else {
                        a.appliance
                    };
                    (ts(consistency.as_second() + days * 86_400), on)
                }
                (None, "mount") => {
                    let unmount = jobs.iter().find(|u| {
                        u.slot == UNMOUNT_SLOT
                            && u.queued.as_second() == j.end.as_second() + MOUNTED_FOR
                    });
                    match unmount {
                        Some(u) if u.ended() => (u.end, a.appliance),
                        Some(_) | None if j.end.as_second() + MOUNTED_FOR > now.as_second() => {
                            (ts(now.as_second() + MOUNTED_FOR), a.appliance)
                        }
                        _ => continue,
                    }
                }
                _ => continue,
            };
            if expiration <= now {
                continue;
            }
            let u = self.unit(&format!("bdr/img/{}", a.id), j.number);
            out.push(SimImage {
                number: j.number,
                app: j.app,
                jobclass: j.jobclass,
                policy: j.policy,
                appliance,
                backupdate: j.start,
                consistency,
                expiration,
                virtualsize: a.size_bytes,
                consumed: (a.size_bytes as f64 * (0.02 + 0.1 * u)) as u64,
            });
        }
        out
    }
}

/// The time of a filter bound, for pruning generation.
pub fn from_micros(v: i64) -> Timestamp {
    super::super::mapping::epoch_to_timestamp(v).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// Widens a range on end dates to one on queue dates.
pub fn queued_range_for_end(lo: Timestamp, hi: Timestamp) -> (Timestamp, Timestamp) {
    (
        lo.checked_sub(SignedDuration::try_from(MAX_JOB_DURATION).unwrap_or(SignedDuration::ZERO))
            .unwrap_or(lo),
        hi,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::from_second(1_780_000_123).unwrap()
    }

    #[test]
    fn job_numbers_are_unique_past_8192_applications() {
        let minutes = [3_000_000u64, 3_000_001, 3_000_002];
        let mut seen = std::collections::HashSet::new();
        for minute in minutes {
            for app in (0..20_000).step_by(7).chain([8191, 8192, 16_384]) {
                for slot in 0..8 {
                    assert!(
                        seen.insert(job_number(minute, app, slot)),
                        "{minute} {app} {slot}"
                    );
                }
            }
        }
        // The first bank keeps the numbers small worlds always had.
        assert_eq!(job_number(3_000_000, 5, 2), 3_000_000 * 65_536 + 5 * 8 + 2);
    }

    #[test]
    fn runs_cover_exactly_the_range() {
        let r: Vec<i64> = runs(10, 35, 10, 3).collect();
        assert_eq!(r, vec![1, 2, 3]); // 13, 23, 33
        let r: Vec<i64> = runs(13, 33, 10, 3).collect();
        assert_eq!(r, vec![1, 2, 3]);
        assert!(runs(14, 22, 10, 3).next().is_none());
    }

    #[test]
    fn history_is_stable_and_grows_with_time() {
        let w = World::new(3, 20, now());
        let day = SignedDuration::from_hours(24);
        let a = w.jobs(now(), now() - day * 10, now(), None);
        let later = now() + day;
        let b = w.jobs(later, now() - day * 10, now() - day, None);
        let a_old: Vec<&SimJob> = a
            .iter()
            .filter(|j| j.queued <= now() - day && j.ended() && j.end < now() - day)
            .collect();
        let b_old: Vec<&SimJob> = b
            .iter()
            .filter(|j| j.ended() && j.end < now() - day)
            .collect();
        assert_eq!(a_old.len(), b_old.len());
        assert!(w.jobs(later, now(), later, None).len() > 10);
        let mut ids: Vec<u64> = a.iter().map(|j| j.number).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "job numbers are unique");
    }

    #[test]
    fn every_status_occurs_and_planted_apps_behave() {
        let w = World::new(11, 40, now());
        let day = SignedDuration::from_hours(24);
        let jobs = w.jobs(now(), now() - day * 45, now(), None);
        for s in ["succeeded", "failed", "canceled"] {
            assert!(jobs.iter().any(|j| j.status == s), "no {s} job");
        }
        // Whatever the hour, something is running; now and then something waits in the queue.
        let (mut running, mut queued) = (0, 0);
        for h in 0..48 {
            let at = now() + SignedDuration::from_mins(h * 37);
            let open = w.jobs(at, at - day, at, None);
            running += usize::from(open.iter().any(|j| j.status == "running"));
            queued += usize::from(open.iter().any(|j| j.status == "queued"));
        }
        assert!(running >= 44, "running at {running} of 48 times");
        assert!(queued >= 3, "queued at {queued} of 48 times");
        for c in [
            "snapshot",
            "OnVault",
            "DirectOnVault",
            "StreamSnap",
            "dedup",
            "mount",
            "unmount",
            "restore",
        ] {
            assert!(jobs.iter().any(|j| j.jobclass == c), "no {c} job");
        }
        assert!(
            jobs.iter()
                .filter(|j| j.app == 0 && j.is_capture())
                .all(|j| j.status != "succeeded")
        );
        let recent_1: Vec<&SimJob> = jobs
            .iter()
            .filter(|j| j.app == 1 && j.is_capture() && j.queued > now() - day * 3 && j.ended())
            .collect();
        assert!(recent_1.len() >= 3 && recent_1.iter().all(|j| j.status == "failed"));
        assert!(
            jobs.iter().all(|j| j.app != 4),
            "unprotected app has no jobs"
        );
        assert!(
            jobs.iter()
                .filter(|j| j.app == 5 && j.policy.is_some())
                .all(|j| j.queued < now() - day * 19)
        );
        let oldest = jobs.iter().map(|j| j.queued).min().unwrap();
        assert!(oldest >= now() - day * 45);
    }

    #[test]
    fn images_follow_successes_and_retention() {
        let w = World::new(5, 20, now());
        let imgs = w.images(now(), None);
        assert!(imgs.iter().all(|i| i.expiration > now()));
        assert!(
            imgs.iter().all(|i| i.app != 0),
            "never-succeeded app has no image"
        );
        assert!(imgs.iter().any(|i| i.jobclass == "OnVault"));
        assert!(
            imgs.iter()
                .any(|i| i.jobclass == "StreamSnap" && i.appliance == 3)
        );
        let one = w.images(now(), Some(7));
        assert_eq!(
            one,
            imgs.iter()
                .filter(|i| i.app == 7)
                .cloned()
                .collect::<Vec<_>>()
        );
    }
}
