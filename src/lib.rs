//! backup-exporter: one place to see backups kept on several platforms.
//!
//! Data flows one way: vendor API → adapter (`vendors/*`) → vendor-neutral model
//! ([`model`]) → scheduler state → metrics and reports. Only `vendors` knows a vendor.

pub mod api;
pub mod clock;
pub mod config;
pub mod model;
pub mod report;
pub mod sim;
pub mod vendors;
