//! What real portals vary in: the URL as people paste it, and listings the account does not
//! have (403/404), which skip a part instead of failing the collector; a 5xx still fails it.

use super::*;

#[tokio::test]
async fn the_portal_url_with_or_without_v1_and_a_trailing_slash_is_one_api_base() {
    let h = Harness::start().await;
    let base = h.base.to_string();
    let configured = format!("url: \"{base}\"");
    for url in [
        base.clone(),
        format!("{base}/"),
        format!("{base}/v1"),
        format!("{base}/v1/"),
    ] {
        let text = h
            .config("")
            .replace(&configured, &format!("url: \"{url}\""));
        let settings = Settings::parse(&text, Path::new("test.yml")).unwrap();
        let a = vendors::build(
            &settings.targets[0],
            &AdapterContext {
                metrics: h.metrics.clone(),
                clock: h.clock.clone(),
            },
        )
        .unwrap();
        let line = a.probe().await.unwrap_or_else(|e| panic!("{url}: {e}"));
        assert!(
            line.contains(&format!("at API base {base}/v1,")),
            "{url}: {line}"
        );
        let got = a.collect(h.window()).await;
        assert!(got.inventory.is_ok() && got.jobs.is_ok(), "{url}");
    }
}

/// Serves the exporter over the harness and returns `/metrics` once every collector has
/// refreshed at the harness's time.
async fn metrics_after_refresh(h: &Harness) -> (backup_exporter::exporter::Exporter, String) {
    let settings = Settings::parse(&h.config("    interval: 1s\n"), Path::new("test.yml")).unwrap();
    let ex =
        backup_exporter::exporter::Exporter::start(&settings, "127.0.0.1:0", h.clock.clone(), None)
            .await
            .unwrap();
    let at = h.clock.now().as_second() as f64;
    for _ in 0..600 {
        let (status, body) = crate::common::get(&format!("http://{}/metrics", ex.addr)).await;
        assert_eq!(status, 200);
        let all = ["inventory", "jobs", "warnings", "audit", "storage"]
            .iter()
            .all(|c| {
                crate::common::value(
                    &body,
                    "backup_collector_last_success_timestamp_seconds",
                    &[("target", "safespring"), ("collector", c)],
                ) == Some(at)
            });
        if all {
            return (ex, body);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no refresh of every collector");
}

fn refused(m: &str, collector: &str, part: &str) -> Option<f64> {
    crate::common::value(
        m,
        "backup_collector_part_refused",
        &[
            ("target", "safespring"),
            ("collector", collector),
            ("part", part),
        ],
    )
}

#[tokio::test]
async fn a_refused_optional_listing_is_a_skipped_part_and_the_rest_is_exported() {
    // (fault, collector, part, whether that collector's series then lack the part's data)
    let cases = [
        ("cloutility:refuse=auditlogs", "audit", "audit_logs"),
        ("cloutility:missing=auditlogs", "audit", "audit_logs"),
        (
            "cloutility:refuse=reports/latest",
            "warnings",
            "node_reports",
        ),
        ("cloutility:refuse=node/filespaces", "storage", "filespaces"),
        (
            "cloutility:missing=node/filespaces",
            "inventory",
            "filespaces",
        ),
        (
            "cloutility:refuse=nodewarningtypes",
            "warnings",
            "warning_types",
        ),
        (
            "cloutility:missing=nodewarningtypes",
            "warnings",
            "warning_types",
        ),
    ];
    for (fault, collector, part) in cases {
        let h = Harness::start().await;
        h.fault(fault);
        let (ex, m) = metrics_after_refresh(&h).await;
        let target = [("target", "safespring")];
        assert_eq!(
            crate::common::value(&m, "backup_target_up", &target),
            Some(1.0),
            "{fault}"
        );
        assert_eq!(refused(&m, collector, part), Some(1.0), "{fault}");
        assert_eq!(
            crate::common::value(&m, "backup_exported_objects", &target),
            Some(h.world().consumers.len() as f64),
            "{fault}: every object is still exported"
        );
        let jobs = m
            .lines()
            .filter(|l| l.starts_with("backup_object_last_attempt_timestamp_seconds{"))
            .count();
        assert!(jobs > 10, "{fault}: jobs are still exported ({jobs})");
        // Only the refused part is named.
        let parts = m
            .lines()
            .filter(|l| l.starts_with("backup_collector_part_refused{"))
            .count();
        let per_part = if part == "filespaces" { 2 } else { 1 };
        assert_eq!(parts, per_part, "{fault}:\n{m}");
        drop(ex);
    }
}

#[tokio::test]
async fn a_server_error_on_an_optional_listing_still_fails_its_collector() {
    for route in [
        "auditlogs",
        "nodewarningtypes",
        "reports/latest",
        "filespaces",
    ] {
        let h = Harness::start().await;
        h.sim.break_route(route, StatusCode::BAD_GATEWAY);
        let got = h.adapter().collect(h.window()).await;
        let failed = match route {
            "auditlogs" => got.audit.is_err(),
            "filespaces" => got.inventory.is_err() && got.storage.is_err(),
            _ => got.warnings.is_err(),
        };
        assert!(failed, "{route}: a 502 fails the collector");
        assert!(got.skipped.is_empty(), "{route}: {:?}", got.skipped);
        assert!(got.jobs.is_ok(), "{route}");
    }
}

#[tokio::test]
async fn a_report_goes_on_without_a_refused_audit_listing() {
    let h = Harness::start().await;
    h.fault("cloutility:missing=auditlogs");
    let to = h.clock.now();
    let from = clock::before(to, Duration::from_secs(7 * 86_400));
    let history = h
        .adapter()
        .history(
            Period { from, to },
            backup_exporter::adapter::REPORT_LOOKBACK,
        )
        .await
        .expect("history");
    assert!(history.audit.is_empty());
    assert!(!history.jobs.is_empty());
    assert_eq!(history.objects.len(), h.world().consumers.len());
    let parts: Vec<(&str, &str)> = history
        .skipped
        .iter()
        .map(|p| (p.collector.as_str(), p.part))
        .collect();
    assert_eq!(parts, [("audit", "audit_logs")]);
}
