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

/// Issue 13 point 3: a slow jobs listing fails the jobs collector on its own deadline (90 %
/// of the target's `timeout`); inventory, warnings, audit and storage of the same refresh
/// come back with fresh data, within the refresh timeout, although the slow requests hold
/// some of the client's permits meanwhile.
#[tokio::test]
async fn a_slow_listing_fails_only_its_own_collector() {
    let h = Harness::with(SimOptions::default(), 12).await;
    let a = h.adapter_with("    timeout: 3s\n");
    // A first refresh fills the caches (nodes, first jobs), as in a running exporter.
    let warm = a.collect(h.window()).await;
    assert!(warm.jobs.is_ok(), "{:?}", warm.jobs.err());
    h.fault("cloutility:slow=jobs@10s");
    let started = std::time::Instant::now();
    let got = a.collect(h.window()).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let e = got.jobs.unwrap_err().to_string();
    assert!(e.contains("jobs collector timed out after 2s 700ms"), "{e}");
    let objects = got.inventory.expect("inventory is fresh");
    assert_eq!(objects.len(), h.world().consumers.len());
    assert!(got.warnings.is_ok(), "{:?}", got.warnings.err());
    assert!(got.audit.is_ok(), "{:?}", got.audit.err());
    assert!(got.storage.is_ok(), "{:?}", got.storage.err());

    h.fault("cloutility:clear");
    let got = a.collect(h.window()).await;
    assert!(got.jobs.is_ok(), "{:?}", got.jobs.err());
}

/// Issue 13 point 2: a 200 answer of `{}` where a list is expected is a protocol error that
/// names the endpoint and the missing `items`, not an empty list: for the consumers, every
/// collector fails (and keeps its last good data) instead of the inventory going empty;
/// for one consumer's audit log, only the audit collector fails.
#[tokio::test]
async fn an_answer_without_the_envelope_fails_the_collector() {
    let h = Harness::start().await;
    let a = h.adapter();
    h.fault("cloutility:empty=consumers");
    let got = a.collect(h.window()).await;
    let e = got.inventory.unwrap_err().to_string();
    assert!(
        e.contains("/consumers: could not decode the response")
            && e.contains("missing field `items`")
            && e.contains("the answer lacks the vendor's envelope"),
        "{e}"
    );
    assert!(got.jobs.is_err() && got.storage.is_err());

    h.fault("cloutility:clear");
    h.fault("cloutility:empty=auditlogs");
    let got = a.collect(h.window()).await;
    let e = got.audit.unwrap_err().to_string();
    assert!(
        e.contains("/auditlogs") && e.contains("missing field `items`"),
        "{e}"
    );
    assert_eq!(got.inventory.unwrap().len(), h.world().consumers.len());
    assert!(got.jobs.is_ok() && got.warnings.is_ok() && got.storage.is_ok());
}
