//! Installs the best paths learned over BGP into a kernel table.
//!
//! Every route it writes has protocol [`RTPROT_BGP`] (186) and the
//! configured table and metric. Its rules:
//! - a new prefix is created with `NLM_F_CREATE | NLM_F_EXCL`, a changed
//!   one replaced with `NLM_F_REPLACE` (same table, destination, TOS and
//!   metric: the same kernel route, replaced atomically, so traffic never
//!   sees a gap); an unchanged one is not written at all;
//! - several equal paths become one route with `RTA_MULTIPATH`;
//! - a route of any other protocol is never replaced or deleted: when the
//!   table holds one for a prefix (any metric), the prefix is left alone
//!   and the conflict logged; when it goes, the learned route is
//!   installed. Deletes name our protocol, so the kernel itself refuses to
//!   delete anything else;
//! - at [`RouteWriter::open`] our routes left by a previous run are adopted
//!   as *stale*: they keep forwarding during the graceful-restart window
//!   (RFC 4724 section 4.1, the restarting speaker's forwarding state),
//!   and [`RouteWriter::finish_reconcile`] then removes those that were
//!   not learned again.
//!
//! The writer learns about other protocols' routes from its initial dump
//! and from [`RouteWriter::observe`], which the agent feeds with the
//! reader's changes.
//!
//! Single requests, dumps and the EEXIST adoption go through an
//! `rtnetlink` connection; [`RouteWriter::set_many`] (the agent's path for
//! learned routes) writes its requests itself on a socket of its own
//! (`requests`), many to a datagram, from the caller's task: the route is
//! in the kernel when `sendmsg` returns, without a hop through the
//! connection's task.
//!
//! # Limits
//! - Routes with protocol 186 but another metric are taken for another
//!   daemon's (FRR's zebra also installs BGP routes as 186) and left alone.
//! - A route of ours installed before a route of another protocol appeared
//!   stays (it is ours to keep; the other one is not touched) until the
//!   prefix is withdrawn or changes.
//! - Next hops must be on-link: the kernel refuses an unreachable gateway
//!   (`fib_check_nh`), and recursive resolution through another route (as
//!   BIRD's `gateway recursive`) is not done; the failure is logged.

mod batch;
mod foreign;
pub mod message;
mod observe;
mod requests;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::time::Duration;

use ipnetwork::IpNetwork;
use rtnetlink::Handle;
use tokio::time::Instant;

use crate::kernel::netlink::{self, NetlinkError};
use crate::kernel::route::{LinkNames, RT_TABLE_MAIN, RTPROT_BGP, RouteKey, decode_route};
pub use batch::IN_FLIGHT;
pub use foreign::ForeignRoutes;
pub use message::Placement;

/// How and where the writer installs routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterConfig {
    /// Table, metric and protocol of the installed routes.
    pub placement: Placement,
    /// How long routes of a previous run are kept for being learned again.
    pub restart_window: Duration,
    /// On a clean stop, remove the installed routes (otherwise they stay
    /// for the next run to adopt).
    pub remove_on_stop: bool,
}

impl Default for WriterConfig {
    /// The main table, metric 20, protocol 186, a 120 s window (the
    /// default graceful-restart time), routes kept on stop.
    ///
    /// Metric 20 (FRR's for BGP) rather than 0: a route an operator or
    /// Calico adds with `ip route add` (metric 0) then coexists with the
    /// learned one instead of failing with `EEXIST`, and wins.
    fn default() -> Self {
        WriterConfig {
            placement: Placement {
                table: RT_TABLE_MAIN,
                metric: 20,
                protocol: RTPROT_BGP,
            },
            restart_window: Duration::from_secs(120),
            remove_on_stop: false,
        }
    }
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new route was created.
    Installed,
    /// Our route was replaced with new next hops.
    Replaced,
    /// Our route already had these next hops: nothing was written.
    Unchanged,
    /// Our route was deleted.
    Removed,
    /// There was no route of ours to delete.
    Absent,
    /// A route of another protocol holds the prefix: left alone.
    Foreign,
}

/// Why a write failed.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// The kernel refused.
    #[error("{prefix}: {source}")]
    Kernel {
        /// The prefix.
        prefix: IpNetwork,
        /// The answer.
        source: NetlinkError,
    },
    /// The initial dump or the connection failed.
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
}

/// Counters of the writer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriterStats {
    /// Routes created.
    pub installed: u64,
    /// Routes replaced.
    pub replaced: u64,
    /// Routes deleted.
    pub removed: u64,
    /// Writes skipped for a route of another protocol.
    pub foreign: u64,
    /// Writes the kernel refused.
    pub failed: u64,
}

const EEXIST: i32 = nix::errno::Errno::EEXIST as i32;
const ESRCH: i32 = nix::errno::Errno::ESRCH as i32;

/// The writer. See the module documentation.
#[derive(Debug)]
pub struct RouteWriter {
    config: WriterConfig,
    handle: Handle,
    /// Batches of requests, sent from the caller's task ([`requests`]).
    requests: requests::RequestSocket,
    /// Our routes in the kernel, with their (sorted) next hops.
    installed: HashMap<IpNetwork, Vec<IpAddr>>,
    /// Routes of a previous run not yet learned again.
    stale: HashSet<IpNetwork>,
    /// What BGP wants installed, whether or not it could be.
    wanted: HashMap<IpNetwork, Vec<IpAddr>>,
    /// Routes of other protocols in our table, by prefix.
    foreign: ForeignRoutes,
    deadline: Option<Instant>,
    stats: WriterStats,
}

impl RouteWriter {
    /// Connect in the current network namespace, dump the table, adopt
    /// our routes from a previous run as stale and note the others.
    /// Must be called inside a tokio runtime.
    pub async fn open(config: WriterConfig) -> Result<Self, WriterError> {
        let handle = netlink::connect()?;
        let mut writer = RouteWriter {
            config,
            handle,
            requests: requests::RequestSocket::open().map_err(NetlinkError::Socket)?,
            installed: HashMap::new(),
            stale: HashSet::new(),
            wanted: HashMap::new(),
            foreign: ForeignRoutes::default(),
            deadline: None,
            stats: WriterStats::default(),
        };
        let placement = config.placement;
        let handle = writer.handle.clone();
        netlink::for_each_route_all(&handle, |message| {
            let Ok(route) = decode_route(&message, &LinkNames::new()) else {
                return;
            };
            if route.key.table != placement.table {
                return;
            }
            if placement.is_ours(&route.key, route.protocol) {
                let mut gateways: Vec<IpAddr> =
                    route.next_hops.iter().filter_map(|h| h.gateway).collect();
                gateways.sort();
                writer.installed.insert(route.key.prefix, gateways);
                writer.stale.insert(route.key.prefix);
            } else {
                writer.foreign.insert(route.key);
            }
        })
        .await?;
        if !writer.stale.is_empty() {
            tracing::info!(
                routes = writer.stale.len(),
                window = ?config.restart_window,
                "keeping routes of the previous run for the restart window"
            );
            writer.deadline = Some(Instant::now() + config.restart_window);
        }
        Ok(writer)
    }

    /// The configuration.
    pub fn config(&self) -> &WriterConfig {
        &self.config
    }

    /// Our routes now in the kernel, with their next hops.
    pub fn installed(&self) -> &HashMap<IpNetwork, Vec<IpAddr>> {
        &self.installed
    }

    /// The counters.
    pub fn stats(&self) -> WriterStats {
        self.stats
    }

    /// What BGP wants installed (whether or not it could be), with the
    /// next hops.
    pub fn wanted(&self) -> &HashMap<IpNetwork, Vec<IpAddr>> {
        &self.wanted
    }

    /// Is our route to `prefix` one of a previous run, not learned again yet?
    pub fn is_stale(&self, prefix: IpNetwork) -> bool {
        self.stale.contains(&prefix)
    }

    /// Does a route of another protocol hold `prefix` in our table?
    pub fn is_foreign(&self, prefix: IpNetwork) -> bool {
        self.foreign.holds(prefix)
    }

    /// Change whether a clean stop removes the installed routes.
    pub fn set_remove_on_stop(&mut self, remove: bool) {
        self.config.remove_on_stop = remove;
    }

    /// Remove every route we installed, whatever `remove_on_stop` says
    /// (before moving to another table or metric). What BGP wants is
    /// forgotten too. Returns how many were removed.
    pub async fn clear(&mut self) -> Result<usize, WriterError> {
        let prefixes: Vec<IpNetwork> = self.installed.keys().copied().collect();
        let mut removed = 0;
        for prefix in prefixes {
            if self.remove(prefix).await? == Outcome::Removed {
                removed += 1;
            }
        }
        self.wanted.clear();
        self.stale.clear();
        self.deadline = None;
        Ok(removed)
    }

    /// When the restart window ends, while routes of the previous run
    /// wait to be learned again.
    pub fn reconcile_deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Install `prefix` through `gateways` (several: multipath). Gateways
    /// of the other family are ignored; none left means [`Self::remove`].
    pub async fn set(
        &mut self,
        prefix: IpNetwork,
        gateways: &[IpAddr],
    ) -> Result<Outcome, WriterError> {
        let mut gateways: Vec<IpAddr> = gateways
            .iter()
            .copied()
            .filter(|g| g.is_ipv4() == prefix.is_ipv4())
            .collect();
        gateways.sort();
        gateways.dedup();
        if gateways.is_empty() {
            return self.remove(prefix).await;
        }
        self.wanted.insert(prefix, gateways.clone());
        self.write(prefix).await
    }

    /// Remove our route to `prefix`, if any.
    pub async fn remove(&mut self, prefix: IpNetwork) -> Result<Outcome, WriterError> {
        self.wanted.remove(&prefix);
        self.stale.remove(&prefix);
        if self.installed.remove(&prefix).is_none() {
            return Ok(Outcome::Absent);
        }
        self.delete(prefix).await
    }

    /// Bring the kernel in line with `wanted` for `prefix`.
    async fn write(&mut self, prefix: IpNetwork) -> Result<Outcome, WriterError> {
        let Some(gateways) = self.wanted.get(&prefix).cloned() else {
            return Ok(Outcome::Absent);
        };
        if self.foreign.holds(prefix) {
            self.stats.foreign += 1;
            tracing::warn!(%prefix, "a route of another protocol holds this prefix: not installing");
            return Ok(Outcome::Foreign);
        }
        // Twice at most: a create that meets a route of ours we did not
        // know of (a notification race) adopts it and replaces it.
        for adopted in [false, true] {
            let replace = match self.installed.get(&prefix) {
                Some(current) if *current == gateways => {
                    self.stale.remove(&prefix);
                    return Ok(Outcome::Unchanged);
                }
                Some(_) => true,
                None => false,
            };
            let message = message::install_message(prefix, &gateways, self.config.placement);
            let request = self.handle.route().add(message);
            let request = if replace { request.replace() } else { request };
            let error = match request.execute().await {
                Ok(()) => {
                    self.stale.remove(&prefix);
                    self.installed.insert(prefix, gateways);
                    return Ok(if replace {
                        self.stats.replaced += 1;
                        Outcome::Replaced
                    } else {
                        self.stats.installed += 1;
                        Outcome::Installed
                    });
                }
                Err(e) => NetlinkError::request("install route", e),
            };
            if replace || adopted || error.errno() != Some(EEXIST) {
                self.stats.failed += 1;
                return Err(WriterError::Kernel {
                    prefix,
                    source: error,
                });
            }
            // EEXIST: a route with our table, prefix and metric is there.
            match self.our_route_in_kernel(prefix).await? {
                Some(current) => {
                    self.installed.insert(prefix, current);
                }
                None => {
                    let key = RouteKey {
                        table: self.config.placement.table,
                        prefix,
                        tos: 0,
                        metric: self.config.placement.metric_for(prefix),
                    };
                    self.foreign.insert(key);
                    self.stats.foreign += 1;
                    tracing::warn!(%prefix, "the kernel has another route with our metric: not installing");
                    return Ok(Outcome::Foreign);
                }
            }
        }
        unreachable!("the second attempt returns")
    }

    async fn delete(&mut self, prefix: IpNetwork) -> Result<Outcome, WriterError> {
        let message = message::delete_message(prefix, self.config.placement);
        match self.handle.route().del(message).execute().await {
            Ok(()) => {
                self.stats.removed += 1;
                Ok(Outcome::Removed)
            }
            Err(e) => {
                let error = NetlinkError::request("delete route", e);
                if error.errno() == Some(ESRCH) {
                    return Ok(Outcome::Absent);
                }
                self.stats.failed += 1;
                Err(WriterError::Kernel {
                    prefix,
                    source: error,
                })
            }
        }
    }

    /// End the restart window: remove our routes of the previous run that
    /// were not learned again. Returns how many were removed.
    pub async fn finish_reconcile(&mut self) -> Result<usize, WriterError> {
        self.deadline = None;
        let stale: Vec<IpNetwork> = self.stale.drain().collect();
        let mut removed = 0;
        for prefix in stale {
            if self.wanted.contains_key(&prefix) {
                continue;
            }
            if self.remove(prefix).await? == Outcome::Removed {
                removed += 1;
            }
        }
        if removed > 0 {
            tracing::info!(
                removed,
                "removed routes of the previous run not learned again"
            );
        }
        Ok(removed)
    }

    /// A clean stop: remove every route we installed when so configured.
    /// Returns how many were removed.
    pub async fn stop(&mut self) -> Result<usize, WriterError> {
        if !self.config.remove_on_stop {
            return Ok(0);
        }
        let prefixes: Vec<IpNetwork> = self.installed.keys().copied().collect();
        let mut removed = 0;
        for prefix in prefixes {
            if self.remove(prefix).await? == Outcome::Removed {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Our routes as the kernel holds them now (a fresh dump), for checks.
    pub async fn kernel_routes(&self) -> Result<Vec<RouteKey>, WriterError> {
        let placement = self.config.placement;
        let routes = netlink::dump_all_routes(&self.handle).await?;
        Ok(routes
            .iter()
            .filter_map(|m| decode_route(m, &LinkNames::new()).ok())
            .filter(|r| r.key.table == placement.table && r.protocol == placement.protocol)
            .map(|r| r.key)
            .collect())
    }
}
