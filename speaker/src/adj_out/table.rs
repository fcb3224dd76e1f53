//! One group's Adj-RIB-Out (RFC 4271 section 3.2): what its in-sync members
//! have been sent, with a version per entry, and the pending changes.
//!
//! Every committed change gets the next version of the group and is
//! appended to a change log, so "everything changed after version v" is a
//! scan of the log's tail in change order (records superseded by a later
//! change of the same route are skipped, and compacted away once they are
//! half the log). The log keeps only what a member that is behind still
//! needs: a flush's changes are logged after its pushes ([`Table::settle`])
//! only if some member is behind, and [`Table::forget`] drops the records
//! (and the withdrawn entries, *tombstones*) of versions no member needs,
//! so with every member in sync there are neither. A walk that needs every route (a new
//! member, a route refresh) does not use the log for the old part: it walks
//! the slots themselves ([`Table::live_from`]), then the log after its
//! mark. Each route has at most one entry, so the table, tombstones
//! included, never holds more entries than distinct routes, and the log at
//! most twice as many records: that is the bound on what a slow member
//! costs.
//!
//! A change is looked up in the index once, when it becomes pending
//! ([`Table::set_pending`]): a route the table does not hold yet gets a
//! *fresh* slot there (in the index, with no committed state and version
//! [`FREE`], so neither walks nor counts see it), and the pending set names
//! routes by slot, so [`Table::commit`] probes nothing and frees the fresh
//! slots whose change came to nothing.
//!
//! Each entry keeps the peer its path came from, so that a member is not
//! sent its own routes (see [`super::AdjOut`], "A member's own routes"),
//! and the table counts its routes by source ([`SourceCounts`]).
//!
//! Memory per route (64-bit targets): a 48-byte slot (a 24-byte
//! [`PackedKey`], the attributes, the version, the source) in a chunked slab and 5 bytes
//! per bucket of the index, and a bit of the pending set; plus, only while
//! a member is behind, a 12-byte record (`super::log`) per route changed
//! after the oldest such member's mark.

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};
use rustc_hash::FxBuildHasher;
use std::hash::BuildHasher;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use bgp_proto::iana::{Afi, AfiSafi, Safi};

use crate::attrs::Attrs;
use crate::types::PeerId;

use crate::chunked::{ChunkedVec, index_with_room};

use super::log::{Log, Record};
use super::pending::Pending;
use super::sources::SourceCounts;

/// One advertised route: family, prefix and, for ADD-PATH (RFC 7911
/// section 3), our path identifier (0 without ADD-PATH).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RouteKey {
    /// The family.
    pub family: AfiSafi,
    /// The prefix.
    pub prefix: IpNetwork,
    /// Our ADD-PATH path identifier, 0 without ADD-PATH.
    pub path_id: u32,
}

/// A [`RouteKey`] in 24 bytes (a `RouteKey` is 28, which pads a slot to
/// 48): the address as two words, the path identifier, AFI, SAFI and one
/// byte for the prefix length and the IP version (an IPv6 length 0..=128
/// as is, an IPv4 length as 129 + length). It keeps the prefix exactly as
/// given (host bits included), so two keys are equal exactly when their
/// `RouteKey`s are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PackedKey {
    addr_hi: u64,
    addr_lo: u64,
    path_id: u32,
    afi: u16,
    safi: u8,
    len: u8,
}

/// [`PackedKey::len`] of an IPv4 prefix of length 0.
const V4_LEN_BASE: u8 = 129;

/// [`PackedKey::len`] of a slot on the free list: no prefix has it (IPv6
/// lengths are 0..=128, IPv4 ones 129..=161), so a walk over the slots
/// tells free slots from indexed ones without the free list.
const FREE_LEN: u8 = u8::MAX;

impl std::hash::Hash for PackedKey {
    /// Three words (a derived `Hash` writes each of the six fields).
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.addr_hi);
        state.write_u64(self.addr_lo);
        state.write_u64(
            u64::from(self.path_id)
                | (u64::from(self.afi) << 32)
                | (u64::from(self.safi) << 48)
                | (u64::from(self.len) << 56),
        );
    }
}

impl PackedKey {
    pub(crate) fn pack(key: &RouteKey) -> Self {
        let (addr, len) = match key.prefix {
            IpNetwork::V4(net) => (u128::from(u32::from(net.ip())), V4_LEN_BASE + net.prefix()),
            IpNetwork::V6(net) => (u128::from(net.ip()), net.prefix()),
        };
        PackedKey {
            addr_hi: (addr >> 64) as u64,
            addr_lo: addr as u64,
            path_id: key.path_id,
            afi: key.family.afi.0,
            safi: key.family.safi.0,
            len,
        }
    }

    pub(crate) fn unpack(self) -> RouteKey {
        let addr = (u128::from(self.addr_hi) << 64) | u128::from(self.addr_lo);
        // Both lengths were valid when packed.
        let prefix = if self.len >= V4_LEN_BASE {
            let v4 = Ipv4Addr::from(addr as u32);
            IpNetwork::V4(
                Ipv4Network::new(v4, self.len - V4_LEN_BASE).expect("packed from a valid prefix"),
            )
        } else {
            IpNetwork::V6(
                Ipv6Network::new(Ipv6Addr::from(addr), self.len)
                    .expect("packed from a valid prefix"),
            )
        };
        RouteKey {
            family: AfiSafi {
                afi: Afi(self.afi),
                safi: Safi(self.safi),
            },
            prefix,
            path_id: self.path_id,
        }
    }
}

/// One route's committed state, at a fixed position of [`Table::slots`].
#[derive(Debug)]
struct Slot {
    key: PackedKey,
    /// `None` for a tombstone (or a free slot).
    attrs: Option<Attrs>,
    /// The version of the route's last change; [`FREE`] for a free slot.
    version: u64,
    /// The peer the exported path came from (meaningful with `attrs`).
    source: PeerId,
}

/// The table's slab: a [`ChunkedVec`] of slots, numbered by `u32`; growing
/// adds a chunk and never copies the slots into a table twice the size (a
/// `Vec` would, and hold both while it does).
#[derive(Debug, Default)]
struct Slots(ChunkedVec<Slot>);

impl Slots {
    /// Append `slot`; its number.
    fn push(&mut self, slot: Slot) -> u32 {
        // A slot is 48 bytes: 2^32 of them would not fit in memory.
        u32::try_from(self.0.push(slot)).expect("fewer than 2^32 routes")
    }

    /// Slots in the slab, used or free.
    fn len(&self) -> usize {
        self.0.len()
    }

    /// Every slot from number `from` on, with its number, in slot order.
    fn iter_from(&self, from: u32) -> impl Iterator<Item = (u32, &Slot)> {
        // Slot numbers were `u32`s when pushed.
        self.0
            .iter_from(from as usize)
            .map(|(at, slot)| (at as u32, slot))
    }
}

impl std::ops::Index<u32> for Slots {
    type Output = Slot;
    #[inline]
    fn index(&self, at: u32) -> &Slot {
        &self.0[at as usize]
    }
}

impl std::ops::IndexMut<u32> for Slots {
    #[inline]
    fn index_mut(&mut self, at: u32) -> &mut Slot {
        &mut self.0[at as usize]
    }
}

/// The version of a free slot; committed versions start at 1, so no log
/// record ever matches a free slot.
const FREE: u64 = 0;

/// Log records below this count are never compacted.
const MIN_COMPACT: usize = 4096;

/// See the module documentation.
///
/// The entries live in a chunked slab (`slots`) that never moves a route, found
/// through an index of slot numbers hashed by the slot's key, so the logs
/// name a route by its 4-byte slot and the index costs 5 bytes per bucket
/// instead of a second copy of every key.
#[derive(Debug, Default)]
pub(crate) struct Table {
    slots: Slots,
    /// Slots freed by [`Table::forget`], reused first.
    free: Vec<u32>,
    /// Slot numbers of the used slots, hashed by their key.
    index: HashTable<u32>,
    /// The changes some member that is behind may still need, oldest
    /// first. A record is current when its slot still has the record's
    /// version (12 bytes, where a copy of the key would make it 32).
    log: Log,
    /// Withdrawals, oldest first.
    tombstones: Log,
    tombstone_count: usize,
    /// The latest uncommitted state of each route changed since the last
    /// commit (exported with its source, or withdrawn), in first-change
    /// order.
    pending: Pending<Option<(Attrs, PeerId)>>,
    /// Live routes by source.
    sources: SourceCounts,
    /// Slots of routes with a pending change and no committed state yet
    /// (in the index, neither live nor tombstones).
    fresh: usize,
    version: u64,
}

/// A committed change: the route, its slot, whose state
/// ([`Table::state_at`]) is the route's new one (`None`: withdrawn) until
/// the next change or [`Table::forget`], and the source of its state
/// before (`None`: it was not advertised).
///
/// The change does not hold the attributes itself, which saves a clone of
/// the `Arc` per route and its drop after encoding: two atomic operations
/// on a counter that every prefix of a received UPDATE shares.
pub(crate) type Change = (RouteKey, u32, Option<PeerId>);

fn hash(key: &PackedKey) -> u64 {
    FxBuildHasher.hash_one(key)
}

impl Table {
    /// The version of the last committed change.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Routes advertised (tombstones and fresh slots excluded).
    pub fn live(&self) -> usize {
        self.index.len() - self.tombstone_count - self.fresh
    }

    /// Withdrawn entries kept for members that are behind.
    pub fn tombstones(&self) -> usize {
        self.tombstone_count
    }

    /// Routes whose latest state is not committed yet.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Record the latest state of `key`: `attrs` exported from a path of
    /// `source`, or withdrawn (`None`; `source` is then not used); replaces
    /// any earlier pending state (the latest state wins).
    ///
    /// This is the route's one probe of the index per batch: a route the
    /// table does not hold gets its slot now, *fresh* (no committed state,
    /// version [`FREE`]), and the commit fills it or frees it again. A
    /// withdrawal of a route the table does not hold changes nothing.
    pub fn set_pending(&mut self, key: RouteKey, attrs: Option<Attrs>, source: PeerId) {
        let packed = PackedKey::pack(&key);
        let hash_of_key = hash(&packed);
        if self.index.len() == self.index.capacity() {
            self.grow_index();
        }
        let slots = &self.slots;
        let entry = self.index.entry(
            hash_of_key,
            |&at| slots[at].key == packed,
            |&i| hash(&slots[i].key),
        );
        let at = match entry {
            Entry::Occupied(entry) => *entry.get(),
            Entry::Vacant(_) if attrs.is_none() => return,
            Entry::Vacant(entry) => {
                let slot = Slot {
                    key: packed,
                    attrs: None,
                    version: FREE,
                    source: PeerId::LOCAL,
                };
                let at = match self.free.pop() {
                    Some(at) => {
                        self.slots[at] = slot;
                        at
                    }
                    None => self.slots.push(slot),
                };
                entry.insert(at);
                self.fresh += 1;
                at
            }
        };
        self.pending.set(at, attrs.map(|attrs| (attrs, source)));
    }

    /// Make room in the index for at least as many routes again, before
    /// `hashbrown` would (the table's `entry` grows a full index itself).
    ///
    /// `hashbrown` moves each entry by hashing its key, which is read from
    /// the entry's slot: a read at a random place of the slab (megabytes
    /// for a full table), one cache miss per route at every doubling, and
    /// under callgrind's cache model the largest single source of misses
    /// of a reflected burst. Filling a new index from the slab in slot
    /// order reads the keys sequentially instead; only the writes into the
    /// new index, a few bytes a bucket, land at random.
    ///
    /// After most routes were freed (a large peer went down), the slab is
    /// much larger than the index, and walking it at every doubling while
    /// the table fills again would cost more than the misses it saves: then
    /// the old index names the slots to move.
    fn grow_index(&mut self) {
        let routes = self.index.len();
        let slots = &self.slots;
        self.index = if slots.len() <= 4 * routes {
            let indexed = slots
                .iter_from(0)
                .filter(|(_, slot)| slot.key.len != FREE_LEN);
            index_with_room(routes, indexed.map(|(at, slot)| (hash(&slot.key), at)))
        } else {
            let indexed = self.index.iter().map(|&at| (hash(&slots[at].key), at));
            index_with_room(routes, indexed)
        };
    }

    /// The slot of `key`, if it has one.
    fn find(&self, hash: u64, key: &PackedKey) -> Option<u32> {
        let slots = &self.slots;
        self.index.find(hash, |&at| slots[at].key == *key).copied()
    }

    /// The committed state of slot `at` (a slot a [`Change`] names): the
    /// attributes and the peer they came from.
    pub fn state_at(&self, at: u32) -> Option<(&Attrs, PeerId)> {
        let slot = &self.slots[at];
        slot.attrs.as_ref().map(|attrs| (attrs, slot.source))
    }

    /// The committed state of `key`.
    pub fn entry(&self, key: &RouteKey) -> Option<(&Attrs, PeerId)> {
        let key = PackedKey::pack(key);
        let at = self.find(hash(&key), &key)?;
        self.state_at(at)
    }

    /// The committed attributes of `key`.
    #[cfg(test)]
    pub fn get(&self, key: &RouteKey) -> Option<&Attrs> {
        self.entry(key).map(|(attrs, _)| attrs)
    }

    /// Live routes whose source is `peer`.
    pub fn live_from_source(&self, peer: PeerId) -> usize {
        self.sources.of(peer)
    }

    /// Hand the counts by source over (the table is being dropped).
    pub fn take_sources(&mut self) -> SourceCounts {
        std::mem::take(&mut self.sources)
    }

    /// Commit the pending changes: those that differ from the committed
    /// state get new versions and are returned; the rest (a prefix announced
    /// and withdrawn again, an unchanged set) vanish. The changes come in
    /// the order their routes were first changed since the last commit.
    /// (This is [`Table::commit_into`] and [`Table::settle`] in one, with
    /// the change records kept.)
    #[cfg(test)]
    pub fn commit(&mut self) -> Vec<Change> {
        let mut changes = Vec::new();
        self.commit_into(&mut changes);
        self.settle(&changes, true);
        changes
    }

    /// Commit into `changes` (cleared first), whose allocation the caller
    /// keeps from one flush to the next. The changes are not logged yet:
    /// the caller encodes and sends them, then calls [`Table::settle`] with
    /// them, which logs them only if a member that is behind needs them.
    pub fn commit_into(&mut self, changes: &mut Vec<Change>) {
        changes.clear();
        changes.reserve(self.pending.len());
        let mut pending = std::mem::take(&mut self.pending);
        for (at, new) in pending.drain() {
            let version = self.version + 1;
            let slot = &mut self.slots[at];
            let fresh = slot.version == FREE;
            // A change of source alone is a change: the old source is now
            // sent the route, the new one not.
            let same = match (&slot.attrs, &new) {
                (None, None) => true,
                (Some(old), Some((new, source))) => Arc::ptr_eq(old, new) && slot.source == *source,
                _ => false,
            };
            if same {
                if fresh {
                    // Announced and withdrawn again before any commit.
                    self.release_fresh(at);
                }
                continue;
            }
            if fresh {
                self.fresh -= 1;
            } else if slot.attrs.is_none() {
                self.tombstone_count -= 1;
            }
            if new.is_none() {
                self.tombstone_count += 1;
            }
            let before = slot.attrs.as_ref().map(|_| slot.source);
            let after = new.as_ref().map(|(_, source)| *source);
            self.sources.change(before, after);
            slot.version = version;
            match new {
                Some((attrs, source)) => {
                    slot.attrs = Some(attrs);
                    slot.source = source;
                }
                None => slot.attrs = None,
            }
            let key = slot.key;
            self.version = version;
            changes.push((key.unpack(), at, before));
        }
        // Keep the drained set's allocations for the next batch.
        self.pending = pending;
    }

    /// Finish the commit of `changes` (all of [`Table::commit_into`]'s, in
    /// its order, with nothing changed in between). `keep`: some member is
    /// behind and may need them, so they go into the change log and the
    /// withdrawals into the tombstone log, as records of the versions the
    /// commit gave them. Otherwise nobody will ask for them: no record is
    /// written (with every member in sync, each would be dropped at the end
    /// of the flush anyway; writing them was 4.3 M of the 15 M instructions
    /// of the commits of a 100,000-route burst) and the withdrawn routes
    /// leave the table at once.
    pub fn settle(&mut self, changes: &[Change], keep: bool) {
        for &(_, at, _) in changes {
            let slot = &mut self.slots[at];
            let withdrawn = slot.attrs.is_none();
            if keep {
                let record = Record::new(slot.version, at);
                self.log.push_back(record);
                if withdrawn {
                    self.tombstones.push_back(record);
                }
            } else if withdrawn {
                slot.version = FREE;
                self.tombstone_count -= 1;
                self.unindex(at);
            }
        }
        if keep {
            self.compact();
        }
    }

    /// Take fresh slot `at` out of the index and free it.
    fn release_fresh(&mut self, at: u32) {
        self.unindex(at);
        self.fresh -= 1;
    }

    /// Take slot `at` out of the index and onto the free list.
    fn unindex(&mut self, at: u32) {
        let hash_of_key = hash(&self.slots[at].key);
        if let Ok(entry) = self.index.find_entry(hash_of_key, |&i| i == at) {
            entry.remove();
        }
        self.slots[at].key.len = FREE_LEN;
        self.free.push(at);
    }

    fn is_current(&self, record: Record) -> bool {
        self.slots[record.slot()].version == record.version()
    }

    /// Drop superseded records once they are half of their log.
    fn compact(&mut self) {
        let slots = &self.slots;
        let current = |record: Record| slots[record.slot()].version == record.version();
        if self.log.len() > MIN_COMPACT && self.log.len() > 2 * self.index.len() {
            self.log.retain(current);
        }
        if self.tombstones.len() > MIN_COMPACT && self.tombstones.len() > 2 * self.tombstone_count {
            self.tombstones.retain(current);
        }
    }

    /// Forget change records and tombstones of version `upto` or older:
    /// no member needs them (`u64::MAX` when every member is in sync).
    pub fn forget(&mut self, upto: u64) {
        self.log.drop_upto(upto);
        while let Some(record) = self.tombstones.front() {
            if record.version() > upto {
                break;
            }
            self.tombstones.pop_front();
            if self.is_current(record) {
                let at = record.slot();
                let slot = &mut self.slots[at];
                slot.version = FREE;
                slot.attrs = None;
                self.tombstone_count -= 1;
                if self.pending.contains(at) {
                    // Its pending change still names this slot: keep it,
                    // fresh, for the commit to fill or free.
                    self.fresh += 1;
                } else {
                    self.unindex(at);
                }
            }
        }
        self.compact();
    }

    /// Change records held (only while a member may need them).
    #[cfg(test)]
    pub fn log_len(&self) -> usize {
        self.log.len()
    }

    /// The live entries of `families` whose version is `upto` or older, in
    /// slot order from slot `from`: (slot, route, attributes). Entries
    /// changed later are in the log after `upto`, so a walk of these and
    /// then of [`Table::since`]`(upto)` meets every live route once in its
    /// latest state, however the table changes between the two.
    pub fn live_from<'a>(
        &'a self,
        from: u32,
        families: &'a [AfiSafi],
        upto: u64,
    ) -> impl Iterator<Item = (u32, RouteKey, &'a Attrs, PeerId)> + 'a {
        self.slots.iter_from(from).filter_map(move |(at, slot)| {
            let attrs = slot.attrs.as_ref()?;
            if slot.version > upto {
                return None;
            }
            let key = slot.key.unpack();
            families
                .contains(&key.family)
                .then_some((at, key, attrs, slot.source))
        })
    }

    /// Entries changed after version `after`, oldest change first, with
    /// their state (attributes and source; `None`: withdrawn).
    pub fn since(
        &self,
        after: u64,
    ) -> impl Iterator<Item = (u64, RouteKey, Option<(&Attrs, PeerId)>)> {
        self.log.after(after).filter_map(|record| {
            let slot = &self.slots[record.slot()];
            (slot.version == record.version()).then(|| {
                let state = slot.attrs.as_ref().map(|attrs| (attrs, slot.source));
                (record.version(), slot.key.unpack(), state)
            })
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::attrs::PathAttrs;
    use crate::chunked::CHUNK;
    use bgp_proto::attribute::NextHop;
    use std::net::Ipv4Addr;

    /// The source of the tests' routes.
    const SOURCE: PeerId = PeerId(7);

    /// The IPv4 route 10.`i`.0.0/16 (also used by `direct`'s tests).
    pub(crate) fn key(i: u8) -> RouteKey {
        RouteKey {
            family: AfiSafi::IPV4_UNICAST,
            prefix: format!("10.{i}.0.0/16").parse().unwrap(),
            path_id: 0,
        }
    }

    fn attrs(n: u8) -> Attrs {
        Arc::new(PathAttrs {
            next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, n)),
            attributes: vec![],
        })
    }

    #[test]
    fn a_slot_is_forty_eight_bytes_and_its_key_twenty_four() {
        assert_eq!(std::mem::size_of::<PackedKey>(), 24);
        assert_eq!(std::mem::size_of::<Slot>(), 48);
    }

    #[test]
    fn packed_keys_give_back_the_route_and_keep_v4_and_v6_apart() {
        let route = |family: AfiSafi, prefix: &str, path_id| RouteKey {
            family,
            prefix: prefix.parse().unwrap(),
            path_id,
        };
        let v6 = AfiSafi::IPV6_UNICAST;
        let keys = [
            route(AfiSafi::IPV4_UNICAST, "0.0.0.0/0", 0),
            route(AfiSafi::IPV4_UNICAST, "255.255.255.255/32", u32::MAX),
            // Host bits are kept: equal exactly when the RouteKeys are.
            route(AfiSafi::IPV4_UNICAST, "10.1.2.3/8", 7),
            route(AfiSafi::IPV4_UNICAST, "10.0.0.0/8", 7),
            route(v6, "::/0", 0),
            route(v6, "::a01:203/128", 1),
            route(v6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 2),
            route(v6, "2001:db8::/32", 0),
            // An IPv4 prefix under the IPv6 AFI stays IPv4.
            route(v6, "10.1.2.3/32", 1),
        ];
        for key in &keys {
            assert_eq!(PackedKey::pack(key).unpack(), *key, "{key:?}");
        }
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(PackedKey::pack(a), PackedKey::pack(b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn pending_coalesces_and_no_ops_vanish() {
        let mut table = Table::default();
        let (a, b) = (attrs(1), attrs(2));
        table.set_pending(key(1), Some(a.clone()), SOURCE);
        table.set_pending(key(1), Some(b.clone()), SOURCE);
        table.set_pending(key(2), Some(a.clone()), SOURCE);
        table.set_pending(key(2), None, SOURCE);
        let changes = table.commit();
        assert_eq!(changes.len(), 1);
        assert!(Arc::ptr_eq(table.state_at(changes[0].1).unwrap().0, &b));
        table.set_pending(key(1), Some(b), SOURCE);
        assert!(table.commit().is_empty(), "unchanged");
        assert_eq!(table.version(), 1);
    }

    #[test]
    fn fresh_slots_count_for_nothing_until_committed_and_are_freed_when_nothing_came_of_them() {
        let mut table = Table::default();
        table.set_pending(key(1), None, SOURCE);
        assert_eq!(
            (table.pending(), table.index.len()),
            (0, 0),
            "withdrawing what the table never held changes nothing"
        );
        table.set_pending(key(1), Some(attrs(1)), SOURCE);
        table.set_pending(key(2), Some(attrs(2)), SOURCE);
        assert_eq!(
            (table.live(), table.tombstones(), table.pending()),
            (0, 0, 2)
        );
        assert_eq!(table.get(&key(1)), None, "not committed yet");
        assert_eq!(table.live_from(0, &[AfiSafi::IPV4_UNICAST], 0).count(), 0);
        table.set_pending(key(2), None, SOURCE);
        let changes = table.commit();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].0, key(1));
        assert_eq!(
            (table.live(), table.tombstones(), table.free.len()),
            (1, 0, 1)
        );
        assert_eq!(table.get(&key(2)), None, "key 2 came to nothing");
        table.set_pending(key(3), Some(attrs(3)), SOURCE);
        assert!(table.free.is_empty(), "its slot is taken by the next route");
        table.commit();
        assert_eq!(table.live(), 2);
        assert!(table.get(&key(3)).is_some() && table.get(&key(2)).is_none());
    }

    /// A route numbered `i`: 10.x.y.0/24.
    fn nth_key(i: u32) -> RouteKey {
        RouteKey {
            family: AfiSafi::IPV4_UNICAST,
            prefix: IpNetwork::V4(
                Ipv4Network::new(Ipv4Addr::from((10 << 24) | (i << 8)), 24).unwrap(),
            ),
            path_id: 0,
        }
    }

    #[test]
    fn the_index_grown_from_the_slab_finds_every_route_and_no_freed_slot() {
        let mut table = Table::default();
        let (a, b) = (attrs(1), attrs(2));
        // Fill the index to its capacity.
        let mut n = 0;
        while n < 1_000 || table.index.len() < table.index.capacity() {
            table.set_pending(nth_key(n), Some(a.clone()), SOURCE);
            n += 1;
        }
        table.commit();
        // Withdraw every third route and forget it: its slot goes free.
        for i in (0..n).step_by(3) {
            table.set_pending(nth_key(i), None, SOURCE);
        }
        table.commit();
        table.forget(u64::MAX);
        let withdrawn = n.div_ceil(3) as usize;
        assert_eq!(table.free.len(), withdrawn);
        // A fresh route (indexed, not committed) and a rebuild while
        // slots are free.
        table.set_pending(nth_key(n), Some(b.clone()), SOURCE);
        table.grow_index();
        assert_eq!(table.free.len(), withdrawn - 1);
        assert_eq!(table.index.len(), n as usize - withdrawn + 1);
        // And beyond: the index doubles from the slab.
        let total = n + 1 + 4_000;
        for i in n + 1..total {
            table.set_pending(nth_key(i), Some(b.clone()), SOURCE);
        }
        table.commit();
        assert_eq!(table.live(), total as usize - withdrawn);
        assert_eq!(table.index.len(), table.live(), "no freed slot indexed");
        for i in 0..total {
            let got = table.get(&nth_key(i));
            if i >= n {
                assert!(Arc::ptr_eq(got.unwrap(), &b), "{i}");
            } else if i % 3 == 0 {
                assert_eq!(got, None, "{i} withdrawn");
            } else {
                assert!(Arc::ptr_eq(got.unwrap(), &a), "{i}");
            }
        }
        // Most routes gone: the slab is far larger than the index, which
        // is then grown from itself.
        for i in 100..total {
            table.set_pending(nth_key(i), None, SOURCE);
        }
        table.commit();
        table.forget(u64::MAX);
        let live = table.live();
        assert!(table.slots.len() > 4 * live);
        table.grow_index();
        assert_eq!(table.index.len(), live);
        for i in 0..total {
            assert_eq!(
                table.get(&nth_key(i)).is_some(),
                i < 100 && i % 3 != 0,
                "{i}"
            );
        }
    }

    #[test]
    fn a_tombstone_forgotten_while_its_route_is_pending_keeps_its_slot_for_the_commit() {
        for again in [Some(attrs(7)), None] {
            let mut table = Table::default();
            table.set_pending(key(1), Some(attrs(1)), SOURCE);
            table.commit();
            table.set_pending(key(1), None, SOURCE);
            table.commit();
            assert_eq!(table.tombstones(), 1);
            table.set_pending(key(1), again.clone(), SOURCE);
            table.forget(u64::MAX);
            assert_eq!((table.tombstones(), table.live()), (0, 0));
            assert!(
                table.free.is_empty(),
                "the pending change still names the slot"
            );
            let changes = table.commit();
            match &again {
                Some(set) => {
                    assert_eq!(changes.len(), 1);
                    assert!(Arc::ptr_eq(table.get(&key(1)).unwrap(), set));
                    assert_eq!(table.live(), 1);
                }
                None => {
                    assert!(changes.is_empty(), "withdrawn, and already forgotten");
                    assert_eq!(
                        (table.live(), table.index.len(), table.free.len()),
                        (0, 0, 1)
                    );
                }
            }
        }
    }

    #[test]
    fn changes_settled_for_nobody_leave_no_records_and_free_their_withdrawals() {
        let mut table = Table::default();
        let mut changes = Vec::new();
        for i in 0..3 {
            table.set_pending(key(i), Some(attrs(i)), SOURCE);
        }
        table.commit_into(&mut changes);
        table.settle(&changes, false);
        table.set_pending(key(0), None, SOURCE);
        table.set_pending(key(1), Some(attrs(9)), SOURCE);
        table.commit_into(&mut changes);
        assert_eq!(changes.len(), 2);
        assert_eq!(
            table.state_at(changes[0].1),
            None,
            "encodable until settled"
        );
        assert_eq!(table.tombstones(), 1);
        table.settle(&changes, false);
        assert_eq!((table.log_len(), table.tombstones.len()), (0, 0));
        assert_eq!(
            (table.live(), table.tombstones(), table.free.len()),
            (2, 0, 1)
        );
        assert_eq!(table.get(&key(0)), None);
        assert_eq!(table.get(&key(1)).unwrap().next_hop, attrs(9).next_hop);
        assert_eq!(table.version(), 5);
        // Kept: the same records a member behind would walk.
        table.set_pending(key(2), None, SOURCE);
        table.commit_into(&mut changes);
        table.settle(&changes, true);
        let since: Vec<(u64, RouteKey, bool)> = table
            .since(5)
            .map(|(v, k, a)| (v, k, a.is_some()))
            .collect();
        assert_eq!(since, vec![(6, key(2), false)]);
        assert_eq!(table.tombstones(), 1);
    }

    #[test]
    fn versions_order_changes_and_tombstones_are_dropped_on_request() {
        let mut table = Table::default();
        for i in 0..3 {
            table.set_pending(key(i), Some(attrs(i)), SOURCE);
        }
        table.commit();
        table.set_pending(key(0), None, SOURCE);
        table.commit();
        table.set_pending(key(1), Some(attrs(9)), SOURCE);
        table.commit();
        let since: Vec<(u64, RouteKey, bool)> = table
            .since(3)
            .map(|(v, k, a)| (v, k, a.is_some()))
            .collect();
        assert_eq!(since, vec![(4, key(0), false), (5, key(1), true)]);
        assert_eq!((table.live(), table.tombstones()), (2, 1));
        table.forget(3);
        assert_eq!(table.tombstones(), 1, "still needed after version 3");
        table.forget(4);
        assert_eq!(table.tombstones(), 0);
        let left: Vec<u64> = table.since(0).map(|(v, _, _)| v).collect();
        assert_eq!(left, vec![5], "records up to 4 are forgotten");
        table.forget(u64::MAX);
        assert_eq!((table.log_len(), table.since(0).count()), (0, 0));
        let walked: Vec<RouteKey> = table
            .live_from(0, &[AfiSafi::IPV4_UNICAST], 5)
            .map(|(_, k, _, _)| k)
            .collect();
        assert_eq!(walked, vec![key(1), key(2)], "the slots still hold them");
        assert_eq!(table.live_from(0, &[AfiSafi::IPV4_UNICAST], 4).count(), 1);
        assert_eq!(table.live_from(0, &[AfiSafi::IPV6_UNICAST], 5).count(), 0);
        assert_eq!(table.live_from(2, &[AfiSafi::IPV4_UNICAST], 5).count(), 1);
    }

    #[test]
    fn churn_keeps_the_logs_bounded_by_the_table() {
        let mut table = Table::default();
        for round in 0..20_000u32 {
            let state = (round % 2 == 0).then(|| attrs(1));
            table.set_pending(key(1), state, SOURCE);
            table.set_pending(key(2), Some(attrs((round % 200) as u8)), SOURCE);
            table.commit();
        }
        assert!(table.log.len() <= MIN_COMPACT + 1, "{}", table.log.len());
        assert!(table.tombstones.len() <= MIN_COMPACT + 1);
        assert_eq!(table.since(0).count(), 2, "one current record per route");
    }

    #[test]
    fn a_freed_slot_is_reused_without_reviving_its_old_records() {
        let mut table = Table::default();
        table.set_pending(key(1), Some(attrs(1)), SOURCE);
        table.commit();
        table.set_pending(key(1), None, SOURCE);
        table.commit();
        table.forget(2);
        assert_eq!(
            (table.live(), table.tombstones(), table.free.len()),
            (0, 0, 1)
        );
        assert_eq!(table.get(&key(1)), None);
        table.set_pending(key(2), Some(attrs(2)), SOURCE);
        table.commit();
        assert!(table.free.is_empty(), "the freed slot was taken");
        let since: Vec<(u64, RouteKey)> = table.since(0).map(|(v, k, _)| (v, k)).collect();
        assert_eq!(since, vec![(3, key(2))], "key 1's records stay dead");
        assert_eq!(table.get(&key(1)), None);
        assert!(table.get(&key(2)).is_some());
        table.set_pending(key(1), Some(attrs(3)), SOURCE);
        table.commit();
        assert_eq!(table.live(), 2);
        assert_eq!(table.since(3).count(), 1);
    }

    #[test]
    fn slots_past_one_chunk_keep_their_routes() {
        let mut table = Table::default();
        let many = |i: u32| RouteKey {
            family: AfiSafi::IPV4_UNICAST,
            prefix: IpNetwork::new(std::net::Ipv4Addr::from(i << 8).into(), 24).unwrap(),
            path_id: 0,
        };
        let set = attrs(1);
        let routes = 2 * CHUNK as u32 + 5;
        for i in 0..routes {
            table.set_pending(many(i), Some(set.clone()), SOURCE);
        }
        assert_eq!(table.commit().len(), routes as usize);
        assert_eq!(table.slots.0.capacity(), 3 * CHUNK);
        for i in [0, CHUNK as u32 - 1, CHUNK as u32, routes - 1] {
            assert!(table.get(&many(i)).is_some(), "route {i}");
        }
        assert_eq!(table.get(&many(routes)), None);
        let keys: Vec<RouteKey> = table.since(0).map(|(_, k, _)| k).collect();
        assert_eq!(keys.len(), routes as usize);
        assert!(keys.contains(&many(CHUNK as u32)));
        let v4 = [AfiSafi::IPV4_UNICAST];
        let from = CHUNK as u32 - 1;
        let walked: Vec<(u32, RouteKey)> = table
            .live_from(from, &v4, table.version())
            .map(|(at, k, _, _)| (at, k))
            .collect();
        assert_eq!(walked.len(), (routes - from) as usize, "across chunks");
        assert_eq!(walked[0], (from, many(from)));
        assert_eq!(walked[1], (from + 1, many(from + 1)));
    }
}
