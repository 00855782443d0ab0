//! Fuzzing entry point (see `crate::fuzzing`): one JSON body, decoded as every response type
//! the adapter reads and mapped to the model as the adapter does. Must never panic.

use serde::de::DeserializeOwned;

use super::mapping::{self, AssetKind};
use super::{client, wire};

fn decode<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    crate::api::decode_json("fuzz", data).ok()
}

/// The items of a HAL page; a page's `_links.next` is read as the client reads it.
fn items<T: DeserializeOwned>(data: &[u8]) -> Vec<T> {
    decode::<wire::Page<T>>(data)
        .map(|p| {
            let _ = p.next_href();
            p.into_items()
        })
        .unwrap_or_default()
}

/// Decodes `data` as each Clumio response and maps what decodes.
pub fn decode_and_map(data: &[u8]) {
    let _ = client::decode_error(data);
    let _ = items::<wire::OrganizationalUnit>(data);
    let policies = items::<wire::Policy>(data);
    for kind in AssetKind::ALL {
        for p in &policies {
            let _ = mapping::policy_rpo(p, kind);
        }
    }
    let datasources = items::<wire::Datasource>(data);
    for kind in AssetKind::ALL {
        for d in &datasources {
            let _ = mapping::asset_name(kind, d);
        }
    }
    let _ = items::<wire::Backup>(data);
    for t in items::<wire::Task>(data) {
        let _ = mapping::job_from_task(&t);
    }
    for a in items::<wire::Alert>(data) {
        let _ = mapping::warning_from_alert(&a, |id| Some(id.to_owned()), "t");
        let _ = mapping::warning_from_alert(&a, |_| None, "t");
    }
    for t in items::<wire::AuditTrail>(data) {
        let _ = mapping::audit_event(&t, "t");
    }
}
