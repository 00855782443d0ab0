//! Malformed configs through the real binary (issue 13 point 7): each one is refused by
//! `check` and by `serve` alike, with exit 2 and one line that names the target and the
//! key, never a panic, and never a secret value of the file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Secrets written in the configs and files below; none may appear in any output.
const INLINE: &str = "Zq7inline-Secret-4471";
const FILE_SECRET: &str = "Zq7file-Secret-9902";
const URL_PASSWORD: &str = "Zq7url-Pw-3318";
const UNCLOSED: &str = "Zq7unclosed-Secret-5520";
const REPEATED_1: &str = "Zq7repeat-One-6631";
const REPEATED_2: &str = "Zq7repeat-Two-7742";
const NUMBER: &str = "98765432123";
const TWICE: &str = "Zq7twice-Secret-8853";
const BIG_FILE_SECRET: &str = "Zq7big-File-1164";
const FLOW: &str = "Zq7flow-Secret-2275";
const SECRETS: &[&str] = &[
    INLINE,
    FILE_SECRET,
    URL_PASSWORD,
    UNCLOSED,
    REPEATED_1,
    REPEATED_2,
    NUMBER,
    TWICE,
    BIG_FILE_SECRET,
    FLOW,
];

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_backup-exporter"));
    for (k, _) in std::env::vars() {
        if k.starts_with("BACKUP_EXPORTER_") {
            c.env_remove(k);
        }
    }
    c.env_remove("RUST_BACKTRACE").env_remove("RUST_LOG");
    c
}

/// The files the configs point at.
struct Files {
    _dir: tempfile::TempDir,
    dir: PathBuf,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().to_owned();
        std::fs::write(p.join("pw"), format!("{FILE_SECRET}\n")).unwrap();
        std::fs::write(
            p.join("big-pw"),
            format!("{BIG_FILE_SECRET}\n").repeat(7000),
        )
        .unwrap();
        std::fs::write(p.join("not-pem.crt"), "this is not a certificate\n").unwrap();
        std::fs::create_dir(p.join("a-directory")).unwrap();
        let fifo = std::ffi::CString::new(p.join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        std::fs::write(p.join("web-unknown.yml"), "basic_auth_user:\n  a: b\n").unwrap();
        std::fs::write(
            p.join("web-no-cert.yml"),
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
        )
        .unwrap();
        Files { _dir: dir, dir: p }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

/// One valid target per vendor: (name, vendor, its lines but the secret, its secret line).
fn base_targets(f: &Files) -> Vec<(&'static str, &'static str, String, String)> {
    let pw = f.path("pw");
    vec![
        (
            "clout-a",
            "cloutility",
            "    url: http://127.0.0.1:1/\n    client_id: c1\n    origin: http://monitor.example\n    username: u\n".into(),
            format!("    password_file: {pw}\n"),
        ),
        (
            "bdr-a",
            "backupdr",
            "    url: http://127.0.0.1:1/actifio\n".into(),
            format!("    token: {INLINE}\n"),
        ),
        (
            "tower-a",
            "cloudtower",
            "    url: http://127.0.0.1:1/\n    username: monitor\n    user_source: LOCAL\n".into(),
            format!("    password_file: {pw}\n"),
        ),
        (
            "sync-a",
            "cloudsync",
            "    auth_url: http://127.0.0.1:1/oauth/token\n    client_id: c2\n"
                .into(),
            format!("    refresh_token_file: {pw}\n"),
        ),
        (
            "clumio-a",
            "clumio",
            "    url: http://127.0.0.1:1/\n".into(),
            format!("    token_file: {pw}\n"),
        ),
    ]
}

/// What a case does to the valid config.
enum Edit {
    /// Lines added at the top level.
    Top(String),
    /// Lines added to the vendor's target.
    Add(&'static str, String),
    /// The vendor's secret line replaced by these lines.
    Secret(&'static str, String),
    /// In the vendor's target, a line replaced by another.
    Replace(&'static str, &'static str, String),
    /// The whole file, as bytes.
    Whole(Vec<u8>),
}

fn config(f: &Files, edit: &Edit) -> Vec<u8> {
    if let Edit::Whole(bytes) = edit {
        return bytes.clone();
    }
    let mut out = String::new();
    if let Edit::Top(t) = edit {
        out.push_str(t);
    }
    out.push_str("targets:\n");
    for (name, vendor, lines, secret) in base_targets(f) {
        out.push_str(&format!("  - name: {name}\n    vendor: {vendor}\n"));
        let lines = match edit {
            Edit::Replace(v, from, to) if *v == vendor => lines.replacen(from, to, 1),
            _ => lines,
        };
        out.push_str(&lines);
        match edit {
            Edit::Secret(v, new) if *v == vendor => out.push_str(new),
            _ => out.push_str(&secret),
        }
        if let Edit::Add(v, extra) = edit
            && *v == vendor
        {
            out.push_str(extra);
        }
    }
    out.into_bytes()
}

struct Case {
    name: &'static str,
    edit: Edit,
    /// `--web-config` for both commands.
    web_config: Option<&'static str>,
    /// What the one line must contain (the target and the key, where there are ones).
    want: Vec<String>,
}

fn case(name: &'static str, edit: Edit, want: &[&str]) -> Case {
    Case {
        name,
        edit,
        web_config: None,
        want: want.iter().map(|s| s.to_string()).collect(),
    }
}

fn add(vendor: &'static str, lines: &str) -> Edit {
    Edit::Add(vendor, lines.to_owned())
}

fn secret(vendor: &'static str, lines: &str) -> Edit {
    Edit::Secret(vendor, lines.to_owned())
}

fn top(lines: &str) -> Edit {
    Edit::Top(lines.to_owned())
}

fn cases(f: &Files) -> Vec<Case> {
    let t = |name: &str| format!("targets[{}] (name \"{name}\")", index_of(f, name));
    let pw = f.path("pw");
    let mut big = b"# padding\n".repeat(1_000_000);
    big.extend_from_slice(b"targets: []\n");
    let mut v = vec![
        // The file as a whole.
        case("empty file", Edit::Whole(vec![]), &["`targets`: at least one target is required"]),
        case("only a comment", Edit::Whole(b"# nothing\n".to_vec()), &["`targets`: at least one target"]),
        case("binary garbage", Edit::Whole(vec![0xff, 0xfe, 0x00, 0x9c, 0x80, 0x01, 0xc3]), &["cannot read config file", "not UTF-8 text"]),
        case("control characters", Edit::Whole(b"\x01\x02\x1b[31m: [\x07".to_vec()), &["not valid YAML"]),
        case("a 10 MB file", Edit::Whole(big), &["cannot read config file", "over the 4 MiB limit"]),
        case("a list at the top", Edit::Whole(b"- a\n- b\n".to_vec()), &["the config is a map of keys", "not a sequence"]),
        case("targets is a map", top("targets_are_below: 1\n"), &["unknown field `targets_are_below`"]),
        case("tab indentation", Edit::Whole(format!("targets:\n\t- name: a\n\t  token: {INLINE}\n").into_bytes()), &["not valid YAML", "line 2"]),
        // Unknown keys: top level, defaults, a target's common keys, each vendor's keys.
        case("unknown top-level key", top("listen_port: 9987\n"), &["unknown field `listen_port`"]),
        case("unknown key in defaults", top("defaults:\n  intervall: 5m\n"), &["`defaults.intervall`", "unknown field"]),
        case("unknown key in tls", add("clumio", "    tls: {ca: x}\n"), &[&t("clumio-a"), "`tls.ca`"]),
        case("unknown key: cloutility", add("cloutility", "    bunit: [1]\n"), &[&t("clout-a"), "`bunit` is not a key of vendor cloutility"]),
        case("unknown key: backupdr", add("backupdr", "    credential_file: /x\n"), &[&t("bdr-a"), "`credential_file` is not a key of vendor backupdr"]),
        case("unknown key: cloudtower", add("cloudtower", "    cluster: [c]\n"), &[&t("tower-a"), "`cluster` is not a key of vendor cloudtower"]),
        case("unknown key: cloudsync", add("cloudsync", "    acount_id: x\n"), &[&t("sync-a"), "`acount_id` is not a key of vendor cloudsync"]),
        case("unknown key: clumio", add("clumio", "    organisational_unit: x\n"), &[&t("clumio-a"), "`organisational_unit` is not a key of vendor clumio"]),
        case("another vendor's secret key", add("cloutility", "    token_file: /t\n"), &[&t("clout-a"), "`token_file` is not a key of vendor cloutility"]),
        // Wrong types.
        case("interval is a list", add("clumio", "    interval: [5m]\n"), &[&t("clumio-a"), "`interval`", "invalid type"]),
        case("bunits of names", add("cloutility", "    bunits: [finance]\n"), &[&t("clout-a"), "`bunits[0]`", "invalid type"]),
        case("clusters is a number", add("cloudtower", "    clusters: 3\n"), &[&t("tower-a"), "`clusters`", "invalid type"]),
        case("concurrency is a word", add("clumio", "    max_concurrent_requests: many\n"), &[&t("clumio-a"), "`max_concurrent_requests`"]),
        case("tls is a boolean", add("clumio", "    tls: yes\n"), &[&t("clumio-a"), "`tls`", "invalid type"]),
        case("a target is a number", Edit::Whole(b"targets:\n  - 3\n".to_vec()), &["targets[0]", "a target is a map"]),
        // Names and vendors.
        case("duplicate target names", Edit::Whole(format!("targets:\n  - {{name: twin, vendor: clumio, url: \"http://127.0.0.1:1/\", token_file: {pw}}}\n  - {{name: twin, vendor: clumio, url: \"http://127.0.0.1:1/\", token_file: {pw}}}\n").into_bytes()), &["targets[1] (name \"twin\")", "`name`", "used by another target"]),
        case("unknown vendor", Edit::Whole(b"targets:\n  - {name: v, vendor: veeam}\n".to_vec()), &["targets[0] (name \"v\")", "`vendor`", "unknown vendor"]),
        case("a target without a name", Edit::Whole(format!("targets:\n  - {{vendor: clumio, url: \"http://127.0.0.1:1/\", token_file: {pw}}}\n").into_bytes()), &["targets[0]", "missing field `name`"]),
        // Durations and limits.
        case("interval 0s", add("clumio", "    interval: 0s\n"), &[&t("clumio-a"), "`interval`: must be more than 0"]),
        case("interval 1ns", add("clumio", "    interval: 1ns\n"), &[&t("clumio-a"), "`interval`: 1ns is under the minimum of 100ms"]),
        case("timeout 5ms", add("cloudsync", "    timeout: 5ms\n"), &[&t("sync-a"), "`timeout`: 5ms is under the minimum"]),
        case("negative lookback", add("cloudtower", "    lookback: -5m\n"), &[&t("tower-a"), "`lookback`"]),
        case("defaults max_stale 1us", top("defaults:\n  max_stale: 1us\n"), &["`defaults.max_stale`: 1us is under the minimum of 100ms"]),
        case("zero response cap", add("backupdr", "    max_response_bytes: 0\n"), &[&t("bdr-a"), "`max_response_bytes`: must be more than 0"]),
        case("zero concurrency in defaults", top("defaults: {max_concurrent_requests: 0}\n"), &["`defaults.max_concurrent_requests`: must be at least 1"]),
        case("refresh endpoint every 0s", top("refresh_endpoint: {enabled: true, min_interval: 0s}\n"), &["`refresh_endpoint.min_interval`"]),
        case("shard out of range", top("shard: {index: 3, total: 2}\n"), &["`shard`"]),
        // URLs.
        case("non-http url", Edit::Replace("cloutility", "    url: http://127.0.0.1:1/\n", "    url: ftp://127.0.0.1/\n".into()), &[&t("clout-a"), "`url`: ftp://127.0.0.1/ is not an http(s) URL"]),
        case("url with credentials", Edit::Replace("clumio", "    url: http://127.0.0.1:1/\n", format!("    url: https://monitor:{URL_PASSWORD}@clumio.example/\n")), &[&t("clumio-a"), "`url`", "has a user name or password in it"]),
        case("non-http url with credentials", Edit::Replace("cloudtower", "    url: http://127.0.0.1:1/\n", format!("    url: ftp://monitor:{URL_PASSWORD}@tower.example/\n")), &[&t("tower-a"), "`url`", "is not an http(s) URL"]),
        case("url not a url", add("cloudsync", "    audit_url: \"::nonsense\"\n"), &[&t("sync-a"), "`audit_url`"]),
        // Secrets.
        case("a secret given twice", add("cloutility", &format!("    password: {TWICE}\n")), &[&t("clout-a"), "`password`, `password_file` and `password_env` are alternatives"]),
        case("a repeated secret key", secret("clumio", &format!("    token: {REPEATED_1}\n    token: {REPEATED_2}\n")), &["not valid YAML", "duplicate mapping key: token", "key `token` of the target named \"clumio-a\""]),
        case("an unclosed quote after a secret", secret("cloudtower", &format!("    password: \"{UNCLOSED}\n")), &["not valid YAML", "key `password` of the target named \"tower-a\""]),
        case("an unclosed flow map after a secret", Edit::Whole(format!("targets:\n  - {{name: flow-a, vendor: clumio, url: \"http://127.0.0.1:1/\", token: '{FLOW}\n").into_bytes()), &["not valid YAML", "flow-a"]),
        case("a secret that is a number", secret("clumio", &format!("    token: {NUMBER}\n")), &[&t("clumio-a"), "`token`: YAML read a number, not text; write the value in quotes"]),
        case("a secret that is a map", secret("backupdr", &format!("    token: {{value: {INLINE}}}\n")), &[&t("bdr-a"), "`token`: invalid type: map"]),
        case("a missing secret file", secret("cloudsync", "    refresh_token_file: /nonexistent/refresh\n"), &["target \"sync-a\" (cloudsync)", "`refresh_token`", "cannot read secret file /nonexistent/refresh"]),
        case("a secret file that is a directory", secret("clumio", &format!("    token_file: {}\n", f.path("a-directory"))), &["target \"clumio-a\" (clumio)", "`token`", "not a regular file (a directory)"]),
        case("a secret file that never ends", secret("clumio", "    token_file: /dev/zero\n"), &["target \"clumio-a\" (clumio)", "`token`", "/dev/zero: not a regular file (a device)"]),
        case("a secret FIFO with no writer", secret("cloutility", &format!("    password_file: {}\n", f.path("fifo"))), &["target \"clout-a\" (cloutility)", "`password`", "not a regular file (a FIFO)"]),
        case("an oversized secret file", secret("cloudtower", &format!("    password_file: {}\n", f.path("big-pw"))), &["target \"tower-a\" (cloudtower)", "`password`", "over the 64 KiB limit"]),
        case("an unset secret variable", secret("backupdr", "    token_env: BACKUP_EXPORTER_TEST_SURELY_UNSET_7\n"), &["target \"bdr-a\" (backupdr)", "`token`", "environment variable BACKUP_EXPORTER_TEST_SURELY_UNSET_7 is not set"]),
        case("a missing service-account key", secret("backupdr", "    credentials_file: /nonexistent/key.json\n"), &["target \"bdr-a\" (backupdr)", "`credentials_file`", "cannot read /nonexistent/key.json"]),
        case("a service-account key that never ends", secret("backupdr", "    credentials_file: /dev/zero\n"), &["target \"bdr-a\" (backupdr)", "`credentials_file`", "not a regular file (a device)"]),
        case("a service-account key that is not one", secret("backupdr", &format!("    credentials_file: {pw}\n")), &["target \"bdr-a\" (backupdr)", "`credentials_file`", "not a service-account JSON key"]),
        // TLS.
        case("a non-PEM CA file", add("cloutility", &format!("    tls: {{ca_file: {}}}\n", f.path("not-pem.crt"))), &[&t("clout-a"), "`tls.ca_file`", "holds no PEM certificate"]),
        case("a missing CA file", add("cloudtower", "    tls: {ca_file: /nonexistent/ca.crt}\n"), &[&t("tower-a"), "`tls.ca_file`", "cannot read /nonexistent/ca.crt"]),
        case("a CA file that never ends", add("clumio", "    tls: {ca_file: /dev/zero}\n"), &[&t("clumio-a"), "`tls.ca_file`", "not a regular file"]),
        // Listen addresses.
        case("a port out of range", top("listen: \"0.0.0.0:99999\"\n"), &["`listen`", "is not an address to listen on"]),
        case("a listen without a port", top("listen: \"0.0.0.0\"\n"), &["`listen`", "is not an address to listen on"]),
        case("a listen address of another machine", top("listen: \"203.0.113.7:9987\"\n"), &["`listen`", "cannot listen on 203.0.113.7:9987"]),
    ];
    v.push(Case {
        web_config: Some("web-unknown.yml"),
        ..case(
            "a web config with an unknown key",
            Edit::Top(String::new()),
            &["web config error", "`basic_auth_user`", "unknown field"],
        )
    });
    v.push(Case {
        web_config: Some("web-no-cert.yml"),
        ..case(
            "a web config without its certificate",
            Edit::Top(String::new()),
            &["web config error", "`tls_server_config.cert_file`"],
        )
    });
    v
}

fn index_of(f: &Files, name: &str) -> usize {
    base_targets(f).iter().position(|t| t.0 == name).unwrap()
}

/// Runs `serve` with `args`; a `serve` still running after 20 s is killed (and fails the
/// case: it should have refused at once).
fn serve(args: &[String]) -> (Option<i32>, String, String) {
    let mut child = bin()
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let (o, e) = texts(&out);
    (out.status.code(), o, e)
}

fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn args(f: &Files, config: &Path, c: &Case) -> Vec<String> {
    let mut a = vec!["--config".to_owned(), config.display().to_string()];
    if !matches!(&c.edit, Edit::Top(t) if t.starts_with("listen:")) {
        a.extend(["--listen".to_owned(), "127.0.0.1:0".to_owned()]);
    }
    if let Some(w) = c.web_config {
        a.extend(["--web-config".to_owned(), f.path(w)]);
    }
    a
}

#[test]
fn the_valid_config_the_cases_start_from_passes_check() {
    let f = Files::new();
    let path = f.dir.join("valid.yml");
    std::fs::write(&path, config(&f, &Edit::Top(String::new()))).unwrap();
    let out = bin()
        .args(["check", "--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("ok (5 targets)"), "{stdout}");
}

#[test]
fn malformed_configs_are_refused_by_check_and_serve_alike_in_one_line_without_secrets() {
    let f = Files::new();
    let cases = cases(&f);
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let path = f.dir.join(format!("case-{i}.yml"));
        std::fs::write(&path, config(&f, &c.edit)).unwrap();
        let a = args(&f, &path, c);
        let out = bin().arg("check").args(&a).output().unwrap();
        let (stdout, stderr) = texts(&out);
        let (serve_code, serve_stdout, serve_stderr) = serve(&a);
        let mut wrong = Vec::new();
        if out.status.code() != Some(2) {
            wrong.push(format!("check exited {:?}", out.status.code()));
        }
        if serve_code != Some(2) {
            wrong.push(format!("serve exited {serve_code:?}"));
        }
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.len() != 1 {
            wrong.push(format!("{} lines on stderr", lines.len()));
        }
        if !stdout.is_empty() {
            wrong.push("output on stdout".to_owned());
        }
        if serve_stderr != stderr {
            wrong.push(format!("serve said {serve_stderr:?}"));
        }
        for w in &c.want {
            if !stderr.contains(w.as_str()) {
                wrong.push(format!("no {w:?}"));
            }
        }
        let all = format!("{stdout}{stderr}{serve_stdout}{serve_stderr}");
        if all.contains("panicked") || all.contains("RUST_BACKTRACE") {
            wrong.push("a panic".to_owned());
        }
        for s in SECRETS {
            if all.contains(s) {
                wrong.push(format!("the secret {s:?} is shown"));
            }
        }
        if !wrong.is_empty() {
            failures.push(format!("{}: {}\n    {stderr:?}", c.name, wrong.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases wrong:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
