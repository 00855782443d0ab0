//! `/metrics`: the registry of exporter metrics plus a collector that renders the
//! published target views (contract §4). Rendering reads immutable views only.

mod format;
mod render;

use std::sync::Arc;

use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

use crate::api::ApiMetrics;
use crate::clock::Clock;
use crate::fleet::Fleet;

pub use format::{Format, openmetrics_to_classic};
pub use render::FleetCollector;

/// The revision this binary was built from (set by build.rs), for `build_info`.
pub const REVISION: &str = env!("BACKUP_EXPORTER_REVISION");

/// Everything `/metrics` serves.
pub struct Metrics {
    pub registry: Registry,
    pub api: ApiMetrics,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    pub fn new(fleet: Arc<Fleet>, clock: Clock, api: ApiMetrics) -> Self {
        let mut registry = Registry::default();
        registry.register(
            "backup_exporter_build",
            "Version and revision of backup-exporter",
            Info::new(vec![
                ("version", env!("CARGO_PKG_VERSION")),
                ("revision", REVISION),
            ]),
        );
        registry.register_collector(Box::new(FleetCollector::new(fleet, clock)));
        registry.register(
            "backup_api_requests",
            "Requests to vendor APIs by HTTP status code (`error` when there was no response)",
            api.requests.clone(),
        );
        registry.register_with_unit(
            "backup_api_request_duration",
            "Latency of vendor API requests",
            Unit::Seconds,
            api.duration.clone(),
        );
        registry.register(
            "backup_auth_failures",
            "Logins the vendor refused",
            api.auth_failures.clone(),
        );
        Metrics { registry, api }
    }

    /// OpenMetrics text of everything.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(64 * 1024);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }

    /// Everything in the given exposition format.
    pub fn encode_as(&self, format: Format) -> Result<String, std::fmt::Error> {
        let om = self.encode()?;
        Ok(match format {
            Format::OpenMetrics => om,
            Format::Classic => openmetrics_to_classic(&om),
        })
    }
}

/// The OpenMetrics content type (what Prometheus asks for).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
