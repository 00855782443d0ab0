//! Config validation, the example file, and the simulator's demo targets.

use super::*;

#[tokio::test]
async fn config_validation_names_the_key() {
    let parse = |target: &str| {
        Settings::parse(&format!("targets:\n  - {target}\n"), Path::new("t.yml"))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    let e = parse("{name: c, vendor: clumio}");
    assert!(e.contains("`url` is required"), "{e}");
    assert!(e.contains("`token` is required"), "{e}");
    let e = parse("{name: c, vendor: clumio, url: \"ftp://x\", token: abc}");
    assert!(e.contains("`url`: ftp://x/ is not an http(s) URL"), "{e}");
    let e = parse("{name: c, vendor: clumio, url: \"https://x\", token: \"Bearer abc\"}");
    assert!(e.contains("without the `Bearer ` prefix"), "{e}");
    let e = parse(
        "{name: c, vendor: clumio, url: \"https://x\", token_env: T, organizational_unit: \"a b\"}",
    );
    assert!(e.contains("`organizational_unit`: \"a b\""), "{e}");
    let e = parse("{name: c, vendor: clumio, url: \"https://x\", token_env: T, username: u}");
    assert!(
        e.contains("`username` is not a key of vendor clumio"),
        "{e}"
    );
    assert!(
        parse("{name: c, vendor: clumio, url: \"https://x\", token_env: T, organizational_unit: \"5f0c4a1e-2b7d\"}")
            .is_empty()
    );
}

#[tokio::test]
async fn the_example_config_parses() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/clumio.example.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let s = Settings::parse(&text, &path).unwrap();
    assert_eq!(s.targets.len(), 2);
    assert_eq!(
        s.targets[1]
            .vendor_settings::<backup_exporter::vendors::clumio::Settings>()
            .unwrap()
            .organizational_unit
            .as_deref(),
        Some(data::FINANCE)
    );
}

#[tokio::test]
async fn demo_targets_point_at_the_running_simulator() {
    let mut ctx = SimContext::new(3, 20);
    ctx.clock = Clock::manual(ts(ORIGIN));
    let server = backup_exporter::sim::SimServer::start(
        "127.0.0.1:0",
        ctx.clone(),
        backup_exporter::vendors::simulators(),
    )
    .await
    .unwrap();
    let (_dir, settings) = crate::common::demo_settings(&server);
    let actx = AdapterContext {
        metrics: ApiMetrics::default(),
        clock: ctx.clock.clone(),
    };
    let world = World::new(3, 20, ORIGIN);
    for (name, tenants, no_ec2) in [
        (
            "clumio-demo",
            vec!["Global", "Finance", "Engineering", "Platform", "Research"],
            false,
        ),
        // The demo's variant: a role that may not read EC2 instances; degraded, but up.
        ("clumio-demo-finance", vec!["Finance"], true),
    ] {
        let t = settings.targets.iter().find(|t| t.name == name).unwrap();
        let adapter = backup_exporter::vendors::build(t, &actx).unwrap();
        let c = adapter
            .collect(Window {
                now: ts(ORIGIN),
                since: ts(ORIGIN - HOUR),
            })
            .await;
        let objects = c.inventory.unwrap();
        let want = world
            .listed_assets()
            .filter(|a| tenants.contains(&data::ou_name(a.ou)))
            .filter(|a| !(no_ec2 && a.kind == data::Kind::Ec2))
            .count();
        assert_eq!(objects.len(), want, "{name}");
        assert!(
            c.storage.is_ok() && c.jobs.is_ok() && c.warnings.is_ok(),
            "{name}"
        );
        let parts: Vec<&str> = c.skipped.iter().map(|p| p.part).collect();
        if no_ec2 {
            assert_eq!(parts, vec!["ec2_instances"], "{name}");
            assert!(
                world
                    .listed_assets()
                    .any(|a| a.kind == data::Kind::Ec2 && data::ou_name(a.ou) == "Finance"),
                "the world has Finance EC2 instances to hide"
            );
        } else {
            assert!(parts.is_empty(), "{name}: {parts:?}");
        }
    }
}
