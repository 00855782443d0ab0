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
        "max_concurrent_requests",
        "rpo",
        "rpo_tolerance",
        "new_object_grace",
        "strict_warnings",
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
