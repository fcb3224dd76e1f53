//! The `bgp-reflector` daemon between real BGP daemons on one switch
//! (RFC 4456): BIRD and GoBGP are its route-reflector clients, FRR and a
//! second BIRD are non-client iBGP peers. IPv4 and IPv6 unicast routes
//! travel over IPv4 sessions.
//!
//! - client to client: what each client receives from the other carries
//!   ORIGINATOR_ID = the originator's router id, CLUSTER_LIST = [our
//!   cluster id] (not our router id) and the originator's next hop;
//! - client to non-client: FRR and the second BIRD get the clients'
//!   routes, with the same attributes;
//! - non-client to clients: FRR's and the second BIRD's routes reach both
//!   clients, with ORIGINATOR_ID = their router id and CLUSTER_LIST = [ours];
//! - non-client to non-client (section 6): FRR's routes never reach the
//!   second BIRD, nor its routes FRR, although a later client route does;
//! - withdrawals at a client and at a non-client vanish everywhere.

mod interop_support;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use interop_support::{
    BirdPeer, MAX_WAIT, Net, Reflector, RrPeer, at_bird, at_frr, at_gobgp, bird_config,
    bird_report, bird_withdraw, frr_config, frr_established, frr_report, frr_withdraw,
    gobgp_announce, gobgp_config, gobgp_report, gobgp_withdraw, reflector_config, switch_lab,
    wait_for,
};
use reflex_testlab::daemons::frr::FRR_BGPD;
use reflex_testlab::daemons::{Bird, Frr, Gobgp};
use reflex_testlab::{Lab, skip_unless};

const NET: Net = Net(1);
/// Host numbers on the switch.
const RR: u8 = 1;
const BIRD: u8 = 2;
const GOBGP: u8 = 3;
const FRR: u8 = 4;
const NONCLIENT: u8 = 5;
/// Our cluster id: deliberately not our router id.
const CLUSTER_ID: Ipv4Addr = Ipv4Addr::new(10, 211, 1, 254);
const HOLD: u16 = 9;

struct Daemons {
    rr: Reflector,
    bird: Bird,
    gobgp: Gobgp,
    frr: Frr,
    nonclient: Bird,
}

fn report(lab: &Lab, d: &Daemons) -> String {
    [
        d.rr.describe(lab),
        bird_report(lab, &d.bird),
        gobgp_report(lab, &d.gobgp),
        frr_report(lab, &d.frr),
        bird_report(lab, &d.nonclient),
    ]
    .concat()
}

fn routes_of(last: u8) -> Vec<String> {
    vec![NET.route4(last, 0), NET.route6(last, 0)]
}

#[test]
fn clients_and_non_clients_get_reflected_routes_with_originator_and_cluster_list() {
    if skip_unless(&["bird", "birdc", "gobgpd", "gobgp", "vtysh", FRR_BGPD]) {
        return;
    }
    let started = Instant::now();
    let (mut lab, hosts) = switch_lab(
        "rr-clients",
        NET,
        &[
            ("rr", RR),
            ("bird", BIRD),
            ("gobgp", GOBGP),
            ("frr", FRR),
            ("nc", NONCLIENT),
        ],
    );
    let rr_addr = NET.v4(RR);
    let to_rr = |name| BirdPeer {
        name,
        address: rr_addr,
        rr_client: false,
    };
    let bird = Bird::start(
        &mut lab,
        &hosts[1],
        &bird_config(NET, BIRD, None, HOLD, &[to_rr("refl")], &routes_of(BIRD)),
    )
    .unwrap_or_else(|e| panic!("BIRD starts: {e}\n{}", lab.log("bird-bird")));
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
    let frr = Frr::start(
        &mut lab,
        &hosts[3],
        &frr_config(NET, FRR, HOLD, &[rr_addr], &routes_of(FRR)),
    )
    .unwrap_or_else(|e| panic!("bgpd starts: {e}\n{}", lab.log("frr-frr")));
    let nonclient = Bird::start(
        &mut lab,
        &hosts[4],
        &bird_config(
            NET,
            NONCLIENT,
            None,
            HOLD,
            &[to_rr("refl")],
            &routes_of(NONCLIENT),
        ),
    )
    .unwrap_or_else(|e| panic!("second BIRD starts: {e}\n{}", lab.log("bird-nc")));
    let peer = |last, client| RrPeer {
        address: NET.v4(last),
        client,
        passive: true,
    };
    let rr = Reflector::start(
        &mut lab,
        &hosts[0],
        &reflector_config(
            rr_addr,
            CLUSTER_ID,
            HOLD,
            true,
            &[
                peer(BIRD, true),
                peer(GOBGP, true),
                peer(FRR, false),
                peer(NONCLIENT, false),
            ],
        ),
    );
    let d = Daemons {
        rr,
        bird,
        gobgp,
        frr,
        nonclient,
    };
    let describe = || report(&lab, &d);

    wait_for(
        "all four sessions Established on both sides",
        MAX_WAIT,
        || {
            let ours = [BIRD, GOBGP, FRR, NONCLIENT]
                .iter()
                .all(|&last| d.rr.established(NET.v4(last)));
            (ours
                && d.bird.established("refl")
                && d.gobgp.established(&rr_addr.to_string())
                && frr_established(&d.frr, rr_addr)
                && d.nonclient.established("refl"))
            .then_some(())
        },
        describe,
    );
    let cluster = vec![CLUSTER_ID.to_string()];

    // Routes of clients and non-clients at the clients, reflected with
    // ORIGINATOR_ID = originator, CLUSTER_LIST = [ours], next hop kept.
    for origin in [BIRD, FRR, NONCLIENT] {
        for prefix in routes_of(origin) {
            let path = wait_for(
                &format!("{prefix} of host {origin} at GoBGP"),
                Duration::from_secs(15),
                || at_gobgp(&d.gobgp, rr_addr, &prefix),
                describe,
            );
            assert_eq!(
                path.originator_id,
                Some(NET.v4(origin).to_string()),
                "ORIGINATOR_ID at GoBGP: {path:?}"
            );
            assert_eq!(
                path.cluster_list, cluster,
                "CLUSTER_LIST at GoBGP: {path:?}"
            );
            assert_eq!(
                path.next_hop,
                Some(NET.next_hop(origin, &prefix)),
                "next hop unchanged at GoBGP: {path:?}"
            );
        }
    }
    for origin in [GOBGP, FRR, NONCLIENT] {
        for prefix in routes_of(origin) {
            let route = wait_for(
                &format!("{prefix} of host {origin} at BIRD"),
                Duration::from_secs(15),
                || at_bird(&d.bird, "refl", &prefix),
                describe,
            );
            assert_eq!(
                route.originator_id(),
                Some(NET.v4(origin).to_string()),
                "ORIGINATOR_ID at BIRD:\n{}",
                route.text
            );
            assert_eq!(
                route.cluster_list(),
                cluster,
                "CLUSTER_LIST at BIRD:\n{}",
                route.text
            );
            assert_eq!(
                route.next_hop(),
                Some(NET.next_hop(origin, &prefix)),
                "next hop unchanged at BIRD:\n{}",
                route.text
            );
        }
    }

    // The clients' routes at the non-clients, likewise.
    for origin in [BIRD, GOBGP] {
        for prefix in routes_of(origin) {
            let path = wait_for(
                &format!("{prefix} of client {origin} at FRR"),
                Duration::from_secs(15),
                || at_frr(&d.frr, &prefix).into_iter().find(|p| p.valid),
                describe,
            );
            assert_eq!(path.peer, rr_addr.to_string(), "{path:?}");
            assert_eq!(
                path.originator_id,
                Some(NET.v4(origin).to_string()),
                "ORIGINATOR_ID at FRR: {path:?}"
            );
            assert_eq!(path.cluster_list, cluster, "CLUSTER_LIST at FRR: {path:?}");
            assert_eq!(
                path.next_hop,
                Some(NET.next_hop(origin, &prefix)),
                "next hop unchanged at FRR: {path:?}"
            );
            let route = wait_for(
                &format!("{prefix} of client {origin} at the second non-client"),
                Duration::from_secs(15),
                || at_bird(&d.nonclient, "refl", &prefix),
                describe,
            );
            assert_eq!(
                route.originator_id(),
                Some(NET.v4(origin).to_string()),
                "{}",
                route.text
            );
            assert_eq!(route.cluster_list(), cluster, "{}", route.text);
            assert_eq!(
                route.next_hop(),
                Some(NET.next_hop(origin, &prefix)),
                "{}",
                route.text
            );
        }
    }

    // RFC 4456 section 6: a non-client's route is not reflected to another
    // non-client. A client route announced now, after the non-clients'
    // routes reached the clients, reaches both non-clients; anything the
    // reflector sent them earlier arrived before it.
    let marker = NET.route4(GOBGP, 9);
    gobgp_announce(&d.gobgp, &marker, &NET.v4(GOBGP).to_string());
    wait_for(
        "a later client route at both non-clients",
        Duration::from_secs(15),
        || {
            (at_frr(&d.frr, &marker).iter().any(|p| p.valid)
                && at_bird(&d.nonclient, "refl", &marker).is_some())
            .then_some(())
        },
        describe,
    );
    for prefix in routes_of(FRR) {
        assert!(
            at_bird(&d.nonclient, "refl", &prefix).is_none(),
            "FRR's {prefix} reflected to another non-client\n{}",
            describe()
        );
    }
    for prefix in routes_of(NONCLIENT) {
        let paths = at_frr(&d.frr, &prefix);
        assert!(
            paths.is_empty(),
            "the second non-client's {prefix} reflected to FRR: {paths:?}\n{}",
            describe()
        );
    }

    // Withdrawals at a client (both) and at a non-client vanish at everyone
    // else; the marker stays.
    for prefix in routes_of(GOBGP) {
        gobgp_withdraw(&d.gobgp, &prefix);
    }
    for prefix in routes_of(BIRD) {
        bird_withdraw(&d.bird, &prefix);
    }
    for prefix in routes_of(FRR) {
        frr_withdraw(&d.frr, &prefix);
    }
    wait_for(
        "withdrawals of BIRD, GoBGP and FRR gone everywhere else",
        Duration::from_secs(15),
        || {
            let gobgp_gone = routes_of(GOBGP).iter().all(|p| {
                at_bird(&d.bird, "refl", p).is_none()
                    && at_frr(&d.frr, p).is_empty()
                    && at_bird(&d.nonclient, "refl", p).is_none()
            });
            let bird_gone = routes_of(BIRD).iter().all(|p| {
                at_gobgp(&d.gobgp, rr_addr, p).is_none()
                    && at_frr(&d.frr, p).is_empty()
                    && at_bird(&d.nonclient, "refl", p).is_none()
            });
            let frr_gone = routes_of(FRR).iter().all(|p| {
                at_bird(&d.bird, "refl", p).is_none() && at_gobgp(&d.gobgp, rr_addr, p).is_none()
            });
            (gobgp_gone && bird_gone && frr_gone).then_some(())
        },
        describe,
    );
    assert!(
        at_bird(&d.bird, "refl", &marker).is_some(),
        "the marker stays\n{}",
        describe()
    );
    for prefix in routes_of(NONCLIENT) {
        assert!(
            at_gobgp(&d.gobgp, rr_addr, &prefix).is_some(),
            "{prefix} stays at GoBGP"
        );
        assert!(
            at_bird(&d.bird, "refl", &prefix).is_some(),
            "{prefix} stays at BIRD"
        );
    }
    eprintln!("clients interop passed in {:?}", started.elapsed());
}
