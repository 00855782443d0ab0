//! What real accounts vary in: the URL forms people paste, and a listing the account is
//! refused (403) or the release lacks (404).

use backup_exporter::exporter::Exporter;

use super::*;
use crate::common::{get, value};

#[tokio::test]
async fn every_documented_url_form_resolves_to_one_api_base() {
    let h = start(SimOptions::default()).await;
    let base = h.base.clone();
    let pw = h.secret("pw", data::MONITOR_PASSWORD);
    let want_api = format!("API base {base}/api,");
    let want_token = format!("token URL {base}/auth/oauth/token:");
    let want_audit = format!("audit base {base}/audit");
    let urls = [
        base.clone(),
        format!("{base}/"),
        format!("{base}/api"),
        format!("{base}/api/"),
    ];
    let auth_urls = [
        format!("{base}/auth/oauth/token"),
        format!("{base}/auth/oauth/token/"),
        format!("{base}/auth"),
        format!("{base}/auth/"),
    ];
    let audit_urls = [
        base.clone(),
        format!("{base}/"),
        format!("{base}/audit"),
        format!("{base}/audit/"),
    ];
    for (i, url) in urls.iter().enumerate() {
        let text = format!(
            "targets:\n  - name: cs\n    vendor: cloudsync\n    url: {url}\n    auth_url: {auth}\n    client_id: {cid}\n    username: {user}\n    password_file: {pw}\n    audit_url: {audit}\n",
            auth = auth_urls[i],
            audit = audit_urls[i],
            cid = PASSWORD_CLIENT_IDS[0],
            user = data::MONITOR_USER,
        );
        let settings = Settings::parse(&text, Path::new("t.yml")).expect("valid config");
        let ctx = AdapterContext {
            metrics: ApiMetrics::default(),
            clock: h.ctx.clock.clone(),
        };
        let a = backup_exporter::vendors::build(&settings.targets[0], &ctx).unwrap();
        let line = a
            .probe()
            .await
            .unwrap_or_else(|e| panic!("{url} / {}: {e}", auth_urls[i]));
        assert!(line.contains(&want_api), "{url}: {line}");
        assert!(line.contains(&want_token), "{}: {line}", auth_urls[i]);
        assert!(line.contains(&want_audit), "{}: {line}", audit_urls[i]);
        let got = a.collect(h.window()).await;
        assert!(got.inventory.is_ok() && got.audit.is_ok(), "{url}");
    }
}

async fn metrics_once_refreshed(h: &Harness) -> (Exporter, String) {
    let text = format!(
        "targets:\n  - name: cs\n    vendor: cloudsync\n    url: {}\n    interval: 300ms\n    timeout: 20s\n{}",
        h.base,
        h.password_target(&format!("    audit_url: {}\n", h.base))
    );
    let settings = Settings::parse(&text, Path::new("t.yml")).unwrap();
    let ex = Exporter::start(&settings, "127.0.0.1:0", h.ctx.clock.clone(), None)
        .await
        .unwrap();
    let at = h.now().as_nanosecond() as f64 / 1e9;
    for _ in 0..200 {
        let (status, m) = get(&format!("http://{}/metrics", ex.addr)).await;
        assert_eq!(status, 200);
        let all = ["inventory", "jobs", "warnings", "audit", "storage"]
            .iter()
            .all(|c| {
                value(
                    &m,
                    "backup_collector_last_success_timestamp_seconds",
                    &[("collector", c)],
                ) == Some(at)
            });
        if all {
            return (ex, m);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no refresh of every collector");
}

#[tokio::test]
async fn a_refused_optional_listing_is_a_skipped_part_and_the_rest_is_exported() {
    let cases = [
        ("cloudsync:refuse=data-brokers", "warnings", "data_brokers"),
        ("cloudsync:missing=data-brokers", "warnings", "data_brokers"),
        (
            "cloudsync:refuse=relationships-stats",
            "storage",
            "relationships_stats",
        ),
        (
            "cloudsync:missing=relationships-stats",
            "storage",
            "relationships_stats",
        ),
        ("cloudsync:refuse=audit/*", "audit", "audit"),
        ("cloudsync:missing=audit/*", "audit", "audit"),
    ];
    for (fault, collector, part) in cases {
        let h = start(SimOptions::default()).await;
        h.fault(fault);
        let (ex, m) = metrics_once_refreshed(&h).await;
        assert_eq!(
            value(&m, "backup_target_up", &[("target", "cs")]),
            Some(1.0),
            "{fault}"
        );
        assert_eq!(
            value(
                &m,
                "backup_collector_part_refused",
                &[("target", "cs"), ("collector", collector), ("part", part)]
            ),
            Some(1.0),
            "{fault}"
        );
        let refused = m
            .lines()
            .filter(|l| l.starts_with("backup_collector_part_refused{"))
            .count();
        assert_eq!(refused, 1, "{fault}: only that part");
        let monitor = h
            .world()
            .users
            .iter()
            .find(|u| u.email == data::MONITOR_USER)
            .unwrap();
        let relationships: usize = monitor
            .accounts
            .iter()
            .map(|a| {
                h.world()
                    .relationships
                    .iter()
                    .filter(|r| r.account == *a)
                    .count()
            })
            .sum();
        assert_eq!(
            value(&m, "backup_exported_objects", &[("target", "cs")]),
            Some(relationships as f64),
            "{fault}: every relationship is exported"
        );
        drop(ex);
    }
}

#[tokio::test]
async fn a_server_error_on_an_optional_listing_still_fails_its_collector() {
    let h = start(SimOptions::default()).await;
    let a = h.adapter(&h.password_target(&format!("    audit_url: {}\n", h.base)));
    a.probe().await.unwrap();
    // Every request fails with 5xx: the optional listings too, and nothing is skipped.
    h.fault("cloudsync:5xx=1");
    let got = a.collect(h.window()).await;
    assert!(got.warnings.is_err() && got.storage.is_err() && got.audit.is_err());
    assert!(got.skipped.is_empty());
}

#[tokio::test]
async fn a_report_goes_on_without_a_refused_audit_listing() {
    let h = start(SimOptions::default()).await;
    h.fault("cloudsync:refuse=audit/*");
    let a = h.adapter(&h.password_target(&format!("    audit_url: {}\n", h.base)));
    let to = h.now();
    let from = to - SignedDuration::from_hours(24 * 7);
    let history = a
        .history(
            Period { from, to },
            backup_exporter::adapter::REPORT_LOOKBACK,
        )
        .await
        .expect("history");
    assert!(!history.objects.is_empty());
    assert!(history.audit.is_empty());
    let parts: Vec<(&str, &str)> = history
        .skipped
        .iter()
        .map(|p| (p.collector.as_str(), p.part))
        .collect();
    assert_eq!(parts, [("audit", "audit")]);
}
