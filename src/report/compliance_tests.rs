use glob::Pattern;

use super::*;
use crate::config::{Rule, RuleMatch};
use crate::model::JobKind;

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn month(from: &str, to: &str) -> Period {
    Period {
        from: ts(from),
        to: ts(to),
    }
}

const DAY: i64 = 86_400;

fn object(name: &str) -> Object {
    Object {
        id: format!("id-{name}"),
        name: name.into(),
        object_type: "vm".into(),
        tenant: "Finance".into(),
        policy: "daily".into(),
        protected: true,
        ..Default::default()
    }
}

/// A run of `kind` with `result` ending at `end` (a missed run has only its scheduled start).
fn job(n: u32, end: Timestamp, result: JobResult) -> Job {
    let start = end - SignedDuration::from_mins(30);
    Job {
        id: format!("job-{n:04}"),
        object_id: "x".into(),
        kind: JobKind::Backup,
        result,
        vendor_status: result.as_str().to_uppercase(),
        start: Some(start),
        end: match result {
            JobResult::Missed | JobResult::Running => None,
            _ => Some(end),
        },
        duration: None,
        transferred_bytes: Some(1000),
        error_code: None,
        error_message: None,
    }
}

/// One successful run a day at 01:00 from `first` for `days` days.
fn daily(first: &str, days: i64, result: JobResult) -> Vec<Job> {
    (0..days)
        .map(|d| {
            job(
                d as u32,
                ts(first) + SignedDuration::from_secs(d * DAY),
                result,
            )
        })
        .collect()
}

fn rules() -> Compliance {
    Compliance::default() // rpo 24h, grace 30d, warnings count
}

fn eval_with(
    o: &Object,
    jobs: &[Job],
    period: Period,
    now: &str,
    rules: &Compliance,
) -> ComplianceRow {
    let scope = Scope {
        period,
        now: ts(now),
        rules,
    };
    let ev = Evidence::from_jobs(jobs, o, period, rules.strict_warnings);
    evaluate(Vendor::Cloudtower, "t1", o, &ev, &scope)
}

fn eval(o: &Object, jobs: &[Job], period: Period) -> ComplianceRow {
    eval_with(o, jobs, period, "2030-01-01T00:00:00Z", &rules())
}

fn first_gap(o: &Object, jobs: &[Job], period: Period) -> i64 {
    let rules = rules();
    let scope = Scope {
        period,
        now: ts("2030-01-01T00:00:00Z"),
        rules: &rules,
    };
    let ev = Evidence::from_jobs(jobs, o, period, false);
    gaps(&ev.successes, o.created, &scope)[0].as_secs()
}

fn secs(d: Option<SignedDuration>) -> i64 {
    d.unwrap().as_secs()
}

#[test]
fn daily_backups_through_months_of_28_30_and_31_days_are_compliant() {
    for (from, to, days) in [
        ("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", 28),
        ("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z", 30),
        ("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z", 31),
    ] {
        let p = month(from, to);
        // A success the evening before, then one every day at 20:00.
        let first = p.from - SignedDuration::from_hours(4);
        let jobs: Vec<Job> = (0..=days)
            .map(|d| {
                job(
                    d as u32,
                    first + SignedDuration::from_secs(d * DAY),
                    JobResult::Success,
                )
            })
            .collect();
        let r = eval(&object("web"), &jobs, p);
        assert_eq!(r.status, Status::Compliant, "{days} days: {}", r.reason);
        assert_eq!(r.reason, "");
        let c = r.counts.unwrap();
        // The run of the evening before the period is not counted in it.
        assert_eq!(c.total, days as u64, "{days} days");
        assert_eq!(c.succeeded, days as u64);
        assert_eq!(r.success_ratio(), Some(1.0));
        assert_eq!(secs(r.max_gap), DAY, "{days} days");
        assert_eq!(r.breach_count, Some(0));
        assert_eq!(r.transferred_bytes, Some(1000 * days as u64));
        assert_eq!(
            r.last_success,
            Some(first + SignedDuration::from_secs(days * DAY))
        );
    }
}

#[test]
fn a_missing_day_is_one_breach_of_a_day() {
    let p = month("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z");
    let mut jobs = daily("2026-03-31T22:00:00Z", 31, JobResult::Success);
    jobs[10].result = JobResult::Failed;
    jobs[10].end = Some(ts("2026-04-10T22:00:00Z"));
    let r = eval(&object("db"), &jobs, p);
    assert_eq!(r.status, Status::NonCompliant);
    assert_eq!(secs(r.max_gap), 2 * DAY);
    assert_eq!(r.breach_count, Some(1));
    assert_eq!(secs(r.breach), DAY);
    assert_eq!(r.counts.unwrap().failed, 1);
    assert_eq!(r.success, Some((29, 30)));
    assert!(
        r.reason
            .starts_with("1 gap longer than the RPO of 1day; longest 2days"),
        "{}",
        r.reason
    );
}

#[test]
fn an_object_created_mid_month_is_measured_from_its_creation() {
    let p = month("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z");
    let mut o = object("new-vm");
    o.created = Some(ts("2026-04-20T12:00:00Z"));
    let jobs = daily("2026-04-21T01:00:00Z", 10, JobResult::Success);
    let r = eval(&o, &jobs, p);
    // Created 10.5 days before the end, no gap over 24 h: new, not a breach from April 1.
    assert_eq!(r.status, Status::New, "{}", r.reason);
    assert!(r.reason.contains("2026-04-20T12:00:00Z"), "{}", r.reason);
    // Measured from creation (13 h to the first success), not from April 1 (20 days).
    assert_eq!(first_gap(&o, &jobs, p), 13 * 3600);
    assert_eq!(secs(r.max_gap), DAY);
    assert_eq!(r.breach_count, Some(0));

    // The same object in a short grace is judged like any other, from its creation.
    let mut short = rules();
    short.new_object_grace = Duration::from_secs(DAY as u64);
    let r = eval_with(&o, &jobs, p, "2030-01-01T00:00:00Z", &short);
    assert_eq!(r.status, Status::Compliant, "{}", r.reason);
}

#[test]
fn a_new_object_with_a_breach_is_non_compliant() {
    let p = month("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z");
    let mut o = object("new-vm");
    o.created = Some(ts("2026-04-20T12:00:00Z"));
    let jobs = daily("2026-04-25T01:00:00Z", 5, JobResult::Success);
    let r = eval(&o, &jobs, p);
    assert_eq!(r.status, Status::NonCompliant);
    assert_eq!(secs(r.max_gap), 4 * DAY + 13 * 3600);
}

#[test]
fn an_object_that_never_succeeded_has_one_gap_over_the_whole_period() {
    let p = month("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z");
    let jobs = daily("2026-02-01T01:00:00Z", 28, JobResult::Failed);
    let r = eval(&object("broken"), &jobs, p);
    assert_eq!(r.status, Status::NonCompliant);
    assert_eq!(r.reason, "never succeeded");
    assert_eq!(secs(r.max_gap), 28 * DAY);
    assert_eq!(r.breach_count, Some(1));
    assert_eq!(secs(r.breach), 27 * DAY);
    assert_eq!(r.last_success, None);
    assert_eq!(r.last_result, Some(JobResult::Failed));
    assert_eq!(r.last_attempt, Some(ts("2026-02-28T01:00:00Z")));
    assert_eq!(r.success, Some((0, 28)));
}

#[test]
fn an_excluded_object_says_why_and_keeps_its_numbers() {
    let p = month("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z");
    let mut c = rules();
    c.rules.push(Rule {
        matcher: RuleMatch {
            object: Some(Pattern::new("test-*").unwrap()),
            ..Default::default()
        },
        rpo: None,
        restore_test_interval: None,
        exclude: Some("test systems".into()),
    });
    let r = eval_with(&object("test-web"), &[], p, "2030-01-01T00:00:00Z", &c);
    assert_eq!(r.status, Status::Excluded);
    assert_eq!(r.reason, "test systems");
    assert_eq!(r.counts.unwrap().total, 0);
    assert_eq!(r.success_ratio(), None);
    let r = eval_with(&object("prod-web"), &[], p, "2030-01-01T00:00:00Z", &c);
    assert_eq!(r.status, Status::NonCompliant);
}

#[test]
fn an_unprotected_object_is_reported_as_such() {
    let p = month("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z");
    let mut o = object("loose");
    o.protected = false;
    o.policy = String::new();
    let r = eval(&o, &[], p);
    assert_eq!(r.status, Status::Unprotected);
    assert_eq!(r.reason, "no active backup policy");
}

#[test]
fn warnings_count_as_success_unless_strict() {
    let p = month("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z");
    let jobs = daily("2026-03-31T22:00:00Z", 31, JobResult::Warning);
    let r = eval(&object("warny"), &jobs, p);
    assert_eq!(r.status, Status::Compliant);
    assert_eq!(r.counts.unwrap().warning, 30);
    assert_eq!(r.success, Some((30, 30)));

    let strict = Compliance {
        strict_warnings: true,
        ..rules()
    };
    let r = eval_with(&object("warny"), &jobs, p, "2030-01-01T00:00:00Z", &strict);
    assert_eq!(r.status, Status::NonCompliant);
    assert_eq!(r.reason, "never succeeded");
    assert_eq!(r.success, Some((0, 30)));
    assert_eq!(r.success_ratio(), Some(0.0));
    assert_eq!(secs(r.max_gap), 30 * DAY);
    assert_eq!(r.last_result, Some(JobResult::Warning));
}

#[test]
fn a_success_just_before_the_period_starts_the_first_gap() {
    let p = month("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z");
    // Last success 23:00 on March 31, next one 22:00 on April 1: a 23 h gap, no breach.
    let mut jobs = vec![job(0, ts("2026-03-31T23:00:00Z"), JobResult::Success)];
    jobs.extend(daily("2026-04-01T22:00:00Z", 30, JobResult::Success));
    let r = eval(&object("edge"), &jobs, p);
    assert_eq!(r.status, Status::Compliant, "{}", r.reason);
    assert_eq!(first_gap(&object("edge"), &jobs, p), 23 * 3600);

    // Without it, the first gap runs from the period start: 22 h, still fine.
    assert_eq!(first_gap(&object("edge"), &jobs[1..], p), 22 * 3600);

    // A success a week before the period makes the first gap a week and a day long.
    let mut late = vec![job(0, ts("2026-03-24T22:00:00Z"), JobResult::Success)];
    late.extend(daily("2026-04-01T22:00:00Z", 30, JobResult::Success));
    let r = eval(&object("edge"), &late, p);
    assert_eq!(r.status, Status::NonCompliant);
    assert_eq!(secs(r.max_gap), 8 * DAY);
    assert_eq!(secs(r.breach), 7 * DAY);
}

#[test]
fn a_period_that_ends_in_the_future_is_measured_up_to_now() {
    let p = month("2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z");
    let jobs = daily("2026-05-31T22:00:00Z", 10, JobResult::Success); // last: June 9 22:00
    let r = eval_with(&object("now"), &jobs, p, "2026-06-10T10:00:00Z", &rules());
    assert_eq!(r.status, Status::Compliant, "{}", r.reason);
    assert_eq!(secs(r.max_gap), DAY);
    // Two days later with no new success, the open gap to now is a breach.
    let r = eval_with(&object("now"), &jobs, p, "2026-06-12T10:00:00Z", &rules());
    assert_eq!(r.status, Status::NonCompliant);
    assert_eq!(secs(r.max_gap), 2 * DAY + 12 * 3600);
    assert_eq!(secs(r.breach), DAY + 12 * 3600);
}

#[test]
fn cancelled_runs_neither_count_as_failures_nor_reset_them() {
    let p = month("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z");
    let mut jobs = daily("2026-03-31T22:00:00Z", 26, JobResult::Success);
    for (n, (day, result)) in [
        (27, JobResult::Failed),
        (28, JobResult::Cancelled),
        (29, JobResult::Missed),
        (30, JobResult::Cancelled),
    ]
    .into_iter()
    .enumerate()
    {
        jobs.push(job(
            100 + n as u32,
            ts("2026-04-01T22:00:00Z") + SignedDuration::from_secs((day - 2) * DAY),
            result,
        ));
    }
    let ev = Evidence::from_jobs(&jobs, &object("x"), p, false);
    assert_eq!(ev.consecutive_failures, Some(2));
    assert_eq!(ev.last_attempt.unwrap().result, Some(JobResult::Cancelled));
    let r = eval(&object("x"), &jobs, p);
    assert_eq!(r.status, Status::NonCompliant);
    assert!(
        r.reason
            .ends_with("; 2 failed attempts since the last success"),
        "{}",
        r.reason
    );
    let c = r.counts.unwrap();
    assert_eq!((c.cancelled, c.missed, c.failed), (2, 1, 1));
    // Cancelled runs are finished but not successes: 25 of 29.
    assert_eq!(r.success, Some((25, 29)));
}

#[test]
fn running_jobs_are_counted_but_not_in_the_ratio() {
    let p = month("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z");
    let mut jobs = daily("2026-03-31T22:00:00Z", 31, JobResult::Success);
    jobs.push(job(999, ts("2026-04-30T23:00:00Z"), JobResult::Running));
    let r = eval(&object("busy"), &jobs, p);
    let c = r.counts.unwrap();
    assert_eq!((c.total, c.running), (31, 1));
    assert_eq!(r.success, Some((30, 30)));
    // The running job is not the last attempt.
    assert_eq!(r.last_result, Some(JobResult::Success));
}

#[test]
fn only_protection_jobs_count() {
    let p = month("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z");
    let mut jobs = daily("2026-03-31T22:00:00Z", 31, JobResult::Success);
    let mut restore = job(500, ts("2026-04-15T12:00:00Z"), JobResult::Failed);
    restore.kind = JobKind::Restore;
    jobs.push(restore);
    let r = eval(&object("x"), &jobs, p);
    assert_eq!(r.counts.unwrap().total, 30);
    assert_eq!(r.last_result, Some(JobResult::Success));
}

#[test]
fn hidden_history_is_no_data_and_the_vendor_hint_is_a_success() {
    let p = month("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z");
    let mut o = object("old");
    o.created = Some(ts("2025-01-01T00:00:00Z"));
    o.history_start = Some(ts("2026-04-20T00:00:00Z"));
    let jobs = daily("2026-04-20T22:00:00Z", 10, JobResult::Success);
    let r = eval(&o, &jobs, p);
    assert_eq!(r.status, Status::NoData);
    assert!(r.reason.contains("2026-04-20T00:00:00Z"), "{}", r.reason);
    assert_eq!(
        (r.max_gap, r.breach_count, r.breach),
        (None, None, None),
        "the gap before the history starts is unknown, not a breach"
    );

    // History that starts before the period hides nothing; the hint closes the first gap.
    o.history_start = Some(ts("2026-03-25T00:00:00Z"));
    o.last_success_hint = Some(ts("2026-03-31T23:00:00Z"));
    let jobs = daily("2026-04-01T22:00:00Z", 30, JobResult::Success);
    let r = eval(&o, &jobs, p);
    assert_eq!(r.status, Status::Compliant, "{}", r.reason);
    assert_eq!(first_gap(&o, &jobs, p), 23 * 3600);
}

#[test]
fn rules_give_the_rpo_before_the_policy() {
    let p = month("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z");
    let mut o = object("db-1");
    o.policy_rpo = Some(Duration::from_secs(3600));
    let jobs = daily("2026-03-31T22:00:00Z", 31, JobResult::Success);
    // The policy's hourly schedule makes daily backups a breach every day.
    let r = eval(&o, &jobs, p);
    assert_eq!(r.rpo, Some(Duration::from_secs(3600)));
    assert_eq!(r.breach_count, Some(31));
    let c = Compliance {
        rules: vec![Rule {
            matcher: RuleMatch {
                object: Some(Pattern::new("db-*").unwrap()),
                ..Default::default()
            },
            rpo: Some(Duration::from_secs(2 * DAY as u64)),
            restore_test_interval: None,
            exclude: None,
        }],
        ..rules()
    };
    let r = eval_with(&o, &jobs, p, "2030-01-01T00:00:00Z", &c);
    assert_eq!(r.rpo, Some(Duration::from_secs(2 * DAY as u64)));
    assert_eq!(r.status, Status::Compliant);
}

#[test]
fn summary_groups_by_tenant_and_sums_numerators_and_denominators() {
    let p = month("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z");
    let good = daily("2026-03-31T22:00:00Z", 31, JobResult::Success);
    let bad = daily("2026-04-01T22:00:00Z", 30, JobResult::Failed);
    let mut other = object("hr-1");
    other.tenant = "HR".into();
    other.stored_bytes = Some(5);
    let mut a = object("a");
    a.stored_bytes = Some(7);
    let rows = vec![
        eval(&a, &good, p),
        eval(&object("b"), &bad, p),
        eval(&other, &good, p),
    ];
    let s = summarize(&rows);
    assert_eq!(s.len(), 2);
    assert_eq!(
        (s[0].tenant.as_str(), s[1].tenant.as_str()),
        ("Finance", "HR")
    );
    let f = &s[0];
    assert_eq!((f.objects, f.compliant, f.non_compliant), (2, 1, 1));
    assert_eq!(f.compliance_ratio(), Some(0.5));
    assert_eq!(f.jobs_total, Some(60));
    assert_eq!(f.jobs_failed, Some(30));
    assert_eq!(f.job_success, Some((30, 60)));
    assert_eq!(f.stored_bytes, Some(7));
    assert_eq!(s[1].stored_bytes, Some(5));

    let only_excluded = vec![no_data(
        Vendor::Clumio,
        "t",
        None,
        "boom",
        &Scope {
            period: p,
            now: ts("2030-01-01T00:00:00Z"),
            rules: &rules(),
        },
    )];
    let s = summarize(&only_excluded);
    assert_eq!(s[0].no_data, 1);
    assert_eq!(s[0].compliance_ratio(), None);
    assert_eq!(s[0].job_success_ratio(), None);
    assert_eq!(s[0].jobs_total, None);
}

#[test]
fn objects_created_after_the_period_are_not_in_it() {
    let p = month("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z");
    let mut o = object("later");
    o.created = Some(ts("2026-05-01T00:00:00Z"));
    assert!(!existed_in(&o, p));
    o.created = Some(ts("2026-04-30T23:59:59Z"));
    assert!(existed_in(&o, p));
    o.created = None;
    assert!(existed_in(&o, p));
}

#[test]
fn drift_within_the_rpo_tolerance_is_no_breach_but_beyond_it_counts_from_the_rpo() {
    let p = month("2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z");
    // Daily runs that each end ten minutes later than the one before.
    let start = ts("2026-03-31T22:00:00Z");
    let jobs: Vec<Job> = (0..=30)
        .map(|d| {
            job(
                d as u32,
                start + SignedDuration::from_secs(d * (DAY + 600)),
                JobResult::Success,
            )
        })
        .collect();
    let exact = eval(&object("web"), &jobs, p);
    assert_eq!(exact.status, Status::NonCompliant, "every gap is 24h10m");
    let tolerant = Compliance {
        rpo_tolerance: std::time::Duration::from_secs(3600),
        ..rules()
    };
    let r = eval_with(&object("web"), &jobs, p, "2026-05-02T00:00:00Z", &tolerant);
    assert_eq!(r.status, Status::Compliant, "{}", r.reason);
    assert_eq!(r.breach_count, Some(0));
    let tight = Compliance {
        rpo_tolerance: std::time::Duration::from_secs(300),
        ..rules()
    };
    let r = eval_with(&object("web"), &jobs, p, "2026-05-02T00:00:00Z", &tight);
    assert_eq!(r.status, Status::NonCompliant);
    assert_eq!(
        secs(r.breach) % 600,
        0,
        "overrun is measured from the RPO itself"
    );
}

fn restore(n: u32, end: Timestamp, result: JobResult) -> Job {
    Job {
        kind: JobKind::Restore,
        ..job(1000 + n, end, result)
    }
}

#[test]
fn restore_tests_are_overdue_after_the_interval_without_changing_the_status() {
    let feb = month("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z");
    let o = object("db");
    let mut backups = daily("2026-01-25T01:00:00Z", 35, JobResult::Success);
    let mut c = rules();
    c.restore_test_interval = Some(std::time::Duration::from_secs(30 * DAY as u64));

    // No interval: nothing is asked, the restore columns still tell.
    backups.push(restore(1, ts("2026-01-20T12:00:00Z"), JobResult::Success));
    backups.push(restore(2, ts("2026-02-10T12:00:00Z"), JobResult::Failed));
    backups.push(restore(3, ts("2026-03-02T12:00:00Z"), JobResult::Success));
    let plain = eval_with(&o, &backups, feb, "2030-01-01T00:00:00Z", &rules());
    assert_eq!(plain.restore_test_overdue, None);
    let r = plain.restores.unwrap();
    assert_eq!(
        r.last,
        Some(Attempt {
            time: ts("2026-02-10T12:00:00Z"),
            result: Some(JobResult::Failed)
        }),
        "the newest restore at or before the period end"
    );
    assert_eq!(r.last_success, Some(ts("2026-01-20T12:00:00Z")));
    assert_eq!(r.in_period, 1);
    assert_eq!(
        plain.counts.unwrap().total,
        28,
        "restores are not protection runs"
    );

    // The newest success (20 Jan) is 39 days before the period end: overdue, still compliant.
    let row = eval_with(&o, &backups, feb, "2030-01-01T00:00:00Z", &c);
    assert_eq!(row.status, Status::Compliant);
    assert_eq!(row.restore_test_overdue, Some(true));
    assert!(row.needs_action() && !row.status.needs_action());
    // Measured at now when the period has not ended: 9 Feb is 20 days after 20 Jan.
    let early = eval_with(&o, &backups, feb, "2026-02-09T00:00:00Z", &c);
    assert_eq!(early.restore_test_overdue, Some(false));
    // Exactly the interval is not overdue; a second more is.
    backups.push(restore(4, ts("2026-01-30T00:00:00Z"), JobResult::Warning));
    let edge = eval_with(&o, &backups, feb, "2026-03-01T00:00:00Z", &c);
    assert_eq!(edge.restore_test_overdue, Some(false));
    let later = eval_with(&o, &backups, feb, "2026-03-01T00:00:01Z", &c);
    assert_eq!(
        later.restore_test_overdue,
        Some(false),
        "the horizon is the period end"
    );
    let mut strict = c.clone();
    strict.strict_warnings = true;
    let row = eval_with(&o, &backups, feb, "2030-01-01T00:00:00Z", &strict);
    assert_eq!(
        row.restore_test_overdue,
        Some(true),
        "a warning is no success when strict"
    );

    // Never restored: counted from creation, else overdue.
    let mut young = object("young");
    young.created = Some(ts("2026-02-10T00:00:00Z"));
    let y = eval_with(&young, &[], feb, "2030-01-01T00:00:00Z", &c);
    assert_eq!(y.restore_test_overdue, Some(false));
    assert_eq!(y.restores.unwrap().last, None);
    let never = eval_with(&object("old"), &[], feb, "2030-01-01T00:00:00Z", &c);
    assert_eq!(never.restore_test_overdue, Some(true));

    // Excluded rows are not asked; the summary counts overdue rows beside their status.
    c.rules.push(Rule {
        matcher: RuleMatch {
            object: Some(Pattern::new("old").unwrap()),
            ..Default::default()
        },
        rpo: None,
        restore_test_interval: None,
        exclude: Some("retired".into()),
    });
    let ex = eval_with(&object("old"), &[], feb, "2030-01-01T00:00:00Z", &c);
    assert_eq!(ex.status, Status::Excluded);
    assert_eq!(ex.restore_test_overdue, None);
    let s = summarize(&[row, y, never, ex]);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].restore_test_overdue, 2);
    assert_eq!(s[0].objects, 4);
}
