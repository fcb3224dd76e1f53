//! `reflex-datastore`: Calico's `projectcalico.org/v3` data model on etcd (and in
//! memory), with Calico's selector language, the BGP peering computation of
//! Calico's confd/BIRD templates, resilient watches and a syncer.
//!
//! # Layout
//! - [`model`]: the resources (`Node`, `BGPPeer`, `BGPConfiguration`, `IPPool`,
//!   `WorkloadEndpoint`, `Profile`, `GlobalNetworkPolicy`, `NetworkPolicy`) in
//!   Calico's exact JSON, unknown fields preserved; kinds and etcd keys
//!   (`/calico/resources/v3/projectcalico.org/<plural>/[<ns>/]<name>`);
//! - [`selector`]: `has(k) && k in {'a'} || !(k == "v")`, parsed with nom into an
//!   [`selector::Expr`] with positioned errors, evaluated on labels;
//! - [`snapshot`]: every resource at one point, cheap to clone;
//! - [`peering`]: [`peering::peerings`], a node's BGP sessions (mesh, explicit,
//!   selectors, reverse peerings, route-reflector clients, RFC 4456);
//! - [`store`]: the [`store::Datastore`] trait; [`store::memory::MemoryStore`] and
//!   [`store::etcd::EtcdStore`] (TLS, user/password, relist-and-diff watches;
//!   feature `etcd`, on by default: without it only `EtcdConfig` is built);
//! - [`syncer`]: [`syncer::Syncer`], a live snapshot plus a stream of typed
//!   changes that never waits for its users, with connection status and backoff;
//! - [`cli`]: `apply` (JSON/YAML files) and `get` (tables) for the daemons' CLIs;
//! - [`ipam`]: Calico's block IPAM in Calico's etcd layout ([`ipam::Ipam`]:
//!   auto-assign from a node's blocks, new blocks and borrowed ones, release by
//!   address or handle, the blocks affine to a node), compare-and-swap throughout;
//! - [`backoff`], [`error`]: retry delays and the error types;
//! - `testing` (feature `test-util`): a real etcd on a loopback port for tests.
//!
//! # IPAM
//!
//! [`ipam::Ipam`] is Calico's block IPAM on either backend, in Calico's etcd
//! keys (`/calico/ipam/v2/...`): `auto_assign` (the node's blocks, then a new
//! block claimed for it, then borrowing), `assign_ip`, `release_ips`,
//! `release_by_handle`, `ips_by_handle` and `affine_blocks` (what a node
//! routes). Every block, affinity and handle update is a compare-and-swap on
//! the key's mod revision ([`store::Datastore::put_raw_if`]), retried on
//! conflict a bounded number of times; errors are [`ipam::IpamError`]. The
//! keys, the JSON and the settings are in `docs/CONFIGURATION.md` (IPAM).
//!
//! # Example
//!
//! Store resources, follow them with a syncer, and compute a node's peerings:
//!
//! ```
//! use std::sync::Arc;
//! use reflex_datastore::cli::parse_documents;
//! use reflex_datastore::peering::peerings;
//! use reflex_datastore::store::{memory::MemoryStore, Datastore, Precondition};
//! use reflex_datastore::syncer::{Syncer, SyncerConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let store = MemoryStore::new();
//! let yaml = r#"
//! apiVersion: projectcalico.org/v3
//! kind: BGPConfiguration
//! metadata: {name: default}
//! spec: {nodeToNodeMeshEnabled: false}
//! ---
//! apiVersion: projectcalico.org/v3
//! kind: Node
//! metadata: {name: rr1, labels: {route-reflector: "true"}}
//! spec: {bgp: {ipv4Address: 10.0.0.1/24, routeReflectorClusterID: 224.0.0.1}}
//! ---
//! apiVersion: projectcalico.org/v3
//! kind: Node
//! metadata: {name: node1}
//! spec: {bgp: {ipv4Address: 10.0.0.2/24}}
//! ---
//! apiVersion: projectcalico.org/v3
//! kind: BGPPeer
//! metadata: {name: to-rr}
//! spec: {nodeSelector: "!has(route-reflector)", peerSelector: has(route-reflector)}
//! "#;
//! for r in parse_documents(yaml).unwrap() {
//!     store.put(&r, Precondition::None).await.unwrap();
//! }
//!
//! let syncer = Syncer::start(Arc::new(store), SyncerConfig::default());
//! let snapshot = syncer.wait_connected().await;
//!
//! // The reflector peers back with its client, and marks it as one.
//! let rr = peerings("rr1", &snapshot);
//! assert_eq!(rr.len(), 1);
//! assert_eq!(rr[0].peer_ip.to_string(), "10.0.0.2");
//! assert!(rr[0].rr_client);
//! // The client peers with the reflector.
//! assert_eq!(peerings("node1", &snapshot)[0].peer_node.as_deref(), Some("rr1"));
//! # }
//! ```
#![warn(missing_docs)]

pub mod backoff;
pub mod cli;
pub mod error;
pub mod ipam;
pub mod model;
pub mod peering;
pub mod selector;
pub mod snapshot;
pub mod store;
pub mod syncer;
#[cfg(feature = "test-util")]
pub mod testing;

pub use error::{DatastoreError, ModelError};
pub use model::{Kind, Resource, ResourceKey};
pub use snapshot::Snapshot;
pub use store::Datastore;
