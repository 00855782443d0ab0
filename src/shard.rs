//! Exporter shards (`serve --shard I --total-shards N`, or `shard: {index, total}` in the
//! config), like kube-state-metrics' `--shard/--total-shards`: each replica keeps the
//! targets whose name hashes to its index, so N replicas split the vendor calls between
//! them and every target is read by exactly one. The hash is FNV-1a 64 of the target name's
//! UTF-8 bytes, written out here so that it is the same on every version and platform (a
//! target never moves between shards because the exporter was upgraded).

use serde::Deserialize;

/// One replica's place: shard `index` of `total` (`0 <= index < total`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    pub index: u32,
    pub total: u32,
}

impl Shard {
    /// No sharding: one replica holds every target.
    pub const ALL: Shard = Shard { index: 0, total: 1 };

    /// A checked shard; the error names what is wrong.
    pub fn new(index: u32, total: u32) -> Result<Shard, String> {
        if total == 0 {
            return Err("the total number of shards must be at least 1".to_owned());
        }
        if index >= total {
            return Err(format!(
                "shard index {index} is not below the total of {total} shards (indexes are 0 to {})",
                total - 1
            ));
        }
        Ok(Shard { index, total })
    }

    /// The shard a target name falls on, out of `total`.
    pub fn of(name: &str, total: u32) -> u32 {
        (fnv1a64(name.as_bytes()) % u64::from(total.max(1))) as u32
    }

    /// Whether this shard keeps the target called `name`.
    pub fn owns(&self, name: &str) -> bool {
        Self::of(name, self.total) == self.index
    }
}

/// FNV-1a, 64 bits (offset basis 0xcbf29ce484222325, prime 0x100000001b3).
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_the_published_test_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn every_name_falls_on_exactly_one_shard() {
        let names: Vec<String> = (0..300).map(|i| format!("target-{i}")).collect();
        for total in 1..=5 {
            let shards: Vec<Shard> = (0..total).map(|i| Shard::new(i, total).unwrap()).collect();
            let mut per_shard = vec![0usize; total as usize];
            for n in &names {
                let owners: Vec<&Shard> = shards.iter().filter(|s| s.owns(n)).collect();
                assert_eq!(owners.len(), 1, "{n} with {total} shards");
                per_shard[owners[0].index as usize] += 1;
            }
            // A hash that spreads: no shard gets less than half its fair share.
            for c in per_shard {
                assert!(c * 2 * total as usize >= names.len(), "{total}: {c}");
            }
        }
    }

    #[test]
    fn a_name_keeps_its_shard() {
        // Pinned (computed apart from this code): a change of hash would move targets
        // between replicas on upgrade.
        assert_eq!(Shard::of("a", 3), 1);
        assert_eq!(Shard::of("a", 7), 5);
        assert_eq!(Shard::of("safespring", 3), 2);
        assert_eq!(Shard::of("safespring", 7), 3);
        assert_eq!(Shard::of("prod-clumio", 7), 4);
    }

    #[test]
    fn bad_shards_are_refused_with_the_reason() {
        assert!(Shard::new(0, 0).unwrap_err().contains("at least 1"));
        assert!(Shard::new(3, 3).unwrap_err().contains("0 to 2"));
        assert_eq!(Shard::new(2, 3), Ok(Shard { index: 2, total: 3 }));
    }
}
