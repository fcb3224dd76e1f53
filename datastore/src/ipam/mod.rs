//! Calico's block IPAM (`calico-ipam`), kept in the datastore exactly as
//! libcalico-go keeps it in etcd, so Calico's tools and ours read each other's
//! allocations.
//!
//! Pools (the `IPPool` resources) are cut into blocks (`blockSize`, default /26
//! and /122). A node claims whole blocks (its *affinity*) and hands out their
//! addresses; a node whose blocks are full claims another free block, and when
//! no block is free, unless `strict_affinity` is set, borrows free addresses
//! from other nodes' blocks. Each assignment is recorded under a *handle* (one
//! per workload) so the workload's addresses can be released together. Every
//! change is a compare-and-swap on the etcd mod revision of the block, affinity
//! or handle key, retried on conflict, so two nodes never hand out one address.
//!
//! # Layout
//! - [`keys`]: the key layout (`/calico/ipam/v2/assignment/ipv4/block/<cidr>`,
//!   `/calico/ipam/v2/host/<node>/ipv4/block/<cidr>`, `/calico/ipam/v2/handle/<id>`,
//!   `/calico/ipam/v2/config`) and its parsers;
//! - `block`: [`AllocationBlock`] in Calico's JSON, ordinal <-> address
//!   arithmetic, and the pure assign / release operations on one block;
//! - `records`: [`BlockAffinity`] (`state` confirmed / pending / pendingDeletion),
//!   [`IpamHandle`] (`block`: CIDR -> count) and [`IpamConfig`];
//! - `pools`: [`Pool`] (an `IPPool` checked), [`PoolRef`] (a pool named by CIDR
//!   or name), which pools a request uses, the order a host tries blocks in;
//! - `client`: [`Ipam`], its readers ([`Ipam::affine_blocks`], [`Ipam::block`],
//!   [`Ipam::handle`]) and the compare-and-swap writes;
//! - `assign`: [`Ipam::auto_assign`], [`Ipam::assign_ip`];
//! - `release`: [`Ipam::release_ips`], [`Ipam::release_by_handle`],
//!   [`Ipam::ips_by_handle`], and a node giving up its blocks
//!   ([`Ipam::release_affinity`], [`Ipam::release_host_affinities`]);
//! - `error`: [`IpamError`].
//!
//! # Example
//!
//! ```
//! use reflex_datastore::ipam::{AffinityState, AutoAssignRequest, Ipam};
//! use reflex_datastore::model::{IpPool, IpPoolSpec};
//! use reflex_datastore::store::{memory::MemoryStore, Datastore, Precondition};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let store = MemoryStore::new();
//! let pool = IpPool::new("default", IpPoolSpec { cidr: "10.65.0.0/24".into(), ..Default::default() });
//! store.put(&pool.into(), Precondition::None).await.unwrap();
//!
//! let ipam = Ipam::new(store);
//! let request = AutoAssignRequest {
//!     handle_id: Some("k8s-pod-network.c0ffee".into()),
//!     host: "node1".into(),
//!     num_v4: 2,
//!     ..Default::default()
//! };
//! let got = ipam.auto_assign(&request).await.unwrap();
//! assert_eq!(got.ipv4.len(), 2);
//!
//! // node1 claimed one /26 of the pool, and routes it.
//! let blocks = ipam.affine_blocks("node1").await.unwrap();
//! assert_eq!(blocks.len(), 1);
//! assert_eq!(blocks[0].state, AffinityState::Confirmed);
//! assert!(blocks[0].cidr.contains(got.ipv4[0].address));
//!
//! // The workload goes: its addresses go with its handle.
//! let released = ipam.release_by_handle("k8s-pod-network.c0ffee").await.unwrap();
//! assert_eq!(released, got.addresses());
//! assert!(ipam.ips_by_handle("k8s-pod-network.c0ffee").await.unwrap().is_empty());
//! # }
//! ```

mod assign;
mod block;
#[cfg(test)]
mod cas_tests;
mod client;
mod error;
pub mod keys;
mod pools;
mod records;
mod release;
#[cfg(test)]
mod tests;

pub use assign::{AssignIpRequest, AssignedIp, AutoAssignRequest, AutoAssigned};
pub use block::{
    AllocationAttribute, AllocationBlock, BlockRelease, MAX_BLOCK_BITS, host_affinity,
};
pub use client::{AffineBlock, DEFAULT_MAX_RETRIES, Ipam};
pub use error::IpamError;
pub use keys::IpVersion;
pub use pools::{DEFAULT_V4_BLOCK_SIZE, DEFAULT_V6_BLOCK_SIZE, Pool, PoolRef};
pub use records::{AffinityState, BlockAffinity, IpamConfig, IpamHandle};
