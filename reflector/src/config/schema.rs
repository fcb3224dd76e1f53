//! The configuration file's schema: serde types, one per table. Unknown
//! keys are errors everywhere (`deny_unknown_fields`). `docs/CONFIGURATION.md`
//! documents every key; keep the two in step.
//!
//! The options of a BGP session are the same in `[[template]]` and
//! `[[neighbor]]`; one list (the `peer_options!` macro) generates the fields of
//! both and of [`PeerSettings`], the merged view, so they cannot drift.

use ipnetwork::IpNetwork;
use serde::Deserialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub use super::policy::PolicyDef;
pub use super::values::{
    AddPathCount, AddPathModeValue, AddPathSetting, Family, ListenAddr, NextHopValue,
};

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `[global]`.
    #[serde(default)]
    pub global: Global,
    /// `[api]`.
    #[serde(default)]
    pub api: Api,
    /// `[logging]`.
    #[serde(default)]
    pub logging: Logging,
    /// `[[cluster]]`.
    #[serde(default)]
    pub cluster: Vec<Cluster>,
    /// `[[template]]`.
    #[serde(default)]
    pub template: Vec<Template>,
    /// `[[neighbor]]`.
    #[serde(default)]
    pub neighbor: Vec<Neighbor>,
    /// `[[dynamic]]`.
    #[serde(default)]
    pub dynamic: Vec<Dynamic>,
    /// `[[policy]]`.
    #[serde(default)]
    pub policy: Vec<PolicyDef>,
    /// `[datastore]`.
    #[serde(default)]
    pub datastore: DatastoreSection,
}

/// Where the reflector's peers come from besides this file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DatastoreType {
    /// Only this file's `[[neighbor]]` and `[[dynamic]]` tables.
    #[default]
    None,
    /// Also the Calico v3 resources in etcd (see `crate::datastore`).
    Etcd,
}

/// The status lease's default time to live, seconds.
pub const DEFAULT_STATUS_TTL: u32 = 30;

/// `[datastore]`: peers derived from Calico's resources in etcd.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatastoreSection {
    /// `none` or `etcd`.
    #[serde(rename = "type")]
    pub kind: DatastoreType,
    /// The name of our own `Node` resource.
    pub node: Option<String>,
    /// etcd client URLs.
    pub etcd_endpoints: Vec<String>,
    /// CA certificate (PEM) of the etcd servers.
    pub etcd_ca_cert_file: Option<std::path::PathBuf>,
    /// Client certificate (PEM).
    pub etcd_cert_file: Option<std::path::PathBuf>,
    /// Client key (PEM).
    pub etcd_key_file: Option<std::path::PathBuf>,
    /// etcd user name (the password from `etcd_password` or `ETCD_PASSWORD`).
    pub etcd_username: Option<String>,
    /// etcd password.
    pub etcd_password: Option<String>,
    /// The template whose options every derived session gets.
    pub template: Option<String>,
    /// Seconds the status keys live without a refresh.
    pub status_ttl: u32,
}

impl Default for DatastoreSection {
    fn default() -> Self {
        DatastoreSection {
            kind: DatastoreType::None,
            node: None,
            etcd_endpoints: Vec::new(),
            etcd_ca_cert_file: None,
            etcd_cert_file: None,
            etcd_key_file: None,
            etcd_username: None,
            etcd_password: None,
            template: None,
            status_ttl: DEFAULT_STATUS_TTL,
        }
    }
}

/// The AS Calico uses by default (a private AS, RFC 6996).
pub const DEFAULT_ASN: u32 = 64512;

/// `[global]`: the speaker itself.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Global {
    /// Our AS.
    pub asn: u32,
    /// BGP identifier; the host's first non-loopback IPv4 address if unset.
    pub router_id: Option<Ipv4Addr>,
    /// Default cluster ID (RFC 4456 section 7); the router ID if unset.
    pub cluster_id: Option<Ipv4Addr>,
    /// Addresses to accept sessions on; `["0.0.0.0", "::"]` if unset.
    pub listen: Option<Vec<ListenAddr>>,
    /// Port for `listen` entries without one.
    pub port: u16,
    /// Compute equal-cost multipath sets.
    pub multipath: bool,
}

impl Default for Global {
    fn default() -> Self {
        Global {
            asn: DEFAULT_ASN,
            router_id: None,
            cluster_id: None,
            listen: None,
            port: bgp_proto::iana::BGP_PORT,
            multipath: false,
        }
    }
}

/// The operations API's default address.
pub const DEFAULT_API: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 8179);

/// `[api]`: the operations API.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Api {
    /// Address and port of the HTTP API.
    pub listen: SocketAddr,
}

impl Default for Api {
    fn default() -> Self {
        Api {
            listen: DEFAULT_API,
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[logging]`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Logging {
    /// Text or JSON.
    pub format: LogFormat,
    /// A `tracing-subscriber` filter: `info`, `debug`, `bgp_speaker=debug,info`.
    pub level: String,
}

impl Default for Logging {
    fn default() -> Self {
        Logging {
            format: LogFormat::Text,
            level: "info".to_string(),
        }
    }
}

/// `[[cluster]]`: settings of one route-reflection cluster.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cluster {
    /// The cluster ID.
    pub id: Ipv4Addr,
    /// Reflect routes between the cluster's clients (RFC 4456 section 5);
    /// false when the clients are fully meshed.
    #[serde(default = "yes")]
    pub client_to_client: bool,
}

fn yes() -> bool {
    true
}

/// What to do beyond a prefix limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitAction {
    /// Close the session (Cease subcode 1, RFC 4486).
    #[default]
    Shutdown,
    /// Keep the session, drop the excess prefixes.
    Drop,
}

/// `prefix_limit = { max = 1000, warn_percent = 90, action = "shutdown" }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixLimitDef {
    /// Most prefixes accepted per family.
    pub max: u32,
    /// Warn at this percentage of `max`.
    #[serde(default = "ninety")]
    pub warn_percent: u8,
    /// Shutdown or drop.
    #[serde(default)]
    pub action: LimitAction,
}

fn ninety() -> u8 {
    90
}

/// The session options shared by `[[template]]` and `[[neighbor]]`, as
/// one list handed to `$callback` (see the module doc).
macro_rules! peer_options {
    ($callback:ident! { $($head:tt)* }) => {
        $callback! { $($head)*
            /// Free text for the operator (changing it resets nothing).
            description: Option<String>,
            /// The neighbour's AS.
            asn: Option<u32>,
            /// Our AS towards this neighbour, if not `[global] asn`.
            local_asn: Option<u32>,
            /// The neighbour is our route-reflector client (RFC 4456).
            client: Option<bool>,
            /// The cluster ID towards this client, if not the default.
            cluster_id: Option<Ipv4Addr>,
            /// Families to negotiate.
            families: Option<Vec<Family>>,
            /// Hold time to propose, seconds (0, or at least 3).
            hold_time: Option<u16>,
            /// Keepalive interval, seconds.
            keepalive: Option<u16>,
            /// Seconds between connection attempts.
            connect_retry: Option<u16>,
            /// Never connect; wait for the neighbour.
            passive: Option<bool>,
            /// The neighbour's TCP port.
            port: Option<u16>,
            /// Our address for the session.
            local_address: Option<IpAddr>,
            /// TCP MD5 password (RFC 2385).
            password: Option<String>,
            /// GTSM (RFC 5082).
            ttl_security: Option<bool>,
            /// ADD-PATH modes (RFC 7911).
            add_path: Option<AddPathSetting>,
            /// How many paths to send with ADD-PATH.
            add_path_send: Option<AddPathCount>,
            /// Graceful restart (RFC 4724).
            graceful_restart: Option<bool>,
            /// Restart time we announce, seconds.
            restart_time: Option<u16>,
            /// Longest we keep a restarting neighbour's routes, seconds.
            stale_time: Option<u16>,
            /// Prefix limit per family.
            prefix_limit: Option<PrefixLimitDef>,
            /// Next hop towards the neighbour.
            next_hop: Option<NextHopValue>,
            /// Our IPv4 next hop for IPv4 routes on an IPv6 session.
            next_hop_self_ipv4: Option<Ipv4Addr>,
            /// Our IPv6 next hop for IPv6 routes on an IPv4 session.
            next_hop_self_ipv6: Option<Ipv6Addr>,
            /// Import policy name.
            import: Option<String>,
            /// Export policy name.
            export: Option<String>,
        }
    };
}

/// Define a section struct: its own fields, then the shared options.
macro_rules! section {
    (
        $(#[$meta:meta])* $name:ident { $($(#[$own_meta:meta])* $own:ident : $own_ty:ty,)* }
        $($(#[$opt_meta:meta])* $opt:ident : $opt_ty:ty,)*
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            $($(#[$own_meta])* pub $own: $own_ty,)*
            $($(#[$opt_meta])* #[serde(default)] pub $opt: $opt_ty,)*
        }

        impl $name {
            /// The session options set in this section.
            pub fn settings(&self) -> PeerSettings {
                PeerSettings { $($opt: self.$opt.clone(),)* }
            }
        }
    };
}

/// Define [`PeerSettings`] from the shared list.
macro_rules! settings {
    ($($(#[$opt_meta:meta])* $opt:ident : $opt_ty:ty,)*) => {
        /// Session options as set in one section, or merged from a
        /// neighbour and its template ([`PeerSettings::or`]).
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct PeerSettings {
            $($(#[$opt_meta])* pub $opt: $opt_ty,)*
        }

        impl PeerSettings {
            /// These settings, with `fallback`'s where these have none.
            #[must_use]
            pub fn or(self, fallback: PeerSettings) -> PeerSettings {
                PeerSettings { $($opt: self.$opt.or(fallback.$opt),)* }
            }
        }
    };
}

peer_options!(settings! {});

peer_options!(section! {
    /// `[[template]]`: named session options for neighbours and dynamic ranges.
    Template {
        /// The name neighbours refer to.
        name: String,
    }
});

peer_options!(section! {
    /// `[[neighbor]]`: a statically configured session.
    Neighbor {
        /// The neighbour's address.
        address: IpAddr,
        /// A template whose options apply where this table sets none.
        #[serde(default)]
        template: Option<String>,
    }
});

/// The default session limit of a dynamic range.
pub const DEFAULT_MAX_PEERS: usize = 10_000;

/// `[[dynamic]]`: accept sessions from any address of a range.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dynamic {
    /// The range.
    pub prefix: IpNetwork,
    /// Session options (its `asn` applies when this table sets neither
    /// `asn` nor `asn_range`).
    #[serde(default)]
    pub template: Option<String>,
    /// The AS every peer of the range must have; else the template's,
    /// else `[global] asn` (iBGP).
    #[serde(default)]
    pub asn: Option<u32>,
    /// Or an inclusive range of ASes, `[low, high]`.
    #[serde(default)]
    pub asn_range: Option<(u32, u32)>,
    /// Most sessions at once from this range.
    #[serde(default = "default_max_peers")]
    pub max_peers: usize,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

fn default_max_peers() -> usize {
    DEFAULT_MAX_PEERS
}
