//! The keys of a Backup and DR target (contract §2) and what makes them valid.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Deserialize;
use url::Url;

use super::client::GoogleToken;
use crate::adapter::{Adapter, AdapterContext, TargetSettings, VendorSettings};
use crate::secret::SecretSource;
use crate::vendors::VendorConfig;

/// The vendor keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    credentials_file: Option<PathBuf>,
    token: Option<SecretSource>,
}

/// A Backup and DR target's own settings, checked.
#[derive(Debug)]
pub struct Settings {
    pub url: Url,
    pub google: GoogleToken,
}

impl VendorConfig for Settings {
    type File = File;

    fn parse(f: File, url: Option<&Url>) -> Result<Settings, Vec<String>> {
        let mut problems = Vec::new();
        if url.is_none() {
            problems.push(
                "`url` is required (the management console API, e.g. https://bmc-….backupdr.googleusercontent.com/actifio)"
                    .to_owned(),
            );
        }
        let google = match (f.credentials_file, f.token) {
            (Some(_), Some(_)) => {
                problems.push(
                    "`credentials_file` and `token` are alternatives: set only one".to_owned(),
                );
                None
            }
            (None, None) => {
                problems.push(
                    "`credentials_file` (a Google service-account JSON key) or `token` (as `token_file`, `token_env` or `token`) is required"
                        .to_owned(),
                );
                None
            }
            // Like every secret file, the key is read at login (so a rotated key is picked
            // up), and once at start by `check` and `serve` (`check_files`).
            (Some(path), None) if path.as_os_str().is_empty() => {
                problems.push("`credentials_file`: must not be empty".to_owned());
                None
            }
            (Some(path), None) => Some(GoogleToken::ServiceAccount(path)),
            (None, Some(token)) => Some(GoogleToken::Token(token)),
        };
        match (url, google) {
            (Some(url), Some(google)) if problems.is_empty() => Ok(Settings {
                url: url.clone(),
                google,
            }),
            _ => Err(problems),
        }
    }
}

impl VendorSettings for Settings {
    fn build(
        &self,
        target: &TargetSettings,
        ctx: &AdapterContext,
    ) -> Result<Arc<dyn Adapter>, String> {
        super::build(self, target, ctx)
    }

    fn check_files(&self) -> Vec<String> {
        match &self.google {
            GoogleToken::ServiceAccount(path) => super::google::ServiceAccount::from_file(path)
                .err()
                .map(|e| format!("`credentials_file`: {e}"))
                .into_iter()
                .collect(),
            GoogleToken::Token(_) => Vec::new(),
        }
    }
}
