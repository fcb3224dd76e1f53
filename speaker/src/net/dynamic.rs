//! Dynamic neighbours: accepting sessions from any address of a configured
//! range, each range with its own template and session limit.

use ipnetwork::IpNetwork;
use std::net::IpAddr;

use crate::config::{DynamicNeighbors, PeerOptions};

/// Why an address was not admitted as a dynamic neighbour.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DynamicReject {
    /// The address is in no range.
    #[error("{0} is in no dynamic-neighbour range")]
    NoRange(IpAddr),
    /// The range that matches holds its maximum of sessions.
    #[error("dynamic-neighbour range {prefix} already has its {max_peers} sessions")]
    Full {
        /// The matching range.
        prefix: IpNetwork,
        /// Its limit.
        max_peers: usize,
    },
}

/// A session counted against a range; give it back with
/// [`DynamicMatcher::release`] when the peer task is gone.
#[derive(Debug, PartialEq, Eq)]
pub struct DynamicSlot {
    index: usize,
    prefix: IpNetwork,
}

impl DynamicSlot {
    /// The range the session belongs to.
    pub fn prefix(&self) -> IpNetwork {
        self.prefix
    }
}

/// Matches addresses against [`DynamicNeighbors`] ranges (the longest
/// prefix wins) and counts the sessions of each range.
#[derive(Debug, Clone, Default)]
pub struct DynamicMatcher {
    ranges: Vec<(DynamicNeighbors, usize)>,
}

impl DynamicMatcher {
    /// A matcher for `ranges`, with no sessions.
    pub fn new(ranges: Vec<DynamicNeighbors>) -> Self {
        DynamicMatcher {
            ranges: ranges.into_iter().map(|r| (r, 0)).collect(),
        }
    }

    /// The most specific range containing `addr`.
    pub fn find(&self, addr: IpAddr) -> Option<&DynamicNeighbors> {
        self.find_index(addr).map(|i| &self.ranges[i].0)
    }

    fn find_index(&self, addr: IpAddr) -> Option<usize> {
        let addr = addr.to_canonical();
        self.ranges
            .iter()
            .enumerate()
            .filter(|(_, (range, _))| range.prefix.contains(addr))
            .max_by_key(|(_, (range, _))| range.prefix.prefix())
            .map(|(i, _)| i)
    }

    /// Count a new session from `addr` against its most specific range.
    /// A full range refuses, even if a less specific one has room.
    pub fn admit(&mut self, addr: IpAddr) -> Result<DynamicSlot, DynamicReject> {
        let index = self
            .find_index(addr)
            .ok_or(DynamicReject::NoRange(addr.to_canonical()))?;
        let (range, sessions) = &mut self.ranges[index];
        if *sessions >= range.max_peers {
            return Err(DynamicReject::Full {
                prefix: range.prefix,
                max_peers: range.max_peers,
            });
        }
        *sessions += 1;
        Ok(DynamicSlot {
            index,
            prefix: range.prefix,
        })
    }

    /// The options template of `slot`'s range.
    pub fn template(&self, slot: &DynamicSlot) -> &PeerOptions {
        &self.ranges[slot.index].0.template
    }

    /// Give a session back.
    pub fn release(&mut self, slot: DynamicSlot) {
        if let Some((_, sessions)) = self.ranges.get_mut(slot.index) {
            *sessions = sessions.saturating_sub(1);
        }
    }

    /// Sessions counted against the range `prefix`.
    pub fn sessions(&self, prefix: IpNetwork) -> usize {
        self.ranges
            .iter()
            .find(|(range, _)| range.prefix == prefix)
            .map_or(0, |(_, sessions)| *sessions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_proto::session::PeerAs;

    fn range(prefix: &str, max_peers: usize, asn: u32) -> DynamicNeighbors {
        DynamicNeighbors {
            prefix: prefix.parse().unwrap(),
            template: PeerOptions::new(PeerAs::Exact(asn)),
            max_peers,
        }
    }

    #[test]
    fn longest_prefix_wins_and_limits_count() {
        let mut m =
            DynamicMatcher::new(vec![range("10.0.0.0/8", 10, 1), range("10.1.0.0/16", 1, 2)]);
        let a: IpAddr = "10.1.2.3".parse().unwrap();
        let b: IpAddr = "10.1.2.4".parse().unwrap();
        let c: IpAddr = "10.2.0.1".parse().unwrap();
        let slot = m.admit(a).unwrap();
        assert_eq!(slot.prefix(), "10.1.0.0/16".parse().unwrap());
        assert_eq!(m.template(&slot).peer_as, PeerAs::Exact(2));
        assert_eq!(
            m.admit(b),
            Err(DynamicReject::Full {
                prefix: "10.1.0.0/16".parse().unwrap(),
                max_peers: 1
            })
        );
        assert_eq!(m.admit(c).unwrap().prefix(), "10.0.0.0/8".parse().unwrap());
        assert_eq!(m.sessions("10.0.0.0/8".parse().unwrap()), 1);
        m.release(slot);
        assert!(m.admit(b).is_ok());
    }

    #[test]
    fn other_addresses_and_v4_mapped() {
        let mut m = DynamicMatcher::new(vec![range("192.0.2.0/24", 5, 1)]);
        let outside: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(m.admit(outside), Err(DynamicReject::NoRange(outside)));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert!(m.find(mapped).is_some());
        assert!(m.admit(mapped).is_ok());
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert!(m.find(v6).is_none());
    }
}
