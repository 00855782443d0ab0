//! backup-exporter: one place to see backups kept on several platforms.
//!
//! Data flows one way: vendor API → adapter (`vendors/*`) → vendor-neutral model
//! ([`model`]) → scheduler state → metrics and reports. Only `vendors` knows a vendor; the
//! contract between the core and a vendor is [`adapter`]. `docs/architecture.md` draws it.

pub mod adapter;
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
pub mod malloc;
pub mod metrics;
pub mod model;
pub mod refresh;
pub mod report;
pub mod sanity;
pub mod scheduler;
pub mod secret;
pub mod server;
pub mod shard;
#[cfg(feature = "sim")]
pub mod sim;
pub mod small_file;
pub mod state;
pub mod vendors;
pub mod web;
