//! Assignment: [`Ipam::auto_assign`] and [`Ipam::assign_ip`], after
//! libcalico-go's `ipam.go`. A host takes addresses first from its own blocks,
//! then claims a free block of a pool (a pending affinity, the block created only
//! if absent, the affinity confirmed), and last, unless `strict_affinity` is set,
//! borrows free addresses from other hosts' blocks.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use super::block::AllocationBlock;
use super::client::{Ipam, Stored, pool_for};
use super::error::IpamError;
use super::keys::{self, IpVersion};
use super::pools::{Pool, PoolRef, select_pools};
use super::records::{AffinityState, BlockAffinity, IpamConfig};
use crate::store::Datastore;

/// A request for addresses chosen by IPAM (Calico's `AutoAssignArgs`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AutoAssignRequest {
    /// The handle the addresses are recorded under, to release them later
    /// (Calico's CNI plugin uses `k8s-pod-network.<container id>`).
    pub handle_id: Option<String>,
    /// The node the addresses are for; its blocks are used first.
    pub host: String,
    /// How many IPv4 addresses.
    pub num_v4: usize,
    /// How many IPv6 addresses.
    pub num_v6: usize,
    /// IPv4 pools to use; empty: every enabled pool whose node selector matches.
    pub ipv4_pools: Vec<PoolRef>,
    /// IPv6 pools to use; empty: every enabled pool whose node selector matches.
    pub ipv6_pools: Vec<PoolRef>,
    /// Attributes stored with the allocations (`secondary` in the block).
    pub attributes: BTreeMap<String, String>,
}

/// A request for one given address (Calico's `AssignIPArgs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssignIpRequest {
    /// The address; it must be in an enabled pool.
    pub address: IpAddr,
    /// The handle it is recorded under.
    pub handle_id: Option<String>,
    /// The node; the address's block becomes affine to it if the block is new.
    pub host: String,
    /// Attributes stored with the allocation.
    pub attributes: BTreeMap<String, String>,
}

/// One assigned address and the block it came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AssignedIp {
    /// The address.
    pub address: IpAddr,
    /// Its block.
    pub block: IpNetwork,
}

impl AssignedIp {
    /// The address as a host network (`/32`, `/128`), as a workload uses it.
    pub fn host_network(&self) -> IpNetwork {
        let bits = IpVersion::of(self.address).bits();
        IpNetwork::new(self.address, bits).unwrap_or(self.block)
    }
}

/// The result of [`Ipam::auto_assign`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AutoAssigned {
    /// The IPv4 addresses, as many as asked for.
    pub ipv4: Vec<AssignedIp>,
    /// The IPv6 addresses, as many as asked for.
    pub ipv6: Vec<AssignedIp>,
}

impl AutoAssigned {
    /// Every address, IPv4 first.
    pub fn addresses(&self) -> Vec<IpAddr> {
        self.ipv4
            .iter()
            .chain(&self.ipv6)
            .map(|a| a.address)
            .collect()
    }
}

/// What one request carries into the per-block steps.
struct Asking<'a> {
    host: &'a str,
    handle: Option<&'a str>,
    attrs: &'a BTreeMap<String, String>,
    /// `strict_affinity` of the IPAM settings, for blocks claimed on the way.
    strict: bool,
}

/// A host's affinity to a block and the block, as read.
type Read = (
    Option<Stored<BlockAffinity>>,
    Option<Stored<AllocationBlock>>,
);

/// The outcome of claiming a block for a host.
enum Claim {
    /// The block exists and is affine to the host.
    Ours,
    /// Another host has it.
    Taken,
}

impl<D: Datastore> Ipam<D> {
    /// Assigns `num_v4` IPv4 and `num_v6` IPv6 addresses to the host. All or
    /// nothing: when the pools cannot supply every address asked for, what was
    /// taken is released and [`IpamError::Exhausted`] says how many were free.
    pub async fn auto_assign(&self, req: &AutoAssignRequest) -> Result<AutoAssigned, IpamError> {
        keys::check_segment("host", &req.host)?;
        if let Some(h) = &req.handle_id {
            keys::check_segment("handle id", h)?;
        }
        // Independent reads, in one round trip's time.
        let (labels, loaded, config) = futures::try_join!(
            self.node_labels(&req.host),
            self.load_pools(),
            self.config()
        )?;
        let ask = Asking {
            host: &req.host,
            handle: req.handle_id.as_deref(),
            attrs: &req.attributes,
            strict: config.strict_affinity,
        };
        let mut out = AutoAssigned::default();
        for (version, num, named) in [
            (IpVersion::V4, req.num_v4, &req.ipv4_pools),
            (IpVersion::V6, req.num_v6, &req.ipv6_pools),
        ] {
            if num == 0 {
                continue;
            }
            let result = match select_pools(&loaded, named, version, &labels) {
                Ok(pools) if pools.is_empty() => Err(IpamError::NoPools {
                    host: req.host.clone(),
                    version,
                }),
                Ok(pools) => {
                    self.assign_version(&ask, version, num, &pools, &config)
                        .await
                }
                Err(e) => Err(e),
            };
            match result {
                Ok(ips) if version == IpVersion::V4 => out.ipv4 = ips,
                Ok(ips) => out.ipv6 = ips,
                Err(e) => {
                    self.roll_back(&out.addresses()).await;
                    return Err(e);
                }
            }
        }
        Ok(out)
    }

    /// Assigns one given address, claiming its block for the host when the block
    /// does not exist yet. [`IpamError::AlreadyAllocated`] when it is taken.
    pub async fn assign_ip(&self, req: &AssignIpRequest) -> Result<AssignedIp, IpamError> {
        keys::check_segment("host", &req.host)?;
        if let Some(h) = &req.handle_id {
            keys::check_segment("handle id", h)?;
        }
        let (loaded, config) = futures::try_join!(self.load_pools(), self.config())?;
        let pool = pool_for(&loaded, req.address, true).ok_or(IpamError::NotInPool(req.address))?;
        let cidr = pool.block_for(req.address);
        for _ in 0..self.max_retries {
            let Some(mut stored) = self.read_block(cidr).await? else {
                // Whoever wins the claim, the block exists on the next round.
                self.claim_block(&req.host, cidr, config.strict_affinity)
                    .await?;
                continue;
            };
            let block = &mut stored.value;
            if block.strict_affinity && !block.is_affine_to(&req.host) {
                return Err(IpamError::StrictAffinity {
                    block: cidr,
                    owner: block.affinity.clone(),
                    host: req.host.clone(),
                });
            }
            block.assign(req.address, req.handle_id.as_deref(), &req.attributes)?;
            if self.commit(&stored, req.handle_id.as_deref(), 1).await? {
                return Ok(AssignedIp {
                    address: req.address,
                    block: cidr,
                });
            }
        }
        Err(self.gave_up(keys::block_key(&cidr)))
    }

    /// Up to `num` addresses of one version, from the host's blocks, new blocks,
    /// then borrowed ones; all of them or [`IpamError::Exhausted`].
    async fn assign_version(
        &self,
        ask: &Asking<'_>,
        version: IpVersion,
        num: usize,
        pools: &[Pool],
        config: &IpamConfig,
    ) -> Result<Vec<AssignedIp>, IpamError> {
        let mut got = Vec::with_capacity(num);
        let result = self.fill(ask, version, num, pools, config, &mut got).await;
        if result.is_ok() && got.len() == num {
            return Ok(got);
        }
        let addresses: Vec<IpAddr> = got.iter().map(|a| a.address).collect();
        self.roll_back(&addresses).await;
        result?;
        Err(IpamError::Exhausted {
            host: ask.host.to_string(),
            version,
            requested: num,
            available: got.len(),
        })
    }

    async fn fill(
        &self,
        ask: &Asking<'_>,
        version: IpVersion,
        num: usize,
        pools: &[Pool],
        config: &IpamConfig,
        got: &mut Vec<AssignedIp>,
    ) -> Result<(), IpamError> {
        // 1. The host's own blocks in the requested pools, all read at once; a
        // confirmed one with nothing free costs nothing more.
        let affine: Vec<_> = self
            .affinities(ask.host, version)
            .await?
            .into_iter()
            .filter(|(cidr, _)| pools.iter().any(|p| p.cidr.contains(cidr.network())))
            .collect();
        let blocks =
            futures::future::try_join_all(affine.iter().map(|(cidr, _)| self.read_block(*cidr)))
                .await?;
        for ((cidr, affinity), block) in affine.into_iter().zip(blocks) {
            if got.len() >= num {
                return Ok(());
            }
            let full = block
                .as_ref()
                .is_some_and(|b| b.value.is_affine_to(ask.host) && b.value.free() == 0);
            if full && affinity.value.state == AffinityState::Confirmed {
                continue;
            }
            let first = Some((Some(affinity), block));
            let ips = self
                .take_from_affine(ask, cidr, num - got.len(), first)
                .await?;
            got.extend(ips);
        }
        // 2. New blocks, claimed for the host.
        if config.auto_allocate_blocks {
            for _ in 0..self.max_retries {
                if got.len() >= num {
                    return Ok(());
                }
                let Some(cidr) = self
                    .claim_free_block(ask.host, version, pools, config.strict_affinity)
                    .await?
                else {
                    break;
                };
                let ips = self
                    .take_from_affine(ask, cidr, num - got.len(), None)
                    .await?;
                got.extend(ips);
            }
        }
        // 3. Free addresses in other hosts' blocks.
        if !config.strict_affinity && got.len() < num {
            self.borrow(ask, version, num, pools, got).await?;
        }
        Ok(())
    }

    /// Takes up to `num` addresses from a block affine to the host; repairs a
    /// pending claim (creating a missing block) and drops a stale affinity.
    /// `first`: the affinity and block already read, for the first attempt.
    async fn take_from_affine(
        &self,
        ask: &Asking<'_>,
        cidr: IpNetwork,
        num: usize,
        mut first: Option<Read>,
    ) -> Result<Vec<AssignedIp>, IpamError> {
        for _ in 0..self.max_retries {
            let (affinity, block) = match first.take() {
                Some(read) => read,
                None => {
                    futures::try_join!(self.read_affinity(ask.host, cidr), self.read_block(cidr))?
                }
            };
            let Some(affinity) = affinity else {
                return Ok(Vec::new());
            };
            let Some(mut stored) = block else {
                // A claim that never got its block (the claimer stopped half way).
                self.claim_block(ask.host, cidr, ask.strict).await?;
                continue;
            };
            if !stored.value.is_affine_to(ask.host) {
                // The block went to another host: our affinity is stale.
                if self.delete_affinity(ask.host, cidr, &affinity).await? {
                    return Ok(Vec::new());
                }
                continue;
            }
            if affinity.value.state != AffinityState::Confirmed {
                self.confirm_affinity(ask.host, cidr).await?;
            }
            let ips = stored.value.auto_assign(num, ask.handle, ask.attrs);
            if ips.is_empty() {
                return Ok(Vec::new());
            }
            if self.commit(&stored, ask.handle, ips.len()).await? {
                return Ok(assigned(&ips, cidr));
            }
        }
        Err(self.gave_up(keys::block_key(&cidr)))
    }

    /// Claims the first free block (no block key yet) of the pools for the host,
    /// trying each pool's blocks from the host's starting place. `None` when
    /// every block of every pool exists.
    async fn claim_free_block(
        &self,
        host: &str,
        version: IpVersion,
        pools: &[Pool],
        strict: bool,
    ) -> Result<Option<IpNetwork>, IpamError> {
        let mut existing: std::collections::HashSet<IpNetwork> =
            self.block_cidrs(version).await?.into_iter().collect();
        for pool in pools {
            // Only blocks that exist can be skipped, so a free one is found within
            // `existing.len() + 1` candidates, however large the pool is.
            for cidr in pool.candidate_blocks(host) {
                if existing.contains(&cidr) {
                    continue;
                }
                match self.claim_block(host, cidr, strict).await? {
                    Claim::Ours => return Ok(Some(cidr)),
                    Claim::Taken => {
                        existing.insert(cidr);
                    }
                }
            }
        }
        Ok(None)
    }

    /// Claims one block for the host, as Calico does: write a pending affinity,
    /// create the block (only if absent) affine to the host, confirm the
    /// affinity. When another host created the block first, our pending
    /// affinity is removed and the block is [`Claim::Taken`].
    async fn claim_block(
        &self,
        host: &str,
        cidr: IpNetwork,
        strict: bool,
    ) -> Result<Claim, IpamError> {
        let pending = Stored {
            value: BlockAffinity::new(AffinityState::Pending),
            revision: 0,
        };
        // An affinity that exists already (ours, from another task or an earlier
        // attempt) is as good as a new pending one.
        self.write_affinity(host, cidr, &pending).await?;
        let block = AllocationBlock::new(cidr, Some(host), strict).ok_or_else(|| {
            IpamError::InvalidPool {
                pool: format!("{}/{}", cidr.network(), cidr.prefix()),
                problem: "block too large".into(),
            }
        })?;
        let new = Stored {
            value: block,
            revision: 0,
        };
        if !self.write_block(&new).await? {
            match self.read_block(cidr).await? {
                Some(b) if b.value.is_affine_to(host) => {}
                _ => {
                    if let Some(ours) = self.read_affinity(host, cidr).await? {
                        self.delete_affinity(host, cidr, &ours).await?;
                    }
                    return Ok(Claim::Taken);
                }
            }
        }
        self.confirm_affinity(host, cidr).await?;
        Ok(Claim::Ours)
    }

    /// Takes free addresses from blocks of the pools that are not the host's and
    /// allow it (no strict affinity), until `got` has `num`.
    async fn borrow(
        &self,
        ask: &Asking<'_>,
        version: IpVersion,
        num: usize,
        pools: &[Pool],
        got: &mut Vec<AssignedIp>,
    ) -> Result<(), IpamError> {
        let candidates: Vec<IpNetwork> = self
            .read_blocks(version)
            .await?
            .into_iter()
            .filter(|s| {
                let b = &s.value;
                !b.is_affine_to(ask.host)
                    && !b.strict_affinity
                    && b.free() > 0
                    && pools.iter().any(|p| p.cidr.contains(b.cidr.network()))
            })
            .map(|s| s.value.cidr)
            .collect();
        for cidr in candidates {
            if got.len() >= num {
                break;
            }
            let mut done = false;
            for _ in 0..self.max_retries {
                let Some(mut stored) = self.read_block(cidr).await? else {
                    done = true;
                    break;
                };
                if stored.value.strict_affinity && !stored.value.is_affine_to(ask.host) {
                    done = true;
                    break;
                }
                let ips = stored
                    .value
                    .auto_assign(num - got.len(), ask.handle, ask.attrs);
                if ips.is_empty() || self.commit(&stored, ask.handle, ips.len()).await? {
                    got.extend(assigned(&ips, cidr));
                    done = true;
                    break;
                }
            }
            if !done {
                return Err(self.gave_up(keys::block_key(&cidr)));
            }
        }
        Ok(())
    }

    /// Writes a block holding `count` new addresses of `handle`: the handle is
    /// counted first and the block written with a compare-and-swap (Calico's
    /// order: a crash in between leaves a handle that over-counts, never an
    /// address no handle knows); a lost race takes the count back. `false` when
    /// the block changed meanwhile.
    async fn commit(
        &self,
        stored: &Stored<AllocationBlock>,
        handle: Option<&str>,
        count: usize,
    ) -> Result<bool, IpamError> {
        let cidr = stored.value.cidr;
        let delta = isize::try_from(count).unwrap_or(isize::MAX);
        if let Some(h) = handle {
            self.adjust_handle(h, cidr, delta).await?;
        }
        let written = self.write_block(stored).await;
        if !matches!(written, Ok(true))
            && let Some(h) = handle
        {
            self.adjust_handle(h, cidr, -delta).await?;
        }
        written
    }

    /// Releases addresses of a request that is failing; a failure here is logged
    /// and the request's own error returned.
    async fn roll_back(&self, addresses: &[IpAddr]) {
        if addresses.is_empty() {
            return;
        }
        if let Err(e) = self.release_ips(addresses).await {
            tracing::warn!(error = %e, ?addresses, "could not release the addresses of a failed request");
        }
    }
}

fn assigned(ips: &[IpAddr], block: IpNetwork) -> Vec<AssignedIp> {
    ips.iter()
        .map(|&address| AssignedIp { address, block })
        .collect()
}
