//! Datastore mode: the reflector's peers come from Calico's v3 resources in
//! etcd (through [`reflex_datastore`]) as well as from its file, are applied
//! live, and each peer's BGP status goes back to etcd under a lease.
//!
//! - [`settings`]: `[datastore]` and the command line's `--datastore`,
//!   `--etcd-*`, `--node`, resolved into [`DatastoreSettings`];
//! - [`derive`]: the pure function from a snapshot to a [`crate::config::ReflectorConfig`];
//! - [`link`]: the running part: the syncer, the connection state, and the
//!   status writer.
//!
//! # Status keys
//! One key per neighbour, `/reflex/status/v1/reflector/<node>/peers/<address>`
//! ([`peer_status_key`]), whose value is a [`PeerStatus`] document, all
//! attached to one lease of `status_ttl` seconds renewed every third of it,
//! so the keys of a reflector that died disappear on their own. A value is
//! written again only when it changes (the uptime is kept as the time the
//! state began, so a steady session costs no writes).

pub mod derive;
pub mod link;
pub mod settings;

use serde::{Deserialize, Serialize};

pub use derive::{DeriveError, Derived, derive};
pub use link::{DatastoreLink, LinkState};
pub use settings::{DatastoreOverrides, DatastoreSettings};

/// Where the reflectors' status keys live.
pub const STATUS_PREFIX: &str = "/reflex/status/v1/reflector/";

/// The prefix of one reflector's peer status keys.
pub fn peer_status_prefix(node: &str) -> String {
    format!("{STATUS_PREFIX}{node}/peers/")
}

/// The status key of one peer of a reflector.
pub fn peer_status_key(node: &str, peer: std::net::IpAddr) -> String {
    format!("{}{peer}", peer_status_prefix(node))
}

/// The value of a peer's status key (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStatus {
    /// The peer's address.
    pub address: std::net::IpAddr,
    /// Its AS, when known.
    pub asn: Option<u32>,
    /// `established` or `down`.
    pub state: String,
    /// When the session entered that state (Unix time, seconds): the
    /// uptime is now minus this.
    pub state_since: u64,
    /// Prefixes accepted from the peer.
    pub prefixes_received: u64,
    /// Routes advertised to the peer, while it is in sync with its group.
    pub prefixes_sent: Option<u64>,
    /// Why the session last went down.
    pub last_error: Option<String>,
    /// The reflector that wrote it (its Node name).
    pub reflector: String,
}
