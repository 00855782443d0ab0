//! Config validation, and the docs and example config agreeing with the code.

use super::*;

#[test]
fn config_problems_are_named_per_key() {
    let parse = |target: &str| {
        Settings::parse(&format!("targets:\n  - {target}\n"), Path::new("c.yml"))
            .unwrap_err()
            .to_string()
    };
    let e = parse("{name: s, vendor: cloutility}");
    for want in [
        "`url` is required",
        "`client_id` is required",
        "`origin` is required",
        "`username` is required",
        "`password` is required",
    ] {
        assert!(e.contains(want), "{want} in {e}");
    }
    assert!(e.contains("targets[0] (name \"s\")"), "{e}");
    let e = parse(
        "{name: s, vendor: cloutility, url: \"https://p.example\", client_id: c, origin: monitoring, username: u, password_env: P, bunits: []}",
    );
    assert!(e.contains("`origin`: \"monitoring\" is not a URL"), "{e}");
    assert!(
        e.contains("`bunits`: list at least one business unit id"),
        "{e}"
    );
    assert!(!e.contains("`url` is required"), "{e}");
    let ok = Settings::parse(
        "targets:\n  - {name: s, vendor: cloutility, url: \"https://p.example/v1\", client_id: c, origin: \"https://m.example\", username: u, password_env: P, bunits: [22]}\n",
        Path::new("c.yml"),
    );
    assert!(ok.is_ok(), "{:?}", ok.err());
}

#[test]
fn the_example_config_is_valid_and_builds() {
    let path = format!(
        "{}/config/cloutility.example.yml",
        env!("CARGO_MANIFEST_DIR")
    );
    let settings = Settings::load(Path::new(&path)).expect("example config is valid");
    assert!(settings.targets.len() >= 2);
    let ctx = AdapterContext {
        metrics: ApiMetrics::default(),
        clock: Clock::system(),
    };
    for t in &settings.targets {
        assert_eq!(t.vendor, Vendor::Cloutility);
        vendors::build(t, &ctx).expect("builds");
    }
}

#[test]
fn every_key_and_warning_category_is_documented() {
    let doc = crate::common::repo_file("docs/vendors/cloutility.md");
    for key in vendors::allowed_keys(backup_exporter::model::Vendor::Cloutility) {
        assert!(doc.contains(&format!("`{key}`")), "docs lack `{key}`");
    }
    for category in vendors::cloutility::WARNING_CATEGORIES {
        assert!(
            doc.contains(&format!("`{category}`")),
            "docs lack `{category}`"
        );
    }
}

/// The `check` messages the doc quotes are the ones invalid targets produce.
#[test]
fn the_quoted_check_messages_are_real() {
    let doc = crate::common::repo_file("docs/vendors/cloutility.md");
    let quoted: Vec<&str> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("- `` "))
        .filter_map(|l| l.strip_suffix(" ``"))
        .collect();
    assert!(quoted.len() >= 7, "{quoted:?}");
    let produced: String = [
        "{name: s, vendor: cloutility}",
        "{name: s, vendor: cloutility, url: \"https://p.example\", client_id: c, origin: monitoring, username: u, password_env: P, bunits: []}",
    ]
    .iter()
    .map(|t| {
        Settings::parse(&format!("targets:\n  - {t}\n"), Path::new("c.yml"))
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
