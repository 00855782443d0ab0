//! Cloutility simulator (being written).

use std::path::Path;

use axum::Router;
use url::Url;

use crate::model::Vendor;
use crate::sim::{SimContext, VendorSim, faults};

pub fn build(_ctx: &SimContext) -> VendorSim {
    VendorSim {
        vendor: Vendor::Cloutility,
        router: Router::new(),
        error: faults::plain_error,
    }
}

pub fn demo_targets(_base: &Url, _secrets_dir: &Path) -> std::io::Result<Vec<serde_json::Value>> {
    Ok(Vec::new())
}
