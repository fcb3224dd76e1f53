//! The decision process: RFC 4271 section 9.1.2.2 with RFC 4456 section 9.
//!
//! Paths are compared step by step; the first step that differs decides:
//!
//! | step | rule |
//! | --- | --- |
//! | [`DecisionStep::LocalPref`] | highest LOCAL_PREF (RFC 4271 9.1.1; 100 when absent) |
//! | [`DecisionStep::LocallyOriginated`] | our own routes ([`PeerId::LOCAL`]) first |
//! | [`DecisionStep::AsPathLength`] | shortest AS_PATH (9.1.2.2 a; a set counts 1, confederation segments 0) |
//! | [`DecisionStep::Origin`] | lowest ORIGIN, IGP < EGP < INCOMPLETE (9.1.2.2 b) |
//! | [`DecisionStep::Med`] | lowest MED, only between paths from the same neighbour AS unless `always_compare_med` (9.1.2.2 c; 0 when absent) |
//! | [`DecisionStep::ExternalOverInternal`] | eBGP-learned over iBGP-learned (9.1.2.2 d) |
//! | [`DecisionStep::IgpCost`] | lowest IGP cost to the next hop (9.1.2.2 e): not known here, always equal |
//! | [`DecisionStep::RouterId`] | lowest BGP identifier, the ORIGINATOR_ID for reflected routes (9.1.2.2 f, RFC 4456 9) |
//! | [`DecisionStep::ClusterListLength`] | shortest CLUSTER_LIST (RFC 4456 9) |
//! | [`DecisionStep::PeerAddress`] | lowest peer address (9.1.2.2 g) |
//! | [`DecisionStep::PathId`] | lowest ADD-PATH identifier, then peer handle: makes the order total |
//!
//! # MED and determinism
//! The MED rule makes pairwise comparison non-transitive (A beats B on
//! router ID, B beats C on router ID, C beats A on MED), so a best path
//! chosen by comparing arrivals one by one would depend on arrival order.
//! Ranking is therefore done like "deterministic MED": paths are grouped by
//! neighbour AS, each group is sorted with every step (MED included, which
//! is valid inside a group), and the groups are merged by repeatedly taking
//! the best group head compared without MED. The result depends only on the
//! set of paths. The best path equals the one of the elimination procedure
//! of RFC 4271 section 9.1.2.2 (steps a and b remove the same paths from
//! every group; step c keeps each group's lowest MED; the later steps pick
//! among group winners). The rest of the order is what ADD-PATH senders use.
//!
//! # Multipath
//! With multipath on, the equal-cost set is the best path and every path
//! equal to it up to and including step e (IGP cost), with the lowest MED
//! of its neighbour AS among those, and (unless `multipath_relax`) from the
//! best path's neighbour AS. The set is moved to the front of the order,
//! so it is a prefix of every [`crate::types::RibChange::paths`]; see
//! [`super::Rib::multipath_len`].

use rustc_hash::FxHashMap;
use std::cmp::Ordering;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use bgp_proto::attribute::{Origin, PathAttribute};

use crate::types::{Path, PeerId, PeerRole};

use super::PeerState;

/// LOCAL_PREF of paths without one (RFC 4271 section 5.1.5 leaves it to
/// configuration; 100 is what every implementation uses).
pub const DEFAULT_LOCAL_PREF: u32 = 100;

/// A step of the decision process, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DecisionStep {
    /// Highest LOCAL_PREF (RFC 4271 section 9.1.1).
    LocalPref,
    /// Locally originated routes first.
    LocallyOriginated,
    /// Shortest AS_PATH (RFC 4271 section 9.1.2.2 a).
    AsPathLength,
    /// Lowest ORIGIN (RFC 4271 section 9.1.2.2 b).
    Origin,
    /// Lowest MULTI_EXIT_DISC within a neighbour AS (RFC 4271 section 9.1.2.2 c).
    Med,
    /// eBGP over iBGP (RFC 4271 section 9.1.2.2 d).
    ExternalOverInternal,
    /// Lowest IGP cost (RFC 4271 section 9.1.2.2 e); never decides here.
    IgpCost,
    /// Lowest BGP identifier or ORIGINATOR_ID (RFC 4271 9.1.2.2 f, RFC 4456 9).
    RouterId,
    /// Shortest CLUSTER_LIST (RFC 4456 section 9).
    ClusterListLength,
    /// Lowest peer address (RFC 4271 section 9.1.2.2 g).
    PeerAddress,
    /// Lowest ADD-PATH path identifier, then lowest peer handle.
    PathId,
}

impl DecisionStep {
    /// Where the rule is specified.
    pub fn reference(self) -> &'static str {
        match self {
            DecisionStep::LocalPref => "RFC 4271 section 9.1.1",
            DecisionStep::LocallyOriginated => "local policy",
            DecisionStep::AsPathLength => "RFC 4271 section 9.1.2.2 a",
            DecisionStep::Origin => "RFC 4271 section 9.1.2.2 b",
            DecisionStep::Med => "RFC 4271 section 9.1.2.2 c",
            DecisionStep::ExternalOverInternal => "RFC 4271 section 9.1.2.2 d",
            DecisionStep::IgpCost => "RFC 4271 section 9.1.2.2 e",
            DecisionStep::RouterId => "RFC 4271 section 9.1.2.2 f, RFC 4456 section 9",
            DecisionStep::ClusterListLength => "RFC 4456 section 9",
            DecisionStep::PeerAddress => "RFC 4271 section 9.1.2.2 g",
            DecisionStep::PathId => "tie-break",
        }
    }
}

impl fmt::Display for DecisionStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecisionStep::LocalPref => "LOCAL_PREF",
            DecisionStep::LocallyOriginated => "locally originated",
            DecisionStep::AsPathLength => "AS_PATH length",
            DecisionStep::Origin => "ORIGIN",
            DecisionStep::Med => "MED",
            DecisionStep::ExternalOverInternal => "eBGP over iBGP",
            DecisionStep::IgpCost => "IGP cost",
            DecisionStep::RouterId => "router ID",
            DecisionStep::ClusterListLength => "CLUSTER_LIST length",
            DecisionStep::PeerAddress => "peer address",
            DecisionStep::PathId => "path identifier",
        })
    }
}

/// What the decision needs to know about the peer a path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PeerRank {
    pub(crate) router_id: Ipv4Addr,
    pub(crate) address: IpAddr,
    pub(crate) external: bool,
}

impl PeerRank {
    pub(crate) fn of(info: &crate::types::PeerInfo) -> Self {
        PeerRank {
            router_id: info.router_id,
            address: info.address,
            external: info.role == PeerRole::External,
        }
    }
}

/// The values of one path that the steps compare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RankKey {
    pub(crate) local_pref: u32,
    pub(crate) local: bool,
    pub(crate) as_path_len: usize,
    pub(crate) origin: Origin,
    pub(crate) med: u32,
    pub(crate) neighbor_as: Option<u32>,
    pub(crate) external: bool,
    pub(crate) router_id: Ipv4Addr,
    pub(crate) originator: bool,
    pub(crate) cluster_len: usize,
    pub(crate) address: IpAddr,
    pub(crate) peer: PeerId,
    pub(crate) path_id: u32,
}

/// The decision process over the RIB's peers and options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Decider<'a> {
    pub(crate) peers: &'a FxHashMap<PeerId, PeerState>,
    pub(crate) local: PeerRank,
    pub(crate) always_compare_med: bool,
    pub(crate) multipath: bool,
    pub(crate) multipath_relax: bool,
}

impl Decider<'_> {
    pub(crate) fn key(&self, path: &Path) -> RankKey {
        let attrs = &path.attrs;
        let local = path.peer == PeerId::LOCAL;
        let rank = if local {
            self.local
        } else {
            self.peers.get(&path.peer).map_or(
                PeerRank {
                    router_id: Ipv4Addr::BROADCAST,
                    address: IpAddr::V4(Ipv4Addr::BROADCAST),
                    external: false,
                },
                |state| state.rank,
            )
        };
        let mut key = RankKey {
            local_pref: DEFAULT_LOCAL_PREF,
            local,
            as_path_len: 0,
            origin: Origin::Igp,
            med: 0,
            neighbor_as: None,
            external: rank.external,
            router_id: rank.router_id,
            originator: false,
            cluster_len: 0,
            address: rank.address,
            peer: path.peer,
            path_id: path.path_id,
        };
        // One pass over the attributes (the first of each type counts, as
        // in the `PathAttrs` accessors).
        let mut seen = 0u64;
        for attribute in &attrs.attributes {
            let code = attribute.type_code();
            if code < 64 {
                if seen & (1 << code) != 0 {
                    continue;
                }
                seen |= 1 << code;
            }
            match attribute {
                PathAttribute::Origin(origin) => key.origin = *origin,
                PathAttribute::AsPath(path) => {
                    key.as_path_len = path.path_length();
                    key.neighbor_as = path.first_asn();
                }
                PathAttribute::MultiExitDisc(med) => key.med = *med,
                PathAttribute::LocalPref(pref) => key.local_pref = *pref,
                PathAttribute::OriginatorId(id) => {
                    key.router_id = *id;
                    key.originator = true;
                }
                PathAttribute::ClusterList(list) => key.cluster_len = list.len(),
                _ => {}
            }
        }
        key
    }

    /// May the MED of `a` and `b` be compared?
    pub(crate) fn med_comparable(&self, a: &RankKey, b: &RankKey) -> bool {
        self.always_compare_med || a.neighbor_as == b.neighbor_as
    }

    /// Order the paths of one prefix best first (see the module doc).
    pub(crate) fn rank(&self, paths: &mut [Path]) {
        if paths.len() < 2 {
            return;
        }
        if paths.len() == 2 && !self.multipath {
            // The common case of two candidates: one comparison, no grouping.
            let (a, b) = (self.key(&paths[0]), self.key(&paths[1]));
            if compare(&b, &a, self.med_comparable(&a, &b)).0 == Ordering::Less {
                paths.swap(0, 1);
            }
            return;
        }
        let keys: Vec<RankKey> = paths.iter().map(|p| self.key(p)).collect();
        let mut order = self.order(&keys);
        if self.multipath {
            let flags = self.equal_cost_flags(&keys, &order);
            let (mut front, back): (Vec<_>, Vec<_>) = order
                .iter()
                .zip(&flags)
                .partition(|(_, equal_cost)| **equal_cost);
            front.extend(back);
            order = front.into_iter().map(|(&i, _)| i).collect();
        }
        permute(paths, &order);
    }

    /// Indices of `keys`, best first.
    fn order(&self, keys: &[RankKey]) -> Vec<usize> {
        let mut order: Vec<usize> = (0..keys.len()).collect();
        if self.always_compare_med {
            order.sort_by(|&a, &b| compare(&keys[a], &keys[b], true).0);
            return order;
        }
        // Group by neighbour AS, each group sorted with MED ...
        order.sort_by(|&a, &b| {
            keys[a]
                .neighbor_as
                .cmp(&keys[b].neighbor_as)
                .then_with(|| compare(&keys[a], &keys[b], true).0)
        });
        let mut groups: Vec<&[usize]> = order
            .chunk_by(|&a, &b| keys[a].neighbor_as == keys[b].neighbor_as)
            .collect();
        if groups.len() == 1 {
            return order;
        }
        // ... then merged by the best head, compared without MED.
        let mut merged = Vec::with_capacity(keys.len());
        while !groups.is_empty() {
            let mut best = 0;
            for g in 1..groups.len() {
                if compare(&keys[groups[g][0]], &keys[groups[best][0]], false).0 == Ordering::Less {
                    best = g;
                }
            }
            merged.push(groups[best][0]);
            groups[best] = &groups[best][1..];
            if groups[best].is_empty() {
                groups.swap_remove(best);
            }
        }
        merged
    }

    /// For each position of `order`, is that path in the equal-cost set?
    fn equal_cost_flags(&self, keys: &[RankKey], order: &[usize]) -> Vec<bool> {
        let best = &keys[order[0]];
        let candidate = |k: &RankKey| {
            k.local_pref == best.local_pref
                && k.local == best.local
                && k.as_path_len == best.as_path_len
                && k.origin == best.origin
                && k.external == best.external
                && (self.multipath_relax || k.neighbor_as == best.neighbor_as)
        };
        // The lowest MED among candidates, per neighbour AS (or overall).
        let mut lowest: Vec<(Option<u32>, u32)> = Vec::new();
        for k in keys.iter().filter(|k| candidate(k)) {
            let group = if self.always_compare_med {
                None
            } else {
                k.neighbor_as
            };
            match lowest.iter_mut().find(|(g, _)| *g == group) {
                Some((_, med)) => *med = (*med).min(k.med),
                None => lowest.push((group, k.med)),
            }
        }
        order
            .iter()
            .map(|&i| {
                let k = &keys[i];
                let group = if self.always_compare_med {
                    None
                } else {
                    k.neighbor_as
                };
                candidate(k) && lowest.iter().any(|&(g, med)| g == group && med == k.med)
            })
            .collect()
    }

    /// How many leading paths of a ranked slice form the equal-cost set
    /// (1 without multipath, 0 for no paths).
    pub(crate) fn equal_cost_len(&self, paths: &[Path]) -> usize {
        if !self.multipath || paths.len() < 2 {
            return paths.len().min(1);
        }
        let keys: Vec<RankKey> = paths.iter().map(|p| self.key(p)).collect();
        let order: Vec<usize> = (0..keys.len()).collect();
        self.equal_cost_flags(&keys, &order)
            .iter()
            .take_while(|&&f| f)
            .count()
    }

    /// For the path at `index` of a ranked slice, the path that eliminated
    /// it: its neighbour AS's best path if that is another one (lost on the
    /// steps up to MED), else the overall best.
    pub(crate) fn eliminator(&self, keys: &[RankKey], index: usize) -> usize {
        if !self.always_compare_med {
            let group_best = keys
                .iter()
                .position(|k| k.neighbor_as == keys[index].neighbor_as)
                .expect("the path itself is in its group");
            if group_best != index {
                return group_best;
            }
        }
        0
    }
}

/// Compare two paths step by step: `Less` if `a` is better, and the step
/// that decided. With `med` false the MED step is skipped.
pub(crate) fn compare(a: &RankKey, b: &RankKey, med: bool) -> (Ordering, DecisionStep) {
    use DecisionStep as S;
    macro_rules! step {
        ($step:expr, $ordering:expr) => {
            let ordering = $ordering;
            if ordering.is_ne() {
                return (ordering, $step);
            }
        };
    }
    step!(S::LocalPref, b.local_pref.cmp(&a.local_pref));
    step!(S::LocallyOriginated, b.local.cmp(&a.local));
    step!(S::AsPathLength, a.as_path_len.cmp(&b.as_path_len));
    step!(S::Origin, a.origin.cmp(&b.origin));
    if med {
        step!(S::Med, a.med.cmp(&b.med));
    }
    step!(S::ExternalOverInternal, b.external.cmp(&a.external));
    // S::IgpCost: no IGP cost is known, always equal.
    step!(S::RouterId, a.router_id.cmp(&b.router_id));
    step!(S::ClusterListLength, a.cluster_len.cmp(&b.cluster_len));
    step!(S::PeerAddress, a.address.cmp(&b.address));
    let last = (a.path_id, a.peer).cmp(&(b.path_id, b.peer));
    (last, S::PathId)
}

/// Reorder `items` so that `items[i]` becomes the old `items[order[i]]`,
/// in place (`order` is a permutation).
fn permute<T>(items: &mut [T], order: &[usize]) {
    for i in 0..items.len() {
        let mut from = order[i];
        // Elements before `i` have moved; follow where this one went.
        while from < i {
            from = order[from];
        }
        items.swap(i, from);
    }
}

#[cfg(test)]
mod tests {
    use super::permute;

    #[test]
    fn permute_applies_the_order_in_place() {
        let orders: [&[usize]; 5] = [
            &[0, 1, 2, 3],
            &[3, 2, 1, 0],
            &[1, 2, 3, 0],
            &[2, 0, 3, 1],
            &[0, 3, 1, 2],
        ];
        for order in orders {
            let mut items = vec!['a', 'b', 'c', 'd'];
            let expected: Vec<char> = order.iter().map(|&i| items[i]).collect();
            permute(&mut items, order);
            assert_eq!(items, expected, "{order:?}");
        }
    }
}
