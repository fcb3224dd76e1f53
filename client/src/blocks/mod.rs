//! Routing by IPAM block (Calico's block affinities), in datastore mode.
//!
//! Calico IPAM gives each node address blocks (a /26 by default) and
//! records the node's *affinity* to each in etcd. With block routing on
//! (`[export] blocks = true`), the client:
//! - installs a blackhole route for each block affine to its node, with a
//!   protocol number of its own ([`blackhole`]);
//! - advertises each affine block once, and no longer the /32 (/128)
//!   routes of workloads inside it; an address borrowed from another
//!   node's block (a Felix route, protocol 80 on a `cali*` interface,
//!   covered by none of our blocks) keeps its own host route ([`set`]);
//! - follows affinity changes: a block claimed or released is advertised
//!   or withdrawn, and its host routes withdrawn or advertised again.
//!
//! # Layout
//! - [`set`]: [`AffineBlocks`] and the advertisement rule (pure);
//! - [`blackhole`]: the kernel's blackhole routes;
//! - this file: the task that reads the node's affinities with
//!   [`reflex_datastore::ipam::Ipam::affine_blocks`] (a listing every
//!   [`BlockRouting::poll`], as the store has no raw-key watch), hands the
//!   blocks to the agent ([`AgentControl::set_affine_blocks`]) and keeps
//!   the blackholes. While etcd cannot be read the last blocks stay.
//!
//! # Example
//! ```no_run
//! # async fn demo(agent: bgp_client::agent::AgentControl) {
//! use bgp_client::blocks::{self, BlockRouting};
//! use reflex_datastore::store::etcd::EtcdConfig;
//!
//! let etcd = EtcdConfig::new(["http://10.0.0.100:2379"]);
//! let task = blocks::start_etcd(etcd, "node-a".into(), agent, BlockRouting::default());
//! # task.abort();
//! # }
//! ```

pub mod blackhole;
pub mod set;

pub use set::AffineBlocks;

use std::collections::HashSet;
use std::time::Duration;

use ipnetwork::IpNetwork;
use reflex_datastore::store::Datastore;
use reflex_datastore::store::etcd::{EtcdConfig, EtcdStore};
use tokio::task::JoinHandle;

use crate::agent::{AgentControl, AgentError};
use crate::kernel::route::normalise;
use blackhole::Blackholes;
use reflex_datastore::ipam::{AffinityState, Ipam};

/// How block routing runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRouting {
    /// Protocol number of the blackhole routes.
    pub protocol: u8,
    /// Time between two readings of the affinity keys.
    pub poll: Duration,
}

impl Default for BlockRouting {
    /// [`blackhole::DEFAULT_PROTOCOL`], one reading a second.
    fn default() -> Self {
        BlockRouting {
            protocol: blackhole::DEFAULT_PROTOCOL,
            poll: Duration::from_secs(1),
        }
    }
}

/// Start following `node`'s blocks in etcd (connecting with retries) on
/// the current runtime, in the current network namespace. The task ends
/// when the agent stops.
pub fn start_etcd(
    etcd: EtcdConfig,
    node: String,
    agent: AgentControl,
    routing: BlockRouting,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut delay = Duration::from_millis(200);
        let store = loop {
            match EtcdStore::connect(etcd.clone()).await {
                Ok(store) => break store,
                Err(error) => {
                    tracing::warn!(%error, retry_in = ?delay, "block routing: cannot connect to etcd");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
            }
        };
        follow(store, node, agent, routing).await;
    })
}

/// The daemon's start: block routing when `config` asks for it
/// (`[export] blocks = true` with a `[datastore]`), on that datastore.
pub fn start_for_daemon(
    datastore: Option<&crate::config::schema::Datastore>,
    config: &crate::agent::AgentConfig,
    agent: AgentControl,
) -> Option<JoinHandle<()>> {
    let (file, routing) = (datastore?, config.blocks?);
    let etcd = crate::datastore::Settings::from_file(file).etcd;
    tracing::info!(protocol = routing.protocol, "routing by IPAM block");
    Some(start_etcd(etcd, config.node_name.clone(), agent, routing))
}

/// Follow `node`'s block affinities in `store` until the agent stops
/// (see the module documentation).
pub async fn follow<D: Datastore>(
    store: D,
    node: String,
    agent: AgentControl,
    routing: BlockRouting,
) {
    let mut blackholes = match Blackholes::open(routing.protocol).await {
        Ok(b) => Some(b),
        Err(error) => {
            tracing::error!(%error, "block routing: no blackhole routes");
            None
        }
    };
    let ipam = Ipam::new(store);
    let mut current: Option<HashSet<IpNetwork>> = None;
    let mut kernel_dirty = true;
    while !agent.is_stopped() {
        match ipam.affine_blocks(&node).await {
            Ok(affine) => {
                let blocks: HashSet<IpNetwork> = affine
                    .into_iter()
                    .filter(|b| b.state == AffinityState::Confirmed)
                    .map(|b| normalise(b.cidr))
                    .collect();
                if current.as_ref() != Some(&blocks) {
                    tracing::info!(blocks = blocks.len(), "block affinities of the node");
                    let set = AffineBlocks::new(blocks.iter().copied());
                    match agent.set_affine_blocks(set).await {
                        Ok(()) => {}
                        Err(AgentError::Stopped) => return,
                        Err(error) => tracing::error!(%error, "block routing"),
                    }
                    current = Some(blocks);
                    kernel_dirty = true;
                }
            }
            Err(error) => {
                tracing::warn!(%error, "block routing: cannot read the affinities; keeping the last")
            }
        }
        if let (Some(holes), Some(blocks), true) = (&mut blackholes, &current, kernel_dirty) {
            match holes.sync(blocks).await {
                Ok(()) => kernel_dirty = false,
                Err(error) => tracing::warn!(%error, "block routing: blackhole routes"),
            }
        }
        tokio::time::sleep(routing.poll).await;
    }
}
