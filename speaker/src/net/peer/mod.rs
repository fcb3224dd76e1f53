//! The peer task: one tokio task per peer runs the
//! [`bgp_proto::session::Session`] state machine over TCP.
//!
//! [`spawn_peer`] starts it and returns a [`PeerHandle`] for
//! [`PeerCommand`]s; the task reports [`PeerEvent`]s on the core's channel
//! and writes the UPDATEs that update groups put in the peer's
//! [`Outbox`]. What it does, by the state machine's outputs:
//!
//! - `Connect`: open a connection ([`crate::net::connector::connect`]) with
//!   the peer's MD5, GTSM and local-address options, within the connect
//!   retry time;
//! - `Transmit`: queue the message; messages of the state machine go out
//!   before outbox UPDATEs, and no chunk is ever interleaved with another;
//! - `Disconnect`: write what the state machine queued (a NOTIFICATION)
//!   best effort and close, without holding up the task;
//! - events: `Established`, `Update`, `RouteRefresh` and `Down` become
//!   [`PeerEvent`]s. The outbox is cleared when a session comes up or goes
//!   down. A full event channel, or an UPDATE that finds the decoded
//!   backlog full ([`crate::backlog`]), stops the task reading its socket
//!   (timers and writes go on), so TCP flow control pushes back on the peer.
//!
//! A write that finds the socket's send buffer full starts the Send Hold
//! Timer (RFC 9687 section 3); one that makes progress stops it. Written
//! outbox bytes restart the KeepaliveTimer (RFC 4271 section 4.4) and are
//! reported to [`Outbox::written`]; a drained lagging outbox becomes
//! [`PeerEvent::Drained`].
//!
//! Connections the listener accepted arrive as [`PeerCommand::Accepted`]:
//! used at once in Connect or Active (dropping our own attempt), refused in
//! Idle, resolved as a collision (RFC 4271 section 6.8) in OpenSent and
//! OpenConfirm, and closed with Cease / Connection Collision Resolution in
//! Established, unless graceful restart is negotiated and the new
//! connection's OPEN announces it too: the peer restarted, and the new
//! session replaces the old one (RFC 4724 section 4.2).
//!
//! # Layout
//! - this file: [`PeerParams`], [`spawn_peer`], [`PeerHandle`];
//! - `options`: [`session_config`] and [`capabilities`] from [`PeerOptions`];
//! - `task`: the task's loop;
//! - `conn`: one connection, its reads and prioritised writes;
//! - `collision`: which connection survives a collision;
//! - `report`: [`crate::types::PeerInfo`] and the graceful-restart verdict.

mod collision;
mod conn;
mod options;
mod report;
mod task;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::backlog::RouteBacklog;
use crate::config::PeerOptions;
use crate::events::{PeerCommand, PeerEvent};
use crate::outbox::Outbox;
use crate::types::PeerId;

pub use options::{capabilities, session_config};

/// Everything a peer task starts with.
#[derive(Debug)]
pub struct PeerParams {
    /// The peer's handle in the speaker.
    pub id: PeerId,
    /// The peer's address (its port is [`PeerOptions::port`]).
    pub address: IpAddr,
    /// The peer's options.
    pub options: PeerOptions,
    /// The speaker's AS (unless [`PeerOptions::local_as`] overrides it).
    pub local_as: u32,
    /// The speaker's BGP Identifier.
    pub router_id: Ipv4Addr,
    /// The speaker's cluster ID (unless [`PeerOptions::cluster_id`]
    /// overrides it), reported in [`crate::types::PeerInfo`].
    pub cluster_id: Ipv4Addr,
    /// Where the update groups put this peer's UPDATEs.
    pub outbox: Arc<Outbox>,
    /// The core's event channel.
    pub events: mpsc::Sender<PeerEvent>,
    /// The bound on decoded prefixes not yet applied, shared with the
    /// speaker's other peers (by default one of this peer's own).
    pub backlog: RouteBacklog,
    /// Send Hold Time (RFC 9687) if not the default of 8 minutes or twice
    /// the hold time.
    pub send_hold_time: Option<Duration>,
}

impl PeerParams {
    /// Parameters with the default send hold time.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: PeerId,
        address: IpAddr,
        options: PeerOptions,
        local_as: u32,
        router_id: Ipv4Addr,
        cluster_id: Ipv4Addr,
        outbox: Arc<Outbox>,
        events: mpsc::Sender<PeerEvent>,
    ) -> Self {
        PeerParams {
            id,
            address,
            options,
            local_as,
            router_id,
            cluster_id,
            outbox,
            events,
            backlog: RouteBacklog::default(),
            send_hold_time: None,
        }
    }
}

/// The peer task has ended; the command comes back.
#[derive(Debug, thiserror::Error)]
#[error("the task of {peer} has ended")]
pub struct PeerGone {
    /// Which peer.
    pub peer: PeerId,
    /// The command that was not delivered.
    pub command: PeerCommand,
}

/// The core's side of a peer task.
///
/// Dropping the handle (and every sender from [`PeerHandle::commands`])
/// stops the session with Cease / Peer De-configured (RFC 4486) and ends
/// the task.
#[derive(Debug)]
pub struct PeerHandle {
    id: PeerId,
    address: IpAddr,
    commands: mpsc::UnboundedSender<PeerCommand>,
    task: JoinHandle<()>,
}

impl PeerHandle {
    /// The peer's handle in the speaker.
    pub fn id(&self) -> PeerId {
        self.id
    }

    /// The peer's address.
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// Send a command.
    pub fn send(&self, command: PeerCommand) -> Result<(), PeerGone> {
        self.commands.send(command).map_err(|e| PeerGone {
            peer: self.id,
            command: e.0,
        })
    }

    /// Hand over a connection the listener accepted from the peer.
    pub fn accept(&self, stream: TcpStream, remote: SocketAddr) -> Result<(), PeerGone> {
        self.send(PeerCommand::Accepted(stream, remote))
    }

    /// Another sender of commands (for a listener's routing task, say).
    pub fn commands(&self) -> mpsc::UnboundedSender<PeerCommand> {
        self.commands.clone()
    }

    /// Has the task ended?
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Kill the task at once: its connection is dropped without a
    /// NOTIFICATION and no further event is sent (as if the process died).
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Stop the session (if no [`PeerCommand::Stop`] was sent, with Cease /
    /// Peer De-configured, once every other command sender is gone too)
    /// and wait for the task to end.
    pub async fn join(self) {
        let PeerHandle { commands, task, .. } = self;
        drop(commands);
        let _ = task.await;
    }
}

/// Start the task of one peer. It starts the session at once (RFC 4271
/// ManualStart, or the passive variant) and restarts it after failures.
pub fn spawn_peer(params: PeerParams) -> PeerHandle {
    let (commands, receiver) = mpsc::unbounded_channel();
    let id = params.id;
    let address = params.address;
    let span = tracing::info_span!("peer", peer = %id, address = %address);
    let task = tokio::spawn(task::PeerTask::new(params, receiver).run().instrument(span));
    PeerHandle {
        id,
        address,
        commands,
        task,
    }
}
