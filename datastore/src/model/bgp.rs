//! BGP resources: `Node` (its BGP part), `BGPPeer` and `BGPConfiguration`, after
//! Calico's `api/pkg/apis/projectcalico/v3/{node,bgppeer,bgpconfig}.go`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{AsNumber, GoDuration, is_false};

/// `Node.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeSpec {
    /// BGP settings; a node without them takes no part in BGP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bgp: Option<NodeBgpSpec>,
    /// The IPv4 address of the node's VXLAN tunnel device.
    #[serde(
        rename = "ipv4VXLANTunnelAddr",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub ipv4_vxlan_tunnel_addr: String,
    /// Addresses the node can be reached at.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<NodeAddress>,
    /// Other fields (`orchRefs`, `wireguard`, ...), preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of `Node.spec.addresses`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeAddress {
    /// The address (or CIDR).
    pub address: String,
    /// `CalicoNodeIP`, `InternalIP` or `ExternalIP`.
    #[serde(rename = "type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
}

/// `Node.spec.bgp`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NodeBgpSpec {
    /// The node's AS; the default BGPConfiguration's (or 64512) when absent.
    #[serde(rename = "asNumber", default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumber>,
    /// The node's IPv4 address with its prefix length (`"10.0.0.1/24"`).
    #[serde(
        rename = "ipv4Address",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub ipv4_address: String,
    /// The node's IPv6 address with its prefix length.
    #[serde(
        rename = "ipv6Address",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub ipv6_address: String,
    /// The IPv4 address of the node's IP-in-IP tunnel device.
    #[serde(
        rename = "ipv4IPIPTunnelAddr",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub ipv4_ipip_tunnel_addr: String,
    /// When set, the node is a route reflector (RFC 4456) with this cluster ID
    /// (an IPv4 address).
    #[serde(
        rename = "routeReflectorClusterID",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub route_reflector_cluster_id: String,
    /// Other fields, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl NodeBgpSpec {
    /// The node's IPv4 address, without the prefix length.
    pub fn ipv4(&self) -> Option<IpAddr> {
        parse_host_address(&self.ipv4_address).filter(IpAddr::is_ipv4)
    }

    /// The node's IPv6 address, without the prefix length.
    pub fn ipv6(&self) -> Option<IpAddr> {
        parse_host_address(&self.ipv6_address).filter(IpAddr::is_ipv6)
    }
}

/// Parses `"10.0.0.1/24"` or `"10.0.0.1"` into the address.
pub(crate) fn parse_host_address(s: &str) -> Option<IpAddr> {
    if s.is_empty() {
        return None;
    }
    s.parse::<IpNetwork>()
        .map(|n| n.ip())
        .or_else(|_| s.parse::<IpAddr>())
        .ok()
}

/// `BGPPeer.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BgpPeerSpec {
    /// The one node that has this peering. With neither `node` nor
    /// `nodeSelector`, the peering is global: every node has it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node: String,
    /// Selects the nodes that have this peering.
    #[serde(
        rename = "nodeSelector",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub node_selector: String,
    /// The peer's address, with an optional port: `"10.0.0.1"`, `"10.0.0.1:1179"`,
    /// `"[fd00::1]:1179"`.
    #[serde(rename = "peerIP", default, skip_serializing_if = "String::is_empty")]
    pub peer_ip: String,
    /// The peer's AS (with `peerIP`).
    #[serde(rename = "asNumber", default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumber>,
    /// The local AS to use towards this peer instead of the node's.
    #[serde(
        rename = "localASNumber",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub local_as_number: Option<AsNumber>,
    /// Selects Calico nodes to peer with (instead of `peerIP`).
    #[serde(
        rename = "peerSelector",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub peer_selector: String,
    /// Deprecated: keep the original next hop towards an eBGP peer (BIRD's
    /// `next hop keep`). Ignored when `nextHopMode` is set.
    #[serde(
        rename = "keepOriginalNextHop",
        default,
        skip_serializing_if = "is_false"
    )]
    pub keep_original_next_hop: bool,
    /// How the next hop is set on routes sent to the peer.
    #[serde(
        rename = "nextHopMode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub next_hop_mode: Option<NextHopMode>,
    /// The TCP MD5 password (RFC 2385), as a Kubernetes secret reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<BgpPassword>,
    /// Whether the node's address is the session's source address.
    #[serde(
        rename = "sourceAddress",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub source_address: Option<SourceAddress>,
    /// Graceful restart time (RFC 4724) for these peerings.
    #[serde(
        rename = "maxRestartTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub max_restart_time: Option<GoDuration>,
    /// Keepalive interval (RFC 4271 section 4.4) for these peerings.
    #[serde(
        rename = "keepaliveTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub keepalive_time: Option<GoDuration>,
    /// How many occurrences of the local AS are accepted in received AS paths.
    #[serde(
        rename = "numAllowedLocalASNumbers",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub num_allowed_local_as_numbers: Option<i32>,
    /// GTSM (RFC 5082): the number of hops to the peer.
    #[serde(
        rename = "ttlSecurity",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ttl_security: Option<u8>,
    /// Names of BGPFilter resources applied to the peer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<String>,
    /// Whether the selected peers peer back automatically (default `Auto`).
    #[serde(
        rename = "reversePeering",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reverse_peering: Option<ReversePeering>,
    /// Other fields (`failureDetectionMode`, `restartMode`, ...), preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `BGPPeer.spec.nextHopMode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum NextHopMode {
    /// BGP's default behaviour (RFC 4271 section 5.1.3).
    #[default]
    Auto,
    /// Always set the next hop to ourselves (`next hop self`).
    #[serde(rename = "Self")]
    SelfAddress,
    /// Keep the received next hop (`next hop keep`).
    Keep,
}

/// `BGPPeer.spec.reversePeering`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ReversePeering {
    /// The selected nodes peer back automatically.
    #[default]
    Auto,
    /// A separate BGPPeer must configure the reverse direction.
    Manual,
}

/// `BGPPeer.spec.sourceAddress`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum SourceAddress {
    /// Use the node's address as the source (the default).
    #[default]
    UseNodeIP,
    /// Let the kernel choose.
    None,
}

/// `BGPPeer.spec.password`: where the password is kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BgpPassword {
    /// A key of a Kubernetes secret in the node agent's namespace.
    #[serde(
        rename = "secretKeyRef",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub secret_key_ref: Option<SecretKeySelector>,
}

/// Kubernetes `SecretKeySelector`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SecretKeySelector {
    /// The secret's name.
    #[serde(default)]
    pub name: String,
    /// The key within the secret.
    #[serde(default)]
    pub key: String,
    /// Whether the secret may be missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// `BGPConfiguration.spec`. The resource named `default` holds cluster-wide
/// settings; `node.<nodename>` overrides some of them for one node.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BgpConfigurationSpec {
    /// Log level of the BGP daemon.
    #[serde(
        rename = "logSeverityScreen",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub log_severity_screen: String,
    /// Whether the full node-to-node mesh is on (default `true`).
    #[serde(
        rename = "nodeToNodeMeshEnabled",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub node_to_node_mesh_enabled: Option<bool>,
    /// The default AS of nodes (default 64512).
    #[serde(rename = "asNumber", default, skip_serializing_if = "Option::is_none")]
    pub as_number: Option<AsNumber>,
    /// Service cluster IP blocks to advertise.
    #[serde(
        rename = "serviceClusterIPs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_cluster_ips: Vec<CidrBlock>,
    /// Service external IP blocks to advertise.
    #[serde(
        rename = "serviceExternalIPs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_external_ips: Vec<CidrBlock>,
    /// Service LoadBalancer IP blocks to advertise.
    #[serde(
        rename = "serviceLoadBalancerIPs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub service_load_balancer_ips: Vec<CidrBlock>,
    /// Named communities (RFC 1997 `aa:nn`, RFC 8092 `aa:nn:mm`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<Community>,
    /// Communities attached to routes within given CIDRs.
    #[serde(
        rename = "prefixAdvertisements",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub prefix_advertisements: Vec<PrefixAdvertisement>,
    /// The TCP port BGP listens on (default 179).
    #[serde(
        rename = "listenPort",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub listen_port: Option<u16>,
    /// Password of the mesh peerings (`default` only).
    #[serde(
        rename = "nodeMeshPassword",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub node_mesh_password: Option<BgpPassword>,
    /// Graceful restart time of the mesh peerings (`default` only).
    #[serde(
        rename = "nodeMeshMaxRestartTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub node_mesh_max_restart_time: Option<GoDuration>,
    /// Key/value extensions for custom templates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, String>,
    /// Other fields (`bindMode`, `ignoredInterfaces`, ...), preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `{cidr: ...}` block of BGPConfiguration's service IP lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CidrBlock {
    /// The CIDR.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cidr: String,
}

/// A named community value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Community {
    /// The name used in `prefixAdvertisements`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// `aa:nn` (standard) or `aa:nn:mm` (large).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
}

/// Communities for routes within a CIDR.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PrefixAdvertisement {
    /// The CIDR.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cidr: String,
    /// Community names or values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<String>,
}
