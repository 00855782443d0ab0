//! The reading: the accounts the user sees, then each listing (relationships, data brokers,
//! relationship statistics, audit events) of every account, the listings side by side;
//! then each collector's part gathered across the accounts.

use std::future::Future;

use futures::StreamExt;

use super::CloudSync;
use super::wire::{AuditGroup, Relationship};
use super::{events, mapping};
use crate::adapter::{Skips, VendorError};
use crate::api::ApiError;
use crate::model::{AuditEvent, CollectorKind, Object};

/// One account: its id (for `x-account-id`) and its name (the tenant).
#[derive(Clone, Debug)]
pub(super) struct Tenant {
    pub(super) id: String,
    pub(super) name: String,
}

/// One listing of every account the target reads, in the accounts' order: each account's
/// answer on its own, so that one refused account can be a skipped part.
pub(super) type PerAccount<T> = Vec<(Tenant, Result<T, ApiError>)>;

pub(super) fn audit_off() -> VendorError {
    VendorError::Unsupported(
        "audit events come from the BlueXP audit service; set `audit_url` (e.g. https://cloudmanager.cloud.netapp.com) to read them".into(),
    )
}

/// Every account's part, or the first error (one unreadable account fails the collector:
/// a partial inventory would look like deleted relationships). With `optional`, a listing
/// an account refuses (403/404) is recorded as a skipped part and the other accounts count.
pub(super) fn gather<T, U>(
    data: &PerAccount<T>,
    optional: Option<(&Skips, CollectorKind, &'static str)>,
    mut each: impl FnMut(&Tenant, &T, &mut Vec<U>),
) -> Result<Vec<U>, VendorError> {
    let mut out = Vec::new();
    for (tenant, part) in data {
        match part {
            Ok(v) => each(tenant, v, &mut out),
            Err(e) => {
                let e = VendorError::Api(e.clone());
                match optional {
                    Some((skips, collector, name)) if Skips::is_refusal(&e) => {
                        skips.record(collector, name, format!("account {}: {e}", tenant.id));
                    }
                    _ => return Err(e),
                }
            }
        }
    }
    Ok(out)
}

impl CloudSync {
    /// The accounts to read: every one the user sees, or the configured one.
    pub(super) async fn tenants(&self) -> Result<Vec<Tenant>, VendorError> {
        let accounts = self.api.accounts().await?;
        let all: Vec<Tenant> = accounts
            .into_iter()
            .filter_map(|a| {
                let id = a.account_id.filter(|i| !i.is_empty())?;
                let name = a
                    .name
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| id.clone());
                Some(Tenant { id, name })
            })
            .collect();
        match &self.account_id {
            None => Ok(all),
            Some(wanted) => match all.iter().find(|t| &t.id == wanted) {
                Some(t) => Ok(vec![t.clone()]),
                None => {
                    let seen: Vec<&str> = all.iter().map(|t| t.id.as_str()).collect();
                    Err(VendorError::Invalid(format!(
                        "account_id {wanted:?} is not among the accounts this user sees ({})",
                        if seen.is_empty() {
                            "none".to_owned()
                        } else {
                            seen.join(", ")
                        }
                    )))
                }
            },
        }
    }

    /// One listing of every account, `collector_concurrency` accounts at a time: each
    /// collector reads its own listing, so that each can have its own deadline.
    pub(super) async fn per_account<'a, T, Fut>(
        &self,
        tenants: &'a [Tenant],
        read: impl Fn(&'a str) -> Fut,
    ) -> PerAccount<T>
    where
        Fut: Future<Output = Result<T, ApiError>>,
    {
        // Indices rather than `&Tenant` items: a closure taking a reference trips rustc's
        // higher-ranked `Send` check inside `async_trait` (rust-lang/rust#110338).
        futures::stream::iter(0..tenants.len())
            .map(|i| {
                let t = &tenants[i];
                let answer = read(&t.id);
                async move { (t.clone(), answer.await) }
            })
            .buffered(self.collector_concurrency)
            .collect()
            .await
    }
}

pub(super) fn objects(data: &PerAccount<Vec<Relationship>>) -> Result<Vec<Object>, VendorError> {
    gather(data, None, |t, rels, out| {
        out.extend(rels.iter().filter_map(|r| mapping::object(r, &t.name)))
    })
}

pub(super) fn audit_events(
    data: &PerAccount<Vec<AuditGroup>>,
    skips: &Skips,
) -> Result<Vec<AuditEvent>, VendorError> {
    gather(
        data,
        Some((skips, CollectorKind::Audit, "audit")),
        |t, groups, out| {
            out.extend(
                groups
                    .iter()
                    .filter_map(|g| events::audit_event(g, &t.name)),
            )
        },
    )
}
