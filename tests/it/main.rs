//! One integration-test binary (link time matters on two cores): each area is a module.

mod cli;
mod cloudsync;
mod clumio;
mod common;
mod exporter;
mod report;
mod report_prometheus;
mod report_real_prometheus;
mod web;
