//! `backup-exporter report`: monthly compliance, summary, jobs and audit CSVs (contract §6, §7).

pub mod args;
pub mod compliance;
pub mod period;

pub use args::{ReportArgs, Source};
