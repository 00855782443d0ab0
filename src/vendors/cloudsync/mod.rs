//! NetApp Cloud Sync (BlueXP copy and sync).
//!
//! Objects are sync relationships, one tenant per Cloud Central account the user sees (or
//! the one `account_id` names). Cloud Sync remembers only each relationship's latest run
//! (`activity`), so every refresh sees at most one job per relationship; full history is
//! what the exporter's own counters and Prometheus keep (`report --source prometheus`).
//! Data brokers that are not healthy are warnings; the account's relationship statistics
//! give stored bytes; audit events come from the BlueXP audit service when `audit_url` is
//! set.

mod client;
mod collect;
mod events;
#[doc(hidden)]
pub mod fuzz;
mod mapping;
mod paths;
#[cfg(test)]
mod proptests;
mod settings;
pub use settings::Settings;
#[cfg(feature = "sim")]
pub mod sim;
mod wire;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use url::Url;

use self::client::{Api, Auth0};
use self::collect::{audit_events, audit_off, gather, objects};
use crate::adapter::{
    Adapter, AdapterContext, Collection, History, Period, Skips, VendorError, Window,
};
use crate::adapter::{TargetSettings, with_deadline_from};
use crate::api::ApiClient;
use crate::clock::Clock;
use crate::model::{CollectorKind, Job, Storage, Warning};

/// The public Cloud Sync API, used when a target has no `url`.
pub const DEFAULT_URL: &str = "https://api.cloudsync.netapp.com";

/// The host (and any path before the API) under which the documented `/api/...` paths
/// live: `https://api.cloudsync.netapp.com`, with or without a trailing slash and with or
/// without `/api`, all give the same root.
fn api_root(url: &Url) -> Url {
    let mut u = url.clone();
    let path = u.path().trim_end_matches('/');
    let path = path.strip_suffix("/api").unwrap_or(path).to_owned();
    u.set_path(&format!("{path}/"));
    u
}

/// The Auth0 token endpoint: the documented full URL
/// (`https://netapp-cloud-account.auth0.com/oauth/token`) as given, or the tenant's bare
/// host (any path not ending in `/oauth/token`) with `/oauth/token` added; a trailing slash
/// is dropped.
fn token_url(url: &Url) -> Url {
    let mut u = url.clone();
    let path = u.path().trim_end_matches('/').to_owned();
    if path.ends_with("/oauth/token") {
        u.set_path(&path);
    } else {
        u.set_path(&format!("{path}/oauth/token"));
    }
    u
}

fn build(
    own: &Settings,
    target: &TargetSettings,
    ctx: &AdapterContext,
) -> Result<Arc<dyn Adapter>, String> {
    let token_url = token_url(&own.auth_url);
    let auth = Auth0 {
        auth_url: token_url.clone(),
        client_id: own.client_id.clone(),
        grant: own.grant.clone(),
    };
    let base = match &own.url {
        Some(u) => api_root(u),
        None => Url::parse(DEFAULT_URL).map_err(|e| e.to_string())?,
    };
    let settings = target.client_settings(base);
    let http = ApiClient::new(
        settings,
        Some(Arc::new(auth)),
        ctx.metrics.clone(),
        client::decode_error,
    )
    .map_err(|e| e.to_string())?;
    Ok(Arc::new(CloudSync {
        api: Api {
            http,
            audit_url: own.audit_url.clone(),
            token_url,
        },
        account_id: own.account_id.clone(),
        clock: ctx.clock.clone(),
        collector_concurrency: target.collector_concurrency(),
        collector_timeout: target.collector_timeout(),
    }))
}

struct CloudSync {
    api: Api,
    account_id: Option<String>,
    clock: Clock,
    /// Accounts each listing reads at a time (the listings read side by side).
    collector_concurrency: usize,
    /// Each collector's own deadline within a refresh.
    collector_timeout: Duration,
}

#[async_trait]
impl Adapter for CloudSync {
    async fn collect(&self, window: Window) -> Collection {
        let started = tokio::time::Instant::now();
        let tenants = match self.tenants().await {
            Ok(t) => t,
            Err(e) => return Collection::failed(|| e.clone()),
        };
        let (api, t, d) = (&self.api, tenants.as_slice(), self.collector_timeout);
        // Each listing is read for every account with its collector's own deadline (counted
        // from the start of the refresh, so the accounts listing counts): a slow listing
        // fails its own collector, the others keep their fresh data. The jobs are the
        // relationships' latest runs: they share the inventory's listing and deadline.
        let (relationships, brokers, stats, audit) = tokio::join!(
            with_deadline_from(CollectorKind::Inventory, started, d, async {
                Ok(self.per_account(t, |id| api.relationships(id)).await)
            }),
            with_deadline_from(CollectorKind::Warnings, started, d, async {
                Ok(self.per_account(t, |id| api.data_brokers(id)).await)
            }),
            with_deadline_from(CollectorKind::Storage, started, d, async {
                Ok(self.per_account(t, |id| api.relationships_stats(id)).await)
            }),
            async {
                if api.audit_url.is_none() {
                    return Err(audit_off());
                }
                with_deadline_from(CollectorKind::Audit, started, d, async {
                    Ok(self
                        .per_account(t, |id| api.audit(id, window.since, window.now))
                        .await)
                })
                .await
            },
        );
        let skips = Skips::default();
        let jobs = relationships.as_ref().map_err(Clone::clone).and_then(|r| {
            gather(r, None, |_, rels, out: &mut Vec<Job>| {
                out.extend(rels.iter().filter_map(mapping::job).filter(|j| {
                    !j.result.is_finished() || j.time().is_some_and(|t| t >= window.since)
                }))
            })
        });
        let warnings = brokers.and_then(|b| {
            gather(
                &b,
                Some((&skips, CollectorKind::Warnings, "data_brokers")),
                |t, brokers, out: &mut Vec<Warning>| {
                    for b in brokers {
                        out.extend(events::broker_warnings(b, &t.name, self.clock.now()));
                    }
                },
            )
        });
        let storage = stats
            .and_then(|s| {
                gather(
                    &s,
                    Some((&skips, CollectorKind::Storage, "relationships_stats")),
                    |t, stats, out: &mut Vec<(String, u64)>| {
                        if let Some(total) = stats.total_bytes {
                            out.push((t.name.clone(), total));
                        }
                    },
                )
            })
            .map(|tenants| Storage {
                pools: Vec::new(),
                tenants,
                objects: Vec::new(),
            });
        let audit = audit.and_then(|a| audit_events(&a, &skips));
        Collection {
            inventory: relationships.and_then(|r| objects(&r)),
            jobs,
            warnings,
            audit,
            storage,
            skipped: skips.take(),
        }
    }

    async fn probe(&self) -> Result<String, VendorError> {
        let tenants = self.tenants().await?;
        let (api, t) = (&self.api, tenants.as_slice());
        let (relationships, brokers) = tokio::join!(
            self.per_account(t, |id| api.relationships(id)),
            self.per_account(t, |id| api.data_brokers(id)),
        );
        let names: Vec<&str> = tenants.iter().map(|t| t.name.as_str()).collect();
        let relationships = objects(&relationships)?.len();
        let skips = Skips::default();
        let brokers = gather(
            &brokers,
            Some((&skips, CollectorKind::Warnings, "data_brokers")),
            |_, b, out: &mut Vec<()>| out.extend(b.iter().map(|_| ())),
        )?
        .len();
        let brokers = if skips.take().is_empty() {
            format!("{brokers} data brokers")
        } else {
            format!("{brokers} data brokers (the listing was refused for some account)")
        };
        let audit = match &self.api.audit_url {
            Some(u) => format!("audit base {}", client::audit_base(u)),
            None => "audit off (no audit_url)".to_owned(),
        };
        Ok(format!(
            "API base {}api, token URL {}: {} account(s) ({}), {relationships} relationships, {brokers}; {audit}",
            self.api.http.base_url(),
            self.api.token_url,
            names.len(),
            names.join(", ")
        ))
    }

    /// The inventory and the one activity per relationship that Cloud Sync still shows:
    /// a report from the vendor API alone cannot see earlier runs.
    /// Cloud Sync keeps each relationship's latest run only: there is nothing before the
    /// period to look back into, whatever the look-back.
    async fn history(&self, period: Period, _lookback: Duration) -> Result<History, VendorError> {
        let tenants = self.tenants().await?;
        let (api, t) = (&self.api, tenants.as_slice());
        let (relationships, audit) =
            tokio::join!(self.per_account(t, |id| api.relationships(id)), async {
                match api.audit_url {
                    Some(_) => {
                        self.per_account(t, |id| api.audit(id, period.from, period.to))
                            .await
                    }
                    None => Vec::new(),
                }
            },);
        let objects = objects(&relationships)?;
        let skips = Skips::default();
        let jobs = gather(&relationships, None, |_, rels, out: &mut Vec<Job>| {
            out.extend(
                rels.iter()
                    .filter_map(mapping::job)
                    .filter(|j| j.start.or(j.end).is_some_and(|t| t < period.to)),
            )
        })?;
        let audit = audit_events(&audit, &skips)?
            .into_iter()
            .filter(|e| e.time >= period.from && e.time < period.to)
            .collect();
        Ok(History {
            objects,
            jobs,
            audit,
            skipped: skips.take(),
        })
    }

    async fn close(&self) {
        // Auth0 tokens are stateless JWTs: nothing to end.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_root_with_or_without_api_and_slash() {
        let r = |s: &str| api_root(&Url::parse(s).unwrap()).to_string();
        for given in [
            "https://api.cloudsync.netapp.com",
            "https://api.cloudsync.netapp.com/",
            "https://api.cloudsync.netapp.com/api",
            "https://api.cloudsync.netapp.com/api/",
        ] {
            assert_eq!(r(given), "https://api.cloudsync.netapp.com/", "{given}");
        }
        assert_eq!(
            r("http://127.0.0.1:9/cloudsync/api"),
            "http://127.0.0.1:9/cloudsync/"
        );
    }

    #[test]
    fn token_url_from_the_full_url_or_the_tenant_host() {
        let t = |s: &str| token_url(&Url::parse(s).unwrap()).to_string();
        let full = "https://netapp-cloud-account.auth0.com/oauth/token";
        for given in [
            full,
            "https://netapp-cloud-account.auth0.com/oauth/token/",
            "https://netapp-cloud-account.auth0.com",
            "https://netapp-cloud-account.auth0.com/",
        ] {
            assert_eq!(t(given), full, "{given}");
        }
        assert_eq!(
            t("http://h/cloudsync/auth"),
            "http://h/cloudsync/auth/oauth/token"
        );
    }
}
