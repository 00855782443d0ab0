//! `history()` for a report period.

use super::*;

#[tokio::test]
async fn history_of_a_month_holds_its_jobs_audit_and_the_success_before_it() {
    let options = SimOptions {
        max_page: 25,
        ..SimOptions::default()
    };
    let h = Harness::with(options, 30).await;
    let w = h.world();
    let now = h.clock.now();
    let to = clock::before(now, Duration::from_secs(86_400));
    let from = clock::before(to, Duration::from_secs(30 * 86_400));
    let history = h
        .adapter()
        .history(
            Period { from, to },
            backup_exporter::adapter::REPORT_LOOKBACK,
        )
        .await
        .expect("history");
    assert_eq!(history.objects.len(), w.consumers.len());

    let have: HashMap<&str, &Job> = history.jobs.iter().map(|j| (j.id.as_str(), j)).collect();
    let mut in_period = 0;
    for c in &w.consumers {
        for j in w
            .jobs(c.id, from, now, now)
            .iter()
            .filter(|j| j.time() < to)
        {
            let got = have
                .get(j.id.to_string().as_str())
                .unwrap_or_else(|| panic!("job {} of {}", j.id, c.name));
            assert_eq!((got.result, got.kind), (j.expected, j.expected_kind));
            in_period += 1;
        }
        // The newest success before the period is there to measure the first gap from.
        let before = clock::before(from, Duration::from_secs(1));
        if let Some(s) = w.last_success(c.id, before) {
            assert!(
                have.contains_key(s.id.to_string().as_str()),
                "last success before the period of {}",
                c.name
            );
        }
    }
    assert!(in_period > 500, "{in_period} jobs");
    assert!(history.jobs.iter().all(|j| j.time().is_none_or(|t| t < to)));

    let want: BTreeSet<String> = w
        .consumers
        .iter()
        .flat_map(|c| w.audit(c.id, from, to, now))
        .filter(|a| a.time < to)
        .map(|a| a.id.to_string())
        .collect();
    let have: BTreeSet<String> = history.audit.iter().map(|e| e.id.clone()).collect();
    assert_eq!(have, want);
    assert!(want.len() > 100, "audit pages of 50 were read");
}

/// Runs `report` for the month before the harness's clock over its simulator; returns the
/// compliance rows by object id.
async fn compliance_report(h: &Harness) -> HashMap<String, HashMap<String, String>> {
    use backup_exporter::report::progress::Mode;
    use backup_exporter::report::{Env, ReportArgs, Source, run_with};
    let config = h.dir.path().join("config.yml");
    std::fs::write(&config, h.config("")).unwrap();
    let out = h.dir.path().join("out");
    let args = ReportArgs {
        config,
        month: Some("2026-10".parse().unwrap()),
        from: None,
        to: None,
        out: out.clone(),
        targets: vec!["safespring".to_owned()],
        keep_going: false,
        source: Source::Api,
        prometheus_url: None,
        evidence: Default::default(),
    };
    let env = Env {
        clock: h.clock.clone(),
        progress: Mode::Quiet,
        ..Env::default()
    };
    run_with(&args, &env).await.expect("report");
    let mut r = csv::Reader::from_path(out.join("compliance-2026-10.csv")).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let row: HashMap<String, String> = headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect();
            (row["object_id"].clone(), row)
        })
        .collect()
}

#[tokio::test]
async fn inactive_and_never_activated_consumers_are_unprotected_in_the_report() {
    let h = Harness::start().await;
    let rows = compliance_report(&h).await;
    let w = h.world();
    for plant in [Plant::Inactive, Plant::NotActivated, Plant::NoNode] {
        let c = w.consumers.iter().find(|c| c.plant == plant).unwrap();
        assert_eq!(
            rows[&c.id.to_string()]["status"],
            "unprotected",
            "{plant:?} {}",
            c.name
        );
    }
    let ordinary = w
        .consumers
        .iter()
        .find(|c| c.plant == Plant::Ordinary && !c.name.starts_with("test-"))
        .unwrap();
    assert_ne!(rows[&ordinary.id.to_string()]["status"], "unprotected");
}
