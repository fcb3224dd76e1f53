//! Prefix limits (RFC 4486 section 4) and per-peer counters.
//!
//! A limit counts, per peer and family, the paths of that peer held in the
//! Loc-RIB (accepted by import policy, stale ones included; with ADD-PATH
//! each path counts). A new path that would make the count exceed
//! [`PrefixLimit::max`] is refused: with [`PrefixLimitAction::Shutdown`]
//! [`super::Rib::apply_update`] returns [`PrefixLimitExceeded`], and the
//! core closes the session with Cease subcode 1 and
//! [`PrefixLimitExceeded::cease_data`]; with [`PrefixLimitAction::DropExcess`]
//! the path is dropped and counted. Replacing a path the peer already has
//! is always allowed.

use std::net::Ipv4Addr;

use bgp_proto::iana::AfiSafi;

use crate::config::{PrefixLimit, PrefixLimitAction};

/// A peer sent more prefixes than its limit allows (RFC 4486 section 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("maximum number of prefixes reached for {family}: limit {limit}")]
pub struct PrefixLimitExceeded {
    /// The family whose limit was exceeded.
    pub family: AfiSafi,
    /// The limit.
    pub limit: u32,
}

impl PrefixLimitExceeded {
    /// The data of the Cease NOTIFICATION, subcode 1 "Maximum Number of
    /// Prefixes Reached" (RFC 4486 section 4): AFI (2 octets), SAFI
    /// (1 octet), and the upper bound (4 octets).
    pub fn cease_data(&self) -> [u8; 7] {
        let [a, b] = self.family.afi.0.to_be_bytes();
        let [c, d, e, f] = self.limit.to_be_bytes();
        [a, b, self.family.safi.0, c, d, e, f]
    }
}

/// Routes dropped by loop detection, per reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoopDrops {
    /// AS_PATH contains our AS (RFC 4271 section 9.1.2).
    pub as_path: u64,
    /// ORIGINATOR_ID is our router ID (RFC 4456 section 8).
    pub originator_id: u64,
    /// CLUSTER_LIST contains one of our cluster IDs (RFC 4456 section 8).
    pub cluster_list: u64,
}

impl LoopDrops {
    /// All reasons together.
    pub fn total(&self) -> u64 {
        self.as_path + self.originator_id + self.cluster_list
    }
}

/// Counters of one peer. Cumulative counters count prefixes (NLRI) since
/// the peer was added; `paths` are gauges.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PeerCounters {
    /// Prefixes announced (cumulative, whatever became of them).
    pub received: u64,
    /// Prefixes withdrawn by the peer (cumulative).
    pub withdrawn: u64,
    /// Prefixes rejected by import policy (cumulative).
    pub rejected_by_policy: u64,
    /// Prefixes dropped by loop detection (cumulative).
    pub loops: LoopDrops,
    /// Prefixes handled as withdrawn because of RFC 7606 errors (cumulative).
    pub treated_as_withdraw: u64,
    /// New paths dropped by a [`PrefixLimitAction::DropExcess`] limit (cumulative).
    pub limit_dropped: u64,
    /// Paths of this peer in the Loc-RIB now, per family.
    pub paths: Vec<(AfiSafi, u64)>,
    /// Paths of this peer in the Loc-RIB now that are stale (RFC 4724).
    pub stale: u64,
    /// The ORIGINATOR_IDs of routes dropped because their CLUSTER_LIST
    /// holds one of our cluster IDs, most recent last, at most
    /// [`CLUSTER_LOOP_ORIGINATORS`] distinct ones. From a reflector of our
    /// own cluster these name the clients that reach it but not us.
    pub cluster_loop_originators: Vec<Ipv4Addr>,
}

/// How many distinct originators [`PeerCounters::cluster_loop_originators`]
/// keeps.
pub const CLUSTER_LOOP_ORIGINATORS: usize = 32;

impl PeerCounters {
    /// Note a route of `originator` dropped for a CLUSTER_LIST loop.
    pub(crate) fn note_cluster_loop(&mut self, originator: Ipv4Addr) {
        let list = &mut self.cluster_loop_originators;
        if let Some(at) = list.iter().position(|o| *o == originator) {
            list.remove(at);
        } else if list.len() == CLUSTER_LOOP_ORIGINATORS {
            list.remove(0);
        }
        list.push(originator);
    }

    /// Paths of this peer in the Loc-RIB now: the accepted routes.
    pub fn accepted(&self) -> u64 {
        self.paths.iter().map(|(_, n)| n).sum()
    }

    /// Paths of this peer in the Loc-RIB now, in `family`.
    pub fn paths_in(&self, family: AfiSafi) -> u64 {
        self.paths
            .iter()
            .find(|(f, _)| *f == family)
            .map_or(0, |(_, n)| *n)
    }

    pub(crate) fn set_paths(&mut self, family: AfiSafi, count: u64) {
        match self.paths.iter_mut().find(|(f, _)| *f == family) {
            Some((_, n)) => *n = count,
            None => self.paths.push((family, count)),
        }
    }
}

/// What to do with a new path.
pub(crate) enum Admit {
    /// Store it.
    Yes,
    /// Drop it (DropExcess).
    Drop,
    /// Close the session (Shutdown).
    Exceeded(PrefixLimitExceeded),
}

/// May a new path be added to `count` paths already held?
#[inline]
pub(crate) fn admit(limit: Option<&PrefixLimit>, family: AfiSafi, count: u64) -> Admit {
    match limit {
        None => Admit::Yes,
        Some(limit) if count < u64::from(limit.max) => Admit::Yes,
        Some(limit) => match limit.action {
            PrefixLimitAction::DropExcess => Admit::Drop,
            PrefixLimitAction::Shutdown => Admit::Exceeded(PrefixLimitExceeded {
                family,
                limit: limit.max,
            }),
        },
    }
}

/// Is `count` at or above the warning threshold?
pub(crate) fn at_warning(limit: &PrefixLimit, count: u64) -> bool {
    count * 100 >= u64::from(limit.max) * u64::from(limit.warn_percent)
}
