//! The per-object facts of `/metrics` and of the compliance report come from one function
//! (`backup_exporter::facts`): the same jobs fed through the serve path (the target state)
//! and the report path (`rows_from_history`) give the same last success, last attempt, last
//! result and consecutive failures, whatever the order and ties of the vendor's listing.

use std::path::Path;
use std::time::Duration;

use backup_exporter::adapter::{Collection, History, Period, VendorError};
use backup_exporter::config::{Compliance, Settings};
use backup_exporter::model::{Job, JobKind, JobResult, Object, Vendor};
use backup_exporter::report::api_source::rows_from_history;
use backup_exporter::report::compliance::Scope;
use backup_exporter::state::TargetState;
use jiff::Timestamp;

const T0: i64 = 1_800_000_000;

fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap()
}

fn job(id: &str, obj: &str, kind: JobKind, result: JobResult, end: i64) -> Job {
    Job {
        id: id.into(),
        object_id: obj.into(),
        kind,
        result,
        vendor_status: format!("{result:?}"),
        start: Some(ts(end - 60)),
        end: (result != JobResult::Running).then(|| ts(end)),
        duration: None,
        transferred_bytes: Some(1),
        error_code: None,
        error_message: None,
    }
}

fn object(id: &str) -> Object {
    Object {
        id: id.into(),
        name: id.into(),
        object_type: "vm".into(),
        tenant: "T".into(),
        protected: true,
        created: Some(ts(T0 - 90 * 86_400)),
        ..Default::default()
    }
}

#[test]
fn serve_and_report_derive_the_same_facts() {
    use JobKind::*;
    use JobResult::*;
    let h = 3600;
    let objects = vec![object("a"), object("b"), object("c"), object("d")];
    // Listed out of order, with a tie at one time (decided by id), cancelled and missed runs,
    // a running job, a restore (not protection) and a warning.
    let jobs = vec![
        job("a3", "a", Backup, Failed, T0 - 2 * h),
        job("a1", "a", Backup, Success, T0 - 10 * h),
        job("a4", "a", Backup, Cancelled, T0 - h),
        job("a2", "a", Backup, Missed, T0 - 5 * h),
        job("a5", "a", Restore, Success, T0 - 30),
        job("b2", "b", Backup, Success, T0 - 3 * h),
        job("b1", "b", Backup, Failed, T0 - 3 * h),
        job("b3", "b", Backup, Running, T0),
        job("c1", "c", Sync, Warning, T0 - 4 * h),
        job("c2", "c", Sync, Failed, T0 - 4 * h + 1),
        job("d1", "d", Backup, Failed, T0 - 7 * h),
        job("d2", "d", Backup, Failed, T0 - 6 * h),
    ];

    for strict in [false, true] {
        let compliance = Compliance {
            strict_warnings: strict,
            ..Compliance::default()
        };
        // Serve path.
        let settings = Settings::parse(
            "targets:\n  - {name: t, vendor: cloutility, url: \"http://x\", client_id: c, origin: \"http://o\", username: u, password_env: P, lookback: 30d}\n",
            Path::new("t.yml"),
        )
        .unwrap();
        let mut state = TargetState::new(settings.targets[0].clone(), compliance.clone());
        let view = state.apply(
            Collection {
                inventory: Ok(objects.clone()),
                jobs: Ok(jobs.clone()),
                warnings: Ok(vec![]),
                audit: Ok(vec![]),
                storage: Err(VendorError::Unsupported("none".into())),
                skipped: vec![],
            },
            ts(T0),
            Duration::from_secs(1),
        );
        // Report path, for a period that ends now.
        let scope = Scope {
            period: Period {
                from: ts(T0 - 86_400),
                to: ts(T0),
            },
            now: ts(T0),
            rules: &compliance,
        };
        let rows = rows_from_history(
            Vendor::Cloutility,
            "t",
            History {
                objects: objects.clone(),
                jobs: jobs.clone(),
                audit: vec![],
                skipped: vec![],
            },
            &scope,
        );
        for o in &view.objects {
            let f = o.facts.as_ref().expect("jobs are known");
            let row = rows
                .compliance
                .iter()
                .find(|r| r.object_id == o.object.id)
                .expect("a row per object");
            let ctx = format!("object {} strict={strict}", o.object.id);
            assert_eq!(row.last_success, f.last_success, "{ctx}: last success");
            assert_eq!(row.last_attempt, f.last_attempt, "{ctx}: last attempt");
            assert_eq!(row.last_result, f.last_result, "{ctx}: last result");
        }
        let a = view.objects.iter().find(|o| o.object.id == "a").unwrap();
        let fa = a.facts.as_ref().unwrap();
        assert_eq!(
            fa.consecutive_failures, 2,
            "missed and failed count, cancelled not"
        );
        assert_eq!(fa.last_result, Some(Cancelled));
        let b = view.objects.iter().find(|o| o.object.id == "b").unwrap();
        assert_eq!(
            b.facts.as_ref().unwrap().last_result,
            Some(Success),
            "a tie at one time is decided by id: b2 after b1"
        );
        let c = view.objects.iter().find(|o| o.object.id == "c").unwrap();
        assert_eq!(
            c.facts.as_ref().unwrap().last_success.is_some(),
            !strict,
            "a warning is a success unless strict"
        );
    }
}
