//! Fuzzing entry point (see `crate::fuzzing`): one JSON body, decoded as every response type
//! the adapter reads and mapped to the model as the adapter does. Must never panic.

use jiff::Timestamp;
use serde::de::DeserializeOwned;

use super::wire::{
    Account, AuditGroup, DataBroker, Relationship, RelationshipsStats, TokenResponse,
};
use super::{client, events, mapping, paths};

fn decode<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    crate::api::decode_json("fuzz", data).ok()
}

fn list<T: DeserializeOwned>(data: &[u8]) -> Vec<T> {
    decode::<Vec<T>>(data).unwrap_or_default()
}

/// Decodes `data` as each Cloud Sync response and maps what decodes.
pub fn decode_and_map(data: &[u8]) {
    let _ = client::decode_error(data);
    let _ = decode::<TokenResponse>(data);
    let _ = decode::<RelationshipsStats>(data);
    let _ = list::<Account>(data);

    for rel in list::<Relationship>(data) {
        let _ = mapping::object(&rel, "t");
        let _ = mapping::job(&rel);
        let _ = mapping::object_name(&rel);
        if let Some(d) = mapping::schedule_interval(&rel) {
            let _ = mapping::interval_text(d);
        }
        for ep in [&rel.source, &rel.target].into_iter().flatten() {
            let _ = paths::endpoint_path(ep);
        }
    }
    let now = Timestamp::from_second(1_750_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
    for b in list::<DataBroker>(data) {
        let _ = events::broker_warnings(&b, "t", now);
    }
    for g in list::<AuditGroup>(data) {
        let _ = events::audit_event(&g, "t");
    }
}
