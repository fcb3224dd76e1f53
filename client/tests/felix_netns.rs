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
const HOST: &str = "10.68.0.1";

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

    // The node's own address (its uplink's, on a real node).
    node.add_address("lo", &format!("{HOST}/32")).unwrap();
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
    // Host to workload and workload to host follow the same rules.
    assert!(connects(&node, B, 80), "the host reaches B");
    assert!(pings(&wa, HOST), "A reaches the host");

    // The policy: only TCP 80 from A.
    let input = |policy: &str| {
        FelixInput::from_documents(&format!("{PROFILE}{endpoints}{policy}")).unwrap()
    };
    let report = update(input(&web_policy(80)));
    assert_eq!(report.table, TableOutcome::Applied);
    assert!(connects(&wa, B, 80), "port 80 allowed");
    assert!(
        !connects(&node, B, 80),
        "only from A: the host is denied too"
    );
    assert!(pings(&wa, HOST), "A's egress (its profile) allows the host");
    assert!(!connects(&wa, B, 8080), "port 8080 denied");
    assert!(!pings(&wa, B), "ICMP denied");
    assert!(
        pings(&wb, A),
        "B's egress is not limited, A's ingress allows"
    );

    // The policy changes: now 8080 only.
    let before = report.table_changes;
    let report = update(input(&web_policy(8080)));
    assert_eq!(report.table, TableOutcome::Applied);
    assert_eq!(
        report.table_changes,
        (before.0 + 1, before.1),
        "the change went to the kernel as one netlink batch, not through nft"
    );
    let report = {
        let felix = felix.clone();
        run_in(&runtime, async move { felix.reconcile().await }).unwrap()
    };
    assert_eq!(
        report.table,
        TableOutcome::Unchanged,
        "what the incremental update left is what was kept"
    );
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

/// The link-local address of `ifname` in `host`.
fn link_local(host: &Host, ifname: &str) -> String {
    let out = host
        .run(&[
            "ip", "-6", "-o", "addr", "show", "dev", ifname, "scope", "link",
        ])
        .unwrap();
    let word = out
        .split_whitespace()
        .skip_while(|w| *w != "inet6")
        .nth(1)
        .unwrap_or_else(|| panic!("no link-local address on {ifname}: {out}"));
    word.split('/').next().unwrap().to_string()
}

/// An IPv6-only workload, routed as Calico's CNI plugin does it: the
/// default route goes through the node interface's link-local address.
fn workload6(node: &Host, w: &Host, host_if: &str, addr: &str) -> String {
    for host in [node, w] {
        host.run(&["sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"])
            .unwrap();
    }
    run(&[
        "ip", "link", "add", "name", host_if, "netns", &node.ns, "type", "veth", "peer", "name",
        "eth0", "netns", &w.ns,
    ])
    .unwrap();
    w.add_address("eth0", addr).unwrap();
    w.run(&["ip", "link", "set", "eth0", "up"]).unwrap();
    node.run(&["ip", "link", "set", host_if, "up"]).unwrap();
    let gateway = link_local(node, host_if);
    w.run(&[
        "ip", "-6", "route", "add", "default", "via", &gateway, "dev", "eth0",
    ])
    .unwrap();
    w.run(&["cat", "/sys/class/net/eth0/address"])
        .unwrap()
        .trim()
        .to_string()
}

#[test]
fn ipv6_workloads_a_recreated_interface_timer_repair_and_stop() {
    if skip_unless(&["ip", "ping", "nft", "sysctl"]) {
        return;
    }
    common::init_logging();
    let mut lab = Lab::new("felix6").unwrap();
    let node = lab.host("node").unwrap();
    let wc = lab.host("wc").unwrap();
    let wd = lab.host("wd").unwrap();
    let (c, d) = ("fd00:68:1::c", "fd00:68:1::d");
    let mac_c = workload6(&node, &wc, "caliC", &format!("{c}/128"));
    let mac_d = workload6(&node, &wd, "caliD", &format!("{d}/128"));
    let forward_before = node
        .run(&["cat", "/proc/sys/net/ipv6/conf/all/forwarding"])
        .unwrap();

    // Someone else's route to one of C's addresses.
    node.run(&[
        "ip",
        "-6",
        "route",
        "add",
        "fd00:68:1::e/128",
        "dev",
        "lo",
        "proto",
        "static",
    ])
    .unwrap();
    let runtime = runtime_in(&node);
    let mut config = FelixConfig::new("node1");
    config.reconcile_interval = Duration::from_millis(500);
    let felix = Arc::new(run_in(&runtime, async move { Felix::spawn(config) }));
    let docs = format!(
        "{PROFILE}{}{}",
        endpoint(
            "c",
            "c",
            "caliC",
            &[&format!("{c}/128"), "fd00:68:1::e/128"],
            &mac_c
        ),
        endpoint("d", "d", "caliD", &[&format!("{d}/128")], &mac_d),
    );
    let report = {
        let felix = felix.clone();
        let input = FelixInput::from_documents(&docs).unwrap();
        run_in(&runtime, async move { felix.update(input).await }).unwrap()
    };
    assert_eq!(report.programmed, ["caliC", "caliD"], "{report:?}");
    assert_eq!(
        report.warnings,
        ["fd00:68:1::e/128: a route of another protocol is there: left alone"]
    );
    assert_eq!(
        node.run(&["cat", "/proc/sys/net/ipv6/conf/all/forwarding"])
            .unwrap()
            .trim(),
        "1"
    );
    // Through the node, policed by the table (NDP to and from the node's
    // link-local address passes before the endpoint chains).
    wait_for(Duration::from_secs(5), "C pings D over IPv6", || {
        wc.run(&["ping", "-6", "-c1", "-W1", d]).is_ok()
    });

    // D's veth is deleted and made again: the link events reprogram it.
    node.run(&["ip", "link", "del", "caliD"]).unwrap();
    wait_for(
        Duration::from_secs(5),
        "D's route gone with its link",
        || {
            !node
                .run(&["ip", "-6", "route", "show", "proto", "80"])
                .unwrap()
                .contains(d)
        },
    );
    let mac_d2 = workload6(&node, &wd, "caliD", &format!("{d}/128"));
    let docs = docs.replace(&mac_d, &mac_d2);
    {
        let felix = felix.clone();
        let input = FelixInput::from_documents(&docs).unwrap();
        run_in(&runtime, async move { felix.update(input).await }).unwrap();
    }
    wait_for(Duration::from_secs(5), "C pings the new D", || {
        wc.run(&["ping", "-6", "-c1", "-W1", d]).is_ok()
    });

    // Drift is repaired by the timer alone.
    node.run(&["nft", "flush", "chain", "inet", "reflex", "tw-caliD"])
        .unwrap();
    wait_for(
        Duration::from_secs(5),
        "the timer restores tw-caliD",
        || {
            node.run(&["nft", "list", "chain", "inet", "reflex", "tw-caliD"])
                .is_ok_and(|c| c.contains("ct state established,related accept"))
        },
    );
    assert!(wc.run(&["ping", "-6", "-c1", "-W1", d]).is_ok());

    // Stop with cleanup: routes, neighbours, table and settings go.
    let felix = Arc::try_unwrap(felix).expect("one owner");
    run_in(&runtime, async move { felix.stop(true).await }).unwrap();
    assert!(
        node.run(&["ip", "-6", "route", "show", "proto", "80"])
            .unwrap()
            .trim()
            .is_empty()
    );
    assert!(nft_table(&node).is_none());
    let foreign = node
        .run(&["ip", "-6", "route", "show", "fd00:68:1::e/128"])
        .unwrap();
    assert!(
        foreign.contains("dev lo proto static"),
        "never touched: {foreign}"
    );
    assert_eq!(
        node.run(&["cat", "/proc/sys/net/ipv6/conf/all/forwarding"])
            .unwrap(),
        forward_before
    );
    for ifname in ["caliC", "caliD"] {
        let neigh = node
            .run(&["ip", "-6", "neigh", "show", "dev", ifname])
            .unwrap();
        assert!(!neigh.contains("PERMANENT"), "{neigh}");
        assert_eq!(
            node.run(&[
                "cat",
                &format!("/proc/sys/net/ipv6/conf/{ifname}/proxy_ndp")
            ])
            .unwrap()
            .trim(),
            "0"
        );
    }
}

/// Every form the compiler writes loads into the kernel: nft checks the
/// whole table (`nft -c`) in a namespace of its own.
#[test]
fn every_compiled_rule_form_loads_into_nft() {
    if skip_unless(&["ip", "nft"]) {
        return;
    }
    let mut lab = Lab::new("felixnft").unwrap();
    let node = lab.host("node").unwrap();
    let input = FelixInput::from_documents(&format!(
        "{PROFILE}{}{}{}",
        endpoint("a", "a", "caliA", &[&format!("{A}/32"), &format!("{A6}/128")], "02:00:00:00:00:0a"),
        endpoint("b", "b", "caliB", &[&format!("{B}/32")], ""),
        r#"apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: every-form}
spec:
  selector: all()
  order: 5
  types: [Ingress, Egress]
  ingress:
  - {action: Log, protocol: TCP}
  - action: Allow
    protocol: TCP
    source: {nets: [10.0.0.0/8, 192.168.1.7/24], notNets: [10.9.0.0/16], selector: app == 'a', notSelector: "has(x)"}
    destination: {ports: [80, "8000:8080"], notPorts: [8443]}
  - {action: Allow, protocol: ICMP, icmp: {type: 8, code: 0}}
  - {action: Deny, protocol: ICMP, notICMP: {type: 8}}
  - {action: Deny, protocol: ICMPv6, notICMP: {type: 128, code: 0}}
  - {action: Pass, protocol: 132, notProtocol: 6, ipVersion: 6}
  - {action: Allow, protocol: UDPLite, source: {ports: ["1:1024"], namespaceSelector: all()}}
  egress:
  - {action: Allow, protocol: UDP, destination: {notNets: ["fd00::/8", 10.0.0.0/8], ports: [53]}}
  - {action: Deny, source: {nets: ["fd00::/64"]}}
---
apiVersion: projectcalico.org/v3
kind: NetworkPolicy
metadata: {name: other-tier, namespace: test}
spec: {tier: security, selector: all(), ingress: [{action: Pass}]}
"#
    ))
    .unwrap();
    let mut warnings = Vec::new();
    let endpoints = bgp_client::felix::input::resolve_endpoints(&input, &mut warnings);
    let local = bgp_client::felix::input::local_endpoints(&endpoints, Some("node1"), &mut warnings);
    let ruleset = bgp_client::felix::acl::compile(
        &input,
        &endpoints,
        &local,
        &bgp_client::felix::AclConfig::default(),
    );
    assert!(ruleset.warnings.is_empty(), "{:?}", ruleset.warnings);
    assert!(ruleset.rule_count() > 30);
    let file = lab.write_file("ruleset.nft", &ruleset.script()).unwrap();
    let file = file.to_str().unwrap();
    if let Err(e) = node.run(&["nft", "-c", "-f", file]) {
        panic!("{e}\n{}", ruleset.script());
    }
    // And applying it twice is the same table (the replace is idempotent).
    node.run(&["nft", "-f", file]).unwrap();
    let first = nft_table(&node).unwrap();
    node.run(&["nft", "-f", file]).unwrap();
    assert_eq!(nft_table(&node).unwrap(), first);
    assert!(first.contains("chain tw-caliA/security"), "{first}");
}
