//! Fuzzing entry point (see `crate::fuzzing`): one JSON body, decoded as every response type
//! the adapter reads and mapped to the model as the adapter does. Must never panic.

use std::collections::HashMap;

use serde::de::DeserializeOwned;

use super::collect::{self, Appliances};
use super::wire::{
    ApplicationRest, AuditRest, BackupRest, ClusterRest, DiskPoolRest, EventRest, JobRest, Page,
    PolicyRest, SessionRest, SlaRest, SltRest, TokenResponse, VersionRest,
};
use super::{client, mapping, warnings};

fn decode<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    crate::api::decode_json("fuzz", data).ok()
}

fn items<T: DeserializeOwned>(data: &[u8]) -> Vec<T> {
    decode::<Page<T>>(data).map(|p| p.items).unwrap_or_default()
}

/// Decodes `data` as each Backup and DR response and maps what decodes.
pub fn decode_and_map(data: &[u8]) {
    let _ = client::decode_error(data);
    let _ = decode::<SessionRest>(data);
    let _ = decode::<TokenResponse>(data);
    let _ = decode::<VersionRest>(data);
    let _ = items::<ApplicationRest>(data);
    let _ = items::<SlaRest>(data);
    let _ = items::<SltRest>(data);
    let _ = items::<BackupRest>(data);

    let clusters = items::<ClusterRest>(data);
    let appliances = Appliances::new(&clusters);
    let _ = warnings::appliance_warnings(&clusters);

    let policies = items::<PolicyRest>(data);
    for p in &policies {
        let _ = mapping::policy_interval(p);
    }
    let _ = mapping::template_rpo(&policies);

    let jobs = items::<JobRest>(data);
    let _ = collect::jobs_to_model(&jobs);
    let tenants: HashMap<String, String> = jobs
        .iter()
        .filter_map(|j| Some((j.appid.clone()?, "t".to_owned())))
        .collect();
    let _ = warnings::failure_streak_warnings(&jobs, &tenants);
    let _ = collect::merge_jobs(jobs.clone(), jobs);

    for a in items::<AuditRest>(data) {
        let _ = mapping::audit_event(&a);
    }

    let pools = items::<DiskPoolRest>(data);
    let _ = collect::storage(&pools, &appliances);
    let _ = warnings::pool_warnings(&pools, &appliances);

    let events = items::<EventRest>(data);
    let _ = warnings::event_warnings(&events, &appliances, &HashMap::new());
}
