//! A hash map split into [`SHARDS`] maps by a few bits of the key's hash,
//! so that growing never copies the whole table at once.
//!
//! A single hash map doubles its bucket array when it fills up, and holds
//! the old and the new arrays together while it moves the entries: at the
//! moment of the resize it needs three times the old array. For the
//! Loc-RIB of a full table that transient is the largest allocation of the
//! process (6.5 MB at 57k IPv4 prefixes, against 4.4 MB for the table once
//! filled, see "Issue 7, fourth round" in `docs/BENCHMARKS.md`). Split into
//! [`SHARDS`] maps that each grow on their own, the transient is the
//! resize of one shard: 1/[`SHARDS`] of it. The shards together have as
//! many buckets as one map would (each is a power of two for its share of
//! the keys), so the table's steady size does not change.
//!
//! The shard of a key is taken from bits of its hash that the shard's own
//! map does not use for the bucket index (the low bits) nor for its control
//! byte (the top seven bits), so every shard stays a well-spread table.
//!
//! # Layout
//! - [`ShardedMap`]: the map, with the operations the Loc-RIB needs (`get`,
//!   `get_mut`, `entry`, `remove`, `retain`, `values_mut`, `iter`);
//! - [`Iter`]: iteration over every shard in turn.
//!
//! ```text
//! let mut map: ShardedMap<u64, &str> = ShardedMap::default();
//! map.entry(7).or_insert("seven");
//! assert_eq!(map.get(&7), Some(&"seven"));
//! assert_eq!(map.iter().count(), 1);
//! ```

use rustc_hash::{FxBuildHasher, FxHashMap};
use std::collections::hash_map;
use std::hash::{BuildHasher, Hash};

/// Number of shards (a power of two).
pub(crate) const SHARDS: usize = 64;

/// First bit of the hash that picks the shard: above the bits a shard's
/// bucket index uses (up to 2^20 buckets a shard, 64 Mi keys in all) and
/// below the seven top bits of its control bytes.
const SHARD_SHIFT: u32 = 20;

/// See the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct ShardedMap<K, V> {
    shards: Vec<FxHashMap<K, V>>,
}

impl<K, V> Default for ShardedMap<K, V> {
    /// Empty shards allocate nothing.
    fn default() -> Self {
        ShardedMap {
            shards: (0..SHARDS).map(|_| FxHashMap::default()).collect(),
        }
    }
}

impl<K: Hash + Eq, V> ShardedMap<K, V> {
    fn shard_of(key: &K) -> usize {
        (FxBuildHasher.hash_one(key) >> SHARD_SHIFT) as usize & (SHARDS - 1)
    }

    /// The value of `key`.
    #[inline]
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        self.shards[Self::shard_of(key)].get(key)
    }

    /// The value of `key`, to change.
    #[inline]
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.shards[Self::shard_of(key)].get_mut(key)
    }

    /// The entry of `key` in its shard.
    #[inline]
    pub(crate) fn entry(&mut self, key: K) -> hash_map::Entry<'_, K, V> {
        self.shards[Self::shard_of(&key)].entry(key)
    }

    /// Remove `key`; its value.
    #[inline]
    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        self.shards[Self::shard_of(key)].remove(key)
    }

    /// Keep the entries `keep` accepts (it may change their values).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        for shard in &mut self.shards {
            shard.retain(&mut keep);
        }
    }
}

impl<K, V> ShardedMap<K, V> {
    /// Keys held (a sum over the shards).
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(hash_map::HashMap::len).sum()
    }

    /// Each shard's capacity (what a resize sizes its bucket array by).
    pub(crate) fn shard_capacities(&self) -> impl Iterator<Item = usize> + '_ {
        self.shards.iter().map(hash_map::HashMap::capacity)
    }

    /// Every value, to change.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.shards
            .iter_mut()
            .flat_map(hash_map::HashMap::values_mut)
    }

    /// Every entry, shard by shard.
    pub(crate) fn iter(&self) -> Iter<'_, K, V> {
        Iter {
            shards: self.shards.iter(),
            current: None,
            remaining: self.len(),
        }
    }
}

/// The entries of a [`ShardedMap`], shard by shard.
#[derive(Debug)]
pub(crate) struct Iter<'a, K, V> {
    shards: std::slice::Iter<'a, FxHashMap<K, V>>,
    current: Option<hash_map::Iter<'a, K, V>>,
    remaining: usize,
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(entry) = self.current.as_mut().and_then(Iterator::next) {
                self.remaining -= 1;
                return Some(entry);
            }
            self.current = Some(self.shards.next()?.iter());
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rib::table::{PrefixKey, V4Key};
    use std::collections::BTreeSet;

    fn v4(i: u32) -> V4Key {
        let net = ipnetwork::Ipv4Network::new((i << 8).into(), 24).unwrap();
        V4Key::from_net(net.into()).unwrap()
    }

    #[test]
    fn entries_go_in_and_out_like_a_single_map() {
        let mut map: ShardedMap<V4Key, u32> = ShardedMap::default();
        for i in 0..10_000 {
            *map.entry(v4(i)).or_insert(0) += i;
        }
        assert_eq!(map.len(), 10_000);
        assert_eq!(map.get(&v4(77)), Some(&77));
        *map.get_mut(&v4(77)).unwrap() = 1;
        assert_eq!(map.remove(&v4(77)), Some(1));
        assert_eq!((map.get(&v4(77)), map.len()), (None, 9_999));
        map.retain(|_, v| *v % 2 == 0);
        assert_eq!(map.len(), 5_000);
        for v in map.values_mut() {
            *v += 1;
        }
        let values: BTreeSet<u32> = map.iter().map(|(_, v)| *v).collect();
        assert_eq!(
            values,
            (0..10_000).filter(|v| v % 2 == 0).map(|v| v + 1).collect()
        );
        let iter = map.iter();
        assert_eq!(iter.size_hint(), (5_000, Some(5_000)));
        assert_eq!(iter.count(), 5_000);
    }

    #[test]
    fn a_full_table_of_slash_24s_spreads_over_every_shard() {
        let mut map: ShardedMap<V4Key, ()> = ShardedMap::default();
        let n = 100_000;
        for i in 0..n {
            map.entry(v4(i)).or_insert(());
        }
        let mean = n as usize / SHARDS;
        for (shard, keys) in map.shards.iter().map(|s| s.len()).enumerate() {
            assert!(
                keys > mean * 3 / 4 && keys < mean * 5 / 4,
                "shard {shard}: {keys} keys, mean {mean}"
            );
        }
        // As many buckets in all as one map of the same keys would have.
        let single: FxHashMap<V4Key, ()> = (0..n).map(|i| (v4(i), ())).collect();
        let buckets = |capacity: usize| (capacity * 8 / 7).next_power_of_two();
        let sharded: usize = map.shard_capacities().map(buckets).sum();
        assert_eq!(sharded, buckets(single.capacity()));
    }
}
