//! The one place that lists the vendors: [`VENDORS`], one line per vendor.
//!
//! Each vendor lives in its own folder: wire types (private), a client (login and
//! requests over [`crate::api::ApiClient`]), a mapping to [`crate::model`], its config keys,
//! and its simulator. The contract they implement is [`crate::adapter`]. Adding a vendor is
//! its folder plus one line in [`VENDORS`] (and its [`Vendor`] name).

pub mod backupdr;
pub mod cloudsync;
pub mod cloudtower;
pub mod cloutility;
pub mod clumio;
pub mod lenient;
#[cfg(test)]
pub mod variations;

use std::sync::Arc;

use crate::adapter::{Adapter, AdapterContext};
use crate::config::TargetSettings;
use crate::model::Vendor;
use crate::sim::SimEntry;

/// Makes a target's adapter.
pub type BuildFn = fn(&TargetSettings, &AdapterContext) -> Result<Arc<dyn Adapter>, String>;

/// What the core knows of one vendor.
pub struct VendorEntry {
    pub vendor: Vendor,
    /// Vendor-specific target keys (secret keys by their base name).
    pub keys: &'static [&'static str],
    /// Problems with a target's vendor-specific keys, one line each (without the target name).
    pub validate: fn(&TargetSettings) -> Vec<String>,
    pub build: BuildFn,
    /// The vendor's simulator and the demo targets that point at it.
    pub sim: SimEntry,
}

macro_rules! vendor {
    ($v:ident, $m:ident) => {
        VendorEntry {
            vendor: Vendor::$v,
            keys: $m::KEYS,
            validate: $m::validate,
            build: $m::build,
            sim: SimEntry {
                build: $m::sim::build,
                demo_targets: $m::sim::demo_targets,
            },
        }
    };
}

/// Every vendor, in the order the simulator mounts them and `demo` lists their targets.
pub static VENDORS: &[VendorEntry] = &[
    vendor!(Cloutility, cloutility),
    vendor!(Backupdr, backupdr),
    vendor!(Cloudtower, cloudtower),
    vendor!(Cloudsync, cloudsync),
    vendor!(Clumio, clumio),
];

/// The table line of `vendor`.
pub fn entry(vendor: Vendor) -> &'static VendorEntry {
    VENDORS
        .iter()
        .find(|e| e.vendor == vendor)
        .expect("every Vendor has a line in VENDORS (tested)")
}

/// Vendor-specific target keys allowed for `vendor` (secret keys by their base name).
pub fn allowed_keys(vendor: Vendor) -> &'static [&'static str] {
    entry(vendor).keys
}

/// Problems with a target's vendor-specific keys, one line each (without the target name).
pub fn validate(target: &TargetSettings) -> Vec<String> {
    (entry(target.vendor).validate)(target)
}

pub fn build(target: &TargetSettings, ctx: &AdapterContext) -> Result<Arc<dyn Adapter>, String> {
    (entry(target.vendor).build)(target, ctx)
}

/// The simulators of every vendor, for [`crate::sim::SimServer::start`].
pub fn simulators() -> Vec<SimEntry> {
    VENDORS.iter().map(|e| e.sim).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendor_has_exactly_one_line() {
        for v in Vendor::ALL {
            assert_eq!(VENDORS.iter().filter(|e| e.vendor == v).count(), 1, "{v}");
        }
        assert_eq!(VENDORS.len(), Vendor::ALL.len());
        let ctx = crate::sim::SimContext::new(1, 1);
        for e in VENDORS {
            assert_eq!((e.sim.build)(&ctx).vendor, e.vendor);
        }
    }
}
