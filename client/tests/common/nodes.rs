//! A small cluster in namespaces: nodes 1..=3 (A, B, C) and route
//! reflectors on one switch, a workload behind a veth of A, and the
//! agents and reflectors (bgp-speaker as RFC 4456 reflectors with the
//! nodes as clients) that run in them.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use bgp_client::agent::{Agent, AgentConfig, AgentHandle, ReflectorPeer};
use bgp_client::kernel::route::RouteKind;
use bgp_client::kernel::select::{SelectRule, Selection};
use bgp_proto::session::PeerAs;
use bgp_speaker::config::{PeerConfig, PeerOptions, SpeakerConfig};
use bgp_speaker::speaker::{Speaker, SpeakerHandle};
use reflex_testlab::{Host, Lab};
use tokio::runtime::Runtime;

use super::{ip_routes, run_in, runtime_in};

pub const AS: u32 = 64512;

pub fn node_ip(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 10 + i)
}

/// A reflector at `me`, with `clients` as passive RR clients, announcing
/// a graceful-restart time of `restart_time` seconds.
pub fn reflector(runtime: &Runtime, me: Ipv4Addr, clients: Vec<Ipv4Addr>) -> SpeakerHandle {
    reflector_with(runtime, me, clients, 120)
}

pub fn reflector_with(
    runtime: &Runtime,
    me: Ipv4Addr,
    clients: Vec<Ipv4Addr>,
    restart_time: u16,
) -> SpeakerHandle {
    run_in(runtime, async move {
        let mut config = SpeakerConfig::new(AS, me);
        config.listen = vec![std::net::SocketAddr::new(IpAddr::V4(me), 179)];
        let speaker = Speaker::start(config).await.expect("reflector starts");
        for client in clients {
            let mut options = PeerOptions::new(PeerAs::Exact(AS));
            options.passive = true;
            options.route_reflector_client = true;
            options.hold_time = 9;
            options.graceful_restart.restart_time = restart_time;
            // Every path to the clients (RFC 7911), so anycast is ECMP.
            options.add_path = vec![
                (
                    bgp_proto::iana::AfiSafi::IPV4_UNICAST,
                    bgp_proto::capability::AddPathMode::Send,
                ),
                (
                    bgp_proto::iana::AfiSafi::IPV6_UNICAST,
                    bgp_proto::capability::AddPathMode::Send,
                ),
            ];
            options.add_path_send = bgp_speaker::config::AddPathSend::All;
            speaker
                .add_peer(PeerConfig {
                    address: IpAddr::V4(client),
                    options,
                })
                .await
                .expect("client added");
        }
        speaker
    })
}

pub fn agent(runtime: &Runtime, i: u8, reflectors: &[Ipv4Addr]) -> AgentHandle {
    agent_with(runtime, i, reflectors, |_| {})
}

pub fn agent_with(
    runtime: &Runtime,
    i: u8,
    reflectors: &[Ipv4Addr],
    adjust: impl FnOnce(&mut AgentConfig),
) -> AgentHandle {
    let mut config = AgentConfig::new(&format!("node{i}"), AS, node_ip(i));
    config.reflectors = reflectors
        .iter()
        .map(|r| ReflectorPeer::new(IpAddr::V4(*r)))
        .collect();
    config.export = Selection {
        pools: vec!["10.64.0.0/10".parse().unwrap()],
        rules: vec![SelectRule {
            interfaces: vec!["d0".into(), "v*wl".into()],
            kinds: vec![RouteKind::Unicast],
            ..SelectRule::main_unicast()
        }],
    };
    config.node_v6 = Some(format!("fd00::{}", 10 + i).parse().unwrap());
    config.export.pools.push("fd00:70::/32".parse().unwrap());
    config.hold_time = 9;
    config.connect_retry = Duration::from_secs(1);
    config.install.remove_on_stop = true;
    adjust(&mut config);
    run_in(runtime, async move {
        Agent::start(config).await.expect("agent starts")
    })
}

pub struct Nodes {
    /// A runtime inside each node (dropped first: their threads leave
    /// the namespaces before the lab deletes them).
    pub runtimes: Vec<Runtime>,
    /// Nodes A, B, C.
    pub hosts: Vec<Host>,
    /// The workload behind A.
    pub workload: Host,
    /// The lab (dropped last).
    pub lab: Lab,
}

/// Nodes 1..=3 (A, B, C) and reflector hosts r1.. on one switch; a
/// workload behind a veth of node A.
pub fn build(reflectors: usize) -> (Nodes, Vec<Host>) {
    let mut lab = Lab::new("client-e2e").unwrap();
    let mut hosts = Vec::new();
    for i in 1..=3u8 {
        hosts.push(lab.host(&format!("n{i}")).unwrap());
    }
    let rhosts: Vec<Host> = (1..=reflectors)
        .map(|i| lab.host(&format!("r{i}")).unwrap())
        .collect();
    let mut ports: Vec<(&Host, String)> = hosts
        .iter()
        .enumerate()
        .map(|(i, h)| (h, format!("{}/24", node_ip(i as u8 + 1))))
        .collect();
    for (i, r) in rhosts.iter().enumerate() {
        ports.push((r, format!("10.0.0.{}/24", i + 1)));
    }
    let ports: Vec<(&Host, &str)> = ports.iter().map(|(h, a)| (*h, a.as_str())).collect();
    lab.switch("sw", &ports).unwrap();
    for (i, host) in hosts.iter().enumerate() {
        host.run(&["sysctl", "-qw", "net.ipv4.ip_forward=1"])
            .unwrap();
        // An IPv6 address on the switch port too, for IPv6 next hops.
        let links = host.run(&["ip", "-o", "link", "show"]).unwrap();
        let port = links
            .split_whitespace()
            .find(|w| w.starts_with("eth"))
            .map(|w| {
                w.trim_end_matches(':')
                    .split('@')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .expect("a switch port");
        host.add_address(&port, &format!("fd00::{}/64", 11 + i))
            .unwrap();
    }
    // Every node has a "d0" (a veth pair with both ends inside: no dummy
    // driver everywhere) to hang routes on.
    for host in &hosts {
        host.run(&[
            "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d0p",
        ])
        .unwrap();
        host.run(&["ip", "link", "set", "d0p", "up"]).unwrap();
        host.run(&["ip", "link", "set", "d0", "up"]).unwrap();
    }
    let a = &hosts[0];
    let workload = lab.host("wl").unwrap();
    lab.link(a, "10.65.1.1/24", &workload, "10.65.1.2/24")
        .unwrap();
    workload
        .run(&["ip", "route", "add", "default", "via", "10.65.1.1"])
        .unwrap();
    let runtimes = hosts.iter().map(runtime_in).collect();
    (
        Nodes {
            lab,
            hosts,
            runtimes,
            workload,
        },
        rhosts,
    )
}

pub fn has_route(host: &Host, prefix: &str, via: Ipv4Addr) -> bool {
    ip_routes(host, &[prefix, "proto", "186"])
        .iter()
        .any(|l| l.contains(&format!("via {via} ")))
}

pub fn rr_ip(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, i)
}

/// Poll for `duration`, failing as soon as `check` is false.
pub fn holds_for(duration: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + duration;
    while std::time::Instant::now() < deadline {
        assert!(check(), "no longer true: {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
