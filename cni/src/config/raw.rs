//! The network configuration as JSON: every key Calico's `types.NetConf`
//! reads, with serde defaults, and unknown keys ignored (CNI configurations
//! carry keys for other plugins and the runtime's `runtimeConfig`).

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Calico writes `assign_ipv4` / `assign_ipv6` as the strings `"true"` and
/// `"false"`; a JSON boolean is accepted too.
fn bool_or_bool_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    use serde::de::Error;
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::String(s) if s == "true" => Ok(Some(true)),
        Value::String(s) if s == "false" => Ok(Some(false)),
        other => Err(D::Error::custom(format!(
            "expected \"true\" or \"false\", found {other}"
        ))),
    }
}

/// `ipam`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawIpam {
    #[serde(rename = "type")]
    pub ipam_type: String,
    #[serde(deserialize_with = "bool_or_bool_string")]
    pub assign_ipv4: Option<bool>,
    #[serde(deserialize_with = "bool_or_bool_string")]
    pub assign_ipv6: Option<bool>,
    pub ipv4_pools: Vec<String>,
    pub ipv6_pools: Vec<String>,
    /// host-local's subnet (`usePodCidr` needs Kubernetes).
    pub subnet: Option<String>,
}

/// `kubernetes`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawKubernetes {
    pub kubeconfig: Option<String>,
    pub k8s_api_root: Option<String>,
}

/// `policy`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawPolicy {
    #[serde(rename = "type")]
    pub policy_type: Option<String>,
}

/// `container_settings`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawContainerSettings {
    pub allow_ip_forwarding: bool,
}

/// The whole configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RawNetConf {
    #[serde(rename = "cniVersion")]
    pub cni_version: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub plugin_type: Option<String>,
    pub nodename: Option<String>,
    /// Deprecated by Calico in favour of `nodename`.
    pub hostname: Option<String>,
    pub nodename_file: Option<String>,
    pub nodename_file_optional: bool,
    pub log_level: Option<String>,
    pub log_file_path: Option<String>,
    pub datastore_type: Option<String>,
    pub etcd_endpoints: Option<String>,
    pub etcd_authority: Option<String>,
    pub etcd_scheme: Option<String>,
    pub etcd_key_file: Option<String>,
    pub etcd_cert_file: Option<String>,
    pub etcd_ca_cert_file: Option<String>,
    pub mtu: Option<u32>,
    pub ipam_lock_file: Option<String>,
    pub ipam: RawIpam,
    pub kubernetes: RawKubernetes,
    pub policy: RawPolicy,
    pub container_settings: RawContainerSettings,
    #[serde(rename = "prevResult")]
    pub prev_result: Option<Value>,
}
