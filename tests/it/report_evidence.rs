//! The evidence features of `report` (issue 15 points 2–5), end to end over the seeded
//! simulators: the signed manifest and `verify`, per-tenant folders, the failures digest, the
//! HTML summary (rendered in headless Chromium) and coverage against an asset register.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use backup_exporter::clock::Clock;
use backup_exporter::config::Settings;
use backup_exporter::report::manifest::{self, Manifest};
use backup_exporter::report::progress::Mode;
use backup_exporter::report::{Env, EvidenceArgs, ReportArgs, Source, SplitBy, run_with};
use backup_exporter::sim::{SimContext, SimServer};
use jiff::Timestamp;

use crate::common::require_tool;

const MONTH: &str = "2026-02";

fn now() -> Timestamp {
    "2026-03-05T12:00:00Z".parse().unwrap()
}

type Row = HashMap<String, String>;

fn rows(path: &Path) -> Vec<Row> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// A report over every simulated vendor's demo targets.
struct Sim {
    _server: SimServer,
    dir: tempfile::TempDir,
    config: PathBuf,
    strict_warnings: bool,
}

async fn sim() -> Sim {
    let server = SimServer::start(
        "127.0.0.1:0",
        SimContext {
            clock: Clock::manual(now()),
            ..SimContext::new(7, 12)
        },
        backup_exporter::vendors::simulators(),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let yaml = server
        .demo_config(&dir.path().join("secrets"), None)
        .unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(&config, &yaml).unwrap();
    let strict_warnings = Settings::parse(&yaml, &config)
        .unwrap()
        .compliance
        .strict_warnings;
    Sim {
        _server: server,
        dir,
        config,
        strict_warnings,
    }
}

impl Sim {
    async fn report(&self, out: &str, evidence: EvidenceArgs) -> PathBuf {
        let out = self.dir.path().join(out);
        let args = ReportArgs {
            config: self.config.clone(),
            month: Some(MONTH.parse().unwrap()),
            from: None,
            to: None,
            out: out.clone(),
            targets: Vec::new(),
            keep_going: false,
            source: Source::Api,
            prometheus_url: None,
            evidence,
        };
        let env = Env {
            clock: Clock::manual(now()),
            progress: Mode::Quiet,
            ..Env::default()
        };
        run_with(&args, &env).await.unwrap();
        out
    }
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_backup-exporter"));
    for (k, _) in std::env::vars() {
        if k.starts_with("BACKUP_EXPORTER_") {
            c.env_remove(k);
        }
    }
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let o = c.output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    let (code, out, err) = run(bin().arg("keygen").arg("--out").arg(&key));
    assert_eq!(code, 0, "{err}");
    let public = out
        .lines()
        .find_map(|l| l.strip_prefix("public key: "))
        .unwrap_or_else(|| panic!("keygen prints the public key: {out}"))
        .to_owned();
    (key, public)
}

fn read_manifest(path: &Path) -> Manifest {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn everything() -> EvidenceArgs {
    EvidenceArgs {
        split_by: Some(SplitBy::Tenant),
        failures_only: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn a_signed_pack_verifies_and_any_change_missing_file_or_wrong_key_is_named() {
    let s = sim().await;
    let (key, public) = keygen(s.dir.path(), "signing.pem");
    let out = s
        .report(
            "signed",
            EvidenceArgs {
                sign_key: Some(key.clone()),
                ..everything()
            },
        )
        .await;
    let manifest_path = out.join(format!("manifest-{MONTH}.json"));
    let m = read_manifest(&manifest_path);
    assert_eq!(m.format, manifest::FORMAT);
    assert_eq!(m.period.label, MONTH);
    assert_eq!(m.period.start.to_string(), "2026-02-01T00:00:00Z");
    assert_eq!(m.generated_at, now());
    assert_eq!(m.generator.version, env!("CARGO_PKG_VERSION"));
    assert!(!m.generator.revision.is_empty());
    assert_eq!(m.source, "api");
    assert_eq!(m.tenant, None);
    assert_eq!(m.config_sha256.len(), 64);
    let config = std::fs::read_to_string(&s.config).unwrap();
    assert_eq!(m.config_sha256, manifest::config_digest(&config).unwrap());
    // Every simulated target is accounted for, with what was read of it.
    let settings = Settings::load(&s.config).unwrap();
    let names: BTreeSet<&str> = m.targets.iter().map(|t| t.name.as_str()).collect();
    let want: BTreeSet<&str> = settings.targets.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, want);
    let compliance = rows(&out.join(format!("compliance-{MONTH}.csv")));
    let jobs = rows(&out.join(format!("jobs-{MONTH}.csv")));
    for t in &m.targets {
        assert_eq!(t.error, None, "{t:?}");
        let reported = compliance.iter().filter(|r| r["target"] == t.name).count() as u64;
        assert!(
            t.objects >= reported,
            "{t:?}: read at least what is reported"
        );
        let in_period = jobs.iter().filter(|r| r["target"] == t.name).count() as u64;
        assert!(t.jobs.unwrap() >= in_period, "{t:?}");
    }
    let cloudsync = m.targets.iter().find(|t| t.vendor == "cloudsync").unwrap();
    assert!(
        cloudsync
            .history_complete_from
            .is_some_and(|h| h > m.period.start),
        "Cloud Sync keeps only the latest run: {cloudsync:?}"
    );
    // The top manifest covers every file of the run, the tenants' folders too.
    let mut listed: BTreeSet<String> = m.files.iter().map(|f| f.name.clone()).collect();
    for f in ["compliance", "summary", "jobs", "audit", "digest"] {
        assert!(listed.remove(&format!("{f}-{MONTH}.csv")), "{f}");
    }
    assert!(listed.remove(&format!("summary-{MONTH}.html")));
    assert!(!listed.is_empty() && listed.iter().all(|n| n.starts_with("tenants/")));
    assert!(
        listed
            .iter()
            .any(|n| n.ends_with(&format!("/manifest-{MONTH}.json.sig")))
    );

    // Untouched, with the key: every manifest passes, the tenants' too.
    let (code, stdout, err) = run(bin().arg("verify").arg(&out).arg("--key").arg(&public));
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(stdout.contains("signature good"), "{stdout}");
    let pub_pem = PathBuf::from(format!("{}.pub", key.display()));
    let (code, stdout, _) = run(bin().arg("verify").arg(&out).arg("--key").arg(&pub_pem));
    assert_eq!(code, 0, "the PEM public key works too: {stdout}");
    let tenant_dir = out
        .join("tenants")
        .read_dir()
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let (code, stdout, err) = run(bin()
        .arg("verify")
        .arg(&tenant_dir)
        .arg("--key")
        .arg(&public));
    assert_eq!(
        code, 0,
        "a tenant's folder verifies on its own: {stdout}{err}"
    );

    // One changed byte in any listed file is named.
    let raw_key = manifest::parse_public_key(&public).unwrap();
    for f in &m.files {
        let copy = s.dir.path().join("tampered");
        let _ = std::fs::remove_dir_all(&copy);
        copy_dir(&out, &copy);
        let path = copy.join(&f.name);
        let mut bytes = std::fs::read(&path).unwrap();
        let i = bytes.len() / 2;
        bytes[i] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        let v =
            manifest::verify_manifest(&copy.join(format!("manifest-{MONTH}.json")), Some(&raw_key));
        assert_eq!(v.problems.len(), 1, "{}: {:?}", f.name, v.problems);
        assert!(
            v.problems[0].contains(&f.name) && v.problems[0].contains("changed"),
            "{:?}",
            v.problems
        );
    }
    // Through the binary: exit 1 and the file named.
    let copy = s.dir.path().join("tampered-bin");
    copy_dir(&out, &copy);
    let victim = copy.join(format!("jobs-{MONTH}.csv"));
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[10] ^= 0x20;
    std::fs::write(&victim, bytes).unwrap();
    let (code, stdout, err) = run(bin().arg("verify").arg(&copy).arg("--key").arg(&public));
    assert_eq!(code, 1, "{stdout}");
    assert!(err.contains(&format!("jobs-{MONTH}.csv: changed")), "{err}");

    // A missing file.
    let copy = s.dir.path().join("missing");
    copy_dir(&out, &copy);
    std::fs::remove_file(copy.join(format!("audit-{MONTH}.csv"))).unwrap();
    let (code, _, err) = run(bin().arg("verify").arg(&copy));
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("audit-{MONTH}.csv: missing")),
        "{err}"
    );

    // A wrong key, and a manifest edited to match edited files (hashes fine, signature not).
    let (_, other_public) = keygen(s.dir.path(), "other.pem");
    let (code, stdout, err) = run(bin()
        .arg("verify")
        .arg(&out)
        .arg("--key")
        .arg(&other_public));
    assert_eq!(code, 1, "{stdout}");
    assert!(err.contains("signature does not match"), "{err}");
    let copy = s.dir.path().join("forged");
    copy_dir(&out, &copy);
    let forged_path = copy.join(format!("manifest-{MONTH}.json"));
    let mut forged = read_manifest(&forged_path);
    let csv = copy.join(format!("summary-{MONTH}.csv"));
    std::fs::write(&csv, b"all,fine\r\n").unwrap();
    let f = forged
        .files
        .iter_mut()
        .find(|f| f.name == format!("summary-{MONTH}.csv"))
        .unwrap();
    f.sha256 = manifest::sha256_hex(b"all,fine\r\n");
    f.bytes = 10;
    std::fs::write(&forged_path, forged.to_bytes()).unwrap();
    let (code, _, err) = run(bin().arg("verify").arg(&copy).arg("--key").arg(&public));
    assert_eq!(code, 1);
    assert!(err.contains("signature does not match"), "{err}");
    let v = manifest::verify_manifest(&forged_path, None);
    assert!(
        v.problems.is_empty(),
        "without the key only the hashes are checked"
    );
    // Asked for a signature that is not there.
    std::fs::remove_file(copy.join(format!("manifest-{MONTH}.json.sig"))).unwrap();
    let (code, _, err) = run(bin().arg("verify").arg(&copy).arg("--key").arg(&public));
    assert_eq!(code, 1);
    assert!(err.contains(".sig: cannot read"), "{err}");
    // A folder without a manifest.
    let (code, _, err) = run(bin().arg("verify").arg(s.dir.path().join("secrets")));
    assert_eq!(code, 1);
    assert!(err.contains("no manifest"), "{err}");
}

#[tokio::test]
async fn an_openssl_key_signs_and_its_public_key_verifies() {
    if !require_tool("openssl") {
        return;
    }
    let s = sim().await;
    let key = s.dir.path().join("openssl.pem");
    let pub_pem = s.dir.path().join("openssl.pub.pem");
    let (code, _, err) = run(Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&key));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(Command::new("openssl")
        .args(["pkey", "-pubout", "-in"])
        .arg(&key)
        .arg("-out")
        .arg(&pub_pem));
    assert_eq!(code, 0, "{err}");
    let out = s
        .report(
            "openssl",
            EvidenceArgs {
                sign_key: Some(key),
                ..Default::default()
            },
        )
        .await;
    let (code, stdout, err) = run(bin().arg("verify").arg(&out).arg("--key").arg(&pub_pem));
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(stdout.contains("signature good"), "{stdout}");
    // openssl agrees that the signature is a plain Ed25519 signature of the manifest.
    let sig_b64 = std::fs::read_to_string(out.join(format!("manifest-{MONTH}.json.sig"))).unwrap();
    let sig = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(sig_b64.trim())
            .unwrap()
    };
    let sig_path = s.dir.path().join("sig.bin");
    std::fs::write(&sig_path, sig).unwrap();
    let (code, stdout, err) = run(Command::new("openssl")
        .args(["pkeyutl", "-verify", "-rawin", "-pubin", "-inkey"])
        .arg(&pub_pem)
        .arg("-sigfile")
        .arg(&sig_path)
        .arg("-in")
        .arg(out.join(format!("manifest-{MONTH}.json"))));
    assert_eq!(code, 0, "openssl pkeyutl -verify: {stdout}{err}");
}

#[tokio::test]
async fn tenant_folders_hold_exactly_each_tenants_rows_and_the_digest_only_what_needs_action() {
    let s = sim().await;
    let out = s.report("split", everything()).await;
    let whole = rows(&out.join(format!("compliance-{MONTH}.csv")));
    let whole_jobs = rows(&out.join(format!("jobs-{MONTH}.csv")));
    let tenants: BTreeSet<&str> = whole.iter().map(|r| r["tenant"].as_str()).collect();
    assert!(
        tenants.len() > 3,
        "the simulators have several tenants: {tenants:?}"
    );
    let mut seen = BTreeSet::new();
    let mut rebuilt = 0;
    for dir in std::fs::read_dir(out.join("tenants")).unwrap() {
        let dir = dir.unwrap().path();
        let m = read_manifest(&dir.join(format!("manifest-{MONTH}.json")));
        let tenant = m.tenant.clone().expect("a tenant's manifest names it");
        assert!(seen.insert(tenant.clone()), "one folder per tenant");
        let own = rows(&dir.join(format!("compliance-{MONTH}.csv")));
        let want: Vec<&Row> = whole.iter().filter(|r| r["tenant"] == tenant).collect();
        assert_eq!(own.iter().collect::<Vec<_>>(), want, "{tenant}");
        rebuilt += own.len();
        let own_jobs = rows(&dir.join(format!("jobs-{MONTH}.csv")));
        let want_jobs: Vec<&Row> = whole_jobs
            .iter()
            .filter(|r| r["tenant"] == tenant)
            .collect();
        assert_eq!(own_jobs.iter().collect::<Vec<_>>(), want_jobs, "{tenant}");
        // Its manifest counts its own rows only.
        for t in &m.targets {
            let n = own.iter().filter(|r| r["target"] == t.name).count() as u64;
            assert_eq!(t.objects, n, "{tenant}/{}", t.name);
        }
        let summary = rows(&dir.join(format!("summary-{MONTH}.csv")));
        assert!(summary.iter().all(|r| r["tenant"] == tenant));
        assert!(dir.join(format!("summary-{MONTH}.html")).is_file());
        let digest = rows(&dir.join(format!("digest-{MONTH}.csv")));
        assert!(digest.iter().all(|r| r["tenant"] == tenant));
        let name = dir.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            name,
            backup_exporter::report::split::safe_name(&tenant),
            "no collisions among the simulated tenants"
        );
    }
    let with_rows: BTreeSet<String> = tenants.iter().map(|t| t.to_string()).collect();
    assert!(with_rows.is_subset(&seen), "{with_rows:?} vs {seen:?}");
    assert_eq!(rebuilt, whole.len(), "the folders add up to the whole set");

    let digest = rows(&out.join(format!("digest-{MONTH}.csv")));
    let want: Vec<&Row> = whole
        .iter()
        .filter(|r| {
            ["non_compliant", "unprotected", "no_data", "not_backed_up"]
                .contains(&r["status"].as_str())
                || r["restore_test_overdue"] == "yes"
        })
        .collect();
    assert!(!want.is_empty());
    // A restore test overdue puts an otherwise fine row in the digest, its status unchanged.
    assert!(
        digest
            .iter()
            .any(|r| r["status"] == "compliant" && r["restore_test_overdue"] == "yes"),
        "the simulators plant a compliant object whose restore test is overdue"
    );
    assert!(want.len() < whole.len());
    assert_eq!(digest.iter().collect::<Vec<_>>(), want);
    for status in ["non_compliant", "unprotected", "no_data"] {
        assert!(
            digest.iter().any(|r| r["status"] == status),
            "the simulators plant {status}"
        );
    }
}

/// Hostile tenant and object names: folders stay inside `tenants/`, collisions are told
/// apart, and the page shows the names as text.
#[tokio::test]
async fn hostile_vendor_strings_stay_text_and_inside_the_folder() {
    use crate::report::{FakeAdapter, object, run_job};
    use backup_exporter::adapter::{Adapter, History};
    use backup_exporter::model::JobResult;
    use std::sync::Arc;

    let evil = "<img src=x onerror=alert(1)>";
    let mut objects = vec![
        object("a", "<script>alert('x')</script>", "../../etc", true),
        object("b", evil, "ACME", true),
        object("c", "c-1", "acme", true),
        object("d", "d-1", "Ac\u{1b}[31mme\n", false),
    ];
    objects[0].created = Some("2025-01-01T00:00:00Z".parse().unwrap());
    let jobs = vec![run_job(
        "a",
        1,
        "2026-01-10T02:00:00Z".parse().unwrap(),
        JobResult::Success,
    )];
    let adapter: Arc<dyn Adapter> = Arc::new(FakeAdapter {
        history: Some(History {
            objects,
            jobs,
            audit: Vec::new(),
            skipped: Vec::new(),
        }),
        inventory: Vec::new(),
    });
    let s = crate::report::setup(
        "targets:\n  - { name: alpha, vendor: cloutility, url: \"http://127.0.0.1:9/\", client_id: c, origin: \"http://o\", username: u, password_env: NO_SUCH_PASSWORD }\n",
    );
    let out = s.dir.path().join("out");
    let mut args = crate::report::args(&s.config, &out, &[], false);
    args.evidence = everything();
    let env = Env {
        clock: Clock::manual("2026-02-10T08:00:00Z".parse().unwrap()),
        build: Arc::new(move |_, _| Ok(adapter.clone())),
        progress: Mode::Quiet,
        ..Env::default()
    };
    run_with(&args, &env).await.unwrap();
    let mut folders: Vec<String> = std::fs::read_dir(out.join("tenants"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    folders.sort();
    assert_eq!(folders.len(), 4, "{folders:?}");
    assert!(folders.contains(&"etc".to_owned()), "{folders:?}");
    assert!(
        folders
            .iter()
            .all(|f| !f.contains(['/', '\\', '\u{1b}', '\n']))
    );
    let acme: Vec<&String> = folders
        .iter()
        .filter(|f| f.to_lowercase().starts_with("acme-"))
        .collect();
    assert_eq!(acme.len(), 2, "ACME and acme are told apart: {folders:?}");
    // Nothing was written outside the report folder.
    assert!(!s.dir.path().join("etc").exists());
    let inside = rows(&out.join("tenants/etc").join("compliance-2026-01.csv"));
    assert_eq!(
        inside[0]["tenant"], "../../etc",
        "the tenant's own name stays inside"
    );

    let page = std::fs::read_to_string(out.join("summary-2026-01.html")).unwrap();
    assert!(!page.contains("<script"), "no markup from the vendor");
    assert!(!page.contains("<img"));
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(page.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(!page.contains('\u{1b}'));
}

/// The values of `data-k` cells inside one chunk of a page.
fn data_values(chunk: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut rest = chunk;
    while let Some(i) = rest.find("data-k=\"") {
        rest = &rest[i + 8..];
        let Some(end) = rest.find('"') else { break };
        let key = rest[..end].to_owned();
        let Some(gt) = rest.find('>') else { break };
        let Some(lt) = rest[gt..].find('<') else {
            break;
        };
        let value = rest[gt + 1..gt + lt].to_owned();
        out.entry(key).or_insert(value);
        rest = &rest[gt..];
    }
    out
}

fn attr(chunk: &str, name: &str) -> String {
    let pat = format!("{name}=\"");
    let i = chunk
        .find(&pat)
        .unwrap_or_else(|| panic!("no {name} in {chunk:.200}"));
    let rest = &chunk[i + pat.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn the_html_summary_renders_in_chromium_and_its_numbers_are_the_csvs() {
    if !require_tool("chromium") {
        return;
    }
    let s = sim().await;
    let out = s.report("html", EvidenceArgs::default()).await;
    let page = out.join(format!("summary-{MONTH}.html"));
    let text = std::fs::read_to_string(&page).unwrap();
    // Self-contained: nothing to fetch, nothing to run.
    assert!(!text.contains("<script"));
    assert!(!text.contains("src="));
    assert!(!text.contains("href="));
    assert!(text.contains("default-src 'none'"));

    let profile = tempfile::tempdir().unwrap();
    let (code, dom, err) = run(Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display())));
    assert_eq!(code, 0, "chromium: {err}");
    assert!(dom.contains("<svg"), "the chart renders: {dom:.500}");

    let summary = rows(&out.join(format!("summary-{MONTH}.csv")));
    let jobs = rows(&out.join(format!("jobs-{MONTH}.csv")));
    let compliance = rows(&out.join(format!("compliance-{MONTH}.csv")));
    let sections: Vec<&str> = dom
        .split("<section ")
        .skip(1)
        .filter(|c| c.contains("data-group=\"row\""))
        .collect();
    assert_eq!(sections.len(), summary.len(), "one section per summary row");
    let total = dom
        .split("<section ")
        .find(|c| c.contains("data-group=\"total\""))
        .expect("a totals section");
    let totals = data_values(total);
    let sum = |k: &str| -> u64 { summary.iter().map(|r| r[k].parse::<u64>().unwrap()).sum() };
    assert_eq!(totals["objects"], sum("objects").to_string());
    assert_eq!(totals["non_compliant"], sum("non_compliant").to_string());
    let mut breaches_seen = 0;
    let mut overdue_seen = 0;
    for (section, row) in sections.iter().zip(&summary) {
        assert_eq!(unescape(&attr(section, "data-vendor")), row["vendor"]);
        assert_eq!(unescape(&attr(section, "data-target")), row["target"]);
        assert_eq!(unescape(&attr(section, "data-tenant")), row["tenant"]);
        let v = data_values(section);
        for k in [
            "objects",
            "compliant",
            "non_compliant",
            "unprotected",
            "excluded",
            "new",
            "no_data",
            "not_backed_up",
            "compliance_ratio",
            "job_success_ratio",
            "jobs_total",
            "jobs_failed",
        ] {
            let csv = if row[k].is_empty() {
                "–"
            } else {
                row[k].as_str()
            };
            assert_eq!(v[k], csv, "{k} of {row:?}");
        }
        // The chart's totals are the group's protection jobs in the jobs file.
        let group: Vec<&Row> = jobs
            .iter()
            .filter(|j| {
                j["vendor"] == row["vendor"]
                    && j["target"] == row["target"]
                    && j["tenant"] == row["tenant"]
            })
            .filter(|j| ["backup", "sync"].contains(&j["kind"].as_str()))
            .collect();
        let ok = group
            .iter()
            .filter(|j| {
                j["result"] == "success" || (j["result"] == "warning" && !s.strict_warnings)
            })
            .count();
        let bad = group
            .iter()
            .filter(|j| ["failed", "missed"].contains(&j["result"].as_str()))
            .count();
        assert_eq!(v["chart_successes"], ok.to_string(), "{row:?}");
        assert_eq!(v["chart_failures"], bad.to_string(), "{row:?}");
        assert_eq!(attr(section, "data-successes"), ok.to_string());
        // The objects in breach, with their longest gap.
        let in_breach: Vec<&Row> = compliance
            .iter()
            .filter(|r| {
                r["status"] == "non_compliant"
                    && r["vendor"] == row["vendor"]
                    && r["target"] == row["target"]
                    && r["tenant"] == row["tenant"]
            })
            .collect();
        for r in &in_breach {
            let marker = format!(
                "data-object-id=\"{}\"",
                backup_exporter::report::html::esc(&r["object_id"])
            );
            let at = section
                .find(&marker)
                .unwrap_or_else(|| panic!("{} listed", r["object"]));
            let cells = data_values(&section[at..]);
            assert_eq!(cells["max_gap_seconds"], r["max_gap_seconds"], "{r:?}");
            assert_eq!(cells["rpo_breach_count"], r["rpo_breach_count"], "{r:?}");
            breaches_seen += 1;
        }
        assert_eq!(
            section.matches("data-object-id=").count(),
            in_breach.len(),
            "only the objects in breach are listed"
        );
        // Restore-test status: the summary's count, and exactly the overdue rows listed.
        assert!(!section.contains("data-todo="), "the placeholder is filled");
        let group: Vec<&Row> = compliance
            .iter()
            .filter(|r| {
                r["vendor"] == row["vendor"]
                    && r["target"] == row["target"]
                    && r["tenant"] == row["tenant"]
            })
            .collect();
        let overdue: Vec<&&Row> = group
            .iter()
            .filter(|r| r["restore_test_overdue"] == "yes")
            .collect();
        let checked = group
            .iter()
            .filter(|r| !r["restore_test_overdue"].is_empty())
            .count();
        assert_eq!(row["restore_test_overdue"], overdue.len().to_string());
        if checked == 0 {
            assert!(section.contains("no restore-test interval applies"));
        } else {
            assert_eq!(
                v["restore_test_overdue"], row["restore_test_overdue"],
                "{row:?}"
            );
            assert!(section.contains(&format!("data-restore-checked=\"{checked}\"")));
        }
        for r in &overdue {
            let marker = format!(
                "data-restore-object-id=\"{}\"",
                backup_exporter::report::html::esc(&r["object_id"])
            );
            assert!(
                section.contains(&marker),
                "{} listed as overdue",
                r["object"]
            );
        }
        assert_eq!(
            section.matches("data-restore-object-id=").count(),
            overdue.len(),
            "only the overdue objects are listed"
        );
        overdue_seen += overdue.len();
    }
    assert!(breaches_seen > 0, "the simulators plant breaches");
    assert!(
        overdue_seen > 0,
        "the simulators plant overdue restore tests"
    );
}

#[tokio::test]
async fn an_asset_register_adds_not_backed_up_rows_for_what_no_target_has() {
    let s = sim().await;
    let plain = s.report("plain", EvidenceArgs::default()).await;
    let whole = rows(&plain.join(format!("compliance-{MONTH}.csv")));
    let clumio = whole
        .iter()
        .find(|r| r["vendor"] == "clumio" && !r["object"].is_empty())
        .unwrap();
    let other = whole
        .iter()
        .find(|r| r["vendor"] == "cloutility" && !r["object"].is_empty())
        .unwrap();
    let unprotected = whole.iter().find(|r| r["status"] == "unprotected").unwrap();
    let register = s.dir.path().join("assets.csv");
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let text = format!(
        "name,tenant,vendor,id,owner\r\n\
         {},,,,in scope exactly\r\n\
         {},,,,in scope whatever its status\r\n\
         {},,CLUMIO,,case does not matter\r\n\
         {},,clumio,,lives on another vendor\r\n\
         ghost-*,Nobody Inc,,,never heard of\r\n\
         *,,,no-such-id,id only\r\n\
         *,,,,matches anything\r\n",
        q(&other["object"].to_uppercase()),
        q(&unprotected["object"]),
        q(&clumio["object"]),
        q(&other["object"]),
    );
    std::fs::write(&register, text).unwrap();
    let out = s
        .report(
            "register",
            EvidenceArgs {
                inventory: Some(register.clone()),
                failures_only: true,
                ..Default::default()
            },
        )
        .await;
    let got = rows(&out.join(format!("compliance-{MONTH}.csv")));
    let missing: Vec<&Row> = got
        .iter()
        .filter(|r| r["status"] == "not_backed_up")
        .collect();
    let described: Vec<(&str, &str, &str, &str)> = missing
        .iter()
        .map(|r| {
            (
                r["vendor"].as_str(),
                r["tenant"].as_str(),
                r["object"].as_str(),
                r["object_id"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        described,
        [
            ("clumio", "", other["object"].as_str(), ""),
            ("", "", "*", "no-such-id"),
            ("", "Nobody Inc", "ghost-*", ""),
        ],
        "{missing:?}"
    );
    assert!(
        missing[0]["reason"].contains("assets.csv line 5"),
        "{}",
        missing[0]["reason"]
    );
    assert!(
        missing
            .iter()
            .all(|r| r["target"].is_empty() && r["jobs_total"].is_empty())
    );
    // The other rows are the report without a register, unchanged.
    let rest: Vec<&Row> = got
        .iter()
        .filter(|r| r["status"] != "not_backed_up")
        .collect();
    assert_eq!(rest, whole.iter().collect::<Vec<_>>());
    // Counted in the summary, and listed in the digest.
    let summary = rows(&out.join(format!("summary-{MONTH}.csv")));
    let counted: u64 = summary
        .iter()
        .map(|r| r["not_backed_up"].parse::<u64>().unwrap())
        .sum();
    assert_eq!(counted, 3);
    let clumio_row = summary
        .iter()
        .find(|r| r["vendor"] == "clumio" && r["target"].is_empty())
        .unwrap();
    assert_eq!(
        (
            clumio_row["objects"].as_str(),
            clumio_row["not_backed_up"].as_str()
        ),
        ("1", "1")
    );
    assert_eq!(clumio_row["compliance_ratio"], "");
    let digest = rows(&out.join(format!("digest-{MONTH}.csv")));
    assert_eq!(
        digest
            .iter()
            .filter(|r| r["status"] == "not_backed_up")
            .count(),
        3
    );

    // A bad register is a usage error before any target is read, and writes nothing.
    std::fs::write(&register, "host\r\nx\r\n").unwrap();
    let out = s.dir.path().join("bad");
    let args = ReportArgs {
        config: s.config.clone(),
        month: Some(MONTH.parse().unwrap()),
        from: None,
        to: None,
        out: out.clone(),
        targets: Vec::new(),
        keep_going: false,
        source: Source::Api,
        prometheus_url: None,
        evidence: EvidenceArgs {
            inventory: Some(register),
            ..Default::default()
        },
    };
    let e = run_with(
        &args,
        &Env {
            progress: Mode::Quiet,
            ..Env::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.to_string().contains("no `name` column"), "{e}");
    assert!(!out.exists());
}
