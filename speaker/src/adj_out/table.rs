//! One group's Adj-RIB-Out (RFC 4271 section 3.2): what its in-sync members
//! have been sent, with a version per entry, and the pending changes.
//!
//! Every committed change gets the next version of the group and is
//! appended to a change log, so "everything changed after version v" is a
//! scan of the log's tail in change order (records superseded by a later
//! change of the same route are skipped, and compacted away once they are
//! half the log). A withdrawn entry stays as a *tombstone* while some member
//! that is behind may still need to hear the withdrawal;
//! [`Table::drop_tombstones`] removes those no member needs any more. Each
//! route has at most one entry, so the table, tombstones included, never
//! holds more entries than distinct routes, and the log at most twice as
//! many records: that is the bound on what a slow member costs.

use ipnetwork::IpNetwork;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;
use std::sync::Arc;

use bgp_proto::iana::AfiSafi;

use crate::attrs::Attrs;

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

#[derive(Debug)]
struct Entry {
    /// `None` for a tombstone.
    attrs: Option<Attrs>,
    version: u64,
}

/// Log records below this count are never compacted.
const MIN_COMPACT: usize = 4096;

/// See the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Table {
    entries: FxHashMap<RouteKey, Entry>,
    /// (version, route) of every change, oldest first; a record is current
    /// when the route's entry still has that version.
    log: VecDeque<(u64, RouteKey)>,
    /// (version, route) of withdrawals, oldest first; current as above.
    tombstones: VecDeque<(u64, RouteKey)>,
    tombstone_count: usize,
    pending: FxHashMap<RouteKey, Option<Attrs>>,
    version: u64,
}

/// A committed change: the new state of a route (`None`: withdrawn).
pub(crate) type Change = (RouteKey, Option<Attrs>);

impl Table {
    /// The version of the last committed change.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// Routes advertised (tombstones excluded).
    pub fn live(&self) -> usize {
        self.entries.len() - self.tombstone_count
    }

    /// Withdrawn entries kept for members that are behind.
    pub fn tombstones(&self) -> usize {
        self.tombstone_count
    }

    /// Routes whose latest state is not committed yet.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Record the latest state of `key`; replaces any earlier pending state
    /// (the latest state wins).
    pub fn set_pending(&mut self, key: RouteKey, attrs: Option<Attrs>) {
        self.pending.insert(key, attrs);
    }

    /// The committed attributes of `key`.
    pub fn get(&self, key: &RouteKey) -> Option<&Attrs> {
        self.entries.get(key).and_then(|e| e.attrs.as_ref())
    }

    /// Commit the pending changes: those that differ from the committed
    /// state get new versions and are returned; the rest (a prefix announced
    /// and withdrawn again, an unchanged set) vanish.
    pub fn commit(&mut self) -> Vec<Change> {
        let mut changes = Vec::with_capacity(self.pending.len());
        for (key, new) in self.pending.drain() {
            let version = self.version + 1;
            match self.entries.get_mut(&key) {
                Some(entry) => {
                    let same = match (&entry.attrs, &new) {
                        (None, None) => true,
                        (Some(old), Some(new)) => Arc::ptr_eq(old, new),
                        _ => false,
                    };
                    if same {
                        continue;
                    }
                    if entry.attrs.is_none() {
                        self.tombstone_count -= 1;
                    }
                    entry.version = version;
                    entry.attrs.clone_from(&new);
                }
                None if new.is_none() => continue,
                None => {
                    self.entries.insert(
                        key,
                        Entry {
                            attrs: new.clone(),
                            version,
                        },
                    );
                }
            }
            self.version = version;
            self.log.push_back((version, key));
            if new.is_none() {
                self.tombstones.push_back((version, key));
                self.tombstone_count += 1;
            }
            changes.push((key, new));
        }
        self.compact();
        changes
    }

    fn is_current(&self, version: u64, key: &RouteKey) -> bool {
        self.entries.get(key).is_some_and(|e| e.version == version)
    }

    /// Drop superseded records once they are half of their log.
    fn compact(&mut self) {
        let entries = &self.entries;
        let current = |(version, key): &(u64, RouteKey)| {
            entries.get(key).is_some_and(|e| e.version == *version)
        };
        if self.log.len() > MIN_COMPACT && self.log.len() > 2 * entries.len() {
            self.log.retain(current);
        }
        if self.tombstones.len() > MIN_COMPACT && self.tombstones.len() > 2 * self.tombstone_count {
            self.tombstones.retain(current);
        }
    }

    /// Forget tombstones of version `upto` or older.
    pub fn drop_tombstones(&mut self, upto: u64) {
        while let Some(&(version, key)) = self.tombstones.front() {
            if version > upto {
                break;
            }
            self.tombstones.pop_front();
            if self.is_current(version, &key) {
                self.entries.remove(&key);
                self.tombstone_count -= 1;
            }
        }
        self.compact();
    }

    /// Entries changed after version `after`, oldest change first.
    pub fn since(&self, after: u64) -> impl Iterator<Item = (u64, RouteKey, Option<&Attrs>)> {
        let start = self.log.partition_point(|(version, _)| *version <= after);
        self.log.range(start..).filter_map(|(version, key)| {
            let entry = self.entries.get(key)?;
            (entry.version == *version).then_some((*version, *key, entry.attrs.as_ref()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attrs::PathAttrs;
    use bgp_proto::attribute::NextHop;
    use std::net::Ipv4Addr;

    fn key(i: u8) -> RouteKey {
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
    fn pending_coalesces_and_no_ops_vanish() {
        let mut table = Table::default();
        let (a, b) = (attrs(1), attrs(2));
        table.set_pending(key(1), Some(a.clone()));
        table.set_pending(key(1), Some(b.clone()));
        table.set_pending(key(2), Some(a.clone()));
        table.set_pending(key(2), None);
        let changes = table.commit();
        assert_eq!(changes.len(), 1);
        assert!(Arc::ptr_eq(changes[0].1.as_ref().unwrap(), &b));
        table.set_pending(key(1), Some(b));
        assert!(table.commit().is_empty(), "unchanged");
        assert_eq!(table.version(), 1);
    }

    #[test]
    fn versions_order_changes_and_tombstones_are_dropped_on_request() {
        let mut table = Table::default();
        for i in 0..3 {
            table.set_pending(key(i), Some(attrs(i)));
        }
        table.commit();
        table.set_pending(key(0), None);
        table.commit();
        table.set_pending(key(1), Some(attrs(9)));
        table.commit();
        let since: Vec<(u64, RouteKey, bool)> = table
            .since(3)
            .map(|(v, k, a)| (v, k, a.is_some()))
            .collect();
        assert_eq!(since, vec![(4, key(0), false), (5, key(1), true)]);
        assert_eq!((table.live(), table.tombstones()), (2, 1));
        table.drop_tombstones(3);
        assert_eq!(table.tombstones(), 1, "still needed after version 3");
        table.drop_tombstones(4);
        assert_eq!(table.tombstones(), 0);
        assert_eq!(table.since(0).count(), 2);
    }

    #[test]
    fn churn_keeps_the_logs_bounded_by_the_table() {
        let mut table = Table::default();
        for round in 0..20_000u32 {
            let state = (round % 2 == 0).then(|| attrs(1));
            table.set_pending(key(1), state);
            table.set_pending(key(2), Some(attrs((round % 200) as u8)));
            table.commit();
        }
        assert!(table.log.len() <= MIN_COMPACT + 1, "{}", table.log.len());
        assert!(table.tombstones.len() <= MIN_COMPACT + 1);
        assert_eq!(table.since(0).count(), 2, "one current record per route");
    }
}
