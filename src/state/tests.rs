use super::*;
use crate::config::Settings;
use std::path::Path;

fn settings() -> TargetSettings {
    let s = Settings::parse(
        "targets:\n  - {name: t, vendor: cloutility, url: \"http://x\", client_id: c, origin: \"http://o\", username: u, password_env: P, lookback: 1h}\n",
        Path::new("t.yml"),
    )
    .unwrap();
    s.targets[0].clone()
}

fn ts(s: i64) -> Timestamp {
    Timestamp::from_second(s).unwrap()
}

fn object(id: &str, tenant: &str) -> Object {
    Object {
        id: id.into(),
        name: format!("name-{id}"),
        object_type: "node".into(),
        tenant: tenant.into(),
        protected: true,
        ..Default::default()
    }
}

fn job(id: &str, obj: &str, result: JobResult, end: i64, bytes: u64) -> Job {
    Job {
        id: id.into(),
        object_id: obj.into(),
        kind: JobKind::Backup,
        result,
        vendor_status: "x".into(),
        start: Some(ts(end - 10)),
        end: (result != JobResult::Running).then(|| ts(end)),
        duration: None,
        transferred_bytes: Some(bytes),
        error_code: None,
        error_message: None,
    }
}

fn collection(objects: Vec<Object>, jobs: Vec<Job>, audit: Vec<AuditEvent>) -> Collection {
    Collection {
        inventory: Ok(objects),
        jobs: Ok(jobs),
        warnings: Ok(vec![Warning {
            object_id: Some("a".into()),
            tenant: String::new(),
            severity: Severity::Warning,
            category: "no_activity".into(),
            message: "quiet".into(),
        }]),
        audit: Ok(audit),
        storage: Err(VendorError::Unsupported("no storage here".into())),
        skipped: Vec::new(),
    }
}

fn audit(id: &str, action: AuditAction, t: i64) -> AuditEvent {
    AuditEvent {
        id: id.into(),
        time: ts(t),
        tenant: "T1".into(),
        actor: "admin".into(),
        action,
        object: "x".into(),
        message: "m".into(),
    }
}

#[test]
fn history_present_at_first_refresh_is_not_counted_but_new_jobs_are_once() {
    let mut st = TargetState::new(settings(), Compliance::default());
    let objs = vec![object("a", "T1"), object("b", "T2")];
    let now = 10_000;
    let v = st.apply(
        collection(
            objs.clone(),
            vec![
                job("1", "a", JobResult::Success, now - 100, 5),
                job("2", "b", JobResult::Running, now - 50, 0),
            ],
            vec![audit("e1", AuditAction::Delete, now - 30)],
        ),
        ts(now),
        Duration::from_secs(1),
    );
    assert!(v.up, "unsupported storage does not make the target down");
    assert_eq!(
        v.jobs_total.values().sum::<u64>(),
        0,
        "history present at the first refresh is not counted"
    );
    assert_eq!(
        v.jobs_total[&("T1".to_owned(), JobKind::Backup, JobResult::Success)],
        0,
        "but its series start at 0"
    );
    assert_eq!(v.audit_total[&("T1".to_owned(), AuditAction::Delete)], 0);
    assert_eq!(
        v.audit_last[&("T1".to_owned(), AuditAction::Delete)],
        ts(now - 30)
    );
    assert_eq!(v.jobs_running[&("T2".to_owned(), JobKind::Backup)], 1);
    assert_eq!(
        v.jobs_window[&("T1".to_owned(), JobKind::Backup, JobResult::Success)],
        1
    );
    assert_eq!(
        v.warnings[&("T1".to_owned(), Severity::Warning, "no_activity".to_owned())],
        1,
        "a warning without tenant takes its object's"
    );

    // The running job finished, a new one failed; job 1 is seen again.
    let now2 = now + 60;
    let v = st.apply(
        collection(
            objs,
            vec![
                job("1", "a", JobResult::Success, now - 100, 5),
                job("2", "b", JobResult::Success, now2 - 5, 7),
                job("3", "zz", JobResult::Failed, now2 - 1, 0),
            ],
            vec![
                audit("e1", AuditAction::Delete, now - 30),
                audit("e2", AuditAction::Delete, now2 - 2),
            ],
        ),
        ts(now2),
        Duration::from_secs(1),
    );
    assert_eq!(
        v.jobs_total[&("T2".to_owned(), JobKind::Backup, JobResult::Success)],
        1
    );
    assert_eq!(
        v.jobs_total[&(
            UNKNOWN_TENANT.to_owned(),
            JobKind::Backup,
            JobResult::Failed
        )],
        1
    );
    assert_eq!(
        v.jobs_total[&("T1".to_owned(), JobKind::Backup, JobResult::Success)],
        0,
        "job 1 was history at the first refresh"
    );
    assert_eq!(v.transferred_total[&("T2".to_owned(), JobKind::Backup)], 7);
    assert_eq!(v.audit_total[&("T1".to_owned(), AuditAction::Delete)], 1);
    assert_eq!(
        v.audit_last[&("T1".to_owned(), AuditAction::Delete)],
        ts(now2 - 2)
    );
    assert!(v.jobs_running.is_empty());
}

#[test]
fn failed_collector_keeps_last_good_data_until_max_stale() {
    let mut st = TargetState::new(settings(), Compliance::default());
    let now = 100_000;
    st.apply(
        collection(
            vec![object("a", "T1")],
            vec![job("1", "a", JobResult::Success, now - 100, 5)],
            vec![],
        ),
        ts(now),
        Duration::from_secs(1),
    );
    let later = now + 600;
    let v = st.apply(
        Collection::failed(|| VendorError::Invalid("boom".into())),
        ts(later),
        Duration::from_secs(2),
    );
    assert!(!v.up);
    assert_eq!(v.objects.len(), 1, "last good inventory still there");
    assert_eq!(
        v.objects[0].facts.as_ref().unwrap().last_success,
        Some(ts(now - 100))
    );
    let inv = v.collector(CollectorKind::Inventory);
    assert_eq!(inv.status, CollectorStatus::Failed);
    assert_eq!(inv.last_success, Some(ts(now)));
    assert!(v.servable(CollectorKind::Inventory, ts(later)));
    // max_stale defaults to 30 minutes.
    assert!(!v.servable(CollectorKind::Inventory, ts(now + 1801)));
    assert!(v.last_error.as_deref().unwrap().contains("inventory: boom"));
}

#[test]
fn last_success_survives_leaving_the_window_and_hint_counts() {
    let mut st = TargetState::new(settings(), Compliance::default());
    let now = 100_000;
    let mut hinted = object("b", "T1");
    hinted.last_success_hint = Some(ts(5));
    st.apply(
        collection(
            vec![object("a", "T1"), hinted.clone()],
            vec![job("1", "a", JobResult::Success, now - 100, 5)],
            vec![],
        ),
        ts(now),
        Duration::from_secs(1),
    );
    let v = st.apply(
        collection(
            vec![object("a", "T1"), hinted],
            vec![job("2", "a", JobResult::Failed, now + 50, 0)],
            vec![],
        ),
        ts(now + 60),
        Duration::from_secs(1),
    );
    let a = v.objects.iter().find(|o| o.object.id == "a").unwrap();
    let f = a.facts.as_ref().unwrap();
    assert_eq!(f.last_success, Some(ts(now - 100)));
    assert_eq!(f.consecutive_failures, 1);
    let b = v.objects.iter().find(|o| o.object.id == "b").unwrap();
    assert_eq!(b.facts.as_ref().unwrap().last_success, Some(ts(5)));
    assert_eq!(a.rpo, Duration::from_secs(86_400));
}

fn refused(collector: CollectorKind, part: &'static str) -> SkippedPart {
    SkippedPart {
        collector,
        part,
        reason: format!("GET /{part}: HTTP 404 Not Found: not enabled"),
    }
}

#[test]
fn a_refused_part_is_kept_through_a_failed_refresh_and_cleared_when_read_again() {
    let mut st = TargetState::new(settings(), Compliance::default());
    let objs = vec![object("a", "T1")];
    let mut c = collection(objs.clone(), vec![], vec![]);
    c.skipped = vec![refused(CollectorKind::Inventory, "ec2_instances")];
    let v = st.apply(c, ts(1_000), Duration::from_secs(1));
    assert!(v.up, "a refused part does not take the target down");
    assert_eq!(v.objects.len(), 1, "the rest of the inventory is served");
    assert_eq!(
        v.skipped,
        vec![refused(CollectorKind::Inventory, "ec2_instances")]
    );

    // A transient failure of the inventory keeps what was known about it.
    let mut c = collection(objs.clone(), vec![], vec![]);
    c.inventory = Err(VendorError::Invalid("HTTP 503".into()));
    let v = st.apply(c, ts(2_000), Duration::from_secs(1));
    assert!(!v.up);
    assert_eq!(
        v.skipped.len(),
        1,
        "the refusal is remembered while the collector fails"
    );

    // The listing comes back: the part is no longer shown as refused.
    let v = st.apply(
        collection(objs, vec![], vec![]),
        ts(3_000),
        Duration::from_secs(1),
    );
    assert!(v.up);
    assert!(v.skipped.is_empty());
}

#[test]
fn refusal_means_403_or_404_on_a_data_request_only() {
    use crate::api::ApiError;
    use reqwest::StatusCode;
    let status = |s: StatusCode| {
        VendorError::Api(ApiError::Status {
            endpoint: "GET /x".into(),
            status: s,
            message: String::new(),
        })
    };
    assert!(crate::adapter::Skips::is_refusal(&status(
        StatusCode::FORBIDDEN
    )));
    assert!(crate::adapter::Skips::is_refusal(&status(
        StatusCode::NOT_FOUND
    )));
    assert!(!crate::adapter::Skips::is_refusal(&status(
        StatusCode::UNAUTHORIZED
    )));
    assert!(!crate::adapter::Skips::is_refusal(&status(
        StatusCode::SERVICE_UNAVAILABLE
    )));
    let login = VendorError::Api(ApiError::LoginRefused {
        endpoint: "POST /login".into(),
        status: StatusCode::FORBIDDEN,
        message: String::new(),
    });
    assert!(
        !crate::adapter::Skips::is_refusal(&login),
        "a refused login is a failure"
    );

    let skips = crate::adapter::Skips::default();
    let r: Result<Vec<u8>, _> = skips.or_empty(
        CollectorKind::Inventory,
        "rds",
        Err(status(StatusCode::NOT_FOUND)),
    );
    assert_eq!(r.unwrap(), Vec::<u8>::new());
    let r: Result<Vec<u8>, _> = skips.or_empty(
        CollectorKind::Inventory,
        "ec2",
        Err(status(StatusCode::BAD_GATEWAY)),
    );
    assert!(r.is_err(), "a 5xx still fails the collector");
    let taken = skips.take();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].part, "rds");
    assert!(skips.take().is_empty());
}

#[test]
fn a_failed_jobs_collector_counts_the_last_list_as_if_it_were_read_again() {
    // The state keeps a compact form of the last good job list, not the jobs: the windows
    // and facts it derives from it must be those of the list itself, at every later `now`,
    // with tenants as the inventory of that refresh says.
    let now = 100_000;
    let jobs = vec![
        job("1", "a", JobResult::Success, now - 100, 5),
        job("2", "b", JobResult::Running, now - 50, 0),
        job("3", "a", JobResult::Failed, now - 3_000, 0),
        job("4", "a", JobResult::Failed, now - 20, 0),
        job("5", "zz", JobResult::Missed, now - 10, 0),
    ];
    let moved = vec![object("a", "T3"), object("b", "T2")];
    let later = now + 1_000;

    let mut kept = TargetState::new(settings(), Compliance::default());
    kept.apply(
        collection(
            vec![object("a", "T1"), object("b", "T2")],
            jobs.clone(),
            vec![],
        ),
        ts(now),
        Duration::from_secs(1),
    );
    let mut c = collection(moved.clone(), vec![], vec![]);
    c.jobs = Err(VendorError::Invalid("HTTP 503".into()));
    let v = kept.apply(c, ts(later), Duration::from_secs(1));

    let mut fresh = TargetState::new(settings(), Compliance::default());
    let w = fresh.apply(
        collection(moved, jobs, vec![]),
        ts(later),
        Duration::from_secs(1),
    );

    assert_eq!(
        v.collector(CollectorKind::Jobs).status,
        CollectorStatus::Failed
    );
    assert_eq!(v.jobs_window, w.jobs_window);
    assert_eq!(v.jobs_running, w.jobs_running);
    assert_eq!(
        v.jobs_window[&("T3".to_owned(), JobKind::Backup, JobResult::Success)],
        1,
        "the object's tenant of this refresh"
    );
    assert_eq!(
        v.jobs_window[&("T3".to_owned(), JobKind::Backup, JobResult::Failed)],
        1,
        "job 4 only: job 3 left the window as time went on"
    );
    assert_eq!(
        v.jobs_window[&(
            UNKNOWN_TENANT.to_owned(),
            JobKind::Backup,
            JobResult::Missed
        )],
        1
    );
    assert_eq!(v.jobs_running[&("T2".to_owned(), JobKind::Backup)], 1);
    let facts = |v: &TargetView, id: &str| {
        v.objects
            .iter()
            .find(|o| o.object.id == id)
            .and_then(|o| o.facts.clone())
            .unwrap()
    };
    assert_eq!(facts(&v, "a"), facts(&w, "a"));
    assert_eq!(facts(&v, "a").last_success, Some(ts(now - 100)));
    assert_eq!(facts(&v, "a").consecutive_failures, 1);
    assert_eq!(facts(&v, "b"), ObjectFacts::default(), "only a running job");
}
