//! The JSON documents of the operations API. The CLI reads the same types
//! back, so they derive both `Serialize` and `Deserialize`.

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use crate::reload::Reset;

/// `GET /api/v1/summary`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The daemon's version.
    pub version: String,
    /// Our AS.
    pub asn: u32,
    /// Our BGP identifier.
    pub router_id: Ipv4Addr,
    /// Cluster IDs in use, the default first.
    pub cluster_ids: Vec<Ipv4Addr>,
    /// Seconds since the daemon started.
    pub uptime_seconds: f64,
    /// Where the configuration came from.
    pub config: String,
    /// Sessions by state (`established`, `down`), and `total`, `dynamic`.
    pub peers: BTreeMap<String, usize>,
    /// Prefixes accepted from all peers (sum of the neighbours' counts).
    pub prefixes_received: u64,
    /// Prefixes in the Loc-RIB, by family.
    pub loc_rib_prefixes: BTreeMap<String, usize>,
    /// Update groups.
    pub update_groups: usize,
    /// Settings changed in the file that wait for a restart.
    pub restart_pending: Vec<String>,
    /// Redundancy set-ups that are known to lose routes, found from the
    /// live sessions (see [`crate::redundancy`]).
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// The datastore, in datastore mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datastore: Option<DatastoreSummary>,
}

/// The datastore's state in the summary (datastore mode only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatastoreSummary {
    /// `etcd`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its endpoints.
    pub endpoints: Vec<String>,
    /// Our Node resource.
    pub node: String,
    /// `connected`, `connecting` or `disconnected`.
    pub state: String,
    /// Whether the resources are in step with etcd; when not, the
    /// reflector runs on the last known ones.
    pub connected: bool,
    /// Seconds in this state.
    pub state_seconds: f64,
    /// The last error while not connected.
    pub error: Option<String>,
    /// The revision of the resources applied last.
    pub revision: i64,
    /// Neighbours derived from the resources.
    pub peerings: usize,
    /// Snapshots of the resources applied since the start.
    pub updates_applied: u64,
    /// Why the last snapshot gave no configuration (our Node missing), if so.
    pub problem: Option<String>,
    /// Peerings left out and other notes of the last derivation.
    pub notes: Vec<String>,
    /// Where our per-peer status keys are.
    pub status_prefix: String,
}

/// A warning with its kind and a sentence for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// The finding, with its fields.
    #[serde(flatten)]
    pub finding: crate::redundancy::RedundancyWarning,
    /// What it means and what to do.
    pub message: String,
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

/// What an Established session negotiated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capabilities {
    /// `ibgp` or `ebgp`.
    pub peer_type: String,
    /// Families both sides announced.
    pub families: Vec<String>,
    /// 4-octet AS numbers (RFC 6793).
    pub four_octet_as: bool,
    /// Families we send path identifiers for (RFC 7911).
    pub add_path_send: Vec<String>,
    /// Families we receive path identifiers for.
    pub add_path_receive: Vec<String>,
    /// Extended messages (RFC 8654).
    pub extended_message: bool,
    /// Route refresh (RFC 2918).
    pub route_refresh: bool,
    /// Enhanced route refresh (RFC 7313).
    pub enhanced_route_refresh: bool,
    /// Both sides announced graceful restart (RFC 4724).
    pub graceful_restart: bool,
    /// The restart time the peer announced.
    pub peer_restart_time: Option<u16>,
    /// Negotiated hold time, seconds.
    pub hold_time: u64,
    /// Keepalive interval, seconds.
    pub keepalive: u64,
}

/// `GET /api/v1/neighbors` (a list) and `/api/v1/neighbors/{address}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Neighbor {
    /// The peer's address.
    pub address: IpAddr,
    /// Its AS (configured, or negotiated once up).
    pub asn: Option<u32>,
    /// Session state.
    pub state: SessionState,
    /// Seconds since the last change of state.
    pub uptime_seconds: f64,
    /// Accepted from a dynamic range.
    pub dynamic: bool,
    /// Route-reflector client (from its configuration or its dynamic range).
    pub client: Option<bool>,
    /// The operator's description.
    pub description: Option<String>,
    /// The peer's BGP identifier, once up.
    pub router_id: Option<Ipv4Addr>,
    /// What was negotiated, once up.
    pub capabilities: Option<Capabilities>,
    /// Prefixes accepted from the peer now.
    pub prefixes_received: u64,
    /// Routes advertised to the peer now, while it is in sync with its
    /// update group (`null` while it catches up).
    pub prefixes_sent: Option<u64>,
    /// UPDATEs received since the speaker started.
    pub updates_received: u64,
    /// Messages queued to the peer in its current session (UPDATEs and
    /// End-of-RIB markers).
    pub updates_sent: Option<u64>,
    /// Bytes queued towards the peer.
    pub out_queue_bytes: usize,
    /// Seconds the oldest of those bytes has waited (`null` when nothing
    /// is queued): how far behind the peer is.
    #[serde(default)]
    pub out_queue_age_seconds: Option<f64>,
    /// Why the session last went down.
    pub last_error: Option<String>,
    /// Routes dropped by loop detection since the neighbour was added.
    #[serde(default)]
    pub loop_drops: LoopDrops,
    /// ORIGINATOR_IDs of the routes dropped because their CLUSTER_LIST
    /// holds one of our cluster IDs (the most recent few, last newest).
    #[serde(default)]
    pub cluster_loop_originators: Vec<Ipv4Addr>,
}

/// Prefixes dropped by loop detection, per reason.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoopDrops {
    /// AS_PATH holds our AS (RFC 4271 section 9.1.2).
    pub as_path: u64,
    /// ORIGINATOR_ID is our router ID (RFC 4456 section 8).
    pub originator_id: u64,
    /// CLUSTER_LIST holds one of our cluster IDs (RFC 4456 section 8).
    pub cluster_list: u64,
}

/// One path of a route.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutePath {
    /// The peer it came from; `None` for routes of this speaker.
    pub from: Option<IpAddr>,
    /// ADD-PATH identifier (0 without ADD-PATH).
    pub path_id: u32,
    /// The best path.
    pub best: bool,
    /// Kept from a restarting peer (RFC 4724).
    pub stale: bool,
    /// Next hop.
    pub next_hop: String,
    /// AS path, as the usual tools print it.
    pub as_path: String,
    /// `IGP`, `EGP` or `INCOMPLETE`.
    pub origin: String,
    /// LOCAL_PREF.
    pub local_pref: Option<u32>,
    /// MULTI_EXIT_DISC.
    pub med: Option<u32>,
    /// Standard communities.
    pub communities: Vec<String>,
    /// Large communities.
    pub large_communities: Vec<String>,
    /// ORIGINATOR_ID (RFC 4456 section 8).
    pub originator_id: Option<Ipv4Addr>,
    /// CLUSTER_LIST (RFC 4456 section 8).
    pub cluster_list: Vec<Ipv4Addr>,
    /// The decision process step at which it lost, when explained.
    pub lost_at: Option<String>,
    /// Why it is or is not the best, when explained.
    pub reason: Option<String>,
}

/// `GET /api/v1/routes`: one prefix and its paths, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// `ipv4-unicast` or `ipv6-unicast`.
    pub family: String,
    /// The prefix.
    pub prefix: IpNetwork,
    /// Its paths.
    pub paths: Vec<RoutePath>,
}

/// `GET /api/v1/groups`: one update group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// Its number.
    pub id: u32,
    /// Its members' role: `external`, `internal` or `client`.
    pub role: String,
    /// Members.
    pub members: usize,
    /// Members catching up from the table.
    pub members_behind: usize,
    /// It keeps an Adj-RIB-Out table of its own; `false` while it sends
    /// straight from the Loc-RIB (every member in sync, no ADD-PATH).
    #[serde(default = "keeps_table_default")]
    pub keeps_table: bool,
    /// Routes in its Adj-RIB-Out.
    pub routes: usize,
    /// Changes waiting for the next flush.
    pub pending: usize,
    /// UPDATEs encoded (once for all members).
    pub messages_encoded: u64,
    /// Bytes encoded.
    pub bytes_encoded: u64,
    /// Encodings pushed to members.
    pub pushes: u64,
    /// Pushes refused by a full outbox.
    pub refused_pushes: u64,
}

/// What an older reflector's answer without `keeps_table` meant.
fn keeps_table_default() -> bool {
    true
}

/// A configuration finding, for the reload endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// `error` or `warning`.
    pub severity: String,
    /// Line, if known.
    pub line: Option<usize>,
    /// Column, if known.
    pub column: Option<usize>,
    /// The field path.
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// The whole finding as one line (`file:line:col: path: message`).
    pub text: String,
}

/// `POST /api/v1/reload`, on success.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReloadResult {
    /// Neighbours started.
    pub added: Vec<IpAddr>,
    /// Neighbours stopped.
    pub removed: Vec<IpAddr>,
    /// Neighbours reset, with the options that changed.
    pub reset: Vec<Reset>,
    /// Neighbours whose description changed (sessions untouched).
    pub described: Vec<IpAddr>,
    /// Neighbours left as they were.
    pub unchanged: usize,
    /// Speaker-wide settings that changed but wait for a restart.
    pub restart_required: Vec<String>,
    /// Neighbours the speaker refused, with its error.
    pub failed: Vec<(IpAddr, String)>,
    /// Warnings about the new file.
    pub warnings: Vec<Finding>,
}

/// An error document: `{"error": "...", "findings": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
    /// Configuration findings, for a rejected reload.
    #[serde(default)]
    pub findings: Vec<Finding>,
}
