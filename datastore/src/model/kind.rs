//! The resource kinds and Calico's etcd key layout for them.
//!
//! libcalico-go's etcdv3 backend stores each v3 resource at
//! `/calico/resources/v3/projectcalico.org/<plural>/[<namespace>/]<name>`, with the
//! plural in lower case, and the value is the resource's JSON.

use std::fmt;

use crate::error::ModelError;

/// The prefix of every v3 resource key.
pub const KEY_PREFIX: &str = "/calico/resources/v3/projectcalico.org/";

/// The `apiVersion` of every resource.
pub const API_VERSION: &str = "projectcalico.org/v3";

/// A resource kind of the `projectcalico.org/v3` API modelled by this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `Node`: a host running the node agent, with its BGP settings.
    Node,
    /// `BGPPeer`: explicit BGP peerings.
    BgpPeer,
    /// `BGPConfiguration`: cluster (`default`) and per-node (`node.<name>`) BGP settings.
    BgpConfiguration,
    /// `IPPool`: address pools for workloads.
    IpPool,
    /// `WorkloadEndpoint` (namespaced): a workload's interface.
    WorkloadEndpoint,
    /// `Profile`: rules and labels applied to endpoints.
    Profile,
    /// `GlobalNetworkPolicy`: cluster-wide policy.
    GlobalNetworkPolicy,
    /// `NetworkPolicy` (namespaced): policy within a namespace.
    NetworkPolicy,
}

impl Kind {
    /// Every kind, in a fixed order.
    pub const ALL: [Kind; 8] = [
        Kind::Node,
        Kind::BgpPeer,
        Kind::BgpConfiguration,
        Kind::IpPool,
        Kind::WorkloadEndpoint,
        Kind::Profile,
        Kind::GlobalNetworkPolicy,
        Kind::NetworkPolicy,
    ];

    /// The `kind` field's value (`"BGPPeer"`).
    pub const fn name(self) -> &'static str {
        match self {
            Kind::Node => "Node",
            Kind::BgpPeer => "BGPPeer",
            Kind::BgpConfiguration => "BGPConfiguration",
            Kind::IpPool => "IPPool",
            Kind::WorkloadEndpoint => "WorkloadEndpoint",
            Kind::Profile => "Profile",
            Kind::GlobalNetworkPolicy => "GlobalNetworkPolicy",
            Kind::NetworkPolicy => "NetworkPolicy",
        }
    }

    /// The lower-case plural used in etcd keys (`"bgppeers"`).
    pub const fn plural(self) -> &'static str {
        match self {
            Kind::Node => "nodes",
            Kind::BgpPeer => "bgppeers",
            Kind::BgpConfiguration => "bgpconfigurations",
            Kind::IpPool => "ippools",
            Kind::WorkloadEndpoint => "workloadendpoints",
            Kind::Profile => "profiles",
            Kind::GlobalNetworkPolicy => "globalnetworkpolicies",
            Kind::NetworkPolicy => "networkpolicies",
        }
    }

    /// Whether resources of this kind live in a namespace.
    pub const fn is_namespaced(self) -> bool {
        matches!(self, Kind::WorkloadEndpoint | Kind::NetworkPolicy)
    }

    /// The etcd prefix holding every resource of this kind (ends with `/`).
    pub fn prefix(self) -> String {
        format!("{KEY_PREFIX}{}/", self.plural())
    }

    /// The kind for a `kind` field value (`"BGPPeer"`), exactly.
    pub fn from_kind_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The kind for a name as a user types it on a command line, as calicoctl
    /// accepts it: case-insensitive kind name, singular or plural, or a short
    /// name (`node`, `nodes`, `bgppeer`, `bgpconfig`, `ippool`, `pool`, `wep`,
    /// `gnp`, `np`, ...).
    pub fn from_cli_name(name: &str) -> Option<Kind> {
        let n = name.to_ascii_lowercase();
        let kind = match n.as_str() {
            "node" | "nodes" | "no" => Kind::Node,
            "bgppeer" | "bgppeers" | "bgpp" | "bgpps" | "bp" | "bps" => Kind::BgpPeer,
            "bgpconfiguration" | "bgpconfigurations" | "bgpconfig" | "bgpconfigs" => {
                Kind::BgpConfiguration
            }
            "ippool" | "ippools" | "ipp" | "ipps" | "pool" | "pools" => Kind::IpPool,
            "workloadendpoint" | "workloadendpoints" | "wep" | "weps" => Kind::WorkloadEndpoint,
            "profile" | "profiles" | "pro" | "pros" => Kind::Profile,
            "globalnetworkpolicy" | "globalnetworkpolicies" | "gnp" | "gnps" => {
                Kind::GlobalNetworkPolicy
            }
            "networkpolicy" | "networkpolicies" | "policy" | "policies" | "np" | "nps" => {
                Kind::NetworkPolicy
            }
            _ => return None,
        };
        Some(kind)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Identifies one resource: kind, namespace (namespaced kinds only) and name.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceKey {
    /// The kind.
    pub kind: Kind,
    /// The namespace, for namespaced kinds.
    pub namespace: Option<String>,
    /// The name.
    pub name: String,
}

impl ResourceKey {
    /// A key of a global (non-namespaced) kind.
    pub fn global(kind: Kind, name: impl Into<String>) -> Self {
        ResourceKey {
            kind,
            namespace: None,
            name: name.into(),
        }
    }

    /// A key of a namespaced kind.
    pub fn namespaced(kind: Kind, namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceKey {
            kind,
            namespace: Some(namespace.into()),
            name: name.into(),
        }
    }

    /// The etcd key: `/calico/resources/v3/projectcalico.org/<plural>/[<ns>/]<name>`.
    pub fn path(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}{ns}/{}", self.kind.prefix(), self.name),
            None => format!("{}{}", self.kind.prefix(), self.name),
        }
    }

    /// Parses an etcd key of the v3 layout.
    pub fn parse(path: &str) -> Result<Self, ModelError> {
        let bad = || ModelError::InvalidKey(path.to_string());
        let rest = path.strip_prefix(KEY_PREFIX).ok_or_else(bad)?;
        let (plural, rest) = rest.split_once('/').ok_or_else(bad)?;
        let kind = Kind::ALL
            .into_iter()
            .find(|k| k.plural() == plural)
            .ok_or_else(bad)?;
        let parts: Vec<&str> = rest.split('/').collect();
        match (kind.is_namespaced(), parts.as_slice()) {
            (true, [ns, name]) if !ns.is_empty() && !name.is_empty() => {
                Ok(ResourceKey::namespaced(kind, *ns, *name))
            }
            (false, [name]) if !name.is_empty() => Ok(ResourceKey::global(kind, *name)),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_layout() {
        let cases = [
            (
                ResourceKey::global(Kind::Node, "node-1"),
                "/calico/resources/v3/projectcalico.org/nodes/node-1",
            ),
            (
                ResourceKey::global(Kind::BgpConfiguration, "node.n1"),
                "/calico/resources/v3/projectcalico.org/bgpconfigurations/node.n1",
            ),
            (
                ResourceKey::namespaced(Kind::NetworkPolicy, "prod", "allow-web"),
                "/calico/resources/v3/projectcalico.org/networkpolicies/prod/allow-web",
            ),
            (
                ResourceKey::global(Kind::GlobalNetworkPolicy, "deny-all"),
                "/calico/resources/v3/projectcalico.org/globalnetworkpolicies/deny-all",
            ),
        ];
        for (key, path) in cases {
            assert_eq!(key.path(), path);
            assert_eq!(ResourceKey::parse(path).unwrap(), key);
        }
        for bad in [
            "/calico/resources/v3/projectcalico.org/nodes/",
            "/calico/resources/v3/projectcalico.org/widgets/x",
            "/calico/resources/v3/projectcalico.org/networkpolicies/only-name",
            "/calico/resources/v3/projectcalico.org/nodes/a/b",
            "/calico/v1/host/x",
        ] {
            assert!(ResourceKey::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cli_names() {
        assert_eq!(Kind::from_cli_name("Nodes"), Some(Kind::Node));
        assert_eq!(
            Kind::from_cli_name("bgpconfig"),
            Some(Kind::BgpConfiguration)
        );
        assert_eq!(Kind::from_cli_name("gnp"), Some(Kind::GlobalNetworkPolicy));
        assert_eq!(Kind::from_cli_name("widgets"), None);
        for k in Kind::ALL {
            assert_eq!(Kind::from_cli_name(k.name()), Some(k));
            assert_eq!(Kind::from_cli_name(k.plural()), Some(k));
            assert_eq!(Kind::from_kind_name(k.name()), Some(k));
        }
    }
}
