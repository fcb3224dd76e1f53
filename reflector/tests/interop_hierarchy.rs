//! The `bgp-reflector` daemon in a reflection hierarchy (RFC 4456 section
//! 8): it is a route-reflector client of a BIRD reflector (`rr client` on
//! BIRD's side, a plain non-client iBGP peer on ours), with a GoBGP client
//! of its own below it; BIRD has a second client, another BIRD (the leaf).
//! IPv4 and IPv6 unicast over IPv4 sessions.
//!
//! - up: GoBGP's routes reach the top BIRD with CLUSTER_LIST = [ours] and
//!   the leaf with CLUSTER_LIST = [BIRD's, ours] (each reflector prepends
//!   its own), ORIGINATOR_ID = GoBGP and GoBGP's next hop all the way;
//! - down: the leaf's routes reach GoBGP with CLUSTER_LIST = [ours,
//!   BIRD's] and ORIGINATOR_ID = the leaf;
//! - withdrawals travel both ways.

mod interop_support;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use interop_support::{
    BirdPeer, MAX_WAIT, Net, Reflector, RrPeer, at_bird, at_gobgp, bird_config, bird_report,
    bird_withdraw, gobgp_announce, gobgp_config, gobgp_report, gobgp_withdraw, reflector_config,
    switch_lab, wait_for,
};
use reflex_testlab::daemons::{Bird, Gobgp};
use reflex_testlab::skip_unless;

const NET: Net = Net(2);
/// Host numbers on the switch.
const TOP: u8 = 1;
const RR: u8 = 2;
const GOBGP: u8 = 3;
const LEAF: u8 = 4;
/// The top BIRD's cluster id and ours: neither is a router id.
const TOP_CLUSTER: Ipv4Addr = Ipv4Addr::new(10, 211, 2, 251);
const OUR_CLUSTER: Ipv4Addr = Ipv4Addr::new(10, 211, 2, 252);
const HOLD: u16 = 9;

fn routes_of(last: u8) -> Vec<String> {
    vec![NET.route4(last, 0), NET.route6(last, 0)]
}

#[test]
fn our_reflector_as_a_client_of_a_bird_reflector_appends_cluster_lists() {
    if skip_unless(&["bird", "birdc", "gobgpd", "gobgp"]) {
        return;
    }
    let started = Instant::now();
    let (mut lab, hosts) = switch_lab(
        "rr-hierarchy",
        NET,
        &[("top", TOP), ("rr", RR), ("gobgp", GOBGP), ("leaf", LEAF)],
    );
    let top_peers = [
        BirdPeer {
            name: "ours",
            address: NET.v4(RR),
            rr_client: true,
        },
        BirdPeer {
            name: "leaf",
            address: NET.v4(LEAF),
            rr_client: true,
        },
    ];
    let top = Bird::start(
        &mut lab,
        &hosts[0],
        &bird_config(NET, TOP, Some(TOP_CLUSTER), HOLD, &top_peers, &[]),
    )
    .unwrap_or_else(|e| panic!("top BIRD starts: {e}\n{}", lab.log("bird-top")));
    let leaf_peers = [BirdPeer {
        name: "top",
        address: NET.v4(TOP),
        rr_client: false,
    }];
    let leaf = Bird::start(
        &mut lab,
        &hosts[3],
        &bird_config(NET, LEAF, None, HOLD, &leaf_peers, &routes_of(LEAF)),
    )
    .unwrap_or_else(|e| panic!("leaf BIRD starts: {e}\n{}", lab.log("bird-leaf")));
    let rr_addr = NET.v4(RR);
    let gobgp = Gobgp::start(
        &mut lab,
        &hosts[2],
        &gobgp_config(NET, GOBGP, HOLD, &[rr_addr]),
        50051,
    )
    .unwrap_or_else(|e| panic!("gobgpd starts: {e}\n{}", lab.log("gobgpd-gobgp")));
    for prefix in routes_of(GOBGP) {
        gobgp_announce(&gobgp, &prefix, &NET.next_hop(GOBGP, &prefix));
    }
    let rr = Reflector::start(
        &mut lab,
        &hosts[1],
        &reflector_config(
            rr_addr,
            OUR_CLUSTER,
            HOLD,
            true,
            &[
                RrPeer {
                    address: NET.v4(TOP),
                    client: false,
                    passive: true,
                },
                RrPeer {
                    address: NET.v4(GOBGP),
                    client: true,
                    passive: true,
                },
            ],
        ),
    );
    let describe = || {
        [
            rr.describe(&lab),
            bird_report(&lab, &top),
            bird_report(&lab, &leaf),
            gobgp_report(&lab, &gobgp),
        ]
        .concat()
    };

    wait_for(
        "every session Established",
        MAX_WAIT,
        || {
            (rr.established(NET.v4(TOP))
                && rr.established(NET.v4(GOBGP))
                && top.established("ours")
                && top.established("leaf")
                && leaf.established("top")
                && gobgp.established(&rr_addr.to_string()))
            .then_some(())
        },
        describe,
    );

    // Up the hierarchy.
    let gobgp_id = Some(NET.v4(GOBGP).to_string());
    for prefix in routes_of(GOBGP) {
        let next_hop = Some(NET.next_hop(GOBGP, &prefix));
        let at_top = wait_for(
            &format!("GoBGP's {prefix} at the top BIRD"),
            Duration::from_secs(15),
            || at_bird(&top, "ours", &prefix),
            describe,
        );
        assert_eq!(at_top.originator_id(), gobgp_id, "{}", at_top.text);
        assert_eq!(
            at_top.cluster_list(),
            [OUR_CLUSTER.to_string()],
            "CLUSTER_LIST at the top BIRD:\n{}",
            at_top.text
        );
        assert_eq!(at_top.next_hop(), next_hop, "{}", at_top.text);
        let at_leaf = wait_for(
            &format!("GoBGP's {prefix} at the leaf BIRD"),
            Duration::from_secs(15),
            || at_bird(&leaf, "top", &prefix),
            describe,
        );
        assert_eq!(at_leaf.originator_id(), gobgp_id, "{}", at_leaf.text);
        assert_eq!(
            at_leaf.cluster_list(),
            [TOP_CLUSTER.to_string(), OUR_CLUSTER.to_string()],
            "CLUSTER_LIST at the leaf: BIRD's cluster prepended to ours:\n{}",
            at_leaf.text
        );
        assert_eq!(at_leaf.next_hop(), next_hop, "{}", at_leaf.text);
    }

    // Down the hierarchy.
    for prefix in routes_of(LEAF) {
        let path = wait_for(
            &format!("the leaf's {prefix} at GoBGP"),
            Duration::from_secs(15),
            || at_gobgp(&gobgp, rr_addr, &prefix),
            describe,
        );
        assert_eq!(
            path.originator_id,
            Some(NET.v4(LEAF).to_string()),
            "{path:?}"
        );
        assert_eq!(
            path.cluster_list,
            [OUR_CLUSTER.to_string(), TOP_CLUSTER.to_string()],
            "CLUSTER_LIST at GoBGP: our cluster prepended to BIRD's: {path:?}"
        );
        assert_eq!(path.next_hop, Some(NET.next_hop(LEAF, &prefix)), "{path:?}");
    }

    // Withdrawals, both ways.
    for prefix in routes_of(GOBGP) {
        gobgp_withdraw(&gobgp, &prefix);
    }
    for prefix in routes_of(LEAF) {
        bird_withdraw(&leaf, &prefix);
    }
    wait_for(
        "withdrawals up and down the hierarchy",
        Duration::from_secs(15),
        || {
            let up = routes_of(GOBGP)
                .iter()
                .all(|p| at_bird(&top, "ours", p).is_none() && at_bird(&leaf, "top", p).is_none());
            let down = routes_of(LEAF)
                .iter()
                .all(|p| at_gobgp(&gobgp, rr_addr, p).is_none());
            (up && down).then_some(())
        },
        describe,
    );
    eprintln!("hierarchy interop passed in {:?}", started.elapsed());
}
