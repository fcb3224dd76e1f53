//! Synthetic UPDATEs with the attributes of a typical Internet route.
//!
//! ORIGIN IGP, an AS_PATH of five 4-octet ASNs, NEXT_HOP (IPv4 cases only),
//! MULTI_EXIT_DISC, LOCAL_PREF and three COMMUNITIES; then either IPv4 NLRI
//! in the NLRI field or IPv6 prefixes in MP_REACH_NLRI (first attribute, as
//! RFC 7606 section 5.1 asks).

use std::net::{Ipv4Addr, Ipv6Addr};

use bgp_proto::attribute::{AsPath, Community, MpNlri, MpReach, NextHop, Origin};
use bgp_proto::message::Update;
use bgp_proto::{AfiSafi, CodecCtx, Message, Nlri, PathAttribute};
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

use crate::mrt::RawMessage;

/// The session context of the synthetic messages: 4-octet AS, iBGP, 4096-octet limit.
pub fn ctx() -> CodecCtx {
    CodecCtx::default()
}

fn common_attributes() -> Vec<PathAttribute> {
    vec![
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::from_sequence(vec![
            64_496, 3356, 1299, 200_000, 65_551,
        ])),
    ]
}

fn tail_attributes() -> Vec<PathAttribute> {
    vec![
        PathAttribute::MultiExitDisc(100),
        PathAttribute::LocalPref(200),
        PathAttribute::Communities(bgp_proto::smallvec::smallvec![
            Community::new(64_496, 100),
            Community::new(64_496, 2000),
            Community::new(3356, 901),
        ]),
    ]
}

/// `count` distinct IPv4 /24 prefixes from 10.0.0.0.
pub fn ipv4_prefixes(count: u32) -> Vec<Nlri> {
    (0..count)
        .map(|i| {
            let addr = Ipv4Addr::from(0x0a00_0000 + (i << 8));
            // Cannot fail: 24 <= 32.
            let net = Ipv4Network::new(addr, 24).unwrap_or_else(|_| Ipv4Network::from(addr));
            Nlri::new(IpNetwork::V4(net))
        })
        .collect()
}

/// `count` distinct IPv6 /48 prefixes from 2001:db8::.
pub fn ipv6_prefixes(count: u32) -> Vec<Nlri> {
    (0..count)
        .map(|i| {
            let addr = Ipv6Addr::from((0x2001_0db8_u128 << 96) | (u128::from(i) << 80));
            // Cannot fail: 48 <= 128.
            let net = Ipv6Network::new(addr, 48).unwrap_or_else(|_| Ipv6Network::from(addr));
            Nlri::new(IpNetwork::V6(net))
        })
        .collect()
}

/// An UPDATE announcing `count` IPv4 prefixes in the NLRI field.
pub fn ipv4_update(count: u32) -> Message {
    let mut attributes = common_attributes();
    attributes.push(PathAttribute::NextHop(Ipv4Addr::new(192, 0, 2, 1)));
    attributes.extend(tail_attributes());
    Message::Update(Update {
        withdrawn: Vec::new(),
        attributes,
        nlri: ipv4_prefixes(count),
    })
}

/// An UPDATE announcing `count` IPv6 prefixes in MP_REACH_NLRI.
pub fn ipv6_update(count: u32) -> Message {
    let mut attributes = vec![PathAttribute::mp_reach(MpReach {
        afi_safi: AfiSafi::IPV6_UNICAST,
        next_hop: NextHop::V6 {
            global: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
            link_local: None,
        },
        nlri: MpNlri::Prefixes(ipv6_prefixes(count)),
    })];
    attributes.extend(common_attributes());
    attributes.extend(tail_attributes());
    Message::Update(Update {
        withdrawn: Vec::new(),
        attributes,
        nlri: Vec::new(),
    })
}

/// One synthetic benchmark case.
#[derive(Debug, Clone)]
pub struct Case {
    /// Benchmark id.
    pub name: &'static str,
    /// Prefixes announced.
    pub prefixes: u32,
    /// The message.
    pub message: Message,
    /// Its wire form, as the other codecs take it.
    pub raw: RawMessage,
}

/// The three cases: 1 IPv4 prefix, 500 IPv4 prefixes, 500 IPv6 prefixes.
pub fn cases() -> Vec<Case> {
    [
        ("ipv4_1_prefix", 1, ipv4_update(1)),
        ("ipv4_500_prefixes", 500, ipv4_update(500)),
        ("ipv6_500_prefixes_mp_reach", 500, ipv6_update(500)),
    ]
    .into_iter()
    .map(|(name, prefixes, message)| {
        let bytes = message
            .to_bytes(&ctx())
            .map(|b| b.freeze())
            .unwrap_or_else(|e| panic!("synthetic UPDATE {name} does not encode: {e}"));
        let raw = RawMessage {
            message_type: bytes[18],
            bytes,
            four_octet_as: true,
            add_path: false,
        };
        Case {
            name,
            prefixes,
            message,
            raw,
        }
    })
    .collect()
}
