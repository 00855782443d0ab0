//! The published views of all targets: written by the refresh loops, read by `/metrics`,
//! readiness and the landing page. Readers get an `Arc` of an immutable view; nobody holds
//! a lock across I/O.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::TargetSettings;
use crate::state::TargetView;

#[derive(Debug)]
pub struct Fleet {
    slots: Vec<ArcSwap<TargetView>>,
}

impl Fleet {
    pub fn new(targets: &[TargetSettings]) -> Self {
        Fleet {
            slots: targets
                .iter()
                .map(|t| ArcSwap::from_pointee(TargetView::pending(t)))
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn publish(&self, index: usize, view: TargetView) {
        if let Some(slot) = self.slots.get(index) {
            slot.store(Arc::new(view));
        }
    }

    pub fn views(&self) -> Vec<Arc<TargetView>> {
        self.slots.iter().map(|s| s.load_full()).collect()
    }

    /// Every target's first refresh has finished, whether it succeeded or not.
    pub fn ready(&self) -> bool {
        self.slots.iter().all(|s| s.load().refreshed)
    }
}
