//! Cloutility's words and shapes → the vendor-neutral model.
//!
//! Jobs are IBM Storage Protect scheduler events as Cloutility stores them: the event
//! status (Completed, Failed, Missed, Severed, ...) says whether the run happened, and the
//! client's return code in `result` says how well it went (0 and 4 fine, 8 warnings, 12 and
//! up errors). "Completed" with return code 8 is therefore a warning, not a success.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use super::wire::{self, ErrorStatus};
use crate::model::{
    self, AuditAction, AuditEvent, Job, JobKind, JobResult, Severity, Vendor, Warning,
};

const VENDOR: Vendor = Vendor::Cloutility;

/// What an event status word says, before the return code is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// The run finished; the return code decides how well.
    Completed,
    Failed,
    Missed,
    Cancelled,
    Running,
    /// Not a run yet (a future schedule window): not reported as a job.
    NotYet,
    /// No event record (deleted, expired, server down): the return code decides if there
    /// is one, else it counts as failed.
    Uncertain,
}

/// IBM Storage Protect `QUERY EVENT` statuses, plus the cancellation Cloutility records for
/// sessions cancelled on the server. Keys are normalised (lowercase letters and digits).
const STATUS_WORDS: &[(&str, Status)] = &[
    ("completed", Status::Completed),
    ("failed", Status::Failed),
    ("failednorestart", Status::Failed),
    ("severed", Status::Failed),
    ("missed", Status::Missed),
    ("cancelled", Status::Cancelled),
    ("canceled", Status::Cancelled),
    ("inprogress", Status::Running),
    ("started", Status::Running),
    ("pending", Status::Running),
    ("restarted", Status::Running),
    ("future", Status::NotYet),
    ("uncertain", Status::Uncertain),
];

fn normalise(word: &str) -> String {
    word.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The client return code on its own: 0 and 4 (some files skipped, "very common") are
/// success, 8 is a warning, 12 and above (and negative server-side codes) are failures.
fn result_of_code(rc: i64) -> JobResult {
    match rc {
        0..=4 => JobResult::Success,
        5..=11 => JobResult::Warning,
        _ => JobResult::Failed,
    }
}

/// The result of a job from its status word and return code; `None` for a status that is
/// not a run (`Future`).
pub(super) fn job_result(status: Option<&str>, rc: Option<i64>) -> Option<JobResult> {
    let Some(word) = status.filter(|w| !w.trim().is_empty()) else {
        // Without a status the return code is all there is; without either, nothing says
        // the run went well.
        return Some(rc.map_or(JobResult::Failed, result_of_code));
    };
    let key = normalise(word);
    let known = STATUS_WORDS
        .iter()
        .find(|(w, _)| *w == key)
        .map(|(_, s)| *s);
    Some(match known {
        Some(Status::Completed) => rc.map_or(JobResult::Success, result_of_code),
        Some(Status::Failed) => JobResult::Failed,
        Some(Status::Missed) => JobResult::Missed,
        Some(Status::Cancelled) => JobResult::Cancelled,
        Some(Status::Running) => JobResult::Running,
        Some(Status::NotYet) => return None,
        Some(Status::Uncertain) => rc.map_or(JobResult::Failed, result_of_code),
        None => {
            model::note_unknown_word(VENDOR, "job status", word);
            JobResult::Failed
        }
    })
}

/// The kind of a job from its type name. A scheduled job without a type is the node's
/// backup schedule (the only schedules Cloutility sets up for backup nodes).
pub(super) fn job_kind(type_name: Option<&str>, scheduled: Option<bool>) -> JobKind {
    let Some(name) = type_name.filter(|n| !n.trim().is_empty()) else {
        return if scheduled == Some(false) {
            JobKind::Other
        } else {
            JobKind::Backup
        };
    };
    let key = normalise(name);
    if key.contains("restore") || key.contains("retrieve") {
        JobKind::Restore
    } else if key.contains("archive") {
        JobKind::Archive
    } else if ["backup", "incremental", "selective", "full", "differential"]
        .iter()
        .any(|w| key.contains(w))
    {
        JobKind::Backup
    } else {
        model::note_unknown_word(VENDOR, "job type", name);
        JobKind::Other
    }
}

/// A .NET `TimeSpan` as Json.NET writes it (`"00:12:11"`, `"1.02:03:04.5000000"`), an ISO
/// 8601 duration, or a number of seconds. Negative spans are no duration.
pub(super) fn parse_timespan(v: &Value) -> Option<Duration> {
    match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64),
        Value::String(s) => timespan_str(s.trim()),
        _ => None,
    }
}

fn timespan_str(s: &str) -> Option<Duration> {
    if s.starts_with('-') {
        return None;
    }
    if s.starts_with(['P', 'p']) {
        return s
            .parse::<jiff::SignedDuration>()
            .ok()
            .and_then(|d| Duration::try_from(d).ok());
    }
    let mut parts = s.split(':');
    let (head, minutes, seconds) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (days, hours) = match head.split_once('.') {
        Some((d, h)) => (d.parse::<u64>().ok()?, h.parse::<u64>().ok()?),
        None => (0, head.parse::<u64>().ok()?),
    };
    let minutes: u64 = minutes.parse().ok()?;
    let (whole, fraction) = match seconds.split_once('.') {
        Some((w, f)) => (w, f),
        None => (seconds, ""),
    };
    let whole: u64 = whole.parse().ok()?;
    if hours > 23 || minutes > 59 || whole > 59 || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    // Ticks of 100 ns; keep nanosecond precision for up to nine digits.
    let nanos = if fraction.is_empty() {
        0
    } else {
        let digits: String = fraction.chars().take(9).collect();
        digits.parse::<u64>().ok()? * 10u64.pow(9 - digits.len() as u32)
    };
    Some(Duration::new(
        days * 86_400 + hours * 3_600 + minutes * 60 + whole,
        nanos as u32,
    ))
}

/// One job of `consumer_id`; `None` for an entry that is not a run or has no id.
pub(super) fn job(w: wire::Job, consumer_id: &str) -> Option<Job> {
    let id = w.id.filter(|i| !i.is_empty() && i != "0")?;
    let status = w.status.as_ref().and_then(wire::Lookup::name);
    let result = job_result(status, w.result)?;
    let kind = job_kind(
        w.job_type.as_ref().and_then(wire::Lookup::name),
        w.scheduled,
    );
    // A missed run never started: its time is the scheduled start (contract §3).
    let (start, end) = match result {
        JobResult::Missed => (w.scheduled_start.or(w.actual_start), None),
        JobResult::Running => (w.actual_start.or(w.scheduled_start), None),
        _ => (w.actual_start.or(w.scheduled_start), w.completed),
    };
    let transferred_bytes = match (w.transferred_mega_bytes, w.transferred_giga_bytes) {
        (Some(mb), _) => Some(model::mib_to_bytes(mb)),
        (None, Some(gb)) => Some(model::gib_to_bytes(gb)),
        (None, None) => None,
    };
    let error_code = w.result.filter(|rc| *rc != 0).map(|rc| rc.to_string());
    let error_message = match (result, w.failed_files) {
        (JobResult::Warning | JobResult::Failed, Some(n)) if n > 0 => {
            Some(format!("{n} files failed"))
        }
        _ => None,
    };
    Some(Job {
        id,
        object_id: consumer_id.to_owned(),
        kind,
        result,
        vendor_status: status.unwrap_or_default().to_owned(),
        start,
        end,
        duration: w
            .duration
            .as_ref()
            .and_then(parse_timespan)
            .filter(|_| result != JobResult::Missed),
        transferred_bytes,
        error_code,
        error_message,
    })
}

/// Audit log types as the portal's filter chips and `types` query values name them.
pub(super) fn audit_action(t: Option<&wire::Lookup>) -> AuditAction {
    let Some(t) = t else {
        return AuditAction::Other;
    };
    let code =
        t.id.or_else(|| t.name().and_then(|n| n.trim().parse::<i64>().ok()));
    if let Some(id) = code {
        return match id {
            0 => AuditAction::Info,
            100 => AuditAction::Create,
            200 => AuditAction::Modify,
            300 => AuditAction::Delete,
            400 => AuditAction::Error,
            _ => AuditAction::Other,
        };
    }
    match t.name().map(normalise).as_deref() {
        Some("info" | "information") => AuditAction::Info,
        Some("create" | "created") => AuditAction::Create,
        Some("modify" | "modified" | "update" | "updated") => AuditAction::Modify,
        Some("delete" | "deleted") => AuditAction::Delete,
        Some("error") => AuditAction::Error,
        _ => AuditAction::Other,
    }
}

pub(super) fn audit_event(w: wire::AuditLog, tenant: &str, object: &str) -> Option<AuditEvent> {
    Some(AuditEvent {
        id: w.id.filter(|i| !i.is_empty())?,
        time: w.created_date?,
        tenant: tenant.to_owned(),
        actor: w.actor.unwrap_or_default(),
        action: audit_action(w.audit_type.as_ref()),
        object: object.to_owned(),
        message: w.description.unwrap_or_default(),
    })
}

/// Warning categories this exporter knows (slugs of Cloutility node warning type names),
/// plus `report_status` for a report that is not OK without saying why, and `other`.
/// A label must stay a small vocabulary, so any other type name becomes `other`.
pub const WARNING_CATEGORIES: &[&str] = &[
    "no_activity",
    "no_successful_backup",
    "failed_schedule",
    "missed_schedule",
    "failed_files",
    "storage_limit_exceeded",
    "decreased_storage",
    "client_version_outdated",
    "report_status",
    "other",
];

/// Lowercase letters and digits with single underscores between words, at most 40 long.
pub(super) fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut out: String = out.trim_end_matches('_').chars().take(40).collect();
    while out.ends_with('_') {
        out.pop();
    }
    out
}

pub(super) fn warning_category(type_name: &str) -> &'static str {
    let s = slug(type_name);
    match WARNING_CATEGORIES.iter().find(|c| **c == s) {
        Some(c) if *c != "report_status" && *c != "other" => c,
        _ => {
            model::note_unknown_word(VENDOR, "node warning type", type_name);
            "other"
        }
    }
}

fn severity(status: Option<&ErrorStatus>) -> Severity {
    match status {
        Some(ErrorStatus::Error) => Severity::Critical,
        Some(ErrorStatus::Ok) => Severity::Info,
        Some(ErrorStatus::Warning) | None => Severity::Warning,
        Some(ErrorStatus::Other(w)) => {
            model::note_unknown_word(VENDOR, "error status", w);
            Severity::Warning
        }
    }
}

/// The active warnings of a consumer's latest daily report. Warnings the portal user has
/// switched off for the node (`errorsDeactivated`, `errorsDeactivatedNoActivity`) are
/// honoured: someone decided they are not a problem.
pub(super) fn warnings(
    report: &wire::NodeReport,
    types: &HashMap<i64, String>,
    consumer_id: &str,
    tenant: &str,
) -> Vec<Warning> {
    if report.errors_deactivated == Some(true) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for w in &report.warnings {
        let lookup = w.warning_type.as_ref();
        let name = lookup
            .and_then(wire::Lookup::name)
            .map(str::to_owned)
            .or_else(|| {
                lookup
                    .and_then(|l| l.id)
                    .and_then(|id| types.get(&id).cloned())
            })
            .unwrap_or_else(|| "Unknown warning".to_owned());
        let category = warning_category(&name);
        if category == "no_activity" && report.errors_deactivated_no_activity == Some(true) {
            continue;
        }
        let mut message = name.clone();
        if let Some(days) = w.days.filter(|d| *d > 0) {
            message.push_str(&format!(": {days} days"));
            if let Some(limit) = w.limit.filter(|l| *l > 0.0) {
                message.push_str(&format!(" (limit {limit})"));
            }
        }
        out.push(Warning {
            object_id: Some(consumer_id.to_owned()),
            tenant: tenant.to_owned(),
            severity: severity(w.status.as_ref()),
            category: category.to_owned(),
            message,
        });
    }
    if out.is_empty()
        && report.warnings.is_empty()
        && let Some(status) = report.status.as_ref().filter(|s| **s != ErrorStatus::Ok)
    {
        out.push(Warning {
            object_id: Some(consumer_id.to_owned()),
            tenant: tenant.to_owned(),
            severity: severity(Some(status)),
            category: "report_status".to_owned(),
            message: format!("daily report status is {status:?}"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_and_return_code_table() {
        use JobResult::*;
        let table: &[(Option<&str>, Option<i64>, Option<JobResult>)] = &[
            (Some("Completed"), Some(0), Some(Success)),
            (Some("Completed"), Some(4), Some(Success)),
            (Some("Completed"), Some(8), Some(Warning)),
            (Some("Completed"), Some(12), Some(Failed)),
            (Some("Completed"), Some(-1), Some(Failed)),
            (Some("Completed"), None, Some(Success)),
            (Some("completed"), Some(0), Some(Success)),
            (Some("Failed"), Some(12), Some(Failed)),
            (Some("Failed"), Some(0), Some(Failed)),
            (Some("Failed - no restart"), Some(12), Some(Failed)),
            (Some("Failed-No Restart"), None, Some(Failed)),
            (Some("Missed"), None, Some(Missed)),
            (Some("Severed"), None, Some(Failed)),
            (Some("Cancelled"), None, Some(Cancelled)),
            (Some("In Progress"), None, Some(Running)),
            (Some("Started"), None, Some(Running)),
            (Some("Pending"), None, Some(Running)),
            (Some("Restarted"), None, Some(Running)),
            (Some("Future"), None, None),
            (Some("Uncertain"), None, Some(Failed)),
            (Some("Uncertain"), Some(0), Some(Success)),
            (Some("Exploded"), Some(0), Some(Failed)),
            (None, Some(8), Some(Warning)),
            (None, None, Some(Failed)),
            (Some(""), Some(0), Some(Success)),
        ];
        for (status, rc, want) in table {
            assert_eq!(job_result(*status, *rc), *want, "{status:?} rc {rc:?}");
        }
    }

    #[test]
    fn type_names_to_kinds() {
        let table = [
            (Some("Backup"), JobKind::Backup),
            (Some("Incremental"), JobKind::Backup),
            (Some("Selective"), JobKind::Backup),
            (Some("Scheduled backup"), JobKind::Backup),
            (Some("Archive"), JobKind::Archive),
            (Some("Restore"), JobKind::Restore),
            (Some("Retrieve"), JobKind::Restore),
            (Some("Command"), JobKind::Other),
            (None, JobKind::Backup),
        ];
        for (name, want) in table {
            assert_eq!(job_kind(name, None), want, "{name:?}");
        }
        assert_eq!(job_kind(None, Some(false)), JobKind::Other);
    }

    #[test]
    fn dotnet_timespans() {
        let s = |v: &str| parse_timespan(&Value::String(v.into()));
        assert_eq!(s("00:12:11"), Some(Duration::from_secs(731)));
        assert_eq!(
            s("1.02:03:04.5000000"),
            Some(Duration::new(86_400 + 7_384, 500_000_000))
        );
        assert_eq!(
            s("23:59:59.1234567"),
            Some(Duration::new(86_399, 123_456_700))
        );
        assert_eq!(s("PT1H30M"), Some(Duration::from_secs(5_400)));
        assert_eq!(s("-00:00:05"), None);
        assert_eq!(s("12:61:00"), None);
        assert_eq!(s("soon"), None);
        assert_eq!(
            parse_timespan(&serde_json::json!(90.5)),
            Some(Duration::from_millis(90_500))
        );
    }

    #[test]
    fn missed_job_is_timed_at_its_scheduled_start() {
        let w: wire::Job = serde_json::from_value(serde_json::json!({
            "id": 7, "type": {"id": 1, "name": "Backup"}, "status": {"id": 5, "name": "Missed"},
            "scheduled": true, "scheduledStart": "2024-12-18T19:20:00Z", "duration": "00:00:00"
        }))
        .unwrap();
        let j = job(w, "1066").unwrap();
        assert_eq!(j.result, JobResult::Missed);
        assert_eq!(j.time().unwrap().to_string(), "2024-12-18T19:20:00Z");
        assert_eq!(j.end, None);
        assert_eq!(j.duration, None);
        assert_eq!(j.object_id, "1066");
    }

    #[test]
    fn completed_with_warnings_keeps_code_and_size() {
        let w: wire::Job = serde_json::from_value(serde_json::json!({
            "id": 551234, "type": {"name": "Backup"}, "status": {"name": "Completed"},
            "actualStart": "2024-12-18T19:20:12Z", "completed": "2024-12-18T19:32:23Z",
            "result": 8, "failedFiles": 3, "transferredMegaBytes": "5.5", "duration": "00:12:11"
        }))
        .unwrap();
        let j = job(w, "1").unwrap();
        assert_eq!(j.result, JobResult::Warning);
        assert_eq!(j.error_code.as_deref(), Some("8"));
        assert_eq!(j.error_message.as_deref(), Some("3 files failed"));
        assert_eq!(j.transferred_bytes, Some(5_767_168));
        assert_eq!(j.duration, Some(Duration::from_secs(731)));
        assert_eq!(j.vendor_status, "Completed");
    }

    #[test]
    fn bogus_first_job_fields_do_not_make_a_job() {
        let w: wire::Job =
            serde_json::from_value(serde_json::json!({"id": 0, "name": ""})).unwrap();
        assert!(job(w, "1").is_none());
    }

    #[test]
    fn audit_types_by_code_or_name() {
        let l = |v: Value| -> wire::Lookup { serde_json::from_value(v).unwrap() };
        let table = [
            (serde_json::json!(0), AuditAction::Info),
            (serde_json::json!(100), AuditAction::Create),
            (serde_json::json!("200"), AuditAction::Modify),
            (
                serde_json::json!({"id": 300, "name": "Delete"}),
                AuditAction::Delete,
            ),
            (serde_json::json!(400), AuditAction::Error),
            (serde_json::json!("Modified"), AuditAction::Modify),
            (serde_json::json!(500), AuditAction::Other),
            (serde_json::json!("Login"), AuditAction::Other),
        ];
        for (v, want) in table {
            assert_eq!(audit_action(Some(&l(v.clone()))), want, "{v}");
        }
        assert_eq!(audit_action(None), AuditAction::Other);
    }

    #[test]
    fn audit_words_map_only_to_what_they_mean() {
        let l = |v: Value| -> wire::Lookup { serde_json::from_value(v).unwrap() };
        // The five documented types, by code and by the portal's chip names, any case.
        let table = [
            ("Info", AuditAction::Info),
            ("INFORMATION", AuditAction::Info),
            ("Create", AuditAction::Create),
            ("created", AuditAction::Create),
            ("Modify", AuditAction::Modify),
            ("Updated", AuditAction::Modify),
            ("Delete", AuditAction::Delete),
            ("Deleted", AuditAction::Delete),
            ("Error", AuditAction::Error),
        ];
        for (word, want) in table {
            assert_eq!(audit_action(Some(&l(Value::from(word)))), want, "{word}");
        }
        // Read-only and unknown words are never guessed into an action.
        for word in [
            "Read",
            "View",
            "Browse",
            "Search",
            "Download",
            "Export",
            "List",
            "Get",
            "Login",
            "Logout",
            "Restore",
            "Warning",
            "Critical",
            "Änderung",
            "",
        ] {
            assert_eq!(
                audit_action(Some(&l(Value::from(word)))),
                AuditAction::Other,
                "{word:?}"
            );
        }
        for code in [-1, 1, 50, 101, 250, 500, 1000] {
            assert_eq!(
                audit_action(Some(&l(Value::from(code)))),
                AuditAction::Other,
                "{code}"
            );
        }
    }

    #[test]
    fn warning_categories_are_bounded() {
        assert_eq!(slug("  No activity!! "), "no_activity");
        assert_eq!(warning_category("No activity"), "no_activity");
        assert_eq!(
            warning_category("Storage limit exceeded"),
            "storage_limit_exceeded"
        );
        assert_eq!(warning_category("Node 4711 exploded at 03:00"), "other");
        assert_eq!(warning_category("report status"), "other");
        assert!(slug(&"x".repeat(100)).len() <= 40);
    }

    #[test]
    fn report_warnings_decode_type_names_and_honour_deactivation() {
        let types = HashMap::from([(3, "Failed schedule".to_owned())]);
        let r: wire::NodeReport = serde_json::from_value(serde_json::json!({
            "status": 2,
            "warnings": [
                {"type": {"id": 3}, "status": 2},
                {"type": {"id": 1, "name": "No activity"}, "status": 1, "days": 3, "limit": 2.0}
            ]
        }))
        .unwrap();
        let w = warnings(&r, &types, "9", "Finance");
        assert_eq!(w.len(), 2);
        assert_eq!(
            (w[0].category.as_str(), w[0].severity),
            ("failed_schedule", Severity::Critical)
        );
        assert_eq!(w[1].message, "No activity: 3 days (limit 2)");
        assert_eq!(w[1].tenant, "Finance");

        let r: wire::NodeReport = serde_json::from_value(serde_json::json!({
            "errorsDeactivatedNoActivity": true,
            "warnings": [{"type": {"id": 1, "name": "No activity"}, "status": 1}]
        }))
        .unwrap();
        assert!(warnings(&r, &types, "9", "t").is_empty());

        let r: wire::NodeReport = serde_json::from_value(serde_json::json!({"status": 1})).unwrap();
        let w = warnings(&r, &types, "9", "t");
        assert_eq!(w[0].category, "report_status");
    }
}
