//! One integration-test binary (link time matters on two cores): each area is a module.

mod cli;
mod clumio;
mod common;
mod exporter;
mod web;
