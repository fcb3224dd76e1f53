//! The little BGP every harness session needs: OPEN, KEEPALIVE, framing and
//! the handshake (OPEN, OPEN, KEEPALIVE, KEEPALIVE), written with bgp-proto.
//! No FSM beyond that: a session that gets anything unexpected is failed.

use std::net::Ipv4Addr;
use std::time::Duration;

use bgp_proto::capability::Capability;
use bgp_proto::context::MAX_EXTENDED_MESSAGE_LEN;
use bgp_proto::iana::{AfiSafi, message_type};
use bgp_proto::message::{Message, Notification, Open};
use bgp_proto::{CodecCtx, DecodeCtx, frame_len};
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The AS of the reflector and of every harness session (all iBGP).
pub const ASN: u32 = 64512;
/// Hold time the harness sessions propose.
pub const HOLD_TIME: u16 = 90;
/// Bytes asked of the kernel per read.
const READ_CHUNK: usize = 64 * 1024;

/// An OPEN for AS [`ASN`] with 4-octet AS and IPv4 unicast, nothing else
/// (no ADD-PATH, no graceful restart, no extended messages).
pub fn open_message(hold_time: u16, id: Ipv4Addr) -> BytesMut {
    let caps = vec![Capability::Multiprotocol(AfiSafi::IPV4_UNICAST)];
    let open = Open::new(ASN, hold_time, id, caps);
    Message::Open(open)
        .to_bytes(&CodecCtx::pre_open())
        .expect("an OPEN of two capabilities fits")
}

/// A KEEPALIVE.
pub fn keepalive_message() -> BytesMut {
    Message::Keepalive
        .to_bytes(&CodecCtx::pre_open())
        .expect("a KEEPALIVE fits")
}

/// The length of the first message of `buf` if all of it is there.
pub fn complete_frame(buf: &[u8]) -> Result<Option<usize>, String> {
    match frame_len(buf, MAX_EXTENDED_MESSAGE_LEN) {
        Ok(Some(len)) if buf.len() >= len => Ok(Some(len)),
        Ok(_) => Ok(None),
        Err(e) => Err(format!("bad framing: {e}")),
    }
}

/// Read more bytes into `buf`; `Ok(false)` at end of stream.
pub async fn fill<R: AsyncRead + Unpin>(rd: &mut R, buf: &mut BytesMut) -> std::io::Result<bool> {
    if buf.capacity() - buf.len() < READ_CHUNK / 4 {
        buf.reserve(READ_CHUNK);
    }
    Ok(rd.read_buf(buf).await? > 0)
}

/// Describe a NOTIFICATION message for an error string.
pub fn describe_notification(msg: &[u8]) -> String {
    match Notification::decode(&msg[19..]) {
        Ok(n) => format!("NOTIFICATION {:?}", n.error()),
        Err(_) => "malformed NOTIFICATION".into(),
    }
}

/// Wait for the next complete message; returns it (moved out of `buf`).
pub async fn next_message<R: AsyncRead + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
) -> Result<BytesMut, String> {
    loop {
        if let Some(len) = complete_frame(buf)? {
            return Ok(buf.split_to(len));
        }
        if !fill(rd, buf).await.map_err(|e| format!("read: {e}"))? {
            return Err("connection closed".into());
        }
    }
}

/// What the handshake learned.
#[derive(Debug, Clone)]
pub struct Negotiated {
    /// The peer's OPEN.
    pub peer_open: Open,
    /// Negotiated hold time (0: no keepalives).
    pub hold_time: u16,
    /// How to decode the peer's UPDATEs.
    pub ctx: DecodeCtx,
}

impl Negotiated {
    /// How often to send KEEPALIVE, if at all.
    pub fn keepalive_interval(&self) -> Option<Duration> {
        (self.hold_time > 0).then(|| Duration::from_secs(u64::from(self.hold_time / 3).max(1)))
    }
}

/// Send our OPEN, read the peer's, call `on_open`, send KEEPALIVE and wait
/// for the peer's KEEPALIVE. Bytes after it stay in `buf`.
pub async fn handshake<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
    hold_time: u16,
    id: Ipv4Addr,
    on_open: impl FnOnce(&Open),
) -> Result<Negotiated, String> {
    stream
        .write_all(&open_message(hold_time, id))
        .await
        .map_err(|e| format!("write OPEN: {e}"))?;
    let msg = next_message(stream, buf).await?;
    let peer_open = match msg[18] {
        message_type::OPEN => Open::decode(&msg[19..]).map_err(|e| format!("OPEN: {e}"))?,
        message_type::NOTIFICATION => return Err(describe_notification(&msg)),
        other => return Err(format!("expected OPEN, got message type {other}")),
    };
    on_open(&peer_open);
    stream
        .write_all(&keepalive_message())
        .await
        .map_err(|e| format!("write KEEPALIVE: {e}"))?;
    let msg = next_message(stream, buf).await?;
    match msg[18] {
        message_type::KEEPALIVE => {}
        message_type::NOTIFICATION => return Err(describe_notification(&msg)),
        other => return Err(format!("expected KEEPALIVE, got message type {other}")),
    }
    let hold = hold_time.min(peer_open.hold_time);
    let ctx = DecodeCtx::default().with_four_octet_as(peer_open.four_octet_as().is_some());
    Ok(Negotiated {
        peer_open,
        hold_time: hold,
        ctx,
    })
}

/// Keep an established session up without looking at its routes: drop
/// what the peer sends (failing on NOTIFICATION or close) and send
/// KEEPALIVE every `keepalive`, until `stop` completes.
pub async fn idle<S, F>(
    stream: &mut S,
    buf: &mut BytesMut,
    keepalive: Option<Duration>,
    stop: F,
) -> Result<F::Output, String>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: std::future::Future,
{
    let mut tick =
        keepalive.map(|every| tokio::time::interval_at(tokio::time::Instant::now() + every, every));
    tokio::pin!(stop);
    loop {
        let mut at = 0;
        while let Some(len) = complete_frame(&buf[at..])? {
            if buf[at + 18] == message_type::NOTIFICATION {
                return Err(describe_notification(&buf[at..at + len]));
            }
            at += len;
        }
        buf.advance(at);
        tokio::select! {
            done = &mut stop => return Ok(done),
            read = fill(stream, buf) => match read {
                Ok(true) => {}
                Ok(false) => return Err("closed by the reflector".into()),
                Err(e) => return Err(format!("read: {e}")),
            },
            _ = async { tick.as_mut().expect("guarded").tick().await }, if tick.is_some() => {
                stream
                    .write_all(&keepalive_message())
                    .await
                    .map_err(|e| format!("write KEEPALIVE: {e}"))?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_and_keepalive_frame_and_decode() {
        let open = open_message(90, Ipv4Addr::new(10, 50, 0, 1));
        assert_eq!(complete_frame(&open).unwrap(), Some(open.len()));
        let decoded = Open::decode(&open[19..]).unwrap();
        assert_eq!(decoded.asn(), ASN);
        assert_eq!(
            decoded.multiprotocol().collect::<Vec<_>>(),
            vec![AfiSafi::IPV4_UNICAST]
        );
        assert_eq!(decoded.add_path().count(), 0);
        let ka = keepalive_message();
        assert_eq!(ka.len(), 19);
        assert_eq!(complete_frame(&ka[..10]).unwrap(), None);
    }
}
