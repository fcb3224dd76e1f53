//! The Loc-RIB's hash map: entries in a chunked slab that never moves
//! them, found through an index of 4-byte positions.
//!
//! A hash map that holds its entries in the bucket array doubles that
//! array when it fills up: every entry is copied into memory touched for
//! the first time, so a table filled from empty has faulted in about twice
//! its final size, and during the resize it holds the old and the new
//! arrays together. For a full table arriving in one burst those page
//! faults were the largest single source of the reflector's page faults (see
//! "Issue 7, seventh round" in `docs/BENCHMARKS.md`). Here the entries are
//! appended to a [`ChunkedVec`] once, where they stay, and only the index
//! (one `u32` and a control byte a bucket) doubles. The index is regrown
//! ahead of `hashbrown` ([`SlabMap::grow_index`]) by walking the slab in
//! order, so the move reads the keys sequentially instead of at random.
//!
//! The slab is dense: [`SlabMap::remove`] moves the last entry into the
//! hole and repoints its bucket, so iteration never meets a hole and the
//! slab is never larger than the map.
//!
//! Memory per entry: the entry itself and 5 bytes per bucket of the index
//! (at 44-88% load, 6-11 bytes an entry).
//!
//! # Layout
//! - [`SlabMap`]: the map, with the operations the Loc-RIB needs (`get`,
//!   `get_mut`, `entry`, `remove`, `retain`, `values_mut`, `iter`);
//! - [`Entry`]: an occupied or vacant place, as `std`'s entry API.
//!
//! ```text
//! let mut map: SlabMap<u64, &str> = SlabMap::default();
//! map.entry(7).or_insert("seven");
//! assert_eq!(map.get(&7), Some(&"seven"));
//! assert_eq!(map.iter().count(), 1);
//! ```

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;
use std::hash::{BuildHasher, Hash};

use crate::chunked::{self, ChunkedVec};

/// See the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct SlabMap<K, V> {
    entries: ChunkedVec<(K, V)>,
    /// The position in `entries` of every entry, hashed by its key.
    index: HashTable<u32>,
}

impl<K, V> Default for SlabMap<K, V> {
    /// An empty map allocates nothing.
    fn default() -> Self {
        SlabMap {
            entries: ChunkedVec::default(),
            index: HashTable::new(),
        }
    }
}

#[inline]
fn hash<K: Hash>(key: &K) -> u64 {
    FxBuildHasher.hash_one(key)
}

/// A position in the slab as the index holds it.
#[inline]
fn position(at: usize) -> u32 {
    // An entry is at least 8 bytes: 2^32 of them would not fit in memory.
    u32::try_from(at).expect("fewer than 2^32 entries")
}

/// A place in a [`SlabMap`], as [`SlabMap::entry`] finds it.
pub(crate) enum Entry<'a, K, V> {
    /// The key is there.
    Occupied(OccupiedEntry<'a, V>),
    /// The key is not there.
    Vacant(VacantEntry<'a, K, V>),
}

/// The value of a key that is in the map.
pub(crate) struct OccupiedEntry<'a, V> {
    value: &'a mut V,
}

impl<'a, V> OccupiedEntry<'a, V> {
    /// The value, for as long as the map is borrowed.
    #[inline]
    pub(crate) fn into_mut(self) -> &'a mut V {
        self.value
    }
}

/// The place of a key that is not in the map.
pub(crate) struct VacantEntry<'a, K, V> {
    map: &'a mut SlabMap<K, V>,
    key: K,
    hash: u64,
}

impl<'a, K: Hash, V> VacantEntry<'a, K, V> {
    /// Insert `value` under the key; the value in the map.
    #[inline]
    pub(crate) fn insert(self, value: V) -> &'a mut V {
        let map = self.map;
        let at = map.entries.push((self.key, value));
        let entries = &map.entries;
        // `SlabMap::entry` made room, so the hasher is not called.
        map.index
            .insert_unique(self.hash, position(at), |&i| hash(&entries[i as usize].0));
        &mut map.entries[at].1
    }
}

impl<'a, K: Hash, V> Entry<'a, K, V> {
    /// The value, inserted as `default` if the key was not there.
    #[cfg(test)]
    pub(crate) fn or_insert(self, default: V) -> &'a mut V {
        match self {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => entry.insert(default),
        }
    }
}

impl<K: Hash + Eq, V> SlabMap<K, V> {
    /// The position of `key`'s entry.
    #[inline]
    fn find(&self, hash: u64, key: &K) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(hash, |&at| entries[at as usize].0 == *key)
            .map(|&at| at as usize)
    }

    /// The value of `key`.
    #[inline]
    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        let at = self.find(hash(key), key)?;
        Some(&self.entries[at].1)
    }

    /// The value of `key`, to change.
    #[inline]
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let at = self.find(hash(key), key)?;
        Some(&mut self.entries[at].1)
    }

    /// The place of `key`, to read, change or fill.
    #[inline]
    pub(crate) fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        let hash = hash(&key);
        match self.find(hash, &key) {
            Some(at) => Entry::Occupied(OccupiedEntry {
                value: &mut self.entries[at].1,
            }),
            None => {
                if self.index.len() == self.index.capacity() {
                    self.grow_index();
                }
                Entry::Vacant(VacantEntry {
                    map: self,
                    key,
                    hash,
                })
            }
        }
    }

    /// Make room in the index for as many entries again, before `hashbrown`
    /// would: its own resize reads each entry's key through the hasher, at
    /// random places of the slab, where walking the slab reads them in
    /// order (the same reason as the Adj-RIB-Out table's index,
    /// `crate::adj_out`'s `Table::grow_index`).
    fn grow_index(&mut self) {
        let hashed = self.entries.iter_from(0);
        let hashed = hashed.map(|(at, (key, _))| (hash(key), position(at)));
        self.index = chunked::index_with_room(self.entries.len(), hashed);
    }

    /// Remove `key`; its value. The last entry moves into its place.
    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let hash_of_key = hash(key);
        let entries = &self.entries;
        let found = self
            .index
            .find_entry(hash_of_key, |&at| entries[at as usize].0 == *key)
            .ok()?;
        let at = *found.get() as usize;
        found.remove();
        let last = self.entries.len() - 1;
        if at != last {
            let moved = hash(&self.entries[last].0);
            if let Ok(mut bucket) = self.index.find_entry(moved, |&i| i as usize == last) {
                *bucket.get_mut() = position(at);
            }
        }
        Some(self.entries.swap_remove(at).1)
    }

    /// Keep the entries `keep` accepts (it may change their values).
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        let before = self.entries.len();
        self.entries.retain_mut(|(key, value)| keep(key, value));
        if self.entries.len() != before {
            // Positions moved: index the kept entries again.
            self.grow_index();
        }
    }
}

impl<K, V> SlabMap<K, V> {
    /// Keys held.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes allocated for the slab and the index (each bucket of the index
    /// is a `u32` and a control byte; `hashbrown` keeps at most 7/8 of its
    /// buckets full).
    pub(crate) fn allocated_bytes(&self) -> usize {
        let capacity = self.index.capacity();
        let buckets = match capacity {
            0 => 0,
            1..=3 => 4,
            4..=7 => 8,
            _ => (capacity * 8 / 7).next_power_of_two(),
        };
        self.entries.capacity() * std::mem::size_of::<(K, V)>()
            + buckets * (std::mem::size_of::<u32>() + 1)
    }

    /// Every value, to change.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, value)| value)
    }

    /// Every entry, in slab order.
    pub(crate) fn iter(&self) -> Iter<'_, K, V> {
        Iter {
            inner: self.entries.iter(),
            remaining: self.len(),
        }
    }
}

/// The entries of a [`SlabMap`], in slab order.
#[derive(Debug)]
pub(crate) struct Iter<'a, K, V> {
    inner: chunked::Iter<'a, (K, V)>,
    remaining: usize,
}

impl<'a, K, V> Iterator for Iter<'a, K, V> {
    type Item = (&'a K, &'a V);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let (key, value) = self.inner.next()?;
        self.remaining -= 1;
        Some((key, value))
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
    fn entries_go_in_and_out_like_a_std_map() {
        let mut map: SlabMap<V4Key, u32> = SlabMap::default();
        for i in 0..10_000 {
            *map.entry(v4(i)).or_insert(0) += i;
        }
        *map.entry(v4(5)).or_insert(0) += 2;
        assert_eq!(map.len(), 10_000);
        assert_eq!(map.get(&v4(5)), Some(&7));
        assert_eq!(map.get(&v4(77)), Some(&77));
        *map.get_mut(&v4(77)).unwrap() = 1;
        assert_eq!(map.remove(&v4(77)), Some(1));
        assert_eq!(map.remove(&v4(77)), None);
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
    fn every_key_is_found_after_removals_moved_the_last_entries() {
        let mut map: SlabMap<V4Key, u32> = SlabMap::default();
        let n = 3 * crate::chunked::CHUNK as u32 + 17;
        for i in 0..n {
            map.entry(v4(i)).or_insert(i);
        }
        // Remove from the front, the middle and the very end.
        let gone = |i: u32| i % 5 == 0 || i == n - 1;
        for i in (0..n).filter(|&i| gone(i)) {
            assert_eq!(map.remove(&v4(i)), Some(i), "{i}");
        }
        for i in 0..n {
            assert_eq!(map.get(&v4(i)).copied(), (!gone(i)).then_some(i), "{i}");
        }
        assert_eq!(map.len(), map.iter().count());
        // Growing again after the removals still finds everything.
        for i in n..2 * n {
            map.entry(v4(i)).or_insert(i);
        }
        assert!((n..2 * n).all(|i| map.get(&v4(i)) == Some(&i)));
        assert!((0..n).all(|i| map.get(&v4(i)).is_some() != gone(i)));
    }

    #[test]
    fn the_index_costs_a_few_bytes_an_entry() {
        let mut map: SlabMap<V4Key, u64> = SlabMap::default();
        assert_eq!(map.allocated_bytes(), 0);
        let n = 100_000;
        for i in 0..n {
            map.entry(v4(i)).or_insert(0);
        }
        let slab = map.entries.capacity() * 16;
        assert!(slab < n as usize * 16 + crate::chunked::CHUNK * 16);
        let index = map.allocated_bytes() - slab;
        assert!(index <= 2 * n as usize * 5, "{index}");
        assert!(index >= n as usize * 5, "{index}");
    }
}
