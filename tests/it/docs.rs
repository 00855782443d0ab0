//! The README's configuration reference and the code agree.

use backup_exporter::config::{COMMON_KEYS, SECRET_KEYS};
use backup_exporter::model::Vendor;

fn readme_section(title: &str) -> String {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = text
        .find(title)
        .unwrap_or_else(|| panic!("README has no {title:?}"));
    let rest = &text[start + title.len()..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    rest[..end].to_owned()
}

fn documented_keys() -> Vec<String> {
    readme_section("## Configuration reference")
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| l.split('`').nth(1).map(str::to_owned))
        .collect()
}

#[test]
fn every_target_key_is_documented_and_every_documented_key_exists() {
    let documented = documented_keys();
    let mut known: Vec<String> = COMMON_KEYS.iter().map(|k| k.to_string()).collect();
    for v in Vendor::ALL {
        known.extend(
            backup_exporter::vendors::allowed_keys(v)
                .iter()
                .map(|k| k.to_string()),
        );
    }
    for k in &known {
        assert!(
            documented.contains(k),
            "README's configuration reference lacks `{k}`"
        );
    }
    let others = [
        "listen",
        "shard",
        "refresh_endpoint",
        "max_concurrent_requests",
        "rpo",
        "rpo_tolerance",
        "new_object_grace",
        "strict_warnings",
        "restore_test_interval",
        "rules",
        "interval",
        "timeout",
        "lookback",
        "max_stale",
    ];
    for k in &documented {
        assert!(
            known.contains(k) || others.contains(&k.as_str()) || SECRET_KEYS.contains(&k.as_str()),
            "README documents `{k}`, which no code knows"
        );
    }
}

/// Every repository path `docs/architecture.md` names in backticks exists: the map of the
/// house cannot drift from the house. `<vendor>` stands for every vendor.
#[test]
fn architecture_names_only_paths_that_exist() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("docs/architecture.md")).unwrap();
    let mut checked = 0;
    let mut missing = Vec::new();
    for (i, span) in text.split('`').enumerate() {
        let looks_like_path = i % 2 == 1
            && ["src/", "tests/", "docs/", "config/", "scripts/"]
                .iter()
                .any(|p| span.starts_with(p))
            && !span.contains(' ');
        if !looks_like_path {
            continue;
        }
        let names: Vec<String> = if span.contains("<vendor>") {
            Vendor::ALL
                .iter()
                .map(|v| span.replace("<vendor>", v.as_str()))
                .collect()
        } else {
            vec![span.to_owned()]
        };
        for name in names {
            checked += 1;
            if !root.join(&name).exists() {
                missing.push(name);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/architecture.md names missing paths: {missing:?}"
    );
    assert!(
        checked > 20,
        "only {checked} paths found: is the doc still a map?"
    );
}
