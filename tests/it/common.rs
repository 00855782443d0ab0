//! Helpers shared by the integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

/// A file of this repository, by its path from the repository root.
pub fn repo_file(rel: &str) -> String {
    let path = format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Fetches `/metrics` as Prometheus does (asking for OpenMetrics); `get` gets the classic
/// text format that curl and promtool see.
pub async fn get_openmetrics(url: &str) -> (u16, String) {
    backup_exporter::api::install_crypto_provider();
    let r = reqwest::Client::new()
        .get(url)
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        )
        .send()
        .await
        .expect("request");
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

/// Fetches a URL's body as text.
pub async fn get(url: &str) -> (u16, String) {
    backup_exporter::api::install_crypto_provider();
    let r = reqwest::get(url).await.expect("request");
    let status = r.status().as_u16();
    (status, r.text().await.expect("body"))
}

/// The samples of an OpenMetrics text, keyed by `name{labels}` as written.
pub fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect()
}

/// The value of the one sample whose name is `name` and whose labels include all `labels`.
pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for (k, v) in samples(text) {
        let (n, rest) = k.split_once('{').unwrap_or((k.as_str(), "}"));
        if n != name {
            continue;
        }
        if labels
            .iter()
            .all(|(lk, lv)| rest.contains(&format!("{lk}=\"{lv}\"")))
        {
            assert!(
                found.is_none(),
                "more than one sample matches {name} {labels:?}"
            );
            found = Some(v);
        }
    }
    found
}

/// Metric family names declared by `# TYPE` lines, with the sample names they produce.
pub fn families(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| {
            let (name, ty) = l.split_once(' ')?;
            Some((name.to_owned(), ty.to_owned()))
        })
        .collect()
}

/// The exposed name of a family: counters gain `_total`, info metrics `_info`.
pub fn exposed_names(text: &str) -> Vec<String> {
    families(text)
        .into_iter()
        .map(|(n, ty)| match ty.as_str() {
            "counter" => format!("{n}_total"),
            "info" => format!("{n}_info"),
            _ => n,
        })
        .collect()
}

/// Whether a tool is on PATH. In CI a missing tool is a failure, never a skip.
pub fn require_tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is required in CI (install Debian's prometheus packages; .ci/run does)"
        );
        eprintln!("SKIPPED: {tool} not installed (CI installs it)");
    }
    found
}

/// Runs `promtool check metrics` on classic text; returns (exit code, output).
pub fn promtool_check_metrics(classic: &str) -> (i32, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(classic.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The demo config of a running simulator, parsed: its secret files are written into the
/// returned folder, which must outlive the settings' use.
pub fn demo_settings(
    server: &backup_exporter::sim::SimServer,
) -> (tempfile::TempDir, backup_exporter::config::Settings) {
    let dir = tempfile::tempdir().unwrap();
    let yaml = server.demo_config(dir.path(), None).unwrap();
    let settings =
        backup_exporter::config::Settings::parse(&yaml, &dir.path().join("demo.yml")).unwrap();
    (dir, settings)
}
