//! Release and lookup: [`Ipam::release_ips`], [`Ipam::release_by_handle`] and
//! [`Ipam::ips_by_handle`], after libcalico-go's `ipam.go`; a node's release of
//! its blocks, [`Ipam::release_affinity`] and [`Ipam::release_host_affinities`]
//! (libcalico-go's `ipam_block_reader_writer.go`). A block keeps its
//! affinity when it empties (as Calico does); an emptied block with no affinity
//! (only borrowed addresses were left in it) is deleted.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::client::{Ipam, Stored, parse_handle_block, pool_for};
use super::error::IpamError;
use super::keys::{self, IpVersion};
use super::records::IpamHandle;
use crate::store::Datastore;

impl<D: Datastore> Ipam<D> {
    /// Releases the given addresses; returns those that were not assigned.
    pub async fn release_ips(&self, ips: &[IpAddr]) -> Result<Vec<IpAddr>, IpamError> {
        let loaded = self.load_pools().await?;
        let mut by_block: BTreeMap<IpNetwork, Vec<IpAddr>> = BTreeMap::new();
        let mut not_assigned = Vec::new();
        let mut listed: BTreeMap<IpVersion, Vec<IpNetwork>> = BTreeMap::new();
        for &ip in ips {
            // The pool gives the block; an address of a deleted pool is looked up
            // among the blocks that exist.
            let block = match pool_for(&loaded, ip, false) {
                Some(pool) => Some(pool.block_for(ip)),
                None => {
                    let version = IpVersion::of(ip);
                    if let Entry::Vacant(slot) = listed.entry(version) {
                        slot.insert(self.block_cidrs(version).await?);
                    }
                    listed[&version].iter().find(|b| b.contains(ip)).copied()
                }
            };
            match block {
                Some(b) => by_block.entry(b).or_default().push(ip),
                None => not_assigned.push(ip),
            }
        }
        for (cidr, ips) in by_block {
            not_assigned.extend(self.release_from_block(cidr, &ips).await?);
        }
        not_assigned.sort();
        Ok(not_assigned)
    }

    /// Releases every address of the handle and deletes it; returns the addresses.
    /// A handle that does not exist releases nothing (a repeated CNI DEL).
    pub async fn release_by_handle(&self, handle_id: &str) -> Result<Vec<IpAddr>, IpamError> {
        keys::check_segment("handle id", handle_id)?;
        let Some(handle) = self.read_handle(handle_id).await? else {
            return Ok(Vec::new());
        };
        let mut released = Vec::new();
        let mut done = Vec::new();
        for text in handle.value.block.keys() {
            let Some(cidr) = parse_handle_block(text) else {
                return Err(IpamError::CorruptBlock {
                    key: keys::handle_key(handle_id),
                    problem: format!("block {text:?} is not a CIDR"),
                });
            };
            released.extend(self.release_handle_in_block(handle_id, cidr).await?);
            done.push(text.clone());
        }
        self.forget_blocks(handle_id, &done).await?;
        released.sort();
        Ok(released)
    }

    /// The addresses assigned to the handle, sorted (none for an unknown handle).
    pub async fn ips_by_handle(&self, handle_id: &str) -> Result<Vec<IpAddr>, IpamError> {
        keys::check_segment("handle id", handle_id)?;
        let Some(handle) = self.read_handle(handle_id).await? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for text in handle.value.block.keys() {
            let Some(cidr) = parse_handle_block(text) else {
                continue;
            };
            if let Some(block) = self.read_block(cidr).await? {
                out.extend(block.value.ips_by_handle(handle_id));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Releases addresses of one block; returns those that were not assigned.
    async fn release_from_block(
        &self,
        cidr: IpNetwork,
        ips: &[IpAddr],
    ) -> Result<Vec<IpAddr>, IpamError> {
        for _ in 0..self.max_retries {
            let Some(mut stored) = self.read_block(cidr).await? else {
                return Ok(ips.to_vec());
            };
            let release = stored.value.release(ips);
            if release.released.is_empty() {
                return Ok(release.not_assigned);
            }
            if self.store_released(&stored).await? {
                for (handle, count) in &release.by_handle {
                    let delta = isize::try_from(*count).unwrap_or(isize::MAX);
                    self.adjust_handle(handle, cidr, -delta).await?;
                }
                return Ok(release.not_assigned);
            }
        }
        Err(self.gave_up(keys::block_key(&cidr)))
    }

    /// Releases the handle's addresses in one block.
    async fn release_handle_in_block(
        &self,
        handle_id: &str,
        cidr: IpNetwork,
    ) -> Result<Vec<IpAddr>, IpamError> {
        for _ in 0..self.max_retries {
            let Some(mut stored) = self.read_block(cidr).await? else {
                return Ok(Vec::new());
            };
            let released = stored.value.release_by_handle(handle_id);
            if released.is_empty() || self.store_released(&stored).await? {
                return Ok(released);
            }
        }
        Err(self.gave_up(keys::block_key(&cidr)))
    }

    /// Writes a block after a release, or deletes it when it is empty and affine
    /// to no host; `false` on a lost race.
    async fn store_released(
        &self,
        stored: &Stored<crate::ipam::AllocationBlock>,
    ) -> Result<bool, IpamError> {
        if stored.value.is_empty() && stored.value.affinity.is_none() {
            self.delete_block(stored).await
        } else {
            self.write_block(stored).await
        }
    }

    /// Removes released blocks from a handle, deleting it when none is left.
    async fn forget_blocks(&self, handle_id: &str, blocks: &[String]) -> Result<(), IpamError> {
        let key = keys::handle_key(handle_id);
        for _ in 0..self.max_retries {
            let Some(mut stored): Option<Stored<IpamHandle>> = self.read_handle(handle_id).await?
            else {
                return Ok(());
            };
            for b in blocks {
                stored.value.block.remove(b);
            }
            let written = if stored.value.block.is_empty() {
                self.store.delete_raw_if(&key, stored.precondition()).await
            } else {
                let bytes = super::records::encode(&stored.value);
                self.store
                    .put_raw_if(&key, &bytes, stored.precondition())
                    .await
            };
            if self.won(written)? {
                return Ok(());
            }
        }
        Err(self.gave_up(key))
    }
}

impl<D: Datastore> Ipam<D> {
    /// Gives up the host's claim on one block, as Calico's
    /// `releaseBlockAffinity`: the affinity is marked `pendingDeletion`, an
    /// empty block is deleted, a block still holding addresses keeps them but
    /// loses its `affinity` (it is deleted when its last address is released),
    /// and the affinity key goes last. With `require_empty`, a block holding
    /// addresses is left as it is. `Ok(false)` when nothing was released.
    pub async fn release_affinity(
        &self,
        host: &str,
        cidr: IpNetwork,
        require_empty: bool,
    ) -> Result<bool, IpamError> {
        keys::check_segment("host", host)?;
        for _ in 0..self.max_retries {
            let (affinity, block) =
                futures::try_join!(self.read_affinity(host, cidr), self.read_block(cidr))?;
            let Some(mut affinity) = affinity else {
                return Ok(false);
            };
            let Some(mut block) = block.filter(|b| b.value.is_affine_to(host)) else {
                // No block, or another host's: the affinity is all there is.
                if self.delete_affinity(host, cidr, &affinity).await? {
                    return Ok(true);
                }
                continue;
            };
            if require_empty && !block.value.is_empty() {
                return Ok(false);
            }
            affinity.value.state = super::records::AffinityState::PendingDeletion;
            if !self.write_affinity(host, cidr, &affinity).await? {
                continue;
            }
            let written = if block.value.is_empty() {
                self.delete_block(&block).await?
            } else {
                block.value.affinity = None;
                self.write_block(&block).await?
            };
            if !written {
                continue;
            }
            // The affinity's revision moved with the pendingDeletion write.
            match self.read_affinity(host, cidr).await? {
                Some(now) if self.delete_affinity(host, cidr, &now).await? => return Ok(true),
                None => return Ok(true),
                Some(_) => continue,
            }
        }
        Err(self.gave_up(keys::affinity_key(host, &cidr)))
    }

    /// Releases every block affinity of the host (a node that leaves the
    /// cluster), keeping the addresses still assigned in its blocks; returns
    /// the blocks released.
    pub async fn release_host_affinities(&self, host: &str) -> Result<Vec<IpNetwork>, IpamError> {
        let mut released = Vec::new();
        for block in self.affine_blocks(host).await? {
            if self.release_affinity(host, block.cidr, false).await? {
                released.push(block.cidr);
            }
        }
        Ok(released)
    }
}
