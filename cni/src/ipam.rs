//! `calico-ipam`: a thin CNI wrapper over [`reflex_datastore::ipam`], after
//! Calico's `cni-plugin/pkg/ipamplugin`.
//!
//! - `ADD`: the handle is `<network>.<container id>`; with `IP=<address>` in
//!   `CNI_ARGS` that address is assigned, otherwise one IPv4 address
//!   (unless `ipam.assign_ipv4` is `"false"`) and one IPv6 address (when
//!   `ipam.assign_ipv6` is `"true"`) from `ipam.ipv4_pools` /
//!   `ipam.ipv6_pools` (CIDRs or IPPool names; empty: every pool that
//!   selects the node). Each address is returned with its block's prefix
//!   length, as Calico's IPAM does; the attributes `node` and `timestamp`
//!   are stored with it.
//! - `DEL`: releases by handle, then by the container id alone (the handle
//!   of Calico releases before 3.0); nothing to release is not an error.
//! - `CHECK`: the handle holds the addresses of `prevResult`.
//!
//! Like Calico's, it holds a host-wide lock (`flock` on `ipam_lock_file`,
//! default `/var/run/calico/ipam.lock`) while it assigns or releases, so the
//! plugins of one node take turns on the node's block instead of losing
//! compare-and-swap races to each other; only other nodes race. The lock is
//! best effort: when the file cannot be opened, the plugin goes on without.

use std::collections::BTreeMap;
use std::fs::File;
use std::net::IpAddr;
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use ipnetwork::IpNetwork;
use reflex_datastore::ipam::{AssignIpRequest, AutoAssignRequest, Ipam, IpamError, PoolRef};

use crate::plugin::{Invocation, Outcome, connect};
use crate::spec::{CniCommand, CniError, CniResult, ErrorCode, IpConfig};

/// The CNI error of an IPAM failure.
pub fn ipam_error(e: IpamError) -> CniError {
    let code = match &e {
        IpamError::Datastore(reflex_datastore::DatastoreError::Unavailable(_)) => {
            ErrorCode::TryAgainLater
        }
        IpamError::PoolNotFound { .. } | IpamError::PoolWrongVersion { .. } => {
            ErrorCode::InvalidNetworkConfig
        }
        _ => ErrorCode::Ipam,
    };
    CniError::new(code, e.to_string(), "")
}

fn pools(list: &[String]) -> Vec<PoolRef> {
    list.iter()
        .map(|p| p.parse().unwrap_or_else(|never| match never {}))
        .collect()
}

fn attributes(node: &str) -> BTreeMap<String, String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    BTreeMap::from([
        ("node".to_string(), node.to_string()),
        ("timestamp".to_string(), format!("{now}")),
    ])
}

/// Takes the host-wide IPAM lock, or `None` (with a warning) when it cannot.
pub fn host_lock(path: &Path) -> Option<Flock<File>> {
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let file = match std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
    {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(lock = %path.display(), error = %e, "no IPAM lock file; going on without");
            return None;
        }
    };
    match Flock::lock(file, FlockArg::LockExclusive) {
        Ok(lock) => Some(lock),
        Err((_, errno)) => {
            tracing::warn!(lock = %path.display(), %errno, "cannot lock; going on without");
            None
        }
    }
}

/// Runs `calico-ipam`.
pub async fn run(inv: &Invocation) -> Outcome {
    let store = connect(&inv.conf).await?;
    let _lock = match inv.env.command {
        CniCommand::Add | CniCommand::Del => host_lock(&inv.conf.ipam_lock_file),
        _ => None,
    };
    let ipam = Ipam::new((*store).clone());
    let handle = inv.handle_id();
    match inv.env.command {
        CniCommand::Add => add(&ipam, inv, &handle).await,
        CniCommand::Del => {
            let released = ipam.release_by_handle(&handle).await.map_err(ipam_error)?;
            tracing::info!(%handle, ?released, "released by handle");
            let legacy = ipam
                .release_by_handle(&inv.env.container_id)
                .await
                .map_err(ipam_error)?;
            if !legacy.is_empty() {
                tracing::info!(?legacy, "released by container id");
            }
            Ok(None)
        }
        CniCommand::Check => {
            if !inv.conf.cni_version.has_check() {
                return Err(CniError::new(
                    ErrorCode::IncompatibleVersion,
                    format!(
                        "CHECK needs cniVersion 0.4.0 or later, the configuration has {}",
                        inv.conf.cni_version
                    ),
                    "",
                ));
            }
            let held = ipam.ips_by_handle(&handle).await.map_err(ipam_error)?;
            let prev = inv
                .conf
                .prev_result
                .as_ref()
                .map(CniResult::from_json)
                .transpose()
                .map_err(|e| CniError::new(ErrorCode::DecodingFailure, e.to_string(), ""))?
                .unwrap_or_default();
            let missing: Vec<String> = prev
                .ips
                .iter()
                .map(|ip| ip.address.ip())
                .filter(|ip| !held.contains(ip))
                .map(|ip| ip.to_string())
                .collect();
            if held.is_empty() || !missing.is_empty() {
                return Err(CniError::new(
                    ErrorCode::CheckFailed,
                    format!("IPAM handle {handle} does not hold the addresses of prevResult"),
                    format!("held: {held:?}; missing: {}", missing.join(", ")),
                ));
            }
            Ok(None)
        }
        CniCommand::Version => Ok(None),
    }
}

async fn add<D: reflex_datastore::Datastore>(
    ipam: &Ipam<D>,
    inv: &Invocation,
    handle: &str,
) -> Outcome {
    let conf = &inv.conf;
    let mut ips: Vec<(IpAddr, IpNetwork)> = Vec::new();
    if let Some(address) = inv.env.args.requested_ip()? {
        let got = ipam
            .assign_ip(&AssignIpRequest {
                address,
                handle_id: Some(handle.to_string()),
                host: conf.nodename.clone(),
                attributes: attributes(&conf.nodename),
            })
            .await
            .map_err(ipam_error)?;
        ips.push((got.address, got.block));
    } else {
        let got = ipam
            .auto_assign(&AutoAssignRequest {
                handle_id: Some(handle.to_string()),
                host: conf.nodename.clone(),
                num_v4: usize::from(conf.ipam.assign_ipv4),
                num_v6: usize::from(conf.ipam.assign_ipv6),
                ipv4_pools: pools(&conf.ipam.ipv4_pools),
                ipv6_pools: pools(&conf.ipam.ipv6_pools),
                attributes: attributes(&conf.nodename),
            })
            .await
            .map_err(ipam_error)?;
        ips.extend(
            got.ipv4
                .iter()
                .chain(&got.ipv6)
                .map(|a| (a.address, a.block)),
        );
    }
    tracing::info!(%handle, ?ips, "assigned");
    let result = CniResult {
        ips: ips
            .into_iter()
            .map(|(address, block)| IpConfig {
                address: IpNetwork::new(address, block.prefix()).unwrap_or(block),
                gateway: None,
                interface: None,
            })
            .collect(),
        ..CniResult::default()
    };
    if result.ips.is_empty() {
        return Err(CniError::new(
            ErrorCode::InvalidNetworkConfig,
            "neither ipam.assign_ipv4 nor ipam.assign_ipv6 asks for an address",
            "",
        ));
    }
    result
        .to_json(conf.cni_version)
        .map(Some)
        .map_err(|e| CniError::new(ErrorCode::Plugin, e.to_string(), ""))
}
