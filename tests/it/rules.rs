//! The alert rules and the Alertmanager example, checked by the programs that will load
//! them: `promtool check rules`, `promtool test rules` and `amtool`. Without the tools the
//! tests skip with a message, except under CI (`CI` set), where a missing tool fails.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

use crate::dashboards::{
    alert_rules, load_rules, metric_names, metric_reference, reference_metric, repo_path,
};

/// The path of a program on PATH; `None` (after saying so) when it is missing outside CI.
pub(crate) fn tool(name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let advice = format!(
            "`{name}` is not installed (apt-get install --no-install-recommends {package})"
        );
        if std::env::var_os("CI").is_some() {
            panic!("{advice}; CI must run this test");
        }
        eprintln!("skipped: {advice}");
    }
    found
}

fn run(program: &PathBuf, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(repo_path(""))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn rule_test_files() -> Vec<String> {
    let dir = repo_path("alerts/tests");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml"))
        .map(|p| format!("alerts/tests/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no rule tests in alerts/tests");
    files
}

#[test]
fn promtool_accepts_the_rules() {
    let Some(promtool) = tool("promtool", "prometheus") else {
        return;
    };
    let out = run(
        &promtool,
        &["check", "rules", "alerts/backup-exporter.rules.yml"],
    );
    let said = text(&out);
    assert!(out.status.success(), "promtool check rules failed:\n{said}");
    let rules = alert_rules(&load_rules()).len();
    assert!(
        said.contains(&format!("SUCCESS: {rules} rules found")),
        "promtool did not find the {rules} rules the file holds:\n{said}"
    );
}

#[test]
fn promtool_rule_unit_tests_pass() {
    let Some(promtool) = tool("promtool", "prometheus") else {
        return;
    };
    let files = rule_test_files();
    let mut args = vec!["test", "rules"];
    args.extend(files.iter().map(String::as_str));
    let out = run(&promtool, &args);
    assert!(
        out.status.success(),
        "promtool test rules failed:\n{}",
        text(&out)
    );
}

/// A rule that always or never fires is a bug, so every rule (an alert name with one
/// severity) needs a test case in which it fires and one in which it must stay silent.
#[test]
fn every_rule_has_a_firing_and_a_silent_unit_test() {
    let mut fires: BTreeSet<(String, String)> = BTreeSet::new();
    let mut silent_checked: BTreeSet<(String, String)> = BTreeSet::new();
    let rules = alert_rules(&load_rules());
    for file in rule_test_files() {
        let path = repo_path(&file);
        let doc: Value = serde_saphyr::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        for test in doc["tests"].as_array().into_iter().flatten() {
            for case in test["alert_rule_test"].as_array().into_iter().flatten() {
                let name = case["alertname"].as_str().unwrap_or("").to_owned();
                let expected: Vec<&str> = case["exp_alerts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|a| a["exp_labels"]["severity"].as_str().unwrap_or(""))
                    .collect();
                for (rule, severity, _) in rules.iter().filter(|(r, _, _)| *r == name) {
                    let key = (rule.clone(), severity.clone());
                    if expected.contains(&severity.as_str()) {
                        fires.insert(key);
                    } else {
                        silent_checked.insert(key);
                    }
                }
            }
        }
    }
    for (rule, severity, _) in &rules {
        let key = (rule.clone(), severity.clone());
        assert!(
            fires.contains(&key),
            "{rule} ({severity}) has no unit test in which it fires"
        );
        assert!(
            silent_checked.contains(&key),
            "{rule} ({severity}) has no unit test in which it stays silent"
        );
    }
}

#[test]
fn every_rule_reads_only_metrics_of_the_reference_and_explains_itself() {
    let reference = metric_reference();
    let doc = load_rules();
    let mut count = 0;
    for group in doc["groups"].as_array().into_iter().flatten() {
        for rule in group["rules"].as_array().into_iter().flatten() {
            let name = rule["alert"].as_str().unwrap_or("?");
            let expr = rule["expr"].as_str().unwrap_or("");
            let names = metric_names(expr);
            assert!(
                !names.is_empty() || expr.starts_with("up{"),
                "{name} reads no backup_ metric"
            );
            for m in names {
                assert!(
                    reference_metric(&m, &reference).is_some(),
                    "{name}: `{m}` is not in docs/metrics.md"
                );
            }
            let severity = rule["labels"]["severity"].as_str().unwrap_or("");
            assert!(
                ["critical", "warning"].contains(&severity),
                "{name}: severity {severity:?}"
            );
            assert!(
                rule["annotations"]["summary"]
                    .as_str()
                    .is_some_and(|s| !s.is_empty()),
                "{name}: no summary"
            );
            assert!(
                rule["annotations"]["description"]
                    .as_str()
                    .is_some_and(|s| s.contains("{{")),
                "{name}: the description must say which thing and how much"
            );
            count += 1;
        }
    }
    assert!(count >= 12, "only {count} rules");
}

#[test]
fn amtool_accepts_the_alertmanager_example() {
    let Some(amtool) = tool("amtool", "prometheus-alertmanager") else {
        return;
    };
    let out = run(
        &amtool,
        &["check-config", "alerts/alertmanager.example.yml"],
    );
    let said = text(&out);
    assert!(out.status.success(), "amtool check-config failed:\n{said}");
    assert!(said.contains("4 inhibit rules"), "{said}");
}

/// Every rule as it would arrive: critical ones page, warnings become tickets.
#[test]
fn alertmanager_example_pages_critical_alerts_and_tickets_warnings() {
    let Some(amtool) = tool("amtool", "prometheus-alertmanager") else {
        return;
    };
    for (name, severity, _) in alert_rules(&load_rules()) {
        let receiver = match severity.as_str() {
            "critical" => "backup-pager",
            _ => "backup-tickets",
        };
        let alertname = format!("alertname={name}");
        let sev = format!("severity={severity}");
        let verify = format!("--verify.receivers={receiver}");
        let out = run(
            &amtool,
            &[
                "config",
                "routes",
                "test",
                "--config.file=alerts/alertmanager.example.yml",
                &verify,
                &alertname,
                &sev,
                "target=safespring",
                "tenant=Finance",
            ],
        );
        assert!(
            out.status.success(),
            "{name} ({severity}) does not reach {receiver}:\n{}",
            text(&out)
        );
    }
}
