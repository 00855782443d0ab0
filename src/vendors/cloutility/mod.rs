//! Cloutility (Safespring's portal over IBM Storage Protect).

pub mod sim;

use std::sync::Arc;

use super::{Adapter, AdapterContext};
use crate::config::TargetSettings;

/// Vendor-specific target keys (contract §2).
pub const KEYS: &[&str] = &["client_id", "origin", "username", "password", "bunits"];

pub fn validate(_target: &TargetSettings) -> Vec<String> {
    Vec::new()
}

pub fn build(_target: &TargetSettings, _ctx: &AdapterContext) -> Result<Arc<dyn Adapter>, String> {
    Err("the cloutility adapter is being written".into())
}
