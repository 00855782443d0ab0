//! The Grafana dashboards checked as JSON: panel ids, data sources, template variables and
//! the metric names they use. Whether the queries return data is `e2e.rs`'s business.
//!
//! The helpers here (loading dashboards and rules, reading the metric reference, pulling
//! metric names out of PromQL) are shared with `rules.rs` and `e2e.rs`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The one data source reference every panel, query and variable must use.
const DATASOURCE_UID: &str = "${datasource}";

pub(crate) fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub(crate) struct Dashboard {
    pub file: String,
    pub json: Value,
}

impl Dashboard {
    /// Every panel, with the panels of collapsed rows.
    pub fn panels(&self) -> Vec<&Value> {
        let mut out = Vec::new();
        for p in self.json["panels"].as_array().into_iter().flatten() {
            out.push(p);
            out.extend(p["panels"].as_array().into_iter().flatten());
        }
        out
    }

    pub fn queries(&self) -> Vec<PanelQuery> {
        let mut out = Vec::new();
        for p in self.panels() {
            for t in p["targets"].as_array().into_iter().flatten() {
                out.push(PanelQuery {
                    where_: format!(
                        "{} panel {} {:?} query {}",
                        self.file,
                        p["id"],
                        p["title"].as_str().unwrap_or(""),
                        t["refId"].as_str().unwrap_or("?")
                    ),
                    key: format!(
                        "{} / {} / {}",
                        self.json["uid"].as_str().unwrap_or(&self.file),
                        p["title"].as_str().unwrap_or(""),
                        t["refId"].as_str().unwrap_or("?")
                    ),
                    expr: t["expr"].as_str().unwrap_or("").to_owned(),
                });
            }
        }
        out
    }

    /// The template variables as (name, type, query text).
    pub fn variables(&self) -> Vec<(String, String, String)> {
        self.json["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| {
                let query = match &v["query"] {
                    Value::String(s) => s.clone(),
                    q => q["query"].as_str().unwrap_or("").to_owned(),
                };
                (
                    v["name"].as_str().unwrap_or("").to_owned(),
                    v["type"].as_str().unwrap_or("").to_owned(),
                    query,
                )
            })
            .collect()
    }
}

/// One PromQL query of one panel; `key` (`uid / panel title / refId`) names it in the e2e
/// allow-list, `where_` in failure messages.
pub(crate) struct PanelQuery {
    pub where_: String,
    pub key: String,
    pub expr: String,
}

pub(crate) fn load_dashboards() -> Vec<Dashboard> {
    let dir = repo_path("dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
            Dashboard {
                file: path.file_name().unwrap().to_string_lossy().into_owned(),
                json,
            }
        })
        .collect()
}

/// The rule file as a JSON value (the YAML parsed with the same crate as the config).
pub(crate) fn load_rules() -> Value {
    let path = repo_path("alerts/backup-exporter.rules.yml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every alert rule: (alert name, severity, expression).
pub(crate) fn alert_rules(rules: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for group in rules["groups"].as_array().into_iter().flatten() {
        for rule in group["rules"].as_array().into_iter().flatten() {
            if let Some(name) = rule["alert"].as_str() {
                out.push((
                    name.to_owned(),
                    rule["labels"]["severity"].as_str().unwrap_or("").to_owned(),
                    rule["expr"].as_str().unwrap_or("").to_owned(),
                ));
            }
        }
    }
    out
}

/// The metric reference (docs/metrics.md): metric name → is it a histogram.
pub(crate) fn metric_reference() -> BTreeMap<String, bool> {
    let path = repo_path("docs/metrics.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut out = BTreeMap::new();
    for line in text.lines().filter(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let Some(first) = cells.get(1) else { continue };
        let Some(name) = first
            .strip_prefix('`')
            .and_then(|s| s.split('`').next())
            .filter(|n| n.starts_with("backup_"))
        else {
            continue;
        };
        out.insert(name.to_owned(), cells.contains(&"histogram"));
    }
    out
}

/// The `backup_*` metric names a PromQL expression reads. String literals are skipped, so
/// label values such as `kind=~"backup|sync"` are not mistaken for names.
pub(crate) fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut chars = expr.char_indices().peekable();
    let mut word_start: Option<usize> = None;
    let bytes = expr.as_bytes();
    let flush = |start: Option<usize>, end: usize, names: &mut BTreeSet<String>| {
        if let Some(s) = start {
            let word = &expr[s..end];
            if word.starts_with("backup_") {
                names.insert(word.to_owned());
            }
        }
    };
    while let Some((i, c)) = chars.next() {
        if c == '"' || c == '\'' || c == '`' {
            flush(word_start.take(), i, &mut names);
            // Skip to the closing quote, honouring backslash escapes.
            while let Some((_, d)) = chars.next() {
                if d == '\\' {
                    chars.next();
                } else if d == c {
                    break;
                }
            }
            continue;
        }
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            if word_start.is_none() {
                // A name cannot start right after `$` (a variable) or inside a number.
                let after_dollar = i > 0 && bytes[i - 1] == b'$';
                if !after_dollar {
                    word_start = Some(i);
                }
            }
        } else {
            flush(word_start.take(), i, &mut names);
        }
    }
    flush(word_start, expr.len(), &mut names);
    names
}

/// Maps a series name to the metric of the reference it belongs to (histogram series carry
/// `_bucket`, `_sum` and `_count` suffixes).
pub(crate) fn reference_metric<'a>(
    name: &'a str,
    reference: &BTreeMap<String, bool>,
) -> Option<&'a str> {
    if reference.contains_key(name) {
        return Some(name);
    }
    ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
        let base = name.strip_suffix(suffix)?;
        (reference.get(base) == Some(&true)).then_some(base)
    })
}

/// Every data source reference in the JSON, with its path, except Grafana's built-in
/// annotation source.
fn datasource_refs<'a>(v: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let p = format!("{path}.{k}");
                if k == "datasource" {
                    let builtin = child["uid"] == "-- Grafana --" && child["type"] == "grafana";
                    if !builtin {
                        out.push((p.clone(), child));
                    }
                }
                datasource_refs(child, p, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                datasource_refs(child, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// `$name`, `${name}` and `${name:format}` references in a query.
fn variable_refs(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = expr;
    while let Some(pos) = rest.find('$') {
        rest = &rest[pos + 1..];
        let braced = rest.starts_with('{');
        let body = if braced { &rest[1..] } else { rest };
        let name: String = body
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name);
        }
    }
    out
}

#[test]
fn there_are_dashboards_for_every_area_of_the_issue() {
    let dashboards = load_dashboards();
    let uids: Vec<&str> = dashboards
        .iter()
        .map(|d| d.json["uid"].as_str().expect("every dashboard has a uid"))
        .collect();
    for wanted in [
        "backup-overview",
        "backup-compliance",
        "backup-jobs",
        "backup-storage",
        "backup-warnings-audit",
        "backup-exporter-health",
    ] {
        assert!(
            uids.contains(&wanted),
            "no dashboard with uid {wanted}: {uids:?}"
        );
    }
    let unique: HashSet<&&str> = uids.iter().collect();
    assert_eq!(unique.len(), uids.len(), "dashboard uids repeat: {uids:?}");
}

#[test]
fn panel_ids_are_unique_within_each_dashboard() {
    for d in load_dashboards() {
        let mut seen = HashSet::new();
        for p in d.panels() {
            let id = p["id"]
                .as_u64()
                .unwrap_or_else(|| panic!("{}: panel {:?} has no numeric id", d.file, p["title"]));
            assert!(seen.insert(id), "{}: panel id {id} is used twice", d.file);
        }
        assert!(seen.len() > 3, "{}: suspiciously few panels", d.file);
    }
}

#[test]
fn queries_are_named_uniquely_by_dashboard_panel_title_and_ref_id() {
    for d in load_dashboards() {
        let mut seen = HashSet::new();
        for q in d.queries() {
            assert!(
                seen.insert(q.key.clone()),
                "{}: two queries are both called {:?}",
                d.file,
                q.key
            );
        }
    }
}

#[test]
fn panels_stay_on_the_grid_without_overlapping() {
    for d in load_dashboards() {
        let mut cells: HashSet<(u64, u64)> = HashSet::new();
        for p in d.panels() {
            let g = &p["gridPos"];
            let (x, y, w, h) = (
                g["x"].as_u64().unwrap_or(99),
                g["y"].as_u64().unwrap_or(0),
                g["w"].as_u64().unwrap_or(0),
                g["h"].as_u64().unwrap_or(0),
            );
            assert!(
                w > 0 && h > 0 && x + w <= 24,
                "{}: panel {} is off the grid: {g}",
                d.file,
                p["id"]
            );
            for cx in x..x + w {
                for cy in y..y + h {
                    assert!(
                        cells.insert((cx, cy)),
                        "{}: panel {} overlaps another",
                        d.file,
                        p["id"]
                    );
                }
            }
        }
    }
}

#[test]
fn every_query_and_variable_uses_the_datasource_variable() {
    for d in load_dashboards() {
        let vars = d.variables();
        let ds = vars.iter().find(|(name, _, _)| name == "datasource");
        assert!(
            ds.is_some_and(|(_, kind, query)| kind == "datasource" && query == "prometheus"),
            "{}: needs a `datasource` variable of type datasource for prometheus",
            d.file
        );
        let mut refs = Vec::new();
        datasource_refs(&d.json, d.file.clone(), &mut refs);
        for (path, r) in &refs {
            assert_eq!(
                r["uid"], DATASOURCE_UID,
                "{path}: data source must be the variable"
            );
            assert_eq!(r["type"], "prometheus", "{path}");
        }
        // Every query and every query variable names its data source (no fallback to the
        // default data source, which may not be Prometheus).
        for p in d.panels().into_iter().filter(|p| p["type"] != "row") {
            assert_eq!(
                p["datasource"]["uid"], DATASOURCE_UID,
                "{}: panel {}",
                d.file, p["id"]
            );
            let targets = p["targets"].as_array().map(Vec::len).unwrap_or(0);
            assert!(targets > 0, "{}: panel {} has no query", d.file, p["id"]);
            for t in p["targets"].as_array().into_iter().flatten() {
                assert_eq!(
                    t["datasource"]["uid"], DATASOURCE_UID,
                    "{}: panel {}",
                    d.file, p["id"]
                );
                assert!(
                    !t["expr"].as_str().unwrap_or("").trim().is_empty(),
                    "{}: panel {} has an empty query",
                    d.file,
                    p["id"]
                );
            }
        }
        for v in d.json["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if v["type"] == "query" {
                assert_eq!(
                    v["datasource"]["uid"], DATASOURCE_UID,
                    "{}: variable {}",
                    d.file, v["name"]
                );
            }
        }
    }
}

#[test]
fn every_variable_a_query_uses_is_defined() {
    for d in load_dashboards() {
        let defined: BTreeSet<String> = d.variables().into_iter().map(|(n, _, _)| n).collect();
        for wanted in ["vendor", "target"] {
            assert!(
                defined.contains(wanted),
                "{}: no `{wanted}` variable",
                d.file
            );
        }
        let mut used = BTreeSet::new();
        let mut texts: Vec<(String, String)> = d
            .queries()
            .into_iter()
            .map(|q| (q.where_, q.expr))
            .collect();
        texts.extend(
            d.variables()
                .into_iter()
                .map(|(n, _, q)| (format!("variable {n}"), q)),
        );
        for (where_, text) in texts {
            for var in variable_refs(&text) {
                assert!(
                    var.starts_with("__") || defined.contains(&var),
                    "{where_}: uses ${var}, which the dashboard does not define"
                );
                used.insert(var);
            }
        }
        for name in defined.iter().filter(|n| *n != "datasource") {
            assert!(
                used.contains(name),
                "{}: variable `{name}` is defined but no query uses it",
                d.file
            );
        }
        // Per-object and per-tenant data must follow the tenant selection.
        for q in d.queries() {
            let tenant_level = metric_names(&q.expr).iter().any(|m| {
                m.starts_with("backup_object_")
                    || [
                        "backup_jobs",
                        "backup_warnings",
                        "backup_audit",
                        "backup_tenant",
                        "backup_transferred",
                    ]
                    .iter()
                    .any(|p| m.starts_with(p))
            });
            if tenant_level {
                assert!(
                    q.expr.contains("$tenant"),
                    "{}: reads tenant-level data without $tenant",
                    q.where_
                );
            }
        }
    }
}

#[test]
fn every_metric_a_dashboard_names_is_in_the_metric_reference() {
    let reference = metric_reference();
    assert!(
        reference.len() > 20,
        "docs/metrics.md lists only {} metrics",
        reference.len()
    );
    let mut checked = 0;
    for d in load_dashboards() {
        let mut texts: Vec<(String, String)> = d
            .queries()
            .into_iter()
            .map(|q| (q.where_, q.expr))
            .collect();
        texts.extend(
            d.variables()
                .into_iter()
                .map(|(n, _, q)| (format!("{} variable {n}", d.file), q)),
        );
        for (where_, text) in texts {
            for name in metric_names(&text) {
                assert!(
                    reference_metric(&name, &reference).is_some(),
                    "{where_}: `{name}` is not in docs/metrics.md"
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} metric names found: is the extraction broken?"
    );
}

#[test]
fn every_metric_in_the_reference_is_on_some_dashboard() {
    let reference = metric_reference();
    let mut shown = BTreeSet::new();
    for d in load_dashboards() {
        for q in d.queries() {
            for name in metric_names(&q.expr) {
                if let Some(base) = reference_metric(&name, &reference) {
                    shown.insert(base.to_owned());
                }
            }
        }
    }
    let missing: Vec<&String> = reference.keys().filter(|m| !shown.contains(*m)).collect();
    assert!(
        missing.is_empty(),
        "metrics no dashboard shows: {missing:?}"
    );
}

#[test]
fn metric_names_are_read_from_promql_but_not_from_strings_or_variables() {
    let names = metric_names(
        r#"sum by (kind) (rate(backup_jobs_total{kind=~"backup_x|sync", tenant=~"$tenant"}[$__rate_interval])) / on() backup_api_request_duration_seconds_bucket"#,
    );
    let want: BTreeSet<String> = [
        "backup_jobs_total",
        "backup_api_request_duration_seconds_bucket",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(names, want);
    let reference = metric_reference();
    assert_eq!(
        reference_metric("backup_api_request_duration_seconds_bucket", &reference),
        Some("backup_api_request_duration_seconds")
    );
    assert_eq!(
        reference_metric("backup_object_rpo_seconds_count", &reference),
        None
    );
}
