//! The config file (contract §2), parsed and validated into [`Settings`], which is all the
//! rest of the program sees.
//!
//! YAML is read into a generic document first and each part is then decoded on its own, so
//! that every error can name the key path and the target it belongs to (`targets[2]
//! (name "safespring"): unknown field `pasword``) instead of only a line number.

mod compliance;
mod secret;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use url::Url;

pub use compliance::{Compliance, Rule, RuleMatch, Subject};
pub use secret::{SecretError, SecretSource};

use crate::api::TlsSettings;
use crate::model::Vendor;

/// The port we claim from the Prometheus default port allocations.
pub const DEFAULT_PORT: u16 = 9987;

/// One or more problems with the config, one line each.
#[derive(Debug, thiserror::Error)]
#[error("{}", .problems.join("\n"))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl ConfigError {
    fn one(msg: impl Into<String>) -> Self {
        ConfigError {
            problems: vec![msg.into()],
        }
    }
}

#[derive(Clone, Debug)]
pub struct Settings {
    pub path: PathBuf,
    pub listen: Option<String>,
    pub compliance: Compliance,
    pub targets: Vec<TargetSettings>,
    /// Metric families left out of `/metrics` (`serve --exclude-metric`; not a config key).
    pub exclude_metrics: Vec<String>,
}

/// Per-target refresh settings after defaults are applied.
#[derive(Clone, Debug)]
pub struct TargetSettings {
    pub name: String,
    pub vendor: Vendor,
    pub url: Option<Url>,
    pub interval: Duration,
    pub timeout: Duration,
    pub lookback: Duration,
    pub max_stale: Duration,
    pub max_concurrent_requests: usize,
    pub tls: TlsSettings,
    pub proxy_url: Option<Url>,
    /// The target's keys as written, for the vendor's own settings.
    pub raw: RawTarget,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    compliance: compliance::ComplianceFile,
    #[serde(default)]
    targets: Vec<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    #[serde(default, with = "humantime_serde")]
    interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    lookback: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    max_stale: Option<Duration>,
    max_concurrent_requests: Option<usize>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// Every key a target may have. Which vendor-specific keys are allowed is decided by the
/// vendor's module ([`crate::vendors::allowed_keys`]).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTarget {
    pub name: String,
    pub vendor: String,
    pub url: Option<Url>,
    #[serde(default, with = "humantime_serde")]
    pub interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub lookback: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub max_stale: Option<Duration>,
    pub max_concurrent_requests: Option<usize>,
    pub tls: Option<TlsFile>,
    pub proxy_url: Option<Url>,

    pub client_id: Option<String>,
    pub origin: Option<String>,
    pub username: Option<String>,
    pub user_source: Option<String>,
    pub credentials_file: Option<PathBuf>,
    pub auth_url: Option<Url>,
    pub audit_url: Option<Url>,
    pub account_id: Option<String>,
    pub organizational_unit: Option<String>,
    pub bunits: Option<Vec<u64>>,
    pub clusters: Option<Vec<String>>,

    pub password: Option<String>,
    pub password_file: Option<PathBuf>,
    pub password_env: Option<String>,
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    pub token_env: Option<String>,
    pub refresh_token: Option<String>,
    pub refresh_token_file: Option<PathBuf>,
    pub refresh_token_env: Option<String>,
    pub client_secret: Option<String>,
    pub client_secret_file: Option<PathBuf>,
    pub client_secret_env: Option<String>,
}

/// Keys every target may have, whatever its vendor.
pub const COMMON_KEYS: &[&str] = &[
    "name",
    "vendor",
    "url",
    "interval",
    "timeout",
    "lookback",
    "max_stale",
    "max_concurrent_requests",
    "tls",
    "proxy_url",
];

/// The secret keys, each also accepted as `<key>_file` and `<key>_env`.
pub const SECRET_KEYS: &[&str] = &["password", "token", "refresh_token", "client_secret"];

impl RawTarget {
    /// Where the secret `key` comes from, if anywhere. Two sources for one secret is an
    /// error: which one wins would be a guess.
    pub fn secret(&self, key: &str) -> Result<Option<SecretSource>, String> {
        let (inline, file, env) = match key {
            "password" => (&self.password, &self.password_file, &self.password_env),
            "token" => (&self.token, &self.token_file, &self.token_env),
            "refresh_token" => (
                &self.refresh_token,
                &self.refresh_token_file,
                &self.refresh_token_env,
            ),
            "client_secret" => (
                &self.client_secret,
                &self.client_secret_file,
                &self.client_secret_env,
            ),
            other => return Err(format!("{other} is not a secret key")),
        };
        let mut found = Vec::new();
        if let Some(v) = inline {
            found.push(SecretSource::Inline(v.clone().into()));
        }
        if let Some(p) = file {
            found.push(SecretSource::File(p.clone()));
        }
        if let Some(n) = env {
            found.push(SecretSource::Env(n.clone()));
        }
        match found.len() {
            0 => Ok(None),
            1 => Ok(found.pop()),
            _ => Err(format!(
                "`{key}`, `{key}_file` and `{key}_env` are alternatives: set only one"
            )),
        }
    }
}

impl TargetSettings {
    /// The named secret, or an error naming the key when it is required and absent.
    pub fn required_secret(&self, key: &str) -> Result<SecretSource, String> {
        self.raw
            .secret(key)?
            .ok_or_else(|| format!("`{key}` is required (as `{key}_file`, `{key}_env` or `{key}`)"))
    }

    /// A "target X (vendor V)" prefix for messages.
    pub fn describe(&self) -> String {
        format!("target {:?} ({})", self.name, self.vendor)
    }
}

impl Settings {
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError::one(format!("cannot read config file {}: {e}", path.display()))
        })?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<Settings, ConfigError> {
        let doc: Value = serde_saphyr::from_str(text)
            .map_err(|e| ConfigError::one(format!("{}: not valid YAML: {e}", path.display())))?;
        let doc = if doc.is_null() {
            Value::Object(Default::default())
        } else {
            doc
        };
        let file: FileConfig = serde_path_to_error::deserialize(doc).map_err(|e| {
            ConfigError::one(format!("{}: `{}`: {}", path.display(), e.path(), e.inner()))
        })?;

        let mut problems = Vec::new();
        let d = file.defaults;
        let compliance = file.compliance.validate(&mut problems);
        let mut targets: Vec<TargetSettings> = Vec::new();
        if file.targets.is_empty() {
            problems.push("`targets`: at least one target is required".to_owned());
        }
        for (i, value) in file.targets.into_iter().enumerate() {
            let label = match value.get("name").and_then(Value::as_str) {
                Some(n) => format!("targets[{i}] (name {n:?})"),
                None => format!("targets[{i}]"),
            };
            let keys: Vec<String> = value
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            let raw: RawTarget = match serde_path_to_error::deserialize(value) {
                Ok(r) => r,
                Err(e) => {
                    let path = e.path().to_string();
                    let at = if path == "." {
                        String::new()
                    } else {
                        format!(" `{path}`:")
                    };
                    problems.push(format!("{label}:{at} {}", e.inner()));
                    continue;
                }
            };
            let vendor = match raw.vendor.parse::<Vendor>() {
                Ok(v) => v,
                Err(e) => {
                    problems.push(format!("{label}: `vendor`: {e}"));
                    continue;
                }
            };
            if raw.name.trim().is_empty() {
                problems.push(format!("{label}: `name`: must not be empty"));
            }
            if targets.iter().any(|t| t.name == raw.name) {
                problems.push(format!(
                    "{label}: `name`: {:?} is used by another target; names must be unique",
                    raw.name
                ));
            }
            let allowed = crate::vendors::allowed_keys(vendor);
            for key in &keys {
                let base = key
                    .strip_suffix("_file")
                    .or_else(|| key.strip_suffix("_env"))
                    .filter(|b| SECRET_KEYS.contains(b))
                    .unwrap_or(key);
                if !COMMON_KEYS.contains(&key.as_str()) && !allowed.contains(&base) {
                    problems.push(format!(
                        "{label}: `{key}` is not a key of vendor {vendor} (its keys: {})",
                        allowed.join(", ")
                    ));
                }
            }
            for key in SECRET_KEYS {
                if let Err(e) = raw.secret(key) {
                    problems.push(format!("{label}: {e}"));
                }
            }
            let interval = raw
                .interval
                .or(d.interval)
                .unwrap_or(Duration::from_secs(300));
            let timeout = raw
                .timeout
                .or(d.timeout)
                .unwrap_or(Duration::from_secs(120));
            let lookback = raw
                .lookback
                .or(d.lookback)
                .unwrap_or(Duration::from_secs(48 * 3600));
            let max_stale = raw
                .max_stale
                .or(d.max_stale)
                .unwrap_or(Duration::from_secs(1800));
            let max_concurrent_requests = raw
                .max_concurrent_requests
                .or(d.max_concurrent_requests)
                .unwrap_or(4);
            for (key, v) in [
                ("interval", interval),
                ("timeout", timeout),
                ("lookback", lookback),
                ("max_stale", max_stale),
            ] {
                if v.is_zero() {
                    problems.push(format!("{label}: `{key}`: must be more than 0"));
                }
            }
            if max_concurrent_requests == 0 {
                problems.push(format!(
                    "{label}: `max_concurrent_requests`: must be at least 1"
                ));
            }
            let tls = raw.tls.clone().unwrap_or_default();
            if let Some(ca) = &tls.ca_file
                && !ca.is_file()
            {
                problems.push(format!(
                    "{label}: `tls.ca_file`: {} is not a readable file",
                    ca.display()
                ));
            }
            let t = TargetSettings {
                name: raw.name.clone(),
                vendor,
                url: raw.url.clone(),
                interval,
                timeout,
                lookback,
                max_stale,
                max_concurrent_requests,
                tls: TlsSettings {
                    ca_file: tls.ca_file,
                    insecure_skip_verify: tls.insecure_skip_verify,
                },
                proxy_url: raw.proxy_url.clone(),
                raw,
            };
            for p in crate::vendors::validate(&t) {
                problems.push(format!("{label}: {p}"));
            }
            targets.push(t);
        }
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        Ok(Settings {
            path: path.to_owned(),
            listen: file.listen,
            compliance,
            targets,
            exclude_metrics: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, ConfigError> {
        Settings::parse(text, Path::new("test.yml"))
    }

    #[test]
    fn unknown_top_level_key_is_named() {
        let e = parse("listen: x\nlisten_port: 3\ntargets: []\n").unwrap_err();
        assert!(e.to_string().contains("unknown field `listen_port`"), "{e}");
    }

    #[test]
    fn bad_duration_names_target_and_key() {
        let e = parse("targets:\n  - name: a\n    vendor: cloutility\n    interval: 5 parsecs\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("targets[0] (name \"a\")"), "{e}");
        assert!(e.contains("`interval`"), "{e}");
    }

    #[test]
    fn unknown_vendor_and_duplicate_names() {
        let e = parse(
            "targets:\n  - {name: a, vendor: veeam}\n  - {name: b, vendor: cloutility, url: \"http://x\", client_id: c, origin: \"http://o\", username: u, password_env: P}\n  - {name: b, vendor: cloutility, url: \"http://x\", client_id: c, origin: \"http://o\", username: u, password_env: P}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("targets[0] (name \"a\"): `vendor`: unknown vendor \"veeam\""),
            "{e}"
        );
        assert!(
            e.contains("targets[2] (name \"b\"): `name`: \"b\" is used by another target"),
            "{e}"
        );
    }

    #[test]
    fn two_sources_for_one_secret_are_refused() {
        let e =
            parse("targets:\n  - {name: a, vendor: cloutility, password: x, password_env: PW}\n")
                .unwrap_err()
                .to_string();
        assert!(
            e.contains("`password`, `password_file` and `password_env` are alternatives"),
            "{e}"
        );
    }

    #[test]
    fn key_of_another_vendor_is_refused() {
        let e = parse("targets:\n  - {name: a, vendor: cloutility, clusters: [x]}\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`clusters` is not a key of vendor cloutility"),
            "{e}"
        );
    }

    #[test]
    fn defaults_apply_and_targets_override() {
        let s = parse(
            "defaults: {interval: 1m, lookback: 2h}\ncompliance: {rpo: 12h}\ntargets:\n  - {name: a, vendor: cloutility, url: \"http://x\", client_id: c, origin: \"http://o\", username: u, password_env: P, interval: 30s}\n  - {name: b, vendor: cloutility, url: \"http://x\", client_id: c, origin: \"http://o\", username: u, password_env: P}\n",
        )
        .unwrap();
        assert_eq!(s.targets[0].interval, Duration::from_secs(30));
        assert_eq!(s.targets[1].interval, Duration::from_secs(60));
        assert_eq!(s.targets[1].lookback, Duration::from_secs(7200));
        assert_eq!(s.targets[1].max_stale, Duration::from_secs(1800));
        assert_eq!(s.compliance.rpo, Duration::from_secs(12 * 3600));
    }
}
