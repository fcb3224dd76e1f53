//! Shared helpers of the interop tests (`interop_*.rs`): a dual-stack lab
//! of two hosts, our speaker in a tokio runtime inside a namespace, bounded
//! waits that fail with diagnostics, and route and capability checks.
//!
//! The speaker's runtime is built on a thread that has joined the host's
//! namespace, so its worker threads (and every socket they open) live in
//! the namespace. Futures that open sockets are always spawned onto the
//! runtime, never polled by `block_on` on the test thread, which stays in
//! the root namespace to run the daemons' CLIs.
#![allow(dead_code)]

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use bgp_proto::attribute::{AsPath, NextHop, Origin, PathAttribute};
use bgp_proto::capability::AddPathMode;
use bgp_proto::iana::AfiSafi;
use bgp_proto::session::{Negotiated, PeerAs};
use bgp_speaker::config::{AddPathSend, PeerConfig, PeerOptions, SpeakerConfig};
use bgp_speaker::speaker::{NeighborState, NeighborStatus, RouteStatus, Speaker, SpeakerHandle};
use bgp_speaker::{Path, PathAttrs};
use ipnetwork::IpNetwork;
use reflex_testlab::{Host, Lab};

/// Every wait of these tests is bounded by at most this.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

/// The two families every session carries.
pub const FAMILIES: [AfiSafi; 2] = [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST];

/// A lab of two hosts on one dual-stack link: the daemon's host (`.1`,
/// `::1`) and our speaker's host (`.2`, `::2`), on `10.210.<net>.0/24` and
/// `fd00:210:<net>::/64`.
#[derive(Debug)]
pub struct DualStack {
    /// The lab (drop it last).
    pub lab: Lab,
    /// The daemon's host.
    pub daemon: Host,
    /// Our speaker's host.
    pub speaker: Host,
    /// The daemon's IPv4 link address.
    pub daemon_v4: Ipv4Addr,
    /// Our IPv4 link address.
    pub speaker_v4: Ipv4Addr,
    /// The daemon's IPv6 link address.
    pub daemon_v6: Ipv6Addr,
    /// Our IPv6 link address.
    pub speaker_v6: Ipv6Addr,
    /// The daemon's interface on the link.
    pub daemon_if: String,
    /// Our interface on the link.
    pub speaker_if: String,
}

impl DualStack {
    /// Build the lab; `tag` names it, `net` picks the subnets (one per
    /// test file, so the tests can run in parallel).
    pub fn new(tag: &str, net: u8) -> DualStack {
        let mut lab = Lab::new(tag).expect("lab");
        let daemon = lab.host("d").expect("daemon host");
        let speaker = lab.host("s").expect("speaker host");
        let daemon_v4 = Ipv4Addr::new(10, 210, net, 1);
        let speaker_v4 = Ipv4Addr::new(10, 210, net, 2);
        let daemon_v6: Ipv6Addr = format!("fd00:210:{net}::1").parse().unwrap();
        let speaker_v6: Ipv6Addr = format!("fd00:210:{net}::2").parse().unwrap();
        let (d_if, s_if) = lab
            .link(
                &daemon,
                &format!("{daemon_v4}/24"),
                &speaker,
                &format!("{speaker_v4}/24"),
            )
            .expect("link");
        daemon
            .add_address(&d_if, &format!("{daemon_v6}/64"))
            .expect("daemon IPv6 address");
        speaker
            .add_address(&s_if, &format!("{speaker_v6}/64"))
            .expect("speaker IPv6 address");
        DualStack {
            lab,
            daemon,
            speaker,
            daemon_v4,
            speaker_v4,
            daemon_v6,
            speaker_v6,
            daemon_if: d_if,
            speaker_if: s_if,
        }
    }
}

/// Our speaker, running in a tokio runtime inside a lab host.
#[derive(Debug)]
pub struct NsSpeaker {
    /// `None` once crashed.
    rt: Option<tokio::runtime::Runtime>,
    /// The speaker's handle.
    pub handle: SpeakerHandle,
}

impl NsSpeaker {
    /// Start a speaker with `config` inside `host`.
    pub fn start(host: &Host, config: SpeakerConfig) -> NsSpeaker {
        Self::try_start(host, config).expect("speaker starts")
    }

    /// Start a speaker, retrying for a few seconds while its listening
    /// address is still taken (by a speaker that has just crashed).
    pub fn start_retrying(host: &Host, config: SpeakerConfig) -> NsSpeaker {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match Self::try_start(host, config.clone()) {
                Ok(speaker) => return speaker,
                Err(error) if Instant::now() < deadline => {
                    eprintln!("speaker start: {error}; retrying");
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(error) => panic!("speaker starts: {error}"),
            }
        }
    }

    fn try_start(host: &Host, config: SpeakerConfig) -> Result<NsSpeaker, String> {
        init_tracing();
        let rt = host
            .enter(|| {
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
            })
            .expect("enter the speaker's host")
            .expect("tokio runtime");
        let handle = rt
            .block_on(rt.spawn(Speaker::start(config)))
            .expect("start task")
            .map_err(|e| e.to_string())?;
        Ok(NsSpeaker {
            rt: Some(rt),
            handle,
        })
    }

    fn rt(&self) -> &tokio::runtime::Runtime {
        self.rt.as_ref().expect("the speaker is running")
    }

    /// Stop the speaker as a crash would: its runtime is dropped, so every
    /// connection closes without a NOTIFICATION.
    pub fn crash(&mut self) {
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }

    /// Run `future` on the speaker's runtime (inside the namespace).
    pub fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let rt = self.rt();
        rt.block_on(rt.spawn(future)).expect("task")
    }

    /// Add a peer.
    pub fn add_peer(&self, address: IpAddr, options: PeerOptions) {
        let handle = self.handle.clone();
        self.run(async move { handle.add_peer(PeerConfig { address, options }).await })
            .expect("add_peer");
    }

    /// Every neighbour.
    pub fn neighbors(&self) -> Vec<NeighborStatus> {
        let handle = self.handle.clone();
        self.run(async move { handle.neighbors().await })
            .unwrap_or_default()
    }

    /// The neighbour at `address`.
    pub fn neighbor(&self, address: IpAddr) -> Option<NeighborStatus> {
        self.neighbors().into_iter().find(|n| n.address == address)
    }

    /// Is the session with `address` Established?
    pub fn established(&self, address: IpAddr) -> bool {
        self.neighbor(address)
            .is_some_and(|n| n.state == NeighborState::Established)
    }

    /// Loc-RIB of `family`.
    pub fn routes(&self, family: AfiSafi) -> Vec<RouteStatus> {
        let handle = self.handle.clone();
        self.run(async move { handle.routes(family, None).await })
            .unwrap_or_default()
    }

    /// The paths of one prefix, best first, with the peer address each
    /// came from.
    pub fn paths(&self, family: AfiSafi, prefix: &str) -> Vec<(Path, Option<IpAddr>)> {
        let handle = self.handle.clone();
        let prefix = net(prefix);
        self.run(async move { handle.routes(family, Some(prefix)).await })
            .unwrap_or_default()
            .into_iter()
            .flat_map(|r| r.paths)
            .collect()
    }

    /// Originate a route.
    pub fn originate(&self, family: AfiSafi, prefix: &str, attrs: PathAttrs) {
        let handle = self.handle.clone();
        let prefix = net(prefix);
        self.run(async move { handle.originate(family, prefix, attrs).await })
            .expect("originate");
    }

    /// Withdraw a route we originated.
    pub fn withdraw(&self, family: AfiSafi, prefix: &str) {
        let handle = self.handle.clone();
        let prefix = net(prefix);
        self.run(async move { handle.withdraw(family, prefix).await })
            .expect("withdraw");
    }

    /// The update groups and their counters.
    pub fn groups(&self) -> Vec<bgp_speaker::adj_out::GroupStats> {
        let handle = self.handle.clone();
        self.run(async move { handle.groups().await })
            .unwrap_or_default()
    }

    /// Neighbours and Loc-RIB as text, for failure messages.
    pub fn describe(&self) -> String {
        if self.rt.is_none() {
            return "--- our speaker: crashed ---\n".into();
        }
        let mut out = String::from("--- our speaker: neighbors ---\n");
        for n in self.neighbors() {
            out += &format!("{n:#?}\n");
        }
        for family in FAMILIES {
            out += &format!("--- our speaker: Loc-RIB {family} ---\n");
            for route in self.routes(family) {
                for (path, from) in &route.paths {
                    out += &format!(
                        "{} id={} from={:?} stale={} nh={:?} attrs={:?}\n",
                        route.prefix,
                        path.path_id,
                        from,
                        path.stale,
                        path.attrs.next_hop,
                        path.attrs.attributes
                    );
                }
            }
        }
        out += "--- our speaker: update groups ---\n";
        for group in self.groups() {
            out += &format!(
                "{:?} {:?} members={} routes={} not_exported={:?}\n",
                group.id, group.role, group.members, group.routes, group.not_exported
            );
        }
        out
    }
}

impl Drop for NsSpeaker {
    fn drop(&mut self) {
        let Some(rt) = self.rt.take() else {
            return;
        };
        let handle = self.handle.clone();
        let _ = rt.block_on(rt.spawn(async move {
            let _ =
                tokio::time::timeout(Duration::from_secs(3), handle.shutdown("test over")).await;
        }));
        rt.shutdown_background();
    }
}

/// Log the speaker's tracing events to the test output when `RUST_LOG`
/// is set (`RUST_LOG=bgp_speaker=debug cargo test ... -- --nocapture`).
pub fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_ansi(false)
            .with_test_writer()
            .try_init();
    }
}

/// A speaker config listening on `listen:179`.
pub fn speaker_config(asn: u32, router_id: Ipv4Addr, listen: IpAddr) -> SpeakerConfig {
    let mut config = SpeakerConfig::new(asn, router_id);
    config.listen = vec![SocketAddr::new(listen, bgp_proto::iana::BGP_PORT)];
    config
}

/// An iBGP peer from `local`: IPv4 and IPv6 unicast, ADD-PATH send and
/// receive for both with every path sent, graceful restart on (the
/// default), quick retries.
pub fn ibgp_options(asn: u32, local: IpAddr) -> PeerOptions {
    let mut options = PeerOptions::new(PeerAs::Exact(asn));
    options.families = FAMILIES.to_vec();
    options.local_address = Some(local);
    options.connect_retry = Duration::from_secs(2);
    options.add_path = FAMILIES.iter().map(|&f| (f, AddPathMode::Both)).collect();
    options.add_path_send = AddPathSend::All;
    options
}

/// The prefixes our speaker originates in the two-host tests:
/// 10.210.<n>.0/24 and fd00:210:<n>::/48 for n = 201, 202, 203 but `skip`.
pub fn our_prefixes(skip: &[u8]) -> Vec<(AfiSafi, String)> {
    let mut out = Vec::new();
    for n in [201u8, 202, 203] {
        if !skip.contains(&n) {
            out.push((AfiSafi::IPV4_UNICAST, format!("10.210.{n}.0/24")));
            out.push((AfiSafi::IPV6_UNICAST, format!("fd00:210:{n}::/48")));
        }
    }
    out
}

/// Our link address of the family, the next hop of our routes.
pub fn our_next_hop(lab: &DualStack, family: AfiSafi) -> IpAddr {
    if family == AfiSafi::IPV4_UNICAST {
        IpAddr::V4(lab.speaker_v4)
    } else {
        IpAddr::V6(lab.speaker_v6)
    }
}

/// Parse a prefix.
pub fn net(prefix: &str) -> IpNetwork {
    prefix.parse().expect("prefix")
}

/// Attributes of a route we originate with next hop `next_hop`.
pub fn local_attrs(next_hop: IpAddr) -> PathAttrs {
    PathAttrs {
        next_hop: match next_hop {
            IpAddr::V4(v4) => NextHop::V4(v4),
            IpAddr::V6(global) => NextHop::V6 {
                global,
                link_local: None,
            },
        },
        attributes: vec![
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::default()),
        ],
    }
}

/// The IP address of a next hop (the global one for IPv6).
pub fn next_hop_ip(next_hop: &NextHop) -> Option<IpAddr> {
    match next_hop {
        NextHop::V4(v4) => Some(IpAddr::V4(*v4)),
        NextHop::V6 { global, .. } => Some(IpAddr::V6(*global)),
        NextHop::Raw(_) => None,
    }
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

/// Check the negotiated session: both families, ADD-PATH in the expected
/// directions for both, graceful restart.
pub fn assert_negotiated(negotiated: &Negotiated, add_path_receive: bool, add_path_send: bool) {
    for family in FAMILIES {
        assert!(
            negotiated.has_family(family),
            "{family} negotiated: {negotiated:#?}"
        );
        assert_eq!(
            negotiated.add_path_receive.contains(family),
            add_path_receive,
            "ADD-PATH receive for {family}: {negotiated:#?}"
        );
        assert_eq!(
            negotiated.add_path_send.contains(family),
            add_path_send,
            "ADD-PATH send for {family}: {negotiated:#?}"
        );
    }
    assert!(
        negotiated.graceful_restart,
        "graceful restart negotiated: {negotiated:#?}"
    );
    assert!(
        negotiated.peer_graceful_restart.is_some(),
        "the peer's graceful restart capability: {negotiated:#?}"
    );
}

/// The next hops (global address) of the paths of `prefix` that came from
/// `peer`, with their path ids.
pub fn paths_from(
    speaker: &NsSpeaker,
    family: AfiSafi,
    prefix: &str,
    peer: IpAddr,
) -> Vec<(u32, Option<IpAddr>)> {
    let mut paths: Vec<(u32, Option<IpAddr>)> = speaker
        .paths(family, prefix)
        .into_iter()
        .filter(|(_, from)| *from == Some(peer))
        .map(|(path, _)| (path.path_id, next_hop_ip(&path.attrs.next_hop)))
        .collect();
    paths.sort();
    paths
}

// Not every test of this module reads BIRD's routes.
#[allow(unused_imports)]
pub use reflex_testlab::daemons::{BirdRoute, bird::parse_routes as parse_bird_routes};

/// One path of GoBGP's `gobgp global rib -a <family> -j`.
#[derive(Debug, Clone, Default)]
pub struct GobgpPath {
    /// The prefix.
    pub prefix: String,
    /// The next hop (NEXT_HOP, or the MP_REACH_NLRI next hop).
    pub next_hop: Option<String>,
    /// The neighbour it came from (none for local routes).
    pub neighbor: Option<String>,
    /// Marked stale (graceful restart).
    pub stale: bool,
    /// The ADD-PATH identifier, when shown.
    pub id: Option<u64>,
    /// ORIGINATOR_ID.
    pub originator_id: Option<String>,
    /// CLUSTER_LIST.
    pub cluster_list: Vec<String>,
    /// LOCAL_PREF.
    pub local_pref: Option<u64>,
}

/// GoBGP's global RIB of `family` ("ipv4" or "ipv6"), and its raw JSON.
pub fn gobgp_rib(gobgp: &reflex_testlab::daemons::Gobgp, family: &str) -> (Vec<GobgpPath>, String) {
    let Ok(json) = gobgp.rib_json(family) else {
        return (Vec::new(), String::new());
    };
    let raw = json.to_string();
    let mut out = Vec::new();
    let Some(destinations) = json.as_object() else {
        return (out, raw);
    };
    for (prefix, paths) in destinations {
        for path in paths.as_array().into_iter().flatten() {
            let mut entry = GobgpPath {
                prefix: prefix.clone(),
                neighbor: path
                    .get("neighbor-ip")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                stale: path.get("stale").and_then(|v| v.as_bool()).unwrap_or(false),
                id: path.get("id").and_then(|v| v.as_u64()),
                ..GobgpPath::default()
            };
            for attr in path
                .get("attrs")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                let value = attr.get("value");
                match attr.get("type").and_then(|v| v.as_u64()) {
                    Some(3) | Some(14) => {
                        entry.next_hop = attr
                            .get("nexthop")
                            .and_then(|v| v.as_str())
                            .map(str::to_string);
                    }
                    Some(5) => entry.local_pref = value.and_then(|v| v.as_u64()),
                    Some(9) => {
                        entry.originator_id = value.and_then(|v| v.as_str()).map(str::to_string);
                    }
                    Some(10) => {
                        entry.cluster_list = value
                            .and_then(|v| v.as_array())
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
    (out, raw)
}
