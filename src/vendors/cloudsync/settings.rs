//! The keys of a Cloud Sync target (contract §2) and what makes them valid.

use std::sync::Arc;

use serde::Deserialize;
use url::Url;

use super::client::Grant;
use crate::adapter::{Adapter, AdapterContext, TargetSettings, VendorSettings};
use crate::secret::SecretSource;
use crate::vendors::VendorConfig;

/// The vendor keys as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    auth_url: Option<Url>,
    client_id: Option<String>,
    username: Option<String>,
    password: Option<SecretSource>,
    refresh_token: Option<SecretSource>,
    audit_url: Option<Url>,
    account_id: Option<String>,
}

/// A Cloud Sync target's own settings, checked.
#[derive(Debug)]
pub struct Settings {
    /// The API root; `None` for the public service ([`super::DEFAULT_URL`]).
    pub url: Option<Url>,
    pub auth_url: Url,
    pub client_id: String,
    pub(super) grant: Grant,
    pub audit_url: Option<Url>,
    /// The one account to read (trimmed); `None` for every account the user sees.
    pub account_id: Option<String>,
}

fn http_url(key: &str, url: &Url) -> Option<String> {
    (!matches!(url.scheme(), "http" | "https"))
        .then(|| format!("`{key}`: {url} is not an http(s) URL"))
}

impl VendorConfig for Settings {
    type File = File;

    fn parse(f: File, url: Option<&Url>) -> Result<Settings, Vec<String>> {
        let mut problems = Vec::new();
        let auth_url = match f.auth_url {
            None => {
                problems.push(
                    "`auth_url` is required: the full token URL, e.g. https://netapp-cloud-account.auth0.com/oauth/token".into(),
                );
                None
            }
            Some(u) => match http_url("auth_url", &u) {
                Some(p) => {
                    problems.push(p);
                    None
                }
                None => Some(u),
            },
        };
        let client_id = match f.client_id {
            Some(c) if !c.trim().is_empty() => Some(c),
            _ => {
                problems.push("`client_id` is required (the Auth0 client id of the grant)".into());
                None
            }
        };
        if let Some(u) = &f.audit_url {
            problems.extend(http_url("audit_url", u));
        }
        if f.account_id.as_deref().is_some_and(|a| a.trim().is_empty()) {
            problems
                .push("`account_id` must not be empty (leave it out to read every account)".into());
        }
        let username = f.username.filter(|u| !u.trim().is_empty());
        let grant = match (username, f.password, f.refresh_token) {
            (_, Some(_), Some(_)) => {
                problems.push(
                    "`password` and `refresh_token` are alternatives (password grant or refresh-token grant): set only one".into(),
                );
                None
            }
            (Some(username), Some(password), None) => Some(Grant::Password { username, password }),
            (None, None, Some(token)) => Some(Grant::RefreshToken(token)),
            (Some(_), None, None) => {
                problems.push(
                    "`password` is required with `username` (as `password_file`, `password_env` or `password`)".into(),
                );
                None
            }
            (None, Some(_), None) => {
                problems.push("`username` is required with `password`".into());
                None
            }
            (Some(_), None, Some(_)) => {
                problems.push(
                    "`username` is not used with `refresh_token`: the refresh token says who the user is".into(),
                );
                None
            }
            (None, None, None) => {
                problems.push(
                    "set `username` and `password` (password grant) or `refresh_token` (refresh-token grant)".into(),
                );
                None
            }
        };
        match (auth_url, client_id, grant) {
            (Some(auth_url), Some(client_id), Some(grant)) if problems.is_empty() => Ok(Settings {
                url: url.cloned(),
                auth_url,
                client_id,
                grant,
                audit_url: f.audit_url,
                account_id: f.account_id.map(|a| a.trim().to_owned()),
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::config::Settings;

    fn problems(target: &str) -> String {
        let text = format!("targets:\n  - name: cs\n    vendor: cloudsync\n{target}");
        match Settings::parse(&text, Path::new("t.yml")) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_password_target_is_valid() {
        assert_eq!(
            problems(
                "    auth_url: https://netapp-cloud-account.auth0.com/oauth/token\n    client_id: QC3AgHk6qdbmC7Yyr82ApBwaaJLwRrNO\n    username: a@b.c\n    password_env: CS_PW\n"
            ),
            ""
        );
        assert_eq!(
            problems(
                "    auth_url: https://netapp-cloud-account.auth0.com/oauth/token\n    client_id: Mu0V1ywgYteI6w1MbD15fKfVIUrNXGWC\n    refresh_token_file: /x\n    account_id: account-1\n    audit_url: https://cloudmanager.cloud.netapp.com\n"
            ),
            ""
        );
    }

    #[test]
    fn missing_and_conflicting_keys_are_named() {
        let e = problems("    username: a@b.c\n");
        assert!(e.contains("`auth_url` is required"), "{e}");
        assert!(e.contains("`client_id` is required"), "{e}");
        assert!(e.contains("`password` is required with `username`"), "{e}");
        let e = problems(
            "    auth_url: http://x/t\n    client_id: c\n    username: u\n    password: p\n    refresh_token: r\n",
        );
        assert!(e.contains("are alternatives"), "{e}");
        let e = problems("    auth_url: http://x/t\n    client_id: c\n");
        assert!(e.contains("set `username` and `password`"), "{e}");
        let e = problems(
            "    auth_url: ftp://x/t\n    client_id: c\n    refresh_token: r\n    username: u\n",
        );
        assert!(
            e.contains("`auth_url`: ftp://x/t is not an http(s) URL"),
            "{e}"
        );
        assert!(
            e.contains("`username` is not used with `refresh_token`"),
            "{e}"
        );
        let e = problems(
            "    auth_url: http://x/t\n    client_id: c\n    password: p\n    account_id: ' '\n",
        );
        assert!(e.contains("`username` is required with `password`"), "{e}");
        assert!(e.contains("`account_id` must not be empty"), "{e}");
        let e = problems(
            "    auth_url: http://x/t\n    client_id: c\n    refresh_token: r\n    clusters: [a]\n",
        );
        assert!(
            e.contains("`clusters` is not a key of vendor cloudsync"),
            "{e}"
        );
    }
}
