//! The file format: what is accepted, and that every refusal names its key.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use rcgen::{
    BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tower::ServiceExt as _;

use super::*;

/// A CA, a server certificate it signed, and the server's key, as PEM.
struct Pki {
    ca: String,
    cert: String,
    key: String,
}

fn pki(name: &str) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} CA"));
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = leaf.signed_by(&key, &issuer).unwrap().pem();
    Pki {
        ca: ca_pem,
        cert,
        key: key.serialize_pem(),
    }
}

/// Writes the PKI beside a web config and returns the folder.
fn files(p: &Pki) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("server.crt"), &p.cert).unwrap();
    std::fs::write(dir.path().join("server.key"), &p.key).unwrap();
    std::fs::write(dir.path().join("ca.crt"), &p.ca).unwrap();
    dir
}

fn parse_in(dir: &Path, yaml: &str) -> Result<WebConfig, WebConfigError> {
    WebConfig::parse(yaml, &dir.join("web.yml"))
}

/// The key and message of an `Invalid` error.
fn problem(r: Result<WebConfig, WebConfigError>) -> Problem {
    match r {
        Err(WebConfigError::Invalid { problem, .. }) => problem,
        Err(other) => panic!("expected a problem with a key, got {other}"),
        Ok(_) => panic!("expected the file to be refused"),
    }
}

const TLS: &str = "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n";

#[test]
fn empty_file_means_plain_http_without_auth() {
    for text in ["", "tls_server_config: {}\nbasic_auth_users: {}\n"] {
        let w = WebConfig::parse(text, Path::new("web.yml")).unwrap();
        assert!(w.tls().is_none());
        assert!(w.basic_auth().is_none());
        assert!(w.http2());
    }
}

#[test]
fn unknown_keys_are_named_not_ignored() {
    let d = Path::new("/nonexistent");
    let p = problem(parse_in(d, "tls_server_config:\n  cert_flie: a.crt\n"));
    assert_eq!(p.key, "tls_server_config.cert_flie");
    assert!(p.message.contains("unknown field `cert_flie`"), "{p}");
    let p = problem(parse_in(d, "http_server_config:\n  header: {}\n"));
    assert_eq!(p.key, "http_server_config.header");
    assert!(p.message.contains("unknown field `header`"), "{p}");
    let p = problem(parse_in(d, "basic_auth: {}\n"));
    assert_eq!(p.key, "basic_auth");
    assert!(p.message.contains("unknown field `basic_auth`"), "{p}");
    let p = problem(parse_in(d, "rate_limit: {interval: soon, burst: 1}\n"));
    assert_eq!(p.key, "rate_limit.interval");
}

#[test]
fn missing_or_mismatched_files_name_the_key() {
    let p = pki("a");
    let dir = files(&p);
    let e = problem(parse_in(dir.path(), &TLS.replace("server.crt", "nope.crt")));
    assert_eq!(e.key, "tls_server_config.cert_file");
    assert!(
        e.message.contains("cannot read") && e.message.contains("nope.crt"),
        "{e}"
    );

    let other = pki("b");
    std::fs::write(dir.path().join("other.key"), &other.key).unwrap();
    let e = problem(parse_in(
        dir.path(),
        &TLS.replace("server.key", "other.key"),
    ));
    assert_eq!(e.key, "tls_server_config.key_file");
    assert!(e.message.contains("does not belong"), "{e}");

    let e = problem(parse_in(
        dir.path(),
        &TLS.replace("server.crt", "server.key"),
    ));
    assert_eq!(e.key, "tls_server_config.cert_file");
    assert!(e.message.contains("no PEM CERTIFICATE"), "{e}");

    let e = problem(parse_in(
        dir.path(),
        "tls_server_config:\n  cert_file: server.crt\n",
    ));
    assert_eq!(e.key, "tls_server_config.key_file");

    // Only tuning keys: exporter-toolkit would silently serve plain HTTP.
    let e = problem(parse_in(
        dir.path(),
        "tls_server_config:\n  min_version: TLS13\n",
    ));
    assert_eq!(e.key, "tls_server_config.cert_file");
}

/// A web config or TLS file that is a device, a FIFO or too large is refused at once, naming
/// the file (and the key), instead of blocking `serve` or filling its memory.
#[test]
fn devices_fifos_and_huge_files_are_refused() {
    let dir = files(&pki("a"));
    let e = WebConfig::load(Path::new("/dev/zero")).expect_err("refused");
    let text = e.to_string();
    assert!(
        text.contains("/dev/zero") && text.contains("not a regular file (a device)"),
        "{text}"
    );
    let fifo = std::ffi::CString::new(dir.path().join("fifo").to_str().unwrap()).unwrap();
    // SAFETY: mkfifo with a valid, NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    let e = problem(parse_in(dir.path(), &TLS.replace("server.crt", "fifo")));
    assert_eq!(e.key, "tls_server_config.cert_file");
    assert!(e.message.contains("not a regular file (a FIFO)"), "{e}");
    let e = problem(parse_in(
        dir.path(),
        &TLS.replace("server.key", "/dev/zero"),
    ));
    assert_eq!(e.key, "tls_server_config.key_file");
    assert!(e.message.contains("not a regular file (a device)"), "{e}");
    let big = dir.path().join("big.yml");
    std::fs::write(
        &big,
        vec![b'#'; (crate::small_file::CONFIG_FILE_LIMIT + 1) as usize],
    )
    .unwrap();
    let text = WebConfig::load(&big).expect_err("refused").to_string();
    assert!(text.contains("big.yml") && text.contains("limit"), "{text}");
}

#[test]
fn relative_files_are_found_beside_the_web_config_and_inline_pem_works() {
    let p = pki("a");
    let dir = files(&p);
    let w = parse_in(dir.path(), TLS).unwrap();
    let tls = w.tls().unwrap();
    assert!(tls.watches_files());
    assert_eq!(tls.client_auth(), tls::ClientAuth::None);

    let indent = |s: &str| s.replace('\n', "\n    ");
    let inline = format!(
        "tls_server_config:\n  cert: |\n    {}\n  key: |\n    {}\n",
        indent(p.cert.trim_end()),
        indent(p.key.trim_end())
    );
    let w = WebConfig::parse(&inline, Path::new("/nowhere/web.yml")).unwrap();
    assert!(!w.tls().unwrap().watches_files());
}

#[test]
fn client_certificate_policies() {
    let p = pki("a");
    let dir = files(&p);
    let with = |extra: &str| parse_in(dir.path(), &format!("{TLS}{extra}"));

    let w =
        with("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n").unwrap();
    assert_eq!(
        w.tls().unwrap().client_auth(),
        tls::ClientAuth::RequireAndVerify
    );
    let w =
        with("  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.crt\n").unwrap();
    assert_eq!(
        w.tls().unwrap().client_auth(),
        tls::ClientAuth::VerifyIfGiven
    );

    let e = problem(with("  client_auth_type: RequireAndVerifyClientCert\n"));
    assert_eq!(e.key, "tls_server_config.client_ca_file");
    let e = problem(with("  client_ca_file: ca.crt\n"));
    assert_eq!(e.key, "tls_server_config.client_auth_type");
    for unverified in [
        "RequestClientCert",
        "RequireAnyClientCert",
        "RequireClientCert",
    ] {
        let e = problem(with(&format!(
            "  client_auth_type: {unverified}\n  client_ca_file: ca.crt\n"
        )));
        assert_eq!(e.key, "tls_server_config.client_auth_type");
        assert!(e.message.contains("without verifying"), "{e}");
    }
    let e = problem(with("  client_auth_type: Sometimes\n"));
    assert!(e.message.contains("unknown value \"Sometimes\""), "{e}");
    let e = problem(with(
        "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [a.example]\n",
    ));
    assert_eq!(e.key, "tls_server_config.client_allowed_sans");
    assert!(e.message.contains("not supported"), "{e}");
    let e = problem(with("  client_ca_file: ca.crt\n  client_ca: x\n"));
    assert_eq!(e.key, "tls_server_config.client_ca");
}

#[test]
fn versions_suites_and_curves_are_checked_by_name() {
    let p = pki("a");
    let dir = files(&p);
    let with = |extra: &str| parse_in(dir.path(), &format!("{TLS}{extra}"));

    with("  min_version: TLS13\n  max_version: TLS13\n").unwrap();
    with("  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_AES_128_GCM_SHA256]\n  curve_preferences: [X25519, CurveP256]\n  prefer_server_cipher_suites: false\n").unwrap();

    let e = problem(with("  min_version: TLS10\n"));
    assert_eq!(e.key, "tls_server_config.min_version");
    assert!(e.message.contains("not supported"), "{e}");
    let e = problem(with("  max_version: TLS14\n"));
    assert_eq!(e.key, "tls_server_config.max_version");
    let e = problem(with("  min_version: TLS13\n  max_version: TLS12\n"));
    assert_eq!(e.key, "tls_server_config.min_version");
    let e = problem(with(
        "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_RSA_WITH_AES_128_CBC_SHA]\n",
    ));
    assert_eq!(e.key, "tls_server_config.cipher_suites[1]");
    let e = problem(with("  curve_preferences: [CurveP521]\n"));
    assert_eq!(e.key, "tls_server_config.curve_preferences[0]");
}

#[test]
fn named_tls12_suites_follow_every_tls13_suite_in_the_order_given() {
    let all = rustls::crypto::ring::default_provider().cipher_suites;
    let names = [
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305".to_owned(),
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384".to_owned(),
    ];
    let got: Vec<String> = protocol::cipher_suites(&names, &all)
        .unwrap()
        .into_iter()
        .map(|s| format!("{:?}", s.suite()))
        .collect();
    assert_eq!(
        got,
        [
            "TLS13_AES_256_GCM_SHA384",
            "TLS13_AES_128_GCM_SHA256",
            "TLS13_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        ]
    );
}

#[test]
fn headers_are_limited_to_the_toolkit_list_and_values() {
    let d = Path::new("/nonexistent");
    let w = parse_in(
        d,
        "http_server_config:\n  headers:\n    X-Frame-Options: deny\n    Strict-Transport-Security: max-age=31536000\n    X-XSS-Protection: \"\"\n",
    )
    .unwrap();
    assert_eq!(w.headers.len(), 2, "a blank value sets nothing");
    let e = problem(parse_in(
        d,
        "http_server_config:\n  headers:\n    X-Powered-By: me\n",
    ));
    assert_eq!(e.key, "http_server_config.headers.X-Powered-By");
    let e = problem(parse_in(
        d,
        "http_server_config:\n  headers:\n    X-Frame-Options: allow\n",
    ));
    assert_eq!(e.key, "http_server_config.headers.X-Frame-Options");
}

#[test]
fn a_rotated_certificate_is_picked_up_and_a_broken_one_keeps_the_old() {
    let first = pki("first");
    let dir = files(&first);
    let w = parse_in(dir.path(), TLS).unwrap();
    let tls = w.tls().unwrap();
    let before = tls.rustls_config().get_inner();
    assert!(!tls.reload_if_changed().unwrap(), "nothing changed yet");
    assert!(Arc::ptr_eq(&before, &tls.rustls_config().get_inner()));

    // Half a rotation: a new certificate with the old key.
    let second = pki("second");
    std::fs::write(dir.path().join("server.crt"), &second.cert).unwrap();
    let e = tls.reload_if_changed().unwrap_err();
    assert_eq!(e.key, "tls_server_config.key_file");
    assert!(Arc::ptr_eq(&before, &tls.rustls_config().get_inner()));

    std::fs::write(dir.path().join("server.key"), &second.key).unwrap();
    assert!(tls.reload_if_changed().unwrap());
    assert!(!Arc::ptr_eq(&before, &tls.rustls_config().get_inner()));
    assert!(!tls.reload_if_changed().unwrap());
}

fn router_with(w: &WebConfig) -> Router {
    w.apply(Router::new().route("/metrics", get(|| async { "ok" })))
}

async fn call(r: &Router, auth: Option<&str>) -> axum::response::Response {
    let mut req = Request::get("/metrics");
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    r.clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn layers_answer_401_with_a_challenge_add_headers_everywhere_and_limit_the_rate() {
    let hash = bcrypt::hash("pw", 4).unwrap();
    let yaml = format!(
        "basic_auth_users:\n  prom: '{hash}'\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\nrate_limit:\n  interval: 1h\n  burst: 3\n"
    );
    let w = WebConfig::parse(&yaml, Path::new("web.yml")).unwrap();
    let r = router_with(&w);

    let refused = call(&r, None).await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let challenge = refused.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap();
    assert!(challenge.starts_with("Basic "), "{challenge}");
    assert_eq!(refused.headers()["x-content-type-options"], "nosniff");

    let ok = call(&r, Some("Basic cHJvbTpwdw==")).await; // prom:pw
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.headers()["x-content-type-options"], "nosniff");

    let wrong = call(&r, Some("Basic cHJvbTpwWA==")).await; // prom:pX
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    // Three tokens, one per hour: the fourth request is turned away before auth.
    let auth = w.basic_auth().unwrap();
    let runs = auth.bcrypt_runs();
    assert_eq!(runs, 2, "prom:pw and prom:pX; no header runs none");
    let limited = call(&r, Some("Basic cHJvbTpwWQ==")).await; // prom:pY, never seen
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers().get("x-content-type-options"), None);
    assert_eq!(auth.bcrypt_runs(), runs, "429 comes before bcrypt");
}
