//! Felix in network namespaces: a node with two workloads (namespaces
//! joined to it by veth pairs, as a CNI plugin makes them). Felix sets the
//! host-side interfaces up, routes the workloads, and polices them with
//! its nftables table; real pings and TCP connections prove each step.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use bgp_client::felix::{Felix, FelixConfig, FelixInput, SyncReport, TableOutcome};
use common::{ip_routes, run_in, runtime_in, wait_for};
use reflex_testlab::{Host, Lab, netns::run, skip_unless};

const A: &str = "10.68.1.2";
const B: &str = "10.68.1.3";
const A6: &str = "fd00:68::2";

/// The settings Felix changes on `ifname` and globally, as `path=value`.
fn sysctls(node: &Host, ifname: &str) -> Vec<String> {
    let mut paths = vec![
        "net/ipv4/ip_forward".to_string(),
        "net/ipv6/conf/all/forwarding".to_string(),
    ];
    for s in ["proxy_arp", "forwarding", "route_localnet"] {
        paths.push(format!("net/ipv4/conf/{ifname}/{s}"));
    }
    paths.push(format!("net/ipv4/neigh/{ifname}/proxy_delay"));
    for s in ["accept_ra", "proxy_ndp", "forwarding"] {
        paths.push(format!("net/ipv6/conf/{ifname}/{s}"));
    }
    paths
        .iter()
        .map(|p| {
            let v = node.run(&["cat", &format!("/proc/sys/{p}")]).unwrap();
            format!("{p}={}", v.trim())
        })
        .collect()
}

/// A workload: a namespace with `eth0` paired with `host_if` on the node,
/// its address, a default route through `eth0`. Returns its MAC.
fn workload(node: &Host, w: &Host, host_if: &str, addrs: &[&str]) -> String {
    run(&[
        "ip", "link", "add", "name", host_if, "netns", &node.ns, "type", "veth", "peer", "name",
        "eth0", "netns", &w.ns,
    ])
    .unwrap();
    for addr in addrs {
        w.add_address("eth0", addr).unwrap();
    }
    w.run(&["ip", "link", "set", "eth0", "up"]).unwrap();
    w.run(&["ip", "route", "add", "default", "dev", "eth0"])
        .unwrap();
    if addrs.iter().any(|a| a.contains(':')) {
        w.run(&["ip", "-6", "route", "add", "default", "dev", "eth0"])
            .unwrap();
    }
    node.run(&["ip", "link", "set", host_if, "up"]).unwrap();
    w.run(&["cat", "/sys/class/net/eth0/address"])
        .unwrap()
        .trim()
        .to_string()
}

fn endpoint(name: &str, app: &str, ifname: &str, nets: &[&str], mac: &str) -> String {
    format!(
        "apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {{name: {name}, namespace: test, labels: {{app: {app}}}}}
spec: {{node: node1, orchestrator: k8s, interfaceName: {ifname}, ipNetworks: [{}], mac: '{mac}', profiles: [kns.test]}}
---
",
        nets.iter()
            .map(|n| format!("'{n}'"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

const PROFILE: &str = "apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: kns.test}
spec: {ingress: [{action: Allow}], egress: [{action: Allow}]}
---
";

/// Only TCP to `port` from app `a` reaches app `b`.
fn web_policy(port: u16) -> String {
    format!(
        "apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {{name: web}}
spec:
  selector: app == 'b'
  order: 10
  types: [Ingress]
  ingress:
  - action: Allow
    protocol: TCP
    source: {{selector: app == 'a'}}
    destination: {{ports: [{port}]}}
---
"
    )
}

/// Felix's IPv4 routes (protocol 80) in `node`, trimmed.
fn routes80(node: &Host) -> Vec<String> {
    ip_routes(node, &["proto", "80"])
        .iter()
        .map(|l| l.trim().to_string())
        .collect()
}

fn pings(from: &Host, to: &str) -> bool {
    from.run(&["ping", "-c1", "-W1", to]).is_ok()
}

fn connects(from: &Host, to: &str, port: u16) -> bool {
    let addr: SocketAddr = format!("{to}:{port}").parse().unwrap();
    from.enter(move || TcpStream::connect_timeout(&addr, Duration::from_millis(800)).is_ok())
        .unwrap()
}

/// Listening sockets in `w` (the kernel completes handshakes without
/// `accept`, so holding them is enough).
fn listen(w: &Host, ports: &[u16]) -> Vec<TcpListener> {
    let ports = ports.to_vec();
    w.enter(move || {
        ports
            .iter()
            .map(|p| TcpListener::bind(("0.0.0.0", *p)).unwrap())
            .collect()
    })
    .unwrap()
}

fn nft_table(node: &Host) -> Option<String> {
    node.run(&["nft", "list", "table", "inet", "reflex"]).ok()
}

#[test]
fn workloads_are_routed_policed_repaired_and_cleaned_up() {
    if skip_unless(&["ip", "ping", "nft"]) {
        return;
    }
    common::init_logging();
    let mut lab = Lab::new("felix").unwrap();
    let node = lab.host("node").unwrap();
    let wa = lab.host("wa").unwrap();
    let wb = lab.host("wb").unwrap();
    let mac_a = workload(
        &node,
        &wa,
        "caliA",
        &[&format!("{A}/32"), &format!("{A6}/128")],
    );
    let before_a = sysctls(&node, "caliA");
    // A route of a previous run, and a table of someone else.
    node.run(&[
        "ip",
        "route",
        "add",
        "10.68.9.9/32",
        "dev",
        "lo",
        "proto",
        "80",
    ])
    .unwrap();
    node.run(&["nft", "add", "table", "inet", "other"]).unwrap();
    node.run(&[
        "nft",
        "add",
        "chain",
        "inet",
        "other",
        "c",
        "{ type filter hook forward priority 10; }",
    ])
    .unwrap();
    node.run(&[
        "nft",
        "add",
        "rule",
        "inet",
        "other",
        "c",
        "ip",
        "saddr",
        "192.0.2.1",
        "drop",
    ])
    .unwrap();
    let other_before = node
        .run(&["nft", "list", "table", "inet", "other"])
        .unwrap();

    let runtime = runtime_in(&node);
    let mut config = FelixConfig::new("node1");
    config.reconcile_interval = Duration::from_secs(3600);
    let felix = Arc::new(run_in(&runtime, async move { Felix::spawn(config) }));
    let update = |input: FelixInput| -> SyncReport {
        let felix = felix.clone();
        run_in(&runtime, async move { felix.update(input).await }).expect("sync")
    };

    // B's endpoint exists before its interface; the input comes from a file.
    let mac_b = "02:00:0a:44:01:03";
    let endpoints = format!(
        "{}{}",
        endpoint(
            "a",
            "a",
            "caliA",
            &[&format!("{A}/32"), &format!("{A6}/128")],
            &mac_a
        ),
        endpoint("b", "b", "caliB", &[&format!("{B}/32")], mac_b),
    );
    let file = lab
        .write_file("workloads.yaml", &format!("{PROFILE}{endpoints}"))
        .unwrap();
    let report = update(FelixInput::from_file(&file).unwrap());
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(report.table, TableOutcome::Applied);
    assert_eq!(report.programmed, ["caliA"]);
    assert_eq!(report.pending, ["caliB"]);
    let routes = routes80(&node);
    assert_eq!(
        routes,
        [format!("{A} dev caliA scope link")],
        "the previous run's route is gone"
    );
    let v6 = node
        .run(&["ip", "-6", "route", "show", "proto", "80"])
        .unwrap();
    assert!(v6.contains(&format!("{A6} dev caliA")), "{v6}");
    let neigh = node.run(&["ip", "neigh", "show", "dev", "caliA"]).unwrap();
    assert!(
        neigh.contains(&format!("{A} lladdr {mac_a} PERMANENT")),
        "{neigh}"
    );
    let now = sysctls(&node, "caliA");
    for want in [
        "net/ipv4/ip_forward=1",
        "net/ipv6/conf/all/forwarding=1",
        "net/ipv4/conf/caliA/proxy_arp=1",
        "net/ipv4/conf/caliA/forwarding=1",
        "net/ipv4/conf/caliA/route_localnet=1",
        "net/ipv4/neigh/caliA/proxy_delay=0",
        "net/ipv6/conf/caliA/accept_ra=0",
        "net/ipv6/conf/caliA/proxy_ndp=1",
        "net/ipv6/conf/caliA/forwarding=1",
    ] {
        assert!(now.iter().any(|s| s == want), "{want} not in {now:?}");
    }

    // B's interface appears: the link event programs it.
    workload(&node, &wb, "caliB", &[&format!("{B}/32")]);
    wb.run(&["ip", "link", "set", "eth0", "address", mac_b])
        .unwrap();
    wait_for(
        Duration::from_secs(5),
        "B's route after its link event",
        || routes80(&node).contains(&format!("{B} dev caliB scope link")),
    );
    wait_for(Duration::from_secs(5), "A pings B through the node", || {
        pings(&wa, B)
    });
    assert!(pings(&wb, A));
    let _listeners = listen(&wb, &[80, 8080]);
    assert!(
        connects(&wa, B, 80) && connects(&wa, B, 8080),
        "the profile allows all"
    );

    // The policy: only TCP 80 from A.
    let input = |policy: &str| {
        FelixInput::from_documents(&format!("{PROFILE}{endpoints}{policy}")).unwrap()
    };
    let report = update(input(&web_policy(80)));
    assert_eq!(report.table, TableOutcome::Applied);
    assert!(connects(&wa, B, 80), "port 80 allowed");
    assert!(!connects(&wa, B, 8080), "port 8080 denied");
    assert!(!pings(&wa, B), "ICMP denied");
    assert!(
        pings(&wb, A),
        "B's egress is not limited, A's ingress allows"
    );

    // The policy changes: now 8080 only.
    update(input(&web_policy(8080)));
    assert!(!connects(&wa, B, 80), "port 80 now denied");
    assert!(connects(&wa, B, 8080), "port 8080 now allowed");

    // Someone deletes the allow rule; a reconcile puts it back.
    let chain = node
        .run(&["nft", "-a", "list", "chain", "inet", "reflex", "pi-gnp/web"])
        .unwrap();
    let handles: Vec<&str> = chain
        .lines()
        .filter(|l| l.contains("dport 8080") && l.contains("ip saddr"))
        .filter_map(|l| l.rsplit("# handle ").next())
        .collect();
    assert_eq!(handles.len(), 1, "{chain}");
    node.run(&[
        "nft",
        "delete",
        "rule",
        "inet",
        "reflex",
        "pi-gnp/web",
        "handle",
        handles[0],
    ])
    .unwrap();
    assert!(!connects(&wa, B, 8080), "the rule is gone");
    let report = {
        let felix = felix.clone();
        run_in(&runtime, async move { felix.reconcile().await }).unwrap()
    };
    assert_eq!(report.table, TableOutcome::Repaired);
    assert!(connects(&wa, B, 8080), "the rule is back");
    let report = {
        let felix = felix.clone();
        run_in(&runtime, async move { felix.reconcile().await }).unwrap()
    };
    assert_eq!(report.table, TableOutcome::Unchanged);

    // B's endpoint goes (its veth stays): nothing of B is left.
    let before_b_removal = sysctls(&node, "caliB");
    assert!(before_b_removal.contains(&"net/ipv4/conf/caliB/proxy_arp=1".to_string()));
    let only_a = endpoint(
        "a",
        "a",
        "caliA",
        &[&format!("{A}/32"), &format!("{A6}/128")],
        &mac_a,
    );
    update(FelixInput::from_documents(&format!("{PROFILE}{only_a}")).unwrap());
    assert_eq!(routes80(&node), [format!("{A} dev caliA scope link")]);
    let neigh = node.run(&["ip", "neigh", "show", "dev", "caliB"]).unwrap();
    assert!(!neigh.contains("PERMANENT"), "{neigh}");
    let table = nft_table(&node).unwrap();
    assert!(
        !table.contains("caliB") && !table.contains("pi-gnp/web"),
        "{table}"
    );
    // Its settings are those of an interface Felix never saw.
    node.run(&[
        "ip", "link", "add", "ref0", "type", "veth", "peer", "name", "ref1",
    ])
    .unwrap();
    let values = |ifname: &str| -> Vec<String> {
        sysctls(&node, ifname)
            .iter()
            .map(|s| s.replace(ifname, "IF"))
            .collect()
    };
    assert_eq!(values("caliB"), values("ref0"), "B's settings put back");

    // The last endpoint goes: no route, setting or table is left.
    let report = update(FelixInput::default());
    assert_eq!(report.table, TableOutcome::Removed);
    assert!(routes80(&node).is_empty());
    assert!(
        node.run(&["ip", "-6", "route", "show", "proto", "80"])
            .unwrap()
            .trim()
            .is_empty()
    );
    assert!(nft_table(&node).is_none(), "the table is gone");
    assert_eq!(sysctls(&node, "caliA"), before_a, "every setting put back");
    let neigh = node.run(&["ip", "neigh", "show", "dev", "caliA"]).unwrap();
    assert!(!neigh.contains("PERMANENT"), "{neigh}");
    assert_eq!(
        node.run(&["nft", "list", "table", "inet", "other"])
            .unwrap(),
        other_before,
        "another table is never touched"
    );
    let felix = Arc::try_unwrap(felix).expect("one owner");
    run_in(&runtime, async move { felix.stop(true).await }).unwrap();
}
