//! The example Alertmanager configuration's inhibitions, in a real Alertmanager.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::stack::{Webhook, http, program, start_alertmanager};

/// Inhibition cannot be checked offline (amtool has no command for it), so the example
/// configuration runs in a real Alertmanager and alerts are posted to it directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_example_holds_object_alerts_back_while_their_target_is_blind() {
    let Some(binary) = program(
        &["prometheus-alertmanager", "alertmanager"],
        "prometheus-alertmanager",
    ) else {
        return;
    };
    let run = async {
        let dir = tempfile::tempdir().expect("temp dir");
        let hook = Webhook::default();
        let hook_addr = hook.start().await;
        let am = start_alertmanager(&binary, dir.path(), hook_addr).await;
        let client = http();
        let post = |alerts: Value| {
            let client = client.clone();
            let url = format!("{}/api/v2/alerts", am.url);
            async move {
                let r = client
                    .post(url)
                    .json(&alerts)
                    .send()
                    .await
                    .expect("post alerts");
                assert!(
                    r.status().is_success(),
                    "Alertmanager refused the alerts: {}",
                    r.status()
                );
            }
        };
        let object_on = |instance: &str, alert: &str, severity: &str, target: &str, id: &str| {
            json!({"labels": {
                "alertname": alert, "severity": severity, "job": "backup-exporter",
                "instance": instance, "vendor": "cloutility", "target": target,
                "tenant": "Finance", "object_id": id, "object": format!("db-{id}"),
            }, "annotations": {"summary": "test"}})
        };
        let object = |alert: &str, severity: &str, target: &str, id: &str| {
            object_on("exporter-1:9987", alert, severity, target, id)
        };

        // The blind target, the down exporter and the stronger alert first, so that the
        // inhibitions are in place.
        post(json!([
            {"labels": {"alertname": "BackupTargetDataStale", "severity": "critical",
                        "vendor": "cloutility", "target": "blind", "collector": "inventory"}},
            {"labels": {"alertname": "BackupExporterDown", "severity": "critical",
                        "job": "backup-exporter", "instance": "exporter-2:9987"}},
            object("BackupRPOBreached", "critical", "seeing", "1"),
        ]))
        .await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        post(json!([
            object("BackupNeverSucceeded", "critical", "blind", "2"),
            object("BackupLastFailed", "warning", "blind", "3"),
            object("BackupNeverSucceeded", "critical", "seeing", "4"),
            object("BackupRPOBreached", "warning", "seeing", "1"),
            object("BackupRPOBreached", "warning", "seeing", "5"),
            object_on(
                "exporter-2:9987",
                "BackupNeverSucceeded",
                "critical",
                "seeing",
                "6"
            ),
        ]))
        .await;

        let names = |receiver: &str| -> BTreeSet<(String, String)> {
            hook.firing(receiver)
                .iter()
                .map(|a| {
                    let l = &a["labels"];
                    let what = l["object"]
                        .as_str()
                        .or(l["target"].as_str())
                        .or(l["instance"].as_str())
                        .unwrap_or("")
                        .to_owned();
                    (l["alertname"].as_str().unwrap_or("").to_owned(), what)
                })
                .collect()
        };
        let want_pages: BTreeSet<(String, String)> = [
            ("BackupTargetDataStale", "blind"),
            ("BackupExporterDown", "exporter-2:9987"),
            ("BackupRPOBreached", "db-1"),
            ("BackupNeverSucceeded", "db-4"),
        ]
        .into_iter()
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .collect();
        let want_tickets: BTreeSet<(String, String)> =
            [("BackupRPOBreached".to_owned(), "db-5".to_owned())].into();
        let deadline = Instant::now() + Duration::from_secs(30);
        while names("backup-pager") != want_pages || names("backup-tickets") != want_tickets {
            assert!(
                Instant::now() < deadline,
                "pages {:?}, tickets {:?}\n{}",
                names("backup-pager"),
                names("backup-tickets"),
                am.proc.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        // Several group intervals later the inhibited alerts are still held back.
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(
            names("backup-pager"),
            want_pages,
            "object alerts of a blind target or a down exporter must not page"
        );
        assert_eq!(
            names("backup-tickets"),
            want_tickets,
            "a warning under a critical of the same object is held back"
        );
    };
    tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("the Alertmanager test took too long");
}
