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
        .history(Period { from, to })
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
