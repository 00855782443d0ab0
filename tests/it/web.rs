//! `serve --web-config` over real sockets: bcrypt basic auth, HTTPS with a CA-signed server
//! certificate, client certificates, TLS versions, HTTP/2 by ALPN, certificate rotation,
//! and the exit code of a bad file. Certificates are generated here with rcgen.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use backup_exporter::adapter::{Adapter, Collection, VendorError, Window};
use backup_exporter::api::ApiMetrics;
use backup_exporter::clock::Clock;
use backup_exporter::config::Settings;
use backup_exporter::exporter::Exporter;
use backup_exporter::web::WebConfig;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A target that is never reachable: /metrics still answers, which is all these tests need.
struct Unreachable;

#[async_trait]
impl Adapter for Unreachable {
    async fn collect(&self, _w: Window) -> Collection {
        Collection::failed(|| VendorError::Invalid("unreachable".into()))
    }
    async fn probe(&self) -> Result<String, VendorError> {
        Err(VendorError::Invalid("unreachable".into()))
    }
}

const CONFIG: &str = "targets:\n  - {name: t1, vendor: cloutility, url: \"http://127.0.0.1:9\", client_id: c, origin: \"http://o\", username: u, password_env: NOPE}\n";

async fn start(web: WebConfig) -> Exporter {
    let settings = Settings::parse(CONFIG, Path::new("test.yml")).unwrap();
    Exporter::start_with(
        &settings,
        vec![Arc::new(Unreachable) as Arc<dyn Adapter>],
        ApiMetrics::default(),
        "127.0.0.1:0",
        Clock::system(),
        Some(web),
    )
    .await
    .unwrap()
}

/// A CA that signs server or client certificates.
struct Ca {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        p.distinguished_name.push(DnType::CommonName, name);
        let pem = p.self_signed(&key).unwrap().pem();
        Ca {
            pem,
            issuer: Issuer::new(p, key),
        }
    }

    /// A leaf certificate (not a CA: rustls refuses a CA as an end entity) and its key.
    fn leaf(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
        p.extended_key_usages = vec![usage];
        let cert = p.signed_by(&key, &self.issuer).unwrap().pem();
        (cert, key.serialize_pem())
    }

    fn server(&self) -> (String, String) {
        self.leaf(
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }
}

/// Writes the server's certificate, key and (optionally) a client CA beside a web config
/// with `extra` appended to its `tls_server_config`, and loads it.
fn tls_web(
    dir: &Path,
    server_ca: &Ca,
    client_ca: Option<&Ca>,
    extra: &str,
    rest: &str,
) -> WebConfig {
    let (cert, key) = server_ca.server();
    std::fs::write(dir.join("server.crt"), cert).unwrap();
    std::fs::write(dir.join("server.key"), key).unwrap();
    let mut yaml =
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n".to_owned();
    if let Some(ca) = client_ca {
        std::fs::write(dir.join("clients.crt"), &ca.pem).unwrap();
        yaml.push_str(
            "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: clients.crt\n",
        );
    }
    yaml.push_str(extra);
    yaml.push_str(rest);
    let path = dir.join("web.yml");
    std::fs::write(&path, yaml).unwrap();
    WebConfig::load(&path).unwrap()
}

fn client_trusting(ca: &Ca) -> reqwest::ClientBuilder {
    backup_exporter::api::install_crypto_provider();
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap()])
        .timeout(Duration::from_secs(10))
}

async fn get_status(client: &reqwest::Client, url: &str) -> Result<u16, reqwest::Error> {
    Ok(client.get(url).send().await?.status().as_u16())
}

#[tokio::test]
async fn bcrypt_user_gets_metrics_and_wrong_or_missing_credentials_get_401() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("web.yml");
    // Cost 4 keeps the test fast; production hashes use 10 or more.
    let hash = bcrypt::hash("scrape-me", 4).unwrap();
    std::fs::write(
        &path,
        format!("basic_auth_users:\n  prometheus: '{hash}'\n"),
    )
    .unwrap();
    let ex = start(WebConfig::load(&path).unwrap()).await;
    assert_eq!(ex.scheme, "http");
    backup_exporter::api::install_crypto_provider();
    let client = reqwest::Client::new();
    let url = format!("http://{}/metrics", ex.addr);

    let ok = client
        .get(&url)
        .basic_auth("prometheus", Some("scrape-me"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.text().await.unwrap().contains("backup_target_up"));
    // Again, now from the cache of verified credentials.
    let again = client
        .get(&url)
        .basic_auth("prometheus", Some("scrape-me"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 200);

    for (user, pw) in [("prometheus", "wrong"), ("nobody", "scrape-me")] {
        let r = client
            .get(&url)
            .basic_auth(user, Some(pw))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{user}:{pw}");
    }
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic")
    );
    // As in exporter-toolkit, nothing is exempt.
    for path in ["/-/healthy", "/-/ready", "/"] {
        let r = client
            .get(format!("http://{}{path}", ex.addr))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path}");
    }
    ex.stop().await;
}

#[tokio::test]
async fn metrics_over_https_for_a_client_trusting_the_ca_with_http2_by_alpn() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("server CA");
    let web = tls_web(
        dir.path(),
        &ca,
        None,
        "",
        "http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=31536000\n",
    );
    let ex = start(web).await;
    assert_eq!(ex.scheme, "https");
    let url = format!("https://{}/metrics", ex.addr);

    let client = client_trusting(&ca).build().unwrap();
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    assert!(r.text().await.unwrap().contains("backup_target_up"));

    // A client that trusts another CA refuses the server.
    let stranger = client_trusting(&Ca::new("other CA")).build().unwrap();
    let e = get_status(&stranger, &url).await.unwrap_err();
    assert!(format!("{e:?}").contains("UnknownIssuer"), "{e:?}");
    ex.stop().await;
}

#[tokio::test]
async fn http2_off_and_tls13_only_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("server CA");
    let web = tls_web(
        dir.path(),
        &ca,
        None,
        "  min_version: TLS13\n",
        "http_server_config:\n  http2: false\n",
    );
    let ex = start(web).await;
    let url = format!("https://{}/metrics", ex.addr);

    let r = client_trusting(&ca)
        .build()
        .unwrap()
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.version(), reqwest::Version::HTTP_11);

    let tls12 = client_trusting(&ca)
        .tls_version_max(reqwest::tls::Version::TLS_1_2)
        .build()
        .unwrap();
    let e = get_status(&tls12, &url).await.unwrap_err();
    assert!(format!("{e:?}").contains("ProtocolVersion"), "{e:?}");
    ex.stop().await;
}

#[tokio::test]
async fn required_client_certificate_refuses_clients_without_one_or_from_another_ca() {
    let dir = tempfile::tempdir().unwrap();
    let server_ca = Ca::new("server CA");
    let client_ca = Ca::new("client CA");
    let web = tls_web(dir.path(), &server_ca, Some(&client_ca), "", "");
    let ex = start(web).await;
    let url = format!("https://{}/metrics", ex.addr);

    let anonymous = client_trusting(&server_ca).build().unwrap();
    let e = get_status(&anonymous, &url).await.unwrap_err();
    assert!(format!("{e:?}").contains("CertificateRequired"), "{e:?}");

    let identity = |ca: &Ca| {
        let (cert, key) = ca.leaf(&["prometheus.example"], ExtendedKeyUsagePurpose::ClientAuth);
        reqwest::Identity::from_pem(format!("{cert}{key}").as_bytes()).unwrap()
    };
    let signed = client_trusting(&server_ca)
        .identity(identity(&client_ca))
        .build()
        .unwrap();
    assert_eq!(get_status(&signed, &url).await.unwrap(), 200);

    // Signed by the CA the server itself uses, which is not the client CA.
    let wrong_ca = client_trusting(&server_ca)
        .identity(identity(&server_ca))
        .build()
        .unwrap();
    let e = get_status(&wrong_ca, &url).await.unwrap_err();
    assert!(format!("{e:?}").contains("UnknownCA"), "{e:?}");
    ex.stop().await;
}

#[tokio::test]
async fn a_rotated_certificate_is_served_to_new_connections() {
    let dir = tempfile::tempdir().unwrap();
    let old_ca = Ca::new("old CA");
    let web = tls_web(dir.path(), &old_ca, None, "", "");
    let ex = start(web.clone()).await;
    let url = format!("https://{}/metrics", ex.addr);
    let new_ca = Ca::new("new CA");
    let e = get_status(&client_trusting(&new_ca).build().unwrap(), &url)
        .await
        .unwrap_err();
    assert!(format!("{e:?}").contains("UnknownIssuer"), "{e:?}");

    let (cert, key) = new_ca.server();
    std::fs::write(dir.path().join("server.key"), key).unwrap();
    std::fs::write(dir.path().join("server.crt"), cert).unwrap();
    // The exporter checks every few seconds; the test does not wait for it.
    assert!(web.tls().unwrap().reload_if_changed().unwrap());

    let fresh = client_trusting(&new_ca).build().unwrap();
    assert_eq!(get_status(&fresh, &url).await.unwrap(), 200);
    ex.stop().await;
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

#[test]
fn serve_with_a_bad_web_config_exits_2_naming_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(&config, CONFIG).unwrap();
    let web = dir.path().join("web.yml");
    let cases = [
        (
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
            "`tls_server_config.cert_file`: cannot read",
        ),
        (
            "basic_auth_users:\n  prometheus: plaintext\n",
            "`basic_auth_users.prometheus`: not a bcrypt hash",
        ),
        (
            "rate_limits: {}\n",
            "`rate_limits`: unknown field `rate_limits`",
        ),
    ];
    for (yaml, expected) in cases {
        std::fs::write(&web, yaml).unwrap();
        let out = bin()
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--web-config")
            .arg(&web)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("web config error: "), "{stderr}");
        assert!(stderr.contains(&web.display().to_string()), "{stderr}");
        assert!(stderr.contains(expected), "{expected} not in {stderr}");
    }
}

/// docs/web-config.md cannot rot: its example loads (with the files it names made real),
/// its hash is of the password it states, and its sample error is the one printed.
#[test]
fn the_documented_example_and_error_are_real() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/web-config.md"))
        .unwrap();
    let example = doc
        .split("```yaml\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let server_ca = Ca::new("server CA");
    let (cert, key) = server_ca.server();
    std::fs::write(dir.path().join("server.crt"), cert).unwrap();
    std::fs::write(dir.path().join("server.key"), key).unwrap();
    std::fs::write(
        dir.path().join("prometheus-ca.crt"),
        Ca::new("client CA").pem,
    )
    .unwrap();
    let tls_dir = format!("{}/", dir.path().display());
    let yaml = example.replace("/etc/backup-exporter/tls/", &tls_dir);
    let path = dir.path().join("web.yml");

    let w = WebConfig::parse(&yaml, &path).unwrap();
    assert_eq!(
        w.tls().unwrap().client_auth(),
        backup_exporter::web::tls::ClientAuth::RequireAndVerify
    );
    let hash = example
        .lines()
        .find_map(|l| l.trim().strip_prefix("prometheus: "))
        .unwrap();
    assert!(bcrypt::verify("change-me", hash).unwrap());

    let without_ca: String = yaml
        .lines()
        .filter(|l| !l.contains("client_ca_file"))
        .map(|l| format!("{l}\n"))
        .collect();
    let e = WebConfig::parse(&without_ca, Path::new("/etc/backup-exporter/web.yml")).unwrap_err();
    let line = format!("web config error: {e}");
    assert!(
        doc.contains(&line),
        "docs/web-config.md should show:\n{line}"
    );
}
