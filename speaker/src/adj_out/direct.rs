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
//!
//! Each noted state names the peer its path came from, as a member is not
//! sent its own routes: a best path that moves to another source is sent
//! even with the same exported attributes (the old source gets it now,
//! the new one gets a withdrawal, [`Window::replaced_by_own`]).

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use rustc_hash::{FxBuildHasher, FxHashMap};
use std::hash::BuildHasher;
use std::sync::Arc;

use crate::attrs::Attrs;
use crate::types::{Path, PeerId};

use bgp_proto::iana::AfiSafi;

use super::encode::Outgoing;
use super::export::NotExported;
use super::sources::SourceCounts;
use super::table::{PackedKey, RouteKey};

/// An exported attribute set of the window, by its position in
/// [`Window::sets`]: noting a route costs no reference count.
pub(crate) type SetId = u32;

/// What the group had exported of a prefix when the window began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Before {
    /// Nothing: no path, or a best path the group does not export.
    Nothing,
    /// This set, from a path of this peer.
    Sent(SetId, PeerId),
    /// Not known: the previous best path's source (this peer) is no longer
    /// known ([`super::NotExported::UnknownSource`]). A withdrawal is sent
    /// whenever nothing is exported now, as it may have been advertised.
    Unknown(PeerId),
}

impl Before {
    /// The source of what may have been advertised.
    fn source(self) -> Option<PeerId> {
        match self {
            Before::Nothing => None,
            Before::Sent(_, peer) | Before::Unknown(peer) => Some(peer),
        }
    }
}

/// One changed prefix of the window.
#[derive(Debug, Clone, Copy)]
struct Noted {
    key: PackedKey,
    before: Before,
    /// What the group exports now and the peer it came from (`None`:
    /// withdrawn).
    after: Option<(SetId, PeerId)>,
}

/// A path's source as far as its export goes: its attribute set (by
/// address), its peer and family. Only used within one batch of changes,
/// whose paths hold every set they name, so no address is reused meanwhile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Source {
    attrs: usize,
    peer: PeerId,
    family: AfiSafi,
}

impl Source {
    fn of(path: &Path, family: AfiSafi) -> Self {
        Source {
            attrs: Arc::as_ptr(&path.attrs) as usize,
            peer: path.peer,
            family,
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

fn hash(key: &PackedKey) -> u64 {
    FxBuildHasher.hash_one(key)
}

/// The changes noted since the last flush, one per prefix, and the number
/// of routes advertised as of the last flush.
#[derive(Debug, Default)]
pub(crate) struct Window {
    noted: Vec<Noted>,
    /// Positions in `noted` (4 bytes a bucket: a window of a few thousand
    /// prefixes keeps its index in the first-level cache).
    index: HashTable<u32>,
    /// The exported sets the noted routes name.
    sets: Vec<Attrs>,
    /// The export result of each source seen in this batch (see
    /// [`Window::result`]), and the last one looked up.
    results: FxHashMap<Source, Result<SetId, NotExported>>,
    last: Option<(Source, Result<SetId, NotExported>)>,
    /// Routes advertised as of the last flush.
    routes: usize,
    /// Those routes by source.
    sources: SourceCounts,
}

impl Window {
    /// Empty, with `routes` advertised, counted by source in `sources`.
    pub fn new(routes: usize, sources: SourceCounts) -> Self {
        Window {
            routes,
            sources,
            ..Window::default()
        }
    }

    /// Routes advertised as of the last flush.
    pub fn routes(&self) -> usize {
        self.routes
    }

    /// Routes advertised as of the last flush whose source is `peer`.
    pub fn routes_from(&self, peer: PeerId) -> usize {
        self.sources.of(peer)
    }

    /// Prefixes noted since the last flush.
    pub fn len(&self) -> usize {
        self.noted.len()
    }

    /// Is nothing noted?
    pub fn is_empty(&self) -> bool {
        self.noted.is_empty()
    }

    /// The id of an exported set, the last one's if it is the same.
    pub fn set_id(&mut self, attrs: Attrs) -> SetId {
        match self.sets.last() {
            Some(last) if Arc::ptr_eq(last, &attrs) => (self.sets.len() - 1) as SetId,
            _ => {
                self.sets.push(attrs);
                (self.sets.len() - 1) as SetId
            }
        }
    }

    /// The export result kept for `path` in `family`, if a path of the same
    /// set from the same peer was exported in this batch.
    pub fn result(&mut self, path: &Path, family: AfiSafi) -> Option<Result<SetId, NotExported>> {
        let source = Source::of(path, family);
        if let Some((last, result)) = self.last {
            if last == source {
                return Some(result);
            }
        }
        let result = *self.results.get(&source)?;
        self.last = Some((source, result));
        Some(result)
    }

    /// Keep `result` as the export of `path` in `family` for this batch.
    pub fn keep_result(
        &mut self,
        path: &Path,
        family: AfiSafi,
        result: Result<SetId, NotExported>,
    ) {
        let source = Source::of(path, family);
        self.results.insert(source, result);
        self.last = Some((source, result));
    }

    /// A batch begins: forget the results (the sets they name by address
    /// may be gone, and the peers' records may change between batches).
    pub fn forget_results(&mut self) {
        self.results.clear();
        self.last = None;
    }

    /// Note a change of a prefix: `before` counts only for the first change
    /// of the prefix in this window, `after` replaces what a change before
    /// it in the window noted. One probe of the index.
    pub fn note(&mut self, key: &RouteKey, before: Before, after: Option<(SetId, PeerId)>) {
        let key = PackedKey::pack(key);
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

    /// Does the flush send `noted`? (Called twice per route of a flush.)
    #[inline]
    fn is_sent(&self, noted: &Noted) -> bool {
        match (noted.before, noted.after) {
            (Before::Nothing, after) => after.is_some(),
            (Before::Sent(before, from), Some((after, source))) => {
                from != source
                    || (before != after
                        && !same(&self.sets[before as usize], &self.sets[after as usize]))
            }
            (Before::Sent(..), None) | (Before::Unknown(_), _) => true,
        }
    }

    /// The changes to send, in the order they were first noted.
    pub fn to_send(&self) -> impl Iterator<Item = (RouteKey, Outgoing<'_>)> + '_ {
        self.noted.iter().filter(|n| self.is_sent(n)).map(|n| {
            let state = match n.after {
                Some((id, source)) => Outgoing::Announce(&self.sets[id as usize], source),
                None => Outgoing::Withdraw(n.before.source()),
            };
            (n.key.unpack(), state)
        })
    }

    /// The routes sent whose new source is another peer than the one of
    /// what was advertised before: that peer (the new source) held the
    /// route from another source and now gets a withdrawal instead of its
    /// own route.
    pub fn replaced_by_own(&self) -> impl Iterator<Item = (PeerId, RouteKey)> + '_ {
        self.noted.iter().filter_map(|n| {
            let (_, source) = n.after?;
            let before = n.before.source()?;
            (before != source && self.is_sent(n)).then(|| (source, n.key.unpack()))
        })
    }

    /// The window was sent: count the routes and start the next one. The
    /// memory of an exceptional window (a peer with many routes gone at
    /// once) is given back.
    pub fn sent(&mut self) {
        for noted in &self.noted {
            if !self.is_sent(noted) {
                continue;
            }
            // An unknown previous state counts as advertised.
            let had = noted.before != Before::Nothing;
            match (had, noted.after.is_some()) {
                (false, true) => self.routes += 1,
                (true, false) => self.routes = self.routes.saturating_sub(1),
                _ => {}
            }
            let after = noted.after.map(|(_, source)| source);
            self.sources.change(noted.before.source(), after);
        }
        self.sets.clear();
        self.forget_results();
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
    use super::super::table::tests::key;
    use super::*;
    use crate::attrs::{AttrInterner, PathAttrs};
    use bgp_proto::attribute::{NextHop, PathAttribute};
    use std::net::Ipv4Addr;

    /// The source of the tests' routes.
    const P: PeerId = PeerId(7);

    fn set(interner: &mut AttrInterner, med: u32) -> Attrs {
        interner.intern(PathAttrs {
            next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
            attributes: vec![PathAttribute::MultiExitDisc(med)],
        })
    }

    fn sent(window: &Window) -> Vec<(RouteKey, Option<Attrs>)> {
        window
            .to_send()
            .map(|(k, state)| match state {
                Outgoing::Announce(a, _) => (k, Some(a.clone())),
                Outgoing::Withdraw(_) => (k, None),
            })
            .collect()
    }

    #[test]
    fn only_prefixes_whose_export_changed_are_sent_and_counted() {
        let mut interner = AttrInterner::new();
        let (a, b) = (set(&mut interner, 1), set(&mut interner, 2));
        let mut window = Window::new(10, SourceCounts::default());
        let ia = window.set_id(a.clone());
        let ib = window.set_id(b.clone());
        // A set equal to `a` but made anew: the same route.
        let a2 = window.set_id(Arc::new((*a).clone()));
        assert_ne!(ia, a2);
        window.note(&key(1), Before::Nothing, Some((ia, P))); // new: +1
        window.note(&key(2), Before::Sent(ia, P), Some((a2, P))); // same
        window.note(&key(3), Before::Sent(ia, P), Some((ib, P))); // replaced
        window.note(&key(4), Before::Sent(ib, P), None); // withdrawn: -1
        window.note(&key(5), Before::Nothing, None); // never sent
        window.note(&key(6), Before::Unknown(P), None); // maybe sent: -1
        assert_eq!(
            sent(&window),
            vec![
                (key(1), Some(a.clone())),
                (key(3), Some(b.clone())),
                (key(4), None),
                (key(6), None),
            ]
        );
        window.sent();
        assert_eq!((window.routes(), window.len()), (9, 0));
        assert!(sent(&window).is_empty());
    }

    #[test]
    fn a_later_change_in_the_window_replaces_what_is_sent_not_what_was_before() {
        let mut interner = AttrInterner::new();
        let a = set(&mut interner, 1);
        let mut window = Window::new(0, SourceCounts::default());
        let ia = window.set_id(a.clone());
        assert_eq!(window.set_id(a.clone()), ia, "the last set again");
        window.note(&key(1), Before::Nothing, Some((ia, P)));
        window.note(&key(1), Before::Sent(ia, P), None);
        assert_eq!(window.len(), 1);
        assert!(sent(&window).is_empty(), "announced and withdrawn");
        window.note(&key(2), Before::Sent(ia, P), None);
        window.note(&key(2), Before::Nothing, Some((ia, P)));
        assert!(sent(&window).is_empty(), "withdrawn and back");
        window.sent();
        assert_eq!(window.routes(), 0);
    }
}
