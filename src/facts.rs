//! Per-object facts derived from job history (contract §3, §4): the one place that says
//! which run is an object's newest success, its newest finished attempt, and how many
//! failures follow the newest success ("cancelled neither counts nor resets"). `/metrics`
//! (through the state) and the report both call it, so a gauge and a CSV cell cannot
//! disagree. Pure functions, no I/O.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;

use crate::model::{Job, JobKind, JobResult};

/// What the per-object gauges show about an object's protection runs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ObjectFacts {
    /// End of the newest successful protection run.
    pub last_success: Option<Timestamp>,
    /// The newest finished protection run.
    pub last_attempt: Option<Timestamp>,
    pub last_result: Option<JobResult>,
    pub last_duration: Option<Duration>,
    pub last_transferred: Option<u64>,
    pub consecutive_failures: u64,
    /// End of the newest finished restore (issue 15: restore-test evidence).
    pub last_restore: Option<Timestamp>,
    pub last_restore_result: Option<JobResult>,
    /// End of the newest successful restore (warnings count unless strict).
    pub last_restore_success: Option<Timestamp>,
}

/// Whether a job is one of the runs the facts are made of: a finished protection run or
/// restore with a time.
fn counts(j: &Job) -> bool {
    (j.kind.is_protection() || j.kind == JobKind::Restore)
        && j.result.is_finished()
        && j.time().is_some()
}

/// Oldest first; ties broken by id so that the result does not depend on the order the
/// vendor listed them in.
fn sort_runs(js: &mut [&Job]) {
    js.sort_by(|a, b| a.time().cmp(&b.time()).then_with(|| a.id.cmp(&b.id)));
}

/// Derives the facts of every object from its jobs in one pass over the jobs (plus a sort
/// per object), so the cost grows with the number of jobs, not objects × jobs.
pub fn facts_by_object(jobs: &[Job], strict_warnings: bool) -> HashMap<&str, ObjectFacts> {
    let mut per_object: HashMap<&str, Vec<&Job>> = HashMap::new();
    for j in jobs.iter().filter(|j| counts(j)) {
        per_object.entry(j.object_id.as_str()).or_default().push(j);
    }
    per_object
        .into_iter()
        .map(|(id, mut js)| {
            sort_runs(&mut js);
            (id, facts_of(&js, strict_warnings))
        })
        .collect()
}

/// The facts of one object as of `until` (inclusive): what the report shows at a period's
/// end. `jobs` are that object's jobs of any kind and result, in any order.
pub fn facts_until<'a>(
    jobs: impl IntoIterator<Item = &'a Job>,
    until: Timestamp,
    strict_warnings: bool,
) -> ObjectFacts {
    let mut js: Vec<&Job> = jobs
        .into_iter()
        .filter(|j| counts(j) && j.time().is_some_and(|t| t <= until))
        .collect();
    sort_runs(&mut js);
    facts_of(&js, strict_warnings)
}

/// `jobs`: one object's finished protection runs and restores, oldest first.
fn facts_of(jobs: &[&Job], strict_warnings: bool) -> ObjectFacts {
    let mut f = ObjectFacts::default();
    for j in jobs {
        let t = j.time();
        if j.kind == JobKind::Restore {
            f.last_restore = t;
            f.last_restore_result = Some(j.result);
            if j.result.is_success(strict_warnings) {
                f.last_restore_success = t;
            }
            continue;
        }
        if j.result.is_success(strict_warnings) {
            f.last_success = t;
            f.consecutive_failures = 0;
        } else if j.result.is_failure() {
            f.consecutive_failures += 1;
        }
        f.last_attempt = t;
        f.last_result = Some(j.result);
        f.last_duration = j.duration_or_span();
        f.last_transferred = j.transferred_bytes;
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, obj: &str, kind: JobKind, result: JobResult, end: i64) -> Job {
        Job {
            id: id.into(),
            object_id: obj.into(),
            kind,
            result,
            vendor_status: String::new(),
            start: Timestamp::from_second(end - 60).ok(),
            end: Timestamp::from_second(end).ok(),
            duration: None,
            transferred_bytes: Some(end as u64),
            error_code: None,
            error_message: None,
        }
    }

    #[test]
    fn cancelled_neither_counts_nor_resets_failures() {
        use JobResult::*;
        let jobs = vec![
            job("1", "a", JobKind::Backup, Success, 1000),
            job("2", "a", JobKind::Backup, Failed, 2000),
            job("3", "a", JobKind::Backup, Cancelled, 3000),
            job("4", "a", JobKind::Backup, Missed, 4000),
            job("5", "a", JobKind::Backup, Running, 5000),
            job("6", "a", JobKind::Restore, Success, 6000),
        ];
        let f = &facts_by_object(&jobs, false)["a"];
        assert_eq!(f.last_success, Timestamp::from_second(1000).ok());
        assert_eq!(f.consecutive_failures, 2);
        assert_eq!(f.last_attempt, Timestamp::from_second(4000).ok());
        assert_eq!(f.last_result, Some(Missed));
        assert_eq!(f.last_duration, Some(Duration::from_secs(60)));
        assert_eq!(f.last_transferred, Some(4000));
    }

    #[test]
    fn warnings_are_successes_unless_strict() {
        let jobs = vec![
            job("1", "a", JobKind::Backup, JobResult::Success, 1000),
            job("2", "a", JobKind::Sync, JobResult::Warning, 2000),
        ];
        let lenient = &facts_by_object(&jobs, false)["a"];
        assert_eq!(lenient.last_success, Timestamp::from_second(2000).ok());
        let strict = &facts_by_object(&jobs, true)["a"];
        assert_eq!(strict.last_success, Timestamp::from_second(1000).ok());
        assert_eq!(strict.consecutive_failures, 0, "a warning is not a failure");
    }

    #[test]
    fn facts_until_ignore_what_came_later() {
        use JobResult::*;
        let jobs = [
            job("1", "a", JobKind::Backup, Success, 1000),
            job("2", "a", JobKind::Backup, Failed, 2000),
            job("3", "a", JobKind::Backup, Success, 3000),
        ];
        let f = facts_until(&jobs, Timestamp::from_second(2000).unwrap(), false);
        assert_eq!(f.last_success, Timestamp::from_second(1000).ok());
        assert_eq!(f.last_result, Some(Failed));
        assert_eq!(f.consecutive_failures, 1);
        let all = &facts_by_object(&jobs, false)["a"];
        let later = facts_until(&jobs, Timestamp::from_second(9000).unwrap(), false);
        assert_eq!(all, &later, "the whole history and a later cut agree");
    }

    #[test]
    fn restores_have_their_own_facts_and_leave_protection_alone() {
        use JobResult::*;
        let jobs = vec![
            job("1", "a", JobKind::Backup, Success, 1000),
            job("2", "a", JobKind::Restore, Success, 2000),
            job("3", "a", JobKind::Restore, Failed, 3000),
            job("4", "a", JobKind::Restore, Running, 4000),
            job("5", "a", JobKind::Backup, Failed, 5000),
        ];
        let f = &facts_by_object(&jobs, false)["a"];
        assert_eq!(f.last_restore, Timestamp::from_second(3000).ok());
        assert_eq!(f.last_restore_result, Some(Failed));
        assert_eq!(f.last_restore_success, Timestamp::from_second(2000).ok());
        assert_eq!(f.last_success, Timestamp::from_second(1000).ok());
        assert_eq!(f.last_result, Some(Failed));
        assert_eq!(
            f.consecutive_failures, 1,
            "a failed restore is not a failed backup"
        );
        let cut = facts_until(&jobs, Timestamp::from_second(2500).unwrap(), false);
        assert_eq!(cut.last_restore_result, Some(Success));
        let only_restores = &facts_by_object(&jobs[1..3], false)["a"];
        assert_eq!(only_restores.last_attempt, None);
        assert_eq!(only_restores.last_result, None);
    }

    #[test]
    fn never_succeeded_has_no_last_success() {
        let jobs = vec![
            job("1", "b", JobKind::Backup, JobResult::Failed, 1000),
            job("2", "b", JobKind::Backup, JobResult::Failed, 2000),
        ];
        let f = &facts_by_object(&jobs, false)["b"];
        assert_eq!(f.last_success, None);
        assert_eq!(f.consecutive_failures, 2);
    }
}
