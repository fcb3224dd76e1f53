//! The API's JSON documents. They derive `Deserialize` too, so the CLI
//! and tests read them back.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};

/// `GET /api/v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// `bgp-client`'s version.
    pub version: String,
    /// `node.name`.
    pub node: String,
    /// The AS.
    pub asn: u32,
    /// The BGP identifier.
    pub router_id: Ipv4Addr,
    /// Seconds since the daemon started.
    pub uptime_seconds: f64,
    /// The configuration file.
    pub config: String,
    /// The first kernel dump has been read and advertised.
    pub synced: bool,
    /// Reflector sessions: `total`, `established`, `down`.
    pub reflectors: BTreeMap<String, usize>,
    /// Prefixes advertised to the reflectors.
    pub routes_advertised: usize,
    /// Routes installed in the kernel.
    pub routes_installed: usize,
    /// Successful reloads.
    pub reloads_ok: u64,
    /// Refused reloads.
    pub reloads_failed: u64,
    /// Why the last reload was refused, if it was.
    pub last_reload_error: Option<String>,
    /// Settings changed in the file that wait for a restart.
    pub restart_pending: Vec<String>,
    /// The datastore link, when the reflectors and pools come from one.
    #[serde(default)]
    pub datastore: Option<DatastoreStatus>,
}

/// Whether the datastore is in step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatastoreState {
    /// Not in sync yet.
    Connecting,
    /// Every kind is listed and watched.
    Connected,
    /// Unreachable: the last known state is in force, retries go on.
    Disconnected,
}

/// A peering of the node the agent does not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedPeering {
    /// The peer.
    pub address: IpAddr,
    /// Why not.
    pub reason: String,
}

/// `GET /api/v1/status`: `datastore`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatastoreStatus {
    /// `etcd`.
    pub kind: String,
    /// The endpoints.
    pub endpoints: Vec<String>,
    /// Connected or not.
    pub state: DatastoreState,
    /// Seconds in this state.
    pub state_seconds: f64,
    /// The last error while unreachable.
    pub last_error: Option<String>,
    /// The datastore revision of the last snapshot.
    pub revision: i64,
    /// The node's `Node` resource has the client's addresses (and AS).
    pub node_registered: bool,
    /// The reflectors the resources give the node.
    pub reflectors: Vec<IpAddr>,
    /// The enabled IP pools: what may be advertised.
    pub pools: Vec<IpNetwork>,
    /// Peerings of the node that are not run, and why.
    pub skipped: Vec<SkippedPeering>,
    /// Changes of the resources applied to the agent.
    pub updates_applied: u64,
    /// Times the datastore became unreachable.
    pub disconnects: u64,
    /// Settings the resources changed that wait for a restart (`node.asn`).
    #[serde(default)]
    pub restart_required: Vec<String>,
}

/// Session state as the API reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionState {
    /// Up.
    Established,
    /// Anything else.
    Down,
}

/// `GET /api/v1/neighbors`: one reflector session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neighbor {
    /// The reflector's address.
    pub address: IpAddr,
    /// Its TCP port.
    pub port: Option<u16>,
    /// Its AS (ours: iBGP).
    pub asn: Option<u32>,
    /// Session state.
    pub state: SessionState,
    /// Seconds since the last change of state.
    pub uptime_seconds: f64,
    /// The reflector's BGP identifier, once up.
    pub router_id: Option<Ipv4Addr>,
    /// Negotiated hold time, seconds, once up.
    pub hold_time: Option<u64>,
    /// Families negotiated, once up.
    pub families: Vec<String>,
    /// Both sides announced graceful restart (RFC 4724), once up.
    pub graceful_restart: Option<bool>,
    /// Prefixes accepted from the reflector now (in).
    pub prefixes_received: u64,
    /// Prefixes advertised to it (out) while Established, else 0: the
    /// speaker's count of the session's Adj-RIB-Out, or (while it catches
    /// up) the node's advertised prefixes of the negotiated families.
    pub prefixes_sent: u64,
    /// UPDATEs received since the agent started.
    pub updates_received: u64,
    /// Messages queued to the reflector in its current session (UPDATEs
    /// and End-of-RIB).
    #[serde(default)]
    pub updates_sent: Option<u64>,
    /// Bytes queued towards the reflector.
    pub out_queue_bytes: usize,
    /// Why the session last went down.
    pub last_error: Option<String>,
}

/// One path of a learned route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutePath {
    /// The reflector it came from.
    pub from: Option<IpAddr>,
    /// ADD-PATH identifier (0 without ADD-PATH).
    pub path_id: u32,
    /// The best path.
    pub best: bool,
    /// Kept from a lost reflector (graceful restart).
    pub stale: bool,
    /// Next hop.
    pub next_hop: String,
    /// ORIGINATOR_ID: the node that announced it (RFC 4456).
    pub originator_id: Option<Ipv4Addr>,
}

/// What the kernel has of a learned prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstallState {
    /// Our route is in the kernel with the wanted next hops.
    Installed,
    /// Wanted but not in the kernel (refused: see the logs).
    Failed,
    /// A route of another protocol holds the prefix: ours is not written.
    Foreign,
    /// Our route from a previous run, not learned again (yet).
    Stale,
    /// Nothing to install (the best path is our own, or its next hop is
    /// one of our addresses).
    None,
}

/// `GET /api/v1/routes`: one prefix learned from the reflectors (or left
/// in the kernel from a previous run).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// `ipv4-unicast` or `ipv6-unicast`.
    pub family: String,
    /// The prefix.
    pub prefix: IpNetwork,
    /// Its paths from the reflectors, best first.
    pub paths: Vec<RoutePath>,
    /// The kernel's side.
    pub kernel: InstallState,
    /// Next hops of our route in the kernel (several: multipath).
    pub installed: Vec<IpAddr>,
    /// Next hops BGP wants installed.
    pub wanted: Vec<IpAddr>,
    /// The table it is installed in.
    pub table: u32,
    /// Its metric.
    pub metric: u32,
}

/// A next hop of a kernel route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelNextHop {
    /// Gateway.
    pub gateway: Option<IpAddr>,
    /// Output interface.
    pub interface: Option<String>,
}

/// `GET /api/v1/kernel`: one route read from the kernel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelRoute {
    /// The prefix.
    pub prefix: IpNetwork,
    /// Table.
    pub table: u32,
    /// Protocol name (`kernel`, `boot`, `static`, ...) or number.
    pub protocol: String,
    /// Route type (`unicast`, `blackhole`, ...).
    pub kind: String,
    /// Metric (priority).
    pub metric: u32,
    /// Next hops.
    pub next_hops: Vec<KernelNextHop>,
    /// The prefix is advertised to the reflectors.
    pub advertised: bool,
    /// The export rule that selected it: `export.rule[1]`.
    pub rule: Option<String>,
    /// Why it is not selected (`protocol 186 is Reflex's own`, `outside
    /// the pools`, `no rule matches`).
    pub reason: Option<String>,
}

/// A configuration finding (a refused reload's errors, warnings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// `error` or `warning`.
    pub severity: String,
    /// Line, if known.
    pub line: Option<usize>,
    /// Column, if known.
    pub column: Option<usize>,
    /// The field path (`reflector[1].address`).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// The whole finding as one line (`file:line:col: path: message`).
    pub text: String,
}

/// A reflector whose session was reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reset {
    /// Its address.
    pub address: IpAddr,
    /// The settings that changed.
    pub changed: Vec<String>,
}

/// `POST /api/v1/reload`, on success.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadResult {
    /// Reflectors started.
    pub added: Vec<IpAddr>,
    /// Reflectors stopped.
    pub removed: Vec<IpAddr>,
    /// Reflectors reset.
    pub reset: Vec<Reset>,
    /// Reflectors left alone.
    pub unchanged: usize,
    /// The export selection changed.
    pub export_changed: bool,
    /// Prefixes advertised because of it.
    pub originated: usize,
    /// Prefixes withdrawn because of it.
    pub withdrawn: usize,
    /// Installed routes moved to the new table or metric.
    pub install_moved: bool,
    /// Settings that changed but wait for a restart.
    pub restart_required: Vec<String>,
    /// Reflectors the speaker refused, with its error.
    pub failed: Vec<(IpAddr, String)>,
    /// Warnings about the new file.
    pub warnings: Vec<Finding>,
}

/// An error document: `{"error": "...", "findings": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
    /// Configuration findings, for a refused reload.
    #[serde(default)]
    pub findings: Vec<Finding>,
}
