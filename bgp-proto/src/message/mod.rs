//! BGP messages: the common header, framing, and one module per message type.
//!
//! Every message starts with the same 19-octet header (RFC 4271 section 4.1):
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                                                               |
//! +                                                               +
//! |                           Marker                              |
//! +                      (16 octets of 0xff)                      +
//! |                                                               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |          Length               |      Type     |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! [`frame_len`] finds message boundaries in a byte stream; [`decode_message`]
//! turns one framed message into a [`Message`]; [`Message::encode`] writes one.

pub mod keepalive;
pub mod notification;
pub mod open;
pub mod route_refresh;
pub mod update;

use bytes::{BufMut, BytesMut};

use crate::context::{DecodeCtx, EncodeCtx, MAX_MESSAGE_LEN};
use crate::error::{DecodeError, EncodeError, ErrorKind, Findings};
use crate::iana::message_type;

pub use notification::{CeaseError, Notification, NotificationError, ShutdownMessageError};
pub use open::{Open, ParameterLayout};
pub use route_refresh::{RefreshSubtype, RouteRefresh};
pub use update::Update;

/// Length of the common header.
pub const HEADER_LEN: usize = 19;

/// One BGP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// OPEN (RFC 4271 section 4.2).
    Open(Open),
    /// UPDATE (RFC 4271 section 4.3).
    Update(Update),
    /// NOTIFICATION (RFC 4271 section 4.5).
    Notification(Notification),
    /// KEEPALIVE (RFC 4271 section 4.4).
    Keepalive,
    /// ROUTE-REFRESH (RFC 2918, RFC 7313).
    RouteRefresh(RouteRefresh),
}

/// A decoded message with the non-fatal findings of RFC 7606 (only UPDATEs
/// have any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The message.
    pub message: Message,
    /// Attribute errors that did not reset the session.
    pub findings: Findings,
}

/// The length of the first message in `buf`, once its header is complete.
///
/// Returns `Ok(None)` while fewer than 19 bytes are buffered, and an error
/// for a bad marker or a length outside 19..=`max_len` (RFC 4271 section
/// 6.1; `max_len` is [`crate::CodecCtx::max_message_len`]). The type-specific
/// length checks happen in [`decode_message`].
pub fn frame_len(buf: &[u8], max_len: usize) -> Result<Option<usize>, DecodeError> {
    let Some((marker, rest)) = buf.split_first_chunk::<16>() else {
        return Ok(None);
    };
    let Some(&[len_hi, len_lo, _]) = rest.first_chunk::<3>() else {
        return Ok(None);
    };
    // One 128-bit comparison instead of 16 octet tests.
    if u128::from_ne_bytes(*marker) != u128::MAX {
        return Err(DecodeError::new(
            "header",
            0,
            ErrorKind::ConnectionNotSynchronized,
        ));
    }
    let length = u16::from_be_bytes([len_hi, len_lo]);
    let len = usize::from(length);
    if !(HEADER_LEN..=max_len).contains(&len) {
        return Err(DecodeError::new(
            "header",
            16,
            ErrorKind::BadMessageLength { length },
        ));
    }
    Ok(Some(len))
}

/// Decode one complete message (header included, exactly one message long).
pub fn decode_message(msg: &[u8], ctx: &DecodeCtx) -> Result<Decoded, DecodeError> {
    let mut update = Update::default();
    let mut findings = Findings::default();
    let message = match decode_message_into(msg, ctx, &mut update, &mut findings)? {
        Some(other) => other,
        None => Message::Update(update),
    };
    Ok(Decoded { message, findings })
}

/// Decode one complete message like [`decode_message`], but an UPDATE goes
/// into `update` and `findings` (cleared first, their allocations reused;
/// see [`update::decode_update_into`]) and `Ok(None)` is returned; any other
/// message comes back as `Ok(Some(message))`.
pub fn decode_message_into(
    msg: &[u8],
    ctx: &DecodeCtx,
    update: &mut Update,
    findings: &mut Findings,
) -> Result<Option<Message>, DecodeError> {
    let len = match frame_len(msg, ctx.max_message_len())? {
        Some(len) if len == msg.len() => len,
        Some(_) | None => {
            return Err(DecodeError::new(
                "header",
                16,
                ErrorKind::BadMessageLength {
                    length: u16::try_from(msg.len()).unwrap_or(u16::MAX),
                },
            ));
        }
    };
    let length = len as u16;
    let bad_length = || {
        Err(DecodeError::new(
            "header",
            16,
            ErrorKind::BadMessageLength { length },
        ))
    };
    let body = &msg[HEADER_LEN..];
    findings.0.clear();
    match msg[18] {
        // RFC 8654 section 4: OPEN and KEEPALIVE never exceed 4096 octets.
        message_type::OPEN if !(29..=MAX_MESSAGE_LEN).contains(&len) => bad_length(),
        message_type::OPEN => Ok(Some(Message::Open(Open::decode(body)?))),
        message_type::UPDATE if len < 23 => bad_length(),
        message_type::UPDATE => {
            update::decode_update_into(body, ctx, update, findings)?;
            Ok(None)
        }
        message_type::NOTIFICATION if len < 21 => bad_length(),
        message_type::NOTIFICATION => Ok(Some(Message::Notification(Notification::decode(body)?))),
        message_type::KEEPALIVE if len != HEADER_LEN => bad_length(),
        message_type::KEEPALIVE => Ok(Some(Message::Keepalive)),
        message_type::ROUTE_REFRESH => Ok(Some(Message::RouteRefresh(RouteRefresh::decode(msg)?))),
        other => Err(DecodeError::new(
            "header",
            18,
            ErrorKind::BadMessageType {
                message_type: other,
            },
        )),
    }
}

impl Message {
    /// The message type code.
    pub fn message_type(&self) -> u8 {
        match self {
            Message::Open(_) => message_type::OPEN,
            Message::Update(_) => message_type::UPDATE,
            Message::Notification(_) => message_type::NOTIFICATION,
            Message::Keepalive => message_type::KEEPALIVE,
            Message::RouteRefresh(_) => message_type::ROUTE_REFRESH,
        }
    }

    /// Append the whole message, header included, to `out`.
    ///
    /// Fails, leaving `out` as it was, if the message exceeds the session's
    /// maximum size; use [`crate::packer`] to split large UPDATEs.
    pub fn encode(&self, ctx: &EncodeCtx, out: &mut BytesMut) -> Result<(), EncodeError> {
        if let Message::Update(update) = self {
            update.check_encodable()?;
        }
        let start = out.len();
        write_header_placeholder(out, self.message_type());
        match self {
            Message::Open(open) => open.encode(out),
            Message::Update(update) => update.encode(ctx, out),
            Message::Notification(notification) => notification.encode(out),
            Message::Keepalive => {}
            Message::RouteRefresh(refresh) => refresh.encode(out),
        }
        let max = match self {
            Message::Open(_) | Message::Keepalive => MAX_MESSAGE_LEN,
            _ => ctx.max_message_len(),
        };
        finish_header(out, start, max)
    }

    /// The message encoded into a new buffer.
    pub fn to_bytes(&self, ctx: &EncodeCtx) -> Result<BytesMut, EncodeError> {
        let mut out = BytesMut::with_capacity(64);
        self.encode(ctx, &mut out)?;
        Ok(out)
    }
}

/// Write a header with a zero length field; [`finish_header`] fills it in.
pub(crate) fn write_header_placeholder(out: &mut BytesMut, msg_type: u8) {
    out.put_slice(&[0xff; 16]);
    out.put_u16(0);
    out.put_u8(msg_type);
}

/// Fill in the length of the message that starts at `start`, or undo it.
pub(crate) fn finish_header(
    out: &mut BytesMut,
    start: usize,
    max: usize,
) -> Result<(), EncodeError> {
    let length = out.len() - start;
    if length > max {
        out.truncate(start);
        return Err(EncodeError::TooLong { length, max });
    }
    out[start + 16..start + 18].copy_from_slice(&(length as u16).to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CodecCtx;

    #[test]
    fn frame_len_waits_for_a_whole_header() {
        assert_eq!(frame_len(&[0xff; 18], 4096), Ok(None));
    }

    #[test]
    fn frame_len_rejects_a_bad_marker() {
        let mut header = [0xffu8; 19];
        header[3] = 0;
        let err = frame_len(&header, 4096).unwrap_err();
        assert_eq!(err.notification().code, 1);
        assert_eq!(err.notification().subcode, 1);
    }

    #[test]
    fn frame_len_rejects_lengths_beyond_the_session_limit() {
        let mut header = [0xffu8; 19];
        header[16..18].copy_from_slice(&5000u16.to_be_bytes());
        header[18] = 2;
        assert!(frame_len(&header, 4096).is_err());
        assert_eq!(frame_len(&header, 65535), Ok(Some(5000)));
    }

    #[test]
    fn keepalive_round_trips() {
        let ctx = CodecCtx::default();
        let bytes = Message::Keepalive.to_bytes(&ctx).unwrap();
        assert_eq!(bytes.len(), 19);
        assert_eq!(
            decode_message(&bytes, &ctx).unwrap().message,
            Message::Keepalive
        );
    }

    #[test]
    fn keepalive_with_a_body_is_a_length_error() {
        let mut bytes = Message::Keepalive.to_bytes(&CodecCtx::default()).unwrap();
        bytes.put_u8(0);
        bytes[17] = 20;
        let err = decode_message(&bytes, &CodecCtx::default()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadMessageLength { length: 20 });
    }

    #[test]
    fn unknown_type_is_bad_message_type() {
        let mut bytes = Message::Keepalive.to_bytes(&CodecCtx::default()).unwrap();
        bytes[18] = 9;
        let n = decode_message(&bytes, &CodecCtx::default())
            .unwrap_err()
            .notification();
        assert_eq!((n.code, n.subcode, &n.data[..]), (1, 3, &[9u8][..]));
    }
}
