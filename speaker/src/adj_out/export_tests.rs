//! One test per export rule of [`super`].

use super::*;
use bgp_proto::attribute::{Aggregator, AsSegment, RawAttribute, SegmentType, flags};
use bytes::Bytes;
use std::net::IpAddr;

const ROUTER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 7);
const CLUSTER: Ipv4Addr = Ipv4Addr::new(10, 255, 0, 1);

fn source(role: SourceRole) -> Source {
    Source {
        role,
        router_id: ROUTER,
        cluster_id: Some(CLUSTER),
    }
}

fn target(role: PeerRole) -> Target {
    Target {
        role,
        local_as: 65000,
        cluster_id: CLUSTER,
        client_to_client: true,
        next_hop: NextHopMode::Auto,
        local: LocalAddresses {
            v4: Some(Ipv4Addr::new(192, 0, 2, 1)),
            v6: Some("2001:db8::1".parse().unwrap()),
        },
    }
}

fn attrs(list: Vec<PathAttribute>) -> PathAttrs {
    PathAttrs {
        next_hop: NextHop::V4(Ipv4Addr::new(198, 51, 100, 9)),
        attributes: list,
    }
}

fn base() -> PathAttrs {
    attrs(vec![
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::from_sequence(vec![65010])),
        PathAttribute::MultiExitDisc(5),
        PathAttribute::LocalPref(150),
    ])
}

#[test]
fn rfc4456_6_client_routes_go_to_clients_non_clients_and_ebgp() {
    let from = source(SourceRole::ReflectorClient);
    for role in [
        PeerRole::ReflectorClient,
        PeerRole::Internal,
        PeerRole::External,
    ] {
        assert_eq!(reflection_allows(&from, &target(role)), Ok(()), "{role:?}");
    }
}

#[test]
fn rfc4456_6_non_client_routes_go_to_clients_and_ebgp_only() {
    let from = source(SourceRole::Internal);
    assert_eq!(
        reflection_allows(&from, &target(PeerRole::ReflectorClient)),
        Ok(())
    );
    assert_eq!(
        reflection_allows(&from, &target(PeerRole::External)),
        Ok(())
    );
    assert_eq!(
        reflection_allows(&from, &target(PeerRole::Internal)),
        Err(NotExported::Reflection)
    );
}

#[test]
fn rfc4456_6_ebgp_and_local_routes_go_everywhere() {
    for role in [SourceRole::External, SourceRole::Local] {
        for to in [
            PeerRole::ReflectorClient,
            PeerRole::Internal,
            PeerRole::External,
        ] {
            assert_eq!(reflection_allows(&source(role), &target(to)), Ok(()));
        }
    }
}

#[test]
fn rfc4456_5_client_to_client_reflection_can_be_off_per_cluster() {
    let mut to = target(PeerRole::ReflectorClient);
    to.client_to_client = false;
    let same_cluster = source(SourceRole::ReflectorClient);
    assert_eq!(
        reflection_allows(&same_cluster, &to),
        Err(NotExported::Reflection)
    );
    let other_cluster = Source {
        cluster_id: Some(Ipv4Addr::new(10, 255, 0, 2)),
        ..same_cluster
    };
    assert_eq!(reflection_allows(&other_cluster, &to), Ok(()));
}

#[test]
fn rfc1997_well_known_communities() {
    let with = |c: Community| {
        let mut a = base();
        a.attributes
            .push(PathAttribute::Communities(bgp_proto::smallvec::smallvec![
                Community::new(1, 1),
                c
            ]));
        a
    };
    let no_advertise = with(Community::NO_ADVERTISE);
    for role in [
        PeerRole::ReflectorClient,
        PeerRole::Internal,
        PeerRole::External,
    ] {
        assert_eq!(
            communities_allow(&no_advertise, role),
            Err(NotExported::NoAdvertise)
        );
    }
    let no_export = with(Community::NO_EXPORT);
    assert_eq!(communities_allow(&no_export, PeerRole::Internal), Ok(()));
    assert_eq!(
        communities_allow(&no_export, PeerRole::External),
        Err(NotExported::NoExport)
    );
    let subconfed = with(Community::NO_EXPORT_SUBCONFED);
    assert_eq!(
        communities_allow(&subconfed, PeerRole::ReflectorClient),
        Ok(())
    );
    assert_eq!(
        communities_allow(&subconfed, PeerRole::External),
        Err(NotExported::NoExportSubconfed)
    );
    assert_eq!(communities_allow(&base(), PeerRole::External), Ok(()));
    // COMMUNITIES with the Partial bit is held raw; it still counts.
    let mut partial = base();
    partial.attributes.push(PathAttribute::Raw(RawAttribute {
        flags: flags::OPTIONAL | flags::TRANSITIVE | flags::PARTIAL,
        type_code: attr_type::COMMUNITIES,
        value: Bytes::from_static(&[0xff, 0xff, 0xff, 0x01]),
    }));
    assert_eq!(
        communities_allow(&partial, PeerRole::External),
        Err(NotExported::NoExport)
    );
}

#[test]
fn rfc8212_no_export_policy_rejects_only_towards_ebgp() {
    assert!(rfc8212_rejects(None, PeerRole::External));
    assert!(!rfc8212_rejects(None, PeerRole::Internal));
    assert!(!rfc8212_rejects(None, PeerRole::ReflectorClient));
    let policy = Policy::accept_all("out");
    assert!(!rfc8212_rejects(Some(&policy), PeerRole::External));
}

#[test]
fn rfc4271_5_unknown_transitive_attributes_get_the_partial_bit() {
    let raw = |flag_bits: u8, code: u8| {
        PathAttribute::Raw(RawAttribute {
            flags: flag_bits,
            type_code: code,
            value: Bytes::from_static(b"\x01\x02"),
        })
    };
    let mut list = vec![
        PathAttribute::Origin(Origin::Igp),
        raw(flags::OPTIONAL | flags::TRANSITIVE, 99),
        raw(flags::OPTIONAL, 98),
    ];
    forward_unknown(&mut list);
    assert_eq!(
        list,
        vec![
            PathAttribute::Origin(Origin::Igp),
            raw(flags::OPTIONAL | flags::TRANSITIVE | flags::PARTIAL, 99),
        ]
    );
}

#[test]
fn rfc4456_8_reflection_sets_originator_id_and_prepends_the_cluster_id() {
    let mut a = base();
    a.attributes
        .push(PathAttribute::ClusterList(vec![Ipv4Addr::new(10, 9, 9, 9)]));
    reflect(&mut a, ROUTER, CLUSTER);
    assert_eq!(a.originator_id(), Some(ROUTER));
    assert_eq!(a.cluster_list(), &[CLUSTER, Ipv4Addr::new(10, 9, 9, 9)]);
    // An ORIGINATOR_ID already present is kept.
    let mut again = a.clone();
    reflect(&mut again, Ipv4Addr::new(1, 1, 1, 1), CLUSTER);
    assert_eq!(again.originator_id(), Some(ROUTER));
    // Attributes stay in type-code order.
    let codes: Vec<u8> = a.attributes.iter().map(PathAttribute::type_code).collect();
    assert!(codes.windows(2).all(|w| w[0] < w[1]), "{codes:?}");
}

#[test]
fn rfc4271_5_1_5_local_pref_100_when_absent() {
    let mut a = attrs(vec![PathAttribute::Origin(Origin::Igp)]);
    add_default_local_pref(&mut a);
    assert_eq!(a.local_pref(), Some(DEFAULT_LOCAL_PREF));
    let mut set_by_import = base();
    add_default_local_pref(&mut set_by_import);
    assert_eq!(set_by_import.local_pref(), Some(150));
}

#[test]
fn rfc4271_5_1_4_med_from_another_as() {
    let inside = attrs(vec![PathAttribute::AsPath(AsPath::default())]);
    assert!(med_from_other_as(SourceRole::External, &inside));
    assert!(!med_from_other_as(SourceRole::Local, &base()));
    assert!(!med_from_other_as(SourceRole::Internal, &inside));
    assert!(med_from_other_as(SourceRole::ReflectorClient, &base()));
    let confed_only = attrs(vec![PathAttribute::AsPath(AsPath {
        segments: bgp_proto::smallvec::smallvec![AsSegment {
            kind: SegmentType::ConfedSequence,
            asns: bgp_proto::smallvec::smallvec![64512],
        }],
    })]);
    assert!(!med_from_other_as(SourceRole::Internal, &confed_only));
}

#[test]
fn rfc4271_5_1_2_to_ebgp_prepends_and_strips_ibgp_attributes() {
    let mut a = base();
    a.attributes.push(PathAttribute::OriginatorId(ROUTER));
    a.attributes.push(PathAttribute::ClusterList(vec![CLUSTER]));
    to_external(&mut a, 65000, true);
    assert_eq!(a.as_path(), &AsPath::from_sequence(vec![65000, 65010]));
    assert_eq!(a.local_pref(), None);
    assert_eq!(a.originator_id(), None);
    assert!(a.cluster_list().is_empty());
    assert_eq!(a.med(), None);
    let mut keep_med = base();
    to_external(&mut keep_med, 65000, false);
    assert_eq!(keep_med.med(), Some(5));
}

#[test]
fn rfc4271_5_1_1_mandatory_attributes_of_our_own_routes() {
    let mut a = attrs(vec![PathAttribute::Communities(
        bgp_proto::smallvec::smallvec![Community::new(1, 2)],
    )]);
    ensure_mandatory(&mut a);
    assert_eq!(a.origin(), Origin::Igp);
    assert_eq!(
        a.get(attr_type::AS_PATH),
        Some(&PathAttribute::AsPath(AsPath::default()))
    );
    assert_eq!(a.attributes[0].type_code(), attr_type::ORIGIN);
}

#[test]
fn rfc4271_5_1_3_next_hop_by_mode_and_family() {
    let learned = NextHop::V4(Ipv4Addr::new(198, 51, 100, 9));
    let v6_learned = NextHop::V6 {
        global: "2001:db8:9::9".parse().unwrap(),
        link_local: Some("fe80::9".parse().unwrap()),
    };
    let ebgp = target(PeerRole::External);
    let ibgp = target(PeerRole::ReflectorClient);
    assert_eq!(
        export_next_hop(&learned, Afi::IPV4, &ebgp),
        Ok(NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)))
    );
    assert_eq!(
        export_next_hop(&v6_learned, Afi::IPV6, &ebgp),
        Ok(NextHop::V6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None
        })
    );
    assert_eq!(
        export_next_hop(&learned, Afi::IPV4, &ibgp),
        Ok(learned.clone())
    );
    assert_eq!(
        export_next_hop(&v6_learned, Afi::IPV6, &ibgp),
        Ok(v6_learned.clone())
    );
    let keep = Target {
        next_hop: NextHopMode::Keep,
        ..ebgp.clone()
    };
    assert_eq!(
        export_next_hop(&learned, Afi::IPV4, &keep),
        Ok(learned.clone())
    );
    let explicit = Target {
        next_hop: NextHopMode::Explicit(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 1))),
        ..ibgp.clone()
    };
    assert_eq!(
        export_next_hop(&learned, Afi::IPV4, &explicit),
        Ok(NextHop::V4(Ipv4Addr::new(203, 0, 113, 1)))
    );
    assert_eq!(
        export_next_hop(&v6_learned, Afi::IPV6, &explicit),
        Err(NotExported::NoNextHop)
    );
    // IPv6 needs a global address of ours.
    let link_local_only = Target {
        local: LocalAddresses {
            v4: None,
            v6: Some("fe80::1".parse().unwrap()),
        },
        ..ebgp.clone()
    };
    assert_eq!(
        export_next_hop(&v6_learned, Afi::IPV6, &link_local_only),
        Err(NotExported::NoNextHop)
    );
    assert_eq!(
        export_next_hop(&learned, Afi::IPV4, &link_local_only),
        Err(NotExported::NoNextHop)
    );
    // An unspecified next hop (our own routes) and the policy marker mean us.
    let unspecified = NextHop::V4(Ipv4Addr::UNSPECIFIED);
    assert_eq!(
        export_next_hop(&unspecified, Afi::IPV4, &ibgp),
        Ok(NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)))
    );
    assert_eq!(
        export_next_hop(&crate::policy::next_hop_self(), Afi::IPV4, &keep),
        Ok(NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)))
    );
}

#[test]
fn transform_applies_the_rules_by_direction() {
    let a = base();
    let reflected = transform(
        &a,
        &source(SourceRole::ReflectorClient),
        &target(PeerRole::Internal),
        Afi::IPV4,
    )
    .unwrap();
    assert_eq!(reflected.originator_id(), Some(ROUTER));
    assert_eq!(reflected.next_hop, a.next_hop);
    assert_eq!(reflected.local_pref(), Some(150));
    let external = transform(
        &a,
        &source(SourceRole::Internal),
        &target(PeerRole::External),
        Afi::IPV4,
    )
    .unwrap();
    assert_eq!(
        external.as_path(),
        &AsPath::from_sequence(vec![65000, 65010])
    );
    assert_eq!(external.med(), None);
    let local = transform(
        &attrs(vec![]),
        &Source::LOCAL,
        &target(PeerRole::ReflectorClient),
        Afi::IPV4,
    )
    .unwrap();
    assert_eq!(local.local_pref(), Some(100));
    assert_eq!(local.origin(), Origin::Igp);
}

#[test]
fn after_policy_strips_local_pref_towards_ebgp_and_resolves_self() {
    let mut a = base();
    a.next_hop = crate::policy::next_hop_self();
    after_policy(&mut a, &target(PeerRole::External), Afi::IPV4).unwrap();
    assert_eq!(a.local_pref(), None);
    assert_eq!(a.next_hop, NextHop::V4(Ipv4Addr::new(192, 0, 2, 1)));
    let mut ibgp = base();
    after_policy(&mut ibgp, &target(PeerRole::Internal), Afi::IPV4).unwrap();
    assert_eq!(ibgp.local_pref(), Some(150));
}

#[test]
fn rfc6793_4_2_2_as4_path_and_as4_aggregator_for_two_octet_peers() {
    let mut list = vec![
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::from_sequence(vec![65000, 4_200_000_000])),
        PathAttribute::Aggregator(Aggregator {
            asn: 4_200_000_000,
            address: ROUTER,
        }),
    ];
    let mut four = list.clone();
    as4_attributes(&mut list, false);
    assert_eq!(
        list[3],
        PathAttribute::As4Path(AsPath::from_sequence(vec![65000, 4_200_000_000]))
    );
    assert_eq!(
        list[4],
        PathAttribute::As4Aggregator(Aggregator {
            asn: 4_200_000_000,
            address: ROUTER,
        })
    );
    // Towards 4-octet peers, none (and stale ones are removed).
    four.push(PathAttribute::As4Path(AsPath::from_sequence(vec![1])));
    four.push(PathAttribute::Raw(RawAttribute {
        flags: flags::OPTIONAL | flags::TRANSITIVE | flags::PARTIAL,
        type_code: attr_type::AS4_PATH,
        value: Bytes::from_static(&[2, 1, 0, 0, 0, 1]),
    }));
    as4_attributes(&mut four, true);
    assert_eq!(four.len(), 3);
    // A path of 2-octet ASes needs no AS4_PATH.
    let mut small = vec![PathAttribute::AsPath(AsPath::from_sequence(vec![65000]))];
    as4_attributes(&mut small, false);
    assert_eq!(small.len(), 1);
}
