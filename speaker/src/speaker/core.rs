//! The core task: the single owner of the RIB and the update groups.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;
use tokio::net::TcpStream;
use tokio::sync::{broadcast, mpsc};

use bgp_proto::iana::{AfiSafi, notification::cease};
use bgp_proto::message::{Notification, RouteRefresh};
use bgp_proto::session::DownReason;

use super::status::{NeighborState, NeighborStatus, RouteStatus, SpeakerEvent};
use super::{Command, SpeakerError};
use crate::adj_out::{AdjOut, AdjOutConfig, LocRib, LocalAddresses, MemberSpec, PeerLookup};
use crate::attrs::AttrInterner;
use crate::backlog::RouteBacklog;
use crate::config::{PeerConfig, PeerOptions, SpeakerConfig};
use crate::events::{PeerCommand, PeerEvent};
use crate::net::{
    DynamicMatcher, DynamicSlot, Listener, PeerHandle, PeerParams, reject, spawn_peer,
};
use crate::outbox::Outbox;
use crate::rib::{Rib, RibConfig};
use crate::types::{Path, PeerId, PeerInfo, RibChange};

/// Most peer events handled before the changes are flushed.
const BATCH: usize = 1024;

/// A batch also ends once it has changed this many prefixes, so a burst of
/// UPDATEs is written out in chunks while the rest is still being read:
/// output starts early and per-batch structures stay small.
const BATCH_PREFIXES: usize = 4096;

/// Sources include the peers removed in this batch ([`Rib::source_info`]),
/// so that the update groups can tell whether they had exported their paths.
impl PeerLookup for Rib {
    fn peer_info(&self, peer: PeerId) -> Option<&PeerInfo> {
        Rib::source_info(self, peer)
    }
}

impl LocRib for Rib {
    fn family_routes(
        &self,
        family: AfiSafi,
    ) -> Box<dyn Iterator<Item = (IpNetwork, &[Path])> + '_> {
        Box::new(self.iter_family(family))
    }

    fn prefix_paths(&self, family: AfiSafi, prefix: IpNetwork) -> &[Path] {
        self.paths(family, prefix)
    }
}

/// A peer as the core knows it.
#[derive(Debug)]
struct PeerEntry {
    handle: PeerHandle,
    options: PeerOptions,
    outbox: Arc<Outbox>,
    state: NeighborState,
    since: Instant,
    info: Option<PeerInfo>,
    last_error: Option<String>,
    updates_received: u64,
    dynamic: Option<DynamicSlot>,
    /// Stale routes of a graceful restart are flushed at this time.
    stale_deadline: Option<Instant>,
}

pub(super) struct Core {
    config: SpeakerConfig,
    cluster_id: Ipv4Addr,
    rib: Rib,
    adj_out: AdjOut,
    /// Attribute sets after export transformation (the RIB has its own).
    out_interner: AttrInterner,
    peers: HashMap<PeerId, PeerEntry>,
    by_address: HashMap<IpAddr, PeerId>,
    next_id: u32,
    peer_events: mpsc::Sender<PeerEvent>,
    /// The bound on the prefixes the peer tasks have decoded ahead.
    backlog: RouteBacklog,
    peer_events_rx: Option<mpsc::Receiver<PeerEvent>>,
    listener: Option<Arc<Listener>>,
    dynamic: DynamicMatcher,
    events: broadcast::Sender<SpeakerEvent>,
    stale: BTreeSet<(Instant, PeerId)>,
    changes: Vec<RibChange>,
    /// Indices into `changes` (ascending) of changes that concern only
    /// our own originations: no event is sent for them.
    own_only: Vec<usize>,
    /// A peer's paths were removed: collect unused attribute sets after the
    /// flush (the changes hold the removed paths until then).
    collect_after_flush: bool,
}

impl Core {
    pub(super) fn new(
        config: SpeakerConfig,
        listener: Option<Listener>,
        events: broadcast::Sender<SpeakerEvent>,
    ) -> Core {
        let mut rib_config = RibConfig::new(config.router_id, config.local_as);
        rib_config.multipath = config.multipath;
        let cluster_id = config.cluster_id.unwrap_or(config.router_id);
        rib_config.cluster_id = Some(cluster_id);
        let (peer_events, peer_events_rx) = mpsc::channel(4096);
        Core {
            dynamic: DynamicMatcher::new(config.dynamic_neighbors.clone()),
            cluster_id,
            rib: Rib::new(rib_config),
            adj_out: AdjOut::new(AdjOutConfig {
                no_client_to_client: config.no_client_to_client.iter().copied().collect(),
                always_keep_tables: false,
            }),
            out_interner: AttrInterner::new(),
            peers: HashMap::new(),
            by_address: HashMap::new(),
            next_id: 1,
            peer_events,
            peer_events_rx: Some(peer_events_rx),
            backlog: RouteBacklog::default(),
            listener: listener.map(Arc::new),
            events,
            stale: BTreeSet::new(),
            changes: Vec::new(),
            own_only: Vec::new(),
            collect_after_flush: false,
            config,
        }
    }

    pub(super) async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let Some(mut peer_events) = self.peer_events_rx.take() else {
            return;
        };
        let (accept_tx, mut accepted) = mpsc::channel::<(TcpStream, SocketAddr)>(256);
        if let Some(listener) = self.listener.clone() {
            tokio::spawn(async move { listener.run(accept_tx).await });
        }
        loop {
            let deadline = self.stale.first().map(|(at, _)| *at);
            tokio::select! {
                biased;
                Some(event) = peer_events.recv() => {
                    super::hops::mark("core.event", 0);
                    self.peer_event(event);
                    for _ in 1..BATCH {
                        if self.changes.len() >= BATCH_PREFIXES {
                            break;
                        }
                        match peer_events.try_recv() {
                            Ok(event) => self.peer_event(event),
                            Err(_) => break,
                        }
                    }
                }
                command = commands.recv() => match command {
                    Some(Command::Shutdown(message, done)) => {
                        self.shutdown(&message).await;
                        let _ = done.send(());
                        return;
                    }
                    Some(command) => {
                        super::hops::mark("core.command", 0);
                        // Originations come in bursts (a node agent's kernel
                        // routes): take what is queued, so that one flush
                        // sends them together instead of one UPDATE each.
                        self.command(command);
                        for _ in 1..BATCH {
                            if self.changes.len() >= BATCH_PREFIXES {
                                break;
                            }
                            match commands.try_recv() {
                                Ok(Command::Shutdown(message, done)) => {
                                    self.flush();
                                    self.shutdown(&message).await;
                                    let _ = done.send(());
                                    return;
                                }
                                Ok(command) => self.command(command),
                                Err(_) => break,
                            }
                        }
                    }
                    None => {
                        self.shutdown("speaker stopped").await;
                        return;
                    }
                },
                Some((stream, remote)) = accepted.recv() => self.accepted(stream, remote),
                _ = sleep_until(deadline), if deadline.is_some() => self.expire_stale(),
            }
            let chunked = self.changes.len() >= BATCH_PREFIXES;
            self.flush();
            if chunked {
                // More of the burst is probably queued: let the writers send
                // this chunk before the next one is read.
                tokio::task::yield_now().await;
            }
        }
    }

    /// Hand the batch's RIB changes to the update groups and write them out.
    fn flush(&mut self) {
        let changed = self.changes.len();
        if !self.changes.is_empty() {
            self.adj_out
                .apply(&self.changes, &self.rib, &mut self.out_interner);
            self.rib.forget_departed();
            super::hops::mark("core.applied", changed as u64);
            if self.events.receiver_count() > 0 {
                let mut own_only = self.own_only.iter().copied().peekable();
                for (index, change) in self.changes.iter().enumerate() {
                    // Not an event: only our own origination changed
                    // (`note_own_change`); waking the subscriber for it
                    // would delay the UPDATE this flush writes.
                    if own_only.next_if_eq(&index).is_some() {
                        continue;
                    }
                    let count = self.rib.multipath_len(&change.paths);
                    let _ = self.events.send(SpeakerEvent::BestChanged {
                        family: change.family,
                        prefix: change.prefix,
                        best: change.paths.first().cloned(),
                        multipath: change.paths[..count.min(change.paths.len())].to_vec(),
                    });
                }
            }
            self.changes.clear();
            self.own_only.clear();
            super::hops::mark("core.evented", changed as u64);
        }
        let _summary = self.adj_out.flush(&self.rib, &mut self.out_interner);
        if changed > 0 {
            super::hops::mark("core.flushed", changed as u64);
        }
        if self.collect_after_flush {
            // The RIB's sets first: the groups' caches watch them, and hold
            // the exported sets the last collection frees.
            self.collect_after_flush = false;
            self.rib.collect_garbage();
            self.adj_out.collect_garbage();
            self.out_interner.collect_garbage();
        }
    }

    // ---- peers ----

    fn add_peer(
        &mut self,
        peer: PeerConfig,
        dynamic: Option<DynamicSlot>,
    ) -> Result<PeerId, SpeakerError> {
        if self.by_address.contains_key(&peer.address) {
            return Err(SpeakerError::DuplicatePeer(peer.address));
        }
        if let (Some(listener), Some(password)) = (&self.listener, &peer.options.md5_password) {
            listener
                .set_md5(peer.address, Some(password))
                .map_err(|source| SpeakerError::Md5 {
                    peer: peer.address,
                    source,
                })?;
        }
        let id = PeerId(self.next_id);
        self.next_id += 1;
        let outbox = Arc::new(Outbox::new());
        let mut params = PeerParams::new(
            id,
            peer.address,
            peer.options.clone(),
            self.config.local_as,
            self.config.router_id,
            self.cluster_id,
            outbox.clone(),
            self.peer_events.clone(),
        );
        params.backlog = self.backlog.clone();
        let handle = spawn_peer(params);
        self.by_address.insert(peer.address, id);
        self.peers.insert(
            id,
            PeerEntry {
                handle,
                options: peer.options,
                outbox,
                state: NeighborState::Down,
                since: Instant::now(),
                info: None,
                last_error: None,
                updates_received: 0,
                dynamic,
                stale_deadline: None,
            },
        );
        Ok(id)
    }

    fn remove_peer(&mut self, address: IpAddr) -> Result<(), SpeakerError> {
        let id = self
            .by_address
            .remove(&address)
            .ok_or(SpeakerError::UnknownPeer(address))?;
        if let Some(entry) = self.peers.remove(&id) {
            let _ = entry.handle.send(PeerCommand::Stop {
                subcode: cease::PEER_DECONFIGURED,
                message: String::new(),
            });
            if let Some(slot) = entry.dynamic {
                self.dynamic.release(slot);
            }
            if let (Some(listener), Some(_)) = (&self.listener, &entry.options.md5_password) {
                let _ = listener.set_md5(address, None);
            }
        }
        self.forget_routes(id);
        Ok(())
    }

    fn forget_routes(&mut self, id: PeerId) {
        let _ = self.adj_out.remove_member(id);
        self.rib.remove_peer(id, &mut self.changes);
        self.stale.retain(|(_, peer)| *peer != id);
        self.collect_after_flush = true;
    }

    fn accepted(&mut self, stream: TcpStream, remote: SocketAddr) {
        let address = remote.ip();
        if let Some(id) = self.by_address.get(&address) {
            if let Some(entry) = self.peers.get(id) {
                let _ = entry.handle.accept(stream, remote);
            }
            return;
        }
        match self.dynamic.admit(address) {
            Ok(slot) => {
                let mut options = self.dynamic.template(&slot).clone();
                options.passive = true;
                let config = PeerConfig { address, options };
                match self.add_peer(config, Some(slot)) {
                    Ok(id) => {
                        tracing::info!(%address, peer = %id, "dynamic neighbour accepted");
                        if let Some(entry) = self.peers.get(&id) {
                            let _ = entry.handle.accept(stream, remote);
                        }
                    }
                    Err(error) => reject(stream, remote, &error.to_string()),
                }
            }
            Err(why) => reject(stream, remote, &why.to_string()),
        }
    }

    fn peer_event(&mut self, event: PeerEvent) {
        match event {
            PeerEvent::Established {
                info,
                local_address,
            } => self.established(info, local_address),
            // The UPDATE's backlog share goes back when this returns.
            PeerEvent::Update {
                peer,
                update,
                findings,
                ..
            } => {
                if !self.peers.contains_key(&peer) {
                    return;
                }
                if let Some(entry) = self.peers.get_mut(&peer) {
                    entry.updates_received += 1;
                }
                for finding in findings.iter() {
                    tracing::warn!(%peer, action = ?finding.action, error = %finding.error, "UPDATE error (RFC 7606)");
                }
                match self
                    .rib
                    .apply_update(peer, &update, &findings, &mut self.changes)
                {
                    Ok(stats) => {
                        if let Some(family) = stats.limit_warning {
                            tracing::warn!(%peer, %family, "prefix limit warning threshold reached");
                        }
                        if let Some(family) = stats.end_of_rib {
                            self.rib.flush_stale(peer, Some(family), &mut self.changes);
                        }
                    }
                    Err(exceeded) => {
                        tracing::warn!(%peer, family = %exceeded.family, limit = exceeded.limit, "prefix limit exceeded: closing the session until it is reconfigured (RFC 4486 Cease subcode 1)");
                        if let Some(entry) = self.peers.get(&peer) {
                            let notification =
                                Notification::max_prefixes(exceeded.family, exceeded.limit);
                            let _ = entry.handle.send(PeerCommand::StopWith(notification));
                        }
                        self.forget_routes(peer);
                    }
                }
            }
            PeerEvent::RouteRefresh { peer, refresh } => {
                if refresh.is_ignored() {
                    return;
                }
                // The group may make its table from the Loc-RIB, which must
                // then hold no change the members have not been sent.
                self.flush();
                let (rib, interner) = (&self.rib, &mut self.out_interner);
                if let Err(error) =
                    self.adj_out
                        .route_refresh(peer, refresh.afi_safi(), rib, interner)
                {
                    tracing::debug!(%peer, %error, "route refresh ignored");
                }
            }
            PeerEvent::Drained { peer } => {
                let _ = self.adj_out.member_drained(peer);
            }
            PeerEvent::Down {
                peer,
                reason,
                detail,
                was_established,
                graceful,
            } => self.down(peer, reason, detail, was_established, graceful),
            PeerEvent::Gone { peer } => {
                if let Some(entry) = self.peers.remove(&peer) {
                    self.by_address.remove(&entry.handle.address());
                    if let Some(slot) = entry.dynamic {
                        self.dynamic.release(slot);
                    }
                }
                self.forget_routes(peer);
            }
        }
    }

    fn established(&mut self, info: PeerInfo, local_address: IpAddr) {
        let Some(entry) = self.peers.get_mut(&info.id) else {
            return;
        };
        entry.state = NeighborState::Established;
        entry.since = Instant::now();
        entry.info = Some(info.clone());
        let had_stale = entry.stale_deadline.is_some();
        if had_stale {
            // RFC 4724 section 4.2: keep the stale routes until End-of-RIB,
            // or until the stale-path time runs out.
            let at = Instant::now() + entry.options.graceful_restart.max_stale_time;
            self.stale.retain(|(_, peer)| *peer != info.id);
            self.stale.insert((at, info.id));
            entry.stale_deadline = Some(at);
        }
        let options = entry.options.clone();
        let outbox = entry.outbox.clone();
        if had_stale {
            self.flush_unpreserved_stale(&info);
        }
        // The group fills the new member (and maybe its own table) from the
        // Loc-RIB, which must hold no change the other members have not
        // been sent; the peer's record changes only between two batches.
        self.flush();
        if self.rib.peer_info(info.id).is_some() {
            // Back after a graceful restart with its stale paths: its new
            // record may export them differently (another role, router
            // ID). Groups without a table would judge what they had sent
            // by the new one, so they make their tables now, by the old.
            self.adj_out.keep_tables(&self.rib, &mut self.out_interner);
        }
        // Fresh for this session: pushes from now on are for it.
        outbox.open();
        self.rib
            .add_peer(info.clone(), options.import.clone(), options.prefix_limit);
        let spec = MemberSpec::new(
            info.clone(),
            self_addresses(local_address, &options),
            &options,
            outbox,
        );
        if let Err(error) = self
            .adj_out
            .add_member(spec, &self.rib, &mut self.out_interner)
        {
            tracing::error!(peer = %info.id, %error, "cannot add the peer to an update group");
        }
        let _ = self.events.send(SpeakerEvent::PeerUp {
            id: info.id,
            address: info.address,
            negotiated: Box::new((*info.negotiated).clone()),
        });
    }

    /// RFC 4724 section 4.2: when a restarting peer is back, its stale
    /// routes of a family stay only if its new Graceful Restart capability
    /// lists the family with the Forwarding State bit set; otherwise they go
    /// at once rather than at End-of-RIB.
    fn flush_unpreserved_stale(&mut self, info: &PeerInfo) {
        let gr = info.negotiated.peer_graceful_restart.as_ref();
        let families: Vec<AfiSafi> = self.rib.families().collect();
        for family in families {
            let preserved = info.negotiated.has_family(family)
                && gr.and_then(|gr| gr.forwarding_preserved(family)) == Some(true);
            if !preserved {
                self.rib
                    .flush_stale(info.id, Some(family), &mut self.changes);
            }
        }
    }

    fn down(
        &mut self,
        peer: PeerId,
        reason: DownReason,
        detail: Option<String>,
        was_established: bool,
        graceful: bool,
    ) {
        let Some(entry) = self.peers.get_mut(&peer) else {
            return;
        };
        entry.last_error = Some(match detail {
            Some(detail) => format!("{}: {detail}", describe(&reason)),
            None => describe(&reason),
        });
        if !was_established {
            return;
        }
        entry.state = NeighborState::Down;
        entry.since = Instant::now();
        entry.outbox.close();
        let address = entry.handle.address();
        let restart_time = entry
            .info
            .as_ref()
            .and_then(|i| i.negotiated.peer_graceful_restart.as_ref())
            .map(|gr| Duration::from_secs(u64::from(gr.restart_time)));
        let keep = graceful && entry.options.graceful_restart.enabled && restart_time.is_some();
        let _ = self.adj_out.remove_member(peer);
        if keep {
            // RFC 4724 section 4.2: keep the routes, marked stale, for the
            // peer's restart time.
            let wait = restart_time
                .unwrap_or_default()
                .min(entry.options.graceful_restart.max_stale_time);
            let at = Instant::now() + wait;
            entry.stale_deadline = Some(at);
            self.rib.mark_stale(peer);
            self.stale.insert((at, peer));
            tracing::info!(%peer, ?wait, "session down, keeping routes as stale (graceful restart)");
        } else {
            self.rib.remove_peer(peer, &mut self.changes);
            self.collect_after_flush = true;
        }
        let _ = self.events.send(SpeakerEvent::PeerDown {
            id: peer,
            address,
            reason,
            graceful: keep,
        });
    }

    fn expire_stale(&mut self) {
        let now = Instant::now();
        while let Some(&(at, peer)) = self.stale.first() {
            if at > now {
                break;
            }
            self.stale.pop_first();
            if let Some(entry) = self.peers.get_mut(&peer) {
                entry.stale_deadline = None;
                let established = entry.state == NeighborState::Established;
                if established {
                    self.rib.flush_stale(peer, None, &mut self.changes);
                } else {
                    // The peer did not come back in time: forget it all.
                    self.rib.remove_peer(peer, &mut self.changes);
                    self.collect_after_flush = true;
                }
                tracing::info!(%peer, "stale routes flushed");
            }
        }
    }

    // ---- commands ----

    fn command(&mut self, command: Command) {
        match command {
            Command::AddPeer(peer, reply) => {
                let _ = reply.send(self.add_peer(*peer, None));
            }
            Command::RemovePeer(address, reply) => {
                let _ = reply.send(self.remove_peer(address));
            }
            Command::Originate(family, prefix, attrs) => self.originate(family, prefix, attrs),
            Command::Withdraw(family, prefix) => self.withdraw_local(family, prefix),
            Command::OriginateMany(family, prefixes, attrs) => {
                for prefix in prefixes {
                    self.originate(family, prefix, attrs.clone());
                }
            }
            Command::WithdrawMany(family, prefixes) => {
                for prefix in prefixes {
                    self.withdraw_local(family, prefix);
                }
            }
            Command::Neighbors(reply) => {
                let _ = reply.send(self.neighbors());
            }
            Command::Routes(family, prefix, reply) => {
                let _ = reply.send(self.routes(family, prefix));
            }
            Command::Explain(family, prefix, reply) => {
                let _ = reply.send(self.rib.explain(family, prefix));
            }
            Command::Groups(reply) => {
                let _ = reply.send(self.adj_out.group_stats());
            }
            Command::RouteRefresh(address, family) => {
                if let Some(entry) = self
                    .by_address
                    .get(&address)
                    .and_then(|id| self.peers.get(id))
                {
                    let _ = entry
                        .handle
                        .send(PeerCommand::SendRouteRefresh(RouteRefresh::request(family)));
                }
            }
            Command::Shutdown(..) => {}
        }
    }

    fn originate(&mut self, family: AfiSafi, prefix: IpNetwork, attrs: crate::attrs::PathAttrs) {
        let learned = self.learned_best(family, prefix);
        let at = self.changes.len();
        match self.rib.originate(family, prefix, attrs, &mut self.changes) {
            Ok(_) => self.note_own_change(at, learned),
            Err(error) => tracing::warn!(%prefix, %error, "cannot originate"),
        }
    }

    fn withdraw_local(&mut self, family: AfiSafi, prefix: IpNetwork) {
        let learned = self.learned_best(family, prefix);
        let at = self.changes.len();
        self.rib.withdraw_local(family, prefix, &mut self.changes);
        self.note_own_change(at, learned);
    }

    /// Is the best path of `prefix` one learned from a peer?
    fn learned_best(&self, family: AfiSafi, prefix: IpNetwork) -> bool {
        let paths = self.rib.paths(family, prefix);
        paths.first().is_some_and(|p| p.peer != PeerId::LOCAL)
    }

    /// A change of our own origination from `at` on (if the RIB made
    /// one): with no learned best path before or after it, only our own
    /// path came, went or changed, and [`SpeakerEvent::BestChanged`] is
    /// not sent for it (see there).
    fn note_own_change(&mut self, at: usize, learned_before: bool) {
        let Some(change) = self.changes.get(at) else {
            return;
        };
        let learned_after = change
            .paths
            .first()
            .is_some_and(|p| p.peer != PeerId::LOCAL);
        if !learned_before && !learned_after {
            self.own_only.push(at);
        }
    }

    fn neighbors(&self) -> Vec<NeighborStatus> {
        let mut list: Vec<NeighborStatus> = self
            .peers
            .iter()
            .map(|(&id, entry)| {
                let prefixes_received = self
                    .rib
                    .counters(id)
                    .map(|c| c.paths.iter().map(|(_, n)| *n).sum())
                    .unwrap_or(0);
                let member = self.adj_out.member_stats(id);
                let negotiated = match entry.state {
                    NeighborState::Established => {
                        entry.info.as_ref().map(|i| (*i.negotiated).clone())
                    }
                    NeighborState::Down => None,
                };
                NeighborStatus {
                    id,
                    address: entry.handle.address(),
                    peer_as: negotiated.as_ref().map(|n| n.peer_as).or(
                        match entry.options.peer_as {
                            bgp_proto::session::PeerAs::Exact(asn) => Some(asn),
                            _ => None,
                        },
                    ),
                    state: entry.state.clone(),
                    since: entry.since.elapsed(),
                    negotiated,
                    last_error: entry.last_error.clone(),
                    prefixes_received,
                    updates_received: entry.updates_received,
                    prefixes_sent: member
                        .as_ref()
                        .and_then(|m| m.routes_advertised)
                        .map(|n| n as u64),
                    updates_sent: member.as_ref().map(|m| m.messages),
                    out_queue_bytes: entry.outbox.queued_bytes(),
                    out_queue_age: entry.outbox.oldest_unwritten(),
                    dynamic: entry.dynamic.is_some(),
                    counters: self.rib.counters(id).cloned().unwrap_or_default(),
                }
            })
            .collect();
        list.sort_by_key(|n| n.address);
        list
    }

    fn routes(&self, family: AfiSafi, prefix: Option<IpNetwork>) -> Vec<RouteStatus> {
        let address_of = |peer: PeerId| self.peers.get(&peer).map(|e| e.handle.address());
        let status = |prefix: IpNetwork, paths: &[crate::types::Path]| RouteStatus {
            family,
            prefix,
            paths: paths
                .iter()
                .map(|p| (p.clone(), address_of(p.peer)))
                .collect(),
        };
        match prefix {
            Some(prefix) => {
                let paths = self.rib.paths(family, prefix);
                if paths.is_empty() {
                    Vec::new()
                } else {
                    vec![status(prefix, paths)]
                }
            }
            None => self
                .rib
                .iter_family(family)
                .map(|(prefix, paths)| status(prefix, paths))
                .collect(),
        }
    }

    async fn shutdown(&mut self, message: &str) {
        let peers: Vec<PeerEntry> = self.peers.drain().map(|(_, entry)| entry).collect();
        for entry in &peers {
            let _ = entry.handle.send(PeerCommand::Stop {
                subcode: cease::ADMINISTRATIVE_SHUTDOWN,
                message: message.to_string(),
            });
        }
        let joins = peers.into_iter().map(|entry| entry.handle.join());
        let _ = tokio::time::timeout(Duration::from_secs(3), futures_join_all(joins)).await;
    }
}

/// Wait for every future (a tiny join-all, to avoid a dependency).
async fn futures_join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    for future in futures {
        future.await;
    }
}

/// Our next-hop-self addresses on a session: the session's own address,
/// and one of the other IP version from the options or the interface.
fn self_addresses(local: IpAddr, options: &PeerOptions) -> LocalAddresses {
    let mut addresses = LocalAddresses::from(local);
    let needs_lookup = (addresses.v4.is_none() && options.next_hop_self_v4.is_none())
        || (addresses.v6.is_none() && options.next_hop_self_v6.is_none());
    let (found_v4, found_v6) = if needs_lookup {
        crate::net::addresses::interface_addresses(local)
    } else {
        (None, None)
    };
    addresses.v4 = addresses.v4.or(options.next_hop_self_v4).or(found_v4);
    addresses.v6 = addresses.v6.or(options.next_hop_self_v6).or(found_v6);
    addresses
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
        None => std::future::pending().await,
    }
}

/// A short description of why a session went down, for the status API.
fn describe(reason: &DownReason) -> String {
    match reason {
        DownReason::Stopped(n) => format!("stopped: {}", n),
        DownReason::NotificationSent(n) => format!("sent {}", n),
        DownReason::NotificationReceived(n) => format!("received {}", n),
        DownReason::ConnectionLost => "connection lost".into(),
        DownReason::ConnectRetry => "connect retry".into(),
    }
}
