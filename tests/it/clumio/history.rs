//! `history` for reports: the period, the month before it, and Clumio's six months.

use super::*;

#[tokio::test]
async fn history_pages_through_the_period_and_a_month_before_it() {
    let env = Env::start(40).await;
    let adapter = env.adapter("");
    let now = env.now();
    let period = Period {
        from: ts(ORIGIN - 20 * DAY),
        to: ts(ORIGIN - 5 * DAY),
    };
    // The look-back is the caller's: a month here, not the report's default.
    let lookback = std::time::Duration::from_secs(31 * 86_400);
    assert_ne!(lookback, backup_exporter::adapter::REPORT_LOOKBACK);
    let h = adapter.history(period, lookback).await.unwrap();
    let world = env.world();
    let from = ORIGIN - 20 * DAY;
    let to = ORIGIN - 5 * DAY;
    let want: BTreeMap<String, JobResult> = world
        .tasks(from - 31 * DAY, to, now)
        .iter()
        .filter(|t| t.asset.is_some())
        .filter(|t| expected_result(t.status) != JobResult::Running)
        .filter(|t| t.end.is_some_and(|e| e < to))
        .map(|t| (t.id.to_string(), expected_result(t.status)))
        .collect();
    let got: BTreeMap<String, JobResult> =
        h.jobs.iter().map(|j| (j.id.clone(), j.result)).collect();
    assert_eq!(got, want);
    assert!(want.len() > 1_000, "{} jobs", want.len());
    let task_pages = env
        .sim
        .requests()
        .iter()
        .filter(|r| r.path == "/tasks")
        .count();
    assert!(
        task_pages >= want.len() / 100,
        "{task_pages} pages for {} tasks",
        want.len()
    );
    let audit: Vec<&str> = h.audit.iter().map(|e| e.id.as_str()).collect();
    let mut expected: Vec<_> = world.audit(from, to, now);
    expected.reverse();
    assert_eq!(
        audit,
        expected.iter().map(|e| e.id.as_str()).collect::<Vec<_>>()
    );
    assert_eq!(h.objects.len(), world.listed_assets().count());
}

#[tokio::test]
async fn reports_older_than_six_months_are_clamped_to_what_clumio_keeps() {
    let env = Env::start(20).await;
    let period = Period {
        from: ts(ORIGIN - 200 * DAY),
        to: ts(ORIGIN - 170 * DAY),
    };
    let h = env
        .adapter("")
        .history(period, backup_exporter::adapter::REPORT_LOOKBACK)
        .await
        .unwrap();
    assert!(
        h.jobs
            .iter()
            .all(|j| j.time().unwrap().as_second() >= ORIGIN - 180 * DAY)
    );
    assert!(!h.jobs.is_empty());
    assert!(
        h.objects
            .iter()
            .all(|o| o.history_start.unwrap() > period.from)
    );
}
