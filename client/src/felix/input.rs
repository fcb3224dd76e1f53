//! What Felix is given: workload endpoints, profiles and policies, as the
//! datastore's resources, and the endpoints resolved for programming.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::felix::acl::{FnvMap, fnv};
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
/// back as warnings and the endpoint is left out. Sorted by key.
pub fn resolve_endpoints(input: &FelixInput, warnings: &mut Vec<String>) -> Vec<Arc<Endpoint>> {
    EndpointCache::default().resolve(input, warnings)
}

/// The endpoints of the last [`EndpointCache::resolve`], with the resource
/// each came from: a resource equal to last time's (and profiles whose
/// `labelsToApply` did not change) gives back the same `Arc<Endpoint>`,
/// so one changed endpoint costs one resolve, and the compiler can tell
/// unchanged endpoints by pointer.
#[derive(Debug, Default)]
pub struct EndpointCache {
    /// Each profile's `labelsToApply` at the last resolve.
    profile_labels: BTreeMap<String, Labels>,
    /// The last resolve's resources, in input order, with what each
    /// resolved to.
    entries: Vec<Option<Box<CachedEndpoint>>>,
}

#[derive(Debug)]
struct CachedEndpoint {
    source: WorkloadEndpoint,
    /// The endpoint, or why it was left out.
    resolved: Result<Arc<Endpoint>, String>,
    /// What was ignored.
    warning: Option<String>,
}

impl EndpointCache {
    /// [`resolve_endpoints`], reusing what did not change since the last
    /// call (the cache then holds this call's endpoints only).
    pub fn resolve(
        &mut self,
        input: &FelixInput,
        warnings: &mut Vec<String>,
    ) -> Vec<Arc<Endpoint>> {
        let profiles: BTreeMap<&str, &Profile> =
            input.profiles.iter().map(|p| (p.name(), p)).collect();
        let same_profiles = self.profile_labels.len() == profiles.len()
            && profiles
                .iter()
                .all(|(name, p)| self.profile_labels.get(*name) == Some(&p.spec.labels_to_apply));
        if !same_profiles {
            self.entries.clear();
            self.profile_labels = profiles
                .iter()
                .map(|(name, p)| (name.to_string(), p.spec.labels_to_apply.clone()))
                .collect();
        }
        let mut previous = std::mem::take(&mut self.entries);
        // Last time's positions by name, built at the first resource that
        // is not where it was.
        let mut by_name: Option<FnvMap<u64, Vec<usize>>> = None;
        let mut out = Vec::with_capacity(input.endpoints.len());
        for (i, wep) in input.endpoints.iter().enumerate() {
            let same =
                |e: &Option<Box<CachedEndpoint>>| e.as_ref().is_some_and(|e| e.source == *wep);
            let reused = if previous.get(i).is_some_and(same) {
                previous[i].take()
            } else {
                let index = by_name.get_or_insert_with(|| {
                    let mut index: FnvMap<u64, Vec<usize>> = FnvMap::default();
                    for (j, e) in previous.iter().enumerate() {
                        if let Some(e) = e {
                            index.entry(fnv(e.source.name())).or_default().push(j);
                        }
                    }
                    index
                });
                index
                    .get(&fnv(wep.name()))
                    .and_then(|at| at.iter().copied().find(|&j| same(&previous[j])))
                    .and_then(|j| previous[j].take())
            };
            let entry = reused.unwrap_or_else(|| {
                let (resolved, warning) = resolve_one(wep, &profiles);
                Box::new(CachedEndpoint {
                    source: wep.clone(),
                    resolved,
                    warning,
                })
            });
            match &entry.resolved {
                Ok(ep) => out.push(ep.clone()),
                Err(why) => warnings.push(why.clone()),
            }
            warnings.extend(entry.warning.iter().cloned());
            self.entries.push(Some(entry));
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }
}

/// One endpoint: what it resolves to (or why it is left out), and a
/// warning about what was ignored.
fn resolve_one(
    wep: &WorkloadEndpoint,
    profiles: &BTreeMap<&str, &Profile>,
) -> (Result<Arc<Endpoint>, String>, Option<String>) {
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
                let why = format!("endpoint {key}: bad ipNetwork {text:?}: skipped");
                return (Err(why), None);
            }
        }
    }
    let mut warning = None;
    let mac = if spec.mac.is_empty() {
        None
    } else {
        match parse_mac(&spec.mac) {
            Some(mac) => Some(mac),
            None => {
                warning = Some(format!("endpoint {key}: bad MAC {:?}: ignored", spec.mac));
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
    let endpoint = Endpoint {
        key,
        namespace,
        node: spec.node.clone(),
        interface: spec.interface_name.clone(),
        networks,
        mac,
        labels,
        profiles: spec.profiles.clone(),
        ports: spec.ports.clone(),
    };
    (Ok(Arc::new(endpoint)), warning)
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
    endpoints: &'a [Arc<Endpoint>],
    node: Option<&str>,
    warnings: &mut Vec<String>,
) -> Vec<&'a Arc<Endpoint>> {
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

    fn documents(web_role: &str, prod_env: &str, bad: bool) -> FelixInput {
        let bad = if bad {
            "---\napiVersion: projectcalico.org/v3\nkind: WorkloadEndpoint\nmetadata: {name: bad, namespace: prod}\nspec: {node: node1, interfaceName: cali9, ipNetworks: [nonsense]}\n"
        } else {
            ""
        };
        FelixInput::from_documents(&format!(
            r#"
apiVersion: projectcalico.org/v3
kind: Profile
metadata: {{name: kns.prod}}
spec: {{labelsToApply: {{env: {prod_env}}}}}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {{name: a, namespace: prod, labels: {{role: {web_role}}}}}
spec: {{node: node1, interfaceName: cali1, ipNetworks: [10.65.0.5/32], profiles: [kns.prod]}}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {{name: b, namespace: prod}}
spec: {{node: node1, interfaceName: cali2, ipNetworks: [10.65.0.6/32], mac: "zz"}}
---
apiVersion: projectcalico.org/v3
kind: WorkloadEndpoint
metadata: {{name: a, namespace: test}}
spec: {{node: node1, interfaceName: cali3, ipNetworks: [10.65.0.7/32], profiles: [kns.prod]}}
{bad}"#
        ))
        .unwrap()
    }

    #[test]
    fn the_cache_gives_back_unchanged_endpoints_and_resolves_changed_ones() {
        let mut cache = EndpointCache::default();
        let mut warnings = Vec::new();
        let first = cache.resolve(&documents("web", "prod", true), &mut warnings);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        let keys: Vec<&str> = first.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["prod/a", "prod/b", "test/a"]);

        // One endpoint's labels changed: only it is resolved again, and
        // the warnings of the others come back as before.
        let mut again = Vec::new();
        let second = cache.resolve(&documents("db", "prod", true), &mut again);
        assert_eq!(again, warnings);
        assert!(!Arc::ptr_eq(&first[0], &second[0]));
        assert_eq!(second[0].labels["role"], "db");
        assert!(Arc::ptr_eq(&first[1], &second[1]));
        assert!(
            Arc::ptr_eq(&first[2], &second[2]),
            "same name, other namespace"
        );

        // A profile's labelsToApply changed: every endpoint is resolved again.
        let third = cache.resolve(&documents("db", "staging", false), &mut Vec::new());
        assert_eq!(third[0].labels["env"], "staging");
        assert_eq!(third[2].labels["env"], "staging");
        assert!(!Arc::ptr_eq(&second[1], &third[1]));

        // Whatever was cached, the result is what a fresh resolve gives.
        for input in [
            documents("web", "prod", true),
            documents("db", "staging", false),
        ] {
            let cached = cache.resolve(&input, &mut Vec::new());
            let fresh = resolve_endpoints(&input, &mut Vec::new());
            let cached: Vec<&Endpoint> = cached.iter().map(|e| &**e).collect();
            let fresh: Vec<&Endpoint> = fresh.iter().map(|e| &**e).collect();
            assert_eq!(cached, fresh);
        }
        // An endpoint that went is not given back.
        let mut fewer = documents("web", "prod", false);
        fewer.endpoints.remove(1);
        let keys: Vec<String> = cache
            .resolve(&fewer, &mut Vec::new())
            .iter()
            .map(|e| e.key.clone())
            .collect();
        assert_eq!(keys, ["prod/a", "test/a"]);
    }
}
