//! What Felix is given: workload endpoints, profiles and policies, as the
//! datastore's resources, and the endpoints resolved for programming.

use std::collections::BTreeMap;
use std::path::Path;

use ipnetwork::IpNetwork;
use reflex_datastore::model::{
    EndpointPort, GlobalNetworkPolicy, Labels, NetworkPolicy, Profile, Resource, WorkloadEndpoint,
};

/// The label Calico gives every endpoint with its namespace.
pub const NAMESPACE_LABEL: &str = "projectcalico.org/namespace";
/// The label Calico gives every endpoint with its orchestrator.
pub const ORCHESTRATOR_LABEL: &str = "projectcalico.org/orchestrator";
/// The label a namespace selector is evaluated on (the namespace's name).
pub const NAMESPACE_NAME_LABEL: &str = "projectcalico.org/name";

/// Why an input file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The text is not valid JSON or YAML resources.
    #[error("{0}")]
    Parse(#[from] reflex_datastore::cli::CliError),
}

/// Every resource Felix works from. Endpoints of other nodes are used for
/// the address sets of rule selectors; only this node's are programmed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FelixInput {
    /// Workload endpoints (of every node).
    pub endpoints: Vec<WorkloadEndpoint>,
    /// Profiles.
    pub profiles: Vec<Profile>,
    /// Global network policies.
    pub global_policies: Vec<GlobalNetworkPolicy>,
    /// Namespaced network policies.
    pub policies: Vec<NetworkPolicy>,
}

impl FelixInput {
    /// The endpoints, profiles and policies among `resources` (other kinds
    /// are ignored).
    pub fn from_resources(resources: impl IntoIterator<Item = Resource>) -> Self {
        let mut input = FelixInput::default();
        for resource in resources {
            match resource {
                Resource::WorkloadEndpoint(r) => input.endpoints.push(r),
                Resource::Profile(r) => input.profiles.push(r),
                Resource::GlobalNetworkPolicy(r) => input.global_policies.push(r),
                Resource::NetworkPolicy(r) => input.policies.push(r),
                _ => {}
            }
        }
        input
    }

    /// From a JSON or YAML text of resources (as `calicoctl apply` takes).
    pub fn from_documents(text: &str) -> Result<Self, InputError> {
        Ok(FelixInput::from_resources(
            reflex_datastore::cli::parse_documents(text)?,
        ))
    }

    /// From a JSON or YAML file of resources (the embedded mode).
    pub fn from_file(path: &Path) -> Result<Self, InputError> {
        let text = std::fs::read_to_string(path).map_err(|source| InputError::Read {
            path: path.display().to_string(),
            source,
        })?;
        FelixInput::from_documents(&text)
    }
}

/// An endpoint as Felix uses it: parsed addresses, effective labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// `<namespace>/<name>`.
    pub key: String,
    /// The namespace (`default` when none).
    pub namespace: String,
    /// The node it runs on.
    pub node: String,
    /// The host-side interface (empty for endpoints without one).
    pub interface: String,
    /// Its addresses, host bits cleared.
    pub networks: Vec<IpNetwork>,
    /// Its MAC address, when known.
    pub mac: Option<[u8; 6]>,
    /// Labels: the profiles' `labelsToApply`, then its own, then the
    /// namespace and orchestrator labels.
    pub labels: Labels,
    /// Its profiles, in order.
    pub profiles: Vec<String>,
    /// Its named ports.
    pub ports: Vec<EndpointPort>,
}

/// Parse `aa:bb:cc:dd:ee:ff` (or with `-`).
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split([':', '-']);
    for byte in &mut mac {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// A network with its host bits cleared.
pub fn normalise(net: IpNetwork) -> IpNetwork {
    IpNetwork::new(net.network(), net.prefix()).unwrap_or(net)
}

/// Resolve every endpoint of `input`; problems (a bad address or MAC) come
/// back as warnings and the endpoint is left out.
pub fn resolve_endpoints(input: &FelixInput, warnings: &mut Vec<String>) -> Vec<Endpoint> {
    let profiles: BTreeMap<&str, &Profile> = input.profiles.iter().map(|p| (p.name(), p)).collect();
    let mut out = Vec::new();
    'endpoints: for wep in &input.endpoints {
        let namespace = wep
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let key = format!("{namespace}/{}", wep.name());
        let spec = &wep.spec;
        let mut networks = Vec::new();
        for text in &spec.ip_networks {
            // Calico also accepts a bare address for a host network.
            let parsed = text
                .parse::<IpNetwork>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNetwork::from));
            match parsed {
                Ok(net) => networks.push(normalise(net)),
                Err(_) => {
                    warnings.push(format!("endpoint {key}: bad ipNetwork {text:?}: skipped"));
                    continue 'endpoints;
                }
            }
        }
        let mac = if spec.mac.is_empty() {
            None
        } else {
            match parse_mac(&spec.mac) {
                Some(mac) => Some(mac),
                None => {
                    warnings.push(format!("endpoint {key}: bad MAC {:?}: ignored", spec.mac));
                    None
                }
            }
        };
        let mut labels = Labels::new();
        for name in &spec.profiles {
            if let Some(profile) = profiles.get(name.as_str()) {
                labels.extend(profile.spec.labels_to_apply.clone());
            }
        }
        labels.extend(wep.metadata.labels.clone());
        labels.insert(NAMESPACE_LABEL.into(), namespace.clone());
        if !spec.orchestrator.is_empty() {
            labels.insert(ORCHESTRATOR_LABEL.into(), spec.orchestrator.clone());
        }
        out.push(Endpoint {
            key,
            namespace,
            node: spec.node.clone(),
            interface: spec.interface_name.clone(),
            networks,
            mac,
            labels,
            profiles: spec.profiles.clone(),
            ports: spec.ports.clone(),
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

/// Whether `endpoint` is programmed on `node`: it has an interface, and
/// its `spec.node` is `node` or empty (every endpoint with an interface
/// when no node name is given). Two local endpoints with the same
/// interface: the first (by key) wins, see [`local_endpoints`].
pub fn is_local(endpoint: &Endpoint, node: Option<&str>) -> bool {
    !endpoint.interface.is_empty()
        && node.is_none_or(|n| endpoint.node.is_empty() || endpoint.node == n)
}

/// The endpoints of `node`, one per interface.
pub fn local_endpoints<'a>(
    endpoints: &'a [Endpoint],
    node: Option<&str>,
    warnings: &mut Vec<String>,
) -> Vec<&'a Endpoint> {
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    for ep in endpoints.iter().filter(|e| is_local(e, node)) {
        if let Some(first) = seen.insert(ep.interface.as_str(), ep.key.as_str()) {
            warnings.push(format!(
                "endpoint {}: interface {} is already {first}'s: skipped",
                ep.key, ep.interface
            ));
            seen.insert(ep.interface.as_str(), first);
            continue;
        }
        out.push(ep);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs() {
        assert_eq!(parse_mac("02:00:0a:41:01:02"), Some([2, 0, 10, 0x41, 1, 2]));
        assert_eq!(parse_mac("02-00-0A-41-01-02"), Some([2, 0, 10, 0x41, 1, 2]));
        assert_eq!(parse_mac("02:00:0a:41:01"), None);
        assert_eq!(parse_mac("02:00:0a:41:01:02:03"), None);
        assert_eq!(parse_mac("zz:00:0a:41:01:02"), None);
    }

    #[test]
    fn endpoints_from_yaml() {
        let input = FelixInput::from_documents(
            r#"
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {name: kns.prod}
spec: {labelsToApply: {env: prod, role: x}}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node1-k8s-a-eth0, namespace: prod, labels: {role: web}}
spec:
  node: node1
  orchestrator: k8s
  interfaceName: cali1
  ipNetworks: [10.65.0.5/24, "2001:db8::5"]
  mac: "02:00:00:00:00:01"
  profiles: [kns.prod]
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {name: node2-k8s-b-eth0, namespace: prod}
spec: {node: node2, interfaceName: cali1, ipNetworks: [10.65.1.5/32]}
"#,
        )
        .unwrap();
        let mut warnings = Vec::new();
        let eps = resolve_endpoints(&input, &mut warnings);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(eps.len(), 2);
        let a = &eps[0];
        assert_eq!(a.key, "prod/node1-k8s-a-eth0");
        assert_eq!(a.networks[0].to_string(), "10.65.0.0/24");
        assert_eq!(a.networks[1].to_string(), "2001:db8::5/128");
        assert_eq!(a.labels["role"], "web");
        assert_eq!(a.labels["env"], "prod");
        assert_eq!(a.labels[NAMESPACE_LABEL], "prod");
        assert_eq!(a.labels[ORCHESTRATOR_LABEL], "k8s");
        let local = local_endpoints(&eps, Some("node1"), &mut warnings);
        assert_eq!(local.len(), 1);
        assert_eq!(local_endpoints(&eps, None, &mut warnings).len(), 1);
        assert_eq!(warnings.len(), 1, "same interface twice");
    }
}
