//! Helpers shared by the `rib_*` and `policy_*` tests (included with
//! `#[path = "rib_support.rs"] mod support;`). Compiled alone it has no tests.
#![allow(dead_code)]

use ipnetwork::IpNetwork;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use bgp_proto::attribute::{AsPath, MpNlri, MpReach, MpUnreach, NextHop, Origin, PathAttribute};
use bgp_proto::context::AddPathFamilies;
use bgp_proto::iana::AfiSafi;
use bgp_proto::message::Update;
use bgp_proto::session::Negotiated;
use bgp_proto::{Findings, Nlri, PeerType};

use bgp_speaker::rib::{Rib, RibConfig};
use bgp_speaker::types::{PeerId, PeerInfo, PeerRole, RibChange};

/// Our AS in the tests.
pub const LOCAL_AS: u32 = 65000;
/// Our router ID in the tests.
pub const ROUTER_ID: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 254);

/// A prefix from text.
pub fn net(text: &str) -> IpNetwork {
    text.parse().unwrap()
}

/// The negotiated parameters of a session with `peer_as`.
pub fn negotiated(peer_as: u32, router_id: Ipv4Addr, add_path: bool) -> Arc<Negotiated> {
    let add_path_receive = if add_path {
        AddPathFamilies::ALL
    } else {
        AddPathFamilies::NONE
    };
    Arc::new(Negotiated {
        local_as: LOCAL_AS,
        peer_as,
        local_id: ROUTER_ID,
        peer_id: router_id,
        peer_type: if peer_as == LOCAL_AS {
            PeerType::Internal
        } else {
            PeerType::External
        },
        families: vec![AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST],
        four_octet_as: true,
        add_path_receive,
        add_path_send: AddPathFamilies::NONE,
        extended_message: false,
        route_refresh: true,
        enhanced_route_refresh: false,
        peer_graceful_restart: None,
        graceful_restart: false,
        peer_llgr: Vec::new(),
        peer_role: None,
        hold_time: Duration::from_secs(90),
        keepalive: Duration::from_secs(30),
    })
}

/// A peer description: handle `id`, address 10.0.0.id, router ID 10.255.0.id.
pub fn peer(id: u32, role: PeerRole, peer_as: u32) -> PeerInfo {
    let address = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + id));
    let router_id = Ipv4Addr::from(0x0aff_0000 + id);
    PeerInfo {
        id: PeerId(id),
        address,
        peer_as,
        local_as: LOCAL_AS,
        router_id,
        role,
        cluster_id: ROUTER_ID,
        negotiated: negotiated(peer_as, router_id, false),
    }
}

/// An iBGP route-reflector client.
pub fn client(id: u32) -> PeerInfo {
    peer(id, PeerRole::ReflectorClient, LOCAL_AS)
}

/// An eBGP peer.
pub fn external(id: u32, peer_as: u32) -> PeerInfo {
    peer(id, PeerRole::External, peer_as)
}

/// A RIB with the test router ID and AS.
pub fn rib() -> Rib {
    Rib::new(RibConfig::new(ROUTER_ID, LOCAL_AS))
}

/// ORIGIN IGP and an AS_PATH of one sequence.
pub fn base(as_path: &[u32]) -> Vec<PathAttribute> {
    vec![
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::from_sequence(as_path.to_vec())),
    ]
}

/// An IPv4 UPDATE announcing `prefixes` with `attributes` and NEXT_HOP.
pub fn announce(prefixes: &[&str], mut attributes: Vec<PathAttribute>) -> Update {
    attributes.push(PathAttribute::NextHop(Ipv4Addr::new(192, 0, 2, 1)));
    attributes.sort_by_key(PathAttribute::type_code);
    Update {
        withdrawn: Vec::new(),
        attributes,
        nlri: prefixes.iter().map(|p| Nlri::new(net(p))).collect(),
    }
}

/// An IPv4 UPDATE announcing `(prefix, path_id)` pairs (ADD-PATH).
pub fn announce_ids(prefixes: &[(&str, u32)], attributes: Vec<PathAttribute>) -> Update {
    let mut update = announce(&[], attributes);
    update.nlri = prefixes
        .iter()
        .map(|(p, id)| Nlri::with_path_id(net(p), *id))
        .collect();
    update
}

/// An IPv4 UPDATE withdrawing `prefixes`.
pub fn withdraw(prefixes: &[&str]) -> Update {
    Update {
        withdrawn: prefixes.iter().map(|p| Nlri::new(net(p))).collect(),
        ..Update::default()
    }
}

/// An IPv6 UPDATE announcing `prefixes` in MP_REACH_NLRI.
pub fn announce_v6(prefixes: &[&str], mut attributes: Vec<PathAttribute>) -> Update {
    attributes.push(PathAttribute::mp_reach(MpReach {
        afi_safi: AfiSafi::IPV6_UNICAST,
        next_hop: NextHop::V6 {
            global: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
            link_local: None,
        },
        nlri: MpNlri::Prefixes(prefixes.iter().map(|p| Nlri::new(net(p))).collect()),
    }));
    attributes.sort_by_key(PathAttribute::type_code);
    Update {
        attributes,
        ..Update::default()
    }
}

/// An IPv6 UPDATE withdrawing `prefixes` in MP_UNREACH_NLRI.
pub fn withdraw_v6(prefixes: &[&str]) -> Update {
    Update {
        attributes: vec![PathAttribute::mp_unreach(MpUnreach {
            afi_safi: AfiSafi::IPV6_UNICAST,
            withdrawn: MpNlri::Prefixes(prefixes.iter().map(|p| Nlri::new(net(p))).collect()),
        })],
        ..Update::default()
    }
}

/// Apply an UPDATE without findings; panics on a prefix-limit error.
pub fn apply(rib: &mut Rib, peer: u32, update: &Update) -> Vec<RibChange> {
    let mut changes = Vec::new();
    rib.apply_update(PeerId(peer), update, &Findings::default(), &mut changes)
        .expect("no prefix limit exceeded");
    changes
}

/// The peers of a prefix's paths, best first.
pub fn order(rib: &Rib, prefix: &str) -> Vec<u32> {
    rib.paths(AfiSafi::IPV4_UNICAST, net(prefix))
        .iter()
        .map(|p| p.peer.0)
        .collect()
}

/// The best path's peer.
pub fn best(rib: &Rib, prefix: &str) -> Option<u32> {
    rib.best(AfiSafi::IPV4_UNICAST, net(prefix))
        .map(|p| p.peer.0)
}
