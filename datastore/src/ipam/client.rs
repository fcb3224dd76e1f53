//! [`Ipam`]: the IPAM operations over any [`Datastore`], and the reads and
//! compare-and-swap writes of blocks, affinities and handles they are made of.
//!
//! Every read-modify-write reads a key with its mod revision and writes it back
//! with [`Precondition::Revision`] (a key that must be new with
//! [`Precondition::MustNotExist`]); a conflict means another writer got there
//! first, so the operation reads again and retries, up to
//! [`Ipam::with_max_retries`] times, then fails with
//! [`IpamError::RetriesExhausted`].

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ipnetwork::IpNetwork;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::warn;

use super::block::{AllocationBlock, normalise};
use super::error::IpamError;
use super::keys::{self, IpVersion};
use super::pools::{LoadedPools, Pool};
use super::records::{self, AffinityState, BlockAffinity, IpamConfig, IpamHandle};
use crate::error::DatastoreError;
use crate::model::{Kind, Labels, Resource, ResourceKey};
use crate::store::{Datastore, Precondition};

/// Compare-and-swap attempts per key before giving up (Calico uses 100).
pub const DEFAULT_MAX_RETRIES: usize = 100;

/// A value with the mod revision it was read at (0: not stored yet).
#[derive(Clone, Debug)]
pub(crate) struct Stored<T> {
    pub value: T,
    pub revision: i64,
}

impl<T> Stored<T> {
    /// The condition that the key is still as read.
    pub fn precondition(&self) -> Precondition {
        if self.revision == 0 {
            Precondition::MustNotExist
        } else {
            Precondition::Revision(self.revision)
        }
    }
}

/// A block affine to a host, as its affinity key records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AffineBlock {
    /// The block.
    pub cidr: IpNetwork,
    /// Where the host's claim is in its life cycle (routes should follow
    /// [`AffinityState::Confirmed`] blocks).
    pub state: AffinityState,
}

/// Calico's block IPAM over a datastore. Cheap to clone when the store is.
#[derive(Clone, Debug)]
pub struct Ipam<D> {
    pub(crate) store: D,
    pub(crate) max_retries: usize,
    /// Compare-and-swap writes that lost to another writer (shared by clones).
    lost_races: Arc<AtomicU64>,
}

/// Whether a write lost a compare-and-swap (or its key vanished meanwhile).
fn lost_race(e: &DatastoreError) -> bool {
    matches!(
        e,
        DatastoreError::Conflict { .. } | DatastoreError::NotFound(_)
    )
}

impl<D: Datastore> Ipam<D> {
    /// IPAM on `store`, retrying [`DEFAULT_MAX_RETRIES`] times per key.
    pub fn new(store: D) -> Self {
        Ipam {
            store,
            max_retries: DEFAULT_MAX_RETRIES,
            lost_races: Arc::default(),
        }
    }

    /// How many compare-and-swap writes of this instance (and its clones) lost to
    /// a concurrent writer and were retried: a measure of contention.
    pub fn lost_races(&self) -> u64 {
        self.lost_races.load(Ordering::Relaxed)
    }

    /// `Ok(true)` when the write happened, `Ok(false)` when it lost a race.
    pub(crate) fn won(&self, result: Result<i64, DatastoreError>) -> Result<bool, IpamError> {
        match result {
            Ok(_) => Ok(true),
            Err(e) if lost_race(&e) => {
                self.lost_races.fetch_add(1, Ordering::Relaxed);
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The same with another bound on compare-and-swap attempts (at least 1).
    pub fn with_max_retries(mut self, attempts: usize) -> Self {
        self.max_retries = attempts.max(1);
        self
    }

    /// The datastore.
    pub fn store(&self) -> &D {
        &self.store
    }

    /// The IPAM settings at `/calico/ipam/v2/config`, Calico's defaults when unset.
    pub async fn config(&self) -> Result<IpamConfig, IpamError> {
        match self.store.get_raw(keys::CONFIG_KEY).await? {
            Some(bytes) => records::decode(keys::CONFIG_KEY, &bytes),
            None => Ok(IpamConfig::default()),
        }
    }

    /// Writes the IPAM settings.
    pub async fn set_config(&self, config: &IpamConfig) -> Result<(), IpamError> {
        let bytes = records::encode(config);
        self.store
            .put_raw_if(keys::CONFIG_KEY, &bytes, Precondition::None)
            .await?;
        Ok(())
    }

    /// The blocks affine to `host`, both IP versions, in key order: what a node
    /// routes (and blackholes) by block. A value that does not decode is an
    /// error naming its key.
    pub async fn affine_blocks(&self, host: &str) -> Result<Vec<AffineBlock>, IpamError> {
        keys::check_segment("host", host)?;
        let mut out = Vec::new();
        for (key, bytes) in self.store.list_raw(&keys::host_prefix(host)).await? {
            let Some((_, cidr)) = keys::parse_affinity_key(&key) else {
                warn!(%key, "ignoring a key that is not a block affinity");
                continue;
            };
            let affinity: BlockAffinity = records::decode(&key, &bytes)?;
            out.push(AffineBlock {
                cidr,
                state: affinity.state,
            });
        }
        Ok(out)
    }

    /// The host's affinities of one version, with their revisions, in key order.
    pub(crate) async fn affinities(
        &self,
        host: &str,
        version: IpVersion,
    ) -> Result<Vec<(IpNetwork, Stored<BlockAffinity>)>, IpamError> {
        let prefix = keys::host_version_prefix(host, version);
        let mut out = Vec::new();
        for (key, v) in self.store.list_raw_versioned(&prefix).await? {
            let Some((_, cidr)) = keys::parse_affinity_key(&key) else {
                warn!(%key, "ignoring a key that is not a block affinity");
                continue;
            };
            let stored = Stored {
                value: records::decode(&key, &v.value)?,
                revision: v.mod_revision,
            };
            out.push((cidr, stored));
        }
        Ok(out)
    }

    /// One block, if it exists.
    pub async fn block(&self, cidr: IpNetwork) -> Result<Option<AllocationBlock>, IpamError> {
        Ok(self.read_block(cidr).await?.map(|s| s.value))
    }

    /// Every block of one IP version, in key order.
    pub async fn blocks(&self, version: IpVersion) -> Result<Vec<AllocationBlock>, IpamError> {
        Ok(self
            .read_blocks(version)
            .await?
            .into_iter()
            .map(|s| s.value)
            .collect())
    }

    /// One handle, if it exists.
    pub async fn handle(&self, handle_id: &str) -> Result<Option<IpamHandle>, IpamError> {
        keys::check_segment("handle id", handle_id)?;
        Ok(self.read_handle(handle_id).await?.map(|s| s.value))
    }

    // --- reads -------------------------------------------------------------

    async fn read<T: DeserializeOwned>(&self, key: &str) -> Result<Option<Stored<T>>, IpamError> {
        match self.store.get_raw_versioned(key).await? {
            Some(v) => Ok(Some(Stored {
                value: records::decode(key, &v.value)?,
                revision: v.mod_revision,
            })),
            None => Ok(None),
        }
    }

    pub(crate) async fn read_block(
        &self,
        cidr: IpNetwork,
    ) -> Result<Option<Stored<AllocationBlock>>, IpamError> {
        let key = keys::block_key(&cidr);
        match self.store.get_raw_versioned(&key).await? {
            Some(v) => Ok(Some(Stored {
                value: AllocationBlock::decode(&key, &cidr, &v.value)?,
                revision: v.mod_revision,
            })),
            None => Ok(None),
        }
    }

    pub(crate) async fn read_blocks(
        &self,
        version: IpVersion,
    ) -> Result<Vec<Stored<AllocationBlock>>, IpamError> {
        let listed = self
            .store
            .list_raw_versioned(&keys::block_prefix(version))
            .await?;
        let mut out = Vec::with_capacity(listed.len());
        for (key, v) in listed {
            let Some(cidr) = keys::parse_block_key(&key) else {
                warn!(%key, "ignoring a key that is not a block");
                continue;
            };
            out.push(Stored {
                value: AllocationBlock::decode(&key, &cidr, &v.value)?,
                revision: v.mod_revision,
            });
        }
        Ok(out)
    }

    /// The CIDRs of every block of one version (keys only matter).
    pub(crate) async fn block_cidrs(
        &self,
        version: IpVersion,
    ) -> Result<Vec<IpNetwork>, IpamError> {
        let listed = self.store.list_raw(&keys::block_prefix(version)).await?;
        Ok(listed
            .iter()
            .filter_map(|(k, _)| keys::parse_block_key(k))
            .collect())
    }

    pub(crate) async fn read_affinity(
        &self,
        host: &str,
        cidr: IpNetwork,
    ) -> Result<Option<Stored<BlockAffinity>>, IpamError> {
        self.read(&keys::affinity_key(host, &cidr)).await
    }

    pub(crate) async fn read_handle(
        &self,
        handle_id: &str,
    ) -> Result<Option<Stored<IpamHandle>>, IpamError> {
        self.read(&keys::handle_key(handle_id)).await
    }

    /// The labels of the host's Node resource (none when it has no Node).
    pub(crate) async fn node_labels(&self, host: &str) -> Result<Labels, IpamError> {
        let key = ResourceKey::global(Kind::Node, host);
        Ok(match self.store.get(&key).await? {
            Some(Resource::Node(node)) => node.metadata.labels,
            _ => Labels::new(),
        })
    }

    /// Every stored IPPool, checked.
    pub(crate) async fn load_pools(&self) -> Result<LoadedPools, IpamError> {
        let listing = self.store.list(Kind::IpPool).await?;
        Ok(listing
            .resources
            .iter()
            .filter_map(|r| match r {
                Resource::IpPool(p) => Some((p.metadata.name.clone(), Pool::from_resource(p))),
                _ => None,
            })
            .collect())
    }

    // --- compare-and-swap writes -------------------------------------------

    async fn write<T: Serialize>(&self, key: &str, stored: &Stored<T>) -> Result<bool, IpamError> {
        let bytes = records::encode(&stored.value);
        self.won(
            self.store
                .put_raw_if(key, &bytes, stored.precondition())
                .await,
        )
    }

    /// Writes a block back if unchanged since read; `false` on a lost race.
    pub(crate) async fn write_block(
        &self,
        stored: &Stored<AllocationBlock>,
    ) -> Result<bool, IpamError> {
        let key = keys::block_key(&stored.value.cidr);
        self.won(
            self.store
                .put_raw_if(&key, &stored.value.to_json(), stored.precondition())
                .await,
        )
    }

    /// Deletes a block if unchanged since read; `false` on a lost race.
    pub(crate) async fn delete_block(
        &self,
        stored: &Stored<AllocationBlock>,
    ) -> Result<bool, IpamError> {
        let key = keys::block_key(&stored.value.cidr);
        self.won(self.store.delete_raw_if(&key, stored.precondition()).await)
    }

    pub(crate) async fn write_affinity(
        &self,
        host: &str,
        cidr: IpNetwork,
        stored: &Stored<BlockAffinity>,
    ) -> Result<bool, IpamError> {
        self.write(&keys::affinity_key(host, &cidr), stored).await
    }

    pub(crate) async fn delete_affinity(
        &self,
        host: &str,
        cidr: IpNetwork,
        stored: &Stored<BlockAffinity>,
    ) -> Result<bool, IpamError> {
        let key = keys::affinity_key(host, &cidr);
        self.won(self.store.delete_raw_if(&key, stored.precondition()).await)
    }

    /// Sets the host's affinity to `cidr` confirmed (creating it if it went).
    pub(crate) async fn confirm_affinity(
        &self,
        host: &str,
        cidr: IpNetwork,
    ) -> Result<(), IpamError> {
        for _ in 0..self.max_retries {
            let mut stored = match self.read_affinity(host, cidr).await? {
                Some(s) if s.value.state == AffinityState::Confirmed => return Ok(()),
                Some(s) => s,
                None => Stored {
                    value: BlockAffinity::new(AffinityState::Confirmed),
                    revision: 0,
                },
            };
            stored.value.state = AffinityState::Confirmed;
            if self.write_affinity(host, cidr, &stored).await? {
                return Ok(());
            }
        }
        Err(self.gave_up(keys::affinity_key(host, &cidr)))
    }

    /// Adds `delta` addresses of `cidr` to a handle (negative: removes them),
    /// creating the handle on its first address and deleting it with its last.
    pub(crate) async fn adjust_handle(
        &self,
        handle_id: &str,
        cidr: IpNetwork,
        delta: isize,
    ) -> Result<(), IpamError> {
        let key = keys::handle_key(handle_id);
        let block = format!("{}/{}", cidr.network(), cidr.prefix());
        for _ in 0..self.max_retries {
            let mut stored = match self.read_handle(handle_id).await? {
                Some(s) => s,
                None if delta <= 0 => return Ok(()),
                None => Stored {
                    value: IpamHandle {
                        handle_id: handle_id.to_string(),
                        ..IpamHandle::default()
                    },
                    revision: 0,
                },
            };
            let current = stored.value.block.get(&block).copied().unwrap_or(0);
            let next = current.saturating_add_signed(delta);
            if delta < 0 && current < delta.unsigned_abs() {
                warn!(handle_id, %block, current, delta, "handle counted fewer addresses than released");
            }
            if next == 0 {
                stored.value.block.remove(&block);
            } else {
                stored.value.block.insert(block.clone(), next);
            }
            let done = if stored.value.block.is_empty() {
                stored.revision == 0
                    || self.won(self.store.delete_raw_if(&key, stored.precondition()).await)?
            } else {
                self.write(&key, &stored).await?
            };
            if done {
                return Ok(());
            }
        }
        Err(self.gave_up(key))
    }

    pub(crate) fn gave_up(&self, key: String) -> IpamError {
        IpamError::RetriesExhausted {
            key,
            attempts: self.max_retries,
        }
    }
}

/// The block of `cidr`'s key form, parsed back (handles store `10.0.0.0/26`).
pub(crate) fn parse_handle_block(text: &str) -> Option<IpNetwork> {
    let net: IpNetwork = text.parse().ok()?;
    Some(normalise(net))
}

/// The enabled pool, of any node selector, holding `ip`.
pub(crate) fn pool_for(loaded: &LoadedPools, ip: IpAddr, enabled_only: bool) -> Option<&Pool> {
    loaded
        .iter()
        .filter_map(|(_, p)| p.as_ref().ok())
        .find(|p| p.contains(ip) && !(enabled_only && p.disabled))
}
