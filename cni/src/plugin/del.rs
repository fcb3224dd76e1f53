//! `DEL`, in Calico's order (`cmdDel`): release the addresses through the
//! IPAM plugin, delete the WorkloadEndpoint, delete the veth. Idempotent: a
//! missing endpoint, veth or namespace is not an error, so a second `DEL`
//! succeeds. An IPAM failure is reported after the rest has been cleaned up.

use reflex_datastore::DatastoreError;
use reflex_datastore::store::{Datastore, Precondition};

use super::add::dataplane_error;
use super::{Invocation, connect, datastore_error};
use crate::dataplane;
use crate::delegate;
use crate::endpoint;
use crate::spec::{CniCommand, CniError, ErrorCode};

/// Runs `DEL`.
pub async fn run(inv: &Invocation) -> Result<(), CniError> {
    let conf = &inv.conf;
    let env = &inv.env;
    let wep_name = endpoint::wep_name(&conf.nodename, &env.container_id, &env.ifname)
        .map_err(|e| CniError::new(ErrorCode::InvalidEnvironment, e.to_string(), ""))?;

    let ipam = delegate::find_plugin(&conf.ipam.plugin, &env.path)
        .and_then(|plugin| delegate::exec(&plugin, CniCommand::Del, &inv.stdin, &env.raw_args));
    if let Err(e) = &ipam {
        tracing::error!(error = %e, "releasing the addresses failed");
    }

    let store = connect(conf).await?;
    match store
        .delete(&endpoint::wep_key(&wep_name), Precondition::None)
        .await
    {
        Ok(_) => tracing::info!(endpoint = %wep_name, "deleted the WorkloadEndpoint"),
        Err(DatastoreError::NotFound(_)) => {
            tracing::info!(endpoint = %wep_name, "no WorkloadEndpoint to delete")
        }
        Err(e) => return Err(datastore_error("deleting the WorkloadEndpoint", e)),
    }

    let host = dataplane::host_veth_name(&env.container_id);
    let done = dataplane::teardown(env.netns.as_deref(), &env.ifname, &host)
        .await
        .map_err(dataplane_error)?;
    tracing::info!(?done, "veth removed");
    ipam.map(|_| ())
}
