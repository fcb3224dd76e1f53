//! Two `bgp-reflector` daemons (two namespaces) serving the same clients,
//! BIRD and GoBGP, each peered with both; the reflectors peer with each
//! other as non-clients. Case A: they share one cluster id; case B: each
//! has its own.
//!
//! In both cases the clients' routes reach each other through both
//! reflectors, with CLUSTER_LIST = [that reflector's cluster id]. Then one
//! reflector is killed with SIGKILL (no NOTIFICATION; graceful restart is
//! off, so the clients drop what they learned from it at once): for more
//! than the hold time after the kill, every sample of every client's RIB
//! still has every route of the other client through the surviving
//! reflector, while the paths through the dead one go. Finally a route
//! withdrawn at each client vanishes at the other through the survivor.

mod interop_support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use interop_support::{
    BirdPeer, GobgpPath, MAX_WAIT, Net, Reflector, RrPeer, at_bird, bird_config, bird_report,
    bird_routes, bird_withdraw, gobgp_announce, gobgp_config, gobgp_paths, gobgp_report,
    gobgp_withdraw, holds_for, reflector_config, switch_lab, wait_for,
};
use reflex_testlab::daemons::{Bird, Gobgp};
use reflex_testlab::{Lab, skip_unless};

/// Host numbers on the switch.
const R1: u8 = 1;
const R2: u8 = 2;
const BIRD: u8 = 3;
const GOBGP: u8 = 4;
/// Short hold times keep the test fast; the no-loss window outlasts it.
const HOLD: u16 = 6;

/// The routes a client originates: two that stay, and one (`k` = 1) that
/// is withdrawn at the end.
fn routes_of(net: Net, last: u8) -> Vec<String> {
    vec![
        net.route4(last, 0),
        net.route6(last, 0),
        net.route4(last, 1),
    ]
}

fn withdrawn(net: Net, last: u8) -> String {
    net.route4(last, 1)
}

/// The BIRD protocol names of the sessions with the two reflectors.
const BIRD_R1: &str = "r1";
const BIRD_R2: &str = "r2";

fn gobgp_from(paths: &[GobgpPath], neighbor: Ipv4Addr, prefix: &str) -> Option<GobgpPath> {
    let neighbor = neighbor.to_string();
    paths
        .iter()
        .find(|p| p.prefix == prefix && p.neighbor.as_deref() == Some(neighbor.as_str()))
        .cloned()
}

fn report(lab: &Lab, r1: &Reflector, r2: &Reflector, bird: &Bird, gobgp: &Gobgp) -> String {
    [
        r1.describe(lab),
        r2.describe(lab),
        bird_report(lab, bird),
        gobgp_report(lab, gobgp),
    ]
    .concat()
}

fn run_case(tag: &str, net: Net, clusters: [Ipv4Addr; 2]) {
    if skip_unless(&["bird", "birdc", "gobgpd", "gobgp"]) {
        return;
    }
    let started = Instant::now();
    let (mut lab, hosts) = switch_lab(
        tag,
        net,
        &[("r1", R1), ("r2", R2), ("bird", BIRD), ("gobgp", GOBGP)],
    );
    let (r1_addr, r2_addr) = (net.v4(R1), net.v4(R2));
    let bird_peers = [
        BirdPeer {
            name: BIRD_R1,
            address: r1_addr,
            rr_client: false,
        },
        BirdPeer {
            name: BIRD_R2,
            address: r2_addr,
            rr_client: false,
        },
    ];
    let bird = Bird::start(
        &mut lab,
        &hosts[2],
        &bird_config(net, BIRD, None, HOLD, &bird_peers, &routes_of(net, BIRD)),
    )
    .unwrap_or_else(|e| panic!("BIRD starts: {e}\n{}", lab.log("bird-bird")));
    let gobgp = Gobgp::start(
        &mut lab,
        &hosts[3],
        &gobgp_config(net, GOBGP, HOLD, &[r1_addr, r2_addr]),
        50051,
    )
    .unwrap_or_else(|e| panic!("gobgpd starts: {e}\n{}", lab.log("gobgpd-gobgp")));
    for prefix in routes_of(net, GOBGP) {
        gobgp_announce(&gobgp, &prefix, &net.next_hop(GOBGP, &prefix));
    }
    // Graceful restart off: a client must not keep a dead reflector's
    // routes as stale, or the no-loss check would prove nothing.
    let reflector = |me: u8, other: u8, cluster: Ipv4Addr| {
        let peers = [
            RrPeer {
                address: net.v4(other),
                client: false,
                // One side connects, the other listens.
                passive: me == R2,
            },
            RrPeer {
                address: net.v4(BIRD),
                client: true,
                passive: true,
            },
            RrPeer {
                address: net.v4(GOBGP),
                client: true,
                passive: true,
            },
        ];
        reflector_config(net.v4(me), cluster, HOLD, false, &peers)
    };
    let r1 = Reflector::start(&mut lab, &hosts[0], &reflector(R1, R2, clusters[0]));
    let r2 = Reflector::start(&mut lab, &hosts[1], &reflector(R2, R1, clusters[1]));

    wait_for(
        "every session Established",
        MAX_WAIT,
        || {
            let reflectors = [(&r1, r2_addr), (&r2, r1_addr)].iter().all(|(rr, other)| {
                rr.established(*other)
                    && rr.established(net.v4(BIRD))
                    && rr.established(net.v4(GOBGP))
            });
            (reflectors
                && bird.established(BIRD_R1)
                && bird.established(BIRD_R2)
                && gobgp.established(&r1_addr.to_string())
                && gobgp.established(&r2_addr.to_string()))
            .then_some(())
        },
        || report(&lab, &r1, &r2, &bird, &gobgp),
    );

    // Each client's routes at the other, through both reflectors, each
    // path with that reflector's cluster id.
    let both_paths_everywhere = || {
        let routes = bird_routes(&bird);
        let at_bird = routes_of(net, GOBGP).iter().all(|prefix| {
            [(BIRD_R1, clusters[0]), (BIRD_R2, clusters[1])]
                .iter()
                .all(|(protocol, cluster)| {
                    routes.iter().any(|r| {
                        r.prefix == *prefix
                            && r.protocol == *protocol
                            && r.originator_id() == Some(net.v4(GOBGP).to_string())
                            && r.cluster_list() == [cluster.to_string()]
                            && r.next_hop() == Some(net.next_hop(GOBGP, prefix))
                    })
                })
        });
        let paths = gobgp_paths(&gobgp);
        let at_gobgp = routes_of(net, BIRD).iter().all(|prefix| {
            [(r1_addr, clusters[0]), (r2_addr, clusters[1])]
                .iter()
                .all(|(rr, cluster)| {
                    gobgp_from(&paths, *rr, prefix).is_some_and(|p| {
                        p.originator_id == Some(net.v4(BIRD).to_string())
                            && p.cluster_list == [cluster.to_string()]
                            && p.next_hop == Some(net.next_hop(BIRD, prefix))
                    })
                })
        });
        (at_bird && at_gobgp).then_some(())
    };
    wait_for(
        "each client's routes at the other through both reflectors, with their cluster ids",
        Duration::from_secs(15),
        both_paths_everywhere,
        || report(&lab, &r1, &r2, &bird, &gobgp),
    );

    // RFC 4456 section 8 at R2: R1 reflects the clients' routes to R2 with
    // R1's cluster id in CLUSTER_LIST. With distinct ids R2 keeps them as
    // second paths; with a shared id that id is R2's own, so R2 drops them
    // as a loop and holds only each client's own path.
    {
        let describe = || report(&lab, &r1, &r2, &bird, &gobgp);
        let client_prefixes: Vec<(u8, String)> = [BIRD, GOBGP]
            .iter()
            .flat_map(|&origin| routes_of(net, origin).into_iter().map(move |p| (origin, p)))
            .collect();
        let r2_paths = |origin: u8, prefix: &str| {
            let paths = r2.paths(prefix);
            let own = paths
                .iter()
                .filter(|p| p.from == Some(IpAddr::V4(net.v4(origin))))
                .count();
            let via_r1: Vec<_> = paths
                .into_iter()
                .filter(|p| p.from == Some(IpAddr::V4(r1_addr)))
                .collect();
            (own, via_r1)
        };
        if clusters[0] != clusters[1] {
            wait_for(
                "R2 holds R1's reflected paths, CLUSTER_LIST [R1's cluster id]",
                Duration::from_secs(10),
                || {
                    client_prefixes
                        .iter()
                        .all(|(origin, prefix)| {
                            let (own, via_r1) = r2_paths(*origin, prefix);
                            own == 1
                                && via_r1.len() == 1
                                && via_r1[0].cluster_list == [clusters[0]]
                                && via_r1[0].originator_id == Some(net.v4(*origin))
                        })
                        .then_some(())
                },
                describe,
            );
        } else {
            // Nothing to wait for at R2: wait until UPDATEs from R1 have
            // arrived and stopped coming (their count stable for a second).
            let from_r1 = || {
                r2.neighbors()
                    .into_iter()
                    .find(|n| n.address == IpAddr::V4(r1_addr))
                    .map_or(0, |n| n.updates_received)
            };
            wait_for(
                "R2 has received R1's UPDATEs (count stable for 1 s)",
                Duration::from_secs(10),
                || {
                    let before = from_r1();
                    std::thread::sleep(Duration::from_secs(1));
                    (before > 0 && from_r1() == before).then_some(())
                },
                describe,
            );
            for (origin, prefix) in &client_prefixes {
                let (own, via_r1) = r2_paths(*origin, prefix);
                assert!(
                    own == 1 && via_r1.is_empty(),
                    "R2 keeps only the client's own path of {prefix} (R1's has R2's cluster id): \
                     {own} own, via R1 {via_r1:?}\n{}",
                    describe()
                );
            }
        }
    }

    // kill -9 the first reflector.
    lab.kill(&r1.label);
    let killed = Instant::now();
    eprintln!("killed {} (SIGKILL)", r1.label);
    let describe = || report(&lab, &r1, &r2, &bird, &gobgp);

    // Every route through the survivor in every sample, for the hold time
    // and then some; meanwhile the clients notice that R1 is gone.
    let mut noticed: Option<Duration> = None;
    let window = Duration::from_secs(u64::from(HOLD) + 3);
    holds_for(
        "no route lost at any client after the kill",
        window,
        || {
            let routes = bird_routes(&bird);
            for prefix in routes_of(net, GOBGP) {
                if !routes
                    .iter()
                    .any(|r| r.prefix == prefix && r.protocol == BIRD_R2)
                {
                    return Err(format!("GoBGP's {prefix} missing at BIRD"));
                }
            }
            let paths = gobgp_paths(&gobgp);
            for prefix in routes_of(net, BIRD) {
                if gobgp_from(&paths, r2_addr, &prefix).is_none() {
                    return Err(format!("BIRD's {prefix} missing at GoBGP"));
                }
            }
            let r1_gone = !bird.established(BIRD_R1)
                && !gobgp.established(&r1_addr.to_string())
                && !routes.iter().any(|r| r.protocol == BIRD_R1)
                && !paths
                    .iter()
                    .any(|p| p.neighbor.as_deref() == Some(r1_addr.to_string().as_str()));
            if r1_gone && noticed.is_none() {
                noticed = Some(killed.elapsed());
            }
            Ok(())
        },
        describe,
    );
    let noticed = noticed.unwrap_or_else(|| {
        panic!(
            "the clients still have R1's session or paths {window:?} after the kill\n{}",
            describe()
        )
    });
    eprintln!("the clients dropped R1 and its paths {noticed:?} after the kill");
    assert!(
        !r2.established(r1_addr),
        "R2 noticed R1 is gone\n{}",
        describe()
    );
    // After the window (longer than the hold time), still everything.
    wait_for(
        "still every route through R2 after the hold time",
        Duration::from_secs(1),
        || {
            let bird_ok = routes_of(net, GOBGP)
                .iter()
                .all(|p| at_bird(&bird, BIRD_R2, p).is_some());
            let paths = gobgp_paths(&gobgp);
            let gobgp_ok = routes_of(net, BIRD)
                .iter()
                .all(|p| gobgp_from(&paths, r2_addr, p).is_some());
            (bird_ok && gobgp_ok).then_some(())
        },
        describe,
    );

    // A withdrawal at each client vanishes at the other through R2.
    bird_withdraw(&bird, &withdrawn(net, BIRD));
    gobgp_withdraw(&gobgp, &withdrawn(net, GOBGP));
    wait_for(
        "withdrawals at each client gone at the other",
        Duration::from_secs(10),
        || {
            let at_bird_gone = !bird_routes(&bird)
                .iter()
                .any(|r| r.prefix == withdrawn(net, GOBGP));
            let at_gobgp_gone = !gobgp_paths(&gobgp)
                .iter()
                .any(|p| p.prefix == withdrawn(net, BIRD));
            (at_bird_gone && at_gobgp_gone).then_some(())
        },
        describe,
    );
    for prefix in [net.route4(GOBGP, 0), net.route6(GOBGP, 0)] {
        assert!(
            at_bird(&bird, BIRD_R2, &prefix).is_some(),
            "{prefix} stays at BIRD\n{}",
            describe()
        );
    }
    let paths = gobgp_paths(&gobgp);
    for prefix in [net.route4(BIRD, 0), net.route6(BIRD, 0)] {
        assert!(
            gobgp_from(&paths, r2_addr, &prefix).is_some(),
            "{prefix} stays at GoBGP\n{}",
            describe()
        );
    }
    eprintln!("{tag} passed in {:?}", started.elapsed());
}

#[test]
fn shared_cluster_id_one_reflector_killed_loses_no_route() {
    let cluster = Ipv4Addr::new(10, 211, 3, 254);
    run_case("rr-redundancy-shared", Net(3), [cluster, cluster]);
}

#[test]
fn distinct_cluster_ids_one_reflector_killed_loses_no_route() {
    run_case(
        "rr-redundancy-distinct",
        Net(4),
        [
            Ipv4Addr::new(10, 211, 4, 251),
            Ipv4Addr::new(10, 211, 4, 252),
        ],
    );
}
