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
mod mapping;
mod ratelimit;
pub mod sim;
mod wire;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::stream::{self, StreamExt};
use jiff::Timestamp;
use reqwest::header::{HeaderName, HeaderValue};
use serde_json::json;

use self::client::{ClumioClient, PAGE_LIMIT, TokenAuth};
use self::mapping::AssetKind;
use super::{Adapter, AdapterContext, Collection, History, Period, VendorError, Window};
use crate::api::{ApiClient, ClientSettings};
use crate::clock::{Clock, before};
use crate::config::{SecretSource, TargetSettings};
use crate::model::{Job, Object, Storage, Vendor};

pub use self::ratelimit::{BURST, REQUESTS_PER_SECOND, RateLimiter};

/// Vendor-specific target keys (contract §2).
pub const KEYS: &[&str] = &["token", "organizational_unit"];

/// The OU a request without the context header runs in.
pub const GLOBAL_OU: &str = "00000000-0000-0000-0000-000000000000";

/// Clumio serves task history for six months only.
const TASK_HISTORY: Duration = Duration::from_secs(180 * 86_400);
/// A task created this long before the window may still end inside it.
const TASK_OVERLAP: Duration = Duration::from_secs(86_400);
/// How far before a report period tasks are read, to know each asset's last success.
const REPORT_LEAD: Duration = Duration::from_secs(31 * 86_400);

pub fn validate(target: &TargetSettings) -> Vec<String> {
    let mut problems = Vec::new();
    match &target.url {
        None => problems.push(
            "`url` is required (the Clumio API portal, e.g. https://us-west-2.api.clumio.com)"
                .to_owned(),
        ),
        Some(u) if !matches!(u.scheme(), "http" | "https") => {
            problems.push(format!("`url`: {u} is not an http(s) URL"))
        }
        Some(_) => {}
    }
    match target.required_secret("token") {
        Err(e) => problems.push(e),
        Ok(SecretSource::Inline(t)) => {
            use secrecy::ExposeSecret;
            let t = t.expose_secret();
            if t.trim_start().to_ascii_lowercase().starts_with("bearer ") {
                problems.push("`token`: give the API token without the `Bearer ` prefix".into());
            } else if t.trim().is_empty() || t.trim().contains(char::is_whitespace) {
                problems.push("`token`: an API token is one word without spaces".into());
            }
        }
        Ok(_) => {}
    }
    if let Some(ou) = &target.raw.organizational_unit {
        let ok = !ou.is_empty() && ou.bytes().all(|b| b.is_ascii_graphic());
        if !ok {
            problems.push(format!(
                "`organizational_unit`: {ou:?} is not an organizational unit id (expected e.g. {GLOBAL_OU})"
            ));
        }
    }
    problems
}

pub fn build(target: &TargetSettings, ctx: &AdapterContext) -> Result<Arc<dyn Adapter>, String> {
    let url = target.url.clone().ok_or("`url` is required")?;
    let token = target.required_secret("token")?;
    let limiter = ratelimit::for_portal(&url);
    let mut settings = ClientSettings::new(Vendor::Clumio, &target.name, url);
    settings.request_timeout = target.timeout.min(Duration::from_secs(60));
    settings.max_concurrent_requests = target.max_concurrent_requests;
    settings.tls = target.tls.clone();
    settings.proxy_url = target.proxy_url.clone();
    if let Some(ou) = &target.raw.organizational_unit {
        let value = HeaderValue::from_str(ou)
            .map_err(|_| format!("`organizational_unit`: {ou:?} is not a valid header value"))?;
        settings
            .default_headers
            .insert(HeaderName::from_static(client::OU_CONTEXT), value);
    }
    let auth = Arc::new(TokenAuth {
        token,
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
        context_ou: target.raw.organizational_unit.clone(),
        concurrency: target.max_concurrent_requests.max(1),
    }))
}

struct ClumioAdapter {
    client: ClumioClient,
    clock: Clock,
    context_ou: Option<String>,
    concurrency: usize,
}

/// The organizational units the target sees, and the tenant of anything not tied to one
/// asset (alerts on accounts, audit events on users).
struct Scope {
    ou_names: HashMap<String, String>,
    tenant: String,
}

impl Scope {
    fn tenant_of_ou(&self, ou: Option<&str>) -> String {
        ou.and_then(|id| self.ou_names.get(id))
            .cloned()
            .unwrap_or_else(|| self.tenant.clone())
    }
}

/// A filter in Clumio's query syntax, timestamps in whole seconds.
fn ts(t: Timestamp) -> String {
    Timestamp::from_second(t.as_second())
        .unwrap_or(t)
        .to_string()
}

fn limit() -> (&'static str, String) {
    ("limit", PAGE_LIMIT.to_string())
}

/// A copy of an error for the collectors that failed because another read failed.
fn echo(e: &VendorError) -> VendorError {
    VendorError::Invalid(e.to_string())
}

impl ClumioAdapter {
    async fn scope(&self) -> Result<Scope, VendorError> {
        let ous: Vec<wire::OrganizationalUnit> =
            self.client.list_all(&client::OUS, &[limit()]).await?;
        let mut ou_names = HashMap::new();
        let mut root = None;
        for ou in &ous {
            let (Some(id), Some(name)) = (&ou.id, &ou.name) else {
                continue;
            };
            if ou.parent_id.as_deref().is_none_or(str::is_empty) {
                root = Some(name.clone());
            }
            ou_names.insert(id.clone(), name.clone());
        }
        let context = self.context_ou.as_deref().unwrap_or(GLOBAL_OU);
        let tenant = ou_names
            .get(context)
            .cloned()
            .or(root)
            .unwrap_or_else(|| context.to_owned());
        Ok(Scope { ou_names, tenant })
    }

    async fn policies(&self) -> Result<HashMap<String, wire::Policy>, VendorError> {
        // The policy list takes no `limit`; its `start` is a page token.
        let list: Vec<wire::Policy> = self.client.list_all(&client::POLICIES, &[]).await?;
        Ok(list
            .into_iter()
            .filter_map(|p| Some((p.id.clone()?, p)))
            .collect())
    }

    async fn datasources(&self) -> Result<Vec<(AssetKind, wire::Datasource)>, VendorError> {
        let lists = futures::future::join_all(AssetKind::ALL.into_iter().map(|kind| async move {
            let items: Vec<wire::Datasource> =
                self.client.list_all(kind.datasources(), &[limit()]).await?;
            Ok::<_, VendorError>(items.into_iter().map(move |d| (kind, d)))
        }))
        .await;
        let mut all = Vec::new();
        for list in lists {
            all.extend(list?.filter(|(_, d)| d.id.is_some() && d.is_deleted != Some(true)));
        }
        Ok(all)
    }

    /// The restore-point count and the newest backup of one asset.
    async fn newest_backup(
        &self,
        kind: AssetKind,
        id: &str,
    ) -> Result<(Option<u64>, Option<wire::Backup>), VendorError> {
        let filter = json!({ kind.backup_filter_field(): { "$eq": id } }).to_string();
        let page: wire::Page<wire::Backup> = self
            .client
            .first_page(
                kind.backups(),
                &[
                    ("limit", "1".to_owned()),
                    ("sort", "-start_timestamp".to_owned()),
                    ("filter", filter),
                ],
            )
            .await?;
        let count = page.total_count;
        Ok((count, page.into_items().into_iter().next()))
    }

    async fn inventory(&self, now: Timestamp, scope: &Scope) -> Result<Vec<Object>, VendorError> {
        let (policies, assets) = tokio::join!(self.policies(), self.datasources());
        let (policies, assets) = (policies?, assets?);
        let backups: Vec<Result<_, VendorError>> = stream::iter(assets)
            .map(|(kind, d)| async move {
                let id = d.id.clone().unwrap_or_default();
                let (count, newest) = self.newest_backup(kind, &id).await?;
                Ok((kind, d, count, newest))
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let history_start = before(now, TASK_HISTORY);
        let mut objects = Vec::with_capacity(backups.len());
        for entry in backups {
            let (kind, d, count, newest) = entry?;
            objects.push(object(
                kind,
                &d,
                count,
                newest.as_ref(),
                &policies,
                scope,
                history_start,
            ));
        }
        objects.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(objects)
    }

    async fn tasks(&self, filter: serde_json::Value) -> Result<Vec<wire::Task>, VendorError> {
        self.client
            .list_all(&client::TASKS, &[limit(), ("filter", filter.to_string())])
            .await
    }

    /// Jobs that ended in the window or are still running.
    async fn jobs(&self, w: Window) -> Result<Vec<Job>, VendorError> {
        let created_since = ts(before(w.since, TASK_OVERLAP));
        let (recent, running) = tokio::join!(
            self.tasks(json!({ "created_timestamp": { "$gte": created_since } })),
            self.tasks(json!({ "status": { "$in": ["queued", "in_progress", "aborting"] } })),
        );
        let mut by_id: HashMap<String, Job> = HashMap::new();
        for t in recent?.iter().chain(running?.iter()) {
            if let Some(job) = mapping::job_from_task(t) {
                by_id.insert(job.id.clone(), job);
            }
        }
        let mut jobs: Vec<Job> = by_id
            .into_values()
            .filter(|j| !j.result.is_finished() || j.end.is_some_and(|e| e >= w.since))
            .collect();
        sort_jobs(&mut jobs);
        Ok(jobs)
    }

    async fn alerts(&self) -> Result<Vec<wire::Alert>, VendorError> {
        let filter = json!({ "status": { "$in": ["active"] } }).to_string();
        self.client
            .list_all(&client::ALERTS, &[limit(), ("filter", filter)])
            .await
    }

    async fn audit_trails(
        &self,
        from: Timestamp,
        to: Option<Timestamp>,
    ) -> Result<Vec<wire::AuditTrail>, VendorError> {
        let filter = match to {
            Some(to) => json!({ "start_timestamp": { "$gte": ts(from), "$lt": ts(to) } }),
            None => json!({ "start_timestamp": { "$gte": ts(from) } }),
        };
        self.client
            .list_all(
                &client::AUDIT_TRAILS,
                &[limit(), ("filter", filter.to_string())],
            )
            .await
    }
}

fn sort_jobs(jobs: &mut [Job]) {
    jobs.sort_by(|a, b| a.time().cmp(&b.time()).then_with(|| a.id.cmp(&b.id)));
}

fn object(
    kind: AssetKind,
    d: &wire::Datasource,
    restore_points: Option<u64>,
    newest: Option<&wire::Backup>,
    policies: &HashMap<String, wire::Policy>,
    scope: &Scope,
    history_start: Timestamp,
) -> Object {
    let policy_id = d
        .protection_info
        .as_ref()
        .and_then(|p| p.policy_id.clone())
        .filter(|p| !p.is_empty());
    let policy = policy_id.as_ref().and_then(|id| policies.get(id));
    let active = policy.is_none_or(|p| p.activation_status.as_deref() != Some("deactivated"));
    let protected =
        d.protection_status.as_deref() == Some("protected") && policy_id.is_some() && active;
    let gib = |b: &wire::Backup| b.size.map(crate::model::gib_to_bytes);
    // Sizes: datasource `size` is bytes; EBS, EC2 and RDS backup `size` is GiB;
    // `utilized_size_in_bytes` and the protection-group fields are bytes.
    let (protected_bytes, stored_bytes) = match kind {
        AssetKind::EbsVolume => (
            d.size.or_else(|| newest.and_then(gib)),
            newest.and_then(|b| b.utilized_size_in_bytes),
        ),
        AssetKind::Ec2Instance => (
            newest.and_then(gib),
            newest.and_then(|b| b.utilized_size_in_bytes),
        ),
        AssetKind::ProtectionGroup => (
            newest.and_then(|b| b.backed_up_size_bytes),
            d.total_backed_up_size_bytes,
        ),
        AssetKind::RdsResource => (d.size, newest.and_then(gib)),
    };
    let latest_restore_point = newest.and_then(|b| b.start_timestamp);
    // Where the newest success is known without reading tasks: the newest restore point
    // and the datasource's own "last backup" fields (start times, so a little early).
    let last_success_hint = [
        d.last_backup_timestamp,
        d.last_clumio_snapshot_timestamp,
        d.backup_status_info
            .as_ref()
            .and_then(|b| b.last_successful_policy_start_timestamp),
        latest_restore_point,
    ]
    .into_iter()
    .flatten()
    .max();
    Object {
        id: d.id.clone().unwrap_or_default(),
        name: mapping::asset_name(kind, d),
        object_type: kind.object_type().to_owned(),
        tenant: scope.tenant_of_ou(d.organizational_unit_id.as_deref()),
        policy: match (policy, &policy_id) {
            (Some(p), _) => p.name.clone().unwrap_or_default(),
            (None, Some(id)) => id.clone(),
            (None, None) => String::new(),
        },
        protected,
        created: d.created_timestamp,
        history_start: Some(history_start),
        policy_rpo: policy.and_then(|p| mapping::policy_rpo(p, kind)),
        protected_bytes,
        stored_bytes,
        restore_points,
        latest_restore_point,
        last_success_hint,
    }
}

#[async_trait]
impl Adapter for ClumioAdapter {
    async fn collect(&self, w: Window) -> Collection {
        let (scope, jobs, alerts, audit) = tokio::join!(
            self.scope(),
            self.jobs(w),
            self.alerts(),
            self.audit_trails(w.since, None)
        );
        let scope = match scope {
            Ok(s) => s,
            Err(e) => {
                return Collection {
                    inventory: Err(echo(&e)),
                    jobs,
                    warnings: Err(echo(&e)),
                    audit: Err(echo(&e)),
                    storage: Err(e),
                };
            }
        };
        let inventory = self.inventory(w.now, &scope).await;
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
                    *tenants.entry(o.tenant.clone()).or_default() += o.stored_bytes.unwrap_or(0);
                }
                let mut tenants: Vec<(String, u64)> = tenants.into_iter().collect();
                tenants.sort();
                Ok(Storage {
                    pools: Vec::new(),
                    tenants,
                    objects: Vec::new(),
                })
            }
            Err(e) => Err(echo(e)),
        };
        Collection {
            inventory,
            jobs,
            warnings,
            audit,
            storage,
        }
    }

    async fn probe(&self) -> Result<String, VendorError> {
        let scope = self.scope().await?;
        let mut parts = Vec::new();
        let mut total = 0;
        for kind in AssetKind::ALL {
            let page: wire::Page<wire::Datasource> = self
                .client
                .first_page(kind.datasources(), &[("limit", "1".to_owned())])
                .await?;
            let n = page.total_count.unwrap_or(0);
            total += n;
            parts.push(format!("{n} {}", kind.object_type()));
        }
        let filter = json!({ "status": { "$in": ["active"] } }).to_string();
        let alerts: wire::Page<wire::Alert> = self
            .client
            .first_page(
                &client::ALERTS,
                &[("limit", "1".to_owned()), ("filter", filter)],
            )
            .await?;
        Ok(format!(
            "organizational unit {:?} ({} units visible): {total} assets ({}), {} active alerts",
            scope.tenant,
            scope.ou_names.len(),
            parts.join(", "),
            alerts.total_count.unwrap_or(0)
        ))
    }

    async fn history(&self, period: Period) -> Result<History, VendorError> {
        let now = self.clock.now();
        let scope = self.scope().await?;
        let objects = self.inventory(now, &scope).await?;
        let floor = before(period.from, REPORT_LEAD).max(before(now, TASK_HISTORY));
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
        let trails = self.audit_trails(period.from, Some(period.to)).await?;
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
        })
    }
}
