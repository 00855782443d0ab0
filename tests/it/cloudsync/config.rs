//! The Cloud Sync docs and example config agree with the code.

use super::*;

#[test]
fn the_example_config_is_valid() {
    let path = format!(
        "{}/config/cloudsync.example.yml",
        env!("CARGO_MANIFEST_DIR")
    );
    let settings = Settings::load(Path::new(&path)).expect("example config is valid");
    assert!(settings.targets.len() >= 2);
    assert!(
        settings
            .targets
            .iter()
            .all(|t| t.vendor == Vendor::Cloudsync)
    );
    let ctx = AdapterContext {
        metrics: ApiMetrics::default(),
        clock: Clock::system(),
    };
    for t in &settings.targets {
        backup_exporter::vendors::build(t, &ctx).expect("builds");
    }
}

#[test]
fn every_key_is_documented() {
    let doc = crate::common::repo_file("docs/vendors/cloudsync.md");
    for key in backup_exporter::vendors::allowed_keys(backup_exporter::model::Vendor::Cloudsync) {
        assert!(doc.contains(&format!("`{key}`")), "docs lack `{key}`");
    }
}

/// The `check` messages the doc quotes are the ones invalid targets produce.
#[test]
fn the_quoted_check_messages_are_real() {
    let doc = crate::common::repo_file("docs/vendors/cloudsync.md");
    let quoted: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("- `` "))
        .filter_map(|l| l.strip_suffix(" ``"))
        .collect();
    assert!(quoted.len() >= 4, "{quoted:?}");
    let invalid = [
        "    client_id: c\n    refresh_token: r\n",
        "    auth_url: http://x\n    client_id: c\n",
        "    auth_url: http://x\n    client_id: c\n    username: u\n    password: p\n    refresh_token: r\n",
        "    auth_url: http://x\n    client_id: c\n    username: u\n    refresh_token: r\n",
        "    auth_url: http://x\n    client_id: c\n    username: u\n",
    ];
    let produced: String = invalid
        .iter()
        .map(|t| {
            let text = format!("targets:\n  - name: cs\n    vendor: cloudsync\n{t}");
            Settings::parse(&text, Path::new("t.yml"))
                .unwrap_err()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    for q in quoted {
        assert!(
            produced.contains(q),
            "the doc quotes a message no config produces: {q}"
        );
    }
}
