//! The vendor-neutral model (contract §3).
//!
//! Every adapter turns its vendor's responses into these plain types, and nothing after the
//! adapter (scheduler, metrics, report) knows which vendor the data came from. Fields the
//! vendor may not tell are `Option`s so that "unknown" never turns into a misleading zero.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The vendors we speak to; the value of the `vendor` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    Cloutility,
    Backupdr,
    Cloudtower,
    Cloudsync,
    Clumio,
}

impl Vendor {
    pub const ALL: [Vendor; 5] = [
        Vendor::Cloutility,
        Vendor::Backupdr,
        Vendor::Cloudtower,
        Vendor::Cloudsync,
        Vendor::Clumio,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Vendor::Cloutility => "cloutility",
            Vendor::Backupdr => "backupdr",
            Vendor::Cloudtower => "cloudtower",
            Vendor::Cloudsync => "cloudsync",
            Vendor::Clumio => "clumio",
        }
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Vendor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Vendor::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                format!("unknown vendor {s:?} (expected one of cloutility, backupdr, cloudtower, cloudsync, clumio)")
            })
    }
}

/// What is protected: a backup node, an application, a VM, a sync relationship, an asset.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Object {
    /// Stable vendor id (contract §3 identity table).
    pub id: String,
    pub name: String,
    /// A bounded vendor word such as `node`, `vm`, `application`, `ec2_instance`.
    pub object_type: String,
    pub tenant: String,
    /// Schedule, SLA template, plan or policy name; empty when none.
    pub policy: String,
    /// Has an active policy or schedule.
    pub protected: bool,
    pub created: Option<Timestamp>,
    /// The earliest time from which the vendor's job history for this object is complete;
    /// `None` when it is complete.
    pub history_start: Option<Timestamp>,
    /// The recovery point objective implied by the vendor policy's schedule, where exposed.
    pub policy_rpo: Option<Duration>,
    pub protected_bytes: Option<u64>,
    pub stored_bytes: Option<u64>,
    pub restore_points: Option<u64>,
    pub latest_restore_point: Option<Timestamp>,
    /// End of the newest success older than the job window, where the vendor tells it
    /// cheaply (last backup end of a filespace, last successful run of a plan). Lets the
    /// exporter report a last success older than `lookback` without reading more history.
    pub last_success_hint: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Backup,
    Sync,
    Replication,
    Restore,
    Archive,
    Other,
}

impl JobKind {
    pub const ALL: [JobKind; 6] = [
        JobKind::Backup,
        JobKind::Sync,
        JobKind::Replication,
        JobKind::Restore,
        JobKind::Archive,
        JobKind::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Backup => "backup",
            JobKind::Sync => "sync",
            JobKind::Replication => "replication",
            JobKind::Restore => "restore",
            JobKind::Archive => "archive",
            JobKind::Other => "other",
        }
    }

    /// Kinds whose runs create a restore point and so count for compliance and for the
    /// per-object last-success gauges.
    pub fn is_protection(self) -> bool {
        matches!(self, JobKind::Backup | JobKind::Sync)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobResult {
    Success,
    /// Finished with warnings or partially; a success unless `strict_warnings`.
    Warning,
    Failed,
    Cancelled,
    /// Scheduled but never ran; its time is the scheduled start.
    Missed,
    Running,
}

impl JobResult {
    pub const ALL: [JobResult; 6] = [
        JobResult::Success,
        JobResult::Warning,
        JobResult::Failed,
        JobResult::Cancelled,
        JobResult::Missed,
        JobResult::Running,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobResult::Success => "success",
            JobResult::Warning => "warning",
            JobResult::Failed => "failed",
            JobResult::Cancelled => "cancelled",
            JobResult::Missed => "missed",
            JobResult::Running => "running",
        }
    }

    pub fn is_finished(self) -> bool {
        self != JobResult::Running
    }

    pub fn is_success(self, strict_warnings: bool) -> bool {
        match self {
            JobResult::Success => true,
            JobResult::Warning => !strict_warnings,
            _ => false,
        }
    }

    /// Counts towards `consecutive_failures`.
    pub fn is_failure(self) -> bool {
        matches!(self, JobResult::Failed | JobResult::Missed)
    }
}

/// One run against an object.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub object_id: String,
    pub kind: JobKind,
    pub result: JobResult,
    /// The vendor's own word, kept for the jobs CSV.
    pub vendor_status: String,
    /// For a missed run, the scheduled start.
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub duration: Option<Duration>,
    pub transferred_bytes: Option<u64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
}

impl Job {
    /// When the job counts as having happened: its end, else its start (a missed run has only
    /// its scheduled start).
    pub fn time(&self) -> Option<Timestamp> {
        self.end.or(self.start)
    }

    /// Duration as told by the vendor, else end minus start.
    pub fn duration_or_span(&self) -> Option<Duration> {
        self.duration.or_else(|| match (self.start, self.end) {
            (Some(s), Some(e)) if e >= s => {
                let ns = e.as_nanosecond() - s.as_nanosecond();
                Some(Duration::from_nanos(ns as u64))
            }
            _ => None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Warning,
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }
}

/// An active warning or alert.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Warning {
    pub object_id: Option<String>,
    pub tenant: String,
    pub severity: Severity,
    /// A bounded word per vendor (it becomes a label).
    pub category: String,
    /// Free text: never a label.
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    Info,
    Create,
    Modify,
    Delete,
    Error,
    Login,
    LoginFailed,
    Other,
}

impl AuditAction {
    pub const ALL: [AuditAction; 8] = [
        AuditAction::Info,
        AuditAction::Create,
        AuditAction::Modify,
        AuditAction::Delete,
        AuditAction::Error,
        AuditAction::Login,
        AuditAction::LoginFailed,
        AuditAction::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Info => "info",
            AuditAction::Create => "create",
            AuditAction::Modify => "modify",
            AuditAction::Delete => "delete",
            AuditAction::Error => "error",
            AuditAction::Login => "login",
            AuditAction::LoginFailed => "login_failed",
            AuditAction::Other => "other",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: String,
    pub time: Timestamp,
    pub tenant: String,
    pub actor: String,
    pub action: AuditAction,
    /// What the event is about, as text.
    pub object: String,
    pub message: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StoragePool {
    pub name: String,
    pub capacity_bytes: Option<u64>,
    pub used_bytes: Option<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Storage {
    pub pools: Vec<StoragePool>,
    /// Stored bytes per tenant; when empty the exporter sums the objects' stored bytes.
    pub tenants: Vec<(String, u64)>,
    /// Stored bytes per object id, where the storage collector learns them (overrides
    /// `Object::stored_bytes`).
    pub objects: Vec<(String, u64)>,
}

/// Logs a vendor word that a mapping table does not know, once per process and word, so
/// that a new vendor status shows up in the log without flooding it.
pub fn note_unknown_word(vendor: Vendor, what: &str, word: &str) {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock};
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let key = format!("{vendor}/{what}/{word}");
    let seen = SEEN.get_or_init(|| Mutex::new(HashSet::new()));
    let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
    if seen.len() < 1000 && seen.insert(key) {
        tracing::warn!(%vendor, what, word, "unknown vendor word; mapped to the conservative result");
    }
}

/// Binary sizes: vendors that say MB or GB mean MiB and GiB (contract §3).
pub fn mib_to_bytes(mib: f64) -> u64 {
    if mib.is_finite() && mib > 0.0 {
        (mib * 1_048_576.0).round() as u64
    } else {
        0
    }
}

pub fn gib_to_bytes(gib: f64) -> u64 {
    if gib.is_finite() && gib > 0.0 {
        (gib * 1_073_741_824.0).round() as u64
    } else {
        0
    }
}

/// The five collectors of contract §4 (`collector` label).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CollectorKind {
    Inventory,
    Jobs,
    Warnings,
    Audit,
    Storage,
}

impl CollectorKind {
    pub const ALL: [CollectorKind; 5] = [
        CollectorKind::Inventory,
        CollectorKind::Jobs,
        CollectorKind::Warnings,
        CollectorKind::Audit,
        CollectorKind::Storage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CollectorKind::Inventory => "inventory",
            CollectorKind::Jobs => "jobs",
            CollectorKind::Warnings => "warnings",
            CollectorKind::Audit => "audit",
            CollectorKind::Storage => "storage",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_names_round_trip() {
        for v in Vendor::ALL {
            assert_eq!(v.as_str().parse::<Vendor>().unwrap(), v);
        }
        assert!(
            "veeam"
                .parse::<Vendor>()
                .unwrap_err()
                .contains("unknown vendor")
        );
    }

    #[test]
    fn binary_units() {
        assert_eq!(mib_to_bytes(1.0), 1_048_576);
        assert_eq!(gib_to_bytes(2.0), 2_147_483_648);
        assert_eq!(mib_to_bytes(-3.0), 0);
        assert_eq!(mib_to_bytes(f64::NAN), 0);
    }

    #[test]
    fn warning_counts_as_success_unless_strict() {
        assert!(JobResult::Warning.is_success(false));
        assert!(!JobResult::Warning.is_success(true));
        assert!(!JobResult::Cancelled.is_failure());
        assert!(JobResult::Missed.is_failure());
    }
}
