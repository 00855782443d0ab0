//! Config validation, the example config, the docs and the demo targets.

use super::*;

#[test]
fn config_problems_are_named() {
    let check = |keys: &str, want: &str| {
        let text = format!(
            "targets:\n  - name: t\n    vendor: cloudtower\n{}",
            keys.lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        );
        let e = Settings::parse(&text, Path::new("c.yml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "{keys:?}: {e}");
    };
    check("username: u\npassword_env: P", "`url` is required");
    check(
        "url: http://x",
        "either `token` (an API key) or `username` and `password` are required",
    );
    check(
        "url: http://x\ntoken_env: T\nusername: u\npassword_env: P",
        "`token` (an API key) and `username`/`password` are alternatives",
    );
    check(
        "url: http://x\nusername: u",
        "`password` is required with `username`",
    );
    check(
        "url: http://x\npassword_env: P",
        "`username` is required with `password`",
    );
    check(
        "url: http://x\nusername: u\npassword_env: P\nuser_source: KERBEROS",
        "`user_source`: \"KERBEROS\" is not one of LOCAL, LDAP, AUTHN, SSO",
    );
    check(
        "url: http://x\ntoken_env: T\nuser_source: LDAP",
        "`user_source` applies only to",
    );
    check(
        "url: http://x\ntoken_env: T\nclusters: []",
        "`clusters`: name at least one cluster",
    );
    check(
        "url: http://x\ntoken_env: T\nbunits: [1]",
        "`bunits` is not a key of vendor cloudtower",
    );
    check(
        "url: http://x\ntoken: a\ntoken_env: T",
        "are alternatives: set only one",
    );
    let ok = "targets:\n  - {name: t, vendor: cloudtower, url: \"http://x\", token_env: T, clusters: [a]}\n";
    assert!(Settings::parse(ok, Path::new("c.yml")).is_ok());
    assert_eq!(Vendor::Cloudtower.as_str(), "cloudtower");
}

#[test]
fn example_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/cloudtower.example.yml");
    let s = Settings::load(&path).unwrap();
    assert_eq!(s.targets.len(), 2);
    assert!(s.targets.iter().all(|t| t.vendor == Vendor::Cloudtower));
    assert_eq!(
        s.targets[1]
            .vendor_settings::<backup_exporter::vendors::cloudtower::Settings>()
            .unwrap()
            .clusters
            .as_deref(),
        Some(&["CN-GZ-DR-Cls03".to_owned()][..])
    );
}

#[test]
fn docs_name_every_warning_category() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/vendors/cloudtower.md");
    let doc = std::fs::read_to_string(path).unwrap();
    for c in cloudtower::CATEGORIES {
        assert!(doc.contains(&format!("`{c}`")), "{c} is not documented");
    }
}

#[tokio::test]
async fn demo_targets_log_in_and_collect() {
    let h = start().await;
    let text = h.server.demo_config(h.dir.path(), None).unwrap();
    let settings = Settings::parse(&text, Path::new("demo.yml")).unwrap();
    let targets: Vec<_> = settings
        .targets
        .iter()
        .filter(|t| t.vendor == Vendor::Cloudtower)
        .collect();
    let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["cloudtower-demo", "cloudtower-legacy-demo"]);
    let ctx = AdapterContext {
        metrics: h.metrics.clone(),
        clock: h.clock.clone(),
    };
    for t in targets {
        let a = backup_exporter::vendors::build(t, &ctx).unwrap();
        let c = a.collect(h.window()).await;
        let inventory = c.inventory.unwrap();
        assert!(!inventory.is_empty(), "{}", t.name);
        assert!(c.jobs.is_ok() && c.warnings.is_ok() && c.audit.is_ok() && c.storage.is_ok());
        if t.name == "cloudtower-legacy-demo" {
            assert!(inventory.iter().all(|o| o.tenant == CLUSTERS[0].0));
            assert!(t.url.as_ref().unwrap().path().ends_with("/old/v2/api"));
            // Degraded but up: the older tower's backup parts are skipped, and say so.
            assert!(
                c.skipped.iter().any(|p| p.part == "backup_plans"),
                "{:?}",
                c.skipped
            );
        } else {
            assert!(c.skipped.is_empty(), "{:?}", c.skipped);
        }
    }
}
