//! Helpers of the reflector's interop tests (`interop_*.rs`): a lab of
//! hosts on one dual-stack switch, the real `bgp-reflector` binary run
//! inside a host, configuration writers for BIRD, GoBGP and FRR, readers of
//! what each of them holds, and bounded waits that fail with diagnostics.
//!
//! Every process is started through [`Lab::spawn`], so dropping the lab
//! (also when a test panics) kills the reflectors and the daemons and
//! deletes the namespaces.
//!
//! Addresses: host `last` of network `net` is `10.211.<net>.<last>/24` and
//! `fd00:211:<net>::<last>/64` on the switch, and its router id is its IPv4
//! address. Routes that host originates are `10.<100+net>.<last*10+k>.0/24`
//! and `fd00:<100+net>:<last*10+k>::/48`.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use bgp_reflector::api::types::{Neighbor, Route, RoutePath, SessionState};
use reflex_testlab::daemons::{Bird, Frr, Gobgp};
use reflex_testlab::{Host, Lab};

/// The AS of every test (all sessions are iBGP).
pub const ASN: u32 = 65010;

/// Every wait of these tests is bounded by at most this.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// The reflector's operations API, on the loopback of its host.
pub const API: &str = "127.0.0.1:8179";

/// The reflector binary built by cargo for these tests.
pub const REFLECTOR_BIN: &str = env!("CARGO_BIN_EXE_bgp-reflector");

/// The numbering of one lab (one per test, so tests can run in parallel).
#[derive(Debug, Clone, Copy)]
pub struct Net(pub u8);

impl Net {
    /// The IPv4 address (and router id) of host `last`.
    pub fn v4(self, last: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 211, self.0, last)
    }

    /// The IPv6 address of host `last`.
    pub fn v6(self, last: u8) -> String {
        format!("fd00:211:{}::{last}", self.0)
    }

    /// Host `last`'s IPv4 route number `k`.
    pub fn route4(self, last: u8, k: u8) -> String {
        format!(
            "10.{}.{}.0/24",
            100 + u16::from(self.0),
            u16::from(last) * 10 + u16::from(k)
        )
    }

    /// Host `last`'s IPv6 route number `k`.
    pub fn route6(self, last: u8, k: u8) -> String {
        format!(
            "fd00:{}:{}::/48",
            100 + u16::from(self.0),
            u16::from(last) * 10 + u16::from(k)
        )
    }

    /// The next hop a route of host `last` carries, for `prefix`'s family.
    pub fn next_hop(self, last: u8, prefix: &str) -> String {
        if prefix.contains(':') {
            self.v6(last)
        } else {
            self.v4(last).to_string()
        }
    }
}

/// A lab whose hosts (name, last octet) all hang off one switch, with an
/// IPv4 and an IPv6 address each.
pub fn switch_lab(tag: &str, net: Net, hosts: &[(&str, u8)]) -> (Lab, Vec<Host>) {
    let mut lab = Lab::new(tag).expect("lab");
    let made: Vec<Host> = hosts
        .iter()
        .map(|(name, _)| lab.host(name).expect("lab host"))
        .collect();
    // No IPv6 link-local addresses on the switch ports: BIRD would add its
    // link-local to its IPv6 next hops or not depending on whether duplicate
    // address detection had finished when its session came up, and FRR's
    // bgpd without zebra (no interface information) rejects reflected
    // routes with a link-local next hop. With global addresses only, every
    // next hop is the originator's global address, every run.
    for host in &made {
        host.run(&["sysctl", "-qw", "net.ipv6.conf.default.addr_gen_mode=1"])
            .expect("sysctl addr_gen_mode");
    }
    let addresses: Vec<String> = hosts
        .iter()
        .map(|(_, last)| format!("{}/24", net.v4(*last)))
        .collect();
    let ports: Vec<(&Host, &str)> = made
        .iter()
        .zip(&addresses)
        .map(|(host, addr)| (host, addr.as_str()))
        .collect();
    lab.switch("sw", &ports).expect("switch");
    for (host, (_, last)) in made.iter().zip(hosts) {
        let port = switch_port(host);
        host.run(&["ip", "-6", "addr", "flush", "dev", &port, "scope", "link"])
            .expect("flush link-local addresses");
        host.add_address(&port, &format!("{}/64", net.v6(*last)))
            .expect("IPv6 address");
    }
    (lab, made)
}

/// The switch port of `host` (the lab names it `eth<n>`).
fn switch_port(host: &Host) -> String {
    let links = host.run(&["ip", "-o", "link", "show"]).expect("ip link");
    links
        .lines()
        .filter_map(|line| line.split(": ").nth(1))
        .map(|name| name.split('@').next().unwrap_or(name).to_string())
        .find(|name| name.starts_with("eth"))
        .expect("a switch port")
}

/// Poll `check` every 100 ms for at most `timeout` (capped at
/// [`MAX_WAIT`]); on timeout panic with `describe()`.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
    describe: impl FnOnce() -> String,
) -> T {
    let timeout = timeout.min(MAX_WAIT);
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            eprintln!("[{:>6.2?}] {what}", start.elapsed());
            return value;
        }
        if start.elapsed() >= timeout {
            panic!(
                "timed out after {timeout:?} waiting for {what}\n{}",
                describe()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Check `invariant` every 100 ms for `duration`; the first sample that
/// fails panics with its message and `describe()`. Returns the number of
/// samples taken.
pub fn holds_for(
    what: &str,
    duration: Duration,
    mut invariant: impl FnMut() -> Result<(), String>,
    describe: impl FnOnce() -> String,
) -> usize {
    let start = Instant::now();
    let mut samples = 0;
    loop {
        if let Err(failure) = invariant() {
            panic!(
                "{what}: broken after {:?} ({samples} good samples): {failure}\n{}",
                start.elapsed(),
                describe()
            );
        }
        samples += 1;
        if start.elapsed() >= duration {
            eprintln!("[{:>6.2?}] {what} ({samples} samples)", start.elapsed());
            return samples;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------
// Our reflector.

/// One `[[neighbor]]` of a reflector configuration.
#[derive(Debug, Clone)]
pub struct RrPeer {
    /// The neighbour's address.
    pub address: Ipv4Addr,
    /// Our route-reflector client?
    pub client: bool,
    /// Wait for it to connect (else we connect too, from `listen`).
    pub passive: bool,
}

/// A reflector configuration: router id, cluster id, listening on
/// `router_id:179`, every neighbour iBGP with `hold_time`, both unicast
/// families, graceful restart as given.
pub fn reflector_config(
    router_id: Ipv4Addr,
    cluster_id: Ipv4Addr,
    hold_time: u16,
    graceful_restart: bool,
    peers: &[RrPeer],
) -> String {
    let mut text = format!(
        r#"[global]
asn = {ASN}
router_id = "{router_id}"
cluster_id = "{cluster_id}"
listen = ["{router_id}"]

[api]
listen = "{API}"

[logging]
level = "info"
"#
    );
    for peer in peers {
        text += &format!(
            r#"
[[neighbor]]
address = "{}"
asn = {ASN}
client = {}
passive = {}
local_address = "{router_id}"
hold_time = {hold_time}
connect_retry = 2
graceful_restart = {graceful_restart}
families = ["ipv4-unicast", "ipv6-unicast"]
"#,
            peer.address, peer.client, peer.passive
        );
    }
    text
}

/// The `bgp-reflector run` daemon in a lab host.
#[derive(Debug, Clone)]
pub struct Reflector {
    /// Its host.
    pub host: Host,
    /// Its process label in the lab ([`Lab::kill`], [`Lab::log`]).
    pub label: String,
}

impl Reflector {
    /// Check `config`, write it and start `bgp-reflector run --config` in
    /// `host`; waits for the "started" log line.
    pub fn start(lab: &mut Lab, host: &Host, config: &str) -> Reflector {
        let label = format!("reflector-{}", host.name);
        let path = lab
            .write_file(&format!("{label}.toml"), config)
            .expect("reflector config");
        let path = path.to_string_lossy().into_owned();
        let checked = reflex_testlab::netns::run(&[REFLECTOR_BIN, "check", "--config", &path])
            .unwrap_or_else(|e| panic!("bgp-reflector check: {e}\n{config}"));
        eprintln!("{checked}");
        lab.spawn(host, &label, &[REFLECTOR_BIN, "run", "--config", &path])
            .expect("spawn bgp-reflector");
        let reflector = Reflector {
            host: host.clone(),
            label,
        };
        wait_for(
            &format!("{} started", reflector.label),
            Duration::from_secs(10),
            || {
                lab.log(&reflector.label)
                    .contains("bgp-reflector started")
                    .then_some(())
            },
            || lab.log(&reflector.label),
        );
        reflector
    }

    /// Run a CLI subcommand against the daemon's API.
    pub fn cli(&self, args: &[&str]) -> Result<String, String> {
        let mut full = vec![REFLECTOR_BIN];
        full.extend_from_slice(args);
        full.extend(["--api", API]);
        self.host.run(&full).map_err(|e| e.to_string())
    }

    /// Its neighbours (empty if the API does not answer).
    pub fn neighbors(&self) -> Vec<Neighbor> {
        self.cli(&["neighbors", "--json"])
            .ok()
            .and_then(|out| serde_json::from_str(&out).ok())
            .unwrap_or_default()
    }

    /// Is the session with `address` Established?
    pub fn established(&self, address: Ipv4Addr) -> bool {
        self.neighbors()
            .iter()
            .any(|n| n.address == address && n.state == SessionState::Established)
    }

    /// The Loc-RIB paths of `prefix`, best first (empty if the API does
    /// not answer).
    pub fn paths(&self, prefix: &str) -> Vec<RoutePath> {
        self.cli(&["routes", "--prefix", prefix, "--json"])
            .ok()
            .and_then(|out| serde_json::from_str::<Vec<Route>>(&out).ok())
            .unwrap_or_default()
            .into_iter()
            .flat_map(|route| route.paths)
            .collect()
    }

    /// Log, neighbours and Loc-RIB, for failure messages.
    pub fn describe(&self, lab: &Lab) -> String {
        let show = |args: &[&str]| self.cli(args).unwrap_or_else(|e| e);
        format!(
            "--- {0} log ---\n{1}\n--- {0} neighbors ---\n{2}\n--- {0} routes ---\n{3}\n",
            self.label,
            lab.log(&self.label),
            show(&["neighbors"]),
            show(&["routes"]),
        )
    }
}

// ---------------------------------------------------------------------------
// BIRD.

/// One BGP session of a BIRD configuration.
#[derive(Debug, Clone)]
pub struct BirdPeer {
    /// The protocol name.
    pub name: &'static str,
    /// The neighbour.
    pub address: Ipv4Addr,
    /// `rr client` (BIRD is the reflector of this neighbour).
    pub rr_client: bool,
}

/// The name of the static protocol that originates `prefix`.
fn bird_static(prefix: &str) -> String {
    let name: String = prefix
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("s_{name}")
}

/// A BIRD configuration for host `last`: one blackhole static route per
/// prefix of `routes` (each its own protocol, so it can be withdrawn with
/// [`bird_withdraw`]), and iBGP sessions carrying IPv4 and IPv6 unicast
/// over IPv4 with `hold_time`. `cluster_id` is BIRD's own, for its
/// `rr client` sessions.
pub fn bird_config(
    net: Net,
    last: u8,
    cluster_id: Option<Ipv4Addr>,
    hold_time: u16,
    peers: &[BirdPeer],
    routes: &[String],
) -> String {
    let me = net.v4(last);
    let mut text =
        format!("log stderr all;\nrouter id {me};\nprotocol device {{ scan time 1; }}\n");
    for prefix in routes {
        let channel = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        text += &format!(
            "protocol static {} {{ {channel}; route {prefix} blackhole; }}\n",
            bird_static(prefix)
        );
    }
    for peer in peers {
        let rr = match (peer.rr_client, cluster_id) {
            (true, Some(id)) => format!("rr client; rr cluster id {id};"),
            (true, None) => "rr client;".to_string(),
            (false, _) => String::new(),
        };
        text += &format!(
            r#"protocol bgp {name} {{
  local {me} as {ASN};
  neighbor {address} as {ASN};
  direct;
  {rr}
  hold time {hold_time};
  keepalive time {keepalive};
  connect delay time 1;
  connect retry time 2;
  error wait time 1, 5;
  ipv4 {{ import all; export all; gateway direct; }};
  ipv6 {{ import all; export all; gateway direct; next hop address {me6}; }};
}}
"#,
            name = peer.name,
            address = peer.address,
            keepalive = (hold_time / 3).max(1),
            me6 = net.v6(last),
        );
    }
    text
}

/// Withdraw a route BIRD originates (disable its static protocol).
pub fn bird_withdraw(bird: &Bird, prefix: &str) {
    let out = bird
        .query(&format!("disable {}", bird_static(prefix)))
        .expect("birdc disable");
    assert!(out.contains("disabled"), "birdc disable {prefix}: {out}");
}

pub use reflex_testlab::daemons::BirdRoute;

/// Every route in BIRD's tables (`show route all`).
pub fn bird_routes(bird: &Bird) -> Vec<BirdRoute> {
    bird.routes()
}

/// BIRD's route of `prefix` from protocol `protocol`.
pub fn at_bird(bird: &Bird, protocol: &str, prefix: &str) -> Option<BirdRoute> {
    bird_routes(bird)
        .into_iter()
        .find(|r| r.prefix == prefix && r.protocol == protocol)
}

/// BIRD's log and tables, for failure messages.
pub fn bird_report(lab: &Lab, bird: &Bird) -> String {
    format!(
        "--- {0} log ---\n{1}\n--- {0} protocols ---\n{2}\n--- {0} show route all ---\n{3}\n",
        bird.label,
        lab.log(&bird.label),
        bird.query("show protocols").unwrap_or_default(),
        bird.query("show route all").unwrap_or_default(),
    )
}

// ---------------------------------------------------------------------------
// GoBGP.

/// A GoBGP configuration for host `last`: iBGP sessions with `neighbors`
/// (IPv4 and IPv6 unicast over IPv4) with `hold_time`.
pub fn gobgp_config(net: Net, last: u8, hold_time: u16, neighbors: &[Ipv4Addr]) -> String {
    let me = net.v4(last);
    let mut text = format!(
        r#"[global.config]
  as = {ASN}
  router-id = "{me}"
  local-address-list = ["{me}"]
"#
    );
    for neighbor in neighbors {
        text += &format!(
            r#"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "{neighbor}"
    peer-as = {ASN}
  [neighbors.timers.config]
    connect-retry = 2
    hold-time = {hold_time}
    keepalive-interval = {keepalive}
  [neighbors.transport.config]
    local-address = "{me}"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
"#,
            keepalive = (hold_time / 3).max(1),
        );
    }
    text
}

fn family_of(prefix: &str) -> &'static str {
    if prefix.contains(':') { "ipv6" } else { "ipv4" }
}

/// Originate `prefix` at GoBGP with next hop `next_hop`.
pub fn gobgp_announce(gobgp: &Gobgp, prefix: &str, next_hop: &str) {
    gobgp
        .query(&[
            "global",
            "rib",
            "-a",
            family_of(prefix),
            "add",
            prefix,
            "nexthop",
            next_hop,
        ])
        .unwrap_or_else(|e| panic!("gobgp rib add {prefix}: {e}"));
}

/// Withdraw a route GoBGP originated.
pub fn gobgp_withdraw(gobgp: &Gobgp, prefix: &str) {
    gobgp
        .query(&["global", "rib", "-a", family_of(prefix), "del", prefix])
        .unwrap_or_else(|e| panic!("gobgp rib del {prefix}: {e}"));
}

/// One path of `gobgp global rib -j`.
#[derive(Debug, Clone, Default)]
pub struct GobgpPath {
    /// The prefix.
    pub prefix: String,
    /// The neighbour it came from.
    pub neighbor: Option<String>,
    /// NEXT_HOP or the MP_REACH_NLRI next hop.
    pub next_hop: Option<String>,
    /// ORIGINATOR_ID.
    pub originator_id: Option<String>,
    /// CLUSTER_LIST, in order.
    pub cluster_list: Vec<String>,
}

/// Every path of GoBGP's global RIB, both families.
pub fn gobgp_paths(gobgp: &Gobgp) -> Vec<GobgpPath> {
    let mut out = Vec::new();
    for family in ["ipv4", "ipv6"] {
        let Ok(json) = gobgp.rib_json(family) else {
            continue;
        };
        let Some(destinations) = json.as_object() else {
            continue;
        };
        for (prefix, paths) in destinations {
            for path in paths.as_array().into_iter().flatten() {
                let mut entry = GobgpPath {
                    prefix: prefix.clone(),
                    neighbor: path["neighbor-ip"].as_str().map(str::to_string),
                    ..GobgpPath::default()
                };
                for attr in path["attrs"].as_array().into_iter().flatten() {
                    match attr["type"].as_u64() {
                        Some(3) | Some(14) => {
                            entry.next_hop = attr["nexthop"].as_str().map(str::to_string);
                        }
                        Some(9) => entry.originator_id = attr["value"].as_str().map(str::to_string),
                        Some(10) => {
                            entry.cluster_list = attr["value"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(|v| v.as_str().map(str::to_string))
                                .collect();
                        }
                        _ => {}
                    }
                }
                out.push(entry);
            }
        }
    }
    out
}

/// GoBGP's path of `prefix` learned from `neighbor`.
pub fn at_gobgp(gobgp: &Gobgp, neighbor: Ipv4Addr, prefix: &str) -> Option<GobgpPath> {
    let neighbor = neighbor.to_string();
    gobgp_paths(gobgp)
        .into_iter()
        .find(|p| p.prefix == prefix && p.neighbor.as_deref() == Some(neighbor.as_str()))
}

/// GoBGP's log, neighbours and RIB, for failure messages.
pub fn gobgp_report(lab: &Lab, gobgp: &Gobgp) -> String {
    let q = |args: &[&str]| gobgp.query(args).unwrap_or_else(|e| e.to_string());
    format!(
        "--- {0} log ---\n{1}\n--- {0} neighbors ---\n{2}\n--- {0} ipv4 ---\n{3}\n--- {0} ipv6 ---\n{4}\n",
        gobgp.label,
        lab.log(&gobgp.label),
        q(&["neighbor"]),
        q(&["global", "rib", "-a", "ipv4"]),
        q(&["global", "rib", "-a", "ipv6"]),
    )
}

// ---------------------------------------------------------------------------
// FRR.

/// An FRR bgpd configuration for host `last`: iBGP sessions with
/// `neighbors` (IPv4 and IPv6 unicast over IPv4, `hold_time`) and a
/// `network` statement per prefix of `routes`. bgpd runs without zebra, so
/// the IPv6 next hop of its own routes is set by a route map.
pub fn frr_config(
    net: Net,
    last: u8,
    hold_time: u16,
    neighbors: &[Ipv4Addr],
    routes: &[String],
) -> String {
    let me = net.v4(last);
    let me6 = net.v6(last);
    let keepalive = (hold_time / 3).max(1);
    let mut sessions = String::new();
    let mut v4 = String::new();
    let mut v6 = String::new();
    for n in neighbors {
        sessions += &format!(
            " neighbor {n} remote-as {ASN}\n neighbor {n} update-source {me}\n neighbor {n} timers {keepalive} {hold_time}\n neighbor {n} timers connect 2\n"
        );
        v6 += &format!("  neighbor {n} activate\n  neighbor {n} route-map V6NH out\n");
    }
    for prefix in routes {
        if prefix.contains(':') {
            v6 += &format!("  network {prefix}\n");
        } else {
            v4 += &format!("  network {prefix}\n");
        }
    }
    format!(
        r#"frr defaults traditional
log stdout informational
!
bgp as-path access-list LOCAL seq 5 permit ^$
!
route-map V6NH permit 10
 match as-path LOCAL
 set ipv6 next-hop global {me6}
exit
route-map V6NH permit 20
exit
!
router bgp {ASN}
 bgp router-id {me}
 no bgp ebgp-requires-policy
 no bgp network import-check
{sessions} !
 address-family ipv4 unicast
{v4} exit-address-family
 !
 address-family ipv6 unicast
{v6} exit-address-family
exit
"#
    )
}

/// Withdraw a route FRR originates (`no network`).
pub fn frr_withdraw(frr: &Frr, prefix: &str) {
    let vty = frr.vty_dir.to_string_lossy().into_owned();
    let af = format!("address-family {} unicast", family_of(prefix));
    let router = format!("router bgp {ASN}");
    let no_network = format!("no network {prefix}");
    frr.host
        .run(&[
            "vtysh",
            "--vty_socket",
            &vty,
            "-d",
            "bgpd",
            "-c",
            "configure terminal",
            "-c",
            &router,
            "-c",
            &af,
            "-c",
            &no_network,
        ])
        .unwrap_or_else(|e| panic!("vtysh no network {prefix}: {e}"));
}

/// One path of FRR's `show bgp <family> unicast <prefix> json`.
#[derive(Debug, Clone, Default)]
pub struct FrrPath {
    /// The peer it came from.
    pub peer: String,
    /// Usable (FRR's `valid`).
    pub valid: bool,
    /// The global next hop.
    pub next_hop: Option<String>,
    /// ORIGINATOR_ID.
    pub originator_id: Option<String>,
    /// CLUSTER_LIST, in order.
    pub cluster_list: Vec<String>,
}

/// FRR's paths of `prefix`.
pub fn at_frr(frr: &Frr, prefix: &str) -> Vec<FrrPath> {
    let Ok(json) = frr.query_json(&format!(
        "show bgp {} unicast {prefix} json",
        family_of(prefix)
    )) else {
        return Vec::new();
    };
    // FRR answers a longest match when the prefix is unknown: check it.
    if json["prefix"].as_str() != Some(prefix) {
        return Vec::new();
    }
    json["paths"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|path| FrrPath {
            peer: path["peer"]["peerId"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            valid: path["valid"].as_bool() == Some(true),
            next_hop: path["nexthops"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|h| h["scope"].as_str() != Some("link-local"))
                .and_then(|h| h["ip"].as_str())
                .map(str::to_string),
            originator_id: path["originatorId"].as_str().map(str::to_string),
            cluster_list: path["clusterList"]["list"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        })
        .collect()
}

/// Is FRR's session with `neighbor` Established?
pub fn frr_established(frr: &Frr, neighbor: Ipv4Addr) -> bool {
    let neighbor = neighbor.to_string();
    frr.query_json(&format!("show bgp neighbors {neighbor} json"))
        .map(|j| j[neighbor.as_str()]["bgpState"].as_str() == Some("Established"))
        .unwrap_or(false)
}

/// FRR's log and tables, for failure messages.
pub fn frr_report(lab: &Lab, frr: &Frr) -> String {
    let q = |c: &str| frr.query(c).unwrap_or_else(|e| e.to_string());
    format!(
        "--- {0} log ---\n{1}\n--- {0} summary ---\n{2}\n--- {0} ipv4 ---\n{3}\n--- {0} ipv6 ---\n{4}\n",
        frr.label,
        lab.log(&frr.label),
        q("show bgp summary"),
        q("show bgp ipv4 unicast"),
        q("show bgp ipv6 unicast"),
    )
}
