//! What a group without a table of its own sends at the next flush.
//!
//! While every member of a group without ADD-PATH is in sync, the group
//! advertises, for every prefix, what it exports of the prefix's best path
//! in the Loc-RIB as it stood at the last flush (RFC 4271 section 9.1.3:
//! only the best path is advertised). The Loc-RIB already holds that, so
//! the group keeps no copy: between two flushes it notes, per changed
//! prefix, what it exported before the window (from the first change's
//! [`crate::types::RibChange::previous_best`]) and what it exports now (the
//! last change's best path), and the flush sends the prefixes where the two
//! differ. A prefix changed five times in a window is sent once; one
//! announced and withdrawn again is not sent; a second path that does not
//! become the best sends nothing.

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;
use std::sync::Arc;

use crate::attrs::Attrs;

use super::table::{PackedKey, RouteKey};

/// What the group had exported of a prefix when the window began.
#[derive(Debug, Clone)]
pub(crate) enum Before {
    /// Nothing: no path, or a best path the group does not export.
    Nothing,
    /// These attributes.
    Sent(Attrs),
    /// Not known: the previous best path's source is no longer known
    /// ([`super::NotExported::UnknownSource`]). A withdrawal is sent
    /// whenever nothing is exported now, as it may have been advertised.
    Unknown,
}

/// One changed prefix of the window.
#[derive(Debug, Clone)]
pub(crate) struct Noted {
    pub key: RouteKey,
    pub before: Before,
    /// What the group exports now (`None`: withdrawn).
    pub after: Option<Attrs>,
}

impl Noted {
    /// Does the flush send it?
    pub fn is_sent(&self) -> bool {
        match (&self.before, &self.after) {
            (Before::Nothing, after) => after.is_some(),
            (Before::Sent(before), Some(after)) => !same(before, after),
            (Before::Sent(_), None) | (Before::Unknown, _) => true,
        }
    }

    /// How the number of advertised routes moves when it is sent: +1, 0
    /// or -1 (an unknown previous state counts as advertised).
    fn route_delta(&self) -> isize {
        let had = !matches!(self.before, Before::Nothing);
        match (had, self.after.is_some()) {
            (false, true) => 1,
            (true, false) => -1,
            _ => 0,
        }
    }
}

/// Two exported sets are the same route to a receiver: exported sets are
/// interned, so equal sets are one allocation, but a set can be made anew
/// after its last holder dropped it.
fn same(a: &Attrs, b: &Attrs) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// Entries a window keeps room for between flushes: a few of the core's
/// batches.
const KEPT_CAPACITY: usize = 16 * 1024;

fn hash(key: &RouteKey) -> u64 {
    FxBuildHasher.hash_one(PackedKey::pack(key))
}

/// The changes noted since the last flush, one per prefix, and the number
/// of routes advertised as of the last flush.
#[derive(Debug, Default)]
pub(crate) struct Window {
    noted: Vec<Noted>,
    /// Positions in `noted` (4 bytes a bucket: a window of a few thousand
    /// prefixes keeps its index in the first-level cache).
    index: HashTable<u32>,
    /// Routes advertised to every member as of the last flush.
    routes: usize,
}

impl Window {
    /// Empty, with `routes` advertised.
    pub fn new(routes: usize) -> Self {
        Window {
            routes,
            ..Window::default()
        }
    }

    /// Routes advertised as of the last flush.
    pub fn routes(&self) -> usize {
        self.routes
    }

    /// Prefixes noted since the last flush.
    pub fn len(&self) -> usize {
        self.noted.len()
    }

    /// Is nothing noted?
    pub fn is_empty(&self) -> bool {
        self.noted.is_empty()
    }

    /// The prefix's entry, if it changed already in this window.
    #[cfg(test)]
    pub fn get_mut(&mut self, key: &RouteKey) -> Option<&mut Noted> {
        let noted = &self.noted;
        let at = *self
            .index
            .find(hash(key), |&at| noted[at as usize].key == *key)?;
        Some(&mut self.noted[at as usize])
    }

    /// Note a change of a prefix: `before` counts only for the first change
    /// of the prefix in this window, `after` replaces what a change before
    /// it in the window noted. One probe of the index.
    pub fn note(&mut self, key: RouteKey, before: Before, after: Option<Attrs>) {
        let noted = &mut self.noted;
        let entry = self.index.entry(
            hash(&key),
            |&at| noted[at as usize].key == key,
            |&at| hash(&noted[at as usize].key),
        );
        match entry {
            Entry::Occupied(entry) => noted[*entry.get() as usize].after = after,
            Entry::Vacant(entry) => {
                entry.insert(noted.len() as u32);
                noted.push(Noted { key, before, after });
            }
        }
    }

    /// The changes to send, in the order they were first noted.
    pub fn to_send(&self) -> impl Iterator<Item = (RouteKey, Option<&Attrs>)> + '_ {
        self.noted
            .iter()
            .filter(|n| n.is_sent())
            .map(|n| (n.key, n.after.as_ref()))
    }

    /// The window was sent: count the routes and start the next one. The
    /// memory of an exceptional window (a peer with many routes gone at
    /// once) is given back.
    pub fn sent(&mut self) {
        for noted in self.noted.iter().filter(|n| n.is_sent()) {
            self.routes = self.routes.saturating_add_signed(noted.route_delta());
        }
        if self.noted.capacity() > KEPT_CAPACITY {
            self.noted = Vec::new();
            self.index = HashTable::new();
        } else {
            self.noted.clear();
            self.index.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::{AttrInterner, PathAttrs};
    use bgp_proto::attribute::{NextHop, PathAttribute};
    use bgp_proto::iana::AfiSafi;
    use std::net::Ipv4Addr;

    fn key(i: u8) -> RouteKey {
        RouteKey {
            family: AfiSafi::IPV4_UNICAST,
            prefix: format!("10.{i}.0.0/16").parse().unwrap(),
            path_id: 0,
        }
    }

    fn set(interner: &mut AttrInterner, med: u32) -> Attrs {
        interner.intern(PathAttrs {
            next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
            attributes: vec![PathAttribute::MultiExitDisc(med)],
        })
    }

    #[test]
    fn only_prefixes_whose_export_changed_are_sent_and_counted() {
        let mut interner = AttrInterner::new();
        let (a, b) = (set(&mut interner, 1), set(&mut interner, 2));
        let mut window = Window::new(10);
        window.note(key(1), Before::Nothing, Some(a.clone())); // new: +1
        window.note(key(2), Before::Sent(a.clone()), Some(a.clone())); // same
        window.note(key(3), Before::Sent(a.clone()), Some(b.clone())); // replaced
        window.note(key(4), Before::Sent(b.clone()), None); // withdrawn: -1
        window.note(key(5), Before::Nothing, None); // never sent
        window.note(key(6), Before::Unknown, None); // maybe sent: -1
        let sent: Vec<_> = window.to_send().map(|(k, a)| (k, a.cloned())).collect();
        assert_eq!(
            sent,
            vec![
                (key(1), Some(a.clone())),
                (key(3), Some(b.clone())),
                (key(4), None),
                (key(6), None),
            ]
        );
        window.sent();
        assert_eq!((window.routes(), window.len()), (9, 0));
        assert!(window.get_mut(&key(1)).is_none());
    }

    #[test]
    fn a_later_change_in_the_window_replaces_what_is_sent_not_what_was_before() {
        let mut interner = AttrInterner::new();
        let a = set(&mut interner, 1);
        let mut window = Window::new(0);
        window.note(key(1), Before::Nothing, Some(a.clone()));
        window.note(key(1), Before::Sent(a.clone()), None);
        assert_eq!(window.len(), 1);
        assert_eq!(window.to_send().count(), 0, "announced and withdrawn");
        window.note(key(2), Before::Sent(a.clone()), None);
        window.note(key(2), Before::Nothing, Some(a.clone()));
        assert_eq!(window.to_send().count(), 0, "withdrawn and back");
        window.sent();
        assert_eq!(window.routes(), 0);
    }
}
