//! The core's direct writes next to the peer task's own: the byte stream
//! stays a sequence of whole messages in push order.

use bytes::{BufMut, Bytes, BytesMut};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use super::conn::Connection;
use super::gate::DirectWrite;
use crate::outbox::Outbox;

const UPDATE: u8 = 2;
const KEEPALIVE: u8 = 4;

/// A BGP-framed message (RFC 4271 section 4.1) of `len` octets whose body
/// starts with `seq`, so the order can be checked on the other side.
fn message(kind: u8, len: usize, seq: u32) -> Bytes {
    let mut buf = BytesMut::with_capacity(len);
    buf.put_slice(&[0xff; 16]);
    buf.put_u16(len as u16);
    buf.put_u8(kind);
    if kind == UPDATE {
        buf.put_u32(seq);
        buf.resize(len, 0xab);
    }
    buf.freeze()
}

/// Many UPDATEs in one push, as an update group encodes a burst.
fn updates(first: u32, count: u32) -> Bytes {
    let mut buf = BytesMut::new();
    for seq in first..first + count {
        buf.put_slice(&message(UPDATE, 4096, seq));
    }
    buf.freeze()
}

/// A connected pair: ours (wrapped, with a small send buffer) and the
/// peer's end.
async fn pair() -> (Connection, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(16 * 1024).unwrap();
    let (ours, theirs) = tokio::join!(socket.connect(addr), listener.accept());
    let conn = Connection::new(ours.unwrap(), true).unwrap();
    (conn, theirs.unwrap().0)
}

/// Read `theirs` until `total` octets have come, then split them into
/// messages: (type, sequence number of an UPDATE) each. Panics on a
/// broken frame (a marker not where a message should start).
async fn messages(theirs: &mut TcpStream, total: usize) -> Vec<(u8, u32)> {
    let mut bytes = vec![0u8; total];
    tokio::time::timeout(Duration::from_secs(10), theirs.read_exact(&mut bytes))
        .await
        .expect("all bytes in time")
        .unwrap();
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        assert_eq!(&bytes[at..at + 16], &[0xff; 16], "a marker at {at}");
        let len = u16::from_be_bytes([bytes[at + 16], bytes[at + 17]]) as usize;
        let kind = bytes[at + 18];
        let seq = if kind == UPDATE {
            u32::from_be_bytes(bytes[at + 19..at + 23].try_into().unwrap())
        } else {
            0
        };
        out.push((kind, seq));
        at += len;
    }
    out
}

#[tokio::test]
async fn an_idle_attached_connection_is_written_by_the_push_itself() {
    let (mut conn, mut theirs) = pair().await;
    let outbox = Arc::new(Outbox::new());
    conn.attach(outbox.clone(), 1);
    outbox.force_push(message(UPDATE, 64, 7));
    // Nothing queued for the task: the bytes are on the wire already.
    assert_eq!(outbox.queued_bytes(), 0);
    assert_eq!(messages(&mut theirs, 64).await, vec![(UPDATE, 7)]);
}

#[tokio::test]
async fn a_detached_or_deferred_gate_leaves_the_push_queued() {
    let (mut conn, _theirs) = pair().await;
    let outbox = Arc::new(Outbox::new());
    outbox.force_push(message(UPDATE, 64, 1));
    assert_eq!(outbox.queued_bytes(), 64, "never attached");
    let mut taken = std::collections::VecDeque::new();
    outbox.take_all(&mut taken);
    outbox.written(64);
    conn.attach(outbox.clone(), 1);
    outbox.defer_direct(true);
    outbox.force_push(message(UPDATE, 64, 2));
    assert_eq!(outbox.queued_bytes(), 64, "deferred");
    outbox.take_all(&mut taken);
    outbox.written(64);
    outbox.defer_direct(false);
    conn.detach();
    outbox.force_push(message(UPDATE, 64, 3));
    assert_eq!(outbox.queued_bytes(), 64, "detached");
}

#[tokio::test]
async fn the_cores_partial_write_is_finished_before_a_keepalive() {
    let (mut conn, mut theirs) = pair().await;
    let outbox = Arc::new(Outbox::new());
    conn.attach(outbox.clone(), 1);
    // Far more than the socket takes while nobody reads: the core writes
    // part of it and hands the rest over mid-message (4096 does not
    // divide what the socket took, in general).
    let first = updates(0, 256);
    let total_updates = first.len();
    outbox.force_push(first);
    let handed = outbox.queued_bytes();
    assert!(handed > 0, "the socket cannot take 1 MiB at once");
    // A second push while the task holds the rest: queued, not written.
    let second = updates(256, 16);
    let second_len = second.len();
    assert!(matches!(
        outbox.gate().try_write(&second, outbox.queued_bytes() == 0),
        DirectWrite::Refused
    ));
    outbox.force_push(second);
    assert_eq!(outbox.queued_bytes(), handed + second_len);
    // The state machine's KEEPALIVE comes now; the task flushes as a
    // peer task does, while the other end reads.
    conn.queue(message(KEEPALIVE, 19, 0));
    let total = total_updates + second_len + 19;
    let reader = tokio::spawn(async move { messages(&mut theirs, total).await });
    let mut took_queue = false;
    for _ in 0..100_000 {
        conn.claim_leftover();
        if !took_queue && conn.outbox_idle() && outbox.queued_bytes() > 0 {
            outbox.take_all(conn.outbox_queue());
            took_queue = true;
        }
        let flushed = conn.flush().unwrap();
        outbox.written(flushed.outbox_bytes);
        if !conn.wants_write() && took_queue {
            break;
        }
        if conn.is_blocked() {
            conn.writable().await.unwrap();
        }
    }
    assert_eq!(outbox.queued_bytes(), 0, "all accounted as written");
    let got = reader.await.unwrap();
    let keepalive = got.iter().position(|m| m.0 == KEEPALIVE).unwrap();
    let seqs: Vec<u32> = got.iter().filter(|m| m.0 == UPDATE).map(|m| m.1).collect();
    assert_eq!(
        seqs,
        (0..272).collect::<Vec<_>>(),
        "UPDATEs whole and in order"
    );
    assert_eq!(got.len(), 273);
    // The KEEPALIVE went between whole messages, after the begun one.
    assert!(keepalive > 0);
    // Idle again: the next push goes straight out.
    assert!(matches!(
        outbox
            .gate()
            .try_write(&message(UPDATE, 64, 9), outbox.queued_bytes() == 0),
        DirectWrite::Written
    ));
}

#[tokio::test]
async fn closing_finishes_a_begun_leftover() {
    let (mut conn, mut theirs) = pair().await;
    let outbox = Arc::new(Outbox::new());
    conn.attach(outbox.clone(), 1);
    let burst = updates(0, 256);
    let len = burst.len();
    outbox.force_push(burst);
    assert!(outbox.queued_bytes() > 0);
    // The session ends with a NOTIFICATION: the rest of the begun UPDATE
    // must come before it (an UPDATE not begun may be dropped).
    let notification = {
        let mut buf = BytesMut::new();
        buf.put_slice(&[0xff; 16]);
        buf.put_u16(21);
        buf.put_u8(3);
        buf.put_u8(6);
        buf.put_u8(2);
        buf.freeze()
    };
    conn.queue(notification);
    conn.close();
    let mut bytes = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), theirs.read_to_end(&mut bytes))
        .await
        .expect("closed in time")
        .unwrap();
    assert_eq!(
        bytes.len(),
        len + 21,
        "the whole burst, then the NOTIFICATION"
    );
    assert_eq!(bytes[len + 18], 3);
}
