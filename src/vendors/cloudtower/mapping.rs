//! CloudTower words → the vendor-neutral model, each in a table with a test.
//!
//! CloudTower spells success three ways depending on the model: `SUCCESSED` (Task,
//! UserAuditLog), `SUCCEED` (SnapshotPlanExecuteStatus, BackupPlanExecutionState) and
//! `SUCCESS` (BackupPlanExecutionStatus, BackupExecutionStatus). The job words of all
//! those enums agree where they overlap, so one table serves them all.

use std::time::Duration;

use serde_json::Value;

use crate::model::{AuditAction, JobKind, JobResult, Severity, Vendor, note_unknown_word};

/// Every status word of the job-like enums of the 4.6.0 spec.
pub(super) const JOB_STATUS: &[(&str, JobResult)] = &[
    // Success, in all three spellings.
    ("SUCCESSED", JobResult::Success),
    ("SUCCEED", JobResult::Success),
    ("SUCCESS", JobResult::Success),
    // Partial: some VMs of a plan execution failed.
    ("PARTIAL_SUCCESS", JobResult::Warning),
    ("PARTLY_FAILED", JobResult::Warning),
    ("FAILED", JobResult::Failed),
    // The tower could not tell how a snapshot plan run ended: not a restore point we can
    // rely on.
    ("UNSPECIFIED", JobResult::Failed),
    ("ABORTED", JobResult::Cancelled),
    // A scheduled backup plan run that never started (for example its window passed).
    ("NEVER_EXECUTE", JobResult::Missed),
    // Not finished yet.
    ("PENDING", JobResult::Running),
    ("EXECUTING", JobResult::Running),
    ("PAUSED", JobResult::Running),
    ("PAUSING", JobResult::Running),
    ("CREATED", JobResult::Running),
    ("IN_PROGRESS", JobResult::Running),
    ("WAITING_EXECUTE", JobResult::Running),
    ("INITIALIZING", JobResult::Running),
    ("STARTING", JobResult::Running),
    ("RUNNING", JobResult::Running),
];

pub(super) fn job_result(word: &str) -> JobResult {
    let w = word.trim().to_ascii_uppercase();
    match JOB_STATUS.iter().find(|(k, _)| *k == w) {
        Some((_, r)) => *r,
        None => {
            note_unknown_word(Vendor::Cloudtower, "job status", word);
            JobResult::Failed
        }
    }
}

/// The words that mean "not finished", per resource, for `status_in` filters.
pub(super) const SNAPSHOT_TASK_RUNNING: &[&str] = &["CREATED", "IN_PROGRESS"];
pub(super) const PLAN_EXECUTION_RUNNING: &[&str] = &["RUNNING", "WAITING_EXECUTE", "PAUSED"];
pub(super) const TARGET_EXECUTION_RUNNING: &[&str] =
    &["PENDING", "INITIALIZING", "RUNNING", "PAUSED"];
pub(super) const TASK_RUNNING: &[&str] = &["PENDING", "EXECUTING", "PAUSED"];

/// `SnapshotPlanStatus` and `BackupPlanStatus`: is the plan enabled (does it protect)?
pub(super) const PLAN_STATUS: &[(&str, bool)] = &[
    ("NORMAL", true),
    ("STOPPED", false),
    ("SUSPENDED", false),
    ("WORKING", true),
    ("PAUSED", false),
];

pub(super) fn plan_enabled(word: Option<&str>) -> bool {
    let Some(word) = word else { return false };
    let w = word.trim().to_ascii_uppercase();
    match PLAN_STATUS.iter().find(|(k, _)| *k == w) {
        Some((_, e)) => *e,
        None => {
            note_unknown_word(Vendor::Cloudtower, "plan status", word);
            false
        }
    }
}

/// `SnapshotPlanTaskType`: what a snapshot plan run did.
pub(super) const SNAPSHOT_TASK_KIND: &[(&str, JobKind)] = &[
    ("TASK_TYPE_PROTECT", JobKind::Backup),
    ("TASK_TYPE_ROLLBACK", JobKind::Restore),
    ("TASK_TYPE_CLONE", JobKind::Other),
];

pub(super) fn snapshot_task_kind(word: Option<&str>) -> JobKind {
    let Some(word) = word else {
        return JobKind::Backup;
    };
    match SNAPSHOT_TASK_KIND.iter().find(|(k, _)| *k == word.trim()) {
        Some((_, kind)) => *kind,
        None => {
            note_unknown_word(Vendor::Cloudtower, "snapshot plan task type", word);
            JobKind::Other
        }
    }
}

/// `Alert.severity` is a free string in the schema; these are the words CloudTower uses.
pub(super) const SEVERITY: &[(&str, Severity)] = &[
    ("CRITICAL", Severity::Critical),
    ("NOTICE", Severity::Warning),
    ("WARNING", Severity::Warning),
    ("INFO", Severity::Info),
    ("SEVERITY_UNSPECIFIED", Severity::Info),
];

pub(super) fn severity(word: &str) -> Severity {
    let w = word.trim().to_ascii_uppercase();
    match SEVERITY.iter().find(|(k, _)| *k == w) {
        Some((_, s)) => *s,
        None => {
            note_unknown_word(Vendor::Cloudtower, "alert severity", word);
            Severity::Warning
        }
    }
}

/// `AlertRuleObject` → the bounded `category` label of warnings.
pub(super) const ALERT_OBJECT: &[(&str, &str)] = &[
    ("VM", "vm"),
    ("SNAPSHOT_PLAN", "snapshot_plan"),
    ("TIME_MACHINE_PLAN", "backup"),
    ("CLUSTER", "cluster"),
    ("ZBS_ZONE", "cluster"),
    ("WITNESS", "cluster"),
    ("WITNESS_NETWORK", "cluster"),
    ("NETWORK", "cluster"),
    ("NTP_SERVER", "cluster"),
    ("PHYSICAL_HOST", "host"),
    ("HYPERVISOR", "host"),
    ("SCVM", "host"),
    ("BRICK", "host"),
    ("DISK", "storage"),
    ("STORAGE_CHUNK", "storage"),
    ("STORAGE_POOL", "storage"),
    ("SYSTEM_SERVICE", "service"),
    ("OBSERVABILITY_SERVICE", "service"),
    ("OBSERVABILITY_CONNECTED_SYSTEM_SERVICE", "service"),
    ("SKS_CLUSTER", "kubernetes"),
    ("SKS_CLUSTER_NODE", "kubernetes"),
    ("SKS_PV", "kubernetes"),
    ("SKS_PVC", "kubernetes"),
    ("SKS_REGISTRY", "kubernetes"),
    ("SKS_SERVICE", "kubernetes"),
    ("POD", "kubernetes"),
];

/// Every category a warning can carry.
pub const CATEGORIES: &[&str] = &[
    "vm",
    "snapshot_plan",
    "backup",
    "cluster",
    "host",
    "storage",
    "service",
    "kubernetes",
    "other",
];

/// The category of an alert: from its rule's object where known, else from what the alert
/// is attached to.
pub(super) fn alert_category(
    rule_object: Option<&str>,
    has_vms: bool,
    has_disk: bool,
    has_host: bool,
    has_cluster: bool,
) -> &'static str {
    if let Some(object) = rule_object {
        let w = object.trim().to_ascii_uppercase();
        if let Some((_, c)) = ALERT_OBJECT.iter().find(|(k, _)| *k == w) {
            return c;
        }
        note_unknown_word(Vendor::Cloudtower, "alert rule object", object);
        return "other";
    }
    if has_vms {
        "vm"
    } else if has_disk {
        "storage"
    } else if has_host {
        "host"
    } else if has_cluster {
        "cluster"
    } else {
        "other"
    }
}

/// `UserAuditLog.action` is free text ("Create VM snapshot"); we ask for English
/// (`content-language: en-US`) and read its leading verb (after a leading "Batch" or
/// "Bulk"). A verb maps to a named action only when it means that action; everything
/// else, and every read-only verb (export, download, view, ...), is `other` (contract §3).
pub(super) const AUDIT_VERB: &[(&str, AuditAction)] = &[
    ("login", AuditAction::Login),
    ("create", AuditAction::Create),
    ("add", AuditAction::Create),
    ("clone", AuditAction::Create),
    ("import", AuditAction::Create),
    ("update", AuditAction::Modify),
    ("edit", AuditAction::Modify),
    ("modify", AuditAction::Modify),
    ("rename", AuditAction::Modify),
    ("change", AuditAction::Modify),
    ("set", AuditAction::Modify),
    ("enable", AuditAction::Modify),
    ("disable", AuditAction::Modify),
    // Of a plan: it stops or restarts protecting its VMs, a change of configuration.
    ("suspend", AuditAction::Modify),
    ("resume", AuditAction::Modify),
    ("delete", AuditAction::Delete),
    ("remove", AuditAction::Delete),
    // Read-only or session words: they change nothing, so they are `other`.
    ("export", AuditAction::Other),
    ("download", AuditAction::Other),
    ("view", AuditAction::Other),
    ("get", AuditAction::Other),
    ("query", AuditAction::Other),
    ("search", AuditAction::Other),
    ("browse", AuditAction::Other),
    ("logout", AuditAction::Other),
];

/// Leading words that qualify the verb after them ("Batch delete VMs").
const AUDIT_QUALIFIERS: &[&str] = &["batch", "bulk"];

/// `UserAuditLogStatus`: did the audited operation succeed?
pub(super) const AUDIT_STATUS: &[(&str, bool)] = &[("SUCCESSED", true), ("FAILED", false)];

pub(super) fn audit_action(action: &str, status: Option<&str>) -> AuditAction {
    let verb = action
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .find(|w| !AUDIT_QUALIFIERS.contains(&w.as_str()))
        .unwrap_or_default();
    let by_verb = AUDIT_VERB
        .iter()
        .find(|(k, _)| *k == verb)
        .map(|(_, a)| *a)
        .unwrap_or(AuditAction::Other);
    let succeeded = match status {
        None => true,
        Some(s) => {
            let w = s.trim().to_ascii_uppercase();
            match AUDIT_STATUS.iter().find(|(k, _)| *k == w) {
                Some((_, ok)) => *ok,
                None => {
                    note_unknown_word(Vendor::Cloudtower, "audit status", s);
                    true
                }
            }
        }
    };
    match (by_verb, succeeded) {
        (AuditAction::Login, false) => AuditAction::LoginFailed,
        (_, false) => AuditAction::Error,
        (a, true) => a,
    }
}

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 86_400;

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// The largest gap between points on a circle of `period` (sorted, distinct).
fn max_cyclic_gap(mut points: Vec<u64>, period: u64) -> Option<u64> {
    points.sort_unstable();
    points.dedup();
    let first = *points.first()?;
    let mut gap = first + period - points.last().copied().unwrap_or(first);
    for w in points.windows(2) {
        gap = gap.max(w[1] - w[0]);
    }
    Some(gap)
}

/// A snapshot plan's interval between runs: `execute_plan_type` with `execute_intervals`
/// (every n minutes, hours or days; the weekdays of a weekly plan; the dates of a monthly
/// plan, counted as 31 days when it is one date).
pub(super) fn snapshot_plan_cadence(kind: Option<&str>, intervals: &[Value]) -> Option<Duration> {
    let first = intervals.iter().find_map(int).filter(|n| *n > 0);
    let secs = match kind?.trim().to_ascii_uppercase().as_str() {
        "MINUTE" => first? as u64 * MINUTE,
        "HOUR" => first? as u64 * HOUR,
        "DAY" => first.unwrap_or(1) as u64 * DAY,
        "WEEK" => {
            let days: Vec<u64> = intervals
                .iter()
                .filter_map(int)
                .filter(|d| (0..=7).contains(d))
                .map(|d| (d % 7) as u64)
                .collect();
            max_cyclic_gap(days, 7).unwrap_or(7) * DAY
        }
        "MONTH" => {
            let dates: Vec<u64> = intervals
                .iter()
                .filter_map(int)
                .filter(|d| (1..=31).contains(d))
                .map(|d| d as u64)
                .collect();
            max_cyclic_gap(dates, 31).unwrap_or(31) * DAY
        }
        other => {
            note_unknown_word(Vendor::Cloudtower, "snapshot plan type", other);
            return None;
        }
    };
    Some(Duration::from_secs(secs))
}

/// `BackupPlanPeriod` with its interval; `time_points` are the daily run times of a daily
/// incremental schedule, whose largest gap is the interval when there are several.
pub(super) fn backup_period_cadence(
    period: Option<&str>,
    interval: Option<i64>,
    time_points: &[(i64, i64)],
) -> Option<Duration> {
    let n = interval.filter(|n| *n > 0).unwrap_or(1) as u64;
    let secs = match period?.trim().to_ascii_uppercase().as_str() {
        "MINUTELY" => n * MINUTE,
        "HOURLY" => n * HOUR,
        "DAILY" => {
            let minutes: Vec<u64> = time_points
                .iter()
                .filter(|(h, m)| (0..24).contains(h) && (0..60).contains(m))
                .map(|(h, m)| (h * 60 + m) as u64)
                .collect();
            match max_cyclic_gap(minutes, 24 * 60) {
                Some(gap) if n == 1 => gap * MINUTE,
                _ => n * DAY,
            }
        }
        "WEEKLY" => n * 7 * DAY,
        "MONTHLY" => n * 31 * DAY,
        "YEARLY" => n * 366 * DAY,
        other => {
            note_unknown_word(Vendor::Cloudtower, "backup plan period", other);
            return None;
        }
    };
    Some(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The status enums of the 4.6.0 spec, word for word.
    const SPEC_ENUMS: &[(&str, &[&str])] = &[
        (
            "TaskStatus",
            &["EXECUTING", "FAILED", "PAUSED", "PENDING", "SUCCESSED"],
        ),
        (
            "SnapshotPlanExecuteStatus",
            &["CREATED", "FAILED", "IN_PROGRESS", "SUCCEED", "UNSPECIFIED"],
        ),
        (
            "BackupPlanExecutionStatus",
            &[
                "FAILED",
                "NEVER_EXECUTE",
                "PARTIAL_SUCCESS",
                "PAUSED",
                "RUNNING",
                "SUCCESS",
                "WAITING_EXECUTE",
            ],
        ),
        (
            "BackupPlanExecutionState",
            &[
                "FAILED",
                "PARTLY_FAILED",
                "PAUSED",
                "PAUSING",
                "RUNNING",
                "STARTING",
                "SUCCEED",
            ],
        ),
        (
            "BackupExecutionStatus",
            &[
                "ABORTED",
                "FAILED",
                "INITIALIZING",
                "PAUSED",
                "PENDING",
                "RUNNING",
                "SUCCESS",
            ],
        ),
    ];

    #[test]
    fn every_spec_status_word_is_in_the_table() {
        for (name, words) in SPEC_ENUMS {
            for w in *words {
                assert!(
                    JOB_STATUS.iter().any(|(k, _)| k == w),
                    "{name}::{w} is not mapped"
                );
            }
        }
    }

    #[test]
    fn all_three_spellings_of_success_are_success() {
        for w in ["SUCCESSED", "SUCCEED", "SUCCESS", "succeed"] {
            assert_eq!(job_result(w), JobResult::Success, "{w}");
        }
    }

    #[test]
    fn job_words_map_as_documented() {
        let cases = [
            ("PARTIAL_SUCCESS", JobResult::Warning),
            ("PARTLY_FAILED", JobResult::Warning),
            ("FAILED", JobResult::Failed),
            ("UNSPECIFIED", JobResult::Failed),
            ("ABORTED", JobResult::Cancelled),
            ("NEVER_EXECUTE", JobResult::Missed),
            ("WAITING_EXECUTE", JobResult::Running),
            ("IN_PROGRESS", JobResult::Running),
            ("EXECUTING", JobResult::Running),
            ("PAUSED", JobResult::Running),
            ("PENDING", JobResult::Running),
        ];
        for (w, r) in cases {
            assert_eq!(job_result(w), r, "{w}");
        }
    }

    #[test]
    fn unknown_job_word_is_a_failure() {
        assert_eq!(job_result("EXPLODED"), JobResult::Failed);
    }

    #[test]
    fn running_filters_use_only_running_words() {
        for w in SNAPSHOT_TASK_RUNNING
            .iter()
            .chain(PLAN_EXECUTION_RUNNING)
            .chain(TARGET_EXECUTION_RUNNING)
            .chain(TASK_RUNNING)
        {
            assert_eq!(job_result(w), JobResult::Running, "{w}");
        }
    }

    #[test]
    fn only_normal_and_working_plans_protect() {
        assert!(plan_enabled(Some("NORMAL")));
        assert!(plan_enabled(Some("WORKING")));
        for w in ["STOPPED", "SUSPENDED", "PAUSED", "BROKEN"] {
            assert!(!plan_enabled(Some(w)), "{w}");
        }
        assert!(!plan_enabled(None));
    }

    #[test]
    fn snapshot_task_types_map_to_kinds() {
        assert_eq!(
            snapshot_task_kind(Some("TASK_TYPE_PROTECT")),
            JobKind::Backup
        );
        assert_eq!(
            snapshot_task_kind(Some("TASK_TYPE_ROLLBACK")),
            JobKind::Restore
        );
        assert_eq!(snapshot_task_kind(Some("TASK_TYPE_CLONE")), JobKind::Other);
        assert_eq!(snapshot_task_kind(None), JobKind::Backup);
    }

    #[test]
    fn severities_map_and_unknown_is_a_warning() {
        assert_eq!(severity("CRITICAL"), Severity::Critical);
        assert_eq!(severity("NOTICE"), Severity::Warning);
        assert_eq!(severity("INFO"), Severity::Info);
        assert_eq!(severity("SEVERITY_UNSPECIFIED"), Severity::Info);
        assert_eq!(severity("DISASTER"), Severity::Warning);
    }

    #[test]
    fn alert_categories_stay_in_the_vocabulary() {
        for (_, c) in ALERT_OBJECT {
            assert!(CATEGORIES.contains(c), "{c}");
        }
        assert_eq!(
            alert_category(Some("SNAPSHOT_PLAN"), false, false, false, true),
            "snapshot_plan"
        );
        assert_eq!(
            alert_category(Some("NEW_THING"), true, false, false, false),
            "other"
        );
        assert_eq!(alert_category(None, true, false, false, true), "vm");
        assert_eq!(alert_category(None, false, true, true, true), "storage");
        assert_eq!(alert_category(None, false, false, true, true), "host");
        assert_eq!(alert_category(None, false, false, false, true), "cluster");
        assert_eq!(alert_category(None, false, false, false, false), "other");
    }

    #[test]
    fn audit_actions_come_from_the_verb_and_the_status() {
        let cases = [
            ("Login", Some("SUCCESSED"), AuditAction::Login),
            ("Login", Some("FAILED"), AuditAction::LoginFailed),
            ("Create VM snapshot", Some("SUCCESSED"), AuditAction::Create),
            ("Update snapshot plan", None, AuditAction::Modify),
            ("Delete VM snapshot", Some("SUCCESSED"), AuditAction::Delete),
            ("Remove host", Some("SUCCESSED"), AuditAction::Delete),
            ("Export alerts", Some("SUCCESSED"), AuditAction::Other),
            (
                "Download VM console log",
                Some("SUCCESSED"),
                AuditAction::Other,
            ),
            ("Batch delete VMs", Some("SUCCESSED"), AuditAction::Delete),
            ("Logout", Some("SUCCESSED"), AuditAction::Other),
            ("Login", Some("PARTIAL"), AuditAction::Login),
            ("Create backup plan", Some("FAILED"), AuditAction::Error),
            ("Mount CD-ROM", Some("SUCCESSED"), AuditAction::Other),
            ("", None, AuditAction::Other),
        ];
        for (action, status, want) in cases {
            assert_eq!(audit_action(action, status), want, "{action} {status:?}");
        }
    }

    /// Contract §3: a word is a named action only when it means it. Read-only words are
    /// `other`; `info` is never guessed from a verb; `login_failed` and `error` come only
    /// from the status.
    #[test]
    fn audit_verbs_name_only_what_they_mean() {
        let means: &[(AuditAction, &[&str])] = &[
            (AuditAction::Login, &["login"]),
            (AuditAction::Create, &["create", "add", "clone", "import"]),
            (
                AuditAction::Modify,
                &[
                    "update", "edit", "modify", "rename", "change", "set", "enable", "disable",
                    "suspend", "resume",
                ],
            ),
            (AuditAction::Delete, &["delete", "remove"]),
        ];
        const READ_ONLY: &[&str] = &[
            "export", "download", "view", "get", "query", "search", "browse", "logout",
        ];
        for (verb, action) in AUDIT_VERB {
            let named = means
                .iter()
                .find(|(_, verbs)| verbs.contains(verb))
                .map(|(a, _)| *a);
            match named {
                Some(a) => assert_eq!(*action, a, "{verb}"),
                None => {
                    assert!(
                        READ_ONLY.contains(verb),
                        "{verb} is neither named nor read-only"
                    );
                    assert_eq!(*action, AuditAction::Other, "{verb} is read-only");
                }
            }
            assert!(
                !matches!(
                    action,
                    AuditAction::Info | AuditAction::Error | AuditAction::LoginFailed
                ),
                "{verb}: info, error and login_failed are not verbs"
            );
        }
        for w in READ_ONLY {
            let action = format!("{} something", w.to_ascii_uppercase());
            assert_eq!(
                audit_action(&action, Some("SUCCESSED")),
                AuditAction::Other,
                "{w}"
            );
        }
        // Words that are not in the table are not guessed from their likeness.
        for action in [
            "Power on VM",
            "Migrate VM",
            "Rollback VM",
            "Mount CD-ROM",
            "Login2",
        ] {
            assert_eq!(
                audit_action(action, Some("SUCCESSED")),
                AuditAction::Other,
                "{action}"
            );
        }
    }

    #[test]
    fn snapshot_plan_cadences() {
        let h = |n: u64| Some(Duration::from_secs(n * 3600));
        assert_eq!(snapshot_plan_cadence(Some("HOUR"), &[json!(6)]), h(6));
        assert_eq!(snapshot_plan_cadence(Some("DAY"), &[json!(1)]), h(24));
        assert_eq!(snapshot_plan_cadence(Some("DAY"), &[]), h(24));
        assert_eq!(
            snapshot_plan_cadence(Some("MINUTE"), &[json!("30")]),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(snapshot_plan_cadence(Some("WEEK"), &[json!(1)]), h(7 * 24));
        assert_eq!(
            snapshot_plan_cadence(Some("WEEK"), &[json!(1), json!(3), json!(5)]),
            h(3 * 24)
        );
        assert_eq!(
            snapshot_plan_cadence(Some("MONTH"), &[json!(1)]),
            h(31 * 24)
        );
        assert_eq!(snapshot_plan_cadence(Some("HOUR"), &[]), None);
        assert_eq!(snapshot_plan_cadence(None, &[json!(1)]), None);
    }

    #[test]
    fn backup_plan_cadences() {
        let h = |n: u64| Some(Duration::from_secs(n * 3600));
        assert_eq!(
            backup_period_cadence(Some("DAILY"), Some(1), &[(1, 30)]),
            h(24)
        );
        assert_eq!(
            backup_period_cadence(Some("DAILY"), Some(1), &[(0, 30), (12, 30)]),
            h(12)
        );
        assert_eq!(
            backup_period_cadence(Some("DAILY"), Some(1), &[(2, 0), (20, 0)]),
            h(18)
        );
        assert_eq!(
            backup_period_cadence(Some("DAILY"), Some(2), &[(2, 0)]),
            h(48)
        );
        assert_eq!(backup_period_cadence(Some("HOURLY"), Some(4), &[]), h(4));
        assert_eq!(backup_period_cadence(Some("WEEKLY"), None, &[]), h(7 * 24));
        assert_eq!(backup_period_cadence(Some("FORTNIGHTLY"), None, &[]), None);
    }
}
