//! The decision process, one test per step (RFC 4271 section 9.1.1 and
//! 9.1.2.2 a-g, RFC 4456 section 9), MED scoping and arrival-order
//! independence, multipath.

#[path = "rib_support.rs"]
mod support;

use std::net::{IpAddr, Ipv4Addr};

use bgp_proto::attribute::{AsPath, AsSegment, Origin, PathAttribute, SegmentType};
use bgp_proto::iana::AfiSafi;

use bgp_speaker::PathAttrs;
use bgp_speaker::policy::Policy;
use bgp_speaker::rib::{DecisionStep, Outcome, Rib, RibConfig};
use bgp_speaker::types::PeerId;

use support::*;

const P: &str = "203.0.113.0/24";

fn with(mut attributes: Vec<PathAttribute>, extra: PathAttribute) -> Vec<PathAttribute> {
    attributes.retain(|a| a.type_code() != extra.type_code());
    attributes.push(extra);
    attributes
}

fn rib_with_clients(n: u32) -> Rib {
    let mut rib = rib();
    for id in 1..=n {
        rib.add_peer(client(id), None, None);
    }
    rib
}

fn lost_at(rib: &Rib, peer: u32) -> DecisionStep {
    let explanation = rib.explain(AfiSafi::IPV4_UNICAST, net(P));
    let path = explanation
        .paths
        .iter()
        .find(|p| p.path.peer == PeerId(peer))
        .expect("path present");
    match &path.outcome {
        Outcome::Lost(lost) => lost.step,
        Outcome::Best => panic!("peer {peer} has the best path"),
    }
}

#[test]
fn rfc4271_9_1_1_highest_local_pref_wins() {
    let mut rib = rib_with_clients(2);
    apply(
        &mut rib,
        1,
        &announce(&[P], with(base(&[65001]), PathAttribute::LocalPref(100))),
    );
    apply(
        &mut rib,
        2,
        &announce(
            &[P],
            with(base(&[65001, 65002]), PathAttribute::LocalPref(200)),
        ),
    );
    assert_eq!(order(&rib, P), [2, 1]);
    assert_eq!(lost_at(&rib, 1), DecisionStep::LocalPref);
}

#[test]
fn rfc4271_9_1_1_missing_local_pref_counts_as_100() {
    let mut rib = rib_with_clients(2);
    apply(
        &mut rib,
        1,
        &announce(&[P], with(base(&[65001]), PathAttribute::LocalPref(99))),
    );
    apply(&mut rib, 2, &announce(&[P], base(&[65001, 65002])));
    assert_eq!(best(&rib, P), Some(2));
}

#[test]
fn locally_originated_routes_win_after_local_pref() {
    let mut rib = rib_with_clients(1);
    apply(&mut rib, 1, &announce(&[P], base(&[])));
    let attrs = PathAttrs::from_update_attributes(
        &base(&[]),
        bgp_proto::attribute::NextHop::V4(Ipv4Addr::new(192, 0, 2, 254)),
    );
    rib.originate(AfiSafi::IPV4_UNICAST, net(P), attrs, &mut Vec::new())
        .unwrap();
    // The client's router ID (10.255.0.1) is lower than ours, but our own
    // route is preferred first.
    assert_eq!(order(&rib, P), [0, 1]);
    assert_eq!(lost_at(&rib, 1), DecisionStep::LocallyOriginated);
}

#[test]
fn rfc4271_9_1_2_2_a_shortest_as_path_wins() {
    let mut rib = rib_with_clients(2);
    apply(&mut rib, 1, &announce(&[P], base(&[65001, 65002])));
    apply(&mut rib, 2, &announce(&[P], base(&[65003])));
    assert_eq!(order(&rib, P), [2, 1]);
    assert_eq!(lost_at(&rib, 1), DecisionStep::AsPathLength);
}

#[test]
fn rfc4271_9_1_2_2_a_as_set_counts_one_and_confed_segments_zero() {
    let mut rib = rib_with_clients(3);
    let set_path = AsPath {
        segments: bgp_proto::smallvec::smallvec![
            AsSegment::sequence(vec![65001]),
            AsSegment::set(vec![1, 2, 3, 4]),
        ],
    };
    let confed_path = AsPath {
        segments: bgp_proto::smallvec::smallvec![
            AsSegment {
                kind: SegmentType::ConfedSequence,
                asns: bgp_proto::smallvec::smallvec![64512, 64513, 64514],
            },
            AsSegment::sequence(vec![65001]),
        ],
    };
    apply(
        &mut rib,
        1,
        &announce(&[P], with(base(&[]), PathAttribute::AsPath(set_path))),
    );
    apply(&mut rib, 2, &announce(&[P], base(&[65005, 65006, 65007])));
    apply(
        &mut rib,
        3,
        &announce(&[P], with(base(&[]), PathAttribute::AsPath(confed_path))),
    );
    // Lengths: 2, 3, 1.
    assert_eq!(order(&rib, P), [3, 1, 2]);
}

#[test]
fn rfc4271_9_1_2_2_b_lowest_origin_wins() {
    let mut rib = rib_with_clients(3);
    apply(
        &mut rib,
        1,
        &announce(
            &[P],
            with(base(&[65001]), PathAttribute::Origin(Origin::Incomplete)),
        ),
    );
    apply(
        &mut rib,
        2,
        &announce(
            &[P],
            with(base(&[65002]), PathAttribute::Origin(Origin::Egp)),
        ),
    );
    apply(
        &mut rib,
        3,
        &announce(
            &[P],
            with(base(&[65003]), PathAttribute::Origin(Origin::Igp)),
        ),
    );
    assert_eq!(order(&rib, P), [3, 2, 1]);
    assert_eq!(lost_at(&rib, 2), DecisionStep::Origin);
}

#[test]
fn rfc4271_9_1_2_2_c_lowest_med_wins_within_a_neighbour_as() {
    let mut rib = rib_with_clients(3);
    apply(
        &mut rib,
        1,
        &announce(
            &[P],
            with(base(&[65001, 1]), PathAttribute::MultiExitDisc(10)),
        ),
    );
    apply(
        &mut rib,
        2,
        &announce(
            &[P],
            with(base(&[65001, 2]), PathAttribute::MultiExitDisc(5)),
        ),
    );
    // No MED counts as 0, the lowest.
    assert_eq!(order(&rib, P), [2, 1]);
    apply(&mut rib, 3, &announce(&[P], base(&[65001, 3])));
    assert_eq!(order(&rib, P), [3, 2, 1]);
    assert_eq!(lost_at(&rib, 2), DecisionStep::Med);
}

#[test]
fn rfc4271_9_1_2_2_c_med_is_not_compared_across_neighbour_ases() {
    let mut rib = rib_with_clients(2);
    // Peer 1 has the lower router ID; its higher MED does not count against
    // a path from another neighbour AS.
    apply(
        &mut rib,
        1,
        &announce(&[P], with(base(&[65001]), PathAttribute::MultiExitDisc(50))),
    );
    apply(
        &mut rib,
        2,
        &announce(&[P], with(base(&[65002]), PathAttribute::MultiExitDisc(0))),
    );
    assert_eq!(best(&rib, P), Some(1));
    assert_eq!(lost_at(&rib, 2), DecisionStep::RouterId);

    let mut config = RibConfig::new(ROUTER_ID, LOCAL_AS);
    config.always_compare_med = true;
    let mut rib = Rib::new(config);
    rib.add_peer(client(1), None, None);
    rib.add_peer(client(2), None, None);
    apply(
        &mut rib,
        1,
        &announce(&[P], with(base(&[65001]), PathAttribute::MultiExitDisc(50))),
    );
    apply(
        &mut rib,
        2,
        &announce(&[P], with(base(&[65002]), PathAttribute::MultiExitDisc(0))),
    );
    assert_eq!(best(&rib, P), Some(2));
    assert_eq!(lost_at(&rib, 1), DecisionStep::Med);
}

#[test]
fn rfc4271_9_1_2_2_d_ebgp_over_ibgp() {
    let mut rib = rib();
    // Client 1 has the lower router ID, the eBGP peer 2 must still win.
    rib.add_peer(client(1), None, None);
    rib.add_peer(external(2, 65001), Some(Policy::accept_all("all")), None);
    apply(&mut rib, 1, &announce(&[P], base(&[65001])));
    apply(&mut rib, 2, &announce(&[P], base(&[65001])));
    assert_eq!(order(&rib, P), [2, 1]);
    assert_eq!(lost_at(&rib, 1), DecisionStep::ExternalOverInternal);
}

#[test]
fn rfc4271_9_1_2_2_e_igp_cost_never_decides() {
    // Next hops differ, but no IGP cost is known: the router ID decides.
    let mut rib = rib_with_clients(2);
    let mut far = announce(&[P], base(&[65001]));
    far.attributes.retain(|a| a.type_code() != 3);
    far.attributes
        .push(PathAttribute::NextHop(Ipv4Addr::new(198, 51, 100, 99)));
    apply(&mut rib, 2, &far);
    apply(&mut rib, 1, &announce(&[P], base(&[65001])));
    assert_eq!(order(&rib, P), [1, 2]);
    assert_eq!(lost_at(&rib, 2), DecisionStep::RouterId);
}

#[test]
fn rfc4271_9_1_2_2_f_lowest_router_id_wins() {
    let mut rib = rib_with_clients(2);
    apply(&mut rib, 2, &announce(&[P], base(&[65001])));
    apply(&mut rib, 1, &announce(&[P], base(&[65001])));
    assert_eq!(order(&rib, P), [1, 2]);
}

#[test]
fn rfc4456_9_originator_id_replaces_the_router_id() {
    let mut rib = rib_with_clients(2);
    // Peer 1's router ID 10.255.0.1 is lower, but its route was reflected
    // from 10.255.9.9.
    let reflected = with(
        base(&[65001]),
        PathAttribute::OriginatorId(Ipv4Addr::new(10, 255, 9, 9)),
    );
    apply(&mut rib, 1, &announce(&[P], reflected));
    apply(&mut rib, 2, &announce(&[P], base(&[65001])));
    assert_eq!(order(&rib, P), [2, 1]);
    assert_eq!(lost_at(&rib, 1), DecisionStep::RouterId);
}

#[test]
fn rfc4456_9_shorter_cluster_list_wins() {
    let mut rib = rib_with_clients(2);
    let originator = PathAttribute::OriginatorId(Ipv4Addr::new(10, 255, 9, 9));
    let long = with(
        with(base(&[65001]), originator.clone()),
        PathAttribute::ClusterList(vec![Ipv4Addr::new(1, 1, 1, 1), Ipv4Addr::new(2, 2, 2, 2)]),
    );
    let short = with(
        with(base(&[65001]), originator),
        PathAttribute::ClusterList(vec![Ipv4Addr::new(3, 3, 3, 3)]),
    );
    apply(&mut rib, 1, &announce(&[P], long));
    apply(&mut rib, 2, &announce(&[P], short));
    assert_eq!(order(&rib, P), [2, 1]);
    assert_eq!(lost_at(&rib, 1), DecisionStep::ClusterListLength);
}

#[test]
fn rfc4271_9_1_2_2_g_lowest_peer_address_wins() {
    let mut rib = rib();
    // Two sessions to one router: same router ID, different addresses.
    let mut a = client(1);
    let mut b = client(2);
    b.router_id = a.router_id;
    a.address = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
    b.address = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 8));
    rib.add_peer(a, None, None);
    rib.add_peer(b, None, None);
    apply(&mut rib, 1, &announce(&[P], base(&[65001])));
    apply(&mut rib, 2, &announce(&[P], base(&[65001])));
    assert_eq!(order(&rib, P), [2, 1]);
    assert_eq!(lost_at(&rib, 1), DecisionStep::PeerAddress);
}

#[test]
fn add_path_identifiers_break_the_last_tie() {
    let mut rib = rib();
    let mut info = client(1);
    info.negotiated = negotiated(LOCAL_AS, info.router_id, true);
    rib.add_peer(info, None, None);
    apply(&mut rib, 1, &announce_ids(&[(P, 7)], base(&[65001])));
    apply(&mut rib, 1, &announce_ids(&[(P, 3)], base(&[65001])));
    let ids: Vec<u32> = rib
        .paths(AfiSafi::IPV4_UNICAST, net(P))
        .iter()
        .map(|p| p.path_id)
        .collect();
    assert_eq!(ids, [3, 7]);
    let explanation = rib.explain(AfiSafi::IPV4_UNICAST, net(P));
    match &explanation.paths[1].outcome {
        Outcome::Lost(lost) => {
            assert_eq!(lost.step, DecisionStep::PathId);
            assert_eq!(lost.reason, "higher path identifier (7 > 3)");
        }
        Outcome::Best => panic!("path 7 is not the best"),
    }
}

/// The classic MED cycle: 1 beats 2 (router ID, different ASes), 2 beats 3
/// (router ID), 3 beats 1 (MED, same AS). Deterministic MED: AS 100's best
/// is 3, which loses to 2 on router ID, so 2 is best, then 3, then 1.
fn med_cycle() -> Vec<(u32, Vec<PathAttribute>)> {
    vec![
        (1, with(base(&[100, 7]), PathAttribute::MultiExitDisc(20))),
        (2, with(base(&[200, 7]), PathAttribute::MultiExitDisc(0))),
        (3, with(base(&[100, 8]), PathAttribute::MultiExitDisc(10))),
        (4, with(base(&[300, 8, 9]), PathAttribute::MultiExitDisc(0))),
    ]
}

fn permutations(items: &[u32]) -> Vec<Vec<u32>> {
    if items.len() <= 1 {
        return vec![items.to_vec()];
    }
    let mut all = Vec::new();
    for i in 0..items.len() {
        let mut rest = items.to_vec();
        let first = rest.remove(i);
        for mut tail in permutations(&rest) {
            tail.insert(0, first);
            all.push(tail);
        }
    }
    all
}

#[test]
fn best_path_is_independent_of_arrival_order() {
    let routes = med_cycle();
    for ids in [vec![1, 2, 3], vec![1, 2, 3, 4]] {
        let mut seen = None;
        for arrival in permutations(&ids) {
            let mut rib = rib_with_clients(4);
            for id in &arrival {
                let (_, attributes) = routes.iter().find(|(i, _)| i == id).unwrap();
                apply(&mut rib, *id, &announce(&[P], attributes.clone()));
            }
            let got = order(&rib, P);
            assert_eq!(got[0], 2, "arrival {arrival:?}");
            match &seen {
                None => seen = Some(got),
                Some(first) => assert_eq!(first, &got, "arrival {arrival:?}"),
            }
        }
        assert_eq!(seen.unwrap()[..3], [2, 3, 1]);
    }
}

#[test]
fn order_is_kept_when_a_path_is_withdrawn() {
    let routes = med_cycle();
    let mut rib = rib_with_clients(3);
    for (id, attributes) in routes.iter().take(3) {
        apply(&mut rib, *id, &announce(&[P], attributes.clone()));
    }
    assert_eq!(order(&rib, P), [2, 3, 1]);
    // Without 3, AS 100's best is 1, which beats 2 on router ID.
    apply(&mut rib, 3, &withdraw(&[P]));
    assert_eq!(order(&rib, P), [1, 2]);
}

fn multipath_rib(relax: bool) -> Rib {
    let mut config = RibConfig::new(ROUTER_ID, LOCAL_AS);
    config.multipath = true;
    config.multipath_relax = relax;
    let mut rib = Rib::new(config);
    for id in 1..=5 {
        rib.add_peer(client(id), None, None);
    }
    rib
}

#[test]
fn multipath_set_is_equal_up_to_igp_cost_within_a_neighbour_as() {
    let mut rib = multipath_rib(false);
    apply(
        &mut rib,
        5,
        &announce(
            &[P],
            with(base(&[65001, 1]), PathAttribute::MultiExitDisc(5)),
        ),
    );
    apply(&mut rib, 4, &announce(&[P], base(&[65002, 2])));
    apply(&mut rib, 3, &announce(&[P], base(&[65001, 3])));
    apply(&mut rib, 2, &announce(&[P], base(&[65001, 4, 4])));
    apply(&mut rib, 1, &announce(&[P], base(&[65001, 5])));
    let changes = apply(&mut rib, 1, &announce(&[P], base(&[65001, 6])));
    let set: Vec<u32> = rib
        .multipath(AfiSafi::IPV4_UNICAST, net(P))
        .iter()
        .map(|p| p.peer.0)
        .collect();
    // 1 and 3 (AS 65001, MED 0); not 4 (other AS), 5 (higher MED), 2 (longer).
    assert_eq!(set, [1, 3]);
    assert_eq!(rib.multipath_len(&changes[0].paths), 2);
    assert_eq!(changes[0].paths[0].peer, PeerId(1));
    let explanation = rib.explain(AfiSafi::IPV4_UNICAST, net(P));
    assert!(explanation.paths[1].multipath);
    assert!(!explanation.paths[2].multipath);
}

#[test]
fn multipath_relax_spans_neighbour_ases() {
    let mut rib = multipath_rib(true);
    apply(&mut rib, 1, &announce(&[P], base(&[65001, 1])));
    apply(&mut rib, 2, &announce(&[P], base(&[65002, 2])));
    apply(
        &mut rib,
        3,
        &announce(
            &[P],
            with(base(&[65002, 2]), PathAttribute::MultiExitDisc(9)),
        ),
    );
    let set: Vec<u32> = rib
        .multipath(AfiSafi::IPV4_UNICAST, net(P))
        .iter()
        .map(|p| p.peer.0)
        .collect();
    assert_eq!(set, [1, 2]);
}

#[test]
fn without_multipath_the_set_is_the_best_path() {
    let mut rib = rib_with_clients(2);
    apply(&mut rib, 1, &announce(&[P], base(&[65001])));
    apply(&mut rib, 2, &announce(&[P], base(&[65001])));
    assert_eq!(rib.multipath(AfiSafi::IPV4_UNICAST, net(P)).len(), 1);
}
