//! Encoding path attributes.
//!
//! An attribute block is encoded once per set of attributes and can then be
//! written into any number of UPDATEs (see [`crate::packer`]), which is what
//! makes update groups cheap. The Extended Length bit is set exactly when a
//! value exceeds 255 octets, so the encoding is canonical.

use bytes::{BufMut, Bytes, BytesMut};

use super::{Aggregator, PathAttribute, flags};
use crate::context::EncodeCtx;
use crate::iana::{AS_TRANS, AfiSafi};

impl PathAttribute {
    /// Length of the encoded value (without flags, type and length).
    pub fn value_len(&self, ctx: &EncodeCtx) -> usize {
        let asn_len = if ctx.four_octet_as { 4 } else { 2 };
        match self {
            PathAttribute::Origin(_) => 1,
            PathAttribute::AsPath(path) => path.encoded_len(ctx.four_octet_as),
            PathAttribute::NextHop(_)
            | PathAttribute::MultiExitDisc(_)
            | PathAttribute::LocalPref(_)
            | PathAttribute::OriginatorId(_)
            | PathAttribute::Otc(_) => 4,
            PathAttribute::AtomicAggregate => 0,
            PathAttribute::Aggregator(_) => asn_len + 4,
            PathAttribute::Communities(list) => 4 * list.len(),
            PathAttribute::ClusterList(list) => 4 * list.len(),
            PathAttribute::MpReach(reach) => reach.encoded_len(ctx.add_path_for(reach.afi_safi)),
            PathAttribute::MpUnreach(unreach) => {
                unreach.encoded_len(ctx.add_path_for(unreach.afi_safi))
            }
            PathAttribute::ExtendedCommunities(list) => 8 * list.len(),
            PathAttribute::As4Path(path) => path.encoded_len(true),
            PathAttribute::As4Aggregator(_) => 8,
            PathAttribute::Ipv6ExtendedCommunities(list) => 20 * list.len(),
            PathAttribute::LargeCommunities(list) => 12 * list.len(),
            PathAttribute::Raw(raw) if is_raw_aggregator(raw) => asn_len + 4,
            PathAttribute::Raw(raw) => raw.value.len(),
        }
    }

    /// Length of the whole encoded attribute.
    pub fn encoded_len(&self, ctx: &EncodeCtx) -> usize {
        let len = self.value_len(ctx);
        if len > 255 { 4 + len } else { 3 + len }
    }

    /// Append the whole attribute (flags, type, length, value).
    pub fn encode(&self, ctx: &EncodeCtx, out: &mut BytesMut) {
        let len = self.value_len(ctx);
        let mut flag_bits = self.flags();
        if len > 255 {
            flag_bits |= flags::EXTENDED_LENGTH;
            out.put_u8(flag_bits);
            out.put_u8(self.type_code());
            // Values over 65535 octets cannot be sent; the message limit
            // (65535) is checked when the message is finished.
            out.put_u16(u16::try_from(len).unwrap_or(u16::MAX));
        } else {
            out.put_u8(flag_bits);
            out.put_u8(self.type_code());
            out.put_u8(len as u8);
        }
        self.encode_value(ctx, out);
    }

    fn encode_value(&self, ctx: &EncodeCtx, out: &mut BytesMut) {
        match self {
            PathAttribute::Origin(origin) => out.put_u8(*origin as u8),
            PathAttribute::AsPath(path) => path.encode(ctx.four_octet_as, out),
            PathAttribute::NextHop(addr) | PathAttribute::OriginatorId(addr) => {
                out.put_slice(&addr.octets())
            }
            PathAttribute::MultiExitDisc(value)
            | PathAttribute::LocalPref(value)
            | PathAttribute::Otc(value) => out.put_u32(*value),
            PathAttribute::AtomicAggregate => {}
            PathAttribute::Aggregator(aggregator) => {
                encode_aggregator(aggregator, ctx.four_octet_as, out)
            }
            PathAttribute::Communities(list) => {
                for community in list {
                    out.put_u32(community.0);
                }
            }
            PathAttribute::ClusterList(list) => {
                for id in list {
                    out.put_slice(&id.octets());
                }
            }
            PathAttribute::MpReach(reach) => reach.encode(ctx.add_path_for(reach.afi_safi), out),
            PathAttribute::MpUnreach(unreach) => {
                unreach.encode(ctx.add_path_for(unreach.afi_safi), out)
            }
            PathAttribute::ExtendedCommunities(list) => {
                for community in list {
                    out.put_slice(&community.0);
                }
            }
            PathAttribute::As4Path(path) => path.encode(true, out),
            PathAttribute::As4Aggregator(aggregator) => encode_aggregator(aggregator, true, out),
            PathAttribute::Ipv6ExtendedCommunities(list) => {
                for community in list {
                    out.put_slice(&community.0);
                }
            }
            PathAttribute::LargeCommunities(list) => {
                for community in list {
                    out.put_u32(community.global);
                    out.put_u32(community.local1);
                    out.put_u32(community.local2);
                }
            }
            PathAttribute::Raw(raw) if is_raw_aggregator(raw) => {
                // Held in 4-octet form (see attribute::decode): write it in
                // this session's AS size.
                let asn =
                    u32::from_be_bytes([raw.value[0], raw.value[1], raw.value[2], raw.value[3]]);
                let address =
                    std::net::Ipv4Addr::new(raw.value[4], raw.value[5], raw.value[6], raw.value[7]);
                encode_aggregator(&Aggregator { asn, address }, ctx.four_octet_as, out);
            }
            PathAttribute::Raw(raw) => out.put_slice(&raw.value),
        }
    }
}

/// A Partial AGGREGATOR kept raw, in its 4-octet form.
fn is_raw_aggregator(raw: &super::RawAttribute) -> bool {
    raw.type_code == crate::iana::attr_type::AGGREGATOR && raw.value.len() == 8
}

fn encode_aggregator(aggregator: &Aggregator, four_octet: bool, out: &mut BytesMut) {
    if four_octet {
        out.put_u32(aggregator.asn);
    } else {
        out.put_u16(u16::try_from(aggregator.asn).unwrap_or(AS_TRANS));
    }
    out.put_slice(&aggregator.address.octets());
}

/// Append every attribute of `attributes`, in the order given.
///
/// RFC 7606 section 5.1 asks that MP_REACH_NLRI / MP_UNREACH_NLRI come first;
/// callers that build attribute lists (the packer, the speaker) put them there.
pub fn encode_attributes(attributes: &[PathAttribute], ctx: &EncodeCtx, out: &mut BytesMut) {
    for attribute in attributes {
        attribute.encode(ctx, out);
    }
}

/// The encoded attribute block as shareable bytes.
pub fn encode_attributes_to_bytes(attributes: &[PathAttribute], ctx: &EncodeCtx) -> Bytes {
    let len = attributes.iter().map(|a| a.encoded_len(ctx)).sum();
    let mut out = BytesMut::with_capacity(len);
    encode_attributes(attributes, ctx, &mut out);
    out.freeze()
}

/// The End-of-RIB marker's attribute block for a family other than IPv4
/// unicast: one empty MP_UNREACH_NLRI (RFC 4724 section 2).
pub fn end_of_rib_attributes(afi_safi: AfiSafi) -> Vec<PathAttribute> {
    vec![PathAttribute::MpUnreach(Box::new(
        super::MpUnreach::end_of_rib(afi_safi),
    ))]
}
