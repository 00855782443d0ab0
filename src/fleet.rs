//! The published views of all targets: written by the refresh loops, read by `/metrics`,
//! readiness and the landing page. Readers get an `Arc` of an immutable slot; nobody holds
//! a lock across I/O.
//!
//! Publishing a view also renders its metric families (compressed, see [`crate::metrics`]),
//! so that a scrape only copies what the last refresh rendered.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::TargetSettings;
use crate::metrics::{RenderOptions, Rendered, render};
use crate::state::TargetView;

/// A target's last published view and its rendered families.
#[derive(Debug)]
pub struct Slot {
    /// The view without its objects: once rendered they live on only in `rendered`, which
    /// at 10,000 objects per target is megabytes less per target (issue 12).
    pub view: Arc<TargetView>,
    /// Objects in the view as published.
    pub objects: usize,
    pub rendered: Rendered,
}

#[derive(Debug)]
pub struct Fleet {
    slots: Vec<ArcSwap<Slot>>,
    render: RenderOptions,
}

impl Fleet {
    pub fn new(targets: &[TargetSettings]) -> Self {
        Self::with_options(targets, RenderOptions::default())
    }

    pub fn with_options(targets: &[TargetSettings], render: RenderOptions) -> Self {
        let slots = targets
            .iter()
            .map(|t| ArcSwap::from_pointee(Self::slot(TargetView::pending(t), &render)))
            .collect();
        Fleet { slots, render }
    }

    fn slot(mut view: TargetView, opts: &RenderOptions) -> Slot {
        let rendered = render(&view, opts).unwrap_or_else(|e| {
            tracing::error!(target_name = %view.name, error = %e, "rendering metrics failed");
            Rendered::default()
        });
        let objects = view.objects.len();
        view.objects = Vec::new();
        Slot {
            view: Arc::new(view),
            objects,
            rendered,
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Renders the view's families and publishes both. Takes CPU in proportion to the
    /// target's objects: call it off the async workers.
    pub fn publish(&self, index: usize, view: TargetView) {
        if let Some(slot) = self.slots.get(index) {
            slot.store(Arc::new(Self::slot(view, &self.render)));
        }
    }

    pub fn slots(&self) -> Vec<Arc<Slot>> {
        self.slots.iter().map(|s| s.load_full()).collect()
    }

    /// The published views, without their objects (see [`Slot::view`]).
    pub fn views(&self) -> Vec<Arc<TargetView>> {
        self.slots.iter().map(|s| s.load().view.clone()).collect()
    }

    /// Every target's first refresh has finished, whether it succeeded or not.
    pub fn ready(&self) -> bool {
        self.slots.iter().all(|s| s.load().view.refreshed)
    }
}
