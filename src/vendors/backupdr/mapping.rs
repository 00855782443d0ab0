//! Backup and DR words and units → the vendor-neutral model.
//!
//! Every table here is the single place a vendor word is interpreted; each has a test.

use std::time::Duration;

use jiff::Timestamp;

use super::wire::{AuditRest, JobRest, PolicyRest};
use crate::model::{self, AuditAction, AuditEvent, Job, JobKind, JobResult, Vendor};
/// Console times are epoch microseconds, but a few fields (and older releases) use
/// milliseconds or seconds; the shared decoder tells them apart by magnitude.
pub use crate::vendors::lenient::epoch_time as epoch_to_timestamp;

/// The filter value for a time: epoch microseconds, as the console filters dates.
pub fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

/// `status` of `/jobstatus`, lowercased. `canceled` is the console's spelling; the British
/// one is accepted too. States a job passes through before it ends are `Running`.
/// Returns `None` for a word the table does not know.
pub fn job_result(status: &str) -> Option<JobResult> {
    Some(match status.trim().to_ascii_lowercase().as_str() {
        "succeeded" | "success" | "successful" | "completed" => JobResult::Success,
        "succeeded with warnings" | "succeeded_with_warnings" | "warning" | "warnings" => {
            JobResult::Warning
        }
        "failed" | "failure" | "error" => JobResult::Failed,
        "canceled" | "cancelled" | "aborted" => JobResult::Cancelled,
        "queued" | "initializing" | "running" | "paused" | "interrupted" | "stalled"
        | "waiting" | "retrying" | "pending" => JobResult::Running,
        _ => return None,
    })
}

/// The statuses of jobs that have not ended, for the `status:==` filter that reads them.
pub const NOT_ENDED_STATUSES: &[&str] = &[
    "queued",
    "initializing",
    "running",
    "paused",
    "interrupted",
    "stalled",
    "waiting",
];

/// `jobclass` → kind. Captures (snapshot, dedup, OnVault) create restore points of the
/// application; StreamSnap and the remote/async dedup copies send them to another appliance.
pub fn job_kind(jobclass: &str) -> Option<JobKind> {
    Some(match jobclass.trim().to_ascii_lowercase().as_str() {
        "snapshot" | "dedup" | "onvault" | "directonvault" | "direct-onvault" | "directdedup"
        | "direct-dedup" | "direct2dedup" | "logbackup" | "log-backup" => JobKind::Backup,
        "streamsnap" | "stream_snap" | "remote-dedup" | "remotededup" | "dedup-async"
        | "dedupasync" | "dedup_async" | "mirror" | "replicate" | "replication" => {
            JobKind::Replication
        }
        "mount" | "restore" | "clone" | "liveclone" | "live-clone" | "restoremigrate"
        | "restore-migrate" | "failover" | "testfailover" | "syncback" => JobKind::Restore,
        "unmount" | "expiration" | "expire" | "migrate" | "finalize" | "reprovision"
        | "prepmount" | "unmountdelete" => JobKind::Other,
        _ => return None,
    })
}

/// The job classes whose images are restore points (active images of mounts are not).
pub const RESTORE_POINT_CLASSES: &[&str] = &[
    "snapshot",
    "dedup",
    "OnVault",
    "DirectOnVault",
    "StreamSnap",
    "remote-dedup",
];

/// A policy's `op` → the kind of job it runs, to pick the policies that set the RPO.
pub fn policy_kind(op: &str) -> Option<JobKind> {
    Some(match op.trim().to_ascii_lowercase().as_str() {
        "snap" | "snapshot" | "directonvault" | "direct-onvault" | "cloud" | "onvault"
        | "dedup" | "directdedup" | "direct-dedup" => JobKind::Backup,
        "stream_snap" | "streamsnap" | "remote-dedup" | "remotededup" | "dedupasync"
        | "dedup-async" | "mirror" | "replicate" => JobKind::Replication,
        _ => return None,
    })
}

/// The interval of one policy: `rpo` in hours, or `rpom` in minutes when `rpo` is absent.
pub fn policy_interval(p: &PolicyRest) -> Option<Duration> {
    let secs = match (p.rpo, p.rpom) {
        (Some(h), _) if h > 0.0 => h * 3600.0,
        (_, Some(m)) if m > 0.0 => m * 60.0,
        _ => return None,
    };
    (secs.is_finite() && secs < 1e9).then(|| Duration::from_secs(secs.round() as u64))
}

/// The RPO a template implies: the shortest interval among its backup policies. Templates
/// whose policies have no recognisable `op` fall back to the shortest interval of any
/// policy; replication alone says nothing about how often restore points are made.
pub fn template_rpo(policies: &[PolicyRest]) -> Option<Duration> {
    let backup = policies
        .iter()
        .filter(|p| p.op.as_deref().and_then(policy_kind) == Some(JobKind::Backup))
        .filter_map(policy_interval)
        .min();
    if backup.is_some() {
        return backup;
    }
    let any_known = policies
        .iter()
        .any(|p| p.op.as_deref().and_then(policy_kind).is_some());
    if any_known {
        return None;
    }
    policies.iter().filter_map(policy_interval).min()
}

/// One `/jobstatus` item → a model job. Items without an id are dropped (they cannot be
/// counted once); unknown status words become `Failed` once ended, and are logged.
pub fn job(w: &JobRest) -> Option<Job> {
    let id = w.id.clone().filter(|s| !s.is_empty())?;
    let status = w.status.clone().unwrap_or_default();
    let end = w.enddate.and_then(epoch_to_timestamp);
    let result = match job_result(&status) {
        Some(r) => r,
        None => {
            model::note_unknown_word(Vendor::Backupdr, "job status", &status);
            if end.is_some() || status.is_empty() {
                JobResult::Failed
            } else {
                // No end date and a word we do not know: assume it is still going rather
                // than declare a failure that has not happened.
                JobResult::Running
            }
        }
    };
    let jobclass = w.jobclass.clone().unwrap_or_default();
    let kind = job_kind(&jobclass).unwrap_or_else(|| {
        model::note_unknown_word(Vendor::Backupdr, "job class", &jobclass);
        JobKind::Other
    });
    let start = w
        .startdate
        .and_then(epoch_to_timestamp)
        .or_else(|| w.queuedate.and_then(epoch_to_timestamp));
    let failed = matches!(result, JobResult::Failed | JobResult::Cancelled);
    let error_code = w
        .errorcode
        .clone()
        .filter(|c| !c.trim().is_empty() && c.trim() != "0");
    let error_message = if failed || error_code.is_some() {
        w.message
            .clone()
            .map(|m| m.trim().to_owned())
            .filter(|m| !m.is_empty() && !m.eq_ignore_ascii_case("success"))
    } else {
        None
    };
    Some(Job {
        id,
        object_id: w.appid.clone().unwrap_or_default(),
        kind,
        result,
        vendor_status: status,
        start,
        end: if result == JobResult::Running {
            None
        } else {
            end
        },
        duration: if result == JobResult::Running {
            None
        } else {
            w.duration
                .filter(|d| *d >= 0)
                .map(|d| Duration::from_micros(d as u64))
        },
        transferred_bytes: None,
        error_code,
        error_message,
    })
}

/// An audit `command` → action, by its HTTP method and path. A POST to a collection
/// creates, one to `…/expire` deletes an image, other POSTs run an operation (mount,
/// restore, …) which is none of the named actions. Reads (GET, HEAD, OPTIONS) change
/// nothing and are `other` too: `info` would guess at a meaning the console does not give
/// (contract §3), and the adapter asks only for POST, PUT and DELETE anyway.
pub fn audit_action(command: &str) -> AuditAction {
    let mut words = command.split_whitespace();
    let method = words.next().unwrap_or("").to_ascii_uppercase();
    let path = words.next().map(command_path).unwrap_or_default();
    let segments: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && *s != "actifio")
        .collect();
    let last = segments.last().copied().unwrap_or("");
    let first = segments.first().copied().unwrap_or("");
    match method.as_str() {
        "GET" | "HEAD" | "OPTIONS" => AuditAction::Other,
        "POST" if first == "session" && segments.len() == 1 => AuditAction::Login,
        "POST" if last == "expire" || last == "expirebackup" => AuditAction::Delete,
        "POST" if is_collection(last) => AuditAction::Create,
        "PUT" | "PATCH" => AuditAction::Modify,
        "DELETE" if first == "session" => AuditAction::Other,
        "DELETE" => AuditAction::Delete,
        _ => AuditAction::Other,
    }
}

/// Collections a POST creates in (spec paths with a POST that makes an object).
fn is_collection(segment: &str) -> bool {
    matches!(
        segment,
        "sla"
            | "slt"
            | "slp"
            | "policy"
            | "host"
            | "user"
            | "role"
            | "org"
            | "diskpool"
            | "cluster"
            | "consistencygroup"
            | "logicalgroup"
            | "member"
            | "settableoption"
            | "workflow"
            | "cloudcredential"
            | "array"
            | "dynamicprotection"
            | "application"
    )
}

/// The path of the URL in an audit command (the console writes full URLs).
fn command_path(url: &str) -> String {
    let no_query = url.split('?').next().unwrap_or(url);
    match url::Url::parse(no_query) {
        Ok(u) => u.path().to_owned(),
        Err(_) => no_query.to_owned(),
    }
}

/// Audit commands end with "Session <prefix of the session id>". It is not needed to read
/// the event and is part of a credential, so it never leaves the adapter.
pub fn without_session(command: &str) -> String {
    match command.rfind(" Session ") {
        Some(i) => command[..i].trim_end().to_owned(),
        None => command.trim().to_owned(),
    }
}

pub fn audit_event(w: &AuditRest) -> Option<AuditEvent> {
    let id = w.id.clone().filter(|s| !s.is_empty())?;
    let time = w.issuedate.and_then(epoch_to_timestamp)?;
    let command = w.command.clone().unwrap_or_default();
    let message = without_session(&command);
    let object = message
        .split_whitespace()
        .nth(1)
        .map(command_path)
        .unwrap_or_default();
    Some(AuditEvent {
        id,
        time,
        tenant: String::new(),
        actor: w.username.clone().unwrap_or_default(),
        action: audit_action(&command),
        object,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_values_are_read_by_magnitude() {
        let want = Timestamp::from_second(1_668_650_411).unwrap();
        assert_eq!(epoch_to_timestamp(1_668_650_411), Some(want));
        assert_eq!(epoch_to_timestamp(1_668_650_411_000_000), Some(want));
        assert_eq!(epoch_to_timestamp(0), None);
        assert_eq!(micros(want), 1_668_650_411_000_000);
    }

    #[test]
    fn job_status_table() {
        let table = [
            ("succeeded", JobResult::Success),
            ("Succeeded", JobResult::Success),
            ("succeeded with warnings", JobResult::Warning),
            ("failed", JobResult::Failed),
            ("canceled", JobResult::Cancelled),
            ("cancelled", JobResult::Cancelled),
            ("queued", JobResult::Running),
            ("initializing", JobResult::Running),
            ("running", JobResult::Running),
            ("paused", JobResult::Running),
            ("interrupted", JobResult::Running),
            ("stalled", JobResult::Running),
            ("waiting", JobResult::Running),
        ];
        for (word, want) in table {
            assert_eq!(job_result(word), Some(want), "{word}");
        }
        assert_eq!(job_result("exploded"), None);
        for w in NOT_ENDED_STATUSES {
            assert_eq!(job_result(w), Some(JobResult::Running), "{w}");
        }
    }

    #[test]
    fn job_class_table() {
        let table = [
            ("snapshot", JobKind::Backup),
            ("dedup", JobKind::Backup),
            ("OnVault", JobKind::Backup),
            ("DirectOnVault", JobKind::Backup),
            ("StreamSnap", JobKind::Replication),
            ("remote-dedup", JobKind::Replication),
            ("mount", JobKind::Restore),
            ("restore", JobKind::Restore),
            ("unmount", JobKind::Other),
            ("Migrate", JobKind::Other),
            ("Finalize", JobKind::Other),
            ("reprovision", JobKind::Other),
            ("expiration", JobKind::Other),
        ];
        for (word, want) in table {
            assert_eq!(job_kind(word), Some(want), "{word}");
        }
        assert_eq!(job_kind("teleport"), None);
        for c in RESTORE_POINT_CLASSES {
            assert!(
                matches!(
                    job_kind(c),
                    Some(JobKind::Backup) | Some(JobKind::Replication)
                ),
                "{c}"
            );
        }
    }

    fn policy(op: &str, rpo: Option<f64>, rpom: Option<f64>) -> PolicyRest {
        PolicyRest {
            op: Some(op.into()),
            rpo,
            rpom,
            ..Default::default()
        }
    }

    #[test]
    fn template_rpo_is_the_most_frequent_backup_policy() {
        let gold = [
            policy("snap", Some(6.0), None),
            policy("stream_snap", Some(1.0), None),
            policy("cloud", Some(24.0), None),
        ];
        assert_eq!(template_rpo(&gold), Some(Duration::from_secs(6 * 3600)));
        let minutes = [policy("snap", None, Some(30.0))];
        assert_eq!(template_rpo(&minutes), Some(Duration::from_secs(1800)));
        let replication_only = [policy("stream_snap", Some(1.0), None)];
        assert_eq!(template_rpo(&replication_only), None);
        let unknown_ops = [policy("teleport", Some(12.0), None)];
        assert_eq!(
            template_rpo(&unknown_ops),
            Some(Duration::from_secs(12 * 3600))
        );
        assert_eq!(template_rpo(&[policy("snap", Some(0.0), None)]), None);
    }

    fn wire_job(status: &str, end: Option<i64>) -> JobRest {
        JobRest {
            id: Some("1242355".into()),
            jobclass: Some("snapshot".into()),
            status: Some(status.into()),
            message: Some("Failed to find VM with matching BIOS UUID".into()),
            errorcode: Some("933".into()),
            appid: Some("409100".into()),
            startdate: Some(1_668_651_001_000_000),
            enddate: end,
            duration: Some(62_000_000),
            ..Default::default()
        }
    }

    #[test]
    fn failed_job_keeps_code_message_and_duration() {
        let j = job(&wire_job("failed", Some(1_668_651_063_000_000))).unwrap();
        assert_eq!(j.result, JobResult::Failed);
        assert_eq!(j.kind, JobKind::Backup);
        assert_eq!(j.object_id, "409100");
        assert_eq!(j.error_code.as_deref(), Some("933"));
        assert_eq!(
            j.error_message.as_deref(),
            Some("Failed to find VM with matching BIOS UUID")
        );
        assert_eq!(j.duration, Some(Duration::from_secs(62)));
        assert_eq!(j.end.unwrap().as_second(), 1_668_651_063);
    }

    #[test]
    fn success_has_no_error() {
        let mut w = wire_job("succeeded", Some(1_668_651_063_000_000));
        w.errorcode = Some("0".into());
        w.message = Some("Success".into());
        let j = job(&w).unwrap();
        assert_eq!(j.result, JobResult::Success);
        assert_eq!(j.error_code, None);
        assert_eq!(j.error_message, None);
    }

    #[test]
    fn unknown_status_is_failed_once_ended_and_running_before() {
        assert_eq!(
            job(&wire_job("vaporized", Some(1_668_651_063_000_000)))
                .unwrap()
                .result,
            JobResult::Failed
        );
        let open = job(&wire_job("defrosting", None)).unwrap();
        assert_eq!(open.result, JobResult::Running);
        assert_eq!(open.end, None);
        assert_eq!(open.vendor_status, "defrosting");
    }

    #[test]
    fn job_without_id_is_dropped() {
        let mut w = wire_job("failed", None);
        w.id = None;
        assert!(job(&w).is_none());
    }

    #[test]
    fn audit_action_table() {
        let host = "https://agm.example/actifio";
        let table = [
            (format!("GET {host}/jobstatus?limit=5"), AuditAction::Other),
            (
                format!("HEAD {host}/backup?filter=appid:==5"),
                AuditAction::Other,
            ),
            (format!("OPTIONS {host}/application"), AuditAction::Other),
            (
                format!("POST {host}/backup/425577/restore"),
                AuditAction::Other,
            ),
            (
                format!("POST {host}/application/9/backup"),
                AuditAction::Other,
            ),
            (format!("POST {host}/session"), AuditAction::Login),
            (format!("DELETE {host}/session/current"), AuditAction::Other),
            (format!("POST {host}/sla"), AuditAction::Create),
            (format!("POST {host}/slt/42/policy"), AuditAction::Create),
            (format!("PUT {host}/slt/42"), AuditAction::Modify),
            (format!("DELETE {host}/sla/5001"), AuditAction::Delete),
            (
                format!("POST {host}/backup/425577/expire force=TRUE Session 5b53bf3e"),
                AuditAction::Delete,
            ),
            (
                format!("POST {host}/backup/425577/mount"),
                AuditAction::Other,
            ),
            ("FROB /x".to_owned(), AuditAction::Other),
            (String::new(), AuditAction::Other),
        ];
        for (cmd, want) in table {
            assert_eq!(audit_action(&cmd), want, "{cmd}");
        }
    }

    #[test]
    fn audit_event_drops_the_session_prefix() {
        let w = AuditRest {
            id: Some("986486".into()),
            issuedate: Some(1_668_595_899_000_000),
            username: Some("apiuser@iam.gserviceaccount.com".into()),
            command: Some(
                "POST https://agm.example/actifio/backup/425577/expire force=TRUE Session 5b53bf3e"
                    .into(),
            ),
        };
        let e = audit_event(&w).unwrap();
        assert_eq!(e.action, AuditAction::Delete);
        assert_eq!(e.object, "/actifio/backup/425577/expire");
        assert!(!e.message.contains("5b53bf3e"), "{}", e.message);
        assert!(e.message.ends_with("force=TRUE"), "{}", e.message);
        assert_eq!(e.time.as_second(), 1_668_595_899);
    }
}
