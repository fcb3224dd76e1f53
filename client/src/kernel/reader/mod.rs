//! The kernel routing tables, read through rtnetlink: a dump, then live
//! notifications, in coalesced batches of net changes.
//!
//! # How it stays exact
//! The reader joins `RTNLGRP_IPV4_ROUTE` and `RTNLGRP_IPV6_ROUTE` (and the
//! link and address groups) *before* it dumps, so no change can fall
//! between the dump and the notifications. A resynchronisation
//! (the first one is the initial dump) goes:
//! 1. read and discard whatever is queued on the multicast socket: the
//!    dump supersedes it;
//! 2. dump links and routes (`RTM_GETLINK`, `RTM_GETROUTE` with
//!    `NLM_F_DUMP`, on a second socket) while still reading the multicast
//!    socket, keeping the notifications that arrive meanwhile;
//! 3. apply those notifications, in order, on top of the dump: each was
//!    sent after step 1, so for every route the last word is the kernel's
//!    latest state;
//! 4. diff the result against the picture last reported, and report the
//!    difference.
//!
//! It happens at start, after the kernel drops notifications for want of
//! buffer space (`ENOBUFS`, see [`socket`]), and after events that change
//! routes without notice (a link with routes going down, away or renamed,
//! an address removed, one member of an IPv6 multipath route deleted). If notifications are
//! dropped during the dump itself, it starts over.
//!
//! # Limits
//! Routes are keyed by table, prefix, TOS and metric. IPv4 allows two
//! routes with the same key (`ip route append`, `NLM_F_APPEND`); the reader
//! then keeps the last one notified until the next dump.
//!
//! # Coalescing
//! After the first notification of a burst, the reader keeps reading until
//! the socket has been empty for [`ReaderConfig::settle`] (or
//! [`ReaderConfig::max_delay`] has passed since the first), keeping only
//! the latest state of each route, and reports the net changes once. With
//! the default `settle` of zero it takes what is queued and stops at the
//! first read that finds nothing: no timer, whose millisecond tick would
//! be most of the add-to-advertised latency. A notification that comes
//! after a quiet spell ([`BURST_GAP`]) is reported as soon as the read
//! that took it finds the socket empty (one `recv` returning `EAGAIN`,
//! which also clears tokio's readiness so the next wait costs no call of
//! its own: a lone change is on its way in microseconds); within a burst
//! the reader yields to the runtime between reads, so the rest of the
//! burst in flight arrives and is reported with it.

mod cache;
pub mod socket;

use std::collections::HashMap;
use std::time::Duration;

use bgp_speaker::speaker::hops;
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::Handle;
use tokio::time::Instant;

use crate::kernel::netlink::{self, NetlinkError};
use crate::kernel::route::{KernelRoute, RouteChange, decode_route};
use cache::{Effect, Links, Pending, RouteCache, effect_of};
pub use cache::{SharedRoutes, read as read_routes};
use socket::{GROUPS, MulticastSocket};

/// How the reader reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReaderConfig {
    /// Receive buffer of the multicast socket, bytes (the kernel grants
    /// twice this, `sock_setsockopt`).
    pub receive_buffer: usize,
    /// Quiet time that ends a burst.
    pub settle: Duration,
    /// Longest a burst is held before its changes are reported anyway.
    pub max_delay: Duration,
}

impl Default for ReaderConfig {
    /// 8 MiB (about 100,000 queued notifications), no quiet time, 200 ms.
    /// A quiet time is added to the add-to-installed latency between two
    /// nodes, and a tokio timer rounds it up to its millisecond tick
    /// (`benches/install_latency.rs`: 1.3 ms at the median with a zero
    /// timeout, 2.3 ms with 1 ms, 6.5 ms with 5 ms); zero reads without one.
    fn default() -> Self {
        ReaderConfig {
            receive_buffer: 8 << 20,
            settle: Duration::ZERO,
            max_delay: Duration::from_millis(200),
        }
    }
}

/// A notification this soon after the previous burst was reported
/// belongs to the same burst (with the default zero quiet time): the
/// reader then yields between reads to coalesce it.
pub const BURST_GAP: Duration = Duration::from_millis(1);

/// Why the reader stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    /// The multicast socket failed.
    #[error("reading route notifications: {0}")]
    Socket(#[from] std::io::Error),
    /// A dump failed.
    #[error(transparent)]
    Netlink(#[from] NetlinkError),
}

/// Counters of the reader.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReaderStats {
    /// Notifications read.
    pub notifications: u64,
    /// Times the kernel dropped notifications (`ENOBUFS`).
    pub overruns: u64,
    /// Full dumps taken (the initial one included).
    pub resyncs: u64,
    /// Batches reported.
    pub batches: u64,
    /// Messages that could not be decoded and were skipped.
    pub undecodable: u64,
}

/// A set of changes reported at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    /// The net changes, sorted by route key.
    pub changes: Vec<RouteChange>,
    /// The batch is the outcome of a full dump (the first batch always
    /// is, even when empty).
    pub resync: bool,
}

/// Reads the kernel's routes. Drive it with [`RouteReader::next_batch`].
#[derive(Debug)]
pub struct RouteReader {
    config: ReaderConfig,
    socket: MulticastSocket,
    handle: Handle,
    links: Links,
    cache: RouteCache,
    pending: Pending,
    resync_reason: Option<&'static str>,
    first: bool,
    /// When the last burst was reported (zero quiet time only).
    last_burst_end: Option<Instant>,
    stats: ReaderStats,
}

impl RouteReader {
    /// Join the notification groups in the current network namespace.
    /// Nothing is dumped until the first [`RouteReader::next_batch`].
    /// Must be called inside a tokio runtime.
    pub fn open(config: ReaderConfig) -> Result<Self, ReaderError> {
        let socket = MulticastSocket::open(&GROUPS, config.receive_buffer)?;
        tracing::debug!(granted = socket.granted, "route reader listening");
        Ok(RouteReader {
            config,
            socket,
            handle: netlink::connect()?,
            links: Links::default(),
            cache: RouteCache::default(),
            pending: Pending::default(),
            resync_reason: Some("initial dump"),
            first: true,
            last_burst_end: None,
            stats: ReaderStats::default(),
        })
    }

    /// The routes as last reported (the reader's picture of the kernel),
    /// shared: the table stays current as the reader goes on. Read it
    /// with [`read_routes`]; hold the guard briefly (the reader waits for
    /// it to apply a batch).
    pub fn routes(&self) -> SharedRoutes {
        self.cache.routes.clone()
    }

    /// Interface names by index.
    pub fn link_name(&self, index: u32) -> Option<&str> {
        self.links.names.get(&index).map(String::as_str)
    }

    /// The counters.
    pub fn stats(&self) -> ReaderStats {
        self.stats
    }

    /// The receive buffer the kernel granted, bytes.
    pub fn receive_buffer(&self) -> usize {
        self.socket.granted
    }

    /// The next non-empty set of changes (the first call: the initial
    /// dump, even if empty). Not cancel-safe: run the reader in a task of
    /// its own and pass batches on.
    pub async fn next_batch(&mut self) -> Result<Batch, ReaderError> {
        loop {
            if let Some(reason) = self.resync_reason.take() {
                let changes = self.resync(reason).await?;
                if !changes.is_empty() || std::mem::take(&mut self.first) {
                    return Ok(self.report(changes, true));
                }
                continue;
            }
            self.collect_burst().await?;
            if self.resync_reason.is_some() {
                continue;
            }
            let changes = self.cache.apply(&mut self.pending);
            if !changes.is_empty() {
                hops::mark("reader.batch", changes.len() as u64);
                return Ok(self.report(changes, false));
            }
        }
    }

    fn report(&mut self, changes: Vec<RouteChange>, resync: bool) -> Batch {
        self.stats.batches += 1;
        Batch { changes, resync }
    }

    /// Wait for a notification, then read until the burst is over.
    async fn collect_burst(&mut self) -> Result<(), ReaderError> {
        let mut messages = Vec::new();
        let outcome = self.socket.read(&mut messages).await?;
        hops::mark("reader.recv", outcome.messages as u64);
        self.absorb(outcome, &mut messages);
        let now = Instant::now();
        let deadline = now + self.config.max_delay;
        if self.config.settle.is_zero() {
            // The read took everything queued, to the `recv` that found the
            // socket empty: after a quiet spell that was the look for more,
            // and a change alone is reported at once. Within a burst, yield
            // between reads so the rest of it coalesces.
            let alone = self
                .last_burst_end
                .is_none_or(|end| now.saturating_duration_since(end) >= BURST_GAP);
            while !alone && self.resync_reason.is_none() && Instant::now() < deadline {
                tokio::task::yield_now().await;
                let outcome = self.socket.read_now(&mut messages)?;
                let found = outcome.messages > 0 || outcome.overrun;
                self.absorb(outcome, &mut messages);
                if !found {
                    break;
                }
            }
            self.last_burst_end = Some(Instant::now());
            return Ok(());
        }
        while self.resync_reason.is_none() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let quiet = self.config.settle.min(deadline - now);
            match tokio::time::timeout(quiet, self.socket.read(&mut messages)).await {
                Ok(outcome) => self.absorb(outcome?, &mut messages),
                Err(_) => break,
            }
        }
        Ok(())
    }

    fn absorb(&mut self, outcome: socket::ReadOutcome, messages: &mut Vec<RouteNetlinkMessage>) {
        self.count(outcome);
        if outcome.overrun {
            self.request_resync("notifications dropped (ENOBUFS)");
        }
        for message in messages.drain(..) {
            if self.resync_reason.is_some() {
                continue;
            }
            let effect = effect_of(&mut self.links, &message);
            if let Err(reason) = self.pending.record(&self.cache, effect) {
                self.request_resync(reason);
            }
        }
    }

    fn count(&mut self, outcome: socket::ReadOutcome) {
        self.stats.notifications += outcome.messages as u64;
        self.stats.undecodable += outcome.undecodable as u64;
        if outcome.overrun {
            self.stats.overruns += 1;
        }
    }

    fn request_resync(&mut self, reason: &'static str) {
        if self.resync_reason.is_none() {
            tracing::info!(reason, "route reader resynchronising");
        }
        self.resync_reason.get_or_insert(reason);
        self.pending.clear();
    }

    /// Steps 1 to 4 of the module documentation.
    async fn resync(&mut self, mut reason: &'static str) -> Result<Vec<RouteChange>, ReaderError> {
        for attempt in 0u32.. {
            if attempt > 0 {
                // Something keeps changing under the dump (a storm of
                // link deletions, a burst larger than the buffer): let it
                // pass rather than dump back to back.
                let pause = Duration::from_millis(10 << attempt.min(6));
                tracing::debug!(attempt, ?pause, reason, "dump superseded, retrying");
                tokio::time::sleep(pause).await;
            }
            self.stats.resyncs += 1;
            tracing::debug!(reason, "dumping routes");
            let mut discarded = Vec::new();
            let outcome = self.socket.read_now(&mut discarded)?;
            self.count(outcome);
            let handle = self.handle.clone();
            // Links first (routes name their interfaces), then each route
            // decoded as it arrives (no list of messages kept).
            let dump = async move {
                let mut fresh = Links::default();
                for link in &netlink::dump_links(&handle).await? {
                    fresh.update(link);
                }
                let mut state: HashMap<_, KernelRoute> = HashMap::new();
                netlink::for_each_route_all(&handle, |message| {
                    match decode_route(&message, &fresh.names) {
                        Ok(route) => {
                            state.insert(route.key, route);
                        }
                        Err(e) => tracing::trace!(error = %e, "route not read"),
                    }
                })
                .await?;
                Ok::<_, NetlinkError>((fresh, state))
            };
            tokio::pin!(dump);
            let mut during = Vec::new();
            let mut dropped = false;
            let (mut fresh, mut state) = loop {
                tokio::select! {
                    result = &mut dump => break result?,
                    outcome = self.socket.read(&mut during) => {
                        let outcome = outcome?;
                        self.count(outcome);
                        dropped |= outcome.overrun;
                    }
                }
            };
            if dropped {
                reason = "notifications dropped during the dump";
                continue;
            }
            let mut again = None;
            for message in &during {
                match effect_of(&mut fresh, message) {
                    Effect::Upsert(route) => {
                        state.insert(route.key, route);
                    }
                    Effect::Remove(route) => {
                        if state
                            .get(&route.key)
                            .is_some_and(|current| cache::is_partial_delete(current, &route))
                        {
                            again = Some("one member of a multipath route deleted");
                        }
                        state.remove(&route.key);
                    }
                    Effect::Resync(why) => again = Some(why),
                    Effect::Link { index, why } => {
                        if state
                            .values()
                            .any(|r| r.next_hops.iter().any(|h| h.ifindex == Some(index)))
                        {
                            again = Some(why);
                        }
                    }
                    Effect::None | Effect::Undecodable(_) => {}
                }
            }
            if let Some(why) = again {
                reason = why;
                continue;
            }
            self.links = fresh;
            self.pending.clear();
            return Ok(self.cache.replace(state));
        }
        unreachable!("the attempts never run out")
    }
}
