//! TLS protocol parameters under the names exporter-toolkit (Go's crypto/tls) gives them,
//! mapped onto what rustls with ring offers. A name with no counterpart is an error naming
//! the key, so a file never gets weaker or different settings than it asks for.

use rustls::crypto::{SupportedKxGroup, ring};
use rustls::{CipherSuite, SupportedCipherSuite, SupportedProtocolVersion};

use super::Problem;

const KEY_PREFIX: &str = "tls_server_config";

fn key(name: &str) -> String {
    format!("{KEY_PREFIX}.{name}")
}

fn version(name: &str, which: &str) -> Result<u8, Problem> {
    match name {
        "TLS12" => Ok(12),
        "TLS13" => Ok(13),
        "TLS10" | "TLS11" => Err(Problem::new(
            key(which),
            format!("{name} is not supported (TLS12 and TLS13 are)"),
        )),
        other => Err(Problem::new(
            key(which),
            format!("unknown TLS version {other:?}; expected TLS12 or TLS13"),
        )),
    }
}

pub(super) fn protocol_versions(
    min: Option<&str>,
    max: Option<&str>,
) -> Result<Vec<&'static SupportedProtocolVersion>, Problem> {
    let min = version(min.unwrap_or("TLS12"), "min_version")?;
    let max = version(max.unwrap_or("TLS13"), "max_version")?;
    if min > max {
        return Err(Problem::new(key("min_version"), "is above max_version"));
    }
    let mut v = Vec::new();
    if min <= 12 {
        v.push(&rustls::version::TLS12);
    }
    if max >= 13 {
        v.push(&rustls::version::TLS13);
    }
    Ok(v)
}

/// Go's names for the TLS 1.2 suites ring offers. Go cannot configure TLS 1.3 suites and
/// ignores their names in this list; so does this.
const TLS12_SUITES: &[(&str, CipherSuite)] = &[
    (
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    ),
    (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
    (
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
    ),
];
const TLS13_NAMES: &[&str] = &[
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

/// Every TLS 1.3 suite, then the TLS 1.2 suites named, in the order named (the server's
/// preference when `prefer_server_cipher_suites` is true).
pub(super) fn cipher_suites(
    names: &[String],
    available: &[SupportedCipherSuite],
) -> Result<Vec<SupportedCipherSuite>, Problem> {
    let mut out: Vec<SupportedCipherSuite> = available
        .iter()
        .filter(|s| s.tls13().is_some())
        .copied()
        .collect();
    for (i, name) in names.iter().enumerate() {
        if TLS13_NAMES.contains(&name.as_str()) {
            continue;
        }
        let Some((_, id)) = TLS12_SUITES.iter().find(|(n, _)| n == name) else {
            let known: Vec<&str> = TLS12_SUITES.iter().map(|(n, _)| *n).collect();
            return Err(Problem::new(
                format!("{KEY_PREFIX}.cipher_suites[{i}]"),
                format!(
                    "unknown or unsupported cipher suite {name:?}; supported: {}",
                    known.join(", ")
                ),
            ));
        };
        if let Some(s) = available.iter().find(|s| s.suite() == *id)
            && !out.iter().any(|o| o.suite() == *id)
        {
            out.push(*s);
        }
    }
    Ok(out)
}

pub(super) fn kx_groups(names: &[String]) -> Result<Vec<&'static dyn SupportedKxGroup>, Problem> {
    let mut out: Vec<&'static dyn SupportedKxGroup> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let group = match name.as_str() {
            "X25519" => ring::kx_group::X25519,
            "CurveP256" => ring::kx_group::SECP256R1,
            "CurveP384" => ring::kx_group::SECP384R1,
            other => {
                return Err(Problem::new(
                    format!("{KEY_PREFIX}.curve_preferences[{i}]"),
                    format!(
                        "unknown or unsupported curve {other:?}; supported: X25519, CurveP256, CurveP384"
                    ),
                ));
            }
        };
        if !out.iter().any(|g| g.name() == group.name()) {
            out.push(group);
        }
    }
    Ok(out)
}
