//! Secrets: inline (discouraged), from a file (re-read at every login, so a rotated
//! secret is picked up without a restart), or from an environment variable.
//!
//! In the config a secret `<key>` is written as `<key>`, `<key>_file` or `<key>_env`. The
//! config layer folds the three into one key `<key>` holding `{inline: …}`, `{file: …}` or
//! `{env: …}` (refusing two of them at once), so a vendor's settings struct declares the
//! secret once as `<key>: Option<SecretSource>`.

use std::path::PathBuf;

use secrecy::SecretString;
use serde::Deserialize;

/// The secret keys, each also accepted as `<key>_file` and `<key>_env`.
pub const SECRET_KEYS: &[&str] = &["password", "token", "refresh_token", "client_secret"];

#[derive(Clone, Debug, Deserialize)]
#[serde(from = "Folded")]
pub enum SecretSource {
    Inline(SecretString),
    File(PathBuf),
    Env(String),
}

/// A secret as the config layer hands it to a vendor's settings struct.
#[derive(Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
enum Folded {
    Inline(String),
    File(PathBuf),
    Env(String),
}

impl From<Folded> for SecretSource {
    fn from(f: Folded) -> Self {
        match f {
            Folded::Inline(s) => SecretSource::Inline(s.into()),
            Folded::File(p) => SecretSource::File(p),
            Folded::Env(n) => SecretSource::Env(n),
        }
    }
}

/// The secret `key` of a target, or an error naming the key when it is absent.
pub fn required(key: &str, source: &Option<SecretSource>) -> Result<SecretSource, String> {
    source
        .clone()
        .ok_or_else(|| format!("`{key}` is required (as `{key}_file`, `{key}_env` or `{key}`)"))
}

/// Folds `<key>`, `<key>_file` and `<key>_env` of a target's keys into `<key>` (see the
/// module doc). Problems name the keys as written.
pub fn fold(keys: &mut serde_json::Map<String, serde_json::Value>) -> Vec<String> {
    let mut problems = Vec::new();
    for key in SECRET_KEYS {
        let mut found = Vec::new();
        for (written, tag) in [
            (key.to_string(), "inline"),
            (format!("{key}_file"), "file"),
            (format!("{key}_env"), "env"),
        ] {
            if let Some(v) = keys.remove(&written) {
                found.push((written, tag, v));
            }
        }
        match found.len() {
            0 => {}
            1 => {
                let (written, tag, v) = found.remove(0);
                match v {
                    serde_json::Value::String(s) => {
                        keys.insert(key.to_string(), serde_json::json!({ tag: s }));
                    }
                    // Never the value: a number here is most likely the secret itself.
                    other @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => problems
                        .push(format!(
                            "`{written}`: YAML read a {}, not text; write the value in quotes",
                            kind(&other)
                        )),
                    other => problems.push(format!(
                        "`{written}`: invalid type: {}, expected a string",
                        kind(&other)
                    )),
                }
            }
            _ => problems.push(format!(
                "`{key}`, `{key}_file` and `{key}_env` are alternatives: set only one"
            )),
        }
    }
    problems
}

/// What YAML made of a value, for messages that must not quote it.
pub fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "sequence",
        serde_json::Value::Object(_) => "map",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read secret file {path}: {source}")]
    File {
        path: PathBuf,
        source: crate::small_file::SmallFileError,
    },
    #[error("secret file {0} is empty")]
    EmptyFile(PathBuf),
    #[error("environment variable {0} is not set or empty")]
    Env(String),
}

impl SecretSource {
    /// Reads the secret now. A trailing newline (as `echo` writes) is not part of it. A
    /// file is read up to [`crate::small_file::SECRET_FILE_LIMIT`] and must be a regular
    /// file: `/dev/zero` or a FIFO fails at once instead of hanging or filling memory.
    pub fn read(&self) -> Result<SecretString, SecretError> {
        match self {
            SecretSource::Inline(s) => Ok(s.clone()),
            SecretSource::File(path) => {
                let text =
                    crate::small_file::read_to_string(path, crate::small_file::SECRET_FILE_LIMIT)
                        .map_err(|source| SecretError::File {
                        path: path.clone(),
                        source,
                    })?;
                let trimmed = text.trim_end_matches(['\r', '\n']);
                if trimmed.is_empty() {
                    return Err(SecretError::EmptyFile(path.clone()));
                }
                Ok(SecretString::from(trimmed.to_owned()))
            }
            SecretSource::Env(name) => match std::env::var(name) {
                Ok(v) if !v.is_empty() => Ok(SecretString::from(v)),
                _ => Err(SecretError::Env(name.clone())),
            },
        }
    }

    /// Where the secret comes from, for messages (never the value).
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Inline(_) => "inline value".to_owned(),
            SecretSource::File(p) => format!("file {}", p.display()),
            SecretSource::Env(n) => format!("environment variable {n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn file_secret_is_reread_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "first\n").unwrap();
        let s = SecretSource::File(path.clone());
        assert_eq!(s.read().unwrap().expose_secret(), "first");
        std::fs::write(&path, "second").unwrap();
        assert_eq!(s.read().unwrap().expose_secret(), "second");
        std::fs::write(&path, "\n").unwrap();
        assert!(s.read().unwrap_err().to_string().contains("is empty"));
    }

    #[test]
    fn fold_turns_the_three_spellings_into_one_key() {
        let mut keys = serde_json::json!({"password_file": "/p", "token_env": "T", "other": 1});
        let map = keys.as_object_mut().unwrap();
        assert!(fold(map).is_empty());
        assert_eq!(map["password"], serde_json::json!({"file": "/p"}));
        assert_eq!(map["token"], serde_json::json!({"env": "T"}));
        assert_eq!(map["other"], serde_json::json!(1));
        let s: SecretSource = serde_json::from_value(map["password"].clone()).unwrap();
        assert_eq!(s.describe(), "file /p");

        let mut keys = serde_json::json!({"token": "x", "token_file": "/t", "password": 3});
        let problems = fold(keys.as_object_mut().unwrap());
        assert!(
            problems.iter().any(|p| p.contains("are alternatives")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p
                    == "`password`: YAML read a number, not text; write the value in quotes"),
            "{problems:?}"
        );
    }

    #[test]
    fn an_oversized_secret_file_is_refused_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        let big = "hunter2-".repeat(9000);
        std::fs::write(&path, &big).unwrap();
        let e = SecretSource::File(path.clone())
            .read()
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            format!(
                "cannot read secret file {}: over the 64 KiB limit; reading stopped there",
                path.display()
            )
        );
        std::fs::write(&path, &big[..60_000]).unwrap();
        assert!(SecretSource::File(path).read().is_ok());
    }

    #[test]
    fn missing_env_is_named() {
        let s = SecretSource::Env("BACKUP_EXPORTER_TEST_SURELY_UNSET".into());
        assert_eq!(
            s.read().unwrap_err().to_string(),
            "environment variable BACKUP_EXPORTER_TEST_SURELY_UNSET is not set or empty"
        );
    }
}
