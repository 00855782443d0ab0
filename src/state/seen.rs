//! Times remembered per id (job ids already counted, audit events already counted, each
//! object's newest success), keyed by a 64-bit hash of the id rather than the id itself.
//!
//! At 10,000 objects a target remembers some 20,000 job ids: as `String` keys that was ~2 MB
//! per target, as hashes it is a third of that (issue 12). Two ids of one target would have
//! to share a 64-bit hash to be confused: with n ids that happens with probability about
//! n² / 2⁶⁵ (10⁻¹¹ at 20,000 ids). The hash is keyed per process (`RandomState`), so a
//! vendor cannot choose ids that collide.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use jiff::Timestamp;

#[derive(Debug, Default)]
pub(super) struct TimeById {
    hasher: RandomState,
    times: HashMap<u64, Timestamp>,
}

impl TimeById {
    fn key(&self, id: &str) -> u64 {
        self.hasher.hash_one(id)
    }

    /// Remembers `t` for `id`; returns the time it had, if it was known.
    pub(super) fn insert(&mut self, id: &str, t: Timestamp) -> Option<Timestamp> {
        let k = self.key(id);
        self.times.insert(k, t)
    }

    pub(super) fn get(&self, id: &str) -> Option<Timestamp> {
        self.times.get(&self.key(id)).copied()
    }

    pub(super) fn len(&self) -> usize {
        self.times.len()
    }

    /// Forgets the ids whose time is older than `horizon`.
    pub(super) fn forget_before(&mut self, horizon: Timestamp) {
        self.times.retain(|_, t| *t >= horizon);
    }

    /// Forgets every id but `ids`.
    pub(super) fn keep_only<'a>(&mut self, ids: impl IntoIterator<Item = &'a str>) {
        let keep: std::collections::HashSet<u64> = ids.into_iter().map(|id| self.key(id)).collect();
        self.times.retain(|k, _| keep.contains(k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn remembers_forgets_by_age_and_keeps_only_the_named() {
        let mut m = TimeById::default();
        assert_eq!(m.insert("a", ts(10)), None);
        assert_eq!(m.insert("a", ts(20)), Some(ts(10)), "seen before");
        m.insert("b", ts(5));
        m.insert("c", ts(30));
        assert_eq!(m.get("a"), Some(ts(20)));
        assert_eq!(m.get("zz"), None);
        m.forget_before(ts(10));
        assert_eq!(m.get("b"), None, "older than the horizon");
        assert_eq!(m.len(), 2);
        m.keep_only(["c", "not-there"]);
        assert_eq!(m.get("a"), None);
        assert_eq!(m.get("c"), Some(ts(30)));
        assert_eq!(m.len(), 1);
    }
}
