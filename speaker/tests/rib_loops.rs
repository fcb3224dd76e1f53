//! Loop detection on import: our AS in the AS_PATH of eBGP routes (RFC 4271
//! section 9.1.2), our router ID as ORIGINATOR_ID and any of our cluster
//! IDs in the CLUSTER_LIST (RFC 4456 section 8).

#[path = "rib_support.rs"]
mod support;

use std::net::Ipv4Addr;

use bgp_proto::Findings;
use bgp_proto::attribute::PathAttribute;
use bgp_proto::iana::AfiSafi;

use bgp_speaker::policy::Policy;
use bgp_speaker::rib::{CLUSTER_LOOP_ORIGINATORS, Rib, RibConfig};
use bgp_speaker::types::PeerId;

use support::*;

const P: &str = "10.0.0.0/24";

fn reflected(originator: Ipv4Addr, clusters: &[Ipv4Addr]) -> Vec<PathAttribute> {
    let mut attributes = base(&[65001]);
    attributes.push(PathAttribute::OriginatorId(originator));
    attributes.push(PathAttribute::ClusterList(clusters.to_vec()));
    attributes
}

#[test]
fn rfc4271_9_1_2_our_as_in_an_ebgp_as_path_is_a_loop() {
    let mut rib = rib();
    rib.add_peer(external(1, 65001), Some(Policy::accept_all("all")), None);
    apply(&mut rib, 1, &announce(&[P], base(&[65001])));
    assert_eq!(best(&rib, P), Some(1));
    // A looped announcement drops the route and withdraws the earlier one.
    let mut changes = Vec::new();
    let stats = rib
        .apply_update(
            PeerId(1),
            &announce(&[P, "10.0.1.0/24"], base(&[65001, LOCAL_AS, 65002])),
            &Findings::default(),
            &mut changes,
        )
        .unwrap();
    assert_eq!(stats.loops, 2);
    assert_eq!(changes.len(), 1);
    assert!(changes[0].paths.is_empty());
    assert_eq!(rib.counters(PeerId(1)).unwrap().loops.as_path, 2);
}

#[test]
fn rfc4456_8_our_router_id_as_originator_id_is_a_loop() {
    let mut rib = rib();
    rib.add_peer(client(1), None, None);
    apply(
        &mut rib,
        1,
        &announce(&[P], reflected(ROUTER_ID, &[Ipv4Addr::new(1, 1, 1, 1)])),
    );
    assert!(rib.paths(AfiSafi::IPV4_UNICAST, net(P)).is_empty());
    let counters = rib.counters(PeerId(1)).unwrap();
    assert_eq!(counters.loops.originator_id, 1);
    assert_eq!(counters.loops.total(), 1);
    // Another originator is fine.
    apply(
        &mut rib,
        1,
        &announce(
            &[P],
            reflected(Ipv4Addr::new(10, 9, 9, 9), &[Ipv4Addr::new(1, 1, 1, 1)]),
        ),
    );
    assert_eq!(best(&rib, P), Some(1));
}

#[test]
fn rfc4456_8_any_of_our_cluster_ids_in_the_cluster_list_is_a_loop() {
    let mut config = RibConfig::new(ROUTER_ID, LOCAL_AS);
    let default_cluster = Ipv4Addr::new(172, 16, 0, 1);
    config.cluster_id = Some(default_cluster);
    let mut rib = Rib::new(config);
    // Two clusters in use besides the default: one per client group.
    let mut a = client(1);
    a.cluster_id = Ipv4Addr::new(172, 16, 0, 2);
    let mut b = client(2);
    b.cluster_id = Ipv4Addr::new(172, 16, 0, 3);
    rib.add_peer(a, None, None);
    rib.add_peer(b, None, None);
    assert_eq!(rib.cluster_ids().len(), 3);
    let originator = Ipv4Addr::new(10, 9, 9, 9);
    let other = Ipv4Addr::new(9, 9, 9, 9);
    for (i, ours) in [
        default_cluster,
        Ipv4Addr::new(172, 16, 0, 2),
        Ipv4Addr::new(172, 16, 0, 3),
    ]
    .into_iter()
    .enumerate()
    {
        // From peer 1, whatever cluster the ID belongs to.
        apply(
            &mut rib,
            1,
            &announce(&[P], reflected(originator, &[other, ours])),
        );
        assert!(
            rib.paths(AfiSafi::IPV4_UNICAST, net(P)).is_empty(),
            "cluster {ours}"
        );
        assert_eq!(
            rib.counters(PeerId(1)).unwrap().loops.cluster_list,
            i as u64 + 1
        );
    }
    // The dropped routes' originator is noted once, for the API's
    // redundancy warnings.
    assert_eq!(
        rib.counters(PeerId(1)).unwrap().cluster_loop_originators,
        vec![originator]
    );
    apply(
        &mut rib,
        1,
        &announce(&[P], reflected(originator, &[other])),
    );
    assert_eq!(best(&rib, P), Some(1));
    // Once the peer with a cluster ID is gone, its ID is no longer ours.
    rib.remove_peer(PeerId(2), &mut Vec::new());
    assert_eq!(rib.cluster_ids().len(), 2);
    apply(
        &mut rib,
        1,
        &announce(&[P], reflected(originator, &[Ipv4Addr::new(172, 16, 0, 3)])),
    );
    assert_eq!(best(&rib, P), Some(1));
}

#[test]
fn cluster_loop_originators_are_distinct_bounded_and_most_recent_last() {
    let mut config = RibConfig::new(ROUTER_ID, LOCAL_AS);
    config.cluster_id = Some(Ipv4Addr::new(172, 16, 0, 1));
    let mut rib = Rib::new(config);
    rib.add_peer(client(1), None, None);
    let ours = Ipv4Addr::new(172, 16, 0, 1);
    let total = CLUSTER_LOOP_ORIGINATORS as u8 + 2;
    for i in 0..total {
        let originator = Ipv4Addr::new(10, 9, 0, i);
        apply(&mut rib, 1, &announce(&[P], reflected(originator, &[ours])));
    }
    // The first one again: it moves to the end instead of repeating.
    let first_kept = Ipv4Addr::new(10, 9, 0, 2);
    apply(&mut rib, 1, &announce(&[P], reflected(first_kept, &[ours])));
    let noted = &rib.counters(PeerId(1)).unwrap().cluster_loop_originators;
    assert_eq!(noted.len(), CLUSTER_LOOP_ORIGINATORS);
    assert_eq!(noted.last(), Some(&first_kept));
    assert_eq!(noted.first(), Some(&Ipv4Addr::new(10, 9, 0, 3)));
    assert!(!noted.contains(&Ipv4Addr::new(10, 9, 0, 0)));
}

#[test]
fn the_router_id_is_the_default_cluster_id() {
    let mut rib = rib();
    rib.add_peer(client(1), None, None);
    apply(
        &mut rib,
        1,
        &announce(&[P], reflected(Ipv4Addr::new(10, 9, 9, 9), &[ROUTER_ID])),
    );
    assert!(rib.paths(AfiSafi::IPV4_UNICAST, net(P)).is_empty());
}
