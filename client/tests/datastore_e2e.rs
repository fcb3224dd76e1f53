//! The client in datastore mode against a real etcd, in network
//! namespaces: two `bgp-client run` processes (n1 with a client.toml that
//! has a `[datastore]` section, n2 from the command line alone) and two
//! in-process reflectors (bgp-speaker as RFC 4456 reflectors with both
//! nodes as passive clients) on one switch, with etcd in a host of its own.
//! Everything the clients do comes from the resources in etcd: their
//! Node resources are written (and written again when deleted), a
//! reflector Node selected by a BGPPeer and a BGPPeer naming a reflector
//! by address each become a session and go away with their resource, a
//! reload of the file keeps the datastore's reflectors, a route in a new
//! IPPool is advertised and installed on the other node and withdrawn
//! when the pool is disabled, and an etcd outage keeps the last state and
//! is caught up on return. No process is restarted.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use bgp_client::api::types::{DatastoreState, KernelRoute, Neighbor, SessionState, Status};
use bgp_client::cli::http;
use bgp_proto::iana::AfiSafi;
use bgp_speaker::speaker::{NeighborState, SpeakerHandle};
use common::nodes::{has_route, node_ip, reflector, rr_ip};
use common::{ip_routes, run_in, runtime_in};
use reflex_datastore::cli::parse_documents;
use reflex_datastore::model::{Kind, Resource, ResourceKey};
use reflex_datastore::store::etcd::{EtcdConfig, EtcdStore};
use reflex_datastore::store::{Datastore, Precondition};
use reflex_testlab::{Host, Lab, skip_unless};
use serde::de::DeserializeOwned;
use tokio::runtime::Runtime;

const BIN: &str = env!("CARGO_BIN_EXE_bgp-client");
const API: &str = "127.0.0.1:9180";
const ETCD: &str = "http://10.0.0.100:2379";

struct Setup {
    lab: Lab,
    nodes: Vec<Host>,
    node_rts: Vec<Runtime>,
    etcd_host: Host,
    etcd_rt: Runtime,
    store: EtcdStore,
    rrs: Vec<SpeakerHandle>,
    rr_rts: Vec<Runtime>,
    pids: Vec<u32>,
}

impl Setup {
    /// Logs of both clients and etcd, for a failure message.
    fn logs(&self) -> String {
        ["n1", "n2", "etcd"]
            .iter()
            .map(|l| {
                let log = self.lab.log(l);
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!("--- {l} ---\n{}\n", tail.join("\n"))
            })
            .collect()
    }

    /// Poll `check` every 50 ms until `timeout`; panic with the logs.
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

    /// Write resources, retrying while etcd (re)starts.
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

    fn delete(&self, kind: Kind, name: &str) {
        let store = self.store.clone();
        let key = ResourceKey::global(kind, name);
        run_in(&self.etcd_rt, async move {
            store.delete(&key, Precondition::None).await.unwrap();
        });
    }

    fn node_resource(&self, name: &str) -> Option<serde_json::Value> {
        let store = self.store.clone();
        let key = ResourceKey::global(Kind::Node, name);
        run_in(&self.etcd_rt, async move {
            store.get(&key).await.ok().flatten()
        })
        .map(|r: Resource| r.to_value())
    }

    /// `GET` on node `i`'s API (0: n1, 1: n2).
    fn get<T: DeserializeOwned>(&self, i: usize, path: &str) -> Option<T> {
        let path = path.to_string();
        let addr: SocketAddr = API.parse().unwrap();
        let body = run_in(&self.node_rts[i], async move {
            http::request(addr, "GET", &path).await.ok()
        })?;
        serde_json::from_slice(&body).ok()
    }

    fn status(&self, i: usize) -> Option<Status> {
        self.get(i, "/api/v1/status")
    }

    fn datastore_state(&self, i: usize) -> Option<DatastoreState> {
        self.status(i).and_then(|s| s.datastore).map(|d| d.state)
    }

    fn neighbor(&self, i: usize, address: IpAddr) -> Option<Neighbor> {
        self.get::<Vec<Neighbor>>(i, "/api/v1/neighbors")?
            .into_iter()
            .find(|n| n.address == address)
    }

    fn established(&self, i: usize, address: IpAddr) -> bool {
        self.neighbor(i, address)
            .is_some_and(|n| n.state == SessionState::Established)
    }

    /// Node `i`'s verdict on a kernel route: `None` advertised, or why not.
    fn kernel_reason(&self, i: usize, prefix: &str) -> Option<Option<String>> {
        let routes: Vec<KernelRoute> =
            self.get(i, &format!("/api/v1/kernel?all=true&prefix={prefix}"))?;
        let route = routes.into_iter().next()?;
        Some(if route.advertised { None } else { route.reason })
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

    /// Reflector `rr`'s session with node `i` (0: n1).
    fn rr_state(&self, rr: usize, i: u8) -> Option<NeighborState> {
        let speaker = self.rrs[rr].clone();
        run_in(&self.rr_rts[rr], async move {
            speaker
                .neighbors()
                .await
                .unwrap()
                .into_iter()
                .find(|n| n.address == IpAddr::V4(node_ip(i + 1)))
                .map(|n| n.state)
        })
    }

    fn rr_has(&self, rr: usize, prefix: &str) -> bool {
        let speaker = self.rrs[rr].clone();
        let prefix: ipnetwork::IpNetwork = prefix.parse().unwrap();
        run_in(&self.rr_rts[rr], async move {
            speaker
                .routes(AfiSafi::IPV4_UNICAST, Some(prefix))
                .await
                .unwrap()
                .iter()
                .any(|r| r.paths.iter().any(|(_, from)| from.is_some()))
        })
    }

    /// Both clients are the processes started first.
    fn assert_not_restarted(&self) {
        for pid in &self.pids {
            assert!(
                std::path::Path::new(&format!("/proc/{pid}")).exists(),
                "bgp-client {pid} is gone\n{}",
                self.logs()
            );
        }
    }
}

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
kind: Node
metadata: {name: n1, labels: {rack: a1}}
spec: {bgp: {ipv4Address: 192.0.2.99/24}, orchRefs: [{nodeName: n1, orchestrator: k8s}]}
"#;

fn pool(name: &str, cidr: &str, extra: &str) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: IPPool\nmetadata: {{name: {name}}}\nspec: {{cidr: {cidr}{extra}}}\n"
    )
}

fn setup(with_etcd: bool) -> Setup {
    common::init_logging();
    let mut lab = Lab::new("client-datastore").unwrap();
    let nodes: Vec<Host> = (1..=2)
        .map(|i| lab.host(&format!("n{i}")).unwrap())
        .collect();
    let r1 = lab.host("r1").unwrap();
    let r2 = lab.host("r2").unwrap();
    let etcd_host = lab.host("etcd").unwrap();
    lab.switch(
        "sw",
        &[
            (&nodes[0], "10.0.0.11/24"),
            (&nodes[1], "10.0.0.12/24"),
            (&r1, "10.0.0.1/24"),
            (&r2, "10.0.0.2/24"),
            (&etcd_host, "10.0.0.100/24"),
        ],
    )
    .unwrap();
    for node in &nodes {
        node.run(&[
            "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d0p",
        ])
        .unwrap();
        node.run(&["ip", "link", "set", "d0p", "up"]).unwrap();
        node.run(&["ip", "link", "set", "d0", "up"]).unwrap();
    }

    if with_etcd {
        reflex_testlab::daemons::etcd::start(&mut lab, &etcd_host, ETCD).unwrap();
    }
    let etcd_rt = runtime_in(&etcd_host);
    // Lazy: it connects on the first request.
    let store = run_in(&etcd_rt, async {
        EtcdStore::connect(EtcdConfig::new([ETCD])).await.unwrap()
    });

    let mut rrs = Vec::new();
    let mut rr_rts = Vec::new();
    for (i, host) in [(1u8, &r1), (2, &r2)] {
        let rt = runtime_in(host);
        rrs.push(reflector(&rt, rr_ip(i), vec![node_ip(1), node_ip(2)]));
        rr_rts.push(rt);
    }
    let node_rts = nodes.iter().map(runtime_in).collect();
    Setup {
        lab,
        nodes,
        node_rts,
        etcd_host,
        etcd_rt,
        store,
        rrs,
        rr_rts,
        pids: Vec::new(),
    }
}

/// n1's file: no reflector, no pools, no AS; short timers.
const N1_TOML: &str = "[node]\nname = \"n1\"\nipv4 = \"10.0.0.11\"\n\n\
[bgp]\nhold_time = 9\nconnect_retry = 1\n\n\
[[export.rule]]\ninterfaces = [\"d0\"]\n\n\
[install]\nremove_on_stop = true\n\n\
[datastore]\ntype = \"etcd\"\nendpoints = [\"http://10.0.0.100:2379\"]\nkeepalive = 1\nretry_max = 1\n";

#[test]
fn reflectors_and_pools_come_from_etcd_and_change_live() {
    if skip_unless(&["ip", "etcd"]) {
        return;
    }
    let mut s = setup(true);
    s.apply(CLUSTER);
    let file = s.lab.write_file("n1.toml", N1_TOML).unwrap();
    let n1 = s.nodes[0].clone();
    let n2 = s.nodes[1].clone();
    let pid1 = s
        .lab
        .spawn(&n1, "n1", &[BIN, "run", "--config", file.to_str().unwrap()])
        .unwrap();
    // n2 from the command line alone: its address is found on the route to etcd.
    let pid2 = s
        .lab
        .spawn(
            &n2,
            "n2",
            &[
                BIN,
                "run",
                "--datastore",
                "etcd",
                "--etcd-endpoints",
                ETCD,
                "--node",
                "n2",
            ],
        )
        .unwrap();
    s.pids = vec![pid1, pid2];
    let (r1, r2) = (IpAddr::V4(rr_ip(1)), IpAddr::V4(rr_ip(2)));

    // The Node resources, with the clients' addresses; n1 keeps its label
    // and the fields the client does not own.
    s.wait(
        Duration::from_secs(15),
        "both Node resources registered",
        |s| {
            let a = s.node_resource("n1");
            let b = s.node_resource("n2");
            a.is_some_and(|n| n["spec"]["bgp"]["ipv4Address"] == "10.0.0.11/24")
                && b.is_some_and(|n| n["spec"]["bgp"]["ipv4Address"] == "10.0.0.12/24")
        },
    );
    let n1_node = s.node_resource("n1").unwrap();
    assert_eq!(n1_node["metadata"]["labels"]["rack"], "a1");
    assert_eq!(n1_node["spec"]["orchRefs"][0]["nodeName"], "n1");
    assert!(
        n1_node["spec"]["bgp"].get("asNumber").is_none(),
        "no AS configured, none written"
    );

    // The reflector node selected by the BGPPeer is a session of both.
    s.wait(Duration::from_secs(20), "sessions with r1", |s| {
        s.established(0, r1) && s.established(1, r1)
    });
    let status = s.status(0).unwrap();
    let ds = status.datastore.expect("datastore status");
    assert_eq!(ds.state, DatastoreState::Connected);
    assert_eq!(ds.reflectors, [r1]);
    assert!(ds.node_registered && ds.pools.is_empty());
    assert_eq!(status.asn, 64512);
    assert_eq!(s.metric(0, "reflex_client_datastore_connected"), Some(1.0));
    assert!(s.neighbor(0, r2).is_none(), "r2 is no reflector yet");

    // A kernel route outside every pool is not advertised...
    n1.run(&["ip", "route", "add", "10.66.1.0/24", "dev", "d0"])
        .unwrap();
    s.wait(Duration::from_secs(10), "n1 to read 10.66.1.0/24", |s| {
        s.kernel_reason(0, "10.66.1.0/24") == Some(Some("outside the pools".into()))
    });
    // ... until an IPPool holds it: then n2 installs it via n1.
    s.apply(&pool("p66", "10.66.0.0/16", ""));
    s.wait(Duration::from_secs(10), "10.66.1.0/24 at n2 via n1", |_| {
        has_route(&n2, "10.66.1.0/24", node_ip(1))
    });
    assert_eq!(s.kernel_reason(0, "10.66.1.0/24"), Some(None));
    // A disabled pool withdraws it; enabled again, it is back; a pool
    // that disables BGP export withdraws it too.
    s.apply(&pool("p66", "10.66.0.0/16", ", disabled: true"));
    s.wait(Duration::from_secs(10), "10.66.1.0/24 gone at n2", |_| {
        ip_routes(&n2, &["10.66.1.0/24"]).is_empty()
    });
    assert_eq!(
        s.kernel_reason(0, "10.66.1.0/24"),
        Some(Some("outside the pools".into()))
    );
    s.apply(&pool("p66", "10.66.0.0/16", ", disableBGPExport: true"));
    s.apply(&pool("p66b", "10.66.1.0/24", ""));
    s.wait(Duration::from_secs(10), "10.66.1.0/24 back at n2", |_| {
        has_route(&n2, "10.66.1.0/24", node_ip(1))
    });
    s.delete(Kind::IpPool, "p66b");
    s.wait(
        Duration::from_secs(10),
        "10.66.1.0/24 gone with its pool",
        |_| ip_routes(&n2, &["10.66.1.0/24"]).is_empty(),
    );
    s.apply(&pool("p66", "10.66.0.0/16", ""));
    s.wait(Duration::from_secs(10), "10.66.1.0/24 at n2 again", |_| {
        has_route(&n2, "10.66.1.0/24", node_ip(1))
    });

    // A second reflector node: new sessions, r1's untouched.
    let r1_up = s.neighbor(0, r1).unwrap().uptime_seconds;
    let started = Instant::now();
    s.apply(
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {name: r2, labels: {route-reflector: \"true\"}}\n\
         spec: {bgp: {ipv4Address: 10.0.0.2/24, routeReflectorClusterID: 224.0.0.1}}\n",
    );
    s.wait(Duration::from_secs(15), "sessions with r2", |s| {
        s.established(0, r2) && s.established(1, r2)
    });
    s.wait(Duration::from_secs(10), "r2 to learn n1's route", |s| {
        s.rr_has(1, "10.66.1.0/24")
    });
    let r1_now = s.neighbor(0, r1).unwrap();
    assert_eq!(r1_now.state, SessionState::Established);
    assert!(
        r1_now.uptime_seconds >= r1_up + started.elapsed().as_secs_f64() - 1.0,
        "the session with r1 was not reset ({} then {})",
        r1_up,
        r1_now.uptime_seconds
    );
    s.assert_not_restarted();

    // Removing the reflector's resource tears its sessions down.
    s.delete(Kind::Node, "r2");
    s.wait(Duration::from_secs(10), "the r2 sessions gone", |s| {
        s.neighbor(0, r2).is_none()
            && s.neighbor(1, r2).is_none()
            && s.rr_state(1, 0) != Some(NeighborState::Established)
            && s.rr_state(1, 1) != Some(NeighborState::Established)
    });
    assert!(s.established(0, r1) && s.established(1, r1));
    assert!(has_route(&n2, "10.66.1.0/24", node_ip(1)));

    // A BGPPeer naming r2 by address, for n1 only: a session of n1's.
    s.apply(
        "apiVersion: projectcalico.org/v3\nkind: BGPPeer\nmetadata: {name: n1-r2}\n\
         spec: {node: n1, peerIP: 10.0.0.2, asNumber: 64512}\n",
    );
    s.wait(
        Duration::from_secs(10),
        "n1's session with r2 by BGPPeer",
        |s| s.established(0, r2),
    );
    assert!(s.neighbor(1, r2).is_none(), "the BGPPeer is n1's only");
    s.delete(Kind::BgpPeer, "n1-r2");
    s.wait(Duration::from_secs(10), "n1's session with r2 gone", |s| {
        s.neighbor(0, r2).is_none() && s.rr_state(1, 0) != Some(NeighborState::Established)
    });

    // n1's Node deleted: written again, the sessions untouched.
    let up = s.neighbor(0, r1).unwrap().uptime_seconds;
    let deleted = Instant::now();
    s.delete(Kind::Node, "n1");
    s.wait(Duration::from_secs(10), "n1's Node written again", |s| {
        s.node_resource("n1")
            .is_some_and(|n| n["spec"]["bgp"]["ipv4Address"] == "10.0.0.11/24")
    });
    let r1_now = s.neighbor(0, r1).unwrap();
    assert!(
        r1_now.state == SessionState::Established
            && r1_now.uptime_seconds >= up + deleted.elapsed().as_secs_f64() - 0.5,
        "the session with r1 stays: {up} then {r1_now:?}"
    );
    assert_eq!(s.status(0).unwrap().datastore.unwrap().reflectors, [r1]);

    // A reload of n1's file keeps what the datastore gives: a reflector
    // the file now names is added to r1, which stays untouched.
    let text = N1_TOML.replace(
        "[install]",
        "[[reflector]]\naddress = \"10.0.0.2\"\n\n[install]",
    );
    s.lab.write_file("n1.toml", &text).unwrap();
    let addr: SocketAddr = API.parse().unwrap();
    let reload = run_in(&s.node_rts[0], async move {
        http::request(addr, "POST", "/api/v1/reload").await
    });
    let reload: bgp_client::api::types::ReloadResult =
        serde_json::from_slice(&reload.expect("reload accepted")).unwrap();
    assert_eq!(reload.added, [r2]);
    assert_eq!(reload.unchanged, 1);
    assert!(
        reload.removed.is_empty() && reload.restart_required.is_empty(),
        "{reload:?}"
    );
    s.wait(
        Duration::from_secs(10),
        "n1's session with r2 from its file",
        |s| s.established(0, r2),
    );
    assert!(s.established(0, r1));

    // n1 loses etcd (its packets are refused at etcd's host): it keeps
    // its sessions, routes and pools, and says so.
    n1.run(&["ip", "route", "add", "10.67.1.0/24", "dev", "d0"])
        .unwrap();
    s.etcd_host
        .run(&["ip", "route", "add", "prohibit", "10.0.0.11/32"])
        .unwrap();
    s.wait(Duration::from_secs(15), "n1 to see etcd unreachable", |s| {
        s.datastore_state(0) == Some(DatastoreState::Disconnected)
    });
    assert_eq!(s.metric(0, "reflex_client_datastore_connected"), Some(0.0));
    let ds = s.status(0).unwrap().datastore.unwrap();
    assert!(ds.disconnects >= 1 && ds.last_error.is_some(), "{ds:?}");
    assert_eq!(ds.reflectors, [r1], "the last known reflectors");
    // A pool written meanwhile reaches n2 only.
    s.apply(&pool("p67", "10.67.0.0/16", ""));
    s.wait(Duration::from_secs(10), "n2 to have two pools", |s| {
        s.status(1)
            .and_then(|st| st.datastore)
            .is_some_and(|d| d.pools.len() == 2)
    });
    assert_eq!(
        s.kernel_reason(0, "10.67.1.0/24"),
        Some(Some("outside the pools".into())),
        "n1 cannot know the new pool"
    );
    assert!(s.established(0, r1), "BGP does not depend on etcd");
    assert!(
        has_route(&n2, "10.66.1.0/24", node_ip(1)),
        "the last state is kept"
    );

    // etcd is back: n1 resynchronises and applies what it missed.
    s.etcd_host
        .run(&["ip", "route", "del", "prohibit", "10.0.0.11/32"])
        .unwrap();
    s.wait(Duration::from_secs(15), "n1 in sync again", |s| {
        s.datastore_state(0) == Some(DatastoreState::Connected)
    });
    s.wait(Duration::from_secs(10), "10.67.1.0/24 at n2 via n1", |_| {
        has_route(&n2, "10.67.1.0/24", node_ip(1))
    });
    assert_eq!(s.metric(0, "reflex_client_datastore_connected"), Some(1.0));
    assert!(
        s.metric(0, "reflex_client_datastore_disconnects_total")
            .unwrap()
            >= 1.0
    );
    assert!(s.lab.log("n1").contains("datastore unreachable"));
    assert!(s.lab.log("n1").contains("resynchronised"));
    s.assert_not_restarted();
}

#[test]
fn a_client_started_before_etcd_catches_up_and_rides_out_an_etcd_restart() {
    if skip_unless(&["ip", "etcd"]) {
        return;
    }
    let mut s = setup(false);
    let text = N1_TOML.replace("retry_max = 1\n", "retry_max = 1\nstart_wait = 1\n");
    let file = s.lab.write_file("n1.toml", &text).unwrap();
    let n1 = s.nodes[0].clone();
    n1.run(&["ip", "route", "add", "10.66.1.0/24", "dev", "d0"])
        .unwrap();
    let pid = s
        .lab
        .spawn(&n1, "n1", &[BIN, "run", "--config", file.to_str().unwrap()])
        .unwrap();
    s.pids = vec![pid];
    let r1 = IpAddr::V4(rr_ip(1));

    // No etcd: the agent runs anyway, with nothing from the datastore.
    s.wait(Duration::from_secs(15), "n1's API without etcd", |s| {
        s.status(0).is_some_and(|st| {
            st.datastore
                .is_some_and(|d| d.state != DatastoreState::Connected)
                && st.reflectors.get("total") == Some(&0)
        })
    });
    assert_eq!(s.metric(0, "reflex_client_datastore_connected"), Some(0.0));
    assert_eq!(
        s.metric(0, "reflex_client_datastore_node_registered"),
        Some(0.0)
    );

    // etcd comes: n1 registers, peers with r1 and advertises its route.
    reflex_testlab::daemons::etcd::start(&mut s.lab, &s.etcd_host.clone(), ETCD).unwrap();
    s.apply(CLUSTER);
    s.apply(&pool("p66", "10.66.0.0/16", ""));
    s.wait(
        Duration::from_secs(15),
        "n1 in sync with r1 as reflector",
        |s| s.datastore_state(0) == Some(DatastoreState::Connected) && s.established(0, r1),
    );
    s.wait(Duration::from_secs(10), "r1 to learn 10.66.1.0/24", |s| {
        s.rr_has(0, "10.66.1.0/24")
    });
    assert!(
        s.node_resource("n1")
            .is_some_and(|n| n["spec"]["bgp"]["ipv4Address"] == "10.0.0.11/24")
    );

    // etcd dies: the last known state stays in force.
    s.lab.kill("etcd");
    s.wait(Duration::from_secs(15), "n1 to see etcd gone", |s| {
        s.datastore_state(0) == Some(DatastoreState::Disconnected)
    });
    assert!(s.established(0, r1));
    assert!(s.rr_has(0, "10.66.1.0/24"), "still advertised");
    assert_eq!(
        s.status(0).unwrap().datastore.unwrap().pools,
        ["10.66.0.0/16".parse::<ipnetwork::IpNetwork>().unwrap()]
    );

    // etcd is back (same data): in sync again, and later changes apply.
    reflex_testlab::daemons::etcd::start(&mut s.lab, &s.etcd_host.clone(), ETCD).unwrap();
    s.wait(
        Duration::from_secs(15),
        "n1 in sync after the restart",
        |s| s.datastore_state(0) == Some(DatastoreState::Connected),
    );
    s.apply(&pool("p66", "10.66.0.0/16", ", disabled: true"));
    s.wait(Duration::from_secs(10), "r1 to lose 10.66.1.0/24", |s| {
        !s.rr_has(0, "10.66.1.0/24")
    });
    assert!(s.established(0, r1));
    s.assert_not_restarted();
}
