//! The pending changes of an update group's table: the latest state of each
//! route changed since the last commit, **in the order the routes were
//! first changed**.
//!
//! Coalescing (a route changed five times between two flushes is sent once,
//! in its latest state) needs a look-up by route; the order is what a hash
//! map would lose. Kept in arrival order, the prefixes of one received
//! UPDATE, which share one attribute set, stay next to each other up to the
//! encoder, which then groups them by set without a look-up per prefix
//! (`super::encode`), and the commit reads the changes sequentially.
//!
//! # Layout
//! - [`Pending`]: a vector of `(key, state)` in first-change order, and an
//!   index of positions in it hashed by key (5 bytes a bucket instead of a
//!   second copy of each 32-byte entry).
//!
//! ```text
//! pending.set(a, Some(x));
//! pending.set(b, Some(y));
//! pending.set(a, None);          // a keeps its place, takes the new state
//! pending.drain() == [(a, None), (b, Some(y))]
//! ```

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;

use crate::attrs::Attrs;

use super::table::PackedKey;

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// Positions in `changes`, hashed by their key.
    index: HashTable<u32>,
    /// Each changed route once, in first-change order, with its latest state.
    changes: Vec<(PackedKey, Option<Attrs>)>,
}

fn hash(key: &PackedKey) -> u64 {
    FxBuildHasher.hash_one(key)
}

impl Pending {
    /// Routes pending.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// Record the latest state of `key`: a route already pending keeps its
    /// place and takes the new state.
    pub fn set(&mut self, key: PackedKey, attrs: Option<Attrs>) {
        let hash_of_key = hash(&key);
        let changes = &self.changes;
        // One probe finds the route or where its index entry goes.
        let entry = self.index.entry(
            hash_of_key,
            |&at| changes[at as usize].0 == key,
            |&i| hash(&changes[i as usize].0),
        );
        match entry {
            Entry::Occupied(entry) => self.changes[*entry.get() as usize].1 = attrs,
            Entry::Vacant(entry) => {
                // A pending route per 32-byte entry: 2^32 of them would
                // not fit in memory.
                let at = u32::try_from(self.changes.len()).expect("fewer than 2^32 pending routes");
                self.changes.push((key, attrs));
                entry.insert(at);
            }
        }
    }

    /// Take every pending change, in first-change order; the allocations
    /// are kept for the next batch.
    pub fn drain(&mut self) -> std::vec::Drain<'_, (PackedKey, Option<Attrs>)> {
        self.index.clear();
        self.changes.drain(..)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adj_out::table::RouteKey;
    use crate::attrs::PathAttrs;
    use bgp_proto::attribute::NextHop;
    use bgp_proto::iana::AfiSafi;
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    fn key(i: u32) -> PackedKey {
        PackedKey::pack(&RouteKey {
            family: AfiSafi::IPV4_UNICAST,
            prefix: ipnetwork::IpNetwork::new(Ipv4Addr::from(i << 8).into(), 24).unwrap(),
            path_id: 0,
        })
    }

    fn attrs(n: u8) -> Attrs {
        Arc::new(PathAttrs {
            next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, n)),
            attributes: vec![],
        })
    }

    #[test]
    fn changes_come_back_once_each_in_first_change_order_with_the_latest_state() {
        let mut pending = Pending::default();
        let (x, y) = (attrs(1), attrs(2));
        // Enough routes to make the index grow several times.
        for i in (0..10_000).rev() {
            pending.set(key(i), Some(x.clone()));
        }
        pending.set(key(9_999), None);
        pending.set(key(0), Some(y.clone()));
        pending.set(key(20_000), Some(y.clone()));
        assert_eq!(pending.len(), 10_001);
        let drained: Vec<_> = pending.drain().collect();
        assert_eq!(drained.len(), 10_001);
        assert_eq!(drained[0], (key(9_999), None), "first changed, last state");
        assert_eq!(drained[1].0, key(9_998));
        assert_eq!(drained[9_999].0, key(0));
        assert!(Arc::ptr_eq(drained[9_999].1.as_ref().unwrap(), &y));
        assert_eq!(drained[10_000].0, key(20_000));
        assert_eq!(pending.len(), 0);
        // Reused after a drain: nothing of the last batch is found again.
        pending.set(key(5), Some(x));
        pending.set(key(5), None);
        let again: Vec<_> = pending.drain().collect();
        assert_eq!(again, vec![(key(5), None)]);
    }
}
