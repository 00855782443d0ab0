//! The reading: the organizational units that name tenants, the task listings that become
//! jobs, active alerts and the audit trail, each over Clumio's paged listings.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::json;

use super::client::{self, PAGE_LIMIT};
use super::{ClumioAdapter, GLOBAL_OU, TASK_OVERLAP, mapping, wire};
use crate::adapter::{VendorError, Window};
use crate::clock::before;
use crate::model::Job;

/// The organizational units the target sees, and the tenant of anything not tied to one
/// asset (alerts on accounts, audit events on users).
pub(super) struct Scope {
    pub(super) ou_names: HashMap<String, String>,
    pub(super) tenant: String,
}

impl Scope {
    pub(super) fn tenant_of_ou(&self, ou: Option<&str>) -> String {
        ou.and_then(|id| self.ou_names.get(id))
            .cloned()
            .unwrap_or_else(|| self.tenant.clone())
    }
}

/// A filter in Clumio's query syntax, timestamps in whole seconds.
pub(super) fn ts(t: Timestamp) -> String {
    Timestamp::from_second(t.as_second())
        .unwrap_or(t)
        .to_string()
}

pub(super) fn limit() -> (&'static str, String) {
    ("limit", PAGE_LIMIT.to_string())
}

impl ClumioAdapter {
    pub(super) async fn scope(&self) -> Result<Scope, VendorError> {
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

    pub(super) async fn tasks(
        &self,
        filter: serde_json::Value,
    ) -> Result<Vec<wire::Task>, VendorError> {
        self.client
            .list_all(&client::TASKS, &[limit(), ("filter", filter.to_string())])
            .await
    }

    /// Jobs that ended in the window or are still running.
    pub(super) async fn jobs(&self, w: Window) -> Result<Vec<Job>, VendorError> {
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
            .filter(|j| !j.result.is_finished() || j.time().is_some_and(|t| t >= w.since))
            .collect();
        sort_jobs(&mut jobs);
        Ok(jobs)
    }

    pub(super) async fn alerts(&self) -> Result<Vec<wire::Alert>, VendorError> {
        let filter = json!({ "status": { "$in": ["active"] } }).to_string();
        self.client
            .list_all(&client::ALERTS, &[limit(), ("filter", filter)])
            .await
    }

    pub(super) async fn audit_trails(
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

pub(super) fn sort_jobs(jobs: &mut [Job]) {
    jobs.sort_by(|a, b| a.time().cmp(&b.time()).then_with(|| a.id.cmp(&b.id)));
}
