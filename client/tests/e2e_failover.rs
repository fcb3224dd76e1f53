//! Failures, end to end in network namespaces: a lost reflector changes
//! nothing while another has the routes, losing all keeps the routes for
//! the graceful-restart time (RFC 4724), and a restarted agent keeps
//! forwarding and then removes only what it did not learn again.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use std::net::IpAddr;

use bgp_client::agent::{AgentConfig, AgentHandle};
use common::nodes::{
    agent, agent_with, build, has_route, holds_for, node_ip, reflector, reflector_with, rr_ip,
};
use common::{ip_routes, run_in, runtime_in, wait_for};
use reflex_testlab::skip_unless;

#[test]
fn losing_one_reflector_changes_nothing_and_losing_all_keeps_routes_for_the_restart_time() {
    if skip_unless(&["ip", "sysctl"]) {
        return;
    }
    common::init_logging();
    let (nodes, rhosts) = build(2);
    let clients: Vec<Ipv4Addr> = (1..=3).map(node_ip).collect();
    let r1_runtime = runtime_in(&rhosts[0]);
    let r2_runtime = runtime_in(&rhosts[1]);
    let r1 = reflector(&r1_runtime, rr_ip(1), clients.clone());
    // The second reflector announces a 3 s restart time.
    let _r2 = reflector_with(&r2_runtime, rr_ip(2), clients, 3);
    let mut agents: Vec<AgentHandle> = (0..3)
        .map(|i| agent(&nodes.runtimes[i], i as u8 + 1, &[rr_ip(1), rr_ip(2)]))
        .collect();
    let b = &nodes.hosts[1];
    wait_for(Duration::from_secs(20), "the workload route at B", || {
        has_route(b, "10.65.1.0/24", node_ip(1))
    });
    // Both reflectors' paths are in B's Loc-RIB.
    let b_speaker = agents[1].speaker().clone();
    wait_for(Duration::from_secs(10), "two paths at B", || {
        let speaker = b_speaker.clone();
        let routes = run_in(&nodes.runtimes[1], async move {
            speaker
                .routes(
                    bgp_proto::iana::AfiSafi::IPV4_UNICAST,
                    Some("10.65.1.0/24".parse().unwrap()),
                )
                .await
                .unwrap()
        });
        routes.first().is_some_and(|r| r.paths.len() == 2)
    });
    let before = agents[1].status().writer;

    // Reflector 1 shuts down (Cease): its paths go, reflector 2's remain
    // with the same next hop, and the kernel sees no write at all.
    run_in(&r1_runtime, async move { r1.shutdown("maintenance").await });
    let speaker = b_speaker.clone();
    wait_for(
        Duration::from_secs(10),
        "B's session to reflector 1 down",
        || {
            let speaker = speaker.clone();
            run_in(&nodes.runtimes[1], async move {
                speaker.neighbors().await.unwrap().iter().any(|n| {
                    n.address == IpAddr::V4(rr_ip(1))
                        && n.state != bgp_speaker::speaker::NeighborState::Established
                })
            })
        },
    );
    holds_for(
        Duration::from_millis(500),
        "route at B with one reflector left",
        || has_route(b, "10.65.1.0/24", node_ip(1)),
    );
    assert_eq!(
        agents[1].status().writer,
        before,
        "no kernel write for a lost reflector"
    );

    // Reflector 2 dies without a NOTIFICATION (its process is gone, TCP
    // closes): graceful restart keeps the routes as stale for its 3 s
    // restart time, then they go.
    let crashed = std::time::Instant::now();
    r2_runtime.shutdown_background();
    holds_for(
        Duration::from_millis(1500),
        "stale route at B while reflector 2 restarts",
        || has_route(b, "10.65.1.0/24", node_ip(1)),
    );
    wait_for(
        Duration::from_secs(10),
        "the stale route removed after the restart time",
        || ip_routes(b, &["10.65.1.0/24"]).is_empty(),
    );
    assert!(
        crashed.elapsed() >= Duration::from_secs(2),
        "kept for the restart time: {:?}",
        crashed.elapsed()
    );

    for (i, agent) in agents.drain(..).enumerate() {
        run_in(
            &nodes.runtimes[i],
            async move { agent.stop().await.unwrap() },
        );
    }
}

#[test]
fn a_restarted_agent_keeps_forwarding_and_then_drops_what_it_did_not_learn_again() {
    if skip_unless(&["ip", "sysctl"]) {
        return;
    }
    common::init_logging();
    let (nodes, rhosts) = build(1);
    let r_runtime = runtime_in(&rhosts[0]);
    let rr = reflector(&r_runtime, rr_ip(1), (1..=3).map(node_ip).collect());
    let keep = |c: &mut AgentConfig| {
        c.install.remove_on_stop = false;
        c.install.restart_window = Duration::from_millis(1500);
    };
    let agent_a = agent(&nodes.runtimes[0], 1, &[rr_ip(1)]);
    let agent_b = agent_with(&nodes.runtimes[1], 2, &[rr_ip(1)], keep);
    let b = &nodes.hosts[1];
    wait_for(Duration::from_secs(20), "the workload route at B", || {
        has_route(b, "10.65.1.0/24", node_ip(1))
    });

    // B stops, leaving its routes; a leftover of some older run is there too.
    run_in(
        &nodes.runtimes[1],
        async move { agent_b.stop().await.unwrap() },
    );
    assert!(has_route(b, "10.65.1.0/24", node_ip(1)), "kept on stop");
    b.run(&[
        "ip",
        "route",
        "add",
        "10.99.0.0/24",
        "via",
        "10.0.0.13",
        "proto",
        "186",
        "metric",
        "20",
    ])
    .unwrap();

    let restarted = std::time::Instant::now();
    let agent_b = agent_with(&nodes.runtimes[1], 2, &[rr_ip(1)], keep);
    // The learned route never leaves the kernel; the leftover goes once
    // the window is over.
    holds_for(
        Duration::from_millis(1000),
        "route at B across the restart",
        || has_route(b, "10.65.1.0/24", node_ip(1)),
    );
    wait_for(Duration::from_secs(10), "the leftover removed", || {
        ip_routes(b, &["10.99.0.0/24"]).is_empty()
    });
    assert!(restarted.elapsed() >= Duration::from_millis(1500));
    assert!(
        has_route(b, "10.65.1.0/24", node_ip(1)),
        "re-learned route stays"
    );
    let status = agent_b.status();
    assert_eq!(
        status.writer.installed, 0,
        "re-learned with the same next hop: nothing rewritten"
    );

    run_in(
        &nodes.runtimes[1],
        async move { agent_b.stop().await.unwrap() },
    );
    run_in(
        &nodes.runtimes[0],
        async move { agent_a.stop().await.unwrap() },
    );
    run_in(&r_runtime, async move { rr.shutdown("test over").await });
}
