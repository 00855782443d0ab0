//! `tls_server_config`: a rustls server config (ring provider, like the rest of the
//! program) built from exporter-toolkit's keys, and kept current when the files change.
//!
//! Client certificates: `RequireAndVerifyClientCert` and `VerifyClientCertIfGiven` verify
//! against `client_ca_file`/`client_ca`. `RequestClientCert` and `RequireAnyClientCert`
//! accept a certificate without verifying it; exporter-toolkit itself calls them insecure,
//! and they are refused here rather than quietly upgraded or downgraded.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum_server::tls_rustls::RustlsConfig;
use rustls::crypto::{CryptoProvider, ring};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::server::danger::ClientCertVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};
use serde::Deserialize;

use super::Problem;
use super::protocol::{cipher_suites, kx_groups, protocol_versions};

/// `tls_server_config` as written (exporter-toolkit's key names). No `Debug`: `key` may be
/// an inline private key.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TlsFile {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    client_ca_file: Option<PathBuf>,
    client_auth_type: Option<String>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    curve_preferences: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
}

/// Where one PEM input comes from; `key` is the file key that errors name.
#[derive(Clone)]
enum Source {
    Inline { key: &'static str, pem: String },
    File { key: &'static str, path: PathBuf },
}

impl Source {
    fn pick(
        inline: Option<String>,
        inline_key: &'static str,
        file: Option<PathBuf>,
        file_key: &'static str,
        base: &Path,
    ) -> Result<Option<Source>, Problem> {
        let inline = inline.filter(|s| !s.trim().is_empty());
        let file = file.filter(|p| !p.as_os_str().is_empty());
        match (inline, file) {
            (Some(_), Some(_)) => Err(Problem::new(
                inline_key,
                format!("give either `{inline_key}` or `{file_key}`, not both"),
            )),
            (Some(pem), None) => Ok(Some(Source::Inline {
                key: inline_key,
                pem,
            })),
            (None, Some(path)) => Ok(Some(Source::File {
                key: file_key,
                path: base.join(path),
            })),
            (None, None) => Ok(None),
        }
    }

    fn key(&self) -> &'static str {
        match self {
            Source::Inline { key, .. } | Source::File { key, .. } => key,
        }
    }

    fn read(&self) -> Result<Vec<u8>, Problem> {
        match self {
            Source::Inline { pem, .. } => Ok(pem.as_bytes().to_vec()),
            // Certificates, keys and CA bundles are PEM files of a few KiB: capped like the
            // exporter's own CA files, and never a FIFO or device that would block or never end.
            Source::File { key, path } => {
                crate::small_file::read(path, crate::small_file::CA_FILE_LIMIT)
                    .map_err(|e| Problem::new(*key, format!("cannot read {}: {e}", path.display())))
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    VerifyIfGiven,
    RequireAndVerify,
}

/// Everything but the PEM inputs, decided once from the file.
struct Policy {
    cert: Source,
    key: Source,
    client_ca: Option<Source>,
    client_auth: ClientAuth,
    versions: Vec<&'static SupportedProtocolVersion>,
    provider: Arc<CryptoProvider>,
    prefer_server_order: bool,
    alpn: Vec<Vec<u8>>,
}

/// The TLS side of the server: the rustls config axum-server serves with, swapped in
/// place when [`ServerTls::reload_if_changed`] finds new files.
pub struct ServerTls {
    policy: Policy,
    fingerprint: Mutex<Vec<u8>>,
    config: RustlsConfig,
}

const KEY_PREFIX: &str = "tls_server_config";

fn key(name: &str) -> String {
    format!("{KEY_PREFIX}.{name}")
}

impl ServerTls {
    /// `Ok(None)` when the section asks for no TLS at all (empty, as exporter-toolkit allows).
    pub(super) fn from_file(
        f: TlsFile,
        base: &Path,
        http2: bool,
    ) -> Result<Option<ServerTls>, Problem> {
        let cert = Source::pick(
            f.cert,
            "tls_server_config.cert",
            f.cert_file,
            "tls_server_config.cert_file",
            base,
        )?;
        let private_key = Source::pick(
            f.key,
            "tls_server_config.key",
            f.key_file,
            "tls_server_config.key_file",
            base,
        )?;
        let client_ca = Source::pick(
            f.client_ca,
            "tls_server_config.client_ca",
            f.client_ca_file,
            "tls_server_config.client_ca_file",
            base,
        )?;
        let auth_type = f.client_auth_type.filter(|s| !s.is_empty());
        let tuned = f.min_version.is_some()
            || f.max_version.is_some()
            || f.cipher_suites.is_some()
            || f.curve_preferences.is_some()
            || f.prefer_server_cipher_suites.is_some()
            || f.client_allowed_sans.is_some();
        if cert.is_none() && private_key.is_none() && client_ca.is_none() && auth_type.is_none() {
            if tuned {
                // exporter-toolkit would serve plain HTTP here; say so instead.
                return Err(Problem::new(
                    key("cert_file"),
                    "is required: the other tls_server_config keys only apply with a certificate",
                ));
            }
            return Ok(None);
        }
        let cert = cert.ok_or_else(|| Problem::new(key("cert_file"), "is required (or `cert`)"))?;
        let private_key =
            private_key.ok_or_else(|| Problem::new(key("key_file"), "is required (or `key`)"))?;

        let client_auth = client_auth_policy(auth_type.as_deref(), client_ca.is_some())?;
        if f.client_allowed_sans
            .as_ref()
            .is_some_and(|s| !s.is_empty())
        {
            return Err(Problem::new(
                key("client_allowed_sans"),
                "is not supported by backup-exporter; sign client certificates with a CA that \
                 is used for nothing else and give it as client_ca_file",
            ));
        }
        let versions = protocol_versions(f.min_version.as_deref(), f.max_version.as_deref())?;
        let base_provider = ring::default_provider();
        let cipher_suites = match f.cipher_suites {
            Some(names) if !names.is_empty() => {
                cipher_suites(&names, &base_provider.cipher_suites)?
            }
            _ => base_provider.cipher_suites.clone(),
        };
        let kx_groups = match f.curve_preferences {
            Some(names) if !names.is_empty() => kx_groups(&names)?,
            _ => base_provider.kx_groups.clone(),
        };
        let provider = Arc::new(CryptoProvider {
            cipher_suites,
            kx_groups,
            ..base_provider
        });
        let alpn = if http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        let policy = Policy {
            cert,
            key: private_key,
            client_ca,
            client_auth,
            versions,
            provider,
            prefer_server_order: f.prefer_server_cipher_suites.unwrap_or(true),
            alpn,
        };
        let material = policy.read()?;
        let config = policy.build(&material)?;
        Ok(Some(ServerTls {
            fingerprint: Mutex::new(material.fingerprint()),
            config: RustlsConfig::from_config(Arc::new(config)),
            policy,
        }))
    }

    /// The config to serve with; later reloads show through it.
    pub fn rustls_config(&self) -> RustlsConfig {
        self.config.clone()
    }

    pub fn client_auth(&self) -> ClientAuth {
        self.policy.client_auth
    }

    /// Whether any input is a file (inline PEM never changes).
    pub fn watches_files(&self) -> bool {
        [
            Some(&self.policy.cert),
            Some(&self.policy.key),
            self.policy.client_ca.as_ref(),
        ]
        .into_iter()
        .flatten()
        .any(|s| matches!(s, Source::File { .. }))
    }

    /// Re-reads the certificate, key and client CA files; when they changed and still make
    /// a valid config, new connections use it (`Ok(true)`). When they are broken, the
    /// current config stays and the problem is returned, so a half-written rotation never
    /// takes the endpoint down.
    pub fn reload_if_changed(&self) -> Result<bool, Problem> {
        let material = self.policy.read()?;
        let fp = material.fingerprint();
        if *self.fingerprint.lock().unwrap_or_else(|e| e.into_inner()) == fp {
            return Ok(false);
        }
        let config = self.policy.build(&material)?;
        self.config.reload_from_config(Arc::new(config));
        *self.fingerprint.lock().unwrap_or_else(|e| e.into_inner()) = fp;
        Ok(true)
    }
}

/// The PEM inputs as read at one moment.
struct Material {
    cert: Vec<u8>,
    key: Vec<u8>,
    client_ca: Option<Vec<u8>>,
}

impl Material {
    /// A digest rather than the bytes, so no second copy of the private key is kept.
    fn fingerprint(&self) -> Vec<u8> {
        let mut ctx = ::ring::digest::Context::new(&::ring::digest::SHA256);
        for part in [Some(&self.cert), Some(&self.key), self.client_ca.as_ref()] {
            let part = part.map(Vec::as_slice).unwrap_or_default();
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        ctx.finish().as_ref().to_vec()
    }
}

impl Policy {
    fn read(&self) -> Result<Material, Problem> {
        Ok(Material {
            cert: self.cert.read()?,
            key: self.key.read()?,
            client_ca: self.client_ca.as_ref().map(Source::read).transpose()?,
        })
    }

    fn build(&self, m: &Material) -> Result<ServerConfig, Problem> {
        let chain = certificates(&m.cert, self.cert.key())?;
        let private_key = PrivateKeyDer::from_pem_slice(&m.key)
            .map_err(|e| Problem::new(self.key.key(), format!("no usable PEM private key: {e}")))?;
        let builder = ServerConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&self.versions)
            .map_err(|e| {
                Problem::new(
                    key("cipher_suites"),
                    format!("no usable cipher suite for the TLS versions allowed: {e}"),
                )
            })?;
        let builder = match self.client_verifier(m)? {
            Some(v) => builder.with_client_cert_verifier(v),
            None => builder.with_no_client_auth(),
        };
        let mut config = builder.with_single_cert(chain, private_key).map_err(|e| {
            let msg = match e {
                rustls::Error::InconsistentKeys(_) => {
                    format!(
                        "the private key does not belong to the certificate in `{}`",
                        self.cert.key()
                    )
                }
                other => format!("cannot use the private key: {other}"),
            };
            Problem::new(self.key.key(), msg)
        })?;
        config.ignore_client_order = self.prefer_server_order;
        config.alpn_protocols = self.alpn.clone();
        Ok(config)
    }

    fn client_verifier(
        &self,
        m: &Material,
    ) -> Result<Option<Arc<dyn ClientCertVerifier>>, Problem> {
        let (Some(source), Some(pem)) = (&self.client_ca, &m.client_ca) else {
            return Ok(None);
        };
        if self.client_auth == ClientAuth::None {
            return Ok(None);
        }
        let mut roots = RootCertStore::empty();
        for cert in certificates(pem, source.key())? {
            roots.add(cert).map_err(|e| {
                Problem::new(source.key(), format!("not a usable CA certificate: {e}"))
            })?;
        }
        let mut builder =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), self.provider.clone());
        if self.client_auth == ClientAuth::VerifyIfGiven {
            builder = builder.allow_unauthenticated();
        }
        builder
            .build()
            .map(Some)
            .map_err(|e| Problem::new(source.key(), format!("cannot verify clients with it: {e}")))
    }
}

fn certificates(pem: &[u8], key: &str) -> Result<Vec<CertificateDer<'static>>, Problem> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Problem::new(key, format!("not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(Problem::new(key, "contains no PEM CERTIFICATE block"));
    }
    Ok(certs)
}

fn client_auth_policy(name: Option<&str>, have_ca: bool) -> Result<ClientAuth, Problem> {
    let k = key("client_auth_type");
    let auth = match name.unwrap_or("NoClientCert") {
        "NoClientCert" => ClientAuth::None,
        "VerifyClientCertIfGiven" => ClientAuth::VerifyIfGiven,
        "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerify,
        n @ ("RequestClientCert" | "RequireAnyClientCert" | "RequireClientCert") => {
            return Err(Problem::new(
                k,
                format!(
                    "{n} accepts client certificates without verifying them and is not \
                     supported; use RequireAndVerifyClientCert with client_ca_file"
                ),
            ));
        }
        other => {
            return Err(Problem::new(
                k,
                format!(
                    "unknown value {other:?}; expected NoClientCert, VerifyClientCertIfGiven \
                     or RequireAndVerifyClientCert"
                ),
            ));
        }
    };
    match (auth, have_ca) {
        (ClientAuth::None, true) => Err(Problem::new(
            k,
            "a client CA is configured but client_auth_type does not ask for client \
             certificates; set RequireAndVerifyClientCert",
        )),
        (ClientAuth::VerifyIfGiven | ClientAuth::RequireAndVerify, false) => Err(Problem::new(
            key("client_ca_file"),
            format!(
                "is required with client_auth_type {}",
                name.unwrap_or_default()
            ),
        )),
        _ => Ok(auth),
    }
}
