//! Login, refresh, re-login and refused logins.

use super::*;

#[tokio::test]
async fn expired_access_token_is_renewed_with_the_refresh_grant() {
    let h = Harness::start().await;
    let a = h.adapter();
    let first = a.collect(h.window()).await;
    assert!(first.inventory.is_ok());
    assert_eq!(
        h.sim.count("oauth password"),
        1,
        "one login for a whole refresh"
    );
    assert_eq!(h.sim.count("oauth refresh"), 0);

    // Past the 299 s lifetime on the simulator's clock; the next call renews the token
    // with the refresh token, not the password.
    h.clock.advance(Duration::from_secs(300));
    let second = a.collect(h.window()).await;
    assert!(second.inventory.is_ok() && second.jobs.is_ok());
    assert_eq!(h.sim.count("oauth refresh"), 1);
    assert_eq!(h.sim.count("oauth password"), 1);

    // What is asked once is not asked again; a consumer without any job yet is asked on
    // every refresh, since its first job may come any time.
    let (with_jobs, without): (Vec<&Consumer>, Vec<&Consumer>) = h
        .world()
        .consumers
        .iter()
        .partition(|c| h.world().first_job(c.id, h.clock.now()).is_some());
    assert!(!without.is_empty());
    assert_eq!(
        h.sim.count("jobs/first"),
        with_jobs.len() as u64 + 2 * without.len() as u64
    );
    assert_eq!(h.sim.count("nodewarningtypes"), 1);

    // Nodes and filespaces change slowly: read again only after half an hour.
    let consumers = h.world().consumers.len() as u64;
    assert_eq!(
        (h.sim.count("node"), h.sim.count("filespaces")),
        (consumers, consumers)
    );
    assert_eq!(
        h.sim.count("reports/latest"),
        2 * consumers,
        "warnings on every refresh"
    );
    h.clock.advance(Duration::from_secs(30 * 60));
    assert!(a.collect(h.window()).await.inventory.is_ok());
    assert_eq!(h.sim.count("node"), 2 * consumers);
}

#[tokio::test]
async fn token_is_refreshed_before_it_expires() {
    // A lifetime just over the client's renewal margin (15 s), so that a second later the
    // token counts as about to expire: renewed with the refresh grant before any 401.
    let options = SimOptions {
        token_lifetime: Duration::from_secs(16),
        ..SimOptions::default()
    };
    let h = Harness::with(options, 5).await;
    let a = h.adapter();
    a.probe().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    a.probe().await.unwrap();
    assert_eq!(h.sim.count("oauth password"), 1);
    assert!(h.sim.count("oauth refresh") >= 1);
    assert_eq!(
        h.sim.count("401"),
        0,
        "renewed before the portal refused it"
    );
}

#[tokio::test]
async fn expire_tokens_fault_logs_in_once_more_and_the_call_succeeds() {
    let h = Harness::start().await;
    let a = h.adapter();
    a.probe().await.unwrap();
    h.fault("cloutility:expire-tokens");
    let line = a.probe().await.expect("probe after the tokens expired");
    assert!(line.contains("business units"), "{line}");
    // The refresh token went with the access token: refused, then one password login.
    assert_eq!(h.sim.count("oauth refused"), 1);
    assert_eq!(h.sim.count("oauth password"), 2);
}

#[tokio::test]
async fn refused_refresh_falls_back_to_the_password() {
    let h = Harness::start().await;
    let a = h.adapter();
    a.probe().await.unwrap();
    h.sim.revoke_refresh_token();
    h.clock.advance(Duration::from_secs(600));
    a.probe()
        .await
        .expect("probe after the refresh token was revoked");
    assert_eq!(h.sim.count("oauth refused"), 1);
    assert_eq!(h.sim.count("oauth password"), 2);
}

#[tokio::test]
async fn probe_counts_business_units_and_consumers() {
    let h = Harness::start().await;
    let line = h.adapter().probe().await.unwrap();
    let w = h.world();
    assert_eq!(
        line,
        format!(
            "Cloutility 1.0.4480.0 at API base {}/v1, logged in as {USERNAME}: {} business units, {} consumers",
            h.base,
            w.bunits.len(),
            w.consumers.len()
        )
    );
}

#[tokio::test]
async fn wrong_password_is_a_refused_login_that_names_the_endpoint() {
    let h = Harness::start().await;
    std::fs::write(h.dir.path().join("password"), "not-the-password").unwrap();
    let e = h.adapter().probe().await.unwrap_err().to_string();
    assert!(e.contains("POST /v1/oauth: login refused: HTTP 400"), "{e}");
    assert!(e.contains("invalid_grant"), "{e}");
    assert!(!e.contains("not-the-password"), "{e}");
    let failures = h
        .metrics
        .auth_failures
        .get_or_create(&TargetLabels {
            vendor: "cloutility".into(),
            target: "safespring".into(),
        })
        .get();
    assert_eq!(failures, 1);
    // The password file is read at every login: fixing it is enough.
    std::fs::write(h.dir.path().join("password"), PASSWORD).unwrap();
}
