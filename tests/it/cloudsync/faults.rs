//! Vendor failures become errors that name the endpoint; nothing panics.

use super::*;

#[tokio::test]
async fn a_server_error_names_the_endpoint() {
    let h = start(SimOptions::default()).await;
    let adapter = h.adapter(&h.password_target(""));
    assert!(adapter.collect(h.window()).await.inventory.is_ok());
    h.fault("cloudsync:5xx=1");
    let c = adapter.collect(h.window()).await;
    let e = c.inventory.unwrap_err().to_string();
    assert!(e.contains("GET /api/accounts"), "{e}");
    assert!(e.contains("500"), "{e}");
    assert!(e.contains("Internal server error"), "{e}");
    assert!(c.jobs.is_err() && c.storage.is_err());
}

#[tokio::test]
async fn throttling_is_waited_out_as_retry_after_says() {
    let h = start(SimOptions::default()).await;
    let adapter = h.adapter(&h.password_target(""));
    assert!(adapter.collect(h.window()).await.inventory.is_ok());
    h.fault("cloudsync:429=1");
    let faults = h.ctx.faults.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        faults.clear();
    });
    let started = Instant::now();
    let c = adapter.collect(h.window()).await;
    assert!(c.inventory.is_ok(), "{:?}", c.inventory.err());
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_truncated_body_is_a_decode_error_naming_the_endpoint() {
    let h = start(SimOptions::default()).await;
    let adapter = h.adapter(&h.password_target(""));
    assert!(adapter.collect(h.window()).await.inventory.is_ok());
    h.fault("cloudsync:truncate=1");
    let c = adapter.collect(h.window()).await;
    let e = c.inventory.unwrap_err().to_string();
    assert!(e.contains("GET /api/accounts: could not decode"), "{e}");
    h.ctx.faults.clear();
    h.fault("cloudsync:malformed=1");
    let e = adapter
        .collect(h.window())
        .await
        .jobs
        .unwrap_err()
        .to_string();
    assert!(e.contains("could not decode"), "{e}");
    // A fresh adapter whose login answer is cut short fails at the token endpoint.
    h.ctx.faults.clear();
    h.fault("cloudsync:truncate=1");
    let fresh = h.adapter(&h.password_target(""));
    let e = fresh
        .collect(h.window())
        .await
        .inventory
        .unwrap_err()
        .to_string();
    assert!(e.contains("POST /cloudsync/auth/oauth/token"), "{e}");
}

/// Issue 13 point 3: a slow data-broker listing fails the warnings collector on its own
/// deadline (90 % of the target's `timeout`); the relationships (inventory and jobs),
/// statistics (storage) and audit of the same refresh keep their fresh data.
#[tokio::test]
async fn a_slow_listing_fails_only_its_own_collector() {
    let h = start(SimOptions::default()).await;
    let audit = format!("    audit_url: {}\n", h.base);
    let adapter = h.adapter_timed(&h.password_target(&audit), "3s");
    assert!(adapter.collect(h.window()).await.warnings.is_ok());
    h.fault("cloudsync:slow=data-brokers@10s");
    let started = std::time::Instant::now();
    let c = adapter.collect(h.window()).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "took {took:?}");
    let e = c.warnings.unwrap_err().to_string();
    assert!(
        e.contains("warnings collector timed out after 2s 700ms"),
        "{e}"
    );
    let objects = c.inventory.expect("inventory is fresh");
    assert_eq!(objects.len(), h.world().relationships.len());
    assert!(c.jobs.is_ok(), "{:?}", c.jobs.err());
    assert!(c.audit.is_ok(), "{:?}", c.audit.err());
    assert!(c.storage.is_ok(), "{:?}", c.storage.err());

    h.fault("cloudsync:clear");
    assert!(adapter.collect(h.window()).await.warnings.is_ok());
}
