//! `report` end to end over fake adapters: a vendor-neutral history in, four CSV files out.
//! The per-vendor golden tests against the simulators come with the vendors' history readers.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use backup_exporter::adapter::{Adapter, Collection, History, Period, VendorError, Window};
use backup_exporter::clock::Clock;
use backup_exporter::model::{AuditAction, AuditEvent, Job, JobKind, JobResult, Object};
use backup_exporter::report::progress::Mode;
use backup_exporter::report::{Env, ReportArgs, ReportError, Source, run_with};
use jiff::{SignedDuration, Timestamp};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A target whose history is known in advance.
pub struct FakeAdapter {
    pub history: Option<History>,
    pub inventory: Vec<Object>,
}

#[async_trait]
impl Adapter for FakeAdapter {
    async fn collect(&self, _window: Window) -> Collection {
        let mut c = Collection::failed(|| VendorError::Invalid("not in this fake".into()));
        c.inventory = Ok(self.inventory.clone());
        c
    }
    async fn probe(&self) -> Result<String, VendorError> {
        Ok("fake".into())
    }
    async fn history(
        &self,
        period: Period,
        _lookback: std::time::Duration,
    ) -> Result<History, VendorError> {
        match &self.history {
            Some(h) => Ok(History {
                objects: h.objects.clone(),
                // Like a vendor: the period plus some days before it, not everything.
                jobs: h
                    .jobs
                    .iter()
                    .filter(|j| {
                        j.time().is_some_and(|t| {
                            t >= period.from - SignedDuration::from_hours(24 * 7) && t < period.to
                        })
                    })
                    .cloned()
                    .collect(),
                audit: h.audit.clone(),
                skipped: Vec::new(),
            }),
            None => Err(VendorError::Unsupported(
                "this vendor has no history reader yet".into(),
            )),
        }
    }
}

pub fn object(id: &str, name: &str, tenant: &str, protected: bool) -> Object {
    Object {
        id: id.into(),
        name: name.into(),
        object_type: "vm".into(),
        tenant: tenant.into(),
        policy: if protected {
            "daily".into()
        } else {
            String::new()
        },
        protected,
        created: Some(ts("2025-06-01T00:00:00Z")),
        stored_bytes: Some(1 << 30),
        ..Default::default()
    }
}

pub fn run_job(object_id: &str, n: usize, end: Timestamp, result: JobResult) -> Job {
    Job {
        id: format!("{object_id}-{n}"),
        object_id: object_id.into(),
        kind: JobKind::Backup,
        result,
        vendor_status: format!("{result:?}").to_uppercase(),
        start: Some(end - SignedDuration::from_mins(20)),
        end: Some(end),
        duration: None,
        transferred_bytes: Some(100),
        error_code: (result == JobResult::Failed).then(|| "E42".into()),
        error_message: (result == JobResult::Failed).then(|| "-disk full".into()),
    }
}

/// Daily runs at 02:00 from 2025-12-20 to 2026-02-05; `fail` days of January fail.
pub fn daily(object_id: &str, fail: &[i8]) -> Vec<Job> {
    let first = ts("2025-12-20T02:00:00Z");
    (0..48)
        .map(|d| {
            let end = first + SignedDuration::from_hours(24 * d);
            let day = jiff::tz::TimeZone::UTC.to_datetime(end).date();
            let failed = day.year() == 2026 && day.month() == 1 && fail.contains(&day.day());
            let result = if failed {
                JobResult::Failed
            } else {
                JobResult::Success
            };
            run_job(object_id, d as usize, end, result)
        })
        .collect()
}

/// The "alpha" world: one compliant, one non-compliant, one excluded, one unprotected.
pub fn alpha() -> History {
    let mut jobs = daily("web", &[]);
    jobs.extend(daily("db", &[10, 11, 12]));
    jobs.extend(daily("test", &[]));
    let mut restore = run_job("web", 900, ts("2026-01-15T12:00:00Z"), JobResult::Success);
    restore.kind = JobKind::Restore;
    jobs.push(restore);
    let event = |id: &str, time: &str, msg: &str| AuditEvent {
        id: id.into(),
        time: ts(time),
        tenant: "Finance".into(),
        actor: "admin".into(),
        action: AuditAction::Modify,
        object: "db-1".into(),
        message: msg.into(),
    };
    History {
        objects: vec![
            object("web", "web-1", "Finance", true),
            object("db", "db-1", "Finance", true),
            object("test", "test-7", "Lab", true),
            object("loose", "loose-1", "Lab", false),
        ],
        jobs,
        audit: vec![
            event("e2", "2026-01-20T10:00:00Z", "=cmd|' /C calc'!A0"),
            event("e1", "2026-01-03T10:00:00Z", "policy changed"),
            event("e0", "2025-12-30T10:00:00Z", "before the period"),
        ],
        skipped: Vec::new(),
    }
}

const CONFIG: &str = "compliance:
  rpo: 24h
  rules:
    - match: { object: \"test-*\" }
      exclude: test systems
targets:
  - { name: alpha, vendor: cloutility, url: \"http://127.0.0.1:9/\", client_id: c, origin: \"http://o\", username: u, password_env: NO_SUCH_PASSWORD }
  - { name: beta, vendor: cloutility, url: \"http://127.0.0.1:9/\", client_id: c, origin: \"http://o\", username: u, password_env: NO_SUCH_PASSWORD }
";

pub struct Setup {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

pub fn setup(config: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yml");
    std::fs::write(&path, config).unwrap();
    Setup { dir, config: path }
}

pub fn args(config: &Path, out: &Path, targets: &[&str], keep_going: bool) -> ReportArgs {
    ReportArgs {
        config: config.to_owned(),
        month: Some("2026-01".parse().unwrap()),
        from: None,
        to: None,
        out: out.to_owned(),
        targets: targets.iter().map(|s| s.to_string()).collect(),
        keep_going,
        source: Source::Api,
        prometheus_url: None,
        evidence: Default::default(),
    }
}

fn env() -> Env {
    alpha_env(ts("2026-02-10T08:00:00Z"))
}

/// An env whose adapters are fakes: `alpha` reads, `beta`'s history fails (its inventory
/// works), any other target cannot even be built.
pub fn alpha_env(now: Timestamp) -> Env {
    let adapters: HashMap<String, Arc<dyn Adapter>> = HashMap::from([
        (
            "alpha".to_owned(),
            Arc::new(FakeAdapter {
                history: Some(alpha()),
                inventory: Vec::new(),
            }) as Arc<dyn Adapter>,
        ),
        (
            "beta".to_owned(),
            Arc::new(FakeAdapter {
                history: None,
                inventory: vec![object("b1", "beta-vm", "Ops", true)],
            }) as Arc<dyn Adapter>,
        ),
    ]);
    Env {
        clock: Clock::manual(now),
        build: Arc::new(move |t, _| {
            adapters
                .get(&t.name)
                .cloned()
                .ok_or_else(|| "login refused".to_owned())
        }),
        progress: Mode::Quiet,
        ..Env::default()
    }
}

fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn a_month_of_one_target_gives_four_files_that_match_its_history() {
    let s = setup(CONFIG);
    let out = s.dir.path().join("out");
    let outcome = run_with(&args(&s.config, &out, &["alpha"], false), &env())
        .await
        .unwrap();
    assert_eq!(
        files_in(&out),
        [
            "audit-2026-01.csv",
            "compliance-2026-01.csv",
            "jobs-2026-01.csv",
            "manifest-2026-01.json",
            "summary-2026-01.csv",
            "summary-2026-01.html"
        ]
    );
    assert_eq!(
        (outcome.objects, outcome.compliant, outcome.non_compliant),
        (4, 1, 1)
    );

    let rows = read_csv(&out.join("compliance-2026-01.csv"));
    let by: HashMap<&str, &HashMap<String, String>> =
        rows.iter().map(|r| (r["object"].as_str(), r)).collect();
    let web = by["web-1"];
    assert_eq!(web["status"], "compliant");
    assert_eq!(web["jobs_total"], "31", "the restore does not count");
    assert_eq!(web["success_ratio"], "1.0000");
    assert_eq!(web["max_gap_seconds"], "86400");
    assert_eq!(web["last_success"], "2026-01-31T02:00:00Z");
    assert_eq!(web["transferred_bytes"], "3100");
    assert_eq!(web["stored_bytes"], "1073741824");
    assert_eq!(web["period_start"], "2026-01-01T00:00:00Z");
    assert_eq!(web["period_end"], "2026-02-01T00:00:00Z");
    let db = by["db-1"];
    assert_eq!(db["status"], "non_compliant");
    assert_eq!(db["jobs_failed"], "3");
    assert_eq!(db["success_ratio"], "0.9032");
    assert_eq!(db["max_gap_seconds"], (4 * 86400).to_string());
    assert_eq!(db["rpo_breach_count"], "1");
    assert_eq!(db["rpo_breach_seconds"], (3 * 86400).to_string());
    assert_eq!(by["test-7"]["status"], "excluded");
    assert_eq!(by["test-7"]["reason"], "test systems");
    assert_eq!(by["loose-1"]["status"], "unprotected");
    // Rows in a fixed order: tenant, then object.
    let order: Vec<&str> = rows.iter().map(|r| r["object"].as_str()).collect();
    assert_eq!(order, ["db-1", "web-1", "loose-1", "test-7"]);

    let summary = read_csv(&out.join("summary-2026-01.csv"));
    assert_eq!(summary.len(), 2);
    let fin = &summary[0];
    assert_eq!(fin["tenant"], "Finance");
    assert_eq!(
        (fin["objects"].as_str(), fin["compliant"].as_str()),
        ("2", "1")
    );
    assert_eq!(fin["compliance_ratio"], "0.5000");
    assert_eq!(fin["jobs_total"], "62");
    assert_eq!(fin["jobs_failed"], "3");
    assert_eq!(fin["job_success_ratio"], "0.9516");
    let lab = &summary[1];
    assert_eq!(
        (lab["excluded"].as_str(), lab["unprotected"].as_str()),
        ("1", "1")
    );
    assert_eq!(lab["compliance_ratio"], "");

    let jobs = read_csv(&out.join("jobs-2026-01.csv"));
    // 31 January runs for each of three objects, plus the restore.
    assert_eq!(jobs.len(), 94);
    let failed: Vec<_> = jobs.iter().filter(|j| j["result"] == "failed").collect();
    assert_eq!(failed.len(), 3);
    assert_eq!(failed[0]["object"], "db-1");
    assert_eq!(failed[0]["error_message"], "'-disk full");
    assert_eq!(failed[0]["duration_seconds"], "1200");

    let audit = read_csv(&out.join("audit-2026-01.csv"));
    let ids: Vec<&str> = audit.iter().map(|a| a["event_id"].as_str()).collect();
    assert_eq!(ids, ["e1", "e2"], "in time order, the period only");
    assert_eq!(audit[1]["message"], "'=cmd|' /C calc'!A0");
}

#[tokio::test]
async fn a_second_run_writes_the_same_bytes() {
    let s = setup(CONFIG);
    let a = s.dir.path().join("a");
    let b = s.dir.path().join("b");
    run_with(&args(&s.config, &a, &["alpha"], false), &env())
        .await
        .unwrap();
    run_with(&args(&s.config, &b, &["alpha"], false), &env())
        .await
        .unwrap();
    for f in files_in(&a) {
        assert_eq!(
            std::fs::read(a.join(&f)).unwrap(),
            std::fs::read(b.join(&f)).unwrap(),
            "{f}"
        );
    }
}

#[tokio::test]
async fn an_unreadable_target_stops_the_report_and_writes_nothing() {
    let s = setup(CONFIG);
    let out = s.dir.path().join("out");
    let e = run_with(&args(&s.config, &out, &[], false), &env())
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), 1);
    let msg = e.to_string();
    assert!(msg.contains("target \"beta\" (cloutility)"), "{msg}");
    assert!(msg.contains("no history reader"), "{msg}");
    assert!(msg.contains("--keep-going"), "{msg}");
    assert!(files_in(&out).is_empty(), "{:?}", files_in(&out));
}

#[tokio::test]
async fn keep_going_writes_no_data_rows_and_still_fails() {
    let s = setup(CONFIG);
    let out = s.dir.path().join("out");
    let e = run_with(&args(&s.config, &out, &[], true), &env())
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), 1);
    let ReportError::Incomplete(outcome) = e else {
        panic!("expected an incomplete report, got {e}");
    };
    assert_eq!(outcome.failed_targets.len(), 1);
    assert_eq!(outcome.files.len(), 6);
    // The manifest of a `--keep-going` report names what could not be read.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest-2026-01.json")).unwrap()).unwrap();
    let targets = manifest["targets"].as_array().unwrap();
    assert_eq!(targets[0]["name"], "alpha");
    assert_eq!(targets[0]["error"], serde_json::Value::Null);
    assert_eq!(targets[1]["name"], "beta");
    assert!(
        targets[1]["error"]
            .as_str()
            .unwrap()
            .contains("no history reader"),
        "{manifest}"
    );
    let rows = read_csv(&out.join("compliance-2026-01.csv"));
    assert_eq!(rows.len(), 5);
    let beta: Vec<_> = rows.iter().filter(|r| r["target"] == "beta").collect();
    assert_eq!(beta.len(), 1);
    assert_eq!(
        beta[0]["object"], "beta-vm",
        "the inventory still named the object"
    );
    assert_eq!(beta[0]["status"], "no_data");
    assert!(beta[0]["reason"].starts_with("the target could not be read: target \"beta\""));
    assert_eq!(beta[0]["rpo_seconds"], "86400");
    assert_eq!(beta[0]["jobs_total"], "");
    let summary = read_csv(&out.join("summary-2026-01.csv"));
    let beta = summary.iter().find(|r| r["target"] == "beta").unwrap();
    assert_eq!(
        (beta["no_data"].as_str(), beta["jobs_total"].as_str()),
        ("1", "")
    );
}

#[tokio::test]
async fn a_target_that_cannot_be_built_is_one_row_naming_it() {
    let config = CONFIG.replace("name: beta", "name: gamma");
    let s = setup(&config);
    let out = s.dir.path().join("out");
    let e = run_with(&args(&s.config, &out, &["gamma"], true), &env())
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), 1);
    let rows = read_csv(&out.join("compliance-2026-01.csv"));
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["target"], "gamma");
    assert_eq!(rows[0]["object_id"], "");
    assert_eq!(rows[0]["status"], "no_data");
    assert!(rows[0]["reason"].contains("login refused"), "{:?}", rows[0]);
}

#[tokio::test]
async fn usage_and_config_errors_exit_2() {
    let s = setup(CONFIG);
    let out = s.dir.path().join("out");
    let e = run_with(&args(&s.config, &out, &["nope"], false), &env())
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("targets: alpha, beta"), "{e}");
    let bad = setup("targets: []\n");
    let e = run_with(&args(&bad.config, &out, &[], false), &env())
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    let mut future = args(&s.config, &out, &[], false);
    future.month = Some("2026-03".parse().unwrap());
    let e = run_with(&future, &env()).await.unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(files_in(&out).is_empty());
}

fn bin() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_backup-exporter"));
    for (k, _) in std::env::vars() {
        if k.starts_with("BACKUP_EXPORTER_") {
            c.env_remove(k);
        }
    }
    c
}

#[test]
fn the_binary_exits_2_on_usage_errors_and_1_when_a_target_cannot_be_read() {
    let s = setup(CONFIG);
    let out = s.dir.path().join("out");
    let run = |extra: &[&str]| {
        let o = bin()
            .arg("report")
            .arg("--config")
            .arg(&s.config)
            .arg("--out")
            .arg(&out)
            .args(["--month", "2026-01"])
            .args(extra)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, _, err) = run(&["--target", "nope"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--target \"nope\": no such target"), "{err}");

    // Nothing listens on port 9: the target cannot be read, whatever its adapter does.
    let (code, _, err) = run(&["--target", "alpha"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("error: target \"alpha\" (cloutility)"),
        "{err}"
    );
    assert!(!out.exists() || files_in(&out).is_empty());

    let (code, stdout, err) = run(&["--target", "alpha", "--keep-going"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        stdout.starts_with(
            "report 2026-01: 1 objects, 0 compliant, 0 non-compliant, 1 other; wrote 6 files"
        ),
        "{stdout}"
    );
    assert!(
        err.contains("report: alpha: FAILED"),
        "plain progress lines: {err}"
    );
    let rows = read_csv(&out.join("compliance-2026-01.csv"));
    assert_eq!(rows[0]["status"], "no_data");
}
