//! The keys of a Clumio target (contract §2) and what makes them valid.

use std::sync::Arc;

use serde::Deserialize;
use url::Url;

use super::GLOBAL_OU;
use crate::adapter::{Adapter, AdapterContext, TargetSettings, VendorSettings};
use crate::secret::SecretSource;
use crate::vendors::VendorConfig;

/// The vendor keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    token: Option<SecretSource>,
    organizational_unit: Option<String>,
}

/// A Clumio target's own settings, checked.
#[derive(Debug)]
pub struct Settings {
    pub url: Url,
    pub token: SecretSource,
    /// The OU the requests run in (the context header); `None` for the token's own.
    pub organizational_unit: Option<String>,
}

impl VendorConfig for Settings {
    type File = File;

    fn parse(f: File, url: Option<&Url>) -> Result<Settings, Vec<String>> {
        let mut problems = Vec::new();
        if url.is_none() {
            problems.push(
                "`url` is required (the Clumio API portal, e.g. https://us-west-2.api.clumio.com)"
                    .to_owned(),
            );
        }
        let token = crate::secret::required("token", &f.token)
            .map_err(|e| problems.push(e))
            .ok();
        if let Some(SecretSource::Inline(t)) = &token {
            use secrecy::ExposeSecret;
            let t = t.expose_secret();
            if t.trim_start().to_ascii_lowercase().starts_with("bearer ") {
                problems.push("`token`: give the API token without the `Bearer ` prefix".into());
            } else if t.trim().is_empty() || t.trim().contains(char::is_whitespace) {
                problems.push("`token`: an API token is one word without spaces".into());
            }
        }
        if let Some(ou) = &f.organizational_unit {
            let ok = !ou.is_empty() && ou.bytes().all(|b| b.is_ascii_graphic());
            if !ok {
                problems.push(format!(
                    "`organizational_unit`: {ou:?} is not an organizational unit id (expected e.g. {GLOBAL_OU})"
                ));
            }
        }
        match (url, token) {
            (Some(url), Some(token)) if problems.is_empty() => Ok(Settings {
                url: url.clone(),
                token,
                organizational_unit: f.organizational_unit,
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
}
