//! From UPDATE to Loc-RIB: withdrawals, announcements, loop detection and
//! import policy.

use std::borrow::Cow;

use bgp_proto::Findings;
use bgp_proto::attribute::{NextHop, PathAttribute};
use bgp_proto::iana::AfiSafi;
use bgp_proto::message::Update;
use bgp_proto::nlri::Nlri;

use crate::attrs::{Attrs, PathAttrs};
use crate::policy::{PolicyResult, RouteContext};
use crate::types::{PeerId, PeerInfo, PeerRole, RibChange};

use super::limits::{PrefixLimitExceeded, at_warning};
use super::store::{Batch, Import, Tally, announce_all, remove_all, resolve_self};
use super::table::Table;
use super::{Rib, RibConfig, decider};

/// What one [`Rib::apply_update`] did. Counts are of prefixes (NLRI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApplyStats {
    /// Prefixes announced by the UPDATE (all families).
    pub announced: usize,
    /// Prefixes withdrawn by the UPDATE.
    pub withdrawn: usize,
    /// Announcements stored in the Loc-RIB (new, replacing, or the same
    /// again).
    pub accepted: usize,
    /// Announcements rejected by import policy (RFC 8212 default included).
    pub rejected: usize,
    /// Announcements dropped by loop detection.
    pub loops: usize,
    /// Announcements handled as withdrawals (RFC 7606 treat-as-withdraw, or
    /// IPv4 NLRI without NEXT_HOP).
    pub treated_as_withdraw: usize,
    /// New paths dropped by a DropExcess prefix limit.
    pub limit_dropped: usize,
    /// The peer's path count reached the warning threshold of its prefix
    /// limit in this family with this UPDATE (reported once per crossing).
    pub limit_warning: Option<AfiSafi>,
    /// The UPDATE is an End-of-RIB marker for this family (RFC 4724
    /// section 2): time to [`Rib::flush_stale`] the family.
    pub end_of_rib: Option<AfiSafi>,
    /// The peer is not registered; the UPDATE was ignored.
    pub unknown_peer: bool,
}

/// Why announced prefixes are removed instead of stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Removal {
    /// Withdrawn by the peer.
    Withdrawn,
    /// RFC 7606 treat-as-withdraw.
    TreatAsWithdraw,
    /// AS_PATH contains our AS.
    AsPathLoop,
    /// ORIGINATOR_ID is our router ID.
    OriginatorLoop,
    /// CLUSTER_LIST contains one of our cluster IDs; the route's
    /// ORIGINATOR_ID, if it has one.
    ClusterLoop(Option<std::net::Ipv4Addr>),
    /// Import policy.
    Rejected,
}

/// What to do with a batch of announcements, decided once per UPDATE.
enum Plan {
    /// Remove them all (loop, or rejected whatever the prefix).
    Remove(Removal),
    /// Store them with these attributes.
    Constant(Attrs),
    /// Evaluate the import policy per prefix on these attributes.
    PerPrefix(Attrs),
}

impl Rib {
    /// Apply one UPDATE from `peer` (RFC 4271 section 9, RFC 4760, RFC
    /// 7911, RFC 7606), appending a [`RibChange`] per changed prefix.
    ///
    /// 1. Withdrawals (withdrawn-routes field, MP_UNREACH_NLRI) remove the
    ///    peer's path with the same path identifier.
    /// 2. Announcements (NLRI with NEXT_HOP, MP_REACH_NLRI with its next
    ///    hop) get one interned attribute set per family; LOCAL_PREF from an
    ///    eBGP peer is ignored (RFC 4271 section 5.1.5). When
    ///    `findings.treat_as_withdraw()` is true they are withdrawals
    ///    (RFC 7606 section 2).
    /// 3. Loop detection drops (and withdraws) the UPDATE's routes of the
    ///    family: our AS in the AS_PATH of an eBGP route (RFC 4271 section
    ///    9.1.2), our router ID as ORIGINATOR_ID, or any of our cluster IDs
    ///    in the CLUSTER_LIST (RFC 4456 section 8).
    /// 4. Import policy, or without one the RFC 8212 default (eBGP: reject,
    ///    iBGP: accept). A rejected route withdraws the peer's earlier path.
    /// 5. The path, keyed by (peer, path identifier), replaces the peer's
    ///    earlier one (and clears its stale mark) or is added, subject to
    ///    the prefix limit.
    ///
    /// On [`PrefixLimitExceeded`] the UPDATE has been applied up to the
    /// offending prefix and `changes` holds what changed; the core then
    /// closes the session (Cease, RFC 4486) and calls [`Rib::remove_peer`].
    /// Only IP-prefix families are stored; other MP families are ignored.
    pub fn apply_update(
        &mut self,
        peer: PeerId,
        update: &Update,
        findings: &Findings,
        changes: &mut Vec<RibChange>,
    ) -> Result<ApplyStats, PrefixLimitExceeded> {
        let mut stats = ApplyStats {
            end_of_rib: update.end_of_rib_family(),
            ..ApplyStats::default()
        };
        if !self.peers.contains_key(&peer) {
            tracing::warn!(%peer, "UPDATE from an unregistered peer ignored");
            stats.unknown_peer = true;
            return Ok(stats);
        }
        let start = changes.len();
        let result = self.apply_inner(peer, update, findings, changes, &mut stats);
        if may_repeat_prefixes(update) {
            self.dedup_changes(changes, start);
        }
        self.maybe_collect_garbage();
        result.map(|()| stats)
    }

    fn apply_inner(
        &mut self,
        peer: PeerId,
        update: &Update,
        findings: &Findings,
        changes: &mut Vec<RibChange>,
        stats: &mut ApplyStats,
    ) -> Result<(), PrefixLimitExceeded> {
        let ipv4 = AfiSafi::IPV4_UNICAST;
        let withdrawn = Removal::Withdrawn;
        self.remove_batch(peer, ipv4, &update.withdrawn, withdrawn, changes, stats);
        if let Some(unreach) = update.mp_unreach() {
            let prefixes = unreach.withdrawn.prefixes();
            self.remove_batch(peer, unreach.afi_safi, prefixes, withdrawn, changes, stats);
        }
        let treat_as_withdraw = findings.treat_as_withdraw();
        if !update.nlri.is_empty() {
            stats.announced += update.nlri.len();
            match update.next_hop() {
                Some(next_hop) if !treat_as_withdraw => {
                    let next_hop = NextHop::V4(next_hop);
                    let attributes = &update.attributes;
                    self.announce_batch(
                        peer,
                        ipv4,
                        next_hop,
                        attributes,
                        &update.nlri,
                        changes,
                        stats,
                    )?;
                }
                _ => {
                    let why = Removal::TreatAsWithdraw;
                    self.remove_batch(peer, ipv4, &update.nlri, why, changes, stats);
                }
            }
        }
        if let Some(reach) = update.mp_reach() {
            let prefixes = reach.nlri.prefixes();
            stats.announced += prefixes.len();
            if treat_as_withdraw {
                let why = Removal::TreatAsWithdraw;
                self.remove_batch(peer, reach.afi_safi, prefixes, why, changes, stats);
            } else if !prefixes.is_empty() {
                let (family, next_hop) = (reach.afi_safi, reach.next_hop.clone());
                let attributes = &update.attributes;
                self.announce_batch(peer, family, next_hop, attributes, prefixes, changes, stats)?;
            }
        }
        Ok(())
    }

    /// Remove the peer's paths for `nlri` (withdrawn, or announced but not
    /// acceptable) and count them as `why`.
    fn remove_batch(
        &mut self,
        peer: PeerId,
        family: AfiSafi,
        nlri: &[Nlri],
        why: Removal,
        changes: &mut Vec<RibChange>,
        stats: &mut ApplyStats,
    ) {
        if nlri.is_empty() {
            return;
        }
        let Rib {
            tables,
            peers,
            config,
            ..
        } = self;
        let mut removed = (0, 0);
        if let Some((_, table)) = tables.iter_mut().find(|(f, _)| *f == family) {
            let decider = decider(peers, config);
            removed = match table {
                Table::V4(map) => remove_all(map, &decider, family, peer, nlri, changes),
                Table::V6(map) => remove_all(map, &decider, family, peer, nlri, changes),
            };
        }
        let n = nlri.len();
        let Some(state) = self.peers.get_mut(&peer) else {
            return;
        };
        let counters = &mut state.counters;
        let count = counters.paths_in(family).saturating_sub(removed.0);
        counters.set_paths(family, count);
        counters.stale = counters.stale.saturating_sub(removed.1);
        match why {
            Removal::Withdrawn => {
                stats.withdrawn += n;
                counters.withdrawn += n as u64;
            }
            Removal::TreatAsWithdraw => {
                stats.treated_as_withdraw += n;
                counters.treated_as_withdraw += n as u64;
                counters.received += n as u64;
            }
            Removal::AsPathLoop | Removal::OriginatorLoop | Removal::ClusterLoop(_) => {
                stats.loops += n;
                counters.received += n as u64;
                match why {
                    Removal::AsPathLoop => counters.loops.as_path += n as u64,
                    Removal::OriginatorLoop => counters.loops.originator_id += n as u64,
                    Removal::ClusterLoop(originator) => {
                        counters.loops.cluster_list += n as u64;
                        if let Some(originator) = originator {
                            counters.note_cluster_loop(originator);
                        }
                    }
                    _ => {}
                }
            }
            Removal::Rejected => {
                stats.rejected += n;
                counters.rejected_by_policy += n as u64;
                counters.received += n as u64;
            }
        }
        if let Some(limit) = &state.limit {
            if !at_warning(limit, count) {
                state.warned.retain(|f| *f != family);
            }
        }
    }

    /// Store the announcements of one family.
    #[allow(clippy::too_many_arguments)]
    fn announce_batch(
        &mut self,
        peer: PeerId,
        family: AfiSafi,
        next_hop: NextHop,
        attributes: &[PathAttribute],
        nlri: &[Nlri],
        changes: &mut Vec<RibChange>,
        stats: &mut ApplyStats,
    ) -> Result<(), PrefixLimitExceeded> {
        if !family.has_ip_prefix_nlri() {
            return Ok(());
        }
        let plan = {
            let state = &self.peers[&peer];
            let external = state.info.role == PeerRole::External;
            let mut base = PathAttrs::from_update_attributes(attributes, next_hop);
            if external {
                base.attributes
                    .retain(|a| !matches!(a, PathAttribute::LocalPref(_)));
            }
            if let Some(why) = loop_check(&self.config, &self.cluster_ids, &state.info, &base) {
                Plan::Remove(why)
            } else {
                match &state.import {
                    None if external => Plan::Remove(Removal::Rejected),
                    None => Plan::Constant(self.interner.intern(base)),
                    Some(_) if state.import_per_prefix => {
                        Plan::PerPrefix(self.interner.intern(base))
                    }
                    Some(policy) => {
                        let ctx = RouteContext {
                            family,
                            prefix: nlri[0].prefix,
                            peer: &state.info,
                        };
                        match policy.evaluate(&ctx, &base) {
                            PolicyResult::Reject => Plan::Remove(Removal::Rejected),
                            PolicyResult::Accept(Cow::Borrowed(_)) => {
                                Plan::Constant(self.interner.intern(base))
                            }
                            PolicyResult::Accept(Cow::Owned(modified)) => {
                                let modified = resolve_self(modified, &state.info);
                                Plan::Constant(self.interner.intern(modified))
                            }
                        }
                    }
                }
            }
        };
        let Rib {
            tables,
            peers,
            config,
            interner,
            ..
        } = self;
        let import = match plan {
            Plan::Remove(why) => {
                self.remove_batch(peer, family, nlri, why, changes, stats);
                return Ok(());
            }
            Plan::Constant(attrs) => Import::Constant(attrs),
            Plan::PerPrefix(attrs) => {
                let policy = peers[&peer].import.as_ref().expect("per-prefix policy");
                Import::PerPrefix(policy, attrs)
            }
        };
        let table = match tables.iter().position(|(f, _)| *f == family) {
            Some(at) => &mut tables[at].1,
            None => {
                let table = Table::for_family(family).expect("IP-prefix family");
                tables.push((family, table));
                &mut tables.last_mut().expect("just pushed").1
            }
        };
        let state = &peers[&peer];
        let batch = Batch {
            decider: decider(peers, config),
            family,
            peer,
            info: &state.info,
            limit: state.limit.as_ref(),
        };
        let mut tally = Tally {
            count: state.counters.paths_in(family),
            ..Tally::default()
        };
        let result = match table {
            Table::V4(map) => {
                announce_all(map, &batch, &import, nlri, interner, &mut tally, changes)
            }
            Table::V6(map) => {
                announce_all(map, &batch, &import, nlri, interner, &mut tally, changes)
            }
        };
        let state = peers.get_mut(&peer).expect("checked above");
        let counters = &mut state.counters;
        counters.set_paths(family, tally.count);
        counters.received += nlri.len() as u64;
        counters.stale = counters
            .stale
            .saturating_sub(tally.unstaled + tally.removed_stale);
        counters.rejected_by_policy += tally.rejected as u64;
        counters.limit_dropped += tally.dropped as u64;
        stats.accepted += tally.accepted;
        stats.rejected += tally.rejected;
        stats.limit_dropped += tally.dropped;
        if let Some(limit) = &state.limit {
            if at_warning(limit, tally.count) {
                if !state.warned.contains(&family) {
                    state.warned.push(family);
                    stats.limit_warning = Some(family);
                    tracing::warn!(
                        %peer, %family, paths = tally.count, max = limit.max,
                        "prefix limit warning threshold ({}%) reached", limit.warn_percent
                    );
                }
            } else {
                state.warned.retain(|f| *f != family);
            }
        }
        if let Err(exceeded) = &result {
            tracing::warn!(%peer, %family, max = exceeded.limit, "prefix limit exceeded");
        } else if tally.dropped > 0 {
            tracing::warn!(%peer, %family, dropped = tally.dropped, "prefix limit: excess prefixes dropped");
        }
        result
    }
}

/// Could one prefix change twice in this UPDATE? Only with ADD-PATH
/// (several paths of a prefix) or when it has more than one list of
/// prefixes (withdrawn and announced, NLRI and MP_REACH_NLRI). Within one
/// list without path identifiers a repeated prefix changes nothing the
/// second time.
fn may_repeat_prefixes(update: &Update) -> bool {
    let reach = update.mp_reach().map_or(&[][..], |r| r.nlri.prefixes());
    let unreach = update
        .mp_unreach()
        .map_or(&[][..], |u| u.withdrawn.prefixes());
    let lists = [&update.withdrawn[..], unreach, &update.nlri[..], reach];
    let non_empty = lists.iter().filter(|l| !l.is_empty()).count();
    non_empty > 1
        || lists
            .iter()
            .any(|l| l.first().is_some_and(|n| n.path_id.is_some()))
}

/// The loop a route from `info` with `attrs` would make, if any.
fn loop_check(
    config: &RibConfig,
    cluster_ids: &[std::net::Ipv4Addr],
    info: &PeerInfo,
    attrs: &PathAttrs,
) -> Option<Removal> {
    if info.role == PeerRole::External {
        let path = attrs.as_path();
        if path.contains(info.local_as) || path.contains(config.local_as) {
            return Some(Removal::AsPathLoop);
        }
    }
    if attrs.originator_id() == Some(config.router_id) {
        return Some(Removal::OriginatorLoop);
    }
    if attrs
        .cluster_list()
        .iter()
        .any(|id| cluster_ids.contains(id))
    {
        return Some(Removal::ClusterLoop(attrs.originator_id()));
    }
    None
}
