//! backup-exporter: one place to see backups kept on several platforms.
//!
//! Data flows one way: vendor API → adapter (`vendors/*`) → vendor-neutral model
//! ([`model`]) → scheduler state → metrics and reports. Only `vendors` knows a vendor.

pub mod api;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod exporter;
pub mod facts;
pub mod fleet;
pub mod fsutil;
#[doc(hidden)]
pub mod fuzzing;
pub mod metrics;
pub mod model;
pub mod report;
pub mod scheduler;
pub mod server;
pub mod sim;
pub mod state;
pub mod vendors;
pub mod web;
