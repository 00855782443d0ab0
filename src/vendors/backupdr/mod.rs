//! Google Cloud Backup and DR: the management console API (formerly Actifio AGM).
//!
//! Objects are applications (id, `appname`), tenants are the backup/recovery appliances
//! that hold them. Jobs come from `/jobstatus`, restore points from `/backup`, storage from
//! `/diskpool`, audit from `/localaudit`, and warnings from disk-pool thresholds, appliance
//! reachability, events and runs of failed backups.

mod client;
#[doc(hidden)]
pub mod fuzz;
pub mod google;
mod mapping;
#[cfg(test)]
mod proptests;
mod read;
pub mod sim;
mod warnings;
mod wire;

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use url::Url;

use self::client::{Console, GoogleToken, SessionAuth};
use self::read::Appliances;
use super::{Adapter, AdapterContext, Collection, History, Period, Skips, VendorError, Window};
use crate::api::{ApiClient, ClientSettings};
use crate::config::TargetSettings;
use crate::model::{Vendor, Warning};

pub use self::warnings::{
    CATEGORY_APPLIANCE, CATEGORY_EVENT, CATEGORY_JOB_FAILURES, CATEGORY_STORAGE, FAILURE_STREAK,
};

/// Vendor-specific target keys (contract §2); `token` stands for `token`, `token_file` and
/// `token_env`.
pub const KEYS: &[&str] = &["credentials_file", "token"];

pub fn validate(target: &TargetSettings) -> Vec<String> {
    let mut problems = Vec::new();
    match &target.url {
        None => problems.push(
            "`url` is required (the management console API, e.g. https://bmc-….backupdr.googleusercontent.com/actifio)"
                .to_owned(),
        ),
        Some(u) if !matches!(u.scheme(), "http" | "https") => {
            problems.push(format!("`url`: {u} is not an http(s) URL"))
        }
        Some(_) => {}
    }
    // Two sources for `token` itself are reported by the config layer.
    let Ok(token) = target.raw.secret("token") else {
        return problems;
    };
    match (&target.raw.credentials_file, token) {
        (Some(_), Some(_)) => problems.push(
            "`credentials_file` and `token` are alternatives: set only one".to_owned(),
        ),
        (None, None) => problems.push(
            "`credentials_file` (a Google service-account JSON key) or `token` (as `token_file`, `token_env` or `token`) is required"
                .to_owned(),
        ),
        // Like every secret file, the key is read at login (so a key mounted or rotated
        // later is picked up); `check --online` shows a bad one.
        (Some(path), None) if path.as_os_str().is_empty() => {
            problems.push("`credentials_file`: must not be empty".to_owned())
        }
        (Some(_), None) | (None, Some(_)) => {}
    }
    problems
}

/// The API base: the console's `/actifio` path (the spec's `servers: [{url: /actifio}]`).
///
/// Google's console shows the management console as a bare host
/// (`https://bmc-…-dot-REGION.backupdr.googleusercontent.com/`), the `managementServers`
/// API gives it with `/actifio`; both are accepted, with or without a trailing slash. A path
/// with an `actifio` segment is cut after that segment (a pasted request URL such as
/// `…/actifio/session` still finds the base); any other path is a prefix in front of the
/// console (a reverse proxy) and gets `/actifio` appended. Query and fragment (a pasted UI
/// address such as `…/#/dashboard`) are dropped.
pub fn api_base(url: &Url) -> Url {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let segments: Vec<&str> = url.path().split('/').filter(|s| !s.is_empty()).collect();
    let kept: Vec<&str> = match segments
        .iter()
        .position(|s| s.eq_ignore_ascii_case("actifio"))
    {
        Some(i) => segments[..=i].to_vec(),
        None => segments.iter().copied().chain(["actifio"]).collect(),
    };
    u.set_path(&format!("/{}", kept.join("/")));
    u
}

pub fn build(target: &TargetSettings, ctx: &AdapterContext) -> Result<Arc<dyn Adapter>, String> {
    let url = target
        .url
        .as_ref()
        .ok_or_else(|| "`url` is required".to_owned())?;
    let google = match &target.raw.credentials_file {
        Some(path) => GoogleToken::ServiceAccount(path.clone()),
        None => GoogleToken::Token(target.required_secret("token")?),
    };
    let mut settings = ClientSettings::new(Vendor::Backupdr, &target.name, api_base(url));
    settings.request_timeout = target.timeout;
    settings.max_concurrent_requests = target.max_concurrent_requests;
    settings.tls = target.tls.clone();
    settings.proxy_url = target.proxy_url.clone();
    let auth = Arc::new(SessionAuth {
        google,
        clock: ctx.clock.clone(),
    });
    let api = ApiClient::new(
        settings,
        Some(auth),
        ctx.metrics.clone(),
        client::decode_error,
    )
    .map_err(|e| e.to_string())?;
    Ok(Arc::new(BackupDr {
        console: Console { api },
        concurrency: target.max_concurrent_requests.max(1),
    }))
}

pub struct BackupDr {
    console: Console,
    concurrency: usize,
}

impl BackupDr {
    async fn appliances(
        &self,
        skips: &Skips,
    ) -> (Appliances, Result<Vec<wire::ClusterRest>, VendorError>) {
        let clusters = read::appliances(&self.console, skips).await;
        let names = match &clusters {
            Ok(c) => Appliances::new(c),
            Err(_) => Appliances::default(),
        };
        (names, clusters)
    }
}

#[async_trait]
impl Adapter for BackupDr {
    async fn collect(&self, window: Window) -> Collection {
        let c = &self.console;
        let skips = Skips::default();
        // Appliance names first: tenants of everything else. If they cannot be read, the
        // names embedded in each object still serve.
        let (names, clusters) = self.appliances(&skips).await;
        let (inventory, jobs, audit, pools, events) = tokio::join!(
            read::inventory(c, &names, true, self.concurrency, &skips),
            read::jobs_window(c, window.since),
            read::audit(c, window.since, None, &skips),
            read::pools(c, &skips),
            read::events(c, window.since, &skips),
        );

        let tenants: HashMap<String, String> = inventory
            .as_ref()
            .map(|objs| {
                objs.iter()
                    .map(|o| (o.id.clone(), o.tenant.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let app_ids: HashMap<(String, String), String> = inventory
            .as_ref()
            .map(|objs| {
                objs.iter()
                    .map(|o| ((o.tenant.clone(), o.name.clone()), o.id.clone()))
                    .collect()
            })
            .unwrap_or_default();

        let warnings = match (&clusters, &pools, &jobs, &events) {
            (Ok(cl), Ok(p), Ok(j), Ok(ev)) => {
                let mut w: Vec<Warning> = warnings::appliance_warnings(cl);
                if let Some(p) = p {
                    w.extend(warnings::pool_warnings(p, &names));
                }
                w.extend(warnings::failure_streak_warnings(j, &tenants));
                if let Some(ev) = ev {
                    w.extend(warnings::event_warnings(ev, &names, &app_ids));
                }
                Ok(w)
            }
            (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => Err(e.clone()),
        };
        let storage = match &pools {
            Ok(p) => Ok(read::storage(p.as_deref().unwrap_or_default(), &names)),
            Err(e) => Err(e.clone()),
        };
        Collection {
            inventory,
            jobs: jobs.map(|j| read::jobs_to_model(&j)),
            warnings,
            audit,
            storage,
            skipped: skips.take(),
        }
    }

    async fn probe(&self) -> Result<String, VendorError> {
        let c = &self.console;
        let version: wire::VersionRest = c.get("config/version").await?;
        let appliances = c.count("cluster", &[]).await?;
        let applications = c.count("application", &[]).await?;
        Ok(format!(
            "API base {}: Backup and DR console {} {}: {appliances} appliances, {applications} applications",
            c.api.base_url(),
            version.product.as_deref().unwrap_or("?"),
            version.summary.as_deref().unwrap_or("?"),
        ))
    }

    async fn history(&self, period: Period) -> Result<History, VendorError> {
        let c = &self.console;
        let skips = Skips::default();
        let (names, _) = self.appliances(&skips).await;
        let mut objects = read::inventory(c, &names, false, self.concurrency, &skips).await?;
        let ids: Vec<String> = objects.iter().map(|o| o.id.clone()).collect();
        let (jobs, audit, oldest) = tokio::join!(
            read::jobs_period(c, period.from, period.to, &ids, self.concurrency),
            read::audit(c, period.from, Some(period.to), &skips),
            read::oldest_job(c),
        );
        // The console prunes old jobs: before its oldest one, history is gone.
        if let Some(oldest) = oldest? {
            for o in &mut objects {
                o.history_start = Some(oldest);
            }
        }
        Ok(History {
            objects,
            jobs: jobs?,
            audit: audit?,
            skipped: skips.take(),
        })
    }

    async fn close(&self) {
        self.console.api.logout().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_console_url_form_resolves_to_one_api_base() {
        let host = "https://bmc-123-abc-dot-europe-west1.backupdr.googleusercontent.com";
        for given in [
            host.to_owned(),
            format!("{host}/"),
            format!("{host}/actifio"),
            format!("{host}/actifio/"),
            format!("{host}//actifio//"),
            format!("{host}/Actifio"),
            format!("{host}/actifio/session"),
            format!("{host}/#/dashboard"),
            format!("{host}/?authuser=0"),
        ] {
            let u = Url::parse(&given).unwrap();
            let want = if given.contains("Actifio") {
                format!("{host}/Actifio")
            } else {
                format!("{host}/actifio")
            };
            assert_eq!(api_base(&u).as_str(), want, "{given}");
        }
        // A prefix in front of the console (a reverse proxy, or the simulator's mount).
        for given in [
            "http://127.0.0.1:9/backupdr",
            "http://127.0.0.1:9/backupdr/",
            "http://127.0.0.1:9/backupdr/actifio",
            "http://127.0.0.1:9/backupdr/actifio/",
        ] {
            let u = Url::parse(given).unwrap();
            assert_eq!(
                api_base(&u).as_str(),
                "http://127.0.0.1:9/backupdr/actifio",
                "{given}"
            );
        }
    }
}
