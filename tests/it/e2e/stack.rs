//! The programs of an end-to-end test: child processes that stop when dropped, a webhook
//! receiver, Alertmanager with the example configuration and Prometheus with the rules.

use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use crate::dashboards::{load_rules, repo_path};

/// A child process that is stopped (SIGTERM, then SIGKILL) when dropped.
pub(crate) struct Proc {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Proc {
    pub(crate) fn spawn(name: &str, program: &Path, args: &[String], dir: &Path) -> Proc {
        let log = dir.join(format!("{name}.log"));
        let out = File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        Proc {
            name: name.to_owned(),
            child,
            log,
        }
    }

    /// The end of the process' output, for failure messages.
    pub(crate) fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(30);
        format!(
            "--- last lines of {} ---\n{}",
            self.name,
            lines[from..].join("\n")
        )
    }

    pub(crate) fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(format!(
                "{} exited ({status})\n{}",
                self.name,
                self.log_tail()
            )),
            _ => None,
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The first of `names` on PATH; `None` (after saying so) when none is, outside CI.
pub(crate) fn program(names: &[&str], package: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH").unwrap_or_default();
    let found = names.iter().find_map(|n| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(n))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is required in CI (Debian package {package}; .ci/run installs it)",
            names[0]
        );
        eprintln!("SKIPPED: {} not installed (package {package})", names[0]);
    }
    found
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

pub(crate) fn http() -> reqwest::Client {
    backup_exporter::api::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("HTTP client")
}

/// Polls `url` until it answers 200, failing early when `proc` dies.
pub(crate) async fn wait_ready(
    client: &reqwest::Client,
    url: &str,
    proc: &mut Proc,
    limit: Duration,
) {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(why) = proc.exited() {
            panic!("{why}");
        }
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} not ready in time\n{}",
            proc.log_tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

// ------------------------------------------------------------------------ webhook

/// Notifications Alertmanager posted, as (receiver, payload).
#[derive(Clone, Default)]
pub(crate) struct Webhook(pub Arc<Mutex<Vec<(String, Value)>>>);

impl Webhook {
    pub(crate) async fn start(&self) -> SocketAddr {
        async fn receive(
            State(hook): State<Webhook>,
            UrlPath(receiver): UrlPath<String>,
            Json(body): Json<Value>,
        ) {
            hook.0.lock().unwrap().push((receiver, body));
        }
        let app = Router::new()
            .route("/{receiver}", post(receive))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("webhook port");
        let addr = listener.local_addr().expect("webhook address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        addr
    }

    /// Every alert notified to `receiver` so far (with status "firing").
    pub(crate) fn firing(&self, receiver: &str) -> Vec<Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _)| r == receiver)
            .flat_map(|(_, body)| body["alerts"].as_array().cloned().unwrap_or_default())
            .filter(|a| a["status"] == "firing")
            .collect()
    }

    pub(crate) fn payloads(&self, receiver: &str) -> Vec<Value> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|(r, _)| r == receiver)
            .map(|(_, b)| b.clone())
            .collect()
    }
}

// ------------------------------------------------------------------------ alertmanager

/// The example configuration with its webhooks pointed at `hook` (one path per receiver)
/// and its waits shortened to a second, written as JSON (which is YAML).
fn alertmanager_test_config(hook: SocketAddr) -> String {
    let path = repo_path("alerts/alertmanager.example.yml");
    let mut doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    doc["route"]["group_wait"] = json!("1s");
    doc["route"]["group_interval"] = json!("1s");
    for route in doc["route"]["routes"].as_array_mut().into_iter().flatten() {
        if let Some(r) = route.as_object_mut() {
            r.remove("group_wait");
            r.remove("group_interval");
        }
    }
    let mut hooked = 0;
    for receiver in doc["receivers"].as_array_mut().expect("receivers") {
        let name = receiver["name"].as_str().unwrap_or("").to_owned();
        for w in receiver["webhook_configs"]
            .as_array_mut()
            .into_iter()
            .flatten()
        {
            w["url"] = json!(format!("http://{hook}/{name}"));
            hooked += 1;
        }
    }
    assert!(
        hooked >= 2,
        "the example has no webhook receivers to point at the test"
    );
    doc.to_string()
}

pub(crate) struct Alertmanager {
    pub proc: Proc,
    pub url: String,
}

pub(crate) async fn start_alertmanager(
    binary: &Path,
    dir: &Path,
    hook: SocketAddr,
) -> Alertmanager {
    let config = dir.join("alertmanager.yml");
    std::fs::write(&config, alertmanager_test_config(hook)).unwrap();
    let port = free_port();
    let mut proc = Proc::spawn(
        "alertmanager",
        binary,
        &[
            format!("--config.file={}", config.display()),
            format!("--storage.path={}", dir.join("am-data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
            "--cluster.listen-address=".to_owned(),
        ],
        dir,
    );
    let url = format!("http://127.0.0.1:{port}");
    wait_ready(
        &http(),
        &format!("{url}/-/ready"),
        &mut proc,
        Duration::from_secs(30),
    )
    .await;
    Alertmanager { proc, url }
}

// ------------------------------------------------------------------------ prometheus

/// The shipped rules with `for:` removed and an `e2e: immediate` label, so that their alerts
/// fire (and reach Alertmanager) within the test instead of staying pending for an hour.
fn immediate_rules() -> String {
    let mut doc = load_rules();
    for group in doc["groups"].as_array_mut().expect("groups") {
        let name = format!("{}-e2e-immediate", group["name"].as_str().unwrap_or(""));
        group["name"] = json!(name);
        for rule in group["rules"].as_array_mut().expect("rules") {
            if let Some(r) = rule.as_object_mut() {
                r.remove("for");
            }
            rule["labels"]["e2e"] = json!("immediate");
        }
    }
    doc.to_string()
}

pub(crate) struct Prometheus {
    pub proc: Proc,
    pub url: String,
    client: reqwest::Client,
}

impl Prometheus {
    /// Scrapes `scrape` every second with the shipped rules (and their immediate copies)
    /// loaded, sending alerts to `alertmanager` if given.
    pub(crate) async fn start(
        binary: &Path,
        dir: &Path,
        scrape: SocketAddr,
        alertmanager: Option<&str>,
    ) -> Prometheus {
        let immediate = dir.join("immediate.rules.yml");
        std::fs::write(&immediate, immediate_rules()).unwrap();
        let am: Vec<&str> = alertmanager
            .map(|u| u.trim_start_matches("http://"))
            .into_iter()
            .collect();
        let config = json!({
            // A debug build needs about half a second for the demo's /metrics on a busy
            // machine: two seconds leave room without slowing the test much.
            "global": {"scrape_interval": "2s", "scrape_timeout": "2s", "evaluation_interval": "1s"},
            "rule_files": [
                repo_path("alerts/backup-exporter.rules.yml").display().to_string(),
                immediate.display().to_string(),
            ],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": am}]}]},
            "scrape_configs": [{
                "job_name": "backup-exporter",
                "static_configs": [{"targets": [scrape.to_string()]}],
            }],
        });
        Prometheus::with_config(binary, dir, &config).await
    }

    /// A Prometheus with `config` (a `prometheus.yml` as JSON), ready to answer queries.
    pub(crate) async fn with_config(binary: &Path, dir: &Path, config: &Value) -> Prometheus {
        let path = dir.join("prometheus.yml");
        std::fs::write(&path, config.to_string()).unwrap();
        let port = free_port();
        let mut proc = Proc::spawn(
            "prometheus",
            binary,
            &[
                format!("--config.file={}", path.display()),
                format!("--storage.tsdb.path={}", dir.join("prom-data").display()),
                format!("--web.listen-address=127.0.0.1:{port}"),
            ],
            dir,
        );
        let url = format!("http://127.0.0.1:{port}");
        let client = http();
        wait_ready(
            &client,
            &format!("{url}/-/ready"),
            &mut proc,
            Duration::from_secs(30),
        )
        .await;
        Prometheus { proc, url, client }
    }

    /// An instant query now: the result vector (a scalar comes back as one sample), or
    /// Prometheus' error (a parse error, for instance).
    pub(crate) async fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        self.query_at(expr, None).await
    }

    /// An instant query at `time` (Unix seconds), so that a batch of queries sees one
    /// consistent moment even if a later scrape fails and marks the series stale.
    pub(crate) async fn query_at(
        &self,
        expr: &str,
        time: Option<f64>,
    ) -> Result<Vec<Value>, String> {
        let mut params = vec![("query", expr.to_owned())];
        if let Some(t) = time {
            params.push(("time", format!("{t:.3}")));
        }
        let r = self
            .client
            .get(format!("{}/api/v1/query", self.url))
            .query(&params)
            .send()
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let body: Value = r.json().await.map_err(|e| format!("bad answer: {e}"))?;
        if body["status"] != "success" {
            return Err(format!("{}: {}", body["errorType"], body["error"]));
        }
        match body["data"]["resultType"].as_str() {
            Some("vector") | Some("matrix") => Ok(body["data"]["result"]
                .as_array()
                .cloned()
                .unwrap_or_default()),
            _ => Ok(vec![body["data"]["result"].clone()]),
        }
    }

    pub(crate) async fn value(&self, expr: &str) -> Option<f64> {
        let v = self.query(expr).await.ok()?;
        v.first()?["value"][1].as_str()?.parse().ok()
    }

    /// The time of the newest evaluation at which the last scrape of the exporter had
    /// succeeded.
    pub(crate) async fn healthy_moment(&self) -> Option<f64> {
        let up = self.query(r#"up{job="backup-exporter"} == 1"#).await.ok()?;
        up.first()?["value"][0].as_f64()
    }

    /// Alerts of the shipped rules (not the immediate copies), pending or firing.
    pub(crate) async fn alerts(&self) -> Vec<Value> {
        let Ok(r) = self
            .client
            .get(format!("{}/api/v1/alerts", self.url))
            .send()
            .await
        else {
            return Vec::new();
        };
        let body: Value = r.json().await.unwrap_or_default();
        body["data"]["alerts"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|a| a["labels"]["e2e"].is_null())
            .collect()
    }
}
