//! Every policy condition, matching and not matching.

#[path = "rib_support.rs"]
mod support;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgp_proto::attribute::{
    AsPath, AsSegment, Community, LargeCommunity, NextHop, Origin, PathAttribute,
};
use bgp_proto::iana::AfiSafi;

use bgp_speaker::PathAttrs;
use bgp_speaker::policy::{Condition, PrefixRange, RouteContext};
use bgp_speaker::types::PeerInfo;

use support::*;

fn attrs(extra: Vec<PathAttribute>) -> PathAttrs {
    let mut attributes = base(&[65001, 65002, 65003]);
    attributes.extend(extra);
    PathAttrs {
        next_hop: NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)),
        attributes,
    }
}

fn check(condition: &Condition, prefix: &str, peer: &PeerInfo, attrs: &PathAttrs) -> bool {
    let prefix = net(prefix);
    let family = match prefix {
        ipnetwork::IpNetwork::V4(_) => AfiSafi::IPV4_UNICAST,
        ipnetwork::IpNetwork::V6(_) => AfiSafi::IPV6_UNICAST,
    };
    condition.matches(
        &RouteContext {
            family,
            prefix,
            peer,
        },
        attrs,
    )
}

fn plain(condition: &Condition, prefix: &str) -> bool {
    check(condition, prefix, &client(1), &attrs(vec![]))
}

#[test]
fn prefix_range_exact() {
    let range = PrefixRange::new(net("10.0.0.0/8"));
    assert!(range.matches(net("10.0.0.0/8")));
    assert!(!range.matches(net("10.1.0.0/16")));
    assert!(!range.matches(net("11.0.0.0/8")));
}

#[test]
fn prefix_range_le() {
    let range = PrefixRange::new(net("10.0.0.0/8")).le(24);
    assert!(range.matches(net("10.0.0.0/8")));
    assert!(range.matches(net("10.1.2.0/24")));
    assert!(!range.matches(net("10.1.2.0/25")));
    assert!(!range.matches(net("0.0.0.0/0")));
    assert!(!range.matches(net("2001:db8::/32")));
}

#[test]
fn prefix_range_ge_and_both() {
    let ge = PrefixRange::new(net("10.0.0.0/8")).ge(16);
    assert!(!ge.matches(net("10.0.0.0/8")));
    assert!(ge.matches(net("10.1.0.0/16")));
    assert!(ge.matches(net("10.1.1.1/32")));
    let both = PrefixRange::new(net("2001:db8::/32")).ge(40).le(48);
    assert!(both.matches(net("2001:db8:100::/40")));
    assert!(both.matches(net("2001:db8:1::/48")));
    assert!(!both.matches(net("2001:db8::/32")));
    assert!(!both.matches(net("2001:db8::/64")));
    assert!(!both.matches(net("2001:db9::/48")));
}

#[test]
fn prefix_condition_matches_any_range() {
    let condition = Condition::Prefix(vec![
        PrefixRange::new(net("10.0.0.0/8")).le(24),
        PrefixRange::new(net("192.168.0.0/16")),
    ]);
    assert!(plain(&condition, "10.1.0.0/16"));
    assert!(plain(&condition, "192.168.0.0/16"));
    assert!(!plain(&condition, "192.168.1.0/24"));
    assert!(condition.depends_on_prefix());
}

#[test]
fn family() {
    let condition = Condition::Family(AfiSafi::IPV6_UNICAST);
    assert!(plain(&condition, "2001:db8::/32"));
    assert!(!plain(&condition, "10.0.0.0/8"));
    assert!(!condition.depends_on_prefix());
}

#[test]
fn standard_community() {
    let condition = Condition::Community(Community::new(65000, 100));
    let tagged = attrs(vec![PathAttribute::Communities(
        bgp_proto::smallvec::smallvec![Community::new(1, 1), Community::new(65000, 100),],
    )]);
    assert!(check(&condition, "10.0.0.0/8", &client(1), &tagged));
    assert!(!plain(&condition, "10.0.0.0/8"));
}

#[test]
fn large_community() {
    let wanted = LargeCommunity {
        global: 65000,
        local1: 1,
        local2: 2,
    };
    let condition = Condition::LargeCommunity(wanted);
    let tagged = attrs(vec![PathAttribute::LargeCommunities(vec![wanted])]);
    assert!(check(&condition, "10.0.0.0/8", &client(1), &tagged));
    let other = attrs(vec![PathAttribute::LargeCommunities(vec![
        LargeCommunity {
            local2: 3,
            ..wanted
        },
    ])]);
    assert!(!check(&condition, "10.0.0.0/8", &client(1), &other));
}

#[test]
fn as_path_contains_originates_from_and_neighbour() {
    assert!(plain(&Condition::AsPathContains(65002), "10.0.0.0/8"));
    assert!(!plain(&Condition::AsPathContains(65009), "10.0.0.0/8"));
    assert!(plain(&Condition::OriginatesFrom(65003), "10.0.0.0/8"));
    assert!(!plain(&Condition::OriginatesFrom(65001), "10.0.0.0/8"));
    assert!(plain(&Condition::NeighborAs(65001), "10.0.0.0/8"));
    assert!(!plain(&Condition::NeighborAs(65003), "10.0.0.0/8"));
    // An AS in a set is contained, but a set is no origin.
    let set = attrs(vec![]);
    let mut set = set;
    set.attributes[1] = PathAttribute::AsPath(AsPath {
        segments: bgp_proto::smallvec::smallvec![
            AsSegment::sequence(vec![65001]),
            AsSegment::set(vec![7, 8])
        ],
    });
    assert!(check(
        &Condition::AsPathContains(8),
        "10.0.0.0/8",
        &client(1),
        &set
    ));
    assert!(!check(
        &Condition::OriginatesFrom(8),
        "10.0.0.0/8",
        &client(1),
        &set
    ));
}

#[test]
fn as_path_length_range() {
    let three = Condition::AsPathLength { min: 3, max: 3 };
    let short = Condition::AsPathLength { min: 0, max: 2 };
    assert!(plain(&three, "10.0.0.0/8"));
    assert!(!plain(&short, "10.0.0.0/8"));
}

#[test]
fn peer_address_and_peer_as() {
    let peer = external(5, 65001); // address 10.0.0.5
    let attrs = attrs(vec![]);
    assert!(check(
        &Condition::PeerAddress(net("10.0.0.0/29")),
        "10.0.0.0/8",
        &peer,
        &attrs
    ));
    assert!(!check(
        &Condition::PeerAddress(net("10.0.0.8/29")),
        "10.0.0.0/8",
        &peer,
        &attrs
    ));
    assert!(check(
        &Condition::PeerAs(65001),
        "10.0.0.0/8",
        &peer,
        &attrs
    ));
    assert!(!check(
        &Condition::PeerAs(65002),
        "10.0.0.0/8",
        &peer,
        &attrs
    ));
}

#[test]
fn origin() {
    assert!(plain(&Condition::Origin(Origin::Igp), "10.0.0.0/8"));
    assert!(!plain(&Condition::Origin(Origin::Incomplete), "10.0.0.0/8"));
}

#[test]
fn next_hop_in_prefix() {
    assert!(plain(
        &Condition::NextHopIn(net("192.0.2.0/24")),
        "10.0.0.0/8"
    ));
    assert!(!plain(
        &Condition::NextHopIn(net("198.51.100.0/24")),
        "10.0.0.0/8"
    ));
    let mut v6 = attrs(vec![]);
    v6.next_hop = NextHop::V6 {
        global: Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1),
        link_local: None,
    };
    let condition = Condition::NextHopIn(net("2001:db8::/32"));
    assert!(check(&condition, "2001:db8:1::/48", &client(1), &v6));
    let _ = IpAddr::V4(Ipv4Addr::LOCALHOST);
}

#[test]
fn any_and_not() {
    let any = Condition::Any(vec![Condition::PeerAs(1), Condition::OriginatesFrom(65003)]);
    assert!(plain(&any, "10.0.0.0/8"));
    assert!(!plain(&Condition::Any(vec![]), "10.0.0.0/8"));
    assert!(!plain(&Condition::Not(Box::new(any)), "10.0.0.0/8"));
    let prefix_inside = Condition::Not(Box::new(Condition::Any(vec![Condition::Prefix(vec![])])));
    assert!(prefix_inside.depends_on_prefix());
}
