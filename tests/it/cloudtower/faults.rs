//! Server errors, throttling and broken bodies.

use super::*;

#[tokio::test]
async fn server_errors_name_the_endpoint() {
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    a.probe().await.unwrap();
    h.fault("cloudtower:5xx=1");
    let c = a.collect(h.window()).await;
    for e in [
        error_text(&c.inventory),
        error_text(&c.jobs),
        error_text(&c.warnings),
        error_text(&c.audit),
        error_text(&c.storage),
    ] {
        assert!(e.contains("POST /v2/api/get-") && e.contains("500"), "{e}");
        assert!(e.contains("Internal server error"), "{e}");
    }
}

#[tokio::test]
async fn throttling_is_waited_out() {
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    a.probe().await.unwrap();
    h.fault("cloudtower:429=1");
    let faults = h.server.ctx.faults.clone();
    let clear = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        faults.clear();
    });
    let c = a.collect(h.window()).await;
    clear.await.unwrap();
    assert!(h.requests("429") >= 1);
    h.assert_matches_world(c, Tower::Current, &Scope::all());
}

#[tokio::test]
async fn truncated_bodies_are_decode_errors_naming_the_endpoint() {
    let h = start().await;
    let a = h.adapter("", &h.password_keys());
    a.probe().await.unwrap();
    h.fault("cloudtower:truncate=1");
    let c = a.collect(h.window()).await;
    for e in [
        error_text(&c.inventory),
        error_text(&c.warnings),
        error_text(&c.storage),
    ] {
        assert!(e.contains("POST /v2/api/get-"), "{e}");
        assert!(e.contains("could not decode"), "{e}");
    }
    h.fault("cloudtower:clear");
    h.fault("cloudtower:malformed=1");
    let e = error_text(&a.collect(h.window()).await.audit);
    assert!(
        e.contains("POST /v2/api/get-user-audit-logs: could not decode"),
        "{e}"
    );
}

/// Issue 13 point 3: a slow task listing fails the jobs collector on its own deadline (90 %
/// of the target's `timeout`); inventory (read once, shared with the jobs), warnings, audit
/// and storage of the same refresh keep their fresh data, within the refresh timeout.
#[tokio::test]
async fn a_slow_listing_fails_only_its_own_collector() {
    let h = start().await;
    let a = h.adapter("", &format!("{}\ntimeout: 3s", h.password_keys()));
    a.probe().await.unwrap();
    h.fault("cloudtower:slow=get-tasks@10s");
    let started = std::time::Instant::now();
    let c = a.collect(h.window()).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let e = error_text(&c.jobs);
    assert!(e.contains("jobs collector timed out after 2s 700ms"), "{e}");
    let w = h.window();
    let mut inventory = c.inventory.expect("inventory is fresh");
    inventory.sort_by(|a, b| a.id.cmp(&b.id));
    let mut expected = h
        .world
        .expected_objects(w.now, Tower::Current, &Scope::all());
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_objects_eq(&inventory, &expected);
    assert!(c.warnings.is_ok(), "{:?}", c.warnings.err());
    assert!(c.audit.is_ok(), "{:?}", c.audit.err());
    assert!(c.storage.is_ok(), "{:?}", c.storage.err());

    h.fault("cloudtower:clear");
    h.assert_matches_world(a.collect(h.window()).await, Tower::Current, &Scope::all());
}
