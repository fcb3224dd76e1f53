//! The agent's tasks: the kernel reader, and the loop that joins the
//! reader's batches, the speaker's events and the writer.

use std::future::pending;

use bgp_proto::iana::AfiSafi;
use bgp_speaker::speaker::{SpeakerEvent, SpeakerHandle};
use ipnetwork::IpNetwork;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::config::AgentConfig;
use super::routes::{self, Export, Exports};
use super::{AgentError, AgentStatus};
use crate::kernel::reader::{Batch, ReaderError, ReaderStats, RouteReader};
use crate::kernel::writer::RouteWriter;

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
    status: watch::Sender<AgentStatus>,
    reader_stats: ReaderStats,
    synced: bool,
}

impl Running {
    pub(crate) fn new(
        config: AgentConfig,
        speaker: SpeakerHandle,
        writer: RouteWriter,
        status: watch::Sender<AgentStatus>,
    ) -> Self {
        Running {
            config,
            speaker,
            writer,
            exports: Exports::default(),
            status,
            reader_stats: ReaderStats::default(),
            synced: false,
        }
    }

    pub(crate) async fn run(
        mut self,
        mut batches: mpsc::Receiver<ReaderItem>,
        mut events: broadcast::Receiver<SpeakerEvent>,
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
                item = batches.recv() => match item {
                    Some(Ok((batch, stats))) => {
                        self.reader_stats = stats;
                        self.kernel_batch(batch).await;
                    }
                    Some(Err(e)) => break Err(AgentError::Reader(e)),
                    None => break Err(AgentError::Task("the kernel reader stopped".into())),
                },
                event = events.recv() => match event {
                    Ok(event) => self.speaker_event(event).await,
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

    async fn kernel_batch(&mut self, batch: Batch) {
        for change in &batch.changes {
            if let Err(e) = self.writer.observe(change).await {
                tracing::error!(error = %e, "installing after a kernel change");
            }
            match self.exports.apply(&self.config.export, change) {
                Some(Export::Originate(prefix)) => self.originate(prefix).await,
                Some(Export::Withdraw(prefix)) => {
                    let _ = self
                        .speaker
                        .withdraw(routes::family_of(prefix), prefix)
                        .await;
                }
                None => {}
            }
        }
        if !self.synced {
            self.synced = true;
            tracing::info!(
                exported = self.exports.len(),
                "initial kernel routes advertised"
            );
        }
    }

    async fn originate(&mut self, prefix: IpNetwork) {
        match routes::origination(&self.config, prefix) {
            Some(attrs) => {
                let _ = self
                    .speaker
                    .originate(routes::family_of(prefix), prefix, attrs)
                    .await;
            }
            None => {
                tracing::warn!(%prefix, "the node has no address of this family: not advertised")
            }
        }
    }

    async fn speaker_event(&mut self, event: SpeakerEvent) {
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
                self.install(prefix, &gateways).await;
            }
            SpeakerEvent::PeerUp { address, .. } => {
                tracing::info!(%address, "reflector session up")
            }
            SpeakerEvent::PeerDown {
                address, graceful, ..
            } => tracing::warn!(%address, graceful, "reflector session down"),
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
        let prefixes: Vec<IpNetwork> = self.exports.prefixes().copied().collect();
        for prefix in prefixes {
            let _ = self
                .speaker
                .withdraw(routes::family_of(prefix), prefix)
                .await;
        }
        self.speaker.shutdown("node agent stopping").await;
        match self.writer.stop().await {
            Ok(removed) => tracing::info!(removed, "node agent stopped"),
            Err(e) => tracing::error!(error = %e, "removing installed routes"),
        }
        self.publish();
    }
}
