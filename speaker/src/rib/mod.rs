//! The RIB: Adj-RIB-In, Loc-RIB and the decision process (RFC 4271
//! section 3.2 and 9.1), as a plain struct owned by the speaker's core task
//! (no locks, no tasks: every call runs to completion and reports what
//! changed).
//!
//! # Use
//! 1. [`Rib::new`] with a [`RibConfig`];
//! 2. [`Rib::add_peer`] when a session reaches Established (again, after a
//!    graceful restart: its paths are kept);
//! 3. [`Rib::apply_update`] for each UPDATE, [`Rib::originate`] /
//!    [`Rib::withdraw_local`] for our own routes;
//! 4. on session loss [`Rib::remove_peer`], or with graceful restart
//!    [`Rib::mark_stale`] and later [`Rib::flush_stale`] (after the
//!    peer's End-of-RIB, reported in [`ApplyStats::end_of_rib`], or when
//!    the stale timer fires).
//!
//! Every mutating call appends one [`RibChange`] per prefix whose path set
//! changed to a caller-owned `Vec` (paths best first, empty when the prefix
//! is gone); the update groups decide what to send. A change that only
//! clears a path's stale flag (the restarted peer announced the same
//! attributes again) is not reported.
//!
//! ```
//! use std::net::Ipv4Addr;
//! use bgp_proto::attribute::{AsPath, NextHop, Origin, PathAttribute};
//! use bgp_proto::iana::AfiSafi;
//! use bgp_speaker::PathAttrs;
//! use bgp_speaker::rib::{Rib, RibConfig};
//!
//! let mut rib = Rib::new(RibConfig::new(Ipv4Addr::new(192, 0, 2, 1), 65000));
//! let attrs = PathAttrs {
//!     next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
//!     attributes: vec![
//!         PathAttribute::Origin(Origin::Igp),
//!         PathAttribute::AsPath(AsPath::default()),
//!     ],
//! };
//! let prefix = "10.1.0.0/24".parse().unwrap();
//! let mut changes = Vec::new();
//! rib.originate(AfiSafi::IPV4_UNICAST, prefix, attrs, &mut changes).unwrap();
//! assert_eq!(changes.len(), 1);
//! assert_eq!(changes[0].paths.len(), 1);
//! assert!(rib.best(AfiSafi::IPV4_UNICAST, prefix).is_some());
//!
//! changes.clear();
//! rib.withdraw_local(AfiSafi::IPV4_UNICAST, prefix, &mut changes);
//! assert!(changes[0].paths.is_empty());
//! assert!(rib.paths(AfiSafi::IPV4_UNICAST, prefix).is_empty());
//! ```
//!
//! # Import (RFC 4271 section 9.1, RFC 7606, RFC 8212, RFC 4456 section 8)
//! See [`Rib::apply_update`]: withdrawals first, then announcements with
//! one interned attribute set per UPDATE and family; loop detection;
//! import policy ([`crate::policy`]; no policy on an eBGP session rejects
//! everything, RFC 8212); treat-as-withdraw; ADD-PATH paths keyed by
//! (peer, path identifier), path identifier 0 without ADD-PATH.
//!
//! # Decision
//! See [`decision`]: RFC 4271 section 9.1.2.2 with the RFC 4456 section 9
//! changes, deterministic regardless of arrival order, optional multipath.
//!
//! # Memory
//! Each prefix's candidate paths are stored once, in the Loc-RIB table of
//! its family (module `table`): a hash map from a compact prefix key (8 octets
//! for IPv4) to the paths, best first, with a single path held inline,
//! whose entries sit in a chunked slab that growing never copies, found
//! through an index of 4-byte positions (module `slab_map`). A
//! peer's Adj-RIB-In is not a second structure: it is the paths whose
//! [`Path::peer`] is that peer, found by walking the table when a peer goes
//! away or its stale paths are flushed (as BIRD prunes its tables). The
//! RIB keeps no copy of routes rejected by import policy (no soft
//! reconfiguration inbound: after an import policy change, ask the peer for
//! a ROUTE-REFRESH). Attribute sets are interned ([`AttrInterner`]); a path
//! costs its 24-octet [`Path`] plus its share of the table.
//!
//! # Layout
//! - this file: [`Rib`], [`RibConfig`], peers and queries;
//! - [`adj_in`]: [`Rib::apply_update`], loop detection, import policy;
//! - [`decision`]: the decision process and multipath;
//! - [`explain`]: [`Explanation`] of a prefix's decision;
//! - [`limits`]: prefix limits and counters;
//! - [`graceful`]: stale paths (RFC 4724 section 4.2);
//! - `store`: storing and removing one prefix's paths;
//! - `table`: the per-family storage;
//! - `slab_map`: the hash map that `table` stores prefixes in.

pub mod adj_in;
pub mod decision;
pub mod explain;
pub mod graceful;
pub mod limits;
mod slab_map;
mod store;
mod table;

use ipnetwork::IpNetwork;
use rustc_hash::FxHashMap;
use std::net::{IpAddr, Ipv4Addr};

use bgp_proto::iana::AfiSafi;

use crate::attrs::{AttrInterner, PathAttrs};
use crate::config::PrefixLimit;
use crate::policy::Policy;
use crate::types::{Path, PeerId, PeerInfo, RibChange};

pub use adj_in::ApplyStats;
pub use decision::{DEFAULT_LOCAL_PREF, DecisionStep};
pub use explain::{Explanation, Lost, Outcome, PathExplanation};
pub use limits::{CLUSTER_LOOP_ORIGINATORS, LoopDrops, PeerCounters, PrefixLimitExceeded};

use decision::{Decider, PeerRank};

/// The interner size below which garbage is not collected automatically.
const GC_MIN: usize = 4096;
use table::{PathSet, Table};

/// Options of a [`Rib`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RibConfig {
    /// Our BGP identifier: the ORIGINATOR_ID loop check (RFC 4456 section 8)
    /// and the router ID of our own routes.
    pub router_id: Ipv4Addr,
    /// Our AS: the AS_PATH loop check (RFC 4271 section 9.1.2).
    pub local_as: u32,
    /// Our default cluster ID (RFC 4456 section 7); the router ID if `None`.
    /// Every peer's [`PeerInfo::cluster_id`] is also checked.
    pub cluster_id: Option<Ipv4Addr>,
    /// Compute equal-cost multipath sets (see [`decision`]).
    pub multipath: bool,
    /// Multipath across different neighbour ASes.
    pub multipath_relax: bool,
    /// Compare MED between paths from different neighbour ASes.
    pub always_compare_med: bool,
}

impl RibConfig {
    /// No multipath, MED compared only within a neighbour AS.
    pub fn new(router_id: Ipv4Addr, local_as: u32) -> Self {
        RibConfig {
            router_id,
            local_as,
            cluster_id: None,
            multipath: false,
            multipath_relax: false,
            always_compare_med: false,
        }
    }
}

/// A prefix was given in a family of the other IP version, or in a family
/// whose NLRI are not IP prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("prefix {prefix} does not belong to family {family}")]
pub struct WrongFamily {
    /// The family.
    pub family: AfiSafi,
    /// The prefix.
    pub prefix: IpNetwork,
}

/// Sizes of the RIB, for the API.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RibTotals {
    /// Prefixes and paths per family.
    pub families: Vec<FamilyTotals>,
    /// Distinct interned attribute sets.
    pub attribute_sets: usize,
}

/// Sizes of one family's Loc-RIB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FamilyTotals {
    /// The family.
    pub family: AfiSafi,
    /// Prefixes with at least one path.
    pub prefixes: usize,
    /// Paths of all prefixes.
    pub paths: usize,
}

/// Estimated heap use of the RIB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MemoryUsage {
    /// Prefixes, all families.
    pub prefixes: usize,
    /// Paths, all families.
    pub paths: usize,
    /// Hash table slots and control bytes.
    pub table_bytes: usize,
    /// Path arrays of prefixes with more than one path.
    pub path_bytes: usize,
    /// Distinct attribute sets.
    pub attribute_sets: usize,
    /// The attribute sets and the interner's table.
    pub attribute_bytes: usize,
}

impl MemoryUsage {
    /// Bytes of the RIB without the attribute sets.
    pub fn rib_bytes(&self) -> usize {
        self.table_bytes + self.path_bytes
    }

    /// Everything.
    pub fn total_bytes(&self) -> usize {
        self.rib_bytes() + self.attribute_bytes
    }
}

/// What the RIB holds about a peer.
#[derive(Debug)]
pub(crate) struct PeerState {
    pub(crate) info: PeerInfo,
    pub(crate) import: Option<Policy>,
    /// The import policy must be evaluated per prefix.
    pub(crate) import_per_prefix: bool,
    pub(crate) limit: Option<PrefixLimit>,
    pub(crate) rank: PeerRank,
    pub(crate) counters: PeerCounters,
    /// Families whose warning threshold has been reported.
    pub(crate) warned: Vec<AfiSafi>,
}

/// Adj-RIB-In, Loc-RIB and best-path selection for all peers (see the
/// module doc).
#[derive(Debug)]
pub struct Rib {
    config: RibConfig,
    peers: FxHashMap<PeerId, PeerState>,
    /// Counters of [`PeerId::LOCAL`].
    local_counters: PeerCounters,
    tables: Vec<(AfiSafi, Table)>,
    interner: AttrInterner,
    /// Cluster IDs in use: the config's and every peer's.
    cluster_ids: Vec<Ipv4Addr>,
    /// Scratch map for de-duplicating changes of one call: the index of
    /// the change kept for each prefix.
    seen: FxHashMap<(AfiSafi, IpNetwork), usize>,
    /// Peers removed since the last [`Rib::forget_departed`], still known
    /// as the source of the paths they had (see [`Rib::source_info`]).
    departed: FxHashMap<PeerId, PeerInfo>,
    /// Collect unused attribute sets when the interner grows past this.
    gc_at: usize,
}

impl Rib {
    /// An empty RIB.
    pub fn new(config: RibConfig) -> Self {
        let mut rib = Rib {
            config,
            peers: FxHashMap::default(),
            local_counters: PeerCounters::default(),
            tables: Vec::new(),
            interner: AttrInterner::new(),
            cluster_ids: Vec::new(),
            seen: FxHashMap::default(),
            departed: FxHashMap::default(),
            gc_at: GC_MIN,
        };
        rib.update_cluster_ids();
        rib
    }

    /// The options.
    pub fn config(&self) -> &RibConfig {
        &self.config
    }

    /// Register an Established peer with its import policy and prefix
    /// limit. Adding a peer that is already known (a session back after a
    /// graceful restart) replaces its information, policy and limit and
    /// keeps its paths and counters; the new policy applies to routes
    /// received from now on.
    pub fn add_peer(&mut self, info: PeerInfo, import: Option<Policy>, limit: Option<PrefixLimit>) {
        let id = info.id;
        let import_per_prefix = import.as_ref().is_some_and(Policy::depends_on_prefix);
        let rank = PeerRank::of(&info);
        match self.peers.get_mut(&id) {
            Some(state) => {
                state.info = info;
                state.import = import;
                state.import_per_prefix = import_per_prefix;
                state.limit = limit;
                state.rank = rank;
            }
            None => {
                self.peers.insert(
                    id,
                    PeerState {
                        info,
                        import,
                        import_per_prefix,
                        limit,
                        rank,
                        counters: PeerCounters::default(),
                        warned: Vec::new(),
                    },
                );
            }
        }
        self.update_cluster_ids();
    }

    /// Withdraw every path of `peer` and forget it (but see
    /// [`Rib::source_info`]). Returns the number of paths removed. Walks
    /// the tables of the families the peer has paths in. The attribute
    /// sets only the changes still hold (as [`RibChange::previous_best`])
    /// are freed by a [`Rib::collect_garbage`] after the changes are gone.
    pub fn remove_peer(&mut self, peer: PeerId, changes: &mut Vec<RibChange>) -> usize {
        let removed = self.sweep(peer, None, changes, |_| true);
        if let Some(state) = self.peers.remove(&peer) {
            self.departed.insert(peer, state.info);
        }
        self.update_cluster_ids();
        self.collect_garbage();
        removed
    }

    /// What the RIB knows about `peer`.
    pub fn peer_info(&self, peer: PeerId) -> Option<&PeerInfo> {
        self.peers.get(&peer).map(|state| &state.info)
    }

    /// What the RIB knows about the source of a path, including a peer
    /// removed since the last [`Rib::forget_departed`]: the changes that
    /// removed its paths name them as the previous best
    /// ([`RibChange::previous_best`]), and the update groups need to know
    /// whether they had exported them.
    pub fn source_info(&self, peer: PeerId) -> Option<&PeerInfo> {
        self.peer_info(peer).or_else(|| self.departed.get(&peer))
    }

    /// Forget the peers removed since the last call: their changes have
    /// been handed to the update groups.
    pub fn forget_departed(&mut self) {
        if !self.departed.is_empty() {
            self.departed.clear();
        }
    }

    /// The import policy of `peer`.
    pub fn import_policy(&self, peer: PeerId) -> Option<&Policy> {
        self.peers
            .get(&peer)
            .and_then(|state| state.import.as_ref())
    }

    /// Registered peers.
    pub fn peers(&self) -> impl Iterator<Item = &PeerInfo> + '_ {
        self.peers.values().map(|state| &state.info)
    }

    /// Originate a route of our own ([`PeerId::LOCAL`], path identifier 0),
    /// replacing any we had for the prefix.
    pub fn originate(
        &mut self,
        family: AfiSafi,
        prefix: IpNetwork,
        attrs: PathAttrs,
        changes: &mut Vec<RibChange>,
    ) -> Result<(), WrongFamily> {
        if !family_matches(family, prefix) {
            return Err(WrongFamily { family, prefix });
        }
        let attrs = self.interner.intern(attrs);
        let start = changes.len();
        let path = Path {
            peer: PeerId::LOCAL,
            path_id: 0,
            attrs,
            stale: false,
        };
        let added = self.insert_one(family, prefix, path, changes);
        if added {
            let count = self.local_counters.paths_in(family) + 1;
            self.local_counters.set_paths(family, count);
        }
        self.local_counters.received += 1;
        debug_assert!(changes.len() <= start + 1);
        self.maybe_collect_garbage();
        Ok(())
    }

    /// Withdraw our own route for `prefix`; false if we had none.
    pub fn withdraw_local(
        &mut self,
        family: AfiSafi,
        prefix: IpNetwork,
        changes: &mut Vec<RibChange>,
    ) -> bool {
        let removed = self.remove_one(family, prefix, PeerId::LOCAL, 0, changes);
        if removed.is_some() {
            let count = self.local_counters.paths_in(family).saturating_sub(1);
            self.local_counters.set_paths(family, count);
            self.local_counters.withdrawn += 1;
        }
        removed.is_some()
    }

    /// The paths of a prefix, best first (empty if none).
    pub fn paths(&self, family: AfiSafi, prefix: IpNetwork) -> &[Path] {
        self.table(family)
            .and_then(|table| table.get(prefix))
            .map_or(&[], PathSet::as_slice)
    }

    /// The best path of a prefix.
    pub fn best(&self, family: AfiSafi, prefix: IpNetwork) -> Option<&Path> {
        self.paths(family, prefix).first()
    }

    /// The equal-cost multipath set of a prefix: the first
    /// [`Rib::multipath_len`] paths (only the best without multipath).
    pub fn multipath(&self, family: AfiSafi, prefix: IpNetwork) -> &[Path] {
        let paths = self.paths(family, prefix);
        &paths[..self.multipath_len(paths)]
    }

    /// How many leading paths of `paths` (as in a [`RibChange`]) form the
    /// equal-cost set: 0 for none, 1 without multipath.
    pub fn multipath_len(&self, paths: &[Path]) -> usize {
        self.decider().equal_cost_len(paths)
    }

    /// Why the best path of a prefix is the best (see [`Explanation`]).
    pub fn explain(&self, family: AfiSafi, prefix: IpNetwork) -> Explanation {
        self.decider()
            .explain(family, prefix, self.paths(family, prefix))
    }

    /// Every prefix of a family with its paths (best first), in no
    /// particular order: the initial dump to a new peer.
    pub fn iter_family(&self, family: AfiSafi) -> impl Iterator<Item = (IpNetwork, &[Path])> + '_ {
        self.table(family)
            .map_or(table::TableIter::Empty, Table::iter)
    }

    /// Families with at least one prefix.
    pub fn families(&self) -> impl Iterator<Item = AfiSafi> + '_ {
        self.tables
            .iter()
            .filter(|(_, table)| table.len() > 0)
            .map(|(family, _)| *family)
    }

    /// Counters of a peer ([`PeerId::LOCAL`] for our own routes).
    pub fn counters(&self, peer: PeerId) -> Option<&PeerCounters> {
        if peer == PeerId::LOCAL {
            return Some(&self.local_counters);
        }
        self.peers.get(&peer).map(|state| &state.counters)
    }

    /// Prefixes and paths per family.
    pub fn totals(&self) -> RibTotals {
        RibTotals {
            families: self
                .tables
                .iter()
                .map(|(family, table)| FamilyTotals {
                    family: *family,
                    prefixes: table.len(),
                    paths: table.iter().map(|(_, paths)| paths.len()).sum(),
                })
                .collect(),
            attribute_sets: self.interner.len(),
        }
    }

    /// Estimated memory use (walks the tables).
    pub fn memory(&self) -> MemoryUsage {
        let mut usage = MemoryUsage {
            attribute_sets: self.interner.len(),
            attribute_bytes: self.interner.heap_size(),
            ..MemoryUsage::default()
        };
        for (_, table) in &self.tables {
            usage.prefixes += table.len();
            usage.table_bytes += table.table_bytes();
            for (_, paths) in table.iter() {
                usage.paths += paths.len();
                if paths.len() > 1 {
                    usage.path_bytes += std::mem::size_of_val(paths);
                }
            }
        }
        usage
    }

    /// The attribute interner (for its size and statistics).
    pub fn interner(&self) -> &AttrInterner {
        &self.interner
    }

    /// Drop attribute sets no path uses any more; returns how many. The RIB
    /// does this after removing a peer or flushing stale paths, and whenever
    /// the number of sets has doubled since the last collection.
    pub fn collect_garbage(&mut self) -> usize {
        let dropped = self.interner.collect_garbage();
        self.gc_at = (self.interner.len() * 2).max(GC_MIN);
        dropped
    }

    /// Collect garbage when the interner has doubled since the last time,
    /// so withdrawn routes' sets do not pile up (amortised O(1) per set).
    fn maybe_collect_garbage(&mut self) {
        if self.interner.len() > self.gc_at {
            self.collect_garbage();
        }
    }

    // ---- internals ----

    fn decider(&self) -> Decider<'_> {
        decider(&self.peers, &self.config)
    }

    fn table(&self, family: AfiSafi) -> Option<&Table> {
        self.tables
            .iter()
            .find(|(f, _)| *f == family)
            .map(|(_, table)| table)
    }

    fn update_cluster_ids(&mut self) {
        let mut ids = vec![self.config.cluster_id.unwrap_or(self.config.router_id)];
        for state in self.peers.values() {
            if !ids.contains(&state.info.cluster_id) {
                ids.push(state.info.cluster_id);
            }
        }
        self.cluster_ids = ids;
    }

    /// The cluster IDs in use (RFC 4456 section 7): the config's and every
    /// peer's.
    pub fn cluster_ids(&self) -> &[Ipv4Addr] {
        &self.cluster_ids
    }

    /// Keep only the last change of each prefix among `changes[start..]`,
    /// with the best path from before the first (the change from where the
    /// prefix stood before the call to where it stands after).
    fn merge_duplicates(&mut self, changes: &mut [RibChange], start: usize) -> Vec<usize> {
        let mut duplicates = Vec::new();
        if changes.len() - start < 2 {
            return duplicates;
        }
        self.seen.clear();
        // Walk backwards so the last (newest) change of a prefix is kept;
        // the earliest one's previous best is the last to be moved into it.
        for i in (start..changes.len()).rev() {
            let key = (changes[i].family, changes[i].prefix);
            match self.seen.get(&key) {
                Some(&kept) => {
                    changes[kept].previous_best = changes[i].previous_best.take();
                    duplicates.push(i);
                }
                None => {
                    self.seen.insert(key, i);
                }
            }
        }
        duplicates
    }

    /// [`Rib::merge_duplicates`], then drop the duplicates.
    fn dedup_changes(&mut self, changes: &mut Vec<RibChange>, start: usize) {
        let duplicates = self.merge_duplicates(changes, start);
        if !duplicates.is_empty() {
            let mut index = 0;
            changes.retain(|_| {
                let kept = !duplicates.contains(&index);
                index += 1;
                kept
            });
        }
    }
}

/// A decider over `peers` with `config`'s options.
pub(crate) fn decider<'a>(
    peers: &'a FxHashMap<PeerId, PeerState>,
    config: &RibConfig,
) -> Decider<'a> {
    Decider {
        peers,
        local: PeerRank {
            router_id: config.router_id,
            address: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            external: false,
        },
        always_compare_med: config.always_compare_med,
        multipath: config.multipath,
        multipath_relax: config.multipath_relax,
    }
}

/// Does `prefix` belong to `family` (same IP version, IP-prefix family)?
pub(crate) fn family_matches(family: AfiSafi, prefix: IpNetwork) -> bool {
    family.has_ip_prefix_nlri()
        && matches!(
            (family.afi, prefix),
            (bgp_proto::Afi::IPV4, IpNetwork::V4(_)) | (bgp_proto::Afi::IPV6, IpNetwork::V6(_))
        )
}
