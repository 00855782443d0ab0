//! Cloutility: Safespring's (and other providers') portal in front of IBM Storage Protect.
//!
//! An object is a consumer (a "consumption unit", one backup node), its tenant the business
//! unit that owns it. One refresh reads the business-unit tree, the consumers, and per
//! consumer its latest daily report (warnings), jobs of the window and new audit entries,
//! plus its node and filespaces (inventory and storage) when those are over half an hour
//! old. The per-consumer requests run concurrently up to the target's
//! `max_concurrent_requests`; what a refresh costs grows linearly with the consumers.
//!
//! Files: `client` (login and endpoints), `scope` (business units and consumers),
//! `collect` (one refresh, one report period), `mapping` and `inventory` (wire → model),
//! `wire` (the JSON), `sim` (the simulator).

mod client;
mod collect;
#[doc(hidden)]
pub mod fuzz;
mod inventory;
mod mapping;
#[cfg(test)]
mod proptests;
mod scope;
mod settings;
#[cfg(feature = "sim")]
pub mod sim;
mod wire;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, stream};
use jiff::Timestamp;
use reqwest::header::{HeaderMap, ORIGIN};
use url::Url;

use self::client::{OAuth, Portal};
use crate::adapter::{
    Adapter, AdapterContext, Collection, History, Period, TargetSettings, VendorError, Window,
};
use crate::api::{ApiClient, ApiError};
use crate::clock::Clock;
use crate::model::AuditEvent;

pub use mapping::WARNING_CATEGORIES;
pub use settings::Settings;

/// The API root: the portal documents paths as `/v1/...`, so a configured `.../v1` is
/// dropped rather than doubled.
fn api_root(url: &Url) -> Url {
    let mut u = url.clone();
    let path = u.path().trim_end_matches('/');
    let path = path.strip_suffix("/v1").unwrap_or(path).to_owned();
    u.set_path(&format!("{path}/"));
    u
}

fn build(
    own: &Settings,
    target: &TargetSettings,
    ctx: &AdapterContext,
) -> Result<Arc<dyn Adapter>, String> {
    let mut headers = HeaderMap::new();
    headers.insert(ORIGIN, own.origin.clone());
    let mut settings = target.client_settings(api_root(&own.url));
    settings.request_timeout = target.timeout.min(Duration::from_secs(60));
    settings.default_headers = headers;
    let auth = OAuth::new(
        own.client_id.clone(),
        own.username.clone(),
        own.password.clone(),
    );
    let client = ApiClient::new(
        settings,
        Some(Arc::new(auth)),
        ctx.metrics.clone(),
        client::error_message,
    )
    .map_err(|e| e.to_string())?;
    Ok(Arc::new(Cloutility {
        portal: Portal {
            client: Arc::new(client),
        },
        bunits: own.bunits.clone(),
        concurrency: target.max_concurrent_requests.max(1),
        collector_concurrency: target.collector_concurrency(),
        collector_timeout: target.collector_timeout(),
        clock: ctx.clock.clone(),
        cache: Mutex::new(Cache::default()),
    }))
}

/// One Cloutility target.
#[derive(Debug)]
pub struct Cloutility {
    portal: Portal,
    bunits: Option<Vec<u64>>,
    concurrency: usize,
    /// Requests each collector keeps in flight in a refresh (they read side by side).
    collector_concurrency: usize,
    /// Each collector's own deadline within a refresh.
    collector_timeout: Duration,
    clock: Clock,
    cache: Mutex<Cache>,
}

/// What is worth remembering between refreshes.
#[derive(Debug, Default)]
struct Cache {
    /// `completed` of each consumer's first job: the earliest `startTime` the jobs endpoint
    /// accepts. It does not change, so it is asked once per consumer.
    first_jobs: HashMap<u64, Timestamp>,
    /// Node warning type names by id, asked once.
    warning_types: Option<Arc<HashMap<i64, String>>>,
    /// Per consumer: the audit entries of the current window and the newest one's time, so
    /// that a refresh asks only for what is new.
    audit: HashMap<u64, AuditCursor>,
    /// Per consumer: its node and filespaces, and when they were read.
    nodes: HashMap<u64, (Timestamp, Arc<collect::NodeFacts>)>,
}

impl Cache {
    /// Forgets consumers that are gone, so a long-running exporter does not grow.
    fn keep_only(&mut self, ids: &HashSet<u64>) {
        self.first_jobs.retain(|id, _| ids.contains(id));
        self.audit.retain(|id, _| ids.contains(id));
        self.nodes.retain(|id, _| ids.contains(id));
    }
}

#[derive(Debug, Default)]
struct AuditCursor {
    newest: Option<Timestamp>,
    events: HashMap<String, AuditEvent>,
}

impl Cloutility {
    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The consumers this target covers.
    async fn consumers(&self) -> Result<Vec<scope::ConsumerRef>, VendorError> {
        let tree = scope::tree(&self.portal, self.concurrency).await?;
        let bunits = scope::select(&tree, self.bunits.as_deref())?;
        scope::consumers(&self.portal, &tree, &bunits, self.concurrency).await
    }
}

#[async_trait]
impl Adapter for Cloutility {
    async fn collect(&self, window: Window) -> Collection {
        collect::refresh(self, window).await
    }

    async fn probe(&self) -> Result<String, VendorError> {
        let version = self.portal.full_version().await?;
        let me = self.portal.me().await?;
        let tree = scope::tree(&self.portal, self.concurrency).await?;
        let bunits = scope::select(&tree, self.bunits.as_deref())?;
        let counts: Vec<Result<u64, ApiError>> = stream::iter(bunits.iter().copied())
            .map(|b| self.portal.consumer_count(b))
            .buffer_unordered(self.concurrency)
            .collect()
            .await;
        let mut consumers = 0;
        for c in counts {
            consumers += c?;
        }
        let user = me
            .user_name
            .or(me.email)
            .or(me.name)
            .unwrap_or_else(|| "the API user".to_owned());
        Ok(format!(
            "Cloutility {version} at API base {}v1, logged in as {user}: {} business units, {consumers} consumers",
            self.portal.client.base_url(),
            bunits.len()
        ))
    }

    async fn history(&self, period: Period, lookback: Duration) -> Result<History, VendorError> {
        collect::history(self, period, lookback).await
    }

    async fn close(&self) {
        self.portal.client.logout().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_root_drops_a_trailing_v1() {
        let r = |s: &str| api_root(&Url::parse(s).unwrap()).to_string();
        assert_eq!(
            r("https://portal-api.example"),
            "https://portal-api.example/"
        );
        assert_eq!(
            r("https://portal-api.example/v1/"),
            "https://portal-api.example/"
        );
        assert_eq!(
            r("http://127.0.0.1:9/cloutility"),
            "http://127.0.0.1:9/cloutility/"
        );
    }
}
