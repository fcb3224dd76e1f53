//! The `WorkloadEndpoint` and `Profile` resources the plugin writes, as
//! Calico's plugin writes them without Kubernetes (orchestrator `cni`).
//!
//! A WEP is named `<node>-cni-<container id>-<endpoint>` with every dash
//! inside a part doubled (libcalico-go's `names.WorkloadEndpointIdentifiers`),
//! lives in namespace `default`, carries the labels libcalico-go adds on
//! write (`projectcalico.org/namespace`, `projectcalico.org/orchestrator`),
//! and has profile `[<network name>]`. The profile, created when missing,
//! allows all egress and ingress from endpoints with the network's label,
//! and gives its endpoints that label (`labelsToApply: {<name>: ""}`).

use reflex_datastore::model::{
    Action, EntityRule, Kind, Profile, ProfileSpec, ResourceKey, Rule, WorkloadEndpoint,
    WorkloadEndpointSpec,
};

/// Calico's orchestrator id without Kubernetes.
pub const ORCHESTRATOR: &str = "cni";
/// The namespace of non-Kubernetes WEPs.
pub const NAMESPACE: &str = "default";

/// A WEP name part that Calico cannot encode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("WorkloadEndpoint {field} {value:?} {problem}")]
pub struct NameError {
    /// The field (`node`, `containerID`, `endpoint`).
    pub field: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong.
    pub problem: &'static str,
}

fn escape(field: &'static str, value: &str) -> Result<String, NameError> {
    let problem = if value.is_empty() {
        Some("is empty")
    } else if value.starts_with('-') {
        Some("must not begin with '-'")
    } else if value.ends_with('-') {
        Some("must not end with '-'")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(NameError {
            field,
            value: value.to_string(),
            problem,
        }),
        None => Ok(value.replace('-', "--")),
    }
}

/// The WEP name of a container's endpoint.
pub fn wep_name(node: &str, container_id: &str, endpoint: &str) -> Result<String, NameError> {
    Ok([
        escape("node", node)?,
        ORCHESTRATOR.to_string(),
        escape("containerID", container_id)?,
        escape("endpoint", endpoint)?,
    ]
    .join("-"))
}

/// The WEP's key.
pub fn wep_key(name: &str) -> ResourceKey {
    ResourceKey::namespaced(Kind::WorkloadEndpoint, NAMESPACE, name)
}

/// What goes into a new WEP.
#[derive(Clone, Debug)]
pub struct EndpointFields<'a> {
    /// Its name.
    pub name: &'a str,
    /// The node.
    pub node: &'a str,
    /// The container id (also the workload).
    pub container_id: &'a str,
    /// `CNI_IFNAME`.
    pub endpoint: &'a str,
    /// The host-side veth.
    pub interface_name: &'a str,
    /// The container side's MAC.
    pub mac: &'a str,
    /// `/32` and `/128` networks.
    pub ip_networks: Vec<String>,
    /// The network name (the profile).
    pub network: &'a str,
}

/// A new WEP.
pub fn workload_endpoint(f: &EndpointFields<'_>) -> WorkloadEndpoint {
    WorkloadEndpoint::new(
        f.name,
        WorkloadEndpointSpec {
            orchestrator: ORCHESTRATOR.into(),
            workload: f.container_id.into(),
            node: f.node.into(),
            container_id: f.container_id.into(),
            endpoint: f.endpoint.into(),
            ip_networks: f.ip_networks.clone(),
            profiles: vec![f.network.into()],
            interface_name: f.interface_name.into(),
            mac: f.mac.into(),
            ..WorkloadEndpointSpec::default()
        },
    )
    .in_namespace(NAMESPACE)
    .with_label("projectcalico.org/namespace", NAMESPACE)
    .with_label("projectcalico.org/orchestrator", ORCHESTRATOR)
}

/// The profile Calico creates for a network.
pub fn network_profile(network: &str) -> Profile {
    let mut ingress = Rule::new(Action::Allow);
    ingress.source = EntityRule {
        selector: format!("has({network})"),
        ..EntityRule::default()
    };
    let mut spec = ProfileSpec {
        ingress: vec![ingress],
        egress: vec![Rule::new(Action::Allow)],
        ..ProfileSpec::default()
    };
    spec.labels_to_apply
        .insert(network.to_string(), String::new());
    Profile::new(network, spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wep_names_escape_dashes_as_calico_does() {
        assert_eq!(
            wep_name("node1", "abc123", "eth0").unwrap(),
            "node1-cni-abc123-eth0"
        );
        assert_eq!(
            wep_name("rack-1", "c-1", "eth0").unwrap(),
            "rack--1-cni-c--1-eth0"
        );
        let e = wep_name("node1", "abc-", "eth0").unwrap_err();
        assert_eq!(e.field, "containerID");
        assert!(wep_name("", "abc", "eth0").is_err());
        assert!(wep_name("n", "abc", "-eth0").is_err());
    }

    #[test]
    fn the_endpoint_and_profile_have_calicos_fields() {
        let wep = workload_endpoint(&EndpointFields {
            name: "node1-cni-abc-eth0",
            node: "node1",
            container_id: "abc",
            endpoint: "eth0",
            interface_name: "caliabc",
            mac: "0a:00:00:00:00:01",
            ip_networks: vec!["10.0.0.1/32".into()],
            network: "net1",
        });
        let json = serde_json::to_value(&wep).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "apiVersion": "projectcalico.org/v3",
                "kind": "WorkloadEndpoint",
                "metadata": {
                    "name": "node1-cni-abc-eth0",
                    "namespace": "default",
                    "labels": {
                        "projectcalico.org/namespace": "default",
                        "projectcalico.org/orchestrator": "cni"
                    }
                },
                "spec": {
                    "orchestrator": "cni",
                    "workload": "abc",
                    "node": "node1",
                    "containerID": "abc",
                    "endpoint": "eth0",
                    "ipNetworks": ["10.0.0.1/32"],
                    "profiles": ["net1"],
                    "interfaceName": "caliabc",
                    "mac": "0a:00:00:00:00:01"
                }
            })
        );
        let profile = serde_json::to_value(network_profile("net1")).unwrap();
        assert_eq!(
            profile["spec"]["ingress"][0]["source"]["selector"],
            "has(net1)"
        );
        assert_eq!(profile["spec"]["egress"][0]["action"], "Allow");
        assert_eq!(
            profile["spec"]["labelsToApply"],
            serde_json::json!({"net1": ""})
        );
    }
}
