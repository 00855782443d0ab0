//! Google Cloud Backup and DR: the management console API (formerly Actifio AGM).
//!
//! Objects are applications (id, `appname`), tenants are the backup/recovery appliances
//! that hold them. Jobs come from `/jobstatus`, restore points from `/backup`, storage from
//! `/diskpool`, audit from `/localaudit`, and warnings from disk-pool thresholds, appliance
//! reachability, events and runs of failed backups.

mod client;
mod collect;
#[doc(hidden)]
pub mod fuzz;
pub mod google;
mod mapping;
#[cfg(test)]
mod proptests;
mod settings;
#[cfg(feature = "sim")]
pub mod sim;
mod warnings;
mod wire;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use url::Url;

use self::client::{Console, SessionAuth};
use self::collect::Appliances;
use crate::adapter::{
    Adapter, AdapterContext, Collection, History, Period, Skips, VendorError, Window,
};
use crate::adapter::{TargetSettings, with_deadline};
use crate::api::ApiClient;
use crate::model::CollectorKind;
use crate::model::Warning;

pub use self::settings::Settings;
pub use self::warnings::{
    CATEGORY_APPLIANCE, CATEGORY_EVENT, CATEGORY_JOB_FAILURES, CATEGORY_STORAGE, FAILURE_STREAK,
};

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

fn build(
    own: &Settings,
    target: &TargetSettings,
    ctx: &AdapterContext,
) -> Result<Arc<dyn Adapter>, String> {
    let settings = target.client_settings(api_base(&own.url));
    let auth = Arc::new(SessionAuth {
        google: own.google.clone(),
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
        collector_timeout: target.collector_timeout(),
    }))
}

pub struct BackupDr {
    console: Console,
    concurrency: usize,
    /// Each collector's own deadline within a refresh.
    collector_timeout: std::time::Duration,
}

impl BackupDr {
    async fn appliances(
        &self,
        skips: &Skips,
    ) -> (Appliances, Result<Vec<wire::ClusterRest>, VendorError>) {
        let clusters = collect::appliances(&self.console, skips).await;
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
        // Each collector's reads have their own deadline (issue 13 point 3).
        let d = self.collector_timeout;
        let (inventory, jobs, audit, pools, events) = tokio::join!(
            with_deadline(
                CollectorKind::Inventory,
                d,
                collect::inventory(c, &names, true, self.concurrency, &skips)
            ),
            with_deadline(
                CollectorKind::Jobs,
                d,
                collect::jobs_window(c, window.since)
            ),
            with_deadline(
                CollectorKind::Audit,
                d,
                collect::audit(c, window.since, None, &skips)
            ),
            with_deadline(CollectorKind::Storage, d, collect::pools(c, &skips)),
            with_deadline(
                CollectorKind::Warnings,
                d,
                collect::events(c, window.since, &skips)
            ),
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
            Ok(p) => Ok(collect::storage(p.as_deref().unwrap_or_default(), &names)),
            Err(e) => Err(e.clone()),
        };
        Collection {
            inventory,
            jobs: jobs.map(|j| collect::jobs_to_model(&j)),
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

    async fn history(&self, period: Period, lookback: Duration) -> Result<History, VendorError> {
        let c = &self.console;
        let skips = Skips::default();
        let (names, _) = self.appliances(&skips).await;
        let mut objects = collect::inventory(c, &names, false, self.concurrency, &skips).await?;
        let ids: Vec<String> = objects.iter().map(|o| o.id.clone()).collect();
        let (jobs, audit, oldest) = tokio::join!(
            collect::jobs_period(c, period.from, period.to, lookback, &ids, self.concurrency),
            collect::audit(c, period.from, Some(period.to), &skips),
            collect::oldest_job(c),
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
