//! `POST /-/refresh` over HTTP against an adapter that counts its refreshes: it starts one
//! now, joins one in flight, answers 429 with `Retry-After` when asked too soon, 404 for an
//! unknown target and when disabled, and sits behind the web config's basic auth.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use backup_exporter::adapter::{Adapter, Collection, Window};
use backup_exporter::api::ApiMetrics;
use backup_exporter::clock::Clock;
use backup_exporter::config::Settings;
use backup_exporter::exporter::Exporter;
use backup_exporter::model::Storage;
use backup_exporter::web::WebConfig;

/// Counts refreshes; each takes `hold`.
struct Counting {
    calls: AtomicU64,
    hold: Duration,
}

#[async_trait]
impl Adapter for Counting {
    async fn collect(&self, _w: Window) -> Collection {
        self.calls.fetch_add(1, Ordering::SeqCst);
        tokio::time::sleep(self.hold).await;
        Collection {
            inventory: Ok(vec![]),
            jobs: Ok(vec![]),
            warnings: Ok(vec![]),
            audit: Ok(vec![]),
            storage: Ok(Storage::default()),
            skipped: vec![],
        }
    }
    async fn probe(&self) -> Result<String, backup_exporter::adapter::VendorError> {
        Ok("counting".into())
    }
}

fn settings(endpoint: &str) -> Settings {
    Settings::parse(
        &format!(
            "defaults: {{interval: 1h, timeout: 30s}}\n{endpoint}\ntargets:\n  - {{name: t1, vendor: cloutility, url: \"http://127.0.0.1:9\", client_id: c, origin: \"http://o\", username: u, password_env: NOPE}}\n"
        ),
        Path::new("refresh.yml"),
    )
    .unwrap()
}

async fn start(
    endpoint: &str,
    hold: Duration,
    web: Option<WebConfig>,
) -> (Exporter, Arc<Counting>) {
    let adapter = Arc::new(Counting {
        calls: AtomicU64::new(0),
        hold,
    });
    let ex = Exporter::start_with(
        &settings(endpoint),
        vec![adapter.clone() as Arc<dyn Adapter>],
        ApiMetrics::default(),
        "127.0.0.1:0",
        Clock::system(),
        web,
    )
    .await
    .unwrap();
    assert!(ex.wait_ready(Duration::from_secs(10)).await);
    (ex, adapter)
}

async fn wait_calls(a: &Counting, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while a.calls.load(Ordering::SeqCst) < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "refresh {n} never came"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_post_refreshes_now_and_a_second_one_joins_it() {
    let (ex, a) = start(
        "refresh_endpoint: {enabled: true, min_interval: 300ms}",
        Duration::from_millis(700),
        None,
    )
    .await;
    assert_eq!(a.calls.load(Ordering::SeqCst), 1, "the first refresh only");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let c = reqwest::Client::new();
    let url = format!("http://{}/-/refresh?target=t1", ex.addr);
    let r = c.post(&url).send().await.unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(r.text().await.unwrap(), "t1: refresh started\n");
    wait_calls(&a, 2).await;
    // The refresh holds for 700 ms: a second request joins it.
    let r = c.post(&url).send().await.unwrap();
    assert_eq!(r.status(), 202);
    assert_eq!(
        r.text().await.unwrap(),
        "t1: joined the refresh in flight\n"
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        a.calls.load(Ordering::SeqCst),
        2,
        "joined, not started again"
    );
    // Without `target`: every target.
    let r = c
        .post(format!("http://{}/-/refresh", ex.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    wait_calls(&a, 3).await;
    ex.stop().await;
}

#[tokio::test]
async fn too_soon_is_429_with_retry_after() {
    let (ex, a) = start(
        "refresh_endpoint: {enabled: true, min_interval: 1h}",
        Duration::ZERO,
        None,
    )
    .await;
    let r = reqwest::Client::new()
        .post(format!("http://{}/-/refresh?target=t1", ex.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((3590..=3600).contains(&retry), "{retry}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(a.calls.load(Ordering::SeqCst), 1, "no refresh started");
    ex.stop().await;
}

#[tokio::test]
async fn unknown_target_and_disabled_endpoint_are_404() {
    let (ex, _) = start("refresh_endpoint: {enabled: true}", Duration::ZERO, None).await;
    let c = reqwest::Client::new();
    let r = c
        .post(format!("http://{}/-/refresh?target=nope", ex.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("\"nope\""));
    assert_eq!(
        c.get(format!("http://{}/-/refresh", ex.addr))
            .send()
            .await
            .unwrap()
            .status(),
        405,
        "POST only"
    );
    ex.stop().await;

    let (ex, a) = start("", Duration::ZERO, None).await;
    let r = c
        .post(format!("http://{}/-/refresh?target=t1", ex.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.text().await.unwrap().contains("disabled"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(a.calls.load(Ordering::SeqCst), 1);
    ex.stop().await;
}

#[tokio::test]
async fn the_endpoint_needs_the_web_configs_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.yml");
    let hash = bcrypt::hash("post-me", 4).unwrap();
    std::fs::write(&path, format!("basic_auth_users:\n  backup: '{hash}'\n")).unwrap();
    let (ex, a) = start(
        "refresh_endpoint: {enabled: true, min_interval: 1ms}",
        Duration::ZERO,
        Some(WebConfig::load(&path).unwrap()),
    )
    .await;
    let c = reqwest::Client::new();
    let url = format!("http://{}/-/refresh?target=t1", ex.addr);
    assert_eq!(c.post(&url).send().await.unwrap().status(), 401);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        a.calls.load(Ordering::SeqCst),
        1,
        "refused before the handler"
    );
    let r = c
        .post(&url)
        .basic_auth("backup", Some("post-me"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    wait_calls(&a, 2).await;
    ex.stop().await;
}
