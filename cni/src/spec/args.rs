//! `CNI_ARGS`: `KEY=VALUE` pairs separated by `;` (CNI `SPEC.md`, and
//! libcni's `types.LoadArgs`).
//!
//! Calico's plugins prepend `IgnoreUnknown=1` before reading them, so
//! unknown keys are ignored here too; a pair without `=` is an error. The
//! keys Calico reads are kept: the Kubernetes pod (`K8S_POD_NAME`,
//! `K8S_POD_NAMESPACE`), which selects Calico's Kubernetes orchestrator, and
//! `IP`, a specific address asked of `calico-ipam`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::error::{CniError, ErrorCode};

/// The parsed `CNI_ARGS`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CniArgs {
    /// Every pair, in key order.
    pub pairs: BTreeMap<String, String>,
}

impl CniArgs {
    /// A value.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.get(key).map(String::as_str)
    }

    /// The pod's `(namespace, name)` when the runtime is Kubernetes.
    pub fn kubernetes_pod(&self) -> Option<(&str, &str)> {
        match (self.get("K8S_POD_NAMESPACE"), self.get("K8S_POD_NAME")) {
            (Some(ns), Some(name)) if !ns.is_empty() && !name.is_empty() => Some((ns, name)),
            _ => None,
        }
    }

    /// The address asked for with `IP=` (for `calico-ipam`).
    pub fn requested_ip(&self) -> Result<Option<IpAddr>, CniError> {
        match self.get("IP") {
            None | Some("") => Ok(None),
            Some(ip) => ip.parse().map(Some).map_err(|_| {
                CniError::new(
                    ErrorCode::InvalidEnvironment,
                    format!("CNI_ARGS IP={ip:?} is not an IP address"),
                    "",
                )
            }),
        }
    }
}

/// Parses `CNI_ARGS`.
pub fn parse_cni_args(raw: &str) -> Result<CniArgs, CniError> {
    let mut pairs = BTreeMap::new();
    for pair in raw.split(';').filter(|p| !p.is_empty()) {
        let Some((key, value)) = pair.split_once('=') else {
            return Err(CniError::new(
                ErrorCode::InvalidEnvironment,
                format!("CNI_ARGS has an invalid pair {pair:?}"),
                "pairs are KEY=VALUE separated by ';'",
            ));
        };
        pairs.insert(key.to_string(), value.to_string());
    }
    Ok(CniArgs { pairs })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_parse_and_unknown_keys_are_kept_aside() {
        let a =
            parse_cni_args("IgnoreUnknown=1;K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;FOO=bar").unwrap();
        assert_eq!(a.kubernetes_pod(), Some(("ns", "p")));
        assert_eq!(a.get("FOO"), Some("bar"));
        assert_eq!(parse_cni_args("").unwrap(), CniArgs::default());
        assert!(
            parse_cni_args("K8S_POD_NAME=p")
                .unwrap()
                .kubernetes_pod()
                .is_none()
        );
    }

    #[test]
    fn bad_pairs_and_addresses_are_errors() {
        let e = parse_cni_args("A=1;broken").unwrap_err();
        assert!(e.msg.contains("broken"), "{e}");
        let a = parse_cni_args("IP=10.0.0.9").unwrap();
        assert_eq!(a.requested_ip().unwrap(), Some("10.0.0.9".parse().unwrap()));
        assert!(parse_cni_args("IP=10.0.0").unwrap().requested_ip().is_err());
    }
}
