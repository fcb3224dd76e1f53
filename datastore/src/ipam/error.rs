//! [`IpamError`]: why an IPAM operation failed.

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::keys::IpVersion;
use crate::error::DatastoreError;

/// An error of an IPAM operation.
#[derive(Debug, thiserror::Error)]
pub enum IpamError {
    /// The datastore failed (unreachable, ...).
    #[error(transparent)]
    Datastore(#[from] DatastoreError),
    /// No enabled IPPool of this version selects the host (and none was named).
    #[error("no enabled {version} IP pool selects host {host:?}")]
    NoPools {
        /// The host.
        host: String,
        /// The IP version asked for.
        version: IpVersion,
    },
    /// A pool named in the request does not exist or is disabled.
    #[error("IP pool {pool:?} does not exist or is disabled")]
    PoolNotFound {
        /// The pool as named (CIDR or name).
        pool: String,
    },
    /// A pool named for one IP version has the other.
    #[error("IP pool {pool:?} is not an {version} pool")]
    PoolWrongVersion {
        /// The pool as named.
        pool: String,
        /// The version it was named for.
        version: IpVersion,
    },
    /// A stored IPPool that cannot be used (bad CIDR, block size or selector).
    #[error("IP pool {pool:?} is unusable: {problem}")]
    InvalidPool {
        /// The pool's name.
        pool: String,
        /// What is wrong with it.
        problem: String,
    },
    /// Fewer free addresses than asked for in the usable pools (nothing is kept
    /// of a request that could not be met in full).
    #[error("{version} pools exhausted for host {host:?}: {requested} asked, {available} free")]
    Exhausted {
        /// The host.
        host: String,
        /// The IP version.
        version: IpVersion,
        /// How many addresses were asked for.
        requested: usize,
        /// How many could be had.
        available: usize,
    },
    /// The address is in no enabled IP pool.
    #[error("{0} is not in any enabled IP pool")]
    NotInPool(IpAddr),
    /// The address is already assigned.
    #[error("{address} is already assigned (handle {handle:?})")]
    AlreadyAllocated {
        /// The address.
        address: IpAddr,
        /// The handle holding it, if any.
        handle: Option<String>,
    },
    /// The block is affine to another host (or to none) and has strict affinity.
    #[error(
        "block {block} has strict affinity to {owner:?}: host {host:?} may not take addresses from it"
    )]
    StrictAffinity {
        /// The block.
        block: IpNetwork,
        /// The block's `affinity` (`host:<node>`), if any.
        owner: Option<String>,
        /// The host that asked.
        host: String,
    },
    /// Every compare-and-swap attempt on a key lost to another writer.
    #[error("gave up on {key} after {attempts} conflicting concurrent updates")]
    RetriesExhausted {
        /// The contended key.
        key: String,
        /// How many attempts were made.
        attempts: usize,
    },
    /// A stored IPAM value that is not valid JSON of its type.
    #[error("corrupt IPAM value at {key}: {source}")]
    CorruptJson {
        /// The etcd key.
        key: String,
        /// The decoder's error, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// A stored block whose contents contradict themselves or its key.
    #[error("corrupt IPAM block at {key}: {problem}")]
    CorruptBlock {
        /// The etcd key.
        key: String,
        /// What is inconsistent.
        problem: String,
    },
    /// A host or handle id that cannot be a key segment (empty, or with `/`).
    #[error("invalid {what} {name:?}: must be non-empty and contain no '/'")]
    InvalidName {
        /// `host` or `handle id`.
        what: &'static str,
        /// The name given.
        name: String,
    },
}
