//! The first auth layer: a Google OAuth2 access token from a service-account JSON key, by
//! the JWT bearer grant (RFC 7523) against the key's own `token_uri`.
//!
//! The JWT is signed RS256 with `ring`, which is already in the build as the TLS provider.
//! A JWT crate would add nothing but framing (two base64url segments and a signature):
//! `jsonwebtoken` 10+ needs either aws-lc-rs (a long C build) or the RustCrypto `rsa` crate
//! (RUSTSEC-2023-0071: timing side channel in private-key operations, which is what signing
//! is), and its ring-based 9.x line is no longer developed.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls::pki_types::PrivatePkcs8KeyDer;
use rustls::pki_types::pem::PemObject;
use serde::Deserialize;
use url::Url;

pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// Google accepts assertions that live at most an hour.
const ASSERTION_LIFETIME_S: i64 = 3600;

/// The fields of a service-account key file that the grant needs.
#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

/// A parsed service-account key, ready to sign assertions. Never printed.
pub struct ServiceAccount {
    pub client_email: String,
    pub key_id: Option<String>,
    pub token_uri: Url,
    key_pair: RsaKeyPair,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri.as_str())
            .finish_non_exhaustive()
    }
}

impl ServiceAccount {
    /// Reads the key file; errors say what is wrong without quoting the key.
    pub fn from_file(path: &Path) -> Result<Self, String> {
        let text = crate::small_file::read_to_string(path, crate::small_file::SECRET_FILE_LIMIT)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_json(text: &str) -> Result<Self, String> {
        // serde_json's own message can quote the file ("invalid type: string \"...\""),
        // which for a key file is the secret: say only what kind of problem and where.
        let f: KeyFile = serde_json::from_str(text).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Syntax => "not valid JSON",
                serde_json::error::Category::Eof => "cut short",
                serde_json::error::Category::Data => "not the shape of a key file",
                serde_json::error::Category::Io => "unreadable",
            };
            format!(
                "not a service-account JSON key ({what} at line {}, column {})",
                e.line(),
                e.column()
            )
        })?;
        if let Some(kind) = &f.kind
            && kind != "service_account"
        {
            return Err(format!(
                "`type` is {kind:?}; a service-account key (\"service_account\") is needed"
            ));
        }
        let client_email = f
            .client_email
            .filter(|s| !s.is_empty())
            .ok_or("the key has no `client_email`")?;
        let pem = f
            .private_key
            .filter(|s| !s.is_empty())
            .ok_or("the key has no `private_key`")?;
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes())
            .map_err(|_| "`private_key` is not a PEM-encoded PKCS#8 private key".to_owned())?;
        let key_pair = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|e| format!("`private_key` is not a usable RSA key: {e}"))?;
        let token_uri = f.token_uri.as_deref().unwrap_or(DEFAULT_TOKEN_URI);
        let token_uri = Url::parse(token_uri)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| format!("`token_uri` {token_uri:?} is not an http(s) URL"))?;
        Ok(ServiceAccount {
            client_email,
            key_id: f.private_key_id,
            token_uri,
            key_pair,
        })
    }

    /// A signed assertion for the JWT bearer grant, valid from `now` for an hour.
    pub fn assertion(&self, now: Timestamp, scope: &str) -> Result<String, String> {
        let mut header = serde_json::json!({ "alg": "RS256", "typ": "JWT" });
        if let Some(kid) = &self.key_id {
            header["kid"] = serde_json::Value::String(kid.clone());
        }
        let iat = now.as_second();
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": scope,
            "aud": self.token_uri.as_str(),
            "iat": iat,
            "exp": iat + ASSERTION_LIFETIME_S,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0u8; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| "signing the JWT assertion failed".to_owned())?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }

    /// The DER `RSAPublicKey` matching the private key (what a verifier needs).
    pub fn public_key_der(&self) -> Vec<u8> {
        use ring::signature::KeyPair;
        self.key_pair.public_key().as_ref().to_vec()
    }
}

/// Splits a compact JWT and decodes its header and claims, verifying the RS256 signature
/// against `public_key_der` (an `RSAPublicKey`). For the simulator's token endpoint and tests.
pub fn verify_rs256(
    jwt: &str,
    public_key_der: &[u8],
) -> Result<(serde_json::Value, serde_json::Value), String> {
    let mut parts = jwt.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a compact JWT".into());
    };
    let decode = |part: &str| {
        URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| "JWT segment is not base64url".to_owned())
    };
    let header: serde_json::Value =
        serde_json::from_slice(&decode(h)?).map_err(|_| "JWT header is not JSON".to_owned())?;
    if header.get("alg").and_then(|v| v.as_str()) != Some("RS256") {
        return Err("JWT alg is not RS256".into());
    }
    let signature = decode(s)?;
    let key = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        public_key_der,
    );
    key.verify(format!("{h}.{c}").as_bytes(), &signature)
        .map_err(|_| "Invalid JWT Signature.".to_owned())?;
    let claims: serde_json::Value =
        serde_json::from_slice(&decode(c)?).map_err(|_| "JWT claims are not JSON".to_owned())?;
    Ok((header, claims))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file that holds the key as a bare JSON string, or a secret where an object should
    /// be, is refused without the refusal quoting it.
    #[test]
    fn a_broken_key_file_is_refused_without_quoting_it() {
        for text in [
            r#""-----BEGIN PRIVATE KEY-----S3CR3T""#,
            r#"{"client_email": ["S3CR3T"], "private_key": {"k": "S3CR3T"}}"#,
            r#"{"private_key": "S3CR3T"#,
            "S3CR3T",
        ] {
            let e = ServiceAccount::from_json(text).unwrap_err();
            assert!(e.starts_with("not a service-account JSON key ("), "{e}");
            assert!(!e.contains("S3CR3T"), "the message quotes the file: {e}");
        }
    }

    pub(crate) const TEST_KEY: &str = include_str!("sim/demo-service-account-key.pem");

    fn key_json(token_uri: &str) -> String {
        serde_json::json!({
            "type": "service_account",
            "project_id": "p",
            "private_key_id": "abc123",
            "private_key": TEST_KEY,
            "client_email": "sa@p.iam.gserviceaccount.com",
            "token_uri": token_uri,
        })
        .to_string()
    }

    #[test]
    fn assertion_verifies_with_the_public_key_and_carries_the_claims() {
        let sa = ServiceAccount::from_json(&key_json("http://127.0.0.1:9/backupdr/token")).unwrap();
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let jwt = sa.assertion(now, CLOUD_PLATFORM_SCOPE).unwrap();
        let (header, claims) = verify_rs256(&jwt, &sa.public_key_der()).unwrap();
        assert_eq!(header["kid"], "abc123");
        assert_eq!(claims["iss"], "sa@p.iam.gserviceaccount.com");
        assert_eq!(claims["aud"], "http://127.0.0.1:9/backupdr/token");
        assert_eq!(claims["scope"], CLOUD_PLATFORM_SCOPE);
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            3600
        );
    }

    #[test]
    fn tampered_assertion_is_rejected() {
        let sa = ServiceAccount::from_json(&key_json(DEFAULT_TOKEN_URI)).unwrap();
        let jwt = sa
            .assertion(Timestamp::from_second(1_700_000_000).unwrap(), "x")
            .unwrap();
        let mut parts: Vec<&str> = jwt.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(r#"{"iss":"evil@x","aud":"a","exp":9}"#);
        parts[1] = &forged;
        let e = verify_rs256(&parts.join("."), &sa.public_key_der()).unwrap_err();
        assert_eq!(e, "Invalid JWT Signature.");
    }

    #[test]
    fn key_file_problems_are_named_without_the_key() {
        let e = ServiceAccount::from_json("{}").unwrap_err();
        assert!(e.contains("client_email"), "{e}");
        let e = ServiceAccount::from_json(r#"{"type":"authorized_user"}"#).unwrap_err();
        assert!(e.contains("service_account"), "{e}");
        let e = ServiceAccount::from_json(
            r#"{"client_email":"a@b","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}"#,
        )
        .unwrap_err();
        assert!(e.contains("private_key"), "{e}");
        assert!(!e.contains("AAAA"), "{e}");
        let e = ServiceAccount::from_json(&key_json("ftp://x/token")).unwrap_err();
        assert!(e.contains("token_uri"), "{e}");
    }

    #[test]
    fn token_uri_defaults_to_google() {
        let mut v: serde_json::Value = serde_json::from_str(&key_json("x")).unwrap();
        v.as_object_mut().unwrap().remove("token_uri");
        let sa = ServiceAccount::from_json(&v.to_string()).unwrap();
        assert_eq!(sa.token_uri.as_str(), DEFAULT_TOKEN_URI);
    }
}
