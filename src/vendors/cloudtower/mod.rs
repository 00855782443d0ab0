//! SmartX CloudTower: VMs protected by snapshot plans and (4.6 and later) backup plans.
//!
//! Every call is a `POST /v2/api/<operation>` with a JSON body; lists come back as bare
//! arrays paged with `first`/`after`. The token of `POST /v2/api/login` (or an API key) goes
//! raw into `Authorization`. A passive node of an active/passive pair answers 307 to the
//! active one, which the shared client follows with the body. Towers older than 4.6 answer
//! 404 for the backup endpoints: then only snapshots and tasks are read.

mod client;
mod collect;
#[doc(hidden)]
pub mod fuzz;
mod inventory;
mod jobs;
mod mapping;
#[cfg(test)]
mod proptests;
mod settings;
#[cfg(feature = "sim")]
pub mod sim;
mod wire;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::json;

use self::client::{BackupSupport, Query, Tower};
use self::inventory::{Scope, and};
use self::jobs::JobRange;
use tokio::sync::OnceCell;

use crate::adapter::{
    Adapter, AdapterContext, Collection, History, Period, Skips, VendorError, Window,
};
use crate::adapter::{TargetSettings, with_deadline};
use crate::api::{ApiClient, ApiError};
use crate::model::CollectorKind;

pub use mapping::CATEGORIES;

pub use settings::{Settings, USER_SOURCES};

/// The tower's root from the `url` a person gave: the bare host (or a reverse proxy's
/// sub-path), with or without CloudTower's API path `/v2/api`, with or without a trailing
/// slash. The query and fragment of a pasted console address (`https://tower/#/vms`) are
/// dropped. Requests then go to `<root>/v2/api/<operation>`.
pub fn tower_root(url: &url::Url) -> url::Url {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let mut path = u.path().trim_end_matches('/').to_owned();
    if path.to_ascii_lowercase().ends_with(client::API) {
        path.truncate(path.len() - client::API.len());
    }
    let path = path.trim_end_matches('/').to_owned();
    u.set_path(if path.is_empty() { "/" } else { &path });
    u
}

/// The API base a `url` resolves to: `<root>/v2/api`.
pub fn api_base(url: &url::Url) -> String {
    format!(
        "{}{}",
        tower_root(url).as_str().trim_end_matches('/'),
        client::API
    )
}

/// Knobs that are not config keys.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// `first` of each list call.
    pub page_size: u32,
}

impl Default for Options {
    fn default() -> Self {
        Options { page_size: 500 }
    }
}

/// The adapter of `target` with explicit [`Options`] (tests use small pages).
pub fn build_with(
    own: &Settings,
    target: &TargetSettings,
    ctx: &AdapterContext,
    options: Options,
) -> Result<Arc<CloudTower>, String> {
    let url = tower_root(&own.url);
    let api = api_base(&url);
    let mut settings = target.client_settings(url);
    // Messages (audit actions, alert texts) in English, whatever the tower's default.
    settings.default_headers.insert(
        HeaderName::from_static("content-language"),
        HeaderValue::from_static("en-US"),
    );
    let client = ApiClient::new(
        settings,
        Some(Arc::new(own.auth.clone())),
        ctx.metrics.clone(),
        client::decode_error,
    )
    .map_err(|e| e.to_string())?;
    Ok(Arc::new(CloudTower {
        name: target.name.clone(),
        api_base: api,
        tower: Tower {
            client,
            page_size: options.page_size.max(1),
        },
        scope: Scope {
            clusters: own.clusters.clone(),
        },
        backup: BackupSupport::default(),
        collector_timeout: target.collector_timeout(),
    }))
}

pub struct CloudTower {
    name: String,
    /// `<root>/v2/api`, as `check --online` prints it.
    api_base: String,
    tower: Tower,
    scope: Scope,
    backup: BackupSupport,
    /// Each collector's own deadline within a refresh.
    collector_timeout: Duration,
}

fn counted(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// How far before a report period jobs are read first, to find each VM's last success
/// before it; and how far when that is not enough.
const BEFORE_PERIOD: Duration = Duration::from_secs(7 * 86_400);

#[async_trait]
impl Adapter for CloudTower {
    async fn collect(&self, window: Window) -> Collection {
        let tower = &self.tower;
        let skips = Skips::default();
        // The VMs (and what they hang on) are read once, by whichever of inventory and jobs
        // asks first; the jobs are read against them. Each collector has its own deadline:
        // a slow listing fails its own collector, the others keep their fresh data.
        let base = OnceCell::new();
        let base = || {
            base.get_or_init(|| {
                inventory::fetch_base(tower, &self.scope, &self.backup, &self.name, &skips)
            })
        };
        let d = self.collector_timeout;
        let until = window.now + jiff::SignedDuration::from_secs(1);
        let range = JobRange {
            since: window.since,
            until: None,
        };
        let (inventory, jobs, warnings, audit, storage) = tokio::join!(
            with_deadline(CollectorKind::Inventory, d, async {
                Ok(inventory::inventory(
                    base().await.as_ref().map_err(Clone::clone)?,
                ))
            }),
            with_deadline(CollectorKind::Jobs, d, async {
                let base = base().await.as_ref().map_err(Clone::clone)?;
                jobs::fetch_jobs(tower, &self.scope, base, &skips, range).await
            }),
            with_deadline(
                CollectorKind::Warnings,
                d,
                collect::warnings(tower, &self.scope, &skips)
            ),
            with_deadline(
                CollectorKind::Audit,
                d,
                collect::audit(tower, &self.scope, &skips, window.since, until)
            ),
            with_deadline(
                CollectorKind::Storage,
                d,
                collect::storage(tower, &self.scope, &self.backup, &skips)
            ),
        );
        Collection {
            inventory,
            jobs,
            warnings,
            audit,
            storage,
            skipped: skips.take(),
        }
    }

    async fn probe(&self) -> Result<String, VendorError> {
        let tower = &self.tower;
        let version = tower.version().await.ok();
        tower.client.credential().await?;
        let vm_query = Query::filter(and([
            self.scope.cluster_filter(),
            Some(json!({ "in_recycle_bin": false })),
        ]));
        let cluster_query = Query::filter(match &self.scope.clusters {
            Some(names) => json!({ "name_in": names }),
            None => json!({}),
        });
        let scoped = Query::filter(and([self.scope.cluster_filter()]));
        let all = Query::all();
        // Tower-wide alerts (without a cluster) count for a limited target too.
        let active = Query::filter(match &self.scope.clusters {
            Some(names) => json!({
                "ended": false,
                "OR": [{ "cluster": { "name_in": names } }, { "cluster": null }],
            }),
            None => json!({ "ended": false }),
        });
        let (vms, clusters, snapshot_plans, backup_plans, alerts) = tokio::join!(
            tower.count("vms", &vm_query),
            tower.count("clusters", &cluster_query),
            tower.count("snapshot-plans", &scoped),
            tower.count("backup-plans", &all),
            tower.count("alerts", &active),
        );
        // As in a refresh: the VMs and clusters must be readable; a refused listing of
        // the others is a part this account does not have.
        let part = |what: &str, r: Result<u64, ApiError>, one: &str, many: &str| match r
            .map_err(VendorError::from)
        {
            Ok(n) => Ok(counted(n, one, many)),
            Err(e) if Skips::is_refusal(&e) => Ok(format!("{what}: refused ({e})")),
            Err(e) => Err(e),
        };
        let backup = match self.backup.observe(&self.name, backup_plans) {
            Ok(Some(n)) => counted(n, "backup plan", "backup plans"),
            Ok(None) => "backup plans: unsupported (tower older than 4.6)".to_owned(),
            Err(e) => part("backup plans", Err(e), "", "")?,
        };
        Ok(format!(
            "CloudTower {} at {}: {} in {}, {}, {backup}, {}",
            version.as_deref().unwrap_or("(version unknown)"),
            self.api_base,
            counted(vms?, "VM", "VMs"),
            counted(clusters?, "cluster", "clusters"),
            part(
                "snapshot plans",
                snapshot_plans,
                "snapshot plan",
                "snapshot plans"
            )?,
            part("active alerts", alerts, "active alert", "active alerts")?,
        ))
    }

    async fn history(&self, period: Period, lookback: Duration) -> Result<History, VendorError> {
        let tower = &self.tower;
        let skips = Skips::default();
        let base =
            inventory::fetch_base(tower, &self.scope, &self.backup, &self.name, &skips).await?;
        let mut objects = inventory::inventory(&base);
        if let Some(begins) = jobs::history_begins(tower, &self.scope, &base, &skips).await? {
            for o in &mut objects {
                if o.created.is_none_or(|c| c < begins) {
                    o.history_start = Some(begins);
                }
            }
        }
        let near = crate::clock::before(period.from, BEFORE_PERIOD.min(lookback));
        let range = JobRange {
            since: near,
            until: Some(period.to),
        };
        let (jobs, audit) = tokio::join!(
            jobs::fetch_jobs(tower, &self.scope, &base, &skips, range),
            collect::audit(tower, &self.scope, &skips, period.from, period.to),
        );
        let mut jobs = jobs?;
        let succeeded: HashSet<&str> = jobs
            .iter()
            .filter(|j| j.kind.is_protection() && j.result.is_success(false))
            .filter(|j| j.time().is_some_and(|t| t < period.from))
            .map(|j| j.object_id.as_str())
            .collect();
        let lacking = objects.iter().any(|o| {
            o.protected && o.created.is_none_or(|c| c < near) && !succeeded.contains(o.id.as_str())
        });
        if lacking {
            let far = JobRange {
                since: crate::clock::before(period.from, lookback),
                until: Some(near),
            };
            let more = jobs::fetch_jobs(tower, &self.scope, &base, &skips, far).await?;
            let known: HashSet<String> = jobs.iter().map(|j| j.id.clone()).collect();
            jobs.extend(more.into_iter().filter(|j| !known.contains(&j.id)));
            jobs.sort_by(|a, b| (a.time(), &a.id).cmp(&(b.time(), &b.id)));
        }
        Ok(History {
            objects,
            jobs,
            audit: audit?,
            skipped: skips.take(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_url_form_resolves_to_one_api_base() {
        let base = |s: &str| api_base(&url::Url::parse(s).unwrap());
        for s in [
            "https://tower.example.com",
            "https://tower.example.com/",
            "https://tower.example.com/v2/api",
            "https://tower.example.com/v2/api/",
            "https://tower.example.com/v2/api//",
            "https://tower.example.com/V2/Api",
            "https://tower.example.com/?lang=en#/vms",
        ] {
            assert_eq!(base(s), "https://tower.example.com/v2/api", "{s}");
        }
        for s in [
            "http://10.0.0.5:8080/tower",
            "http://10.0.0.5:8080/tower/",
            "http://10.0.0.5:8080/tower/v2/api",
        ] {
            assert_eq!(base(s), "http://10.0.0.5:8080/tower/v2/api", "{s}");
        }
        // Only a whole trailing `/v2/api` is the API path.
        assert_eq!(
            base("https://t.example.com/xv2/api"),
            "https://t.example.com/xv2/api/v2/api"
        );
    }
}
