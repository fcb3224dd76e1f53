//! The ideal replay reflector: the physical limit of machine and harness.
//!
//! It accepts every session (proposing hold time 0, so no keepalives),
//! and rewrites each UPDATE the loadgen sends once, appending
//! ORIGINATOR_ID (the loadgen's BGP identifier) and CLUSTER_LIST (our
//! cluster ID), then writes the same bytes to every client. No RIB, no
//! best path, no per-peer state: what a reflector could at best do.
//! It runs as `rr-bench ideal-serve` in the reflector's namespace, so it
//! is pinned and measured exactly like the real daemons.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use bgp_proto::context::MAX_MESSAGE_LEN;
use bgp_proto::iana::{attr_type, message_type};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use crate::bgp;

type Clients = Arc<Mutex<Vec<mpsc::UnboundedSender<Bytes>>>>;

/// Serve until killed.
pub async fn serve(listen: SocketAddr, loadgen: Ipv4Addr, id: Ipv4Addr) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let clients: Clients = Arc::default();
    loop {
        let (stream, peer) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let is_loadgen = peer.ip() == loadgen;
        tokio::spawn(session(stream, is_loadgen, clients.clone(), id));
    }
}

async fn session(mut stream: TcpStream, is_loadgen: bool, clients: Clients, id: Ipv4Addr) {
    let mut buf = BytesMut::with_capacity(64 * 1024);
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    // A client is registered before our KEEPALIVE goes out, so by the time
    // it sees the session Established, it gets every UPDATE.
    let register = |_: &_| {
        if !is_loadgen {
            clients.lock().expect("not poisoned").push(tx.clone());
        }
    };
    let Ok(negotiated) = bgp::handshake(&mut stream, &mut buf, 0, id, register).await else {
        return;
    };
    if is_loadgen {
        let originator = negotiated.peer_open.bgp_identifier;
        let mut out = BytesMut::with_capacity(128 * 1024);
        loop {
            let mut at = 0;
            loop {
                let len = match bgp::complete_frame(&buf[at..]) {
                    Ok(Some(len)) => len,
                    Ok(None) => break,
                    Err(_) => return,
                };
                let msg = &buf[at..at + len];
                if msg[18] == message_type::UPDATE {
                    reflect_update(msg, originator, id, &mut out);
                }
                at += len;
            }
            buf.advance(at);
            if !out.is_empty() {
                let chunk = out.split().freeze();
                for client in clients.lock().expect("not poisoned").iter() {
                    let _ = client.send(chunk.clone());
                }
            }
            if !matches!(bgp::fill(&mut stream, &mut buf).await, Ok(true)) {
                return;
            }
        }
    }
    drop(tx);
    let (mut rd, mut wr) = stream.into_split();
    tokio::spawn(async move {
        while let Some(chunk) = rx.recv().await {
            if wr.write_all(&chunk).await.is_err() {
                return;
            }
        }
    });
    while let Ok(true) = bgp::fill(&mut rd, &mut buf).await {
        buf.clear();
    }
}

/// Append `msg` (one UPDATE) with ORIGINATOR_ID and CLUSTER_LIST added to
/// `out`, split in two or more messages if it no longer fits in 4096
/// octets. UPDATEs that announce nothing (withdrawals, End-of-RIB) and
/// malformed ones are copied unchanged.
pub fn reflect_update(msg: &[u8], originator: Ipv4Addr, cluster: Ipv4Addr, out: &mut BytesMut) {
    let Some(parts) = split_update(msg) else {
        out.put_slice(msg);
        return;
    };
    let (withdrawn, attrs, nlri) = parts;
    if nlri.is_empty() {
        out.put_slice(msg);
        return;
    }
    let mut extra = [0u8; 14];
    extra[..3].copy_from_slice(&[0x80, attr_type::ORIGINATOR_ID, 4]);
    extra[3..7].copy_from_slice(&originator.octets());
    extra[7..10].copy_from_slice(&[0x80, attr_type::CLUSTER_LIST, 4]);
    extra[10..].copy_from_slice(&cluster.octets());
    let mut rest = nlri;
    let mut withdrawn = withdrawn;
    while !rest.is_empty() {
        let fixed = 19 + 2 + withdrawn.len() + 2 + attrs.len() + extra.len();
        let room = MAX_MESSAGE_LEN.saturating_sub(fixed);
        let take = prefixes_within(rest, room);
        if take == 0 {
            // Cannot fit even one prefix: forward the original as it is.
            out.put_slice(msg);
            return;
        }
        let len = fixed + take;
        out.put_slice(&[0xff; 16]);
        out.put_u16(len as u16);
        out.put_u8(message_type::UPDATE);
        out.put_u16(withdrawn.len() as u16);
        out.put_slice(withdrawn);
        out.put_u16((attrs.len() + extra.len()) as u16);
        out.put_slice(attrs);
        out.put_slice(&extra);
        out.put_slice(&rest[..take]);
        rest = &rest[take..];
        withdrawn = &[];
    }
}

/// Withdrawn routes, attributes and NLRI of an UPDATE, if the lengths agree.
fn split_update(msg: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let body = msg.get(19..)?;
    let wlen = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    let withdrawn = body.get(2..2 + wlen)?;
    let at = 2 + wlen;
    let alen = usize::from(u16::from_be_bytes([*body.get(at)?, *body.get(at + 1)?]));
    let attrs = body.get(at + 2..at + 2 + alen)?;
    let nlri = body.get(at + 2 + alen..)?;
    Some((withdrawn, attrs, nlri))
}

/// Octets of the leading whole prefixes of `nlri` that fit in `room`.
fn prefixes_within(nlri: &[u8], room: usize) -> usize {
    let mut at = 0;
    while at < nlri.len() {
        let size = 1 + usize::from(nlri[at]).div_ceil(8);
        if at + size > room || at + size > nlri.len() {
            break;
        }
        at += size;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;
    use bgp_proto::attribute::PathAttribute;
    use bgp_proto::{DecodeCtx, Message, decode_message};

    fn decode_all(bytes: &[u8]) -> Vec<bgp_proto::message::Update> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let len = usize::from(u16::from_be_bytes([bytes[at + 16], bytes[at + 17]]));
            match decode_message(&bytes[at..at + len], &DecodeCtx::default())
                .unwrap()
                .message
            {
                Message::Update(u) => out.push(u),
                other => panic!("{other:?}"),
            }
            at += len;
        }
        out
    }

    #[test]
    fn reflected_updates_carry_originator_and_cluster_and_every_prefix() {
        let (originator, cluster) = (Ipv4Addr::new(10, 50, 0, 1), Ipv4Addr::new(10, 50, 255, 254));
        let n = 5_000;
        let (table, messages) = crate::loadgen::encode_table(n, originator);
        let mut out = BytesMut::new();
        let mut at = 0;
        while at < table.len() {
            let len = usize::from(u16::from_be_bytes([table[at + 16], table[at + 17]]));
            reflect_update(&table[at..at + len], originator, cluster, &mut out);
            at += len;
        }
        let updates = decode_all(&out);
        // The loadgen leaves room: nothing is split.
        assert_eq!(updates.len(), messages);
        let prefixes: usize = updates.iter().map(|u| u.nlri.len()).sum();
        assert_eq!(prefixes, n);
        for u in updates.iter().filter(|u| !u.nlri.is_empty()) {
            assert_eq!(
                u.attribute(attr_type::ORIGINATOR_ID),
                Some(&PathAttribute::OriginatorId(originator))
            );
            match u.attribute(attr_type::CLUSTER_LIST) {
                Some(PathAttribute::ClusterList(list)) => assert_eq!(list[..], [cluster]),
                other => panic!("{other:?}"),
            }
        }
        // End-of-RIB is forwarded as it is.
        assert!(updates.last().unwrap().end_of_rib_family().is_some());
    }

    #[test]
    fn a_full_update_is_split_in_two() {
        use bgp_proto::attribute::{AsPath, Origin, encode_attributes_to_bytes};
        use bgp_proto::{EncodeCtx, Nlri, packer};
        let ctx = EncodeCtx::default();
        let attrs = encode_attributes_to_bytes(
            &[
                PathAttribute::Origin(Origin::Igp),
                PathAttribute::AsPath(AsPath::default()),
                PathAttribute::NextHop(Ipv4Addr::new(10, 0, 0, 1)),
            ],
            &ctx,
        );
        let prefixes: Vec<Nlri> = (0..1500)
            .map(|i| Nlri::new(crate::loadgen::prefix(i).into()))
            .collect();
        let mut full = BytesMut::new();
        let count = packer::pack_ipv4_nlri(&attrs, &prefixes, &ctx, &mut full).unwrap();
        assert_eq!(count, 2);
        let first_len = usize::from(u16::from_be_bytes([full[16], full[17]]));
        assert!(first_len > 4096 - 14);
        let mut out = BytesMut::new();
        let id = Ipv4Addr::new(1, 1, 1, 1);
        reflect_update(&full[..first_len], id, id, &mut out);
        let updates = decode_all(&out);
        assert_eq!(updates.len(), 2);
        let before = decode_all(&full[..first_len])[0].nlri.len();
        assert_eq!(updates.iter().map(|u| u.nlri.len()).sum::<usize>(), before);
    }
}
