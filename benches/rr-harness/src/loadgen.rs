//! The load generator: one iBGP session (a route-reflector client) that
//! announces N distinct /24 prefixes with a few dozen distinct attribute
//! sets, packed into as few UPDATEs as the 4096-octet limit allows with
//! `bgp_proto::packer`, then End-of-RIB.
//!
//! Prefix `i` is `20.0.0.0/24 + i` (20.0.0.0/24, 20.0.1.0/24, ...) and uses
//! attribute set `i % ATTRIBUTE_SETS`. All bytes are encoded before the
//! clock starts.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use bgp_proto::attribute::{AsPath, Community, Origin, PathAttribute, encode_attributes_to_bytes};
use bgp_proto::iana::AfiSafi;
use bgp_proto::message::{Message, Update};
use bgp_proto::{EncodeCtx, Nlri, packer};
use bytes::{Bytes, BytesMut};
use ipnetwork::{IpNetwork, Ipv4Network};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use crate::bgp;
use crate::clients::{Event, connect_from};

/// Number of distinct attribute sets.
pub const ATTRIBUTE_SETS: usize = 32;
/// First prefix.
pub const PREFIX_BASE: Ipv4Addr = Ipv4Addr::new(20, 0, 0, 0);
/// Length of every prefix.
pub const PREFIX_LEN: u8 = 24;
/// Octets a reflector adds to each UPDATE (ORIGINATOR_ID, 7, and a
/// CLUSTER_LIST of one ID, 7): the loadgen leaves this much room so a
/// reflected message still fits in 4096 octets without being split.
pub const REFLECTION_ROOM: usize = 14;

/// The `i`-th prefix.
pub fn prefix(i: usize) -> Ipv4Network {
    let addr = u32::from(PREFIX_BASE) + ((i as u32) << (32 - PREFIX_LEN));
    Ipv4Network::new(Ipv4Addr::from(addr), PREFIX_LEN).expect("valid length")
}

/// The index of `net` if it is one of the first `n` prefixes.
pub fn index_of(net: &IpNetwork, n: usize) -> Option<usize> {
    let IpNetwork::V4(net) = net else { return None };
    if net.prefix() != PREFIX_LEN {
        return None;
    }
    let offset = u32::from(net.ip()).checked_sub(u32::from(PREFIX_BASE))?;
    if offset & ((1 << (32 - PREFIX_LEN)) - 1) != 0 {
        return None;
    }
    let i = (offset >> (32 - PREFIX_LEN)) as usize;
    (i < n).then_some(i)
}

/// Attribute set `j`: IGP, a one-AS path, our next hop, MED, LOCAL_PREF
/// and a community, all varying with `j`.
pub fn attribute_set(j: usize, next_hop: Ipv4Addr) -> Vec<PathAttribute> {
    let j32 = j as u32;
    vec![
        PathAttribute::Origin(Origin::Igp),
        PathAttribute::AsPath(AsPath::from_sequence(vec![64700 + j32])),
        PathAttribute::NextHop(next_hop),
        PathAttribute::MultiExitDisc(10 * j32),
        PathAttribute::LocalPref(100),
        PathAttribute::Communities(std::iter::once(Community::new(64512, 1 + j as u16)).collect()),
    ]
}

/// Every UPDATE of the run, then End-of-RIB, as one buffer; and the
/// number of messages.
pub fn encode_table(n: usize, next_hop: Ipv4Addr) -> (Bytes, usize) {
    let ctx = EncodeCtx::default();
    let mut sets: Vec<Vec<Nlri>> = vec![Vec::new(); ATTRIBUTE_SETS];
    for i in 0..n {
        sets[i % ATTRIBUTE_SETS].push(Nlri::new(IpNetwork::V4(prefix(i))));
    }
    let mut out = BytesMut::new();
    let mut messages = 0;
    for (j, prefixes) in sets.iter().enumerate() {
        if prefixes.is_empty() {
            continue;
        }
        let attrs = encode_attributes_to_bytes(&attribute_set(j, next_hop), &ctx);
        let per_message = prefixes_per_message(attrs.len(), &ctx);
        for chunk in prefixes.chunks(per_message) {
            messages += packer::pack_ipv4_nlri(&attrs, chunk, &ctx, &mut out)
                .expect("attributes of a few dozen octets fit");
        }
    }
    Message::Update(Update::end_of_rib(AfiSafi::IPV4_UNICAST))
        .encode(&ctx, &mut out)
        .expect("End-of-RIB fits");
    (out.freeze(), messages + 1)
}

/// How many /24 prefixes fit in one UPDATE with an attribute block of
/// `attrs_len` octets, leaving [`REFLECTION_ROOM`].
fn prefixes_per_message(attrs_len: usize, ctx: &EncodeCtx) -> usize {
    let fixed = 19 + 2 + 2 + attrs_len + REFLECTION_ROOM;
    let per_prefix = 1 + usize::from(PREFIX_LEN).div_ceil(8);
    (ctx.max_message_len() - fixed) / per_prefix
}

/// An established loadgen session, waiting for the start signal.
#[derive(Debug)]
pub struct Loadgen {
    start: oneshot::Sender<()>,
    started: oneshot::Receiver<Instant>,
    sent: oneshot::Receiver<Result<Instant, String>>,
}

impl Loadgen {
    /// Connect from `local`, do the handshake (retrying until `deadline`)
    /// and park the session with `payload` ready to write. It keeps the
    /// session up meanwhile and after; if it fails, `events` hears it.
    pub async fn connect(
        local: Ipv4Addr,
        server: SocketAddr,
        payload: Bytes,
        deadline: Instant,
        events: UnboundedSender<Event>,
    ) -> Result<Loadgen, String> {
        let (mut stream, mut buf, negotiated) = loop {
            let attempt = async {
                let mut stream = connect_from(local, server).await?;
                let mut buf = BytesMut::with_capacity(4096);
                let neg =
                    bgp::handshake(&mut stream, &mut buf, bgp::HOLD_TIME, local, |_| {}).await?;
                Ok::<_, String>((stream, buf, neg))
            };
            match tokio::time::timeout(Duration::from_secs(10), attempt).await {
                Ok(Ok(done)) => break done,
                Ok(Err(e)) if Instant::now() >= deadline => return Err(format!("loadgen: {e}")),
                Err(_) if Instant::now() >= deadline => {
                    return Err("loadgen: handshake timed out".into());
                }
                _ => tokio::time::sleep(Duration::from_millis(250)).await,
            }
        };
        let (start_tx, start_rx) = oneshot::channel();
        let (started_tx, started_rx) = oneshot::channel();
        let (sent_tx, sent_rx) = oneshot::channel();
        let keepalive = negotiated.keepalive_interval();
        tokio::spawn(async move {
            let fail = |e: String| {
                let _ = events.send(Event::Closed(format!("loadgen session: {e}")));
            };
            match bgp::idle(&mut stream, &mut buf, keepalive, start_rx).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return,
                Err(e) => return fail(e),
            }
            let _ = started_tx.send(Instant::now());
            let result = stream.write_all(&payload).await;
            let _ = sent_tx.send(result.map(|()| Instant::now()).map_err(|e| e.to_string()));
            let forever = std::future::pending::<()>();
            if let Err(e) = bgp::idle(&mut stream, &mut buf, keepalive, forever).await {
                fail(e);
            }
        });
        Ok(Loadgen {
            start: start_tx,
            started: started_rx,
            sent: sent_rx,
        })
    }

    /// Start writing; returns the instant just before the first byte is
    /// written, and a receiver for when the last one was.
    pub async fn start(
        self,
    ) -> Result<(Instant, oneshot::Receiver<Result<Instant, String>>), String> {
        self.start
            .send(())
            .map_err(|_| "loadgen task gone".to_string())?;
        let t0 = self
            .started
            .await
            .map_err(|_| "loadgen task gone".to_string())?;
        Ok((t0, self.sent))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_proto::{DecodeCtx, decode_message};

    #[test]
    fn prefixes_round_trip_through_their_index() {
        assert_eq!(prefix(0).to_string(), "20.0.0.0/24");
        assert_eq!(prefix(257).to_string(), "20.1.1.0/24");
        for i in [0, 1, 255, 256, 99_999] {
            assert_eq!(index_of(&IpNetwork::V4(prefix(i)), 100_000), Some(i));
        }
        assert_eq!(index_of(&IpNetwork::V4(prefix(10)), 10), None);
        assert_eq!(index_of(&"20.0.0.0/16".parse().unwrap(), 10), None);
        assert_eq!(index_of(&"19.255.255.0/24".parse().unwrap(), 10), None);
    }

    #[test]
    fn table_holds_every_prefix_once_with_room_for_reflection() {
        let n = 10_000;
        let (bytes, messages) = encode_table(n, Ipv4Addr::new(10, 50, 0, 1));
        let ctx = DecodeCtx::default();
        let mut seen = vec![false; n];
        let (mut at, mut count, mut sets) = (0, 0, std::collections::HashSet::new());
        while at < bytes.len() {
            let len = usize::from(u16::from_be_bytes([bytes[at + 16], bytes[at + 17]]));
            assert!(len + REFLECTION_ROOM <= 4096);
            let Message::Update(update) =
                decode_message(&bytes[at..at + len], &ctx).unwrap().message
            else {
                panic!("not an UPDATE");
            };
            sets.insert(update.med());
            for nlri in &update.nlri {
                let i = index_of(&nlri.prefix, n).unwrap();
                assert!(!seen[i]);
                seen[i] = true;
            }
            at += len;
            count += 1;
        }
        assert_eq!(count, messages);
        assert!(seen.iter().all(|s| *s));
        // 32 attribute sets and the End-of-RIB (no MED).
        assert_eq!(sets.len(), ATTRIBUTE_SETS + 1);
    }
}
