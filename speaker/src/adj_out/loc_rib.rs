//! What the update groups read from the Loc-RIB, and a plain Loc-RIB for
//! callers that drive [`super::AdjOut`] without a [`crate::rib::Rib`]
//! (tests, benchmarks, a program with a RIB of its own).

use ipnetwork::IpNetwork;
use std::collections::{BTreeMap, HashMap};

use bgp_proto::iana::AfiSafi;

use crate::types::{Path, PathList, PeerId, PeerInfo, RibChange};

use super::PeerLookup;

/// The Loc-RIB as the update groups see it: the sources of paths
/// ([`PeerLookup`]) and every prefix's paths, best first. Groups without a
/// table of their own read it when they make their table and answer
/// [`super::AdjOut::exported`] from it.
pub trait LocRib: PeerLookup {
    /// Every prefix of `family` with its paths, best first, in any order.
    fn family_routes(&self, family: AfiSafi)
    -> Box<dyn Iterator<Item = (IpNetwork, &[Path])> + '_>;

    /// The paths of one prefix, best first (empty if it has none).
    fn prefix_paths(&self, family: AfiSafi, prefix: IpNetwork) -> &[Path];
}

/// A Loc-RIB kept as given: the caller ranks the paths. [`PlainLocRib::change`]
/// records a prefix's new paths and makes the [`RibChange`] for it, with
/// the best path it replaces.
///
/// ```
/// use bgp_proto::iana::AfiSafi;
/// use bgp_speaker::adj_out::{LocRib, PlainLocRib};
///
/// let mut rib = PlainLocRib::default();
/// let prefix = "10.0.0.0/24".parse().unwrap();
/// let change = rib.change(AfiSafi::IPV4_UNICAST, prefix, Vec::new());
/// assert!(change.paths.is_empty() && change.previous_best.is_none());
/// assert!(rib.prefix_paths(AfiSafi::IPV4_UNICAST, prefix).is_empty());
/// ```
#[derive(Debug, Default, Clone)]
pub struct PlainLocRib {
    /// The sources of paths.
    pub peers: HashMap<PeerId, PeerInfo>,
    routes: BTreeMap<AfiSafi, BTreeMap<IpNetwork, PathList>>,
}

impl PlainLocRib {
    /// Record `paths` (best first; empty: the prefix is gone) as the
    /// prefix's paths and return the change, whose
    /// [`RibChange::previous_best`] is the best path before it.
    pub fn change(&mut self, family: AfiSafi, prefix: IpNetwork, paths: Vec<Path>) -> RibChange {
        let mut change = RibChange {
            family,
            prefix,
            paths: paths.into(),
            previous_best: None,
        };
        self.record(&mut change);
        change
    }

    /// Record `change` (its family, prefix and paths) and set its
    /// [`RibChange::previous_best`] from what was recorded before.
    pub fn record(&mut self, change: &mut RibChange) {
        let table = self.routes.entry(change.family).or_default();
        let previous = if change.paths.is_empty() {
            table.remove(&change.prefix)
        } else {
            table.insert(change.prefix, change.paths.clone())
        };
        change.previous_best = previous.and_then(|paths| paths.into_iter().next());
    }

    /// Prefixes held.
    pub fn len(&self) -> usize {
        self.routes.values().map(BTreeMap::len).sum()
    }

    /// Is it empty?
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl PeerLookup for PlainLocRib {
    fn peer_info(&self, peer: PeerId) -> Option<&PeerInfo> {
        self.peers.get(&peer)
    }
}

impl LocRib for PlainLocRib {
    fn family_routes(
        &self,
        family: AfiSafi,
    ) -> Box<dyn Iterator<Item = (IpNetwork, &[Path])> + '_> {
        match self.routes.get(&family) {
            Some(table) => Box::new(table.iter().map(|(prefix, paths)| (*prefix, &paths[..]))),
            None => Box::new(std::iter::empty()),
        }
    }

    fn prefix_paths(&self, family: AfiSafi, prefix: IpNetwork) -> &[Path] {
        self.routes
            .get(&family)
            .and_then(|table| table.get(&prefix))
            .map_or(&[], |paths| &paths[..])
    }
}
