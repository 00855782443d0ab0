//! One integration-test binary (link time matters on two cores): each area is a module.
mod clumio;
