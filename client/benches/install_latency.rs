//! Route add -> installed latency between two nodes, through a reflector,
//! in network namespaces (needs root; prints "skipped" otherwise).
//!
//! A route added to node A's kernel (over rtnetlink, so no `ip` process
//! start is measured) is timed until node B's agent reports it installed
//! in B's kernel, and likewise for its deletion. The path covers A's
//! reader (its coalescing window included), A's speaker, the reflector,
//! B's speaker and B's writer.
//!
//! ```text
//! cargo bench -p bgp-client --bench install_latency
//! ROUTES=500 SETTLE_MS=1 cargo bench -p bgp-client --bench install_latency
//! ```

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use bgp_client::agent::{Agent, AgentConfig, AgentHandle, ReflectorPeer};
use bgp_client::kernel::select::{SelectRule, Selection};
use bgp_proto::session::PeerAs;
use bgp_speaker::config::{PeerConfig, PeerOptions, SpeakerConfig};
use bgp_speaker::speaker::Speaker;
use netlink_packet_route::route::RouteMessage;
use reflex_testlab::{Host, Lab};
use rtnetlink::RouteMessageBuilder;
use tokio::runtime::Runtime;

fn runtime_in(host: &Host) -> Runtime {
    host.enter(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime")
    })
    .expect("enter")
}

fn run_in<T: Send + 'static>(rt: &Runtime, f: impl Future<Output = T> + Send + 'static) -> T {
    rt.block_on(rt.spawn(f)).expect("task")
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn agent(rt: &Runtime, name: &str, me: Ipv4Addr, settle: Duration) -> AgentHandle {
    let mut config = AgentConfig::new(name, 64512, me);
    config.reflectors = vec![ReflectorPeer::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)))];
    config.connect_retry = Duration::from_secs(1);
    config.reader.settle = settle;
    config.install.remove_on_stop = true;
    config.export = Selection {
        pools: vec!["10.80.0.0/16".parse().unwrap()],
        rules: vec![SelectRule {
            interfaces: vec!["d0".into()],
            ..SelectRule::main_unicast()
        }],
    };
    run_in(
        rt,
        async move { Agent::start(config).await.expect("agent") },
    )
}

fn route(i: u32, ifindex: u32) -> RouteMessage {
    RouteMessageBuilder::<Ipv4Addr>::new()
        .destination_prefix(Ipv4Addr::new(10, 80, (i / 256) as u8, (i % 256) as u8), 32)
        .output_interface(ifindex)
        .build()
}

fn summary(what: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!(
        "{what:>8}: n={} p50={:?} p90={:?} p99={:?} max={:?}",
        samples.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        samples[samples.len() - 1]
    );
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` does not, and
    // then there is nothing to measure.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    if !reflex_testlab::can_use_netns() {
        println!("install_latency: skipped (needs root and iproute2)");
        return;
    }
    let routes = env("ROUTES", 200) as u32;
    let settle = Duration::from_millis(env("SETTLE_MS", 5));
    let mut lab = Lab::new("client-bench").unwrap();
    let (a, b, r) = (
        lab.host("a").unwrap(),
        lab.host("b").unwrap(),
        lab.host("r").unwrap(),
    );
    lab.switch(
        "sw",
        &[
            (&a, "10.0.0.11/24"),
            (&b, "10.0.0.12/24"),
            (&r, "10.0.0.1/24"),
        ],
    )
    .unwrap();
    a.run(&[
        "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d0p",
    ])
    .unwrap();
    a.run(&["ip", "link", "set", "d0p", "up"]).unwrap();
    a.run(&["ip", "link", "set", "d0", "up"]).unwrap();
    let ifindex: u32 = a
        .run(&["cat", "/sys/class/net/d0/ifindex"])
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    let (ra, rb, rr) = (runtime_in(&a), runtime_in(&b), runtime_in(&r));
    let reflector = run_in(&rr, async {
        let me = Ipv4Addr::new(10, 0, 0, 1);
        let mut config = SpeakerConfig::new(64512, me);
        config.listen = vec![std::net::SocketAddr::new(IpAddr::V4(me), 179)];
        let speaker = Speaker::start(config).await.unwrap();
        for last in [11, 12] {
            let mut options = PeerOptions::new(PeerAs::Exact(64512));
            options.passive = true;
            options.route_reflector_client = true;
            let address = IpAddr::V4(Ipv4Addr::new(10, 0, 0, last));
            speaker
                .add_peer(PeerConfig { address, options })
                .await
                .unwrap();
        }
        speaker
    });
    let agent_a = agent(&ra, "a", Ipv4Addr::new(10, 0, 0, 11), settle);
    let mut agent_b = agent(&rb, "b", Ipv4Addr::new(10, 0, 0, 12), settle);
    let handle = run_in(&ra, async {
        bgp_client::kernel::netlink::connect().unwrap()
    });

    // Warm up: one route through, so both sessions are up.
    let (agent_b_back, adds, dels) = run_in(&rb, async move {
        let add = |i| handle.route().add(route(i, ifindex)).execute();
        add(routes).await.unwrap();
        tokio::time::timeout(
            Duration::from_secs(30),
            agent_b.wait_status(|s| s.installed == 1),
        )
        .await
        .expect("sessions up and the first route through");
        let (mut adds, mut dels) = (Vec::new(), Vec::new());
        for i in 0..routes {
            let start = Instant::now();
            add(i).await.unwrap();
            agent_b.wait_status(|s| s.installed == 2).await;
            adds.push(start.elapsed());
            let start = Instant::now();
            handle
                .route()
                .del(route(i, ifindex))
                .execute()
                .await
                .unwrap();
            agent_b.wait_status(|s| s.installed == 1).await;
            dels.push(start.elapsed());
        }
        (agent_b, adds, dels)
    });
    println!("install_latency: A's kernel -> reflector -> B's kernel, reader settle {settle:?}");
    summary("add", adds);
    summary("delete", dels);
    run_in(&rb, async move { agent_b_back.stop().await.unwrap() });
    run_in(&ra, async move { agent_a.stop().await.unwrap() });
    run_in(&rr, async move { reflector.shutdown("bench over").await });
}
