//! The request metrics of contract §4 (`backup_api_*`, `backup_auth_failures_total`), shared
//! by every target's client, and the count of vendor values the sanity bounds rejected
//! (`backup_vendor_values_rejected_total`, [`crate::sanity`]).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TargetLabels {
    pub vendor: String,
    pub target: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub vendor: String,
    pub target: String,
    pub code: String,
}

/// A field of a vendor's values: `field` is one of [`crate::sanity::Field`]'s words.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ValueLabels {
    pub vendor: String,
    pub target: String,
    pub field: String,
}

fn request_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.5, 10))
}

/// The request metrics of contract §4, shared by all targets' clients.
#[derive(Clone, Debug)]
pub struct ApiMetrics {
    pub requests: Family<RequestLabels, Counter>,
    pub duration: Family<TargetLabels, Histogram, fn() -> Histogram>,
    pub auth_failures: Family<TargetLabels, Counter>,
    /// Vendor values outside the sanity bounds, dropped ([`crate::sanity::Guard`]).
    pub values_rejected: Family<ValueLabels, Counter>,
}

impl Default for ApiMetrics {
    fn default() -> Self {
        ApiMetrics {
            requests: Family::default(),
            duration: Family::new_with_constructor(request_histogram),
            auth_failures: Family::default(),
            values_rejected: Family::default(),
        }
    }
}
