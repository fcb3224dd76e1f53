//! The speaker: peers, RIB and update groups wired together, and the
//! [`SpeakerHandle`] through which a daemon drives and observes it.
//!
//! One core task owns the [`crate::rib::Rib`] and the [`crate::adj_out::AdjOut`]
//! (no shared routing state, no locks). Peer tasks send it
//! [`crate::events::PeerEvent`]s; it takes them in batches, applies every
//! UPDATE of the batch to the RIB, hands the resulting changes to the update
//! groups, and flushes them once per batch, so a burst of UPDATEs becomes a
//! few large encodings written to every member.
//!
//! [`hops`] timestamps each hop of a route through the peer tasks and the
//! core (and through a node agent built on the speaker) when
//! `REFLEX_TRACE_HOPS` is set, for finding where the latency of one change
//! goes; it costs one atomic load per hop otherwise.
//!
//! # Example
//! ```no_run
//! # async fn demo() -> Result<(), bgp_speaker::speaker::SpeakerError> {
//! use std::net::Ipv4Addr;
//! use bgp_proto::session::PeerAs;
//! use bgp_speaker::config::{PeerConfig, PeerOptions, SpeakerConfig};
//! use bgp_speaker::speaker::Speaker;
//!
//! let mut config = SpeakerConfig::new(64512, Ipv4Addr::new(192, 0, 2, 1));
//! config.listen = vec!["127.0.0.1:0".parse().unwrap()];
//! let speaker = Speaker::start(config).await?;
//! speaker
//!     .add_peer(PeerConfig {
//!         address: "127.0.0.2".parse().unwrap(),
//!         options: PeerOptions::new(PeerAs::Exact(64512)),
//!     })
//!     .await?;
//! for neighbor in speaker.neighbors().await? {
//!     println!("{} {:?}", neighbor.address, neighbor.state);
//! }
//! speaker.shutdown("maintenance").await;
//! # Ok(()) }
//! ```

mod core;
pub mod hops;
mod status;

pub use status::{NeighborState, NeighborStatus, RouteStatus, SpeakerEvent};

use ipnetwork::IpNetwork;
use std::net::{IpAddr, SocketAddr};
use tokio::sync::{broadcast, mpsc, oneshot};

use bgp_proto::iana::AfiSafi;

use crate::adj_out::GroupStats;
use crate::attrs::PathAttrs;
use crate::config::{PeerConfig, SpeakerConfig};
use crate::net::{Listener, SocketError};
use crate::rib::Explanation;
use crate::types::PeerId;

/// Why the speaker could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum SpeakerError {
    /// The listening sockets could not be opened.
    #[error("cannot listen: {0}")]
    Listen(#[from] SocketError),
    /// A peer with this address is configured already.
    #[error("peer {0} is already configured")]
    DuplicatePeer(IpAddr),
    /// No peer has this address.
    #[error("no peer {0}")]
    UnknownPeer(IpAddr),
    /// A TCP MD5 key could not be installed on the listener.
    #[error("cannot set the MD5 key for {peer}: {source}")]
    Md5 {
        /// The peer.
        peer: IpAddr,
        /// Why.
        source: SocketError,
    },
    /// A TCP MD5 key for a dynamic-neighbour range could not be installed
    /// on the listener.
    #[error("cannot set the MD5 key for the dynamic range {range}: {source}")]
    Md5Range {
        /// The range.
        range: IpNetwork,
        /// Why.
        source: SocketError,
    },
    /// The speaker has stopped.
    #[error("the speaker has stopped")]
    Stopped,
}

/// Starts speakers.
#[derive(Debug)]
pub struct Speaker;

impl Speaker {
    /// Bind the listening addresses, start the core task and one task per
    /// configured peer. Must be called inside a tokio runtime.
    pub async fn start(config: SpeakerConfig) -> Result<SpeakerHandle, SpeakerError> {
        let listener = if config.listen.is_empty() {
            None
        } else {
            Some(Listener::bind(&config.listen)?)
        };
        if let Some(listener) = &listener {
            // RFC 2385: the key must be on the listener before a peer's
            // first SYN, so a dynamic range's password is installed for
            // the whole prefix (TCP_MD5SIG_EXT) up front.
            for range in &config.dynamic_neighbors {
                if let Some(password) = &range.template.md5_password {
                    listener
                        .set_md5_prefix(range.prefix, Some(password))
                        .map_err(|source| SpeakerError::Md5Range {
                            range: range.prefix,
                            source,
                        })?;
                }
            }
        }
        let local_addrs = listener
            .as_ref()
            .map(|l| l.local_addrs().to_vec())
            .unwrap_or_default();
        let (commands, command_rx) = mpsc::channel(256);
        let (events, _) = broadcast::channel(4096);
        let handle = SpeakerHandle {
            commands,
            events: events.clone(),
            local_addrs,
        };
        let peers = config.peers.clone();
        let core = core::Core::new(config, listener, events);
        tokio::spawn(core.run(command_rx));
        for peer in peers {
            handle.add_peer(peer).await?;
        }
        Ok(handle)
    }
}

/// Requests to the core task.
#[derive(Debug)]
pub(crate) enum Command {
    AddPeer(
        Box<PeerConfig>,
        oneshot::Sender<Result<PeerId, SpeakerError>>,
    ),
    RemovePeer(IpAddr, oneshot::Sender<Result<(), SpeakerError>>),
    Originate(AfiSafi, IpNetwork, PathAttrs),
    Withdraw(AfiSafi, IpNetwork),
    /// Many prefixes with the same attributes, in one message.
    OriginateMany(AfiSafi, Vec<IpNetwork>, PathAttrs),
    WithdrawMany(AfiSafi, Vec<IpNetwork>),
    Neighbors(oneshot::Sender<Vec<NeighborStatus>>),
    Routes(
        AfiSafi,
        Option<IpNetwork>,
        oneshot::Sender<Vec<RouteStatus>>,
    ),
    Explain(AfiSafi, IpNetwork, oneshot::Sender<Explanation>),
    Groups(oneshot::Sender<Vec<GroupStats>>),
    RouteRefresh(IpAddr, AfiSafi),
    Shutdown(String, oneshot::Sender<()>),
}

/// The daemon's handle on a running speaker. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SpeakerHandle {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<SpeakerEvent>,
    local_addrs: Vec<SocketAddr>,
}

impl SpeakerHandle {
    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, SpeakerError> {
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .await
            .map_err(|_| SpeakerError::Stopped)?;
        rx.await.map_err(|_| SpeakerError::Stopped)
    }

    async fn tell(&self, command: Command) -> Result<(), SpeakerError> {
        self.commands
            .send(command)
            .await
            .map_err(|_| SpeakerError::Stopped)
    }

    /// The addresses the listener is bound to (with the real port when
    /// port 0 was asked for).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// Start a session with a new peer.
    pub async fn add_peer(&self, peer: PeerConfig) -> Result<PeerId, SpeakerError> {
        self.ask(|tx| Command::AddPeer(Box::new(peer), tx)).await?
    }

    /// Stop the session with a peer (Cease / Peer De-configured) and forget it.
    pub async fn remove_peer(&self, address: IpAddr) -> Result<(), SpeakerError> {
        self.ask(|tx| Command::RemovePeer(address, tx)).await?
    }

    /// Originate a route (as [`PeerId::LOCAL`]).
    pub async fn originate(
        &self,
        family: AfiSafi,
        prefix: IpNetwork,
        attrs: PathAttrs,
    ) -> Result<(), SpeakerError> {
        self.tell(Command::Originate(family, prefix, attrs)).await
    }

    /// Withdraw a route this speaker originated.
    pub async fn withdraw(&self, family: AfiSafi, prefix: IpNetwork) -> Result<(), SpeakerError> {
        self.tell(Command::Withdraw(family, prefix)).await
    }

    /// Originate many routes of one family with the same attributes in one
    /// command (one channel message, one allocation for the list): a node
    /// agent's burst of kernel routes. They leave in the same flush, as
    /// if each had been given to [`SpeakerHandle::originate`]; keep lists
    /// to a few thousand prefixes so a burst is sent in chunks.
    pub async fn originate_many(
        &self,
        family: AfiSafi,
        prefixes: Vec<IpNetwork>,
        attrs: PathAttrs,
    ) -> Result<(), SpeakerError> {
        if prefixes.is_empty() {
            return Ok(());
        }
        self.tell(Command::OriginateMany(family, prefixes, attrs))
            .await
    }

    /// Withdraw many routes this speaker originated, in one command (see
    /// [`SpeakerHandle::originate_many`]).
    pub async fn withdraw_many(
        &self,
        family: AfiSafi,
        prefixes: Vec<IpNetwork>,
    ) -> Result<(), SpeakerError> {
        if prefixes.is_empty() {
            return Ok(());
        }
        self.tell(Command::WithdrawMany(family, prefixes)).await
    }

    /// Ask a peer to send its routes of `family` again (RFC 2918).
    pub async fn route_refresh(
        &self,
        address: IpAddr,
        family: AfiSafi,
    ) -> Result<(), SpeakerError> {
        self.tell(Command::RouteRefresh(address, family)).await
    }

    /// Every peer and its session.
    pub async fn neighbors(&self) -> Result<Vec<NeighborStatus>, SpeakerError> {
        self.ask(Command::Neighbors).await
    }

    /// Routes of `family` in the Loc-RIB: all of them, or those of one prefix.
    pub async fn routes(
        &self,
        family: AfiSafi,
        prefix: Option<IpNetwork>,
    ) -> Result<Vec<RouteStatus>, SpeakerError> {
        self.ask(|tx| Command::Routes(family, prefix, tx)).await
    }

    /// Why the best path of `prefix` won.
    pub async fn explain(
        &self,
        family: AfiSafi,
        prefix: IpNetwork,
    ) -> Result<Explanation, SpeakerError> {
        self.ask(|tx| Command::Explain(family, prefix, tx)).await
    }

    /// The update groups and their counters.
    pub async fn groups(&self) -> Result<Vec<GroupStats>, SpeakerError> {
        self.ask(Command::Groups).await
    }

    /// Session and route events from now on. A receiver that falls behind
    /// gets `RecvError::Lagged` and should re-read [`SpeakerHandle::routes`].
    pub fn subscribe(&self) -> broadcast::Receiver<SpeakerEvent> {
        self.events.subscribe()
    }

    /// Close every session with Cease / Administrative Shutdown and
    /// `message` (RFC 9003), then stop.
    pub async fn shutdown(&self, message: &str) {
        let _ = self
            .ask(|tx| Command::Shutdown(message.to_string(), tx))
            .await;
    }
}
