//! The inventory: every asset of the four kinds with its policy, tenant, sizes and newest
//! restore point.

use std::collections::HashMap;

use futures::stream::{self, StreamExt};
use jiff::Timestamp;
use serde_json::json;

use super::collect::{Scope, limit};
use super::mapping::{self, AssetKind};
use super::{ClumioAdapter, TASK_HISTORY, client, wire};
use crate::adapter::{Skips, VendorError};
use crate::clock::before;
use crate::model::{CollectorKind, Object};

/// Part names of the listings other than the per-kind ones ([`AssetKind::parts`]).
pub const POLICIES_PART: &str = "policies";

impl ClumioAdapter {
    async fn policies(&self) -> Result<HashMap<String, wire::Policy>, VendorError> {
        // The policy list takes no `limit`; its `start` is a page token.
        let list: Vec<wire::Policy> = self.client.list_all(&client::POLICIES, &[]).await?;
        Ok(list
            .into_iter()
            .filter_map(|p| Some((p.id.clone()?, p)))
            .collect())
    }

    /// Every asset of the kinds this account has: a kind whose listing is refused (its data
    /// source not enabled, or the role may not read it) is skipped.
    async fn datasources(
        &self,
        skips: &Skips,
    ) -> Result<Vec<(AssetKind, wire::Datasource)>, VendorError> {
        let lists = futures::future::join_all(AssetKind::ALL.into_iter().map(|kind| async move {
            let listed = self.client.list_all(kind.datasources(), &[limit()]).await;
            let items: Vec<wire::Datasource> =
                skips.or_empty(CollectorKind::Inventory, kind.parts().0, listed)?;
            Ok::<_, VendorError>(items.into_iter().map(move |d| (kind, d)))
        }))
        .await;
        let mut all = Vec::new();
        for list in lists {
            all.extend(list?.filter(|(_, d)| d.id.is_some() && d.is_deleted != Some(true)));
        }
        Ok(all)
    }

    /// The restore-point count and the newest backup of one asset; both unknown when the
    /// backups listing of its kind is refused.
    async fn newest_backup(
        &self,
        kind: AssetKind,
        id: &str,
        skips: &Skips,
    ) -> Result<(Option<u64>, Option<wire::Backup>), VendorError> {
        let filter = json!({ kind.backup_filter_field(): { "$eq": id } }).to_string();
        let page = self
            .client
            .first_page::<wire::Backup>(
                kind.backups(),
                &[
                    ("limit", "1".to_owned()),
                    ("sort", "-start_timestamp".to_owned()),
                    ("filter", filter),
                ],
            )
            .await
            .map_err(VendorError::from);
        let Some(page) = skips.optional(CollectorKind::Inventory, kind.parts().1, page)? else {
            return Ok((None, None));
        };
        let count = page.total_count;
        Ok((count, page.into_items().into_iter().next()))
    }

    pub(super) async fn inventory(
        &self,
        now: Timestamp,
        scope: &Scope,
        skips: &Skips,
    ) -> Result<Vec<Object>, VendorError> {
        let (policies, assets) = tokio::join!(self.policies(), self.datasources(skips));
        // Without the policy list, objects show their policy id and the default RPO.
        let policies = skips.or_empty(CollectorKind::Inventory, POLICIES_PART, policies)?;
        let assets = assets?;
        let backups: Vec<Result<_, VendorError>> = stream::iter(assets)
            .map(|(kind, d)| async move {
                let id = d.id.clone().unwrap_or_default();
                let (count, newest) = self.newest_backup(kind, &id, skips).await?;
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
