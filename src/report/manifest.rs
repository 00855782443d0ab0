//! The evidence pack (issue 15 point 2): `manifest-PERIOD.json` beside the report files,
//! with the SHA-256 of each file and what the report was made from, and, with
//! `--sign-key`, a detached Ed25519 signature `manifest-PERIOD.json.sig`.
//!
//! Keys: the private key is PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), as
//! `backup-exporter keygen` or `openssl genpkey -algorithm ed25519` write it. The public key is
//! either SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`, `openssl pkey -pubout`) or
//! the 32 raw key bytes in standard base64 (what `keygen` prints). The signature file is the
//! 64 signature bytes in standard base64 and a newline, over the manifest's exact bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jiff::Timestamp;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::files::Output;

/// The `format` of every manifest this version writes.
pub const FORMAT: &str = "backup-exporter-evidence/1";

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): the key's 32 bytes follow.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub period: PeriodInfo,
    pub generated_at: Timestamp,
    pub generator: Generator,
    /// `api`, or the Prometheus query URL without user, password, query or fragment.
    pub source: String,
    /// See [`config_digest`].
    pub config_sha256: String,
    /// The tenant this pack is about (a `--split-by tenant` folder); absent for the whole set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    pub targets: Vec<TargetEvidence>,
    pub files: Vec<FileDigest>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeriodInfo {
    pub label: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Generator {
    pub name: String,
    pub version: String,
    pub revision: String,
}

impl Generator {
    pub fn this() -> Generator {
        Generator {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            revision: crate::metrics::REVISION.to_owned(),
        }
    }
}

/// What was read of one target.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TargetEvidence {
    pub name: String,
    pub vendor: String,
    /// Objects read (distinct ids). In a tenant's manifest: that tenant's compliance rows.
    pub objects: u64,
    /// Jobs read (distinct; any kind, including the days before the period that give each
    /// object its last success). `None` where the source has no jobs (Prometheus).
    pub jobs: Option<u64>,
    /// Audit events read (distinct). `None` where the source has none (Prometheus).
    pub audit_events: Option<u64>,
    /// The earliest time from which the history of every object of the target is complete:
    /// the latest start of history the vendor reports for an object older than it; `None`
    /// when the vendor reports no such limit.
    pub history_complete_from: Option<Timestamp>,
    /// Listings the vendor refused (a 403/404 on an optional part).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<String>,
    /// Why the target could not be read (`--keep-going`).
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileDigest {
    /// The path relative to the manifest's folder, with `/` separators.
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The digests of the files a manifest covers. `prefix` is the folder of the files relative
/// to the manifest (empty for the same folder).
pub fn digests<'a>(outputs: impl IntoIterator<Item = &'a Output>) -> Vec<FileDigest> {
    outputs
        .into_iter()
        .map(|o| FileDigest {
            name: o.name.clone(),
            bytes: o.bytes.len() as u64,
            sha256: sha256_hex(&o.bytes),
        })
        .collect()
}

impl Manifest {
    /// The manifest file's bytes: pretty JSON and a final newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Serialising plain data into a Vec cannot fail.
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }
}

/// The sha256 (hex) of the config as canonical JSON (object keys sorted, no whitespace), with
/// inline secret values (`password`, `token`, `refresh_token`, `client_secret`) left out and
/// user and password removed from every URL. `*_file` and `*_env` references stay: they say
/// where a secret comes from, not what it is. So the digest changes when a setting changes,
/// not when a secret is rotated.
pub fn config_digest(yaml: &str) -> Result<String, String> {
    let mut doc: Value =
        serde_saphyr::from_str(yaml).map_err(|e| format!("config is not valid YAML: {e}"))?;
    scrub(&mut doc);
    let bytes = serde_json::to_vec(&doc).map_err(|e| format!("config: {e}"))?;
    Ok(sha256_hex(&bytes))
}

fn scrub(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for key in crate::config::SECRET_KEYS {
                map.remove(*key);
            }
            for (_, child) in map.iter_mut() {
                scrub(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(scrub),
        Value::String(s) => {
            if let Ok(mut u) = Url::parse(s)
                && (!u.username().is_empty() || u.password().is_some())
            {
                let _ = u.set_username("");
                let _ = u.set_password(None);
                *s = u.to_string();
            }
        }
        _ => {}
    }
}

/// A query URL as the manifest names it: no user, password, query or fragment.
pub fn public_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// An Ed25519 private key for `--sign-key`.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(public {})", self.public_base64())
    }
}

impl SigningKey {
    /// Reads a PKCS#8 PEM file (v1 as openssl writes it, or v2 as `keygen` writes it).
    pub fn load(path: &Path) -> Result<SigningKey, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--sign-key {}: cannot read: {e}", path.display()))?;
        let der = pem_body(&text, "PRIVATE KEY").map_err(|e| {
            format!(
                "--sign-key {}: {e} (expected an Ed25519 PKCS#8 PEM key, e.g. from \
                 `backup-exporter keygen` or `openssl genpkey -algorithm ed25519`)",
                path.display()
            )
        })?;
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).map_err(|_| {
            format!(
                "--sign-key {}: not an Ed25519 PKCS#8 private key",
                path.display()
            )
        })?;
        Ok(SigningKey { pair })
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let mut s = STANDARD.encode(self.pair.sign(message).as_ref());
        s.push('\n');
        s.into_bytes()
    }

    pub fn public_base64(&self) -> String {
        STANDARD.encode(self.pair.public_key().as_ref())
    }
}

/// The base64 body of a PEM block with the given label, decoded.
fn pem_body(text: &str, label: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text
        .find(&begin)
        .ok_or_else(|| format!("no `{begin}` line"))?;
    let rest = &text[start + begin.len()..];
    let stop = rest.find(&end).ok_or_else(|| format!("no `{end}` line"))?;
    let body: String = rest[..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD
        .decode(body)
        .map_err(|e| format!("the PEM body is not base64: {e}"))
}

fn pem(label: &str, der: &[u8]) -> String {
    let b = STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for chunk in b.as_bytes().chunks(64) {
        s.push_str(&String::from_utf8_lossy(chunk));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

/// A public key for `verify --key`: SPKI PEM, or the raw 32 bytes in base64, given as a file
/// or inline.
pub fn parse_public_key(text: &str) -> Result<Vec<u8>, String> {
    let raw = if text.contains("-----BEGIN PUBLIC KEY-----") {
        let der = pem_body(text, "PUBLIC KEY")?;
        match der.strip_prefix(SPKI_PREFIX.as_slice()) {
            Some(k) => k.to_vec(),
            None => return Err("the PEM public key is not an Ed25519 key".into()),
        }
    } else {
        STANDARD.decode(text.trim()).map_err(|e| {
            format!("neither a PUBLIC KEY PEM block nor base64 of the 32 key bytes: {e}")
        })?
    };
    if raw.len() != 32 {
        return Err(format!(
            "an Ed25519 public key has 32 bytes, this one has {}",
            raw.len()
        ));
    }
    Ok(raw)
}

/// `backup-exporter keygen --out FILE`: a new key pair. The private key (PKCS#8 PEM) goes to
/// `FILE` with mode 0600, never replacing a file; the public key to `FILE.pub` (SPKI PEM).
/// Returns the public key in base64.
pub fn keygen(out: &Path) -> Result<String, String> {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|_| "cannot generate a key: the system random source failed".to_owned())?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
        .map_err(|_| "the generated key does not parse".to_owned())?;
    let public = pair.public_key().as_ref().to_vec();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let write = |path: &Path, text: &str, opts: &std::fs::OpenOptions| {
        use std::io::Write;
        let mut f = opts
            .open(path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    let pub_path = PathBuf::from(format!("{}.pub", out.display()));
    if pub_path.exists() {
        return Err(format!("{} exists; not replacing it", pub_path.display()));
    }
    write(out, &pem("PRIVATE KEY", pkcs8.as_ref()), &opts)?;
    let mut spki = SPKI_PREFIX.to_vec();
    spki.extend_from_slice(&public);
    let mut pub_opts = std::fs::OpenOptions::new();
    pub_opts.write(true).create_new(true);
    write(&pub_path, &pem("PUBLIC KEY", &spki), &pub_opts)?;
    Ok(STANDARD.encode(&public))
}

/// What `verify` found in one manifest.
#[derive(Debug, Default)]
pub struct Verdict {
    pub manifest: PathBuf,
    pub files_ok: usize,
    /// Every mismatch, one line each, naming the file.
    pub problems: Vec<String>,
    /// `Some(true)` checked and good; `None` not checked (no key, or no signature).
    pub signature: Option<bool>,
    pub notes: Vec<String>,
}

/// Checks one manifest: every listed file's size and hash and, with a key, its signature.
pub fn verify_manifest(path: &Path, key: Option<&[u8]>) -> Verdict {
    let mut v = Verdict {
        manifest: path.to_owned(),
        ..Default::default()
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            v.problems
                .push(format!("{}: cannot read: {e}", path.display()));
            return v;
        }
    };
    let sig_path = PathBuf::from(format!("{}.sig", path.display()));
    match (key, std::fs::read_to_string(&sig_path)) {
        (Some(key), Ok(sig)) => {
            let ok = STANDARD.decode(sig.trim()).ok().is_some_and(|s| {
                UnparsedPublicKey::new(&ED25519, key)
                    .verify(&bytes, &s)
                    .is_ok()
            });
            v.signature = Some(ok);
            if !ok {
                v.problems.push(format!(
                    "{}: the signature does not match the manifest and this key",
                    sig_path.display()
                ));
            }
        }
        (Some(_), Err(e)) => {
            v.signature = Some(false);
            v.problems
                .push(format!("{}: cannot read: {e}", sig_path.display()));
        }
        (None, Ok(_)) => v
            .notes
            .push("signed, but the signature was not checked: give --key".into()),
        (None, Err(_)) => v.notes.push("not signed".into()),
    }
    let manifest: Manifest = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => {
            v.problems
                .push(format!("{}: not a manifest: {e}", path.display()));
            return v;
        }
    };
    if manifest.format != FORMAT {
        v.problems.push(format!(
            "{}: format {:?}, this version reads {FORMAT:?}",
            path.display(),
            manifest.format
        ));
        return v;
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    for f in &manifest.files {
        let rel = Path::new(&f.name);
        if f.name.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            v.problems.push(format!(
                "{}: lists {:?}, which is not a path inside its folder",
                path.display(),
                f.name
            ));
            continue;
        }
        let file = dir.join(rel);
        match std::fs::read(&file) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                v.problems.push(format!("{}: missing", file.display()));
            }
            Err(e) => v
                .problems
                .push(format!("{}: cannot read: {e}", file.display())),
            Ok(b) => {
                let got = sha256_hex(&b);
                if got != f.sha256 || b.len() as u64 != f.bytes {
                    v.problems.push(format!(
                        "{}: changed (sha256 {got}, {} bytes; the manifest says {}, {} bytes)",
                        file.display(),
                        b.len(),
                        f.sha256,
                        f.bytes
                    ));
                } else {
                    v.files_ok += 1;
                }
            }
        }
    }
    v
}

/// The manifests directly in `dir`, by name.
pub fn manifests_in(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("manifest-") && n.ends_with(".json"))
        })
        .collect();
    found.sort();
    Ok(found)
}

/// `backup-exporter verify DIR [--key PUB]`: every manifest in DIR (or the one named),
/// printed one line per manifest; the problems on stderr. Exit 0 all good, 1 a mismatch,
/// 2 a usage error.
pub fn run_verify(args: &VerifyArgs) -> std::process::ExitCode {
    use std::process::ExitCode;
    let key = match &args.key {
        None => None,
        Some(k) => {
            let text = if Path::new(k).is_file() {
                match std::fs::read_to_string(k) {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("error: --key {k}: cannot read: {e}");
                        return ExitCode::from(2);
                    }
                }
            } else {
                k.clone()
            };
            match parse_public_key(&text) {
                Ok(k) => Some(k),
                Err(e) => {
                    eprintln!("error: --key: {e}");
                    return ExitCode::from(2);
                }
            }
        }
    };
    let manifests = if args.dir.is_file() {
        vec![args.dir.clone()]
    } else {
        match manifests_in(&args.dir) {
            Ok(m) if m.is_empty() => {
                eprintln!(
                    "error: {}: no manifest-*.json (was the report written here?)",
                    args.dir.display()
                );
                return ExitCode::from(1);
            }
            Ok(m) => m,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let mut bad = 0;
    for m in manifests {
        let v = verify_manifest(&m, key.as_deref());
        let sig = match v.signature {
            Some(true) => "signature good".to_owned(),
            Some(false) => "SIGNATURE BAD".to_owned(),
            None => v.notes.join("; "),
        };
        if v.problems.is_empty() {
            println!(
                "{}: OK: {} files match; {sig}",
                v.manifest.display(),
                v.files_ok
            );
        } else {
            bad += 1;
            println!(
                "{}: FAILED: {} problem(s), {} files match; {sig}",
                v.manifest.display(),
                v.problems.len(),
                v.files_ok
            );
            for p in &v.problems {
                eprintln!("mismatch: {p}");
            }
        }
    }
    if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// `backup-exporter keygen --out FILE`.
pub fn run_keygen(args: &KeygenArgs) -> std::process::ExitCode {
    match keygen(&args.out) {
        Ok(public) => {
            println!(
                "wrote the private key to {} (mode 0600) and the public key to {}.pub\n\
                 public key: {public}",
                args.out.display(),
                args.out.display()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::from(1)
        }
    }
}

#[derive(clap::Args, Clone, Debug)]
pub struct VerifyArgs {
    /// The report folder (every manifest-*.json in it is checked), or one manifest file.
    pub dir: PathBuf,
    /// The Ed25519 public key: a PEM file (`-----BEGIN PUBLIC KEY-----`), or the base64 key
    /// that `keygen` prints (as a file or on the command line).
    #[arg(long, env = "BACKUP_EXPORTER_VERIFY_KEY", value_name = "PUB")]
    pub key: Option<String>,
}

#[derive(clap::Args, Clone, Debug)]
pub struct KeygenArgs {
    /// Where the private key goes (mode 0600); the public key goes to FILE.pub.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Counts per tenant, for a tenant's manifest: its own rows, nothing of other tenants.
pub fn tenant_targets(
    whole: &[TargetEvidence],
    counts: &BTreeMap<String, (u64, u64, u64)>,
) -> Vec<TargetEvidence> {
    whole
        .iter()
        .filter_map(|t| {
            let (objects, jobs, audit) = counts.get(&t.name).copied()?;
            Some(TargetEvidence {
                objects,
                jobs: t.jobs.map(|_| jobs),
                audit_events: t.audit_events.map(|_| audit),
                ..t.clone()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_digest_ignores_secret_values_but_not_settings() {
        let a = "targets:\n  - { name: a, vendor: clumio, url: \"https://u:pw@h/\", token: one }\n";
        let b =
            "targets:\n  - { name: a, vendor: clumio, url: \"https://x:other@h/\", token: two }\n";
        let c = "targets:\n  - { name: a, vendor: clumio, url: \"https://h/\", token: one, timeout: 5s }\n";
        assert_eq!(config_digest(a).unwrap(), config_digest(b).unwrap());
        assert_ne!(config_digest(a).unwrap(), config_digest(c).unwrap());
        // Key order and formatting do not matter.
        let d =
            "targets:\n  - vendor: clumio\n    token: one\n    url: \"https://h/\"\n    name: a\n";
        assert_eq!(config_digest(a).unwrap(), config_digest(d).unwrap());
        assert!(config_digest("a: [").is_err());
    }

    #[test]
    fn public_urls_lose_credentials() {
        let u: Url = "http://user:secret@prom:9090/prefix?token=t#x"
            .parse()
            .unwrap();
        assert_eq!(public_url(&u), "http://prom:9090/prefix");
    }

    #[test]
    fn keys_round_trip_and_signatures_verify() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        let public = keygen(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(keygen(&path).is_err(), "an existing key is never replaced");
        let key = SigningKey::load(&path).unwrap();
        assert_eq!(key.public_base64(), public);
        let pem_pub = std::fs::read_to_string(dir.path().join("k.pem.pub")).unwrap();
        assert_eq!(
            parse_public_key(&pem_pub).unwrap(),
            parse_public_key(&public).unwrap()
        );
        let sig = key.sign(b"hello");
        let raw = STANDARD
            .decode(String::from_utf8(sig).unwrap().trim())
            .unwrap();
        let pk = parse_public_key(&public).unwrap();
        assert!(
            UnparsedPublicKey::new(&ED25519, &pk)
                .verify(b"hello", &raw)
                .is_ok()
        );
        assert!(
            UnparsedPublicKey::new(&ED25519, &pk)
                .verify(b"hellO", &raw)
                .is_err()
        );
        assert!(parse_public_key("AAAA").unwrap_err().contains("32 bytes"));
    }

    #[test]
    fn a_key_file_that_is_not_pkcs8_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, "hello").unwrap();
        let e = SigningKey::load(&path).unwrap_err();
        assert!(e.contains("--sign-key") && e.contains("PRIVATE KEY"), "{e}");
        std::fs::write(
            &path,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let e = SigningKey::load(&path).unwrap_err();
        assert!(e.contains("not an Ed25519"), "{e}");
    }
}
