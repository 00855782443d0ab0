//! Injected faults: errors name the endpoint, throttling is waited out, nothing panics.

use super::*;

#[tokio::test]
async fn server_errors_name_the_endpoint() {
    let env = start(8, SimOptions::default()).await;
    let adapter = env.adapter();
    adapter.probe().await.unwrap();
    env.fault("backupdr:5xx=1");
    let c = adapter.collect(env.window()).await;
    let e = c.inventory.unwrap_err().to_string();
    assert!(e.contains("GET /backupdr/actifio/"), "{e}");
    assert!(e.contains("HTTP 500") && e.contains("error 10023"), "{e}");
    assert!(c.jobs.unwrap_err().to_string().contains("/jobstatus"));
    assert!(c.warnings.is_err() && c.storage.is_err() && c.audit.is_err());
}

#[tokio::test]
async fn truncated_bodies_are_decode_errors_not_panics() {
    let env = start(8, SimOptions::default()).await;
    let adapter = env.adapter();
    adapter.probe().await.unwrap();
    env.fault("backupdr:truncate=1");
    let c = adapter.collect(env.window()).await;
    let e = c.jobs.unwrap_err().to_string();
    assert!(e.contains("GET /backupdr/actifio/jobstatus"), "{e}");
    assert!(e.contains("could not decode"), "{e}");
    assert!(c.inventory.is_err());
    env.fault("backupdr:clear");
    env.fault("backupdr:malformed=1");
    let e = adapter.probe().await.unwrap_err().to_string();
    assert!(e.contains("could not decode"), "{e}");
}

#[tokio::test]
async fn throttling_is_waited_out() {
    let env = start(8, SimOptions::default()).await;
    let adapter = env.adapter();
    adapter.probe().await.unwrap();
    env.fault("backupdr:429=1");
    let faults = env.ctx.faults.clone();
    let clear = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        faults.clear();
    });
    let started = std::time::Instant::now();
    let summary = adapter
        .probe()
        .await
        .expect("probe once the throttling stops");
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(summary.contains("applications"), "{summary}");
    assert!(env.requests("429") >= 1);
    clear.await.unwrap();

    env.fault("backupdr:429=1");
    let e = adapter.probe().await.unwrap_err().to_string();
    assert!(e.contains("HTTP 429"), "{e}");
}

/// Issue 13 point 3: a slow `jobstatus` fails the jobs collector on its own deadline (90 %
/// of `timeout`), and the warnings built from it; inventory, audit and storage keep their
/// fresh data.
#[tokio::test]
async fn a_slow_listing_fails_only_its_own_collector() {
    let env = start(8, SimOptions::default()).await;
    let auth = format!("    credentials_file: \"{}\"\n", env.key_file().display());
    let adapter = env.adapter_from(&env.yaml(&auth, "").replace("timeout: 20s", "timeout: 2s"));
    adapter.probe().await.unwrap();
    env.fault("backupdr:slow=jobstatus@5s");
    let started = std::time::Instant::now();
    let c = adapter.collect(env.window()).await;
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    let e = c.jobs.unwrap_err().to_string();
    assert!(e.contains("jobs collector timed out after 1s 800ms"), "{e}");
    assert!(!c.inventory.unwrap().is_empty());
    // Backup and DR's warnings include failure streaks computed from the jobs: they share
    // the jobs' fate by design.
    assert!(c.warnings.is_err());
    assert!(c.audit.is_ok(), "{:?}", c.audit.err());
    assert!(c.storage.is_ok(), "{:?}", c.storage.err());
}
