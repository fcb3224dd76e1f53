//! Routing by IPAM block (issue 6) with a real etcd, in network
//! namespaces: two `bgp-client run` processes in datastore mode with
//! `[export] blocks = true` (nodes n1 and n2), one in-process reflector
//! (bgp-speaker, RFC 4456, both nodes its passive clients), etcd in a host
//! of its own. Workload routes on n1 are what Felix writes: /32s with
//! protocol 80 on `cali*` veths. Block affinity keys written to etcd (as
//! Calico IPAM writes them) make:
//! - a blackhole with protocol 196 for the block on its node, and a route
//!   to the block via that node on the other one;
//! - a workload route inside the block no longer advertised by itself;
//! - a workload address borrowed from the other node's block still
//!   advertised as a /32 (and installed next to that node's blackhole);
//! - a pending affinity nothing;
//!
//! and deleting the key gives the host routes back, all without restarts.

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use bgp_speaker::speaker::{NeighborState, SpeakerHandle};
use common::nodes::{has_route, holds_for, node_ip, reflector, rr_ip};
use common::{ip_routes, run_in, runtime_in};
use reflex_datastore::cli::parse_documents;
use reflex_datastore::store::etcd::{EtcdConfig, EtcdStore};
use reflex_datastore::store::{Datastore, Precondition};
use reflex_testlab::{Host, Lab, skip_unless};
use tokio::runtime::Runtime;

const BIN: &str = env!("CARGO_BIN_EXE_bgp-client");
const ETCD: &str = "http://10.0.0.100:2379";

const CLUSTER: &str = r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: r1, labels: {route-reflector: "true"}}
spec: {bgp: {ipv4Address: 10.0.0.1/24, routeReflectorClusterID: 224.0.0.1}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: to-reflectors}
spec: {nodeSelector: "!has(route-reflector)", peerSelector: has(route-reflector)}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pods}
spec: {cidr: 10.65.0.0/16, blockSize: 26}
"#;

fn client_toml(node: &str, ipv4: &str) -> String {
    format!(
        "[node]\nname = \"{node}\"\nipv4 = \"{ipv4}\"\n\n\
         [bgp]\nhold_time = 9\nconnect_retry = 1\n\n\
         [export]\nblocks = true\n\n\
         [install]\nremove_on_stop = true\n\n\
         [datastore]\ntype = \"etcd\"\nendpoints = [\"{ETCD}\"]\nkeepalive = 1\nretry_max = 1\n"
    )
}

fn affinity_key(node: &str, block: &str) -> String {
    format!(
        "/calico/ipam/v2/host/{node}/ipv4/block/{}",
        block.replace('/', "-")
    )
}

struct Setup {
    // Runtimes first: their threads leave the namespaces before the lab
    // deletes them.
    etcd_rt: Runtime,
    rr_rt: Runtime,
    rr: SpeakerHandle,
    store: EtcdStore,
    nodes: Vec<Host>,
    lab: Lab,
}

impl Setup {
    fn logs(&self) -> String {
        ["n1", "n2", "etcd"]
            .iter()
            .map(|l| {
                let log = self.lab.log(l);
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
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
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "timed out after {timeout:?} waiting for {what}\n{}",
            self.logs()
        );
    }

    fn put_raw(&self, key: String, value: &'static str) {
        let store = self.store.clone();
        run_in(&self.etcd_rt, async move {
            store.put_raw(&key, value.as_bytes(), None).await.unwrap();
        });
    }

    fn delete_raw(&self, key: String) {
        let store = self.store.clone();
        run_in(&self.etcd_rt, async move {
            assert!(store.delete_raw(&key).await.unwrap(), "{key} was there");
        });
    }

    fn established(&self, i: u8) -> bool {
        let rr = self.rr.clone();
        run_in(&self.rr_rt, async move {
            rr.neighbors().await.unwrap().iter().any(|n| {
                n.address == IpAddr::V4(node_ip(i)) && n.state == NeighborState::Established
            })
        })
    }
}

/// Our blackhole for `block` in `host`'s main table.
fn blackhole(host: &Host, block: &str) -> bool {
    ip_routes(host, &[block, "proto", "196"])
        .iter()
        .any(|l| l.starts_with(&format!("blackhole {block}")))
}

/// Any route of ours (protocol 186) for `prefix` in `host`.
fn learned(host: &Host, prefix: &str) -> bool {
    !ip_routes(host, &[prefix, "proto", "186"]).is_empty()
}

fn setup() -> Setup {
    common::init_logging();
    let mut lab = Lab::new("client-blocks").unwrap();
    let nodes: Vec<Host> = (1..=2)
        .map(|i| lab.host(&format!("n{i}")).unwrap())
        .collect();
    let r1 = lab.host("r1").unwrap();
    let etcd_host = lab.host("etcd").unwrap();
    lab.switch(
        "sw",
        &[
            (&nodes[0], "10.0.0.11/24"),
            (&nodes[1], "10.0.0.12/24"),
            (&r1, "10.0.0.1/24"),
            (&etcd_host, "10.0.0.100/24"),
        ],
    )
    .unwrap();
    // Workload veths on n1, both ends inside (the pod side needs no
    // namespace for routing decisions on the node).
    for cali in ["cali1", "cali2"] {
        let peer = format!("{cali}p");
        let n1 = &nodes[0];
        n1.run(&[
            "ip", "link", "add", cali, "type", "veth", "peer", "name", &peer,
        ])
        .unwrap();
        n1.run(&["ip", "link", "set", &peer, "up"]).unwrap();
        n1.run(&["ip", "link", "set", cali, "up"]).unwrap();
    }
    reflex_testlab::daemons::etcd::start(&mut lab, &etcd_host, ETCD).unwrap();
    let etcd_rt = runtime_in(&etcd_host);
    let store = run_in(&etcd_rt, async {
        EtcdStore::connect(EtcdConfig::new([ETCD])).await.unwrap()
    });
    let resources = parse_documents(CLUSTER).unwrap();
    let writer = store.clone();
    run_in(&etcd_rt, async move {
        for r in resources {
            writer.put(&r, Precondition::None).await.unwrap();
        }
    });
    let rr_rt = runtime_in(&r1);
    let rr = reflector(&rr_rt, rr_ip(1), vec![node_ip(1), node_ip(2)]);
    Setup {
        etcd_rt,
        rr_rt,
        rr,
        store,
        nodes,
        lab,
    }
}

/// A Felix workload route: a /32 with protocol 80, scope link, on a veth.
fn workload_route(host: &Host, address: &str, dev: &str) {
    host.run(&[
        "ip", "route", "add", address, "dev", dev, "proto", "80", "scope", "link",
    ])
    .unwrap();
}

#[test]
fn affine_blocks_replace_their_host_routes_and_borrowed_addresses_keep_theirs() {
    if skip_unless(&["ip", "etcd"]) {
        return;
    }
    let mut s = setup();
    let (n1, n2) = (s.nodes[0].clone(), s.nodes[1].clone());
    for (i, node) in [(1u8, &n1), (2, &n2)] {
        let name = format!("n{i}");
        let file = s
            .lab
            .write_file(
                &format!("{name}.toml"),
                &client_toml(&name, &node_ip(i).to_string()),
            )
            .unwrap();
        s.lab
            .spawn(
                node,
                &name,
                &[BIN, "run", "--config", file.to_str().unwrap()],
            )
            .unwrap();
    }
    s.wait(Duration::from_secs(30), "both sessions with r1", |s| {
        s.established(1) && s.established(2)
    });

    // No affinities yet: each workload address is a /32 of its own.
    workload_route(&n1, "10.65.4.5", "cali1");
    workload_route(&n1, "10.65.9.7", "cali2");
    s.wait(Duration::from_secs(10), "both /32s at n2 via n1", |_| {
        has_route(&n2, "10.65.4.5", node_ip(1)) && has_route(&n2, "10.65.9.7", node_ip(1))
    });

    // n1 claims 10.65.4.0/26; n2 claims 10.65.9.0/26, from which n1's
    // workload 10.65.9.7 borrowed its address; a pending claim of n1's
    // is not in force yet.
    s.put_raw(
        affinity_key("n1", "10.65.4.0/26"),
        r#"{"state":"confirmed"}"#,
    );
    s.put_raw(
        affinity_key("n2", "10.65.9.0/26"),
        r#"{"state":"confirmed"}"#,
    );
    s.put_raw(affinity_key("n1", "10.65.5.0/26"), r#"{"state":"pending"}"#);
    s.wait(Duration::from_secs(10), "blackholes on both nodes", |_| {
        blackhole(&n1, "10.65.4.0/26") && blackhole(&n2, "10.65.9.0/26")
    });
    s.wait(Duration::from_secs(10), "each block via its node", |_| {
        has_route(&n2, "10.65.4.0/26", node_ip(1)) && has_route(&n1, "10.65.9.0/26", node_ip(2))
    });
    s.wait(
        Duration::from_secs(10),
        "10.65.4.5/32 withdrawn: the block covers it",
        |_| !learned(&n2, "10.65.4.5"),
    );
    // A workload started inside the block now is not advertised either.
    workload_route(&n1, "10.65.4.6", "cali1");
    holds_for(
        Duration::from_secs(3),
        "host routes inside n1's block stay unadvertised; the borrowed one stays",
        || {
            !learned(&n2, "10.65.4.5")
                && !learned(&n2, "10.65.4.6")
                && has_route(&n2, "10.65.9.7", node_ip(1))
                && has_route(&n2, "10.65.4.0/26", node_ip(1))
                && !blackhole(&n1, "10.65.5.0/26")
                && !learned(&n2, "10.65.5.0/26")
        },
    );
    // On n2 the borrowed /32 via n1 sits next to n2's own blackhole for
    // its block: longest match sends 10.65.9.7 to n1.
    let lookup = n2.run(&["ip", "route", "get", "10.65.9.7"]).unwrap();
    assert!(
        lookup.contains(&format!("via {}", node_ip(1))),
        "10.65.9.7 from n2: {lookup}"
    );
    let lookup = n2
        .run(&["ip", "route", "get", "10.65.9.8"])
        .unwrap_or_default();
    assert!(
        !lookup.contains("via"),
        "another address of n2's block is n2's own blackhole: {lookup}"
    );
    // The blackhole is nobody else's: flushing the installer's protocol
    // (186) on n1 leaves it.
    n1.run(&["ip", "route", "flush", "proto", "186"]).unwrap();
    assert!(blackhole(&n1, "10.65.4.0/26"));

    // n1 releases its block: blackhole and block route go, both host
    // routes inside it are advertised again.
    s.delete_raw(affinity_key("n1", "10.65.4.0/26"));
    s.wait(Duration::from_secs(10), "n1's blackhole removed", |_| {
        !blackhole(&n1, "10.65.4.0/26")
    });
    s.wait(
        Duration::from_secs(10),
        "the block withdrawn and its host routes back at n2",
        |_| {
            !learned(&n2, "10.65.4.0/26")
                && has_route(&n2, "10.65.4.5", node_ip(1))
                && has_route(&n2, "10.65.4.6", node_ip(1))
        },
    );
    assert!(blackhole(&n2, "10.65.9.0/26"), "n2's block is untouched");
    assert!(has_route(&n2, "10.65.9.7", node_ip(1)));
    s.lab.kill("n1");
    s.lab.kill("n2");
}
