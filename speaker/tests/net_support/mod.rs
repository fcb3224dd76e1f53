//! Shared helpers of the `net_*` tests: in-process peers over loopback TCP,
//! and a hand-driven raw BGP client.
#![allow(dead_code)]

use bytes::{Bytes, BytesMut};
use ipnetwork::IpNetwork;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

use bgp_proto::attribute::{AsPath, MpNlri, MpReach, NextHop, Origin, PathAttribute};
use bgp_proto::capability::Capability;
use bgp_proto::iana::AfiSafi;
use bgp_proto::message::{Message, Open, Update};
use bgp_proto::session::PeerAs;
use bgp_proto::{CodecCtx, DecodeCtx, EncodeCtx, Nlri, decode_message, frame_len};
use bgp_speaker::backlog::RouteBacklog;
use bgp_speaker::config::PeerOptions;
use bgp_speaker::events::{PeerCommand, PeerEvent};
use bgp_speaker::net::{Listener, PeerHandle, PeerParams, spawn_peer};
use bgp_speaker::outbox::Outbox;
use bgp_speaker::{PeerId, PeerInfo};

/// How long a test waits for something that should happen.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// Log to the test output when `RUST_LOG` is set.
pub fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// Options with the short timers of the tests: hold 3 s, connect retry 1 s.
pub fn options(peer_as: u32, families: &[AfiSafi]) -> PeerOptions {
    let mut options = PeerOptions::new(PeerAs::Exact(peer_as));
    options.families = families.to_vec();
    options.hold_time = 3;
    options.connect_retry = Duration::from_secs(1);
    options.graceful_restart.enabled = false;
    options
}

/// One side of a session.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Our AS.
    pub local_as: u32,
    /// Our BGP Identifier.
    pub router_id: Ipv4Addr,
    /// Our loopback address.
    pub ip: IpAddr,
    /// Options towards the other side (port and passive are filled in).
    pub options: PeerOptions,
    /// Send Hold Time override.
    pub send_hold_time: Option<Duration>,
    /// The decoded backlog, if not the peer's own default one.
    pub backlog: Option<RouteBacklog>,
}

impl Spec {
    /// A side on `127.0.0.<n>` with identifier `10.0.0.<n>`.
    pub fn new(n: u8, local_as: u32, options: PeerOptions) -> Spec {
        Spec {
            local_as,
            router_id: Ipv4Addr::new(10, 0, 0, n),
            ip: IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)),
            options,
            send_hold_time: None,
            backlog: None,
        }
    }
}

/// A running peer task and what it talks to.
pub struct Node {
    /// The task.
    pub handle: PeerHandle,
    /// Its events.
    pub events: mpsc::Receiver<PeerEvent>,
    /// Its outbox.
    pub outbox: Arc<Outbox>,
    /// Its listener, if it has one.
    pub listener: Option<Arc<Listener>>,
}

/// Bind a listener on `ip`, port 0.
pub fn listen(ip: IpAddr) -> Arc<Listener> {
    Arc::new(Listener::bind(&[SocketAddr::new(ip, 0)]).expect("bind listener"))
}

/// The listener's port.
pub fn port(listener: &Listener) -> u16 {
    listener.local_addrs()[0].port()
}

/// Hand every connection `listener` accepts to `peer` (the core's job).
pub fn route(listener: Arc<Listener>, peer: mpsc::UnboundedSender<PeerCommand>) {
    let (tx, mut rx) = mpsc::channel(8);
    tokio::spawn(async move { listener.run(tx).await });
    tokio::spawn(async move {
        while let Some((stream, remote)) = rx.recv().await {
            if peer.send(PeerCommand::Accepted(stream, remote)).is_err() {
                return;
            }
        }
    });
}

/// Start the peer task of `spec` towards `peer` at `peer_port`.
pub fn spawn(
    spec: &Spec,
    id: u32,
    peer: IpAddr,
    peer_port: u16,
    listener: Option<Arc<Listener>>,
) -> Node {
    let (events_tx, events) = mpsc::channel(64);
    let outbox = Arc::new(Outbox::new());
    let mut options = spec.options.clone();
    options.port = peer_port;
    options.local_address = Some(spec.ip);
    let mut params = PeerParams::new(
        PeerId(id),
        peer,
        options,
        spec.local_as,
        spec.router_id,
        spec.router_id,
        outbox.clone(),
        events_tx,
    );
    params.send_hold_time = spec.send_hold_time;
    if let Some(backlog) = &spec.backlog {
        params.backlog = backlog.clone();
    }
    let handle = spawn_peer(params);
    if let Some(listener) = &listener {
        route(listener.clone(), handle.commands());
    }
    Node {
        handle,
        events,
        outbox,
        listener,
    }
}

/// `a` connects actively to `b`, which listens and is passive.
pub fn pair(a: &Spec, b: &Spec) -> (Node, Node) {
    let listener = listen(b.ip);
    let mut b_spec = b.clone();
    b_spec.options.passive = true;
    let b_node = spawn(&b_spec, 2, a.ip, 0, Some(listener.clone()));
    let a_node = spawn(a, 1, b.ip, port(&listener), None);
    (a_node, b_node)
}

/// The next event within `wait`, if any.
pub async fn next_event(
    events: &mut mpsc::Receiver<PeerEvent>,
    wait: Duration,
) -> Option<PeerEvent> {
    timeout(wait, events.recv()).await.ok().flatten()
}

/// Wait for Established, skipping failed attempts (Down before
/// Established); panics on anything else.
pub async fn established(node: &mut Node) -> (PeerInfo, IpAddr) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match next_event(&mut node.events, left).await {
            Some(PeerEvent::Established {
                info,
                local_address,
            }) => return (info, local_address),
            Some(PeerEvent::Down {
                was_established: false,
                ..
            }) => {}
            Some(other) => panic!("expected Established, got {other:?}"),
            None => panic!("no Established within {PATIENCE:?}"),
        }
    }
}

/// Wait for an UPDATE; panics on anything else.
pub async fn update(node: &mut Node) -> Update {
    match next_event(&mut node.events, PATIENCE).await {
        Some(PeerEvent::Update {
            update, findings, ..
        }) => {
            assert!(findings.iter().next().is_none(), "findings: {findings:?}");
            update
        }
        other => panic!("expected an UPDATE, got {other:?}"),
    }
}

/// Wait for Down; panics on anything else (except UPDATEs).
pub async fn down(node: &mut Node, wait: Duration) -> PeerEvent {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match next_event(&mut node.events, left).await {
            Some(event @ PeerEvent::Down { .. }) => return event,
            Some(PeerEvent::Update { .. } | PeerEvent::Drained { .. }) => {}
            other => panic!("expected Down, got {other:?}"),
        }
    }
}

/// An IPv4 unicast UPDATE announcing `prefixes` from `asn`.
pub fn ipv4_update(asn: u32, next_hop: Ipv4Addr, prefixes: &[Nlri]) -> Update {
    Update {
        withdrawn: Vec::new(),
        attributes: vec![
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::from_sequence(vec![asn])),
            PathAttribute::NextHop(next_hop),
        ],
        nlri: prefixes.to_vec(),
    }
}

/// An IPv6 unicast UPDATE (MP_REACH_NLRI) announcing `prefixes`.
pub fn ipv6_update(asn: u32, prefixes: &[Nlri]) -> Update {
    Update {
        withdrawn: Vec::new(),
        attributes: vec![
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::from_sequence(vec![asn])),
            PathAttribute::mp_reach(MpReach {
                afi_safi: AfiSafi::IPV6_UNICAST,
                next_hop: NextHop::V6 {
                    global: "2001:db8::1".parse().unwrap(),
                    link_local: None,
                },
                nlri: MpNlri::Prefixes(prefixes.to_vec()),
            }),
        ],
        nlri: Vec::new(),
    }
}

/// A prefix.
pub fn nlri(prefix: &str) -> Nlri {
    Nlri::new(prefix.parse::<IpNetwork>().unwrap())
}

/// Encode `update` for a session with `ctx`.
pub fn encode(update: &Update, ctx: &EncodeCtx) -> Bytes {
    Message::Update(update.clone())
        .to_bytes(ctx)
        .expect("encode UPDATE")
        .freeze()
}

/// A BGP speaker driven by hand over one TCP connection.
pub struct RawPeer {
    /// The connection.
    pub stream: TcpStream,
    buf: BytesMut,
    ctx: DecodeCtx,
}

impl RawPeer {
    /// Wrap a connected stream.
    pub fn new(stream: TcpStream) -> RawPeer {
        RawPeer {
            stream,
            buf: BytesMut::new(),
            ctx: CodecCtx::pre_open(),
        }
    }

    /// Connect to `addr`.
    pub async fn connect(addr: SocketAddr) -> RawPeer {
        RawPeer::new(TcpStream::connect(addr).await.expect("raw connect"))
    }

    /// Write one message.
    pub async fn send(&mut self, message: Message) {
        let bytes = message.to_bytes(&CodecCtx::pre_open()).expect("encode");
        self.stream.write_all(&bytes).await.expect("raw write");
    }

    /// The next message; `None` at end of stream, on a reset or after `wait`.
    pub async fn recv(&mut self, wait: Duration) -> Option<Message> {
        let deadline = Instant::now() + wait;
        loop {
            if let Ok(Some(len)) = frame_len(&self.buf, 65535) {
                if self.buf.len() >= len {
                    let raw = self.buf.split_to(len);
                    return Some(decode_message(&raw, &self.ctx).expect("decode").message);
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match timeout(left, self.stream.read_buf(&mut self.buf)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return None,
            }
        }
    }

    /// The next message other than KEEPALIVE.
    pub async fn recv_not_keepalive(&mut self, wait: Duration) -> Option<Message> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.recv(left).await {
                Some(Message::Keepalive) => {}
                other => return other,
            }
        }
    }

    /// OPEN with `capabilities` and `hold`, read the peer's OPEN and
    /// KEEPALIVE, send ours: the session is Established on the other side.
    pub async fn handshake(
        &mut self,
        asn: u32,
        id: Ipv4Addr,
        hold: u16,
        capabilities: Vec<Capability>,
    ) -> Open {
        self.send(Message::Open(Open::new(asn, hold, id, capabilities)))
            .await;
        let open = match self.recv(PATIENCE).await {
            Some(Message::Open(open)) => open,
            other => panic!("expected OPEN, got {other:?}"),
        };
        match self.recv(PATIENCE).await {
            Some(Message::Keepalive) => {}
            other => panic!("expected KEEPALIVE, got {other:?}"),
        }
        self.send(Message::Keepalive).await;
        open
    }

    /// As [`RawPeer::handshake`] when the peer's OPEN was already read.
    pub async fn handshake_after_open(&mut self, asn: u32, id: Ipv4Addr, hold: u16) {
        let caps = vec![Capability::Multiprotocol(AfiSafi::IPV4_UNICAST)];
        self.send(Message::Open(Open::new(asn, hold, id, caps)))
            .await;
        match self.recv(PATIENCE).await {
            Some(Message::Keepalive) => {}
            other => panic!("expected KEEPALIVE, got {other:?}"),
        }
        self.send(Message::Keepalive).await;
    }
}
