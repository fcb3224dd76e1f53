//! End to end, in network namespaces: three nodes on a switch, each
//! running the agent, and route reflectors (bgp-speaker as RFC 4456
//! reflectors with the nodes as clients). A route added in node A's
//! kernel appears in B's and C's with A as next hop and protocol 186, is
//! removed with it, and carries real traffic to a workload behind A.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use bgp_client::agent::AgentHandle;
use common::nodes::{agent, build, has_route, node_ip, reflector, rr_ip};
use common::{ip_routes, run_in, runtime_in, wait_for};
use reflex_testlab::skip_unless;

#[test]
fn kernel_routes_travel_through_the_reflector_and_carry_traffic() {
    if skip_unless(&["ip", "ping", "sysctl"]) {
        return;
    }
    common::init_logging();
    let (nodes, rhosts) = build(1);
    let r_runtime = runtime_in(&rhosts[0]);
    let clients: Vec<Ipv4Addr> = (1..=3).map(node_ip).collect();
    let rr = reflector(&r_runtime, Ipv4Addr::new(10, 0, 0, 1), clients);
    let agents: Vec<AgentHandle> = (0..3)
        .map(|i| {
            agent(
                &nodes.runtimes[i],
                i as u8 + 1,
                &[Ipv4Addr::new(10, 0, 0, 1)],
            )
        })
        .collect();
    let (a, b, c) = (&nodes.hosts[0], &nodes.hosts[1], &nodes.hosts[2]);

    // The workload's subnet (a kernel route on A's veth) reaches B and C.
    for host in [b, c] {
        wait_for(
            Duration::from_secs(20),
            "the workload route at B and C",
            || has_route(host, "10.65.1.0/24", node_ip(1)),
        );
    }
    assert!(
        ip_routes(a, &["proto", "186"]).is_empty(),
        "A installs nothing of its own"
    );

    // A route added by hand on A.
    a.run(&["ip", "route", "add", "10.70.0.0/24", "dev", "d0"])
        .unwrap();
    for host in [b, c] {
        wait_for(Duration::from_secs(10), "10.70.0.0/24 at B and C", || {
            has_route(host, "10.70.0.0/24", node_ip(1))
        });
    }
    // IPv6 over the same (IPv4) sessions, next hop A's IPv6 address.
    a.run(&["ip", "-6", "route", "add", "fd00:70::/64", "dev", "d0"])
        .unwrap();
    wait_for(Duration::from_secs(10), "fd00:70::/64 at C", || {
        c.run(&["ip", "-6", "route", "show", "fd00:70::/64", "proto", "186"])
            .is_ok_and(|out| out.contains("via fd00::11 "))
    });

    // Real traffic: B -> A (forwarding) -> workload, and back.
    wait_for(
        Duration::from_secs(10),
        "ping from B to the workload",
        || {
            b.run(&["ping", "-c1", "-W1", "10.65.1.2"])
                .is_ok_and(|out| out.contains("1 received"))
        },
    );

    // An anycast prefix from A and C: one multipath route at B.
    for host in [a, c] {
        host.run(&["ip", "route", "add", "10.71.0.0/24", "dev", "d0"])
            .unwrap();
    }
    wait_for(Duration::from_secs(10), "a multipath route at B", || {
        let lines = ip_routes(b, &["10.71.0.0/24", "proto", "186"]);
        lines.len() == 3
            && lines[1].contains("nexthop via 10.0.0.11 ")
            && lines[2].contains("nexthop via 10.0.0.13 ")
    });
    c.run(&["ip", "route", "del", "10.71.0.0/24", "dev", "d0"])
        .unwrap();
    wait_for(Duration::from_secs(10), "back to one path at B", || {
        has_route(b, "10.71.0.0/24", node_ip(1)) && ip_routes(b, &["10.71.0.0/24"]).len() == 1
    });

    a.run(&["ip", "route", "del", "10.70.0.0/24", "dev", "d0"])
        .unwrap();
    for host in [b, c] {
        wait_for(
            Duration::from_secs(10),
            "10.70.0.0/24 gone at B and C",
            || ip_routes(host, &["10.70.0.0/24"]).is_empty(),
        );
    }
    // Routes installed by the agents are never exported again: the
    // reflector has each prefix from A only.
    let routes = run_in(&r_runtime, {
        let rr = rr.clone();
        async move {
            rr.routes(
                bgp_proto::iana::AfiSafi::IPV4_UNICAST,
                Some("10.65.1.0/24".parse().unwrap()),
            )
            .await
            .unwrap()
        }
    });
    assert_eq!(routes.len(), 1);
    assert_eq!(
        routes[0].paths.len(),
        1,
        "only A advertises the workload subnet"
    );

    // A clean stop of B removes what it installed.
    let mut agents = agents.into_iter();
    let (agent_a, agent_b, agent_c) = (
        agents.next().unwrap(),
        agents.next().unwrap(),
        agents.next().unwrap(),
    );
    run_in(
        &nodes.runtimes[1],
        async move { agent_b.stop().await.unwrap() },
    );
    assert!(ip_routes(b, &["proto", "186"]).is_empty());
    run_in(
        &nodes.runtimes[0],
        async move { agent_a.stop().await.unwrap() },
    );
    run_in(
        &nodes.runtimes[2],
        async move { agent_c.stop().await.unwrap() },
    );
    run_in(&r_runtime, async move { rr.shutdown("test over").await });
}

#[test]
fn twenty_thousand_routes_reach_the_other_nodes_exactly() {
    if skip_unless(&["ip", "sysctl"]) {
        return;
    }
    common::init_logging();
    let (nodes, rhosts) = build(1);
    let r_runtime = runtime_in(&rhosts[0]);
    let rr = reflector(&r_runtime, rr_ip(1), (1..=3).map(node_ip).collect());
    let mut agents: Vec<AgentHandle> = (0..3)
        .map(|i| agent(&nodes.runtimes[i], i as u8 + 1, &[rr_ip(1)]))
        .collect();
    let (a, b) = (&nodes.hosts[0], &nodes.hosts[1]);
    wait_for(Duration::from_secs(20), "the workload route at B", || {
        has_route(b, "10.65.1.0/24", node_ip(1))
    });
    let count = 20_000u32;
    let mut batch = String::new();
    for i in 0..count {
        batch.push_str(&format!(
            "route add 10.90.{}.{}/32 dev d0\n",
            i / 256,
            i % 256
        ));
    }
    let file = nodes.lab.write_file("many.batch", &batch).unwrap();
    let started = std::time::Instant::now();
    a.run(&["ip", "-batch", &file.display().to_string()])
        .unwrap();
    let expected = count as usize + 1;
    wait_for(
        Duration::from_secs(30),
        "every route installed at B",
        || ip_routes(b, &["proto", "186"]).len() == expected,
    );
    eprintln!(
        "{count} routes from A's kernel to B's in {:?}",
        started.elapsed()
    );
    let status = agents[1].status();
    assert_eq!(status.installed, expected, "{status:?}");
    // Exactly A's routes, each via A.
    let installed = ip_routes(b, &["proto", "186"]);
    assert!(installed.iter().all(|l| l.contains("via 10.0.0.11 ")));

    // And all of them go again.
    let mut batch = String::new();
    for i in 0..count {
        batch.push_str(&format!(
            "route del 10.90.{}.{}/32 dev d0\n",
            i / 256,
            i % 256
        ));
    }
    let file = nodes.lab.write_file("many-del.batch", &batch).unwrap();
    a.run(&["ip", "-batch", &file.display().to_string()])
        .unwrap();
    wait_for(Duration::from_secs(30), "every route removed at B", || {
        ip_routes(b, &["proto", "186"]).len() == 1
    });
    for (i, agent) in agents.drain(..).enumerate() {
        run_in(
            &nodes.runtimes[i],
            async move { agent.stop().await.unwrap() },
        );
    }
    run_in(&r_runtime, async move { rr.shutdown("test over").await });
}
