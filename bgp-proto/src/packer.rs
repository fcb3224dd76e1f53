//! Packing many prefixes that share one attribute block into UPDATEs.
//!
//! A speaker with an update group encodes the group's attribute block once
//! ([`crate::attribute::encode_attributes_to_bytes`]) and then calls these
//! functions to write all prefixes that share it into the fewest messages
//! the session's size limit allows. The output is a run of complete
//! messages in one buffer, which can be written as is to every member.
//!
//! Each message is filled until no remaining prefix fits, taking the largest
//! prefixes first, so every message but the last wastes fewer bytes than the
//! smallest prefix left: the count is the byte-count lower bound
//! `ceil(total / room)` except in rare cases where one more is needed.
//!
//! MP_REACH_NLRI / MP_UNREACH_NLRI are written as the first attribute
//! (RFC 7606 section 5.1).

use bytes::{BufMut, BytesMut};

use crate::attribute::NextHop;
use crate::attribute::flags;
use crate::context::EncodeCtx;
use crate::error::EncodeError;
use crate::iana::{AfiSafi, attr_type, message_type};
use crate::message::{HEADER_LEN, finish_header, write_header_placeholder};
use crate::nlri::Nlri;

/// Bytes of an UPDATE that are not attributes or NLRI: the header and the
/// two length fields.
const UPDATE_OVERHEAD: usize = HEADER_LEN + 2 + 2;
/// An MP attribute's header with a 2-octet length.
const MP_ATTR_HEADER: usize = 4;

/// The prefixes still to pack, drained as they are packed.
///
/// Mixed sizes are grouped by size, largest first. Prefixes that all have
/// one size (a run of /24s, the usual case) are packed straight from the
/// caller's slice, in order, without building the groups: the same bytes,
/// without a vector of references per size.
enum SizedQueue<'a> {
    /// Every prefix has `size` octets; `prefixes[next..]` are left.
    Uniform {
        prefixes: &'a [Nlri],
        size: usize,
        next: usize,
    },
    /// (size, prefixes of that size not yet packed), largest size first.
    Mixed {
        buckets: Vec<(usize, Vec<&'a Nlri>)>,
        left: usize,
    },
}

impl<'a> SizedQueue<'a> {
    fn new(prefixes: &'a [Nlri], add_path: bool) -> Self {
        let first = prefixes.first().map(|nlri| nlri.encoded_len(add_path));
        if let Some(size) = first {
            if prefixes
                .iter()
                .all(|nlri| nlri.encoded_len(add_path) == size)
            {
                return SizedQueue::Uniform {
                    prefixes,
                    size,
                    next: 0,
                };
            }
        }
        let mut buckets: Vec<(usize, Vec<&'a Nlri>)> = Vec::new();
        for nlri in prefixes {
            let size = nlri.encoded_len(add_path);
            match buckets.iter_mut().find(|(s, _)| *s == size) {
                Some((_, list)) => list.push(nlri),
                None => buckets.push((size, vec![nlri])),
            }
        }
        buckets.sort_by_key(|bucket| std::cmp::Reverse(bucket.0));
        for (_, list) in &mut buckets {
            // Pop from the end, so reverse to keep input order within a size.
            list.reverse();
        }
        SizedQueue::Mixed {
            buckets,
            left: prefixes.len(),
        }
    }

    fn is_empty(&self) -> bool {
        match self {
            SizedQueue::Uniform { prefixes, next, .. } => *next == prefixes.len(),
            SizedQueue::Mixed { left, .. } => *left == 0,
        }
    }

    fn smallest(&self) -> Option<usize> {
        match self {
            SizedQueue::Uniform { prefixes, size, .. } => (!prefixes.is_empty()).then_some(*size),
            SizedQueue::Mixed { buckets, .. } => buckets
                .iter()
                .rev()
                .find(|(_, list)| !list.is_empty())
                .map(|(s, _)| *s),
        }
    }

    /// Write prefixes into `out` until `room` bytes are used or none fits.
    fn fill(&mut self, mut room: usize, add_path: bool, out: &mut BytesMut) {
        match self {
            SizedQueue::Uniform {
                prefixes,
                size,
                next,
            } => {
                let count = (room / *size).min(prefixes.len() - *next);
                crate::nlri::encode_uniform(&prefixes[*next..*next + count], *size, add_path, out);
                *next += count;
            }
            SizedQueue::Mixed { buckets, left } => {
                for (size, list) in buckets {
                    while *size <= room {
                        let Some(nlri) = list.pop() else { break };
                        nlri.encode(add_path, out);
                        room -= *size;
                        *left -= 1;
                    }
                }
            }
        }
    }
}

fn too_long(needed: usize, max: usize) -> EncodeError {
    EncodeError::TooLong {
        length: needed,
        max,
    }
}

/// Write `prefixes` as IPv4 unicast NLRI (the NLRI field) with the encoded
/// attribute block `attributes`, which must include NEXT_HOP. Returns the
/// number of messages appended to `out`.
pub fn pack_ipv4_nlri(
    attributes: &[u8],
    prefixes: &[Nlri],
    ctx: &EncodeCtx,
    out: &mut BytesMut,
) -> Result<usize, EncodeError> {
    let max = ctx.max_message_len();
    let add_path = ctx.add_path_for(AfiSafi::IPV4_UNICAST);
    let fixed = UPDATE_OVERHEAD + attributes.len();
    let mut queue = SizedQueue::new(prefixes, add_path);
    if let Some(smallest) = queue.smallest() {
        if fixed + smallest > max {
            return Err(too_long(fixed + smallest, max));
        }
    }
    let mut count = 0;
    while !queue.is_empty() {
        let start = out.len();
        write_header_placeholder(out, message_type::UPDATE);
        out.put_u16(0);
        out.put_u16(attributes.len() as u16);
        out.put_slice(attributes);
        queue.fill(max - fixed, add_path, out);
        finish_header(out, start, max)?;
        count += 1;
    }
    Ok(count)
}

/// Write `prefixes` of `afi_safi` in MP_REACH_NLRI attributes with
/// `next_hop`, followed by the encoded attribute block `attributes` (which
/// must not contain MP attributes). Returns the number of messages.
pub fn pack_mp_reach(
    attributes: &[u8],
    afi_safi: AfiSafi,
    next_hop: &NextHop,
    prefixes: &[Nlri],
    ctx: &EncodeCtx,
    out: &mut BytesMut,
) -> Result<usize, EncodeError> {
    if next_hop.encoded_len() > 255 {
        return Err(EncodeError::Unrepresentable {
            field: "MP_REACH_NLRI next hop",
            reason: "longer than 255 octets",
        });
    }
    let max = ctx.max_message_len();
    let add_path = ctx.add_path_for(afi_safi);
    let mp_fixed = 5 + next_hop.encoded_len();
    let fixed = UPDATE_OVERHEAD + MP_ATTR_HEADER + mp_fixed + attributes.len();
    let mut queue = SizedQueue::new(prefixes, add_path);
    if let Some(smallest) = queue.smallest() {
        if fixed + smallest > max {
            return Err(too_long(fixed + smallest, max));
        }
    }
    let mut count = 0;
    while !queue.is_empty() {
        let start = out.len();
        write_header_placeholder(out, message_type::UPDATE);
        out.put_u16(0);
        let attrs_len_at = out.len();
        out.put_u16(0);
        let mp_at = out.len();
        // Written with a 2-octet length, shortened below when it fits in one.
        out.put_u8(flags::OPTIONAL | flags::EXTENDED_LENGTH);
        out.put_u8(attr_type::MP_REACH_NLRI);
        out.put_u16(0);
        let value_at = out.len();
        crate::attribute::MpReach {
            afi_safi,
            next_hop: next_hop.clone(),
            nlri: crate::attribute::MpNlri::Prefixes(Vec::new()),
        }
        .encode(add_path, out);
        queue.fill(max - fixed, add_path, out);
        finish_mp_attribute(out, mp_at, value_at);
        out.put_slice(attributes);
        let attrs_len = out.len() - attrs_len_at - 2;
        out[attrs_len_at..attrs_len_at + 2].copy_from_slice(&(attrs_len as u16).to_be_bytes());
        finish_header(out, start, max)?;
        count += 1;
    }
    Ok(count)
}

/// Write withdrawals of `prefixes` of `afi_safi`: in the withdrawn-routes
/// field for IPv4 unicast, in MP_UNREACH_NLRI otherwise. Returns the number
/// of messages.
pub fn pack_withdrawals(
    afi_safi: AfiSafi,
    prefixes: &[Nlri],
    ctx: &EncodeCtx,
    out: &mut BytesMut,
) -> Result<usize, EncodeError> {
    let max = ctx.max_message_len();
    let add_path = ctx.add_path_for(afi_safi);
    let mut queue = SizedQueue::new(prefixes, add_path);
    let mut count = 0;
    while !queue.is_empty() {
        let start = out.len();
        write_header_placeholder(out, message_type::UPDATE);
        if afi_safi == AfiSafi::IPV4_UNICAST {
            let withdrawn_at = out.len();
            out.put_u16(0);
            queue.fill(max - UPDATE_OVERHEAD, add_path, out);
            let len = out.len() - withdrawn_at - 2;
            out[withdrawn_at..withdrawn_at + 2].copy_from_slice(&(len as u16).to_be_bytes());
            out.put_u16(0);
        } else {
            out.put_u16(0);
            let attrs_len_at = out.len();
            out.put_u16(0);
            let mp_at = out.len();
            out.put_u8(flags::OPTIONAL | flags::EXTENDED_LENGTH);
            out.put_u8(attr_type::MP_UNREACH_NLRI);
            out.put_u16(0);
            let value_at = out.len();
            out.put_u16(afi_safi.afi.0);
            out.put_u8(afi_safi.safi.0);
            queue.fill(max - UPDATE_OVERHEAD - MP_ATTR_HEADER - 3, add_path, out);
            finish_mp_attribute(out, mp_at, value_at);
            let attrs_len = out.len() - attrs_len_at - 2;
            out[attrs_len_at..attrs_len_at + 2].copy_from_slice(&(attrs_len as u16).to_be_bytes());
        }
        finish_header(out, start, max)?;
        count += 1;
    }
    Ok(count)
}

/// Fill in an MP attribute's length; use the 1-octet form when the value
/// fits, so the encoding is the canonical one.
fn finish_mp_attribute(out: &mut BytesMut, attr_at: usize, value_at: usize) {
    let len = out.len() - value_at;
    if len > 255 {
        out[attr_at + 2..attr_at + 4].copy_from_slice(&(len as u16).to_be_bytes());
        return;
    }
    out[attr_at] &= !flags::EXTENDED_LENGTH;
    out[attr_at + 2] = len as u8;
    // Drop the second length octet by moving the value down one byte.
    out.copy_within(value_at.., attr_at + 3);
    out.truncate(out.len() - 1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CodecCtx;
    use crate::attribute::{AsPath, Origin, PathAttribute, encode_attributes_to_bytes};
    use crate::message::{Message, decode_message};
    use ipnetwork::IpNetwork;
    use std::net::Ipv4Addr;

    fn v4_prefixes(count: u32) -> Vec<Nlri> {
        (0..count)
            .map(|i| {
                let addr = Ipv4Addr::from(0x0a00_0000 + (i << 8));
                Nlri::new(IpNetwork::V4(
                    ipnetwork::Ipv4Network::new(addr, 24).unwrap(),
                ))
            })
            .collect()
    }

    fn decode_all(mut buf: &[u8], ctx: &CodecCtx) -> Vec<crate::message::Update> {
        let mut updates = Vec::new();
        while let Some(len) = crate::frame_len(buf, ctx.max_message_len()).unwrap() {
            let decoded = decode_message(&buf[..len], ctx).unwrap();
            assert!(decoded.findings.is_empty(), "{:?}", decoded.findings);
            match decoded.message {
                Message::Update(update) => updates.push(update),
                other => panic!("not an UPDATE: {other:?}"),
            }
            buf = &buf[len..];
        }
        updates
    }

    fn base_attributes() -> Vec<PathAttribute> {
        vec![
            PathAttribute::Origin(Origin::Igp),
            PathAttribute::AsPath(AsPath::from_sequence(vec![64512])),
        ]
    }

    /// The base attributes with NEXT_HOP, and their encoded block.
    fn ipv4_block(ctx: &CodecCtx) -> (Vec<PathAttribute>, bytes::Bytes) {
        let mut attrs = base_attributes();
        attrs.push(PathAttribute::NextHop(Ipv4Addr::new(192, 0, 2, 1)));
        let block = encode_attributes_to_bytes(&attrs, ctx);
        (attrs, block)
    }

    #[test]
    fn prefixes_of_one_size_and_of_mixed_sizes_pack_in_order_into_full_messages() {
        let ctx = CodecCtx::default();
        let (_, attributes) = ipv4_block(&ctx);
        let room = 4096 - UPDATE_OVERHEAD - attributes.len();
        // 2,000 /24s (4 octets each), room / 4 of them per message.
        let uniform = v4_prefixes(2_000);
        let mut out = BytesMut::new();
        let messages = pack_ipv4_nlri(&attributes, &uniform, &ctx, &mut out).unwrap();
        assert_eq!(messages, 2_000usize.div_ceil(room / 4));
        let decoded = decode_all(&out, &ctx);
        let got: Vec<Nlri> = decoded.iter().flat_map(|u| u.nlri.clone()).collect();
        assert_eq!(got, uniform, "every prefix once, in the order given");
        assert!(
            decoded[..messages - 1]
                .iter()
                .all(|u| u.nlri.len() == room / 4)
        );
        // One /16 among them: the /24s still come in order, the /16 once.
        let mut mixed = uniform.clone();
        mixed.insert(1_000, Nlri::new("10.200.0.0/16".parse().unwrap()));
        let mut out = BytesMut::new();
        pack_ipv4_nlri(&attributes, &mixed, &ctx, &mut out).unwrap();
        let got: Vec<Nlri> = decode_all(&out, &ctx)
            .iter()
            .flat_map(|u| u.nlri.clone())
            .collect();
        assert_eq!(got.len(), mixed.len());
        assert_eq!(got.iter().filter(|n| n.prefix.prefix() == 16).count(), 1);
        assert!(got.contains(&mixed[1_000]), "the /16 itself");
        let v24: Vec<&Nlri> = got.iter().filter(|n| n.prefix.prefix() == 24).collect();
        assert_eq!(v24, uniform.iter().collect::<Vec<_>>());
    }

    #[test]
    fn ipv4_nlri_fill_messages_to_the_limit() {
        let ctx = CodecCtx::default();
        let (attrs, block) = ipv4_block(&ctx);
        let prefixes = v4_prefixes(2000);
        let mut out = BytesMut::new();
        let count = pack_ipv4_nlri(&block, &prefixes, &ctx, &mut out).unwrap();
        let room = 4096 - UPDATE_OVERHEAD - block.len();
        assert_eq!(count, (2000 * 4usize).div_ceil(room));
        let updates = decode_all(&out, &ctx);
        assert_eq!(updates.len(), count);
        let total: usize = updates.iter().map(|u| u.nlri.len()).sum();
        assert_eq!(total, 2000);
        assert!(updates.iter().all(|u| u.attributes == attrs));
    }

    #[test]
    fn mp_reach_puts_the_mp_attribute_first_and_round_trips() {
        let ctx = CodecCtx::default();
        let block = encode_attributes_to_bytes(&base_attributes(), &ctx);
        let prefixes: Vec<Nlri> = (0..1500u32)
            .map(|i| Nlri::new(format!("2001:db8:{i:x}::/48").parse().unwrap()))
            .collect();
        let next_hop = NextHop::V6 {
            global: "2001:db8::1".parse().unwrap(),
            link_local: None,
        };
        let mut out = BytesMut::new();
        let count = pack_mp_reach(
            &block,
            AfiSafi::IPV6_UNICAST,
            &next_hop,
            &prefixes,
            &ctx,
            &mut out,
        )
        .unwrap();
        let updates = decode_all(&out, &ctx);
        assert_eq!(updates.len(), count);
        assert!(count >= 2);
        let mut seen = 0;
        for update in &updates {
            assert!(matches!(update.attributes[0], PathAttribute::MpReach(_)));
            assert_eq!(&update.attributes[1..], &base_attributes()[..]);
            seen += update.mp_reach().unwrap().nlri.prefixes().len();
        }
        assert_eq!(seen, 1500);
    }

    #[test]
    fn small_mp_attribute_uses_the_short_length() {
        let ctx = CodecCtx::default();
        let prefixes = [Nlri::new("2001:db8::/32".parse().unwrap())];
        let mut out = BytesMut::new();
        pack_withdrawals(AfiSafi::IPV6_UNICAST, &prefixes, &ctx, &mut out).unwrap();
        // flags 0x80, type 15, 1-octet length 8 (AFI, SAFI, /32 prefix).
        assert_eq!(&out[23..26], &[0x80, 15, 8]);
        let update = &decode_all(&out, &ctx)[0];
        assert_eq!(update.mp_unreach().unwrap().withdrawn.prefixes(), &prefixes);
    }

    #[test]
    fn ipv4_withdrawals_with_add_path() {
        let ctx = CodecCtx::default().with_add_path(AfiSafi::IPV4_UNICAST);
        let prefixes: Vec<Nlri> = v4_prefixes(1200)
            .into_iter()
            .enumerate()
            .map(|(i, n)| Nlri::with_path_id(n.prefix, i as u32))
            .collect();
        let mut out = BytesMut::new();
        let count = pack_withdrawals(AfiSafi::IPV4_UNICAST, &prefixes, &ctx, &mut out).unwrap();
        assert_eq!(count, (1200 * 8usize).div_ceil(4096 - UPDATE_OVERHEAD));
        let mut all: Vec<Nlri> = decode_all(&out, &ctx)
            .into_iter()
            .flat_map(|u| u.withdrawn)
            .collect();
        all.sort();
        let mut expected = prefixes.clone();
        expected.sort();
        assert_eq!(all, expected);
    }

    #[test]
    fn a_next_hop_longer_than_its_length_octet_is_refused() {
        let ctx = CodecCtx::default();
        let next_hop = NextHop::Raw(bytes::Bytes::from(vec![7u8; 256]));
        let prefixes = [Nlri::new("2001:db8::/32".parse().unwrap())];
        let mut out = BytesMut::new();
        let err = pack_mp_reach(
            &[],
            AfiSafi::IPV6_UNICAST,
            &next_hop,
            &prefixes,
            &ctx,
            &mut out,
        );
        assert!(matches!(err, Err(EncodeError::Unrepresentable { .. })));
        let update = crate::message::Update {
            attributes: vec![PathAttribute::mp_reach(crate::attribute::MpReach {
                afi_safi: AfiSafi::new(crate::Afi::IPV4, crate::Safi(128)),
                next_hop,
                nlri: crate::attribute::MpNlri::Opaque(bytes::Bytes::from_static(&[1, 2, 3])),
            })],
            ..Default::default()
        };
        assert!(Message::Update(update).to_bytes(&ctx).is_err());
    }

    #[test]
    fn an_attribute_block_too_large_for_any_prefix_is_an_error() {
        let ctx = CodecCtx::default();
        let block = vec![0u8; 4080];
        let mut out = BytesMut::new();
        let err = pack_ipv4_nlri(&block, &v4_prefixes(1), &ctx, &mut out).unwrap_err();
        assert!(matches!(err, EncodeError::TooLong { .. }));
        assert!(out.is_empty());
    }
}
