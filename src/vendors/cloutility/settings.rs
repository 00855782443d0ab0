//! The keys of a Cloutility target (contract §2) and what makes them valid.

use std::sync::Arc;

use reqwest::header::HeaderValue;
use serde::Deserialize;
use url::Url;

use crate::adapter::{Adapter, AdapterContext, TargetSettings, VendorSettings};
use crate::secret::SecretSource;
use crate::vendors::VendorConfig;

/// The vendor keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    client_id: Option<String>,
    origin: Option<String>,
    username: Option<String>,
    password: Option<SecretSource>,
    bunits: Option<Vec<u64>>,
}

/// A Cloutility target's own settings, checked.
#[derive(Debug)]
pub struct Settings {
    pub url: Url,
    pub client_id: String,
    pub origin: HeaderValue,
    pub username: String,
    pub password: SecretSource,
    /// The business units to read (each with its sub-units); `None` for the whole tree.
    pub bunits: Option<Vec<u64>>,
}

impl VendorConfig for Settings {
    type File = File;

    fn parse(f: File, url: Option<&Url>) -> Result<Settings, Vec<String>> {
        let mut problems = Vec::new();
        if url.is_none() {
            problems.push(
                "`url` is required (the portal API root, e.g. https://portal-api.backup.sto2.safedc.net)"
                    .to_owned(),
            );
        }
        let mut need = |v: Option<String>, msg: &str| match v.map(|s| s.trim().to_owned()) {
            Some(s) if !s.is_empty() => Some(s),
            _ => {
                problems.push(msg.to_owned());
                None
            }
        };
        let client_id = need(
            f.client_id,
            "`client_id` is required (Settings → API access in the portal)",
        );
        let origin = need(
            f.origin,
            "`origin` is required (the origin URL registered with the client id)",
        );
        let username = f
            .username
            .filter(|u| !u.trim().is_empty())
            .or_else(|| need(None, "`username` is required"));
        let origin = origin.and_then(|o| {
            let is_url = Url::parse(&o).is_ok_and(|u| u.has_host());
            match HeaderValue::from_str(&o) {
                Ok(h) if is_url => Some(h),
                _ => {
                    problems.push(format!(
                        "`origin`: {o:?} is not a URL such as https://monitoring.example.com"
                    ));
                    None
                }
            }
        });
        let password = crate::secret::required("password", &f.password)
            .map_err(|e| problems.push(e))
            .ok();
        if f.bunits.as_ref().is_some_and(Vec::is_empty) {
            problems.push(
                "`bunits`: list at least one business unit id, or leave it out for the whole tree"
                    .to_owned(),
            );
        }
        match (url, client_id, origin, username, password) {
            (Some(url), Some(client_id), Some(origin), Some(username), Some(password))
                if problems.is_empty() =>
            {
                Ok(Settings {
                    url: url.clone(),
                    client_id,
                    origin,
                    username,
                    password,
                    bunits: f.bunits,
                })
            }
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
}
