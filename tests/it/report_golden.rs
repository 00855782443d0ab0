//! Golden CSV files: `report --month 2026-02` over each vendor's seeded simulator, compared
//! byte for byte with `tests/golden/<vendor>/`.
//!
//! The simulators are seeded and their clock is fixed, so a report over them must come out the
//! same every time; a diff here means either the report's output or a simulator's data changed.
//! If the change is intended, regenerate the files and review the diff in git:
//!
//! ```text
//! GOLDEN_UPDATE=1 cargo test --test it report_golden
//! ```
//!
//! Bytes alone would only prove "unchanged", so each vendor also checks a few numbers against
//! its simulator's own `World`.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use backup_exporter::clock::Clock;
use backup_exporter::config::Settings;
use backup_exporter::model::Vendor;
use backup_exporter::report::progress::Mode;
use backup_exporter::report::{Env, ReportArgs, Source, run_with};
use backup_exporter::sim::{SimContext, SimServer};
use jiff::{SignedDuration, Timestamp};

const SEED: u64 = 7;
const OBJECTS: usize = 12;
const MONTH: &str = "2026-02";
const FILES: [&str; 4] = ["compliance", "summary", "jobs", "audit"];

fn now() -> Timestamp {
    "2026-03-05T12:00:00Z".parse().unwrap()
}

/// The report's period, `[from, to)`.
fn period() -> (Timestamp, Timestamp) {
    (
        "2026-02-01T00:00:00Z".parse().unwrap(),
        "2026-03-01T00:00:00Z".parse().unwrap(),
    )
}

fn in_period(t: Timestamp) -> bool {
    let (from, to) = period();
    t >= from && t < to
}

fn sim_context() -> SimContext {
    SimContext {
        clock: Clock::manual(now()),
        ..SimContext::new(SEED, OBJECTS)
    }
}

/// One report over one vendor's demo targets: the four files by their short name.
struct Report {
    files: HashMap<&'static str, Vec<u8>>,
}

impl Report {
    fn rows(&self, file: &str) -> Vec<HashMap<String, String>> {
        let mut r = csv::Reader::from_reader(self.files[file].as_slice());
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

    /// The compliance row of one object of one target.
    fn row(&self, target: &str, object_id: &str) -> HashMap<String, String> {
        let mut rows: Vec<_> = self
            .rows("compliance")
            .into_iter()
            .filter(|r| r["target"] == target && r["object_id"] == object_id)
            .collect();
        assert_eq!(rows.len(), 1, "{target}/{object_id}: one compliance row");
        rows.remove(0)
    }

    /// The job ids the jobs CSV lists for one object of one target.
    fn job_ids(&self, target: &str, object_id: &str) -> BTreeSet<String> {
        self.rows("jobs")
            .into_iter()
            .filter(|r| r["target"] == target && r["object_id"] == object_id)
            .map(|r| r["job_id"].clone())
            .collect()
    }

    /// What every vendor's demo plants: `test-*` objects are excluded by the demo's rule.
    fn assert_test_objects_excluded(&self) {
        let rows = self.rows("compliance");
        let tests: Vec<_> = rows
            .iter()
            .filter(|r| r["object"].starts_with("test-"))
            .collect();
        assert!(!tests.is_empty(), "the demo plants test-* objects");
        for r in tests {
            assert_eq!(
                (r["status"].as_str(), r["reason"].as_str()),
                ("excluded", "test systems"),
                "{}",
                r["object"]
            );
        }
    }

    fn assert_never_succeeded(&self, target: &str, object_id: &str) {
        let r = self.row(target, object_id);
        assert_eq!(
            (
                r["status"].as_str(),
                r["reason"].as_str(),
                r["last_success"].as_str()
            ),
            ("non_compliant", "never succeeded", ""),
            "{target}/{object_id}"
        );
    }
}

/// Starts the simulators, writes the demo config and runs the report for `vendor`'s targets.
async fn report(vendor: Vendor) -> Report {
    let server = SimServer::start(
        "127.0.0.1:0",
        sim_context(),
        backup_exporter::vendors::simulators(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let yaml = server
        .demo_config(&dir.path().join("secrets"), None)
        .unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(&config, &yaml).unwrap();
    let settings = Settings::parse(&yaml, &config).unwrap();
    let targets: Vec<String> = settings
        .targets
        .iter()
        .filter(|t| t.vendor == vendor)
        .map(|t| t.name.clone())
        .collect();
    assert!(!targets.is_empty(), "the demo has {vendor:?} targets");
    let out = dir.path().join("out");
    let args = ReportArgs {
        config,
        month: Some(MONTH.parse().unwrap()),
        from: None,
        to: None,
        out: out.clone(),
        targets,
        keep_going: false,
        source: Source::Api,
        prometheus_url: None,
        evidence: Default::default(),
    };
    let env = Env {
        clock: Clock::manual(now()),
        progress: Mode::Quiet,
        ..Env::default()
    };
    run_with(&args, &env)
        .await
        .unwrap_or_else(|e| panic!("{vendor:?}: {e}"));
    let files = FILES
        .iter()
        .map(|f| {
            (
                *f,
                std::fs::read(out.join(format!("{f}-{MONTH}.csv"))).unwrap(),
            )
        })
        .collect();
    Report { files }
}

fn golden_dir(vendor: Vendor) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(vendor.as_str())
}

/// Runs the report twice (the second run must give the same bytes), then compares with the
/// golden files or, with `GOLDEN_UPDATE` set, rewrites them.
async fn golden(vendor: Vendor) -> Report {
    let first = report(vendor).await;
    let second = report(vendor).await;
    for f in FILES {
        assert!(
            first.files[f] == second.files[f],
            "{vendor:?} {f}: two runs over the same simulator month differ"
        );
    }
    let dir = golden_dir(vendor);
    let update = std::env::var_os("GOLDEN_UPDATE").is_some_and(|v| !v.is_empty() && v != "0");
    if update {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for f in FILES {
        let path = dir.join(format!("{f}-{MONTH}.csv"));
        if update {
            std::fs::write(&path, &first.files[f]).unwrap();
            continue;
        }
        let want = std::fs::read(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run with GOLDEN_UPDATE=1 to create it",
                path.display()
            )
        });
        if want != first.files[f] {
            let got = String::from_utf8_lossy(&first.files[f]);
            let want = String::from_utf8_lossy(&want);
            let line = got
                .lines()
                .zip(want.lines())
                .position(|(g, w)| g != w)
                .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
            panic!(
                "{} differs from this run at line {}:\n  golden: {:?}\n  now:    {:?}\n\
                 (GOLDEN_UPDATE=1 rewrites the golden files; review the diff)",
                path.display(),
                line + 1,
                want.lines().nth(line),
                got.lines().nth(line),
            );
        }
    }
    first
}

#[tokio::test]
async fn cloutility_month_matches_its_golden_files() {
    golden(Vendor::Cloutility).await;
}

#[tokio::test]
async fn backupdr_month_matches_its_golden_files() {
    golden(Vendor::Backupdr).await;
}

#[tokio::test]
async fn cloudtower_month_matches_its_golden_files() {
    golden(Vendor::Cloudtower).await;
}

#[tokio::test]
async fn cloudsync_month_matches_its_golden_files() {
    golden(Vendor::Cloudsync).await;
}

#[tokio::test]
async fn clumio_month_matches_its_golden_files() {
    golden(Vendor::Clumio).await;
}

fn assert_same_jobs(report: &Report, target: &str, object_id: &str, want: BTreeSet<String>) {
    assert!(!want.is_empty(), "{target}/{object_id} ran in the period");
    assert_eq!(
        report.job_ids(target, object_id),
        want,
        "{target}/{object_id}"
    );
    assert_eq!(
        report.row(target, object_id)["jobs_total"],
        report
            .rows("jobs")
            .iter()
            .filter(|r| r["object_id"] == object_id && r["target"] == target)
            .filter(|r| r["kind"] == "backup")
            .count()
            .to_string(),
        "{target}/{object_id}: jobs_total counts the backups of the jobs file"
    );
}

#[tokio::test]
async fn cloutility_month_agrees_with_the_simulated_world() {
    use backup_exporter::vendors::cloutility::sim::data::{Plant, World};
    let report = report(Vendor::Cloutility).await;
    let world = World::new(SEED, OBJECTS, now());
    let never = world
        .consumers
        .iter()
        .find(|c| c.plant == Plant::NeverSucceeded)
        .unwrap();
    report.assert_never_succeeded("cloutility-demo", &never.id.to_string());
    report.assert_test_objects_excluded();
    let (from, to) = period();
    let ordinary = world
        .consumers
        .iter()
        .find(|c| c.plant == Plant::Ordinary && c.node.is_some() && !c.name.starts_with("test-"))
        .unwrap();
    let want = world
        .jobs(ordinary.id, from, to, now())
        .iter()
        .filter(|j| in_period(j.time()))
        .map(|j| j.id.to_string())
        .collect();
    assert_same_jobs(&report, "cloutility-demo", &ordinary.id.to_string(), want);
}

#[tokio::test]
async fn backupdr_month_agrees_with_the_simulated_world() {
    use backup_exporter::vendors::backupdr::sim::data::{Trouble, World};
    let report = report(Vendor::Backupdr).await;
    let world = World::new(SEED, OBJECTS, now());
    let never = world
        .apps
        .iter()
        .find(|a| a.trouble == Trouble::NeverSucceeds)
        .unwrap();
    report.assert_never_succeeded("backupdr-demo", &never.id);
    report.assert_test_objects_excluded();
    let (from, to) = period();
    let app = world
        .apps
        .iter()
        .find(|a| a.trouble == Trouble::None && a.protected() && !a.name.starts_with("test-"))
        .unwrap();
    let want = world
        .jobs(
            now(),
            from - SignedDuration::from_hours(24),
            to,
            Some(app.index),
        )
        .iter()
        .filter(|j| in_period(if j.ended() { j.end } else { j.start }))
        .map(|j| j.id())
        .collect();
    assert_same_jobs(&report, "backupdr-demo", &app.id, want);
}

#[tokio::test]
async fn clumio_month_agrees_with_the_simulated_world() {
    use backup_exporter::vendors::clumio::sim::data::{World, planted};
    let report = report(Vendor::Clumio).await;
    let world = World::new(SEED, OBJECTS, now().as_second());
    report.assert_never_succeeded("clumio-demo", &world.assets[planted::NEVER_SUCCEEDED].id);
    report.assert_test_objects_excluded();
    let (from, to) = period();
    let failing = &world.assets[planted::FAILING];
    let want = world
        .tasks(
            from.as_second() - 31 * 86_400,
            to.as_second(),
            now().as_second(),
        )
        .iter()
        .filter(|t| t.asset == Some(failing.index))
        .filter(|t| {
            t.end
                .or(t.start)
                .is_some_and(|s| in_period(Timestamp::from_second(s).unwrap()))
        })
        .map(|t| t.id.to_string())
        .collect();
    assert_same_jobs(&report, "clumio-demo", &failing.id, want);
}

#[tokio::test]
async fn cloudtower_month_agrees_with_the_simulated_world() {
    use backup_exporter::vendors::cloudtower::sim::{Role, Scope, Tower, World};
    let report = report(Vendor::Cloudtower).await;
    let world = World::new(SEED, OBJECTS, now().as_second());
    let never = world
        .vms
        .iter()
        .find(|v| v.role == Role::NeverSucceeded)
        .unwrap();
    report.assert_never_succeeded("cloudtower-demo", &never.id);
    report.assert_test_objects_excluded();
    let (from, to) = period();
    let jobs = world.expected_jobs(now(), from, Some(to), Tower::Current, &Scope::all());
    // The VM with the most jobs in the period, so that it has several kinds of them.
    let mut per_object: HashMap<&str, BTreeSet<String>> = HashMap::new();
    for j in jobs.iter().filter(|j| j.time().is_some_and(in_period)) {
        per_object
            .entry(j.object_id.as_str())
            .or_default()
            .insert(j.id.clone());
    }
    let (object, want) = per_object
        .into_iter()
        .max_by_key(|(id, ids)| (ids.len(), id.to_string()))
        .unwrap();
    assert_same_jobs(&report, "cloudtower-demo", object, want);
}

/// Cloud Sync keeps only each relationship's latest activity, so a past month has no job
/// history: every protected relationship is `no_data`, and the jobs file is empty.
#[tokio::test]
async fn cloudsync_month_is_no_data_but_names_every_relationship() {
    use backup_exporter::vendors::cloudsync::sim::data::World;
    let report = report(Vendor::Cloudsync).await;
    let world = World::new(SEED, OBJECTS, now());
    report.assert_test_objects_excluded();
    assert!(report.rows("jobs").is_empty());
    let rows = report.rows("compliance");
    let listed: BTreeSet<&str> = rows.iter().map(|r| r["object_id"].as_str()).collect();
    // A relationship created after the period is not part of it.
    let (_, to) = period();
    let want: BTreeSet<&str> = world
        .relationships
        .iter()
        .filter(|r| r.created < to)
        .map(|r| r.id.as_str())
        .collect();
    assert!(want.len() < world.relationships.len(), "one is planted new");
    assert_eq!(listed, want);
    for r in &rows {
        assert!(
            ["no_data", "excluded", "unprotected"].contains(&r["status"].as_str()),
            "{r:?}"
        );
        if r["status"] == "no_data" {
            assert_eq!(
                (
                    r["max_gap_seconds"].as_str(),
                    r["rpo_breach_count"].as_str()
                ),
                ("", ""),
                "a month the vendor no longer shows is no breach: {r:?}"
            );
        }
    }
    assert!(
        rows.iter()
            .any(|r| r["status"] == "no_data"
                && r["reason"].starts_with("history is only known from"))
    );
}
