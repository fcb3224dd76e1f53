//! The Adj-RIB-Out (RFC 4271 section 3.2), organised in update groups.
//!
//! # Update groups
//! Peers whose routes would leave the speaker as the same bytes share an
//! update group ([`GroupKey`]: role, cluster ID, local AS, client-to-client
//! reflection, export policy, next-hop mode and, only where the next hop is
//! rewritten to self, the session's local address, ADD-PATH send mode, the
//! negotiated encoding and family set). A group keeps one Adj-RIB-Out table
//! and one pending-change set for all its members. [`AdjOut::apply`] runs
//! the export rules ([`export`]) and the export policy once per group, not
//! per member, and the transform once per distinct attribute set, not per
//! prefix. [`AdjOut::flush`] encodes each group's pending changes once
//! (each distinct attribute block once, its prefixes packed into the fewest
//! UPDATEs) into one buffer, and pushes that same [`bytes::Bytes`] into the
//! outbox of every member: a reference-count increment per member.
//!
//! Pending changes coalesce: a prefix changed five times between two
//! flushes is sent once, in its latest state, and a prefix announced and
//! withdrawn again in between is not sent at all.
//!
//! # Groups without a table
//! A group without ADD-PATH whose members are all in sync keeps no table:
//! what it advertises is its export of each prefix's best path in the
//! Loc-RIB, so it reads the Loc-RIB ([`LocRib`]) instead of holding a copy,
//! and a flush sends the prefixes whose export changed since the last one
//! (from [`RibChange::previous_best`] and the new best path). It makes its
//! table from the Loc-RIB when a member falls behind or joins, or asks for
//! a route refresh, and drops it again once every member is in sync and it
//! has applied as many changes as the table holds routes since making it.
//! [`GroupStats::keeps_table`] tells which way a group works;
//! [`AdjOutConfig::always_keep_tables`] turns this off. Every [`LocRib`]
//! given to [`AdjOut`] must hold exactly the changes applied to it so far
//! (a change in the Loc-RIB not yet given to [`AdjOut::apply`] would be in
//! a table made from it, and never sent to the members already there):
//! the core task applies its batch before each of these calls. A group
//! that makes its table in the middle of a window first sends what the
//! window noted.
//!
//! # Slow members
//! A member whose outbox refuses a push (over [`crate::outbox::Outbox::HIGH_WATER`]) falls
//! *behind*: it stops receiving flushes and is marked with the last table
//! version it fully received. The table keeps withdrawn entries
//! (tombstones) while a member behind may need them. When the peer task
//! reports the outbox drained ([`crate::events::PeerEvent::Drained`]),
//! [`AdjOut::member_drained`] resynchronises the member from the table:
//! the latest state of every route changed since its mark, in chunks, while
//! its outbox stays under the high-water mark, continuing at the next drain.
//! A slow member therefore never delays the others, and costs at most its
//! bounded outbox plus tombstones and the change records since its mark,
//! which are bounded by the table size (one entry and at most two records
//! per route, whatever the churn). With every member in sync the group
//! keeps neither.
//!
//! New members get the group's table (a new group is first filled from the
//! Loc-RIB) by the same walk, through the table's slots and then the
//! change log, then End-of-RIB for each negotiated family
//! (RFC 4724 section 2). [`AdjOut::route_refresh`] re-sends a family (RFC
//! 2918), between BoRR and EoRR when enhanced route refresh was negotiated
//! (RFC 7313).
//!
//! # A member's own routes
//! A member is not sent the routes whose source it is, as BIRD and FRR do
//! not send a route back to the peer it came from: the receiver would only
//! drop it again by its loop checks (an iBGP member by its BGP identifier
//! in ORIGINATOR_ID, RFC 4456 section 8; an eBGP member by its AS in
//! AS_PATH, RFC 4271 section 9.1.2), after the reflector wrote it and the
//! receiver read and decoded it. The stream is still encoded once: the
//! encoder puts the announcements of each source together, and the
//! withdrawals of routes whose advertised path came from each source
//! (`encode::Encoded::skipped_by`), and a source member gets the same
//! buffer less those ranges (slices of it; every other member gets the
//! whole buffer). Withdrawals are kept apart by source for up to
//! `encode::WITHDRAWAL_SOURCES_KEPT_APART` sources a flush; beyond, they
//! are packed together, as an UPDATE per source would cost every member
//! more than a source hearing of its own route's withdrawal (which removes
//! nothing it holds, RFC 4271 section 9).
//!
//! When the best path of a route moves to a member's own path, the member
//! held the route from another source and gets a withdrawal of it instead.
//! Walks (initial dumps, resynchronisation, route refresh) leave a
//! member's own routes out, or withdraw them where the member may hold an
//! older state. ADD-PATH members get every selected path but their own.
//! [`MemberStats::routes_advertised`] leaves the member's own routes out.
//! Non-client iBGP routes are never sent back to non-clients in the first
//! place (RFC 4456 section 6).
//!
//! # Call order (the core task)
//! - [`AdjOut::add_member`] when a session is Established (after a flush);
//! - [`AdjOut::apply`] with each batch of Loc-RIB changes, then
//!   [`AdjOut::flush`] (after each batch, or on a timer to batch more);
//! - [`AdjOut::member_drained`] on `PeerEvent::Drained`;
//! - [`AdjOut::route_refresh`] on a ROUTE-REFRESH request (after a flush);
//! - [`AdjOut::remove_member`] when the session goes down;
//! - [`AdjOut::collect_garbage`] now and then, between the RIB's and the
//!   exported sets' [`AttrInterner::collect_garbage`].
//!
//! # Layout
//! - this file: [`AdjOut`], the API;
//! - `key`: [`GroupKey`], [`MemberSpec`], [`LocalAddresses`];
//! - [`export`]: the export rules, as pure functions;
//! - `group`: one group: export of a change, flush, members;
//! - `direct`: a group's changes between two flushes while it has no table;
//! - [`loc_rib`]: [`LocRib`], and [`PlainLocRib`] for callers without a
//!   [`crate::rib::Rib`];
//! - `table`: the versioned Adj-RIB-Out table with tombstones;
//! - `log`: the table's chunked change and tombstone logs;
//! - `pending`: the table's pending changes, in first-change order;
//! - `resync`: members, the walk for initial dumps, resync and refresh;
//! - `encode`: attribute blocks and UPDATE packing;
//! - `add_path`: our ADD-PATH path identifiers;
//! - `cache`: transform and attribute-block caches;
//! - `policy_hook`: the one call into [`crate::policy`];
//! - `sources`: the routes of a group counted by source, for each
//!   member's count;
//! - `stats`, `error`;
//! - `walk_tests`: the change log's lifetime and the full walk, tested.

mod add_path;
mod cache;
mod direct;
mod encode;
mod error;
pub mod export;
mod group;
mod key;
pub mod loc_rib;
mod log;
mod pending;
mod policy_hook;
mod resync;
mod sources;
mod stats;
mod table;
#[cfg(test)]
mod walk_tests;

use ipnetwork::IpNetwork;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::net::Ipv4Addr;

use bgp_proto::iana::AfiSafi;

use crate::attrs::{AttrInterner, Attrs};
use crate::types::{PeerId, PeerInfo, RibChange};

pub use error::AdjOutError;
pub use export::{NotExported, SourceRole};
pub use key::{GroupId, GroupKey, LocalAddresses, MemberSpec};
pub use loc_rib::{LocRib, PlainLocRib};
pub use stats::{FlushSummary, GroupStats, MemberStats, SyncState};
pub use table::RouteKey;

use group::UpdateGroup;

/// Where [`AdjOut`] finds the [`PeerInfo`] of a path's source peer.
pub trait PeerLookup {
    /// The peer's record, if it is known.
    fn peer_info(&self, peer: PeerId) -> Option<&PeerInfo>;
}

impl<S: BuildHasher> PeerLookup for HashMap<PeerId, PeerInfo, S> {
    fn peer_info(&self, peer: PeerId) -> Option<&PeerInfo> {
        self.get(&peer)
    }
}

impl PeerLookup for BTreeMap<PeerId, PeerInfo> {
    fn peer_info(&self, peer: PeerId) -> Option<&PeerInfo> {
        self.get(&peer)
    }
}

/// Speaker-wide settings of the update groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdjOutConfig {
    /// Clusters whose clients are fully meshed: routes from a client are
    /// not reflected to the clients of the same cluster (RFC 4456 section
    /// 5). They still go to non-clients, eBGP, and other clusters' clients.
    pub no_client_to_client: BTreeSet<Ipv4Addr>,
    /// Every group keeps its table even while all its members are in sync
    /// (see the module documentation); for comparisons and tests.
    pub always_keep_tables: bool,
}

impl AdjOutConfig {
    /// Are client routes reflected to the other clients of `cluster_id`?
    pub fn client_to_client(&self, cluster_id: Ipv4Addr) -> bool {
        !self.no_client_to_client.contains(&cluster_id)
    }
}

/// The update groups of a speaker; see the module documentation.
#[derive(Debug, Default)]
pub struct AdjOut {
    config: AdjOutConfig,
    groups: Vec<UpdateGroup>,
    members: HashMap<PeerId, GroupId>,
    next_group: u32,
}

impl AdjOut {
    /// No groups yet.
    pub fn new(config: AdjOutConfig) -> Self {
        AdjOut {
            config,
            ..AdjOut::default()
        }
    }

    /// The settings.
    pub fn config(&self) -> &AdjOutConfig {
        &self.config
    }

    fn group(&self, id: GroupId) -> Option<&UpdateGroup> {
        self.groups.iter().find(|g| g.id == id)
    }

    fn group_of_mut(&mut self, peer: PeerId) -> Result<&mut UpdateGroup, AdjOutError> {
        let id = *self
            .members
            .get(&peer)
            .ok_or(AdjOutError::NotAMember(peer))?;
        self.groups
            .iter_mut()
            .find(|g| g.id == id)
            .ok_or(AdjOutError::NotAMember(peer))
    }

    /// Add an Established peer to the group its [`GroupKey`] names,
    /// creating the group if there is none; a new group's table is first
    /// filled from `rib`, as is the table of a group that has none. The
    /// member then gets the group's table and End-of-RIB for each
    /// negotiated family (RFC 4724 section 2), paced by its outbox like a
    /// resynchronisation. `rib`: see the module documentation.
    pub fn add_member<R: LocRib + ?Sized>(
        &mut self,
        spec: MemberSpec,
        rib: &R,
        interner: &mut AttrInterner,
    ) -> Result<GroupId, AdjOutError> {
        let peer = spec.info.id;
        if let Some(&group) = self.members.get(&peer) {
            return Err(AdjOutError::AlreadyMember { peer, group });
        }
        let key = GroupKey::new(&spec, &self.config);
        let index = match self.groups.iter().position(|g| g.key == key) {
            Some(index) => index,
            None => {
                let id = GroupId(self.next_group);
                self.next_group += 1;
                let direct = !self.config.always_keep_tables;
                let mut group = UpdateGroup::new(id, key, spec.info.clone(), direct);
                group.build_table(rib, interner, true);
                tracing::debug!(%id, role = ?group.key.role, "update group created");
                self.groups.push(group);
                self.groups.len() - 1
            }
        };
        let group = &mut self.groups[index];
        group.add_member(spec.info, spec.outbox, rib, interner);
        self.members.insert(peer, group.id);
        Ok(group.id)
    }

    /// Remove a member (its session went down); an empty group is dropped.
    pub fn remove_member(&mut self, peer: PeerId) -> Result<GroupId, AdjOutError> {
        let id = self
            .members
            .remove(&peer)
            .ok_or(AdjOutError::NotAMember(peer))?;
        if let Some(index) = self.groups.iter().position(|g| g.id == id) {
            if self.groups[index].remove_member(peer) {
                self.groups.swap_remove(index);
                tracing::debug!(%id, "update group dropped");
            }
        }
        Ok(id)
    }

    /// Record Loc-RIB changes in every group's pending set (export rules,
    /// policy, ADD-PATH selection). Nothing is sent until [`AdjOut::flush`].
    /// `peers` must know every peer that is the source of a path, including
    /// peers whose stale paths graceful restart keeps (RFC 4724 section
    /// 4.2); a path whose source is unknown is not exported.
    pub fn apply<P: PeerLookup + ?Sized>(
        &mut self,
        changes: &[RibChange],
        peers: &P,
        interner: &mut AttrInterner,
    ) {
        for group in &mut self.groups {
            group.begin_batch();
            for change in changes {
                group.apply_change(change, peers, interner);
            }
        }
    }

    /// Every group makes its table from `rib` if it has none (see the
    /// module documentation); `rib` must hold exactly the changes applied
    /// so far. For a change of a source's record that could change what
    /// the groups export of the paths it already has in the Loc-RIB.
    pub fn keep_tables<R: LocRib + ?Sized>(&mut self, rib: &R, interner: &mut AttrInterner) {
        for group in &mut self.groups {
            group.keep_table(rib, interner);
        }
    }

    /// Encode every group's pending changes once and push them to its
    /// members that are in sync. `rib` is the Loc-RIB after the changes
    /// applied since the last flush.
    pub fn flush<R: LocRib + ?Sized>(
        &mut self,
        rib: &R,
        interner: &mut AttrInterner,
    ) -> FlushSummary {
        let mut summary = FlushSummary::default();
        for group in &mut self.groups {
            group.flush(&mut summary, rib, interner);
        }
        summary
    }

    /// The member's outbox drained after refusing pushes: go on with its
    /// resynchronisation. Returns where the member stands afterwards.
    pub fn member_drained(&mut self, peer: PeerId) -> Result<SyncState, AdjOutError> {
        self.group_of_mut(peer)?.drained(peer)
    }

    /// The member asked for `family` again (RFC 2918 section 4): re-send
    /// its group's table of the family, between BoRR and EoRR when enhanced
    /// route refresh was negotiated (RFC 7313 section 4). A group without a
    /// table makes it from `rib` first (see the module documentation).
    pub fn route_refresh<R: LocRib + ?Sized>(
        &mut self,
        peer: PeerId,
        family: AfiSafi,
        rib: &R,
        interner: &mut AttrInterner,
    ) -> Result<(), AdjOutError> {
        self.group_of_mut(peer)?
            .refresh(peer, family, rib, interner)
    }

    /// Drop cached transforms and blocks of attribute sets that no longer
    /// exist; call after the RIB's interner collected its garbage (the
    /// caches watch the source sets) and before the interner of exported
    /// sets collects its own (the caches hold those). Returns entries
    /// dropped.
    pub fn collect_garbage(&mut self) -> usize {
        self.groups
            .iter_mut()
            .map(UpdateGroup::collect_garbage)
            .sum()
    }

    /// The member's group.
    pub fn group_of(&self, peer: PeerId) -> Option<GroupId> {
        self.members.get(&peer).copied()
    }

    /// The members of a group.
    pub fn members_of(&self, group: GroupId) -> Vec<PeerId> {
        self.group(group)
            .map(|g| g.member_ids().collect())
            .unwrap_or_default()
    }

    /// What the member is advertised for `prefix` as of the last flush:
    /// (ADD-PATH path id, 0 without ADD-PATH; attributes as exported);
    /// never a route whose source is the member itself. A group without a table exports `rib`'s best path
    /// instead (the changes applied since the last flush included).
    pub fn exported<R: LocRib + ?Sized>(
        &mut self,
        peer: PeerId,
        family: AfiSafi,
        prefix: IpNetwork,
        rib: &R,
        interner: &mut AttrInterner,
    ) -> Vec<(u32, Attrs)> {
        match self.group_of_mut(peer) {
            Ok(group) => group.exported(peer, family, prefix, rib, interner),
            Err(_) => Vec::new(),
        }
    }

    /// Every group's counters.
    pub fn group_stats(&self) -> Vec<GroupStats> {
        self.groups.iter().map(UpdateGroup::stats).collect()
    }

    /// One member's counters.
    pub fn member_stats(&self, peer: PeerId) -> Option<MemberStats> {
        let id = self.group_of(peer)?;
        self.group(id)?.member_stats(peer)
    }

    /// Number of groups.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }
}
