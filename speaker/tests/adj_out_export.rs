//! The export rules, end to end: decoded from the members' outboxes.

#[path = "adj_out_support.rs"]
mod support;

use bytes::Bytes;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bgp_proto::attribute::{
    Aggregator, AsPath, Community, NextHop, PathAttribute, RawAttribute, flags,
};
use bgp_proto::iana::{AS_TRANS, attr_type};

use bgp_speaker::adj_out::{AdjOutConfig, NotExported};
use bgp_speaker::policy::{
    Action, Condition, NextHopAction, Policy, PrefixRange, Statement, Verdict,
};

use support::*;

const CLIENT: u32 = 1;
const CLIENT_2: u32 = 2;
const NON_CLIENT: u32 = 3;
const EBGP: u32 = 4;
const FROM_CLIENT: u32 = 90;
const FROM_NON_CLIENT: u32 = 91;
const FROM_EBGP: u32 = 92;

fn reflector(config: AdjOutConfig) -> Harness {
    let mut h = Harness::with_config(config);
    h.source(&Peer::client(FROM_CLIENT));
    h.source(&Peer::internal(FROM_NON_CLIENT));
    h.source(&Peer::external(FROM_EBGP, 65092));
    h.add(&Peer::client(CLIENT));
    h.add(&Peer::client(CLIENT_2));
    h.add(&Peer::internal(NON_CLIENT));
    h.add(&Peer::external(EBGP, 65004));
    for id in [CLIENT, CLIENT_2, NON_CLIENT, EBGP] {
        h.messages(id);
    }
    h
}

fn ibgp_set(h: &mut Harness) -> bgp_speaker::Attrs {
    h.intern(attrs(
        &[65010],
        "10.0.0.90",
        vec![
            PathAttribute::MultiExitDisc(7),
            PathAttribute::LocalPref(200),
        ],
    ))
}

#[test]
fn rfc4456_client_routes_are_reflected_to_all_with_originator_and_cluster_list() {
    let mut h = reflector(AdjOutConfig::default());
    let set = ibgp_set(&mut h);
    let _ = h.send(&[change("10.1.0.0/16", vec![path(FROM_CLIENT, &set)])]);
    for id in [CLIENT, CLIENT_2, NON_CLIENT] {
        let routes = h.routes(id);
        let route = routes.get("10.1.0.0/16").expect("reflected");
        let originator = Peer::client(FROM_CLIENT).router_id();
        assert_eq!(
            route.get(attr_type::ORIGINATOR_ID),
            Some(&PathAttribute::OriginatorId(originator))
        );
        assert_eq!(
            route.get(attr_type::CLUSTER_LIST),
            Some(&PathAttribute::ClusterList(vec![CLUSTER]))
        );
        // Next hop, LOCAL_PREF, MED and AS_PATH as received (RFC 4456 section 10).
        assert_eq!(route.next_hop, NextHop::V4(Ipv4Addr::new(10, 0, 0, 90)));
        assert_eq!(
            route.get(attr_type::LOCAL_PREF),
            Some(&PathAttribute::LocalPref(200))
        );
        assert_eq!(
            route.get(attr_type::MULTI_EXIT_DISC),
            Some(&PathAttribute::MultiExitDisc(7))
        );
        assert_eq!(
            route.get(attr_type::AS_PATH),
            Some(&PathAttribute::AsPath(AsPath::from_sequence(vec![65010])))
        );
    }
    // To eBGP: our AS prepended, next hop self, iBGP attributes and the
    // other AS's MED removed (RFC 4271 5.1.2-5.1.5).
    let routes = h.routes(EBGP);
    let route = routes.get("10.1.0.0/16").expect("to eBGP");
    assert_eq!(
        route.get(attr_type::AS_PATH),
        Some(&PathAttribute::AsPath(AsPath::from_sequence(vec![
            LOCAL_AS, 65010
        ])))
    );
    assert_eq!(route.next_hop, NextHop::V4(LOCAL_ADDRESS));
    for code in [
        attr_type::LOCAL_PREF,
        attr_type::ORIGINATOR_ID,
        attr_type::CLUSTER_LIST,
        attr_type::MULTI_EXIT_DISC,
    ] {
        assert_eq!(route.get(code), None, "attribute {code}");
    }
}

#[test]
fn rfc4456_non_client_routes_go_to_clients_and_ebgp_only() {
    let mut h = reflector(AdjOutConfig::default());
    let set = ibgp_set(&mut h);
    let _ = h.send(&[change("10.2.0.0/16", vec![path(FROM_NON_CLIENT, &set)])]);
    assert!(h.routes(CLIENT).get("10.2.0.0/16").is_some());
    assert!(h.routes(CLIENT_2).get("10.2.0.0/16").is_some());
    assert!(h.routes(EBGP).get("10.2.0.0/16").is_some());
    assert!(
        h.take(NON_CLIENT).0.is_empty(),
        "never to other non-clients"
    );
}

#[test]
fn rfc4456_5_client_to_client_reflection_off_for_a_cluster() {
    let config = AdjOutConfig {
        no_client_to_client: BTreeSet::from([CLUSTER]),
        ..AdjOutConfig::default()
    };
    let mut h = reflector(config);
    let other_cluster = Peer::client(5).cluster(Ipv4Addr::new(10, 255, 0, 2));
    h.add(&other_cluster);
    h.messages(5);
    let set = ibgp_set(&mut h);
    let _ = h.send(&[change("10.3.0.0/16", vec![path(FROM_CLIENT, &set)])]);
    assert!(h.take(CLIENT).0.is_empty());
    assert!(h.take(CLIENT_2).0.is_empty());
    assert!(h.routes(NON_CLIENT).get("10.3.0.0/16").is_some());
    assert!(h.routes(EBGP).get("10.3.0.0/16").is_some());
    let routes = h.routes(5);
    let route = routes
        .get("10.3.0.0/16")
        .expect("other cluster's clients still get it");
    assert_eq!(
        route.get(attr_type::CLUSTER_LIST),
        Some(&PathAttribute::ClusterList(vec![Ipv4Addr::new(
            10, 255, 0, 2
        )]))
    );
}

#[test]
fn rfc4271_ebgp_routes_get_local_pref_towards_ibgp_and_lose_med_towards_ebgp() {
    let mut h = reflector(AdjOutConfig::default());
    let set = h.intern(attrs(
        &[65092],
        "10.0.0.92",
        vec![PathAttribute::MultiExitDisc(3)],
    ));
    let _ = h.send(&[change("10.4.0.0/16", vec![path(FROM_EBGP, &set)])]);
    for id in [CLIENT, NON_CLIENT] {
        let routes = h.routes(id);
        let route = routes.get("10.4.0.0/16").unwrap();
        assert_eq!(
            route.get(attr_type::LOCAL_PREF),
            Some(&PathAttribute::LocalPref(100))
        );
        assert_eq!(
            route.get(attr_type::MULTI_EXIT_DISC),
            Some(&PathAttribute::MultiExitDisc(3))
        );
        assert_eq!(
            route.get(attr_type::ORIGINATOR_ID),
            None,
            "not reflected: learned over eBGP"
        );
        assert_eq!(route.next_hop, NextHop::V4(Ipv4Addr::new(10, 0, 0, 92)));
    }
    let routes = h.routes(EBGP);
    let route = routes.get("10.4.0.0/16").unwrap();
    assert_eq!(route.get(attr_type::MULTI_EXIT_DISC), None);
    assert_eq!(
        route.get(attr_type::AS_PATH),
        Some(&PathAttribute::AsPath(AsPath::from_sequence(vec![
            LOCAL_AS, 65092
        ])))
    );
}

#[test]
fn our_own_routes_go_everywhere() {
    let mut h = reflector(AdjOutConfig::default());
    let mut own = attrs(&[], "10.9.9.9", vec![PathAttribute::MultiExitDisc(1)]);
    own.attributes
        .retain(|a| a.type_code() != attr_type::AS_PATH);
    let set = h.intern(own);
    let _ = h.send(&[change("10.5.0.0/16", vec![path(0, &set)])]);
    for id in [CLIENT, NON_CLIENT] {
        let routes = h.routes(id);
        let route = routes.get("10.5.0.0/16").unwrap();
        assert_eq!(
            route.get(attr_type::AS_PATH),
            Some(&PathAttribute::AsPath(AsPath::default()))
        );
        assert_eq!(
            route.get(attr_type::LOCAL_PREF),
            Some(&PathAttribute::LocalPref(100))
        );
        assert_eq!(route.next_hop, NextHop::V4(Ipv4Addr::new(10, 9, 9, 9)));
    }
    let routes = h.routes(EBGP);
    let route = routes.get("10.5.0.0/16").unwrap();
    assert_eq!(
        route.get(attr_type::AS_PATH),
        Some(&PathAttribute::AsPath(AsPath::from_sequence(vec![
            LOCAL_AS
        ])))
    );
    assert_eq!(
        route.get(attr_type::MULTI_EXIT_DISC),
        Some(&PathAttribute::MultiExitDisc(1)),
        "our own MED"
    );
}

#[test]
fn rfc1997_no_advertise_no_export_no_export_subconfed() {
    let mut h = reflector(AdjOutConfig::default());
    let with = |h: &mut Harness, c: Community| {
        h.intern(attrs(
            &[65010],
            "10.0.0.90",
            vec![PathAttribute::Communities(bgp_proto::smallvec::smallvec![
                c
            ])],
        ))
    };
    let no_advertise = with(&mut h, Community::NO_ADVERTISE);
    let no_export = with(&mut h, Community::NO_EXPORT);
    let subconfed = with(&mut h, Community::NO_EXPORT_SUBCONFED);
    let _ = h.send(&[
        change("10.6.1.0/24", vec![path(FROM_CLIENT, &no_advertise)]),
        change("10.6.2.0/24", vec![path(FROM_CLIENT, &no_export)]),
        change("10.6.3.0/24", vec![path(FROM_CLIENT, &subconfed)]),
    ]);
    for id in [CLIENT, NON_CLIENT] {
        let routes = h.routes(id);
        assert!(routes.get("10.6.1.0/24").is_none());
        assert!(routes.get("10.6.2.0/24").is_some());
        assert!(routes.get("10.6.3.0/24").is_some());
    }
    assert!(h.take(EBGP).0.is_empty(), "none of the three goes to eBGP");
    let ebgp_stats = h
        .adj
        .group_stats()
        .into_iter()
        .find(|s| s.role == bgp_speaker::PeerRole::External)
        .unwrap();
    assert_eq!(
        ebgp_stats.not_exported,
        vec![
            (NotExported::NoAdvertise, 1),
            (NotExported::NoExport, 1),
            (NotExported::NoExportSubconfed, 1)
        ]
    );
}

#[test]
fn rfc8212_no_export_policy_towards_ebgp_sends_nothing() {
    let mut h = reflector(AdjOutConfig::default());
    let bare = Peer::external(6, 65006);
    let mut opts = options(&bare);
    opts.export = None;
    h.add_with(&bare, opts, IpAddr::V4(LOCAL_ADDRESS), &[]);
    assert_eq!(h.updates(6).len(), 0, "End-of-RIB only");
    let set = ibgp_set(&mut h);
    let _ = h.send(&[change("10.7.0.0/16", vec![path(FROM_CLIENT, &set)])]);
    assert!(h.take(6).0.is_empty());
    assert!(
        h.routes(EBGP).get("10.7.0.0/16").is_some(),
        "with a policy it goes"
    );
}

#[test]
fn rfc4271_9_1_3_an_ineligible_best_path_is_withdrawn_not_replaced() {
    let mut h = reflector(AdjOutConfig::default());
    let ebgp = h.intern(attrs(&[65092], "10.0.0.92", vec![]));
    let ibgp = ibgp_set(&mut h);
    let _ = h.send(&[change("10.8.0.0/16", vec![path(FROM_EBGP, &ebgp)])]);
    assert!(h.routes(NON_CLIENT).get("10.8.0.0/16").is_some());
    // The non-client's path becomes best: the other non-client may not have
    // it, and does not get the second best either.
    let _ = h.send(&[change(
        "10.8.0.0/16",
        vec![path(FROM_NON_CLIENT, &ibgp), path(FROM_EBGP, &ebgp)],
    )]);
    let routes = h.routes(NON_CLIENT);
    assert!(routes.announced.is_empty());
    assert_eq!(routes.withdrawn.len(), 1);
    // Clients get the new best path.
    let routes = h.routes(CLIENT);
    let route = routes.get("10.8.0.0/16").unwrap();
    assert_eq!(route.next_hop, NextHop::V4(Ipv4Addr::new(10, 0, 0, 90)));
}

#[test]
fn rfc4271_5_1_3_ipv6_next_hop_self_needs_a_global_address() {
    let mut h = Harness::new();
    h.source(&Peer::client(90));
    let v6 = Peer::external(1, 65001);
    let local: Ipv6Addr = "2001:db8::1".parse().unwrap();
    h.add_with(&v6, options(&v6), IpAddr::V6(local), &[]);
    let v4_only = Peer::external(2, 65002);
    h.add(&v4_only);
    h.messages(1);
    h.messages(2);
    let set = h.intern(attrs(&[65010], "2001:db8:90::90", vec![]));
    let _ = h.send(&[change("2001:db8:1000::/48", vec![path(90, &set)])]);
    let routes = h.routes(1);
    let route = routes.get("2001:db8:1000::/48").unwrap();
    assert_eq!(
        route.next_hop,
        NextHop::V6 {
            global: local,
            link_local: None
        }
    );
    assert!(
        h.take(2).0.is_empty(),
        "no IPv6 address of ours on that session"
    );
    let stats = h.adj.group_stats();
    let v4_group = stats
        .iter()
        .find(|s| s.id == h.adj.group_of(bgp_speaker::PeerId(2)).unwrap())
        .unwrap();
    assert_eq!(v4_group.not_exported, vec![(NotExported::NoNextHop, 1)]);
}

#[test]
fn rfc6793_two_octet_members_get_as4_path_and_as4_aggregator() {
    let mut h = Harness::new();
    h.source(&Peer::client(90));
    h.add(&Peer::client(1).two_octet());
    h.add(&Peer::client(2));
    h.messages(1);
    h.messages(2);
    let aggregator = Aggregator {
        asn: 4_200_000_001,
        address: Ipv4Addr::new(10, 1, 0, 90),
    };
    let set = h.intern(attrs(
        &[4_200_000_000, 65010],
        "10.0.0.90",
        vec![PathAttribute::Aggregator(aggregator)],
    ));
    let _ = h.send(&[change("10.9.0.0/16", vec![path(90, &set)])]);
    let routes = h.routes(1);
    let route = routes.get("10.9.0.0/16").unwrap();
    assert_eq!(
        route.get(attr_type::AS_PATH),
        Some(&PathAttribute::AsPath(AsPath::from_sequence(vec![
            u32::from(AS_TRANS),
            65010
        ])))
    );
    assert_eq!(
        route.get(attr_type::AS4_PATH),
        Some(&PathAttribute::As4Path(AsPath::from_sequence(vec![
            4_200_000_000,
            65010
        ])))
    );
    assert_eq!(
        route.get(attr_type::AS4_AGGREGATOR),
        Some(&PathAttribute::As4Aggregator(aggregator))
    );
    let routes = h.routes(2);
    let route = routes.get("10.9.0.0/16").unwrap();
    assert_eq!(
        route.get(attr_type::AS4_PATH),
        None,
        "4-octet members need none"
    );
    assert_eq!(
        route.get(attr_type::AS_PATH),
        Some(&PathAttribute::AsPath(AsPath::from_sequence(vec![
            4_200_000_000,
            65010
        ])))
    );
}

#[test]
fn rfc4271_5_unknown_transitive_attributes_pass_with_the_partial_bit() {
    let mut h = reflector(AdjOutConfig::default());
    let raw = |flag_bits| {
        PathAttribute::Raw(RawAttribute {
            flags: flag_bits,
            type_code: 200,
            value: Bytes::from_static(b"opaque"),
        })
    };
    let set = h.intern(attrs(
        &[65010],
        "10.0.0.90",
        vec![raw(flags::OPTIONAL | flags::TRANSITIVE)],
    ));
    let _ = h.send(&[change("10.10.0.0/16", vec![path(FROM_CLIENT, &set)])]);
    let routes = h.routes(CLIENT);
    let route = routes.get("10.10.0.0/16").unwrap();
    assert_eq!(
        route.get(200),
        Some(&raw(flags::OPTIONAL | flags::TRANSITIVE | flags::PARTIAL))
    );
}

#[test]
fn the_export_policy_runs_after_the_rules() {
    let mut h = Harness::new();
    h.source(&Peer::client(90));
    let peer = Peer::external(1, 65001);
    let mut opts = options(&peer);
    opts.export = Some(
        Policy::new("out", Verdict::Reject)
            .with(
                Statement::new("no-tens", Verdict::Reject).when(Condition::Prefix(vec![
                    PrefixRange::new(net("10.0.0.0/8")).le(32),
                ])),
            )
            .with(
                Statement::new("rest", Verdict::Accept)
                    .then(Action::SetMed(42))
                    .then(Action::SetLocalPref(300))
                    .then(Action::SetNextHop(NextHopAction::SelfAddress)),
            ),
    );
    opts.next_hop = bgp_speaker::config::NextHopMode::Keep;
    h.add_with(&peer, opts, IpAddr::V4(LOCAL_ADDRESS), &[]);
    h.messages(1);
    let set = h.intern(attrs(&[65010], "10.0.0.90", vec![]));
    let _ = h.send(&[
        change("10.11.0.0/16", vec![path(90, &set)]),
        change("172.16.0.0/12", vec![path(90, &set)]),
    ]);
    let routes = h.routes(1);
    assert!(routes.get("10.11.0.0/16").is_none(), "prefix rejected");
    let route = routes.get("172.16.0.0/12").unwrap();
    assert_eq!(
        route.get(attr_type::MULTI_EXIT_DISC),
        Some(&PathAttribute::MultiExitDisc(42))
    );
    assert_eq!(route.get(attr_type::LOCAL_PREF), None, "never towards eBGP");
    assert_eq!(
        route.next_hop,
        NextHop::V4(LOCAL_ADDRESS),
        "policy next-hop-self"
    );
}

/// One attribute set from two sources in one batch: the group remembers its
/// last export result per set, and that memory must be per source too
/// (RFC 4456 section 8: a non-client's route is not reflected to non-clients).
#[test]
fn rfc4456_one_set_from_a_client_and_a_non_client_is_exported_per_source() {
    let mut h = reflector(AdjOutConfig::default());
    let set = ibgp_set(&mut h);
    let _ = h.send(&[
        change("10.1.0.0/16", vec![path(FROM_CLIENT, &set)]),
        change("10.2.0.0/16", vec![path(FROM_NON_CLIENT, &set)]),
        change("10.3.0.0/16", vec![path(FROM_CLIENT, &set)]),
    ]);
    let non_client = h.routes(NON_CLIENT);
    assert!(non_client.get("10.1.0.0/16").is_some());
    assert!(
        non_client.get("10.2.0.0/16").is_none(),
        "non-client to non-client"
    );
    assert!(non_client.get("10.3.0.0/16").is_some());
    let client = h.routes(CLIENT);
    let originator = |prefix: &str| {
        client
            .get(prefix)
            .expect(prefix)
            .get(attr_type::ORIGINATOR_ID)
            .cloned()
    };
    let from_client = Some(PathAttribute::OriginatorId(
        Peer::client(FROM_CLIENT).router_id(),
    ));
    let from_non_client = Some(PathAttribute::OriginatorId(
        Peer::internal(FROM_NON_CLIENT).router_id(),
    ));
    assert_eq!(originator("10.1.0.0/16"), from_client);
    assert_eq!(originator("10.2.0.0/16"), from_non_client);
    assert_eq!(originator("10.3.0.0/16"), from_client);
}
