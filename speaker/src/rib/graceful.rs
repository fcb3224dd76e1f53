//! Graceful restart, receiving speaker (RFC 4724 section 4.2), and the
//! table walks that remove a peer's paths.
//!
//! When a session with graceful restart goes down, the core calls
//! [`Rib::mark_stale`] instead of [`Rib::remove_peer`]: the peer's paths
//! stay in the Loc-RIB, marked stale, and stay eligible in the decision
//! process exactly as before (RFC 4724 keeps forwarding on them; a stale
//! path is not demoted). When the peer is back, its announcements replace
//! the stale paths and clear the mark. After its End-of-RIB for a family
//! ([`super::ApplyStats::end_of_rib`]), or when the restart or stale timer
//! expires, [`Rib::flush_stale`] removes what is still stale.

use bgp_proto::iana::AfiSafi;

use crate::types::{Path, PathList, PeerId, RibChange};

use super::decision::Decider;
use super::table::{Map, PrefixKey, Table};
use super::{Rib, decider};

impl Rib {
    /// Mark every path of `peer` stale (its session went down with
    /// graceful restart). Reports no change: the paths stay as they are.
    /// Returns the number of paths marked.
    pub fn mark_stale(&mut self, peer: PeerId) -> usize {
        let families = self.families_of(peer);
        let mut marked = 0;
        for (family, table) in &mut self.tables {
            if !families.contains(family) {
                continue;
            }
            marked += match table {
                Table::V4(map) => mark(map, peer),
                Table::V6(map) => mark(map, peer),
            };
        }
        if let Some(state) = self.peers.get_mut(&peer) {
            state.counters.stale += marked as u64;
        }
        marked
    }

    /// Remove the stale paths of `peer` in `family`, or in all families
    /// with `None` (End-of-RIB received, or the stale timer expired).
    /// Returns the number of paths removed.
    ///
    /// A peer without stale paths (its counter, which follows every path's
    /// flag, is 0) is not swept: every End-of-RIB of a session that never
    /// restarted would otherwise walk the whole family for nothing.
    pub fn flush_stale(
        &mut self,
        peer: PeerId,
        family: Option<AfiSafi>,
        changes: &mut Vec<RibChange>,
    ) -> usize {
        if self.stale_paths(peer) == 0 {
            return 0;
        }
        let removed = self.sweep(peer, family, changes, |path| path.stale);
        if removed > 0 {
            self.collect_garbage();
        }
        removed
    }

    /// Stale paths of `peer` in the Loc-RIB, in every family (0 for a peer
    /// the RIB does not know).
    fn stale_paths(&self, peer: PeerId) -> u64 {
        if peer == PeerId::LOCAL {
            self.local_counters.stale
        } else {
            self.peers
                .get(&peer)
                .map_or(0, |state| state.counters.stale)
        }
    }

    /// The families in which `peer` has paths.
    fn families_of(&self, peer: PeerId) -> Vec<AfiSafi> {
        let counters = if peer == PeerId::LOCAL {
            Some(&self.local_counters)
        } else {
            self.peers.get(&peer).map(|state| &state.counters)
        };
        counters.map_or_else(Vec::new, |counters| {
            counters
                .paths
                .iter()
                .filter(|(_, n)| *n > 0)
                .map(|(f, _)| *f)
                .collect()
        })
    }

    /// Remove the paths of `peer` for which `drop` is true, in `family` or
    /// every family, and update the peer's counters. Returns how many.
    pub(super) fn sweep(
        &mut self,
        peer: PeerId,
        family: Option<AfiSafi>,
        changes: &mut Vec<RibChange>,
        drop: impl Fn(&Path) -> bool,
    ) -> usize {
        let families = self.families_of(peer);
        let Rib {
            tables,
            peers,
            config,
            ..
        } = self;
        let decider = decider(peers, config);
        let mut total = 0;
        let mut per_family = Vec::new();
        for (table_family, table) in tables.iter_mut() {
            if !families.contains(table_family) || family.is_some_and(|f| f != *table_family) {
                continue;
            }
            let f = *table_family;
            let drop = |p: &Path| p.peer == peer && drop(p);
            let removed = match table {
                Table::V4(map) => sweep_table(map, &decider, f, changes, drop),
                Table::V6(map) => sweep_table(map, &decider, f, changes, drop),
            };
            total += removed.0;
            per_family.push((f, removed));
        }
        let counters = if peer == PeerId::LOCAL {
            Some(&mut self.local_counters)
        } else {
            self.peers.get_mut(&peer).map(|state| &mut state.counters)
        };
        if let Some(counters) = counters {
            for (f, (removed, stale)) in per_family {
                let count = counters.paths_in(f).saturating_sub(removed as u64);
                counters.set_paths(f, count);
                counters.stale = counters.stale.saturating_sub(stale as u64);
            }
        }
        total
    }
}

fn mark<K: PrefixKey>(map: &mut Map<K>, peer: PeerId) -> usize {
    let mut marked = 0;
    for set in map.values_mut() {
        for path in set.as_mut_slice() {
            if path.peer == peer && !path.stale {
                path.stale = true;
                marked += 1;
            }
        }
    }
    marked
}

/// Remove the paths for which `drop` is true; returns (removed, of which stale).
fn sweep_table<K: PrefixKey>(
    map: &mut Map<K>,
    decider: &Decider<'_>,
    family: AfiSafi,
    changes: &mut Vec<RibChange>,
    drop: impl Fn(&Path) -> bool,
) -> (usize, usize) {
    let (mut removed, mut stale) = (0, 0);
    map.retain(|key, set| {
        let (n, s) = set
            .as_slice()
            .iter()
            .filter(|p| drop(p))
            .fold((0, 0), |(n, s), p| (n + 1, s + usize::from(p.stale)));
        if n == 0 {
            return true;
        }
        removed += n;
        stale += s;
        let prefix = key.to_net();
        let previous_best = set.as_slice().first().cloned();
        if set.retain(|p| !drop(p)) {
            decider.rank(set.as_mut_slice());
            changes.push(RibChange {
                family,
                prefix,
                paths: super::store::path_list(set.as_slice()),
                previous_best,
            });
            true
        } else {
            changes.push(RibChange {
                family,
                prefix,
                paths: PathList::new(),
                previous_best,
            });
            false
        }
    });
    (removed, stale)
}
