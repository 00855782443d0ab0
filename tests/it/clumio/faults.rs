//! Faults from the shared fault layer and the simulator's own limits: the adapter reports
//! errors that name the endpoint and never panics.

use std::time::{Duration, Instant};

use backup_exporter::adapter::Collection;
use backup_exporter::sim::FaultSpec;

use super::{Env, HOUR};

fn fault(env: &Env, spec: &str) {
    env.ctx.faults.apply(&spec.parse::<FaultSpec>().unwrap());
}

fn errors(c: &Collection) -> Vec<String> {
    [
        c.inventory.as_ref().err().map(|e| e.to_string()),
        c.jobs.as_ref().err().map(|e| e.to_string()),
        c.warnings.as_ref().err().map(|e| e.to_string()),
        c.audit.as_ref().err().map(|e| e.to_string()),
        c.storage.as_ref().err().map(|e| e.to_string()),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[tokio::test]
async fn server_errors_fail_every_collector_with_the_endpoint_and_clumio_message() {
    let env = Env::start(20).await;
    let adapter = env.adapter("");
    fault(&env, "clumio:5xx=1");
    let c = adapter.collect(env.window(HOUR)).await;
    let errs = errors(&c);
    assert_eq!(errs.len(), 5, "{errs:?}");
    for e in &errs {
        assert!(e.contains("GET /"), "{e}");
        assert!(e.contains("HTTP 500"), "{e}");
        assert!(e.contains("Internal server error (error_code 500)"), "{e}");
    }
    fault(&env, "clumio:clear");
    let c = adapter.collect(env.window(HOUR)).await;
    assert!(errors(&c).is_empty(), "{:?}", errors(&c));
}

#[tokio::test]
async fn a_truncated_body_is_a_decode_error_naming_the_endpoint() {
    let env = Env::start(20).await;
    let adapter = env.adapter("");
    fault(&env, "clumio:truncate=1");
    let c = adapter.collect(env.window(HOUR)).await;
    let errs = errors(&c);
    assert_eq!(errs.len(), 5, "{errs:?}");
    assert!(
        errs.iter()
            .any(|e| e.contains("GET /organizational-units: could not decode the response")),
        "{errs:?}"
    );
    let jobs = c.jobs.unwrap_err().to_string();
    assert!(jobs.contains("GET /tasks: could not decode"), "{jobs}");
    fault(&env, "clumio:clear");
    fault(&env, "clumio:malformed=1");
    let e = adapter.probe().await.unwrap_err().to_string();
    assert!(e.contains("GET /organizational-units"), "{e}");
}

#[tokio::test]
async fn throttling_waits_for_retry_after_and_then_succeeds() {
    let env = Env::start(20).await;
    let adapter = env.adapter("");
    assert!(adapter.probe().await.is_ok());
    fault(&env, "clumio:429=1");
    let started = Instant::now();
    let probe = tokio::spawn({
        let adapter = adapter.clone();
        async move { adapter.probe().await }
    });
    // Lift the throttle once the adapter has been refused (and is waiting out Retry-After).
    for _ in 0..200 {
        if env.requests_code("429") >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    fault(&env, "clumio:clear");
    let line = probe
        .await
        .unwrap()
        .expect("probe after the throttle lifted");
    assert!(line.contains("assets"), "{line}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was not honoured"
    );
    assert!(env.requests_code("429") >= 1);
}

#[tokio::test]
async fn persistent_throttling_is_an_error_after_the_retries() {
    let env = Env::start(20).await;
    let adapter = env.adapter("");
    assert!(adapter.probe().await.is_ok());
    fault(&env, "clumio:429=1");
    let e = adapter.probe().await.unwrap_err().to_string();
    assert!(e.contains("GET /organizational-units: HTTP 429"), "{e}");
    assert!(e.contains("Too many requests (error_code 429)"), "{e}");
    assert_eq!(env.requests_code("429"), 4, "one try and three retries");
}

#[tokio::test]
async fn an_invalidated_token_takes_the_target_down_until_the_file_holds_a_new_one() {
    let env = Env::start(20).await;
    let adapter = env.adapter("");
    assert!(errors(&adapter.collect(env.window(HOUR)).await).is_empty());

    fault(&env, "clumio:expire-tokens");
    let c = adapter.collect(env.window(HOUR)).await;
    let errs = errors(&c);
    assert_eq!(errs.len(), 5, "{errs:?}");
    assert!(
        errs.iter().any(|e| e.contains("login refused: HTTP 401")
            && e.contains("Unauthorized access (error_code 402)")),
        "{errs:?}"
    );
    let refused = || {
        env.metrics
            .auth_failures
            .get_or_create(&backup_exporter::api::TargetLabels {
                vendor: "clumio".into(),
                target: "clumio-test".into(),
            })
            .get()
    };
    let after_first = refused();
    assert!(after_first >= 1);
    // Still down on the next refresh, which costs one refused login: an API token cannot
    // be renewed by the exporter.
    let c = adapter.collect(env.window(HOUR)).await;
    assert_eq!(errors(&c).len(), 5);
    assert!(errors(&c)[0].contains("login refused"), "{:?}", errors(&c));
    assert_eq!(refused(), after_first + 1);

    let fresh = env.sim.register_token();
    std::fs::write(env.token_file(), format!("{fresh}\n")).unwrap();
    let c = adapter.collect(env.window(HOUR)).await;
    assert!(errors(&c).is_empty(), "{:?}", errors(&c));
    let secret_leaked = env
        .sim
        .requests()
        .iter()
        .any(|r| r.query.iter().any(|(_, v)| v.contains(&fresh)));
    assert!(!secret_leaked);
}

#[tokio::test]
async fn the_client_rate_limit_keeps_under_the_gateway_limit() {
    // Enough assets for well over 100 requests in one refresh, sent 16 at a time.
    let env = Env::start(160).await;
    let adapter = env.adapter("    max_concurrent_requests: 16\n");
    let started = Instant::now();
    let c = adapter.collect(env.window(HOUR)).await;
    let elapsed = started.elapsed();
    assert!(errors(&c).is_empty(), "{:?}", errors(&c));
    let n = env.sim.requests().len();
    assert!(n > 150, "{n} requests");
    assert_eq!(
        env.sim.throttled(),
        0,
        "the simulator's gateway had to refuse requests"
    );
    assert_eq!(env.requests_code("429"), 0);
    let rate = backup_exporter::vendors::clumio::REQUESTS_PER_SECOND;
    let burst = f64::from(backup_exporter::vendors::clumio::BURST);
    // One request is the token check, which shares the bucket.
    let floor = (n as f64 + 1.0 - burst) / rate;
    assert!(
        elapsed.as_secs_f64() >= floor * 0.95,
        "{n} requests in {elapsed:?}: faster than {rate}/s"
    );
}

/// Issue 13 point 3: a slow `/tasks` fails the jobs collector on its own deadline (90 % of
/// the target's `timeout`); inventory, warnings, audit and storage of the same refresh come
/// back with fresh data, within the refresh timeout.
#[tokio::test]
async fn a_slow_listing_fails_only_its_own_collector() {
    let env = Env::start(20).await;
    let adapter = env.adapter("    timeout: 2s\n");
    fault(&env, "clumio:slow=tasks@5s");
    let started = Instant::now();
    let c = adapter.collect(env.window(HOUR)).await;
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let jobs = c.jobs.as_ref().unwrap_err().to_string();
    assert!(
        jobs.contains("jobs collector timed out after 1s 800ms"),
        "{jobs}"
    );
    let objects = c.inventory.as_ref().expect("inventory is fresh");
    assert!(!objects.is_empty());
    assert!(c.warnings.is_ok(), "{:?}", c.warnings);
    assert!(c.audit.is_ok(), "{:?}", c.audit);
    assert!(c.storage.is_ok(), "{:?}", c.storage);
    fault(&env, "clumio:clear");
    let c = adapter.collect(env.window(HOUR)).await;
    assert!(errors(&c).is_empty(), "{:?}", errors(&c));
}

/// Issue 13 point 2: a 200 answer of `{}` where a HAL page is expected fails the collector
/// with a protocol error naming the endpoint and the missing envelope, rather than reading
/// as an empty inventory (every object gone); the other collectors are untouched.
#[tokio::test]
async fn an_answer_without_the_envelope_fails_the_collector() {
    let env = Env::start(20).await;
    let adapter = env.adapter("");
    fault(&env, "clumio:empty=/datasources/aws/ec2-instances");
    let c = adapter.collect(env.window(HOUR)).await;
    let e = c.inventory.as_ref().unwrap_err().to_string();
    assert!(
        e.contains("GET /datasources/aws/ec2-instances: could not decode the response")
            && e.contains("missing field `_embedded`")
            && e.contains("the answer lacks the vendor's envelope"),
        "{e}"
    );
    assert!(c.storage.is_err());
    assert!(c.jobs.is_ok(), "{:?}", c.jobs.as_ref().err());
    assert!(c.skipped.is_empty(), "{:?}", c.skipped);

    fault(&env, "clumio:clear");
    fault(&env, "clumio:empty=/tasks");
    let c = adapter.collect(env.window(HOUR)).await;
    let e = c.jobs.unwrap_err().to_string();
    assert!(
        e.contains("GET /tasks") && e.contains("missing field `_embedded`"),
        "{e}"
    );
    assert!(!c.inventory.unwrap().is_empty());
}
