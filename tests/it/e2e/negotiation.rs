//! A real Prometheus scrapes both exposition formats of one exporter (contract §4): one job
//! through a proxy that passes Prometheus' own `Accept` (it asks for OpenMetrics), one through
//! a proxy that drops it, as curl or an older scraper would (classic text 0.0.4). Both jobs
//! must hold the same series with the same values.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::IntoResponse;
use backup_exporter::clock::Clock;
use backup_exporter::config::Settings;
use backup_exporter::exporter::Exporter;
use backup_exporter::sim::{SimContext, SimServer};
use serde_json::{Value, json};

use super::stack::{Prometheus, http, program};

#[derive(Clone)]
struct Proxy {
    upstream: String,
    pass_accept: bool,
    /// Content types the exporter answered with.
    seen: Arc<Mutex<Vec<String>>>,
}

async fn forward(State(p): State<Proxy>, headers: HeaderMap) -> impl IntoResponse {
    let mut req = http().get(&p.upstream);
    if p.pass_accept
        && let Some(a) = headers.get(header::ACCEPT)
    {
        req = req.header(header::ACCEPT, a.clone());
    }
    let r = req.send().await.expect("exporter answers");
    let ct = r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    p.seen.lock().unwrap().push(ct.clone());
    let body = r.text().await.unwrap();
    ([(header::CONTENT_TYPE, ct)], body)
}

async fn start_proxy(p: Proxy) -> SocketAddr {
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(forward))
        .with_state(p);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await });
    addr
}

/// Series of one job keyed by their labels without `job` and `instance`.
fn series(result: &[Value]) -> BTreeMap<String, String> {
    result
        .iter()
        .map(|s| {
            let mut m = s["metric"].as_object().cloned().unwrap_or_default();
            m.remove("job");
            m.remove("instance");
            let key = serde_json::to_string(&m).unwrap();
            (key, s["value"][1].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_openmetrics_and_classic_with_the_same_samples() {
    let Some(prometheus) = program(&["prometheus"], "prometheus") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sim = SimServer::start(
        "127.0.0.1:0",
        SimContext::new(42, 5),
        backup_exporter::vendors::simulators(),
    )
    .await
    .unwrap();
    let yaml = sim.demo_config(&dir.path().join("secrets"), None).unwrap();
    let settings = Settings::parse(&yaml, Path::new("demo.yml")).unwrap();
    let ex = Exporter::start(&settings, "127.0.0.1:0", Clock::system(), None)
        .await
        .unwrap();
    assert!(ex.wait_ready(Duration::from_secs(90)).await);

    let upstream = format!("http://{}/metrics", ex.addr);
    let om = Proxy {
        upstream: upstream.clone(),
        pass_accept: true,
        seen: Default::default(),
    };
    let classic = Proxy {
        upstream,
        pass_accept: false,
        seen: Default::default(),
    };
    let om_addr = start_proxy(om.clone()).await;
    let classic_addr = start_proxy(classic.clone()).await;

    let config = json!({
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
        "scrape_configs": [
            {"job_name": "om", "static_configs": [{"targets": [om_addr.to_string()]}]},
            {"job_name": "classic", "static_configs": [{"targets": [classic_addr.to_string()]}]},
        ],
    });
    let prom = Prometheus::with_config(&prometheus, dir.path(), &config).await;
    let query = |expr: String, time: f64| {
        let prom = &prom;
        async move {
            prom.query_at(&expr, Some(time))
                .await
                .unwrap_or_else(|e| panic!("{expr}: {e}"))
        }
    };
    // Both jobs up, then compare the two at one moment. Families whose values move with
    // every refresh or request are compared by their series only.
    let deadline = Instant::now() + Duration::from_secs(60);
    let moment = loop {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let up = query("sum(up)".into(), now).await;
        if up.first().and_then(|v| v["value"][1].as_str()) == Some("2") {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "both jobs up\n{}",
            prom.proc.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let om_series = series(&query(r#"{job="om",__name__=~"backup_.*"}"#.into(), moment).await);
    let classic_series =
        series(&query(r#"{job="classic",__name__=~"backup_.*"}"#.into(), moment).await);
    assert!(om_series.len() > 100, "the demo exports many series");
    assert_eq!(
        om_series.keys().collect::<Vec<_>>(),
        classic_series.keys().collect::<Vec<_>>(),
        "the same series in both formats"
    );
    let volatile = ["backup_api_", "backup_collector_", "backup_auth_"];
    let mut compared = 0;
    for (k, v) in &om_series {
        if volatile.iter().any(|p| k.contains(&format!("\"{p}"))) {
            continue;
        }
        assert_eq!(Some(v), classic_series.get(k), "{k}");
        compared += 1;
    }
    assert!(compared > 100);
    assert!(
        om.seen
            .lock()
            .unwrap()
            .iter()
            .all(|c| c.starts_with("application/openmetrics-text; version=1.0.0")),
        "Prometheus asked for OpenMetrics and got it"
    );
    assert!(
        classic
            .seen
            .lock()
            .unwrap()
            .iter()
            .all(|c| c.starts_with("text/plain; version=0.0.4")),
        "a client without Accept gets the classic format"
    );
    ex.stop().await;
}
