//! The simulator's own quirks, seen with a plain HTTP client, and the demo config.

use super::*;

#[tokio::test]
async fn simulator_requires_origin_and_a_live_bearer_token() {
    let h = Harness::start().await;
    let form = [
        ("client_id", CLIENT_ID),
        ("grant_type", "password"),
        ("username", USERNAME),
        ("password", PASSWORD),
    ];
    let (status, body) = raw(
        &h,
        reqwest::Method::POST,
        "/v1/oauth",
        None,
        None,
        Some(&form),
    )
    .await;
    assert_eq!(status, 403);
    for key in ["code", "message", "developerMessage", "status"] {
        assert!(body.get(key).is_some(), "{key} in {body}");
    }
    let wrong = [
        ("client_id", CLIENT_ID),
        ("grant_type", "password"),
        ("username", USERNAME),
        ("password", "x"),
    ];
    let (status, body) = raw(
        &h,
        reqwest::Method::POST,
        "/v1/oauth",
        Some(ORIGIN),
        None,
        Some(&wrong),
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    let t = token(&h).await;
    let get = reqwest::Method::GET;
    let (status, body) = raw(&h, get.clone(), "/v1/fullVersion", None, Some(&t), None).await;
    assert_eq!((status, body["status"].as_u64()), (403, Some(403)));
    let (status, _) = raw(
        &h,
        get.clone(),
        "/v1/fullVersion",
        Some("https://elsewhere.example"),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = raw(
        &h,
        get.clone(),
        "/v1/fullVersion",
        Some(ORIGIN),
        Some("forged"),
        None,
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (401, Some("Unauthorized")));
    let (status, body) = raw(
        &h,
        get.clone(),
        "/v1/fullVersion",
        Some(ORIGIN),
        Some(&t),
        None,
    )
    .await;
    assert_eq!((status, body), (200, Value::String("1.0.4480.0".into())));
    h.clock.advance(Duration::from_secs(299));
    let (status, body) = raw(&h, get, "/v1/fullVersion", Some(ORIGIN), Some(&t), None).await;
    assert_eq!(status, 401);
    assert!(
        body["developerMessage"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}

#[tokio::test]
async fn simulator_jobs_window_is_strict_and_reports_omit_status_unless_asked() {
    let h = Harness::start().await;
    let t = token(&h).await;
    let w = h.world();
    let now = h.clock.now();
    let c = w
        .consumers
        .iter()
        .find(|c| {
            w.first_job(c.id, now).is_some()
                && c.node
                    .as_ref()
                    .is_some_and(|n| n.decommissioned_since.is_none())
        })
        .unwrap();
    let first = w.first_job(c.id, now).unwrap().completed.unwrap();
    let base = format!("/v1/bunits/{}/consumers/{}", c.bunit, c.id);
    let get = reqwest::Method::GET;

    let (status, body) = raw(
        &h,
        get.clone(),
        &format!("{base}/jobs/first"),
        Some(ORIGIN),
        Some(&t),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["completed"]
            .as_str()
            .unwrap()
            .parse::<Timestamp>()
            .unwrap(),
        first
    );
    assert_eq!(body["id"], 0, "bogus values besides completed");

    let early = clock::before(first, Duration::from_secs(1));
    let path = format!("{base}/jobs?startTime={early}&endTime={now}");
    let (status, _) = raw(&h, get.clone(), &path, Some(ORIGIN), Some(&t), None).await;
    assert_eq!(status, 400);
    for route in ["jobs", "jobs/first"] {
        let path = format!("{base}/{route}?startTime={first}&endTime={now}");
        let (status, body) = raw(&h, get.clone(), &path, Some(ORIGIN), Some(&t), None).await;
        assert_eq!(status, 200, "{route}");
        assert_eq!(
            body["total"].as_u64().unwrap() as usize,
            w.jobs(c.id, first, now, now).len()
        );
    }
    let (_, body) = raw(
        &h,
        get.clone(),
        &format!("{base}/jobs"),
        Some(ORIGIN),
        Some(&t),
        None,
    )
    .await;
    let day = clock::before(now, Duration::from_secs(86_400));
    assert_eq!(
        body["total"].as_u64().unwrap() as usize,
        w.jobs(c.id, day, now, now).len(),
        "the last 24 h"
    );

    let (_, plain) = raw(
        &h,
        get.clone(),
        &format!("{base}/reports/latest"),
        Some(ORIGIN),
        Some(&t),
        None,
    )
    .await;
    assert!(plain.get("status").is_none() && plain.get("warnings").is_none());
    let (_, full) = raw(
        &h,
        get,
        &format!("{base}/reports/latest?status=true&warnings=true"),
        Some(ORIGIN),
        Some(&t),
        None,
    )
    .await;
    assert!(full.get("status").is_some() && full["warnings"].is_array());
}

#[tokio::test]
async fn demo_config_points_at_the_simulator_and_collects() {
    let mut ctx = SimContext::new(SEED, 12);
    ctx.clock = Clock::manual(NOW.parse().unwrap());
    let server = backup_exporter::sim::SimServer::start(
        "127.0.0.1:0",
        ctx.clone(),
        backup_exporter::vendors::simulators(),
    )
    .await
    .unwrap();
    let (_dir, settings) = crate::common::demo_settings(&server);
    let target = settings
        .targets
        .iter()
        .find(|t| t.name == "cloutility-demo")
        .unwrap();
    let a = vendors::build(
        target,
        &AdapterContext {
            metrics: ApiMetrics::default(),
            clock: ctx.clock.clone(),
        },
    )
    .unwrap();
    let line = a.probe().await.unwrap();
    assert!(line.ends_with("6 business units, 12 consumers"), "{line}");
}
