//! One integration-test binary (link time matters on two cores): each area is a module.

mod cli;
mod common;
mod dashboards;
mod e2e;
mod exporter;
mod rules;
mod web;
