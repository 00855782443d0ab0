//! Clumio (Commvault Cloud for AWS): protected AWS assets, their backup tasks, restore
//! points, alerts and audit trail, read with an API token over Clumio's HAL REST API.
//!
//! What is read, per refresh:
//! - `/organizational-units` for tenant names (the tenant of an asset is its OU's name);
//! - `/policies/definitions` for policy names, activation and RPO (SLA `rpo_frequency`);
//! - EBS volumes, EC2 instances, protection groups and RDS resources under `/datasources`;
//! - per asset, the first page of its backups list (`limit=1`, newest first): the count of
//!   restore points (`total_count`) and the newest one with its size;
//! - `/tasks` created since the window (and all still running), `/alerts/individual` that are
//!   active, `/audit-trails` since the window.
//!
//! Requests carry the per-resource `Accept` version, the OU context header when the target
//! has `organizational_unit`, and pass through a client-side rate limit well under Clumio's
//! 100 requests per second.

mod client;
mod collect;
#[doc(hidden)]
pub mod fuzz;
mod inventory;
mod mapping;
#[cfg(test)]
mod proptests;
mod ratelimit;
mod settings;
#[cfg(feature = "sim")]
pub mod sim;
mod wire;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::json;

use self::client::{ClumioClient, TokenAuth};
use self::collect::{Scope, sort_jobs, ts};
use self::mapping::AssetKind;
use crate::adapter::{
    Adapter, AdapterContext, Collection, History, Period, Skips, VendorError, Window,
};
use crate::adapter::{TargetSettings, with_deadline};
use crate::api::ApiClient;
use crate::clock::{Clock, before};
use crate::model::{CollectorKind, Job, Storage};

/// Part names of the optional listings not tied to an asset kind.
pub const ALERTS_PART: &str = "alerts";
pub const AUDIT_TRAILS_PART: &str = "audit_trails";

/// The first path segments of Clumio's resources: a pasted URL that goes on into one of them
/// (`…/datasources/aws/ec2-instances?limit=1`) is cut there.
const RESOURCE_ROOTS: &[&str] = &[
    "organizational-units",
    "policies",
    "datasources",
    "backups",
    "tasks",
    "audit-trails",
    "alerts",
    "users",
    "reports",
    "restores",
    "connections",
    "api-tokens",
    "settings",
    "notification-settings",
    "wallets",
    "hooks",
    "roles",
];

/// The API base: the portal (`https://us-west-2.api.clumio.com`, with or without a trailing
/// slash; Clumio has no API prefix). A path in front of a resource is kept, as a prefix a
/// reverse proxy puts in front of the portal; a path that goes on into a resource (a pasted
/// request URL) is cut before it, and query and fragment are dropped.
pub fn api_base(url: &url::Url) -> url::Url {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let kept: Vec<&str> = url
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .take_while(|s| !RESOURCE_ROOTS.contains(&s.to_ascii_lowercase().as_str()))
        .collect();
    u.set_path(&format!("/{}", kept.join("/")));
    u
}

pub use self::ratelimit::{BURST, REQUESTS_PER_SECOND, RateLimiter};
pub use self::settings::Settings;

/// The OU a request without the context header runs in.
pub const GLOBAL_OU: &str = "00000000-0000-0000-0000-000000000000";

/// Clumio serves task history for six months only.
const TASK_HISTORY: Duration = Duration::from_secs(180 * 86_400);
/// A task created this long before the window may still end inside it.
const TASK_OVERLAP: Duration = Duration::from_secs(86_400);

fn build(
    own: &Settings,
    target: &TargetSettings,
    ctx: &AdapterContext,
) -> Result<Arc<dyn Adapter>, String> {
    let url = api_base(&own.url);
    let limiter = ratelimit::for_portal(&url);
    let mut settings = target.client_settings(url);
    settings.request_timeout = target.timeout.min(Duration::from_secs(60));
    if let Some(ou) = &own.organizational_unit {
        let value = HeaderValue::from_str(ou)
            .map_err(|_| format!("`organizational_unit`: {ou:?} is not a valid header value"))?;
        settings
            .default_headers
            .insert(HeaderName::from_static(client::OU_CONTEXT), value);
    }
    let auth = Arc::new(TokenAuth {
        token: own.token.clone(),
        limiter: limiter.clone(),
    });
    let api = ApiClient::new(
        settings,
        Some(auth),
        ctx.metrics.clone(),
        client::decode_error,
    )
    .map_err(|e| e.to_string())?;
    Ok(Arc::new(ClumioAdapter {
        client: ClumioClient { api, limiter },
        clock: ctx.clock.clone(),
        context_ou: own.organizational_unit.clone(),
        concurrency: target.max_concurrent_requests.max(1),
        collector_timeout: target.collector_timeout(),
    }))
}

struct ClumioAdapter {
    client: ClumioClient,
    clock: Clock,
    context_ou: Option<String>,
    concurrency: usize,
    /// Each collector's own deadline within a refresh.
    collector_timeout: Duration,
}

#[async_trait]
impl Adapter for ClumioAdapter {
    async fn collect(&self, w: Window) -> Collection {
        // Log in before the concurrent reads, so that a refused token costs one refused login
        // per refresh rather than one per read.
        if let Err(e) = self.client.api.credential().await {
            let e = e.to_string();
            return Collection::failed(|| VendorError::Invalid(e.clone()));
        }
        let skips = Skips::default();
        // Each collector's reads have their own deadline: a slow listing fails its own
        // collector, the others keep their fresh data.
        let d = self.collector_timeout;
        // The organizational units are read first within the inventory's deadline; warnings
        // and audit need them too, so they are kept even when a later listing is slow.
        let scope_cell: std::sync::OnceLock<Scope> = std::sync::OnceLock::new();
        let inventory_reads = with_deadline(CollectorKind::Inventory, d, async {
            let scope = self.scope().await?;
            let scope = scope_cell.get_or_init(|| scope);
            self.inventory(w.now, scope, &skips).await
        });
        let (inventory, jobs, alerts, audit) = tokio::join!(
            inventory_reads,
            with_deadline(CollectorKind::Jobs, d, self.jobs(w)),
            with_deadline(CollectorKind::Warnings, d, self.alerts()),
            with_deadline(CollectorKind::Audit, d, self.audit_trails(w.since, None))
        );
        let alerts = skips.or_empty(CollectorKind::Warnings, ALERTS_PART, alerts);
        let audit = skips.or_empty(CollectorKind::Audit, AUDIT_TRAILS_PART, audit);
        let Some(scope) = scope_cell.get() else {
            let e = inventory.err().unwrap_or_else(|| {
                VendorError::Invalid("the organizational units were not read".into())
            });
            return Collection {
                inventory: Err(e.clone()),
                jobs,
                warnings: Err(e.clone()),
                audit: Err(e.clone()),
                storage: Err(e),
                skipped: skips.take(),
            };
        };
        let tenant_by_asset: HashMap<&str, &str> = inventory
            .as_ref()
            .map(|objs| {
                objs.iter()
                    .map(|o| (o.id.as_str(), o.tenant.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        let tenant_of = |id: &str| tenant_by_asset.get(id).map(|t| (*t).to_owned());
        let warnings = alerts.map(|list| {
            list.iter()
                .filter(|a| a.status.as_deref().is_none_or(|s| s == "active"))
                .map(|a| mapping::warning_from_alert(a, tenant_of, &scope.tenant))
                .collect()
        });
        let audit = audit.map(|list| {
            let mut events: Vec<_> = list
                .iter()
                .filter_map(|t| {
                    let about = t.primary_entity.as_ref().and_then(|e| e.id.as_deref());
                    let tenant = about
                        .and_then(tenant_of)
                        .unwrap_or_else(|| scope.tenant.clone());
                    mapping::audit_event(t, &tenant)
                })
                .collect();
            events.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
            events
        });
        let storage = match &inventory {
            Ok(objects) => {
                let mut tenants: HashMap<String, u64> = HashMap::new();
                for o in objects {
                    let sum = tenants.entry(o.tenant.clone()).or_default();
                    *sum = sum.saturating_add(o.stored_bytes.unwrap_or(0));
                }
                let mut tenants: Vec<(String, u64)> = tenants.into_iter().collect();
                tenants.sort();
                Ok(Storage {
                    pools: Vec::new(),
                    tenants,
                    objects: Vec::new(),
                })
            }
            Err(e) => Err(e.clone()),
        };
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
        let scope = self.scope().await?;
        let skips = Skips::default();
        let mut parts = Vec::new();
        let mut total = 0;
        for kind in AssetKind::ALL {
            let page = self
                .client
                .first_page::<wire::Datasource>(kind.datasources(), &[("limit", "1".to_owned())])
                .await
                .map_err(VendorError::from);
            match skips.optional(CollectorKind::Inventory, kind.parts().0, page)? {
                Some(page) => {
                    let n = page.total_count.unwrap_or(0);
                    total += n;
                    parts.push(format!("{n} {}", kind.object_type()));
                }
                None => parts.push(format!("{} refused", kind.parts().0)),
            }
        }
        let filter = json!({ "status": { "$in": ["active"] } }).to_string();
        let alerts = self
            .client
            .first_page::<wire::Alert>(
                &client::ALERTS,
                &[("limit", "1".to_owned()), ("filter", filter)],
            )
            .await
            .map_err(VendorError::from);
        let alerts = match skips.optional(CollectorKind::Warnings, ALERTS_PART, alerts)? {
            Some(page) => format!("{} active alerts", page.total_count.unwrap_or(0)),
            None => "alerts refused".to_owned(),
        };
        Ok(format!(
            "API base {}: organizational unit {:?} ({} units visible): {total} assets ({}), {alerts}",
            self.client.api.base_url(),
            scope.tenant,
            scope.ou_names.len(),
            parts.join(", "),
        ))
    }

    async fn history(&self, period: Period, lookback: Duration) -> Result<History, VendorError> {
        let now = self.clock.now();
        let scope = self.scope().await?;
        let skips = Skips::default();
        let objects = self.inventory(now, &scope, &skips).await?;
        // The look-back, capped by the six months of tasks Clumio keeps.
        let floor = before(period.from, lookback).max(before(now, TASK_HISTORY));
        let tasks = self
            .tasks(json!({ "created_timestamp": { "$gte": ts(floor), "$lte": ts(period.to) } }))
            .await?;
        // Page numbers over a newest-first list shift when tasks are added while we read,
        // so a task may come twice.
        let by_id: HashMap<String, Job> = tasks
            .iter()
            .filter_map(mapping::job_from_task)
            .filter(|j| j.result.is_finished() && j.time().is_some_and(|t| t < period.to))
            .map(|j| (j.id.clone(), j))
            .collect();
        let mut jobs: Vec<Job> = by_id.into_values().collect();
        sort_jobs(&mut jobs);
        let tenant_by_asset: HashMap<&str, &str> = objects
            .iter()
            .map(|o| (o.id.as_str(), o.tenant.as_str()))
            .collect();
        let trails = self.audit_trails(period.from, Some(period.to)).await;
        let trails = skips.or_empty(CollectorKind::Audit, AUDIT_TRAILS_PART, trails)?;
        let mut audit: Vec<_> = trails
            .iter()
            .filter_map(|t| {
                let about = t.primary_entity.as_ref().and_then(|e| e.id.as_deref());
                let tenant = about
                    .and_then(|id| tenant_by_asset.get(id).map(|t| (*t).to_owned()))
                    .unwrap_or_else(|| scope.tenant.clone());
                mapping::audit_event(t, &tenant)
            })
            .collect();
        audit.sort_by(|a, b| a.time.cmp(&b.time).then_with(|| a.id.cmp(&b.id)));
        Ok(History {
            objects,
            jobs,
            audit,
            skipped: skips.take(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portal_urls_resolve_to_one_api_base() {
        let portal = "https://us-west-2.api.clumio.com";
        for given in [
            portal.to_owned(),
            format!("{portal}/"),
            format!("{portal}//"),
            format!("{portal}/tasks"),
            format!("{portal}/datasources/aws/ec2-instances?limit=1"),
            format!("{portal}/Audit-Trails/"),
            format!("{portal}/?x=1#top"),
        ] {
            let u = url::Url::parse(&given).unwrap();
            assert_eq!(api_base(&u).as_str(), format!("{portal}/"), "{given}");
        }
        // A prefix in front of the portal (a reverse proxy, the simulator's mount) is kept.
        for given in [
            "http://127.0.0.1:9/clumio",
            "http://127.0.0.1:9/clumio/",
            "http://127.0.0.1:9/clumio/organizational-units",
        ] {
            let u = url::Url::parse(given).unwrap();
            assert_eq!(
                api_base(&u).as_str(),
                "http://127.0.0.1:9/clumio",
                "{given}"
            );
        }
    }
}
