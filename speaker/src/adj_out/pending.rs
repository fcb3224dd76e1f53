//! The pending changes of an update group's table: the latest state of each
//! route changed since the last commit, **in the order the routes were
//! first changed**, named by the route's slot in the table.
//!
//! The table finds (or makes) a route's slot when the change arrives, with
//! the one hash probe that the route needs per batch; the pending set then
//! only has to know whether that slot is already pending, which a bit per
//! slot answers, so the commit reads the changes sequentially and probes
//! nothing. Kept in arrival order, the prefixes of one received UPDATE,
//! which share one attribute set, stay next to each other up to the
//! encoder, which then groups them by set without a look-up per prefix
//! (`super::encode`).
//!
//! Coalescing (a route changed five times between two flushes is sent once,
//! in its latest state): a slot changed again before the commit keeps its
//! first place, and its latest state goes into a small map of repeats that
//! the drain consults while it is not empty. Most batches change each route
//! once, and then the map stays empty.
//!
//! # Layout
//! - [`Pending`]: a vector of `(slot, state)` in first-change order, a bit
//!   per slot of the table (1 bit a route instead of a 5-byte index bucket
//!   and a second copy of the key), and the repeats.
//!
//! ```text
//! pending.set(a, Some(x));
//! pending.set(b, Some(y));
//! pending.set(a, None);          // a keeps its place, takes the new state
//! pending.drain() == [(a, None), (b, Some(y))]
//! ```

use rustc_hash::FxHashMap;

/// See the module documentation; `S` is a route's state (the table's
/// `Option<(Attrs, PeerId)>`: withdrawn, or exported with its source).
#[derive(Debug)]
pub(crate) struct Pending<S> {
    /// Each changed slot once, in first-change order, with its first state.
    changes: Vec<(u32, S)>,
    /// One bit per slot: set while the slot is in `changes`.
    marked: Vec<u64>,
    /// The latest state of slots changed more than once since the commit.
    repeats: FxHashMap<u32, S>,
}

fn bit(at: u32) -> (usize, u64) {
    ((at / 64) as usize, 1u64 << (at % 64))
}

impl<S> Default for Pending<S> {
    fn default() -> Self {
        Pending {
            changes: Vec::new(),
            marked: Vec::new(),
            repeats: FxHashMap::default(),
        }
    }
}

impl<S> Pending<S> {
    /// Routes pending.
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    /// Is slot `at` pending?
    pub fn contains(&self, at: u32) -> bool {
        let (word, mask) = bit(at);
        self.marked.get(word).is_some_and(|w| w & mask != 0)
    }

    /// Record the latest state of slot `at`: a slot already pending keeps
    /// its place and takes the new state.
    pub fn set(&mut self, at: u32, attrs: S) {
        let (word, mask) = bit(at);
        if word >= self.marked.len() {
            self.marked.resize(word + 1, 0);
        }
        if self.marked[word] & mask != 0 {
            self.repeats.insert(at, attrs);
        } else {
            self.marked[word] |= mask;
            self.changes.push((at, attrs));
        }
    }

    /// Take every pending change, in first-change order, each with its
    /// latest state; the allocations are kept for the next batch.
    pub fn drain(&mut self) -> impl Iterator<Item = (u32, S)> + '_ {
        let Pending {
            changes,
            marked,
            repeats,
        } = self;
        changes.drain(..).map(move |(at, first)| {
            let (word, mask) = bit(at);
            marked[word] &= !mask;
            let latest = if repeats.is_empty() {
                first
            } else {
                repeats.remove(&at).unwrap_or(first)
            };
            (at, latest)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::{Attrs, PathAttrs};
    use bgp_proto::attribute::NextHop;
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    fn attrs(n: u8) -> Attrs {
        Arc::new(PathAttrs {
            next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, n)),
            attributes: vec![],
        })
    }

    #[test]
    fn changes_come_back_once_each_in_first_change_order_with_the_latest_state() {
        let mut pending: Pending<Option<Attrs>> = Pending::default();
        let (x, y) = (attrs(1), attrs(2));
        for at in (0..10_000).rev() {
            pending.set(at, Some(x.clone()));
        }
        pending.set(9_999, None);
        pending.set(0, Some(y.clone()));
        pending.set(0, Some(x.clone()));
        pending.set(0, Some(y.clone()));
        pending.set(20_000, Some(y.clone()));
        assert_eq!(pending.len(), 10_001);
        assert!(pending.contains(20_000) && pending.contains(0));
        assert!(!pending.contains(10_000) && !pending.contains(1_000_000));
        let drained: Vec<_> = pending.drain().collect();
        assert_eq!(drained.len(), 10_001);
        assert_eq!(drained[0], (9_999, None), "first changed, last state");
        assert_eq!(drained[1].0, 9_998);
        assert_eq!(drained[9_999].0, 0);
        assert!(Arc::ptr_eq(drained[9_999].1.as_ref().unwrap(), &y));
        assert!(Arc::ptr_eq(drained[9_998].1.as_ref().unwrap(), &x));
        assert_eq!(drained[10_000].0, 20_000);
        assert_eq!(pending.len(), 0);
        assert!(!pending.contains(0) && !pending.contains(20_000));
        // Reused after a drain: nothing of the last batch is found again.
        pending.set(5, Some(x));
        pending.set(5, None);
        pending.set(0, Some(y.clone()));
        let again: Vec<_> = pending.drain().collect();
        assert_eq!(again, vec![(5, None), (0, Some(y))]);
        assert!(pending.repeats.is_empty());
    }
}
