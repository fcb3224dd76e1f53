//! `CHECK` (CNI 0.4.0 and later): the container's networking is compared
//! with `prevResult`: the host-side veth exists and is up with a route to
//! each address; the container's interface exists, is up, has the MAC, the
//! addresses and the routes of the result (and the link route to
//! 169.254.1.1); the WorkloadEndpoint exists with those addresses; and the
//! IPAM plugin's own `CHECK` passes. Calico's plugin answers `CHECK` without
//! looking; this one looks.

use ipnetwork::IpNetwork;
use reflex_datastore::model::Resource;
use reflex_datastore::store::Datastore;

use super::add::dataplane_error;
use super::{Invocation, connect, datastore_error};
use crate::dataplane::{self, CheckPlan, container::ContainerExpectation};
use crate::delegate;
use crate::endpoint;
use crate::spec::{CniCommand, CniError, CniResult, ErrorCode};

fn check_failed(problems: Vec<String>) -> CniError {
    CniError::new(
        ErrorCode::CheckFailed,
        "the container's networking differs from prevResult",
        problems.join("; "),
    )
}

/// Runs `CHECK`.
pub async fn run(inv: &Invocation) -> Result<(), CniError> {
    let conf = &inv.conf;
    let env = &inv.env;
    if !conf.cni_version.has_check() {
        return Err(CniError::new(
            ErrorCode::IncompatibleVersion,
            format!(
                "CHECK needs cniVersion 0.4.0 or later, the configuration has {}",
                conf.cni_version
            ),
            "",
        ));
    }
    let prev = conf.prev_result.as_ref().ok_or_else(|| {
        CniError::new(
            ErrorCode::InvalidNetworkConfig,
            "CHECK needs prevResult",
            "",
        )
    })?;
    let prev = CniResult::from_json(prev).map_err(|e| {
        CniError::new(
            ErrorCode::DecodingFailure,
            "prevResult is not a result",
            e.to_string(),
        )
    })?;
    let netns = env
        .netns
        .clone()
        .ok_or_else(|| CniError::new(ErrorCode::InvalidEnvironment, "CNI_NETNS is not set", ""))?;

    // The container's interface in prevResult: the one named CNI_IFNAME with a sandbox.
    let index = prev
        .interfaces
        .iter()
        .position(|i| i.name == env.ifname && i.sandbox.is_some());
    let addresses: Vec<IpNetwork> = prev
        .ips
        .iter()
        .filter(|ip| ip.interface.is_none() || ip.interface == index)
        .map(|ip| ip.address)
        .collect();
    if addresses.is_empty() {
        return Err(check_failed(vec![format!(
            "prevResult has no address for {}",
            env.ifname
        )]));
    }
    let host_ifname = prev
        .interfaces
        .iter()
        .find(|i| i.sandbox.is_none())
        .map(|i| i.name.clone())
        .unwrap_or_else(|| dataplane::host_veth_name(&env.container_id));
    let plan = CheckPlan {
        netns,
        host_ifname,
        container: ContainerExpectation {
            ifname: env.ifname.clone(),
            mac: index.and_then(|i| prev.interfaces[i].mac.clone()),
            addresses: addresses.clone(),
            routes: prev.routes.clone(),
        },
    };
    let mut problems = dataplane::check(&plan).await.map_err(dataplane_error)?;

    let wep_name = endpoint::wep_name(&conf.nodename, &env.container_id, &env.ifname)
        .map_err(|e| CniError::new(ErrorCode::InvalidEnvironment, e.to_string(), ""))?;
    let store = connect(conf).await?;
    match store
        .get(&endpoint::wep_key(&wep_name))
        .await
        .map_err(|e| datastore_error("reading the WorkloadEndpoint", e))?
    {
        Some(Resource::WorkloadEndpoint(wep)) => {
            for a in &addresses {
                let net = dataplane::host_network(*a).to_string();
                if !wep.spec.ip_networks.contains(&net) {
                    problems.push(format!("WorkloadEndpoint {wep_name} lacks {net}"));
                }
            }
        }
        _ => problems.push(format!("WorkloadEndpoint {wep_name} is missing")),
    }
    if !problems.is_empty() {
        return Err(check_failed(problems));
    }
    let plugin = delegate::find_plugin(&conf.ipam.plugin, &env.path)?;
    delegate::exec(&plugin, CniCommand::Check, &inv.stdin, &env.raw_args)?;
    Ok(())
}
