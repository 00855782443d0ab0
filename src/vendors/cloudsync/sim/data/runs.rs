//! Runs: each relationship's schedule gives run `n` a due time, an outcome and counters,
//! all from the seed, so the activity at any moment (and every run before it) can be
//! recomputed without storing anything.

use jiff::{SignedDuration, Timestamp};

use super::{Behaviour, DAY, World, ms_between, plus_ms};
use crate::sim::unit;

#[derive(Clone, Debug, PartialEq)]
pub struct TopError {
    pub step: &'static str,
    pub code: &'static str,
    pub counter: u64,
    pub description: String,
}

/// One run as the API shows it at some moment.
#[derive(Clone, Debug, PartialEq)]
pub struct Activity {
    pub run: u64,
    pub status: &'static str,
    pub phase: &'static str,
    pub start: Timestamp,
    pub end: Option<Timestamp>,
    pub progress: u64,
    pub execution_ms: u64,
    pub remaining_ms: u64,
    pub bytes_scanned: u64,
    pub files_scanned: u64,
    pub dirs_scanned: u64,
    pub bytes_marked: u64,
    pub files_marked: u64,
    pub dirs_marked: u64,
    pub bytes_copied: u64,
    pub files_copied: u64,
    pub dirs_copied: u64,
    pub bytes_failed: u64,
    pub files_failed: u64,
    pub failure_message: String,
    pub top_errors: Vec<TopError>,
    /// `errors: [{dataBrokerId, reason}]`.
    pub broker_errors: Vec<(String, String)>,
}

/// The account's relationship statistics.
pub struct Stats {
    pub total_bytes: u64,
    pub total_files: u64,
    pub relationships: u64,
    pub per_day: Vec<(String, u64)>,
}

impl World {
    /// When run `n` was due.
    pub fn scheduled(&self, r: usize, n: u64) -> Timestamp {
        let rel = &self.relationships[r];
        let every = rel.interval.map(|d| d.as_secs()).unwrap_or(DAY);
        rel.created + SignedDuration::from_secs((n * every) as i64)
    }

    /// The newest run that was due at `now`, if any.
    pub fn latest_run(&self, r: usize, now: Timestamp) -> Option<u64> {
        let rel = &self.relationships[r];
        if now < rel.created {
            return None;
        }
        let Some(every) = rel.interval else {
            return Some(0);
        };
        let n = ((now.as_second() - rel.created.as_second()) as u64) / every.as_secs();
        if let Behaviour::StuckPending(since) = rel.behaviour {
            let waited = (0..=n).find(|i| self.scheduled(r, *i) >= since);
            if let Some(w) = waited {
                return Some(w.min(n));
            }
        }
        Some(n)
    }

    /// The relationship's `activity` at `now`.
    pub fn activity(&self, r: usize, now: Timestamp) -> Option<Activity> {
        self.latest_run(r, now).map(|n| self.run(r, n, now))
    }

    /// Data set size when run `n` was due.
    pub fn data_bytes(&self, r: usize, at: Timestamp) -> u64 {
        let rel = &self.relationships[r];
        let days = (at.as_second() - rel.created.as_second()).max(0) as f64 / DAY as f64;
        (rel.base_bytes as f64 * (1.0 + 0.0005 * days)) as u64
    }

    /// Run `n` as seen at `now` (which must be at or after it was due).
    pub fn run(&self, r: usize, n: u64, now: Timestamp) -> Activity {
        let rel = &self.relationships[r];
        let key = |what: &str| format!("{}:{what}", rel.id);
        let u = |what: &str| unit(self.seed, &key(what), n);
        let due = self.scheduled(r, n);
        let start = plus_ms(due, (u("ms") * 1000.0) as u64);
        let queued_ms = if u("queue") < 0.25 {
            (u("qlen") * 300_000.0) as u64
        } else {
            0
        };
        let every_ms = rel.interval.map(|d| d.as_secs()).unwrap_or(DAY) * 1000;
        let (lo, hi) = rel.run_share;
        let mut full_ms = (every_ms as f64 * (lo + (hi - lo) * u("dur"))) as u64;
        if n == 0 {
            full_ms = (full_ms as f64 * 1.5).min(every_ms as f64 * 0.95) as u64;
        }
        full_ms = full_ms.max(60_000);

        #[derive(PartialEq)]
        enum Outcome {
            Done,
            Warn,
            Fail,
            Abort,
            Stuck,
        }
        let outcome = match rel.behaviour {
            Behaviour::NeverSucceeds => Outcome::Fail,
            Behaviour::FailingSince(t) if due >= t => Outcome::Fail,
            Behaviour::FilesFail => Outcome::Warn,
            Behaviour::StuckPending(t) if due >= t => Outcome::Stuck,
            _ => match u("outcome") {
                x if x < 0.05 => Outcome::Fail,
                x if x < 0.07 => Outcome::Abort,
                x if x < 0.15 => Outcome::Warn,
                _ => Outcome::Done,
            },
        };
        let aborted_by_schedule = rel
            .abort_after
            .map(|a| a.as_millis() as u64)
            .filter(|a| full_ms > *a && outcome != Outcome::Stuck);
        let (outcome, length_ms) = match (outcome, aborted_by_schedule) {
            (Outcome::Stuck, _) => (Outcome::Stuck, 0),
            (_, Some(a)) => (Outcome::Abort, a),
            (Outcome::Fail, _) => (
                Outcome::Fail,
                (full_ms as f64 * (0.1 + 0.5 * u("cut"))) as u64,
            ),
            (Outcome::Abort, _) => (
                Outcome::Abort,
                (full_ms as f64 * (0.3 + 0.5 * u("cut"))) as u64,
            ),
            (o, _) => (o, full_ms),
        };
        let run_start = plus_ms(start, queued_ms);
        let end = plus_ms(run_start, length_ms);

        let bytes = self.data_bytes(r, due);
        let files = (bytes / rel.avg_file_bytes).max(1);
        let dirs = files / 50 + 1;
        let change = if n == 0 {
            1.0
        } else {
            0.002 + 0.04 * u("change")
        };
        let marked = (bytes as f64 * change) as u64;
        let files_marked = ((files as f64 * change) as u64).max(1);
        let dirs_marked = if n == 0 {
            dirs
        } else {
            (dirs as f64 * change) as u64
        };

        let mut a = Activity {
            run: n,
            status: "PENDING",
            phase: if n == 0 { "Initial Copy" } else { "Sync" },
            start,
            end: None,
            progress: 0,
            execution_ms: 0,
            remaining_ms: 0,
            bytes_scanned: 0,
            files_scanned: 0,
            dirs_scanned: 0,
            bytes_marked: 0,
            files_marked: 0,
            dirs_marked: 0,
            bytes_copied: 0,
            files_copied: 0,
            dirs_copied: 0,
            bytes_failed: 0,
            files_failed: 0,
            failure_message: String::new(),
            top_errors: Vec::new(),
            broker_errors: Vec::new(),
        };
        if outcome == Outcome::Stuck {
            a.broker_errors.push((
                self.brokers[rel.broker].id.clone(),
                "Data broker is not responding".into(),
            ));
            return a;
        }
        if now < run_start {
            return a;
        }
        let running = now < end;
        let share = if running {
            ms_between(run_start, now) as f64 / full_ms as f64
        } else {
            length_ms as f64 / full_ms as f64
        }
        .min(1.0);
        let part = |x: u64| (x as f64 * share) as u64;
        a.bytes_scanned = part(bytes);
        a.files_scanned = part(files);
        a.dirs_scanned = part(dirs);
        a.bytes_marked = part(marked);
        a.files_marked = part(files_marked);
        a.dirs_marked = part(dirs_marked);
        a.bytes_copied = part(marked);
        a.files_copied = part(files_marked);
        a.dirs_copied = part(dirs_marked);
        a.progress = (share * 100.0) as u64;
        if running {
            a.status = "RUNNING";
            a.execution_ms = ms_between(run_start, now);
            a.remaining_ms = full_ms.saturating_sub(a.execution_ms);
            return a;
        }
        a.end = Some(end);
        a.execution_ms = length_ms;
        match outcome {
            Outcome::Done => a.status = "DONE",
            Outcome::Warn => {
                a.status = "DONE";
                a.files_failed = 1 + (u("failed") * 40.0) as u64;
                a.bytes_failed = (a.files_failed * rel.avg_file_bytes).min(a.bytes_copied);
                a.bytes_copied -= a.bytes_failed;
                a.files_copied = a.files_copied.saturating_sub(a.files_failed);
                a.top_errors.push(TopError {
                    step: "TRANSFER",
                    code: "EACCES",
                    counter: a.files_failed,
                    description: "Permission denied".into(),
                });
            }
            Outcome::Abort => {
                a.status = "ABORTED";
                a.failure_message = if aborted_by_schedule.is_some() {
                    "The sync was aborted by the abort schedule".into()
                } else {
                    "The sync was aborted by the user".into()
                };
            }
            Outcome::Fail => {
                a.status = "FAILED";
                let (step, code, text) = match rel.behaviour {
                    Behaviour::NeverSucceeds => (
                        "SCAN",
                        "invalid_credentials",
                        "SMB logon failure: the user name or password is incorrect",
                    ),
                    Behaviour::FailingSince(_) => (
                        "TRANSFER",
                        "AccessDenied",
                        "Access Denied (target bucket policy)",
                    ),
                    _ => [
                        ("SCAN", "ETIMEDOUT", "NFS server not responding"),
                        ("TRANSFER", "SlowDown", "Please reduce your request rate"),
                        ("TRANSFER", "ENOSPC", "No space left on device"),
                    ][(u("why") * 3.0) as usize % 3],
                };
                a.failure_message = format!("{code}: {text}");
                a.top_errors.push(TopError {
                    step,
                    code,
                    counter: 1,
                    description: text.into(),
                });
            }
            Outcome::Stuck => unreachable!("returned above"),
        }
        a.progress = if a.status == "DONE" { 100 } else { a.progress };
        a
    }

    /// The account's statistics at `now`: the data sets its relationships hold and what
    /// finished runs copied per day over the last 30 days.
    pub fn stats(&self, account: usize, now: Timestamp) -> Stats {
        let mut total_bytes = 0;
        let mut total_files = 0;
        let mut count = 0;
        let days: Vec<Timestamp> = (0..30)
            .map(|i| {
                let d = now.as_second() - now.as_second().rem_euclid(DAY as i64) - i * DAY as i64;
                Timestamp::from_second(d).unwrap_or(now)
            })
            .collect();
        let mut per_day = vec![0u64; 30];
        let oldest = days[29];
        for (r, rel) in self.relationships_of(account) {
            count += 1;
            let Some(last) = self.latest_run(r, now) else {
                continue;
            };
            let bytes = self.data_bytes(r, now);
            total_bytes += bytes;
            total_files += bytes / rel.avg_file_bytes;
            let first = self.latest_run(r, oldest).unwrap_or(0);
            for n in first.saturating_sub(1)..=last {
                let a = self.run(r, n, now);
                if let Some(end) = a.end.filter(|e| *e >= oldest && *e <= now) {
                    let i = days.iter().position(|d| end >= *d).unwrap_or(29);
                    per_day[i] += a.bytes_copied;
                }
            }
        }
        Stats {
            total_bytes,
            total_files,
            relationships: count,
            per_day: days
                .iter()
                .zip(per_day)
                .map(|(d, b)| (d.strftime("%Y-%m-%d").to_string(), b))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world() -> (World, Timestamp) {
        let now: Timestamp = "2026-03-10T12:34:56Z".parse().unwrap();
        (World::new(11, 30, now), now)
    }

    #[test]
    fn planted_relationships_behave() {
        let (w, now) = world();
        assert_eq!(w.activity(0, now).unwrap().status, "FAILED");
        assert_eq!(w.activity(5, now).unwrap().status, "PENDING");
        let a = w.activity(3, now).unwrap();
        assert_eq!((a.status, a.phase, a.run), ("DONE", "Initial Copy", 0));
        assert!(w.relationships[2].name().starts_with("test-"));
        // The abort schedule aborts every finished run of relationship 6.
        for n in 0..20 {
            let a = w.run(6, n, now);
            assert!(a.status == "ABORTED", "{}", a.status);
        }
        // Relationship 4 always leaves failed files behind.
        let latest = w.latest_run(4, now).unwrap();
        let a = w.run(4, latest - 1, now);
        assert_eq!(a.status, "DONE");
        assert!(a.files_failed > 0);
        // Relationship 1 failed repeatedly over the last three days, but not before.
        let n = w.latest_run(1, now).unwrap();
        assert!((n - 8..n).all(|i| w.run(1, i, now).status == "FAILED"));
        assert!((n - 40..n - 14).any(|i| w.run(1, i, now).status == "DONE"));
    }

    #[test]
    fn latest_activity_moves_with_the_clock() {
        let (w, now) = world();
        let r = 7; // hourly
        let a = w.activity(r, now).unwrap();
        let later = w.activity(r, now + SignedDuration::from_hours(1)).unwrap();
        assert_eq!(later.run, a.run + 1);
        assert_ne!(later.start, a.start);
        // A running run finishes with the same start time.
        let n = w.latest_run(r, now).unwrap();
        let mid = w.scheduled(r, n) + SignedDuration::from_mins(20);
        let done = w.scheduled(r, n) + SignedDuration::from_mins(59);
        let (x, y) = (w.run(r, n, mid), w.run(r, n, done));
        assert_eq!(x.start, y.start);
        assert!(x.end.is_none());
    }

    #[test]
    fn stats_sum_the_data_sets() {
        let (w, now) = world();
        let s = w.stats(2, now);
        let want: u64 = w
            .relationships_of(2)
            .map(|(r, _)| w.data_bytes(r, now))
            .sum();
        assert_eq!(s.total_bytes, want);
        assert_eq!(s.per_day.len(), 30);
        assert!(s.per_day.iter().map(|(_, b)| b).sum::<u64>() > 0);
    }
}
