//! The binary as an operator meets it: exit codes and messages of `check`.

use std::process::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_backup-exporter"));
    // Hermetic: no flag may come from the environment of whoever runs the tests.
    for (k, _) in std::env::vars() {
        if k.starts_with("BACKUP_EXPORTER_") {
            c.env_remove(k);
        }
    }
    c.env_remove("RUST_BACKTRACE");
    c
}

#[test]
fn check_reports_every_problem_with_target_and_key_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yml");
    std::fs::write(
        &path,
        "targets:\n  - {name: a, vendor: veeam}\n  - {name: b, vendor: cloutility, url: \"http://x\", client_id: c, origin: \"http://o\", username: u, password_env: P, interval: 0s}\n",
    )
    .unwrap();
    let out = bin()
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr
            .contains("config error: targets[0] (name \"a\"): `vendor`: unknown vendor \"veeam\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("config error: targets[1] (name \"b\"): `interval`: must be more than 0"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn check_reads_secrets_now_and_names_the_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.yml");
    std::fs::write(
        &path,
        "targets:\n  - {name: b, vendor: cloutility, url: \"http://x\", client_id: c, origin: \"http://o\", username: u, password_file: /nonexistent/pw}\n",
    )
    .unwrap();
    let out = bin()
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "target \"b\" (cloutility): `password`: cannot read secret file /nonexistent/pw"
        ),
        "{stderr}"
    );
}

#[test]
fn missing_config_file_is_a_config_error() {
    let out = bin()
        .args(["check", "--config", "/nonexistent/config.yml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("cannot read config file /nonexistent/config.yml")
    );
}

#[test]
fn example_configs_are_valid() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/config");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yml") {
            continue;
        }
        seen += 1;
        if let Err(e) = backup_exporter::config::Settings::load(&path) {
            panic!("{}: {e}", path.display());
        }
    }
    assert!(seen >= 1, "no example configs found in config/");
}
