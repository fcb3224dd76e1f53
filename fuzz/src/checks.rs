//! The checks behind every fuzz target, shared with the regression tests.
//!
//! This file is compiled twice: as a module of the fuzz crate (the targets in
//! `fuzz/fuzz_targets/` are one-line wrappers around these functions) and,
//! through `#[path]`, as a module of `bgp-proto/tests/fuzz_regressions.rs`,
//! which replays every file of `fuzz/regressions/` and `fuzz/seeds/` through
//! the same functions under `cargo test`. It may therefore use only
//! `bgp-proto`, `bytes`, `ipnetwork`, `proptest` and the standard library, and
//! it reaches the proptest strategies as `super::strategies`.
//!
//! Every check panics on a finding; "no panic" is the property of the decoders.
//!
//! Input layout shared by `decode_message` and `decode_update`: the first two
//! bytes choose the [`DecodeCtx`] (see [`ctx_from_bytes`]), the rest is the
//! message (or UPDATE body).
#![allow(dead_code)]

use bgp_proto::attribute::PathAttribute;
use bgp_proto::message::update::decode_update;
use bgp_proto::message::{Decoded, Message, Update};
use bgp_proto::mrt::bgpdump::Bgpdump;
use bgp_proto::mrt::{MrtBody, MrtReader, MrtRecord};
use bgp_proto::{
    AddPathFamilies, AfiSafi, CodecCtx, DecodeCtx, DecodeError, PeerType, decode_message, frame_len,
};
use bytes::BytesMut;

/// The families whose ADD-PATH bits the second context byte carries, in bit order.
pub const ADD_PATH_FAMILIES: [AfiSafi; 4] = [
    AfiSafi::IPV4_UNICAST,
    AfiSafi::IPV6_UNICAST,
    AfiSafi::IPV4_MULTICAST,
    AfiSafi::IPV6_MULTICAST,
];

/// Bit of the first context byte: 4-octet AS numbers (RFC 6793).
pub const CTX_FOUR_OCTET_AS: u8 = 0x01;
/// Bit of the first context byte: Extended Message (RFC 8654).
pub const CTX_EXTENDED_MESSAGE: u8 = 0x02;
/// Bit of the first context byte: the peer is external (eBGP).
pub const CTX_EXTERNAL: u8 = 0x04;

/// Split `data` into a decoding context and the rest.
///
/// Byte 0: [`CTX_FOUR_OCTET_AS`], [`CTX_EXTENDED_MESSAGE`], [`CTX_EXTERNAL`];
/// byte 1: bit `i` turns on ADD-PATH for `ADD_PATH_FAMILIES[i]`. Missing
/// bytes count as zero; other bits are ignored.
pub fn ctx_from_bytes(data: &[u8]) -> (DecodeCtx, &[u8]) {
    let (head, rest) = data.split_at(data.len().min(2));
    let flags = head.first().copied().unwrap_or(0);
    let add_path_bits = head.get(1).copied().unwrap_or(0);
    let mut add_path = AddPathFamilies::NONE;
    for (bit, family) in ADD_PATH_FAMILIES.iter().enumerate() {
        if add_path_bits & (1 << bit) != 0 {
            add_path.insert(*family);
        }
    }
    let ctx = CodecCtx {
        four_octet_as: flags & CTX_FOUR_OCTET_AS != 0,
        add_path,
        extended_message: flags & CTX_EXTENDED_MESSAGE != 0,
        peer_type: if flags & CTX_EXTERNAL != 0 {
            PeerType::External
        } else {
            PeerType::Internal
        },
    };
    (ctx, rest)
}

/// The two context bytes that [`ctx_from_bytes`] reads back as `ctx`.
pub fn ctx_to_bytes(ctx: &DecodeCtx) -> [u8; 2] {
    let mut flags = 0;
    if ctx.four_octet_as {
        flags |= CTX_FOUR_OCTET_AS;
    }
    if ctx.extended_message {
        flags |= CTX_EXTENDED_MESSAGE;
    }
    if ctx.peer_type == PeerType::External {
        flags |= CTX_EXTERNAL;
    }
    let mut add_path_bits = 0;
    for (bit, family) in ADD_PATH_FAMILIES.iter().enumerate() {
        if ctx.add_path_for(*family) {
            add_path_bits |= 1 << bit;
        }
    }
    [flags, add_path_bits]
}

/// Target `decode_message`: context bytes, then a byte stream.
///
/// The stream is framed with [`frame_len`] and every complete message is
/// decoded; the whole stream is also given to [`decode_message`] as one
/// message. Nothing may panic, and every message that decodes must
/// re-encode (see [`check_reencodes`]).
pub fn check_decode_message(data: &[u8]) {
    let (ctx, stream) = ctx_from_bytes(data);
    let max = ctx.max_message_len();
    let mut rest = stream;
    while let Ok(Some(len)) = frame_len(rest, max) {
        assert!((19..=max).contains(&len), "frame_len returned {len}");
        let Some(frame) = rest.get(..len) else {
            break; // incomplete: a reader would wait for more bytes
        };
        check_decoded(decode_message(frame, &ctx), &ctx);
        rest = &rest[len..];
    }
    check_decoded(decode_message(stream, &ctx), &ctx);
}

/// What a speaker does with a decode result: log it (see [`render`]), send
/// the NOTIFICATION of an error, and here also re-encode a message.
fn check_decoded(result: Result<Decoded, DecodeError>, ctx: &DecodeCtx) {
    match result {
        Ok(decoded) => {
            render(&decoded);
            check_reencodes(&decoded.message, ctx);
        }
        Err(err) => render_error(&err),
    }
}

/// Format a decoded message the ways logs do: `Debug` of the whole, and
/// `Display` of the parts that have one (capabilities, NOTIFICATIONs, AS
/// paths, communities, findings). None of it may panic or recurse without
/// bound.
pub fn render(decoded: &Decoded) {
    let mut text = format!("{decoded:?}");
    match &decoded.message {
        Message::Open(open) => {
            for capability in &open.capabilities {
                text += &capability.to_string();
            }
        }
        Message::Notification(notification) => {
            text += &notification.to_string();
            text += &notification.error().to_string();
        }
        Message::Update(update) => {
            for attribute in &update.attributes {
                match attribute {
                    PathAttribute::AsPath(path) | PathAttribute::As4Path(path) => {
                        text += &path.to_string();
                    }
                    PathAttribute::Communities(list) => {
                        list.iter().for_each(|c| text += &c.to_string());
                    }
                    PathAttribute::LargeCommunities(list) => {
                        list.iter().for_each(|c| text += &c.to_string());
                    }
                    _ => {}
                }
            }
            for (family, nlri) in update.announced().chain(update.withdrawn_routes()) {
                text += &format!("{family} {nlri}");
            }
        }
        Message::Keepalive | Message::RouteRefresh(_) => {}
    }
    for finding in decoded.findings.iter() {
        render_error(&finding.error);
    }
    assert!(!text.is_empty());
}

/// Format an error and build its NOTIFICATION, as a speaker does on a
/// session reset.
pub fn render_error(err: &DecodeError) {
    let notification = err.notification();
    let text = format!("{err} {err:?} {notification}");
    assert!(!text.is_empty());
}

/// A decoded message must encode within the session limit, and decode back
/// to itself: everything the decoder accepts, the encoder reproduces.
pub fn check_reencodes(message: &Message, ctx: &DecodeCtx) {
    let bytes = match message.to_bytes(ctx) {
        Ok(bytes) => bytes,
        Err(err) => panic!("decoded message does not re-encode: {err}\n{message:?}"),
    };
    let again = match decode_message(&bytes, ctx) {
        Ok(decoded) => decoded,
        Err(err) => panic!(
            "re-encoded message does not decode: {err}\n{message:?}\nbytes {}",
            hex(&bytes)
        ),
    };
    assert_eq!(
        &again.message,
        message,
        "decode(encode(decoded)) differs; bytes {}",
        hex(&bytes)
    );
}

/// Target `decode_update`: context bytes, then an UPDATE body (no header).
///
/// If the body decodes, its UPDATE is encoded and decoded again (second
/// value), and once more (third value): the second and third must be equal
/// and encode to the same bytes. The first must equal the second, too: the
/// decoder drops what it cannot represent, so what it returns is exact.
pub fn check_decode_update(data: &[u8]) {
    let (ctx, body) = ctx_from_bytes(data);
    let (first, findings) = match decode_update(body, &ctx) {
        Ok(decoded) => decoded,
        Err(err) => return render_error(&err),
    };
    findings
        .iter()
        .for_each(|finding| render_error(&finding.error));
    let second_bytes = update_body(&first, &ctx);
    let second = decode_again(&second_bytes, &ctx, &first);
    let third_bytes = update_body(&second, &ctx);
    let third = decode_again(&third_bytes, &ctx, &second);
    assert_eq!(second, third, "third decode differs from the second");
    assert_eq!(second_bytes, third_bytes, "encoding is not stable");
    assert_eq!(
        first,
        second,
        "decode(encode(decoded)) differs; body {}",
        hex(&second_bytes)
    );
}

/// The UPDATE body (after the header) of `update`.
pub fn update_body(update: &Update, ctx: &DecodeCtx) -> BytesMut {
    let mut out = BytesMut::new();
    update.encode(ctx, &mut out);
    out
}

fn decode_again(body: &[u8], ctx: &DecodeCtx, from: &Update) -> Update {
    match decode_update(body, ctx) {
        Ok((update, _findings)) => update,
        Err(err) => panic!(
            "re-encoded UPDATE does not decode: {err}\n{from:?}\nbody {}",
            hex(body)
        ),
    }
}

/// Length of the MRT common header: every record takes at least this much.
const MRT_HEADER_LEN: usize = 12;

/// Target `decode_mrt`: the input is an MRT stream.
///
/// Every record is read; the BGP parts of each (BGP4MP messages, RIB and
/// TABLE_DUMP attribute blocks) are decoded, and the record is formatted as
/// `bgpdump -m` does. Nothing may panic, the reader must make progress (at
/// most one result per 12 input bytes, plus one), a BGP4MP message that
/// decodes must re-encode (see [`check_reencodes`]), and a record that
/// encodes must read back as itself.
pub fn check_decode_mrt(data: &[u8]) {
    let most = data.len() / MRT_HEADER_LEN + 1;
    let mut formatter = Bgpdump::new();
    let mut text = Vec::new();
    for (count, result) in MrtReader::new(data).enumerate() {
        assert!(
            count < most,
            "more than {most} results from {} bytes",
            data.len()
        );
        let Ok(record) = result else { continue };
        decode_record_contents(&record);
        let _ = formatter.write_record(&record, &mut text);
        text.clear();
        check_record_reencodes(&record);
    }
}

/// Decode the BGP data a record carries as bytes.
fn decode_record_contents(record: &MrtRecord) {
    match &record.body {
        MrtBody::Bgp4mpMessage(message) => {
            check_decoded(message.decode(), &message.decode_ctx());
        }
        MrtBody::Rib(rib) => {
            for entry in &rib.entries {
                let _ = rib.decode_entry_attributes(entry);
            }
        }
        MrtBody::TableDump(dump) => {
            let _ = dump.decode_attributes();
        }
        MrtBody::PeerIndexTable(_) | MrtBody::Bgp4mpStateChange(_) | MrtBody::Raw(_) => {}
    }
}

/// A record that the writer accepts reads back as the same record.
fn check_record_reencodes(record: &MrtRecord) {
    let mut out = BytesMut::new();
    if record.encode(&mut out).is_err() {
        return;
    }
    let mut again = MrtReader::new(&out[..]);
    match again.next() {
        Some(Ok(read)) => assert_eq!(&read, record, "record differs; bytes {}", hex(&out)),
        Some(Err(err)) => panic!(
            "re-encoded record does not read: {err}\nbytes {}",
            hex(&out)
        ),
        None => panic!("re-encoded record is empty"),
    }
    assert!(again.next().is_none(), "re-encoded record reads as several");
}

/// Target `roundtrip`: the input seeds the proptest strategies of
/// `bgp-proto/tests/strategies` to build a context and a valid message, which must encode and decode back
/// to itself with no findings. Messages the context cannot carry
/// ([`bgp_proto::EncodeError::TooLong`]) are skipped.
pub fn check_roundtrip(data: &[u8]) {
    let Some((ctx, message)) = super::strategies::from_bytes(data) else {
        return;
    };
    super::strategies::assert_round_trips(&ctx, &message);
}

/// Lower-case hex, for failure messages and regression files.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
