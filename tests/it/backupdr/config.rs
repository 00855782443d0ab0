//! Config validation with messages that name the key, and the example config.

use super::*;

#[tokio::test]
async fn config_is_validated_with_messages_that_name_the_key() {
    let env = start(8, SimOptions::default()).await;
    let err = |yaml: &str| match Settings::parse(yaml, Path::new("t.yml")) {
        Ok(_) => panic!("accepted: {yaml}"),
        Err(e) => e.to_string(),
    };
    let e = err("targets:\n  - {name: b, vendor: backupdr, token: x}\n");
    assert!(
        e.contains("targets[0] (name \"b\"): `url` is required"),
        "{e}"
    );
    let e = err(&env.yaml("", ""));
    assert!(
        e.contains("`credentials_file` (a Google service-account JSON key) or `token`"),
        "{e}"
    );
    let key = env.key_file();
    let e = err(&env.yaml(
        &format!(
            "    credentials_file: \"{}\"\n    token_env: T\n",
            key.display()
        ),
        "",
    ));
    assert!(
        e.contains("`credentials_file` and `token` are alternatives"),
        "{e}"
    );
    // Key files are read at login, like every secret file: a bad one shows at the probe.
    let probe_error = |auth: String| {
        let adapter = env.adapter_from(&env.yaml(&auth, ""));
        async move { adapter.probe().await.unwrap_err().to_string() }
    };
    let e = probe_error("    credentials_file: /nonexistent/key.json\n".into()).await;
    assert!(
        e.contains("credentials_file: cannot read /nonexistent/key.json"),
        "{e}"
    );
    let bad = env.dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"type":"service_account","client_email":"a@b"}"#).unwrap();
    let e = probe_error(format!("    credentials_file: \"{}\"\n", bad.display())).await;
    assert!(e.contains("has no `private_key`"), "{e}");
    let e = err(&env.yaml("    token: x\n", "    clusters: [a]\n"));
    assert!(
        e.contains("`clusters` is not a key of vendor backupdr"),
        "{e}"
    );
    let e = err(&env.yaml("    token: x\n    token_file: /x\n", ""));
    assert!(
        e.contains("`token`, `token_file` and `token_env` are alternatives"),
        "{e}"
    );
    Settings::parse(
        &env.yaml("    token_env: BDR_TOKEN\n", ""),
        Path::new("t.yml"),
    )
    .unwrap();
}

#[tokio::test]
async fn the_example_config_is_valid() {
    let env = start(8, SimOptions::default()).await;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/backupdr.example.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("credentials_file: /run/secrets/backupdr-sa.json"));
    let text = text.replace(
        "/run/secrets/backupdr-sa.json",
        &env.key_file().display().to_string(),
    );
    let settings = Settings::parse(&text, &path).unwrap();
    assert_eq!(settings.targets.len(), 1);
    assert_eq!(settings.targets[0].vendor, Vendor::Backupdr);
    // As written (the key file is read at login, not now), and pointed at the simulator,
    // the example logs in.
    Settings::parse(&std::fs::read_to_string(&path).unwrap(), &path).unwrap();
    let text = text.replace(
        "https://bmc-123456789012-abcdefgh-dot-europe-west1.backupdr.googleusercontent.com/actifio",
        env.base.join("actifio").unwrap().as_str(),
    );
    let settings = Settings::parse(&text, &path).unwrap();
    let ctx = AdapterContext {
        metrics: ApiMetrics::default(),
        clock: env.ctx.clock.clone(),
    };
    let adapter = backup_exporter::vendors::build(&settings.targets[0], &ctx).unwrap();
    adapter.probe().await.expect("the example config works");
}
