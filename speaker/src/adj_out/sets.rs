//! The exported attribute sets of one update group, numbered, with plain
//! (non-atomic) counts of the routes and pending changes that hold them.
//!
//! The group's table names a route's set by its [`SetId`] instead of holding
//! a clone of the [`Attrs`] `Arc`. Cloning and dropping an `Arc` is an
//! atomic read-modify-write on a counter that every prefix of a received
//! UPDATE shares, and on x86 each one also waits for every store before it
//! to leave the store buffer; `perf record` put three quarters of the time
//! of a group's export step on that one clone per route. Here a route costs
//! an increment of a `u32`, and the `Arc` is cloned once per distinct set.
//!
//! ```text
//! let a = sets.acquire(&attrs);   // a new set: the Arc is cloned, holds 1
//! sets.retain(a);                 // holds 2
//! sets.release(a);                // holds 1
//! sets.release(a);                // holds 0: the Arc is dropped, `a` reused
//! ```

use rustc_hash::FxHashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use crate::attrs::Attrs;

/// A set's number in its group's [`Sets`] (4 bytes, and `Option<SetId>` too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct SetId(NonZeroU32);

impl SetId {
    fn index(self) -> usize {
        self.0.get() as usize - 1
    }

    /// A number made up for tests of what only stores numbers.
    #[cfg(test)]
    pub fn for_test(number: NonZeroU32) -> Self {
        SetId(number)
    }
}

#[derive(Debug)]
struct Held {
    attrs: Attrs,
    holds: u32,
}

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Sets {
    /// By [`SetId::index`]; `None` for a number free for reuse.
    entries: Vec<Option<Held>>,
    /// The number of each held set, by the address of its allocation (which
    /// cannot be reused while the entry holds the `Arc`).
    by_address: FxHashMap<usize, SetId>,
    free: Vec<SetId>,
}

impl Sets {
    /// The number of `attrs`, with one more hold on it.
    pub fn acquire(&mut self, attrs: &Attrs) -> SetId {
        let address = Arc::as_ptr(attrs) as usize;
        if let Some(&id) = self.by_address.get(&address) {
            self.retain(id);
            return id;
        }
        let held = Held {
            attrs: attrs.clone(),
            holds: 1,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.entries[id.index()] = Some(held);
                id
            }
            None => {
                self.entries.push(Some(held));
                // One entry per distinct set: 2^32 of them would not fit in memory.
                let number = u32::try_from(self.entries.len()).expect("fewer than 2^32 sets");
                SetId(NonZeroU32::new(number).expect("at least one entry"))
            }
        };
        self.by_address.insert(address, id);
        id
    }

    /// One more hold on `id`, which must be held.
    pub fn retain(&mut self, id: SetId) {
        self.held_mut(id).holds += 1;
    }

    /// One hold fewer on `id`; the last one drops the set's `Arc`.
    pub fn release(&mut self, id: SetId) {
        let held = self.held_mut(id);
        held.holds -= 1;
        if held.holds == 0 {
            if let Some(held) = self.entries[id.index()].take() {
                self.by_address.remove(&(Arc::as_ptr(&held.attrs) as usize));
            }
            self.free.push(id);
        }
    }

    /// The set numbered `id`, which must be held.
    pub fn get(&self, id: SetId) -> &Attrs {
        match &self.entries[id.index()] {
            Some(held) => &held.attrs,
            None => unreachable!("set {id:?} is not held"),
        }
    }

    fn held_mut(&mut self, id: SetId) -> &mut Held {
        match &mut self.entries[id.index()] {
            Some(held) => held,
            None => unreachable!("set {id:?} is not held"),
        }
    }

    /// Distinct sets held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.by_address.len()
    }

    /// Holds on `id` (0 when it is not held).
    #[cfg(test)]
    pub fn holds(&self, id: SetId) -> u32 {
        self.entries
            .get(id.index())
            .and_then(Option::as_ref)
            .map_or(0, |held| held.holds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::PathAttrs;
    use bgp_proto::attribute::NextHop;
    use std::net::Ipv4Addr;

    fn attrs(n: u8) -> Attrs {
        Arc::new(PathAttrs {
            next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, n)),
            attributes: vec![],
        })
    }

    #[test]
    fn a_set_is_cloned_once_counted_per_hold_and_dropped_with_its_last_hold() {
        let mut sets = Sets::default();
        let (x, y) = (attrs(1), attrs(2));
        let a = sets.acquire(&x);
        assert_eq!(sets.acquire(&x), a, "the same set, the same number");
        sets.retain(a);
        assert_eq!((sets.holds(a), Arc::strong_count(&x)), (3, 2));
        let b = sets.acquire(&y);
        assert_ne!(a, b);
        assert!(Arc::ptr_eq(sets.get(a), &x) && Arc::ptr_eq(sets.get(b), &y));
        for _ in 0..3 {
            sets.release(a);
        }
        assert_eq!((sets.holds(a), sets.len()), (0, 1));
        assert_eq!(Arc::strong_count(&x), 1, "the last hold dropped the clone");
        let z = attrs(3);
        let c = sets.acquire(&z);
        assert_eq!(c, a, "the free number is reused");
        assert!(Arc::ptr_eq(sets.get(c), &z));
        let again = sets.acquire(&x);
        assert_ne!(
            again, c,
            "a set released and seen again gets a number of its own"
        );
        assert_eq!(sets.len(), 3);
        assert_eq!(std::mem::size_of::<Option<SetId>>(), 4);
    }
}
