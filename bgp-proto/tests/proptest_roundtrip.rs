//! Property tests of the wire codec, over arbitrary valid values (see
//! `strategies/mod.rs`) in arbitrary session contexts.
//!
//! - every message type round-trips: `decode(encode(m)) == m`, no findings;
//! - no input makes `decode_message` or `frame_len` panic: arbitrary bytes,
//!   arbitrary bodies behind a valid header of each type, and valid messages
//!   with bytes overwritten or cut off;
//! - the packer's UPDATEs decode back to the prefix set they were given, with
//!   the attribute block intact, in no more messages than the byte count
//!   requires plus one.
//!
//! Each property runs proptest's default 256 cases; the whole file stays
//! well under 30 seconds in a debug build.

mod strategies;

use bgp_proto::attribute::{MpNlri, NextHop, PathAttribute, encode_attributes_to_bytes};
use bgp_proto::context::{MAX_EXTENDED_MESSAGE_LEN, MAX_MESSAGE_LEN};
use bgp_proto::message::Update;
use bgp_proto::packer::{pack_ipv4_nlri, pack_mp_reach, pack_withdrawals};
use bgp_proto::{
    AddPathFamilies, AfiSafi, CodecCtx, EncodeError, Message, Nlri, PeerType, decode_message,
    frame_len,
};
use bytes::BytesMut;
use proptest::collection::vec;
use proptest::prelude::*;

use strategies::{
    IP_FAMILIES, assert_round_trips, ctx, ctx_and_message, message, next_hop, nlri, notification,
    open, open_with_extended_parameters, packer_attributes, route_refresh, update,
};

/// Header fields after the 16-octet marker.
const LENGTH_AT: usize = 16;
const TYPE_AT: usize = 18;
const HEADER_LEN: usize = 19;
/// UPDATE header plus the two length fields.
const UPDATE_OVERHEAD: usize = HEADER_LEN + 4;

// ---------------------------------------------------------------- round trips

#[test]
fn keepalive_round_trips_in_every_context() {
    for bits in 0u8..64 {
        let mut add_path = AddPathFamilies::NONE;
        for (bit, family) in IP_FAMILIES.iter().enumerate() {
            if bits & (1 << bit) != 0 {
                add_path.insert(*family);
            }
        }
        let ctx = CodecCtx {
            four_octet_as: bits & 0x10 != 0,
            add_path,
            extended_message: bits & 0x20 != 0,
            peer_type: PeerType::Internal,
        };
        for peer_type in [PeerType::Internal, PeerType::External] {
            let ctx = ctx.with_peer_type(peer_type);
            assert!(assert_round_trips(&ctx, &Message::Keepalive));
        }
    }
}

proptest! {
    #[test]
    fn any_message_round_trips((ctx, message) in ctx_and_message()) {
        assert_round_trips(&ctx, &message);
    }

    #[test]
    fn update_round_trips((ctx, update) in ctx().prop_flat_map(|ctx| (Just(ctx), update(ctx)))) {
        assert_round_trips(&ctx, &Message::Update(update));
    }

    #[test]
    fn open_round_trips(ctx in ctx(), open in open()) {
        assert_round_trips(&ctx, &Message::Open(open));
    }

    #[test]
    fn open_with_rfc9072_extended_parameters_round_trips(open in open_with_extended_parameters()) {
        let message = Message::Open(open);
        let bytes = match message.to_bytes(&CodecCtx::default()) {
            Ok(bytes) => bytes,
            Err(EncodeError::TooLong { .. }) => return Ok(()),
            Err(err) => panic!("{err}"),
        };
        // RFC 9072 section 2: Non-Ext OP Len 255, then Non-Ext OP Type 255.
        prop_assert_eq!(&bytes[HEADER_LEN + 9..HEADER_LEN + 11], &[255u8, 255][..]);
        prop_assert!(assert_round_trips(&CodecCtx::default(), &message));
    }

    #[test]
    fn notification_round_trips(ctx in ctx(), notification in notification()) {
        assert_round_trips(&ctx, &Message::Notification(notification));
    }

    #[test]
    fn route_refresh_round_trips(ctx in ctx(), refresh in route_refresh()) {
        prop_assert!(assert_round_trips(&ctx, &Message::RouteRefresh(refresh)));
    }
}

// ---------------------------------------------------------------- no panics

/// Decode `bytes` every way a reader might: framed, and as one message.
fn decode_every_way(bytes: &[u8], ctx: &CodecCtx) {
    let _ = frame_len(bytes, MAX_MESSAGE_LEN);
    let _ = frame_len(bytes, MAX_EXTENDED_MESSAGE_LEN);
    if let Ok(Some(len)) = frame_len(bytes, ctx.max_message_len()) {
        assert!((HEADER_LEN..=ctx.max_message_len()).contains(&len));
        if let Some(frame) = bytes.get(..len) {
            let _ = decode_message(frame, ctx);
        }
    }
    let _ = decode_message(bytes, ctx);
}

/// The message type octets worth trying: all defined ones and a few others.
fn message_type() -> impl Strategy<Value = u8> {
    prop_oneof![4 => 1u8..=5, 1 => any::<u8>()]
}

/// `body` behind a valid marker and a length field that matches it.
fn with_header(message_type: u8, body: &[u8]) -> Vec<u8> {
    let mut msg = vec![0xff; 16];
    let len = u16::try_from(HEADER_LEN + body.len()).expect("body fits a message");
    msg.extend_from_slice(&len.to_be_bytes());
    msg.push(message_type);
    msg.extend_from_slice(body);
    msg
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(ctx in ctx(), bytes in vec(any::<u8>(), 0..=600)) {
        decode_every_way(&bytes, &ctx);
    }

    #[test]
    fn arbitrary_bodies_behind_a_valid_header_never_panic(
        ctx in ctx(),
        message_type in message_type(),
        body in prop_oneof![8 => vec(any::<u8>(), 0..=64), 1 => vec(any::<u8>(), 0..=5000)],
    ) {
        let msg = with_header(message_type, &body);
        decode_every_way(&msg, &ctx);
        prop_assert_eq!(frame_len(&msg, MAX_EXTENDED_MESSAGE_LEN), Ok(Some(msg.len())));
    }

    /// Valid messages with a few octets overwritten (the length field kept
    /// right, or not) or cut short: the nearest misses of the decoder.
    #[test]
    fn damaged_valid_messages_never_panic(
        (ctx, message) in ctx_and_message(),
        damage in vec((any::<prop::sample::Index>(), any::<u8>()), 1..=6),
        keep_length in any::<bool>(),
        cut in any::<prop::sample::Index>(),
    ) {
        let Ok(bytes) = message.to_bytes(&ctx) else { return Ok(()) };
        let mut bytes = bytes.to_vec();
        for (index, value) in &damage {
            let at = index.index(bytes.len());
            bytes[at] = *value;
        }
        if keep_length {
            let len = u16::try_from(bytes.len()).expect("message fits");
            bytes[LENGTH_AT..LENGTH_AT + 2].copy_from_slice(&len.to_be_bytes());
        }
        decode_every_way(&bytes, &ctx);
        let short = &bytes[..cut.index(bytes.len())];
        decode_every_way(short, &ctx);
    }

    /// The same for UPDATE bodies with their lengths fixed up, so that the
    /// damage lands in attributes and prefixes rather than the header.
    #[test]
    fn damaged_update_bodies_never_panic(
        (ctx, update) in ctx().prop_flat_map(|ctx| (Just(ctx), update(ctx))),
        damage in vec((any::<prop::sample::Index>(), any::<u8>()), 1..=4),
    ) {
        let Ok(bytes) = Message::Update(update).to_bytes(&ctx) else { return Ok(()) };
        let mut bytes = bytes.to_vec();
        let body_len = bytes.len() - HEADER_LEN;
        for (index, value) in &damage {
            let at = HEADER_LEN + index.index(body_len);
            bytes[at] = *value;
        }
        prop_assert_eq!(bytes[TYPE_AT], 2);
        decode_every_way(&bytes, &ctx);
    }
}

// ---------------------------------------------------------------- packer

/// Decode a run of packed messages; every one is an UPDATE without findings.
fn decode_packed(mut buf: &[u8], ctx: &CodecCtx) -> Vec<Update> {
    let mut updates = Vec::new();
    while !buf.is_empty() {
        let len = frame_len(buf, ctx.max_message_len())
            .expect("packed messages frame")
            .expect("whole messages");
        let decoded = decode_message(&buf[..len], ctx).expect("packed UPDATE decodes");
        assert!(decoded.findings.is_empty(), "{:?}", decoded.findings);
        match decoded.message {
            Message::Update(update) => updates.push(update),
            other => panic!("the packer wrote {other:?}"),
        }
        buf = &buf[len..];
    }
    updates
}

fn sorted(mut prefixes: Vec<Nlri>) -> Vec<Nlri> {
    prefixes.sort();
    prefixes
}

/// Fewest messages `total` bytes of prefixes can take with `room` bytes
/// each, and one more (the packer's documented bound).
fn assert_near_minimal(count: usize, total: usize, room: usize) {
    let lower = total.div_ceil(room);
    assert!(
        count <= lower + 1,
        "{count} messages for {total} bytes with room {room}"
    );
}

/// Contexts for the packer: usually 4096-octet messages, so that a few
/// hundred prefixes need several UPDATEs.
fn packer_ctx() -> impl Strategy<Value = CodecCtx> {
    (ctx(), prop::bool::weighted(0.2)).prop_map(|(ctx, ext)| ctx.with_extended_message(ext))
}

fn prefixes(family: AfiSafi, ctx: CodecCtx) -> BoxedStrategy<Vec<Nlri>> {
    let add_path = ctx.add_path_for(family);
    prop_oneof![
        1 => vec(nlri(family.afi, add_path), 0..=20),
        2 => vec(nlri(family.afi, add_path), 200..=1500),
    ]
    .boxed()
}

proptest! {
    #[test]
    fn packed_ipv4_nlri_decode_to_the_same_prefixes(
        (ctx, attributes, prefixes) in packer_ctx().prop_flat_map(|ctx| {
            (Just(ctx), packer_attributes(ctx, true), prefixes(AfiSafi::IPV4_UNICAST, ctx))
        })
    ) {
        let block = encode_attributes_to_bytes(&attributes, &ctx);
        let mut out = BytesMut::new();
        let count = match pack_ipv4_nlri(&block, &prefixes, &ctx, &mut out) {
            Ok(count) => count,
            Err(EncodeError::TooLong { .. }) => return Ok(()),
            Err(err) => panic!("{err}"),
        };
        let updates = decode_packed(&out, &ctx);
        prop_assert_eq!(updates.len(), count);
        let mut seen = Vec::new();
        for update in updates {
            prop_assert!(update.withdrawn.is_empty());
            prop_assert_eq!(&update.attributes, &attributes);
            prop_assert!(!update.nlri.is_empty());
            seen.extend(update.nlri);
        }
        let add_path = ctx.add_path_for(AfiSafi::IPV4_UNICAST);
        let total = prefixes.iter().map(|p| p.encoded_len(add_path)).sum();
        assert_near_minimal(count, total, ctx.max_message_len() - UPDATE_OVERHEAD - block.len());
        prop_assert_eq!(sorted(seen), sorted(prefixes));
    }

    #[test]
    fn packed_mp_reach_decodes_to_the_same_prefixes(
        (ctx, family, next_hop, attributes, prefixes) in packer_ctx()
            .prop_flat_map(|ctx| (Just(ctx), prop::sample::select(IP_FAMILIES.to_vec())))
            .prop_flat_map(|(ctx, family)| (
                Just(ctx),
                Just(family),
                next_hop(family),
                packer_attributes(ctx, false),
                prefixes(family, ctx),
            ))
    ) {
        let block = encode_attributes_to_bytes(&attributes, &ctx);
        let mut out = BytesMut::new();
        let count = match pack_mp_reach(&block, family, &next_hop, &prefixes, &ctx, &mut out) {
            Ok(count) => count,
            Err(EncodeError::TooLong { .. }) => return Ok(()),
            Err(err) => panic!("{err}"),
        };
        let updates = decode_packed(&out, &ctx);
        prop_assert_eq!(updates.len(), count);
        let mut seen = Vec::new();
        for update in updates {
            let Some((PathAttribute::MpReach(reach), rest)) = update.attributes.split_first()
            else {
                panic!("MP_REACH_NLRI is not first: {:?}", update.attributes);
            };
            prop_assert_eq!(reach.afi_safi, family);
            prop_assert_eq!(&reach.next_hop, &next_hop);
            prop_assert_eq!(rest, &attributes[..]);
            prop_assert!(update.withdrawn.is_empty() && update.nlri.is_empty());
            let MpNlri::Prefixes(list) = &reach.nlri else {
                panic!("IP family decoded as opaque");
            };
            prop_assert!(!list.is_empty());
            seen.extend(list.iter().copied());
        }
        let add_path = ctx.add_path_for(family);
        let total = prefixes.iter().map(|p| p.encoded_len(add_path)).sum();
        let fixed = UPDATE_OVERHEAD + 4 + 5 + next_hop.encoded_len() + block.len();
        assert_near_minimal(count, total, ctx.max_message_len() - fixed);
        prop_assert_eq!(sorted(seen), sorted(prefixes));
    }

    #[test]
    fn packed_withdrawals_decode_to_the_same_prefixes(
        (ctx, family, prefixes) in packer_ctx()
            .prop_flat_map(|ctx| (Just(ctx), prop::sample::select(IP_FAMILIES.to_vec())))
            .prop_flat_map(|(ctx, family)| (Just(ctx), Just(family), prefixes(family, ctx)))
    ) {
        let mut out = BytesMut::new();
        let count = pack_withdrawals(family, &prefixes, &ctx, &mut out).expect("withdrawals fit");
        let updates = decode_packed(&out, &ctx);
        prop_assert_eq!(updates.len(), count);
        let mut seen = Vec::new();
        for update in updates {
            prop_assert!(update.nlri.is_empty());
            if family == AfiSafi::IPV4_UNICAST {
                prop_assert!(update.attributes.is_empty());
                prop_assert!(!update.withdrawn.is_empty());
                seen.extend(update.withdrawn);
            } else {
                prop_assert!(update.withdrawn.is_empty());
                let [PathAttribute::MpUnreach(unreach)] = &update.attributes[..] else {
                    panic!("expected one MP_UNREACH_NLRI: {:?}", update.attributes);
                };
                prop_assert_eq!(unreach.afi_safi, family);
                prop_assert!(!unreach.withdrawn.is_empty());
                seen.extend(unreach.withdrawn.prefixes().iter().copied());
            }
        }
        let add_path = ctx.add_path_for(family);
        let total = prefixes.iter().map(|p| p.encoded_len(add_path)).sum();
        let fixed = if family == AfiSafi::IPV4_UNICAST { UPDATE_OVERHEAD } else { UPDATE_OVERHEAD + 4 + 3 };
        assert_near_minimal(count, total, ctx.max_message_len() - fixed);
        prop_assert_eq!(sorted(seen), sorted(prefixes));
    }
}

/// The strategies themselves: every kind of value they promise shows up.
#[test]
fn strategies_cover_every_message_type() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let mut seen = [false; 6];
    for _ in 0..200 {
        let message = message(CodecCtx::default())
            .new_tree(&mut runner)
            .expect("strategy generates")
            .current();
        seen[usize::from(message.message_type())] = true;
    }
    assert_eq!(seen, [false, true, true, true, true, true]);
    let next = next_hop(AfiSafi::IPV4_UNICAST);
    let kinds: Vec<usize> = (0..100)
        .map(
            |_| match next.new_tree(&mut runner).expect("generates").current() {
                NextHop::V4(_) => 0,
                NextHop::V6 {
                    link_local: None, ..
                } => 1,
                NextHop::V6 { .. } => 2,
                NextHop::Raw(_) => 3,
            },
        )
        .collect();
    for kind in 0..3 {
        assert!(
            kinds.contains(&kind),
            "next hop kind {kind} never generated"
        );
    }
}
