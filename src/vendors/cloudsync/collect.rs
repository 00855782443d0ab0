//! The reading: the accounts the user sees, and per account its relationships, data brokers,
//! relationship statistics and audit events, read side by side; then each collector's part
//! gathered across the accounts.

use futures::StreamExt;
use jiff::Timestamp;

use super::CloudSync;
use super::wire::{AuditGroup, DataBroker, Relationship, RelationshipsStats};
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

/// What to read of each account.
#[derive(Clone, Copy)]
pub(super) struct Want {
    pub(super) brokers: bool,
    pub(super) stats: bool,
    pub(super) audit: Option<(Timestamp, Timestamp)>,
}

pub(super) struct AccountData {
    pub(super) tenant: Tenant,
    pub(super) relationships: Result<Vec<Relationship>, ApiError>,
    pub(super) brokers: Option<Result<Vec<DataBroker>, ApiError>>,
    pub(super) stats: Option<Result<RelationshipsStats, ApiError>>,
    pub(super) audit: Option<Result<Vec<AuditGroup>, ApiError>>,
}

pub(super) fn audit_off() -> VendorError {
    VendorError::Unsupported(
        "audit events come from the BlueXP audit service; set `audit_url` (e.g. https://cloudmanager.cloud.netapp.com) to read them".into(),
    )
}

/// Every account's part, or the first error (one unreadable account fails the collector:
/// a partial inventory would look like deleted relationships). With `optional`, a listing
/// an account refuses (403/404) is recorded as a skipped part and the other accounts count.
pub(super) fn gather<T, U>(
    data: &[AccountData],
    part: impl Fn(&AccountData) -> Option<&Result<T, ApiError>>,
    optional: Option<(&Skips, CollectorKind, &'static str)>,
    mut each: impl FnMut(&Tenant, &T, &mut Vec<U>),
) -> Result<Vec<U>, VendorError> {
    let mut out = Vec::new();
    for d in data {
        match part(d) {
            Some(Ok(v)) => each(&d.tenant, v, &mut out),
            Some(Err(e)) => {
                let e = VendorError::Api(e.clone());
                match optional {
                    Some((skips, collector, name)) if Skips::is_refusal(&e) => {
                        skips.record(collector, name, format!("account {}: {e}", d.tenant.id));
                    }
                    _ => return Err(e),
                }
            }
            None => {}
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

    pub(super) async fn read_account(&self, tenant: Tenant, want: Want) -> AccountData {
        let id = tenant.id.as_str();
        let (relationships, brokers, stats, audit) = futures::join!(
            self.api.relationships(id),
            async {
                if want.brokers {
                    Some(self.api.data_brokers(id).await)
                } else {
                    None
                }
            },
            async {
                if want.stats {
                    Some(self.api.relationships_stats(id).await)
                } else {
                    None
                }
            },
            async {
                match (want.audit, &self.api.audit_url) {
                    (Some((from, to)), Some(_)) => Some(self.api.audit(id, from, to).await),
                    _ => None,
                }
            },
        );
        AccountData {
            tenant,
            relationships,
            brokers,
            stats,
            audit,
        }
    }

    pub(super) async fn read(&self, want: Want) -> Result<Vec<AccountData>, VendorError> {
        let tenants = self.tenants().await?;
        Ok(futures::stream::iter(tenants)
            .map(|t| self.read_account(t, want))
            .buffered(self.concurrency)
            .collect()
            .await)
    }
}

pub(super) fn objects(data: &[AccountData]) -> Result<Vec<Object>, VendorError> {
    gather(
        data,
        |d| Some(&d.relationships),
        None,
        |t, rels, out| out.extend(rels.iter().filter_map(|r| mapping::object(r, &t.name))),
    )
}

pub(super) fn audit_events(
    data: &[AccountData],
    skips: &Skips,
) -> Result<Vec<AuditEvent>, VendorError> {
    gather(
        data,
        |d| d.audit.as_ref(),
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
