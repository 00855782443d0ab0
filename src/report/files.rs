//! The report files of contract §7: UTF-8, RFC 4180, a header row, `.` decimals, RFC 3339 UTC
//! times, an empty cell for unknown, and cells that a spreadsheet would run as a formula
//! prefixed with `'`. Each file is written to a temporary file beside it and renamed once
//! complete, so a reader never sees half a report.

use std::borrow::Cow;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::compliance::{ComplianceRow, SummaryRow};
use crate::model::{AuditEvent, Job, Vendor};

pub const COMPLIANCE_HEADER: [&str; 31] = [
    "period_start",
    "period_end",
    "vendor",
    "target",
    "tenant",
    "object_id",
    "object",
    "object_type",
    "policy",
    "rpo_seconds",
    "status",
    "reason",
    "jobs_total",
    "jobs_succeeded",
    "jobs_warning",
    "jobs_failed",
    "jobs_cancelled",
    "jobs_missed",
    "success_ratio",
    "last_success",
    "last_attempt",
    "last_result",
    "max_gap_seconds",
    "rpo_breach_count",
    "rpo_breach_seconds",
    "transferred_bytes",
    "stored_bytes",
    "last_restore",
    "last_restore_result",
    "restores_in_period",
    "restore_test_overdue",
];

pub const SUMMARY_HEADER: [&str; 19] = [
    "period_start",
    "period_end",
    "vendor",
    "target",
    "tenant",
    "objects",
    "compliant",
    "non_compliant",
    "unprotected",
    "excluded",
    "new",
    "no_data",
    "not_backed_up",
    "compliance_ratio",
    "jobs_total",
    "jobs_failed",
    "job_success_ratio",
    "stored_bytes",
    "restore_test_overdue",
];

pub const JOBS_HEADER: [&str; 15] = [
    "vendor",
    "target",
    "tenant",
    "object_id",
    "object",
    "job_id",
    "kind",
    "result",
    "vendor_status",
    "started",
    "ended",
    "duration_seconds",
    "transferred_bytes",
    "error_code",
    "error_message",
];

pub const AUDIT_HEADER: [&str; 9] = [
    "vendor", "target", "tenant", "event_id", "time", "actor", "action", "object", "message",
];

/// A job with the identity of its object, for `jobs-*.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRow {
    pub vendor: Vendor,
    pub target: String,
    pub tenant: String,
    pub object: String,
    pub job: Job,
}

#[derive(Clone, Debug, PartialEq)]
pub struct AuditRow {
    pub vendor: Vendor,
    pub target: String,
    pub event: AuditEvent,
}

/// A cell as written: spreadsheet formula triggers are neutralised with a leading `'`.
pub fn cell(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn time(t: Option<Timestamp>) -> String {
    opt(t)
}

/// Whole seconds as an integer, otherwise up to millisecond precision.
pub(crate) fn seconds(d: SignedDuration) -> String {
    if d.subsec_nanos() == 0 {
        d.as_secs().to_string()
    } else {
        let s = format!("{:.3}", d.as_secs_f64());
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn std_seconds(d: Duration) -> String {
    seconds(SignedDuration::try_from(d).unwrap_or(SignedDuration::MAX))
}

/// Ratios with four decimals: enough to tell 99.97 % from 100 %, stable across runs.
pub(crate) fn ratio(r: Option<f64>) -> String {
    r.map(|r| format!("{r:.4}")).unwrap_or_default()
}

fn render<const N: usize>(header: [&str; N], rows: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    // Writing into a Vec cannot fail, and every record has the header's width.
    let _ = w.write_record(header);
    for row in rows {
        debug_assert_eq!(row.len(), N);
        let _ = w.write_record(row.iter().map(|c| cell(c).into_owned()));
    }
    w.into_inner().unwrap_or_default()
}

pub fn compliance_csv(rows: &[ComplianceRow]) -> Vec<u8> {
    render(
        COMPLIANCE_HEADER,
        rows.iter().map(|r| {
            let c = r.counts;
            vec![
                r.period.from.to_string(),
                r.period.to.to_string(),
                opt(r.vendor),
                r.target.clone(),
                r.tenant.clone(),
                r.object_id.clone(),
                r.object.clone(),
                r.object_type.clone(),
                r.policy.clone(),
                opt(r.rpo.map(std_seconds)),
                r.status.to_string(),
                r.reason.clone(),
                opt(c.map(|c| c.total)),
                opt(c.map(|c| c.succeeded)),
                opt(c.map(|c| c.warning)),
                opt(c.map(|c| c.failed)),
                opt(c.map(|c| c.cancelled)),
                opt(c.map(|c| c.missed)),
                ratio(r.success_ratio()),
                time(r.last_success),
                time(r.last_attempt),
                opt(r.last_result.map(|x| x.as_str())),
                opt(r.max_gap.map(seconds)),
                opt(r.breach_count),
                opt(r.breach.map(seconds)),
                opt(r.transferred_bytes),
                opt(r.stored_bytes),
                time(r.restores.and_then(|x| x.last).map(|a| a.time)),
                opt(r
                    .restores
                    .and_then(|x| x.last)
                    .and_then(|a| a.result)
                    .map(|x| x.as_str())),
                opt(r.restores.map(|x| x.in_period)),
                opt(r.restore_test_overdue.map(|o| if o { "yes" } else { "no" })),
            ]
        }),
    )
}

pub fn summary_csv(rows: &[SummaryRow]) -> Vec<u8> {
    render(
        SUMMARY_HEADER,
        rows.iter().map(|r| {
            vec![
                time(r.period.map(|p| p.from)),
                time(r.period.map(|p| p.to)),
                opt(r.vendor),
                r.target.clone(),
                r.tenant.clone(),
                r.objects.to_string(),
                r.compliant.to_string(),
                r.non_compliant.to_string(),
                r.unprotected.to_string(),
                r.excluded.to_string(),
                r.new.to_string(),
                r.no_data.to_string(),
                r.not_backed_up.to_string(),
                ratio(r.compliance_ratio()),
                opt(r.jobs_total),
                opt(r.jobs_failed),
                ratio(r.job_success_ratio()),
                opt(r.stored_bytes),
                r.restore_test_overdue.to_string(),
            ]
        }),
    )
}

pub fn jobs_csv(rows: &[JobRow]) -> Vec<u8> {
    render(
        JOBS_HEADER,
        rows.iter().map(|r| {
            let j = &r.job;
            vec![
                r.vendor.to_string(),
                r.target.clone(),
                r.tenant.clone(),
                j.object_id.clone(),
                r.object.clone(),
                j.id.clone(),
                j.kind.as_str().to_owned(),
                j.result.as_str().to_owned(),
                j.vendor_status.clone(),
                time(j.start),
                time(j.end),
                opt(j.duration_or_span().map(std_seconds)),
                opt(j.transferred_bytes),
                j.error_code.clone().unwrap_or_default(),
                j.error_message.clone().unwrap_or_default(),
            ]
        }),
    )
}

pub fn audit_csv(rows: &[AuditRow]) -> Vec<u8> {
    render(
        AUDIT_HEADER,
        rows.iter().map(|r| {
            let e = &r.event;
            vec![
                r.vendor.to_string(),
                r.target.clone(),
                e.tenant.clone(),
                e.id.clone(),
                e.time.to_string(),
                e.actor.clone(),
                e.action.as_str().to_owned(),
                e.object.clone(),
                e.message.clone(),
            ]
        }),
    )
}

/// One file to write: its name in the output directory and its content.
#[derive(Clone, Debug)]
pub struct Output {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// Temporary files older than this, of the names this run writes, are left over from a
/// killed run and removed. A report is written in seconds, so a live one is never touched.
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(3600);

/// Whether `file` is one of our temporary files for the report file `name`: the form of this
/// version (`.NAME.` random `.tmp`) or of older ones (`.NAME.PID.tmp`).
fn is_our_temp(file: &str, name: &str) -> bool {
    file.strip_prefix('.')
        .and_then(|f| f.strip_prefix(name))
        .and_then(|f| f.strip_prefix('.'))
        .and_then(|f| f.strip_suffix(".tmp"))
        .is_some_and(|mid| !mid.is_empty() && mid.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Removes our temporary files for `names` in `dir` that are older than `max_age`;
/// returns how many went. Only files and symbolic links are removed (a link itself, never
/// what it points to).
pub fn clean_stale_temps(dir: &Path, names: &[&str], max_age: Duration) -> usize {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(file) = file.to_str() else { continue };
        if !names.iter().any(|n| is_our_temp(file, n)) {
            continue;
        }
        let Ok(meta) = fs::symlink_metadata(entry.path()) else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age > max_age);
        if old && !meta.is_dir() && fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// A new temporary file beside `name`: a random name, created with `O_CREAT|O_EXCL` (so a
/// planted file or symbolic link is never opened, let alone followed), with the mode any
/// new file of the user gets (0666 less the umask, as before), and removed on drop unless
/// persisted.
fn create_temp(dir: &Path, name: &str) -> io::Result<tempfile::NamedTempFile> {
    let prefix = format!(".{name}.");
    let mut b = tempfile::Builder::new();
    b.prefix(&prefix).suffix(".tmp").rand_bytes(12);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        b.permissions(fs::Permissions::from_mode(0o666));
    }
    b.tempfile_in(dir)
}

/// Writes every file to a temporary file beside its destination first and renames them, in
/// order, only when all of them are complete, so that a failure (a full disk, a read-only
/// folder) leaves no report file behind, and an existing report of the same period is
/// replaced whole or not at all. A name may hold `/` for a subfolder of `dir` (a tenant's
/// folder); it never leaves `dir`.
pub fn write_all(dir: &Path, outputs: &[Output]) -> io::Result<Vec<PathBuf>> {
    fs::create_dir_all(dir)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", dir.display())))?;
    let mut targets = Vec::with_capacity(outputs.len());
    for o in outputs {
        let rel = Path::new(&o.name);
        let (Some(file_name), true) = (
            rel.file_name().and_then(|f| f.to_str()),
            rel.components()
                .all(|c| matches!(c, std::path::Component::Normal(_))),
        ) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{:?} is not a file name inside {}", o.name, dir.display()),
            ));
        };
        let dest = dir.join(rel);
        if dest.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("cannot write {}: it is a directory", dest.display()),
            ));
        }
        targets.push((o, file_name, dest));
    }
    // Folders this run creates, so that a failure can take them back (innermost last).
    let mut made = MadeFolders(Vec::new());
    let mut pending = Vec::with_capacity(targets.len());
    for (o, file_name, dest) in targets {
        let parent = dest.parent().unwrap_or(dir).to_owned();
        let mut missing = Vec::new();
        let mut p = parent.as_path();
        while p != dir && !p.exists() {
            missing.push(p.to_owned());
            match p.parent() {
                Some(up) => p = up,
                None => break,
            }
        }
        fs::create_dir_all(&parent).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot create {}: {e}", parent.display()))
        })?;
        made.0.extend(missing.into_iter().rev());
        let stale = clean_stale_temps(&parent, &[file_name], STALE_TEMP_AGE);
        if stale > 0 {
            tracing::info!(dir = %parent.display(), removed = stale, "removed temporary files of an interrupted report");
        }
        let mut tmp = create_temp(&parent, file_name).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot write {}: cannot create a temporary file in {}: {e}",
                    dest.display(),
                    parent.display()
                ),
            )
        })?;
        tmp.write_all(&o.bytes)
            .and_then(|_| tmp.as_file().sync_all())
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot write {}: {e}", dest.display()))
            })?;
        pending.push((tmp, dest));
    }
    let mut written = Vec::new();
    for (tmp, dest) in pending {
        if let Err(e) = tmp.persist(&dest) {
            // Half a report is worse than none: take back the files of this run (the
            // temporary files left are removed when they drop, new folders with `made`).
            for w in &written {
                let _ = fs::remove_file(w);
            }
            return Err(io::Error::new(
                e.error.kind(),
                format!(
                    "cannot rename {} to {}: {}",
                    e.file.path().display(),
                    dest.display(),
                    e.error
                ),
            ));
        }
        written.push(dest);
    }
    made.0.clear();
    Ok(written)
}

/// Folders a failed run made, removed on drop (each only if empty, innermost first).
struct MadeFolders(Vec<PathBuf>);

impl Drop for MadeFolders {
    fn drop(&mut self) {
        for d in self.0.iter().rev() {
            let _ = fs::remove_dir(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::Period;

    fn out(name: &str, bytes: &[u8]) -> Output {
        Output {
            name: name.into(),
            bytes: bytes.to_vec(),
        }
    }
    use crate::model::{AuditAction, JobKind, JobResult};
    use crate::report::compliance::{JobCounts, Status};

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn text(b: Vec<u8>) -> String {
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn formula_triggers_are_neutralised() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("+1"), "'+1");
        assert_eq!(cell("-cmd"), "'-cmd");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("\rx"), "'\rx");
        assert_eq!(cell("db-1"), "db-1");
        assert_eq!(cell(""), "");
    }

    #[test]
    fn numbers_and_times_have_one_spelling() {
        assert_eq!(seconds(SignedDuration::from_secs(86_400)), "86400");
        assert_eq!(seconds(SignedDuration::from_millis(1_500)), "1.5");
        assert_eq!(seconds(SignedDuration::new(2, 1)), "2");
        assert_eq!(ratio(Some(2.0 / 3.0)), "0.6667");
        assert_eq!(ratio(Some(1.0)), "1.0000");
        assert_eq!(ratio(None), "");
        assert_eq!(
            time(Some(ts("2026-01-31T23:00:00+01:00"))),
            "2026-01-31T22:00:00Z"
        );
    }

    fn row() -> ComplianceRow {
        ComplianceRow {
            period: Period {
                from: ts("2026-01-01T00:00:00Z"),
                to: ts("2026-02-01T00:00:00Z"),
            },
            vendor: Some(Vendor::Clumio),
            target: "prod".into(),
            tenant: "Sales, EMEA".into(),
            object_id: "i-1".into(),
            object: "=cmd|' /C calc'!A0".into(),
            object_type: "ec2_instance".into(),
            policy: "gold \"daily\"".into(),
            rpo: Some(Duration::from_secs(86_400)),
            status: Status::NonCompliant,
            reason: "never succeeded".into(),
            counts: Some(JobCounts {
                total: 3,
                failed: 3,
                ..Default::default()
            }),
            success: Some((0, 3)),
            last_success: None,
            last_attempt: Some(ts("2026-01-30T01:00:00Z")),
            last_result: Some(JobResult::Failed),
            max_gap: Some(SignedDuration::from_secs(31 * 86_400)),
            breach_count: Some(1),
            breach: Some(SignedDuration::from_secs(30 * 86_400)),
            transferred_bytes: Some(0),
            stored_bytes: None,
            restores: None,
            restore_test_overdue: None,
        }
    }

    #[test]
    fn compliance_rows_are_rfc4180_with_empty_unknowns() {
        let t = text(compliance_csv(&[row()]));
        let mut lines = t.split("\r\n");
        assert_eq!(lines.next().unwrap(), COMPLIANCE_HEADER.join(","));
        assert_eq!(
            lines.next().unwrap(),
            "2026-01-01T00:00:00Z,2026-02-01T00:00:00Z,clumio,prod,\"Sales, EMEA\",i-1,\
             '=cmd|' /C calc'!A0,ec2_instance,\"gold \"\"daily\"\"\",86400,non_compliant,\
             never succeeded,3,0,0,3,0,0,0.0000,,2026-01-30T01:00:00Z,failed,2678400,1,2592000,0,,,,,"
        );
        assert_eq!(lines.next(), Some(""));
        // A spreadsheet-safe file still parses back to the same number of columns.
        let mut r = csv::Reader::from_reader(t.as_bytes());
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(rec.len(), COMPLIANCE_HEADER.len());
        assert_eq!(&rec[4], "Sales, EMEA");
    }

    #[test]
    fn jobs_and_audit_rows_carry_the_vendor_words_and_messages() {
        let job = Job {
            id: "j1".into(),
            object_id: "i-1".into(),
            kind: JobKind::Backup,
            result: JobResult::Failed,
            vendor_status: "Failed".into(),
            start: Some(ts("2026-01-05T01:00:00Z")),
            end: Some(ts("2026-01-05T01:10:30Z")),
            duration: None,
            transferred_bytes: None,
            error_code: Some("-42".into()),
            error_message: Some("disk\nfull".into()),
        };
        let t = text(jobs_csv(&[JobRow {
            vendor: Vendor::Cloutility,
            target: "t".into(),
            tenant: "HR".into(),
            object: "node1".into(),
            job,
        }]));
        assert!(
            t.ends_with(
                "cloutility,t,HR,i-1,node1,j1,backup,failed,Failed,2026-01-05T01:00:00Z,\
                 2026-01-05T01:10:30Z,630,,'-42,\"disk\nfull\"\r\n"
            ),
            "{t}"
        );
        let t = text(audit_csv(&[AuditRow {
            vendor: Vendor::Cloudtower,
            target: "t".into(),
            event: AuditEvent {
                id: "e1".into(),
                time: ts("2026-01-07T08:00:00Z"),
                tenant: "c1".into(),
                actor: "admin".into(),
                action: AuditAction::LoginFailed,
                object: "vm-1".into(),
                message: "+bad".into(),
            },
        }]));
        assert!(
            t.ends_with(
                "cloudtower,t,c1,e1,2026-01-07T08:00:00Z,admin,login_failed,vm-1,'+bad\r\n"
            ),
            "{t}"
        );
    }

    #[test]
    fn write_all_leaves_only_complete_files() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("reports");
        let files = write_all(
            &out,
            &[
                Output {
                    name: "a.csv".into(),
                    bytes: b"x\r\n".to_vec(),
                },
                Output {
                    name: "b.csv".into(),
                    bytes: b"y\r\n".to_vec(),
                },
            ],
        )
        .unwrap();
        assert_eq!(files, [out.join("a.csv"), out.join("b.csv")]);
        let mut names: Vec<_> = fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["a.csv", "b.csv"]);
        assert_eq!(fs::read(out.join("b.csv")).unwrap(), b"y\r\n");
    }

    #[test]
    fn subfolders_are_made_and_names_cannot_leave_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let out = |name: &str| Output {
            name: name.into(),
            bytes: b"x".to_vec(),
        };
        let files = write_all(dir.path(), &[out("a.csv"), out("tenants/acme/a.csv")]).unwrap();
        assert_eq!(files[1], dir.path().join("tenants/acme/a.csv"));
        assert_eq!(fs::read(&files[1]).unwrap(), b"x");
        for bad in ["../x.csv", "/etc/x", "tenants/../../x", ""] {
            let e = write_all(dir.path(), &[out(bad)]).unwrap_err();
            assert!(e.to_string().contains("not a file name"), "{bad}: {e}");
        }
        // A failure takes back the folders it made.
        fs::create_dir_all(dir.path().join("b.csv")).unwrap();
        let e = write_all(dir.path(), &[out("tenants/new/a.csv"), out("b.csv")]);
        assert!(e.is_err());
        assert!(!dir.path().join("tenants/new").exists());
        assert!(dir.path().join("tenants/acme").exists());
    }

    #[test]
    fn a_failed_write_leaves_neither_temporary_nor_final_files() {
        let dir = tempfile::tempdir().unwrap();
        // The second name is a directory that cannot be replaced by a file.
        fs::create_dir(dir.path().join("b.csv")).unwrap();
        fs::write(dir.path().join("b.csv").join("keep"), b"").unwrap();
        let e = write_all(
            dir.path(),
            &[
                Output {
                    name: "a.csv".into(),
                    bytes: b"x".to_vec(),
                },
                Output {
                    name: "b.csv".into(),
                    bytes: b"y".to_vec(),
                },
            ],
        );
        assert!(e.unwrap_err().to_string().contains("is a directory"));
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["b.csv"], "only the directory that was there before");
    }

    #[test]
    fn a_planted_symlink_at_a_temporary_name_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let reports = dir.path().join("reports");
        fs::create_dir(&reports).unwrap();
        // Every name an older version would have used for this process, and a few guesses
        // at the random part.
        let pid = std::process::id();
        for link in [
            format!(".a.csv.{pid}.tmp"),
            ".a.csv.tmp".to_owned(),
            ".a.csv.000000000000.tmp".to_owned(),
        ] {
            std::os::unix::fs::symlink(&victim, reports.join(link)).unwrap();
        }
        write_all(&reports, &[out("a.csv", b"report\r\n")]).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(reports.join("a.csv")).unwrap(), b"report\r\n");
        assert!(
            !fs::symlink_metadata(reports.join("a.csv"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    #[test]
    fn temporary_names_are_random_and_recognised_as_ours() {
        let dir = tempfile::tempdir().unwrap();
        let a = create_temp(dir.path(), "a.csv").unwrap();
        let b = create_temp(dir.path(), "a.csv").unwrap();
        assert_ne!(a.path(), b.path());
        for t in [&a, &b] {
            let n = t.path().file_name().unwrap().to_str().unwrap();
            assert!(is_our_temp(n, "a.csv"), "{n}");
            assert!(n.len() >= ".a.csv..tmp".len() + 12, "{n}");
        }
        assert!(
            is_our_temp(".a.csv.4242.tmp", "a.csv"),
            "an older version's form"
        );
        for other in [
            ".a.csv.tmp",
            "a.csv",
            ".a.csv.x/y.tmp",
            ".b.csv.1.tmp",
            ".a.csvX.1.tmp",
        ] {
            assert!(!is_our_temp(other, "a.csv"), "{other}");
        }
    }

    #[test]
    fn stale_temporary_files_of_ours_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path();
        let old = std::time::SystemTime::now() - Duration::from_secs(2 * 3600);
        let stale = [".a.csv.4242.tmp", ".a.csv.Zx81abcdEFgh.tmp"];
        let kept = [".a.csv.fresh1.tmp", ".other.csv.1.tmp", "notes.txt"];
        for n in stale.iter().chain(&kept) {
            let f = fs::File::create(p.join(n)).unwrap();
            if !n.contains("fresh") {
                f.set_modified(old).unwrap();
            }
        }
        write_all(p, &[out("a.csv", b"x")]).unwrap();
        let mut names: Vec<String> = fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let mut want: Vec<&str> = kept.to_vec();
        want.push("a.csv");
        want.sort();
        assert_eq!(names, want);
    }

    #[test]
    fn a_write_error_names_the_report_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let e = write_all(
            &dir.path().join("missing-parent-is-made"),
            &[out("a.csv", b"x")],
        );
        assert!(e.is_ok());
        // A folder where the report cannot be created: a file stands in its way.
        let blocked = dir.path().join("blocked");
        fs::write(&blocked, b"").unwrap();
        let e = write_all(&blocked, &[out("a.csv", b"x")]).unwrap_err();
        assert!(e.to_string().contains("cannot create"), "{e}");
    }
}
