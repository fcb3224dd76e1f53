//! `ADD`, in Calico's order (`cni-plugin/pkg/plugin.cmdAdd`): an existing
//! WorkloadEndpoint of the container is reused (the container joins another
//! network: only the profile is added); otherwise the IPAM plugin is asked
//! for addresses, the veth pair is created and configured, the
//! WorkloadEndpoint is written and the network's profile is created if it
//! does not exist. A failure at any step undoes the earlier ones: the veth
//! is deleted, the endpoint removed, the addresses released (IPAM `DEL`).

use std::sync::Arc;

use reflex_datastore::model::{Resource, WorkloadEndpoint};
use reflex_datastore::store::etcd::EtcdStore;
use reflex_datastore::store::{Datastore, Precondition};
use reflex_datastore::{DatastoreError, ResourceKey};

use super::{Invocation, Outcome, connect, datastore_error};
use crate::dataplane::{self, DataplaneError, HOST_MAC, SetupPlan, netlink::format_mac};
use crate::delegate;
use crate::endpoint::{self, EndpointFields};
use crate::spec::{CniCommand, CniError, CniResult, ErrorCode, Interface, IpConfig};

/// The CNI error of a dataplane failure.
pub fn dataplane_error(e: DataplaneError) -> CniError {
    let code = match e {
        DataplaneError::NetnsGone(_) => ErrorCode::UnknownContainer,
        _ => ErrorCode::Dataplane,
    };
    CniError::new(code, e.to_string(), "")
}

/// What has been done so far, to undo on failure.
struct Undo<'a> {
    inv: &'a Invocation,
    ipam: Option<std::path::PathBuf>,
    veth: bool,
    wep: Option<ResourceKey>,
}

impl Undo<'_> {
    async fn run(self, store: &EtcdStore, error: CniError) -> CniError {
        tracing::warn!(error = %error, "ADD failed; undoing what it did");
        if let Some(key) = &self.wep {
            match store.delete(key, Precondition::None).await {
                Ok(_) | Err(DatastoreError::NotFound(_)) => {}
                Err(e) => tracing::warn!(error = %e, "could not delete the WorkloadEndpoint"),
            }
        }
        if self.veth {
            let host = dataplane::host_veth_name(&self.inv.env.container_id);
            if let Err(e) =
                dataplane::teardown(self.inv.env.netns.as_deref(), &self.inv.env.ifname, &host)
                    .await
            {
                tracing::warn!(error = %e, "could not delete the veth");
            }
        }
        if let Some(plugin) = &self.ipam {
            let released = delegate::exec(
                plugin,
                CniCommand::Del,
                &self.inv.stdin,
                &self.inv.env.raw_args,
            );
            if let Err(e) = released {
                tracing::warn!(error = %e, "could not release the addresses");
            }
        }
        error
    }
}

/// Runs `ADD`.
pub async fn run(inv: &Invocation) -> Outcome {
    let conf = &inv.conf;
    let env = &inv.env;
    let netns = env
        .netns
        .clone()
        .ok_or_else(|| CniError::new(ErrorCode::InvalidEnvironment, "CNI_NETNS is not set", ""))?;
    let wep_name = endpoint::wep_name(&conf.nodename, &env.container_id, &env.ifname)
        .map_err(|e| CniError::new(ErrorCode::InvalidEnvironment, e.to_string(), ""))?;
    let store = connect(conf).await?;
    let key = endpoint::wep_key(&wep_name);

    let existing = store
        .get(&key)
        .await
        .map_err(|e| datastore_error("reading the WorkloadEndpoint", e))?;
    if let Some(Resource::WorkloadEndpoint(wep)) = existing {
        return reuse_endpoint(&store, inv, wep).await;
    }

    let plugin = delegate::find_plugin(&conf.ipam.plugin, &env.path)?;
    let ipam_out = delegate::exec(&plugin, CniCommand::Add, &inv.stdin, &env.raw_args)?;
    let mut undo = Undo {
        inv,
        ipam: Some(plugin),
        veth: false,
        wep: None,
    };
    let ipam_result = match delegate::parse_result(&ipam_out) {
        Ok(r) => r,
        Err(e) => return Err(undo.run(&store, e).await),
    };
    tracing::info!(ips = ?ipam_result.ips, "addresses from IPAM");

    let host_ifname = dataplane::host_veth_name(&env.container_id);
    let plan = SetupPlan {
        netns: netns.clone(),
        ifname: env.ifname.clone(),
        host_ifname: host_ifname.clone(),
        addresses: ipam_result.ips.iter().map(|ip| ip.address).collect(),
        mtu: conf.mtu,
        allow_ip_forwarding: conf.allow_ip_forwarding,
    };
    // `setup` deletes what it made when it fails.
    let done = match dataplane::setup(&plan).await {
        Ok(d) => d,
        Err(e) => return Err(undo.run(&store, dataplane_error(e)).await),
    };
    undo.veth = true;

    let wep = endpoint::workload_endpoint(&EndpointFields {
        name: &wep_name,
        node: &conf.nodename,
        container_id: &env.container_id,
        endpoint: &env.ifname,
        interface_name: &done.host_ifname,
        mac: &done.container_mac,
        ip_networks: done.addresses.iter().map(|a| a.to_string()).collect(),
        network: &conf.name,
    });
    if let Err(e) = store.put(&wep.into(), Precondition::MustNotExist).await {
        let e = datastore_error("writing the WorkloadEndpoint", e);
        return Err(undo.run(&store, e).await);
    }
    undo.wep = Some(key);
    if let Err(e) = ensure_profile(&store, &conf.name).await {
        return Err(undo.run(&store, e).await);
    }

    let result = CniResult {
        interfaces: vec![
            Interface {
                name: done.host_ifname.clone(),
                mac: Some(format_mac(&HOST_MAC)),
                sandbox: None,
            },
            Interface {
                name: env.ifname.clone(),
                mac: Some(done.container_mac.clone()),
                sandbox: Some(netns.display().to_string()),
            },
        ],
        ips: done
            .addresses
            .iter()
            .map(|a| IpConfig {
                address: *a,
                gateway: None,
                interface: Some(1),
            })
            .collect(),
        routes: done.routes.clone(),
        dns: ipam_result.dns,
    };
    print_result(&result, inv)
}

fn print_result(result: &CniResult, inv: &Invocation) -> Outcome {
    result
        .to_json(inv.conf.cni_version)
        .map(Some)
        .map_err(|e| CniError::new(ErrorCode::Plugin, e.to_string(), ""))
}

/// The container already has an endpoint on this node: add this network's
/// profile to it and answer with its addresses (Calico does no networking
/// in this case).
async fn reuse_endpoint(
    store: &Arc<EtcdStore>,
    inv: &Invocation,
    mut wep: WorkloadEndpoint,
) -> Outcome {
    tracing::info!(endpoint = %wep.metadata.name, "the container already has an endpoint");
    if !wep.spec.profiles.contains(&inv.conf.name) {
        wep.spec.profiles.push(inv.conf.name.clone());
        let resource: Resource = wep.clone().into();
        store
            .put(&resource, Precondition::from_resource(&resource))
            .await
            .map_err(|e| datastore_error("updating the WorkloadEndpoint", e))?;
    }
    ensure_profile(store, &inv.conf.name).await?;
    let mut result = CniResult::default();
    for net in &wep.spec.ip_networks {
        let address = net.parse().map_err(|_| {
            CniError::new(
                ErrorCode::Datastore,
                format!(
                    "WorkloadEndpoint {} has a bad ipNetwork {net:?}",
                    wep.metadata.name
                ),
                "",
            )
        })?;
        result.ips.push(IpConfig {
            address,
            gateway: None,
            interface: None,
        });
    }
    print_result(&result, inv)
}

/// Creates the network's profile unless it exists (Calico never updates it).
pub async fn ensure_profile(store: &EtcdStore, network: &str) -> Result<(), CniError> {
    let profile = endpoint::network_profile(network);
    let resource: Resource = profile.into();
    let key = resource
        .key()
        .map_err(|e| CniError::new(ErrorCode::Datastore, e.to_string(), ""))?;
    if store
        .get(&key)
        .await
        .map_err(|e| datastore_error("reading the profile", e))?
        .is_some()
    {
        return Ok(());
    }
    match store.put(&resource, Precondition::MustNotExist).await {
        Ok(_) => Ok(()),
        // Another ADD created it first.
        Err(DatastoreError::Conflict { .. }) => Ok(()),
        Err(e) => Err(datastore_error("creating the profile", e)),
    }
}
