//! The agent's tasks: the kernel reader, and the loop that joins the
//! reader's batches, the speaker's events and the writer.

use std::collections::HashSet;
use std::future::pending;

use bgp_proto::iana::AfiSafi;
use bgp_speaker::speaker::{SpeakerEvent, SpeakerHandle, hops};
use ipnetwork::IpNetwork;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::announce;
use super::config::{AgentConfig, ConfigError};
use super::reconfig::{self, Reconfigured};
use super::routes::{self, Export, Exports};
use super::{
    Advertised, AgentError, AgentStatus, Control, InstalledEntry, InstalledRoutes, KernelEntry,
};
use crate::blocks::{self, AffineBlocks};
use crate::kernel::reader::{
    Batch, ReaderError, ReaderStats, RouteReader, SharedRoutes, read_routes,
};
use crate::kernel::writer::RouteWriter;

/// The most speaker events whose routes are written together.
const EVENT_BATCH: usize = 1024;

/// What the reader task hands over.
pub(crate) type ReaderItem = Result<(Batch, ReaderStats), ReaderError>;

/// Read batches until the agent goes away or reading fails.
pub(crate) async fn read_kernel(mut reader: RouteReader, batches: mpsc::Sender<ReaderItem>) {
    loop {
        let item = reader
            .next_batch()
            .await
            .map(|batch| (batch, reader.stats()));
        let failed = item.is_err();
        if batches.send(item).await.is_err() || failed {
            return;
        }
    }
}

/// The agent loop's state.
pub(crate) struct Running {
    config: AgentConfig,
    speaker: SpeakerHandle,
    writer: RouteWriter,
    exports: Exports,
    /// Every kernel route as last read (selected or not), so that a new
    /// selection can be applied without a dump: the reader's own table,
    /// shared (it may be a few batches ahead of those applied here, which
    /// [`Exports`] absorbs: a route counted twice or removed twice is
    /// one change).
    kernel: SharedRoutes,
    status: watch::Sender<AgentStatus>,
    reader_stats: ReaderStats,
    synced: bool,
    /// Learned routes to write, collected from a run of speaker events.
    installs: Vec<(IpNetwork, Vec<std::net::IpAddr>)>,
    /// The node's affine blocks (routing by block; empty: off).
    blocks: AffineBlocks,
}

impl Running {
    pub(crate) fn new(
        config: AgentConfig,
        speaker: SpeakerHandle,
        writer: RouteWriter,
        kernel: SharedRoutes,
        status: watch::Sender<AgentStatus>,
    ) -> Self {
        Running {
            config,
            speaker,
            writer,
            exports: Exports::default(),
            kernel,
            status,
            reader_stats: ReaderStats::default(),
            synced: false,
            installs: Vec::new(),
            blocks: AffineBlocks::default(),
        }
    }

    pub(crate) async fn run(
        mut self,
        mut batches: mpsc::Receiver<ReaderItem>,
        mut events: broadcast::Receiver<SpeakerEvent>,
        mut control: mpsc::Receiver<Control>,
        mut stop: oneshot::Receiver<()>,
    ) -> Result<(), AgentError> {
        tracing::info!(node = %self.config.node_name, "node agent running");
        let result = loop {
            let deadline = self.writer.reconcile_deadline();
            let reconcile = async move {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => pending().await,
                }
            };
            tokio::select! {
                _ = &mut stop => break Ok(()),
                Some(request) = control.recv() => self.control(request).await,
                item = batches.recv() => match item {
                    Some(Ok((batch, stats))) => {
                        self.reader_stats = stats;
                        self.kernel_batch(batch).await;
                    }
                    Some(Err(e)) => break Err(AgentError::Reader(e)),
                    None => break Err(AgentError::Task("the kernel reader stopped".into())),
                },
                event = events.recv() => match event {
                    Ok(event) => {
                        if let Some(missed) = self.speaker_events(event, &mut events).await {
                            tracing::warn!(missed, "speaker events missed: re-reading the Loc-RIB");
                            events = events.resubscribe();
                            self.reread_rib().await;
                        }
                    }
                    Err(RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "speaker events missed: re-reading the Loc-RIB");
                        // The events still queued are older than the
                        // listing: skip them; those from now on are applied
                        // after it, in order, so the latest state wins.
                        events = events.resubscribe();
                        self.reread_rib().await;
                    }
                    Err(RecvError::Closed) => break Err(AgentError::Task("the speaker stopped".into())),
                },
                _ = reconcile => {
                    if let Err(e) = self.writer.finish_reconcile().await {
                        tracing::error!(error = %e, "removing routes of the previous run");
                    }
                }
            }
            self.publish();
        };
        self.shut_down().await;
        result
    }

    /// Apply a reader batch: the writer's picture of other protocols, the
    /// export selection, then one speaker command per run of exports
    /// ([`announce`]). The batch's routes are moved into the agent's copy
    /// of the kernel, not cloned.
    async fn kernel_batch(&mut self, batch: Batch) {
        hops::mark("agent.batch", batch.changes.len() as u64);
        let mut exports = Vec::new();
        for change in batch.changes {
            if let Err(e) = self.writer.observe(&change).await {
                tracing::error!(error = %e, "installing after a kernel change");
            }
            if let Some(export) = self.exports.apply_config(&self.config, &change) {
                // Inside an affine block (or the block itself): the
                // block's advertisement stands for it.
                let prefix = announce::prefix_of(export);
                if !self.blocks.contains(prefix) && self.blocks.covering(prefix).is_none() {
                    exports.push(export);
                }
            }
        }
        announce::send(&self.speaker, &self.config, &exports).await;
        hops::mark("agent.sent", exports.len() as u64);
        if !self.synced {
            self.synced = true;
            tracing::info!(
                exported = self.exports.len(),
                "initial kernel routes advertised"
            );
        }
    }

    /// Note what a speaker event asks of the kernel; the installs are
    /// written together by [`Running::flush_installs`].
    fn speaker_event(&mut self, event: SpeakerEvent) {
        match event {
            SpeakerEvent::BestChanged {
                family,
                prefix,
                best,
                multipath,
            } => {
                if family != AfiSafi::IPV4_UNICAST && family != AfiSafi::IPV6_UNICAST {
                    return;
                }
                let gateways = routes::gateways(&self.config, best.as_ref(), &multipath);
                self.installs.push((prefix, gateways));
            }
            SpeakerEvent::PeerUp { address, .. } => {
                tracing::info!(%address, "reflector session up")
            }
            SpeakerEvent::PeerDown {
                address, graceful, ..
            } => tracing::warn!(%address, graceful, "reflector session down"),
        }
    }

    /// Take `first` and the events already queued behind it (up to
    /// [`EVENT_BATCH`]), then write their routes with requests in flight
    /// together ([`RouteWriter::set_many`]). Returns the events that
    /// were missed, if the receiver lagged.
    async fn speaker_events(
        &mut self,
        first: SpeakerEvent,
        events: &mut broadcast::Receiver<SpeakerEvent>,
    ) -> Option<u64> {
        hops::mark("agent.event", 0);
        self.speaker_event(first);
        let mut lagged = None;
        for _ in 1..EVENT_BATCH {
            match events.try_recv() {
                Ok(event) => self.speaker_event(event),
                Err(TryRecvError::Lagged(missed)) => {
                    lagged = Some(missed);
                    break;
                }
                Err(_) => break,
            }
        }
        self.flush_installs().await;
        lagged
    }

    async fn flush_installs(&mut self) {
        let installs = std::mem::take(&mut self.installs);
        if installs.is_empty() {
            return;
        }
        hops::mark("writer.send", installs.len() as u64);
        let results = self.writer.set_many(installs).await;
        hops::mark("writer.acked", results.len() as u64);
        for (prefix, result) in results {
            match result {
                Ok(outcome) => tracing::debug!(%prefix, ?outcome, "kernel route"),
                Err(e) => tracing::error!(error = %e, "installing a learned route"),
            }
        }
    }

    async fn install(&mut self, prefix: IpNetwork, gateways: &[std::net::IpAddr]) {
        let result = if gateways.is_empty() {
            self.writer.remove(prefix).await
        } else {
            self.writer.set(prefix, gateways).await
        };
        match result {
            Ok(outcome) => tracing::debug!(%prefix, ?gateways, ?outcome, "kernel route"),
            Err(e) => tracing::error!(error = %e, ?gateways, "installing a learned route"),
        }
    }

    /// After missed events: install every best path of the Loc-RIB anew
    /// (equal-cost sets are not in the listing: best paths only) and
    /// remove what is no longer there.
    async fn reread_rib(&mut self) {
        let mut seen = std::collections::HashSet::new();
        for family in [AfiSafi::IPV4_UNICAST, AfiSafi::IPV6_UNICAST] {
            let Ok(listing) = self.speaker.routes(family, None).await else {
                return;
            };
            for route in listing {
                let best = route.paths.first().map(|(path, _)| path.clone());
                let gateways = routes::gateways(&self.config, best.as_ref(), &[]);
                if !gateways.is_empty() {
                    seen.insert(route.prefix);
                }
                self.install(route.prefix, &gateways).await;
            }
        }
        let gone: Vec<IpNetwork> = self
            .writer
            .installed()
            .keys()
            .filter(|p| !seen.contains(p))
            .copied()
            .collect();
        for prefix in gone {
            self.install(prefix, &[]).await;
        }
    }

    async fn control(&mut self, request: Control) {
        match request {
            Control::Kernel(reply) => {
                let _ = reply.send(self.kernel_entries());
            }
            Control::Installed(reply) => {
                let _ = reply.send(self.installed_routes());
            }
            Control::Advertised(reply) => {
                let mut counts = Advertised::default();
                for prefix in self.advertised() {
                    if routes::origination(&self.config, prefix).is_none() {
                        continue;
                    }
                    match prefix {
                        IpNetwork::V4(_) => counts.ipv4 += 1,
                        IpNetwork::V6(_) => counts.ipv6 += 1,
                    }
                }
                let _ = reply.send(counts);
            }
            Control::Config(reply) => {
                let _ = reply.send(self.config.clone());
            }
            Control::Reconfigure(config, reply) => {
                let _ = reply.send(self.reconfigure(*config).await);
            }
            Control::Blocks(new_blocks, reply) => {
                let selected: HashSet<IpNetwork> = self.exports.prefixes().copied().collect();
                let changes = blocks::set::transition(&self.blocks, &new_blocks, &selected);
                self.blocks = new_blocks;
                let (originated, withdrawn) =
                    announce::send(&self.speaker, &self.config, &changes).await;
                tracing::info!(
                    blocks = self.blocks.len(),
                    originated,
                    withdrawn,
                    "affine blocks applied"
                );
                let _ = reply.send(());
            }
        }
    }

    fn kernel_entries(&self) -> Vec<KernelEntry> {
        let mut entries: Vec<KernelEntry> = read_routes(&self.kernel)
            .values()
            .map(|route| {
                let verdict = self.config.export_verdict(route);
                let selected = self.exports.contains(route.key.prefix);
                let advertised = verdict.is_selected()
                    && self.blocks.advertises(route.key.prefix, selected)
                    && routes::origination(&self.config, route.key.prefix).is_some();
                KernelEntry {
                    route: route.clone(),
                    verdict,
                    advertised,
                }
            })
            .collect();
        entries.sort_by_key(|e| {
            let key = e.route.key;
            (
                key.table,
                key.prefix.is_ipv6(),
                key.prefix.network(),
                key.prefix.prefix(),
                key.metric,
                key.tos,
            )
        });
        entries
    }

    fn installed_routes(&self) -> InstalledRoutes {
        let installed = self.writer.installed();
        let wanted = self.writer.wanted();
        let mut prefixes: Vec<IpNetwork> = installed.keys().chain(wanted.keys()).copied().collect();
        prefixes.sort_by_key(|p| (p.is_ipv6(), p.network(), p.prefix()));
        prefixes.dedup();
        InstalledRoutes {
            placement: self.writer.config().placement,
            routes: prefixes
                .into_iter()
                .map(|prefix| InstalledEntry {
                    prefix,
                    installed: installed.get(&prefix).cloned(),
                    wanted: wanted.get(&prefix).cloned(),
                    stale: self.writer.is_stale(prefix),
                    foreign: self.writer.is_foreign(prefix),
                })
                .collect(),
        }
    }

    /// Apply a new configuration ([`reconfig`]).
    async fn reconfigure(&mut self, new: AgentConfig) -> Result<Reconfigured, ConfigError> {
        let plan = reconfig::plan(&self.config, &new)?;
        let mut done = Reconfigured {
            unchanged: plan.unchanged.len(),
            export_changed: plan.export_changed,
            restart_required: plan.restart_required.clone(),
            ..Reconfigured::default()
        };
        for setting in &plan.restart_required {
            tracing::warn!(%setting, "changed in the configuration; takes effect after a restart");
        }
        let old = std::mem::replace(&mut self.config, plan.config);
        for address in &plan.removed {
            tracing::info!(%address, "reflector removed");
            let _ = self.speaker.remove_peer(*address).await;
            done.removed.push(*address);
        }
        let restarting = self.writer.reconcile_deadline().is_some();
        let peers = self.config.reflector_peers(restarting);
        let resets = plan.reset.iter().map(|r| (r.address, true));
        let adds = plan.added.iter().map(|a| (*a, false));
        for (address, reset) in resets.chain(adds) {
            let Some(peer) = peers.iter().find(|p| p.address == address) else {
                continue;
            };
            if reset {
                tracing::info!(%address, "reflector changed: resetting its session");
                let _ = self.speaker.remove_peer(address).await;
            } else {
                tracing::info!(%address, "reflector added");
            }
            match self.speaker.add_peer(peer.clone()).await {
                Ok(_) if reset => {}
                Ok(_) => done.added.push(address),
                Err(error) => {
                    tracing::error!(%address, %error, "cannot configure reflector");
                    done.failed.push((address, error.to_string()));
                    self.config.reflectors.retain(|r| r.address != address);
                }
            }
        }
        done.reset = plan
            .reset
            .into_iter()
            .filter(|r| !done.failed.iter().any(|(a, _)| *a == r.address))
            .collect();
        if plan.export_changed {
            let (originated, withdrawn) = self.reselect().await;
            done.originated = originated;
            done.withdrawn = withdrawn;
        }
        if plan.placement_changed {
            done.install_moved = self.move_installed(&old).await;
        } else if old.install.remove_on_stop != self.config.install.remove_on_stop {
            self.writer
                .set_remove_on_stop(self.config.install.remove_on_stop);
        }
        tracing::info!(
            added = done.added.len(),
            removed = done.removed.len(),
            reset = done.reset.len(),
            originated = done.originated,
            withdrawn = done.withdrawn,
            install_moved = done.install_moved,
            "configuration applied"
        );
        Ok(done)
    }

    /// Apply the (new) export selection to the kernel routes read so far.
    /// Returns how many prefixes were advertised and withdrawn.
    async fn reselect(&mut self) -> (usize, usize) {
        let mut exports = Exports::default();
        for route in read_routes(&self.kernel).values() {
            exports.add_config(&self.config, route);
        }
        let before: HashSet<IpNetwork> = self.advertised().collect();
        self.exports = exports;
        let after: HashSet<IpNetwork> = self.advertised().collect();
        let withdrawn = before.difference(&after).map(|p| Export::Withdraw(*p));
        let originated = after.difference(&before).map(|p| Export::Originate(*p));
        let changes: Vec<Export> = withdrawn.chain(originated).collect();
        let count = |originate: bool| {
            changes
                .iter()
                .filter(|e| matches!(e, Export::Originate(_)) == originate)
                .count()
        };
        let counts = (count(true), count(false));
        announce::send(&self.speaker, &self.config, &changes).await;
        counts
    }

    /// Move the installed routes to the new table or metric: delete them
    /// from the old place, open a writer on the new one, write them there.
    /// On failure the old writer takes them back.
    async fn move_installed(&mut self, old: &AgentConfig) -> bool {
        let wanted: Vec<(IpNetwork, Vec<std::net::IpAddr>)> = self
            .writer
            .wanted()
            .iter()
            .map(|(p, g)| (*p, g.clone()))
            .collect();
        if let Err(e) = self.writer.clear().await {
            tracing::error!(error = %e, "removing routes from their old table");
        }
        let moved = match RouteWriter::open(self.config.install).await {
            Ok(writer) => {
                self.writer = writer;
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot open the new table: routes stay where they were");
                self.config.install = old.install;
                false
            }
        };
        for (prefix, gateways) in wanted {
            self.install(prefix, &gateways).await;
        }
        moved
    }

    /// Every prefix advertised: the affine blocks, and the selected
    /// prefixes no block covers ([`crate::blocks::set`]).
    fn advertised(&self) -> impl Iterator<Item = IpNetwork> + '_ {
        let selected = self
            .exports
            .prefixes()
            .copied()
            .filter(|p| !self.blocks.contains(*p) && self.blocks.covering(*p).is_none());
        self.blocks.iter().chain(selected)
    }

    fn publish(&self) {
        let status = AgentStatus {
            synced: self.synced,
            exported: self.exports.len(),
            installed: self.writer.installed().len(),
            reader: self.reader_stats,
            writer: self.writer.stats(),
        };
        self.status.send_if_modified(|current| {
            let changed = *current != status;
            *current = status;
            changed
        });
    }

    async fn shut_down(&mut self) {
        let withdrawals: Vec<Export> = self.advertised().map(Export::Withdraw).collect();
        announce::send(&self.speaker, &self.config, &withdrawals).await;
        self.speaker.shutdown("node agent stopping").await;
        match self.writer.stop().await {
            Ok(removed) => tracing::info!(removed, "node agent stopped"),
            Err(e) => tracing::error!(error = %e, "removing installed routes"),
        }
        self.publish();
    }
}
