//! The attribute block of a TABLE_DUMP_V2 RIB entry (RFC 6396 section 4.3.4).
//!
//! Attributes are encoded as in an UPDATE between 4-octet AS speakers, except
//! MP_REACH_NLRI: the AFI, SAFI and NLRI are already given by the RIB record,
//! so only the next hop is kept:
//!
//! ```text
//! full (RFC 4760):                       abbreviated (RFC 6396 4.3.4):
//! +---------------------------------+    +---------------------------------+
//! | AFI (2) | SAFI (1)              |    | Next Hop Length (1)             |
//! | Next Hop Length (1)             |    | Next Hop (variable)             |
//! | Next Hop (variable)             |    +---------------------------------+
//! | Reserved (1) | NLRI (variable)  |
//! +---------------------------------+
//! ```

use bytes::{BufMut, BytesMut};

use super::error::MrtError;
use crate::attribute::{MpReach, NextHop, PathAttribute, flags};
use crate::context::{AddPathFamilies, EncodeCtx, PeerType};
use crate::error::EncodeError;
use crate::iana::attr_type;

/// The context of RIB entry attributes: 4-octet AS numbers (RFC 6396
/// section 4.3.4), no path identifiers.
pub fn rib_encode_ctx() -> EncodeCtx {
    EncodeCtx {
        four_octet_as: true,
        add_path: AddPathFamilies::NONE,
        extended_message: true,
        peer_type: PeerType::Internal,
    }
}

/// Append `attributes`, in the order given, as a RIB entry holds them: every
/// attribute as [`PathAttribute::encode`] writes it with 4-octet AS numbers,
/// and MP_REACH_NLRI in the abbreviated form (its NLRI, if any, is left out:
/// the RIB record's prefix is the NLRI).
///
/// Fails if an attribute value is longer than the 65535 octets its length
/// field can express.
pub fn encode_rib_attributes(
    attributes: &[PathAttribute],
    out: &mut BytesMut,
) -> Result<(), MrtError> {
    let ctx = rib_encode_ctx();
    for attribute in attributes {
        match attribute {
            PathAttribute::MpReach(reach) => encode_abbreviated_mp_reach(reach, out)?,
            other => {
                let length = other.value_len(&ctx);
                if length > usize::from(u16::MAX) {
                    return Err(EncodeError::TooLong {
                        length,
                        max: usize::from(u16::MAX),
                    }
                    .into());
                }
                other.encode(&ctx, out);
            }
        }
    }
    Ok(())
}

/// Append MP_REACH_NLRI in the abbreviated form of RFC 6396 section 4.3.4:
/// flags, type, length, then the next hop length and the next hop.
pub fn encode_abbreviated_mp_reach(reach: &MpReach, out: &mut BytesMut) -> Result<(), MrtError> {
    let next_hop_len = reach.next_hop.encoded_len();
    let Ok(len_octet) = u8::try_from(next_hop_len) else {
        return Err(EncodeError::Unrepresentable {
            field: "MP_REACH_NLRI next hop",
            reason: "longer than 255 octets",
        }
        .into());
    };
    let value_len = 1 + next_hop_len;
    if value_len > 255 {
        out.put_u8(flags::OPTIONAL | flags::EXTENDED_LENGTH);
        out.put_u8(attr_type::MP_REACH_NLRI);
        out.put_u16(value_len as u16);
    } else {
        out.put_u8(flags::OPTIONAL);
        out.put_u8(attr_type::MP_REACH_NLRI);
        out.put_u8(value_len as u8);
    }
    out.put_u8(len_octet);
    match &reach.next_hop {
        NextHop::V4(addr) => out.put_slice(&addr.octets()),
        NextHop::V6 { global, link_local } => {
            out.put_slice(&global.octets());
            if let Some(link_local) = link_local {
                out.put_slice(&link_local.octets());
            }
        }
        NextHop::Raw(bytes) => out.put_slice(bytes),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribute::MpNlri;
    use crate::iana::AfiSafi;

    #[test]
    fn rfc6396_4_3_4_keeps_only_the_next_hop() {
        let reach = MpReach {
            afi_safi: AfiSafi::IPV6_UNICAST,
            next_hop: NextHop::V6 {
                global: "2001:db8::1".parse().unwrap(),
                link_local: None,
            },
            nlri: MpNlri::Prefixes(Vec::new()),
        };
        let mut out = BytesMut::new();
        encode_rib_attributes(&[PathAttribute::mp_reach(reach.clone())], &mut out).unwrap();
        assert_eq!(&out[..4], &[0x80, 14, 17, 16]);
        assert_eq!(out.len(), 3 + 17);
        let decoded = MpReach::decode_mrt_abbreviated(&out[3..], AfiSafi::IPV6_UNICAST).unwrap();
        assert_eq!(decoded, reach);
    }
}
