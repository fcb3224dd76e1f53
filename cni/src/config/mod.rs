//! The network configuration Calico's plugins read from stdin
//! (`cni-plugin/pkg/types.NetConf`), checked into a [`NetConf`].
//!
//! Keys of the wrong type are errors that name the key (`ipam.assign_ipv4:
//! expected "true" or "false"`); unknown keys are ignored, as in Calico.
//! Settings Calico takes from the environment when the file is silent
//! (`DATASTORE_TYPE`, `ETCD_ENDPOINTS`, `ETCD_*_FILE`) are read through the
//! same `var` function as the `CNI_*` variables.
//!
//! # Layout
//! - `raw`: the serde structs, one field per Calico key;
//! - [`nodename`]: the node name (`nodename`, `nodename_file`, default
//!   `/var/lib/calico/nodename`, `hostname`, the OS host name).

pub mod nodename;
mod raw;

use std::path::PathBuf;

use reflex_datastore::store::etcd::EtcdConfig;
use serde_json::Value;

use crate::spec::{CniError, CniVersion, ErrorCode};
use raw::RawNetConf;

/// Calico's default nodename file, written by `calico/node`.
pub const DEFAULT_NODENAME_FILE: &str = "/var/lib/calico/nodename";
/// Calico's MTU file, read when `mtu` is not set.
pub const DEFAULT_MTU_FILE: &str = "/var/lib/calico/mtu";
/// Calico's host-wide IPAM lock (`ipam_lock_file`).
pub const DEFAULT_IPAM_LOCK_FILE: &str = "/var/run/calico/ipam.lock";

/// A configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// stdin is not JSON.
    #[error("the network configuration is not JSON: {0}")]
    NotJson(String),
    /// A key has the wrong type or an impossible value.
    #[error("network configuration key {key:?}: {reason}")]
    InvalidKey {
        /// The key's path (`ipam.assign_ipv4`).
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A required key is missing.
    #[error("network configuration key {0:?} is required")]
    Missing(&'static str),
    /// The `cniVersion` is not supported.
    #[error(transparent)]
    Version(#[from] crate::spec::version::UnsupportedVersion),
    /// The setting needs a Kubernetes API server, which Reflex does not use.
    #[error(
        "network configuration key {key:?} = {value:?} needs a Kubernetes API server; Reflex's plugin works with the etcdv3 datastore only"
    )]
    NeedsKubernetes {
        /// The key.
        key: &'static str,
        /// Its value.
        value: String,
    },
    /// The nodename file is missing and not optional.
    #[error(
        "{path}: {reason}: check that the node agent is running and has written the node name (or set nodename_file_optional)"
    )]
    NodenameFile {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        reason: String,
    },
}

impl From<ConfigError> for CniError {
    fn from(e: ConfigError) -> Self {
        let code = match &e {
            ConfigError::NotJson(_) => ErrorCode::DecodingFailure,
            ConfigError::Version(_) => ErrorCode::IncompatibleVersion,
            ConfigError::NeedsKubernetes { .. } => ErrorCode::UnsupportedField,
            ConfigError::NodenameFile { .. } => ErrorCode::TryAgainLater,
            ConfigError::InvalidKey { .. } | ConfigError::Missing(_) => {
                ErrorCode::InvalidNetworkConfig
            }
        };
        CniError::new(code, e.to_string(), "")
    }
}

/// Calico's log levels (logrus names), `info` by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogLevel {
    /// `debug`.
    Debug,
    /// `info`.
    #[default]
    Info,
    /// `warning` / `warn`.
    Warning,
    /// `error`, `fatal`, `panic`.
    Error,
}

/// The IPAM section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpamConf {
    /// `ipam.type`: the IPAM plugin's binary name.
    pub plugin: String,
    /// `ipam.assign_ipv4` (default true).
    pub assign_ipv4: bool,
    /// `ipam.assign_ipv6` (default false).
    pub assign_ipv6: bool,
    /// `ipam.ipv4_pools`: CIDRs or IPPool names.
    pub ipv4_pools: Vec<String>,
    /// `ipam.ipv6_pools`: CIDRs or IPPool names.
    pub ipv6_pools: Vec<String>,
}

/// A checked network configuration.
#[derive(Clone, Debug)]
pub struct NetConf {
    /// `cniVersion` (absent means 0.2.0).
    pub cni_version: CniVersion,
    /// `name`: the network, Calico's profile, the first part of IPAM handles.
    pub name: String,
    /// `type`.
    pub plugin_type: String,
    /// The node this plugin runs on.
    pub nodename: String,
    /// `log_level`.
    pub log_level: LogLevel,
    /// `log_file_path`, when logs also go to a file.
    pub log_file_path: Option<PathBuf>,
    /// etcd settings (`datastore_type` etcdv3 and the `etcd_*` keys).
    pub etcd: EtcdConfig,
    /// `mtu`, or the MTU file's value; `None` leaves the kernel default.
    pub mtu: Option<u32>,
    /// `ipam`.
    pub ipam: IpamConf,
    /// `container_settings.allow_ip_forwarding`.
    pub allow_ip_forwarding: bool,
    /// `ipam_lock_file`: `calico-ipam` holds it while it assigns or releases.
    pub ipam_lock_file: PathBuf,
    /// `prevResult` (CHECK, and DEL from 0.4.0).
    pub prev_result: Option<Value>,
}

/// Whether a network name is one Felix accepts (Calico's `ValidateNetworkName`).
pub fn valid_network_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn invalid(key: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError::InvalidKey {
        key: key.to_string(),
        reason: reason.into(),
    }
}

fn non_empty(v: Option<String>) -> Option<String> {
    v.filter(|s| !s.trim().is_empty())
}

impl NetConf {
    /// Parses stdin. `var` reads the environment (for Calico's `DATASTORE_TYPE`
    /// and `ETCD_*` fallbacks); `mtu_file` is where the MTU file is looked for.
    pub fn parse(
        stdin: &[u8],
        var: &impl Fn(&str) -> Option<String>,
        mtu_file: &std::path::Path,
    ) -> Result<NetConf, ConfigError> {
        let mut de = serde_json::Deserializer::from_slice(stdin);
        let raw: RawNetConf = match serde_path_to_error::deserialize(&mut de) {
            Ok(raw) => raw,
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                if inner.is_syntax() || inner.is_eof() || path == "." {
                    return Err(ConfigError::NotJson(inner.to_string()));
                }
                return Err(invalid(&path, strip_position(&inner.to_string())));
            }
        };
        let cni_version = CniVersion::of_config(raw.cni_version.as_deref())?;
        let name = non_empty(raw.name).ok_or(ConfigError::Missing("name"))?;
        if !valid_network_name(&name) {
            return Err(invalid(
                "name",
                format!("{name:?} has characters other than letters, digits and _.-"),
            ));
        }
        let plugin_type = raw.plugin_type.unwrap_or_default();

        // Settings that only make sense with Kubernetes.
        if let Some(k) = non_empty(raw.kubernetes.kubeconfig) {
            return Err(ConfigError::NeedsKubernetes {
                key: "kubernetes.kubeconfig",
                value: k,
            });
        }
        if let Some(k) = non_empty(raw.kubernetes.k8s_api_root) {
            return Err(ConfigError::NeedsKubernetes {
                key: "kubernetes.k8s_api_root",
                value: k,
            });
        }
        match raw.policy.policy_type.as_deref() {
            None | Some("") => {}
            Some("k8s") => {
                return Err(ConfigError::NeedsKubernetes {
                    key: "policy.type",
                    value: "k8s".into(),
                });
            }
            Some(other) => {
                return Err(invalid(
                    "policy.type",
                    format!("{other:?} is not a policy type (Calico knows \"k8s\")"),
                ));
            }
        }
        let datastore_type = non_empty(raw.datastore_type)
            .or_else(|| non_empty(var("DATASTORE_TYPE")))
            .unwrap_or_else(|| "etcdv3".into());
        match datastore_type.as_str() {
            "etcdv3" => {}
            "kubernetes" => {
                return Err(ConfigError::NeedsKubernetes {
                    key: "datastore_type",
                    value: datastore_type,
                });
            }
            other => {
                return Err(invalid(
                    "datastore_type",
                    format!("{other:?} is not \"etcdv3\" (or \"kubernetes\")"),
                ));
            }
        }
        if raw.ipam.subnet.as_deref() == Some("usePodCidr") {
            return Err(ConfigError::NeedsKubernetes {
                key: "ipam.subnet",
                value: "usePodCidr".into(),
            });
        }

        let log_level = match raw.log_level.as_deref().map(str::to_ascii_lowercase) {
            None => LogLevel::Info,
            Some(l) => match l.as_str() {
                "" | "info" => LogLevel::Info,
                "debug" | "trace" => LogLevel::Debug,
                "warn" | "warning" => LogLevel::Warning,
                "error" | "fatal" | "panic" => LogLevel::Error,
                other => {
                    return Err(invalid(
                        "log_level",
                        format!("{other:?} is not one of debug, info, warning, error"),
                    ));
                }
            },
        };

        let etcd = etcd_settings(
            &raw_etcd(
                raw.etcd_endpoints,
                raw.etcd_authority,
                raw.etcd_scheme,
                raw.etcd_key_file,
                raw.etcd_cert_file,
                raw.etcd_ca_cert_file,
            ),
            var,
        )?;

        let mtu = match raw.mtu {
            Some(0) | None => read_mtu_file(mtu_file)?,
            Some(m) if !(68..=65535).contains(&m) => {
                return Err(invalid("mtu", format!("{m} is outside 68..=65535")));
            }
            Some(m) => Some(m),
        };

        for (key, pools, v4) in [
            ("ipam.ipv4_pools", &raw.ipam.ipv4_pools, true),
            ("ipam.ipv6_pools", &raw.ipam.ipv6_pools, false),
        ] {
            for p in pools {
                if let Ok(net) = p.parse::<ipnetwork::IpNetwork>() {
                    if net.is_ipv4() != v4 {
                        return Err(invalid(
                            key,
                            format!("{p:?} is not an IPv{} CIDR", if v4 { 4 } else { 6 }),
                        ));
                    }
                } else if p.is_empty() || p.contains('/') {
                    return Err(invalid(
                        key,
                        format!("{p:?} is neither a CIDR nor a pool name"),
                    ));
                }
            }
        }
        let ipam = IpamConf {
            plugin: raw.ipam.ipam_type,
            assign_ipv4: raw.ipam.assign_ipv4.unwrap_or(true),
            assign_ipv6: raw.ipam.assign_ipv6.unwrap_or(false),
            ipv4_pools: raw.ipam.ipv4_pools,
            ipv6_pools: raw.ipam.ipv6_pools,
        };

        let nodename = nodename::determine(
            &nodename::NodenameKeys {
                nodename: non_empty(raw.nodename),
                nodename_file: non_empty(raw.nodename_file).map(PathBuf::from),
                nodename_file_optional: raw.nodename_file_optional,
                hostname: non_empty(raw.hostname),
            },
            nodename::os_hostname,
        )?;

        Ok(NetConf {
            cni_version,
            name,
            plugin_type,
            nodename,
            log_level,
            log_file_path: non_empty(raw.log_file_path).map(PathBuf::from),
            etcd,
            mtu,
            ipam,
            allow_ip_forwarding: raw.container_settings.allow_ip_forwarding,
            ipam_lock_file: non_empty(raw.ipam_lock_file)
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_IPAM_LOCK_FILE)),
            prev_result: raw.prev_result.filter(|v| !v.is_null()),
        })
    }

    /// Calico's IPAM handle for a container: `<network>.<container id>`.
    pub fn handle_id(&self, container_id: &str) -> String {
        format!("{}.{}", self.name, container_id)
    }
}

/// serde_json appends " at line L column C"; the key path says more.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

struct RawEtcd {
    endpoints: Option<String>,
    authority: Option<String>,
    scheme: Option<String>,
    key_file: Option<String>,
    cert_file: Option<String>,
    ca_cert_file: Option<String>,
}

fn raw_etcd(
    endpoints: Option<String>,
    authority: Option<String>,
    scheme: Option<String>,
    key_file: Option<String>,
    cert_file: Option<String>,
    ca_cert_file: Option<String>,
) -> RawEtcd {
    RawEtcd {
        endpoints: non_empty(endpoints),
        authority: non_empty(authority),
        scheme: non_empty(scheme),
        key_file: non_empty(key_file),
        cert_file: non_empty(cert_file),
        ca_cert_file: non_empty(ca_cert_file),
    }
}

/// The etcd settings: the file's keys first, then Calico's environment
/// variables, then `http://127.0.0.1:2379`.
fn etcd_settings(
    raw: &RawEtcd,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<EtcdConfig, ConfigError> {
    let mut etcd = EtcdConfig::from_env(|k| non_empty(var(k)));
    if let Some(list) = &raw.endpoints {
        etcd.endpoints = list
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
    } else if let Some(authority) = &raw.authority {
        let scheme = raw.scheme.as_deref().unwrap_or("http");
        etcd.endpoints = vec![format!("{scheme}://{authority}")];
    }
    for e in &etcd.endpoints {
        if !(e.starts_with("http://") || e.starts_with("https://")) {
            return Err(invalid(
                "etcd_endpoints",
                format!("{e:?} is not an http:// or https:// URL"),
            ));
        }
    }
    if raw.key_file.is_some() || raw.cert_file.is_some() || raw.ca_cert_file.is_some() {
        let mut tls = etcd.tls.clone().unwrap_or_default();
        if let Some(f) = &raw.ca_cert_file {
            tls.ca_file = Some(PathBuf::from(f));
        }
        if let Some(f) = &raw.cert_file {
            tls.cert_file = Some(PathBuf::from(f));
        }
        if let Some(f) = &raw.key_file {
            tls.key_file = Some(PathBuf::from(f));
        }
        etcd.tls = Some(tls);
    }
    let half_identity = etcd
        .tls
        .as_ref()
        .is_some_and(|tls| tls.cert_file.is_some() != tls.key_file.is_some());
    if half_identity {
        return Err(invalid(
            "etcd_cert_file",
            "etcd_cert_file and etcd_key_file go together",
        ));
    }
    // A CNI plugin is short-lived: fail fast rather than wait out long
    // connection timeouts.
    etcd.connect_timeout = std::time::Duration::from_secs(5);
    etcd.request_timeout = std::time::Duration::from_secs(10);
    Ok(etcd)
}

fn read_mtu_file(path: &std::path::Path) -> Result<Option<u32>, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => text.trim().parse().map(Some).map_err(|_| {
            invalid(
                "mtu",
                format!("{} holds {:?}, not an MTU", path.display(), text.trim()),
            )
        }),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests;
