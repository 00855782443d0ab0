//! One integration-test binary (link time matters on two cores): each area is a module.

mod backupdr;
mod cli;
mod cloudsync;
mod cloudtower;
mod cloutility;
mod clumio;
mod common;
mod dashboards;
mod docs;
mod e2e;
mod exporter;
mod facts;
mod fuzz_corpus;
mod hardening;
mod redirect_traps;
mod refresh;
mod report;
mod report_evidence;
mod report_golden;
mod report_prometheus;
mod report_real_prometheus;
mod report_victoria_metrics;
mod rules;
mod spec_conformance;
mod vendor_client;
mod web;
