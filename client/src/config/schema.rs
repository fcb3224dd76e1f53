//! The configuration file's schema: what `client.toml` may contain.
//! Unknown keys are errors. Example: `examples/client/client.toml`.
//!
//! ```toml
//! [node]
//! name = "node-a"
//! asn = 64512
//! ipv4 = "192.0.2.11"          # next hop of IPv4 routes, session source
//! # ipv6 = "2001:db8::11"
//! # router_id = "192.0.2.11"   # default: ipv4
//! # nodename_file = "/var/lib/calico/nodename"  # for the CNI plugin; default with [felix]
//!
//! [[reflector]]
//! address = "192.0.2.1"
//! [[reflector]]
//! address = "192.0.2.2"
//!
//! [bgp]                         # all optional
//! hold_time = 90
//! connect_retry = 5
//! graceful_restart_time = 120
//! multipath = true
//! add_path = true               # ADD-PATH receive, RFC 7911
//!
//! [export]
//! pools = ["10.65.0.0/16"]
//! [[export.rule]]
//! kinds = ["blackhole"]
//! [[export.rule]]
//! interfaces = ["cali*"]
//! # blocks = true               # with [datastore]: route by IPAM block
//! # block_protocol = 196        # of the blocks' blackhole routes
//!
//! [install]                     # all optional
//! table = 254
//! metric = 20
//! restart_window = 120          # default: graceful_restart_time
//! remove_on_stop = false
//!
//! [api]                         # all optional
//! listen = "127.0.0.1:9180"     # the operations API and /metrics
//!
//! [logging]                     # all optional
//! format = "text"               # or "json"
//! level = "info"                # a tracing filter; --log-level and RUST_LOG win
//!
//! [datastore]                   # optional: reflectors and pools from etcd
//! type = "etcd"
//! endpoints = ["http://10.0.0.100:2379"]
//! # ca_file, cert_file, key_file, username, password
//! # retry_max = 10              # seconds: longest back-off between retries
//! # keepalive = 10              # seconds: HTTP/2 keep-alive (detects a dead etcd)
//! # start_wait = 10             # seconds to wait for etcd at start
//!
//! [felix]                       # optional: workload routes and policy
//! # source = "datastore"        # or "file" with file = "workloads.yaml"
//! ```
//!
//! With `[datastore]`, `[node] asn` and `ipv4` are optional and `[[reflector]]`
//! may be absent (see `crate::datastore`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use ipnetwork::IpNetwork;
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The node.
    pub node: Node,
    /// The route reflectors.
    #[serde(default)]
    pub reflector: Vec<Reflector>,
    /// Session settings.
    #[serde(default)]
    pub bgp: Bgp,
    /// What is advertised.
    #[serde(default)]
    pub export: Export,
    /// Where learned routes go.
    #[serde(default)]
    pub install: Install,
    /// How kernel notifications are read.
    #[serde(default)]
    pub reader: Reader,
    /// The operations API.
    #[serde(default)]
    pub api: Api,
    /// Log output.
    #[serde(default)]
    pub logging: Logging,
    /// Where the reflectors and pools come from besides the file.
    #[serde(default)]
    pub datastore: Option<Datastore>,
    /// The workload dataplane (`[felix]`, see `config::felix`).
    #[serde(default)]
    pub felix: Option<super::felix::FelixSection>,
}

/// The kind of datastore.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatastoreKind {
    /// etcd v3, Calico's layout.
    #[default]
    Etcd,
}

/// `[datastore]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Datastore {
    /// `etcd`.
    #[serde(rename = "type", default)]
    pub kind: DatastoreKind,
    /// Client URLs.
    #[serde(default, alias = "etcd_endpoints")]
    pub endpoints: Vec<String>,
    /// CA of the server certificate (PEM).
    #[serde(alias = "etcd_ca_cert_file")]
    pub ca_file: Option<std::path::PathBuf>,
    /// Client certificate (PEM).
    #[serde(alias = "etcd_cert_file")]
    pub cert_file: Option<std::path::PathBuf>,
    /// Client key (PEM).
    #[serde(alias = "etcd_key_file")]
    pub key_file: Option<std::path::PathBuf>,
    /// etcd user name.
    #[serde(alias = "etcd_username")]
    pub username: Option<String>,
    /// etcd password.
    #[serde(alias = "etcd_password")]
    pub password: Option<String>,
    /// Longest back-off between retries, seconds (10).
    pub retry_max: Option<u32>,
    /// HTTP/2 keep-alive interval and timeout, seconds (10).
    pub keepalive: Option<u32>,
    /// How long to wait for the datastore at start, seconds (10).
    pub start_wait: Option<u32>,
}

/// The API's address when `[api] listen` is absent: loopback only.
pub const DEFAULT_API: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 9180);

/// `[api]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    /// Address and port of the HTTP API ([`DEFAULT_API`]).
    pub listen: Option<SocketAddr>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[logging]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Logging {
    /// Text or JSON (text).
    pub format: Option<LogFormat>,
    /// A `tracing-subscriber` filter (`info`, `bgp_client=debug,info`).
    pub level: Option<String>,
}

/// `[node]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// The node's name.
    pub name: String,
    /// The AS of the node and the reflectors (with a datastore: optional,
    /// the Node's or the cluster's AS then).
    pub asn: Option<u32>,
    /// BGP identifier; the IPv4 address when absent.
    pub router_id: Option<Ipv4Addr>,
    /// IPv4 address.
    pub ipv4: Option<Ipv4Addr>,
    /// IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
    /// Where to write the node name for the CNI plugin (Calico's
    /// `/var/lib/calico/nodename` when `[felix]` runs; empty: nowhere).
    pub nodename_file: Option<std::path::PathBuf>,
}

/// `[[reflector]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reflector {
    /// Its address.
    pub address: IpAddr,
    /// Its port.
    pub port: Option<u16>,
    /// TCP MD5 password.
    pub password: Option<String>,
}

/// `[bgp]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bgp {
    /// Seconds.
    pub hold_time: Option<u16>,
    /// Seconds.
    pub connect_retry: Option<u32>,
    /// Seconds.
    pub graceful_restart_time: Option<u32>,
    /// Install equal paths as one multipath route.
    pub multipath: Option<bool>,
    /// Announce ADD-PATH receive (RFC 7911).
    pub add_path: Option<bool>,
}

/// `[export]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Export {
    /// Only prefixes within these.
    #[serde(default)]
    pub pools: Vec<IpNetwork>,
    /// The rules (ORed).
    #[serde(default)]
    pub rule: Vec<Rule>,
    /// Route by Calico IPAM block (with a `[datastore]`): a blackhole and
    /// one advertisement per affine block instead of its host routes.
    pub blocks: Option<bool>,
    /// Protocol number of the block blackhole routes (196).
    pub block_protocol: Option<u8>,
}

/// `[[export.rule]]`: every non-empty list must match.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Tables.
    #[serde(default)]
    pub tables: Vec<u32>,
    /// Protocols, by name (`kernel`, `boot`, `static`, `dhcp`, ...) or number.
    #[serde(default)]
    pub protocols: Vec<Protocol>,
    /// Output interface patterns (`cali*`).
    #[serde(default)]
    pub interfaces: Vec<String>,
    /// Route types (`unicast`, `blackhole`, `unreachable`, `prohibit`, ...).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// `[min, max]` prefix lengths.
    pub prefix_lengths: Option<[u8; 2]>,
}

/// A protocol by name or number.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Protocol {
    /// `rtm_protocol` itself.
    Number(u8),
    /// A name of `/etc/iproute2/rt_protos`.
    Name(String),
}

/// `[install]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Install {
    /// Table (254, main).
    pub table: Option<u32>,
    /// Metric (20).
    pub metric: Option<u32>,
    /// Seconds routes of a previous run wait to be learned again.
    pub restart_window: Option<u32>,
    /// Remove installed routes on a clean stop.
    pub remove_on_stop: Option<bool>,
}

/// `[reader]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reader {
    /// Receive buffer of the notification socket, bytes.
    pub receive_buffer: Option<usize>,
}
