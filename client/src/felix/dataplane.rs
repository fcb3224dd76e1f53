//! One pass of Felix over the kernel: interface settings, routes,
//! neighbours and the nftables table made to match the input.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use ipnetwork::IpNetwork;

use super::acl::{self, Ruleset};
use super::input::{self, Endpoint, FelixInput};
use super::nft::{NftError, TableOutcome, TableSync};
use super::routes::{Link, RouteTable};
use super::sysctl::{self, IPV4_FORWARD, IPV6_FORWARD, Sysctls};
use super::{FelixConfig, FelixError};
use crate::kernel::netlink;

/// `EEXIST`: the kernel already has such a route.
const EEXIST: i32 = 17;

/// What an endpoint's interface had programmed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Programmed {
    ifindex: u32,
    networks: Vec<IpNetwork>,
    mac: Option<[u8; 6]>,
}

/// What a sync did.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncReport {
    /// What happened to the nftables table.
    pub table: TableOutcome,
    /// Interfaces with their routes in place.
    pub programmed: Vec<String>,
    /// Interfaces of local endpoints that do not exist (or are down) yet.
    pub pending: Vec<String>,
    /// Routes added or replaced, and removed.
    pub routes_added: usize,
    /// Our routes removed (endpoint gone, or left from a previous run).
    pub routes_removed: usize,
    /// Rules in the table.
    pub rules: usize,
    /// Input and compile problems.
    pub warnings: Vec<String>,
    /// Incremental table changes so far (since Felix started) sent as
    /// nf_tables netlink batches, and applied with `nft -f`.
    pub table_changes: (u64, u64),
}

/// What a sync replaced: its resolved endpoints, the ruleset before it.
type Garbage = (Vec<Arc<Endpoint>>, Option<Arc<Ruleset>>);

/// How much of the kernel a sync looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Everything is read back and repaired: every link, every setting of
    /// every endpoint, every route of ours, the whole nftables table.
    Full,
    /// The input changed: only what it changes is written. Endpoints
    /// programmed before with the same interface, addresses and MAC are
    /// left alone (no setting read, no route dumped), the links are read
    /// only when an endpoint came, went or moved, and the table is
    /// changed as its difference without being listed (the next
    /// [`SyncMode::Full`] sync or [`Dataplane::verify_table`] checks it).
    Change,
}

/// The kernel state Felix owns and how to change it.
#[derive(Debug)]
pub struct Dataplane {
    config: FelixConfig,
    routes: RouteTable,
    sysctls: Sysctls,
    table: TableSync,
    programmed: BTreeMap<String, Programmed>,
    /// Interfaces whose settings were set (and not yet put back).
    configured: BTreeSet<String>,
    /// What the last sync no longer needs, freed by [`Dataplane::free_garbage`]
    /// once its caller has answered.
    garbage: Option<Garbage>,
    ruleset: Option<Arc<Ruleset>>,
    /// Endpoints of the last resolve, reused when unchanged.
    endpoint_cache: input::EndpointCache,
    /// Endpoint chains of the last compile, reused when unchanged.
    chain_cache: acl::ChainCache,
    /// The links of the last dump.
    links: BTreeMap<String, Link>,
    /// Our routes as the last sync left them: prefix -> interface.
    installed: BTreeMap<IpNetwork, Option<u32>>,
    /// Whether a full sync has run (the change path needs its state).
    synced: bool,
}

impl Dataplane {
    /// Open an rtnetlink connection (in the current network namespace;
    /// inside a tokio runtime).
    pub fn new(config: FelixConfig) -> Result<Self, FelixError> {
        let handle = netlink::connect()?;
        Ok(Dataplane {
            routes: RouteTable::new(handle, config.route_protocol),
            sysctls: Sysctls::new(config.sysctl_root.clone()),
            table: TableSync::new(config.nft.clone()),
            programmed: BTreeMap::new(),
            configured: BTreeSet::new(),
            garbage: None,
            ruleset: None,
            endpoint_cache: input::EndpointCache::default(),
            chain_cache: acl::ChainCache::default(),
            links: BTreeMap::new(),
            installed: BTreeMap::new(),
            synced: false,
            config,
        })
    }

    /// Free what the last sync left (its resolved endpoints, the ruleset it
    /// replaced); also done by the next sync.
    pub fn free_garbage(&mut self) {
        self.garbage = None;
    }

    /// The ruleset of the last sync.
    pub fn ruleset(&self) -> Option<&Ruleset> {
        self.ruleset.as_deref()
    }

    /// Settings changed and not yet put back, with their first values.
    pub fn saved_sysctls(&self) -> &BTreeMap<String, String> {
        self.sysctls.saved()
    }

    /// Make the kernel match `input`: compile the table, then program
    /// every local endpoint whose interface is up, remove what belongs to
    /// endpoints that went, and repair drift (our routes, the table).
    pub async fn sync(&mut self, input: &FelixInput) -> Result<SyncReport, FelixError> {
        self.sync_with(input, SyncMode::Full).await
    }

    /// Read the links again (after link events), so that the next
    /// [`SyncMode::Change`] sync sees interfaces that came or went.
    pub async fn refresh_links(&mut self) -> Result<(), FelixError> {
        self.links = self.routes.links().await?;
        Ok(())
    }

    /// Whether table blocks were written and not yet read back.
    pub fn table_unverified(&self) -> bool {
        self.table.has_unverified()
    }

    /// Read the nftables table back once and re-apply it on any drift
    /// (what the full sync does for the table alone).
    pub async fn verify_table(&mut self) -> Result<TableOutcome, FelixError> {
        self.table.verify().await.map_err(nft_error)
    }

    /// [`Dataplane::sync`] looking at everything ([`SyncMode::Full`]) or
    /// at what the input changes ([`SyncMode::Change`]).
    pub async fn sync_with(
        &mut self,
        input: &FelixInput,
        mode: SyncMode,
    ) -> Result<SyncReport, FelixError> {
        let mode = if self.synced { mode } else { SyncMode::Full };
        let start = Instant::now();
        let mut warnings = Vec::new();
        let endpoints = self.endpoint_cache.resolve(input, &mut warnings);
        let local = input::local_endpoints(&endpoints, self.config.node.as_deref(), &mut warnings);
        let resolved = start.elapsed();
        let ruleset = Arc::new(acl::compile_with(
            input,
            &endpoints,
            &local,
            &self.config.acl,
            &mut self.chain_cache,
        ));
        warnings.extend(ruleset.warnings.iter().cloned());
        let compiled = start.elapsed();

        // The table first: a new endpoint is policed before it is routed.
        let table = self
            .table
            .sync_with(&ruleset, mode == SyncMode::Full)
            .await
            .map_err(nft_error)?;
        let programmed = start.elapsed();
        if mode == SyncMode::Full || self.links_needed(&local) {
            self.links = self.routes.links().await?;
        }
        let links = std::mem::take(&mut self.links);
        let mut report = SyncReport {
            table,
            programmed: Vec::new(),
            pending: Vec::new(),
            routes_added: 0,
            routes_removed: 0,
            rules: ruleset.rule_count(),
            warnings,
            table_changes: self.table.incremental_counts(),
        };
        let result = self.interfaces(&local, &links, mode, &mut report).await;
        self.links = links;
        result?;
        tracing::debug!(
            ?mode,
            resolve_us = resolved.as_micros() as u64,
            compile_us = (compiled - resolved).as_micros() as u64,
            table_us = (programmed - compiled).as_micros() as u64,
            interfaces_us = (start.elapsed() - programmed).as_micros() as u64,
            "felix sync"
        );
        let previous = self.ruleset.replace(ruleset);
        self.garbage = Some((endpoints, previous));
        if mode == SyncMode::Full {
            self.synced = true;
        }
        Ok(report)
    }

    /// Whether the change path must read the links: an endpoint is new,
    /// changed its addresses or MAC, is still waiting for its interface,
    /// or went.
    fn links_needed(&self, local: &[&Arc<Endpoint>]) -> bool {
        let wanted: BTreeSet<&str> = local.iter().map(|e| e.interface.as_str()).collect();
        local.iter().any(|ep| !self.unchanged(ep))
            || self.programmed.keys().any(|i| !wanted.contains(i.as_str()))
    }

    /// Whether `ep` is programmed as it is now (same interface index as
    /// the last dump, addresses, MAC).
    fn unchanged(&self, ep: &Endpoint) -> bool {
        match (
            self.programmed.get(&ep.interface),
            self.links.get(&ep.interface),
        ) {
            (Some(p), Some(link)) => {
                link.up && p.ifindex == link.index && p.networks == ep.networks && p.mac == ep.mac
            }
            _ => false,
        }
    }

    async fn interfaces(
        &mut self,
        local: &[&Arc<Endpoint>],
        links: &BTreeMap<String, Link>,
        mode: SyncMode,
        report: &mut SyncReport,
    ) -> Result<(), FelixError> {
        let full = mode == SyncMode::Full;
        let wanted: BTreeMap<&str, &Endpoint> = local
            .iter()
            .map(|e| (e.interface.as_str(), &***e))
            .collect();

        // Endpoints (or interfaces) that went away.
        let gone: Vec<String> = self
            .programmed
            .iter()
            .filter(|(ifname, p)| {
                let link = links.get(ifname.as_str());
                !wanted.contains_key(ifname.as_str())
                    || link.is_none_or(|l| l.index != p.ifindex || !l.up)
            })
            .map(|(ifname, _)| ifname.clone())
            .collect();
        for ifname in gone {
            let Some(old) = self.programmed.remove(&ifname) else {
                continue;
            };
            let link = links.get(&ifname).filter(|l| l.index == old.ifindex);
            if let (Some(_), Some(link)) = (old.mac, link) {
                for net in &old.networks {
                    let _ = self.routes.del_neighbour(net.ip(), link.index).await;
                }
            }
            if link.is_some() && !wanted.contains_key(ifname.as_str()) {
                self.sysctls.restore(|p| sysctl::of_interface(p, &ifname));
                self.configured.remove(&ifname);
            } else if link.is_none() {
                self.sysctls.forget(|p| sysctl::of_interface(p, &ifname));
                self.configured.remove(&ifname);
            }
        }
        // Settings of interfaces whose endpoint went but were never routed.
        let stale: Vec<String> = self
            .configured
            .iter()
            .filter(|ifname| !wanted.contains_key(ifname.as_str()))
            .cloned()
            .collect();
        for ifname in stale {
            if links.contains_key(&ifname) {
                self.sysctls.restore(|p| sysctl::of_interface(p, &ifname));
            } else {
                self.sysctls.forget(|p| sysctl::of_interface(p, &ifname));
            }
            self.configured.remove(&ifname);
        }

        // Global forwarding while there are endpoints; put back after the last.
        let any_v6 = local.iter().any(|e| e.networks.iter().any(|n| n.is_ipv6()));
        if local.is_empty() {
            self.sysctls
                .restore(|p| p == IPV4_FORWARD || p == IPV6_FORWARD);
        } else {
            self.sysctls.set(IPV4_FORWARD, "1")?;
            if any_v6 && self.sysctls.exists(IPV6_FORWARD) {
                self.sysctls.set(IPV6_FORWARD, "1")?;
            } else if !any_v6 {
                self.sysctls.restore(|p| p == IPV6_FORWARD);
            }
        }

        // Every wanted endpoint whose interface exists.
        let mut desired: BTreeMap<IpNetwork, u32> = BTreeMap::new();
        for ep in local {
            let Some(link) = links.get(&ep.interface) else {
                report.pending.push(ep.interface.clone());
                continue;
            };
            if !full
                && link.up
                && self.programmed.get(&ep.interface).is_some_and(|p| {
                    p.ifindex == link.index && p.networks == ep.networks && p.mac == ep.mac
                })
            {
                // Programmed as it is: settings and neighbours stay.
                for net in &ep.networks {
                    desired.insert(*net, link.index);
                }
                report.programmed.push(ep.interface.clone());
                continue;
            }
            let v6 = self
                .sysctls
                .exists(&format!("net/ipv6/conf/{}", ep.interface));
            self.configured.insert(ep.interface.clone());
            for (path, value) in sysctl::interface_settings(&ep.interface, v6) {
                if let Err(e) = self.sysctls.set(&path, value) {
                    report.warnings.push(format!("{path}: {e}"));
                }
            }
            if !link.up {
                report.pending.push(ep.interface.clone());
                continue;
            }
            for net in &ep.networks {
                desired.insert(*net, link.index);
            }
            let now = Programmed {
                ifindex: link.index,
                networks: ep.networks.clone(),
                mac: ep.mac,
            };
            if self.programmed.get(&ep.interface) != Some(&now) {
                if let Some(old) = self.programmed.get(&ep.interface) {
                    for net in old.networks.iter().filter(|n| !now.networks.contains(n)) {
                        let _ = self.routes.del_neighbour(net.ip(), old.ifindex).await;
                    }
                }
                if let Some(mac) = ep.mac {
                    for net in &ep.networks {
                        self.routes.add_neighbour(net.ip(), link.index, mac).await?;
                    }
                }
                self.programmed.insert(ep.interface.clone(), now);
            }
            report.programmed.push(ep.interface.clone());
        }

        // Routes: ours in the kernel (or, on the change path, as the last
        // sync left them) against the desired ones.
        let ours = if full {
            self.routes.ours().await?
        } else {
            std::mem::take(&mut self.installed)
        };
        let mut installed: BTreeMap<IpNetwork, Option<u32>> = ours.clone();
        // A route through another interface is replaced below.
        for net in ours.keys() {
            if !desired.contains_key(net) {
                let deleted = self.routes.del_route(*net).await;
                if deleted.is_ok() || !full {
                    installed.remove(net);
                }
                if let Err(e) = deleted {
                    self.installed = installed;
                    return Err(e.into());
                }
                report.routes_removed += 1;
            }
        }
        for (net, ifindex) in &desired {
            let mine = ours.get(net).copied();
            if mine.flatten() == Some(*ifindex) {
                continue;
            }
            match self.routes.add_route(*net, *ifindex, mine.is_some()).await {
                Ok(()) => {
                    installed.insert(*net, Some(*ifindex));
                    report.routes_added += 1;
                }
                Err(e) if e.errno() == Some(EEXIST) => report.warnings.push(format!(
                    "{net}: a route of another protocol is there: left alone"
                )),
                Err(e) => {
                    self.installed = installed;
                    return Err(e.into());
                }
            }
        }
        self.installed = installed;
        Ok(())
    }

    /// Remove everything: routes, neighbours, the table; put every setting
    /// back.
    pub async fn cleanup(&mut self) -> Result<(), FelixError> {
        let links = self.routes.links().await?;
        for (ifname, p) in std::mem::take(&mut self.programmed) {
            if p.mac.is_some() && links.get(&ifname).is_some_and(|l| l.index == p.ifindex) {
                for net in &p.networks {
                    let _ = self.routes.del_neighbour(net.ip(), p.ifindex).await;
                }
            }
        }
        for net in self.routes.ours().await?.keys() {
            self.routes.del_route(*net).await?;
        }
        self.installed.clear();
        self.synced = false;
        self.table
            .remove(&self.config.acl.table)
            .await
            .map_err(nft_error)?;
        self.sysctls.restore(|_| true);
        self.configured.clear();
        self.ruleset = None;
        Ok(())
    }
}

fn nft_error(e: NftError) -> FelixError {
    FelixError::Nft(e)
}
