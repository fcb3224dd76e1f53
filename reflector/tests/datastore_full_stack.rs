//! The whole stack in datastore mode, with the real binaries, in network
//! namespaces: etcd in a host of its own, one `bgp-reflector run` (Node
//! `rr1`, a route-reflector cluster ID) and `bgp-client run` processes on
//! nodes n1, n2 and later n3, every one of them started with nothing but
//! `--datastore etcd --etcd-endpoints URL --node NAME`: no configuration
//! file. Everything they do comes from the Calico resources in etcd (the
//! Nodes, a `default` BGPConfiguration with the mesh off, a BGPPeer that
//! makes every non-reflector node a client of the reflector nodes, an
//! IPPool), and no process is ever restarted:
//!
//! - n1 and n2 register their Nodes, the reflector makes each a
//!   route-reflector client session, and a route n1 adds to its kernel in
//!   the pool reaches n2's kernel (protocol 186, via n1) through the
//!   reflector, which holds it from n1 with n1 as next hop;
//! - a new Node resource (n3) is configured on the reflector within a
//!   second of its write; the n3 process then comes up, gets n1's route
//!   and its own route reaches n1; n1's and n2's sessions are untouched;
//! - deleting n3's Node while its agent runs is undone by the agent at
//!   once (it writes its Node back), and n3's
//!   session is up again on the reflector, n1's and n2's untouched;
//! - n3 decommissioned (its agent frozen with SIGSTOP, not stopped, so its
//!   TCP session stays open and Established and nothing writes its Node
//!   back): deleting its Node tears the Established session down on the
//!   reflector within a second and withdraws n3's route from n1's and
//!   n2's kernels, while n1's and n2's sessions are untouched (their
//!   uptimes keep growing) and no process has been restarted.
//!
//! Addresses: the switch is 10.0.83.0/24 (reflector .1, n<i> .1<i>, etcd
//! .100), the pool 10.83.0.0/16, node n<i>'s route 10.83.<i>.0/24.
//!
//! The `bgp-client` binary is the one next to `bgp-reflector` in cargo's
//! target directory (`cargo test --workspace` builds it for the client's
//! own tests); when it is missing, the test builds it with
//! `cargo build -p bgp-client` first. (`cargo test -p bgp-reflector` alone
//! does not rebuild an existing one: run `cargo build -p bgp-client` or the
//! workspace's tests after changing the client.)

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bgp_reflector::api::types::{Neighbor, Route, SessionState, Summary};
use bgp_reflector::client;
use reflex_datastore::cli::parse_documents;
use reflex_datastore::model::{Kind, Resource, ResourceKey};
use reflex_datastore::store::etcd::{EtcdConfig, EtcdStore};
use reflex_datastore::store::{Datastore, Precondition};
use reflex_testlab::{Host, Lab, skip_unless};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::runtime::Runtime;

const REFLECTOR_BIN: &str = env!("CARGO_BIN_EXE_bgp-reflector");
const ETCD: &str = "http://10.0.83.100:2379";
/// The reflector's and the clients' APIs: their defaults, on the
/// loopback of each host.
const RR_API: &str = "127.0.0.1:8179";
const CLIENT_API: &str = "127.0.0.1:9180";
const CLUSTER_ID: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 83);
const ASN: u32 = 64512;

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 83, last)
}

/// Node n<i>'s address.
fn node_ip(i: u8) -> Ipv4Addr {
    ip(10 + i)
}

/// The route node n<i> adds to its kernel.
fn route_of(i: u8) -> String {
    format!("10.83.{i}.0/24")
}

const RESOURCES: &str = r#"
apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: rr1, labels: {route-reflector: "true"}}
spec: {bgp: {ipv4Address: 10.0.83.1/24, routeReflectorClusterID: 224.0.0.83}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: peer-with-route-reflectors}
spec: {nodeSelector: "!has(route-reflector)", peerSelector: has(route-reflector)}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: pool-83}
spec: {cidr: 10.83.0.0/16, ipipMode: Never, vxlanMode: Never, natOutgoing: true}
"#;

/// A multi-thread runtime whose workers live in `host`'s namespace.
fn runtime_in(host: &Host) -> Runtime {
    host.enter(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime")
    })
    .expect("enter the namespace")
}

/// Run `future` on `runtime`'s workers (inside its namespace) and wait.
fn run_in<T: Send + 'static>(
    runtime: &Runtime,
    future: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    runtime
        .block_on(runtime.spawn(future))
        .expect("the task completes")
}

/// The start time of process `pid` (field 22 of `/proc/PID/stat`), so
/// that a restarted process (even one given the same pid) is noticed.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count after its ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (the state), so field 22 is fields[19].
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19).map(|s| s.to_string())
}

struct Stack {
    // Runtimes first: their threads leave before the lab deletes the
    // namespaces.
    rr_rt: Runtime,
    node_rts: Vec<Runtime>,
    etcd_rt: Runtime,
    store: EtcdStore,
    rr: Host,
    nodes: Vec<Host>,
    client_bin: PathBuf,
    /// Label, pid and start time of every process started.
    procs: Vec<(String, u32, String)>,
    /// The lab, dropped last: it stops the processes and deletes the
    /// namespaces, also when the test panics.
    lab: Lab,
}

impl Stack {
    fn new() -> Stack {
        let client_bin =
            reflex_testlab::workspace_binary(REFLECTOR_BIN, "bgp-client", "bgp-client");
        let mut lab = Lab::new("rr-full-stack").expect("lab");
        let rr = lab.host("rr1").unwrap();
        let nodes: Vec<Host> = (1..=3u8)
            .map(|i| lab.host(&format!("n{i}")).unwrap())
            .collect();
        let etcd = lab.host("etcd").unwrap();
        let addrs: Vec<String> = [1u8, 11, 12, 13, 100]
            .iter()
            .map(|last| format!("{}/24", ip(*last)))
            .collect();
        let hosts = [&rr, &nodes[0], &nodes[1], &nodes[2], &etcd];
        let ports: Vec<(&Host, &str)> = hosts
            .iter()
            .zip(&addrs)
            .map(|(h, a)| (*h, a.as_str()))
            .collect();
        lab.switch("sw", &ports).unwrap();
        // A "d0" on every node (a veth pair with both ends inside) to hang
        // the nodes' routes on.
        for node in &nodes {
            for args in [
                &[
                    "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d0p",
                ][..],
                &["ip", "link", "set", "d0p", "up"],
                &["ip", "link", "set", "d0", "up"],
            ] {
                node.run(args).unwrap();
            }
        }
        let etcd_rt = runtime_in(&etcd);
        // Lazy: it connects on the first request.
        let store = run_in(&etcd_rt, async {
            EtcdStore::connect(EtcdConfig::new([ETCD])).await.unwrap()
        });
        let mut stack = Stack {
            rr_rt: runtime_in(&rr),
            node_rts: nodes.iter().map(runtime_in).collect(),
            etcd_rt,
            store,
            rr,
            nodes,
            client_bin,
            procs: Vec::new(),
            lab,
        };
        stack.spawn_etcd(&etcd);
        stack
    }

    /// etcd in its own host; returns once it serves clients.
    fn spawn_etcd(&mut self, host: &Host) {
        let pid = reflex_testlab::daemons::etcd::start(&mut self.lab, host, ETCD).unwrap();
        let started = start_time(pid).unwrap_or_default();
        self.procs.push(("etcd".to_string(), pid, started));
    }

    fn spawn(&mut self, host: &Host, label: &str, args: &[&str]) -> u32 {
        let pid = self.lab.spawn(host, label, args).unwrap();
        let started = start_time(pid).unwrap_or_default();
        self.procs.push((label.to_string(), pid, started));
        pid
    }

    /// `bgp-client run` on node n<i>, from the datastore alone.
    fn spawn_client(&mut self, i: u8) -> u32 {
        let host = self.nodes[usize::from(i - 1)].clone();
        let bin = self.client_bin.to_str().unwrap().to_string();
        let node = format!("n{i}");
        self.spawn(
            &host,
            &node,
            &[
                &bin,
                "run",
                "--datastore",
                "etcd",
                "--etcd-endpoints",
                ETCD,
                "--node",
                &node,
            ],
        )
    }

    /// The tails of every process's log, for a failure message.
    fn logs(&self) -> String {
        let mut out = String::new();
        for (label, _, _) in &self.procs {
            let log = self.lab.log(label);
            let lines: Vec<&str> = log.lines().collect();
            let tail = &lines[lines.len().saturating_sub(40)..];
            out.push_str(&format!("--- {label} ---\n{}\n", tail.join("\n")));
        }
        out
    }

    /// Poll `check` every 20 ms until `timeout`; panic with the logs.
    /// Returns how long it took.
    fn wait(
        &self,
        timeout: Duration,
        what: &str,
        mut check: impl FnMut(&Stack) -> bool,
    ) -> Duration {
        let start = Instant::now();
        loop {
            if check(self) {
                let took = start.elapsed();
                eprintln!("[{took:>9.2?}] {what}");
                return took;
            }
            if start.elapsed() >= timeout {
                panic!(
                    "timed out after {timeout:?} waiting for {what}\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every process started is still the one started (none restarted),
    /// except those in `gone`.
    fn assert_not_restarted(&self, gone: &[&str]) {
        for (label, pid, started) in &self.procs {
            if gone.contains(&label.as_str()) {
                continue;
            }
            assert_eq!(
                start_time(*pid).as_ref(),
                Some(started),
                "{label} (pid {pid}) is no longer the process started\n{}",
                self.logs()
            );
        }
    }

    fn apply(&self, yaml: &str) {
        let store = self.store.clone();
        let resources = parse_documents(yaml).unwrap();
        run_in(&self.etcd_rt, async move {
            for r in resources {
                store.put(&r, Precondition::None).await.unwrap();
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

    fn node_resource(&self, name: &str) -> Option<Value> {
        let store = self.store.clone();
        let key = ResourceKey::global(Kind::Node, name);
        run_in(&self.etcd_rt, async move {
            store.get(&key).await.ok().flatten()
        })
        .map(|r: Resource| r.to_value())
    }

    /// `GET path` on the reflector's API.
    fn rr_get<T: DeserializeOwned + Send + 'static>(&self, path: &str) -> Option<T> {
        let path = path.to_string();
        let api: SocketAddr = RR_API.parse().unwrap();
        run_in(
            &self.rr_rt,
            async move { client::get(api, &path).await.ok() },
        )
    }

    fn rr_summary(&self) -> Option<Summary> {
        self.rr_get("/api/v1/summary")
    }

    fn rr_neighbors(&self) -> Vec<Neighbor> {
        self.rr_get("/api/v1/neighbors").unwrap_or_default()
    }

    fn rr_neighbor(&self, i: u8) -> Option<Neighbor> {
        let address = IpAddr::V4(node_ip(i));
        self.rr_neighbors()
            .into_iter()
            .find(|n| n.address == address)
    }

    fn rr_established(&self, i: u8) -> bool {
        self.rr_neighbor(i)
            .is_some_and(|n| n.state == SessionState::Established)
    }

    fn rr_uptime(&self, i: u8) -> f64 {
        let n = self.rr_neighbor(i).expect("the neighbour is configured");
        assert_eq!(n.state, SessionState::Established, "{n:?}\n{}", self.logs());
        n.uptime_seconds
    }

    /// The reflector's paths of `prefix` from node n<i>.
    fn rr_paths_from(&self, prefix: &str, i: u8) -> Vec<bgp_reflector::api::types::RoutePath> {
        let routes: Vec<Route> = self
            .rr_get(&format!("/api/v1/routes?prefix={prefix}"))
            .unwrap_or_default();
        routes
            .into_iter()
            .flat_map(|r| r.paths)
            .filter(|p| p.from == Some(IpAddr::V4(node_ip(i))))
            .collect()
    }

    /// Node n<i>'s reflector sessions, from its API (JSON).
    fn client_neighbors(&self, i: u8) -> Vec<Value> {
        let api: SocketAddr = CLIENT_API.parse().unwrap();
        let body = run_in(&self.node_rts[usize::from(i - 1)], async move {
            client::request(api, "GET", "/api/v1/neighbors").await.ok()
        });
        body.and_then(|r| serde_json::from_slice(&r.body).ok())
            .unwrap_or_default()
    }

    fn client_established(&self, i: u8) -> bool {
        self.client_neighbors(i)
            .iter()
            .any(|n| n["address"] == ip(1).to_string() && n["state"] == "established")
    }

    /// Node n<i>'s kernel has `prefix` with protocol 186 via node n<via>.
    fn kernel_has(&self, i: u8, prefix: &str, via: u8) -> bool {
        self.kernel_routes(i, prefix)
            .iter()
            .any(|l| l.contains(&format!("via {} ", node_ip(via))))
    }

    /// `ip route show PREFIX proto 186` on node n<i>.
    fn kernel_routes(&self, i: u8, prefix: &str) -> Vec<String> {
        self.nodes[usize::from(i - 1)]
            .run(&["ip", "route", "show", prefix, "proto", "186"])
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn add_route(&self, i: u8) {
        self.nodes[usize::from(i - 1)]
            .run(&["ip", "route", "add", &route_of(i), "dev", "d0"])
            .unwrap();
    }

    /// `uptime_now >= before + elapsed - slack`: the session was not reset.
    fn assert_untouched(&self, i: u8, before: f64, since: Instant) {
        let now = self.rr_uptime(i);
        let elapsed = since.elapsed().as_secs_f64();
        assert!(
            now >= before + elapsed - 0.5,
            "n{i}'s session was reset: uptime {before:.2} s, then {now:.2} s {elapsed:.2} s later\n{}",
            self.logs()
        );
    }
}

fn node_yaml(i: u8) -> String {
    format!(
        "apiVersion: projectcalico.org/v3\nkind: Node\nmetadata: {{name: n{i}}}\nspec: {{bgp: {{ipv4Address: {}/24}}}}\n",
        node_ip(i)
    )
}

#[test]
fn reflector_and_clients_from_etcd_nodes_come_and_go_live() {
    if skip_unless(&["ip", "etcd", "kill"]) {
        return;
    }
    let began = Instant::now();
    let mut s = Stack::new();
    s.apply(RESOURCES);

    // The reflector, from its Node alone.
    let rr = s.rr.clone();
    s.spawn(
        &rr,
        "rr1",
        &[
            REFLECTOR_BIN,
            "run",
            "--datastore",
            "etcd",
            "--etcd-endpoints",
            ETCD,
            "--node",
            "rr1",
        ],
    );
    s.wait(
        Duration::from_secs(10),
        "the reflector in sync with etcd",
        |s| {
            s.rr_summary()
                .and_then(|sum| sum.datastore)
                .is_some_and(|d| d.connected)
        },
    );
    let summary = s.rr_summary().unwrap();
    assert_eq!(
        (summary.asn, summary.router_id),
        (ASN, ip(1)),
        "the AS of the BGPConfiguration, the router ID of the Node"
    );
    assert_eq!(summary.cluster_ids.first(), Some(&CLUSTER_ID));
    assert_eq!(summary.datastore.as_ref().unwrap().node, "rr1");

    // n1 and n2 register their Nodes; each becomes a client session.
    s.spawn_client(1);
    s.spawn_client(2);
    s.wait(
        Duration::from_secs(10),
        "n1 and n2 to register their Nodes",
        |s| {
            [1u8, 2].iter().all(|&i| {
                s.node_resource(&format!("n{i}")).is_some_and(|n| {
                    n["spec"]["bgp"]["ipv4Address"] == format!("{}/24", node_ip(i))
                })
            })
        },
    );
    s.wait(
        Duration::from_secs(20),
        "n1 and n2 Established on the reflector and on the nodes",
        |s| {
            s.rr_established(1)
                && s.rr_established(2)
                && s.client_established(1)
                && s.client_established(2)
        },
    );
    let summary = s.rr_summary().unwrap();
    assert_eq!(summary.peers.get("established"), Some(&2), "{summary:?}");
    assert_eq!(summary.peers.get("total"), Some(&2), "{summary:?}");
    assert_eq!(summary.peers.get("dynamic").copied().unwrap_or(0), 0);
    assert_eq!(summary.datastore.as_ref().unwrap().peerings, 2);
    let neighbors = s.rr_neighbors();
    assert_eq!(neighbors.len(), 2, "{neighbors:?}");
    for n in &neighbors {
        assert_eq!(n.client, Some(true), "a route-reflector client: {n:?}");
        assert!(!n.dynamic, "configured from its Node, not a range: {n:?}");
        assert_eq!(n.asn, Some(ASN));
    }
    // The operator's view: the CLI run next to the daemon.
    let table = rr.run(&[REFLECTOR_BIN, "neighbors"]).unwrap();
    for i in [1u8, 2] {
        assert!(
            table
                .lines()
                .any(|l| l.contains(&node_ip(i).to_string()) && l.contains("Established")),
            "n{i} in `bgp-reflector neighbors`:\n{table}"
        );
    }
    let text = rr.run(&[REFLECTOR_BIN, "summary"]).unwrap();
    assert!(text.contains("2 established, 0 down"), "{text}");

    // n1's kernel route in the pool reaches n2's kernel through the reflector.
    s.add_route(1);
    s.wait(
        Duration::from_secs(10),
        "n1's route in n2's kernel (proto 186 via n1)",
        |s| s.kernel_has(2, &route_of(1), 1),
    );
    let paths = s.rr_paths_from(&route_of(1), 1);
    assert_eq!(paths.len(), 1, "{paths:?}");
    assert_eq!(paths[0].next_hop, node_ip(1).to_string());
    assert_eq!(paths[0].originator_id, None, "n1's own path, not reflected");
    let up1 = s.rr_uptime(1);
    let up2 = s.rr_uptime(2);
    let t0 = Instant::now();

    // A new Node: the reflector configures its session within a second of
    // the write, before the node's agent even runs.
    s.apply(&node_yaml(3));
    let took = s.wait(
        Duration::from_secs(5),
        "n3 configured on the reflector",
        |s| s.rr_neighbor(3).is_some(),
    );
    assert!(
        took < Duration::from_secs(1),
        "n3 configured {took:?} after its write"
    );
    s.spawn_client(3);
    s.wait(Duration::from_secs(20), "n3 Established", |s| {
        s.rr_established(3) && s.client_established(3)
    });
    s.wait(Duration::from_secs(10), "n1's route in n3's kernel", |s| {
        s.kernel_has(3, &route_of(1), 1)
    });
    s.add_route(3);
    s.wait(
        Duration::from_secs(10),
        "n3's route in n1's and n2's kernels",
        |s| s.kernel_has(1, &route_of(3), 3) && s.kernel_has(2, &route_of(3), 3),
    );
    assert_eq!(s.rr_summary().unwrap().datastore.unwrap().peerings, 3);
    s.assert_untouched(1, up1, t0);
    s.assert_untouched(2, up2, t0);
    s.assert_not_restarted(&[]);

    // n3's Node deleted while its agent runs: the agent writes it back at
    // once (it re-registers on every change of the datastore's revision
    // that leaves its Node missing), so the deletion is undone within
    // milliseconds and the reflector, which sees the deletion and the new
    // write together or one after the other, ends with n3's session up;
    // n1 and n2 never notice. (A deletion of a running node does not
    // stick: see the decommissioning below.)
    let before = s.node_resource("n3").unwrap();
    s.delete(Kind::Node, "n3");
    s.wait(
        Duration::from_secs(5),
        "n3's Node written back by its agent",
        |s| {
            s.node_resource("n3").is_some_and(|n| {
                n["spec"]["bgp"] == before["spec"]["bgp"]
                    && n["metadata"]["resourceVersion"] != before["metadata"]["resourceVersion"]
            })
        },
    );
    s.wait(
        Duration::from_secs(20),
        "n3 Established after its Node came back",
        |s| s.rr_established(3) && s.client_established(3),
    );
    s.wait(
        Duration::from_secs(10),
        "n3's route in n1's kernel after its Node came back",
        |s| s.kernel_has(1, &route_of(3), 3),
    );
    s.assert_untouched(1, up1, t0);
    s.assert_untouched(2, up2, t0);
    s.assert_not_restarted(&[]);
    let removed = format!("neighbour removed address={}", node_ip(3));
    let flapped = s.lab.log("rr1").matches(&removed).count();
    eprintln!(
        "the reflector's n3 session flapped {flapped} time(s) while the agent undid the deletion"
    );

    // n3 decommissioned: its agent frozen (its TCP session stays open, so
    // nothing but the Node's deletion can end it), then its Node deleted.
    let n3_pid = s
        .procs
        .iter()
        .find(|(label, _, _)| label == "n3")
        .map(|(_, pid, _)| *pid)
        .unwrap();
    let stop = std::process::Command::new("kill")
        .args(["-STOP", &n3_pid.to_string()])
        .status()
        .unwrap();
    assert!(stop.success());
    assert!(
        s.rr_established(3),
        "n3's session outlives its frozen agent"
    );
    let t1 = Instant::now();
    s.delete(Kind::Node, "n3");
    let took = s.wait(
        Duration::from_secs(5),
        "n3's Established session torn down by its Node's deletion",
        |s| s.rr_neighbor(3).is_none(),
    );
    assert!(took < Duration::from_secs(1), "{took:?}");
    s.wait(
        Duration::from_secs(10),
        "n3's route withdrawn from n1's and n2's kernels",
        |s| {
            s.kernel_routes(1, &route_of(3)).is_empty()
                && s.kernel_routes(2, &route_of(3)).is_empty()
        },
    );
    assert!(
        s.rr_paths_from(&route_of(3), 3).is_empty(),
        "the reflector dropped n3's route"
    );
    // n1 and n2 did not notice.
    assert!(s.kernel_has(2, &route_of(1), 1), "n1's route still at n2");
    s.assert_untouched(1, up1, t0);
    s.assert_untouched(2, up2, t0);
    let summary = s.rr_summary().unwrap();
    assert_eq!(summary.peers.get("total"), Some(&2), "{summary:?}");
    assert_eq!(summary.peers.get("established"), Some(&2), "{summary:?}");
    assert_eq!(summary.datastore.as_ref().unwrap().peerings, 2);
    let log = s.lab.log("rr1");
    assert_eq!(
        log.matches(&removed).count(),
        flapped + 1,
        "the reflector logged n3's removal:\n{}",
        s.logs()
    );
    assert!(
        log.contains(&format!("address={}}}: bgp_speaker::net::peer::task: session down: stopped, sent Cease / Peer De-configured", node_ip(3))),
        "n3's session closed with Cease / Peer De-configured\n{}",
        s.logs()
    );
    eprintln!("n3 gone {:?} after its deletion", t1.elapsed());
    s.assert_not_restarted(&["n3"]);
    // The frozen agent is killed (SIGKILL works on a stopped process).
    s.lab.kill("n3");
    eprintln!("whole test: {:?}", began.elapsed());
}
