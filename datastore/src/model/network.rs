//! Addressing resources: `IPPool` and `WorkloadEndpoint`, after Calico's
//! `api/pkg/apis/projectcalico/v3/ippool.go` and libcalico-go's workload endpoint.

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Protocol, is_false};
use crate::error::ModelError;

/// `IPPool.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct IpPoolSpec {
    /// The pool's CIDR.
    #[serde(default)]
    pub cidr: String,
    /// The size of the blocks handed to nodes (default 26 for IPv4, 122 for IPv6).
    #[serde(rename = "blockSize", default, skip_serializing_if = "Option::is_none")]
    pub block_size: Option<u8>,
    /// IP-in-IP encapsulation (RFC 2003) of traffic to the pool.
    #[serde(rename = "ipipMode", default, skip_serializing_if = "Option::is_none")]
    pub ipip_mode: Option<EncapMode>,
    /// VXLAN encapsulation (RFC 7348) of traffic to the pool.
    #[serde(rename = "vxlanMode", default, skip_serializing_if = "Option::is_none")]
    pub vxlan_mode: Option<EncapMode>,
    /// Masquerade traffic from the pool to destinations outside all pools.
    #[serde(rename = "natOutgoing", default, skip_serializing_if = "is_false")]
    pub nat_outgoing: bool,
    /// No new addresses are assigned from a disabled pool.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// Do not export the pool's routes over BGP.
    #[serde(rename = "disableBGPExport", default, skip_serializing_if = "is_false")]
    pub disable_bgp_export: bool,
    /// Selects the nodes that take addresses from this pool.
    #[serde(
        rename = "nodeSelector",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub node_selector: String,
    /// Other fields (`allowedUses`, `namespaceSelector`, ...), preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl IpPoolSpec {
    /// The pool's CIDR, parsed.
    pub fn network(&self) -> Result<IpNetwork, ModelError> {
        self.cidr.parse().map_err(|_| ModelError::InvalidValue {
            what: "CIDR",
            value: self.cidr.clone(),
        })
    }
}

/// `ipipMode` / `vxlanMode` of an IPPool.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum EncapMode {
    /// Never encapsulate.
    #[default]
    Never,
    /// Always encapsulate.
    Always,
    /// Encapsulate only towards nodes in another subnet.
    CrossSubnet,
}

/// `WorkloadEndpoint.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkloadEndpointSpec {
    /// The orchestrator (`k8s`, `openstack`, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub orchestrator: String,
    /// The workload's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub workload: String,
    /// The node the workload runs on.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub node: String,
    /// The container id.
    #[serde(
        rename = "containerID",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub container_id: String,
    /// The pod's name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub pod: String,
    /// The endpoint's name within the workload (`eth0`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub endpoint: String,
    /// The Kubernetes service account.
    #[serde(
        rename = "serviceAccountName",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub service_account_name: String,
    /// The endpoint's addresses (`/32` and `/128` networks).
    #[serde(rename = "ipNetworks", default, skip_serializing_if = "Vec::is_empty")]
    pub ip_networks: Vec<String>,
    /// 1:1 NAT mappings.
    #[serde(rename = "ipNATs", default, skip_serializing_if = "Vec::is_empty")]
    pub ip_nats: Vec<IpNat>,
    /// The gateway of the workload's IPv4 traffic.
    #[serde(
        rename = "ipv4Gateway",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub ipv4_gateway: String,
    /// The gateway of the workload's IPv6 traffic.
    #[serde(
        rename = "ipv6Gateway",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub ipv6_gateway: String,
    /// Profiles applied to the endpoint, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<String>,
    /// The host-side interface (`cali1234`).
    #[serde(
        rename = "interfaceName",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub interface_name: String,
    /// The endpoint's MAC address.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mac: String,
    /// Named ports, referenced by policy rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<EndpointPort>,
    /// Other fields, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A 1:1 NAT mapping of a workload endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IpNat {
    /// The endpoint's own address.
    #[serde(rename = "internalIP")]
    pub internal_ip: String,
    /// The address others reach it at.
    #[serde(rename = "externalIP")]
    pub external_ip: String,
}

/// A named port of a workload endpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EndpointPort {
    /// The port's name.
    pub name: String,
    /// Its protocol.
    pub protocol: Protocol,
    /// Its number.
    pub port: u16,
    /// Other fields (`hostPort`, `hostIP`), preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
