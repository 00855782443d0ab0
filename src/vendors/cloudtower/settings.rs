//! The keys of a CloudTower target (contract §2) and what makes them valid.

use std::sync::Arc;

use serde::Deserialize;
use url::Url;

use super::client::Auth;
use crate::adapter::{Adapter, AdapterContext, TargetSettings, VendorSettings};
use crate::secret::SecretSource;
use crate::vendors::VendorConfig;

/// `UserSource` of the 4.6.0 spec.
pub const USER_SOURCES: &[&str] = &["LOCAL", "LDAP", "AUTHN", "SSO"];

/// The vendor keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    username: Option<String>,
    password: Option<SecretSource>,
    user_source: Option<String>,
    token: Option<SecretSource>,
    clusters: Option<Vec<String>>,
}

/// A CloudTower target's own settings, checked.
#[derive(Debug)]
pub struct Settings {
    pub url: Url,
    pub(super) auth: Auth,
    /// The clusters to read; `None` for every cluster.
    pub clusters: Option<Vec<String>>,
}

impl VendorConfig for Settings {
    type File = File;

    fn parse(f: File, url: Option<&Url>) -> Result<Settings, Vec<String>> {
        let mut problems = Vec::new();
        if url.is_none() {
            problems.push(
                "`url` is required (the CloudTower address, e.g. https://tower.example.com)"
                    .to_owned(),
            );
        }
        if let Some(u) = &f.username
            && u.trim().is_empty()
        {
            problems.push("`username` must not be empty".to_owned());
        }
        let source = match &f.user_source {
            None => "LOCAL".to_owned(),
            Some(source) => {
                if f.token.is_some() && f.username.is_none() {
                    problems.push(
                        "`user_source` applies only to `username`/`password` logins".to_owned(),
                    );
                }
                let word = source.trim().to_ascii_uppercase();
                if !USER_SOURCES.contains(&word.as_str()) {
                    problems.push(format!(
                        "`user_source`: {source:?} is not one of {}",
                        USER_SOURCES.join(", ")
                    ));
                }
                word
            }
        };
        let auth = match (f.token, f.username, f.password) {
            (Some(key), None, None) => Some(Auth::ApiKey(key)),
            (Some(_), _, _) => {
                problems.push(
                    "`token` (an API key) and `username`/`password` are alternatives: set only one"
                        .to_owned(),
                );
                None
            }
            (None, Some(_), None) => {
                problems.push(
                    "`password` is required with `username` (as `password_file`, `password_env` or `password`)"
                        .to_owned(),
                );
                None
            }
            (None, None, Some(_)) => {
                problems.push("`username` is required with `password`".to_owned());
                None
            }
            (None, None, None) => {
                problems.push(
                    "either `token` (an API key) or `username` and `password` are required"
                        .to_owned(),
                );
                None
            }
            (None, Some(username), Some(password)) => Some(Auth::Password {
                username,
                password,
                source,
            }),
        };
        if let Some(clusters) = &f.clusters {
            if clusters.is_empty() {
                problems.push(
                    "`clusters`: name at least one cluster, or leave the key out for all"
                        .to_owned(),
                );
            }
            if clusters.iter().any(|c| c.trim().is_empty()) {
                problems.push("`clusters`: cluster names must not be empty".to_owned());
            }
        }
        match (url, auth) {
            (Some(url), Some(auth)) if problems.is_empty() => Ok(Settings {
                url: url.clone(),
                auth,
                clusters: f.clusters,
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
        Ok(super::build_with(
            self,
            target,
            ctx,
            super::Options::default(),
        )?)
    }
}
