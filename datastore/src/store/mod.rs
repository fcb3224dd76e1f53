//! The [`Datastore`] trait and its backends: [`memory::MemoryStore`] (embedded,
//! tests) and [`etcd::EtcdStore`] (etcd v3, Calico's layout).
//!
//! Revisions are etcd's: one cluster-wide counter, bumped by every write; a
//! resource's `metadata.resourceVersion` is the mod revision of its key.

pub mod diff;
#[cfg(feature = "etcd")]
pub mod etcd;
/// Without the `etcd` feature: only the settings type of the etcd backend
/// (so configuration code builds the same either way).
#[cfg(not(feature = "etcd"))]
pub mod etcd {
    #[path = "config.rs"]
    mod config;
    pub use config::{EtcdConfig, EtcdTls};
}
pub mod memory;

use std::future::Future;
use std::time::Duration;

use futures::stream::BoxStream;

use crate::error::DatastoreError;
use crate::model::{Kind, Resource, ResourceKey};

/// An etcd lease id (RFC-less; etcd's `LeaseGrant`).
pub type LeaseId = i64;

/// The result of a list: the resources of a kind and the revision they are at.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Listing {
    /// The resources, ordered by key, each with its resource version set.
    pub resources: Vec<Resource>,
    /// The store revision of the listing; watch from here.
    pub revision: i64,
}

/// A raw key's value with the revision of its last write (etcd's `mod_revision`),
/// the token of a compare-and-swap with [`Precondition::Revision`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionedValue {
    /// The stored bytes.
    pub value: Vec<u8>,
    /// The revision of the key's last write.
    pub mod_revision: i64,
}

/// A condition on a write (compare-and-swap).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Precondition {
    /// Write unconditionally.
    #[default]
    None,
    /// Create only: fail if the key exists.
    MustNotExist,
    /// Update only if the key's mod revision is this one.
    Revision(i64),
}

impl Precondition {
    /// Compare-and-swap on the resource's `metadata.resourceVersion` when it has
    /// one, else unconditional.
    pub fn from_resource(resource: &Resource) -> Self {
        match resource.metadata().revision() {
            Some(rev) => Precondition::Revision(rev),
            None => Precondition::None,
        }
    }
}

/// One item of a watch stream.
// `Put` is the common case: boxing it would cost an allocation per event and save
// nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum WatchEvent {
    /// A resource was created or updated; its resource version is the revision.
    Put(Resource),
    /// A resource was deleted at `revision`.
    Delete {
        /// The deleted resource's key.
        key: ResourceKey,
        /// The revision of the deletion (or of the relist that found it gone).
        revision: i64,
    },
    /// The stream lost the datastore and is retrying; events resume, without gaps
    /// or repeats, after the next `InSync`.
    Disconnected {
        /// Why.
        error: String,
    },
    /// The stream is connected and has delivered every change up to `revision`.
    InSync {
        /// The revision.
        revision: i64,
    },
}

/// A stream of watch events. An `Err` item is final: the stream ends after it and
/// the caller must list again (for instance after [`DatastoreError::Compacted`]).
pub type WatchStream = BoxStream<'static, Result<WatchEvent, DatastoreError>>;

/// A store of Calico resources (and of raw status keys with leases).
///
/// Every method is async and may be called from many tasks at once.
pub trait Datastore: Send + Sync + 'static {
    /// Every resource of a kind, and the revision they were read at.
    fn list(&self, kind: Kind) -> impl Future<Output = Result<Listing, DatastoreError>> + Send;

    /// One resource.
    fn get(
        &self,
        key: &ResourceKey,
    ) -> impl Future<Output = Result<Option<Resource>, DatastoreError>> + Send;

    /// Changes to a kind after `from_revision` (usually a [`Listing::revision`]),
    /// in revision order. [`WatchEvent::InSync`] marks where everything up to a
    /// revision has been delivered: once the watch is established, and again after
    /// each recovery. `from_revision` 0 means "from nothing": the current
    /// resources come first, as puts.
    fn watch(
        &self,
        kind: Kind,
        from_revision: i64,
    ) -> impl Future<Output = Result<WatchStream, DatastoreError>> + Send;

    /// Lists a kind and watches it from the listed revision: the usual start of a
    /// follower. Backends may do it more cheaply than the two calls.
    fn list_and_watch(
        &self,
        kind: Kind,
    ) -> impl Future<Output = Result<(Listing, WatchStream), DatastoreError>> + Send {
        async move {
            let listing = self.list(kind).await?;
            let stream = self.watch(kind, listing.revision).await?;
            Ok((listing, stream))
        }
    }

    /// Creates or replaces a resource; returns the revision of the write (the
    /// resource's new version). `metadata.resourceVersion` is not stored.
    fn put(
        &self,
        resource: &Resource,
        precondition: Precondition,
    ) -> impl Future<Output = Result<i64, DatastoreError>> + Send;

    /// Deletes a resource; returns the revision of the deletion.
    /// [`DatastoreError::NotFound`] when it did not exist.
    fn delete(
        &self,
        key: &ResourceKey,
        precondition: Precondition,
    ) -> impl Future<Output = Result<i64, DatastoreError>> + Send;

    /// Writes a raw key (a status key, outside the resource kinds) attached to a new
    /// lease of `ttl`: the key disappears unless [`Datastore::keep_alive`] is called
    /// within each `ttl`.
    fn put_with_lease(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> impl Future<Output = Result<LeaseId, DatastoreError>> + Send;

    /// Renews a lease; returns its TTL. [`DatastoreError::LeaseNotFound`] when it
    /// has expired or been revoked.
    fn keep_alive(
        &self,
        lease: LeaseId,
    ) -> impl Future<Output = Result<Duration, DatastoreError>> + Send;

    /// Revokes a lease, deleting its keys.
    fn revoke(&self, lease: LeaseId) -> impl Future<Output = Result<(), DatastoreError>> + Send;

    /// Reads a raw key.
    fn get_raw(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, DatastoreError>> + Send;

    /// Grants a lease of `ttl` with no keys yet (see [`Datastore::put_raw`]).
    fn grant_lease(
        &self,
        ttl: Duration,
    ) -> impl Future<Output = Result<LeaseId, DatastoreError>> + Send;

    /// Writes a raw key, attached to `lease` when given (the key goes with the
    /// lease), else permanent.
    fn put_raw(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<LeaseId>,
    ) -> impl Future<Output = Result<(), DatastoreError>> + Send;

    /// Deletes a raw key; `Ok(false)` when it did not exist.
    fn delete_raw(&self, key: &str) -> impl Future<Output = Result<bool, DatastoreError>> + Send;

    /// Every raw key under `prefix` with its value, ordered by key.
    fn list_raw(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<(String, Vec<u8>)>, DatastoreError>> + Send;

    /// Reads a raw key with its mod revision, for a later compare-and-swap.
    fn get_raw_versioned(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<VersionedValue>, DatastoreError>> + Send;

    /// Writes a raw key (without a lease) if `precondition` holds, atomically
    /// (etcd: one transaction comparing `mod_revision`, or `create_revision` 0 for
    /// [`Precondition::MustNotExist`]); returns the revision of the write, the key's
    /// new mod revision. [`DatastoreError::Conflict`] when the condition fails.
    fn put_raw_if(
        &self,
        key: &str,
        value: &[u8],
        precondition: Precondition,
    ) -> impl Future<Output = Result<i64, DatastoreError>> + Send;

    /// Deletes a raw key if `precondition` holds; returns the revision of the
    /// deletion. [`DatastoreError::NotFound`] when the key does not exist,
    /// [`DatastoreError::Conflict`] when its revision is not the expected one.
    fn delete_raw_if(
        &self,
        key: &str,
        precondition: Precondition,
    ) -> impl Future<Output = Result<i64, DatastoreError>> + Send;

    /// Every raw key under `prefix` with its value and mod revision, ordered by key,
    /// all read at one revision.
    fn list_raw_versioned(
        &self,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<(String, VersionedValue)>, DatastoreError>> + Send;
}

/// Renews `lease` every `interval` (choose a fraction of its TTL, such as a
/// third) until renewal fails, and returns the error: the caller decides whether
/// to grant a new lease. Run it in its own task.
pub async fn keep_lease_alive<D: Datastore>(
    store: &D,
    lease: LeaseId,
    interval: Duration,
) -> DatastoreError {
    loop {
        tokio::time::sleep(interval).await;
        if let Err(e) = store.keep_alive(lease).await {
            return e;
        }
    }
}

/// A resource ready to store: its key, with the namespace filled in (`default`)
/// for a namespaced kind that had none.
pub(crate) fn prepare(resource: &Resource) -> Result<(ResourceKey, Resource), DatastoreError> {
    let key = resource.key()?;
    let mut r = resource.clone();
    if key.namespace.is_some() {
        r.metadata_mut().namespace = key.namespace.clone();
    }
    r.metadata_mut().resource_version = None;
    Ok((key, r))
}

/// Either backend, chosen at run time (the trait's async methods make it
/// unusable as `dyn Datastore`).
#[derive(Clone, Debug)]
pub enum AnyStore {
    /// In memory.
    Memory(memory::MemoryStore),
    /// etcd.
    #[cfg(feature = "etcd")]
    Etcd(etcd::EtcdStore),
}

macro_rules! delegate {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnyStore::Memory($s) => $e.await,
            #[cfg(feature = "etcd")]
            AnyStore::Etcd($s) => $e.await,
        }
    };
}

impl Datastore for AnyStore {
    async fn list(&self, kind: Kind) -> Result<Listing, DatastoreError> {
        delegate!(self, s => s.list(kind))
    }
    async fn get(&self, key: &ResourceKey) -> Result<Option<Resource>, DatastoreError> {
        delegate!(self, s => s.get(key))
    }
    async fn watch(&self, kind: Kind, from_revision: i64) -> Result<WatchStream, DatastoreError> {
        delegate!(self, s => s.watch(kind, from_revision))
    }
    async fn list_and_watch(&self, kind: Kind) -> Result<(Listing, WatchStream), DatastoreError> {
        delegate!(self, s => s.list_and_watch(kind))
    }
    async fn put(&self, resource: &Resource, pre: Precondition) -> Result<i64, DatastoreError> {
        delegate!(self, s => s.put(resource, pre))
    }
    async fn delete(&self, key: &ResourceKey, pre: Precondition) -> Result<i64, DatastoreError> {
        delegate!(self, s => s.delete(key, pre))
    }
    async fn put_with_lease(
        &self,
        key: &str,
        value: &[u8],
        ttl: Duration,
    ) -> Result<LeaseId, DatastoreError> {
        delegate!(self, s => s.put_with_lease(key, value, ttl))
    }
    async fn keep_alive(&self, lease: LeaseId) -> Result<Duration, DatastoreError> {
        delegate!(self, s => s.keep_alive(lease))
    }
    async fn revoke(&self, lease: LeaseId) -> Result<(), DatastoreError> {
        delegate!(self, s => s.revoke(lease))
    }
    async fn get_raw(&self, key: &str) -> Result<Option<Vec<u8>>, DatastoreError> {
        delegate!(self, s => s.get_raw(key))
    }
    async fn grant_lease(&self, ttl: Duration) -> Result<LeaseId, DatastoreError> {
        delegate!(self, s => s.grant_lease(ttl))
    }
    async fn put_raw(
        &self,
        key: &str,
        value: &[u8],
        lease: Option<LeaseId>,
    ) -> Result<(), DatastoreError> {
        delegate!(self, s => s.put_raw(key, value, lease))
    }
    async fn delete_raw(&self, key: &str) -> Result<bool, DatastoreError> {
        delegate!(self, s => s.delete_raw(key))
    }
    async fn list_raw(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, DatastoreError> {
        delegate!(self, s => s.list_raw(prefix))
    }
    async fn get_raw_versioned(&self, key: &str) -> Result<Option<VersionedValue>, DatastoreError> {
        delegate!(self, s => s.get_raw_versioned(key))
    }
    async fn put_raw_if(
        &self,
        key: &str,
        value: &[u8],
        precondition: Precondition,
    ) -> Result<i64, DatastoreError> {
        delegate!(self, s => s.put_raw_if(key, value, precondition))
    }
    async fn delete_raw_if(
        &self,
        key: &str,
        precondition: Precondition,
    ) -> Result<i64, DatastoreError> {
        delegate!(self, s => s.delete_raw_if(key, precondition))
    }
    async fn list_raw_versioned(
        &self,
        prefix: &str,
    ) -> Result<Vec<(String, VersionedValue)>, DatastoreError> {
        delegate!(self, s => s.list_raw_versioned(prefix))
    }
}
