//! Fuzzing entry point (see `crate::fuzzing`): one JSON body, decoded as every response type
//! the adapter reads and mapped to the model as the adapter does. Must never panic.

use std::collections::HashMap;

use serde::de::DeserializeOwned;

use super::inventory::{self, ConsumerFacts};
use super::{client, mapping, scope, wire};

fn decode<T: DeserializeOwned>(data: &[u8]) -> Option<T> {
    crate::api::decode_json("fuzz", data).ok()
}

/// Decodes `data` as each Cloutility response and maps what decodes.
pub fn decode_and_map(data: &[u8]) {
    let _ = client::error_message(data);
    let _ = decode::<wire::AccessToken>(data);
    let _ = decode::<wire::User>(data);
    if let Some(root) = decode::<wire::SimpleBusinessUnit>(data)
        && let Ok(tree) = scope::Tree::from_simple(&root)
    {
        let _ = scope::select(&tree, None);
        for id in tree.subtrees(&[tree.root]) {
            let _ = tree.name(id);
        }
    }
    let consumers = decode::<wire::Collection<wire::Consumer>>(data);
    let node = decode::<wire::Node>(data);
    let filespaces = decode::<wire::Collection<wire::Filespace>>(data);
    let fs: &[wire::Filespace] = filespaces.as_ref().map_or(&[], |c| &c.items);
    for (i, consumer) in consumers.iter().flat_map(|c| c.items.iter()).enumerate() {
        let _ = inventory::object(&ConsumerFacts {
            id: i as u64,
            consumer,
            tenant: "t",
            node: node.as_ref(),
            filespaces: fs,
            first_job: None,
        });
        let _ = inventory::active(consumer.data_source_state.as_ref());
    }
    let _ = inventory::stored_bytes(fs);
    let mut pools = HashMap::new();
    inventory::pools(fs.iter(), &mut pools);
    if let Some(jobs) = decode::<wire::Collection<wire::Job>>(data) {
        for job in jobs.items {
            let _ = mapping::job(job, "c");
        }
    }
    if let Some(logs) = decode::<wire::Collection<wire::AuditLog>>(data) {
        for log in logs.items {
            let _ = mapping::audit_event(log, "t", "o");
        }
    }
    let types: HashMap<i64, String> = decode::<wire::Collection<wire::NodeWarningType>>(data)
        .map(|c| c.items)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.id?, t.name?)))
        .collect();
    if let Some(report) = decode::<wire::NodeReport>(data) {
        let _ = mapping::warnings(&report, &types, "c", "t");
    }
}
