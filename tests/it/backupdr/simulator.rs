//! The simulator itself speaks the console's dialect, and the demo config works.

use super::*;

#[tokio::test]
async fn the_simulator_speaks_the_list_view_dialect() {
    let env = start(
        12,
        SimOptions {
            page_cap: 5,
            ..SimOptions::default()
        },
    )
    .await;
    let auth = env.login_by_hand().await;
    let client = reqwest::Client::new();
    let url = |p: &str| env.base.join(p).unwrap();
    let with = |r: reqwest::RequestBuilder| {
        r.bearer_auth(&auth.0)
            .header("backupdr-management-session", format!("Actifio {}", auth.1))
    };

    // HEAD: 204 and the total; paging controls are ignored.
    let r = with(client.head(url("actifio/application?limit=2")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        r.headers()["actifio-count"],
        env.world.apps.len().to_string().as_str()
    );

    // The cap wins over the limit asked for; `count` is the page length; ids are strings.
    let v: Value = with(client.get(url("actifio/application?limit=100&offset=3")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["count"], 5);
    assert_eq!(v["items"].as_array().unwrap().len(), 5);
    assert!(v["items"][0]["id"].is_string());
    assert_eq!(v["items"][0]["@type"], "applicationRest");

    // Raw and encoded filters, AND across fields, OR within one, µs dates, sort.
    let since = (env.now() - SignedDuration::from_hours(24)).as_microsecond();
    let raw = format!(
        "actifio/jobstatus?filter=status:==failed&filter=status:==canceled&filter=enddate:>={since}&sort=enddate:desc&limit=1000"
    );
    let v: Value = with(client.get(url(&raw)))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = v["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(
        items
            .iter()
            .all(|j| matches!(j["status"].as_str(), Some("failed" | "canceled")))
    );
    assert!(
        items
            .iter()
            .all(|j| j["enddate"].as_i64().unwrap() >= since)
    );
    assert!(
        items
            .windows(2)
            .all(|p| p[0]["enddate"].as_i64() >= p[1]["enddate"].as_i64())
    );
    assert!(
        items[0]["enddate"].as_i64().unwrap() > 1_000_000_000_000_000,
        "µs"
    );
    let want = env
        .world
        .jobs(
            env.now(),
            env.now() - SignedDuration::from_hours(29),
            env.now(),
            None,
        )
        .into_iter()
        .filter(|j| j.ended() && j.end.as_microsecond() >= since)
        .filter(|j| matches!(j.status, "failed" | "canceled"))
        .count();
    assert_eq!(items.len(), want.min(5));
    let encoded = format!(
        "actifio/jobstatus?filter=status%3A%3D%3Dfailed&filter=status%3A%3D%3Dcanceled&filter=enddate%3A%3E%3D{since}"
    );
    let r = with(client.head(url(&encoded))).send().await.unwrap();
    assert_eq!(r.headers()["actifio-count"], want.to_string().as_str());

    // OPTIONS lists the fields; a field it does not list is a 400 in the console's shape.
    let v: Value = with(client.request(reqwest::Method::OPTIONS, url("actifio/jobstatus")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fields = v["GET(list)"]["filterablefields"].as_array().unwrap();
    assert!(
        fields
            .iter()
            .any(|f| f["field"] == "status" && f["values"].as_array().is_some())
    );
    let r = with(client.get(url("actifio/jobstatus?filter=colour:==red")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(text.contains("\"err_code\" : 10020"), "{text}");

    // Beyond the end: an empty page, not an error.
    let v: Value = with(client.get(url("actifio/cluster?offset=99")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["count"], 0);

    // A missing session header: JSON 401 with the Actifio scheme.
    let r = client
        .get(url("actifio/cluster"))
        .bearer_auth(&auth.0)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["err_code"], 10011);
    // A session POST without a length is refused by the front end.
    let reply = raw_http(
        &env,
        &format!(
            "POST /backupdr/actifio/session HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            env.base.authority(),
            auth.0
        ),
    )
    .await;
    assert!(reply.starts_with("HTTP/1.1 411"), "{reply}");
}

async fn raw_http(env: &Env, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(env.base.socket_addrs(|| None).unwrap()[0])
        .await
        .unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test]
async fn the_demo_config_points_at_a_working_simulator() {
    let ctx = SimContext::new(3, 10);
    let server = SimServer::start("127.0.0.1:0", ctx, backup_exporter::vendors::simulators())
        .await
        .unwrap();
    let (_dir, settings) = crate::common::demo_settings(&server);
    let target = settings
        .targets
        .iter()
        .find(|t| t.vendor == Vendor::Backupdr)
        .expect("a backupdr demo target");
    assert_eq!(target.name, "backupdr-demo");
    // The demo's variant: the console URL as Google shows it, a bare host without `/actifio`.
    let url = target.url.as_ref().unwrap();
    assert!(!url.path().contains("actifio"), "{url}");
    let ctx = AdapterContext {
        metrics: ApiMetrics::default(),
        clock: Clock::system(),
    };
    let adapter = backup_exporter::vendors::build(target, &ctx).unwrap();
    let s = adapter.probe().await.unwrap();
    assert!(s.contains("10 applications"), "{s}");
    assert!(
        s.starts_with(&format!(
            "API base {}/actifio:",
            url.as_str().trim_end_matches('/')
        )),
        "{s}"
    );
}
