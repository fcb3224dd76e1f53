//! K lightweight client sessions: each binds its own address, does the
//! handshake, answers with KEEPALIVEs, decodes every UPDATE with bgp-proto
//! and counts the distinct loadgen prefixes it holds. All of them run as
//! tasks of one tokio runtime.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bgp_proto::iana::{attr_type, message_type};
use bgp_proto::{DecodeCtx, Message, decode_message};
use bytes::{Buf, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Semaphore;
use tokio::sync::mpsc::UnboundedSender;

use crate::bgp;
use crate::loadgen::index_of;

/// Connections being set up at once: a thousand simultaneous SYNs overflow
/// some daemons' listen queues and the retries only make setup slower.
const HANDSHAKES_AT_ONCE: usize = 64;

/// A TCP connection from `local` (any port) to `server`.
pub async fn connect_from(local: Ipv4Addr, server: SocketAddr) -> Result<TcpStream, String> {
    let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
    socket
        .bind(SocketAddr::new(local.into(), 0))
        .map_err(|e| format!("bind {local}: {e}"))?;
    socket
        .connect(server)
        .await
        .map_err(|e| format!("connect {server} from {local}: {e}"))
}

/// What a client reports to the harness.
#[derive(Debug, Clone)]
pub enum Event {
    /// The session is Established.
    Established,
    /// The client holds all N prefixes (the instant it counted the last one).
    Done(Instant),
    /// The session failed or closed.
    Closed(String),
}

/// Counters of one client, readable while it runs.
#[derive(Debug, Default)]
pub struct ClientStats {
    /// Distinct loadgen prefixes held now.
    pub prefixes: AtomicUsize,
    /// UPDATE messages received.
    pub updates: AtomicU64,
    /// UPDATE octets received.
    pub bytes: AtomicU64,
    /// UPDATEs announcing routes without ORIGINATOR_ID or CLUSTER_LIST.
    pub unreflected: AtomicU64,
    /// Announced prefixes that are not the loadgen's.
    pub foreign: AtomicU64,
    /// UPDATEs with RFC 7606 findings.
    pub findings: AtomicU64,
    /// When the first UPDATE with routes was absorbed, as nanoseconds
    /// after the `epoch` given to [`spawn_clients`] (0: not yet).
    pub first_update_ns: AtomicU64,
}

/// Which of the N prefixes a client holds.
#[derive(Debug, Clone)]
pub struct PrefixSet {
    bits: Vec<u64>,
    count: usize,
}

impl PrefixSet {
    /// An empty set of `n` possible prefixes.
    pub fn new(n: usize) -> Self {
        PrefixSet {
            bits: vec![0; n.div_ceil(64)],
            count: 0,
        }
    }

    /// Add prefix `i`.
    pub fn insert(&mut self, i: usize) {
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        if self.bits[word] & bit == 0 {
            self.bits[word] |= bit;
            self.count += 1;
        }
    }

    /// Remove prefix `i`.
    pub fn remove(&mut self, i: usize) {
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        if self.bits[word] & bit != 0 {
            self.bits[word] &= !bit;
            self.count -= 1;
        }
    }

    /// How many are held.
    pub fn count(&self) -> usize {
        self.count
    }
}

/// Start one task per address; each connects to `server`, retrying until
/// `deadline`, and reports through `events`.
pub fn spawn_clients(
    addresses: &[Ipv4Addr],
    server: SocketAddr,
    n: usize,
    deadline: Instant,
    epoch: Instant,
    events: &UnboundedSender<Event>,
) -> Vec<Arc<ClientStats>> {
    let plan = Arc::new(Plan {
        server,
        n,
        deadline,
        epoch,
        gate: Semaphore::new(HANDSHAKES_AT_ONCE),
    });
    addresses
        .iter()
        .map(|&local| {
            let stats = Arc::new(ClientStats::default());
            let events = events.clone();
            tokio::spawn(client(local, plan.clone(), stats.clone(), events));
            stats
        })
        .collect()
}

/// What every client shares.
#[derive(Debug)]
struct Plan {
    server: SocketAddr,
    n: usize,
    deadline: Instant,
    epoch: Instant,
    gate: Semaphore,
}

async fn client(
    local: Ipv4Addr,
    plan: Arc<Plan>,
    stats: Arc<ClientStats>,
    events: UnboundedSender<Event>,
) {
    let Plan {
        server,
        n,
        deadline,
        epoch,
        ..
    } = *plan;
    let mut backoff = Duration::from_millis(100);
    let (stream, mut buf, negotiated) = loop {
        let attempt = async {
            let mut stream = connect_from(local, server).await?;
            let mut buf = BytesMut::with_capacity(16 * 1024);
            let neg = bgp::handshake(&mut stream, &mut buf, bgp::HOLD_TIME, local, |_| {}).await?;
            Ok::<_, String>((stream, buf, neg))
        };
        let permit = plan.gate.acquire().await;
        let outcome = tokio::time::timeout(Duration::from_secs(15), attempt).await;
        drop(permit);
        let error = match outcome {
            Ok(Ok(done)) => break done,
            Ok(Err(e)) => e,
            Err(_) => "handshake timed out".to_string(),
        };
        if Instant::now() + backoff >= deadline {
            let _ = events.send(Event::Closed(format!("{local}: {error}")));
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    };
    let _ = events.send(Event::Established);
    let (mut rd, mut wr) = stream.into_split();
    let mut set = PrefixSet::new(n);
    let mut done = false;
    let mut tick = negotiated
        .keepalive_interval()
        .map(|every| tokio::time::interval_at(tokio::time::Instant::now() + every, every));
    loop {
        if let Err(e) = absorb(&mut buf, &negotiated.ctx, n, &mut set, &stats) {
            let _ = events.send(Event::Closed(format!("{local}: {e}")));
            return;
        }
        if set.count() > 0 && stats.first_update_ns.load(Ordering::Relaxed) == 0 {
            let ns = epoch.elapsed().as_nanos().max(1) as u64;
            stats.first_update_ns.store(ns, Ordering::Relaxed);
        }
        if !done && set.count() == n {
            done = true;
            let _ = events.send(Event::Done(Instant::now()));
        }
        tokio::select! {
            read = bgp::fill(&mut rd, &mut buf) => match read {
                Ok(true) => {}
                Ok(false) => {
                    let _ = events.send(Event::Closed(format!("{local}: closed by the reflector")));
                    return;
                }
                Err(e) => {
                    let _ = events.send(Event::Closed(format!("{local}: read: {e}")));
                    return;
                }
            },
            _ = async { tick.as_mut().expect("guarded").tick().await }, if tick.is_some() => {
                if let Err(e) = wr.write_all(&bgp::keepalive_message()).await {
                    let _ = events.send(Event::Closed(format!("{local}: write KEEPALIVE: {e}")));
                    return;
                }
            }
        }
    }
}

/// Decode and count every complete message in `buf`, leaving a partial one.
pub fn absorb(
    buf: &mut BytesMut,
    ctx: &DecodeCtx,
    n: usize,
    set: &mut PrefixSet,
    stats: &ClientStats,
) -> Result<(), String> {
    let mut at = 0;
    while let Some(len) = bgp::complete_frame(&buf[at..])? {
        let msg = &buf[at..at + len];
        match msg[18] {
            message_type::UPDATE => {
                let decoded = decode_message(msg, ctx).map_err(|e| format!("UPDATE: {e}"))?;
                if let Message::Update(update) = decoded.message {
                    stats.updates.fetch_add(1, Ordering::Relaxed);
                    stats.bytes.fetch_add(len as u64, Ordering::Relaxed);
                    if !decoded.findings.is_empty() {
                        stats.findings.fetch_add(1, Ordering::Relaxed);
                    }
                    for (_, nlri) in update.withdrawn_routes() {
                        if let Some(i) = index_of(&nlri.prefix, n) {
                            set.remove(i);
                        }
                    }
                    let mut announced = false;
                    for (_, nlri) in update.announced() {
                        announced = true;
                        match index_of(&nlri.prefix, n) {
                            Some(i) => set.insert(i),
                            None => {
                                stats.foreign.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    let reflected = update.attribute(attr_type::ORIGINATOR_ID).is_some()
                        && update.attribute(attr_type::CLUSTER_LIST).is_some();
                    if announced && !reflected {
                        stats.unreflected.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            message_type::NOTIFICATION => return Err(bgp::describe_notification(msg)),
            _ => {}
        }
        at += len;
    }
    buf.advance(at);
    stats.prefixes.store(set.count(), Ordering::Relaxed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen;

    #[test]
    fn prefix_set_counts_distinct_prefixes() {
        let mut set = PrefixSet::new(130);
        set.insert(0);
        set.insert(129);
        set.insert(129);
        assert_eq!(set.count(), 2);
        set.remove(0);
        set.remove(0);
        assert_eq!(set.count(), 1);
    }

    #[test]
    fn absorb_counts_a_whole_table_fed_in_pieces() {
        let n = 3_000;
        let (table, _) = loadgen::encode_table(n, Ipv4Addr::new(10, 50, 0, 1));
        let stats = ClientStats::default();
        let mut set = PrefixSet::new(n);
        let mut buf = BytesMut::new();
        for piece in table.chunks(1000) {
            buf.extend_from_slice(piece);
            absorb(&mut buf, &DecodeCtx::default(), n, &mut set, &stats).unwrap();
        }
        assert!(buf.is_empty());
        assert_eq!(set.count(), n);
        // The loadgen's own UPDATEs carry no reflection attributes.
        assert!(stats.unreflected.load(Ordering::Relaxed) > 0);
        assert_eq!(stats.foreign.load(Ordering::Relaxed), 0);
    }
}
