//! Faults: server errors, one broken endpoint, throttling, broken bodies.

use super::*;

#[tokio::test]
async fn server_errors_fail_the_collectors_with_the_endpoint_named() {
    let h = Harness::start().await;
    let a = h.adapter();
    a.probe().await.unwrap();
    h.fault("cloutility:5xx=1");
    let got = a.collect(h.window()).await;
    for (name, e) in [
        ("inventory", got.inventory.err()),
        ("jobs", got.jobs.err()),
        ("warnings", got.warnings.err()),
        ("audit", got.audit.err()),
        ("storage", got.storage.err()),
    ] {
        let e = e
            .unwrap_or_else(|| panic!("{name} should fail"))
            .to_string();
        assert!(e.contains("GET /v1/bunits: HTTP 500"), "{name}: {e}");
        assert!(e.contains("Internal server error"), "{name}: {e}");
    }
}

#[tokio::test]
async fn a_failing_endpoint_fails_only_the_collectors_that_need_it() {
    let h = Harness::start().await;
    h.sim
        .break_route("reports/latest", StatusCode::INTERNAL_SERVER_ERROR);
    let got = h.adapter().collect(h.window()).await;
    let e = got.warnings.unwrap_err().to_string();
    assert!(
        e.contains("/reports/latest: HTTP 500") && e.contains("broken on purpose"),
        "{e}"
    );
    assert!(got.inventory.is_ok() && got.jobs.is_ok() && got.audit.is_ok() && got.storage.is_ok());

    let h = Harness::start().await;
    h.sim
        .break_route("filespaces", StatusCode::INTERNAL_SERVER_ERROR);
    let got = h.adapter().collect(h.window()).await;
    for e in [got.inventory.unwrap_err(), got.storage.unwrap_err()] {
        assert!(e.to_string().contains("/node/filespaces: HTTP 500"), "{e}");
    }
    assert!(got.jobs.is_ok() && got.warnings.is_ok() && got.audit.is_ok());

    let h = Harness::start().await;
    h.sim
        .break_route("auditlogs", StatusCode::INTERNAL_SERVER_ERROR);
    let got = h.adapter().collect(h.window()).await;
    assert!(
        got.audit
            .unwrap_err()
            .to_string()
            .contains("/auditlogs: HTTP 500")
    );
    assert!(
        got.inventory.is_ok() && got.jobs.is_ok() && got.warnings.is_ok() && got.storage.is_ok()
    );
}

#[tokio::test]
async fn throttled_requests_wait_for_retry_after_and_succeed() {
    let h = Harness::start().await;
    let a = h.adapter();
    h.fault("cloutility:429=1");
    let faults = h.faults.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        faults.clear();
    });
    let line = a
        .probe()
        .await
        .expect("probe succeeds once the throttling ends");
    assert!(line.contains("consumers"));
    assert!(h.requests_with_code("429") >= 1);
}

#[tokio::test]
async fn truncated_or_malformed_bodies_are_decode_errors_not_panics() {
    let h = Harness::start().await;
    let a = h.adapter();
    a.probe().await.unwrap();
    for fault in ["cloutility:truncate=1", "cloutility:malformed=1"] {
        h.fault(fault);
        let got = a.collect(h.window()).await;
        let e = got.inventory.unwrap_err().to_string();
        assert!(
            e.contains("GET /v1/bunits: could not decode the response"),
            "{fault}: {e}"
        );
        assert!(got.jobs.is_err() && got.storage.is_err());
        h.faults.clear();
    }
    assert!(
        a.collect(h.window()).await.inventory.is_ok(),
        "recovers when the fault ends"
    );
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
