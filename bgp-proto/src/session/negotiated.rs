//! What two OPEN messages agree on (RFC 4271 section 4.2, RFC 5492).
//!
//! [`Negotiated::new`] combines our OPEN and the peer's into one value, from
//! which the codec contexts of the session are made.

use std::net::Ipv4Addr;
use std::time::Duration;

use crate::capability::{Capability, GracefulRestart, LlgrFamily, Role};
use crate::context::{AddPathFamilies, CodecCtx, DecodeCtx, EncodeCtx, PeerType};
use crate::iana::AfiSafi;
use crate::message::Open;

/// The result of capability negotiation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// Our AS.
    pub local_as: u32,
    /// The peer's AS (from its 4-octet AS capability when present).
    pub peer_as: u32,
    /// Our BGP identifier.
    pub local_id: Ipv4Addr,
    /// The peer's BGP identifier.
    pub peer_id: Ipv4Addr,
    /// iBGP or eBGP.
    pub peer_type: PeerType,
    /// Families both sides announced (RFC 4760 section 8); IPv4 unicast when
    /// neither sent a multiprotocol capability.
    pub families: Vec<AfiSafi>,
    /// Both sides support 4-octet AS numbers (RFC 6793).
    pub four_octet_as: bool,
    /// Families for which we receive path identifiers (RFC 7911 section 4).
    pub add_path_receive: AddPathFamilies,
    /// Families for which we send path identifiers.
    pub add_path_send: AddPathFamilies,
    /// Both sides support Extended Message (RFC 8654).
    pub extended_message: bool,
    /// The peer accepts ROUTE-REFRESH (RFC 2918, or the pre-standard code).
    pub route_refresh: bool,
    /// Both sides support Enhanced Route Refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// The peer's Graceful Restart capability (RFC 4724), if it sent one.
    pub peer_graceful_restart: Option<GracefulRestart>,
    /// Both sides sent Graceful Restart.
    pub graceful_restart: bool,
    /// The peer's Long-Lived Graceful Restart families (RFC 9494).
    pub peer_llgr: Vec<LlgrFamily>,
    /// The peer's BGP role (RFC 9234), if it sent one.
    pub peer_role: Option<Role>,
    /// Negotiated hold time: the smaller of the two (RFC 4271 section 4.2).
    pub hold_time: Duration,
    /// Interval between KEEPALIVEs: a third of the hold time, or the
    /// configured interval if smaller; zero when the hold time is zero.
    pub keepalive: Duration,
}

impl Negotiated {
    /// Combine our OPEN and the peer's. `keepalive` is the configured
    /// keepalive interval, if any.
    pub fn new(local: &Open, remote: &Open, keepalive: Option<Duration>) -> Self {
        let local_as = local.asn();
        let peer_as = remote.asn();
        let four_octet_as = local.four_octet_as().is_some() && remote.four_octet_as().is_some();
        let families = common_families(local, remote);
        let (add_path_receive, add_path_send) = add_path(local, remote, &families);
        let hold = local.hold_time.min(remote.hold_time);
        let hold_time = Duration::from_secs(u64::from(hold));
        let keepalive = if hold == 0 {
            Duration::ZERO
        } else {
            let third = hold_time / 3;
            keepalive.map_or(third, |k| k.min(third))
        };
        Negotiated {
            local_as,
            peer_as,
            local_id: local.bgp_identifier,
            peer_id: remote.bgp_identifier,
            peer_type: if local_as == peer_as {
                PeerType::Internal
            } else {
                PeerType::External
            },
            families,
            four_octet_as,
            add_path_receive,
            add_path_send,
            extended_message: local.extended_message() && remote.extended_message(),
            route_refresh: remote.supports_route_refresh(),
            enhanced_route_refresh: local.supports_enhanced_route_refresh()
                && remote.supports_enhanced_route_refresh(),
            peer_graceful_restart: remote.graceful_restart().cloned(),
            graceful_restart: local.graceful_restart().is_some()
                && remote.graceful_restart().is_some(),
            peer_llgr: remote.long_lived_graceful_restart().cloned().collect(),
            peer_role: remote.role(),
            hold_time,
            keepalive,
        }
    }

    /// Is `family` usable on this session?
    pub fn has_family(&self, family: AfiSafi) -> bool {
        self.families.contains(&family)
    }

    /// The context for decoding what the peer sends.
    pub fn decode_ctx(&self) -> DecodeCtx {
        CodecCtx {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path_receive,
            extended_message: self.extended_message,
            peer_type: self.peer_type,
        }
    }

    /// The context for encoding what we send.
    pub fn encode_ctx(&self) -> EncodeCtx {
        CodecCtx {
            four_octet_as: self.four_octet_as,
            add_path: self.add_path_send,
            extended_message: self.extended_message,
            peer_type: self.peer_type,
        }
    }
}

/// Families both sides announced; without any multiprotocol capability on
/// either side, IPv4 unicast is implied (RFC 4760 section 8).
fn common_families(local: &Open, remote: &Open) -> Vec<AfiSafi> {
    let has_mp = |open: &Open| open.multiprotocol().next().is_some();
    match (has_mp(local), has_mp(remote)) {
        (false, false) => vec![AfiSafi::IPV4_UNICAST],
        (true, false) | (false, true) => {
            // The side without the capability speaks only IPv4 unicast.
            let with_mp = if has_mp(local) { local } else { remote };
            with_mp
                .multiprotocol()
                .filter(|&f| f == AfiSafi::IPV4_UNICAST)
                .collect()
        }
        (true, true) => {
            let theirs: Vec<AfiSafi> = remote.multiprotocol().collect();
            let mut ours: Vec<AfiSafi> = local
                .multiprotocol()
                .filter(|f| theirs.contains(f))
                .collect();
            ours.dedup();
            ours
        }
    }
}

/// RFC 7911 section 4: we receive path identifiers for a family when we
/// announced Receive (or Both) and the peer Send (or Both); we send them in
/// the opposite case.
fn add_path(
    local: &Open,
    remote: &Open,
    families: &[AfiSafi],
) -> (AddPathFamilies, AddPathFamilies) {
    let mut receive = AddPathFamilies::NONE;
    let mut send = AddPathFamilies::NONE;
    let modes = |open: &Open, family: AfiSafi| {
        open.capabilities.iter().find_map(|cap| match cap {
            Capability::AddPath(entries) => entries
                .iter()
                .find(|(f, _)| *f == family)
                .map(|(_, mode)| *mode),
            _ => None,
        })
    };
    for &family in families {
        let (Some(ours), Some(theirs)) = (modes(local, family), modes(remote, family)) else {
            continue;
        };
        if ours.receives() && theirs.sends() {
            receive.insert(family);
        }
        if ours.sends() && theirs.receives() {
            send.insert(family);
        }
    }
    (receive, send)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capability::AddPathMode;

    fn open(asn: u32, hold: u16, caps: Vec<Capability>) -> Open {
        Open::new(asn, hold, Ipv4Addr::new(10, 0, 0, asn as u8), caps)
    }

    #[test]
    fn hold_time_is_the_smaller_and_keepalive_a_third() {
        let n = Negotiated::new(&open(1, 90, vec![]), &open(2, 30, vec![]), None);
        assert_eq!(n.hold_time, Duration::from_secs(30));
        assert_eq!(n.keepalive, Duration::from_secs(10));
        assert_eq!(n.peer_type, PeerType::External);
        let zero = Negotiated::new(&open(1, 0, vec![]), &open(1, 90, vec![]), None);
        assert_eq!(zero.keepalive, Duration::ZERO);
        assert_eq!(zero.peer_type, PeerType::Internal);
    }

    #[test]
    fn rfc4760_8_no_multiprotocol_capability_means_ipv4_unicast() {
        let n = Negotiated::new(&open(1, 90, vec![]), &open(2, 90, vec![]), None);
        assert_eq!(n.families, vec![AfiSafi::IPV4_UNICAST]);
    }

    #[test]
    fn families_are_the_intersection() {
        let v4 = Capability::Multiprotocol(AfiSafi::IPV4_UNICAST);
        let v6 = Capability::Multiprotocol(AfiSafi::IPV6_UNICAST);
        let n = Negotiated::new(
            &open(1, 90, vec![v4.clone(), v6.clone()]),
            &open(2, 90, vec![v6]),
            None,
        );
        assert_eq!(n.families, vec![AfiSafi::IPV6_UNICAST]);
    }

    #[test]
    fn rfc7911_4_add_path_directions() {
        let v4 = Capability::Multiprotocol(AfiSafi::IPV4_UNICAST);
        let ours = open(
            1,
            90,
            vec![
                v4.clone(),
                Capability::AddPath(vec![(AfiSafi::IPV4_UNICAST, AddPathMode::Both)]),
            ],
        );
        let theirs = open(
            1,
            90,
            vec![
                v4,
                Capability::AddPath(vec![(AfiSafi::IPV4_UNICAST, AddPathMode::Receive)]),
            ],
        );
        let n = Negotiated::new(&ours, &theirs, None);
        assert!(n.add_path_send.contains(AfiSafi::IPV4_UNICAST));
        assert!(!n.add_path_receive.contains(AfiSafi::IPV4_UNICAST));
        assert!(n.encode_ctx().add_path_for(AfiSafi::IPV4_UNICAST));
        assert!(!n.decode_ctx().add_path_for(AfiSafi::IPV4_UNICAST));
    }

    #[test]
    fn rfc6793_four_octet_as_needs_both_sides() {
        let mut old = open(1, 90, vec![]);
        old.capabilities.clear();
        let n = Negotiated::new(&open(1, 90, vec![]), &old, None);
        assert!(!n.four_octet_as);
        assert!(!n.decode_ctx().four_octet_as);
    }
}
