//! Secrets: inline (discouraged), from a file (re-read at every login, so a rotated
//! secret is picked up without a restart), or from an environment variable.

use std::path::PathBuf;

use secrecy::SecretString;

#[derive(Clone, Debug)]
pub enum SecretSource {
    Inline(SecretString),
    File(PathBuf),
    Env(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read secret file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("secret file {0} is empty")]
    EmptyFile(PathBuf),
    #[error("environment variable {0} is not set or empty")]
    Env(String),
}

impl SecretSource {
    /// Reads the secret now. A trailing newline (as `echo` writes) is not part of it.
    pub fn read(&self) -> Result<SecretString, SecretError> {
        match self {
            SecretSource::Inline(s) => Ok(s.clone()),
            SecretSource::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| SecretError::File {
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
    fn missing_env_is_named() {
        let s = SecretSource::Env("BACKUP_EXPORTER_TEST_SURELY_UNSET".into());
        assert_eq!(
            s.read().unwrap_err().to_string(),
            "environment variable BACKUP_EXPORTER_TEST_SURELY_UNSET is not set or empty"
        );
    }
}
