//! The config file (contract §2), parsed and validated into [`Settings`], which is all the
//! rest of the program sees.
//!
//! YAML is read into a generic document first and each part is then decoded on its own, so
//! that every error can name the key path and the target it belongs to (`targets[2]
//! (name "safespring"): unknown field `pasword``) instead of only a line number.

mod compliance;
pub mod yaml;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value};
use url::Url;

pub use crate::adapter::TargetSettings;
pub use crate::secret::{SECRET_KEYS, SecretError, SecretSource};
pub use compliance::{Compliance, Rule, RuleMatch, Subject};

use crate::api::{DEFAULT_MAX_BUFFERED_BYTES, DEFAULT_MAX_RESPONSE_BYTES, TlsSettings};
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
    /// This replica's shard (`shard:`, or `serve --shard/--total-shards`); `None`: all.
    pub shard: Option<crate::shard::Shard>,
    /// `POST /-/refresh`'s minimum interval per target; `None`: the endpoint is disabled.
    pub refresh_min_interval: Option<Duration>,
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
    shard: Option<crate::shard::Shard>,
    #[serde(default)]
    refresh_endpoint: crate::refresh::EndpointFile,
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
    max_response_bytes: Option<ByteSize>,
    max_buffered_bytes: Option<ByteSize>,
    allow_cross_origin_redirects: Option<bool>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFile {
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

/// The keys every target has, whatever its vendor ([`COMMON_KEYS`]). The other keys are the
/// vendor's: its table line in [`crate::vendors::VENDORS`] decodes them.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonTarget {
    name: String,
    vendor: String,
    url: Option<Url>,
    #[serde(default, with = "humantime_serde")]
    interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    lookback: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    max_stale: Option<Duration>,
    max_concurrent_requests: Option<usize>,
    max_response_bytes: Option<ByteSize>,
    max_buffered_bytes: Option<ByteSize>,
    allow_cross_origin_redirects: Option<bool>,
    tls: Option<TlsFile>,
    proxy_url: Option<Url>,
}

/// A size in bytes: a plain number (`67108864`) or a number with a unit (`64MiB`, `500 KB`,
/// `1GiB`; B, KB, MB, GB are powers of 1000, KiB, MiB, GiB of 1024).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ByteSize(u64);

impl ByteSize {
    fn parse(text: &str) -> Result<u64, String> {
        let t = text.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (digits, unit) = t.split_at(split);
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("{text:?} is not a size (e.g. 64MiB, 500KB or 1048576)"))?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "kb" => 1_000,
            "mb" => 1_000_000,
            "gb" => 1_000_000_000,
            "kib" => 1 << 10,
            "mib" => 1 << 20,
            "gib" => 1 << 30,
            _ => {
                return Err(format!(
                    "{text:?}: unknown unit {:?} (B, KB, MB, GB, KiB, MiB, GiB)",
                    unit.trim()
                ));
            }
        };
        n.checked_mul(mult)
            .ok_or_else(|| format!("{text:?} is too large"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = ByteSize;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a size such as 64MiB or a number of bytes")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::custom(format!("{v} is negative; a size is 1 byte or more")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ByteSize, E> {
                ByteSize::parse(v).map(ByteSize).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// The shortest `interval`, `timeout`, `lookback` or `max_stale`: below it a value is a
/// slip (`1ns`, `5ms` for `5m`) that would spin the refresh loop or fail every request.
pub const MIN_DURATION: Duration = Duration::from_millis(100);

/// The keys a target shares with `defaults:`, as written in one place (a target or the
/// defaults), so each is checked where it is written and named once.
struct Limits {
    durations: [(&'static str, Option<Duration>); 4],
    max_concurrent_requests: Option<usize>,
    sizes: [(&'static str, Option<ByteSize>); 2],
}

impl Limits {
    /// Problems, each naming `{prefix}{key}`.
    fn problems(&self, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (key, v) in self.durations {
            match v {
                Some(v) if v.is_zero() => out.push(format!("`{prefix}{key}`: must be more than 0")),
                Some(v) if v < MIN_DURATION => out.push(format!(
                    "`{prefix}{key}`: {} is under the minimum of {}",
                    humantime::format_duration(v),
                    humantime::format_duration(MIN_DURATION)
                )),
                _ => {}
            }
        }
        if self.max_concurrent_requests == Some(0) {
            out.push(format!(
                "`{prefix}max_concurrent_requests`: must be at least 1"
            ));
        }
        for (key, v) in self.sizes {
            if v == Some(ByteSize(0)) {
                out.push(format!("`{prefix}{key}`: must be more than 0"));
            }
        }
        out
    }
}

/// `Defaults` and `CommonTarget` have the same shared keys under the same names.
macro_rules! limits_of {
    ($t:ty) => {
        impl $t {
            fn limits(&self) -> Limits {
                Limits {
                    durations: [
                        ("interval", self.interval),
                        ("timeout", self.timeout),
                        ("lookback", self.lookback),
                        ("max_stale", self.max_stale),
                    ],
                    max_concurrent_requests: self.max_concurrent_requests,
                    sizes: [
                        ("max_response_bytes", self.max_response_bytes),
                        ("max_buffered_bytes", self.max_buffered_bytes),
                    ],
                }
            }
        }
    };
}
limits_of!(Defaults);
limits_of!(CommonTarget);

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
    "max_response_bytes",
    "max_buffered_bytes",
    "allow_cross_origin_redirects",
    "tls",
    "proxy_url",
];

impl Settings {
    /// The settings with only the targets of this replica's shard (all without one).
    pub fn sharded(&self) -> Settings {
        let mut s = self.clone();
        if let Some(shard) = s.shard {
            s.targets.retain(|t| shard.owns(&t.name));
        }
        s
    }
}

impl Settings {
    /// Reads the file (at most [`crate::small_file::CONFIG_FILE_LIMIT`], a regular file)
    /// and parses it.
    pub fn load(path: &Path) -> Result<Settings, ConfigError> {
        let text = crate::small_file::read_to_string(path, crate::small_file::CONFIG_FILE_LIMIT)
            .map_err(|e| {
                ConfigError::one(format!("cannot read config file {}: {e}", path.display()))
            })?;
        Self::parse(&text, path)
    }

    /// Parses and checks the config. Every problem is one line, and none shows a secret
    /// value of the text (see [`yaml::Scrubber`]), whatever part of the parse it comes from.
    pub fn parse(text: &str, path: &Path) -> Result<Settings, ConfigError> {
        Self::parse_unscrubbed(text, path).map_err(|e| {
            let scrubber = yaml::Scrubber::for_text(text);
            ConfigError {
                problems: e.problems.iter().map(|p| scrubber.scrub(p)).collect(),
            }
        })
    }

    fn parse_unscrubbed(text: &str, path: &Path) -> Result<Settings, ConfigError> {
        let doc: Value = yaml::parse(text)
            .map_err(|e| ConfigError::one(format!("{}: not valid YAML: {e}", path.display())))?;
        let doc = match doc {
            Value::Null => Value::Object(Default::default()),
            Value::Object(_) => doc,
            other => {
                return Err(ConfigError::one(format!(
                    "{}: the config is a map of keys (listen, defaults, compliance, targets), \
                     not a {}",
                    path.display(),
                    crate::secret::kind(&other)
                )));
            }
        };
        let file: FileConfig = serde_path_to_error::deserialize(doc).map_err(|e| {
            ConfigError::one(format!("{}: `{}`: {}", path.display(), e.path(), e.inner()))
        })?;

        let mut problems = file.defaults.limits().problems("defaults.");
        let compliance = file.compliance.validate(&mut problems);
        let mut targets: Vec<TargetSettings> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        if file.targets.is_empty() {
            problems.push("`targets`: at least one target is required".to_owned());
        }
        for (i, value) in file.targets.into_iter().enumerate() {
            let label = match value.get("name").and_then(Value::as_str) {
                Some(n) => format!("targets[{i}] (name {n:?})"),
                None => format!("targets[{i}]"),
            };
            let mut target_problems = Vec::new();
            let t = parse_target(value, &file.defaults, &names, &mut target_problems);
            problems.extend(target_problems.into_iter().map(|p| format!("{label}: {p}")));
            if let Some((name, t)) = t {
                names.push(name);
                targets.extend(t);
            }
        }
        if let Some(s) = file.shard
            && let Err(e) = crate::shard::Shard::new(s.index, s.total)
        {
            problems.push(format!("`shard`: {e}"));
        }
        if file.refresh_endpoint.min_interval() == Some(Duration::ZERO) {
            problems.push("`refresh_endpoint.min_interval`: must be more than 0".to_owned());
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
            shard: file.shard,
            refresh_min_interval: file.refresh_endpoint.min_interval(),
        })
    }
}

/// One target: its common keys here, its vendor's keys by the vendor's table line. Returns
/// the target's name once the common keys decode (for the uniqueness check) and the target
/// when nothing is wrong with it.
fn parse_target(
    value: Value,
    d: &Defaults,
    names: &[String],
    problems: &mut Vec<String>,
) -> Option<(String, Option<TargetSettings>)> {
    let Value::Object(mut keys) = value else {
        problems.push("a target is a map of keys (name, vendor, url, ...)".to_owned());
        return None;
    };
    let common: Map<String, Value> = COMMON_KEYS
        .iter()
        .filter_map(|k| keys.remove(*k).map(|v| (k.to_string(), v)))
        .collect();
    let raw: CommonTarget = match serde_path_to_error::deserialize(Value::Object(common)) {
        Ok(r) => r,
        Err(e) => {
            let path = e.path().to_string();
            let at = if path == "." {
                String::new()
            } else {
                format!("`{path}`: ")
            };
            problems.push(format!("{at}{}", e.inner()));
            return None;
        }
    };
    let vendor = match raw.vendor.parse::<Vendor>() {
        Ok(v) => v,
        Err(e) => {
            problems.push(format!("`vendor`: {e}"));
            return None;
        }
    };
    problems.extend(raw.limits().problems(""));
    if raw.name.trim().is_empty() {
        problems.push("`name`: must not be empty".to_owned());
    }
    if names.contains(&raw.name) {
        problems.push(format!(
            "`name`: {:?} is used by another target; names must be unique",
            raw.name
        ));
    }
    let entry = crate::vendors::entry(vendor);
    let allowed = (entry.keys)();
    keys.retain(|key, _| {
        let base = key
            .strip_suffix("_file")
            .or_else(|| key.strip_suffix("_env"))
            .filter(|b| SECRET_KEYS.contains(b) && allowed.contains(b))
            .unwrap_or(key);
        let known = allowed.contains(&base);
        if !known {
            problems.push(format!(
                "`{key}` is not a key of vendor {vendor} (its keys: {})",
                allowed.join(", ")
            ));
        }
        known
    });
    let secret_problems = crate::secret::fold(&mut keys);
    let secrets_folded = secret_problems.is_empty();
    problems.extend(secret_problems);
    let secrets: Vec<(&'static str, SecretSource)> = SECRET_KEYS
        .iter()
        .filter_map(|k| {
            let v = keys.get(*k)?.clone();
            serde_json::from_value(v).ok().map(|s| (*k, s))
        })
        .collect();
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
    let max_response_bytes = raw
        .max_response_bytes
        .or(d.max_response_bytes)
        .map_or(DEFAULT_MAX_RESPONSE_BYTES, |b| b.0);
    let max_buffered_bytes = raw
        .max_buffered_bytes
        .or(d.max_buffered_bytes)
        .map_or(DEFAULT_MAX_BUFFERED_BYTES, |b| b.0);
    let allow_cross_origin_redirects = raw
        .allow_cross_origin_redirects
        .or(d.allow_cross_origin_redirects)
        .unwrap_or(false);
    // Every vendor speaks HTTP: any other scheme is a typo or a paste from elsewhere.
    let mut url_ok = true;
    // Credentials in it would be shown wherever the URL is (logs, errors, the status page);
    // every vendor has its own keys for them.
    let url = match raw.url {
        Some(u) if !matches!(u.scheme(), "http" | "https") => {
            problems.push(format!(
                "`url`: {} is not an http(s) URL",
                without_credentials(&u)
            ));
            url_ok = false;
            None
        }
        Some(u) if !u.username().is_empty() || u.password().is_some() => {
            problems.push(format!(
                "`url`: {} has a user name or password in it (user:password@); give them \
                 as the target's own keys (password_file, token_file, ...)",
                without_credentials(&u)
            ));
            url_ok = false;
            None
        }
        u => u,
    };
    let tls = raw.tls.unwrap_or_default();
    if let Some(ca) = &tls.ca_file
        && let Err(e) = crate::api::load_ca_bundle(ca)
    {
        problems.push(format!("`tls.ca_file`: {e}"));
    }
    // A refused secret or URL is reported once: the vendor would only add "is required".
    let vendor_settings = if secrets_folded && url_ok {
        match (entry.parse)(keys, url.as_ref()) {
            Ok(s) => Some(s),
            Err(p) => {
                problems.extend(p);
                None
            }
        }
    } else {
        None
    };
    let name = raw.name;
    let target = match vendor_settings {
        Some(vendor_settings) if problems.is_empty() => Some(TargetSettings {
            name: name.clone(),
            vendor,
            url,
            interval,
            timeout,
            lookback,
            max_stale,
            max_concurrent_requests,
            max_response_bytes,
            max_buffered_bytes,
            allow_cross_origin_redirects,
            tls: TlsSettings {
                ca_file: tls.ca_file,
                insecure_skip_verify: tls.insecure_skip_verify,
            },
            proxy_url: raw.proxy_url,
            secrets,
            vendor_settings,
        }),
        _ => None,
    };
    Some((name, target))
}

/// `u` as it may be shown: any user name and password replaced by `***`.
pub fn without_credentials(u: &Url) -> String {
    let mut shown = u.clone();
    if !u.username().is_empty() || u.password().is_some() {
        let _ = shown.set_username("***");
        let _ = shown.set_password(None);
    }
    shown.to_string()
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

    const CLOUTILITY: &str = "{name: a, vendor: cloutility, url: \"http://x\", client_id: c, origin: \"http://o\", username: u, password_env: P";

    #[test]
    fn url_must_be_http_for_every_vendor() {
        // Cloutility and CloudTower did not check the scheme before the core did.
        for vendor in [
            "cloutility",
            "cloudtower",
            "cloudsync",
            "backupdr",
            "clumio",
        ] {
            let e = parse(&format!(
                "targets:\n  - {{name: a, vendor: {vendor}, url: \"ftp://x/\"}}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(
                e.contains("targets[0] (name \"a\"): `url`: ftp://x/ is not an http(s) URL"),
                "{vendor}: {e}"
            );
        }
    }

    #[test]
    fn vendor_key_errors_name_the_target_and_the_key() {
        let e = parse(&format!("targets:\n  - {CLOUTILITY}, bunits: [x]}}\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("targets[0] (name \"a\"): `bunits[0]`: invalid type"),
            "{e}"
        );
        let e = parse(&format!(
            "targets:\n  - {CLOUTILITY}, tokn: x, clusters: [y]}}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("targets[0] (name \"a\"): `tokn` is not a key of vendor cloutility (its keys: client_id, origin, username, password, bunits)"),
            "{e}"
        );
        assert!(
            e.contains("`clusters` is not a key of vendor cloutility"),
            "{e}"
        );
        let e = parse(&format!("targets:\n  - {CLOUTILITY}, token_file: /t}}\n"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`token_file` is not a key of vendor cloutility"),
            "{e}"
        );
    }

    #[test]
    fn response_limits_are_sizes_with_defaults_and_per_target_overrides() {
        let s = parse(&format!(
            "defaults: {{max_response_bytes: 8MiB, allow_cross_origin_redirects: true}}\ntargets:\n  - {CLOUTILITY}, max_buffered_bytes: \"1 GiB\"}}\n  - {{name: b, vendor: cloutility, url: \"http://x\", client_id: c, origin: \"http://o\", username: u, password_env: P, max_response_bytes: 1000, allow_cross_origin_redirects: false}}\n"
        ))
        .unwrap();
        assert_eq!(s.targets[0].max_response_bytes, 8 << 20);
        assert_eq!(s.targets[0].max_buffered_bytes, 1 << 30);
        assert!(s.targets[0].allow_cross_origin_redirects);
        assert_eq!(s.targets[1].max_response_bytes, 1000);
        assert_eq!(s.targets[1].max_buffered_bytes, DEFAULT_MAX_BUFFERED_BYTES);
        assert!(!s.targets[1].allow_cross_origin_redirects);
        let c = s.targets[0].client_settings(Url::parse("http://x/").unwrap());
        assert_eq!(c.max_response_bytes, 8 << 20);
        assert_eq!(c.max_buffered_bytes, 1 << 30);
        assert!(c.allow_cross_origin_redirects);
        let d = parse(&format!("targets:\n  - {CLOUTILITY}}}\n")).unwrap();
        assert_eq!(d.targets[0].max_response_bytes, DEFAULT_MAX_RESPONSE_BYTES);
        assert!(!d.targets[0].allow_cross_origin_redirects);
    }

    #[test]
    fn bad_response_limits_name_the_target_and_the_key() {
        for (value, want) in [
            ("0", "`max_response_bytes`: must be more than 0"),
            ("0MiB", "`max_response_bytes`: must be more than 0"),
            ("-5", "`max_response_bytes`: -5 is negative"),
            (
                "64 parsecs",
                "`max_response_bytes`: \"64 parsecs\": unknown unit",
            ),
            ("MiB", "`max_response_bytes`: \"MiB\" is not a size"),
            ("99999999999GiB", "is too large"),
            ("[1]", "`max_response_bytes`: invalid type"),
        ] {
            let e = parse(&format!(
                "targets:\n  - {CLOUTILITY}, max_response_bytes: {value}}}\n"
            ))
            .unwrap_err()
            .to_string();
            assert!(e.starts_with("targets[0] (name \"a\"): "), "{value}: {e}");
            assert!(e.contains(want), "{value}: {e}");
        }
        let e = parse(&format!(
            "targets:\n  - {CLOUTILITY}, allow_cross_origin_redirects: maybe}}\n"
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("`allow_cross_origin_redirects`"), "{e}");
    }

    #[test]
    fn a_valid_target_carries_its_vendors_typed_settings_and_secrets() {
        let s = parse(&format!("targets:\n  - {CLOUTILITY}, bunits: [7]}}\n")).unwrap();
        let t = &s.targets[0];
        let own = t
            .vendor_settings::<crate::vendors::cloutility::Settings>()
            .unwrap();
        assert_eq!(own.bunits.as_deref(), Some(&[7][..]));
        assert_eq!(own.client_id, "c");
        assert!(
            t.vendor_settings::<crate::vendors::clumio::Settings>()
                .is_none()
        );
        assert_eq!(t.secrets.len(), 1);
        assert_eq!(t.secrets[0].0, "password");
        assert_eq!(t.secrets[0].1.describe(), "environment variable P");
    }
}
