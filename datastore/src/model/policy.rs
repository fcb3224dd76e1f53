//! Security resources: `Profile`, `GlobalNetworkPolicy`, `NetworkPolicy` and their
//! rules, after Calico's `api/pkg/apis/projectcalico/v3/policy_common.go`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Port, Protocol, is_false};

/// Writes an order as Go's `encoding/json` writes a float64: `10`, not `10.0`.
fn ser_order<S: serde::Serializer>(order: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match order {
        Some(o) if o.fract() == 0.0 && o.abs() < 1e15 => s.serialize_i64(*o as i64),
        Some(o) => s.serialize_f64(*o),
        None => s.serialize_none(),
    }
}

/// What a rule does with a matching packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    /// Accept the packet.
    Allow,
    /// Drop the packet.
    Deny,
    /// Log the packet and go on with the next rule.
    Log,
    /// Skip the rest of this tier's policies.
    Pass,
}

/// Which direction a policy applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PolicyType {
    /// Traffic towards the endpoint.
    Ingress,
    /// Traffic from the endpoint.
    Egress,
}

/// A policy rule: match criteria and an action.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// What to do on a match.
    pub action: Action,
    /// Only IPv4 (4) or IPv6 (6) traffic.
    #[serde(rename = "ipVersion", default, skip_serializing_if = "Option::is_none")]
    pub ip_version: Option<u8>,
    /// The IP protocol.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
    /// ICMP type and code (with protocol ICMP or ICMPv6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icmp: Option<IcmpFields>,
    /// Any protocol but this one.
    #[serde(
        rename = "notProtocol",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub not_protocol: Option<Protocol>,
    /// Any ICMP type/code but this one.
    #[serde(rename = "notICMP", default, skip_serializing_if = "Option::is_none")]
    pub not_icmp: Option<IcmpFields>,
    /// Criteria on the source.
    #[serde(default, skip_serializing_if = "EntityRule::is_empty")]
    pub source: EntityRule,
    /// Criteria on the destination.
    #[serde(default, skip_serializing_if = "EntityRule::is_empty")]
    pub destination: EntityRule,
    /// Other fields (`http`, `metadata`), preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Rule {
    /// A rule with only an action.
    pub fn new(action: Action) -> Self {
        Rule {
            action,
            ip_version: None,
            protocol: None,
            icmp: None,
            not_protocol: None,
            not_icmp: None,
            source: EntityRule::default(),
            destination: EntityRule::default(),
            extra: Map::new(),
        }
    }
}

/// ICMP type and code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IcmpFields {
    /// The ICMP type (8: echo request).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub icmp_type: Option<u8>,
    /// The ICMP code; only with a type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u8>,
}

/// Criteria on one end (source or destination) of a packet.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EntityRule {
    /// Addresses within any of these CIDRs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nets: Vec<String>,
    /// Endpoints matching this selector.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub selector: String,
    /// Endpoints in namespaces matching this selector.
    #[serde(
        rename = "namespaceSelector",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace_selector: String,
    /// Ports or port ranges.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<Port>,
    /// Addresses outside all of these CIDRs.
    #[serde(rename = "notNets", default, skip_serializing_if = "Vec::is_empty")]
    pub not_nets: Vec<String>,
    /// Endpoints not matching this selector.
    #[serde(
        rename = "notSelector",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub not_selector: String,
    /// Ports outside these.
    #[serde(rename = "notPorts", default, skip_serializing_if = "Vec::is_empty")]
    pub not_ports: Vec<Port>,
    /// Other fields (`services`, `serviceAccounts`, `domains`), preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl EntityRule {
    /// Whether no criterion is set.
    pub fn is_empty(&self) -> bool {
        *self == EntityRule::default()
    }
}

/// `Profile.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProfileSpec {
    /// Ingress rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<Rule>,
    /// Egress rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<Rule>,
    /// Labels applied to every endpoint using the profile.
    #[serde(
        rename = "labelsToApply",
        default,
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels_to_apply: BTreeMap<String, String>,
    /// Other fields, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `NetworkPolicy.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkPolicySpec {
    /// The tier (default `default`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tier: String,
    /// Lower orders apply first; no order means last.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_order"
    )]
    pub order: Option<f64>,
    /// Ingress rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<Rule>,
    /// Egress rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<Rule>,
    /// The endpoints the policy applies to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub selector: String,
    /// The directions the policy applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<PolicyType>,
    /// Selects pods by service account.
    #[serde(
        rename = "serviceAccountSelector",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub service_account_selector: String,
    /// Other fields (`performanceHints`, ...), preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `GlobalNetworkPolicy.spec`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalNetworkPolicySpec {
    /// The tier (default `default`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tier: String,
    /// Lower orders apply first; no order means last.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "ser_order"
    )]
    pub order: Option<f64>,
    /// Ingress rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<Rule>,
    /// Egress rules, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<Rule>,
    /// The endpoints the policy applies to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub selector: String,
    /// The directions the policy applies to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub types: Vec<PolicyType>,
    /// Apply before connection tracking.
    #[serde(rename = "doNotTrack", default, skip_serializing_if = "is_false")]
    pub do_not_track: bool,
    /// Apply before DNAT.
    #[serde(rename = "preDNAT", default, skip_serializing_if = "is_false")]
    pub pre_dnat: bool,
    /// Apply to forwarded traffic.
    #[serde(rename = "applyOnForward", default, skip_serializing_if = "is_false")]
    pub apply_on_forward: bool,
    /// Selects pods by namespace.
    #[serde(
        rename = "namespaceSelector",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub namespace_selector: String,
    /// Selects pods by service account.
    #[serde(
        rename = "serviceAccountSelector",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub service_account_selector: String,
    /// Other fields, preserved.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
