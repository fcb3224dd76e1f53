//! The scene, step by step. Every step prints what it does and checks
//! what it claims; the first failed check ends the scene with an error
//! (and the lab, dropped, removes every namespace and process).
//!
//! ```text
//!                      switch 10.0.91.0/24
//!   ┌─────────┬─────────┬─────────┬─────────┬─────────┐
//!  etcd      rr1       rr2       n1        n2        n3
//!  .100      .1        .2        .11       .12       .13
//!                                 │         │         │
//!                                w1        w2        w3   (workload namespaces,
//!                                                          veths made by `calico`)
//! ```
//!
//! The reflectors and the clients start with nothing but where etcd is and
//! their node name: the BGP topology (a BGPConfiguration with the mesh
//! off, reflector Nodes sharing one cluster ID, BGPPeers), the pool and
//! the policy all come from resources applied to etcd with
//! `bgp-reflector datastore apply`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use reflex_testlab::{Host, Lab};
use serde_json::Value;

use crate::bins::Bins;
use crate::error::SceneError;
use crate::etcd;
use crate::workload::{self, Servers, Workload};

const ETCD_ADDR: &str = "10.0.91.100:2379";
/// How long routing may take to settle after a change.
const SETTLE: Duration = Duration::from_secs(20);

/// What to run the scene with.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where the programs are.
    pub bins: Bins,
    /// The CNI network configuration list (`examples/cni/*.conflist`).
    pub cni_config: PathBuf,
    /// Extra workloads to add (spread over the nodes) only to measure the
    /// time from ADD to reachable from another node.
    pub reach_samples: usize,
}

/// What the scene measured, for the closing summary.
#[derive(Debug, Default, Clone)]
pub struct Outcome {
    /// Per workload: time from its ADD returning to its first answered
    /// ping from a workload on another node.
    pub reachable_after_add: Vec<(String, Duration)>,
    /// Number of checks that held.
    pub checks: usize,
}

/// The running scene: the lab and what it has started.
struct Scene {
    lab: Lab,
    options: Options,
    etcd_host: Host,
    reflectors: Vec<Host>,
    nodes: Vec<Host>,
    workloads: Vec<Workload>,
    started: Instant,
    outcome: Outcome,
}

/// Runs the whole scene.
pub fn run(options: Options) -> Result<Outcome, SceneError> {
    let mut scene = Scene::build(options)?;
    let result = scene.play();
    if result.is_err() {
        scene.dump_logs();
    }
    result.map(|()| scene.outcome.clone())
}

fn etcd_addr() -> SocketAddr {
    ETCD_ADDR.parse().expect("a socket address")
}

fn etcd_url() -> String {
    format!("http://{ETCD_ADDR}")
}

fn switch_ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 91, last)
}

impl Scene {
    fn build(options: Options) -> Result<Scene, SceneError> {
        let mut lab = Lab::new("cluster")?;
        let etcd_host = lab.host("etcd")?;
        let reflectors = vec![lab.host("rr1")?, lab.host("rr2")?];
        let nodes = vec![lab.host("n1")?, lab.host("n2")?, lab.host("n3")?];
        let mut ports: Vec<(&Host, String)> = vec![(&etcd_host, format!("{}/24", switch_ip(100)))];
        for (i, rr) in reflectors.iter().enumerate() {
            ports.push((rr, format!("{}/24", switch_ip(1 + i as u8))));
        }
        for (i, node) in nodes.iter().enumerate() {
            ports.push((node, format!("{}/24", switch_ip(11 + i as u8))));
        }
        let ports: Vec<(&Host, &str)> = ports.iter().map(|(h, a)| (*h, a.as_str())).collect();
        lab.switch("sw", &ports)?;
        // Nodes have a default route, as real hosts do: the host side of a
        // workload's veth answers the workload's ARP for its gateway
        // 169.254.1.1 by proxy ARP, which Linux does only for an address it
        // has a route for through another interface.
        let gateway = switch_ip(254).to_string();
        for node in &nodes {
            node.run(&["ip", "route", "add", "default", "via", &gateway])?;
        }
        Ok(Scene {
            lab,
            options,
            etcd_host,
            reflectors,
            nodes,
            workloads: Vec::new(),
            started: Instant::now(),
            outcome: Outcome::default(),
        })
    }

    fn say(&self, text: &str) {
        println!("[{:6.2}s] {text}", self.started.elapsed().as_secs_f64());
    }

    fn step(&self, title: &str) {
        println!();
        self.say(&format!("== {title}"));
    }

    fn check(&mut self, holds: bool, what: &str) -> Result<(), SceneError> {
        if !holds {
            return Err(SceneError::Check(what.to_string()));
        }
        self.passed(what);
        Ok(())
    }

    /// Counts and prints a check that the code just before it verified
    /// (by returning an error otherwise).
    fn passed(&mut self, what: &str) {
        self.outcome.checks += 1;
        self.say(&format!("   ok: {what}"));
    }

    fn wait_until(
        &mut self,
        what: &str,
        mut check: impl FnMut(&Scene) -> bool,
    ) -> Result<(), SceneError> {
        let started = Instant::now();
        while !check(self) {
            if started.elapsed() > SETTLE {
                return Err(SceneError::Timeout(SETTLE, what.to_string()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.outcome.checks += 1;
        self.say(&format!(
            "   ok: {what} (after {} ms)",
            started.elapsed().as_millis()
        ));
        Ok(())
    }

    fn play(&mut self) -> Result<(), SceneError> {
        self.start_etcd()?;
        self.apply_resources()?;
        self.start_reflectors()?;
        self.start_nodes()?;
        self.add_workloads()?;
        self.show_routes("routes each node holds (pool 10.91.0.0/16)");
        self.check_pings()?;
        self.check_policy()?;
        self.kill_one_reflector()?;
        self.delete_workloads()?;
        Ok(())
    }

    fn start_etcd(&mut self) -> Result<(), SceneError> {
        self.step("etcd");
        etcd::start(&mut self.lab, &self.etcd_host.clone(), etcd_addr())?;
        self.say(&format!(
            "etcd serves {} (host {})",
            etcd_url(),
            self.etcd_host.name
        ));
        Ok(())
    }

    fn datastore(&self, args: &[&str]) -> Result<String, SceneError> {
        let reflector = self.options.bins.reflector.display().to_string();
        let url = etcd_url();
        let mut full = vec![reflector.as_str(), "datastore"];
        full.extend_from_slice(args);
        full.extend(["--etcd-endpoints", &url]);
        self.reflectors[0].run(&full).map_err(SceneError::from)
    }

    fn apply(&self, name: &str, yaml: &str) -> Result<(), SceneError> {
        let path = self.lab.write_file(name, yaml)?;
        let out = self.datastore(&["apply", "-f", &path.display().to_string()])?;
        for line in out.lines() {
            self.say(&format!("   {line}"));
        }
        Ok(())
    }

    fn apply_resources(&mut self) -> Result<(), SceneError> {
        self.step("Calico resources (bgp-reflector datastore apply)");
        self.say("BGP without mesh, two reflector Nodes sharing cluster ID 224.0.0.91,");
        self.say("every node a client of both, a pool with /26 blocks, the network's profile");
        let network = workload::network_name(&self.options.cni_config)?;
        self.apply("resources.yaml", &resources(&network))
    }

    fn start_reflectors(&mut self) -> Result<(), SceneError> {
        self.step("route reflectors");
        let reflector = self.options.bins.reflector.display().to_string();
        let url = etcd_url();
        for rr in self.reflectors.clone() {
            let args = [
                reflector.as_str(),
                "run",
                "--datastore",
                "etcd",
                "--etcd-endpoints",
                &url,
                "--node",
                &rr.name,
            ];
            self.lab.spawn(&rr, &rr.name, &args)?;
            self.say(&format!(
                "{}: bgp-reflector run --datastore etcd --node {}",
                rr.name, rr.name
            ));
        }
        Ok(())
    }

    fn start_nodes(&mut self) -> Result<(), SceneError> {
        self.step("nodes: bgp-client with Felix");
        let client = self.options.bins.client.display().to_string();
        for (i, node) in self.nodes.clone().into_iter().enumerate() {
            let nodename_file = self.nodename_file(&node);
            let config = client_config(&node.name, switch_ip(11 + i as u8), &nodename_file);
            let path = self
                .lab
                .write_file(&format!("{}.toml", node.name), &config)?;
            let path = path.display().to_string();
            self.lab.spawn(
                &node,
                &node.name,
                &[client.as_str(), "run", "--config", &path],
            )?;
            self.say(&format!(
                "{}: bgp-client run --config {}.toml",
                node.name, node.name
            ));
        }
        for node in self.nodes.clone() {
            let client = self.options.bins.client.clone();
            self.wait_until(
                &format!("{} has sessions with both reflectors", node.name),
                |_| established_sessions(&client, &node) == 2,
            )?;
        }
        Ok(())
    }

    /// Where `node`'s client writes its name for the CNI plugin.
    fn nodename_file(&self, node: &Host) -> PathBuf {
        self.lab.dir().join(&node.name).join("nodename")
    }

    fn add_workloads(&mut self) -> Result<(), SceneError> {
        self.step("workloads: CNI ADD, as a container runtime calls the plugin");
        // The first workload of each node claims a block for the node; w4
        // joins w1's block on n1, so only Felix has work to do for it.
        self.add_workload(0, None)?;
        self.add_workload(1, Some(0))?;
        self.add_workload(2, Some(0))?;
        self.show_ipam()?;
        self.add_workload(0, Some(1))?;
        if self.options.reach_samples > 0 {
            self.say(&format!(
                "{} more workloads, to measure ADD-to-reachable",
                self.options.reach_samples
            ));
        }
        for k in 0..self.options.reach_samples {
            let node = k % self.nodes.len();
            // w1 is on n1 and w2 on n2: probe from one on another node.
            let from = if node == 0 { 1 } else { 0 };
            self.add_workload(node, Some(from))?;
        }
        Ok(())
    }

    /// Adds the next workload on node `node`; with `reach_from`, waits
    /// until that workload (on another node) pings the new one and records
    /// how long it took.
    fn add_workload(&mut self, node: usize, reach_from: Option<usize>) -> Result<(), SceneError> {
        let number = self.workloads.len() + 1;
        let node = self.nodes[node].clone();
        let host = self.lab.host(&format!("w{number}"))?;
        // Like a runtime's 64 hex digits; the first 11 name the veth.
        let container_id = format!("{:x}{}", 0xa1b2c3d0u32 + number as u32, "e".repeat(56));
        let config = workload::plugin_config(
            &self.options.cni_config,
            &etcd_url(),
            &self.nodename_file(&node),
        )?;
        let blocks_before = self.affinities()?.len();
        let started = Instant::now();
        let result = workload::cni(
            &self.options.bins.cni_dir,
            &node,
            "ADD",
            &container_id,
            &host,
            &config,
        )?;
        let took = started.elapsed();
        let ip = workload::first_ipv4(&result).ok_or_else(|| SceneError::CniResult {
            workload: host.name.clone(),
            detail: result.clone(),
        })?;
        let new_block = self.affinities()?.len() > blocks_before;
        self.say(&format!(
            "{} on {}: ADD gave {ip} in {} ms{}",
            host.name,
            node.name,
            took.as_millis(),
            if new_block {
                ", from a new block of the node"
            } else {
                ""
            }
        ));
        let added = SystemTime::now();
        self.workloads.push(Workload {
            host,
            node,
            container_id,
            ip,
        });
        if let Some(from) = reach_from {
            let from = self.workloads[from].host.clone();
            let what = format!("w{number} reachable from {} on another node", from.name);
            let answered = workload::first_reply(&from, ip, SETTLE.as_secs() as u32)
                .ok_or_else(|| SceneError::Timeout(SETTLE, what.clone()))?;
            let took = answered.duration_since(added).unwrap_or_default();
            self.passed(&format!(
                "{what} (first answer {} ms after the ADD)",
                took.as_millis()
            ));
            let label = if new_block {
                "new block"
            } else {
                "block already routed"
            };
            self.outcome
                .reachable_after_add
                .push((format!("w{number} ({label})"), took));
        }
        Ok(())
    }

    /// The (node, block) pairs of the affinity keys in etcd.
    fn affinities(&self) -> Result<Vec<(String, String)>, SceneError> {
        let keys = etcd::range(&self.etcd_host, etcd_addr(), "/calico/ipam/v2/host/")?;
        Ok(keys.iter().filter_map(|(key, _)| affinity(key)).collect())
    }

    fn show_ipam(&mut self) -> Result<(), SceneError> {
        let keys = etcd::range(&self.etcd_host, etcd_addr(), "/calico/ipam/v2/host/")?;
        self.say("block affinities in etcd:");
        for (key, _) in &keys {
            self.say(&format!("   {key}"));
        }
        let blocks: Vec<(String, String)> =
            keys.iter().filter_map(|(key, _)| affinity(key)).collect();
        let affine_nodes: std::collections::BTreeSet<&String> =
            blocks.iter().map(|(n, _)| n).collect();
        self.check(
            affine_nodes.len() == self.nodes.len(),
            "every node has a block of its own",
        )?;
        self.check_block_routes(&blocks)
    }

    /// Routing by block: the owner holds a blackhole for each of its
    /// blocks, every other node a route for the block via the owner, and
    /// nobody a /32 for the workloads inside it.
    fn check_block_routes(&mut self, blocks: &[(String, String)]) -> Result<(), SceneError> {
        for (owner, block) in blocks {
            let Some(index) = self.nodes.iter().position(|n| &n.name == owner) else {
                continue;
            };
            let owner_ip = switch_ip(11 + index as u8).to_string();
            let owner_host = self.nodes[index].clone();
            self.wait_until(
                &format!("{owner} holds a blackhole for its block {block}"),
                |_| route_line(&owner_host, block).starts_with("blackhole"),
            )?;
            for node in self.nodes.clone() {
                if &node.name == owner {
                    continue;
                }
                let block = block.clone();
                let via = format!("via {owner_ip} ");
                self.wait_until(
                    &format!("{} routes {block} {via}(one route per block)", node.name),
                    |_| route_line(&node, &block).contains(&via),
                )?;
            }
        }
        for w in self.workloads.clone() {
            for node in self.nodes.clone() {
                if node == w.node {
                    continue;
                }
                let host_route = route_line(&node, &format!("{}/32", w.ip));
                self.check(
                    host_route.is_empty(),
                    &format!(
                        "{} has no /32 for {} (its block covers it)",
                        node.name, w.host.name
                    ),
                )?;
            }
        }
        Ok(())
    }

    fn show_routes(&self, title: &str) {
        self.step(title);
        for node in &self.nodes {
            let routes = node.run(&["ip", "-4", "route", "show"]).unwrap_or_default();
            self.say(&format!("{}:", node.name));
            for line in routes
                .lines()
                .filter(|l| l.starts_with("10.91.") || l.contains(" 10.91."))
            {
                self.say(&format!("   {line}"));
            }
        }
    }

    fn check_pings(&mut self) -> Result<(), SceneError> {
        self.step("pings across nodes");
        for from in self.workloads.clone() {
            for to in self.workloads.clone() {
                if from.host == to.host {
                    continue;
                }
                let what = format!(
                    "{} ({}) pings {} ({})",
                    from.host.name, from.ip, to.host.name, to.ip
                );
                self.wait_until(&what, |_| workload::ping(&from.host, to.ip))?;
            }
        }
        Ok(())
    }

    fn check_policy(&mut self) -> Result<(), SceneError> {
        self.step("policy: w2 serves TCP 80 and 8080");
        let (w1, w2, w3) = (
            self.workloads[0].clone(),
            self.workloads[1].clone(),
            self.workloads[2].clone(),
        );
        let _servers = Servers::start(&w2.host, &[80, 8080])?;
        let _others = Servers::start(&w3.host, &[8080])?;
        for (from, port) in [(&w1, 80), (&w1, 8080), (&w3, 80)] {
            let what = format!(
                "{} connects to w2:{port} (the profile allows all)",
                from.host.name
            );
            self.wait_until(&what, |_| workload::tcp_works(&from.host, w2.ip, port))?;
        }
        self.say("apply GlobalNetworkPolicy w2-web: to w2 only ICMP and TCP 80 from w1");
        self.apply("policy.yaml", &policy(w1.ip, w2.ip, &[80]))?;
        self.wait_until("w1 is refused w2:8080", |_| {
            !workload::tcp_works(&w1.host, w2.ip, 8080)
        })?;
        self.wait_until("w3 is refused w2:80", |_| {
            !workload::tcp_works(&w3.host, w2.ip, 80)
        })?;
        let ok = workload::tcp_works(&w1.host, w2.ip, 80);
        self.check(ok, "w1 still connects to w2:80")?;
        let ok = workload::ping(&w3.host, w2.ip);
        self.check(ok, "w3 still pings w2 (ICMP allowed)")?;
        let ok = workload::ping(&w2.host, w3.ip) && workload::tcp_works(&w1.host, w3.ip, 8080);
        self.check(
            ok,
            "traffic to other workloads is untouched (w2 pings w3, w1 reaches w3:8080)",
        )?;

        self.say("change the policy: w1 may also use 8080");
        self.apply("policy.yaml", &policy(w1.ip, w2.ip, &[80, 8080]))?;
        self.wait_until("w1 connects to w2:8080", |_| {
            workload::tcp_works(&w1.host, w2.ip, 8080)
        })?;
        let refused = !workload::tcp_works(&w3.host, w2.ip, 80);
        self.check(refused, "w3 is still refused w2:80")?;
        Ok(())
    }

    fn all_routes(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|node| {
                let mut lines: Vec<String> = node
                    .run(&["ip", "-4", "route", "show", "proto", "bgp"])
                    .unwrap_or_default()
                    .lines()
                    .map(str::to_string)
                    .collect();
                lines.sort();
                format!("{}: {}", node.name, lines.join(" | "))
            })
            .collect()
    }

    fn kill_one_reflector(&mut self) -> Result<(), SceneError> {
        self.step("failover: rr1 killed (SIGKILL)");
        let before = self.all_routes();
        self.lab.kill("rr1");
        self.say("rr1 is gone; watching the nodes' BGP routes for 5 s");
        let watch_until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < watch_until {
            let now = self.all_routes();
            if now != before {
                return Err(SceneError::Check(format!(
                    "routes changed after rr1 died:\nbefore {before:#?}\nafter {now:#?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.passed("no node lost or changed a route");
        for from in self.workloads.clone() {
            for to in self.workloads.clone() {
                if from.host != to.host {
                    let ok = workload::ping(&from.host, to.ip);
                    self.check(
                        ok,
                        &format!("{} still pings {}", from.host.name, to.host.name),
                    )?;
                }
            }
        }
        Ok(())
    }

    fn delete_workloads(&mut self) -> Result<(), SceneError> {
        self.step("CNI DEL of every workload");
        for w in self.workloads.clone() {
            let config = workload::plugin_config(
                &self.options.cni_config,
                &etcd_url(),
                &self.nodename_file(&w.node),
            )?;
            workload::cni(
                &self.options.bins.cni_dir,
                &w.node,
                "DEL",
                &w.container_id,
                &w.host,
                &config,
            )?;
            self.say(&format!("{}: DEL done", w.host.name));
            workload::cni(
                &self.options.bins.cni_dir,
                &w.node,
                "DEL",
                &w.container_id,
                &w.host,
                &config,
            )?;
            self.passed(&format!("a second DEL of {} succeeds too", w.host.name));
        }
        for w in self.workloads.clone() {
            let links = w
                .node
                .run(&["ip", "-o", "link", "show"])
                .unwrap_or_default();
            let no_veth = !links.lines().any(|l| l.contains(": cali"));
            self.check(
                no_veth,
                &format!("no cali interface left on {}", w.node.name),
            )?;
            let node = w.node.clone();
            let what = format!("no workload chain left in {}'s nftables table", node.name);
            self.wait_until(&what, |_| {
                !node
                    .run(&["nft", "list", "table", "inet", "reflex"])
                    .unwrap_or_default()
                    .contains("w-cali")
            })?;
            let ip = w.ip.to_string();
            let node = w.node.clone();
            self.wait_until(&format!("no route for {ip} on {}", node.name), |_| {
                !node
                    .run(&["ip", "-4", "route", "show", &format!("{ip}/32")])
                    .unwrap_or_default()
                    .contains(&ip)
            })?;
            for other in &self.nodes.clone() {
                let ip = ip.clone();
                let other = other.clone();
                self.wait_until(&format!("{} has no /32 for {ip}", other.name), |_| {
                    !other
                        .run(&["ip", "-4", "route", "show", &format!("{ip}/32")])
                        .unwrap_or_default()
                        .contains(&ip)
                })?;
            }
        }
        let endpoints = etcd::range(
            &self.etcd_host,
            etcd_addr(),
            "/calico/resources/v3/projectcalico.org/workloadendpoints/",
        )?;
        self.check(endpoints.is_empty(), "no WorkloadEndpoint left in etcd")?;
        let handles = etcd::range(&self.etcd_host, etcd_addr(), "/calico/ipam/v2/handle/")?;
        self.check(
            handles.is_empty(),
            "no IPAM handle left: every address released",
        )?;
        let blocks = etcd::range(&self.etcd_host, etcd_addr(), "/calico/ipam/v2/assignment/")?;
        let allocated = blocks
            .iter()
            .flat_map(|(_, block)| block["allocations"].as_array().cloned().unwrap_or_default())
            .filter(|a| !a.is_null())
            .count();
        self.check(allocated == 0, "no address allocated in any block")?;
        self.show_routes("routes left (the nodes' blocks stay theirs)");
        Ok(())
    }

    fn dump_logs(&self) {
        for label in ["etcd", "rr1", "rr2", "n1", "n2", "n3"] {
            let log = self.lab.log(label);
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            eprintln!("---- last lines of {label} ----");
            for line in tail.into_iter().rev() {
                eprintln!("{line}");
            }
        }
    }
}

/// The node and block of an affinity key
/// (`/calico/ipam/v2/host/<node>/ipv4/block/<network>-<length>`).
fn affinity(key: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = key.split('/').collect();
    let node = parts.get(5)?;
    let (network, length) = parts.get(8)?.rsplit_once('-')?;
    Some((node.to_string(), format!("{network}/{length}")))
}

/// `ip route show <prefix>` (exact match) in `node`, trimmed.
fn route_line(node: &Host, prefix: &str) -> String {
    node.run(&["ip", "-4", "route", "show", "exact", prefix])
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Established sessions of the client in `node`, from its API.
fn established_sessions(client: &Path, node: &Host) -> usize {
    let client = client.display().to_string();
    let Ok(out) = node.run(&[client.as_str(), "neighbors", "--json"]) else {
        return 0;
    };
    let Ok(value) = serde_json::from_str::<Value>(&out) else {
        return 0;
    };
    let list = value
        .as_array()
        .cloned()
        .or_else(|| value["neighbors"].as_array().cloned())
        .unwrap_or_default();
    list.iter()
        .filter(|n| {
            n["state"]
                .as_str()
                .is_some_and(|s| s.eq_ignore_ascii_case("established"))
        })
        .count()
}

/// A node's client configuration: its name and address, and etcd; the
/// rest (reflectors, pools, workloads, policy) comes from the datastore.
/// Routing by IPAM block, as Calico nodes do; Felix with its defaults
/// (resources from the datastore, its routes advertised); the node name
/// written where the node's CNI configuration reads it.
fn client_config(node: &str, address: Ipv4Addr, nodename_file: &Path) -> String {
    format!(
        "[node]\nname = \"{node}\"\nipv4 = \"{address}\"\nnodename_file = \"{}\"\n\n\
         [datastore]\ntype = \"etcd\"\netcd_endpoints = [\"{}\"]\n\n\
         [bgp]\nconnect_retry = 1\n\n\
         [export]\nblocks = true\n\n\
         [felix]\n",
        nodename_file.display(),
        etcd_url()
    )
}

/// A GlobalNetworkPolicy: traffic to `server` is allowed only as ICMP and
/// as TCP to `ports` from `client`; traffic to anyone else is untouched.
fn policy(client: IpAddr, server: IpAddr, ports: &[u16]) -> String {
    let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
    format!(
        "apiVersion: projectcalico.org/v3\nkind: GlobalNetworkPolicy\n\
         metadata: {{name: w2-web}}\n\
         spec:\n  order: 10\n  selector: all()\n  types: [Ingress]\n  ingress:\n\
         \x20 - action: Allow\n    destination: {{notNets: [{server}/32]}}\n\
         \x20 - action: Allow\n    protocol: ICMP\n\
         \x20 - action: Allow\n    protocol: TCP\n    source: {{nets: [{client}/32]}}\n\
         \x20   destination: {{ports: [{}]}}\n\
         \x20 - action: Deny\n",
        ports.join(", ")
    )
}

/// The scene's resources; the Profile is named after the CNI network, as
/// Calico's plugin names the endpoints' profile outside Kubernetes.
fn resources(network: &str) -> String {
    RESOURCES.replace("NETWORK", network)
}

const RESOURCES: &str = r#"apiVersion: projectcalico.org/v3
kind: BGPConfiguration
metadata: {name: default}
spec: {nodeToNodeMeshEnabled: false, asNumber: 64512}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: rr1, labels: {route-reflector: "true"}}
spec: {bgp: {ipv4Address: 10.0.91.1/24, routeReflectorClusterID: 224.0.0.91}}
---
apiVersion: projectcalico.org/v3
kind: Node
metadata: {name: rr2, labels: {route-reflector: "true"}}
spec: {bgp: {ipv4Address: 10.0.91.2/24, routeReflectorClusterID: 224.0.0.91}}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: nodes-to-reflectors}
spec: {nodeSelector: "!has(route-reflector)", peerSelector: has(route-reflector)}
---
apiVersion: projectcalico.org/v3
kind: BGPPeer
metadata: {name: reflector-mesh}
spec: {nodeSelector: has(route-reflector), peerSelector: has(route-reflector)}
---
apiVersion: projectcalico.org/v3
kind: IPPool
metadata: {name: lab-pool}
spec: {cidr: 10.91.0.0/16, blockSize: 26, ipipMode: Never, vxlanMode: Never, natOutgoing: false}
---
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: NETWORK}
spec:
  ingress: [{action: Allow}]
  egress: [{action: Allow}]
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_is_named_after_the_network() {
        let text = resources("k8s-pod-network");
        assert!(text.contains("kind: Profile\nmetadata: {name: k8s-pod-network}"));
        assert!(!text.contains("NETWORK"));
    }

    #[test]
    fn affinity_keys_name_node_and_block() {
        assert_eq!(
            affinity("/calico/ipam/v2/host/n1/ipv4/block/10.91.48.0-26"),
            Some(("n1".to_string(), "10.91.48.0/26".to_string()))
        );
        assert_eq!(affinity("/calico/ipam/v2/host/n1"), None);
    }

    #[test]
    fn policy_names_the_ports_and_addresses() {
        let text = policy(
            "10.91.0.1".parse().unwrap(),
            "10.91.0.65".parse().unwrap(),
            &[80, 8080],
        );
        assert!(text.contains("nets: [10.91.0.1/32]"));
        assert!(text.contains("notNets: [10.91.0.65/32]"));
        assert!(text.contains("ports: [80, 8080]"));
        assert!(text.trim_end().ends_with("- action: Deny"));
    }
}
