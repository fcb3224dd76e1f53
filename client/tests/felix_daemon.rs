//! Felix in the daemon, end to end in network namespaces: a real etcd, a
//! `bgp-reflector` process from its Node resource, and two `bgp-client
//! run` processes (nodes n1 and n2) with `[felix]` in datastore mode.
//! Each node has a workload namespace behind a veth (`cali1`, `cali2`),
//! as a CNI plugin makes them. The test writes WorkloadEndpoints to etcd;
//! then:
//! - each client programs its own endpoint (settings, route protocol 80)
//!   and advertises that route through the reflector (Felix's export
//!   rule: the file's own rule selects nothing), so the workloads ping
//!   each other across the nodes;
//! - Felix's status key exists on a lease, with Calico's fields, and the
//!   endpoints' status keys say `up`; the API and the metrics show it;
//! - a GlobalNetworkPolicy allowing TCP 80 from w1 only is enforced on n2
//!   (real TCP connections to ports 80 and 8080 before and after);
//! - while etcd is down the dataplane keeps its last state;
//! - deleting w2's WorkloadEndpoint removes its route (on n2, and the
//!   advertised one on n1), its settings, the nftables table and its
//!   status key.
//!
//! Addresses: switch 10.0.84.0/24 (reflector .1, n<i> .1<i>, etcd .100);
//! pool 10.84.0.0/16; workload w<i> is 10.84.<i>.2.
//!
//! The `bgp-reflector` binary is taken next to `bgp-client` in cargo's
//! target directory, built with `cargo build -p bgp-reflector` when it is
//! missing.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use bgp_client::cli::http;
use bgp_client::felix::service::FelixStatus;
use common::{ip_routes, run_in, runtime_in};
use reflex_datastore::cli::parse_documents;
use reflex_datastore::model::{Kind, ResourceKey};
use reflex_datastore::store::etcd::{EtcdConfig, EtcdStore};
use reflex_datastore::store::{Datastore, Precondition};
use reflex_testlab::netns::run;
use reflex_testlab::{Host, Lab, skip_unless};
use tokio::runtime::Runtime;

const BIN: &str = env!("CARGO_BIN_EXE_bgp-client");
const ETCD: &str = "http://10.0.84.100:2379";
const API: &str = "127.0.0.1:9180";

const RESOURCES: &str = r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: rr1, labels: {route-reflector: "true"}}
spec: {bgp: {ipv4Address: 10.0.84.1/24, routeReflectorClusterID: 224.0.0.84}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: to-reflectors}
spec: {nodeSelector: "!has(route-reflector)", peerSelector: has(route-reflector)}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool-84}
spec: {cidr: 10.84.0.0/16}
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: kns.test}
spec: {ingress: [{action: Allow}], egress: [{action: Allow}]}
"#;

fn wep(i: u8) -> String {
    format!(
        "apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {{name: n{i}-k8s-w{i}-eth0, namespace: test, labels: {{app: w{i}}}}}
spec: {{node: n{i}, orchestrator: k8s, workload: w{i}, endpoint: eth0, interfaceName: cali{i}, ipNetworks: [10.84.{i}.2/32], profiles: [kns.test]}}
"
    )
}

/// TCP 80 from w1 only reaches w2.
const POLICY: &str = "apiVersion: projectcalico.org/v3
kind: GlobalNetworkPolicy
metadata: {name: w2-web}
spec:
  selector: app == 'w2'
  order: 10
  types: [Ingress]
  ingress:
  - {action: Allow, protocol: TCP, source: {selector: app == 'w1'}, destination: {ports: [80]}}
";

/// Node n<i>'s file: its address, short timers, an export rule that
/// selects nothing (so only Felix's rule advertises the workloads), and
/// `[felix]` with every default but the reconcile interval.
fn client_toml(i: u8) -> String {
    format!(
        "[node]\nname = \"n{i}\"\nipv4 = \"10.0.84.1{i}\"\nnodename_file = \"\"\n\n\
[bgp]\nhold_time = 9\nconnect_retry = 1\n\n\
[[export.rule]]\ninterfaces = [\"none0\"]\n\n\
[install]\nremove_on_stop = true\n\n\
[datastore]\nendpoints = [\"{ETCD}\"]\nkeepalive = 1\nretry_max = 1\n\n\
[felix]\nreconcile_interval = 2\ncleanup_on_stop = true\n"
    )
}

/// A workload namespace `w` with `eth0` paired with `host_if` on `node`.
fn workload(node: &Host, w: &Host, host_if: &str, addr: &str) {
    run(&[
        "ip", "link", "add", "name", host_if, "netns", &node.ns, "type", "veth", "peer", "name",
        "eth0", "netns", &w.ns,
    ])
    .unwrap();
    w.add_address("eth0", addr).unwrap();
    w.run(&["ip", "link", "set", "eth0", "up"]).unwrap();
    w.run(&["ip", "route", "add", "default", "dev", "eth0"])
        .unwrap();
    node.run(&["ip", "link", "set", host_if, "up"]).unwrap();
}

fn pings(from: &Host, to: &str) -> bool {
    from.run(&["ping", "-c1", "-W1", to]).is_ok()
}

fn connects(from: &Host, to: &str, port: u16) -> bool {
    let addr: SocketAddr = format!("{to}:{port}").parse().unwrap();
    from.enter(move || TcpStream::connect_timeout(&addr, Duration::from_millis(800)).is_ok())
        .unwrap()
}

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

fn sysctl(node: &Host, path: &str) -> String {
    node.run(&["cat", &format!("/proc/sys/{path}")])
        .unwrap_or_default()
        .trim()
        .to_string()
}

struct Setup {
    lab: Lab,
    node_rts: Vec<Runtime>,
    etcd_rt: Runtime,
    store: EtcdStore,
}

impl Setup {
    fn logs(&self) -> String {
        ["rr1", "n1", "n2", "etcd"]
            .iter()
            .map(|l| {
                let log = self.lab.log(l);
                let lines: Vec<&str> = log.lines().collect();
                let tail = &lines[lines.len().saturating_sub(30)..];
                format!("--- {l} ---\n{}\n", tail.join("\n"))
            })
            .collect()
    }

    fn wait(&self, timeout: Duration, what: &str, mut check: impl FnMut(&Setup) -> bool) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if check(self) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "timed out after {timeout:?} waiting for {what}\n{}",
            self.logs()
        );
    }

    fn apply(&self, yaml: &str) {
        let store = self.store.clone();
        let resources = parse_documents(yaml).unwrap();
        run_in(&self.etcd_rt, async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            for r in resources {
                while let Err(e) = store.put(&r, Precondition::None).await {
                    assert!(Instant::now() < deadline, "cannot write to etcd: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        });
    }

    fn delete_wep(&self, i: u8) {
        let store = self.store.clone();
        let key = ResourceKey::namespaced(
            Kind::WorkloadEndpoint,
            "test",
            format!("n{i}-k8s-w{i}-eth0"),
        );
        run_in(&self.etcd_rt, async move {
            store.delete(&key, Precondition::None).await.unwrap();
        });
    }

    /// A raw key's value and its lease (0: none).
    fn raw(&self, key: &str) -> Option<(String, i64)> {
        let mut client = self.store.client();
        let key = key.to_string();
        run_in(&self.etcd_rt, async move {
            let response = client.get(key, None).await.ok()?;
            let kv = response.kvs().first()?;
            Some((String::from_utf8_lossy(kv.value()).into_owned(), kv.lease()))
        })
    }

    fn felix(&self, i: usize) -> Option<FelixStatus> {
        let addr: SocketAddr = API.parse().unwrap();
        let body = run_in(&self.node_rts[i], async move {
            http::request(addr, "GET", "/api/v1/felix").await.ok()
        })?;
        serde_json::from_slice(&body).ok()
    }

    fn metric(&self, i: usize, sample: &str) -> Option<f64> {
        let addr: SocketAddr = API.parse().unwrap();
        let body = run_in(&self.node_rts[i], async move {
            http::request(addr, "GET", "/metrics").await.ok()
        })?;
        String::from_utf8_lossy(&body)
            .lines()
            .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' ')?.parse().ok())
    }
}

#[test]
fn workloads_on_two_nodes_from_etcd_are_routed_policed_reported_and_removed() {
    if skip_unless(&["ip", "etcd", "nft", "ping"]) {
        return;
    }
    common::init_logging();
    let reflector = reflex_testlab::workspace_binary(BIN, "bgp-reflector", "bgp-reflector");
    let mut lab = Lab::new("felixd").unwrap();
    let nodes: Vec<Host> = (1..=2)
        .map(|i| lab.host(&format!("n{i}")).unwrap())
        .collect();
    let workloads: Vec<Host> = (1..=2)
        .map(|i| lab.host(&format!("w{i}")).unwrap())
        .collect();
    let rr = lab.host("rr").unwrap();
    let etcd_host = lab.host("etcd").unwrap();
    lab.switch(
        "sw",
        &[
            (&rr, "10.0.84.1/24"),
            (&nodes[0], "10.0.84.11/24"),
            (&nodes[1], "10.0.84.12/24"),
            (&etcd_host, "10.0.84.100/24"),
        ],
    )
    .unwrap();
    for i in 0..2 {
        workload(
            &nodes[i],
            &workloads[i],
            &format!("cali{}", i + 1),
            &format!("10.84.{}.2/32", i + 1),
        );
    }
    reflex_testlab::daemons::etcd::start(&mut lab, &etcd_host, ETCD).unwrap();
    let etcd_rt = runtime_in(&etcd_host);
    let store = run_in(&etcd_rt, async {
        EtcdStore::connect(EtcdConfig::new([ETCD])).await.unwrap()
    });
    let node_rts = nodes.iter().map(runtime_in).collect();
    let mut s = Setup {
        lab,
        node_rts,
        etcd_rt,
        store,
    };
    s.apply(RESOURCES);
    let rr_bin = reflector.to_str().unwrap().to_string();
    s.lab
        .spawn(
            &rr,
            "rr1",
            &[
                &rr_bin,
                "run",
                "--datastore",
                "etcd",
                "--etcd-endpoints",
                ETCD,
                "--node",
                "rr1",
            ],
        )
        .unwrap();
    for i in 1..=2u8 {
        let file = s
            .lab
            .write_file(&format!("n{i}.toml"), &client_toml(i))
            .unwrap();
        let host = nodes[usize::from(i - 1)].clone();
        s.lab
            .spawn(
                &host,
                &format!("n{i}"),
                &[BIN, "run", "--config", file.to_str().unwrap()],
            )
            .unwrap();
    }
    let before_proxy_arp = sysctl(&nodes[1], "net/ipv4/conf/cali2/proxy_arp");
    assert_eq!(before_proxy_arp, "0");

    // The endpoints: each node programs its own and advertises it.
    s.apply(&format!("{}---\n{}", wep(1), wep(2)));
    let (n1, n2) = (&nodes[0], &nodes[1]);
    let (w1, w2) = (&workloads[0], &workloads[1]);
    s.wait(
        Duration::from_secs(30),
        "workload routes on both nodes",
        |_| {
            ip_routes(n1, &["proto", "80"])
                .iter()
                .any(|r| r.contains("10.84.1.2 dev cali1"))
                && ip_routes(n2, &["proto", "80"])
                    .iter()
                    .any(|r| r.contains("10.84.2.2 dev cali2"))
        },
    );
    assert_eq!(sysctl(n2, "net/ipv4/conf/cali2/proxy_arp"), "1");
    assert_eq!(sysctl(n2, "net/ipv4/ip_forward"), "1");
    s.wait(
        Duration::from_secs(40),
        "each workload route at the other node via BGP",
        |_| {
            ip_routes(n1, &["10.84.2.2"])
                .iter()
                .any(|r| r.contains("via 10.0.84.12"))
                && ip_routes(n2, &["10.84.1.2"])
                    .iter()
                    .any(|r| r.contains("via 10.0.84.11"))
        },
    );
    s.wait(Duration::from_secs(10), "w1 and w2 ping each other", |_| {
        pings(w1, "10.84.2.2") && pings(w2, "10.84.1.2")
    });

    // Felix's status in etcd, on a lease; the endpoints are up.
    s.wait(Duration::from_secs(10), "n1's status keys", |s| {
        s.raw("/calico/felix/v2/no-region/host/n1/workload/k8s/test%2fw1/endpoint/eth0")
            .is_some_and(|(v, lease)| v == r#"{"status":"up"}"# && lease != 0)
    });
    let (status, lease) = s
        .raw("/calico/felix/v2/no-region/host/n1/status")
        .expect("the status key");
    assert_ne!(lease, 0, "the status key is on a lease");
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert!(status["time"].as_str().unwrap().ends_with('Z'), "{status}");
    assert!(status["uptime"].as_f64().unwrap() >= 0.0, "{status}");
    assert!(status["first_update"].is_boolean(), "{status}");
    let ttl = {
        let mut client = s.store.client();
        run_in(&s.etcd_rt, async move {
            client.lease_time_to_live(lease, None).await.unwrap().ttl()
        })
    };
    assert!((1..=90).contains(&ttl), "lease TTL {ttl}");
    let felix = s.felix(1).expect("GET /api/v1/felix on n2");
    assert_eq!(
        (felix.source.as_str(), felix.endpoints_programmed),
        ("datastore", 1)
    );
    assert_eq!(felix.programmed, ["cali2"]);
    assert_eq!(felix.datastore.as_deref(), Some("connected"));
    assert_eq!(
        s.metric(1, "reflex_client_felix_endpoints_programmed"),
        Some(1.0)
    );
    assert!(s.metric(1, "reflex_client_felix_rules").unwrap() > 0.0);

    // Policy: TCP 80 from w1 only.
    let _listeners = listen(w2, &[80, 8080]);
    assert!(connects(w1, "10.84.2.2", 80) && connects(w1, "10.84.2.2", 8080));
    s.apply(POLICY);
    s.wait(Duration::from_secs(10), "w2's policy enforced", |_| {
        !connects(w1, "10.84.2.2", 8080)
    });
    assert!(connects(w1, "10.84.2.2", 80), "TCP 80 from w1 is allowed");
    assert!(!pings(w1, "10.84.2.2"), "ICMP is not");
    assert!(pings(w2, "10.84.1.2"), "w1 has no policy: w2 reaches it");

    // etcd goes away: the dataplane keeps the last state; it comes back.
    s.lab.kill("etcd");
    s.wait(
        Duration::from_secs(30),
        "n2's Felix to see etcd gone",
        |s| {
            s.felix(1)
                .is_some_and(|f| f.datastore.as_deref() == Some("disconnected"))
        },
    );
    assert!(
        ip_routes(n2, &["proto", "80"])
            .iter()
            .any(|r| r.contains("10.84.2.2 dev cali2"))
    );
    assert!(pings(w2, "10.84.1.2") && connects(w1, "10.84.2.2", 80));
    assert!(!connects(w1, "10.84.2.2", 8080), "the policy stays");
    reflex_testlab::daemons::etcd::start(&mut s.lab, &etcd_host, ETCD).unwrap();
    s.wait(Duration::from_secs(30), "n2's Felix in sync again", |s| {
        s.felix(1)
            .is_some_and(|f| f.datastore.as_deref() == Some("connected"))
    });

    // w2's endpoint goes: its route, settings, table and status key too.
    s.delete_wep(2);
    s.wait(
        Duration::from_secs(15),
        "w2's route gone from n2 and n1",
        |_| ip_routes(n2, &["proto", "80"]).is_empty() && ip_routes(n1, &["10.84.2.2"]).is_empty(),
    );
    s.wait(
        Duration::from_secs(10),
        "settings back and the table gone on n2",
        |_| {
            sysctl(n2, "net/ipv4/conf/cali2/proxy_arp") == "0"
                && n2.run(&["nft", "list", "table", "inet", "reflex"]).is_err()
        },
    );
    s.wait(Duration::from_secs(10), "w2's status key gone", |s| {
        s.raw("/calico/felix/v2/no-region/host/n2/workload/k8s/test%2fw2/endpoint/eth0")
            .is_none()
    });
    assert!(s.raw("/calico/felix/v2/no-region/host/n2/status").is_some());
    assert!(
        n1.run(&["nft", "list", "table", "inet", "reflex"]).is_ok(),
        "n1 keeps w1's"
    );
}

fn file_wep(addr: &str) -> String {
    format!(
        "apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {{name: n1-k8s-w1-eth0, namespace: test, labels: {{app: w1}}}}
spec: {{node: n1, orchestrator: k8s, workload: w1, endpoint: eth0, interfaceName: cali1, ipNetworks: [{addr}/32]}}
"
    )
}

/// `[felix] source = "file"`: the file is programmed at start, read again
/// on SIGHUP, and a broken file keeps what runs; Felix's export rule
/// selects the workload route within `export.pools`; a clean stop with
/// `cleanup_on_stop` removes what Felix programmed.
#[test]
fn a_file_source_is_read_at_start_and_again_on_sighup() {
    if skip_unless(&["ip", "nft", "kill"]) {
        return;
    }
    common::init_logging();
    let mut lab = Lab::new("felixf").unwrap();
    let n1 = lab.host("n1").unwrap();
    let w1 = lab.host("w1").unwrap();
    lab.switch("sw", &[(&n1, "10.0.85.11/24")]).unwrap();
    workload(&n1, &w1, "cali1", "10.85.1.2/32");
    let workloads = lab
        .write_file("workloads.yaml", &file_wep("10.85.1.2"))
        .unwrap();
    // The node name for the CNI plugin goes where the file says (by
    // default /var/lib/calico/nodename, which a test must not touch).
    let nodename = lab.dir().join("calico/nodename");
    let toml = format!(
        "[node]\nname = \"n1\"\nasn = 64512\nipv4 = \"10.0.85.11\"\nnodename_file = \"{}\"\n\n\
[[reflector]]\naddress = \"10.0.85.1\"\n[[reflector]]\naddress = \"10.0.85.2\"\n\n\
[export]\npools = [\"10.85.0.0/16\"]\n\n\
[felix]\nfile = \"{}\"\nreconcile_interval = 2\ncleanup_on_stop = true\n",
        nodename.display(),
        workloads.display()
    );
    let file = lab.write_file("n1.toml", &toml).unwrap();
    let pid = lab
        .spawn(&n1, "n1", &[BIN, "run", "--config", file.to_str().unwrap()])
        .unwrap();
    let rt = runtime_in(&n1);
    let get = |path: &str| -> Option<Vec<u8>> {
        let addr: SocketAddr = API.parse().unwrap();
        let path = path.to_string();
        run_in(
            &rt,
            async move { http::request(addr, "GET", &path).await.ok() },
        )
    };
    let felix = || -> Option<FelixStatus> { serde_json::from_slice(&get("/api/v1/felix")?).ok() };
    let advertised = |prefix: &str| -> Option<bool> {
        let routes: Vec<bgp_client::api::types::KernelRoute> =
            serde_json::from_slice(&get(&format!("/api/v1/kernel?all=true&prefix={prefix}"))?)
                .ok()?;
        Some(routes.first()?.advertised)
    };
    let wait = |what: &str, check: &dyn Fn() -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if check() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out waiting for {what}\n{}", lab.log("n1"));
    };
    wait("the file's endpoint programmed and advertised", &|| {
        ip_routes(&n1, &["proto", "80"])
            .iter()
            .any(|r| r.contains("10.85.1.2 dev cali1"))
            && advertised("10.85.1.2/32") == Some(true)
    });
    assert_eq!(
        std::fs::read_to_string(&nodename).ok().as_deref(),
        Some("n1"),
        "the node name written for the CNI plugin"
    );
    let status = felix().unwrap();
    assert_eq!(status.source, "file");
    assert_eq!(status.programmed, ["cali1"]);
    assert_eq!(status.datastore, None);

    // A new address in the file, then SIGHUP: the route moves.
    std::fs::write(&workloads, file_wep("10.85.1.3")).unwrap();
    run(&["kill", "-HUP", &pid.to_string()]).unwrap();
    wait("the new address routed, the old one gone", &|| {
        let routes = ip_routes(&n1, &["proto", "80"]);
        routes.iter().any(|r| r.contains("10.85.1.3 dev cali1"))
            && !routes.iter().any(|r| r.contains("10.85.1.2 "))
    });
    // A broken file: counted, and the dataplane stays.
    let errors = felix().unwrap().sync_errors;
    std::fs::write(&workloads, "kind: [this is not a resource\n").unwrap();
    run(&["kill", "-HUP", &pid.to_string()]).unwrap();
    wait("the broken file counted", &|| {
        felix().is_some_and(|f| f.sync_errors > errors && f.last_error.is_some())
    });
    assert!(
        ip_routes(&n1, &["proto", "80"])
            .iter()
            .any(|r| r.contains("10.85.1.3 dev cali1"))
    );
    assert_eq!(felix().unwrap().endpoints_programmed, 1);

    // A clean stop with cleanup_on_stop: routes, table and settings go.
    assert_eq!(sysctl(&n1, "net/ipv4/conf/cali1/proxy_arp"), "1");
    run(&["kill", "-TERM", &pid.to_string()]).unwrap();
    wait("bgp-client to exit", &|| {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
    });
    assert!(
        ip_routes(&n1, &["proto", "80"]).is_empty(),
        "{}",
        lab.log("n1")
    );
    assert!(n1.run(&["nft", "list", "table", "inet", "reflex"]).is_err());
    assert_eq!(sysctl(&n1, "net/ipv4/conf/cali1/proxy_arp"), "0");
}
