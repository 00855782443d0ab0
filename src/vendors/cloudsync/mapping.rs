//! Cloud Sync wire types → the vendor-neutral model.
//!
//! A relationship is the object; its `activity` (Cloud Sync remembers only the latest run)
//! is at most one job, identified by the relationship id and the activity's start time so
//! that the same run seen on many refreshes is one job.

use std::time::Duration;

use super::paths::endpoint_path;
use super::wire::{Activity, Endpoint, Relationship};
use crate::model::{Job, JobKind, JobResult, Object, Vendor, note_unknown_word};

/// The `object_type` of every Cloud Sync object.
pub(super) const OBJECT_TYPE: &str = "relationship";

/// Every `activity.status` word and what it means. DONE is refined by the failure counters
/// in [`job_result`]; PENDING is a run that is queued and so not finished.
const STATUS_TABLE: &[(&str, JobResult)] = &[
    ("DONE", JobResult::Success),
    ("FAILED", JobResult::Failed),
    ("ABORTED", JobResult::Cancelled),
    ("RUNNING", JobResult::Running),
    ("PENDING", JobResult::Running),
    // Continuous-sync relationships (a notification setting names this status).
    ("RUNNING_CONTINUOUSLY", JobResult::Running),
];

/// The result of an activity. A DONE run that failed to copy some files or directories is
/// a warning: Cloud Sync itself calls it DONE.
pub(super) fn job_result(status: &str, files_failed: u64, dirs_failed: u64) -> JobResult {
    let word = status.trim().to_ascii_uppercase();
    match STATUS_TABLE.iter().find(|(w, _)| *w == word) {
        Some((_, JobResult::Success)) if files_failed > 0 || dirs_failed > 0 => JobResult::Warning,
        Some((_, r)) => *r,
        None => {
            note_unknown_word(Vendor::Cloudsync, "activity.status", status);
            JobResult::Failed
        }
    }
}

/// The relationship id, from `id` or (older responses) `relationshipId`.
pub(super) fn relationship_id(rel: &Relationship) -> Option<&str> {
    rel.id
        .as_deref()
        .or(rel.relationship_id.as_deref())
        .filter(|s| !s.is_empty())
}

/// `<source> -> <target>` (contract §3).
pub(super) fn object_name(rel: &Relationship) -> String {
    let side = |e: &Option<Endpoint>| {
        e.as_ref()
            .map(endpoint_path)
            .unwrap_or_else(|| "unknown".into())
    };
    format!("{} -> {}", side(&rel.source), side(&rel.target))
}

/// The schedule's interval when the scheduler is on.
pub(super) fn schedule_interval(rel: &Relationship) -> Option<Duration> {
    let sched = rel.settings.as_ref()?.schedule.as_ref()?;
    if sched.is_enabled != Some(true) {
        return None;
    }
    let secs = sched.sync_in_days.unwrap_or(0).saturating_mul(86_400)
        + sched.sync_in_hours.unwrap_or(0).saturating_mul(3_600)
        + sched.sync_in_minutes.unwrap_or(0).saturating_mul(60);
    (secs > 0).then(|| Duration::from_secs(secs))
}

fn continuous(rel: &Relationship) -> bool {
    rel.settings
        .as_ref()
        .and_then(|s| s.continuous_sync)
        .unwrap_or(false)
}

/// `every 1d 6h`, `every 30m`.
pub(super) fn interval_text(d: Duration) -> String {
    let secs = d.as_secs();
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    let mut parts = Vec::new();
    if days > 0 {
        parts.push(format!("{days}d"));
    }
    if hours > 0 {
        parts.push(format!("{hours}h"));
    }
    if minutes > 0 || parts.is_empty() {
        parts.push(format!("{minutes}m"));
    }
    format!("every {}", parts.join(" "))
}

/// The relationship as an object, or `None` when it has no id.
pub(super) fn object(rel: &Relationship, tenant: &str) -> Option<Object> {
    let id = relationship_id(rel)?;
    let interval = schedule_interval(rel);
    let is_continuous = continuous(rel);
    let policy = if is_continuous {
        "continuous".to_owned()
    } else {
        interval.map(interval_text).unwrap_or_default()
    };
    let activity = rel.activity.as_ref().filter(|a| a.status.is_some());
    // A DONE run scanned the whole source: its byte count is the size of the data set the
    // target holds a copy of. Any other state only saw part of it.
    let data_set = activity
        .filter(|a| a.status.as_deref().map(str::to_ascii_uppercase).as_deref() == Some("DONE"))
        .and_then(|a| a.bytes_scanned);
    Some(Object {
        id: id.to_owned(),
        name: object_name(rel),
        object_type: OBJECT_TYPE.to_owned(),
        tenant: tenant.to_owned(),
        policy,
        protected: interval.is_some() || is_continuous,
        created: rel.created_at,
        // Cloud Sync forgets every run but the latest, so what it can tell starts there.
        history_start: activity.and_then(|a| a.start_time.or(a.end_time)),
        policy_rpo: interval,
        protected_bytes: data_set,
        stored_bytes: data_set,
        restore_points: None,
        latest_restore_point: None,
        // A clean DONE run is a success however old; it keeps the last-success gauge right
        // for relationships that run less often than the job window is long. (A DONE with
        // failed files is not hinted: whether it counts depends on `strict_warnings`.)
        last_success_hint: activity
            .filter(|a| {
                let status = a.status.as_deref().unwrap_or_default();
                job_result(
                    status,
                    a.files_failed.unwrap_or(0),
                    a.dirs_failed.unwrap_or(0),
                ) == JobResult::Success
            })
            .and_then(|a| a.end_time),
    })
}

/// The job id of an activity: the relationship id and the run's start time.
pub(super) fn job_id(rel_id: &str, a: &Activity) -> String {
    match a.start_time.or(a.end_time) {
        Some(t) => format!("{rel_id}@{t}"),
        None => format!("{rel_id}@unknown"),
    }
}

/// The relationship's latest activity as a job, or `None` when it never ran.
pub(super) fn job(rel: &Relationship) -> Option<Job> {
    let rel_id = relationship_id(rel)?;
    let a = rel.activity.as_ref()?;
    let status = a.status.as_deref().filter(|s| !s.trim().is_empty())?;
    let files_failed = a.files_failed.unwrap_or(0);
    let result = job_result(status, files_failed, a.dirs_failed.unwrap_or(0));
    let finished = result.is_finished();
    let top = a.top_five_most_common_relationship_errors.first();
    let error_code = match result {
        JobResult::Success | JobResult::Running => None,
        _ => top.and_then(|t| t.error_code.clone()),
    };
    let error_message = match result {
        JobResult::Success | JobResult::Running => None,
        JobResult::Warning => Some(match top.and_then(|t| t.description.as_deref()) {
            Some(d) => format!("{files_failed} files failed: {d}"),
            None => format!("{files_failed} files failed"),
        }),
        _ => a
            .failure_message
            .clone()
            .filter(|m| !m.is_empty())
            .or_else(|| a.errors.iter().find_map(|e| e.reason.clone()))
            .or_else(|| top.and_then(|t| t.description.clone())),
    };
    Some(Job {
        id: job_id(rel_id, a),
        object_id: rel_id.to_owned(),
        kind: JobKind::Sync,
        result,
        vendor_status: status.to_owned(),
        start: a.start_time,
        end: if finished { a.end_time } else { None },
        duration: if finished {
            a.execution_time
                .filter(|ms| ms.is_finite() && *ms >= 0.0)
                .map(|ms| Duration::from_millis(ms as u64))
        } else {
            None
        },
        transferred_bytes: a.bytes_copied,
        error_code,
        error_message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(json: &str) -> Relationship {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn every_status_word_maps() {
        let table = [
            ("DONE", 0, 0, JobResult::Success),
            ("DONE", 3, 0, JobResult::Warning),
            ("DONE", 0, 1, JobResult::Warning),
            ("FAILED", 0, 0, JobResult::Failed),
            ("FAILED", 9, 0, JobResult::Failed),
            ("ABORTED", 0, 0, JobResult::Cancelled),
            ("RUNNING", 0, 0, JobResult::Running),
            ("PENDING", 0, 0, JobResult::Running),
            ("RUNNING_CONTINUOUSLY", 0, 0, JobResult::Running),
            ("done", 0, 0, JobResult::Success),
            ("EXPLODED", 0, 0, JobResult::Failed),
        ];
        for (word, files, dirs, want) in table {
            assert_eq!(job_result(word, files, dirs), want, "{word} {files} {dirs}");
        }
    }

    #[test]
    fn schedule_gives_policy_and_rpo() {
        let r = rel(
            r#"{"id":"r1","settings":{"schedule":{"syncInDays":1,"syncInHours":6,"syncInMinutes":0,"isEnabled":true}}}"#,
        );
        let o = object(&r, "Acme").unwrap();
        assert!(o.protected);
        assert_eq!(o.policy, "every 1d 6h");
        assert_eq!(o.policy_rpo, Some(Duration::from_secs(30 * 3600)));
        let off = rel(r#"{"id":"r2","settings":{"schedule":{"syncInDays":1,"isEnabled":false}}}"#);
        let o = object(&off, "Acme").unwrap();
        assert!(!o.protected);
        assert_eq!(o.policy, "");
        assert_eq!(o.policy_rpo, None);
        let cont = rel(r#"{"id":"r3","settings":{"continuousSync":true}}"#);
        assert_eq!(object(&cont, "Acme").unwrap().policy, "continuous");
        assert_eq!(interval_text(Duration::from_secs(1800)), "every 30m");
    }

    #[test]
    fn only_a_done_run_tells_the_data_set_size() {
        let done = rel(
            r#"{"id":"r","activity":{"status":"DONE","bytesScanned":500,"startTime":"2024-05-01T10:00:00Z"}}"#,
        );
        let o = object(&done, "t").unwrap();
        assert_eq!(o.stored_bytes, Some(500));
        assert_eq!(o.last_success_hint, None, "no end time, no hint");
        assert_eq!(o.history_start.unwrap().to_string(), "2024-05-01T10:00:00Z");
        let clean = rel(
            r#"{"id":"r","activity":{"status":"DONE","filesFailed":0,"endTime":"2024-05-01T11:00:00Z"}}"#,
        );
        let hint = object(&clean, "t").unwrap().last_success_hint;
        assert_eq!(hint.unwrap().to_string(), "2024-05-01T11:00:00Z");
        let partial = rel(
            r#"{"id":"r","activity":{"status":"DONE","filesFailed":3,"endTime":"2024-05-01T11:00:00Z"}}"#,
        );
        assert_eq!(object(&partial, "t").unwrap().last_success_hint, None);
        let running = rel(r#"{"id":"r","activity":{"status":"RUNNING","bytesScanned":100}}"#);
        assert_eq!(object(&running, "t").unwrap().stored_bytes, None);
        assert!(object(&rel(r#"{"source":{}}"#), "t").is_none());
    }

    #[test]
    fn job_id_is_relationship_and_start() {
        let r = rel(
            r#"{"id":"61c4","activity":{"status":"DONE","filesFailed":2,"startTime":"2021-12-23T09:20:12.875Z","endTime":"2021-12-23T09:22:59.304Z","executionTime":166429,"bytesCopied":10,
            "topFiveMostCommonRelationshipErrors":[{"errorCode":"EACCES","description":"permission denied"}]}}"#,
        );
        let j = job(&r).unwrap();
        assert_eq!(j.id, "61c4@2021-12-23T09:20:12.875Z");
        assert_eq!(j.result, JobResult::Warning);
        assert_eq!(j.kind, JobKind::Sync);
        assert_eq!(j.duration, Some(Duration::from_millis(166429)));
        assert_eq!(j.transferred_bytes, Some(10));
        assert_eq!(j.error_code.as_deref(), Some("EACCES"));
        assert_eq!(
            j.error_message.as_deref(),
            Some("2 files failed: permission denied")
        );
    }

    #[test]
    fn running_job_has_no_end_and_failed_job_keeps_its_message() {
        let r = rel(
            r#"{"id":"a","activity":{"status":"RUNNING","startTime":"2024-01-01T00:00:00Z","endTime":"2023-12-31T00:00:00Z","executionTime":5}}"#,
        );
        let j = job(&r).unwrap();
        assert_eq!(j.result, JobResult::Running);
        assert!(j.end.is_none() && j.duration.is_none());
        let f = rel(
            r#"{"id":"a","activity":{"status":"FAILED","failureMessage":"","errors":[{"dataBrokerId":"d","reason":"broker down"}]}}"#,
        );
        assert_eq!(
            job(&f).unwrap().error_message.as_deref(),
            Some("broker down")
        );
        assert!(job(&rel(r#"{"id":"a","activity":{}}"#)).is_none());
        assert!(job(&rel(r#"{"id":"a"}"#)).is_none());
    }
}
